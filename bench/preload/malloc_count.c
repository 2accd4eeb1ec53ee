/*
 * malloc_count.c -- an LD_PRELOAD library that counts heap allocations.
 *
 * Built by mk/bench.mk into build/bench/malloc_count.so. `make bench` runs
 * the server with it to check the design rule "steady-state read -> parse ->
 * echo does no malloc" (DESIGN.md): allocations during a load run, minus
 * those of an idle run with the same connections, divided by the messages
 * echoed.
 *
 *   LD_PRELOAD=build/bench/malloc_count.so MALLOC_COUNT_DIR=/tmp/mc build/ws6455 ...
 *
 * With MALLOC_COUNT_DIR set, each process keeps its counters in a shared
 * file mapping DIR/<pid> (created on its first allocation, and anew in a
 * forked child), so they can be read at any moment while the server runs,
 * even in worker processes that never return from main():
 *
 *   od -An -t u8 -w64 DIR/<pid>
 *   -> magic  malloc  calloc  realloc  free  memalign  bytes  0
 *
 * (`bytes` is the sum of the sizes requested.) Without the variable the
 * counters stay in memory and are printed to stderr when the process exits
 * normally.
 *
 * How: the program's malloc/calloc/realloc/free/... resolve to the
 * definitions below (the preloaded library comes first in symbol lookup);
 * they count, then call glibc's own entry points __libc_malloc & co., which
 * glibc exports for exactly this purpose, so no dlsym() bootstrapping is
 * needed. Nothing in here allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* glibc's real allocator (exported, but declared in no header). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t size);

enum { C_MAGIC, C_MALLOC, C_CALLOC, C_REALLOC, C_FREE, C_MEMALIGN, C_BYTES, C_NCOUNT = 8 };

#define MAGIC 0x314341424d425357ull /* "WSBMBAC1" read as little-endian */

static _Atomic uint64_t local_counts[C_NCOUNT]; /* when no file is mapped */
static _Atomic uint64_t *counts;                /* where counting goes */
static atomic_int state;                        /* 0 = not set up, 1 = busy, 2 = ready */

/* Decimal digits of v into buf (no stdio: it may allocate). Returns length. */
static size_t utoa(char *buf, unsigned long v) {
    char tmp[24];
    size_t n = 0, i = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) buf[i++] = tmp[--n];
    return i;
}

/* Point `counts` at DIR/<pid> if MALLOC_COUNT_DIR is set, else at memory. */
static void setup(void) {
    const char *dir = getenv("MALLOC_COUNT_DIR");
    char path[4096];
    size_t dl;
    int fd;

    counts = local_counts;
    if (!dir || (dl = strlen(dir)) == 0 || dl > sizeof(path) - 32) return;
    memcpy(path, dir, dl);
    path[dl] = '/';
    path[dl + 1 + utoa(path + dl + 1, (unsigned long)getpid())] = '\0';
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, C_NCOUNT * sizeof(uint64_t)) == 0) {
        void *m =
            mmap(NULL, C_NCOUNT * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

        if (m != MAP_FAILED) {
            counts = m;
            atomic_store(&counts[C_MAGIC], MAGIC);
        }
    }
    close(fd);
}

static void count(int which, size_t bytes) {
    if (atomic_load_explicit(&state, memory_order_acquire) != 2) {
        int expect = 0;

        if (atomic_compare_exchange_strong(&state, &expect, 1)) {
            setup();
            atomic_store_explicit(&state, 2, memory_order_release);
        } else if (expect == 1) {
            /* Another thread is setting up (or setup() itself is
             * allocating): count in memory rather than wait. */
            atomic_fetch_add_explicit(&local_counts[which], 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&counts[which], 1, memory_order_relaxed);
    if (bytes) atomic_fetch_add_explicit(&counts[C_BYTES], bytes, memory_order_relaxed);
}

/* A forked child gets its own file: the parent's mapping is shared. */
static void after_fork_child(void) {
    for (int i = 0; i < C_NCOUNT; i++) atomic_store(&local_counts[i], 0);
    atomic_store(&state, 0);
}

static void report_at_exit(void) {
    static const char *const names[] = { "",       " malloc ",   " calloc ", " realloc ",
                                         " free ", " memalign ", " bytes " };
    char line[256];
    size_t n = 0;

    if (counts != local_counts) return; /* the file has it */
    memcpy(line, "malloc_count: pid ", 18);
    n = 18;
    n += utoa(line + n, (unsigned long)getpid());
    for (int i = C_MALLOC; i <= C_BYTES; i++) {
        size_t l = strlen(names[i]);

        memcpy(line + n, names[i], l);
        n += l;
        n += utoa(line + n, (unsigned long)atomic_load(&local_counts[i]));
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) return;
}

__attribute__((constructor)) static void malloc_count_init(void) {
    pthread_atfork(NULL, NULL, after_fork_child);
    atexit(report_at_exit);
}

void *malloc(size_t size) {
    count(C_MALLOC, size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    count(C_CALLOC, n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    count(C_REALLOC, size);
    return __libc_realloc(p, size);
}

void *reallocarray(void *p, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n * size);
}

void free(void *p) {
    if (p) count(C_FREE, 0);
    __libc_free(p);
}

void *aligned_alloc(size_t align, size_t size) {
    count(C_MEMALIGN, size);
    return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size);
void *memalign(size_t align, size_t size) {
    count(C_MEMALIGN, size);
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size) {
    void *p;

    /* POSIX: a power of two that is a multiple of sizeof(void *). */
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    count(C_MEMALIGN, size);
    p = __libc_memalign(align, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

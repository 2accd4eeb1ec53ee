/*
 * main.c -- the conformance driver's entry point: options, the case
 * registry, a small pool of worker threads, and the report.
 *
 *   build/conformance HOST PORT [--filter SUBSTR] [--prefix LIST] [--verbose]
 *                     [--jobs N] [--timeout MS] [--max-message BYTES]
 *                     [--deadline SEC] [--client-fin] [--list] [--wait-ready MS]
 *
 * Cases are independent (each opens its own connection), so up to --jobs
 * of them run at once; cases that move megabytes are "heavy" and at most
 * two of those run at a time, to bound memory. Results are printed in case
 * order as soon as they are known: "FAIL <id>: <reason>" for a failure,
 * "ok   <id>" for a pass with --verbose, and finally exactly
 * "N passed, N failed". The exit status is 1 if anything failed.
 *
 * --deadline (default 170 s) bounds the whole run: cases still unfinished
 * then are reported as failed and the driver exits.
 */
#include "conf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_JOBS  64
#define MAX_HEAVY 2

/* ---- failure recording and randomness --------------------------------- */

int cf_fail(struct cf_ctx *t, const char *fmt, ...) {
    if (!t->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->why, sizeof t->why, fmt, ap);
        va_end(ap);
        t->failed = true;
    }
    return -1;
}

uint32_t cf_rand32(struct cf_ctx *t) {
    /* xorshift64*: plenty for masks and keys, and reproducible per case. */
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    return (uint32_t)((t->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

/* ---- the registry ---------------------------------------------------------- */

static struct cf_case *cases;
static size_t ncases, cases_cap;

struct cf_case *cf_add(const char *fmt, ...) {
    if (ncases == cases_cap) {
        cases_cap = cases_cap ? cases_cap * 2 : 1024;
        cases = realloc(cases, cases_cap * sizeof *cases);
        if (!cases) abort();
    }
    struct cf_case *c = &cases[ncases++];
    memset(c, 0, sizeof *c);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->id, sizeof c->id, fmt, ap);
    va_end(ap);
    return c;
}

void *cf_keep(const void *p, size_t n) {
    void *q = malloc(n ? n : 1);
    if (!q) abort();
    if (n) memcpy(q, p, n);
    return q;
}

void cf_add_script(const char *id, const struct cf_step *s, unsigned modes) {
    static const char *const names[] = { "write", "bytes", "frames", "chop" };
    bool several = (modes & (modes - 1)) != 0;
    for (int m = MODE_WRITE; m <= MODE_FRAMES; m++) {
        if (!(modes & (1u << m))) continue;
        struct cf_case *c = several ? cf_add("%s/%s", id, names[m]) : cf_add("%s", id);
        c->steps = s;
        c->mode = (enum cf_mode)m;
    }
}

/* ---- running --------------------------------------------------------------- */

enum { R_PENDING, R_PASS, R_FAIL };

struct result {
    int state;
    char *why;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t done; /* a case finished */
    pthread_cond_t heavy_free;
    size_t next; /* next case to start */
    size_t finished;
    int heavy_running;
    struct result *res;
    struct cf_case **run; /* the cases selected by --filter */
    size_t nrun;
    const struct cf_config *cfg;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER,
           .done = PTHREAD_COND_INITIALIZER,
           .heavy_free = PTHREAD_COND_INITIALIZER };

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        size_t i = pool.next;
        if (i >= pool.nrun) {
            pthread_mutex_unlock(&pool.lock);
            return NULL;
        }
        pool.next++;
        const struct cf_case *k = pool.run[i];
        if (k->heavy) {
            while (pool.heavy_running >= MAX_HEAVY) pthread_cond_wait(&pool.heavy_free, &pool.lock);
            pool.heavy_running++;
        }
        pthread_mutex_unlock(&pool.lock);

        struct cf_ctx t = { .cfg = pool.cfg,
                            .rng = 0x9E3779B97F4A7C15ULL * (i + 1),
                            .offer = k->offer,
                            .want_deflate = k->want_deflate,
                            .zstyle = k->zstyle };
        int rc = k->fn ? k->fn(&t, k) : cf_run_steps(&t, k->steps, k->mode, k->chop);
        if (rc < 0 && !t.failed) cf_fail(&t, "failed without a reason (driver bug)");

        pthread_mutex_lock(&pool.lock);
        if (k->heavy) {
            pool.heavy_running--;
            pthread_cond_signal(&pool.heavy_free);
        }
        pool.res[i].state = t.failed ? R_FAIL : R_PASS;
        pool.res[i].why = t.failed ? strdup(t.why) : NULL;
        pool.finished++;
        pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.lock);
    }
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: conformance HOST PORT [options]\n"
            "  --filter SUBSTR      run only cases whose id contains SUBSTR\n"
            "  --prefix LIST        run only cases whose id starts with one of the\n"
            "                       comma-separated LIST (e.g. 13.,X.5.)\n"
            "  --verbose            also print passing cases\n"
            "  --list               print the case ids and exit\n"
            "  --jobs N             cases run at once (default 16, max %d)\n"
            "  --timeout MS         longest silence tolerated per wait (default 2000)\n"
            "  --max-message BYTES  the server's --max-message (default 16777216)\n"
            "  --deadline SEC       give up on the whole run after SEC (default 170)\n"
            "  --client-fin         half-close our side after each closing handshake,\n"
            "                       for servers that wait for the client's FIN\n"
            "  --wait-ready MS      run no case: retry a TCP connect for up to MS ms;\n"
            "                       exit 0 once the server accepts, 1 if it never does\n"
            "                       (0 = try once)\n",
            MAX_JOBS);
}

/* Does id start with one of the comma-separated prefixes (or is there
 * no list)? */
static bool has_prefix(const char *id, const char *list) {
    if (!list) return true;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n && strncmp(id, p, n) == 0) return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static long parse_num(const char *opt, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "conformance: bad value for %s: %s\n", opt, s);
        exit(2);
    }
    return (long)v;
}

int main(int argc, char **argv) {
    struct cf_config cfg = { .timeout_ms = 2000, .max_message = 16777216 };
    const char *filter = NULL, *prefix = NULL;
    bool verbose = false, list = false;
    long jobs = 16, deadline = 170, wait_ready = -1;
    const char *pos[2];
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            verbose = true;
        else if (strcmp(a, "--list") == 0)
            list = true;
        else if (strcmp(a, "--client-fin") == 0)
            cfg.client_fin = true;
        else if (strcmp(a, "--filter") == 0 && has_next)
            filter = argv[++i];
        else if (strcmp(a, "--prefix") == 0 && has_next)
            prefix = argv[++i];
        else if (strcmp(a, "--jobs") == 0 && has_next)
            jobs = parse_num(a, argv[++i], 1, MAX_JOBS);
        else if (strcmp(a, "--timeout") == 0 && has_next)
            cfg.timeout_ms = (int)parse_num(a, argv[++i], 10, 600000);
        else if (strcmp(a, "--wait-ready") == 0 && has_next)
            wait_ready = parse_num(a, argv[++i], 0, 600000);
        else if (strcmp(a, "--deadline") == 0 && has_next)
            deadline = parse_num(a, argv[++i], 1, 86400);
        else if (strcmp(a, "--max-message") == 0 && has_next)
            cfg.max_message = (uint64_t)parse_num(a, argv[++i], 1024, 1L << 30);
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && npos < 2)
            pos[npos++] = a;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (npos != 2 && !list) {
        usage(stderr);
        return 2;
    }
    cfg.host = npos > 0 ? pos[0] : "127.0.0.1";
    cfg.port = npos > 1 ? pos[1] : "0";

    if (wait_ready >= 0) {
        /* Used by scripts/run-conformance.sh to know the server is up. */
        struct cf_config quiet = cfg;
        quiet.timeout_ms = 200;
        struct cf_ctx t = { .cfg = &quiet };
        for (long waited = 0;; waited += 20) {
            if (cf_probe(&t) == 0) return 0;
            if (waited >= wait_ready) return 1;
            t.failed = false;
            cf_sleep_us(20000);
        }
    }

    if (cf_selftest() != 0) {
        fprintf(stderr, "conformance: the driver's own SHA-1/base64/UTF-8 self-test failed\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    cf_register_framing(&cfg);
    cf_register_reserved(&cfg);
    cf_register_fragments(&cfg);
    cf_register_utf8(&cfg);
    cf_register_close(&cfg);
    cf_register_limits(&cfg);
    cf_register_deflate(&cfg);

    pool.run = malloc((ncases ? ncases : 1) * sizeof *pool.run);
    if (!pool.run) abort();
    for (size_t i = 0; i < ncases; i++)
        if ((!filter || strstr(cases[i].id, filter)) && has_prefix(cases[i].id, prefix))
            pool.run[pool.nrun++] = &cases[i];
    if (list) {
        for (size_t i = 0; i < pool.nrun; i++) printf("%s\n", pool.run[i]->id);
        return 0;
    }
    pool.res = calloc(pool.nrun ? pool.nrun : 1, sizeof *pool.res);
    pool.cfg = &cfg;
    if (!pool.res) abort();

    pthread_t tid[MAX_JOBS];
    int nthreads = 0;
    for (long j = 0; j < jobs && (size_t)j < pool.nrun; j++) {
        if (pthread_create(&tid[nthreads], NULL, worker, NULL) != 0) break;
        nthreads++;
    }
    if (nthreads == 0 && pool.nrun > 0) {
        fprintf(stderr, "conformance: cannot start worker threads\n");
        return 2;
    }

    /* Print results in case order as they become known. */
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += deadline;
    size_t printed = 0, passed = 0, failed = 0;
    bool timed_out = false;
    pthread_mutex_lock(&pool.lock);
    while (printed < pool.nrun) {
        while (printed < pool.nrun && pool.res[printed].state != R_PENDING) {
            struct result *r = &pool.res[printed];
            if (r->state == R_PASS) {
                passed++;
                if (verbose) printf("ok   %s\n", pool.run[printed]->id);
            } else {
                failed++;
                printf("FAIL %s: %s\n", pool.run[printed]->id, r->why);
            }
            printed++;
        }
        fflush(stdout);
        if (printed == pool.nrun) break;
        if (pthread_cond_timedwait(&pool.done, &pool.lock, &end) == ETIMEDOUT) {
            timed_out = true;
            break;
        }
    }
    if (timed_out) {
        /* Whatever is unfinished counts as failed; the threads are left to
         * the process exit. */
        for (; printed < pool.nrun; printed++) {
            struct result *r = &pool.res[printed];
            if (r->state == R_PASS) {
                passed++;
                if (verbose) printf("ok   %s\n", pool.run[printed]->id);
                continue;
            }
            failed++;
            printf("FAIL %s: %s\n", pool.run[printed]->id,
                   r->state == R_FAIL ? r->why : "not finished before the --deadline");
        }
        printf("%zu passed, %zu failed\n", passed, failed);
        fflush(stdout);
        _Exit(1);
    }
    pthread_mutex_unlock(&pool.lock);
    for (int j = 0; j < nthreads; j++) pthread_join(tid[j], NULL);
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}

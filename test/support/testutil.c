/*
 * testutil.c -- guard pages, split feeding, a deterministic generator and
 * a growing byte buffer for the unit tests (see testutil.h).
 *
 * A guarded buffer is laid out as
 *
 *      base                                  base + data_pages * page
 *      |<-------- data pages (rw) -------->|<---- guard page (none) ---->|
 *                        |<---- len ------>|
 *                        p
 *
 * so p[len - 1] is the last readable byte and p[len] faults. The slack in
 * front of p is readable; these buffers catch over-reads, which is the
 * mistake a parser that looks ahead makes.
 *
 * Test code may allocate and abort freely; it is not part of the library.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void) {
    static size_t cached;
    if (cached == 0) {
        long n = sysconf(_SC_PAGESIZE);
        if (n <= 0) {
            perror("sysconf(_SC_PAGESIZE)");
            abort();
        }
        cached = (size_t)n;
    }
    return cached;
}

/* Pages needed to hold len bytes. */
static size_t data_pages(size_t len) { return (len + page_size() - 1) / page_size(); }

uint8_t *tu_guarded_copy(const void *data, size_t len) {
    size_t page = page_size();
    size_t span = data_pages(len) * page;
    size_t total = span + page;

    uint8_t *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        perror("tu_guarded_copy: mmap");
        abort();
    }
    if (mprotect(base + span, page, PROT_NONE) != 0) {
        perror("tu_guarded_copy: mprotect");
        abort();
    }

    uint8_t *p = base + span - len;
    if (len > 0) memcpy(p, data, len);
    return p;
}

void tu_guarded_free(uint8_t *p, size_t len) {
    if (p == NULL) return;
    size_t page = page_size();
    size_t span = data_pages(len) * page;
    uint8_t *base = p + len - span;
    if (munmap(base, span + page) != 0) {
        perror("tu_guarded_free: munmap");
        abort();
    }
}

/* Copy n pieces (starting at offsets off[i] of data, lens[i] bytes) into
 * guarded buffers, call fn, and free them. */
static void call_with_pieces(const uint8_t *data, const size_t *off, const size_t *lens, size_t n,
                             tu_pieces_fn fn, void *ctx) {
    uint8_t **bufs = calloc(n ? n : 1, sizeof(*bufs));
    if (bufs == NULL) {
        perror("calloc");
        abort();
    }
    for (size_t i = 0; i < n; i++)
        bufs[i] = tu_guarded_copy(lens[i] ? data + off[i] : NULL, lens[i]);

    fn(ctx, (const uint8_t *const *)bufs, lens, n);

    for (size_t i = 0; i < n; i++) tu_guarded_free(bufs[i], lens[i]);
    free(bufs);
}

void tu_for_each_split(const void *data, size_t len, tu_pieces_fn fn, void *ctx) {
    for (size_t cut = 0; cut <= len; cut++) {
        size_t off[2] = { 0, cut };
        size_t lens[2] = { cut, len - cut };
        call_with_pieces(data, off, lens, 2, fn, ctx);
    }
}

void tu_chunks(const void *data, size_t len, size_t chunk, tu_pieces_fn fn, void *ctx) {
    if (chunk == 0) {
        fprintf(stderr, "tu_chunks: chunk must be >= 1\n");
        abort();
    }
    /* An empty input is still one (empty) piece, so fn always runs. */
    size_t n = len == 0 ? 1 : (len + chunk - 1) / chunk;
    size_t *off = calloc(n, sizeof(*off));
    size_t *lens = calloc(n, sizeof(*lens));
    if (off == NULL || lens == NULL) {
        perror("calloc");
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        off[i] = i * chunk;
        lens[i] = len - off[i] < chunk ? len - off[i] : chunk;
    }
    call_with_pieces(data, off, lens, n, fn, ctx);
    free(off);
    free(lens);
}

/* splitmix64 (the mixing function from Steele, Lea and Flood, "Fast
 * Splittable Pseudorandom Number Generators", 2014): a 64-bit counter
 * stepped by the golden-ratio constant, then scrambled. Deterministic, so
 * a failing test fails the same way every run. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void tu_fill_random(uint8_t *buf, size_t len, uint64_t seed) {
    uint64_t s = seed;
    size_t i = 0;
    while (i < len) {
        uint64_t r = splitmix64(&s);
        for (unsigned k = 0; k < 8 && i < len; k++, i++) buf[i] = (uint8_t)(r >> (8 * k));
    }
}

uint64_t tu_rng_next(tu_rng *r) { return splitmix64(&r->s); }

size_t tu_rng_below(tu_rng *r, size_t n) { return n ? (size_t)(tu_rng_next(r) % n) : 0; }

void tu_split_at(const void *data, size_t len, size_t cut, tu_pieces_fn fn, void *ctx) {
    if (cut > len) {
        fprintf(stderr, "tu_split_at: cut %zu is past the end (%zu)\n", cut, len);
        abort();
    }
    size_t off[2] = { 0, cut }, lens[2] = { cut, len - cut };
    call_with_pieces(data, off, lens, 2, fn, ctx);
}

void tu_bytewise(const void *data, size_t len, tu_pieces_fn fn, void *ctx) {
    uint8_t *g = tu_guarded_copy(data, len);
    const uint8_t **pieces = calloc(len ? len : 1, sizeof(*pieces));
    size_t *lens = calloc(len ? len : 1, sizeof(*lens));
    if (pieces == NULL || lens == NULL) {
        perror("calloc");
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        pieces[i] = g + i;
        lens[i] = 1;
    }
    fn(ctx, pieces, lens, len);
    free(pieces);
    free(lens);
    tu_guarded_free(g, len);
}

void tu_bytes_put(tu_bytes *b, const void *data, size_t n) {
    if (b->p == NULL || b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            perror("realloc");
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0) memcpy(b->p + b->len, data, n);
    b->len += n;
}

void tu_bytes_free(tu_bytes *b) {
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/*
 * bench_inflate.c -- ws_inflate against zlib's raw inflate, on the same
 * streams, built with the project's flags.
 *
 *   cc -std=c11 -O2 -g -Iinclude bench/inflate/bench_inflate.c src/inflate.c -lz \
 *      -o build/bench_inflate
 *   build/bench_inflate [runs] [file ...]
 *
 * (Not part of `make`: wsbench links every .c file right in bench/.) The
 * data:
 *  - JSON chat messages (generated, 4 MiB), compressed as one stream;
 *  - each file named, compressed as one stream (English text such as
 *    /usr/share/common-licenses/GPL-3; a binary such as /usr/bin/gcc-12);
 *  - 20,000 chat messages decoded one per call as a permessage-deflate
 *    receiver does (RFC 7692 §7.2.2): each compressed with a sync flush,
 *    with context takeover (one stream) and without (a fresh stream each).
 * zlib compresses them all (raw, window 2^15) at levels 1 and 6; both
 * decoders decode them into a buffer big enough for the whole output.
 * Each figure is MB/s of output, the median of `runs` runs (default 9),
 * zlib and ws_inflate alternating so that a busy machine slows both.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime() */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "inflate.h"

#define NMSG    20000
#define MSG_MAX 400

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(*v), by_value);
    return v[n / 2];
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        perror("malloc");
        exit(1);
    }
    return p;
}

/* One chat message into buf (at most MSG_MAX bytes); x is the generator. */
static size_t chat_message(char *buf, unsigned *x, int i) {
    static const char *users[] = { "alice", "bob",     "carol", "dave",
                                   "eve",   "mallory", "trent", "peggy" };
    static const char *words[] = { "hello", "how",     "are",   "you",  "doing", "today",
                                   "the",   "meeting", "is",    "at",   "noon",  "ok",
                                   "see",   "you",     "there", "lol",  "sure",  "thanks",
                                   "great", "idea",    "let's", "ship", "it",    "tomorrow" };
    char text[200];
    size_t t = 0;
    *x = *x * 1103515245u + 12345u;
    int nw = 3 + (int)((*x >> 16) % 12);
    for (int w = 0; w < nw; w++) {
        *x = *x * 1103515245u + 12345u;
        t += (size_t)snprintf(text + t, sizeof(text) - t, "%s%s", w ? " " : "",
                              words[(*x >> 16) % 24]);
    }
    return (size_t)snprintf(buf, MSG_MAX,
                            "{\"type\":\"message\",\"id\":%d,\"room\":\"general\",\"user\":\"%s\","
                            "\"ts\":%lu,\"text\":\"%s\"}\n",
                            100000 + i, users[(*x >> 8) % 8],
                            1700000000000ul + (unsigned long)i * 1537ul, text);
}

/* Raw DEFLATE of src, as one stream. */
static size_t deflate_all(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, int level) {
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (deflateInit2(&s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    s.next_in = (uint8_t *)(uintptr_t)src;
    s.avail_in = (uInt)n;
    s.next_out = dst;
    s.avail_out = (uInt)cap;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) exit(1);
    size_t len = (size_t)s.total_out;
    deflateEnd(&s);
    return len;
}

/* Decode a whole stream with each decoder, `runs` times; print a line. */
static void bench_stream(const char *name, const uint8_t *src, size_t n, int runs) {
    size_t cap = n + n / 2 + 1024, size = ws_inflate_size(15);
    uint8_t *comp = xmalloc(cap), *out = xmalloc(n + 1024);
    void *mem = xmalloc(size);
    double *tz = xmalloc(sizeof(double) * (size_t)runs);
    double *tw = xmalloc(sizeof(double) * (size_t)runs);

    for (int level = 1; level <= 6; level += 5) {
        size_t clen = deflate_all(src, n, comp, cap, level);
        int reps = (int)(20000000 / n) + 1; /* about 20 MB of output per run */
        for (int r = 0; r < runs; r++) {
            double t0 = now();
            for (int k = 0; k < reps; k++) {
                z_stream s;
                memset(&s, 0, sizeof(s));
                inflateInit2(&s, -15);
                s.next_in = comp;
                s.avail_in = (uInt)clen;
                s.next_out = out;
                s.avail_out = (uInt)(n + 1024);
                if (inflate(&s, Z_FINISH) != Z_STREAM_END || s.total_out != n) exit(2);
                inflateEnd(&s);
            }
            double t1 = now();
            for (int k = 0; k < reps; k++) {
                ws_inflate *z = ws_inflate_init(mem, size, 15);
                size_t used, got;
                if (ws_inflate_feed(z, comp, clen, &used, out, n + 1024, &got) != WS_INFLATE_END ||
                    got != n)
                    exit(3);
            }
            double t2 = now();
            if (memcmp(out, src, n) != 0) exit(4);
            tz[r] = (double)n * reps / (t1 - t0) / 1e6;
            tw[r] = (double)n * reps / (t2 - t1) / 1e6;
        }
        double mz = median(tz, runs), mw = median(tw, runs);
        printf("%-28s level %d %9zu -> %8zu B   zlib %7.1f MB/s   ws_inflate %7.1f MB/s   x%.2f\n",
               name, level, n, clen, mz, mw, mw / mz);
    }
    free(comp);
    free(out);
    free(mem);
    free(tz);
    free(tw);
}

/* The messages one per call, as a permessage-deflate receiver decodes them. */
static void bench_messages(int runs) {
    static char plain[NMSG][MSG_MAX];
    static size_t plen[NMSG];
    static uint8_t comp[NMSG][MSG_MAX + 64], out[65536];
    static size_t clen[NMSG];
    unsigned x = 7692;
    size_t total = 0, size = ws_inflate_size(15);
    void *mem = xmalloc(size);
    double *tz = xmalloc(sizeof(double) * (size_t)runs);
    double *tw = xmalloc(sizeof(double) * (size_t)runs);

    for (int i = 0; i < NMSG; i++) total += plen[i] = chat_message(plain[i], &x, i);
    for (int takeover = 1; takeover >= 0; takeover--) {
        for (int level = 1; level <= 6; level += 5) {
            z_stream d;
            size_t ctotal = 0;
            memset(&d, 0, sizeof(d));
            deflateInit2(&d, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            for (int i = 0; i < NMSG; i++) {
                if (!takeover) deflateReset(&d);
                d.next_in = (uint8_t *)plain[i];
                d.avail_in = (uInt)plen[i];
                d.next_out = comp[i];
                d.avail_out = sizeof(comp[i]);
                deflate(&d, Z_SYNC_FLUSH);
                /* It ends in 00 00 ff ff: a sender strips them, the
                 * receiver appends them again; keep them. */
                clen[i] = sizeof(comp[i]) - d.avail_out;
                ctotal += clen[i] - 4;
            }
            deflateEnd(&d);
            for (int r = 0; r < runs; r++) {
                double t0 = now();
                z_stream s;
                memset(&s, 0, sizeof(s));
                inflateInit2(&s, -15);
                for (int i = 0; i < NMSG; i++) {
                    if (!takeover) inflateReset(&s);
                    s.next_in = comp[i];
                    s.avail_in = (uInt)clen[i];
                    s.next_out = out;
                    s.avail_out = sizeof(out);
                    inflate(&s, Z_SYNC_FLUSH);
                    if (sizeof(out) - s.avail_out != plen[i]) exit(5);
                }
                inflateEnd(&s);
                double t1 = now();
                ws_inflate *z = ws_inflate_init(mem, size, 15);
                for (int i = 0; i < NMSG; i++) {
                    size_t used, got;
                    if (!takeover) ws_inflate_reset(z, 0);
                    if (ws_inflate_feed(z, comp[i], clen[i], &used, out, sizeof(out), &got) !=
                            WS_INFLATE_NEED_INPUT ||
                        got != plen[i])
                        exit(6);
                }
                double t2 = now();
                if (memcmp(out, plain[NMSG - 1], plen[NMSG - 1]) != 0) exit(7);
                tz[r] = (double)total / (t1 - t0) / 1e6;
                tw[r] = (double)total / (t2 - t1) / 1e6;
            }
            double mz = median(tz, runs), mw = median(tw, runs);
            printf("chat messages, %-13s level %d  %3zu -> %3zu B   zlib %7.1f MB/s   "
                   "ws_inflate %7.1f MB/s   x%.2f\n",
                   takeover ? "takeover" : "no takeover", level, total / NMSG, ctotal / NMSG, mz,
                   mw, mw / mz);
        }
    }
    free(mem);
    free(tz);
    free(tw);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 9;
    if (runs < 1 || runs > 101) runs = 9;

    /* 4 MiB of chat messages as one stream. */
    size_t n = 0, cap = 4u << 20;
    char *json = xmalloc(cap);
    unsigned x = 12345;
    for (int i = 0; n + MSG_MAX < cap; i++) n += chat_message(json + n, &x, i);
    bench_stream("JSON chat (one stream)", (const uint8_t *)json, n, runs);
    free(json);

    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            continue;
        }
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *data = xmalloc((size_t)len);
        if (len <= 0 || fread(data, 1, (size_t)len, f) != (size_t)len) exit(1);
        fclose(f);
        const char *base = strrchr(argv[i], '/');
        bench_stream(base ? base + 1 : argv[i], data, (size_t)len, runs);
        free(data);
    }
    bench_messages(runs);
    return 0;
}

/*
 * codec_bench.c -- our DEFLATE encoder side by side with zlib and
 * libdeflate, on a fixed corpus (build/codec-bench, `make bench-codec`).
 *
 * The corpus is the same on every Debian machine, offline:
 *   json     2,000 chat-like JSON messages of 150..700 bytes, generated
 *            here from a fixed seed, compressed one message at a time as a
 *            permessage-deflate server would: once with context takeover
 *            (one stream, each message ended as RFC 7692 §7.2.1 says), once
 *            without (the stream reset before every message);
 *   text     /usr/share/common-licenses/GPL-3 (base-files; English), as one
 *            message -- or, if it is missing, English-like text generated
 *            from a vocabulary;
 *   binary   1 MiB of generated telemetry records with short random blobs
 *            between them (like embedded compressed data), as one message.
 *
 * Compressors: ours at levels 1 and 6 (window 15); zlib 1 and 6 (raw
 * deflate, windowBits -15, memLevel 8, Z_SYNC_FLUSH per message, the final
 * 00 00 ff ff dropped as RFC 7692 says); libdeflate 1 and 6 (whole buffers
 * only, so each message on its own: it has no streaming, so no context
 * takeover). Decompressors, all fed our level-6 output: zlib's inflate,
 * libdeflate (not the context-takeover stream: it has no streaming), and
 * ours, src/inflate.c (built in when that file exists: WS_BENCH_INFLATE).
 *
 * Every output is checked with zlib's inflate before anything is timed.
 * Timing: rounds, each long enough (--min-ms) to hide the clock; in each
 * round every configuration runs once, one after the other, so background
 * noise falls on all of them alike; the median round is reported, in MB/s
 * of uncompressed data (10^6 bytes per second).
 *
 * Usage: codec-bench [--rounds N] [--min-ms MS] [--text FILE]
 * Prints a Markdown table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#ifdef WS_BENCH_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "deflate.h"
#ifdef WS_BENCH_INFLATE
#include "inflate.h"
#endif

#define WINDOW_BITS 15
#define MAX_ROUNDS  101
#define MAX_RUNS    64

/* ---------------------------------------------------------------------- */
/* The corpus                                                              */

/* One corpus: its bytes, cut into messages (one message for text/binary). */
struct corpus {
    const char *name;
    uint8_t *data;
    size_t len;
    size_t *cut; /* message i is data[cut[i] .. cut[i + 1]) */
    size_t nmsg;
};

static uint64_t rng_state;

static uint64_t rnd(void) {
    /* splitmix64: a fixed sequence, the same on every machine */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n) { return (unsigned)(rnd() % n); }

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "codec-bench: out of memory\n");
        exit(1);
    }
    return p;
}

static const char *const words[] = {
    "the",     "of",      "and",     "to",     "a",        "in",     "is",      "it",    "you",
    "that",    "he",      "was",     "for",    "on",       "are",    "with",    "as",    "I",
    "his",     "they",    "be",      "at",     "one",      "have",   "this",    "from",  "or",
    "had",     "by",      "hot",     "word",   "but",      "what",   "some",    "we",    "can",
    "out",     "other",   "were",    "all",    "there",    "when",   "up",      "use",   "your",
    "how",     "said",    "an",      "each",   "she",      "which",  "do",      "their", "time",
    "if",      "will",    "way",     "about",  "many",     "then",   "them",    "write", "would",
    "like",    "so",      "these",   "her",    "long",     "make",   "thing",   "see",   "him",
    "two",     "has",     "look",    "more",   "day",      "could",  "go",      "come",  "did",
    "number",  "sound",   "no",      "most",   "people",   "my",     "over",    "know",  "water",
    "than",    "call",    "first",   "who",    "may",      "down",   "side",    "been",  "now",
    "find",    "meeting", "deploy",  "server", "tomorrow", "lunch",  "release", "build", "review",
    "ticket",  "thanks",  "great",   "sounds", "good",     "sure",   "later",   "today", "morning",
    "weekend", "coffee",  "latency", "bug",    "fixed",    "merged", "branch",  "test",  "green",
    "red",     "failing", "ship",    "it",     "please",   "check",  "logs",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const rooms[] = { "general", "random", "dev-backend", "dev-frontend",
                                     "ops",     "design", "support",     "announcements" };
static const char *const names[] = { "alice", "bob",   "carol", "dave",   "erin",    "frank",
                                     "grace", "heidi", "ivan",  "judy",   "mallory", "oscar",
                                     "peggy", "sybil", "trent", "victor", "walter" };

/* Append a sentence of nw words to p (at most 16 bytes a word). */
static char *sentence(char *p, unsigned nw) {
    for (unsigned i = 0; i < nw; i++) {
        const char *w = words[rnd_below(NWORDS)];
        if (i > 0) *p++ = ' ';
        size_t n = strlen(w);
        memcpy(p, w, n);
        if (i == 0 && *p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        p += n;
    }
    *p++ = rnd_below(5) == 0 ? '!' : '.';
    return p;
}

static void make_json(struct corpus *c) {
    enum { NMSG = 2000, MAX_MSG = 2048 };
    rng_state = 0x6a736f6e; /* "json" */
    c->name = "json";
    c->data = xmalloc((size_t)NMSG * MAX_MSG);
    c->cut = xmalloc((NMSG + 1) * sizeof(size_t));
    c->nmsg = NMSG;
    uint64_t ts = 1700000000000u;
    size_t off = 0;
    for (unsigned i = 0; i < NMSG; i++) {
        char *start = (char *)c->data + off, *p = start;
        unsigned user = rnd_below(sizeof(names) / sizeof(names[0]));
        ts += 200 + rnd_below(30000);
        p +=
            sprintf(p,
                    "{\"type\":\"message\",\"id\":%u,\"room\":\"%s\",\"user\":{\"id\":%u,"
                    "\"name\":\"%s\",\"status\":\"%s\"},\"ts\":%llu,\"text\":\"",
                    100000 + i, rooms[rnd_below(sizeof(rooms) / sizeof(rooms[0]))], 1000 + user * 7,
                    names[user], rnd_below(4) ? "online" : "away", (unsigned long long)ts);
        unsigned ns = 1 + rnd_below(3);
        for (unsigned s = 0; s < ns; s++) {
            if (s > 0) *p++ = ' ';
            p = sentence(p, 3 + rnd_below(14));
        }
        p += sprintf(p, "\",\"mentions\":[");
        unsigned nm = rnd_below(3);
        for (unsigned m = 0; m < nm; m++)
            p += sprintf(p, "%s\"%s\"", m ? "," : "",
                         names[rnd_below(sizeof(names) / sizeof(names[0]))]);
        p += sprintf(p,
                     "],\"reactions\":{\"thumbs_up\":%u,\"heart\":%u},\"edited\":%s,"
                     "\"client\":{\"app\":\"web\",\"version\":\"4.%u.%u\"}}",
                     rnd_below(5), rnd_below(3), rnd_below(6) ? "false" : "true", rnd_below(3),
                     rnd_below(20));
        c->cut[i] = off;
        off += (size_t)(p - start);
    }
    c->cut[NMSG] = off;
    c->len = off;
}

static void make_text(struct corpus *c, const char *path) {
    c->name = "text";
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (n > 0) {
            c->data = xmalloc((size_t)n);
            c->len = fread(c->data, 1, (size_t)n, f);
        }
        fclose(f);
    }
    if (c->len == 0) {
        /* No such file: about as much English-like text, from the words. */
        fprintf(stderr, "codec-bench: %s not readable; generating text instead\n", path);
        rng_state = 0x74657874; /* "text" */
        c->data = xmalloc(40000);
        char *p = (char *)c->data;
        while (p - (char *)c->data < 35000) {
            p = sentence(p, 4 + rnd_below(20));
            *p++ = rnd_below(6) == 0 ? '\n' : ' ';
        }
        c->len = (size_t)(p - (char *)c->data);
    }
    c->cut = xmalloc(2 * sizeof(size_t));
    c->cut[0] = 0;
    c->cut[1] = c->len;
    c->nmsg = 1;
}

static void put_le(uint8_t **p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) *(*p)++ = (uint8_t)(v >> (8 * i));
}

/* Telemetry: 40-byte records from 16 sensors (sequence number, time in
 * ns, slowly drifting readings as float, three noisy 16-bit axes, flags),
 * and after about one record in 24 a blob of 16..512 random bytes. */
static void make_binary(struct corpus *c) {
    enum { SIZE = 1 << 20 };
    rng_state = 0x62696e; /* "bin" */
    c->name = "binary";
    c->data = xmalloc(SIZE + 1024);
    uint8_t *p = c->data;
    uint64_t t = 1700000000000000000u;
    float temp[16], pres[16];
    for (int i = 0; i < 16; i++) {
        temp[i] = 20.0f + (float)i;
        pres[i] = 1000.0f + (float)i;
    }
    for (uint32_t seq = 0; p - c->data < SIZE - 600; seq++) {
        unsigned s = rnd_below(16);
        t += 1000000 + rnd_below(50000);
        temp[s] += ((float)rnd_below(201) - 100.0f) / 1000.0f;
        pres[s] += ((float)rnd_below(201) - 100.0f) / 100.0f;
        uint32_t ft, fp;
        memcpy(&ft, &temp[s], 4);
        memcpy(&fp, &pres[s], 4);
        put_le(&p, seq, 4);
        put_le(&p, 0x5e450000u + s, 4);
        put_le(&p, t, 8);
        put_le(&p, ft, 4);
        put_le(&p, fp, 4);
        for (int a = 0; a < 3; a++) put_le(&p, (uint16_t)(int16_t)((int)rnd_below(64) - 32), 2);
        put_le(&p, rnd_below(8) == 0 ? 0x8001u : 0x0001u, 2);
        put_le(&p, 0, 8);
        if (rnd_below(24) == 0) {
            unsigned n = 16 + rnd_below(497);
            for (unsigned i = 0; i < n; i++) *p++ = (uint8_t)rnd();
        }
    }
    c->len = (size_t)(p - c->data);
    c->cut = xmalloc(2 * sizeof(size_t));
    c->cut[0] = 0;
    c->cut[1] = c->len;
    c->nmsg = 1;
}

/* ---------------------------------------------------------------------- */
/* The codecs                                                              */

enum { OURS, ZLIB, LIBDEFLATE };
static const char *const codec_names[] = { "ws6455", "zlib", "libdeflate" };

/* One compression configuration and what it produced. */
struct run {
    int codec, level, takeover;
    const struct corpus *c;
    uint8_t *out;    /* all messages' outputs, one after the other */
    size_t *out_cut; /* message i is out[out_cut[i] .. out_cut[i + 1]) */
    size_t out_len;
    double secs[MAX_ROUNDS];
    /* state */
    void *ours_mem;
    ws_deflate *ours;
    z_stream z;
#ifdef WS_BENCH_LIBDEFLATE
    struct libdeflate_compressor *ld;
#endif
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "codec-bench: %s\n", what);
    exit(1);
}

static void run_setup(struct run *r) {
    size_t cap = 0;
    for (size_t i = 0; i < r->c->nmsg; i++)
        cap += ws_deflate_bound(r->c->cut[i + 1] - r->c->cut[i]) + 64;
    r->out = xmalloc(cap);
    r->out_cut = xmalloc((r->c->nmsg + 1) * sizeof(size_t));
    if (r->codec == OURS) {
        size_t n = ws_deflate_size(WINDOW_BITS, r->level);
        r->ours_mem = xmalloc(n);
        r->ours = ws_deflate_init(r->ours_mem, n, WINDOW_BITS, r->level);
        if (r->ours == NULL) die("ws_deflate_init failed");
    } else if (r->codec == ZLIB) {
        memset(&r->z, 0, sizeof(r->z));
        if (deflateInit2(&r->z, r->level, Z_DEFLATED, -WINDOW_BITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            die("deflateInit2 failed");
    } else {
#ifdef WS_BENCH_LIBDEFLATE
        r->ld = libdeflate_alloc_compressor(r->level);
        if (r->ld == NULL) die("libdeflate_alloc_compressor failed");
#endif
    }
}

/* Compress the whole corpus once, from a fresh stream. */
static void run_once(struct run *r) {
    const struct corpus *c = r->c;
    size_t off = 0;
    if (r->codec == OURS) ws_deflate_reset(r->ours);
    if (r->codec == ZLIB) deflateReset(&r->z);
    for (size_t i = 0; i < c->nmsg; i++) {
        const uint8_t *in = c->data + c->cut[i];
        size_t n = c->cut[i + 1] - c->cut[i], cap = ws_deflate_bound(n) + 64, olen = 0;
        r->out_cut[i] = off;
        if (r->codec == OURS) {
            size_t used;
            if (!r->takeover) ws_deflate_reset(r->ours);
            int rc = ws_deflate_feed(r->ours, in, n, &used, r->out + off, cap, &olen,
                                     WS_DEFLATE_MESSAGE_END);
            if (rc != WS_DEFLATE_NEED_INPUT || used != n) die("ws_deflate_feed failed");
        } else if (r->codec == ZLIB) {
            if (!r->takeover) deflateReset(&r->z);
            r->z.next_in = (uint8_t *)(uintptr_t)in;
            r->z.avail_in = (uInt)n;
            r->z.next_out = r->out + off;
            r->z.avail_out = (uInt)cap;
            if (deflate(&r->z, Z_SYNC_FLUSH) != Z_OK || r->z.avail_in != 0 || r->z.avail_out == 0)
                die("zlib deflate failed");
            olen = cap - r->z.avail_out - 4; /* RFC 7692 §7.2.1: drop 00 00 ff ff */
        } else {
#ifdef WS_BENCH_LIBDEFLATE
            olen = libdeflate_deflate_compress(r->ld, in, n, r->out + off, cap);
            if (olen == 0) die("libdeflate_deflate_compress failed");
#endif
        }
        off += olen;
    }
    r->out_cut[c->nmsg] = off;
    r->out_len = off;
}

/* Inflate one stream (or message) with zlib. Returns the bytes produced. */
static size_t zlib_inflate(z_stream *z, const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    z->next_in = (uint8_t *)(uintptr_t)in;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    int rc = inflate(z, Z_SYNC_FLUSH);
    if ((rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) || z->avail_in != 0)
        die("zlib inflate failed");
    return cap - z->avail_out;
}

static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff };

/* Check r's output: zlib must give back the corpus. */
static void verify(const struct run *r) {
    const struct corpus *c = r->c;
    uint8_t *back = xmalloc(c->len + 64), *msg = xmalloc(r->out_len + 8);
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -WINDOW_BITS) != Z_OK) die("inflateInit2 failed");
    size_t got = 0;
    for (size_t i = 0; i < c->nmsg; i++) {
        size_t n = r->out_cut[i + 1] - r->out_cut[i];
        if (!r->takeover || r->codec == LIBDEFLATE) inflateReset(&z);
        memcpy(msg, r->out + r->out_cut[i], n);
        if (r->codec != LIBDEFLATE) {
            memcpy(msg + n, tail, 4);
            n += 4;
        }
        got += zlib_inflate(&z, msg, n, back + got, c->len + 64 - got);
        if (got != c->cut[i + 1] || memcmp(back + c->cut[i], c->data + c->cut[i], got - c->cut[i]))
            die("a compressed message does not inflate back to its input");
    }
    inflateEnd(&z);
    free(back);
    free(msg);
}

/* ---------------------------------------------------------------------- */
/* Decompression                                                           */

enum { DEC_ZLIB, DEC_LIBDEFLATE, DEC_OURS };
static const char *const dec_names[] = { "zlib", "libdeflate", "ws6455" };

/* Our level-6 output of one corpus, to decode. Without context takeover
 * each message is made decodable on its own by anyone: its 00 00 ff ff put
 * back and an empty final block (BFINAL 1, fixed, end of block: 03 00)
 * after it. With context takeover (json) the messages are one stream, fed
 * message by message with their 00 00 ff ff, as a permessage-deflate
 * receiver does; libdeflate cannot do that (whole buffers only). */
struct dec_run {
    int dec;
    int takeover;
    const struct corpus *c;
    uint8_t *in;
    size_t *in_cut;
    uint8_t *back;
    double secs[MAX_ROUNDS];
    z_stream z;
#ifdef WS_BENCH_LIBDEFLATE
    struct libdeflate_decompressor *ld;
#endif
#ifdef WS_BENCH_INFLATE
    void *ours_mem;
    ws_inflate *ours;
#endif
};

static void dec_setup(struct dec_run *dr, const struct run *src) {
    const struct corpus *c = src->c;
    dr->c = c;
    dr->takeover = src->takeover;
    dr->in = xmalloc(src->out_len + 6 * c->nmsg);
    dr->in_cut = xmalloc((c->nmsg + 1) * sizeof(size_t));
    dr->back = xmalloc(c->len + 64);
    size_t off = 0;
    for (size_t i = 0; i < c->nmsg; i++) {
        size_t n = src->out_cut[i + 1] - src->out_cut[i];
        dr->in_cut[i] = off;
        memcpy(dr->in + off, src->out + src->out_cut[i], n);
        memcpy(dr->in + off + n, "\x00\x00\xff\xff\x03\x00", 6);
        off += n + (dr->takeover ? 4 : 6);
    }
    dr->in_cut[c->nmsg] = off;
    if (dr->dec == DEC_ZLIB) {
        memset(&dr->z, 0, sizeof(dr->z));
        if (inflateInit2(&dr->z, -WINDOW_BITS) != Z_OK) die("inflateInit2 failed");
    }
#ifdef WS_BENCH_LIBDEFLATE
    if (dr->dec == DEC_LIBDEFLATE && (dr->ld = libdeflate_alloc_decompressor()) == NULL)
        die("libdeflate_alloc_decompressor failed");
#endif
#ifdef WS_BENCH_INFLATE
    if (dr->dec == DEC_OURS) {
        size_t n = ws_inflate_size(WINDOW_BITS);
        dr->ours_mem = xmalloc(n);
        if ((dr->ours = ws_inflate_init(dr->ours_mem, n, WINDOW_BITS)) == NULL)
            die("ws_inflate_init failed");
    }
#endif
}

static void dec_once(struct dec_run *dr) {
    const struct corpus *c = dr->c;
    if (dr->takeover && dr->dec == DEC_ZLIB) inflateReset(&dr->z);
#ifdef WS_BENCH_INFLATE
    if (dr->takeover && dr->dec == DEC_OURS) ws_inflate_reset(dr->ours, 0);
#endif
    for (size_t i = 0; i < c->nmsg; i++) {
        const uint8_t *in = dr->in + dr->in_cut[i];
        size_t n = dr->in_cut[i + 1] - dr->in_cut[i], want = c->cut[i + 1] - c->cut[i], got = 0;
        uint8_t *out = dr->back + c->cut[i];
        /* Room for a few bytes more than the message (the buffer has 64
         * at its end): a streaming decoder may stop on a buffer that is
         * exactly full before it has read the final empty block. */
        if (dr->dec == DEC_ZLIB) {
            if (!dr->takeover) inflateReset(&dr->z);
            got = zlib_inflate(&dr->z, in, n, out, want + 64);
        }
#ifdef WS_BENCH_LIBDEFLATE
        if (dr->dec == DEC_LIBDEFLATE &&
            libdeflate_deflate_decompress(dr->ld, in, n, out, want, &got) != LIBDEFLATE_SUCCESS)
            die("libdeflate_deflate_decompress failed");
#endif
#ifdef WS_BENCH_INFLATE
        if (dr->dec == DEC_OURS) {
            size_t used, olen;
            if (!dr->takeover) ws_inflate_reset(dr->ours, 0);
            int rc = ws_inflate_feed(dr->ours, in, n, &used, out, want + 64, &olen);
            if (rc < 0 || used != n) die("ws_inflate_feed failed");
            got = olen;
        }
#endif
        if (got != want) die("a decoder produced the wrong length");
    }
}

/* ---------------------------------------------------------------------- */
/* Timing and the report                                                   */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return s[(n - 1) / 2];
}

/* How many repetitions make one timed round last at least min_secs. */
static int reps_for(double one, double min_secs) {
    double r = one > 0 ? min_secs / one : 1000;
    return r < 1 ? 1 : r > 100000 ? 100000 : (int)r + 1;
}

int main(int argc, char **argv) {
    int rounds = 7;
    double min_secs = 0.15;
    const char *text_path = "/usr/share/common-licenses/GPL-3";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--min-ms") == 0 && i + 1 < argc) {
            min_secs = atof(argv[++i]) / 1000.0;
        } else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc) {
            text_path = argv[++i];
        } else {
            fprintf(stderr, "usage: codec-bench [--rounds N] [--min-ms MS] [--text FILE]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 7;

    static struct corpus corpora[3];
    make_json(&corpora[0]);
    make_text(&corpora[1], text_path);
    make_binary(&corpora[2]);

    /* The compression runs: corpus x codec x level (x takeover for json). */
    static struct run runs[MAX_RUNS];
    int nruns = 0;
    int codecs[] = { OURS, ZLIB, LIBDEFLATE };
    int ncodecs = 2;
#ifdef WS_BENCH_LIBDEFLATE
    ncodecs = 3;
#endif
    for (int ci = 0; ci < 3; ci++) {
        for (int tk = 1; tk >= 0; tk--) {
            if (ci > 0 && tk == 0) continue; /* one message: takeover is moot */
            for (int k = 0; k < ncodecs; k++) {
                if (codecs[k] == LIBDEFLATE && tk && ci == 0) continue;
                for (int level = 1; level <= 6; level += 5) {
                    struct run *r = &runs[nruns++];
                    r->codec = codecs[k];
                    r->level = level;
                    r->takeover = ci == 0 ? tk : 0;
                    r->c = &corpora[ci];
                    run_setup(r);
                }
            }
        }
    }
    int reps[MAX_RUNS];
    for (int i = 0; i < nruns; i++) {
        double t0 = now();
        run_once(&runs[i]);
        reps[i] = reps_for(now() - t0, min_secs);
        verify(&runs[i]);
    }

    /* Decompression of our level-6 output (the takeover-free json run). */
    static struct dec_run decs[32];
    int ndecs = 0;
    int dec_list[] = {
        DEC_ZLIB,
#ifdef WS_BENCH_LIBDEFLATE
        DEC_LIBDEFLATE,
#endif
#ifdef WS_BENCH_INFLATE
        DEC_OURS,
#endif
    };
    for (int i = 0; i < nruns; i++) {
        const struct run *r = &runs[i];
        if (r->codec != OURS || r->level != 6) continue;
        for (size_t k = 0; k < sizeof(dec_list) / sizeof(dec_list[0]); k++) {
            if (r->takeover && dec_list[k] == DEC_LIBDEFLATE) continue;
            struct dec_run *dr = &decs[ndecs++];
            dr->dec = dec_list[k];
            dec_setup(dr, r);
        }
    }
    int dreps[32];
    for (int i = 0; i < ndecs; i++) {
        double t0 = now();
        dec_once(&decs[i]);
        dreps[i] = reps_for(now() - t0, min_secs);
        if (memcmp(decs[i].back, decs[i].c->data, decs[i].c->len) != 0)
            die("a decoder produced the wrong bytes");
    }

    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < nruns; i++) {
            double t0 = now();
            for (int k = 0; k < reps[i]; k++) run_once(&runs[i]);
            runs[i].secs[round] = (now() - t0) / reps[i];
        }
        for (int i = 0; i < ndecs; i++) {
            double t0 = now();
            for (int k = 0; k < dreps[i]; k++) dec_once(&decs[i]);
            decs[i].secs[round] = (now() - t0) / dreps[i];
        }
        fprintf(stderr, "codec-bench: round %d of %d done\n", round + 1, rounds);
    }

    printf("zlib %s (raw deflate, windowBits -15, memLevel 8, default strategy)", zlibVersion());
#ifdef WS_BENCH_LIBDEFLATE
    printf("; libdeflate %s", LIBDEFLATE_VERSION_STRING);
#else
    printf("; libdeflate not installed");
#endif
    printf("; ws6455 window 15, state %zu bytes at level 1, %zu at level 6; our decoder %s.\n\n",
           ws_deflate_size(WINDOW_BITS, 1), ws_deflate_size(WINDOW_BITS, 6),
#ifdef WS_BENCH_INFLATE
           "included"
#else
           "not built yet (no src/inflate.c)"
#endif
    );
    printf("| corpus | input bytes | compressor | level | MB/s | output bytes | ratio |\n");
    printf("|---|---:|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < nruns; i++) {
        const struct run *r = &runs[i];
        char label[64];
        if (r->c->nmsg > 1)
            snprintf(label, sizeof(label), "%s (%zu msgs, %s)", r->c->name, r->c->nmsg,
                     r->takeover ? "context takeover" : "no context takeover");
        else
            snprintf(label, sizeof(label), "%s", r->c->name);
        double t = median(r->secs, rounds);
        printf("| %s | %zu | %s | %d | %.1f | %zu | %.4f |\n", label, r->c->len,
               codec_names[r->codec], r->level, (double)r->c->len / t / 1e6, r->out_len,
               (double)r->out_len / (double)r->c->len);
    }
    printf("\n| corpus (ws6455 level 6 output) | decompressor | MB/s |\n|---|---|---:|\n");
    for (int i = 0; i < ndecs; i++) {
        const struct dec_run *dr = &decs[i];
        double t = median(dr->secs, rounds);
        char label[64];
        if (dr->c->nmsg > 1)
            snprintf(label, sizeof(label), "%s (%zu msgs, %s)", dr->c->name, dr->c->nmsg,
                     dr->takeover ? "context takeover" : "no context takeover");
        else
            snprintf(label, sizeof(label), "%s", dr->c->name);
        printf("| %s | %s | %.1f |\n", label, dec_names[dr->dec], (double)dr->c->len / t / 1e6);
    }
    printf("\n(median of %d rounds of at least %.0f ms each; MB = 10^6 bytes of uncompressed "
           "data)\n",
           rounds, min_secs * 1000);
    return 0;
}

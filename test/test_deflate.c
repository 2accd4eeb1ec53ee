/*
 * test_deflate.c -- the DEFLATE encoder (deflate.h).
 *
 * Two oracles read what the encoder writes:
 *  - zlib's raw inflate, with the window the stream was made for
 *    (windowBits = -window_bits; -9 for 8, since zlib silently treats a
 *    raw window of 8 as 9). It must give back the input exactly, and it
 *    refuses a distance beyond its window.
 *  - deflate_check.h, a small RFC 1951 decoder written for these
 *    tests: it also reports the type of every block and the longest
 *    distance used, so the window limit is checked exactly (window 8
 *    included), and so is the choice of block types.
 *
 * The RFC 7692 §7.2.3 examples are checked byte for byte. Everything else
 * is checked by round trips over five kinds of data (random, text-like,
 * repetitive, long runs, JSON-like) at sizes around the interesting
 * boundaries (0..3, 257..259: the longest match, 32 KiB +- 1: the window,
 * 64 KiB+: a stored block's limit, 1 MiB), every level 0..9 and every
 * window 8..15; by streaming invariance (every split of an input, down to
 * one byte at a time, and output buffers down to one byte, give the same
 * bytes); and by ws_deflate_bound() on incompressible data. Inputs sit
 * flush against a guard page (testutil.h), so an over-read crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "deflate.h"
#include "deflate_check.h"
#include "error.h"
#include "inflate.h"
#include "testutil.h"

/* ---------------------------------------------------------------------- */
/* Test data                                                               */

enum { K_RANDOM, K_TEXT, K_REPEAT, K_RUNS, K_JSON, K_COUNT };

static const char *const vocab[] = {
    "the",       "of",         "and",      "to",      "in",      "is",     "that",    "for",
    "it",        "as",         "was",      "with",    "be",      "by",     "on",      "not",
    "he",        "this",       "are",      "or",      "his",     "from",   "at",      "which",
    "but",       "have",       "an",       "had",     "they",    "you",    "were",    "their",
    "one",       "all",        "we",       "can",     "her",     "has",    "there",   "been",
    "if",        "more",       "when",     "will",    "would",   "who",    "so",      "no",
    "software",  "license",    "program",  "covered", "work",    "source", "code",    "distribute",
    "copyright", "permission", "warranty", "modify",  "network", "server", "message",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

static uint64_t gen_state;

static uint32_t gen(void) {
    gen_state = gen_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(gen_state >> 33);
}

/* n bytes of the given kind, deterministic for (kind, n, seed). */
static uint8_t *make_data(int kind, size_t n, uint64_t seed) {
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    gen_state = seed * 0x9e3779b97f4a7c15u + (uint64_t)kind * 7919 + n;
    size_t i = 0;
    switch (kind) {
    case K_RANDOM: tu_fill_random(p, n, seed ^ n); break;
    case K_TEXT:
        while (i < n) {
            const char *w = vocab[gen() % NVOCAB];
            size_t wl = strlen(w);
            for (size_t k = 0; k < wl && i < n; k++) p[i++] = (uint8_t)w[k];
            if (i < n) p[i++] = gen() % 12 == 0 ? '\n' : gen() % 9 == 0 ? ',' : ' ';
        }
        break;
    case K_REPEAT: {
        /* A 1..64-byte pattern over and over, now and then a byte changed
         * or a new pattern: matches at short distances of every length. */
        uint8_t pat[64];
        size_t plen = 1 + gen() % 64;
        for (size_t k = 0; k < plen; k++) pat[k] = (uint8_t)gen();
        while (i < n) {
            p[i] = pat[i % plen];
            if (gen() % 500 == 0) p[i] ^= (uint8_t)(1 + gen() % 255);
            if (gen() % 5000 == 0) {
                plen = 1 + gen() % 64;
                for (size_t k = 0; k < plen; k++) pat[k] = (uint8_t)gen();
            }
            i++;
        }
        break;
    }
    case K_RUNS:
        /* Runs of one byte, 1..1000 long: matches of 258 at distance 1. */
        while (i < n) {
            uint8_t b = (uint8_t)gen();
            size_t r = 1 + gen() % 1000;
            while (r-- > 0 && i < n) p[i++] = b;
        }
        break;
    default: {
        char buf[256];
        while (i < n) {
            int len = snprintf(buf, sizeof(buf),
                               "{\"id\":%u,\"user\":\"%s\",\"text\":\"%s %s %s\",\"ts\":%u}\n",
                               gen() % 100000, vocab[gen() % NVOCAB], vocab[gen() % NVOCAB],
                               vocab[gen() % NVOCAB], vocab[gen() % NVOCAB], gen());
            for (int k = 0; k < len && i < n; k++) p[i++] = (uint8_t)buf[k];
        }
        break;
    }
    }
    return p;
}

/* ---------------------------------------------------------------------- */
/* An encoder in malloc'd memory                                           */

static ws_deflate *new_encoder(unsigned window_bits, int level) {
    size_t size = ws_deflate_size(window_bits, level);
    assert_true(size > 0);
    void *mem = malloc(size);
    assert_non_null(mem);
    ws_deflate *d = ws_deflate_init(mem, size, window_bits, level);
    assert_ptr_equal(d, mem);
    return d;
}

/* Compress in[0..n) with the given flush, appending to out, calling again
 * (with the rest of the input, the same flush) while the output buffer --
 * ws_deflate_bound(n) + 4 bytes -- is full. */
static void feed_all(ws_deflate *d, const uint8_t *in, size_t n, int flush, tu_bytes *out) {
    size_t cap = ws_deflate_bound(n) + 4, off = 0;
    uint8_t *o = malloc(cap);
    assert_non_null(o);
    for (;;) {
        size_t used = 0, olen = 0;
        int rc =
            ws_deflate_feed(d, in != NULL ? in + off : NULL, n - off, &used, o, cap, &olen, flush);
        assert_true(rc == WS_DEFLATE_NEED_INPUT || rc == WS_DEFLATE_OUTPUT_FULL);
        assert_true(olen <= cap);
        tu_bytes_put(out, o, olen);
        off += used;
        if (rc == WS_DEFLATE_NEED_INPUT) {
            assert_int_equal(off, n);
            break;
        }
        assert_int_equal(olen, cap);
    }
    free(o);
}

/* One message on a fresh or flushed stream, in one call with an output
 * buffer of exactly ws_deflate_bound(n) bytes: deflate.h promises that is
 * enough, so the call must consume everything and finish. */
static void compress_one_call(ws_deflate *d, const uint8_t *in, size_t n, tu_bytes *out) {
    size_t cap = ws_deflate_bound(n), used = 0, olen = 0;
    uint8_t *o = malloc(cap);
    assert_non_null(o);
    int rc = ws_deflate_feed(d, in, n, &used, o, cap, &olen, WS_DEFLATE_MESSAGE_END);
    if (rc != WS_DEFLATE_NEED_INPUT || used != n)
        fail_msg("%zu bytes in one call into bound %zu: rc %d, used %zu, wrote %zu", n, cap, rc,
                 used, olen);
    tu_bytes_put(out, o, olen);
    free(o);
}

/* ---------------------------------------------------------------------- */
/* Oracle 1: zlib                                                          */

struct zin {
    z_stream z;
    int open;
};

static void zin_open(struct zin *zi, unsigned window_bits) {
    memset(zi, 0, sizeof(*zi));
    /* zlib refuses raw windowBits 8 (it would silently use 9 anyway). */
    int wb = window_bits < 9 ? 9 : (int)window_bits;
    assert_int_equal(inflateInit2(&zi->z, -wb), Z_OK);
    zi->open = 1;
}

static void zin_close(struct zin *zi) {
    if (zi->open) inflateEnd(&zi->z);
    zi->open = 0;
}

/* Feed one message's bytes and its 00 00 ff ff; the result must be want. */
static void zin_message(struct zin *zi, const uint8_t *c, size_t clen, const uint8_t *want,
                        size_t wlen) {
    uint8_t *in = malloc(clen + 4), *out = malloc(wlen + 64);
    assert_non_null(in);
    assert_non_null(out);
    if (clen > 0) memcpy(in, c, clen);
    memcpy(in + clen, dc_tail, 4);
    zi->z.next_in = in;
    zi->z.avail_in = (uInt)(clen + 4);
    zi->z.next_out = out;
    zi->z.avail_out = (uInt)(wlen + 64);
    int rc = inflate(&zi->z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        fail_msg("zlib inflate: %d (%s)", rc, zi->z.msg ? zi->z.msg : "?");
    assert_int_equal(zi->z.avail_in, 0);
    size_t got = wlen + 64 - zi->z.avail_out;
    assert_int_equal(got, wlen);
    assert_memory_equal(out, want, wlen);
    free(in);
    free(out);
}

/* ---------------------------------------------------------------------- */
/* Round trips                                                             */

/* Compress data as one message at (level, wb), from a guarded copy; check
 * it against both oracles and the bound. Returns the compressed size. */
static size_t roundtrip(int level, unsigned wb, const uint8_t *data, size_t n,
                        struct dc_check *report) {
    uint8_t *in = tu_guarded_copy(data, n);
    ws_deflate *d = new_encoder(wb, level);
    tu_bytes out = { 0 };
    compress_one_call(d, in, n, &out);
    if (out.len > ws_deflate_bound(n))
        fail_msg("level %d window %u: %zu bytes -> %zu > bound %zu", level, wb, n, out.len,
                 ws_deflate_bound(n));

    struct zin zi;
    zin_open(&zi, wb);
    zin_message(&zi, out.p, out.len, data, n);
    zin_close(&zi);

    struct dc_check ck = { 0 };
    dc_message(&ck, out.p, out.len);
    if (ck.err) fail_msg("level %d window %u n %zu: %s", level, wb, n, ck.why);
    assert_int_equal(ck.out_len, n);
    if (n > 0) assert_memory_equal(ck.out, data, n);
    if (ck.max_dist > ((size_t)1 << wb))
        fail_msg("level %d window %u: distance %zu", level, wb, ck.max_dist);
    if (level == 0) assert_int_equal(ck.fixed + ck.dynamic, 0);
    if (report != NULL) {
        *report = ck;
    } else {
        dc_free(&ck);
    }
    tu_bytes_free(&out);
    free(d);
    tu_guarded_free(in, n);
    return out.len;
}

static const size_t small_sizes[] = { 0, 1, 2, 3, 4, 5, 257, 258, 259, 262, 1000 };
static const size_t mid_sizes[] = { 32767, 32768, 32769, 65536 + 1000 };

/* Every level, every window, every kind, the small sizes. */
static void test_roundtrip_small(void **state) {
    (void)state;
    for (int kind = 0; kind < K_COUNT; kind++)
        for (size_t si = 0; si < sizeof(small_sizes) / sizeof(small_sizes[0]); si++) {
            uint8_t *data = make_data(kind, small_sizes[si], 1);
            for (int level = 0; level <= 9; level++)
                for (unsigned wb = 8; wb <= 15; wb++)
                    roundtrip(level, wb, data, small_sizes[si], NULL);
            free(data);
        }
}

/* The sizes around the window and a stored block's limit: every level at
 * windows 8 and 15, the levels with their own code paths or parameters
 * (0, 1, 2, 6, 9) at every window; text-like data at all of them, the
 * other kinds at windows 8, 11 and 15. */
static void test_roundtrip_window_sizes(void **state) {
    (void)state;
    for (int kind = 0; kind < K_COUNT; kind++)
        for (size_t si = 0; si < sizeof(mid_sizes) / sizeof(mid_sizes[0]); si++) {
            uint8_t *data = make_data(kind, mid_sizes[si], 2);
            for (int level = 0; level <= 9; level++)
                for (unsigned wb = 8; wb <= 15; wb++) {
                    int edge = wb == 8 || wb == 15;
                    int main_level = level <= 2 || level == 6 || level == 9;
                    if (!edge && !main_level) continue;
                    if (kind != K_TEXT && !edge && wb != 11) continue;
                    roundtrip(level, wb, data, mid_sizes[si], NULL);
                }
            free(data);
        }
}

/* 1 MiB (and a bit) of each kind at levels 1 and 6, window 15; text also
 * at levels 0, 4 and 9 and windows 8 and 12. */
static void test_roundtrip_large(void **state) {
    (void)state;
    size_t n = ((size_t)1 << 20) + 17;
    for (int kind = 0; kind < K_COUNT; kind++) {
        uint8_t *data = make_data(kind, n, 3);
        roundtrip(1, 15, data, n, NULL);
        roundtrip(6, 15, data, n, NULL);
        if (kind == K_TEXT) {
            static const int levels[] = { 0, 1, 4, 6, 9 };
            for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++) {
                roundtrip(levels[li], 8, data, n, NULL);
                roundtrip(levels[li], 12, data, n, NULL);
            }
            roundtrip(0, 15, data, n, NULL);
            roundtrip(9, 15, data, n, NULL);
        }
        free(data);
    }
}

/* ---------------------------------------------------------------------- */
/* RFC 7692 §7.2.3                                                         */

static void expect_bytes(const tu_bytes *b, const uint8_t *want, size_t n) {
    if (b->len != n) {
        char got[256] = "";
        for (size_t i = 0; i < b->len && i < 60; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x ", b->p[i]);
        fail_msg("got %zu bytes (%s), want %zu", b->len, got, n);
    }
    assert_memory_equal(b->p, want, n);
}

static void test_rfc7692_examples(void **state) {
    (void)state;
    static const uint8_t hello1[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 }; /* §7.2.3.1 */
    static const uint8_t hello2[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };             /* §7.2.3.2 */
    static const uint8_t stored[] = { 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                      0x65, 0x6c, 0x6c, 0x6f, 0x00 }; /* §7.2.3.3 */
    static const uint8_t two[] = { 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                   0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00 }; /* §7.2.3.5 */
    const uint8_t *hello = (const uint8_t *)"Hello";

    for (unsigned wb = 8; wb <= 15; wb++) {
        for (int level = 1; level <= 9; level++) {
            ws_deflate *d = new_encoder(wb, level);
            tu_bytes b = { 0 };
            /* §7.2.3.1: one compressed block (fixed Huffman). */
            feed_all(d, hello, 5, WS_DEFLATE_MESSAGE_END, &b);
            expect_bytes(&b, hello1, sizeof(hello1));
            /* §7.2.3.2: the same again, with the window shared: 'H' as a
             * literal and a match of 4 at distance 5. */
            b.len = 0;
            feed_all(d, hello, 5, WS_DEFLATE_MESSAGE_END, &b);
            expect_bytes(&b, hello2, sizeof(hello2));
            /* Without context takeover, the first form again. */
            ws_deflate_reset(d);
            b.len = 0;
            feed_all(d, hello, 5, WS_DEFLATE_MESSAGE_END, &b);
            expect_bytes(&b, hello1, sizeof(hello1));
            /* §7.2.3.5: "He" flushed, then "llo": two blocks in a message. */
            ws_deflate_reset(d);
            b.len = 0;
            feed_all(d, hello, 2, WS_DEFLATE_SYNC_FLUSH, &b);
            feed_all(d, hello + 2, 3, WS_DEFLATE_MESSAGE_END, &b);
            expect_bytes(&b, two, sizeof(two));
            tu_bytes_free(&b);
            free(d);
        }
        /* §7.2.3.3: level 0, a stored block. */
        ws_deflate *d = new_encoder(wb, 0);
        tu_bytes b = { 0 };
        feed_all(d, hello, 5, WS_DEFLATE_MESSAGE_END, &b);
        expect_bytes(&b, stored, sizeof(stored));
        tu_bytes_free(&b);
        free(d);
    }
}

/* An empty message is the empty stored block without its LEN/NLEN: one
 * 00 byte (RFC 7692 §7.2.3.6 shows the same byte as an empty fragment).
 * A sync flush with nothing pending writes the whole 00 00 00 ff ff. */
static void test_empty_messages(void **state) {
    (void)state;
    static const uint8_t zero[] = { 0x00 }, sync[] = { 0x00, 0x00, 0x00, 0xff, 0xff };
    for (int level = 0; level <= 9; level++) {
        ws_deflate *d = new_encoder(15, level);
        tu_bytes b = { 0 };
        feed_all(d, NULL, 0, WS_DEFLATE_MESSAGE_END, &b);
        expect_bytes(&b, zero, 1);
        b.len = 0;
        feed_all(d, NULL, 0, WS_DEFLATE_MESSAGE_END, &b);
        expect_bytes(&b, zero, 1);
        b.len = 0;
        feed_all(d, NULL, 0, WS_DEFLATE_SYNC_FLUSH, &b);
        expect_bytes(&b, sync, sizeof(sync));
        b.len = 0;
        feed_all(d, NULL, 0, WS_DEFLATE_NO_FLUSH, &b);
        assert_int_equal(b.len, 0);
        tu_bytes_free(&b);
        free(d);
    }
}

/* ---------------------------------------------------------------------- */
/* Several messages                                                        */

/* A conversation: messages of varied kinds and sizes, each ended with
 * MESSAGE_END. With context takeover one zlib stream reads them all, and
 * later messages are smaller for the history; without, the encoder is
 * reset after each and each message is decoded by a fresh inflater (and
 * the checker proves no distance reaches into an earlier message). */
static void run_conversation(int level, unsigned wb, int takeover) {
    static const size_t sizes[] = { 5, 300, 0, 1200, 3, 40000, 700, 258, 70000, 120, 9000 };
    ws_deflate *d = new_encoder(wb, level);
    struct zin zi;
    struct dc_check ck = { 0 };
    ck.no_takeover = !takeover;
    zin_open(&zi, wb);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        int kind = (int)(i % K_COUNT) == K_RANDOM ? K_JSON : (int)(i % K_COUNT);
        uint8_t *data = make_data(kind, n, 40 + i % 3);
        uint8_t *in = tu_guarded_copy(data, n);
        tu_bytes out = { 0 };
        if (!takeover) {
            ws_deflate_reset(d);
            zin_close(&zi);
            zin_open(&zi, wb);
        }
        feed_all(d, in, n, WS_DEFLATE_MESSAGE_END, &out);
        zin_message(&zi, out.p, out.len, data, n);
        ck.msg_start = ck.out_len;
        dc_message(&ck, out.p, out.len);
        if (ck.err) fail_msg("message %zu: %s", i, ck.why);
        assert_int_equal(ck.out_len - ck.msg_start, n);
        if (n > 0) assert_memory_equal(ck.out + ck.msg_start, data, n);
        tu_bytes_free(&out);
        tu_guarded_free(in, n);
        free(data);
    }
    if (ck.max_dist > ((size_t)1 << wb)) fail_msg("distance %zu beyond the window", ck.max_dist);
    dc_free(&ck);
    zin_close(&zi);
    free(d);
}

static void test_messages_context_takeover(void **state) {
    (void)state;
    for (int level = 0; level <= 9; level += (level < 2 ? 1 : 3))
        for (unsigned wb = 8; wb <= 15; wb += 7) run_conversation(level, wb, 1);
    run_conversation(6, 11, 1);
}

static void test_messages_no_context_takeover(void **state) {
    (void)state;
    for (int level = 0; level <= 9; level += (level < 2 ? 1 : 3))
        for (unsigned wb = 8; wb <= 15; wb += 7) run_conversation(level, wb, 0);
}

/* The same message twice: with context takeover the second one refers
 * back to the first and is tiny; after a reset it is as big as the first. */
static void test_takeover_helps(void **state) {
    (void)state;
    uint8_t *data = make_data(K_JSON, 2000, 7);
    for (int level = 1; level <= 9; level++) {
        ws_deflate *d = new_encoder(15, level);
        tu_bytes a = { 0 }, b = { 0 }, c = { 0 };
        feed_all(d, data, 2000, WS_DEFLATE_MESSAGE_END, &a);
        feed_all(d, data, 2000, WS_DEFLATE_MESSAGE_END, &b);
        ws_deflate_reset(d);
        feed_all(d, data, 2000, WS_DEFLATE_MESSAGE_END, &c);
        assert_true(b.len < 40); /* 8 matches of 258 and the end */
        assert_int_equal(c.len, a.len);
        assert_memory_equal(c.p, a.p, a.len);
        tu_bytes_free(&a);
        tu_bytes_free(&b);
        tu_bytes_free(&c);
        free(d);
    }
    free(data);
}

/* Our own decoder (inflate.c) reads what the encoder writes: the same
 * conversations, at every window, with and without context takeover, the
 * compressed bytes fed in pieces of 1..97 bytes. Without takeover the
 * decoder forgets the history before each message, so a reference into an
 * earlier message would fail there. */
static void test_our_inflate_reads_it(void **state) {
    (void)state;
    static const size_t sizes[] = { 5, 300, 0, 1200, 3, 40000, 700, 258, 70000, 120 };
    for (unsigned wb = 8; wb <= 15; wb++)
        for (int takeover = 0; takeover <= 1; takeover++) {
            int level = wb % 3 == 0 ? 1 : wb % 3 == 1 ? 6 : 9;
            ws_deflate *d = new_encoder(wb, level);
            size_t isize = ws_inflate_size(wb);
            void *imem = malloc(isize);
            assert_non_null(imem);
            ws_inflate *z = ws_inflate_init(imem, isize, wb);
            assert_non_null(z);
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                size_t n = sizes[i];
                uint8_t *data = make_data((int)(i % K_COUNT), n, 50 + wb);
                tu_bytes out = { 0 };
                if (!takeover) {
                    ws_deflate_reset(d);
                    ws_inflate_reset(z, 0);
                }
                feed_all(d, data, n, WS_DEFLATE_MESSAGE_END, &out);
                tu_bytes_put(&out, dc_tail, 4);
                uint8_t *back = malloc(n + 1);
                assert_non_null(back);
                size_t got = 0, pos = 0, piece = 1 + (i * 37 + wb) % 97;
                while (pos < out.len) {
                    size_t k = out.len - pos < piece ? out.len - pos : piece, used, olen;
                    int rc =
                        ws_inflate_feed(z, out.p + pos, k, &used, back + got, n + 1 - got, &olen);
                    if (rc < 0)
                        fail_msg("window %u level %d message %zu: %s", wb, level, i,
                                 ws_strerror(rc));
                    assert_int_equal(rc, WS_INFLATE_NEED_INPUT);
                    assert_int_equal(used, k);
                    pos += k;
                    got += olen;
                }
                assert_true(ws_inflate_at_block_boundary(z));
                assert_int_equal(got, n);
                if (n > 0) assert_memory_equal(back, data, n);
                free(back);
                tu_bytes_free(&out);
                free(data);
            }
            free(imem);
            free(d);
        }
}

/* ---------------------------------------------------------------------- */
/* Streaming invariance                                                    */

/* One step of a scripted stream: feed n bytes with this flush. */
struct step {
    size_t n;
    int flush;
};

/* Run the script over data in one call per step (output room: the bound,
 * plus 4 for a sync flush): the reference bytes. */
static void script_whole(ws_deflate *d, const uint8_t *data, const struct step *st, size_t nst,
                         tu_bytes *out) {
    size_t off = 0;
    for (size_t i = 0; i < nst; i++) {
        feed_all(d, data + off, st[i].n, st[i].flush, out);
        off += st[i].n;
    }
}

/* Run the script with every step's input cut into pieces of at most
 * chunk bytes (each in a guarded buffer) and an output buffer of out_cap
 * bytes, calling again while OUTPUT_FULL. */
static void script_cut(ws_deflate *d, const uint8_t *data, const struct step *st, size_t nst,
                       size_t chunk, size_t out_cap, tu_bytes *out) {
    uint8_t *o = malloc(out_cap);
    assert_non_null(o);
    size_t off = 0;
    for (size_t i = 0; i < nst; i++) {
        size_t done = 0;
        do {
            size_t k = st[i].n - done < chunk ? st[i].n - done : chunk;
            int last = done + k == st[i].n;
            int flush = last ? st[i].flush : WS_DEFLATE_NO_FLUSH;
            uint8_t *piece = tu_guarded_copy(data + off + done, k);
            size_t pos = 0;
            for (;;) {
                size_t used = 0, olen = 0;
                int rc = ws_deflate_feed(d, piece + pos, k - pos, &used, o, out_cap, &olen, flush);
                assert_true(rc == WS_DEFLATE_NEED_INPUT || rc == WS_DEFLATE_OUTPUT_FULL);
                assert_true(olen <= out_cap);
                tu_bytes_put(out, o, olen);
                pos += used;
                if (rc == WS_DEFLATE_NEED_INPUT) {
                    assert_int_equal(pos, k);
                    break;
                }
                /* OUTPUT_FULL only when the buffer really is full. */
                assert_int_equal(olen, out_cap);
            }
            tu_guarded_free(piece, k);
            done += k;
        } while (done < st[i].n);
        off += st[i].n;
    }
    free(o);
}

static void compare_cut(int level, unsigned wb, const uint8_t *data, const struct step *st,
                        size_t nst, size_t chunk, size_t out_cap) {
    ws_deflate *a = new_encoder(wb, level), *b = new_encoder(wb, level);
    tu_bytes ra = { 0 }, rb = { 0 };
    script_whole(a, data, st, nst, &ra);
    script_cut(b, data, st, nst, chunk, out_cap, &rb);
    if (ra.len != rb.len || memcmp(ra.p, rb.p, ra.len) != 0)
        fail_msg("level %d window %u chunk %zu out %zu: %zu bytes vs %zu in one piece", level, wb,
                 chunk, out_cap, rb.len, ra.len);
    tu_bytes_free(&ra);
    tu_bytes_free(&rb);
    free(a);
    free(b);
}

/* For tu_for_each_split: compress the two pieces (the first without
 * flush, the second ending the message) and compare with ctx's bytes. */
struct split_ctx {
    int level;
    unsigned wb;
    const tu_bytes *want;
};

static void split_fn(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct split_ctx *ctx = vctx;
    ws_deflate *d = new_encoder(ctx->wb, ctx->level);
    tu_bytes out = { 0 };
    for (size_t i = 0; i < n; i++)
        feed_all(d, pieces[i], lens[i], i + 1 == n ? WS_DEFLATE_MESSAGE_END : WS_DEFLATE_NO_FLUSH,
                 &out);
    if (out.len != ctx->want->len || memcmp(out.p, ctx->want->p, out.len) != 0)
        fail_msg("level %d: cut at %zu changes the output", ctx->level, lens[0]);
    tu_bytes_free(&out);
    free(d);
}

/* Every split of a 2.5 KiB input (text with repeats, so that matches cross
 * the cut) at levels 1, 6 and 9. */
static void test_every_split(void **state) {
    (void)state;
    size_t n = 2500;
    uint8_t *data = make_data(K_JSON, n, 11);
    static const int levels[] = { 0, 1, 6, 9 };
    for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++) {
        ws_deflate *d = new_encoder(15, levels[li]);
        tu_bytes want = { 0 };
        feed_all(d, data, n, WS_DEFLATE_MESSAGE_END, &want);
        struct split_ctx ctx = { levels[li], 15, &want };
        tu_for_each_split(data, n, split_fn, &ctx);
        tu_bytes_free(&want);
        free(d);
    }
    free(data);
}

/* Pieces of 1, 2, 3, 7, 64 and 1000 bytes and output buffers of 1, 2, 7
 * and 4096 bytes, through a script with flushes of each kind. */
static void test_chunks_and_output_sizes(void **state) {
    (void)state;
    uint8_t *data = make_data(K_TEXT, 4000, 12);
    static const struct step script[] = {
        { 1000, WS_DEFLATE_NO_FLUSH }, { 500, WS_DEFLATE_MESSAGE_END },
        { 0, WS_DEFLATE_MESSAGE_END }, { 700, WS_DEFLATE_SYNC_FLUSH },
        { 800, WS_DEFLATE_NO_FLUSH },  { 1000, WS_DEFLATE_MESSAGE_END },
    };
    static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000 };
    static const size_t outs[] = { 1, 2, 7, 4096 };
    static const int levels[] = { 0, 1, 2, 6, 9 };
    for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++)
        for (size_t ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++)
            for (size_t oi = 0; oi < sizeof(outs) / sizeof(outs[0]); oi++) {
                /* Every piece costs a guard page (mmap): byte-at-a-time
                 * input only with 1- and 7-byte output, at levels 1 and 6. */
                if (chunks[ci] == 1 &&
                    (outs[oi] == 2 || outs[oi] == 4096 || (levels[li] != 1 && levels[li] != 6)))
                    continue;
                compare_cut(levels[li], 15, data, script, 6, chunks[ci], outs[oi]);
            }
    free(data);
}

/* Long inputs in pieces, so that the window slides (and blocks end at the
 * slide) between calls, at the smallest window and the largest. */
static void test_streaming_across_slides(void **state) {
    (void)state;
    size_t n = 150000;
    static const int kinds[] = { K_TEXT, K_RANDOM, K_RUNS };
    for (size_t ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ki++) {
        uint8_t *data = make_data(kinds[ki], n, 13);
        struct step script[] = { { 70000, WS_DEFLATE_NO_FLUSH },
                                 { 50000, WS_DEFLATE_SYNC_FLUSH },
                                 { 30000, WS_DEFLATE_MESSAGE_END } };
        static const int levels[] = { 0, 1, 6, 9 };
        for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++)
            for (unsigned wb = 8; wb <= 15; wb += 7) {
                compare_cut(levels[li], wb, data, script, 3, 4099, 4096);
                compare_cut(levels[li], wb, data, script, 3, 65536, 7);
            }
        free(data);
    }
}

/* Input that ends a little after the window buffer (8 KiB at window 8)
 * first fills up: in one piece the last bytes fit without a slide, so in
 * small pieces there must be none either (fuzz_deflate found a slide, and
 * with it the end of a block, coming early when the input came in pieces). */
static void test_no_early_slide(void **state) {
    (void)state;
    static const size_t tails[] = { 0, 1, 130, 261, 262, 263, 300 };
    for (size_t ti = 0; ti < sizeof(tails) / sizeof(tails[0]); ti++) {
        /* Long matches, so that a match can carry the next position past
         * the point where a slide is due before the buffer is full. */
        size_t n = 2 * 8192 + tails[ti];
        for (int kind = K_REPEAT; kind <= K_RUNS; kind++) {
            uint8_t *data = make_data(kind, n, 14);
            struct step script[] = { { n, WS_DEFLATE_MESSAGE_END } };
            compare_cut(1, 8, data, script, 1, 7, 4096);
            compare_cut(6, 8, data, script, 1, 7, 4096);
            free(data);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Block choice, the bound, the window                                     */

/* Random data comes out stored: the input plus 5 bytes per stored block.
 * Level 0 makes blocks of 65535 bytes (of the window buffer, 8 KiB at
 * least, for the smaller windows); the other levels write a run of stored
 * blocks as long as the window buffer lets them keep it: half of it,
 * 4 KiB at least (32 KiB at window 15). */
static void test_random_is_stored(void **state) {
    (void)state;
    size_t n = 100000;
    uint8_t *data = make_data(K_RANDOM, n, 21);
    for (int level = 0; level <= 9; level++)
        for (unsigned wb = 8; wb <= 15; wb++) {
            size_t half = wb > 12 ? (size_t)1 << wb : 4096;
            size_t block = level == 0 ? (2 * half < 65535 ? 2 * half : 65535) : half - 300;
            struct dc_check ck;
            size_t out = roundtrip(level, wb, data, n, &ck);
            size_t limit = n + 5 * ((n + block - 1) / block) + 1;
            if (out > limit)
                fail_msg("level %d window %u: %zu random bytes -> %zu (> %zu)", level, wb, n, out,
                         limit);
            assert_int_equal(ck.fixed + ck.dynamic, 0);
            dc_free(&ck);
        }
    free(data);
}

/* The bound holds for incompressible data of every size up to a few
 * blocks, and for data that is compressible at first and then not. */
static void test_bound(void **state) {
    (void)state;
    static const size_t sizes[] = { 0,    1,    2,     10,    100,   1000,  4095,   4096,  8191,
                                    8192, 8193, 16384, 65535, 65536, 65537, 100000, 200000 };
    uint8_t *data = make_data(K_RANDOM, 200000, 22);
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
        for (int level = 0; level <= 9; level += 3)
            for (unsigned wb = 8; wb <= 15; wb++) roundtrip(level, wb, data, sizes[si], NULL);
    /* Text then random: a Huffman block, then stored runs after it. */
    uint8_t *mix = make_data(K_TEXT, 100000, 23);
    memcpy(mix + 20000, data, 80000);
    for (int level = 0; level <= 9; level++) roundtrip(level, 15, mix, 100000, NULL);
    assert_true(ws_deflate_bound(0) >= 1);
    assert_true(ws_deflate_bound(SIZE_MAX - 10) == SIZE_MAX);
    free(mix);
    free(data);
}

/* Tiny messages go out as fixed Huffman, text as dynamic. */
static void test_block_types(void **state) {
    (void)state;
    struct dc_check ck;
    uint8_t *text = make_data(K_TEXT, 20000, 24);
    roundtrip(6, 15, (const uint8_t *)"Hello, world", 12, &ck);
    assert_int_equal(ck.fixed, 1);
    assert_int_equal(ck.dynamic + ck.stored, 1); /* the empty stored block */
    dc_free(&ck);
    roundtrip(6, 15, text, 20000, &ck);
    assert_true(ck.dynamic >= 1);
    assert_int_equal(ck.fixed, 0);
    dc_free(&ck);
    free(text);
}

/* Data whose only repeats lie at exactly the window, and just beyond it:
 * the first may be used, the second never (zlib with the same window
 * would refuse it; the checker measures it, window 8 included). */
static void test_window_limit(void **state) {
    (void)state;
    for (unsigned wb = 8; wb <= 15; wb++) {
        size_t w = (size_t)1 << wb;
        for (size_t period = w - 1; period <= w + 1; period++) {
            size_t n = 6 * period;
            uint8_t *data = malloc(n);
            assert_non_null(data);
            tu_fill_random(data, period, wb * 100 + period);
            for (size_t i = period; i < n; i++) data[i] = data[i - period];
            for (int level = 1; level <= 9; level += 4) {
                struct dc_check ck;
                size_t out = roundtrip(level, wb, data, n, &ck);
                assert_true(ck.max_dist <= w);
                /* Within the window the repeats are found (but for window 12
                 * and up, where the encoder keeps a little short of it).
                 * Level 1 hashes only some of the positions inside a match,
                 * and here, where only the latest copy is in reach, it
                 * finds about half the repeats; the chained levels hash
                 * every position and find them all. */
                if (period < w && wb <= 11) assert_true(out < (level == 1 ? n * 2 / 3 : n / 4));
                dc_free(&ck);
            }
            free(data);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* The API                                                                 */

static void test_sizes_and_arguments(void **state) {
    (void)state;
    assert_int_equal(ws_deflate_size(7, 6), 0);
    assert_int_equal(ws_deflate_size(16, 6), 0);
    assert_int_equal(ws_deflate_size(15, -1), 0);
    assert_int_equal(ws_deflate_size(15, 10), 0);
    for (int level = 0; level <= 9; level++)
        for (unsigned wb = 8; wb <= 15; wb++) {
            size_t n = ws_deflate_size(wb, level);
            assert_true(n > 0);
            /* A smaller window never needs more memory. */
            if (wb > 8) assert_true(ws_deflate_size(wb - 1, level) <= n);
            void *mem = malloc(n);
            assert_null(ws_deflate_init(mem, n - 1, wb, level));
            assert_non_null(ws_deflate_init(mem, n, wb, level));
            free(mem);
        }
    char mem[64];
    assert_null(ws_deflate_init(NULL, 1 << 20, 15, 6));
    assert_null(ws_deflate_init(mem, sizeof(mem), 15, 6));

    ws_deflate *d = new_encoder(15, 6);
    uint8_t out[16];
    size_t used = 99, olen = 99;
    assert_int_equal(ws_deflate_feed(d, (const uint8_t *)"x", 1, &used, out, sizeof(out), &olen, 7),
                     WS_E_DEFLATE_ARG);
    assert_int_equal(used, 0);
    assert_int_equal(olen, 0);
    assert_int_equal(ws_deflate_feed(d, NULL, 5, &used, out, sizeof(out), &olen, 0),
                     WS_E_DEFLATE_ARG);
    assert_int_equal(ws_deflate_feed(d, (const uint8_t *)"x", 1, &used, NULL, 5, &olen, 0),
                     WS_E_DEFLATE_ARG);
    assert_int_equal(ws_deflate_feed(NULL, NULL, 0, &used, out, 1, &olen, 0), WS_E_DEFLATE_ARG);
    /* No output room at all: the message waits in the state. */
    assert_int_equal(ws_deflate_feed(d, (const uint8_t *)"Hello", 5, &used, NULL, 0, &olen,
                                     WS_DEFLATE_MESSAGE_END),
                     WS_DEFLATE_OUTPUT_FULL);
    assert_int_equal(used, 5);
    assert_int_equal(olen, 0);
    assert_int_equal(
        ws_deflate_feed(d, NULL, 0, &used, out, sizeof(out), &olen, WS_DEFLATE_MESSAGE_END),
        WS_DEFLATE_NEED_INPUT);
    assert_int_equal(olen, 7);
    assert_memory_equal(out, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
    /* Exactly enough room: done, not OUTPUT_FULL. */
    ws_deflate_reset(d);
    assert_int_equal(ws_deflate_feed(d, (const uint8_t *)"Hello", 5, &used, out, 7, &olen,
                                     WS_DEFLATE_MESSAGE_END),
                     WS_DEFLATE_NEED_INPUT);
    assert_int_equal(olen, 7);
    free(d);
    assert_string_equal(ws_strerror(WS_E_DEFLATE_ARG), "invalid argument to the compressor");
}

/* A reset forgets everything, even in the middle of a message. */
static void test_reset_mid_message(void **state) {
    (void)state;
    uint8_t *data = make_data(K_TEXT, 50000, 31);
    for (int level = 0; level <= 9; level += 3) {
        ws_deflate *d = new_encoder(12, level), *e = new_encoder(12, level);
        tu_bytes a = { 0 }, b = { 0 };
        feed_all(d, data, 30000, WS_DEFLATE_NO_FLUSH, &a);
        ws_deflate_reset(d);
        a.len = 0;
        feed_all(d, data + 30000, 20000, WS_DEFLATE_MESSAGE_END, &a);
        feed_all(e, data + 30000, 20000, WS_DEFLATE_MESSAGE_END, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
        tu_bytes_free(&a);
        tu_bytes_free(&b);
        free(d);
        free(e);
    }
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7692_examples),
        cmocka_unit_test(test_empty_messages),
        cmocka_unit_test(test_sizes_and_arguments),
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_window_sizes),
        cmocka_unit_test(test_roundtrip_large),
        cmocka_unit_test(test_messages_context_takeover),
        cmocka_unit_test(test_messages_no_context_takeover),
        cmocka_unit_test(test_takeover_helps),
        cmocka_unit_test(test_our_inflate_reads_it),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_chunks_and_output_sizes),
        cmocka_unit_test(test_streaming_across_slides),
        cmocka_unit_test(test_no_early_slide),
        cmocka_unit_test(test_random_is_stored),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_block_types),
        cmocka_unit_test(test_window_limit),
        cmocka_unit_test(test_reset_mid_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_frame.c -- the frame header parser, the header encoder and masking.
 *
 * The parser must report the same frames whatever way its input is cut, so
 * every valid input below goes through feed_everywhere(): in one piece
 * flush against a guard page, cut at every split point, byte by byte, and
 * in chunks of 2, 3, 7 and 64 bytes. Each run is reduced to a frame_log
 * (the headers, all payload bytes in order, and how it ended) and must
 * equal the log written down by hand.
 *
 * The vectors are the RFC 6455 §5.7 examples. The rejections are written
 * as byte strings with the index of the byte that first proves the frame
 * invalid: every shorter prefix must be accepted as "need more", and the
 * error must come on the call that delivers that byte -- a hostile peer
 * must not be able to make the parser wait for more of a frame it will
 * refuse anyway (frame.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "frame.h"
#include "rfc6455.h"
#include "testutil.h"
#include "vectors.h"

#define AS_SERVER 1 /* parsing what a client sent: frames must be masked */
#define AS_CLIENT 0 /* parsing what a server sent: frames must not be */

#define MAX_FRAMES 8

/* ---------------------------------------------------------------------- */
/* Recording what the parser reports                                       */

struct frame_rec {
    uint8_t opcode;
    uint8_t fin;
    uint64_t length; /* declared */
    uint64_t got;    /* payload bytes reported so far */
};

/* Everything a run of the parser reported, independent of the cuts. */
struct frame_log {
    struct frame_rec frames[MAX_FRAMES];
    size_t nframes;
    uint8_t *payload; /* every payload byte, frames concatenated */
    size_t payload_len;
    size_t payload_cap;
    int err;       /* 0, or the error that ended the run */
    size_t err_lo; /* the error came while feeding stream bytes */
    size_t err_hi; /*   [err_lo, err_hi) */
};

static void log_init(struct frame_log *log) { memset(log, 0, sizeof(*log)); }

static void log_free(struct frame_log *log) {
    free(log->payload);
    log->payload = NULL;
}

static void log_append(struct frame_log *log, const uint8_t *data, size_t len) {
    if (log->payload_len + len > log->payload_cap) {
        size_t cap = log->payload_cap ? log->payload_cap : 256;
        while (cap < log->payload_len + len) cap *= 2;
        log->payload = realloc(log->payload, cap);
        assert_non_null(log->payload);
        log->payload_cap = cap;
    }
    if (len > 0) memcpy(log->payload + log->payload_len, data, len);
    log->payload_len += len;
}

/* The expected side of a comparison: one frame and its (unmasked) payload.
 * length is taken from len. */
static void expect_frame(struct frame_log *log, int opcode, int fin, const void *payload,
                         size_t len) {
    assert_true(log->nframes < MAX_FRAMES);
    struct frame_rec *f = &log->frames[log->nframes++];
    f->opcode = (uint8_t)opcode;
    f->fin = (uint8_t)fin;
    f->length = len;
    f->got = len;
    log_append(log, payload, len);
}

struct feed_ctx {
    int server;
    struct frame_log log;
};

/* Feed the pieces in order to a fresh parser and record what it reports,
 * checking the per-call contract on the way: a call consumes at least one
 * byte, never more than it was given; a payload chunk is exactly the bytes
 * the call consumed; a call that completes nothing consumed everything. */
static void feed_pieces(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct feed_ctx *ctx = vctx;
    struct frame_log *log = &ctx->log;
    ws_frame_parser p;
    size_t stream_off = 0;

    log_init(log);
    ws_frame_parser_init(&p, ctx->server);
    for (size_t i = 0; i < n && log->err == 0; i++) {
        /* The guarded buffers are writable; testutil hands them out const
         * because most parsers only read. */
        uint8_t *buf = (uint8_t *)(uintptr_t)pieces[i];
        size_t off = 0;
        while (off < lens[i]) {
            ws_frame_event ev;
            long r = ws_frame_feed(&p, buf + off, lens[i] - off, &ev);
            if (r < 0) {
                log->err = (int)r;
                log->err_lo = stream_off;
                log->err_hi = stream_off + lens[i];
                break;
            }
            assert_true(r > 0);
            assert_true((size_t)r <= lens[i] - off);
            if (ev.type == WS_FRAME_EV_HEADER) {
                /* A header only comes once the previous frame is complete. */
                if (log->nframes > 0) {
                    struct frame_rec *prev = &log->frames[log->nframes - 1];
                    assert_true(prev->got == prev->length);
                }
                assert_true(log->nframes < MAX_FRAMES);
                struct frame_rec *f = &log->frames[log->nframes++];
                f->opcode = ev.opcode;
                f->fin = ev.fin;
                f->length = ev.length;
                f->got = 0;
                /* The payload that came with the header: the last ev.len
                 * bytes the call consumed. */
                assert_ptr_equal(ev.data + ev.len, buf + off + r);
                assert_true(ev.len < (size_t)r);
                f->got = ev.len;
                assert_true(f->got <= f->length);
                assert_int_equal(ev.last, f->got == f->length);
                log_append(log, ev.data, ev.len);
            } else if (ev.type == WS_FRAME_EV_PAYLOAD) {
                assert_true(log->nframes > 0);
                struct frame_rec *f = &log->frames[log->nframes - 1];
                assert_ptr_equal(ev.data, buf + off);
                assert_int_equal(ev.len, (size_t)r);
                assert_true(ev.len > 0);
                f->got += ev.len;
                assert_true(f->got <= f->length);
                assert_int_equal(ev.last, f->got == f->length);
                log_append(log, ev.data, ev.len);
            } else {
                assert_int_equal(ev.type, WS_FRAME_EV_NONE);
                assert_int_equal((size_t)r, lens[i] - off);
            }
            off += (size_t)r;
        }
        stream_off += lens[i];
    }
}

/* Assert that a run produced the expected log. For an error only the kind
 * is compared here; where it was found is the caller's business. */
static void assert_log_equal(const struct frame_log *got, const struct frame_log *want) {
    assert_int_equal(got->err, want->err);
    assert_int_equal(got->nframes, want->nframes);
    for (size_t i = 0; i < want->nframes; i++) {
        assert_int_equal(got->frames[i].opcode, want->frames[i].opcode);
        assert_int_equal(got->frames[i].fin, want->frames[i].fin);
        assert_int_equal(got->frames[i].length, want->frames[i].length);
        assert_int_equal(got->frames[i].got, want->frames[i].got);
    }
    assert_int_equal(got->payload_len, want->payload_len);
    if (want->payload_len > 0) assert_memory_equal(got->payload, want->payload, want->payload_len);
}

/* ---------------------------------------------------------------------- */
/* Feeding an input every way                                              */

struct everywhere_ctx {
    struct feed_ctx feed;
    const struct frame_log *want;
    size_t bad_at; /* for an expected error: the index of the proving byte */
    unsigned runs;
};

static void run_and_check(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct everywhere_ctx *ctx = vctx;
    feed_pieces(&ctx->feed, pieces, lens, n);
    assert_log_equal(&ctx->feed.log, ctx->want);
    if (ctx->want->err != 0) {
        assert_true(ctx->feed.log.err_lo <= ctx->bad_at);
        assert_true(ctx->bad_at < ctx->feed.log.err_hi);
    }
    log_free(&ctx->feed.log);
    ctx->runs++;
}

/* Inputs longer than this are fed at selected split points and byte by
 * byte out of one buffer: every split and one mapping per byte would cost
 * tens of thousands of mmaps. */
#define SPLIT_ALL_MAX 4096

/* One piece, every split, byte by byte, chunks of 2, 3, 7 and 64: every
 * run must give want (and, for an error, find it at byte bad_at). */
static void feed_everywhere(const uint8_t *data, size_t len, int server,
                            const struct frame_log *want, size_t bad_at) {
    static const size_t chunk_sizes[] = { 1, 2, 3, 7, 64 };
    struct everywhere_ctx ctx = { .feed = { .server = server }, .want = want, .bad_at = bad_at };

    tu_chunks(data, len, len ? len : 1, run_and_check, &ctx);
    if (len <= SPLIT_ALL_MAX) {
        tu_for_each_split(data, len, run_and_check, &ctx);
        for (size_t i = 0; i < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); i++)
            tu_chunks(data, len, chunk_sizes[i], run_and_check, &ctx);
    } else {
        /* Every cut inside the header and the first payload bytes, a
         * spread through the payload, and every cut near the end. */
        for (size_t cut = 0; cut <= 32; cut++) tu_split_at(data, len, cut, run_and_check, &ctx);
        for (size_t cut = 33; cut + 32 < len; cut += 4093)
            tu_split_at(data, len, cut, run_and_check, &ctx);
        for (size_t cut = len - 32; cut <= len; cut++)
            tu_split_at(data, len, cut, run_and_check, &ctx);
        tu_bytewise(data, len, run_and_check, &ctx);
        for (size_t i = 1; i < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); i++)
            if (len / chunk_sizes[i] < 8192)
                tu_chunks(data, len, chunk_sizes[i], run_and_check, &ctx);
    }
    assert_true(ctx.runs > 0);
}

/* ---------------------------------------------------------------------- */
/* RFC 6455 §5.7 examples                                                  */

/* "A single-frame unmasked text message": a server sends it, so a client
 * parses it. */
static void test_rfc_unmasked_hello(void **state) {
    (void)state;
    static const uint8_t in[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    struct frame_log want;
    log_init(&want);
    expect_frame(&want, WS_OP_TEXT, 1, "Hello", 5);
    feed_everywhere(in, sizeof(in), AS_CLIENT, &want, 0);
    log_free(&want);
}

/* "A single-frame masked text message": a client sends it, the server
 * parses and unmasks it. */
static void test_rfc_masked_hello(void **state) {
    (void)state;
    static const uint8_t in[] = { TV_HELLO_MASKED };
    struct frame_log want;
    log_init(&want);
    expect_frame(&want, WS_OP_TEXT, 1, "Hello", 5);
    feed_everywhere(in, sizeof(in), AS_SERVER, &want, 0);
    log_free(&want);
}

/* "A fragmented unmasked text message": "Hel" then "lo". */
static void test_rfc_fragmented(void **state) {
    (void)state;
    static const uint8_t in[] = { 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f };
    struct frame_log want;
    log_init(&want);
    expect_frame(&want, WS_OP_TEXT, 0, "Hel", 3);
    expect_frame(&want, WS_OP_CONT, 1, "lo", 2);
    feed_everywhere(in, sizeof(in), AS_CLIENT, &want, 0);
    log_free(&want);
}

/* "Unmasked Ping request and masked Ping response" -- the response is a
 * pong (opcode 0xA), as the RFC's bytes say. */
static void test_rfc_ping_pong(void **state) {
    (void)state;
    static const uint8_t ping[] = { TV_PING_UNMASKED };
    static const uint8_t pong[] = { TV_PONG_MASKED };
    struct frame_log want;

    log_init(&want);
    expect_frame(&want, WS_OP_PING, 1, "Hello", 5);
    feed_everywhere(ping, sizeof(ping), AS_CLIENT, &want, 0);
    log_free(&want);

    log_init(&want);
    expect_frame(&want, WS_OP_PONG, 1, "Hello", 5);
    feed_everywhere(pong, sizeof(pong), AS_SERVER, &want, 0);
    log_free(&want);
}

/* "256 bytes binary message in a single unmasked frame": 82 7E 01 00. */
static void test_rfc_binary_256(void **state) {
    (void)state;
    uint8_t in[4 + 256] = { 0x82, 0x7e, 0x01, 0x00 };
    tu_fill_random(in + 4, 256, 256);
    struct frame_log want;
    log_init(&want);
    expect_frame(&want, WS_OP_BINARY, 1, in + 4, 256);
    feed_everywhere(in, sizeof(in), AS_CLIENT, &want, 0);
    log_free(&want);
}

/* "64KiB binary message in a single unmasked frame": 82 7F + 8-byte 65536. */
static void test_rfc_binary_64k(void **state) {
    (void)state;
    static const uint8_t head[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 };
    size_t len = sizeof(head) + 65536;
    uint8_t *in = malloc(len);
    assert_non_null(in);
    memcpy(in, head, sizeof(head));
    tu_fill_random(in + sizeof(head), 65536, 65536);

    struct frame_log want;
    log_init(&want);
    expect_frame(&want, WS_OP_BINARY, 1, in + sizeof(head), 65536);
    feed_everywhere(in, len, AS_CLIENT, &want, 0);
    log_free(&want);
    free(in);
}

/* The same 256- and 65536-byte frames masked, as a client sends them: the
 * unmasking must continue at the right key byte across every cut. */
static void test_masked_long_frames(void **state) {
    (void)state;
    static const uint8_t key[4] = { TV_MASK_KEY };
    static const size_t sizes[] = { 126, 256, 1000, 65535, 65536 };

    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t plen = sizes[s];
        uint8_t *in = malloc(WS_MAX_HEADER_LEN + plen);
        uint8_t *plain = malloc(plen);
        assert_non_null(in);
        assert_non_null(plain);
        tu_fill_random(plain, plen, plen);
        size_t hlen = ws_frame_header_masked(in, 1, WS_OP_BINARY, plen, key);
        for (size_t i = 0; i < plen; i++) in[hlen + i] = plain[i] ^ key[i % 4];

        struct frame_log want;
        log_init(&want);
        expect_frame(&want, WS_OP_BINARY, 1, plain, plen);
        feed_everywhere(in, hlen + plen, AS_SERVER, &want, 0);
        log_free(&want);
        free(in);
        free(plain);
    }
}

/* Several frames back to back, including empty ones, which produce a
 * header and no payload event. */
static void test_frame_sequence(void **state) {
    (void)state;
    static const uint8_t key[4] = { 0x01, 0x02, 0x03, 0x04 };
    uint8_t in[256];
    size_t n = 0;

    n += ws_frame_header_masked(in + n, 0, WS_OP_TEXT, 0, key); /* empty first fragment */
    n += ws_frame_header_masked(in + n, 1, WS_OP_PING, 0, key); /* empty ping between */
    n += ws_frame_header_masked(in + n, 0, WS_OP_CONT, 2, key);
    in[n++] = 'h' ^ key[0];
    in[n++] = 'i' ^ key[1];
    n += ws_frame_header_masked(in + n, 1, WS_OP_CONT, 0, key); /* empty last fragment */
    n += ws_frame_header_masked(in + n, 1, WS_OP_CLOSE, 2, key);
    in[n++] = 0x03 ^ key[0];
    in[n++] = 0xe8 ^ key[1];

    struct frame_log want;
    log_init(&want);
    expect_frame(&want, WS_OP_TEXT, 0, NULL, 0);
    expect_frame(&want, WS_OP_PING, 1, NULL, 0);
    expect_frame(&want, WS_OP_CONT, 0, "hi", 2);
    expect_frame(&want, WS_OP_CONT, 1, NULL, 0);
    expect_frame(&want, WS_OP_CLOSE, 1, "\x03\xe8", 2);
    feed_everywhere(in, n, AS_SERVER, &want, 0);
    log_free(&want);
}

/* Lengths at the edges of each encoding are accepted: 125 in 7 bits, 126
 * and 65535 in 16, 65536 and 2^63 - 1 in 64; a 125-byte control frame. */
static void test_length_edges_accepted(void **state) {
    (void)state;
    static const struct {
        uint8_t in[10];
        size_t n;
        uint64_t length;
    } cases[] = {
        { { 0x82, 0x7d }, 2, 125 },
        { { 0x82, 0x7e, 0x00, 0x7e }, 4, 126 },
        { { 0x82, 0x7e, 0xff, 0xff }, 4, 65535 },
        { { 0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 }, 10, 65536 },
        { { 0x82, 0x7f, 0, 0, 0, 0x01, 0, 0, 0, 0 }, 10, UINT64_C(1) << 32 },
        { { 0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 10, INT64_MAX },
        { { 0x89, 0x7d }, 2, 125 },
        { { 0x88, 0x00 }, 2, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t chunk = 1; chunk <= cases[i].n; chunk++) {
            ws_frame_parser p;
            ws_frame_event ev = { 0 };
            uint8_t buf[10];
            size_t off = 0;
            memcpy(buf, cases[i].in, cases[i].n);
            ws_frame_parser_init(&p, AS_CLIENT);
            while (off < cases[i].n) {
                size_t give = cases[i].n - off < chunk ? cases[i].n - off : chunk;
                long r = ws_frame_feed(&p, buf + off, give, &ev);
                assert_true(r > 0);
                off += (size_t)r;
                if (ev.type != WS_FRAME_EV_NONE) break;
            }
            assert_int_equal(off, cases[i].n);
            assert_int_equal(ev.type, WS_FRAME_EV_HEADER);
            assert_int_equal(ev.length, cases[i].length);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Rejections                                                              */

struct reject_case {
    const char *what;
    int server;
    int hello; /* a valid "Hello" frame comes first */
    uint8_t in[24];
    size_t n;      /* bytes of in, including some after the proving byte */
    size_t bad_at; /* index of the first byte that proves the frame invalid */
    int err;
};

/* A masked "Hello" from a client, to put a valid frame in front of a bad
 * one: the parser must still reject at the right byte of the second. */
#define HELLO_M TV_HELLO_MASKED
/* An unmasked "Hello" from a server. */
#define HELLO_U TV_HELLO_UNMASKED

/* clang-format off */
static const struct reject_case reject_cases[] = {
    /* §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated". */
    { "RSV1", AS_SERVER, 0, { 0xc1, 0x85 }, 2, 0, WS_E_RSV },
    { "RSV2", AS_SERVER, 0, { 0xa1, 0x85 }, 2, 0, WS_E_RSV },
    { "RSV3", AS_SERVER, 0, { 0x91, 0x85 }, 2, 0, WS_E_RSV },
    { "RSV1 client", AS_CLIENT, 0, { 0xc1, 0x05 }, 2, 0, WS_E_RSV },
    { "RSV on control", AS_SERVER, 0, { 0xc9, 0x80 }, 2, 0, WS_E_RSV },
    { "RSV after a frame", AS_SERVER, 1, { HELLO_M, 0xc1, 0x85 }, 13, 11, WS_E_RSV },
    /* §5.5: "Control frames themselves MUST NOT be fragmented." */
    { "fragmented close", AS_SERVER, 0, { 0x08, 0x80 }, 2, 0, WS_E_CONTROL_FRAG },
    { "fragmented ping", AS_SERVER, 0, { 0x09, 0x80 }, 2, 0, WS_E_CONTROL_FRAG },
    { "fragmented pong", AS_CLIENT, 0, { 0x0a, 0x00 }, 2, 0, WS_E_CONTROL_FRAG },
    /* §5.5: control payloads are at most 125 bytes, so 126 and 127 in the
     * 7-bit field are wrong on the second byte. */
    { "ping len 126", AS_SERVER, 0, { 0x89, 0xfe, 0x00, 0x7e }, 4, 1, WS_E_CONTROL_LEN },
    { "close len 127", AS_SERVER, 0, { 0x88, 0xff, 0, 0 }, 4, 1, WS_E_CONTROL_LEN },
    { "pong len 126 client", AS_CLIENT, 0, { 0x8a, 0x7e, 0x00, 0x7e }, 4, 1, WS_E_CONTROL_LEN },
    /* §5.1: a server MUST close on an unmasked frame; a client on a masked
     * one. */
    { "unmasked to server", AS_SERVER, 0, { 0x81, 0x05, 'H' }, 3, 1, WS_E_UNMASKED },
    { "unmasked empty to server", AS_SERVER, 0, { 0x88, 0x00 }, 2, 1, WS_E_UNMASKED },
    { "unmasked after a frame", AS_SERVER, 1, { HELLO_M, 0x82, 0x7e, 0x01 }, 14, 12,
      WS_E_UNMASKED },
    { "masked to client", AS_CLIENT, 0, { 0x81, 0x85, 0x37, 0xfa }, 4, 1, WS_E_UNMASKED },
    { "masked after a frame", AS_CLIENT, 1, { HELLO_U, 0x82, 0x80 }, 9, 8, WS_E_UNMASKED },
    /* §5.2: "the most significant bit MUST be 0" -- visible on the first
     * byte of the 64-bit length. */
    { "64-bit top bit", AS_SERVER, 0, { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 10, 2,
      WS_E_LENGTH },
    { "64-bit all ones", AS_CLIENT, 0, { 0x82, 0x7f, 0xff, 0xff }, 4, 2, WS_E_LENGTH },
    /* §5.2: "the minimal number of bytes MUST be used to encode the
     * length". A 16-bit length is proven too small by its second byte. */
    { "16-bit 0", AS_SERVER, 0, { 0x82, 0xfe, 0x00, 0x00, 1, 2, 3, 4 }, 8, 3, WS_E_LENGTH },
    { "16-bit 125", AS_CLIENT, 0, { 0x82, 0x7e, 0x00, 0x7d, 'x' }, 5, 3, WS_E_LENGTH },
    /* A 64-bit length is at most 0xFFFF, hence non-minimal, once its first
     * six bytes are all zero: the last two cannot change that. */
    { "64-bit 0", AS_SERVER, 0, { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 }, 14, 7,
      WS_E_LENGTH },
    { "64-bit 65535", AS_CLIENT, 0, { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 10, 7,
      WS_E_LENGTH },
    { "64-bit 126", AS_CLIENT, 0, { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x00, 0x7e }, 10, 7,
      WS_E_LENGTH },
};
/* clang-format on */

/* §5.2: opcodes 3-7 and 11-15 are reserved, with or without FIN, seen by a
 * server or a client, alone or after a valid frame. */
static void test_reserved_opcodes(void **state) {
    (void)state;
    for (int op = 0; op < 16; op++) {
        int reserved = (op >= 3 && op <= 7) || op >= 11;
        if (!reserved) continue;
        for (int fin = 0; fin <= 1; fin++) {
            uint8_t b0 = (uint8_t)((fin ? WS_FIN : 0) | op);
            const uint8_t alone[] = { b0, 0x85, 1, 2, 3, 4 };
            const uint8_t after[] = { HELLO_U, b0, 0x05 };
            struct frame_log want;

            log_init(&want);
            want.err = WS_E_OPCODE;
            feed_everywhere(alone, sizeof(alone), AS_SERVER, &want, 0);
            feed_everywhere(alone, sizeof(alone), AS_CLIENT, &want, 0);
            expect_frame(&want, WS_OP_TEXT, 1, "Hello", 5);
            feed_everywhere(after, sizeof(after), AS_CLIENT, &want, 7);
            log_free(&want);
        }
    }
}

/* Each rejection comes on the proving byte, however the input is cut: the
 * prefix before it is "need more", the byte itself fails. */
static void test_rejections(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
        const struct reject_case *c = &reject_cases[i];
        struct frame_log want;
        print_message("  %s\n", c->what);

        log_init(&want);
        want.err = c->err;
        /* A frame before the bad one is reported as usual. */
        if (c->hello) expect_frame(&want, WS_OP_TEXT, 1, "Hello", 5);
        feed_everywhere(c->in, c->n, c->server, &want, c->bad_at);

        /* The input up to and including the proving byte, flush against a
         * guard page: the parser must decide without looking further. */
        feed_everywhere(c->in, c->bad_at + 1, c->server, &want, c->bad_at);

        /* The prefix alone is fine: no error, only "need more". */
        struct frame_log ok;
        log_init(&ok);
        if (c->hello) expect_frame(&ok, WS_OP_TEXT, 1, "Hello", 5);
        feed_everywhere(c->in, c->bad_at, c->server, &ok, 0);
        log_free(&ok);
        log_free(&want);
    }
}

/* ---------------------------------------------------------------------- */
/* Header encoding                                                         */

static void test_header_encoding(void **state) {
    (void)state;
    static const struct {
        uint64_t len;
        size_t hlen;
        uint8_t bytes[10];
    } cases[] = {
        { 0, 2, { 0x82, 0x00 } },
        { 125, 2, { 0x82, 0x7d } },
        { 126, 4, { 0x82, 0x7e, 0x00, 0x7e } },
        { 65535, 4, { 0x82, 0x7e, 0xff, 0xff } },
        { 65536, 10, { 0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 } },
        { UINT64_C(1) << 32, 10, { 0x82, 0x7f, 0, 0, 0, 0x01, 0, 0, 0, 0 } },
    };
    static const uint8_t key[4] = { TV_MASK_KEY };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* Buffers of exactly the documented size, flush against a guard
         * page: the encoder must not write past them. */
        static const uint8_t blank[WS_MAX_HEADER_LEN];
        uint8_t *out = tu_guarded_copy(blank, WS_MAX_SERVER_HEADER_LEN);
        uint8_t *mout = tu_guarded_copy(blank, WS_MAX_HEADER_LEN);

        size_t n = ws_frame_header(out, 1, WS_OP_BINARY, cases[i].len);
        assert_int_equal(n, cases[i].hlen);
        assert_memory_equal(out, cases[i].bytes, n);

        /* FIN clear and another opcode change only the first byte. */
        n = ws_frame_header(out, 0, WS_OP_TEXT, cases[i].len);
        assert_int_equal(n, cases[i].hlen);
        assert_int_equal(out[0], 0x01);
        assert_memory_equal(out + 1, cases[i].bytes + 1, n - 1);

        /* The masked form: MASK bit, then the key after the length. */
        size_t mn = ws_frame_header_masked(mout, 1, WS_OP_BINARY, cases[i].len, key);
        assert_int_equal(mn, cases[i].hlen + 4);
        assert_int_equal(mout[0], 0x82);
        assert_int_equal(mout[1], cases[i].bytes[1] | WS_MASK_BIT);
        assert_memory_equal(mout + 2, cases[i].bytes + 2, cases[i].hlen - 2);
        assert_memory_equal(mout + cases[i].hlen, key, 4);

        /* Both parse back to the same header, consuming exactly n bytes. */
        for (int server = 0; server <= 1; server++) {
            ws_frame_parser p;
            ws_frame_event ev;
            uint8_t *h = server ? mout : out;
            size_t hn = server ? mn : cases[i].hlen;
            ws_frame_header(out, 1, WS_OP_BINARY, cases[i].len);
            ws_frame_parser_init(&p, server);
            assert_int_equal(ws_frame_feed(&p, h, hn, &ev), (long)hn);
            assert_int_equal(ev.type, WS_FRAME_EV_HEADER);
            assert_int_equal(ev.opcode, WS_OP_BINARY);
            assert_int_equal(ev.fin, 1);
            assert_int_equal(ev.length, cases[i].len);
        }
        tu_guarded_free(out, WS_MAX_SERVER_HEADER_LEN);
        tu_guarded_free(mout, WS_MAX_HEADER_LEN);
    }
}

/* Every opcode and FIN survive encoding; the header always parses back. */
static void test_header_roundtrip(void **state) {
    (void)state;
    static const int ops[] = { WS_OP_CONT,  WS_OP_TEXT, WS_OP_BINARY,
                               WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG };
    /* clang-format off */
    static const uint64_t lens[] = { 0, 1, 124, 125, 126, 127, 255, 256, 65535, 65536,
                                     UINT64_C(0xffffffff), UINT64_C(1) << 40, INT64_MAX };
    /* clang-format on */
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
            for (int fin = 0; fin <= 1; fin++) {
                int control = WS_OP_IS_CONTROL(ops[o]);
                if (control && (!fin || lens[l] > WS_MAX_CONTROL_PAYLOAD)) continue;
                uint8_t out[WS_MAX_SERVER_HEADER_LEN];
                ws_frame_parser p;
                ws_frame_event ev;
                size_t n = ws_frame_header(out, fin, ops[o], lens[l]);
                ws_frame_parser_init(&p, AS_CLIENT);
                assert_int_equal(ws_frame_feed(&p, out, n, &ev), (long)n);
                assert_int_equal(ev.type, WS_FRAME_EV_HEADER);
                assert_int_equal(ev.opcode, ops[o]);
                assert_int_equal(ev.fin, fin);
                assert_int_equal(ev.length, lens[l]);
            }
}

/* ---------------------------------------------------------------------- */
/* Masking                                                                 */

/* RFC 6455 §5.3, literally: octet i is XORed with key[(offset + i) mod 4]. */
static void naive_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t offset) {
    for (size_t i = 0; i < len; i++) data[i] ^= key[(offset + i) % 4];
}

/* Every key offset 0..3 (and offsets past 4, which must act mod 4), every
 * length 0..100, every start alignment 0..7 (the word loop does unaligned
 * loads), the data flush against a guard page. */
static void test_mask_vs_naive(void **state) {
    (void)state;
    static const uint8_t key[4] = { TV_MASK_KEY };
    static const size_t offsets[] = { 0, 1, 2, 3, 4, 5, 6, 7, 1001, SIZE_MAX };
    uint8_t src[100 + 8], want[100 + 8];

    tu_fill_random(src, sizeof(src), 5);
    for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
        for (size_t len = 0; len <= 100; len++)
            for (size_t align = 0; align < 8; align++) {
                uint8_t *g = tu_guarded_copy(src, len + align);
                uint8_t *data = g + align;
                memcpy(want, src + align, len);
                naive_mask(want, len, key, offsets[o]);
                ws_frame_mask(data, len, key, offsets[o]);
                if (len > 0) assert_memory_equal(data, want, len);
                /* Self-inverse: masking again restores the input. */
                ws_frame_mask(data, len, key, offsets[o]);
                if (len > 0) assert_memory_equal(data, src + align, len);
                tu_guarded_free(g, len + align);
            }
}

/* Masking in two calls, the second continuing at offset + k, equals one
 * call: that is how the parser unmasks a payload split across reads. */
static void test_mask_continues(void **state) {
    (void)state;
    uint8_t key[4], src[300], one[300], two[300];
    tu_fill_random(key, sizeof(key), 11);
    tu_fill_random(src, sizeof(src), 12);
    for (size_t k = 0; k <= sizeof(src); k++) {
        memcpy(one, src, sizeof(src));
        memcpy(two, src, sizeof(src));
        ws_frame_mask(one, sizeof(one), key, 0);
        ws_frame_mask(two, k, key, 0);
        ws_frame_mask(two + k, sizeof(two) - k, key, k);
        assert_memory_equal(one, two, sizeof(one));
    }
}

/* An all-zero key is legal and leaves the payload as it is. */
static void test_mask_zero_key(void **state) {
    (void)state;
    static const uint8_t zero[4] = { 0, 0, 0, 0 };
    uint8_t src[77], data[77];
    tu_fill_random(src, sizeof(src), 3);
    memcpy(data, src, sizeof(src));
    ws_frame_mask(data, sizeof(data), zero, 2);
    assert_memory_equal(data, src, sizeof(src));
}

/* The return value says whether every unmasked byte is ASCII: for each
 * length 0..100, offset and alignment, an all-ASCII result gives 1, and a
 * single byte >= 0x80 at any position (word loop or tail) gives 0. */
static void test_mask_reports_ascii(void **state) {
    (void)state;
    static const uint8_t key[4] = { TV_MASK_KEY };
    uint8_t plain[100 + 8], data[100 + 8];

    for (size_t len = 0; len <= 100; len++)
        for (size_t off = 0; off < 4; off++)
            for (size_t align = 0; align < 8; align++) {
                /* Plain text, masked as a client would: unmasking gives it back. */
                for (size_t i = 0; i < len; i++) plain[i] = (uint8_t)(' ' + (i * 7 + off) % 95);
                memcpy(data + align, plain, len);
                naive_mask(data + align, len, key, off);
                assert_int_equal(ws_frame_mask(data + align, len, key, off), 1);
                assert_memory_equal(data + align, plain, len);
                for (size_t bad = 0; bad < len; bad++) {
                    memcpy(data + align, plain, len);
                    data[align + bad] = 0xC3; /* a UTF-8 lead byte */
                    naive_mask(data + align, len, key, off);
                    assert_int_equal(ws_frame_mask(data + align, len, key, off), 0);
                }
            }
}

/* Every unmasking variant this build and CPU have (scalar everywhere,
 * SSE2 and AVX2 on x86-64), each forced for every length, against the
 * byte-by-byte reference: every length 0..4096 at every start alignment
 * 0..63, the key and its offset changing from case to case (four keys,
 * offsets 0..3), the plain text random, all ASCII, or ASCII with one
 * byte >= 0x80 at a position that moves; the bytes before and after the
 * payload must stay untouched. The variant chosen at run time comes back
 * at the end. */
#define VMAX   4096
#define VPAD   64  /* guard bytes before the payload */
#define VAFTER 256 /* and after it: a variant's widest step */
static void test_mask_variants(void **state) {
    (void)state;
    static const int variants[] = { WS_MASK_SCALAR, WS_MASK_SSE2, WS_MASK_AVX2 };
    static const uint8_t keys[4][4] = {
        { 0x37, 0xfa, 0x21, 0x3d },
        { 0x00, 0x00, 0x00, 0x00 },
        { 0xff, 0x80, 0x7f, 0x01 },
        { 0x9e, 0x37, 0x79, 0xb9 },
    };
    uint8_t *rnd = malloc(VMAX), *plain = malloc(VMAX), *masked = malloc(VMAX);
    uint8_t *buf = malloc(VPAD + 64 + VMAX + VAFTER);
    int avail[3], navail = 0;

    assert_non_null(rnd);
    assert_non_null(plain);
    assert_non_null(masked);
    assert_non_null(buf);
    tu_fill_random(rnd, VMAX, 77);
    for (int v = 0; v < 3; v++)
        if (ws_frame_mask_use(variants[v]) == 0) avail[navail++] = variants[v];
    /* The scalar code runs anywhere; x86-64 always has SSE2. */
    assert_int_equal(avail[0], WS_MASK_SCALAR);
#if defined(__x86_64__)
    assert_true(navail >= 2);
#endif
    print_message("unmasking variants tested: %d (scalar%s%s)\n", navail,
                  navail > 1 ? ", sse2" : "", navail > 2 ? ", avx2" : "");
    for (size_t len = 0; len <= VMAX; len++) {
        for (size_t align = 0; align < 64; align++) {
            size_t c = len * 64 + align, off = (c / 4) % 4;
            const uint8_t *key = keys[c % 4];
            int kind = (int)((len + align) % 3), want_ascii = 1;

            for (size_t i = 0; i < len; i++)
                plain[i] = kind == 0 ? rnd[(i + c) % VMAX] : (uint8_t)(' ' + (i + c) % 95);
            if (kind == 2 && len > 0) plain[(len * 31 + align) % len] = 0xC3;
            for (size_t i = 0; i < len; i++) want_ascii &= plain[i] < 0x80;
            memcpy(masked, plain, len);
            naive_mask(masked, len, key, off);
            for (int v = 0; v < navail; v++) {
                assert_int_equal(ws_frame_mask_use(avail[v]), 0);
                size_t end = VPAD + align + len;
                memset(buf, 0xA5, end + VAFTER);
                memcpy(buf + VPAD + align, masked, len);
                assert_int_equal(ws_frame_mask(buf + VPAD + align, len, key, off), want_ascii);
                if (len) assert_memory_equal(buf + VPAD + align, plain, len);
                for (size_t i = 0; i < VPAD + align; i++) assert_int_equal(buf[i], 0xA5);
                for (size_t i = end; i < end + VAFTER; i++)
                    if (buf[i] != 0xA5)
                        fail_msg("variant %d, length %zu: byte %zu written", avail[v], len, i);
            }
        }
    }
    assert_int_equal(ws_frame_mask_use(WS_MASK_AUTO), 0);
    assert_int_equal(ws_frame_mask_variant(), avail[navail - 1]);
    free(rnd);
    free(plain);
    free(masked);
    free(buf);
}

/* The chosen variant of a long payload, and the short path, agree with
 * the reference when chosen at run time (no variant forced). */
static void test_mask_auto(void **state) {
    (void)state;
    static const uint8_t key[4] = { 0x11, 0x92, 0x3c, 0xe4 };
    uint8_t src[1000], want[1000], got[1000];

    assert_int_equal(ws_frame_mask_use(WS_MASK_AUTO), 0);
    tu_fill_random(src, sizeof(src), 9);
    for (size_t len = 0; len <= sizeof(src); len += 7)
        for (size_t off = 0; off < 4; off++) {
            memcpy(want, src, len);
            memcpy(got, src, len);
            naive_mask(want, len, key, off);
            ws_frame_mask(got, len, key, off);
            if (len) assert_memory_equal(got, want, len);
        }
}

/* ---------------------------------------------------------------------- */
/* Random frames                                                           */

/* Random valid frames, masked with random keys, in a stream fed in random
 * cuts: the parser must report each header and the unmasked payload. */
static void test_random_frames(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint8_t rnd[64];
        uint8_t in[6 * (WS_MAX_HEADER_LEN + 300)];
        uint8_t plain[6 * 300];
        size_t n = 0, pn = 0;
        struct frame_log want;
        int server = (int)(seed & 1);

        tu_fill_random(rnd, sizeof(rnd), seed);
        log_init(&want);
        size_t nframes = 1 + rnd[0] % 6;
        for (size_t f = 0; f < nframes; f++) {
            static const int ops[] = { WS_OP_CONT,  WS_OP_TEXT, WS_OP_BINARY,
                                       WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG };
            int op = ops[rnd[1 + f] % 6];
            int control = WS_OP_IS_CONTROL(op);
            int fin = control ? 1 : rnd[8 + f] & 1;
            size_t plen = ((size_t)rnd[16 + f] << 8 | rnd[24 + f]) % (control ? 126 : 301);
            const uint8_t *key = rnd + 32 + 4 * f;

            tu_fill_random(plain + pn, plen, seed * 100 + f);
            n += server ? ws_frame_header_masked(in + n, fin, op, plen, key)
                        : ws_frame_header(in + n, fin, op, plen);
            for (size_t i = 0; i < plen; i++)
                in[n + i] = server ? plain[pn + i] ^ key[i % 4] : plain[pn + i];
            n += plen;
            expect_frame(&want, op, fin, plain + pn, plen);
            pn += plen;
        }
        /* All splits and chunkings of ~2 KiB are too slow for 200 seeds
         * under the sanitizers: one piece, byte by byte and a few cuts. */
        struct everywhere_ctx ctx = { .feed = { .server = server }, .want = &want };
        tu_chunks(in, n, n, run_and_check, &ctx);
        tu_chunks(in, n, 1, run_and_check, &ctx);
        tu_chunks(in, n, 1 + rnd[60] % 40, run_and_check, &ctx);
        for (size_t c = 0; c < 8; c++)
            tu_split_at(in, n, (rnd[50 + c] * n) / 255, run_and_check, &ctx);
        log_free(&want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_unmasked_hello),
        cmocka_unit_test(test_rfc_masked_hello),
        cmocka_unit_test(test_rfc_fragmented),
        cmocka_unit_test(test_rfc_ping_pong),
        cmocka_unit_test(test_rfc_binary_256),
        cmocka_unit_test(test_rfc_binary_64k),
        cmocka_unit_test(test_masked_long_frames),
        cmocka_unit_test(test_frame_sequence),
        cmocka_unit_test(test_length_edges_accepted),
        cmocka_unit_test(test_reserved_opcodes),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_header_encoding),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_mask_vs_naive),
        cmocka_unit_test(test_mask_continues),
        cmocka_unit_test(test_mask_zero_key),
        cmocka_unit_test(test_mask_reports_ascii),
        cmocka_unit_test(test_mask_variants),
        cmocka_unit_test(test_mask_auto),
        cmocka_unit_test(test_random_frames),
    };
    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}

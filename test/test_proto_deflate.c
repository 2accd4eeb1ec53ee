/*
 * test_proto_deflate.c -- the protocol engine with permessage-deflate
 * (RFC 7692 §6, §7.2): compressed messages inflated as their frames
 * arrive, through any output buffer size, at every split of the input;
 * the RFC's own examples; the limits and UTF-8 judged on the inflated
 * bytes (a "bomb" fails at the limit, not after); RSV1 where it is not
 * allowed; corrupt and cut-short compressed data.
 *
 * zlib plays the client's compressor (raw deflate, a sync flush, the
 * final 00 00 ff ff removed as §7.2.1 says).
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

#include "error.h"
#include "frame.h"
#include "inflate.h"
#include "proto.h"
#include "rfc6455.h"
#include "testutil.h"

static const ws_proto_limits limits = { 1u << 20, 100000 };

/* A client stream under construction. */
typedef struct stream {
    uint8_t *p;
    size_t len, cap;
    uint64_t seed;
} stream;

static void put(stream *s, const void *data, size_t len) {
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2 + 64;
        s->p = realloc(s->p, s->cap);
        assert_non_null(s->p);
    }
    if (len) memcpy(s->p + s->len, data, len);
    s->len += len;
}

/* One masked frame with the whole first byte given (FIN, RSV1, opcode). */
static void put_frame(stream *s, unsigned b0, const void *payload, size_t len) {
    uint8_t head[WS_MAX_HEADER_LEN], key[4];
    tu_fill_random(key, 4, ++s->seed);
    size_t hl = ws_frame_header_masked(head, (b0 & WS_FIN) != 0, (int)(b0 & 0x0f), len, key);
    head[0] = (uint8_t)b0;
    put(s, head, hl);
    size_t at = s->len;
    put(s, payload, len);
    ws_frame_mask(s->p + at, len, key, 0);
}

/* zlib compresses a message as a permessage-deflate client would. */
static size_t client_deflate(z_stream *zs, const void *msg, size_t len, uint8_t *out, size_t cap) {
    zs->next_in = (Bytef *)(uintptr_t)msg;
    zs->avail_in = (uInt)len;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    assert_int_equal(deflate(zs, Z_SYNC_FLUSH), Z_OK);
    assert_int_equal(zs->avail_in, 0);
    size_t n = cap - zs->avail_out;
    assert_true(n >= 4);
    assert_memory_equal(out + n - 4, "\x00\x00\xff\xff", 4);
    return n - 4;
}

/* What the engine reported, reduced. */
typedef struct result {
    uint8_t *msgs[16];
    size_t lens[16];
    int ops[16];
    int n;
    int error; /* the ws_error of an ERROR event, or 0 */
    uint16_t code;
    int pongs;
} result;

static void result_free(result *r) {
    for (int i = 0; i < r->n; i++) free(r->msgs[i]);
    memset(r, 0, sizeof(*r));
}

struct run {
    size_t zcap;        /* the output buffer's size */
    int reset;          /* client_no_context_takeover */
    const result *want; /* if set, each call's result must equal it (and is freed) */
    result r;
};

static void feed_pieces(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct run *run = vctx;
    result *r = &run->r;
    ws_proto p;
    size_t zsize = ws_inflate_size(15);
    void *zmem = malloc(zsize);
    uint8_t *zout = malloc(run->zcap);
    uint8_t *cur = NULL;
    size_t cur_len = 0;
    assert_non_null(zmem);
    assert_non_null(zout);
    ws_proto_zbuf zb = { ws_inflate_init(zmem, zsize, 15), zout, run->zcap };

    memset(r, 0, sizeof(*r));
    ws_proto_init(&p);
    ws_proto_enable_deflate(&p, run->reset);
    for (size_t i = 0; i < n; i++) {
        uint8_t *buf = (uint8_t *)(uintptr_t)pieces[i];
        size_t off = 0;
        while (off < lens[i] || ws_proto_pending(&p)) {
            ws_proto_event ev;
            size_t used = ws_proto_feed_z(&p, &limits, &zb, buf + off, lens[i] - off, &ev);
            assert_true(used <= lens[i] - off);
            off += used;
            if (ev.type == WS_PROTO_EV_NONE) {
                assert_true(off == lens[i] || p.state != WS_PROTO_OPEN);
                continue;
            }
            if (ev.type == WS_PROTO_EV_DATA) {
                assert_true(ev.len <= run->zcap || !(p.z & WS_Z_MSG));
                cur = realloc(cur, cur_len + ev.len + 1);
                assert_non_null(cur);
                if (ev.len) memcpy(cur + cur_len, ev.data, ev.len);
                cur_len += ev.len;
                if (ev.last) {
                    assert_true(r->n < 16);
                    r->msgs[r->n] = cur;
                    r->lens[r->n] = cur_len;
                    r->ops[r->n] = ev.opcode;
                    r->n++;
                    cur = NULL;
                    cur_len = 0;
                }
            } else if (ev.type == WS_PROTO_EV_PONG) {
                r->pongs++;
            } else if (ev.type == WS_PROTO_EV_ERROR) {
                r->error = ev.error;
                r->code = ev.close_code;
            }
        }
    }
    free(cur);
    free(zmem);
    free(zout);
    if (run->want) {
        assert_int_equal(r->n, run->want->n);
        assert_int_equal(r->error, run->want->error);
        for (int i = 0; i < r->n; i++) {
            assert_int_equal(r->lens[i], run->want->lens[i]);
            assert_memory_equal(r->msgs[i], run->want->msgs[i], r->lens[i]);
        }
        result_free(r);
    }
}

/* Run the stream in one piece, byte by byte, at every split (for short
 * streams), in chunks of 7, with output buffers of 1, 7 and 64 KiB: every
 * run must report the same. Returns the one-piece result (caller frees). */
static result run_all(const stream *s, int reset) {
    static const size_t zcaps[] = { 65536, 1, 7 };
    struct run first = { .zcap = 65536, .reset = reset }, other = { 0 };
    tu_chunks(s->p, s->len, s->len ? s->len : 1, feed_pieces, &first);
    for (size_t z = 0; z < sizeof(zcaps) / sizeof(zcaps[0]); z++) {
        size_t chunk_sizes[] = { 1, 7, s->len ? s->len : 1 };
        for (size_t c = 0; c < 3; c++) {
            if (chunk_sizes[c] == 1 && s->len > 20000) continue;
            other.zcap = zcaps[z];
            other.reset = reset;
            tu_chunks(s->p, s->len, chunk_sizes[c], feed_pieces, &other);
            assert_int_equal(other.r.n, first.r.n);
            assert_int_equal(other.r.error, first.r.error);
            for (int i = 0; i < first.r.n; i++) {
                assert_int_equal(other.r.lens[i], first.r.lens[i]);
                assert_memory_equal(other.r.msgs[i], first.r.msgs[i], first.r.lens[i]);
            }
            result_free(&other.r);
        }
    }
    if (s->len < 600) {
        /* Every split, each checked against the one-piece result. */
        other.zcap = 16;
        other.reset = reset;
        other.want = &first.r;
        tu_for_each_split(s->p, s->len, feed_pieces, &other);
    }
    return first.r;
}

/* ---------------------------------------------------------------------- */

/* RFC 7692 §7.2.3: the examples, as a client would send them. */
static void test_rfc7692_examples(void **state) {
    (void)state;
    static const struct {
        unsigned b0;
        const char *payload;
        size_t len;
    } one_frame[] = {
        /* §7.2.3.1 "Hello", one DEFLATE block */
        { 0xc1, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7 },
        /* §7.2.3.3 a stored block */
        { 0xc1, "\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11 },
        /* §7.2.3.4 BFINAL set */
        { 0xc1, "\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8 },
        /* §7.2.3.5 two blocks */
        { 0xc1, "\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00", 13 },
    };
    for (size_t i = 0; i < sizeof(one_frame) / sizeof(one_frame[0]); i++) {
        stream s = { 0 };
        put_frame(&s, one_frame[i].b0, one_frame[i].payload, one_frame[i].len);
        result r = run_all(&s, 1);
        if (r.n != 1 || r.error) fail_msg("example %zu: %d messages, error %d", i, r.n, r.error);
        assert_int_equal(r.lens[0], 5);
        assert_memory_equal(r.msgs[0], "Hello", 5);
        assert_int_equal(r.ops[0], WS_OP_TEXT);
        result_free(&r);
        free(s.p);
    }
    /* §7.2.3.1 fragmented: "Hel" in one frame, "lo" in a continuation. */
    stream s = { 0 };
    put_frame(&s, 0x41, "\xf2\x48\xcd", 3);
    put_frame(&s, 0x80, "\xc9\xc9\x07\x00", 4);
    result r = run_all(&s, 1);
    assert_int_equal(r.n, 1);
    assert_memory_equal(r.msgs[0], "Hello", 5);
    result_free(&r);
    free(s.p);
    /* §7.2.3.2 context takeover: the second "Hello" refers to the first. */
    memset(&s, 0, sizeof(s));
    put_frame(&s, 0xc1, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
    put_frame(&s, 0xc1, "\xf2\x00\x11\x00\x00", 5);
    r = run_all(&s, 0);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.msgs[1], "Hello", 5);
    result_free(&r);
    /* ... which no-context-takeover refuses: distance beyond the output. */
    r = run_all(&s, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.error, WS_E_INFLATE_DISTANCE);
    assert_int_equal(r.code, WS_CLOSE_INVALID_PAYLOAD);
    result_free(&r);
    free(s.p);
}

/* Messages of every kind of content and size, compressed by zlib,
 * interleaved with uncompressed ones and with pings, with and without
 * context takeover; some fragmented in odd places. */
static void test_round_trips(void **state) {
    (void)state;
    static const size_t sizes[] = { 0, 1, 5, 200, 5000, 70000, 300000 };
    for (int takeover = 0; takeover <= 1; takeover++) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        stream s = { 0 };
        uint8_t *want[16];
        size_t want_len[16];
        int nwant = 0;
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t n = sizes[i];
            uint8_t *msg = malloc(n + 1), *z = malloc(n + 1024);
            assert_non_null(msg);
            assert_non_null(z);
            tu_fill_random(msg, n, i);
            for (size_t k = 0; k < n; k++) msg[k] = (uint8_t)('a' + msg[k] % (i % 2 ? 26 : 3));
            if (!takeover) deflateReset(&zs);
            size_t zl = client_deflate(&zs, msg, n, z, n + 1024);
            /* Fragment the compressed bytes in three, a ping in between. */
            size_t a = zl / 3, b = 2 * zl / 3;
            put_frame(&s, WS_RSV1 | WS_OP_TEXT, z, a);
            put_frame(&s, WS_FIN | WS_OP_PING, "p", 1);
            put_frame(&s, WS_OP_CONT, z + a, b - a);
            put_frame(&s, WS_FIN | WS_OP_CONT, z + b, zl - b);
            want[nwant] = msg;
            want_len[nwant++] = n;
            /* An uncompressed message between compressed ones. */
            put_frame(&s, WS_FIN | WS_OP_BINARY, "plain", 5);
            want[nwant] = (uint8_t *)"plain";
            want_len[nwant++] = 5;
            free(z);
        }
        deflateEnd(&zs);
        struct run run = { .zcap = 65536, .reset = !takeover };
        tu_chunks(s.p, s.len, 4093, feed_pieces, &run);
        assert_int_equal(run.r.error, 0);
        assert_int_equal(run.r.n, nwant);
        for (int i = 0; i < run.r.n; i++) {
            assert_int_equal(run.r.lens[i], want_len[i]);
            assert_memory_equal(run.r.msgs[i], want[i], want_len[i]);
        }
        result_free(&run.r);
        for (int i = 0; i < nwant; i += 2) free(want[i]);
        free(s.p);
    }
}

/* A small compressed message that inflates past --max-message fails with
 * 1009 once the limit is passed, long before it is all inflated. */
static void test_bomb_fails_at_the_limit(void **state) {
    (void)state;
    const size_t n = 64u << 20; /* 64 MiB of zeros: about 64 KiB compressed */
    uint8_t *msg = calloc(1, n), *z = malloc(n / 100);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t zl = client_deflate(&zs, msg, n, z, n / 100);
    deflateEnd(&zs);
    stream s = { 0 };
    put_frame(&s, WS_FIN | WS_RSV1 | WS_OP_BINARY, z, zl);
    struct run run = { .zcap = 65536, .reset = 1 };
    tu_chunks(s.p, s.len, s.len, feed_pieces, &run);
    assert_int_equal(run.r.error, WS_E_TOO_BIG);
    assert_int_equal(run.r.code, WS_CLOSE_MESSAGE_TOO_BIG);
    print_message("  %zu compressed bytes for 64 MiB: refused at the 1 MiB limit\n", zl);
    free(msg);
    free(z);
    free(s.p);
}

/* A message of exactly --max-message random bytes grows a little when
 * compressed: its frame declares more than the limit, and is accepted. */
static void test_incompressible_message_at_the_limit(void **state) {
    (void)state;
    const size_t n = limits.max_message;
    uint8_t *msg = malloc(n), *z = malloc(n + n / 64);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    tu_fill_random(msg, n, 42);
    assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t zl = client_deflate(&zs, msg, n, z, n + n / 64);
    deflateEnd(&zs);
    assert_true(zl > n);
    stream s = { 0 };
    put_frame(&s, WS_FIN | WS_RSV1 | WS_OP_BINARY, z, zl);
    struct run run = { .zcap = 65536, .reset = 1 };
    tu_chunks(s.p, s.len, 65536, feed_pieces, &run);
    assert_int_equal(run.r.error, 0);
    assert_int_equal(run.r.n, 1);
    assert_int_equal(run.r.lens[0], n);
    assert_memory_equal(run.r.msgs[0], msg, n);
    result_free(&run.r);
    free(msg);
    free(z);
    free(s.p);
}

/* Text is checked on the inflated bytes, and fails at the first bad one. */
static void test_utf8_on_inflated_text(void **state) {
    (void)state;
    uint8_t z[256];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    static const char text[] = "ok \xce\xbb then \xc0\xaf bad";
    size_t zl = client_deflate(&zs, text, sizeof(text) - 1, z, sizeof(z));
    deflateEnd(&zs);
    stream s = { 0 };
    put_frame(&s, WS_FIN | WS_RSV1 | WS_OP_TEXT, z, zl);
    result r = run_all(&s, 1);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.error, WS_E_UTF8);
    assert_int_equal(r.code, WS_CLOSE_INVALID_PAYLOAD);
    result_free(&r);
    free(s.p);
}

/* RSV1 only on the first frame of a data message (RFC 7692 §6.1), and
 * only once negotiated (RFC 6455 §5.2): 1002 otherwise. */
static void test_rsv1_where_not_allowed(void **state) {
    (void)state;
    struct {
        unsigned b0;
        const char *name;
    } bad[] = {
        { WS_FIN | WS_RSV1 | WS_OP_PING, "ping" },
        { WS_FIN | WS_RSV1 | WS_OP_CLOSE, "close" },
        { WS_FIN | WS_RSV2 | WS_OP_TEXT, "RSV2" },
        { WS_FIN | WS_RSV3 | WS_OP_BINARY, "RSV3" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        stream s = { 0 };
        put_frame(&s, bad[i].b0, "", 0);
        result r = run_all(&s, 1);
        if (r.error != WS_E_RSV) fail_msg("%s: error %d", bad[i].name, r.error);
        assert_int_equal(r.code, WS_CLOSE_PROTOCOL_ERROR);
        result_free(&r);
        free(s.p);
    }
    /* On a continuation. */
    stream s = { 0 };
    put_frame(&s, WS_RSV1 | WS_OP_TEXT, "\xf2\x48", 2);
    put_frame(&s, WS_FIN | WS_RSV1 | WS_OP_CONT, "\xcd\xc9\xc9\x07\x00", 5);
    result r = run_all(&s, 1);
    assert_int_equal(r.error, WS_E_RSV);
    result_free(&r);
    free(s.p);
    /* Without the extension. */
    ws_proto p;
    ws_proto_event ev;
    uint8_t frame[] = { 0xc1, 0x80, 0, 0, 0, 0 };
    ws_proto_init(&p);
    ws_proto_feed(&p, &limits, frame, sizeof(frame), &ev);
    assert_int_equal(ev.type, WS_PROTO_EV_ERROR);
    assert_int_equal(ev.error, WS_E_RSV);
}

/* Corrupt and cut-short data: 1007. */
static void test_corrupt_and_cut_short(void **state) {
    (void)state;
    static const struct {
        const char *payload;
        size_t len;
        int error;
    } cases[] = {
        { "\xff\xff\xff", 3, WS_E_INFLATE_BTYPE },          /* block type 11 */
        { "\x00\x05\x00\x00\x00", 5, WS_E_INFLATE_STORED }, /* LEN != ~NLEN */
        /* "Hello" without its end-of-block: the tail is a new block
         * header inside a Huffman block, so the message does not end
         * between blocks. */
        { "\xf2\x48\xcd\xc9\xc9\x07", 6, WS_E_INFLATE_END },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        stream s = { 0 };
        put_frame(&s, WS_FIN | WS_RSV1 | WS_OP_BINARY, cases[i].payload, cases[i].len);
        result r = run_all(&s, 1);
        if (r.error != cases[i].error) fail_msg("case %zu: error %d", i, r.error);
        assert_int_equal(r.code, WS_CLOSE_INVALID_PAYLOAD);
        result_free(&r);
        free(s.p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7692_examples),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_bomb_fails_at_the_limit),
        cmocka_unit_test(test_incompressible_message_at_the_limit),
        cmocka_unit_test(test_utf8_on_inflated_text),
        cmocka_unit_test(test_rsv1_where_not_allowed),
        cmocka_unit_test(test_corrupt_and_cut_short),
    };
    return cmocka_run_group_tests_name("proto with permessage-deflate", tests, NULL, NULL);
}

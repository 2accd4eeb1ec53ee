/*
 * test_proto.c -- the protocol engine: message chunks, control frames,
 * every way it fails a connection, and with which close code.
 *
 * Streams are built the way a client sends them (every frame masked, with
 * a key that changes from frame to frame) and fed through feed_stream(),
 * which drives ws_proto_feed() over a list of pieces and reduces what it
 * reports to a proto_log: the complete messages reassembled from their
 * chunks, the pings (reassembled too), pongs, the close or the error.
 * On the way it checks every per-call promise of proto.h: bytes consumed
 * never exceed bytes given, a call given bytes makes progress, a chunk
 * points into the bytes that call consumed, first/last bracket each
 * message, size_hint never shrinks and never undercounts.
 *
 * Most tests then run the same stream in one piece, at every split point,
 * byte by byte and in chunks (feed_everywhere()) and demand the same log.
 * Error cases name the stream offset of the byte at which the engine is
 * meant to give up; the error must arrive in the piece holding that byte,
 * so the byte-by-byte run pins it exactly.
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
#include "proto.h"
#include "rfc6455.h"
#include "testutil.h"
#include "vectors.h"

#define MIB (UINT64_C(1) << 20)

static const ws_proto_limits default_limits = { 16 * MIB, 100000 };

/* ---------------------------------------------------------------------- */
/* Building client streams                                                 */

struct stream {
    tu_bytes b;
    uint64_t keyseed; /* the next frame's masking key comes from this */
};

/* Append one masked frame; returns the stream offset of its payload. */
static size_t put_frame(struct stream *s, int fin, int opcode, const void *payload, size_t len) {
    uint8_t head[WS_MAX_HEADER_LEN], key[4];
    tu_fill_random(key, 4, ++s->keyseed);
    if (s->keyseed % 7 == 0) memset(key, 0, 4); /* a zero key is legal too */
    size_t hlen = ws_frame_header_masked(head, fin, opcode, len, key);
    tu_bytes_put(&s->b, head, hlen);
    size_t at = s->b.len;
    tu_bytes_put(&s->b, payload, len);
    ws_frame_mask(s->b.p + at, len, key, 0);
    return at;
}

/* Append bytes as they are (already a frame, or garbage). */
static void put_raw(struct stream *s, const void *data, size_t len) {
    tu_bytes_put(&s->b, data, len);
}

/* A close frame with a status code and a reason. */
static size_t put_close(struct stream *s, unsigned code, const void *reason, size_t rlen) {
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    assert_true(rlen <= WS_MAX_CLOSE_REASON);
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rlen > 0) memcpy(payload + 2, reason, rlen);
    return put_frame(s, 1, WS_OP_CLOSE, payload, 2 + rlen);
}

/* ---------------------------------------------------------------------- */
/* What the engine reported                                                */

enum { IT_MESSAGE = 1, IT_PING, IT_PONG, IT_CLOSE, IT_ERROR };

struct item {
    int type;       /* IT_* */
    uint8_t opcode; /* MESSAGE: text or binary */
    uint16_t code;  /* CLOSE: received code; ERROR: code to send */
    int error;      /* ERROR: the ws_error */
    tu_bytes data;  /* MESSAGE, PING: the reassembled payload */
};

/* One DATA chunk: enough to check size_hint against the fragments later. */
struct chunk_note {
    size_t message; /* index among the completed-or-open messages */
    uint64_t end;   /* message bytes up to the end of this chunk */
    size_t len;
    uint64_t hint;
};

struct proto_log {
    struct item *items;
    size_t n, cap;
    /* A message or ping whose last chunk has not come yet. */
    int in_msg, in_ping;
    uint8_t msg_op;
    uint64_t last_hint;
    tu_bytes msg, ping;
    size_t messages; /* messages begun so far */
    struct chunk_note *notes;
    size_t nnotes, notes_cap;
    int done;      /* CLOSE or ERROR came */
    size_t end_lo; /* ...while feeding stream bytes [end_lo, end_hi) */
    size_t end_hi;
};

static struct item *log_push(struct proto_log *log, int type) {
    if (log->n == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 16;
        log->items = realloc(log->items, log->cap * sizeof(*log->items));
        assert_non_null(log->items);
    }
    struct item *it = &log->items[log->n++];
    memset(it, 0, sizeof(*it));
    it->type = type;
    return it;
}

static void log_free(struct proto_log *log) {
    for (size_t i = 0; i < log->n; i++) tu_bytes_free(&log->items[i].data);
    free(log->items);
    free(log->notes);
    tu_bytes_free(&log->msg);
    tu_bytes_free(&log->ping);
    memset(log, 0, sizeof(*log));
}

static void note_chunk(struct proto_log *log, const ws_proto_event *ev) {
    if (log->nnotes == log->notes_cap) {
        log->notes_cap = log->notes_cap ? 2 * log->notes_cap : 64;
        log->notes = realloc(log->notes, log->notes_cap * sizeof(*log->notes));
        assert_non_null(log->notes);
    }
    struct chunk_note *nt = &log->notes[log->nnotes++];
    nt->message = log->messages - 1;
    nt->end = log->msg.len;
    nt->len = ev->len;
    nt->hint = ev->size_hint;
}

/* Record one event; [lo, hi) are the bytes that call consumed. */
static void log_event(struct proto_log *log, const ws_proto_limits *lim, const ws_proto_event *ev,
                      const uint8_t *lo, const uint8_t *hi) {
    struct item *it;

    /* Nothing is reported after a close or an error. */
    assert_false(log->done);
    if (ev->type == WS_PROTO_EV_DATA || ev->type == WS_PROTO_EV_PING) {
        /* A chunk is made of the bytes this call consumed. */
        if (ev->len > 0) {
            assert_non_null(ev->data);
            assert_true(ev->data >= lo && ev->data + ev->len <= hi);
        }
    }
    switch (ev->type) {
    case WS_PROTO_EV_DATA:
        assert_false(log->in_ping);
        assert_true(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
        assert_int_equal(ev->first, !log->in_msg);
        if (ev->first) {
            log->in_msg = 1;
            log->msg_op = ev->opcode;
            log->last_hint = 0;
            log->msg.len = 0;
            log->messages++;
        }
        assert_int_equal(ev->opcode, log->msg_op);
        /* An empty chunk only ever ends a message. */
        if (ev->len == 0) assert_true(ev->last);
        tu_bytes_put(&log->msg, ev->data, ev->len);
        /* size_hint: at least what has arrived, never shrinking, within
         * the limit (it is what the server may reserve). */
        assert_true(ev->size_hint >= log->msg.len);
        assert_true(ev->size_hint >= log->last_hint);
        assert_true(ev->size_hint <= lim->max_message);
        if (ev->last) assert_int_equal(ev->size_hint, log->msg.len);
        log->last_hint = ev->size_hint;
        note_chunk(log, ev);
        if (ev->last) {
            it = log_push(log, IT_MESSAGE);
            it->opcode = log->msg_op;
            tu_bytes_put(&it->data, log->msg.p, log->msg.len);
            log->in_msg = 0;
        }
        break;
    case WS_PROTO_EV_PING:
        assert_int_equal(ev->first, !log->in_ping);
        if (ev->first) log->ping.len = 0;
        log->in_ping = 1;
        tu_bytes_put(&log->ping, ev->data, ev->len);
        assert_true(log->ping.len <= WS_MAX_CONTROL_PAYLOAD);
        if (ev->last) {
            it = log_push(log, IT_PING);
            tu_bytes_put(&it->data, log->ping.p, log->ping.len);
            log->in_ping = 0;
        }
        break;
    case WS_PROTO_EV_PONG:
        assert_false(log->in_ping);
        log_push(log, IT_PONG);
        break;
    case WS_PROTO_EV_CLOSE:
        assert_false(log->in_ping);
        assert_true(ev->close_code == 0 || ws_close_code_valid(ev->close_code));
        it = log_push(log, IT_CLOSE);
        it->code = ev->close_code;
        log->done = 1;
        break;
    case WS_PROTO_EV_ERROR:
        assert_true(ev->error < 0);
        assert_int_equal(ev->close_code, ws_error_close_code(ev->error));
        assert_true(ev->close_code == WS_CLOSE_PROTOCOL_ERROR ||
                    ev->close_code == WS_CLOSE_INVALID_PAYLOAD ||
                    ev->close_code == WS_CLOSE_MESSAGE_TOO_BIG);
        it = log_push(log, IT_ERROR);
        it->error = ev->error;
        it->code = ev->close_code;
        log->done = 1;
        break;
    default: fail_msg("unknown event type %d", ev->type);
    }
}

struct feed_ctx {
    const ws_proto_limits *lim;
    struct proto_log log;
};

/* Feed the pieces in order to a fresh engine (pieces are writable: the
 * engine unmasks in place). Keeps feeding after a close or an error, which
 * must swallow the rest without a word. */
static void feed_stream(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct feed_ctx *ctx = vctx;
    struct proto_log *log = &ctx->log;
    ws_proto p;
    size_t stream_off = 0;

    memset(log, 0, sizeof(*log));
    ws_proto_init(&p);
    for (size_t i = 0; i < n; i++) {
        uint8_t *buf = (uint8_t *)(uintptr_t)pieces[i];
        size_t off = 0;
        while (off < lens[i]) {
            ws_proto_event ev;
            int was_done = log->done;
            memset(&ev, 0x5a, sizeof(ev)); /* no stale field may pass for a value */
            size_t used = ws_proto_feed(&p, ctx->lim, buf + off, lens[i] - off, &ev);
            assert_true(used <= lens[i] - off);
            assert_true(used > 0 || ev.type != WS_PROTO_EV_NONE);
            if (was_done) {
                assert_int_equal(ev.type, WS_PROTO_EV_NONE);
                assert_int_equal(used, lens[i] - off);
            } else if (ev.type == WS_PROTO_EV_NONE) {
                assert_int_equal(used, lens[i] - off);
            } else {
                log_event(log, ctx->lim, &ev, buf + off, buf + off + used);
                if (log->done) {
                    log->end_lo = stream_off;
                    log->end_hi = stream_off + lens[i];
                }
            }
            off += used;
        }
        stream_off += lens[i];
    }
    /* An empty feed reports nothing and consumes nothing. */
    ws_proto_event ev;
    uint8_t dummy = 0;
    assert_int_equal(ws_proto_feed(&p, ctx->lim, &dummy, 0, &ev), 0);
    assert_int_equal(ev.type, WS_PROTO_EV_NONE);
}

static void assert_items_equal(const struct proto_log *got, const struct proto_log *want) {
    assert_int_equal(got->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        const struct item *g = &got->items[i], *w = &want->items[i];
        assert_int_equal(g->type, w->type);
        assert_int_equal(g->opcode, w->opcode);
        assert_int_equal(g->code, w->code);
        assert_int_equal(g->error, w->error);
        assert_int_equal(g->data.len, w->data.len);
        if (w->data.len > 0) assert_memory_equal(g->data.p, w->data.p, w->data.len);
    }
}

/* Assert a run's log equals want. Bytes of a message still open at the end
 * are compared too, unless the run ended in an error: how much of a bad
 * message was handed out before the bad byte depends on the cuts. */
static void assert_log_equal(const struct proto_log *got, const struct proto_log *want) {
    assert_items_equal(got, want);
    int failed = want->n > 0 && want->items[want->n - 1].type == IT_ERROR;
    if (!failed) {
        assert_int_equal(got->in_msg, want->in_msg);
        assert_int_equal(got->in_ping, want->in_ping);
        if (want->in_msg) {
            assert_int_equal(got->msg.len, want->msg.len);
            if (want->msg.len > 0) assert_memory_equal(got->msg.p, want->msg.p, want->msg.len);
        }
    }
}

/* Expected-log builders. */
static void want_message(struct proto_log *w, int op, const void *data, size_t len) {
    struct item *it = log_push(w, IT_MESSAGE);
    it->opcode = (uint8_t)op;
    tu_bytes_put(&it->data, data, len);
}
static void want_ping(struct proto_log *w, const void *data, size_t len) {
    tu_bytes_put(&log_push(w, IT_PING)->data, data, len);
}
static void want_pong(struct proto_log *w) { log_push(w, IT_PONG); }
static void want_close(struct proto_log *w, unsigned code) {
    log_push(w, IT_CLOSE)->code = (uint16_t)code;
}
static void want_error(struct proto_log *w, int err, unsigned code) {
    struct item *it = log_push(w, IT_ERROR);
    it->error = err;
    it->code = (uint16_t)code;
}

/* ---------------------------------------------------------------------- */
/* Feeding every way                                                       */

struct everywhere_ctx {
    struct feed_ctx feed;
    const struct proto_log *want;
    size_t end_at; /* stream offset of the byte that must end it (close/error) */
    unsigned runs;
};

static void run_and_check(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct everywhere_ctx *ctx = vctx;
    feed_stream(&ctx->feed, pieces, lens, n);
    assert_log_equal(&ctx->feed.log, ctx->want);
    if (ctx->end_at != SIZE_MAX) {
        assert_true(ctx->feed.log.done);
        assert_true(ctx->feed.log.end_lo <= ctx->end_at);
        assert_true(ctx->end_at < ctx->feed.log.end_hi);
    }
    log_free(&ctx->feed.log);
    ctx->runs++;
}

/* Feed the stream in one guarded piece, at every split point (when short),
 * byte by byte and in chunks of 2, 3, 7 and 64; each run must give want.
 * end_at: offset of the byte on which the engine must report the close or
 * error that ends the log, or SIZE_MAX when none does. */
static void feed_everywhere(const tu_bytes *s, const ws_proto_limits *lim,
                            const struct proto_log *want, size_t end_at) {
    static const size_t chunk_sizes[] = { 1, 2, 3, 7, 64 };
    struct everywhere_ctx ctx = { .feed = { .lim = lim }, .want = want, .end_at = end_at };

    tu_chunks(s->p, s->len, s->len ? s->len : 1, run_and_check, &ctx);
    if (s->len <= 600) tu_for_each_split(s->p, s->len, run_and_check, &ctx);
    for (size_t i = 0; i < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); i++)
        if (s->len / chunk_sizes[i] <= 4096)
            tu_chunks(s->p, s->len, chunk_sizes[i], run_and_check, &ctx);
    assert_true(ctx.runs >= 2);
}

/* Feed once in one piece and return the log (caller frees). */
static struct proto_log feed_once(const tu_bytes *s, const ws_proto_limits *lim) {
    struct feed_ctx ctx = { .lim = lim };
    uint8_t *g = tu_guarded_copy(s->p, s->len);
    const uint8_t *pieces[1] = { g };
    size_t lens[1] = { s->len };
    feed_stream(&ctx, pieces, lens, 1);
    tu_guarded_free(g, s->len);
    return ctx.log;
}

/* Shorthand: a stream must fail with err/code on the byte at bad_at, after
 * reporting what is in want so far (want is completed here). */
static void expect_failure(const struct stream *s, const ws_proto_limits *lim,
                           struct proto_log *want, int err, unsigned code, size_t bad_at) {
    want_error(want, err, code);
    feed_everywhere(&s->b, lim, want, bad_at);
    /* The bytes before the proving one are not enough to fail. */
    tu_bytes prefix = { s->b.p, bad_at, bad_at };
    struct proto_log got = feed_once(&prefix, lim);
    assert_true(got.n == 0 || got.items[got.n - 1].type != IT_ERROR);
    log_free(&got);
}

/* ---------------------------------------------------------------------- */
/* RFC 6455 §5.7 examples, as a server sees them                           */

static void test_rfc_examples(void **state) {
    (void)state;
    /* "A single-frame masked text message". */
    static const uint8_t hello[] = { TV_HELLO_MASKED };
    /* "Unmasked Ping request and masked Ping response": only the masked
     * pong is something a client may send. */
    static const uint8_t pong[] = { TV_PONG_MASKED };
    struct stream s = { 0 };
    struct proto_log want = { 0 };

    put_raw(&s, hello, sizeof(hello));
    put_raw(&s, pong, sizeof(pong));
    /* The fragmented "Hel" + "lo" of §5.7, masked as a client sends it,
     * with the §5.7 ping (masked) between the fragments. */
    put_frame(&s, 0, WS_OP_TEXT, "Hel", 3);
    put_frame(&s, 1, WS_OP_PING, "Hello", 5);
    put_frame(&s, 1, WS_OP_CONT, "lo", 2);

    want_message(&want, WS_OP_TEXT, "Hello", 5);
    want_pong(&want);
    want_ping(&want, "Hello", 5);
    want_message(&want, WS_OP_TEXT, "Hello", 5);
    feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* Random messages in random fragments and random feeds                    */

/* Append a random valid UTF-8 character (1 to 4 bytes, no surrogates). */
static void put_random_char(tu_bytes *b, tu_rng *r) {
    uint32_t cp;
    uint8_t e[4];
    size_t n;
    switch (tu_rng_below(r, 4)) {
    case 0: cp = (uint32_t)tu_rng_below(r, 0x80); break;
    case 1: cp = 0x80 + (uint32_t)tu_rng_below(r, 0x800 - 0x80); break;
    case 2: do { cp = 0x800 + (uint32_t)tu_rng_below(r, 0x10000 - 0x800);
        } while (cp >= 0xd800 && cp <= 0xdfff);
        break;
    default: cp = 0x10000 + (uint32_t)tu_rng_below(r, 0x110000 - 0x10000); break;
    }
    if (cp < 0x80) {
        e[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
        e[0] = (uint8_t)(0xc0 | cp >> 6), e[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        e[0] = (uint8_t)(0xe0 | cp >> 12), e[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        e[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        e[0] = (uint8_t)(0xf0 | cp >> 18), e[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        e[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), e[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    tu_bytes_put(b, e, n);
}

/* A message length: mostly small, sometimes empty, sometimes over 64 KiB
 * so that 64-bit lengths and long payloads appear. */
static size_t random_length(tu_rng *r) {
    switch (tu_rng_below(r, 10)) {
    case 0: return 0;
    case 1: return 65536 + tu_rng_below(r, 5000);
    case 2:
    case 3: return 126 + tu_rng_below(r, 2000);
    default: return tu_rng_below(r, 126);
    }
}

#define MAX_FRAGS 8

struct model_msg {
    uint8_t op;
    tu_bytes data;
    size_t nfrag;
    uint64_t ends[MAX_FRAGS]; /* message bytes up to the end of each fragment */
};

/* Feed s in random piece sizes out of one guarded buffer (a long stream
 * cut into tiny pieces would need too many guard mappings). */
static void feed_random_cuts(struct feed_ctx *ctx, const tu_bytes *s, tu_rng *r) {
    static const size_t max_piece[] = { 1, 3, 17, 200, 5000, 100000 };
    size_t maxp = max_piece[tu_rng_below(r, 6)];
    uint8_t *g = tu_guarded_copy(s->p, s->len);
    size_t cap = 64, n = 0, off = 0;
    const uint8_t **pieces = malloc(cap * sizeof(*pieces));
    size_t *lens = malloc(cap * sizeof(*lens));
    assert_non_null(pieces);
    assert_non_null(lens);
    while (off < s->len) {
        size_t k = 1 + tu_rng_below(r, maxp);
        if (k > s->len - off) k = s->len - off;
        if (n == cap) {
            cap *= 2;
            pieces = realloc(pieces, cap * sizeof(*pieces));
            lens = realloc(lens, cap * sizeof(*lens));
            assert_non_null(pieces);
            assert_non_null(lens);
        }
        pieces[n] = g + off;
        lens[n] = k;
        n++;
        off += k;
    }
    feed_stream(ctx, pieces, lens, n);
    free(pieces);
    free(lens);
    tu_guarded_free(g, s->len);
}

/* Random text and binary messages, each cut into random fragments (empty
 * ones included, text cut mid-character), with pings and pongs between
 * fragments, fed in random pieces: the reassembled messages and pings must
 * equal the input, and every size_hint must be exactly the bytes of the
 * message up to the end of the frame the chunk is in. */
static void test_random_messages(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 150; seed++) {
        tu_rng r = { seed * 1000003 };
        struct stream s = { .keyseed = seed * 77 };
        struct proto_log want = { 0 };
        struct model_msg msgs[6];
        size_t nmsg = 1 + tu_rng_below(&r, 6);
        uint64_t biggest = 0;
        uint32_t most_frags = 0;

        for (size_t m = 0; m < nmsg; m++) {
            struct model_msg *mm = &msgs[m];
            memset(mm, 0, sizeof(*mm));
            tu_bytes_put(&mm->data, "", 0);
            mm->op = tu_rng_below(&r, 2) ? WS_OP_TEXT : WS_OP_BINARY;
            size_t len = random_length(&r);
            if (mm->op == WS_OP_TEXT) {
                while (mm->data.len < len) put_random_char(&mm->data, &r);
            } else {
                uint8_t *tmp = malloc(len ? len : 1);
                assert_non_null(tmp);
                tu_fill_random(tmp, len, tu_rng_next(&r));
                tu_bytes_put(&mm->data, tmp, len);
                free(tmp);
            }
            if (mm->data.len > biggest) biggest = mm->data.len;

            /* Cut points, sorted; equal ones make empty fragments. */
            mm->nfrag = 1 + tu_rng_below(&r, MAX_FRAGS);
            if (mm->nfrag > most_frags) most_frags = (uint32_t)mm->nfrag;
            for (size_t f = 0; f + 1 < mm->nfrag; f++)
                mm->ends[f] = tu_rng_below(&r, mm->data.len + 1);
            mm->ends[mm->nfrag - 1] = mm->data.len;
            for (size_t a = 0; a < mm->nfrag; a++)
                for (size_t b = a + 1; b < mm->nfrag; b++)
                    if (mm->ends[b] < mm->ends[a]) {
                        uint64_t t = mm->ends[a];
                        mm->ends[a] = mm->ends[b];
                        mm->ends[b] = t;
                    }

            size_t start = 0;
            for (size_t f = 0; f < mm->nfrag; f++) {
                int fin = f + 1 == mm->nfrag;
                put_frame(&s, fin, f == 0 ? mm->op : WS_OP_CONT, mm->data.p + start,
                          (size_t)mm->ends[f] - start);
                start = (size_t)mm->ends[f];
                if (!fin && tu_rng_below(&r, 4) == 0) {
                    uint8_t ping[WS_MAX_CONTROL_PAYLOAD];
                    size_t plen = tu_rng_below(&r, WS_MAX_CONTROL_PAYLOAD + 1);
                    tu_fill_random(ping, plen, tu_rng_next(&r));
                    if (tu_rng_below(&r, 2)) {
                        put_frame(&s, 1, WS_OP_PING, ping, plen);
                        want_ping(&want, ping, plen);
                    } else {
                        put_frame(&s, 1, WS_OP_PONG, ping, plen);
                        want_pong(&want);
                    }
                }
            }
            want_message(&want, mm->op, mm->data.p, mm->data.len);
        }
        if (tu_rng_below(&r, 2)) {
            put_close(&s, 1000, "bye", 3);
            want_close(&want, 1000);
        }

        /* Limits: generous, or exactly the largest message and the most
         * fragments, which must still be accepted. */
        ws_proto_limits lim = default_limits;
        if (seed % 2 == 0) {
            lim.max_message = biggest;
            lim.max_fragments = most_frags;
        }

        for (int run = 0; run < 3; run++) {
            struct feed_ctx ctx = { .lim = &lim };
            if (run == 0) {
                ctx.log = feed_once(&s.b, &lim);
            } else {
                feed_random_cuts(&ctx, &s.b, &r);
            }
            assert_log_equal(&ctx.log, &want);
            assert_int_equal(ctx.log.messages, nmsg);

            /* size_hint of each chunk: the end of the fragment it is in,
             * i.e. the first fragment end at or after the chunk's end. */
            for (size_t i = 0; i < ctx.log.nnotes; i++) {
                const struct chunk_note *nt = &ctx.log.notes[i];
                const struct model_msg *mm = &msgs[nt->message];
                uint64_t expect = mm->data.len;
                if (nt->len > 0)
                    for (size_t f = 0; f < mm->nfrag; f++)
                        if (mm->ends[f] >= nt->end) {
                            expect = mm->ends[f];
                            break;
                        }
                assert_int_equal(nt->hint, expect);
            }
            log_free(&ctx.log);
        }
        for (size_t m = 0; m < nmsg; m++) tu_bytes_free(&msgs[m].data);
        log_free(&want);
        tu_bytes_free(&s.b);
    }
}

/* ---------------------------------------------------------------------- */
/* Flags and size_hint, event by event                                     */

/* Feed in one piece and collect the raw events, for tests that look at
 * each one. Returns the number of events (at most max). */
static size_t collect_events(const tu_bytes *s, const ws_proto_limits *lim, size_t chunk,
                             ws_proto_event *evs, size_t max) {
    uint8_t *buf = malloc(s->len ? s->len : 1);
    ws_proto p;
    size_t off = 0, n = 0;
    assert_non_null(buf);
    memcpy(buf, s->p, s->len);
    ws_proto_init(&p);
    while (off < s->len) {
        size_t give = s->len - off < chunk ? s->len - off : chunk;
        ws_proto_event ev;
        size_t used = ws_proto_feed(&p, lim, buf + off, give, &ev);
        off += used;
        if (ev.type != WS_PROTO_EV_NONE) {
            assert_true(n < max);
            ev.data = NULL; /* the buffer is freed below */
            evs[n++] = ev;
        }
    }
    free(buf);
    return n;
}

static void test_first_last_flags(void **state) {
    (void)state;
    struct stream s = { 0 };
    ws_proto_event ev[16];

    /* One frame: one chunk, first and last. */
    put_frame(&s, 1, WS_OP_BINARY, "abc", 3);
    assert_int_equal(collect_events(&s.b, &default_limits, SIZE_MAX, ev, 16), 1);
    assert_true(ev[0].first && ev[0].last);
    assert_int_equal(ev[0].len, 3);
    assert_int_equal(ev[0].size_hint, 3);

    /* The same frame byte by byte (3 payload bytes): first, -, last. */
    assert_int_equal(collect_events(&s.b, &default_limits, 1, ev, 16), 3);
    assert_true(ev[0].first && !ev[0].last);
    assert_true(!ev[1].first && !ev[1].last);
    assert_true(!ev[2].first && ev[2].last);
    s.b.len = 0;

    /* Three fragments: first on the first, last on the last only. */
    put_frame(&s, 0, WS_OP_TEXT, "a", 1);
    put_frame(&s, 0, WS_OP_CONT, "b", 1);
    put_frame(&s, 1, WS_OP_CONT, "c", 1);
    assert_int_equal(collect_events(&s.b, &default_limits, SIZE_MAX, ev, 16), 3);
    assert_true(ev[0].first && !ev[0].last && ev[0].opcode == WS_OP_TEXT);
    assert_true(!ev[1].first && !ev[1].last && ev[1].opcode == WS_OP_TEXT);
    assert_true(!ev[2].first && ev[2].last && ev[2].opcode == WS_OP_TEXT);
    s.b.len = 0;

    /* An empty message is one empty chunk, first and last. */
    put_frame(&s, 1, WS_OP_TEXT, "", 0);
    assert_int_equal(collect_events(&s.b, &default_limits, SIZE_MAX, ev, 16), 1);
    assert_true(ev[0].first && ev[0].last && ev[0].len == 0 && ev[0].size_hint == 0);
    s.b.len = 0;

    /* An empty final fragment carries the last flag alone. */
    put_frame(&s, 0, WS_OP_BINARY, "xy", 2);
    put_frame(&s, 1, WS_OP_CONT, "", 0);
    assert_int_equal(collect_events(&s.b, &default_limits, SIZE_MAX, ev, 16), 2);
    assert_true(ev[0].first && !ev[0].last && ev[0].len == 2);
    assert_true(!ev[1].first && ev[1].last && ev[1].len == 0 && ev[1].size_hint == 2);
    s.b.len = 0;

    /* Empty leading and middle fragments report nothing: the first chunk
     * with bytes is the first. */
    put_frame(&s, 0, WS_OP_TEXT, "", 0);
    put_frame(&s, 0, WS_OP_CONT, "", 0);
    put_frame(&s, 1, WS_OP_CONT, "z", 1);
    assert_int_equal(collect_events(&s.b, &default_limits, SIZE_MAX, ev, 16), 1);
    assert_true(ev[0].first && ev[0].last && ev[0].len == 1);
    s.b.len = 0;

    /* A ping split over reads: first on its first chunk, last on its last. */
    put_frame(&s, 1, WS_OP_PING, "pq", 2);
    assert_int_equal(collect_events(&s.b, &default_limits, 1, ev, 16), 2);
    assert_true(ev[0].type == WS_PROTO_EV_PING && ev[0].first && !ev[0].last);
    assert_true(ev[1].type == WS_PROTO_EV_PING && !ev[1].first && ev[1].last);
    s.b.len = 0;

    /* An empty ping: one event, first and last, no bytes. */
    put_frame(&s, 1, WS_OP_PING, "", 0);
    assert_int_equal(collect_events(&s.b, &default_limits, SIZE_MAX, ev, 16), 1);
    assert_true(ev[0].type == WS_PROTO_EV_PING && ev[0].first && ev[0].last && ev[0].len == 0);
    tu_bytes_free(&s.b);
}

static void test_size_hint(void **state) {
    (void)state;
    struct stream s = { 0 };
    ws_proto_event ev[512];
    uint8_t payload[1000];
    tu_fill_random(payload, sizeof(payload), 9);

    /* One 1000-byte frame fed in 10-byte reads: the hint is the declared
     * length from the first chunk on. */
    put_frame(&s, 1, WS_OP_BINARY, payload, 1000);
    size_t n = collect_events(&s.b, &default_limits, 10, ev, 512);
    assert_true(n >= 100);
    for (size_t i = 0; i < n; i++) assert_int_equal(ev[i].size_hint, 1000);
    s.b.len = 0;

    /* Fragments of 100, 200 and 300: each frame adds its declared length. */
    put_frame(&s, 0, WS_OP_BINARY, payload, 100);
    put_frame(&s, 0, WS_OP_CONT, payload + 100, 200);
    put_frame(&s, 1, WS_OP_CONT, payload + 300, 300);
    n = collect_events(&s.b, &default_limits, SIZE_MAX, ev, 512);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].size_hint, 100);
    assert_int_equal(ev[1].size_hint, 300);
    assert_int_equal(ev[2].size_hint, 600);

    /* A new message starts counting from zero. */
    put_frame(&s, 1, WS_OP_TEXT, "hi", 2);
    n = collect_events(&s.b, &default_limits, SIZE_MAX, ev, 512);
    assert_int_equal(n, 4);
    assert_int_equal(ev[3].size_hint, 2);
    tu_bytes_free(&s.b);
}

/* §5.4: "Control frames ... MAY be injected in the middle of a fragmented
 * message." */
static void test_control_between_fragments(void **state) {
    (void)state;
    struct stream s = { 0 };
    struct proto_log want = { 0 };

    put_frame(&s, 0, WS_OP_TEXT, "Hel", 3);
    put_frame(&s, 1, WS_OP_PING, "", 0);
    put_frame(&s, 1, WS_OP_PONG, "p", 1);
    put_frame(&s, 0, WS_OP_CONT, "", 0);
    put_frame(&s, 1, WS_OP_PING, "are you there", 13);
    put_frame(&s, 1, WS_OP_CONT, "lo", 2);
    put_frame(&s, 1, WS_OP_PING, "after", 5);
    want_ping(&want, "", 0);
    want_pong(&want);
    want_ping(&want, "are you there", 13);
    want_message(&want, WS_OP_TEXT, "Hello", 5);
    want_ping(&want, "after", 5);
    feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);
    log_free(&want);

    /* A close in the middle of a message ends everything. */
    size_t at = put_close(&s, 1001, "", 0);
    put_frame(&s, 1, WS_OP_TEXT, "ignored", 7);
    memset(&want, 0, sizeof(want));
    want_ping(&want, "", 0);
    want_pong(&want);
    want_ping(&want, "are you there", 13);
    want_message(&want, WS_OP_TEXT, "Hello", 5);
    want_ping(&want, "after", 5);
    want_close(&want, 1001);
    feed_everywhere(&s.b, &default_limits, &want, at + 1);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* Protocol errors: 1002                                                   */

/* Violations the frame parser catches, surfaced with 1002 at the byte the
 * parser rejects (raw bytes; a masked Hello first to show that valid
 * frames before the bad one are still delivered). */
static void test_frame_errors(void **state) {
    (void)state;
    static const uint8_t hello[] = { TV_HELLO_MASKED };
    static const struct {
        const char *what;
        uint8_t in[16];
        size_t n;
        size_t bad_at;
        int err;
    } cases[] = {
        { "RSV1", { 0xc1, 0x80 }, 2, 0, WS_E_RSV },
        { "RSV3", { 0x91, 0x80 }, 2, 0, WS_E_RSV },
        { "opcode 3", { 0x83, 0x80 }, 2, 0, WS_E_OPCODE },
        { "opcode 0xB", { 0x8b, 0x80 }, 2, 0, WS_E_OPCODE },
        { "unmasked", { 0x81, 0x01, 'x' }, 3, 1, WS_E_UNMASKED },
        { "ping 126", { 0x89, 0xfe, 0, 126 }, 4, 1, WS_E_CONTROL_LEN },
        { "fragmented ping", { 0x09, 0x80 }, 2, 0, WS_E_CONTROL_FRAG },
        { "16-bit 5", { 0x82, 0xfe, 0, 5 }, 4, 3, WS_E_LENGTH },
        { "64-bit top bit", { 0x82, 0xff, 0x80 }, 3, 2, WS_E_LENGTH },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stream s = { 0 };
        struct proto_log want = { 0 };
        print_message("  %s\n", cases[i].what);
        put_raw(&s, hello, sizeof(hello));
        put_raw(&s, cases[i].in, cases[i].n);
        want_message(&want, WS_OP_TEXT, "Hello", 5);
        expect_failure(&s, &default_limits, &want, cases[i].err, WS_CLOSE_PROTOCOL_ERROR,
                       sizeof(hello) + cases[i].bad_at);
        log_free(&want);
        tu_bytes_free(&s.b);
    }
}

/* §5.4 fragmentation rules need the message context, so the engine judges
 * them when the header is complete: on the last byte of the masking key. */
static void test_fragmentation_errors(void **state) {
    (void)state;
    struct stream s = { 0 };
    struct proto_log want = { 0 };
    size_t at;

    /* A continuation with no message started. */
    at = put_frame(&s, 1, WS_OP_CONT, "x", 1);
    expect_failure(&s, &default_limits, &want, WS_E_CONTINUATION, WS_CLOSE_PROTOCOL_ERROR, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* A continuation after a message that has ended. */
    put_frame(&s, 1, WS_OP_TEXT, "done", 4);
    at = put_frame(&s, 0, WS_OP_CONT, "", 0);
    want_message(&want, WS_OP_TEXT, "done", 4);
    expect_failure(&s, &default_limits, &want, WS_E_CONTINUATION, WS_CLOSE_PROTOCOL_ERROR, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* A new text frame inside a fragmented message, after a ping. */
    put_frame(&s, 0, WS_OP_TEXT, "a", 1);
    put_frame(&s, 1, WS_OP_PING, "", 0);
    at = put_frame(&s, 1, WS_OP_TEXT, "b", 1);
    want_ping(&want, "", 0);
    expect_failure(&s, &default_limits, &want, WS_E_EXPECTED_CONT, WS_CLOSE_PROTOCOL_ERROR, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* A binary frame inside a fragmented text message, even an empty one. */
    put_frame(&s, 0, WS_OP_TEXT, "a", 1);
    at = put_frame(&s, 1, WS_OP_BINARY, "", 0);
    expect_failure(&s, &default_limits, &want, WS_E_EXPECTED_CONT, WS_CLOSE_PROTOCOL_ERROR, at - 1);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* Invalid UTF-8: 1007                                                     */

/* A text message: fail at the first byte that cannot be UTF-8, even with
 * the rest of the message still to come; a message that ends inside a
 * character fails on its last byte. Binary messages are not checked. */
static void test_utf8_errors(void **state) {
    (void)state;
    static const struct {
        const char *what;
        const char *text;
        size_t len;
        size_t bad_at; /* index in text; len - 1 for "truncated at the end" */
    } cases[] = {
        { "lone continuation",
          "ab\x80"
          "cd",
          5, 2 },
        { "C0 overlong",
          "ab\xc0\xaf"
          "cd",
          6, 2 },
        { "E0 overlong", "\xe0\x80\xaf", 3, 1 },
        { "surrogate", "x\xed\xa0\x80", 4, 2 },
        { "above U+10FFFF", "\xf4\x90\x80\x80", 4, 1 },
        { "F5", "\xf5", 1, 0 },
        { "FF", "hello\xff", 6, 5 },
        { "missing continuation",
          "\xe2\x82"
          "A",
          3, 2 },
        { "truncated 2 of 3", "ok\xe2\x82", 4, 3 },
        { "truncated 1 of 4", "\xf0", 1, 0 },
        { "truncated 3 of 4", "\xf0\x9f\x98", 3, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("  %s\n", cases[i].what);
        /* In one frame. */
        struct stream s = { 0 };
        struct proto_log want = { 0 };
        size_t at = put_frame(&s, 1, WS_OP_TEXT, cases[i].text, cases[i].len);
        put_frame(&s, 1, WS_OP_TEXT, "after", 5);
        expect_failure(&s, &default_limits, &want, WS_E_UTF8, WS_CLOSE_INVALID_PAYLOAD,
                       at + cases[i].bad_at);
        log_free(&want);
        s.b.len = 0;

        /* One byte per frame: the character state crosses frames. */
        for (size_t k = 0; k < cases[i].len; k++) {
            at = put_frame(&s, k + 1 == cases[i].len, k ? WS_OP_CONT : WS_OP_TEXT,
                           cases[i].text + k, 1);
            if (k == cases[i].bad_at) break;
        }
        expect_failure(&s, &default_limits, &want, WS_E_UTF8, WS_CLOSE_INVALID_PAYLOAD, at);
        log_free(&want);
        s.b.len = 0;

        /* The same bytes in a binary message are fine. */
        put_frame(&s, 1, WS_OP_BINARY, cases[i].text, cases[i].len);
        want_message(&want, WS_OP_BINARY, cases[i].text, cases[i].len);
        feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);
        log_free(&want);
        tu_bytes_free(&s.b);
    }

    /* A character cut by a fragment boundary is fine when completed... */
    struct stream s = { 0 };
    struct proto_log want = { 0 };
    put_frame(&s, 0, WS_OP_TEXT, "\xe2", 1);
    put_frame(&s, 0, WS_OP_CONT, "\x82", 1);
    put_frame(&s, 1, WS_OP_CONT, "\xac!", 2);
    want_message(&want, WS_OP_TEXT, "\xe2\x82\xac!", 4);
    feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);
    log_free(&want);
    s.b.len = 0;

    /* An all-ASCII fragment is not decoded again (the unmasking pass saw
     * every byte) -- but only between characters: after an open lead
     * byte its first byte is the error, even deep in the word loop. */
    static const char ascii_run[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh";
    put_frame(&s, 0, WS_OP_TEXT, "ok\xc3", 3);
    size_t run_at = put_frame(&s, 1, WS_OP_CONT, ascii_run, sizeof(ascii_run) - 1);
    expect_failure(&s, &default_limits, &want, WS_E_UTF8, WS_CLOSE_INVALID_PAYLOAD, run_at);
    log_free(&want);
    s.b.len = 0;
    put_frame(&s, 0, WS_OP_TEXT, "ok\xc3\xa9", 4);
    put_frame(&s, 1, WS_OP_CONT, ascii_run, sizeof(ascii_run) - 1);
    want_message(&want, WS_OP_TEXT,
                 "ok\xc3\xa9"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh",
                 4 + sizeof(ascii_run) - 1);
    feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);
    log_free(&want);
    s.b.len = 0;

    /* ...and fails when the message ends with an empty final fragment
     * while the character is open: on the last byte of that header. */
    put_frame(&s, 0, WS_OP_TEXT, "\xe2\x82", 2);
    size_t at = put_frame(&s, 1, WS_OP_CONT, "", 0);
    expect_failure(&s, &default_limits, &want, WS_E_UTF8, WS_CLOSE_INVALID_PAYLOAD, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* A ping between the fragments does not disturb the character state. */
    put_frame(&s, 0, WS_OP_TEXT, "\xf0\x9f", 2);
    put_frame(&s, 1, WS_OP_PING, "\xff", 1);
    put_frame(&s, 1, WS_OP_CONT, "\x98\x80", 2);
    want_ping(&want, "\xff", 1);
    want_message(&want, WS_OP_TEXT, "\xf0\x9f\x98\x80", 4);
    feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);
    log_free(&want);
    s.b.len = 0;

    /* A new message starts with a clean state: a message ending cleanly
     * does not leak its state into the next. */
    put_frame(&s, 1, WS_OP_TEXT, "\xc3\xa9", 2);
    at = put_frame(&s, 1, WS_OP_TEXT, "\xa9", 1);
    want_message(&want, WS_OP_TEXT, "\xc3\xa9", 2);
    expect_failure(&s, &default_limits, &want, WS_E_UTF8, WS_CLOSE_INVALID_PAYLOAD, at);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* Limits: 1009                                                            */

static void test_too_big(void **state) {
    (void)state;
    uint8_t payload[300];
    tu_fill_random(payload, sizeof(payload), 4);
    ws_proto_limits lim = { 100, 0 };
    struct stream s = { 0 };
    struct proto_log want = { 0 };
    size_t at;

    /* Exactly the limit is accepted, in one frame or in fragments. */
    put_frame(&s, 1, WS_OP_BINARY, payload, 100);
    put_frame(&s, 0, WS_OP_BINARY, payload, 60);
    put_frame(&s, 1, WS_OP_CONT, payload + 60, 40);
    want_message(&want, WS_OP_BINARY, payload, 100);
    want_message(&want, WS_OP_BINARY, payload, 100);
    feed_everywhere(&s.b, &lim, &want, SIZE_MAX);
    log_free(&want);
    s.b.len = 0;

    /* One byte over, declared in the header: failed on the header's last
     * byte, before any payload is read. */
    at = put_frame(&s, 1, WS_OP_BINARY, payload, 101);
    expect_failure(&s, &lim, &want, WS_E_TOO_BIG, WS_CLOSE_MESSAGE_TOO_BIG, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* Over in the second fragment: its header decides. */
    put_frame(&s, 0, WS_OP_TEXT, "0123456789012345678901234567890123456789012345678901234567890",
              60);
    put_frame(&s, 1, WS_OP_PING, "", 0); /* control frames do not count */
    at = put_frame(&s, 1, WS_OP_CONT, payload, 41);
    want_ping(&want, "", 0);
    expect_failure(&s, &lim, &want, WS_E_TOO_BIG, WS_CLOSE_MESSAGE_TOO_BIG, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* A 2^62-byte frame: refused on its header, nothing waited for. */
    {
        static const uint8_t huge[] = { 0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
        ws_proto_limits big = default_limits;
        put_raw(&s, huge, sizeof(huge));
        expect_failure(&s, &big, &want, WS_E_TOO_BIG, WS_CLOSE_MESSAGE_TOO_BIG, sizeof(huge) - 1);
        log_free(&want);
        s.b.len = 0;
    }

    /* max_message 0: only empty messages. */
    {
        ws_proto_limits zero = { 0, 0 };
        put_frame(&s, 1, WS_OP_TEXT, "", 0);
        at = put_frame(&s, 1, WS_OP_TEXT, "x", 1);
        want_message(&want, WS_OP_TEXT, "", 0);
        expect_failure(&s, &zero, &want, WS_E_TOO_BIG, WS_CLOSE_MESSAGE_TOO_BIG, at - 1);
        log_free(&want);
    }
    tu_bytes_free(&s.b);
}

static void test_too_many_fragments(void **state) {
    (void)state;
    ws_proto_limits lim = { 1000, 3 };
    struct stream s = { 0 };
    struct proto_log want = { 0 };

    /* Three frames per message is the limit; each message counts anew,
     * and control frames between fragments do not count. */
    for (int m = 0; m < 2; m++) {
        put_frame(&s, 0, WS_OP_BINARY, "a", 1);
        put_frame(&s, 1, WS_OP_PING, "", 0);
        put_frame(&s, 0, WS_OP_CONT, "", 0);
        put_frame(&s, 1, WS_OP_CONT, "c", 1);
        want_ping(&want, "", 0);
        want_message(&want, WS_OP_BINARY, "ac", 2);
    }
    feed_everywhere(&s.b, &lim, &want, SIZE_MAX);

    /* The fourth frame of a message fails on its header, even empty. */
    put_frame(&s, 0, WS_OP_TEXT, "a", 1);
    put_frame(&s, 0, WS_OP_CONT, "b", 1);
    put_frame(&s, 0, WS_OP_CONT, "c", 1);
    size_t at = put_frame(&s, 1, WS_OP_CONT, "", 0);
    expect_failure(&s, &lim, &want, WS_E_TOO_MANY_FRAGS, WS_CLOSE_MESSAGE_TOO_BIG, at - 1);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* Close frames                                                            */

/* Every status code, in a close frame: the ones §7.4 allows on the wire
 * come out as a CLOSE event with that code; the rest fail with 1002 on the
 * second byte of the code. */
static void test_close_codes(void **state) {
    (void)state;
    static const unsigned probes[] = {
        0,    1,    999,  1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011,
        1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 3000, 3001, 3999, 4000, 4999, 5000, 65535,
    };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        struct stream s = { 0 };
        struct proto_log want = { 0 };
        size_t at = put_close(&s, probes[i], "", 0);
        put_frame(&s, 1, WS_OP_TEXT, "ignored", 7);
        if (ws_close_code_valid(probes[i])) {
            want_close(&want, probes[i]);
            feed_everywhere(&s.b, &default_limits, &want, at + 1);
        } else {
            expect_failure(&s, &default_limits, &want, WS_E_CLOSE_CODE, WS_CLOSE_PROTOCOL_ERROR,
                           at + 1);
        }
        log_free(&want);
        tu_bytes_free(&s.b);
    }
}

/* The list ws_close_code_valid() must give, from RFC 6455 §7.4.1/§7.4.2
 * and the IANA registry (1012-1014). */
static void test_close_code_valid_list(void **state) {
    (void)state;
    for (unsigned code = 0; code <= 70000; code++) {
        int want = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                   (code >= 3000 && code <= 4999);
        assert_int_equal(ws_close_code_valid(code), want);
    }
    assert_false(ws_close_code_valid(UINT32_MAX));
}

static void test_close_payload(void **state) {
    (void)state;
    struct stream s = { 0 };
    struct proto_log want = { 0 };
    size_t at;

    /* An empty close: code 0 ("no status"). */
    at = put_frame(&s, 1, WS_OP_CLOSE, "", 0);
    want_close(&want, 0);
    feed_everywhere(&s.b, &default_limits, &want, at - 1);
    log_free(&want);
    s.b.len = 0;

    /* §5.5.1: a 1-byte payload cannot hold a status code: 1002 on it. */
    at = put_frame(&s, 1, WS_OP_CLOSE, "\x03", 1);
    expect_failure(&s, &default_limits, &want, WS_E_CLOSE_PAYLOAD, WS_CLOSE_PROTOCOL_ERROR, at);
    log_free(&want);
    s.b.len = 0;

    /* A UTF-8 reason, and the longest one that fits (123 bytes). */
    at = put_close(&s, 1000, "\xe2\x82\xac bye", 7);
    want_close(&want, 1000);
    feed_everywhere(&s.b, &default_limits, &want, at + 8);
    log_free(&want);
    s.b.len = 0;
    {
        char reason[WS_MAX_CLOSE_REASON];
        memset(reason, 'r', sizeof(reason));
        at = put_close(&s, 4000, reason, sizeof(reason));
        want_close(&want, 4000);
        feed_everywhere(&s.b, &default_limits, &want, at + 2 + sizeof(reason) - 1);
        log_free(&want);
        s.b.len = 0;
    }

    /* A reason that is not UTF-8: 1002 (not 1007: §7.4.1 has the close
     * frame as a protocol matter) on the first bad byte... */
    at = put_close(&s, 1000, "ok\xc0\xaf", 4);
    expect_failure(&s, &default_limits, &want, WS_E_CLOSE_REASON, WS_CLOSE_PROTOCOL_ERROR, at + 4);
    log_free(&want);
    s.b.len = 0;

    /* ...or on the last byte when it ends inside a character. */
    at = put_close(&s, 1001, "x\xe2\x82", 3);
    expect_failure(&s, &default_limits, &want, WS_E_CLOSE_REASON, WS_CLOSE_PROTOCOL_ERROR, at + 4);
    log_free(&want);
    s.b.len = 0;

    /* An invalid code is reported before a bad reason behind it. */
    at = put_close(&s, 1005, "\xff", 1);
    expect_failure(&s, &default_limits, &want, WS_E_CLOSE_CODE, WS_CLOSE_PROTOCOL_ERROR, at + 1);
    log_free(&want);
    s.b.len = 0;

    /* A reason that starts with a continuation byte fails on that byte. */
    at = put_close(&s, 3000, "\x80", 1);
    expect_failure(&s, &default_limits, &want, WS_E_CLOSE_REASON, WS_CLOSE_PROTOCOL_ERROR, at + 2);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* After the end                                                           */

/* §5.5.1: after a close, and after an error, the rest of the input is
 * consumed and ignored -- however invalid it is. */
static void test_bytes_after_end_ignored(void **state) {
    (void)state;
    static const uint8_t garbage[] = { 0xff, 0xff, 0x00, 0xc1, 0x7f, 0x80, 0x00, 0x42 };
    struct stream s = { 0 };
    struct proto_log want = { 0 };

    put_frame(&s, 1, WS_OP_TEXT, "last words", 10);
    size_t at = put_close(&s, 1000, "", 0);
    put_frame(&s, 1, WS_OP_TEXT, "too late", 8);
    put_frame(&s, 1, WS_OP_PING, "hello?", 6);
    put_raw(&s, garbage, sizeof(garbage));
    want_message(&want, WS_OP_TEXT, "last words", 10);
    want_close(&want, 1000);
    feed_everywhere(&s.b, &default_limits, &want, at + 1);
    log_free(&want);
    s.b.len = 0;

    at = put_frame(&s, 1, WS_OP_TEXT, "\xff", 1);
    put_close(&s, 1000, "", 0);
    put_raw(&s, garbage, sizeof(garbage));
    expect_failure(&s, &default_limits, &want, WS_E_UTF8, WS_CLOSE_INVALID_PAYLOAD, at);
    log_free(&want);
    tu_bytes_free(&s.b);
}

/* ---------------------------------------------------------------------- */
/* Whole streams, any feed                                                 */

/* A mixed stream -- every opcode, every length encoding, fragments,
 * control frames between them, a close at the end -- fed in one piece,
 * at every split, byte by byte and in chunks: the same events each time,
 * and equal to what the stream holds. */
static void test_stream_any_feed(void **state) {
    (void)state;
    struct stream s = { 0 };
    struct proto_log want = { 0 };
    uint8_t bin[300];
    tu_fill_random(bin, sizeof(bin), 17);

    put_frame(&s, 1, WS_OP_TEXT, "Hello", 5);
    put_frame(&s, 1, WS_OP_BINARY, bin, 126);   /* 16-bit length */
    put_frame(&s, 0, WS_OP_TEXT, "caf\xc3", 4); /* é cut in two */
    put_frame(&s, 1, WS_OP_PING, bin, 125);
    put_frame(&s, 1, WS_OP_CONT, "\xa9 \xe2\x82\xac", 5);
    put_frame(&s, 1, WS_OP_PONG, "", 0);
    put_frame(&s, 0, WS_OP_BINARY, bin, 0);
    put_frame(&s, 0, WS_OP_CONT, bin, 1);
    put_frame(&s, 1, WS_OP_CONT, bin + 1, 2);
    put_frame(&s, 1, WS_OP_TEXT, "", 0);
    size_t at = put_close(&s, 1000, "done", 4);

    want_message(&want, WS_OP_TEXT, "Hello", 5);
    want_message(&want, WS_OP_BINARY, bin, 126);
    want_ping(&want, bin, 125);
    want_message(&want, WS_OP_TEXT, "caf\xc3\xa9 \xe2\x82\xac", 9);
    want_pong(&want);
    want_message(&want, WS_OP_BINARY, bin, 3);
    want_message(&want, WS_OP_TEXT, "", 0);
    want_close(&want, 1000);
    feed_everywhere(&s.b, &default_limits, &want, at + 5);
    log_free(&want);

    /* The same stream cut short anywhere gives a prefix of those events,
     * with the open message's bytes so far -- never an error. */
    for (size_t cut = 0; cut < s.b.len; cut++) {
        tu_bytes prefix = { s.b.p, cut, cut };
        struct proto_log got = feed_once(&prefix, &default_limits);
        for (size_t i = 0; i < got.n; i++) assert_true(got.items[i].type != IT_ERROR);
        log_free(&got);
    }
    tu_bytes_free(&s.b);
}

/* A message over 64 KiB (64-bit length) fed every way that is affordable. */
static void test_long_message(void **state) {
    (void)state;
    size_t len = 70000;
    uint8_t *text = malloc(len);
    assert_non_null(text);
    for (size_t i = 0; i < len; i++) text[i] = (uint8_t)('a' + i % 26);
    text[len - 3] = 0xe2, text[len - 2] = 0x82, text[len - 1] = 0xac;

    struct stream s = { 0 };
    struct proto_log want = { 0 };
    put_frame(&s, 0, WS_OP_TEXT, text, 65536);
    put_frame(&s, 1, WS_OP_CONT, text + 65536, len - 65536);
    want_message(&want, WS_OP_TEXT, text, len);
    feed_everywhere(&s.b, &default_limits, &want, SIZE_MAX);

    tu_rng r = { 99 };
    for (int i = 0; i < 5; i++) {
        struct feed_ctx ctx = { .lim = &default_limits };
        feed_random_cuts(&ctx, &s.b, &r);
        assert_log_equal(&ctx.log, &want);
        log_free(&ctx.log);
    }
    log_free(&want);
    tu_bytes_free(&s.b);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_random_messages),
        cmocka_unit_test(test_first_last_flags),
        cmocka_unit_test(test_size_hint),
        cmocka_unit_test(test_control_between_fragments),
        cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_fragmentation_errors),
        cmocka_unit_test(test_utf8_errors),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_too_many_fragments),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_close_code_valid_list),
        cmocka_unit_test(test_close_payload),
        cmocka_unit_test(test_bytes_after_end_ignored),
        cmocka_unit_test(test_stream_any_feed),
        cmocka_unit_test(test_long_message),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}

/*
 * script.c -- run a case written as a table of steps.
 *
 * Most Autobahn cases have the same shape: send a few frames, then expect
 * an echo, a pong or a close. A table says that more plainly than code:
 *
 *     TX(CF_OP_TEXT, "fragment1"),            FIN clear: more to come
 *     TX(CF_FIN | CF_OP_PING, "ping"),        a control frame in between
 *     TX(CF_FIN | CF_OP_CONT, "fragment2"),
 *     RX_PONG("ping"),
 *     RX(CF_OP_TEXT, "fragment1fragment2"),
 *     BYE
 *
 * Consecutive send steps are collected and written together when the next
 * expectation (or the end) is reached, in one of these modes:
 *   MODE_WRITE   one write() for all of them (they share TCP segments);
 *   MODE_BYTES   one byte per write() (the server sees every split point);
 *   MODE_FRAMES  one frame per write(), 1 ms apart;
 *   MODE_CHOP    pieces of `chop` bytes.
 * Autobahn's "octet-wise chopped" and "frame-wise chopped" variants are the
 * same table run in another mode.
 *
 * A compressed message (ST_SEND_Z, RFC 7692 §7.2.1) is compressed when its
 * step is reached, so with context takeover the messages go through the
 * compressor in the order they are sent. Its frames: RSV1 on the first
 * only (§6.1), the compressed bytes cut at any point. On a connection
 * where nothing was agreed, the step compresses all the same (with a
 * compressor of its own): the server must then refuse the RSV1 frame.
 */
#include "conf.h"

#include <stdlib.h>

/* Byte-by-byte writes of a small script pause briefly between bytes, so
 * the server really reads them one at a time; a big one just writes fast. */
#define BYTE_PAUSE_US  50
#define BYTE_PAUSE_MAX 4096
#define FRAME_PAUSE_US 1000

struct pending {
    struct cf_buf out;
    size_t *ends; /* end offset of each frame in out */
    size_t nends, cap;
    struct cf_pmd *own; /* compressor for a connection without one */
};

static void mark_end(struct pending *pd) {
    if (pd->nends == pd->cap) {
        pd->cap = pd->cap ? pd->cap * 2 : 16;
        pd->ends = realloc(pd->ends, pd->cap * sizeof *pd->ends);
        if (!pd->ends) abort();
    }
    pd->ends[pd->nends++] = pd->out.len;
}

static void add_send(struct cf_ctx *t, struct cf_conn *c, struct pending *pd,
                     const struct cf_step *s) {
    switch (s->kind) {
    case ST_SEND:
        cf_put_frame(t, &pd->out, s->b0, s->len, s->data, s->pat, s->pat_off, (size_t)s->len,
                     !s->unmasked);
        mark_end(pd);
        if ((s->b0 & 0x0F) == CF_OP_CLOSE) c->sent_close = true;
        break;
    case ST_SEND_PART:
        cf_put_frame(t, &pd->out, s->b0, s->len, s->data, s->pat, s->pat_off, (size_t)s->aux,
                     !s->unmasked);
        mark_end(pd);
        break;
    case ST_SEND_FRAGS: {
        /* len bytes of opcode b0, in frames of aux bytes (the last may be
         * shorter); FIN on the last one only. */
        uint64_t off = 0, fs = (uint64_t)s->aux;
        do {
            uint64_t n = s->len - off < fs ? s->len - off : fs;
            uint8_t b0 = off == 0 ? (s->b0 & 0x0F) : CF_OP_CONT;
            if (off + n == s->len) b0 |= CF_FIN;
            cf_put_frame(t, &pd->out, b0, n, s->data ? s->data + off : NULL, s->pat,
                         s->pat_off + off, (size_t)n, true);
            mark_end(pd);
            off += n;
        } while (off < s->len);
        break;
    }
    case ST_SEND_RAW:
        cf_buf_put(&pd->out, s->data, (size_t)s->len);
        mark_end(pd);
        break;
    case ST_SEND_Z: {
        struct cf_pmd *z = c->pmd;
        if (!z) {
            static const struct cf_pmd_params plain = { .server_bits = 15, .client_bits = 15 };
            if (!pd->own) pd->own = cf_pmd_new(&plain, t->zstyle);
            z = pd->own;
        }
        struct cf_buf zb = { 0 };
        cf_pmd_compress(z, s->data, s->pat, s->pat_off, s->len, s->zflush, &zb);
        size_t fs = s->aux ? (size_t)s->aux : zb.len, off = 0;
        do {
            size_t n = zb.len - off < fs ? zb.len - off : fs;
            uint8_t b0 =
                off == 0 ? (uint8_t)((s->b0 & 0x7F) | CF_RSV1) : (uint8_t)(CF_OP_CONT | s->zrsv);
            if (off + n == zb.len) b0 |= CF_FIN;
            cf_put_frame(t, &pd->out, b0, n, zb.p + off, 0, 0, n, true);
            mark_end(pd);
            off += n;
        } while (off < zb.len);
        cf_buf_free(&zb);
        break;
    }
    default: break;
    }
}

static int flush(struct cf_ctx *t, struct cf_conn *c, struct pending *pd, enum cf_mode mode,
                 size_t chop) {
    int rc = 0;
    if (pd->out.len == 0) return 0;
    switch (mode) {
    case MODE_WRITE: rc = cf_write(t, c, pd->out.p, pd->out.len, 0, 0); break;
    case MODE_BYTES:
        rc = cf_write(t, c, pd->out.p, pd->out.len, 1,
                      pd->out.len <= BYTE_PAUSE_MAX ? BYTE_PAUSE_US : 0);
        break;
    case MODE_CHOP: rc = cf_write(t, c, pd->out.p, pd->out.len, chop, 0); break;
    case MODE_FRAMES: {
        size_t start = 0;
        for (size_t i = 0; i < pd->nends && rc == 0; i++) {
            rc = cf_write(t, c, pd->out.p + start, pd->ends[i] - start, 0, 0);
            start = pd->ends[i];
            /* A pause so each frame is its own read on the server. */
            if (i + 1 < pd->nends) cf_sleep_us(FRAME_PAUSE_US);
        }
        break;
    }
    }
    pd->out.len = 0;
    pd->nends = 0;
    return rc;
}

void cf_push(struct cf_steps *s, struct cf_step step) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    s->v[s->n++] = step;
}

const struct cf_step *cf_steps_end(struct cf_steps *s) {
    cf_push(s, (struct cf_step){ .kind = ST_END });
    const struct cf_step *v = s->v;
    s->v = NULL;
    s->n = s->cap = 0;
    return v;
}

int cf_run_steps(struct cf_ctx *t, const struct cf_step *steps, enum cf_mode mode, size_t chop) {
    struct cf_conn c;
    struct pending pd = { 0 };
    int rc = cf_open(t, &c);
    for (const struct cf_step *s = steps; rc == 0 && s->kind != ST_END; s++) {
        switch (s->kind) {
        case ST_SEND:
        case ST_SEND_PART:
        case ST_SEND_FRAGS:
        case ST_SEND_RAW:
        case ST_SEND_Z: add_send(t, &c, &pd, s); continue;
        default: break;
        }
        rc = flush(t, &c, &pd, mode, chop);
        if (rc < 0) break;
        switch (s->kind) {
        case ST_MSG:
            rc = cf_expect_message(t, &c, s->b0, s->data, s->pat, s->pat_off, s->len);
            break;
        case ST_PONG: {
            uint8_t want[125];
            const uint8_t *d = s->data;
            size_t n = s->len < sizeof want ? (size_t)s->len : sizeof want;
            if (!d) {
                cf_pattern(s->pat, s->pat_off, want, n);
                d = want;
            }
            rc = cf_expect_pong(t, &c, d, n);
            break;
        }
        case ST_CLOSE: rc = cf_expect_close(t, &c, (int)s->aux); break;
        case ST_CLOSE_PARTS: rc = cf_expect_close_after_parts(t, &c, (int)s->aux, s->pat); break;
        case ST_DROP: rc = cf_expect_drop(t, &c, (int)s->aux); break;
        case ST_BYE: {
            static const uint8_t normal[2] = { 0x03, 0xE8 };
            cf_put_frame(t, &pd.out, CF_FIN | CF_OP_CLOSE, 2, normal, 0, 0, 2, true);
            mark_end(&pd);
            c.sent_close = true;
            rc = flush(t, &c, &pd, MODE_WRITE, 0);
            if (rc == 0) rc = cf_expect_close(t, &c, CF_CLOSE_NORMAL);
            break;
        }
        default: break;
        }
    }
    if (rc == 0) rc = flush(t, &c, &pd, mode, chop);
    cf_buf_free(&pd.out);
    free(pd.ends);
    cf_pmd_free(pd.own);
    cf_close(&c);
    return rc;
}

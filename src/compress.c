/*
 * compress.c -- permessage-deflate on the server's connections (RFC 7692):
 * the answer to the offer, the decompressor lent to the protocol engine,
 * compressed sends, and the memory that all of it costs.
 *
 * Who holds a (de)compressor:
 *
 *   no context takeover   nothing is kept between messages, so a message
 *   (the shared mode's    that is handled within one call uses the worker's
 *   default)              shared state for its window size: an idle
 *                         connection costs nothing. A message that spans
 *                         reads gets a copy of the shared decompressor's
 *                         state, its own until the message ends; a message
 *                         sent in parts gets its own compressor for as long.
 *   context takeover      the window is history the next message refers to,
 *   (dedicated mode)      so the connection keeps its own decompressor and
 *                         compressor for its lifetime.
 *
 * Every one of these is counted in the budget as "zip" (mem.h), and a
 * connection's own are part of what shedding it gives back.
 *
 * The byte layout on the wire (RFC 7692 §6): RSV1 set on the first frame of
 * a compressed message only; its payload is the DEFLATE stream of the
 * message with the final 00 00 ff ff removed (§7.2.1); continuation frames
 * carry the rest of that stream. A message may go out uncompressed (RSV1
 * clear) whenever that is better: shorter than --deflate-threshold, or no
 * smaller once compressed (possible only without context takeover, where
 * nothing else depends on what the compressor saw).
 */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

static unsigned server_bits(const ws_conn *c) { return c->pmd_bits & 15u; }
static unsigned client_bits(const ws_conn *c) { return c->pmd_bits >> 4; }
static int level(void) { return (int)srv->cfg->deflate_level; }

/* Memory for a (de)compressor, counted as zip; asked for on behalf of c
 * (NULL: the worker's own), which may shed others to get it. */
static void *zip_alloc(ws_conn *c, size_t n) {
    void *m = ws_mem_alloc(WS_MEM_ZIP, n);
    if (!m && c && shed_for(c, n)) m = ws_mem_alloc(WS_MEM_ZIP, n);
    return m;
}

static ws_inflate *new_inflater(ws_conn *c, unsigned bits) {
    size_t n = ws_inflate_size(bits);
    void *m = zip_alloc(c, n);
    return m ? ws_inflate_init(m, n, bits) : NULL;
}

/* A compressor is never worth closing anyone for: without memory for
 * one, the message goes plain (always allowed, RFC 7692 §6). So unlike a
 * decompressor, which a compressed message cannot be read without, it
 * sheds nobody. */
static ws_deflate *new_deflater(unsigned bits) {
    size_t n = ws_deflate_size(bits, level());
    void *m = zip_alloc(NULL, n);
    return m ? ws_deflate_init(m, n, bits, level()) : NULL;
}

static void free_inflater(ws_inflate **z, unsigned bits) {
    ws_mem_free(WS_MEM_ZIP, *z, ws_inflate_size(bits));
    *z = NULL;
}

static void free_deflater(ws_deflate **d, unsigned bits) {
    ws_mem_free(WS_MEM_ZIP, *d, ws_deflate_size(bits, level()));
    *d = NULL;
}

/* A worker buffer of ZBUF_SIZE bytes, made on first use. */
static uint8_t *zbuf(uint8_t **b) {
    if (!*b) *b = ws_mem_alloc(WS_MEM_ZIP, ZBUF_SIZE);
    return *b;
}

/* ---------------------------------------------------------------------- */
/* The handshake.                                                          */

int pmd_handshake(ws_conn *c, const ws_http_request *req, char *line, size_t cap) {
    ws_pmd_policy pol;
    ws_pmd_params a;
    int n;

    if (srv->cfg->deflate == WS_DEFLATE_OFF || !req->pmd_offered) return 0;
    /* RFC 7692 §7.1: the shared mode asks both sides to keep no context
     * (the server may always add both parameters); the dedicated mode
     * keeps it unless the client asks otherwise. */
    pol.no_context_takeover = srv->cfg->deflate == WS_DEFLATE_SHARED;
    pol.server_window_bits = srv->cfg->deflate_window;
    pol.client_window_bits = srv->cfg->deflate_window;
    ws_pmd_agree(&req->pmd, &pol, &a);
    n = ws_pmd_write_response(&a, line, cap);
    if (n < 0) return 0; /* cannot happen with the caller's buffer: decline */
    c->pmd = (uint8_t)(PMD_ON | (a.server_no_context_takeover ? PMD_SERVER_NCT : 0) |
                       (a.client_no_context_takeover ? PMD_CLIENT_NCT : 0));
    c->pmd_bits = (uint8_t)(a.server_window_bits | a.client_window_bits << 4);
    return n;
}

void pmd_describe(const ws_conn *c, char *out, size_t cap) {
    if (!(c->pmd & PMD_ON)) {
        snprintf(out, cap, "no extensions");
        return;
    }
    snprintf(out, cap, "permessage-deflate (windows %u/%u bits, context %s)", server_bits(c),
             client_bits(c),
             (c->pmd & (PMD_SERVER_NCT | PMD_CLIENT_NCT)) == (PMD_SERVER_NCT | PMD_CLIENT_NCT)
                 ? "not kept"
             : (c->pmd & (PMD_SERVER_NCT | PMD_CLIENT_NCT)) ? "kept one way"
                                                            : "kept");
}

/* ---------------------------------------------------------------------- */
/* Receiving: the decompressor lent to the engine.                         */

int pmd_zbuf(ws_conn *c, ws_proto_zbuf *zb) {
    unsigned bits = client_bits(c);
    conn_x *x;

    if (!(c->pmd & PMD_ON)) return 0;
    if (!(zb->out = zbuf(&srv->zbuf_in))) return -1;
    zb->cap = ZBUF_SIZE;
    if (c->x && c->x->zin) {
        zb->z = c->x->zin;
        return 1;
    }
    if (!(c->pmd & PMD_CLIENT_NCT)) {
        /* Context takeover: the window is this connection's history. */
        if (!(x = conn_x_get(c)) || !(x->zin = new_inflater(c, bits))) return -1;
        zb->z = x->zin;
        return 1;
    }
    if (!srv->zin_shared[bits]) srv->zin_shared[bits] = new_inflater(c, bits);
    zb->z = srv->zin_shared[bits];
    return zb->z ? 1 : -1;
}

int pmd_after_feed(ws_conn *c, const ws_proto_zbuf *zb) {
    unsigned bits = client_bits(c);
    conn_x *x = c->x;

    if (zb->z == srv->zin_shared[bits] && ws_proto_inflating(&c->proto)) {
        /* A message still being inflated when the read is done: the next
         * read is someone else's turn with the shared decompressor, so this
         * message's state moves to a copy of its own (the state holds no
         * pointers: a copy is a complete decompressor). */
        size_t n = ws_inflate_size(bits);
        void *m;
        if (!(x = conn_x_get(c)) || !(m = zip_alloc(c, n))) return -1;
        memcpy(m, zb->z, n);
        x->zin = m;
    } else if (x && x->zin && (c->pmd & PMD_CLIENT_NCT) && !ws_proto_inflating(&c->proto)) {
        /* That message is over; nothing needs its window any more. */
        free_inflater(&x->zin, bits);
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Sending.                                                                */

int pmd_wants(const ws_conn *c, size_t len) {
    return (c->pmd & PMD_ON) && len >= srv->cfg->deflate_threshold;
}

/* One frame of a compressed message: RSV1 and the opcode on the first
 * (RFC 7692 §6.1), continuations after it. An empty frame is sent only to
 * end the message. */
static void emit(ws_conn *c, int opcode, const uint8_t *data, size_t len, int final) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    int started = (c->flags & F_ZSENT) != 0;
    size_t hl;

    if (!final && len == 0) return;
    hl = ws_frame_header(hdr, final, started ? WS_OP_CONT : opcode, len);
    if (!started) hdr[0] |= WS_RSV1;
    conn_write(c, hdr, hl, data, len);
    if (final)
        c->flags &= (uint16_t)~F_ZSENT;
    else
        c->flags |= F_ZSENT;
}

/* Compress in into the deflate buffer from *zl on, sending each full
 * buffer as a frame. */
static int deflate_into(ws_conn *c, ws_deflate *d, int opcode, const uint8_t *in, size_t len,
                        int flush, size_t *zl) {
    uint8_t *out = srv->zbuf_out;
    for (;;) {
        size_t used, got;
        int rc = ws_deflate_feed(d, in, len, &used, out + *zl, ZBUF_SIZE - *zl, &got, flush);
        if (rc < 0) return rc;
        *zl += got;
        if (used) { /* in may be NULL (len 0): no arithmetic on it */
            in += used;
            len -= used;
        }
        if (rc == WS_DEFLATE_NEED_INPUT) return 0;
        emit(c, opcode, out, *zl, 0);
        *zl = 0;
        if (c->state == C_DEAD) return -1;
    }
}

/* The compressor for this send, or NULL (no memory). */
static ws_deflate *deflater_for(ws_conn *c, int first, int last) {
    unsigned bits = server_bits(c);
    conn_x *x;

    if (!(c->pmd & PMD_SERVER_NCT) || !(first && last)) {
        /* Context takeover: the connection's own, for good. A message in
         * parts: its own, for the message. */
        if (!(x = conn_x_get(c))) return NULL;
        if (!x->zout) x->zout = new_deflater(bits);
        return x->zout;
    }
    if (!srv->zout_shared[bits]) srv->zout_shared[bits] = new_deflater(bits);
    if (srv->zout_shared[bits]) ws_deflate_reset(srv->zout_shared[bits]);
    return srv->zout_shared[bits];
}

int pmd_send(ws_conn *c, int opcode, const ws_piece *pieces, size_t n, int first, int last) {
    ws_deflate *d;
    size_t zl = 0, total = 0;
    int rc = 0;

    if (!zbuf(&srv->zbuf_out) || !(d = deflater_for(c, first, last))) return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = deflate_into(c, d, opcode, pieces[i].data, pieces[i].len, WS_DEFLATE_NO_FLUSH, &zl);
        total += pieces[i].len;
    }
    /* RFC 7692 §7.2.1: the message ends in an empty stored block, its
     * last four bytes removed (WS_DEFLATE_MESSAGE_END). */
    if (rc == 0 && last) rc = deflate_into(c, d, opcode, NULL, 0, WS_DEFLATE_MESSAGE_END, &zl);
    if (rc < 0) {
        /* Frames of this message already out cannot be followed by
         * anything but the rest of it; the compressor failing midway
         * (which its interface rules out) ends the connection. */
        if ((c->flags & F_ZSENT) && c->state != C_DEAD)
            conn_fail(c, WS_CLOSE_INTERNAL_ERROR, "compressor failed in a message");
        return -1;
    }
    if (first && last && zl >= total && !(c->flags & F_ZSENT) && (c->pmd & PMD_SERVER_NCT)) {
        /* No smaller: send it as it is. Without context takeover the
         * compressor is reset per message, so nothing depends on it. */
        uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
        size_t hl = ws_frame_header(hdr, 1, opcode, total);
        conn_write(c, hdr, hl, NULL, 0);
        for (size_t i = 0; i < n; i++) conn_write(c, pieces[i].data, pieces[i].len, NULL, 0);
        return 0;
    }
    if (last)
        emit(c, opcode, srv->zbuf_out, zl, 1);
    else
        emit(c, opcode, srv->zbuf_out, zl, 0);
    if (last && !(first && last) && (c->pmd & PMD_SERVER_NCT) && c->x && c->x->zout)
        free_deflater(&c->x->zout, server_bits(c)); /* the message in parts is done */
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Shared messages: compressed once for every receiver that can take the  */
/* same bytes.                                                             */

/* Compress m as one frame into m->zdata, with the shared compressor for
 * bits, in room no larger than the plain message: if it does not fit, it
 * is not worth sending compressed. Returns 0, or -1 (no memory, or no
 * smaller). */
static int shared_compress(ws_shared *m, unsigned bits) {
    const size_t hmax = WS_MAX_SERVER_HEADER_LEN;
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN], *z;
    size_t used, got, hl;
    ws_deflate *d;
    int rc;

    m->zbits = (uint8_t)bits;
    m->zstate = 2;
    if (!srv->zout_shared[bits]) srv->zout_shared[bits] = new_deflater(bits);
    if (!(d = srv->zout_shared[bits]) || !(z = ws_mem_alloc(WS_MEM_SHARED, hmax + m->len)))
        return -1;
    ws_deflate_reset(d);
    rc = ws_deflate_feed(d, m->data + hmax, m->len, &used, z + hmax, m->len, &got,
                         WS_DEFLATE_MESSAGE_END);
    if (rc != WS_DEFLATE_NEED_INPUT || got >= m->len) {
        ws_mem_free(WS_MEM_SHARED, z, hmax + m->len);
        return -1;
    }
    /* The frame: its header right in front of the compressed bytes, in a
     * block cut down to what it holds. */
    hl = ws_frame_header(hdr, 1, m->opcode, got);
    hdr[0] |= WS_RSV1;
    memmove(z + hl, z + hmax, got);
    memcpy(z, hdr, hl);
    m->zdata = ws_mem_realloc(WS_MEM_SHARED, z, hmax + m->len, hl + got);
    m->zcap = hl + got;
    m->zlen = hl + got;
    m->zstate = 1;
    return 0;
}

const uint8_t *pmd_shared_frame(ws_conn *c, ws_shared *m, size_t *len) {
    unsigned bits = server_bits(c);
    /* Receivers that keep context need bytes of their own (pmd_send), and
     * below the threshold nothing is compressed. */
    if (!pmd_wants(c, m->len) || !(c->pmd & PMD_SERVER_NCT)) return NULL;
    if (m->zstate == 0) shared_compress(m, bits);
    /* Made for another window size: a receiver with a smaller window gets
     * the plain frame (always allowed, RFC 7692 §6). */
    if (m->zstate != 1 || m->zbits > bits) return NULL;
    *len = m->zlen;
    return m->zdata;
}

/* ---------------------------------------------------------------------- */
/* Memory.                                                                 */

size_t pmd_held(const ws_conn *c) {
    size_t n = 0;
    if (c->x && c->x->zin) n += ws_inflate_size(client_bits(c)) + WS_MEM_OVERHEAD;
    if (c->x && c->x->zout) n += ws_deflate_size(server_bits(c), level()) + WS_MEM_OVERHEAD;
    return n;
}

void pmd_release(ws_conn *c) {
    if (!c->x) return;
    if (c->x->zin) free_inflater(&c->x->zin, client_bits(c));
    if (c->x->zout) free_deflater(&c->x->zout, server_bits(c));
}

void pmd_worker_free(void) {
    for (unsigned bits = 0; bits < 16; bits++) {
        if (srv->zin_shared[bits]) free_inflater(&srv->zin_shared[bits], bits);
        if (srv->zout_shared[bits]) free_deflater(&srv->zout_shared[bits], bits);
    }
    ws_mem_free(WS_MEM_ZIP, srv->zbuf_in, ZBUF_SIZE);
    ws_mem_free(WS_MEM_ZIP, srv->zbuf_out, ZBUF_SIZE);
    srv->zbuf_in = srv->zbuf_out = NULL;
}

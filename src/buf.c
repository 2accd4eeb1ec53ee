/*
 * buf.c -- byte buffers and output segments, allocated only while they
 * hold something and counted in the memory budget (mem.h).
 *
 * A buffer grows with the bytes that actually arrive, never with a length
 * a peer announces: a frame header that declares 16 MiB costs nothing
 * until the bytes come. Growth doubles (so a message built from many reads
 * is copied O(log n) times, not O(n)), but when the budget has no room to
 * double, it grows by exactly what is needed.
 */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a buffer costs the budget: its struct and data, plus the header
 * the allocator adds (ws_mem counts that itself). */
size_t buf_cost(const buf *b) { return b ? sizeof(buf) + b->cap + WS_MEM_OVERHEAD : 0; }

buf *buf_new(ws_mem_kind mem, size_t cap) {
    buf *b;
    if (cap > SIZE_MAX - sizeof(buf)) return NULL;
    b = ws_mem_alloc(mem, sizeof(buf) + cap);
    if (!b) return NULL;
    memset(b, 0, sizeof(*b));
    b->cap = cap;
    b->mem = (uint8_t)mem;
    b->fd = -1;
    return b;
}

int buf_reserve(buf **bp, ws_mem_kind mem, size_t need) {
    buf *b = *bp;
    size_t used, cap, want;

    if (!b) {
        /* Small buffers start at 256 bytes; large ones at what is needed. */
        *bp = buf_new(mem, need > 256 ? need : 256);
        return *bp ? 0 : -1;
    }
    if (b->cap - b->len >= need) return 0;
    used = b->len - b->off;
    if (b->off > 0) {
        /* Drop the consumed prefix first; that may be room enough. */
        memmove(b->data, b->data + b->off, used);
        b->len = used;
        b->off = 0;
        if (b->cap - used >= need) return 0;
    }
    if (need > SIZE_MAX / 2 - used) return -1;
    want = used + need;
    cap = b->cap;
    while (cap < want) cap *= 2;
    if (cap != want && !ws_mem_fits(cap - b->cap)) cap = want;
    b = ws_mem_realloc(b->mem, b, sizeof(buf) + b->cap, sizeof(buf) + cap);
    if (!b) return -1;
    b->cap = cap;
    *bp = b;
    return 0;
}

int buf_append(buf **bp, ws_mem_kind mem, const void *data, size_t len) {
    if (len == 0) return 0;
    if (buf_reserve(bp, mem, len) < 0) return -1;
    memcpy((*bp)->data + (*bp)->len, data, len);
    (*bp)->len += len;
    return 0;
}

void buf_free(buf **bp) {
    buf *b = *bp;
    if (!b) return;
    if (b->kind == B_SHARED) shared_unref(b->sh);
    if (b->kind == B_FILE && b->fd >= 0) close(b->fd);
    ws_mem_free(b->mem, b, sizeof(buf) + b->cap);
    *bp = NULL;
}

void buf_free_chain(buf **bp) {
    while (*bp) {
        buf *next = (*bp)->next;
        buf_free(bp);
        *bp = next;
    }
}

/* ---------------------------------------------------------------------- */
/* Shared messages (server.h: ws_shared_*).                                 */

/* The handle stays put while the bytes grow (they are a block of their
 * own), so the creator's pointer stays valid. data[] starts with room for
 * the longest server frame header (RFC 6455 §5.2: 10 bytes), written in
 * front of the payload when the message is first sent. */
ws_shared *ws_shared_new(int opcode) {
    ws_shared *m;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return NULL;
    m = ws_mem_alloc(WS_MEM_SHARED, sizeof(*m));
    if (!m) return NULL;
    memset(m, 0, sizeof(*m));
    m->cap = 256;
    m->data = ws_mem_alloc(WS_MEM_SHARED, WS_MAX_SERVER_HEADER_LEN + m->cap);
    if (!m->data) {
        ws_mem_free(WS_MEM_SHARED, m, sizeof(*m));
        return NULL;
    }
    m->refs = 1;
    m->opcode = (uint8_t)opcode;
    return m;
}

int ws_shared_append(ws_shared *m, const void *data, size_t len) {
    if (!m || m->frozen) return -1;
    if (len > m->cap - m->len) {
        size_t cap = m->cap, want;
        uint8_t *d;
        if (len > SIZE_MAX / 4 - m->len) return -1;
        want = m->len + len;
        while (cap < want) cap *= 2;
        if (cap != want && !ws_mem_fits(cap - m->cap)) cap = want;
        d = ws_mem_realloc(WS_MEM_SHARED, m->data, WS_MAX_SERVER_HEADER_LEN + m->cap,
                           WS_MAX_SERVER_HEADER_LEN + cap);
        if (!d) return -1;
        m->data = d;
        m->cap = cap;
    }
    if (len) memcpy(m->data + WS_MAX_SERVER_HEADER_LEN + m->len, data, len);
    m->len += len;
    return 0;
}

size_t ws_shared_len(const ws_shared *m) { return m ? m->len : 0; }

/* Freeze: write the frame header in front of the payload. */
void shared_freeze(ws_shared *m) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    if (m->frozen) return;
    m->hlen = (uint8_t)ws_frame_header(hdr, 1, m->opcode, m->len);
    memcpy(m->data + WS_MAX_SERVER_HEADER_LEN - m->hlen, hdr, m->hlen);
    m->frozen = 1;
}

void shared_unref(ws_shared *m) {
    if (!m || --m->refs > 0) return;
    ws_mem_free(WS_MEM_SHARED, m->zdata, m->zcap);
    ws_mem_free(WS_MEM_SHARED, m->data, WS_MAX_SERVER_HEADER_LEN + m->cap);
    ws_mem_free(WS_MEM_SHARED, m, sizeof(*m));
}

void ws_shared_release(ws_shared *m) { shared_unref(m); }

/*
 * output.c -- everything that leaves the server: the write batch (one
 * writev() per read event), the per-connection output queue, and the
 * backpressure that stops reading a peer that does not read.
 */
#include "server_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Register for reading unless paused or done reading, and for writing
 * only while output is queued (otherwise every round would report it). */
void conn_update_events(ws_conn *c) {
    unsigned mask = 0;
    if (c->state == C_DEAD) return;
    if (!(c->flags & F_READ_PAUSED)) mask |= WS_EV_READ;
    if (buf_pending(c->out)) mask |= WS_EV_WRITE;
    if (ws_reactor_set(srv->r, &c->io, mask) < 0) conn_kill(c);
}

/* Output was just queued. Backpressure: a peer that does not read its
 * replies is not read either, so it cannot make us queue without bound. */
static void output_queued(ws_conn *c) {
    size_t limit = srv->cfg->max_queue;
    /* While a message streams through in parts, its reply may pile up as
     * far as the message would have been held had it been assembled: a
     * client that writes all of a large message before reading anything
     * (as simple synchronous clients do) must not deadlock against us. */
    if (c->flags & F_RECV_PARTS) limit += srv->cfg->max_message;
    if (buf_pending(c->out) > limit) c->flags |= F_READ_PAUSED;
    conn_update_events(c);
}

/* Queue bytes that could not be written now. */
static void queue_output(ws_conn *c, const uint8_t *data, size_t len) {
    if (len == 0 || c->state == C_DEAD) return;
    if (!buf_pending(c->out)) c->last_tx = now_ms();  /* the stall clock starts */
    if (buf_append(&c->out, data, len) < 0) {
        ws_log(WS_LOG_ERROR, "client #%u: out of memory queueing %zu bytes", c->id, len);
        conn_kill(c);
        return;
    }
    output_queued(c);
}

/* Does [p, p + len) lie inside the len_total bytes at base? Compared as
 * integers: C leaves "<" between pointers into different objects undefined. */
static int inside(const void *base, size_t len_total, const void *p, size_t len) {
    uintptr_t b = (uintptr_t)base, x = (uintptr_t)p;
    return base && x >= b && x - b <= len_total && len <= len_total - (x - b);
}

/* The unwritten tail of a message that sits in c->msg: instead of copying
 * it into c->out, hand the message buffer itself to the output queue, and
 * give the (empty) output buffer to the next message. The two buffers
 * trade places message after message; nothing is copied or allocated. */
static void give_msg_to_out(ws_conn *c, const uint8_t *p, size_t len) {
    buf *m = c->msg, *spare = c->out;
    if (spare) spare->off = spare->len = 0;
    c->msg = spare;
    m->off = (size_t)(p - m->data);
    m->len = m->off + len;
    c->out = m;
    c->last_tx = now_ms();
    output_queued(c);
}

/* Write the iovecs with one writev() and queue what the kernel does not
 * take. With may_swap, no handler is running any more, so a tail that
 * lies in c->msg may be handed over instead of copied. */
static void write_or_queue(ws_conn *c, struct iovec *iov, int n, int may_swap) {
    ssize_t w;
    do {
        w = writev(c->io.fd, iov, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ws_log(WS_LOG_DEBUG, "client #%u: write: %s", c->id, strerror(errno));
            conn_kill(c);
            return;
        }
        w = 0;
    } else if (w > 0) {
        c->last_tx = now_ms();
    }
    for (int i = 0; i < n; i++) {
        size_t done = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
        const uint8_t *rest = (const uint8_t *)iov[i].iov_base + done;
        size_t left = iov[i].iov_len - done;
        w -= (ssize_t)done;
        if (left == 0) continue;
        if (may_swap && i == n - 1 && !buf_pending(c->out) && c->msg &&
            inside(c->msg->data, c->msg->cap, rest, left)) {
            give_msg_to_out(c, rest, left);
            return;
        }
        queue_output(c, rest, left);
        if (c->state == C_DEAD) return;
    }
}

/* Write the batch of the connection being read. */
void batch_write(ws_conn *c, int may_swap) {
    int n = srv->niov;
    srv->niov = 0;
    srv->wlen = 0;
    if (n && c->state != C_DEAD) write_or_queue(c, srv->iov, n, may_swap);
}

/* May a piece join c's batch? If the batch is full it is written out
 * first. Returns 0 when c died or now has output queued: the piece must
 * then be queued behind that output, not batched ahead of it. */
static int batch_room(ws_conn *c, int full) {
    if (full && c->state != C_DEAD && !buf_pending(c->out)) batch_write(c, 0);
    return c->state != C_DEAD && !buf_pending(c->out);
}

/* Copy a and b (either may be empty) into the batch of c, the connection
 * being read, extending the last piece when it ends where the copy starts.
 * alen + blen <= BATCH_COPY_MAX. */
static void batch_copy(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen) {
    uint8_t *dst;
    struct iovec *last;

    if (!batch_room(c, srv->niov == BATCH_IOV || srv->wlen + alen + blen > WRITE_BUF_SIZE)) {
        queue_output(c, a, alen);
        queue_output(c, b, blen);
        return;
    }
    dst = srv->wbuf + srv->wlen;
    if (alen) memcpy(dst, a, alen);
    if (blen) memcpy(dst + alen, b, blen);
    srv->wlen += alen + blen;
    last = srv->niov ? &srv->iov[srv->niov - 1] : NULL;
    if (last && (uint8_t *)last->iov_base + last->iov_len == dst)
        last->iov_len += alen + blen;  /* contiguous with the previous copy */
    else
        srv->iov[srv->niov++] = (struct iovec){ dst, alen + blen };
}

/* Add a large payload to the batch of c. If it lives in the read buffer or
 * in c->msg -- memory that stays put until the batch is written -- it is
 * only pointed to. */
static void batch_ref(ws_conn *c, const void *p, size_t len) {
    if (!batch_room(c, srv->niov == BATCH_IOV)) {
        queue_output(c, p, len);
        return;
    }
    srv->iov[srv->niov++] = (struct iovec){ (void *)p, len };
    /* ws_send() promises the caller's memory is consumed on return: a
     * large payload from anywhere else is written (or queued) now. */
    if (!inside(srv->rbuf, READ_BUF_SIZE, p, len) &&
        !(c->msg && inside(c->msg->data, c->msg->cap, p, len)))
        batch_write(c, 0);
}

/* Does a piece of the batch point into buffer b? */
int batch_points_into(const buf *b) {
    for (int i = 0; b && i < srv->niov; i++)
        if (inside(b->data, b->cap, srv->iov[i].iov_base, srv->iov[i].iov_len)) return 1;
    return 0;
}

/* One piece: copied when small, pointed to (or written) when large. */
static void batch_piece(ws_conn *c, const void *p, size_t len) {
    if (len == 0) return;
    if (len <= BATCH_COPY_MAX)
        batch_copy(c, p, len, NULL, 0);
    else
        batch_ref(c, p, len);
}

/* Send a then b, in order after everything sent before. Replies to the
 * connection being read are batched into one writev() per read event;
 * anything else is written at once. */
void conn_write(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen) {
    struct iovec iov[2];
    int n = 0;

    if (c->state == C_DEAD) return;
    if (buf_pending(c->out)) {
        /* Already behind: keep the order by queueing behind the rest. */
        queue_output(c, a, alen);
        queue_output(c, b, blen);
        return;
    }
    if (srv->wconn == c) {
        /* The usual reply: a header and a small payload, one copy. */
        if (alen + blen <= BATCH_COPY_MAX) {
            batch_copy(c, a, alen, b, blen);
        } else {
            batch_piece(c, a, alen);
            batch_piece(c, b, blen);
        }
        return;
    }
    if (alen) iov[n++] = (struct iovec){ (void *)a, alen };
    if (blen) iov[n++] = (struct iovec){ (void *)b, blen };
    if (n) write_or_queue(c, iov, n, 0);
}

/* End of a read event: one writev() for every reply it produced. The
 * handlers have returned, so the message buffer may be handed over. */
void batch_flush(void) {
    ws_conn *c = srv->wconn;
    srv->wconn = NULL;
    if (c)
        batch_write(c, 1);
    else
        srv->niov = 0, srv->wlen = 0;
}

/* Send a frame whose payload is in one piece. */
void send_frame(ws_conn *c, int opcode, const void *data, size_t len) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    size_t hl = ws_frame_header(hdr, 1, opcode, len);
    conn_write(c, hdr, hl, data, len);
}

/* Send a close frame with code and reason. */
void send_close(ws_conn *c, unsigned code, const char *reason) {
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > WS_MAX_CLOSE_REASON) rlen = WS_MAX_CLOSE_REASON;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rlen) memcpy(payload + 2, reason, rlen);
    send_frame(c, WS_OP_CLOSE, payload, 2 + rlen);
}

void conn_flush(ws_conn *c) {
    buf *b = c->out;
    ssize_t n;

    if (!buf_pending(b)) return;
    do {
        n = write(c->io.fd, b->data + b->off, b->len - b->off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        conn_kill(c);
        return;
    }
    b->off += (size_t)n;
    c->last_tx = now_ms();
    if (buf_pending(b) == 0) b->off = b->len = 0;
    /* Resume reading once half the bound has drained. */
    if ((c->flags & F_READ_PAUSED) && buf_pending(c->out) <= srv->cfg->max_queue / 2)
        c->flags &= (uint8_t)~F_READ_PAUSED;
    if (c->state == C_FLUSHING && !buf_pending(c->out))
        conn_finish(c);
    else
        conn_update_events(c);
}

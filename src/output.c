/*
 * output.c -- everything that leaves the server: the write batch (one
 * writev() per read event), the per-connection output queue, and the
 * backpressure that stops reading a peer that does not read.
 *
 * Two paths, one order:
 *
 *   the batch   replies to the connection being read (srv->wconn) are
 *               gathered in an iovec list -- small ones copied into the
 *               worker's batch buffer, large ones pointed to where they
 *               lie (the read buffer, the message buffer) -- and written
 *               with one writev() when the read has been handled;
 *   the queue   whatever the kernel did not take waits in the connection's
 *               queue, a list of segments: bytes of its own (B_BYTES), a
 *               reference to a shared broadcast message (B_SHARED), or a
 *               range of an open file (B_FILE, sent with sendfile(2)). It
 *               is written when the socket becomes writable, at most
 *               WRITE_EVENT_MAX bytes per event, so one connection with a
 *               large queue cannot hold up the rest of the loop.
 *
 * Once anything is queued, everything after it is queued behind it, so
 * bytes always leave in the order they were sent.
 *
 * Backpressure (RFC 6455 says nothing; a server must): once a connection
 * has --max-queue bytes queued it is no longer read, and the input of the
 * current read that has not been handled yet is parked (websocket.c), so
 * a peer that does not read its replies cannot make the server hold more
 * than --max-queue plus the reply to one frame chunk (QUEUE_SLACK).
 * Reading resumes once half of the queue has drained.
 */
#include "server_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* Register for reading unless paused or done reading, and for writing
 * only while output is queued (otherwise every round would report it). */
void conn_update_events(ws_conn *c) {
    unsigned mask = 0;
    if (c->state == C_DEAD) return;
    if (!(c->flags & F_READ_PAUSED)) mask |= WS_EV_READ;
    if (c->x && c->x->out_bytes) mask |= WS_EV_WRITE;
    if (ws_reactor_set(srv->r, &c->io, mask) < 0) conn_kill(c);
}

/* Output was just queued. Backpressure: a peer that does not read its
 * replies is not read either, so it cannot make us queue without bound. */
static void output_queued(ws_conn *c) {
    if (conn_queued(c) >= srv->cfg->max_queue) c->flags |= F_READ_PAUSED;
    conn_update_events(c);
}

/* Append seg to c's queue; its memory is counted as output from now on.
 * Returns 0, or -1 (seg freed, c killed) if c cannot have a queue. */
int queue_segment(ws_conn *c, buf *seg) {
    conn_x *x;
    size_t pending = buf_pending(seg);

    if (c->state == C_DEAD || !(x = conn_x_get(c))) {
        buf_free(&seg);
        conn_kill(c);
        return -1;
    }
    if (seg->mem != WS_MEM_OUT) {
        ws_mem_move((ws_mem_kind)seg->mem, WS_MEM_OUT, buf_cost(seg));
        seg->mem = WS_MEM_OUT;
    }
    seg->next = NULL;
    if (x->out_tail)
        x->out_tail->next = seg;
    else
        x->out = seg;
    x->out_tail = seg;
    if (!x->out_bytes) c->last_tx = now_ms(); /* the stall clock starts */
    x->out_bytes += pending;
    if (seg->kind != B_BYTES) x->out_ref += pending;
    x->out_held += buf_cost(seg);
    output_queued(c);
    return 0;
}

/* Queue a copy of bytes that could not be written now: into the room left
 * in the last segment, or into a new one. */
static void queue_bytes(ws_conn *c, const uint8_t *data, size_t len) {
    conn_x *x;
    buf *tail, *seg;
    size_t room;

    if (len == 0 || c->state == C_DEAD) return;
    if (!(x = conn_x_get(c))) {
        conn_kill(c);
        return;
    }
    tail = x->out_tail;
    room = tail && tail->kind == B_BYTES ? tail->cap - tail->len : 0;
    if (room) {
        size_t n = len < room ? len : room;
        memcpy(tail->data + tail->len, data, n);
        tail->len += n;
        if (!x->out_bytes) c->last_tx = now_ms();
        x->out_bytes += n;
        data += n;
        len -= n;
        if (len == 0) {
            output_queued(c);
            return;
        }
    }
    /* Segments grow with the queue: a peer that leaves a pong unread holds
     * a kilobyte, not OUT_SEG_MIN. */
    size_t cap = x->out_held < OUT_SEG_MIN ? 1024 : OUT_SEG_MIN;
    if (cap < len) cap = len;
    seg = buf_new(WS_MEM_OUT, cap);
    if (!seg && cap > len) seg = buf_new(WS_MEM_OUT, cap = len);
    if (!seg && shed_for(c, sizeof(buf) + len)) seg = buf_new(WS_MEM_OUT, cap = len);
    if (!seg) {
        /* The budget has no room even after shedding others: this peer's
         * output cannot be held, and half a frame cannot be taken back. */
        ws_log(WS_LOG_WARN, "client #%u: no memory to queue %zu bytes of output: dropping it",
               c->id, len);
        conn_kill(c);
        return;
    }
    memcpy(seg->data, data, len);
    seg->len = len;
    queue_segment(c, seg);
}

/* Free every queued segment (a connection being shed or dropped). */
void queue_drop(ws_conn *c) {
    conn_x *x = c->x;
    if (!x) return;
    buf_free_chain(&x->out);
    x->out_tail = NULL;
    x->out_bytes = x->out_ref = x->out_held = 0;
}

/* Does [p, p + len) lie inside the len_total bytes at base? Compared as
 * integers: C leaves "<" between pointers into different objects undefined. */
static int inside(const void *base, size_t len_total, const void *p, size_t len) {
    uintptr_t b = (uintptr_t)base, x = (uintptr_t)p;
    return base && x >= b && x - b <= len_total && len <= len_total - (x - b);
}

static int inside_buf(const buf *b, const void *p, size_t len) {
    return b && inside(b->data, b->cap, p, len);
}

/* The unwritten tail of a message that sits in the connection's message
 * buffer: instead of copying it, hand the buffer itself to the output
 * queue as a segment; the next message gets a new buffer. */
static void give_msg_to_out(ws_conn *c, const uint8_t *p, size_t len) {
    buf *m = c->x->msg;
    c->x->msg = NULL;
    m->off = (size_t)(p - m->data);
    m->len = m->off + len;
    queue_segment(c, m);
}

/* Write the iovecs with one writev() and queue what the kernel does not
 * take. With may_swap, no handler is running any more, so a tail that
 * lies in the message buffer may be handed over instead of copied. */
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
        c->bytes_out += (uint64_t)w;
    }
    for (int i = 0; i < n; i++) {
        size_t done = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
        const uint8_t *rest = (const uint8_t *)iov[i].iov_base + done;
        size_t left = iov[i].iov_len - done;
        w -= (ssize_t)done;
        if (left == 0) continue;
        if (may_swap && i == n - 1 && c->x && !c->x->out_bytes &&
            inside_buf(c->x->msg, rest, left)) {
            give_msg_to_out(c, rest, left);
            return;
        }
        queue_bytes(c, rest, left);
        if (c->state == C_DEAD) return;
    }
}

/* Write the batch of the connection being read. */
void batch_write(ws_conn *c, int may_swap) {
    int n = srv->niov;
    srv->niov = 0;
    srv->wlen = 0;
    srv->batch_bytes = 0;
    if (n && c->state != C_DEAD) write_or_queue(c, srv->iov, n, may_swap);
}

/* May a piece join c's batch? If the batch is full it is written out
 * first. Returns 0 when c died or now has output queued: the piece must
 * then be queued behind that output, not batched ahead of it. */
static int batch_room(ws_conn *c, int full) {
    if (full && c->state != C_DEAD && !(c->x && c->x->out_bytes)) batch_write(c, 0);
    return c->state != C_DEAD && !(c->x && c->x->out_bytes);
}

/* Copy a and b (either may be empty) into the batch of c, the connection
 * being read, extending the last piece when it ends where the copy starts.
 * alen + blen <= BATCH_COPY_MAX. */
/* The n bytes just written at dst, the end of the batch buffer, join the
 * batch: one more iovec, or the previous one grown when they follow it. */
static inline void batch_commit(uint8_t *dst, size_t n) {
    struct iovec *last = srv->niov ? &srv->iov[srv->niov - 1] : NULL;

    srv->wlen += n;
    srv->batch_bytes += n;
    if (last && (uint8_t *)last->iov_base + last->iov_len == dst)
        last->iov_len += n; /* contiguous with the previous copy */
    else
        srv->iov[srv->niov++] = (struct iovec){ dst, n };
}

static void batch_copy(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen) {
    uint8_t *dst;

    if (!batch_room(c, srv->niov == BATCH_IOV || srv->wlen + alen + blen > WRITE_BUF_SIZE)) {
        queue_bytes(c, a, alen);
        queue_bytes(c, b, blen);
        return;
    }
    dst = srv->wbuf + srv->wlen;
    if (alen) memcpy(dst, a, alen);
    if (blen) memcpy(dst + alen, b, blen);
    batch_commit(dst, alen + blen);
}

/* A whole small frame for c, the connection being read, built where it
 * will be written from: the header straight into the batch buffer and the
 * payload copied once behind it (not a header on the stack copied in a
 * second step). Returns 1 if done; 0 if this is not that case (another
 * connection, output already queued, a large payload, a full batch), and
 * then nothing was written: the caller takes the general path. */
int batch_frame(ws_conn *c, int opcode, const void *data, size_t len) {
    uint8_t *dst;
    size_t hl;

    if (srv->wconn != c || len > BATCH_COPY_MAX - 4 || (c->x && c->x->out_bytes) ||
        srv->niov == BATCH_IOV || srv->wlen + 4 + len > WRITE_BUF_SIZE)
        return 0;
    dst = srv->wbuf + srv->wlen;
    /* RFC 6455 §5.2: FIN, the opcode, and the shortest length form (a
     * payload of at most BATCH_COPY_MAX bytes needs 7 or 16 bits). */
    dst[0] = (uint8_t)(WS_FIN | opcode);
    if (len < WS_LEN16) {
        dst[1] = (uint8_t)len;
        hl = 2;
    } else {
        dst[1] = WS_LEN16;
        dst[2] = (uint8_t)(len >> 8);
        dst[3] = (uint8_t)len;
        hl = 4;
    }
    if (len) memcpy(dst + hl, data, len);
    batch_commit(dst, hl + len);
    return 1;
}

/* Add a large payload to the batch of c. If it lives in the read buffer or
 * in the message buffer -- memory that stays put until the batch is
 * written -- it is only pointed to. */
static void batch_ref(ws_conn *c, const void *p, size_t len) {
    if (!batch_room(c, srv->niov == BATCH_IOV)) {
        queue_bytes(c, p, len);
        return;
    }
    srv->iov[srv->niov++] = (struct iovec){ (void *)p, len };
    srv->batch_bytes += len;
    /* ws_send() promises the caller's memory is consumed on return: a
     * large payload from anywhere else is written (or queued) now. */
    if (!inside(srv->rbuf, READ_BUF_SIZE, p, len) && !(c->x && inside_buf(c->x->msg, p, len)))
        batch_write(c, 0);
}

/* Does a piece of the batch point into buffer b? */
int batch_points_into(const buf *b) {
    for (int i = 0; b && i < srv->niov; i++)
        if (inside_buf(b, srv->iov[i].iov_base, srv->iov[i].iov_len)) return 1;
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
    if (c->x && c->x->out_bytes) {
        /* Already behind: keep the order by queueing behind the rest. */
        queue_bytes(c, a, alen);
        queue_bytes(c, b, blen);
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
        srv->niov = 0, srv->wlen = 0, srv->batch_bytes = 0;
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

/* The queue's first bytes, as iovecs over its byte and shared segments,
 * at most WRITE_EVENT_MAX of them. Returns the count. */
static int queue_iov(const conn_x *x, struct iovec *iov) {
    size_t total = 0;
    int n = 0;
    for (const buf *s = x->out; s && n < QUEUE_IOV && total < WRITE_EVENT_MAX; s = s->next) {
        const uint8_t *base;
        size_t len = s->len - s->off;
        if (s->kind == B_FILE) break;
        /* A shared message's segment sends its plain frame, or (fd 1) the
         * compressed one made for receivers like this one. */
        base = s->kind != B_SHARED ? s->data : s->fd == 1 ? s->sh->zdata : shared_frame(s->sh);
        if (len > WRITE_EVENT_MAX - total) len = WRITE_EVENT_MAX - total;
        iov[n++] = (struct iovec){ (void *)(base + s->off), len };
        total += len;
    }
    return n;
}

/* n bytes of the queue went out: advance, and free finished segments. */
static void queue_consume(ws_conn *c, size_t n) {
    conn_x *x = c->x;
    x->out_bytes -= n;
    while (x->out && (n > 0 || x->out->off == x->out->len)) {
        buf *s = x->out;
        size_t k = s->len - s->off;
        if (k > n) k = n;
        s->off += k;
        n -= k;
        if (s->kind != B_BYTES) x->out_ref -= k;
        if (s->off < s->len) break;
        x->out = s->next;
        if (!x->out) x->out_tail = NULL;
        x->out_held -= buf_cost(s);
        buf_free(&s);
    }
}

/* The socket is writable: write from the queue, a bounded amount. */
void conn_flush(ws_conn *c) {
    conn_x *x = c->x;
    struct iovec iov[QUEUE_IOV];
    ssize_t n;

    if (!x || !x->out_bytes) return;
    do {
        if (x->out->kind == B_FILE) {
            /* RFC 9110 §9.3.1: the file's bytes, straight from the page
             * cache to the socket: the server never holds them. */
            off_t pos = (off_t)x->out->off;
            size_t len = x->out->len - x->out->off;
            n = sendfile(c->io.fd, x->out->fd, &pos, len < WRITE_EVENT_MAX ? len : WRITE_EVENT_MAX);
            if (n == 0) {
                /* The file shrank under us: the head promised bytes we no
                 * longer have, so the response cannot be completed. */
                ws_log(WS_LOG_WARN, "client #%u: file shorter than announced", c->id);
                conn_kill(c);
                return;
            }
        } else {
            n = writev(c->io.fd, iov, queue_iov(x, iov));
        }
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        ws_log(WS_LOG_DEBUG, "client #%u: write: %s", c->id, strerror(errno));
        conn_kill(c);
        return;
    }
    queue_consume(c, (size_t)n);
    c->last_tx = now_ms();
    c->bytes_out += (uint64_t)n;
    /* FLUSHING waits --close-timeout for output to be taken, counted from
     * the last progress: a slow reader gets its whole response (a file,
     * a close frame behind a long queue), one that stops reading does not
     * hold the connection longer than that. */
    if (c->state == C_FLUSHING) c->deadline = c->last_tx + srv->cfg->close_timeout;
    /* Resume reading once half the bound has drained, input parked while
     * the queue was full first. */
    if ((c->flags & F_READ_PAUSED) && x->out_bytes <= srv->cfg->max_queue / 2) {
        c->flags &= (uint16_t)~F_READ_PAUSED;
        c->progress = now_ms(); /* we were not reading: not the peer's delay */
        if (x->park || ws_proto_pending(&c->proto)) feed_parked(c);
        if (c->state == C_DEAD) return;
    }
    if (c->state == C_FLUSHING && !(c->x && c->x->out_bytes))
        conn_finish(c);
    else
        conn_update_events(c);
}

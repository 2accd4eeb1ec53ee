/*
 * server.c -- sockets, connections, buffers, limits, timers, shutdown.
 *
 * This is where bytes meet the network; everything that understands them
 * is in the pure modules (http, proto, frame, utf8). The path of one
 * message, from accept() to the echoed frame:
 *
 *   on_accept()        accept4() a batch of connections, TCP_NODELAY,
 *                      register each for reading (state HANDSHAKE)
 *   on_conn_event()    readable -> conn_read(): one read() into the
 *                      worker's shared 256 KiB buffer
 *   handshake_feed()   http parser; on a complete head: 101 + accept key
 *                      (RFC 6455 §4.2.2), or a file, or a 4xx answer;
 *                      bytes after the head go on to frames_feed()
 *   frames_feed()      proto engine: unmask in place, validate, report
 *                      message chunks, pings, closes, errors
 *   on_data()          a message that arrived whole is handed to the
 *                      handler straight from the read buffer; a split
 *                      one is assembled in the connection's msg buffer
 *   ws_send()          header + payload into the worker's write batch
 *   batch_flush()      one writev() for all replies of this read; what the
 *                      kernel does not take is queued in c->out and
 *                      flushed when the socket becomes writable
 *
 * Connection states (each change happens in one function named below):
 *
 *   HANDSHAKE --101--> OPEN --ws_close/timeout--> CLOSING
 *       |                |  \                        |
 *       | 4xx/file       |   peer close / error      | peer close
 *       v                v                           v
 *   FLUSHING <-----------+---------------------------+
 *       |  all output written: shutdown(SHUT_WR)  (RFC 6455 §7.1.1:
 *       v                                           the server closes first)
 *     DRAIN  -- EOF from peer, or close timeout --> DEAD (freed after the
 *                                                   event batch)
 *
 * Memory: a connection is a 144-byte slot in a table indexed by its fd.
 * It owns no buffer while idle: msg (a message split across reads), out
 * (output the kernel did not take) and ctl (a ping split across reads) are
 * allocated when needed and given back by the sweep once idle.
 */
#include "server.h"

#include "error.h"
#include "frame.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "proto.h"
#include "reactor.h"
#include "rfc6455.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Tunables that are not worth a command-line option.                      */

#define READ_BUF_SIZE   (256 * 1024) /* one read() per readiness event */
#define WRITE_BUF_SIZE  (256 * 1024) /* small replies copied into one writev() */
#define BATCH_COPY_MAX  2048         /* larger payloads are pointed to, not copied */
#define BATCH_IOV       64           /* pieces in one writev() */
#define DIRECT_READ_MIN (64 * 1024)  /* payload left that is read into c->msg directly */
#define ACCEPT_BATCH    64           /* accept4() calls per listener event */
#define CONN_CHUNK      1024         /* connection slots allocated together */
#define SWEEP_MS        250          /* timer granularity */
#define IDLE_FREE_MS    1000         /* give idle buffers back after this */
#define MAX_REJECTING   256          /* 503 answers in flight at once */
#define MAX_FILE_SIZE   (8 * 1024 * 1024)
#define MAX_PROXIES     8

/* ---------------------------------------------------------------------- */
/* A growable byte buffer, allocated only while it holds something.        */

typedef struct buf {
    size_t off;       /* bytes before off were consumed (written out) */
    size_t len;       /* bytes in data[] */
    size_t cap;
    uint8_t data[];
} buf;

static size_t buf_pending(const buf *b) { return b ? b->len - b->off : 0; }

/* Make room for need more bytes after the used part; returns 0 or -1. */
static int buf_reserve(buf **bp, size_t need) {
    buf *b = *bp;
    size_t used = b ? b->len - b->off : 0, cap;

    if (b && b->cap - b->len >= need) return 0;
    if (b && b->off > 0 && b->cap - used >= need) {
        /* Enough room once the consumed prefix is dropped. */
        memmove(b->data, b->data + b->off, used);
        b->len = used;
        b->off = 0;
        return 0;
    }
    cap = b ? b->cap : 0;
    if (cap < 256) cap = 256;
    while (cap - used < need) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    if (b && b->off > 0) {
        memmove(b->data, b->data + b->off, used);
        b->len = used;
        b->off = 0;
    }
    b = realloc(b, sizeof(buf) + cap);
    if (!b) return -1;
    if (!*bp) b->off = b->len = 0;
    b->cap = cap;
    *bp = b;
    return 0;
}

static int buf_append(buf **bp, const void *data, size_t len) {
    if (len == 0) return 0;
    if (buf_reserve(bp, len) < 0) return -1;
    memcpy((*bp)->data + (*bp)->len, data, len);
    (*bp)->len += len;
    return 0;
}

static void buf_free(buf **bp) {
    free(*bp);
    *bp = NULL;
}

/* ---------------------------------------------------------------------- */
/* Connections.                                                            */

enum {
    C_FREE = 0,   /* slot unused */
    C_HANDSHAKE,  /* reading the HTTP request head */
    C_OPEN,       /* WebSocket messages flow */
    C_CLOSING,    /* we sent a close frame and wait for the peer's */
    C_FLUSHING,   /* nothing more to say: write what is queued, then FIN */
    C_DRAIN,      /* FIN sent; read and discard until the peer's FIN */
    C_DEAD        /* to be closed and freed after this event batch */
};

static const char *const state_names[] = {
    "free", "handshake", "open", "closing", "flushing", "drain", "dead"
};

enum {
    F_OPENED      = 1 << 0, /* on_open ran; on_close is still owed */
    F_PING_OUT    = 1 << 1, /* a keep-alive ping awaits any answer */
    F_READ_PAUSED = 1 << 2, /* output over max_queue: not reading */
    F_REJECT      = 1 << 3, /* counted in rejecting, not in nconns */
    F_RECV_PARTS  = 1 << 4, /* the message coming in goes to on_part */
    F_SEND_PARTS  = 1 << 5, /* a message going out in parts is unfinished */
};

/* What only a connection in the handshake needs; freed after it. */
typedef struct handshake {
    ws_http_parser parser;
    struct sockaddr_storage peer;
} handshake;

struct ws_conn {
    ws_io io;             /* fd, registered events; must stay first */
    uint32_t id;          /* for logs */
    uint8_t state;        /* C_* */
    uint8_t flags;        /* F_* */
    uint16_t close_code;  /* code sent or received, for on_close */
    uint32_t last_rx;     /* ms (server clock) of the last byte received */
    uint32_t last_tx;     /* ms of the last write progress, or when output queued */
    uint32_t deadline;    /* ms: end of the handshake, ping, close or drain wait */
    ws_proto proto;       /* the protocol engine's state */
    buf *msg;             /* a message assembled from several reads */
    buf *out;             /* output the kernel has not taken yet */
    buf *ctl;             /* a ping payload split across reads */
    handshake *hs;        /* only in C_HANDSHAKE */
    ws_conn *next_dead;   /* the list freed after the batch */
};

/* One worker's server. Only one runs per process (the worker), so the
 * handler API reaches it through this pointer instead of a field in every
 * connection. */
struct ws_server {
    const ws_server_config *cfg;
    ws_reactor *r;
    ws_io listener;
    int reserve_fd;            /* spare fd, given up to shed load on EMFILE */
    ws_proto_limits limits;
    uint64_t epoch;            /* reactor time when the server started */
    uint8_t *rbuf;             /* shared read buffer */
    uint8_t *wbuf;             /* small pieces copied into the write batch */
    size_t wlen;
    struct iovec iov[BATCH_IOV]; /* the write batch: pieces in wbuf or pointers */
    int niov;
    ws_conn *wconn;            /* the connection the batch belongs to */
    ws_conn **chunks;          /* connection slots, CONN_CHUNK per chunk */
    size_t nchunks;
    int max_fd;                /* highest fd ever given a slot */
    unsigned nconns;           /* connections counted against max_connections */
    unsigned rejecting;        /* 503 answers in flight */
    uint32_t next_id;
    ws_conn *dead;
    int client_dir;            /* directory fd, or -1 */
    int shutting_down;
    uint64_t shutdown_deadline;
    uint64_t emfile_logged;
    size_t nproxies;
    struct sockaddr_storage proxies[MAX_PROXIES];
};

static ws_server *srv;        /* the server of this process */

/* Signals only set these flags; the loop acts on them. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_count;

static uint32_t now_ms(void) {
    return (uint32_t)(ws_reactor_now(srv->r) - srv->epoch);
}

/* Wrap-safe: has time t been reached at now? */
static int reached(uint32_t now, uint32_t t) { return (int32_t)(now - t) >= 0; }

static const ws_handler *handler(void) { return srv->cfg->handler; }

static ws_conn *conn_slot(int fd) {
    size_t chunk = (size_t)fd / CONN_CHUNK;
    if (chunk >= srv->nchunks) {
        size_t n = chunk + 1;
        ws_conn **c = realloc(srv->chunks, n * sizeof(*c));
        if (!c) return NULL;
        memset(c + srv->nchunks, 0, (n - srv->nchunks) * sizeof(*c));
        srv->chunks = c;
        srv->nchunks = n;
    }
    if (!srv->chunks[chunk]) {
        /* calloc of a large block maps fresh zero pages: slots cost
         * memory only once touched. */
        srv->chunks[chunk] = calloc(CONN_CHUNK, sizeof(ws_conn));
        if (!srv->chunks[chunk]) return NULL;
    }
    if (fd > srv->max_fd) srv->max_fd = fd;
    return &srv->chunks[chunk][(size_t)fd % CONN_CHUNK];
}

static void format_addr(const struct sockaddr *sa, char *out, size_t cap) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

/* Tell the handler the WebSocket connection is over, exactly once. */
static void notify_close(ws_conn *c, unsigned code) {
    if (!(c->flags & F_OPENED)) return;
    c->flags &= (uint8_t)~F_OPENED;
    ws_log(WS_LOG_INFO, "client #%u disconnected (code %u)", c->id, code);
    if (handler()->on_close) handler()->on_close(c, code, handler()->ud);
}

/* Drop the connection. Never frees here: the slot may still be named by
 * an event later in this batch, or by the handler's loop that is calling
 * us; conn_reap() frees it after the batch. */
static void conn_kill(ws_conn *c) {
    if (c->state == C_DEAD) return;
    c->state = C_DEAD;
    c->next_dead = srv->dead;
    srv->dead = c;
}

static void conn_reap(ws_reactor *r, void *data) {
    (void)r;
    (void)data;
    while (srv->dead) {
        ws_conn *c = srv->dead;
        srv->dead = c->next_dead;
        /* 1006: "closed abnormally, without sending or receiving a Close
         * control frame" (RFC 6455 §7.4.1), unless a code was exchanged. */
        notify_close(c, c->close_code ? c->close_code : WS_CLOSE_ABNORMAL);
        ws_reactor_del(srv->r, &c->io);
        close(c->io.fd);
        buf_free(&c->msg);
        buf_free(&c->out);
        buf_free(&c->ctl);
        free(c->hs);
        if (c->flags & F_REJECT)
            srv->rejecting--;
        else
            srv->nconns--;
        memset(c, 0, sizeof(*c));
    }
}

/* Register for reading unless paused or done reading, and for writing
 * only while output is queued (otherwise every round would report it). */
static void conn_update_events(ws_conn *c) {
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
static void batch_write(ws_conn *c, int may_swap) {
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
static int batch_points_into(const buf *b) {
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
static void conn_write(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen) {
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
static void batch_flush(void) {
    ws_conn *c = srv->wconn;
    srv->wconn = NULL;
    if (c)
        batch_write(c, 1);
    else
        srv->niov = 0, srv->wlen = 0;
}

/* Everything this connection will ever send is queued: FIN after it. */
static void conn_finish(ws_conn *c) {
    if (c->state == C_DEAD) return;
    c->state = C_FLUSHING;
    c->deadline = now_ms() + srv->cfg->close_timeout;
    if (srv->wconn == c) batch_flush();
    if (c->state == C_DEAD) return;
    if (!buf_pending(c->out)) {
        /* RFC 6455 §7.1.1: the server should close the TCP connection
         * first. shutdown() sends our FIN now; reading on until the
         * peer's FIN (instead of close()) makes sure the close frame is
         * not destroyed by a reset if the peer still had bytes in flight. */
        shutdown(c->io.fd, SHUT_WR);
        c->state = C_DRAIN;
        c->flags &= (uint8_t)~F_READ_PAUSED;
    }
    conn_update_events(c);
}

/* Send a frame whose payload is in one piece. */
static void send_frame(ws_conn *c, int opcode, const void *data, size_t len) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    size_t hl = ws_frame_header(hdr, 1, opcode, len);
    conn_write(c, hdr, hl, data, len);
}

/* Send a close frame with code and reason. */
static void send_close(ws_conn *c, unsigned code, const char *reason) {
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > WS_MAX_CLOSE_REASON) rlen = WS_MAX_CLOSE_REASON;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rlen) memcpy(payload + 2, reason, rlen);
    send_frame(c, WS_OP_CLOSE, payload, 2 + rlen);
}

/* RFC 6455 §7.1.7 "Fail the WebSocket Connection": send the close frame
 * that names the problem, and close without waiting for a reply. */
static void conn_fail(ws_conn *c, unsigned code, const char *why) {
    ws_log(WS_LOG_INFO, "client #%u: %s: closing with %u", c->id, why, code);
    c->close_code = (uint16_t)code;
    send_close(c, code, why);
    notify_close(c, code);
    conn_finish(c);
}

/* ---------------------------------------------------------------------- */
/* The handler API.                                                        */

int ws_send_pieces(ws_conn *c, int opcode, const ws_piece *pieces, size_t n) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    size_t total = 0;

    if (!c || c->state != C_OPEN || (c->flags & F_SEND_PARTS)) return -1;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return -1;
    for (size_t i = 0; i < n; i++) total += pieces[i].len;
    size_t hl = ws_frame_header(hdr, 1, opcode, total);
    if (n == 1) {
        conn_write(c, hdr, hl, pieces[0].data, pieces[0].len);
        return 0;
    }
    conn_write(c, hdr, hl, NULL, 0);
    for (size_t i = 0; i < n; i++) conn_write(c, pieces[i].data, pieces[i].len, NULL, 0);
    return 0;
}

int ws_send(ws_conn *c, int opcode, const void *data, size_t len) {
    ws_piece p = { data, len };
    return ws_send_pieces(c, opcode, &p, 1);
}

int ws_send_part(ws_conn *c, int opcode, int first, int last, const void *data, size_t len) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];

    if (!c || c->state != C_OPEN) return -1;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return -1;
    /* A first part starts a message only when none is unfinished; a later
     * part needs one. */
    if (!first != !!(c->flags & F_SEND_PARTS)) return -1;
    if (last)
        c->flags &= (uint8_t)~F_SEND_PARTS;
    else
        c->flags |= F_SEND_PARTS;
    /* RFC 6455 §5.4: the first frame has the message's opcode, the rest
     * are continuations (opcode 0); FIN marks the final fragment. */
    size_t hl = ws_frame_header(hdr, last != 0, first ? opcode : WS_OP_CONT, len);
    conn_write(c, hdr, hl, data, len);
    return 0;
}

/* Start the closing handshake from our side (RFC 6455 §7.1.2). */
int ws_close(ws_conn *c, unsigned code, const char *reason) {
    if (!c || c->state != C_OPEN) return -1;
    ws_log(WS_LOG_DEBUG, "client #%u: closing with %u", c->id, code);
    c->close_code = (uint16_t)code;
    send_close(c, code, reason);
    c->state = C_CLOSING;
    c->deadline = now_ms() + srv->cfg->close_timeout;
    return 0;
}

uint32_t ws_conn_id(const ws_conn *c) { return c->id; }
size_t ws_conn_queued(const ws_conn *c) { return buf_pending(c->out); }
size_t ws_conn_queue_limit(const ws_conn *c) {
    (void)c;
    return srv->cfg->max_queue;
}

const char *ws_conn_peer(const ws_conn *c) {
    static char text[INET6_ADDRSTRLEN + 8];
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(c->io.fd, (struct sockaddr *)&ss, &len) < 0) return "?";
    format_addr((struct sockaddr *)&ss, text, sizeof(text));
    return text;
}

/* ---------------------------------------------------------------------- */
/* WebSocket frames.                                                       */

/* Log a received message: size and a short preview, as the tutorial's
 * server prints what it received. Text is valid UTF-8 (the engine checked),
 * so it is shown as it is, control characters as '.', and cut on a
 * character boundary; binary is shown as hex. */
static void log_message(const ws_conn *c, const uint8_t *data, size_t len, int is_text,
                        int in_parts) {
    char preview[100];
    size_t n = 0, i = 0;
    if (!ws_log_enabled(WS_LOG_INFO)) return;
    if (is_text) {
        for (; i < len && i < 60; i++) {
            /* Stop before a lead byte once 40 bytes are shown. */
            if (i >= 40 && (data[i] & 0xC0) != 0x80) break;
            preview[n++] = (data[i] < 0x20 || data[i] == 0x7f) ? '.' : (char)data[i];
        }
        while (i < len && (data[i] & 0xC0) == 0x80 && n < sizeof(preview) - 1) preview[n++] = (char)data[i++];
    } else {
        static const char hex[] = "0123456789abcdef";
        for (; i < len && i < 16; i++) {
            preview[n++] = hex[data[i] >> 4];
            preview[n++] = hex[data[i] & 15];
        }
    }
    preview[n] = '\0';
    ws_log(WS_LOG_INFO, "client #%u: received %s message, %s%zu bytes: %s%s%s%s", c->id,
           is_text ? "text" : "binary", in_parts ? "in parts, first " : "", len,
           is_text ? "\"" : "", preview, is_text ? "\"" : "", i < len ? "..." : "");
}

static void deliver(ws_conn *c, const uint8_t *data, size_t len, int is_text) {
    log_message(c, data, len, is_text, 0);
    if (handler()->on_message) handler()->on_message(c, data, len, is_text, handler()->ud);
}

static void on_data(ws_conn *c, const ws_proto_event *ev) {
    int is_text = ev->opcode == WS_OP_TEXT;
    buf *m;

    /* The common case: the whole message is in the read buffer. */
    if (ev->first && ev->last) {
        deliver(c, ev->data, ev->len, is_text);
        return;
    }
    /* A large message, to a handler that takes it in parts: each chunk is
     * passed on straight from the read buffer, while it is still in the
     * CPU's cache, and nothing is assembled. */
    if ((c->flags & F_RECV_PARTS) ||
        (ev->first && handler()->on_part && ev->size_hint >= WS_PART_MIN)) {
        if (ev->first) {
            log_message(c, ev->data, ev->len, is_text, 1);
            c->flags |= F_RECV_PARTS;
        }
        if (ev->last) c->flags &= (uint8_t)~F_RECV_PARTS;
        handler()->on_part(c, ev->data, ev->len, ev->first, ev->last, is_text, handler()->ud);
        return;
    }
    /* The batch may still point into c->msg (the echo of the previous
     * message): write it before the buffer is reused. */
    if (srv->wconn == c && batch_points_into(c->msg)) {
        batch_write(c, 1);
        if (c->state == C_DEAD) return;
    }
    if (ev->first && c->msg) c->msg->off = c->msg->len = 0;
    /* Reserve what the frame headers announced (bounded by max_message,
     * which the engine checked), so a large message is one allocation. */
    size_t have = c->msg ? c->msg->len : 0;
    size_t want = ev->size_hint > have ? (size_t)ev->size_hint - have : 1;
    if (buf_reserve(&c->msg, want) < 0) {
        conn_fail(c, WS_CLOSE_INTERNAL_ERROR, "out of memory");
        return;
    }
    m = c->msg;
    /* conn_read() may have read this chunk straight into place. */
    if (ev->len && ev->data != m->data + m->len) memcpy(m->data + m->len, ev->data, ev->len);
    m->len += ev->len;
    if (!ev->last) return;
    deliver(c, m->data, m->len, is_text);
    /* The reply may point into the buffer until the batch is written;
     * the bytes stay, only the length is reset. */
    if (c->msg) c->msg->len = 0;
}

static void on_ping(ws_conn *c, const ws_proto_event *ev) {
    /* RFC 6455 §5.5.2: answer with a pong carrying the same payload. */
    if (ev->first && ev->last) {
        send_frame(c, WS_OP_PONG, ev->data, ev->len);
        return;
    }
    if (ev->first && c->ctl) c->ctl->len = 0;
    if (buf_append(&c->ctl, ev->data, ev->len) < 0) {
        conn_fail(c, WS_CLOSE_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (ev->last) {
        send_frame(c, WS_OP_PONG, c->ctl->data, c->ctl->len);
        buf_free(&c->ctl);
    }
}

static void on_peer_close(ws_conn *c, unsigned code) {
    if (c->state == C_OPEN) {
        /* RFC 6455 §5.5.1: reply with a close, echoing the status code;
         * an empty close is answered with 1000 (normal closure). */
        unsigned reply = code ? code : WS_CLOSE_NORMAL;
        send_close(c, reply, NULL);
        c->close_code = (uint16_t)(code ? code : WS_CLOSE_NO_STATUS);
    }
    /* In C_CLOSING this was the answer to our close: handshake complete. */
    notify_close(c, c->close_code);
    conn_finish(c);
}

static void frames_feed(ws_conn *c, uint8_t *p, size_t len) {
    size_t off = 0;
    while (off < len && (c->state == C_OPEN || c->state == C_CLOSING)) {
        ws_proto_event ev;
        off += ws_proto_feed(&c->proto, &srv->limits, p + off, len - off, &ev);
        switch (ev.type) {
        case WS_PROTO_EV_DATA:
            /* After our close, messages are no longer delivered (§7.1.2
             * says we stop sending; the peer's data is moot). */
            if (c->state == C_OPEN) on_data(c, &ev);
            break;
        case WS_PROTO_EV_PING:
            if (c->state == C_OPEN) on_ping(c, &ev);
            break;
        case WS_PROTO_EV_PONG:
            break;  /* liveness was noted when the bytes arrived */
        case WS_PROTO_EV_CLOSE:
            on_peer_close(c, ev.close_code);
            break;
        case WS_PROTO_EV_ERROR:
            if (c->state == C_OPEN)
                conn_fail(c, ev.close_code, ws_strerror(ev.error));
            else
                conn_finish(c);
            break;
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* The HTTP side: handshake, files, errors.                                */

/* Answer an HTTP error and close. */
static void http_error(ws_conn *c, int status, const char *why) {
    char resp[512];
    int n = ws_http_write_error(resp, sizeof(resp), status);
    ws_log(WS_LOG_INFO, "client #%u: HTTP %d (%s)", c->id, status, why);
    if (n > 0) conn_write(c, resp, (size_t)n, NULL, 0);
    conn_finish(c);
}

static const char *content_type(const char *path) {
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".md", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Map a request target to a relative path under the client directory.
 * Only [A-Za-z0-9._~/-] after percent-decoding, no segment starting with
 * '.' (so no "..", no hidden files); "/" and ".../" mean index.html.
 * Returns 0, or -1 for a target that cannot name a file here. */
static int target_to_path(const char *target, char *out, size_t cap) {
    size_t n = 0;
    const char *t = target;
    char prev = '/';

    if (*t != '/') return -1;  /* origin-form only (RFC 9112 §3.2.1) */
    t++;
    for (; *t && *t != '?' && *t != '#'; t++) {
        char ch = *t;
        if (ch == '%') {
            int hi = hexval(t[1]), lo = hi < 0 ? -1 : hexval(t[2]);
            if (lo < 0) return -1;
            ch = (char)(hi * 16 + lo);
            t += 2;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '~' || ch == '-' || ch == '/'))
            return -1;
        if (ch == '.' && prev == '/') return -1;
        if (ch == '/' && prev == '/') continue;  /* collapse "//" */
        if (n + 1 >= cap) return -1;
        out[n++] = ch;
        prev = ch;
    }
    if (n == 0 || prev == '/') {
        const char *index = "index.html";
        if (n + strlen(index) + 1 > cap) return -1;
        memcpy(out + n, index, strlen(index));
        n += strlen(index);
    }
    out[n] = '\0';
    return 0;
}

/* A plain GET or HEAD: the HTML client's files (DESIGN: the server itself
 * serves the page that talks to it). Small files, read whole. */
static void serve_file(ws_conn *c, const ws_http_request *req) {
    char path[WS_HTTP_MAX_TARGET + 16], head[512];
    struct stat st;
    int fd = -1, n;
    buf **out = &c->out;

    if (srv->client_dir < 0 || target_to_path(req->target, path, sizeof(path)) < 0) {
        http_error(c, 404, "no such file");
        return;
    }
    fd = openat(srv->client_dir, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        http_error(c, 404, "no such file");
        return;
    }
    if (st.st_size > MAX_FILE_SIZE) {
        close(fd);
        http_error(c, 403, "file too large to serve");
        return;
    }
    n = ws_http_write_head(head, sizeof(head), 200, content_type(path), (size_t)st.st_size);
    ws_log(WS_LOG_INFO, "client #%u: GET %s -> 200 (%lld bytes)", c->id, req->target,
           (long long)st.st_size);
    conn_write(c, head, (size_t)n, NULL, 0);
    if (req->method == WS_HTTP_METHOD_GET && st.st_size > 0 && c->state != C_DEAD) {
        /* Read the file into the output queue; the response is written
         * from there as the socket accepts it. */
        if (srv->wconn == c) batch_flush();
        size_t size = (size_t)st.st_size, got = 0;
        if (c->state != C_DEAD && buf_reserve(out, size) == 0) {
            while (got < size) {
                ssize_t r = read(fd, (*out)->data + (*out)->len + got, size - got);
                if (r <= 0) break;
                got += (size_t)r;
            }
            if (got == size) {
                if (!buf_pending(*out)) c->last_tx = now_ms();
                (*out)->len += got;
            } else {
                conn_kill(c);  /* the head promised bytes we cannot give */
            }
        } else {
            conn_kill(c);
        }
    }
    close(fd);
    conn_finish(c);
}

/* Is the peer one of --trust-proxy's addresses? A socket listening on
 * "::" sees IPv4 peers as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), so
 * those are compared as the IPv4 address they carry. */
static int is_trusted_proxy(const struct sockaddr_storage *peer) {
    struct in_addr v4;
    const struct in6_addr *v6 = NULL;
    int family = peer->ss_family;

    if (family == AF_INET) {
        v4 = ((const struct sockaddr_in *)peer)->sin_addr;
    } else if (family == AF_INET6) {
        v6 = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(v6)) {
            memcpy(&v4, v6->s6_addr + 12, sizeof(v4));
            family = AF_INET;
        }
    }
    for (size_t i = 0; i < srv->nproxies; i++) {
        const struct sockaddr_storage *p = &srv->proxies[i];
        if (p->ss_family != family) continue;
        if (family == AF_INET &&
            memcmp(&((const struct sockaddr_in *)p)->sin_addr, &v4, sizeof(v4)) == 0)
            return 1;
        if (family == AF_INET6 &&
            memcmp(&((const struct sockaddr_in6 *)p)->sin6_addr, v6, sizeof(*v6)) == 0)
            return 1;
    }
    return 0;
}

/* A valid upgrade request: switch protocols (RFC 6455 §4.2.2). */
static void upgrade(ws_conn *c) {
    const ws_http_request *req = &c->hs->parser.req;
    char accept[WS_HTTP_ACCEPT_LEN + 1], resp[256], peer[INET6_ADDRSTRLEN + 8];
    int n;

    ws_http_accept_key(req->key, req->key_len, accept);
    n = ws_http_write_101(resp, sizeof(resp), accept);
    conn_write(c, resp, (size_t)n, NULL, 0);

    format_addr((struct sockaddr *)&c->hs->peer, peer, sizeof(peer));
    if (req->forwarded_for[0] && is_trusted_proxy(&c->hs->peer))
        ws_log(WS_LOG_INFO, "client #%u connected from %s (via proxy %s)", c->id,
               req->forwarded_for, peer);
    else
        ws_log(WS_LOG_INFO, "client #%u connected from %s", c->id, peer);

    free(c->hs);
    c->hs = NULL;
    c->state = C_OPEN;
    c->flags |= F_OPENED;
    ws_proto_init(&c->proto);
    if (handler()->on_open) handler()->on_open(c, handler()->ud);
}

static void handshake_feed(ws_conn *c, uint8_t *p, size_t len) {
    size_t used = 0;
    int rc = ws_http_feed(&c->hs->parser, p, len, &used);

    switch (rc) {
    case WS_HTTP_AGAIN:
        return;
    case WS_E_HTTP_TOO_LARGE:
        http_error(c, 431, "request head too large");
        return;
    case WS_E_HTTP_URI_LONG:
        http_error(c, 414, "request target too long");
        return;
    case WS_E_HTTP_VERSION:
        http_error(c, 505, "HTTP version not supported");
        return;
    case WS_HTTP_DONE:
        break;
    default:
        http_error(c, 400, ws_strerror(rc));
        return;
    }
    rc = ws_http_classify(&c->hs->parser.req);
    if (rc == WS_HTTP_PLAIN) {
        serve_file(c, &c->hs->parser.req);
    } else if (rc == WS_HTTP_UPGRADE) {
        upgrade(c);
        /* Bytes after the head are the first frames (RFC 6455 §4.2.2
         * lets a client send them right behind the request). */
        if (used < len && c->state == C_OPEN) frames_feed(c, p + used, len - used);
    } else {
        http_error(c, rc, "bad handshake");
    }
}

/* ---------------------------------------------------------------------- */
/* Events.                                                                 */

static void conn_read(ws_conn *c) {
    uint8_t *dst = srv->rbuf;
    size_t cap = READ_BUF_SIZE;
    uint64_t left;
    ssize_t n;

    /* In the middle of a large message whose buffer is already reserved,
     * read the payload straight into place: the bytes are unmasked and
     * validated there and never copied. Only up to the end of the frame,
     * so whatever follows goes through the shared buffer as usual. (A
     * message passed on in parts has no such buffer: it streams through
     * the shared one.) */
    if (c->state == C_OPEN && !(c->flags & F_RECV_PARTS) && c->msg &&
        (left = ws_proto_data_left(&c->proto)) >= DIRECT_READ_MIN &&
        c->msg->cap - c->msg->len >= DIRECT_READ_MIN) {
        dst = c->msg->data + c->msg->len;
        cap = c->msg->cap - c->msg->len;
        if (left < cap) cap = (size_t)left;
    }
    do {
        n = read(c->io.fd, dst, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        ws_log(WS_LOG_DEBUG, "client #%u: read: %s", c->id, strerror(errno));
        conn_kill(c);
        return;
    }
    if (n == 0) {
        /* The peer's FIN. In DRAIN this is the clean end; anywhere else
         * the TCP connection dropped under an unfinished exchange. */
        if (c->state != C_DRAIN)
            ws_log(WS_LOG_DEBUG, "client #%u: connection closed by peer in %s state", c->id,
                   state_names[c->state]);
        conn_kill(c);
        return;
    }
    c->last_rx = now_ms();
    c->flags &= (uint8_t)~F_PING_OUT;  /* any byte proves the peer is alive */

    srv->wconn = c;
    switch (c->state) {
    case C_HANDSHAKE:
        handshake_feed(c, srv->rbuf, (size_t)n);
        break;
    case C_OPEN:
    case C_CLOSING:
        frames_feed(c, dst, (size_t)n);
        break;
    default:
        break;  /* FLUSHING, DRAIN: nothing more is read, only discarded */
    }
    batch_flush();
}

static void conn_flush(ws_conn *c) {
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

static void on_conn_event(ws_reactor *r, ws_io *io, unsigned events) {
    ws_conn *c = (ws_conn *)io;  /* io is the first member */
    (void)r;
    if (c->state == C_DEAD || c->state == C_FREE) return;
    if (events & WS_EV_WRITE) conn_flush(c);
    if (c->state == C_DEAD) return;
    /* epoll reports errors and hang-ups even when reading is paused; a
     * paused connection would never read to find out, so drop it here. */
    if ((events & WS_EV_ERROR) && (c->flags & F_READ_PAUSED)) {
        conn_kill(c);
        return;
    }
    if ((events & (WS_EV_READ | WS_EV_ERROR)) && !(c->flags & F_READ_PAUSED)) conn_read(c);
}

/* A connection over max_connections: a clean 503 before any upgrade. */
static void reject(int fd) {
    char resp[256];
    int n = ws_http_write_error(resp, sizeof(resp), 503);
    if (srv->rejecting >= MAX_REJECTING) {
        close(fd);
        return;
    }
    ws_conn *c = conn_slot(fd);
    if (!c) {
        close(fd);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->io = (ws_io){ on_conn_event, fd, 0 };
    c->id = ++srv->next_id;
    c->flags = F_REJECT;
    c->state = C_FLUSHING;
    c->last_rx = c->last_tx = now_ms();
    srv->rejecting++;
    if (ws_reactor_add(srv->r, &c->io, WS_EV_READ) < 0) {
        conn_kill(c);
        return;
    }
    ws_log(WS_LOG_WARN, "client #%u: over --max-connections (%u): 503", c->id,
           srv->cfg->max_connections);
    conn_write(c, resp, (size_t)n, NULL, 0);
    conn_finish(c);
}

static void on_accept(ws_reactor *r, ws_io *io, unsigned events) {
    (void)r;
    (void)events;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors. The pending connection would keep
                 * the listener readable and the loop spinning; give up
                 * the spare fd, accept and close it, take the spare back. */
                if (ws_reactor_now(srv->r) - srv->emfile_logged > 1000) {
                    ws_log(WS_LOG_WARN, "out of file descriptors; refusing connections");
                    srv->emfile_logged = ws_reactor_now(srv->r);
                }
                if (srv->reserve_fd >= 0) {
                    close(srv->reserve_fd);
                    fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
                    if (fd >= 0) close(fd);
                    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                ws_log(WS_LOG_WARN, "accept: %s", strerror(errno));
            }
            return;
        }
        int one = 1;
        /* Small replies go out at once instead of waiting for Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (srv->nconns >= srv->cfg->max_connections) {
            reject(fd);
            continue;
        }
        ws_conn *c = conn_slot(fd);
        handshake *hs = malloc(sizeof(*hs));
        if (!c || !hs) {
            free(hs);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->io = (ws_io){ on_conn_event, fd, 0 };
        c->id = ++srv->next_id;
        c->state = C_HANDSHAKE;
        c->hs = hs;
        ws_http_parser_init(&hs->parser, srv->cfg->max_header);
        memcpy(&hs->peer, &ss, sizeof(ss));
        c->last_rx = c->last_tx = now_ms();
        c->deadline = c->last_rx + srv->cfg->handshake_timeout;
        srv->nconns++;
        if (ws_reactor_add(srv->r, &c->io, WS_EV_READ) < 0) conn_kill(c);
        if (ws_log_enabled(WS_LOG_DEBUG)) {
            char peer[INET6_ADDRSTRLEN + 8];
            format_addr((struct sockaddr *)&ss, peer, sizeof(peer));
            ws_log(WS_LOG_DEBUG, "client #%u: TCP connection from %s", c->id, peer);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Timers: one sweep over all connections every SWEEP_MS.                   */

static void sweep_conn(ws_conn *c, uint32_t now) {
    const ws_server_config *cfg = srv->cfg;

    switch (c->state) {
    case C_HANDSHAKE:
        if (cfg->handshake_timeout && reached(now, c->deadline)) {
            srv->wconn = c;
            http_error(c, 408, "handshake timeout");
            batch_flush();
        }
        return;
    case C_OPEN:
        if ((c->flags & F_PING_OUT) && cfg->ping_timeout && reached(now, c->deadline)) {
            /* Documented choice: 1001 "going away" -- from the peer's side
             * it is the server that gives up on the connection. */
            ws_log(WS_LOG_INFO, "client #%u: no answer to ping: closing", c->id);
            ws_close(c, WS_CLOSE_GOING_AWAY, "ping timeout");
        } else if (!(c->flags & F_PING_OUT) && cfg->ping_interval &&
                   reached(now, c->last_rx + cfg->ping_interval)) {
            /* RFC 6455 §5.5.2: a ping as a keep-alive; any bytes from the
             * peer (the pong, or anything else) clear F_PING_OUT. */
            send_frame(c, WS_OP_PING, "ws6455", 6);
            c->flags |= F_PING_OUT;
            c->deadline = now + cfg->ping_timeout;
        }
        break;
    case C_CLOSING:
    case C_DRAIN:
        if (reached(now, c->deadline)) {
            ws_log(WS_LOG_DEBUG, "client #%u: close timeout in %s state", c->id,
                   state_names[c->state]);
            conn_kill(c);
            return;
        }
        break;
    default:
        break;
    }
    /* A peer that leaves our output unread is dropped after send_timeout. */
    if (c->state != C_DEAD && buf_pending(c->out) && cfg->send_timeout &&
        reached(now, c->last_tx + cfg->send_timeout)) {
        ws_log(WS_LOG_INFO, "client #%u: peer not reading for %u ms: dropping (%zu bytes queued)",
               c->id, cfg->send_timeout, buf_pending(c->out));
        conn_kill(c);
        return;
    }
    /* Idle connections hold no buffers. */
    if (reached(now, c->last_rx + IDLE_FREE_MS)) {
        if (c->msg && c->msg->len == 0) buf_free(&c->msg);
        if (c->out && !buf_pending(c->out)) buf_free(&c->out);
    }
}

/* Call fn for every live connection (neither free nor already dead). */
static void each_conn(void (*fn)(ws_conn *c, uint32_t now), uint32_t now) {
    for (size_t k = 0; k < srv->nchunks; k++) {
        if (!srv->chunks[k]) continue;
        for (size_t i = 0; i < CONN_CHUNK; i++) {
            ws_conn *c = &srv->chunks[k][i];
            if (c->state != C_FREE && c->state != C_DEAD) fn(c, now);
        }
    }
}

/* SIGTERM: open connections get close 1001, half-done handshakes go. */
static void shutdown_conn(ws_conn *c, uint32_t now) {
    if (c->state == C_OPEN) {
        ws_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
        c->deadline = now + srv->cfg->shutdown_timeout;
    } else if (c->state == C_HANDSHAKE) {
        conn_kill(c);
    }
}

static void kill_conn(ws_conn *c, uint32_t now) {
    (void)now;
    conn_kill(c);
}

static void begin_shutdown(void) {
    ws_log(WS_LOG_INFO, "shutting down: closing %u connection(s)", srv->nconns);
    srv->shutting_down = 1;
    srv->shutdown_deadline = ws_reactor_now(srv->r) + srv->cfg->shutdown_timeout;
    if (srv->listener.fd >= 0) {
        ws_reactor_del(srv->r, &srv->listener);
        close(srv->listener.fd);
        srv->listener.fd = -1;
    }
    each_conn(shutdown_conn, now_ms());
}

static long on_sweep(ws_reactor *r, void *data) {
    (void)r;
    (void)data;
    if (stop_requested && !srv->shutting_down) begin_shutdown();
    each_conn(sweep_conn, now_ms());
    return SWEEP_MS;
}

/* ---------------------------------------------------------------------- */
/* Start-up, the loop, workers, signals.                                   */

static void on_signal(int sig) {
    stop_requested = 1;
    /* A second Ctrl-C means "now". */
    if (sig == SIGINT && ++stop_count >= 2) _exit(130);
}

static int install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) return -1;
    /* A peer that resets while we write must not kill the process:
     * write() then fails with EPIPE and that connection alone is dropped. */
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

void ws_server_config_defaults(ws_server_config *cfg) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "0.0.0.0";
    cfg->port = 8080;
    cfg->client_dir = "client";
    cfg->handler = ws_handler_by_name("echo");
    cfg->max_message = 16u << 20;
    cfg->max_fragments = 100000;
    cfg->max_header = WS_HTTP_DEFAULT_MAX_HEAD;
    cfg->max_queue = 4u << 20;
    cfg->max_connections = 10000;
    cfg->workers = ncpu > 0 ? (unsigned)ncpu : 1;
    cfg->handshake_timeout = 10000;
    cfg->ping_interval = 30000;
    cfg->ping_timeout = 10000;
    cfg->close_timeout = 5000;
    cfg->send_timeout = 30000;
    cfg->shutdown_timeout = 5000;
    cfg->trust_proxy = NULL;
    cfg->busy_poll = 0;  /* off: an idle-looking server should not spin a CPU */
}

/* Parse "a,b,c" numeric addresses into srv->proxies. */
static int parse_proxies(const char *list) {
    char item[INET6_ADDRSTRLEN + 1];
    while (list && *list) {
        size_t n = strcspn(list, ",");
        if (n == 0 || n >= sizeof(item) || srv->nproxies == MAX_PROXIES) return -1;
        memcpy(item, list, n);
        item[n] = '\0';
        struct sockaddr_storage *ss = &srv->proxies[srv->nproxies];
        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, item, &((struct sockaddr_in *)ss)->sin_addr) == 1)
            ss->ss_family = AF_INET;
        else if (inet_pton(AF_INET6, item, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
            ss->ss_family = AF_INET6;
        else
            return -1;
        srv->nproxies++;
        list += n;
        if (*list == ',') list++;
    }
    return 0;
}

/* Create, bind and listen; SO_REUSEPORT so every worker can have its own
 * listener on the same port and the kernel spreads connections. */
static int open_listener(const ws_server_config *cfg, int reuseport) {
    struct addrinfo hints, *res = NULL;
    char port[16], where[INET6_ADDRSTRLEN + 8];
    int fd = -1, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", cfg->port);
    if ((rc = getaddrinfo(cfg->host, port, &hints, &res)) != 0) {
        ws_log(WS_LOG_ERROR, "bad --host %s: %s", cfg->host, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto err;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) goto err;
    if (res->ai_family == AF_INET6) {
        /* "::" should accept IPv4 too (mapped addresses). */
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) goto err;
    if (listen(fd, SOMAXCONN) < 0) goto err;
    freeaddrinfo(res);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        format_addr((struct sockaddr *)&ss, where, sizeof(where));
        ws_log(WS_LOG_INFO, "listening on %s (handler %s)", where, cfg->handler->name);
    }
    return fd;
err:
    ws_log(WS_LOG_ERROR, "cannot listen on %s port %u: %s", cfg->host, cfg->port, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Run one event loop on an open listener until shutdown completes. */
static int run_worker(const ws_server_config *cfg, int listen_fd) {
    ws_server s;
    int rc = -1;

    memset(&s, 0, sizeof(s));
    srv = &s;
    s.cfg = cfg;
    s.client_dir = -1;
    s.limits.max_message = cfg->max_message;
    s.limits.max_fragments = cfg->max_fragments;
    s.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    s.r = ws_reactor_create(1024);
    if (s.r) ws_reactor_set_busy_poll(s.r, cfg->busy_poll);
    s.rbuf = malloc(READ_BUF_SIZE);
    s.wbuf = malloc(WRITE_BUF_SIZE);
    if (!s.r || !s.rbuf || !s.wbuf) {
        ws_log(WS_LOG_ERROR, "out of memory at start-up");
        goto out;
    }
    if (parse_proxies(cfg->trust_proxy) < 0) {
        ws_log(WS_LOG_ERROR, "bad --trust-proxy list: %s", cfg->trust_proxy);
        goto out;
    }
    if (cfg->client_dir) {
        s.client_dir = open(cfg->client_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s.client_dir < 0)
            ws_log(WS_LOG_WARN, "client directory %s: %s (plain GETs will get 404)",
                   cfg->client_dir, strerror(errno));
    }
    s.epoch = ws_reactor_now(s.r);
    s.listener = (ws_io){ on_accept, listen_fd, 0 };
    if (ws_reactor_add(s.r, &s.listener, WS_EV_READ) < 0) goto out;
    ws_reactor_add_timer(s.r, SWEEP_MS, on_sweep, NULL);
    ws_reactor_set_after(s.r, conn_reap, NULL);

    while (!s.shutting_down || (s.nconns + s.rejecting > 0 &&
                                ws_reactor_now(s.r) < s.shutdown_deadline)) {
        if (ws_reactor_poll(s.r, SWEEP_MS) < 0) {
            ws_log(WS_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            goto out;
        }
        if (stop_requested && !s.shutting_down) begin_shutdown();
    }
    if (s.nconns + s.rejecting > 0)
        ws_log(WS_LOG_WARN, "shutdown timeout: dropping %u connection(s)", s.nconns + s.rejecting);
    rc = 0;
out:
    /* Free everything, so valgrind shows a clean exit. */
    if (s.r) {
        each_conn(kill_conn, 0);
        conn_reap(s.r, NULL);
    }
    for (size_t k = 0; k < s.nchunks; k++) free(s.chunks[k]);
    free(s.chunks);
    if (s.listener.fd >= 0) close(s.listener.fd);
    if (s.client_dir >= 0) close(s.client_dir);
    if (s.reserve_fd >= 0) close(s.reserve_fd);
    ws_reactor_free(s.r);
    free(s.rbuf);
    free(s.wbuf);
    srv = NULL;
    if (rc == 0) ws_log(WS_LOG_INFO, "stopped");
    return rc;
}

/* Fork one worker; returns its pid or -1. */
static pid_t spawn_worker(const ws_server_config *cfg, unsigned index) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    ws_log_worker = (int)index;
    int fd = open_listener(cfg, 1);
    _exit(fd < 0 ? 2 : (run_worker(cfg, fd) == 0 ? 0 : 1));
}

int ws_server_run(const ws_server_config *cfg) {
    raise_fd_limit();
    if (install_signals() < 0) return -1;

    if (cfg->workers <= 1) {
        int fd = open_listener(cfg, 0);
        return fd < 0 ? -1 : run_worker(cfg, fd);
    }

    /* The supervisor: one process per worker, each with its own epoll
     * loop and SO_REUSEPORT listener (file-descriptor limits are per
     * process, so workers also multiply how many connections fit). */
    if (cfg->port == 0) {
        ws_log(WS_LOG_ERROR, "--port 0 needs --workers 1 (each worker would get its own port)");
        return -1;
    }
    pid_t *pids = calloc(cfg->workers, sizeof(*pids));
    unsigned alive = 0;
    int failed = 0;
    if (!pids) return -1;
    for (unsigned i = 0; i < cfg->workers; i++) {
        pids[i] = spawn_worker(cfg, i);
        if (pids[i] > 0) alive++;
    }
    ws_log(WS_LOG_INFO, "started %u worker process(es)", alive);
    int forwarded = 0;
    while (alive > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR) break;
            if (stop_requested && !forwarded) {
                for (unsigned i = 0; i < cfg->workers; i++)
                    if (pids[i] > 0) kill(pids[i], SIGTERM);
                forwarded = 1;
            }
            continue;
        }
        for (unsigned i = 0; i < cfg->workers; i++) {
            if (pids[i] != pid) continue;
            alive--;
            pids[i] = 0;
            if (stop_requested) break;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
                /* Could not even listen: restarting would fail the same way. */
                failed = 1;
                break;
            }
            /* A worker that crashed is replaced, after a pause so a crash
             * loop cannot eat the machine. */
            ws_log(WS_LOG_ERROR, "worker %u (pid %d) died (status %d); restarting", i,
                   (int)pid, status);
            sleep(1);
            pids[i] = spawn_worker(cfg, i);
            if (pids[i] > 0) alive++;
        }
        if (failed && !stop_requested) {
            for (unsigned i = 0; i < cfg->workers; i++)
                if (pids[i] > 0) kill(pids[i], SIGTERM);
            stop_requested = 1;
            forwarded = 1;
        }
    }
    free(pids);
    return failed ? -1 : 0;
}

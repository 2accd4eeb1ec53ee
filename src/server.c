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
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const state_names[] = {
    "free", "handshake", "open", "closing", "flushing", "drain", "dead"
};

ws_server *srv;

volatile sig_atomic_t stop_requested;
volatile sig_atomic_t stop_count;

ws_conn *conn_slot(int fd) {
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

/* Drop the connection. Never frees here: the slot may still be named by
 * an event later in this batch, or by the handler's loop that is calling
 * us; conn_reap() frees it after the batch. */
void conn_kill(ws_conn *c) {
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

/* Everything this connection will ever send is queued: FIN after it. */
void conn_finish(ws_conn *c) {
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

void conn_read(ws_conn *c) {
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

void on_conn_event(ws_reactor *r, ws_io *io, unsigned events) {
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

/* Run one event loop on an open listener until shutdown completes. */
int run_worker(const ws_server_config *cfg, int listen_fd) {
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

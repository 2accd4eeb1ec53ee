/*
 * server.c -- one worker's event loop: the connection table, accept,
 * reads, the connection lifecycle, the memory budget's shedding policy,
 * timers and graceful shutdown.
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
 *                      (handshake.c, files.c)
 *   frames_feed()      proto engine: unmask in place, validate, report
 *                      message chunks, pings, closes, errors (websocket.c)
 *   on_data()          a message that arrived whole is handed to the
 *                      handler straight from the read buffer; a small
 *                      split one is assembled; a large one goes in parts
 *   ws_send()          header + payload into the worker's write batch
 *   batch_flush()      one writev() for all replies of this read; what the
 *                      kernel does not take is queued and written when the
 *                      socket becomes writable (output.c)
 *
 * Connection states (each change happens in one function named below;
 * reject() in handshake.c also starts a refused connection in FLUSHING):
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
 * Memory: a connection is a slot in a table indexed by its fd. It owns no
 * buffer while idle; its working state (conn_x: message, ping, parked
 * input and output buffers) is allocated when needed and given back by the
 * sweep once idle. Every allocation is counted in the worker's budget
 * (mem.h, --max-memory); when a request does not fit, shed_for() decides
 * who gives memory back.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const state_names[] = { "free",     "handshake", "open", "closing",
                                    "flushing", "drain",     "dead" };

ws_server *srv;

volatile sig_atomic_t stop_requested;
volatile sig_atomic_t stop_count;
volatile sig_atomic_t stats_requested;

/* ---------------------------------------------------------------------- */
/* The connection table.                                                   */

ws_conn *conn_slot(int fd) {
    size_t chunk = (size_t)fd / CONN_CHUNK;
    if (chunk >= srv->nchunks) {
        size_t n = chunk + 1;
        ws_conn **c =
            ws_mem_realloc(WS_MEM_CONN, srv->chunks, srv->nchunks * sizeof(*c), n * sizeof(*c));
        if (!c) return NULL;
        memset(c + srv->nchunks, 0, (n - srv->nchunks) * sizeof(*c));
        srv->chunks = c;
        srv->nchunks = n;
    }
    if (!srv->chunks[chunk]) {
        /* A large block is mapped fresh, as zero pages: slots cost memory
         * only once touched (the budget counts them all, to be safe). */
        ws_conn *slots = ws_mem_alloc(WS_MEM_CONN, CONN_CHUNK * sizeof(ws_conn));
        if (!slots) return NULL;
        memset(slots, 0, CONN_CHUNK * sizeof(ws_conn));
        srv->chunks[chunk] = slots;
    }
    if (fd > srv->max_fd) srv->max_fd = fd;
    return &srv->chunks[chunk][(size_t)fd % CONN_CHUNK];
}

/* The working state of c, allocated on first use. NULL if the budget has
 * no room for it even after shedding others. */
conn_x *conn_x_get(ws_conn *c) {
    if (c->x) return c->x;
    c->x = ws_mem_alloc(WS_MEM_CONN, sizeof(conn_x));
    if (!c->x && shed_for(c, sizeof(conn_x))) c->x = ws_mem_alloc(WS_MEM_CONN, sizeof(conn_x));
    if (c->x) memset(c->x, 0, sizeof(conn_x));
    return c->x;
}

/* Give back every buffer c holds (not the shared messages others hold). */
static void conn_free_buffers(ws_conn *c) {
    conn_x *x = c->x;
    if (x) {
        buf_free(&x->msg);
        buf_free(&x->ctl);
        buf_free(&x->park);
        queue_drop(c);
        pmd_release(c);
        ws_mem_free(WS_MEM_CONN, x, sizeof(conn_x));
        c->x = NULL;
    }
    handshake_free(c);
}

/* What c holds that shedding it would give back. */
static size_t conn_held(const ws_conn *c) {
    size_t n = 0;
    if (c->x) {
        n += sizeof(conn_x) + WS_MEM_OVERHEAD + c->x->out_held;
        n += buf_cost(c->x->msg) + buf_cost(c->x->ctl) + buf_cost(c->x->park) + pmd_held(c);
    }
    if (c->flags & F_HS) n += sizeof(handshake) + WS_MEM_OVERHEAD + buf_cost(c->hs->head);
    return n;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle.                                                              */

/* Drop the connection. Never frees here: the slot may still be named by
 * an event later in this batch, or by the handler's loop that is calling
 * us; conn_reap() frees it after the batch. */
void conn_kill(ws_conn *c) {
    if (c->state == C_DEAD) return;
    c->state = C_DEAD;
    c->next_dead = srv->dead;
    srv->dead = c->io.fd;
}

static void conn_reap(ws_reactor *r, void *data) {
    (void)r;
    (void)data;
    while (srv->dead >= 0) {
        ws_conn *c = &srv->chunks[(size_t)srv->dead / CONN_CHUNK][(size_t)srv->dead % CONN_CHUNK];
        srv->dead = c->next_dead;
        /* 1006: "closed abnormally, without sending or receiving a Close
         * control frame" (RFC 6455 §7.4.1), unless a code was exchanged. */
        notify_close(c, c->close_code ? c->close_code : WS_CLOSE_ABNORMAL, NULL, 0, 0);
        /* The connection's last log line, with its final counts. */
        handshake_free(c);
        endnote_log(c);
        ws_reactor_del(srv->r, &c->io);
        close(c->io.fd);
        conn_free_buffers(c);
        endnote_free(c);
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
    if (!(c->x && c->x->out_bytes)) {
        /* RFC 6455 §7.1.1: the server should close the TCP connection
         * first. shutdown() sends our FIN now; reading on until the
         * peer's FIN (instead of close()) makes sure the close frame is
         * not destroyed by a reset if the peer still had bytes in flight. */
        shutdown(c->io.fd, SHUT_WR);
        c->state = C_DRAIN;
        c->flags &= (uint16_t)~F_READ_PAUSED;
        if (c->x) buf_free(&c->x->park); /* nothing more is handled */
    }
    conn_update_events(c);
}

/* ---------------------------------------------------------------------- */
/* The memory budget: who gives memory back when a request does not fit.   */

/* How much c holds, weighted by how long it has made no progress: a
 * connection that holds much and does nothing scores highest. Progress is
 * payload of an unfinished message arriving, or output being taken by the
 * peer; pings and pongs are not progress. */
static uint32_t last_progress(const ws_conn *c, uint32_t now) {
    uint32_t last = c->progress;
    if ((int32_t)(c->last_tx - last) > 0) last = c->last_tx;
    if ((int32_t)(now - last) < 0) last = now;
    return last;
}

static uint64_t shed_score(const ws_conn *c, size_t held, uint32_t now) {
    return (uint64_t)held * (1 + (now - last_progress(c, now)) / 1000u);
}

/* Shed v: free what it holds at once, then close it the RFC's way --
 * 1013 "Try Again Later" when its output stream is clean (nothing half
 * written), a plain drop otherwise (a close frame cannot follow a frame cut
 * in two). The handler hears on_close when the slot is reaped, never from
 * inside the allocation that asked for memory. */
static void shed(ws_conn *v, size_t held) {
    int clean = !(v->x && v->x->out_bytes);
    char h[32];

    ws_mem_format(h, sizeof(h), held);
    ws_log_field f[] = {
        WS_LOG_NUM("id", v->id),
        WS_LOG_NUM("held", held),
        WS_LOG_STR("state", state_names[v->state]),
    };
    ws_log_event(WS_LOG_WARN, "shed", f, sizeof(f) / sizeof(f[0]),
                 "client #%u: shed to free memory: held %s in %s state, no progress "
                 "for %.1f s: %s",
                 v->id, h, state_names[v->state],
                 (now_ms() - (v->progress > v->last_tx ? v->progress : v->last_tx)) / 1000.0,
                 clean && v->state == C_OPEN ? "closing with 1013" : "dropping");
    srv->shed++;
    conn_free_buffers(v);
    if (clean && v->state == C_OPEN) {
        v->close_code = WS_CLOSE_TRY_AGAIN_LATER;
        send_close(v, WS_CLOSE_TRY_AGAIN_LATER, "server memory full: try again later");
        conn_finish(v);
    } else {
        conn_kill(v);
    }
}

/* Make room in the budget for n bytes requested on behalf of c (NULL: a
 * new connection). Sheds the connections that hold the most and progress
 * the least, as long as one of them scores above c itself; never c, never
 * the connection being read (its buffers may be in use). A new connection
 * displaces only connections that have made no progress for
 * NEWCOMER_STALE_MS: a flood of new connections cannot shed clients that
 * are busy, but a budget filled with stalled peers does not lock everyone
 * else out either. Returns 1 if n now fits, 0 if c should be the one to
 * give way (a 1013, or a 503 for a new connection). */
int shed_for(ws_conn *c, size_t n) {
    uint32_t now = now_ms();
    uint64_t mine;

    if (ws_mem_fits(n)) return 1;
    if (srv->shedding) return 0;
    srv->shedding = 1;
    mine = c ? shed_score(c, conn_held(c) + n, now) : 0;
    while (!ws_mem_fits(n)) {
        ws_conn *best = NULL;
        size_t best_held = 0;
        uint64_t best_score = mine;
        for (size_t k = 0; k < srv->nchunks; k++) {
            if (!srv->chunks[k]) continue;
            for (size_t i = 0; i < CONN_CHUNK; i++) {
                ws_conn *v = &srv->chunks[k][i];
                size_t held;
                uint64_t score;
                if (v->state == C_FREE || v->state == C_DEAD || v == c || v == srv->wconn) continue;
                held = conn_held(v);
                if (held == 0) continue;
                if (!c && now - last_progress(v, now) < NEWCOMER_STALE_MS) continue;
                score = shed_score(v, held, now);
                if (score > best_score) best = v, best_held = held, best_score = score;
            }
        }
        if (!best) break;
        shed(best, best_held);
    }
    srv->shedding = 0;
    return ws_mem_fits(n);
}

/* One line with what the worker holds, for an operator (SIGUSR1, or every
 * --stats-interval). */
void log_stats(const char *why) {
    const ws_mem_stats *st = ws_mem_stats_now();
    unsigned count[C_DEAD + 1] = { 0 };
    char used[WS_MEM_KINDS][24], total[24], limit[24], peak[24];

    for (size_t k = 0; k < srv->nchunks; k++)
        for (size_t i = 0; srv->chunks[k] && i < CONN_CHUNK; i++) count[srv->chunks[k][i].state]++;
    for (int k = 0; k < WS_MEM_KINDS; k++) ws_mem_format(used[k], sizeof(used[k]), st->used[k]);
    ws_mem_format(total, sizeof(total), st->total);
    ws_mem_format(peak, sizeof(peak), st->peak);
    if (st->limit)
        ws_mem_format(limit, sizeof(limit), st->limit);
    else
        snprintf(limit, sizeof(limit), "no limit");
    ws_log_field f[] = {
        WS_LOG_STR("why", why),
        WS_LOG_NUM("connections", srv->nconns + srv->rejecting),
        WS_LOG_NUM("handshake", count[C_HANDSHAKE]),
        WS_LOG_NUM("open", count[C_OPEN]),
        WS_LOG_NUM("closing", count[C_CLOSING] + count[C_FLUSHING] + count[C_DRAIN]),
        WS_LOG_NUM("memory", st->total),
        WS_LOG_NUM("memory_limit", st->limit),
        WS_LOG_NUM("memory_peak", st->peak),
        WS_LOG_NUM("mem_fixed", st->used[WS_MEM_FIXED]),
        WS_LOG_NUM("mem_conn", st->used[WS_MEM_CONN]),
        WS_LOG_NUM("mem_head", st->used[WS_MEM_HEAD]),
        WS_LOG_NUM("mem_msg", st->used[WS_MEM_MSG]),
        WS_LOG_NUM("mem_out", st->used[WS_MEM_OUT]),
        WS_LOG_NUM("mem_shared", st->used[WS_MEM_SHARED]),
        WS_LOG_NUM("mem_zip", st->used[WS_MEM_ZIP]),
        WS_LOG_NUM("refused", st->refused),
        WS_LOG_NUM("shed", srv->shed),
    };
    ws_log_event(
        WS_LOG_INFO, "stats", f, sizeof(f) / sizeof(f[0]),
        "stats (%s): %u connections (%u handshake, %u open, %u closing, "
        "%u flushing, %u draining); memory %s of %s (fixed %s, conn %s, head %s, msg %s, "
        "out %s, shared %s, zip %s), peak %s; %llu requests refused, %llu connections shed "
        "[bytes: total %zu peak %zu limit %zu zip %zu]",
        why, srv->nconns + srv->rejecting, count[C_HANDSHAKE], count[C_OPEN], count[C_CLOSING],
        count[C_FLUSHING], count[C_DRAIN], total, limit, used[WS_MEM_FIXED], used[WS_MEM_CONN],
        used[WS_MEM_HEAD], used[WS_MEM_MSG], used[WS_MEM_OUT], used[WS_MEM_SHARED],
        used[WS_MEM_ZIP], peak, (unsigned long long)st->refused, (unsigned long long)srv->shed,
        st->total, st->peak, st->limit, st->used[WS_MEM_ZIP]);
}

/* ---------------------------------------------------------------------- */
/* Events.                                                                 */

void conn_read(ws_conn *c) {
    uint8_t *dst = srv->rbuf;
    size_t cap = READ_BUF_SIZE;
    uint64_t left;
    ssize_t n;
    buf *m = c->x ? c->x->msg : NULL;

    /* In the middle of a large frame of a message being assembled, whose
     * buffer has room, read the payload straight into place: the bytes
     * are unmasked and validated there and never copied. Only up to the
     * end of the frame, so whatever follows goes through the shared buffer
     * as usual. (A message passed on in parts has no such buffer: it
     * streams through the shared one.) */
    if (c->state == C_OPEN && !(c->flags & F_RECV_PARTS) && m &&
        (left = ws_proto_data_left(&c->proto)) >= DIRECT_READ_MIN &&
        m->cap - m->len >= DIRECT_READ_MIN) {
        dst = m->data + m->len;
        cap = m->cap - m->len;
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
    c->bytes_in += (uint64_t)n;
    c->flags &= (uint16_t)~F_PING_OUT; /* any byte proves the peer is alive */

    srv->wconn = c;
    switch (c->state) {
    case C_HANDSHAKE: handshake_feed(c, srv->rbuf, (size_t)n); break;
    case C_OPEN:
    case C_CLOSING: frames_feed(c, dst, (size_t)n); break;
    default: break; /* FLUSHING, DRAIN: nothing more is read, only discarded */
    }
    batch_flush();
}

void on_conn_event(ws_reactor *r, ws_io *io, unsigned events) {
    ws_conn *c = (ws_conn *)io; /* io is the first member */
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
        ws_conn *c;
        handshake *hs;
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
            reject(fd, "over --max-connections");
            continue;
        }
        /* The request head's parser is the first memory a peer costs:
         * when the budget has no room for it (even after shedding stalled
         * peers), the peer gets a 503. */
        hs = NULL;
        if (!(c = conn_slot(fd)) ||
            (!(hs = ws_mem_alloc(WS_MEM_HEAD, sizeof(*hs))) && shed_for(NULL, sizeof(*hs)) &&
             !(hs = ws_mem_alloc(WS_MEM_HEAD, sizeof(*hs)))) ||
            !hs) {
            reject(fd, "memory budget full");
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->io = (ws_io){ on_conn_event, fd, 0 };
        c->id = ++srv->next_id;
        c->state = C_HANDSHAKE;
        c->flags = F_HS;
        c->hs = hs;
        ws_http_parser_init(&hs->parser, srv->cfg->max_header);
        ws_http_parser_protocols(&hs->parser, srv->protocols, srv->nprotocols);
        memcpy(&hs->peer, &ss, sizeof(ss));
        hs->head = NULL;
        hs->note = NULL;
        hs->user = NULL;
        c->last_rx = c->last_tx = c->progress = c->opened_at = now_ms();
        c->deadline = c->last_rx + srv->cfg->handshake_timeout;
        srv->nconns++;
        if (ws_reactor_add(srv->r, &c->io, WS_EV_READ) < 0) conn_kill(c);
        if (ws_log_enabled(WS_LOG_DEBUG)) {
            char peer[WS_ADDR_TEXT];
            ws_addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
            ws_log(WS_LOG_DEBUG, "client #%u: TCP connection from %s", c->id, peer);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Timers: one sweep over all connections every SWEEP_MS.                   */

/* Free the working state of a quiet connection whose buffers are empty. */
static void release_idle(ws_conn *c, uint32_t now) {
    conn_x *x = c->x;
    if (!x || !reached(now, c->last_rx + IDLE_FREE_MS)) return;
    if (x->msg && x->msg->len == 0 && !batch_points_into(x->msg)) buf_free(&x->msg);
    /* A compressor kept for context takeover is the connection's history:
     * it stays as long as the connection. */
    if (x->msg || x->ctl || x->park || x->out || x->zin || x->zout) return;
    ws_mem_free(WS_MEM_CONN, x, sizeof(conn_x));
    c->x = NULL;
}

static void sweep_conn(ws_conn *c, uint32_t now) {
    const ws_server_config *cfg = srv->cfg;

    switch (c->state) {
    case C_HANDSHAKE:
        if (cfg->handshake_timeout && reached(now, c->deadline)) {
            srv->wconn = c;
            http_error(c, 408, "handshake timeout");
            batch_flush();
            handshake_free(c);
        }
        return;
    case C_OPEN:
        if (cfg->message_timeout && !(c->flags & F_READ_PAUSED) && ws_proto_unfinished(&c->proto) &&
            reached(now, c->progress + cfg->message_timeout)) {
            /* RFC 6455 §7.4.1 1008 "policy violation": a message or frame
             * left unfinished without progress breaks the server's policy
             * (--message-timeout); it is not malformed (1002), and not
             * the server going away (1001). */
            conn_fail(c, WS_CLOSE_POLICY_VIOLATION, "message timeout: no progress");
            return;
        }
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
    case C_FLUSHING:
    case C_DRAIN:
        if (reached(now, c->deadline)) {
            ws_log(WS_LOG_DEBUG, "client #%u: close timeout in %s state", c->id,
                   state_names[c->state]);
            conn_kill(c);
            return;
        }
        break;
    default: break;
    }
    /* A peer that leaves our output unread is dropped after send_timeout. */
    if (c->state != C_DEAD && c->x && c->x->out_bytes && cfg->send_timeout &&
        reached(now, c->last_tx + cfg->send_timeout)) {
        ws_log(WS_LOG_INFO, "client #%u: peer not reading for %u ms: dropping (%zu bytes queued)",
               c->id, cfg->send_timeout, c->x->out_bytes);
        conn_kill(c);
        return;
    }
    /* Idle connections hold no buffers. */
    release_idle(c, now);
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

/* Act on what the signal handlers noted. */
static void check_signals(void) {
    note_hangup();
    if (stop_requested && !srv->shutting_down) begin_shutdown();
    if (stats_requested) {
        stats_requested = 0;
        log_stats("SIGUSR1");
    }
}

/* Give freed memory back to the system once the budget's total has fallen
 * by a megabyte since its high-water mark: buffers above glibc's mmap
 * threshold go back when freed, but the many small ones (queue segments,
 * request heads) leave free pages inside the heap, which malloc_trim()
 * hands back. So memory returns after abusive peers leave. */
static void trim_after_bursts(void) {
    size_t total = ws_mem_stats_now()->total;
    if (total > srv->trim_mark) srv->trim_mark = total;
    if (srv->trim_mark - total < (1u << 20)) return;
#ifdef M_MMAP_THRESHOLD
    malloc_trim(0);
#endif
    srv->trim_mark = total;
}

static long on_sweep(ws_reactor *r, void *data) {
    uint32_t now = now_ms();
    (void)r;
    (void)data;
    check_signals();
    each_conn(sweep_conn, now);
    trim_after_bursts();
    if (srv->cfg->stats_interval && reached(now, srv->next_stats)) {
        log_stats("periodic");
        srv->next_stats = now + srv->cfg->stats_interval;
    }
    return SWEEP_MS;
}

/* ---------------------------------------------------------------------- */
/* Configuration and the worker's loop.                                    */

void ws_server_config_defaults(ws_server_config *cfg) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "0.0.0.0";
    cfg->port = 8080;
    cfg->client_dir = "client";
    cfg->handler = NULL; /* the embedding program chooses (main.c: echo) */
    cfg->max_message = 16u << 20;
    cfg->max_fragments = 100000;
    cfg->max_header = WS_HTTP_DEFAULT_MAX_HEAD;
    cfg->max_queue = 4u << 20;
    cfg->max_memory = 256u << 20;
    cfg->max_connections = 10000;
    cfg->workers = ncpu > 0 ? (unsigned)ncpu : 1;
    cfg->handshake_timeout = 10000;
    cfg->ping_interval = 30000;
    cfg->ping_timeout = 10000;
    cfg->close_timeout = 5000;
    cfg->message_timeout = 30000;
    cfg->send_timeout = 30000;
    cfg->shutdown_timeout = 5000;
    cfg->trust_proxy = NULL;
    cfg->busy_poll = 0; /* off: an idle-looking server should not spin a CPU */
    cfg->stats_interval = 0;
    cfg->deflate = WS_DEFLATE_SHARED;
    cfg->deflate_level = 1;
    cfg->deflate_window = 15;
    cfg->deflate_threshold = 64;
    cfg->subprotocols = "*"; /* an echo speaks whatever the client asks for */
    cfg->allow_origin = NULL;
}

/* The per-worker buffers the budget must hold before the first peer. */
#define FIXED_MEMORY (READ_BUF_SIZE + WRITE_BUF_SIZE + 4 * WS_MEM_OVERHEAD)

int ws_server_config_check(const ws_server_config *cfg, char *err, size_t errcap) {
    ws_cidr proxies[MAX_PROXIES];

    if (!cfg->handler) {
        snprintf(err, errcap, "no handler");
        return -1;
    }
    if (!cfg->host || ws_listen_check_host(cfg->host, err, errcap) < 0) {
        if (!cfg->host) snprintf(err, errcap, "no --host");
        return -1;
    }
    if (cfg->port > 65535) {
        snprintf(err, errcap, "--port %u is not a TCP port", cfg->port);
        return -1;
    }
    if (ws_cidr_parse_list(cfg->trust_proxy, proxies, MAX_PROXIES, err, errcap) < 0) {
        char why[200];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errcap, "bad --trust-proxy: %s", why);
        return -1;
    }
    if (cfg->workers == 0) {
        snprintf(err, errcap, "--workers must be at least 1");
        return -1;
    }
    /* The budget must hold the worker's own buffers and one connection's
     * worst case, or the server could not serve even one peer. */
    if (cfg->max_memory && cfg->max_memory < FIXED_MEMORY + (1u << 20)) {
        snprintf(err, errcap, "--max-memory must be 0 (no budget) or at least %u KiB",
                 (unsigned)((FIXED_MEMORY + (1u << 20)) / 1024));
        return -1;
    }
    if (cfg->max_queue == 0) {
        snprintf(err, errcap, "--max-queue must be at least 1 byte");
        return -1;
    }
    if (cfg->deflate < WS_DEFLATE_OFF || cfg->deflate > WS_DEFLATE_DEDICATED) {
        snprintf(err, errcap, "--deflate must be off, shared or dedicated");
        return -1;
    }
    if (cfg->deflate_level < 1 || cfg->deflate_level > 9) {
        snprintf(err, errcap, "--deflate-level must be 1 to 9");
        return -1;
    }
    if (cfg->deflate_window < 8 || cfg->deflate_window > 15) {
        snprintf(err, errcap, "--deflate-window must be 8 to 15 (bits)");
        return -1;
    }
    {
        char names_buf[sizeof(srv->protocol_buf)], why[200];
        const char *names[MAX_PROTOCOLS];
        if (ws_http_split_protocols(cfg->subprotocols, names_buf, sizeof(names_buf), names,
                                    MAX_PROTOCOLS, why, sizeof(why)) < 0) {
            snprintf(err, errcap, "bad --subprotocol: %s", why);
            return -1;
        }
        if (ws_http_origin_list_check(cfg->allow_origin, why, sizeof(why)) < 0) {
            snprintf(err, errcap, "bad --allow-origin: %s", why);
            return -1;
        }
    }
    return 0;
}

int run_worker(const ws_server_config *cfg, int listen_fd) {
    ws_server s;
    char err[256];
    int rc = -1;

    memset(&s, 0, sizeof(s));
    srv = &s;
    s.cfg = cfg;
    s.client_dir = -1;
    s.dead = -1;
    s.listener.fd = listen_fd;
    s.limits.max_message = cfg->max_message;
    s.limits.max_fragments = cfg->max_fragments;
#ifdef M_MMAP_THRESHOLD
    /* Buffers of 64 KiB and more get pages of their own, which go back to
     * the system when freed: memory returns when abusive peers leave.
     * (glibc otherwise raises this threshold as large blocks are freed,
     * and later large blocks stay on the heap.) */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
#endif
    ws_mem_init(cfg->max_memory);
    /* ws_server_config_check() has parsed it once already. */
    rc = ws_cidr_parse_list(cfg->trust_proxy, s.proxies, MAX_PROXIES, err, sizeof(err));
    if (rc < 0) {
        ws_log(WS_LOG_ERROR, "bad --trust-proxy: %s", err);
        rc = -1;
        goto out;
    }
    s.nproxies = (size_t)rc;
    rc = ws_http_split_protocols(cfg->subprotocols, s.protocol_buf, sizeof(s.protocol_buf),
                                 s.protocols, MAX_PROTOCOLS, err, sizeof(err));
    if (rc < 0) {
        ws_log(WS_LOG_ERROR, "bad --subprotocol: %s", err);
        rc = -1;
        goto out;
    }
    s.nprotocols = (size_t)rc;
    rc = -1;
    s.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    s.r = ws_reactor_create(1024);
    if (s.r) ws_reactor_set_busy_poll(s.r, cfg->busy_poll);
    s.rbuf = ws_mem_alloc(WS_MEM_FIXED, READ_BUF_SIZE);
    s.wbuf = ws_mem_alloc(WS_MEM_FIXED, WRITE_BUF_SIZE);
    if (!s.r || !s.rbuf || !s.wbuf) {
        ws_log(WS_LOG_ERROR, "out of memory at start-up");
        goto out;
    }
    if (cfg->client_dir) {
        s.client_dir = open(cfg->client_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s.client_dir < 0)
            ws_log(WS_LOG_WARN, "client directory %s: %s (plain GETs will get 404)",
                   cfg->client_dir, strerror(errno));
    }
    s.epoch = ws_reactor_now(s.r);
    s.next_stats = cfg->stats_interval;
    s.listener = (ws_io){ on_accept, listen_fd, 0 };
    if (ws_reactor_add(s.r, &s.listener, WS_EV_READ) < 0) goto out;
    ws_reactor_add_timer(s.r, SWEEP_MS, on_sweep, NULL);
    ws_reactor_set_after(s.r, conn_reap, NULL);

    while (!s.shutting_down ||
           (s.nconns + s.rejecting > 0 && ws_reactor_now(s.r) < s.shutdown_deadline)) {
        if (ws_reactor_poll(s.r, SWEEP_MS) < 0) {
            ws_log(WS_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            goto out;
        }
        check_signals();
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
    for (size_t k = 0; k < s.nchunks; k++)
        ws_mem_free(WS_MEM_CONN, s.chunks[k], CONN_CHUNK * sizeof(ws_conn));
    ws_mem_free(WS_MEM_CONN, s.chunks, s.nchunks * sizeof(*s.chunks));
    if (s.listener.fd >= 0) close(s.listener.fd);
    if (s.client_dir >= 0) close(s.client_dir);
    if (s.reserve_fd >= 0) close(s.reserve_fd);
    pmd_worker_free();
    ws_reactor_free(s.r);
    ws_mem_free(WS_MEM_FIXED, s.rbuf, READ_BUF_SIZE);
    ws_mem_free(WS_MEM_FIXED, s.wbuf, WRITE_BUF_SIZE);
    srv = NULL;
    if (rc == 0) ws_log(WS_LOG_INFO, "stopped");
    return rc;
}

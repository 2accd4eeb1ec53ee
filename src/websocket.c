/*
 * websocket.c -- an open WebSocket connection: frames in (through the
 * protocol engine), messages out to the handler, and the handler API
 * (ws_send, ws_send_part, ws_send_shared, ws_close).
 *
 * A message reaches the handler in one of three ways:
 *
 *   whole, from the read buffer   it arrived complete in one read (the
 *                                 common case): no copy at all
 *   whole, assembled              it came in pieces and stayed small
 *                                 (< WS_PART_MIN): copied into the
 *                                 connection's message buffer, which grows
 *                                 with the bytes that arrive, never with
 *                                 the lengths the headers announce
 *   in parts (on_part)            it is large, and the handler takes parts:
 *                                 each chunk goes on straight from the read
 *                                 buffer, and at most WS_PART_MIN bytes of
 *                                 it are ever held, however the peer cut it
 *                                 into frames
 *
 * Progress and patience (--message-timeout): a message or frame that stays
 * unfinished without payload arriving for that long fails the connection
 * with 1008. Pings and pongs interleaved with it are not progress, so a
 * peer cannot hold a message open with keep-alives alone.
 */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

/* Tell the handler the WebSocket connection is over, exactly once, and
 * note what the disconnect line will say when the socket closes
 * (connlog.c): the code, the reason, and whether the peer's close came
 * first. */
void notify_close(ws_conn *c, unsigned code, const void *reason, size_t len, int by_peer) {
    if (!(c->flags & F_OPENED)) return;
    c->flags &= (uint16_t)~F_OPENED;
    if (handler()->on_close) handler()->on_close(c, code, handler()->ud);
    endnote_ws(c, code, reason, len, by_peer);
}

/* RFC 6455 §7.1.7 "Fail the WebSocket Connection": send the close frame
 * that names the problem, and close without waiting for a reply. */
void conn_fail(ws_conn *c, unsigned code, const char *why) {
    ws_log(WS_LOG_INFO, "client #%u: %s: closing with %u", c->id, why, code);
    c->close_code = (uint16_t)code;
    send_close(c, code, why);
    notify_close(c, code, why, strlen(why), 0);
    conn_finish(c);
}

/* ---------------------------------------------------------------------- */
/* The handler API.                                                        */

/* May c queue n more bytes of its own? The hard bound of --max-queue:
 * what a handler sends beyond it is refused, not held. Shared messages and
 * files are not copies and do not count here (they are bounded elsewhere). */
static int send_fits(const ws_conn *c, size_t n) {
    size_t own = c->x ? c->x->out_bytes - c->x->out_ref : 0;
    if (srv->wconn == c) own += srv->batch_bytes;
    return n <= srv->cfg->max_queue + QUEUE_SLACK - own && own <= srv->cfg->max_queue + QUEUE_SLACK;
}

int ws_send_pieces(ws_conn *c, int opcode, const ws_piece *pieces, size_t n) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    size_t total = 0;

    if (!c || c->state != C_OPEN || (c->flags & F_SEND_PARTS)) return -1;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return -1;
    for (size_t i = 0; i < n; i++) total += pieces[i].len;
    size_t hl = ws_frame_header(hdr, 1, opcode, total);
    if (total > SIZE_MAX - hl || !send_fits(c, hl + total)) return -1;
    /* permessage-deflate: compressed if long enough (and, without memory
     * for a compressor, plain: always allowed, RFC 7692 §6). */
    if (pmd_wants(c, total) && pmd_send(c, opcode, pieces, n, 1, 1) == 0) return 0;
    if (c->state != C_OPEN) return -1;
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
    /* The echo's case, a small plain frame in reply to the message being
     * read: built in place in the write batch (batch_frame()). The same
     * checks as ws_send_pieces() makes, and no compression negotiated. */
    if (len <= BATCH_COPY_MAX - 4 && c && c->state == C_OPEN && !(c->flags & F_SEND_PARTS) &&
        !(c->pmd & PMD_ON) && (opcode == WS_OP_TEXT || opcode == WS_OP_BINARY) &&
        send_fits(c, len + 4) && batch_frame(c, opcode, data, len))
        return 0;
    return ws_send_pieces(c, opcode, &p, 1);
}

int ws_send_part(ws_conn *c, int opcode, int first, int last, const void *data, size_t len) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];

    if (!c || c->state != C_OPEN) return -1;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return -1;
    /* A first part starts a message only when none is unfinished; a later
     * part needs one. */
    if (!first != !!(c->flags & F_SEND_PARTS)) return -1;
    /* RFC 6455 §5.4: the first frame has the message's opcode, the rest
     * are continuations (opcode 0); FIN marks the final fragment. */
    size_t hl = ws_frame_header(hdr, last != 0, first ? opcode : WS_OP_CONT, len);
    if (len > SIZE_MAX - hl || !send_fits(c, hl + len)) return -1;
    /* A message in parts is compressed as one stream, its frames made as
     * the compressed bytes come (decided at the first part; without memory
     * for a compressor then, it goes plain). */
    if (first && (c->pmd & PMD_ON)) c->flags |= F_ZPARTS;
    if (last)
        c->flags &= (uint16_t)~F_SEND_PARTS;
    else
        c->flags |= F_SEND_PARTS;
    if (c->flags & F_ZPARTS) {
        ws_piece piece = { data, len };
        int rc = pmd_send(c, opcode, &piece, 1, first, last);
        if (last) c->flags &= (uint16_t)~F_ZPARTS;
        if (rc == 0) return 0;
        if (!first) {
            /* Half a compressed message cannot be finished plain. */
            conn_fail(c, WS_CLOSE_TRY_AGAIN_LATER, "server memory full: try again later");
            return -1;
        }
        c->flags &= (uint16_t)~F_ZPARTS;
    }
    conn_write(c, hdr, hl, data, len);
    return 0;
}

int ws_send_shared(ws_conn *c, ws_shared *m) {
    buf *seg;

    if (!c || !m || c->state != C_OPEN || (c->flags & F_SEND_PARTS)) return -1;
    /* A receiver that is this far behind gets nothing more queued: the
     * handler decides what to do with it (chat closes it, 1008). */
    if (conn_queued(c) >= srv->cfg->max_queue) return -1;
    shared_freeze(m);
    /* permessage-deflate: the frame compressed once for every receiver
     * that keeps no context; a receiver that keeps context needs bytes of
     * its own (sent at once, like ws_send). */
    size_t zlen = 0;
    const uint8_t *zframe = pmd_shared_frame(c, m, &zlen);
    if (!zframe && pmd_wants(c, m->len) && !(c->pmd & PMD_SERVER_NCT)) {
        ws_piece p = { m->data + WS_MAX_SERVER_HEADER_LEN, m->len };
        if (pmd_send(c, m->opcode, &p, 1, 1, 1) == 0) return 0;
        /* No memory for its compressor: the plain frame, as ws_send()
         * does (a message may always go uncompressed, RFC 7692 §6). */
        if (c->state != C_OPEN) return -1;
    }
    seg = buf_new(WS_MEM_OUT, 0);
    if (!seg && shed_for(c, sizeof(buf))) seg = buf_new(WS_MEM_OUT, 0);
    if (!seg) return -1;
    m->refs++;
    seg->kind = B_SHARED;
    seg->sh = m;
    seg->fd = zframe ? 1 : 0;
    seg->len = zframe ? zlen : shared_frame_len(m);
    /* Replies batched for c so far go first. The shared bytes themselves
     * are never written from here: they leave as c's socket becomes
     * writable, WRITE_EVENT_MAX per turn of the loop, so a broadcast to
     * many receivers is spread over the loop instead of stalling it. */
    if (srv->wconn == c) batch_write(c, 0);
    if (c->state == C_DEAD) {
        buf_free(&seg);
        return -1;
    }
    return queue_segment(c, seg);
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

int ws_conn_open(const ws_conn *c) { return c->state == C_OPEN; }
uint32_t ws_conn_id(const ws_conn *c) { return c->id; }
size_t ws_conn_queued(const ws_conn *c) { return conn_queued(c); }
size_t ws_conn_queue_limit(const ws_conn *c) {
    (void)c;
    return srv->cfg->max_queue;
}

const char *ws_conn_peer(const ws_conn *c) {
    static char text[WS_ADDR_TEXT];
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(c->io.fd, (struct sockaddr *)&ss, &len) < 0) return "?";
    ws_addr_format((struct sockaddr *)&ss, text, sizeof(text));
    return text;
}

/* During on_request the handshake still holds the union slot: the pointer
 * waits in it until the connection opens (upgrade()). After on_close the
 * slot may hold the disconnect line's note: nothing to set or get then. */
void ws_conn_set_user(ws_conn *c, void *user) {
    if (c->flags & F_HS)
        c->hs->user = user;
    else if (!(c->flags & F_NOTE))
        c->user = user;
}

void *ws_conn_user(const ws_conn *c) {
    if (c->flags & F_HS) return c->hs->user;
    return (c->flags & F_NOTE) ? NULL : c->user;
}

/* ---------------------------------------------------------------------- */
/* Messages in.                                                            */

/* Is n (1, 2, ...) a message number that is logged at info? The first
 * LOG_MSG_FIRST, then the 10th, 100th, 1000th...: a peer that sends a
 * million one-byte messages makes a dozen log lines, not a million
 * (--log-level debug logs every one). */
static int logged_at_info(uint32_t n) {
    if (n <= LOG_MSG_FIRST) return 1;
    while (n % 10 == 0) n /= 10;
    return n == 1;
}

/* Log a received message: size and a short preview, as the tutorial's
 * server prints what it received. Text is escaped (ws_log_escape): a
 * peer's bytes never reach the log as they are. Binary is shown as hex. */
static void log_message(const ws_conn *c, const uint8_t *data, size_t len, size_t total,
                        int is_text) {
    char preview[128];
    size_t shown = 0;
    int level = logged_at_info(c->msgs_in) ? WS_LOG_INFO : WS_LOG_DEBUG;
    const char *more = level == WS_LOG_INFO && c->msgs_in == LOG_MSG_FIRST
                           ? " (from here on only the 10th, 100th, ... message is logged)"
                           : "";

    if (!ws_log_enabled(level)) return;
    ws_log_field f[] = {
        WS_LOG_NUM("id", c->id),
        WS_LOG_NUM("n", c->msgs_in),
        WS_LOG_STR("type", is_text ? "text" : "binary"),
        WS_LOG_NUM("bytes", total),
        WS_LOG_NUM("parts", data ? 0 : 1),
    };
    if (!data) {
        /* Received in parts: logged at its end, when the total is known. */
        ws_log_event(level, "message", f, sizeof(f) / sizeof(f[0]),
                     "client #%u: received %s message #%u, %zu bytes in parts%s", c->id,
                     is_text ? "text" : "binary", c->msgs_in, total, more);
        return;
    }
    if (is_text) {
        shown = ws_log_escape(preview, 96, data, len < 48 ? len : 48);
    } else {
        static const char hex[] = "0123456789abcdef";
        for (; shown < len && shown < 16; shown++) {
            preview[2 * shown] = hex[data[shown] >> 4];
            preview[2 * shown + 1] = hex[data[shown] & 15];
        }
        preview[2 * shown] = '\0';
    }
    ws_log_event(level, "message", f, sizeof(f) / sizeof(f[0]),
                 "client #%u: received %s message #%u, %zu byte%s: %s%s%s%s%s", c->id,
                 is_text ? "text" : "binary", c->msgs_in, total, total == 1 ? "" : "s",
                 is_text ? "\"" : "", preview, is_text ? "\"" : "", shown < len ? "..." : "", more);
}

static void deliver(ws_conn *c, const uint8_t *data, size_t len, int is_text) {
    c->msgs_in++;
    /* Tested here so that a server logging at warn (a busy one) pays one
     * comparison per message, not the preview's set-up: debug is only
     * ever enabled together with info. */
    if (ws_log_enabled(WS_LOG_INFO)) log_message(c, data, len, len, is_text);
    if (handler()->on_message) handler()->on_message(c, data, len, is_text, handler()->ud);
}

/* A part of a message going to on_part. */
static void part(ws_conn *c, const uint8_t *data, size_t len, int first, int last, int is_text) {
    if (first) c->flags |= F_RECV_PARTS;
    if (last) {
        c->flags &= (uint16_t)~F_RECV_PARTS;
        c->msgs_in++;
        if (ws_log_enabled(WS_LOG_INFO)) log_message(c, NULL, 0, (size_t)c->proto.msg_len, is_text);
    }
    handler()->on_part(c, data, len, first, last, is_text, handler()->ud);
}

/* The budget had no room for a message this connection is receiving:
 * RFC 6455 §7.4.1 and the IANA registry's 1013 "Try Again Later" -- the
 * server is temporarily unable to take it, not the message invalid. */
static void cannot_hold(ws_conn *c) {
    conn_fail(c, WS_CLOSE_TRY_AGAIN_LATER, "server memory full: try again later");
}

static void on_data(ws_conn *c, const ws_proto_event *ev) {
    int is_text = ev->opcode == WS_OP_TEXT;
    const ws_handler *h = handler();
    conn_x *x;
    buf *m;

    c->progress = now_ms();
    if (c->flags & F_RECV_PARTS) {
        part(c, ev->data, ev->len, 0, ev->last, is_text);
        return;
    }
    /* The common case: the whole message is in the read buffer. */
    if (ev->first && ev->last) {
        deliver(c, ev->data, ev->len, is_text);
        return;
    }
    /* Announced large, to a handler that takes parts: each chunk goes on
     * straight from the read buffer, while it is still in the CPU's cache,
     * and nothing is assembled. */
    if (ev->first && h->on_part && ev->size_hint >= WS_PART_MIN) {
        part(c, ev->data, ev->len, 1, ev->last, is_text);
        return;
    }
    if (!(x = conn_x_get(c))) {
        cannot_hold(c);
        return;
    }
    /* The batch may still point into the message buffer (the echo of the
     * previous message): write it before the buffer is reused. */
    if (srv->wconn == c && batch_points_into(x->msg)) {
        batch_write(c, 1);
        if (c->state == C_DEAD) return;
    }
    if (ev->first && x->msg) x->msg->off = x->msg->len = 0;
    m = x->msg;
    /* Large after all (a small first fragment, then large ones): what is
     * assembled so far becomes the first part, and the rest streams. Even
     * when this chunk ends the message: assembling it would make c->msg
     * hold up to WS_PART_MIN plus a whole read buffer, where a message in
     * parts costs at most WS_PART_MIN. */
    if (h->on_part && (m ? m->len : 0) + ev->len >= WS_PART_MIN) {
        if (m && m->len) {
            part(c, m->data, m->len, 1, 0, is_text);
            if (c->state != C_OPEN) return;
            m->len = 0; /* the batch may point into it: bytes stay, length resets */
            part(c, ev->data, ev->len, 0, ev->last, is_text);
        } else {
            part(c, ev->data, ev->len, 1, ev->last, is_text);
        }
        return;
    }
    /* conn_read() may have read this chunk straight into place. */
    if (!(m && ev->len && ev->data == m->data + m->len)) {
        if (buf_reserve(&x->msg, WS_MEM_MSG, ev->len) < 0 &&
            !(shed_for(c, ev->len + sizeof(buf)) &&
              buf_reserve(&x->msg, WS_MEM_MSG, ev->len) == 0)) {
            cannot_hold(c);
            return;
        }
        m = x->msg;
        if (ev->len) memcpy(m->data + m->len, ev->data, ev->len);
    }
    m->len += ev->len;
    if (!ev->last) return;
    deliver(c, m->data, m->len, is_text);
    /* The reply may point into the buffer until the batch is written;
     * the bytes stay, only the length is reset. */
    if (c->x && c->x->msg) c->x->msg->len = 0;
}

static void on_ping(ws_conn *c, const ws_proto_event *ev) {
    conn_x *x;
    /* RFC 6455 §5.5.2: answer with a pong carrying the same payload. */
    if (ev->first && ev->last) {
        send_frame(c, WS_OP_PONG, ev->data, ev->len);
        return;
    }
    /* A ping split across reads: at most 125 bytes held until it ends. */
    if (!(x = conn_x_get(c))) {
        cannot_hold(c);
        return;
    }
    if (ev->first && x->ctl) x->ctl->len = 0;
    if (buf_append(&x->ctl, WS_MEM_MSG, ev->data, ev->len) < 0) {
        cannot_hold(c);
        return;
    }
    if (ev->last) {
        send_frame(c, WS_OP_PONG, x->ctl->data, x->ctl->len);
        buf_free(&x->ctl);
    }
}

static void on_peer_close(ws_conn *c, unsigned code, const uint8_t *reason, size_t len) {
    int by_peer = c->state == C_OPEN;
    if (c->state == C_OPEN) {
        /* RFC 6455 §5.5.1: reply with a close, echoing the status code;
         * an empty close is answered with 1000 (normal closure). */
        unsigned reply = code ? code : WS_CLOSE_NORMAL;
        send_close(c, reply, NULL);
        c->close_code = (uint16_t)(code ? code : WS_CLOSE_NO_STATUS);
    }
    /* In C_CLOSING this was the answer to our close: handshake complete. */
    notify_close(c, c->close_code, reason, len, by_peer);
    conn_finish(c);
}

/* Does p point into b's bytes? */
static int inside_park(const buf *b, const uint8_t *p) {
    uintptr_t base = (uintptr_t)b->data, q = (uintptr_t)p;
    return q >= base && q <= base + b->len;
}

/* The output queue is full: keep the input not handled yet (still masked,
 * untouched) until it drains, and stop reading. At most one read buffer. */
static void park(ws_conn *c, uint8_t *p, size_t len) {
    conn_x *x = c->x;
    if (x && x->park && inside_park(x->park, p)) {
        /* Handling parked input, and the queue filled again: keep the rest. */
        x->park->off = (size_t)(p - x->park->data);
    } else if (!(x = conn_x_get(c)) || buf_append(&x->park, WS_MEM_MSG, p, len) < 0) {
        /* The queue may be full while its bytes are still in the write
         * batch (conn_queued() counts them), before c has working state
         * of its own: that is allocated here, not a reason to give up. */
        cannot_hold(c);
        return;
    }
    c->flags |= F_READ_PAUSED;
    conn_update_events(c);
}

void frames_feed(ws_conn *c, uint8_t *p, size_t len) {
    size_t off = 0;
    int was_unfinished = ws_proto_unfinished(&c->proto);
    ws_proto_zbuf zb, *zbp = NULL;

    /* permessage-deflate: the decompressor and buffer the engine inflates
     * with (compress.c). */
    switch (pmd_zbuf(c, &zb)) {
    case 0: break;
    case 1: zbp = &zb; break;
    default: cannot_hold(c); return;
    }
    while ((off < len || (zbp && ws_proto_pending(&c->proto))) &&
           (c->state == C_OPEN || c->state == C_CLOSING)) {
        ws_proto_event ev;
        if (c->state == C_OPEN && conn_queued(c) >= srv->cfg->max_queue) {
            /* Full only of replies still in the write batch: write them
             * first. If the kernel takes them there is no backpressure,
             * and parking now would stall: reading resumes only when a
             * queue drains (conn_flush()), and there would be none. */
            if (srv->wconn == c && srv->batch_bytes) {
                batch_write(c, 0);
                if (c->state != C_OPEN) break;
                if (conn_queued(c) < srv->cfg->max_queue) continue;
            }
            if (off < len) park(c, p + off, len - off);
            c->flags |= F_READ_PAUSED;
            conn_update_events(c);
            break;
        }
        off += ws_proto_feed_z(&c->proto, &srv->limits, zbp, p + off, len - off, &ev);
        switch (ev.type) {
        case WS_PROTO_EV_DATA:
            /* After our close, messages are no longer delivered (§7.1.2
             * says we stop sending; the peer's data is moot). */
            if (c->state == C_OPEN) on_data(c, &ev);
            break;
        case WS_PROTO_EV_PING:
            if (c->state == C_OPEN) on_ping(c, &ev);
            break;
        case WS_PROTO_EV_PONG: break; /* liveness was noted when the bytes arrived */
        case WS_PROTO_EV_CLOSE: on_peer_close(c, ev.close_code, ev.data, ev.len); break;
        case WS_PROTO_EV_ERROR:
            if (c->state == C_OPEN)
                conn_fail(c, ev.close_code, ws_strerror(ev.error));
            else
                conn_finish(c);
            break;
        default: break;
        }
    }
    /* A message or frame that starts unfinished starts its patience now;
     * payload that arrives (on_data) renews it, nothing else does. */
    if (!was_unfinished && ws_proto_unfinished(&c->proto)) c->progress = now_ms();
    if (zbp && c->state != C_DEAD && pmd_after_feed(c, zbp) < 0) cannot_hold(c);
}

/* The queue has drained: handle the input parked when it was full. */
void feed_parked(ws_conn *c) {
    buf *pk = c->x->park;
    srv->wconn = c;
    if (pk)
        frames_feed(c, pk->data + pk->off, pk->len - pk->off);
    else
        frames_feed(c, NULL, 0); /* inflated output still to come */
    batch_flush();
    /* Unless it was parked again (the queue filled once more: park() moved
     * its offset), it is done. Nothing in the batch points into it
     * (batch_ref() keeps no such pointers), so it can go. */
    if (pk && c->x && c->x->park == pk && !(c->flags & F_READ_PAUSED)) buf_free(&c->x->park);
}

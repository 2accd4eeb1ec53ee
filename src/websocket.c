/*
 * websocket.c -- an open WebSocket connection: frames in (through the
 * protocol engine), messages to the handler, and the handler API
 * (ws_send, ws_send_part, ws_close).
 */
#include "server_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Tell the handler the WebSocket connection is over, exactly once. */
void notify_close(ws_conn *c, unsigned code) {
    if (!(c->flags & F_OPENED)) return;
    c->flags &= (uint8_t)~F_OPENED;
    ws_log(WS_LOG_INFO, "client #%u disconnected (code %u)", c->id, code);
    if (handler()->on_close) handler()->on_close(c, code, handler()->ud);
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

void frames_feed(ws_conn *c, uint8_t *p, size_t len) {
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

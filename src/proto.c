/*
 * proto.c -- the protocol engine: frames -> message chunks, pings, closes.
 *
 * Reference card:
 *
 *   RFC 6455 §5.4 Fragmentation
 *     message    = unfragmented / fragmented
 *     fragmented = (TEXT|BINARY, FIN=0) *(CONT, FIN=0) (CONT, FIN=1)
 *     control frames MAY appear between the fragments of a message;
 *     any other interleaving is a protocol error (-> 1002).
 *   RFC 6455 §5.5.1 Close
 *     payload is empty, or a 2-byte status code (network order) followed
 *     by a UTF-8 reason; a 1-byte payload cannot be valid (-> 1002).
 *   RFC 6455 §7.4.1 / §7.4.2 status codes allowed on the wire:
 *     1000-1003, 1007-1011 (and 1012-1014 from the IANA registry),
 *     3000-4999. 1005, 1006 and 1015 are reserved for local use only.
 *   RFC 6455 §8.1 text payloads are UTF-8; invalid -> fail with 1007.
 *
 * Each call of ws_proto_feed() drives the frame parser until something
 * worth reporting happens and returns how far it got. A header is never
 * reported by itself: the engine checks it against the message context
 * and the limits, and only the payload chunks that follow come out.
 */
#include "proto.h"
#include "error.h"
#include "rfc6455.h"

#include <string.h>

void ws_proto_init(ws_proto *p) {
    memset(p, 0, sizeof(*p));
    ws_frame_parser_init(&p->fp, 1);
    ws_utf8_init(&p->utf8);
    ws_utf8_init(&p->reason_utf8);
    p->state = WS_PROTO_OPEN;
}

int ws_close_code_valid(unsigned code) {
    if (code >= 1000 && code <= 1003) return 1;
    if (code >= 1007 && code <= 1014) return 1;
    return code >= 3000 && code <= 4999;
}

/* Report err and stop reacting to input. */
static void fail(ws_proto *p, int err, ws_proto_event *ev) {
    p->state = WS_PROTO_FAILED;
    ev->type = WS_PROTO_EV_ERROR;
    ev->error = err;
    ev->close_code = ws_error_close_code(err);
}

/* A control frame has been read entirely: report it. */
static int control_done(ws_proto *p, ws_proto_event *ev) {
    switch (p->frame_op) {
    case WS_OP_PING:
        /* Only an empty ping ends here without chunk events. */
        if (p->ctl_seen == 0) {
            ev->type = WS_PROTO_EV_PING;
            ev->first = ev->last = 1;
            ev->data = NULL;
            ev->len = 0;
        }
        return WS_OK;
    case WS_OP_PONG:
        /* §5.5.3: an unsolicited pong is allowed and needs no answer; the
         * server still wants to know, to clear its keep-alive timer. */
        ev->type = WS_PROTO_EV_PONG;
        return WS_OK;
    case WS_OP_CLOSE:
        if (p->ctl_seen == 1) return WS_E_CLOSE_PAYLOAD;
        if (p->ctl_seen >= 2 && !ws_utf8_complete(&p->reason_utf8)) return WS_E_CLOSE_REASON;
        ev->type = WS_PROTO_EV_CLOSE;
        ev->close_code = p->ctl_seen ? p->close_code : 0;
        /* §5.5.1: after a close "the endpoint MUST NOT send any more data
         * frames" -- and whatever the peer sends after it is ignored. */
        p->state = WS_PROTO_CLOSED;
        return WS_OK;
    default:
        return WS_E_OPCODE; /* the frame parser lets no other opcode through */
    }
}

/* A data frame's payload chunk (or an empty data frame: len 0). */
static int data_chunk(ws_proto *p, uint8_t *data, size_t len, int frame_end, int ascii,
                      ws_proto_event *ev) {
    int message_end = frame_end && p->frame_fin;

    if (p->msg_op == WS_OP_TEXT) {
        size_t bad;
        /* §8.1, fail fast: the first byte that cannot be UTF-8 fails the
         * connection even if the rest of the message has not arrived. A
         * chunk the unmasking pass saw to be all ASCII, starting between
         * characters, is valid as it is and is not decoded again. */
        if (!(ascii && ws_utf8_complete(&p->utf8)) &&
            ws_utf8_feed(&p->utf8, data, len, &bad) == WS_UTF8_INVALID)
            return WS_E_UTF8;
        if (message_end && !ws_utf8_complete(&p->utf8)) return WS_E_UTF8;
    }
    /* An empty chunk in the middle of a message tells nobody anything. */
    if (len == 0 && !message_end) return WS_OK;

    p->msg_len += len;
    ev->type = WS_PROTO_EV_DATA;
    ev->opcode = p->msg_op;
    ev->first = !p->emitted;
    ev->last = (uint8_t)message_end;
    ev->data = data;
    ev->len = len;
    ev->size_hint = p->msg_len + p->fp.remaining;
    p->emitted = 1;
    if (message_end) {
        p->msg_op = 0;
        p->emitted = 0;
    }
    return WS_OK;
}

/* A complete, well-formed header: check it against the message context. */
static int on_header(ws_proto *p, const ws_proto_limits *lim, const ws_frame_event *fe,
                     ws_proto_event *ev) {
    p->frame_op = fe->opcode;
    p->frame_fin = fe->fin;

    if (WS_OP_IS_CONTROL(fe->opcode)) {
        p->ctl_seen = 0;
        if (fe->opcode == WS_OP_CLOSE) {
            p->close_code = 0;
            ws_utf8_init(&p->reason_utf8);
        }
        return fe->length == 0 ? control_done(p, ev) : WS_OK;
    }

    if (fe->opcode == WS_OP_CONT) {
        /* §5.4: a continuation frame continues something. */
        if (p->msg_op == 0) return WS_E_CONTINUATION;
    } else {
        /* §5.4: no new message until the fragmented one is finished. */
        if (p->msg_op != 0) return WS_E_EXPECTED_CONT;
        p->msg_op = fe->opcode;
        p->msg_len = 0;
        p->frags = 0;
        p->emitted = 0;
        ws_utf8_init(&p->utf8);
    }
    if (lim->max_fragments && p->frags >= lim->max_fragments) return WS_E_TOO_MANY_FRAGS;
    p->frags++;
    /* §7.4.1 (1009): judged on the declared length, before one payload
     * byte is read, so an oversized message is never buffered. */
    if (fe->length > lim->max_message - p->msg_len) return WS_E_TOO_BIG;
    return fe->length == 0 ? data_chunk(p, NULL, 0, 1, 1, ev) : WS_OK;
}

/* A chunk of payload of the current frame. */
static int on_payload(ws_proto *p, const ws_frame_event *fe, ws_proto_event *ev) {
    if (!WS_OP_IS_CONTROL(p->frame_op))
        return data_chunk(p, fe->data, fe->len, fe->last, fe->ascii, ev);

    if (p->frame_op == WS_OP_PING) {
        ev->type = WS_PROTO_EV_PING;
        ev->first = p->ctl_seen == 0;
        ev->last = fe->last;
        ev->data = fe->data;
        ev->len = fe->len;
    } else if (p->frame_op == WS_OP_CLOSE) {
        const uint8_t *d = fe->data, *end = fe->data + fe->len;
        /* The first two payload bytes are the status code. */
        while (d < end && p->ctl_seen + (d - fe->data) < 2) p->close_code = (uint16_t)((p->close_code << 8) | *d++);
        if (p->ctl_seen < 2 && p->ctl_seen + fe->len >= 2 && !ws_close_code_valid(p->close_code))
            return WS_E_CLOSE_CODE;
        if (ws_utf8_feed(&p->reason_utf8, d, (size_t)(end - d), NULL) == WS_UTF8_INVALID)
            return WS_E_CLOSE_REASON;
    }
    p->ctl_seen = (uint8_t)(p->ctl_seen + fe->len);
    return fe->last ? control_done(p, ev) : WS_OK;
}

size_t ws_proto_feed(ws_proto *p, const ws_proto_limits *lim, uint8_t *buf, size_t len,
                     ws_proto_event *ev) {
    size_t off = 0;

    ev->type = WS_PROTO_EV_NONE;
    if (p->state != WS_PROTO_OPEN) return len;

    while (off < len) {
        ws_frame_event fe;
        long n = ws_frame_feed(&p->fp, buf + off, len - off, &fe);
        int rc = WS_OK;

        if (n < 0) {
            fail(p, (int)n, ev);
            return len;
        }
        off += (size_t)n;
        if (fe.type == WS_FRAME_EV_HEADER)
            rc = on_header(p, lim, &fe, ev);
        else if (fe.type == WS_FRAME_EV_PAYLOAD)
            rc = on_payload(p, &fe, ev);
        if (rc != WS_OK) {
            fail(p, rc, ev);
            return len;
        }
        if (ev->type != WS_PROTO_EV_NONE) return off;
    }
    return off;
}

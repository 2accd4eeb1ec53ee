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
 *     3000-4999. Never on the wire: 1004 (reserved, no meaning yet) and
 *     1005, 1006, 1015 (reserved: "MUST NOT be set ... by an endpoint").
 *   RFC 6455 §8.1 text payloads are UTF-8; invalid -> fail with 1007.
 *
 *   RFC 7692 §6, §7.2.2 permessage-deflate: RSV1 on a message's first
 *     frame marks it compressed. The receiver inflates the payload of all
 *     its frames as one stream, then the four bytes 00 00 ff ff, which the
 *     sender removed (§7.2.1); the stream must then stand between two
 *     blocks (or after its final block, §7.2.3.4's BFINAL form).
 *
 * Each call of ws_proto_feed() drives the frame parser until something
 * worth reporting happens and returns how far it got. A header is never
 * reported by itself: the engine checks it against the message context
 * and the limits, and only the payload chunks that follow come out.
 *
 * A compressed message's payload chunk is not reported as it is: it is
 * handed back to the caller's input ("held": zheld bytes at the front of
 * the next call's input, unmasked already) and inflated from there as far
 * as the output buffer allows, so each call reports at most one buffer of
 * inflated bytes and the caller's loop ("call again with the rest") drives
 * the decompressor too.
 */
#include "proto.h"
#include "error.h"
#include "rfc6455.h"

#include <string.h>

/* The engine's state is counted in every connection's slot: at most 56
 * bytes anywhere, and on x86-64 exactly the 56 that docs/messages.md and
 * docs/from-minimal.md quote (make docs-check compares, scripts/docs/sizes). */
_Static_assert(sizeof(ws_proto) <= 56, "ws_proto grew: every idle connection pays for it");
#if defined(__x86_64__)
_Static_assert(sizeof(ws_proto) == 56, "docs/messages.md: ws_proto is 56 bytes");
#endif

/* RFC 7692 §7.2.2: appended to a compressed message's payload. */
static const uint8_t deflate_tail[4] = { 0x00, 0x00, 0xff, 0xff };

void ws_proto_init(ws_proto *p) {
    memset(p, 0, sizeof(*p));
    ws_frame_parser_init(&p->fp, 1);
    ws_utf8_init(&p->utf8);
    ws_utf8_init(&p->reason_utf8);
    p->state = WS_PROTO_OPEN;
}

void ws_proto_enable_deflate(ws_proto *p, int reset_each_message) {
    p->pmd = (uint8_t)(WS_PMD_ON | (reset_each_message ? WS_PMD_RESET : 0));
    p->fp.rsv1_ok = 1;
}

/* The largest message the engine can count: msg_len is 32 bits. */
static uint64_t max_message(const ws_proto_limits *lim) {
    return lim->max_message < UINT32_MAX ? lim->max_message : UINT32_MAX;
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
        if (p->ctl_seen <= 2) { /* no reason (on_payload set it otherwise) */
            ev->data = NULL;
            ev->len = 0;
        }
        /* §5.5.1: after a close "the endpoint MUST NOT send any more data
         * frames" -- and whatever the peer sends after it is ignored. */
        p->state = WS_PROTO_CLOSED;
        return WS_OK;
    default: return WS_E_OPCODE; /* the frame parser lets no other opcode through */
    }
}

/* A chunk of a data message's payload (or an empty one at its end):
 * validated and reported. For a compressed message, inflated bytes. */
static int data_chunk(ws_proto *p, const ws_proto_limits *lim, uint8_t *data, size_t len,
                      int message_end, int ascii, ws_proto_event *ev) {
    /* §7.4.1 (1009), for inflated bytes: judged as they come out, so a
     * small compressed message cannot make us inflate a huge one. (Plain
     * payload was judged on its declared length already.) */
    if (len > max_message(lim) - p->msg_len) return WS_E_TOO_BIG;
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

    p->msg_len += (uint32_t)len;
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
        p->z = 0;
    }
    return WS_OK;
}

/* Inflate what can be inflated of a compressed message: the held payload
 * at in (in_len bytes of it here), or, once the last frame is in, the
 * 00 00 ff ff tail. Sets *used to the input bytes it took, and reports
 * at most one buffer of output. */
static int inflate_step(ws_proto *p, const ws_proto_limits *lim, const ws_proto_zbuf *zb,
                        uint8_t *in, size_t in_len, size_t *used, ws_proto_event *ev) {
    unsigned fed = (p->z >> WS_Z_TAIL_SHIFT) & 7;
    int tailing = (p->z & WS_Z_TAIL) && p->zheld == 0;
    size_t u = 0, out_len = 0;
    int rc = WS_INFLATE_NEED_INPUT, message_end;

    *used = 0;
    if (p->z & WS_Z_END) {
        /* After the final block nothing more is inflated (§7.2.3.4: what
         * follows, the tail included, is not part of the stream). */
        *used = in_len;
        p->zheld -= (uint32_t)in_len;
        p->z &= (uint8_t)~WS_Z_DRAIN;
        if (!tailing) return WS_OK;
        fed = 4;
    } else if (tailing) {
        rc = ws_inflate_feed(zb->z, deflate_tail + fed, 4 - fed, &u, zb->out, zb->cap, &out_len);
        fed += (unsigned)u;
    } else {
        rc = ws_inflate_feed(zb->z, in, in_len, &u, zb->out, zb->cap, &out_len);
        *used = u;
        p->zheld -= (uint32_t)u;
    }
    if (rc < 0) return rc;
    p->z = (uint8_t)((p->z & ~(WS_Z_DRAIN | (7 << WS_Z_TAIL_SHIFT))) | (fed << WS_Z_TAIL_SHIFT));
    if (rc == WS_INFLATE_OUTPUT_FULL) p->z |= WS_Z_DRAIN;
    if (rc == WS_INFLATE_END) p->z |= WS_Z_END;
    message_end = (tailing || (p->z & WS_Z_END && (p->z & WS_Z_TAIL) && p->zheld == 0)) &&
                  fed == 4 && !(p->z & WS_Z_DRAIN);
    /* §7.2.1: the sender ended the message with an empty stored block and
     * removed its 00 00 ff ff; with those bytes back the stream must stand
     * between blocks. Anywhere else the data was cut or forged. */
    if (message_end && !(p->z & WS_Z_END) && !ws_inflate_at_block_boundary(zb->z))
        return WS_E_INFLATE_END;
    if (out_len == 0 && !message_end) return WS_OK;
    return data_chunk(p, lim, zb->out, out_len, message_end, 0, ev);
}

/* A complete, well-formed header: check it against the message context. */
static int on_header(ws_proto *p, const ws_proto_limits *lim, const ws_proto_zbuf *zb,
                     const ws_frame_event *fe, ws_proto_event *ev) {
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
        p->z = 0;
        ws_utf8_init(&p->utf8);
        if (fe->rsv1) {
            /* RFC 7692 §6.1: a compressed message. Its stream starts from
             * the last one's window (context takeover, §7.2.3.2) unless
             * the client agreed not to keep it. */
            if (!zb || !zb->z) return WS_E_RSV;
            p->z = WS_Z_MSG;
            ws_inflate_reset(zb->z, !(p->pmd & WS_PMD_RESET));
        }
    }
    if (lim->max_fragments && p->frags >= lim->max_fragments) return WS_E_TOO_MANY_FRAGS;
    p->frags++;
    /* §7.4.1 (1009): judged on the declared length, before one payload
     * byte is read, so an oversized message is never buffered. For a
     * compressed message the declared bytes are compressed ones, and
     * incompressible data grows a little when compressed (stored blocks:
     * about 5 bytes in 16 KiB with zlib): each frame may be as long as the
     * largest message plus 1/64 of it, and the inflated size is judged as
     * it is produced. */
    if (p->z & WS_Z_MSG) {
        if (fe->length > max_message(lim) + max_message(lim) / 64 + 64) return WS_E_TOO_BIG;
    } else if (fe->length > max_message(lim) - p->msg_len) {
        return WS_E_TOO_BIG;
    }
    if (fe->length == 0 && fe->fin && (p->z & WS_Z_MSG)) {
        p->z |= WS_Z_TAIL; /* the message's last frame is in: the tail next */
        return WS_OK;
    }
    return fe->length == 0 ? data_chunk(p, lim, NULL, 0, fe->fin, 1, ev) : WS_OK;
}

/* A chunk of payload of the current frame. */
static int on_payload(ws_proto *p, const ws_proto_limits *lim, const ws_frame_event *fe,
                      ws_proto_event *ev) {
    if (!WS_OP_IS_CONTROL(p->frame_op))
        return data_chunk(p, lim, fe->data, fe->len, fe->last && p->frame_fin, fe->ascii, ev);

    if (p->frame_op == WS_OP_PING) {
        ev->type = WS_PROTO_EV_PING;
        ev->first = p->ctl_seen == 0;
        ev->last = fe->last;
        ev->data = fe->data;
        ev->len = fe->len;
    } else if (p->frame_op == WS_OP_CLOSE) {
        const uint8_t *d = fe->data, *end = fe->data + fe->len;
        /* The first two payload bytes are the status code. */
        while (d < end && p->ctl_seen + (d - fe->data) < 2)
            p->close_code = (uint16_t)((p->close_code << 8) | *d++);
        if (p->ctl_seen < 2 && p->ctl_seen + fe->len >= 2 && !ws_close_code_valid(p->close_code))
            return WS_E_CLOSE_CODE;
        if (ws_utf8_feed(&p->reason_utf8, d, (size_t)(end - d), NULL) == WS_UTF8_INVALID)
            return WS_E_CLOSE_REASON;
        /* The reason, for the CLOSE event, when the whole payload is in
         * this chunk (nearly always: it is at most 123 bytes); the engine
         * keeps no copy, so one split across reads is reported empty. */
        ev->data = p->ctl_seen == 0 && fe->last ? (uint8_t *)d : NULL;
        ev->len = ev->data ? (size_t)(end - d) : 0;
    }
    p->ctl_seen = (uint8_t)(p->ctl_seen + fe->len);
    return fe->last ? control_done(p, ev) : WS_OK;
}

/* The common case in one pass: between messages, a whole unfragmented
 * text or binary frame, masked, uncompressed, with a 7- or 16-bit length,
 * all of it in buf. Such a frame passes every header rule of frame.c
 * (RFC 6455 §5.2: FIN set, RSV clear, a known opcode, the mask bit, the
 * shortest length form, checked below) and every message rule of
 * on_header() (§5.4: no message open; §7.4.1: within --max-message), so it
 * is checked, unmasked, validated (§8.1) and reported here, without the
 * frame parser's header and payload events. Anything else -- a split
 * frame, a control frame, a fragment, a compressed or oversized one, one
 * that breaks a rule -- returns 0 and takes the general path below, which
 * refuses it at the byte the rules name. Returns the bytes used, with ev
 * filled in (DATA or ERROR), or 0. */
static size_t whole_frame(ws_proto *p, const ws_proto_limits *lim, uint8_t *buf, size_t len,
                          ws_proto_event *ev) {
    uint8_t b0 = buf[0], b1 = buf[1], *key = buf + 2;
    size_t plen = b1 & WS_LEN7_MASK, hl = 6;

    if ((b0 != (WS_FIN | WS_OP_TEXT) && b0 != (WS_FIN | WS_OP_BINARY)) || !(b1 & WS_MASK_BIT))
        return 0;
    if (plen == WS_LEN16) {
        if (len < 8) return 0;
        plen = (size_t)buf[2] << 8 | buf[3];
        if (plen < WS_LEN16) return 0; /* not the shortest form: refused below */
        hl = 8;
        key = buf + 4;
    } else if (plen == WS_LEN64) {
        return 0;
    }
    if (len - hl < plen || plen > max_message(lim) || p->msg_op != 0 || p->z != 0 ||
        !ws_frame_parser_idle(&p->fp))
        return 0;

    uint8_t *data = buf + hl;
    int ascii = ws_frame_mask(data, plen, key, 0);
    uint8_t op = b0 & WS_OPCODE_MASK;
    if (op == WS_OP_TEXT && !ascii) {
        /* §8.1: the whole message is here, so whether it is valid and
         * complete UTF-8 is one question. */
        ws_utf8_init(&p->utf8);
        if (ws_utf8_feed(&p->utf8, data, plen, NULL) == WS_UTF8_INVALID ||
            !ws_utf8_complete(&p->utf8)) {
            fail(p, WS_E_UTF8, ev);
            return len;
        }
    }
    /* The state the general path leaves after such a message. */
    p->frame_op = op;
    p->frame_fin = 1;
    p->frags = 1;
    p->msg_len = (uint32_t)plen;
    ev->type = WS_PROTO_EV_DATA;
    ev->opcode = op;
    ev->first = ev->last = 1;
    ev->data = data;
    ev->len = plen;
    ev->size_hint = plen;
    return hl + plen;
}

size_t ws_proto_feed_z(ws_proto *p, const ws_proto_limits *lim, const ws_proto_zbuf *zb,
                       uint8_t *buf, size_t len, ws_proto_event *ev) {
    size_t off = 0;

    ev->type = WS_PROTO_EV_NONE;
    if (p->state != WS_PROTO_OPEN) return len;
    if (len >= 6 && (off = whole_frame(p, lim, buf, len, ev)) != 0) return off;

    for (;;) {
        int rc = WS_OK;
        /* A compressed message's work first: held payload (at buf + off),
         * output the decompressor still has, or the tail. Each step takes
         * input, or reports output, or ends the message. */
        if ((p->z & WS_Z_MSG) && (p->zheld || (p->z & (WS_Z_DRAIN | WS_Z_TAIL)))) {
            size_t take = p->zheld < len - off ? p->zheld : len - off, used;
            /* Nothing to take: the caller broke "call again with the rest". */
            if (p->zheld && take == 0) return off;
            rc = inflate_step(p, lim, zb, buf + off, take, &used, ev);
            off += used;
            if (rc != WS_OK) {
                fail(p, rc, ev);
                return len;
            }
            if (ev->type != WS_PROTO_EV_NONE) return off;
            continue;
        }
        if (off >= len) return off;

        ws_frame_event fe;
        long n = ws_frame_feed(&p->fp, buf + off, len - off, &fe);
        if (n < 0) {
            fail(p, (int)n, ev);
            return len;
        }
        if (fe.type == WS_FRAME_EV_HEADER) {
            /* The header first, against the message context and the
             * limits; then the payload that came with it (one pass). */
            rc = on_header(p, lim, zb, &fe, ev);
            if (rc != WS_OK) {
                fail(p, rc, ev);
                return len;
            }
            if (fe.length == 0 || ev->type != WS_PROTO_EV_NONE) {
                off += (size_t)n;
                if (ev->type != WS_PROTO_EV_NONE) return off;
                continue;
            }
            /* What remains is the payload chunk, at the end of the n bytes. */
            off += (size_t)n - fe.len;
            n = (long)fe.len;
            if (fe.len == 0) continue;
        }
        if (fe.type != WS_FRAME_EV_NONE && (p->z & WS_Z_MSG) && !WS_OP_IS_CONTROL(p->frame_op)) {
            /* Compressed payload: take it back as held input, unmasked,
             * and inflate it from there (above). */
            p->zheld = (uint32_t)fe.len;
            if (fe.last && p->frame_fin) p->z |= WS_Z_TAIL;
            continue;
        }
        off += (size_t)n;
        if (fe.type != WS_FRAME_EV_NONE) rc = on_payload(p, lim, &fe, ev);
        if (rc != WS_OK) {
            fail(p, rc, ev);
            return len;
        }
        if (ev->type != WS_PROTO_EV_NONE) return off;
    }
}

size_t ws_proto_feed(ws_proto *p, const ws_proto_limits *lim, uint8_t *buf, size_t len,
                     ws_proto_event *ev) {
    return ws_proto_feed_z(p, lim, NULL, buf, len, ev);
}

/*
 * proto.h -- the per-connection WebSocket protocol engine (sans I/O).
 *
 * Bytes from the peer go in; events come out: a chunk of a data message,
 * a chunk of a ping, a pong, a close, or the error that fails the
 * connection with its close code. The engine enforces every rule that
 * needs more context than one frame header:
 *
 *   RFC 6455 §5.4  fragmentation: a continuation needs a started message,
 *                  a new text/binary frame may not start inside one, and
 *                  control frames may be interleaved
 *   RFC 6455 §8.1  text messages are UTF-8, validated across frames and
 *                  reads, failing at the first bad byte (-> 1007)
 *   RFC 6455 §5.5.1, §7.4  close payloads: 0 bytes, or a valid code
 *                  followed by a UTF-8 reason (-> 1002 otherwise)
 *   RFC 6455 §7.4.1 1009: a message bigger than the configured maximum,
 *                  judged from the declared lengths before any payload
 *                  is buffered; also a bound on fragments per message
 *   RFC 7692 §6    permessage-deflate, once negotiated: a message whose
 *                  first frame has RSV1 is compressed. Its payload is
 *                  inflated as it arrives (into the caller's buffer, with
 *                  the caller's decompressor), the 00 00 ff ff tail is
 *                  appended at its end (§7.2.2), and the limits and UTF-8
 *                  are judged on the inflated bytes, failing as soon as the
 *                  inflated size passes the maximum -- a "bomb" is never
 *                  inflated first.
 *
 * It does not reassemble messages -- that needs memory, and memory belongs
 * to the server -- it reports each chunk with flags saying where the
 * message starts and ends, so a message that arrives whole in one read can
 * be handed to the application straight from the read buffer.
 *
 * State is 56 bytes; the engine never allocates, never does I/O.
 */
#ifndef WS_PROTO_H
#define WS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "inflate.h"
#include "utf8.h"

/* Limits the engine enforces; shared by all connections of a server. */
typedef struct ws_proto_limits {
    uint64_t max_message;   /* bytes per data message; over -> 1009 */
    uint32_t max_fragments; /* frames per data message; over -> 1009 (0: no limit) */
} ws_proto_limits;

typedef struct ws_proto {
    ws_frame_parser fp;  /* header and unmasking state */
    uint32_t msg_len;    /* payload bytes of the current message so far
                            (inflated bytes, for a compressed one); the
                            limit is capped at UINT32_MAX */
    uint32_t zheld;      /* compressed payload at the front of the next
                            input, already unmasked, not yet inflated */
    uint32_t frags;      /* frames of the current message so far */
    ws_utf8 utf8;        /* text message validation, across frames */
    ws_utf8 reason_utf8; /* close reason validation */
    uint16_t close_code; /* close status being read */
    uint8_t ctl_seen;    /* bytes of the current control payload seen */
    uint8_t msg_op;      /* WS_OP_TEXT/BINARY of the open message, 0 if none */
    uint8_t frame_op;    /* opcode of the current frame */
    uint8_t frame_fin;   /* FIN of the current frame */
    uint8_t emitted;     /* a chunk of the current message was reported */
    uint8_t state;       /* WS_PROTO_OPEN / _CLOSED / _FAILED */
    uint8_t pmd;         /* WS_PMD_* bits: permessage-deflate negotiated */
    uint8_t z;           /* WS_Z_* bits: the compressed message's progress */
} ws_proto;

/* ws_proto.pmd */
enum {
    WS_PMD_ON = 1,   /* RSV1 marks compressed messages */
    WS_PMD_RESET = 2 /* client_no_context_takeover: each message is
                        inflated from a fresh window */
};

/* Memory the caller lends the engine to inflate a compressed message: the
 * decompressor that carries this connection's stream (one shared by many
 * connections will do between messages, when no context is kept, but a
 * message must go on with the state it started with), and a buffer for
 * the inflated bytes. DATA events of a compressed message point into out,
 * valid until the next call. */
typedef struct ws_proto_zbuf {
    ws_inflate *z;
    uint8_t *out;
    size_t cap;
} ws_proto_zbuf;

enum {
    WS_PROTO_OPEN = 0, /* exchanging messages */
    WS_PROTO_CLOSED,   /* a close frame was received; the rest is ignored */
    WS_PROTO_FAILED    /* a protocol error was reported; the rest is ignored */
};

enum {
    WS_PROTO_EV_NONE = 0, /* input exhausted, nothing to report */
    WS_PROTO_EV_DATA,     /* a chunk of a text or binary message */
    WS_PROTO_EV_PING,     /* a chunk of a ping payload */
    WS_PROTO_EV_PONG,     /* a pong frame was received (payload ignored) */
    WS_PROTO_EV_CLOSE,    /* a valid close frame was received */
    WS_PROTO_EV_ERROR     /* protocol error: fail with close_code */
};

typedef struct ws_proto_event {
    int type;       /* WS_PROTO_EV_* */
    uint8_t opcode; /* DATA: WS_OP_TEXT or WS_OP_BINARY */
    uint8_t first;  /* DATA/PING: chunk starts the message / ping */
    uint8_t last;   /* DATA/PING: chunk ends the message / ping */
    uint8_t *data;  /* DATA/PING: unmasked bytes inside the fed buffer;
                       CLOSE: the reason (valid UTF-8), when the close
                       frame's payload came in one call, else NULL */
    size_t len;
    /* DATA: the message is known to be at least this long (bytes so far
     * plus what the current frame header declares): a size to reserve. */
    uint64_t size_hint;
    uint16_t close_code; /* CLOSE: received code, or 0 for an empty close;
                            ERROR: the code to send (1002, 1007, 1009) */
    int error;           /* ERROR: the ws_error */
} ws_proto_event;

void ws_proto_init(ws_proto *p);

/* permessage-deflate was negotiated (RFC 7692): RSV1 on the first frame of
 * a data message now means "compressed". reset_each_message: the client
 * agreed to client_no_context_takeover. */
void ws_proto_enable_deflate(ws_proto *p, int reset_each_message);

/* Feed len bytes at buf (writable: payloads are unmasked in place).
 * Consumes input until one event is ready or the input is exhausted, and
 * returns the bytes consumed; call again with the rest. Every call that is
 * given at least one byte consumes at least one byte or reports an event.
 * Chunk pointers stay valid as long as the caller's buffer. After an ERROR
 * or CLOSE event, further input is consumed and ignored. */
size_t ws_proto_feed(ws_proto *p, const ws_proto_limits *lim, uint8_t *buf, size_t len,
                     ws_proto_event *ev);

/* The same, with memory to inflate compressed messages (zb may be NULL
 * when permessage-deflate was not negotiated). Call it while there is
 * input, and then while ws_proto_pending() says inflated output is still
 * to come (with len 0 if no input is left). */
size_t ws_proto_feed_z(ws_proto *p, const ws_proto_limits *lim, const ws_proto_zbuf *zb,
                       uint8_t *buf, size_t len, ws_proto_event *ev);

/* ws_proto.z */
enum {
    WS_Z_MSG = 1,   /* the current message is compressed */
    WS_Z_END = 2,   /* its final block (BFINAL) has ended */
    WS_Z_DRAIN = 4, /* the decompressor has more output for us */
    WS_Z_TAIL = 8,  /* its last frame is in: the 00 00 ff ff tail is
                       being inflated (bits 4-6: bytes of it fed) */
    WS_Z_TAIL_SHIFT = 4
};

/* 1 if the engine has inflated output to report without more input: call
 * ws_proto_feed_z() again, even with no bytes. */
static inline int ws_proto_pending(const ws_proto *p) {
    return p->state == WS_PROTO_OPEN && (p->z & WS_Z_MSG) && p->zheld == 0 &&
           (p->z & (WS_Z_DRAIN | WS_Z_TAIL));
}

/* 1 while a compressed message is being inflated: its decompressor's state
 * belongs to this connection until the message ends. */
static inline int ws_proto_inflating(const ws_proto *p) {
    return p->state == WS_PROTO_OPEN && (p->z & WS_Z_MSG);
}

/* Payload bytes of the current data frame still to come, when the frame
 * continues a message whose first chunk was already reported; 0 otherwise.
 * A server can use it to read such payload straight into the message's
 * buffer. */
static inline uint64_t ws_proto_data_left(const ws_proto *p) {
    return (p->state == WS_PROTO_OPEN && p->emitted && !WS_OP_IS_CONTROL(p->frame_op) &&
            !(p->z & WS_Z_MSG))
               ? p->fp.remaining
               : 0;
}

/* 1 while a data message or any frame is unfinished: a message whose
 * final fragment has not arrived, or a frame (data or control) whose
 * header or payload is still incomplete. The server times such a state
 * out when it stops making progress (--message-timeout). */
static inline int ws_proto_unfinished(const ws_proto *p) {
    return p->state == WS_PROTO_OPEN && (p->msg_op != 0 || !ws_frame_parser_idle(&p->fp));
}

/* RFC 6455 §7.4: may this status code appear in a close frame on the wire?
 * 1000-1003, 1007-1014 and 3000-4999 may. Never on the wire: 1004
 * (reserved, no meaning yet) and 1005, 1006, 1015 (reserved: "MUST NOT be
 * set ... by an endpoint"); nor the rest of 0-2999 and 5000+, which are
 * unassigned. (1012-1014 were registered after the RFC, in the IANA
 * "WebSocket Close Code Number Registry".) */
int ws_close_code_valid(unsigned code);

#endif /* WS_PROTO_H */

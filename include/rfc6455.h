/*
 * rfc6455.h -- the numbers RFC 6455 defines, named once.
 *
 * Every other module says WS_OP_TEXT or WS_CLOSE_PROTOCOL_ERROR instead of
 * 0x1 or 1002, so a reader can grep from the RFC to the code and back.
 *
 * Frame layout (RFC 6455 §5.2), for reference:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 */
#ifndef WS_RFC6455_H
#define WS_RFC6455_H

/* The RFC's constants as tables, aligned by hand. */
/* clang-format off */
/* RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_GUID_LEN 36

/* RFC 6455 §4.2.1: the only protocol version this server speaks. */
#define WS_VERSION 13

/* RFC 6455 §5.2: first header byte. */
#define WS_FIN  0x80
#define WS_RSV1 0x40
#define WS_RSV2 0x20
#define WS_RSV3 0x10
#define WS_RSV_MASK 0x70
#define WS_OPCODE_MASK 0x0F
/* Second header byte. */
#define WS_MASK_BIT 0x80
#define WS_LEN7_MASK 0x7F
#define WS_LEN16 126            /* 7-bit length value meaning "16-bit length follows" */
#define WS_LEN64 127            /* 7-bit length value meaning "64-bit length follows" */

/* A frame header is 2 bytes, plus 2 or 8 bytes of length, plus 4 of mask. */
#define WS_MAX_HEADER_LEN 14
/* A server frame is never masked (RFC 6455 §5.1), so at most 10 bytes. */
#define WS_MAX_SERVER_HEADER_LEN 10

/* RFC 6455 §5.2 / §11.8: opcodes. 0x3-0x7 and 0xB-0xF are reserved. */
enum {
    WS_OP_CONT   = 0x0,
    WS_OP_TEXT   = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE  = 0x8,
    WS_OP_PING   = 0x9,
    WS_OP_PONG   = 0xA
};

/* RFC 6455 §5.5: control frames have the high opcode bit set. */
#define WS_OP_IS_CONTROL(op) (((op) & 0x8) != 0)

/* RFC 6455 §5.5: "All control frames MUST have a payload length of 125
 * bytes or less and MUST NOT be fragmented." */
#define WS_MAX_CONTROL_PAYLOAD 125

/* RFC 6455 §5.5.1: a close reason fits in 125 - 2 bytes of status code. */
#define WS_MAX_CLOSE_REASON 123

/* RFC 6455 §7.4.1: status codes. */
enum {
    WS_CLOSE_NORMAL           = 1000,
    WS_CLOSE_GOING_AWAY       = 1001,
    WS_CLOSE_PROTOCOL_ERROR   = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS        = 1005, /* never sent on the wire */
    WS_CLOSE_ABNORMAL         = 1006, /* never sent on the wire */
    WS_CLOSE_INVALID_PAYLOAD  = 1007,
    WS_CLOSE_POLICY_VIOLATION = 1008,
    WS_CLOSE_MESSAGE_TOO_BIG  = 1009,
    WS_CLOSE_MANDATORY_EXT    = 1010,
    WS_CLOSE_INTERNAL_ERROR   = 1011,
    WS_CLOSE_SERVICE_RESTART  = 1012,
    WS_CLOSE_TRY_AGAIN_LATER  = 1013,
    WS_CLOSE_BAD_GATEWAY      = 1014,
    WS_CLOSE_TLS_HANDSHAKE    = 1015  /* never sent on the wire */
};

/* clang-format on */

#endif /* WS_RFC6455_H */

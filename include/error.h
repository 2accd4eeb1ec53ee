/*
 * error.h -- the project's error codes.
 *
 * Functions that can fail return one of these (negative) or a non-negative
 * result. "Need more input" is not an error: parsers report it as progress.
 * ws_error_close_code() maps a protocol error to the close status the RFC
 * names for it (RFC 6455 §7.4.1), so the code that detects a violation and
 * the code that answers it agree in one table.
 */
#ifndef WS_ERROR_H
#define WS_ERROR_H

#include <stdint.h>

typedef enum ws_error {
    WS_OK = 0,
    /* clang-format off */
    /* Frame layer (RFC 6455 §5). */
    WS_E_RSV            = -1,  /* RSV bit set without a negotiated extension (§5.2) */
    WS_E_OPCODE         = -2,  /* reserved opcode (§5.2) */
    WS_E_UNMASKED       = -3,  /* client frame without mask (§5.1) */
    WS_E_CONTROL_LEN    = -4,  /* control payload > 125 bytes (§5.5) */
    WS_E_CONTROL_FRAG   = -5,  /* fragmented control frame (§5.5) */
    WS_E_LENGTH         = -6,  /* 64-bit length with top bit set, or not minimal (§5.2) */
    WS_E_CONTINUATION   = -7,  /* continuation without a started message (§5.4) */
    WS_E_EXPECTED_CONT  = -8,  /* new data frame inside a fragmented message (§5.4) */
    WS_E_UTF8           = -9,  /* text payload is not UTF-8 (§8.1) */
    WS_E_CLOSE_PAYLOAD  = -10, /* close payload of 1 byte (§5.5.1) */
    WS_E_CLOSE_CODE     = -11, /* close code not allowed on the wire (§7.4) */
    WS_E_CLOSE_REASON   = -12, /* close reason not UTF-8 (§5.5.1) */
    WS_E_TOO_BIG        = -13, /* message over the configured maximum (§7.4.1: 1009) */
    WS_E_TOO_MANY_FRAGS = -14, /* more fragments than the configured maximum (1009) */
    /* HTTP handshake (RFC 6455 §4.2.1, RFC 9110/9112). */
    WS_E_HTTP_SYNTAX    = -20, /* malformed request line or header: 400 */
    WS_E_HTTP_TOO_LARGE = -21, /* request head over the limit: 431 */
    WS_E_HTTP_URI_LONG  = -22, /* request target over the limit: 414 */
    WS_E_HTTP_VERSION   = -23, /* not HTTP/1.x: 505 */
    /* DEFLATE streams (RFC 1951), inside permessage-deflate (RFC 7692). */
    WS_E_INFLATE_BTYPE    = -40, /* reserved block type 11 (§3.2.3) */
    WS_E_INFLATE_STORED   = -41, /* stored block LEN != ~NLEN (§3.2.4) */
    WS_E_INFLATE_CODES    = -42, /* over-subscribed or incomplete Huffman code (§3.2.2) */
    WS_E_INFLATE_LENGTHS  = -43, /* bad code-length sequence: repeat with nothing
                                    before it, or past HLIT + HDIST (§3.2.7) */
    WS_E_INFLATE_SYMBOL   = -44, /* reserved length or distance symbol (§3.2.5) */
    WS_E_INFLATE_DISTANCE = -45, /* distance beyond the window or the output (§3.2.5) */
    WS_E_DEFLATE_ARG      = -46, /* a bad argument to the encoder (a bug, not input) */
    WS_E_INFLATE_END      = -47, /* a compressed message does not end between blocks
                                    (RFC 7692 §7.2.2) */
    /* clang-format on */
} ws_error;

/* A short English description of err; never NULL. */
const char *ws_strerror(int err);

/* The close status code to send for a protocol error (1002, 1007, 1009,
 * ...), or 0 when err is not a WebSocket protocol error. */
uint16_t ws_error_close_code(int err);

#endif /* WS_ERROR_H */

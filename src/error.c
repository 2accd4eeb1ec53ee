/*
 * error.c -- one table from error code to text and to close status.
 *
 * RFC 6455 §7.4.1 names the status an endpoint sends when it fails a
 * connection: 1002 for protocol errors, 1007 for payload data that is not
 * consistent with the message type (bad UTF-8), 1009 for a message too big
 * to process. Keeping both mappings in one table means a new error cannot
 * be added without deciding how it is answered.
 */
#include "error.h"
#include "rfc6455.h"

#include <stddef.h>

/* clang-format off */
static const struct {
    int code;
    uint16_t close_code;
    const char *text;
} table[] = {
    { WS_OK,               0, "success" },
    { WS_E_RSV,            WS_CLOSE_PROTOCOL_ERROR, "reserved bit set without extension" },
    { WS_E_OPCODE,         WS_CLOSE_PROTOCOL_ERROR, "reserved opcode" },
    { WS_E_UNMASKED,       WS_CLOSE_PROTOCOL_ERROR, "client frame not masked" },
    { WS_E_CONTROL_LEN,    WS_CLOSE_PROTOCOL_ERROR, "control frame payload over 125 bytes" },
    { WS_E_CONTROL_FRAG,   WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame" },
    { WS_E_LENGTH,         WS_CLOSE_PROTOCOL_ERROR, "invalid payload length encoding" },
    { WS_E_CONTINUATION,   WS_CLOSE_PROTOCOL_ERROR, "continuation frame without a message" },
    { WS_E_EXPECTED_CONT,  WS_CLOSE_PROTOCOL_ERROR, "data frame inside a fragmented message" },
    { WS_E_UTF8,           WS_CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8" },
    { WS_E_CLOSE_PAYLOAD,  WS_CLOSE_PROTOCOL_ERROR, "close payload of one byte" },
    { WS_E_CLOSE_CODE,     WS_CLOSE_PROTOCOL_ERROR, "invalid close status code" },
    { WS_E_CLOSE_REASON,   WS_CLOSE_PROTOCOL_ERROR, "close reason is not valid UTF-8" },
    { WS_E_TOO_BIG,        WS_CLOSE_MESSAGE_TOO_BIG, "message too big" },
    { WS_E_TOO_MANY_FRAGS, WS_CLOSE_MESSAGE_TOO_BIG, "too many fragments" },
    { WS_E_HTTP_SYNTAX,    0, "malformed HTTP request" },
    { WS_E_HTTP_TOO_LARGE, 0, "HTTP request head too large" },
    { WS_E_HTTP_URI_LONG,  0, "HTTP request target too long" },
    { WS_E_HTTP_VERSION,   0, "HTTP version not supported" },
    /* RFC 7692 §8 only says "Fail the WebSocket Connection"; compressed data
     * that does not decode is payload data inconsistent with the message
     * (RFC 6455 §7.4.1: 1007), as invalid UTF-8 is. */
    { WS_E_INFLATE_BTYPE,    WS_CLOSE_INVALID_PAYLOAD, "compressed data: reserved block type" },
    { WS_E_INFLATE_STORED,   WS_CLOSE_INVALID_PAYLOAD, "compressed data: bad stored block length" },
    { WS_E_INFLATE_CODES,    WS_CLOSE_INVALID_PAYLOAD, "compressed data: invalid Huffman code" },
    { WS_E_INFLATE_LENGTHS,  WS_CLOSE_INVALID_PAYLOAD, "compressed data: invalid code lengths" },
    { WS_E_INFLATE_SYMBOL,   WS_CLOSE_INVALID_PAYLOAD, "compressed data: reserved symbol" },
    { WS_E_INFLATE_DISTANCE, WS_CLOSE_INVALID_PAYLOAD, "compressed data: distance too far back" },
    { WS_E_DEFLATE_ARG,      0, "invalid argument to the compressor" },
    { WS_E_INFLATE_END,      WS_CLOSE_INVALID_PAYLOAD, "compressed message cut short" },
};
/* clang-format on */

const char *ws_strerror(int err) {
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].code == err) return table[i].text;
    return "unknown error";
}

uint16_t ws_error_close_code(int err) {
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].code == err) return table[i].close_code;
    return 0;
}

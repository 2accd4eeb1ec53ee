/*
 * vectors.h -- the RFC 6455 test vectors, written once for every test
 * that uses them.
 *
 * Macros rather than objects: a string literal keeps its sizeof, a byte
 * list initialises an array of the test's own (static const uint8_t x[] =
 * { TV_HELLO_MASKED };), and a test that uses none of them gets no unused
 * variable.
 */
#ifndef WS_TEST_VECTORS_H
#define WS_TEST_VECTORS_H

/* RFC 6455 §1.3: the sample nonce, and the Sec-WebSocket-Accept value it
 * gives (base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))). */
#define TV_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define TV_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* RFC 6455 §1.3: the sample client handshake, to the byte. */
#define TV_REQUEST                                                                                 \
    "GET /chat HTTP/1.1\r\n"                                                                       \
    "Host: server.example.com\r\n"                                                                 \
    "Upgrade: websocket\r\n"                                                                       \
    "Connection: Upgrade\r\n"                                                                      \
    "Sec-WebSocket-Key: " TV_KEY "\r\n"                                                            \
    "Origin: http://example.com\r\n"                                                               \
    "Sec-WebSocket-Protocol: chat, superchat\r\n"                                                  \
    "Sec-WebSocket-Version: 13\r\n"                                                                \
    "\r\n"

/* RFC 6455 §5.7, the example frames. The masking key of the masked ones: */
#define TV_MASK_KEY       0x37, 0xfa, 0x21, 0x3d
/* "A single-frame unmasked text message" ("Hello", as a server sends it). */
#define TV_HELLO_UNMASKED 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
/* "A single-frame masked text message" ("Hello", as a client sends it). */
#define TV_HELLO_MASKED   0x81, 0x85, TV_MASK_KEY, 0x7f, 0x9f, 0x4d, 0x51, 0x58
/* "Unmasked Ping request" with "Hello" as its body. */
#define TV_PING_UNMASKED  0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
/* "masked Ping response": a masked pong with "Hello". */
#define TV_PONG_MASKED    0x8a, 0x85, TV_MASK_KEY, 0x7f, 0x9f, 0x4d, 0x51, 0x58

#endif /* WS_TEST_VECTORS_H */

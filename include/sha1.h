/*
 * sha1.h -- SHA-1 (FIPS 180-4 §6.1), only for the opening handshake.
 *
 * RFC 6455 §4.2.2 computes Sec-WebSocket-Accept as base64(SHA-1(key + GUID)).
 * SHA-1 is broken for collision resistance, which does not matter here: the
 * handshake only proves the server understood the WebSocket request.
 * Streaming interface; allocates nothing.
 */
#ifndef WS_SHA1_H
#define WS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define WS_SHA1_DIGEST_LEN 20
#define WS_SHA1_BLOCK_LEN  64

typedef struct ws_sha1_ctx {
    uint32_t h[5];                    /* chaining state H0..H4 */
    uint64_t total;                   /* message length so far, in bytes */
    uint8_t block[WS_SHA1_BLOCK_LEN]; /* partial block */
    size_t used;                      /* bytes in block[] */
} ws_sha1_ctx;

void ws_sha1_init(ws_sha1_ctx *ctx);
/* Hash len bytes of data (which may be NULL when len is 0). */
void ws_sha1_update(ws_sha1_ctx *ctx, const void *data, size_t len);
/* Pad, write the 20-byte digest to out, and leave ctx unusable until init. */
void ws_sha1_final(ws_sha1_ctx *ctx, uint8_t out[WS_SHA1_DIGEST_LEN]);
/* One-shot convenience. */
void ws_sha1(const void *data, size_t len, uint8_t out[WS_SHA1_DIGEST_LEN]);

#endif /* WS_SHA1_H */

/*
 * base64.h -- RFC 4648 §4 base64 (standard alphabet, '=' padding).
 *
 * Used twice in the handshake (RFC 6455 §4.2.1, §4.2.2): to check that
 * Sec-WebSocket-Key decodes to exactly 16 bytes, and to encode the 20-byte
 * SHA-1 digest as the 28-character Sec-WebSocket-Accept. Allocates nothing.
 */
#ifndef WS_BASE64_H
#define WS_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (without a terminating NUL). */
#define WS_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Upper bound of bytes produced by decoding n characters. */
#define WS_BASE64_DECODED_MAX(n) (((n) / 4) * 3)

/* Encode len bytes of in into out, which must hold
 * WS_BASE64_ENCODED_LEN(len) + 1 bytes; out is NUL-terminated.
 * Returns the number of characters written, not counting the NUL.
 * in may be NULL when len is 0. */
size_t ws_base64_encode(const uint8_t *in, size_t len, char *out);

/* Decode len characters of in (not NUL-terminated) into out, which holds
 * cap bytes. Strict RFC 4648 §3.3/§3.5: the length must be a multiple of 4,
 * only alphabet characters, padding only at the end, and the unused bits
 * before padding must be zero (canonical encoding). No whitespace.
 * Returns the number of bytes decoded, or -1 if the input is not canonical
 * base64 or does not fit in cap bytes. The size is checked first, so when
 * the output does not fit nothing is written; on other errors out may hold
 * a partial result. in and out may be NULL when len is 0. */
long ws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif /* WS_BASE64_H */

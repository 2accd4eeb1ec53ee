/*
 * wsb_base64.h -- base64 encoding (RFC 4648 §4) for wsbench.
 *
 * wsbench only ever encodes: the 16-byte Sec-WebSocket-Key and the 20-byte
 * SHA-1 digest it compares with the server's Sec-WebSocket-Accept.
 */
#ifndef WSB_BASE64_H
#define WSB_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters wsb_base64_encode() writes for len input bytes, without the NUL. */
#define WSB_BASE64_LEN(len) (4 * (((len) + 2) / 3))

/* Encode in[0..len) with the standard alphabet and '=' padding into out,
 * which must hold WSB_BASE64_LEN(len) + 1 bytes; out is NUL-terminated.
 * Returns the number of characters written, not counting the NUL. */
size_t wsb_base64_encode(const uint8_t *in, size_t len, char *out);

#endif

/*
 * wsb_sha1.h -- SHA-1 (FIPS 180-4 §6.1) for wsbench's handshake check.
 *
 * wsbench computes the Sec-WebSocket-Accept value it expects from the
 * server (RFC 6455 §4.1, §4.2.2) with this, independently of the server's
 * own sha1 module, so that a bug shared by both cannot hide itself.
 * SHA-1 is used here as the RFC uses it: a fixed transform, not security.
 */
#ifndef WSB_SHA1_H
#define WSB_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define WSB_SHA1_DIGEST_LEN 20

/* Running hash state. Fill with wsb_sha1_init(); owned by the caller. */
struct wsb_sha1 {
    uint32_t h[5];     /* H0..H4 of FIPS 180-4 §6.1.2 */
    uint64_t total;    /* bytes hashed so far (message length l / 8) */
    uint8_t block[64]; /* the partial 512-bit block not yet hashed */
    size_t used;       /* bytes of block[] in use, 0..63 */
};

void wsb_sha1_init(struct wsb_sha1 *s);
/* Hash len bytes at data (data may be NULL when len is 0). */
void wsb_sha1_update(struct wsb_sha1 *s, const void *data, size_t len);
/* Pad, finish and write the 20-byte digest to out; s must be re-initialised
 * before it is used again. */
void wsb_sha1_final(struct wsb_sha1 *s, uint8_t out[WSB_SHA1_DIGEST_LEN]);
/* One-shot helper: out = SHA-1(data[0..len)). */
void wsb_sha1(const void *data, size_t len, uint8_t out[WSB_SHA1_DIGEST_LEN]);

#endif

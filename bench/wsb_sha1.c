/*
 * wsb_sha1.c -- SHA-1 as FIPS 180-4 defines it.
 *
 * Reference card (FIPS 180-4):
 *   §5.1.1  padding: append 0x80, zeros to 56 mod 64, then the message
 *           length in bits as a 64-bit big-endian integer.
 *   §6.1.2  for each 512-bit block: W[0..15] = the block as big-endian
 *           words, W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]);
 *           80 rounds over a..e with
 *             t  0..19  f = Ch(b,c,d)     = (b & c) ^ (~b & d)  K = 5a827999
 *             t 20..39  f = Parity(b,c,d) = b ^ c ^ d           K = 6ed9eba1
 *             t 40..59  f = Maj(b,c,d)                          K = 8f1bbcdc
 *             t 60..79  f = Parity(b,c,d)                       K = ca62c1d6
 *           T = ROTL5(a) + f + e + K + W[t]; e=d; d=c; c=ROTL30(b); b=a; a=T
 *   §5.3.1  H0..H4 = 67452301 efcdab89 98badcfe 10325476 c3d2e1f0
 *
 * Speed does not matter here (one hash per connection), so the code
 * follows the standard's notation rather than unrolling rounds.
 */
#include "wsb_sha1.h"

#include <string.h>

static uint32_t rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

/* Hash one 64-byte block into s->h (FIPS 180-4 §6.1.2 steps 1-4). */
static void sha1_block(struct wsb_sha1 *s, const uint8_t *p) {
    uint32_t w[80];
    uint32_t a, b, c, d, e;

    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

    a = s->h[0];
    b = s->h[1];
    c = s->h[2];
    d = s->h[3];
    e = s->h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;

        if (t < 20) {
            f = (b & c) ^ (~b & d);
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) ^ (b & d) ^ (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rotl(b, 30);
        b = a;
        a = tmp;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}

void wsb_sha1_init(struct wsb_sha1 *s) {
    s->h[0] = 0x67452301u;
    s->h[1] = 0xefcdab89u;
    s->h[2] = 0x98badcfeu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xc3d2e1f0u;
    s->total = 0;
    s->used = 0;
}

void wsb_sha1_update(struct wsb_sha1 *s, const void *data, size_t len) {
    const uint8_t *p = data;

    s->total += len;
    while (len > 0) {
        size_t take = 64 - s->used;

        if (take > len) take = len;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used == 64) {
            sha1_block(s, s->block);
            s->used = 0;
        }
    }
}

void wsb_sha1_final(struct wsb_sha1 *s, uint8_t out[WSB_SHA1_DIGEST_LEN]) {
    uint64_t bits = s->total * 8;
    uint8_t pad[72] = { 0x80 };
    /* FIPS 180-4 §5.1.1: pad so that 8 bytes of length end the block. */
    size_t padlen = (s->used < 56) ? 56 - s->used : 120 - s->used;
    uint8_t lenbe[8];

    for (int i = 0; i < 8; i++) lenbe[i] = (uint8_t)(bits >> (56 - 8 * i));
    wsb_sha1_update(s, pad, padlen);
    wsb_sha1_update(s, lenbe, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void wsb_sha1(const void *data, size_t len, uint8_t out[WSB_SHA1_DIGEST_LEN]) {
    struct wsb_sha1 s;

    wsb_sha1_init(&s);
    wsb_sha1_update(&s, data, len);
    wsb_sha1_final(&s, out);
}

/*
 * sha1.c -- SHA-1 (FIPS 180-4 §6.1), streaming, for the opening handshake.
 *
 * RFC 6455 §4.2.2 asks for SHA-1 of (Sec-WebSocket-Key + GUID) exactly once
 * per connection, so this file is written to be read, not to be fast: one
 * round function per FIPS 180-4 §4.1.1 case, the message schedule kept as a
 * 16-word ring instead of the full 80 words, no unrolling.
 *
 * Reference card (FIPS 180-4):
 *
 *   §5.1.1 Padding. Append the bit 1 (the byte 0x80), then zero bytes until
 *   the length is 56 mod 64, then the message length in *bits* as a 64-bit
 *   big-endian integer. The padded message is a whole number of 512-bit
 *   (64-byte) blocks M(1) .. M(N).
 *
 *   §5.3.1 Initial hash value:
 *     H0 = 67452301  H1 = efcdab89  H2 = 98badcfe  H3 = 10325476  H4 = c3d2e1f0
 *
 *   §6.1.2 For each block M(i), with words read big-endian:
 *     1. Message schedule:
 *          W[t] = M(i)[t]                                          0 <= t <= 15
 *          W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16])      16 <= t <= 79
 *     2. a, b, c, d, e = H0 .. H4
 *     3. for t = 0 .. 79:
 *          T = ROTL5(a) + f_t(b, c, d) + e + K_t + W[t]
 *          e = d;  d = c;  c = ROTL30(b);  b = a;  a = T
 *     4. H0 += a; H1 += b; H2 += c; H3 += d; H4 += e        (all mod 2^32)
 *
 *   §4.1.1 Round functions and §4.2.1 constants:
 *      t        f_t(x, y, z)                          K_t
 *      0..19    Ch(x,y,z)     = (x & y) ^ (~x & z)    5a827999
 *     20..39    Parity(x,y,z) = x ^ y ^ z             6ed9eba1
 *     40..59    Maj(x,y,z)    = (x&y) ^ (x&z) ^ (y&z) 8f1bbcdc
 *     60..79    Parity(x,y,z) = x ^ y ^ z             ca62c1d6
 *
 *   The digest is H0 || H1 || H2 || H3 || H4, each word big-endian.
 *
 * Since W[t] only ever looks 16 words back, W is kept as a ring of 16 words
 * indexed t & 15: slot t & 15 holds W[t-16] until it is overwritten with W[t].
 */
#include "sha1.h"

#include <assert.h>
#include <string.h>

static uint32_t rotl(uint32_t x, unsigned n) {
    /* n is always 1, 5 or 30 here, so the shift by 32 - n is defined. */
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* FIPS 180-4 §6.1.2: fold one 64-byte block into the chaining state h. */
static void compress(uint32_t h[5], const uint8_t block[WS_SHA1_BLOCK_LEN]) {
    uint32_t w[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (unsigned t = 0; t < 16; t++) w[t] = load_be32(block + 4 * t);

    for (unsigned t = 0; t < 80; t++) {
        uint32_t f, k;

        if (t >= 16) {
            /* W[t-3], W[t-8], W[t-14], W[t-16] live in slots t+13, t+8,
             * t+2 and t (mod 16); the result replaces W[t-16]. */
            w[t & 15] = rotl(w[(t + 13) & 15] ^ w[(t + 8) & 15] ^ w[(t + 2) & 15] ^ w[t & 15], 1);
        }

        if (t < 20) {
            f = (b & c) ^ (~b & d); /* Ch */
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d; /* Parity */
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) ^ (b & d) ^ (c & d); /* Maj */
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d; /* Parity */
            k = 0xca62c1d6u;
        }

        uint32_t temp = rotl(a, 5) + f + e + k + w[t & 15];
        e = d;
        d = c;
        c = rotl(b, 30);
        b = a;
        a = temp;
    }

    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void ws_sha1_init(ws_sha1_ctx *ctx) {
    /* FIPS 180-4 §5.3.1. */
    ctx->h[0] = 0x67452301u;
    ctx->h[1] = 0xefcdab89u;
    ctx->h[2] = 0x98badcfeu;
    ctx->h[3] = 0x10325476u;
    ctx->h[4] = 0xc3d2e1f0u;
    ctx->total = 0;
    ctx->used = 0;
}

/* Any split of the message over update calls gives the same digest: bytes
 * first top up a partial block in ctx->block; whole blocks that are still
 * in the caller's buffer are compressed from there without a copy; the
 * tail waits in ctx->block for the next call. */
void ws_sha1_update(ws_sha1_ctx *ctx, const void *data, size_t len) {
    const uint8_t *p = data;

    assert(ctx->used < WS_SHA1_BLOCK_LEN);
    if (len == 0) return; /* data may be NULL; do not do arithmetic on it */

    ctx->total += len;

    if (ctx->used > 0) {
        size_t take = WS_SHA1_BLOCK_LEN - ctx->used;
        if (take > len) take = len;
        memcpy(ctx->block + ctx->used, p, take);
        ctx->used += take;
        p += take;
        len -= take;
        if (ctx->used < WS_SHA1_BLOCK_LEN) return;
        compress(ctx->h, ctx->block);
        ctx->used = 0;
    }

    while (len >= WS_SHA1_BLOCK_LEN) {
        compress(ctx->h, p);
        p += WS_SHA1_BLOCK_LEN;
        len -= WS_SHA1_BLOCK_LEN;
    }

    if (len > 0) {
        memcpy(ctx->block, p, len);
        ctx->used = len;
    }
}

void ws_sha1_final(ws_sha1_ctx *ctx, uint8_t out[WS_SHA1_DIGEST_LEN]) {
    /* FIPS 180-4 §5.1.1: the length field counts bits, modulo 2^64. */
    uint64_t bits = ctx->total * 8;

    assert(ctx->used < WS_SHA1_BLOCK_LEN);

    ctx->block[ctx->used++] = 0x80;
    if (ctx->used > WS_SHA1_BLOCK_LEN - 8) {
        /* No room for the 8-byte length in this block: pad it out with
         * zeros and put the length in a block of its own. */
        memset(ctx->block + ctx->used, 0, WS_SHA1_BLOCK_LEN - ctx->used);
        compress(ctx->h, ctx->block);
        ctx->used = 0;
    }
    memset(ctx->block + ctx->used, 0, WS_SHA1_BLOCK_LEN - 8 - ctx->used);
    store_be32(ctx->block + 56, (uint32_t)(bits >> 32));
    store_be32(ctx->block + 60, (uint32_t)bits);
    compress(ctx->h, ctx->block);

    for (unsigned i = 0; i < 5; i++) store_be32(out + 4 * i, ctx->h[i]);

    /* The contract makes ctx unusable until ws_sha1_init(); zero it so no
     * copy of the message's last block outlives the call. */
    memset(ctx, 0, sizeof(*ctx));
}

void ws_sha1(const void *data, size_t len, uint8_t out[WS_SHA1_DIGEST_LEN]) {
    ws_sha1_ctx ctx;
    ws_sha1_init(&ctx);
    ws_sha1_update(&ctx, data, len);
    ws_sha1_final(&ctx, out);
}

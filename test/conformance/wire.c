/*
 * wire.c -- the driver's own byte-level tools: buffers, SHA-1, base64,
 * UTF-8, client frame encoding, payload patterns and hex evidence.
 *
 * Written independently of the server's modules on purpose: if both sides
 * shared one SHA-1 or one UTF-8 table, a bug in it would pass every test.
 *
 * Client frame (RFC 6455 §5.2), as cf_put_frame() writes it:
 *
 *   byte 0   FIN(1) RSV1 RSV2 RSV3 opcode(4)
 *   byte 1   MASK(1)=1  len7
 *            len7 <= 125: the length; 126: 16-bit length follows;
 *            127: 64-bit length follows (top bit 0)
 *   [2 or 8 bytes of extended length, network order]
 *   4 bytes masking key (§5.3: "MUST mask all frames that it sends")
 *   payload, each byte XOR key[i % 4]
 *
 * UTF-8 well-formed sequences (RFC 3629 §4, Unicode Table 3-7), which the
 * checker walks byte by byte so that it can name the first bad byte:
 *
 *   U+0000..U+007F      00..7F
 *   U+0080..U+07FF      C2..DF 80..BF
 *   U+0800..U+0FFF      E0     A0..BF 80..BF
 *   U+1000..U+CFFF      E1..EC 80..BF 80..BF
 *   U+D000..U+D7FF      ED     80..9F 80..BF      (no surrogates)
 *   U+E000..U+FFFF      EE..EF 80..BF 80..BF
 *   U+10000..U+3FFFF    F0     90..BF 80..BF 80..BF
 *   U+40000..U+FFFFF    F1..F3 80..BF 80..BF 80..BF
 *   U+100000..U+10FFFF  F4     80..8F 80..BF 80..BF
 */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers ------------------------------------------------------------ */

void cf_buf_reserve(struct cf_buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "conformance: out of memory (%zu bytes)\n", cap);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void cf_buf_put(struct cf_buf *b, const void *data, size_t n) {
    if (n == 0) return;
    cf_buf_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void cf_buf_free(struct cf_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- SHA-1 (FIPS 180-4 §6.1) --------------------------------------------- */

static uint32_t rol(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t blk[64]) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t tmp = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void cf_sha1(const void *data, size_t n, uint8_t out[20]) {
    uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    const uint8_t *p = data;
    size_t left = n;
    while (left >= 64) {
        sha1_block(h, p);
        p += 64;
        left -= 64;
    }
    /* Padding: 0x80, zeros, then the bit length in the last 8 bytes. */
    uint8_t tail[128] = { 0 };
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tail_len = left + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tail_len == 128) sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* ---- base64 (RFC 4648 §4) ----------------------------------------------- */

void cf_base64(const uint8_t *in, size_t n, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

int cf_selftest(void) {
    /* FIPS 180 example "abc". */
    static const uint8_t abc_sha1[20] = { 0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81,
                                          0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                                          0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d };
    uint8_t d[20];
    cf_sha1("abc", 3, d);
    if (memcmp(d, abc_sha1, 20) != 0) return -1;
    /* RFC 6455 §1.3: the sample key and its accept value. */
    const char *in = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char b64[29];
    cf_sha1(in, strlen(in), d);
    cf_base64(d, 20, b64);
    if (strcmp(b64, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) return -1;
    /* RFC 4648 §10. */
    cf_base64((const uint8_t *)"foob", 4, b64);
    if (strcmp(b64, "Zm9vYg==") != 0) return -1;
    size_t at;
    if (cf_utf8_check((const uint8_t *)"\xed\xa0\x80", 3, &at) != CF_UTF8_BAD || at != 1) return -1;
    return 0;
}

/* ---- UTF-8 -------------------------------------------------------------- */

int cf_utf8_check(const uint8_t *p, size_t n, size_t *at) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        unsigned need;                /* continuation bytes after the lead */
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0; /* no overlong 3-byte forms */
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F; /* no surrogates U+D800..U+DFFF */
        } else if (c >= 0xE1 && c <= 0xEF) {
            need = 2;
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90; /* no overlong 4-byte forms */
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            *at = i; /* 80..C1, F5..FF never start a character */
            return CF_UTF8_BAD;
        }
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n) {
                *at = n;
                return CF_UTF8_TRUNCATED;
            }
            uint8_t b = p[i + k];
            uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (b < l || b > h) {
                *at = i + k;
                return CF_UTF8_BAD;
            }
        }
        i += need + 1;
    }
    *at = n;
    return CF_UTF8_OK;
}

size_t cf_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- patterns ------------------------------------------------------------ */

/* splitmix64's finalizer: a well-spread hash of a 64-bit index. */
static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static const char *const vocab[32] = {
    "the",   "server", "message", "frame",      "window", "deflate",   "client",    "echo",
    "and",   "of",     "a",       "compressed", "bytes",  "context",   "takeover",  "block",
    "is",    "to",     "with",    "stream",     "in",     "sliding",   "no",        "text",
    "hello", "world",  "ping",    "pong",       "close",  "handshake", "extension", "offer",
};

/* Append words chosen by seed h to line[*o..end) while they fit. */
static void put_words(char *line, size_t *o, size_t end, uint64_t h) {
    for (unsigned w = 0;; w++) {
        const char *word = vocab[mix64(h + w) % 32];
        size_t wl = strlen(word);
        if (*o + wl + 1 > end) break;
        if (w) line[(*o)++] = ' ';
        memcpy(line + *o, word, wl);
        *o += wl;
    }
}

/* CF_PAT_WORDS: 64-byte lines of words, space-padded, ending in '\n'. */
#define WORDS_LINE 64
static void words_line(uint64_t n, char line[WORDS_LINE]) {
    size_t o = 0;
    put_words(line, &o, WORDS_LINE - 1, n * 7919);
    memset(line + o, ' ', WORDS_LINE - 1 - o);
    line[WORDS_LINE - 1] = '\n';
}

/* CF_PAT_JSON: 128-byte chat records, the way a chat server's messages
 * repeat their field names, users and rooms from one message to the next. */
#define JSON_LINE 128
static void json_line(uint64_t n, char line[JSON_LINE]) {
    static const char *const users[] = { "alice", "bob", "carol", "dave", "erin", "frank" };
    static const char *const rooms[] = { "general", "random", "dev", "ops" };
    uint64_t h = mix64(n);
    char head[96];
    int hl =
        snprintf(head, sizeof head, "{\"seq\":%llu,\"from\":\"%s\",\"room\":\"#%s\",\"text\":\"",
                 (unsigned long long)(n % 10000000), users[h % 6], rooms[(h >> 8) % 4]);
    size_t o = (size_t)hl;
    memcpy(line, head, o);
    put_words(line, &o, JSON_LINE - 4, h >> 16);
    memcpy(line + o, "\"}", 2);
    o += 2;
    memset(line + o, ' ', JSON_LINE - 1 - o);
    line[JSON_LINE - 1] = '\n';
}

/* CF_PAT_UTF8: 4-byte units, each whole characters: 4 ASCII letters, two
 * 2-byte characters, a 3-byte one and a letter, or one 4-byte one. */
/* Append code point cp's encoding at u + *o; its length must be `want`. */
static void put_cp(uint8_t *u, size_t *o, uint32_t cp, size_t want) {
    uint8_t e[4];
    if (cf_utf8_encode(cp, e) != want) abort();
    memcpy(u + *o, e, want);
    *o += want;
}

static void utf8_unit(uint64_t n, uint8_t u[4]) {
    static const uint32_t two[] = { 0x3BA, 0x3CC, 0x3C3, 0x3BC, 0x3B5, 0x436, 0x44F, 0xE9 };
    static const uint32_t three[] = { 0x20AC, 0x4E2D, 0x6587, 0x3042, 0xFFFD, 0x2603 };
    static const uint32_t four[] = { 0x1F600, 0x1F680, 0x10348, 0x1D11E };
    uint64_t h = mix64(n);
    size_t o = 0;
    switch (h % 4) {
    case 0:
        for (int i = 0; i < 4; i++) u[i] = (uint8_t)('a' + (h >> (8 + 4 * i)) % 8);
        break;
    case 1:
        put_cp(u, &o, two[(h >> 8) % 8], 2);
        put_cp(u, &o, two[(h >> 12) % 8], 2);
        break;
    case 2:
        put_cp(u, &o, three[(h >> 8) % 6], 3);
        u[3] = ' ';
        break;
    default: put_cp(u, &o, four[(h >> 8) % 4], 4); break;
    }
}

/* Patterns made of whole lines (or units): copy a line at a time. */
static void pattern_lines(int pat, uint64_t offset, uint8_t *dst, size_t n) {
    char line[JSON_LINE];
    size_t len = pat == CF_PAT_WORDS ? WORDS_LINE : pat == CF_PAT_JSON ? JSON_LINE : 4;
    for (size_t i = 0; i < n;) {
        uint64_t k = offset + i, at = k / len;
        size_t from = (size_t)(k % len), take = len - from;
        if (take > n - i) take = n - i;
        if (pat == CF_PAT_WORDS)
            words_line(at, line);
        else if (pat == CF_PAT_JSON)
            json_line(at, line);
        else
            utf8_unit(at, (uint8_t *)line);
        memcpy(dst + i, line + from, take);
        i += take;
    }
}

void cf_pattern(int pat, uint64_t offset, uint8_t *dst, size_t n) {
    static const char text[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 *";
    switch (pat) {
    case CF_PAT_WORDS:
    case CF_PAT_JSON:
    case CF_PAT_UTF8: pattern_lines(pat, offset, dst, n); return;
    case CF_PAT_ZERO: memset(dst, 0, n); return;
    case CF_PAT_RANDOM:
        for (size_t i = 0; i < n;) {
            uint64_t k = offset + i, r = mix64(k / 8) >> (8 * (k % 8));
            for (uint64_t j = k % 8; j < 8 && i < n; j++, i++, r >>= 8) dst[i] = (uint8_t)r;
        }
        return;
    default: break;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k = offset + i;
        /* Mixing in higher bits of the offset makes a fragment that was
         * echoed out of order (or twice) visible, not just shifted. */
        uint64_t v = k ^ (k >> 6) * 7 ^ (k >> 12) * 13 ^ (k >> 18) * 29;
        if (pat == CF_PAT_TEXT)
            dst[i] = (uint8_t)text[v % 64];
        else
            dst[i] = (uint8_t)((v * 167 + (k >> 8)) & 0xFF);
    }
}

/* ---- frames --------------------------------------------------------------- */

void cf_put_frame(struct cf_ctx *t, struct cf_buf *out, uint8_t b0, uint64_t declared,
                  const uint8_t *data, int pat, uint64_t pat_off, size_t n, bool masked) {
    uint8_t h[14];
    size_t hl = 0;
    uint8_t mbit = masked ? 0x80 : 0;
    h[hl++] = b0;
    /* RFC 6455 §5.2: "the minimal number of bytes MUST be used". */
    if (declared <= 125) {
        h[hl++] = (uint8_t)(mbit | declared);
    } else if (declared <= 0xFFFF) {
        h[hl++] = mbit | 126;
        h[hl++] = (uint8_t)(declared >> 8);
        h[hl++] = (uint8_t)declared;
    } else {
        h[hl++] = mbit | 127;
        for (int i = 7; i >= 0; i--) h[hl++] = (uint8_t)(declared >> (8 * i));
    }
    uint8_t key[4] = { 0, 0, 0, 0 };
    if (masked) {
        /* A key with no zero byte: a server that forgets to unmask then
         * garbles every byte and cannot pass by luck. */
        uint32_t r = cf_rand32(t) | 0x01010101u;
        key[0] = (uint8_t)(r >> 24);
        key[1] = (uint8_t)(r >> 16);
        key[2] = (uint8_t)(r >> 8);
        key[3] = (uint8_t)r;
        memcpy(h + hl, key, 4);
        hl += 4;
    }
    cf_buf_put(out, h, hl);
    cf_buf_reserve(out, n);
    uint8_t *dst = out->p + out->len;
    if (data)
        memcpy(dst, data, n);
    else
        cf_pattern(pat, pat_off, dst, n);
    if (masked)
        for (size_t i = 0; i < n; i++) dst[i] ^= key[i & 3];
    out->len += n;
}

/* ---- evidence -------------------------------------------------------------- */

void cf_hex(const uint8_t *p, size_t n, size_t max, char *out, size_t outsz) {
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && i < max && o + 4 < outsz; i++)
        o += (size_t)snprintf(out + o, outsz - o, i ? " %02x" : "%02x", p[i]);
    if (n > max && o + 5 < outsz) snprintf(out + o, outsz - o, " ...");
}

const char *cf_opname(unsigned op) {
    switch (op) {
    case CF_OP_CONT: return "continuation";
    case CF_OP_TEXT: return "text";
    case CF_OP_BINARY: return "binary";
    case CF_OP_CLOSE: return "close";
    case CF_OP_PING: return "ping";
    case CF_OP_PONG: return "pong";
    default: return "reserved-opcode";
    }
}

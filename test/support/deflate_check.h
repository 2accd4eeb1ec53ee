/*
 * deflate_check.h -- a small RFC 1951 decoder for checking an encoder:
 * besides the bytes, it reports the type of every block and the longest
 * distance used, and can refuse distances that reach into an earlier
 * message. test_deflate.c and the fuzz target fuzz_deflate.c both use it;
 * it is a header of static functions because the fuzz targets are built
 * from one source file each (mk/fuzz.mk), without the test support objects.
 *
 * It decodes one bit at a time with canonical codes (RFC 1951 §3.2.2): slow
 * and simple, which is what an oracle should be. It insists on what our
 * encoder promises beyond RFC 1951: no BFINAL, complete Huffman codes, and
 * each message ending exactly with the empty stored block whose 00 00 ff ff
 * RFC 7692 §7.2.1 removes (dc_message() puts it back).
 *
 * Test code: it allocates freely and aborts if that fails.
 */
#ifndef WS_DEFLATE_CHECK_H
#define WS_DEFLATE_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfc1951_tables.h"

struct dc_check {
    int err; /* nonzero: the stream is malformed (see why) */
    const char *why;
    size_t stored, fixed, dynamic; /* blocks of each type */
    size_t max_dist;               /* the longest distance used */
    uint8_t *out;                  /* everything decoded so far (the history) */
    size_t out_len, out_cap;
    size_t msg_start; /* where the current message began in out */
    int no_takeover;  /* distances may not reach before msg_start */
};

static const uint8_t dc_tail[4] = { 0x00, 0x00, 0xff, 0xff };

static void dc_append(struct dc_check *ck, const uint8_t *p, size_t n) {
    if (ck->out_len + n > ck->out_cap) {
        size_t cap = ck->out_cap ? ck->out_cap : 4096;
        while (cap < ck->out_len + n) cap *= 2;
        ck->out = realloc(ck->out, cap);
        if (ck->out == NULL) abort();
        ck->out_cap = cap;
    }
    if (n > 0) memcpy(ck->out + ck->out_len, p, n);
    ck->out_len += n;
}

struct dc_bits {
    const uint8_t *p;
    size_t len, pos;
    uint32_t bb, bc;
};

static int dc_need(struct dc_bits *b, unsigned n) {
    while (b->bc < n) {
        if (b->pos >= b->len) return 0;
        b->bb |= (uint32_t)b->p[b->pos++] << b->bc;
        b->bc += 8;
    }
    return 1;
}

static unsigned dc_take(struct dc_bits *b, unsigned n) {
    unsigned v = b->bb & ((1u << n) - 1);
    b->bb >>= n;
    b->bc -= n;
    return v;
}

/* A canonical code (RFC 1951 §3.2.2) for decoding one bit at a time:
 * count[l] codes of length l; sym[] the symbols ordered by (length,
 * value). */
struct dc_code {
    uint16_t count[16];
    uint16_t sym[288];
};

static int dc_build(struct dc_code *h, const uint8_t *len, unsigned n) {
    uint16_t offs[16];
    memset(h->count, 0, sizeof(h->count));
    for (unsigned s = 0; s < n; s++) h->count[len[s]]++;
    h->count[0] = 0;
    int left = 1;
    for (unsigned l = 1; l < 16; l++) {
        left = left * 2 - h->count[l];
        if (left < 0) return -1; /* over-subscribed */
    }
    offs[1] = 0;
    for (unsigned l = 1; l < 15; l++) offs[l + 1] = (uint16_t)(offs[l] + h->count[l]);
    for (unsigned s = 0; s < n; s++)
        if (len[s]) h->sym[offs[len[s]]++] = (uint16_t)s;
    return left; /* 0: complete */
}

/* Codes of length l are consecutive integers, the first of them being
 * (first code of length l - 1 + count[l - 1]) * 2: read one bit more until
 * the value falls inside the codes of the current length. */
static int dc_decode(struct dc_bits *b, const struct dc_code *h) {
    int code = 0, first = 0, index = 0;
    for (unsigned l = 1; l < 16; l++) {
        if (!dc_need(b, 1)) return -1;
        code |= (int)dc_take(b, 1);
        int count = h->count[l];
        if (code - first < count) return h->sym[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -2;
}

#define DC_FAIL(ck, msg)                                                                           \
    do {                                                                                           \
        (ck)->err = 1;                                                                             \
        (ck)->why = (msg);                                                                         \
        return;                                                                                    \
    } while (0)

static void dc_codes(struct dc_check *ck, struct dc_bits *b, const struct dc_code *lc,
                     const struct dc_code *dc) {
    for (;;) {
        int s = dc_decode(b, lc);
        if (s < 0) DC_FAIL(ck, "bad literal/length code");
        if (s < 256) {
            uint8_t c = (uint8_t)s;
            dc_append(ck, &c, 1);
            continue;
        }
        if (s == 256) return;
        s -= 257;
        if (s >= 29) DC_FAIL(ck, "reserved length symbol");
        if (!dc_need(b, tv_len_extra[s])) DC_FAIL(ck, "truncated");
        size_t len = tv_len_base[s] + dc_take(b, tv_len_extra[s]);
        int ds = dc_decode(b, dc);
        if (ds < 0 || ds >= 30) DC_FAIL(ck, "bad distance code");
        if (!dc_need(b, tv_dist_extra[ds])) DC_FAIL(ck, "truncated");
        size_t dist = tv_dist_base[ds] + dc_take(b, tv_dist_extra[ds]);
        size_t floor_pos = ck->no_takeover ? ck->msg_start : 0;
        if (dist > ck->out_len - floor_pos) DC_FAIL(ck, "distance before the history");
        if (dist > ck->max_dist) ck->max_dist = dist;
        for (size_t k = 0; k < len; k++) {
            uint8_t c = ck->out[ck->out_len - dist];
            dc_append(ck, &c, 1);
        }
    }
}

/* Decode one message: c[0..clen) followed by 00 00 ff ff (RFC 7692), or
 * the part of one up to a sync flush (c without its own 00 00 ff ff). With
 * no_takeover, no distance may reach before msg_start, which the caller
 * sets where the message begins. */
static void dc_message(struct dc_check *ck, const uint8_t *c, size_t clen) {
    uint8_t *in = malloc(clen + 4);
    if (in == NULL) abort();
    if (clen > 0) memcpy(in, c, clen);
    memcpy(in + clen, dc_tail, 4);
    struct dc_bits b = { in, clen + 4, 0, 0, 0 };
    while (!ck->err) {
        if (b.pos == b.len && b.bc < 8) break; /* all read, up to padding */
        if (!dc_need(&b, 3)) {
            ck->err = 1;
            ck->why = "truncated block header";
            break;
        }
        unsigned hdr = dc_take(&b, 3);
        if (hdr & 1) {
            ck->err = 1;
            ck->why = "BFINAL set";
            break;
        }
        unsigned type = hdr >> 1;
        if (type == 0) {
            ck->stored++;
            dc_take(&b, b.bc & 7);
            if (!dc_need(&b, 32)) {
                ck->err = 1;
                ck->why = "truncated stored header";
                break;
            }
            unsigned len = dc_take(&b, 16), nlen = dc_take(&b, 16);
            if ((len ^ 0xffff) != nlen || b.bc != 0 || b.pos + len > b.len) {
                ck->err = 1;
                ck->why = "bad stored block";
                break;
            }
            dc_append(ck, b.p + b.pos, len);
            b.pos += len;
        } else if (type == 1) {
            uint8_t l[288 + 30];
            struct dc_code lc, dc;
            ck->fixed++;
            for (unsigned s = 0; s < 288; s++) l[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
            for (unsigned s = 0; s < 30; s++) l[288 + s] = 5;
            dc_build(&lc, l, 288);
            dc_build(&dc, l + 288, 30);
            dc_codes(ck, &b, &lc, &dc);
        } else if (type == 2) {
            uint8_t cl[19] = { 0 }, l[320];
            struct dc_code clc, lc, dc;
            ck->dynamic++;
            if (!dc_need(&b, 14)) DC_FAIL(ck, "truncated dynamic header");
            unsigned hlit = dc_take(&b, 5) + 257, hdist = dc_take(&b, 5) + 1;
            unsigned hclen = dc_take(&b, 4) + 4;
            if (hlit > 286 || hdist > 30) DC_FAIL(ck, "HLIT or HDIST too large");
            for (unsigned i = 0; i < hclen; i++) {
                if (!dc_need(&b, 3)) DC_FAIL(ck, "truncated");
                cl[tv_cl_order[i]] = (uint8_t)dc_take(&b, 3);
            }
            if (dc_build(&clc, cl, 19) != 0) DC_FAIL(ck, "code-length code not complete");
            for (unsigned i = 0; i < hlit + hdist;) {
                int s = dc_decode(&b, &clc);
                if (s < 0) DC_FAIL(ck, "bad code-length code");
                if (s < 16) {
                    l[i++] = (uint8_t)s;
                    continue;
                }
                unsigned rep, v = 0;
                if (s == 16) {
                    if (i == 0) DC_FAIL(ck, "repeat with nothing before");
                    if (!dc_need(&b, 2)) DC_FAIL(ck, "truncated");
                    v = l[i - 1];
                    rep = 3 + dc_take(&b, 2);
                } else if (s == 17) {
                    if (!dc_need(&b, 3)) DC_FAIL(ck, "truncated");
                    rep = 3 + dc_take(&b, 3);
                } else {
                    if (!dc_need(&b, 7)) DC_FAIL(ck, "truncated");
                    rep = 11 + dc_take(&b, 7);
                }
                if (i + rep > hlit + hdist) DC_FAIL(ck, "repeat past the end");
                while (rep-- > 0) l[i++] = (uint8_t)v;
            }
            /* Our encoder promises complete codes (zlib's inflate demands
             * them; a lone distance code would be the one exception). */
            if (dc_build(&lc, l, hlit) != 0) DC_FAIL(ck, "literal/length code not complete");
            if (dc_build(&dc, l + hlit, hdist) != 0) DC_FAIL(ck, "distance code not complete");
            if (l[256] == 0) DC_FAIL(ck, "no end-of-block code");
            dc_codes(ck, &b, &lc, &dc);
        } else {
            DC_FAIL(ck, "reserved block type");
        }
    }
    /* RFC 7692: the message must end exactly with the empty stored block. */
    if (!ck->err && b.pos != b.len) {
        ck->err = 1;
        ck->why = "bytes after the end";
    }
    free(in);
}

static void dc_free(struct dc_check *ck) {
    free(ck->out);
    memset(ck, 0, sizeof(*ck));
}

#endif /* WS_DEFLATE_CHECK_H */

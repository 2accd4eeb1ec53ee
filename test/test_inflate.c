/*
 * test_inflate.c -- the DEFLATE decoder, fed in every way, against streams
 * built by hand and streams made by zlib.
 *
 * Three sources of truth:
 *  - the RFC 7692 §7.2.3 examples, bytes written down from the RFC (and
 *    checked against zlib here too);
 *  - streams built bit by bit in this file (struct sb) from RFC 1951
 *    alone: stored, fixed and dynamic blocks, every length symbol, every
 *    distance code, the farthest distance for each window size, and one
 *    stream for each way a stream can be invalid, with the index of the
 *    byte that first proves it so. The builder computes the output a
 *    decoder must give as it writes the stream;
 *  - zlib, compressing random and structured data with every window size,
 *    level and strategy, with flush points; and deciding, as an oracle,
 *    that every stream refused here is refused by zlib too.
 *
 * Every stream goes through feed_everywhere(): in one piece, at every
 * split point, byte by byte and in chunks, each piece flush against a
 * PROT_NONE page (testutil.h) so that reading past a piece crashes, and
 * for each of those with output buffers of 1, 2, 7 and 4096 bytes and of
 * exactly the output's size (flush against a guard page too, so writing
 * past the buffer crashes). Every run must give the same bytes, the same
 * result and, for an invalid stream, the error in the call that delivers
 * the proving byte, never earlier, never later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "error.h"
#include "inflate.h"
#include "rfc1951_tables.h"
#include "testutil.h"

/* ---------------------------------------------------------------------- */
/* Small tools                                                            */

static ws_inflate *new_inflate(unsigned wbits) {
    size_t size = ws_inflate_size(wbits);
    assert_true(size > 0);
    void *mem = malloc(size);
    assert_non_null(mem);
    ws_inflate *z = ws_inflate_init(mem, size, wbits);
    assert_ptr_equal(z, mem);
    return z;
}

static const char *rc_name(int rc) {
    switch (rc) {
    case WS_INFLATE_NEED_INPUT: return "NEED_INPUT";
    case WS_INFLATE_OUTPUT_FULL: return "OUTPUT_FULL";
    case WS_INFLATE_END: return "END";
    default: return ws_strerror(rc);
    }
}

/* ---------------------------------------------------------------------- */
/* Decoding a stream cut into pieces                                      */

/* What one run of the decoder did. */
struct outcome {
    int rc;          /* the last result: END, NEED_INPUT or an error */
    tu_bytes out;    /* every byte written */
    size_t consumed; /* input bytes taken */
    size_t err_lo;   /* an error came while feeding stream bytes */
    size_t err_hi;   /*   [err_lo, err_hi) */
    int boundary;    /* ws_inflate_at_block_boundary() at the end */
};

/* An output buffer of n bytes flush against a guard page. */
static uint8_t *guarded_out(size_t n) {
    uint8_t *zero = calloc(1, n ? n : 1);
    assert_non_null(zero);
    uint8_t *p = tu_guarded_copy(zero, n);
    free(zero);
    return p;
}

/* Output sizes per call: a fixed size, or (OUT_RANDOM) drawn per call. */
#define OUT_RANDOM 0

/* Feed the pieces in order into z, giving each call an output buffer of
 * ochunk bytes, until the stream ends, fails, or the pieces run out.
 * Checks the contract of every call on the way: nothing taken or written
 * beyond what was offered; NEED_INPUT only with all input taken;
 * OUTPUT_FULL only with the output buffer full. */
static void feed_into(ws_inflate *z, const uint8_t *const *pieces, const size_t *lens, size_t n,
                      size_t ochunk, tu_rng *r, struct outcome *oc) {
    static const size_t random_sizes[] = { 1, 2, 3, 7, 64, 300, 4096, 65536 };
    size_t obuf_size = ochunk == OUT_RANDOM ? 65536 : ochunk;
    uint8_t *obuf = guarded_out(obuf_size);
    size_t stream_off = 0;

    oc->rc = WS_INFLATE_NEED_INPUT;
    for (size_t i = 0; i < n; i++) {
        size_t off = 0;
        for (;;) {
            size_t cap = ochunk, used = (size_t)-1, got = (size_t)-1;
            if (ochunk == OUT_RANDOM) cap = random_sizes[tu_rng_below(r, 8)];
            uint8_t *o = obuf + obuf_size - cap; /* flush against the guard */
            int rc = ws_inflate_feed(z, pieces[i] + off, lens[i] - off, &used, o, cap, &got);
            if (rc < 0) {
                oc->rc = rc;
                oc->err_lo = stream_off;
                oc->err_hi = stream_off + lens[i];
                goto done;
            }
            assert_true(used <= lens[i] - off);
            assert_true(got <= cap);
            tu_bytes_put(&oc->out, o, got);
            off += used;
            oc->consumed += used;
            oc->rc = rc;
            if (rc == WS_INFLATE_END) goto done;
            if (rc == WS_INFLATE_NEED_INPUT) {
                assert_int_equal(off, lens[i]);
                break;
            }
            assert_int_equal(rc, WS_INFLATE_OUTPUT_FULL);
            assert_int_equal(got, cap);
        }
        stream_off += lens[i];
    }
done:
    oc->boundary = oc->rc >= 0 ? ws_inflate_at_block_boundary(z) : -1;
    tu_guarded_free(obuf, obuf_size);
}

/* What every run over a stream must give. */
struct expect {
    const uint8_t *plain; /* the output (for an error: what comes before it) */
    size_t plain_len;
    int rc;          /* END, NEED_INPUT, or an error */
    size_t consumed; /* for END: where the stream ends */
    size_t bad_at;   /* for an error: the index of the proving byte */
    int boundary;    /* for END and NEED_INPUT: at a block boundary? */
    unsigned wbits;
    int not_zlib; /* zlib's verdict differs on purpose (inflate.c) */
};

struct everywhere_ctx {
    const struct expect *want;
    size_t ochunk;
    unsigned runs;
};

static void check_outcome(const struct outcome *oc, const struct expect *want, size_t ochunk) {
    if (oc->rc != want->rc)
        fail_msg("output chunk %zu: got %s, want %s", ochunk, rc_name(oc->rc), rc_name(want->rc));
    if (want->rc < 0) {
        /* The error comes in the call that brings the proving byte, and
         * what came out before it is the output so far. */
        if (!(oc->err_lo <= want->bad_at && want->bad_at < oc->err_hi))
            fail_msg("output chunk %zu: error in bytes [%zu, %zu), want it at byte %zu", ochunk,
                     oc->err_lo, oc->err_hi, want->bad_at);
        assert_true(oc->out.len <= want->plain_len);
        if (oc->out.len > 0) assert_memory_equal(oc->out.p, want->plain, oc->out.len);
        return;
    }
    assert_int_equal(oc->out.len, want->plain_len);
    if (want->plain_len > 0) assert_memory_equal(oc->out.p, want->plain, want->plain_len);
    assert_int_equal(oc->consumed, want->consumed);
    assert_int_equal(oc->boundary, want->boundary);
}

static int zlib_inflate(const uint8_t *in, size_t n, tu_bytes *out, size_t *consumed);

/* zlib's verdict on the stream must be the same: the same bytes and end
 * for a valid stream, a refusal for an invalid one (zlib may need the
 * bytes after the proving one to see it, so invalid streams here carry
 * some padding after it). */
static void check_zlib_same(const uint8_t *data, size_t len, const struct expect *want) {
    tu_bytes out = { 0 };
    size_t consumed = 0;
    int zrc = zlib_inflate(data, len, &out, &consumed);
    if (want->rc < 0) {
        if (zrc != Z_DATA_ERROR) fail_msg("zlib accepts what we refuse (%s)", rc_name(want->rc));
    } else {
        assert_int_equal(zrc, want->rc == WS_INFLATE_END ? Z_STREAM_END : Z_BUF_ERROR);
        assert_int_equal(out.len, want->plain_len);
        if (out.len > 0) assert_memory_equal(out.p, want->plain, out.len);
        if (want->rc == WS_INFLATE_END) assert_int_equal(consumed, want->consumed);
    }
    tu_bytes_free(&out);
}

static void run_and_check(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct everywhere_ctx *ctx = vctx;
    struct outcome oc;
    memset(&oc, 0, sizeof(oc));
    ws_inflate *z = new_inflate(ctx->want->wbits);
    feed_into(z, pieces, lens, n, ctx->ochunk, NULL, &oc);
    check_outcome(&oc, ctx->want, ctx->ochunk);
    tu_bytes_free(&oc.out);
    free(z);
    ctx->runs++;
}

/* Inputs longer than this are cut at selected points, not at all. */
#define SPLIT_ALL_MAX 2048

static void feed_chunks(const uint8_t *data, size_t len, size_t chunk, struct everywhere_ctx *ctx) {
    tu_chunks(data, len, chunk, run_and_check, ctx);
}

/* Every way of feeding, every output size (the output's exact size, 1, 2,
 * 7 and 4096 bytes), without multiplying the two out: in one piece and
 * byte by byte with each output size; at every split point (selected ones
 * for a long input) and in chunks of 2, 3, 7 and 64 with the output sizes
 * in turn. Byte by byte puts each byte before its own guard page for two
 * of the output sizes, and feeds from one buffer for the others (a guard
 * page per byte costs an mmap per byte). */
static void feed_everywhere(const uint8_t *data, size_t len, const struct expect *want) {
    static const size_t chunk_sizes[] = { 2, 3, 7, 64 };
    size_t ochunks[] = { want->plain_len ? want->plain_len : 1, 1, 2, 7, 4096 };
    const size_t nout = sizeof(ochunks) / sizeof(ochunks[0]);
    int big = len > SPLIT_ALL_MAX;
    struct everywhere_ctx ctx = { want, 0, 0 };

    if (!want->not_zlib) check_zlib_same(data, len, want);

    for (size_t k = 0; k < nout; k++) {
        ctx.ochunk = ochunks[k];
        feed_chunks(data, len, len ? len : 1, &ctx);
        if (k < 2 && !big)
            feed_chunks(data, len, 1, &ctx);
        else
            tu_bytewise(data, len, run_and_check, &ctx);
    }
    size_t turn = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        if (big && cut > 24 && cut + 24 < len && cut % 4093 != 0) continue;
        ctx.ochunk = ochunks[turn++ % nout];
        tu_split_at(data, len, cut, run_and_check, &ctx);
    }
    for (size_t i = 0; i < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); i++) {
        ctx.ochunk = ochunks[turn++ % nout];
        if (len / chunk_sizes[i] < 4096) feed_chunks(data, len, chunk_sizes[i], &ctx);
    }
    assert_true(ctx.runs > 0);
}

/* One decode of a whole stream held in one buffer, with output buffers of
 * random sizes and the input cut at random (when r is given). */
static void decode_once(const uint8_t *data, size_t len, unsigned wbits, tu_rng *r,
                        struct outcome *oc) {
    uint8_t *g = tu_guarded_copy(data, len);
    size_t max_pieces = len + 1, n = 0, off = 0;
    const uint8_t **pieces = calloc(max_pieces, sizeof(*pieces));
    size_t *lens = calloc(max_pieces, sizeof(*lens));
    assert_non_null(pieces);
    assert_non_null(lens);
    if (r == NULL) {
        pieces[0] = g;
        lens[0] = len;
        n = 1;
    } else {
        static const size_t limits[] = { 1, 5, 17, 200, 5000, 100000 };
        size_t limit = limits[tu_rng_below(r, 6)];
        while (off < len) {
            size_t k = 1 + tu_rng_below(r, limit);
            if (k > len - off) k = len - off;
            pieces[n] = g + off;
            lens[n++] = k;
            off += k;
        }
    }
    memset(oc, 0, sizeof(*oc));
    ws_inflate *z = new_inflate(wbits);
    feed_into(z, pieces, lens, n, r ? OUT_RANDOM : 65536, r, oc);
    free(z);
    free(pieces);
    free(lens);
    tu_guarded_free(g, len);
}

/* ---------------------------------------------------------------------- */
/* zlib, as the encoder of test streams and as an oracle                  */

/* Raw DEFLATE (no zlib header) of data, with a Z_SYNC_FLUSH after each of
 * the nflush offsets in flush[] (ascending), and Z_FINISH at the end. */
static void zlib_deflate(const uint8_t *data, size_t n, int level, int wbits, int strategy,
                         const size_t *flush, size_t nflush, tu_bytes *out) {
    z_stream s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, -wbits, 8, strategy), Z_OK);
    size_t at = 0;
    for (size_t i = 0; i <= nflush; i++) {
        size_t to = i < nflush ? flush[i] : n;
        int mode = i < nflush ? Z_SYNC_FLUSH : Z_FINISH;
        s.next_in = (uint8_t *)(uintptr_t)(data + at);
        s.avail_in = (uInt)(to - at);
        int rc;
        do {
            uint8_t chunk[16384];
            s.next_out = chunk;
            s.avail_out = sizeof(chunk);
            rc = deflate(&s, mode);
            assert_true(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
            tu_bytes_put(out, chunk, sizeof(chunk) - s.avail_out);
        } while (s.avail_out == 0 || (mode == Z_FINISH && rc != Z_STREAM_END));
        at = to;
    }
    deflateEnd(&s);
}

/* zlib's raw inflate over the whole of in: Z_STREAM_END, Z_DATA_ERROR, or
 * Z_BUF_ERROR when the input ran out first. */
static int zlib_inflate(const uint8_t *in, size_t n, tu_bytes *out, size_t *consumed) {
    z_stream s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(inflateInit2(&s, -15), Z_OK);
    s.next_in = (uint8_t *)(uintptr_t)in;
    s.avail_in = (uInt)n;
    int rc;
    do {
        uint8_t chunk[16384];
        s.next_out = chunk;
        s.avail_out = sizeof(chunk);
        rc = inflate(&s, Z_SYNC_FLUSH);
        if (out) tu_bytes_put(out, chunk, sizeof(chunk) - s.avail_out);
    } while (rc == Z_OK && (s.avail_out == 0 || s.avail_in > 0));
    if (rc == Z_OK) rc = Z_BUF_ERROR;
    if (consumed) *consumed = n - s.avail_in;
    inflateEnd(&s);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Building streams by hand (RFC 1951 §3)                                 */

/* The tables of §3.2.5 and §3.2.7: rfc1951_tables.h. */

/* A stream being written, and the output a decoder must give for it. */
struct sb {
    tu_bytes bytes; /* finished bytes */
    uint64_t acc;   /* bits not yet a whole byte */
    unsigned nacc;
    tu_bytes plain; /* the decoded output so far */
    /* The current block's codes: code values (§3.2.2) and lengths. */
    uint16_t lcode[288], dcode[32], ccode[19];
    uint8_t llen[288], dlen[32], clen[19];
};

static void sb_free(struct sb *s) {
    tu_bytes_free(&s->bytes);
    tu_bytes_free(&s->plain);
}

/* A number of n bits, least significant bit first (§3.1.1). */
static void sb_bits(struct sb *s, uint32_t v, unsigned n) {
    s->acc |= (uint64_t)v << s->nacc;
    s->nacc += n;
    while (s->nacc >= 8) {
        uint8_t b = (uint8_t)s->acc;
        tu_bytes_put(&s->bytes, &b, 1);
        s->acc >>= 8;
        s->nacc -= 8;
    }
}

/* A Huffman code: most significant bit first (§3.1.1). */
static void sb_code(struct sb *s, uint16_t code, unsigned len) {
    assert_true(len > 0);
    for (unsigned i = len; i-- > 0;) sb_bits(s, (code >> i) & 1u, 1);
}

/* The index of the byte that holds the last bit written. */
static size_t sb_last_byte(const struct sb *s) { return (s->bytes.len * 8 + s->nacc - 1) / 8; }

/* Pad the last byte with zero bits. */
static void sb_flush(struct sb *s) {
    if (s->nacc > 0) sb_bits(s, 0, 8 - s->nacc);
}

/* §3.2.2, steps 1-3: the codes for the given lengths. */
static void canonical(const uint8_t *lens, unsigned n, uint16_t *codes) {
    unsigned bl_count[16] = { 0 }, next_code[16] = { 0 }, code = 0;
    for (unsigned i = 0; i < n; i++) bl_count[lens[i]]++;
    bl_count[0] = 0;
    for (unsigned bits = 1; bits <= 15; bits++) {
        code = (code + bl_count[bits - 1]) << 1;
        next_code[bits] = code;
    }
    for (unsigned i = 0; i < n; i++)
        if (lens[i] != 0) codes[i] = (uint16_t)next_code[lens[i]]++;
}

static void sb_set_codes(struct sb *s, const uint8_t *llen, unsigned nlen, const uint8_t *dlen,
                         unsigned ndist) {
    memset(s->llen, 0, sizeof(s->llen));
    memset(s->dlen, 0, sizeof(s->dlen));
    memcpy(s->llen, llen, nlen);
    memcpy(s->dlen, dlen, ndist);
    canonical(s->llen, 288, s->lcode);
    canonical(s->dlen, 32, s->dcode);
}

static void sb_header(struct sb *s, int final, unsigned type) {
    sb_bits(s, final ? 1 : 0, 1);
    sb_bits(s, type, 2);
}

/* A stored block (§3.2.4). */
static void sb_stored(struct sb *s, int final, const uint8_t *data, size_t n) {
    assert_true(n <= 65535);
    sb_header(s, final, 0);
    sb_flush(s);
    sb_bits(s, (uint32_t)n, 16);
    sb_bits(s, (uint32_t)(~n & 0xffff), 16);
    tu_bytes_put(&s->bytes, data, n);
    tu_bytes_put(&s->plain, data, n);
}

/* A block with the fixed codes (§3.2.6). */
static void sb_fixed(struct sb *s, int final) {
    uint8_t llen[288], dlen[32];
    memset(llen, 8, 144);
    memset(llen + 144, 9, 112);
    memset(llen + 256, 7, 24);
    memset(llen + 280, 8, 8);
    memset(dlen, 5, 32);
    sb_header(s, final, 1);
    sb_set_codes(s, llen, 288, dlen, 32);
}

/* The header of a dynamic block (§3.2.7) up to the code length code:
 * HLIT, HDIST and HCLEN as given (the raw field values), then the code
 * length code lengths cl[0..18] (by symbol) in the §3.2.7 order. */
static void sb_dynamic_head(struct sb *s, int final, unsigned hlit, unsigned hdist, unsigned hclen,
                            const uint8_t cl[19]) {
    sb_header(s, final, 2);
    sb_bits(s, hlit, 5);
    sb_bits(s, hdist, 5);
    sb_bits(s, hclen, 4);
    for (unsigned i = 0; i < hclen + 4; i++) sb_bits(s, cl[tv_cl_order[i]], 3);
    memcpy(s->clen, cl, 19);
    canonical(s->clen, 19, s->ccode);
}

/* A code length symbol, and the extra bits of 16, 17, 18. */
static void sb_cl(struct sb *s, unsigned sym) { sb_code(s, s->ccode[sym], s->clen[sym]); }

/* The code length code that plain_lengths() uses: 0..15 in 4 bits each.
 * And one with repeats: 0, 16, 17, 18 and 1..9 in 4 bits, 10..15 in 5. */
static const uint8_t cl_plain[19] = { 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0 };
static const uint8_t cl_rle[19] = { 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 4, 4, 4 };

/* A dynamic block with the given codes, lengths sent one symbol each
 * (rle = 0) or with runs (rle = 1, as an encoder would). */
static void sb_dynamic(struct sb *s, int final, const uint8_t *llen, unsigned nlen,
                       const uint8_t *dlen, unsigned ndist, int rle) {
    uint8_t all[286 + 30];
    memcpy(all, llen, nlen);
    memcpy(all + nlen, dlen, ndist);
    unsigned total = nlen + ndist;

    sb_dynamic_head(s, final, nlen - 257, ndist - 1, 15, rle ? cl_rle : cl_plain);
    for (unsigned i = 0; i < total;) {
        unsigned v = all[i], run = 1;
        while (i + run < total && all[i + run] == v) run++;
        if (rle && v == 0 && run >= 11) {
            unsigned k = run > 138 ? 138 : run;
            sb_cl(s, 18);
            sb_bits(s, k - 11, 7);
            i += k;
        } else if (rle && v == 0 && run >= 3) {
            unsigned k = run > 10 ? 10 : run;
            sb_cl(s, 17);
            sb_bits(s, k - 3, 3);
            i += k;
        } else if (rle && i > 0 && all[i - 1] == v && run >= 3) {
            unsigned k = run > 6 ? 6 : run;
            sb_cl(s, 16);
            sb_bits(s, k - 3, 2);
            i += k;
        } else {
            sb_cl(s, v);
            i++;
        }
    }
    sb_set_codes(s, llen, nlen, dlen, ndist);
}

static void sb_lit(struct sb *s, uint8_t c) {
    sb_code(s, s->lcode[c], s->llen[c]);
    tu_bytes_put(&s->plain, &c, 1);
}

static void sb_eob(struct sb *s) { sb_code(s, s->lcode[256], s->llen[256]); }

/* A match given as symbols and extra-bit values, exactly as sent. */
static void sb_match_syms(struct sb *s, unsigned lsym, unsigned lx, unsigned dsym, unsigned dx) {
    sb_code(s, s->lcode[lsym], s->llen[lsym]);
    sb_bits(s, lx, tv_len_extra[lsym - 257]);
    sb_code(s, s->dcode[dsym], s->dlen[dsym]);
    sb_bits(s, dx, tv_dist_extra[dsym]);
    size_t len = tv_len_base[lsym - 257] + lx, dist = tv_dist_base[dsym] + dx;
    assert_true(dist <= s->plain.len);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s->plain.p[s->plain.len - dist];
        tu_bytes_put(&s->plain, &c, 1);
    }
}

/* A match, with the symbols an encoder would choose. */
static void sb_match(struct sb *s, unsigned len, unsigned dist) {
    unsigned l = 28, d = 29;
    while (tv_len_base[l] > len) l--;
    if (len == 258) l = 28; /* 285, not 284 + 31 */
    while (tv_dist_base[d] > dist) d--;
    sb_match_syms(s, 257 + l, len - tv_len_base[l], d, dist - tv_dist_base[d]);
}

/* The expectation for a valid stream held by s (already flushed). */
static struct expect sb_expect(const struct sb *s, int rc, int boundary, unsigned wbits) {
    struct expect e = { s->plain.p, s->plain.len, rc, s->bytes.len, 0, boundary, wbits, 0 };
    return e;
}

/* A random complete prefix code on the symbols marked in use[] (count
 * >= 2), lengths up to 15: split a random leaf of a growing binary tree
 * until there is a leaf per symbol, preferring deep leaves so that long
 * codes (and decoding subtables) come up. */
static void random_lengths(tu_rng *r, const uint8_t *use, unsigned n, uint8_t *lens) {
    uint8_t depth[288];
    unsigned leaves = 1, want = 0;
    for (unsigned i = 0; i < n; i++) want += use[i] != 0;
    assert_true(want >= 2 && want <= 288);
    depth[0] = 0;
    while (leaves < want) {
        unsigned pick = (unsigned)tu_rng_below(r, leaves);
        for (unsigned tries = 0; tries < 3 && depth[pick] < 8; tries++)
            pick = (unsigned)tu_rng_below(r, leaves);
        if (depth[pick] == 15) continue;
        depth[pick]++;
        depth[leaves++] = depth[pick];
    }
    /* Shuffle the depths onto the symbols in use. */
    for (unsigned i = leaves; i-- > 1;) {
        unsigned j = (unsigned)tu_rng_below(r, i + 1);
        uint8_t t = depth[i];
        depth[i] = depth[j];
        depth[j] = t;
    }
    for (unsigned i = 0, k = 0; i < n; i++) lens[i] = use[i] ? depth[k++] : 0;
}

/* ---------------------------------------------------------------------- */
/* RFC 7692 §7.2.3: the examples                                          */

static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff }; /* §7.2.2 */

/* A message payload with the 00 00 ff ff the receiver appends. */
static size_t with_tail(uint8_t *dst, const uint8_t *payload, size_t n) {
    memcpy(dst, payload, n);
    memcpy(dst + n, tail, 4);
    return n + 4;
}

/* zlib gives the same bytes for it. */
static void check_zlib_agrees(const uint8_t *stream, size_t n, const char *plain, int want_zrc) {
    tu_bytes out = { 0 };
    assert_int_equal(zlib_inflate(stream, n, &out, NULL), want_zrc);
    assert_int_equal(out.len, strlen(plain));
    assert_memory_equal(out.p, plain, out.len);
    tu_bytes_free(&out);
}

/* §7.2.3.1: "Hello", compressed with a sync flush, and the same message
 * split into two frames ("Hel" then "lo" of the compressed bytes). */
static void test_rfc7692_hello(void **state) {
    (void)state;
    static const uint8_t payload[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    uint8_t in[sizeof(payload) + 4];
    size_t n = with_tail(in, payload, sizeof(payload));
    struct expect want = { (const uint8_t *)"Hello", 5, WS_INFLATE_NEED_INPUT, n, 0, 1, 15, 0 };
    check_zlib_agrees(in, n, "Hello", Z_BUF_ERROR);
    feed_everywhere(in, n, &want);

    /* The two frames' payloads, as they would arrive, then the tail. */
    ws_inflate *z = new_inflate(15);
    const uint8_t *pieces[3] = { payload, payload + 3, tail };
    size_t lens[3] = { 3, 4, 4 };
    struct outcome oc;
    memset(&oc, 0, sizeof(oc));
    feed_into(z, pieces, lens, 3, 4096, NULL, &oc);
    check_outcome(&oc, &want, 4096);
    tu_bytes_free(&oc.out);
    free(z);
}

/* §7.2.3.2: the same message sent again with context takeover refers
 * back to the first: f2 00 11 00 00. */
static void test_rfc7692_context_takeover(void **state) {
    (void)state;
    static const uint8_t first[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    static const uint8_t second[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };
    uint8_t a[16], b[16], out[64];
    size_t na = with_tail(a, first, sizeof(first)), nb = with_tail(b, second, sizeof(second));
    size_t used, got;

    /* zlib, as one stream, agrees. */
    uint8_t both[32];
    memcpy(both, a, na);
    memcpy(both + na, b, nb);
    check_zlib_agrees(both, na + nb, "HelloHello", Z_BUF_ERROR);

    /* Going on with the stream, with reset(keep = 1) between messages, and
     * with reset(keep = 0): then the second message refers to nothing. */
    for (int mode = 0; mode < 3; mode++) {
        ws_inflate *z = new_inflate(15);
        assert_int_equal(ws_inflate_feed(z, a, na, &used, out, sizeof(out), &got),
                         WS_INFLATE_NEED_INPUT);
        assert_int_equal(used, na);
        assert_int_equal(got, 5);
        assert_memory_equal(out, "Hello", 5);
        assert_true(ws_inflate_at_block_boundary(z));
        if (mode > 0) ws_inflate_reset(z, mode == 1);
        int rc = ws_inflate_feed(z, b, nb, &used, out, sizeof(out), &got);
        if (mode == 2) {
            assert_int_equal(rc, WS_E_INFLATE_DISTANCE);
        } else {
            assert_int_equal(rc, WS_INFLATE_NEED_INPUT);
            assert_int_equal(got, 5);
            assert_memory_equal(out, "Hello", 5);
            assert_true(ws_inflate_at_block_boundary(z));
        }
        free(z);
    }

    /* Both messages, cut every way, as one stream. */
    struct expect want = {
        (const uint8_t *)"HelloHello", 10, WS_INFLATE_NEED_INPUT, na + nb, 0, 1, 15, 0
    };
    feed_everywhere(both, na + nb, &want);
}

/* §7.2.3.3: "Hello" in a stored block. */
static void test_rfc7692_stored(void **state) {
    (void)state;
    static const uint8_t payload[] = { 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                       0x65, 0x6c, 0x6c, 0x6f, 0x00 };
    uint8_t in[sizeof(payload) + 4];
    size_t n = with_tail(in, payload, sizeof(payload));
    struct expect want = { (const uint8_t *)"Hello", 5, WS_INFLATE_NEED_INPUT, n, 0, 1, 15, 0 };
    check_zlib_agrees(in, n, "Hello", Z_BUF_ERROR);
    feed_everywhere(in, n, &want);
}

/* §7.2.3.4: a block with BFINAL set. The stream ends inside the seventh
 * byte; the byte after it and the appended tail are not taken. */
static void test_rfc7692_bfinal(void **state) {
    (void)state;
    static const uint8_t payload[] = { 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00 };
    uint8_t in[sizeof(payload) + 4];
    size_t n = with_tail(in, payload, sizeof(payload));
    size_t zused = 0;
    tu_bytes zout = { 0 };
    assert_int_equal(zlib_inflate(in, n, &zout, &zused), Z_STREAM_END);
    assert_int_equal(zused, 7);
    tu_bytes_free(&zout);
    struct expect want = { (const uint8_t *)"Hello", 5, WS_INFLATE_END, 7, 0, 1, 15, 0 };
    feed_everywhere(in, n, &want);
}

/* §7.2.3.5: two blocks in one message: a sync flush in the middle. */
static void test_rfc7692_two_blocks(void **state) {
    (void)state;
    static const uint8_t payload[] = { 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                       0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00 };
    uint8_t in[sizeof(payload) + 4];
    size_t n = with_tail(in, payload, sizeof(payload));
    struct expect want = { (const uint8_t *)"Hello", 5, WS_INFLATE_NEED_INPUT, n, 0, 1, 15, 0 };
    check_zlib_agrees(in, n, "Hello", Z_BUF_ERROR);
    feed_everywhere(in, n, &want);

    /* Between the two blocks the decoder stands at a block boundary; in
     * the middle of the first it does not. */
    ws_inflate *z = new_inflate(15);
    uint8_t out[16];
    size_t used, got;
    assert_int_equal(ws_inflate_feed(z, payload, 2, &used, out, sizeof(out), &got),
                     WS_INFLATE_NEED_INPUT);
    assert_false(ws_inflate_at_block_boundary(z));
    assert_int_equal(ws_inflate_feed(z, payload + 2, 6, &used, out, sizeof(out), &got),
                     WS_INFLATE_NEED_INPUT);
    assert_true(ws_inflate_at_block_boundary(z));
    free(z);
}

/* ---------------------------------------------------------------------- */
/* Hand-built valid streams                                               */

static void test_stored_blocks(void **state) {
    (void)state;
    struct sb s;
    struct expect want;

    /* An empty final stored block: the whole stream. */
    memset(&s, 0, sizeof(s));
    sb_stored(&s, 1, NULL, 0);
    want = sb_expect(&s, WS_INFLATE_END, 1, 15);
    feed_everywhere(s.bytes.p, s.bytes.len, &want);
    sb_free(&s);

    /* Several blocks: stored, empty stored, fixed, stored, with bits left
     * over in the byte before each stored block (skipped, §3.2.4). */
    memset(&s, 0, sizeof(s));
    sb_stored(&s, 0, (const uint8_t *)"abc", 3);
    sb_stored(&s, 0, NULL, 0);
    sb_fixed(&s, 0);
    sb_lit(&s, 'x');
    sb_match(&s, 5, 4);
    sb_eob(&s);
    sb_stored(&s, 1, (const uint8_t *)"defgh", 5);
    want = sb_expect(&s, WS_INFLATE_END, 1, 15);
    feed_everywhere(s.bytes.p, s.bytes.len, &want);
    sb_free(&s);

    /* The largest stored block, 65535 bytes, then another. */
    uint8_t *data = malloc(70000);
    assert_non_null(data);
    tu_fill_random(data, 70000, 1951);
    memset(&s, 0, sizeof(s));
    sb_stored(&s, 0, data, 65535);
    sb_stored(&s, 1, data + 65535, 70000 - 65535);
    want = sb_expect(&s, WS_INFLATE_END, 1, 15);
    feed_everywhere(s.bytes.p, s.bytes.len, &want);
    sb_free(&s);
    free(data);
}

/* Fixed codes: every literal byte, and matches. */
static void test_fixed_block(void **state) {
    (void)state;
    struct sb s;
    memset(&s, 0, sizeof(s));
    sb_fixed(&s, 1);
    for (unsigned c = 0; c < 256; c++) sb_lit(&s, (uint8_t)c);
    sb_match(&s, 3, 1);
    sb_match(&s, 258, 256);
    sb_match(&s, 10, 3); /* overlapping: period 3 */
    sb_lit(&s, 'z');
    sb_match(&s, 100, 1); /* a run */
    sb_eob(&s);
    sb_flush(&s);
    struct expect want = sb_expect(&s, WS_INFLATE_END, 1, 15);
    feed_everywhere(s.bytes.p, s.bytes.len, &want);
    sb_free(&s);
}

/* A random block body: n symbols, literals and matches, using only the
 * symbols the current codes have (a match only where its distance fits in
 * the output so far). */
static void random_body(struct sb *s, tu_rng *r, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        unsigned lsym = (unsigned)tu_rng_below(r, 286);
        if (lsym == 256 || s->llen[lsym] == 0) {
            /* a literal that has a code */
            unsigned c = (unsigned)tu_rng_below(r, 256);
            while (s->llen[c] == 0) c = (c + 1) % 256;
            if (s->llen[c] == 0) continue;
            sb_lit(s, (uint8_t)c);
            continue;
        }
        if (lsym < 256) {
            sb_lit(s, (uint8_t)lsym);
            continue;
        }
        unsigned dsym = (unsigned)tu_rng_below(r, 30), tries = 0;
        while ((s->dlen[dsym] == 0 || tv_dist_base[dsym] > s->plain.len) && tries++ < 30)
            dsym = (dsym + 1) % 30;
        if (s->dlen[dsym] == 0 || tv_dist_base[dsym] > s->plain.len) continue;
        unsigned dmax = (1u << tv_dist_extra[dsym]) - 1;
        if (tv_dist_base[dsym] + dmax > s->plain.len)
            dmax = (unsigned)(s->plain.len - tv_dist_base[dsym]);
        unsigned lx = (unsigned)tu_rng_below(r, 1u << tv_len_extra[lsym - 257]);
        unsigned dx = (unsigned)tu_rng_below(r, dmax + 1u);
        sb_match_syms(s, lsym, lx, dsym, dx);
    }
}

/* Dynamic blocks with random complete codes (codes up to 15 bits, so
 * every kind of subtable), lengths sent plainly and with runs, several
 * blocks per stream. */
static void test_dynamic_blocks(void **state) {
    (void)state;
    tu_rng r = { 0x1951 };
    for (int round = 0; round < 10; round++) {
        struct sb s;
        memset(&s, 0, sizeof(s));
        unsigned blocks = 1 + (unsigned)(round % 3);
        for (unsigned b = 0; b < blocks; b++) {
            uint8_t luse[286], duse[30], llen[286], dlen[30];
            unsigned nlen = round == 0 ? 286 : 257 + (unsigned)tu_rng_below(&r, 30);
            unsigned ndist = round == 0 ? 30 : 2 + (unsigned)tu_rng_below(&r, 29);
            for (unsigned i = 0; i < nlen; i++) luse[i] = round == 0 || tu_rng_below(&r, 3) != 0;
            luse[256] = 1;
            luse[0] = 1;
            for (unsigned i = 0; i < ndist; i++) duse[i] = round == 0 || tu_rng_below(&r, 2) != 0;
            duse[0] = duse[1] = 1;
            random_lengths(&r, luse, nlen, llen);
            random_lengths(&r, duse, ndist, dlen);
            sb_dynamic(&s, b + 1 == blocks, llen, nlen, dlen, ndist, (round + (int)b) & 1);
            random_body(&s, &r, 200 + (unsigned)tu_rng_below(&r, 300));
            sb_eob(&s);
        }
        sb_flush(&s);
        struct expect want = sb_expect(&s, WS_INFLATE_END, 1, 15);
        feed_everywhere(s.bytes.p, s.bytes.len, &want);
        sb_free(&s);
    }
}

/* Every length symbol with its smallest and largest extra bits, every
 * length 3..258, every distance code with its smallest and largest extra
 * bits (so distances 1 and 32768), and 284 with extra bits 31 (258: zlib
 * accepts it, RFC 1951's table stops 284 at 257), after 33000 bytes of
 * history; in a fixed block and in a dynamic block with all 286 + 30
 * symbols. */
static void test_every_length_and_distance(void **state) {
    (void)state;
    tu_rng r = { 7692 };
    uint8_t *history = malloc(33000);
    assert_non_null(history);
    tu_fill_random(history, 33000, 3);

    for (int dynamic = 0; dynamic < 2; dynamic++) {
        struct sb s;
        memset(&s, 0, sizeof(s));
        sb_stored(&s, 0, history, 33000);
        if (dynamic) {
            uint8_t luse[286], duse[30], llen[286], dlen[30];
            memset(luse, 1, sizeof(luse));
            memset(duse, 1, sizeof(duse));
            random_lengths(&r, luse, 286, llen);
            random_lengths(&r, duse, 30, dlen);
            sb_dynamic(&s, 1, llen, 286, dlen, 30, 1);
        } else {
            sb_fixed(&s, 1);
        }
        for (unsigned l = 0; l < 29; l++) {
            sb_match_syms(&s, 257 + l, 0, (unsigned)tu_rng_below(&r, 30), 0);
            sb_match_syms(&s, 257 + l, (1u << tv_len_extra[l]) - 1, 4, 1);
        }
        for (unsigned len = 3; len <= 258; len++)
            sb_match(&s, len, 1 + (unsigned)tu_rng_below(&r, 32768));
        for (unsigned d = 0; d < 30; d++) {
            sb_match_syms(&s, 257, 0, d, 0);
            sb_lit(&s, (uint8_t)d);
            sb_match_syms(&s, 285, 0, d, (1u << tv_dist_extra[d]) - 1);
        }
        sb_match_syms(&s, 284, 31, 0, 0);
        sb_eob(&s);
        sb_flush(&s);
        struct expect want = sb_expect(&s, WS_INFLATE_END, 1, 15);
        feed_everywhere(s.bytes.p, s.bytes.len, &want);
        sb_free(&s);
    }
    free(history);
}

/* ---------------------------------------------------------------------- */
/* Window limits and distances                                             */

/* For each window size w: a match 2^w back is decoded; one 2^w + 1 back is
 * refused by a decoder with that window (zlib, whose window is only a
 * buffer, would copy it from the output: a deliberate difference) and
 * decoded with a window twice as big. */
static void test_window_limits(void **state) {
    (void)state;
    uint8_t *history = malloc(40000);
    assert_non_null(history);
    tu_fill_random(history, 40000, 8);

    for (unsigned w = WS_INFLATE_MIN_WINDOW_BITS; w <= WS_INFLATE_MAX_WINDOW_BITS; w++) {
        unsigned size = 1u << w;
        struct sb s;

        memset(&s, 0, sizeof(s));
        sb_stored(&s, 0, history, size + 7);
        sb_fixed(&s, 1);
        sb_match(&s, 258, size);
        sb_match(&s, 3, size);
        for (int i = 0; i < 40; i++) sb_lit(&s, (uint8_t)i); /* for the fast loop */
        sb_eob(&s);
        sb_flush(&s);
        struct expect want = sb_expect(&s, WS_INFLATE_END, 1, w);
        feed_everywhere(s.bytes.p, s.bytes.len, &want);
        sb_free(&s);

        if (w == WS_INFLATE_MAX_WINDOW_BITS) break; /* 32769 has no code */

        memset(&s, 0, sizeof(s));
        sb_stored(&s, 0, history, size + 7);
        sb_fixed(&s, 1);
        size_t before = s.plain.len;
        sb_match(&s, 10, size + 1);
        size_t bad_at = sb_last_byte(&s);
        for (int i = 0; i < 40; i++) sb_lit(&s, (uint8_t)i); /* for the fast loop */
        sb_eob(&s);
        sb_flush(&s);
        want = sb_expect(&s, WS_INFLATE_END, 1, w + 1);
        feed_everywhere(s.bytes.p, s.bytes.len, &want);
        struct expect refused = { s.plain.p, before, WS_E_INFLATE_DISTANCE, 0, bad_at, 0, w, 1 };
        feed_everywhere(s.bytes.p, s.bytes.len, &refused);
        sb_free(&s);
    }
    free(history);
}

/* A distance further back than the output since the start of the stream,
 * by one, with and without history from an earlier stream. */
static void test_distance_beyond_output(void **state) {
    (void)state;
    struct sb s;

    /* At the very start. */
    memset(&s, 0, sizeof(s));
    sb_fixed(&s, 1);
    sb_code(&s, s.lcode[257], s.llen[257]);
    sb_code(&s, s.dcode[0], s.dlen[0]);
    size_t bad_at = sb_last_byte(&s);
    uint8_t zeros[64] = { 0 };
    sb_flush(&s);
    tu_bytes_put(&s.bytes, zeros, sizeof(zeros));
    struct expect want = { s.plain.p, 0, WS_E_INFLATE_DISTANCE, 0, bad_at, 0, 15, 0 };
    feed_everywhere(s.bytes.p, s.bytes.len, &want);
    sb_free(&s);

    /* After 300 bytes, 300 back is fine; then, 305 bytes out, 306 back
     * is not. */
    memset(&s, 0, sizeof(s));
    sb_fixed(&s, 1);
    for (int i = 0; i < 300; i++) sb_lit(&s, (uint8_t)(i * 7));
    sb_match(&s, 5, 300);
    size_t before = s.plain.len;
    assert_int_equal(before, 305);
    sb_code(&s, s.lcode[258], s.llen[258]);
    sb_code(&s, s.dcode[16], s.dlen[16]);
    sb_bits(&s, 306 - 257, 7);
    bad_at = sb_last_byte(&s);
    sb_flush(&s);
    tu_bytes_put(&s.bytes, zeros, sizeof(zeros));
    struct expect far = { s.plain.p, before, WS_E_INFLATE_DISTANCE, 0, bad_at, 0, 15, 0 };
    feed_everywhere(s.bytes.p, s.bytes.len, &far);
    sb_free(&s);
}

/* After the end of a stream: the bytes after it stay unread, a feed
 * returns END again, and reset starts a new stream that may (keep = 1)
 * or may not (keep = 0) refer back into the old one. */
static void test_reset_after_end(void **state) {
    (void)state;
    struct sb a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    sb_fixed(&a, 1);
    for (const char *p = "context takeover"; *p; p++) sb_lit(&a, (uint8_t)*p);
    sb_eob(&a);
    sb_flush(&a);
    size_t alen = a.bytes.len;
    tu_bytes_put(&a.bytes, "\x12\x34", 2); /* not part of the stream */

    sb_fixed(&b, 1);
    sb_lit(&b, '!');
    sb_eob(&b);
    sb_flush(&b);
    /* b refers 17 bytes back: into a's output. */
    struct sb b2;
    memset(&b2, 0, sizeof(b2));
    sb_fixed(&b2, 1);
    tu_bytes_put(&b2.plain, "context takeover", 16);
    sb_match(&b2, 16, 16);
    sb_eob(&b2);
    sb_flush(&b2);

    for (int keep = 0; keep < 2; keep++) {
        ws_inflate *z = new_inflate(15);
        uint8_t out[64];
        size_t used, got;
        assert_int_equal(ws_inflate_feed(z, a.bytes.p, a.bytes.len, &used, out, sizeof(out), &got),
                         WS_INFLATE_END);
        assert_int_equal(used, alen);
        assert_int_equal(got, 16);
        assert_true(ws_inflate_at_block_boundary(z));
        assert_int_equal(ws_inflate_feed(z, a.bytes.p + used, 2, &used, out, sizeof(out), &got),
                         WS_INFLATE_END);
        assert_int_equal(used, 0);
        assert_int_equal(got, 0);

        ws_inflate_reset(z, keep);
        int rc = ws_inflate_feed(z, b2.bytes.p, b2.bytes.len, &used, out, sizeof(out), &got);
        if (keep) {
            assert_int_equal(rc, WS_INFLATE_END);
            assert_int_equal(got, 16);
            assert_memory_equal(out, "context takeover", 16);
        } else {
            assert_int_equal(rc, WS_E_INFLATE_DISTANCE);
        }
        free(z);
    }
    sb_free(&a);
    sb_free(&b);
    sb_free(&b2);
}

/* ---------------------------------------------------------------------- */
/* Invalid streams: each refused at the byte that proves it               */

/* s holds an invalid stream whose proving bit is the last one written;
 * plain_len bytes of output come before it. Pad it with zeros (the
 * decoder must not need them; zlib may) and feed it every way. */
static void expect_error(struct sb *s, size_t plain_len, int err) {
    size_t bad_at = sb_last_byte(s);
    uint8_t zeros[600] = { 0 };
    sb_flush(s);
    tu_bytes_put(&s->bytes, zeros, sizeof(zeros));
    struct expect want = { s->plain.p, plain_len, err, 0, bad_at, 0, 15, 0 };
    check_zlib_same(s->bytes.p, s->bytes.len, &want);
    /* Ours, every way, with a few bytes after the proving one. */
    want.not_zlib = 1;
    feed_everywhere(s->bytes.p, bad_at + 9, &want);
    sb_free(s);
    memset(s, 0, sizeof(*s));
}

/* Blocks that move what follows to bit `shift` (0..7) of a byte: an empty
 * stored block (to a byte boundary), a fixed block with a 9-bit literal
 * for an odd shift (19 bits), empty fixed blocks (10 bits each). Returns
 * the bytes of output they give. Running an error case at every shift
 * puts its proving bit last in its byte in one of them, so that the case
 * shows whether the error comes with that byte or only with the next. */
static size_t sb_shift(struct sb *s, unsigned shift) {
    size_t out = 0;
    unsigned at = 0;
    sb_stored(s, 0, NULL, 0);
    if (shift & 1) {
        sb_fixed(s, 0);
        sb_lit(s, 0x90);
        sb_eob(s);
        at = 3;
        out = 1;
    }
    while (at != shift) {
        sb_fixed(s, 0);
        sb_eob(s);
        at = (at + 2) % 8;
    }
    return out;
}

/* A complete literal/length code on 257 symbols: 0..254 in 8 bits, 255
 * and 256 in 9. */
static void lit257(uint8_t *llen) {
    memset(llen, 8, 255);
    llen[255] = llen[256] = 9;
}

/* Send code lengths one symbol each in cl_plain. */
static void send_lengths(struct sb *s, const uint8_t *lens, unsigned n) {
    for (unsigned i = 0; i < n; i++) sb_cl(s, lens[i]);
}

static void test_error_block_type_and_stored(void **state) {
    (void)state;
    struct sb s;
    memset(&s, 0, sizeof(s));

    /* §3.2.3: BTYPE 11, first thing and after a block. */
    sb_header(&s, 1, 3);
    expect_error(&s, 0, WS_E_INFLATE_BTYPE);
    sb_stored(&s, 0, (const uint8_t *)"abc", 3);
    sb_fixed(&s, 0);
    sb_lit(&s, 'd');
    sb_eob(&s);
    sb_header(&s, 0, 3);
    expect_error(&s, 4, WS_E_INFLATE_BTYPE);

    /* §3.2.4: NLEN's first byte wrong, then its second. */
    sb_header(&s, 1, 0);
    sb_flush(&s);
    sb_bits(&s, 5, 16);
    sb_bits(&s, 0xfb, 8);
    expect_error(&s, 0, WS_E_INFLATE_STORED);
    sb_header(&s, 1, 0);
    sb_flush(&s);
    sb_bits(&s, 5, 16);
    sb_bits(&s, 0xfefa, 16); /* ~5 is fffa */
    expect_error(&s, 0, WS_E_INFLATE_STORED);
    /* LEN = 0 must have NLEN = ffff. */
    sb_stored(&s, 0, (const uint8_t *)"x", 1);
    sb_header(&s, 1, 0);
    sb_flush(&s);
    sb_bits(&s, 0, 16);
    sb_bits(&s, 0xff, 8);
    sb_bits(&s, 0x7f, 8);
    expect_error(&s, 1, WS_E_INFLATE_STORED);
}

static void test_error_header_counts(void **state) {
    (void)state;
    struct sb s;
    memset(&s, 0, sizeof(s));
    /* HLIT 30 and 31 (287 and 288 codes): found with HLIT's last bit. */
    for (unsigned hlit = 30; hlit <= 31; hlit++) {
        sb_header(&s, 1, 2);
        sb_bits(&s, hlit, 5);
        expect_error(&s, 0, WS_E_INFLATE_SYMBOL);
    }
    /* HDIST 30 and 31 (31 and 32 codes; see inflate.c on why, as zlib). */
    for (unsigned hdist = 30; hdist <= 31; hdist++) {
        sb_header(&s, 1, 2);
        sb_bits(&s, 29, 5);
        sb_bits(&s, hdist, 5);
        expect_error(&s, 0, WS_E_INFLATE_SYMBOL);
    }
}

static void test_error_code_length_code(void **state) {
    (void)state;
    struct sb s;
    memset(&s, 0, sizeof(s));
    /* HCLEN = 0: lengths for 16, 17, 18, 0. Three codes of length 1:
     * over-subscribed at the third. */
    sb_header(&s, 1, 2);
    sb_bits(&s, 0, 5);
    sb_bits(&s, 0, 5);
    sb_bits(&s, 0, 4);
    sb_bits(&s, 1, 3);
    sb_bits(&s, 1, 3);
    sb_bits(&s, 1, 3);
    expect_error(&s, 0, WS_E_INFLATE_CODES);
    /* One code of length 1: incomplete, and no exception for this code. */
    sb_header(&s, 1, 2);
    sb_bits(&s, 0, 14);
    sb_bits(&s, 1, 3);
    sb_bits(&s, 0, 3);
    sb_bits(&s, 0, 3);
    sb_bits(&s, 0, 3);
    expect_error(&s, 0, WS_E_INFLATE_CODES);
    /* No code at all (zlib notices only after reading HLIT + HDIST
     * lengths out of it; the padding gives it that). */
    sb_header(&s, 1, 2);
    sb_bits(&s, 0, 14);
    sb_bits(&s, 0, 12);
    expect_error(&s, 0, WS_E_INFLATE_CODES);
    /* Incomplete with all 19: every length 5 (19/32). */
    sb_header(&s, 1, 2);
    sb_bits(&s, 0, 10);
    sb_bits(&s, 15, 4);
    for (int i = 0; i < 19; i++) sb_bits(&s, 5, 3);
    expect_error(&s, 0, WS_E_INFLATE_CODES);
}

static void test_error_literal_codes(void **state) {
    (void)state;
    struct sb s;
    uint8_t lens[316];
    memset(&s, 0, sizeof(s));

    /* Over-subscribed: a third code of length 1. */
    sb_dynamic_head(&s, 1, 0, 0, 15, cl_plain);
    sb_cl(&s, 1);
    sb_cl(&s, 1);
    sb_cl(&s, 1);
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* No end-of-block code: 256 literals of 8 bits (complete already),
     * then 0 for symbol 256. */
    memset(lens, 8, 256);
    lens[256] = 0;
    sb_dynamic_head(&s, 1, 0, 0, 15, cl_plain);
    send_lengths(&s, lens, 257);
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* The same, symbol 256 zeroed by a run of zeros: known from the run's
     * symbol, before its extra bits. */
    for (unsigned shift = 0; shift < 8; shift++) {
        size_t out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 0, 15, cl_rle);
        memset(lens, 9, 255);
        send_lengths(&s, lens, 255);
        sb_cl(&s, 17);
        expect_error(&s, out, WS_E_INFLATE_CODES);
    }

    /* Incomplete: 257 codes of 9 bits, found with the 257th. */
    memset(lens, 9, 257);
    sb_dynamic_head(&s, 1, 0, 0, 15, cl_plain);
    send_lengths(&s, lens, 257);
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* Incomplete, the literal/length part ended by a run into the
     * distances. */
    memset(lens, 9, 254);
    sb_dynamic_head(&s, 1, 0, 1, 15, cl_rle);
    send_lengths(&s, lens, 254);
    sb_cl(&s, 16);
    sb_bits(&s, 1, 2); /* 4 more nines: 255, 256, then distances 0, 1 */
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* Over-subscribed by the shortest run of a repeat: known from the
     * symbol. */
    for (unsigned shift = 0; shift < 8; shift++) {
        size_t out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 0, 15, cl_rle);
        sb_cl(&s, 2);
        sb_cl(&s, 2);
        sb_cl(&s, 2);
        sb_cl(&s, 16);
        expect_error(&s, out, WS_E_INFLATE_CODES);
    }
}

static void test_error_distance_codes(void **state) {
    (void)state;
    struct sb s;
    uint8_t lens[316];
    memset(&s, 0, sizeof(s));
    lit257(lens);

    /* A single distance code of length 2: incomplete (only length 1 may
     * stand alone). */
    sb_dynamic_head(&s, 1, 0, 0, 15, cl_plain);
    send_lengths(&s, lens, 257);
    sb_cl(&s, 2);
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* Two codes, 1 and 2 bits: incomplete. */
    sb_dynamic_head(&s, 1, 0, 1, 15, cl_plain);
    send_lengths(&s, lens, 257);
    sb_cl(&s, 1);
    sb_cl(&s, 2);
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* Over-subscribed at the third of three one-bit codes. */
    sb_dynamic_head(&s, 1, 0, 2, 15, cl_plain);
    send_lengths(&s, lens, 257);
    sb_cl(&s, 1);
    sb_cl(&s, 1);
    sb_cl(&s, 1);
    expect_error(&s, 0, WS_E_INFLATE_CODES);
}

static void test_error_repeats(void **state) {
    (void)state;
    struct sb s;
    uint8_t lens[316];
    memset(&s, 0, sizeof(s));
    lit257(lens);

    for (unsigned shift = 0; shift < 8; shift++) {
        size_t out;
        /* 16 with no previous length: known from the symbol. */
        out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 0, 15, cl_rle);
        sb_cl(&s, 16);
        expect_error(&s, out, WS_E_INFLATE_LENGTHS);

        /* 257 + 1 lengths: after 256, a 17 (at least 3) cannot fit. */
        out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 0, 15, cl_rle);
        send_lengths(&s, lens, 256);
        sb_cl(&s, 17);
        expect_error(&s, out, WS_E_INFLATE_LENGTHS);

        /* 18 (at least 11) with 10 left. */
        out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 9, 15, cl_rle);
        send_lengths(&s, lens, 257);
        sb_cl(&s, 18);
        expect_error(&s, out, WS_E_INFLATE_LENGTHS);

        /* 16 with 4 left, but 6 asked for in its extra bits. */
        out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 3, 15, cl_rle);
        send_lengths(&s, lens, 257);
        sb_cl(&s, 2);
        sb_cl(&s, 16);
        sb_bits(&s, 3, 2);
        expect_error(&s, out, WS_E_INFLATE_LENGTHS);

        /* 18 with 20 left, asking for 138. */
        out = sb_shift(&s, shift);
        sb_dynamic_head(&s, 1, 0, 19, 15, cl_rle);
        send_lengths(&s, lens, 257);
        sb_cl(&s, 18);
        sb_bits(&s, 127, 7);
        expect_error(&s, out, WS_E_INFLATE_LENGTHS);
    }
}

/* The codes RFC 1951 and zlib allow to be incomplete, valid and misused. */
static void test_one_code_and_no_code(void **state) {
    (void)state;
    struct sb s;
    uint8_t llen[286], dlen[30];
    memset(&s, 0, sizeof(s));

    /* A literal/length code of just 256, one bit: a block that only ends.
     * Then another block, with a distance code of one symbol (distance 1)
     * and a literal 'a' and length 3 to use it with. */
    memset(llen, 0, sizeof(llen));
    memset(dlen, 0, sizeof(dlen));
    llen[256] = 1;
    sb_dynamic(&s, 0, llen, 257, dlen, 1, 0);
    sb_eob(&s);
    llen['a'] = 2;
    llen[256] = 2;
    llen[257] = 1;
    dlen[0] = 1;
    sb_dynamic(&s, 1, llen, 258, dlen, 1, 1);
    sb_lit(&s, 'a');
    sb_match(&s, 3, 1);
    sb_lit(&s, 'a');
    sb_eob(&s);
    sb_flush(&s);
    struct expect want = sb_expect(&s, WS_INFLATE_END, 1, 15);
    feed_everywhere(s.bytes.p, s.bytes.len, &want);
    sb_free(&s);
    memset(&s, 0, sizeof(s));

    /* The unused one-bit literal/length code. */
    memset(llen, 0, sizeof(llen));
    llen[256] = 1;
    sb_dynamic(&s, 1, llen, 257, dlen, 1, 0);
    sb_bits(&s, 1, 1);
    expect_error(&s, 0, WS_E_INFLATE_CODES);

    /* The unused one-bit distance code. */
    llen['a'] = 2;
    llen[256] = 2;
    llen[257] = 1;
    dlen[0] = 1;
    sb_dynamic(&s, 1, llen, 258, dlen, 1, 0);
    sb_lit(&s, 'a');
    sb_code(&s, s.lcode[257], s.llen[257]);
    sb_bits(&s, 1, 1);
    expect_error(&s, 1, WS_E_INFLATE_CODES);

    /* No distance code: literals are fine, a length is refused as soon as
     * its distance is wanted (here: after the length's extra bit), and an
     * unused one-bit code as soon as its bit is there. */
    for (unsigned shift = 0; shift < 8; shift++) {
        size_t out = sb_shift(&s, shift);
        memset(llen, 0, sizeof(llen));
        memset(dlen, 0, sizeof(dlen));
        llen['a'] = 2;
        llen[256] = 2;
        llen[265] = 1;
        sb_dynamic(&s, 0, llen, 266, dlen, 1, 1);
        sb_lit(&s, 'a');
        sb_lit(&s, 'a');
        sb_eob(&s);
        sb_dynamic(&s, 1, llen, 266, dlen, 1, 1);
        sb_lit(&s, 'a');
        sb_code(&s, s.lcode[265], s.llen[265]);
        sb_bits(&s, 1, 1);
        expect_error(&s, out + 3, WS_E_INFLATE_CODES);

        out = sb_shift(&s, shift);
        memset(llen, 0, sizeof(llen));
        llen[256] = 1;
        sb_dynamic(&s, 1, llen, 257, dlen, 1, 0);
        sb_bits(&s, 1, 1);
        expect_error(&s, out, WS_E_INFLATE_CODES);
    }
}

/* §3.2.6: 286, 287 and distances 30, 31 have fixed codes but never occur. */
static void test_error_reserved_symbols(void **state) {
    (void)state;
    struct sb s;
    memset(&s, 0, sizeof(s));
    for (unsigned sym = 286; sym <= 287; sym++) {
        sb_fixed(&s, 1);
        sb_lit(&s, 'q');
        sb_code(&s, s.lcode[sym], s.llen[sym]);
        expect_error(&s, 1, WS_E_INFLATE_SYMBOL);
    }
    for (unsigned d = 30; d <= 31; d++) {
        sb_fixed(&s, 1);
        sb_lit(&s, 'q');
        sb_code(&s, s.lcode[257], s.llen[257]);
        sb_code(&s, s.dcode[d], s.dlen[d]);
        expect_error(&s, 1, WS_E_INFLATE_SYMBOL);
    }
}

/* ---------------------------------------------------------------------- */
/* Against zlib                                                           */

/* Test data of a few kinds: random bytes, English-like text, a phrase
 * repeated with mutations, long runs, JSON chat messages. */
static void make_data(tu_rng *r, int kind, uint8_t *p, size_t n) {
    static const char *words[] = { "the",     "quick",   "brown",  "fox", "jumps",     "over",
                                   "lazy",    "dog",     "and",    "a",   "websocket", "frame",
                                   "message", "deflate", "window", "of",  "to",        "is" };
    size_t i = 0;
    switch (kind) {
    case 0: tu_fill_random(p, n, tu_rng_next(r)); break;
    case 1:
        while (i < n) {
            const char *w = words[tu_rng_below(r, 18)];
            for (size_t k = 0; w[k] && i < n; k++) p[i++] = (uint8_t)w[k];
            if (i < n) p[i++] = tu_rng_below(r, 12) ? ' ' : (tu_rng_below(r, 2) ? '.' : '\n');
        }
        break;
    case 2: {
        uint8_t phrase[40];
        size_t m = 5 + tu_rng_below(r, 35);
        tu_fill_random(phrase, m, tu_rng_next(r));
        for (; i < n; i++) {
            p[i] = phrase[i % m];
            if (tu_rng_below(r, 50) == 0) p[i] ^= (uint8_t)tu_rng_next(r);
        }
        break;
    }
    case 3:
        while (i < n) {
            uint8_t c = (uint8_t)tu_rng_next(r);
            size_t run = 1 + tu_rng_below(r, tu_rng_below(r, 2) ? 5 : 600);
            for (size_t k = 0; k < run && i < n; k++) p[i++] = c;
        }
        break;
    default:
        while (i < n) {
            char msg[200];
            int len = snprintf(msg, sizeof(msg),
                               "{\"type\":\"chat\",\"id\":%u,\"user\":\"%s\","
                               "\"text\":\"%s %s %s\"}",
                               (unsigned)tu_rng_below(r, 100000), words[tu_rng_below(r, 18)],
                               words[tu_rng_below(r, 18)], words[tu_rng_below(r, 18)],
                               words[tu_rng_below(r, 18)]);
            for (int k = 0; k < len && i < n; k++) p[i++] = (uint8_t)msg[k];
        }
        break;
    }
}

static void check_decodes_to(const uint8_t *stream, size_t len, const uint8_t *plain, size_t n,
                             unsigned wbits, tu_rng *r) {
    struct outcome oc;
    decode_once(stream, len, wbits, r, &oc);
    if (oc.rc != WS_INFLATE_END) fail_msg("window %u: %s", wbits, rc_name(oc.rc));
    assert_int_equal(oc.out.len, n);
    assert_memory_equal(oc.out.p, plain, n);
    assert_int_equal(oc.consumed, len);
    tu_bytes_free(&oc.out);
}

/* Every window size, level and strategy, with sync flushes in between:
 * the decoder gives back exactly what zlib was given, in one call and cut
 * at random with output buffers of random sizes. zlib will not make a raw
 * stream with a window of 2^8 (1.2.13 refuses; older versions silently
 * used 2^9), but its deflate never reaches further back than the window
 * minus 262 bytes, so its 2^9 streams (at most 250 back) must decode with
 * a window of 2^8. */
static void test_zlib_differential(void **state) {
    (void)state;
    static const int strategies[] = { Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
                                      Z_FIXED };
    tu_rng r = { 0xdeadbeef };
    uint8_t *plain = malloc(40000);
    assert_non_null(plain);

    for (int w = 8; w <= 15; w++) {
        for (int level = 0; level <= 9; level++) {
            for (int st = 0; st < 5; st++) {
                int kind = (int)tu_rng_below(&r, 5);
                size_t n = tu_rng_below(&r, 4) == 0 ? tu_rng_below(&r, 100)
                                                    : 1000 + tu_rng_below(&r, 12000);
                if (level == 6 && st == 0) n = 40000;
                make_data(&r, kind, plain, n);
                size_t flush[3], nflush = tu_rng_below(&r, 4);
                for (size_t i = 0; i < nflush; i++) flush[i] = n * (i + 1) / (nflush + 1);
                tu_bytes z = { 0 };
                zlib_deflate(plain, n, level, w == 8 ? 9 : w, strategies[st], flush, nflush, &z);
                check_decodes_to(z.p, z.len, plain, n, (unsigned)w, NULL);
                check_decodes_to(z.p, z.len, plain, n, (unsigned)w, &r);
                tu_bytes_free(&z);
            }
        }
    }
    free(plain);
}

/* permessage-deflate as peers do it (RFC 7692 §7.2.1): each message
 * compressed with a sync flush, its trailing 00 00 ff ff removed; the
 * receiver appends it again and inflates. With context takeover the
 * messages are one DEFLATE stream; without, each starts afresh
 * (deflateReset; ws_inflate_reset(z, 0)). After every message the decoder
 * stands at a block boundary. */
static void test_zlib_messages(void **state) {
    (void)state;
    tu_rng r = { 6455 };
    uint8_t *plain = malloc(20000), out[65536];
    assert_non_null(plain);

    for (int takeover = 0; takeover < 2; takeover++) {
        for (int w = 9; w <= 15; w++) {
            z_stream zs;
            memset(&zs, 0, sizeof(zs));
            assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -w, 8, Z_DEFAULT_STRATEGY), Z_OK);
            ws_inflate *z = new_inflate((unsigned)w);
            for (int m = 0; m < 40; m++) {
                /* (Not empty: zlib has nothing to flush for an empty
                 * message; RFC 7692 §7.2.3.6 sends one as 00.) */
                size_t n = tu_rng_below(&r, 6) == 0 ? 5000 + tu_rng_below(&r, 15000)
                                                    : 1 + tu_rng_below(&r, 300);
                make_data(&r, m % 3 == 0 ? 4 : (int)tu_rng_below(&r, 5), plain, n);
                uint8_t msg[40000];
                zs.next_in = plain;
                zs.avail_in = (uInt)n;
                zs.next_out = msg;
                zs.avail_out = sizeof(msg);
                assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
                size_t mlen = sizeof(msg) - zs.avail_out;
                assert_true(mlen >= 4);
                assert_memory_equal(msg + mlen - 4, tail, 4);
                mlen -= 4; /* as sent */

                if (!takeover) ws_inflate_reset(z, 0);
                /* The payload in random pieces, then the tail. */
                size_t off = 0, total = 0, used, got;
                while (off < mlen + 4) {
                    const uint8_t *src = off < mlen ? msg + off : tail + (off - mlen);
                    size_t left = off < mlen ? mlen - off : mlen + 4 - off;
                    size_t k = 1 + tu_rng_below(&r, tu_rng_below(&r, 2) ? 8 : 3000);
                    if (k > left) k = left;
                    size_t cap = 1 + tu_rng_below(&r, tu_rng_below(&r, 2) ? 16 : sizeof(out));
                    int rc;
                    do {
                        if (total + cap > sizeof(out)) cap = sizeof(out) - total;
                        rc = ws_inflate_feed(z, src, k, &used, out + total, cap, &got);
                        assert_true(rc == WS_INFLATE_NEED_INPUT || rc == WS_INFLATE_OUTPUT_FULL);
                        total += got;
                        src += used;
                        k -= used;
                        off += used;
                    } while (rc == WS_INFLATE_OUTPUT_FULL);
                    assert_int_equal(k, 0);
                }
                assert_int_equal(total, n);
                if (n > 0) assert_memory_equal(out, plain, n);
                assert_true(ws_inflate_at_block_boundary(z));
                if (!takeover) assert_int_equal(deflateReset(&zs), Z_OK);
            }
            deflateEnd(&zs);
            free(z);
        }
    }
    free(plain);
}

/* ---------------------------------------------------------------------- */
/* The interface                                                          */

static void test_size_and_init(void **state) {
    (void)state;
    assert_int_equal(ws_inflate_size(7), 0);
    assert_int_equal(ws_inflate_size(16), 0);
    size_t prev = 0;
    for (unsigned w = 8; w <= 15; w++) {
        size_t n = ws_inflate_size(w);
        assert_true(n > prev);
        assert_true(n >= ((size_t)1 << w));
        prev = n;
    }
    /* The state is the window plus well under 16 KiB. */
    assert_true(ws_inflate_size(15) - 32768 < 16384);
    print_message("state: %zu bytes for window 15, %zu for window 8\n", ws_inflate_size(15),
                  ws_inflate_size(8));

    size_t n = ws_inflate_size(10);
    void *mem = malloc(n + 16);
    assert_non_null(mem);
    assert_null(ws_inflate_init(mem, n - 1, 10));
    assert_null(ws_inflate_init(mem, n, 7));
    assert_null(ws_inflate_init(mem, n, 16));
    assert_null(ws_inflate_init(NULL, n, 10));
    assert_null(ws_inflate_init((uint8_t *)mem + 1, n, 10)); /* misaligned */
    assert_non_null(ws_inflate_init(mem, n, 10));
    free(mem);
}

/* Output room 0: the decoder goes as far as it can without writing, says
 * OUTPUT_FULL when a byte is waiting and NEED_INPUT when input is. */
static void test_no_output_room(void **state) {
    (void)state;
    static const uint8_t hello[] = { 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    static const uint8_t empty_then_stored[] = { 0x00, 0x00, 0x00, 0xff, 0xff, 0x01,
                                                 0x01, 0x00, 0xfe, 0xff, 'x' };
    ws_inflate *z = new_inflate(15);
    uint8_t out[8];
    size_t used, got;
    assert_int_equal(ws_inflate_feed(z, hello, sizeof(hello), &used, out, 0, &got),
                     WS_INFLATE_OUTPUT_FULL);
    assert_int_equal(got, 0);
    assert_true(used < sizeof(hello));
    size_t first = used;
    assert_int_equal(ws_inflate_feed(z, hello + first, sizeof(hello) - first, &used, out, 8, &got),
                     WS_INFLATE_END);
    assert_int_equal(got, 5);
    assert_memory_equal(out, "Hello", 5);
    free(z);

    /* An empty stored block needs no room at all; the next one's byte does. */
    z = new_inflate(15);
    assert_int_equal(ws_inflate_feed(z, empty_then_stored, 5, &used, NULL, 0, &got),
                     WS_INFLATE_NEED_INPUT);
    assert_int_equal(used, 5);
    assert_true(ws_inflate_at_block_boundary(z));
    assert_int_equal(ws_inflate_feed(z, empty_then_stored + 5, 6, &used, NULL, 0, &got),
                     WS_INFLATE_OUTPUT_FULL);
    assert_int_equal(used, 5);
    assert_int_equal(ws_inflate_feed(z, empty_then_stored + 10, 1, &used, out, 1, &got),
                     WS_INFLATE_END);
    assert_int_equal(got, 1);
    assert_int_equal(out[0], 'x');
    free(z);
}

/* After an error the decoder refuses to go on, but a fresh stream
 * (ws_inflate_reset(z, 0)) decodes as if it were new: the server's shared
 * decompressor serves the next connection after one sent garbage. Each
 * error kind leaves a different partial state behind (a dynamic header
 * half read, a stored length, a distance), so each is tried. */
static void test_fresh_stream_after_error(void **state) {
    (void)state;
    static const uint8_t hello[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
                                     0x00, 0x00, 0x00, 0xff, 0xff };
    static const struct {
        const char *what;
        uint8_t bytes[8];
        size_t len;
    } bad[] = {
        { "reserved block type", { 0x07, 0x00 }, 2 },
        { "stored length mismatch", { 0x00, 0x05, 0x00, 0x05, 0x00 }, 5 },
        { "distance beyond the output", { 0x03, 0x02 }, 2 },
        { "dynamic header, HLIT too large", { 0xfc, 0xff }, 2 },
    };
    ws_inflate *z = new_inflate(15);
    uint8_t out[16];
    size_t used, got;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ws_inflate_reset(z, 0);
        int rc = ws_inflate_feed(z, bad[i].bytes, bad[i].len, &used, out, sizeof(out), &got);
        if (rc >= 0) fail_msg("%s: accepted (%d)", bad[i].what, rc);
        /* Fed again, the same error. */
        assert_int_equal(ws_inflate_feed(z, hello, sizeof(hello), &used, out, sizeof(out), &got),
                         rc);
        ws_inflate_reset(z, 0);
        rc = ws_inflate_feed(z, hello, sizeof(hello), &used, out, sizeof(out), &got);
        assert_int_equal(rc, WS_INFLATE_NEED_INPUT);
        assert_int_equal(used, sizeof(hello));
        assert_int_equal(got, 5);
        assert_memory_equal(out, "Hello", 5);
    }
    free(z);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7692_hello),
        cmocka_unit_test(test_rfc7692_context_takeover),
        cmocka_unit_test(test_rfc7692_stored),
        cmocka_unit_test(test_rfc7692_bfinal),
        cmocka_unit_test(test_rfc7692_two_blocks),
        cmocka_unit_test(test_stored_blocks),
        cmocka_unit_test(test_fixed_block),
        cmocka_unit_test(test_dynamic_blocks),
        cmocka_unit_test(test_every_length_and_distance),
        cmocka_unit_test(test_window_limits),
        cmocka_unit_test(test_distance_beyond_output),
        cmocka_unit_test(test_reset_after_end),
        cmocka_unit_test(test_error_block_type_and_stored),
        cmocka_unit_test(test_error_header_counts),
        cmocka_unit_test(test_error_code_length_code),
        cmocka_unit_test(test_error_literal_codes),
        cmocka_unit_test(test_error_distance_codes),
        cmocka_unit_test(test_error_repeats),
        cmocka_unit_test(test_one_code_and_no_code),
        cmocka_unit_test(test_error_reserved_symbols),
        cmocka_unit_test(test_zlib_differential),
        cmocka_unit_test(test_zlib_messages),
        cmocka_unit_test(test_size_and_init),
        cmocka_unit_test(test_no_output_room),
        cmocka_unit_test(test_fresh_stream_after_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * zcodec.c -- permessage-deflate's data (RFC 7692 §7.2) through zlib.
 *
 * zlib, not the server's own DEFLATE (src/deflate.c, src/inflate.c): two
 * independent implementations check each other, as the driver's own SHA-1
 * and UTF-8 check the server's.
 *
 * Sending (§7.2.1): the message's bytes go through a raw DEFLATE stream
 * (no zlib header, windowBits negative) ending with a sync flush, which
 * closes the last block and adds an empty stored block, 00 00 ff ff on the
 * wire; those four bytes are removed. An empty message is the single byte
 * 00 (§7.2.3.6). With client_no_context_takeover the compressor is reset
 * before each message; otherwise its window carries over (§7.2.3.2).
 *
 * Receiving (§7.2.2): the payloads of a compressed message's frames are
 * one stream; after the last one, 00 00 ff ff is appended, and the stream
 * must then stand between two blocks. A final block (BFINAL, §7.2.3.5)
 * also ends it: whatever follows is not part of the stream. The inflater
 * is reset per message when server_no_context_takeover was agreed.
 *
 * The window. The server may reach back at most 2^server_bits bytes. zlib
 * inflates with exactly that window, but it also lets a distance reach into
 * the output of the current inflate() call beyond the window; a distance
 * is checked against the window alone only when a call starts with the
 * match. So with a window under 2^15 (above it no DEFLATE distance can go)
 * the driver inflates one output byte per call: slow, and exact.
 *
 * The other way, zlib refuses a raw window of 2^8 for compressing: with a
 * client window of 8 bits we compress with 9, whose matches reach back at
 * most 2^9 - 262 = 250 bytes (zlib keeps MIN_LOOKAHEAD free), inside 256.
 */
#define ZLIB_CONST
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct cf_pmd {
    struct cf_pmd_params agreed;
    enum cf_zstyle style;
    bool def_ready, inf_ready;
    bool inf_ended;     /* the last message ended with a final block */
    uint64_t inf_total; /* bytes inflated of the current message */
    int inf_dtype;      /* zlib's data_type after the last call that
                         * took input or gave output */
    z_stream def, inf;
};

static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff };

struct cf_pmd *cf_pmd_new(const struct cf_pmd_params *agreed, enum cf_zstyle style) {
    struct cf_pmd *z = calloc(1, sizeof *z);
    if (!z) abort();
    z->agreed = *agreed;
    z->style = style;
    return z;
}

void cf_pmd_free(struct cf_pmd *z) {
    if (!z) return;
    if (z->def_ready) deflateEnd(&z->def);
    if (z->inf_ready) inflateEnd(&z->inf);
    free(z);
}

const struct cf_pmd_params *cf_pmd_params(const struct cf_pmd *z) { return &z->agreed; }

/* ---- sending ---------------------------------------------------------------- */

static void deflate_start(struct cf_pmd *z) {
    int level = 6, strategy = Z_DEFAULT_STRATEGY;
    switch (z->style) {
    case CF_Z_FAST: level = 1; break;
    case CF_Z_BEST: level = 9; break;
    case CF_Z_STORED: level = 0; break;
    case CF_Z_FIXED:
        level = 1;
        strategy = Z_FIXED;
        break;
    case CF_Z_HUFFMAN: strategy = Z_HUFFMAN_ONLY; break;
    case CF_Z_RLE: strategy = Z_RLE; break;
    default: break;
    }
    int bits = z->agreed.client_bits < 9 ? 9 : (int)z->agreed.client_bits;
    if (deflateInit2(&z->def, level, Z_DEFLATED, -bits, 8, strategy) != Z_OK) {
        fprintf(stderr, "conformance: zlib's deflateInit2 failed\n");
        abort();
    }
    z->def_ready = true;
}

/* Run the compressor over next_in with `flush`, appending to out. */
static void deflate_into(struct cf_pmd *z, int flush, struct cf_buf *out) {
    do {
        cf_buf_reserve(out, 16384);
        z->def.next_out = out->p + out->len;
        z->def.avail_out = (uInt)(out->cap - out->len > 1u << 30 ? 1u << 30 : out->cap - out->len);
        uInt before = z->def.avail_out;
        int rc = deflate(&z->def, flush);
        out->len += before - z->def.avail_out;
        if (rc == Z_STREAM_ERROR) {
            fprintf(stderr, "conformance: zlib's deflate failed\n");
            abort();
        }
    } while (z->def.avail_in > 0 || z->def.avail_out == 0);
}

void cf_pmd_compress(struct cf_pmd *z, const uint8_t *data, int pat, uint64_t pat_off, uint64_t n,
                     uint64_t flush_every, struct cf_buf *out) {
    if (n == 0) {
        /* §7.2.3.6: with 00 00 ff ff appended, an empty stored block. */
        static const uint8_t empty = 0x00;
        cf_buf_put(out, &empty, 1);
        return;
    }
    if (!z->def_ready)
        deflate_start(z);
    else if (z->agreed.client_no_context_takeover)
        deflateReset(&z->def);
    size_t start = out->len;
    uint8_t chunk[16384];
    for (uint64_t off = 0; off < n;) {
        uint64_t k = n - off < sizeof chunk ? n - off : sizeof chunk;
        if (flush_every && k > flush_every - off % flush_every) k = flush_every - off % flush_every;
        if (data) {
            z->def.next_in = data + off;
        } else {
            cf_pattern(pat, pat_off + off, chunk, (size_t)k);
            z->def.next_in = chunk;
        }
        z->def.avail_in = (uInt)k;
        off += k;
        bool flush = off == n || (flush_every && off % flush_every == 0);
        deflate_into(z, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH, out);
    }
    if (out->len - start < 4 || memcmp(out->p + out->len - 4, tail, 4) != 0) {
        fprintf(stderr, "conformance: zlib's sync flush did not end with 00 00 ff ff\n");
        abort();
    }
    out->len -= 4;
}

/* ---- receiving --------------------------------------------------------------- */

void cf_pmd_inflate_begin(struct cf_pmd *z) {
    if (!z->inf_ready) {
        if (inflateInit2(&z->inf, -(int)z->agreed.server_bits) != Z_OK) {
            fprintf(stderr, "conformance: zlib's inflateInit2 failed\n");
            abort();
        }
        z->inf_ready = true;
    } else if (z->agreed.server_no_context_takeover) {
        inflateReset(&z->inf);
    } else if (z->inf_ended) {
        /* After a final block a new stream starts, but with context
         * takeover the window is still the history it may refer to. */
        uInt len = 0;
        uint8_t *dict = malloc(32768);
        if (!dict) abort();
        inflateGetDictionary(&z->inf, dict, &len);
        inflateReset(&z->inf);
        inflateSetDictionary(&z->inf, dict, len);
        free(dict);
    }
    z->inf_ended = false;
    z->inf_total = 0;
}

/* Inflate in[0..n) as far as it goes, passing the output to sink. */
static int inflate_run(struct cf_ctx *t, struct cf_pmd *z, const uint8_t *in, size_t n,
                       cf_sink_fn sink, void *arg) {
    uint8_t buf[16384];
    size_t fill = 0;
    bool exact = z->agreed.server_bits < 15;
    if (z->inf_ended) return 0; /* §7.2.3.5: not part of the stream */
    z->inf.next_in = in;
    z->inf.avail_in = (uInt)n;
    for (;;) {
        size_t room = exact ? 1 : sizeof buf - fill;
        z->inf.next_out = buf + fill;
        z->inf.avail_out = (uInt)room;
        uInt avail_in = z->inf.avail_in;
        int rc = inflate(&z->inf, Z_SYNC_FLUSH);
        size_t got = room - z->inf.avail_out;
        /* A call that does nothing may still change data_type (inflate()
         * turns "between blocks" into "reading a block header" on entry),
         * so only a call that did something says where the stream is. */
        if (got || z->inf.avail_in != avail_in) z->inf_dtype = z->inf.data_type;
        fill += got;
        z->inf_total += got;
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
            return cf_fail(t,
                           "the server's compressed message does not inflate with its "
                           "%u-bit window (RFC 7692 §7.2.2): zlib: \"%s\" after %llu bytes",
                           z->agreed.server_bits, z->inf.msg ? z->inf.msg : "error",
                           (unsigned long long)z->inf_total);
        /* Done: a final block, no progress possible, or (a call with room
         * to spare) all input taken and all output given. */
        bool done = rc == Z_STREAM_END || rc == Z_BUF_ERROR ||
                    (!exact && z->inf.avail_in == 0 && z->inf.avail_out > 0);
        if (fill && (done || fill == sizeof buf)) {
            if (sink(t, arg, buf, fill) < 0) return -1;
            fill = 0;
        }
        if (rc == Z_STREAM_END) z->inf_ended = true;
        if (done) return 0;
    }
}

int cf_pmd_inflate(struct cf_ctx *t, struct cf_pmd *z, const uint8_t *in, size_t n, bool last,
                   cf_sink_fn sink, void *arg) {
    if (inflate_run(t, z, in, n, sink, arg) < 0) return -1;
    if (!last) return 0;
    if (inflate_run(t, z, tail, 4, sink, arg) < 0) return -1;
    /* zlib's data_type has 128 when it stopped where a block header would
     * begin: between blocks. */
    if (!z->inf_ended && !(z->inf_dtype & 128))
        return cf_fail(t,
                       "the server's compressed message does not end between DEFLATE blocks "
                       "once 00 00 ff ff is appended (RFC 7692 §7.2.1): its stream was cut "
                       "(%llu bytes inflated)",
                       (unsigned long long)z->inf_total);
    return 0;
}

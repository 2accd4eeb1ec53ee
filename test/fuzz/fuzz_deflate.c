/*
 * fuzz_deflate.c -- libFuzzer target for the DEFLATE encoder.
 *
 * Input: five parameter bytes, then the data.
 *   byte 0  level (b % 10)
 *   byte 1  bits 0-2: window 8 + b; bit 3: no context takeover (the
 *           encoder is reset after every message); bits 4-7: k > 0 makes
 *           the data k * 3 KiB long, by repeating it with small changes
 *           (long matches, stored runs, and slides of the window: up to
 *           45 KiB, more than the 32 KiB buffer of window 14; the data
 *           itself is capped by -max_len)
 *   byte 2  how each step's input is cut into calls (fuzz_common.h)
 *   byte 3  the output buffer of those calls: 1, 2, 3, 7, 16, 100, 4096 or
 *           65536 bytes (low 3 bits)
 *   byte 4  seeds the plan: the data is fed in steps, each some bytes with
 *           a flush mode (none, sync, message end); the last step ends a
 *           message
 *
 * Checks, for every input:
 *   - the plan run in one call per step and the plan run cut into pieces,
 *     with the small output buffer, give the same bytes (streaming
 *     invariance), and OUTPUT_FULL comes only with a full buffer;
 *   - a message (or up to a sync flush) on a flushed stream costs at most
 *     ws_deflate_bound() of its bytes (+ 4 for the sync flush's 00 00 ff
 *     ff); a one-step message is written in one call into exactly that;
 *   - zlib's raw inflate at the stream's window (9 for 8, as zlib has it)
 *     gives back every byte at every flush, continuing across messages,
 *     or fresh for each message without context takeover;
 *   - deflate_check.h decodes the same, and sees no distance beyond
 *     2^window (exactly, window 8 included), none reaching into an earlier
 *     message without context takeover, complete codes, no BFINAL;
 *   - our own decoder (inflate.c), at the same window, decodes the same,
 *     ending each flush at a block boundary.
 */
#include <string.h>
#include <zlib.h>

#include "../support/deflate_check.h"
#include "deflate.h"
#include "fuzz_common.h"
#include "inflate.h"

#define MAX_STEPS   64
#define EXPAND_UNIT 3072

struct step {
    size_t off, n;
    int flush;
};

static uint32_t xs(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Cut data into steps, from the plan seed. */
static size_t plan(uint8_t seed, size_t len, struct step *st) {
    uint32_t x = 0x2545f491u ^ (uint32_t)seed * 0x9e3779b1u ^ (uint32_t)len;
    size_t off = 0, n = 0;
    if (x == 0) x = 1;
    while (n < MAX_STEPS) {
        uint32_t r = xs(&x);
        size_t left = len - off, k;
        switch (r % 5) {
        case 0: k = 0; break;
        case 1: k = 1 + (r >> 8) % 16; break;
        case 2: k = 1 + (r >> 8) % 1000; break;
        case 3: k = 1 + (r >> 8) % 20000; break;
        default: k = left; break;
        }
        if (k > left || n == MAX_STEPS - 1) k = left;
        uint32_t f = (r >> 4) % 8;
        st[n].off = off;
        st[n].n = k;
        st[n].flush = f < 4   ? WS_DEFLATE_NO_FLUSH
                      : f < 5 ? WS_DEFLATE_SYNC_FLUSH
                              : WS_DEFLATE_MESSAGE_END;
        off += k;
        n++;
        if (off == len) break;
    }
    st[n - 1].flush = WS_DEFLATE_MESSAGE_END;
    return n;
}

static ws_deflate *encoder(unsigned wb, int level) {
    size_t size = ws_deflate_size(wb, level);
    FUZZ_CHECK(size > 0);
    void *mem = malloc(size);
    FUZZ_CHECK(mem != NULL);
    ws_deflate *d = ws_deflate_init(mem, size, wb, level);
    FUZZ_CHECK(d == mem);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    int level = data[0] % 10;
    unsigned wb = 8 + (data[1] & 7);
    int reset = (data[1] >> 3) & 1;
    size_t expand = (size_t)(data[1] >> 4) * EXPAND_UNIT;
    static const size_t out_sizes[8] = { 1, 2, 3, 7, 16, 100, 4096, 65536 };
    size_t out_cap = out_sizes[data[3] & 7];
    const uint8_t *payload = data + 5;
    size_t plen = size - 5;

    /* The data: the payload, or the payload over and over (each copy with
     * one byte changed) up to the expanded length. */
    size_t len = plen;
    uint8_t *in;
    if (expand > 0 && plen > 0) {
        len = expand;
        in = malloc(len);
        FUZZ_CHECK(in != NULL);
        for (size_t i = 0; i < len; i++) in[i] = payload[i % plen];
        for (size_t copy = 1; copy * plen < len; copy++) {
            size_t at = copy * plen + copy % plen;
            if (at < len) in[at] ^= (uint8_t)copy;
        }
    } else {
        in = malloc(len ? len : 1);
        FUZZ_CHECK(in != NULL);
        if (len) memcpy(in, payload, len);
    }

    struct step st[MAX_STEPS];
    size_t nst = plan(data[4], len, st);

    ws_deflate *a = encoder(wb, level), *b = encoder(wb, level);
    size_t big = ws_deflate_bound(len) + 5 * MAX_STEPS + 16;
    uint8_t *ref = malloc(big), *cut = malloc(big), *obuf = malloc(out_cap);
    FUZZ_CHECK(ref && cut && obuf);
    size_t ref_len = 0, cut_len = 0;

    z_stream z;
    memset(&z, 0, sizeof(z));
    FUZZ_CHECK(inflateInit2(&z, -(int)(wb < 9 ? 9 : wb)) == Z_OK);
    uint8_t *back = malloc(len + 64), *zin = malloc(big + 4);
    FUZZ_CHECK(back && zin);
    struct dc_check ck;
    memset(&ck, 0, sizeof(ck));
    ck.no_takeover = reset;
    size_t isize = ws_inflate_size(wb);
    void *imem = malloc(isize);
    FUZZ_CHECK(imem != NULL);
    ws_inflate *zi = ws_inflate_init(imem, isize, wb);
    FUZZ_CHECK(zi != NULL);

    size_t flushed_out = 0; /* ref bytes up to the last flush */
    size_t flushed_in = 0;  /* input bytes up to the last flush */
    size_t msg_in = 0;      /* input bytes where the current message began */
    for (size_t i = 0; i < nst; i++) {
        const uint8_t *p = in + st[i].off;
        size_t n = st[i].n, used, olen;
        int rc;

        /* Reference: one call, all the room it can want. On a flushed
         * stream a flushing step must fit its bound, in one call. */
        int fresh = st[i].off == flushed_in; /* nothing pending since the last flush */
        size_t cap = big - ref_len;
        if (fresh && st[i].flush == WS_DEFLATE_MESSAGE_END) cap = ws_deflate_bound(n);
        if (fresh && st[i].flush == WS_DEFLATE_SYNC_FLUSH) cap = ws_deflate_bound(n) + 4;
        FUZZ_CHECK(ref_len + cap <= big);
        rc = ws_deflate_feed(a, n ? p : NULL, n, &used, ref + ref_len, cap, &olen, st[i].flush);
        if (st[i].flush != WS_DEFLATE_NO_FLUSH || rc != WS_DEFLATE_OUTPUT_FULL) {
            FUZZ_CHECK(rc == WS_DEFLATE_NEED_INPUT);
            FUZZ_CHECK(used == n);
        }
        ref_len += olen;
        while (used < n || rc == WS_DEFLATE_OUTPUT_FULL) { /* NO_FLUSH with a full buffer */
            size_t more;
            rc = ws_deflate_feed(a, p + used, n - used, &more, ref + ref_len, big - ref_len, &olen,
                                 st[i].flush);
            FUZZ_CHECK(rc >= 0);
            used += more;
            ref_len += olen;
        }

        /* The same step cut into pieces, through the small buffer. */
        fuzz_cutter cutter;
        fuzz_cutter_init(&cutter, data[2], n);
        size_t done = 0;
        do {
            size_t k = n - done ? fuzz_cutter_next(&cutter, n - done) : 0;
            int last = done + k == n;
            int flush = last ? st[i].flush : WS_DEFLATE_NO_FLUSH;
            uint8_t *piece = malloc(k ? k : 1); /* exact size: ASan sees over-reads */
            FUZZ_CHECK(piece != NULL);
            if (k) memcpy(piece, p + done, k);
            size_t pos = 0;
            for (;;) {
                rc = ws_deflate_feed(b, k ? piece + pos : NULL, k - pos, &used, obuf, out_cap,
                                     &olen, flush);
                FUZZ_CHECK(rc == WS_DEFLATE_NEED_INPUT || rc == WS_DEFLATE_OUTPUT_FULL);
                FUZZ_CHECK(cut_len + olen <= big);
                memcpy(cut + cut_len, obuf, olen);
                cut_len += olen;
                pos += used;
                if (rc == WS_DEFLATE_NEED_INPUT) break;
                FUZZ_CHECK(olen == out_cap);
            }
            FUZZ_CHECK(pos == k);
            free(piece);
            done += k;
        } while (done < n);
        FUZZ_CHECK(cut_len == ref_len);
        FUZZ_CHECK(memcmp(cut, ref, ref_len) == 0);

        if (st[i].flush == WS_DEFLATE_NO_FLUSH) continue;

        /* A flush: everything so far must decode. */
        size_t in_now = st[i].off + n, clen = ref_len - flushed_out;
        if (st[i].flush == WS_DEFLATE_MESSAGE_END)
            FUZZ_CHECK(clen <= ws_deflate_bound(in_now - flushed_in));
        else
            FUZZ_CHECK(clen <= ws_deflate_bound(in_now - flushed_in) + 4);
        memcpy(zin, ref + flushed_out, clen);
        size_t zlen = clen;
        if (st[i].flush == WS_DEFLATE_MESSAGE_END) {
            memcpy(zin + clen, dc_tail, 4);
            zlen += 4;
        } else {
            FUZZ_CHECK(clen >= 4 && memcmp(zin + clen - 4, dc_tail, 4) == 0);
        }
        z.next_in = zin;
        z.avail_in = (uInt)zlen;
        z.next_out = back;
        z.avail_out = (uInt)(len + 64);
        int zr = inflate(&z, Z_SYNC_FLUSH);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            fprintf(stderr, "zlib: %d %s\n", zr, z.msg ? z.msg : "");
            FUZZ_CHECK(0);
        }
        FUZZ_CHECK(z.avail_in == 0);
        FUZZ_CHECK(len + 64 - z.avail_out == in_now - flushed_in);
        FUZZ_CHECK(memcmp(back, in + flushed_in, in_now - flushed_in) == 0);

        size_t before = ck.out_len;
        ck.msg_start = msg_in;
        dc_message(&ck, ref + flushed_out, st[i].flush == WS_DEFLATE_SYNC_FLUSH ? clen - 4 : clen);
        if (ck.err) {
            fprintf(stderr, "deflate_check: %s\n", ck.why);
            FUZZ_CHECK(0);
        }
        FUZZ_CHECK(ck.max_dist <= ((size_t)1 << wb));
        FUZZ_CHECK(ck.out_len - before == in_now - flushed_in);
        if (in_now > flushed_in) /* (ck.out is NULL until something is decoded) */
            FUZZ_CHECK(memcmp(ck.out + before, in + flushed_in, in_now - flushed_in) == 0);
        if (level == 0) FUZZ_CHECK(ck.fixed == 0 && ck.dynamic == 0);

        /* Our decoder, the same bytes (zin holds them, with 00 00 ff ff). */
        size_t iused = 0, iolen = 0;
        int ir = ws_inflate_feed(zi, zin, zlen, &iused, back, len + 64, &iolen);
        FUZZ_CHECK(ir == WS_INFLATE_NEED_INPUT);
        FUZZ_CHECK(iused == zlen);
        FUZZ_CHECK(ws_inflate_at_block_boundary(zi));
        FUZZ_CHECK(iolen == in_now - flushed_in);
        if (iolen > 0) FUZZ_CHECK(memcmp(back, in + flushed_in, iolen) == 0);

        flushed_out = ref_len;
        flushed_in = in_now;
        if (st[i].flush == WS_DEFLATE_MESSAGE_END) {
            msg_in = in_now;
            if (reset) {
                ws_deflate_reset(a);
                ws_deflate_reset(b);
                FUZZ_CHECK(inflateReset(&z) == Z_OK);
                ws_inflate_reset(zi, 0);
            }
        }
    }
    FUZZ_CHECK(flushed_in == len);

    inflateEnd(&z);
    free(imem);
    dc_free(&ck);
    free(back);
    free(zin);
    free(ref);
    free(cut);
    free(obuf);
    free(a);
    free(b);
    free(in);
    return 0;
}

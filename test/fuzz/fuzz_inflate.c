/*
 * fuzz_inflate.c -- differential libFuzzer target for the DEFLATE decoder.
 *
 * Input: byte 0 chooses how the stream is cut into calls, byte 1 the sizes
 * of the output buffers offered (both as in fuzz_common.h), byte 2 a window
 * size (low 3 bits: 2^(8 + n)) and whether a stream that follows the end
 * of the first keeps its history (bit 3: RFC 7692 context takeover); the
 * rest is raw DEFLATE (RFC 1951), decoded with at most OUT_CAP bytes of
 * output so that a bomb cannot eat memory.
 *
 * The decoder runs on it three ways:
 *   A  in one piece, window 2^15, into one big buffer;
 *   B  cut into pieces, into output buffers of the chosen sizes (each
 *      piece and each buffer ends where its allocation ends, so ASan sees
 *      any read or write past it), window 2^15: everything about the run
 *      -- bytes out, result, bytes taken -- must be A's;
 *   C  in one piece with the chosen window: A's run, unless it refuses a
 *      distance beyond the window (then its output is a prefix of A's).
 * and A is compared with zlib's raw inflate (window 2^15):
 *   - zlib reaches the end  <=> A does, with the same bytes and bytes taken;
 *   - zlib refuses          =>  A refuses, with the same bytes out;
 *   - zlib wants more input =>  A too, with the same bytes out; or A has
 *     refused already (it checks code lengths as they come, zlib once they
 *     are all in: inflate.c): then zlib must refuse the input followed by
 *     a kilobyte of 00 bytes, and followed by a kilobyte of ff bytes.
 * There is no deliberate difference at window 2^15 (zlib enforces no
 * window limit below that, hence C's rule). After the end of a stream,
 * what follows is decoded as further streams (ws_inflate_reset(), and for
 * zlib a new inflate given the history as a dictionary when it is kept),
 * with the same rules.
 */
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "fuzz_common.h"
#include "inflate.h"

#define OUT_CAP     (1u << 20)  /* output limit per stream */
#define SMALL_CAP   (64u << 10) /* ... when output comes a few bytes per call */
#define MAX_STREAMS 4

/* Results beside the decoder's own (errors are negative). */
enum { TRUNCATED = 100 /* stopped at the output limit */ };

struct run {
    int rc; /* WS_INFLATE_END, _NEED_INPUT, TRUNCATED or an error */
    size_t out_len;
    size_t consumed;
};

static uint8_t *out_a, *out_b, *out_c, *out_z, *dict;
static void *mem15, *mem_w;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    out_a = malloc(OUT_CAP);
    out_b = malloc(OUT_CAP);
    out_c = malloc(OUT_CAP);
    out_z = malloc(OUT_CAP);
    dict = malloc(1u << 15);
    mem15 = malloc(ws_inflate_size(15));
    mem_w = malloc(ws_inflate_size(15));
    FUZZ_CHECK(out_a && out_b && out_c && out_z && dict && mem15 && mem_w);
    return 0;
}

/* Decode in[0..len) with z, cut by icut (NULL: one piece) into output
 * buffers sized by ocut (NULL: all the room left), up to cap bytes in out. */
static void run_ours(ws_inflate *z, const uint8_t *in, size_t len, fuzz_cutter *icut,
                     fuzz_cutter *ocut, uint8_t *out, size_t cap, struct run *r) {
    /* Each piece sits at the end of a buffer of exactly its size, each
     * output buffer at the end of one of exactly the size offered. */
    uint8_t *piece = malloc(len ? len : 1);
    uint8_t *obuf = ocut ? malloc(ocut->max_piece < cap ? ocut->max_piece : cap) : NULL;
    size_t obuf_size = ocut ? (ocut->max_piece < cap ? ocut->max_piece : cap) : 0;
    size_t off = 0;
    FUZZ_CHECK(piece != NULL && (ocut == NULL || obuf != NULL));

    r->rc = WS_INFLATE_NEED_INPUT;
    r->out_len = 0;
    r->consumed = 0;
    do {
        size_t k = len - off;
        if (icut && k > 0) k = fuzz_cutter_next(icut, k);
        uint8_t *p = piece + (len ? len : 1) - k;
        memcpy(p, in + off, k);
        size_t poff = 0;
        for (;;) {
            /* At the limit the decoder is still fed, with no room: it may
             * have output-less things to do (end a block, end the stream,
             * find an error), as zlib does. */
            size_t room = cap - r->out_len, oc = room;
            if (ocut && room > 0) oc = fuzz_cutter_next(ocut, room < obuf_size ? room : obuf_size);
            uint8_t *o = ocut ? obuf + obuf_size - oc : out + r->out_len;
            size_t used = (size_t)-1, got = (size_t)-1;
            int rc = ws_inflate_feed(z, p + poff, k - poff, &used, o, oc, &got);
            FUZZ_CHECK(used <= k - poff && got <= oc);
            if (ocut) memcpy(out + r->out_len, o, got);
            r->out_len += got; /* (an error's call may write before the error) */
            if (rc < 0) {
                r->rc = rc;
                goto done;
            }
            FUZZ_CHECK(rc == WS_INFLATE_NEED_INPUT || rc == WS_INFLATE_OUTPUT_FULL ||
                       rc == WS_INFLATE_END);
            r->consumed += used;
            poff += used;
            if (rc == WS_INFLATE_END) {
                r->rc = rc;
                FUZZ_CHECK(ws_inflate_at_block_boundary(z));
                goto done;
            }
            if (rc == WS_INFLATE_NEED_INPUT) {
                FUZZ_CHECK(poff == k); /* all input taken */
                break;
            }
            FUZZ_CHECK(got == oc); /* OUTPUT_FULL: the buffer is full */
            if (room == 0) {
                r->rc = TRUNCATED;
                goto done;
            }
        }
        off += k;
    } while (off < len);
done:
    free(piece);
    free(obuf);
}

/* zlib's raw inflate of in[0..len) then, if given, extra[0..extra_len),
 * with the history dict[0..dict_len), into out (cap bytes). Its verdict
 * as a decoder result: END, NEED_INPUT, TRUNCATED, or -1 (refused). */
static void run_zlib(const uint8_t *in, size_t len, const uint8_t *extra, size_t extra_len,
                     size_t dict_len, uint8_t *out, size_t cap, struct run *r) {
    z_stream s;
    memset(&s, 0, sizeof(s));
    FUZZ_CHECK(inflateInit2(&s, -15) == Z_OK);
    if (dict_len > 0) FUZZ_CHECK(inflateSetDictionary(&s, dict, (uInt)dict_len) == Z_OK);
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int rc = Z_OK;
    for (int part = 0; part < 2 && rc == Z_OK; part++) {
        s.next_in = (Bytef *)(uintptr_t)(part == 0 ? in : extra);
        s.avail_in = (uInt)(part == 0 ? len : extra_len);
        do rc = inflate(&s, Z_SYNC_FLUSH);
        while (rc == Z_OK && s.avail_in > 0 && s.avail_out > 0);
        if (rc == Z_BUF_ERROR) rc = Z_OK; /* no progress possible: wants more */
    }
    FUZZ_CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_DATA_ERROR);
    r->out_len = cap - s.avail_out;
    r->consumed = (size_t)s.total_in;
    if (rc == Z_STREAM_END)
        r->rc = WS_INFLATE_END;
    else if (rc == Z_DATA_ERROR)
        r->rc = -1;
    else
        r->rc = s.avail_out == 0 ? TRUNCATED : WS_INFLATE_NEED_INPUT;
    inflateEnd(&s);
}

static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n) {
    return n == 0 || memcmp(a, b, n) == 0;
}

/* A (ours, one piece) against zlib, for one stream; rules at the top. */
static void compare_with_zlib(const uint8_t *in, size_t len, const struct run *a, size_t dict_len) {
    struct run z;
    run_zlib(in, len, NULL, 0, dict_len, out_z, OUT_CAP, &z);

    if (z.rc == TRUNCATED || a->rc == TRUNCATED) {
        /* zlib stopped at the limit: ours gave the same bytes up to it, and
         * may have gone on through output-less items. Ours stopped with
         * output pending: zlib must have stopped too. */
        FUZZ_CHECK(z.rc == TRUNCATED && a->out_len == OUT_CAP);
        FUZZ_CHECK(same_bytes(out_a, out_z, OUT_CAP));
        return;
    }
    FUZZ_CHECK(a->out_len == z.out_len && same_bytes(out_a, out_z, a->out_len));
    if (z.rc == WS_INFLATE_END || a->rc == WS_INFLATE_END) {
        FUZZ_CHECK(z.rc == WS_INFLATE_END && a->rc == WS_INFLATE_END);
        FUZZ_CHECK(a->consumed == z.consumed);
        return;
    }
    if (z.rc < 0) {
        FUZZ_CHECK(a->rc < 0);
        return;
    }
    /* zlib wants more input. */
    if (a->rc == WS_INFLATE_NEED_INPUT) return;
    FUZZ_CHECK(a->rc < 0);
    static uint8_t fill[1024];
    for (int v = 0; v < 2; v++) {
        struct run zz;
        memset(fill, v ? 0xff : 0x00, sizeof(fill));
        run_zlib(in, len, fill, sizeof(fill), dict_len, out_z, OUT_CAP, &zz);
        if (zz.rc != -1)
            fprintf(stderr, "we refused early (%s); zlib with %02x padding: %d\n",
                    ws_strerror(a->rc), fill[0], zz.rc);
        FUZZ_CHECK(zz.rc == -1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    const uint8_t *in = data + 3;
    size_t len = size - 3;
    unsigned wbits = 8 + (data[2] & 7u);
    int keep = (data[2] >> 3) & 1;

    ws_inflate *za = ws_inflate_init(mem15, ws_inflate_size(15), 15);
    FUZZ_CHECK(za != NULL);
    size_t dict_len = 0;

    for (int stream = 0; stream < MAX_STREAMS; stream++) {
        struct run a, b, c;
        run_ours(za, in, len, NULL, NULL, out_a, OUT_CAP, &a);
        compare_with_zlib(in, len, &a, dict_len);

        if (stream == 0) {
            /* B: the same, cut and squeezed. */
            fuzz_cutter icut, ocut;
            fuzz_cutter_init(&icut, data[0], len);
            fuzz_cutter_init(&ocut, data[1], len);
            size_t cap = ocut.max_piece <= 64 ? SMALL_CAP : OUT_CAP;
            ws_inflate *zb = ws_inflate_init(mem_w, ws_inflate_size(15), 15);
            run_ours(zb, in, len, &icut, &ocut, out_b, cap, &b);
            if (b.rc == TRUNCATED && cap < OUT_CAP) {
                FUZZ_CHECK(a.out_len >= cap && same_bytes(out_a, out_b, cap));
            } else {
                FUZZ_CHECK(b.rc == a.rc && b.out_len == a.out_len);
                FUZZ_CHECK(same_bytes(out_a, out_b, a.out_len));
                if (a.rc >= 0) FUZZ_CHECK(b.consumed == a.consumed);
            }

            /* C: a smaller window refuses more, nothing else. */
            if (wbits < 15) {
                ws_inflate *zc = ws_inflate_init(mem_w, ws_inflate_size(wbits), wbits);
                FUZZ_CHECK(zc != NULL);
                run_ours(zc, in, len, NULL, NULL, out_c, OUT_CAP, &c);
                if (c.rc == WS_E_INFLATE_DISTANCE) {
                    FUZZ_CHECK(c.out_len <= a.out_len && same_bytes(out_a, out_c, c.out_len));
                } else {
                    FUZZ_CHECK(c.rc == a.rc && c.out_len == a.out_len);
                    FUZZ_CHECK(same_bytes(out_a, out_c, a.out_len));
                    if (a.rc >= 0) FUZZ_CHECK(c.consumed == a.consumed);
                }
            }
        }

        /* Another stream after this one's end? */
        if (a.rc != WS_INFLATE_END || a.consumed == len) break;
        if (keep) {
            /* The history zlib must be told about: the last 2^15 bytes of
             * everything out so far (the dictionary keeps growing). */
            size_t n = a.out_len < (1u << 15) ? a.out_len : (1u << 15);
            size_t old = dict_len + n > (1u << 15) ? (1u << 15) - n : dict_len;
            memmove(dict, dict + dict_len - old, old);
            memcpy(dict + old, out_a + a.out_len - n, n);
            dict_len = old + n;
        } else {
            dict_len = 0;
        }
        ws_inflate_reset(za, keep);
        in += a.consumed;
        len -= a.consumed;
    }
    return 0;
}

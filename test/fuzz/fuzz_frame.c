/*
 * fuzz_frame.c -- libFuzzer target for the frame header parser (frame.h).
 *
 * Input: byte 0 chooses how the rest is cut into reads (fuzz_common.h);
 * the rest is parsed twice as a server would (frames must be masked) and
 * twice as a client would (frames must not be): once in one call, once in
 * the cut pieces. For each side:
 *
 *  - both runs report the same headers, at the same stream offsets, the
 *    same payload bytes and the same error;
 *  - every header the parser accepts re-encodes, with ws_frame_header() or
 *    ws_frame_header_masked(), to exactly the bytes it was parsed from --
 *    which holds only because RFC 6455 §5.2 demands the minimal length
 *    encoding, so it also checks that nothing non-minimal got through;
 *  - every payload byte equals the input byte XOR the key (§5.3);
 *  - an independent, deliberately plain reading of §5.1/§5.2/§5.5 says
 *    which byte first proves a header invalid; the parser must fail with
 *    the same error on that byte, and must not fail on a header that
 *    reading finds valid so far.
 */
#include <string.h>

#include "error.h"
#include "frame.h"
#include "fuzz_common.h"
#include "rfc6455.h"

/* The reference: is the header prefix p[0..n) already invalid? Returns
 * the error, or 0 when some continuation could still make it valid. */
static int ref_header(const uint8_t *p, size_t n, int server) {
    if (n < 1) return 0;
    uint8_t op = p[0] & 0x0f;
    int control = op >= 8;
    if (p[0] & 0x70) return WS_E_RSV;
    if (!(op <= 2 || (op >= 8 && op <= 10))) return WS_E_OPCODE;
    if (control && !(p[0] & 0x80)) return WS_E_CONTROL_FRAG;
    if (n < 2) return 0;
    int masked = (p[1] & 0x80) != 0;
    uint8_t len7 = p[1] & 0x7f;
    if (masked != server) return WS_E_UNMASKED;
    if (control && len7 > 125) return WS_E_CONTROL_LEN;
    if (len7 == 126 && n >= 4 && ((unsigned)p[2] << 8 | p[3]) < 126) return WS_E_LENGTH;
    if (len7 == 127) {
        if (n >= 3 && (p[2] & 0x80)) return WS_E_LENGTH;
        /* Six zero bytes leave at most 0xFFFF: not minimal. */
        if (n >= 8) {
            int zero = 1;
            for (int i = 2; i < 8; i++) zero &= p[i] == 0;
            if (zero) return WS_E_LENGTH;
        }
    }
    return 0;
}

struct hdr {
    uint8_t opcode, fin;
    uint64_t length;
    size_t start, end; /* stream offsets of the header bytes */
    size_t pay_off;    /* where its payload starts in log.payload */
    uint64_t got;      /* payload bytes reported */
};

struct flog {
    struct hdr *h;
    size_t nh;
    uint8_t *payload;
    size_t plen;
    int err;
    size_t err_lo, err_hi; /* the error came in stream bytes [err_lo, err_hi) */
    size_t frame_start;    /* where the frame being parsed began */
};

/* Parse buf (writable, unmasked in place) in pieces from cut, or in one
 * call when cut is NULL; log has room for len headers and len bytes. */
static void run(uint8_t *buf, size_t len, int server, fuzz_cutter *cut, struct flog *log) {
    ws_frame_parser p;
    size_t off = 0;

    log->nh = log->plen = 0;
    log->err = 0;
    log->frame_start = 0;
    ws_frame_parser_init(&p, server);
    while (off < len) {
        size_t piece_end = off + (cut ? fuzz_cutter_next(cut, len - off) : len - off);
        size_t piece_start = off;
        while (off < piece_end) {
            ws_frame_event ev;
            long r = ws_frame_feed(&p, buf + off, piece_end - off, &ev);
            if (r < 0) {
                log->err = (int)r;
                log->err_lo = piece_start;
                log->err_hi = piece_end;
                return;
            }
            FUZZ_CHECK(r > 0 && (size_t)r <= piece_end - off);
            if (ev.type == WS_FRAME_EV_HEADER) {
                struct hdr *h = &log->h[log->nh++];
                FUZZ_CHECK(log->nh == 1 || log->h[log->nh - 2].got == log->h[log->nh - 2].length);
                h->opcode = ev.opcode;
                h->fin = ev.fin;
                h->length = ev.length;
                h->start = log->frame_start;
                h->end = off + (size_t)r - ev.len; /* the header's end */
                h->pay_off = log->plen;
                /* The payload that came with the header ends the call's
                 * bytes. */
                FUZZ_CHECK(ev.data + ev.len == buf + off + r && ev.len < (size_t)r);
                memcpy(log->payload + log->plen, ev.data, ev.len);
                log->plen += ev.len;
                h->got = ev.len;
                FUZZ_CHECK(h->got <= h->length);
                FUZZ_CHECK(ev.last == (h->got == h->length));
                if (ev.last) log->frame_start = off + (size_t)r;
            } else if (ev.type == WS_FRAME_EV_PAYLOAD) {
                FUZZ_CHECK(log->nh > 0);
                struct hdr *h = &log->h[log->nh - 1];
                FUZZ_CHECK(ev.data == buf + off && ev.len == (size_t)r);
                memcpy(log->payload + log->plen, ev.data, ev.len);
                log->plen += ev.len;
                h->got += ev.len;
                FUZZ_CHECK(h->got <= h->length);
                FUZZ_CHECK(ev.last == (h->got == h->length));
                if (ev.last) log->frame_start = off + (size_t)r;
            } else {
                FUZZ_CHECK(ev.type == WS_FRAME_EV_NONE);
                FUZZ_CHECK((size_t)r == piece_end - off);
            }
            off += (size_t)r;
        }
    }
}

static void check_side(const uint8_t *in, size_t len, int server, uint8_t cut_seed,
                       struct flog *whole, struct flog *split, uint8_t *work) {
    fuzz_cutter cut;

    memcpy(work, in, len);
    run(work, len, server, NULL, whole);
    memcpy(work, in, len);
    fuzz_cutter_init(&cut, cut_seed, len);
    run(work, len, server, &cut, split);

    /* The two runs agree. */
    FUZZ_CHECK(whole->err == split->err);
    FUZZ_CHECK(whole->nh == split->nh);
    FUZZ_CHECK(whole->plen == split->plen);
    FUZZ_CHECK(memcmp(whole->payload, split->payload, whole->plen) == 0);
    for (size_t i = 0; i < whole->nh; i++) {
        const struct hdr *a = &whole->h[i], *b = &split->h[i];
        FUZZ_CHECK(a->opcode == b->opcode && a->fin == b->fin && a->length == b->length);
        FUZZ_CHECK(a->start == b->start && a->end == b->end && a->got == b->got);
    }

    /* Each header re-encodes to its own bytes; each payload byte is the
     * input byte unmasked. */
    for (size_t i = 0; i < whole->nh; i++) {
        const struct hdr *h = &whole->h[i];
        const uint8_t *hb = in + h->start;
        size_t hl = h->end - h->start;
        uint8_t enc[WS_MAX_HEADER_LEN];
        size_t n = server ? ws_frame_header_masked(enc, h->fin, h->opcode, h->length, hb + hl - 4)
                          : ws_frame_header(enc, h->fin, h->opcode, h->length);
        FUZZ_CHECK(n == hl && memcmp(enc, hb, hl) == 0);
        FUZZ_CHECK(ref_header(hb, hl, server) == 0);
        for (uint64_t j = 0; j < h->got; j++) {
            uint8_t key = server ? hb[hl - 4 + j % 4] : 0;
            FUZZ_CHECK(whole->payload[h->pay_off + j] == (in[h->end + j] ^ key));
        }
    }

    /* Where it stopped: the reference agrees on the error and its byte. */
    const uint8_t *rest = in + whole->frame_start;
    size_t rest_len = len - whole->frame_start;
    size_t look = rest_len < WS_MAX_HEADER_LEN ? rest_len : WS_MAX_HEADER_LEN;
    if (whole->err != 0) {
        size_t n = 1;
        while (n <= look && ref_header(rest, n, server) == 0) n++;
        FUZZ_CHECK(n <= look);
        FUZZ_CHECK(ref_header(rest, n, server) == whole->err);
        size_t bad_at = whole->frame_start + n - 1;
        FUZZ_CHECK(split->err_lo <= bad_at && bad_at < split->err_hi);
    } else if (whole->nh == 0 || whole->h[whole->nh - 1].got == whole->h[whole->nh - 1].length) {
        /* Stopped between frames or inside a header that is fine so far. */
        FUZZ_CHECK(ref_header(rest, look, server) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    /* At most one header per two bytes, at most len payload bytes. */
    struct flog whole = { 0 }, split = { 0 };
    whole.h = malloc((len / 2 + 1) * sizeof(struct hdr));
    split.h = malloc((len / 2 + 1) * sizeof(struct hdr));
    whole.payload = malloc(len + 1);
    split.payload = malloc(len + 1);
    uint8_t *work = malloc(len + 1);
    FUZZ_CHECK(whole.h && split.h && whole.payload && split.payload && work);

    check_side(in, len, 1, data[0], &whole, &split, work);
    check_side(in, len, 0, data[0], &whole, &split, work);

    free(whole.h);
    free(split.h);
    free(whole.payload);
    free(split.payload);
    free(work);
    return 0;
}

/*
 * fuzz_utf8.c -- differential libFuzzer target for the UTF-8 validator.
 *
 * Input: byte 0 chooses how the rest is cut into calls (fuzz_common.h);
 * the rest is the byte stream to validate.
 *
 * The reference here is built from the other direction: instead of
 * decoding, it encodes. At start-up it writes out the UTF-8 form of every
 * Unicode scalar value (U+0000..U+10FFFF minus the surrogates, RFC 3629
 * §3) and marks every proper prefix of every encoding in a table. A byte
 * stream is then valid so far exactly when it is whole encodings followed
 * by one marked prefix, and the first bad byte is the first one after
 * which the pending bytes are neither a marked prefix nor a whole
 * encoding. No knowledge of lead-byte ranges, overlongs or surrogates is
 * written down anywhere in it -- it falls out of the encoder -- so it
 * cannot share a misreading of Unicode's Table 3-7 with src/utf8.c.
 *
 * The incremental validator, fed the cut pieces, must agree with it after
 * every piece (OK / PARTIAL / INVALID) and on the exact offset of the
 * first bad byte. Any disagreement aborts.
 */
#include <string.h>

#include "fuzz_common.h"
#include "utf8.h"

/* prefix1[b]: b alone starts an encoding longer than one byte.
 * prefix2 / prefix3: bit sets over 2- and 3-byte sequences (big-endian
 * packed) that are proper prefixes of some encoding.
 * whole2 / whole3: 2- and 3-byte sequences that are whole encodings.
 * A 4-byte sequence is whole when it decodes and re-encodes to itself. */
static uint8_t prefix1[256];
static uint8_t prefix2[65536 / 8], whole2[65536 / 8];
static uint8_t *prefix3, *whole3; /* 2^24 bits each */

static void set_bit(uint8_t *set, uint32_t i) { set[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static int get_bit(const uint8_t *set, uint32_t i) { return (set[i >> 3] >> (i & 7)) & 1; }

/* RFC 3629 §3, the encoding, the plainest way. */
static size_t encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static void build_tables(void) {
    prefix3 = calloc(1, (1u << 24) / 8);
    whole3 = calloc(1, (1u << 24) / 8);
    FUZZ_CHECK(prefix3 && whole3);
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue; /* not scalar values */
        uint8_t e[4];
        size_t n = encode(cp, e);
        if (n >= 2) prefix1[e[0]] = 1;
        if (n >= 3) set_bit(prefix2, (uint32_t)e[0] << 8 | e[1]);
        if (n >= 4) set_bit(prefix3, (uint32_t)e[0] << 16 | (uint32_t)e[1] << 8 | e[2]);
        if (n == 2) set_bit(whole2, (uint32_t)e[0] << 8 | e[1]);
        if (n == 3) set_bit(whole3, (uint32_t)e[0] << 16 | (uint32_t)e[1] << 8 | e[2]);
    }
}

/* Do the 4 bytes at s encode one scalar value? Decode by the bit layout,
 * re-encode, compare: anything overlong, surrogate or too large fails. */
static int whole4(const uint8_t s[4]) {
    uint32_t cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
                  (uint32_t)(s[2] & 0x3f) << 6 | (uint32_t)(s[3] & 0x3f);
    uint8_t e[4];
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return encode(cp, e) == 4 && memcmp(e, s, 4) == 0;
}

/* The reference as a stream: feed bytes one at a time. */
struct ref {
    uint8_t pend[4];
    size_t n; /* pending bytes of an unfinished character */
    int bad;  /* a byte was invalid */
};

/* 1: pend[0..n) is a proper prefix; 2: a whole encoding; 0: neither. */
static int classify(const uint8_t *s, size_t n) {
    switch (n) {
    case 1:
        if (s[0] < 0x80) return 2;
        return prefix1[s[0]] ? 1 : 0;
    case 2: {
        uint32_t k = (uint32_t)s[0] << 8 | s[1];
        return get_bit(whole2, k) ? 2 : get_bit(prefix2, k) ? 1 : 0;
    }
    case 3: {
        uint32_t k = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
        return get_bit(whole3, k) ? 2 : get_bit(prefix3, k) ? 1 : 0;
    }
    default: return whole4(s) ? 2 : 0;
    }
}

static void ref_byte(struct ref *r, uint8_t b) {
    r->pend[r->n++] = b;
    switch (classify(r->pend, r->n)) {
    case 2: r->n = 0; break;
    case 1: break;
    default: r->bad = 1; break;
    }
}

/* libFuzzer calls this once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    build_tables();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    fuzz_cutter cut;
    fuzz_cutter_init(&cut, data[0], len);
    ws_utf8 u;
    ws_utf8_init(&u);
    struct ref r = { { 0 }, 0, 0 };
    size_t off = 0;

    /* An empty input is valid and complete. */
    FUZZ_CHECK(ws_utf8_feed(&u, in, 0, NULL) == WS_UTF8_OK);

    while (off < len) {
        size_t k = fuzz_cutter_next(&cut, len - off);
        /* Copy the piece to a buffer of its exact size, so that ASan
         * catches a read past the piece (the word-at-a-time path). */
        uint8_t *piece = malloc(k);
        FUZZ_CHECK(piece != NULL);
        memcpy(piece, in + off, k);
        size_t bad = (size_t)-1;
        int rc = ws_utf8_feed(&u, piece, k, &bad);
        free(piece);

        /* Run the reference over the same bytes, noting the first bad one. */
        size_t ref_bad = (size_t)-1;
        for (size_t i = 0; i < k && !r.bad; i++) {
            ref_byte(&r, in[off + i]);
            if (r.bad) ref_bad = i;
        }
        if (r.bad) {
            FUZZ_CHECK(rc == WS_UTF8_INVALID);
            FUZZ_CHECK(bad == ref_bad);
            return 0; /* the validator's state is undefined from here on */
        }
        FUZZ_CHECK(rc == (r.n == 0 ? WS_UTF8_OK : WS_UTF8_PARTIAL));
        FUZZ_CHECK(ws_utf8_complete(&u) == (r.n == 0));
        off += k;
    }
    return 0;
}

/*
 * test_utf8.c -- the incremental UTF-8 validator, fed in every way.
 *
 * Three sources of truth, checked against each other:
 *  - the cases of Markus Kuhn's "UTF-8 decoder capability and stress test"
 *    (UTF-8-test.txt, sections 1-5), each with the result written down by
 *    hand: valid, truncated (PARTIAL at the end), or invalid at an exact
 *    byte index -- the first byte after which no well-formed continuation
 *    exists (RFC 6455 §8.1 wants the connection failed as early as that);
 *  - ref_validate(), a slow oracle written from the definition rather than
 *    from Unicode Table 3-7: it decodes the code point bit by bit and, after
 *    each byte, asks whether *any* continuation could still produce a
 *    scalar value in range for the sequence length, not a surrogate and at
 *    most U+10FFFF. The first byte where the answer is no is the bad byte;
 *  - exhaustive and random inputs, where ws_utf8_feed() must agree with
 *    the oracle on every prefix, however the input is cut into calls.
 *
 * Every table case is fed in one call, at every two-piece split, byte by
 * byte and in every chunk size, each piece flush against a guard page so
 * the eight-byte ASCII fast path cannot read past a buffer unnoticed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "utf8.h"

/* ---- The oracle ------------------------------------------------------ */

/* Can some continuation of a sequence whose decoded prefix, shifted into
 * place, spans [lo, hi] still give a scalar value in [min, max]? */
static int completable(uint32_t lo, uint32_t hi, uint32_t min, uint32_t max) {
    if (lo < min) lo = min;
    if (hi > max) hi = max;
    if (lo > hi) return 0;
    if (lo >= 0xD800 && hi <= 0xDFFF) return 0; /* only surrogates left */
    return 1;
}

static int ref_validate(const uint8_t *s, size_t n, size_t *bad) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        unsigned len;
        uint32_t min, max;
        if ((b & 0xE0) == 0xC0) {
            len = 2, min = 0x80, max = 0x7FF;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, min = 0x800, max = 0xFFFF;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, max = 0x10FFFF;
        } else {
            *bad = i; /* 10xxxxxx where a character starts, or 11111xxx */
            return WS_UTF8_INVALID;
        }
        uint32_t cp = b & (0x7Fu >> len);
        for (unsigned k = 0; k < len; k++) {
            if (k > 0) {
                if (i + k >= n) return WS_UTF8_PARTIAL;
                uint8_t c = s[i + k];
                if ((c & 0xC0) != 0x80) {
                    *bad = i + k;
                    return WS_UTF8_INVALID;
                }
                cp = (cp << 6) | (c & 0x3Fu);
            }
            unsigned rem = 6 * (len - 1 - k); /* bits still to come */
            uint32_t lo = cp << rem, hi = lo | ((UINT32_C(1) << rem) - 1);
            if (!completable(lo, hi, min, max)) {
                *bad = i + k;
                return WS_UTF8_INVALID;
            }
        }
        i += len;
    }
    return WS_UTF8_OK;
}

/* ---- Feeding helpers ------------------------------------------------- */

static const char *result_name(int r) {
    return r == WS_UTF8_OK        ? "OK"
           : r == WS_UTF8_PARTIAL ? "PARTIAL"
           : r == WS_UTF8_INVALID ? "INVALID"
                                  : "?";
}

/* Feed pieces in order, as one stream. After each piece the result must
 * be the oracle's for the prefix fed so far; the final (result, index) is
 * returned. The whole input is passed for the oracle's sake. */
struct stream_case {
    const uint8_t *whole;
    size_t len;
    int want;       /* expected final result */
    size_t want_at; /* expected index of the bad byte, if INVALID */
};

static void feed_stream(void *ctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    const struct stream_case *sc = ctx;
    ws_utf8 u;
    size_t off = 0;
    int r = WS_UTF8_OK;
    size_t at = (size_t)-1;

    ws_utf8_init(&u);
    for (size_t i = 0; i < n; i++) {
        size_t bad = (size_t)-1, ref_bad = (size_t)-1;
        r = ws_utf8_feed(&u, pieces[i], lens[i], &bad);
        int ref = ref_validate(sc->whole, off + lens[i], &ref_bad);
        if (r != ref)
            fail_msg("piece %zu (bytes %zu..%zu of %zu): got %s, oracle %s", i, off, off + lens[i],
                     sc->len, result_name(r), result_name(ref));
        if (r == WS_UTF8_INVALID) {
            assert_true(bad < lens[i]);
            at = off + bad;
            assert_int_equal(at, ref_bad);
            break;
        }
        assert_int_equal(ws_utf8_complete(&u), r == WS_UTF8_OK);
        off += lens[i];
    }
    if (r != sc->want) fail_msg("final: got %s, want %s", result_name(r), result_name(sc->want));
    if (r == WS_UTF8_INVALID) assert_int_equal(at, sc->want_at);
}

/* One call, every split, every chunk size 1..len. */
static void check_every_way(const uint8_t *s, size_t len, int want, size_t want_at) {
    struct stream_case sc = { s, len, want, want_at };
    tu_chunks(s, len, len ? len : 1, feed_stream, &sc);
    tu_for_each_split(s, len, feed_stream, &sc);
    for (size_t chunk = 1; chunk < len; chunk++) tu_chunks(s, len, chunk, feed_stream, &sc);
}

/* ---- Markus Kuhn's stress test --------------------------------------- */

#define B(lit)  (const uint8_t *)(lit), sizeof(lit) - 1
#define VALID   WS_UTF8_OK, 0
#define TRUNC   WS_UTF8_PARTIAL, 0
#define BAD(at) WS_UTF8_INVALID, at

static const struct {
    const char *name;
    const uint8_t *s;
    size_t len;
    int want;
    size_t at;
} kuhn[] = {
    /* 1 Some correct UTF-8 text */
    { "1 kosme", B("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), VALID },
    /* 2.1 First possible sequence of a certain length */
    { "2.1.1 U+0000", B("\x00"), VALID },
    { "2.1.2 U+0080", B("\xc2\x80"), VALID },
    { "2.1.3 U+0800", B("\xe0\xa0\x80"), VALID },
    { "2.1.4 U+10000", B("\xf0\x90\x80\x80"), VALID },
    { "2.1.5 5 bytes U+200000", B("\xf8\x88\x80\x80\x80"), BAD(0) },
    { "2.1.6 6 bytes U+4000000", B("\xfc\x84\x80\x80\x80\x80"), BAD(0) },
    /* 2.2 Last possible sequence of a certain length */
    { "2.2.1 U+007F", B("\x7f"), VALID },
    { "2.2.2 U+07FF", B("\xdf\xbf"), VALID },
    { "2.2.3 U+FFFF", B("\xef\xbf\xbf"), VALID },
    { "2.2.4 U+1FFFFF", B("\xf7\xbf\xbf\xbf"), BAD(0) },
    { "2.2.5 5 bytes U+3FFFFFF", B("\xfb\xbf\xbf\xbf\xbf"), BAD(0) },
    { "2.2.6 6 bytes U+7FFFFFFF", B("\xfd\xbf\xbf\xbf\xbf\xbf"), BAD(0) },
    /* 2.3 Other boundary conditions */
    { "2.3.1 U+D7FF", B("\xed\x9f\xbf"), VALID },
    { "2.3.2 U+E000", B("\xee\x80\x80"), VALID },
    { "2.3.3 U+FFFD", B("\xef\xbf\xbd"), VALID },
    { "2.3.4 U+10FFFF", B("\xf4\x8f\xbf\xbf"), VALID },
    { "2.3.5 U+110000", B("\xf4\x90\x80\x80"), BAD(1) },
    /* 3.1 Unexpected continuation bytes (all 64 are in a test below) */
    { "3.1.1 80", B("\x80"), BAD(0) },
    { "3.1.2 BF", B("\xbf"), BAD(0) },
    { "3.1.3 80 BF", B("\x80\xbf"), BAD(0) },
    { "3.1.4 80 BF 80", B("\x80\xbf\x80"), BAD(0) },
    { "3.1.5 80 BF 80 BF", B("\x80\xbf\x80\xbf"), BAD(0) },
    { "3.1.6", B("\x80\xbf\x80\xbf\x80"), BAD(0) },
    { "3.1.7", B("\x80\xbf\x80\xbf\x80\xbf"), BAD(0) },
    { "3.1.8", B("\x80\xbf\x80\xbf\x80\xbf\x80"), BAD(0) },
    { "3.1 after ASCII", B("a\x80"), BAD(1) },
    { "3.1 after U+0080", B("\xc2\x80\x80"), BAD(2) },
    { "3.1 after U+10000", B("\xf0\x90\x80\x80\xbf"), BAD(4) },
    /* 3.2 Lonely start characters (every lead byte + space is below) */
    { "3.2.1 C0 20", B("\xc0\x20"), BAD(0) },
    { "3.2.1 DF 20", B("\xdf\x20"), BAD(1) },
    { "3.2.2 E0 20", B("\xe0\x20"), BAD(1) },
    { "3.2.3 F0 20", B("\xf0\x20"), BAD(1) },
    { "3.2.4 F8 20", B("\xf8\x20"), BAD(0) },
    { "3.2.5 FC 20", B("\xfc\x20"), BAD(0) },
    /* 3.3 Sequences with last continuation byte missing. Where the prefix
     * is already impossible (C0, E0 80, ...) it fails early; where it is
     * a valid start (DF, EF BF) the message ends mid-character. */
    { "3.3.1 U+0000 2 bytes", B("\xc0"), BAD(0) },
    { "3.3.2 U+0000 3 bytes", B("\xe0\x80"), BAD(1) },
    { "3.3.3 U+0000 4 bytes", B("\xf0\x80\x80"), BAD(1) },
    { "3.3.4 U+0000 5 bytes", B("\xf8\x80\x80\x80"), BAD(0) },
    { "3.3.5 U+0000 6 bytes", B("\xfc\x80\x80\x80\x80"), BAD(0) },
    { "3.3.6 U+07FF", B("\xdf"), TRUNC },
    { "3.3.7 U+FFFF", B("\xef\xbf"), TRUNC },
    { "3.3.8 U+1FFFFF", B("\xf7\xbf\xbf"), BAD(0) },
    { "3.3.9 5 bytes", B("\xfb\xbf\xbf\xbf"), BAD(0) },
    { "3.3.10 6 bytes", B("\xfd\xbf\xbf\xbf\xbf"), BAD(0) },
    { "3.3 U+0080 cut", B("\xc2"), TRUNC },
    { "3.3 U+0800 cut", B("\xe0\xa0"), TRUNC },
    { "3.3 U+10000 cut after 3", B("\xf0\x90\x80"), TRUNC },
    { "3.3 U+10000 cut after 2", B("\xf0\x90"), TRUNC },
    { "3.3 U+10000 cut after 1", B("\xf0"), TRUNC },
    { "3.3 U+10FFFF cut", B("\xf4\x8f\xbf"), TRUNC },
    { "3.3 cut then ASCII", B("\xe0\xa0\x41"), BAD(2) },
    { "3.3 cut then ASCII (4)", B("\xf0\x90\x80\x41"), BAD(3) },
    { "3.3 cut then lead", B("\xe2\x82\xe2\x82\xac"), BAD(2) },
    /* 3.4 Concatenation of incomplete sequences */
    { "3.4 all of 3.3",
      B("\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"
        "\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"),
      BAD(0) },
    { "3.4 the valid-start ones", B("\xdf\xef\xbf"), BAD(1) },
    /* 3.5 Impossible bytes */
    { "3.5.1 FE", B("\xfe"), BAD(0) },
    { "3.5.2 FF", B("\xff"), BAD(0) },
    { "3.5.3 FE FE FF FF", B("\xfe\xfe\xff\xff"), BAD(0) },
    { "3.5 after text", B("kosme \xfe"), BAD(6) },
    /* 4.1 Overlong forms of '/' */
    { "4.1.1 C0 AF", B("\xc0\xaf"), BAD(0) },
    { "4.1.2 E0 80 AF", B("\xe0\x80\xaf"), BAD(1) },
    { "4.1.3 F0 80 80 AF", B("\xf0\x80\x80\xaf"), BAD(1) },
    { "4.1.4 F8 80 80 80 AF", B("\xf8\x80\x80\x80\xaf"), BAD(0) },
    { "4.1.5 FC 80 80 80 80 AF", B("\xfc\x80\x80\x80\x80\xaf"), BAD(0) },
    /* 4.2 Maximum overlong sequences */
    { "4.2.1 U+007F as 2", B("\xc1\xbf"), BAD(0) },
    { "4.2.2 U+07FF as 3", B("\xe0\x9f\xbf"), BAD(1) },
    { "4.2.3 U+FFFF as 4", B("\xf0\x8f\xbf\xbf"), BAD(1) },
    { "4.2.4 5 bytes", B("\xf8\x87\xbf\xbf\xbf"), BAD(0) },
    { "4.2.5 6 bytes", B("\xfc\x83\xbf\xbf\xbf\xbf"), BAD(0) },
    /* 4.3 Overlong NUL */
    { "4.3.1 C0 80", B("\xc0\x80"), BAD(0) },
    { "4.3.2 E0 80 80", B("\xe0\x80\x80"), BAD(1) },
    { "4.3.3 F0 80 80 80", B("\xf0\x80\x80\x80"), BAD(1) },
    { "4.3.4 F8 80 80 80 80", B("\xf8\x80\x80\x80\x80"), BAD(0) },
    { "4.3.5 FC 80 80 80 80 80", B("\xfc\x80\x80\x80\x80\x80"), BAD(0) },
    /* 5.1 Single UTF-16 surrogates */
    { "5.1.1 U+D800", B("\xed\xa0\x80"), BAD(1) },
    { "5.1.2 U+DB7F", B("\xed\xad\xbf"), BAD(1) },
    { "5.1.3 U+DB80", B("\xed\xae\x80"), BAD(1) },
    { "5.1.4 U+DBFF", B("\xed\xaf\xbf"), BAD(1) },
    { "5.1.5 U+DC00", B("\xed\xb0\x80"), BAD(1) },
    { "5.1.6 U+DF80", B("\xed\xbe\x80"), BAD(1) },
    { "5.1.7 U+DFFF", B("\xed\xbf\xbf"), BAD(1) },
    /* 5.2 Paired UTF-16 surrogates */
    { "5.2.1 U+D800 U+DC00", B("\xed\xa0\x80\xed\xb0\x80"), BAD(1) },
    { "5.2.2 U+D800 U+DFFF", B("\xed\xa0\x80\xed\xbf\xbf"), BAD(1) },
    { "5.2.3 U+DB7F U+DC00", B("\xed\xad\xbf\xed\xb0\x80"), BAD(1) },
    { "5.2.4 U+DB7F U+DFFF", B("\xed\xad\xbf\xed\xbf\xbf"), BAD(1) },
    { "5.2.5 U+DB80 U+DC00", B("\xed\xae\x80\xed\xb0\x80"), BAD(1) },
    { "5.2.6 U+DB80 U+DFFF", B("\xed\xae\x80\xed\xbf\xbf"), BAD(1) },
    { "5.2.7 U+DBFF U+DC00", B("\xed\xaf\xbf\xed\xb0\x80"), BAD(1) },
    { "5.2.8 U+DBFF U+DFFF", B("\xed\xaf\xbf\xed\xbf\xbf"), BAD(1) },
    /* 5.3 Noncharacters are well-formed UTF-8: valid */
    { "5.3.1 U+FFFE", B("\xef\xbf\xbe"), VALID },
    { "5.3.2 U+FFFF", B("\xef\xbf\xbf"), VALID },
    { "5.3.3 U+FDD0..U+FDEF", B("\xef\xb7\x90\xef\xb7\x91\xef\xb7\xaf"), VALID },
    { "5.3.4 U+1FFFE U+10FFFE U+10FFFF",
      B("\xf0\x9f\xbf\xbe\xf0\x9f\xbf\xbf\xf4\x8f\xbf\xbe\xf4\x8f\xbf\xbf"), VALID },
    /* The fail-fast cases named in the design, and their neighbours */
    { "ED A0: surrogate at 2nd byte", B("\xed\xa0"), BAD(1) },
    { "ED 9F: last before surrogates", B("\xed\x9f"), TRUNC },
    { "F4 90: above U+10FFFF at 2nd byte", B("\xf4\x90"), BAD(1) },
    { "F4 8F: still in range", B("\xf4\x8f"), TRUNC },
    { "E0 80: overlong at 2nd byte", B("\xe0\x80"), BAD(1) },
    { "E0 9F: overlong at 2nd byte", B("\xe0\x9f"), BAD(1) },
    { "F0 8F: overlong at 2nd byte", B("\xf0\x8f"), BAD(1) },
    { "C1 alone", B("\xc1"), BAD(0) },
    { "F5 alone", B("\xf5"), BAD(0) },
    /* Longer mixed text, for the fast paths */
    { "mixed text",
      B("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!! "
        "\xe2\x82\xac 12345678 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 end"),
      VALID },
    { "error after 16 ASCII", B("0123456789abcdef\xed\xa0\x80"), BAD(17) },
    { "error in the 3rd word", B("0123456789abcdef0123\xc0"), BAD(20) },
    { "empty", B(""), VALID },
};

/* The hand-written table and the oracle agree. */
static void test_oracle_matches_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(kuhn) / sizeof(kuhn[0]); i++) {
        size_t bad = (size_t)-1;
        int r = ref_validate(kuhn[i].s, kuhn[i].len, &bad);
        if (r != kuhn[i].want || (r == WS_UTF8_INVALID && bad != kuhn[i].at))
            fail_msg("oracle disagrees with table on %s", kuhn[i].name);
    }
}

static void test_kuhn_every_way(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(kuhn) / sizeof(kuhn[0]); i++) {
        /* One plain call first, with the result spelled out on failure. */
        ws_utf8 u;
        size_t bad = (size_t)-1;
        ws_utf8_init(&u);
        uint8_t *g = tu_guarded_copy(kuhn[i].s, kuhn[i].len);
        int r = ws_utf8_feed(&u, g, kuhn[i].len, &bad);
        tu_guarded_free(g, kuhn[i].len);
        if (r != kuhn[i].want || (r == WS_UTF8_INVALID && bad != kuhn[i].at))
            fail_msg("%s: got %s at %zu, want %s at %zu", kuhn[i].name, result_name(r), bad,
                     result_name(kuhn[i].want), kuhn[i].at);

        check_every_way(kuhn[i].s, kuhn[i].len, kuhn[i].want, kuhn[i].at);
    }
}

/* 3.1.9 all 64 continuation bytes, alone and after a complete character;
 * 3.2 every lead byte C0..FF followed by a space. */
static void test_lonely_bytes(void **state) {
    (void)state;
    for (int c = 0x80; c <= 0xBF; c++) {
        uint8_t s[4] = { (uint8_t)c, 'x', 0xC2, 0x80 };
        check_every_way(s, 4, WS_UTF8_INVALID, 0);
        uint8_t t[4] = { 0xE2, 0x82, 0xAC, (uint8_t)c };
        check_every_way(t, 4, WS_UTF8_INVALID, 3);
    }
    for (int c = 0xC0; c <= 0xFF; c++) {
        uint8_t s[2] = { (uint8_t)c, ' ' };
        /* C2..F4 can start a character, so the space is the bad byte. */
        size_t at = (c >= 0xC2 && c <= 0xF4) ? 1 : 0;
        check_every_way(s, 2, WS_UTF8_INVALID, at);
    }
}

/* ---- Exhaustive agreement with the oracle ---------------------------- */

/* Feed s[0..n) cut at the given points (a bitmask over 1..n-1) and return
 * the final result and global bad index. No guard pages: millions of
 * inputs; the table tests above cover over-reads. */
static int feed_cut(const uint8_t *s, size_t n, unsigned cuts, size_t *at) {
    ws_utf8 u;
    size_t start = 0;
    int r = WS_UTF8_OK;
    ws_utf8_init(&u);
    for (size_t i = 1; i <= n; i++) {
        if (i == n || (cuts >> i) & 1) {
            size_t bad;
            r = ws_utf8_feed(&u, s + start, i - start, &bad);
            if (r == WS_UTF8_INVALID) {
                *at = start + bad;
                return r;
            }
            start = i;
        }
    }
    return r;
}

static void expect_like_oracle(const uint8_t *s, size_t n, unsigned cuts) {
    size_t rb = (size_t)-1, at = (size_t)-1;
    int ref = ref_validate(s, n, &rb);
    int r = feed_cut(s, n, cuts, &at);
    if (r != ref || (r == WS_UTF8_INVALID && at != rb)) {
        char hex[64] = "";
        for (size_t i = 0; i < n && i < 8; i++)
            snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02X ", s[i]);
        fail_msg("%scuts %#x: got %s at %zu, oracle %s at %zu", hex, cuts, result_name(r), at,
                 result_name(ref), rb);
    }
}

/* Every string of 1, 2 and 3 bytes (16.8 million), in one call and byte
 * by byte. */
static void test_exhaustive_up_to_3_bytes(void **state) {
    (void)state;
    uint8_t s[3];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        expect_like_oracle(s, 1, 0);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            expect_like_oracle(s, 2, 0);
            expect_like_oracle(s, 2, 0x2);
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                expect_like_oracle(s, 3, 0);
                expect_like_oracle(s, 3, 0x6);
            }
        }
    }
}

/* Longer strings over the byte values where the rules change: 4 bytes with
 * every way of cutting them, 5 bytes in one call and byte by byte. */
static void test_boundary_bytes_4_and_5(void **state) {
    (void)state;
    static const uint8_t v[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF };
    const size_t nv = sizeof(v);
    uint8_t s[5];
    for (size_t a = 0; a < nv; a++)
        for (size_t b = 0; b < nv; b++)
            for (size_t c = 0; c < nv; c++)
                for (size_t d = 0; d < nv; d++) {
                    s[0] = v[a], s[1] = v[b], s[2] = v[c], s[3] = v[d];
                    for (unsigned cuts = 0; cuts < 16; cuts += 2) /* bits 1..3 */
                        expect_like_oracle(s, 4, cuts);
                    for (size_t e = 0; e < nv; e++) {
                        s[4] = v[e];
                        expect_like_oracle(s, 5, 0);
                        expect_like_oracle(s, 5, 0x1E);
                    }
                }
}

/* ---- Random text ----------------------------------------------------- */

/* The tests' own choices come from tu_rng (testutil.h). */
static uint32_t below(tu_rng *g, uint32_t n) { return (uint32_t)tu_rng_below(g, n); }

static size_t encode(uint32_t cp, uint8_t *o) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* A random scalar value: ASCII half the time, otherwise any length, with
 * the edges of each range (and of the surrogate gap) over-represented. */
static uint32_t random_scalar(tu_rng *g) {
    static const uint32_t edges[] = { 0x80,   0x7FF,   0x800,   0xD7FF,  0xE000,  0xFFFD,
                                      0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0x10FFFF };
    switch (below(g, 8)) {
    case 0: return edges[below(g, sizeof(edges) / sizeof(edges[0]))];
    case 1: return 0x80 + below(g, 0x800 - 0x80);
    case 2: {
        uint32_t cp = 0x800 + below(g, 0x10000 - 0x800 - 0x800);
        return cp >= 0xD800 ? cp + 0x800 : cp; /* skip the surrogates */
    }
    case 3: return 0x10000 + below(g, 0x110000 - 0x10000);
    default: return below(g, 0x80);
    }
}

/* Fill buf with up to cap bytes of valid UTF-8; mark where characters
 * start in starts[] (starts[len] = 1). Returns the length. */
static size_t random_text(tu_rng *g, uint8_t *buf, uint8_t *starts, size_t cap) {
    size_t len = 0;
    for (;;) {
        uint8_t tmp[4];
        size_t n = encode(random_scalar(g), tmp);
        if (len + n > cap) break;
        memcpy(buf + len, tmp, n);
        starts[len] = 1;
        memset(starts + len + 1, 0, n - 1);
        len += n;
    }
    starts[len] = 1;
    return len;
}

/* 4 MiB of random valid text, fed in random chunks of 1..4096 bytes (and
 * every so often a run of one-byte chunks). After each chunk the result
 * must be OK exactly when the chunk ends on a character boundary. The
 * whole buffer sits against a guard page. */
static void test_random_text_random_chunks(void **state) {
    (void)state;
    const size_t cap = 4u << 20;
    tu_rng g = { 0x7574663800000001u };
    uint8_t *buf = malloc(cap), *starts = malloc(cap + 1);
    assert_non_null(buf);
    assert_non_null(starts);
    size_t len = random_text(&g, buf, starts, cap);
    uint8_t *text = tu_guarded_copy(buf, len);

    for (int round = 0; round < 3; round++) {
        ws_utf8 u;
        ws_utf8_init(&u);
        size_t off = 0;
        while (off < len) {
            size_t n = below(&g, 4) == 0 ? 1 + below(&g, 8) : 1 + below(&g, 4096);
            if (n > len - off) n = len - off;
            size_t bad = (size_t)-1;
            int r = ws_utf8_feed(&u, text + off, n, &bad);
            off += n;
            if (r == WS_UTF8_INVALID) fail_msg("valid text rejected at %zu", off - n + bad);
            assert_int_equal(r, starts[off] ? WS_UTF8_OK : WS_UTF8_PARTIAL);
        }
        assert_true(ws_utf8_complete(&u));
    }

    tu_guarded_free(text, len);
    free(buf);
    free(starts);
}

/* Corrupt one byte of a valid text and find the exact index. With 0xFF
 * (never valid) the answer is known without the oracle: everything
 * before it was a valid prefix, so the first bad byte is that one. With a
 * random byte value, the oracle says where the text first goes wrong. */
static void test_corruption_exact_index(void **state) {
    (void)state;
    enum { CAP = 3000 };
    tu_rng g = { 0x636f727275707400u };
    uint8_t text[CAP], starts[CAP + 1], s[CAP];

    for (int trial = 0; trial < 2000; trial++) {
        size_t len = random_text(&g, text, starts, 1 + below(&g, CAP));
        if (len == 0) continue;
        size_t pos = below(&g, (uint32_t)len);
        memcpy(s, text, len);
        s[pos] = trial % 2 ? 0xFF : (uint8_t)below(&g, 256);

        size_t want_at = pos, rb = 0;
        int want = ref_validate(s, len, &rb);
        if (s[pos] == 0xFF) assert_int_equal(want, WS_UTF8_INVALID);
        if (want == WS_UTF8_INVALID) {
            assert_true(rb >= pos); /* the prefix before pos is unchanged */
            want_at = rb;
        }

        /* one call, then random chunks */
        uint8_t *gs = tu_guarded_copy(s, len);
        for (int way = 0; way < 2; way++) {
            ws_utf8 u;
            size_t off = 0, at = (size_t)-1;
            int r = WS_UTF8_OK;
            ws_utf8_init(&u);
            while (off < len) {
                size_t n = way == 0 ? len : 1 + below(&g, 64);
                if (n > len - off) n = len - off;
                size_t bad;
                r = ws_utf8_feed(&u, gs + off, n, &bad);
                if (r == WS_UTF8_INVALID) {
                    at = off + bad;
                    break;
                }
                off += n;
            }
            assert_int_equal(r, want);
            if (want == WS_UTF8_INVALID) assert_int_equal(at, want_at);
        }
        tu_guarded_free(gs, len);
    }
}

/* ---- The fast path and its edges ------------------------------------- */

/* ASCII runs of every length 0..40 then a 3-byte character, the character
 * cut short, and an invalid byte -- at every alignment of the start
 * pointer, each against a guard page. Exercises the switch between the
 * eight-byte loop and the byte loop at every position. */
static void test_ascii_runs(void **state) {
    (void)state;
    uint8_t s[40 + 10];
    for (size_t run = 0; run <= 40; run++) {
        memset(s, 'a', run);
        for (int tail = 0; tail < 4; tail++) {
            size_t len = run, at = 0;
            int want = WS_UTF8_OK;
            switch (tail) {
            case 1: /* U+20AC, complete */ memcpy(s + run, "\xe2\x82\xac", 3), len += 3; break;
            case 2: /* cut short */
                memcpy(s + run, "\xe2\x82", 2), len += 2, want = WS_UTF8_PARTIAL;
                break;
            case 3: /* invalid, then more ASCII */
                memcpy(s + run, "\xffzzzzzzzzz", 10), len += 10, want = WS_UTF8_INVALID, at = run;
                break;
            }
            for (size_t shift = 0; shift < 8; shift++) {
                /* leading bytes fed separately shift the alignment */
                uint8_t pre[8];
                memset(pre, 'p', sizeof(pre));
                uint8_t *a = tu_guarded_copy(pre, shift);
                uint8_t *b = tu_guarded_copy(s, len);
                ws_utf8 u;
                size_t bad = (size_t)-1;
                ws_utf8_init(&u);
                assert_int_equal(ws_utf8_feed(&u, a, shift, NULL), WS_UTF8_OK);
                int r = ws_utf8_feed(&u, b, len, &bad);
                assert_int_equal(r, want);
                if (want == WS_UTF8_INVALID) assert_int_equal(bad, at);
                tu_guarded_free(b, len);
                tu_guarded_free(a, shift);
            }
            check_every_way(s, len, want, at);
        }
    }
}

/* Empty feeds (NULL allowed) change nothing, in or between characters;
 * bad may be NULL; after INVALID, init makes the validator usable again. */
static void test_state_handling(void **state) {
    (void)state;
    ws_utf8 u;
    size_t bad = 12345;

    ws_utf8_init(&u);
    assert_int_equal(ws_utf8_feed(&u, NULL, 0, &bad), WS_UTF8_OK);
    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\xf0\x9f", 2, &bad), WS_UTF8_PARTIAL);
    assert_int_equal(ws_utf8_feed(&u, NULL, 0, &bad), WS_UTF8_PARTIAL);
    assert_false(ws_utf8_complete(&u));
    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\x98", 1, &bad), WS_UTF8_PARTIAL);
    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\x80", 1, &bad), WS_UTF8_OK);
    assert_true(ws_utf8_complete(&u));
    assert_int_equal(bad, 12345); /* untouched unless INVALID */

    /* The carried-over character is checked against the Table 3-7 row
     * of its lead byte, not just for 10xxxxxx. */
    ws_utf8_init(&u);
    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"ab\xed", 3, &bad), WS_UTF8_PARTIAL);
    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\xa0\x80", 2, &bad), WS_UTF8_INVALID);
    assert_int_equal(bad, 0);

    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\xc0", 1, NULL), WS_UTF8_INVALID);

    ws_utf8_init(&u);
    assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"ok \xc3\xa9", 5, NULL), WS_UTF8_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_matches_table),
        cmocka_unit_test(test_kuhn_every_way),
        cmocka_unit_test(test_lonely_bytes),
        cmocka_unit_test(test_exhaustive_up_to_3_bytes),
        cmocka_unit_test(test_boundary_bytes_4_and_5),
        cmocka_unit_test(test_random_text_random_chunks),
        cmocka_unit_test(test_corruption_exact_index),
        cmocka_unit_test(test_ascii_runs),
        cmocka_unit_test(test_state_handling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

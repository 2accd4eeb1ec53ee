/*
 * test_base64.c -- RFC 4648 base64: the §10 vectors, every rejection rule
 * of the strict decoder, guard pages, and round trips.
 *
 * The strongest check is test_every_quantum: over all 65^4 strings of four
 * characters from the alphabet plus '=', the decoder must accept exactly
 * 256 + 256^2 + 256^3 of them (one canonical spelling for each 1-, 2- and
 * 3-byte string), and every accepted one must re-encode to itself.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "testutil.h"
#include "vectors.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 §10 test vectors. */
static const struct {
    const char *raw;
    const char *enc;
} rfc4648[] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
};

/* Decode a NUL-terminated string with the input against a guard page and
 * the output in a guarded buffer of exactly cap bytes. */
static long decode_guarded(const char *enc, size_t cap, uint8_t *copy_out) {
    size_t len = strlen(enc);
    uint8_t *in = tu_guarded_copy(enc, len);
    /* A zeroed output buffer of cap bytes ending at a guard page. */
    uint8_t zeros[64] = { 0 };
    assert_true(cap <= sizeof(zeros));
    uint8_t *out = tu_guarded_copy(zeros, cap);

    long r = ws_base64_decode((const char *)in, len, out, cap);
    if (r > 0 && copy_out) memcpy(copy_out, out, (size_t)r);

    tu_guarded_free(out, cap);
    tu_guarded_free(in, len);
    return r;
}

static void test_rfc4648_encode(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        size_t len = strlen(rfc4648[i].raw);
        size_t want = strlen(rfc4648[i].enc);
        assert_int_equal(WS_BASE64_ENCODED_LEN(len), want);

        /* Input against a guard page; output exactly ENCODED_LEN + 1 bytes
         * (for the NUL), also against a guard page. */
        uint8_t *in = tu_guarded_copy(rfc4648[i].raw, len);
        char fill[16];
        memset(fill, '#', sizeof(fill));
        uint8_t *out = tu_guarded_copy(fill, want + 1);

        assert_int_equal(ws_base64_encode(in, len, (char *)out), want);
        assert_string_equal((char *)out, rfc4648[i].enc);

        tu_guarded_free(out, want + 1);
        tu_guarded_free(in, len);
    }
    /* NULL input with length 0 is fine. */
    char out[1] = { 'x' };
    assert_int_equal(ws_base64_encode(NULL, 0, out), 0);
    assert_int_equal(out[0], '\0');
}

static void test_rfc4648_decode(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        size_t want = strlen(rfc4648[i].raw);
        uint8_t got[16];
        assert_true(WS_BASE64_DECODED_MAX(strlen(rfc4648[i].enc)) >= want);
        /* Exactly the bytes needed: fits. */
        assert_int_equal(decode_guarded(rfc4648[i].enc, want, got), (long)want);
        assert_memory_equal(got, rfc4648[i].raw, want);
        /* The DECODED_MAX bound also fits. */
        assert_int_equal(
            decode_guarded(rfc4648[i].enc, WS_BASE64_DECODED_MAX(strlen(rfc4648[i].enc)), got),
            (long)want);
        assert_memory_equal(got, rfc4648[i].raw, want);
        /* One byte less: rejected. */
        if (want > 0) assert_int_equal(decode_guarded(rfc4648[i].enc, want - 1, NULL), -1);
    }
    /* Empty input with no buffer at all. */
    assert_int_equal(ws_base64_decode(NULL, 0, NULL, 0), 0);
}

/* §3.3 / §3.5 rejections, each named. */
static void test_rejections(void **state) {
    (void)state;
    static const char *bad[] = {
        /* length not a multiple of 4 */
        "Z",
        "Zg",
        "Zg=",
        "Zm9",
        "Zm9vY",
        "Zm9vYg=",
        "Zm9vYg===",
        /* characters outside the alphabet */
        "Zm9!",
        "Zm-v",
        "Zm_v",
        "Zm v",
        "Zm\tv",
        " Zm9v",
        "Zm9v\n",
        "Zm9v\r\n==",
        "Zm.v",
        "Zm9v:A==",
        "Zm9vYg=\x01",
        /* '=' in the wrong place */
        "=Zm9",
        "Z=m9",
        "Zm=v",
        "====",
        "Z===",
        "=A==",
        "Zg=A",
        "Zg==Zm9v",
        "Zm8=Zm9v",
        "Zm9v=Zg=",
        "Zm9vZ===",
        /* non-zero pad bits (canonical encoding, §3.5) */
        "Zh==",
        "Zv==",
        "Z/==",
        "Zm9=",
        "Zm+=",
        "Zm/=",
        "Zm9vYh==",
        "Zm9vYmF=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long r = decode_guarded(bad[i], WS_BASE64_DECODED_MAX(strlen(bad[i])), NULL);
        if (r != -1) fail_msg("accepted \"%s\" (returned %ld)", bad[i], r);
    }

    /* A NUL byte inside the counted length is not an alphabet character. */
    uint8_t out[3];
    assert_int_equal(ws_base64_decode("Zm\0v", 4, out, sizeof(out)), -1);
    /* High bytes (0x80..0xFF) are not either, whatever the char signedness. */
    assert_int_equal(ws_base64_decode("Zm\xc3\xa9", 4, out, sizeof(out)), -1);
}

/* The last character before padding: exactly the values whose dropped
 * bits are zero are accepted. For "Qx==" that is x with its low 4 bits
 * clear (A Q g w); for "QUx=" x with its low 2 bits clear. */
static void test_pad_bits_exhaustive(void **state) {
    (void)state;
    for (int v = 0; v < 64; v++) {
        char two[5] = { 'Q', alphabet[v], '=', '=', 0 };
        char three[5] = { 'Q', 'U', alphabet[v], '=', 0 };
        uint8_t out[3];
        long r2 = ws_base64_decode(two, 4, out, sizeof(out));
        long r3 = ws_base64_decode(three, 4, out, sizeof(out));
        assert_int_equal(r2, (v & 0x0f) == 0 ? 1 : -1);
        assert_int_equal(r3, (v & 0x03) == 0 ? 2 : -1);
    }
}

/* Each of the 256 byte values in each position of a quantum: accepted only
 * if it is in the alphabet (or '=' where padding may go). */
static void test_every_byte_value(void **state) {
    (void)state;
    for (int c = 0; c < 256; c++) {
        int in_alphabet = c != 0 && memchr(alphabet, c, 64) != NULL;
        for (int pos = 0; pos < 4; pos++) {
            char q[4] = { 'Q', 'U', 'F', 'B' }; /* "QUFB" = "AAA" */
            q[pos] = (char)c;
            uint8_t out[3];
            long r = ws_base64_decode(q, 4, out, sizeof(out));
            long want = in_alphabet ? 3 : -1;
            if (c == '=' && pos == 3) want = -1; /* "QUF=": 'F' has low bits 01 */
            if (r != want) fail_msg("byte 0x%02x at %d: got %ld want %ld", c, pos, r, want);
        }
    }
    /* and '=' in the last position after a character with clear low bits */
    uint8_t out[3];
    assert_int_equal(ws_base64_decode("QUE=", 4, out, sizeof(out)), 2);
    assert_memory_equal(out, "AA", 2);
}

/* Every 4-character string over the alphabet plus '=': the accepted ones
 * are in one-to-one correspondence with the 1-, 2- and 3-byte strings. */
static void test_every_quantum(void **state) {
    (void)state;
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    unsigned long accepted[4] = { 0 };
    char q[4], re[5];
    uint8_t out[3];

    for (int a = 0; a < 65; a++)
        for (int b = 0; b < 65; b++)
            for (int c = 0; c < 65; c++)
                for (int d = 0; d < 65; d++) {
                    q[0] = chars[a];
                    q[1] = chars[b];
                    q[2] = chars[c];
                    q[3] = chars[d];
                    long r = ws_base64_decode(q, 4, out, sizeof(out));
                    if (r < 0) continue;
                    assert_true(r >= 1 && r <= 3);
                    accepted[r]++;
                    /* canonical: re-encoding gives the same characters */
                    ws_base64_encode(out, (size_t)r, re);
                    if (memcmp(re, q, 4) != 0) fail_msg("%.4s re-encodes to %s", q, re);
                }
    assert_int_equal(accepted[1], 256UL);
    assert_int_equal(accepted[2], 65536UL);
    assert_int_equal(accepted[3], 16777216UL);
}

/* Random data of every length 0..100: encode, check the shape, decode
 * back; input and outputs all against guard pages and exactly sized. */
static void test_round_trip(void **state) {
    (void)state;
    uint8_t raw[100];
    for (size_t len = 0; len <= 100; len++) {
        tu_fill_random(raw, len, 0x6261736536340000u + len);
        size_t elen = WS_BASE64_ENCODED_LEN(len);

        uint8_t *in = tu_guarded_copy(raw, len);
        char zeros[WS_BASE64_ENCODED_LEN(100) + 1] = { 0 };
        char *enc = (char *)tu_guarded_copy(zeros, elen + 1);
        assert_int_equal(ws_base64_encode(in, len, enc), elen);
        assert_int_equal(strlen(enc), elen);
        for (size_t i = 0; i < elen; i++) {
            int is_pad = enc[i] == '=';
            assert_true(is_pad || memchr(alphabet, enc[i], 64) != NULL);
            /* padding only in the last two places, as many as len needs */
            if (is_pad) assert_true(i >= elen - (3 - len % 3) % 3);
        }

        uint8_t *enc_g = tu_guarded_copy(enc, elen);
        uint8_t *dec = tu_guarded_copy(zeros, len);
        assert_int_equal(ws_base64_decode((const char *)enc_g, elen, dec, len), (long)len);
        if (len) assert_memory_equal(dec, raw, len);
        /* one byte short of room: rejected, and nothing written */
        if (len > 0) {
            memset(dec, 0xA5, len);
            assert_int_equal(ws_base64_decode((const char *)enc_g, elen, dec, len - 1), -1);
            for (size_t i = 0; i < len; i++) assert_int_equal(dec[i], 0xA5);
        }

        tu_guarded_free(dec, len);
        tu_guarded_free(enc_g, elen);
        tu_guarded_free((uint8_t *)enc, elen + 1);
        tu_guarded_free(in, len);
    }
}

/* The handshake's use: a Sec-WebSocket-Key is 16 random bytes, so 24
 * characters ending in "==". RFC 6455 §4.2.1 / §1.3 sample key. */
static void test_websocket_key(void **state) {
    (void)state;
    uint8_t out[WS_BASE64_DECODED_MAX(24)];
    assert_int_equal(ws_base64_decode(TV_KEY, 24, out, sizeof(out)), 16);
    assert_memory_equal(out, "the sample nonce", 16);
    /* 15 or 17 bytes are valid base64 but not a valid key; the caller
     * checks the length, the decoder only reports it. */
    assert_int_equal(ws_base64_decode(TV_KEY, 24, out, 15), -1);
}

int main(void) {
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_encode),
        cmocka_unit_test(test_rfc4648_decode),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_pad_bits_exhaustive),
        cmocka_unit_test(test_every_byte_value),
        cmocka_unit_test(test_every_quantum),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_websocket_key),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

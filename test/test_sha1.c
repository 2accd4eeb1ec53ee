/*
 * test_sha1.c -- SHA-1 against the FIPS 180 test vectors, fed in every way.
 *
 * The vectors are the ones published with FIPS 180 (FIPS 180-2 Appendix A,
 * and the "SHA-1 examples" of the NIST CSRC site): "abc", the 448-bit
 * (56-byte) message and one million 'a'. Added to them: the empty string,
 * the 896-bit message of the SHA-384/512 examples and the "quick brown fox"
 * (widely published SHA-1 values, rechecked with Python's hashlib), and
 * runs of 'a' at the block-boundary lengths (55/56/57, 63/64/65, ...) where
 * padding goes wrong, whose digests were computed with Python's hashlib.
 *
 * Every short vector is also hashed at every split point of two update
 * calls, and in every chunk size from 1 (byte by byte) to one more than its
 * length, each piece flush against a guard page (testutil.h), so an
 * over-read of the caller's buffer crashes the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "rfc6455.h"
#include "sha1.h"
#include "testutil.h"
#include "vectors.h"

/* Hex of a digest, for readable failure messages. */
static void to_hex(const uint8_t d[WS_SHA1_DIGEST_LEN], char out[2 * WS_SHA1_DIGEST_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < WS_SHA1_DIGEST_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * WS_SHA1_DIGEST_LEN] = '\0';
}

static void assert_digest(const uint8_t d[WS_SHA1_DIGEST_LEN], const char *want_hex) {
    char got[2 * WS_SHA1_DIGEST_LEN + 1];
    to_hex(d, got);
    assert_string_equal(got, want_hex);
}

/* Hash the pieces with one update call each. */
static void hash_pieces(void *ctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    const char *want_hex = ctx;
    ws_sha1_ctx c;
    uint8_t d[WS_SHA1_DIGEST_LEN];

    ws_sha1_init(&c);
    for (size_t i = 0; i < n; i++) ws_sha1_update(&c, pieces[i], lens[i]);
    ws_sha1_final(&c, d);
    assert_digest(d, want_hex);
}

struct vector {
    const char *msg;
    size_t len; /* 0 with msg != NULL: use strlen(msg) */
    const char *digest;
};

/* FIPS 180 examples and the two other classics. */
static const struct vector fips[] = {
    { "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
    { "abc", 0, "a9993e364706816aba3e25717850c26c9cd0d89d" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      0, "a49b2446a02c645bf419f995b67091253a04a259" },
    { "The quick brown fox jumps over the lazy dog", 0,
      "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12" },
};

/* n times 'a', around the block boundaries where padding needs one or two
 * extra blocks (a 56-byte tail leaves no room for the 8-byte length). */
static const struct {
    size_t n;
    const char *digest;
} runs_of_a[] = {
    { 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a" },
    { 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699" },
    { 57, "f08f24908d682555111be7ff6f004e78283d989a" },
    { 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5" },
    { 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d" },
    { 65, "11655326c708d70319be2610e8a57d9a5b959d3b" },
    { 119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56" },
    { 120, "f34c1488385346a55709ba056ddd08280dd4c6d6" },
    { 127, "89d95fa32ed44a7c610b7ee38517ddf57e0bb975" },
    { 128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0" },
    { 129, "d96debf1bdcbc896e6c134ea76e8141f40d78536" },
};

/* All three ways of feeding: one call, every two-piece split, and every
 * chunk size from 1 (byte by byte) to one past the length. */
static void check_all_splits(const void *msg, size_t len, const char *digest) {
    uint8_t d[WS_SHA1_DIGEST_LEN];
    uint8_t *g = tu_guarded_copy(msg, len);
    ws_sha1(g, len, d);
    assert_digest(d, digest);
    tu_guarded_free(g, len);

    tu_for_each_split(msg, len, hash_pieces, (void *)digest);
    for (size_t chunk = 1; chunk <= len + 1; chunk++)
        tu_chunks(msg, len, chunk, hash_pieces, (void *)digest);
}

static void test_fips_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(fips) / sizeof(fips[0]); i++) {
        size_t len = fips[i].len ? fips[i].len : strlen(fips[i].msg);
        check_all_splits(fips[i].msg, len, fips[i].digest);
    }
}

static void test_block_boundaries(void **state) {
    (void)state;
    char a[130];
    memset(a, 'a', sizeof(a));
    for (size_t i = 0; i < sizeof(runs_of_a) / sizeof(runs_of_a[0]); i++)
        check_all_splits(a, runs_of_a[i].n, runs_of_a[i].digest);
}

/* FIPS 180 example: one million repetitions of 'a'. Fed three ways: as one
 * buffer, in 1000-byte updates, and in updates of 1..97 bytes (a prime, so
 * the pieces fall at every offset within a block). */
static void test_million_a(void **state) {
    (void)state;
    static const char *want = "34aa973cd4c4daa4f61eeb2bdbad27316534016f";
    const size_t total = 1000000;
    uint8_t d[WS_SHA1_DIGEST_LEN];
    uint8_t *buf = malloc(total);
    assert_non_null(buf);
    memset(buf, 'a', total);
    uint8_t *a = tu_guarded_copy(buf, total);
    free(buf);

    ws_sha1(a, total, d);
    assert_digest(d, want);

    ws_sha1_ctx c;
    ws_sha1_init(&c);
    for (size_t off = 0; off < total; off += 1000) ws_sha1_update(&c, a + off, 1000);
    ws_sha1_final(&c, d);
    assert_digest(d, want);

    ws_sha1_init(&c);
    size_t off = 0, step = 1;
    while (off < total) {
        size_t n = total - off < step ? total - off : step;
        ws_sha1_update(&c, a + off, n);
        off += n;
        step = step % 97 + 1;
    }
    ws_sha1_final(&c, d);
    assert_digest(d, want);

    tu_guarded_free(a, total);
}

/* Empty updates (with a NULL pointer, as the header allows) change
 * nothing, wherever they fall. */
static void test_empty_updates(void **state) {
    (void)state;
    uint8_t d[WS_SHA1_DIGEST_LEN];
    ws_sha1_ctx c;

    ws_sha1_init(&c);
    ws_sha1_update(&c, NULL, 0);
    ws_sha1_update(&c, "a", 1);
    ws_sha1_update(&c, NULL, 0);
    ws_sha1_update(&c, "bc", 2);
    ws_sha1_update(&c, NULL, 0);
    ws_sha1_final(&c, d);
    assert_digest(d, "a9993e364706816aba3e25717850c26c9cd0d89d");

    ws_sha1(NULL, 0, d);
    assert_digest(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

/* A context is reusable after init, and two contexts do not interfere. */
static void test_reuse_and_interleave(void **state) {
    (void)state;
    uint8_t d1[WS_SHA1_DIGEST_LEN], d2[WS_SHA1_DIGEST_LEN];
    ws_sha1_ctx c1, c2;

    ws_sha1_init(&c1);
    ws_sha1_update(&c1, "garbage", 7);
    ws_sha1_final(&c1, d1);

    ws_sha1_init(&c1);
    ws_sha1_init(&c2);
    ws_sha1_update(&c1, "ab", 2);
    ws_sha1_update(&c2, "The quick brown fox ", 20);
    ws_sha1_update(&c1, "c", 1);
    ws_sha1_update(&c2, "jumps over the lazy dog", 23);
    ws_sha1_final(&c1, d1);
    ws_sha1_final(&c2, d2);
    assert_digest(d1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_digest(d2, "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

/* RFC 6455 §1.3: the server appends the GUID to the client's key, hashes,
 * and base64-encodes the 20-byte digest:
 *   "dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * The RFC also gives the digest in hex (0xb3 0x7a 0x4f ...). */
static void test_rfc6455_accept_key(void **state) {
    (void)state;
    static const char key[] = TV_KEY;
    char concat[sizeof(key) - 1 + WS_GUID_LEN + 1];
    uint8_t d[WS_SHA1_DIGEST_LEN];
    char accept[WS_BASE64_ENCODED_LEN(WS_SHA1_DIGEST_LEN) + 1];

    memcpy(concat, key, sizeof(key) - 1);
    memcpy(concat + sizeof(key) - 1, WS_GUID, WS_GUID_LEN);
    concat[sizeof(concat) - 1] = '\0';
    assert_string_equal(concat, TV_KEY "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");

    /* Streaming, the way the handshake can do it without a concat buffer. */
    ws_sha1_ctx c;
    ws_sha1_init(&c);
    ws_sha1_update(&c, key, sizeof(key) - 1);
    ws_sha1_update(&c, WS_GUID, WS_GUID_LEN);
    ws_sha1_final(&c, d);
    assert_digest(d, "b37a4f2cc0624f1690f64606cf385945b2bec4ea");

    assert_int_equal(ws_base64_encode(d, sizeof(d), accept), 28);
    assert_string_equal(accept, TV_ACCEPT);

    check_all_splits(concat, sizeof(concat) - 1, "b37a4f2cc0624f1690f64606cf385945b2bec4ea");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_empty_updates),
        cmocka_unit_test(test_reuse_and_interleave),
        cmocka_unit_test(test_rfc6455_accept_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * rfc1951_tables.h -- RFC 1951's tables, written once for the tests' own
 * DEFLATE code: the stream builder of test_inflate.c and the checking
 * decoder of deflate_check.h (used by test_deflate.c and fuzz_deflate.c).
 *
 * Deliberately not include/rfc1951.h: an oracle that shared the library's
 * tables would agree with any mistake in them. Static arrays in a header,
 * because the fuzz targets are built from one source file each
 * (mk/fuzz.mk); every file that includes it uses all five.
 */
#ifndef WS_TEST_RFC1951_TABLES_H
#define WS_TEST_RFC1951_TABLES_H

#include <stdint.h>

/* clang-format off */
/* §3.2.5: length symbols 257..285, their base lengths and extra bits. */
static const uint16_t tv_len_base[29] = {
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258
};
static const uint8_t tv_len_extra[29] = {
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
    3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0
};
/* §3.2.5: distance symbols 0..29, their base distances and extra bits. */
static const uint16_t tv_dist_base[30] = {
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
    257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577
};
static const uint8_t tv_dist_extra[30] = {
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
    7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13
};
/* §3.2.7: the order in which the code-length code lengths are sent. */
static const uint8_t tv_cl_order[19] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
};
/* clang-format on */

#endif /* WS_TEST_RFC1951_TABLES_H */

/*
 * rfc1951.h -- the tables of RFC 1951 (DEFLATE) that the decoder
 * (inflate.c) and the encoder (deflate.c) both need, written once.
 *
 * A length of 3..258 bytes is sent as one of the symbols 257..285 plus
 * some extra bits, a distance of 1..32768 as one of the distance symbols
 * 0..29 plus extra bits (§3.2.5):
 *
 *   length   = rfc1951_len_base[sym - 257]  + (next len_extra[...] bits)
 *   distance = rfc1951_dist_base[dsym]      + (next dist_extra[...] bits)
 *
 * Header only: each of the two modules gets its own copy (about 200
 * bytes), and nothing else includes it.
 */
#ifndef WS_RFC1951_H
#define WS_RFC1951_H

#include <stdint.h>

#define RFC1951_LEN_SYMS  29 /* length symbols 257..285 */
#define RFC1951_DIST_SYMS 30 /* distance symbols 0..29 (30 and 31 never occur) */
#define RFC1951_CL_SYMS   19 /* §3.2.7: the code-length alphabet */

/* clang-format off */
static const uint16_t rfc1951_len_base[RFC1951_LEN_SYMS] = {
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258
};
static const uint8_t rfc1951_len_extra[RFC1951_LEN_SYMS] = {
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
    3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0
};
static const uint16_t rfc1951_dist_base[RFC1951_DIST_SYMS] = {
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
    257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577
};
static const uint8_t rfc1951_dist_extra[RFC1951_DIST_SYMS] = {
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
    7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13
};

/* §3.2.7: the order in which the code-length code's lengths are sent
 * (the lengths most likely to be zero last, so they can be left out). */
static const uint8_t rfc1951_cl_order[RFC1951_CL_SYMS] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
};
/* clang-format on */

#endif

/*
 * base64.c -- RFC 4648 §4 base64: encode, and a strict canonical decode.
 *
 * The handshake needs both directions (RFC 6455 §4.2.1, §4.2.2): decode
 * Sec-WebSocket-Key to check it is 16 bytes, and encode the SHA-1 digest
 * into Sec-WebSocket-Accept. The decoder is strict because it reads
 * untrusted input: anything that is not exactly the canonical encoding of
 * some byte string is rejected, so each byte string has one and only one
 * accepted spelling.
 *
 * Reference card (RFC 4648):
 *
 *   §4 Table 1: The Base 64 Alphabet
 *
 *     Value Encoding  Value Encoding  Value Encoding  Value Encoding
 *         0 A            17 R            34 i            51 z
 *         1 B            18 S            35 j            52 0
 *         2 C            19 T            36 k            53 1
 *         3 D            20 U            37 l            54 2
 *         4 E            21 V            38 m            55 3
 *         5 F            22 W            39 n            56 4
 *         6 G            23 X            40 o            57 5
 *         7 H            24 Y            41 p            58 6
 *         8 I            25 Z            42 q            59 7
 *         9 J            26 a            43 r            60 8
 *        10 K            27 b            44 s            61 9
 *        11 L            28 c            45 t            62 +
 *        12 M            29 d            46 u            63 /
 *        13 N            30 e            47 v
 *        14 O            31 f            48 w         (pad) =
 *        15 P            32 g            49 x
 *        16 Q            33 h            50 y
 *
 *   §4: each 24-bit group of input (3 bytes) becomes 4 characters of 6 bits,
 *   most significant first:
 *
 *     bytes   |    in[0]      |    in[1]      |    in[2]      |
 *     bits    |7 6 5 4 3 2 1 0|7 6 5 4 3 2 1 0|7 6 5 4 3 2 1 0|
 *     chars   |    c0     |    c1     |    c2     |    c3     |
 *
 *   A final group of 1 byte gives 2 characters + "=="; of 2 bytes,
 *   3 characters + "=".
 *
 *   §3.3: "Implementations MUST reject the encoded data if it contains
 *   characters outside the base alphabet" (we allow no exceptions: no
 *   whitespace, no line breaks).
 *   §3.5 (canonical encoding): the pad bits left over in the last character
 *   before '=' -- 4 bits for "xx==", 2 bits for "xxx=" -- are set to zero by
 *   an encoder; a decoder MAY reject them when not zero. We do.
 */
#include "base64.h"

#include <limits.h>

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz"
                                 "0123456789+/";

/* The 6-bit value of an alphabet character, or -1 for anything else
 * (including '=', which the caller handles by position). Comparisons, not a
 * 256-entry table: the handshake decodes 24 characters per connection. */
static int sextet(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

size_t ws_base64_encode(const uint8_t *in, size_t len, char *out) {
    char *o = out;
    size_t i = 0;

    /* Whole 3-byte groups. */
    for (; len - i >= 3; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }

    /* The final 1 or 2 bytes: the missing low bits are zero (§3.5). */
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }

    *o = '\0';
    return (size_t)(o - out);
}

long ws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
    const unsigned char *s = (const unsigned char *)in;
    size_t pad, n;

    /* §3.3 + padding always present: whole 4-character quanta only. */
    if (len % 4 != 0) return -1;
    if (len == 0) return 0;

    /* Padding can only be the last one or two characters ("x===" would
     * stand for less than one byte). Where '=' sits anywhere else, the
     * quantum loop below rejects it as a non-alphabet character. */
    pad = 0;
    if (s[len - 1] == '=') pad = (s[len - 2] == '=') ? 2 : 1;
    n = len / 4 * 3 - pad;

    /* Check the size before writing anything, so a short buffer is never
     * partly filled. n <= 3/4 of len, but long may be narrower than size_t. */
    if (n > cap || n > (size_t)LONG_MAX) return -1;

    /* Every quantum but the last is four alphabet characters -> 3 bytes. */
    size_t full = len - 4;
    uint8_t *o = out;
    for (size_t i = 0; i < full; i += 4) {
        int a = sextet(s[i]), b = sextet(s[i + 1]);
        int c = sextet(s[i + 2]), d = sextet(s[i + 3]);
        if ((a | b | c | d) < 0) return -1;
        uint32_t v = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | (uint32_t)d;
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }

    /* The last quantum: "abcd", "abc=" or "ab==". The characters before
     * the padding must be alphabet characters, and the bits they carry
     * beyond the last whole byte must be zero (§3.5, canonical). */
    const unsigned char *q = s + full;
    int a = sextet(q[0]), b = sextet(q[1]);
    int c = pad == 2 ? 0 : sextet(q[2]);
    int d = pad >= 1 ? 0 : sextet(q[3]);
    if ((a | b | c | d) < 0) return -1;
    if (pad == 2 && (b & 0x0f) != 0) return -1;
    if (pad == 1 && (c & 0x03) != 0) return -1;

    uint32_t v = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | (uint32_t)d;
    *o++ = (uint8_t)(v >> 16);
    if (pad < 2) *o++ = (uint8_t)(v >> 8);
    if (pad < 1) *o++ = (uint8_t)v;

    return (long)n;
}

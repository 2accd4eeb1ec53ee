/*
 * wsb_base64.c -- base64 encoding, RFC 4648 §4.
 *
 * Reference card: every 3 input bytes (24 bits) become 4 characters of 6
 * bits each, most significant first, from the alphabet A-Z a-z 0-9 + /.
 * A final group of 1 or 2 bytes is zero-extended and padded with "==" or
 * "=" (§4, "special processing is performed if fewer than 24 bits are
 * available"). RFC 4648 §10 gives the test vectors wsbench --self-test uses.
 */
#include "wsb_base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t wsb_base64_encode(const uint8_t *in, size_t len, char *out) {
    char *o = out;
    size_t i = 0;

    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    *o = '\0';
    return (size_t)(o - out);
}

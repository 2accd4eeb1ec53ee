/*
 * messages-4.c -- the test for docs/messages.md exercise 4: the reader's
 * my_utf8_check() must judge every input of one, two and three bytes, and
 * 200000 random longer ones, as ws_utf8_feed() does (RFC 3629 §4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), including the
 * position of the first bad byte.
 */
#include "utf8.h"

#include <stdio.h>

/* 0: valid and complete; -1: valid so far but a character is unfinished;
 * N > 0: invalid, and byte N (counting from 1) is the first that proves it. */
long my_utf8_check(const uint8_t *p, size_t len);

static long reference(const uint8_t *p, size_t len) {
    ws_utf8 u;
    size_t bad = 0;
    ws_utf8_init(&u);
    int r = ws_utf8_feed(&u, p, len, &bad);
    return r == WS_UTF8_OK ? 0 : r == WS_UTF8_PARTIAL ? -1 : (long)bad + 1;
}

static int compare(const uint8_t *p, size_t len) {
    long want = reference(p, len), got = my_utf8_check(p, len);
    if (want == got) return 0;
    printf("input");
    for (size_t i = 0; i < len; i++) printf(" %02x", p[i]);
    printf(": expected %ld, got %ld\n", want, got);
    return 1;
}

int main(void) {
    uint8_t b[12];
    uint32_t x = 88172645u;
    for (unsigned v = 0; v < 256; v++) {
        b[0] = (uint8_t)v;
        if (compare(b, 1)) return 1;
    }
    for (unsigned v = 0; v < 65536; v++) {
        b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
        if (compare(b, 2)) return 1;
    }
    for (unsigned v = 0; v < (1u << 24); v++) {
        b[0] = (uint8_t)(v >> 16), b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)v;
        if (compare(b, 3)) return 1;
    }
    /* Longer inputs, drawn from bytes that start or continue characters. */
    /* clang-format off */
    static const uint8_t pool[] = { 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc2,
                                    0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5 };
    /* clang-format on */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        size_t len = 4 + x % 8;
        for (size_t j = 0; j < len; j++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            b[j] = pool[x % sizeof(pool)];
        }
        if (compare(b, len)) return 1;
    }
    return 0;
}

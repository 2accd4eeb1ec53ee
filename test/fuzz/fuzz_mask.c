/*
 * fuzz_mask.c -- differential libFuzzer target for the unmasking variants
 * (RFC 6455 §5.3; src/frame.c, ws_frame_mask()).
 *
 * Input: byte 0 is the key offset (its low two bits) and the start
 * alignment (the next six); bytes 1..4 are the masking key; the rest is
 * the payload. Every variant this build and CPU have (scalar, SSE2, AVX2),
 * each forced for every length, and the run-time choice (wide variant for
 * long payloads, words for short ones) must all give what the RFC's
 * definition gives byte by byte -- octet i XORed with key[(offset + i) %
 * 4] -- and the same answer to "is every byte ASCII?", and must write
 * nothing outside the payload. Any disagreement aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz_common.h"

#define PAD 256 /* guard bytes on either side: a variant's widest step */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int variants[] = { WS_MASK_AUTO, WS_MASK_SCALAR, WS_MASK_SSE2, WS_MASK_AVX2 };
    if (size < 5) return 0;
    size_t off = data[0] & 3, align = data[0] >> 2, len = size - 5;
    const uint8_t *key = data + 1, *in = data + 5;
    uint8_t *want = malloc(len + 1), *buf = malloc(PAD + 64 + len + PAD);
    int want_ascii = 1;

    FUZZ_CHECK(want && buf);
    for (size_t i = 0; i < len; i++) {
        want[i] = in[i] ^ key[(off + i) % 4];
        want_ascii &= want[i] < 0x80;
    }
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        if (ws_frame_mask_use(variants[v]) != 0) continue; /* not on this CPU */
        uint8_t *p = buf + PAD + align;
        memset(buf, 0x5a, PAD + 64 + len + PAD);
        memcpy(p, in, len);
        FUZZ_CHECK(ws_frame_mask(p, len, key, off) == want_ascii);
        FUZZ_CHECK(len == 0 || memcmp(p, want, len) == 0);
        for (size_t i = 0; i < PAD + align; i++) FUZZ_CHECK(buf[i] == 0x5a);
        for (size_t i = PAD + align + len; i < PAD + 64 + len + PAD; i++)
            FUZZ_CHECK(buf[i] == 0x5a);
    }
    ws_frame_mask_use(WS_MASK_AUTO);
    free(want);
    free(buf);
    return 0;
}

/*
 * framing-4.c -- the test for docs/framing.md exercise 4: the reader's
 * my_frame_header() must write exactly the bytes ws_frame_header() writes
 * (RFC 6455 §5.2: FIN, opcode, no mask, the minimal length encoding, the
 * 16- and 64-bit lengths in network byte order) for every length class.
 */
#include "frame.h"

#include <stdio.h>
#include <string.h>

size_t my_frame_header(uint8_t *out, int fin, int opcode, uint64_t len);

int main(void) {
    /* clang-format off */
    static const uint64_t lens[] = { 0, 1, 5, 124, 125, 126, 127, 200, 255, 256, 1000,
                                     65535, 65536, 65537, 70000, 1u << 24, 0xffffffffu,
                                     0x100000000ull, 0x0102030405060708ull,
                                     0x7fffffffffffffffull };
    static const int ops[] = { WS_OP_CONT, WS_OP_TEXT, WS_OP_BINARY, WS_OP_CLOSE, WS_OP_PING,
                               WS_OP_PONG };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
            for (int fin = 0; fin <= 1; fin++) {
                uint8_t want[16], got[16];
                memset(got, 0xee, sizeof(got));
                size_t wn = ws_frame_header(want, fin, ops[k], lens[i]);
                size_t gn = my_frame_header(got, fin, ops[k], lens[i]);
                if (gn != wn || memcmp(want, got, wn) != 0) {
                    printf("fin %d, opcode %d, length %llu: expected", fin, ops[k],
                           (unsigned long long)lens[i]);
                    for (size_t j = 0; j < wn; j++) printf(" %02x", want[j]);
                    printf(" (%zu bytes), got", wn);
                    for (size_t j = 0; j < gn && j < sizeof(got); j++) printf(" %02x", got[j]);
                    printf(" (%zu bytes)\n", gn);
                    return 1;
                }
            }
    return 0;
}

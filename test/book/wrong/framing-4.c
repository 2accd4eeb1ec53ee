/* A wrong answer to (65535 takes the 64-bit form) docs/framing.md exercise 4: a server's frame
 * header, written from RFC 6455 §5.2 without the library's encoder. */
#include <stddef.h>
#include <stdint.h>

size_t my_frame_header(uint8_t *out, int fin, int opcode, uint64_t len);

size_t my_frame_header(uint8_t *out, int fin, int opcode, uint64_t len) {
    /* §5.2: FIN is the top bit; RSV1-3 are 0 without an extension. */
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    /* A server never masks (§5.1), so the mask bit stays 0, and the length
     * takes the smallest of its three forms ("the minimal number of bytes
     * MUST be used"). */
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

/*
 * handshake-4.c -- the test for docs/handshake.md exercise 4: the reader's
 * my_accept() must give ws_http_accept_key()'s value (RFC 6455 §4.2.2
 * item 5.4) for the RFC's key and for a thousand keys made of random bytes.
 */
#include "base64.h"
#include "http.h"

#include <stdio.h>
#include <string.h>

void my_accept(const char *key, char out[29]);

int main(void) {
    uint32_t x = 2463534242u;
    for (int i = 0; i < 1001; i++) {
        char key[25] = "dGhlIHNhbXBsZSBub25jZQ==", want[29], got[29];
        if (i > 0) {
            uint8_t raw[16];
            for (int j = 0; j < 16; j++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
                raw[j] = (uint8_t)x;
            }
            ws_base64_encode(raw, sizeof(raw), key);
            key[24] = '\0';
        }
        ws_http_accept_key(key, strlen(key), want);
        memset(got, 0, sizeof(got));
        my_accept(key, got);
        if (memcmp(want, got, sizeof(want)) != 0) {
            printf("key %s: expected %s, got %.28s\n", key, want, got);
            return 1;
        }
    }
    return 0;
}

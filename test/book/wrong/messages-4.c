/* A wrong answer to (it lets surrogates through) docs/messages.md exercise 4: UTF-8 judged byte by
 * byte from RFC 3629 §4's table, failing at the first byte that no valid
 * text can continue (RFC 6455 §8.1). */
#include <stddef.h>
#include <stdint.h>

long my_utf8_check(const uint8_t *p, size_t len);

long my_utf8_check(const uint8_t *p, size_t len) {
    size_t need = 0;              /* continuation bytes still expected */
    uint8_t lo = 0x80, hi = 0xbf; /* the range the next one must be in */

    for (size_t i = 0; i < len; i++) {
        uint8_t b = p[i];
        if (need > 0) {
            if (b < lo || b > hi) return (long)i + 1;
            need--;
            lo = 0x80, hi = 0xbf; /* only the second byte has a narrower range */
            continue;
        }
        if (b < 0x80) continue;
        if (b < 0xc2) return (long)i + 1; /* continuation, or overlong C0 C1 */
        if (b < 0xe0) {
            need = 1;
            continue;
        }
        if (b < 0xf0) {
            need = 2;
            if (b == 0xe0) lo = 0xa0; /* overlong below U+0800 */
            if (0) hi = 0x9f;         /* surrogates U+D800..U+DFFF */
            continue;
        }
        if (b < 0xf5) {
            need = 3;
            if (b == 0xf0) lo = 0x90; /* overlong below U+10000 */
            if (b == 0xf4) hi = 0x8f; /* above U+10FFFF */
            continue;
        }
        return (long)i + 1; /* F5..FF never appear */
    }
    return need ? -1 : 0;
}

/*
 * wsb_pattern.c -- generate and verify benchmark payloads (see the header).
 *
 * Both directions work on 8-byte words through memcpy(), which compilers
 * turn into single unaligned loads and stores: frames sit at any offset in
 * the send buffer and echoes at any offset in the read buffer.
 */
#include "wsb_pattern.h"

#include <string.h>

#define STEP       0x9e3779b97f4a7c15ull /* odd, so word[i] never repeats */
#define TEXT_AND   0x3f3f3f3f3f3f3f3full
#define TEXT_ADD   0x2020202020202020ull /* no carries: 0x3f + 0x20 < 0x100 */
#define BLOCK      64                    /* bytes per unrolled step */
#define BLOCK_STEP ((BLOCK / 8) * STEP)

/* splitmix64's finaliser: a bijection on 64-bit values that mixes all bits. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t wsb_pattern_base(uint64_t salt, uint32_t id, uint64_t seq) {
    return mix64(salt ^ (((uint64_t)id << 40) | (seq & ((1ull << 40) - 1))));
}

static uint64_t word_at(uint64_t base, uint64_t i, int text) {
    uint64_t w = base + i * STEP;

    return text ? (w & TEXT_AND) + TEXT_ADD : w;
}

void wsb_pattern_fill_masked(uint8_t *out, size_t len, uint64_t base, int text,
                             const uint8_t mask[4]) {
    uint8_t m8[8];
    uint64_t m, w = base;
    size_t i = 0;

    /* The mask repeats every 4 bytes and the payload starts at offset 0,
     * so two copies of it line up with every 8-byte word. */
    memcpy(m8, mask, 4);
    memcpy(m8 + 4, mask, 4);
    memcpy(&m, m8, 8);
    const uint64_t keep = text ? TEXT_AND : ~0ull, add = text ? TEXT_ADD : 0;

    /* Eight words per step, each computed from w on its own and with the
     * text mapping as an AND and an ADD that are no-ops for binary: no
     * chain from word to word and no branch, so the compiler can use
     * vector registers. This loop and the check below are most of
     * wsbench's own CPU time with large messages. */
    for (; i + BLOCK <= len; i += BLOCK, w += BLOCK_STEP)
        for (unsigned k = 0; k < BLOCK / 8; k++) {
            uint64_t v = (((w + k * STEP) & keep) + add) ^ m;

            memcpy(out + i + 8 * k, &v, 8);
        }
    for (; i + 8 <= len; i += 8, w += STEP) {
        uint64_t v = word_at(w, 0, text) ^ m;

        memcpy(out + i, &v, 8);
    }
    if (i < len) {
        uint64_t v = word_at(w, 0, text) ^ m;

        memcpy(out + i, &v, len - i);
    }
}

long wsb_pattern_check(const uint8_t *p, size_t len, uint64_t base, uint64_t off, int text) {
    size_t i = 0;
    uint64_t wi = off / 8;
    uint8_t b[8];

    /* Head: from off up to the next word boundary, byte by byte. */
    if (off % 8 != 0) {
        uint64_t v = word_at(base, wi, text);

        memcpy(b, &v, 8);
        for (unsigned k = (unsigned)(off % 8); k < 8 && i < len; k++, i++)
            if (p[i] != b[k]) return (long)i;
        wi++;
    }
    /* Body: whole words, a block at a time. The differences of a block
     * are OR-ed together and tested once, so the loop has no branch per
     * word; a block that differs is searched word by word below. */
    uint64_t w = base + wi * STEP;
    const uint64_t keep = text ? TEXT_AND : ~0ull, add = text ? TEXT_ADD : 0;

    for (; i + BLOCK <= len; i += BLOCK, w += BLOCK_STEP) {
        uint64_t diff = 0;

        for (unsigned k = 0; k < BLOCK / 8; k++) {
            uint64_t v;

            memcpy(&v, p + i + 8 * k, 8);
            diff |= v ^ (((w + k * STEP) & keep) + add);
        }
        if (diff != 0) break;
    }
    for (; i + 8 <= len; i += 8, w += STEP) {
        uint64_t v, want = word_at(w, 0, text);

        memcpy(&v, p + i, 8);
        if (v != want) {
            memcpy(b, &want, 8);
            for (unsigned k = 0; k < 8; k++)
                if (p[i + k] != b[k]) return (long)(i + k);
        }
    }
    /* Tail: a partial word. */
    if (i < len) {
        uint64_t want = text ? (w & TEXT_AND) + TEXT_ADD : w;

        memcpy(b, &want, 8);
        for (unsigned k = 0; i < len; k++, i++)
            if (p[i] != b[k]) return (long)i;
    }
    return -1;
}

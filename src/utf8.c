/*
 * utf8.c -- incremental, fail-fast UTF-8 validation (RFC 3629, RFC 6455 §8.1).
 *
 * Every text message and every close reason goes through here, so this is
 * on the hot path: runs of ASCII are skipped eight bytes at a time, and a
 * character that lies wholly inside the buffer is checked in one go. Only a
 * character cut by the end of the buffer goes through the saved state, so
 * any split of the input -- across reads, across frames of one message --
 * gives the same answer, and an invalid byte is reported at the same
 * position, as a single call over the whole message would.
 *
 * Reference card.
 *
 *   UTF-8 byte layout (RFC 3629 §3):
 *
 *     Code points          Byte 1    Byte 2    Byte 3    Byte 4
 *     U+0000..U+007F       0xxxxxxx
 *     U+0080..U+07FF       110xxxxx  10xxxxxx
 *     U+0800..U+FFFF       1110xxxx  10xxxxxx  10xxxxxx
 *     U+10000..U+10FFFF    11110xxx  10xxxxxx  10xxxxxx  10xxxxxx
 *
 *   The layout alone admits forms that are not UTF-8: overlong encodings (a
 *   code point in more bytes than it needs, e.g. C0 AF for '/'), the UTF-16
 *   surrogates U+D800..U+DFFF, and values above U+10FFFF. Unicode §3.9
 *   Table 3-7 lists exactly the well-formed sequences; every restriction
 *   falls on the *second* byte, so an invalid sequence is always detectable
 *   by its second byte at the latest:
 *
 *     Code points          Byte 1    Byte 2    Byte 3    Byte 4
 *     U+0000..U+007F       00..7F
 *     U+0080..U+07FF       C2..DF    80..BF
 *     U+0800..U+0FFF       E0        A0..BF    80..BF             (no overlong)
 *     U+1000..U+CFFF       E1..EC    80..BF    80..BF
 *     U+D000..U+D7FF       ED        80..9F    80..BF             (no surrogate)
 *     U+E000..U+FFFF       EE..EF    80..BF    80..BF
 *     U+10000..U+3FFFF     F0        90..BF    80..BF    80..BF   (no overlong)
 *     U+40000..U+FFFFF     F1..F3    80..BF    80..BF    80..BF
 *     U+100000..U+10FFFF   F4        80..8F    80..BF    80..BF   (<= U+10FFFF)
 *
 *   Bytes that never appear: C0, C1 (they could only start overlong
 *   two-byte forms), F5..FF (they could only start values above U+10FFFF or
 *   the old 5- and 6-byte forms), and 80..BF where a character must start.
 *
 * The state.
 *
 *   Between characters the state is 0. Inside a character it describes the
 *   next byte expected, packed into one word as
 *
 *       bits 16..17  continuation bytes still to come, this one included (1..3)
 *       bits  8..15  the highest value the next byte may take
 *       bits  0..7   the lowest value the next byte may take
 *
 *   so a lead byte maps straight to the state for its second byte (the
 *   table above, row by row), and each later byte accepts 80..BF. Nothing
 *   else is needed: the validator never has to remember the bytes it has
 *   seen, only what it still expects.
 */
#include "utf8.h"

#include <string.h>

/* The state word described above. */
/* clang-format off */
#define EXPECT(count, lo, hi) (((uint32_t)(count) << 16) | ((uint32_t)(hi) << 8) | (uint32_t)(lo))
#define EXPECT_COUNT(st) ((st) >> 16)
#define EXPECT_LO(st) ((st) & 0xffu)
#define EXPECT_HI(st) (((st) >> 8) & 0xffu)

/* Every continuation byte after the second: 10xxxxxx. */
#define CONT_ANY(count) EXPECT(count, 0x80, 0xbf)

/* Eight copies of the ASCII-excluding bit, one per byte of a word. */
#define HIGH_BITS UINT64_C(0x8080808080808080)

/* What a lead byte expects next: a row of Table 3-7, or 0 when the byte
 * cannot start a character (80..BF, C0, C1, F5..FF; 00..7F never get here).
 * A table, one load per character instead of a chain of comparisons: text
 * in most scripts other than Latin is nearly all lead bytes. */
#define L2 EXPECT(1, 0x80, 0xbf)  /* C2..DF */
#define L3 EXPECT(2, 0x80, 0xbf)  /* E1..EC, EE..EF */
#define L4 EXPECT(3, 0x80, 0xbf)  /* F1..F3 */
#define X16 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
static const uint32_t lead_table[256] = {
    X16, X16, X16, X16, X16, X16, X16, X16,  /* 00..7F: ASCII, handled before */
    X16, X16, X16, X16,                      /* 80..BF: continuation bytes */
    0, 0, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2,  /* C0, C1 overlong */
    L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2,
    EXPECT(2, 0xa0, 0xbf),                   /* E0: no overlong < U+0800 */
    L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3,
    EXPECT(2, 0x80, 0x9f),                   /* ED: no surrogates */
    L3, L3,
    EXPECT(3, 0x90, 0xbf),                   /* F0: no overlong < U+10000 */
    L4, L4, L4,
    EXPECT(3, 0x80, 0x8f),                   /* F4: nothing above U+10FFFF */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* F5..FF */
};
/* clang-format on */
_Static_assert(sizeof(lead_table) / sizeof(lead_table[0]) == 256, "one entry per byte");

static uint32_t lead(uint8_t b) { return lead_table[b]; }

/* lo <= b <= hi, in one comparison: b - lo wraps around when b < lo. */
static int in_range(uint8_t b, uint32_t lo, uint32_t hi) { return (uint32_t)(b - lo) <= hi - lo; }

static int is_cont(uint8_t b) { return (b & 0xc0) == 0x80; }

/* How many ASCII bytes start p, given high = (the 8 bytes at p, read as
 * one word) & HIGH_BITS, which is not zero. On a little-endian machine p[0]
 * is the low byte of the word, so the answer is the number of zero bits
 * below the lowest set bit, divided by 8; on a big-endian one it is the
 * zero bits above the highest. Elsewhere, count the bytes. */
static size_t ascii_prefix(const uint8_t *p, uint64_t high) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)p;
    return (size_t)__builtin_ctzll(high) / 8;
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    (void)p;
    return (size_t)__builtin_clzll(high) / 8;
#else
    size_t n = 0;
    (void)high;
    while (p[n] < 0x80) n++;
    return n;
#endif
}

int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t len, size_t *bad) {
    uint32_t st = u->state;
    size_t i = 0;

    /* 1. Finish a character the previous call left open. */
    while (st != 0) {
        if (i == len) goto out;
        if (!in_range(p[i], EXPECT_LO(st), EXPECT_HI(st))) goto fail;
        st = EXPECT_COUNT(st) > 1 ? CONT_ANY(EXPECT_COUNT(st) - 1) : 0;
        i++;
    }

    /* 2. Between characters. */
    while (i < len) {
        if (p[i] < 0x80) {
            /* ASCII: whole words while they are all ASCII, then the ASCII
             * bytes in front of the first non-ASCII one. Text that is not
             * ASCII at all (CJK, say) never comes in here, so it pays
             * nothing for this path. */
            uint64_t high = 0;
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, sizeof(w));
                high = w & HIGH_BITS;
                if (high != 0) break;
                i += 8;
            }
            if (high != 0) {
                i += ascii_prefix(p + i, high);
            } else {
                /* fewer than 8 bytes left */
                while (i < len && p[i] < 0x80) i++;
                if (i == len) break;
            }
        }

        uint32_t want = lead(p[i]);
        if (want == 0) goto fail;
        size_t more = EXPECT_COUNT(want);

        if (len - i <= more) {
            /* 3. The character is cut by the end of the buffer: step
             * through what is here and save what is still expected. */
            st = want;
            i++;
            while (i < len) {
                if (!in_range(p[i], EXPECT_LO(st), EXPECT_HI(st))) goto fail;
                st = CONT_ANY(EXPECT_COUNT(st) - 1); /* count >= 2 here */
                i++;
            }
            goto out;
        }

        /* The whole character is in the buffer: check its second byte
         * against the Table 3-7 row, and any others against 80..BF. */
        i++;
        if (!in_range(p[i], EXPECT_LO(want), EXPECT_HI(want))) goto fail;
        i++;
        if (more >= 2) {
            if (!is_cont(p[i])) goto fail;
            i++;
            if (more == 3) {
                if (!is_cont(p[i])) goto fail;
                i++;
            }
        }
    }

out:
    u->state = st;
    return st == 0 ? WS_UTF8_OK : WS_UTF8_PARTIAL;

fail:
    if (bad) *bad = i;
    return WS_UTF8_INVALID;
}

/*
 * deflate.c -- the RFC 1951 DEFLATE encoder (deflate.h), for
 * permessage-deflate (RFC 7692).
 *
 * Reference card (RFC 1951).
 *
 *   §3.1.1  Bits are packed into bytes starting with the least significant
 *           bit. Numbers (extra bits, LEN, header fields) go in LSB first;
 *           Huffman codes go in starting with their MOST significant bit,
 *           so this encoder stores every code bit-reversed and writes
 *           everything LSB first.
 *
 *   §3.2.3  Each block starts with  BFINAL (1 bit)  BTYPE (2 bits):
 *             00 stored   01 fixed Huffman   10 dynamic Huffman   11 reserved
 *           A permessage-deflate stream never ends, so BFINAL is always 0.
 *
 *   §3.2.4  Stored: skip to the next byte boundary, then LEN (2 bytes, LSB
 *           first), NLEN = ~LEN, then LEN bytes of data (LEN <= 65535).
 *
 *   §3.2.5  The literal/length alphabet: 0..255 literal bytes, 256 end of
 *           block, 257..285 lengths 3..258; the distance alphabet: 0..29,
 *           distances 1..32768. Each length or distance code is followed by
 *           extra bits that pick a value in its range:
 *
 *             code extra lengths   code extra lengths   code extra distances
 *              257   0   3          271   2  27-30        0-3   0   1-4
 *              ...   0   ...        272   2  31-34        4,5   1   5-8
 *              264   0   10         273   3  35-42        6,7   2   9-16
 *              265   1   11,12      ...                   ...  ...  ...
 *              ...                  284   5  227-257     26,27 12  8193-16384
 *              268   1   17,18      285   0  258         28,29 13  16385-32768
 *
 *           (the whole tables are in rfc1951.h, which inflate.c shares).
 *
 *   §3.2.6  Fixed Huffman code: literal/length 0-143 have 8 bits, 144-255 9
 *           bits, 256-279 7 bits, 280-287 8 bits; distances 5 bits.
 *
 *   §3.2.7  Dynamic Huffman header: HLIT - 257 (5 bits), HDIST - 1 (5),
 *           HCLEN - 4 (4), then HCLEN 3-bit lengths of the code-length code
 *           in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 15,
 *           then the HLIT + HDIST code lengths (one sequence; repeats may
 *           cross from one table into the other) in the code-length
 *           alphabet:  0-15 a length;  16 repeat the previous length 3-6
 *           times (2 extra bits);  17 repeat 0 3-10 times (3 extra bits);
 *           18 repeat 0 11-138 times (7 extra bits).
 *           §3.2.2: codes are canonical -- shorter codes first, codes of one
 *           length in symbol order -- so the lengths alone define them.
 *
 *   RFC 7692 §7.2.1: a message ends with a sync flush (the current block,
 *   then an empty stored block, whose LEN/NLEN are 00 00 ff ff), and the
 *   four bytes 00 00 ff ff are removed; the receiver puts them back.
 *
 * How this encoder works.
 *
 *   The window. Input is copied into win[0..B) (B = 2P; P is the window
 *   size, 4 KiB at least). Positions are offsets into win, so they fit in
 *   16 bits (B <= 65536). When the buffer is full and the next position to
 *   match, cur, is so close to its end that a longest match (258 bytes)
 *   might not fit, the upper half is moved down by P ("a slide") and every
 *   stored position is lowered by P. Distances never exceed max_dist <= P -
 *   MIN_LOOKAHEAD - 1, so a slide only forgets positions no match could use
 *   any more. A slide does end the block being built, whose bytes must stay
 *   in the window until it is written (it may go out stored): that is why
 *   slides happen only when the buffer is full, a point that depends on
 *   the input and the flushes alone.
 *
 *   Matches. A 4-byte hash of the bytes at each position indexes head[],
 *   the latest position with that hash; prev[pos % window] links to the
 *   one before (levels >= 2). Position 0 doubles as "no entry", so the very
 *   first byte of a stream is never matched against -- zlib has the same
 *   convention, and that is why RFC 7692 §7.2.3.2 shows the second "Hello"
 *   as a literal 'H' and a match of 4, which this encoder reproduces.
 *   Level 1 probes head[] once and takes the match greedily, hashing only
 *   three of the positions inside it. Levels 2..9 hash every position,
 *   follow the chain (longer at higher levels) and match lazily: a match is
 *   only taken after checking that the next position does not start a
 *   longer one.
 *
 *   Blocks. Literals and matches are recorded as 32-bit symbols, with their
 *   frequencies, until sym_cap of them are gathered, a flush comes, or the
 *   block's bytes are about to be slid out of the window. Then the exact
 *   size of the block is computed as stored, fixed and dynamic Huffman, and
 *   the smallest is chosen (ties: the simpler). Consecutive blocks that
 *   choose "stored" are merged into one run, written as stored blocks of up
 *   to 65535 bytes when a Huffman block, a flush or a slide comes, so
 *   incompressible data costs 5 bytes per half window buffer (32 KiB at
 *   window 15; 64 KiB blocks at level 0), not per block.
 *
 *   Streaming. Output is written straight into the caller's buffer through
 *   a 64-bit bit buffer. When the buffer is full the emission stops in a
 *   resumable state (which part of which block, how far) and the next call
 *   goes on from there; nothing but the bit buffer is held back, so the
 *   state needs no output buffer of its own. Positions are only processed
 *   with MIN_LOOKAHEAD bytes ahead of them, unless the caller flushes, so
 *   the symbols -- and so the bytes -- never depend on how the input or the
 *   output space was cut.
 */
#include "deflate.h"
#include "error.h"
#include "rfc1951.h"

#if defined(__SSE2__)
#include <emmintrin.h> /* compiler intrinsics, no library: see lower_positions() */
#endif

#include <string.h>

/* RFC 1951 §3.2.5. */
#define MIN_MATCH         3
#define MAX_MATCH         258
#define END_BLOCK         256
#define LITLEN_SYMS       286 /* 0..285; 286 and 287 never occur */
/* ... but the fixed code (§3.2.6) gives them 8-bit codes, and every 9-bit
 * code is numbered after them (§3.2.2), so they count there. */
#define FIXED_LITLEN_SYMS 288
#define DIST_SYMS         30    /* 0..29; 30 and 31 never occur */
#define CL_SYMS           19    /* §3.2.7: the code-length alphabet */
#define MAX_BITS          15    /* longest literal/length or distance code */
#define MAX_CL_BITS       7     /* longest code-length code (3-bit fields) */
#define MAX_STORED        65535 /* §3.2.4: LEN is 16 bits */

/* Matches are found through a hash of 4 bytes, so they are 4..258 long. */
#define HASH_BYTES 4
#define HASH_MUL   0x9e3779b1u /* 2^32 / golden ratio: spreads the bits */

/* A search at cur reads up to cur + MAX_MATCH; taking a lazy match that
 * started at cur - 1 hashes positions up to cur + MAX_MATCH - 2, which
 * read HASH_BYTES bytes each. */
#define MIN_LOOKAHEAD (MAX_MATCH + HASH_BYTES)

/* Every piece of the state is aligned to this inside the caller's block. */
#define ALIGN 64

/* Emission phases (what emit() is in the middle of). */
enum {
    EM_NONE = 0, /* between blocks: look at what is queued */
    EM_STORED,   /* copying the data of a stored block */
    EM_HEADER,   /* a Huffman block's header, item by item */
    EM_SYMBOLS   /* a Huffman block's symbols */
};

/* Block types, as BTYPE (§3.2.3). */
enum { BT_STORED = 0, BT_FIXED = 1, BT_DYNAMIC = 2 };

/* The end-of-message marker still to be written. */
enum { MARK_NONE = 0, MARK_MESSAGE_END, MARK_SYNC };

/*
 * Per-level parameters. chain: how many candidates a search looks at;
 * good: once the previous match is this long, look at a quarter as many;
 * nice: stop at a match this long; lazy: once the previous match is this
 * long, take it without searching the next position. Level 1 does not use
 * them: one probe, greedy. Levels 2 and 3 are nearly greedy (lazy is
 * small), 4..9 lazy with longer and longer chains. (Level 6: a chain of
 * 128 instead of 64 costs 8-14 % more time for 0.1-0.3 % smaller output;
 * either is within 0.3 % of zlib's level 6 on the benchmark corpus.)
 */
static const struct level_params {
    uint16_t chain, good, nice, lazy;
} params[10] = {
    /* 0 */ { 0, 0, 0, 0 },
    /* 1 */ { 1, 0, 0, 0 },
    /* 2 */ { 4, 4, 16, 4 },
    /* 3 */ { 8, 4, 32, 6 },
    /* 4 */ { 16, 4, 32, 8 },
    /* 5 */ { 32, 8, 64, 16 },
    /* 6 */ { 64, 8, 128, 16 },
    /* 7 */ { 128, 8, 128, 32 },
    /* 8 */ { 1024, 32, 258, 128 },
    /* 9 */ { 4096, 32, 258, 258 },
};

/* Codes ready for writing, bit-reversed (§3.1.1): ltab as code | bits <<
 * 24; dtab as code | code bits << 16 | code + extra bits << 24; mtab, per
 * length - 3, the length code and its extra bits together, as ltab. */
struct code_tables {
    uint32_t ltab[LITLEN_SYMS];
    uint32_t dtab[DIST_SYMS];
    uint32_t mtab[256];
};

struct ws_deflate {
    /* Configuration, fixed by ws_deflate_init(). */
    int level;
    unsigned hash_shift; /* 32 - hash bits */
    uint32_t wmask;      /* window size - 1: prev[] is indexed by pos & wmask */
    uint32_t half;       /* P: a slide moves the window down by this much */
    uint32_t buf_size;   /* B = 2P bytes of window buffer */
    uint32_t max_dist;   /* the longest distance ever used */
    uint32_t sym_cap;    /* symbols per block */
    uint32_t hash_size;  /* entries in head[] */
    struct level_params lp;
    uint8_t *win;   /* [buf_size] */
    uint16_t *head; /* [hash_size]: latest position per hash; 0 = none */
    uint16_t *prev; /* [wmask + 1]: the position before, same hash */
    uint32_t *syms; /* [sym_cap]: the block being built */

    /* The window: win[0..end) holds input, cur is the next position to
     * match, positions before it are matched, hashed and recorded (up to
     * the pending lazy one). */
    uint32_t cur, end;
    uint32_t block_start; /* first byte of the block being built */
    uint32_t have_prev;   /* lazy: position cur - 1 is not recorded yet */
    uint32_t prev_len;    /*   and the match found there (0: none) */
    uint32_t prev_dist;
    uint32_t nsym; /* symbols recorded in syms[] */
    uint32_t slid; /* a slide happened since the last reset */

    /* Bytes decided to go out as stored blocks, not yet written: win[
     * run_start .. run_start + run_len). run_all: write all of it now. */
    uint32_t run_start, run_len;
    uint32_t run_all;

    /* Output. Bits not yet written: the low bitcnt bits of bitbuf. */
    uint64_t bitbuf;
    uint32_t bitcnt;
    uint32_t em;         /* EM_* */
    uint32_t em_idx;     /* progress inside the phase */
    uint32_t piece;      /* EM_STORED: LEN of the stored block */
    uint32_t blk_ready;  /* a Huffman block is decided and queued */
    uint32_t blk_type;   /* BT_FIXED or BT_DYNAMIC */
    uint32_t marker;     /* MARK_*: the empty stored block to write */
    uint32_t busy;       /* the last call returned WS_DEFLATE_OUTPUT_FULL */
    uint32_t flush_done; /* this call's flush marker is queued or written */

    /* The dynamic header: HLIT, HDIST, HCLEN and the run-length coded code
     * lengths (symbol | extra value << 5). */
    uint32_t hlit, hdist, hclen, nitems;
    uint16_t items[LITLEN_SYMS + DIST_SYMS];
    uint8_t cl_len[CL_SYMS];
    uint16_t cl_code[CL_SYMS];

    /* Statistics of the block being built, and which symbols occur in it
     * (in order of first appearance), so that ending a short block costs
     * in proportion to the symbols it uses, not to the alphabet. */
    uint32_t lfreq[LITLEN_SYMS];
    uint32_t dfreq[DIST_SYMS];
    uint16_t lused[LITLEN_SYMS];
    uint16_t dused[DIST_SYMS];
    uint32_t nlused, ndused;

    /* The codes of the block being written: the fixed code (built once, by
     * ws_deflate_init()) or the block's own. */
    const struct code_tables *codes;
    struct code_tables fixed, dyn;

    uint8_t len_sym[256]; /* length - 3 -> length code - 257 */
};

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static size_t align_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Store v as 8 bytes, least significant first (the bit order of §3.1.1). */
static void store64le(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* Index of the highest set bit of v > 0. */
static unsigned top_bit(uint32_t v) {
#if defined(__GNUC__)
    return 31u - (unsigned)__builtin_clz(v);
#else
    unsigned b = 0;
    while (v >>= 1) b++;
    return b;
#endif
}

/* Index of the lowest set bit of v > 0. */
static unsigned lowest_bit(uint64_t v) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(v);
#else
    unsigned b = 0;
    while (!(v & 1)) {
        v >>= 1;
        b++;
    }
    return b;
#endif
}

/* How many bytes a[0..max) and b[0..max) have in common at the start.
 * Eight bytes at a time: the first differing byte is the lowest set byte
 * of the XOR on a little-endian machine, the highest on a big-endian one. */
static uint32_t match_len(const uint8_t *a, const uint8_t *b, uint32_t max) {
    uint32_t n = 0;
#if defined(__GNUC__) && defined(__BYTE_ORDER__)
    while (n + 8 <= max) {
        uint64_t x = load64(a + n) ^ load64(b + n);
        if (x != 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return n + (uint32_t)__builtin_ctzll(x) / 8;
#else
            return n + (uint32_t)__builtin_clzll(x) / 8;
#endif
        }
        n += 8;
    }
#endif
    while (n < max && a[n] == b[n]) n++;
    return n;
}

/* §3.2.5: the distance code of distance d + 1. Codes 2k and 2k + 1 cover
 * [2^b, 2^(b+1)) of d (b = k + 1), split by the bit below the top one. */
static unsigned dist_sym(uint32_t d) {
    if (d < 4) return d;
    unsigned b = top_bit(d);
    return 2 * b + ((d >> (b - 1)) & 1);
}

static uint32_t hash4(const ws_deflate *d, const uint8_t *p) {
    return (load32(p) * HASH_MUL) >> d->hash_shift;
}

/* ---------------------------------------------------------------------- */
/* Huffman codes                                                           */

/*
 * Code lengths for the *pm symbols used[0..*pm) with the given frequencies
 * (all non-zero): an optimal prefix code, none longer than max_bits,
 * complete (the Kraft sum is exactly 1, as zlib's inflate demands of every
 * code but a lone distance code). Only len[used[i]] is written; the caller
 * has set the other lengths to 0. When fewer than two symbols are used,
 * symbol 0 or 1 (or both) is given length 1 as well, with frequency 0, and
 * added to used[] (which has room): every code then has two codes of one
 * bit at least -- a one-code tree is legal only for distances, and some
 * decoders refuse even that.
 *
 * The order: by frequency, ties in the order of used[] (first appearance
 * in the block). Small blocks have small frequencies, so a counting sort
 * does; larger ones use an insertion sort on the same key. Either way the
 * same order, so the output never depends on which ran.
 *
 * The tree: Huffman's algorithm with two queues. The leaves, sorted, form
 * one; the merged nodes, which are made in order of weight, the other;
 * each step merges the two lightest fronts (a leaf on a tie, which keeps
 * the tree shallow). A leaf's length is its depth.
 *
 * The limit: if some depth exceeds max_bits, those leaves are put at
 * max_bits, which makes the Kraft sum K (in units of 2^-max_bits) too
 * large. Then, while K > 2^max_bits, take a leaf at the deepest level b <
 * max_bits and one leaf at max_bits, and hang both below the first's old
 * place (level b + 1): K drops by exactly 1 each time, so it ends exactly
 * at 2^max_bits. Lengths are then handed out again, shortest to the most
 * frequent symbols.
 */
#define COUNTING_SORT_MAX 1024 /* frequencies below this: counting sort */
static void huff_lengths(const uint32_t *freq, uint16_t *used, unsigned *pm, unsigned max_bits,
                         uint8_t *len) {
    uint32_t key[LITLEN_SYMS];        /* freq << 9 | index into used[], sorted */
    uint32_t weight[LITLEN_SYMS];     /* merged nodes, in order of creation */
    uint16_t parent[2 * LITLEN_SYMS]; /* leaves 0..m-1, then nodes m.. */
    uint16_t depth[2 * LITLEN_SYMS];
    unsigned count[MAX_BITS + 2] = { 0 }, m = *pm;
    uint32_t maxf = 0;

    if (m < 2) {
        /* The partners join used[], so that huff_codes() numbers them. */
        if (m == 0) used[m++] = 1;
        used[m++] = used[0] == 0 ? 1 : 0;
        len[used[0]] = len[used[1]] = 1;
        *pm = m;
        return;
    }
    for (unsigned i = 0; i < m; i++)
        if (freq[used[i]] > maxf) maxf = freq[used[i]];
    if (maxf < COUNTING_SORT_MAX) {
        uint16_t start[COUNTING_SORT_MAX + 1];
        memset(start, 0, (maxf + 2) * sizeof(start[0]));
        for (unsigned i = 0; i < m; i++) start[freq[used[i]] + 1]++;
        for (uint32_t f = 1; f <= maxf + 1; f++) start[f] = (uint16_t)(start[f] + start[f - 1]);
        for (unsigned i = 0; i < m; i++) {
            uint32_t f = freq[used[i]];
            key[start[f]++] = f << 9 | i;
        }
    } else {
        for (unsigned i = 0; i < m; i++) {
            uint32_t k = freq[used[i]] << 9 | i;
            unsigned j = i;
            while (j > 0 && key[j - 1] > k) {
                key[j] = key[j - 1];
                j--;
            }
            key[j] = k;
        }
    }

    unsigned leaf = 0, node = 0;
    for (unsigned made = 0; made < m - 1; made++) {
        uint32_t w = 0;
        for (int pick = 0; pick < 2; pick++) {
            unsigned who;
            if (leaf < m && (node >= made || (key[leaf] >> 9) <= weight[node])) {
                w += key[leaf] >> 9;
                who = leaf++;
            } else {
                w += weight[node];
                who = m + node++;
            }
            parent[who] = (uint16_t)(m + made);
        }
        weight[made] = w;
    }
    /* Depths from the root (the last node made) down. */
    unsigned root = m + m - 2;
    depth[root] = 0;
    for (unsigned i = root; i-- > m;) depth[i] = (uint16_t)(depth[parent[i]] + 1);
    unsigned over = 0;
    for (unsigned i = 0; i < m; i++) {
        unsigned dd = depth[parent[i]] + 1u;
        if (dd > max_bits) {
            dd = max_bits;
            over = 1;
        }
        count[dd]++;
    }
    if (over) {
        uint32_t k = 0, target = (uint32_t)1 << max_bits;
        for (unsigned b = 1; b <= max_bits; b++) k += count[b] << (max_bits - b);
        while (k > target) {
            unsigned b = max_bits - 1;
            while (count[b] == 0) b--;
            count[b]--;
            count[b + 1] += 2;
            count[max_bits]--;
            k--;
        }
    }
    /* Shortest lengths to the most frequent symbols. */
    unsigned b = 1;
    for (unsigned i = m; i-- > 0;) {
        while (count[b] == 0) b++;
        len[used[key[i] & 511]] = (uint8_t)b;
        count[b]--;
    }
}

/* How many of p[0..max) equal v, from the start: eight at a time. */
static unsigned run_length(const uint8_t *p, unsigned max, uint8_t v) {
    unsigned n = 0;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t vv = v * UINT64_C(0x0101010101010101);
    while (n + 8 <= max) {
        uint64_t x = load64(p + n) ^ vv;
        if (x != 0) return n + (unsigned)__builtin_ctzll(x) / 8;
        n += 8;
    }
#endif
    while (n < max && p[n] == v) n++;
    return n;
}

/* The low len bits of v in the opposite order. */
static uint32_t reverse_bits(uint32_t v, unsigned len) {
    v = ((v >> 1) & 0x5555) | ((v & 0x5555) << 1);
    v = ((v >> 2) & 0x3333) | ((v & 0x3333) << 2);
    v = ((v >> 4) & 0x0f0f) | ((v & 0x0f0f) << 4);
    v = ((v >> 8) & 0x00ff) | ((v & 0x00ff) << 8);
    return v >> (16 - len);
}

/* §3.2.2: the canonical codes for the symbols used[0..m) (any order; the
 * other symbols have length 0), bit-reversed for writing LSB first
 * (§3.1.1). Codes of one length go to their symbols in increasing order,
 * so the symbols are visited through a bitmap, lowest first. */
static void huff_codes(const uint8_t *len, const uint16_t *used, unsigned m, uint16_t *code) {
    unsigned count[MAX_BITS + 1] = { 0 }, next[MAX_BITS + 1];
    uint64_t set[(FIXED_LITLEN_SYMS + 63) / 64] = { 0 };
    for (unsigned i = 0; i < m; i++) {
        count[len[used[i]]]++;
        set[used[i] / 64] |= (uint64_t)1 << (used[i] % 64);
    }
    count[0] = 0;
    unsigned c = 0;
    for (unsigned b = 1; b <= MAX_BITS; b++) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (unsigned w = 0; w < sizeof(set) / sizeof(set[0]); w++)
        for (uint64_t bits = set[w]; bits != 0; bits &= bits - 1) {
            unsigned s = w * 64 + lowest_bit(bits);
            if (len[s]) code[s] = (uint16_t)reverse_bits(next[len[s]]++, len[s]);
        }
}

/* §3.2.6: the fixed code's lengths, for all FIXED_LITLEN_SYMS literal/
 * length symbols. */
static void fixed_lengths(uint8_t *llen, uint8_t *dlen) {
    for (unsigned s = 0; s < FIXED_LITLEN_SYMS; s++)
        llen[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    for (unsigned s = 0; s < DIST_SYMS; s++) dlen[s] = 5;
}

/* §3.2.7: the code lengths llen[0..hlit) dlen[0..hdist), as one sequence,
 * in the code-length alphabet. Each item is symbol | extra value << 5. */
static unsigned rle_lengths(const uint8_t *llen, unsigned hlit, const uint8_t *dlen, unsigned hdist,
                            uint16_t *items) {
    uint8_t all[LITLEN_SYMS + DIST_SYMS];
    unsigned total = hlit + hdist, n = 0;
    memcpy(all, llen, hlit);
    memcpy(all + hlit, dlen, hdist);
    for (unsigned i = 0; i < total;) {
        unsigned l = all[i], run = 1 + run_length(all + i + 1, total - i - 1, all[i]);
        i += run;
        if (l == 0) {
            while (run >= 11) {
                unsigned k = run < 138 ? run : 138;
                items[n++] = (uint16_t)(18 | (k - 11) << 5);
                run -= k;
            }
            if (run >= 3) {
                items[n++] = (uint16_t)(17 | (run - 3) << 5);
                run = 0;
            }
        } else {
            items[n++] = (uint16_t)l;
            run--;
            while (run >= 3) {
                unsigned k = run < 6 ? run : 6;
                items[n++] = (uint16_t)(16 | (k - 3) << 5);
                run -= k;
            }
        }
        while (run-- > 0) items[n++] = (uint16_t)l;
    }
    return n;
}

/* Extra bits of the code-length symbols 16, 17, 18. */
static unsigned cl_extra_bits(unsigned sym) {
    return sym == 16 ? 2 : sym == 17 ? 3 : sym == 18 ? 7 : 0;
}

/* Fill t for writing with these lengths: the entries of the symbols in
 * lused[] and dused[], which are all those with a length (for the fixed
 * code, all FIXED_LITLEN_SYMS and DIST_SYMS of them). */
static void build_tables(struct code_tables *t, const uint8_t *llen, const uint8_t *dlen,
                         const uint16_t *lused, unsigned nlused, const uint16_t *dused,
                         unsigned ndused) {
    uint16_t lcode[FIXED_LITLEN_SYMS], dcode[DIST_SYMS];
    huff_codes(llen, lused, nlused, lcode);
    huff_codes(dlen, dused, ndused, dcode);
    for (unsigned i = 0; i < nlused; i++) {
        unsigned s = lused[i];
        if (s >= LITLEN_SYMS) continue; /* 286, 287 (fixed code): never written */
        t->ltab[s] = lcode[s] | (uint32_t)llen[s] << 24;
        if (s <= END_BLOCK) continue;
        /* A length code: every length it covers, with its extra bits. */
        unsigned ls = s - 257, bits = llen[s];
        unsigned first = rfc1951_len_base[ls] - MIN_MATCH;
        unsigned last = ls == 28 ? 255 : rfc1951_len_base[ls + 1] - 4u;
        for (unsigned l = first; l <= last; l++)
            t->mtab[l] = (lcode[s] | (l - first) << bits) | (bits + rfc1951_len_extra[ls]) << 24;
    }
    for (unsigned i = 0; i < ndused; i++) {
        unsigned s = dused[i];
        t->dtab[s] =
            dcode[s] | (uint32_t)dlen[s] << 16 | (uint32_t)(dlen[s] + rfc1951_dist_extra[s]) << 24;
    }
}

/* ---------------------------------------------------------------------- */
/* Sizes and layout                                                        */

/* The geometry for a window of 2^window_bits bytes. */
struct geometry {
    uint32_t wsize, half, buf_size, max_dist, sym_cap, hash_size;
    size_t off_win, off_head, off_prev, off_syms, total;
};

static int geometry(unsigned window_bits, int level, struct geometry *g) {
    if (window_bits < WS_DEFLATE_MIN_WINDOW_BITS || window_bits > WS_DEFLATE_MAX_WINDOW_BITS ||
        level < 0 || level > 9)
        return 0;
    g->wsize = (uint32_t)1 << window_bits;
    /* The buffer is at least 8 KiB so that a block -- which must stay in
     * the buffer until it is written, in case it goes out stored -- can be
     * long enough to amortize its header. */
    g->half = g->wsize > 4096 ? g->wsize : 4096;
    g->buf_size = 2 * g->half;
    g->max_dist = min_u32(g->wsize, g->half - MIN_LOOKAHEAD - 1);
    g->sym_cap = min_u32(8192, g->half / 2);
    /* Up to 2^14 entries (32 KiB), fewer for the smaller windows. A
     * larger table gains little: at window 15, 2^15 entries make level 1's
     * output 0.2-0.5 % smaller but level 1 a quarter slower on binary data
     * (the table no longer stays in cache), and change nothing at level 6,
     * whose chains sort out collisions anyway. */
    unsigned hash_bits = window_bits < 12 ? 12 : window_bits > 14 ? 14 : window_bits;
    g->hash_size = level == 0 ? 0 : (uint32_t)1 << hash_bits;

    g->off_win = align_up(sizeof(struct ws_deflate));
    g->off_head = g->off_win + align_up(g->buf_size);
    g->off_prev = g->off_head + align_up((size_t)g->hash_size * sizeof(uint16_t));
    g->off_syms = g->off_prev + (level >= 2 ? align_up((size_t)g->wsize * sizeof(uint16_t)) : 0);
    g->total = g->off_syms + (level >= 1 ? align_up((size_t)g->sym_cap * sizeof(uint32_t)) : 0);
    return 1;
}

size_t ws_deflate_size(unsigned window_bits, int level) {
    struct geometry g;
    return geometry(window_bits, level, &g) ? g.total : 0;
}

size_t ws_deflate_bound(size_t in_len) {
    /*
     * A block is written in whichever form is smallest, so it never costs
     * more than the same bytes stored from where the output stands: 8 bits
     * a byte, at most 42 more (3 header bits, up to 7 of padding, 32 of
     * LEN/NLEN) and 40 more per further 65,535 bytes. A block that joins a
     * stored run costs only its bytes and the headers where the run crosses
     * a multiple of 65,535. The message ends with an empty stored block's
     * header and padding: at most 10 bits. So, for n bytes in B blocks,
     *
     *     bits <= 8n + 42 B + 40 n / 65535 + 10.
     *
     * Every block but the last has 2,048 bytes at least: it ends when it
     * has 2,048 symbols or more (sym_cap), or at a slide, having reached
     * from the lower half of the window buffer past its far end (more than
     * 4,096 - MIN_LOOKAHEAD bytes); level 0's blocks are 8,192 bytes or
     * more. So B <= n / 2048 + 1, and the bytes are at most
     * n + 0.00264 n + 7.5, rounded up here to n + n / 256 + 16. The tests
     * and the fuzzer check it on incompressible data.
     */
    size_t extra = in_len / 256 + 16;
    return in_len + extra < in_len ? SIZE_MAX : in_len + extra;
}

/* Forget the history and every pending byte: the stream starts over. The
 * hash heads are cleared by rehashing the positions used since the last
 * reset when they are few, by clearing the whole table otherwise: a
 * permessage-deflate server without context takeover resets after every
 * message, and most messages are short. */
static void reset_stream(ws_deflate *d) {
    if (d->head != NULL) {
        if (!d->slid && d->end < d->hash_size / 4) {
            for (uint32_t p = 0; p + HASH_BYTES <= d->end; p++) d->head[hash4(d, d->win + p)] = 0;
        } else {
            memset(d->head, 0, (size_t)d->hash_size * sizeof(uint16_t));
        }
    }
    d->cur = d->end = d->block_start = 0;
    d->have_prev = d->prev_len = d->prev_dist = 0;
    d->nsym = 0;
    d->slid = 0;
    d->run_start = d->run_len = d->run_all = 0;
    d->bitbuf = 0;
    d->bitcnt = 0;
    d->em = EM_NONE;
    d->em_idx = d->piece = 0;
    d->blk_ready = 0;
    d->marker = MARK_NONE;
    d->busy = d->flush_done = 0;
    memset(d->lfreq, 0, sizeof(d->lfreq));
    memset(d->dfreq, 0, sizeof(d->dfreq));
    d->nlused = d->ndused = 0;
}

ws_deflate *ws_deflate_init(void *mem, size_t size, unsigned window_bits, int level) {
    struct geometry g;
    if (mem == NULL || !geometry(window_bits, level, &g) || size < g.total) return NULL;

    ws_deflate *d = mem;
    memset(d, 0, sizeof(*d));
    d->level = level;
    d->wmask = g.wsize - 1;
    d->half = g.half;
    d->buf_size = g.buf_size;
    d->max_dist = g.max_dist;
    d->sym_cap = g.sym_cap;
    d->hash_size = g.hash_size;
    d->hash_shift = 32 - (g.hash_size ? top_bit(g.hash_size) : 0);
    d->lp = params[level];
    d->win = (uint8_t *)mem + g.off_win;
    d->head = level >= 1 ? (uint16_t *)(void *)((uint8_t *)mem + g.off_head) : NULL;
    d->prev = level >= 2 ? (uint16_t *)(void *)((uint8_t *)mem + g.off_prev) : NULL;
    d->syms = level >= 1 ? (uint32_t *)(void *)((uint8_t *)mem + g.off_syms) : NULL;

    for (unsigned s = 0; s < 28; s++)
        for (unsigned l = rfc1951_len_base[s] - 3u; l < rfc1951_len_base[s + 1] - 3u; l++)
            d->len_sym[l] = (uint8_t)s;
    d->len_sym[255] = 28; /* 258 has a code of its own (285), not 284 + 31 */
    uint8_t fl[FIXED_LITLEN_SYMS], fd[DIST_SYMS];
    uint16_t all[FIXED_LITLEN_SYMS];
    for (unsigned s = 0; s < FIXED_LITLEN_SYMS; s++) all[s] = (uint16_t)s;
    fixed_lengths(fl, fd);
    build_tables(&d->fixed, fl, fd, all, FIXED_LITLEN_SYMS, all, DIST_SYMS);
    d->codes = &d->fixed;

    d->slid = 1; /* the table holds garbage: clear all of it */
    reset_stream(d);
    return d;
}

void ws_deflate_reset(ws_deflate *d) {
    if (d != NULL) reset_stream(d);
}

/* ---------------------------------------------------------------------- */
/* Ending a block: choose its form                                         */

/* Bits a stored run of len bytes costs when it starts bitpos bits into a
 * byte: a header, padding and LEN/NLEN per 65535 bytes, and the bytes. */
static uint64_t stored_bits(uint32_t len, uint32_t bitpos) {
    uint32_t pieces = len == 0 ? 1 : (len + MAX_STORED - 1) / MAX_STORED;
    uint32_t first = 3 + (8 - (bitpos + 3) % 8) % 8;
    return first + 32 + (uint64_t)(pieces - 1) * 40 + (uint64_t)len * 8;
}

/* Add the block's bytes to the stored run. */
static void join_run(ws_deflate *d, uint32_t end_pos) {
    if (d->run_len == 0) d->run_start = d->block_start;
    d->run_len += end_pos - d->block_start;
    d->block_start = end_pos;
    d->nsym = 0;
}

/*
 * The block [block_start, end_pos) with its nsym symbols is complete:
 * compute its size in each form and queue the smallest (on a tie the
 * simpler form: stored, then fixed). Stored blocks join the stored run
 * (written later, with the bytes from the window); a Huffman block makes
 * the run before it go out first.
 */
static void end_block(ws_deflate *d, uint32_t end_pos) {
    uint32_t raw = end_pos - d->block_start;
    uint8_t llen[LITLEN_SYMS], dlen[DIST_SYMS];
    uint32_t clfreq[CL_SYMS] = { 0 };
    uint16_t clused[CL_SYMS];
    uint64_t fixed = 3, dyn = 3 + 5 + 5 + 4, stored;
    unsigned hlit = 257, hdist = 1, hclen = CL_SYMS, nclused = 0;
    const uint32_t *lf = d->lfreq, *df = d->dfreq;

    if (raw == 0) return;
    if (d->level == 0) {
        join_run(d, end_pos);
        return;
    }

    d->lfreq[END_BLOCK] = 1;
    d->lused[d->nlused++] = END_BLOCK;
    memset(llen, 0, sizeof(llen));
    memset(dlen, 0, sizeof(dlen));
    huff_lengths(lf, d->lused, &d->nlused, MAX_BITS, llen);
    huff_lengths(df, d->dused, &d->ndused, MAX_BITS, dlen);

    /* Both Huffman forms in one pass. §3.2.6: the fixed code has 8 bits for
     * literals 0..143, 9 for 144..255, 7 for 256..279, 8 for 280..287, 5
     * for distances; extra bits cost the same in both forms. */
    for (unsigned i = 0; i < d->nlused; i++) {
        unsigned s = d->lused[i];
        if (s < 256) {
            fixed += (uint64_t)lf[s] * (s < 144 ? 8 : 9);
            dyn += (uint64_t)lf[s] * llen[s];
        } else {
            unsigned x = s > END_BLOCK ? rfc1951_len_extra[s - 257] : 0;
            fixed += (uint64_t)lf[s] * ((s < 280 ? 7 : 8) + x);
            dyn += (uint64_t)lf[s] * (llen[s] + x);
        }
        if (s >= hlit) hlit = s + 1;
    }
    for (unsigned i = 0; i < d->ndused; i++) {
        unsigned s = d->dused[i];
        fixed += (uint64_t)df[s] * (5 + rfc1951_dist_extra[s]);
        dyn += (uint64_t)df[s] * (dlen[s] + rfc1951_dist_extra[s]);
    }

    /* §3.2.7: the header of the dynamic form. (A lone or missing distance
     * code was given a partner of length 1 at 0 or 1 by huff_lengths().) */
    hdist = DIST_SYMS;
    while (hdist > 1 && dlen[hdist - 1] == 0) hdist--;
    d->nitems = rle_lengths(llen, hlit, dlen, hdist, d->items);
    for (unsigned i = 0; i < d->nitems; i++)
        if (clfreq[d->items[i] & 31]++ == 0) clused[nclused++] = d->items[i] & 31;
    memset(d->cl_len, 0, sizeof(d->cl_len));
    huff_lengths(clfreq, clused, &nclused, MAX_CL_BITS, d->cl_len);
    while (hclen > 4 && d->cl_len[rfc1951_cl_order[hclen - 1]] == 0) hclen--;
    dyn += 3 * hclen;
    for (unsigned i = 0; i < nclused; i++) {
        unsigned sym = clused[i];
        dyn += (uint64_t)clfreq[sym] * (d->cl_len[sym] + cl_extra_bits(sym));
    }

    /* Stored: joining a run costs the bytes (and a header if it crosses a
     * multiple of 65535); a new run starts where the output stands now. */
    if (d->run_len > 0) {
        uint32_t crossed = (d->run_len + raw) / MAX_STORED - d->run_len / MAX_STORED;
        stored = (uint64_t)raw * 8 + (uint64_t)crossed * 40;
    } else {
        stored = stored_bits(raw, d->bitcnt & 7);
    }

    int type = stored <= fixed && stored <= dyn ? BT_STORED : fixed <= dyn ? BT_FIXED : BT_DYNAMIC;
    if (type == BT_DYNAMIC) {
        d->hlit = hlit;
        d->hdist = hdist;
        d->hclen = hclen;
        huff_codes(d->cl_len, clused, nclused, d->cl_code);
        build_tables(&d->dyn, llen, dlen, d->lused, d->nlused, d->dused, d->ndused);
    }
    /* The statistics start over for the next block. */
    for (unsigned i = 0; i < d->nlused; i++) d->lfreq[d->lused[i]] = 0;
    for (unsigned i = 0; i < d->ndused; i++) d->dfreq[d->dused[i]] = 0;
    d->nlused = d->ndused = 0;

    if (type == BT_STORED) {
        join_run(d, end_pos);
        return;
    }
    d->blk_type = (uint32_t)type;
    d->codes = type == BT_FIXED ? &d->fixed : &d->dyn;
    d->blk_ready = 1;
    if (d->run_len > 0) d->run_all = 1;
    d->block_start = end_pos;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */

/* Add n bits (the value has no bits above them); bitcnt + n <= 64. */
static void put_bits(ws_deflate *d, uint64_t bits, unsigned n) {
    d->bitbuf |= bits << d->bitcnt;
    d->bitcnt += n;
}

/* Move whole bytes of the bit buffer to the output while there is room.
 * 1 if fewer than 8 bits are left. */
static int drain(ws_deflate *d, uint8_t **o, uint8_t *oend) {
    while (d->bitcnt >= 8 && *o < oend) {
        *(*o)++ = (uint8_t)d->bitbuf;
        d->bitbuf >>= 8;
        d->bitcnt -= 8;
    }
    return d->bitcnt < 8;
}

/* The bits of one symbol (at most 15 + 5 + 15 + 13 = 48) into bb/bc. */
/* clang-format off */
#define PUT_SYMBOL(t, s, bb, bc)                                                    \
    do {                                                                            \
        if ((s) < 0x10000) {                                                        \
            uint32_t e_ = (t)->ltab[s];                                             \
            (bb) |= (uint64_t)(e_ & 0xffff) << (bc);                                \
            (bc) += e_ >> 24;                                                       \
        } else {                                                                    \
            uint32_t e_ = (t)->mtab[(s) & 0xff];                                    \
            unsigned ds_ = ((s) >> 8) & 31;                                         \
            (bb) |= (uint64_t)(e_ & 0xffffff) << (bc);                              \
            (bc) += e_ >> 24;                                                       \
            e_ = (t)->dtab[ds_];                                                    \
            uint64_t v_ = (e_ & 0xffff) |                                           \
                          (uint64_t)(((s) >> 16) - rfc1951_dist_base[ds_]) << ((e_ >> 16) & 0xff); \
            (bb) |= v_ << (bc);                                                     \
            (bc) += e_ >> 24;                                                       \
        }                                                                           \
    } while (0)
/* clang-format on */

/* The symbols of the queued Huffman block, from em_idx on. 1 when all are
 * written (into the bit buffer at least), 0 when the output is full. */
static int emit_symbols(ws_deflate *d, uint8_t **po, uint8_t *oend) {
    uint8_t *o = *po;
    uint64_t bb = d->bitbuf;
    unsigned bc = d->bitcnt;
    const uint32_t *syms = d->syms;
    const struct code_tables *t = d->codes;
    uint32_t i = d->em_idx, n = d->nsym;
    int done = 1;

    while (i < n) {
        if (oend - o >= 8) {
            /* Room for a whole 8-byte store: no checks per byte. bc < 8
             * here, and one symbol adds at most 48 bits. */
            uint32_t s = syms[i++];
            PUT_SYMBOL(t, s, bb, bc);
            store64le(o, bb);
            o += bc >> 3;
            bb >>= bc & 56;
            bc &= 7;
        } else {
            uint32_t s = syms[i++];
            PUT_SYMBOL(t, s, bb, bc);
            while (bc >= 8 && o < oend) {
                *o++ = (uint8_t)bb;
                bb >>= 8;
                bc -= 8;
            }
            if (bc >= 8) {
                done = 0;
                break;
            }
        }
    }
    d->bitbuf = bb;
    d->bitcnt = bc;
    d->em_idx = i;
    *po = o;
    return done;
}

/*
 * Write what is queued -- the stored run when it must go, the Huffman
 * block, the end-of-message marker, in that order -- as far as the output
 * allows. 1 when everything queued is written (but for fewer than 8 bits),
 * 0 when the output is full.
 */
static int emit(ws_deflate *d, uint8_t **po, uint8_t *oend) {
    for (;;) {
        if (!drain(d, po, oend)) return 0;
        switch (d->em) {
        case EM_NONE:
            if (d->run_len >= MAX_STORED || (d->run_len > 0 && d->run_all)) {
                /* §3.2.4: BFINAL 0, BTYPE 00, pad to a byte, LEN, NLEN. */
                uint32_t len = min_u32(d->run_len, MAX_STORED);
                put_bits(d, 0, 3);
                d->bitcnt = (d->bitcnt + 7) & ~7u;
                put_bits(d, len | (uint64_t)(~len & 0xffff) << 16, 32);
                d->piece = len;
                d->em_idx = 0;
                d->em = EM_STORED;
                break;
            }
            if (d->run_len == 0) d->run_all = 0;
            if (d->blk_ready) {
                d->em = EM_HEADER;
                d->em_idx = 0;
                break;
            }
            if (d->marker != MARK_NONE) {
                /* RFC 7692 §7.2.1: an empty stored block ends the message;
                 * without its LEN/NLEN (00 00 ff ff) for a message end. */
                put_bits(d, 0, 3);
                d->bitcnt = (d->bitcnt + 7) & ~7u;
                if (d->marker == MARK_SYNC) put_bits(d, (uint64_t)0xffff << 16, 32);
                d->marker = MARK_NONE;
                break;
            }
            return 1;

        case EM_STORED: {
            /* Byte aligned and drained: bitcnt is 0. */
            size_t room = (size_t)(oend - *po);
            uint32_t n = d->piece - d->em_idx;
            if (room < n) n = (uint32_t)room;
            memcpy(*po, d->win + d->run_start + d->em_idx, n);
            *po += n;
            d->em_idx += n;
            if (d->em_idx < d->piece) return 0;
            d->run_start += d->piece;
            d->run_len -= d->piece;
            d->em = EM_NONE;
            break;
        }

        case EM_HEADER:
            /* Item 0: the block header (and the dynamic counts); then the
             * HCLEN code-length code lengths; then the code lengths. Each
             * item is at most 17 bits. */
            if (d->em_idx == 0) {
                if (d->blk_type == BT_FIXED) {
                    put_bits(d, BT_FIXED << 1, 3);
                    d->em = EM_SYMBOLS;
                    break;
                }
                put_bits(d,
                         BT_DYNAMIC << 1 | (d->hlit - 257) << 3 | (d->hdist - 1) << 8 |
                             (d->hclen - 4) << 13,
                         17);
            } else if (d->em_idx <= d->hclen) {
                put_bits(d, d->cl_len[rfc1951_cl_order[d->em_idx - 1]], 3);
            } else if (d->em_idx <= d->hclen + d->nitems) {
                unsigned it = d->items[d->em_idx - 1 - d->hclen], sym = it & 31;
                put_bits(d, d->cl_code[sym], d->cl_len[sym]);
                put_bits(d, it >> 5, cl_extra_bits(sym));
            } else {
                d->em = EM_SYMBOLS;
                d->em_idx = 0;
                break;
            }
            d->em_idx++;
            break;

        case EM_SYMBOLS:
            if (!emit_symbols(d, po, oend)) return 0;
            put_bits(d, d->codes->ltab[END_BLOCK] & 0xffff, d->codes->ltab[END_BLOCK] >> 24);
            d->nsym = 0;
            d->blk_ready = 0;
            d->em = EM_NONE;
            d->em_idx = 0;
            break;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Matching                                                                */

/* Record a match of len bytes, dist back: §3.2.5 codes, counted, and the
 * symbol dist << 16 | distance code << 8 | len - 3. */
static void record_match(ws_deflate *d, uint32_t len, uint32_t dist) {
    unsigned ds = dist_sym(dist - 1), ls = 257u + d->len_sym[len - MIN_MATCH];
    if (d->lfreq[ls]++ == 0) d->lused[d->nlused++] = (uint16_t)ls;
    if (d->dfreq[ds]++ == 0) d->dused[d->ndused++] = (uint16_t)ds;
    d->syms[d->nsym++] = dist << 16 | ds << 8 | (len - MIN_MATCH);
}

static void record_literal(ws_deflate *d, uint8_t c) {
    if (d->lfreq[c]++ == 0) d->lused[d->nlused++] = c;
    d->syms[d->nsym++] = c;
}

/* Positions to process: all with MIN_LOOKAHEAD bytes ahead, or all when
 * flushing. */
static uint32_t process_limit(const ws_deflate *d, int flush) {
    if (flush) return d->end;
    return d->end >= MIN_LOOKAHEAD ? d->end - MIN_LOOKAHEAD + 1 : 0;
}

/*
 * Level 1: one probe of head[] per position, greedy. Returns 1 when the
 * symbol buffer is full (the block must end), 0 when the positions to
 * process are done.
 */
static int run_fast(ws_deflate *d, int flush) {
    uint8_t *w = d->win;
    uint16_t *head = d->head;
    uint32_t cur = d->cur, end = d->end, stop = process_limit(d, flush);
    int full = 0;

    while (cur < stop) {
        if (d->nsym == d->sym_cap) {
            full = 1;
            break;
        }
        if (end - cur >= HASH_BYTES) {
            uint32_t v = load32(w + cur);
            uint32_t h = (v * HASH_MUL) >> d->hash_shift;
            uint32_t cand = head[h];
            head[h] = (uint16_t)cur;
            if (cand != 0 && cur - cand <= d->max_dist && load32(w + cand) == v) {
                uint32_t max = min_u32(end - cur, MAX_MATCH);
                uint32_t len = HASH_BYTES + match_len(w + cand + 4, w + cur + 4, max - 4);
                record_match(d, len, cur - cand);
                /* Hash a few of the positions the match covers (the one
                 * after its start, its last two): a later repeat of this
                 * stretch then finds it here, not only further back. All of
                 * them would cost a fifth more time for 1.5 % less output
                 * on text. (Without a flush there are always the bytes to
                 * hash them: next + 3 < cur + MIN_LOOKAHEAD <= end.) */
                uint32_t next = cur + len;
                if (end - next >= HASH_BYTES - 1) {
                    head[hash4(d, w + cur + 1)] = (uint16_t)(cur + 1);
                    head[hash4(d, w + next - 2)] = (uint16_t)(next - 2);
                    head[hash4(d, w + next - 1)] = (uint16_t)(next - 1);
                }
                cur = next;
                continue;
            }
        }
        record_literal(d, w[cur]);
        cur++;
    }
    d->cur = cur;
    return full;
}

/* The longest match at cur longer than best, among the chain from cand.
 * Its length (0 if none) and distance. */
static uint32_t longest_match(const ws_deflate *d, uint32_t cur, uint32_t cand, uint32_t best,
                              uint32_t *dist) {
    const uint8_t *w = d->win, *s = w + cur;
    uint32_t max = min_u32(d->end - cur, MAX_MATCH);
    uint32_t chain = d->lp.chain, nice = min_u32(d->lp.nice, max);
    uint32_t limit = cur > d->max_dist ? cur - d->max_dist : 1;
    uint32_t first = load32(s), found = 0;

    if (best >= d->lp.good) chain = (chain + 3) / 4; /* a quarter, never 0 */
    if (best < HASH_BYTES - 1) best = HASH_BYTES - 1;
    if (best >= max) return 0;
    while (cand >= limit) {
        const uint8_t *m = w + cand;
        if (m[best] == s[best] && load32(m) == first) {
            uint32_t len = HASH_BYTES + match_len(m + 4, s + 4, max - 4);
            if (len > best) {
                best = len;
                found = 1;
                *dist = cur - cand;
                if (len >= nice) break;
            }
        }
        if (--chain == 0) break;
        uint32_t next = d->prev[cand & d->wmask];
        if (next >= cand) break; /* overwritten: cand was a window back */
        cand = next;
    }
    return found ? best : 0;
}

static void insert_hash(ws_deflate *d, uint32_t p) {
    uint32_t h = hash4(d, d->win + p);
    d->prev[p & d->wmask] = d->head[h];
    d->head[h] = (uint16_t)p;
}

/* Levels 2..9: hash chains and lazy matching. Returns as run_fast(). */
static int run_chain(ws_deflate *d, int flush) {
    uint8_t *w = d->win;
    uint32_t cur = d->cur, end = d->end, stop = process_limit(d, flush);
    int full = 0;

    while (cur < stop) {
        if (d->nsym == d->sym_cap) {
            full = 1;
            break;
        }
        uint32_t len = 0, dist = 0;
        if (end - cur >= HASH_BYTES) {
            uint32_t h = hash4(d, w + cur);
            uint32_t cand = d->head[h];
            d->prev[cur & d->wmask] = (uint16_t)cand;
            d->head[h] = (uint16_t)cur;
            if (cand != 0 && d->prev_len < d->lp.lazy)
                len = longest_match(d, cur, cand, d->prev_len, &dist);
        }
        if (d->prev_len >= HASH_BYTES && len <= d->prev_len) {
            /* The match at cur - 1 wins: take it, and hash the positions
             * it covers (cur - 1 and cur already are). */
            uint32_t next = cur - 1 + d->prev_len;
            record_match(d, d->prev_len, d->prev_dist);
            for (uint32_t p = cur + 1; p < next; p++)
                if (end - p >= HASH_BYTES) insert_hash(d, p);
            cur = next;
            d->have_prev = 0;
            d->prev_len = 0;
        } else {
            /* cur may start something better: cur - 1 is a literal. */
            if (d->have_prev) record_literal(d, w[cur - 1]);
            d->have_prev = 1;
            d->prev_len = len;
            d->prev_dist = dist;
            cur++;
        }
    }
    d->cur = cur;
    if (!full && flush && cur == end && d->have_prev) {
        if (d->nsym == d->sym_cap) return 1;
        if (d->prev_len >= HASH_BYTES)
            record_match(d, d->prev_len, d->prev_dist);
        else
            record_literal(d, w[cur - 1]);
        d->have_prev = 0;
        d->prev_len = 0;
    }
    return full;
}

/* The first byte not covered by recorded symbols. */
static uint32_t recorded_end(const ws_deflate *d) { return d->cur - d->have_prev; }

/* Level 0: every byte goes into stored blocks of up to this many. */
static uint32_t stored_block_max(const ws_deflate *d) { return min_u32(d->buf_size, MAX_STORED); }

/* ---------------------------------------------------------------------- */
/* Input                                                                   */

/* t[i] = t[i] > p ? t[i] - p : 0 for n entries (n a multiple of 8, t
 * aligned): in SSE2, eight at a time, this is one unsigned saturating
 * subtraction. The hash table is the largest part of the state, so this is
 * most of what a slide costs. */
static void lower_positions(uint16_t *t, uint32_t n, uint32_t p) {
    uint32_t i = 0;
#if defined(__SSE2__)
    uint16_t pv[8] = { (uint16_t)p, (uint16_t)p, (uint16_t)p, (uint16_t)p,
                       (uint16_t)p, (uint16_t)p, (uint16_t)p, (uint16_t)p };
    __m128i vp = _mm_loadu_si128((const __m128i *)(const void *)pv);
    for (; i + 8 <= n; i += 8) {
        __m128i *q = (__m128i *)(void *)(t + i);
        _mm_store_si128(q, _mm_subs_epu16(_mm_load_si128(q), vp));
    }
#endif
    for (; i < n; i++) t[i] = t[i] > p ? (uint16_t)(t[i] - p) : 0;
}

/* Move the upper half of the window down by P. Positions below P are
 * forgotten; none of them was within max_dist of any position still to
 * come. */
static void slide(ws_deflate *d) {
    uint32_t p = d->half;
    memmove(d->win, d->win + p, d->end - p);
    d->cur -= p;
    d->end -= p;
    d->block_start -= p;
    d->run_start = d->run_len ? d->run_start - p : 0;
    lower_positions(d->head, d->hash_size, p);
    if (d->prev != NULL) lower_positions(d->prev, d->wmask + 1, p);
    d->slid = 1;
}

/* Copy input into the window. 1 if a block or run must be written first
 * (it is queued), 0 otherwise. */
static int fill(ws_deflate *d, const uint8_t *in, size_t in_len, size_t *ip) {
    if (*ip == in_len) return 0;
    if (d->level == 0) {
        uint32_t max = stored_block_max(d);
        if (d->end - d->block_start == max) {
            end_block(d, d->end);
            d->run_all = 1;
            return 1;
        }
        if (d->block_start == d->end && d->run_len == 0) d->cur = d->end = d->block_start = 0;
        size_t n = min_u32(max - (d->end - d->block_start), d->buf_size - d->end);
        if (n > in_len - *ip) n = in_len - *ip;
        memcpy(d->win + d->end, in + *ip, n);
        d->end += (uint32_t)n;
        d->cur = d->end;
        *ip += n;
        return 0;
    }
    /* Slide only when the buffer is full: sliding earlier (when cur is
     * near the end but the rest of the input might still fit) would end
     * the block at a point that depends on how the input was cut. A full
     * buffer with room to look ahead is processed first. */
    if (d->end == d->buf_size) {
        if (d->cur + MIN_LOOKAHEAD <= d->buf_size) return 0;
        /* The bytes still to be written must survive the slide. */
        if (d->block_start < d->half && recorded_end(d) > d->block_start) {
            end_block(d, recorded_end(d));
            if (d->blk_ready || d->run_len > 0) {
                if (d->run_len > 0 && d->run_start < d->half) d->run_all = 1;
                return 1;
            }
        }
        if (d->run_len > 0 && d->run_start < d->half) {
            d->run_all = 1;
            return 1;
        }
        slide(d);
    }
    size_t n = d->buf_size - d->end;
    if (n > in_len - *ip) n = in_len - *ip;
    memcpy(d->win + d->end, in + *ip, n);
    d->end += (uint32_t)n;
    *ip += n;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The entry point                                                         */

int ws_deflate_feed(ws_deflate *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                    size_t out_cap, size_t *out_len, int flush) {
    uint8_t none, *o, *oend;
    size_t ip = 0;
    int rc;

    if (in_used) *in_used = 0;
    if (out_len) *out_len = 0;
    if (d == NULL || in_used == NULL || out_len == NULL || (in == NULL && in_len > 0) ||
        (out == NULL && out_cap > 0))
        return WS_E_DEFLATE_ARG;
    if (flush != WS_DEFLATE_NO_FLUSH && flush != WS_DEFLATE_SYNC_FLUSH &&
        flush != WS_DEFLATE_MESSAGE_END)
        return WS_E_DEFLATE_ARG;
    if (out == NULL) {
        o = oend = &none; /* no room, and no arithmetic on NULL */
    } else {
        o = out;
        oend = out + out_cap;
    }
    if (!d->busy) d->flush_done = 0;

    for (;;) {
        if (!emit(d, &o, oend)) {
            rc = WS_DEFLATE_OUTPUT_FULL;
            break;
        }
        if (fill(d, in, in_len, &ip)) continue;
        int flushing = flush != WS_DEFLATE_NO_FLUSH && ip == in_len;
        int full;
        if (d->level == 0)
            full = 0;
        else if (d->level == 1)
            full = run_fast(d, flushing);
        else
            full = run_chain(d, flushing);
        if (full) {
            end_block(d, recorded_end(d));
            continue;
        }
        if (ip < in_len) continue;
        if (!flushing || d->flush_done) {
            rc = WS_DEFLATE_NEED_INPUT;
            break;
        }
        /* Everything is in: end the block, send the stored run, and the
         * empty stored block after them. */
        end_block(d, recorded_end(d));
        if (d->run_len > 0) d->run_all = 1;
        d->marker = flush == WS_DEFLATE_SYNC_FLUSH ? MARK_SYNC : MARK_MESSAGE_END;
        d->flush_done = 1;
    }
    d->busy = rc == WS_DEFLATE_OUTPUT_FULL;
    *in_used = ip;
    *out_len = out != NULL ? (size_t)(o - out) : 0;
    return rc;
}

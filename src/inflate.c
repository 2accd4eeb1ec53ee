/*
 * inflate.c -- RFC 1951 DEFLATE decoding: incremental, allocation-free, and
 * fast when input and output space are plentiful.
 *
 * Reference card (RFC 1951 §3).
 *
 *   Bits (§3.1.1). Bytes are read from first to last, and the bits of each
 *   byte from least to most significant. Fixed-width fields (headers, extra
 *   bits) are numbers stored least significant bit first; Huffman codes are
 *   stored most significant bit first. So a code read off the stream lands
 *   in the bit buffer bit-reversed, and the decoding tables are indexed by
 *   the reversed code.
 *
 *   A stream is a sequence of blocks (§3.2.3):
 *
 *     BFINAL (1 bit)  1 on the last block of the stream
 *     BTYPE  (2 bits) 00 stored, 01 fixed Huffman codes, 10 dynamic Huffman
 *                     codes, 11 reserved (an error)
 *
 *   Stored block (§3.2.4): skip to the next byte boundary, then
 *
 *     LEN (2 bytes)  NLEN (2 bytes, one's complement of LEN)  LEN bytes
 *
 *   Compressed blocks: literal/length symbols 0..285 and distance symbols
 *   0..29 (§3.2.5). 0..255 are literal bytes, 256 ends the block, 257..285
 *   start a <length, distance> pair: copy `length` bytes from `distance`
 *   bytes back in the output. Each length or distance symbol is followed by
 *   extra bits, added to the symbol's base:
 *
 *     sym  extra  lengths     sym  extra  lengths     sym  extra  lengths
 *     257  0      3           267  1      15,16       277  4      67-82
 *     258  0      4           268  1      17,18       278  4      83-98
 *     259  0      5           269  2      19-22       279  4      99-114
 *     260  0      6           270  2      23-26       280  4      115-130
 *     261  0      7           271  2      27-30       281  5      131-162
 *     262  0      8           272  2      31-34       282  5      163-194
 *     263  0      9           273  3      35-42       283  5      195-226
 *     264  0      10          274  3      43-50       284  5      227-257
 *     265  1      11,12       275  3      51-58       285  0      258
 *     266  1      13,14       276  3      59-66
 *
 *     sym  extra  distances   sym  extra  distances   sym  extra  distances
 *     0    0      1           10   4      33-48       20   9      1025-1536
 *     1    0      2           11   4      49-64       21   9      1537-2048
 *     2    0      3           12   5      65-96       22   10     2049-3072
 *     3    0      4           13   5      97-128      23   10     3073-4096
 *     4    1      5,6         14   6      129-192     24   11     4097-6144
 *     5    1      7,8         15   6      193-256     25   11     6145-8192
 *     6    2      9-12        16   7      257-384     26   12     8193-12288
 *     7    2      13-16       17   7      385-512     27   12     12289-16384
 *     8    3      17-24       18   8      513-768     28   13     16385-24576
 *     9    3      25-32       19   8      769-1024    29   13     24577-32768
 *
 *   Symbols 286, 287 and distance symbols 30, 31 have codes (in the fixed
 *   code at least) but "will never actually occur" (§3.2.6): using one is
 *   an error. Symbol 284 with extra bits 31 gives 258, one past the range
 *   the table names; zlib accepts it, and so does this decoder.
 *
 *   Fixed Huffman codes (§3.2.6), BTYPE 01:
 *
 *     literal/length 0-143: 8 bits, 144-255: 9 bits, 256-279: 7 bits,
 *                    280-287: 8 bits;   distance 0-31: 5 bits
 *
 *   Dynamic Huffman codes (§3.2.7), BTYPE 10: the block starts with
 *
 *     HLIT  (5 bits)  literal/length codes - 257  (257..286)
 *     HDIST (5 bits)  distance codes - 1          (1..32)
 *     HCLEN (4 bits)  code length codes - 4       (4..19)
 *     (HCLEN + 4) x 3 bits: code lengths of the code length alphabet, in
 *                     the order 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4,
 *                     12, 3, 13, 2, 14, 1, 15
 *     HLIT + 257 + HDIST + 1 code lengths, in the code length code, as one
 *                     sequence (a repeat may run from the literal/length
 *                     lengths into the distance lengths):
 *                       0..15  a code length (0: the symbol is unused)
 *                       16     repeat the previous length 3..6 times (2 extra bits)
 *                       17     a run of 3..10 zeros (3 extra bits)
 *                       18     a run of 11..138 zeros (7 extra bits)
 *
 *   Canonical codes (§3.2.2): the lengths alone define the code. Codes of
 *   one length are consecutive integers in symbol order; the first code of
 *   length n is (first code of length n-1 + number of codes of length
 *   n-1) << 1, starting from 0.
 *
 * What counts as invalid, and where it is found.
 *
 *   The decoder fails in the call that brings the byte which makes the
 *   stream invalid, checking as it reads rather than at the end of a
 *   structure:
 *     - BTYPE 11 with its second bit; a stored block's NLEN byte by byte;
 *     - HLIT and HDIST (below) with their last bit;
 *     - code lengths one at a time: the length that makes a code's Kraft
 *       sum (sum of 2^-length over its codes) exceed 1 over-subscribes it;
 *       a length of 0 for symbol 256 leaves the block no way to end; a code
 *       is judged complete or not when its last length has been read (it
 *       could sometimes be known earlier, by working out that the lengths
 *       still to come cannot complete it; that is not attempted);
 *     - a repeat (16, 17, 18) is judged first by its symbol, as if it had
 *       its shortest run (3, or 11 for 18): 16 with no length before it, a
 *       run that cannot fit in HLIT + HDIST lengths, or a run that breaks
 *       a code even at its shortest, are refused before its extra bits;
 *       then by the run its extra bits give;
 *     - in the data, a symbol when its last bit is read, a distance when
 *       its extra bits are.
 *
 *   Incomplete codes (Kraft sum below 1) are refused, with the exceptions
 *   RFC 1951 and zlib make: a code of a single symbol has one code of
 *   length 1 and one unused code (§3.2.7 says so for distances; zlib, and
 *   so this decoder, accept it for literal/length too, where the single
 *   symbol can only be 256), and a distance code may have no codes at all
 *   (a block of literals only). Data that uses the unused code fails with
 *   WS_E_INFLATE_CODES when its first bit is read; a distance wanted from a
 *   distance code that has no codes fails as soon as it is wanted. The code
 *   length code itself must be complete (zlib: the same).
 *
 *   HLIT above 286 and HDIST above 30 are refused (WS_E_INFLATE_SYMBOL) as
 *   soon as their five bits are read. For HLIT that is the range §3.2.7
 *   gives. For HDIST, §3.2.7 allows up to 32, but the codes it would add
 *   are for symbols 30 and 31, which can never be used (§3.2.6); zlib
 *   refuses such headers, and so does nearly every permessage-deflate
 *   endpoint (most are zlib underneath); ws6455 gives the same verdict.
 *
 *   Distances: one beyond 2^window_bits is refused even where the output
 *   holds enough history (the peer promised that window, RFC 7692 §7.1.2),
 *   and one beyond the output since the stream started -- since the last
 *   ws_inflate_reset(z, 0) -- is refused always. zlib enforces only the
 *   second (its window is a buffer size, not a limit), so with window_bits
 *   below 15 this decoder is the stricter one.
 *
 * How it decodes.
 *
 *   Output goes straight into the caller's buffer, and back-references are
 *   copied from there when they reach only this call's output; the sliding
 *   window (a ring of 2^window_bits bytes) keeps the history from earlier
 *   calls, and is brought up to date once, at the end of each call, with
 *   the last 2^window_bits bytes written.
 *
 *   Huffman codes are decoded with tables: a root table indexed by the next
 *   LIT_ROOT (10) or DIST_ROOT (8) bits of input (fewer when no code is as
 *   long) gives the symbol for every code no longer than that, and for a
 *   longer code points to a subtable indexed by the bits after the root's.
 *   Each entry is one 32-bit word (see E_* below) holding what the symbol
 *   means -- a literal byte, the base and extra-bit count of a length or
 *   distance, the end of the block -- so decoding a symbol is one or two
 *   loads.
 *
 *   fast() decodes while FAST_OUT bytes of output room remain and the
 *   input can fill the bit buffer with the 48 bits one step may take: it
 *   refills a 64-bit bit buffer eight bytes at a time (a byte at a time
 *   among the last seven), decodes up to three literals or one whole
 *   <length, distance> pair per refill without looking at the limits
 *   again, and copies matches eight or sixteen bytes at a time (possibly
 *   writing a little past the match, into room it has checked is there).
 *   Near the ends of the buffers, and for everything that is not
 *   literal/length/distance data, the state machine in run() reads one
 *   field at a time, taking input a byte at a time only when the field
 *   needs it, so it can stop and resume anywhere.
 */
#include "inflate.h"
#include "error.h"
#include "rfc1951.h"

#include <assert.h>
#include <stdalign.h>
#include <string.h>

/* ---- Sizes ------------------------------------------------------------ */

#define NUM_LIT        286              /* literal/length symbols a dynamic block may define */
#define NUM_DIST       30               /* distance symbols a dynamic block may define */
#define NUM_FIXED_LIT  288              /* the fixed code has codes for 286 and 287 too */
#define NUM_FIXED_DIST 32               /* ... and for distances 30 and 31 */
#define NUM_CL         19               /* code length symbols */
#define MAX_BITS       15               /* longest code (§3.2.7: lengths 0..15) */
#define MAX_CL_BITS    7                /* longest code length code (3-bit lengths) */
#define KRAFT_FULL     (1u << MAX_BITS) /* Kraft sum of a complete code, in 2^-15 units */

/* Root table sizes (bits of input looked up at once). A bigger root makes
 * more codes decode in one load, but costs table space and the time to
 * fill it for every dynamic block. */
#define LIT_ROOT        10
#define DIST_ROOT       8
#define FIXED_LIT_ROOT  9 /* longest fixed literal/length code: no subtables */
#define FIXED_DIST_ROOT 5 /* every fixed distance code is 5 bits */

/* The largest a table can get: the root table plus every subtable, for
 * the worst complete code with at most NUM_LIT (NUM_DIST) symbols of at
 * most 15 bits. Computed by exhaustive search over the numbers of codes of
 * each length (a subtable holds 2^(longest code in it - root) entries);
 * the same numbers zlib's enough.c gives for these roots. */
#define LIT_ENOUGH  1332 /* 1024 + 308 */
#define DIST_ENOUGH 400  /* 256 + 144 */

/* fast() runs while this much output room is left: two literals plus the
 * longest match plus the copy's overshoot (COPY_SLOP); and while the bit
 * buffer can hold FAST_BITS, the most one step of it takes: a length and
 * its distance, 15 + 5 + 15 + 13 bits. FAST_IN bytes of input are enough
 * for that, whatever the buffer holds. */
#define COPY_SLOP 15
#define FAST_OUT  (2 + 258 + COPY_SLOP)
#define FAST_BITS 48
#define FAST_IN   (FAST_BITS / 8)

/* ---- Table entries -----------------------------------------------------
 *
 *   bits  0..7   bits of input the entry consumes: the code's length (for a
 *                subtable link, the root size)
 *   bits  8..11  extra bits that follow (a length or distance), or the
 *                index bits of the subtable (a link)
 *   bits 12..15  kind: E_LIT, E_BASE, E_END, E_SUB; none of them: invalid
 *   bits 16..31  value: the literal byte (or code length symbol), the base
 *                length or distance, the subtable's offset in the table,
 *                or for an invalid entry the (negated) error code
 */
/* clang-format off */
#define E_LIT 0x1000u  /* a literal byte, or a symbol of the code length code */
#define E_BASE 0x2000u /* a length or a distance: base + extra bits */
#define E_END 0x4000u  /* end of block */
#define E_SUB 0x8000u  /* look the following bits up in a subtable */

#define E_BITS(e) ((e) & 0xffu)
#define E_EXTRA(e) (((e) >> 8) & 0xfu)
#define E_VALUE(e) ((e) >> 16)
#define E_ERROR(e) (-(int)E_VALUE(e))

#define ENTRY(kind, value, extra, bits) \
    ((uint32_t)(value) << 16 | (uint32_t)(kind) | (uint32_t)(extra) << 8 | (uint32_t)(bits))
/* clang-format on */

/* ---- The state ---------------------------------------------------------- */

/* What the next bits of input are (nginx-style: one state per field). */
enum {
    M_HEADER = 0, /* BFINAL and BTYPE */
    M_STORED_LEN, /* LEN and NLEN, a byte at a time; stored_n bytes read */
    M_STORED,     /* stored_left bytes of a stored block */
    M_HLIT,       /* 5 bits: literal/length codes - 257 */
    M_HDIST,      /* 5 bits: distance codes - 1 */
    M_HCLEN,      /* 4 bits: code length codes - 4 */
    M_CL_LENS,    /* 3 bits per code length code length; have read so far */
    M_LENS,       /* code lengths, in the code length code; have read so far */
    M_LENS_EXTRA, /* the extra bits of repeat symbol `repeat` (16, 17, 18) */
    M_DATA,       /* a literal/length symbol */
    M_LEN_EXTRA,  /* the extra bits of a length (len, extra) */
    M_DIST,       /* a distance symbol */
    M_DIST_EXTRA, /* the extra bits of a distance (dist, extra) */
    M_COPY,       /* copying a match: len bytes from dist back */
    M_DONE,       /* after the final block */
    M_BAD         /* failed with `error` */
};

struct ws_inflate {
    /* Bits not yet used, least significant first: bitcnt of them. Bits
     * above bitcnt are zero between calls. */
    uint64_t bitbuf;
    unsigned bitcnt;

    int mode;
    int error;
    uint8_t last;                         /* this block has BFINAL set */
    uint8_t fixed;                        /* this block uses the fixed codes */
    uint8_t lit_root, dist_root, cl_root; /* root sizes of the dynamic tables */

    /* The sliding window: a ring of wsize bytes; the newest byte is just
     * before wnext; whave bytes of history are valid. */
    uint32_t wsize, wnext, whave;

    /* Stored block. */
    uint32_t stored_left;
    uint16_t stored_len;
    uint8_t stored_n;

    /* Dynamic block header. */
    uint16_t nlen, ndist, ncl, have;
    uint8_t repeat;
    uint32_t kraft_lit, kraft_dist; /* Kraft sums so far, in 2^-15 units */
    uint16_t count_lit[MAX_BITS + 1], count_dist[MAX_BITS + 1]; /* codes per length */

    /* A match being decoded or copied. */
    uint32_t len, dist;
    uint8_t extra;

    /* Decoding tables. The code length code's table is only needed while
     * the literal/length table is not, so it is built in lit[]. */
    uint32_t lit[LIT_ENOUGH];
    uint32_t dist_table[DIST_ENOUGH];
    uint32_t fixed_lit[1u << FIXED_LIT_ROOT];
    uint32_t fixed_dist[1u << FIXED_DIST_ROOT];

    uint8_t lens[NUM_LIT + NUM_DIST];
    uint8_t cl_lens[NUM_CL];

    uint8_t window[];
};

/* ---- Building decoding tables ------------------------------------------ */

enum { CODE_CL, CODE_LIT, CODE_DIST };

/* The entry for symbol sym of a code of the given kind, whose code is
 * bits long. */
static uint32_t symbol_entry(int kind, unsigned sym, unsigned bits) {
    if (kind == CODE_CL) return ENTRY(E_LIT, sym, 0, bits);
    if (kind == CODE_LIT) {
        if (sym < 256) return ENTRY(E_LIT, sym, 0, bits);
        if (sym == 256) return ENTRY(E_END, 0, 0, bits);
        if (sym < 286)
            return ENTRY(E_BASE, rfc1951_len_base[sym - 257], rfc1951_len_extra[sym - 257], bits);
    } else if (sym < 30) {
        return ENTRY(E_BASE, rfc1951_dist_base[sym], rfc1951_dist_extra[sym], bits);
    }
    /* §3.2.6: 286, 287 and distances 30, 31 never occur in valid data. */
    return ENTRY(0, -WS_E_INFLATE_SYMBOL, 0, bits);
}

/* The next code after `rev`, a bits-long code held bit-reversed: adding 1
 * to the code flips its trailing ones, which in reversed form are the
 * leading ones below bit `bits`. */
static unsigned reversed_increment(unsigned rev, unsigned bits) {
    unsigned bit = 1u << (bits - 1);
    while (rev & bit) bit >>= 1;
    return bit ? (rev & (bit - 1)) | bit : 0;
}

/* count[l] = the number of the n lengths equal to l, for l = 1..15. */
static void count_lengths(const uint8_t *lens, unsigned n, uint16_t *count) {
    memset(count, 0, (MAX_BITS + 1) * sizeof(*count));
    for (unsigned s = 0; s < n; s++) count[lens[s]]++;
}

/* Build the table for the code with the given lengths (n symbols; count[l]
 * of them of length l) into table[0..cap): a root table followed by
 * subtables. The root indexes root_max bits, or fewer when no code is that
 * long: a smaller table is quicker to fill, which matters for the short
 * dynamic blocks of small messages. Returns the root size used. The
 * lengths have been checked: the code is complete, or has a single code of
 * length 1, or no code at all; in the last two cases the unused patterns
 * decode to WS_E_INFLATE_CODES errors. */
static unsigned build(uint32_t *table, size_t cap, unsigned root_max, const uint8_t *lens,
                      unsigned n, int kind, const uint16_t *count) {
    uint16_t pending[MAX_BITS + 1];
    uint16_t start[MAX_BITS + 2];
    uint16_t sorted[NUM_FIXED_LIT];
    unsigned codes = 0, longest = MAX_BITS;
    uint32_t kraft = 0;

    assert(n <= NUM_FIXED_LIT);
    (void)cap;
    while (longest > 1 && count[longest] == 0) longest--;
    const unsigned root = root_max < longest ? root_max : longest;
    const unsigned root_size = 1u << root;
    /* Sort the symbols by code length, then by symbol: canonical order. */
    start[1] = 0;
    for (unsigned l = 1; l <= MAX_BITS; l++) {
        start[l + 1] = (uint16_t)(start[l] + count[l]);
        kraft += (uint32_t)count[l] << (MAX_BITS - l);
        codes += count[l];
    }
    for (unsigned s = 0; s < n; s++)
        if (lens[s] != 0) sorted[start[lens[s]]++] = (uint16_t)s;
    memcpy(pending, count, sizeof(pending));
    pending[0] = 0;

    if (kraft < KRAFT_FULL) {
        /* No code: any bits are wrong, without reading one. One code of
         * length 1: the other one-bit pattern is wrong. */
        assert(codes == 0 || (codes == 1 && kraft == KRAFT_FULL / 2));
        uint32_t bad = ENTRY(0, -WS_E_INFLATE_CODES, 0, codes == 0 ? 0 : 1);
        for (unsigned i = 0; i < root_size; i++) table[i] = bad;
    } else {
        assert(kraft == KRAFT_FULL);
    }

    /* Walk the codes in canonical order. rev is the current code,
     * bit-reversed: the order the bits arrive in, the order tables are
     * indexed in. Making a code longer appends zeros to it, which leaves
     * its reversed form unchanged. */
    unsigned rev = 0, next = root_size, sub_prefix = root_size, sub_base = 0, sub_bits = 0;
    for (unsigned i = 0; i < codes; i++) {
        unsigned sym = sorted[i], bits = lens[sym];
        uint32_t e = symbol_entry(kind, sym, bits);

        if (bits <= root) {
            /* Every root index whose low `bits` bits are this code. */
            for (unsigned j = rev; j < root_size; j += 1u << bits) table[j] = e;
        } else {
            unsigned prefix = rev & (root_size - 1);
            if (prefix != sub_prefix) {
                /* The first code with this root prefix: the subtable must
                 * reach the longest code sharing the prefix. Codes sharing
                 * it are consecutive; fill the prefix's 2^(15-root) share of
                 * the code space with the codes still to come, shortest
                 * first, and see which length fills it. */
                unsigned l = bits;
                int left = 1 << (bits - root);
                for (;;) {
                    left -= pending[l];
                    if (left <= 0 || l == MAX_BITS) break;
                    l++;
                    left *= 2;
                }
                sub_prefix = prefix;
                sub_bits = l - root;
                sub_base = next;
                next += 1u << sub_bits;
                assert(next <= cap);
                table[prefix] = ENTRY(E_SUB, sub_base, sub_bits, root);
            }
            unsigned low = bits - root; /* code bits indexed in the subtable */
            for (unsigned j = rev >> root; j < (1u << sub_bits); j += 1u << low)
                table[sub_base + j] = e;
        }
        pending[bits]--;
        rev = reversed_increment(rev, bits);
    }
    return root;
}

/* ---- Small helpers ------------------------------------------------------ */

/* Where the caller's buffers stand during one call of ws_inflate_feed(),
 * and the bit buffer, kept in locals while the call runs. */
struct io {
    const uint8_t *in, *in_end;
    uint8_t *out, *op, *out_end; /* out: this call's first byte; op: next */
    uint64_t bits;
    unsigned nbits;
};

/* Make sure n <= 32 bits are in the bit buffer, taking input a byte at a
 * time -- no more than needed, so a call that runs out of input has taken
 * all of it. 0 when the input runs out first. */
static int need(struct io *io, unsigned n) {
    while (io->nbits < n) {
        if (io->in == io->in_end) return 0;
        io->bits |= (uint64_t)*io->in++ << io->nbits;
        io->nbits += 8;
    }
    return 1;
}

/* Take n bits (n <= 32, already there), least significant first. */
static uint32_t take(struct io *io, unsigned n) {
    uint32_t v = (uint32_t)(io->bits & ((UINT64_C(1) << n) - 1));
    io->bits >>= n;
    io->nbits -= n;
    return v;
}

/* The table entry for the next symbol of a code, taking input a byte at a
 * time until the entry's code is all there (bits not yet read are zero in
 * the lookup; once the entry found is no longer than the bits present, all
 * of its code was real). 0 when the input runs out first; entries are
 * never 0. The bits are not taken. */
static uint32_t decode(struct io *io, const uint32_t *table, unsigned root) {
    for (;;) {
        uint32_t e = table[io->bits & ((1u << root) - 1)];
        if (e & E_SUB) e = table[E_VALUE(e) + ((io->bits >> root) & ((1u << E_EXTRA(e)) - 1))];
        if (E_BITS(e) <= io->nbits) return e;
        if (io->in == io->in_end) return 0;
        io->bits |= (uint64_t)*io->in++ << io->nbits;
        io->nbits += 8;
    }
}

static int fail(ws_inflate *z, int err) {
    z->mode = M_BAD;
    z->error = err;
    return err;
}

/* Copy n bytes of history to dst: those starting `back` bytes before the
 * end of the window (n <= back <= whave). The window is a ring, so the
 * bytes may wrap around its end. */
static void copy_history(const ws_inflate *z, uint8_t *dst, uint32_t back, size_t n) {
    uint32_t from = (z->wnext - back) & (z->wsize - 1);
    size_t first = z->wsize - from;
    if (first > n) first = n;
    memcpy(dst, z->window + from, first);
    if (n > first) memcpy(dst + first, z->window, n - first);
}

/* Append the n bytes at p to the window, keeping the last wsize. */
static void remember(ws_inflate *z, const uint8_t *p, size_t n) {
    if (n == 0) return;
    if (n >= z->wsize) {
        memcpy(z->window, p + n - z->wsize, z->wsize);
        z->wnext = 0;
        z->whave = z->wsize;
        return;
    }
    size_t first = z->wsize - z->wnext;
    if (first > n) first = n;
    memcpy(z->window + z->wnext, p, first);
    memcpy(z->window, p + first, n - first);
    z->wnext = (uint32_t)((z->wnext + n) & (z->wsize - 1));
    z->whave = z->whave + n > z->wsize ? z->wsize : (uint32_t)(z->whave + n);
}

/* §3.2.5: a distance may reach back into the window, never before the
 * start of the stream (as far as it is remembered), never more than the
 * window size. produced: bytes written by this call so far. */
static int distance_ok(const ws_inflate *z, uint32_t dist, size_t produced) {
    return dist <= z->wsize && dist <= produced + z->whave;
}

/* ---- The fast loop ------------------------------------------------------ */

static uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Copy a match of len bytes from dist bytes back, all of it inside out
 * (op - dist >= the start of this call's output), writing up to COPY_SLOP
 * bytes beyond op + len. Copying in chunks is right even when source and
 * destination overlap, as long as every chunk reads bytes already written:
 * a chunk is at most dist bytes. */
static void copy_match_fast(uint8_t *op, uint32_t dist, uint32_t len) {
    const uint8_t *src = op - dist;
    uint8_t *end = op + len;

    if (dist >= 16) {
        do {
            memcpy(op, src, 16);
            op += 16;
            src += 16;
        } while (op < end);
    } else if (dist >= 8) {
        do {
            memcpy(op, src, 8);
            op += 8;
            src += 8;
        } while (op < end);
    } else {
        /* The match repeats a pattern of dist bytes, so it also repeats
         * with any multiple of dist as period: the smallest one of at least
         * 8 lets 8-byte chunks copy it. The first period - dist bytes are
         * copied one at a time, to have a whole period behind op. */
        static const uint8_t period[8] = { 0, 8, 8, 9, 8, 10, 12, 14 };
        uint32_t p = period[dist], head = p - dist;
        for (uint32_t i = 0; i < head && op < end; i++) *op++ = *src++;
        src = op - p;
        while (op < end) {
            memcpy(op, src, 8);
            op += 8;
            src += 8;
        }
    }
}

/* Decode literal/length/distance data while at least FAST_OUT bytes of
 * output room remain and the bit buffer can be filled with FAST_BITS,
 * without checking either per symbol. Returns 0 (the block ended, or the
 * limits were reached) or an error. On return the bit buffer holds fewer
 * than 8 bits: whole bytes it read ahead are given back to the input. */
static int fast(ws_inflate *z, struct io *io) {
    const uint32_t *lt = z->fixed ? z->fixed_lit : z->lit;
    const uint32_t *dt = z->fixed ? z->fixed_dist : z->dist_table;
    const unsigned lroot = z->fixed ? FIXED_LIT_ROOT : z->lit_root;
    const unsigned droot = z->fixed ? FIXED_DIST_ROOT : z->dist_root;
    const uint64_t lmask = (1u << lroot) - 1, dmask = (1u << droot) - 1;
    const uint8_t *in = io->in, *const in_end = io->in_end, *const in_start = io->in;
    uint8_t *op = io->op, *const out = io->out, *const out_end = io->out_end;
    /* Kept in locals: every byte stored through op might, as far as the
     * compiler knows, change *z. */
    const size_t wsize = z->wsize, whave = z->whave;
    uint64_t bb = io->bits;
    unsigned bc = io->nbits;
    uint32_t e;
    int rc = 0;

/* Fill bb: with 8 bytes of input left, load them all above what is there
 * and count in the whole bytes that fit (56 to 63 bits then; bits above bc
 * already hold the same input bits, or zeros, so OR-ing them in again is
 * harmless); near the end of the input, byte by byte. */
/* clang-format off */
#define REFILL()                                                     \
    do {                                                             \
        if (in_end - in >= 8) {                                      \
            bb |= load64(in) << bc;                                  \
            in += (63 - bc) >> 3;                                    \
            bc |= 56;                                                \
        } else {                                                     \
            while (bc <= 56 && in < in_end) {                        \
                bb |= (uint64_t)*in++ << bc;                         \
                bc += 8;                                             \
            }                                                        \
        }                                                            \
    } while (0)
#define LOOKUP(t, mask, root)                                                   \
    do {                                                                        \
        e = (t)[bb & (mask)];                                                   \
        if (e & E_SUB) e = (t)[E_VALUE(e) + ((bb >> (root)) & ((1u << E_EXTRA(e)) - 1))]; \
    } while (0)
#define DROP(n)        \
    do {               \
        bb >>= (n);    \
        bc -= (n);     \
    } while (0)
    /* clang-format on */

    while (out_end - op >= FAST_OUT) {
        REFILL();
        if (bc < FAST_BITS) break; /* the end of the input is near */
        LOOKUP(lt, lmask, lroot);
        if (e & E_LIT) {
            /* Up to three literals (3 x 15 bits) per refill. */
            DROP(E_BITS(e));
            *op++ = (uint8_t)E_VALUE(e);
            LOOKUP(lt, lmask, lroot);
            if (e & E_LIT) {
                DROP(E_BITS(e));
                *op++ = (uint8_t)E_VALUE(e);
                LOOKUP(lt, lmask, lroot);
                if (e & E_LIT) {
                    DROP(E_BITS(e));
                    *op++ = (uint8_t)E_VALUE(e);
                    continue;
                }
            }
            /* A length and distance take up to 15 + 5 + 15 + 13 bits. e
             * stays in the buffer if they may not be there. */
            REFILL();
            if (bc < FAST_BITS) break;
        }
        if (e & E_BASE) {
            unsigned x = E_EXTRA(e);
            DROP(E_BITS(e));
            uint32_t len = E_VALUE(e) + (uint32_t)(bb & ((1u << x) - 1));
            DROP(x);

            LOOKUP(dt, dmask, droot);
            if (!(e & E_BASE)) {
                rc = E_ERROR(e);
                break;
            }
            x = E_EXTRA(e);
            DROP(E_BITS(e));
            uint32_t dist = E_VALUE(e) + (uint32_t)(bb & ((1u << x) - 1));
            DROP(x);

            size_t produced = (size_t)(op - out);
            if (dist > produced) {
                /* The match starts in the history of earlier calls. */
                if (dist > wsize || dist > produced + whave) {
                    rc = WS_E_INFLATE_DISTANCE;
                    break;
                }
                uint32_t back = dist - (uint32_t)produced;
                uint32_t n = back < len ? back : len;
                copy_history(z, op, back, n);
                op += n;
                len -= n;
                if (len == 0) continue;
            } else if (dist > wsize) {
                rc = WS_E_INFLATE_DISTANCE;
                break;
            }
            copy_match_fast(op, dist, len);
            op += len;
        } else if (e & E_END) {
            DROP(E_BITS(e));
            z->mode = z->last ? M_DONE : M_HEADER;
            break;
        } else {
            rc = E_ERROR(e);
            break;
        }
    }
#undef REFILL
#undef LOOKUP
#undef DROP

    /* Give back the whole bytes read ahead; they all came from this call's
     * input, since the buffer held fewer than 8 bits on entry. */
    unsigned back = bc >> 3;
    assert((size_t)(in - in_start) >= back);
    (void)in_start;
    in -= back;
    bc &= 7;
    io->bits = bb & ((UINT64_C(1) << bc) - 1);
    io->nbits = bc;
    io->in = in;
    io->op = op;
    return rc;
}

/* ---- The state machine ---------------------------------------------------- */

/* The code lengths of the current dynamic block are read one at a time (or
 * a run at a time) through here, which checks each code as it forms: the
 * Kraft sum, sum over codes of 2^-length, must never exceed 1 (§3.2.2: a
 * prefix code), symbol 256 must have a code (every block ends with it), and
 * once a code's last length is in, it must be complete (sum 1) or one of
 * the exceptions described at the top. */
static int put_lengths(ws_inflate *z, unsigned value, unsigned count) {
    unsigned total = (unsigned)z->nlen + z->ndist;
    assert(z->have + count <= total);

    while (count > 0) {
        unsigned i = z->have;
        int lit = i < z->nlen;
        unsigned n = lit ? z->nlen - i : total - i; /* lengths left in this code */
        if (n > count) n = count;
        if (n == 1)
            z->lens[i] = (uint8_t)value;
        else
            memset(z->lens + i, (int)value, n);
        if (lit && value == 0 && i <= 256 && 256 < i + n) return WS_E_INFLATE_CODES;
        if (value != 0) {
            uint32_t *kraft = lit ? &z->kraft_lit : &z->kraft_dist;
            uint16_t *counts = lit ? z->count_lit : z->count_dist;
            *kraft += (uint32_t)n << (MAX_BITS - value);
            counts[value] = (uint16_t)(counts[value] + n);
            if (*kraft > KRAFT_FULL) return WS_E_INFLATE_CODES;
        }
        z->have = (uint16_t)(i + n);
        count -= n;
        /* A code that is not complete may be a single one-bit code (its
         * Kraft sum is then 1/2, and it is the only code of length 1), or
         * for distances, no code at all. */
        if (lit && z->have == z->nlen) {
            if (z->kraft_lit != KRAFT_FULL &&
                !(z->kraft_lit == KRAFT_FULL / 2 && z->count_lit[1] == 1))
                return WS_E_INFLATE_CODES;
        } else if (!lit && z->have == total) {
            if (z->kraft_dist != KRAFT_FULL && z->kraft_dist != 0 &&
                !(z->kraft_dist == KRAFT_FULL / 2 && z->count_dist[1] == 1))
                return WS_E_INFLATE_CODES;
        }
    }
    return 0;
}

/* At a repeat symbol, before its extra bits: is even its shortest run
 * (3 or 11 lengths) an error? A longer run only adds lengths, so then
 * every run is, and the symbol itself is the proof. */
static int check_shortest_run(ws_inflate *z, unsigned value, unsigned count) {
    uint16_t have = z->have, count_lit[MAX_BITS + 1], count_dist[MAX_BITS + 1];
    uint32_t kraft_lit = z->kraft_lit, kraft_dist = z->kraft_dist;
    memcpy(count_lit, z->count_lit, sizeof(count_lit));
    memcpy(count_dist, z->count_dist, sizeof(count_dist));
    int rc = put_lengths(z, value, count);
    /* Undo (the lengths written will be written again by the real run). */
    z->have = have;
    memcpy(z->count_lit, count_lit, sizeof(count_lit));
    memcpy(z->count_dist, count_dist, sizeof(count_dist));
    z->kraft_lit = kraft_lit;
    z->kraft_dist = kraft_dist;
    return rc;
}

/* M_LENS: code lengths, in the code length code, until all HLIT + HDIST
 * are in or a repeat's extra bits are wanted (M_LENS_EXTRA): returns 0;
 * until the input runs out: returns 1; or an error. A dynamic block sends a few hundred of
 * them, and a small message may be little more than that, so the common
 * case -- a single length that completes no code and is not symbol 256's
 * -- is done here with the bit buffer in locals; the rest goes through
 * put_lengths(), where the rules are. */
static int read_lengths(ws_inflate *z, struct io *io) {
    const unsigned nlen = z->nlen, total = nlen + z->ndist;
    const uint32_t *table = z->lit; /* the code length code: no subtables */
    const uint64_t mask = (1u << z->cl_root) - 1;
    uint64_t bits = io->bits;
    unsigned nbits = io->nbits, have = z->have;
    const uint8_t *in = io->in, *const end = io->in_end;
    int rc = 0;

    while (have < total) {
        uint32_t e = table[bits & mask];
        while (E_BITS(e) > nbits) {
            if (in == end) {
                rc = 1;
                goto out;
            }
            bits |= (uint64_t)*in++ << nbits;
            nbits += 8;
            e = table[bits & mask];
        }
        bits >>= E_BITS(e);
        nbits -= E_BITS(e);
        unsigned sym = E_VALUE(e);
        if (sym < 16 && have != 256 && have + 1 != nlen && have + 1 != total) {
            z->lens[have] = (uint8_t)sym;
            if (sym != 0) {
                uint32_t *kraft = have < nlen ? &z->kraft_lit : &z->kraft_dist;
                uint16_t *count = have < nlen ? z->count_lit : z->count_dist;
                *kraft += KRAFT_FULL >> sym;
                count[sym]++;
                if (*kraft > KRAFT_FULL) {
                    rc = fail(z, WS_E_INFLATE_CODES);
                    goto out;
                }
            }
            have++;
            continue;
        }
        z->have = (uint16_t)have;
        if (sym < 16) {
            rc = put_lengths(z, sym, 1);
            if (rc != 0) {
                rc = fail(z, rc);
                goto out;
            }
            have = z->have;
            continue;
        }
        /* §3.2.7: 16 repeats the previous length: there must be one. A run
         * must fit: 16 and 17 give at least 3, 18 at least 11. */
        unsigned shortest = sym == 18 ? 11 : 3;
        if ((sym == 16 && have == 0) || have + shortest > total) {
            rc = fail(z, WS_E_INFLATE_LENGTHS);
            goto out;
        }
        rc = check_shortest_run(z, sym == 16 ? z->lens[have - 1] : 0, shortest);
        if (rc != 0) {
            rc = fail(z, rc);
            goto out;
        }
        z->repeat = (uint8_t)sym;
        z->mode = M_LENS_EXTRA;
        break;
    }
out:
    z->have = (uint16_t)have;
    io->bits = bits;
    io->nbits = nbits;
    io->in = in;
    return rc;
}

static void end_of_block(ws_inflate *z) { z->mode = z->last ? M_DONE : M_HEADER; }

/* Run the state machine until the input runs out, the output is full with
 * more to write, the stream ends, or an error. */
static int run(ws_inflate *z, struct io *io) {
    for (;;) {
        switch (z->mode) {
        case M_HEADER: {
            if (!need(io, 3)) return WS_INFLATE_NEED_INPUT;
            z->last = (uint8_t)take(io, 1);
            switch (take(io, 2)) {
            case 0:
                /* §3.2.4: "skip any remaining bits in current partially
                 * processed byte". */
                take(io, io->nbits & 7);
                z->stored_n = 0;
                z->mode = M_STORED_LEN;
                break;
            case 1:
                z->fixed = 1;
                z->mode = M_DATA;
                break;
            case 2:
                z->fixed = 0;
                z->mode = M_HLIT;
                break;
            default: return fail(z, WS_E_INFLATE_BTYPE); /* §3.2.3: 11 is reserved */
            }
            break;
        }

        case M_STORED_LEN:
            /* LEN, then NLEN; each NLEN byte is checked as it comes. */
            while (z->stored_n < 4) {
                if (!need(io, 8)) return WS_INFLATE_NEED_INPUT;
                unsigned b = take(io, 8);
                if (z->stored_n == 0) {
                    z->stored_len = (uint16_t)b;
                } else if (z->stored_n == 1) {
                    z->stored_len = (uint16_t)(z->stored_len | b << 8);
                } else {
                    /* NLEN byte k must be LEN byte k, complemented. */
                    unsigned len_byte = (z->stored_len >> (8 * (z->stored_n - 2))) & 0xffu;
                    if (b != (~len_byte & 0xffu)) return fail(z, WS_E_INFLATE_STORED);
                }
                z->stored_n++;
            }
            z->stored_left = z->stored_len;
            if (z->stored_left == 0)
                end_of_block(z);
            else
                z->mode = M_STORED;
            break;

        case M_STORED: {
            /* Whole bytes left in the bit buffer come first (normally there
             * are none: fields are read a byte at a time, as needed). */
            while (z->stored_left > 0 && io->nbits >= 8 && io->op < io->out_end) {
                *io->op++ = (uint8_t)take(io, 8);
                z->stored_left--;
            }
            size_t n = z->stored_left;
            if (n > (size_t)(io->in_end - io->in)) n = (size_t)(io->in_end - io->in);
            if (n > (size_t)(io->out_end - io->op)) n = (size_t)(io->out_end - io->op);
            if (n > 0) {
                memcpy(io->op, io->in, n);
                io->op += n;
                io->in += n;
                z->stored_left -= (uint32_t)n;
            }
            if (z->stored_left == 0) {
                end_of_block(z);
                break;
            }
            if (io->nbits < 8 && io->in == io->in_end) return WS_INFLATE_NEED_INPUT;
            return WS_INFLATE_OUTPUT_FULL;
        }

        case M_HLIT:
            if (!need(io, 5)) return WS_INFLATE_NEED_INPUT;
            z->nlen = (uint16_t)(take(io, 5) + 257);
            if (z->nlen > NUM_LIT) return fail(z, WS_E_INFLATE_SYMBOL);
            z->mode = M_HDIST;
            break;

        case M_HDIST:
            if (!need(io, 5)) return WS_INFLATE_NEED_INPUT;
            z->ndist = (uint16_t)(take(io, 5) + 1);
            if (z->ndist > NUM_DIST) return fail(z, WS_E_INFLATE_SYMBOL);
            z->mode = M_HCLEN;
            break;

        case M_HCLEN:
            if (!need(io, 4)) return WS_INFLATE_NEED_INPUT;
            z->ncl = (uint16_t)(take(io, 4) + 4);
            memset(z->cl_lens, 0, sizeof(z->cl_lens));
            z->have = 0;
            z->kraft_lit = 0;
            z->mode = M_CL_LENS;
            break;

        case M_CL_LENS:
            while (z->have < z->ncl) {
                if (!need(io, 3)) return WS_INFLATE_NEED_INPUT;
                unsigned l = take(io, 3);
                z->cl_lens[rfc1951_cl_order[z->have++]] = (uint8_t)l;
                if (l != 0) {
                    z->kraft_lit += 1u << (MAX_BITS - l);
                    if (z->kraft_lit > KRAFT_FULL) return fail(z, WS_E_INFLATE_CODES);
                }
            }
            /* The code length code must be complete: no exceptions. */
            if (z->kraft_lit != KRAFT_FULL) return fail(z, WS_E_INFLATE_CODES);
            count_lengths(z->cl_lens, NUM_CL, z->count_lit);
            z->cl_root = (uint8_t)build(z->lit, LIT_ENOUGH, MAX_CL_BITS, z->cl_lens, NUM_CL,
                                        CODE_CL, z->count_lit);
            z->have = 0;
            z->kraft_lit = z->kraft_dist = 0;
            memset(z->count_lit, 0, sizeof(z->count_lit));
            memset(z->count_dist, 0, sizeof(z->count_dist));
            z->mode = M_LENS;
            break;

        case M_LENS: {
            int rc = read_lengths(z, io);
            if (rc < 0) return rc;
            if (rc == 1) return WS_INFLATE_NEED_INPUT;
            if (z->mode == M_LENS_EXTRA) break;
            /* All lengths are in, and put_lengths() has checked both codes. */
            z->lit_root = (uint8_t)build(z->lit, LIT_ENOUGH, LIT_ROOT, z->lens, z->nlen, CODE_LIT,
                                         z->count_lit);
            z->dist_root = (uint8_t)build(z->dist_table, DIST_ENOUGH, DIST_ROOT, z->lens + z->nlen,
                                          z->ndist, CODE_DIST, z->count_dist);
            z->mode = M_DATA;
            break;
        }

        case M_LENS_EXTRA: {
            static const uint8_t extra[3] = { 2, 3, 7 }, base[3] = { 3, 3, 11 };
            unsigned r = z->repeat - 16u;
            if (!need(io, extra[r])) return WS_INFLATE_NEED_INPUT;
            unsigned count = base[r] + take(io, extra[r]);
            if (z->have + count > (unsigned)z->nlen + z->ndist)
                return fail(z, WS_E_INFLATE_LENGTHS);
            int rc = put_lengths(z, z->repeat == 16 ? z->lens[z->have - 1] : 0, count);
            if (rc != 0) return fail(z, rc);
            z->mode = M_LENS;
            break;
        }

        case M_DATA: {
            if (io->in_end - io->in >= FAST_IN && io->out_end - io->op >= FAST_OUT) {
                int rc = fast(z, io);
                if (rc != 0) return fail(z, rc);
                if (z->mode != M_DATA) break;
            }
            const uint32_t *lt = z->fixed ? z->fixed_lit : z->lit;
            uint32_t e = decode(io, lt, z->fixed ? FIXED_LIT_ROOT : z->lit_root);
            if (e == 0) return WS_INFLATE_NEED_INPUT;
            if (e & E_LIT) {
                /* Leave the literal in the input until there is room. */
                if (io->op == io->out_end) return WS_INFLATE_OUTPUT_FULL;
                take(io, E_BITS(e));
                *io->op++ = (uint8_t)E_VALUE(e);
            } else if (e & E_BASE) {
                take(io, E_BITS(e));
                z->len = E_VALUE(e);
                z->extra = (uint8_t)E_EXTRA(e);
                z->mode = M_LEN_EXTRA;
            } else if (e & E_END) {
                take(io, E_BITS(e));
                end_of_block(z);
            } else {
                return fail(z, E_ERROR(e));
            }
            break;
        }

        case M_LEN_EXTRA:
            if (!need(io, z->extra)) return WS_INFLATE_NEED_INPUT;
            z->len += take(io, z->extra);
            z->mode = M_DIST;
            break;

        case M_DIST: {
            const uint32_t *dt = z->fixed ? z->fixed_dist : z->dist_table;
            uint32_t e = decode(io, dt, z->fixed ? FIXED_DIST_ROOT : z->dist_root);
            if (e == 0) return WS_INFLATE_NEED_INPUT;
            if (!(e & E_BASE)) return fail(z, E_ERROR(e));
            take(io, E_BITS(e));
            z->dist = E_VALUE(e);
            z->extra = (uint8_t)E_EXTRA(e);
            z->mode = M_DIST_EXTRA;
            break;
        }

        case M_DIST_EXTRA:
            if (!need(io, z->extra)) return WS_INFLATE_NEED_INPUT;
            z->dist += take(io, z->extra);
            if (!distance_ok(z, z->dist, (size_t)(io->op - io->out)))
                return fail(z, WS_E_INFLATE_DISTANCE);
            z->mode = M_COPY;
            break;

        case M_COPY: {
            size_t room = (size_t)(io->out_end - io->op);
            if (room == 0) return WS_INFLATE_OUTPUT_FULL;
            size_t n = z->len < room ? z->len : room;
            size_t produced = (size_t)(io->op - io->out);
            z->len -= (uint32_t)n;
            if (z->dist > produced) {
                uint32_t back = z->dist - (uint32_t)produced;
                size_t k = back < n ? back : n;
                copy_history(z, io->op, back, k);
                io->op += k;
                n -= k;
            }
            /* What is left comes from this call's output; byte by byte, as
             * source and destination overlap when dist < n. */
            const uint8_t *src = io->op - z->dist;
            while (n-- > 0) *io->op++ = *src++;
            if (z->len == 0) z->mode = M_DATA;
            break;
        }

        case M_DONE: return WS_INFLATE_END;

        default: /* M_BAD */ return z->error;
        }
    }
}

/* ---- The interface -------------------------------------------------------- */

size_t ws_inflate_size(unsigned window_bits) {
    if (window_bits < WS_INFLATE_MIN_WINDOW_BITS || window_bits > WS_INFLATE_MAX_WINDOW_BITS)
        return 0;
    return sizeof(struct ws_inflate) + ((size_t)1 << window_bits);
}

ws_inflate *ws_inflate_init(void *mem, size_t size, unsigned window_bits) {
    size_t need_size = ws_inflate_size(window_bits);
    if (mem == NULL || need_size == 0 || size < need_size) return NULL;
    if ((uintptr_t)mem % alignof(struct ws_inflate) != 0) return NULL;

    ws_inflate *z = mem;
    memset(z, 0, sizeof(*z));
    z->wsize = UINT32_C(1) << window_bits;

    /* §3.2.6: the fixed codes, built once. */
    uint8_t lens[NUM_FIXED_LIT];
    uint16_t count[MAX_BITS + 1];
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    count_lengths(lens, NUM_FIXED_LIT, count);
    build(z->fixed_lit, 1u << FIXED_LIT_ROOT, FIXED_LIT_ROOT, lens, NUM_FIXED_LIT, CODE_LIT, count);
    memset(lens, 5, NUM_FIXED_DIST);
    count_lengths(lens, NUM_FIXED_DIST, count);
    build(z->fixed_dist, 1u << FIXED_DIST_ROOT, FIXED_DIST_ROOT, lens, NUM_FIXED_DIST, CODE_DIST,
          count);

    ws_inflate_reset(z, 0);
    return z;
}

void ws_inflate_reset(ws_inflate *z, int keep_window) {
    /* After an error the history is whatever the bad stream left in it,
     * so only a fresh start is allowed. A fresh start needs nothing from
     * before: the fixed tables are never written after init, and every
     * other table is rebuilt by the block that uses it. That is what lets
     * a worker's shared decompressor serve the next connection after one
     * sent garbage. */
    assert(z->mode != M_BAD || !keep_window);
    z->mode = M_HEADER;
    z->bitbuf = 0;
    z->bitcnt = 0;
    z->last = 0;
    if (!keep_window) z->whave = 0;
}

int ws_inflate_feed(ws_inflate *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                    size_t out_cap, size_t *out_len) {
    /* An empty buffer may be NULL, and no arithmetic on a null pointer is
     * defined in C, not even + 0: point empty buffers at a dummy byte. */
    static const uint8_t no_input;
    static uint8_t no_output;
    if (in_len == 0) in = &no_input;
    if (out_cap == 0) out = &no_output;

    struct io io;
    io.in = in;
    io.in_end = in + in_len;
    io.out = io.op = out;
    io.out_end = out + out_cap;
    io.bits = z->bitbuf;
    io.nbits = z->bitcnt;

    int rc = run(z, &io);

    if (rc == WS_INFLATE_END) {
        /* The stream ended inside the last byte taken; whole bytes beyond
         * it are not ours. They came from this call: the state machine
         * takes bytes only as it needs them. */
        unsigned back = io.nbits >> 3;
        assert((size_t)(io.in - in) >= back);
        io.in -= back;
        io.bits = 0;
        io.nbits = 0;
    }
    z->bitbuf = io.bits;
    z->bitcnt = io.nbits;
    if (rc >= 0) remember(z, out, (size_t)(io.op - out));
    *in_used = (size_t)(io.in - in);
    *out_len = (size_t)(io.op - out);
    return rc;
}

int ws_inflate_at_block_boundary(const ws_inflate *z) {
    return z->mode == M_HEADER || z->mode == M_DONE;
}

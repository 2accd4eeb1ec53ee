/*
 * deflate.h -- the RFC 1951 DEFLATE encoder: pure, streaming, no
 * allocation of its own.
 *
 * LZ77 finds repeated strings within the last 2^window_bits bytes and
 * Huffman coding gives frequent symbols short codes; each block goes out
 * in whichever form is smallest: stored, fixed Huffman or dynamic Huffman
 * (RFC 1951 §3.2.3). Levels trade speed for size:
 *
 *   WS_DEFLATE_LEVEL_STORED  0  stored blocks only (tests, incompressible data)
 *   WS_DEFLATE_LEVEL_FAST    1  one hash probe, greedy matching
 *   WS_DEFLATE_LEVEL_DEFAULT 6  hash chains and lazy matching
 *   WS_DEFLATE_LEVEL_BEST    9  longer chains
 *
 * Streaming: feed the input in any pieces and take the output into a
 * buffer of any size, down to one byte; the same input and flush points
 * give the same bytes however they are cut. WS_DEFLATE_MESSAGE_END ends a
 * permessage-deflate message exactly as RFC 7692 §7.2.1 says: everything
 * fed so far is emitted, then an empty stored block, whose last four bytes
 * (00 00 ff ff) are not written.
 *
 * The caller owns the memory: ws_deflate_size() says how many bytes the
 * state needs (window, hash tables, the symbols of the block being built),
 * ws_deflate_init() lays the state out in them. No output buffer is needed:
 * output goes straight into the caller's buffer, and when that is full the
 * encoder stops where it is and goes on at the next call. Nothing is
 * allocated, nothing is global: states are independent of each other.
 *
 * Sizes on x86-64, window 15 / window 10: level 0 about 72 / 16 KiB,
 * level 1 136 / 32 KiB, levels 2..9 200 / 34 KiB. Below 13 bits the window
 * buffer stays at 8 KiB (a block must stay in it until it is written, and
 * should be long enough to amortize its header); the rest shrinks with the
 * window.
 */
#ifndef WS_DEFLATE_H
#define WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#define WS_DEFLATE_MIN_WINDOW_BITS 8
#define WS_DEFLATE_MAX_WINDOW_BITS 15

enum {
    WS_DEFLATE_LEVEL_STORED = 0,
    WS_DEFLATE_LEVEL_FAST = 1,
    WS_DEFLATE_LEVEL_DEFAULT = 6,
    WS_DEFLATE_LEVEL_BEST = 9
};

/* Flush modes of ws_deflate_feed(). */
enum {
    WS_DEFLATE_NO_FLUSH = 0, /* more input follows; output comes as blocks fill */
    WS_DEFLATE_SYNC_FLUSH,   /* emit everything so far, then an empty stored
                                block (00 00 ff ff): the peer can decode all
                                of it now; the stream goes on */
    WS_DEFLATE_MESSAGE_END   /* as SYNC_FLUSH, without the final 00 00 ff ff
                                (RFC 7692 §7.2.1); the stream goes on */
};

typedef struct ws_deflate ws_deflate;

/* Results of ws_deflate_feed() (errors are negative ws_error codes). */
enum {
    WS_DEFLATE_NEED_INPUT = 0, /* all input consumed (and with a flush, all
                                  of its output written) */
    WS_DEFLATE_OUTPUT_FULL = 1 /* out is full: call again with more room and
                                  the rest of the input, same flush */
};

/* Bytes of memory the state needs, or 0 if window_bits or level is out of
 * range (levels 0..9). */
size_t ws_deflate_size(unsigned window_bits, int level);

/* Lay out an encoder in mem (size bytes, at least ws_deflate_size(),
 * aligned as malloc aligns) whose back-references reach at most
 * 2^window_bits bytes (for windows of 12 bits and more, a little less: the
 * window size minus 263). Returns mem as a ws_deflate, or NULL if size is
 * too small or an argument is out of range. The caller frees mem; there is
 * nothing else to release. */
ws_deflate *ws_deflate_init(void *mem, size_t size, unsigned window_bits, int level);

/* Forget the history: the next message refers to nothing before it
 * (RFC 7692 "no context takeover"). Meant for between messages (after a
 * WS_DEFLATE_MESSAGE_END whose output is complete); anywhere else it also
 * drops whatever input and output are pending. Costs in proportion to the
 * input since the last reset (or one clear of the hash table, whichever is
 * less), so resetting after every short message is cheap. */
void ws_deflate_reset(ws_deflate *d);

/* Compress in[0..in_len) into out[0..out_cap) with the given flush mode.
 * *in_used and *out_len are set to the bytes consumed and written (in may
 * be NULL when in_len is 0, out when out_cap is 0).
 *
 * WS_DEFLATE_NEED_INPUT: all input is consumed; with a flush, the flush is
 * complete and all of its output written. Without one, output may be held
 * back (the block being built, and up to 7 bits).
 * WS_DEFLATE_OUTPUT_FULL: out is full and more is to come; call again with
 * more room, the input not yet consumed and the same flush mode. Only then
 * is a call a continuation: after NEED_INPUT, a call with a flush (even
 * with no input) is a new flush, so an empty message is the single byte 00
 * and a second sync flush writes another 00 00 ff ff.
 * A negative ws_error (WS_E_DEFLATE_ARG) for a NULL state, NULL pointers
 * with lengths, or an unknown flush mode; the state is unchanged then. */
int ws_deflate_feed(ws_deflate *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                    size_t out_cap, size_t *out_len, int flush);

/* An upper bound on the output for in_len bytes of input ended by one
 * WS_DEFLATE_MESSAGE_END on a fresh or flushed stream: what a caller must
 * reserve to compress a message in one call (with out_cap at least this,
 * that call returns WS_DEFLATE_NEED_INPUT). Add 4 for a sync flush. It is
 * in_len + in_len / 256 + 16 (saturating), whatever the level and window:
 * incompressible data goes out in stored blocks, 5 bytes per block. */
size_t ws_deflate_bound(size_t in_len);

#endif /* WS_DEFLATE_H */

/*
 * inflate.h -- the RFC 1951 DEFLATE decoder: pure, incremental, no
 * allocation of its own.
 *
 * permessage-deflate (RFC 7692) compresses each WebSocket message with raw
 * DEFLATE (no zlib or gzip wrapper). The server inflates a message's
 * payload as its frames arrive, in whatever pieces the reads bring, into an
 * output buffer of whatever size it has free, so this decoder is a push
 * state machine like the others: any split of the input, down to one byte
 * at a time, and any size of output buffer, down to one byte, give the same
 * bytes out.
 *
 * The caller owns the memory: ws_inflate_size() says how many bytes the
 * state needs for a given window (the state includes the sliding window of
 * 2^window_bits bytes and the Huffman decoding tables), and
 * ws_inflate_init() lays the state out in them. Nothing else is ever
 * allocated; nothing here does I/O.
 *
 * Every malformed stream is an error at the first byte that proves it:
 * a reserved block type, a stored block whose LEN and NLEN disagree, an
 * over-subscribed or incomplete code-length or literal/length or distance
 * code (a single one-bit code is allowed, RFC 1951 §3.2.7, and as in zlib
 * for literal/length too; and a distance code with no codes at all), a
 * code without the end-of-block symbol, a repeat code with nothing to
 * repeat or running past the declared number of lengths, a length or
 * distance symbol that RFC 1951 reserves (286, 287, 30, 31; HLIT > 286 and
 * HDIST > 30 are refused as zlib refuses them), and a distance further
 * back than the window or than the output produced so far. The exact
 * rules, and where they differ from zlib's (only in being stricter about
 * windows below 2^15), are at the top of inflate.c.
 */
#ifndef WS_INFLATE_H
#define WS_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/* RFC 7692 §7.1.2: window sizes from 2^8 to 2^15 bytes. */
#define WS_INFLATE_MIN_WINDOW_BITS 8
#define WS_INFLATE_MAX_WINDOW_BITS 15

typedef struct ws_inflate ws_inflate;

/* Results of ws_inflate_feed() (errors are negative ws_error codes). */
enum {
    WS_INFLATE_NEED_INPUT = 0,  /* every input byte consumed; nothing more
                                   can be produced until more arrives */
    WS_INFLATE_OUTPUT_FULL = 1, /* out is full and more output is (or may
                                   be) pending: call again with more room */
    WS_INFLATE_END = 2          /* the final block (BFINAL = 1) ended; bytes
                                   after it were not consumed */
};

/* Bytes of memory the state needs for a window of 2^window_bits bytes
 * (WS_INFLATE_MIN_WINDOW_BITS..WS_INFLATE_MAX_WINDOW_BITS), or 0 for a
 * window_bits out of range: the window plus about 9.5 KiB of tables and
 * counters (on x86-64, 42,3xx bytes in all for a window of 2^15). */
size_t ws_inflate_size(unsigned window_bits);

/* Lay out a decoder in mem (size bytes, at least ws_inflate_size(), aligned
 * as malloc aligns) for a stream whose back-references reach at most
 * 2^window_bits bytes. Returns mem as a ws_inflate, or NULL if size is too
 * small or window_bits out of range. The caller frees mem; there is no
 * destroy function. */
ws_inflate *ws_inflate_init(void *mem, size_t size, unsigned window_bits);

/* Start a new stream. keep_window = 1 keeps the history, so the new stream
 * may refer back into the previous one's output (RFC 7692 §7.2.2: context
 * takeover); 0 forgets it (no context takeover). Also the way to go on
 * after WS_INFLATE_END. After an error, only keep_window = 0 is allowed. A
 * permessage-deflate receiver with context takeover needs no reset between
 * messages: the messages are one stream, each ending at a block boundary. */
void ws_inflate_reset(ws_inflate *z, int keep_window);

/* Decode in[0..in_len) into out[0..out_cap). *in_used is set to the input
 * bytes consumed, *out_len to the output bytes written (both may be 0).
 * Returns WS_INFLATE_NEED_INPUT, WS_INFLATE_OUTPUT_FULL, WS_INFLATE_END, or
 * a negative ws_error (WS_E_INFLATE_*) at the first invalid bit, after
 * which the decoder must not be fed again (it would return the same error).
 *
 * The decoder goes as far as the input and output allow: it returns
 * WS_INFLATE_OUTPUT_FULL only when it has a byte to write and out has no
 * room for it, so it also goes through what writes nothing (the end of a
 * block, the next block's header, the end of the stream) with out full,
 * and out_cap may be 0. Input bytes not consumed (OUTPUT_FULL, END) must
 * be passed again, as the start of the next call's input.
 *
 * On an error, *out_len bytes of out are the valid output before it, and
 * *in_used says how far the input was read. Bytes of out after *out_len
 * may have been written to (matches are copied in chunks of up to 16
 * bytes); nothing at or beyond out + out_cap is. in and out may be NULL
 * when their length is 0. No pointer into in or out is kept after the
 * call: the history later streams may refer to is copied into the state. */
int ws_inflate_feed(ws_inflate *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                    size_t out_cap, size_t *out_len);

/* 1 if the stream stands between two blocks, with no output pending: where
 * a permessage-deflate message must end once the receiver has appended
 * 00 00 ff ff (RFC 7692 §7.2.2), because the sender ended it with an empty
 * stored block. Also 1 after WS_INFLATE_END. */
int ws_inflate_at_block_boundary(const ws_inflate *z);

#endif /* WS_INFLATE_H */

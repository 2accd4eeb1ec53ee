/*
 * testutil.h -- helpers shared by the unit tests.
 *
 * Two techniques from picohttpparser's tests, used for every parser here:
 *  - guard pages: tu_guarded_copy() places a copy of the input flush
 *    against a PROT_NONE page, so reading one byte past the end crashes
 *    the test instead of passing silently;
 *  - split feeding: tu_for_each_split() calls a function with the input cut
 *    at every possible point (two pieces), and tu_chunks() cuts it into
 *    pieces of a given size (1 = byte by byte), so a test can check that
 *    every way of splitting the input gives the same events.
 * tu_split_at() and tu_bytewise() do the same for long inputs: one cut
 * at a time, or one byte at a time out of a single guarded buffer.
 *
 * Also here: a deterministic generator (tu_fill_random(), tu_rng) and a
 * growing byte buffer (tu_bytes), which several tests would otherwise
 * each write again. The RFC test vectors are in vectors.h.
 */
#ifndef WS_TESTUTIL_H
#define WS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A copy of len bytes of data ending exactly at a PROT_NONE guard page.
 * Free with tu_guarded_free(). len may be 0 (the pointer then sits right
 * at the guard page). Aborts the test program if mmap fails. */
uint8_t *tu_guarded_copy(const void *data, size_t len);
void tu_guarded_free(uint8_t *p, size_t len);

/* Call fn(ctx, pieces, n) for every way of cutting data into two pieces
 * (cut at 0..len), each piece in its own guarded buffer. pieces[i] points
 * to the bytes, lens[i] to their length. */
typedef void (*tu_pieces_fn)(void *ctx, const uint8_t *const *pieces, const size_t *lens, size_t n);
void tu_for_each_split(const void *data, size_t len, tu_pieces_fn fn, void *ctx);

/* Call fn once with data cut into pieces of at most chunk bytes (the last
 * may be shorter), each in its own guarded buffer. chunk >= 1. An empty
 * input is passed as one empty piece, so fn always runs. Each piece costs
 * an mmap: keep byte-by-byte feeding to inputs of a few KiB. */
void tu_chunks(const void *data, size_t len, size_t chunk, tu_pieces_fn fn, void *ctx);

/* Call fn once with data cut in two at cut (0 <= cut <= len), each piece
 * in its own guarded buffer: one of tu_for_each_split()'s calls, for
 * inputs too long to try every cut. */
void tu_split_at(const void *data, size_t len, size_t cut, tu_pieces_fn fn, void *ctx);

/* Call fn once with data as len pieces of one byte, all pointing into a
 * single guarded copy: byte-by-byte feeding for inputs too long for
 * tu_chunks(data, len, 1, ...), which maps a page per byte. The guard
 * page still catches a read past the last byte. len may be 0 (fn gets no
 * pieces). */
void tu_bytewise(const void *data, size_t len, tu_pieces_fn fn, void *ctx);

/* Fill buf with len bytes from a deterministic generator (splitmix64)
 * seeded by seed: the same seed gives the same bytes on every run. */
void tu_fill_random(uint8_t *buf, size_t len, uint64_t seed);

/* The same generator for a test's own choices (sizes, cuts, opcodes):
 * tu_rng r = { seed }; then tu_rng_next(&r), or tu_rng_below(&r, n) for
 * 0..n-1 (0 when n is 0). */
typedef struct tu_rng {
    uint64_t s;
} tu_rng;
uint64_t tu_rng_next(tu_rng *r);
size_t tu_rng_below(tu_rng *r, size_t n);

/* A growing byte buffer for streams a test builds and outputs it
 * collects. Start from { 0 }; after the first tu_bytes_put() p is never
 * NULL, even when nothing was added, so p + offset is always valid
 * pointer arithmetic. Aborts if memory runs out. */
typedef struct tu_bytes {
    uint8_t *p;
    size_t len, cap;
} tu_bytes;
void tu_bytes_put(tu_bytes *b, const void *data, size_t n);
void tu_bytes_free(tu_bytes *b); /* back to { 0 } */

#endif /* WS_TESTUTIL_H */

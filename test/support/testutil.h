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

/* Fill buf with len bytes from a deterministic generator (splitmix64)
 * seeded by seed: the same seed gives the same bytes on every run. */
void tu_fill_random(uint8_t *buf, size_t len, uint64_t seed);

#endif /* WS_TESTUTIL_H */

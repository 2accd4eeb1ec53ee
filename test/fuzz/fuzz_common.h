/*
 * fuzz_common.h -- what the libFuzzer targets share: a check that crashes
 * (so libFuzzer saves the input) and a way to cut an input into pieces
 * that the fuzzer itself controls.
 *
 * Each target takes the first byte(s) of its input as parameters -- how to
 * cut, which limits -- and the rest as the bytes to parse. Because the cut
 * pattern comes from the input, libFuzzer explores splits the same way it
 * explores content, and a saved crash reproduces exactly.
 */
#ifndef WS_FUZZ_COMMON_H
#define WS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry point; declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A disagreement or a broken promise is a bug: say which, then abort so
 * libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Piece sizes drawn from a seed byte and the input's length: the low 3
 * bits of the seed choose the largest piece (1 byte, a few bytes, ...
 * everything at once); the seed and the length together start a small
 * generator (xorshift32) for the sizes within that bound, so the same
 * seed byte cuts inputs of different lengths differently. */
typedef struct fuzz_cutter {
    uint32_t x;
    size_t max_piece;
} fuzz_cutter;

static inline void fuzz_cutter_step(fuzz_cutter *c) {
    c->x ^= c->x << 13;
    c->x ^= c->x >> 17;
    c->x ^= c->x << 5;
}

static inline void fuzz_cutter_init(fuzz_cutter *c, uint8_t seed, size_t len) {
    static const size_t max_piece[8] = { 1, 2, 3, 7, 16, 64, 2048, SIZE_MAX };
    c->max_piece = max_piece[seed & 7];
    c->x = 0x9e3779b9u ^ (uint32_t)seed * 0x01000193u ^ (uint32_t)len * 0x85ebca6bu;
    if (c->x == 0) c->x = 1; /* xorshift's one fixed point */
    for (int i = 0; i < 4; i++) fuzz_cutter_step(c);
}

/* The next piece size, 1..min(left, max_piece); left >= 1. */
static inline size_t fuzz_cutter_next(fuzz_cutter *c, size_t left) {
    fuzz_cutter_step(c);
    size_t k = c->max_piece == SIZE_MAX ? left : 1 + c->x % c->max_piece;
    return k < left ? k : left;
}

#endif /* WS_FUZZ_COMMON_H */

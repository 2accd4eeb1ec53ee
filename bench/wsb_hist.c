/*
 * wsb_hist.c -- log-linear histogram (see wsb_hist.h for the layout).
 *
 * Index of a value v:
 *   v < 64:   index = v                                   (exact)
 *   v >= 64:  e = position of the top set bit (6..63)
 *             m = the 6 bits below the top bit = (v >> (e - 6)) & 63
 *             index = 64 + (e - 6) * 64 + m
 * Bucket `index` then covers [(64 + m) << (e - 6), (65 + m) << (e - 6)).
 */
#include "wsb_hist.h"

#include <math.h>
#include <string.h>

static unsigned bucket_of(uint64_t v) {
    if (v < WSB_HIST_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = e - WSB_HIST_SUB_BITS;
    unsigned m = (unsigned)(v >> shift) & (WSB_HIST_SUB - 1);

    return WSB_HIST_SUB + shift * WSB_HIST_SUB + m;
}

/* Lower bound and width of bucket i (inverse of bucket_of()). */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *width) {
    if (i < WSB_HIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned shift = (i - WSB_HIST_SUB) / WSB_HIST_SUB;
    unsigned m = (i - WSB_HIST_SUB) % WSB_HIST_SUB;

    *lo = (uint64_t)(WSB_HIST_SUB + m) << shift;
    *width = (uint64_t)1 << shift;
}

void wsb_hist_reset(struct wsb_hist *h) {
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void wsb_hist_record(struct wsb_hist *h, uint64_t v) {
    h->bucket[bucket_of(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

void wsb_hist_merge(struct wsb_hist *dst, const struct wsb_hist *src) {
    for (unsigned i = 0; i < WSB_HIST_BUCKETS; i++) dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t wsb_hist_quantile(const struct wsb_hist *h, double q) {
    if (h->count == 0) return 0;
    /* The rank of the wanted value, 1-based: ceil(q * count), at least 1. */
    double r = ceil(q * (double)h->count);
    uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
    uint64_t seen = 0;

    /* The extremes are known exactly. */
    if (rank >= h->count) return h->max;
    if (rank == 1) return h->min;
    for (unsigned i = 0; i < WSB_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t lo, width, mid;

            bucket_range(i, &lo, &width);
            mid = lo + width / 2;
            if (mid < h->min) mid = h->min;
            if (mid > h->max) mid = h->max;
            return mid;
        }
    }
    return h->max;
}

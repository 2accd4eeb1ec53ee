/*
 * wsb_hist.h -- a log-linear latency histogram that stores counts, not samples.
 *
 * Values are nanoseconds. Values below 64 get a bucket each; above that,
 * every power of two [2^e, 2^(e+1)) is split into 64 equal buckets, so a
 * bucket is at most 1/64 of its lower bound wide and the midpoint reported
 * for a percentile is within 1/128 (0.8 %) of any value in it. The whole
 * uint64_t range fits in WSB_HIST_BUCKETS counters (about 30 KiB), so
 * recording is one clz, two shifts and an increment: no allocation, no
 * sorting, and histograms from several processes merge by adding counts.
 */
#ifndef WSB_HIST_H
#define WSB_HIST_H

#include <stdint.h>

#define WSB_HIST_SUB_BITS 6
#define WSB_HIST_SUB      (1u << WSB_HIST_SUB_BITS)
/* 64 exact buckets + 64 per octave for exponents 6..63. */
#define WSB_HIST_BUCKETS  (WSB_HIST_SUB + (64 - WSB_HIST_SUB_BITS) * WSB_HIST_SUB)

struct wsb_hist {
    uint64_t count;
    uint64_t min; /* UINT64_MAX while count == 0 */
    uint64_t max;
    uint64_t sum; /* for the mean; wraps only after ~584 years of latency */
    uint64_t bucket[WSB_HIST_BUCKETS];
};

/* Empty the histogram. */
void wsb_hist_reset(struct wsb_hist *h);
/* Count one value (nanoseconds). */
void wsb_hist_record(struct wsb_hist *h, uint64_t v);
/* Add every count of src into dst. */
void wsb_hist_merge(struct wsb_hist *dst, const struct wsb_hist *src);
/* The value at quantile q (0 < q <= 1): the midpoint of the bucket holding
 * the ceil(q * count)-th smallest value, clamped to [min, max]; exactly min
 * or max for the first and last rank. 0 if empty. */
uint64_t wsb_hist_quantile(const struct wsb_hist *h, double q);

#endif

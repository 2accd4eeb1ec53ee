/*
 * mem.c -- the worker's memory budget (mem.h).
 *
 * Why one budget and not only per-connection limits: per-connection
 * limits multiply. 10,000 connections that may each hold a 16 MiB message
 * and 4 MiB of output may together hold 200 GiB; a handful of hostile
 * peers that each stay just under every per-connection limit can exhaust a
 * machine. The budget is the one number that bounds them all together:
 * the per-connection limits say what one peer may ask for, the budget says
 * what all of them together get.
 *
 * The check happens before malloc: a refused request costs nothing.
 */
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>

static ws_mem_stats st;

static const char *const kind_names[WS_MEM_KINDS] = { "fixed", "conn",   "head", "msg",
                                                      "out",   "shared", "zip" };

void ws_mem_init(size_t limit) {
    for (int k = 0; k < WS_MEM_KINDS; k++) st.used[k] = 0;
    st.total = st.peak = 0;
    st.refused = 0;
    st.limit = limit;
}

/* Counted size of an allocation of n bytes. */
static size_t cost(size_t n) { return n + WS_MEM_OVERHEAD; }

/* Are there bytes more in the budget? */
static int room_for(size_t bytes) {
    return !st.limit || (st.total <= st.limit && bytes <= st.limit - st.total);
}

int ws_mem_fits(size_t n) { return n <= SIZE_MAX - WS_MEM_OVERHEAD && room_for(cost(n)); }

size_t ws_mem_room(void) {
    if (!st.limit) return SIZE_MAX;
    return st.total >= st.limit ? 0 : st.limit - st.total;
}

static void count(ws_mem_kind k, size_t add, size_t sub) {
    st.used[k] = st.used[k] + add - sub;
    st.total = st.total + add - sub;
    if (st.total > st.peak) st.peak = st.total;
}

void *ws_mem_alloc(ws_mem_kind k, size_t n) {
    void *p;
    if (!ws_mem_fits(n)) {
        st.refused++;
        return NULL;
    }
    p = malloc(n ? n : 1);
    if (!p) return NULL;
    count(k, cost(n), 0);
    return p;
}

void *ws_mem_realloc(ws_mem_kind k, void *p, size_t old_n, size_t new_n) {
    void *q;
    if (!p) return ws_mem_alloc(k, new_n);
    /* Growing needs only the difference: the block's header is counted. */
    if (new_n > old_n && !room_for(new_n - old_n)) {
        st.refused++;
        return NULL;
    }
    q = realloc(p, new_n ? new_n : 1);
    if (!q) return new_n <= old_n ? p : NULL;
    count(k, new_n, old_n);
    return q;
}

void ws_mem_free(ws_mem_kind k, void *p, size_t n) {
    if (!p) return;
    free(p);
    count(k, 0, cost(n));
}

void ws_mem_move(ws_mem_kind a, ws_mem_kind b, size_t n) {
    st.used[a] -= n;
    st.used[b] += n;
}

const ws_mem_stats *ws_mem_stats_now(void) { return &st; }

const char *ws_mem_kind_name(ws_mem_kind k) {
    return (unsigned)k < WS_MEM_KINDS ? kind_names[k] : "?";
}

void ws_mem_format(char *out, size_t cap, size_t n) {
    if (n < 1024)
        snprintf(out, cap, "%zu B", n);
    else if (n < 1024 * 1024)
        snprintf(out, cap, "%.1f KiB", n / 1024.0);
    else if (n < (size_t)1024 * 1024 * 1024)
        snprintf(out, cap, "%.1f MiB", n / (1024.0 * 1024.0));
    else
        snprintf(out, cap, "%.2f GiB", n / (1024.0 * 1024.0 * 1024.0));
}

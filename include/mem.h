/*
 * mem.h -- the worker's memory budget: every byte the server allocates on
 * behalf of peers is counted here, by kind, against one limit
 * (--max-memory).
 *
 * Allocation goes through ws_mem_alloc() / ws_mem_realloc() /
 * ws_mem_free() with a kind, so one table always says what the worker
 * holds and for what: connection slots, request heads, messages being
 * assembled, output queues, shared broadcast messages, compression state.
 * A request that would take the total over the limit is refused (NULL)
 * before malloc is called; what to do then -- shed another connection,
 * close this one with 1013, answer 503 -- is the server's policy, not this
 * module's (server.c, shed_for()).
 *
 * Each allocation is counted as its size plus WS_MEM_OVERHEAD, the
 * allocator's own header, so many small blocks cannot hide behind their
 * sizes. The server is single-threaded per worker, so the counters are
 * plain variables.
 */
#ifndef WS_MEM_H
#define WS_MEM_H

#include <stddef.h>
#include <stdint.h>

/* What the bytes are for (the stats line shows each). */
typedef enum ws_mem_kind {
    WS_MEM_FIXED = 0, /* per-worker buffers: read buffer, write batch, tables */
    WS_MEM_CONN,      /* connection slots and their working state */
    WS_MEM_HEAD,      /* HTTP request heads being parsed */
    WS_MEM_MSG,       /* messages being assembled, control frames, parked input */
    WS_MEM_OUT,       /* output queued for one connection */
    WS_MEM_SHARED,    /* messages shared by many connections (broadcast) */
    WS_MEM_ZIP,       /* compression state (permessage-deflate) */
    WS_MEM_KINDS
} ws_mem_kind;

/* glibc's malloc puts a 16-byte header before each block on 64-bit. */
#define WS_MEM_OVERHEAD 16

typedef struct ws_mem_stats {
    size_t used[WS_MEM_KINDS]; /* bytes counted now, by kind */
    size_t total;              /* their sum */
    size_t peak;               /* the highest total so far */
    size_t limit;              /* the budget (0: none) */
    uint64_t refused;          /* requests refused for the budget */
} ws_mem_stats;

/* Set the budget (bytes; 0 means no limit) and clear the counters. */
void ws_mem_init(size_t limit);

/* n bytes for kind k, or NULL if they would take the total over the limit
 * (counted in refused) or malloc fails. n may be 0 (a unique pointer). */
void *ws_mem_alloc(ws_mem_kind k, size_t n);

/* Resize p (old_n bytes, NULL with old_n 0 to allocate) to new_n bytes.
 * Returns the new block, or NULL -- and p is left as it was -- if growing
 * would pass the limit or realloc fails. Shrinking always succeeds. */
void *ws_mem_realloc(ws_mem_kind k, void *p, size_t old_n, size_t new_n);

/* Free p, which was allocated as n bytes of kind k. NULL is a no-op. */
void ws_mem_free(ws_mem_kind k, void *p, size_t n);

/* Would n more bytes (in one allocation) fit in the budget now? */
int ws_mem_fits(size_t n);

/* Bytes left before the limit (SIZE_MAX without one). */
size_t ws_mem_room(void);

/* Move n counted bytes from kind a to kind b (a buffer that changes role,
 * such as an assembled message that becomes output). */
void ws_mem_move(ws_mem_kind a, ws_mem_kind b, size_t n);

/* The current figures. */
const ws_mem_stats *ws_mem_stats_now(void);

/* The short name of a kind ("msg", "out", ...) for log lines. */
const char *ws_mem_kind_name(ws_mem_kind k);

/* Format n bytes for people: "512 B", "3.2 KiB", "16.0 MiB". */
void ws_mem_format(char *out, size_t cap, size_t n);

#endif /* WS_MEM_H */

/*
 * buf.c -- a growable byte buffer, allocated only while it holds something.
 */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>

/* Make room for need more bytes after the used part; returns 0 or -1. */
int buf_reserve(buf **bp, size_t need) {
    buf *b = *bp;
    size_t used = b ? b->len - b->off : 0, cap;

    if (b && b->cap - b->len >= need) return 0;
    if (b && b->off > 0 && b->cap - used >= need) {
        /* Enough room once the consumed prefix is dropped. */
        memmove(b->data, b->data + b->off, used);
        b->len = used;
        b->off = 0;
        return 0;
    }
    cap = b ? b->cap : 0;
    if (cap < 256) cap = 256;
    while (cap - used < need) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    if (b && b->off > 0) {
        memmove(b->data, b->data + b->off, used);
        b->len = used;
        b->off = 0;
    }
    b = realloc(b, sizeof(buf) + cap);
    if (!b) return -1;
    if (!*bp) b->off = b->len = 0;
    b->cap = cap;
    *bp = b;
    return 0;
}

int buf_append(buf **bp, const void *data, size_t len) {
    if (len == 0) return 0;
    if (buf_reserve(bp, len) < 0) return -1;
    memcpy((*bp)->data + (*bp)->len, data, len);
    (*bp)->len += len;
    return 0;
}

void buf_free(buf **bp) {
    free(*bp);
    *bp = NULL;
}

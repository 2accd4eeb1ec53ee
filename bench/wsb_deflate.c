/*
 * wsb_deflate.c -- permessage-deflate for wsbench (wsb_deflate.h).
 */
#include "wsb_deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Chat-like JSON, different for each k, exactly size bytes (binary
 * payloads get a few non-ASCII bytes mixed in). */
static void fill(uint8_t *out, size_t size, unsigned k, int text) {
    static const char *const words[] = { "hello", "meeting", "at",     "noon", "ok", "see",
                                         "you",   "there",   "thanks", "ship", "it", "today" };
    static const char *const users[] = { "alice", "bob", "carol", "dave" };
    size_t n = 0;
    unsigned x = 2166136261u ^ k;

    while (n < size) {
        char rec[160];
        int len = snprintf(rec, sizeof(rec), "{\"id\":%u,\"user\":\"%s\",\"text\":\"", x % 100000,
                           users[x % 4]);
        for (int w = 0; w < 6; w++) {
            x = x * 1664525u + 1013904223u;
            len += snprintf(rec + len, sizeof(rec) - (size_t)len, "%s%s", w ? " " : "",
                            words[(x >> 16) % 12]);
        }
        len += snprintf(rec + len, sizeof(rec) - (size_t)len, "\"}\n");
        for (int i = 0; i < len && n < size; i++) out[n++] = (uint8_t)rec[i];
    }
    if (!text)
        for (size_t i = 0; i < size; i += 97) out[i] = (uint8_t)(0x80 | (i & 0x7f));
}

int wsb_zset_init(struct wsb_zset *s, size_t size, int text) {
    z_stream d;

    memset(s, 0, sizeof(*s));
    s->size = size;
    s->text = text;
    s->scratch = malloc(size + 1);
    s->zs = calloc(1, sizeof(z_stream));
    if (!s->scratch || !s->zs || inflateInit2((z_stream *)s->zs, -15) != Z_OK) return -1;
    memset(&d, 0, sizeof(d));
    if (deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    for (unsigned k = 0; k < WSB_ZSET; k++) {
        size_t cap = deflateBound(&d, size) + 16;
        s->plain[k] = malloc(size + 1);
        s->z[k] = malloc(cap);
        if (!s->plain[k] || !s->z[k]) return -1;
        fill(s->plain[k], size, k, text);
        deflateReset(&d); /* client_no_context_takeover */
        d.next_in = s->plain[k];
        d.avail_in = (uInt)size;
        d.next_out = s->z[k];
        d.avail_out = (uInt)cap;
        if (deflate(&d, Z_SYNC_FLUSH) != Z_OK || d.avail_in) return -1;
        /* RFC 7692 §7.2.1: the final 00 00 ff ff is not sent. */
        s->zlen[k] = cap - d.avail_out - 4;
        if (s->zlen[k] > s->max_zlen) s->max_zlen = s->zlen[k];
    }
    deflateEnd(&d);
    return 0;
}

void wsb_zset_free(struct wsb_zset *s) {
    for (unsigned k = 0; k < WSB_ZSET; k++) {
        free(s->plain[k]);
        free(s->z[k]);
        free(s->echo[k]);
    }
    if (s->zs) {
        inflateEnd((z_stream *)s->zs);
        free(s->zs);
    }
    free(s->scratch);
    memset(s, 0, sizeof(*s));
}

/* Inflate a whole message (server_no_context_takeover: a fresh stream),
 * §7.2.2: with 00 00 ff ff appended. Returns the length or -1. */
static long inflate_msg(struct wsb_zset *s, const uint8_t *data, size_t len) {
    static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
    z_stream *z = s->zs;

    inflateReset(z);
    z->next_out = s->scratch;
    z->avail_out = (uInt)s->size + 1;
    for (int part = 0; part < 2; part++) {
        int rc;
        z->next_in = (Bytef *)(part ? tail : data);
        z->avail_in = (uInt)(part ? 4 : len);
        rc = inflate(z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return -1;
        if (rc == Z_STREAM_END) break;
    }
    return (long)(s->size + 1 - z->avail_out);
}

int wsb_zset_check(struct wsb_zset *s, unsigned k, const uint8_t *data, size_t len,
                   int compressed) {
    long n;

    if (!compressed) return len == s->size && memcmp(data, s->plain[k], len) == 0 ? 0 : -1;
    if (s->echo[k] && s->echo_len[k] == len && memcmp(s->echo[k], data, len) == 0) return 0;
    n = inflate_msg(s, data, len);
    if (n != (long)s->size || memcmp(s->scratch, s->plain[k], s->size) != 0) return -1;
    if (!s->echo[k]) {
        s->echo[k] = malloc(len ? len : 1);
        if (s->echo[k]) {
            memcpy(s->echo[k], data, len);
            s->echo_len[k] = len;
        }
    }
    return 0;
}

/*
 * utf8.h -- incremental, fail-fast UTF-8 validation (RFC 3629).
 *
 * RFC 6455 §8.1: a text message must be valid UTF-8, and an endpoint that
 * receives invalid UTF-8 must fail the connection (status 1007). A message
 * may arrive in many frames and each frame in many reads, so the validator
 * keeps its state between calls and rejects at the first byte that cannot
 * start or continue a well-formed sequence: overlong forms, surrogates
 * (U+D800..U+DFFF) and code points above U+10FFFF are rejected as early as
 * their second byte (RFC 3629 §4, the "Well-Formed UTF-8 Byte Sequences"
 * table of Unicode §3.9).
 *
 * The state is one 32-bit word so it costs nothing per connection.
 */
#ifndef WS_UTF8_H
#define WS_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_utf8 {
    uint32_t state; /* 0 = between characters (the only accepting state) */
} ws_utf8;

enum {
    WS_UTF8_OK = 0,      /* all bytes valid; input ends between characters */
    WS_UTF8_PARTIAL = 1, /* all bytes valid so far; a character is incomplete */
    WS_UTF8_INVALID = -1 /* invalid; *bad (if given) = offset of the first bad byte */
};

static inline void ws_utf8_init(ws_utf8 *u) { u->state = 0; }

/* Validate len more bytes of the same stream. Returns WS_UTF8_OK,
 * WS_UTF8_PARTIAL or WS_UTF8_INVALID. After WS_UTF8_INVALID the state is
 * undefined until ws_utf8_init(). If bad is not NULL and the result is
 * WS_UTF8_INVALID, *bad is set to the index in p of the first byte that
 * made the input invalid. p may be NULL when len is 0. Reads only
 * p[0..len-1], never past it (whatever the fast path's word size). */
int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t len, size_t *bad);

/* True when the stream ends on a character boundary (no partial char). */
static inline int ws_utf8_complete(const ws_utf8 *u) { return u->state == 0; }

#endif /* WS_UTF8_H */

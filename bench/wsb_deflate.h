/*
 * wsb_deflate.h -- the client side of permessage-deflate (RFC 7692) for
 * wsbench --deflate, with zlib (a benchmark tool may use it; the server
 * never does).
 *
 * To keep the client's own work small next to the server's, the messages
 * are a fixed set of WSB_ZSET compressible payloads (chat-like JSON text),
 * compressed once at start. Both sides agree to keep no context, so the
 * server compresses equal messages to equal bytes: the first echo of each
 * payload is inflated and checked byte for byte, and later echoes are
 * compared with that one (and inflated and checked again if they differ).
 */
#ifndef WSB_DEFLATE_H
#define WSB_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#define WSB_ZSET 16

/* The header line the handshake offers. */
#define WSB_DEFLATE_OFFER                                                                          \
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "                   \
    "client_no_context_takeover\r\n"

struct wsb_zset {
    size_t size; /* uncompressed payload bytes */
    int text;
    uint8_t *plain[WSB_ZSET]; /* the payloads */
    uint8_t *z[WSB_ZSET];     /* compressed (RFC 7692 §7.2.1) */
    size_t zlen[WSB_ZSET];
    uint8_t *echo[WSB_ZSET]; /* the server's compressed echo, once checked */
    size_t echo_len[WSB_ZSET];
    uint8_t *scratch; /* inflated bytes */
    size_t max_zlen;  /* the largest of zlen[] */
    void *zs;         /* a z_stream for inflating */
};

/* Build the set for payloads of size bytes. 0 or -1. */
int wsb_zset_init(struct wsb_zset *s, size_t size, int text);
void wsb_zset_free(struct wsb_zset *s);

/* Check a whole echoed message of payload k: compressed (RSV1 was set) or
 * not. Returns 0 if it is the payload, -1 if not. */
int wsb_zset_check(struct wsb_zset *s, unsigned k, const uint8_t *data, size_t len, int compressed);

#endif

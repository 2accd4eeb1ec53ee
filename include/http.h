/*
 * http.h -- the opening handshake: an incremental HTTP/1.1 request-head
 * parser, the RFC 6455 §4.2.1 checks, and the responses.
 *
 * The parser is a resumable state machine (one byte at a time, no
 * backtracking), so a request split over any number of reads gives the same
 * result, and it never needs the bytes it has already seen: it keeps only the
 * fields the server uses, copied into fixed-size arrays of the request
 * struct. That is why a 1 MiB request head costs nothing but the time to
 * count it to the limit (431), and why the server does not buffer the head.
 *
 * It never touches a socket and never allocates.
 */
#ifndef WS_HTTP_H
#define WS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "pmd.h"

#define WS_HTTP_MAX_TARGET       1024 /* request-target bytes kept; longer: 414 */
#define WS_HTTP_MAX_KEY          64   /* Sec-WebSocket-Key value bytes kept; longer is invalid */
#define WS_HTTP_MAX_FORWARDED    64   /* X-Forwarded-For bytes kept (first address) */
#define WS_HTTP_MAX_ORIGIN       256  /* Origin bytes kept; a longer one matches nothing */
#define WS_HTTP_MAX_PROTOCOL     64   /* a subprotocol name kept; longer ones are never chosen */
#define WS_HTTP_DEFAULT_MAX_HEAD 8192
#define WS_HTTP_ACCEPT_LEN       28 /* base64 of a 20-byte SHA-1 */

enum { WS_HTTP_METHOD_OTHER = 0, WS_HTTP_METHOD_GET, WS_HTTP_METHOD_HEAD };

/* What the server needs from a request head; every string is a copy,
 * NUL-terminated, owned by the struct. */
typedef struct ws_http_request {
    uint8_t method;        /* WS_HTTP_METHOD_* */
    uint8_t version_major; /* HTTP-version digits, e.g. 1 and 1 */
    uint8_t version_minor;
    char target[WS_HTTP_MAX_TARGET + 1];
    size_t target_len;
    /* Sec-WebSocket-Key, surrounding whitespace removed. key_len is the
     * full length even when it did not fit (then the key is invalid). */
    char key[WS_HTTP_MAX_KEY + 1];
    size_t key_len;
    /* X-Forwarded-For: the first (client) address of the first such header,
     * whitespace removed; empty when absent or too long. */
    char forwarded_for[WS_HTTP_MAX_FORWARDED + 1];
    /* Sec-WebSocket-Version as a number; -1 when absent or not a number. */
    int ws_version;
    uint8_t host_count;         /* number of Host headers */
    uint8_t key_count;          /* number of Sec-WebSocket-Key headers */
    uint8_t version_count;      /* number of Sec-WebSocket-Version headers */
    uint8_t has_upgrade;        /* an Upgrade header was present */
    uint8_t upgrade_websocket;  /* Upgrade token list contains "websocket" */
    uint8_t connection_upgrade; /* Connection token list contains "upgrade" */
    uint8_t has_body;           /* Content-Length > 0 or any Transfer-Encoding */
    /* Sec-WebSocket-Extensions: the first acceptable permessage-deflate
     * offer (RFC 7692 §5), if pmd_offered. */
    uint8_t pmd_offered;
    ws_pmd_offer pmd;
    /* Origin (RFC 6454), whitespace removed: the first such header's
     * value; origin_len is its full length even when it did not fit. */
    uint8_t origin_count;
    char origin[WS_HTTP_MAX_ORIGIN + 1];
    size_t origin_len;
    /* Sec-WebSocket-Protocol: whether the client offered any, and the one
     * chosen from the server's list (ws_http_parser_protocols), "" if none. */
    uint8_t protocol_offered;
    char protocol[WS_HTTP_MAX_PROTOCOL + 1];
} ws_http_request;

/* Parser state. Treat as opaque; it lives in the connection only during the
 * handshake. */
typedef struct ws_http_parser {
    int state;                         /* where in the grammar the next byte goes */
    int error;                         /* the error returned, once one was */
    size_t seen;                       /* bytes of the head consumed so far */
    size_t max_head;                   /* limit on seen: over it -> WS_E_HTTP_TOO_LARGE */
    int header;                        /* which known header the current value belongs to */
    char name[32];                     /* current header name, lower-cased, if short */
    size_t name_len;                   /* its full length (may exceed the buffer) */
    char token[32];                    /* current element of a token list, lower-cased */
    char ptoken[WS_HTTP_MAX_PROTOCOL]; /* the same as sent (subprotocols keep case) */
    size_t token_len;                  /* its full length (may exceed the buffer) */
    size_t value_len;                  /* value bytes after leading OWS (digits, for numbers) */
    size_t value_trim;                 /* value_len without the trailing whitespace */
    uint64_t number;                   /* numeric value being parsed (versions, lengths) */
    uint8_t number_ok;                 /* the value so far is a plain decimal number */
    uint8_t pending_ws;                /* whitespace seen after the current element */
    uint8_t elem_flags;                /* state of the current list element */
    uint8_t forwarded_seen;            /* an X-Forwarded-For header was read */
    uint8_t method_len;
    char method[8];
    ws_pmd_parser pmd;            /* Sec-WebSocket-Extensions offers */
    const char *const *protocols; /* the server's subprotocols ("*": any) */
    size_t nprotocols;
    ws_http_request req; /* filled in as the head is parsed */
} ws_http_parser;

/* Prepare p for a new request; max_head is the 431 limit in bytes (request
 * line and headers, including the final empty line). */
void ws_http_parser_init(ws_http_parser *p, size_t max_head);

/* The subprotocols the server speaks, for choosing one while the request
 * is read (req.protocol): the first of the client's, in its order, that
 * is in names[0..n); a name "*" matches any. The array must outlive the
 * parser. Without this call none is chosen. */
void ws_http_parser_protocols(ws_http_parser *p, const char *const *names, size_t n);

enum {
    WS_HTTP_AGAIN = 0, /* all len bytes consumed, head not complete yet */
    WS_HTTP_DONE = 1   /* head complete */
};

/* Feed len more bytes of the request. On WS_HTTP_DONE *consumed is the
 * number of bytes of buf that belonged to the head (through the final
 * CRLF); any bytes after that are the start of the WebSocket stream and
 * belong to the caller. On WS_HTTP_AGAIN *consumed == len. On error returns
 * WS_E_HTTP_SYNTAX (400), WS_E_HTTP_TOO_LARGE (431), WS_E_HTTP_URI_LONG
 * (414) or WS_E_HTTP_VERSION (505), as soon as the offending byte arrives,
 * with *consumed = the offset of that byte in buf; the parser must not be
 * fed again (if it is, it consumes nothing and returns the same result). A bare LF is accepted as a
 * line end (RFC 9112 §2.2). Obsolete line folding is rejected (RFC 9112 §5.2). */
int ws_http_feed(ws_http_parser *p, const uint8_t *buf, size_t len, size_t *consumed);

/* What a complete request asks for. */
enum {
    WS_HTTP_PLAIN = 1,  /* a GET or HEAD with no WebSocket header: serve a file */
    WS_HTTP_UPGRADE = 2 /* a valid RFC 6455 §4.2.1 opening handshake */
};

/* Classify a parsed request. A request with an Upgrade,
 * Sec-WebSocket-Key or Sec-WebSocket-Version header is a handshake attempt;
 * any other is plain. Returns WS_HTTP_PLAIN, WS_HTTP_UPGRADE, or the
 * HTTP status to answer with: 400 (malformed handshake: not GET, not
 * HTTP/1.1+, missing or repeated Host, Connection without "upgrade",
 * Upgrade without "websocket", key missing/repeated or not base64 of 16
 * bytes, a request body), 405 (plain request with another method) or 426
 * (Sec-WebSocket-Version missing or not 13, RFC 6455 §4.4). */
int ws_http_classify(const ws_http_request *req);

/* The same, and in *why a short phrase saying which check decided it
 * ("handshake: Upgrade does not name websocket"), for the log. */
int ws_http_classify_why(const ws_http_request *req, const char **why);

/* RFC 6455 §4.2.2: out = base64(SHA-1(key + GUID)), 28 characters plus NUL. */
void ws_http_accept_key(const char *key, size_t key_len, char out[WS_HTTP_ACCEPT_LEN + 1]);

/* The reason phrase of a status code ("Bad Request"), never NULL. */
const char *ws_http_reason(int status);

/* Buffer sizes that always hold what the writers below produce, so that a
 * caller using them never has a response that does not fit (test_http.c
 * checks each): WS_HTTP_RESPONSE_MAX for any ws_http_write_error() status
 * (400-599) and for a ws_http_write_head() with a content type of up to
 * 64 bytes; WS_HTTP_101_MAX for a 101 with up to WS_HTTP_101_EXTRA_MAX - 1
 * bytes of extra lines. */
#define WS_HTTP_RESPONSE_MAX  256
#define WS_HTTP_101_EXTRA_MAX 256
#define WS_HTTP_101_MAX       (160 + WS_HTTP_101_EXTRA_MAX)

/* Write "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection and
 * Sec-WebSocket-Accept into out (cap bytes), then extra (NULL: nothing):
 * complete header lines, each ending in CRLF, such as the agreed
 * Sec-WebSocket-Extensions. Returns the length, or -1 if it does not fit. */
int ws_http_write_101(char *out, size_t cap, const char accept[WS_HTTP_ACCEPT_LEN + 1],
                      const char *extra);

/* Write a complete error response with a short text/plain body and
 * "Connection: close"; a 426 carries "Sec-WebSocket-Version: 13", a 405
 * carries "Allow: GET, HEAD", a 503 carries "Retry-After: 1". Returns the
 * length, or -1 if it does not fit. */
int ws_http_write_error(char *out, size_t cap, int status);

/* Write the head of a successful (200) or other response with a body of
 * body_len bytes of the given type, "Connection: close". Returns the length
 * or -1. */
int ws_http_write_head(char *out, size_t cap, int status, const char *content_type,
                       size_t body_len);

/* --subprotocol: split the comma-separated list into names[] (at most
 * max), pointing into buf, a copy of the list (cap bytes). Each name must
 * be a token of at most WS_HTTP_MAX_PROTOCOL characters, or "*" (any).
 * Returns the count (0 for NULL or ""), or -1 with a sentence in err. */
int ws_http_split_protocols(const char *list, char *buf, size_t cap, const char **names, size_t max,
                            char *err, size_t errcap);

/* --allow-origin: the comma-separated list is origins as browsers send
 * them (RFC 6454: scheme://host[:port], compared case-insensitively),
 * "null", or a wildcard: scheme "://" "*." domain [":" port], for every
 * subdomain of domain (not domain itself). ws_http_origin_list_check() returns 0, or -1 with a
 * sentence in err; ws_http_origin_allowed() returns 1 if origin (len
 * bytes) is admitted, always for an empty or NULL list. */
int ws_http_origin_list_check(const char *list, char *err, size_t errcap);
int ws_http_origin_allowed(const char *list, const char *origin, size_t origin_len);

#endif /* WS_HTTP_H */

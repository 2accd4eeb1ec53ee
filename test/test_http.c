/*
 * test_http.c -- the request-head parser, the RFC 6455 §4.2.1 checks and
 * the handshake responses.
 *
 * The parser must not care how the head is cut into reads, so almost every
 * input here goes through parse_everywhere(): once in one piece flush
 * against a guard page, then cut at every split point, then in chunks of
 * 1, 2, 3, 7 and 64 bytes, and every run must give the same return value,
 * the same byte count (through the final LF on success, the offset of the
 * offending byte on error) and the same request fields.
 *
 * Error cases are written as (prefix, rest): the prefix is accepted and the
 * first byte of the rest is the one that must be rejected, so each case
 * also checks that the parser fails at the earliest byte that proves the
 * request invalid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "http.h"
#include "testutil.h"
#include "vectors.h"

#define MAX_HEAD WS_HTTP_DEFAULT_MAX_HEAD
#define LIT(s)   s, sizeof(s) - 1 /* a string literal and its length, NULs included */

/* RFC 6455 §1.3: the sample client handshake and its answer. */
static const char rfc_request[] = TV_REQUEST;
static const char rfc_accept[] = TV_ACCEPT;

/* RFC 6455 §5.7: a single-frame masked text message, "Hello". A client may
 * send it in the same packet as its handshake. */
static const uint8_t hello_frame[] = { TV_HELLO_MASKED };

/* ---------------------------------------------------------------------- */
/* Feeding helpers                                                         */

/* What feeding a sequence of pieces produced. */
struct outcome {
    int rc;        /* the last ws_http_feed() result */
    size_t offset; /* bytes consumed in total (see the file comment) */
    ws_http_parser parser;
};

/* Feed the pieces in order until the parser finishes or fails. Checks the
 * per-call contract: AGAIN consumes everything, and after DONE or an error
 * a further feed consumes nothing and repeats the result. */
/* The server's subprotocols for the parsers these helpers make (a test
 * sets them, and sets them back to none). */
static const char *const *server_protocols;
static size_t server_nprotocols;

static void feed_pieces(struct outcome *out, size_t max_head, const uint8_t *const *pieces,
                        const size_t *lens, size_t n) {
    ws_http_parser_init(&out->parser, max_head);
    ws_http_parser_protocols(&out->parser, server_protocols, server_nprotocols);
    out->rc = WS_HTTP_AGAIN;
    out->offset = 0;
    for (size_t i = 0; i < n; i++) {
        size_t used = (size_t)-1;
        int rc = ws_http_feed(&out->parser, pieces[i], lens[i], &used);
        assert_true(used <= lens[i]);
        out->rc = rc;
        out->offset += used;
        if (rc == WS_HTTP_AGAIN) {
            assert_int_equal(used, lens[i]);
            continue;
        }
        assert_true(rc == WS_HTTP_DONE || rc == WS_E_HTTP_SYNTAX || rc == WS_E_HTTP_TOO_LARGE ||
                    rc == WS_E_HTTP_URI_LONG || rc == WS_E_HTTP_VERSION);
        size_t again = (size_t)-1;
        assert_int_equal(ws_http_feed(&out->parser, pieces[i] + used, lens[i] - used, &again), rc);
        assert_int_equal(again, 0);
        return;
    }
}

static void assert_same_request(const ws_http_request *a, const ws_http_request *b) {
    assert_int_equal(a->method, b->method);
    assert_int_equal(a->version_major, b->version_major);
    assert_int_equal(a->version_minor, b->version_minor);
    assert_int_equal(a->target_len, b->target_len);
    assert_memory_equal(a->target, b->target, a->target_len + 1);
    assert_int_equal(a->key_len, b->key_len);
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->forwarded_for, b->forwarded_for);
    assert_int_equal(a->ws_version, b->ws_version);
    assert_int_equal(a->host_count, b->host_count);
    assert_int_equal(a->key_count, b->key_count);
    assert_int_equal(a->version_count, b->version_count);
    assert_int_equal(a->has_upgrade, b->has_upgrade);
    assert_int_equal(a->upgrade_websocket, b->upgrade_websocket);
    assert_int_equal(a->connection_upgrade, b->connection_upgrade);
    assert_int_equal(a->has_body, b->has_body);
    assert_int_equal(a->pmd_offered, b->pmd_offered);
    assert_memory_equal(&a->pmd, &b->pmd, sizeof(a->pmd));
    assert_int_equal(a->origin_count, b->origin_count);
    assert_int_equal(a->origin_len, b->origin_len);
    assert_string_equal(a->origin, b->origin);
    assert_int_equal(a->protocol_offered, b->protocol_offered);
    assert_string_equal(a->protocol, b->protocol);
}

struct split_ctx {
    size_t max_head;
    const struct outcome *want;
    size_t runs;
};

static void check_pieces(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct split_ctx *ctx = vctx;
    struct outcome got;
    feed_pieces(&got, ctx->max_head, pieces, lens, n);
    assert_int_equal(got.rc, ctx->want->rc);
    assert_int_equal(got.offset, ctx->want->offset);
    if (got.rc == WS_HTTP_DONE) assert_same_request(&got.parser.req, &ctx->want->parser.req);
    ctx->runs++;
}

static void one_piece(void *vctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    struct outcome *out = vctx;
    feed_pieces(out, out->parser.max_head, pieces, lens, n);
}

/* Parse data in one guarded piece into *out, and check that every split
 * and chunking gives the same outcome. */
static void parse_everywhere(const void *data, size_t len, size_t max_head, struct outcome *out) {
    static const size_t chunk_sizes[] = { 1, 2, 3, 7, 64 };
    out->parser.max_head = max_head;
    tu_chunks(data, len, len > 0 ? len : 1, one_piece, out);

    struct split_ctx ctx = { max_head, out, 0 };
    tu_for_each_split(data, len, check_pieces, &ctx);
    for (size_t i = 0; i < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); i++)
        tu_chunks(data, len, chunk_sizes[i], check_pieces, &ctx);
    assert_int_equal(ctx.runs, len + 1 + 5);
}

/* Parse a NUL-terminated request in one guarded piece. */
static int parse_one(const char *text, size_t max_head, ws_http_parser *ps, size_t *consumed) {
    size_t len = strlen(text);
    uint8_t *buf = tu_guarded_copy(text, len);
    ws_http_parser_init(ps, max_head);
    ws_http_parser_protocols(ps, server_protocols, server_nprotocols);
    int rc = ws_http_feed(ps, buf, len, consumed);
    tu_guarded_free(buf, len);
    return rc;
}

/* A GET / with Host and the given extra header lines, then the end. */
static const char *with_headers(char *buf, size_t cap, const char *extra) {
    int n = snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", extra);
    assert_true(n > 0 && (size_t)n < cap);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* The RFC 6455 §1.3 handshake                                            */

static void test_rfc_handshake(void **state) {
    (void)state;
    ws_http_parser ps;
    size_t used = 0;
    assert_int_equal(parse_one(rfc_request, MAX_HEAD, &ps, &used), WS_HTTP_DONE);
    assert_int_equal(used, sizeof(rfc_request) - 1);

    const ws_http_request *req = &ps.req;
    assert_int_equal(req->method, WS_HTTP_METHOD_GET);
    assert_int_equal(req->version_major, 1);
    assert_int_equal(req->version_minor, 1);
    assert_string_equal(req->target, "/chat");
    assert_int_equal(req->target_len, 5);
    assert_string_equal(req->key, TV_KEY);
    assert_int_equal(req->key_len, 24);
    assert_string_equal(req->forwarded_for, "");
    assert_int_equal(req->ws_version, 13);
    assert_int_equal(req->host_count, 1);
    assert_int_equal(req->key_count, 1);
    assert_int_equal(req->version_count, 1);
    assert_true(req->has_upgrade && req->upgrade_websocket && req->connection_upgrade);
    assert_false(req->has_body);
    assert_int_equal(ws_http_classify(req), WS_HTTP_UPGRADE);

    char accept[WS_HTTP_ACCEPT_LEN + 1];
    ws_http_accept_key(req->key, req->key_len, accept);
    assert_string_equal(accept, rfc_accept);

    char out[256];
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " TV_ACCEPT "\r\n"
                               "\r\n";
    assert_int_equal(ws_http_write_101(out, sizeof(out), accept, NULL), sizeof(want) - 1);
    assert_string_equal(out, want);
}

/* Every split point, byte by byte, and chunked: the same request. */
static void test_rfc_handshake_splits(void **state) {
    (void)state;
    struct outcome o;
    parse_everywhere(rfc_request, sizeof(rfc_request) - 1, MAX_HEAD, &o);
    assert_int_equal(o.rc, WS_HTTP_DONE);
    assert_int_equal(o.offset, sizeof(rfc_request) - 1);
    assert_string_equal(o.parser.req.key, TV_KEY);
    assert_int_equal(ws_http_classify(&o.parser.req), WS_HTTP_UPGRADE);
}

/* Every proper prefix is "need more", consumes all of it, and does not
 * read past its end (each prefix sits against a guard page). */
static void test_rfc_handshake_prefixes(void **state) {
    (void)state;
    size_t len = sizeof(rfc_request) - 1;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *buf = tu_guarded_copy(rfc_request, cut);
        ws_http_parser ps;
        size_t used = (size_t)-1;
        ws_http_parser_init(&ps, MAX_HEAD);
        assert_int_equal(ws_http_feed(&ps, buf, cut, &used), WS_HTTP_AGAIN);
        assert_int_equal(used, cut);
        tu_guarded_free(buf, cut);
    }
}

/* The first frame arrives in the same read as the head: the parser stops
 * at the final LF and leaves the frame to the caller, at any split. */
static void test_first_frame_not_consumed(void **state) {
    (void)state;
    size_t head = sizeof(rfc_request) - 1;
    uint8_t buf[sizeof(rfc_request) + sizeof(hello_frame)];
    memcpy(buf, rfc_request, head);
    memcpy(buf + head, hello_frame, sizeof(hello_frame));
    size_t len = head + sizeof(hello_frame);

    uint8_t *g = tu_guarded_copy(buf, len);
    ws_http_parser ps;
    size_t used = 0;
    ws_http_parser_init(&ps, MAX_HEAD);
    assert_int_equal(ws_http_feed(&ps, g, len, &used), WS_HTTP_DONE);
    assert_int_equal(used, head);
    assert_memory_equal(g + used, hello_frame, sizeof(hello_frame));
    tu_guarded_free(g, len);

    struct outcome o;
    parse_everywhere(buf, len, MAX_HEAD, &o);
    assert_int_equal(o.rc, WS_HTTP_DONE);
    assert_int_equal(o.offset, head);

    /* The head may also end exactly at the end of a read; the next read
     * (the frame) belongs to the caller. */
    ws_http_parser_init(&ps, MAX_HEAD);
    assert_int_equal(ws_http_feed(&ps, buf, head, &used), WS_HTTP_DONE);
    assert_int_equal(used, head);
    assert_int_equal(ws_http_feed(&ps, hello_frame, sizeof(hello_frame), &used), WS_HTTP_DONE);
    assert_int_equal(used, 0);
}

/* ---------------------------------------------------------------------- */
/* Complete heads and how they are classified                             */

#define L_GET       "GET /chat HTTP/1.1\r\n"
#define L_HOST      "Host: server.example.com\r\n"
#define L_UPG       "Upgrade: websocket\r\n"
#define L_CONN      "Connection: Upgrade\r\n"
#define L_KEY       "Sec-WebSocket-Key: " TV_KEY "\r\n"
#define L_VER       "Sec-WebSocket-Version: 13\r\n"
#define KEY_LINE(k) "Sec-WebSocket-Key: " k "\r\n"
#define VER_LINE(v) "Sec-WebSocket-Version: " v "\r\n"

static const struct good_case {
    const char *name;
    const char *text;
    size_t len;
    int cls; /* ws_http_classify() */
} good_cases[] = {
/* clang-format off */
#define GOOD(name, text, cls) { name, LIT(text), cls }
    /* clang-format on */
    /* Valid upgrades. */
    GOOD("rfc 6455 §1.3", L_GET L_HOST L_UPG L_CONN L_KEY L_VER "\r\n", WS_HTTP_UPGRADE),
    GOOD("minimal order changed", L_GET L_VER L_KEY L_CONN L_UPG L_HOST "\r\n", WS_HTTP_UPGRADE),
    GOOD("names in any case",
         "GET /chat HTTP/1.1\r\nhOsT: a\r\nUPGRADE: WebSocket\r\nconnection: UPGRADE\r\n"
         "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n",
         WS_HTTP_UPGRADE),
    GOOD("connection list",
         L_GET L_HOST L_UPG "Connection: keep-alive, Upgrade\r\n" L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("connection list with spaces",
         L_GET L_HOST L_UPG "Connection: Upgrade , foo\r\n" L_KEY L_VER "\r\n", WS_HTTP_UPGRADE),
    GOOD("connection empty elements",
         L_GET L_HOST L_UPG "Connection: ,, \t,upgrade,,\r\n" L_KEY L_VER "\r\n", WS_HTTP_UPGRADE),
    GOOD("connection over two fields",
         L_GET L_HOST L_UPG "Connection: keep-alive\r\n"
                            "Connection: Upgrade\r\n" L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("upgrade list", L_GET L_HOST "Upgrade: h2c, WebSocket\r\n" L_CONN L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("upgrade over two fields",
         L_GET L_HOST "Upgrade: h2c\r\nUpgrade: websocket\r\n" L_CONN L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("upgrade with protocol-version",
         L_GET L_HOST "Upgrade: websocket/13\r\n" L_CONN L_KEY L_VER "\r\n", WS_HTTP_UPGRADE),
    GOOD("whitespace trimmed",
         L_GET "Host:server.example.com\r\n"
               "Upgrade: \t websocket \t \r\nConnection:\tUpgrade\t\r\n"
               "Sec-WebSocket-Key: \t dGhlIHNhbXBsZSBub25jZQ== \t \r\n"
               "Sec-WebSocket-Version:   13  \r\n\r\n",
         WS_HTTP_UPGRADE),
    GOOD("bare LF",
         "GET /chat HTTP/1.1\nHost: a\nUpgrade: websocket\nConnection: Upgrade\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
         WS_HTTP_UPGRADE),
    GOOD("CRLF and LF mixed",
         "GET /chat HTTP/1.1\nHost: a\r\nUpgrade: websocket\n" L_CONN
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n" L_VER "\n",
         WS_HTTP_UPGRADE),
    GOOD("leading empty lines", "\r\n\n" L_GET L_HOST L_UPG L_CONN L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("HTTP/1.9", "GET /chat HTTP/1.9\r\n" L_HOST L_UPG L_CONN L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("obs-text and empty values",
         L_GET L_HOST L_UPG L_CONN L_KEY L_VER
         "X-Name: caf\xc3\xa9 \xff\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n",
         WS_HTTP_UPGRADE),
    GOOD("Content-Length: 0", L_GET L_HOST L_UPG L_CONN L_KEY L_VER "Content-Length: 000\r\n\r\n",
         WS_HTTP_UPGRADE),
    GOOD("other key", L_GET L_HOST L_UPG L_CONN KEY_LINE("x3JJHMbDL1EzLkh9GBhXDw==") L_VER "\r\n",
         WS_HTTP_UPGRADE),
    GOOD("absolute-form target",
         "GET ws://server.example.com/chat?x=1 HTTP/1.1\r\n" L_HOST L_UPG L_CONN L_KEY L_VER "\r\n",
         WS_HTTP_UPGRADE),

    /* 400: RFC 6455 §4.2.1 items 1-5, in order. */
    GOOD("POST upgrade", "POST /chat HTTP/1.1\r\n" L_HOST L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("HEAD upgrade", "HEAD /chat HTTP/1.1\r\n" L_HOST L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("method is case-sensitive",
         "get /chat HTTP/1.1\r\n" L_HOST L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("HTTP/1.0 upgrade", "GET /chat HTTP/1.0\r\n" L_HOST L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("no Host", L_GET L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("two Hosts", L_GET L_HOST L_HOST L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("X-Host is not Host", L_GET "X-Host: a\r\n" L_UPG L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("Upgrade: h2c", L_GET L_HOST "Upgrade: h2c\r\n" L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("Upgrade: websockets", L_GET L_HOST "Upgrade: websockets\r\n" L_CONN L_KEY L_VER "\r\n",
         400),
    GOOD("Upgrade: web socket", L_GET L_HOST "Upgrade: web socket\r\n" L_CONN L_KEY L_VER "\r\n",
         400),
    GOOD("Upgrade: websocket x", L_GET L_HOST "Upgrade: websocket x\r\n" L_CONN L_KEY L_VER "\r\n",
         400),
    GOOD("Upgrade: \"websocket\"",
         L_GET L_HOST "Upgrade: \"websocket\"\r\n" L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("Upgrade empty", L_GET L_HOST "Upgrade:\r\n" L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("Upgrade token too long",
         L_GET L_HOST "Upgrade: websocketwebsocketwebsocketwebsocket\r\n" L_CONN L_KEY L_VER "\r\n",
         400),
    GOOD("no Connection", L_GET L_HOST L_UPG L_KEY L_VER "\r\n", 400),
    GOOD("Connection: keep-alive",
         L_GET L_HOST L_UPG "Connection: keep-alive\r\n" L_KEY L_VER "\r\n", 400),
    GOOD("Connection: upgraded", L_GET L_HOST L_UPG "Connection: upgraded\r\n" L_KEY L_VER "\r\n",
         400),
    GOOD("Connection: up grade", L_GET L_HOST L_UPG "Connection: up grade\r\n" L_KEY L_VER "\r\n",
         400),
    GOOD("Connection-Upgrade is not Connection",
         L_GET L_HOST L_UPG "Connection-Upgrade: upgrade\r\n" L_KEY L_VER "\r\n", 400),
    GOOD("no key", L_GET L_HOST L_UPG L_CONN L_VER "\r\n", 400),
    GOOD("two keys", L_GET L_HOST L_UPG L_CONN L_KEY L_KEY L_VER "\r\n", 400),
    GOOD("empty key", L_GET L_HOST L_UPG L_CONN "Sec-WebSocket-Key:   \r\n" L_VER "\r\n", 400),
    GOOD("key not base64",
         L_GET L_HOST L_UPG L_CONN KEY_LINE("dGhlIHNhbXBsZSBub25jZQ!!") L_VER "\r\n", 400),
    GOOD("key of 15 bytes", L_GET L_HOST L_UPG L_CONN KEY_LINE("AAAAAAAAAAAAAAAAAAAA") L_VER "\r\n",
         400),
    GOOD("key of 17 bytes",
         L_GET L_HOST L_UPG L_CONN KEY_LINE("AAAAAAAAAAAAAAAAAAAAAAA=") L_VER "\r\n", 400),
    GOOD("key not canonical",
         L_GET L_HOST L_UPG L_CONN KEY_LINE("dGhlIHNhbXBsZSBub25jZR==") L_VER "\r\n", 400),
    GOOD("key without padding",
         L_GET L_HOST L_UPG L_CONN KEY_LINE("dGhlIHNhbXBsZSBub25jZQ") L_VER "\r\n", 400),
    GOOD("key with inner space",
         L_GET L_HOST L_UPG L_CONN KEY_LINE("dGhlIHNhbXBs ZSBub25jZQ==") L_VER "\r\n", 400),
    GOOD("key too long",
         L_GET L_HOST L_UPG L_CONN KEY_LINE(
             "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==") L_VER
         "\r\n",
         400),
    GOOD("key name too long",
         L_GET L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key-And-Then-Some-More: dGhlIHNhbXBsZSBub25jZQ==\r\n" L_VER "\r\n",
         400),
    GOOD("upgrade with a body", L_GET L_HOST L_UPG L_CONN L_KEY L_VER "Content-Length: 5\r\n\r\n",
         400),
    GOOD("upgrade with chunked body",
         L_GET L_HOST L_UPG L_CONN L_KEY L_VER "Transfer-Encoding: chunked\r\n\r\n", 400),
    GOOD("body wins over version", L_GET L_HOST L_UPG L_CONN L_KEY "Content-Length: 1\r\n\r\n",
         400),
    GOOD("bad key wins over version", L_GET L_HOST L_UPG L_CONN KEY_LINE("x") "\r\n", 400),

    /* 426: RFC 6455 §4.4, only once everything else is right. */
    GOOD("no version", L_GET L_HOST L_UPG L_CONN L_KEY "\r\n", 426),
    GOOD("version 8", L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("8") "\r\n", 426),
    GOOD("version list", L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("13, 8") "\r\n", 426),
    GOOD("version twice", L_GET L_HOST L_UPG L_CONN L_KEY L_VER L_VER "\r\n", 426),
    GOOD("version not a number", L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("thirteen") "\r\n", 426),
    GOOD("version empty", L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("") "\r\n", 426),
    GOOD("version with leading zero", L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("013") "\r\n", 426),
    GOOD("version 1 3", L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("1 3") "\r\n", 426),
    GOOD("version huge",
         L_GET L_HOST L_UPG L_CONN L_KEY VER_LINE("1300000000000000000000000000013") "\r\n", 426),

    /* Plain requests. */
    GOOD("plain GET", "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n", WS_HTTP_PLAIN),
    GOOD("plain HEAD", "HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n", WS_HTTP_PLAIN),
    GOOD("plain HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", WS_HTTP_PLAIN),
    GOOD("browser Upgrade-Insecure-Requests",
         "GET / HTTP/1.1\r\nHost: a\r\n"
         "Upgrade-Insecure-Requests: 1\r\nConnection: keep-alive\r\n\r\n",
         WS_HTTP_PLAIN),
    /* Key and version say "handshake"; without Upgrade it is a broken one. */
    GOOD("Connection: Upgrade but no Upgrade", L_GET L_HOST L_CONN L_KEY L_VER "\r\n", 400),
    GOOD("key without Upgrade", L_GET L_HOST L_KEY "\r\n", 400),
    GOOD("version without Upgrade", L_GET L_HOST L_VER "\r\n", 400),
    GOOD("plain GET without Host", "GET / HTTP/1.1\r\n\r\n", 400),
    GOOD("plain GET with empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", WS_HTTP_PLAIN),
    GOOD("plain HTTP/1.0 with two Hosts", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    GOOD("plain GET with a body", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", 400),
    GOOD("POST", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", 405),
    GOOD("PUT", "PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    GOOD("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    GOOD("lower-case get", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    GOOD("long method", "M-SEARCH-AND-SOME-MORE / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    GOOD("GETS is not GET", "GETS / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
#undef GOOD
};

static void test_classify_table(void **state) {
    (void)state;
    uint8_t buf[1024];
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const struct good_case *c = &good_cases[i];
        struct outcome o;
        parse_everywhere(c->text, c->len, MAX_HEAD, &o);
        if (o.rc != WS_HTTP_DONE || o.offset != c->len)
            fail_msg("%s: feed %d consumed %zu of %zu", c->name, o.rc, o.offset, c->len);
        int cls = ws_http_classify(&o.parser.req);
        if (cls != c->cls) fail_msg("%s: classify %d, want %d", c->name, cls, c->cls);

        /* The same head followed by a frame: the frame is never eaten. */
        assert_true(c->len + sizeof(hello_frame) <= sizeof(buf));
        memcpy(buf, c->text, c->len);
        memcpy(buf + c->len, hello_frame, sizeof(hello_frame));
        parse_everywhere(buf, c->len + sizeof(hello_frame), MAX_HEAD, &o);
        if (o.rc != WS_HTTP_DONE || o.offset != c->len)
            fail_msg("%s + frame: feed %d consumed %zu of %zu", c->name, o.rc, o.offset, c->len);
    }
}

/* ---------------------------------------------------------------------- */
/* Heads the parser rejects, at the first bad byte                        */

static const struct bad_case {
    const char *name;
    const char *pre; /* accepted */
    size_t pre_len;
    const char *rest; /* its first byte is rejected */
    size_t rest_len;
    int rc;
} bad_cases[] = {
/* clang-format off */
#define BAD(name, pre, rest, rc) { name, LIT(pre), LIT(rest), rc }
/* clang-format on */
#define RL "GET / HTTP/1.1\r\n"
    /* Request line. */
    BAD("empty method", "", " / HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("HTAB after method", "GET", "\t/ HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("delimiter in method", "G", "(T / HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("obs-text in method", "GE", "\xc3\x89T / HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("CR alone before the request", "\r", "GET / HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("SP line before the request", "\r\n", " \r\nGET / HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("double SP after method", "GET ", " / HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("HTTP/0.9 request", "GET /", "\r\n", WS_E_HTTP_SYNTAX),
    BAD("double SP before version", "GET / ", " HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("HTAB in target", "GET /a", "\tb HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("DEL in target", "GET /a", "\x7f HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("obs-text in target", "GET /caf", "\xc3\xa9 HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("NUL in target", "GET /a", "\0 HTTP/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("lower-case http", "GET / ", "http/1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("HTTP without slash", "GET / HTTP", " 1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("letter major", "GET / HTTP/", "x.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("two-digit major", "GET / HTTP/1", "1.1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("missing minor", "GET / HTTP/1.", "\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("two-digit minor", "GET / HTTP/1.1", "1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("SP after version", "GET / HTTP/1.1", " \r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("CR CR after request line", "GET / HTTP/1.1\r", "\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("HTTP/2.0", "GET / HTTP/", "2.0\r\n\r\n", WS_E_HTTP_VERSION),
    BAD("HTTP/3.0", "PRI * HTTP/", "3.0\r\n\r\n", WS_E_HTTP_VERSION),
    BAD("HTTP/0.9", "GET / HTTP/", "0.9\r\nHost: a\r\n\r\n", WS_E_HTTP_VERSION),
    /* Field lines. */
    BAD("SP before colon", RL "Host", " : a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("HTAB before colon", RL "Host", "\t: a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("empty name", RL, ": a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("SP in name", RL "Ho", " st: a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("no colon", RL "Host", "\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("no colon, bare LF", RL "Host", "\n\n", WS_E_HTTP_SYNTAX),
    BAD("delimiter in name", RL "X", "@Y: a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("obs-text in name", RL "X", "\xe9: a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("obs-fold with SP", RL "Host: a\r\n", " b\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("obs-fold with HTAB", RL "X: a\n", "\tb\n\n", WS_E_HTTP_SYNTAX),
    BAD("SP before the first field", RL, " Host: a\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("NUL in value", RL "X: a", "\0b\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("SOH in value", RL "X: a", "\x01\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("ESC in leading OWS", RL "X: ", "\x1b[0m\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("DEL in value", RL "X: a", "\x7f\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("VT in known value", RL "Upgrade: web", "\vsocket\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("CR alone in value", RL "X: a\r", "b\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("CR alone ending the head", RL "Host: a\r\n\r", "\r\n", WS_E_HTTP_SYNTAX),
    BAD("Content-Length letters", RL "Content-Length: ", "abc\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("Content-Length negative", RL "Content-Length: ", "-1\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("Content-Length list", RL "Content-Length: 5", ",5\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("Content-Length two numbers", RL "content-length: 5 ", "5\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("Content-Length hex", RL "Content-Length: 0", "x10\r\n\r\n", WS_E_HTTP_SYNTAX),
    BAD("Content-Length empty", RL "Content-Length:  ", "\r\n\r\n", WS_E_HTTP_SYNTAX),
#undef RL
#undef BAD
};

static void test_parse_errors_table(void **state) {
    (void)state;
    uint8_t buf[512];
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        size_t len = c->pre_len + c->rest_len;
        assert_true(len <= sizeof(buf));
        memcpy(buf, c->pre, c->pre_len);
        memcpy(buf + c->pre_len, c->rest, c->rest_len);
        struct outcome o;
        parse_everywhere(buf, len, MAX_HEAD, &o);
        if (o.rc != c->rc || o.offset != c->pre_len)
            fail_msg("%s: feed %d at offset %zu, want %d at %zu", c->name, o.rc, o.offset, c->rc,
                     c->pre_len);

        /* The prefix alone is still fine. */
        parse_everywhere(c->pre, c->pre_len, MAX_HEAD, &o);
        if (o.rc != WS_HTTP_AGAIN) fail_msg("%s: prefix gives %d", c->name, o.rc);
    }
}

/* ---------------------------------------------------------------------- */
/* Field values                                                            */

static void test_key_and_version_values(void **state) {
    (void)state;
    char buf[512];
    ws_http_parser ps;
    size_t used;

    /* Surrounding whitespace is removed; the exact bytes are kept. */
    assert_int_equal(
        parse_one(with_headers(buf, sizeof(buf), "Sec-WebSocket-Key: \t abc \t def\t \r\n"),
                  MAX_HEAD, &ps, &used),
        WS_HTTP_DONE);
    assert_string_equal(ps.req.key, "abc \t def");
    assert_int_equal(ps.req.key_len, 9);

    /* A key longer than the buffer: key_len says so, the copy is cut. */
    char line[256], key[101];
    memset(key, 'A', 100);
    key[100] = '\0';
    snprintf(line, sizeof(line), "Sec-WebSocket-Key: %s  \r\n", key);
    assert_int_equal(parse_one(with_headers(buf, sizeof(buf), line), MAX_HEAD, &ps, &used),
                     WS_HTTP_DONE);
    assert_int_equal(ps.req.key_len, 100);
    assert_int_equal(strlen(ps.req.key), WS_HTTP_MAX_KEY);

    /* The first key is kept when there are two. */
    assert_int_equal(parse_one(with_headers(buf, sizeof(buf),
                                            "Sec-WebSocket-Key: first\r\n"
                                            "Sec-WebSocket-Key: second-one\r\n"),
                               MAX_HEAD, &ps, &used),
                     WS_HTTP_DONE);
    assert_string_equal(ps.req.key, "first");
    assert_int_equal(ps.req.key_count, 2);

    static const struct {
        const char *value;
        int want;
    } versions[] = {
        /* clang-format off */
        { "13", 13 },          { " \t13\t ", 13 },     { "8", 8 },
        { "0", 0 },            { "0 ", 0 },            { "255", 255 },
        { "2147483647", 2147483647 },                  { "2147483648", -1 },
        { "99999999999999999999999", -1 },             { "013", -1 },
        { "00", -1 },          { "", -1 },             { "1 3", -1 },
        { "13,", -1 },         { "+13", -1 },          { "13a", -1 },
        /* clang-format on */
    };
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        snprintf(line, sizeof(line), "Sec-WebSocket-Version:%s\r\n", versions[i].value);
        assert_int_equal(parse_one(with_headers(buf, sizeof(buf), line), MAX_HEAD, &ps, &used),
                         WS_HTTP_DONE);
        if (ps.req.ws_version != versions[i].want)
            fail_msg("version \"%s\": %d, want %d", versions[i].value, ps.req.ws_version,
                     versions[i].want);
        assert_int_equal(ps.req.version_count, 1);
    }

    /* Absent: -1 and a count of 0. */
    assert_int_equal(parse_one(with_headers(buf, sizeof(buf), ""), MAX_HEAD, &ps, &used),
                     WS_HTTP_DONE);
    assert_int_equal(ps.req.ws_version, -1);
    assert_int_equal(ps.req.version_count, 0);
    assert_int_equal(ps.req.key_count, 0);
    assert_int_equal(ps.req.key_len, 0);
}

static void test_forwarded_for(void **state) {
    (void)state;
    static const struct {
        const char *headers;
        const char *want;
    } cases[] = {
        { "", "" },
        { "X-Forwarded-For: 203.0.113.7\r\n", "203.0.113.7" },
        { "x-forwarded-for:  \t203.0.113.7 , 10.0.0.1, 10.0.0.2\r\n", "203.0.113.7" },
        { "X-Forwarded-For: 2001:db8::1,10.0.0.1\r\n", "2001:db8::1" },
        { "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 10.9.9.9\r\n", "203.0.113.7" },
        { "X-Forwarded-For: , 10.0.0.1\r\n", "" },
        { "X-Forwarded-For:\r\nX-Forwarded-For: 10.0.0.1\r\n", "" },
        /* 64 bytes fit; 65 do not, and then nothing is kept. */
        { "X-Forwarded-For: 0123456789012345678901234567890123456789012345678901234567890123\r\n",
          "0123456789012345678901234567890123456789012345678901234567890123" },
        { "X-Forwarded-For: 01234567890123456789012345678901234567890123456789012345678901234,"
          " 10.0.0.1\r\n",
          "" },
        { "X-Forwarded-Fo: 10.0.0.1\r\nForwarded-For: 10.0.0.2\r\n", "" },
    };
    char buf[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ws_http_parser ps;
        size_t used;
        assert_int_equal(
            parse_one(with_headers(buf, sizeof(buf), cases[i].headers), MAX_HEAD, &ps, &used),
            WS_HTTP_DONE);
        assert_string_equal(ps.req.forwarded_for, cases[i].want);
    }
}

/* Sec-WebSocket-Extensions: the first acceptable permessage-deflate offer,
 * across several headers (pmd.c has the grammar's own tests); every split
 * of the request gives the same offer. */
static void test_extension_offers(void **state) {
    (void)state;
    static const char req[] =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; foo\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "sec-websocket-extensions:  permessage-deflate; client_max_window_bits;"
        " server_max_window_bits=\"10\"\r\n\r\n";
    struct outcome out;
    parse_everywhere(req, sizeof(req) - 1, MAX_HEAD, &out);
    assert_int_equal(out.rc, WS_HTTP_DONE);
    assert_int_equal(out.parser.req.pmd_offered, 1);
    assert_int_equal(out.parser.req.pmd.server_max_window_bits, 10);
    assert_int_equal(out.parser.req.pmd.client_max_window_bits, 1);
    assert_int_equal(ws_http_classify(&out.parser.req), WS_HTTP_UPGRADE);

    char buf[512];
    ws_http_parser ps;
    size_t used;
    assert_int_equal(parse_one(with_headers(buf, sizeof(buf), "Sec-WebSocket-Extensions: foo\r\n"),
                               MAX_HEAD, &ps, &used),
                     WS_HTTP_DONE);
    assert_int_equal(ps.req.pmd_offered, 0);
}

/* The log says which check decided: ws_http_classify_why() names it, and
 * agrees with ws_http_classify(). */
static void test_classify_reasons(void **state) {
    (void)state;
    static const struct {
        const char *request;
        int status;
        const char *why;
    } cases[] = {
        { "POST / HTTP/1.1\r\nHost: h\r\n\r\n", 405, "only GET and HEAD are served" },
        { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header" },
        { "GET / HTTP/1.1\r\n\r\n", 400, "no Host header" },
        { "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n", 400, "a request body" },
        { "GET / HTTP/1.1\r\nHost: h\r\n\r\n", WS_HTTP_PLAIN, "a file" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CONN L_KEY L_VER "\r\n", WS_HTTP_UPGRADE,
          "a valid handshake" },
        { "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n" L_CONN L_KEY L_VER "\r\n", 400,
          "handshake: Upgrade does not name websocket" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG "Connection: close\r\n" L_KEY L_VER "\r\n", 400,
          "handshake: Connection does not name upgrade" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CONN L_VER "\r\n", 400,
          "handshake: Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CONN L_KEY "Sec-WebSocket-Version: 8\r\n\r\n",
          426, "handshake: Sec-WebSocket-Version is not 13" },
        { "POST / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CONN L_KEY L_VER "\r\n", 400,
          "handshake: not a GET" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ws_http_parser ps;
        size_t used;
        const char *why = NULL;
        assert_int_equal(parse_one(cases[i].request, MAX_HEAD, &ps, &used), WS_HTTP_DONE);
        assert_int_equal(ws_http_classify_why(&ps.req, &why), cases[i].status);
        assert_int_equal(ws_http_classify(&ps.req), cases[i].status);
        assert_string_equal(why, cases[i].why);
    }
}

/* Origin: the first header's value, trimmed; its full length, and how
 * many there were. */
static void test_origin(void **state) {
    (void)state;
    static const struct {
        const char *headers;
        const char *want;
        size_t len;
        int count;
    } cases[] = {
        { "", "", 0, 0 },
        { "Origin: https://example.com\r\n", "https://example.com", 19, 1 },
        { "origin:\t https://Example.COM:8443 \t\r\n", "https://Example.COM:8443", 24, 1 },
        { "Origin: null\r\n", "null", 4, 1 },
        { "Origin: https://a.example\r\nOrigin: https://b.example\r\n", "https://a.example", 17,
          2 },
        { "Origin:\r\n", "", 0, 1 },
        { "X-Origin: https://x\r\nOrigins: https://y\r\n", "", 0, 0 },
    };
    char buf[1024];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct outcome out;
        with_headers(buf, sizeof(buf), cases[i].headers);
        parse_everywhere(buf, strlen(buf), MAX_HEAD, &out);
        assert_int_equal(out.rc, WS_HTTP_DONE);
        assert_string_equal(out.parser.req.origin, cases[i].want);
        assert_int_equal(out.parser.req.origin_len, cases[i].len);
        assert_int_equal(out.parser.req.origin_count, cases[i].count);
    }
    /* 256 bytes are kept; a longer one keeps its first 256 and says how
     * long it was, so it cannot pass for them. */
    char origin[400], line[500];
    memset(origin, 'a', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    memcpy(origin, "https://", 8);
    snprintf(line, sizeof(line), "Origin: %s\r\n", origin);
    ws_http_parser ps;
    size_t used;
    assert_int_equal(parse_one(with_headers(buf, sizeof(buf), line), MAX_HEAD, &ps, &used),
                     WS_HTTP_DONE);
    assert_int_equal(ps.req.origin_len, sizeof(origin) - 1);
    assert_int_equal(strlen(ps.req.origin), WS_HTTP_MAX_ORIGIN);
    assert_memory_equal(ps.req.origin, origin, WS_HTTP_MAX_ORIGIN);
}

/* Sec-WebSocket-Protocol: the client's first choice that the server
 * speaks, compared exactly, across several headers; "*" takes the
 * client's first valid name; elements that are not tokens are skipped.
 * Every split gives the same choice. */
static void test_subprotocol_choice(void **state) {
    (void)state;
    static const char *const mine[] = { "chat", "superchat", "v2.json" };
    static const char *const any[] = { "*" };
    static const struct {
        const char *const *server;
        size_t n;
        const char *headers;
        const char *want;
        int offered;
    } cases[] = {
        { mine, 3, "", "", 0 },
        { mine, 3, "Sec-WebSocket-Protocol: chat\r\n", "chat", 1 },
        /* the client's order, not the server's */
        { mine, 3, "Sec-WebSocket-Protocol: superchat, chat\r\n", "superchat", 1 },
        { mine, 3, "Sec-WebSocket-Protocol: x, y\r\nSec-WebSocket-Protocol: v2.json\r\n", "v2.json",
          1 },
        /* exact: no case folding, no prefixes */
        { mine, 3, "Sec-WebSocket-Protocol: Chat, chatter, cha\r\n", "", 1 },
        /* not tokens: skipped */
        { mine, 3, "Sec-WebSocket-Protocol: \"chat\", ch at, chat/1, superchat\r\n", "superchat",
          1 },
        { mine, 3, "Sec-WebSocket-Protocol:  ,, chat ,\r\n", "chat", 1 },
        { any, 1, "Sec-WebSocket-Protocol: Whatever.v1, chat\r\n", "Whatever.v1", 1 },
        { any, 1, "Sec-WebSocket-Protocol: \r\n", "", 1 },
        { NULL, 0, "Sec-WebSocket-Protocol: chat\r\n", "", 1 },
    };
    char buf[1024];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct outcome out;
        server_protocols = cases[i].server;
        server_nprotocols = cases[i].n;
        with_headers(buf, sizeof(buf), cases[i].headers);
        parse_everywhere(buf, strlen(buf), MAX_HEAD, &out);
        assert_int_equal(out.rc, WS_HTTP_DONE);
        if (strcmp(out.parser.req.protocol, cases[i].want) != 0)
            fail_msg("case %zu: chose \"%s\", want \"%s\"", i, out.parser.req.protocol,
                     cases[i].want);
        assert_int_equal(out.parser.req.protocol_offered, cases[i].offered);
    }
    /* A name of 64 characters can be chosen; 65 never. */
    static const char *const long_names[] = {
        "a234567890123456789012345678901234567890123456789012345678901234",
        "b2345678901234567890123456789012345678901234567890123456789012345",
    };
    server_protocols = long_names;
    server_nprotocols = 2;
    struct outcome out;
    with_headers(
        buf, sizeof(buf),
        "Sec-WebSocket-Protocol: b2345678901234567890123456789012345678901234567890"
        "123456789012345, a234567890123456789012345678901234567890123456789012345678901234\r\n");
    parse_everywhere(buf, strlen(buf), MAX_HEAD, &out);
    assert_string_equal(out.parser.req.protocol, long_names[0]);
    server_protocols = NULL;
    server_nprotocols = 0;
}

/* The server's lists, as the command line gives them. */
static void test_protocol_and_origin_lists(void **state) {
    (void)state;
    char buf[256], err[160];
    const char *names[4];
    assert_int_equal(ws_http_split_protocols(NULL, buf, sizeof(buf), names, 4, err, sizeof(err)),
                     0);
    assert_int_equal(ws_http_split_protocols("", buf, sizeof(buf), names, 4, err, sizeof(err)), 0);
    assert_int_equal(
        ws_http_split_protocols("chat,v2.json,*", buf, sizeof(buf), names, 4, err, sizeof(err)), 3);
    assert_string_equal(names[0], "chat");
    assert_string_equal(names[1], "v2.json");
    assert_string_equal(names[2], "*");
    static const char *const bad[] = { "a b", "chat,", ",chat", "chat,,x",
                                       "a/b", "\"q\"", "a;b",   "a,b,c,d,e" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ws_http_split_protocols(bad[i], buf, sizeof(buf), names, 4, err, sizeof(err)) >= 0)
            fail_msg("accepted --subprotocol '%s'", bad[i]);

    static const char *const good_lists[] = {
        "https://example.com",
        "http://localhost:8080,https://*.example.com",
        "null",
        "chrome-extension://abcdef",
    };
    for (size_t i = 0; i < sizeof(good_lists) / sizeof(good_lists[0]); i++)
        if (ws_http_origin_list_check(good_lists[i], err, sizeof(err)) < 0)
            fail_msg("refused --allow-origin '%s': %s", good_lists[i], err);
    static const char *const bad_lists[] = {
        "",
        "example.com",
        "https://",
        "://x",
        "https://example.com/",
        "https://a.com,",
        "https://*example.com",
        "https://*.",
        "https://a.*.com",
        "1http://x",
        "*",
    };
    for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++)
        if (ws_http_origin_list_check(bad_lists[i], err, sizeof(err)) == 0)
            fail_msg("accepted --allow-origin '%s'", bad_lists[i]);

    static const struct {
        const char *list, *origin;
        int want;
    } m[] = {
        { NULL, "https://anything", 1 },
        { "https://example.com", "https://example.com", 1 },
        { "https://example.com", "HTTPS://EXAMPLE.com", 1 },
        { "https://example.com", "http://example.com", 0 },
        { "https://example.com", "https://example.com:443", 0 },
        { "https://example.com", "https://example.com.evil.net", 0 },
        { "https://example.com", "https://evilexample.com", 0 },
        { "http://localhost:8080", "http://localhost:8080", 1 },
        { "http://localhost:8080", "http://localhost:8081", 0 },
        { "https://*.example.com", "https://a.example.com", 1 },
        { "https://*.example.com", "https://a.b.example.com", 1 },
        { "https://*.example.com", "https://example.com", 0 },
        { "https://*.example.com", "https://.example.com", 0 },
        { "https://*.example.com", "https://aexample.com", 0 },
        { "https://*.example.com", "http://a.example.com", 0 },
        { "https://*.example.com", "https://a.example.com:8443", 0 },
        { "https://*.example.com", "https://evil.com/.example.com", 0 },
        { "https://*.example.com", "https://x:y@a.example.com", 0 },
        { "https://*.example.com:8443", "https://a.example.com:8443", 1 },
        { "null", "null", 1 },
        { "https://a.com,https://b.com", "https://b.com", 1 },
        { "https://a.com,https://b.com", "https://c.com", 0 },
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (ws_http_origin_allowed(m[i].list, m[i].origin, strlen(m[i].origin)) != m[i].want)
            fail_msg("--allow-origin '%s', Origin '%s': want %d", m[i].list ? m[i].list : "(none)",
                     m[i].origin, m[i].want);
}

/* Header counts saturate instead of wrapping: 257 Host fields are not 1. */
static void test_counts_saturate(void **state) {
    (void)state;
    static const char line[] = "Host: a\r\n";
    size_t cap = 32 + 300 * (sizeof(line) - 1) + sizeof(L_UPG L_CONN L_KEY L_VER);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 257; i++) n += (size_t)snprintf(buf + n, cap - n, "%s", line);
    size_t plain_len = n;
    n += (size_t)snprintf(buf + n, cap - n, L_UPG L_CONN L_KEY L_VER "\r\n");

    ws_http_parser ps;
    size_t used;
    assert_int_equal(parse_one(buf, MAX_HEAD, &ps, &used), WS_HTTP_DONE);
    assert_int_equal(used, n);
    assert_int_equal(ps.req.host_count, 255);
    assert_int_equal(ws_http_classify(&ps.req), 400);

    memcpy(buf + plain_len, "\r\n", 3);
    assert_int_equal(parse_one(buf, MAX_HEAD, &ps, &used), WS_HTTP_DONE);
    assert_int_equal(ws_http_classify(&ps.req), 400);
    free(buf);
}

/* Long names are not known names, and no name matches as a substring. */
static void test_header_names(void **state) {
    (void)state;
    char buf[512];
    ws_http_parser ps;
    size_t used;
    assert_int_equal(parse_one(with_headers(buf, sizeof(buf),
                                            "Hostile: a\r\nX-Upgrade: websocket\r\n"
                                            "Upgrade-Insecure-Requests: 1\r\n"
                                            "Sec-WebSocket-Version-X: 13\r\n"
                                            "Content-Lengths: 5\r\nTransfer-Encodings: x\r\n"
                                            "Sec-WebSocket-Key-Padded-Past-32-Bytes: abc\r\n"
                                            "An-Unknown-Header-Name-Much-Longer-Than-32-Bytes-"
                                            "Which-Is-Fine: yes\r\n"),
                               MAX_HEAD, &ps, &used),
                     WS_HTTP_DONE);
    assert_int_equal(ps.req.host_count, 1);
    assert_false(ps.req.has_upgrade);
    assert_int_equal(ps.req.version_count, 0);
    assert_int_equal(ps.req.key_count, 0);
    assert_false(ps.req.has_body);
    assert_int_equal(ws_http_classify(&ps.req), WS_HTTP_PLAIN);

    /* Upgrade alone sets has_upgrade even without a websocket token. */
    assert_int_equal(
        parse_one(with_headers(buf, sizeof(buf), "upgrade: h2c\r\n"), MAX_HEAD, &ps, &used),
        WS_HTTP_DONE);
    assert_true(ps.req.has_upgrade);
    assert_false(ps.req.upgrade_websocket);
    assert_int_equal(ws_http_classify(&ps.req), 400);
}

/* ---------------------------------------------------------------------- */
/* Limits                                                                  */

/* A 1 MiB head is refused at the first byte over max_head, without the
 * parser wanting the rest. */
static void test_one_mib_head(void **state) {
    (void)state;
    const size_t len = 1u << 20;
    uint8_t *big = malloc(len);
    assert_non_null(big);
    static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ";
    memcpy(big, start, sizeof(start) - 1);
    memset(big + sizeof(start) - 1, 'a', len - (sizeof(start) - 1) - 4);
    memcpy(big + len - 4, "\r\n\r\n", 4);

    uint8_t *g = tu_guarded_copy(big, len);
    ws_http_parser ps;
    size_t used = 0;
    ws_http_parser_init(&ps, MAX_HEAD);
    assert_int_equal(ws_http_feed(&ps, g, len, &used), WS_E_HTTP_TOO_LARGE);
    assert_int_equal(used, MAX_HEAD); /* bytes 0..8191 were fine; byte 8192 is one too many */

    /* The same in 4 KiB reads: two are consumed, the third fails at once. */
    ws_http_parser_init(&ps, MAX_HEAD);
    assert_int_equal(ws_http_feed(&ps, g, 4096, &used), WS_HTTP_AGAIN);
    assert_int_equal(ws_http_feed(&ps, g + 4096, 4096, &used), WS_HTTP_AGAIN);
    assert_int_equal(ws_http_feed(&ps, g + 8192, 4096, &used), WS_E_HTTP_TOO_LARGE);
    assert_int_equal(used, 0);

    /* With a big enough limit it is a valid head: the parser never
     * buffers it, it only counts it. */
    ws_http_parser_init(&ps, len);
    assert_int_equal(ws_http_feed(&ps, g, len, &used), WS_HTTP_DONE);
    assert_int_equal(used, len);
    assert_int_equal(ws_http_classify(&ps.req), WS_HTTP_PLAIN);
    ws_http_parser_init(&ps, len - 1);
    assert_int_equal(ws_http_feed(&ps, g, len, &used), WS_E_HTTP_TOO_LARGE);
    assert_int_equal(used, len - 1);

    tu_guarded_free(g, len);
    free(big);
}

/* A head of exactly max_head bytes passes; one byte less of limit fails at
 * the last byte. Leading empty lines count too. */
static void test_limit_exact(void **state) {
    (void)state;
    size_t len = sizeof(rfc_request) - 1;
    struct outcome o;

    parse_everywhere(rfc_request, len, len, &o);
    assert_int_equal(o.rc, WS_HTTP_DONE);
    assert_int_equal(o.offset, len);

    parse_everywhere(rfc_request, len, len - 1, &o);
    assert_int_equal(o.rc, WS_E_HTTP_TOO_LARGE);
    assert_int_equal(o.offset, len - 1);

    char buf[sizeof(rfc_request) + 2];
    memcpy(buf, "\r\n", 2);
    memcpy(buf + 2, rfc_request, len);
    parse_everywhere(buf, len + 2, len, &o);
    assert_int_equal(o.rc, WS_E_HTTP_TOO_LARGE);
    assert_int_equal(o.offset, len);

    /* The limit is checked before anything else about the byte. */
    parse_everywhere("GET / HTTP/1.1\r\n", 16, 0, &o);
    assert_int_equal(o.rc, WS_E_HTTP_TOO_LARGE);
    assert_int_equal(o.offset, 0);
}

/* RFC 9112 §3: a target over the limit is 414, at its first extra byte. */
static void test_target_limit(void **state) {
    (void)state;
    char *buf = malloc(WS_HTTP_MAX_TARGET + 64);
    assert_non_null(buf);
    struct outcome o;

    /* Exactly WS_HTTP_MAX_TARGET bytes: kept whole. */
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'x', WS_HTTP_MAX_TARGET - 1);
    size_t n = 4 + WS_HTTP_MAX_TARGET;
    n += (size_t)sprintf(buf + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    parse_everywhere(buf, n, MAX_HEAD, &o);
    assert_int_equal(o.rc, WS_HTTP_DONE);
    assert_int_equal(o.parser.req.target_len, WS_HTTP_MAX_TARGET);
    assert_int_equal(strlen(o.parser.req.target), WS_HTTP_MAX_TARGET);
    assert_memory_equal(o.parser.req.target, buf + 4, WS_HTTP_MAX_TARGET);

    /* One more: 414 at that byte. */
    memset(buf + 5, 'x', WS_HTTP_MAX_TARGET);
    n = 4 + WS_HTTP_MAX_TARGET + 1;
    n += (size_t)sprintf(buf + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    parse_everywhere(buf, n, MAX_HEAD, &o);
    assert_int_equal(o.rc, WS_E_HTTP_URI_LONG);
    assert_int_equal(o.offset, 4 + WS_HTTP_MAX_TARGET);

    /* A head limit smaller than the target wins: 431 first. */
    parse_everywhere(buf, n, 100, &o);
    assert_int_equal(o.rc, WS_E_HTTP_TOO_LARGE);
    assert_int_equal(o.offset, 100);
    free(buf);
}

/* ---------------------------------------------------------------------- */
/* Robustness                                                              */

/* Printable pieces of the grammar, so random input gets past the method. */
static const char grammar_bytes[] = "GET HTTP/1.1\r\n:\t ,/AaHostUpgradewebsocketConnection"
                                    "Sec-WebSocket-KeyVersion13=+\x01\x7f\x80";

static void test_random_garbage(void **state) {
    (void)state;
    enum { N = 10000, MAXLEN = 700 };
    uint8_t buf[MAXLEN];
    size_t results[6] = { 0 }; /* AGAIN, DONE, 400, 431, 414, 505 */
    size_t base = sizeof(rfc_request) - 1;

    for (int i = 0; i < N; i++) {
        uint64_t seed = UINT64_C(0x48545450) * 1000003u + (uint64_t)i;
        uint8_t r[16];
        tu_fill_random(r, sizeof(r), seed ^ UINT64_C(0xa5a5a5a5a5a5a5a5));
        size_t len = ((size_t)r[0] | (size_t)r[1] << 8) % MAXLEN;

        switch (i % 3) {
        case 0: /* raw bytes */ tu_fill_random(buf, len, seed); break;
        case 1: /* bytes from the grammar's alphabet */
            tu_fill_random(buf, len, seed);
            for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)grammar_bytes[buf[k] % (sizeof(grammar_bytes) - 1)];
            break;
        default: { /* the RFC request with 1-8 bytes changed, cut short or extended */
            uint8_t m[32];
            tu_fill_random(m, sizeof(m), seed);
            memcpy(buf, rfc_request, base);
            len = base + r[2] % 64;
            if (len > base) tu_fill_random(buf + base, len - base, seed + 1);
            for (int k = 0; k < 1 + r[3] % 8; k++) {
                size_t at = (size_t)(m[2 * k] | m[2 * k + 1] << 8) % len;
                buf[at] = (r[4 + k] & 1)
                              ? (uint8_t)grammar_bytes[m[16 + k] % (sizeof(grammar_bytes) - 1)]
                              : m[16 + k];
            }
            if (r[12] & 1) len = (size_t)r[13] * 3 % (len + 1);
            break;
        }
        }
        size_t max_head = (i & 1) ? MAX_HEAD : 64 + (size_t)r[14] * 2;

        /* Whole, and in two guarded pieces cut at a random point: same. */
        struct outcome whole, split;
        whole.parser.max_head = max_head;
        tu_chunks(buf, len, len ? len : 1, one_piece, &whole);
        size_t cut = len ? ((size_t)r[15] * 7) % len + 1 : 1;
        split.parser.max_head = max_head;
        tu_chunks(buf, len, cut, one_piece, &split);
        assert_int_equal(whole.rc, split.rc);
        assert_int_equal(whole.offset, split.offset);
        assert_true(whole.offset <= len);

        int slot;
        switch (whole.rc) {
        case WS_HTTP_AGAIN:
            slot = 0;
            assert_int_equal(whole.offset, len);
            break;
        case WS_HTTP_DONE: slot = 1; break;
        case WS_E_HTTP_SYNTAX: slot = 2; break;
        case WS_E_HTTP_TOO_LARGE: slot = 3; break;
        case WS_E_HTTP_URI_LONG: slot = 4; break;
        case WS_E_HTTP_VERSION: slot = 5; break;
        default: fail_msg("unexpected result %d", whole.rc); return;
        }
        results[slot]++;
        if (whole.rc == WS_HTTP_DONE) {
            const ws_http_request *req = &whole.parser.req;
            assert_same_request(req, &split.parser.req);
            int cls = ws_http_classify(req);
            assert_true(cls == WS_HTTP_PLAIN || cls == WS_HTTP_UPGRADE || cls == 400 ||
                        cls == 405 || cls == 426);
            assert_true(strlen(req->key) <= WS_HTTP_MAX_KEY);
            assert_true(strlen(req->forwarded_for) <= WS_HTTP_MAX_FORWARDED);
            assert_int_equal(strlen(req->target), req->target_len);
            char accept[WS_HTTP_ACCEPT_LEN + 1];
            size_t klen = req->key_len < WS_HTTP_MAX_KEY ? req->key_len : WS_HTTP_MAX_KEY;
            ws_http_accept_key(req->key, klen, accept);
            assert_int_equal(strlen(accept), WS_HTTP_ACCEPT_LEN);
        }
    }
    print_message("random inputs: %zu need-more, %zu complete, %zu x 400, %zu x 431, "
                  "%zu x 414, %zu x 505\n",
                  results[0], results[1], results[2], results[3], results[4], results[5]);
    assert_true(results[1] > 100); /* the mutations reach the end of the head */
    assert_true(results[2] > 1000);
}

/* len 0 (even with a NULL buffer) is a no-op; a parser can be reused after
 * ws_http_parser_init(). */
static void test_feed_edges(void **state) {
    (void)state;
    ws_http_parser ps;
    size_t used = 99;
    ws_http_parser_init(&ps, MAX_HEAD);
    assert_int_equal(ws_http_feed(&ps, NULL, 0, &used), WS_HTTP_AGAIN);
    assert_int_equal(used, 0);

    assert_int_equal(parse_one("GET / HTTP/2.0\r\n\r\n", MAX_HEAD, &ps, &used), WS_E_HTTP_VERSION);
    assert_int_equal(used, 11);
    assert_int_equal(ws_http_feed(&ps, NULL, 0, &used), WS_E_HTTP_VERSION);
    assert_int_equal(ws_http_feed(&ps, (const uint8_t *)"x", 1, &used), WS_E_HTTP_VERSION);
    assert_int_equal(used, 0);

    assert_int_equal(parse_one(rfc_request, MAX_HEAD, &ps, &used), WS_HTTP_DONE);
    assert_int_equal(ws_http_feed(&ps, NULL, 0, &used), WS_HTTP_DONE);
    assert_int_equal(used, 0);
    /* Re-initialised, the same struct parses a different request. */
    assert_int_equal(parse_one("HEAD /x HTTP/1.0\r\n\r\n", MAX_HEAD, &ps, &used), WS_HTTP_DONE);
    assert_int_equal(ps.req.method, WS_HTTP_METHOD_HEAD);
    assert_string_equal(ps.req.target, "/x");
    assert_int_equal(ps.req.key_len, 0);
    assert_int_equal(ps.req.host_count, 0);
    assert_int_equal(ws_http_classify(&ps.req), WS_HTTP_PLAIN);
}

/* ---------------------------------------------------------------------- */
/* Accept key and responses                                                */

static void test_accept_key(void **state) {
    (void)state;
    char out[WS_HTTP_ACCEPT_LEN + 1];
    ws_http_accept_key(TV_KEY, 24, out);
    assert_string_equal(out, rfc_accept);
    ws_http_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
    assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    /* Only key_len bytes are read: the key need not be NUL-terminated. */
    uint8_t *g = tu_guarded_copy(TV_KEY, 24);
    ws_http_accept_key((const char *)g, 24, out);
    assert_string_equal(out, rfc_accept);
    tu_guarded_free(g, 24);
}

static void test_reason_phrases(void **state) {
    (void)state;
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        { 101, "Switching Protocols" },
        { 200, "OK" },
        { 304, "Not Modified" },
        { 400, "Bad Request" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 414, "URI Too Long" },
        { 426, "Upgrade Required" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" },
        { 503, "Service Unavailable" },
        { 505, "HTTP Version Not Supported" },
        { 401, "Unauthorized" },
        { 408, "Request Timeout" },
        { 429, "Too Many Requests" },
        { 502, "Bad Gateway" },
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        assert_string_equal(ws_http_reason(reasons[i].status), reasons[i].reason);
    /* Codes RFC 9110 does not name still get their class. */
    assert_string_equal(ws_http_reason(499), "Client Error");
    assert_string_equal(ws_http_reason(599), "Server Error");
    assert_non_null(ws_http_reason(299));
    assert_non_null(ws_http_reason(-1));
}

static void test_write_101(void **state) {
    (void)state;
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " TV_ACCEPT "\r\n"
                               "\r\n";
    char out[sizeof(want)];
    assert_int_equal(ws_http_write_101(out, sizeof(out), rfc_accept, NULL), sizeof(want) - 1);
    assert_memory_equal(out, want, sizeof(want));
    /* One byte short (no room for the NUL snprintf needs): -1. */
    assert_int_equal(ws_http_write_101(out, sizeof(out) - 1, rfc_accept, NULL), -1);
    assert_int_equal(ws_http_write_101(NULL, 0, rfc_accept, NULL), -1);
}

static void test_write_error(void **state) {
    (void)state;
    static const struct {
        int status;
        const char *want;
    } cases[] = {
        { 400, "HTTP/1.1 400 Bad Request\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: 16\r\n"
               "Connection: close\r\n"
               "\r\n"
               "400 Bad Request\n" },
        { 405, "HTTP/1.1 405 Method Not Allowed\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: 23\r\n"
               "Connection: close\r\n"
               "Allow: GET, HEAD\r\n"
               "\r\n"
               "405 Method Not Allowed\n" },
        { 426, "HTTP/1.1 426 Upgrade Required\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: 21\r\n"
               "Connection: close\r\n"
               "Upgrade: websocket\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "\r\n"
               "426 Upgrade Required\n" },
        { 431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: 36\r\n"
               "Connection: close\r\n"
               "\r\n"
               "431 Request Header Fields Too Large\n" },
        { 503, "HTTP/1.1 503 Service Unavailable\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: 24\r\n"
               "Connection: close\r\n"
               "Retry-After: 1\r\n"
               "\r\n"
               "503 Service Unavailable\n" },
    };
    char out[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].want);
        assert_int_equal(ws_http_write_error(out, sizeof(out), cases[i].status), len);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(ws_http_write_error(out, len, cases[i].status), -1);
        assert_int_equal(ws_http_write_error(out, len + 1, cases[i].status), len);
    }

    /* Every status: Content-Length matches the body, which names it. */
    static const int all[] = { 400, 403, 404, 405, 414, 426, 431, 500, 503, 505 };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        int n = ws_http_write_error(out, sizeof(out), all[i]);
        assert_true(n > 0);
        const char *body = strstr(out, "\r\n\r\n");
        assert_non_null(body);
        body += 4;
        char want_body[64], want_len[64];
        snprintf(want_body, sizeof(want_body), "%d %s\n", all[i], ws_http_reason(all[i]));
        assert_string_equal(body, want_body);
        snprintf(want_len, sizeof(want_len), "\r\nContent-Length: %zu\r\n", strlen(want_body));
        assert_non_null(strstr(out, want_len));
        assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
        assert_int_equal(strncmp(out, "HTTP/1.1 ", 9), 0);
        assert_int_equal(atoi(out + 9), all[i]);
    }
}

/* The server writes its answers into buffers of WS_HTTP_RESPONSE_MAX and
 * WS_HTTP_101_MAX bytes (handshake.c, files.c), and answers 500, or
 * nothing, when one does not fit: every answer it can make must fit. */
static void test_responses_fit_the_documented_buffers(void **state) {
    (void)state;
    char out[WS_HTTP_RESPONSE_MAX], out101[WS_HTTP_101_MAX], extra[WS_HTTP_101_EXTRA_MAX];
    char type[65];

    /* Any status on_request may return (400-599), the longest reason. */
    for (int status = 400; status <= 599; status++)
        assert_true(ws_http_write_error(out, sizeof(out), status) > 0);
    /* A 64-byte content type, the longest body length. */
    memset(type, 't', 64);
    type[64] = '\0';
    assert_true(ws_http_write_head(out, sizeof(out), 431, type, SIZE_MAX) > 0);
    /* The most extra lines a 101 may carry: WS_HTTP_101_EXTRA_MAX - 1. */
    memset(extra, 'x', sizeof(extra) - 1);
    memcpy(extra + sizeof(extra) - 3, "\r\n", 3);
    assert_int_equal(strlen(extra), WS_HTTP_101_EXTRA_MAX - 1);
    int n = ws_http_write_101(out101, sizeof(out101), rfc_accept, extra);
    assert_true(n > 0);
    assert_non_null(strstr(out101, "\r\n\r\n"));
    /* A buffer one byte short (no room for the NUL) is refused, not
     * overrun: what the callers check. */
    assert_int_equal(ws_http_write_101(out101, (size_t)n, rfc_accept, extra), -1);
}

static void test_write_head(void **state) {
    (void)state;
    char out[256];
    static const char want[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/html; charset=utf-8\r\n"
                               "Content-Length: 1234\r\n"
                               "Connection: close\r\n"
                               "\r\n";
    assert_int_equal(ws_http_write_head(out, sizeof(out), 200, "text/html; charset=utf-8", 1234),
                     sizeof(want) - 1);
    assert_string_equal(out, want);
    assert_int_equal(
        ws_http_write_head(out, sizeof(want) - 1, 200, "text/html; charset=utf-8", 1234), -1);

    static const char want304[] = "HTTP/1.1 304 Not Modified\r\n"
                                  "Content-Length: 0\r\n"
                                  "Connection: close\r\n"
                                  "\r\n";
    assert_int_equal(ws_http_write_head(out, sizeof(out), 304, NULL, 0), sizeof(want304) - 1);
    assert_string_equal(out, want304);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_handshake),
        cmocka_unit_test(test_rfc_handshake_splits),
        cmocka_unit_test(test_rfc_handshake_prefixes),
        cmocka_unit_test(test_first_frame_not_consumed),
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_parse_errors_table),
        cmocka_unit_test(test_key_and_version_values),
        cmocka_unit_test(test_forwarded_for),
        cmocka_unit_test(test_extension_offers),
        cmocka_unit_test(test_classify_reasons),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_subprotocol_choice),
        cmocka_unit_test(test_protocol_and_origin_lists),
        cmocka_unit_test(test_counts_saturate),
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_one_mib_head),
        cmocka_unit_test(test_limit_exact),
        cmocka_unit_test(test_target_limit),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_feed_edges),
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_reason_phrases),
        cmocka_unit_test(test_write_101),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_write_head),
        cmocka_unit_test(test_responses_fit_the_documented_buffers),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}

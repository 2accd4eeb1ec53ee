/*
 * fuzz_http.c -- libFuzzer target for the request-head parser (http.h).
 *
 * Input: byte 0 chooses how the rest is cut into reads (fuzz_common.h),
 * byte 1 the head-size limit (so 431 is reachable with short inputs);
 * the rest is what a client sent.
 *
 * The parser is run twice, once over the whole input in one call and once
 * in the cut pieces, and both runs must agree on the result, on how many
 * bytes belonged to the head (or where the error was) and on every field
 * of the request: a resumable parser that remembers the wrong thing across
 * a cut shows up as a disagreement, not only as a crash. A complete head
 * is then classified and answered, as the server would.
 */
#include <string.h>

#include "error.h"
#include "fuzz_common.h"
#include "http.h"

struct outcome {
    int rc;       /* the last ws_http_feed() result */
    size_t total; /* head length on DONE, offset of the bad byte on error */
    ws_http_parser p;
};

static int is_error(int rc) {
    return rc == WS_E_HTTP_SYNTAX || rc == WS_E_HTTP_TOO_LARGE || rc == WS_E_HTTP_URI_LONG ||
           rc == WS_E_HTTP_VERSION;
}

/* Feed in pieces chosen by cut (or in one call when cut is NULL). */
static void run(const uint8_t *in, size_t len, size_t max_head, fuzz_cutter *cut,
                struct outcome *o) {
    size_t off = 0;

    /* A server's subprotocol list: names the corpus uses, so choices
     * happen, and "*" last (any). */
    static const char *const protocols[] = { "chat", "superchat", "v2.json", "*" };
    ws_http_parser_init(&o->p, max_head);
    ws_http_parser_protocols(&o->p, protocols, len && (in[0] & 1) ? 4 : 3);
    o->rc = WS_HTTP_AGAIN;
    o->total = 0;
    while (off < len) {
        size_t k = cut ? fuzz_cutter_next(cut, len - off) : len - off;
        size_t used = (size_t)-1;
        int rc = ws_http_feed(&o->p, in + off, k, &used);

        FUZZ_CHECK(used <= k);
        o->rc = rc;
        if (rc == WS_HTTP_AGAIN) {
            FUZZ_CHECK(used == k);
            off += k;
            continue;
        }
        FUZZ_CHECK(rc == WS_HTTP_DONE || is_error(rc));
        o->total = off + used;
        /* Fed again, a finished parser consumes nothing and repeats. */
        size_t again = (size_t)-1;
        FUZZ_CHECK(ws_http_feed(&o->p, in + off + used, k - used, &again) == rc);
        FUZZ_CHECK(again == 0);
        return;
    }
    o->total = len;
}

static void same_request(const ws_http_request *a, const ws_http_request *b) {
    FUZZ_CHECK(a->method == b->method);
    FUZZ_CHECK(a->version_major == b->version_major);
    FUZZ_CHECK(a->version_minor == b->version_minor);
    FUZZ_CHECK(a->target_len == b->target_len);
    FUZZ_CHECK(strcmp(a->target, b->target) == 0);
    FUZZ_CHECK(a->key_len == b->key_len);
    FUZZ_CHECK(strcmp(a->key, b->key) == 0);
    FUZZ_CHECK(strcmp(a->forwarded_for, b->forwarded_for) == 0);
    FUZZ_CHECK(a->ws_version == b->ws_version);
    FUZZ_CHECK(a->host_count == b->host_count);
    FUZZ_CHECK(a->key_count == b->key_count);
    FUZZ_CHECK(a->version_count == b->version_count);
    FUZZ_CHECK(a->has_upgrade == b->has_upgrade);
    FUZZ_CHECK(a->upgrade_websocket == b->upgrade_websocket);
    FUZZ_CHECK(a->connection_upgrade == b->connection_upgrade);
    FUZZ_CHECK(a->has_body == b->has_body);
    FUZZ_CHECK(a->origin_count == b->origin_count);
    FUZZ_CHECK(a->origin_len == b->origin_len);
    FUZZ_CHECK(strcmp(a->origin, b->origin) == 0);
    FUZZ_CHECK(a->protocol_offered == b->protocol_offered);
    FUZZ_CHECK(strcmp(a->protocol, b->protocol) == 0);
}

/* What the server does with a complete head: classify and answer. */
static void answer(const ws_http_request *req) {
    char out[1024];
    int c = ws_http_classify(req);

    /* Every string field stays NUL-terminated inside its array. */
    FUZZ_CHECK(memchr(req->target, 0, sizeof(req->target)) != NULL);
    FUZZ_CHECK(memchr(req->key, 0, sizeof(req->key)) != NULL);
    FUZZ_CHECK(memchr(req->forwarded_for, 0, sizeof(req->forwarded_for)) != NULL);
    FUZZ_CHECK(memchr(req->origin, 0, sizeof(req->origin)) != NULL);
    FUZZ_CHECK(req->target_len <= WS_HTTP_MAX_TARGET);
    /* A chosen subprotocol is a token the client offered, and one of the
     * server's unless the server takes any. */
    if (req->protocol[0]) {
        FUZZ_CHECK(req->protocol_offered);
        FUZZ_CHECK(strlen(req->protocol) <= WS_HTTP_MAX_PROTOCOL);
    }
    /* The origin check never reads past what was kept. */
    (void)ws_http_origin_allowed("https://*.example.com,null", req->origin,
                                 req->origin_len < WS_HTTP_MAX_ORIGIN ? req->origin_len
                                                                      : WS_HTTP_MAX_ORIGIN);

    if (c == WS_HTTP_UPGRADE) {
        char accept[WS_HTTP_ACCEPT_LEN + 1];
        FUZZ_CHECK(req->key_len <= WS_HTTP_MAX_KEY);
        ws_http_accept_key(req->key, req->key_len, accept);
        FUZZ_CHECK(strlen(accept) == WS_HTTP_ACCEPT_LEN);
        int n = ws_http_write_101(out, sizeof(out), accept, NULL);
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof(out));
        FUZZ_CHECK(strstr(out, accept) != NULL);
    } else if (c == WS_HTTP_PLAIN) {
        FUZZ_CHECK(req->method == WS_HTTP_METHOD_GET || req->method == WS_HTTP_METHOD_HEAD);
        FUZZ_CHECK(ws_http_write_head(out, sizeof(out), 200, "text/html", req->target_len) > 0);
    } else {
        FUZZ_CHECK(c == 400 || c == 405 || c == 426);
        FUZZ_CHECK(ws_http_reason(c) != NULL);
        FUZZ_CHECK(ws_http_write_error(out, sizeof(out), c) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct outcome whole, split; /* ~1.3 KiB each: keep off the stack */
    fuzz_cutter cut;

    if (size < 2) return 0;
    /* 64..8192 bytes, so that the 431 limit is hit by short inputs too. */
    size_t max_head = data[1] == 0xff ? WS_HTTP_DEFAULT_MAX_HEAD : 64 + (size_t)data[1] * 16;
    const uint8_t *in = data + 2;
    size_t len = size - 2;

    fuzz_cutter_init(&cut, data[0], len);
    run(in, len, max_head, NULL, &whole);
    run(in, len, max_head, &cut, &split);

    FUZZ_CHECK(whole.rc == split.rc);
    FUZZ_CHECK(whole.total == split.total);
    same_request(&whole.p.req, &split.p.req);
    if (whole.rc == WS_HTTP_DONE) {
        FUZZ_CHECK(whole.total <= max_head);
        answer(&whole.p.req);
    }
    if (whole.rc == WS_E_HTTP_TOO_LARGE) FUZZ_CHECK(whole.total >= max_head);
    return 0;
}

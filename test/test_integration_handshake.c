/*
 * test_integration_handshake.c -- the opening handshake (RFC 6455 §4) and
 * the plain HTTP side, against a real server on loopback.
 *
 * What a server must do with a request head (RFC 6455 §4.2.1, §4.2.2):
 *   GET, HTTP/1.1 or later, a Host, Upgrade containing "websocket",
 *   Connection containing "upgrade", a Sec-WebSocket-Key that is base64 of
 *   16 bytes, Sec-WebSocket-Version 13  ->  101 with
 *   Sec-WebSocket-Accept = base64(SHA-1(key + GUID)).
 * Anything else gets an HTTP error (the status for each case is the one
 * include/http.h documents) and the connection is closed after it.
 * A request with no WebSocket header is plain HTTP: files from --client-dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "itest.h"
#include "spawn.h"
#include "vectors.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole of a file of the client directory. */
static uint8_t *read_client_file(const char *name, size_t *len) {
    const char *dir = getenv("WS6455_CLIENT_DIR") ? getenv("WS6455_CLIENT_DIR") : "client";
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Send request on a new connection and read the response head into head.
 * Returns the status; the connection stays open in *c. */
static int request(wsc *c, const char *req, size_t req_len, char *head, size_t cap) {
    WSC_OK(c, wsc_connect(c, srv.host, srv.port));
    WSC_OK(c, wsc_send_raw(c, req, req_len));
    int status = wsc_read_http_head(c, head, cap);
    if (status < 0) fail_msg("no response: %s", c->err);
    return status;
}

/* ---------------------------------------------------------------------- */

/* RFC 6455 §1.3: this exact request gets exactly this response. */
static const char rfc_request[] = TV_REQUEST;

/* The RFC's own response, to the byte: by default (--subprotocol "*") the
 * server takes the client's first choice, "chat", as §1.3 shows it. */
static const char rfc_response[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: " TV_ACCEPT "\r\n"
                                   "Sec-WebSocket-Protocol: chat\r\n"
                                   "\r\n";

/* The same, to a request that offers no subprotocol. */
static const char response_without_protocol[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                                "Upgrade: websocket\r\n"
                                                "Connection: Upgrade\r\n"
                                                "Sec-WebSocket-Accept: " TV_ACCEPT "\r\n"
                                                "\r\n";

static void test_rfc_example_request_gets_exact_101(void **state) {
    (void)state;
    wsc c;
    char head[1024];

    start(NULL);
    assert_int_equal(request(&c, rfc_request, strlen(rfc_request), head, sizeof(head)), 101);
    assert_string_equal(head, rfc_response);
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "after 101", 9));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "after 101", 9));
    wsc_close(&c);
    stop_clean();
}

static void test_request_in_one_byte_writes_gets_101(void **state) {
    (void)state;
    wsc c;
    char head[1024];

    start(NULL);
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    /* TCP_NODELAY and a pause per byte: the server sees ~170 reads. */
    for (size_t i = 0; i < strlen(rfc_request); i++) {
        WSC_OK(&c, wsc_send_raw(&c, rfc_request + i, 1));
        ts_sleep_ms(1);
    }
    assert_int_equal(wsc_read_http_head(&c, head, sizeof(head)), 101);
    assert_string_equal(head, rfc_response);
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "slowly", 6));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "slowly", 6));
    wsc_close(&c);
    stop_clean();
}

static void test_first_frame_in_same_write_as_request_is_echoed(void **state) {
    (void)state;
    wsc c;
    char head[1024];
    uint8_t buf[512];
    const uint8_t mask[4] = { TV_MASK_KEY };

    start(NULL);
    /* Request and a masked text frame "Hello" in one send(): the frame
     * arrives in the same read as the head and must not be lost. */
    size_t n = strlen(rfc_request);
    memcpy(buf, rfc_request, n);
    n += ws_frame_header_masked(buf + n, 1, WS_OP_TEXT, 5, mask);
    memcpy(buf + n, "Hello", 5);
    ws_frame_mask(buf + n, 5, mask, 0);
    n += 5;
    assert_int_equal(request(&c, (const char *)buf, n, head, sizeof(head)), 101);
    assert_string_equal(head, rfc_response);
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "Hello", 5));
    wsc_close(&c);
    stop_clean();
}

static void test_header_names_any_case_and_connection_token_list(void **state) {
    (void)state;
    wsc c;
    char head[1024];
    /* RFC 9110 §5.1: field names are case-insensitive; RFC 6455 §4.2.1:
     * Upgrade's value case-insensitively "websocket", Connection a token
     * list that includes "Upgrade" (as Firefox sends it). */
    static const char req[] = "GET / HTTP/1.1\r\n"
                              "hOST: localhost\r\n"
                              "upgrade: WebSocket\r\n"
                              "CONNECTION: keep-alive, Upgrade\r\n"
                              "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "SEC-WEBSOCKET-VERSION: 13\r\n"
                              "\r\n";

    start(NULL);
    assert_int_equal(request(&c, req, strlen(req), head, sizeof(head)), 101);
    assert_string_equal(head, response_without_protocol);
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, "\x00\x01", 2));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, "\x00\x01", 2));
    wsc_close(&c);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* Bad handshakes: each answered with its status, then the server closes. */

#define KEY  "Sec-WebSocket-Key: " TV_KEY "\r\n"
#define V13  "Sec-WebSocket-Version: 13\r\n"
#define UPG  "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define HOST "Host: localhost\r\n"

static const struct bad_case {
    const char *name;
    const char *request;
    int status;
    const char *header; /* a header the response must carry, or NULL */
    const char *value;
} bad_cases[] = {
    /* Key and version make it a handshake attempt (include/http.h):
     * without Upgrade it is a broken one, not a request for a file. */
    { "missing Upgrade", "GET /chat HTTP/1.1\r\n" HOST CONN KEY V13 "\r\n", 400, NULL, NULL },
    { "Upgrade: h2c", "GET /chat HTTP/1.1\r\n" HOST "Upgrade: h2c\r\n" CONN KEY V13 "\r\n", 400,
      NULL, NULL },
    { "missing Connection", "GET /chat HTTP/1.1\r\n" HOST UPG KEY V13 "\r\n", 400, NULL, NULL },
    { "Connection without upgrade",
      "GET /chat HTTP/1.1\r\n" HOST UPG "Connection: keep-alive\r\n" KEY V13 "\r\n", 400, NULL,
      NULL },
    { "missing Sec-WebSocket-Key", "GET /chat HTTP/1.1\r\n" HOST UPG CONN V13 "\r\n", 400, NULL,
      NULL },
    { "missing Host", "GET /chat HTTP/1.1\r\n" UPG CONN KEY V13 "\r\n", 400, NULL, NULL },
    { "two Host headers", "GET /chat HTTP/1.1\r\n" HOST HOST UPG CONN KEY V13 "\r\n", 400, NULL,
      NULL },
    { "key of 10 bytes",
      "GET /chat HTTP/1.1\r\n" HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n" V13 "\r\n",
      400, NULL, NULL },
    { "key of 17 bytes",
      "GET /chat HTTP/1.1\r\n" HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=\r\n" V13
      "\r\n",
      400, NULL, NULL },
    { "key not base64",
      "GET /chat HTTP/1.1\r\n" HOST UPG CONN "Sec-WebSocket-Key: not*base64*at*all*!!!!\r\n" V13
      "\r\n",
      400, NULL, NULL },
    /* http.h: an upgrade with another method is a malformed handshake. */
    { "POST upgrade", "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY V13 "\r\n", 400, NULL, NULL },
    /* ... while a plain request with another method is 405 + Allow. */
    { "plain POST", "POST / HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n", 405, "Allow",
      "GET, HEAD" },
    { "HTTP/1.0 upgrade", "GET /chat HTTP/1.0\r\n" HOST UPG CONN KEY V13 "\r\n", 400, NULL, NULL },
    { "HTTP/2.0", "GET /chat HTTP/2.0\r\n" HOST UPG CONN KEY V13 "\r\n", 505, NULL, NULL },
    /* RFC 6455 §4.4: other versions get 426 naming the one we speak. */
    { "version 8", "GET /chat HTTP/1.1\r\n" HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n\r\n",
      426, "Sec-WebSocket-Version", "13" },
    { "missing version", "GET /chat HTTP/1.1\r\n" HOST UPG CONN KEY "\r\n", 426,
      "Sec-WebSocket-Version", "13" },
    { "garbage", "\x16\x03\x01\x02\x10\x01\x7f\x01\xfc\x03\x03 TLS hello?\r\n\r\n", 400, NULL,
      NULL },
    { "no version in request line", "GET /chat\r\n" HOST UPG CONN KEY V13 "\r\n", 400, NULL, NULL },
};

/* Check one response: status, the promised header, a body of exactly
 * Content-Length bytes, and then the server's FIN. */
static void expect_error_then_close(wsc *c, const char *name, int want, const char *status_head,
                                    int got, const char *header, const char *value) {
    char v[128];
    uint8_t *body;
    size_t len;

    if (got != want) fail_msg("%s: status %d, expected %d", name, got, want);
    if (header && (wsc_http_header(status_head, header, v, sizeof(v)) < 0 || strcmp(v, value)))
        fail_msg("%s: response lacks %s: %s", name, header, value);
    if (wsc_http_header(status_head, "Connection", v, sizeof(v)) < 0 || strcmp(v, "close"))
        fail_msg("%s: response lacks Connection: close", name);
    if (wsc_read_http_body(c, status_head, &body, &len) < 0) fail_msg("%s: %s", name, c->err);
    free(body);
    if (wsc_expect_eof(c, 0) < 0) fail_msg("%s: %s", name, c->err);
}

static void test_bad_handshakes_get_their_status_then_close(void **state) {
    (void)state;
    char head[2048];

    start(NULL);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        wsc c;
        int got = request(&c, bc->request, strlen(bc->request), head, sizeof(head));
        expect_error_then_close(&c, bc->name, bc->status, head, got, bc->header, bc->value);
        wsc_close(&c);
    }
    stop_clean();
}

/* Open a connection offering extra header lines; returns the status and
 * the response's Sec-WebSocket-Protocol (or "") in proto. */
static int offer(const char *extra, char *proto, size_t cap) {
    wsc c;
    char req[2048], head[2048];
    int n = snprintf(req, sizeof(req),
                     "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     extra);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    int status = request(&c, req, (size_t)n, head, sizeof(head));
    if (wsc_http_header(head, "Sec-WebSocket-Protocol", proto, cap) < 0) proto[0] = '\0';
    if (status == 101) {
        /* Still a working connection. */
        WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "ok", 2));
        WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "ok", 2));
    } else {
        expect_error_then_close(&c, extra, status, head, status, NULL, NULL);
    }
    wsc_close(&c);
    return status;
}

/* RFC 6455 §1.9, §4.2.2 item 5.4: the client's first choice of the
 * server's subprotocols, exactly one value; none when nothing matches
 * (the handshake still succeeds: the client decides). */
static void test_subprotocols(void **state) {
    (void)state;
    char proto[128];

    start(NULL); /* the default, "*": the client's first choice */
    assert_int_equal(offer("Sec-WebSocket-Protocol: chat, superchat\r\n", proto, sizeof(proto)),
                     101);
    assert_string_equal(proto, "chat");
    assert_int_equal(offer("", proto, sizeof(proto)), 101);
    assert_string_equal(proto, "");
    stop_clean();

    start(TS_ARGS("--subprotocol", "superchat,v2.json"));
    assert_int_equal(offer("Sec-WebSocket-Protocol: chat, superchat\r\n", proto, sizeof(proto)),
                     101);
    assert_string_equal(proto, "superchat");
    /* Two header lines are one list, in order. */
    assert_int_equal(offer("Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: v2.json, "
                           "superchat\r\n",
                           proto, sizeof(proto)),
                     101);
    assert_string_equal(proto, "v2.json");
    /* Names are compared exactly. */
    assert_int_equal(offer("Sec-WebSocket-Protocol: SuperChat, chat\r\n", proto, sizeof(proto)),
                     101);
    assert_string_equal(proto, "");
    stop_clean();

    /* A wsclient handshake checks the answer as a client must (§4.1). */
    start(TS_ARGS("--subprotocol", "v2.json"));
    wsc c;
    char head[2048];
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    WSC_OK(&c, wsc_handshake_ext(&c, "/", "Sec-WebSocket-Protocol: v1.json, v2.json\r\n", head,
                                 sizeof(head)));
    wsc_close(&c);
    stop_clean();
}

/* RFC 6455 §10.2: with --allow-origin, a browser's request from another
 * origin gets 403; one without Origin is not from a browser's page and
 * is let in. Plain GETs (the page itself) are not WebSocket and are
 * served whatever their Origin. */
static void test_allow_origin(void **state) {
    (void)state;
    char proto[128], head[2048];
    wsc c;

    start(TS_ARGS("--allow-origin", "https://app.example,https://*.example.org,null", "--log-level",
                  "info"));
    assert_int_equal(offer("Origin: https://app.example\r\n", proto, sizeof(proto)), 101);
    assert_int_equal(offer("Origin: HTTPS://APP.EXAMPLE\r\n", proto, sizeof(proto)), 101);
    assert_int_equal(offer("Origin: https://a.b.example.org\r\n", proto, sizeof(proto)), 101);
    assert_int_equal(offer("Origin: null\r\n", proto, sizeof(proto)), 101);
    assert_int_equal(offer("", proto, sizeof(proto)), 101);
    assert_int_equal(offer("Origin: https://evil.example\r\n", proto, sizeof(proto)), 403);
    assert_int_equal(offer("Origin: https://example.org\r\n", proto, sizeof(proto)), 403);
    assert_int_equal(offer("Origin: https://app.example:8443\r\n", proto, sizeof(proto)), 403);
    assert_int_equal(offer("Origin: http://app.example\r\n", proto, sizeof(proto)), 403);
    /* Two Origin headers: not what a browser sends. */
    assert_int_equal(offer("Origin: https://app.example\r\nOrigin: https://evil.example\r\n", proto,
                           sizeof(proto)),
                     403);
    /* Longer than the 256 bytes kept: cannot pass for its beginning. */
    char extra[600];
    snprintf(extra, sizeof(extra), "Origin: https://app.example%0300d\r\n", 0);
    assert_int_equal(offer(extra, proto, sizeof(proto)), 403);
    /* The page is served to anyone. */
    static const char get[] = "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://evil.example\r\n\r\n";
    assert_int_equal(request(&c, get, sizeof(get) - 1, head, sizeof(head)), 200);
    wsc_close(&c);
    /* The refusal is logged with the origin, escaped. */
    stop_clean();
    assert_true(ts_server_log_contains(
        &srv, ": GET /chat -> 403 (origin https://evil.example not allowed), "));
}

static void test_head_over_max_header_gets_431(void **state) {
    (void)state;
    wsc c;
    char head[2048], req[4096];

    start(TS_ARGS("--max-header", "1024"));
    /* 1024 bytes of head are allowed; this one is ~1500. */
    int n =
        snprintf(req, sizeof(req),
                 "GET /chat HTTP/1.1\r\n" HOST UPG CONN KEY V13 "X-Padding: %01400d\r\n\r\n", 0);
    int got = request(&c, req, (size_t)n, head, sizeof(head));
    expect_error_then_close(&c, "head of 1500 bytes", 431, head, got, NULL, NULL);
    wsc_close(&c);

    /* A head just under the limit still works. */
    n = snprintf(req, sizeof(req),
                 "GET /chat HTTP/1.1\r\n" HOST UPG CONN KEY V13 "X-Padding: %0800d\r\n\r\n", 0);
    assert_true(n < 1024);
    assert_int_equal(request(&c, req, (size_t)n, head, sizeof(head)), 101);
    wsc_close(&c);
    stop_clean();
}

static void test_target_over_1024_bytes_gets_414(void **state) {
    (void)state;
    wsc c;
    char head[2048], req[4096], target[1100];

    start(NULL);
    memset(target, 'a', sizeof(target) - 1);
    target[0] = '/';
    target[sizeof(target) - 1] = '\0';
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n" HOST UPG CONN KEY V13 "\r\n", target);
    int got = request(&c, req, (size_t)n, head, sizeof(head));
    expect_error_then_close(&c, "target of 1099 bytes", 414, head, got, NULL, NULL);
    wsc_close(&c);

    /* 1024 bytes exactly is allowed (WS_HTTP_MAX_TARGET). */
    target[1024] = '\0';
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n" HOST UPG CONN KEY V13 "\r\n", target);
    assert_int_equal(request(&c, req, (size_t)n, head, sizeof(head)), 101);
    wsc_close(&c);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* Plain HTTP: the HTML client.                                            */

static void expect_file(const char *target, const char *file, const char *type) {
    wsc c;
    char head[2048], req[256], v[128];
    uint8_t *body;
    size_t len, want_len;
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target);

    assert_int_equal(request(&c, req, (size_t)n, head, sizeof(head)), 200);
    assert_int_equal(wsc_http_header(head, "Content-Type", v, sizeof(v)), 0);
    assert_string_equal(v, type);
    WSC_OK(&c, wsc_read_http_body(&c, head, &body, &len));
    uint8_t *want = read_client_file(file, &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(body, want, len);
    free(want);
    free(body);
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    wsc_close(&c);
}

static void test_get_root_serves_index_html_byte_for_byte(void **state) {
    (void)state;
    start(NULL);
    expect_file("/", "index.html", "text/html; charset=utf-8");
    expect_file("/index.html", "index.html", "text/html; charset=utf-8");
    stop_clean();
}

static void test_get_client_js(void **state) {
    (void)state;
    start(NULL);
    expect_file("/client.js", "client.js", "text/javascript; charset=utf-8");
    stop_clean();
}

static void expect_404(const char *target) {
    wsc c;
    char head[2048], req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target);
    int got = request(&c, req, (size_t)n, head, sizeof(head));
    expect_error_then_close(&c, target, 404, head, got, NULL, NULL);
    wsc_close(&c);
}

static void test_missing_file_404(void **state) {
    (void)state;
    start(NULL);
    expect_404("/no-such-file.html");
    stop_clean();
}

static void test_paths_outside_client_dir_404(void **state) {
    (void)state;
    start(NULL);
    expect_404("/../Makefile");
    expect_404("/%2e%2e/Makefile");
    expect_404("/%2E%2E/%2e%2e/etc/passwd");
    expect_404("/.%2e/Makefile");
    stop_clean();
}

static void test_head_gets_headers_without_body(void **state) {
    (void)state;
    wsc c;
    char head[2048], v[128];
    size_t want_len;
    static const char req[] = "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n";

    start(NULL);
    assert_int_equal(request(&c, req, strlen(req), head, sizeof(head)), 200);
    assert_int_equal(wsc_http_header(head, "Content-Type", v, sizeof(v)), 0);
    assert_string_equal(v, "text/html; charset=utf-8");
    free(read_client_file("index.html", &want_len));
    assert_int_equal(wsc_http_header(head, "Content-Length", v, sizeof(v)), 0);
    assert_int_equal(strtoul(v, NULL, 10), want_len);
    /* RFC 9110 §9.3.2: no content; the next thing is the server's FIN. */
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    wsc_close(&c);
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rfc_example_request_gets_exact_101, teardown),
        cmocka_unit_test_teardown(test_request_in_one_byte_writes_gets_101, teardown),
        cmocka_unit_test_teardown(test_first_frame_in_same_write_as_request_is_echoed, teardown),
        cmocka_unit_test_teardown(test_header_names_any_case_and_connection_token_list, teardown),
        cmocka_unit_test_teardown(test_bad_handshakes_get_their_status_then_close, teardown),
        cmocka_unit_test_teardown(test_subprotocols, teardown),
        cmocka_unit_test_teardown(test_allow_origin, teardown),
        cmocka_unit_test_teardown(test_head_over_max_header_gets_431, teardown),
        cmocka_unit_test_teardown(test_target_over_1024_bytes_gets_414, teardown),
        cmocka_unit_test_teardown(test_get_root_serves_index_html_byte_for_byte, teardown),
        cmocka_unit_test_teardown(test_get_client_js, teardown),
        cmocka_unit_test_teardown(test_missing_file_404, teardown),
        cmocka_unit_test_teardown(test_paths_outside_client_dir_404, teardown),
        cmocka_unit_test_teardown(test_head_gets_headers_without_body, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

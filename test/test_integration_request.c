/*
 * test_integration_request.c -- what a handler's on_request sees and can
 * decide (server.h), through examples/gate.c, a server that routes by path,
 * checks a token in a header, a cookie or the query, and speaks a
 * subprotocol; and the server's own --allow-origin in front of it.
 *
 * The example takes the options ts_server_start passes (--workers, --host,
 * --port, --log-level, --client-dir), so it runs like the real binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "spawn.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* build/examples/gate, next to the server binary's build directory. */
static const char *gate_bin(void) {
    static char path[512];
    const char *bin = getenv("WS6455_BIN") ? getenv("WS6455_BIN") : "build/ws6455";
    const char *slash = strrchr(bin, '/');
    snprintf(path, sizeof(path), "%.*s/examples/gate", slash ? (int)(slash - bin) : 1,
             slash ? bin : ".");
    return path;
}

static void start_gate(const char *const *args) {
    ts_server_opts o = { .log_level = "info", .bin = gate_bin() };
    assert_int_equal(ts_server_start_opts(&srv, &o, args), 0);
}

/* A handshake to target with extra header lines; the status, and the
 * response head in head. On 101 the connection stays open in *c. */
static int knock(wsc *c, const char *target, const char *extra, char *head, size_t cap) {
    char req[8192];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "%s\r\n",
                     target, extra);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    WSC_OK(c, wsc_connect(c, srv.host, srv.port));
    WSC_OK(c, wsc_send_raw(c, req, (size_t)n));
    int status = wsc_read_http_head(c, head, cap);
    if (status < 0) fail_msg("%s: no answer: %s", target, c->err);
    return status;
}

/* The status of one attempt; a 101 is used for one message, whose echo
 * must be want (NULL: not checked). */
static int attempt(const char *target, const char *extra, const char *send, const char *want) {
    wsc c;
    char head[2048];
    int status = knock(&c, target, extra, head, sizeof(head));
    if (status == 101 && send) {
        WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, send, strlen(send)));
        WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, want, strlen(want)));
    } else if (status != 101) {
        uint8_t *body;
        size_t len;
        WSC_OK(&c, wsc_read_http_body(&c, head, &body, &len));
        free(body);
        WSC_OK(&c, wsc_expect_eof(&c, 5000));
    }
    wsc_close(&c);
    return status;
}

#define AUTH "Authorization: Bearer s3cret\r\n"

/* Routing by path, and the token in each of its three places; what is
 * refused gets the handler's status, then the connection closes. */
static void test_routes_and_tokens(void **state) {
    (void)state;
    start_gate(TS_ARGS("--token", "s3cret"));
    assert_int_equal(attempt("/echo", AUTH, "hello", "hello"), 101);
    assert_int_equal(attempt("/shout", AUTH, "hello, World", "HELLO, WORLD"), 101);
    assert_int_equal(attempt("/shout?token=s3cret", "", "quiet", "QUIET"), 101);
    assert_int_equal(attempt("/echo?a=1&token=s3cret&b=2", "", "q", "q"), 101);
    assert_int_equal(attempt("/echo", "Cookie: theme=dark; token=s3cret\r\n", "c", "c"), 101);
    /* Header names in any case, whitespace around the value. */
    assert_int_equal(attempt("/echo", "authorization:   Bearer s3cret  \r\n", "w", "w"), 101);
    /* Refused: no token, a wrong one, one that only starts right, a
     * lookalike cookie or query. */
    assert_int_equal(attempt("/echo", "", NULL, NULL), 401);
    assert_int_equal(attempt("/echo", "Authorization: Bearer wrong\r\n", NULL, NULL), 401);
    assert_int_equal(attempt("/echo", "Authorization: Bearer s3cret2\r\n", NULL, NULL), 401);
    assert_int_equal(attempt("/echo", "Cookie: xtoken=s3cret\r\n", NULL, NULL), 401);
    assert_int_equal(attempt("/echo?token=s3cre", "", NULL, NULL), 401);
    assert_int_equal(attempt("/echo?mytoken=s3cret", "", NULL, NULL), 401);
    /* Only the first Authorization header counts. */
    assert_int_equal(attempt("/echo", "Authorization: Bearer no\r\n" AUTH, NULL, NULL), 401);
    /* Other paths: 404, before the token is even looked at. */
    assert_int_equal(attempt("/", AUTH, NULL, NULL), 404);
    assert_int_equal(attempt("/echo/more", AUTH, NULL, NULL), 404);
    stop_clean();
    /* The log tells each decision. */
    assert_true(ts_server_log_contains(&srv, ": GET /echo -> 401 (refused by the handler), "));
    assert_true(ts_server_log_contains(&srv, ": GET / -> 404 (refused by the handler), "));
    assert_true(ts_server_log_contains(&srv, "from 127.0.0.1:"));
    assert_true(ts_server_log_contains(&srv, " admitted to /echo (origin none, subprotocol none)"));
}

/* The subprotocol chosen for the handler to see, and the Origin check
 * the server makes before the handler is asked. */
static void test_subprotocol_and_origin(void **state) {
    (void)state;
    wsc c;
    char head[2048], v[64];

    start_gate(TS_ARGS("--token", "s3cret", "--origin", "https://app.example"));
    assert_int_equal(
        knock(&c, "/echo", AUTH "Sec-WebSocket-Protocol: x, gate.v1\r\n", head, sizeof(head)), 101);
    assert_int_equal(wsc_http_header(head, "Sec-WebSocket-Protocol", v, sizeof(v)), 0);
    assert_string_equal(v, "gate.v1");
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hi", 2));
    uint8_t *msg;
    size_t len;
    int op;
    WSC_OK(&c, wsc_read_message(&c, &op, &msg, &len));
    /* gate.v1: "#ID hi", ID the connection's number (the log's). */
    unsigned id = 0;
    char rest[8] = "";
    assert_int_equal(op, WS_OP_TEXT);
    assert_int_equal(sscanf((char *)msg, "#%u %7s", &id, rest), 2);
    assert_string_equal(rest, "hi");
    char line[64];
    snprintf(line, sizeof(line), "client #%u connected from ", id);
    free(msg);
    wsc_close(&c);
    /* Without it: plain replies, no Sec-WebSocket-Protocol. */
    assert_int_equal(knock(&c, "/echo", AUTH, head, sizeof(head)), 101);
    assert_int_equal(wsc_http_header(head, "Sec-WebSocket-Protocol", v, sizeof(v)), -1);
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hi", 2));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "hi", 2));
    wsc_close(&c);
    /* A browser page of the allowed site, and of another; a client
     * without Origin (not a browser). */
    assert_int_equal(attempt("/echo", AUTH "Origin: https://app.example\r\n", "o", "o"), 101);
    assert_int_equal(attempt("/echo", AUTH "Origin: https://evil.example\r\n", NULL, NULL), 403);
    assert_int_equal(attempt("/echo", AUTH, "n", "n"), 101);
    stop_clean();
    assert_true(ts_server_log_contains(&srv, " admitted to /echo (origin none, subprotocol "
                                             "gate.v1)"));
    assert_true(ts_server_log_contains(&srv, " admitted to /echo (origin given, subprotocol "
                                             "none)"));
    assert_true(ts_server_log_contains(&srv, line));
    assert_true(ts_server_log_contains(&srv, "-> 403 (origin https://evil.example not allowed)"));
}

/* The head kept for the handler's header lookups is memory like any
 * other: at most --max-header of it, counted, and given back. */
static void test_head_kept_only_while_needed(void **state) {
    (void)state;
    char extra[6000];
    size_t total, peak, limit;

    start_gate(TS_ARGS("--token", "s3cret"));
    assert_int_equal(ts_server_budget(&srv, &total, &peak, &limit), 0);
    size_t before = total;
    /* A 5 KiB header: under the 8 KiB limit, so it is read and kept. */
    int n = snprintf(extra, sizeof(extra), "X-Padding: %05000d\r\n" AUTH, 0);
    assert_true(n > 0 && (size_t)n < sizeof(extra));
    assert_int_equal(attempt("/echo", extra, "pad", "pad"), 101);
    assert_int_equal(ts_server_budget(&srv, &total, &peak, &limit), 0);
    /* While it was held: the head (at most --max-header, 8 KiB, with the
     * parser) on top of what the connection costs; none of it now. */
    assert_true(peak >= before + 5000);
    assert_true(peak <= before + 8192 + 4096 + 2 * 1024);
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_routes_and_tokens, teardown),
        cmocka_unit_test_teardown(test_subprotocol_and_origin, teardown),
        cmocka_unit_test_teardown(test_head_kept_only_while_needed, teardown),
    };
    return cmocka_run_group_tests_name("integration: on_request (examples/gate)", tests, NULL,
                                       NULL);
}

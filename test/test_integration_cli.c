/*
 * test_integration_cli.c -- the command line and the log, as a user meets
 * them: --help lists every option, --version, bad options and values are
 * refused with exit status 2, the info-level log tells of each connection,
 * message and disconnection (as the tutorial's server prints them), and
 * --workers 2 serves on one port with a supervisor that exits cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "jsonline.h"
#include "spawn.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run the binary with args, capture stdout+stderr into out; return the
 * exit status (or -1 if it did not exit normally). */
static int run_cli(const char *args, char *out, size_t cap) {
    const char *bin = getenv("WS6455_BIN");
    char cmd[1024];
    FILE *p;
    size_t n = 0;
    int st;

    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", bin ? bin : "build/ws6455", args);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (n + 1 < cap) {
        size_t k = fread(out + n, 1, cap - 1 - n, p);
        if (k == 0) break;
        n += k;
    }
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help_lists_every_option(void **state) {
    static const char *const opts[] = {
        "--host",
        "--port",
        "--client-dir",
        "--handler",
        "--workers",
        "--max-message",
        "--max-fragments",
        "--max-header",
        "--max-queue",
        "--max-connections",
        "--handshake-timeout",
        "--ping-interval",
        "--ping-timeout",
        "--close-timeout",
        "--send-timeout",
        "--shutdown-timeout",
        "--trust-proxy",
        "--busy-poll",
        "--log-level",
        "--log-format",
        "--subprotocol",
        "--allow-origin",
        "--deflate",
        "--stats-interval",
        "-h, --help",
        "-V, --version",
        "echo|said|chat",
        "Exit status",
    };
    char out[8192];
    (void)state;

    assert_int_equal(run_cli("--help", out, sizeof(out)), 0);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strstr(out, opts[i])) fail_msg("--help does not mention %s", opts[i]);
    char out2[8192];
    assert_int_equal(run_cli("-h", out2, sizeof(out2)), 0);
    assert_string_equal(out, out2);
    /* Defaults are shown as the code has them. */
    assert_non_null(strstr(out, "(default 8080"));
    assert_non_null(strstr(out, "(default 16777216)"));
}

static void test_version(void **state) {
    char out[256];
    (void)state;
    assert_int_equal(run_cli("--version", out, sizeof(out)), 0);
    assert_true(strncmp(out, "ws6455 ", 7) == 0);
    /* How it was built: the date (ISO 8601), the compiler, libc only. */
    const char *built = strstr(out, "\nbuilt 20");
    assert_non_null(built);
    assert_true(built[11] == '-' && built[14] == '-');
    assert_true(strstr(out, " with gcc ") || strstr(out, " with clang "));
    assert_non_null(strstr(out, "links libc only"));
    assert_non_null(strstr(out, "the page: "));
    char out2[512];
    assert_int_equal(run_cli("-V", out2, sizeof(out2)), 0);
    assert_string_equal(out, out2);
}

/* Each bad invocation exits 2 with a message naming the problem, before
 * it listens anywhere. */
static void test_bad_options_exit_2(void **state) {
    static const struct {
        const char *args, *says;
    } cases[] = {
        { "--no-such-option", "--help" },
        { "--port 70000", "--port" },
        { "--port -1", "--port" },
        { "--handler nope", "--handler" },
        { "--max-message 2G", "--max-message" },
        { "--max-message 12X", "--max-message" },
        { "--workers 0", "--workers" },
        { "--log-level loud", "--log-level" },
        { "--ping-interval -3", "--ping-interval" },
        { "--close-timeout soon", "--close-timeout" },
        { "--busy-poll -1", "--busy-poll" },
        { "--busy-poll 1000001", "--busy-poll" },
        { "stray-argument", "stray-argument" },
        { "--subprotocol 'a b'", "--subprotocol" },
        { "--subprotocol chat,", "--subprotocol" },
        { "--allow-origin example.com", "--allow-origin" },
        { "--log-format yaml", "--log-format" },
        { "-x", "--help" },
    };
    char out[1024];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = run_cli(cases[i].args, out, sizeof(out));
        if (st != 2) fail_msg("'%s' exited %d, not 2: %s", cases[i].args, st, out);
        if (!strstr(out, cases[i].says))
            fail_msg("'%s' did not mention %s: %s", cases[i].args, cases[i].says, out);
    }
}

/* A WebSocket session and three plain requests that the log must tell
 * of, line by line. Returns what the client sent and received. */
static void session(const ts_server *s, uint64_t *sent, uint64_t *received) {
    wsc c;
    char head[2048];
    static uint8_t big[70000];

    WSC_OK(&c, wsc_connect(&c, s->host, s->port));
    WSC_OK(&c, wsc_handshake_ext(&c, "/room?x=1",
                                 "Origin: http://o.example\r\nSec-WebSocket-Protocol: chat\r\n",
                                 head, sizeof(head)));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hello", 5));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "hello", 5));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, "\x01\x02", 2));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, "\x01\x02", 2));
    /* A message the server takes in parts: a first frame announcing
     * 70000 bytes, and the message's end only later (a second read). */
    memset(big, 'a', sizeof(big));
    c.duplex = 1;
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, big, sizeof(big)));
    ts_sleep_ms(100);
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, "", 0));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, big, sizeof(big)));
    WSC_OK(&c, wsc_send_close(&c, 1000, "done \"here\""));
    WSC_OK(&c, wsc_expect_close(&c, 1000));
    WSC_OK(&c, wsc_expect_eof(&c, 5000));
    *sent = c.bytes_sent;
    *received = c.bytes_received;
    wsc_close(&c);

    static const char *const reqs[] = {
        "GET /client.js HTTP/1.1\r\nHost: h\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n",
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t *body;
        size_t len;
        WSC_OK(&c, wsc_connect(&c, s->host, s->port));
        WSC_OK(&c, wsc_send_raw(&c, reqs[i], strlen(reqs[i])));
        assert_true(wsc_read_http_head(&c, head, sizeof(head)) > 0);
        if (i != 1) {
            WSC_OK(&c, wsc_read_http_body(&c, head, &body, &len));
            free(body);
        }
        WSC_OK(&c, wsc_expect_eof(&c, 5000));
        wsc_close(&c);
    }
}

/* The tutorial's server prints "Client connected", "Received: ..." and
 * "Client disconnected"; ours logs the same moments at info level, and an
 * access line for every plain request: each with what an operator asks
 * of it. The byte counts are the final ones: the disconnect line is
 * written when the socket closes, not when the close frame is queued. */
static void test_info_log_lines(void **state) {
    ts_server_opts o = { .log_level = "info" };
    uint64_t sent, received;
    char want[256];
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    session(&srv, &sent, &received);
    stop_clean();

    snprintf(want, sizeof(want), "listening on 127.0.0.1:%u (", srv.port);
    assert_true(ts_server_log_contains(&srv, want));
    snprintf(want, sizeof(want), "open http://127.0.0.1:%u/ in a browser", srv.port);
    assert_true(ts_server_log_contains(&srv, want));
    assert_true(ts_server_log_contains(&srv, "connected from 127.0.0.1:"));
    assert_true(ts_server_log_contains(&srv, " to /room?x=1, subprotocol chat, no extensions"));
    assert_true(ts_server_log_contains(&srv, "received text message #1, 5 bytes: \"hello\""));
    assert_true(ts_server_log_contains(&srv, "received binary message #2, 2 bytes: 0102"));
    /* A message taken in parts is logged at its end, with its total. */
    assert_true(ts_server_log_contains(&srv, "received text message #3, 70000 bytes in parts"));
    /* Code, reason (escaped), who closed, messages, the exact bytes. */
    snprintf(want, sizeof(want),
             "disconnected: 1000 \"done \\\"here\\\"\" from the client; "
             "3 messages, ");
    assert_true(ts_server_log_contains(&srv, want));
    snprintf(want, sizeof(want), "3 messages, %.1f KiB in, %.1f KiB out, ", sent / 1024.0,
             received / 1024.0);
    if (!ts_server_log_contains(&srv, want)) fail_msg("no line with \"%s\"", want);
    assert_true(ts_server_log_contains(&srv, "127.0.0.1:"));
    assert_true(ts_server_log_contains(&srv, ": GET /client.js -> 200, "));
    assert_true(ts_server_log_contains(&srv, ": HEAD / -> 200, "));
    assert_true(ts_server_log_contains(&srv, ": GET /nope -> 404 (no such file), "));
}

/* --log-format json: every line one JSON object (checked by a strict
 * reader), the same sentence in "msg", and the facts as fields. */
static void test_json_log_lines(void **state) {
    ts_server_opts o = { .log_level = "info" };
    uint64_t sent, received;
    char line[16384], v[512];
    int events[6] = { 0 };
    static const char *const names[] = { "listen",     "connect", "message",
                                         "disconnect", "access",  NULL };
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, TS_ARGS("--log-format", "json")), 0);
    session(&srv, &sent, &received);
    stop_clean();

    FILE *f = fopen(srv.log_path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        /* Under make valgrind, valgrind's own report ("==PID== ...")
         * shares the server's stderr: not the server's lines. */
        if (ts_valgrind() && strncmp(line, "==", 2) == 0) continue;
        if (json_object_check(line, len) < 0) fail_msg("not a JSON object: %s", line);
        assert_int_equal(json_member(line, len, "level", v, sizeof(v)), 0);
        assert_int_equal(json_member(line, len, "time", v, sizeof(v)), 0);
        assert_int_equal(json_member(line, len, "msg", v, sizeof(v)), 0);
        if (json_member(line, len, "event", v, sizeof(v)) < 0) continue;
        for (int i = 0; names[i]; i++)
            if (strcmp(v, names[i]) == 0) events[i]++;
        if (strcmp(v, "disconnect") == 0) {
            assert_int_equal(json_member(line, len, "code", v, sizeof(v)), 0);
            assert_string_equal(v, "1000");
            assert_int_equal(json_member(line, len, "reason", v, sizeof(v)), 0);
            assert_string_equal(v, "done \"here\""); /* the reason as sent */
            assert_int_equal(json_member(line, len, "closed_by", v, sizeof(v)), 0);
            assert_string_equal(v, "client");
            assert_int_equal(json_member(line, len, "bytes_out", v, sizeof(v)), 0);
            assert_int_equal(strtoull(v, NULL, 10), received);
            assert_int_equal(json_member(line, len, "bytes_in", v, sizeof(v)), 0);
            assert_int_equal(strtoull(v, NULL, 10), sent);
        }
        if (strcmp(v, "connect") == 0) {
            assert_int_equal(json_member(line, len, "subprotocol", v, sizeof(v)), 0);
            assert_string_equal(v, "chat");
            assert_int_equal(json_member(line, len, "origin", v, sizeof(v)), 0);
            assert_string_equal(v, "http://o.example");
            assert_int_equal(json_member(line, len, "target", v, sizeof(v)), 0);
            assert_string_equal(v, "/room?x=1");
        }
        if (strcmp(v, "access") == 0) {
            assert_int_equal(json_member(line, len, "method", v, sizeof(v)), 0);
            assert_true(strcmp(v, "GET") == 0 || strcmp(v, "HEAD") == 0);
            assert_int_equal(json_member(line, len, "status", v, sizeof(v)), 0);
            assert_int_equal(json_member(line, len, "bytes", v, sizeof(v)), 0);
            assert_int_equal(json_member(line, len, "ms", v, sizeof(v)), 0);
        }
    }
    fclose(f);
    assert_int_equal(events[0], 1); /* listen */
    assert_int_equal(events[1], 1); /* connect */
    assert_int_equal(events[2], 3); /* messages */
    assert_int_equal(events[3], 1); /* disconnect */
    assert_int_equal(events[4], 3); /* access */
}

/* At warn level none of those lines are written. */
static void test_warn_level_is_quiet(void **state) {
    wsc c;
    (void)state;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hello", 5));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "hello", 5));
    wsc_close(&c);
    stop_clean();
    assert_false(ts_server_log_contains(&srv, "received"));
    assert_false(ts_server_log_contains(&srv, "connected from"));
}

/* Two worker processes on one port: connections spread over both (the
 * log names the worker), every one echoes, and SIGTERM to the supervisor
 * stops them all with exit status 0. */
static void test_two_workers(void **state) {
    ts_server_opts o = { .log_level = "info" };
    wsc c[16];
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, TS_ARGS("--workers", "2")), 0);
    for (int i = 0; i < 16; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof(msg), "worker test %d", i);
        WSC_OK(&c[i], wsc_open(&c[i], &srv));
        WSC_OK(&c[i], wsc_send_message(&c[i], WS_OP_TEXT, msg, (size_t)n));
        WSC_OK(&c[i], wsc_expect_message(&c[i], WS_OP_TEXT, msg, (size_t)n));
    }
    for (int i = 0; i < 16; i++) wsc_close(&c[i]);
    stop_clean();
    assert_true(ts_server_log_contains(&srv, "started 2 worker process(es)"));
    /* The supervisor opened both listeners before forking; the kernel
     * spread the 16 connections over them (all on one: odds 1 in 32768). */
    assert_true(ts_server_log_contains(&srv, "listening on 127.0.0.1:"));
    assert_true(ts_server_log_contains(&srv, "[w0] client #"));
    assert_true(ts_server_log_contains(&srv, "[w1] client #"));
}

/* --busy-poll: messages are echoed as usual, and the loop spins only
 * right after traffic. Once the client is quiet the server must sleep
 * again: over a quiet second an endless spin would cost a second of CPU,
 * a sleeping server (a sweep every 250 ms) next to nothing. */
static void test_busy_poll_spins_only_after_traffic(void **state) {
    wsc c;
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--busy-poll", "1000")), 0);
    WSC_OK(&c, wsc_open(&c, &srv));
    for (int i = 0; i < 200; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "busy %d", i);
        WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, msg, (size_t)n));
        WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, msg, (size_t)n));
    }
    double before = ts_server_cpu_seconds(&srv);
    assert_true(before >= 0);
    usleep(1000 * 1000);
    double quiet = ts_server_cpu_seconds(&srv) - before;
    if (quiet > 0.2) fail_msg("server used %.2f s of CPU in a quiet second", quiet);
    wsc_close(&c);
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_every_option),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_bad_options_exit_2),
        cmocka_unit_test_teardown(test_info_log_lines, teardown),
        cmocka_unit_test_teardown(test_json_log_lines, teardown),
        cmocka_unit_test_teardown(test_warn_level_is_quiet, teardown),
        cmocka_unit_test_teardown(test_two_workers, teardown),
        cmocka_unit_test_teardown(test_busy_poll_spins_only_after_traffic, teardown),
    };
    return cmocka_run_group_tests_name("integration: command line and log", tests, NULL, NULL);
}

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
#include "spawn.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

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
        "--host", "--port", "--client-dir", "--handler", "--workers", "--max-message",
        "--max-fragments", "--max-header", "--max-queue", "--max-connections",
        "--handshake-timeout", "--ping-interval", "--ping-timeout", "--close-timeout",
        "--send-timeout", "--shutdown-timeout", "--trust-proxy", "--busy-poll", "--log-level", "--help",
        "--version", "echo|said|chat",
    };
    char out[8192];
    (void)state;

    assert_int_equal(run_cli("--help", out, sizeof(out)), 0);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strstr(out, opts[i])) fail_msg("--help does not mention %s", opts[i]);
    /* Defaults are shown as the code has them. */
    assert_non_null(strstr(out, "(default 8080"));
    assert_non_null(strstr(out, "(default 16777216)"));
}

static void test_version(void **state) {
    char out[256];
    (void)state;
    assert_int_equal(run_cli("--version", out, sizeof(out)), 0);
    assert_true(strncmp(out, "ws6455 ", 7) == 0);
}

/* Each bad invocation exits 2 with a message naming the problem, before
 * it listens anywhere. */
static void test_bad_options_exit_2(void **state) {
    static const struct { const char *args, *says; } cases[] = {
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

/* The tutorial's server prints "Client connected", "Received: ..." and
 * "Client disconnected"; ours logs the same moments at info level, with
 * the peer's address, the size and a preview, and the close code. */
static void test_info_log_lines(void **state) {
    ts_server_opts o = { .log_level = "info" };
    wsc c;
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hello", 5));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "hello", 5));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, "\x01\x02", 2));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, "\x01\x02", 2));
    WSC_OK(&c, wsc_send_close(&c, 1000, ""));
    WSC_OK(&c, wsc_expect_close(&c, 1000));
    WSC_OK(&c, wsc_expect_eof(&c, 5000));
    wsc_close(&c);
    stop_clean();

    assert_true(ts_server_log_contains(&srv, "INFO  listening on 127.0.0.1:"));
    assert_true(ts_server_log_contains(&srv, "connected from 127.0.0.1:"));
    assert_true(ts_server_log_contains(&srv, "received text message #1, 5 bytes: \"hello\""));
    assert_true(ts_server_log_contains(&srv, "received binary message #2, 2 bytes: 0102"));
    assert_true(ts_server_log_contains(&srv, "disconnected (code 1000): 2 messages, "));
    assert_true(ts_server_log_contains(&srv, "disconnected (code 1000)"));
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
        cmocka_unit_test_teardown(test_warn_level_is_quiet, teardown),
        cmocka_unit_test_teardown(test_two_workers, teardown),
        cmocka_unit_test_teardown(test_busy_poll_spins_only_after_traffic, teardown),
    };
    return cmocka_run_group_tests_name("integration: command line and log", tests, NULL, NULL);
}

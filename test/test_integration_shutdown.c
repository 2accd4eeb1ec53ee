/*
 * test_integration_shutdown.c -- how the server ends: SIGTERM and SIGINT
 * close every connection with 1001 "going away" (RFC 6455 §7.4.1) and
 * exit 0 within --shutdown-timeout; a second SIGINT exits at once; and a
 * peer that resets the connection mid-write (SIGPIPE territory) never
 * takes the process down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "spawn.h"
#include "testutil.h"
#include "wsclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Assert the wait status st is a normal exit with code. */
static void assert_exit_code(int st, int code) {
    if (st == -1) fail_msg("server did not exit in time (log: %s)", srv.log_path);
    if (!WIFEXITED(st))
        fail_msg("server killed by signal %d (log: %s)", WTERMSIG(st), srv.log_path);
    if (WEXITSTATUS(st) != code)
        fail_msg("server exited %d, expected %d%s (log: %s)", WEXITSTATUS(st), code,
                 WEXITSTATUS(st) == 99 ? ", valgrind found errors" : "", srv.log_path);
}

/* Signal the server with n open connections that answer its close. */
static void graceful_stop(int sig, int n) {
    wsc c[3];

    start(TS_ARGS("--shutdown-timeout", "5"));
    for (int i = 0; i < n; i++) {
        WSC_OK(&c[i], wsc_open(&c[i], &srv));
        WSC_OK(&c[i], wsc_send_message(&c[i], WS_OP_TEXT, "hello", 5));
        WSC_OK(&c[i], wsc_expect_message(&c[i], WS_OP_TEXT, "hello", 5));
    }
    uint64_t t0 = ts_now_ms();
    ts_server_signal(&srv, sig);
    for (int i = 0; i < n; i++) {
        /* Each is told the server is going away, answers like a browser
         * would, and sees the server's FIN. */
        WSC_OK(&c[i], wsc_expect_close(&c[i], WS_CLOSE_GOING_AWAY));
        WSC_OK(&c[i], wsc_send_close(&c[i], WS_CLOSE_GOING_AWAY, NULL));
        WSC_OK(&c[i], wsc_expect_eof(&c[i], 0));
        wsc_close(&c[i]);
    }
    /* Every close answered: no reason to wait for --shutdown-timeout. */
    int st = ts_server_wait(&srv, 5000);
    uint64_t elapsed = ts_now_ms() - t0;
    assert_exit_code(st, 0);
    print_message("  exited %llu ms after the signal\n", (unsigned long long)elapsed);
    assert_true(elapsed < 1000u * ts_scale());
}

static void test_sigterm_closes_three_connections_with_1001_and_exits_0(void **state) {
    (void)state;
    graceful_stop(SIGTERM, 3);
}

static void test_sigint_closes_connections_with_1001_and_exits_0(void **state) {
    (void)state;
    graceful_stop(SIGINT, 2);
}

static void test_sigterm_without_connections_exits_0(void **state) {
    (void)state;
    graceful_stop(SIGTERM, 0);
}

/* Signal the server with one connection that never answers the close. */
static void stop_unanswered(int sig) {
    wsc c;

    start(TS_ARGS("--shutdown-timeout", "1"));
    WSC_OK(&c, wsc_open(&c, &srv));
    uint64_t t0 = ts_now_ms();
    ts_server_signal(&srv, sig);
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_GOING_AWAY));
    /* We never answer: the server waits --shutdown-timeout, then goes. */
    int st = ts_server_wait(&srv, 5000);
    uint64_t elapsed = ts_now_ms() - t0;
    assert_exit_code(st, 0);
    print_message("  exited %llu ms after the signal\n", (unsigned long long)elapsed);
    assert_true(elapsed >= 900 && elapsed <= 2000u * ts_scale());
    /* It closed the connection on its way out. */
    WSC_OK(&c, wsc_wait_closed(&c, 1000));
    wsc_close(&c);
}

static void test_sigterm_peer_not_answering_close_waits_shutdown_timeout(void **state) {
    (void)state;
    stop_unanswered(SIGTERM);
}

static void test_sigint_peer_not_answering_close_waits_shutdown_timeout(void **state) {
    (void)state;
    stop_unanswered(SIGINT);
}

static void test_second_sigint_exits_at_once(void **state) {
    (void)state;
    wsc c;

    start(TS_ARGS("--shutdown-timeout", "30"));
    WSC_OK(&c, wsc_open(&c, &srv));
    ts_server_signal(&srv, SIGINT);
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_GOING_AWAY));
    /* The server now waits up to 30 s for our answer. A second Ctrl-C
     * means "now". */
    assert_int_equal(ts_server_wait(&srv, 200), -1);
    uint64_t t0 = ts_now_ms();
    ts_server_signal(&srv, SIGINT);
    int st = ts_server_wait(&srv, 1000);
    uint64_t elapsed = ts_now_ms() - t0;
    /* 130 = 128 + SIGINT, the shell's convention (src/server.c). */
    assert_exit_code(st, 130);
    print_message("  exited %llu ms after the second SIGINT\n", (unsigned long long)elapsed);
    assert_true(elapsed < 500u * ts_scale());
    WSC_OK(&c, wsc_wait_closed(&c, 1000));
    wsc_close(&c);
}

static void test_peer_reset_during_16_mib_echo_never_kills_server(void **state) {
    (void)state;
    const size_t len = 16u << 20;
    uint8_t *msg = malloc(len), part[64 * 1024];
    assert_non_null(msg);
    tu_fill_random(msg, len, 99);

    /* spawn.c restores SIGPIPE's default action in the child: the server
     * survives only because it ignores it itself. */
    start(NULL);
    for (int round = 0; round < 4; round++) {
        wsc c;
        WSC_OK(&c, wsc_open(&c, &srv));
        c.duplex = 1; /* the echo streams back while we send */
        WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, msg, len));
        /* Read the start of the echo: the server has echoed up to 16 MiB,
         * --max-queue of it waiting in its queue, and has stopped reading
         * us. */
        WSC_OK(&c, wsc_recv_exact(&c, part, sizeof(part)));
        if (round % 2) {
            /* Our FIN first, unseen by the paused server (its socket is
             * in CLOSE_WAIT), then the reset: Linux reports that reset to
             * the next write() as EPIPE -- the error that raises SIGPIPE. */
            wsc_shutdown_write(&c);
            ts_sleep_ms(20);
        }
        /* Otherwise a plain reset: the next write() fails ECONNRESET. */
        wsc_reset(&c);
        ts_sleep_ms(100);
        if (ts_server_wait(&srv, 0) != -1)
            fail_msg("server died in round %d (status 0x%x, log %s)", round, srv.status,
                     srv.log_path);
    }
    /* And it still serves. */
    wsc c;
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, msg, 100000));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, msg, 100000));
    wsc_close(&c);
    free(msg);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sigterm_closes_three_connections_with_1001_and_exits_0,
                                  teardown),
        cmocka_unit_test_teardown(test_sigint_closes_connections_with_1001_and_exits_0, teardown),
        cmocka_unit_test_teardown(test_sigterm_without_connections_exits_0, teardown),
        cmocka_unit_test_teardown(test_sigterm_peer_not_answering_close_waits_shutdown_timeout,
                                  teardown),
        cmocka_unit_test_teardown(test_sigint_peer_not_answering_close_waits_shutdown_timeout,
                                  teardown),
        cmocka_unit_test_teardown(test_second_sigint_exits_at_once, teardown),
        cmocka_unit_test_teardown(test_peer_reset_during_16_mib_echo_never_kills_server, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_integration_process.c -- processes that never go astray: one
 * server per port, workers that end with their supervisor however it
 * ends, no lost signal, SIGHUP harmless, configuration errors found before
 * any fork (exit 2), a port in use a runtime failure (exit 1), and crashed
 * workers replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "spawn.h"
#include "wsclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* One echo through a fresh connection to s. */
static void echo_ok(const ts_server *s) {
    wsc c;
    WSC_OK(&c, wsc_open(&c, s));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "alive?", 6));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "alive?", 6));
    wsc_close(&c);
}

/* The worker pids of a supervisor (waits up to 2 s for n of them). */
static int workers_of(const ts_server *s, pid_t *out, int n) {
    int got = 0;
    for (int tries = 0; tries < 100 && got < n; tries++) {
        got = ts_children(s->pid, out, n);
        if (got < n) ts_sleep_ms(20);
    }
    return got;
}

/* ---------------------------------------------------------------------- */

/* A second server on a port ws6455 already serves -- with one worker or
 * several (SO_REUSEPORT, which would let it share the port silently) --
 * fails at start with a clear message and exit status 1. */
static void test_second_instance_refused(void **state) {
    char out[4096], port[16];
    (void)state;

    for (int first = 1; first <= 2; first++) {
        assert_int_equal(ts_server_start(&srv, first == 1 ? NULL : TS_ARGS("--workers", "2")), 0);
        snprintf(port, sizeof(port), "%u", srv.port);
        for (int second = 1; second <= 2; second++) {
            const char *w = second == 1 ? "1" : "2";
            int st = ts_run_server_cmd(TS_ARGS("--host", "127.0.0.1", "--port", port, "--workers",
                                               w, "--log-level", "warn"),
                                       5000, out, sizeof(out));
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 1);
            assert_non_null(strstr(out, "cannot listen"));
            assert_non_null(strstr(out, "another ws6455"));
        }
        echo_ok(&srv); /* the first one is untouched */
        stop_clean();
    }
}

/* Usage errors are found before anything starts: exit 2, a message, no
 * worker forked, no restart loop. */
static void test_bad_configuration_exits_2(void **state) {
    static const char *const cases[][3] = {
        { "--trust-proxy", "notanip", "bad --trust-proxy" },
        { "--trust-proxy", "10.0.0.1/8", "bits set after" },
        { "--host", "nonsense.invalid", "not a numeric" },
        { "--max-memory", "64K", "--max-memory" },
        { "--workers", "0", "workers" },
    };
    char out[4096];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t t0 = ts_now_ms();
        int st =
            ts_run_server_cmd(TS_ARGS("--port", "0", "--workers", "2", cases[i][0], cases[i][1]),
                              5000, out, sizeof(out));
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 2)
            fail_msg("%s %s: exit %d: %s", cases[i][0], cases[i][1], WEXITSTATUS(st), out);
        if (!strstr(out, cases[i][2]))
            fail_msg("%s %s: no \"%s\" in: %s", cases[i][0], cases[i][1], cases[i][2], out);
        /* No worker was started: nothing logged "started", and it was quick. */
        assert_null(strstr(out, "started"));
        assert_true(ts_now_ms() - t0 < 2000u * ts_scale());
    }
}

/* SIGKILL to the supervisor: its workers notice (PR_SET_PDEATHSIG) and
 * shut down gracefully within --shutdown-timeout, leaving no orphan. */
static void test_workers_end_with_a_killed_supervisor(void **state) {
    pid_t w[2];
    wsc c;
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--workers", "2", "--shutdown-timeout", "1")),
                     0);
    assert_int_equal(workers_of(&srv, w, 2), 2);
    WSC_OK(&c, wsc_open(&c, &srv)); /* a client the worker must say goodbye to */
    kill(srv.pid, SIGKILL);
    assert_true(ts_server_wait(&srv, 2000) != -1);
    /* Its open connection got the going-away close. */
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_GOING_AWAY));
    wsc_close(&c);
    for (int i = 0; i < 2; i++)
        if (!ts_pid_gone(w[i], 1000 + 1000 + 500))
            fail_msg("worker %d outlived its supervisor", w[i]);
}

/* SIGHUP is logged and ignored: the same workers go on serving. */
static void test_sighup_is_harmless(void **state) {
    ts_server_opts o = { .log_level = "info" };
    pid_t before[2], after[2];
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, TS_ARGS("--workers", "2")), 0);
    assert_int_equal(workers_of(&srv, before, 2), 2);
    ts_server_signal(&srv, SIGHUP);
    ts_sleep_ms(300);
    echo_ok(&srv);
    assert_int_equal(workers_of(&srv, after, 2), 2);
    assert_true((before[0] == after[0] && before[1] == after[1]) ||
                (before[0] == after[1] && before[1] == after[0]));
    stop_clean();
    assert_true(ts_server_log_contains(&srv, "SIGHUP ignored"));

    /* The single process of --workers 1 too. */
    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    ts_server_signal(&srv, SIGHUP);
    ts_sleep_ms(300);
    echo_ok(&srv);
    stop_clean();
    assert_true(ts_server_log_contains(&srv, "SIGHUP ignored"));
}

/* A worker that dies is replaced, and the new one serves. */
static void test_crashed_worker_is_replaced(void **state) {
    ts_server_opts o = { .log_level = "info" };
    pid_t w[2], now[2];
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, TS_ARGS("--workers", "2")), 0);
    assert_int_equal(workers_of(&srv, w, 2), 2);
    kill(w[0], SIGKILL);
    assert_true(ts_pid_gone(w[0], 2000));
    ts_sleep_ms(600); /* the first restart comes after 250 ms */
    assert_int_equal(workers_of(&srv, now, 2), 2);
    assert_true(now[0] != w[0] && now[1] != w[0]);
    for (int i = 0; i < 8; i++) echo_ok(&srv);
    stop_clean();
    assert_true(ts_server_log_contains(&srv, "killed by signal 9"));
}

/* A SIGTERM that arrives while the supervisor waits to restart a crashed
 * worker is not lost: everything stops, promptly and cleanly. */
static void test_sigterm_during_restart_wait(void **state) {
    pid_t w[2];
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--workers", "2", "--shutdown-timeout", "1")),
                     0);
    assert_int_equal(workers_of(&srv, w, 2), 2);
    kill(w[0], SIGKILL);
    assert_true(ts_pid_gone(w[0], 2000));
    ts_sleep_ms(30); /* the supervisor is now waiting 250 ms to restart it */
    uint64_t t0 = ts_now_ms();
    int st = ts_server_stop(&srv, SIGTERM, 5000);
    uint64_t elapsed = ts_now_ms() - t0;
    print_message("  stopped %llu ms after SIGTERM\n", (unsigned long long)elapsed);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(ts_pid_gone(w[1], 1000));
    /* Within --shutdown-timeout (1 s) and its grace second. */
    assert_true(elapsed < 2500u * ts_scale());
}

/* Signals in quick succession, at start-up: every one is acted on. A
 * SIGTERM right after start stops the server cleanly. */
static void test_sigterm_right_after_start(void **state) {
    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ts_server_start(&srv, TS_ARGS("--workers", "2")), 0);
        int st = ts_server_stop(&srv, SIGTERM, 7000);
        assert_true(st != -1 && WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

/* --port 0 with several workers: one free port, shared by all of them. */
static void test_port_zero_with_workers(void **state) {
    ts_server s;
    char line[512] = "";
    unsigned port = 0;
    (void)state;

    assert_int_equal(ts_server_spawn_raw(&s, 0,
                                         TS_ARGS("--host", "127.0.0.1", "--port", "0", "--workers",
                                                 "2", "--log-level", "info")),
                     0);
    for (int tries = 0; tries < 250 && !port; tries++) {
        FILE *f = fopen(s.log_path, "r");
        ts_sleep_ms(20);
        if (!f) continue;
        while (fgets(line, sizeof(line), f)) {
            char *p = strstr(line, "listening on 127.0.0.1:");
            if (p) port = (unsigned)atoi(p + strlen("listening on 127.0.0.1:"));
        }
        fclose(f);
    }
    assert_true(port > 0);
    s.port = port;
    for (int i = 0; i < 4; i++) echo_ok(&s);
    assert_int_equal(ts_server_stop_clean(&s), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_second_instance_refused, teardown),
        cmocka_unit_test_teardown(test_bad_configuration_exits_2, teardown),
        cmocka_unit_test_teardown(test_workers_end_with_a_killed_supervisor, teardown),
        cmocka_unit_test_teardown(test_sighup_is_harmless, teardown),
        cmocka_unit_test_teardown(test_crashed_worker_is_replaced, teardown),
        cmocka_unit_test_teardown(test_sigterm_during_restart_wait, teardown),
        cmocka_unit_test_teardown(test_sigterm_right_after_start, teardown),
        cmocka_unit_test_teardown(test_port_zero_with_workers, teardown),
    };
    return cmocka_run_group_tests_name("integration: processes", tests, NULL, NULL);
}

/*
 * itest.c -- the cmocka side of spawn.c, shared by test_integration_*.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"

#include <stdio.h>

ts_server srv;

int teardown(void **state) {
    (void)state;
    ts_server_kill_all();
    return 0;
}

void start(const char *const *args) { assert_int_equal(ts_server_start(&srv, args), 0); }

void stop_clean(void) { assert_int_equal(ts_server_stop_clean(&srv), 0); }

void witness_open(witness *w) {
    w->echoes = 0;
    if (wsc_open(&w->c, &srv) < 0) fail_msg("witness: %s", w->c.err);
}

void witness_echo(witness *w) {
    char msg[64];
    int n = snprintf(msg, sizeof(msg), "witness message %u", w->echoes);
    if (wsc_send_message(&w->c, WS_OP_TEXT, msg, (size_t)n) < 0 ||
        wsc_expect_message(&w->c, WS_OP_TEXT, msg, (size_t)n) < 0)
        fail_msg("witness echo %u failed during the attack: %s", w->echoes, w->c.err);
    w->echoes++;
}

void witness_close(witness *w) {
    witness_echo(w);
    WSC_OK(&w->c, wsc_send_close(&w->c, 1000, NULL));
    WSC_OK(&w->c, wsc_expect_close(&w->c, 1000));
    WSC_OK(&w->c, wsc_expect_eof(&w->c, 0));
    wsc_close(&w->c);
}

/*
 * itest.c -- the cmocka side of spawn.c, shared by test_integration_*.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"

ts_server srv;

int teardown(void **state) {
    (void)state;
    ts_server_kill_all();
    return 0;
}

void start(const char *const *args) {
    assert_int_equal(ts_server_start(&srv, args), 0);
}

void stop_clean(void) {
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

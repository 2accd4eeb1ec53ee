/*
 * itest.h -- what every integration test program shares: the server under
 * test, started and stopped with cmocka assertions, and a teardown that
 * kills whatever a failed test left running (a failed assertion leaves
 * the test before it could stop its server).
 */
#ifndef WS_TEST_ITEST_H
#define WS_TEST_ITEST_H

#include "spawn.h"

/* The server of the current test. */
extern ts_server srv;

/* cmocka teardown: SIGKILL and reap every server still running. */
int teardown(void **state);

/* Start build/ws6455 with args (NULL-terminated, or NULL); fail the test
 * if it does not come up. */
void start(const char *const *args);

/* SIGTERM the server and require a clean exit (status 0). */
void stop_clean(void);

#endif /* WS_TEST_ITEST_H */

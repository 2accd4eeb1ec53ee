/*
 * itest.h -- what every integration test program shares: the server under
 * test, started and stopped with cmocka assertions, and a teardown that
 * kills whatever a failed test left running (a failed assertion leaves
 * the test before it could stop its server).
 */
#ifndef WS_TEST_ITEST_H
#define WS_TEST_ITEST_H

#include "spawn.h"
#include "wsclient.h"

/* The server of the current test. */
extern ts_server srv;

/* cmocka teardown: SIGKILL and reap every server still running. */
int teardown(void **state);

/* Start build/ws6455 with args (NULL-terminated, or NULL); fail the test
 * if it does not come up. */
void start(const char *const *args);

/* SIGTERM the server and require a clean exit (status 0). */
void stop_clean(void);

/* The well-behaved client of the hostile tests: it must keep getting its
 * echoes while an attack runs. An attack may cost the attacker its
 * connection, never the witness its service. */
typedef struct witness {
    wsc c;
    unsigned echoes;
} witness;

/* Open the witness's connection to srv. */
void witness_open(witness *w);
/* One round trip; fails the test if the server does not serve it. */
void witness_echo(witness *w);
/* A last echo, then a clean closing handshake. */
void witness_close(witness *w);

#endif /* WS_TEST_ITEST_H */

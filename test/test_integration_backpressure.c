/*
 * test_integration_backpressure.c -- a small --max-queue must slow a
 * client down, never close it.
 *
 * Backpressure (src/output.c, src/websocket.c): once a connection has
 * --max-queue bytes of output queued, the rest of the read is parked and
 * the peer is no longer read until half the queue has drained. The bytes
 * "queued" include the replies still in the worker's write batch, so the
 * bound can be reached before the connection has any working state of its
 * own (conn_x): park() must then allocate it, not give up. It used to give
 * up, and a client that sent a few large messages in one write to a server
 * with --max-queue 64K was closed with 1013 "server memory full" by a
 * server with 256 MiB to spare (found by test/endings/run.py's
 * tcp-send-timeout scenario).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "rfc6455.h"
#include "spawn.h"
#include "testutil.h"
#include "wsclient.h"

#include <stdlib.h>
#include <string.h>

enum { MSGS = 4, MSG_LEN = 64 * 1024 };

/* Four 64 KiB messages in one write against --max-queue 64K: the second
 * reply fills the queue while it is still in the write batch. All four
 * come back, then a clean close. */
static void test_queue_full_in_the_batch_parks_input(void **state) {
    static uint8_t msg[MSGS][MSG_LEN];
    static uint8_t all[MSGS * (MSG_LEN + 14)];
    size_t n = 0;
    wsc c;
    (void)state;

    start(TS_ARGS("--max-queue", "64K"));
    for (int round = 0; round < 3; round++) {
        WSC_OK(&c, wsc_open(&c, &srv));
        n = 0;
        for (int i = 0; i < MSGS; i++) {
            uint8_t mask[4] = { 1, 2, 3, (uint8_t)i };
            memset(msg[i], 'a' + i + round, MSG_LEN);
            /* FIN + binary, masked, 64-bit length (RFC 6455 §5.2) */
            all[n++] = 0x82;
            all[n++] = 0x80 | 127;
            for (int b = 7; b >= 0; b--) all[n++] = (uint8_t)((uint64_t)MSG_LEN >> (8 * b));
            memcpy(all + n, mask, 4);
            n += 4;
            for (size_t k = 0; k < MSG_LEN; k++) all[n + k] = msg[i][k] ^ mask[k % 4];
            n += MSG_LEN;
        }
        WSC_OK(&c, wsc_send_raw(&c, all, n));  /* one write: one read, mostly */
        for (int i = 0; i < MSGS; i++) WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, msg[i],
                                                                     MSG_LEN));
        WSC_OK(&c, wsc_send_close(&c, WS_CLOSE_NORMAL, NULL));
        WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_NORMAL));
        WSC_OK(&c, wsc_expect_eof(&c, 0));
        wsc_close(&c);
    }
    assert_false(ts_server_log_contains(&srv, "closing with 1013"));
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_queue_full_in_the_batch_parks_input, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

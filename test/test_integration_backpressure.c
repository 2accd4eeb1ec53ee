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
 *
 * A response that is still going out is FLUSHING, and FLUSHING has a
 * deadline, --close-timeout. It used to count from the moment the response
 * was queued, so a file that took longer than 5 s to download was cut off
 * in the middle, with a FIN that looked like a clean end: a slow client
 * got a truncated file. The deadline now counts from the last write
 * progress: a peer that reads slowly gets all of it, one that stops
 * reading is dropped after --close-timeout (docs/timers.md).
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

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
        WSC_OK(&c, wsc_send_raw(&c, all, n)); /* one write: one read, mostly */
        for (int i = 0; i < MSGS; i++)
            WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, msg[i], MSG_LEN));
        WSC_OK(&c, wsc_send_close(&c, WS_CLOSE_NORMAL, NULL));
        WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_NORMAL));
        WSC_OK(&c, wsc_expect_eof(&c, 0));
        wsc_close(&c);
    }
    assert_false(ts_server_log_contains(&srv, "closing with 1013"));
    stop_clean();
}

/* A 4 MiB file, read at about 1 MiB/s through a small receive buffer, from
 * a server with --close-timeout 1: every byte arrives, then the FIN. */
static void test_slow_download_outlives_close_timeout(void **state) {
    enum { SIZE = 4 << 20 };
    static uint8_t block[64 * 1024];
    char dir[64], path[128], head[1024];
    size_t got = 0;
    int fd, rcvbuf = 32 * 1024;
    wsc c;
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/ws6455-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/big.bin", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    memset(block, 'f', sizeof(block));
    for (size_t done = 0; done < SIZE; done += sizeof(block))
        assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
    close(fd);

    start(TS_ARGS("--client-dir", dir, "--close-timeout", "1", "--log-level", "debug"));
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    static const char req[] = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    WSC_OK(&c, wsc_send_raw(&c, req, sizeof(req) - 1));
    assert_int_equal(wsc_read_http_head(&c, head, sizeof(head)), 200);
    uint64_t t0 = ts_now_ms();
    for (;;) {
        long n = wsc_recv_some(&c, block, 16 * 1024, 5000);
        if (n <= 0) break;
        got += (size_t)n;
        ts_sleep_ms(15); /* about 1 MiB/s: 4 s in all, 4 close-timeouts */
        if (ts_now_ms() - t0 > 30000) break;
    }
    print_message("  %zu of %d bytes in %.1f s\n", got, SIZE, (ts_now_ms() - t0) / 1000.0);
    assert_true(ts_now_ms() - t0 > 2000); /* it did take longer than --close-timeout */
    assert_int_equal(got, SIZE);
    wsc_close(&c);
    stop_clean();
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_queue_full_in_the_batch_parks_input, teardown),
        cmocka_unit_test_teardown(test_slow_download_outlives_close_timeout, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

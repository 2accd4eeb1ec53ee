/*
 * test_integration_abuse.c -- what hostile peers can cost the server, each
 * class against the real binary, each with a witness that keeps being
 * served:
 *
 *   declared lengths      a header that announces 16 MiB costs nothing
 *   unfinished messages   many peers holding them are shed by the budget,
 *                         the stalest first, with 1013
 *   no progress           a message kept open with pings alone ends with
 *                         1008 after --message-timeout
 *   non-readers           a peer that sends a large message and reads
 *                         nothing costs at most --max-queue plus buffers
 *   file non-readers      a static file is sent from the file, never held
 *   symlinks              nothing outside --client-dir, whatever links
 *   logs                  escaped, and not amplified by tiny messages
 *   X-Forwarded-For       believed only from a trusted proxy, and only an
 *                         address
 *   all at once           under --max-memory, and memory comes back
 *
 * Every bound asserted is derived from the options the server runs with,
 * and every test watches the server's memory as it goes and stops at a
 * ceiling (ceiling()), so a regression cannot exhaust the machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "itest.h"
#include "spawn.h"
#include "testutil.h"
#include "wsclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB      1024L
#define MIB      (1024L * 1024L)
#define READ_BUF (256 * KIB) /* the server's read buffer (server_internal.h) */

/* The server's memory must never pass limit_kb: a regression stops here,
 * the server killed, instead of eating the machine. (Under a sanitizer or
 * valgrind the allocator holds much more: their quarantine gets 512 MiB.) */
static void ceiling(long limit_kb) {
    long rss = ts_server_rss_kb(&srv);
    if (!ts_rss_meaningful()) limit_kb += 512 * 1024;
    if (rss > limit_kb) {
        ts_server_stop(&srv, SIGKILL, 1000);
        fail_msg("server RSS %ld KiB passed the test's ceiling of %ld KiB", rss, limit_kb);
    }
}

/* The server's own budget figures (exact in every build). */
static void budget_figures(size_t *total, size_t *peak, size_t *limit) {
    if (ts_server_budget(&srv, total, peak, limit) < 0)
        fail_msg("no stats line in %s after SIGUSR1", srv.log_path);
}

/* Open a WebSocket connection whose receive buffer is small (so the
 * kernel holds little of what the server sends it). */
static void open_small(wsc *c, int rcvbuf) {
    WSC_OK(c, wsc_connect(c, srv.host, srv.port));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    WSC_OK(c, wsc_handshake(c, "/"));
}

/* The same, where the budget may be full: returns 1 if the server took
 * the connection, 0 if it answered 503 (the RFC's answer to a new
 * connection it cannot hold), and fails the test on anything else. */
static int try_open_small(wsc *c, int rcvbuf) {
    WSC_OK(c, wsc_connect(c, srv.host, srv.port));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (wsc_handshake(c, "/") == 0) return 1;
    if (!strstr(c->err, "503")) fail_msg("handshake: %s", c->err);
    return 0;
}

/* Send what the socket takes without waiting; returns bytes sent. */
static size_t send_some(wsc *c, const uint8_t *p, size_t len) {
    size_t sent = 0;
    while (sent < len) {
        ssize_t w = send(c->fd, p + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w <= 0) break;
        sent += (size_t)w;
    }
    return sent;
}

/* ---------------------------------------------------------------------- */

/* 200 peers each send a 1-byte first fragment and a continuation whose
 * header declares 16 MiB, then a few bytes: 31 bytes each. Nothing is
 * reserved for what was only announced: virtual memory (VmSize) as well
 * as resident memory stay flat. */
static void test_declared_lengths_cost_nothing(void **state) {
    enum { PEERS = 200 };
    static wsc p[PEERS];
    witness w;
    uint8_t junk[10] = { 0 };
    (void)state;

    size_t total0, total1, peak, limit;
    start(TS_ARGS("--log-level", "info"));
    witness_open(&w);
    budget_figures(&total0, &peak, &limit);
    long rss0 = ts_server_rss_kb(&srv), vm0 = ts_pid_status_kb(srv.pid, "VmSize");
    for (int i = 0; i < PEERS; i++) {
        WSC_OK(&p[i], wsc_open(&p[i], &srv));
        WSC_OK(&p[i], wsc_send_frame(&p[i], WS_OP_BINARY, "x", 1)); /* FIN = 0 */
        WSC_OK(&p[i], wsc_send_frame_header(&p[i], WS_FIN | WS_OP_CONT, (16u << 20) - 1));
        WSC_OK(&p[i], wsc_send_payload(&p[i], junk, sizeof(junk)));
        if (i % 50 == 0) witness_echo(&w);
    }
    witness_echo(&w);
    long rss1 = ts_server_rss_kb(&srv), vm1 = ts_pid_status_kb(srv.pid, "VmSize");
    budget_figures(&total1, &peak, &limit);
    print_message("  200 peers announcing 16 MiB each: budget +%zu bytes, VmSize +%ld KiB, "
                  "VmRSS +%ld KiB\n",
                  total1 - total0, vm1 - vm0, rss1 - rss0);
    /* Per peer: a connection's working state and one 256-byte buffer, far
     * under 1 KiB; reserving the announced 16 MiB would be 3.2 GiB. */
    assert_true(total1 - total0 < PEERS * 1024);
    if (ts_rss_meaningful()) {
        assert_true(vm1 - vm0 < PEERS * 4 + 4 * 1024);
        assert_true(rss1 - rss0 < PEERS * 4 + 4 * 1024);
    }
    for (int i = 0; i < PEERS; i++) wsc_close(&p[i]);
    witness_close(&w);
    stop_clean();
}

/* A fragment of 60 KiB that never ends: the server assembles it (under
 * WS_PART_MIN) in a 64 KiB buffer. */
static void hold_unfinished(wsc *c, uint64_t seed) {
    static uint8_t part[60 * 1024];
    tu_fill_random(part, sizeof(part), seed);
    for (size_t i = 0; i < sizeof(part); i++) part[i] = (uint8_t)('a' + part[i] % 26);
    WSC_OK(c, wsc_open(c, &srv));
    WSC_OK(c, wsc_send_frame(c, WS_OP_TEXT, part, sizeof(part))); /* FIN = 0 */
}

/* 1 if the server has closed c with code (close frame, then EOF). */
static int closed_with(wsc *c, unsigned code) {
    struct pollfd pfd = { c->fd, POLLIN, 0 };
    if (c->in_off >= c->in_len && poll(&pfd, 1, 0) <= 0) return 0;
    return wsc_expect_close(c, code) == 0;
}

/* Twice as many unfinished messages as the budget holds: the peers that
 * hold the most and progressed the least -- the old, quiet ones -- are
 * shed with 1013; the newer ones and the witness are served; the budget's
 * peak never passes its limit. */
static void test_unfinished_messages_shed_stalest_first(void **state) {
    enum { OLD = 24, NEW = 24 };
    static wsc old[OLD], young[NEW];
    witness w;
    size_t total, peak, limit;
    int old_shed = 0, young_shed = 0;
    (void)state;

    /* 3 MiB: 512 KiB of fixed buffers, room for about 38 held messages
     * of 64 KiB: fewer than the 48 below. */
    start(TS_ARGS("--max-memory", "3M", "--message-timeout", "60", "--log-level", "info"));
    witness_open(&w);
    long rss0 = ts_server_rss_kb(&srv);
    for (int i = 0; i < OLD; i++) hold_unfinished(&old[i], (uint64_t)i);
    witness_echo(&w);
    ts_sleep_ms(2500); /* the old ones make no progress meanwhile */
    for (int i = 0; i < NEW; i++) {
        hold_unfinished(&young[i], 100 + (uint64_t)i);
        ceiling(rss0 + 3 * 1024 + 4 * 1024);
    }
    witness_echo(&w);
    ts_sleep_ms(200);
    for (int i = 0; i < OLD; i++) old_shed += closed_with(&old[i], WS_CLOSE_TRY_AGAIN_LATER);
    for (int i = 0; i < NEW; i++) young_shed += closed_with(&young[i], WS_CLOSE_TRY_AGAIN_LATER);
    budget_figures(&total, &peak, &limit);
    print_message("  shed: %d old, %d new; budget peak %zu of %zu\n", old_shed, young_shed, peak,
                  limit);
    assert_true(old_shed >= 8);      /* room had to be made */
    assert_int_equal(young_shed, 0); /* and it was taken from the stale */
    assert_true(peak <= limit);
    assert_int_equal(limit, 3u << 20);
    assert_true(ts_server_log_contains(&srv, "shed to free memory"));
    witness_echo(&w);
    /* A full budget does not lock newcomers out while stalled peers hold
     * it: a new connection may shed those (no progress for 2 s). */
    for (int i = 0; i < 8; i++) {
        witness nw;
        witness_open(&nw);
        witness_close(&nw);
    }
    for (int i = 0; i < OLD; i++) wsc_close(&old[i]);
    for (int i = 0; i < NEW; i++) wsc_close(&young[i]);
    witness_close(&w);
    stop_clean();
}

/* A message held open with pings alone is not progress: 1008 after
 * --message-timeout. Payload that trickles in is progress. */
static void test_message_timeout_ignores_pings(void **state) {
    wsc idle, slow;
    witness w;
    (void)state;

    start(TS_ARGS("--message-timeout", "1"));
    witness_open(&w);
    WSC_OK(&idle, wsc_open(&idle, &srv));
    WSC_OK(&slow, wsc_open(&slow, &srv));
    WSC_OK(&idle, wsc_send_frame(&idle, WS_OP_TEXT, "unfinished", 10)); /* FIN = 0 */
    WSC_OK(&slow, wsc_send_frame_header(&slow, WS_FIN | WS_OP_TEXT, 12));
    uint64_t t0 = ts_now_ms(), closed_at = 0;
    /* idle pings every 200 ms (the pongs come back) until the server gives
     * up on its message; slow sends a byte every 200 ms, for 2.4 s. */
    for (int i = 0; i < 12; i++) {
        ts_sleep_ms(200);
        if (i < 11) WSC_OK(&slow, wsc_send_payload(&slow, &"progressing!"[i], 1));
        if (!closed_at && wsc_send_frame(&idle, WS_FIN | WS_OP_PING, "p", 1) == 0) {
            struct pollfd pfd = { idle.fd, POLLIN, 0 };
            while (!closed_at && (idle.in_off < idle.in_len || poll(&pfd, 1, 50) > 0)) {
                wsc_frame f;
                WSC_OK(&idle, wsc_read_frame(&idle, &f));
                if (f.opcode == WS_OP_CLOSE) {
                    assert_true(f.len >= 2);
                    assert_int_equal(f.payload[0] << 8 | f.payload[1], WS_CLOSE_POLICY_VIOLATION);
                    closed_at = ts_now_ms();
                } else {
                    assert_int_equal(f.opcode, WS_OP_PONG);
                }
                wsc_frame_free(&f);
            }
        }
        witness_echo(&w);
    }
    WSC_OK(&slow, wsc_send_payload(&slow, "!", 1));
    WSC_OK(&slow, wsc_expect_message(&slow, WS_OP_TEXT, "progressing!", 12));
    assert_true(closed_at != 0);
    print_message("  closed 1008 %llu ms after its last data, pings or not\n",
                  (unsigned long long)(closed_at - t0));
    /* 1 s, checked every 250 ms by the sweep. */
    assert_true(closed_at - t0 >= 900 && closed_at - t0 <= 1800u * ts_scale());
    wsc_close(&idle);
    wsc_close(&slow);
    witness_close(&w);
    stop_clean();
}

/* A peer sends a 16 MiB message and reads nothing back: what the server
 * holds for it stays within --max-queue, plus the reply to the chunk in
 * hand and the input parked meanwhile (a read buffer each). Then
 * --send-timeout drops it and the memory comes back. */
static void test_non_reader_costs_at_most_its_queue(void **state) {
    const size_t len = 16u << 20;
    uint8_t *msg = malloc(len), hdr[WS_MAX_HEADER_LEN], mask[4] = { 1, 2, 3, 4 };
    wsc c;
    witness w;
    size_t sent = 0;
    (void)state;

    assert_non_null(msg);
    tu_fill_random(msg, len, 3);
    ws_frame_mask(msg, len, mask, 0);
    size_t total0, total, peak, limit;
    start(TS_ARGS("--max-queue", "1M", "--send-timeout", "3", "--log-level", "info"));
    witness_open(&w);
    budget_figures(&total0, &peak, &limit);
    long rss0 = ts_server_rss_kb(&srv), worst = 0;
    long bound = (1 * MIB + 2 * READ_BUF) / KIB + 1024; /* + allocator slack */
    open_small(&c, 4096);
    size_t hl = ws_frame_header_masked(hdr, 1, WS_OP_BINARY, len, mask);
    WSC_OK(&c, wsc_send_raw(&c, hdr, hl));
    uint64_t t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 1500) {
        sent += send_some(&c, msg + sent, len - sent);
        long rss = ts_server_rss_kb(&srv) - rss0;
        if (rss > worst) worst = rss;
        ceiling(rss0 + 64 * 1024);
        ts_sleep_ms(50);
    }
    witness_echo(&w);
    budget_figures(&total, &peak, &limit);
    print_message("  a non-reader got %zu bytes in; budget peak +%zu bytes, server RSS +%ld KiB "
                  "at worst (bound %ld KiB)\n",
                  sent, peak - total0, worst, bound);
    assert_true(sent > 4 * MIB); /* it did push far more than the queue */
    assert_true((long)((peak - total0) / KIB) <= bound);
    if (ts_rss_meaningful()) assert_true(worst <= bound);
    /* --send-timeout: dropped, and its memory returns. */
    assert_int_equal(wsc_wait_closed(&c, 8000), 0);
    ts_sleep_ms(1500);
    witness_echo(&w);
    budget_figures(&total, &peak, &limit);
    assert_true(total <= total0 + 4096);
    if (ts_rss_meaningful()) assert_true(ts_server_rss_kb(&srv) - rss0 < 512);
    wsc_close(&c);
    free(msg);
    witness_close(&w);
    stop_clean();
}

/* A temporary client directory for the file tests. */
static char tmpdir[256];

static void write_file(const char *name, size_t size) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static uint8_t block[64 * 1024];
    memset(block, 'z', sizeof(block));
    for (size_t done = 0; done < size; done += sizeof(block))
        assert_true(write(fd, block, size - done < sizeof(block) ? size - done : sizeof(block)) >
                    0);
    close(fd);
}

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ws6455-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* GET path; returns the status, the body length in *len. */
static int get(const char *path, size_t *len) {
    wsc h;
    char req[512], head[2048];
    uint8_t *body = NULL;
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
    WSC_OK(&h, wsc_connect(&h, srv.host, srv.port));
    WSC_OK(&h, wsc_send_raw(&h, req, strlen(req)));
    int status = wsc_read_http_head(&h, head, sizeof(head));
    if (status > 0) WSC_OK(&h, wsc_read_http_body(&h, head, &body, len));
    free(body);
    wsc_close(&h);
    return status;
}

/* 20 clients ask for an 8 MiB file and read nothing: the server holds an
 * open file and an offset for each, not the file (which would be 160 MiB). */
static void test_static_file_non_readers_cost_nothing(void **state) {
    enum { CLIENTS = 20 };
    static wsc h[CLIENTS];
    static const char req[] = "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
    size_t len;
    (void)state;

    make_tmpdir();
    write_file("index.html", 100);
    write_file("big.bin", 8u << 20);
    size_t total0, total, peak, limit;
    start(TS_ARGS("--client-dir", tmpdir, "--log-level", "info"));
    budget_figures(&total0, &peak, &limit);
    long rss0 = ts_server_rss_kb(&srv);
    for (int i = 0; i < CLIENTS; i++) {
        int small = 4096;
        WSC_OK(&h[i], wsc_connect(&h[i], srv.host, srv.port));
        setsockopt(h[i].fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        WSC_OK(&h[i], wsc_send_raw(&h[i], req, sizeof(req) - 1));
    }
    ts_sleep_ms(500);
    long grew = ts_server_rss_kb(&srv) - rss0;
    budget_figures(&total, &peak, &limit);
    print_message("  20 non-readers of an 8 MiB file: budget +%zu bytes, server RSS +%ld KiB\n",
                  total - total0, grew);
    /* An open file and an offset each (and the response head): well under
     * 2 KiB per client; holding the file would be 160 MiB. */
    assert_true(total - total0 < CLIENTS * 2048);
    if (ts_rss_meaningful()) assert_true(grew < 1024);
    assert_int_equal(get("/", &len), 200); /* others are served meanwhile */
    assert_int_equal(len, 100);
    /* One client that reads gets the whole file, from the file. */
    assert_int_equal(get("/big.bin", &len), 200);
    assert_int_equal(len, 8u << 20);
    for (int i = 0; i < CLIENTS; i++) wsc_close(&h[i]);
    stop_clean();
    remove_tmpdir();
}

/* Links inside --client-dir lead nowhere: not to a directory outside it,
 * not to a file outside it, not even inside it. Only regular files. */
static void test_symlinks_never_followed(void **state) {
    char path[512], target[512];
    size_t len;
    (void)state;

    make_tmpdir();
    write_file("index.html", 10);
    snprintf(path, sizeof(path), "%s/sub", tmpdir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file("sub/ok.txt", 7);
    snprintf(path, sizeof(path), "%s/etc", tmpdir);
    assert_int_equal(symlink("/etc", path), 0); /* a directory outside */
    snprintf(path, sizeof(path), "%s/passwd", tmpdir);
    assert_int_equal(symlink("/etc/passwd", path), 0); /* a file outside */
    snprintf(path, sizeof(path), "%s/sub2", tmpdir);
    snprintf(target, sizeof(target), "%s/sub", tmpdir);
    assert_int_equal(symlink(target, path), 0); /* a directory inside */
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(path, 0644), 0); /* not a regular file */

    start(TS_ARGS("--client-dir", tmpdir));
    assert_int_equal(get("/sub/ok.txt", &len), 200);
    assert_int_equal(len, 7);
    assert_int_equal(get("/etc/passwd", &len), 404);
    assert_int_equal(get("/etc/hostname", &len), 404);
    assert_int_equal(get("/passwd", &len), 404);
    assert_int_equal(get("/sub2/ok.txt", &len), 404);
    assert_int_equal(get("/fifo", &len), 404);
    assert_int_equal(get("/sub", &len), 404);
    stop_clean();
    remove_tmpdir();
}

/* Count the occurrences of byte b in the server's log. */
static long log_count_byte(int b) {
    FILE *f = fopen(srv.log_path, "r");
    long n = 0;
    int ch;
    if (!f) return -1;
    while ((ch = fgetc(f)) != EOF) n += ch == b;
    fclose(f);
    return n;
}

static long log_size(void) {
    struct stat st;
    return stat(srv.log_path, &st) == 0 ? (long)st.st_size : -1;
}

/* Control characters, C1 controls, bidi overrides and newlines a peer
 * sends are escaped in the log: no raw ESC, no forged line. */
static void test_log_escapes_peer_bytes(void **state) {
    ts_server_opts o = { .log_level = "info" };
    wsc c;
    (void)state;
    /* ESC [31m, a newline with a forged line after it, U+009B (C1 CSI),
     * U+202E (right-to-left override), U+2066 (isolate), a quote. */
    static const char evil[] = "A\x1b[31mRED\xc2\x9b"
                               "1m\xe2\x80\xae"
                               "txt\xe2\x81\xa6\""
                               "\n2026-01-01T00:00:00.000Z INFO  forged line";

    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, evil, sizeof(evil) - 1));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, evil, sizeof(evil) - 1));
    wsc_close(&c);
    stop_clean();
    assert_int_equal(log_count_byte(0x1b), 0);
    assert_int_equal(log_count_byte(0xc2), 0);
    assert_int_equal(log_count_byte(0xe2), 0);
    assert_true(ts_server_log_contains(&srv, "A\\x1b[31mRED\\u009b1m\\u202etxt\\u2066\\\"\\n2026"));
    assert_false(ts_server_log_contains(&srv, "\n2026-01-01T00:00:00.000Z INFO  forged"));
}

/* 50,000 one-byte messages at the default level write a few lines, not
 * 50,000: the first LOG_MSG_FIRST (5), then the 10th, 100th, 1,000th and
 * 10,000th, then the disconnect line with the totals. */
static void test_log_volume_not_amplified(void **state) {
    ts_server_opts o = { .log_level = "info" };
    enum { N = 50000, BATCH = 1000 };
    static uint8_t frames[BATCH * 7];
    wsc c;
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    WSC_OK(&c, wsc_open(&c, &srv));
    c.duplex = 1;
    for (int b = 0; b < N / BATCH; b++) {
        uint8_t mask[4] = { 9, 8, 7, 6 };
        size_t n = 0;
        for (int i = 0; i < BATCH; i++) {
            n += ws_frame_header_masked(frames + n, 1, WS_OP_TEXT, 1, mask);
            frames[n++] = 'x' ^ mask[0];
        }
        WSC_OK(&c, wsc_send_raw(&c, frames, n));
    }
    for (int i = 0; i < N; i++) WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "x", 1));
    WSC_OK(&c, wsc_send_close(&c, 1000, NULL));
    WSC_OK(&c, wsc_expect_close(&c, 1000));
    wsc_close(&c);
    stop_clean();
    long size = log_size();
    print_message("  50,000 one-byte messages: %ld bytes of log\n", size);
    assert_true(ts_server_log_contains(&srv, "received text message #10000, 1 byte"));
    assert_false(ts_server_log_contains(&srv, "received text message #11, 1 byte"));
    assert_true(ts_server_log_contains(&srv, "50000 messages"));
    /* About 15 lines of some 150 bytes; 50,000 lines would be 3.7 MiB. */
    assert_true(size < 8 * 1024);
}

/* Open a connection whose handshake carries X-Forwarded-For: xff. */
static void open_forwarded(const char *xff) {
    wsc c;
    char req[512], head[1024];
    snprintf(req, sizeof(req),
             "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
             "X-Forwarded-For: %s\r\n\r\n",
             xff);
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    WSC_OK(&c, wsc_send_raw(&c, req, strlen(req)));
    assert_int_equal(wsc_read_http_head(&c, head, sizeof(head)), 101);
    wsc_close(&c);
}

/* X-Forwarded-For is believed only from --trust-proxy peers (CIDR ranges
 * allowed), and only when it is an address. */
static void test_forwarded_for_only_trusted_and_an_address(void **state) {
    ts_server_opts o = { .log_level = "info" };
    (void)state;

    assert_int_equal(ts_server_start_opts(&srv, &o, TS_ARGS("--trust-proxy", "::1,127.0.0.0/8")),
                     0);
    open_forwarded("203.0.113.7, 10.0.0.1");
    open_forwarded("not-an-address");
    open_forwarded("[2001:db8::1]");
    ts_sleep_ms(200);
    stop_clean();
    assert_true(ts_server_log_contains(&srv, "connected from 203.0.113.7 (via proxy 127.0.0.1:"));
    assert_false(ts_server_log_contains(&srv, "connected from not-an-address"));
    assert_false(ts_server_log_contains(&srv, "connected from [2001"));

    /* A peer outside the trusted range: its header is not believed. */
    assert_int_equal(ts_server_start_opts(&srv, &o, TS_ARGS("--trust-proxy", "10.0.0.0/8")), 0);
    open_forwarded("203.0.113.8");
    ts_sleep_ms(200);
    stop_clean();
    assert_false(ts_server_log_contains(&srv, "203.0.113.8"));
    assert_true(ts_server_log_contains(&srv, "connected from 127.0.0.1:"));
}

/* Several hostile classes at once, under a small budget: the server's
 * memory stays under --max-memory plus its fixed start-up size, the
 * witness is served throughout, and the memory comes back after they
 * leave. */
static void test_everything_at_once_stays_under_the_budget(void **state) {
    enum { HOLD = 140, READERS = 10, HEADS = 50 };
    static wsc hold[HOLD], nonread[READERS], heads[HEADS], files[READERS];
    static const char file_req[] = "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
    const size_t len = 4u << 20;
    uint8_t *msg = malloc(len), hdr[WS_MAX_HEADER_LEN], mask[4] = { 5, 6, 7, 8 };
    witness w;
    size_t total, peak, limit;
    (void)state;

    assert_non_null(msg);
    tu_fill_random(msg, len, 11);
    ws_frame_mask(msg, len, mask, 0);
    make_tmpdir();
    write_file("index.html", 100);
    write_file("big.bin", 4u << 20);
    start(TS_ARGS("--max-memory", "8M", "--max-queue", "512K", "--client-dir", tmpdir,
                  "--log-level", "info"));
    witness_open(&w);
    long rss0 = ts_server_rss_kb(&srv);
    /* The bound: the budget, over what the server had at start (which
     * already holds its fixed buffers, also counted in the budget), plus
     * allocator slack. */
    long bound = rss0 + 8 * 1024 + 2 * 1024;
    for (int round = 0; round < 2; round++) {
        int refused = 0;
        for (int i = 0; i < READERS; i++) {
            if (!try_open_small(&nonread[i], 4096)) {
                refused++;
                continue;
            }
            size_t hl = ws_frame_header_masked(hdr, 1, WS_OP_BINARY, len, mask);
            WSC_OK(&nonread[i], wsc_send_raw(&nonread[i], hdr, hl));
            send_some(&nonread[i], msg, len);
            int small = 4096;
            WSC_OK(&files[i], wsc_connect(&files[i], srv.host, srv.port));
            setsockopt(files[i].fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
            WSC_OK(&files[i], wsc_send_raw(&files[i], file_req, sizeof(file_req) - 1));
            ceiling(bound + 16 * 1024);
        }
        for (int i = 0; i < HEADS; i++) {
            WSC_OK(&heads[i], wsc_connect(&heads[i], srv.host, srv.port));
            WSC_OK(&heads[i], wsc_send_raw(&heads[i], "GET / HTTP/1.1\r\nHost: x\r\nX-A: ", 30));
        }
        /* Last, more unfinished messages than the budget can hold: the
         * budget fills, the stalest are shed (1013), new connections may
         * get 503. */
        for (int i = 0; i < HOLD; i++) {
            if (!try_open_small(&hold[i], 65536)) {
                refused++;
                continue;
            }
            static uint8_t part[60 * 1024];
            memset(part, 'h', sizeof(part));
            wsc_send_frame(&hold[i], WS_OP_TEXT, part, sizeof(part)); /* may be shed meanwhile */
        }
        for (int k = 0; k < 10; k++) {
            witness_echo(&w);
            ceiling(bound + 16 * 1024);
            ts_sleep_ms(50);
        }
        long rss = ts_server_rss_kb(&srv);
        budget_figures(&total, &peak, &limit);
        print_message("  round %d: RSS +%ld KiB (bound +%ld); budget peak %zu of %zu; %d new "
                      "connections refused (503)\n",
                      round, rss - rss0, bound - rss0, peak, limit, refused);
        assert_true(peak <= limit);
        if (ts_rss_meaningful()) assert_true(rss <= bound);
        for (int i = 0; i < HOLD; i++) wsc_close(&hold[i]);
        for (int i = 0; i < READERS; i++) wsc_close(&nonread[i]), wsc_close(&files[i]);
        for (int i = 0; i < HEADS; i++) wsc_close(&heads[i]);
        ts_sleep_ms(1500); /* reaped, and idle buffers given back */
        witness_echo(&w);
        budget_figures(&total, &peak, &limit);
        /* Back to the fixed buffers, the witness and its connection. */
        print_message("  after they left: budget total %zu bytes, RSS +%ld KiB\n", total,
                      ts_server_rss_kb(&srv) - rss0);
        assert_true(total < (size_t)(READ_BUF * 2 + 512 * 1024));
        if (ts_rss_meaningful()) assert_true(ts_server_rss_kb(&srv) - rss0 < 2048);
    }
    free(msg);
    witness_close(&w);
    stop_clean();
    remove_tmpdir();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_declared_lengths_cost_nothing, teardown),
        cmocka_unit_test_teardown(test_unfinished_messages_shed_stalest_first, teardown),
        cmocka_unit_test_teardown(test_message_timeout_ignores_pings, teardown),
        cmocka_unit_test_teardown(test_non_reader_costs_at_most_its_queue, teardown),
        cmocka_unit_test_teardown(test_static_file_non_readers_cost_nothing, teardown),
        cmocka_unit_test_teardown(test_symlinks_never_followed, teardown),
        cmocka_unit_test_teardown(test_log_escapes_peer_bytes, teardown),
        cmocka_unit_test_teardown(test_log_volume_not_amplified, teardown),
        cmocka_unit_test_teardown(test_forwarded_for_only_trusted_and_an_address, teardown),
        cmocka_unit_test_teardown(test_everything_at_once_stays_under_the_budget, teardown),
    };
    return cmocka_run_group_tests_name("integration: abuse", tests, NULL, NULL);
}

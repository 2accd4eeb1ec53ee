/*
 * test_integration_hostile.c -- peers that try to exhaust the server:
 * slowloris handshakes, huge heads, idle and dead peers, peers that never
 * read, absurd frame lengths, fragment floods, connection and descriptor
 * exhaustion, and garbage next to honest traffic.
 *
 * Every test keeps a "witness": a second, well-behaved connection that
 * echoes a message between the steps of the attack. The attack must cost
 * the attacker its connection, never the witness its service.
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
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* 1 if bytes from the server are waiting (or arrive within ms). */
static int readable(wsc *c, unsigned ms) {
    if (c->in_off < c->in_len) return 1;
    struct pollfd pfd = { c->fd, POLLIN, 0 };
    return poll(&pfd, 1, (int)ms) > 0;
}

static const char valid_request[] = "GET /chat HTTP/1.1\r\n"
                                    "Host: localhost\r\n"
                                    "Upgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                    "\r\n";

/* ---------------------------------------------------------------------- */

static void test_slowloris_handshake_cut_after_handshake_timeout(void **state) {
    (void)state;
    witness w;
    wsc c;
    char head[1024];
    uint8_t *body;
    size_t len, sent = 0;

    start(TS_ARGS("--handshake-timeout", "1"));
    witness_open(&w);
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    uint64_t t0 = ts_now_ms();
    /* One byte every 200 ms: each arrives well within any per-read idle
     * timer, so only a deadline for the whole head stops it. */
    while (!readable(&c, 200)) {
        if (ts_now_ms() - t0 > 4000u * ts_scale()) fail_msg("no answer after 4 s");
        WSC_OK(&c, wsc_send_raw(&c, valid_request + sent, 1));
        sent++;
        witness_echo(&w);
    }
    uint64_t elapsed = ts_now_ms() - t0;
    assert_int_equal(wsc_read_http_head(&c, head, sizeof(head)), 408);
    WSC_OK(&c, wsc_read_http_body(&c, head, &body, &len));
    free(body);
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    print_message("  408 after %llu ms and %zu bytes\n", (unsigned long long)elapsed, sent);
    assert_true(elapsed >= 900 && elapsed <= 1700u * ts_scale());
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

/* Send a request head of about 1 MiB; expect 431 and the server's FIN. */
static void huge_head_431(void) {
    static char req[1 << 20];
    wsc c;
    char head[1024];
    uint8_t *body;
    size_t len;

    int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
    memset(req + n, 'x', sizeof(req) - (size_t)n - 4);
    memcpy(req + sizeof(req) - 4, "\r\n\r\n", 4);
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    /* The server answers at byte 8193 and then reads and discards the
     * rest, so the whole MiB can be sent. */
    WSC_OK(&c, wsc_send_raw(&c, req, sizeof(req)));
    assert_int_equal(wsc_read_http_head(&c, head, sizeof(head)), 431);
    WSC_OK(&c, wsc_read_http_body(&c, head, &body, &len));
    free(body);
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    wsc_close(&c);
}

static void test_1_mib_request_head_431_without_buffering_it(void **state) {
    (void)state;
    witness w;

    start(NULL);
    witness_open(&w);
    huge_head_431(); /* warm-up: touches the read buffer once */
    long rss0 = ts_server_rss_kb(&srv);
    for (int i = 0; i < 4; i++) {
        huge_head_431();
        witness_echo(&w);
    }
    long rss1 = ts_server_rss_kb(&srv);
    print_message("  RSS %ld KiB -> %ld KiB after 4 x 1 MiB heads\n", rss0, rss1);
    assert_true(rss0 > 0 && rss1 > 0);
    /* A server that buffered the head would grow by ~1 MiB per request. */
    assert_true(rss1 - rss0 < 512);
    witness_close(&w);
    stop_clean();
}

static void test_idle_peer_gets_ping_then_close_1001(void **state) {
    (void)state;
    witness w;
    wsc c;
    wsc_frame f;

    start(TS_ARGS("--ping-interval", "1", "--ping-timeout", "1", "--close-timeout", "1"));
    witness_open(&w);
    WSC_OK(&c, wsc_open(&c, &srv));
    uint64_t t0 = ts_now_ms();

    /* 1 s of silence: a ping (RFC 6455 §5.5.2, keep-alive). */
    while (!readable(&c, 200)) {
        if (ts_now_ms() - t0 > 3000u * ts_scale()) fail_msg("no ping after 3 s");
        witness_echo(&w);
    }
    uint64_t t_ping = ts_now_ms();
    WSC_OK(&c, wsc_read_frame(&c, &f));
    assert_int_equal(f.opcode, WS_OP_PING);
    wsc_frame_free(&f);

    /* No pong within --ping-timeout: close 1001 (going away). */
    while (!readable(&c, 200)) {
        if (ts_now_ms() - t_ping > 3000u * ts_scale()) fail_msg("no close after the ping");
        witness_echo(&w);
    }
    uint64_t t_close = ts_now_ms();
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_GOING_AWAY));

    /* We never answer the close either: after --close-timeout the server
     * gives up and closes TCP. */
    while (!readable(&c, 200)) {
        if (ts_now_ms() - t_close > 3000u * ts_scale()) fail_msg("still open after close");
        witness_echo(&w);
    }
    uint64_t t_eof = ts_now_ms();
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    print_message("  ping after %llu ms, close %llu ms later, EOF %llu ms later\n",
                  (unsigned long long)(t_ping - t0), (unsigned long long)(t_close - t_ping),
                  (unsigned long long)(t_eof - t_close));
    assert_true(t_ping - t0 >= 900 && t_ping - t0 <= 1700u * ts_scale());
    assert_true(t_close - t_ping >= 700 && t_close - t_ping <= 1700u * ts_scale());
    assert_true(t_eof - t_close >= 700 && t_eof - t_close <= 1700u * ts_scale());
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

static void test_peer_answering_pings_stays_open(void **state) {
    (void)state;
    witness w;
    wsc c;
    unsigned pings = 0;

    start(TS_ARGS("--ping-interval", "1", "--ping-timeout", "1"));
    witness_open(&w);
    WSC_OK(&c, wsc_open(&c, &srv));
    uint64_t t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 4500) {
        if (!readable(&c, 200)) {
            witness_echo(&w);
            continue;
        }
        wsc_frame f;
        WSC_OK(&c, wsc_read_frame(&c, &f));
        if (f.opcode != WS_OP_PING) fail_msg("expected only pings, got opcode %u", f.opcode);
        /* RFC 6455 §5.5.3: the pong echoes the ping's payload. */
        WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_PONG, f.payload, f.len));
        wsc_frame_free(&f);
        pings++;
    }
    print_message("  %u pings answered in 4.5 s\n", pings);
    assert_true(pings >= 2);
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "still here", 10));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "still here", 10));
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

static void test_peer_that_never_reads_is_bounded_then_dropped(void **state) {
    (void)state;
    witness w;
    wsc c;
    const size_t msg_len = 1u << 20;
    const uint64_t budget = 200ull << 20;
    const uint8_t mask[4] = { 1, 2, 3, 4 };
    ts_server_opts o = { .log_level = "info" };
    uint64_t sent = 0, last_progress;
    long rss_max = 0;
    int dropped = 0;

    assert_int_equal(
        ts_server_start_opts(&srv, &o, TS_ARGS("--max-queue", "1M", "--send-timeout", "2")), 0);
    witness_open(&w);
    WSC_OK(&c, wsc_open(&c, &srv));
    long rss0 = ts_server_rss_kb(&srv);

    /* One masked 1 MiB binary message, sent over and over; each is
     * echoed, and we read none of the echoes. */
    size_t frame_len = msg_len + WS_MAX_HEADER_LEN;
    uint8_t *frame = malloc(frame_len);
    assert_non_null(frame);
    size_t hl = ws_frame_header_masked(frame, 1, WS_OP_BINARY, msg_len, mask);
    tu_fill_random(frame + hl, msg_len, 42);
    ws_frame_mask(frame + hl, msg_len, mask, 0);
    frame_len = hl + msg_len;

    uint64_t t0 = ts_now_ms(), last_witness = 0;
    last_progress = t0;
    while (sent < budget && ts_now_ms() - t0 < 20000u * ts_scale()) {
        struct pollfd pfd = { c.fd, POLLOUT, 0 };
        if (poll(&pfd, 1, 100) > 0) {
            size_t off = (size_t)(sent % frame_len);
            ssize_t n = send(c.fd, frame + off, frame_len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                dropped = 1; /* EPIPE / ECONNRESET: the server let go */
                break;
            }
            if (n > 0) {
                sent += (uint64_t)n;
                last_progress = ts_now_ms();
            }
        }
        long rss = ts_server_rss_kb(&srv);
        if (rss > rss_max) rss_max = rss;
        if (ts_now_ms() - last_witness >= 250) {
            witness_echo(&w);
            last_witness = ts_now_ms();
        }
    }
    uint64_t stalled_ms = ts_now_ms() - last_progress;
    print_message("  sent %llu MiB; server RSS %ld KiB -> max %ld KiB; dropped %llu ms after "
                  "the last progress\n",
                  (unsigned long long)(sent >> 20), rss0, rss_max, (unsigned long long)stalled_ms);
    free(frame);
    assert_true(dropped);
    /* --max-queue 1M: the server stops reading this peer once 1 MiB is
     * queued, so what it holds stays near that, whatever we try to send. */
    assert_true(rss_max - rss0 < 64 * 1024);
    assert_true(sent < budget);
    /* --send-timeout 2: dropped ~2 s after its output stopped moving. */
    assert_true(stalled_ms >= 1000 && stalled_ms <= 4000u * ts_scale());
    assert_true(ts_server_log_contains(&srv, "not reading"));
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

static void test_frame_declaring_2_63_minus_1_bytes_1009(void **state) {
    (void)state;
    witness w;
    wsc c;

    start(NULL);
    witness_open(&w);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* A valid length (top bit clear, RFC 6455 §5.2) far over --max-message:
     * 1009 from the header, before a byte of payload. */
    WSC_OK(&c, wsc_send_frame_header(&c, WS_FIN | WS_OP_BINARY, 0x7fffffffffffffffull));
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_MESSAGE_TOO_BIG));
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    witness_echo(&w);
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

/* n frames of one byte each: a text message in n fragments. */
static uint8_t *one_byte_fragments(size_t n, size_t *len) {
    const uint8_t mask[4] = { 0x11, 0x22, 0x33, 0x44 };
    uint8_t *buf = malloc(n * 7), *p = buf;
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        int op = i == 0 ? WS_OP_TEXT : WS_OP_CONT;
        p += ws_frame_header_masked(p, i + 1 == n, op, 1, mask);
        *p = 'a';
        ws_frame_mask(p, 1, mask, 0);
        p++;
    }
    *len = (size_t)(p - buf);
    return buf;
}

static void test_100000_one_byte_fragments_1009(void **state) {
    (void)state;
    witness w;
    wsc c;
    size_t len;
    uint8_t want[1000];

    start(TS_ARGS("--max-fragments", "1000"));
    witness_open(&w);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* 1000 fragments is the limit, and allowed. */
    uint8_t *ok = one_byte_fragments(1000, &len);
    memset(want, 'a', sizeof(want));
    WSC_OK(&c, wsc_send_raw(&c, ok, len));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, want, sizeof(want)));
    free(ok);
    /* 100,000: the 1001st frame fails the connection. */
    uint8_t *flood = one_byte_fragments(100000, &len);
    WSC_OK(&c, wsc_send_raw(&c, flood, len));
    free(flood);
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_MESSAGE_TOO_BIG));
    WSC_OK(&c, wsc_expect_eof(&c, 0));
    witness_echo(&w);
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

/* The kernel's TCP state of our socket (TCP_ESTABLISHED, TCP_CLOSE, ...). */
static int tcp_state(const wsc *c) {
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return -1;
    return ti.tcpi_state;
}

static void test_peer_that_never_sends_fin_is_closed_after_close_timeout(void **state) {
    (void)state;
    witness w;
    wsc c;

    start(TS_ARGS("--close-timeout", "1"));
    witness_open(&w);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_close(&c, 1000, NULL));
    WSC_OK(&c, wsc_expect_close(&c, 1000));
    WSC_OK(&c, wsc_expect_eof(&c, 0)); /* the server's FIN; we send none */
    uint64_t t_fin = ts_now_ms();

    /* The server still holds its socket, reading until our FIN: a byte
     * sent now is read and discarded, and our socket stays half-closed
     * (CLOSE_WAIT: we got its FIN, it has not reset us). */
    ts_sleep_ms(300);
    WSC_OK(&c, wsc_send_raw(&c, "x", 1));
    ts_sleep_ms(100);
    assert_int_equal(tcp_state(&c), TCP_CLOSE_WAIT);
    witness_echo(&w);

    /* After --close-timeout it has closed the socket: its kernel answers
     * a byte for a closed socket with a reset, which closes ours. */
    while (ts_now_ms() - t_fin < 1000 + 750u * ts_scale()) {
        witness_echo(&w);
        ts_sleep_ms(100);
    }
    WSC_OK(&c, wsc_send_raw(&c, "y", 1));
    ts_sleep_ms(100);
    assert_int_equal(tcp_state(&c), TCP_CLOSE);
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

/* FLUSHING has a deadline of its own, --close-timeout from the moment the
 * last byte was queued, whatever --send-timeout says: a peer that asks
 * for a large file and never reads it is dropped even with the send
 * timeout off (docs/limits.md: "a timeout for every state"). */
static void test_flushing_peer_that_never_reads_is_dropped_with_send_timeout_off(void **state) {
    (void)state;
    char dir[] = "/tmp/ws6455-flush-XXXXXX", path[64], req[128];
    static uint8_t block[1 << 16];
    witness w;
    wsc c;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/big.bin", dir);
    assert_non_null(f = fopen(path, "wb"));
    for (int i = 0; i < 256; i++)
        assert_int_equal(fwrite(block, 1, sizeof(block), f), sizeof(block));
    assert_int_equal(fclose(f), 0);
    start(TS_ARGS("--client-dir", dir, "--send-timeout", "0", "--close-timeout", "1"));
    witness_open(&w);
    WSC_OK(&c, wsc_connect(&c, srv.host, srv.port));
    snprintf(req, sizeof(req), "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    WSC_OK(&c, wsc_send_raw(&c, req, strlen(req)));
    uint64_t t0 = ts_now_ms();
    /* 16 MiB queued for us, unread: the server is FLUSHING, and a byte
     * from us reaches a socket it still holds. */
    ts_sleep_ms(300);
    WSC_OK(&c, wsc_send_raw(&c, "x", 1));
    ts_sleep_ms(100);
    assert_int_equal(tcp_state(&c), TCP_ESTABLISHED);
    witness_echo(&w);
    /* After --close-timeout it has closed its socket with our "x" unread,
     * which resets the connection; a byte sent now fails, or draws the
     * reset if it has not arrived yet. Either way ours is closed. */
    while (ts_now_ms() - t0 < 1000 + 750u * ts_scale()) {
        witness_echo(&w);
        ts_sleep_ms(100);
    }
    (void)wsc_send_raw(&c, "y", 1);
    ts_sleep_ms(100);
    assert_int_equal(tcp_state(&c), TCP_CLOSE);
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_connection_over_max_connections_gets_503(void **state) {
    (void)state;
    wsc cs[5], extra;
    char head[1024], v[64];
    uint8_t *body;
    size_t len;

    start(TS_ARGS("--max-connections", "5"));
    for (int i = 0; i < 5; i++) WSC_OK(&cs[i], wsc_open(&cs[i], &srv));
    /* The sixth is refused before its handshake is even read. */
    WSC_OK(&extra, wsc_connect(&extra, srv.host, srv.port));
    WSC_OK(&extra, wsc_send_raw(&extra, valid_request, strlen(valid_request)));
    assert_int_equal(wsc_read_http_head(&extra, head, sizeof(head)), 503);
    assert_int_equal(wsc_http_header(head, "Retry-After", v, sizeof(v)), 0);
    WSC_OK(&extra, wsc_read_http_body(&extra, head, &body, &len));
    free(body);
    WSC_OK(&extra, wsc_expect_eof(&extra, 0));
    wsc_close(&extra);
    /* The five are served as before. */
    for (int i = 0; i < 5; i++) {
        WSC_OK(&cs[i], wsc_send_message(&cs[i], WS_OP_TEXT, "five", 4));
        WSC_OK(&cs[i], wsc_expect_message(&cs[i], WS_OP_TEXT, "five", 4));
    }
    /* One leaves properly; then a new one fits. */
    WSC_OK(&cs[0], wsc_send_close(&cs[0], 1000, NULL));
    WSC_OK(&cs[0], wsc_expect_close(&cs[0], 1000));
    WSC_OK(&cs[0], wsc_expect_eof(&cs[0], 0));
    wsc_close(&cs[0]);
    ts_sleep_ms(100);
    WSC_OK(&cs[0], wsc_open(&cs[0], &srv));
    WSC_OK(&cs[0], wsc_send_message(&cs[0], WS_OP_TEXT, "back", 4));
    WSC_OK(&cs[0], wsc_expect_message(&cs[0], WS_OP_TEXT, "back", 4));
    for (int i = 0; i < 5; i++) wsc_close(&cs[i]);
    stop_clean();
}

#define FLOOD 100

static void test_out_of_descriptors_server_stays_responsive_and_idle(void **state) {
    (void)state;
    static wsc flood[FLOOD];
    ts_server_opts o = { .nofile = 64 };
    witness w;

    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    witness_open(&w);
    /* 100 connections against a limit of 64 descriptors: the accept()s
     * past the limit fail with EMFILE while connections wait in the
     * backlog -- a level-triggered listener would spin. */
    for (int i = 0; i < FLOOD; i++) WSC_OK(&flood[i], wsc_connect(&flood[i], srv.host, srv.port));
    ts_sleep_ms(200);
    witness_echo(&w);
    /* Proof the limit was hit: the server could not keep them all, and
     * shed the ones it had no descriptor for (accepted and closed). */
    int shed = 0;
    for (int i = 0; i < FLOOD; i++) {
        char b;
        if (readable(&flood[i], 0) && recv(flood[i].fd, &b, 1, MSG_DONTWAIT) <= 0) shed++;
    }
    print_message("  %d of %d connections shed by a server limited to 64 fds\n", shed, FLOOD);
    assert_true(shed > 0);

    double cpu0 = ts_server_cpu_seconds(&srv);
    uint64_t t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 2000) {
        witness_echo(&w);
        ts_sleep_ms(100);
    }
    double cpu1 = ts_server_cpu_seconds(&srv);
    print_message("  server CPU in 2 s with %d pending connections: %.2f s\n", FLOOD, cpu1 - cpu0);
    assert_true(cpu0 >= 0 && cpu1 >= 0);
    assert_true(cpu1 - cpu0 < 0.5);

    /* Descriptors back: new connections work again. */
    for (int i = 0; i < FLOOD; i++) wsc_close(&flood[i]);
    ts_sleep_ms(300);
    wsc c;
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "fds again", 9));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "fds again", 9));
    wsc_close(&c);
    witness_close(&w);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* Garbage on some connections, honest messages on others, interleaved.   */

#define NGOOD      4
#define GOOD_LEN   (100 * 1000)
#define GOOD_FRAGS 10

static const struct hostile {
    const char *name;
    uint8_t bytes[16]; /* sent raw after a started message */
    size_t len;
    unsigned code;
} hostiles[] = {
    { "unmasked frame", { WS_FIN | WS_OP_CONT, 2, 'h', 'i' }, 4, WS_CLOSE_PROTOCOL_ERROR },
    { "text as ASCII", { 'G', 'E', 'T', ' ', '/', ' ' }, 6, WS_CLOSE_PROTOCOL_ERROR },
    { "reserved opcode", { WS_FIN | 0x3, WS_MASK_BIT, 0, 0, 0, 0 }, 6, WS_CLOSE_PROTOCOL_ERROR },
    { "new text message",
      { WS_FIN | WS_OP_TEXT, WS_MASK_BIT, 0, 0, 0, 0 },
      6,
      WS_CLOSE_PROTOCOL_ERROR },
    { "invalid UTF-8",
      { WS_OP_CONT, WS_MASK_BIT | 2, 0, 0, 0, 0, 0xc3, 0x28 },
      8,
      WS_CLOSE_INVALID_PAYLOAD },
    { "2^62 bytes",
      { WS_OP_CONT, WS_MASK_BIT | WS_LEN64, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
      14,
      WS_CLOSE_MESSAGE_TOO_BIG },
    { "close code 1005",
      { WS_FIN | WS_OP_CLOSE, WS_MASK_BIT | 2, 0, 0, 0, 0, 0x03, 0xed },
      8,
      WS_CLOSE_PROTOCOL_ERROR },
};
#define NBAD (sizeof(hostiles) / sizeof(hostiles[0]))

static void test_bad_input_never_corrupts_other_connections(void **state) {
    (void)state;
    wsc good[NGOOD], bad[NBAD];
    uint8_t *msg[NGOOD];

    start(NULL);
    for (int g = 0; g < NGOOD; g++) {
        WSC_OK(&good[g], wsc_open(&good[g], &srv));
        msg[g] = malloc(GOOD_LEN);
        assert_non_null(msg[g]);
        tu_fill_random(msg[g], GOOD_LEN, (uint64_t)g);
    }
    for (size_t b = 0; b < NBAD; b++) {
        WSC_OK(&bad[b], wsc_open(&bad[b], &srv));
        /* A text message in progress, so the attack lands mid-message. */
        WSC_OK(&bad[b], wsc_send_frame(&bad[b], WS_OP_TEXT, "started ", 8));
    }
    /* Round-robin: each good client sends its next fragment in two
     * writes (cut mid-frame); the bad ones strike half-way through. */
    size_t frag = GOOD_LEN / GOOD_FRAGS;
    for (int i = 0; i < GOOD_FRAGS; i++) {
        for (int g = 0; g < NGOOD; g++) {
            unsigned b0 = (i == 0 ? WS_OP_BINARY : WS_OP_CONT) | (i + 1 == GOOD_FRAGS ? WS_FIN : 0);
            WSC_OK(&good[g], wsc_send_frame_header(&good[g], b0, frag));
            WSC_OK(&good[g], wsc_send_payload(&good[g], msg[g] + (size_t)i * frag, frag / 3));
        }
        if (i == GOOD_FRAGS / 2)
            for (size_t b = 0; b < NBAD; b++)
                WSC_OK(&bad[b], wsc_send_raw(&bad[b], hostiles[b].bytes, hostiles[b].len));
        for (int g = 0; g < NGOOD; g++)
            WSC_OK(&good[g], wsc_send_payload(&good[g], msg[g] + (size_t)i * frag + frag / 3,
                                              frag - frag / 3));
    }
    for (size_t b = 0; b < NBAD; b++) {
        if (wsc_expect_close(&bad[b], hostiles[b].code) < 0 || wsc_expect_eof(&bad[b], 0) < 0)
            fail_msg("%s: %s", hostiles[b].name, bad[b].err);
        wsc_close(&bad[b]);
    }
    for (int g = 0; g < NGOOD; g++) {
        if (wsc_expect_message(&good[g], WS_OP_BINARY, msg[g], GOOD_LEN) < 0)
            fail_msg("good client %d: %s", g, good[g].err);
        WSC_OK(&good[g], wsc_send_message(&good[g], WS_OP_TEXT, "after", 5));
        WSC_OK(&good[g], wsc_expect_message(&good[g], WS_OP_TEXT, "after", 5));
        wsc_close(&good[g]);
        free(msg[g]);
    }
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_slowloris_handshake_cut_after_handshake_timeout, teardown),
        cmocka_unit_test_teardown(test_1_mib_request_head_431_without_buffering_it, teardown),
        cmocka_unit_test_teardown(test_idle_peer_gets_ping_then_close_1001, teardown),
        cmocka_unit_test_teardown(test_peer_answering_pings_stays_open, teardown),
        cmocka_unit_test_teardown(test_peer_that_never_reads_is_bounded_then_dropped, teardown),
        cmocka_unit_test_teardown(test_frame_declaring_2_63_minus_1_bytes_1009, teardown),
        cmocka_unit_test_teardown(test_100000_one_byte_fragments_1009, teardown),
        cmocka_unit_test_teardown(test_peer_that_never_sends_fin_is_closed_after_close_timeout,
                                  teardown),
        cmocka_unit_test_teardown(
            test_flushing_peer_that_never_reads_is_dropped_with_send_timeout_off, teardown),
        cmocka_unit_test_teardown(test_connection_over_max_connections_gets_503, teardown),
        cmocka_unit_test_teardown(test_out_of_descriptors_server_stays_responsive_and_idle,
                                  teardown),
        cmocka_unit_test_teardown(test_bad_input_never_corrupts_other_connections, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

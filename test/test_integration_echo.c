/*
 * test_integration_echo.c -- messages through a real server: every length
 * encoding (RFC 6455 §5.2: 7-bit up to 125, 16-bit up to 65535, 64-bit
 * beyond), fragmentation with interleaved pings (§5.4, §5.5.2), the
 * tutorial's "said" handler, many connections at once, and IPv6.
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

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* len bytes of printable ASCII (valid UTF-8) or of anything, by seed. */
static uint8_t *make_payload(size_t len, int text, uint64_t seed) {
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    tu_fill_random(p, len, seed);
    if (text)
        for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(' ' + p[i] % 95);
    return p;
}

/* Send one message and check the echo: same opcode, same bytes. */
static void echo_once(wsc *c, int opcode, size_t len, uint64_t seed) {
    uint8_t *p = make_payload(len, opcode == WS_OP_TEXT, seed);
    if (wsc_send_message(c, opcode, p, len) < 0 || wsc_expect_message(c, opcode, p, len) < 0)
        fail_msg("%s message of %zu bytes: %s", opcode == WS_OP_TEXT ? "text" : "binary", len,
                 c->err);
    free(p);
}

/* ---------------------------------------------------------------------- */

static void test_every_length_encoding_echoed_byte_for_byte(void **state) {
    (void)state;
    /* 0; 125 = largest 7-bit; 126 = smallest 16-bit; 65535 = largest
     * 16-bit; 65536 = smallest 64-bit; and a few in between. */
    static const size_t sizes[] = {
        0, 1, 2, 124, 125, 126, 127, 1000, 65535, 65536, 65537, 300000
    };
    wsc c;

    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        echo_once(&c, WS_OP_TEXT, sizes[i], i);
        echo_once(&c, WS_OP_BINARY, sizes[i], 100 + i);
    }
    /* Arbitrary binary bytes, including the ones a C string would stop at. */
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, "\x00\xff\x00\x80", 4));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, "\x00\xff\x00\x80", 4));
    /* Multi-byte UTF-8 comes back as text, untouched. */
    static const char utf8[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, utf8, strlen(utf8)));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, utf8, strlen(utf8)));
    wsc_close(&c);
    stop_clean();
}

static void test_16_mib_message_echoed_as_one_message(void **state) {
    (void)state;
    wsc c;

    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* A client that reads while it writes (as every real one does): the
     * server holds at most --max-queue of echo for it, so a client that
     * wrote all 16 MiB before reading anything would wait on itself. */
    c.duplex = 1;
    /* Exactly the default --max-message: the largest message accepted. */
    echo_once(&c, WS_OP_BINARY, 16u << 20, 7);
    echo_once(&c, WS_OP_TEXT, 16u << 20, 8);
    wsc_close(&c);
    stop_clean();
}

/* Read the frames of one echoed message into echo[0..cap); returns the
 * number of frames. Every frame must be a data frame of the message
 * (opcode, then continuations); *fin tells whether the last one ended it.
 * Stops at the final frame, or before a close frame (left unread). */
static size_t read_echo_frames(wsc *c, int opcode, uint8_t *echo, size_t cap, size_t *got,
                               int *fin) {
    size_t frames = 0;
    *got = 0;
    *fin = 0;
    while (!*fin) {
        int op = wsc_peek_opcode(c);
        if (op < 0) fail_msg("reading the echo: %s", c->err);
        if (op == WS_OP_CLOSE) break; /* for the caller */
        wsc_frame f;
        WSC_OK(c, wsc_read_frame(c, &f));
        if (f.opcode != (frames == 0 ? (unsigned)opcode : WS_OP_CONT) || f.len > cap - *got)
            fail_msg("frame %zu of the echo: opcode %u, %zu bytes", frames, f.opcode, f.len);
        if (f.len) memcpy(echo + *got, f.payload, f.len);
        *got += f.len;
        *fin = f.fin;
        frames++;
        wsc_frame_free(&f);
    }
    return frames;
}

/* A message larger than WS_PART_MIN is echoed part by part as it arrives
 * (echo's on_part): the reply starts before the message is complete, in
 * fragments (RFC 6455 §5.4) that add up to the message. */
static void test_large_message_echoed_in_parts_as_it_arrives(void **state) {
    (void)state;
    wsc c;
    const size_t len = 1u << 20, half = len / 2;
    uint8_t *p = make_payload(len, 0, 21), *echo = malloc(len);
    size_t got, more;
    int fin;

    assert_non_null(echo);
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* Half the payload, then wait: the first fragments of the echo come
     * back while the message is still unfinished. */
    WSC_OK(&c, wsc_send_frame_header(&c, WS_FIN | WS_OP_BINARY, len));
    WSC_OK(&c, wsc_send_payload(&c, p, half));
    wsc_frame f;
    WSC_OK(&c, wsc_read_frame(&c, &f));
    if (f.opcode != WS_OP_BINARY || f.fin || f.len == 0 || f.len > half ||
        memcmp(f.payload, p, f.len) != 0)
        fail_msg("first part: opcode %u fin %d, %zu bytes", f.opcode, f.fin, f.len);
    got = f.len;
    wsc_frame_free(&f);
    memcpy(echo, p, got);
    WSC_OK(&c, wsc_send_payload(&c, p + half, len - half));
    /* The rest: continuation frames up to the one with FIN. */
    size_t frames = 1 + read_echo_frames(&c, WS_OP_CONT, echo + got, len - got, &more, &fin);
    assert_true(fin);
    assert_int_equal(got + more, len);
    assert_memory_equal(echo, p, len);
    /* At most one read buffer (256 KiB) per part, so at least 4 parts. */
    assert_true(frames >= 4);
    /* The connection goes on as usual: a small message comes back whole. */
    echo_once(&c, WS_OP_TEXT, 100, 22);
    free(p);
    free(echo);
    wsc_close(&c);
    stop_clean();
}

/* A message assembled up to just under WS_PART_MIN (a 1-byte first
 * fragment, then 62,000 bytes), then a 5,000-byte last fragment that takes
 * it past WS_PART_MIN in the read that also ends it: the message still goes
 * in parts, as assembling it would hold WS_PART_MIN plus a read buffer.
 * The echo is then the assembled bytes in a frame of their own and the
 * last fragment in another, and the log says "in parts". */
static void test_small_fragments_then_a_last_one_past_part_min_go_in_parts(void **state) {
    (void)state;
    wsc c;
    const size_t len = 1 + 62000 + 5000;
    uint8_t *p = make_payload(len, 0, 24), *echo = malloc(len);
    size_t got;
    int fin;

    assert_non_null(echo);
    ts_server_opts o = { .log_level = "info" };
    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_BINARY, p, 1));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_CONT, p + 1, 62000));
    /* A ping answered proves both fragments were read and assembled. */
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_PING, "p", 1));
    wsc_frame f;
    WSC_OK(&c, wsc_read_frame(&c, &f));
    assert_int_equal(f.opcode, WS_OP_PONG);
    wsc_frame_free(&f);
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, p + 62001, 5000));
    size_t frames = read_echo_frames(&c, WS_OP_BINARY, echo, len, &got, &fin);
    assert_true(fin);
    assert_int_equal(got, len);
    assert_memory_equal(echo, p, len);
    assert_true(frames >= 2);
    assert_true(ts_server_log_contains(&srv, "received binary message #1, 67001 bytes in parts"));
    echo_once(&c, WS_OP_TEXT, 100, 25);
    free(p);
    free(echo);
    wsc_close(&c);
    stop_clean();
}

/* Bad UTF-8 at the end of a large text message: the parts before it may
 * already be echoed, but the echo never finishes; the close frame (1007)
 * comes between fragments, as RFC 6455 §5.4 allows a control frame to. */
static void test_bad_utf8_late_in_a_message_passed_on_in_parts(void **state) {
    (void)state;
    wsc c;
    const size_t len = 1u << 20;
    uint8_t *p = make_payload(len, 1, 23), *echo = malloc(len);
    size_t got;
    int fin;

    assert_non_null(echo);
    p[len - 1] = 0xff; /* never valid in UTF-8 */
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, p, len));
    read_echo_frames(&c, WS_OP_TEXT, echo, len, &got, &fin);
    assert_false(fin);
    assert_true(got < len);
    assert_memory_equal(echo, p, got);
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_INVALID_PAYLOAD));
    free(p);
    free(echo);
    wsc_close(&c);
    stop_clean();
}

static void test_said_handler_replies_like_the_tutorial(void **state) {
    (void)state;
    wsc c;
    static const char want[] = "Server: You said \"hi\"";

    start(TS_ARGS("--handler", "said"));
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hi", 2));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, want, strlen(want)));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "", 0));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "Server: You said \"\"", 19));
    /* A large message streams through said as through echo (on_part):
     * the reply is one message in several fragments, the quote its first
     * and last, and the server never holds the whole of it. */
    const size_t len = 300000;
    uint8_t *p = make_payload(len, 1, 24), *reply;
    size_t got;
    int op;
    c.duplex = 1;
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, p, len));
    WSC_OK(&c, wsc_read_message(&c, &op, &reply, &got));
    assert_int_equal(op, WS_OP_TEXT);
    assert_int_equal(got, 18 + len + 1);
    assert_memory_equal(reply, "Server: You said \"", 18);
    assert_memory_equal(reply + 18, p, len);
    assert_int_equal(reply[got - 1], '"');
    free(reply);
    free(p);
    wsc_close(&c);
    stop_clean();
}

/* Send payload as nfrag fragments, a ping with its own payload after each
 * fragment but the last; expect the pongs in order, then the echo. */
static void fragmented_with_pings(wsc *c, int opcode, const uint8_t *payload, size_t len,
                                  size_t nfrag) {
    char ping[32];
    size_t off = 0;

    for (size_t i = 0; i < nfrag; i++) {
        size_t n = (len - off) / (nfrag - i); /* spread evenly */
        unsigned b0 = (i == 0 ? (unsigned)opcode : WS_OP_CONT) | (i + 1 == nfrag ? WS_FIN : 0);
        WSC_OK(c, wsc_send_frame(c, b0, payload + off, n));
        off += n;
        if (i + 1 < nfrag) {
            int pl = snprintf(ping, sizeof(ping), "ping %zu", i);
            WSC_OK(c, wsc_send_frame(c, WS_FIN | WS_OP_PING, ping, (size_t)pl));
        }
    }
    assert_int_equal(off, len);
    /* RFC 6455 §5.5.3: a pong carries the ping's payload, and each ping
     * is answered when it arrives. The echo comes whole after the pongs
     * when the server assembles the message, or in fragments between
     * them when it passes a large message on in parts (§5.4 lets control
     * frames come between fragments). Either way: pongs in order, and the
     * fragments add up to the message. */
    uint8_t *echo = malloc(len + 1);
    size_t pongs = 0, got = 0;
    int first = 1, done = 0;
    assert_non_null(echo);
    while (!done || pongs + 1 < nfrag) {
        wsc_frame f;
        WSC_OK(c, wsc_read_frame(c, &f));
        if (f.opcode == WS_OP_PONG) {
            int pl = snprintf(ping, sizeof(ping), "ping %zu", pongs);
            if (!f.fin || f.len != (size_t)pl || memcmp(f.payload, ping, (size_t)pl) != 0)
                fail_msg("expected pong \"%s\", got \"%s\"", ping, (char *)f.payload);
            pongs++;
        } else {
            if (done || f.opcode != (first ? (unsigned)opcode : WS_OP_CONT) || f.len > len - got)
                fail_msg("unexpected frame: opcode %u, %zu bytes, after %zu of %zu", f.opcode,
                         f.len, got, len);
            if (f.len) memcpy(echo + got, f.payload, f.len);
            got += f.len;
            first = 0;
            done = f.fin;
        }
        wsc_frame_free(&f);
    }
    assert_int_equal(got, len);
    assert_memory_equal(echo, payload, len);
    free(echo);
}

static void test_fragmented_messages_with_pings_interleaved(void **state) {
    (void)state;
    wsc c;

    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    uint8_t *text = make_payload(3000, 1, 1);
    fragmented_with_pings(&c, WS_OP_TEXT, text, 3000, 3);
    fragmented_with_pings(&c, WS_OP_TEXT, text, 3000, 100);
    uint8_t *bin = make_payload(200000, 0, 2);
    fragmented_with_pings(&c, WS_OP_BINARY, bin, 200000, 3);
    fragmented_with_pings(&c, WS_OP_BINARY, bin, 200000, 100);
    /* A 4-byte UTF-8 character cut across fragments is still valid. */
    static const char smile[] = "\xf0\x9f\x98\x80";
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, smile, 1));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_CONT, smile + 1, 2));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, smile + 2 + 1, 1));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, smile, 4));
    /* Empty fragments are fragments too. */
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_BINARY, "", 0));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_CONT, "ab", 2));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, "", 0));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, "ab", 2));
    free(text);
    free(bin);
    wsc_close(&c);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* 1,000 connections at once.                                              */

#define NCONN  1000
#define ROUNDS 3

static void test_1000_concurrent_connections_each_get_their_own_echo(void **state) {
    (void)state;
    static wsc cs[NCONN];
    static uint8_t msg[NCONN][512];
    static size_t msg_len[NCONN];
    uint64_t t0 = ts_now_ms();

    assert_true(ts_raise_nofile(NCONN + 100) >= NCONN + 100);
    start(NULL);
    /* All open at once... */
    for (int i = 0; i < NCONN; i++) {
        if (wsc_open(&cs[i], &srv) < 0) fail_msg("connection %d: %s", i, cs[i].err);
    }
    for (int r = 0; r < ROUNDS; r++) {
        /* ...every one sends before any reads, so 1,000 messages are in
         * the server at the same time... */
        for (int i = 0; i < NCONN; i++) {
            msg_len[i] = 32 + (size_t)(i * 7 + r * 31) % (sizeof(msg[i]) - 32);
            int n = snprintf((char *)msg[i], sizeof(msg[i]), "conn %d round %d:", i, r);
            memset(msg[i] + n, 'a' + (i + r) % 26, msg_len[i] - (size_t)n);
            WSC_OK(&cs[i], wsc_send_message(&cs[i], WS_OP_TEXT, msg[i], msg_len[i]));
        }
        /* ...and each must get back exactly its own. */
        for (int i = 0; i < NCONN; i++) {
            if (wsc_expect_message(&cs[i], WS_OP_TEXT, msg[i], msg_len[i]) < 0)
                fail_msg("connection %d round %d: %s", i, r, cs[i].err);
        }
    }
    for (int i = 0; i < NCONN; i++) wsc_close(&cs[i]);
    uint64_t elapsed = ts_now_ms() - t0;
    print_message("  1000 connections x %d rounds: %llu ms\n", ROUNDS, (unsigned long long)elapsed);
    assert_true(elapsed < 20000u * ts_scale());
    stop_clean();
}

static void test_ipv6_loopback(void **state) {
    (void)state;
    ts_server_opts o = { .host = "::1" };
    wsc c;

    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
    WSC_OK(&c, wsc_open(&c, &srv));
    echo_once(&c, WS_OP_TEXT, 100, 1);
    echo_once(&c, WS_OP_BINARY, 70000, 2);
    wsc_close(&c);
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_every_length_encoding_echoed_byte_for_byte, teardown),
        cmocka_unit_test_teardown(test_16_mib_message_echoed_as_one_message, teardown),
        cmocka_unit_test_teardown(test_large_message_echoed_in_parts_as_it_arrives, teardown),
        cmocka_unit_test_teardown(test_small_fragments_then_a_last_one_past_part_min_go_in_parts,
                                  teardown),
        cmocka_unit_test_teardown(test_bad_utf8_late_in_a_message_passed_on_in_parts, teardown),
        cmocka_unit_test_teardown(test_said_handler_replies_like_the_tutorial, teardown),
        cmocka_unit_test_teardown(test_fragmented_messages_with_pings_interleaved, teardown),
        cmocka_unit_test_teardown(test_1000_concurrent_connections_each_get_their_own_echo,
                                  teardown),
        cmocka_unit_test_teardown(test_ipv6_loopback, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

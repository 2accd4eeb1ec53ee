/*
 * test_integration_deflate.c -- permessage-deflate (RFC 7692) through the
 * real server, with zlib playing the client (test/support/wsclient.c):
 *
 *   negotiation   what each offer gets back, in each mode; declined offers
 *                 leave the extension off (and RSV1 then is a 1002)
 *   the wire      compressed echoes of every size both ways, small ones
 *                 plain; the server's frames inflate with exactly the
 *                 window it agreed to; messages in parts stay compressed
 *   failures      corrupt data 1007, a bomb 1009 at the limit, RSV1 on a
 *                 continuation 1002
 *   memory        in the shared mode an idle connection holds no
 *                 compression state; in the dedicated mode it holds its
 *                 own, counted; a chat broadcast is compressed once
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "deflate.h"
#include "inflate.h"
#include "itest.h"
#include "spawn.h"
#include "testutil.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT(v) "Sec-WebSocket-Extensions: " v "\r\n"

/* Open a connection offering ext (NULL: nothing); the response's
 * Sec-WebSocket-Extensions value (or "") into got. */
static void open_offering(wsc *c, const char *ext, char *got, size_t cap) {
    char head[4096];
    WSC_OK(c, wsc_connect(c, srv.host, srv.port));
    WSC_OK(c, wsc_handshake_ext(c, "/", ext, head, sizeof(head)));
    if (wsc_http_header(head, "Sec-WebSocket-Extensions", got, cap) < 0) got[0] = '\0';
}

static void expect_response(const char *offer, const char *want) {
    wsc c;
    char got[256];
    open_offering(&c, offer, got, sizeof(got));
    if (strcmp(got, want) != 0) fail_msg("offer \"%s\": got \"%s\", want \"%s\"", offer, got, want);
    wsc_close(&c);
}

/* ---------------------------------------------------------------------- */

static void test_negotiation_shared_mode(void **state) {
    (void)state;
    start(NULL); /* the default: --deflate shared */
    static const char both[] = "permessage-deflate; server_no_context_takeover; "
                               "client_no_context_takeover";
    /* Firefox, Chromium and Node's ws, Python's websockets. */
    expect_response(EXT("permessage-deflate"), both);
    expect_response(EXT("permessage-deflate; client_max_window_bits"), both);
    /* A client that names its own window is held to it (our decompressor
     * then needs only 2^12 bytes). */
    expect_response(EXT("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
                    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                    "server_max_window_bits=12; client_max_window_bits=12");
    /* The first acceptable of several offers, across two headers. */
    expect_response(EXT("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=7")
                        EXT("permessage-deflate; server_max_window_bits=9"),
                    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                    "server_max_window_bits=9");
    /* Declined: unknown parameter, a repeat, a bad value, another name. */
    expect_response(EXT("permessage-deflate; foo"), "");
    expect_response(EXT("permessage-deflate; client_no_context_takeover; "
                        "client_no_context_takeover"),
                    "");
    expect_response(EXT("permessage-deflate; server_max_window_bits=16"), "");
    expect_response(EXT("deflate-frame"), "");
    expect_response(NULL, "");
    stop_clean();
}

static void test_negotiation_dedicated_and_off(void **state) {
    (void)state;
    start(TS_ARGS("--deflate", "dedicated", "--deflate-window", "12"));
    /* Context is kept unless the client asks; our window is smaller than
     * 15, so we say so; the client's can only be limited if it offered. */
    expect_response(EXT("permessage-deflate"), "permessage-deflate; server_max_window_bits=12");
    expect_response(EXT("permessage-deflate; client_max_window_bits"),
                    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12");
    expect_response(EXT("permessage-deflate; server_no_context_takeover"),
                    "permessage-deflate; server_no_context_takeover; server_max_window_bits=12");
    stop_clean();
    start(TS_ARGS("--deflate", "off"));
    expect_response(EXT("permessage-deflate"), "");
    stop_clean();
}

/* Echo n bytes (text if text) compressed, and check the reply: the same
 * bytes, compressed when at least the threshold. */
static void echo_compressed(wsc *c, size_t n, int text, uint64_t seed) {
    uint8_t *msg = malloc(n + 1), *got;
    size_t len;
    int op;
    assert_non_null(msg);
    tu_fill_random(msg, n, seed);
    if (text)
        for (size_t i = 0; i < n; i++) msg[i] = (uint8_t)("abcdefgh ,."[msg[i] % 11]);
    WSC_OK(c, wsc_send_compressed(c, text ? WS_OP_TEXT : WS_OP_BINARY, msg, n));
    WSC_OK(c, wsc_read_message(c, &op, &got, &len));
    assert_int_equal(op, text ? WS_OP_TEXT : WS_OP_BINARY);
    assert_int_equal(len, n);
    if (n) assert_memory_equal(got, msg, n);
    /* Default --deflate-threshold is 64: shorter ones come back plain. */
    if (n < 64) assert_false(c->last_compressed);
    if (n >= 64 && text) {
        assert_true(c->last_compressed);
        assert_true(c->last_wire_len < n);
    }
    free(got);
    free(msg);
}

static void test_compressed_echo(void **state) {
    static const size_t sizes[] = { 0, 1, 63, 64, 200, 5000, 65535, 70000, 300000, 1u << 20 };
    static const char *const modes[] = { "shared", "dedicated" };
    static const char *const offers[] = {
        EXT("permessage-deflate; client_max_window_bits"),
        EXT("permessage-deflate; server_max_window_bits=9"),
        EXT("permessage-deflate; server_max_window_bits=8"),
    };
    (void)state;
    for (int m = 0; m < 2; m++) {
        start(TS_ARGS("--deflate", modes[m]));
        for (size_t o = 0; o < sizeof(offers) / sizeof(offers[0]); o++) {
            wsc c;
            char got[256];
            open_offering(&c, offers[o], got, sizeof(got));
            assert_true(c.pmd);
            c.duplex = 1;
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                echo_compressed(&c, sizes[i], 1, i);
                echo_compressed(&c, sizes[i], 0, 100 + i);
                /* A plain message between compressed ones. */
                WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "plain", 5));
                WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "plain", 5));
            }
            WSC_OK(&c, wsc_send_close(&c, 1000, NULL));
            WSC_OK(&c, wsc_expect_close(&c, 1000));
            wsc_close(&c);
        }
        stop_clean();
    }
}

/* A large compressed message sent in fragments (the client cuts its
 * compressed stream anywhere) comes back as one compressed message. */
static void test_compressed_message_in_fragments(void **state) {
    wsc c;
    char got[256];
    const size_t n = 2u << 20;
    uint8_t *msg = malloc(n), *z, *echo;
    size_t zl, len;
    int op;
    (void)state;

    assert_non_null(msg);
    for (size_t i = 0; i < n; i++) msg[i] = (uint8_t)('a' + (i * 7 + i / 1000) % 26);
    start(NULL);
    open_offering(&c, EXT("permessage-deflate"), got, sizeof(got));
    c.duplex = 1;
    WSC_OK(&c, wsc_compress(&c, msg, n, &z, &zl));
    size_t cuts[] = { 0, 1, 3, zl / 2, zl - 1, zl };
    for (int i = 0; i < 5; i++) {
        unsigned b0 = (i == 0 ? (WS_RSV1 | WS_OP_TEXT) : WS_OP_CONT) | (i == 4 ? WS_FIN : 0);
        WSC_OK(&c, wsc_send_frame(&c, b0, z + cuts[i], cuts[i + 1] - cuts[i]));
    }
    WSC_OK(&c, wsc_read_message(&c, &op, &echo, &len));
    assert_int_equal(len, n);
    assert_memory_equal(echo, msg, n);
    assert_true(c.last_compressed);
    print_message("  2 MiB of text: %zu bytes compressed by the client, %zu by the server\n", zl,
                  c.last_wire_len);
    free(echo);
    free(z);
    free(msg);
    wsc_close(&c);
    stop_clean();
}

/* The close code of the server's answer to one bad frame. */
static unsigned close_after(const char *offer, unsigned b0, const void *payload, size_t len,
                            const char *const *args) {
    wsc c;
    char got[256];
    wsc_frame f;
    start(args);
    open_offering(&c, offer, got, sizeof(got));
    WSC_OK(&c, wsc_send_frame(&c, b0, payload, len));
    WSC_OK(&c, wsc_read_frame(&c, &f));
    assert_int_equal(f.opcode, WS_OP_CLOSE);
    assert_true(f.len >= 2);
    unsigned code = (unsigned)(f.payload[0] << 8 | f.payload[1]);
    wsc_frame_free(&f);
    WSC_OK(&c, wsc_wait_closed(&c, 3000));
    wsc_close(&c);
    stop_clean();
    return code;
}

/* Read frames until the close; data frames (an echo streamed in parts)
 * are skipped. Returns the close code. */
static unsigned close_code_skipping_data(wsc *c) {
    for (;;) {
        wsc_frame f;
        WSC_OK(c, wsc_read_frame(c, &f));
        int op = f.opcode;
        unsigned code = f.len >= 2 ? (unsigned)(f.payload[0] << 8 | f.payload[1]) : 0;
        wsc_frame_free(&f);
        if (op == WS_OP_CLOSE) return code;
        assert_true(op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CONT);
    }
}

static void test_failures(void **state) {
    (void)state;
    /* Corrupt compressed data: reserved block type. */
    assert_int_equal(close_after(EXT("permessage-deflate"), WS_FIN | WS_RSV1 | WS_OP_BINARY,
                                 "\xff\xff", 2, NULL),
                     WS_CLOSE_INVALID_PAYLOAD);
    /* Not at a block boundary after the tail. */
    assert_int_equal(close_after(EXT("permessage-deflate"), WS_FIN | WS_RSV1 | WS_OP_TEXT,
                                 "\xf2\x48\xcd\xc9\xc9\x07", 6, NULL),
                     WS_CLOSE_INVALID_PAYLOAD);
    /* RSV1 without the extension. */
    assert_int_equal(
        close_after(NULL, WS_FIN | WS_RSV1 | WS_OP_TEXT, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7, NULL),
        WS_CLOSE_PROTOCOL_ERROR);
    /* RSV1 on a ping. */
    assert_int_equal(
        close_after(EXT("permessage-deflate"), WS_FIN | WS_RSV1 | WS_OP_PING, "", 0, NULL),
        WS_CLOSE_PROTOCOL_ERROR);

    /* A bomb: 64 MiB of zeros in some 64 KiB, against --max-message 1M. */
    wsc c;
    char got[256];
    const size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n), *z;
    size_t zl;
    start(TS_ARGS("--max-message", "1M", "--log-level", "info"));
    open_offering(&c, EXT("permessage-deflate"), got, sizeof(got));
    WSC_OK(&c, wsc_compress(&c, zeros, n, &z, &zl));
    free(zeros);
    long rss0 = ts_server_rss_kb(&srv);
    size_t total0, peak0, limit;
    assert_int_equal(ts_server_budget(&srv, &total0, &peak0, &limit), 0);
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_RSV1 | WS_OP_BINARY, z, zl));
    /* The echo streams the first megabyte back in parts (unfinished
     * fragments), then comes the close. */
    assert_int_equal(close_code_skipping_data(&c), WS_CLOSE_MESSAGE_TOO_BIG);
    size_t total, peak;
    assert_int_equal(ts_server_budget(&srv, &total, &peak, &limit), 0);
    print_message("  a %zu-byte bomb of 64 MiB: 1009; budget %zu bytes before, peak %zu, "
                  "RSS +%ld KiB\n",
                  zl, total0, peak, ts_server_rss_kb(&srv) - rss0);
    /* What the bomb may cost: the worker's compression state, made on
     * first use (two 64 KiB buffers, a decompressor and a compressor for
     * 32 KiB windows), and what --max-message lets a message hold. Not a
     * byte of the 64 MiB beyond that. */
    size_t zip = 2 * (64 * 1024 + 16) + ws_inflate_size(15) + ws_deflate_size(15, 1) + 2 * 16;
    assert_true(peak <= total0 + zip + (1u << 20));
    free(z);
    wsc_close(&c);
    stop_clean();
    /* A continuation with RSV1. */
    start(NULL);
    open_offering(&c, EXT("permessage-deflate"), got, sizeof(got));
    WSC_OK(&c, wsc_send_frame(&c, WS_RSV1 | WS_OP_TEXT, "\xf2\x48", 2));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_RSV1 | WS_OP_CONT, "\xcd\xc9\xc9\x07\x00", 5));
    WSC_OK(&c, wsc_expect_close(&c, WS_CLOSE_PROTOCOL_ERROR));
    wsc_close(&c);
    stop_clean();
}

/* Garbage from one connection must not hurt the next: in the shared mode
 * the worker's decompressor is lent to every connection, so after a
 * message fails (1007) it must serve the next one as if new. Each bad
 * message is followed by good ones from a witness that stays connected,
 * small (the shared decompressor) and large (a message spanning reads: a
 * copy of it). In the dedicated mode the same, with an offer that takes
 * the shared decompressor there too (client_no_context_takeover). */
static void test_bad_data_then_good(void **state) {
    static const char *const modes[] = { "shared", "dedicated" };
    const size_t big = 300000;
    uint8_t *text = malloc(big), *z;
    size_t zl;
    char got[256];
    wsc w, c;
    (void)state;

    assert_non_null(text);
    for (size_t i = 0; i < big; i++) text[i] = (uint8_t)("abc defg"[(i * 7 + i / 91) % 8]);
    for (int m = 0; m < 2; m++) {
        start(TS_ARGS("--deflate", modes[m]));
        open_offering(&w, EXT("permessage-deflate; client_no_context_takeover"), got, sizeof(got));
        for (int bad = 0; bad < 3; bad++) {
            open_offering(&c, EXT("permessage-deflate; client_no_context_takeover"), got,
                          sizeof(got));
            if (bad == 0) { /* a reserved block type at once */
                WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_RSV1 | WS_OP_BINARY, "\x07\x00", 2));
            } else {
                /* 300 KB of good data, then a block of reserved type
                 * (bad 1), or only the first half of the stream: the
                 * message ends inside a block (bad 2). Both span reads. */
                WSC_OK(&c, wsc_compress(&c, text, big, &z, &zl));
                z = realloc(z, zl + 1);
                assert_non_null(z);
                z[zl] = 0xff;
                c.duplex = 1;
                WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_RSV1 | WS_OP_TEXT, z,
                                          bad == 1 ? zl + 1 : zl / 2));
                free(z);
            }
            /* The echo may have streamed back what inflated well. */
            assert_int_equal(close_code_skipping_data(&c), WS_CLOSE_INVALID_PAYLOAD);
            wsc_close(&c);
            echo_compressed(&w, 100, 1, (uint64_t)bad);
            echo_compressed(&w, big, 1, 10 + (uint64_t)bad);
        }
        wsc_close(&w);
        stop_clean();
    }
    free(text);
}

/* In the shared mode, connections that sent and received compressed
 * messages and then went quiet hold no compression state at all: only the
 * worker's shared ones (a fixed amount, whatever the number of
 * connections). In the dedicated mode each holds its own, counted. */
static void test_memory_modes(void **state) {
    enum { N = 20 };
    static wsc c[N];
    char got[256];
    size_t total, zip_shared, zip_dedicated;
    (void)state;

    for (int mode = 0; mode < 2; mode++) {
        start(TS_ARGS("--deflate", mode ? "dedicated" : "shared", "--log-level", "info"));
        for (int i = 0; i < N; i++) {
            open_offering(&c[i], EXT("permessage-deflate"), got, sizeof(got));
            echo_compressed(&c[i], 3000, 1, (uint64_t)i);
        }
        ts_sleep_ms(1500); /* idle: working state given back */
        assert_int_equal(ts_server_budget_zip(&srv, &total, mode ? &zip_dedicated : &zip_shared),
                         0);
        for (int i = 0; i < N; i++) echo_compressed(&c[i], 3000, 1, 50 + (uint64_t)i);
        for (int i = 0; i < N; i++) wsc_close(&c[i]);
        stop_clean();
    }
    size_t per_conn = ws_inflate_size(15) + ws_deflate_size(15, 1) + 2 * 16;
    print_message("  %d idle compressed connections hold: shared mode %zu bytes, dedicated %zu "
                  "(%zu each)\n",
                  N, zip_shared, zip_dedicated, per_conn);
    /* Shared: the worker's two buffers and one decompressor and one
     * compressor, not one per connection. */
    assert_true(zip_shared <= 2 * (64 * 1024 + 16) + per_conn);
    /* Dedicated: the same, plus one of each per connection. */
    assert_true(zip_dedicated >= (size_t)N * per_conn);
}

/* A chat broadcast is compressed once and every member gets those bytes. */
static void test_chat_broadcast_compressed_once(void **state) {
    enum { N = 30 };
    static wsc m[N];
    char got[256], *msg;
    const size_t n = 1u << 20;
    size_t total, zip;
    (void)state;

    start(TS_ARGS("--handler", "chat", "--log-level", "info"));
    for (int i = 0; i < N; i++) {
        open_offering(&m[i], EXT("permessage-deflate"), got, sizeof(got));
        uint8_t *ev;
        size_t len;
        int op;
        WSC_OK(&m[i], wsc_read_message(&m[i], &op, &ev, &len)); /* welcome */
        free(ev);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            uint8_t *ev;
            size_t len;
            int op;
            WSC_OK(&m[i], wsc_read_message(&m[i], &op, &ev, &len)); /* joins */
            free(ev);
        }
    msg = malloc(n);
    assert_non_null(msg);
    for (size_t i = 0; i < n; i++) msg[i] = (char)('a' + (i * 13 + i / 777) % 26);
    m[0].duplex = 1;
    WSC_OK(&m[0], wsc_send_compressed(&m[0], WS_OP_TEXT, msg, n));
    size_t wire = 0;
    for (int i = 0; i < N; i++) {
        uint8_t *ev;
        size_t len;
        int op;
        WSC_OK(&m[i], wsc_read_message(&m[i], &op, &ev, &len));
        assert_true(m[i].last_compressed);
        if (i == 0) wire = m[i].last_wire_len;
        assert_int_equal(m[i].last_wire_len, wire); /* the same bytes */
        assert_non_null(strstr((char *)ev, "\"type\":\"msg\""));
        assert_true(len > n);
        free(ev);
    }
    assert_int_equal(ts_server_budget_zip(&srv, &total, &zip), 0);
    print_message("  1 MiB to %d members: %zu compressed bytes each, shared once\n", N, wire);
    free(msg);
    for (int i = 0; i < N; i++) wsc_close(&m[i]);
    stop_clean();
}

/* Where every receiver keeps its context (dedicated, and no
 * server_no_context_takeover offered), each needs a compressor of its own
 * for a broadcast. With a budget that holds only a few, the others get the
 * message plain: a compressor is never worth closing anyone for, and a
 * message may always go uncompressed (RFC 7692 §6). */
static void test_chat_plain_without_memory_for_compressors(void **state) {
    enum { N = 10 };
    static wsc m[N];
    char got[256];
    char msg[4000];
    size_t total0, peak, limit, total, zip;
    (void)state;

    start(TS_ARGS("--handler", "chat", "--deflate", "dedicated", "--max-memory", "1600K",
                  "--log-level", "info"));
    for (int i = 0; i < N; i++) {
        open_offering(&m[i], EXT("permessage-deflate"), got, sizeof(got));
        assert_string_equal(got, "permessage-deflate");
    }
    for (int i = 0; i < N; i++) /* welcome, then the joins of those after */
        for (int j = i; j < N; j++) {
            uint8_t *ev;
            size_t len;
            int op;
            WSC_OK(&m[i], wsc_read_message(&m[i], &op, &ev, &len));
            free(ev);
        }
    for (size_t i = 0; i < sizeof(msg); i++) msg[i] = "chat words, again "[i % 18];
    assert_int_equal(ts_server_budget(&srv, &total0, &peak, &limit), 0);
    for (int round = 0; round < 2; round++) {
        int compressed = 0;
        WSC_OK(&m[round], wsc_send_compressed(&m[round], WS_OP_TEXT, msg, sizeof(msg)));
        for (int i = 0; i < N; i++) {
            uint8_t *ev;
            size_t len;
            int op;
            /* Every member gets it, none is closed. */
            WSC_OK(&m[i], wsc_read_message(&m[i], &op, &ev, &len));
            assert_int_equal(op, WS_OP_TEXT);
            assert_non_null(strstr((char *)ev, "\"type\":\"msg\""));
            assert_non_null(strstr((char *)ev, "chat words, again chat words"));
            compressed += m[i].last_compressed;
            free(ev);
        }
        /* What the budget had left before the broadcast bounds how many
         * compressors could be made; the rest went plain. */
        size_t room = (limit - total0) / (ws_deflate_size(15, 1) + 16);
        print_message("  broadcast %d to %d members: %d compressed, %d plain (room for %zu "
                      "compressors)\n",
                      round + 1, N, compressed, N - compressed, room);
        assert_true(room < N);
        assert_true(compressed <= (int)room);
    }
    assert_int_equal(ts_server_budget_zip(&srv, &total, &zip), 0);
    assert_int_equal(ts_server_budget(&srv, &total, &peak, &limit), 0);
    assert_true(peak <= limit);
    for (int i = 0; i < N; i++) wsc_close(&m[i]);
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_negotiation_shared_mode, teardown),
        cmocka_unit_test_teardown(test_negotiation_dedicated_and_off, teardown),
        cmocka_unit_test_teardown(test_compressed_echo, teardown),
        cmocka_unit_test_teardown(test_compressed_message_in_fragments, teardown),
        cmocka_unit_test_teardown(test_failures, teardown),
        cmocka_unit_test_teardown(test_bad_data_then_good, teardown),
        cmocka_unit_test_teardown(test_memory_modes, teardown),
        cmocka_unit_test_teardown(test_chat_broadcast_compressed_once, teardown),
        cmocka_unit_test_teardown(test_chat_plain_without_memory_for_compressors, teardown),
    };
    return cmocka_run_group_tests_name("integration: permessage-deflate", tests, NULL, NULL);
}

/*
 * test_integration_protocol.c -- every protocol violation a client can
 * commit, each answered by the server with the exact close code that
 * RFC 6455 §7.4.1 names, followed by the server closing TCP; and the
 * closing handshake itself (§5.5.1, §7.1).
 *
 *   1002 protocol error   framing: mask (§5.1), RSV (§5.2), opcodes (§5.2),
 *                         control frames (§5.5), fragments (§5.4), lengths
 *                         (§5.2), close payloads (§5.5.1, §7.4)
 *   1007 invalid data     text that is not UTF-8 (§8.1)
 *   1009 too big          a message over --max-message
 *
 * "Then EOF": after failing the connection the server sends its FIN
 * first (§7.1.1) -- the tests read EOF without ever closing their side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "itest.h"
#include "spawn.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server's answer to whatever was sent on c: close `code`, then EOF. */
static void expect_close_then_eof(wsc *c, const char *what, unsigned code) {
    if (wsc_expect_close(c, code) < 0) fail_msg("%s: %s", what, c->err);
    if (wsc_expect_eof(c, 0) < 0) fail_msg("%s: after the close: %s", what, c->err);
}

/* Open a connection, show it works, send one bad frame (b0, payload),
 * and expect close `code` then EOF. */
static void bad_frame(const char *what, unsigned b0, const void *payload, size_t len,
                      unsigned code) {
    wsc c;
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "ok", 2));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "ok", 2));
    if (wsc_send_frame(&c, b0, payload, len) < 0) fail_msg("%s: %s", what, c.err);
    expect_close_then_eof(&c, what, code);
    wsc_close(&c);
}

/* ---------------------------------------------------------------------- */
/* 1002: framing.                                                          */

static void test_unmasked_frame_1002(void **state) {
    (void)state;
    wsc c;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* RFC 6455 §5.1: "a server MUST close the connection upon receiving a
     * frame that is not masked". */
    WSC_OK(&c, wsc_send_unmasked(&c, WS_FIN | WS_OP_TEXT, "plain", 5));
    expect_close_then_eof(&c, "unmasked text frame", WS_CLOSE_PROTOCOL_ERROR);
    wsc_close(&c);
    stop_clean();
}

static void test_rsv_bits_1002(void **state) {
    (void)state;
    start(NULL);
    /* §5.2: RSV1-3 MUST be 0 unless an extension was negotiated (none is). */
    bad_frame("RSV1", WS_FIN | WS_RSV1 | WS_OP_TEXT, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    bad_frame("RSV2", WS_FIN | WS_RSV2 | WS_OP_TEXT, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    bad_frame("RSV3", WS_FIN | WS_RSV3 | WS_OP_BINARY, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    bad_frame("RSV1 on a ping", WS_FIN | WS_RSV1 | WS_OP_PING, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    stop_clean();
}

static void test_reserved_opcodes_1002(void **state) {
    (void)state;
    static const unsigned ops[] = { 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 };
    char what[32];
    start(NULL);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        snprintf(what, sizeof(what), "opcode %u", ops[i]);
        bad_frame(what, WS_FIN | ops[i], "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    }
    stop_clean();
}

static void test_ping_of_126_bytes_1002(void **state) {
    (void)state;
    uint8_t big[126];
    memset(big, 'p', sizeof(big));
    start(NULL);
    /* §5.5: control frames carry at most 125 bytes. */
    bad_frame("ping of 126 bytes", WS_FIN | WS_OP_PING, big, sizeof(big), WS_CLOSE_PROTOCOL_ERROR);
    bad_frame("pong of 126 bytes", WS_FIN | WS_OP_PONG, big, sizeof(big), WS_CLOSE_PROTOCOL_ERROR);
    big[0] = 0x03; /* code 1000, then a 124-byte reason */
    big[1] = 0xe8;
    bad_frame("close of 126 bytes", WS_FIN | WS_OP_CLOSE, big, sizeof(big),
              WS_CLOSE_PROTOCOL_ERROR);
    stop_clean();
}

static void test_fragmented_ping_1002(void **state) {
    (void)state;
    start(NULL);
    /* §5.5: control frames MUST NOT be fragmented. */
    bad_frame("ping without FIN", WS_OP_PING, "ab", 2, WS_CLOSE_PROTOCOL_ERROR);
    bad_frame("close without FIN", WS_OP_CLOSE, "\x03\xe8", 2, WS_CLOSE_PROTOCOL_ERROR);
    stop_clean();
}

static void test_continuation_without_start_1002(void **state) {
    (void)state;
    start(NULL);
    /* §5.4: a continuation belongs to a started message. */
    bad_frame("lone continuation", WS_FIN | WS_OP_CONT, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    bad_frame("lone unfinished continuation", WS_OP_CONT, "x", 1, WS_CLOSE_PROTOCOL_ERROR);
    stop_clean();
}

static void test_new_message_inside_fragmented_message_1002(void **state) {
    (void)state;
    static const unsigned second[] = { WS_OP_TEXT, WS_FIN | WS_OP_TEXT, WS_FIN | WS_OP_BINARY };
    start(NULL);
    for (size_t i = 0; i < sizeof(second) / sizeof(second[0]); i++) {
        wsc c;
        WSC_OK(&c, wsc_open(&c, &srv));
        /* §5.4: fragments of one message are not interleaved with another. */
        WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, "part 1", 6));
        WSC_OK(&c, wsc_send_frame(&c, second[i], "part 2", 6));
        expect_close_then_eof(&c, "data frame inside a fragmented message",
                              WS_CLOSE_PROTOCOL_ERROR);
        wsc_close(&c);
    }
    stop_clean();
}

static void test_length_with_top_bit_set_1002(void **state) {
    (void)state;
    wsc c;
    /* §5.2: "the most significant bit MUST be 0". A masked binary frame
     * header declaring 2^63 bytes, then nothing: the header alone fails. */
    static const uint8_t hdr[] = {
        WS_FIN | WS_OP_BINARY, WS_MASK_BIT | WS_LEN64, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4
    };
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_raw(&c, hdr, sizeof(hdr)));
    expect_close_then_eof(&c, "64-bit length with top bit", WS_CLOSE_PROTOCOL_ERROR);
    wsc_close(&c);
    stop_clean();
}

static void test_length_not_minimally_encoded_1002(void **state) {
    (void)state;
    wsc c;
    /* §5.2: "the minimal number of bytes MUST be used to encode the
     * length": 5 in the 16-bit form. */
    static const uint8_t frame[] = {
        WS_FIN | WS_OP_TEXT, WS_MASK_BIT | WS_LEN16, 0, 5, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'
    };
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_raw(&c, frame, sizeof(frame)));
    expect_close_then_eof(&c, "16-bit length 5", WS_CLOSE_PROTOCOL_ERROR);
    wsc_close(&c);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* 1007: UTF-8.                                                            */

static void test_invalid_utf8_text_1007(void **state) {
    (void)state;
    /* Each is invalid (RFC 3629): a lone continuation byte, an overlong
     * '/', a UTF-16 surrogate, a code point past U+10FFFF, 0xFF, and a
     * sequence cut short at the end of the message. */
    static const char *bad[] = { "a\x80z",           "\xc0\xaf", "\xed\xa0\x80",
                                 "\xf4\x90\x80\x80", "\xff",     "ok \xe2\x82" };
    start(NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "invalid UTF-8 case %zu", i);
        bad_frame(what, WS_FIN | WS_OP_TEXT, bad[i], strlen(bad[i]), WS_CLOSE_INVALID_PAYLOAD);
    }
    stop_clean();
}

static void test_invalid_utf8_split_across_fragments_1007(void **state) {
    (void)state;
    wsc c;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* "\xe2\x82" then "(": valid so far, invalid at the third byte, which
     * is in another frame. */
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, "euro \xe2\x82", 7));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, "(", 1));
    expect_close_then_eof(&c, "UTF-8 broken across fragments", WS_CLOSE_INVALID_PAYLOAD);
    wsc_close(&c);

    /* A message that ends inside a character, in its last (empty) frame. */
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, "euro \xe2\x82", 7));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, "", 0));
    expect_close_then_eof(&c, "message ends inside a character", WS_CLOSE_INVALID_PAYLOAD);
    wsc_close(&c);
    stop_clean();
}

static void test_invalid_utf8_fails_fast(void **state) {
    (void)state;
    wsc c;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* A frame declaring 1 MiB; only its first 16 bytes are sent, with an
     * invalid byte among them. The close must come without the rest: the
     * server judges each byte as it arrives (§8.1 "as soon as"). */
    WSC_OK(&c, wsc_send_frame_header(&c, WS_FIN | WS_OP_TEXT, 1u << 20));
    WSC_OK(&c, wsc_send_payload(&c, "valid start \xff..", 16));
    expect_close_then_eof(&c, "invalid byte 12 of a 1 MiB frame", WS_CLOSE_INVALID_PAYLOAD);
    wsc_close(&c);

    /* The same in the second fragment of a message. */
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, "first", 5));
    WSC_OK(&c, wsc_send_frame_header(&c, WS_FIN | WS_OP_CONT, 1u << 20));
    WSC_OK(&c, wsc_send_payload(&c, "\xc3(", 2));
    expect_close_then_eof(&c, "invalid second fragment", WS_CLOSE_INVALID_PAYLOAD);
    wsc_close(&c);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* 1009: size.                                                             */

static void test_message_over_max_message_1009_from_header(void **state) {
    (void)state;
    wsc c;
    uint8_t payload[1000];
    memset(payload, 'm', sizeof(payload));

    start(TS_ARGS("--max-message", "1000"));
    /* Exactly the limit is fine. */
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, payload, 1000));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, payload, 1000));
    /* One byte more: the header alone is enough to refuse it, no payload
     * is sent at all. */
    WSC_OK(&c, wsc_send_frame_header(&c, WS_FIN | WS_OP_BINARY, 1001));
    expect_close_then_eof(&c, "frame of 1001 bytes", WS_CLOSE_MESSAGE_TOO_BIG);
    wsc_close(&c);

    /* Fragments adding up to more: refused at the second header. */
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, payload, 600));
    WSC_OK(&c, wsc_send_frame_header(&c, WS_FIN | WS_OP_CONT, 401));
    expect_close_then_eof(&c, "fragments of 600 + 401 bytes", WS_CLOSE_MESSAGE_TOO_BIG);
    wsc_close(&c);
    stop_clean();
}

/* ---------------------------------------------------------------------- */
/* The closing handshake.                                                  */

static void test_close_with_1_byte_payload_1002(void **state) {
    (void)state;
    start(NULL);
    /* §5.5.1: a close body, if any, starts with a 2-byte code. */
    bad_frame("close with 1 byte", WS_FIN | WS_OP_CLOSE, "\x03", 1, WS_CLOSE_PROTOCOL_ERROR);
    stop_clean();
}

static void test_close_codes_not_allowed_on_the_wire_1002(void **state) {
    (void)state;
    /* §7.4.1/§7.4.2: 0-999 unused, 1004 reserved, 1005/1006/1015 never
     * sent, 1016-2999 for future RFCs, 5000+ undefined. */
    static const unsigned codes[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535 };
    start(NULL);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        uint8_t p[2] = { (uint8_t)(codes[i] >> 8), (uint8_t)codes[i] };
        char what[32];
        snprintf(what, sizeof(what), "close code %u", codes[i]);
        bad_frame(what, WS_FIN | WS_OP_CLOSE, p, 2, WS_CLOSE_PROTOCOL_ERROR);
    }
    stop_clean();
}

static void test_close_with_invalid_utf8_reason_1002(void **state) {
    (void)state;
    start(NULL);
    /* §5.5.1: the reason is UTF-8; §8.1 says invalid UTF-8 fails the
     * connection, and this server answers a bad close body with 1002. */
    bad_frame("close reason not UTF-8", WS_FIN | WS_OP_CLOSE,
              "\x03\xe8"
              "bye \xff",
              7, WS_CLOSE_PROTOCOL_ERROR);
    stop_clean();
}

static void test_valid_close_codes_echoed(void **state) {
    (void)state;
    static const unsigned codes[] = { 1000, 1001, 1003, 1007, 1011, 3000, 4000, 4999 };
    start(NULL);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        wsc c;
        char what[32];
        snprintf(what, sizeof(what), "close %u", codes[i]);
        WSC_OK(&c, wsc_open(&c, &srv));
        WSC_OK(&c, wsc_send_close(&c, (int)codes[i], "see you"));
        /* §5.5.1: the endpoint "typically echos the status code". */
        expect_close_then_eof(&c, what, codes[i]);
        wsc_close(&c);
    }
    stop_clean();
}

static void test_empty_close_answered_with_1000(void **state) {
    (void)state;
    wsc c;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_close(&c, -1, NULL));
    expect_close_then_eof(&c, "empty close", WS_CLOSE_NORMAL);
    wsc_close(&c);
    stop_clean();
}

static void test_data_after_close_is_ignored(void **state) {
    (void)state;
    wsc c;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    /* §5.5.1: after a close frame the endpoint sends nothing more; what the
     * peer sends after its close is not to be processed. The close, a
     * message and a ping go in one write, so they arrive in one read. */
    WSC_OK(&c, wsc_send_close(&c, 1000, NULL));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "too late", 8));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_PING, "too late", 8));
    WSC_OK(&c, wsc_send_raw(&c, "\xff\xff garbage", 10));
    /* The close answer and then EOF: no echo, no pong, no error close. */
    expect_close_then_eof(&c, "close followed by data", WS_CLOSE_NORMAL);
    wsc_close(&c);
    stop_clean();
}

static void test_server_sends_fin_first_after_close_exchange(void **state) {
    (void)state;
    wsc c;
    start(NULL);
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_close(&c, 1000, "done"));
    WSC_OK(&c, wsc_expect_close(&c, 1000));
    /* §7.1.1: "the underlying TCP connection ... SHOULD be closed first by
     * the server". We have not closed or shut down anything: the EOF we
     * read is the server's FIN. */
    uint64_t t0 = ts_now_ms();
    WSC_OK(&c, wsc_expect_eof(&c, 1000 * ts_scale()));
    assert_true(ts_now_ms() - t0 < 1000u * ts_scale());
    /* The server still waits for ours (it reads until our FIN); sending
     * it now completes the TCP close. */
    wsc_shutdown_write(&c);
    wsc_close(&c);
    stop_clean();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unmasked_frame_1002, teardown),
        cmocka_unit_test_teardown(test_rsv_bits_1002, teardown),
        cmocka_unit_test_teardown(test_reserved_opcodes_1002, teardown),
        cmocka_unit_test_teardown(test_ping_of_126_bytes_1002, teardown),
        cmocka_unit_test_teardown(test_fragmented_ping_1002, teardown),
        cmocka_unit_test_teardown(test_continuation_without_start_1002, teardown),
        cmocka_unit_test_teardown(test_new_message_inside_fragmented_message_1002, teardown),
        cmocka_unit_test_teardown(test_length_with_top_bit_set_1002, teardown),
        cmocka_unit_test_teardown(test_length_not_minimally_encoded_1002, teardown),
        cmocka_unit_test_teardown(test_invalid_utf8_text_1007, teardown),
        cmocka_unit_test_teardown(test_invalid_utf8_split_across_fragments_1007, teardown),
        cmocka_unit_test_teardown(test_invalid_utf8_fails_fast, teardown),
        cmocka_unit_test_teardown(test_message_over_max_message_1009_from_header, teardown),
        cmocka_unit_test_teardown(test_close_with_1_byte_payload_1002, teardown),
        cmocka_unit_test_teardown(test_close_codes_not_allowed_on_the_wire_1002, teardown),
        cmocka_unit_test_teardown(test_close_with_invalid_utf8_reason_1002, teardown),
        cmocka_unit_test_teardown(test_valid_close_codes_echoed, teardown),
        cmocka_unit_test_teardown(test_empty_close_answered_with_1000, teardown),
        cmocka_unit_test_teardown(test_data_after_close_is_ignored, teardown),
        cmocka_unit_test_teardown(test_server_sends_fin_first_after_close_exchange, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

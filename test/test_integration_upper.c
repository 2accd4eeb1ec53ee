/*
 * test_integration_upper.c -- examples/upper.c, the handler of
 * docs/handlers.md, over real sockets: text comes back in capitals (ASCII
 * letters only, so UTF-8 stays valid and the length stays the same),
 * binary unchanged, whole messages and messages in parts alike, and the
 * per-connection tally it logs on close.
 *
 * The example takes the options ts_server_start passes (--workers, --host,
 * --port, --log-level, --client-dir), so it runs like the real binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "spawn.h"
#include "wsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* build/examples/upper, next to the server binary's build directory. */
static const char *upper_bin(void) {
    static char path[512];
    const char *bin = getenv("WS6455_BIN") ? getenv("WS6455_BIN") : "build/ws6455";
    const char *slash = strrchr(bin, '/');
    snprintf(path, sizeof(path), "%.*s/examples/upper", slash ? (int)(slash - bin) : 1,
             slash ? bin : ".");
    return path;
}

static void start_upper(void) {
    ts_server_opts o = { .log_level = "info", .bin = upper_bin() };
    assert_int_equal(ts_server_start_opts(&srv, &o, NULL), 0);
}

/* The test's own idea of the reply, written independently of the
 * example: a-z to A-Z, nothing else. */
static uint8_t *expected_upper(const uint8_t *s, size_t len) {
    uint8_t *e = malloc(len + 1);
    assert_non_null(e);
    for (size_t i = 0; i < len; i++) e[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i];
    return e;
}

/* A text of len bytes cycling through ASCII letters and characters of 2, 3
 * and 4 bytes, so every cut (a part, a frame, the example's 16 KiB pieces)
 * is likely to fall inside one of them somewhere. It ends on a whole
 * character: the server checks the UTF-8 of each message. */
static uint8_t *mixed_text(size_t len) {
    static const char cycle[] = "abc \xc3\xa9 z\xe6\x97\xa5q\xf0\x9f\x98\x80 xyz\n";
    uint8_t *t = malloc(len + 1);
    size_t n = 0, clen = sizeof(cycle) - 1;
    assert_non_null(t);
    while (n + clen <= len) {
        memcpy(t + n, cycle, clen);
        n += clen;
    }
    memset(t + n, 'k', len - n);
    return t;
}

/* Read one message frame by frame: its opcode, its bytes (malloc'd) and
 * the number of frames it came in; control frames are not expected. */
static int read_frames(wsc *c, int *opcode, uint8_t **data, size_t *len) {
    size_t cap = 0;
    int frames = 0;
    *data = NULL;
    *len = 0;
    for (;;) {
        wsc_frame f;
        WSC_OK(c, wsc_read_frame(c, &f));
        assert_true(f.opcode == (frames ? WS_OP_CONT : f.opcode));
        assert_true(f.opcode == WS_OP_TEXT || f.opcode == WS_OP_BINARY || frames > 0);
        if (!frames) *opcode = f.opcode;
        if (*len + f.len + 1 > cap) {
            cap = (*len + f.len + 1) * 2;
            *data = realloc(*data, cap);
            assert_non_null(*data);
        }
        memcpy(*data + *len, f.payload, f.len);
        *len += f.len;
        frames++;
        int fin = f.fin;
        wsc_frame_free(&f);
        if (fin) return frames;
    }
}

/* The closing handshake from the client's side: our close, the server's
 * echo of the code, then its FIN (RFC 6455 §7.1.1: the server closes TCP
 * first). */
static void close_clean(wsc *c) {
    WSC_OK(c, wsc_send_close(c, 1000, NULL));
    WSC_OK(c, wsc_expect_close(c, 1000));
    WSC_OK(c, wsc_expect_eof(c, 0));
    wsc_close(c);
}

/* Whole messages, each in one frame. */
static void test_whole_messages(void **state) {
    (void)state;
    wsc c;
    /* "Grüße, ǆ é ça va? 日本 🙂": only the ASCII letters change. */
    static const char utf8[] = "Gr\xc3\xbc\xc3\x9f"
                               "e, \xc7\x86 \xc3\xa9 \xc3\xa7"
                               "a va? "
                               "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82";
    static const char utf8_up[] = "GR\xc3\xbc\xc3\x9f"
                                  "E, \xc7\x86 \xc3\xa9 \xc3\xa7"
                                  "A VA? "
                                  "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82";
    static const uint8_t bin[] = { 'a', 'b', 0x00, 0xff, 'z', 0xc3 };

    start_upper();
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "hello, World 42", 15));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "HELLO, WORLD 42", 15));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, utf8, sizeof(utf8) - 1));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, utf8_up, sizeof(utf8_up) - 1));
    /* The empty message, and the letters' neighbours ` { @ [ unchanged. */
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "", 0));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "", 0));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "`az{@AZ[", 8));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "`AZ{@AZ[", 8));
    /* Binary is not text: even its letters come back as they were. */
    WSC_OK(&c, wsc_send_message(&c, WS_OP_BINARY, bin, sizeof(bin)));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_BINARY, bin, sizeof(bin)));
    close_clean(&c);
    stop_clean();
    /* on_close got the code, and the tally of on_open's user data. */
    char line[96];
    snprintf(line, sizeof(line), ": 5 messages, %zu bytes, closed with 1000",
             15 + (sizeof(utf8) - 1) + 0 + 8 + sizeof(bin));
    assert_true(ts_server_log_contains(&srv, line));
}

/* A small message in three fragments (RFC 6455 §5.4), "ö" cut between
 * the second and the third: the server assembles it, and the handler sees
 * one message. */
static void test_fragments(void **state) {
    (void)state;
    wsc c;
    start_upper();
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_TEXT, "hel", 3));
    WSC_OK(&c, wsc_send_frame(&c, WS_OP_CONT, "lo w\xc3", 5));
    WSC_OK(&c, wsc_send_frame(&c, WS_FIN | WS_OP_CONT, "\xb6rld", 4));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "HELLO W\xc3\xb6RLD", 12));
    close_clean(&c);
    stop_clean();
}

/* One large message, sent as first and rest: the reply's bytes, and that
 * it came in more than one frame (whole or in parts, a reply larger than
 * the example's 16 KiB scratch buffer is sent as parts). */
static void large_round(wsc *c, int opcode, const uint8_t *msg, size_t len, size_t first) {
    int op = -1;
    uint8_t *got, *want = opcode == WS_OP_TEXT ? expected_upper(msg, len) : NULL;
    size_t got_len;
    if (first == len) {
        WSC_OK(c, wsc_send_message(c, opcode, msg, len));
    } else {
        WSC_OK(c, wsc_send_frame(c, (unsigned)opcode, msg, first));
        WSC_OK(c, wsc_send_frame(c, WS_FIN | WS_OP_CONT, msg + first, len - first));
    }
    int frames = read_frames(c, &op, &got, &got_len);
    assert_int_equal(op, opcode);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want ? want : msg, len);
    assert_true(frames > 1);
    free(got);
    free(want);
}

/* Messages of 64 KiB and more go to on_part when they do not arrive in
 * one read; either way the reply is exact. 300,000 bytes cannot arrive in
 * one 256 KiB read, so that one is answered part by part. */
static void test_large_messages(void **state) {
    (void)state;
    wsc c;
    size_t len = 300000;
    uint8_t *text = mixed_text(len);

    start_upper();
    WSC_OK(&c, wsc_open(&c, &srv));
    c.duplex = 1; /* the reply streams while we still send */
    large_round(&c, WS_OP_TEXT, text, len, len);
    /* A 1-byte first fragment, then the rest: large only later. */
    large_round(&c, WS_OP_TEXT, text, len, 1);
    /* Cut inside a 4-byte character: after its first byte. */
    const uint8_t *emoji = memchr(text + 2000, 0xf0, 64);
    assert_non_null(emoji);
    large_round(&c, WS_OP_TEXT, text, len, (size_t)(emoji - text) + 1);
    /* A 20 KiB message: whole, but over the scratch buffer. */
    large_round(&c, WS_OP_TEXT, text, 20000, 20000);
    large_round(&c, WS_OP_BINARY, text, len, len);
    /* Small after large: the reply is one frame again. */
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "end", 3));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "END", 3));
    close_clean(&c);
    free(text);
    stop_clean();
    char line[96];
    snprintf(line, sizeof(line), ": 6 messages, %zu bytes, closed with 1000", 4 * len + 20000 + 3);
    assert_true(ts_server_log_contains(&srv, line));
    /* The large ones really went the on_part way. */
    assert_true(ts_server_log_contains(&srv, "received text message #1, 300000 bytes in parts"));
    assert_true(ts_server_log_contains(&srv, "received text message #2, 300000 bytes in parts"));
    assert_true(ts_server_log_contains(&srv, "received binary message #5, 300000 bytes in parts"));
}

/* A connection that drops without a close frame: on_close hears 1006,
 * and the server goes on serving. */
static void test_drop(void **state) {
    (void)state;
    wsc c, d;
    start_upper();
    WSC_OK(&c, wsc_open(&c, &srv));
    WSC_OK(&c, wsc_send_message(&c, WS_OP_TEXT, "x", 1));
    WSC_OK(&c, wsc_expect_message(&c, WS_OP_TEXT, "X", 1));
    wsc_close(&c);
    WSC_OK(&d, wsc_open(&d, &srv));
    WSC_OK(&d, wsc_send_message(&d, WS_OP_TEXT, "still", 5));
    WSC_OK(&d, wsc_expect_message(&d, WS_OP_TEXT, "STILL", 5));
    close_clean(&d);
    stop_clean();
    assert_true(ts_server_log_contains(&srv, ": 1 messages, 1 bytes, closed with 1006"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_whole_messages, teardown),
        cmocka_unit_test_teardown(test_fragments, teardown),
        cmocka_unit_test_teardown(test_large_messages, teardown),
        cmocka_unit_test_teardown(test_drop, teardown),
    };
    return cmocka_run_group_tests_name("integration: a handler (examples/upper)", tests, NULL,
                                       NULL);
}

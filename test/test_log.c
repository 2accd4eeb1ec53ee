/*
 * test_log.c -- escaping peer-supplied bytes for the log (log.h):
 * controls, C1, bidi and format characters, invalid UTF-8; a full buffer
 * never cuts an escape or a character; and the lines themselves, as text
 * and as JSON (--log-format json).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jsonline.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check(const char *in, size_t len, const char *want) {
    char out[256];
    size_t used = ws_log_escape(out, sizeof(out), in, len);
    assert_int_equal(used, len);
    assert_string_equal(out, want);
}

static void test_escapes(void **state) {
    (void)state;
    check("plain text 123", 14, "plain text 123");
    check("a\"b\\c", 5, "a\\\"b\\\\c");
    check("\t\n\r", 3, "\\t\\n\\r");
    check("\x1b[31m\x7f\x01", 7, "\\x1b[31m\\x7f\\x01");
    check("\0", 1, "\\x00");
    /* C1: U+0085 (NEL, a line break for some viewers), U+009B (CSI). */
    check("\xc2\x85\xc2\x9b", 4, "\\u0085\\u009b");
    /* Bidi: LRM, RLO, LRI, PDI; format: ZWSP, soft hyphen, BOM; LS, PS. */
    check("\xe2\x80\x8e\xe2\x80\xae\xe2\x81\xa6\xe2\x81\xa9", 12, "\\u200e\\u202e\\u2066\\u2069");
    check("\xe2\x80\x8b\xc2\xad\xef\xbb\xbf\xe2\x80\xa8\xe2\x80\xa9", 14,
          "\\u200b\\u00ad\\ufeff\\u2028\\u2029");
    /* A tag character (U+E0041) gets the long form. */
    check("\xf3\xa0\x81\x81", 4, "\\U000e0041");
    /* Ordinary non-ASCII passes: é, 한, 😀. */
    check("\xc3\xa9\xed\x95\x9c\xf0\x9f\x98\x80", 9, "\xc3\xa9\xed\x95\x9c\xf0\x9f\x98\x80");
    /* Invalid UTF-8: every bad byte as \xNN -- overlong, surrogate,
     * truncated, stray continuation, past U+10FFFF. */
    check("\xc0\xaf", 2, "\\xc0\\xaf");
    check("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
    check("\xe2\x82", 2, "\\xe2\\x82");
    check("\x80z", 2, "\\x80z");
    check("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
}

static void test_full_buffer_cuts_between_escapes(void **state) {
    char out[8];
    (void)state;
    /* "ab" fits, "\x1b" (4 characters) would need 7 + NUL: stops before. */
    size_t used = ws_log_escape(out, 6,
                                "ab\x1b"
                                "cd",
                                5);
    assert_int_equal(used, 2);
    assert_string_equal(out, "ab");
    /* A 3-byte character is never split. */
    used = ws_log_escape(out, 5, "ab\xed\x95\x9c", 5);
    assert_int_equal(used, 2);
    used = ws_log_escape(out, 6, "ab\xed\x95\x9c", 5);
    assert_int_equal(used, 5);
    assert_string_equal(out, "ab\xed\x95\x9c");
    assert_int_equal(ws_log_escape(out, 1, "x", 1), 0);
    assert_string_equal(out, "");
}

/* Run fn with stderr sent to a temporary file; the file's contents, a
 * NUL-terminated malloc'd string. */
static char *capture(void (*fn)(void)) {
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long n = ftell(tmp);
    if (n <= 0) n = (long)lseek(fileno(tmp), 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(pread(fileno(tmp), text, (size_t)n, 0), n);
    fclose(tmp);
    return text;
}

/* A peer's worst: quotes, backslashes, a newline (a forged line), ESC, a
 * C1 CSI, a bidi override, invalid UTF-8, and ordinary non-ASCII text. */
static const char hostile[] = "say \"hi\" \\ \n{\"level\":\"error\"} \x1b[2J \xc2\x9b \xe2\x80\xae"
                              "evil \xff\xfe caf\xc3\xa9 \xf0\x9f\x98\x80";

static void log_events(void) {
    ws_log_field f[] = {
        WS_LOG_NUM("id", 7),
        WS_LOG_BYTES("reason", hostile, sizeof(hostile) - 1),
        WS_LOG_STR("absent", NULL),
        WS_LOG_NUM("bytes", 12345678901.0),
    };
    ws_log_event(WS_LOG_INFO, "disconnect", f, sizeof(f) / sizeof(f[0]), "client #%d: %s", 7,
                 "said \"x\"");
    ws_log(WS_LOG_WARN, "plain %s", "line");
    ws_log(WS_LOG_DEBUG, "not at info");
}

/* Text: the sentence; JSON: one object a line, a strict reader accepts
 * it, and gives back the peer's text exactly (but for the bytes JSON
 * cannot carry), while the raw line has no control or bidi character. */
static void test_json_lines(void **state) {
    (void)state;
    char v[1024];

    ws_log_level = WS_LOG_INFO;
    ws_log_json = 0;
    char *text = capture(log_events);
    assert_non_null(strstr(text, "INFO  client #7: said \"x\"\n"));
    assert_non_null(strstr(text, "WARN  plain line\n"));
    assert_null(strstr(text, "not at info"));
    free(text);

    ws_log_json = 1;
    text = capture(log_events);
    ws_log_json = 0;
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    size_t len = (size_t)(nl - text);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        assert_true(c >= 0x20 && c != 0x7f);
        /* no C1 (U+009B is c2 9b) and no U+202E (e2 80 ae) raw */
        if (c == 0xc2)
            assert_false((unsigned char)text[i + 1] >= 0x80 && (unsigned char)text[i + 1] <= 0x9f);
        if (c == 0xe2)
            assert_false((unsigned char)text[i + 1] == 0x80 && (unsigned char)text[i + 2] == 0xae);
    }
    assert_int_equal(json_object_check(text, len), 0);
    assert_int_equal(json_member(text, len, "event", v, sizeof(v)), 0);
    assert_string_equal(v, "disconnect");
    assert_int_equal(json_member(text, len, "level", v, sizeof(v)), 0);
    assert_string_equal(v, "info");
    assert_int_equal(json_member(text, len, "msg", v, sizeof(v)), 0);
    assert_string_equal(v, "client #7: said \"x\"");
    assert_int_equal(json_member(text, len, "id", v, sizeof(v)), 0);
    assert_string_equal(v, "7");
    assert_int_equal(json_member(text, len, "bytes", v, sizeof(v)), 0);
    assert_string_equal(v, "12345678901");
    assert_int_equal(json_member(text, len, "absent", v, sizeof(v)), -1);
    assert_int_equal(json_member(text, len, "reason", v, sizeof(v)), 0);
    assert_string_equal(v, "say \"hi\" \\ \n{\"level\":\"error\"} \x1b[2J \xc2\x9b \xe2\x80\xae"
                           "evil \\xff\\xfe caf\xc3\xa9 \xf0\x9f\x98\x80");
    /* The second line: an ordinary one, no event. */
    char *second = nl + 1, *nl2 = strchr(second, '\n');
    assert_non_null(nl2);
    assert_int_equal(json_object_check(second, (size_t)(nl2 - second)), 0);
    assert_int_equal(json_member(second, (size_t)(nl2 - second), "event", v, sizeof(v)), -1);
    assert_null(strchr(nl2 + 1, '\n'));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_full_buffer_cuts_between_escapes),
        cmocka_unit_test(test_json_lines),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

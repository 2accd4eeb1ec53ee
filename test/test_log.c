/*
 * test_log.c -- escaping peer-supplied bytes for the log (log.h):
 * controls, C1, bidi and format characters, invalid UTF-8; a full buffer
 * never cuts an escape or a character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"

#include <string.h>

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
    size_t used = ws_log_escape(out, 6, "ab\x1b" "cd", 5);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_full_buffer_cuts_between_escapes),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

/*
 * jsonline.h -- just enough JSON for the tests of --log-format json: check
 * that a line is one well-formed JSON object (RFC 8259), and read a
 * top-level member.
 */
#ifndef WS_TEST_JSONLINE_H
#define WS_TEST_JSONLINE_H

#include <stddef.h>

/* 0 if s[0..len) is exactly one JSON object (whitespace around allowed),
 * else -1. Strings must be valid: escapes as RFC 8259 §7 lists them, no
 * raw control characters, valid UTF-8. */
int json_object_check(const char *s, size_t len);

/* The value of the top-level member key of a valid object: a string's
 * contents, unescaped (\uXXXX to UTF-8), or a number's, true's, false's
 * or null's text, NUL-terminated in out. 0, or -1 if absent or too long. */
int json_member(const char *s, size_t len, const char *key, char *out, size_t cap);

#endif

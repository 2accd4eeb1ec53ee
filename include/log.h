/*
 * log.h -- leveled log lines on stderr.
 *
 * "2026-11-24T13:05:47.123Z INFO  [w1] client #7 connected from 127.0.0.1:5012"
 * Only server, main and handlers log; the protocol modules are pure.
 */
#ifndef WS_LOG_H
#define WS_LOG_H

#include <stddef.h>

enum { WS_LOG_ERROR = 0, WS_LOG_WARN, WS_LOG_INFO, WS_LOG_DEBUG };

extern int ws_log_level;      /* lines above this level are dropped [INFO] */
extern int ws_log_worker;     /* worker number shown in lines, -1 for none */

/* Parse "error", "warn", "info" or "debug"; returns the level or -1. */
int ws_log_parse_level(const char *s);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void ws_log(int level, const char *fmt, ...);

#define ws_log_enabled(level) ((level) <= ws_log_level)

/* Escape peer-supplied bytes for a log line, so that nothing a peer sends
 * can forge a line, hide one, or change how a terminal shows it:
 *
 *   \\ and \"                  the escape character and the quote
 *   \t \n \r, \xNN             other C0 controls and DEL (0x7f)
 *   \xNN                        each byte of an invalid UTF-8 sequence
 *   \uNNNN, \UNNNNNNNN          C1 controls (U+0080..U+009F), format and
 *                               bidi controls (U+200E, U+202E, U+2066, ...),
 *                               line and paragraph separators
 *
 * Everything else (printable ASCII, and valid UTF-8 for other characters)
 * is copied as it is. Writes a NUL-terminated string of at most cap - 1
 * characters into out, never cutting an escape or a character in two, and
 * returns how many input bytes it consumed: less than len when out was
 * too small (the caller adds "..."). */
size_t ws_log_escape(char *out, size_t cap, const void *in, size_t len);

#endif /* WS_LOG_H */

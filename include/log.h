/*
 * log.h -- leveled log lines on stderr.
 *
 * "2026-11-24T13:05:47.123Z INFO  [w1] client #7 connected from 127.0.0.1:5012"
 *
 * or, with ws_log_json set (--log-format json), one JSON object per line
 * for journald and log shippers, the same text in "msg" and, for the
 * events an operator counts (a request answered, a connection opened or
 * closed, a message, load shed), its facts as fields of their own:
 *
 * {"time":"2026-11-24T13:05:47.123Z","level":"info","worker":1,
 *  "event":"connect","msg":"client #7 connected from ...","id":7,...}
 *
 * Only server, main and handlers log; the protocol modules are pure.
 */
#ifndef WS_LOG_H
#define WS_LOG_H

#include <stddef.h>

enum { WS_LOG_ERROR = 0, WS_LOG_WARN, WS_LOG_INFO, WS_LOG_DEBUG };

extern int ws_log_level;  /* lines above this level are dropped [INFO] */
extern int ws_log_worker; /* worker number shown in lines, -1 for none */

/* Parse "error", "warn", "info" or "debug"; returns the level or -1. */
int ws_log_parse_level(const char *s);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void ws_log(int level, const char *fmt, ...);

extern int ws_log_json; /* 1: JSON lines (--log-format json) [0] */

/* A field of an event. A string field may hold a peer's bytes (give len;
 * (size_t)-1 for a NUL-terminated string): it is escaped as ws_log_escape
 * does, then as JSON requires. */
typedef struct ws_log_field {
    const char *key;
    const char *str; /* NULL: a number */
    size_t len;
    double num;
} ws_log_field;
/* clang-format off */
#define WS_LOG_STR(k, v) { (k), (v), (size_t)-1, 0 }
#define WS_LOG_BYTES(k, v, n) { (k), (v), (n), 0 }
#define WS_LOG_NUM(k, v) { (k), NULL, 0, (double)(v) }
/* clang-format on */

/* An event: in text, the line fmt makes (as ws_log); in JSON, that text
 * as "msg" plus "event" and the n fields. Fields whose str is NULL and
 * len is (size_t)-1 are left out (an absent value). */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void ws_log_event(int level, const char *event, const ws_log_field *fields, size_t n,
                  const char *fmt, ...);

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

/*
 * log.h -- leveled log lines on stderr.
 *
 * "2026-11-24T13:05:47.123Z INFO  [w1] client #7 connected from 127.0.0.1:5012"
 * Only server, main and handlers log; the protocol modules are pure.
 */
#ifndef WS_LOG_H
#define WS_LOG_H

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

#endif /* WS_LOG_H */

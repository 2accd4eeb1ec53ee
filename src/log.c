/*
 * log.c -- one formatted line per call, written with a single write(2) so
 * lines from several worker processes sharing stderr never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int ws_log_level = WS_LOG_INFO;
int ws_log_worker = -1;

static const char *const names[] = { "error", "warn", "info", "debug" };
static const char *const tags[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };

int ws_log_parse_level(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) return i;
    return -1;
}

void ws_log(int level, const char *fmt, ...) {
    char line[1024];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    if (level > ws_log_level) return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ws_log_worker >= 0)
        k = snprintf(line + n, sizeof(line) - n, ".%03dZ %s [w%d] ", (int)(tv.tv_usec / 1000),
                     tags[level], ws_log_worker);
    else
        k = snprintf(line + n, sizeof(line) - n, ".%03dZ %s ", (int)(tv.tv_usec / 1000),
                     tags[level]);
    n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (k < 0) k = 0;
    n += (size_t)k;
    if (n > sizeof(line) - 2) n = sizeof(line) - 2;  /* truncated */
    line[n++] = '\n';
    /* Logging must never kill or stall the server: ignore short writes. */
    if (write(STDERR_FILENO, line, n) < 0) return;
}

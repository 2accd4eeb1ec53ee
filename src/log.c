/*
 * log.c -- one formatted line per call, written with a single write(2) so
 * lines from several worker processes sharing stderr never interleave; and
 * the escaping that keeps peer-supplied bytes from forging or hiding lines.
 *
 * Reference card for ws_log_escape() (Unicode 15, category Cf and the
 * separators Zl/Zp, plus C0/C1 controls):
 *
 *   U+0000-001F, U+007F  C0 controls, DEL: a newline forges a log line,
 *                        ESC sequences recolour or clear a terminal
 *   U+0080-009F          C1 controls: U+009B is a one-character CSI
 *   U+061C, U+200E-200F, U+202A-202E, U+2066-2069
 *                        bidi marks, embeddings, overrides and isolates:
 *                        "Trojan Source" text that reads differently from
 *                        what it is (CVE-2021-42574)
 *   U+00AD, U+200B-200D, U+2060-2064, U+FEFF, ...
 *                        invisible format characters
 *   U+2028, U+2029       line and paragraph separators
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
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

/* Format characters (Unicode general category Cf) and separators that a
 * log must not pass through; sorted, inclusive ranges. */
static const struct { uint32_t lo, hi; } hidden[] = {
    { 0x0080, 0x009F }, { 0x00AD, 0x00AD }, { 0x0600, 0x0605 }, { 0x061C, 0x061C },
    { 0x06DD, 0x06DD }, { 0x070F, 0x070F }, { 0x0890, 0x0891 }, { 0x08E2, 0x08E2 },
    { 0x180E, 0x180E }, { 0x200B, 0x200F }, { 0x2028, 0x202E }, { 0x2060, 0x2064 },
    { 0x2066, 0x206F }, { 0xFEFF, 0xFEFF }, { 0xFFF9, 0xFFFB }, { 0x110BD, 0x110BD },
    { 0x110CD, 0x110CD }, { 0x13430, 0x1343F }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A },
    { 0xE0001, 0xE0001 }, { 0xE0020, 0xE007F },
};

static int is_hidden(uint32_t cp) {
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        if (cp >= hidden[i].lo && cp <= hidden[i].hi) return 1;
    return 0;
}

/* Decode one UTF-8 character at p (n bytes available, n >= 1). Returns
 * its length and sets *cp, or 0 if the bytes are not a valid character:
 * RFC 3629 §4, without overlongs, surrogates or values past U+10FFFF. */
static size_t utf8_char(const uint8_t *p, size_t n, uint32_t *cp) {
    uint32_t c = p[0], min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) len = 2, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, c &= 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

size_t ws_log_escape(char *out, size_t cap, const void *in, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = in;
    size_t i = 0, n = 0;

    if (cap == 0) return 0;
    while (i < len) {
        char esc[12];
        size_t elen, k;
        uint32_t cp;
        size_t clen = utf8_char(p + i, len - i, &cp);

        if (clen == 0) {
            /* Not valid UTF-8: show the byte, not what a viewer makes of it. */
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[p[i] >> 4], esc[3] = hex[p[i] & 15];
            elen = 4, clen = 1;
        } else if (cp == '\\' || cp == '"') {
            esc[0] = '\\', esc[1] = (char)cp, elen = 2;
        } else if (cp == '\t' || cp == '\n' || cp == '\r') {
            esc[0] = '\\', esc[1] = cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r', elen = 2;
        } else if (cp < 0x20 || cp == 0x7F) {
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[cp >> 4], esc[3] = hex[cp & 15], elen = 4;
        } else if (is_hidden(cp)) {
            int digits = cp > 0xFFFF ? 8 : 4;
            esc[0] = '\\', esc[1] = digits == 8 ? 'U' : 'u';
            for (int d = 0; d < digits; d++) esc[2 + d] = hex[(cp >> (4 * (digits - 1 - d))) & 15];
            elen = 2 + (size_t)digits;
        } else {
            memcpy(esc, p + i, clen);
            elen = clen;
        }
        if (elen > cap - 1 - n) break;  /* never cut an escape or a character */
        for (k = 0; k < elen; k++) out[n++] = esc[k];
        i += clen;
    }
    out[n] = '\0';
    return i;
}

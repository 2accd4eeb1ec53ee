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

int ws_log_json = 0;

/* The timestamp, "2026-11-24T13:05:47.123Z", into out (at least 32 bytes);
 * returns its length. */
static size_t timestamp(char *out, size_t cap) {
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    int k = snprintf(out + n, cap - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    return n + (k > 0 ? (size_t)k : 0);
}

/* Append s (len bytes, already free of peer bytes that need escaping for
 * a log) to out as the inside of a JSON string (RFC 8259 §7). Returns the
 * new length, at most cap - 1; never cuts an escape. */
static size_t json_chars(char *out, size_t n, size_t cap, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        char esc[6];
        size_t elen = 1;
        esc[0] = (char)c;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, elen = 2;
        } else if (c < 0x20) {
            esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4],
            esc[5] = hex[c & 15], elen = 6;
        }
        if (elen > cap - 1 - n) break;
        memcpy(out + n, esc, elen);
        n += elen;
    }
    return n;
}

static size_t put(char *out, size_t n, size_t cap, const char *s) {
    size_t len = strlen(s);
    if (len > cap - 1 - n) len = cap - 1 - n;
    memcpy(out + n, s, len);
    return n + len;
}

enum { FIELD_MAX = 1024 }; /* a string field's escaped bytes, at most */

static size_t json_escape(char *out, size_t cap, const void *in, size_t len);

/* One line: text, or a JSON object with event and fields. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 0)))
#endif
static void
emit(int level, const char *event, const ws_log_field *f, size_t nf, const char *fmt, va_list ap) {
    char line[8192], msg[1024], ts[40];
    const size_t lim = sizeof(line) - 16; /* room kept for closing quote, brace, newline */
    size_t n = 0;
    int k;

    timestamp(ts, sizeof(ts));
    k = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (k < 0) msg[0] = '\0';
    if (!ws_log_json) {
        if (ws_log_worker >= 0)
            k = snprintf(line, sizeof(line), "%s %s [w%d] %s", ts, tags[level], ws_log_worker, msg);
        else
            k = snprintf(line, sizeof(line), "%s %s %s", ts, tags[level], msg);
        n = k < 0 ? 0 : (size_t)k < sizeof(line) - 1 ? (size_t)k : sizeof(line) - 2;
    } else {
        /* Every string is closed, and the object too: the limits below
         * keep 16 bytes for that, and a field is begun only with room
         * for all of it, so a long line loses fields, never its form. */
        const size_t end = sizeof(line) - 1;
        char num[48];
        n = put(line, n, lim, "{\"time\":\"");
        n = put(line, n, lim, ts);
        n = put(line, n, lim, "\",\"level\":\"");
        n = put(line, n, lim, names[level]);
        n = put(line, n, lim, "\"");
        if (ws_log_worker >= 0) {
            snprintf(num, sizeof(num), ",\"worker\":%d", ws_log_worker);
            n = put(line, n, lim, num);
        }
        if (event) {
            n = put(line, n, lim, ",\"event\":\"");
            n = put(line, n, lim, event);
            n = put(line, n, lim, "\"");
        }
        n = put(line, n, lim, ",\"msg\":\"");
        n = json_chars(line, n, lim, msg, strlen(msg));
        n = put(line, n, end, "\"");
        for (size_t i = 0; i < nf; i++) {
            if (!f[i].str && f[i].len == (size_t)-1) continue;
            if (n + 64 + strlen(f[i].key) + (f[i].str ? 2 * FIELD_MAX : 0) > lim) break;
            n = put(line, n, lim, ",\"");
            n = put(line, n, lim, f[i].key);
            n = put(line, n, lim, "\":");
            if (f[i].str) {
                char esc[FIELD_MAX];
                size_t len = f[i].len == (size_t)-1 ? strlen(f[i].str) : f[i].len;
                size_t used = json_escape(esc, sizeof(esc) - 4, f[i].str, len);
                if (used < len) strcat(esc, "...");
                n = put(line, n, lim, "\"");
                n = put(line, n, lim, esc);
                n = put(line, n, end, "\"");
            } else {
                snprintf(num, sizeof(num), "%.15g", f[i].num);
                n = put(line, n, lim, num);
            }
        }
        n = put(line, n, end, "}");
    }
    line[n++] = '\n';
    /* Logging must never kill or stall the server: ignore short writes. */
    if (write(STDERR_FILENO, line, n) < 0) return;
}

void ws_log(int level, const char *fmt, ...) {
    va_list ap;
    if (level > ws_log_level) return;
    va_start(ap, fmt);
    emit(level, NULL, NULL, 0, fmt, ap);
    va_end(ap);
}

void ws_log_event(int level, const char *event, const ws_log_field *fields, size_t n,
                  const char *fmt, ...) {
    va_list ap;
    if (level > ws_log_level) return;
    va_start(ap, fmt);
    emit(level, event, fields, n, fmt, ap);
    va_end(ap);
}

/* Format characters (Unicode general category Cf) and separators that a
 * log must not pass through; sorted, inclusive ranges. */
static const struct {
    uint32_t lo, hi;
} hidden[] = {
    { 0x0080, 0x009F },   { 0x00AD, 0x00AD },   { 0x0600, 0x0605 },   { 0x061C, 0x061C },
    { 0x06DD, 0x06DD },   { 0x070F, 0x070F },   { 0x0890, 0x0891 },   { 0x08E2, 0x08E2 },
    { 0x180E, 0x180E },   { 0x200B, 0x200F },   { 0x2028, 0x202E },   { 0x2060, 0x2064 },
    { 0x2066, 0x206F },   { 0xFEFF, 0xFEFF },   { 0xFFF9, 0xFFFB },   { 0x110BD, 0x110BD },
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
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
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
        if (elen > cap - 1 - n) break; /* never cut an escape or a character */
        for (k = 0; k < elen; k++) out[n++] = esc[k];
        i += clen;
    }
    out[n] = '\0';
    return i;
}

/* A peer's bytes as the inside of a JSON string (RFC 8259 §7): what a
 * JSON reader gives back is the text itself, with quotes and backslashes
 * as they were; controls, C1, format and bidi characters as \uXXXX
 * escapes (so a viewer of the raw line sees no trick), and each byte of
 * invalid UTF-8, which JSON cannot carry, as the text "\xNN". Returns the
 * input bytes consumed (less than len when out was too small). */
static size_t json_escape(char *out, size_t cap, const void *in, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = in;
    size_t i = 0, n = 0;

    if (cap == 0) return 0;
    while (i < len) {
        char esc[16];
        size_t elen, k;
        uint32_t cp;
        size_t clen = utf8_char(p + i, len - i, &cp);

        if (clen == 0) {
            memcpy(esc, "\\\\x", 3);
            esc[3] = hex[p[i] >> 4], esc[4] = hex[p[i] & 15];
            elen = 5, clen = 1;
        } else if (cp == '\\' || cp == '"') {
            esc[0] = '\\', esc[1] = (char)cp, elen = 2;
        } else if (cp < 0x20 || cp == 0x7F || is_hidden(cp)) {
            if (cp > 0xFFFF) { /* a surrogate pair, RFC 8259 §7 */
                uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
                snprintf(esc, sizeof(esc), "\\u%04x\\u%04x", (unsigned)hi, (unsigned)lo);
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
            }
            elen = strlen(esc);
        } else {
            memcpy(esc, p + i, clen);
            elen = clen;
        }
        if (elen > cap - 1 - n) break;
        for (k = 0; k < elen; k++) out[n++] = esc[k];
        i += clen;
    }
    out[n] = '\0';
    return i;
}

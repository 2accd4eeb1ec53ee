/*
 * jsonline.c -- a small recursive-descent reader of RFC 8259 JSON, for
 * the log tests (jsonline.h). Written for these tests; deliberately
 * strict.
 */
#include "jsonline.h"

#include <stdint.h>
#include <string.h>

typedef struct reader {
    const char *p, *end;
    int depth;
} reader;

static void ws_skip(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Append code point cp as UTF-8 to out (if out is not NULL). */
static int put_utf8(char *out, size_t cap, size_t *n, uint32_t cp) {
    char b[4];
    size_t k;
    if (cp < 0x80)
        b[0] = (char)cp, k = 1;
    else if (cp < 0x800)
        b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 63)), k = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 63)),
        b[2] = (char)(0x80 | (cp & 63)), k = 3;
    else
        b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 63)),
        b[2] = (char)(0x80 | ((cp >> 6) & 63)), b[3] = (char)(0x80 | (cp & 63)), k = 4;
    if (out) {
        if (*n + k >= cap) return -1;
        memcpy(out + *n, b, k);
    }
    *n += k;
    return 0;
}

/* A string at r->p (the opening quote); its contents into out if given. */
static int string(reader *r, char *out, size_t cap, size_t *outlen) {
    size_t n = 0;
    if (r->p >= r->end || *r->p != '"') return -1;
    r->p++;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p++;
        if (c == '"') {
            if (out) out[n] = '\0';
            if (outlen) *outlen = n;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (r->p >= r->end) return -1;
            char e = *r->p++;
            uint32_t cp;
            switch (e) {
            case '"':
            case '\\':
            case '/': cp = (uint32_t)e; break;
            case 'b': cp = 8; break;
            case 'f': cp = 12; break;
            case 'n': cp = 10; break;
            case 'r': cp = 13; break;
            case 't': cp = 9; break;
            case 'u':
                if (r->end - r->p < 4) return -1;
                cp = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(r->p[i]);
                    if (h < 0) return -1;
                    cp = cp << 4 | (uint32_t)h;
                }
                r->p += 4;
                break;
            default: return -1;
            }
            if (put_utf8(out, cap, &n, cp) < 0) return -1;
            continue;
        }
        /* Raw bytes: valid UTF-8 only. */
        size_t k = c < 0x80                 ? 0
                   : c >= 0xc2 && c <= 0xdf ? 1
                   : c >= 0xe0 && c <= 0xef ? 2
                   : c >= 0xf0 && c <= 0xf4 ? 3
                                            : (size_t)-1;
        if (k == (size_t)-1 || (size_t)(r->end - r->p) < k) return -1;
        for (size_t i = 0; i < k; i++)
            if (((unsigned char)r->p[i] & 0xc0) != 0x80) return -1;
        if (out) {
            if (n + 1 + k >= cap) return -1;
            out[n] = (char)c;
            memcpy(out + n + 1, r->p, k);
        }
        n += 1 + k;
        r->p += k;
    }
    return -1;
}

static int number(reader *r) {
    const char *s = r->p;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end) return -1;
    if (*r->p == '0') {
        r->p++;
    } else if (*r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    } else {
        return -1;
    }
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return -1;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return -1;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    return r->p > s ? 0 : -1;
}

static int value(reader *r);

static int literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return -1;
    r->p += n;
    return 0;
}

static int container(reader *r, char open, char close) {
    if (++r->depth > 64) return -1;
    r->p++; /* open */
    ws_skip(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        r->depth--;
        return 0;
    }
    for (;;) {
        ws_skip(r);
        if (open == '{') {
            if (string(r, NULL, 0, NULL) < 0) return -1;
            ws_skip(r);
            if (r->p >= r->end || *r->p++ != ':') return -1;
            ws_skip(r);
        }
        if (value(r) < 0) return -1;
        ws_skip(r);
        if (r->p >= r->end) return -1;
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p++ != close) return -1;
        r->depth--;
        return 0;
    }
}

static int value(reader *r) {
    if (r->p >= r->end) return -1;
    switch (*r->p) {
    case '{': return container(r, '{', '}');
    case '[': return container(r, '[', ']');
    case '"': return string(r, NULL, 0, NULL);
    case 't': return literal(r, "true");
    case 'f': return literal(r, "false");
    case 'n': return literal(r, "null");
    default: return number(r);
    }
}

int json_object_check(const char *s, size_t len) {
    reader r = { s, s + len, 0 };
    ws_skip(&r);
    if (r.p >= r.end || *r.p != '{' || value(&r) < 0) return -1;
    ws_skip(&r);
    return r.p == r.end ? 0 : -1;
}

int json_member(const char *s, size_t len, const char *key, char *out, size_t cap) {
    reader r = { s, s + len, 0 };
    char name[128];
    if (json_object_check(s, len) < 0) return -1;
    ws_skip(&r);
    r.p++; /* { */
    for (;;) {
        ws_skip(&r);
        if (r.p >= r.end || *r.p == '}') return -1;
        if (string(&r, name, sizeof(name), NULL) < 0) return -1;
        ws_skip(&r);
        r.p++; /* : */
        ws_skip(&r);
        if (strcmp(name, key) == 0) {
            if (*r.p == '"') return string(&r, out, cap, NULL);
            const char *v = r.p;
            if (value(&r) < 0 || (size_t)(r.p - v) >= cap) return -1;
            memcpy(out, v, (size_t)(r.p - v));
            out[r.p - v] = '\0';
            return 0;
        }
        if (value(&r) < 0) return -1;
        ws_skip(&r);
        if (r.p < r.end && *r.p == ',') r.p++;
    }
}

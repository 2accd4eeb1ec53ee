/*
 * http.c -- the opening handshake: an incremental HTTP/1.1 request-head
 * parser, the RFC 6455 §4.2.1 checks, and the responses.
 *
 * Reference card 1: what a server checks in the client's handshake
 * (RFC 6455 §4.2.1, "Reading the Client's Opening Handshake"). If any of
 * 1-6 fails, the server stops and answers with an HTTP error (400), except
 * an unsupported version, which gets 426 (§4.4).
 *
 *   1. An HTTP/1.1 or higher GET request, with a request-target.
 *   2. A Host header field with the server's authority.
 *   3. An Upgrade header field containing "websocket"
 *      (ASCII case-insensitive).
 *   4. A Connection header field that includes the token "Upgrade"
 *      (ASCII case-insensitive).
 *   5. A Sec-WebSocket-Key header field whose value is base64 that decodes
 *      to 16 bytes.
 *   6. A Sec-WebSocket-Version header field with the value 13.
 *   7. Optionally Origin (§10.2: a server not meant for every web page
 *      checks it; kept here, judged by the server against --allow-origin),
 *      Sec-WebSocket-Protocol (the client's subprotocols in order of
 *      preference, §4.1; one is chosen here, as the bytes arrive, from the
 *      server's list), Sec-WebSocket-Extensions (pmd.h) and any other
 *      fields, which are only syntax-checked.
 *
 * Reference card 2: the request head this parser accepts (RFC 9112 §2.1,
 * §3, §5; RFC 9110 §5.5, §5.6), in ABNF:
 *
 *   HTTP-message   = start-line CRLF *( field-line CRLF ) CRLF
 *   request-line   = method SP request-target SP HTTP-version
 *   method         = token
 *   request-target = 1*( %x21-7E )           ; we accept any visible ASCII
 *   HTTP-version   = "HTTP" "/" DIGIT "." DIGIT   ; case-sensitive
 *   field-line     = field-name ":" OWS field-value OWS
 *   field-name     = token
 *   field-value    = *( VCHAR / SP / HTAB / obs-text )
 *   token          = 1*tchar
 *   tchar          = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-"
 *                  / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 *   OWS            = *( SP / HTAB )
 *   obs-text       = %x80-FF
 *
 * and the leniencies and strictness RFC 9112 allows or demands:
 *   - a bare LF ends a line like CRLF does (§2.2);
 *   - empty lines before the request line are skipped (§2.2);
 *   - whitespace between a field name and the colon is rejected with 400
 *     (§5.1), and so is obsolete line folding, a field line starting with
 *     SP or HTAB (§5.2);
 *   - any other control character (NUL, CR alone, DEL, ...) is rejected.
 *
 * The parser is a resumable state machine in the style of nginx's
 * ngx_http_parse.c: the state is saved in ws_http_parser between calls, each
 * byte is looked at once, and no byte is ever needed again. It keeps only
 * what the server uses (method, target, version, a few header values and
 * counts), so it never has to buffer the head, and a head of any size costs
 * only the time to count it to the limit.
 */
#include "http.h"

#include "base64.h"
#include "error.h"
#include "rfc6455.h"
#include "sha1.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Where in the grammar the next byte goes. The saved value lives in
 * ws_http_parser.state between calls. */
enum {
    s_start = 0,    /* before the request line: a method, or an empty line to skip */
    s_start_lf,     /* CR of a leading empty line seen; its LF must follow */
    s_method,       /* inside the method token */
    s_target_start, /* after the SP following the method: first target byte */
    s_target,       /* inside the request-target */
    s_http_name,    /* after the SP following the target: matching "HTTP/" */
    s_major,        /* the major version digit */
    s_dot,          /* the "." between the version digits */
    s_minor,        /* the minor version digit */
    s_line_end,     /* after the version: CR, or a bare LF */
    s_line_lf,      /* CR ending the request line seen; LF must follow */
    s_field_start,  /* start of a field line, or of the empty line ending the head */
    s_name,         /* inside a field name */
    s_ows,          /* after the colon: optional whitespace before the value */
    s_value,        /* inside a field value (trailing whitespace included) */
    s_value_lf,     /* CR ending a field line seen; LF must follow */
    s_end_lf,       /* CR of the final empty line seen; LF must follow */
    s_done,         /* the head is complete; further feeding consumes nothing */
    s_dead          /* an error was returned; it is returned again */
};

/* The header fields the server acts on; every other field is only
 * syntax-checked and counted towards the limit. */
enum {
    h_other = 0,
    h_host,
    h_upgrade,
    h_connection,
    h_key,
    h_version,
    h_content_length,
    h_transfer_encoding,
    h_forwarded_for,
    h_extensions,
    h_origin,
    h_protocol
};

/* clang-format off */
#define KNOWN(lower_name, id) { lower_name, sizeof(lower_name) - 1, id }
/* clang-format on */
static const struct {
    const char *name; /* lower case, as the parser stores names */
    size_t len;
    int id;
} known_headers[] = {
    KNOWN("host", h_host),
    KNOWN("upgrade", h_upgrade),
    KNOWN("connection", h_connection),
    KNOWN("sec-websocket-key", h_key),
    KNOWN("sec-websocket-version", h_version),
    KNOWN("content-length", h_content_length),
    KNOWN("transfer-encoding", h_transfer_encoding),
    KNOWN("x-forwarded-for", h_forwarded_for),
    KNOWN("sec-websocket-extensions", h_extensions),
    KNOWN("origin", h_origin),
    KNOWN("sec-websocket-protocol", h_protocol),
};
#undef KNOWN

/* Bits of ws_http_parser.elem_flags, describing the current element of a
 * comma-separated value (a token list, or X-Forwarded-For). */
enum {
    E_STARTED = 1, /* a non-whitespace byte of this element was seen */
    E_BAD = 2,     /* the element is not a single token: it matches nothing */
    E_SLASH = 4,   /* Upgrade: past the "/" of protocol-name "/" protocol-version */
    E_DONE = 8     /* X-Forwarded-For: the first element is complete */
};

/* RFC 9110 §5.6.2: tchar, one entry per byte value. Rows are 16 bytes,
 * starting at 0x00; only visible ASCII other than the delimiters
 * (DQUOTE and "(),/:;<=>?@[\]{}") is a token character. */
/* clang-format off */
static const uint8_t tchar_table[256] = {
    /* 0x00-0x1f: control characters */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20-0x2f:  SP ! " # $ % & ' ( ) * + , - . / */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,
    /* 0x30-0x3f:  0-9 : ; < = > ? */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    /* 0x40-0x4f:  @ A-O */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x50-0x5f:  P-Z [ \ ] ^ _ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    /* 0x60-0x6f:  ` a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x70-0x7f:  p-z { | } ~ DEL */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
    /* 0x80-0xff: not ASCII, never a token character (zero-initialised) */
    /* clang-format on */
};

static int is_tchar(uint8_t c) { return tchar_table[c]; }

/* RFC 9110 §5.6.3: OWS is made of SP and HTAB only. */
static int is_ws(uint8_t c) { return c == ' ' || c == '\t'; }

/* RFC 9110 §5.5: a field value byte that is not whitespace: VCHAR
 * (0x21-0x7E) or obs-text (0x80-0xFF). Everything else below 0x21, and
 * DEL, is a control character. */
static int is_value_char(uint8_t c) { return c > 0x20 && c != 0x7f; }

/* ASCII-only lower-casing: locale-independent, unlike tolower(). */
static char lower(uint8_t c) { return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

/* The header counts are single bytes; a request with 257 Host fields must
 * not look like it has one, so they stop at 255 instead of wrapping. */
static void count_up(uint8_t *n) {
    if (*n < UINT8_MAX) (*n)++;
}

/* A field name has ended at its colon: decide which known header it is
 * (by length and content, so "X-Host" is not "Host"), and set up the state
 * for reading its value. */
static void field_begin(ws_http_parser *ps) {
    ps->header = h_other;
    /* A name longer than the buffer was not stored whole; no known name is
     * that long, so it is simply another header. */
    if (ps->name_len <= sizeof(ps->name)) {
        for (size_t i = 0; i < sizeof(known_headers) / sizeof(known_headers[0]); i++) {
            if (known_headers[i].len == ps->name_len &&
                memcmp(known_headers[i].name, ps->name, ps->name_len) == 0) {
                ps->header = known_headers[i].id;
                break;
            }
        }
    }
    ps->value_len = 0;
    ps->value_trim = 0;
    ps->pending_ws = 0;
    ps->number = 0;
    ps->number_ok = 1;
    ps->token_len = 0;
    ps->elem_flags = 0;

    ws_http_request *req = &ps->req;
    switch (ps->header) {
    case h_host: count_up(&req->host_count); break;
    case h_upgrade: req->has_upgrade = 1; break;
    case h_key:
        /* Keep the first key; a second one makes the request invalid
         * anyway (classify checks key_count), so its value is not read. */
        count_up(&req->key_count);
        if (req->key_count > 1) ps->header = h_other;
        break;
    case h_version:
        count_up(&req->version_count);
        if (req->version_count > 1) ps->header = h_other;
        break;
    case h_transfer_encoding:
        /* RFC 9112 §6.1: any Transfer-Encoding means a body follows. */
        req->has_body = 1;
        break;
    case h_forwarded_for:
        /* Only the first X-Forwarded-For header names the client. */
        if (ps->forwarded_seen) ps->header = h_other;
        ps->forwarded_seen = 1;
        break;
    case h_extensions:
        /* RFC 7692 §5: offers may come in several headers, one list. */
        ws_pmd_header_begin(&ps->pmd);
        break;
    case h_origin:
        /* RFC 6454 §7.3: one Origin; a request with two is judged by the
         * server (refused where origins are checked), the second unread. */
        count_up(&req->origin_count);
        if (req->origin_count > 1) ps->header = h_other;
        break;
    case h_protocol:
        /* RFC 6455 §4.1: several headers are one list. */
        req->protocol_offered = 1;
        break;
    default: break;
    }
}

/* A complete element of Sec-WebSocket-Protocol, ps->ptoken[0..token_len):
 * the first one the server speaks is the one chosen (§4.2.2 item 5.5: the
 * server selects one of the client's values; the client listed them by
 * preference, §4.1). Names are compared exactly: the RFC gives them no
 * case-insensitivity. */
static void protocol_element(ws_http_parser *ps) {
    ws_http_request *req = &ps->req;
    if (req->protocol[0] || ps->token_len > WS_HTTP_MAX_PROTOCOL) return;
    for (size_t i = 0; i < ps->nprotocols; i++) {
        const char *name = ps->protocols[i];
        int any = name[0] == '*' && name[1] == '\0';
        if (any ||
            (strlen(name) == ps->token_len && memcmp(name, ps->ptoken, ps->token_len) == 0)) {
            memcpy(req->protocol, ps->ptoken, ps->token_len);
            req->protocol[ps->token_len] = '\0';
            return;
        }
    }
}

/* Copy a value byte into dst (cap bytes plus a NUL), remembering where the
 * value ends without its trailing whitespace. Bytes past cap are counted
 * but not stored, so the caller can tell the value did not fit. */
static void copy_byte(ws_http_parser *ps, uint8_t c, char *dst, size_t cap) {
    if (ps->value_len < cap) dst[ps->value_len] = (char)c;
    ps->value_len++;
    if (!is_ws(c)) ps->value_trim = ps->value_len;
}

/* A byte of a decimal value (Sec-WebSocket-Version, Content-Length).
 * Returns 0 once the value is proven not to be a plain number. */
static int number_byte(ws_http_parser *ps, uint8_t c) {
    if (is_ws(c)) {
        ps->pending_ws = 1; /* only trailing whitespace is allowed now */
        return ps->number_ok;
    }
    if (c < '0' || c > '9' || ps->pending_ws) {
        ps->number_ok = 0;
        return 0;
    }
    /* Saturate instead of wrapping: any huge number is still non-zero (a
     * body) and still not 13. */
    uint64_t d = (uint64_t)(c - '0');
    if (ps->number <= (UINT64_MAX - d) / 10)
        ps->number = ps->number * 10 + d;
    else
        ps->number = UINT64_MAX;
    ps->value_len++;
    return ps->number_ok;
}

/* The current element of a token list has ended (at a comma or at the end
 * of the value): see whether it is the token we look for, then reset. */
static void list_element_end(ws_http_parser *ps) {
    ws_http_request *req = &ps->req;
    if (!(ps->elem_flags & E_BAD)) {
        /* Tokens were stored lower-cased, and a token longer than the buffer
         * has token_len > sizeof token, so it cannot match either length. */
        if (ps->header == h_upgrade && ps->token_len == 9 && memcmp(ps->token, "websocket", 9) == 0)
            req->upgrade_websocket = 1;
        if (ps->header == h_connection && ps->token_len == 7 &&
            memcmp(ps->token, "upgrade", 7) == 0)
            req->connection_upgrade = 1;
        if (ps->header == h_protocol && ps->token_len > 0) protocol_element(ps);
    }
    ps->token_len = 0;
    ps->elem_flags = 0;
    ps->pending_ws = 0;
}

/* A byte of a comma-separated token list (RFC 9110 §5.6.1):
 *   #element = [ element ] *( OWS "," OWS [ element ] )
 * Connection's elements are tokens (§7.6.1); Upgrade's are protocols,
 * protocol-name ["/" protocol-version] (§7.8), and only the name is
 * compared. An element that is not a single token (inner whitespace, a
 * delimiter) is not an error, it just matches nothing. */
static void list_byte(ws_http_parser *ps, uint8_t c) {
    if (c == ',') {
        list_element_end(ps);
        return;
    }
    if (is_ws(c)) {
        if (ps->elem_flags & E_STARTED) ps->pending_ws = 1;
        return;
    }
    if (ps->pending_ws) ps->elem_flags |= E_BAD; /* "up grade" is two words */
    ps->elem_flags |= E_STARTED;
    if (ps->elem_flags & E_SLASH) return; /* protocol-version: ignored */
    if (c == '/' && ps->header == h_upgrade && ps->token_len > 0) {
        ps->elem_flags |= E_SLASH;
        return;
    }
    if (!is_tchar(c)) {
        ps->elem_flags |= E_BAD;
        return;
    }
    if (ps->token_len < sizeof(ps->token)) ps->token[ps->token_len] = lower(c);
    if (ps->token_len < sizeof(ps->ptoken)) ps->ptoken[ps->token_len] = (char)c;
    ps->token_len++;
}

/* One byte of a field value, leading whitespace already skipped. Returns 0
 * or WS_E_HTTP_SYNTAX if the byte proves the value invalid. */
static int value_byte(ws_http_parser *ps, uint8_t c) {
    ws_http_request *req = &ps->req;
    switch (ps->header) {
    case h_upgrade:
    case h_connection:
    case h_protocol: list_byte(ps, c); return 0;
    case h_origin: copy_byte(ps, c, req->origin, WS_HTTP_MAX_ORIGIN); return 0;
    case h_key: copy_byte(ps, c, req->key, WS_HTTP_MAX_KEY); return 0;
    case h_forwarded_for:
        /* X-Forwarded-For: client, proxy1, proxy2 -- keep the first. */
        if (ps->elem_flags & E_DONE) return 0;
        if (c == ',') {
            ps->elem_flags |= E_DONE;
            return 0;
        }
        copy_byte(ps, c, req->forwarded_for, WS_HTTP_MAX_FORWARDED);
        return 0;
    case h_version:
        /* RFC 6455 §4.3: version = 1*3DIGIT with no leading zeros, so
         * "013" is not 13. Not a number: ws_version = -1, later 426. */
        if (c >= '0' && c <= '9' && ps->value_len == 1 && ps->number == 0) ps->number_ok = 0;
        (void)number_byte(ps, c);
        return 0;
    case h_content_length:
        /* RFC 9112 §6.3: an invalid Content-Length is unrecoverable
         * framing, so it is an error right away. */
        return number_byte(ps, c) ? 0 : WS_E_HTTP_SYNTAX;
    case h_extensions: ws_pmd_feed(&ps->pmd, &c, 1); return 0;
    default: return 0;
    }
}

/* The value of the current field has ended (its CR or LF arrived). Returns
 * 0 or WS_E_HTTP_SYNTAX. */
static int field_end(ws_http_parser *ps) {
    ws_http_request *req = &ps->req;
    switch (ps->header) {
    case h_upgrade:
    case h_connection:
    case h_protocol: list_element_end(ps); break;
    case h_origin:
        /* origin_len is the full trimmed length: an Origin too long to
         * keep cannot pass for its first 256 bytes. */
        req->origin_len = ps->value_trim;
        req->origin[ps->value_trim < WS_HTTP_MAX_ORIGIN ? ps->value_trim : WS_HTTP_MAX_ORIGIN] =
            '\0';
        break;
    case h_key:
        /* key_len is the trimmed length even when it did not fit, so an
         * over-long key cannot pass for its first 64 bytes. */
        req->key_len = ps->value_trim;
        req->key[ps->value_trim < WS_HTTP_MAX_KEY ? ps->value_trim : WS_HTTP_MAX_KEY] = '\0';
        break;
    case h_forwarded_for:
        if (ps->value_trim <= WS_HTTP_MAX_FORWARDED)
            req->forwarded_for[ps->value_trim] = '\0';
        else
            memset(req->forwarded_for, 0, sizeof(req->forwarded_for));
        break;
    case h_version:
        req->ws_version =
            ps->number_ok && ps->value_len > 0 && ps->number <= INT_MAX ? (int)ps->number : -1;
        break;
    case h_content_length:
        if (ps->value_len == 0) return WS_E_HTTP_SYNTAX; /* empty */
        if (ps->number > 0) req->has_body = 1;
        break;
    case h_extensions:
        ws_pmd_header_end(&ps->pmd);
        req->pmd_offered = (uint8_t)ws_pmd_offered(&ps->pmd, &req->pmd);
        break;
    default: break;
    }
    return 0;
}

void ws_http_parser_init(ws_http_parser *p, size_t max_head) {
    assert(p != NULL);
    memset(p, 0, sizeof(*p));
    p->state = s_start;
    p->max_head = max_head;
    p->req.ws_version = -1; /* absent until a Sec-WebSocket-Version is read */
}

void ws_http_parser_protocols(ws_http_parser *p, const char *const *names, size_t n) {
    p->protocols = names;
    p->nprotocols = n;
}

int ws_http_feed(ws_http_parser *ps, const uint8_t *buf, size_t len, size_t *consumed) {
    assert(ps != NULL && consumed != NULL && (buf != NULL || len == 0));
    ws_http_request *req = &ps->req;
    const uint8_t *p, *end;
    int state = ps->state;
    int err;

    if (state == s_done || state == s_dead || len == 0) {
        /* Nothing to do; and buf may be NULL when len is 0, where even
         * buf + 0 would be undefined. */
        *consumed = 0;
        return state == s_done ? WS_HTTP_DONE : state == s_dead ? ps->error : WS_HTTP_AGAIN;
    }
    end = buf + len;

    for (p = buf; p < end; p++) {
        uint8_t c = *p;

        /* Every byte of the head counts, empty lines included; fail on the
         * first byte past the limit rather than when the head ends, so a
         * client cannot make us read an endless head. */
        if (ps->seen >= ps->max_head) {
            err = WS_E_HTTP_TOO_LARGE;
            goto fail;
        }
        ps->seen++;

        switch (state) {
        case s_start:
            if (c == '\r') {
                state = s_start_lf;
            } else if (c == '\n') {
                /* RFC 9112 §2.2: ignore an empty line before the request. */
            } else if (is_tchar(c)) {
                ps->method[0] = (char)c;
                ps->method_len = 1;
                state = s_method;
            } else {
                goto syntax;
            }
            break;

        case s_start_lf:
            if (c != '\n') goto syntax;
            state = s_start;
            break;

        case s_method:
            if (is_tchar(c)) {
                /* Only GET and HEAD matter; a longer method is "other". The
                 * length stops one past the buffer so it cannot wrap. */
                if (ps->method_len < sizeof(ps->method)) ps->method[ps->method_len] = (char)c;
                if (ps->method_len <= sizeof(ps->method)) ps->method_len++;
            } else if (c == ' ') {
                /* RFC 9110 §9.1: the method is case-sensitive. */
                if (ps->method_len == 3 && memcmp(ps->method, "GET", 3) == 0)
                    req->method = WS_HTTP_METHOD_GET;
                else if (ps->method_len == 4 && memcmp(ps->method, "HEAD", 4) == 0)
                    req->method = WS_HTTP_METHOD_HEAD;
                else
                    req->method = WS_HTTP_METHOD_OTHER;
                state = s_target_start;
            } else {
                goto syntax;
            }
            break;

        case s_target_start:
        case s_target:
            if (c >= 0x21 && c <= 0x7e) {
                if (req->target_len == WS_HTTP_MAX_TARGET) {
                    err = WS_E_HTTP_URI_LONG; /* RFC 9112 §3: 414 */
                    goto fail;
                }
                req->target[req->target_len++] = (char)c;
                state = s_target;
            } else if (c == ' ' && state == s_target) {
                req->target[req->target_len] = '\0';
                ps->name_len = 0; /* index into "HTTP/" */
                state = s_http_name;
            } else {
                goto syntax; /* a second SP, a control byte, HTTP/0.9 ... */
            }
            break;

        case s_http_name:
            /* RFC 9112 §2.3: HTTP-name is "HTTP", case-sensitive. */
            if (c != (uint8_t) "HTTP/"[ps->name_len]) goto syntax;
            if (++ps->name_len == 5) state = s_major;
            break;

        case s_major:
            if (c < '0' || c > '9') goto syntax;
            if (c != '1') {
                /* HTTP/0.9, 2, 3: known unsupported from this digit on. */
                err = WS_E_HTTP_VERSION;
                goto fail;
            }
            req->version_major = 1;
            state = s_dot;
            break;

        case s_dot:
            if (c != '.') goto syntax;
            state = s_minor;
            break;

        case s_minor:
            if (c < '0' || c > '9') goto syntax;
            req->version_minor = (uint8_t)(c - '0');
            state = s_line_end;
            break;

        case s_line_end:
            if (c == '\r')
                state = s_line_lf;
            else if (c == '\n')
                state = s_field_start;
            else
                goto syntax;
            break;

        case s_line_lf:
            if (c != '\n') goto syntax;
            state = s_field_start;
            break;

        case s_field_start:
            if (c == '\r') {
                state = s_end_lf;
            } else if (c == '\n') {
                goto done;
            } else if (is_tchar(c)) {
                ps->name[0] = lower(c);
                ps->name_len = 1;
                state = s_name;
            } else {
                /* SP/HTAB here is obs-fold (RFC 9112 §5.2), or whitespace
                 * after the request line (§2.2); both are rejected. */
                goto syntax;
            }
            break;

        case s_name:
            if (is_tchar(c)) {
                /* Lower-cased so known names compare with memcmp; the length
                 * keeps counting past the buffer (then it is no known name). */
                if (ps->name_len < sizeof(ps->name)) ps->name[ps->name_len] = lower(c);
                ps->name_len++;
            } else if (c == ':') {
                field_begin(ps);
                state = s_ows;
            } else {
                /* RFC 9112 §5.1: whitespace before the colon must be
                 * answered with 400; so must any other non-token byte. */
                goto syntax;
            }
            break;

        case s_ows:
        case s_value:
            if (is_ws(c) && state == s_ows) break; /* leading OWS is not value */
            if (is_ws(c) || is_value_char(c)) {
                state = s_value;
                if ((err = value_byte(ps, c)) != 0) goto fail;
            } else if (c == '\r' || c == '\n') {
                if ((err = field_end(ps)) != 0) goto fail;
                state = c == '\r' ? s_value_lf : s_field_start;
            } else {
                goto syntax; /* a control character inside a value */
            }
            break;

        case s_value_lf:
            if (c != '\n') goto syntax;
            state = s_field_start;
            break;

        case s_end_lf:
            if (c != '\n') goto syntax;
            goto done;

        default: assert(!"unreachable parser state"); goto syntax;
        }
    }

    ps->state = state;
    *consumed = len;
    return WS_HTTP_AGAIN;

done:
    /* p is at the LF that ends the head; what follows is not ours. */
    ps->state = s_done;
    *consumed = (size_t)(p - buf) + 1;
    return WS_HTTP_DONE;

syntax:
    err = WS_E_HTTP_SYNTAX;
fail:
    /* *consumed: the bytes before the offending one, for diagnostics. */
    ps->state = s_dead;
    ps->error = err;
    *consumed = (size_t)(p - buf);
    return err;
}

/* Whether key is canonical base64 of exactly 16 bytes (RFC 6455 §4.2.1
 * item 5). Decoding into a buffer larger than 16 bytes means "decodes to
 * more" fails the length test, not the buffer test. */
static int key_is_valid(const char *key, size_t key_len) {
    uint8_t raw[WS_BASE64_DECODED_MAX(WS_HTTP_MAX_KEY)];
    if (key_len == 0 || key_len > WS_HTTP_MAX_KEY) return 0;
    return ws_base64_decode(key, key_len, raw, sizeof(raw)) == 16;
}

/* The verdict on a complete request, and why (for the log). */
static int classify(const ws_http_request *req, const char **why) {
    int http11 = req->version_major > 1 || (req->version_major == 1 && req->version_minor >= 1);
#define VERDICT(status, text) return (*why = (text), (status))

    /* A request is a handshake attempt if it carries any of the headers
     * only a WebSocket client sends; one that has the key or version but
     * lacks Upgrade is a broken handshake (400), not a request for a file. */
    if (!req->has_upgrade && req->key_count == 0 && req->version_count == 0) {
        /* A plain request: the server serves files, nothing else. */
        if (req->method != WS_HTTP_METHOD_GET && req->method != WS_HTTP_METHOD_HEAD)
            VERDICT(405, "only GET and HEAD are served");
        /* RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for
         * any request with more than one. */
        if (req->host_count > 1) VERDICT(400, "more than one Host header");
        if (http11 && req->host_count == 0) VERDICT(400, "no Host header");
        /* The server never reads a request body, so it cannot tell where
         * one would end; it refuses rather than guess. */
        if (req->has_body) VERDICT(400, "a request body");
        VERDICT(WS_HTTP_PLAIN, "a file");
    }

    /* RFC 6455 §4.2.1, items 1 to 6, in order. */
    if (req->method != WS_HTTP_METHOD_GET) VERDICT(400, "handshake: not a GET");
    if (!http11) VERDICT(400, "handshake: not HTTP/1.1 or later");
    if (req->host_count != 1) VERDICT(400, "handshake: Host missing or repeated");
    if (!req->upgrade_websocket) VERDICT(400, "handshake: Upgrade does not name websocket");
    if (!req->connection_upgrade) VERDICT(400, "handshake: Connection does not name upgrade");
    if (req->key_count != 1 || !key_is_valid(req->key, req->key_len))
        VERDICT(400, "handshake: Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64");
    /* RFC 6455 §4.1: the handshake is a GET without a body; bytes after the
     * head are the first frames, and a body would be read as one. */
    if (req->has_body) VERDICT(400, "handshake: a request body");
    /* RFC 6455 §4.4: any other version gets 426 with the versions we speak
     * (ws_http_write_error adds Sec-WebSocket-Version: 13). */
    if (req->version_count != 1 || req->ws_version != WS_VERSION)
        VERDICT(426, "handshake: Sec-WebSocket-Version is not 13");
    VERDICT(WS_HTTP_UPGRADE, "a valid handshake");
#undef VERDICT
}

int ws_http_classify(const ws_http_request *req) {
    const char *why;
    assert(req != NULL);
    return classify(req, &why);
}

int ws_http_classify_why(const ws_http_request *req, const char **why) {
    assert(req != NULL && why != NULL);
    return classify(req, why);
}

void ws_http_accept_key(const char *key, size_t key_len, char out[WS_HTTP_ACCEPT_LEN + 1]) {
    uint8_t digest[WS_SHA1_DIGEST_LEN];
    ws_sha1_ctx ctx;

    /* RFC 6455 §4.2.2 item 5.4: the key as sent (its base64 text, not the
     * decoded bytes), then the GUID; SHA-1; base64. */
    ws_sha1_init(&ctx);
    ws_sha1_update(&ctx, key, key_len);
    ws_sha1_update(&ctx, WS_GUID, WS_GUID_LEN);
    ws_sha1_final(&ctx, digest);
    size_t n = ws_base64_encode(digest, sizeof(digest), out);
    assert(n == WS_HTTP_ACCEPT_LEN);
    (void)n;
}

const char *ws_http_reason(int status) {
    /* RFC 9110 §15, every 4xx and 5xx it defines (a handler's on_request
     * may refuse with any of them), and 426 (§15.5.22), 428 and 429 (RFC
     * 6585), 431 (RFC 6585 §5). */
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "Unknown";
    }
}

/* snprintf's result as this module's convention: the length, or -1 when
 * the output did not fit in cap bytes (including its NUL). */
static int fitted(int n, size_t cap) { return n < 0 || (size_t)n >= cap ? -1 : n; }

int ws_http_write_101(char *out, size_t cap, const char accept[WS_HTTP_ACCEPT_LEN + 1],
                      const char *extra) {
    /* RFC 6455 §4.2.2 item 5: status 101, Upgrade, Connection, and the
     * accept value; then what was agreed (items 5.5, 5.6: the subprotocol,
     * the extensions), given as whole header lines. */
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.*s\r\n"
                     "%s"
                     "\r\n",
                     WS_HTTP_ACCEPT_LEN, accept, extra ? extra : "");
    return fitted(n, cap);
}

int ws_http_write_error(char *out, size_t cap, int status) {
    const char *reason = ws_http_reason(status);
    const char *extra = "";
    char body[64];

    switch (status) {
    case 405:
        /* RFC 9110 §15.5.6: a 405 must list the allowed methods. */
        extra = "Allow: GET, HEAD\r\n";
        break;
    case 426:
        /* RFC 6455 §4.4: the versions the server speaks. RFC 9110
         * §15.5.22: a 426 names the protocol to upgrade to. */
        extra = "Upgrade: websocket\r\n"
                "Sec-WebSocket-Version: 13\r\n";
        break;
    case 503: extra = "Retry-After: 1\r\n"; break;
    default: break;
    }
    int body_len = snprintf(body, sizeof(body), "%d %s\n", status, reason);
    assert(body_len > 0 && (size_t)body_len < sizeof(body));

    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %d\r\n"
                     "Connection: close\r\n"
                     "%s"
                     "\r\n"
                     "%s",
                     status, reason, body_len, extra, body);
    return fitted(n, cap);
}

int ws_http_write_head(char *out, size_t cap, int status, const char *content_type,
                       size_t body_len) {
    int n;
    /* A response without content (304) has no Content-Type to give. */
    if (content_type != NULL)
        n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     status, ws_http_reason(status), content_type, body_len);
    else
        n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     status, ws_http_reason(status), body_len);
    return fitted(n, cap);
}

/* ---- The server's lists: --subprotocol and --allow-origin --------------- */

int ws_http_split_protocols(const char *list, char *buf, size_t cap, const char **names, size_t max,
                            char *err, size_t errcap) {
    size_t n = 0, len = list ? strlen(list) : 0;
    if (len == 0) return 0;
    if (len >= cap) {
        snprintf(err, errcap, "the list is longer than %zu bytes", cap - 1);
        return -1;
    }
    memcpy(buf, list, len + 1);
    for (char *p = buf, *next; p; p = next) {
        next = strchr(p, ',');
        if (next) *next++ = '\0';
        size_t l = strlen(p);
        /* RFC 6455 §4.1: each is a non-empty token (§11.3.4's registry
         * names are the same); "*" stands for any. */
        int ok = l > 0 && l <= WS_HTTP_MAX_PROTOCOL;
        for (size_t i = 0; ok && i < l; i++) ok = is_tchar((uint8_t)p[i]);
        if (!ok && !(l == 1 && p[0] == '*')) {
            snprintf(err, errcap,
                     "'%.80s' is not a subprotocol name (a token of 1 to %d "
                     "characters, or *)",
                     p, WS_HTTP_MAX_PROTOCOL);
            return -1;
        }
        if (n == max) {
            snprintf(err, errcap, "more than %zu subprotocols", max);
            return -1;
        }
        names[n++] = p;
    }
    return (int)n;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n). */
static int eq_nocase(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lower((uint8_t)a[i]) != lower((uint8_t)b[i])) return 0;
    return 1;
}

/* Does one --allow-origin entry e[0..elen) admit origin o[0..olen)? An
 * entry is an origin as browsers serialise it (RFC 6454 §6.1: scheme
 * "://" host [":" port]), compared case-insensitively, or "null"; or a
 * wildcard, scheme "://" "*." domain [":" port], which admits every
 * subdomain of domain at any depth, but not domain itself. */
static int origin_entry_match(const char *e, size_t elen, const char *o, size_t olen) {
    size_t scheme = 0; /* the length of scheme "://" in a wildcard entry */
    for (size_t i = 0; i + 5 <= elen; i++)
        if (memcmp(e + i, "://*.", 5) == 0) {
            scheme = i + 3;
            break;
        }
    if (!scheme) return elen == olen && eq_nocase(e, o, olen);
    size_t suffix = elen - scheme - 1;        /* ".example.com[:port]" */
    if (olen < scheme + suffix + 1) return 0; /* at least one label before it */
    if (!eq_nocase(e, o, scheme) || !eq_nocase(e + scheme + 1, o + olen - suffix, suffix)) return 0;
    /* The part the star stands for: labels only, no port, path or user. */
    for (size_t i = scheme; i < olen - suffix; i++)
        if (o[i] == ':' || o[i] == '/' || o[i] == '@') return 0;
    return 1;
}

int ws_http_origin_allowed(const char *list, const char *origin, size_t origin_len) {
    if (!list || !*list) return 1;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (origin_entry_match(p, l, origin, origin_len)) return 1;
        p += l + (end ? 1 : 0);
    }
    return 0;
}

int ws_http_origin_list_check(const char *list, char *err, size_t errcap) {
    if (!list) return 0;
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        const char *sep = NULL;
        int ok = l > 0;
        for (size_t i = 0; ok && i + 3 <= l; i++)
            if (memcmp(p + i, "://", 3) == 0) {
                sep = p + i;
                break;
            }
        if (l == 4 && memcmp(p, "null", 4) == 0) {
            ok = 1; /* RFC 6454 §7.3: sandboxed documents, file: pages */
        } else if (!sep || sep == p || sep + 3 == p + l) {
            ok = 0; /* scheme "://" host, both non-empty */
        } else {
            for (const char *q = p; ok && q < sep; q++)
                ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                     (q > p && ((*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.'));
            const char *host = sep + 3;
            if (ok && host + 2 <= p + l && host[0] == '*') ok = host[1] == '.' && host + 2 < p + l;
            for (const char *q = host + (host[0] == '*' ? 2 : 0); ok && q < p + l; q++)
                ok = *q > ' ' && *q < 0x7f && *q != '/' && *q != '*' && *q != '?' && *q != '#';
        }
        if (!ok) {
            snprintf(err, errcap,
                     "'%.*s' is not an origin (scheme://host[:port], "
                     "scheme://"
                     "*.domain[:port] or null)",
                     (int)(l < 80 ? l : 80), p);
            return -1;
        }
        if (!end) return 0;
        p = end + 1;
    }
}

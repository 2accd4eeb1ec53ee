/*
 * pmd.c -- permessage-deflate negotiation (pmd.h).
 *
 * Reference card:
 *
 *   RFC 6455 §9.1 (with RFC 9110 §5.6's OWS around the separators)
 *     Sec-WebSocket-Extensions = 1#extension
 *     extension       = extension-token *( ";" extension-param )
 *     extension-param = token [ "=" ( token | quoted-string ) ]
 *       (a quoted value must be a token once unquoted)
 *
 *   RFC 7692 §7.1: the parameters of a permessage-deflate offer
 *     server_no_context_takeover   no value  the server must reset its
 *                                            compressor after each message
 *     client_no_context_takeover   no value  the client will (a hint)
 *     server_max_window_bits       8..15     the server's window may be at
 *                                            most 2^value bytes
 *     client_max_window_bits       none or   the client can limit its
 *                                  8..15     window (to the response's value)
 *   §5: decline an offer with an unknown parameter, a parameter twice, or
 *       an invalid value; consider the next (the order is the client's
 *       preference).
 *   The response: server_no_context_takeover if offered (or if the server
 *   wants it anyway); client_no_context_takeover whenever the server wants
 *   it; server_max_window_bits no larger than offered; client_max_window_bits
 *   only if offered, and no larger than an offered value.
 */
#include "pmd.h"

#include <stdio.h>
#include <string.h>

enum {
    P_LIST = 0,    /* before an element: OWS, commas */
    P_NAME,        /* the extension's name */
    P_AFTER_NAME,  /* OWS after it */
    P_PSTART,      /* after ";": OWS, then a parameter name */
    P_PNAME,       /* a parameter name */
    P_AFTER_PNAME, /* OWS after it */
    P_VSTART,      /* after "=": OWS, then a value */
    P_VALUE,       /* a token value */
    P_QVALUE,      /* a quoted-string value */
    P_QESC,        /* after a backslash in it */
    P_AFTER_VALUE, /* OWS after a value */
    P_SKIP,        /* a malformed element: to the next comma */
    P_SKIP_Q,      /* ... inside a quoted string */
    P_SKIP_QESC    /* ... after a backslash in it */
};

static const char ext_name[] = "permessage-deflate";
#define EXT_NAME_LEN (sizeof(ext_name) - 1)

/* The parameters of an offer, in the order of the seen/param_cands bits. */
enum { SNCT = 0, CNCT, SMWB, CMWB, NPARAMS };
static const char *const param_names[NPARAMS] = {
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
};
#define NO_MATCH 0xFF

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(uint8_t c) {
    if (c >= '0' && c <= '9') return 1;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ws(uint8_t c) { return c == ' ' || c == '\t'; }

static uint8_t lower(uint8_t c) { return (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c); }

void ws_pmd_parser_init(ws_pmd_parser *p) { memset(p, 0, sizeof(*p)); }

static void element_reset(ws_pmd_parser *p) {
    p->name_match = 0;
    p->name_ok = 0;
    p->bad = 0;
    p->seen = 0;
    memset(&p->cur, 0, sizeof(p->cur));
}

/* An element has ended (comma, or the end of the header). */
static void element_end(ws_pmd_parser *p) {
    if (p->name_ok) {
        if (p->offers < UINT8_MAX) p->offers++;
        if (!p->bad && !p->found) {
            p->accepted = p->cur;
            p->found = 1;
        }
    }
    element_reset(p);
    p->state = P_LIST;
}

/* The element is malformed or declined. */
static void decline(ws_pmd_parser *p) { p->bad = 1; }

static void param_begin(ws_pmd_parser *p) {
    p->param_match = 0;
    p->param_cands = (1u << NPARAMS) - 1;
    p->param = NO_MATCH;
    p->value_len = 0;
    p->value = 0;
    p->has_value = 0;
}

static void param_name_byte(ws_pmd_parser *p, uint8_t c) {
    for (int i = 0; i < NPARAMS; i++)
        if ((p->param_cands & (1u << i)) && (p->param_match >= strlen(param_names[i]) ||
                                             lower(c) != (uint8_t)param_names[i][p->param_match]))
            p->param_cands &= (uint8_t) ~(1u << i);
    if (p->param_match < UINT8_MAX) p->param_match++;
}

static void param_name_end(ws_pmd_parser *p) {
    p->param = NO_MATCH;
    for (int i = 0; i < NPARAMS; i++)
        if ((p->param_cands & (1u << i)) && p->param_match == strlen(param_names[i]))
            p->param = (uint8_t)i;
    /* §5: a parameter not defined for an offer declines it. Other
     * extensions' parameters are none of our business. */
    if (p->name_ok && p->param == NO_MATCH) decline(p);
}

/* A byte of a parameter's value (unquoted already). Only window sizes
 * have values we use: up to two digits, no leading zero. */
static void value_byte(ws_pmd_parser *p, uint8_t c) {
    if (!is_tchar(c)) {
        decline(p); /* §9.1: a value must be a token, quoted or not */
        return;
    }
    if (c < '0' || c > '9' || (p->value_len == 1 && p->value == 0) || p->value_len >= 2) {
        p->value_len = 3; /* not a window size */
        return;
    }
    p->value = (uint8_t)(p->value * 10 + (c - '0'));
    p->value_len++;
}

/* A parameter has ended: check it against RFC 7692 §7.1. */
static void param_end(ws_pmd_parser *p) {
    int valid_bits = p->value_len >= 1 && p->value_len <= 2 && p->value >= 8 && p->value <= 15;
    if (!p->name_ok || p->param == NO_MATCH) return;
    if (p->seen & (1u << p->param)) {
        decline(p); /* §5: the same parameter twice */
        return;
    }
    p->seen |= (uint8_t)(1u << p->param);
    switch (p->param) {
    case SNCT:
    case CNCT:
        /* §7.1.1.1, §7.1.1.2: these have no value. */
        if (p->has_value) decline(p);
        if (p->param == SNCT)
            p->cur.server_no_context_takeover = 1;
        else
            p->cur.client_no_context_takeover = 1;
        break;
    case SMWB:
        /* §7.1.2.1: a value 8..15 is required. */
        if (!p->has_value || !valid_bits)
            decline(p);
        else
            p->cur.server_max_window_bits = p->value;
        break;
    case CMWB:
        /* §7.1.2.2: no value, or 8..15. */
        if (!p->has_value)
            p->cur.client_max_window_bits = 1;
        else if (valid_bits)
            p->cur.client_max_window_bits = p->value;
        else
            decline(p);
        break;
    default: break;
    }
}

static void feed_byte(ws_pmd_parser *p, uint8_t c) {
    switch (p->state) {
    case P_LIST:
        if (is_ws(c) || c == ',') return;
        if (!is_tchar(c)) {
            decline(p);
            p->state = c == '"' ? P_SKIP_Q : P_SKIP;
            return;
        }
        p->state = P_NAME;
        /* The byte is the name's first. */
        /* fall through */
    case P_NAME:
        if (is_tchar(c)) {
            if (p->name_match < EXT_NAME_LEN && lower(c) == (uint8_t)ext_name[p->name_match])
                p->name_match++;
            else
                p->name_match = NO_MATCH;
            return;
        }
        p->name_ok = p->name_match == EXT_NAME_LEN;
        p->state = P_AFTER_NAME;
        /* The byte ends the name. */
        /* fall through */
    case P_AFTER_NAME:
        if (is_ws(c)) return;
        if (c == ';') {
            p->state = P_PSTART;
        } else if (c == ',') {
            element_end(p);
        } else {
            decline(p);
            p->state = c == '"' ? P_SKIP_Q : P_SKIP;
        }
        return;
    case P_PSTART:
        if (is_ws(c)) return;
        if (!is_tchar(c)) {
            decline(p);
            p->state = c == ',' ? P_LIST : c == '"' ? P_SKIP_Q : P_SKIP;
            if (c == ',') element_end(p);
            return;
        }
        param_begin(p);
        p->state = P_PNAME;
        /* fall through */
    case P_PNAME:
        if (is_tchar(c)) {
            param_name_byte(p, c);
            return;
        }
        param_name_end(p);
        p->state = P_AFTER_PNAME;
        /* fall through */
    case P_AFTER_PNAME:
        if (is_ws(c)) return;
        if (c == '=') {
            p->has_value = 1;
            p->state = P_VSTART;
        } else if (c == ';') {
            param_end(p);
            p->state = P_PSTART;
        } else if (c == ',') {
            param_end(p);
            element_end(p);
        } else {
            decline(p);
            p->state = c == '"' ? P_SKIP_Q : P_SKIP;
        }
        return;
    case P_VSTART:
        if (is_ws(c)) return;
        if (c == '"') {
            p->state = P_QVALUE;
            return;
        }
        if (!is_tchar(c)) {
            decline(p);
            p->state = P_SKIP;
            if (c == ',') element_end(p);
            return;
        }
        p->state = P_VALUE;
        /* fall through */
    case P_VALUE:
        if (is_tchar(c)) {
            value_byte(p, c);
            return;
        }
        p->state = P_AFTER_VALUE;
        /* fall through */
    case P_AFTER_VALUE:
        if (is_ws(c)) return;
        if (c == ';') {
            param_end(p);
            p->state = P_PSTART;
        } else if (c == ',') {
            param_end(p);
            element_end(p);
        } else {
            decline(p);
            p->state = c == '"' ? P_SKIP_Q : P_SKIP;
        }
        return;
    case P_QVALUE:
        if (c == '"') {
            /* An empty quoted value is not a token. */
            if (p->value_len == 0) decline(p);
            p->state = P_AFTER_VALUE;
        } else if (c == '\\') {
            p->state = P_QESC;
        } else {
            value_byte(p, c);
        }
        return;
    case P_QESC:
        value_byte(p, c);
        p->state = P_QVALUE;
        return;
    case P_SKIP:
        if (c == ',')
            element_end(p);
        else if (c == '"')
            p->state = P_SKIP_Q;
        return;
    case P_SKIP_Q:
        if (c == '\\')
            p->state = P_SKIP_QESC;
        else if (c == '"')
            p->state = P_SKIP;
        return;
    case P_SKIP_QESC: p->state = P_SKIP_Q; return;
    default: return;
    }
}

void ws_pmd_header_begin(ws_pmd_parser *p) {
    element_reset(p);
    p->state = P_LIST;
}

void ws_pmd_feed(ws_pmd_parser *p, const uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; i++) feed_byte(p, buf[i]);
}

void ws_pmd_header_end(ws_pmd_parser *p) {
    switch (p->state) {
    case P_LIST: return;
    case P_NAME: p->name_ok = p->name_match == EXT_NAME_LEN; break;
    case P_PNAME:
        param_name_end(p);
        param_end(p);
        break;
    case P_AFTER_PNAME:
    case P_VALUE:
    case P_AFTER_VALUE: param_end(p); break;
    case P_PSTART: /* "permessage-deflate;" with nothing after */
    case P_VSTART: /* "x=" */
    case P_QVALUE: /* an unterminated quoted string */
    case P_QESC:
    case P_SKIP_Q:
    case P_SKIP_QESC: decline(p); break;
    default: break;
    }
    element_end(p);
}

int ws_pmd_offered(const ws_pmd_parser *p, ws_pmd_offer *offer) {
    if (!p->found) return 0;
    if (offer) *offer = p->accepted;
    return 1;
}

static unsigned min_bits(unsigned a, unsigned b) { return a < b ? a : b; }

void ws_pmd_agree(const ws_pmd_offer *offer, const ws_pmd_policy *policy, ws_pmd_params *out) {
    memset(out, 0, sizeof(*out));
    /* §7.1.1.1: an offered server_no_context_takeover must be accepted;
     * the server may also choose it itself. §7.1.1.2: the server may ask
     * the client for client_no_context_takeover whether or not offered. */
    out->server_no_context_takeover =
        (uint8_t)(policy->no_context_takeover || offer->server_no_context_takeover);
    out->client_no_context_takeover =
        (uint8_t)(policy->no_context_takeover || offer->client_no_context_takeover);
    /* §7.1.2.1: no larger than offered; the server may name a smaller
     * window of its own unprompted, which lets the client allocate less. */
    out->server_window_bits = (uint8_t)policy->server_window_bits;
    if (offer->server_max_window_bits)
        out->server_window_bits =
            (uint8_t)min_bits(policy->server_window_bits, offer->server_max_window_bits);
    out->server_bits_in_response =
        (uint8_t)(offer->server_max_window_bits || out->server_window_bits < 15);
    /* §7.1.2.2: only a client that offered client_max_window_bits can be
     * held to a window below 15 (and never above an offered value). */
    out->client_window_bits = 15;
    if (offer->client_max_window_bits == 1)
        /* The client left the size to us. Not 8, though: zlib (under
         * nearly every client) refuses to compress with a raw window of
         * 256 bytes, so such a client would fail its own handshake. A
         * client that offered 8 itself can do it. */
        out->client_window_bits =
            (uint8_t)(policy->client_window_bits < 9 ? 9 : policy->client_window_bits);
    else if (offer->client_max_window_bits >= 8)
        out->client_window_bits =
            (uint8_t)min_bits(policy->client_window_bits, offer->client_max_window_bits);
    out->client_bits_in_response =
        (uint8_t)(offer->client_max_window_bits && out->client_window_bits < 15);
}

int ws_pmd_write_response(const ws_pmd_params *a, char *out, size_t cap) {
    int n = snprintf(out, cap, "Sec-WebSocket-Extensions: permessage-deflate%s%s",
                     a->server_no_context_takeover ? "; server_no_context_takeover" : "",
                     a->client_no_context_takeover ? "; client_no_context_takeover" : "");
    if (n < 0 || (size_t)n >= cap) return -1;
    if (a->server_bits_in_response) {
        int k = snprintf(out + n, cap - (size_t)n, "; server_max_window_bits=%u",
                         a->server_window_bits);
        if (k < 0 || (size_t)k >= cap - (size_t)n) return -1;
        n += k;
    }
    if (a->client_bits_in_response) {
        int k = snprintf(out + n, cap - (size_t)n, "; client_max_window_bits=%u",
                         a->client_window_bits);
        if (k < 0 || (size_t)k >= cap - (size_t)n) return -1;
        n += k;
    }
    if ((size_t)n + 3 > cap) return -1;
    memcpy(out + n, "\r\n", 3);
    return n + 2;
}

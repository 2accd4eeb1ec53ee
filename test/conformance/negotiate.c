/*
 * negotiate.c -- the client's side of the permessage-deflate negotiation:
 * the offers a case makes, and the server's Sec-WebSocket-Extensions
 * response checked against them.
 *
 * Grammar (RFC 6455 §9.1, with RFC 9110 §5.6's OWS and list rules: empty
 * list elements are allowed and ignored):
 *
 *   Sec-WebSocket-Extensions = 1#extension
 *   extension       = extension-token *( OWS ";" OWS extension-param )
 *   extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
 *     (a quoted value must be a token once unquoted)
 *
 * RFC 7692 §7.1, the parameters of permessage-deflate:
 *
 *   server_no_context_takeover  no value  offered: the server MUST reset
 *                                         its compressor per message and
 *                                         say so in the response (§7.1.1.1)
 *   client_no_context_takeover  no value  in a response: the client must
 *                                         reset; offered: it will anyway
 *                                         (§7.1.1.2)
 *   server_max_window_bits      8..15     offered: the response MUST name
 *                                         it, no larger; may be named when
 *                                         not offered (§7.1.2.1)
 *   client_max_window_bits      [8..15]   only in a response to an offer
 *                                         that has it, with a value, no
 *                                         larger than an offered value; an
 *                                         offered value binds the client
 *                                         whatever the response (§7.1.2.2)
 *
 * §5: a server MUST decline an offer with an unknown parameter, a
 * parameter twice, or an invalid value ("8..15": decimal, no leading zero),
 * and a client MUST fail the connection if the response has any of those.
 * A server picks one acceptable offer (the client lists them in order of
 * preference); its response must fit that offer. The driver does not know
 * which one it picked, so it takes the first acceptable offer the response
 * fits, and fails the case if it fits none.
 */
#include "conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_ELEMS  16
#define MAX_PARAMS 8
#define MAX_TOKEN  64

struct param {
    char name[MAX_TOKEN];
    char value[MAX_TOKEN];
    bool has_value;
};

/* One extension element of a list, as written. */
struct element {
    char name[MAX_TOKEN];
    struct param p[MAX_PARAMS];
    int np;
    const char *bad; /* why it is not well-formed, or NULL */
    char text[160];  /* the element's text, for evidence */
};

/* The parameters of a permessage-deflate element. */
struct pmd {
    bool snct, cnct;
    int smwb; /* 0: absent; 8..15 */
    int cmwb; /* 0: absent; -1: without a value; 8..15 */
};

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_ows(const char **p) {
    while (**p == ' ' || **p == '\t') (*p)++;
}

/* A token into out (truncated if longer: then it matches no name we know
 * and no valid value). false if there is none. */
static bool read_token(const char **p, char out[MAX_TOKEN]) {
    size_t n = 0;
    while (is_tchar(**p)) {
        if (n < MAX_TOKEN - 1) out[n++] = **p;
        (*p)++;
    }
    out[n] = '\0';
    return n > 0;
}

/* A quoted-string (RFC 9110 §5.6.4) starting at the quote, unescaped. */
static bool read_quoted(const char **p, char out[MAX_TOKEN]) {
    size_t n = 0;
    (*p)++;
    for (;;) {
        char c = **p;
        if (c == '\0') return false;
        (*p)++;
        if (c == '"') break;
        if (c == '\\') {
            c = **p;
            if (c == '\0') return false;
            (*p)++;
        }
        if (n < MAX_TOKEN - 1) out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

static bool all_tchars(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!is_tchar(*s)) return false;
    return true;
}

/* One element from *p up to a ',' or the end; NULL if well-formed, else
 * why not (and *p where it went wrong). */
static const char *parse_element(const char **p, struct element *e) {
    if (!read_token(p, e->name)) return "no extension name";
    skip_ows(p);
    while (**p == ';') {
        (*p)++;
        skip_ows(p);
        if (e->np == MAX_PARAMS) return "too many parameters";
        struct param *q = &e->p[e->np++];
        if (!read_token(p, q->name)) return "a parameter without a name";
        skip_ows(p);
        if (**p == '=') {
            (*p)++;
            skip_ows(p);
            q->has_value = true;
            if (**p == '"') {
                if (!read_quoted(p, q->value)) return "an unterminated quoted value";
                if (!all_tchars(q->value)) return "a quoted value that is not a token (§9.1)";
            } else if (!read_token(p, q->value)) {
                return "'=' without a value";
            }
            skip_ows(p);
        }
    }
    if (**p != ',' && **p != '\0') return "an unexpected character";
    return NULL;
}

/* Append the elements of list s to out[*n..max). */
static void parse_list(const char *s, struct element *out, size_t *n, size_t max) {
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '\0' || *n == max) return;
        struct element *e = &out[(*n)++];
        memset(e, 0, sizeof *e);
        const char *start = p;
        e->bad = parse_element(&p, e);
        if (e->bad) {
            /* Skip to the next comma outside a quoted string. */
            bool quoted = false;
            for (; *p && (quoted || *p != ','); p++) {
                if (*p == '\\' && quoted && p[1])
                    p++;
                else if (*p == '"')
                    quoted = !quoted;
            }
        }
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        snprintf(e->text, sizeof e->text, "%.*s", (int)(end - start), start);
    }
}

/* "8".."15": decimal, no leading zero (RFC 7692 §7.1.2.1). -1 if not. */
static int window_bits(const char *v) {
    size_t n = strlen(v);
    if (n < 1 || n > 2 || v[0] == '0' || v[0] < '0' || v[0] > '9' ||
        (n == 2 && (v[1] < '0' || v[1] > '9')))
        return -1;
    int b = n == 1 ? v[0] - '0' : (v[0] - '0') * 10 + (v[1] - '0');
    return b >= 8 && b <= 15 ? b : -1;
}

static bool is_pmd(const struct element *e) {
    return strcasecmp(e->name, "permessage-deflate") == 0;
}

/* The parameters of a permessage-deflate element, checked against §7.1
 * (for a response, client_max_window_bits needs a value). false and why
 * if they are not valid. */
static bool read_pmd(const struct element *e, bool response, struct pmd *out, char *why,
                     size_t whysz) {
    static const char *const names[] = { "server_no_context_takeover", "client_no_context_takeover",
                                         "server_max_window_bits", "client_max_window_bits" };
    memset(out, 0, sizeof *out);
    unsigned seen = 0;
    if (e->bad) {
        snprintf(why, whysz, "not well-formed: %s (RFC 6455 §9.1)", e->bad);
        return false;
    }
    for (int i = 0; i < e->np; i++) {
        const struct param *q = &e->p[i];
        int k = 0;
        while (k < 4 && strcasecmp(q->name, names[k]) != 0) k++;
        if (k == 4) {
            snprintf(why, whysz, "unknown parameter \"%s\" (RFC 7692 §5)", q->name);
            return false;
        }
        if (seen & (1u << k)) {
            snprintf(why, whysz, "parameter %s twice (RFC 7692 §5)", names[k]);
            return false;
        }
        seen |= 1u << k;
        int bits = q->has_value ? window_bits(q->value) : 0;
        if (k <= 1 && q->has_value) {
            snprintf(why, whysz, "%s has a value, \"%s\" (RFC 7692 §7.1.1)", names[k], q->value);
            return false;
        }
        if (k >= 2 && q->has_value && bits < 0) {
            snprintf(why, whysz, "%s=%s is not 8..15 (RFC 7692 §7.1.2)", names[k], q->value);
            return false;
        }
        if ((k == 2 || (k == 3 && response)) && !q->has_value) {
            snprintf(why, whysz, "%s without a value (RFC 7692 §7.1.2)", names[k]);
            return false;
        }
        switch (k) {
        case 0: out->snct = true; break;
        case 1: out->cnct = true; break;
        case 2: out->smwb = bits; break;
        default: out->cmwb = q->has_value ? bits : -1; break;
        }
    }
    return true;
}

/* Does response r fit offer o (RFC 7692 §7.1)? false and why if not. */
static bool fits(const struct pmd *o, const struct pmd *r, char *why, size_t whysz) {
    if (o->snct && !r->snct)
        snprintf(why, whysz,
                 "the offer has server_no_context_takeover, the response does "
                 "not (§7.1.1.1)");
    else if (o->smwb && !r->smwb)
        snprintf(why, whysz,
                 "the offer has server_max_window_bits=%d, the response names "
                 "none (§7.1.2.1)",
                 o->smwb);
    else if (o->smwb && r->smwb > o->smwb)
        snprintf(why, whysz,
                 "server_max_window_bits=%d is larger than the offered %d "
                 "(§7.1.2.1)",
                 r->smwb, o->smwb);
    else if (r->cmwb && !o->cmwb)
        snprintf(why, whysz,
                 "client_max_window_bits=%d, which the offer does not have "
                 "(§7.1.2.2)",
                 r->cmwb);
    else if (r->cmwb && o->cmwb > 0 && r->cmwb > o->cmwb)
        snprintf(why, whysz,
                 "client_max_window_bits=%d is larger than the offered %d "
                 "(§7.1.2.2)",
                 r->cmwb, o->cmwb);
    else
        return true;
    return false;
}

int cf_pmd_negotiate(struct cf_ctx *t, const char *offer, const char *response,
                     struct cf_pmd_params *out) {
    struct element offers[MAX_ELEMS];
    size_t no = 0;
    /* The offer as a failure reason shows it: on one line, " | " between
     * its header lines. */
    char shown[600] = "";
    for (size_t i = 0, o = 0; offer && offer[i] && o + 4 < sizeof shown; i++) {
        if (offer[i] == '\n') {
            memcpy(shown + o, " | ", 3);
            o += 3;
        } else {
            shown[o++] = offer[i];
        }
        shown[o] = '\0';
    }
    /* Each '\n'-separated part was its own header line: one list. */
    for (const char *line = offer; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char one[512];
        snprintf(one, sizeof one, "%.*s", (int)len, line);
        parse_list(one, offers, &no, MAX_ELEMS);
        line = nl ? nl + 1 : line + len;
    }

    if (!response) {
        if (t->want_deflate)
            return cf_fail(t,
                           "handshake: the server declined permessage-deflate: no "
                           "Sec-WebSocket-Extensions in the response to \"%s\"",
                           shown);
        return 0;
    }
    if (!offer)
        return cf_fail(t,
                       "handshake: server chose extension \"%s\" the client never offered "
                       "(§9.1)",
                       response);

    struct element resp[MAX_ELEMS];
    size_t nr = 0;
    parse_list(response, resp, &nr, MAX_ELEMS);
    if (nr == 0)
        return cf_fail(t,
                       "handshake: Sec-WebSocket-Extensions \"%s\" names no extension "
                       "(RFC 6455 §9.1: 1#extension)",
                       response);
    for (size_t i = 0; i < nr; i++)
        if (!is_pmd(&resp[i]))
            return cf_fail(t,
                           "handshake: server chose extension \"%s\"; of what we offered "
                           "(\"%s\") only permessage-deflate can be agreed",
                           resp[i].text, shown);
    if (nr > 1)
        return cf_fail(t,
                       "handshake: server accepted permessage-deflate %zu times (\"%s\"); "
                       "an extension is agreed once (RFC 6455 §9.1)",
                       nr, response);

    char why[200];
    struct pmd r;
    if (!read_pmd(&resp[0], true, &r, why, sizeof why))
        return cf_fail(t, "handshake: the response \"%s\" is invalid: %s", resp[0].text, why);

    /* The first acceptable offer that the response fits. */
    char first_why[200] = "";
    const char *first_text = NULL;
    for (size_t i = 0; i < no; i++) {
        struct pmd o;
        if (!is_pmd(&offers[i]) || !read_pmd(&offers[i], false, &o, why, sizeof why)) continue;
        if (!fits(&o, &r, why, sizeof why)) {
            if (!first_text) {
                first_text = offers[i].text;
                snprintf(first_why, sizeof first_why, "%s", why);
            }
            continue;
        }
        out->server_no_context_takeover = r.snct;
        /* §7.1.1.2: an offered client_no_context_takeover binds us even if
         * the response leaves it out; §7.1.2.2: so does an offered window. */
        out->client_no_context_takeover = r.cnct || o.cnct;
        out->server_bits = r.smwb ? (unsigned)r.smwb : 15;
        out->client_bits = r.cmwb > 0 ? (unsigned)r.cmwb : 15;
        if (o.cmwb > 0 && (unsigned)o.cmwb < out->client_bits) out->client_bits = (unsigned)o.cmwb;
        return 1;
    }
    if (!first_text)
        return cf_fail(t,
                       "handshake: server accepted permessage-deflate (\"%s\") but every "
                       "offer of it in \"%s\" is one it must decline (RFC 7692 §5)",
                       resp[0].text, shown);
    return cf_fail(t, "handshake: the response \"%s\" fits no offer: against \"%s\", %s",
                   resp[0].text, first_text, first_why);
}

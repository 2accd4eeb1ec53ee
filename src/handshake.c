/*
 * handshake.c -- the HTTP side of a connection: the opening handshake
 * (RFC 6455 §4.2), HTTP error answers, and the 503 for connections the
 * server cannot take.
 *
 * The request head is parsed by the pure http module into a fixed-size
 * struct (1,952 bytes on x86-64, counted in the memory budget as "head"),
 * freed as soon as the handshake is answered.
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Answer an HTTP error and close; the access line (connlog.c) says why. */
void http_error(ws_conn *c, int status, const char *why) {
    char resp[WS_HTTP_RESPONSE_MAX];
    int n = ws_http_write_error(resp, sizeof(resp), status);
    endnote_http(c, status, why);
    if (n > 0) conn_write(c, resp, (size_t)n, NULL, 0);
    conn_finish(c);
}

/* Free the handshake state (its memory is counted as HEAD), once the
 * request has been answered. */
void handshake_free(ws_conn *c) {
    endnote *note;
    if (!(c->flags & F_HS)) return;
    note = c->hs->note;
    buf_free(&c->hs->head);
    ws_mem_free(WS_MEM_HEAD, c->hs, sizeof(handshake));
    c->hs = NULL;
    c->flags &= (uint16_t)~F_HS;
    /* The access line's note takes the handshake's place in the union. */
    endnote_attach(c, note);
}

/* The client's address: X-Forwarded-For is whatever the request says,
 * believed only from a --trust-proxy peer and only when it is an address
 * (anything else is a spoofing attempt or a broken proxy). Returns 1 if
 * the client is behind such a proxy (then peer, if given, holds the
 * proxy's address). */
int handshake_client(const handshake *hs, char client[WS_ADDR_TEXT], char *peer) {
    const ws_http_request *req = &hs->parser.req;
    char own[WS_ADDR_TEXT];
    if (!peer) peer = own;
    ws_addr_format((const struct sockaddr *)&hs->peer, peer, WS_ADDR_TEXT);
    if (req->forwarded_for[0] &&
        ws_cidr_match(srv->proxies, srv->nproxies, (const struct sockaddr *)&hs->peer) &&
        ws_ip_valid(req->forwarded_for)) {
        /* An address (ws_ip_valid) is at most 45 characters. */
        snprintf(client, WS_ADDR_TEXT, "%.*s", WS_ADDR_TEXT - 1, req->forwarded_for);
        return 1;
    }
    snprintf(client, WS_ADDR_TEXT, "%s", peer);
    return 0;
}

/* A valid upgrade request: check it against the server's policy and the
 * handler's, then switch protocols (RFC 6455 §4.2.2). Returns 0 if the
 * connection is open, -1 if it was refused. */
static int upgrade(ws_conn *c) {
    const ws_http_request *req = &c->hs->parser.req;
    char accept[WS_HTTP_ACCEPT_LEN + 1], resp[WS_HTTP_101_MAX], peer[WS_ADDR_TEXT];
    char client[WS_ADDR_TEXT], lines[WS_HTTP_101_EXTRA_MAX], agreed[96];
    char proto[WS_HTTP_MAX_PROTOCOL + 40];
    int n, proxied = handshake_client(c->hs, client, peer);

    /* RFC 6455 §10.2: a server that is not meant for every web page
     * checks Origin, which a browser always sends and a script cannot
     * forge; a request without one does not come from a browser's page.
     * RFC 6455 §4.2.2 item 4 names 403 for a refused origin. */
    if (srv->cfg->allow_origin && req->origin_count &&
        (req->origin_count > 1 || req->origin_len > WS_HTTP_MAX_ORIGIN ||
         !ws_http_origin_allowed(srv->cfg->allow_origin, req->origin, req->origin_len))) {
        char why[64 + WS_HTTP_MAX_ORIGIN * 4];
        char esc[WS_HTTP_MAX_ORIGIN * 4 + 1];
        ws_log_escape(esc, sizeof(esc), req->origin,
                      req->origin_len < WS_HTTP_MAX_ORIGIN ? req->origin_len : WS_HTTP_MAX_ORIGIN);
        snprintf(why, sizeof(why), "origin %s not allowed", esc);
        http_error(c, 403, why);
        return -1;
    }
    if (handler()->on_request) {
        ws_request r;
        r.req = req;
        r.head = c->hs->head ? c->hs->head->data : NULL;
        r.head_len = c->hs->head ? c->hs->head->len : 0;
        memcpy(r.client, client, sizeof(r.client));
        int status = handler()->on_request(c, &r, handler()->ud);
        if (status != 0) {
            if (status < 400 || status > 599) status = 500;
            http_error(c, status, "refused by the handler");
            return -1;
        }
    }

    ws_http_accept_key(req->key, req->key_len, accept);
    /* RFC 6455 §4.2.2 item 5.5: the subprotocol chosen, if any; item 5.6,
     * RFC 7692 §5: the extension agreed on. */
    n = 0;
    if (req->protocol[0])
        n = snprintf(lines, sizeof(lines), "Sec-WebSocket-Protocol: %s\r\n", req->protocol);
    if (n < 0 || (size_t)n >= sizeof(lines)) {
        /* Not with a name of WS_HTTP_MAX_PROTOCOL at most; if it were,
         * a 500 rather than a 101 that lost its subprotocol line. */
        http_error(c, 500, "subprotocol line too long");
        return -1;
    }
    int e = pmd_handshake(c, req, lines + n, sizeof(lines) - (size_t)n);
    if (e <= 0) lines[n] = '\0'; /* no extension line (pmd_handshake writes one only when > 0) */
    n = ws_http_write_101(resp, sizeof(resp), accept, lines);
    if (n < 0) {
        /* WS_HTTP_101_MAX holds any 101 with these lines (test_http.c); a
         * 101 cut short would be worse than this 500. */
        http_error(c, 500, "101 response too long");
        return -1;
    }
    conn_write(c, resp, (size_t)n, NULL, 0);
    /* A failed write kills the connection (output.c): it must not be
     * made OPEN again below. */
    if (c->state == C_DEAD) return -1;
    pmd_describe(c, agreed, sizeof(agreed));
    if (req->protocol[0])
        snprintf(proto, sizeof(proto), "subprotocol %s, ", req->protocol);
    else if (req->protocol_offered)
        snprintf(proto, sizeof(proto), "no subprotocol of those offered, ");
    else
        proto[0] = '\0';
    if (ws_log_enabled(WS_LOG_INFO)) {
        char target[160], via[WS_ADDR_TEXT + 16];
        size_t used = ws_log_escape(target, sizeof(target) - 3, req->target, req->target_len);
        if (used < req->target_len) strcat(target, "...");
        if (proxied)
            snprintf(via, sizeof(via), " (via proxy %s)", peer);
        else
            via[0] = '\0';
        ws_log_field f[] = {
            WS_LOG_NUM("id", c->id),
            WS_LOG_STR("client", client),
            WS_LOG_STR("proxy", proxied ? peer : NULL),
            WS_LOG_BYTES("target", req->target, req->target_len),
            WS_LOG_BYTES("origin", req->origin_count ? req->origin : NULL,
                         req->origin_count ? strnlen(req->origin, WS_HTTP_MAX_ORIGIN) : (size_t)-1),
            WS_LOG_STR("subprotocol", req->protocol[0] ? req->protocol : NULL),
            WS_LOG_STR("extensions", agreed),
        };
        ws_log_event(WS_LOG_INFO, "connect", f, sizeof(f) / sizeof(f[0]),
                     "client #%u connected from %s%s to %s, %s%s", c->id, client, via, target,
                     proto, agreed);
    }

    void *user = c->hs->user; /* what on_request set, if anything */
    handshake_free(c);
    c->user = user;
    c->state = C_OPEN;
    c->flags |= F_OPENED;
    ws_proto_init(&c->proto);
    if (c->pmd & PMD_ON) ws_proto_enable_deflate(&c->proto, (c->pmd & PMD_CLIENT_NCT) != 0);
    if (handler()->on_open) handler()->on_open(c, handler()->ud);
    return 0;
}

void handshake_feed(ws_conn *c, uint8_t *p, size_t len) {
    size_t used = 0;
    int rc = ws_http_feed(&c->hs->parser, p, len, &used);

    /* A handler that looks at header fields gets the head as sent: kept
     * as it arrives (never more than --max-header: the parser stops
     * there), counted as head memory. */
    if (handler()->on_request && (rc == WS_HTTP_AGAIN || rc == WS_HTTP_DONE) &&
        buf_append(&c->hs->head, WS_MEM_HEAD, p, used) < 0) {
        http_error(c, 503, "no memory for the request head");
        handshake_free(c);
        return;
    }

    switch (rc) {
    case WS_HTTP_AGAIN: return;
    case WS_E_HTTP_TOO_LARGE: http_error(c, 431, "request head too large"); break;
    case WS_E_HTTP_URI_LONG: http_error(c, 414, "request target too long"); break;
    case WS_E_HTTP_VERSION: http_error(c, 505, "HTTP version not supported"); break;
    case WS_HTTP_DONE: break;
    default: http_error(c, 400, ws_strerror(rc)); break;
    }
    if (rc != WS_HTTP_DONE) {
        handshake_free(c);
        return;
    }
    const char *why;
    rc = ws_http_classify_why(&c->hs->parser.req, &why);
    if (rc == WS_HTTP_PLAIN) {
        c->flags |= F_HTTP;
        serve_file(c, &c->hs->parser.req);
    } else if (rc == WS_HTTP_UPGRADE) {
        if (upgrade(c) < 0) {
            handshake_free(c);
            return;
        }
        /* Bytes after the head are the first frames (RFC 6455 §4.2.2
         * lets a client send them right behind the request). */
        if (used < len && c->state == C_OPEN) frames_feed(c, p + used, len - used);
        return;
    } else {
        http_error(c, rc, why);
    }
    handshake_free(c);
}

/* A connection the server cannot take (over --max-connections, or no room
 * in the memory budget for its request head): a clean 503 before any
 * upgrade (RFC 9110 §15.6.4), then close. */
void reject(int fd, const char *why) {
    char resp[WS_HTTP_RESPONSE_MAX];
    int n = ws_http_write_error(resp, sizeof(resp), 503);
    ws_conn *c;

    /* n < 0 cannot happen with WS_HTTP_RESPONSE_MAX (test_http.c); if it
     * did, closing at once is the answer left. */
    if (n < 0 || srv->rejecting >= MAX_REJECTING || !(c = conn_slot(fd))) {
        close(fd);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->io = (ws_io){ on_conn_event, fd, 0 };
    c->id = ++srv->next_id;
    c->flags = F_REJECT;
    c->state = C_FLUSHING;
    c->last_rx = c->last_tx = c->opened_at = now_ms();
    srv->rejecting++;
    if (ws_reactor_add(srv->r, &c->io, WS_EV_READ) < 0) {
        conn_kill(c);
        return;
    }
    /* One line a second at most: a flood of connections must not become
     * a flood of log lines. */
    srv->rejects_unlogged++;
    if (now_ms() - srv->reject_logged >= 1000 || srv->rejects_unlogged == 1) {
        ws_log(WS_LOG_WARN, "client #%u: %s: 503 (%u such answer%s since the last line)", c->id,
               why, srv->rejects_unlogged, srv->rejects_unlogged == 1 ? "" : "s");
        srv->reject_logged = now_ms();
        srv->rejects_unlogged = 0;
    }
    conn_write(c, resp, (size_t)n, NULL, 0);
    conn_finish(c);
}

/* ---------------------------------------------------------------------- */
/* The request, for on_request.                                            */

const char *ws_request_target(const ws_request *r) { return r->req->target; }

const char *ws_request_origin(const ws_request *r) {
    return r->req->origin_count ? r->req->origin : NULL;
}

const char *ws_request_subprotocol(const ws_request *r) {
    return r->req->protocol[0] ? r->req->protocol : NULL;
}

const char *ws_request_client(const ws_request *r) { return r->client; }

/* The head was accepted by ws_http_feed(), so its lines are well formed
 * (RFC 9112 §5: name ":" OWS value OWS, no folding), each ending in CRLF
 * or a bare LF; the first is the request line. */
const char *ws_request_header(const ws_request *r, const char *name, size_t *len) {
    const char *p = (const char *)r->head, *end = p + r->head_len;
    size_t nlen = strlen(name);

    if (!p) return NULL;
    /* Skip the request line (and any empty lines before it, §2.2). */
    while (p < end && (*p == '\r' || *p == '\n')) p++;
    p = memchr(p, '\n', (size_t)(end - p));
    while (p && ++p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        if (eol - p >= (ptrdiff_t)nlen + 1 && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1, *e = eol;
            if (e > v && e[-1] == '\r') e--;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
            if (len) *len = (size_t)(e - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

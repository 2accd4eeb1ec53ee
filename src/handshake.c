/*
 * handshake.c -- the HTTP side of a connection: the opening handshake
 * (RFC 6455 §4.2), HTTP error answers, and the 503 for connections the
 * server cannot take.
 *
 * The request head is parsed by the pure http module into a fixed-size
 * struct (about 1.3 KiB, counted in the memory budget as "head"), freed as
 * soon as the handshake is answered.
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Answer an HTTP error and close. */
void http_error(ws_conn *c, int status, const char *why) {
    char resp[512];
    int n = ws_http_write_error(resp, sizeof(resp), status);
    ws_log(WS_LOG_INFO, "client #%u: HTTP %d (%s)", c->id, status, why);
    if (n > 0) conn_write(c, resp, (size_t)n, NULL, 0);
    conn_finish(c);
}

/* Free the handshake state (its memory is counted as HEAD), once the
 * request has been answered. */
void handshake_free(ws_conn *c) {
    if (!(c->flags & F_HS)) return;
    ws_mem_free(WS_MEM_HEAD, c->hs, sizeof(handshake));
    c->hs = NULL;
    c->flags &= (uint16_t)~F_HS;
}

/* A valid upgrade request: switch protocols (RFC 6455 §4.2.2). */
static void upgrade(ws_conn *c) {
    const ws_http_request *req = &c->hs->parser.req;
    char accept[WS_HTTP_ACCEPT_LEN + 1], resp[512], peer[WS_ADDR_TEXT], ext[160], agreed[96];
    int n;

    ws_http_accept_key(req->key, req->key_len, accept);
    /* RFC 6455 §4.2.2 item 5.5, RFC 7692 §5: the extension agreed on. */
    n = pmd_handshake(c, req, ext, sizeof(ext));
    n = ws_http_write_101(resp, sizeof(resp), accept, n > 0 ? ext : NULL);
    conn_write(c, resp, (size_t)n, NULL, 0);
    pmd_describe(c, agreed, sizeof(agreed));

    ws_addr_format((struct sockaddr *)&c->hs->peer, peer, sizeof(peer));
    /* X-Forwarded-For is whatever the request says: believed only from a
     * --trust-proxy peer, and only when it is an address (anything else
     * is a spoofing attempt or a broken proxy; logged as the socket peer). */
    if (req->forwarded_for[0] &&
        ws_cidr_match(srv->proxies, srv->nproxies, (struct sockaddr *)&c->hs->peer) &&
        ws_ip_valid(req->forwarded_for))
        ws_log(WS_LOG_INFO, "client #%u connected from %s (via proxy %s), %s", c->id,
               req->forwarded_for, peer, agreed);
    else
        ws_log(WS_LOG_INFO, "client #%u connected from %s, %s", c->id, peer, agreed);

    handshake_free(c);
    c->state = C_OPEN;
    c->flags |= F_OPENED;
    ws_proto_init(&c->proto);
    if (c->pmd & PMD_ON) ws_proto_enable_deflate(&c->proto, (c->pmd & PMD_CLIENT_NCT) != 0);
    if (handler()->on_open) handler()->on_open(c, handler()->ud);
}

void handshake_feed(ws_conn *c, uint8_t *p, size_t len) {
    size_t used = 0;
    int rc = ws_http_feed(&c->hs->parser, p, len, &used);

    switch (rc) {
    case WS_HTTP_AGAIN:
        return;
    case WS_E_HTTP_TOO_LARGE:
        http_error(c, 431, "request head too large");
        break;
    case WS_E_HTTP_URI_LONG:
        http_error(c, 414, "request target too long");
        break;
    case WS_E_HTTP_VERSION:
        http_error(c, 505, "HTTP version not supported");
        break;
    case WS_HTTP_DONE:
        break;
    default:
        http_error(c, 400, ws_strerror(rc));
        break;
    }
    if (rc != WS_HTTP_DONE) {
        handshake_free(c);
        return;
    }
    rc = ws_http_classify(&c->hs->parser.req);
    if (rc == WS_HTTP_PLAIN) {
        c->flags |= F_HTTP;
        serve_file(c, &c->hs->parser.req);
    } else if (rc == WS_HTTP_UPGRADE) {
        upgrade(c);
        /* Bytes after the head are the first frames (RFC 6455 §4.2.2
         * lets a client send them right behind the request). */
        if (used < len && c->state == C_OPEN) frames_feed(c, p + used, len - used);
        return;
    } else {
        http_error(c, rc, "bad handshake");
    }
    handshake_free(c);
}

/* A connection the server cannot take (over --max-connections, or no room
 * in the memory budget for its request head): a clean 503 before any
 * upgrade (RFC 9110 §15.6.4), then close. */
void reject(int fd, const char *why) {
    char resp[256];
    int n = ws_http_write_error(resp, sizeof(resp), 503);
    ws_conn *c;

    if (srv->rejecting >= MAX_REJECTING || !(c = conn_slot(fd))) {
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

/*
 * handshake.c -- the HTTP side of a connection: the opening handshake
 * (RFC 6455 §4.2), HTTP error answers, and the 503 for connections over
 * the limit.
 */
#include "server_internal.h"

#include <arpa/inet.h>
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

/* A valid upgrade request: switch protocols (RFC 6455 §4.2.2). */
static void upgrade(ws_conn *c) {
    const ws_http_request *req = &c->hs->parser.req;
    char accept[WS_HTTP_ACCEPT_LEN + 1], resp[256], peer[INET6_ADDRSTRLEN + 8];
    int n;

    ws_http_accept_key(req->key, req->key_len, accept);
    n = ws_http_write_101(resp, sizeof(resp), accept);
    conn_write(c, resp, (size_t)n, NULL, 0);

    format_addr((struct sockaddr *)&c->hs->peer, peer, sizeof(peer));
    if (req->forwarded_for[0] && is_trusted_proxy(&c->hs->peer))
        ws_log(WS_LOG_INFO, "client #%u connected from %s (via proxy %s)", c->id,
               req->forwarded_for, peer);
    else
        ws_log(WS_LOG_INFO, "client #%u connected from %s", c->id, peer);

    free(c->hs);
    c->hs = NULL;
    c->state = C_OPEN;
    c->flags |= F_OPENED;
    ws_proto_init(&c->proto);
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
        return;
    case WS_E_HTTP_URI_LONG:
        http_error(c, 414, "request target too long");
        return;
    case WS_E_HTTP_VERSION:
        http_error(c, 505, "HTTP version not supported");
        return;
    case WS_HTTP_DONE:
        break;
    default:
        http_error(c, 400, ws_strerror(rc));
        return;
    }
    rc = ws_http_classify(&c->hs->parser.req);
    if (rc == WS_HTTP_PLAIN) {
        serve_file(c, &c->hs->parser.req);
    } else if (rc == WS_HTTP_UPGRADE) {
        upgrade(c);
        /* Bytes after the head are the first frames (RFC 6455 §4.2.2
         * lets a client send them right behind the request). */
        if (used < len && c->state == C_OPEN) frames_feed(c, p + used, len - used);
    } else {
        http_error(c, rc, "bad handshake");
    }
}

/* A connection over max_connections: a clean 503 before any upgrade. */
void reject(int fd) {
    char resp[256];
    int n = ws_http_write_error(resp, sizeof(resp), 503);
    if (srv->rejecting >= MAX_REJECTING) {
        close(fd);
        return;
    }
    ws_conn *c = conn_slot(fd);
    if (!c) {
        close(fd);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->io = (ws_io){ on_conn_event, fd, 0 };
    c->id = ++srv->next_id;
    c->flags = F_REJECT;
    c->state = C_FLUSHING;
    c->last_rx = c->last_tx = now_ms();
    srv->rejecting++;
    if (ws_reactor_add(srv->r, &c->io, WS_EV_READ) < 0) {
        conn_kill(c);
        return;
    }
    ws_log(WS_LOG_WARN, "client #%u: over --max-connections (%u): 503", c->id,
           srv->cfg->max_connections);
    conn_write(c, resp, (size_t)n, NULL, 0);
    conn_finish(c);
}

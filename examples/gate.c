/*
 * gate.c -- a server that decides who may connect, and to what: a handler
 * with on_request (include/server.h), built on the ws6455 library.
 *
 *   make examples
 *   build/examples/gate --port 8080 --token s3cret
 *
 * Two endpoints, one for each behaviour:
 *
 *   ws://HOST:PORT/echo     messages come back as they were sent
 *   ws://HOST:PORT/shout    text comes back in capitals
 *
 * and three rules, checked in on_request before the 101 is sent, each
 * refusing with the HTTP status a client (and a browser's developer tools)
 * understands:
 *
 *   another path                                      404 Not Found
 *   no token: the request must carry --token as
 *   "Authorization: Bearer TOKEN", a "token=TOKEN"
 *   cookie, or "?token=TOKEN" in the target             401 Unauthorized
 *   a browser page from another site (--origin;
 *   the server checks it too, with --allow-origin)      403 Forbidden
 *
 * A client may ask for the subprotocol "gate.v1"; the server then names it
 * in its answer (RFC 6455 §1.9) and prefixes each reply with the
 * connection's number, which a versioned protocol might do. Everything
 * else (framing, fragments, ping, close, limits, compression) is the
 * library's.
 *
 * What the server log shows for each decision: the access line of a
 * refused request (with why), or the connect line of an accepted one.
 */
#include "log.h"
#include "server.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *token = "";

/* What a connection was routed to, kept with ws_conn_set_user(): the
 * path's behaviour, and whether it speaks gate.v1. */
typedef struct route {
    const char *path;
    int shout;
    int v1;
} route;

static const route routes[] = {
    { "/echo", 0, 0 },
    { "/shout", 1, 0 },
    { "/echo", 0, 1 },
    { "/shout", 1, 1 },
};

/* Does the value (len bytes, not NUL-terminated) equal s? */
static int equals(const char *v, size_t len, const char *s) {
    return v && len == strlen(s) && memcmp(v, s, len) == 0;
}

/* Is "name=value" one of the cookie-pairs of a Cookie header (RFC 6265
 * §4.2.1: "a=b; c=d")? */
static int has_cookie(const char *v, size_t len, const char *name, const char *value) {
    size_t nlen = strlen(name), vlen = strlen(value);
    const char *p = v, *end = v ? v + len : NULL;
    while (p && p < end) {
        while (p < end && (*p == ' ' || *p == ';')) p++;
        const char *e = memchr(p, ';', (size_t)(end - p));
        if (!e) e = end;
        if ((size_t)(e - p) == nlen + 1 + vlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=' &&
            memcmp(p + nlen + 1, value, vlen) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* The token, in any of the three places. */
static int authorized(const ws_request *req, const char *query) {
    char bearer[256];
    size_t len;
    const char *v = ws_request_header(req, "Authorization", &len);
    snprintf(bearer, sizeof(bearer), "Bearer %s", token);
    if (equals(v, len, bearer)) return 1;
    v = ws_request_header(req, "Cookie", &len);
    if (has_cookie(v, len, "token", token)) return 1;
    /* The query: "token=TOKEN" as one of its &-separated pairs. */
    for (const char *p = query; p && *p;) {
        const char *e = strchr(p, '&');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 6 + strlen(token) && strncmp(p, "token=", 6) == 0 &&
            memcmp(p + 6, token, l - 6) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* on_request: 0 lets the client in; a status refuses it. */
static int gate_request(ws_conn *c, const ws_request *req, void *ud) {
    const char *target = ws_request_target(req), *query = strchr(target, '?');
    size_t plen = query ? (size_t)(query - target) : strlen(target);
    /* cfg.subprotocols names one, so a chosen one is gate.v1. */
    int v1 = ws_request_subprotocol(req) != NULL;
    const route *r = NULL;
    (void)ud;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (plen == strlen(routes[i].path) && memcmp(target, routes[i].path, plen) == 0 &&
            routes[i].v1 == v1)
            r = &routes[i];
    if (!r) return 404;
    if (!authorized(req, query ? query + 1 : NULL)) return 401;
    /* The route, for every message of this connection (routes[] is
     * constant: the cast only drops const for the void pointer). */
    ws_conn_set_user(c, (void *)(uintptr_t)r);
    ws_log(WS_LOG_INFO, "gate: client #%u from %s admitted to %s (origin %s, subprotocol %s)",
           ws_conn_id(c), ws_request_client(req), r->path,
           ws_request_origin(req) ? "given" : "none",
           ws_request_subprotocol(req) ? ws_request_subprotocol(req) : "none");
    return 0;
}

static void gate_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    const route *r = ws_conn_user(c);
    char prefix[32];
    uint8_t *up = NULL;
    (void)ud;

    if (!r) return;
    if (r->shout && is_text) {
        if (!(up = malloc(len ? len : 1))) {
            ws_close(c, 1011, "out of memory");
            return;
        }
        for (size_t i = 0; i < len; i++)
            up[i] = (uint8_t)(data[i] >= 'a' && data[i] <= 'z' ? data[i] - 32 : data[i]);
        data = up;
    }
    /* gate.v1 replies name the connection: "#7 " before the text. */
    int n = r->v1 && is_text ? snprintf(prefix, sizeof(prefix), "#%u ", ws_conn_id(c)) : 0;
    ws_piece pieces[2] = { { prefix, (size_t)n }, { data, len } };
    ws_send_pieces(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, pieces, 2);
    free(up);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "workers", required_argument, NULL, 'w' },
        { "log-level", required_argument, NULL, 'l' },
        { "client-dir", required_argument, NULL, 'c' },
        { "token", required_argument, NULL, 't' },
        { "origin", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    static ws_handler handler = { .name = "gate",
                                  .on_message = gate_message,
                                  .on_request = gate_request };
    ws_server_config cfg;
    char err[256];
    int opt;

    ws_server_config_defaults(&cfg);
    cfg.handler = &handler;
    cfg.client_dir = NULL;        /* no page: WebSocket only */
    cfg.subprotocols = "gate.v1"; /* named in the 101 when asked for */
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'H': cfg.host = optarg; break;
        case 'p': cfg.port = (unsigned)atoi(optarg); break;
        case 'w': cfg.workers = (unsigned)atoi(optarg); break;
        case 'l': ws_log_level = ws_log_parse_level(optarg); break;
        case 'c': break;
        case 't': token = optarg; break;
        case 'o': cfg.allow_origin = optarg; break;
        default:
            fprintf(stderr, "usage: gate [--host A] [--port N] --token T [--origin LIST]\n");
            return 2;
        }
    }
    if (!*token || ws_log_level < 0) {
        fprintf(stderr, "gate: --token is required (and --log-level must be a level)\n");
        return 2;
    }
    if (ws_server_config_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "gate: %s\n", err);
        return 2;
    }
    return ws_server_run(&cfg) == 0 ? 0 : 1;
}

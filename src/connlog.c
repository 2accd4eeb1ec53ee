/*
 * connlog.c -- what the log says about each connection, and when.
 *
 * An operator reads a server's log to learn what happened to each request
 * and each connection. So every connection that was answered ends in
 * exactly one line, written when it is really over (its socket about to be
 * closed: every byte that could be sent was sent, and the counts are
 * final). One that ends before its request head was answered (the peer's
 * FIN or reset mid-request, a shutdown) has no line at info level: that is
 * what a load balancer's TCP health check or a port scan looks like, and
 * logging each would bury the requests. (--log-level debug shows the
 * peer's FIN or reset; a shutdown counts them in its summary line.)
 *
 *   plain HTTP     the access line: client, method, target, status, bytes
 *                  sent, duration (and why, for an error)
 *       client #4 127.0.0.1:41230: GET /client.js -> 200, 21.3 KiB in 0.9 ms
 *   WebSocket      after the connect line (handshake.c), the disconnect
 *                  line: close code and reason, who closed first, messages,
 *                  bytes each way, duration
 *       client #7 disconnected: 1000 "bye" from the client; 12 messages,
 *       3.4 KiB in, 3.5 KiB out, 12.3 s
 *
 * What the last line needs from earlier -- the request's method and target,
 * the close reason -- is kept in a small note, allocated when it is known
 * (the answer is written, the close happens) and counted in the memory
 * budget as connection memory; the note lives in the union that held the
 * handshake (HTTP connections have no handler pointer) or the handler's
 * pointer (no longer needed once on_close ran). If there is no memory for a
 * note, the line is written at once, with the counts of that moment.
 *
 * With --log-format json each line also carries its facts as fields
 * (ws_log_event), so a log shipper need not parse the sentence.
 */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

#define NOTE_TEXT_MAX 512 /* bytes of target or reason kept */

struct endnote {
    uint16_t status;           /* HTTP: the status answered; 0: WebSocket */
    uint16_t code;             /* WebSocket: the close code */
    uint8_t by_peer;           /* WebSocket: the peer's close came first */
    char method[9];            /* HTTP */
    char client[WS_ADDR_TEXT]; /* HTTP: the client (X-Forwarded-For when believed) */
    size_t text_len;           /* HTTP: the target; WebSocket: the close reason */
    size_t why_len;            /* HTTP: why an error, after the target */
    size_t size;               /* bytes allocated, for the budget */
    char text[];
};

static endnote *note_new(size_t text_len) {
    size_t size = sizeof(endnote) + text_len + 1;
    endnote *n = ws_mem_alloc(WS_MEM_CONN, size);
    if (n) {
        memset(n, 0, sizeof(*n));
        n->size = size;
    }
    return n;
}

static void note_attach(ws_conn *c, endnote *n) {
    c->note = n;
    c->flags |= F_NOTE;
}

void endnote_free(ws_conn *c) {
    if (!(c->flags & F_NOTE)) return;
    ws_mem_free(WS_MEM_CONN, c->note, c->note->size);
    c->note = NULL;
    c->flags &= (uint16_t)~F_NOTE;
}

/* "12.3 s", "0.9 ms" */
static void duration(char *out, size_t cap, uint32_t ms) {
    if (ms == 0)
        snprintf(out, cap, "< 1 ms");
    else if (ms < 1000)
        snprintf(out, cap, "%u ms", ms);
    else
        snprintf(out, cap, "%.1f s", ms / 1000.0);
}

/* ---------------------------------------------------------------------- */
/* Plain HTTP.                                                             */

static void access_line(const ws_conn *c, const endnote *n) {
    char target[NOTE_TEXT_MAX * 4 + 4], why[256], sent[32], took[32];
    uint32_t ms = now_ms() - c->opened_at;
    size_t used = ws_log_escape(target, sizeof(target) - 3, n->text, n->text_len);
    if (used < n->text_len) strcat(target, "...");
    ws_mem_format(sent, sizeof(sent), (size_t)c->bytes_out);
    duration(took, sizeof(took), ms);
    snprintf(why, sizeof(why), " (%.*s)", (int)n->why_len, n->text + n->text_len + 1);
    ws_log_field f[] = {
        WS_LOG_NUM("id", c->id),
        WS_LOG_STR("client", n->client),
        WS_LOG_STR("method", n->method),
        WS_LOG_BYTES("target", n->text, n->text_len),
        WS_LOG_NUM("status", n->status),
        WS_LOG_BYTES("why", n->why_len ? n->text + n->text_len + 1 : NULL,
                     n->why_len ? n->why_len : (size_t)-1),
        WS_LOG_NUM("bytes", c->bytes_out),
        WS_LOG_NUM("ms", ms),
    };
    ws_log_event(WS_LOG_INFO, "access", f, sizeof(f) / sizeof(f[0]),
                 "client #%u %s: %s %s -> %u%s, %s in %s", c->id, n->client, n->method, target,
                 n->status, n->why_len ? why : "", sent, took);
}

void endnote_http(ws_conn *c, int status, const char *why) {
    const ws_http_request *req = (c->flags & F_HS) ? &c->hs->parser.req : NULL;
    size_t tlen = req ? strnlen(req->target, WS_HTTP_MAX_TARGET) : 0;
    size_t wlen = why ? strlen(why) : 0;
    endnote tmp, *n;

    if (tlen > NOTE_TEXT_MAX) tlen = NOTE_TEXT_MAX;
    if (wlen > 200) wlen = 200;
    n = note_new(tlen + 1 + wlen);
    if (!n) {
        /* No memory for the note: the line now, with what is known. */
        memset(&tmp, 0, sizeof(tmp));
        n = &tmp;
    }
    n->status = (uint16_t)status;
    if (req && req->method == WS_HTTP_METHOD_HEAD)
        strcpy(n->method, "HEAD");
    else if (req && req->method == WS_HTTP_METHOD_GET)
        strcpy(n->method, "GET");
    else if (req && c->hs->parser.method_len > 0 && c->hs->parser.method_len <= 8)
        ws_log_escape(n->method, sizeof(n->method), c->hs->parser.method, c->hs->parser.method_len);
    else
        strcpy(n->method, "-");
    if (c->flags & F_HS)
        handshake_client(c->hs, n->client, NULL);
    else
        snprintf(n->client, sizeof(n->client), "%s", ws_conn_peer(c));
    if (n == &tmp) {
        access_line(c, n);
        return;
    }
    if (tlen) memcpy(n->text, req->target, tlen);
    n->text_len = tlen;
    n->text[tlen] = '\0';
    if (wlen) memcpy(n->text + tlen + 1, why, wlen);
    n->why_len = wlen;
    /* While the handshake holds the union slot the note waits in it, and
     * handshake_free() moves it over. */
    if (c->flags & F_HS)
        c->hs->note = n;
    else
        note_attach(c, n);
}

/* ---------------------------------------------------------------------- */
/* WebSocket.                                                              */

static void disconnect_line(const ws_conn *c, const endnote *n) {
    char in[32], out[32], took[32], reason[NOTE_TEXT_MAX * 4 + 4], said[NOTE_TEXT_MAX * 4 + 8];
    uint32_t ms = now_ms() - c->opened_at;
    const char *who = n->code == WS_CLOSE_ABNORMAL ? ""
                      : n->by_peer                 ? " from the client"
                                                   : " from the server";
    ws_mem_format(in, sizeof(in), (size_t)c->bytes_in);
    ws_mem_format(out, sizeof(out), (size_t)c->bytes_out);
    duration(took, sizeof(took), ms);
    ws_log_escape(reason, sizeof(reason), n->text, n->text_len);
    if (n->text_len)
        snprintf(said, sizeof(said), " \"%s\"", reason);
    else
        said[0] = '\0';
    ws_log_field f[] = {
        WS_LOG_NUM("id", c->id),
        WS_LOG_NUM("code", n->code),
        WS_LOG_BYTES("reason", n->text, n->text_len),
        WS_LOG_STR("closed_by", n->code == WS_CLOSE_ABNORMAL ? "none"
                                : n->by_peer                 ? "client"
                                                             : "server"),
        WS_LOG_NUM("messages", c->msgs_in),
        WS_LOG_NUM("bytes_in", c->bytes_in),
        WS_LOG_NUM("bytes_out", c->bytes_out),
        WS_LOG_NUM("ms", ms),
    };
    ws_log_event(WS_LOG_INFO, "disconnect", f, sizeof(f) / sizeof(f[0]),
                 "client #%u disconnected: %u%s%s; %u message%s, %s in, %s out, %s", c->id, n->code,
                 said, who, c->msgs_in, c->msgs_in == 1 ? "" : "s", in, out, took);
}

void endnote_ws(ws_conn *c, unsigned code, const void *reason, size_t len, int by_peer) {
    endnote tmp, *n;
    if (!ws_log_enabled(WS_LOG_INFO)) return;
    if (len > NOTE_TEXT_MAX) len = NOTE_TEXT_MAX;
    n = note_new(len);
    if (!n) {
        memset(&tmp, 0, sizeof(tmp));
        n = &tmp;
        len = 0;
    }
    n->code = (uint16_t)code;
    n->by_peer = (uint8_t)by_peer;
    if (len) memcpy(n->text, reason, len);
    n->text_len = len;
    if (n == &tmp) {
        disconnect_line(c, n);
        return;
    }
    /* After on_close the handler's pointer is no longer needed: the note
     * takes its place in the union. */
    note_attach(c, n);
}

/* ---------------------------------------------------------------------- */

void endnote_attach(ws_conn *c, endnote *n) {
    if (n) note_attach(c, n);
}

void endnote_log(ws_conn *c) {
    if (!(c->flags & F_NOTE)) return;
    if (c->note->status)
        access_line(c, c->note);
    else
        disconnect_line(c, c->note);
    endnote_free(c);
}

/*
 * wsclient.c -- the integration tests' WebSocket client (see wsclient.h).
 *
 * The socket is non-blocking; every wait is a poll() with c->timeout_ms,
 * so a server that stops answering fails a test instead of hanging it.
 * Received bytes go through a small buffer (c->in) because an HTTP
 * response head is read to its empty line and whatever followed it --
 * the first frames -- must not be lost. Large payloads bypass the buffer.
 *
 * The client side of RFC 6455 framing, for reference:
 *   we send:    FIN/RSV/opcode | MASK=1, length | 4-byte key | masked payload
 *   we receive: FIN/RSV/opcode | MASK=0, length | payload   (§5.1: a server
 *               MUST NOT mask; a client MUST close if it does)
 */
#include "wsclient.h"

#include "base64.h"
#include "frame.h"
#include "http.h"

#include <zlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FRAME  (64u << 20) /* refuse to allocate more for one frame */
#define SEND_CHUNK (64 * 1024) /* payload masked and sent this much at a time */

/* printf into c->err; always returns -1 so callers can `return fail(...)`. */
static int fail(wsc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(wsc *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

static void random_bytes(uint8_t *out, size_t n) {
    while (n > 0) {
        ssize_t r = getrandom(out, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            perror("getrandom");
            abort();
        }
        out += r;
        n -= (size_t)r;
    }
}

/* Wait until fd is ready for events, up to timeout_ms. Returns 1 when
 * ready (or in error: the next call will say), 0 on timeout. */
static int wait_ready(int fd, short events, unsigned timeout_ms) {
    uint64_t deadline = ts_now_ms() + timeout_ms;
    for (;;) {
        uint64_t now = ts_now_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        struct pollfd pfd = { fd, events, 0 };
        int r = poll(&pfd, 1, left);
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (errno != EINTR) return 1;
    }
}

/* ---------------------------------------------------------------------- */
/* Connections.                                                            */

int wsc_connect(wsc *c, const char *host, unsigned port) {
    struct addrinfo hints, *res = NULL;
    char service[16];
    int one = 1, err = 0;
    socklen_t elen = sizeof(err);

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->timeout_ms = 5000 * ts_scale();
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
        return fail(c, "cannot resolve %s", host);

    c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        freeaddrinfo(res);
        return fail(c, "socket: %s", strerror(errno));
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int r = connect(c->fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (r < 0 && errno != EINPROGRESS) return fail(c, "connect: %s", strerror(errno));
    if (r < 0) {
        if (!wait_ready(c->fd, POLLOUT, c->timeout_ms)) return fail(c, "connect: timeout");
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
            return fail(c, "connect: %s", strerror(err));
    }
    c->in = malloc(WSC_IN_CAP);
    if (!c->in) return fail(c, "out of memory");
    c->in_cap = WSC_IN_CAP;
    c->duplex = 0;
    return 0;
}

int wsc_open(wsc *c, const ts_server *s) {
    if (wsc_connect(c, s->host, s->port) < 0) return -1;
    return wsc_handshake(c, "/");
}

void wsc_close(wsc *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    c->in_off = c->in_len = 0;
    if (c->zin) inflateEnd(c->zin);
    if (c->zout) deflateEnd(c->zout);
    free(c->zin);
    free(c->zout);
    c->zin = c->zout = NULL;
    c->pmd = 0;
}

void wsc_reset(wsc *c) {
    struct linger lg = { 1, 0 };
    if (c->fd >= 0) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    wsc_close(c);
}

void wsc_shutdown_write(wsc *c) {
    if (c->fd >= 0) shutdown(c->fd, SHUT_WR);
}

/* ---------------------------------------------------------------------- */
/* Raw bytes.                                                              */

/* duplex: the socket has bytes for us; keep them in c->in, which grows
 * (up to 64 MiB, far more than any test's reply). */
static int take_input(wsc *c) {
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_len == c->in_cap) {
        uint8_t *n;
        if (c->in_cap >= (64u << 20)) return fail(c, "send: over 64 MiB received meanwhile");
        n = realloc(c->in, c->in_cap * 2);
        if (!n) return fail(c, "out of memory");
        c->in = n;
        c->in_cap *= 2;
    }
    ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
    if (r > 0) c->in_len += (size_t)r, c->bytes_received += (uint64_t)r;
    return 0;
}

int wsc_send_raw(wsc *c, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return fail(c, "send: %s", strerror(errno));
            if (c->duplex) {
                struct pollfd pfd = { c->fd, POLLOUT | POLLIN, 0 };
                int n = poll(&pfd, 1, (int)c->timeout_ms);
                if (n <= 0)
                    return fail(c, "send: peer did not read for %u ms (%zu bytes left)",
                                c->timeout_ms, len);
                if ((pfd.revents & POLLIN) && take_input(c) < 0) return -1;
                continue;
            }
            if (!wait_ready(c->fd, POLLOUT, c->timeout_ms))
                return fail(c, "send: peer did not read for %u ms (%zu bytes left)", c->timeout_ms,
                            len);
            continue;
        }
        p += w;
        len -= (size_t)w;
        c->bytes_sent += (uint64_t)w;
    }
    return 0;
}

long wsc_recv_some(wsc *c, void *buf, size_t cap, unsigned timeout_ms) {
    if (timeout_ms == 0) timeout_ms = c->timeout_ms;
    if (c->in_off < c->in_len) {
        size_t n = c->in_len - c->in_off;
        if (n > cap) n = cap;
        memcpy(buf, c->in + c->in_off, n);
        c->in_off += n;
        return (long)n;
    }
    for (;;) {
        ssize_t r = recv(c->fd, buf, cap, 0);
        if (r >= 0) {
            c->bytes_received += (uint64_t)r;
            return (long)r;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            int e = errno;
            fail(c, "recv: %s", strerror(e));
            errno = e;
            return -1;
        }
        if (!wait_ready(c->fd, POLLIN, timeout_ms)) {
            fail(c, "recv: nothing for %u ms", timeout_ms);
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

/* Make sure c->in holds at least one unread byte. Returns 1, 0 at EOF,
 * -1 on error. */
static int fill(wsc *c) {
    if (c->in_off < c->in_len) return 1;
    c->in_off = c->in_len = 0;
    long r = wsc_recv_some(c, c->in, c->in_cap, 0);
    if (r <= 0) return (int)r;
    c->in_len = (size_t)r;
    return 1;
}

int wsc_peek_opcode(wsc *c) {
    int r = fill(c);
    if (r <= 0) return r == 0 ? fail(c, "EOF before a frame") : -1;
    return c->in[c->in_off] & 0x0f;
}

int wsc_recv_exact(wsc *c, void *buf, size_t n) {
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        long r = wsc_recv_some(c, p + got, n - got, 0);
        if (r == 0) return fail(c, "EOF after %zu of %zu bytes", got, n);
        if (r < 0) {
            char why[sizeof(c->err)];
            memcpy(why, c->err, sizeof(why));
            return fail(c, "%s, after %zu of %zu bytes", why, got, n);
        }
        got += (size_t)r;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* HTTP.                                                                   */

int wsc_read_http_head(wsc *c, char *head, size_t cap) {
    size_t n = 0;
    int status;

    /* Byte by byte out of the buffer until CRLF CRLF, so that what
     * follows the head stays in c->in. */
    for (;;) {
        int r = fill(c);
        if (r < 0) return -1;
        if (r == 0) {
            head[n] = '\0';
            return fail(c, "EOF after %zu bytes of response head: \"%.60s\"", n, head);
        }
        if (n + 1 >= cap) return fail(c, "response head longer than %zu bytes", cap - 1);
        head[n++] = (char)c->in[c->in_off++];
        if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[n] = '\0';
    if (sscanf(head, "HTTP/1.1 %3d ", &status) != 1)
        return fail(c, "not an HTTP/1.1 status line: \"%.60s\"", head);
    return status;
}

int wsc_http_header(const char *head, const char *name, char *out, size_t cap) {
    size_t nlen = strlen(name);
    const char *line = strstr(head, "\r\n");

    while (line && line[2] != '\r' && line[2] != '\0') {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol) break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *end = eol;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
            snprintf(out, cap, "%.*s", (int)(end - v), v);
            return 0;
        }
        line = eol;
    }
    return -1;
}

int wsc_read_http_body(wsc *c, const char *head, uint8_t **body, size_t *len) {
    char value[32];
    char *end;

    *body = NULL;
    *len = 0;
    if (wsc_http_header(head, "Content-Length", value, sizeof(value)) < 0)
        return fail(c, "response without Content-Length");
    unsigned long long n = strtoull(value, &end, 10);
    if (end == value || *end || n > MAX_FRAME) return fail(c, "bad Content-Length: %s", value);
    *body = malloc((size_t)n + 1);
    if (!*body) return fail(c, "out of memory");
    if (wsc_recv_exact(c, *body, (size_t)n) < 0) {
        free(*body);
        *body = NULL;
        return -1;
    }
    (*body)[n] = '\0';
    *len = (size_t)n;
    return 0;
}

int wsc_handshake(wsc *c, const char *target) {
    char head[4096];
    return wsc_handshake_ext(c, target, NULL, head, sizeof(head));
}

/* The value of parameter name in an extension header value, or NULL; the
 * value after "=" goes into out (empty without one). */
static const char *ext_param(const char *value, const char *name, char *out, size_t cap) {
    const char *p = strstr(value, name);
    size_t n = 0;
    if (!p) return NULL;
    p += strlen(name);
    out[0] = '\0';
    if (*p == '=') {
        p++;
        while (*p && *p != ';' && *p != ',' && *p != ' ' && n + 1 < cap) out[n++] = *p++;
        out[n] = '\0';
    }
    return out;
}

/* Set up zlib for the agreed parameters. */
static int pmd_setup(wsc *c, const char *value) {
    char v[16];
    int client_bits = 15;
    c->pmd = 1;
    c->pmd_server_nct = ext_param(value, "server_no_context_takeover", v, sizeof(v)) != NULL;
    c->pmd_client_nct = ext_param(value, "client_no_context_takeover", v, sizeof(v)) != NULL;
    c->pmd_server_bits = 15;
    if (ext_param(value, "server_max_window_bits", v, sizeof(v))) c->pmd_server_bits = atoi(v);
    if (ext_param(value, "client_max_window_bits", v, sizeof(v))) client_bits = atoi(v);
    if (c->pmd_server_bits < 8 || c->pmd_server_bits > 15 || client_bits < 8 || client_bits > 15)
        return fail(c, "bad window bits in \"%s\"", value);
    c->zin = calloc(1, sizeof(z_stream));
    c->zout = calloc(1, sizeof(z_stream));
    if (!c->zin || !c->zout) return fail(c, "out of memory");
    /* Inflate with exactly the window the server was held to, so a
     * back-reference beyond it is an error here. */
    if (inflateInit2(c->zin, -c->pmd_server_bits) != Z_OK) return fail(c, "inflateInit2");
    /* zlib refuses to deflate with a window of 8; with 9 its matches reach
     * back at most 2^9 - 262 = 250 bytes, within an agreed 2^8. */
    if (deflateInit2(c->zout, 6, Z_DEFLATED, -(client_bits < 9 ? 9 : client_bits), 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return fail(c, "deflateInit2");
    return 0;
}

/* Is name one of the values of the Sec-WebSocket-Protocol lines in extra? */
static int offered_protocol(const char *extra, const char *name) {
    size_t nlen = strlen(name);
    for (const char *p = extra; p && (p = strcasestr(p, "Sec-WebSocket-Protocol:")); p++) {
        const char *v = p + 23, *eol = strstr(v, "\r\n");
        if (!eol) eol = v + strlen(v);
        while (v < eol) {
            while (v < eol && (*v == ' ' || *v == '\t' || *v == ',')) v++;
            const char *e = v;
            while (e < eol && *e != ',' && *e != ' ' && *e != '\t') e++;
            if ((size_t)(e - v) == nlen && memcmp(v, name, nlen) == 0) return 1;
            v = e;
        }
    }
    return 0;
}

int wsc_handshake_ext(wsc *c, const char *target, const char *extra, char *head, size_t cap) {
    uint8_t nonce[16];
    char key[WS_BASE64_ENCODED_LEN(16) + 1], expect[WS_HTTP_ACCEPT_LEN + 1];
    char req[1024], value[256];

    /* RFC 6455 §4.1: the key is a random 16-byte nonce, base64-encoded. */
    random_bytes(nonce, sizeof(nonce));
    ws_base64_encode(nonce, sizeof(nonce), key);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\n"
                     "Host: localhost\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s"
                     "\r\n",
                     target, key, extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof(req)) return fail(c, "request too long");
    if (wsc_send_raw(c, req, (size_t)n) < 0) return -1;

    int status = wsc_read_http_head(c, head, cap);
    if (status < 0) return -1;
    if (status != 101) return fail(c, "handshake answered %d: \"%.80s\"", status, head);
    /* RFC 6455 §4.1, client requirements on the server's response. */
    if (wsc_http_header(head, "Upgrade", value, sizeof(value)) < 0 ||
        strcasecmp(value, "websocket") != 0)
        return fail(c, "101 without Upgrade: websocket");
    if (wsc_http_header(head, "Connection", value, sizeof(value)) < 0 ||
        strcasecmp(value, "upgrade") != 0)
        return fail(c, "101 without Connection: Upgrade");
    ws_http_accept_key(key, strlen(key), expect);
    if (wsc_http_header(head, "Sec-WebSocket-Accept", value, sizeof(value)) < 0)
        return fail(c, "101 without Sec-WebSocket-Accept");
    if (strcmp(value, expect) != 0)
        return fail(c, "Sec-WebSocket-Accept is %s, expected %s", value, expect);
    /* RFC 6455 §4.1: a subprotocol in the response must be one of those
     * offered (exactly one value, no list). */
    if (wsc_http_header(head, "Sec-WebSocket-Protocol", value, sizeof(value)) == 0 &&
        !offered_protocol(extra, value))
        return fail(c, "subprotocol \"%s\" in the response, not offered", value);
    /* RFC 6455 §4.1: extensions in the response must have been offered. */
    if (wsc_http_header(head, "Sec-WebSocket-Extensions", value, sizeof(value)) == 0) {
        if (!extra || !strstr(extra, "permessage-deflate"))
            return fail(c, "extension \"%s\" in the response, none offered", value);
        if (strncmp(value, "permessage-deflate", 18) != 0)
            return fail(c, "unknown extension \"%s\" in the response", value);
        return pmd_setup(c, value);
    }
    return 0;
}

/* Inflate a message's compressed payload (RFC 7692 §7.2.2: the tail
 * appended) into a malloc'd buffer. */
static int pmd_inflate(wsc *c, const uint8_t *in, size_t len, uint8_t **out, size_t *out_len) {
    z_stream *z = c->zin;
    static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
    size_t cap = len * 4 + 1024, got = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) return fail(c, "out of memory");
    if (c->pmd_server_nct) inflateReset(z);
    for (int part = 0; part < 2; part++) {
        z->next_in = (Bytef *)(uintptr_t)(part ? tail : in);
        z->avail_in = (uInt)(part ? 4 : len);
        while (z->avail_in > 0) {
            if (got == cap) {
                uint8_t *n = realloc(buf, cap * 2 + 1);
                if (!n) {
                    free(buf);
                    return fail(c, "out of memory");
                }
                buf = n;
                cap *= 2;
            }
            z->next_out = buf + got;
            z->avail_out = (uInt)(cap - got);
            int rc = inflate(z, Z_SYNC_FLUSH);
            got = cap - z->avail_out;
            if (rc == Z_STREAM_END) {
                /* A final block: what follows is not part of the stream. */
                inflateReset(z);
                break;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                free(buf);
                return fail(c, "server sent invalid compressed data (%s)", z->msg ? z->msg : "?");
            }
        }
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    return 0;
}

int wsc_compress(wsc *c, const void *data, size_t len, uint8_t **out, size_t *out_len) {
    z_stream *z = c->zout;
    size_t cap, got = 0;
    uint8_t *buf;
    if (!c->pmd) return fail(c, "permessage-deflate was not agreed");
    if (c->pmd_client_nct) deflateReset(z);
    cap = deflateBound(z, len) + 64;
    if (!(buf = malloc(cap))) return fail(c, "out of memory");
    z->next_in = (Bytef *)(uintptr_t)data;
    z->avail_in = (uInt)len;
    /* Until the flush is complete: room left over at the end. */
    do {
        if (cap - got < 64) {
            uint8_t *n = realloc(buf, cap * 2);
            if (!n) {
                free(buf);
                return fail(c, "out of memory");
            }
            buf = n;
            cap *= 2;
        }
        z->next_out = buf + got;
        z->avail_out = (uInt)(cap - got);
        if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR) {
            free(buf);
            return fail(c, "deflate failed");
        }
        got = cap - z->avail_out;
    } while (z->avail_in > 0 || z->avail_out == 0);
    if (got < 5) {
        /* zlib writes nothing for a flush right after a flush (an empty
         * message after another): the message is then the empty stored
         * block's first byte alone, 00 (with the tail: 00 00 00 ff ff). */
        buf[0] = 0;
        got = 5;
    }
    *out = buf;
    *out_len = got - 4; /* §7.2.1: without 00 00 ff ff */
    return 0;
}

int wsc_send_compressed(wsc *c, int opcode, const void *data, size_t len) {
    uint8_t *z;
    size_t zl;
    if (wsc_compress(c, data, len, &z, &zl) < 0) return -1;
    int rc = wsc_send_frame(c, WS_FIN | WS_RSV1 | (unsigned)opcode, z, zl);
    free(z);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Frames we send.                                                         */

int wsc_send_frame_header(wsc *c, unsigned b0, uint64_t len) {
    uint8_t hdr[WS_MAX_HEADER_LEN];

    random_bytes(c->mask, sizeof(c->mask));
    c->mask_off = 0;
    size_t n = ws_frame_header_masked(hdr, 0, 0, len, c->mask);
    hdr[0] = (uint8_t)b0; /* FIN, RSV and opcode exactly as the test asks */
    return wsc_send_raw(c, hdr, n);
}

int wsc_send_payload(wsc *c, const void *data, size_t len) {
    uint8_t chunk[SEND_CHUNK];
    const uint8_t *p = data;

    while (len > 0) {
        size_t n = len < sizeof(chunk) ? len : sizeof(chunk);
        memcpy(chunk, p, n);
        ws_frame_mask(chunk, n, c->mask, (size_t)(c->mask_off & 3));
        if (wsc_send_raw(c, chunk, n) < 0) return -1;
        c->mask_off += n;
        p += n;
        len -= n;
    }
    return 0;
}

int wsc_send_frame(wsc *c, unsigned b0, const void *payload, size_t len) {
    if (wsc_send_frame_header(c, b0, len) < 0) return -1;
    return wsc_send_payload(c, payload, len);
}

int wsc_send_unmasked(wsc *c, unsigned b0, const void *payload, size_t len) {
    uint8_t hdr[WS_MAX_SERVER_HEADER_LEN];
    size_t n = ws_frame_header(hdr, 0, 0, len);
    hdr[0] = (uint8_t)b0;
    if (wsc_send_raw(c, hdr, n) < 0) return -1;
    return wsc_send_raw(c, payload, len);
}

int wsc_send_message(wsc *c, int opcode, const void *data, size_t len) {
    return wsc_send_frame(c, WS_FIN | (unsigned)opcode, data, len);
}

int wsc_send_close(wsc *c, int code, const char *reason) {
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t n = 0;

    if (code >= 0) {
        size_t rlen = reason ? strlen(reason) : 0;
        if (rlen > WS_MAX_CLOSE_REASON) return fail(c, "close reason too long");
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)code;
        if (rlen) memcpy(payload + 2, reason, rlen);
        n = 2 + rlen;
    }
    return wsc_send_frame(c, WS_FIN | WS_OP_CLOSE, payload, n);
}

/* ---------------------------------------------------------------------- */
/* Frames we receive.                                                      */

int wsc_read_frame(wsc *c, wsc_frame *f) {
    uint8_t h[8];
    uint64_t len;

    memset(f, 0, sizeof(*f));
    if (wsc_recv_exact(c, h, 2) < 0) return -1;
    f->fin = (h[0] & WS_FIN) != 0;
    f->rsv = h[0] & WS_RSV_MASK;
    f->opcode = h[0] & WS_OPCODE_MASK;
    if (h[1] & WS_MASK_BIT) return fail(c, "server frame is masked (RFC 6455 §5.1 forbids it)");
    len = h[1] & WS_LEN7_MASK;
    if (len == WS_LEN16) {
        if (wsc_recv_exact(c, h, 2) < 0) return -1;
        len = ((uint64_t)h[0] << 8) | h[1];
    } else if (len == WS_LEN64) {
        if (wsc_recv_exact(c, h, 8) < 0) return -1;
        len = 0;
        for (int i = 0; i < 8; i++) len = (len << 8) | h[i];
    }
    if (len > MAX_FRAME)
        return fail(c, "server frame declares %llu bytes", (unsigned long long)len);
    f->payload = malloc((size_t)len + 1);
    if (!f->payload) return fail(c, "out of memory");
    if (wsc_recv_exact(c, f->payload, (size_t)len) < 0) {
        wsc_frame_free(f);
        return -1;
    }
    f->payload[len] = '\0';
    f->len = (size_t)len;
    return 0;
}

void wsc_frame_free(wsc_frame *f) {
    free(f->payload);
    f->payload = NULL;
    f->len = 0;
}

/* A short description of a frame for error messages. */
static void describe(const wsc_frame *f, char *out, size_t cap) {
    if (f->opcode == WS_OP_CLOSE && f->len >= 2)
        snprintf(out, cap, "close frame, code %u, reason \"%.*s\"",
                 (unsigned)(f->payload[0] << 8 | f->payload[1]), (int)(f->len - 2),
                 (const char *)f->payload + 2);
    else
        snprintf(out, cap, "frame opcode 0x%x fin %u, %zu bytes", f->opcode, f->fin, f->len);
}

int wsc_read_message(wsc *c, int *opcode, uint8_t **data, size_t *len) {
    uint8_t *msg = NULL;
    size_t total = 0;
    int first = 1, compressed = 0;
    char what[200];

    *data = NULL;
    *len = 0;
    for (;;) {
        wsc_frame f;
        if (wsc_read_frame(c, &f) < 0) {
            free(msg);
            return -1;
        }
        describe(&f, what, sizeof(what));
        /* RFC 7692 §6: RSV1 on a message's first frame, if agreed. */
        if (first && f.rsv == WS_RSV1 && c->pmd && !WS_OP_IS_CONTROL(f.opcode)) {
            compressed = 1;
        } else if (f.rsv) {
            free(msg);
            wsc_frame_free(&f);
            return fail(c, "RSV bits set in server frame: %s", what);
        }
        if (WS_OP_IS_CONTROL(f.opcode) ||
            (first ? f.opcode == WS_OP_CONT : f.opcode != WS_OP_CONT)) {
            free(msg);
            wsc_frame_free(&f);
            return fail(c, "expected %s, got %s", first ? "a message" : "a continuation", what);
        }
        if (first) *opcode = f.opcode;
        first = 0;
        uint8_t *grown = realloc(msg, total + f.len + 1);
        if (!grown) {
            free(msg);
            wsc_frame_free(&f);
            return fail(c, "out of memory");
        }
        msg = grown;
        memcpy(msg + total, f.payload, f.len);
        total += f.len;
        msg[total] = '\0';
        int fin = f.fin;
        wsc_frame_free(&f);
        if (fin) break;
    }
    c->last_compressed = compressed;
    c->last_wire_len = total;
    if (compressed) {
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        int rc = pmd_inflate(c, msg ? msg : (uint8_t *)"", total, &plain, &plain_len);
        free(msg);
        if (rc < 0) return -1;
        msg = plain;
        total = plain_len;
    }
    *data = msg;
    *len = total;
    return 0;
}

int wsc_expect_message(wsc *c, int opcode, const void *data, size_t len) {
    int op;
    uint8_t *msg;
    size_t n;

    if (wsc_read_message(c, &op, &msg, &n) < 0) return -1;
    int rc = 0;
    if (op != opcode) {
        rc = fail(c, "message opcode %d, expected %d", op, opcode);
    } else if (n != len) {
        rc = fail(c, "message of %zu bytes, expected %zu (\"%.40s\")", n, len, (char *)msg);
    } else if (len && memcmp(msg, data, len) != 0) {
        size_t i = 0;
        while (msg[i] == ((const uint8_t *)data)[i]) i++;
        rc = fail(c, "message differs at byte %zu of %zu", i, len);
    }
    free(msg);
    return rc;
}

int wsc_expect_close(wsc *c, unsigned code) {
    wsc_frame f;
    char what[200];

    if (wsc_read_frame(c, &f) < 0) return -1;
    describe(&f, what, sizeof(what));
    int rc = 0;
    if (f.opcode != WS_OP_CLOSE || !f.fin || f.rsv)
        rc = fail(c, "expected close %u, got %s", code, what);
    else if (f.len < 2)
        rc = fail(c, "expected close %u, got an empty close frame", code);
    else if ((unsigned)(f.payload[0] << 8 | f.payload[1]) != code)
        rc = fail(c, "expected close %u, got %s", code, what);
    wsc_frame_free(&f);
    return rc;
}

int wsc_expect_eof(wsc *c, unsigned timeout_ms) {
    uint8_t b[256];
    long r = wsc_recv_some(c, b, sizeof(b), timeout_ms);
    if (r == 0) return 0;
    if (r > 0) return fail(c, "expected EOF, got %ld bytes (first 0x%02x)", r, b[0]);
    char why[sizeof(c->err)];
    memcpy(why, c->err, sizeof(why));
    return fail(c, "expected EOF: %s", why);
}

int wsc_wait_closed(wsc *c, unsigned timeout_ms) {
    static uint8_t sink[64 * 1024];
    uint64_t deadline = ts_now_ms() + (timeout_ms ? timeout_ms : c->timeout_ms);
    c->in_off = c->in_len = 0;
    for (;;) {
        uint64_t now = ts_now_ms();
        if (now >= deadline) return fail(c, "connection still open");
        long r = wsc_recv_some(c, sink, sizeof(sink), (unsigned)(deadline - now));
        if (r == 0) return 0;
        if (r < 0 && errno != ETIMEDOUT) return 0; /* reset: closed too */
    }
}

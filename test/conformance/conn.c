/*
 * conn.c -- one client connection to the server under test, and the
 * expectations every case is built from.
 *
 * What is checked on *every* connection, whatever the case:
 *   - the opening handshake (RFC 6455 §4.2.2): status 101, "Upgrade:
 *     websocket", a Connection header listing "Upgrade", and
 *     Sec-WebSocket-Accept = base64(SHA-1(key + GUID)); no extension or
 *     subprotocol the client did not ask for (§4.1, §9.1), and an extension
 *     response that fits the case's offer (RFC 7692 §7.1, negotiate.c);
 *   - every server frame (§5.1, §5.2, §5.5): not masked, RSV bits clear
 *     (but RSV1 on the first frame of a compressed message once
 *     permessage-deflate is agreed, RFC 7692 §6), a defined opcode, the
 *     minimal length encoding, a 64-bit length with its top bit clear,
 *     control frames unfragmented and at most 125 bytes;
 *   - every compressed message (RFC 7692 §7.2.2): it inflates with the
 *     agreed window, and ends between blocks (zcodec.c);
 *   - every close frame the server sends (§5.5.1, §7.4): no 1-byte body, a
 *     code a peer may send, a UTF-8 reason;
 *   - the end (§7.1.1): after the closing handshake the *server* closes TCP
 *     first; the driver waits for FIN without closing its side.
 *
 * All socket I/O is non-blocking with poll() and a silence timeout, so no
 * case can hang. Writes keep reading while they wait, so a server echoing a
 * 16 MiB message back while we still send it cannot deadlock against us.
 */
#include "conf.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GUID              "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_RESPONSE_HEAD 8192
#define READ_CHUNK        (256 * 1024)

enum { GOT_BYTES = 1, GOT_EOF = 0, GOT_ERR = -1, GOT_TIMEOUT = -2 };

void cf_sleep_us(unsigned us) {
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Drop the consumed prefix once it is worth a memmove. */
static void compact(struct cf_conn *c) {
    if (c->in_off == 0) return;
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > c->in.cap / 2) {
        memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
}

/* One recv() into c->in, waiting at most timeout_ms for readability.
 * want: how many more bytes the caller needs (to size the buffer). */
static int fill(struct cf_ctx *t, struct cf_conn *c, size_t want) {
    if (c->eof) return GOT_EOF;
    if (c->read_err) return GOT_ERR;
    compact(c);
    size_t room = want > READ_CHUNK ? want : READ_CHUNK;
    cf_buf_reserve(&c->in, room);
    for (;;) {
        ssize_t r = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
        if (r > 0) {
            c->in.len += (size_t)r;
            return GOT_BYTES;
        }
        if (r == 0) {
            c->eof = true;
            return GOT_EOF;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->read_err = errno;
            return GOT_ERR;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int n = poll(&pfd, 1, t->cfg->timeout_ms);
        if (n == 0) return GOT_TIMEOUT;
        if (n < 0 && errno != EINTR) {
            c->read_err = errno;
            return GOT_ERR;
        }
    }
}

static size_t pending(const struct cf_conn *c) { return c->in.len - c->in_off; }

/* Explain why fill() did not deliver, as a failure. */
static int fail_fill(struct cf_ctx *t, struct cf_conn *c, int got, const char *waiting_for) {
    char hex[200];
    cf_hex(c->in.p + c->in_off, pending(c), 24, hex, sizeof hex);
    char seen[48] = "";
    if (c->frames_seen)
        snprintf(seen, sizeof seen, " (after %llu good frames)",
                 (unsigned long long)c->frames_seen);
    if (got == GOT_TIMEOUT)
        return cf_fail(t, "timeout: nothing for %d ms while waiting for %s%s%s%s",
                       t->cfg->timeout_ms, waiting_for, seen, pending(c) ? "; pending bytes: " : "",
                       pending(c) ? hex : "");
    if (got == GOT_EOF)
        return cf_fail(t, "server closed TCP (EOF) while waiting for %s%s%s%s", waiting_for, seen,
                       pending(c) ? "; pending bytes: " : "", pending(c) ? hex : "");
    return cf_fail(t, "%s while waiting for %s%s",
                   c->read_err == ECONNRESET ? "connection reset (RST)" : strerror(c->read_err),
                   waiting_for, seen);
}

/* ---- connect and handshake ------------------------------------------------- */

static int tcp_connect(struct cf_ctx *t, struct cf_conn *c) {
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(t->cfg->host, t->cfg->port, &hints, &res);
    if (rc != 0)
        return cf_fail(t, "cannot resolve %s:%s: %s", t->cfg->host, t->cfg->port, gai_strerror(rc));
    int err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* Small writes must leave as separate segments: the byte-by-byte
         * cases exist to make the server parse partial input. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            int n = poll(&pfd, 1, t->cfg->timeout_ms);
            socklen_t len = sizeof err;
            err = ETIMEDOUT;
            if (n == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err == 0) {
                c->fd = fd;
                freeaddrinfo(res);
                return 0;
            }
        } else {
            err = errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return cf_fail(t, "connect to %s:%s: %s", t->cfg->host, t->cfg->port, strerror(err));
}

/* The next header line of the response head after *line (which starts at
 * the status line) that is header `name`: its trimmed value into out. */
static bool next_header(const char **line, const char *name, char *out, size_t outsz) {
    size_t nl = strlen(name);
    const char *l = strstr(*line, "\r\n");
    while (l && l[2] != '\r' && l[2] != '\0') {
        l += 2;
        const char *eol = strstr(l, "\r\n");
        if (!eol) break;
        if ((size_t)(eol - l) > nl && l[nl] == ':' && strncasecmp(l, name, nl) == 0) {
            const char *v = l + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *e = eol;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
            size_t n = (size_t)(e - v) < outsz - 1 ? (size_t)(e - v) : outsz - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            *line = l;
            return true;
        }
        l = eol;
    }
    return false;
}

/* Find header `name` in the response head; copies its trimmed value. */
static bool header_value(const char *head, const char *name, char *out, size_t outsz) {
    return next_header(&head, name, out, outsz);
}

/* Every occurrence of header `name`, values joined by ", " (RFC 9110
 * §5.3: several lines of a list header are one list). false if none. */
static bool header_values(const char *head, const char *name, char *out, size_t outsz) {
    size_t o = 0;
    bool found = false;
    char v[1024];
    out[0] = '\0';
    for (const char *line = head; next_header(&line, name, v, sizeof v); found = true)
        if (o < outsz) o += (size_t)snprintf(out + o, outsz - o, "%s%s", found ? ", " : "", v);
    return found;
}

/* Is `token` one of the comma-separated tokens of list (case-insensitive)? */
static bool has_token(const char *list, const char *token) {
    size_t tl = strlen(token);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *s = p;
        while (*p && *p != ',') p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0) return true;
    }
    return false;
}

int cf_open(struct cf_ctx *t, struct cf_conn *c) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (tcp_connect(t, c) < 0) return -1;

    uint8_t nonce[16];
    for (int i = 0; i < 16; i += 4) {
        uint32_t r = cf_rand32(t);
        memcpy(nonce + i, &r, 4);
    }
    char key[25];
    cf_base64(nonce, 16, key);
    char req[4096];
    int rl = snprintf(req, sizeof req,
                      "GET /conformance HTTP/1.1\r\n"
                      "Host: %s:%s\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n",
                      t->cfg->host, t->cfg->port, key);
    /* The case's extension offer: each '\n'-separated part its own line. */
    for (const char *o = t->offer; o && *o && (size_t)rl < sizeof req;) {
        size_t n = strcspn(o, "\n");
        rl += snprintf(req + rl, sizeof req - (size_t)rl, "Sec-WebSocket-Extensions: %.*s\r\n",
                       (int)n, o);
        o += n + (o[n] == '\n');
    }
    if ((size_t)rl < sizeof req) rl += snprintf(req + rl, sizeof req - (size_t)rl, "\r\n");
    if ((size_t)rl >= sizeof req)
        return cf_fail(t, "driver: the handshake request does not fit %zu bytes", sizeof req);
    if (cf_write(t, c, (const uint8_t *)req, (size_t)rl, 0, 0) < 0) return -1;
    if (c->write_failed)
        return cf_fail(t, "handshake: server closed the connection while we sent the request");

    /* Read up to the blank line; anything after it is already frames. */
    size_t head_len = 0;
    for (;;) {
        const uint8_t *p = c->in.p;
        for (size_t i = 3; i < c->in.len; i++)
            if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n') {
                head_len = i + 1;
                break;
            }
        if (head_len) break;
        if (c->in.len > MAX_RESPONSE_HEAD)
            return cf_fail(t, "handshake: no end of response head in %d bytes", MAX_RESPONSE_HEAD);
        int got = fill(t, c, 0);
        if (got != GOT_BYTES) return fail_fill(t, c, got, "the handshake response");
    }
    char *head = malloc(head_len + 1);
    if (!head) abort();
    memcpy(head, c->in.p, head_len);
    head[head_len] = '\0';
    c->in_off = head_len;

    int rc = -1;
    char v[256];
    char *eol = strstr(head, "\r\n");
    if (strncmp(head, "HTTP/1.1 101", 12) != 0 || (head[12] != ' ' && head[12] != '\r')) {
        *eol = '\0';
        cf_fail(t, "handshake: status line \"%.120s\", want \"HTTP/1.1 101 ...\"", head);
        goto out;
    }
    if (!header_value(head, "Upgrade", v, sizeof v) || strcasecmp(v, "websocket") != 0) {
        cf_fail(t, "handshake: Upgrade header missing or not \"websocket\"");
        goto out;
    }
    if (!header_value(head, "Connection", v, sizeof v) || !has_token(v, "upgrade")) {
        cf_fail(t, "handshake: Connection header missing or without \"Upgrade\"");
        goto out;
    }
    char both[64];
    snprintf(both, sizeof both, "%s%s", key, GUID);
    uint8_t digest[20];
    char want[29];
    cf_sha1(both, strlen(both), digest);
    cf_base64(digest, 20, want);
    if (!header_value(head, "Sec-WebSocket-Accept", v, sizeof v) || strcmp(v, want) != 0) {
        cf_fail(t, "handshake: Sec-WebSocket-Accept \"%s\" for key %s, want \"%s\"", v, key, want);
        goto out;
    }
    {
        char ext[2048];
        struct cf_pmd_params agreed;
        bool has = header_values(head, "Sec-WebSocket-Extensions", ext, sizeof ext);
        int got = cf_pmd_negotiate(t, t->offer, has ? ext : NULL, &agreed);
        if (got < 0) goto out;
        if (got > 0) c->pmd = cf_pmd_new(&agreed, t->zstyle);
    }
    if (header_value(head, "Sec-WebSocket-Protocol", v, sizeof v)) {
        cf_fail(t, "handshake: server chose subprotocol \"%s\" the client never offered (§4.2.2)",
                v);
        goto out;
    }
    rc = 0;
out:
    free(head);
    return rc;
}

int cf_probe(struct cf_ctx *t) {
    struct cf_conn c = { .fd = -1 };
    if (tcp_connect(t, &c) < 0) return -1;
    close(c.fd);
    return 0;
}

void cf_close(struct cf_conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    cf_buf_free(&c->in);
    cf_pmd_free(c->pmd);
    c->pmd = NULL;
}

/* ---- writing ---------------------------------------------------------------- */

int cf_write(struct cf_ctx *t, struct cf_conn *c, const uint8_t *p, size_t n, size_t chop,
             unsigned pause) {
    size_t off = 0;
    while (off < n && !c->write_failed) {
        size_t want = n - off;
        if (chop && want > chop) want = chop;
        ssize_t w = send(c->fd, p + off, want, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            if (pause && off < n) cf_sleep_us(pause);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Socket full: read what the server sends meanwhile. */
            struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
            if (!c->eof && !c->read_err) pfd.events |= POLLIN;
            int r = poll(&pfd, 1, t->cfg->timeout_ms);
            if (r == 0) {
                return cf_fail(t,
                               "write stalled: server read nothing for %d ms "
                               "(%zu of %zu bytes sent)",
                               t->cfg->timeout_ms, off, n);
            }
            if (r > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof && !c->read_err) {
                compact(c);
                cf_buf_reserve(&c->in, READ_CHUNK);
                ssize_t g = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
                if (g > 0)
                    c->in.len += (size_t)g;
                else if (g == 0)
                    c->eof = true;
                else if (errno != EAGAIN && errno != EINTR)
                    c->read_err = errno;
            }
            continue;
        }
        /* EPIPE / ECONNRESET: the server has closed; what it said before
         * closing is in our receive buffer, for the next expectation. */
        c->write_failed = true;
    }
    return 0;
}

/* ---- reading frames ---------------------------------------------------------- */

static bool close_code_sendable(unsigned code) {
    /* RFC 6455 §7.4.1/§7.4.2 and the IANA registry (§11.7): 1004 is
     * reserved, 1005, 1006 and 1015 must never appear on the wire. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void cf_describe(const struct cf_frame *f, char *out, size_t outsz) {
    char hex[160];
    size_t show = f->len < 24 ? (size_t)f->len : 24;
    cf_hex(f->payload, (size_t)f->len, show, hex, sizeof hex);
    int o = snprintf(out, outsz, "%s fin=%d len=%llu", cf_opname(f->op), f->fin ? 1 : 0,
                     (unsigned long long)f->len);
    if (f->rsv && o > 0 && (size_t)o < outsz)
        o += snprintf(out + o, outsz - (size_t)o, " rsv=%u", f->rsv);
    if (f->op == CF_OP_CLOSE && f->len >= 2 && o > 0 && (size_t)o < outsz) {
        o += snprintf(out + o, outsz - (size_t)o, " code=%u",
                      (unsigned)f->payload[0] << 8 | f->payload[1]);
        if (f->len > 2 && o > 0 && (size_t)o < outsz)
            o += snprintf(out + o, outsz - (size_t)o, " reason=\"%.*s\"",
                          (int)(f->len - 2 > 60 ? 60 : f->len - 2), (const char *)f->payload + 2);
    } else if (f->len && o > 0 && (size_t)o < outsz) {
        snprintf(out + o, outsz - (size_t)o, " [%s]", hex);
    }
}

int cf_next_frame(struct cf_ctx *t, struct cf_conn *c, struct cf_frame *f) {
    memset(f, 0, sizeof *f);
    /* Header first: 2 bytes, then the extended length. */
    size_t need = 2;
    const uint8_t *h;
    for (;;) {
        h = c->in.p + c->in_off;
        if (pending(c) >= 2) {
            unsigned l7 = h[1] & 0x7F;
            need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
            if (pending(c) >= need) break;
        }
        int got = fill(t, c, need);
        if (got != GOT_BYTES) return fail_fill(t, c, got, "a frame");
    }
    char hhex[64];
    cf_hex(h, need, 14, hhex, sizeof hhex);
    f->fin = (h[0] & 0x80) != 0;
    f->rsv = (h[0] >> 4) & 7;
    f->op = h[0] & 0x0F;
    memcpy(f->head, h, need);
    f->head_len = need;
    if (h[1] & 0x80)
        return cf_fail(t, "server frame is masked (RFC 6455 §5.1 forbids it): header %s", hhex);
    unsigned l7 = h[1] & 0x7F;
    uint64_t len = l7;
    if (l7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126)
            return cf_fail(t,
                           "server used a 16-bit length for %llu bytes (§5.2: minimal "
                           "encoding): header %s",
                           (unsigned long long)len, hhex);
    } else if (l7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i];
        if (len >> 63)
            return cf_fail(t, "server frame length has the top bit set (§5.2): header %s", hhex);
        if (len <= 0xFFFF)
            return cf_fail(t,
                           "server used a 64-bit length for %llu bytes (§5.2: minimal "
                           "encoding): header %s",
                           (unsigned long long)len, hhex);
    }
    f->len = len;
    if (f->rsv && !c->pmd)
        return cf_fail(t,
                       "server frame has RSV bits %u with no extension negotiated (§5.2): "
                       "header %s",
                       f->rsv, hhex);
    /* RFC 7692 §6: permessage-deflate defines RSV1 only, and §6.1: only on
     * a message's first frame; RFC 6455 §5.2: any other bit fails. */
    if (f->rsv && f->rsv != 4)
        return cf_fail(t,
                       "server frame has RSV bits %u; permessage-deflate defines only RSV1 "
                       "(RFC 7692 §6): header %s",
                       f->rsv, hhex);
    if (f->rsv && f->op != CF_OP_TEXT && f->op != CF_OP_BINARY)
        return cf_fail(t,
                       "server %s frame has RSV1 set; permessage-deflate sets it on a "
                       "message's first frame only (RFC 7692 §6.1): header %s",
                       cf_opname(f->op), hhex);
    if ((f->op >= 3 && f->op <= 7) || f->op >= 11)
        return cf_fail(t, "server frame has reserved opcode %u (§5.2): header %s", f->op, hhex);
    if (f->op >= 8 && (!f->fin || len > 125))
        return cf_fail(t, "server %s frame is %s (§5.5): header %s", cf_opname(f->op),
                       !f->fin ? "fragmented" : "longer than 125 bytes", hhex);
    uint64_t limit = t->cfg->max_message + (1u << 20);
    if (len > limit)
        return cf_fail(t,
                       "server frame of %llu bytes is larger than any message we sent: header %s",
                       (unsigned long long)len, hhex);
    while (pending(c) < need + len) {
        int got = fill(t, c, (size_t)(need + len - pending(c)));
        if (got != GOT_BYTES) {
            char what[160];
            snprintf(what, sizeof what, "the %llu-byte payload of a %s frame (header %s)",
                     (unsigned long long)len, cf_opname(f->op), hhex);
            return fail_fill(t, c, got, what);
        }
    }
    f->payload = c->in.p + c->in_off + need;
    c->in_off += need + (size_t)len;
    c->frames_seen++;

    if (f->op == CF_OP_CLOSE) {
        /* RFC 6455 §5.5.1: a body, if any, starts with a 2-byte code. */
        if (len == 1)
            return cf_fail(t, "server close frame has a 1-byte body [%02x] (§5.5.1)",
                           f->payload[0]);
        if (len >= 2) {
            unsigned code = (unsigned)f->payload[0] << 8 | f->payload[1];
            if (!close_code_sendable(code))
                return cf_fail(t, "server sent close code %u, which no endpoint may send (§7.4)",
                               code);
            size_t at;
            if (cf_utf8_check(f->payload + 2, (size_t)len - 2, &at) != CF_UTF8_OK)
                return cf_fail(t, "server close reason is not UTF-8 (§5.5.1), byte %zu", at);
        }
    }
    return 1;
}

/* ---- expectations ------------------------------------------------------------- */

static int unexpected(struct cf_ctx *t, const struct cf_frame *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int unexpected(struct cf_ctx *t, const struct cf_frame *f, const char *fmt, ...) {
    char want[200], got[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    cf_describe(f, got, sizeof got);
    return cf_fail(t, "expected %s, got %s", want, got);
}

/* What an echo is compared with, piece by piece as it arrives (and, for
 * a compressed message, as it inflates). */
struct expect {
    unsigned op;
    const uint8_t *data; /* or NULL: pattern pat from pat_off */
    int pat;
    uint64_t pat_off;
    uint64_t n;   /* the length sent (UINT64_MAX: unknown) */
    uint64_t off; /* bytes matched so far */
    bool z;       /* the message is compressed */
};

static int expect_bytes(struct cf_ctx *t, void *arg, const uint8_t *p, size_t len) {
    struct expect *ex = arg;
    const char *how = ex->z ? " (inflated)" : "";
    uint8_t tmp[4096];
    if (len > ex->n - ex->off)
        return cf_fail(t, "echoed %s message too long%s: %llu+ bytes, sent %llu", cf_opname(ex->op),
                       how, (unsigned long long)(ex->off + len), (unsigned long long)ex->n);
    /* Compare in slices, generating the pattern as we go. */
    for (size_t i = 0; i < len;) {
        size_t k = len - i < sizeof tmp ? len - i : sizeof tmp;
        const uint8_t *exp = tmp;
        if (ex->data)
            exp = ex->data + ex->off + i;
        else
            cf_pattern(ex->pat, ex->pat_off + ex->off + i, tmp, k);
        if (memcmp(p + i, exp, k) != 0) {
            size_t j = 0;
            while (p[i + j] == exp[j]) j++;
            char g[100], e[100];
            size_t show = k - j < 12 ? k - j : 12;
            cf_hex(p + i + j, show, 12, g, sizeof g);
            cf_hex(exp + j, show, 12, e, sizeof e);
            if (ex->n == UINT64_MAX)
                return cf_fail(t,
                               "echoed fragment of the %s message differs%s at byte %llu: "
                               "got [%s], want [%s]",
                               cf_opname(ex->op), how, (unsigned long long)(ex->off + i + j), g, e);
            return cf_fail(t,
                           "echoed %s message differs%s at byte %llu of %llu: got [%s], "
                           "want [%s]",
                           cf_opname(ex->op), how, (unsigned long long)(ex->off + i + j),
                           (unsigned long long)ex->n, g, e);
        }
        i += k;
    }
    ex->off += len;
    return 0;
}

/* The payload of frame f of the message: compared as it is, or inflated
 * (RFC 7692 §7.2.2) when the message's first frame had RSV1. */
static int take_payload(struct cf_ctx *t, struct cf_conn *c, struct expect *ex,
                        const struct cf_frame *f, bool first) {
    if (first) {
        ex->z = (f->rsv & 4) != 0;
        if (ex->z) cf_pmd_inflate_begin(c->pmd);
    }
    if (ex->z)
        return cf_pmd_inflate(t, c->pmd, f->payload, (size_t)f->len, f->fin, expect_bytes, ex);
    return expect_bytes(t, ex, f->payload, (size_t)f->len);
}

int cf_expect_message(struct cf_ctx *t, struct cf_conn *c, unsigned op, const uint8_t *data,
                      int pat, uint64_t pat_off, uint64_t n) {
    struct expect ex = { .op = op, .data = data, .pat = pat, .pat_off = pat_off, .n = n };
    for (uint64_t nframes = 0;; nframes++) {
        struct cf_frame f;
        if (cf_next_frame(t, c, &f) < 0) return -1;
        if (nframes == 0 && f.op != op)
            return unexpected(t, &f, "%s message of %llu bytes", cf_opname(op),
                              (unsigned long long)n);
        if (nframes > 0 && f.op != CF_OP_CONT)
            return unexpected(t, &f, "continuation of the %s message (%llu of %llu bytes so far)",
                              cf_opname(op), (unsigned long long)ex.off, (unsigned long long)n);
        if (take_payload(t, c, &ex, &f, nframes == 0) < 0) return -1;
        if (f.fin) break;
    }
    if (ex.off != n)
        return cf_fail(t, "echoed %s message too short%s: %llu of %llu bytes", cf_opname(op),
                       ex.z ? " (inflated)" : "", (unsigned long long)ex.off,
                       (unsigned long long)n);
    return 0;
}

int cf_expect_pong(struct cf_ctx *t, struct cf_conn *c, const uint8_t *data, size_t n) {
    struct cf_frame f;
    if (cf_next_frame(t, c, &f) < 0) return -1;
    char hex[120];
    cf_hex(data, n, 16, hex, sizeof hex);
    if (f.op != CF_OP_PONG || f.len != n || memcmp(f.payload, data, n) != 0)
        return unexpected(t, &f, "pong len=%zu [%s]", n, hex);
    return 0;
}

/* After a close frame: no more frames, and the server's FIN. */
static int expect_eof(struct cf_ctx *t, struct cf_conn *c, bool rst_ok) {
    if (t->cfg->client_fin) shutdown(c->fd, SHUT_WR);
    for (;;) {
        if (pending(c)) {
            char hex[120];
            cf_hex(c->in.p + c->in_off, pending(c), 24, hex, sizeof hex);
            return cf_fail(t,
                           "server sent %zu more bytes after the close frame (§5.5.1: "
                           "nothing may follow a close): %s",
                           pending(c), hex);
        }
        int got = fill(t, c, 0);
        if (got == GOT_BYTES) continue;
        if (got == GOT_EOF) return 0;
        if (got == GOT_ERR && rst_ok && c->read_err == ECONNRESET) return 0;
        if (got == GOT_TIMEOUT)
            return cf_fail(t,
                           "server did not close TCP within %d ms after the close frames "
                           "(RFC 6455 §7.1.1: the server closes first)",
                           t->cfg->timeout_ms);
        return cf_fail(t, "%s instead of a FIN after the close frames",
                       c->read_err == ECONNRESET ? "connection reset (RST)"
                                                 : strerror(c->read_err));
    }
}

static int check_close(struct cf_ctx *t, struct cf_conn *c, const struct cf_frame *f, int code) {
    int got = f->len >= 2 ? (int)((unsigned)f->payload[0] << 8 | f->payload[1]) : -1;
    bool ok = code == CF_CODE_NORMAL_OR_EMPTY ? (got == -1 || got == CF_CLOSE_NORMAL) : got == code;
    if (f->op != CF_OP_CLOSE || !ok) {
        if (code == CF_CODE_NORMAL_OR_EMPTY)
            return unexpected(t, f, "close frame with code 1000 or no code");
        return unexpected(t, f, "close frame with code %d", code);
    }
    bool rst_ok = false;
    if (!c->sent_close) {
        /* RFC 6455 §5.5.1: answer a close with a close, echoing the code. */
        struct cf_buf out = { 0 };
        uint8_t body[2] = { (uint8_t)(got >> 8), (uint8_t)got };
        cf_put_frame(t, &out, CF_FIN | CF_OP_CLOSE, got < 0 ? 0 : 2, body, 0, 0, got < 0 ? 0 : 2,
                     true);
        cf_write(t, c, out.p, out.len, 0, 0);
        cf_buf_free(&out);
        c->sent_close = true;
        /* A server failing the connection may close TCP at once (§7.1.7);
         * our reply then meets a closed socket and may earn a RST. */
        rst_ok = true;
    }
    return expect_eof(t, c, rst_ok);
}

int cf_expect_close(struct cf_ctx *t, struct cf_conn *c, int code) {
    struct cf_frame f;
    if (cf_next_frame(t, c, &f) < 0) return -1;
    return check_close(t, c, &f, code);
}

int cf_expect_close_after_parts(struct cf_ctx *t, struct cf_conn *c, int code, int pat) {
    struct expect ex = { .pat = pat, .n = UINT64_MAX };
    for (uint64_t nframes = 0;; nframes++) {
        struct cf_frame f;
        if (cf_next_frame(t, c, &f) < 0) return -1;
        bool part =
            nframes == 0 ? (f.op == CF_OP_TEXT || f.op == CF_OP_BINARY) : f.op == CF_OP_CONT;
        if (!part) return check_close(t, c, &f, code);
        if (f.fin)
            return unexpected(t, &f,
                              "close frame with code %d (the message was bad, "
                              "its echo must not finish)",
                              code);
        if (nframes == 0) ex.op = f.op;
        if (take_payload(t, c, &ex, &f, nframes == 0) < 0) return -1;
    }
}

int cf_expect_drop(struct cf_ctx *t, struct cf_conn *c, int code) {
    while (pending(c) == 0) {
        int got = fill(t, c, 0);
        if (got == GOT_EOF || (got == GOT_ERR && c->read_err == ECONNRESET)) return 0;
        if (got != GOT_BYTES)
            return fail_fill(t, c, got, "a close frame or the end of the connection");
    }
    return cf_expect_close(t, c, code);
}

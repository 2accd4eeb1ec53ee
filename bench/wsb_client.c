/*
 * wsb_client.c -- the client side of RFC 6455, built for load generation.
 *
 * One worker = one thread, one epoll instance (edge-triggered), an array of
 * connections allocated up front, one shared read buffer. The steady state
 * (read -> verify echo -> build next frames -> one write) allocates nothing
 * and makes one read() and one write() per connection per wake-up, so the
 * client stays much cheaper per message than the servers it measures.
 *
 * Reference card: what a client must do, and where this file does it.
 *   RFC 6455 §4.1   opening handshake. Request: GET, Host, Upgrade: websocket,
 *                   Connection: Upgrade, Sec-WebSocket-Key = base64 of 16
 *                   random bytes, Sec-WebSocket-Version: 13 (request_build()).
 *                   Response: status 101, Upgrade: websocket, Connection
 *                   containing "Upgrade", Sec-WebSocket-Accept =
 *                   base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")),
 *                   and no extension or subprotocol we did not ask for;
 *                   otherwise "the client MUST _Fail the WebSocket
 *                   Connection_" (response_check()).
 *   RFC 6455 §5.2   frame layout
 *                      0                   1                   2                   3
 *                      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *                     +-+-+-+-+-------+-+-------------+-------------------------------+
 *                     |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *                     |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *                     |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *                     | |1|2|3|       |K|             |                               |
 *                     +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *                     |     Extended payload length continued, if payload len == 127  |
 *                     + - - - - - - - - - - - - - - - +-------------------------------+
 *                     |                               |Masking-key, if MASK set to 1  |
 *                     +-------------------------------+-------------------------------+
 *                     | Masking-key (continued)       |          Payload Data         |
 *                     +-------------------------------- - - - - - - - - - - - - - - - +
 *                   lengths use "the minimal number of bytes"; a 64-bit length
 *                   has its most significant bit 0; RSV1-3 must be 0 without
 *                   a negotiated extension (rx_header()).
 *   RFC 6455 §5.1   a client masks every frame it sends (frame_build()); the
 *                   server never masks, and a client "MUST close a
 *                   connection if it detects a masked frame" (rx_header()).
 *   RFC 6455 §5.3   masking: octet i of the payload is XOR-ed with octet
 *                   i % 4 of a fresh, unpredictable 32-bit masking key.
 *   RFC 6455 §5.4   fragments: a data frame with FIN clear is followed by
 *                   continuation frames; control frames may come in between.
 *   RFC 6455 §5.5   control frames: FIN set, payload <= 125 bytes; a Ping is
 *                   answered with a Pong carrying the same payload; a Close is
 *                   answered with a Close, after which the server closes the
 *                   TCP connection first (§7.1.1).
 *
 * Randomness: Sec-WebSocket-Key comes from getrandom(). Masking keys come
 * from a xorshift generator seeded from getrandom(): §10.3 asks for keys an
 * attacker cannot predict so that a hostile page cannot steer the bytes a
 * proxy sees; a benchmark talking to loopback has no such attacker, and a
 * system call per frame would cost more than the rest of the send path.
 */
#include "wsb_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "wsb_base64.h"
#include "wsb_deflate.h"
#include "wsb_pattern.h"
#include "wsb_sha1.h"

/* RFC 6455 §11.8 opcodes. */
#define OP_CONT   0x0
#define OP_TEXT   0x1
#define OP_BINARY 0x2
#define OP_CLOSE  0x8
#define OP_PING   0x9
#define OP_PONG   0xa

#define CLOSE_NORMAL 1000                                   /* RFC 6455 §7.4.1 */
#define CONTROL_MAX  125                                    /* RFC 6455 §5.5 */
#define WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */

#define RBUF_SIZE     (256u * 1024u) /* one read buffer per worker */
#define HS_MAX        2048u          /* bytes of 101 response we accept */
#define BATCH_BYTES   (256u * 1024u) /* data frames queued per connection at most */
/* Room always kept in the send buffer for one Pong and one Close
 * (2 + 4 header and mask bytes + 125 payload each). */
#define CTRL_RESERVE  (2u * (6u + CONTROL_MAX))
#define MAX_ERR_LINES 10 /* error lines printed per worker */

#define NS_PER_SEC 1000000000ull
#define CTL_TOKEN  UINT64_MAX /* epoll data of the control pipe */

enum conn_state {
    C_NEW,        /* not started yet */
    C_CONNECTING, /* connect() in progress */
    C_HANDSHAKE,  /* request queued/sent, reading the 101 */
    C_OPEN,       /* frames flow */
    C_CLOSING,    /* a Close was sent and/or received; waiting for TCP close */
    C_DONE,       /* closed cleanly */
    C_FAILED      /* closed because of an error (counted once) */
};

enum rx_state {
    RX_HEADER, /* collecting the 2..10 header bytes of a server frame */
    RX_PAYLOAD /* inside a frame's payload: `remaining` bytes to go */
};

enum phase {
    PH_CONNECT, /* opening connections, at most max_pending at a time */
    PH_WAIT,    /* all open; waiting for 'G' or 'E' from the coordinator */
    PH_RUN,     /* load: warm-up then measured window */
    PH_DRAIN,   /* load: no new messages; waiting for the last echoes */
    PH_CLOSE,   /* closing handshakes */
    PH_END
};

struct conn {
    int fd;
    uint32_t id;      /* global connection id: pattern and source address */
    uint8_t state;    /* enum conn_state */
    uint8_t rx;       /* enum rx_state */
    uint8_t hdr_len;  /* header bytes collected */
    uint8_t hdr_need; /* header bytes this frame has (2, 4 or 10) */
    uint8_t hdr[10];
    uint8_t opcode;     /* opcode of the frame being received */
    uint8_t fin;        /* FIN bit of the frame being received */
    uint8_t msg_opcode; /* data message in progress (TEXT/BINARY), 0 if none */
    uint8_t ctl_len;    /* control payload bytes collected */
    uint8_t close_sent;
    uint8_t close_rcvd;
    uint8_t blocked;    /* last write hit EAGAIN: wait for EPOLLOUT */
    uint8_t compressed; /* --deflate: the message being received has RSV1 */
    uint8_t ctl[CONTROL_MAX];
    uint64_t remaining; /* payload bytes left in the current frame */
    uint64_t msg_off;   /* payload bytes of the current message seen */
    uint64_t send_seq;  /* sequence number of the next message to build */
    uint64_t recv_seq;  /* sequence number of the next echo expected */
    uint64_t deadline;  /* connect/handshake or close deadline (ns) */
    uint64_t *sent_at;  /* [depth] send time of seq % depth (load mode) */
    uint8_t *out;       /* send buffer: bytes [out_off, out_len) unsent */
    size_t out_cap, out_off, out_len;
    uint8_t *zin; /* --deflate: the echo being received, whole */
    size_t zin_len, zin_cap;
    char *hs; /* handshake response bytes (C_HANDSHAKE only) */
    size_t hs_len;
    char accept[WSB_BASE64_LEN(WSB_SHA1_DIGEST_LEN) + 1]; /* expected value */
};

struct worker {
    const struct wsb_config *cfg;
    struct conn *conns;
    uint32_t n;
    int ep, ctl_fd, res_fd;
    uint8_t *rbuf;
    enum phase phase;
    uint32_t next_start; /* next conns[] index to start */
    uint32_t pending;    /* connecting or handshaking */
    uint32_t live;       /* open or closing */
    uint64_t inflight;   /* messages sent and not yet echoed, all conns */
    int sending;         /* build new messages? */
    int measuring;       /* count echoes into res.msgs / res.hist? */
    uint64_t t_connect0, t_run0, t_measure0, t_measure_end, t_phase_deadline;
    uint64_t t_next_scan; /* next check_deadlines() scan */
    uint64_t rng;         /* xorshift64 state for masking keys */
    size_t frame_len;     /* header + payload bytes of one data frame */
    size_t out_cap;       /* send buffer size per connection */
    unsigned err_lines;
    struct wsb_zset zset; /* --deflate: the messages, compressed */
    struct wsb_result res;
};

uint64_t wsb_result_errors(const struct wsb_result *r) {
    return r->connect_failed + r->handshake_failed + r->verify_errors + r->protocol_errors +
           r->unexpected_close + r->io_errors + r->timeouts + r->close_failed;
}

static uint64_t now_ns(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t sec_to_ns(double s) { return s <= 0 ? 0 : (uint64_t)(s * 1e9); }

static uint32_t rng_next32(struct worker *w) {
    /* Marsaglia's xorshift64, returning the high half (the better bits). */
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (uint32_t)(w->rng >> 32);
}

/* ---- Connection teardown and error accounting -------------------------- */

static void conn_close_fd(struct worker *w, struct conn *c) {
    if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE)
        w->pending--;
    else if (c->state == C_OPEN || c->state == C_CLOSING)
        w->live--;
    free(c->hs);
    c->hs = NULL;
    w->inflight -= c->send_seq - c->recv_seq;
    c->send_seq = c->recv_seq;
}

/* Count one error in *counter, print a line (the first few only), close the
 * connection. The struct conn stays (it is part of an array); only its
 * socket goes, so callers just return after this. */
static void conn_fail(struct worker *w, struct conn *c, uint64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void conn_fail(struct worker *w, struct conn *c, uint64_t *counter, const char *fmt, ...) {
    (*counter)++;
    if (w->err_lines < MAX_ERR_LINES) {
        va_list ap;

        fprintf(stderr, "wsbench: conn %u: ", c->id);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (++w->err_lines == MAX_ERR_LINES)
            fprintf(stderr, "wsbench: (further errors of this process not shown)\n");
    }
    conn_close_fd(w, c);
    c->state = C_FAILED;
}

static void conn_done(struct worker *w, struct conn *c) {
    conn_close_fd(w, c);
    c->state = C_DONE;
}

/* ---- Sending ----------------------------------------------------------- */

/* Write the unsent bytes of c->out with one write() unless the socket is
 * known to be full. Returns -1 if the connection failed. */
static int conn_flush(struct worker *w, struct conn *c) {
    while (c->out_off < c->out_len && !c->blocked) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

        if (n > 0) {
            c->out_off += (size_t)n;
            /* A short write means the socket buffer is full: the next
             * write would only return EAGAIN, so wait for EPOLLOUT. */
            if (c->out_off < c->out_len) c->blocked = 1;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->blocked = 1;
        } else {
            conn_fail(w, c, &w->res.io_errors, "write: %s",
                      n < 0 ? strerror(errno) : "wrote nothing");
            return -1;
        }
    }
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    return 0;
}

/* Make room for `need` more bytes at the end of c->out by moving unsent
 * bytes to the front. Returns 0 if there is room now. */
static int out_room(struct conn *c, size_t need) {
    if (c->out_len + need <= c->out_cap) return 0;
    if (c->out_off == 0) return -1;
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_len -= c->out_off;
    c->out_off = 0;
    return c->out_len + need <= c->out_cap ? 0 : -1;
}

/* Append one masked frame header for a payload of len bytes; the 4-byte
 * masking key is written too and returned in mask[]. The caller must have
 * checked the room (at most 14 bytes). */
static void frame_header(struct worker *w, struct conn *c, uint8_t opcode, uint64_t len,
                         uint8_t mask[4]) {
    uint8_t *p = c->out + c->out_len;
    uint32_t m = rng_next32(w);

    *p++ = (uint8_t)(0x80 | opcode); /* FIN, no RSV bits */
    /* RFC 6455 §5.2: the minimal length encoding, MASK bit set (§5.1). */
    if (len < 126) {
        *p++ = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        *p++ = 0x80 | 126;
        *p++ = (uint8_t)(len >> 8);
        *p++ = (uint8_t)len;
    } else {
        *p++ = 0x80 | 127;
        for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(len >> (8 * i));
    }
    memcpy(mask, &m, 4);
    memcpy(p, mask, 4);
    p += 4;
    c->out_len = (size_t)(p - c->out);
}

/* Queue a control frame (Pong or Close) carrying payload[0..len). It uses
 * the CTRL_RESERVE room, which data frames never take. */
static void queue_control(struct worker *w, struct conn *c, uint8_t opcode, const uint8_t *payload,
                          size_t len) {
    uint8_t mask[4];

    if (out_room(c, 6 + len) < 0)
        return; /* two Pongs already queued: §5.5.3 allows answering only the last Ping */
    frame_header(w, c, opcode, len, mask);
    for (size_t i = 0; i < len; i++) c->out[c->out_len + i] = payload[i] ^ mask[i % 4];
    c->out_len += len;
}

/* Queue as many new data messages as depth and the send buffer allow, and
 * stamp them with one clock reading taken after they are built. */
static void refill(struct worker *w, struct conn *c) {
    const struct wsb_config *cfg = w->cfg;
    uint64_t first = c->send_seq;

    while (c->send_seq - c->recv_seq < cfg->depth) {
        uint8_t mask[4];

        if (out_room(c, w->frame_len + CTRL_RESERVE) < 0) break;
        if (cfg->deflate) {
            /* RFC 7692 §6: RSV1 on the (only) frame of a compressed message. */
            unsigned k = (unsigned)(c->send_seq % WSB_ZSET);
            size_t n = w->zset.zlen[k];

            frame_header(w, c, cfg->text ? OP_TEXT : OP_BINARY, n, mask);
            c->out[c->out_len - 4 - (n < 126 ? 2 : n <= 0xffff ? 4 : 10)] |= 0x40;
            for (size_t i = 0; i < n; i++) c->out[c->out_len + i] = w->zset.z[k][i] ^ mask[i & 3];
            c->out_len += n;
            c->send_seq++;
            continue;
        }
        frame_header(w, c, cfg->text ? OP_TEXT : OP_BINARY, cfg->size, mask);
        wsb_pattern_fill_masked(c->out + c->out_len, cfg->size,
                                wsb_pattern_base(cfg->salt, c->id, c->send_seq), cfg->text, mask);
        c->out_len += cfg->size;
        c->send_seq++;
    }
    if (c->send_seq != first) {
        uint64_t t = now_ns();

        for (uint64_t s = first; s != c->send_seq; s++) c->sent_at[s % cfg->depth] = t;
        w->inflight += c->send_seq - first;
    }
}

/* Start a closing handshake: Close with 1000 (normal closure). */
static void start_close(struct worker *w, struct conn *c) {
    uint8_t code[2] = { CLOSE_NORMAL >> 8, CLOSE_NORMAL & 0xff };

    queue_control(w, c, OP_CLOSE, code, 2);
    c->close_sent = 1;
    c->state = C_CLOSING;
    c->deadline = now_ns() + sec_to_ns(w->cfg->timeout);
}

/* ---- Opening handshake --------------------------------------------------- */

/* Build the §4.1 request into c->out and remember the Sec-WebSocket-Accept
 * value the server must send back. */
static int request_build(struct worker *w, struct conn *c) {
    uint8_t nonce[16], digest[WSB_SHA1_DIGEST_LEN];
    char key[WSB_BASE64_LEN(16) + 1];
    struct wsb_sha1 sha;

    /* RFC 6455 §4.1: "a nonce consisting of a randomly selected 16-byte
     * value that has been base64-encoded". */
    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) return -1;
    wsb_base64_encode(nonce, sizeof(nonce), key);
    wsb_sha1_init(&sha);
    wsb_sha1_update(&sha, key, strlen(key));
    wsb_sha1_update(&sha, WS_GUID, strlen(WS_GUID));
    wsb_sha1_final(&sha, digest);
    wsb_base64_encode(digest, sizeof(digest), c->accept);

    int n =
        snprintf((char *)c->out, c->out_cap,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s"
                 "\r\n",
                 w->cfg->path, w->cfg->host_header, key, w->cfg->deflate ? WSB_DEFLATE_OFFER : "");
    if (n < 0 || (size_t)n >= c->out_cap) return -1;
    c->out_off = 0;
    c->out_len = (size_t)n;
    return 0;
}

static int lower(int ch) { return (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch; }

/* Case-insensitive equality of p[0..len) and the NUL-terminated lower-case s. */
static int eq_nocase(const char *p, size_t len, const char *s) {
    size_t i = 0;

    for (; i < len && s[i]; i++)
        if (lower((unsigned char)p[i]) != s[i]) return 0;
    return i == len && s[i] == '\0';
}

/* Does the comma-separated token list v[0..len) contain `token`? */
static int has_token(const char *v, size_t len, const char *token) {
    size_t i = 0;

    while (i < len) {
        size_t start, end;

        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        start = i;
        while (i < len && v[i] != ',') i++;
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) end--;
        if (end > start && eq_nocase(v + start, end - start, token)) return 1;
    }
    return 0;
}

/* Check the server's response head r[0..len) (ending in CRLF CRLF) as
 * RFC 6455 §4.1 tells a client to. Returns NULL if it is a valid 101, else
 * why not. */
static const char *response_check(const struct worker *w, const struct conn *c, const char *r,
                                  size_t len) {
    const char *p = r, *end = r + len;
    int upgrade = 0, connection = 0, accept = 0, deflate = 0;

    /* Status line: "HTTP/1.1 101" then SP (the reason phrase may be empty). */
    if (len < 13 || memcmp(p, "HTTP/1.1 101", 12) != 0 || (p[12] != ' ' && p[12] != '\r'))
        return "status is not \"HTTP/1.1 101\"";
    while (p < end && *p != '\n') p++;
    p++;
    /* Header fields, one per line, until the empty line. */
    while (p < end) {
        const char *line = p, *eol = p, *colon, *v, *vend;

        while (eol < end && *eol != '\r') eol++;
        if (eol == line) break; /* the empty line */
        if (eol + 1 >= end || eol[1] != '\n') return "header line not ended by CRLF";
        p = eol + 2;
        for (colon = line; colon < eol && *colon != ':'; colon++)
            ;
        if (colon == eol || colon == line) return "malformed header line";
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
            ;
        for (vend = eol; vend > v && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
            ;
        size_t nlen = (size_t)(colon - line), vlen = (size_t)(vend - v);

        if (eq_nocase(line, nlen, "upgrade")) {
            if (!eq_nocase(v, vlen, "websocket")) return "Upgrade is not websocket";
            upgrade = 1;
        } else if (eq_nocase(line, nlen, "connection")) {
            if (!has_token(v, vlen, "upgrade")) return "Connection has no Upgrade token";
            connection = 1;
        } else if (eq_nocase(line, nlen, "sec-websocket-accept")) {
            if (vlen != strlen(c->accept) || memcmp(v, c->accept, vlen) != 0)
                return "wrong Sec-WebSocket-Accept";
            accept = 1;
        } else if (eq_nocase(line, nlen, "sec-websocket-extensions")) {
            /* §4.1: an extension "not present in the client's handshake". */
            if (!w->cfg->deflate || vlen < 18 || memcmp(v, "permessage-deflate", 18) != 0)
                return "server chose an extension the client did not offer";
            /* The echo check relies on equal messages compressing alike. */
            if (!memmem(v, vlen, "server_no_context_takeover", 26))
                return "server keeps its compression context (we asked it not to)";
            deflate = 1;
        } else if (eq_nocase(line, nlen, "sec-websocket-protocol")) {
            return "server chose a subprotocol the client did not offer";
        }
    }
    if (!upgrade) return "no Upgrade header";
    if (!connection) return "no Connection header";
    if (!accept) return "no Sec-WebSocket-Accept header";
    if (w->cfg->deflate && !deflate) return "server declined permessage-deflate (--deflate)";
    return NULL;
}

/* ---- Receiving frames ---------------------------------------------------- */

static int conn_open(struct worker *w, struct conn *c);

/* A whole frame has arrived; act on it. Returns -1 if c failed or closed. */
static int rx_frame_done(struct worker *w, struct conn *c, uint64_t now) {
    const struct wsb_config *cfg = w->cfg;

    c->rx = RX_HEADER;
    c->hdr_len = 0;
    switch (c->opcode) {
    case OP_PING:
        /* §5.5.2/§5.5.3: answer with a Pong carrying the same bytes. */
        w->res.pings++;
        if (!c->close_sent) queue_control(w, c, OP_PONG, c->ctl, c->ctl_len);
        return 0;
    case OP_PONG: return 0; /* unsolicited Pong: §5.5.3 says no response is expected */
    case OP_CLOSE: {
        unsigned code = c->ctl_len >= 2 ? (unsigned)c->ctl[0] << 8 | c->ctl[1] : 0;

        c->close_rcvd = 1;
        /* §5.5.1: a Close body is empty or starts with a 2-byte code. */
        if (c->ctl_len == 1) {
            conn_fail(w, c, &w->res.protocol_errors, "Close frame with a 1-byte body");
            return -1;
        }
        if (!c->close_sent) {
            /* The server closed on its own: not part of the plan, so an
             * error; still answer with a Close echoing its code, as
             * §5.5.1 requires, before dropping the connection. */
            queue_control(w, c, OP_CLOSE, c->ctl, c->ctl_len >= 2 ? 2 : 0);
            c->close_sent = 1;
            conn_flush(w, c);
            if (c->fd >= 0)
                conn_fail(w, c, &w->res.unexpected_close,
                          "server sent Close (code %u) while the connection was in use", code);
            return -1;
        }
        if (c->ctl_len != 0 && code != CLOSE_NORMAL) {
            conn_fail(w, c, &w->res.close_failed, "server answered our Close 1000 with code %u",
                      code);
            return -1;
        }
        return 0; /* now wait for the server to close TCP (§7.1.1) */
    }
    default: break;
    }
    /* A data frame (TEXT/BINARY/CONT) ended. */
    if (!c->fin) return 0;
    if (cfg->deflate) {
        if (wsb_zset_check(&w->zset, (unsigned)(c->recv_seq % WSB_ZSET), c->zin, c->zin_len,
                           c->compressed) < 0) {
            conn_fail(w, c, &w->res.verify_errors,
                      "echo of message %llu (%zu bytes, %s) is not what was sent",
                      (unsigned long long)c->recv_seq, c->zin_len,
                      c->compressed ? "compressed" : "plain");
            return -1;
        }
        c->msg_off = cfg->size;
    }
    if (c->msg_off != cfg->size) {
        conn_fail(w, c, &w->res.verify_errors, "echo of message %llu has %llu bytes, sent %llu",
                  (unsigned long long)c->recv_seq, (unsigned long long)c->msg_off,
                  (unsigned long long)cfg->size);
        return -1;
    }
    if (w->measuring) {
        wsb_hist_record(&w->res.hist, now - c->sent_at[c->recv_seq % cfg->depth]);
        w->res.msgs++;
    }
    w->res.total_msgs++;
    c->recv_seq++;
    c->msg_opcode = 0;
    w->inflight--;
    return 0;
}

/* The frame header in c->hdr is complete: validate it. Returns -1 if c
 * failed. */
static int rx_header(struct worker *w, struct conn *c, uint64_t now) {
    const struct wsb_config *cfg = w->cfg;
    uint8_t b1 = c->hdr[1];
    uint64_t len = b1 & 0x7f;

    if ((b1 & 0x7f) == 126) {
        len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
        if (len < 126) {
            conn_fail(w, c, &w->res.protocol_errors,
                      "16-bit length %llu is not minimal (RFC 6455 §5.2)", (unsigned long long)len);
            return -1;
        }
    } else if ((b1 & 0x7f) == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) len = len << 8 | c->hdr[i];
        if (len >> 63) {
            conn_fail(w, c, &w->res.protocol_errors,
                      "64-bit length with the top bit set (RFC 6455 §5.2)");
            return -1;
        }
        if (len <= 0xffff) {
            conn_fail(w, c, &w->res.protocol_errors,
                      "64-bit length %llu is not minimal (RFC 6455 §5.2)", (unsigned long long)len);
            return -1;
        }
    }
    c->remaining = len;
    if (c->opcode >= OP_CLOSE) {
        c->ctl_len = 0;
    } else {
        if (c->opcode != OP_CONT) {
            c->msg_opcode = c->opcode;
            c->msg_off = 0;
            c->zin_len = 0;
            c->compressed = (c->hdr[0] & 0x40) != 0;
        }
        if (c->msg_opcode != (cfg->text ? OP_TEXT : OP_BINARY)) {
            conn_fail(w, c, &w->res.verify_errors, "echo is a %s message, sent %s",
                      c->msg_opcode == OP_TEXT ? "text" : "binary", cfg->text ? "text" : "binary");
            return -1;
        }
        if (c->recv_seq == c->send_seq) {
            conn_fail(w, c, &w->res.verify_errors,
                      "data message received but none is awaiting its echo");
            return -1;
        }
        if (cfg->deflate) {
            if (len > c->zin_cap - c->zin_len) {
                conn_fail(w, c, &w->res.verify_errors,
                          "echo of message %llu is longer than any form of it",
                          (unsigned long long)c->recv_seq);
                return -1;
            }
        } else if (len > cfg->size - c->msg_off) {
            conn_fail(w, c, &w->res.verify_errors,
                      "echo of message %llu is longer than the %llu bytes sent",
                      (unsigned long long)c->recv_seq, (unsigned long long)cfg->size);
            return -1;
        }
    }
    c->rx = RX_PAYLOAD;
    if (len == 0) return rx_frame_done(w, c, now);
    return 0;
}

/* Check the first two header bytes, as soon as they arrive, and work out
 * how many header bytes the frame has. Returns -1 if c failed. */
static int rx_first_bytes(struct worker *w, struct conn *c) {
    uint8_t b0 = c->hdr[0], b1 = c->hdr[1];

    c->fin = b0 >> 7;
    c->opcode = b0 & 0x0f;
    /* RFC 7692 §6: with permessage-deflate, RSV1 on a message's first
     * frame; any other RSV bit, anywhere else, is an error (§5.2). */
    if ((b0 & 0x70) && !(w->cfg->deflate && (b0 & 0x70) == 0x40 &&
                         (c->opcode == OP_TEXT || c->opcode == OP_BINARY))) {
        conn_fail(w, c, &w->res.protocol_errors,
                  "RSV bits set without a negotiated extension (RFC 6455 §5.2)");
        return -1;
    }
    if (b1 & 0x80) {
        conn_fail(w, c, &w->res.protocol_errors, "server frame is masked (RFC 6455 §5.1)");
        return -1;
    }
    switch (c->opcode) {
    case OP_CONT:
        if (!c->msg_opcode) {
            conn_fail(w, c, &w->res.protocol_errors,
                      "continuation frame with no message in progress (§5.4)");
            return -1;
        }
        break;
    case OP_TEXT:
    case OP_BINARY:
        if (c->msg_opcode) {
            conn_fail(w, c, &w->res.protocol_errors,
                      "new data frame inside a fragmented message (§5.4)");
            return -1;
        }
        if (w->cfg->idle) {
            conn_fail(w, c, &w->res.protocol_errors, "data message on an idle connection");
            return -1;
        }
        break;
    case OP_CLOSE:
    case OP_PING:
    case OP_PONG:
        /* §5.5: control frames are never fragmented and carry <= 125 bytes. */
        if (!c->fin || (b1 & 0x7f) > CONTROL_MAX) {
            conn_fail(w, c, &w->res.protocol_errors,
                      "fragmented or oversized control frame (§5.5)");
            return -1;
        }
        break;
    default:
        conn_fail(w, c, &w->res.protocol_errors, "reserved opcode 0x%x (§5.2)", c->opcode);
        return -1;
    }
    c->hdr_need = (b1 & 0x7f) == 126 ? 4 : (b1 & 0x7f) == 127 ? 10 : 2;
    return 0;
}

/* Feed server bytes p[0..len) that follow the handshake. Works for any
 * split of the stream. Returns -1 if c failed or closed. */
static int rx_feed(struct worker *w, struct conn *c, const uint8_t *p, size_t len, uint64_t now) {
    const struct wsb_config *cfg = w->cfg;
    const uint8_t *end = p + len;

    while (p < end) {
        if (c->rx == RX_HEADER) {
            if (c->hdr_len < 2) {
                c->hdr[c->hdr_len++] = *p++;
                if (c->hdr_len == 2 && rx_first_bytes(w, c) < 0) return -1;
            } else {
                size_t take = (size_t)(c->hdr_need - c->hdr_len);

                if (take > (size_t)(end - p)) take = (size_t)(end - p);
                memcpy(c->hdr + c->hdr_len, p, take);
                c->hdr_len = (uint8_t)(c->hdr_len + take);
                p += take;
            }
            if (c->hdr_len >= 2 && c->hdr_len == c->hdr_need && rx_header(w, c, now) < 0) return -1;
            if (c->fd < 0) return -1;
            continue;
        }
        /* RX_PAYLOAD */
        size_t take = (size_t)(end - p);

        if (take > c->remaining) take = (size_t)c->remaining;
        if (c->opcode >= OP_CLOSE) {
            memcpy(c->ctl + c->ctl_len, p, take);
            c->ctl_len = (uint8_t)(c->ctl_len + take);
        } else if (cfg->deflate) {
            memcpy(c->zin + c->zin_len, p, take);
            c->zin_len += take;
        } else {
            long bad = wsb_pattern_check(p, take, wsb_pattern_base(cfg->salt, c->id, c->recv_seq),
                                         c->msg_off, cfg->text);
            if (bad >= 0) {
                conn_fail(w, c, &w->res.verify_errors, "echo of message %llu differs at byte %llu",
                          (unsigned long long)c->recv_seq,
                          (unsigned long long)(c->msg_off + (uint64_t)bad));
                return -1;
            }
            c->msg_off += take;
        }
        p += take;
        c->remaining -= take;
        if (c->remaining == 0 && rx_frame_done(w, c, now) < 0) return -1;
    }
    return 0;
}

/* Handshake bytes arrived: collect them until CRLF CRLF, check the
 * response, and pass whatever follows it to the frame parser. */
static int rx_handshake(struct worker *w, struct conn *c, const uint8_t *p, size_t len,
                        uint64_t now) {
    size_t scan = c->hs_len >= 3 ? c->hs_len - 3 : 0;
    size_t take = len, head_end = 0;

    if (take > HS_MAX - c->hs_len) take = HS_MAX - c->hs_len;
    memcpy(c->hs + c->hs_len, p, take);
    c->hs_len += take;
    for (size_t i = scan; i + 4 <= c->hs_len; i++) {
        if (memcmp(c->hs + i, "\r\n\r\n", 4) == 0) {
            head_end = i + 4;
            break;
        }
    }
    if (head_end == 0) {
        if (c->hs_len == HS_MAX) {
            conn_fail(w, c, &w->res.handshake_failed, "handshake response longer than %u bytes",
                      HS_MAX);
            return -1;
        }
        return 0;
    }
    const char *why = response_check(w, c, c->hs, head_end);

    if (why) {
        size_t l = 0;

        while (l < head_end && c->hs[l] != '\r') l++;
        conn_fail(w, c, &w->res.handshake_failed, "handshake: %s (\"%.*s\")", why, (int)l, c->hs);
        return -1;
    }
    /* Bytes after the head were already part of this read: frames. */
    size_t extra = c->hs_len - head_end + (len - take);
    const uint8_t *rest = p + len - extra;

    if (conn_open(w, c) < 0) return -1;
    return extra ? rx_feed(w, c, rest, extra, now) : 0;
}

/* Read until the socket is empty. Returns -1 if c failed or closed. */
static int conn_read(struct worker *w, struct conn *c, uint32_t ev) {
    /* A short read means the receive queue was empty at that moment, and
     * edge-triggered epoll reports any later arrival; but if the peer has
     * already shut down, that end-of-file must be read now. */
    int drain = (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;

    for (;;) {
        ssize_t n = read(c->fd, w->rbuf, RBUF_SIZE);

        if (n > 0) {
            uint64_t now = now_ns();
            int r = c->state == C_HANDSHAKE ? rx_handshake(w, c, w->rbuf, (size_t)n, now)
                                            : rx_feed(w, c, w->rbuf, (size_t)n, now);
            if (r < 0) return -1;
            if ((size_t)n < RBUF_SIZE && !drain) return 0;
        } else if (n == 0) {
            /* The server closed TCP. Only right after a Close exchange. */
            if (c->state == C_CLOSING && c->close_rcvd) {
                conn_done(w, c);
            } else if (c->state == C_HANDSHAKE) {
                conn_fail(w, c, &w->res.handshake_failed,
                          "server closed the connection during the handshake");
            } else if (c->state == C_CLOSING) {
                conn_fail(w, c, &w->res.close_failed,
                          "server closed TCP without answering our Close");
            } else {
                conn_fail(w, c, &w->res.unexpected_close,
                          "server closed TCP without a Close frame");
            }
            return -1;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else {
            conn_fail(w, c, c->state == C_HANDSHAKE ? &w->res.handshake_failed : &w->res.io_errors,
                      "read: %s", strerror(errno));
            return -1;
        }
    }
}

/* ---- Connection set-up --------------------------------------------------- */

/* The handshake succeeded: switch to frames. */
static int conn_open(struct worker *w, struct conn *c) {
    free(c->hs);
    c->hs = NULL;
    c->state = C_OPEN;
    w->pending--;
    w->live++;
    w->res.opened++;
    c->rx = RX_HEADER;
    c->hdr_len = 0;
    return 0;
}

/* Open the socket of c and start a non-blocking connect. */
static void conn_start(struct worker *w, struct conn *c) {
    const struct wsb_config *cfg = w->cfg;
    int one = 1;

    c->state = C_CONNECTING;
    w->pending++;
    c->deadline = now_ns() + sec_to_ns(cfg->timeout);
    c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail(w, c, &w->res.connect_failed, "socket: %s", strerror(errno));
        return;
    }
    /* We batch frames ourselves; Nagle would hold back pipelined ones. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (cfg->spread) {
        /* Each source address has its own ~28k ephemeral ports, so
         * spreading over 127.0.0.2..250 lifts the connection limit.
         * IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(),
         * where the kernel can use the whole 4-tuple. */
        struct sockaddr_in src = { .sin_family = AF_INET };
        uint32_t span = cfg->src_last - cfg->src_first + 1;

        src.sin_addr.s_addr = htonl(cfg->src_first + c->id % span);
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            conn_fail(w, c, &w->res.connect_failed, "bind: %s", strerror(errno));
            return;
        }
    }
    if (connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) < 0 &&
        errno != EINPROGRESS) {
        conn_fail(w, c, &w->res.connect_failed, "connect: %s", strerror(errno));
        return;
    }
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.u64 = (uint64_t)(c - w->conns),
    };
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        conn_fail(w, c, &w->res.connect_failed, "epoll_ctl: %s", strerror(errno));
        return;
    }
    c->hs = malloc(HS_MAX);
    if (!c->hs || request_build(w, c) < 0) {
        conn_fail(w, c, &w->res.connect_failed, "out of memory or randomness");
        return;
    }
}

/* Everything that happens on one readiness event of connection c. */
static void conn_event(struct worker *w, struct conn *c, uint32_t ev) {
    if (c->fd < 0) return;
    if (ev & EPOLLOUT) c->blocked = 0;
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof(err);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) err = errno;
        if (err) {
            conn_fail(w, c, &w->res.connect_failed, "connect: %s", strerror(err));
            return;
        }
        c->state = C_HANDSHAKE;
    }
    if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && conn_read(w, c, ev) < 0) return;
    if (c->state == C_OPEN && w->sending) refill(w, c);
    if (c->out_off < c->out_len) conn_flush(w, c);
}

/* ---- The loop ------------------------------------------------------------ */

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Connections whose deadline passed in the connect or close phase. */
static void check_deadlines(struct worker *w, uint64_t now) {
    /* A scan of every connection costs O(n): do it every 50 ms at most. */
    if (now < w->t_next_scan) return;
    w->t_next_scan = now + 50000000ull;
    for (uint32_t i = 0; i < w->n; i++) {
        struct conn *c = &w->conns[i];

        if (c->fd < 0 || now < c->deadline) continue;
        if (c->state == C_CONNECTING)
            conn_fail(w, c, &w->res.connect_failed, "connect timed out");
        else if (c->state == C_HANDSHAKE)
            conn_fail(w, c, &w->res.handshake_failed, "no 101 response in time");
        else if (c->state == C_CLOSING)
            conn_fail(w, c, &w->res.close_failed,
                      c->close_rcvd ? "server did not close TCP after the Close exchange"
                                    : "no Close reply in time");
    }
}

/* Start connections until max_pending are in progress. */
static void start_more(struct worker *w) {
    while (w->next_start < w->n && w->pending < w->cfg->max_pending)
        conn_start(w, &w->conns[w->next_start++]);
}

static void enter_close(struct worker *w) {
    w->phase = PH_CLOSE;
    w->sending = 0;
    w->t_phase_deadline = now_ns() + sec_to_ns(w->cfg->timeout);
    for (uint32_t i = 0; i < w->n; i++) {
        struct conn *c = &w->conns[i];

        if (c->state == C_OPEN) {
            start_close(w, c);
            conn_flush(w, c);
        }
    }
}

/* A control byte from the coordinator. */
static void on_control(struct worker *w) {
    char cmd;
    ssize_t n = read(w->ctl_fd, &cmd, 1);

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n == 1 && cmd == 'G' && !w->cfg->idle && w->phase == PH_WAIT) {
        uint64_t now = now_ns();

        w->phase = PH_RUN;
        w->sending = 1;
        w->t_run0 = now;
        w->t_phase_deadline = now + sec_to_ns(w->cfg->warmup);
        for (uint32_t i = 0; i < w->n; i++) {
            struct conn *c = &w->conns[i];

            if (c->state == C_OPEN) {
                refill(w, c);
                conn_flush(w, c);
            }
        }
        return;
    }
    /* 'E', or the coordinator is gone (EOF): close everything. */
    epoll_ctl(w->ep, EPOLL_CTL_DEL, w->ctl_fd, NULL);
    if (w->phase < PH_CLOSE) enter_close(w);
}

/* Advance the phase machine on the clock and the counters. */
static void step_phase(struct worker *w, uint64_t now) {
    switch (w->phase) {
    case PH_CONNECT:
        start_more(w);
        check_deadlines(w, now);
        start_more(w);
        if (w->next_start == w->n && w->pending == 0) {
            w->res.connect_seconds = (double)(now - w->t_connect0) / 1e9;
            w->phase = PH_WAIT;
            if (write_all(w->res_fd, "R", 1) < 0) enter_close(w);
        }
        break;
    case PH_RUN:
        if (!w->measuring && now >= w->t_phase_deadline && w->t_measure0 == 0) {
            /* Warm-up over: measure from here. */
            w->measuring = 1;
            w->res.msgs = 0;
            wsb_hist_reset(&w->res.hist);
            w->t_measure0 = now;
            w->t_phase_deadline = now + sec_to_ns(w->cfg->duration);
        } else if (w->measuring && now >= w->t_phase_deadline) {
            w->measuring = 0;
            w->sending = 0;
            w->t_measure_end = now;
            w->phase = PH_DRAIN;
            w->t_phase_deadline = now + sec_to_ns(w->cfg->timeout);
        }
        break;
    case PH_DRAIN:
        if (w->inflight == 0) {
            enter_close(w);
        } else if (now >= w->t_phase_deadline) {
            for (uint32_t i = 0; i < w->n; i++) {
                struct conn *c = &w->conns[i];

                if (c->state == C_OPEN && c->send_seq != c->recv_seq)
                    conn_fail(w, c, &w->res.timeouts, "%llu echoes still missing after %.1f s",
                              (unsigned long long)(c->send_seq - c->recv_seq), w->cfg->timeout);
            }
            enter_close(w);
        }
        break;
    case PH_CLOSE:
        check_deadlines(w, now);
        if (w->live == 0) w->phase = PH_END;
        break;
    case PH_WAIT:
    case PH_END: break;
    }
}

/* Milliseconds epoll_wait may sleep: until the next phase deadline, at
 * most 100 ms (deadline scans and connection starts run on this tick). */
static int wait_ms(const struct worker *w, uint64_t now) {
    /* --busy-poll: never sleep while messages flow, so the client's own
     * wake-up latency stays out of the figures. */
    if (w->cfg->busy_poll && (w->phase == PH_RUN || w->phase == PH_DRAIN)) return 0;
    if (w->phase == PH_RUN || w->phase == PH_DRAIN) {
        if (now >= w->t_phase_deadline) return 0;
        uint64_t ms = (w->t_phase_deadline - now + 999999) / 1000000;

        return ms < 100 ? (int)ms : 100;
    }
    return 100;
}

static int worker_setup(struct worker *w, const struct wsb_config *cfg, uint32_t first_id,
                        uint32_t count) {
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->n = count;
    w->ep = -1;
    wsb_hist_reset(&w->res.hist);
    if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng)) return -1;
    w->rng |= 1; /* xorshift must not start at 0 */

    /* Send buffer: whole data frames up to BATCH_BYTES (at least one),
     * plus room for control frames; the handshake request goes in it too. */
    w->frame_len = (size_t)(cfg->size + 14);
    if (cfg->deflate) {
        if (wsb_zset_init(&w->zset, (size_t)cfg->size, cfg->text) < 0) return -1;
        w->frame_len = w->zset.max_zlen + 14;
    }
    if (cfg->idle) {
        w->out_cap = 512;
    } else {
        size_t frames = BATCH_BYTES / w->frame_len;

        if (frames < 1) frames = 1;
        if (frames > cfg->depth) frames = cfg->depth;
        w->out_cap = frames * w->frame_len + CTRL_RESERVE;
        if (w->out_cap < 512) w->out_cap = 512;
    }
    w->conns = calloc(count ? count : 1, sizeof(*w->conns));
    w->rbuf = malloc(RBUF_SIZE);
    if (!w->conns || !w->rbuf) return -1;
    for (uint32_t i = 0; i < count; i++) {
        struct conn *c = &w->conns[i];

        c->fd = -1;
        c->id = first_id + i;
        c->out_cap = w->out_cap;
        c->out = malloc(w->out_cap);
        if (!c->out) return -1;
        if (cfg->deflate) {
            /* The echo, compressed or not: at most a little more than
             * the message (stored blocks cost 5 bytes each). */
            c->zin_cap = (size_t)cfg->size + (size_t)cfg->size / 64 + 1024;
            c->zin = malloc(c->zin_cap);
            if (!c->zin) return -1;
        }
        if (!cfg->idle) {
            c->sent_at = calloc(cfg->depth, sizeof(*c->sent_at));
            if (!c->sent_at) return -1;
        }
    }
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (w->ep < 0) return -1;
    return 0;
}

static void worker_free(struct worker *w) {
    if (w->conns) {
        for (uint32_t i = 0; i < w->n; i++) {
            if (w->conns[i].fd >= 0) close(w->conns[i].fd);
            free(w->conns[i].out);
            free(w->conns[i].sent_at);
            free(w->conns[i].hs);
            free(w->conns[i].zin);
        }
    }
    free(w->conns);
    if (w->cfg && w->cfg->deflate) wsb_zset_free(&w->zset);
    free(w->rbuf);
    if (w->ep >= 0) close(w->ep);
}

int wsb_worker_run(const struct wsb_config *cfg, uint32_t first_id, uint32_t count, int ctl_fd,
                   int res_fd) {
    static struct worker w; /* ~30 KiB of histogram: keep it off the stack */
    struct epoll_event evs[512];

    if (worker_setup(&w, cfg, first_id, count) < 0) {
        fprintf(stderr, "wsbench: worker set-up failed: %s\n", strerror(errno));
        w.res.connect_failed = count ? count : 1;
        write_all(res_fd, "R", 1);
        write_all(res_fd, &w.res, sizeof(w.res));
        worker_free(&w);
        return 1;
    }
    w.ctl_fd = ctl_fd;
    w.res_fd = res_fd;
    struct epoll_event cev = { .events = EPOLLIN, .data.u64 = CTL_TOKEN };

    epoll_ctl(w.ep, EPOLL_CTL_ADD, ctl_fd, &cev);

    w.phase = PH_CONNECT;
    w.t_connect0 = now_ns();
    start_more(&w);
    while (w.phase != PH_END) {
        int n = epoll_wait(w.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), wait_ms(&w, now_ns()));

        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "wsbench: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == CTL_TOKEN)
                on_control(&w);
            else
                conn_event(&w, &w.conns[evs[i].data.u64], evs[i].events);
        }
        step_phase(&w, now_ns());
    }
    if (w.t_measure0 != 0) {
        uint64_t end = w.t_measure_end ? w.t_measure_end : now_ns();

        w.res.seconds = (double)(end - w.t_measure0) / 1e9;
    }
    write_all(res_fd, &w.res, sizeof(w.res));
    worker_free(&w);
    return 0;
}

/*
 * wsstep.c -- a lockstep WebSocket echo client, for counting the server's
 * instructions (`make bench-instructions`, bench/icount.sh).
 *
 * wsbench measures throughput: it keeps messages in flight and takes
 * whatever the kernel and the scheduler make of them, so the server sees
 * a different pattern of reads and epoll wake-ups in every run. That is
 * right for a wall-clock figure and wrong for an instruction count, which
 * should be the same in every run: how many messages one read() carries,
 * how many sockets one epoll_wait() reports and where a large frame is cut
 * all change the server's work. This client takes every one of those
 * choices away from timing:
 *
 *   - Every action is one *step*: the server (--server-pid) is stopped
 *     with SIGSTOP while it sleeps in epoll_wait(), the step's bytes are
 *     written (one write per connection, at most --piece bytes, so one TCP
 *     segment on loopback), the client waits until the kernel shows them
 *     all in the server's receive queues (/proc/net/tcp), and only then
 *     SIGCONT lets it go. The server then finds the whole step at once:
 *     one epoll_wait() reporting every connection, one read() each.
 *   - The next step waits until the server sleeps in epoll_wait() again
 *     with every receive queue empty (/proc/PID/stat, /proc/PID/wchan).
 *   - Connects, handshakes and closes are steps too, one connection at a
 *     time, so an idle run (--dry: the same steps, no message bytes) costs
 *     the server exactly what a loaded run costs it besides the messages.
 *     Subtracting the two leaves the messages' own work.
 *
 * epoll_wait() returns EINTR once per step (a stopped and continued sleep
 * is interrupted, signal(7)); --dry makes the same number of steps, so that
 * iteration cancels out too.
 *
 * Payloads are fixed by (connection, message, byte): ASCII text, binary,
 * or --utf8 text, a multilingual sample (2-, 3- and 4-byte characters,
 * lead bytes E0..EF and F0 included) repeated and padded with ASCII. Masking
 * keys come from a fixed generator. Each echo is compared byte for byte.
 *
 * It is slow on purpose (a step costs a few /proc reads and two signals)
 * and only meant for loopback. Requires permission to signal the server.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "wsb_base64.h"
#include "wsb_sha1.h"

#define WS_GUID   "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */
#define OP_CONT   0x0
#define OP_TEXT   0x1
#define OP_BINARY 0x2
#define OP_CLOSE  0x8

#define TCP_ESTABLISHED_ST 0x01 /* states as /proc/net/tcp prints them */
#define TCP_CLOSE_WAIT_ST  0x08
#define TCP_LISTEN_ST      0x0a

enum payload { P_TEXT, P_BINARY, P_UTF8 };

struct conn {
    int fd;
    int open;       /* the handshake is done: read frames */
    uint16_t lport; /* our port: finds the server's side in /proc/net/tcp */
    uint8_t *out;   /* the current batch: depth masked frames */
    size_t out_len, out_off;
    uint8_t *want;        /* the payloads of the batch, unmasked, concatenated */
    size_t want_len, got; /* echo bytes expected, echo bytes checked */
    /* the echo parser */
    uint8_t hdr[10];
    size_t hdr_len;
    uint64_t left;  /* payload bytes left in the current frame */
    uint8_t op;     /* opcode of the current frame */
    uint8_t msg_op; /* opcode of the message being echoed */
    int close_seen; /* the server's close frame came */
    int eof;        /* the server closed TCP */
};

static struct {
    uint16_t port;
    uint32_t conns, depth;
    uint64_t size, msgs;
    size_t piece;
    enum payload payload;
    pid_t server;
    int dry, quiet;
    double timeout;
} opt = { 8080, 1, 1, 32, 0, 32768, P_TEXT, 0, 0, 0, 30.0 };

static struct conn *conns;
static uint64_t steps, rng = 0x9e3779b97f4a7c15ull;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;

    fputs("wsstep: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (opt.server) kill(opt.server, SIGCONT); /* never leave the server stopped */
    exit(1);
}

static double now_s(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_us(long us) {
    struct timespec ts = { 0, us * 1000 };

    nanosleep(&ts, NULL);
}

/* ---- What the kernel says about the server ------------------------------ */

/* The server's sockets on our port, summed over /proc/net/tcp and tcp6. */
struct kview {
    unsigned long rx;      /* bytes received, not yet read by the server */
    unsigned long backlog; /* connections waiting for accept() */
    unsigned listening;    /* listening sockets */
    unsigned close_wait;   /* sockets whose peer closed, not yet closed */
};

/* Peer ports already counted in this reading: /proc/net/tcp is produced a
 * page at a time, and when other sockets come and go between two pages
 * (other programs on the machine), an entry can be listed twice. */
static uint8_t kseen[65536 / 8];

static void kview_file(const char *path, struct kview *k, uint16_t peer, int *peer_st) {
    char line[512];
    FILE *f = fopen(path, "r");

    if (!f) return;
    while (fgets(line, sizeof(line), f)) {
        char local[64], remote[64];
        unsigned st;
        unsigned long tx, rx;
        char *c1, *c2;

        if (sscanf(line, " %*d: %63s %63s %x %lx:%lx", local, remote, &st, &tx, &rx) != 5) continue;
        c1 = strrchr(local, ':');
        c2 = strrchr(remote, ':');
        if (!c1 || !c2 || strtoul(c1 + 1, NULL, 16) != opt.port) continue;
        unsigned long rport = strtoul(c2 + 1, NULL, 16) & 0xffff;

        if (kseen[rport / 8] & (1u << (rport % 8))) continue;
        kseen[rport / 8] |= (uint8_t)(1u << (rport % 8));
        if (st == TCP_LISTEN_ST) {
            k->listening++;
            k->backlog += rx; /* for a listener: the accept queue */
            continue;
        }
        k->rx += rx;
        if (st == TCP_CLOSE_WAIT_ST) k->close_wait++;
        if (peer && strtoul(c2 + 1, NULL, 16) == peer) *peer_st = (int)st;
    }
    fclose(f);
}

/* peer: a client port whose server-side socket state goes to *peer_st
 * (-1 when the kernel lists none). */
static struct kview kview_read(uint16_t peer, int *peer_st) {
    struct kview k = { 0, 0, 0, 0 };
    int dummy;

    if (!peer_st) peer_st = &dummy;
    *peer_st = -1;
    memset(kseen, 0, sizeof(kseen));
    kview_file("/proc/net/tcp", &k, peer, peer_st);
    kview_file("/proc/net/tcp6", &k, peer, peer_st);
    return k;
}

/* The server's scheduler state ('S', 'T', 'R', ...) and whether it sleeps
 * in epoll_wait(). */
static char server_state(int *in_epoll) {
    char path[64], buf[512], *p;
    FILE *f;
    char st = '?';

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)opt.server);
    if (!(f = fopen(path, "r"))) die("server %d is gone", (int)opt.server);
    if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ') st = p[2];
    fclose(f);
    *in_epoll = 0;
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)opt.server);
    if ((f = fopen(path, "r"))) {
        if (fgets(buf, sizeof(buf), f))
            *in_epoll = strstr(buf, "epoll") != NULL || strstr(buf, "ep_poll") != NULL;
        fclose(f);
    }
    return st;
}

static void drain_all(void);

/* Wait until the server sleeps in epoll_wait() with nothing left to read,
 * accept or close: everything sent so far has been handled. */
static void wait_quiet(void) {
    double end = now_s() + opt.timeout;
    int hits = 0;

    for (;;) {
        int in_epoll;
        struct kview k;

        drain_all();
        k = kview_read(0, NULL);
        if (k.listening && k.rx == 0 && k.backlog == 0 && k.close_wait == 0 &&
            server_state(&in_epoll) == 'S' && in_epoll) {
            /* Twice in a row, 100 us apart: a wake-up on its way
             * (a socket the kernel is still filling) shows by then. */
            if (++hits == 2) return;
        } else {
            hits = 0;
        }
        if (now_s() > end)
            die("server not quiet after %.0f s (rx %lu, backlog %lu, close-wait %u)", opt.timeout,
                k.rx, k.backlog, k.close_wait);
        pause_us(100);
    }
}

static void step_begin(void) {
    double end = now_s() + opt.timeout;
    int in_epoll;

    wait_quiet();
    if (kill(opt.server, SIGSTOP) < 0) die("kill(SIGSTOP): %s", strerror(errno));
    while (server_state(&in_epoll) != 'T') {
        if (now_s() > end) die("server does not stop");
        pause_us(50);
    }
}

/* The step's bytes are all in the server's queues (ready() says so): let
 * it run, and wait until it has handled them. */
static void step_end(int (*ready)(const void *), const void *arg) {
    double end = now_s() + opt.timeout;

    while (!ready(arg)) {
        drain_all();
        if (now_s() > end) die("the step's bytes did not arrive");
        pause_us(50);
    }
    if (kill(opt.server, SIGCONT) < 0) die("kill(SIGCONT): %s", strerror(errno));
    steps++;
    wait_quiet();
}

/* ready() for bytes written: rx_expect in the receive queues, and
 * backlog_expect connections waiting for accept(). */
struct expect {
    unsigned long rx, backlog;
};

static int bytes_ready(const void *arg) {
    const struct expect *e = arg;
    struct kview k = kview_read(0, NULL);

    if (k.rx > e->rx || k.backlog > e->backlog)
        die("more bytes in the server's queues than were sent (%lu > %lu)", k.rx, e->rx);
    return k.rx == e->rx && k.backlog == e->backlog;
}

/* ready() for a close(): the server's side has seen our FIN. */
static int fin_ready(const void *arg) {
    int st;

    kview_read(*(const uint16_t *)arg, &st);
    /* CLOSE_WAIT if the server had not closed its side; when it had
     * (FIN_WAIT2), our FIN moves it to TIME_WAIT or the kernel drops
     * the entry: either way it is no longer waiting for us. */
    return st != TCP_ESTABLISHED_ST && st != 0x04 /* FIN_WAIT1 */ && st != 0x05 /* FIN_WAIT2 */;
}

/* ---- Payloads and frames -------------------------------------------- */

/* A sample of text in several scripts: 2-byte (Latin, Greek, Cyrillic,
 * Arabic), 3-byte (Hangul -- whose lead bytes include ED --, CJK, dashes)
 * and 4-byte (emoji) characters between ASCII, as chat messages have them. */
static const char utf8_sample[] =
    "Grüße aus Köln — 안녕하세요, 웹소켓 서버! Привет, мир. 你好，世界。"
    " Καλημέρα · مرحبا · 🙂🚀 ok; ";

/* Payload of message k of connection c, len bytes, into p. */
static void payload(uint8_t *p, size_t len, uint32_t c, uint64_t k) {
    size_t i = 0;

    switch (opt.payload) {
    case P_TEXT:
        for (; i < len; i++) p[i] = (uint8_t)(0x20 + (i + k * 7 + c * 13) % 95);
        break;
    case P_BINARY:
        for (; i < len; i++) p[i] = (uint8_t)(i * 131 + k * 17 + c * 29);
        break;
    case P_UTF8: {
        size_t n = sizeof(utf8_sample) - 1;

        while (len - i >= n) {
            memcpy(p + i, utf8_sample, n);
            i += n;
        }
        /* The rest: the sample's prefix up to a character boundary,
         * then ASCII. */
        size_t cut = len - i;

        while (cut > 0 && ((uint8_t)utf8_sample[cut] & 0xc0) == 0x80) cut--;
        memcpy(p + i, utf8_sample, cut);
        for (i += cut; i < len; i++) p[i] = '.';
        break;
    }
    }
}

static uint32_t next_key(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* A masked client frame (RFC 6455 §5.2, §5.3) with FIN set. */
static size_t frame(uint8_t *out, int op, const uint8_t *data, uint64_t len) {
    uint32_t key = next_key();
    uint8_t mask[4];
    size_t n = 0;

    memcpy(mask, &key, 4);
    out[n++] = (uint8_t)(0x80 | op);
    if (len < 126) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(len >> (8 * i));
    }
    memcpy(out + n, mask, 4);
    n += 4;
    for (uint64_t i = 0; i < len; i++) out[n + i] = data[i] ^ mask[i & 3];
    return n + (size_t)len;
}

/* ---- Echoes ------------------------------------------------------------ */

/* Parse and check the server's frames in p[0..len). */
static void rx(struct conn *c, const uint8_t *p, size_t len) {
    while (len > 0) {
        if (c->left == 0 && c->hdr_len < 2) {
            c->hdr[c->hdr_len++] = *p++;
            len--;
            if (c->hdr_len < 2) continue;
        }
        if (c->left == 0 && c->hdr_len >= 2) {
            uint8_t l7 = c->hdr[1] & 0x7f;
            size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);

            while (c->hdr_len < need && len > 0) {
                c->hdr[c->hdr_len++] = *p++;
                len--;
            }
            if (c->hdr_len < need) return;
            if (c->hdr[0] & 0x70 || c->hdr[1] & 0x80)
                die("server frame with RSV bits or a mask: %02x %02x", c->hdr[0], c->hdr[1]);
            c->op = c->hdr[0] & 0x0f;
            c->left = l7 < 126 ? l7 : 0;
            for (size_t i = 2; i < need; i++) c->left = c->left << 8 | c->hdr[i];
            c->hdr_len = 0;
            if (c->op == OP_CLOSE) {
                c->close_seen = 1;
            } else if (c->op != OP_CONT) {
                if (c->op != (opt.payload == P_BINARY ? OP_BINARY : OP_TEXT))
                    die("echo has opcode %u", c->op);
                c->msg_op = c->op;
            } else if (!c->msg_op) {
                die("continuation without a message");
            }
            if (c->left == 0) continue;
        }
        size_t take = len < c->left ? len : (size_t)c->left;

        if (c->op != OP_CLOSE) {
            if (take > c->want_len - c->got || memcmp(p, c->want + c->got, take) != 0)
                die("echo differs from what was sent (at byte %zu of the batch)", c->got);
            c->got += take;
        }
        p += take;
        len -= take;
        c->left -= take;
    }
}

/* Read whatever the server has sent, on every connection. */
static void drain(struct conn *c) {
    uint8_t buf[65536];

    while (c->fd >= 0 && c->open && !c->eof) {
        ssize_t n = read(c->fd, buf, sizeof(buf));

        if (n > 0) {
            rx(c, buf, (size_t)n);
        } else if (n == 0) {
            c->eof = 1;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            die("read: %s", strerror(errno));
        }
    }
}

static void drain_all(void) {
    for (uint32_t i = 0; conns && i < opt.conns; i++) drain(&conns[i]);
}

static void write_all(int fd, const void *p, size_t len) {
    double end = now_s() + opt.timeout;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n > 0) {
            p = (const uint8_t *)p + n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
            die("write: %s", strerror(errno));
        } else if (now_s() > end) {
            die("write timed out");
        } else {
            pause_us(50);
        }
    }
}

/* ---- The run ------------------------------------------------------------ */

/* Connect, send the handshake, check the 101 (RFC 6455 §4.1). */
static void open_conn(struct conn *c, uint32_t id) {
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(opt.port) };
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    uint8_t nonce[16], digest[WSB_SHA1_DIGEST_LEN];
    char key[WSB_BASE64_LEN(16) + 1], accept[WSB_BASE64_LEN(20) + 1], req[512];
    char resp[2048];
    size_t have = 0;
    struct wsb_sha1 sha;
    int one = 1;
    struct expect e = { 0, 1 };

    /* A fixed key per connection: the server's work does not depend on
     * its value, and the runs stay alike. */
    for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)(id * 16 + (uint32_t)i);
    wsb_base64_encode(nonce, 16, key);
    wsb_sha1_init(&sha);
    wsb_sha1_update(&sha, key, strlen(key));
    wsb_sha1_update(&sha, WS_GUID, strlen(WS_GUID));
    wsb_sha1_final(&sha, digest);
    wsb_base64_encode(digest, sizeof(digest), accept);
    int rl = snprintf(req, sizeof(req),
                      "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                      opt.port, key);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    step_begin();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s", strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) die("connect: %s", strerror(errno));
    getsockname(c->fd, (struct sockaddr *)&me, &ml);
    c->lport = ntohs(me.sin_port);
    write_all(c->fd, req, (size_t)rl);
    e.rx = (unsigned long)rl;
    step_end(bytes_ready, &e);

    /* The server answered before it went quiet: the 101 is here. */
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        ssize_t n = read(c->fd, resp + have, sizeof(resp) - 1 - have);

        if (n <= 0) die("no handshake response on connection %u", id);
        have += (size_t)n;
        resp[have] = '\0';
        if (strstr(resp, "\r\n\r\n")) break;
    }
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0 || !strstr(resp, accept) ||
        strstr(resp, "\r\n\r\n") + 4 != resp + have)
        die("bad handshake response on connection %u: %.40s", id, resp);
    c->open = 1;
}

static void close_conn(struct conn *c) {
    static const uint8_t code[2] = { 1000 >> 8, 1000 & 0xff };
    uint8_t f[16];
    struct expect e = { 0, 0 };
    double end;

    step_begin();
    e.rx = frame(f, OP_CLOSE, code, 2);
    write_all(c->fd, f, e.rx);
    step_end(bytes_ready, &e);
    /* The server answers with its close and then its FIN (§7.1.1). */
    end = now_s() + opt.timeout;
    while (!(c->close_seen && c->eof)) {
        drain(c);
        if (now_s() > end) die("no close reply and FIN from the server");
        pause_us(50);
    }
    step_begin();
    close(c->fd);
    c->fd = -1;
    step_end(fin_ready, &c->lport);
}

/* One round: depth messages on every connection, written in pieces of at
 * most opt.piece bytes, one step per piece, then every echo. */
static void round_trip(uint64_t round) {
    size_t batch = 0, npieces;

    for (uint32_t i = 0; i < opt.conns; i++) {
        struct conn *c = &conns[i];

        c->out_len = c->out_off = 0;
        c->want_len = c->got = 0;
        for (uint32_t k = 0; k < opt.depth; k++) {
            uint8_t *w = c->want + c->want_len;

            payload(w, opt.size, i, round * opt.depth + k);
            c->out_len += frame(c->out + c->out_len, opt.payload == P_BINARY ? OP_BINARY : OP_TEXT,
                                w, opt.size);
            c->want_len += opt.size;
        }
        batch = c->out_len;
    }
    /* Equal pieces, each at most opt.piece bytes: one write, one segment. */
    npieces = (batch + opt.piece - 1) / opt.piece;
    for (size_t s = 0; s < npieces; s++) {
        struct expect e = { 0, 0 };

        step_begin();
        for (uint32_t i = 0; i < opt.conns && !opt.dry; i++) {
            struct conn *c = &conns[i];
            size_t end = batch * (s + 1) / npieces, n = end - c->out_off;

            write_all(c->fd, c->out + c->out_off, n);
            c->out_off = end;
            e.rx += n;
        }
        step_end(bytes_ready, &e);
    }
    /* The echoes: the server wrote them before it went quiet. */
    double end = now_s() + opt.timeout;

    for (uint32_t i = 0; i < opt.conns && !opt.dry; i++) {
        while (conns[i].got < conns[i].want_len) {
            drain(&conns[i]);
            if (conns[i].eof || now_s() > end)
                die("echo incomplete on connection %u (%zu of %zu bytes)", i, conns[i].got,
                    conns[i].want_len);
            pause_us(50);
        }
    }
}

static void usage(FILE *f) {
    fputs("usage: wsstep --server-pid PID [--port N] [-c CONNS] [-s SIZE] [-d DEPTH]\n"
          "              [-n MSGS] [--text|--binary|--utf8] [--piece BYTES] [--dry]\n"
          "              [--timeout SEC] [-q]\n"
          "\n"
          "Lockstep echo client for instruction counts (see the top of wsstep.c).\n"
          "  -n MSGS        messages per connection, a multiple of DEPTH (default 0)\n"
          "  -s SIZE        payload bytes; K and M suffixes (default 32)\n"
          "  --piece BYTES  largest write; a batch is cut into equal pieces (32768)\n"
          "  --dry          the same connections and steps, no message bytes\n"
          "Prints: RESULT mode=step conns=.. size=.. depth=.. msgs=.. steps=.. errors=0\n",
          f);
}

static uint64_t parse_size(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);

    if (*end == 'K' || *end == 'k')
        v <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        v <<= 20, end++;
    if (*end || end == s) {
        usage(stderr);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    static const struct option lo[] = {
        { "port", required_argument, 0, 'p' },
        { "conns", required_argument, 0, 'c' },
        { "size", required_argument, 0, 's' },
        { "depth", required_argument, 0, 'd' },
        { "count", required_argument, 0, 'n' },
        { "piece", required_argument, 0, 'P' },
        { "server-pid", required_argument, 0, 'S' },
        { "timeout", required_argument, 0, 'T' },
        { "text", no_argument, 0, 't' },
        { "binary", no_argument, 0, 'b' },
        { "utf8", no_argument, 0, 'u' },
        { "dry", no_argument, 0, 'D' },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "c:s:d:n:qh", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': opt.port = (uint16_t)atoi(optarg); break;
        case 'c': opt.conns = (uint32_t)atoi(optarg); break;
        case 's': opt.size = parse_size(optarg); break;
        case 'd': opt.depth = (uint32_t)atoi(optarg); break;
        case 'n': opt.msgs = parse_size(optarg); break;
        case 'P': opt.piece = (size_t)parse_size(optarg); break;
        case 'S': opt.server = (pid_t)atoi(optarg); break;
        case 'T': opt.timeout = atof(optarg); break;
        case 't': opt.payload = P_TEXT; break;
        case 'b': opt.payload = P_BINARY; break;
        case 'u': opt.payload = P_UTF8; break;
        case 'D': opt.dry = 1; break;
        case 'q': opt.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (opt.server <= 0 || opt.conns == 0 || opt.depth == 0 || opt.piece < 64 ||
        opt.msgs % opt.depth != 0 || opt.size > (64u << 20)) {
        usage(stderr);
        return 2;
    }
    conns = calloc(opt.conns, sizeof(*conns));
    if (!conns) die("out of memory");
    for (uint32_t i = 0; i < opt.conns; i++) {
        conns[i].fd = -1;
        conns[i].out = malloc(opt.depth * (opt.size + 14));
        conns[i].want = malloc(opt.depth * opt.size + 1);
        if (!conns[i].out || !conns[i].want) die("out of memory");
    }
    signal(SIGPIPE, SIG_IGN);

    for (uint32_t i = 0; i < opt.conns; i++) open_conn(&conns[i], i);
    for (uint64_t r = 0; r < opt.msgs / opt.depth; r++) round_trip(r);
    for (uint32_t i = 0; i < opt.conns; i++) close_conn(&conns[i]);

    if (!opt.quiet)
        printf("wsstep: %llu messages on %u connections in %llu steps%s\n",
               (unsigned long long)(opt.dry ? 0 : opt.msgs * opt.conns), opt.conns,
               (unsigned long long)steps, opt.dry ? " (dry)" : "");
    printf("RESULT mode=step conns=%u size=%llu depth=%u msgs=%llu steps=%llu dry=%d errors=0\n",
           opt.conns, (unsigned long long)opt.size, opt.depth,
           (unsigned long long)(opt.dry ? 0 : opt.msgs * opt.conns), (unsigned long long)steps,
           opt.dry);
    for (uint32_t i = 0; i < opt.conns; i++) {
        free(conns[i].out);
        free(conns[i].want);
    }
    free(conns);
    return 0;
}

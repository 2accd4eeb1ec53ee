/*
 * minimal-echo.c -- a WebSocket echo server (RFC 6455) in one file: C11 and
 * POSIX, no library. Each message a client sends comes back unchanged.
 *
 *   cc -std=c11 -o minimal-echo examples/minimal-echo.c
 *   ./minimal-echo PORT [ADDRESS]          (ADDRESS: 127.0.0.1 by default)
 *
 * Read it from top to bottom: docs/minimal.md builds it up step by step, and
 * docs/from-minimal.md says what ws6455 does differently, and why.
 *
 * One process per connection, blocking sockets: the parent accepts and
 * fork()s, the child serves its one socket. The code of a connection is then
 * a straight line in the RFC's order -- the request (§4.2.1), the 101
 * (§4.2.2), then frame after frame (§5), the close (§7) -- and never has to
 * stop halfway through a frame and remember where it was: read() waits. A
 * poll() loop would need that memory, a state machine per connection (ws6455
 * has one); here the kernel keeps it, as each child's stack.
 *
 * Left out on purpose (docs/from-minimal.md shows how ws6455 does each): a
 * process per client, no event loop, no non-blocking I/O; no timeouts, so a
 * client that stops halfway through a request or a frame, or never reads its
 * echoes, holds its process for ever; no bound on fragments, connections or
 * memory in all; a message is held whole (up to MAX_MESSAGE) before its echo;
 * no extensions (§9, such as compression), subprotocols (§1.9), Origin
 * check (§10.2), TLS (§10.6), IPv6 or keep-alive pings; no log.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

/* §10.4: a server MUST protect itself from messages larger than it can hold;
 * a larger one is refused with 1009 (§7.4.1). cc -DMAX_MESSAGE=1024 sets another. */
#ifndef MAX_MESSAGE
#define MAX_MESSAGE (16u * 1024 * 1024)
#endif
#define HEAD_MAX 8192 /* §4.2.1 gives no limit for the request head; we do */

/* §1.3, §4.2.2: the GUID every server appends to the client's key. */
static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* §5.2 opcodes, and the §7.4.1 close codes this server sends. */
enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xA
};
enum {
    CLOSE_NORMAL = 1000,
    CLOSE_PROTOCOL = 1002,
    CLOSE_NOT_UTF8 = 1007,
    CLOSE_TOO_BIG = 1009,
    CLOSE_INTERNAL = 1011
};

/* One connection: its socket, and the bytes read from it but not used yet,
 * in[pos..end). §5.2: TCP has no message boundaries, so one read() may
 * return part of a frame, or the end of one frame and the start of the next. */
struct conn {
    int fd;
    uint8_t in[16384];
    size_t pos, end;
};

/* One frame header, §5.2. */
struct frame {
    int fin, opcode;
    uint64_t len;
    uint8_t key[4];
};

/* Where a text message stands between two bytes (§8.1, RFC 3629 §4): the
 * continuation bytes still to come, and the range the next one must be in. */
struct utf8 {
    int need;
    uint8_t lo, hi;
};

static void serve(int fd);
static int handshake(struct conn *c);
static void echo_frames(struct conn *c);
static void finish(struct conn *c);

int main(int argc, char **argv) {
    const char *host = argc == 3 ? argv[2] : "127.0.0.1";
    struct sockaddr_in addr = { .sin_family = AF_INET };
    char *end = NULL;
    long port = argc >= 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 2 || argc > 3 || *end || port < 1 || port > 65535 ||
        inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "usage: %s PORT [IPv4 ADDRESS, default 127.0.0.1]\n", argv[0]);
        return 2;
    }
    addr.sin_port = htons((uint16_t)port);

    /* The kernel reaps children that have ended (no zombies), and a write to
     * a client that has gone fails with EPIPE instead of killing us. */
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    /* §1.7, §4.1: WebSocket runs over an ordinary TCP connection. */
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 128) < 0) {
        perror("minimal-echo: listen");
        return 1;
    }
    fprintf(stderr, "minimal-echo: listening on %s:%ld\n", host, port);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) perror("minimal-echo: accept");
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) { /* the child: this one connection, then exit */
            close(lfd);
            serve(fd);
            _exit(0);
        }
        if (pid < 0) perror("minimal-echo: fork");
        close(fd); /* the parent: the child has its own copy */
    }
}

/* A connection from start to end: §4 the handshake, §5-§6 the frames, §7 the
 * close. */
static void serve(int fd) {
    struct conn c = { .fd = fd };
    int one = 1;
    /* Send each reply at once, without waiting for the previous one to be
     * acknowledged (Nagle's algorithm, RFC 896): an echo is a small write. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (handshake(&c) == 101) echo_frames(&c);
    finish(&c);
}

/* ---- Reading: whatever has arrived, or exactly n bytes ---------------- */

/* One read(), retried if a signal interrupted it. Returns the byte count,
 * 0 at end of file or on an error. */
static size_t read_fd(int fd, uint8_t *dst, size_t len) {
    for (;;) {
        ssize_t n = read(fd, dst, len);
        if (n >= 0) return (size_t)n;
        if (errno != EINTR) return 0;
    }
}

/* Copies up to len bytes of input into dst, waiting for at least one.
 * Buffered bytes come first; a large read goes straight into dst. Returns
 * the count, 0 if the connection ended. */
static size_t take_some(struct conn *c, uint8_t *dst, size_t len) {
    if (c->pos == c->end) {
        if (len >= sizeof(c->in)) return read_fd(c->fd, dst, len);
        c->pos = 0;
        c->end = read_fd(c->fd, c->in, sizeof(c->in));
        if (c->end == 0) return 0;
    }
    size_t n = c->end - c->pos < len ? c->end - c->pos : len;
    memcpy(dst, c->in + c->pos, n);
    c->pos += n;
    return n;
}

/* Reads exactly len bytes into dst. Returns 0, or -1 if the connection
 * ended first. */
static int take(struct conn *c, uint8_t *dst, size_t len) {
    while (len > 0) {
        size_t n = take_some(c, dst, len);
        if (n == 0) return -1;
        dst += n;
        len -= n;
    }
    return 0;
}

/* Writes every byte of v[0..n), however many write calls it takes. */
static int write_all(int fd, struct iovec *v, int n) {
    while (n > 0) {
        ssize_t w = writev(fd, v, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        for (; n > 0 && (size_t)w >= v->iov_len; v++, n--) w -= (ssize_t)v->iov_len;
        if (n > 0) {
            v->iov_base = (uint8_t *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int write_text(int fd, const char *s) {
    struct iovec v = { (void *)s, strlen(s) };
    return write_all(fd, &v, 1);
}

/* ---- The opening handshake, §4.2 -------------------------------------- */

/* Do the len bytes at s equal the lower-case word w, ignoring ASCII case?
 * (RFC 9110 §5.1: header names are case-insensitive.) */
static int equals_nocase(const char *s, size_t len, const char *w) {
    if (len != strlen(w)) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (ch != w[i]) return 0;
    }
    return 1;
}

/* Is w one of the comma-separated tokens of the value v[0..len)? §4.2.1
 * items 3 and 4: "Connection: keep-alive, Upgrade" contains "upgrade". */
static int has_token(const char *v, size_t len, const char *w) {
    const char *end = v + len;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *e = comma ? comma : end;
        const char *t = v;
        while (t < e && (*t == ' ' || *t == '\t')) t++;
        const char *te = e;
        while (te > t && (te[-1] == ' ' || te[-1] == '\t')) te--;
        if (equals_nocase(t, (size_t)(te - t), w)) return 1;
        v = comma ? comma + 1 : end;
    }
    return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* §4.2.1 item 5: the key is base64 of 16 bytes: 22 characters and "==".
 * The 22nd carries the last 2 bits only, so its low 4 bits must be 0
 * (RFC 4648 §3.5: one spelling for each value). */
static int key_valid(const char *k, size_t len) {
    if (len != 24 || k[22] != '=' || k[23] != '=') return 0;
    for (int i = 0; i < 22; i++) {
        const char *at = memchr(B64, k[i], 64);
        if (!at || (i == 21 && (at - B64) % 16 != 0)) return 0;
    }
    return 1;
}

/* FIPS 180-4 §6.1.2: one 64-byte block into the state h. */
static void sha1_block(uint32_t h[5], const uint8_t *block) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
               (uint32_t)block[4 * t + 2] << 8 | block[4 * t + 3];
    for (int t = 16; t < 80; t++) {
        uint32_t x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
        w[t] = x << 1 | x >> 31;
    }
    for (int t = 0; t < 80; t++) { /* §4.1.1 f(t), §4.2.1 K(t) */
        uint32_t f, k;
        /* clang-format off */
        if (t < 20) f = (b & c) | (~b & d), k = 0x5a827999;
        else if (t < 40) f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (t < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
        else f = b ^ c ^ d, k = 0xca62c1d6;
        /* clang-format on */
        uint32_t tmp = (a << 5 | a >> 27) + f + e + k + w[t];
        e = d, d = c, c = b << 30 | b >> 2, b = a, a = tmp;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* FIPS 180-4: the SHA-1 digest of msg[0..len). §5.1.1: the message is padded
 * with the byte 80, zeros, and its length in bits as 8 bytes, to a whole
 * number of blocks; §5.3.1 gives the initial state. */
static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
    uint8_t block[64] = { 0 };
    size_t i = 0;
    for (; len - i >= 64; i += 64) sha1_block(h, msg + i);
    memcpy(block, msg + i, len - i);
    block[len - i] = 0x80;
    if (len - i >= 56) { /* no room for the length: one more block */
        sha1_block(h, block);
        memset(block, 0, sizeof(block));
    }
    for (int j = 0; j < 8; j++) block[63 - j] = (uint8_t)((uint64_t)len * 8 >> (8 * j));
    sha1_block(h, block);
    for (int j = 0; j < 20; j++) out[j] = (uint8_t)(h[j / 4] >> (24 - 8 * (j % 4)));
}

/* RFC 4648 §4: each 3 bytes become 4 characters of 6 bits; a short last
 * group is padded with '='. out holds 4 * ((len + 2) / 3) + 1 bytes. */
static void base64(const uint8_t *in, size_t len, char *out) {
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        *out++ = B64[v >> 18 & 63];
        *out++ = B64[v >> 12 & 63];
        *out++ = i + 1 < len ? B64[v >> 6 & 63] : '=';
        *out++ = i + 2 < len ? B64[v & 63] : '=';
    }
    *out = '\0';
}

/* §4.2.1: checks the request head p[0..len) (its empty line included).
 * Returns 101 and fills accept (§4.2.2) if it is an opening handshake,
 * otherwise the HTTP status to refuse it with. */
static int check_request(const char *p, size_t len, char accept[29]) {
    const char *end = p + len - 2, *key = NULL, *version = NULL;
    size_t key_len = 0, version_len = 0;
    int first = 1, hosts = 0, upgrade = 0, connection = 0, keys = 0, versions = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl == p || nl[-1] != '\r') return 400; /* RFC 9112 §2.2: lines end in CR LF */
        const char *line = p, *v, *ve = nl - 1;
        size_t n = (size_t)(ve - line);
        p = nl + 1;
        if (first) { /* item 1: "An HTTP/1.1 or higher GET request" */
            first = 0;
            if (n < 14 || memcmp(line, "GET ", 4) != 0 || line[4] == ' ' ||
                memcmp(ve - 9, " HTTP/1.1", 9) != 0)
                return 400;
            continue;
        }
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line) return 400;
        size_t name_len = (size_t)(colon - line);
        /* RFC 9112 §5.1, §5.2: no space before the colon, no folded lines */
        if (memchr(line, ' ', name_len) || memchr(line, '\t', name_len)) return 400;
        for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++) {}
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t vlen = (size_t)(ve - v);
        /* clang-format off */
        if (equals_nocase(line, name_len, "host")) hosts++;                       /* item 2 */
        if (equals_nocase(line, name_len, "upgrade"))                             /* item 3 */
            upgrade |= has_token(v, vlen, "websocket");
        if (equals_nocase(line, name_len, "connection"))                          /* item 4 */
            connection |= has_token(v, vlen, "upgrade");
        if (equals_nocase(line, name_len, "sec-websocket-key"))                   /* item 5 */
            keys++, key = v, key_len = vlen;
        if (equals_nocase(line, name_len, "sec-websocket-version"))               /* item 6 */
            versions++, version = v, version_len = vlen;
    }
    /* clang-format on */
    if (hosts != 1 || !upgrade || !connection || keys != 1 || !key_valid(key, key_len)) return 400;
    /* §4.2.2 /version/, §4.4: any version but 13 gets 426 and the one we speak. */
    if (versions != 1 || version_len != 2 || memcmp(version, "13", 2) != 0) return 426;

    /* §4.2.2 item 5.4: base64(SHA-1(key + GUID)), the key taken as text. */
    uint8_t text[24 + 36], digest[20];
    memcpy(text, key, 24);
    memcpy(text + 24, GUID, 36);
    sha1(text, sizeof(text), digest);
    base64(digest, sizeof(digest), accept);
    return 101;
}

/* §4.2: reads the request head and answers it. Returns 101 if the
 * connection is now a WebSocket, otherwise the status sent (or -1). */
static int handshake(struct conn *c) {
    char accept[29], reply[160];
    size_t len = 0;
    int status = 431;
    /* RFC 9112 §2.1: the head ends with an empty line, CR LF CR LF. The bytes
     * after it are already frames (§4.1: a client may send them at once). */
    while (c->end < HEAD_MAX) {
        size_t n = read_fd(c->fd, c->in + c->end, HEAD_MAX - c->end);
        if (n == 0) return -1;
        size_t from = c->end < 3 ? 0 : c->end - 3;
        c->end += n;
        for (size_t i = from; len == 0 && i + 4 <= c->end; i++)
            if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) len = i + 4;
        if (len > 0) {
            c->pos = len;
            status = check_request((const char *)c->in, len, accept);
            break;
        }
    }
    if (status == 101) {
        snprintf(reply, sizeof(reply),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
        return write_text(c->fd, reply) < 0 ? -1 : 101;
    }
    if (status == 426)
        write_text(c->fd, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n");
    else if (status == 431)
        write_text(c->fd, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    else
        write_text(c->fd, "HTTP/1.1 400 Bad Request\r\n");
    write_text(c->fd, "Content-Length: 0\r\nConnection: close\r\n\r\n");
    return status;
}

/* ---- Frames, §5 ---------------------------------------------------------
 *
 *  §5.2: byte 0   FIN (1 bit), RSV1-3 (3 bits), opcode (4 bits)
 *        byte 1   MASK (1 bit), payload length (7 bits): 0-125, or
 *                 126: a 16-bit length follows, 127: a 64-bit length follows
 *        then     the masking key (4 bytes) if MASK is 1, then the payload
 */

/* Reads one frame header into f. Returns 0, -1 if the connection ended, or
 * the close code of the rule the header breaks. */
/* clang-format off */
static int read_header(struct conn *c, struct frame *f) {
    uint8_t h[8];
    if (take(c, h, 2) < 0) return -1;
    f->fin = h[0] >> 7;
    f->opcode = h[0] & 0x0F;
    f->len = h[1] & 0x7F;
    if (h[0] & 0x70) return CLOSE_PROTOCOL; /* RSV1-3 "MUST be 0": no extension agreed */
    if ((f->opcode > OP_BINARY && f->opcode < OP_CLOSE) || f->opcode > OP_PONG)
        return CLOSE_PROTOCOL;              /* 3-7 and B-F are reserved */
    if (f->opcode >= OP_CLOSE && (!f->fin || f->len > 125))
        return CLOSE_PROTOCOL;              /* §5.5: control frames are whole and small */
    if (!(h[1] & 0x80))
        return CLOSE_PROTOCOL;              /* §5.1: "MUST close ... a frame that is not masked" */
    if (f->len == 126) {                    /* 16-bit length, network byte order */
        if (take(c, h, 2) < 0) return -1;
        f->len = (uint64_t)h[0] << 8 | h[1];
    } else if (f->len == 127) {             /* 64-bit length, "most significant bit MUST be 0" */
        if (take(c, h, 8) < 0) return -1;
        if (h[0] & 0x80) return CLOSE_PROTOCOL;
        f->len = 0;
        for (int i = 0; i < 8; i++) f->len = f->len << 8 | h[i];
    }
    return take(c, f->key, 4);
}
/* clang-format on */

/* §5.3: byte i of a payload is XORed with byte i % 4 of the key; at is how
 * many bytes of this frame's payload came before p. */
static void unmask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t at) {
    for (size_t i = 0; i < n; i++) p[i] ^= key[(at + i) % 4];
}

/* Sends one whole frame. §5.1: a server never masks; §5.2: "the minimal
 * number of bytes MUST be used to encode the length". */
static int send_frame(int fd, int opcode, const uint8_t *data, size_t len) {
    uint8_t h[10] = { (uint8_t)(0x80 | opcode) };
    size_t hlen = 2;
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        h[1] = 126, h[2] = (uint8_t)(len >> 8), h[3] = (uint8_t)len, hlen = 4;
    } else {
        h[1] = 127, hlen = 10;
        for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    struct iovec v[2] = { { h, hlen }, { (void *)data, len } };
    return write_all(fd, v, 2);
}

/* §5.5.1: a close frame's body is a 2-byte code in network byte order (and
 * may add a reason; ours never do). */
static void send_close(int fd, unsigned code) {
    uint8_t body[2] = { (uint8_t)(code >> 8), (uint8_t)code };
    send_frame(fd, OP_CLOSE, body, 2);
}

/* ---- UTF-8, §8.1 ------------------------------------------------------
 *
 *  RFC 3629 §4, the well-formed byte sequences:
 *    U+0000..U+007F       00..7F
 *    U+0080..U+07FF       C2..DF   80..BF
 *    U+0800..U+0FFF       E0       A0..BF   80..BF
 *    U+1000..U+CFFF       E1..EC   80..BF   80..BF
 *    U+D000..U+D7FF       ED       80..9F   80..BF
 *    U+E000..U+FFFF       EE..EF   80..BF   80..BF
 *    U+10000..U+3FFFF     F0       90..BF   80..BF   80..BF
 *    U+40000..U+FFFFF     F1..F3   80..BF   80..BF   80..BF
 *    U+100000..U+10FFFF   F4       80..8F   80..BF   80..BF
 */

/* Checks n more bytes of a text message; u carries a character cut between
 * two calls (§5.6: a frame may end inside one). Returns -1 at the first byte
 * that no valid text can follow, 0 otherwise. */
static int utf8_check(struct utf8 *u, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (u->need > 0) { /* a continuation byte, in the range the lead byte set */
            if (b < u->lo || b > u->hi) return -1;
            u->need--, u->lo = 0x80, u->hi = 0xBF;
            continue;
        }
        u->lo = 0x80, u->hi = 0xBF;
        if (b < 0x80) continue;
        if (b >= 0xC2 && b <= 0xDF) {
            u->need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            u->need = 2;
            if (b == 0xE0) u->lo = 0xA0; /* no overlong forms */
            if (b == 0xED) u->hi = 0x9F; /* no surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            u->need = 3;
            if (b == 0xF0) u->lo = 0x90; /* no overlong forms */
            if (b == 0xF4) u->hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            return -1; /* 80..BF cannot start a character; C0, C1, F5..FF never appear */
        }
    }
    return 0;
}

/* ---- Messages, §5.4-§5.6, and control frames, §5.5 -------------------- */

/* The message being put together from its fragments. */
struct message {
    int opcode; /* OP_TEXT or OP_BINARY while a message is open, else 0 */
    uint8_t *data;
    size_t len, cap;
    struct utf8 utf8;
};

/* Reads the payload of data frame f onto the end of m, unmasking it and,
 * for text, checking UTF-8 as each piece arrives: a bad byte fails the
 * connection (§8.1) without waiting for the rest. Returns 0, -1 if the
 * connection ended, or a close code. */
static int read_data(struct conn *c, const struct frame *f, struct message *m) {
    for (uint64_t done = 0; done < f->len;) {
        size_t want = f->len - done < 65536 ? (size_t)(f->len - done) : 65536;
        if (m->len + want > m->cap) { /* grow with what arrives, not what is announced */
            size_t cap = m->cap ? m->cap : 4096;
            while (cap < m->len + want) cap *= 2;
            if (cap > MAX_MESSAGE) cap = MAX_MESSAGE;
            uint8_t *p = realloc(m->data, cap);
            if (!p) return CLOSE_INTERNAL;
            m->data = p, m->cap = cap;
        }
        uint8_t *at = m->data + m->len;
        size_t n = take_some(c, at, want);
        if (n == 0) return -1;
        unmask(at, n, f->key, done);
        if (m->opcode == OP_TEXT && utf8_check(&m->utf8, at, n) < 0) return CLOSE_NOT_UTF8;
        m->len += n;
        done += n;
    }
    return 0;
}

/* §5.5: a ping, pong or close frame. Returns 0 to go on, -1 once the
 * connection is done (the close answered, or gone), or a close code. */
static int control_frame(struct conn *c, const struct frame *f) {
    uint8_t body[125];
    size_t len = (size_t)f->len;
    if (take(c, body, len) < 0) return -1;
    unmask(body, len, f->key, 0);
    if (f->opcode == OP_PING) /* §5.5.2: a pong with the same "Application data" */
        return send_frame(c->fd, OP_PONG, body, len) < 0 ? -1 : 0;
    if (f->opcode == OP_PONG) /* §5.5.3: an unsolicited pong needs no answer */
        return 0;
    unsigned code = CLOSE_NORMAL; /* §5.5.1: a close with no body; we answer 1000 */
    if (len == 1) return CLOSE_PROTOCOL;
    if (len >= 2) {
        struct utf8 u = { 0 };
        code = (unsigned)body[0] << 8 | body[1];
        /* §7.4.1, §7.4.2: the codes a peer may send. 1004-1006 and 1015 are
         * reserved; IANA registered 1012-1014 after the RFC (§11.7). */
        int valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        if (!valid || utf8_check(&u, body + 2, len - 2) < 0 || u.need)
            return CLOSE_PROTOCOL; /* §5.5.1, §7.1.6: the reason is UTF-8 */
    }
    send_close(c->fd, code); /* §5.5.1: "typically echos the status code it received" */
    return -1;
}

/* §5.4, §6.2: a text, binary or continuation frame. Returns 0 to go on, -1
 * if the connection ended, or a close code. */
static int data_frame(struct conn *c, const struct frame *f, struct message *m) {
    /* §5.4: a message is a text or binary frame, then continuations (opcode
     * 0) up to one with FIN; the fragments of two messages never mix. */
    if (f->opcode == OP_CONT ? !m->opcode : m->opcode) return CLOSE_PROTOCOL;
    if (f->opcode != OP_CONT) m->opcode = f->opcode, m->len = 0, m->utf8 = (struct utf8){ 0 };
    /* §7.4.1 1009, judged on the announced length, before any of it is read */
    if (f->len > MAX_MESSAGE - m->len) return CLOSE_TOO_BIG;
    int code = read_data(c, f, m);
    if (code != 0 || !f->fin) return code;
    if (m->opcode == OP_TEXT && m->utf8.need > 0) return CLOSE_NOT_UTF8; /* ends mid-character */
    int opcode = m->opcode;
    m->opcode = 0;
    return send_frame(c->fd, opcode, m->data, m->len) < 0 ? -1 : 0; /* the echo */
}

/* §5, §6.2: frames until a close, an error or the end of the connection. */
static void echo_frames(struct conn *c) {
    struct message m = { 0 };
    struct frame f;
    int code = 0;
    while (code == 0) {
        code = read_header(c, &f);
        if (code == 0 && f.opcode >= OP_CLOSE) /* §5.4: also between fragments */
            code = control_frame(c, &f);
        else if (code == 0)
            code = data_frame(c, &f, &m);
    }
    /* §7.1.7 _Fail the WebSocket Connection_: a close frame with the code, and
     * no more processing of data (not even of the client's close reply). */
    if (code > 0) send_close(c->fd, (unsigned)code);
    free(m.data);
}

/* §7.1.1: the server closes the TCP connection first. shutdown() sends our
 * FIN after everything written; then we read (and drop) what the client
 * still sends until its FIN, so that close() leaves nothing unread: a socket
 * closed with unread data sends a reset, which can destroy our close frame
 * before the client reads it (§1.4). Bounded: 2 s of silence. */
static void finish(struct conn *c) {
    struct timeval tv = { 2, 0 };
    uint8_t junk[4096];
    shutdown(c->fd, SHUT_WR);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (read_fd(c->fd, junk, sizeof(junk)) > 0) {}
    close(c->fd);
}

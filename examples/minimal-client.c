/*
 * minimal-client.c -- a WebSocket client (RFC 6455) in one file: C11 and
 * POSIX, no library. It opens a connection, sends each message as a text
 * message, prints each message the server sends back on a line of its
 * own, and closes.
 *
 *   cc -std=c11 -o minimal-client examples/minimal-client.c   # or: make examples
 *   ./minimal-client HOST PORT [MESSAGE...]
 *
 * With no MESSAGE it sends each line of stdin (without its newline) and
 * prints replies as they come, answering pings while it waits for input.
 * It speaks to an echo server: after the last message it waits for as
 * many replies as it sent, then closes. Exit status: 0 after a clean
 * close, 1 if the connection failed (the reason on stderr), 2 for usage.
 *
 * docs/client-side.md goes through it, in the order of a connection: the
 * key and the request (§4.1), checking the answer (§4.1, the list the
 * client MUST fail on), masked frames out (§5.3), unmasked frames in
 * (§5.2), ping and close (§5.5, §7). It is one file on purpose, so it
 * shares no code with ws6455 or with examples/minimal-echo.c: it has its
 * own SHA-1 and base64, and checks the server with them.
 *
 * Left out (a real client would add them): TLS (wss://, §10.6), a path
 * other than "/", Origin, subprotocols (§1.9) and extensions (§9) -- it
 * asks for none, so it refuses an answer that names one -- proxies,
 * redirects, and sending binary messages. A message is held whole (up to
 * MAX_MESSAGE) before it is printed.
 */
#define _DEFAULT_SOURCE /* getrandom(), getaddrinfo() and getline() with -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* §10.4: an endpoint protects itself from messages larger than it can
 * hold, failing with 1009 (§7.4.1). */
#define MAX_MESSAGE   (64u * 1024 * 1024)
#define HEAD_MAX      8192  /* the server's answer head; the RFC gives no limit */
#define WAIT_MS       10000 /* how long any one wait for the server may last */
#define CLOSE_WAIT_MS 2000  /* §7.1.1: how long to wait for the server's FIN */

/* §1.3, §4.1: the GUID the server appends to our key before hashing. */
static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* §5.2 opcodes, and the §7.4.1 close codes this client sends. */
enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xA
};
enum { CLOSE_NORMAL = 1000, CLOSE_PROTOCOL = 1002, CLOSE_NOT_UTF8 = 1007, CLOSE_TOO_BIG = 1009 };

/* One connection: the socket; bytes read but not used yet, in[pos..end);
 * the message being received; and how the close went. */
struct conn {
    int fd;
    uint8_t in[16384];
    size_t pos, end;
    uint8_t *msg; /* the data message being assembled */
    size_t msg_len, msg_cap;
    int msg_op;     /* its opcode; -1 when none is in progress */
    int close_sent; /* our close frame is out: no more frames from us (§5.5.1) */
    int close_got;  /* the server's close frame has arrived */
    unsigned close_code;
};

/* What read_one() found. */
enum { GOT_CONTROL, GOT_MESSAGE, GOT_CLOSE, GOT_ERROR };

static void fail(struct conn *c, unsigned code, const char *why);

/* ---- bytes in and out ---------------------------------------------------- */

/* Wait until fd is readable, at most ms milliseconds. */
static int wait_readable(int fd, int ms) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    for (;;) {
        int n = poll(&p, 1, ms);
        if (n > 0) return 0;
        if (n == 0) return -1;
        if (errno != EINTR) return -1;
    }
}

/* Exactly len bytes from the connection: first what is buffered, then
 * reads. TCP is a stream (§5.2 frames do not line up with reads), so a
 * frame may come in many reads, or many frames in one. */
static int take(struct conn *c, uint8_t *dst, size_t len) {
    while (len > 0) {
        if (c->pos == c->end) {
            ssize_t n;
            if (wait_readable(c->fd, WAIT_MS) < 0) return -1;
            n = read(c->fd, c->in, sizeof(c->in));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return -1;
            c->pos = 0;
            c->end = (size_t)n;
        }
        size_t n = c->end - c->pos < len ? c->end - c->pos : len;
        memcpy(dst, c->in + c->pos, n);
        c->pos += n;
        dst += n;
        len -= n;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Unpredictable bytes from the kernel: getrandom(2), or /dev/urandom
 * where that system call is missing. */
static int random_bytes(uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        p += n;
        len -= (size_t)n;
    }
    if (len == 0) return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return len == 0 ? 0 : -1;
}

/* ---- SHA-1 (FIPS 180-4) and base64 (RFC 4648 §4) --------------------- */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* One 64-byte block into the state h (FIPS 180-4 §6.1.2). */
static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 80; t++) w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20)
            f = (b & c) | (~b & d), k = 0x5a827999;
        else if (t < 40)
            f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (t < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = b ^ c ^ d, k = 0xca62c1d6;
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d, d = c, c = rol(b, 30), b = a, a = tmp;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* The digest of len bytes (len < 2^29: a key and the GUID are 60). */
static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
    uint8_t last[128] = { 0 };
    size_t full = len / 64 * 64, rest = len - full, n = rest < 56 ? 64 : 128;
    for (size_t i = 0; i < full; i += 64) sha1_block(h, msg + i);
    /* §5.1.1: the rest, a 1 bit, zeros, and the length in bits. */
    memcpy(last, msg + full, rest);
    last[rest] = 0x80;
    for (int i = 0; i < 8; i++) last[n - 1 - i] = (uint8_t)((uint64_t)len * 8 >> (8 * i));
    for (size_t i = 0; i < n; i += 64) sha1_block(h, last + i);
    for (int i = 0; i < 20; i++) out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* out gets 4 characters per 3 bytes, '=' padded, and a NUL. */
static void base64(const uint8_t *in, size_t len, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        *out++ = i + 2 < len ? abc[v & 63] : '=';
    }
    *out = '\0';
}

/* ---- the opening handshake (§4.1) ----------------------------------- */

/* Is the value v (len bytes) the word w, ignoring ASCII case? */
static int same_word(const char *v, size_t len, const char *w) {
    if (len != strlen(w)) return 0;
    for (size_t i = 0; i < len; i++) {
        char a = v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] + 32) : v[i];
        if (a != w[i]) return 0;
    }
    return 1;
}

/* Is w one of the comma-separated tokens of v ("keep-alive, Upgrade")? */
static int has_token(const char *v, size_t len, const char *w) {
    const char *end = v + len;
    while (v < end) {
        const char *e = memchr(v, ',', (size_t)(end - v));
        const char *b = v, *t = e ? e : end;
        while (b < t && (*b == ' ' || *b == '\t')) b++;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (same_word(b, (size_t)(t - b), w)) return 1;
        v = e ? e + 1 : end;
    }
    return 0;
}

/* §4.1: the client MUST fail the connection unless the answer is a 101
 * with Upgrade: websocket, Connection: Upgrade and the right
 * Sec-WebSocket-Accept, and names no extension or subprotocol it did not
 * ask for. head is the answer up to its empty line. Returns NULL, or why
 * it fails. */
static const char *check_answer(const char *head, size_t len, const char *accept) {
    const char *p = head, *end = head + len;
    int upgrade = 0, connection = 0, accepted = 0;
    const char *eol = memchr(p, '\n', len);

    /* The status line: "HTTP/1.1 101 Switching Protocols". */
    if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0) return "not an HTTP/1.1 answer";
    if (memcmp(p + 9, "101", 3) != 0 || (eol - p > 12 && p[12] != ' ' && p[12] != '\r'))
        return "the status is not 101";
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        const char *v, *ve = eol;
        if (!colon) continue; /* the empty line at the end */
        for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++) {}
        while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t nlen = (size_t)(colon - p), vlen = (size_t)(ve - v);
        if (same_word(p, nlen, "upgrade")) {
            /* item 2: "websocket", in any case */
            if (!same_word(v, vlen, "websocket")) return "Upgrade is not websocket";
            upgrade = 1;
        } else if (same_word(p, nlen, "connection")) {
            /* item 3: a token list that holds "Upgrade" */
            connection |= has_token(v, vlen, "upgrade");
        } else if (same_word(p, nlen, "sec-websocket-accept")) {
            /* item 4: base64(SHA-1(key + GUID)), exactly */
            if (vlen != strlen(accept) || memcmp(v, accept, vlen) != 0)
                return "Sec-WebSocket-Accept is not the value of our key";
            accepted = 1;
        } else if (same_word(p, nlen, "sec-websocket-extensions") && vlen > 0) {
            return "an extension we did not ask for"; /* item 5 */
        } else if (same_word(p, nlen, "sec-websocket-protocol") && vlen > 0) {
            return "a subprotocol we did not ask for"; /* item 6 */
        }
    }
    if (!upgrade) return "no Upgrade: websocket";
    if (!connection) return "no Connection: Upgrade";
    if (!accepted) return "no Sec-WebSocket-Accept";
    return NULL;
}

/* Send the request, read the answer and check it. Bytes after the
 * answer's head (frames the server sent at once) stay in c->in. */
static int handshake(struct conn *c, const char *host, const char *port) {
    uint8_t nonce[16], digest[20];
    char key[25], text[24 + sizeof(GUID)], accept[29], req[512];
    char head[HEAD_MAX];
    size_t len = 0;

    /* §4.1: "a nonce consisting of a randomly selected 16-byte value that
     * has been base64-encoded", new for every connection. */
    if (random_bytes(nonce, sizeof(nonce)) < 0) {
        fprintf(stderr, "minimal-client: no random bytes\n");
        return -1;
    }
    base64(nonce, sizeof(nonce), key);
    /* What the server must answer: base64(SHA-1(key + GUID)), the key
     * taken as the 24 characters we send, not decoded. */
    memcpy(text, key, 24);
    memcpy(text + 24, GUID, sizeof(GUID) - 1);
    sha1((const uint8_t *)text, 24 + sizeof(GUID) - 1, digest);
    base64(digest, sizeof(digest), accept);

    /* §4.1: a GET with Host, Upgrade, Connection, the key and version 13.
     * An IPv6 address goes in brackets (RFC 3986 §3.2.2). */
    int ipv6 = strchr(host, ':') != NULL;
    int n = snprintf(req, sizeof(req),
                     "GET / HTTP/1.1\r\nHost: %s%s%s:%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     ipv6 ? "[" : "", host, ipv6 ? "]" : "", port, key);
    if (n < 0 || (size_t)n >= sizeof(req) || write_all(c->fd, (uint8_t *)req, (size_t)n) < 0) {
        fprintf(stderr, "minimal-client: cannot send the request\n");
        return -1;
    }

    /* The answer's head ends with an empty line, CR LF CR LF. Read a byte
     * at a time from the buffer, so the bytes after it stay there. */
    while (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0) {
        if (len == sizeof(head) - 1 || take(c, (uint8_t *)head + len, 1) < 0) {
            fprintf(stderr, "minimal-client: no complete answer to the handshake\n");
            return -1;
        }
        len++;
    }
    head[len] = '\0';
    const char *why = check_answer(head, len, accept);
    if (why) {
        const char *eol = memchr(head, '\r', len);
        fprintf(stderr, "minimal-client: handshake failed: %s (%.*s)\n", why,
                (int)(eol ? eol - head : 0), head);
        return -1;
    }
    return 0;
}

/* ---- frames out: always masked (§5.3) -------------------------------- */

/* One frame, FIN set. §5.3: every frame from a client is masked with a
 * new key "derived from a strong source of entropy", so that a page's
 * script cannot choose the bytes that cross the network (§10.3). The
 * payload is masked into a copy, a buffer at a time: data stays as the
 * caller gave it. */
static int send_frame(struct conn *c, int opcode, const uint8_t *data, size_t len) {
    uint8_t buf[4096 + 14], key[4];
    size_t h = 0;

    if (random_bytes(key, 4) < 0) return -1;
    buf[h++] = (uint8_t)(0x80 | opcode);
    /* §5.2: the length in 7 bits, or 126 and 16 bits, or 127 and 64 bits,
     * always in the fewest bytes; 0x80 is the MASK bit. */
    if (len < 126) {
        buf[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        buf[h++] = 0x80 | 126;
        buf[h++] = (uint8_t)(len >> 8);
        buf[h++] = (uint8_t)len;
    } else {
        buf[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) buf[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(buf + h, key, 4);
    h += 4;
    /* §5.3: byte i of the payload is XORed with byte i % 4 of the key. */
    size_t i = 0;
    do {
        size_t n = len - i < 4096 ? len - i : 4096;
        for (size_t j = 0; j < n; j++) buf[h + j] = data[i + j] ^ key[(i + j) % 4];
        if (write_all(c->fd, buf, h + n) < 0) return -1;
        i += n;
        h = 0;
    } while (i < len);
    return 0;
}

/* §5.5.1: a close frame carries a 2-byte code, big-endian; after it we
 * send nothing more. */
static void send_close(struct conn *c, unsigned code) {
    uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };
    if (c->close_sent) return;
    c->close_sent = 1;
    send_frame(c, OP_CLOSE, p, code ? 2 : 0);
}

/* §7.1.7 "Fail the WebSocket Connection": say why, send the close frame
 * that names the problem, and drop the connection. */
static void fail(struct conn *c, unsigned code, const char *why) {
    fprintf(stderr, "minimal-client: %s: closing with %u\n", why, code);
    send_close(c, code);
    close(c->fd);
    c->fd = -1;
}

/* ---- frames in: never masked (§5.1) ---------------------------------- */

/* Is p[0..n) UTF-8 (RFC 3629)? The shortest form only, no surrogates,
 * nothing above U+10FFFF. */
static int valid_utf8(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t b = p[i];
        size_t k = b < 0x80                 ? 0
                   : b >= 0xc2 && b <= 0xdf ? 1
                   : b >= 0xe0 && b <= 0xef ? 2
                   : b >= 0xf0 && b <= 0xf4 ? 3
                                            : 9;
        if (k == 9 || n - i <= k) return k == 0;
        for (size_t j = 1; j <= k; j++)
            if ((p[i + j] & 0xc0) != 0x80) return 0;
        /* The second byte's range where the first does not settle it. */
        if ((b == 0xe0 && p[i + 1] < 0xa0) || (b == 0xed && p[i + 1] > 0x9f) ||
            (b == 0xf0 && p[i + 1] < 0x90) || (b == 0xf4 && p[i + 1] > 0x8f))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* §7.4: the codes a close frame may carry. 1004-1006 and 1015 never go
 * on the wire; 1012-1014 are registered with IANA since the RFC (ws6455
 * sends 1013); 3000-4999 belong to libraries and applications. */
static int code_allowed(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Read one frame and act on it: a ping is answered, a close ends the
 * connection, data is added to the message in progress. */
static int read_one(struct conn *c) {
    uint8_t hdr[8], ctl[125];
    uint64_t len;

    if (take(c, hdr, 2) < 0) {
        fprintf(stderr, "minimal-client: the connection ended or timed out mid-way\n");
        return GOT_ERROR;
    }
    int fin = hdr[0] & 0x80, op = hdr[0] & 0x0f;
    /* §5.2: RSV bits only with an extension that defines them (none). */
    if (hdr[0] & 0x70) return fail(c, CLOSE_PROTOCOL, "RSV bits set"), GOT_ERROR;
    /* §5.1: "A client MUST close a connection if it detects a masked
     * frame." */
    if (hdr[1] & 0x80) return fail(c, CLOSE_PROTOCOL, "a masked frame from the server"), GOT_ERROR;
    len = hdr[1] & 0x7f;
    if (len >= 126) {
        size_t n = len == 126 ? 2 : 8;
        if (take(c, hdr, n) < 0) return GOT_ERROR;
        len = 0;
        for (size_t i = 0; i < n; i++) len = len << 8 | hdr[i];
        /* §5.2: the most significant bit of a 64-bit length MUST be 0, and
         * "the minimal number of bytes MUST be used to encode the length". */
        if (len >> 63 || len < (n == 2 ? 126u : 0x10000u))
            return fail(c, CLOSE_PROTOCOL, "a badly encoded length"), GOT_ERROR;
    }

    if (op >= OP_CLOSE) {
        /* §5.5: control frames are short, unfragmented, of a known kind. */
        if (!fin || len > 125 || op > OP_PONG)
            return fail(c, CLOSE_PROTOCOL, "a bad control frame"), GOT_ERROR;
        if (take(c, ctl, (size_t)len) < 0) return GOT_ERROR;
        if (op == OP_PING) {
            /* §5.5.2: answer with a pong carrying the ping's payload. */
            if (!c->close_sent) send_frame(c, OP_PONG, ctl, (size_t)len);
            return GOT_CONTROL;
        }
        if (op == OP_PONG) return GOT_CONTROL; /* §5.5.3: nothing to do */
        /* §5.5.1: a code of 2 bytes, then a UTF-8 reason; or nothing. */
        unsigned code = len >= 2 ? (unsigned)ctl[0] << 8 | ctl[1] : 1005;
        if (len == 1 || !valid_utf8(ctl + 2, len > 2 ? (size_t)len - 2 : 0) ||
            (len >= 2 && !code_allowed(code)))
            return fail(c, CLOSE_PROTOCOL, "a bad close frame"), GOT_ERROR;
        c->close_got = 1;
        c->close_code = code;
        if (!c->close_sent)
            fprintf(stderr, "minimal-client: the server closed with %u%s%.*s\n", c->close_code,
                    len > 2 ? ": " : "", len > 2 ? (int)len - 2 : 0, (const char *)ctl + 2);
        /* §5.5.1: reply with a close frame, echoing the code. */
        send_close(c, len >= 2 ? c->close_code : 0);
        return GOT_CLOSE;
    }

    /* §5.4: a message is a first frame (text or binary) and continuations. */
    if (op != OP_CONT && op != OP_TEXT && op != OP_BINARY)
        return fail(c, CLOSE_PROTOCOL, "a reserved opcode"), GOT_ERROR;
    if ((op == OP_CONT) != (c->msg_op >= 0))
        return fail(c, CLOSE_PROTOCOL, "a continuation out of place"), GOT_ERROR;
    if (op != OP_CONT) c->msg_op = op, c->msg_len = 0;
    if (len > MAX_MESSAGE - c->msg_len) return fail(c, CLOSE_TOO_BIG, "too big"), GOT_ERROR;
    if (c->msg_len + len + 1 > c->msg_cap) {
        size_t cap = (size_t)(c->msg_len + len + 1);
        uint8_t *m = realloc(c->msg, cap);
        if (!m) return fail(c, CLOSE_TOO_BIG, "no memory for the message"), GOT_ERROR;
        c->msg = m;
        c->msg_cap = cap;
    }
    if (take(c, c->msg + c->msg_len, (size_t)len) < 0) return GOT_ERROR;
    c->msg_len += (size_t)len;
    if (!fin) return GOT_CONTROL; /* more fragments to come */
    /* §8.1: a text message must be UTF-8 as a whole. */
    if (c->msg_op == OP_TEXT && !valid_utf8(c->msg, c->msg_len))
        return fail(c, CLOSE_NOT_UTF8, "a text message that is not UTF-8"), GOT_ERROR;
    c->msg_op = -1;
    return GOT_MESSAGE;
}

/* Frames until a whole message has arrived (printed), or the end. */
static int next_message(struct conn *c) {
    for (;;) {
        int r = read_one(c);
        if (r == GOT_CONTROL) continue;
        if (r == GOT_MESSAGE) {
            fwrite(c->msg, 1, c->msg_len, stdout);
            putchar('\n');
            fflush(stdout);
        }
        return r;
    }
}

/* ---- closing (§7) ---------------------------------------------------- */

/* Our close, the server's, then the server's FIN: §7.1.1 asks the server
 * to close TCP first, so that the TIME_WAIT state is its, and a client to
 * wait for that, closing itself only after a while. Returns 0 for a
 * clean close. */
static int finish(struct conn *c) {
    int r = GOT_CONTROL;
    uint8_t byte;

    if (c->fd < 0) return -1;
    send_close(c, CLOSE_NORMAL);
    /* Data may still arrive before the server's close: it is discarded. */
    while (!c->close_got && (r = read_one(c)) != GOT_ERROR) {}
    if (r == GOT_ERROR) return -1;
    if (wait_readable(c->fd, CLOSE_WAIT_MS) < 0 || read(c->fd, &byte, 1) != 0)
        fprintf(stderr, "minimal-client: the server did not close TCP; closing it ourselves\n");
    close(c->fd);
    c->fd = -1;
    return c->close_code == CLOSE_NORMAL ? 0 : -1;
}

/* ---- main ------------------------------------------------------------ */

static int connect_to(const char *host, const char *port) {
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int fd = -1, one = 1;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "minimal-client: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "minimal-client: cannot connect to %s port %s\n", host, port);
        return -1;
    }
    /* Each message is a small write that should leave at once. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Send one text message and count it. */
static int send_text(struct conn *c, const char *s, size_t len, unsigned long *sent) {
    if (!valid_utf8((const uint8_t *)s, len)) {
        fprintf(stderr, "minimal-client: a message is not UTF-8; text must be (§8.1)\n");
        return -1;
    }
    if (send_frame(c, OP_TEXT, (const uint8_t *)s, len) < 0) {
        fprintf(stderr, "minimal-client: cannot send\n");
        return -1;
    }
    (*sent)++;
    return 0;
}

/* Lines of stdin, each a message; replies printed as they come, and
 * pings answered, while we wait for the next line. */
static int from_stdin(struct conn *c, unsigned long *sent, unsigned long *got) {
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = c->fd, .events = POLLIN } };
        if (c->pos == c->end && poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        if (c->pos < c->end || p[1].revents) {
            int r = read_one(c);
            if (r == GOT_MESSAGE) {
                fwrite(c->msg, 1, c->msg_len, stdout);
                putchar('\n');
                fflush(stdout);
                (*got)++;
            } else if (r != GOT_CONTROL) {
                rc = -1;
                break;
            }
            continue;
        }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) break;
        if (n > 0 && line[n - 1] == '\n') n--;
        if (send_text(c, line, (size_t)n, sent) < 0) {
            rc = -1;
            break;
        }
    }
    free(line);
    return rc;
}

int main(int argc, char **argv) {
    struct conn c = { .fd = -1, .msg_op = -1 };
    unsigned long sent = 0, got = 0;
    int ok = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: minimal-client HOST PORT [MESSAGE...]\n");
        return 2;
    }
    /* A server that is gone makes write() fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if ((c.fd = connect_to(argv[1], argv[2])) < 0) return 1;
    if (handshake(&c, argv[1], argv[2]) < 0) {
        close(c.fd);
        return 1;
    }
    if (argc > 3) {
        /* One message, then its reply: the output is in the same order. */
        for (int i = 3; i < argc && ok == 0; i++) {
            if (send_text(&c, argv[i], strlen(argv[i]), &sent) < 0) ok = -1;
            while (ok == 0 && got < sent)
                if (next_message(&c) == GOT_MESSAGE)
                    got++;
                else
                    ok = -1;
        }
    } else {
        ok = from_stdin(&c, &sent, &got);
    }
    /* The replies still owed. */
    while (ok == 0 && got < sent)
        if (next_message(&c) == GOT_MESSAGE)
            got++;
        else
            ok = -1;
    if (c.close_got && c.fd >= 0) {
        /* The server closed first: our reply is out; wait for its FIN. */
        uint8_t byte;
        if (wait_readable(c.fd, CLOSE_WAIT_MS) < 0 || read(c.fd, &byte, 1) != 0)
            fprintf(stderr, "minimal-client: the server did not close TCP; closing it ourselves\n");
        close(c.fd);
        c.fd = -1;
    } else if (finish(&c) < 0) {
        ok = -1;
    }
    if (c.fd >= 0) close(c.fd);
    free(c.msg);
    if (got < sent) fprintf(stderr, "minimal-client: %lu of %lu replies\n", got, sent);
    return ok == 0 && got == sent ? 0 : 1;
}

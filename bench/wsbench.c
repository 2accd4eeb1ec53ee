/*
 * wsbench.c -- WebSocket echo load generator: options, worker processes,
 * and the report. The protocol work is in wsb_client.c.
 *
 * Two modes:
 *   load (default)  N connections each keep `depth` messages in flight for
 *                   warm-up + duration seconds; every echo is verified byte
 *                   for byte and its round-trip time goes into a histogram.
 *   idle (--idle S) N connections complete the handshake and then only
 *                   hold; with --server-pid the server's resident memory is
 *                   sampled before and while they are open, to report the
 *                   memory cost of one connection.
 *
 * One process is limited by RLIMIT_NOFILE (raised here to the hard limit),
 * so past that the connections are split over several forked worker
 * processes (--procs, chosen automatically when needed), which this
 * process starts together and whose results it adds up.
 *
 * Output: human-readable lines, then one machine-readable line
 *   RESULT mode=load ... msgs_per_sec=... p50_us=... p99_us=... errors=N
 * Exit status: 0 if every connection opened and no error was seen, 1 if
 * any error (verification, handshake, protocol, timeout...), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsb_base64.h"
#include "wsb_client.h"
#include "wsb_deflate.h"
#include "wsb_hist.h"
#include "wsb_pattern.h"
#include "wsb_proc.h"
#include "wsb_sha1.h"

#define MAX_PROCS   64
#define FD_HEADROOM 32 /* descriptors a worker needs besides its sockets */

static void usage(FILE *f) {
    fputs("usage: wsbench [options]\n"
          "\n"
          "WebSocket (RFC 6455) echo benchmark client. Opens --conns connections to a\n"
          "server that echoes every message, keeps --depth messages in flight on each,\n"
          "verifies every echoed byte, and reports messages/s and latency percentiles.\n"
          "\n"
          "Target:\n"
          "  --host ADDR         server IPv4/IPv6 address (default 127.0.0.1)\n"
          "  --port N            server port (default 8080)\n"
          "  --path PATH         request-target of the handshake GET (default /)\n"
          "\n"
          "Load:\n"
          "  -c, --conns N       connections (default 1)\n"
          "  -s, --size BYTES    payload bytes per message; K, M, G suffixes = KiB,\n"
          "                      MiB, GiB\n"
          "                      (default 32, at most 1G)\n"
          "      --text          send text messages (default); payload is ASCII\n"
          "      --binary        send binary messages\n"
          "      --deflate       offer permessage-deflate (RFC 7692, no context\n"
          "                      takeover) and send 16 different chat-like JSON\n"
          "                      payloads, compressed once with zlib; the server must\n"
          "                      accept, and every echo is checked (inflated, or equal\n"
          "                      to an echo already inflated and checked)\n"
          "  -d, --depth N       messages in flight per connection (default 1)\n"
          "  -t, --duration SEC  measured seconds (default 5)\n"
          "  -w, --warmup SEC    seconds of load before measuring starts (default 1)\n"
          "\n"
          "Idle (memory per connection):\n"
          "      --idle SEC      idle mode: open --conns connections, complete the\n"
          "                      handshake, hold them SEC seconds, close them\n"
          "      --server-pid PID  sample VmRSS of PID and its descendants before the\n"
          "                      connections open and --settle seconds after all are open\n"
          "      --settle SEC    wait before the memory sample (default 2)\n"
          "\n"
          "Connections:\n"
          "      --src FIRST-LAST  spread source addresses over this IPv4 range, one\n"
          "                      bind() per socket (default 127.0.0.2-127.0.0.250 when\n"
          "                      the host is in 127.0.0.0/8); lifts the ~28k ephemeral\n"
          "                      port limit of a single source address\n"
          "      --src none      do not bind; let the kernel pick the source address\n"
          "      --procs N       worker processes (default: as few as RLIMIT_NOFILE\n"
          "                      allows, usually 1); connections are split evenly\n"
          "      --max-pending N connects + handshakes in progress at once, per\n"
          "                      process (default 256)\n"
          "      --busy-poll     during the load, poll with epoll_wait(timeout 0)\n"
          "                      instead of sleeping: costs a whole CPU, but keeps the\n"
          "                      client's own wake-up latency out of the figures\n"
          "      --timeout SEC   limit for connect + handshake of one connection, for\n"
          "                      the last echoes after the run, and for the closing\n"
          "                      handshake (default 10)\n"
          "\n"
          "Other:\n"
          "  -q, --quiet         print only the RESULT line (and errors)\n"
          "      --self-test     check SHA-1, base64, the Sec-WebSocket-Accept\n"
          "                      computation, the payload pattern and the histogram\n"
          "  -h, --help          this text\n"
          "\n"
          "Output: human-readable lines, then one line\n"
          "  RESULT mode=load conns=.. msgs_per_sec=.. p50_us=.. p90_us=.. p99_us=..\n"
          "         p999_us=.. max_us=.. errors=..\n"
          "or, in idle mode,\n"
          "  RESULT mode=idle conns=.. open=.. rss_before_kb=.. rss_after_kb=..\n"
          "         bytes_per_conn=.. errors=..\n"
          "Exit status: 0 = all connections opened and no errors, 1 = errors, 2 = usage.\n",
          f);
}

/* ---- Option parsing ----------------------------------------------------- */

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    char *end;
    unsigned long long v;

    errno = 0;
    if (*s < '0' || *s > '9') return -1;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

/* "32", "16K", "16KiB", "1M", "1MiB" (binary units). */
static int parse_size(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    errno = 0;
    if (*s < '0' || *s > '9') return -1;
    v = strtoull(s, &end, 10);
    if (errno) return -1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024 * 1024 * 1024, end++;
    if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)) end += strlen(end);
    if (*end || v > (1ull << 30) / mul) return -1;
    *out = v * mul;
    return 0;
}

static int parse_seconds(const char *s, double *out) {
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= 0) || v > 86400) return -1;
    *out = v;
    return 0;
}

static int parse_src(const char *s, struct wsb_config *cfg) {
    char a[32], b[32];
    const char *dash = strchr(s, '-');
    struct in_addr ia, ib;

    if (strcmp(s, "none") == 0) {
        cfg->spread = 0;
        return 0;
    }
    if (!dash || (size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b)) return -1;
    memcpy(a, s, (size_t)(dash - s));
    a[dash - s] = '\0';
    strcpy(b, dash + 1);
    if (inet_pton(AF_INET, a, &ia) != 1 || inet_pton(AF_INET, b, &ib) != 1) return -1;
    cfg->src_first = ntohl(ia.s_addr);
    cfg->src_last = ntohl(ib.s_addr);
    if (cfg->src_last < cfg->src_first) return -1;
    cfg->spread = 1;
    return 0;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_PATH,
    OPT_TEXT,
    OPT_BINARY,
    OPT_IDLE,
    OPT_SERVER_PID,
    OPT_SETTLE,
    OPT_SRC,
    OPT_PROCS,
    OPT_MAX_PENDING,
    OPT_TIMEOUT,
    OPT_BUSY_POLL,
    OPT_DEFLATE,
    OPT_SELF_TEST
};

static const struct option long_opts[] = {
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "path", required_argument, NULL, OPT_PATH },
    { "conns", required_argument, NULL, 'c' },
    { "size", required_argument, NULL, 's' },
    { "text", no_argument, NULL, OPT_TEXT },
    { "binary", no_argument, NULL, OPT_BINARY },
    { "deflate", no_argument, NULL, OPT_DEFLATE },
    { "depth", required_argument, NULL, 'd' },
    { "duration", required_argument, NULL, 't' },
    { "warmup", required_argument, NULL, 'w' },
    { "idle", required_argument, NULL, OPT_IDLE },
    { "server-pid", required_argument, NULL, OPT_SERVER_PID },
    { "settle", required_argument, NULL, OPT_SETTLE },
    { "src", required_argument, NULL, OPT_SRC },
    { "procs", required_argument, NULL, OPT_PROCS },
    { "max-pending", required_argument, NULL, OPT_MAX_PENDING },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "busy-poll", no_argument, NULL, OPT_BUSY_POLL },
    { "quiet", no_argument, NULL, 'q' },
    { "self-test", no_argument, NULL, OPT_SELF_TEST },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *arg) {
    fprintf(stderr, "wsbench: invalid value for %s: '%s' (see --help)\n", opt, arg);
    return -1;
}

/* Fill cfg from argv. Returns 0, 1 for "--help/--self-test done", -1 on error. */
static int parse_args(int argc, char **argv, struct wsb_config *cfg, int *self_test) {
    const char *host = "127.0.0.1";
    uint64_t port = 8080, v;
    int src_given = 0, ch;

    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->path, "/");
    cfg->conns = 1;
    cfg->size = 32;
    cfg->text = 1;
    cfg->depth = 1;
    cfg->duration = 5;
    cfg->warmup = 1;
    cfg->timeout = 10;
    cfg->max_pending = 256;
    cfg->settle = 2;
    *self_test = 0;

    while ((ch = getopt_long(argc, argv, "c:s:d:t:w:qh", long_opts, NULL)) != -1) {
        switch (ch) {
        case OPT_HOST: host = optarg; break;
        case OPT_PORT:
            if (parse_u64(optarg, 65535, &port) < 0 || port == 0) return bad("--port", optarg);
            break;
        case OPT_PATH:
            if (optarg[0] != '/' || strlen(optarg) > WSB_MAX_PATH || strpbrk(optarg, " \r\n\t"))
                return bad("--path", optarg);
            strcpy(cfg->path, optarg);
            break;
        case 'c':
            if (parse_u64(optarg, 1u << 24, &v) < 0 || v == 0) return bad("--conns", optarg);
            cfg->conns = (uint32_t)v;
            break;
        case 's':
            if (parse_size(optarg, &cfg->size) < 0) return bad("--size", optarg);
            break;
        case OPT_TEXT: cfg->text = 1; break;
        case OPT_BINARY: cfg->text = 0; break;
        case OPT_DEFLATE: cfg->deflate = 1; break;
        case 'd':
            if (parse_u64(optarg, 1u << 16, &v) < 0 || v == 0) return bad("--depth", optarg);
            cfg->depth = (uint32_t)v;
            break;
        case 't':
            if (parse_seconds(optarg, &cfg->duration) < 0 || cfg->duration <= 0)
                return bad("--duration", optarg);
            break;
        case 'w':
            if (parse_seconds(optarg, &cfg->warmup) < 0) return bad("--warmup", optarg);
            break;
        case OPT_IDLE:
            if (parse_seconds(optarg, &cfg->hold) < 0) return bad("--idle", optarg);
            cfg->idle = 1;
            break;
        case OPT_SERVER_PID:
            if (parse_u64(optarg, 1u << 30, &v) < 0 || v == 0) return bad("--server-pid", optarg);
            cfg->server_pid = (pid_t)v;
            break;
        case OPT_SETTLE:
            if (parse_seconds(optarg, &cfg->settle) < 0) return bad("--settle", optarg);
            break;
        case OPT_SRC:
            if (parse_src(optarg, cfg) < 0) return bad("--src", optarg);
            src_given = 1;
            break;
        case OPT_PROCS:
            if (parse_u64(optarg, MAX_PROCS, &v) < 0 || v == 0) return bad("--procs", optarg);
            cfg->procs = (uint32_t)v;
            break;
        case OPT_MAX_PENDING:
            if (parse_u64(optarg, 1u << 20, &v) < 0 || v == 0) return bad("--max-pending", optarg);
            cfg->max_pending = (uint32_t)v;
            break;
        case OPT_TIMEOUT:
            if (parse_seconds(optarg, &cfg->timeout) < 0 || cfg->timeout <= 0)
                return bad("--timeout", optarg);
            break;
        case OPT_BUSY_POLL: cfg->busy_poll = 1; break;
        case 'q': cfg->quiet = 1; break;
        case OPT_SELF_TEST: *self_test = 1; return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "wsbench: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }

    /* The server address, and the Host header that names it (§4.1 item 4). */
    struct sockaddr_in *a4 = (struct sockaddr_in *)&cfg->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&cfg->addr;

    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        cfg->addrlen = sizeof(*a4);
        snprintf(cfg->host_header, sizeof(cfg->host_header), "%s:%u", host, (unsigned)port);
        /* Default source spread: only inside loopback, where every
         * 127.x.y.z is a local address. */
        if (!src_given && (ntohl(a4->sin_addr.s_addr) >> 24) == 127)
            parse_src("127.0.0.2-127.0.0.250", cfg);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        cfg->addrlen = sizeof(*a6);
        snprintf(cfg->host_header, sizeof(cfg->host_header), "[%s]:%u", host, (unsigned)port);
        if (cfg->spread) {
            fprintf(stderr, "wsbench: --src needs an IPv4 --host\n");
            return -1;
        }
    } else {
        return bad("--host", host);
    }
    return 0;
}

/* ---- Self-test ------------------------------------------------------------ */

static int check(int ok, const char *what, int *passed, int *failed) {
    if (ok) {
        (*passed)++;
    } else {
        (*failed)++;
        fprintf(stderr, "self-test FAILED: %s\n", what);
    }
    return ok;
}

static void hex(const uint8_t *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static int self_test(void) {
    int passed = 0, failed = 0;
    uint8_t dg[20];
    char out[64];

    /* FIPS 180 examples. */
    static const struct {
        const char *in, *hex;
    } sha[] = {
        { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    };
    for (size_t i = 0; i < sizeof(sha) / sizeof(sha[0]); i++) {
        wsb_sha1(sha[i].in, strlen(sha[i].in), dg);
        hex(dg, 20, out);
        check(strcmp(out, sha[i].hex) == 0, "SHA-1 FIPS 180 vector", &passed, &failed);
    }
    /* One million 'a', fed in uneven pieces. */
    {
        struct wsb_sha1 s;
        char a[997];

        memset(a, 'a', sizeof(a));
        wsb_sha1_init(&s);
        for (size_t left = 1000000; left > 0;) {
            size_t k = left < sizeof(a) ? left : sizeof(a);

            wsb_sha1_update(&s, a, k);
            left -= k;
        }
        wsb_sha1_final(&s, dg);
        hex(dg, 20, out);
        check(strcmp(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0,
              "SHA-1 of a million 'a'", &passed, &failed);
    }
    /* RFC 4648 §10. */
    static const struct {
        const char *in, *out;
    } b64[] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
        wsb_base64_encode((const uint8_t *)b64[i].in, strlen(b64[i].in), out);
        check(strcmp(out, b64[i].out) == 0, "base64 RFC 4648 vector", &passed, &failed);
    }
    /* RFC 6455 §1.3: the sample key and its Sec-WebSocket-Accept. */
    {
        const char *k = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

        wsb_sha1(k, strlen(k), dg);
        wsb_base64_encode(dg, 20, out);
        check(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
              "RFC 6455 §1.3 Sec-WebSocket-Accept", &passed, &failed);
    }
    /* Pattern: unmask a filled payload and check it at every split. */
    for (int text = 0; text <= 1; text++) {
        uint8_t buf[203], mask[4] = { 0x12, 0x34, 0xab, 0xcd };
        uint64_t base = wsb_pattern_base(0x5eed, 7, 42);
        int ok = 1;

        wsb_pattern_fill_masked(buf, sizeof(buf), base, text, mask);
        for (size_t i = 0; i < sizeof(buf); i++) buf[i] ^= mask[i % 4];
        for (size_t split = 0; split <= sizeof(buf); split++) {
            if (wsb_pattern_check(buf, split, base, 0, text) != -1 ||
                wsb_pattern_check(buf + split, sizeof(buf) - split, base, split, text) != -1)
                ok = 0;
        }
        if (text)
            for (size_t i = 0; i < sizeof(buf); i++)
                if (buf[i] < 0x20 || buf[i] > 0x5f) ok = 0;
        check(ok, "pattern round trip at every split", &passed, &failed);
        buf[150] ^= 1;
        check(wsb_pattern_check(buf + 3, sizeof(buf) - 3, base, 3, text) == 147,
              "pattern finds a flipped bit", &passed, &failed);
        check(wsb_pattern_check(buf, 8, wsb_pattern_base(0x5eed, 7, 43), 0, text) >= 0 &&
                  wsb_pattern_check(buf, 8, wsb_pattern_base(0x5eed, 8, 42), 0, text) >= 0,
              "pattern tells messages and connections apart", &passed, &failed);
    }
    /* Histogram: 1..100000 ns uniformly; quantiles within 1 %. */
    {
        static struct wsb_hist h;
        int ok = 1;

        wsb_hist_reset(&h);
        for (uint64_t v = 1; v <= 100000; v++) wsb_hist_record(&h, v);
        static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
            double want = qs[i] * 100000, got = (double)wsb_hist_quantile(&h, qs[i]);

            if (fabs(got - want) > want * 0.01) ok = 0;
        }
        ok = ok && wsb_hist_quantile(&h, 1.0) == 100000 && h.min == 1 && h.max == 100000;
        check(ok, "histogram quantiles within 1 %", &passed, &failed);
    }
    printf("self-test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* ---- Coordinator ------------------------------------------------------------ */

struct child {
    pid_t pid;
    int ctl; /* write end: 'G' / 'E' */
    int res; /* read end: 'R', then struct wsb_result */
    int ready;
    int done;
    struct wsb_result r;
};

static double now_s(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
    struct timespec ts;

    if (s <= 0) return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int read_full(int fd, void *buf, size_t len) {
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);

        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_all(struct child *ch, uint32_t n, char cmd) {
    for (uint32_t i = 0; i < n; i++)
        if (ch[i].ctl >= 0 && write(ch[i].ctl, &cmd, 1) != 1) {
            close(ch[i].ctl);
            ch[i].ctl = -1;
        }
}

/* Wait until every live child has sent 'R'. Returns -1 if one died first. */
static int wait_ready(struct child *ch, uint32_t n) {
    struct pollfd pfd[MAX_PROCS];
    uint32_t ready = 0;

    while (ready < n) {
        for (uint32_t i = 0; i < n; i++) {
            pfd[i].fd = ch[i].ready ? -1 : ch[i].res;
            pfd[i].events = POLLIN;
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        for (uint32_t i = 0; i < n; i++) {
            char b;

            if (!pfd[i].revents) continue;
            if (read(ch[i].res, &b, 1) != 1 || b != 'R') return -1;
            ch[i].ready = 1;
            ready++;
        }
    }
    return 0;
}

static uint32_t fd_budget(void) {
    struct rlimit rl;

    /* Sockets are file descriptors: take all the kernel allows us. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
    if (rl.rlim_cur <= FD_HEADROOM * 2) return FD_HEADROOM;
    return rl.rlim_cur > (1u << 24) ? 1u << 24 : (uint32_t)rl.rlim_cur - FD_HEADROOM;
}

static double us(uint64_t ns) { return (double)ns / 1000.0; }

int main(int argc, char **argv) {
    static struct wsb_config cfg;
    static struct child ch[MAX_PROCS];
    static struct wsb_result total;
    int self, rc = parse_args(argc, argv, &cfg, &self);

    if (rc < 0) return 2;
    if (rc > 0) return self ? self_test() : 0;

    signal(SIGPIPE, SIG_IGN);
    if (getrandom(&cfg.salt, sizeof(cfg.salt), 0) != (ssize_t)sizeof(cfg.salt)) {
        perror("wsbench: getrandom");
        return 1;
    }

    /* How many processes the file-descriptor limit forces on us. */
    uint32_t per_proc = fd_budget();
    uint32_t need = (cfg.conns + per_proc - 1) / per_proc;

    if (cfg.procs == 0) cfg.procs = need;
    if (cfg.procs < need) {
        fprintf(stderr,
                "wsbench: %u connections need at least %u processes "
                "(RLIMIT_NOFILE); using %u\n",
                cfg.conns, need, need);
        cfg.procs = need;
    }
    if (cfg.procs > MAX_PROCS) {
        fprintf(stderr, "wsbench: would need %u processes, at most %d\n", cfg.procs, MAX_PROCS);
        return 2;
    }
    if (cfg.procs > cfg.conns) cfg.procs = cfg.conns;

    long rss_before = -1, rss_after = -1;
    int server_procs = 0;

    if (cfg.server_pid > 0) {
        rss_before = wsb_proc_tree_rss_kb(cfg.server_pid, &server_procs);
        if (rss_before < 0) {
            fprintf(stderr, "wsbench: cannot read /proc/%d/status\n", (int)cfg.server_pid);
            return 2;
        }
    }

    /* Start the workers; worker i gets a contiguous block of ids. */
    fflush(NULL);
    for (uint32_t i = 0; i < cfg.procs; i++) {
        int ctl[2], res[2];
        uint32_t first = (uint32_t)((uint64_t)cfg.conns * i / cfg.procs);
        uint32_t last = (uint32_t)((uint64_t)cfg.conns * (i + 1) / cfg.procs);

        if (pipe2(ctl, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
            perror("wsbench: pipe");
            return 1;
        }
        pid_t pid = fork();

        if (pid < 0) {
            perror("wsbench: fork");
            return 1;
        }
        if (pid == 0) {
            close(ctl[1]);
            close(res[0]);
            for (uint32_t j = 0; j < i; j++) {
                close(ch[j].ctl);
                close(ch[j].res);
            }
            _exit(wsb_worker_run(&cfg, first, last - first, ctl[0], res[1]));
        }
        close(ctl[0]);
        close(res[1]);
        ch[i].pid = pid;
        ch[i].ctl = ctl[1];
        ch[i].res = res[0];
    }

    double t0 = now_s();
    int broken = wait_ready(ch, cfg.procs) < 0;

    if (broken) {
        fprintf(stderr, "wsbench: a worker process died during set-up\n");
    } else if (cfg.idle) {
        double t_ready = now_s();

        if (!cfg.quiet)
            printf("wsbench: all connections attempted in %.2f s; holding %.1f s\n", t_ready - t0,
                   cfg.hold > cfg.settle ? cfg.hold : cfg.settle);
        if (cfg.server_pid > 0) {
            sleep_s(cfg.settle);
            rss_after = wsb_proc_tree_rss_kb(cfg.server_pid, &server_procs);
        }
        sleep_s(t_ready + cfg.hold - now_s());
        send_all(ch, cfg.procs, 'E');
    } else {
        send_all(ch, cfg.procs, 'G');
    }
    /* Closing the control pipes tells any worker still waiting to finish. */
    if (broken) send_all(ch, cfg.procs, 'E');

    /* Collect and add up the results. */
    wsb_hist_reset(&total.hist);
    double rate = 0;
    int lost = 0;

    for (uint32_t i = 0; i < cfg.procs; i++) {
        struct wsb_result *r = &ch[i].r;
        char b;

        if (!ch[i].ready && read_full(ch[i].res, &b, 1) < 0) {
            lost++;
        } else if (read_full(ch[i].res, r, sizeof(*r)) < 0) {
            lost++;
        } else {
            total.opened += r->opened;
            total.connect_failed += r->connect_failed;
            total.handshake_failed += r->handshake_failed;
            total.verify_errors += r->verify_errors;
            total.protocol_errors += r->protocol_errors;
            total.unexpected_close += r->unexpected_close;
            total.io_errors += r->io_errors;
            total.timeouts += r->timeouts;
            total.close_failed += r->close_failed;
            total.msgs += r->msgs;
            total.total_msgs += r->total_msgs;
            total.pings += r->pings;
            if (r->seconds > total.seconds) total.seconds = r->seconds;
            if (r->connect_seconds > total.connect_seconds)
                total.connect_seconds = r->connect_seconds;
            wsb_hist_merge(&total.hist, &r->hist);
            if (r->seconds > 0) rate += (double)r->msgs / r->seconds;
        }
        close(ch[i].res);
        if (ch[i].ctl >= 0) close(ch[i].ctl);
    }
    for (uint32_t i = 0; i < cfg.procs; i++) {
        int st;

        while (waitpid(ch[i].pid, &st, 0) < 0 && errno == EINTR)
            ;
    }

    uint64_t errors = wsb_result_errors(&total) + (uint64_t)lost;
    const struct wsb_hist *h = &total.hist;

    if (cfg.idle) {
        double per_conn = (rss_after >= 0 && total.opened > 0)
                              ? (double)(rss_after - rss_before) * 1024.0 / (double)total.opened
                              : -1;

        if (!cfg.quiet) {
            printf("wsbench: idle: %llu of %u connections open after %.2f s\n",
                   (unsigned long long)total.opened, cfg.conns, total.connect_seconds);
            if (cfg.server_pid > 0)
                printf("wsbench: server RSS (%d processes) %ld KiB before, %ld KiB "
                       "with the connections open: %.0f bytes per connection\n",
                       server_procs, rss_before, rss_after, per_conn);
        }
        printf("RESULT mode=idle conns=%u open=%llu procs=%u connect_seconds=%.2f "
               "hold_seconds=%.1f server_procs=%d rss_before_kb=%ld rss_after_kb=%ld "
               "bytes_per_conn=%.0f",
               cfg.conns, (unsigned long long)total.opened, cfg.procs, total.connect_seconds,
               cfg.hold, server_procs, rss_before, rss_after, per_conn);
    } else {
        double mib = rate * (double)cfg.size / (1024.0 * 1024.0);
        double wire = (double)cfg.size; /* mean payload bytes a message is sent as */

        if (cfg.deflate) {
            /* The workers each compressed the same set; do it once more
             * here for the figure. */
            struct wsb_zset zs;

            if (wsb_zset_init(&zs, (size_t)cfg.size, cfg.text) == 0) {
                wire = 0;
                for (unsigned k = 0; k < WSB_ZSET; k++) wire += (double)zs.zlen[k] / WSB_ZSET;
            }
            wsb_zset_free(&zs);
        }

        if (!cfg.quiet) {
            printf("wsbench: %u conns x %llu B %s%s, depth %u, %.2f s measured after "
                   "%.1f s warm-up\n",
                   cfg.conns, (unsigned long long)cfg.size, cfg.text ? "text" : "binary",
                   cfg.deflate ? " (compressed)" : "", cfg.depth, total.seconds, cfg.warmup);
            if (cfg.deflate)
                printf("wsbench: each message is sent as %.0f bytes of DEFLATE (%.1f%%)\n", wire,
                       cfg.size ? 100.0 * wire / (double)cfg.size : 0.0);
            printf("wsbench: %.0f msg/s (%.2f MiB/s each way); latency us: p50 %.1f "
                   "p90 %.1f p99 %.1f p99.9 %.1f max %.1f\n",
                   rate, mib, us(wsb_hist_quantile(h, 0.5)), us(wsb_hist_quantile(h, 0.9)),
                   us(wsb_hist_quantile(h, 0.99)), us(wsb_hist_quantile(h, 0.999)), us(h->max));
        }
        printf(
            "RESULT mode=load conns=%u open=%llu size=%llu type=%s depth=%u procs=%u "
            "deflate=%d sent_bytes=%.0f seconds=%.3f msgs=%llu msgs_per_sec=%.0f mib_per_sec=%.2f "
            "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
            "mean_us=%.1f total_msgs=%llu",
            cfg.conns, (unsigned long long)total.opened, (unsigned long long)cfg.size,
            cfg.text ? "text" : "binary", cfg.depth, cfg.procs, cfg.deflate, wire, total.seconds,
            (unsigned long long)total.msgs, rate, mib, us(wsb_hist_quantile(h, 0.5)),
            us(wsb_hist_quantile(h, 0.9)), us(wsb_hist_quantile(h, 0.99)),
            us(wsb_hist_quantile(h, 0.999)), us(h->max), h->count ? us(h->sum / h->count) : 0.0,
            (unsigned long long)total.total_msgs);
    }
    printf(" pings=%llu errors=%llu err_connect=%llu err_handshake=%llu err_verify=%llu "
           "err_protocol=%llu err_closed=%llu err_io=%llu err_timeout=%llu err_close=%llu\n",
           (unsigned long long)total.pings, (unsigned long long)errors,
           (unsigned long long)total.connect_failed, (unsigned long long)total.handshake_failed,
           (unsigned long long)total.verify_errors, (unsigned long long)total.protocol_errors,
           (unsigned long long)total.unexpected_close, (unsigned long long)total.io_errors,
           (unsigned long long)total.timeouts, (unsigned long long)total.close_failed);
    if (lost) fprintf(stderr, "wsbench: %d worker process(es) died without a result\n", lost);
    return (errors == 0 && total.opened == cfg.conns) ? 0 : 1;
}

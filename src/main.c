/*
 * main.c -- command line, logging set-up, then ws_server_run().
 *
 * No logic lives here: every option fills one field of ws_server_config,
 * whose defaults come from ws_server_config_defaults(), so --help, the
 * README and the code cannot disagree about them for long. main picks the
 * handler by name (the server itself knows none), and checks the whole
 * configuration before anything starts: a usage error exits 2 and never
 * forks a worker.
 */
#include "handlers.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WS6455_VERSION "1.1.0"

/* Where `make install` puts the page (Makefile: PREFIX/share/ws6455). */
#ifndef WS6455_DATADIR
#define WS6455_DATADIR "/usr/local/share/ws6455"
#endif

#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "an unknown C11 compiler"
#endif

static const char *const deflate_modes[] = { "off", "shared", "dedicated" };

/* clang-format off */
static void usage(FILE *out, const ws_server_config *d) {
    fprintf(out,
"Usage: ws6455 [OPTION]...\n"
"A WebSocket (RFC 6455) echo server. Plain HTTP GETs get the HTML client.\n"
"\n"
"  --host ADDR              listen address, IPv4 or IPv6 (default %s)\n"
"  --port N                 TCP port (default %u; 0 picks a free one)\n"
"  --client-dir DIR         files for plain GETs, / is index.html (default: the\n"
"                           page installed with the binary, or the source\n"
"                           tree's client/ for build/ws6455: here %s)\n"
"  --handler NAME           %s (default %s)\n"
"  --workers N              worker processes on one port (default %u = CPUs)\n"
"  --max-message BYTES      largest message, else close 1009 (default %zu)\n"
"  --max-fragments N        most frames in one message, else 1009 (default %u)\n"
"  --max-header BYTES       largest HTTP request head, else 431 (default %zu)\n"
"  --max-queue BYTES        output queued per connection before it is no\n"
"                           longer read; a connection holds at most this plus\n"
"                           one 256 KiB read buffer of output (default %zu)\n"
"  --max-connections N      per worker, else 503 (default %u)\n"
"  --max-memory BYTES       the worker's memory budget for everything held for\n"
"                           peers; over it, the connections holding the most\n"
"                           and progressing the least are closed with 1013 and\n"
"                           new ones get 503; 0 = none (default %zu)\n"
"  --handshake-timeout SEC  to send the request head, else 408; 0 = no limit\n"
"                           (default %g)\n"
"  --ping-interval SEC      silence before a keep-alive ping, 0 = never (default %g)\n"
"  --ping-timeout SEC       wait for any reply to it, then close 1001; 0 = no\n"
"                           limit (default %g)\n"
"  --close-timeout SEC      wait for the peer's close frame / FIN, or for it to\n"
"                           take a final response; 0 = next sweep (default %g)\n"
"  --message-timeout SEC    an unfinished message or frame with no payload\n"
"                           arriving for this long: close 1008; 0 = no limit\n"
"                           (default %g)\n"
"  --send-timeout SEC       drop a peer that leaves output unread; 0 = no limit\n"
"                           (default %g)\n"
"  --shutdown-timeout SEC   on SIGTERM/SIGINT, wait for close replies (default %g)\n"
"  --trust-proxy ADDRS      comma-separated proxy addresses or CIDR ranges\n"
"                           (127.0.0.0/8,::1) whose X-Forwarded-For, when it is\n"
"                           an address, is logged as the client (default none)\n"
"  --busy-poll USEC         after traffic, poll without sleeping for up to USEC\n"
"                           microseconds: lower latency, more CPU (default %u = off)\n",
            d->host, d->port, d->client_dir, ws_handler_names(), d->handler->name, d->workers,
            d->max_message, d->max_fragments, d->max_header, d->max_queue, d->max_connections,
            d->max_memory, d->handshake_timeout / 1000.0, d->ping_interval / 1000.0,
            d->ping_timeout / 1000.0, d->close_timeout / 1000.0, d->message_timeout / 1000.0,
            d->send_timeout / 1000.0, d->shutdown_timeout / 1000.0, d->busy_poll);
    fprintf(out,
"  --deflate MODE           permessage-deflate (RFC 7692): off; shared (no\n"
"                           context kept between messages, so one compressor\n"
"                           per worker serves all: an idle connection costs\n"
"                           nothing); dedicated (context kept: smaller, but a\n"
"                           window per direction per connection) (default %s)\n"
"  --deflate-level N        1 fast .. 9 small (default %u)\n"
"  --deflate-window BITS    largest LZ77 window, 8..15 (default %u)\n"
"  --deflate-threshold BYTES  shorter messages go uncompressed (default %zu)\n"
"  --subprotocol LIST       subprotocols spoken, comma-separated; a client\n"
"                           offering some gets its first choice of these, *\n"
"                           accepts any; no match: no subprotocol, which\n"
"                           clients that asked treat as failure (default %s)\n"
"  --allow-origin LIST      browser Origins allowed to connect, comma-separated\n"
"                           (https://example.com, https://*.example.com, null);\n"
"                           others get 403; requests without Origin are allowed\n"
"                           (default: any origin)\n"
"  --stats-interval SEC     log a stats line (connections, memory by kind)\n"
"                           this often; 0 = only on SIGUSR1 (default %g)\n"
"  --log-level LEVEL        error, warn, info or debug (default info)\n"
"  --log-format FORMAT      text (one sentence a line) or json (one object a\n"
"                           line, with fields, for journald and log shippers)\n"
"                           (default text)\n"
"  -h, --help               this text\n"
"  -V, --version            the version, and how this binary was built\n"
"\n"
"BYTES accept a K, M or G suffix (powers of 1024); SEC may have decimals.\n"
"Logs go to stderr. SIGTERM or SIGINT closes every connection with 1001 and\n"
"exits; a second SIGINT exits at once. SIGUSR1 logs a stats line; SIGHUP is\n"
"logged and ignored.\n"
"\n"
"Exit status: 0 after a clean shutdown (or --help, --version), 1 if the\n"
"server could not start (port in use, ...), 2 for a usage error (found\n"
"before anything starts).\n",
            deflate_modes[d->deflate], d->deflate_level, d->deflate_window, d->deflate_threshold,
            d->subprotocols, d->stats_interval / 1000.0);
}
/* clang-format on */

static int bad(const char *opt, const char *arg) {
    fprintf(stderr, "ws6455: invalid value for --%s: '%s' (see --help)\n", opt, arg);
    return -1;
}

/* "16M" -> 16777216; at most max. */
static int parse_size(const char *opt, const char *s, unsigned long long max, size_t *out) {
    char *end;
    unsigned long long v;
    errno = 0;
    if (*s == '-') return bad(opt, s);
    v = strtoull(s, &end, 10);
    if (errno || end == s) return bad(opt, s);
    switch (*end) {
    case 'K':
    case 'k':
        v <<= 10;
        end++;
        break;
    case 'M':
    case 'm':
        v <<= 20;
        end++;
        break;
    case 'G':
    case 'g':
        v <<= 30;
        end++;
        break;
    default: break;
    }
    if (*end || v > max) return bad(opt, s);
    *out = (size_t)v;
    return 0;
}

static int parse_uint(const char *opt, const char *s, unsigned long long max, unsigned *out) {
    size_t v;
    char *end;
    errno = 0;
    v = (size_t)strtoull(s, &end, 10);
    if (*s == '-' || errno || end == s || *end || v > max) return bad(opt, s);
    *out = (unsigned)v;
    return 0;
}

/* Seconds with decimals -> milliseconds. */
static int parse_seconds(const char *opt, const char *s, unsigned *ms) {
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400.0 * 24) return bad(opt, s);
    *ms = (unsigned)(v * 1000.0 + 0.5);
    return 0;
}

/* clang-format off */
enum {
    O_HOST = 1, O_PORT, O_CLIENT_DIR, O_HANDLER, O_WORKERS, O_MAX_MESSAGE, O_MAX_FRAGMENTS,
    O_MAX_HEADER, O_MAX_QUEUE, O_MAX_CONNECTIONS, O_HANDSHAKE_TIMEOUT, O_PING_INTERVAL,
    O_PING_TIMEOUT, O_CLOSE_TIMEOUT, O_SEND_TIMEOUT, O_SHUTDOWN_TIMEOUT, O_TRUST_PROXY,
    O_BUSY_POLL, O_LOG_LEVEL, O_MAX_MEMORY, O_MESSAGE_TIMEOUT, O_STATS_INTERVAL, O_DEFLATE,
    O_DEFLATE_LEVEL, O_DEFLATE_WINDOW, O_DEFLATE_THRESHOLD, O_SUBPROTOCOL, O_ALLOW_ORIGIN,
    O_LOG_FORMAT, O_HELP, O_VERSION
};
/* clang-format on */

static const struct option options[] = {
    { "host", required_argument, NULL, O_HOST },
    { "port", required_argument, NULL, O_PORT },
    { "client-dir", required_argument, NULL, O_CLIENT_DIR },
    { "handler", required_argument, NULL, O_HANDLER },
    { "workers", required_argument, NULL, O_WORKERS },
    { "max-message", required_argument, NULL, O_MAX_MESSAGE },
    { "max-fragments", required_argument, NULL, O_MAX_FRAGMENTS },
    { "max-header", required_argument, NULL, O_MAX_HEADER },
    { "max-queue", required_argument, NULL, O_MAX_QUEUE },
    { "max-connections", required_argument, NULL, O_MAX_CONNECTIONS },
    { "handshake-timeout", required_argument, NULL, O_HANDSHAKE_TIMEOUT },
    { "ping-interval", required_argument, NULL, O_PING_INTERVAL },
    { "ping-timeout", required_argument, NULL, O_PING_TIMEOUT },
    { "close-timeout", required_argument, NULL, O_CLOSE_TIMEOUT },
    { "send-timeout", required_argument, NULL, O_SEND_TIMEOUT },
    { "shutdown-timeout", required_argument, NULL, O_SHUTDOWN_TIMEOUT },
    { "trust-proxy", required_argument, NULL, O_TRUST_PROXY },
    { "busy-poll", required_argument, NULL, O_BUSY_POLL },
    { "log-level", required_argument, NULL, O_LOG_LEVEL },
    { "max-memory", required_argument, NULL, O_MAX_MEMORY },
    { "message-timeout", required_argument, NULL, O_MESSAGE_TIMEOUT },
    { "stats-interval", required_argument, NULL, O_STATS_INTERVAL },
    { "deflate", required_argument, NULL, O_DEFLATE },
    { "deflate-level", required_argument, NULL, O_DEFLATE_LEVEL },
    { "deflate-window", required_argument, NULL, O_DEFLATE_WINDOW },
    { "deflate-threshold", required_argument, NULL, O_DEFLATE_THRESHOLD },
    { "subprotocol", required_argument, NULL, O_SUBPROTOCOL },
    { "allow-origin", required_argument, NULL, O_ALLOW_ORIGIN },
    { "log-format", required_argument, NULL, O_LOG_FORMAT },
    { "help", no_argument, NULL, O_HELP },
    { "version", no_argument, NULL, O_VERSION },
    { NULL, 0, NULL, 0 }
};

/* __DATE__ ("Nov 28 2026") as ISO 8601 ("2026-11-28"). */
static const char *iso_date(const char *d) {
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static char out[16];
    const char *m = strstr(months, (char[4]){ d[0], d[1], d[2], '\0' });
    unsigned month = m ? (unsigned)(m - months) / 3 + 1 : 0, day = (unsigned)atoi(d + 4) % 100;
    snprintf(out, sizeof(out), "%.4s-%02u-%02u", d + 7, month % 100, day);
    return out;
}

static int parse_args(int argc, char **argv, ws_server_config *cfg) {
    ws_server_config defaults = *cfg;
    int opt, rc = 0;
    unsigned u;

    while (rc == 0 && (opt = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
        if (opt == 'h') opt = O_HELP;
        if (opt == 'V') opt = O_VERSION;
        const char *name = opt > 0 && opt <= O_VERSION ? options[opt - 1].name : "?";
        switch (opt) {
        case O_HOST: cfg->host = optarg; break;
        case O_PORT:
            rc = parse_uint(name, optarg, 65535, &u);
            cfg->port = u;
            break;
        case O_CLIENT_DIR: cfg->client_dir = optarg; break;
        case O_HANDLER:
            cfg->handler = ws_handler_by_name(optarg);
            if (!cfg->handler) rc = bad(name, optarg);
            break;
        case O_WORKERS:
            rc = parse_uint(name, optarg, 256, &cfg->workers);
            if (rc == 0 && cfg->workers == 0) rc = bad(name, optarg);
            break;
        /* Limits are capped so size arithmetic cannot overflow. */
        case O_MAX_MESSAGE: rc = parse_size(name, optarg, 1ull << 30, &cfg->max_message); break;
        case O_MAX_FRAGMENTS: rc = parse_uint(name, optarg, 1u << 30, &cfg->max_fragments); break;
        case O_MAX_HEADER: rc = parse_size(name, optarg, 1u << 20, &cfg->max_header); break;
        case O_MAX_QUEUE: rc = parse_size(name, optarg, 1ull << 30, &cfg->max_queue); break;
        case O_MAX_CONNECTIONS:
            rc = parse_uint(name, optarg, 10000000, &cfg->max_connections);
            break;
        case O_HANDSHAKE_TIMEOUT: rc = parse_seconds(name, optarg, &cfg->handshake_timeout); break;
        case O_PING_INTERVAL: rc = parse_seconds(name, optarg, &cfg->ping_interval); break;
        case O_PING_TIMEOUT: rc = parse_seconds(name, optarg, &cfg->ping_timeout); break;
        case O_CLOSE_TIMEOUT: rc = parse_seconds(name, optarg, &cfg->close_timeout); break;
        case O_SEND_TIMEOUT: rc = parse_seconds(name, optarg, &cfg->send_timeout); break;
        case O_SHUTDOWN_TIMEOUT: rc = parse_seconds(name, optarg, &cfg->shutdown_timeout); break;
        case O_TRUST_PROXY: cfg->trust_proxy = optarg; break;
        /* A second at most: beyond that spinning is just a busy loop. */
        case O_BUSY_POLL: rc = parse_uint(name, optarg, 1000000, &cfg->busy_poll); break;
        case O_MAX_MEMORY: rc = parse_size(name, optarg, 1ull << 40, &cfg->max_memory); break;
        case O_MESSAGE_TIMEOUT: rc = parse_seconds(name, optarg, &cfg->message_timeout); break;
        case O_STATS_INTERVAL: rc = parse_seconds(name, optarg, &cfg->stats_interval); break;
        case O_DEFLATE:
            rc = -1;
            for (int m = 0; m < 3; m++)
                if (strcmp(optarg, deflate_modes[m]) == 0) cfg->deflate = m, rc = 0;
            if (rc) bad(name, optarg);
            break;
        case O_DEFLATE_LEVEL: rc = parse_uint(name, optarg, 9, &cfg->deflate_level); break;
        case O_DEFLATE_WINDOW: rc = parse_uint(name, optarg, 15, &cfg->deflate_window); break;
        case O_DEFLATE_THRESHOLD:
            rc = parse_size(name, optarg, 1ull << 30, &cfg->deflate_threshold);
            break;
        case O_SUBPROTOCOL: cfg->subprotocols = optarg; break;
        case O_ALLOW_ORIGIN: cfg->allow_origin = optarg; break;
        case O_LOG_FORMAT:
            if (strcmp(optarg, "text") == 0)
                ws_log_json = 0;
            else if (strcmp(optarg, "json") == 0)
                ws_log_json = 1;
            else
                rc = bad(name, optarg);
            break;
        case O_LOG_LEVEL:
            if ((ws_log_level = ws_log_parse_level(optarg)) < 0) rc = bad(name, optarg);
            break;
        case O_HELP: usage(stdout, &defaults); exit(0);
        case O_VERSION:
            printf("ws6455 %s\n"
                   "built %s %s with %s, for %s; links libc only\n"
                   "the page: %s\n",
                   WS6455_VERSION, iso_date(__DATE__), __TIME__, COMPILER,
#if defined(__x86_64__)
                   "x86-64 (SSE2 unmasking)",
#elif defined(__aarch64__)
                   "aarch64",
#else
                   "this CPU (portable unmasking)",
#endif
                   defaults.client_dir);
            exit(0);
        default: fprintf(stderr, "Try 'ws6455 --help'.\n"); return -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "ws6455: unexpected argument '%s' (see --help)\n", argv[optind]);
        rc = -1;
    }
    return rc;
}

/* Is dir/index.html there? */
static int has_page(const char *dir) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/index.html", dir) >= sizeof(path)) return 0;
    return access(path, R_OK) == 0;
}

/* The page to serve when --client-dir is not given, found from where this
 * binary is, so it works from any working directory: the copy `make
 * install` put beside it (PREFIX/bin/ws6455 -> PREFIX/share/ws6455/client,
 * wherever PREFIX was moved), else the source tree's (build/ws6455 ->
 * client/), else where it was to be installed, else ./client. */
static const char *default_client_dir(char *buf, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0'; /* the binary's directory */
        static const char *const beside[] = { "/../share/ws6455/client", "/../client" };
        for (size_t i = 0; i < 2; i++) {
            if ((size_t)snprintf(buf, cap, "%s%s", exe, beside[i]) < cap && has_page(buf)) {
                char real[PATH_MAX];
                if (realpath(buf, real) && strlen(real) < cap) strcpy(buf, real);
                return buf;
            }
        }
    }
    if (has_page(WS6455_DATADIR "/client")) return WS6455_DATADIR "/client";
    return "client";
}

int main(int argc, char **argv) {
    ws_server_config cfg;
    char err[256], client_dir[PATH_MAX];

    ws_server_config_defaults(&cfg);
    cfg.handler = ws_handler_by_name("echo");
    cfg.client_dir = default_client_dir(client_dir, sizeof(client_dir));
    if (parse_args(argc, argv, &cfg) < 0) return 2;
    if (cfg.handler == ws_handler_by_name("chat") && cfg.workers > 1) {
        /* A chat room must see every member; members in another worker
         * process would be in another room. */
        ws_log(WS_LOG_INFO, "chat handler: using one worker so all clients share the room");
        cfg.workers = 1;
    }
    if (ws_server_config_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "ws6455: %s (see --help)\n", err);
        return 2;
    }
    return ws_server_run(&cfg) == 0 ? 0 : 1;
}

/*
 * oracle.c -- the true answers to the book's exercises, computed by the
 * library itself (build/book-oracle, linked with build/libws6455.a).
 *
 * scripts/exercise.py asks this program for the answer to an exercise
 * instead of storing it, so an answer cannot drift from the code: when the
 * parser changes, so does what the checker expects. Every subcommand runs
 * one pure module (no sockets) and prints one line per result:
 *
 *   accept KEY            Sec-WebSocket-Accept for KEY (RFC 6455 §4.2.2)
 *   frame [client] HEX    decode frames a client sent (or, with "client",
 *                         frames a server sent): one line per frame, or
 *                         the error and the byte that proved it (§5.2)
 *   header FIN OP LEN     the header ws_frame_header() writes (hex)
 *   reply [MAX] HEX       what the server answers to these bytes after the
 *                         handshake: messages it echoes, pongs, and the
 *                         close code it sends with the byte that decided it
 *                         (§5.4, §5.5, §7.4, §8.1); MAX is --max-message
 *   utf8 HEX              valid, incomplete, or the first bad byte (§8.1)
 *   inflate HEX           a raw DEFLATE stream decoded (RFC 1951)
 *   deflate TEXT          what the compressor makes of TEXT, as one
 *                         permessage-deflate message (RFC 7692 §7.2.1)
 *   http [dedicated]      the request on stdin, classified: the status the
 *                         server answers and, for 101, the accept value and
 *                         the extension line (RFC 6455 §4.2.1, RFC 7692 §7.1)
 *   origin LIST ORIGIN    allowed or refused by --allow-origin LIST
 *   sizeof                the state each pure module keeps
 *   code NAME...          the close code src/error.c maps each error to
 *
 * Byte positions count from 1: "byte 2" is the second byte of the input.
 * Every error is found by feeding one byte at a time, so the position is
 * the byte at which the parser said no.
 */
#include "base64.h"
#include "deflate.h"
#include "error.h"
#include "frame.h"
#include "http.h"
#include "inflate.h"
#include "proto.h"
#include "sha1.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (1 << 20)

static const struct {
    int code;
    const char *name;
} names[] = {
    { WS_E_RSV, "WS_E_RSV" },
    { WS_E_OPCODE, "WS_E_OPCODE" },
    { WS_E_UNMASKED, "WS_E_UNMASKED" },
    { WS_E_CONTROL_LEN, "WS_E_CONTROL_LEN" },
    { WS_E_CONTROL_FRAG, "WS_E_CONTROL_FRAG" },
    { WS_E_LENGTH, "WS_E_LENGTH" },
    { WS_E_CONTINUATION, "WS_E_CONTINUATION" },
    { WS_E_EXPECTED_CONT, "WS_E_EXPECTED_CONT" },
    { WS_E_UTF8, "WS_E_UTF8" },
    { WS_E_CLOSE_PAYLOAD, "WS_E_CLOSE_PAYLOAD" },
    { WS_E_CLOSE_CODE, "WS_E_CLOSE_CODE" },
    { WS_E_CLOSE_REASON, "WS_E_CLOSE_REASON" },
    { WS_E_TOO_BIG, "WS_E_TOO_BIG" },
    { WS_E_TOO_MANY_FRAGS, "WS_E_TOO_MANY_FRAGS" },
    { WS_E_INFLATE_BTYPE, "WS_E_INFLATE_BTYPE" },
    { WS_E_INFLATE_STORED, "WS_E_INFLATE_STORED" },
    { WS_E_INFLATE_CODES, "WS_E_INFLATE_CODES" },
    { WS_E_INFLATE_LENGTHS, "WS_E_INFLATE_LENGTHS" },
    { WS_E_INFLATE_SYMBOL, "WS_E_INFLATE_SYMBOL" },
    { WS_E_INFLATE_DISTANCE, "WS_E_INFLATE_DISTANCE" },
    { WS_E_INFLATE_END, "WS_E_INFLATE_END" },
};

static const char *error_name(int err) {
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == err) return names[i].name;
    return "WS_E_UNKNOWN";
}

static void die(const char *msg) {
    fprintf(stderr, "book-oracle: %s\n", msg);
    exit(2);
}

/* Hex digits, with any spaces, commas or "0x" between bytes, into out. */
static size_t unhex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && hi < 0) {
            s++;
            continue;
        }
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            v = *s - 'A' + 10;
        else if (*s == ' ' || *s == ',' || *s == ':' || *s == '\n' || *s == '\t')
            continue;
        else
            die("not hex");
        if (hi < 0) {
            hi = v;
        } else {
            if (n == cap) die("input too long");
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) die("odd number of hex digits");
    return n;
}

static void print_hex(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%s%02x", i ? " " : "", p[i]);
}

static int cmd_accept(const char *key) {
    char out[WS_HTTP_ACCEPT_LEN + 1];
    ws_http_accept_key(key, strlen(key), out);
    printf("%s\n", out);
    return 0;
}

/* One byte at a time, so that an error names the byte that proved it. */
static int cmd_frame(int server, const char *hex) {
    static uint8_t in[MAX_INPUT], payload[MAX_INPUT];
    size_t n = unhex(hex, in, sizeof(in)), plen = 0;
    ws_frame_parser p;
    ws_frame_event ev;
    uint8_t op = 0, fin = 0;
    uint64_t length = 0;
    int in_frame = 0;

    ws_frame_parser_init(&p, server);
    for (size_t i = 0; i < n; i++) {
        long r = ws_frame_feed(&p, in + i, 1, &ev);
        if (r < 0) {
            printf("error %s at byte %zu close %u\n", error_name((int)r), i + 1,
                   ws_error_close_code((int)r));
            return 0;
        }
        if (ev.type == WS_FRAME_EV_HEADER)
            op = ev.opcode, fin = ev.fin, length = ev.length, plen = 0, in_frame = 1;
        /* Both events carry a chunk of payload (a header's may be empty). */
        if ((ev.type == WS_FRAME_EV_HEADER || ev.type == WS_FRAME_EV_PAYLOAD) && ev.len) {
            memcpy(payload + plen, ev.data, ev.len);
            plen += ev.len;
        }
        if (in_frame && ws_frame_parser_idle(&p)) {
            printf("opcode %u fin %u length %llu payload ", op, fin, (unsigned long long)length);
            print_hex(payload, plen);
            printf("\n");
            in_frame = 0;
        }
    }
    if (!ws_frame_parser_idle(&p)) printf("incomplete\n");
    return 0;
}

static int cmd_header(const char *fin, const char *op, const char *len) {
    uint8_t out[WS_MAX_SERVER_HEADER_LEN];
    size_t n = ws_frame_header(out, atoi(fin), (int)strtol(op, NULL, 0), strtoull(len, NULL, 0));
    print_hex(out, n);
    printf("\n");
    return 0;
}

/* The server's answers, as src/websocket.c gives them: a data message is
 * echoed whole, a ping answered with a pong of the same payload, a close
 * answered with its own code or 1000 for an empty one (on_peer_close), a
 * protocol error with the code ws_error_close_code() names (conn_fail). */
static int cmd_reply(uint64_t max, const char *hex) {
    static uint8_t in[MAX_INPUT], msg[MAX_INPUT], ping[WS_MAX_CONTROL_PAYLOAD];
    size_t n = unhex(hex, in, sizeof(in)), mlen = 0, plen = 0;
    ws_proto_limits lim = { max, 100000 };
    ws_proto p;
    ws_proto_event ev;

    ws_proto_init(&p);
    /* One byte per call; a call may report an event without consuming its
     * byte (then the byte is offered again). */
    for (size_t i = 0; i < n;) {
        size_t used = ws_proto_feed(&p, &lim, in + i, 1, &ev);
        i += used;
        switch (ev.type) {
        case WS_PROTO_EV_DATA:
            if (ev.first) mlen = 0;
            memcpy(msg + mlen, ev.data, ev.len);
            mlen += ev.len;
            if (ev.last) {
                printf("message %s ", ev.opcode == WS_OP_TEXT ? "text" : "binary");
                print_hex(msg, mlen);
                printf("\n");
            }
            break;
        case WS_PROTO_EV_PING:
            if (ev.first) plen = 0;
            memcpy(ping + plen, ev.data, ev.len);
            plen += ev.len;
            if (ev.last) {
                printf("pong ");
                print_hex(ping, plen);
                printf("\n");
            }
            break;
        case WS_PROTO_EV_PONG: printf("pong received\n"); break;
        case WS_PROTO_EV_CLOSE:
            printf("close %u at byte %zu\n", ev.close_code ? ev.close_code : WS_CLOSE_NORMAL, i);
            return 0;
        case WS_PROTO_EV_ERROR:
            printf("close %u at byte %zu %s\n", ev.close_code, i, error_name(ev.error));
            return 0;
        default:
            if (used == 0) die("engine consumed nothing and reported nothing");
            break;
        }
    }
    printf("open\n");
    return 0;
}

static int cmd_utf8(const char *hex) {
    static uint8_t in[MAX_INPUT];
    size_t n = unhex(hex, in, sizeof(in)), bad = 0;
    ws_utf8 u;
    ws_utf8_init(&u);
    int r = ws_utf8_feed(&u, in, n, &bad);
    if (r == WS_UTF8_OK)
        printf("valid\n");
    else if (r == WS_UTF8_PARTIAL)
        printf("incomplete\n");
    else
        printf("invalid at byte %zu\n", bad + 1);
    return 0;
}

static int cmd_inflate(const char *hex) {
    static uint8_t in[MAX_INPUT], out[MAX_INPUT];
    size_t n = unhex(hex, in, sizeof(in)), used = 0, olen = 0;
    size_t size = ws_inflate_size(WS_INFLATE_MAX_WINDOW_BITS);
    void *mem = malloc(size);
    if (!mem) die("out of memory");
    ws_inflate *z = ws_inflate_init(mem, size, WS_INFLATE_MAX_WINDOW_BITS);
    int r = ws_inflate_feed(z, in, n, &used, out, sizeof(out), &olen);
    if (r < 0) {
        printf("error %s\n", error_name(r));
    } else {
        printf("%s ", r == WS_INFLATE_END ? "end" : "more");
        print_hex(out, olen);
        printf("\n");
    }
    free(mem);
    return 0;
}

static int cmd_deflate(const char *text) {
    static uint8_t out[MAX_INPUT];
    size_t size = ws_deflate_size(WS_DEFLATE_MAX_WINDOW_BITS, WS_DEFLATE_LEVEL_FAST), used = 0,
           olen = 0;
    void *mem = malloc(size);
    if (!mem) die("out of memory");
    ws_deflate *d = ws_deflate_init(mem, size, WS_DEFLATE_MAX_WINDOW_BITS, WS_DEFLATE_LEVEL_FAST);
    if (!d || ws_deflate_feed(d, (const uint8_t *)text, strlen(text), &used, out, sizeof(out),
                              &olen, WS_DEFLATE_MESSAGE_END) != WS_DEFLATE_NEED_INPUT)
        die("deflate failed");
    print_hex(out, olen);
    printf("\n");
    free(mem);
    return 0;
}

/* The request on stdin, as src/handshake.c judges it, with the server's
 * defaults: every subprotocol ("*"), permessage-deflate "shared" (or
 * "dedicated"), 15-bit windows (src/compress.c, pmd_handshake()). */
static int cmd_http(int dedicated) {
    static uint8_t in[MAX_INPUT];
    static ws_http_parser hp;
    static const char *const any[] = { "*" };
    size_t n = fread(in, 1, sizeof(in), stdin), used = 0;
    const char *why;

    ws_http_parser_init(&hp, WS_HTTP_DEFAULT_MAX_HEAD);
    ws_http_parser_protocols(&hp, any, 1);
    int rc = ws_http_feed(&hp, in, n, &used);
    switch (rc) {
    case WS_HTTP_DONE: break;
    case WS_HTTP_AGAIN: printf("incomplete\n"); return 0;
    case WS_E_HTTP_TOO_LARGE: printf("status 431 at byte %zu\n", used + 1); return 0;
    case WS_E_HTTP_URI_LONG: printf("status 414 at byte %zu\n", used + 1); return 0;
    case WS_E_HTTP_VERSION: printf("status 505 at byte %zu\n", used + 1); return 0;
    default: printf("status 400 at byte %zu\n", used + 1); return 0;
    }
    rc = ws_http_classify_why(&hp.req, &why);
    if (rc == WS_HTTP_PLAIN) {
        printf("status file\n");
    } else if (rc != WS_HTTP_UPGRADE) {
        printf("status %d %s\n", rc, why);
    } else {
        char accept[WS_HTTP_ACCEPT_LEN + 1], line[256];
        ws_http_accept_key(hp.req.key, hp.req.key_len, accept);
        printf("status 101\naccept %s\n", accept);
        if (hp.req.protocol[0]) printf("protocol %s\n", hp.req.protocol);
        if (hp.req.pmd_offered) {
            ws_pmd_policy pol = { !dedicated, 15, 15 };
            ws_pmd_params a;
            ws_pmd_agree(&hp.req.pmd, &pol, &a);
            int len = ws_pmd_write_response(&a, line, sizeof(line));
            if (len > 2) printf("%.*s\n", len - 2, line); /* without its CRLF */
        }
    }
    return 0;
}

static int cmd_origin(const char *list, const char *origin) {
    char err[256];
    if (ws_http_origin_list_check(list, err, sizeof(err)) < 0) {
        printf("bad list: %s\n", err);
        return 0;
    }
    printf("%s\n", ws_http_origin_allowed(list, origin, strlen(origin)) ? "allowed" : "refused");
    return 0;
}

static int cmd_sizeof(void) {
    printf("ws_frame_parser %zu\n", sizeof(ws_frame_parser));
    printf("ws_proto %zu\n", sizeof(ws_proto));
    printf("ws_utf8 %zu\n", sizeof(ws_utf8));
    printf("ws_sha1_ctx %zu\n", sizeof(ws_sha1_ctx));
    printf("ws_http_parser %zu\n", sizeof(ws_http_parser));
    printf("ws_inflate %zu\n", ws_inflate_size(WS_INFLATE_MAX_WINDOW_BITS));
    printf("ws_deflate %zu\n", ws_deflate_size(WS_DEFLATE_MAX_WINDOW_BITS, WS_DEFLATE_LEVEL_FAST));
    return 0;
}

static int cmd_code(int n, char **argv) {
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (!strcmp(argv[i], names[k].name)) {
                printf("%u\n", ws_error_close_code(names[k].code));
                found = 1;
            }
        if (!found) die("unknown error name");
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "accept") && argc == 3) return cmd_accept(argv[2]);
    if (!strcmp(cmd, "frame") && argc == 3) return cmd_frame(1, argv[2]);
    if (!strcmp(cmd, "frame") && argc == 4 && !strcmp(argv[2], "client"))
        return cmd_frame(0, argv[3]);
    if (!strcmp(cmd, "header") && argc == 5) return cmd_header(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "reply") && argc == 3) return cmd_reply(16u << 20, argv[2]);
    if (!strcmp(cmd, "reply") && argc == 4) return cmd_reply(strtoull(argv[2], NULL, 0), argv[3]);
    if (!strcmp(cmd, "utf8") && argc == 3) return cmd_utf8(argv[2]);
    if (!strcmp(cmd, "inflate") && argc == 3) return cmd_inflate(argv[2]);
    if (!strcmp(cmd, "deflate") && argc == 3) return cmd_deflate(argv[2]);
    if (!strcmp(cmd, "http") && argc == 2) return cmd_http(0);
    if (!strcmp(cmd, "http") && argc == 3 && !strcmp(argv[2], "dedicated")) return cmd_http(1);
    if (!strcmp(cmd, "origin") && argc == 4) return cmd_origin(argv[2], argv[3]);
    if (!strcmp(cmd, "sizeof") && argc == 2) return cmd_sizeof();
    if (!strcmp(cmd, "code") && argc > 2) return cmd_code(argc - 2, argv + 2);
    fprintf(stderr, "usage: book-oracle accept KEY | frame [client] HEX | header FIN OP LEN |\n"
                    "       reply [MAX] HEX | utf8 HEX | inflate HEX | deflate TEXT |\n"
                    "       http [dedicated] < REQUEST | origin LIST ORIGIN | sizeof |\n"
                    "       code NAME...\n");
    return 2;
}

/*
 * gen.c -- the byte dumps and sizes that docs/ quotes, computed by the
 * project's own code, for `make docs-check` (scripts/docs/docs.py).
 *
 *   build/docs/gen NAME     print the block NAME, exactly as the page shows
 *                           it between its markers
 *   build/docs/gen sizes    print "name value" lines: structure sizes and
 *                           constants the pages quote (scripts/docs/sizes)
 *   build/docs/gen list     the names
 *
 * A frame dump is not only printed: it is fed back to ws_frame_feed() (as
 * the server for a masked frame, as a client for an unmasked one) and the
 * program fails if the parser does not return the payload it was built
 * from. So a page's "this is what the parser reads" is checked too.
 *
 * Built against build/libws6455.a and the private header of the server
 * (for the sizes of its structures): mk/docs.mk.
 */
#include "deflate.h"
#include "error.h"
#include "frame.h"
#include "http.h"
#include "inflate.h"
#include "pmd.h"
#include "proto.h"
#include "rfc6455.h"
#include "server.h"
#include "server_internal.h"
#include "sha1.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };    /* RFC 6455 §5.7's key */
static const char accept_key[] = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 §1.3 */

static void die(const char *what) {
    fprintf(stderr, "gen: %s\n", what);
    exit(1);
}

/* Bytes as "81 05 48", then the note at column col (if any). */
static void hexline(const uint8_t *p, size_t n, int col, const char *note) {
    int w = 0;
    for (size_t i = 0; i < n; i++) w += printf(i ? " %02x" : "%02x", p[i]);
    if (note) printf("%*s%s", col > w ? col - w : 1, "", note);
    putchar('\n');
}

/* Parse frame (as the server if server, else as a client) and check that
 * it is one frame with this opcode, FIN and payload. */
static void check_frame(const uint8_t *frame, size_t n, int server, int opcode, int fin,
                        const void *payload, size_t plen) {
    uint8_t copy[128];
    ws_frame_parser p;
    ws_frame_event ev;
    size_t off = 0, got = 0;
    int headers = 0;

    if (n > sizeof(copy)) die("frame too long to check");
    memcpy(copy, frame, n);
    ws_frame_parser_init(&p, server);
    while (off < n) {
        long used = ws_frame_feed(&p, copy + off, n - off, &ev);
        if (used < 0) die("the parser refused a frame the page shows");
        off += (size_t)used;
        if (ev.type == WS_FRAME_EV_HEADER) {
            headers++;
            if (ev.opcode != opcode || ev.fin != fin || ev.length != plen)
                die("the parser read another header than the page says");
        }
        /* A header event carries the payload that came with it, a payload
         * event the next chunk (include/frame.h). */
        if (ev.type == WS_FRAME_EV_HEADER || ev.type == WS_FRAME_EV_PAYLOAD) {
            if (got + ev.len > plen ||
                (ev.len && memcmp(ev.data, (const uint8_t *)payload + got, ev.len)))
                die("the parser read another payload than the page says");
            got += ev.len;
        }
    }
    if (headers != 1 || got != plen || !ws_frame_parser_idle(&p))
        die("not exactly one whole frame");
}

/* A client frame: masked header + payload masked with key. */
static size_t client_frame(uint8_t *out, int fin, int opcode, const char *payload) {
    size_t len = strlen(payload);
    size_t hl = ws_frame_header_masked(out, fin, opcode, len, key);
    memcpy(out + hl, payload, len);
    ws_frame_mask(out + hl, len, key, 0);
    check_frame(out, hl + len, 1, opcode, fin, payload, len);
    return hl + len;
}

/* A server frame: unmasked header + payload. */
static size_t server_frame(uint8_t *out, int fin, int opcode, const char *payload) {
    size_t len = strlen(payload);
    size_t hl = ws_frame_header(out, fin, opcode, len);
    memcpy(out + hl, payload, len);
    check_frame(out, hl + len, 0, opcode, fin, payload, len);
    return hl + len;
}

/* ---- docs/framing.md ------------------------------------------------- */

static void frame_text(void) {
    uint8_t f[32];
    hexline(f, server_frame(f, 1, WS_OP_TEXT, "Hello"), 0, NULL);
}

static void frame_masked(void) {
    uint8_t f[32];
    hexline(f, client_frame(f, 1, WS_OP_TEXT, "Hello"), 0, NULL);
}

static void unmask_table(void) {
    uint8_t f[32];
    size_t n = client_frame(f, 1, WS_OP_TEXT, "Hello"), hl = n - 5;
    uint8_t plain[5];
    memcpy(plain, f + hl, 5);
    ws_frame_mask(plain, 5, key, 0);
    printf("masked   ");
    for (size_t i = 0; i < 5; i++) printf("  %02x", f[hl + i]);
    printf("\nkey      ");
    for (size_t i = 0; i < 5; i++) printf("  %02x", key[i % 4]);
    printf("\nXOR      ");
    for (size_t i = 0; i < 5; i++) printf("  %02x", plain[i]);
    printf("\n         ");
    for (size_t i = 0; i < 5; i++) printf("  %c%s", plain[i], i < 4 ? " " : "");
    putchar('\n');
}

/* The same, as docs/tour.md lays it out. */
static void unmask_rows(void) {
    uint8_t f[32], k[5], plain[5];
    size_t hl = client_frame(f, 1, WS_OP_TEXT, "Hello") - 5;
    for (size_t i = 0; i < 5; i++) k[i] = key[i % 4];
    memcpy(plain, f + hl, 5);
    ws_frame_mask(plain, 5, key, 0);
    hexline(f + hl, 5, 17, "masked");
    hexline(k, 5, 17, "key byte i mod 4");
    hexline(plain, 5, 17, "\"Hello\"");
}

static void frame_fragments(void) {
    uint8_t f[32];
    hexline(f, server_frame(f, 0, WS_OP_TEXT, "Hel"), 22, "\"Hel\"");
    hexline(f, server_frame(f, 1, WS_OP_CONT, "lo"), 22, "\"lo\"");
}

static void frame_fragments_masked(void) {
    uint8_t f[32];
    char note[64];
    size_t n = client_frame(f, 0, WS_OP_TEXT, "Hel");
    hexline(f, n, 36, "\"Hel\" masked");
    n = client_frame(f, 1, WS_OP_CONT, "lo");
    snprintf(note, sizeof(note), "\"lo\" masked: 6c^%02x = %02x, 6f^%02x = %02x", key[0],
             0x6c ^ key[0], key[1], 0x6f ^ key[1]);
    hexline(f, n, 36, note);
}

static void ping_pong(void) {
    uint8_t f[32];
    hexline(f, server_frame(f, 1, WS_OP_PING, "Hello"), 39, "ping, body \"Hello\"");
    hexline(f, client_frame(f, 1, WS_OP_PONG, "Hello"), 39, "pong, body \"Hello\", masked");
}

/* Each refused header fed to a server's parser one byte at a time: the
 * byte it fails at, the error and the close code (docs/framing.md,
 * "Failing at the first bad byte"). Only the inputs and the words about
 * them are written here; the rest is what the parser and error.c say. */
static void fail_table(void) {
    static const struct {
        const char *hex, *what, *at; /* at: how the failing byte is named, NULL: its value */
    } rows[] = {
        { "81 05 00", "`81 05 ...` (text, no mask)", NULL },
        { "c1 85 00", "`c1 85 ...` (RSV1 set, no extension agreed)", NULL },
        { "83 85 00", "`83 85 ...` (opcode 3)", NULL },
        { "8b 80 00", "`8b 80 ...` (opcode 11)", NULL },
        { "09 80 00", "`09 80 ...` (ping without FIN)", NULL },
        { "89 fe 00", "`89 fe ...` (ping, length 126)", NULL },
        { "82 ff 80 00", "`82 ff 80 ...` (64-bit length, top bit set)", NULL },
        { "82 fe 00 05", "`82 fe 00 05` (5 in the 16-bit form)", NULL },
        { "82 ff 00 00 00 00 00 00 ff ff",
          "`82 ff 00 00 00 00 00 00 ff ff` (65535 in the 64-bit form)",
          "the sixth zero length byte" },
    };
    static const struct {
        int err;
        const char *name;
    } names[] = {
        { WS_E_RSV, "WS_E_RSV" },
        { WS_E_OPCODE, "WS_E_OPCODE" },
        { WS_E_UNMASKED, "WS_E_UNMASKED" },
        { WS_E_CONTROL_LEN, "WS_E_CONTROL_LEN" },
        { WS_E_CONTROL_FRAG, "WS_E_CONTROL_FRAG" },
        { WS_E_LENGTH, "WS_E_LENGTH" },
    };
    printf("| input | fails at byte | error | close code |\n|---|---|---|---|\n");
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        uint8_t in[16];
        size_t n = 0;
        for (const char *h = rows[r].hex; *h; h += h[2] ? 3 : 2)
            in[n++] = (uint8_t)strtoul((char[3]){ h[0], h[1], 0 }, NULL, 16);
        ws_frame_parser p;
        ws_frame_event ev;
        long rc = 0;
        size_t at = 0;
        ws_frame_parser_init(&p, 1);
        for (; at < n; at++)
            if ((rc = ws_frame_feed(&p, in + at, 1, &ev)) < 0) break;
        if (rc >= 0) die("a row of the failure table is accepted");
        const char *name = NULL;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (names[k].err == rc) name = names[k].name;
        if (!name) die("an error the table has no name for");
        printf("| %s | %zu (", rows[r].what, at);
        if (rows[r].at)
            printf("%s", rows[r].at);
        else
            printf("`%02x`", in[at]);
        printf(") | `%s` | %u |\n", name, (unsigned)ws_error_close_code((int)rc));
    }
}

static void frame_len(uint64_t len) {
    uint8_t h[WS_MAX_SERVER_HEADER_LEN];
    size_t n = ws_frame_header(h, 1, WS_OP_BINARY, len);
    for (size_t i = 0; i < n; i++) printf(i ? " %02x" : "%02x", h[i]);
    printf("  [%llu bytes]\n", (unsigned long long)len);
}

static void frame_256(void) { frame_len(256); }
static void frame_65536(void) { frame_len(65536); }

static void header_table(void) {
    static const uint64_t lens[] = { 125, 126, 256, 65535, 65536 };
    printf("| payload length | header written by `ws_frame_header(out, 1, WS_OP_BINARY, len)` |\n");
    printf("|---|---|\n");
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t h[WS_MAX_SERVER_HEADER_LEN];
        size_t n = ws_frame_header(h, 1, WS_OP_BINARY, lens[i]);
        printf("| %llu | `", (unsigned long long)lens[i]);
        for (size_t k = 0; k < n; k++) printf(k ? " %02x" : "%02x", h[k]);
        printf("` |\n");
    }
}

/* ---- docs/messages.md ------------------------------------------------ */

/* The RFC's fragmented "Hello" with a ping "hi" between the fragments. */
static size_t hel_ping_lo(uint8_t *out, size_t *ends) {
    size_t n = client_frame(out, 0, WS_OP_TEXT, "Hel");
    ends[0] = n;
    n += client_frame(out + n, 1, WS_OP_PING, "hi");
    ends[1] = n;
    n += client_frame(out + n, 1, WS_OP_CONT, "lo");
    ends[2] = n;
    return n;
}

static void hel_ping_lo_dump(void) {
    uint8_t f[64];
    size_t ends[3];
    static const char *notes[] = { "TEXT, FIN 0, \"Hel\"", "PING, FIN 1, \"hi\"",
                                   "CONT, FIN 1, \"lo\"" };
    hel_ping_lo(f, ends);
    for (int i = 0; i < 3; i++)
        hexline(f + (i ? ends[i - 1] : 0), ends[i] - (i ? ends[i - 1] : 0), 34, notes[i]);
}

/* What ws_proto_feed() returns for that stream cut after byte 5, called
 * as frames_feed() calls it: again on the rest after each event. */
static void hel_ping_lo_events(void) {
    uint8_t f[64];
    size_t ends[3], cuts[] = { 5, 0 }, off = 0;
    size_t n = hel_ping_lo(f, ends);
    ws_proto p;
    ws_proto_limits lim = { 1 << 20, 0 };
    cuts[1] = n;
    ws_proto_init(&p);
    printf("| read | call on bytes | consumed | event |\n|---|---|---|---|\n");
    for (int r = 0; r < 2; r++) {
        do {
            ws_proto_event ev;
            size_t used = ws_proto_feed(&p, &lim, f + off, cuts[r] - off, &ev);
            printf("| %d | %zu..%zu", r + 1, off, cuts[r] - 1);
            if (r == 0) printf(" (%zu bytes)", cuts[r] - off);
            printf(" | %zu | ", used);
            off += used;
            switch (ev.type) {
            case WS_PROTO_EV_NONE:
                printf("none: the header is incomplete; the frame parser keeps its place "
                       "(`S_MASK`, %zu of the 4 key bytes seen) |\n",
                       cuts[r] - 2);
                break;
            case WS_PROTO_EV_DATA:
                printf("`DATA` %s, `first` %u, `last` %u, \"%.*s\", `size_hint` %llu |\n",
                       ev.opcode == WS_OP_TEXT ? "text" : "binary", ev.first, ev.last, (int)ev.len,
                       (const char *)ev.data, (unsigned long long)ev.size_hint);
                break;
            case WS_PROTO_EV_PING:
                printf("`PING`, `first` %u, `last` %u, \"%.*s\" |\n", ev.first, ev.last,
                       (int)ev.len, (const char *)ev.data);
                break;
            default: die("an event the table does not expect");
            }
        } while (off < cuts[r]);
    }
}

/* The close frame the server answers an unmasked frame with: the code
 * and the error's text, as frames_feed() and send_close() build it. */
static void close_unmasked(void) {
    uint8_t f[32], out[160];
    ws_proto p;
    ws_proto_limits lim = { 1 << 20, 0 };
    ws_proto_event ev;
    size_t n = server_frame(f, 1, WS_OP_TEXT, "Hello");
    ws_proto_init(&p);
    (void)ws_proto_feed(&p, &lim, f, n, &ev);
    if (ev.type != WS_PROTO_EV_ERROR) die("an unmasked frame was accepted");
    const char *why = ws_strerror(ev.error);
    size_t rl = strlen(why), hl = ws_frame_header(out, 1, WS_OP_CLOSE, 2 + rl);
    out[hl] = (uint8_t)(ev.close_code >> 8);
    out[hl + 1] = (uint8_t)ev.close_code;
    memcpy(out + hl + 2, why, rl);
    hexline(out, hl + 2 + rl, 0, NULL);
}

/* "€" (E2 82 AC) sent as two fragments, cut inside the character. */
static void euro_fragments(void) {
    uint8_t f[32];
    hexline(f, client_frame(f, 0, WS_OP_TEXT, "\xE2"), 30, "TEXT, FIN 0, payload E2");
    hexline(f, client_frame(f, 1, WS_OP_CONT, "\x82\xAC"), 30, "CONT, FIN 1, payload 82 AC");
}

/* The UTF-8 validator's state after each prefix (docs/messages.md). */
static void utf8_states(void) {
    static const struct {
        const char *bytes, *shown, *meaning;
    } rows[] = {
        { "", "(nothing)", NULL },       { "\xE2", "`E2`", NULL },
        { "\xE2\x82", "`E2 82`", NULL }, { "\xE2\x82\xAC", "`E2 82 AC` (\"\xE2\x82\xAC\")", NULL },
        { "\xF0", "`F0`", NULL },        { "\xED", "`ED`", NULL },
    };
    printf("| input so far | state | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ws_utf8 u;
        ws_utf8_init(&u);
        if (ws_utf8_feed(&u, (const uint8_t *)rows[i].bytes, strlen(rows[i].bytes), NULL) ==
            WS_UTF8_INVALID)
            die("a valid prefix refused");
        unsigned left = u.state >> 16 & 3, hi = u.state >> 8 & 0xff, lo = u.state & 0xff;
        printf("| %s | `0x%06x` | ", rows[i].shown, (unsigned)u.state);
        if (u.state == 0)
            printf("%s |\n", i ? "complete" : "between characters");
        else if (i == 1)
            printf("%u bytes to come, the next in `%02X..%02X` |\n", left, lo, hi);
        else if (left == 1)
            printf("1 byte to come, in `%02X..%02X` |\n", lo, hi);
        else
            printf("%u to come, the next in `%02X..%02X` |\n", left, lo, hi);
    }
}

/* ---- docs/handshake.md ----------------------------------------------- */

/* The opening request of RFC 6455 §1.3, with CRLF line ends; with the
 * Sec-WebSocket-Protocol line of the RFC's example if protocol. */
static size_t request(char *out, size_t cap, int protocol) {
    int n = snprintf(out, cap,
                     "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Origin: http://example.com\r\n%sSec-WebSocket-Version: 13\r\n\r\n",
                     protocol ? "Sec-WebSocket-Protocol: chat, superchat\r\n" : "");
    if (n < 0 || (size_t)n >= cap) die("the request does not fit");
    /* What the server's parser makes of it: one whole head, a valid
     * upgrade (RFC 6455 §4.2.1). */
    ws_http_parser p;
    size_t used;
    ws_http_parser_init(&p, 8192);
    if (ws_http_feed(&p, (const uint8_t *)out, (size_t)n, &used) != WS_HTTP_DONE ||
        used != (size_t)n || ws_http_classify(&p.req) != WS_HTTP_UPGRADE)
        die("the parser does not take the RFC's request as an upgrade");
    return (size_t)n;
}

/* The request as the pages show it: line ends as line ends, and the
 * empty line that ends the head (show_end) or not. */
static void print_request(int protocol, int show_end) {
    char req[512];
    size_t n = request(req, sizeof(req), protocol);
    for (size_t i = 0; i < n - (show_end ? 0 : 2); i++)
        if (req[i] != '\r') putchar(req[i]);
}

static void request_tour(void) { print_request(0, 1); }
static void request_minimal(void) { print_request(0, 0); }
static void request_rfc(void) { print_request(1, 0); }

/* The key followed by the GUID: 60 bytes (RFC 6455 §4.2.2 item 5.4). */
static size_t accept_input(uint8_t out[64]) {
    size_t kl = strlen(accept_key);
    memcpy(out, accept_key, kl);
    memcpy(out + kl, WS_GUID, WS_GUID_LEN);
    return kl + WS_GUID_LEN;
}

static void dump16(const uint8_t *p, size_t n, int text) {
    for (size_t off = 0; off < n; off += 16) {
        size_t k = n - off < 16 ? n - off : 16;
        printf("%2zu:", off);
        for (size_t i = 0; i < k; i++) printf(" %02x", p[off + i]);
        if (text) printf("%*s%.*s", 4 + (16 - (int)k) * 3, "", (int)k, (const char *)p + off);
        putchar('\n');
    }
}

static void accept_string(void) {
    uint8_t in[64];
    size_t n = accept_input(in);
    printf("%.*s\n", (int)n, (const char *)in);
}

static void accept_hex(void) {
    uint8_t in[64];
    dump16(in, accept_input(in), 1);
}

/* FIPS 180-4 §5.1.1: the 60-byte message padded into two blocks. */
static void padded(uint8_t blocks[128]) {
    uint8_t in[64];
    size_t n = accept_input(in);
    memset(blocks, 0, 128);
    memcpy(blocks, in, n);
    blocks[n] = 0x80;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) blocks[127 - i] = (uint8_t)(bits >> (8 * i));
}

static void sha1_block1(void) {
    uint8_t b[128];
    padded(b);
    dump16(b, 64, 0);
}

static void sha1_block2(void) {
    uint8_t b[128];
    padded(b);
    dump16(b + 64, 64, 0);
}

/* The state after each block: the padded blocks fed to ws_sha1_update()
 * one whole block at a time (which compresses it), checked against the
 * digest ws_sha1() gives for the message itself. */
static void sha1_state(void) {
    uint8_t b[128], in[64], digest[WS_SHA1_DIGEST_LEN];
    ws_sha1_ctx ctx;
    static const char *rows[] = { "initial value (§5.3.1)", "after block 1", "after block 2" };

    padded(b);
    ws_sha1_init(&ctx);
    printf("| | H0 | H1 | H2 | H3 | H4 |\n|---|---|---|---|---|---|\n");
    for (int r = 0; r < 3; r++) {
        if (r > 0) ws_sha1_update(&ctx, b + 64 * (r - 1), 64);
        printf("| %s |", rows[r]);
        for (int i = 0; i < 5; i++) printf(" `%08x` |", (unsigned)ctx.h[i]);
        putchar('\n');
    }
    ws_sha1(in, accept_input(in), digest);
    for (int i = 0; i < 5; i++)
        if (ctx.h[i] != ((uint32_t)digest[4 * i] << 24 | (uint32_t)digest[4 * i + 1] << 16 |
                         (uint32_t)digest[4 * i + 2] << 8 | digest[4 * i + 3]))
            die("the state after block 2 is not the digest");
}

static void sha1_digest(void) {
    uint8_t in[64], digest[WS_SHA1_DIGEST_LEN];
    ws_sha1(in, accept_input(in), digest);
    hexline(digest, sizeof(digest), 0, NULL);
}

static void accept_header(void) {
    char out[WS_HTTP_ACCEPT_LEN + 1];
    ws_http_accept_key(accept_key, strlen(accept_key), out);
    printf("Sec-WebSocket-Accept: %s\n", out);
}

/* The §1.3 example's 101, as ws_http_write_101() writes it; its length in
 * *len. */
static const char *response_101(int *len) {
    static char resp[256];
    char acc[WS_HTTP_ACCEPT_LEN + 1];
    ws_http_accept_key(accept_key, strlen(accept_key), acc);
    *len = ws_http_write_101(resp, sizeof(resp), acc, NULL);
    if (*len < 0) die("the 101 does not fit");
    return resp;
}

/* The response with each CRLF shown as a line end. */
static void print_response_101(void) {
    int len;
    const char *r = response_101(&len);
    for (int i = 0; i < len; i++)
        if (r[i] != '\r') putchar(r[i]);
}

/* The 426 a request with another Sec-WebSocket-Version gets (RFC 6455
 * §4.2.2, §4.4), as ws_http_write_error() writes it. */
static void response_426(void) {
    char resp[512];
    int len = ws_http_write_error(resp, sizeof(resp), 426);
    if (len < 0) die("the 426 does not fit");
    for (int i = 0; i < len; i++)
        if (resp[i] != '\r') putchar(resp[i]);
}

/* docs/tour.md: the 101, then the echo of the masked "Hello". */
static void response_and_echo(void) {
    print_response_101();
    frame_text();
}

/* ---- docs/deflate.md ------------------------------------------------- */

/* RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello" compressed, then "Hello" again
 * on the same stream. Both are inflated here by ws6455's decoder, the
 * second with the first's window kept, and must give "Hello". */
static const uint8_t hello1[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
static const uint8_t hello2[] = { 0xf2, 0x00, 0x11, 0x00, 0x00 };

static void check_hellos(void) {
    static const uint8_t tail[] = { 0x00, 0x00, 0xff, 0xff }; /* §7.2.2 */
    const uint8_t *msgs[2] = { hello1, hello2 };
    size_t lens[2] = { sizeof(hello1), sizeof(hello2) }, size = ws_inflate_size(15);
    void *mem = malloc(size);
    ws_inflate *z = mem ? ws_inflate_init(mem, size, 15) : NULL;
    if (!z) die("no decoder");
    for (int m = 0; m < 2; m++) {
        uint8_t in[16], out[16];
        size_t used, got;
        memcpy(in, msgs[m], lens[m]);
        memcpy(in + lens[m], tail, sizeof(tail));
        int rc = ws_inflate_feed(z, in, lens[m] + 4, &used, out, sizeof(out), &got);
        if (rc != WS_INFLATE_NEED_INPUT || used != lens[m] + 4 || got != 5 ||
            memcmp(out, "Hello", 5))
            die("the RFC's compressed Hello does not inflate to Hello");
    }
    free(mem);
}

/* The first, as a client sends it: RSV1 set (compressed), masked with the
 * RFC 6455 §5.7 key; parsed back with RSV1 allowed. */
static void deflate_hello_frame(void) {
    uint8_t f[32], payload[sizeof(hello1)];
    ws_frame_parser p;
    ws_frame_event ev;
    check_hellos();
    size_t hl = ws_frame_header_masked(f, 1, WS_OP_TEXT, sizeof(hello1), key);
    f[0] |= WS_RSV1;
    memcpy(f + hl, hello1, sizeof(hello1));
    ws_frame_mask(f + hl, sizeof(hello1), key, 0);
    hexline(f, hl + sizeof(hello1), 0, NULL);
    memcpy(payload, f + hl, sizeof(payload));
    ws_frame_parser_init(&p, 1);
    p.rsv1_ok = 1; /* as ws_proto_enable_deflate() sets it */
    if (ws_frame_feed(&p, f, hl, &ev) != (long)hl || !ev.rsv1 || ev.length != sizeof(hello1) ||
        ws_frame_feed(&p, payload, sizeof(payload), &ev) != (long)sizeof(payload) ||
        memcmp(ev.data, hello1, sizeof(hello1)))
        die("the compressed frame does not parse back");
}

/* Bytes and their bits in the order DEFLATE reads them (least
 * significant first), four at a time. */
static void lsb_bits(const uint8_t *p, size_t n) {
    printf("byte");
    for (size_t i = 0; i < n; i++) printf("%*s%02x", i ? 8 : 7, "", p[i]);
    printf("\nbits ");
    for (size_t i = 0; i < n; i++) {
        putchar(' ');
        for (int b = 0; b < 8; b++) {
            if (b == 4) putchar(' ');
            putchar('0' + (p[i] >> b & 1));
        }
    }
    putchar('\n');
}

static void deflate_hello_bits(void) {
    check_hellos();
    lsb_bits(hello1, sizeof(hello1));
}

static void deflate_hello2_bits(void) {
    check_hellos();
    lsb_bits(hello2, sizeof(hello2));
}

/* Offers the parser declines (RFC 7692 §5, §7.1): each is fed to
 * ws_pmd_feed() as a whole header value and must leave no acceptable
 * offer; the list is printed as the page shows it. */
static void pmd_declined(void) {
    static const char *offers[] = {
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_max_window_bits=08",
    };
    for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
        ws_pmd_parser p;
        ws_pmd_offer o;
        ws_pmd_parser_init(&p);
        ws_pmd_header_begin(&p);
        ws_pmd_feed(&p, (const uint8_t *)offers[i], strlen(offers[i]));
        ws_pmd_header_end(&p);
        if (ws_pmd_offered(&p, &o)) die("an offer the page says is declined was accepted");
        puts(offers[i]);
    }
}

/* n with thousands separated by commas, as the pages write sizes. */
static const char *commas(size_t n) {
    static char out[8][32];
    static int k;
    char digits[24], *o = out[k = (k + 1) % 8];
    int len = snprintf(digits, sizeof(digits), "%zu", n);
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) *o++ = ',';
        *o++ = digits[i];
    }
    *o = 0;
    return out[k];
}

static void inflate_sizes(void) {
    printf("| window bits |");
    for (unsigned w = 8; w <= 15; w++) printf(" %u |", w);
    printf("\n|---|");
    for (unsigned w = 8; w <= 15; w++) printf("---:|");
    printf("\n| `ws_inflate_size()`, bytes |");
    for (unsigned w = 8; w <= 15; w++) printf(" %s |", commas(ws_inflate_size(w)));
    putchar('\n');
}

/* The page folds windows 8..12 into one column and levels 2..9 into one
 * row; check that the folded values are what it says they are. */
static void deflate_sizes(void) {
    for (unsigned w = 9; w <= 12; w++)
        if (ws_deflate_size(w, 1) != ws_deflate_size(8, 1)) die("level 1 differs below 13");
    for (int l = 3; l <= 9; l++)
        for (unsigned w = 8; w <= 15; w++)
            if (ws_deflate_size(w, l) != ws_deflate_size(w, 2)) die("levels 2..9 differ");
    printf("| window bits | 8..12 | 13 | 14 | 15 |\n|---|---:|---:|---:|---:|\n");
    printf("| level 1 | %s | %s | %s | %s |\n", commas(ws_deflate_size(8, 1)),
           commas(ws_deflate_size(13, 1)), commas(ws_deflate_size(14, 1)),
           commas(ws_deflate_size(15, 1)));
    printf("| levels 2..9 | %s (8) ... %s (12) | %s | %s | %s |\n", commas(ws_deflate_size(8, 2)),
           commas(ws_deflate_size(12, 2)), commas(ws_deflate_size(13, 2)),
           commas(ws_deflate_size(14, 2)), commas(ws_deflate_size(15, 2)));
}

/* ---- sizes ------------------------------------------------------------ */

static void sizes(void) {
    printf("sizeof_ws_conn %zu\n", sizeof(ws_conn));
    printf("sizeof_conn_x %zu\n", sizeof(conn_x));
    printf("sizeof_conn_x_alloc %zu\n", sizeof(conn_x) + (size_t)WS_MEM_OVERHEAD);
    printf("sizeof_handshake %zu\n", sizeof(handshake));
    printf("sizeof_ws_http_parser %zu\n", sizeof(ws_http_parser));
    printf("sizeof_ws_frame_parser %zu\n", sizeof(ws_frame_parser));
    printf("sizeof_ws_proto %zu\n", sizeof(ws_proto));
    printf("sizeof_ws_pmd_parser %zu\n", sizeof(ws_pmd_parser));
    printf("mem_overhead %d\n", (int)WS_MEM_OVERHEAD);
    printf("read_buf %d\n", READ_BUF_SIZE);
    printf("write_buf %d\n", WRITE_BUF_SIZE);
    printf("batch_iov %d\n", BATCH_IOV);
    printf("batch_copy_max %d\n", BATCH_COPY_MAX);
    printf("write_event_max %d\n", WRITE_EVENT_MAX);
    printf("accept_batch %d\n", ACCEPT_BATCH);
    printf("conn_chunk %d\n", CONN_CHUNK);
    printf("sweep_ms %d\n", SWEEP_MS);
    printf("part_min %d\n", WS_PART_MIN);
    printf("inflate_15 %zu\n", ws_inflate_size(15));
    printf("deflate_15_1 %zu\n", ws_deflate_size(15, 1));
    printf("zip_pair_15_1 %zu\n", ws_inflate_size(15) + ws_deflate_size(15, 1));
    printf("inflate_15_alloc %zu\n", ws_inflate_size(15) + (size_t)WS_MEM_OVERHEAD);
    printf("deflate_15_1_alloc %zu\n", ws_deflate_size(15, 1) + (size_t)WS_MEM_OVERHEAD);
    printf("zip_pair_15_1_alloc %zu\n",
           ws_inflate_size(15) + ws_deflate_size(15, 1) + 2 * (size_t)WS_MEM_OVERHEAD);
    printf("accept_len %d\n", WS_HTTP_ACCEPT_LEN);
    printf("max_target %d\n", WS_HTTP_MAX_TARGET);
    printf("max_key %d\n", WS_HTTP_MAX_KEY);
    char req[512];
    printf("request_len %zu\n", request(req, sizeof(req), 0));
    int len101;
    (void)response_101(&len101);
    printf("response_101_len %d\n", len101);
    printf("max_close_reason %d\n", WS_MAX_CLOSE_REASON);
}

static const struct {
    const char *name;
    void (*fn)(void);
} gens[] = {
    { "frame-text", frame_text },
    { "frame-masked", frame_masked },
    { "unmask-table", unmask_table },
    { "unmask-rows", unmask_rows },
    { "frame-fragments", frame_fragments },
    { "frame-fragments-masked", frame_fragments_masked },
    { "ping-pong", ping_pong },
    { "frame-256", frame_256 },
    { "frame-65536", frame_65536 },
    { "header-table", header_table },
    { "fail-table", fail_table },
    { "hel-ping-lo", hel_ping_lo_dump },
    { "hel-ping-lo-events", hel_ping_lo_events },
    { "close-unmasked", close_unmasked },
    { "utf8-states", utf8_states },
    { "euro-fragments", euro_fragments },
    { "request-tour", request_tour },
    { "request-minimal", request_minimal },
    { "request-rfc", request_rfc },
    { "accept-string", accept_string },
    { "accept-hex", accept_hex },
    { "sha1-block1", sha1_block1 },
    { "sha1-block2", sha1_block2 },
    { "sha1-state", sha1_state },
    { "sha1-digest", sha1_digest },
    { "accept-header", accept_header },
    { "response-101", print_response_101 },
    { "response-426", response_426 },
    { "response-and-echo", response_and_echo },
    { "inflate-sizes", inflate_sizes },
    { "pmd-declined", pmd_declined },
    { "deflate-hello-frame", deflate_hello_frame },
    { "deflate-hello-bits", deflate_hello_bits },
    { "deflate-hello2-bits", deflate_hello2_bits },
    { "deflate-sizes", deflate_sizes },
    { "sizes", sizes },
};

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "list")) {
        for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) puts(gens[i].name);
        return 0;
    }
    for (size_t i = 0; argc == 2 && i < sizeof(gens) / sizeof(gens[0]); i++) {
        if (strcmp(argv[1], gens[i].name)) continue;
        gens[i].fn();
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(stderr, "usage: %s NAME (%s list: the names)\n", argv[0], argv[0]);
    return 2;
}

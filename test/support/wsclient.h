/*
 * wsclient.h -- a small WebSocket client for the integration tests.
 *
 * Blocking in style, bounded in fact: every call that waits for the network
 * polls with a timeout (c->timeout_ms) and fails instead of hanging. It
 * plays the client side of RFC 6455 and nothing more:
 *
 *   - the opening handshake (§4.1) with a random key, checking the 101 and
 *     the Sec-WebSocket-Accept value (§4.2.2) with the project's own
 *     ws_http_accept_key();
 *   - masked frames (§5.3) with any first header byte -- FIN, RSV bits and
 *     opcode are not checked, so tests can send every kind of bad frame --
 *     and, for the one test that needs it, unmasked ones;
 *   - reading the server's frames, checking they are unmasked (§5.1) and
 *     have no RSV bits, and reassembling fragmented messages (§5.4);
 *   - raw bytes both ways, for HTTP tests and hand-made frames.
 *
 * Functions return 0 (or a documented non-negative value) on success and
 * -1 on failure, with a sentence saying why in c->err. Use WSC_OK() in a
 * cmocka test to fail with that sentence.
 */
#ifndef WS_TEST_WSCLIENT_H
#define WS_TEST_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "rfc6455.h"
#include "spawn.h"

#define WSC_IN_CAP (16 * 1024)

typedef struct wsc {
    int fd;                /* -1 when closed */
    unsigned timeout_ms;   /* bound on each wait; set by wsc_connect */
    uint8_t mask[4];       /* masking key of the frame being sent */
    uint64_t mask_off;     /* payload bytes of that frame sent so far */
    uint8_t *in;           /* received bytes not consumed yet: */
    size_t in_off, in_len; /*   in[in_off .. in_len) */
    size_t in_cap;         /* bytes allocated at in */
    /* permessage-deflate (RFC 7692), when wsc_handshake_ext() agreed on it:
     * zlib plays our side (a test-only oracle). */
    int pmd;                 /* 1: negotiated */
    int pmd_server_nct;      /* the server resets its compressor per message */
    int pmd_client_nct;      /* we reset ours per message */
    int pmd_server_bits;     /* the server's window, 8..15 */
    void *zin, *zout;        /* z_stream: inflating the server's messages,
                                deflating ours */
    int duplex;              /* 1: while a send waits for room, read what the
                                server sends meanwhile into in (a client that
                                reads while it writes, as real ones do); 0:
                                never read while sending (a peer that does
                                not read). wsc_connect sets 0. */
    char err[256];           /* why the last call failed */
    uint64_t bytes_sent;     /* to the socket, since wsc_connect */
    uint64_t bytes_received; /* from the socket */
    int last_compressed;     /* the last message read had RSV1 */
    size_t last_wire_len;    /* ... and this many payload bytes on the wire */
} wsc;

/* One frame from the server. payload is malloc'd (len + 1 bytes, the
 * extra one a NUL so text can be printed); free with wsc_frame_free(). */
typedef struct wsc_frame {
    uint8_t fin;
    uint8_t rsv; /* the three RSV bits, in place (0x70 mask) */
    uint8_t opcode;
    uint8_t *payload;
    size_t len;
} wsc_frame;

/* ---- Connections ---------------------------------------------------- */

/* Connect over TCP (TCP_NODELAY, so every send is its own segment).
 * Sets c->timeout_ms to 5 s, scaled by ts_scale(). */
int wsc_connect(wsc *c, const char *host, unsigned port);

/* Connect to a test server and complete the opening handshake. */
int wsc_open(wsc *c, const ts_server *s);

/* Send a valid opening handshake for target (e.g. "/") with a fresh random
 * key and check the answer: 101, Upgrade: websocket, Connection: upgrade,
 * and the right Sec-WebSocket-Accept. Bytes after the response head stay
 * buffered for the frame functions. */
int wsc_handshake(wsc *c, const char *target);

/* The handshake with extra request header lines (each ending in CRLF, e.g.
 * "Sec-WebSocket-Extensions: permessage-deflate\r\n"); the response head
 * goes into head (cap bytes). If the response agrees on permessage-deflate,
 * sets up c->pmd and zlib to speak it (a response that names parameters
 * the offer did not allow fails). */
int wsc_handshake_ext(wsc *c, const char *target, const char *extra, char *head, size_t cap);

/* Close the socket and free the buffer. Safe to call twice. */
void wsc_close(wsc *c);

/* Close with SO_LINGER 0: the kernel sends RST instead of FIN. */
void wsc_reset(wsc *c);

/* shutdown(SHUT_WR): send our FIN, keep reading. */
void wsc_shutdown_write(wsc *c);

/* ---- Raw bytes ------------------------------------------------------- */

/* Send all len bytes (waiting for buffer space up to timeout_ms). */
int wsc_send_raw(wsc *c, const void *data, size_t len);

/* Receive up to cap bytes, waiting up to timeout_ms (0: c->timeout_ms).
 * Returns the number of bytes (> 0), 0 at EOF, -1 on timeout or error
 * (c->err says which; errno is ETIMEDOUT on timeout). */
long wsc_recv_some(wsc *c, void *buf, size_t cap, unsigned timeout_ms);

/* Receive exactly n bytes. */
int wsc_recv_exact(wsc *c, void *buf, size_t n);

/* ---- HTTP ------------------------------------------------------------ */

/* Read a response head (through the empty line) into head (NUL-terminated,
 * at most cap - 1 bytes). Returns the status code, or -1. */
int wsc_read_http_head(wsc *c, char *head, size_t cap);

/* Copy the value of header name (case-insensitive) from a response head
 * into out. Returns 0, or -1 if absent. */
int wsc_http_header(const char *head, const char *name, char *out, size_t cap);

/* Read the body announced by the Content-Length of head. *body is
 * malloc'd (plus a NUL). */
int wsc_read_http_body(wsc *c, const char *head, uint8_t **body, size_t *len);

/* ---- Frames we send -------------------------------------------------- */

/* A masked frame: b0 is the whole first header byte (WS_FIN | WS_RSV1 |
 * opcode ...), sent as given; the length field and a random mask are
 * added by ws_frame_header_masked(). */
int wsc_send_frame(wsc *c, unsigned b0, const void *payload, size_t len);

/* Only the header of a masked frame declaring len bytes; follow with
 * wsc_send_payload() calls (or none at all, for a lying header). */
int wsc_send_frame_header(wsc *c, unsigned b0, uint64_t len);

/* Payload bytes of the frame started by wsc_send_frame_header(), masked
 * where the previous part left off. */
int wsc_send_payload(wsc *c, const void *data, size_t len);

/* A frame without a mask, as only a server may send (RFC 6455 §5.1). */
int wsc_send_unmasked(wsc *c, unsigned b0, const void *payload, size_t len);

/* One whole message compressed (RFC 7692 §7.2.1) in one frame with RSV1
 * set (needs c->pmd). */
int wsc_send_compressed(wsc *c, int opcode, const void *data, size_t len);

/* Compress a message as wsc_send_compressed() would, into a malloc'd
 * buffer (*out, *out_len), without sending it: for tests that frame the
 * bytes themselves. */
int wsc_compress(wsc *c, const void *data, size_t len, uint8_t **out, size_t *out_len);

/* One whole message in one frame: FIN + opcode. */
int wsc_send_message(wsc *c, int opcode, const void *data, size_t len);

/* A close frame with code and reason (NULL: none); code < 0: empty. */
int wsc_send_close(wsc *c, int code, const char *reason);

/* ---- Frames we receive ----------------------------------------------- */

/* The opcode of the next frame, without consuming it (-1: error/EOF). */
int wsc_peek_opcode(wsc *c);

/* Read one frame. Fails if it is masked or longer than 64 MiB. */
int wsc_read_frame(wsc *c, wsc_frame *f);
void wsc_frame_free(wsc_frame *f);

/* Read one data message, joining continuation frames. A message whose
 * first frame has RSV1 is inflated (if permessage-deflate was agreed;
 * c->last_compressed tells which it was). Fails on RSV bits otherwise, RSV1
 * on a continuation, a control frame in between (c->err names it), or a
 * bad sequence. *data is malloc'd (plus a NUL). */
int wsc_read_message(wsc *c, int *opcode, uint8_t **data, size_t *len);

/* Read one message and check it is opcode with exactly these bytes. */
int wsc_expect_message(wsc *c, int opcode, const void *data, size_t len);

/* The next frame must be a close frame carrying status code. */
int wsc_expect_close(wsc *c, unsigned code);

/* The server must close TCP next: a clean EOF (its FIN), with no bytes
 * before it, within timeout_ms (0: c->timeout_ms). A reset is a failure. */
int wsc_expect_eof(wsc *c, unsigned timeout_ms);

/* Discard whatever arrives until the connection ends by EOF or reset.
 * Returns 0 once it has, -1 if it is still open after timeout_ms. */
int wsc_wait_closed(wsc *c, unsigned timeout_ms);

/* For cmocka tests (include <cmocka.h> first): fail the test with the
 * client's explanation when call does not return 0. */
#define WSC_OK(c, call)                                                                            \
    do {                                                                                           \
        if ((call) != 0) fail_msg("%s: %s", #call, (c)->err);                                      \
    } while (0)

#endif /* WS_TEST_WSCLIENT_H */

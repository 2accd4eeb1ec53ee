/*
 * upper.c -- a server that answers every text message in capitals and
 * every binary message unchanged: a complete application on the ws6455
 * library (include/server.h), and the example of docs/handlers.md.
 *
 *   make examples
 *   build/examples/upper --port 8080
 *
 * Only the 26 ASCII letters a-z change; every other byte goes back as it
 * came. That keeps text valid UTF-8 (RFC 6455 §5.6, §8.1: a text message
 * must be UTF-8, and the peer fails the connection with 1007 if it is
 * not): in UTF-8 every byte of a character of two or more bytes is 0x80
 * or above (RFC 3629 §3), so a byte from 'a' to 'z' is always a whole
 * character, and replacing it with another ASCII byte cannot break a
 * character around it. It also keeps the length, and it works on any cut
 * of the message, so a part that ends inside a character needs nothing
 * carried over to the next. Capitals for the rest of Unicode ("é" to
 * "É", "ß" to "SS") need the Unicode tables and, for some characters, a
 * different length; libc's toupper() is no help, because it maps single
 * bytes by the locale, and in a Latin-1 locale it would turn the second
 * byte of "é" (c3 a9) into c3 89, another character.
 *
 * The callbacks, and what each shows:
 *
 *   on_open     per-connection data (ws_conn_set_user): a tally
 *   on_message  a whole message: one reply, or a reply in parts
 *   on_part     a large message as it arrives: the reply streams
 *   on_close    the tally is logged and freed
 *
 * What a send that fails means, and what to do then, is send_failed().
 */
#include "log.h"
#include "server.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A connection's own data, from on_open to on_close. */
typedef struct tally {
    unsigned long messages;
    unsigned long long bytes;
} tally;

/* Replies are built here, a piece at a time. One buffer is enough for
 * every connection: a worker runs one callback at a time, and ws_send()
 * has copied or written the bytes before it returns. */
static uint8_t scratch[16384];

/* dst[i] = src[i] with a-z made A-Z: the only bytes that change. */
static void capitals(uint8_t *dst, const uint8_t *src, size_t len) {
    for (size_t i = 0; i < len; i++)
        dst[i] = (uint8_t)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - ('a' - 'A') : src[i]);
}

/* A send returned -1 on an open connection: nothing was sent. Either the
 * peer does not read its replies (its queue is full) or the worker's
 * memory budget has no room. Waiting is not an option (a handler must not
 * block), and dropping the reply would be a silent lie, so the connection
 * is closed with the code that says why (RFC 6455 §7.4.1; 1013 is the
 * IANA registry's "Try Again Later"). */
static void send_failed(ws_conn *c) {
    if (!ws_conn_open(c)) return;
    if (ws_conn_queued(c) >= ws_conn_queue_limit(c))
        ws_close(c, WS_CLOSE_POLICY_VIOLATION, "upper: the replies are not being read");
    else
        ws_close(c, WS_CLOSE_TRY_AGAIN_LATER, "upper: server memory full, try again later");
}

/* Send len bytes of text in capitals as parts of one reply, a frame per
 * scratchful (RFC 6455 §5.4): first says the reply starts here, last that
 * it ends with these bytes. An empty last part still sends its frame,
 * the one with FIN set. Returns 0, or -1 if a part could not be sent. */
static int send_capitals(ws_conn *c, const uint8_t *data, size_t len, int first, int last) {
    do {
        size_t n = len < sizeof(scratch) ? len : sizeof(scratch);
        capitals(scratch, data, n);
        if (ws_send_part(c, WS_OP_TEXT, first, last && n == len, scratch, n) < 0) return -1;
        first = 0;
        data += n;
        len -= n;
    } while (len > 0);
    return 0;
}

static void count(ws_conn *c, size_t len, int last) {
    tally *t = ws_conn_user(c);
    if (!t) return;
    t->bytes += len;
    if (last) t->messages++;
}

static void upper_open(ws_conn *c, void *ud) {
    tally *t = calloc(1, sizeof(*t));
    (void)ud;
    if (!t) {
        ws_close(c, WS_CLOSE_TRY_AGAIN_LATER, "upper: server memory full, try again later");
        return;
    }
    ws_conn_set_user(c, t);
}

/* A whole message. data is the server's (often its read buffer), valid
 * only during the call, and read-only: the reply is made in scratch. */
static void upper_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    int rc;
    (void)ud;
    count(c, len, 1);
    if (!is_text) {
        rc = ws_send(c, WS_OP_BINARY, data, len);
    } else if (len <= sizeof(scratch)) {
        capitals(scratch, data, len);
        rc = ws_send(c, WS_OP_TEXT, scratch, len);
    } else {
        rc = send_capitals(c, data, len, 1, 1);
    }
    if (rc < 0) send_failed(c);
}

/* A large message, part by part as the reads bring it (server.h): each
 * part is answered at once, so the server never holds the whole message
 * and the reply starts before the message has ended. A text part may end
 * inside a UTF-8 character; capitals() does not mind (see the top). */
static void upper_part(ws_conn *c, const uint8_t *data, size_t len, int first, int last,
                       int is_text, void *ud) {
    int rc;
    (void)ud;
    count(c, len, last);
    if (is_text)
        rc = send_capitals(c, data, len, first, last);
    else
        rc = ws_send_part(c, WS_OP_BINARY, first, last, data, len);
    if (rc < 0) send_failed(c);
}

/* code is the status the close handshake carried (RFC 6455 §7.4), 1006 if
 * the TCP connection just ended. After this call c is gone. */
static void upper_close(ws_conn *c, unsigned code, void *ud) {
    tally *t = ws_conn_user(c);
    (void)ud;
    if (!t) return;
    ws_log(WS_LOG_INFO, "upper: client #%u: %lu messages, %llu bytes, closed with %u",
           ws_conn_id(c), t->messages, t->bytes, code);
    ws_conn_set_user(c, NULL);
    free(t);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "workers", required_argument, NULL, 'w' },
        { "log-level", required_argument, NULL, 'l' },
        { "client-dir", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    static const ws_handler handler = {
        .name = "upper",
        .on_open = upper_open,
        .on_message = upper_message,
        .on_part = upper_part,
        .on_close = upper_close,
    };
    ws_server_config cfg;
    char err[256];
    int opt;

    ws_server_config_defaults(&cfg);
    cfg.handler = &handler;
    cfg.client_dir = NULL; /* no page unless --client-dir names one */
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'H': cfg.host = optarg; break;
        case 'p': cfg.port = (unsigned)atoi(optarg); break;
        case 'w': cfg.workers = (unsigned)atoi(optarg); break;
        case 'l': ws_log_level = ws_log_parse_level(optarg); break;
        case 'c': cfg.client_dir = optarg; break;
        default:
            fprintf(stderr, "usage: upper [--host A] [--port N] [--workers N] [--log-level L]\n");
            return 2;
        }
    }
    if (ws_log_level < 0) {
        fprintf(stderr, "upper: --log-level must be error, warn, info or debug\n");
        return 2;
    }
    if (ws_server_config_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "upper: %s\n", err);
        return 2;
    }
    return ws_server_run(&cfg) == 0 ? 0 : 1;
}

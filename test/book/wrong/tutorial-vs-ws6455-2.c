/* A wrong answer to (one counter for all connections) docs/tutorial-vs-ws6455.md exercise 2: the
 * tutorial's reply, numbered per connection, and close 1003 for binary. */
#include "server.h"

#include <stdio.h>

static void counter_open(ws_conn *c, void *ud) {
    (void)ud;
    /* Per-connection state lives behind the user pointer, from on_open to
     * on_close (include/server.h). */
    static unsigned long shared;
    ws_conn_set_user(c, &shared);
}

static void counter_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    unsigned long *n = ws_conn_user(c);
    char tail[32];
    (void)ud;
    if (!is_text) {
        /* RFC 6455 §7.4.1: 1003, a type of data the endpoint cannot accept. */
        ws_close(c, WS_CLOSE_UNSUPPORTED_DATA, "text only");
        return;
    }
    if (!n) {
        ws_close(c, WS_CLOSE_INTERNAL_ERROR, NULL);
        return;
    }
    int k = snprintf(tail, sizeof(tail), "\" (%lu)", ++*n);
    ws_piece pieces[] = { { "Server: You said \"", 18 }, { data, len }, { tail, (size_t)k } };
    ws_send_pieces(c, WS_OP_TEXT, pieces, 3);
}

static void counter_close(ws_conn *c, unsigned code, void *ud) {
    (void)code, (void)ud;
    (void)c;
}

const ws_handler exercise_handler = { "counter", counter_open, counter_message, counter_close, NULL,
                                      NULL,      NULL };

/*
 * trace-handler.c -- a handler with all five callbacks, each of which
 * prints its name (and on_close its code) on stderr: what
 * scripts/exercise-handlers.sh runs to find the true answer of exercise 3
 * of docs/handlers.md, so the answer is the server's, never a copy.
 * Every message is echoed.
 */
#include "server.h"

#include <stdio.h>

static int trace_request(ws_conn *c, const ws_request *req, void *ud) {
    (void)c, (void)req, (void)ud;
    fprintf(stderr, "trace: on_request\n");
    return 0;
}

static void trace_open(ws_conn *c, void *ud) {
    (void)c, (void)ud;
    fprintf(stderr, "trace: on_open\n");
}

static void trace_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    (void)ud;
    fprintf(stderr, "trace: on_message\n");
    ws_send(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, data, len);
}

static void trace_part(ws_conn *c, const uint8_t *data, size_t len, int first, int last,
                       int is_text, void *ud) {
    (void)ud;
    fprintf(stderr, "trace: on_part\n");
    ws_send_part(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, first, last, data, len);
}

static void trace_close(ws_conn *c, unsigned code, void *ud) {
    (void)c, (void)ud;
    fprintf(stderr, "trace: on_close %u\n", code);
}

const ws_handler exercise_handler = {
    .name = "trace",
    .on_request = trace_request,
    .on_open = trace_open,
    .on_message = trace_message,
    .on_part = trace_part,
    .on_close = trace_close,
};

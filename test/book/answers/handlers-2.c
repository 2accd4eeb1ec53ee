/*
 * handlers-2.c -- an answer to exercise 2 of docs/handlers.md: only the
 * target "/count" is let in (404 otherwise), and each message is answered
 * with the number of messages its connection has sent so far.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count_request(ws_conn *c, const ws_request *req, void *ud) {
    (void)c, (void)ud;
    return strcmp(ws_request_target(req), "/count") == 0 ? 0 : 404;
}

/* The count lives with the connection, from on_open to on_close. */
static void count_open(ws_conn *c, void *ud) {
    unsigned long *n = calloc(1, sizeof(*n));
    (void)ud;
    if (!n) {
        ws_close(c, WS_CLOSE_TRY_AGAIN_LATER, "no memory");
        return;
    }
    ws_conn_set_user(c, n);
}

static void count_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    unsigned long *n = ws_conn_user(c);
    char text[24];
    (void)data, (void)len, (void)is_text, (void)ud;
    if (!n) return;
    int k = snprintf(text, sizeof(text), "%lu", ++*n);
    ws_send(c, WS_OP_TEXT, text, (size_t)k);
}

static void count_close(ws_conn *c, unsigned code, void *ud) {
    (void)code, (void)ud;
    free(ws_conn_user(c));
    ws_conn_set_user(c, NULL);
}

const ws_handler exercise_handler = {
    .name = "count",
    .on_request = count_request,
    .on_open = count_open,
    .on_message = count_message,
    .on_close = count_close,
};

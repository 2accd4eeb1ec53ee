/*
 * handlers-2-wrong.c -- a plausible wrong answer to exercise 2 of
 * docs/handlers.md, which the checker must refuse: one counter for the
 * whole worker instead of one per connection.
 */
#include "server.h"

#include <stdio.h>
#include <string.h>

static unsigned long count;

static int count_request(ws_conn *c, const ws_request *req, void *ud) {
    (void)c, (void)ud;
    return strcmp(ws_request_target(req), "/count") == 0 ? 0 : 404;
}

static void count_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    char text[24];
    (void)data, (void)len, (void)is_text, (void)ud;
    int k = snprintf(text, sizeof(text), "%lu", ++count);
    ws_send(c, WS_OP_TEXT, text, (size_t)k);
}

const ws_handler exercise_handler = {
    .name = "count",
    .on_request = count_request,
    .on_message = count_message,
};

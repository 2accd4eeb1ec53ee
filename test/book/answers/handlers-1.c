/*
 * handlers-1.c -- an answer to exercise 1 of docs/handlers.md: every
 * message is answered with its length in bytes, as decimal text.
 *
 * Without on_part the server assembles each message whole (up to
 * --max-message), so on_message sees every byte count at once. (With
 * on_part, the parts' lengths would be added up in the connection's user
 * data and the answer sent at the last part.)
 */
#include "server.h"

#include <stdio.h>

static void bytes_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    char text[24];
    int n = snprintf(text, sizeof(text), "%zu", len);
    (void)data, (void)is_text, (void)ud;
    ws_send(c, WS_OP_TEXT, text, (size_t)n);
}

const ws_handler exercise_handler = { .name = "bytes", .on_message = bytes_message };

/*
 * handlers-1-wrong.c -- a plausible wrong answer to exercise 1 of
 * docs/handlers.md, which the checker must refuse: it counts characters
 * (bytes that do not continue a UTF-8 sequence), not bytes.
 */
#include "server.h"

#include <stdio.h>

static void chars_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    char text[24];
    size_t chars = 0;
    (void)ud;
    for (size_t i = 0; i < len; i++) chars += !is_text || (data[i] & 0xc0) != 0x80;
    int n = snprintf(text, sizeof(text), "%zu", chars);
    ws_send(c, WS_OP_TEXT, text, (size_t)n);
}

const ws_handler exercise_handler = { .name = "chars", .on_message = chars_message };

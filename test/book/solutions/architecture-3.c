/* A reference solution to docs/architecture.md exercise 3: a handler that
 * shouts text back, echoes binary, and closes on "bye". */
#include "server.h"

#include <string.h>

static void shout_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    uint8_t out[4096];
    (void)ud;
    if (is_text && len == 3 && memcmp(data, "bye", 3) == 0) {
        /* RFC 6455 §7.4.1: 1000, a normal closure; the server sends the
         * close frame and the closing handshake goes on from there. */
        ws_close(c, WS_CLOSE_NORMAL, "see you");
        return;
    }
    if (!is_text || len > sizeof(out)) {
        ws_send(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, data, len);
        return;
    }
    /* Only ASCII letters change: every byte of a multi-byte UTF-8
     * character is 0x80 or more, so the text stays valid UTF-8. */
    for (size_t i = 0; i < len; i++)
        out[i] = (data[i] >= 'a' && data[i] <= 'z') ? (uint8_t)(data[i] - 32) : data[i];
    ws_send(c, WS_OP_TEXT, out, len);
}

const ws_handler exercise_handler = { "shout", NULL, shout_message, NULL, NULL, NULL, NULL };

/*
 * handlers.c -- echo, said and chat.
 *
 * The chat room keeps the open connections in an array. A message is
 * relayed to everyone with ws_send(), which writes at once or queues; a
 * receiver whose queue is already over --max-queue is not allowed to slow
 * the room down or to grow memory: it is closed with 1008 (policy
 * violation) and the room goes on. That is the documented slow-receiver
 * policy.
 */
#include "handlers.h"

#include "log.h"
#include "rfc6455.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- echo ---------------------------------------------------------- */

static void echo_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    (void)ud;
    ws_send(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, data, len);
}

/* ---- said: the tutorial's server.js ---------------------------------- */

static void said_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    static const char pre[] = "Server: You said \"", post[] = "\"";
    ws_piece pieces[3] = {
        { pre, sizeof(pre) - 1 },
        { data, len },
        { post, sizeof(post) - 1 },
    };
    (void)ud;
    ws_send_pieces(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, pieces, 3);
}

/* ---- chat ------------------------------------------------------------ */

typedef struct chat_room {
    ws_conn **members;
    size_t n, cap;
} chat_room;

static chat_room room;

/* Send to one member, enforcing the slow-receiver policy. */
static void chat_send(ws_conn *to, int opcode, const void *data, size_t len) {
    if (ws_conn_queued(to) > ws_conn_queue_limit(to)) {
        ws_log(WS_LOG_WARN, "chat: client #%u is not reading (%zu bytes queued): closing 1008",
               ws_conn_id(to), ws_conn_queued(to));
        ws_close(to, WS_CLOSE_POLICY_VIOLATION, "too slow to receive the chat");
        return;
    }
    ws_send(to, opcode, data, len);
}

static void chat_event(const char *type, ws_conn *about, ws_conn *skip) {
    char json[96];
    int n = snprintf(json, sizeof(json), "{\"type\":\"%s\",\"id\":%u,\"online\":%zu}", type,
                     ws_conn_id(about), room.n);
    for (size_t i = 0; i < room.n; i++)
        if (room.members[i] != skip) chat_send(room.members[i], WS_OP_TEXT, json, (size_t)n);
}

static void chat_open(ws_conn *c, void *ud) {
    (void)ud;
    if (room.n == room.cap) {
        size_t cap = room.cap ? room.cap * 2 : 64;
        ws_conn **m = realloc(room.members, cap * sizeof(*m));
        if (!m) {
            ws_close(c, WS_CLOSE_TRY_AGAIN_LATER, "room full");
            return;
        }
        room.members = m;
        room.cap = cap;
    }
    room.members[room.n++] = c;
    char json[96];
    int n = snprintf(json, sizeof(json), "{\"type\":\"welcome\",\"id\":%u,\"online\":%zu}",
                     ws_conn_id(c), room.n);
    ws_send(c, WS_OP_TEXT, json, (size_t)n);
    chat_event("join", c, c);
}

static void chat_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    (void)c;
    (void)ud;
    /* Relayed verbatim, to everyone including the sender, in the order
     * the server received the messages. */
    for (size_t i = 0; i < room.n; i++)
        chat_send(room.members[i], is_text ? WS_OP_TEXT : WS_OP_BINARY, data, len);
}

static void chat_close(ws_conn *c, unsigned code, void *ud) {
    (void)code;
    (void)ud;
    for (size_t i = 0; i < room.n; i++) {
        if (room.members[i] != c) continue;
        room.members[i] = room.members[--room.n];  /* order of members is irrelevant */
        chat_event("leave", c, NULL);
        break;
    }
    if (room.n == 0) {
        free(room.members);
        room = (chat_room){ NULL, 0, 0 };
    }
}

/* ---- the table ---------------------------------------------------------- */

static const ws_handler handlers[] = {
    { "echo", NULL, echo_message, NULL, NULL },
    { "said", NULL, said_message, NULL, NULL },
    { "chat", chat_open, chat_message, chat_close, NULL },
};

const ws_handler *ws_handler_by_name(const char *name) {
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(handlers[i].name, name) == 0) return &handlers[i];
    return NULL;
}

const char *ws_handler_names(void) { return "echo|said|chat"; }

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

/* A large message is echoed part by part as it arrives, each part a
 * fragment of the reply (RFC 6455 §5.4): the server never holds the whole
 * message, and the peer starts receiving its echo before it has finished
 * sending. */
static void echo_part(ws_conn *c, const uint8_t *data, size_t len, int first, int last,
                      int is_text, void *ud) {
    (void)ud;
    ws_send_part(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, first, last, data, len);
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
    uint32_t *gone;       /* ids dropped during a broadcast, still to announce */
    size_t ngone, capgone;
} chat_room;

static chat_room room;

static int room_grow(void **arr, size_t *cap, size_t elem) {
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static void room_remove_at(size_t i) {
    /* Swap-remove: member order is irrelevant, and a loop at index i
     * visits the member moved here next. */
    room.members[i] = room.members[--room.n];
}

/* Send a message to every member but skip. A member whose queue is
 * already over --max-queue is not allowed to slow the room down or grow
 * memory: it is closed with 1008 and leaves the room at once (its leave is
 * announced when the loop is done, never while members are being walked). */
static void broadcast(int opcode, const void *data, size_t len, const ws_conn *skip) {
    size_t i = 0;
    while (i < room.n) {
        ws_conn *to = room.members[i];
        if (to == skip) {
            i++;
            continue;
        }
        if (ws_conn_queued(to) > ws_conn_queue_limit(to)) {
            ws_log(WS_LOG_WARN, "chat: client #%u is not reading (%zu bytes queued): closing 1008",
                   ws_conn_id(to), ws_conn_queued(to));
            ws_close(to, WS_CLOSE_POLICY_VIOLATION, "too slow to receive the chat");
            room_remove_at(i);
            if (room.ngone < room.capgone ||
                room_grow((void **)&room.gone, &room.capgone, sizeof(*room.gone)) == 0)
                room.gone[room.ngone++] = ws_conn_id(to);
            continue;
        }
        ws_send(to, opcode, data, len);
        i++;
    }
}

static void announce(const char *type, uint32_t id, const ws_conn *skip) {
    char json[96];
    int n = snprintf(json, sizeof(json), "{\"type\":\"%s\",\"id\":%u,\"online\":%zu}", type,
                     id, room.n);
    broadcast(WS_OP_TEXT, json, (size_t)n, skip);
}

/* Announce the members a broadcast dropped (which may drop more). */
static void announce_gone(void) {
    while (room.ngone > 0) announce("leave", room.gone[--room.ngone], NULL);
}

static void chat_open(ws_conn *c, void *ud) {
    (void)ud;
    if (room.n == room.cap &&
        room_grow((void **)&room.members, &room.cap, sizeof(*room.members)) < 0) {
        ws_close(c, WS_CLOSE_TRY_AGAIN_LATER, "room full");
        return;
    }
    room.members[room.n++] = c;
    char json[96];
    int n = snprintf(json, sizeof(json), "{\"type\":\"welcome\",\"id\":%u,\"online\":%zu}",
                     ws_conn_id(c), room.n);
    ws_send(c, WS_OP_TEXT, json, (size_t)n);
    announce("join", ws_conn_id(c), c);
    announce_gone();
}

static void chat_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    (void)c;
    (void)ud;
    /* Relayed verbatim, to everyone including the sender, in the order
     * the server received the messages. */
    broadcast(is_text ? WS_OP_TEXT : WS_OP_BINARY, data, len, NULL);
    announce_gone();
}

static void chat_close(ws_conn *c, unsigned code, void *ud) {
    (void)code;
    (void)ud;
    /* A member dropped by broadcast() has left the room already. */
    for (size_t i = 0; i < room.n; i++) {
        if (room.members[i] != c) continue;
        room_remove_at(i);
        announce("leave", ws_conn_id(c), NULL);
        announce_gone();
        break;
    }
    if (room.n == 0) {
        free(room.members);
        free(room.gone);
        memset(&room, 0, sizeof(room));
    }
}

/* ---- the table ---------------------------------------------------------- */

static const ws_handler handlers[] = {
    /* name    on_open    on_message    on_close    on_part    ud */
    { "echo", NULL,      echo_message, NULL,       echo_part, NULL },
    { "said", NULL,      said_message, NULL,       NULL,      NULL },
    { "chat", chat_open, chat_message, chat_close, NULL,      NULL },
};

const ws_handler *ws_handler_by_name(const char *name) {
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(handlers[i].name, name) == 0) return &handlers[i];
    return NULL;
}

const char *ws_handler_names(void) { return "echo|said|chat"; }

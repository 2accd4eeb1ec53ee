/*
 * handlers.c -- echo, said and chat: applications written against the
 * public handler API (server.h) alone.
 *
 * All three stream large messages (on_part), so none of them makes the
 * server hold a whole large message: echo and said answer part by part;
 * chat builds each relayed message once, as a shared message, and queues
 * it to every member by reference. A receiver that cannot keep up (its
 * queue already holds --max-queue) is not allowed to slow the room down or
 * to grow memory: it is closed with 1008 (policy violation) and the room
 * goes on. That is the documented slow-receiver policy.
 */
#include "handlers.h"

#include "log.h"
#include "mem.h"
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
static void echo_part(ws_conn *c, const uint8_t *data, size_t len, int first, int last, int is_text,
                      void *ud) {
    (void)ud;
    ws_send_part(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, first, last, data, len);
}

/* ---- said: the tutorial's server.js ---------------------------------- */

static const char said_pre[] = "Server: You said \"", said_post[] = "\"";

static void said_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    ws_piece pieces[3] = {
        { said_pre, sizeof(said_pre) - 1 },
        { data, len },
        { said_post, sizeof(said_post) - 1 },
    };
    (void)ud;
    ws_send_pieces(c, is_text ? WS_OP_TEXT : WS_OP_BINARY, pieces, 3);
}

/* A large message: the reply streams as it arrives, framed by the quote
 * as the first and last fragments of the reply (RFC 6455 §5.4). */
static void said_part(ws_conn *c, const uint8_t *data, size_t len, int first, int last, int is_text,
                      void *ud) {
    int op = is_text ? WS_OP_TEXT : WS_OP_BINARY;
    (void)ud;
    if (first) ws_send_part(c, op, 1, 0, said_pre, sizeof(said_pre) - 1);
    ws_send_part(c, op, 0, 0, data, len);
    if (last) ws_send_part(c, op, 0, 1, said_post, sizeof(said_post) - 1);
}

/* ---- chat ------------------------------------------------------------ */

/*
 * The room's wire protocol (docs/client.md). Every event is JSON written
 * by the server, and every identity in it is the server's: a member's id
 * is its connection id, its nick is what it set with "/nick", and what a
 * member writes only ever appears inside a JSON string the server escaped.
 * So nothing a member sends can pass for an event or for another member.
 *
 *   to a new member   {"type":"welcome","id":7,"nick":"guest-7","online":3}
 *   to the others     {"type":"join","id":7,"nick":"guest-7","online":3}
 *                     {"type":"leave","id":7,"nick":"alice","online":2}
 *                     {"type":"nick","id":7,"nick":"alice","old":"guest-7"}
 *   to everyone       {"type":"msg","id":7,"nick":"alice","text":"hi"}
 *                     {"type":"binary","id":7,"nick":"alice","bytes":3},
 *                     then that binary message itself
 *   to one member     {"type":"error","text":"..."}
 *
 *   from a member     any text: a message; "/nick NAME" (1-24 of A-Z a-z
 *                     0-9 _ - .): a new nick; binary: relayed as above
 *
 * Each message is built once, as a shared message (server.h), and queued
 * to every member by reference; a large one is escaped part by part as it
 * arrives, so neither memory nor one callback grows with the room.
 */

#define NICK_MAX 24

typedef struct member {
    ws_conn *c;
    size_t index; /* position in room.members */
    uint32_t id;
    char nick[NICK_MAX + 1];
    ws_shared *building; /* a large message arriving in parts */
} member;

/* A member dropped during a broadcast, whose leave is still to announce. */
typedef struct gone {
    uint32_t id;
    char nick[NICK_MAX + 1];
} gone;

typedef struct chat_room {
    member **members;
    size_t n, cap;
    gone *gone;
    size_t ngone, capgone;
} chat_room;

static chat_room room;

/* The room's memory is held for its members: it is counted in the
 * worker's budget (mem.h) like the server's own. */
static int room_grow(void **arr, size_t *cap, size_t elem, size_t want) {
    size_t ncap = *cap;
    void *p;
    if (want <= *cap) return 0;
    while (ncap < want) ncap = ncap ? ncap * 2 : 64;
    p = ws_mem_realloc(WS_MEM_CONN, *arr, *cap * elem, ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Append s as the inside of a JSON string (RFC 8259 §7): the quote, the
 * backslash and the control characters escaped, everything else -- valid
 * UTF-8, the engine checked -- as it is. Works on any cut of the text,
 * since no escape depends on the bytes around it. */
static int append_json_string(ws_shared *m, const uint8_t *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\') j++;
        if (j > i && ws_shared_append(m, s + i, j - i) < 0) return -1;
        if (j == len) break;
        char esc[6] = { '\\', (char)s[j], 0, 0, 0, 0 };
        size_t elen = 2;
        if (s[j] < 0x20) {
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[s[j] >> 4],
            esc[5] = hex[s[j] & 15], elen = 6;
        }
        if (ws_shared_append(m, esc, elen) < 0) return -1;
        i = j + 1;
    }
    return 0;
}

/* A new shared text message that starts {"type":"TYPE","id":ID,"nick":"NICK".
 * (Nicks are from a safe alphabet: no escaping needed.) */
static ws_shared *event_start(const char *type, const member *who) {
    char head[96];
    ws_shared *m = ws_shared_new(WS_OP_TEXT);
    int n = snprintf(head, sizeof(head), "{\"type\":\"%s\",\"id\":%u,\"nick\":\"%s\"", type,
                     who->id, who->nick);
    if (m && ws_shared_append(m, head, (size_t)n) < 0) {
        ws_shared_release(m);
        return NULL;
    }
    return m;
}

/* Append text, and hand the finished event back (or NULL, released). */
static ws_shared *event_finish(ws_shared *m, const char *tail) {
    if (m && ws_shared_append(m, tail, strlen(tail)) < 0) {
        ws_shared_release(m);
        return NULL;
    }
    return m;
}

static void room_remove(member *mb) {
    /* Swap-remove: member order is irrelevant, and a loop at index i
     * visits the member moved here next. */
    member *last = room.members[--room.n];
    room.members[mb->index] = last;
    last->index = mb->index;
}

/* Queue m to every member. A member that is not keeping up (its queue
 * already holds --max-queue) is not allowed to slow the room down or grow
 * memory: it is closed with 1008 and leaves the room at once (its leave is
 * announced when the loop is done, never while members are being walked). */
static void broadcast(ws_shared *m, const member *skip) {
    size_t i = 0;
    while (m && i < room.n) {
        member *to = room.members[i];
        /* A member already closing hears nothing more; its leave comes with
         * its on_close. */
        if (to == skip || !ws_conn_open(to->c) || ws_send_shared(to->c, m) == 0) {
            i++;
            continue;
        }
        if (ws_conn_queued(to->c) < ws_conn_queue_limit(to->c)) {
            /* Open, keeping up, and still refused: no memory for it. */
            ws_close(to->c, WS_CLOSE_TRY_AGAIN_LATER, "chat: server memory full, try again later");
        } else {
            ws_log(WS_LOG_WARN, "chat: client #%u is not reading (%zu bytes queued): closing 1008",
                   to->id, ws_conn_queued(to->c));
            ws_close(to->c, WS_CLOSE_POLICY_VIOLATION, "too slow to receive the chat");
        }
        room_remove(to);
        if (room_grow((void **)&room.gone, &room.capgone, sizeof(*room.gone), room.ngone + 1) ==
            0) {
            room.gone[room.ngone].id = to->id;
            memcpy(room.gone[room.ngone].nick, to->nick, sizeof(to->nick));
            room.ngone++;
        }
        to->index = SIZE_MAX; /* out of the room; freed in chat_close */
    }
}

/* Broadcast a membership event about who (in or out of the room) to
 * everyone but skip. */
static void announce(const char *type, uint32_t id, const char *nick, const member *skip) {
    member who = { .id = id };
    char tail[48];
    snprintf(who.nick, sizeof(who.nick), "%s", nick);
    snprintf(tail, sizeof(tail), ",\"online\":%zu}", room.n);
    ws_shared *m = event_finish(event_start(type, &who), tail);
    broadcast(m, skip);
    ws_shared_release(m);
}

/* Announce the members a broadcast dropped (which may drop more). */
static void announce_gone(void) {
    while (room.ngone > 0) {
        gone g = room.gone[--room.ngone];
        announce("leave", g.id, g.nick, NULL);
    }
}

/* Send one event to one member. */
static void tell(member *mb, const char *json) { ws_send(mb->c, WS_OP_TEXT, json, strlen(json)); }

static void chat_open(ws_conn *c, void *ud) {
    member *mb;
    char json[128];
    (void)ud;
    if (room_grow((void **)&room.members, &room.cap, sizeof(*room.members), room.n + 1) < 0 ||
        !(mb = ws_mem_alloc(WS_MEM_CONN, sizeof(*mb)))) {
        ws_close(c, WS_CLOSE_TRY_AGAIN_LATER, "chat: server memory full, try again later");
        return;
    }
    memset(mb, 0, sizeof(*mb));
    mb->c = c;
    mb->id = ws_conn_id(c);
    snprintf(mb->nick, sizeof(mb->nick), "guest-%u", mb->id);
    mb->index = room.n;
    room.members[room.n++] = mb;
    ws_conn_set_user(c, mb);
    snprintf(json, sizeof(json), "{\"type\":\"welcome\",\"id\":%u,\"nick\":\"%s\",\"online\":%zu}",
             mb->id, mb->nick, room.n);
    tell(mb, json);
    announce("join", mb->id, mb->nick, mb);
    announce_gone();
}

/* "/nick NAME": 1-24 characters of a small alphabet, so a nick can be
 * neither confused with another (no look-alike letters, no bidi marks) nor
 * need escaping. Returns 1 if text was a nick command. */
static int nick_command(member *mb, const uint8_t *text, size_t len) {
    static const char cmd[] = "/nick ";
    char old[NICK_MAX + 1], tail[64];
    size_t n;

    if (len < sizeof(cmd) - 1 || memcmp(text, cmd, sizeof(cmd) - 1) != 0) return 0;
    text += sizeof(cmd) - 1;
    n = len - (sizeof(cmd) - 1);
    for (size_t i = 0; i < n; i++)
        if (!((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
              (text[i] >= '0' && text[i] <= '9') || text[i] == '_' || text[i] == '-' ||
              text[i] == '.'))
            n = 0;
    if (n == 0 || n > NICK_MAX) {
        tell(mb, "{\"type\":\"error\",\"text\":\"a nick is 1 to 24 of A-Z a-z 0-9 _ - .\"}");
        return 1;
    }
    memcpy(old, mb->nick, sizeof(old));
    memcpy(mb->nick, text, n);
    mb->nick[n] = '\0';
    snprintf(tail, sizeof(tail), ",\"old\":\"%s\"}", old);
    ws_shared *m = event_finish(event_start("nick", mb), tail);
    broadcast(m, NULL);
    ws_shared_release(m);
    return 1;
}

/* The budget had no room for this member's message. */
static void no_room(member *mb) {
    ws_close(mb->c, WS_CLOSE_TRY_AGAIN_LATER, "chat: server memory full, try again later");
}

/* Relay a complete message: text inside a msg event; binary after a
 * binary event that says whose it is. */
static void relay(member *mb, ws_shared *body, int is_text) {
    if (is_text) {
        ws_shared *m = event_finish(body, "\"}");
        if (!m) {
            no_room(mb);
            return;
        }
        broadcast(m, NULL);
        ws_shared_release(m);
    } else {
        char tail[48];
        snprintf(tail, sizeof(tail), ",\"bytes\":%zu}", ws_shared_len(body));
        ws_shared *ev = event_finish(event_start("binary", mb), tail);
        if (!ev) {
            ws_shared_release(body);
            no_room(mb);
            return;
        }
        broadcast(ev, NULL);
        broadcast(body, NULL);
        ws_shared_release(ev);
        ws_shared_release(body);
    }
    announce_gone();
}

/* Start a relayed message: a msg event whose text is still to come, or
 * an empty binary message. */
static ws_shared *relay_start(member *mb, int is_text) {
    if (!is_text) return ws_shared_new(WS_OP_BINARY);
    return event_finish(event_start("msg", mb), ",\"text\":\"");
}

static int relay_append(ws_shared *m, const uint8_t *data, size_t len, int is_text) {
    return is_text ? append_json_string(m, data, len) : ws_shared_append(m, data, len);
}

static void chat_message(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud) {
    member *mb = ws_conn_user(c);
    ws_shared *m;
    (void)ud;
    if (!mb || mb->index == SIZE_MAX) return;
    if (is_text && nick_command(mb, data, len)) {
        announce_gone();
        return;
    }
    m = relay_start(mb, is_text);
    if (!m || relay_append(m, data, len, is_text) < 0) {
        ws_shared_release(m);
        no_room(mb);
        return;
    }
    relay(mb, m, is_text);
}

/* A large message, escaped into its event part by part as it arrives:
 * the work is spread over the reads, and the room sees it once whole. */
static void chat_part(ws_conn *c, const uint8_t *data, size_t len, int first, int last, int is_text,
                      void *ud) {
    member *mb = ws_conn_user(c);
    (void)ud;
    if (!mb || mb->index == SIZE_MAX) return;
    if (first) mb->building = relay_start(mb, is_text);
    if (!mb->building) return; /* no room: already closing */
    if (relay_append(mb->building, data, len, is_text) < 0) {
        ws_shared_release(mb->building);
        mb->building = NULL;
        no_room(mb);
        return;
    }
    if (last) {
        ws_shared *m = mb->building;
        mb->building = NULL;
        relay(mb, m, is_text);
    }
}

static void chat_close(ws_conn *c, unsigned code, void *ud) {
    member *mb = ws_conn_user(c);
    (void)code;
    (void)ud;
    if (!mb) return;
    ws_shared_release(mb->building);
    /* A member dropped by broadcast() has left the room already. */
    if (mb->index != SIZE_MAX) {
        room_remove(mb);
        announce("leave", mb->id, mb->nick, NULL);
        announce_gone();
    }
    ws_conn_set_user(c, NULL);
    ws_mem_free(WS_MEM_CONN, mb, sizeof(*mb));
    if (room.n == 0) {
        ws_mem_free(WS_MEM_CONN, room.members, room.cap * sizeof(*room.members));
        ws_mem_free(WS_MEM_CONN, room.gone, room.capgone * sizeof(*room.gone));
        memset(&room, 0, sizeof(room));
    }
}

/* ---- the table ---------------------------------------------------------- */

/* clang-format off */
static const ws_handler handlers[] = {
    /* name    on_open    on_message    on_close    on_part    on_request ud */
    { "echo", NULL,      echo_message, NULL,       echo_part, NULL,      NULL },
    { "said", NULL,      said_message, NULL,       said_part, NULL,      NULL },
    { "chat", chat_open, chat_message, chat_close, chat_part, NULL,      NULL },
};
/* clang-format on */

const ws_handler *ws_handler_by_name(const char *name) {
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(handlers[i].name, name) == 0) return &handlers[i];
    return NULL;
}

const char *ws_handler_names(void) { return "echo|said|chat"; }

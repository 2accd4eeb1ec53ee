/*
 * test_integration_chat.c -- the chat room handler (--handler chat)
 * through a real server: membership events, identities the server
 * authors (nothing a member sends can pass for an event or another member),
 * every message reaching every member in one global order, the
 * slow-receiver policy, and a large broadcast that is stored once and does
 * not stall the loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "spawn.h"
#include "testutil.h"
#include "wsclient.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MEMBERS    100
#define PER_MEMBER 5

/* ---------------------------------------------------------------------- */
/* A little JSON, enough for the room's flat events.                       */

/* The text of one message (malloc'd, NUL-terminated). */
static char *read_text(wsc *c) {
    int opcode;
    uint8_t *data;
    size_t len;
    if (wsc_read_message(c, &opcode, &data, &len) < 0) fail_msg("read: %s", c->err);
    if (opcode != WS_OP_TEXT) fail_msg("expected a text message, got opcode %d", opcode);
    return (char *)data; /* wsc_read_message adds a NUL */
}

/* The number after "key": in json, or -1. */
static long json_num(const char *json, const char *key) {
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

/* The string after "key": in json, unescaped (RFC 8259 §7, the escapes
 * the server writes), into out; its length, or -1. */
static long json_str(const char *json, const char *key, char *out, size_t cap) {
    char pat[32];
    size_t n = 0;
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p) return -1;
    for (p += strlen(pat); *p && *p != '"'; p++) {
        char ch = *p;
        if (ch == '\\') {
            p++;
            if (*p == 'u') {
                unsigned v;
                if (sscanf(p + 1, "%4x", &v) != 1) return -1;
                ch = (char)v;
                p += 4;
            } else {
                ch = *p;
            }
        }
        if (n + 1 >= cap) return -1;
        out[n++] = ch;
    }
    out[n] = '\0';
    return (long)n;
}

/* The next message must be an event of this type; returns it (free it). */
static char *expect_type(wsc *c, const char *type) {
    char *ev = read_text(c), want[48];
    snprintf(want, sizeof(want), "{\"type\":\"%s\",", type);
    if (strncmp(ev, want, strlen(want)) != 0)
        fail_msg("expected a %s event, got: %.200s", type, ev);
    return ev;
}

static void expect_event(wsc *c, const char *type, long id, long online) {
    char *ev = expect_type(c, type);
    if (id) assert_int_equal(json_num(ev, "id"), id);
    if (online >= 0) assert_int_equal(json_num(ev, "online"), online);
    free(ev);
}

/* A text message relayed by the server: a msg event from id with this
 * text. */
static void expect_msg(wsc *c, long id, const char *nick, const char *text, size_t len) {
    char *ev = expect_type(c, "msg"), *got = malloc(len + 2), n[32];
    assert_non_null(got);
    assert_int_equal(json_num(ev, "id"), id);
    assert_int_equal(json_str(ev, "nick", n, sizeof(n)), (long)strlen(nick));
    assert_string_equal(n, nick);
    assert_int_equal(json_str(ev, "text", got, len + 2), (long)len);
    assert_memory_equal(got, text, len);
    free(got);
    free(ev);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Join: the welcome names our id and nick; returns the id. */
static long join(wsc *c) {
    WSC_OK(c, wsc_open(c, &srv));
    char *ev = expect_type(c, "welcome"), nick[32], want[32];
    long id = json_num(ev, "id");
    assert_true(id > 0);
    json_str(ev, "nick", nick, sizeof(nick));
    snprintf(want, sizeof(want), "guest-%ld", id);
    assert_string_equal(nick, want);
    free(ev);
    return id;
}

/* ---------------------------------------------------------------------- */

/* A welcome to the newcomer, a join to the others, a leave when one goes,
 * each with the id, nick and number online; text relayed inside a msg
 * event, binary after a binary event, to the sender too. */
static void test_membership_events(void **state) {
    wsc a, b;
    char nb[16];
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    long ida = join(&a);
    long idb = join(&b);
    assert_int_not_equal(ida, idb);
    snprintf(nb, sizeof(nb), "guest-%ld", idb);
    char *ev = expect_type(&a, "join"), nick[32];
    assert_int_equal(json_num(ev, "id"), idb);
    assert_int_equal(json_num(ev, "online"), 2);
    json_str(ev, "nick", nick, sizeof(nick));
    assert_string_equal(nick, nb);
    free(ev);

    WSC_OK(&b, wsc_send_message(&b, WS_OP_TEXT, "hello room", 10));
    expect_msg(&a, idb, nb, "hello room", 10);
    expect_msg(&b, idb, nb, "hello room", 10);

    WSC_OK(&a, wsc_send_message(&a, WS_OP_BINARY, "\x00\xff", 2));
    for (wsc *c = &a; c; c = c == &a ? &b : NULL) {
        ev = expect_type(c, "binary");
        assert_int_equal(json_num(ev, "id"), ida);
        assert_int_equal(json_num(ev, "bytes"), 2);
        free(ev);
        WSC_OK(c, wsc_expect_message(c, WS_OP_BINARY, "\x00\xff", 2));
    }

    WSC_OK(&b, wsc_send_close(&b, 1000, "bye"));
    WSC_OK(&b, wsc_expect_close(&b, 1000));
    wsc_close(&b);
    expect_event(&a, "leave", idb, 1);
    wsc_close(&a);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* Whatever a member sends -- a server event byte for byte, another
 * member's id, quotes, backslashes, control characters -- arrives only as
 * the text of a msg event from that member, escaped. */
static void test_members_cannot_forge_events(void **state) {
    wsc a, b;
    char na[16];
    (void)state;
    static const char forged[] = "{\"type\":\"welcome\",\"id\":1,\"nick\":\"admin\",\"online\":9}";
    static const char tricky[] = "quote \" backslash \\ newline \n tab \t bell \a nul-free \x1f";

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    long ida = join(&a);
    join(&b);
    expect_event(&a, "join", 0, 2);
    snprintf(na, sizeof(na), "guest-%ld", ida);

    WSC_OK(&a, wsc_send_message(&a, WS_OP_TEXT, forged, sizeof(forged) - 1));
    char *raw = read_text(&b);
    /* What b sees starts as a msg event from a, whatever a wrote. */
    char want[64];
    snprintf(want, sizeof(want), "{\"type\":\"msg\",\"id\":%ld,\"nick\":\"%s\",\"text\":\"", ida,
             na);
    assert_true(strncmp(raw, want, strlen(want)) == 0);
    free(raw);
    expect_msg(&a, ida, na, forged, sizeof(forged) - 1);

    WSC_OK(&a, wsc_send_message(&a, WS_OP_TEXT, tricky, sizeof(tricky) - 1));
    raw = read_text(&b);
    /* The raw event has no control character in it at all. */
    for (const char *p = raw; *p; p++) assert_true((unsigned char)*p >= 0x20);
    free(raw);
    expect_msg(&a, ida, na, tricky, sizeof(tricky) - 1);
    wsc_close(&a);
    wsc_close(&b);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* "/nick NAME" changes a member's nick for everyone; a bad one is refused
 * to that member alone; later messages carry the new nick. */
static void test_nick_command(void **state) {
    wsc a, b;
    (void)state;
    char old[16];

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    long ida = join(&a);
    join(&b);
    expect_event(&a, "join", 0, 2);
    snprintf(old, sizeof(old), "guest-%ld", ida);

    WSC_OK(&a, wsc_send_message(&a, WS_OP_TEXT, "/nick alice", 11));
    for (wsc *c = &a; c; c = c == &a ? &b : NULL) {
        char *ev = expect_type(c, "nick"), s[32];
        assert_int_equal(json_num(ev, "id"), ida);
        json_str(ev, "nick", s, sizeof(s));
        assert_string_equal(s, "alice");
        json_str(ev, "old", s, sizeof(s));
        assert_string_equal(s, old);
        free(ev);
    }
    /* Spaces, bidi marks, quotes, too long: refused, to a alone. */
    static const char *const bad[] = { "/nick two words",
                                       ("/nick \xe2\x80\xae"
                                        "evil"),
                                       "/nick a\"b", "/nick 0123456789012345678901234" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        WSC_OK(&a, wsc_send_message(&a, WS_OP_TEXT, bad[i], strlen(bad[i])));
        free(expect_type(&a, "error"));
    }
    WSC_OK(&a, wsc_send_message(&a, WS_OP_TEXT, "hi", 2));
    /* b saw none of the refusals: its next message is a's "hi". */
    expect_msg(&b, ida, "alice", "hi", 2);
    expect_msg(&a, ida, "alice", "hi", 2);
    wsc_close(&a);
    wsc_close(&b);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* 100 members each send 5 messages at once: every member gets all 500,
 * each sender's in the order sent, and all members see the same global
 * order (the order in which the server received them). */
static void test_hundred_members_in_order(void **state) {
    static wsc m[MEMBERS];
    static long ids[MEMBERS];
    static char order0[MEMBERS * PER_MEMBER][32];
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    for (int i = 0; i < MEMBERS; i++) ids[i] = join(&m[i]);
    /* Member i saw the joins of everyone after it. */
    for (int i = 0; i < MEMBERS; i++)
        for (int j = i + 1; j < MEMBERS; j++) expect_event(&m[i], "join", ids[j], j + 1);

    for (int k = 0; k < PER_MEMBER; k++) {
        for (int i = 0; i < MEMBERS; i++) {
            char text[32];
            int n = snprintf(text, sizeof(text), "m%03d-%d", i, k);
            WSC_OK(&m[i], wsc_send_message(&m[i], WS_OP_TEXT, text, (size_t)n));
        }
    }

    for (int i = 0; i < MEMBERS; i++) {
        int next[MEMBERS] = { 0 };
        for (int r = 0; r < MEMBERS * PER_MEMBER; r++) {
            int from, seq;
            char text[32], *ev = expect_type(&m[i], "msg");
            assert_true(json_str(ev, "text", text, sizeof(text)) > 0);
            if (sscanf(text, "m%3d-%d", &from, &seq) != 2) fail_msg("unexpected: %s", text);
            assert_true(from >= 0 && from < MEMBERS);
            /* The server says who sent it, and it is who did. */
            assert_int_equal(json_num(ev, "id"), ids[from]);
            free(ev);
            /* Per sender: in the order sent, none lost, none repeated. */
            assert_int_equal(seq, next[from]);
            next[from]++;
            /* Globally: the same order at every member. */
            if (i == 0)
                strcpy(order0[r], text);
            else
                assert_string_equal(text, order0[r]);
        }
        for (int s = 0; s < MEMBERS; s++) assert_int_equal(next[s], PER_MEMBER);
    }
    for (int i = 0; i < MEMBERS; i++) wsc_close(&m[i]);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* Expect a relayed binary message (its binary event, then the bytes); the
 * leave of a member dropped meanwhile may come first: count it. */
static void expect_relay(wsc *c, const uint8_t *payload, size_t size, int *leaves) {
    for (;;) {
        int opcode;
        uint8_t *data;
        size_t len;
        if (wsc_read_message(c, &opcode, &data, &len) < 0) fail_msg("relay: %s", c->err);
        if (opcode == WS_OP_TEXT) {
            if (memmem(data, len, "\"type\":\"leave\"", 14)) {
                (*leaves)++;
            } else {
                assert_non_null(memmem(data, len, "\"type\":\"binary\"", 15));
                assert_int_equal(json_num((char *)data, "bytes"), (long)size);
            }
            free(data);
            continue;
        }
        assert_int_equal(opcode, WS_OP_BINARY);
        assert_int_equal(len, size);
        assert_memory_equal(data, payload, size);
        free(data);
        return;
    }
}

/* A member that never reads: its queue reaches --max-queue, the server
 * closes it with 1008, and meanwhile the two others chat at full speed. */
static void test_slow_receiver_dropped(void **state) {
    wsc slow, a, b;
    int small = 4096, leaves_a = 0, leaves_b = 0;
    enum { COUNT = 1500, SIZE = 8192 };
    uint8_t *payload = malloc(SIZE);
    double t0;
    long rss0, rss1;
    (void)state;

    assert_non_null(payload);
    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat", "--max-queue", "256K",
                                                   "--log-level", "info")),
                     0);
    WSC_OK(&slow, wsc_connect(&slow, srv.host, srv.port));
    /* A small receive window so the kernel stops taking data early. */
    setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    WSC_OK(&slow, wsc_handshake(&slow, "/"));
    join(&a);
    join(&b);
    expect_event(&a, "join", 0, 3);
    rss0 = ts_server_rss_kb(&srv);

    /* 12 MB through the room: far more than the slow member's socket
     * buffers plus its 256 KiB queue. a sends, b reads as it goes. */
    t0 = now_s();
    for (int i = 0; i < COUNT; i++) {
        tu_fill_random(payload, SIZE, (uint64_t)i);
        WSC_OK(&a, wsc_send_message(&a, WS_OP_BINARY, payload, SIZE));
        expect_relay(&b, payload, SIZE, &leaves_b);
        /* a's own copy, read so a never becomes a slow receiver itself. */
        expect_relay(&a, payload, SIZE, &leaves_a);
    }
    /* Not slowed down: 1,500 round trips through the room take well
     * under the time a stalled relay would need (send timeout 30 s). */
    assert_true(now_s() - t0 < 20.0);
    rss1 = ts_server_rss_kb(&srv);
    /* The slow member's queue holds at most --max-queue plus one message
     * by reference: growth stays far below the 12 MB sent. */
    size_t total, peak, limit;
    assert_int_equal(ts_server_budget(&srv, &total, &peak, &limit), 0);
    assert_true(peak < 512 * 1024 + 2 * 256 * 1024 + 1536 * 1024);
    if (ts_rss_meaningful()) assert_true(rss1 - rss0 < 1536);

    /* The others were told it left (closed by the server, 1008), once. */
    assert_int_equal(leaves_a, 1);
    assert_int_equal(leaves_b, 1);
    assert_true(ts_server_log_contains(&srv, "closing 1008"));

    wsc_close(&slow);
    wsc_close(&a);
    wsc_close(&b);
    free(payload);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* A large text message with everything JSON must escape reaches every
 * member exactly (it is escaped part by part as it arrives). */
static void test_large_text_message_relayed_exactly(void **state) {
    wsc a, b;
    enum { SIZE = 300 * 1024 };
    char *text = malloc(SIZE), na[16];
    (void)state;

    assert_non_null(text);
    for (size_t i = 0; i < SIZE; i++) text[i] = "ab\"\\\n\x01 c"[i % 8];
    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    long ida = join(&a);
    join(&b);
    expect_event(&a, "join", 0, 2);
    snprintf(na, sizeof(na), "guest-%ld", ida);
    a.duplex = 1; /* a's own copy comes back while it sends */
    WSC_OK(&a, wsc_send_message(&a, WS_OP_TEXT, text, SIZE));
    expect_msg(&b, ida, na, text, SIZE);
    expect_msg(&a, ida, na, text, SIZE);
    free(text);
    wsc_close(&a);
    wsc_close(&b);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* Milliseconds for one plain GET of the page, start to end. */
static double get_page_ms(void) {
    wsc h;
    char head[1024];
    uint8_t *body;
    size_t len;
    static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    double t0 = now_s();
    WSC_OK(&h, wsc_connect(&h, srv.host, srv.port));
    WSC_OK(&h, wsc_send_raw(&h, req, sizeof(req) - 1));
    assert_int_equal(wsc_read_http_head(&h, head, sizeof(head)), 200);
    WSC_OK(&h, wsc_read_http_body(&h, head, &body, &len));
    free(body);
    wsc_close(&h);
    return (now_s() - t0) * 1000.0;
}

/* One 16 MiB message to 100 members that do not read: the server stores
 * it once (memory grows by about one copy, not a hundred), and while it
 * goes out an unrelated client (a page fetch) is served within a few
 * milliseconds -- the writes are spread over the loop's turns. */
static void test_large_broadcast_stored_once_and_loop_stays_responsive(void **state) {
    static wsc m[MEMBERS];
    wsc sender;
    const size_t len = 16u << 20;
    uint8_t *msg = malloc(len);
    int small = 4096;
    double worst = 0;
    long rss0, peak = 0;
    (void)state;

    assert_non_null(msg);
    tu_fill_random(msg, len, 5);
    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat", "--send-timeout", "60",
                                                   "--log-level", "info")),
                     0);
    for (int i = 0; i < MEMBERS; i++) {
        WSC_OK(&m[i], wsc_connect(&m[i], srv.host, srv.port));
        /* Small windows: the kernel holds little, the server's queues the
         * rest (and this test's footprint in the kernel stays small). */
        setsockopt(m[i].fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        WSC_OK(&m[i], wsc_handshake(&m[i], "/"));
        free(expect_type(&m[i], "welcome"));
    }
    join(&sender);
    rss0 = ts_server_rss_kb(&srv);
    sender.duplex = 1;
    WSC_OK(&sender, wsc_send_message(&sender, WS_OP_BINARY, msg, len));
    /* Meanwhile and after: page fetches, and the server's memory. */
    for (int k = 0; k < 20; k++) {
        double ms = get_page_ms();
        long rss = ts_server_rss_kb(&srv);
        if (ms > worst) worst = ms;
        if (rss > peak) peak = rss;
        ts_sleep_ms(20);
    }
    size_t btotal, bpeak, blimit;
    assert_int_equal(ts_server_budget(&srv, &btotal, &bpeak, &blimit), 0);
    print_message("  worst page fetch during the broadcast: %.1f ms; server RSS +%ld KiB, "
                  "budget peak %zu bytes\n",
                  worst, peak - rss0, bpeak);
    /* One copy of the message (16 MiB) plus the fixed buffers, per-member
     * bookkeeping and slack: a copy per member would be 1.6 GiB. */
    assert_true(bpeak < len + 4 * 1024 * 1024);
    if (ts_rss_meaningful()) assert_true(peak - rss0 < (long)(len / 1024) + 8 * 1024);
    /* Before the fix one callback copied the message 100 times: 1.3 s. */
    assert_true(worst < 250.0 * ts_scale());
    for (int i = 0; i < MEMBERS; i++) wsc_close(&m[i]);
    wsc_close(&sender);
    free(msg);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_membership_events, teardown),
        cmocka_unit_test_teardown(test_members_cannot_forge_events, teardown),
        cmocka_unit_test_teardown(test_nick_command, teardown),
        cmocka_unit_test_teardown(test_hundred_members_in_order, teardown),
        cmocka_unit_test_teardown(test_slow_receiver_dropped, teardown),
        cmocka_unit_test_teardown(test_large_text_message_relayed_exactly, teardown),
        cmocka_unit_test_teardown(test_large_broadcast_stored_once_and_loop_stays_responsive,
                                  teardown),
    };
    return cmocka_run_group_tests_name("integration: chat", tests, NULL, NULL);
}

/*
 * test_integration_chat.c -- the chat room handler (--handler chat)
 * through a real server: membership events, every message reaching every
 * member in one global order, and the slow-receiver policy (a member that
 * never reads is closed with 1008 and does not slow the others down).
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MEMBERS 100
#define PER_MEMBER 5

typedef struct event {
    char type[16];
    unsigned id, online;
} event;

/* Read one text message and parse it as a membership event. */
static void read_event(wsc *c, event *ev) {
    int opcode;
    uint8_t *data;
    size_t len;
    char text[128];

    if (wsc_read_message(c, &opcode, &data, &len) < 0) fail_msg("read event: %s", c->err);
    assert_int_equal(opcode, WS_OP_TEXT);
    assert_true(len < sizeof(text));
    memcpy(text, data, len);
    text[len] = '\0';
    free(data);
    if (sscanf(text, "{\"type\":\"%15[a-z]\",\"id\":%u,\"online\":%u}", ev->type, &ev->id,
               &ev->online) != 3)
        fail_msg("not a membership event: %s", text);
}

static void expect_event(wsc *c, const char *type, unsigned id, unsigned online) {
    event ev;
    read_event(c, &ev);
    assert_string_equal(ev.type, type);
    if (id) assert_int_equal(ev.id, id);
    assert_int_equal(ev.online, online);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A welcome to the newcomer, a join to the others, a leave when one goes,
 * each with the number of members online. */
static void test_membership_events(void **state) {
    wsc a, b;
    event wa, wb;
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    WSC_OK(&a, wsc_open(&a, &srv));
    read_event(&a, &wa);
    assert_string_equal(wa.type, "welcome");
    assert_int_equal(wa.online, 1);

    WSC_OK(&b, wsc_open(&b, &srv));
    read_event(&b, &wb);
    assert_string_equal(wb.type, "welcome");
    assert_int_equal(wb.online, 2);
    assert_int_not_equal(wa.id, wb.id);
    expect_event(&a, "join", wb.id, 2);

    /* Text and binary are relayed verbatim, to the sender too. */
    WSC_OK(&b, wsc_send_message(&b, WS_OP_TEXT, "hello room", 10));
    WSC_OK(&a, wsc_expect_message(&a, WS_OP_TEXT, "hello room", 10));
    WSC_OK(&b, wsc_expect_message(&b, WS_OP_TEXT, "hello room", 10));
    WSC_OK(&a, wsc_send_message(&a, WS_OP_BINARY, "\x00\xff", 2));
    WSC_OK(&a, wsc_expect_message(&a, WS_OP_BINARY, "\x00\xff", 2));
    WSC_OK(&b, wsc_expect_message(&b, WS_OP_BINARY, "\x00\xff", 2));

    WSC_OK(&b, wsc_send_close(&b, 1000, "bye"));
    WSC_OK(&b, wsc_expect_close(&b, 1000));
    wsc_close(&b);
    expect_event(&a, "leave", wb.id, 1);
    wsc_close(&a);
    assert_int_equal(ts_server_stop_clean(&srv), 0);
}

/* 100 members each send 5 messages: every member receives all 500, each
 * sender's in the order sent, and all members see the same global order
 * (the order in which the server received them). */
static void test_hundred_members_in_order(void **state) {
    static wsc m[MEMBERS];
    static char order0[MEMBERS * PER_MEMBER][32];
    (void)state;

    assert_int_equal(ts_server_start(&srv, TS_ARGS("--handler", "chat")), 0);
    for (int i = 0; i < MEMBERS; i++) {
        WSC_OK(&m[i], wsc_open(&m[i], &srv));
        expect_event(&m[i], "welcome", 0, (unsigned)i + 1);
    }
    /* Member i saw the joins of everyone after it. */
    for (int i = 0; i < MEMBERS; i++)
        for (int j = i + 1; j < MEMBERS; j++) expect_event(&m[i], "join", 0, (unsigned)j + 1);

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
            int opcode, from, seq;
            uint8_t *data;
            size_t len;
            char text[32];
            if (wsc_read_message(&m[i], &opcode, &data, &len) < 0)
                fail_msg("member %d, message %d: %s", i, r, m[i].err);
            assert_int_equal(opcode, WS_OP_TEXT);
            assert_true(len < sizeof(text));
            memcpy(text, data, len);
            text[len] = '\0';
            free(data);
            if (sscanf(text, "m%3d-%d", &from, &seq) != 2) fail_msg("unexpected: %s", text);
            assert_true(from >= 0 && from < MEMBERS);
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

/* Expect payload as the next binary message; a membership event may come
 * first (the leave of a member dropped meanwhile): count it in *leaves. */
static void expect_relay(wsc *c, const uint8_t *payload, size_t size, int *leaves) {
    for (;;) {
        int opcode;
        uint8_t *data;
        size_t len;
        if (wsc_read_message(c, &opcode, &data, &len) < 0) fail_msg("relay: %s", c->err);
        if (opcode == WS_OP_TEXT) {
            assert_true(len < 128);
            assert_non_null(memmem(data, len, "\"type\":\"leave\"", 14));
            (*leaves)++;
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

/* A member that never reads: its queue passes --max-queue, the server
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
    WSC_OK(&a, wsc_open(&a, &srv));
    WSC_OK(&b, wsc_open(&b, &srv));
    expect_event(&a, "welcome", 0, 2);
    expect_event(&b, "welcome", 0, 3);
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
    /* The slow member's queue is bounded by --max-queue (plus what was
     * queued when it crossed): growth stays far below the 12 MB sent. */
    assert_true(rss1 - rss0 < 1536);

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_membership_events, teardown),
        cmocka_unit_test_teardown(test_hundred_members_in_order, teardown),
        cmocka_unit_test_teardown(test_slow_receiver_dropped, teardown),
    };
    return cmocka_run_group_tests_name("integration: chat", tests, NULL, NULL);
}

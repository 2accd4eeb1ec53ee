/*
 * test_reactor.c -- the epoll loop (reactor.h) alone, on pipes and
 * socketpairs: registration (add, set, del) and the readiness each mask
 * reports, hang-ups reported as WS_EV_ERROR, timers (due order, re-armed
 * by their return value, deleted, a full table), how long a round waits,
 * the clock, the after procedure, busy polling, and run/stop.
 *
 * Every wait is bounded: no test calls ws_reactor_poll(r, -1) without a
 * timer that ends it, and ws_reactor_run() always has a guard timer that
 * stops it and fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A handle embedded in its owner, as the server does it, with what its
 * callback saw. */
struct watched {
    ws_io io;
    int calls;
    unsigned events; /* the last events reported */
    int drain;       /* read what is ready (else it stays ready) */
    int stop_after;  /* > 0: ws_reactor_stop() on this call */
    uint64_t now;    /* ws_reactor_now() inside the callback */
};

static struct watched *owner(ws_io *io) {
    return (struct watched *)(void *)((char *)io - offsetof(struct watched, io));
}

static void on_io(ws_reactor *r, ws_io *io, unsigned events) {
    struct watched *w = owner(io);
    w->calls++;
    w->events = events;
    w->now = ws_reactor_now(r);
    if (w->drain && (events & WS_EV_READ)) {
        char buf[64];
        while (read(io->fd, buf, sizeof(buf)) > 0) {}
    }
    if (w->stop_after && w->calls == w->stop_after) ws_reactor_stop(r);
}

static void watch(struct watched *w, int fd) {
    memset(w, 0, sizeof(*w));
    w->io.fd = fd;
    w->io.proc = on_io;
}

static void nonblocking_pipe(int fds[2]) {
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

/* A pipe whose read end is registered for reads, and its undoing (p[1]
 * set to -1 when a test closed it already). */
static void open_watched_pipe(ws_reactor *r, int p[2], struct watched *w, int drain) {
    nonblocking_pipe(p);
    watch(w, p[0]);
    w->drain = drain;
    assert_int_equal(ws_reactor_add(r, &w->io, WS_EV_READ), 0);
}

static void close_watched_pipe(ws_reactor *r, int p[2], struct watched *w) {
    ws_reactor_del(r, &w->io);
    close(p[0]);
    if (p[1] >= 0) close(p[1]);
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* ---- registration and readiness ----------------------------------------- */

static void test_read_readiness_on_a_pipe(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    assert_non_null(r);
    open_watched_pipe(r, p, &w, 1);
    assert_int_equal(w.io.mask, WS_EV_READ);

    assert_int_equal(ws_reactor_poll(r, 0), 0);
    assert_int_equal(w.calls, 0); /* nothing written yet */

    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.events, WS_EV_READ);

    /* Drained: level-triggered, but nothing is left to report. */
    assert_int_equal(ws_reactor_poll(r, 0), 0);
    assert_int_equal(w.calls, 1);

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

/* Level-triggered (reactor.h): bytes left unread are reported again in
 * the next round. */
static void test_unread_input_is_reported_every_round(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    open_watched_pipe(r, p, &w, 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(ws_reactor_poll(r, 1000), 0);
        assert_int_equal(w.calls, i);
    }
    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

static void test_set_changes_the_mask(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int sv[2];
    struct watched w;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    watch(&w, sv[0]);
    w.drain = 1;

    /* An empty socket with room in its send buffer: writable only. */
    assert_int_equal(ws_reactor_add(r, &w.io, WS_EV_READ | WS_EV_WRITE), 0);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.events, WS_EV_WRITE);

    /* Asking for reads only: a writable socket is quiet. */
    assert_int_equal(ws_reactor_set(r, &w.io, WS_EV_READ), 0);
    assert_int_equal(w.io.mask, WS_EV_READ);
    assert_int_equal(ws_reactor_poll(r, 0), 0);
    assert_int_equal(w.calls, 1);

    /* The same mask again is a no-op that succeeds. */
    assert_int_equal(ws_reactor_set(r, &w.io, WS_EV_READ), 0);

    assert_int_equal(write(sv[1], "hi", 2), 2);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.events, WS_EV_READ);

    /* Both again: readable and writable in one report. */
    assert_int_equal(write(sv[1], "hi", 2), 2);
    assert_int_equal(ws_reactor_set(r, &w.io, WS_EV_READ | WS_EV_WRITE), 0);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 3);
    assert_int_equal(w.events, WS_EV_READ | WS_EV_WRITE);

    ws_reactor_del(r, &w.io);
    close(sv[0]);
    close(sv[1]);
    ws_reactor_free(r);
}

static void test_del_stops_reports_and_add_works_again(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    open_watched_pipe(r, p, &w, 0);
    ws_reactor_del(r, &w.io);
    assert_int_equal(w.io.mask, 0);

    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ws_reactor_poll(r, 20), 0);
    assert_int_equal(w.calls, 0);

    assert_int_equal(ws_reactor_add(r, &w.io, WS_EV_READ), 0);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 1);

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

static void test_add_fails_for_a_bad_or_repeated_fd(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w, bad;
    open_watched_pipe(r, p, &w, 0);
    /* epoll_ctl(ADD) of an fd already registered: EEXIST. */
    assert_int_equal(ws_reactor_add(r, &w.io, WS_EV_READ), -1);
    assert_int_equal(errno, EEXIST);

    watch(&bad, -1);
    assert_int_equal(ws_reactor_add(r, &bad.io, WS_EV_READ), -1);
    assert_int_equal(bad.io.mask, 0); /* left as it was */

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

/* EPOLLHUP (the writer closed a pipe) comes as WS_EV_ERROR, even though it
 * was never asked for. */
static void test_hangup_is_reported_as_error(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    open_watched_pipe(r, p, &w, 0);
    close(p[1]);
    p[1] = -1;
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 1);
    assert_true(w.events & WS_EV_ERROR);
    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

/* More ready handles than max_events: the rest come in the next round. */
static void test_max_events_per_round(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(2);
    int p[3][2];
    struct watched w[3];
    int total = 0;
    for (int i = 0; i < 3; i++) {
        nonblocking_pipe(p[i]);
        watch(&w[i], p[i][0]);
        w[i].drain = 1;
        assert_int_equal(ws_reactor_add(r, &w[i].io, WS_EV_READ), 0);
        assert_int_equal(write(p[i][1], "x", 1), 1);
    }
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    for (int i = 0; i < 3; i++) total += w[i].calls;
    assert_int_equal(total, 2);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(w[i].calls, 1);
    for (int i = 0; i < 3; i++) {
        ws_reactor_del(r, &w[i].io);
        close(p[i][0]);
        close(p[i][1]);
    }
    ws_reactor_free(r);
}

/* ---- timers ---------------------------------------------------------------- */

#define LOG_MAX 32

struct timer_log {
    int order[LOG_MAX]; /* which timer fired, in firing order */
    uint64_t at[LOG_MAX];
    int n;
};

struct tick {
    struct timer_log *log;
    int name;
    int repeats; /* how many more times to re-arm */
    long every;
};

static long on_tick(ws_reactor *r, void *data) {
    struct tick *t = data;
    if (t->log->n < LOG_MAX) {
        t->log->order[t->log->n] = t->name;
        t->log->at[t->log->n] = ws_reactor_now(r);
        t->log->n++;
    }
    if (t->repeats-- > 0) return t->every;
    return -1;
}

/* Rounds until the log holds want entries or limit_ms pass. */
static void poll_until(ws_reactor *r, const struct timer_log *log, int want, uint64_t limit_ms) {
    uint64_t end = mono_ms() + limit_ms;
    while (log->n < want && mono_ms() < end) assert_int_equal(ws_reactor_poll(r, 50), 0);
}

static void test_timers_fire_in_due_order(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    struct timer_log log = { { 0 }, { 0 }, 0 };
    struct tick late = { &log, 2, 0, 0 }, early = { &log, 1, 0, 0 };
    uint64_t t0 = ws_reactor_now(r);
    /* The later one takes the first slot, so slot order alone would be
     * wrong. */
    assert_true(ws_reactor_add_timer(r, 60, on_tick, &late) > 0);
    assert_true(ws_reactor_add_timer(r, 15, on_tick, &early) > 0);
    poll_until(r, &log, 2, 2000);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.order[0], 1);
    assert_int_equal(log.order[1], 2);
    assert_true(log.at[0] >= t0 + 15);
    assert_true(log.at[1] >= t0 + 60);
    /* Both fired and returned -1: deleted, nothing fires again. */
    assert_int_equal(ws_reactor_poll(r, 80), 0);
    assert_int_equal(log.n, 2);
    ws_reactor_free(r);
}

static void test_timer_rearmed_by_its_return_value(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    struct timer_log log = { { 0 }, { 0 }, 0 };
    struct tick t = { &log, 7, 3, 10 }; /* fires, then 3 more times every 10 ms */
    assert_true(ws_reactor_add_timer(r, 5, on_tick, &t) > 0);
    poll_until(r, &log, 4, 2000);
    assert_int_equal(log.n, 4);
    for (int i = 1; i < 4; i++) assert_true(log.at[i] >= log.at[i - 1] + 10);
    assert_int_equal(ws_reactor_poll(r, 60), 0);
    assert_int_equal(log.n, 4); /* the fourth call returned -1 */
    ws_reactor_free(r);
}

static void test_deleted_timer_never_fires(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    struct timer_log log = { { 0 }, { 0 }, 0 };
    struct tick gone = { &log, 1, 0, 0 }, kept = { &log, 2, 0, 0 };
    long id = ws_reactor_add_timer(r, 10, on_tick, &gone);
    assert_true(id > 0);
    assert_true(ws_reactor_add_timer(r, 30, on_tick, &kept) > 0);
    ws_reactor_del_timer(r, id);
    ws_reactor_del_timer(r, id);       /* again: ignored */
    ws_reactor_del_timer(r, id + 100); /* never was a timer: ignored */
    poll_until(r, &log, 1, 2000);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.order[0], 2);
    ws_reactor_free(r);
}

/* A timer that deletes itself and adds another in its callback: the slot
 * it freed holds the new timer, which must keep its own delay rather than
 * take the return value of the one that ran. */
struct replacer {
    long self;
    struct tick *next;
    long added;
};

static long on_replace(ws_reactor *r, void *data) {
    struct replacer *rp = data;
    ws_reactor_del_timer(r, rp->self);
    rp->added = ws_reactor_add_timer(r, 40, on_tick, rp->next);
    return 1; /* would re-arm it 1 ms from now if taken for the new one */
}

static void test_timer_replacing_itself_in_its_callback(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    struct timer_log log = { { 0 }, { 0 }, 0 };
    struct tick next = { &log, 9, 0, 0 };
    struct replacer rp = { 0, &next, 0 };
    rp.self = ws_reactor_add_timer(r, 5, on_replace, &rp);
    assert_true(rp.self > 0);
    uint64_t end = mono_ms() + 2000;
    while (rp.added == 0 && mono_ms() < end) assert_int_equal(ws_reactor_poll(r, 50), 0);
    assert_true(rp.added > 0);
    assert_true(rp.added != rp.self);
    uint64_t added_at = ws_reactor_now(r);
    poll_until(r, &log, 1, 2000);
    assert_int_equal(log.n, 1);
    assert_true(log.at[0] >= added_at + 40);
    ws_reactor_free(r);
}

static long never_runs(ws_reactor *r, void *data) {
    (void)r;
    (void)data;
    fail_msg("a timer that was never due ran");
    return -1;
}

static void test_timer_table_is_bounded(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    long ids[16];
    for (int i = 0; i < 16; i++) {
        ids[i] = ws_reactor_add_timer(r, 100000, never_runs, NULL);
        assert_true(ids[i] > 0);
        for (int j = 0; j < i; j++) assert_true(ids[j] != ids[i]);
    }
    assert_int_equal(ws_reactor_add_timer(r, 100000, never_runs, NULL), -1);
    ws_reactor_del_timer(r, ids[5]);
    assert_true(ws_reactor_add_timer(r, 100000, never_runs, NULL) > 0);
    ws_reactor_free(r);
}

/* ---- how long a round waits, and the clock ---------------------------------- */

static void test_poll_waits_for_its_timeout(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    uint64_t t0 = mono_ms();
    assert_int_equal(ws_reactor_poll(r, 0), 0); /* 0: no wait */
    assert_true(mono_ms() - t0 < 50);
    t0 = mono_ms();
    assert_int_equal(ws_reactor_poll(r, 40), 0);
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 39); /* the two readings truncate to ms */
    assert_true(took < 1000);
    ws_reactor_free(r);
}

/* A timer due sooner than the timeout ends the wait early. */
static void test_poll_wait_is_capped_by_the_nearest_timer(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    struct timer_log log = { { 0 }, { 0 }, 0 };
    struct tick t = { &log, 1, 0, 0 };
    assert_true(ws_reactor_add_timer(r, 20, on_tick, &t) > 0);
    uint64_t t0 = mono_ms();
    /* -1 would wait forever without the timer; 5000 ms at most with it. */
    while (log.n == 0 && mono_ms() - t0 < 2000) assert_int_equal(ws_reactor_poll(r, 5000), 0);
    assert_int_equal(log.n, 1);
    assert_true(mono_ms() - t0 < 1000);
    t0 = mono_ms();
    struct tick u = { &log, 2, 0, 0 };
    assert_true(ws_reactor_add_timer(r, 20, on_tick, &u) > 0);
    assert_int_equal(ws_reactor_poll(r, -1), 0); /* ends at the timer */
    assert_int_equal(log.n, 2);
    assert_true(mono_ms() - t0 < 1000);
    ws_reactor_free(r);
}

static void test_clock_is_read_once_per_round_after_the_wait(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    uint64_t before = ws_reactor_now(r);

    /* Cached: no round, no change, however long it has been. */
    sleep_ms(15);
    assert_int_equal(ws_reactor_now(r), before);

    /* The wait is in the reading: after a 30 ms round, now moved by at
     * least that. */
    assert_int_equal(ws_reactor_poll(r, 30), 0);
    uint64_t after = ws_reactor_now(r);
    assert_true(after >= before + 30);

    /* A callback sees the value read after epoll_wait() returned, the
     * same one the round leaves behind. */
    open_watched_pipe(r, p, &w, 1);
    sleep_ms(15);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.now, ws_reactor_now(r));
    assert_true(w.now >= after + 15);
    assert_true(w.now <= mono_ms());

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

/* ---- after procedure, busy polling -------------------------------------- */

struct after_log {
    int calls;
    const struct watched *w;
    int io_calls_seen; /* w->calls when after() ran */
};

static void on_after(ws_reactor *r, void *data) {
    (void)r;
    struct after_log *a = data;
    a->calls++;
    a->io_calls_seen = a->w->calls;
}

static void test_after_runs_once_per_round_after_callbacks(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    struct after_log a = { 0, &w, -1 };
    open_watched_pipe(r, p, &w, 1);
    ws_reactor_set_after(r, on_after, &a);

    assert_int_equal(ws_reactor_poll(r, 0), 0); /* a quiet round too */
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.io_calls_seen, 0);

    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ws_reactor_poll(r, 1000), 0);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.io_calls_seen, 1); /* after the callback */

    ws_reactor_set_after(r, NULL, NULL);
    assert_int_equal(ws_reactor_poll(r, 0), 0);
    assert_int_equal(a.calls, 2);

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

/* Busy polling starts only after a round with events, and an idle loop
 * still sleeps for its timeout rather than spinning. */
static void test_busy_poll_delivers_events_and_idles_normally(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    open_watched_pipe(r, p, &w, 1);
    ws_reactor_set_busy_poll(r, 2000);

    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ws_reactor_poll(r, 1000), 0); /* a round with events */
    assert_int_equal(w.calls, 1);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(ws_reactor_poll(r, 1000), 0); /* found by the spin */
    assert_int_equal(w.calls, 2);

    /* Nothing comes: the spin gives up after 2 ms and the round sleeps
     * for the rest of its timeout. */
    uint64_t t0 = mono_ms();
    assert_int_equal(ws_reactor_poll(r, 30), 0);
    assert_int_equal(w.calls, 2);
    assert_true(mono_ms() - t0 >= 29);
    assert_true(mono_ms() - t0 < 1000);

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

/* ---- run and stop --------------------------------------------------------- */

struct feeder {
    int fd;
    int left;
};

/* Writes one byte every 5 ms, `left` times. */
static long on_feed(ws_reactor *r, void *data) {
    (void)r;
    struct feeder *f = data;
    assert_int_equal(write(f->fd, "z", 1), 1);
    return --f->left > 0 ? 5 : -1;
}

static int guard_fired;

static long on_guard(ws_reactor *r, void *data) {
    (void)data;
    guard_fired = 1;
    ws_reactor_stop(r);
    return -1;
}

static void test_run_until_a_callback_stops_it(void **state) {
    (void)state;
    ws_reactor *r = ws_reactor_create(8);
    int p[2];
    struct watched w;
    struct feeder f;
    open_watched_pipe(r, p, &w, 1);
    w.stop_after = 3;
    f.fd = p[1];
    f.left = 10;
    guard_fired = 0;
    assert_true(ws_reactor_add_timer(r, 5, on_feed, &f) > 0);
    long guard = ws_reactor_add_timer(r, 5000, on_guard, NULL);
    assert_true(guard > 0);

    assert_int_equal(ws_reactor_run(r), 0);
    assert_false(guard_fired);
    assert_int_equal(w.calls, 3); /* stopped at the third, not later */
    assert_true(f.left > 0);

    /* It can run again: stop from a timer this time. */
    ws_reactor_del_timer(r, guard);
    w.stop_after = 0;
    assert_true(ws_reactor_add_timer(r, 20, on_guard, NULL) > 0);
    assert_int_equal(ws_reactor_run(r), 0);
    assert_true(guard_fired);

    close_watched_pipe(r, p, &w);
    ws_reactor_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_readiness_on_a_pipe),
        cmocka_unit_test(test_unread_input_is_reported_every_round),
        cmocka_unit_test(test_set_changes_the_mask),
        cmocka_unit_test(test_del_stops_reports_and_add_works_again),
        cmocka_unit_test(test_add_fails_for_a_bad_or_repeated_fd),
        cmocka_unit_test(test_hangup_is_reported_as_error),
        cmocka_unit_test(test_max_events_per_round),
        cmocka_unit_test(test_timers_fire_in_due_order),
        cmocka_unit_test(test_timer_rearmed_by_its_return_value),
        cmocka_unit_test(test_deleted_timer_never_fires),
        cmocka_unit_test(test_timer_replacing_itself_in_its_callback),
        cmocka_unit_test(test_timer_table_is_bounded),
        cmocka_unit_test(test_poll_waits_for_its_timeout),
        cmocka_unit_test(test_poll_wait_is_capped_by_the_nearest_timer),
        cmocka_unit_test(test_clock_is_read_once_per_round_after_the_wait),
        cmocka_unit_test(test_after_runs_once_per_round_after_callbacks),
        cmocka_unit_test(test_busy_poll_delivers_events_and_idles_normally),
        cmocka_unit_test(test_run_until_a_callback_stops_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

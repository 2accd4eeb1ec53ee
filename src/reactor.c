/*
 * reactor.c -- the epoll loop (the only file that includes sys/epoll.h).
 *
 * One iteration, ws_reactor_poll():
 *
 *     [busy polling on, last round had events:
 *      epoll_wait(timeout 0) again and again      spin for up to usec]
 *     wait = time until the nearest timer          (the clock of the round
 *     n = epoll_wait(events, wait)                  before: see below)
 *     now = clock()                                read once, after the wait
 *     for each ready handle: handle->proc()        every ready socket from
 *     run the timers that are due                  one wait, in one batch
 *     after()                                      deferred frees
 *
 * Without busy polling that is one epoll_wait() per round; with it, the
 * spin makes as many zero-timeout calls as it takes for something to come
 * (or the time to run out) before the sleeping one. The clock is read once
 * per round, right after the wait returns, so every callback and timer of
 * the round sees the same ws_reactor_now(), and the time spent waiting is
 * already counted in it.
 *
 * Each ws_io handle is registered with its own address as the epoll
 * user data, so an event leads straight to its owner without a lookup.
 */
#include "reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_TIMERS 16

typedef struct timer {
    long id;       /* 0: free slot */
    uint64_t when; /* ms on the monotonic clock */
    ws_timer_proc *proc;
    void *data;
} timer;

struct ws_reactor {
    int epfd;
    int stop;
    int max_events;
    uint64_t now;
    long next_timer_id;
    struct epoll_event *events;
    timer timers[MAX_TIMERS];
    ws_after_proc *after;
    void *after_data;
    unsigned busy_poll_us; /* 0: off */
    int busy;              /* the last iteration had events */
};

static uint64_t clock_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t clock_ms(void) { return clock_us() / 1000u; }

ws_reactor *ws_reactor_create(int max_events) {
    ws_reactor *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0) goto err;
    r->max_events = max_events;
    r->events = calloc((size_t)max_events, sizeof(*r->events));
    if (!r->events) goto err;
    r->now = clock_ms();
    return r;
err:
    if (r->epfd >= 0) close(r->epfd);
    free(r);
    return NULL;
}

void ws_reactor_free(ws_reactor *r) {
    if (!r) return;
    close(r->epfd);
    free(r->events);
    free(r);
}

static uint32_t to_epoll(unsigned mask) {
    return (mask & WS_EV_READ ? EPOLLIN : 0u) | (mask & WS_EV_WRITE ? EPOLLOUT : 0u);
}

int ws_reactor_add(ws_reactor *r, ws_io *io, unsigned mask) {
    struct epoll_event ev = { .events = to_epoll(mask), .data.ptr = io };
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0) return -1;
    io->mask = mask;
    return 0;
}

int ws_reactor_set(ws_reactor *r, ws_io *io, unsigned mask) {
    struct epoll_event ev = { .events = to_epoll(mask), .data.ptr = io };
    if (mask == io->mask) return 0;
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0) return -1;
    io->mask = mask;
    return 0;
}

void ws_reactor_del(ws_reactor *r, ws_io *io) {
    /* Linux ignores the event argument of EPOLL_CTL_DEL since 2.6.9. */
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->mask = 0;
}

long ws_reactor_add_timer(ws_reactor *r, long ms, ws_timer_proc *proc, void *data) {
    for (int i = 0; i < MAX_TIMERS; i++) {
        if (r->timers[i].id != 0) continue;
        r->timers[i] = (timer){ ++r->next_timer_id, r->now + (uint64_t)ms, proc, data };
        return r->timers[i].id;
    }
    return -1;
}

void ws_reactor_del_timer(ws_reactor *r, long id) {
    for (int i = 0; i < MAX_TIMERS; i++)
        if (r->timers[i].id == id) r->timers[i].id = 0;
}

void ws_reactor_set_after(ws_reactor *r, ws_after_proc *proc, void *data) {
    r->after = proc;
    r->after_data = data;
}

uint64_t ws_reactor_now(const ws_reactor *r) { return r->now; }

/* Milliseconds until the nearest timer, capped by limit (-1: no cap). */
static int timer_wait(const ws_reactor *r, int limit) {
    int wait = limit;
    for (int i = 0; i < MAX_TIMERS; i++) {
        const timer *t = &r->timers[i];
        int d;
        if (t->id == 0) continue;
        d = t->when <= r->now ? 0 : (int)(t->when - r->now);
        if (wait < 0 || d < wait) wait = d;
    }
    return wait;
}

static void run_timers(ws_reactor *r) {
    for (int i = 0; i < MAX_TIMERS; i++) {
        timer *t = &r->timers[i];
        long id = t->id, next;
        if (id == 0 || t->when > r->now) continue;
        next = t->proc(r, t->data);
        /* The callback may have deleted its own timer, and even added
         * another one into the freed slot: only the timer that ran is
         * re-armed or freed by what it returned. */
        if (t->id != id) continue;
        if (next < 0)
            t->id = 0;
        else
            t->when = r->now + (uint64_t)next;
    }
}

void ws_reactor_set_busy_poll(ws_reactor *r, unsigned usec) { r->busy_poll_us = usec; }

/* Ask epoll without sleeping until something is ready or usec have passed.
 * Returns what epoll_wait returned last (0: nothing came). */
static int spin_wait(ws_reactor *r, unsigned usec) {
    uint64_t end = clock_us() + usec;
    int n;
    while ((n = epoll_wait(r->epfd, r->events, r->max_events, 0)) == 0 && clock_us() < end)
        ;
    return n;
}

int ws_reactor_poll(ws_reactor *r, int timeout_ms) {
    int n = 0;
    /* Busy polling (ws_reactor_set_busy_poll) only right after events: a
     * quiet loop goes straight to the sleeping wait. */
    if (r->busy_poll_us && r->busy) n = spin_wait(r, r->busy_poll_us);
    if (n == 0) n = epoll_wait(r->epfd, r->events, r->max_events, timer_wait(r, timeout_ms));
    if (n < 0 && errno != EINTR) return -1;
    r->busy = n > 0;
    r->now = clock_ms();
    for (int i = 0; i < n; i++) {
        struct epoll_event *e = &r->events[i];
        ws_io *io = e->data.ptr;
        unsigned events = (e->events & EPOLLIN ? WS_EV_READ : 0u) |
                          (e->events & EPOLLOUT ? WS_EV_WRITE : 0u) |
                          (e->events & (EPOLLERR | EPOLLHUP) ? WS_EV_ERROR : 0u);
        io->proc(r, io, events);
    }
    run_timers(r);
    if (r->after) r->after(r, r->after_data);
    return 0;
}

int ws_reactor_run(ws_reactor *r) {
    r->stop = 0;
    while (!r->stop)
        if (ws_reactor_poll(r, -1) < 0) return -1;
    return 0;
}

void ws_reactor_stop(ws_reactor *r) { r->stop = 1; }

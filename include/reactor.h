/*
 * reactor.h -- a small epoll event loop, in the shape of redis's ae.
 *
 * The reactor knows file descriptors, readiness and time; it knows nothing
 * about WebSocket. An owner embeds a ws_io handle in its own struct (a
 * connection, a listener), registers it with the events it wants, and gets
 * its callback when they happen; container_of-style arithmetic takes it
 * back to the owner. Because the handle lives in the owner, the reactor
 * keeps no per-fd table of its own.
 *
 * Level-triggered on purpose: the server reads at most one buffer per
 * readiness event, so a connection with more data simply comes back in
 * the next round, after every other ready connection had its turn (fair),
 * and no read has to be spent discovering EAGAIN (cheap). See
 * docs/architecture.md.
 *
 * The server drives it one round at a time (ws_reactor_poll(), with its
 * own shutdown condition); ws_reactor_run()/ws_reactor_stop() and
 * ws_reactor_del_timer() are kept for a program that embeds the reactor
 * as a module of its own (the redis ae shape: create, add, run, stop), and
 * test/test_reactor.c tests them like the rest.
 */
#ifndef WS_REACTOR_H
#define WS_REACTOR_H

#include <stdint.h>

#define WS_EV_READ  1u
#define WS_EV_WRITE 2u
#define WS_EV_ERROR 4u /* reported only: EPOLLERR / EPOLLHUP */

typedef struct ws_reactor ws_reactor;
typedef struct ws_io ws_io;

/* Called when fd is ready; events is a mask of WS_EV_*. */
typedef void ws_io_proc(ws_reactor *r, ws_io *io, unsigned events);

/* Called when a timer fires; returns the delay in ms until it fires
 * again, or -1 to delete it. */
typedef long ws_timer_proc(ws_reactor *r, void *data);

/* Called once after each batch of events, before waiting again: the
 * place to free what callbacks marked for closing (never free an object
 * inside a callback the loop may still touch in the same batch). */
typedef void ws_after_proc(ws_reactor *r, void *data);

struct ws_io {
    ws_io_proc *proc;
    int fd;
    unsigned mask; /* events currently registered */
};

/* Create a reactor that reports up to max_events events per wait.
 * Returns NULL on failure (errno set). */
ws_reactor *ws_reactor_create(int max_events);
void ws_reactor_free(ws_reactor *r);

/* Register io (fd and proc already set) for mask. Returns 0 or -1. */
int ws_reactor_add(ws_reactor *r, ws_io *io, unsigned mask);
/* Change the registered events; a no-op when mask is unchanged. */
int ws_reactor_set(ws_reactor *r, ws_io *io, unsigned mask);
/* Unregister io; call before closing its fd. */
void ws_reactor_del(ws_reactor *r, ws_io *io);

/* Call proc(data) ms milliseconds after ws_reactor_now(), then after each
 * delay it returns, until it returns -1. Returns a timer id > 0, or -1 when
 * all 16 slots are taken. Timers are few (the server uses one periodic
 * sweep), so they live in a small array. Timers due in the same round run
 * in the order of their slots. */
long ws_reactor_add_timer(ws_reactor *r, long ms, ws_timer_proc *proc, void *data);
/* Delete a timer (an id that is not, or no longer, a timer is ignored);
 * allowed inside any callback, its own included. */
void ws_reactor_del_timer(ws_reactor *r, long id);

void ws_reactor_set_after(ws_reactor *r, ws_after_proc *proc, void *data);

/* Busy polling: after an iteration that had events, keep asking epoll
 * without sleeping (timeout 0) for up to usec microseconds before the next
 * wait that sleeps. Waking a sleeping CPU is slow, in virtual machines
 * especially (tens of microseconds: the CPU halts and the hypervisor has to
 * reschedule it), and this skips it while traffic keeps coming, at the
 * price of spending that CPU time spinning. 0 (the default) turns it off;
 * an idle loop never spins, since only an iteration with events starts it. */
void ws_reactor_set_busy_poll(ws_reactor *r, unsigned usec);

/* Milliseconds of a monotonic clock, as read once per round right after
 * epoll_wait() returned (so the same for every callback and timer of the
 * round; cheap: no system call). Before the first round: the time of
 * ws_reactor_create(). */
uint64_t ws_reactor_now(const ws_reactor *r);

/* Run rounds (ws_reactor_poll(r, -1)) until a callback or a timer calls
 * ws_reactor_stop(); the round that called it is finished first. Returns
 * 0, or -1 if epoll_wait fails with anything but EINTR. With no timers and
 * nothing registered it waits forever. */
int ws_reactor_run(ws_reactor *r);
void ws_reactor_stop(ws_reactor *r);

/* Run one round: wait at most timeout_ms for readiness (-1: until the
 * nearest timer, or forever without one; 0: do not wait), call the
 * callbacks of what is ready, the timers that are due, then the after
 * procedure. Returns 0, or -1 if epoll_wait fails with anything but EINTR
 * (errno set). */
int ws_reactor_poll(ws_reactor *r, int timeout_ms);

#endif /* WS_REACTOR_H */

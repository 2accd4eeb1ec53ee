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

/* Call proc(data) after ms milliseconds, then after each delay it returns.
 * Returns a timer id > 0, or -1. Timers are few (the server uses one
 * periodic sweep), so they live in a small array. */
long ws_reactor_add_timer(ws_reactor *r, long ms, ws_timer_proc *proc, void *data);
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

/* Milliseconds of a monotonic clock, as read at the start of the current
 * loop iteration (cheap: no system call). */
uint64_t ws_reactor_now(const ws_reactor *r);

/* Run until ws_reactor_stop(). Returns 0, or -1 if epoll_wait fails with
 * anything but EINTR. */
int ws_reactor_run(ws_reactor *r);
void ws_reactor_stop(ws_reactor *r);

/* Run one iteration, waiting at most timeout_ms (-1: until a timer). */
int ws_reactor_poll(ws_reactor *r, int timeout_ms);

#endif /* WS_REACTOR_H */

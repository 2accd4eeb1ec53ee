/*
 * wsb_client.h -- one wsbench worker process: N WebSocket client
 * connections driven by one epoll loop in one thread.
 *
 * The coordinator (wsbench.c) forks one worker per --procs and talks to it
 * over two pipes:
 *
 *   worker -> coordinator (res_fd):  'R' once every connection of the worker
 *       has finished its opening handshake (or failed), then, at the very
 *       end, one struct wsb_result.
 *   coordinator -> worker (ctl_fd):  'G' = start the load (warm-up, then
 *       the measured window, then drain and close); 'E' = end an idle hold
 *       (close every connection). End of file = the coordinator died: close
 *       and exit.
 *
 * This keeps several processes in step (they start measuring together and
 * the server's memory is sampled while every connection is open), which a
 * single process cannot do past its file-descriptor limit.
 */
#ifndef WSB_CLIENT_H
#define WSB_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "wsb_hist.h"

#define WSB_MAX_PATH 200

/* Everything the command line decides; read-only once workers start. */
struct wsb_config {
    struct sockaddr_storage addr; /* server address and port */
    socklen_t addrlen;
    char host_header[80];        /* value of the Host: header */
    char path[WSB_MAX_PATH + 1]; /* request-target of the GET */

    int spread;                   /* bind() each socket to a source address? */
    uint32_t src_first, src_last; /* IPv4 source range, host byte order */

    uint32_t conns;          /* connections over all workers */
    uint64_t size;           /* payload bytes per message */
    int text;                /* 1: text messages, 0: binary */
    uint32_t depth;          /* messages in flight per connection */
    double duration, warmup; /* seconds */
    int idle;                /* idle mode: handshake, hold, close */
    double hold;             /* idle mode: seconds to hold */
    double timeout;          /* seconds for connect+handshake, drain, close */
    uint32_t max_pending;    /* connects in progress at once, per worker */
    uint32_t procs;          /* worker processes */
    pid_t server_pid;        /* > 0: sample this process tree's RSS */
    double settle;           /* seconds between "all open" and the sample */
    uint64_t salt;           /* payload pattern salt, random per run */
    int busy_poll;           /* spin in epoll_wait(0) during the load */
    int deflate;             /* offer permessage-deflate, send compressed */
    int quiet;
};

/* What one worker reports; the coordinator adds them up. */
struct wsb_result {
    uint64_t opened;           /* handshakes that succeeded */
    uint64_t connect_failed;   /* socket/bind/connect failed or timed out */
    uint64_t handshake_failed; /* bad or missing 101 / Sec-WebSocket-Accept */
    uint64_t verify_errors;    /* echoed bytes differ from what was sent */
    uint64_t protocol_errors;  /* server frames that break RFC 6455 */
    uint64_t unexpected_close; /* server closed (frame or TCP) mid-run */
    uint64_t io_errors;        /* read/write failed (ECONNRESET, ...) */
    uint64_t timeouts;         /* echoes still missing after the drain time */
    uint64_t close_failed;     /* closing handshake not completed cleanly */
    uint64_t msgs;             /* echoes completed inside the measured window */
    uint64_t total_msgs;       /* echoes completed over the whole run */
    uint64_t pings;            /* pings received (answered with pongs) */
    double seconds;            /* length of the measured window */
    double connect_seconds;    /* first connect to last handshake */
    struct wsb_hist hist;      /* latency of the `msgs` echoes, ns */
};

/* Sum of all the error counters of r. */
uint64_t wsb_result_errors(const struct wsb_result *r);

/* Run one worker for connections [first_id, first_id + count). Returns the
 * process exit status (0 even when it found errors: those are in the
 * result it wrote to res_fd). */
int wsb_worker_run(const struct wsb_config *cfg, uint32_t first_id, uint32_t count, int ctl_fd,
                   int res_fd);

#endif

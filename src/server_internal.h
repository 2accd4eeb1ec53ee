/*
 * server_internal.h -- what the files of the server share: the connection
 * and worker structs, the tunables, and the functions one file calls in
 * another. Not part of the public API (that is include/server.h).
 *
 *   server.c      the worker's loop: connection table, accept, reads,
 *                 lifecycle (kill, reap, finish), timers, shutdown
 *   output.c      the write batch, the output queue, backpressure
 *   websocket.c   frames in, messages to the handler, the handler API
 *   handshake.c   the opening handshake, HTTP errors, 503
 *   files.c       static files for plain GETs
 *   net.c         addresses, proxies, listening sockets
 *   buf.c         the growable buffer
 *   supervisor.c  ws_server_run(): signals, worker processes
 */
#ifndef WS_SERVER_INTERNAL_H
#define WS_SERVER_INTERNAL_H

#include "server.h"

#include "error.h"
#include "frame.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "proto.h"
#include "reactor.h"
#include "rfc6455.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* ---------------------------------------------------------------------- */
/* Tunables that are not worth a command-line option.                      */

#define READ_BUF_SIZE   (256 * 1024) /* one read() per readiness event */
#define WRITE_BUF_SIZE  (256 * 1024) /* small replies copied into one writev() */
#define BATCH_COPY_MAX  2048         /* larger payloads are pointed to, not copied */
#define BATCH_IOV       64           /* pieces in one writev() */
#define DIRECT_READ_MIN (64 * 1024)  /* payload left that is read into c->msg directly */
#define ACCEPT_BATCH    64           /* accept4() calls per listener event */
#define CONN_CHUNK      1024         /* connection slots allocated together */
#define SWEEP_MS        250          /* timer granularity */
#define IDLE_FREE_MS    1000         /* give idle buffers back after this */
#define MAX_REJECTING   256          /* 503 answers in flight at once */
#define MAX_FILE_SIZE   (8 * 1024 * 1024)
#define MAX_PROXIES     8

/* ---------------------------------------------------------------------- */
/* A growable byte buffer, allocated only while it holds something.        */

typedef struct buf {
    size_t off;       /* bytes before off were consumed (written out) */
    size_t len;       /* bytes in data[] */
    size_t cap;
    uint8_t data[];
} buf;

static inline size_t buf_pending(const buf *b) { return b ? b->len - b->off : 0; }

/* ---------------------------------------------------------------------- */
/* Connections.                                                            */

enum {
    C_FREE = 0,   /* slot unused */
    C_HANDSHAKE,  /* reading the HTTP request head */
    C_OPEN,       /* WebSocket messages flow */
    C_CLOSING,    /* we sent a close frame and wait for the peer's */
    C_FLUSHING,   /* nothing more to say: write what is queued, then FIN */
    C_DRAIN,      /* FIN sent; read and discard until the peer's FIN */
    C_DEAD        /* to be closed and freed after this event batch */
};

extern const char *const state_names[];

enum {
    F_OPENED      = 1 << 0, /* on_open ran; on_close is still owed */
    F_PING_OUT    = 1 << 1, /* a keep-alive ping awaits any answer */
    F_READ_PAUSED = 1 << 2, /* output over max_queue: not reading */
    F_REJECT      = 1 << 3, /* counted in rejecting, not in nconns */
    F_RECV_PARTS  = 1 << 4, /* the message coming in goes to on_part */
    F_SEND_PARTS  = 1 << 5, /* a message going out in parts is unfinished */
};

/* What only a connection in the handshake needs; freed after it. */
typedef struct handshake {
    ws_http_parser parser;
    struct sockaddr_storage peer;
} handshake;

struct ws_conn {
    ws_io io;             /* fd, registered events; must stay first */
    uint32_t id;          /* for logs */
    uint8_t state;        /* C_* */
    uint8_t flags;        /* F_* */
    uint16_t close_code;  /* code sent or received, for on_close */
    uint32_t last_rx;     /* ms (server clock) of the last byte received */
    uint32_t last_tx;     /* ms of the last write progress, or when output queued */
    uint32_t deadline;    /* ms: end of the handshake, ping, close or drain wait */
    ws_proto proto;       /* the protocol engine's state */
    buf *msg;             /* a message assembled from several reads */
    buf *out;             /* output the kernel has not taken yet */
    buf *ctl;             /* a ping payload split across reads */
    handshake *hs;        /* only in C_HANDSHAKE */
    ws_conn *next_dead;   /* the list freed after the batch */
};

/* One worker's server. Only one runs per process (the worker), so the
 * handler API reaches it through this pointer instead of a field in every
 * connection. */
struct ws_server {
    const ws_server_config *cfg;
    ws_reactor *r;
    ws_io listener;
    int reserve_fd;            /* spare fd, given up to shed load on EMFILE */
    ws_proto_limits limits;
    uint64_t epoch;            /* reactor time when the server started */
    uint8_t *rbuf;             /* shared read buffer */
    uint8_t *wbuf;             /* small pieces copied into the write batch */
    size_t wlen;
    struct iovec iov[BATCH_IOV]; /* the write batch: pieces in wbuf or pointers */
    int niov;
    ws_conn *wconn;            /* the connection the batch belongs to */
    ws_conn **chunks;          /* connection slots, CONN_CHUNK per chunk */
    size_t nchunks;
    int max_fd;                /* highest fd ever given a slot */
    unsigned nconns;           /* connections counted against max_connections */
    unsigned rejecting;        /* 503 answers in flight */
    uint32_t next_id;
    ws_conn *dead;
    int client_dir;            /* directory fd, or -1 */
    int shutting_down;
    uint64_t shutdown_deadline;
    uint64_t emfile_logged;
    size_t nproxies;
    struct sockaddr_storage proxies[MAX_PROXIES];
};

extern ws_server *srv;        /* the server of this process */

/* Signals only set these flags; the loop acts on them. */
extern volatile sig_atomic_t stop_requested;
extern volatile sig_atomic_t stop_count;

static inline uint32_t now_ms(void) {
    return (uint32_t)(ws_reactor_now(srv->r) - srv->epoch);
}

/* Wrap-safe: has time t been reached at now? */
static inline int reached(uint32_t now, uint32_t t) { return (int32_t)(now - t) >= 0; }

static inline const ws_handler *handler(void) { return srv->cfg->handler; }

/* buf.c */
int buf_reserve(buf **bp, size_t need);
int buf_append(buf **bp, const void *data, size_t len);
void buf_free(buf **bp);

/* output.c */
void conn_update_events(ws_conn *c);
void batch_write(ws_conn *c, int may_swap);
int batch_points_into(const buf *b);
void conn_write(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen);
void batch_flush(void);
void send_frame(ws_conn *c, int opcode, const void *data, size_t len);
void send_close(ws_conn *c, unsigned code, const char *reason);
void conn_flush(ws_conn *c);

/* websocket.c */
void notify_close(ws_conn *c, unsigned code);
void frames_feed(ws_conn *c, uint8_t *p, size_t len);

/* handshake.c */
void http_error(ws_conn *c, int status, const char *why);
void handshake_feed(ws_conn *c, uint8_t *p, size_t len);
void reject(int fd);

/* files.c */
void serve_file(ws_conn *c, const ws_http_request *req);

/* net.c */
void format_addr(const struct sockaddr *sa, char *out, size_t cap);
int is_trusted_proxy(const struct sockaddr_storage *peer);
int parse_proxies(const char *list);
int open_listener(const ws_server_config *cfg, int reuseport);
void raise_fd_limit(void);

/* server.c */
ws_conn *conn_slot(int fd);
void conn_kill(ws_conn *c);
void conn_finish(ws_conn *c);
void conn_read(ws_conn *c);
void on_conn_event(ws_reactor *r, ws_io *io, unsigned events);
int run_worker(const ws_server_config *cfg, int listen_fd);

#endif /* WS_SERVER_INTERNAL_H */

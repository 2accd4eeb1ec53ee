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
 *   connlog.c     the line each connection ends with (access, disconnect)
 *   files.c       static files for plain GETs
 *   net.c         addresses, proxies, listening sockets
 *   buf.c         the growable buffer
 *   supervisor.c  ws_server_run(): signals, worker processes
 */
#ifndef WS_SERVER_INTERNAL_H
#define WS_SERVER_INTERNAL_H

#include "server.h"

#include "deflate.h"
#include "error.h"
#include "frame.h"
#include "http.h"
#include "inflate.h"
#include "log.h"
#include "mem.h"
#include "net.h"
#include "proto.h"
#include "reactor.h"
#include "rfc6455.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* ---------------------------------------------------------------------- */
/* Tunables that are not worth a command-line option. The book quotes
 * several (256 KiB buffers, batches of 64, 1024 slots, the 250 ms sweep):
 * make docs-check compares the text with these (scripts/docs/sizes).     */

#define READ_BUF_SIZE     (256 * 1024) /* one read() per readiness event */
#define WRITE_BUF_SIZE    (256 * 1024) /* small replies copied into one writev() */
#define WRITE_EVENT_MAX   (64 * 1024)  /* queued bytes written per writable event */
#define BATCH_COPY_MAX    2048         /* larger payloads are pointed to, not copied */
#define BATCH_IOV         64           /* pieces in one writev() */
#define QUEUE_IOV         16           /* queue segments in one writev() */
#define OUT_SEG_MIN       (16 * 1024)  /* smallest output segment allocated */
#define DIRECT_READ_MIN   (64 * 1024)  /* payload left that is read into c->msg directly */
#define ACCEPT_BATCH      64           /* accept4() calls per listener event */
#define CONN_CHUNK        1024         /* connection slots allocated together */
#define SWEEP_MS          250          /* timer granularity */
#define IDLE_FREE_MS      1000         /* give idle buffers back after this */
#define MAX_REJECTING     256          /* 503 answers in flight at once */
#define MAX_PROXIES       32           /* entries of --trust-proxy */
#define NEWCOMER_STALE_MS 2000         /* a new connection may shed peers this stalled */
#define LOG_MSG_FIRST     5            /* messages logged at info, then the 10th, 100th, ... */

/* The most output one connection may hold: --max-queue, plus the reply to
 * the one frame chunk that was being handled when the queue filled (input
 * is then parked, not handled), which is at most a read buffer plus a
 * frame header or two. ws_send() refuses to go past it. */
#define QUEUE_SLACK (READ_BUF_SIZE + 64)

/* ---------------------------------------------------------------------- */
/* Buffers and output segments.                                            */

enum {
    B_BYTES = 0, /* bytes in data[] */
    B_SHARED,    /* bytes of a shared message (sh), held by reference */
    B_FILE       /* bytes of an open file (fd), sent with sendfile(2) */
};

/* A byte buffer: a message being assembled, a control frame, parked input,
 * or one segment of an output queue. The bytes not yet consumed (written
 * out, or handed on) are [off, len). Allocated only while it holds
 * something, and counted in the memory budget as kind mem. */
typedef struct buf {
    struct buf *next; /* the next segment of an output queue */
    size_t off, len;  /* pending bytes: data[off..len), or the shared
                         message's / the file's bytes off..len */
    size_t cap;       /* B_BYTES: bytes allocated for data[] */
    uint8_t kind;     /* B_* */
    uint8_t mem;      /* ws_mem_kind it is counted as */
    int fd;           /* B_FILE: the open file */
    ws_shared *sh;    /* B_SHARED: the message (one reference) */
    uint8_t data[];
} buf;

static inline size_t buf_pending(const buf *b) { return b ? b->len - b->off : 0; }

/* A message shared by many connections (chat), stored once and counted
 * once. data holds room for the longest frame header, then the payload;
 * when it is first sent the header is written right before the payload
 * and the message is frozen: every queue then refers to the same frame. */
struct ws_shared {
    uint32_t refs; /* the creator's, plus one per queue segment */
    uint8_t opcode;
    uint8_t frozen;  /* sent at least once: no more appends */
    uint8_t hlen;    /* header length, once frozen */
    size_t len, cap; /* payload bytes, and room for them */
    uint8_t *data;   /* WS_MAX_SERVER_HEADER_LEN bytes, then the payload */
    /* The message compressed once for every receiver that resets its
     * compressor per message (RFC 7692 no context takeover), for one
     * window size: a frame of its own, made the first time one is sent. */
    uint8_t *zdata; /* the compressed frame (header and payload) */
    size_t zlen, zcap;
    uint8_t zbits;  /* its window bits */
    uint8_t zstate; /* 0: not made; 1: made; 2: not worth it (no smaller) */
};

/* The frozen frame: header and payload. */
static inline const uint8_t *shared_frame(const ws_shared *m) {
    return m->data + WS_MAX_SERVER_HEADER_LEN - m->hlen;
}
static inline size_t shared_frame_len(const ws_shared *m) { return m->hlen + m->len; }

/* ---------------------------------------------------------------------- */
/* Connections.                                                            */

enum {
    C_FREE = 0,  /* slot unused */
    C_HANDSHAKE, /* reading the HTTP request head */
    C_OPEN,      /* WebSocket messages flow */
    C_CLOSING,   /* we sent a close frame and wait for the peer's */
    C_FLUSHING,  /* nothing more to say: write what is queued, then FIN */
    C_DRAIN,     /* FIN sent; read and discard until the peer's FIN */
    C_DEAD       /* to be closed and freed after this event batch */
};

extern const char *const state_names[];

enum {
    F_OPENED = 1 << 0,      /* on_open ran; on_close is still owed */
    F_PING_OUT = 1 << 1,    /* a keep-alive ping awaits any answer */
    F_READ_PAUSED = 1 << 2, /* output over max_queue: not reading */
    F_REJECT = 1 << 3,      /* counted in rejecting, not in nconns */
    F_RECV_PARTS = 1 << 4,  /* the message coming in goes to on_part */
    F_SEND_PARTS = 1 << 5,  /* a message going out in parts is unfinished */
    F_HTTP = 1 << 6,        /* a plain HTTP request is being answered */
    F_HS = 1 << 7,          /* hs is allocated (the union holds it, not user) */
    F_ZPARTS = 1 << 8,      /* the message going out in parts is compressed */
    F_ZSENT = 1 << 9,       /* ... and its first frame has gone out */
    F_NOTE = 1 << 10,       /* note is set (the union holds it) */
};

/* ws_conn.pmd: permessage-deflate as agreed at the handshake (RFC 7692). */
enum {
    PMD_ON = 1,         /* negotiated */
    PMD_SERVER_NCT = 2, /* server_no_context_takeover: we reset per message */
    PMD_CLIENT_NCT = 4, /* client_no_context_takeover: the client resets */
};

/* What only a connection in the handshake needs; freed after it. */
typedef struct endnote endnote;

typedef struct handshake {
    ws_http_parser parser;
    struct sockaddr_storage peer;
    buf *head;     /* the request head as sent, kept only for a
                      handler with on_request (its header lookup) */
    endnote *note; /* the access line's facts, once answered */
    void *user;    /* set by on_request (ws_conn_set_user): the
                      handler's pointer once the connection opens */
} handshake;

/* What on_request sees (server.h): the parsed request, the head's bytes
 * for header lookups, the client's address. */
struct ws_request {
    const ws_http_request *req;
    const uint8_t *head;
    size_t head_len;
    char client[WS_ADDR_TEXT];
};

#define MAX_PROTOCOLS 32 /* names in --subprotocol */

/* A connection's working state, allocated when it first needs a buffer
 * and given back by the sweep once everything in it is empty and the
 * connection has been quiet for IDLE_FREE_MS: an idle connection holds
 * only its slot. */
typedef struct conn_x {
    buf *msg;            /* a message assembled from several reads */
    buf *ctl;            /* a ping payload split across reads */
    buf *park;           /* input not handled yet because the queue was full */
    buf *out, *out_tail; /* output the kernel has not taken yet, in order */
    size_t out_bytes;    /* bytes pending in out (shared and file bytes too) */
    size_t out_ref;      /* of those, bytes of shared messages and files:
                            not copies, not this connection's memory */
    size_t out_held;     /* memory the out segments hold (their budget cost) */
    ws_inflate *zin;     /* this connection's own decompressor (context
                            takeover, or a message that spans reads) */
    ws_deflate *zout;    /* its own compressor (context takeover, or a
                            message being sent in parts) */
} conn_x;

/* A connection: one slot of the table indexed by fd. Kept small, since
 * an idle connection costs its slot and nothing else (the budget is 170
 * bytes per idle connection, docs/benchmarks.md). */
struct ws_conn {
    ws_io io;            /* fd, registered events; must stay first */
    uint32_t id;         /* for logs */
    uint8_t state;       /* C_* */
    uint8_t pmd;         /* PMD_* */
    uint16_t flags;      /* F_* */
    uint16_t close_code; /* code sent or received, for on_close */
    uint8_t pmd_bits;    /* window bits: ours (low 4 bits), the client's (high 4) */
    uint8_t spare;
    uint32_t last_rx; /* ms (server clock) of the last byte received */
    uint32_t last_tx; /* ms of the last write progress, or when output queued */
    union {
        uint32_t deadline; /* ms: end of the handshake, ping, close or drain wait */
        int32_t next_dead; /* C_DEAD: fd of the next dead connection, -1: none */
    };
    uint32_t progress;  /* ms of the last progress of an unfinished message */
    uint32_t opened_at; /* ms when the connection was accepted */
    uint32_t msgs_in;   /* messages received */
    uint64_t bytes_in;  /* bytes read from the socket */
    uint64_t bytes_out; /* bytes written to the socket */
    ws_proto proto;     /* the protocol engine's state */
    conn_x *x;          /* buffers, or NULL while idle */
    union {
        handshake *hs; /* C_HANDSHAKE: the request being parsed */
        void *user;    /* after on_open: the handler's pointer */
        endnote *note; /* F_NOTE: what the connection's last log line
                          needs (connlog.c): after an HTTP answer, or
                          after on_close */
    };
};

/* Sizes the book quotes (x86-64), checked against its text by make
 * docs-check (scripts/docs/sizes): the slot, 144 bytes, in limits.md,
 * architecture.md, tour.md, tutorial-vs-ws6455.md, benchmarks.md and
 * deflate.md; conn_x, 80, in architecture.md and limits.md; the
 * handshake, 1,952, in limits.md, architecture.md and tour.md. A change
 * here is a change there. */
#if defined(__x86_64__)
_Static_assert(sizeof(struct ws_conn) == 144, "docs/limits.md: a connection slot is 144 bytes");
_Static_assert(sizeof(conn_x) == 80, "docs/architecture.md: conn_x is 80 bytes");
_Static_assert(sizeof(handshake) == 1952, "docs/limits.md: the handshake is 1,952 bytes");
#endif

/* One worker's server. Only one runs per process (the worker), so the
 * handler API reaches it through this pointer instead of a field in every
 * connection. */
struct ws_server {
    const ws_server_config *cfg;
    ws_reactor *r;
    ws_io listener;
    int reserve_fd; /* spare fd, given up to shed load on EMFILE */
    ws_proto_limits limits;
    uint64_t epoch; /* reactor time when the server started */
    uint8_t *rbuf;  /* shared read buffer */
    uint8_t *wbuf;  /* small pieces copied into the write batch */
    size_t wlen;
    struct iovec iov[BATCH_IOV]; /* the write batch: pieces in wbuf or pointers */
    int niov;
    size_t batch_bytes; /* bytes in the batch */
    ws_conn *wconn;     /* the connection the batch belongs to */
    ws_conn **chunks;   /* connection slots, CONN_CHUNK per chunk */
    size_t nchunks;
    int max_fd;         /* highest fd ever given a slot */
    unsigned nconns;    /* connections counted against max_connections */
    unsigned rejecting; /* 503 answers in flight */
    uint32_t next_id;
    int dead;       /* fd of the first dead connection, -1: none */
    int client_dir; /* directory fd, or -1 */
    int shutting_down;
    uint64_t shutdown_deadline;
    uint64_t emfile_logged;
    uint32_t next_stats; /* ms: next periodic stats line */
    uint64_t shed;       /* connections shed for memory */
    int shedding;        /* inside shed_for(): no nesting */
    size_t trim_mark;    /* budget total's high-water since the last trim */
    /* permessage-deflate (compress.c): per window size, a decompressor and a
     * compressor shared by the connections that keep no context between
     * messages; buffers for inflated and deflated bytes. */
    ws_inflate *zin_shared[16];
    ws_deflate *zout_shared[16];
    uint8_t *zbuf_in, *zbuf_out;
    uint32_t reject_logged;    /* ms of the last 503 log line */
    unsigned rejects_unlogged; /* 503s since then */
    size_t nproxies;
    ws_cidr proxies[MAX_PROXIES];
    size_t nprotocols; /* --subprotocol, split (pointers into protocol_buf) */
    const char *protocols[MAX_PROTOCOLS];
    char protocol_buf[1024];
};

extern ws_server *srv; /* the server of this process */

/* Signals only set these flags; the loop acts on them. */
extern volatile sig_atomic_t stop_requested;
extern volatile sig_atomic_t stop_count;
extern volatile sig_atomic_t stats_requested;

static inline uint32_t now_ms(void) { return (uint32_t)(ws_reactor_now(srv->r) - srv->epoch); }

/* Wrap-safe: has time t been reached at now? */
static inline int reached(uint32_t now, uint32_t t) { return (int32_t)(now - t) >= 0; }

static inline const ws_handler *handler(void) { return srv->cfg->handler; }

/* Bytes queued for c: its output queue, plus its share of the write batch. */
static inline size_t conn_queued(const ws_conn *c) {
    return (c->x ? c->x->out_bytes : 0) + (srv->wconn == c ? srv->batch_bytes : 0);
}

/* buf.c */
buf *buf_new(ws_mem_kind mem, size_t cap);
int buf_reserve(buf **bp, ws_mem_kind mem, size_t need);
int buf_append(buf **bp, ws_mem_kind mem, const void *data, size_t len);
size_t buf_cost(const buf *b);
void buf_free(buf **bp);
void buf_free_chain(buf **bp);
void shared_unref(ws_shared *m);
void shared_freeze(ws_shared *m);

/* output.c */
void conn_update_events(ws_conn *c);
void batch_write(ws_conn *c, int may_swap);
int batch_points_into(const buf *b);
void conn_write(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen);
int batch_frame(ws_conn *c, int opcode, const void *data, size_t len);
void batch_flush(void);
void send_frame(ws_conn *c, int opcode, const void *data, size_t len);
void send_close(ws_conn *c, unsigned code, const char *reason);
void conn_flush(ws_conn *c);
int queue_segment(ws_conn *c, buf *seg);
void queue_drop(ws_conn *c);

/* websocket.c */
void notify_close(ws_conn *c, unsigned code, const void *reason, size_t len, int by_peer);
void frames_feed(ws_conn *c, uint8_t *p, size_t len);
void conn_fail(ws_conn *c, unsigned code, const char *why);
void feed_parked(ws_conn *c);

/* handshake.c */
/* connlog.c */
void endnote_http(ws_conn *c, int status, const char *why);
void endnote_ws(ws_conn *c, unsigned code, const void *reason, size_t len, int by_peer);
void endnote_attach(ws_conn *c, endnote *n);
void endnote_log(ws_conn *c);
void endnote_free(ws_conn *c);
/* handshake.c: the client's address (X-Forwarded-For when believed) and,
 * if peer is not NULL, the socket peer's; returns 1 when behind a proxy. */
int handshake_client(const handshake *hs, char client[WS_ADDR_TEXT], char *peer);
void http_error(ws_conn *c, int status, const char *why);
void handshake_feed(ws_conn *c, uint8_t *p, size_t len);
void handshake_free(ws_conn *c);
void reject(int fd, const char *why);

/* files.c */
void serve_file(ws_conn *c, const ws_http_request *req);

/* server.c */
ws_conn *conn_slot(int fd);
void conn_kill(ws_conn *c);
void conn_finish(ws_conn *c);
void conn_read(ws_conn *c);
void on_conn_event(ws_reactor *r, ws_io *io, unsigned events);
conn_x *conn_x_get(ws_conn *c);
int shed_for(ws_conn *c, size_t n);
void log_stats(const char *why);
int run_worker(const ws_server_config *cfg, int listen_fd);

/* compress.c */
#define ZBUF_SIZE (64 * 1024) /* inflated or deflated bytes handled at a time */
int pmd_handshake(ws_conn *c, const ws_http_request *req, char *line, size_t cap);
void pmd_describe(const ws_conn *c, char *out, size_t cap);
int pmd_zbuf(ws_conn *c, ws_proto_zbuf *zb);
int pmd_after_feed(ws_conn *c, const ws_proto_zbuf *zb);
int pmd_send(ws_conn *c, int opcode, const ws_piece *pieces, size_t n, int first, int last);
int pmd_wants(const ws_conn *c, size_t len);
const uint8_t *pmd_shared_frame(ws_conn *c, ws_shared *m, size_t *len);
size_t pmd_held(const ws_conn *c);
void pmd_release(ws_conn *c);
void pmd_worker_free(void);

/* supervisor.c */
void note_hangup(void);

#endif /* WS_SERVER_INTERNAL_H */

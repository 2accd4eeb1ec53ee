/*
 * server.h -- the WebSocket server: configuration, the handler interface,
 * and what a handler may do with a connection.
 *
 * This is the API for embedding ws6455 in another program or writing a new
 * handler: fill a ws_server_config (ws_server_config_defaults() gives the
 * documented defaults), point it at a ws_handler, and call
 * ws_server_run(). Handlers see connections only through the ws_conn
 * functions below; they never touch sockets, buffers or the event loop.
 */
#ifndef WS_SERVER_H
#define WS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "rfc6455.h" /* WS_OP_TEXT, WS_CLOSE_*: what ws_send() and ws_close() take */

typedef struct ws_conn ws_conn;
typedef struct ws_server ws_server;
typedef struct ws_shared ws_shared;
typedef struct ws_request ws_request;

/* Callbacks of an application. Any may be NULL. They run on the event
 * loop's thread and must not block. A ws_conn pointer is valid from
 * on_open until on_close returns; do not keep it longer. */
typedef struct ws_handler {
    const char *name;
    /* The handshake completed; the connection is open. */
    void (*on_open)(ws_conn *c, void *ud);
    /* A complete message. data is valid only during the call; is_text
     * messages have been checked to be valid UTF-8. */
    void (*on_message)(ws_conn *c, const uint8_t *data, size_t len, int is_text, void *ud);
    /* The WebSocket connection is over: code is the status received or
     * sent (RFC 6455 §7.4), 1006 when the TCP connection just dropped. */
    void (*on_close)(ws_conn *c, unsigned code, void *ud);
    /* Optional: a large message in parts, as the reads bring them, instead
     * of whole to on_message. A message goes to on_part as soon as it is
     * known to be large and not complete in the current read: when its
     * first frame announces at least WS_PART_MIN payload bytes, or when the
     * bytes assembled for it reach WS_PART_MIN (a small first fragment
     * followed by large ones, even when the read that gets there also
     * ends the message); the bytes assembled so far are then the first
     * part. Other messages still go to on_message. first and last
     * mark the message's first and final parts; a part may be empty, and a
     * text part may end inside a UTF-8 character (every byte so far is
     * valid). If the rest of the message turns out invalid (bad UTF-8,
     * over --max-message), no last part comes: the connection is failed
     * and on_close follows. The server then holds at most WS_PART_MIN bytes
     * of such a message, however large it is. */
    void (*on_part)(ws_conn *c, const uint8_t *data, size_t len, int first, int last, int is_text,
                    void *ud);
    /* Optional: a valid opening handshake arrived (its Origin, if
     * --allow-origin is set, is allowed), before it is answered. Return 0
     * to accept it (the 101 goes out, then on_open), or an HTTP status
     * from 400 to 599 to refuse it: the client gets that status and the
     * connection closes; on_open and on_close are not called. req, and
     * every string it gives, is valid only during the call. This is where
     * an embedding program authenticates (a cookie, a token in the
     * target) and routes (by path or subprotocol), keeping what it needs
     * with ws_conn_set_user(). Only when it is set does the server keep
     * the request's header lines until the handshake is answered (counted
     * in the memory budget, at most --max-header). */
    int (*on_request)(ws_conn *c, const ws_request *req, void *ud);
    void *ud; /* passed to every callback */
} ws_handler;

/* Messages at least this large go to on_part (when a handler has it):
 * 64 KiB, a quarter of the read buffer, so a part is rarely tiny. */
#define WS_PART_MIN (64 * 1024)

/* Every limit and timeout of the server. Times are in milliseconds; 0
 * disables a timeout. Defaults (ws_server_config_defaults) in brackets. */
typedef struct ws_server_config {
    const char *host;           /* listen address, IPv4 or IPv6 ["0.0.0.0"] */
    unsigned port;              /* [8080] */
    const char *client_dir;     /* files served to plain GETs ["client"]; NULL: none */
    const ws_handler *handler;  /* required [NULL; the command line: echo] */
    size_t max_message;         /* bytes per message, else 1009 [16 MiB] */
    unsigned max_fragments;     /* frames per message, else 1009 [100000] */
    size_t max_header;          /* bytes of HTTP request head, else 431 [8192] */
    size_t max_queue;           /* queued output bytes per connection before it
                                   is no longer read [4 MiB]; what one
                                   connection may hold is at most this plus
                                   one read buffer (256 KiB) */
    size_t max_memory;          /* the worker's memory budget: every byte held
                                   for peers, counted in one place (mem.h);
                                   0 = no budget [256 MiB] */
    unsigned max_connections;   /* open connections per worker, else 503 [10000] */
    unsigned workers;           /* processes sharing the port [number of CPUs] */
    unsigned handshake_timeout; /* ms to receive the request head [10000] */
    unsigned ping_interval;     /* ms of silence before we ping [30000] */
    unsigned ping_timeout;      /* ms to wait for any reply to a ping, then close 1001 [10000] */
    unsigned close_timeout;     /* ms to wait for the peer's close / FIN [5000] */
    unsigned message_timeout;   /* ms an unfinished message or frame may go
                                   without progress, then close 1008 [30000] */
    unsigned send_timeout;      /* ms a peer may leave output unread, then drop [30000] */
    unsigned shutdown_timeout;  /* ms to wait for close replies on SIGTERM [5000] */
    const char *trust_proxy;    /* comma-separated addresses or CIDR ranges whose
                                   X-Forwarded-For (when it is an address) is
                                   believed in logs [NULL: none] */
    unsigned busy_poll;         /* µs to poll without sleeping after traffic,
                                   0 = off (ws_reactor_set_busy_poll) [0] */
    unsigned stats_interval;    /* ms between stats lines in the log, 0 = only
                                   on SIGUSR1 [0] */
    /* permessage-deflate (RFC 7692), docs/deflate.md. */
    int deflate;              /* WS_DEFLATE_OFF / _SHARED / _DEDICATED [SHARED] */
    unsigned deflate_level;   /* 1 (fast) .. 9 (small) [1] */
    unsigned deflate_window;  /* 8..15: the largest LZ77 window, in bits, we
                                 compress with and ask clients to use [15] */
    size_t deflate_threshold; /* messages shorter than this go uncompressed [64] */
    /* RFC 6455 §1.9, §4.2.2: the subprotocols the server speaks, comma-
     * separated; of those a client offers, its first choice is answered
     * in Sec-WebSocket-Protocol. "*" accepts whatever the client offers
     * first (an echo speaks anything). When nothing matches, no
     * subprotocol is selected and the 101 has no Sec-WebSocket-Protocol
     * (§4.2.2: the null choice), which clients that asked for one treat
     * as a failed handshake. NULL or "": none ["*"] */
    const char *subprotocols;
    /* RFC 6455 §10.2: browsers' Origin values that may open connections,
     * comma-separated (scheme://host[:port], "null", or a wildcard
     * scheme://"*.domain"[:port] for its subdomains); a request whose
     * Origin is not listed gets 403. A request without Origin (not from a
     * browser) is always allowed. NULL: every origin [NULL] */
    const char *allow_origin;
} ws_server_config;

/* The memory modes of permessage-deflate. */
enum {
    WS_DEFLATE_OFF = 0,  /* decline every offer */
    WS_DEFLATE_SHARED,   /* no context takeover either way: nothing is
                            kept between messages, so one compressor
                            and one decompressor per worker serve all
                            connections (an idle one costs nothing) */
    WS_DEFLATE_DEDICATED /* context takeover unless the client declines
                            it: better compression of similar messages,
                            for a window per direction per connection */
};

/* The documented defaults. handler is NULL: the embedding program picks
 * one (main.c picks echo); the server knows no handler by name. */
void ws_server_config_defaults(ws_server_config *cfg);

/* Check a configuration before anything is started: a handler is set, the
 * --host is a numeric address, --trust-proxy parses, the limits are
 * consistent. Returns 0, or -1 with a sentence in err (a usage error: the
 * command line exits 2 and never starts a worker). */
int ws_server_config_check(const ws_server_config *cfg, char *err, size_t errcap);

/* Create the listening socket(s), run the event loop(s) until SIGTERM or
 * SIGINT has been handled (graceful shutdown), and return 0; or return -1
 * with a logged error if the server could not start (the configuration
 * should have passed ws_server_config_check()). With workers > 1 the
 * process forks that many workers, each with its own SO_REUSEPORT
 * listener opened before the fork, and supervises them: a worker that dies
 * is replaced, and workers end when the supervisor does. */
int ws_server_run(const ws_server_config *cfg);

/* Send a message: opcode WS_OP_TEXT or WS_OP_BINARY (text must be UTF-8).
 * The bytes are copied or written before the call returns. Returns 0, or
 * -1 if the connection is not open, or if the message would take the
 * connection's queued output past --max-queue plus one read buffer (a
 * peer that does not read), or the worker's memory budget has no room:
 * nothing is sent then. Send larger messages in parts, or shared. */
int ws_send(ws_conn *c, int opcode, const void *data, size_t len);

/* Send one message made of n pieces (no copy needed to concatenate). */
typedef struct ws_piece {
    const void *data;
    size_t len;
} ws_piece;
int ws_send_pieces(ws_conn *c, int opcode, const ws_piece *pieces, size_t n);

/* Send a message in parts, each part a frame of its own (RFC 6455 §5.4
 * fragmentation): the first part's frame carries opcode (WS_OP_TEXT or
 * WS_OP_BINARY), later ones are continuation frames, and the last one has
 * FIN set; the peer receives one message. Until the last part is sent,
 * ws_send() and ws_send_pieces() on this connection return -1, because
 * the frames of two messages must not interleave (§5.4); pongs and close
 * frames may come between parts and are sent as usual. Returns 0, or -1
 * if the connection is not open or the call is out of order (a first
 * part while a message is unfinished, or a later part with none begun). */
int ws_send_part(ws_conn *c, int opcode, int first, int last, const void *data, size_t len);

/* A message for many connections (a broadcast), stored once and counted
 * once in the memory budget, whatever the number of receivers:
 *
 *   ws_shared *m = ws_shared_new(WS_OP_TEXT);     build it (NULL: no memory)
 *   ws_shared_append(m, data, len);               ... in as many pieces
 *   for each receiver: ws_send_shared(c, m);      queue it by reference
 *   ws_shared_release(m);                         drop the builder's hold
 *
 * ws_shared_append() returns 0, or -1 if the budget has no room (the
 * message is then unchanged) or the message was already sent. The first
 * ws_send_shared() freezes the message. ws_send_shared() never writes to
 * the socket itself: the bytes go out as each receiver's socket becomes
 * writable, a bounded amount per turn of the event loop, so a large
 * broadcast cannot stall the loop. It returns 0, or -1 if the connection
 * is not open, a message in parts is unfinished, or the connection already
 * has --max-queue bytes queued (a receiver that does not keep up: the
 * handler decides what to do with it). The message is freed when the last
 * queue has sent it and the builder released it. */
ws_shared *ws_shared_new(int opcode);
int ws_shared_append(ws_shared *m, const void *data, size_t len);
size_t ws_shared_len(const ws_shared *m);
int ws_send_shared(ws_conn *c, ws_shared *m);
void ws_shared_release(ws_shared *m);

/* Start the closing handshake with status code and a reason of at most
 * 123 bytes (RFC 6455 §5.5.1). Returns 0, or -1 if not open. */
int ws_close(ws_conn *c, unsigned code, const char *reason);

/* 1 while the connection is open: messages may be sent and will be (0 once
 * a close has been sent or received, or the connection dropped; on_close
 * follows). */
int ws_conn_open(const ws_conn *c);

/* A number that identifies the connection in logs (unique per worker). */
uint32_t ws_conn_id(const ws_conn *c);
/* Bytes queued for the peer that the kernel has not taken yet. */
size_t ws_conn_queued(const ws_conn *c);
/* The configured max_queue (for handlers with a policy of their own). */
size_t ws_conn_queue_limit(const ws_conn *c);
/* The socket peer's address as text ("127.0.0.1:5012"), in a static
 * buffer overwritten by the next call. (Behind a proxy that is the
 * proxy's address; the client's, from X-Forwarded-For, is in the log.) */
const char *ws_conn_peer(const ws_conn *c);

/* One pointer of the handler's own per connection, NULL until set; valid
 * from on_open (set it there or later) to on_close. */
void ws_conn_set_user(ws_conn *c, void *user);
void *ws_conn_user(const ws_conn *c);

/* The opening handshake's request, as on_request sees it. */
/* The request-target as sent ("/room/7?token=abc"), NUL-terminated. */
const char *ws_request_target(const ws_request *req);
/* The Origin header's value, or NULL when the request has none (a client
 * that is not a browser). */
const char *ws_request_origin(const ws_request *req);
/* The subprotocol the server chose from the client's offer (see
 * subprotocols), or NULL if none. */
const char *ws_request_subprotocol(const ws_request *req);
/* The client's address as text: the socket peer's, or, when the peer is a
 * --trust-proxy and its X-Forwarded-For is an address, that address. */
const char *ws_request_client(const ws_request *req);
/* The value of the first header field called name (compared without
 * regard to case), surrounding whitespace removed, and its length in
 * *len; NULL if there is none. The value is not NUL-terminated and may
 * hold any byte a header value may (RFC 9110 §5.5): treat it as data. */
const char *ws_request_header(const ws_request *req, const char *name, size_t *len);

#endif /* WS_SERVER_H */

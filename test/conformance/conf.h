/*
 * conf.h -- the conformance driver's own declarations.
 *
 * The driver is a WebSocket *client* that checks a running server against
 * RFC 6455 the way Autobahn|Testsuite's "fuzzingclient" does (sections 1-7,
 * 9 and 10), and against RFC 7692 (permessage-deflate, sections 12 and 13).
 * It is deliberately independent of the server's code: it has its own
 * frame encoder/decoder, SHA-1, base64 and UTF-8 checker, and compresses
 * with zlib rather than the server's DEFLATE, so a bug shared by both sides
 * cannot hide itself. Nothing here includes src/ or include/.
 *
 * Pieces (one file each):
 *   wire.c    bytes: growable buffers, SHA-1, base64, UTF-8, frame encoding,
 *             deterministic payload patterns, hex dumps for evidence;
 *   conn.c    one client connection: connect, opening handshake (checked),
 *             chopped writes, frame reading (checked), the expectations
 *             "a message", "a pong", "a close with code X, then EOF";
 *   script.c  runs a case written as a table of steps (send these frames,
 *             expect that) in one of several write modes;
 *   negotiate.c  Sec-WebSocket-Extensions: the offers a case makes, the
 *             server's answer checked against them (RFC 7692 §7.1);
 *   zcodec.c  permessage-deflate's data (RFC 7692 §7.2) through zlib:
 *             compressing our messages, inflating the server's;
 *   main.c    options, the case registry, worker threads, the report;
 *   cases_*.c the cases, grouped like Autobahn's sections.
 *
 * Every wait is bounded: a read that sees no byte for cfg->timeout_ms fails
 * the case, so a silent server costs at most that long per expectation.
 */
#ifndef CONF_H
#define CONF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- RFC 6455 numbers, named (§5.2, §7.4.1) ---------------------------- */

#define CF_FIN  0x80
#define CF_RSV1 0x40
#define CF_RSV2 0x20
#define CF_RSV3 0x10

enum {
    CF_OP_CONT = 0x0,
    CF_OP_TEXT = 0x1,
    CF_OP_BINARY = 0x2,
    CF_OP_CLOSE = 0x8,
    CF_OP_PING = 0x9,
    CF_OP_PONG = 0xA
};

enum {
    CF_CLOSE_NORMAL = 1000,
    CF_CLOSE_PROTOCOL = 1002,
    CF_CLOSE_INVALID_DATA = 1007,
    CF_CLOSE_TOO_BIG = 1009
};

/* Special values for an expected close code (struct step.aux). */
#define CF_CODE_NORMAL_OR_EMPTY (-1) /* 1000 or a close frame without code */

/* ---- configuration and per-case context -------------------------------- */

struct cf_config {
    const char *host;
    const char *port;
    int timeout_ms;       /* longest silence tolerated while waiting */
    uint64_t max_message; /* the server's --max-message */
    bool client_fin;      /* after a close handshake, half-close first
                           * (for peers such as Node ws that wait) */
};

/* How the driver's zlib compressor writes its DEFLATE blocks (RFC 1951
 * §3.2.3): the server's decoder should read every kind. */
enum cf_zstyle {
    CF_Z_DEFAULT = 0, /* level 6: dynamic Huffman blocks, lazy matching */
    CF_Z_FAST,        /* level 1 */
    CF_Z_BEST,        /* level 9 */
    CF_Z_STORED,      /* level 0: stored blocks only */
    CF_Z_FIXED,       /* level 1, fixed Huffman codes only */
    CF_Z_HUFFMAN,     /* literals only, no matches */
    CF_Z_RLE          /* matches at distance 1 only */
};

/* Everything one running case owns. Not shared between threads. */
struct cf_ctx {
    const struct cf_config *cfg;
    uint64_t rng; /* xorshift state: masks, keys */
    /* Sec-WebSocket-Extensions offer for the opening handshake: one or more
     * header values separated by '\n' (each its own header line), or NULL
     * for none. With want_deflate, a server that declines it fails the
     * case. zstyle: how our messages are compressed. */
    const char *offer;
    bool want_deflate;
    enum cf_zstyle zstyle;
    bool failed;
    char why[640]; /* first failure reason */
};

/* Record a failure (the first one wins); always returns -1. */
int cf_fail(struct cf_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint32_t cf_rand32(struct cf_ctx *t);

/* ---- wire.c: bytes ------------------------------------------------------ */

/* A growable byte buffer; {0} is an empty buffer. Aborts on OOM: this is a
 * test tool, and a half-built frame is never worth recovering from. */
struct cf_buf {
    uint8_t *p;
    size_t len, cap;
};
void cf_buf_reserve(struct cf_buf *b, size_t extra);
void cf_buf_put(struct cf_buf *b, const void *data, size_t n);
void cf_buf_free(struct cf_buf *b);

/* SHA-1 (FIPS 180-4) of data into out[20]; base64 (RFC 4648 §4) of n bytes
 * into out, which must hold 4 * ceil(n / 3) + 1 bytes (NUL-terminated). */
void cf_sha1(const void *data, size_t n, uint8_t out[20]);
void cf_base64(const uint8_t *in, size_t n, char *out);
/* 0 if both agree with RFC 6455 §1.3 and FIPS 180 "abc"; -1 otherwise. */
int cf_selftest(void);

/* UTF-8 (RFC 3629 §4) check. Returns CF_UTF8_OK for complete valid text,
 * CF_UTF8_BAD if some byte proves the text invalid (*at = index of the
 * first such byte: a decoder that fails fast must stop there), or
 * CF_UTF8_TRUNCATED if every byte is fine but the text ends inside a
 * character (*at = n). */
enum { CF_UTF8_OK, CF_UTF8_BAD, CF_UTF8_TRUNCATED };
int cf_utf8_check(const uint8_t *p, size_t n, size_t *at);
/* Encode code point cp (any value up to 0x10FFFF) into out[4]; returns
 * the number of bytes. */
size_t cf_utf8_encode(uint32_t cp, uint8_t out[4]);

/* Deterministic payload bytes: byte i of a pattern depends only on i, so a
 * message split into frames can be produced and checked piece by piece.
 * CF_PAT_TEXT is ASCII (valid UTF-8), CF_PAT_BINARY covers all 256 values.
 * For the compression cases, patterns that compress differently:
 * CF_PAT_WORDS  lines of words (64 bytes each): plain compressible text;
 * CF_PAT_JSON   chat-like JSON records (128 bytes each), which repeat field
 *               names, users and rooms from record to record;
 * CF_PAT_UTF8   multi-byte text in whole characters per 4-byte unit (valid
 *               UTF-8 when offset and length are multiples of 4);
 * CF_PAT_RANDOM bytes that do not compress at all;
 * CF_PAT_ZERO   zeros (the stuff of compression bombs). */
enum {
    CF_PAT_NONE,
    CF_PAT_TEXT,
    CF_PAT_BINARY,
    CF_PAT_WORDS,
    CF_PAT_JSON,
    CF_PAT_UTF8,
    CF_PAT_RANDOM,
    CF_PAT_ZERO
};
void cf_pattern(int pat, uint64_t offset, uint8_t *dst, size_t n);

/* Append a client frame: header byte b0 (FIN | RSV | opcode), declared
 * length `declared`, a fresh random mask (or none if masked is false), and
 * the first n payload bytes (n <= declared; n < declared builds a frame
 * that is cut short on purpose). Payload comes from data, or from pattern
 * `pat` starting at pattern offset `pat_off` when data is NULL. */
void cf_put_frame(struct cf_ctx *t, struct cf_buf *out, uint8_t b0, uint64_t declared,
                  const uint8_t *data, int pat, uint64_t pat_off, size_t n, bool masked);

/* "41 42 ff ..." of at most max bytes of p (then "..."), into out. */
void cf_hex(const uint8_t *p, size_t n, size_t max, char *out, size_t outsz);
const char *cf_opname(unsigned op);

/* ---- conn.c: one connection --------------------------------------------- */

struct cf_frame {
    bool fin;
    unsigned rsv; /* 0..7 */
    unsigned op;
    uint64_t len;
    const uint8_t *payload; /* into the connection's buffer; valid until
                             * the next read on the connection */
    uint8_t head[14];       /* the raw header bytes, for evidence */
    size_t head_len;
};

struct cf_pmd; /* zcodec.c: a connection's compression state */

struct cf_conn {
    int fd;
    struct cf_buf in;  /* received, not yet consumed */
    size_t in_off;     /* consumed prefix of in */
    bool eof;          /* the server sent FIN */
    int read_err;      /* errno of a failed recv (ECONNRESET), or 0 */
    bool write_failed; /* the server stopped accepting our bytes */
    bool sent_close;   /* we have sent a close frame */
    uint64_t frames_seen;
    struct cf_pmd *pmd; /* permessage-deflate, if negotiated, else NULL */
};

/* Connect and run the opening handshake (RFC 6455 §4.1), checking the
 * server's 101 reply and Sec-WebSocket-Accept, and with t->offer the
 * extension it agreed to (RFC 7692 §7.1; c->pmd is then set up).
 * 0 or -1 (reason set). */
int cf_open(struct cf_ctx *t, struct cf_conn *c);
void cf_close(struct cf_conn *c);
/* Just a TCP connect (then close): 0 if the server accepts. */
int cf_probe(struct cf_ctx *t);

/* Write n bytes in pieces of `chop` bytes (0 = as few writes as possible),
 * sleeping pause_us between pieces. Reads whatever the server sends in the
 * meantime, so a large echo cannot deadlock us. A server that closes early
 * is not an error here (c->write_failed is set): the expectation that
 * follows will see its close frame. -1 only on a stall past the timeout. */
void cf_sleep_us(unsigned us);
int cf_write(struct cf_ctx *t, struct cf_conn *c, const uint8_t *p, size_t n, size_t chop,
             unsigned pause_us);

/* Read the next frame, checking what RFC 6455 requires of a server's frame
 * (§5.1 unmasked, §5.2 RSV clear and minimal length encoding, known opcode,
 * §5.5 control frames short and unfragmented). With permessage-deflate
 * negotiated, RSV1 may be set on a text or binary frame, the first of a
 * message (RFC 7692 §6), and nowhere else. 1 = frame, -1 = failure
 * (reason set; EOF and timeouts are failures here). */
int cf_next_frame(struct cf_ctx *t, struct cf_conn *c, struct cf_frame *f);

/* Describe a frame for an evidence line: "close fin=1 len=2 [03 ea] code=1002". */
void cf_describe(const struct cf_frame *f, char *out, size_t outsz);

/* Expect one data message with opcode op (CF_OP_TEXT or CF_OP_BINARY),
 * possibly fragmented by the server, possibly compressed (when negotiated),
 * equal to data[0..n) (or to pattern pat from offset pat_off if data is
 * NULL). */
int cf_expect_message(struct cf_ctx *t, struct cf_conn *c, unsigned op, const uint8_t *data,
                      int pat, uint64_t pat_off, uint64_t n);
int cf_expect_pong(struct cf_ctx *t, struct cf_conn *c, const uint8_t *data, size_t n);
/* Expect a close frame carrying `code` (or CF_CODE_NORMAL_OR_EMPTY). If we
 * had not sent a close yet, reply with one (RFC 6455 §5.5.1). Then expect
 * the server to close TCP (§7.1.1: the server closes first) within the
 * timeout, with no frame in between. */
int cf_expect_close(struct cf_ctx *t, struct cf_conn *c, int code);
/* The same, after the start of a data message that never finishes: a
 * server that passes a large message on in parts as it arrives may have
 * echoed fragments of it before finding it bad (RFC 6455 §5.4 lets the
 * close frame follow them). Zero or more such fragments (a text or binary
 * frame, then continuations, none with FIN, compressed or not), each byte
 * checked against pattern pat, then the close. */
int cf_expect_close_after_parts(struct cf_ctx *t, struct cf_conn *c, int code, int pat);
/* Expect the server to end the connection without a close frame, or with
 * a close frame carrying `code`: for the RFC's "MAY send a close" cases. */
int cf_expect_drop(struct cf_ctx *t, struct cf_conn *c, int code);

/* ---- negotiate.c: the extension's parameters (RFC 7692 §7.1) ----------- */

/* What the server's response agreed to, as the driver applies it. */
struct cf_pmd_params {
    bool server_no_context_takeover; /* the server resets per message: so
                                      * do we, inflating its messages */
    bool client_no_context_takeover; /* we reset our compressor per message */
    unsigned server_bits;            /* 8..15: the server's window, which we
                                      * inflate with (a reach past it fails) */
    unsigned client_bits;            /* 8..15: the largest window we may use */
};

/* Check the server's Sec-WebSocket-Extensions value (all such headers of
 * the response joined by ", "; NULL if it sent none) against our offer
 * (the ctx's; '\n' separates headers). 1 = permessage-deflate agreed and
 * *out set, 0 = no extension, -1 = the response breaks RFC 7692 §7.1 or
 * RFC 6455 §9.1 (reason set). */
int cf_pmd_negotiate(struct cf_ctx *t, const char *offer, const char *response,
                     struct cf_pmd_params *out);

/* ---- zcodec.c: compressed messages (RFC 7692 §7.2) ---------------------- */

struct cf_pmd *cf_pmd_new(const struct cf_pmd_params *agreed, enum cf_zstyle style);
void cf_pmd_free(struct cf_pmd *z);
const struct cf_pmd_params *cf_pmd_params(const struct cf_pmd *z);

/* Compress one message of n bytes (data, or pattern pat from pat_off) into
 * out: raw DEFLATE ending with a sync flush, whose 00 00 ff ff is removed
 * (§7.2.1); an empty message is the single byte 00 (§7.2.3.6). Resets the
 * compressor first when client_no_context_takeover was agreed. With
 * flush_every, also a sync flush after every that many input bytes. */
void cf_pmd_compress(struct cf_pmd *z, const uint8_t *data, int pat, uint64_t pat_off, uint64_t n,
                     uint64_t flush_every, struct cf_buf *out);

/* Inflate a compressed server message (§7.2.2), frame by frame: begin at
 * its first frame, then feed each frame's payload; `last` with the final
 * one appends 00 00 ff ff and requires the stream to end between blocks
 * (or after a final block, §7.2.3.5). Inflated bytes go to sink, which
 * returns -1 to stop. -1 (reason set) if the data does not inflate. */
typedef int (*cf_sink_fn)(struct cf_ctx *t, void *arg, const uint8_t *p, size_t n);
void cf_pmd_inflate_begin(struct cf_pmd *z);
int cf_pmd_inflate(struct cf_ctx *t, struct cf_pmd *z, const uint8_t *in, size_t n, bool last,
                   cf_sink_fn sink, void *arg);

/* ---- script.c: cases as tables of steps -------------------------------- */

enum cf_step_kind {
    ST_END = 0,
    ST_SEND,        /* one frame: b0, payload data/pattern of len bytes */
    ST_SEND_PART,   /* header declares len, only aux payload bytes follow */
    ST_SEND_FRAGS,  /* a message of len bytes (opcode b0) in aux-byte frames */
    ST_SEND_RAW,    /* data[0..len) as is, e.g. an unmasked frame */
    ST_SEND_Z,      /* a compressed message (RFC 7692 §7.2.1): opcode and
                     * extra RSV bits b0 (RSV1 is set anyway), len bytes of
                     * data/pattern compressed, then cut into frames of aux
                     * compressed bytes (0: one frame); see zflush, zrsv */
    ST_MSG,         /* expect message: opcode b0, data/pattern, len */
    ST_PONG,        /* expect pong with payload data[0..len) or pattern */
    ST_CLOSE,       /* expect close with code aux (int), then TCP close */
    ST_CLOSE_PARTS, /* the same, maybe after unfinished fragments of pat */
    ST_DROP,        /* expect TCP close, optionally after close code aux */
    ST_BYE          /* send close 1000, expect 1000 back, then TCP close */
};

struct cf_step {
    enum cf_step_kind kind;
    uint8_t b0;          /* FIN | RSV | opcode (sends); opcode (ST_MSG) */
    const uint8_t *data; /* NULL: pattern pat from offset pat_off */
    uint64_t len;        /* payload length (declared length for ST_SEND_PART) */
    int64_t aux;         /* see the kind */
    int pat;
    uint64_t pat_off;
    bool unmasked;   /* send without a mask (a client MUST mask, §5.3) */
    uint64_t zflush; /* ST_SEND_Z: a sync flush every zflush input
                      * bytes too, so blocks end inside the message */
    uint8_t zrsv;    /* ST_SEND_Z: RSV bits put on continuation
                      * frames (RFC 7692 §6.1 forbids any) */
};

/* How the bytes of consecutive send steps reach the socket. */
enum cf_mode {
    MODE_WRITE,  /* all at once, one write() */
    MODE_BYTES,  /* one byte per write() */
    MODE_FRAMES, /* one frame per write(), with a short pause between */
    MODE_CHOP    /* pieces of `chop` bytes */
};

/* A steps array built at run time (for generated cases): push steps, then
 * cf_steps_end() appends ST_END and returns the array, which lives until
 * exit. */
struct cf_steps {
    struct cf_step *v;
    size_t n, cap;
};
void cf_push(struct cf_steps *s, struct cf_step step);
const struct cf_step *cf_steps_end(struct cf_steps *s);

/* Run steps[] (terminated by ST_END) on a fresh connection. */
int cf_run_steps(struct cf_ctx *t, const struct cf_step *steps, enum cf_mode mode, size_t chop);

/* Step constructors for tables. S is a string literal (may contain \0). */
#define TX(B0, S)                                                                                  \
    { .kind = ST_SEND, .b0 = (B0), .data = (const uint8_t *)(S), .len = sizeof(S) - 1 }
#define TXP(B0, PAT, N)                                                                            \
    { .kind = ST_SEND, .b0 = (B0), .pat = (PAT), .len = (N) }
#define TX_CLOSE(CODE)                                                                             \
    {                                                                                              \
        .kind = ST_SEND, .b0 = CF_FIN | CF_OP_CLOSE,                                               \
        .data = (const uint8_t[]){ (uint8_t)((CODE) >> 8), (uint8_t)(CODE) }, .len = 2             \
    }
#define RX(OP, S)                                                                                  \
    { .kind = ST_MSG, .b0 = (OP), .data = (const uint8_t *)(S), .len = sizeof(S) - 1 }
#define RXP(OP, PAT, N)                                                                            \
    { .kind = ST_MSG, .b0 = (OP), .pat = (PAT), .len = (N) }
#define RX_PONG(S)                                                                                 \
    { .kind = ST_PONG, .data = (const uint8_t *)(S), .len = sizeof(S) - 1 }
#define RX_CLOSE(CODE)                                                                             \
    { .kind = ST_CLOSE, .aux = (CODE) }
#define RX_CLOSE_AFTER_PARTS(CODE, PAT)                                                            \
    { .kind = ST_CLOSE_PARTS, .aux = (CODE), .pat = (PAT) }
#define BYE                                                                                        \
    { .kind = ST_BYE }

/* ---- main.c: the registry ----------------------------------------------- */

struct cf_case;
typedef int (*cf_case_fn)(struct cf_ctx *t, const struct cf_case *c);

struct cf_case {
    char id[96];
    cf_case_fn fn; /* NULL: run steps with mode/chop */
    const struct cf_step *steps;
    enum cf_mode mode;
    size_t chop;
    uint64_t arg[4];   /* parameters for fn */
    bool heavy;        /* moves megabytes: few at a time */
    const char *offer; /* copied to cf_ctx (see there) */
    bool want_deflate;
    enum cf_zstyle zstyle;
};

/* Add a case; the id is printf-formatted. Returns a zeroed entry to fill.
 * Pointers it holds must live until exit (static tables, or cf_keep()). */
struct cf_case *cf_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copy n bytes to storage that lives until exit. */
void *cf_keep(const void *p, size_t n);
/* Register the steps table s under id in each mode of `modes` (a bitmask
 * of 1 << MODE_x); with more than one mode the id gets "/write", "/bytes"
 * or "/frames" appended. */
void cf_add_script(const char *id, const struct cf_step *s, unsigned modes);

#define M_WRITE  (1u << MODE_WRITE)
#define M_BYTES  (1u << MODE_BYTES)
#define M_FRAMES (1u << MODE_FRAMES)
#define M_ALL    (M_WRITE | M_BYTES | M_FRAMES)

/* Each cases_*.c file registers its section(s). */
void cf_register_framing(const struct cf_config *cfg);   /* 1.x, 2.x */
void cf_register_reserved(const struct cf_config *cfg);  /* 3.x, 4.x */
void cf_register_fragments(const struct cf_config *cfg); /* 5.x */
void cf_register_utf8(const struct cf_config *cfg);      /* 6.x */
void cf_register_close(const struct cf_config *cfg);     /* 7.x */
void cf_register_limits(const struct cf_config *cfg);    /* 9.x, 10.x, limits */
void cf_register_deflate(const struct cf_config *cfg);   /* 12.x, 13.x, X.5-X.7 */

#endif /* CONF_H */

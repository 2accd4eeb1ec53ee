/*
 * frame.h -- RFC 6455 §5.2 frame header decoding and encoding, and masking.
 *
 * The decoder is a push parser: feed it whatever bytes arrived, in any
 * split, and it reports a header once all of its 2..14 bytes are in, then
 * the payload as chunks that point into the caller's buffer, unmasked in
 * place. It keeps no copy of the input; a header split across reads is
 * assembled field by field, so its state is a couple of dozen bytes.
 *
 * It rejects a frame at the first header byte that proves it invalid
 * (reserved bits, reserved opcode, fragmented or oversized control frame,
 * missing mask, a non-minimal or 63-bit-overflowing length) so a hostile
 * peer cannot make the server wait for, or buffer, a frame it will refuse.
 * Rules that need message context (continuation, sizes of whole messages)
 * belong to the protocol engine (proto.h), not here.
 */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "rfc6455.h"

typedef struct ws_frame_parser {
    uint64_t remaining; /* payload bytes of the current frame not yet seen */
    uint8_t mask[4];    /* masking key of the current frame */
    uint8_t state;      /* which header field the next byte belongs to */
    uint8_t b0;         /* first header byte: FIN, RSV, opcode */
    uint8_t need;       /* bytes still missing in the current field */
    uint8_t mask_off;   /* payload bytes unmasked so far, mod 4 */
    uint8_t len7;       /* the 7-bit length field */
    uint8_t masked;     /* the current frame carries a masking key */
    uint8_t server;     /* 1: we are the server, frames must be masked;
                           0: we are a client, frames must not be (§5.1) */
    uint8_t rsv1_ok;    /* permessage-deflate was negotiated: RSV1 may be
                           set on a text or binary frame (RFC 7692 §6) */
} ws_frame_parser;

enum {
    WS_FRAME_EV_NONE = 0, /* input exhausted, nothing completed */
    WS_FRAME_EV_HEADER,   /* a header is complete: opcode, fin, length set;
                             and the first chunk of payload, the bytes that
                             came with it (data, len -- maybe 0 --, last) */
    WS_FRAME_EV_PAYLOAD   /* a further chunk of payload: data, len, last set */
};

typedef struct ws_frame_event {
    int type;        /* WS_FRAME_EV_* */
    uint8_t opcode;  /* HEADER: the frame's opcode */
    uint8_t fin;     /* HEADER: 1 if FIN is set */
    uint8_t rsv1;    /* HEADER: 1 if RSV1 is set (only possible with
                        rsv1_ok, on a text or binary frame) */
    uint8_t last;    /* chunk: 1 if this chunk ends the frame (for a
                        HEADER, 1 if the frame is empty or came whole) */
    uint8_t ascii;   /* chunk: 1 if every byte is below 0x80 (known for
                        masked frames, from the unmasking pass); 0 if not
                        or not known */
    uint64_t length; /* HEADER: declared payload length */
    uint8_t *data;   /* chunk: unmasked bytes, inside the fed buffer; for
                        a HEADER they end where the consumed bytes end */
    size_t len;      /* chunk: number of bytes at data (HEADER and
                        PAYLOAD events both carry a chunk) */
} ws_frame_event;

/* Prepare a parser. server = 1 when parsing frames sent by a client (they
 * MUST be masked), 0 when parsing a server's frames (they MUST NOT be):
 * RFC 6455 §5.1. */
void ws_frame_parser_init(ws_frame_parser *p, int server);

/* 1 if the parser stands between frames (no header byte of a next frame
 * seen yet), 0 inside a frame's header or payload. */
static inline int ws_frame_parser_idle(const ws_frame_parser *p) { return p->state == 0; }

/* Feed len bytes at buf. Consumes bytes until one event completes or the
 * input is exhausted, and returns the number of bytes consumed (which may
 * be less than len: call again with the rest; fed 0 bytes inside a
 * payload it reports an empty PAYLOAD chunk). A HEADER event also takes
 * the payload bytes that follow the header in buf (up to the frame's end),
 * so a frame that arrived whole is one call; the rest of a longer frame
 * comes as PAYLOAD events. Payload bytes are unmasked in place, so buf
 * must be writable and the chunk stays valid as long as the caller's
 * buffer does. A frame with an empty payload produces only a HEADER event
 * (length 0, an empty chunk with last set). Returns a negative ws_error (WS_E_RSV,
 * WS_E_OPCODE, WS_E_UNMASKED, WS_E_CONTROL_LEN, WS_E_CONTROL_FRAG,
 * WS_E_LENGTH) as soon as a header byte proves the frame invalid; the
 * parser must not be fed again after an error. */
long ws_frame_feed(ws_frame_parser *p, uint8_t *buf, size_t len, ws_frame_event *ev);

/* Write a server (unmasked) frame header for a payload of len bytes into
 * out, which must hold WS_MAX_SERVER_HEADER_LEN bytes. Returns the header
 * length: 2, 4 or 10. */
size_t ws_frame_header(uint8_t *out, int fin, int opcode, uint64_t len);

/* Write a client (masked) frame header into out (WS_MAX_HEADER_LEN bytes).
 * Used by tests and tools that play the client. Returns 6, 8 or 14. */
size_t ws_frame_header_masked(uint8_t *out, int fin, int opcode, uint64_t len,
                              const uint8_t mask[4]);

/* XOR len bytes at data with the masking key, starting at key byte
 * (offset % 4) -- RFC 6455 §5.3: octet i is XORed with key[i mod 4].
 * Applying it twice restores the input. Works 8 to 256 bytes a step, the
 * widest the CPU has (see ws_frame_mask_use() below). Returns
 * 1 if every resulting byte is below 0x80 (ASCII), else 0: the pass that
 * unmasks a text payload also tells whether it needs UTF-8 decoding. */
int ws_frame_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset);

/* The ways ws_frame_mask() can take a long payload (frame.c): all give the
 * same bytes and the same result; they differ in bytes per instruction. */
enum { WS_MASK_AUTO = 0, WS_MASK_SCALAR, WS_MASK_SSE2, WS_MASK_AVX2 };

/* Make ws_frame_mask() use variant (WS_MASK_AUTO: the widest this CPU
 * runs, for payloads of 64 bytes or more, shorter ones word by word --
 * which is also what happens if this is never called; any other: that
 * variant for every length). Returns 0, or -1 if this build or CPU lacks
 * the variant (the choice is then unchanged). For tests and the fuzz
 * target, which run every variant the machine has against each other. */
int ws_frame_mask_use(int variant);

/* The variant in use (WS_MASK_SCALAR, _SSE2 or _AVX2). */
int ws_frame_mask_variant(void);

#endif /* WS_FRAME_H */

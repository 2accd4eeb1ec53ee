/*
 * fuzz_proto.c -- libFuzzer target for the protocol engine (proto.h).
 *
 * Input: byte 0 picks max_message from a table of small and edge values,
 * byte 1 max_fragments (0..7, 0 = no limit), byte 2 how the rest is cut
 * into reads (fuzz_common.h); the rest is what a client sent after the
 * handshake.
 *
 * The engine runs over the input in one call and in the cut pieces.
 * Besides the promises of proto.h (progress, bounds, first/last, nothing
 * after a close or an error), a plain frame walker written here -- no
 * validation, just the §5.2 layout -- finds where every frame's payload
 * lies in the input and what its key is, and checks that:
 *
 *  - every DATA and PING chunk is a run of one frame's payload, taken in
 *    order with nothing skipped, equal to the input bytes XOR the key;
 *  - every data frame that lies wholly before the point where the engine
 *    stopped was reported completely;
 *  - the messages reassembled from the chunks are within max_message and,
 *    for text, valid UTF-8; close codes are ones §7.4 allows;
 *  - both runs report the same messages, pings, pongs, close or error.
 */
#include <string.h>

#include "error.h"
#include "fuzz_common.h"
#include "proto.h"
#include "rfc6455.h"
#include "utf8.h"

/* ---- The reference frame walker ---------------------------------------- */

struct ref_frame {
    size_t payload;  /* stream offset of the payload */
    uint64_t length; /* declared */
    uint8_t key[4];  /* zero when unmasked */
    uint8_t opcode;
    uint64_t covered; /* payload bytes reported by the engine so far */
};

/* The frames of in[0..len), as far as their headers are complete. */
static size_t walk(const uint8_t *in, size_t len, struct ref_frame *f, size_t max) {
    size_t off = 0, n = 0;
    while (n < max && len - off >= 2) {
        uint8_t len7 = in[off + 1] & 0x7f;
        int masked = (in[off + 1] & 0x80) != 0;
        size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        size_t hlen = 2 + ext + (masked ? 4 : 0);
        if (len - off < hlen) break;
        uint64_t length = len7;
        if (ext) {
            length = 0;
            for (size_t i = 0; i < ext; i++) length = length << 8 | in[off + 2 + i];
        }
        memset(f[n].key, 0, 4);
        if (masked) memcpy(f[n].key, in + off + 2 + ext, 4);
        f[n].payload = off + hlen;
        f[n].length = length;
        f[n].opcode = in[off] & 0x0f;
        f[n].covered = 0;
        n++;
        if (length > len - off - hlen) break; /* runs past the input */
        off += hlen + (size_t)length;
    }
    return n;
}

/* ---- One run of the engine ------------------------------------------- */

struct plog {
    uint8_t *out; /* serialized items, to compare runs with memcmp */
    size_t out_len;
    uint8_t *msg; /* the open message */
    size_t msg_len;
    uint8_t msg_op;
    int in_msg, in_ping, done, failed;
    size_t ping_len;
    size_t end_lo;       /* the close/error came in stream bytes [end_lo, ...) */
    struct ref_frame *f; /* the walker's frames */
    size_t nf;
    size_t cursor; /* the frame the last chunk came from */
};

static void emit(struct plog *l, const void *p, size_t n) {
    memcpy(l->out + l->out_len, p, n);
    l->out_len += n;
}

static void emit_item(struct plog *l, uint8_t type, uint8_t op, uint16_t code, int err,
                      const uint8_t *data, size_t n) {
    uint8_t head[4] = { type, op, (uint8_t)(code >> 8), (uint8_t)code };
    uint32_t n32 = (uint32_t)n;
    emit(l, head, 4);
    emit(l, &err, sizeof(err));
    emit(l, &n32, sizeof(n32));
    if (n) emit(l, data, n);
}

/* A chunk at stream offset at: it must continue some frame's payload
 * exactly where the last chunk of that frame stopped, and be the input
 * unmasked. Frames are visited in order, so the search only moves on. */
static void check_chunk(struct plog *l, const uint8_t *in, size_t at, const uint8_t *data, size_t n,
                        int ping) {
    while (l->cursor < l->nf && !(at >= l->f[l->cursor].payload &&
                                  at < l->f[l->cursor].payload + l->f[l->cursor].length))
        l->cursor++;
    FUZZ_CHECK(l->cursor < l->nf);
    struct ref_frame *f = &l->f[l->cursor];
    FUZZ_CHECK(at == f->payload + f->covered);
    FUZZ_CHECK(n <= f->length - f->covered);
    FUZZ_CHECK(ping ? f->opcode == WS_OP_PING : f->opcode <= WS_OP_BINARY);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(data[i] == (in[at + i] ^ f->key[(f->covered + i) % 4]));
    f->covered += n;
}

static void run(const uint8_t *in, uint8_t *buf, size_t len, const ws_proto_limits *lim,
                fuzz_cutter *cut, struct plog *l) {
    ws_proto p;
    size_t off = 0;

    l->out_len = l->msg_len = l->ping_len = 0;
    l->in_msg = l->in_ping = l->done = l->failed = 0;
    l->end_lo = len;
    l->cursor = 0;
    for (size_t i = 0; i < l->nf; i++) l->f[i].covered = 0;
    memcpy(buf, in, len);
    ws_proto_init(&p);

    while (off < len) {
        size_t piece_end = off + (cut ? fuzz_cutter_next(cut, len - off) : len - off);
        size_t piece_start = off;
        while (off < piece_end) {
            ws_proto_event ev;
            int was_done = l->done;
            size_t used = ws_proto_feed(&p, lim, buf + off, piece_end - off, &ev);
            FUZZ_CHECK(used <= piece_end - off);
            FUZZ_CHECK(used > 0 || ev.type != WS_PROTO_EV_NONE);
            if (was_done || ev.type == WS_PROTO_EV_NONE) {
                /* After the end, and when nothing happened, all is eaten. */
                FUZZ_CHECK(ev.type == WS_PROTO_EV_NONE && used == piece_end - off);
                off += used;
                continue;
            }
            if ((ev.type == WS_PROTO_EV_DATA || ev.type == WS_PROTO_EV_PING) && ev.len > 0) {
                FUZZ_CHECK(ev.data >= buf + off && ev.data + ev.len <= buf + off + used);
                check_chunk(l, in, (size_t)(ev.data - buf), ev.data, ev.len,
                            ev.type == WS_PROTO_EV_PING);
            }
            switch (ev.type) {
            case WS_PROTO_EV_DATA:
                FUZZ_CHECK(!l->in_ping);
                FUZZ_CHECK(ev.opcode == WS_OP_TEXT || ev.opcode == WS_OP_BINARY);
                FUZZ_CHECK(ev.first == !l->in_msg);
                if (ev.first) {
                    l->msg_len = 0;
                    l->msg_op = ev.opcode;
                    l->in_msg = 1;
                }
                FUZZ_CHECK(ev.opcode == l->msg_op);
                FUZZ_CHECK(ev.len > 0 || ev.last);
                if (ev.len) memcpy(l->msg + l->msg_len, ev.data, ev.len);
                l->msg_len += ev.len;
                FUZZ_CHECK(l->msg_len <= lim->max_message);
                FUZZ_CHECK(ev.size_hint >= l->msg_len && ev.size_hint <= lim->max_message);
                if (ev.last) {
                    FUZZ_CHECK(ev.size_hint == l->msg_len);
                    if (l->msg_op == WS_OP_TEXT) {
                        ws_utf8 u;
                        ws_utf8_init(&u);
                        FUZZ_CHECK(ws_utf8_feed(&u, l->msg, l->msg_len, NULL) == WS_UTF8_OK);
                    }
                    emit_item(l, 'M', l->msg_op, 0, 0, l->msg, l->msg_len);
                    l->in_msg = 0;
                }
                break;
            case WS_PROTO_EV_PING:
                FUZZ_CHECK(ev.first == !l->in_ping);
                if (ev.first) l->ping_len = 0;
                l->in_ping = 1;
                l->ping_len += ev.len;
                FUZZ_CHECK(l->ping_len <= WS_MAX_CONTROL_PAYLOAD);
                if (ev.last) {
                    /* The ping's bytes were checked against the input as
                     * chunks; the item records only its length. */
                    emit_item(l, 'P', 0, 0, 0, NULL, 0);
                    emit(l, &l->ping_len, sizeof(l->ping_len));
                    l->in_ping = 0;
                }
                break;
            case WS_PROTO_EV_PONG:
                FUZZ_CHECK(!l->in_ping);
                emit_item(l, 'O', 0, 0, 0, NULL, 0);
                break;
            case WS_PROTO_EV_CLOSE:
                FUZZ_CHECK(!l->in_ping);
                FUZZ_CHECK(ev.close_code == 0 || ws_close_code_valid(ev.close_code));
                emit_item(l, 'C', 0, ev.close_code, 0, NULL, 0);
                l->done = 1;
                l->end_lo = piece_start;
                break;
            case WS_PROTO_EV_ERROR:
                FUZZ_CHECK(ev.error < 0 && ev.close_code == ws_error_close_code(ev.error));
                FUZZ_CHECK(ev.close_code == WS_CLOSE_PROTOCOL_ERROR ||
                           ev.close_code == WS_CLOSE_INVALID_PAYLOAD ||
                           ev.close_code == WS_CLOSE_MESSAGE_TOO_BIG);
                emit_item(l, 'E', 0, ev.close_code, ev.error, NULL, 0);
                l->done = l->failed = 1;
                l->end_lo = piece_start;
                break;
            default: FUZZ_CHECK(0 && "unknown event");
            }
            off += used;
        }
    }

    /* Every data or ping frame that ended before the engine stopped was
     * reported in full. */
    for (size_t i = 0; i < l->nf; i++) {
        const struct ref_frame *f = &l->f[i];
        int reported = f->opcode <= WS_OP_BINARY || f->opcode == WS_OP_PING;
        if (reported && f->length <= l->end_lo && f->payload <= l->end_lo - f->length)
            FUZZ_CHECK(f->covered == f->length);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint64_t max_message[16] = {
        0, 1, 2, 3, 5, 8, 16, 64, 125, 126, 127, 200, 1000, 4096, 65536, 16u << 20,
    };
    if (size < 3) return 0;
    ws_proto_limits lim = { max_message[data[0] & 15], data[1] & 7u };
    const uint8_t *in = data + 3;
    size_t len = size - 3;

    /* Serialized items: at most one per two input bytes, each at most
     * 12 + sizeof(size_t) bytes of framing plus its data. */
    size_t out_cap = len * 16 + 64;
    size_t max_frames = len / 2 + 1;
    struct plog a = { 0 }, b = { 0 };
    uint8_t *buf = malloc(len + 1);
    struct ref_frame *frames = malloc(max_frames * sizeof(*frames));
    a.out = malloc(out_cap);
    b.out = malloc(out_cap);
    a.msg = malloc(len + 1);
    b.msg = malloc(len + 1);
    FUZZ_CHECK(buf && frames && a.out && b.out && a.msg && b.msg);

    size_t nf = walk(in, len, frames, max_frames);
    a.f = b.f = frames;
    a.nf = b.nf = nf;

    fuzz_cutter cut;
    fuzz_cutter_init(&cut, data[2], len);
    run(in, buf, len, &lim, NULL, &a);
    run(in, buf, len, &lim, &cut, &b);

    FUZZ_CHECK(a.out_len == b.out_len && memcmp(a.out, b.out, a.out_len) == 0);
    FUZZ_CHECK(a.failed == b.failed && a.done == b.done);
    if (!a.failed) {
        /* Without an error the open message's bytes do not depend on the
         * cuts either. */
        FUZZ_CHECK(a.in_msg == b.in_msg);
        if (a.in_msg) FUZZ_CHECK(a.msg_len == b.msg_len && memcmp(a.msg, b.msg, a.msg_len) == 0);
    }

    free(buf);
    free(frames);
    free(a.out);
    free(b.out);
    free(a.msg);
    free(b.msg);
    return 0;
}

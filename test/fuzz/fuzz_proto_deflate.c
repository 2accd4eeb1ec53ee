/*
 * fuzz_proto_deflate.c -- libFuzzer target for the protocol engine with
 * permessage-deflate (proto.h, ws_proto_feed_z).
 *
 * Input: byte 0 chooses the output buffer's size (1 byte to 64 KiB), bit 3
 * of it "no context takeover", and byte 1 how the stream is cut into
 * reads; the rest is a list of frames, each written as
 *
 *     b0 (FIN, RSV bits, opcode as given)   len (2 bytes, little endian)
 *     len payload bytes
 *
 * which this target masks (with a key from the input's length) into a
 * client stream, so the fuzzer mutates DEFLATE data directly, not masked
 * bytes. The engine then runs over the stream in one call per read and in
 * the cut pieces; checks:
 *
 *  - the promises of proto.h: progress, bytes consumed within the input,
 *    an event's data within the output buffer, pending work reported;
 *  - every message within max_message and, for text, valid UTF-8;
 *  - both runs report the same messages (bytes), close or error.
 */
#include <string.h>

#include "error.h"
#include "frame.h"
#include "fuzz_common.h"
#include "inflate.h"
#include "proto.h"
#include "rfc6455.h"
#include "utf8.h"

#define MAX_STREAM (64 * 1024)
#define MAX_OUT    (256 * 1024)

static const ws_proto_limits limits = { 100000, 64 };

struct outcome {
    uint8_t msgs[MAX_OUT]; /* all messages' bytes, one after another */
    size_t len;
    size_t nmsg;
    int error;
    unsigned close;
};

static uint8_t zmem[48 * 1024];

static void run(const uint8_t *stream, size_t len, uint8_t cut, size_t zcap, int reset,
                struct outcome *o) {
    static uint8_t buf[MAX_STREAM], zout[64 * 1024];
    static uint8_t msg[MAX_OUT];
    size_t msg_len = 0, off = 0;
    ws_proto p;
    fuzz_cutter ct;
    ws_proto_zbuf zb = { ws_inflate_init(zmem, sizeof(zmem), 15), zout, zcap };

    FUZZ_CHECK(zb.z != NULL);
    memset(o, 0, sizeof(*o));
    memcpy(buf, stream, len); /* the engine unmasks in place */
    ws_proto_init(&p);
    ws_proto_enable_deflate(&p, reset);
    fuzz_cutter_init(&ct, cut, len);
    while (off < len) {
        size_t piece = fuzz_cutter_next(&ct, len - off), used_total = 0;
        uint8_t *at = buf + off;
        while (used_total < piece || ws_proto_pending(&p)) {
            ws_proto_event ev;
            size_t used =
                ws_proto_feed_z(&p, &limits, &zb, at + used_total, piece - used_total, &ev);
            FUZZ_CHECK(used <= piece - used_total);
            used_total += used;
            if (ev.type == WS_PROTO_EV_NONE) {
                /* Nothing to report: all input taken, no output pending. */
                FUZZ_CHECK(used_total == piece || p.state != WS_PROTO_OPEN);
                FUZZ_CHECK(!ws_proto_pending(&p));
                break;
            }
            if (ev.type == WS_PROTO_EV_DATA) {
                FUZZ_CHECK(ev.len <= MAX_OUT - msg_len);
                if (ev.len) {
                    int in_out = ev.data >= zout && ev.data + ev.len <= zout + zcap;
                    int in_buf = ev.data >= at && ev.data + ev.len <= at + piece;
                    FUZZ_CHECK(in_out || in_buf);
                    memcpy(msg + msg_len, ev.data, ev.len);
                }
                msg_len += ev.len;
                FUZZ_CHECK(msg_len <= limits.max_message);
                if (ev.last) {
                    if (ev.opcode == WS_OP_TEXT) {
                        ws_utf8 u;
                        ws_utf8_init(&u);
                        FUZZ_CHECK(ws_utf8_feed(&u, msg, msg_len, NULL) != WS_UTF8_INVALID &&
                                   ws_utf8_complete(&u));
                    }
                    FUZZ_CHECK(o->len + msg_len <= MAX_OUT);
                    memcpy(o->msgs + o->len, msg, msg_len);
                    o->len += msg_len;
                    o->nmsg++;
                    msg_len = 0;
                }
            } else if (ev.type == WS_PROTO_EV_ERROR) {
                FUZZ_CHECK(ev.error < 0 && ev.close_code == ws_error_close_code(ev.error));
                o->error = ev.error;
            } else if (ev.type == WS_PROTO_EV_CLOSE) {
                o->close = ev.close_code + 1;
            }
        }
        off += piece;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t stream[MAX_STREAM];
    static struct outcome whole, cut;
    static const size_t zcaps[8] = { 1, 2, 7, 64, 1000, 4096, 32768, 65536 };
    size_t len = 0, off = 2;
    uint8_t key[4];

    if (size < 2) return 0;
    key[0] = (uint8_t)size, key[1] = (uint8_t)(size >> 3), key[2] = 0x5a, key[3] = data[0];
    /* Build the masked client stream from the frame records. */
    while (off + 3 <= size) {
        unsigned b0 = data[off];
        size_t plen = (size_t)data[off + 1] | (size_t)data[off + 2] << 8, hl;
        uint8_t hdr[WS_MAX_HEADER_LEN];
        off += 3;
        if (plen > size - off) plen = size - off;
        if (len + WS_MAX_HEADER_LEN + plen > MAX_STREAM) break;
        hl = ws_frame_header_masked(hdr, 1, 0, plen, key);
        hdr[0] = (uint8_t)b0;
        memcpy(stream + len, hdr, hl);
        len += hl;
        memcpy(stream + len, data + off, plen);
        ws_frame_mask(stream + len, plen, key, 0);
        len += plen;
        off += plen;
    }
    size_t zcap = zcaps[data[0] & 7];
    int reset = (data[0] >> 3) & 1;
    run(stream, len, 7 /* one piece */, 65536, reset, &whole);
    run(stream, len, data[1], zcap, reset, &cut);
    FUZZ_CHECK(whole.nmsg == cut.nmsg && whole.len == cut.len);
    FUZZ_CHECK(memcmp(whole.msgs, cut.msgs, whole.len) == 0);
    /* Both fail, or neither; which failure comes first may depend on how
     * much output one call makes (a limit passed vs corrupt bits just
     * after), and either close is right. */
    FUZZ_CHECK((whole.error != 0) == (cut.error != 0) && whole.close == cut.close);
    return 0;
}

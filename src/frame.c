/*
 * frame.c -- RFC 6455 §5.2 frame headers, §5.3 masking.
 *
 * Reference card (RFC 6455 §5.2):
 *
 *   byte 0   FIN(1) RSV1(1) RSV2(1) RSV3(1) opcode(4)
 *   byte 1   MASK(1) payload-len(7)
 *              0..125  the payload length itself
 *              126     the next 2 bytes are the length (network order)
 *              127     the next 8 bytes are the length; the most
 *                      significant bit MUST be 0
 *   then     4-byte masking key, present iff MASK is set
 *   then     payload: octet i is transmitted as data[i] ^ key[i % 4]
 *
 *   "the minimal number of bytes MUST be used to encode the length":
 *   126 with a value < 126 and 127 with a value < 65536 are invalid.
 *   Opcodes: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong;
 *   3-7 and 11-15 are reserved (§5.2). Control frames (8-15) are never
 *   fragmented and carry at most 125 bytes (§5.5). A client MUST mask
 *   every frame and a server MUST NOT (§5.1).
 *
 * When the whole header is in the buffer (the common case) whole_header()
 * decodes it in one go; otherwise the parser walks it one byte at a time,
 * one small state per field. Both use the same take_b0(), take_b1() and
 * check_length(), so the rules live in one place and a frame is refused at
 * the first byte that proves it invalid either way.
 */
#include "frame.h"
#include "error.h"

#if defined(__SSE2__)
#include <emmintrin.h>  /* compiler intrinsics, no library: see ws_frame_mask() */
#endif

#include <assert.h>
#include <string.h>

/* docs/framing.md: "a ws_frame_parser, 24 bytes on x86-64" (make
 * docs-check compares the text with sizeof, scripts/docs/sizes). */
#if defined(__x86_64__)
_Static_assert(sizeof(ws_frame_parser) == 24, "docs/framing.md: the parser is 24 bytes");
#endif

/* Which header field the next byte belongs to. */
enum {
    S_B0 = 0,   /* FIN, RSV1-3, opcode (0: ws_frame_parser_idle() relies on it) */
    S_B1,       /* MASK, 7-bit length */
    S_EXTLEN,   /* 2 or 8 bytes of extended length; need = bytes left */
    S_MASK,     /* 4 bytes of masking key; need = bytes left */
    S_PAYLOAD   /* remaining payload bytes */
};

void ws_frame_parser_init(ws_frame_parser *p, int server) {
    memset(p, 0, sizeof(*p));
    p->state = S_B0;
    p->server = (uint8_t)(server != 0);
}

/* RFC 6455 §5.2: every check that the first byte alone can decide. */
static int take_b0(ws_frame_parser *p, uint8_t b0) {
    uint8_t op = b0 & WS_OPCODE_MASK;

    /* "MUST be 0 unless an extension is negotiated". The one we negotiate,
     * permessage-deflate, gives RSV1 a meaning (RFC 7692 §6): "compressed",
     * on the first frame of a data message only -- never on a continuation
     * (§6.1) or a control frame, so those are refused at this byte too. */
    if (b0 & (WS_RSV2 | WS_RSV3)) return WS_E_RSV;
    if ((b0 & WS_RSV1) && !(p->rsv1_ok && (op == WS_OP_TEXT || op == WS_OP_BINARY)))
        return WS_E_RSV;
    switch (op) {
    case WS_OP_CONT: case WS_OP_TEXT: case WS_OP_BINARY:
    case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
        break;
    default:
        return WS_E_OPCODE;
    }
    /* §5.5: "Control frames themselves MUST NOT be fragmented." */
    if (WS_OP_IS_CONTROL(op) && !(b0 & WS_FIN)) return WS_E_CONTROL_FRAG;
    p->b0 = b0;
    return WS_OK;
}

/* The second byte: the mask bit and the 7-bit length. */
static int take_b1(ws_frame_parser *p, uint8_t b1) {
    p->masked = (b1 & WS_MASK_BIT) != 0;
    /* §5.1: a server MUST close on an unmasked client frame, and a client
     * on a masked server frame. */
    if (p->masked != p->server) return WS_E_UNMASKED;
    p->len7 = b1 & WS_LEN7_MASK;
    if (WS_OP_IS_CONTROL(p->b0 & WS_OPCODE_MASK) && p->len7 > WS_MAX_CONTROL_PAYLOAD)
        return WS_E_CONTROL_LEN;
    p->remaining = p->len7 < WS_LEN16 ? p->len7 : 0;
    return WS_OK;
}

/* §5.2: "the minimal number of bytes MUST be used to encode the length". */
static int check_length(const ws_frame_parser *p) {
    if (p->len7 == WS_LEN16 && p->remaining < WS_LEN16) return WS_E_LENGTH;
    if (p->len7 == WS_LEN64 && p->remaining <= 0xFFFF) return WS_E_LENGTH;
    return WS_OK;
}

/* Bytes of header announced by the second byte: 2, plus 2 or 8 bytes of
 * length, plus 4 of mask. */
static size_t header_size(uint8_t b1) {
    uint8_t len7 = b1 & WS_LEN7_MASK;
    return 2 + (len7 == WS_LEN16 ? 2 : len7 == WS_LEN64 ? 8 : 0) + (b1 & WS_MASK_BIT ? 4 : 0);
}

/* Header complete: fill in the event and move to the payload (or, for an
 * empty payload, straight to the next frame). */
static void header_done(ws_frame_parser *p, ws_frame_event *ev) {
    ev->type = WS_FRAME_EV_HEADER;
    ev->rsv1 = (p->b0 & WS_RSV1) != 0;
    ev->opcode = p->b0 & WS_OPCODE_MASK;
    ev->fin = (p->b0 & WS_FIN) != 0;
    ev->length = p->remaining;
    p->mask_off = 0;
    p->state = p->remaining ? S_PAYLOAD : S_B0;
}

/* The common case: a whole header at pos. Same checks, in the same order,
 * as the byte-at-a-time walk below, without a state change per byte. */
static long whole_header(ws_frame_parser *p, const uint8_t *pos, ws_frame_event *ev) {
    const uint8_t *q = pos + 2;
    int rc;

    if ((rc = take_b0(p, pos[0])) != WS_OK || (rc = take_b1(p, pos[1])) != WS_OK) return rc;
    if (p->len7 == WS_LEN16) {
        p->remaining = (uint64_t)q[0] << 8 | q[1];
        q += 2;
    } else if (p->len7 == WS_LEN64) {
        if (q[0] & 0x80) return WS_E_LENGTH;
        p->remaining = 0;
        for (int i = 0; i < 8; i++) p->remaining = p->remaining << 8 | q[i];
        q += 8;
    }
    if ((rc = check_length(p)) != WS_OK) return rc;
    if (p->masked) {
        memcpy(p->mask, q, 4);
        q += 4;
    }
    header_done(p, ev);
    return (long)(q - pos);
}

long ws_frame_feed(ws_frame_parser *p, uint8_t *buf, size_t len, ws_frame_event *ev) {
    uint8_t *pos = buf, *end = buf + len;
    int rc;

    ev->type = WS_FRAME_EV_NONE;

    if (p->state == S_PAYLOAD) {
        size_t n = (size_t)(end - pos);
        if ((uint64_t)n > p->remaining) n = (size_t)p->remaining;
        ev->ascii = p->masked ? (uint8_t)ws_frame_mask(pos, n, p->mask, p->mask_off) : 0;
        p->mask_off = (uint8_t)((p->mask_off + n) & 3);
        p->remaining -= n;
        ev->type = WS_FRAME_EV_PAYLOAD;
        ev->data = pos;
        ev->len = n;
        ev->last = p->remaining == 0;
        if (ev->last) p->state = S_B0;
        return (long)n;
    }

    if (p->state == S_B0 && len >= 2 && len >= header_size(buf[1])) return whole_header(p, buf, ev);

    /* The header is split across reads: walk it one byte at a time. */
    while (pos < end) {
        uint8_t c = *pos++;
        switch (p->state) {
        case S_B0:
            if ((rc = take_b0(p, c)) != WS_OK) return rc;
            p->state = S_B1;
            break;

        case S_B1:
            if ((rc = take_b1(p, c)) != WS_OK) return rc;
            if (p->len7 == WS_LEN16 || p->len7 == WS_LEN64) {
                p->need = p->len7 == WS_LEN16 ? 2 : 8;
                p->state = S_EXTLEN;
                break;
            }
            goto after_length;

        case S_EXTLEN:
            /* §5.2: the most significant bit of a 64-bit length MUST be 0;
             * refuse it on its first byte. */
            if (p->need == 8 && (c & 0x80)) return WS_E_LENGTH;
            p->remaining = (p->remaining << 8) | c;
            --p->need;
            /* Six zero bytes of a 64-bit length already prove a value
             * below 65536, which must have used a shorter form. */
            if (p->len7 == WS_LEN64 && p->need == 2 && p->remaining == 0) return WS_E_LENGTH;
            if (p->need > 0) break;
            if ((rc = check_length(p)) != WS_OK) return rc;
        after_length:
            if (p->masked) {
                p->need = 4;
                p->state = S_MASK;
                break;
            }
            header_done(p, ev);
            return (long)(pos - buf);

        case S_MASK:
            p->mask[4 - p->need] = c;
            if (--p->need > 0) break;
            header_done(p, ev);
            return (long)(pos - buf);

        default:
            assert(0 && "unreachable frame parser state");
            return WS_E_LENGTH;
        }
    }
    return (long)(pos - buf);
}

size_t ws_frame_header(uint8_t *out, int fin, int opcode, uint64_t len) {
    out[0] = (uint8_t)((fin ? WS_FIN : 0) | (opcode & WS_OPCODE_MASK));
    if (len < WS_LEN16) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = WS_LEN16;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = WS_LEN64;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t ws_frame_header_masked(uint8_t *out, int fin, int opcode, uint64_t len,
                              const uint8_t mask[4]) {
    size_t n = ws_frame_header(out, fin, opcode, len);
    out[1] |= WS_MASK_BIT;
    memcpy(out + n, mask, 4);
    return n + 4;
}

int ws_frame_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset) {
    /* The key rotated so that r[j] applies to data[j]. */
    const uint8_t r[4] = { mask[offset & 3], mask[(offset + 1) & 3], mask[(offset + 2) & 3],
                           mask[(offset + 3) & 3] };
    const uint64_t high = 0x8080808080808080u;
    uint64_t m, seen = 0;  /* seen: OR of every unmasked word */
    uint32_t m32;
    uint8_t tail = 0;
    size_t i = 0;

    /* The same 4 bytes twice make the 8-byte word for every aligned group
     * of 8 (8 is a multiple of 4); both halves are equal, so this holds on
     * any byte order. */
    memcpy(&m32, r, 4);
    m = (uint64_t)m32 << 32 | m32;

#if defined(__SSE2__)
    /* Every x86-64 CPU has SSE2, whose registers hold 16 bytes: the key
     * four times over, XOR-ed with 32 bytes per step, and the OR of all
     * results kept in two registers (the sign bits, read once at the end,
     * are the non-ASCII test). Spelled with intrinsics because gcc -O2
     * does not vectorize the word loop below well: 48 GB/s instead of 24
     * for 16 KiB in cache. Other CPUs use the word loop. */
    {
        const __m128i key = _mm_set1_epi32((int)m32);
        __m128i or0 = _mm_setzero_si128(), or1 = _mm_setzero_si128();
        for (; i + 32 <= len; i += 32) {
            __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(data + i)), key);
            __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(data + i + 16)), key);
            _mm_storeu_si128((__m128i *)(data + i), a);
            _mm_storeu_si128((__m128i *)(data + i + 16), b);
            or0 = _mm_or_si128(or0, a);
            or1 = _mm_or_si128(or1, b);
        }
        if (_mm_movemask_epi8(_mm_or_si128(or0, or1)) != 0) seen = high;
    }
#endif

    /* Four words per iteration lets the compiler keep them in vector
     * registers; memcpy is how C spells an unaligned load or store. The OR
     * into seen costs one instruction per word and saves text messages a
     * second pass: an all-ASCII payload needs no UTF-8 decoding. */
    for (; i + 32 <= len; i += 32) {
        uint64_t w[4];
        memcpy(w, data + i, 32);
        w[0] ^= m; w[1] ^= m; w[2] ^= m; w[3] ^= m;
        seen |= w[0] | w[1] | w[2] | w[3];
        memcpy(data + i, w, 32);
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= m;
        seen |= w;
        memcpy(data + i, &w, 8);
    }
    for (; i < len; i++) {
        data[i] ^= r[i & 3];
        tail |= data[i];
    }
    return (seen & high) == 0 && (tail & 0x80) == 0;
}

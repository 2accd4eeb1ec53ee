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
 * the first byte that proves it invalid either way. Either way, the payload
 * bytes that follow a completed header in the same buffer are unmasked in
 * the same call and come out with the header: a small frame that arrived
 * whole is one call, one pass.
 */
#include "frame.h"
#include "error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* compiler intrinsics, no library: see ws_frame_mask() */
#elif defined(__SSE2__)
#include <emmintrin.h>
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
    S_B0 = 0, /* FIN, RSV1-3, opcode (0: ws_frame_parser_idle() relies on it) */
    S_B1,     /* MASK, 7-bit length */
    S_EXTLEN, /* 2 or 8 bytes of extended length; need = bytes left */
    S_MASK,   /* 4 bytes of masking key; need = bytes left */
    S_PAYLOAD /* remaining payload bytes */
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
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG: break;
    default: return WS_E_OPCODE;
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

/* Payload of the current frame at pos (at most len bytes, as many as the
 * frame has left): unmasked in place and described in ev's chunk fields.
 * Returns the bytes taken. */
static size_t payload(ws_frame_parser *p, uint8_t *pos, size_t len, ws_frame_event *ev) {
    size_t n = len;
    if ((uint64_t)n > p->remaining) n = (size_t)p->remaining;
    ev->ascii = p->masked ? (uint8_t)ws_frame_mask(pos, n, p->mask, p->mask_off) : 0;
    p->mask_off = (uint8_t)((p->mask_off + n) & 3);
    p->remaining -= n;
    ev->data = pos;
    ev->len = n;
    ev->last = p->remaining == 0;
    if (ev->last) p->state = S_B0;
    return n;
}

/* A header is complete, hlen bytes into buf: the payload bytes that came
 * with it are taken in the same call (one pass over the frame, not one
 * call for the header and another for its payload). */
static long header_and_payload(ws_frame_parser *p, uint8_t *buf, size_t hlen, size_t len,
                               ws_frame_event *ev) {
    ev->data = buf + hlen;
    ev->len = 0;
    ev->ascii = 1;
    ev->last = p->state != S_PAYLOAD;
    if (p->state != S_PAYLOAD) return (long)hlen;
    return (long)(hlen + payload(p, buf + hlen, len - hlen, ev));
}

long ws_frame_feed(ws_frame_parser *p, uint8_t *buf, size_t len, ws_frame_event *ev) {
    uint8_t *pos = buf, *end = buf + len;
    int rc;

    ev->type = WS_FRAME_EV_NONE;

    if (p->state == S_PAYLOAD) {
        ev->type = WS_FRAME_EV_PAYLOAD;
        return (long)payload(p, pos, len, ev);
    }

    if (p->state == S_B0 && len >= 2 && len >= header_size(buf[1])) {
        long h = whole_header(p, buf, ev);
        if (h < 0) return h;
        return header_and_payload(p, buf, (size_t)h, len, ev);
    }

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
            return header_and_payload(p, buf, (size_t)(pos - buf), len, ev);

        case S_MASK:
            p->mask[4 - p->need] = c;
            if (--p->need > 0) break;
            header_done(p, ev);
            return header_and_payload(p, buf, (size_t)(pos - buf), len, ev);

        default: assert(0 && "unreachable frame parser state"); return WS_E_LENGTH;
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

/* ---- Masking (RFC 6455 §5.3) ------------------------------------------
 *
 * Every variant XORs the payload with the key, already rotated to the
 * payload's phase and repeated to 8 bytes (m below: the same 4 bytes twice,
 * so byte j of m in memory applies to every payload byte i with i % 8 == j,
 * on either byte order), and ORs every result into an accumulator whose
 * high bits, tested once at the end, tell whether any byte was >= 0x80.
 * They differ only in how many bytes one step takes:
 *
 *   scalar  8 bytes per word, 32 per step; any CPU
 *   sse2    32 bytes per step in two 16-byte registers; every x86-64 CPU
 *   avx2    256 bytes per step in eight 32-byte registers; chosen at run
 *           time when the CPU has AVX2 (the build stays baseline x86-64)
 *
 * Payloads shorter than MASK_SHORT go to the scalar code directly: for a
 * chat-sized message, a call through the chosen variant's pointer and a
 * vector set-up cost more than they save. */

#define MASK_SHORT 64

typedef int mask_fn(uint8_t *data, size_t len, uint64_t m);

/* The bytes left after the wide steps: 8 at a time, then one at a time
 * with the key byte of the same phase (no rotation per byte). */
static int mask_tail(uint8_t *data, size_t len, uint64_t m, uint64_t seen) {
    const uint64_t high = 0x8080808080808080u;
    uint8_t kb[8], tail = 0;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= m;
        seen |= w;
        memcpy(data + i, &w, 8);
    }
    memcpy(kb, &m, 8);
    for (size_t j = 0; i < len; i++, j++) {
        data[i] ^= kb[j];
        tail |= data[i];
    }
    return (seen & high) == 0 && (tail & 0x80) == 0;
}

/* Four words per iteration lets the compiler keep them in registers;
 * memcpy is how C spells an unaligned load or store. The OR into seen
 * costs one instruction per word and saves text messages a second pass:
 * an all-ASCII payload needs no UTF-8 decoding. */
static int mask_scalar(uint8_t *data, size_t len, uint64_t m) {
    uint64_t seen = 0;
    size_t i = 0;

    for (; i + 32 <= len; i += 32) {
        uint64_t w[4];
        memcpy(w, data + i, 32);
        w[0] ^= m;
        w[1] ^= m;
        w[2] ^= m;
        w[3] ^= m;
        seen |= w[0] | w[1] | w[2] | w[3];
        memcpy(data + i, w, 32);
    }
    return mask_tail(data + i, len - i, m, seen);
}

#if defined(__SSE2__)
/* SSE2 registers hold 16 bytes: the key four times over, XOR-ed with 32
 * bytes per step, and the OR of all results kept in two registers (the
 * sign bits, read once at the end, are the non-ASCII test). Spelled with
 * intrinsics because gcc -O2 does not vectorize the word loop well. */
static int mask_sse2(uint8_t *data, size_t len, uint64_t m) {
    const __m128i key = _mm_set1_epi64x((long long)m);
    __m128i or0 = _mm_setzero_si128(), or1 = _mm_setzero_si128();
    size_t i = 0;

    for (; i + 32 <= len; i += 32) {
        __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(data + i)), key);
        __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(data + i + 16)), key);
        _mm_storeu_si128((__m128i *)(data + i), a);
        _mm_storeu_si128((__m128i *)(data + i + 16), b);
        or0 = _mm_or_si128(or0, a);
        or1 = _mm_or_si128(or1, b);
    }
    return mask_tail(data + i, len - i, m, _mm_movemask_epi8(_mm_or_si128(or0, or1)) ? 0x80 : 0);
}
#define HAVE_MASK_SSE2 1
#endif

#if defined(__x86_64__) && defined(__GNUC__)
/* AVX2 registers hold 32 bytes; four of them per step halve the
 * instructions per byte again. target("avx2") compiles this one function
 * for AVX2 while the rest of the program stays baseline x86-64; it only
 * runs once __builtin_cpu_supports("avx2") said yes (mask_pick). */
__attribute__((target("avx2"))) static int mask_avx2(uint8_t *data, size_t len, uint64_t m) {
    const __m256i key = _mm256_set1_epi64x((long long)m);
    __m256i seen = _mm256_setzero_si256();
    uint8_t *p = data, *end = data + len;

    /* Eight registers per step: per 32 bytes one XOR (with the load folded
     * in), one store and one OR, and the loop's own three instructions
     * spread over 256 bytes. */
    for (; end - p >= 256; p += 256) {
        /* Written out: gcc -O2 keeps an array of eight in memory. */
        __m256i x0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 0)), key);
        __m256i x1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 32)), key);
        __m256i x2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 64)), key);
        __m256i x3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 96)), key);
        __m256i x4 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 128)), key);
        __m256i x5 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 160)), key);
        __m256i x6 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 192)), key);
        __m256i x7 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 224)), key);
        _mm256_storeu_si256((__m256i *)(p + 0), x0);
        _mm256_storeu_si256((__m256i *)(p + 32), x1);
        _mm256_storeu_si256((__m256i *)(p + 64), x2);
        _mm256_storeu_si256((__m256i *)(p + 96), x3);
        _mm256_storeu_si256((__m256i *)(p + 128), x4);
        _mm256_storeu_si256((__m256i *)(p + 160), x5);
        _mm256_storeu_si256((__m256i *)(p + 192), x6);
        _mm256_storeu_si256((__m256i *)(p + 224), x7);
        x0 = _mm256_or_si256(_mm256_or_si256(x0, x1), _mm256_or_si256(x2, x3));
        x4 = _mm256_or_si256(_mm256_or_si256(x4, x5), _mm256_or_si256(x6, x7));
        seen = _mm256_or_si256(seen, _mm256_or_si256(x0, x4));
    }
    for (; end - p >= 32; p += 32) {
        __m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p), key);
        _mm256_storeu_si256((__m256i *)p, a);
        seen = _mm256_or_si256(seen, a);
    }
    /* movemask: the sign bit of each of the 32 bytes. */
    return mask_tail(p, (size_t)(end - p), m, _mm256_movemask_epi8(seen) ? 0x80 : 0);
}
#define HAVE_MASK_AVX2 1
#endif

static mask_fn mask_pick;
static mask_fn *mask_long = mask_pick; /* the variant for long payloads */
static int mask_chosen = WS_MASK_AUTO;
static size_t mask_short = MASK_SHORT; /* 0 once a test forced a variant:
                                          it then takes every length */

/* The widest variant this CPU runs. */
static int mask_best(void) {
#if defined(HAVE_MASK_AVX2)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return WS_MASK_AVX2;
#endif
#if defined(HAVE_MASK_SSE2)
    return WS_MASK_SSE2;
#else
    return WS_MASK_SCALAR;
#endif
}

int ws_frame_mask_use(int variant) {
    mask_fn *fn = NULL;
    int forced = variant != WS_MASK_AUTO;

    if (variant == WS_MASK_AUTO) variant = mask_best();
    switch (variant) {
    case WS_MASK_SCALAR: fn = mask_scalar; break;
#if defined(HAVE_MASK_SSE2)
    case WS_MASK_SSE2: fn = mask_sse2; break;
#endif
#if defined(HAVE_MASK_AVX2)
    case WS_MASK_AVX2:
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2")) fn = mask_avx2;
        break;
#endif
    default: break;
    }
    if (!fn) return -1;
    mask_long = fn;
    mask_chosen = variant;
    mask_short = forced ? 0 : MASK_SHORT;
    return 0;
}

int ws_frame_mask_variant(void) {
    if (mask_chosen == WS_MASK_AUTO) ws_frame_mask_use(WS_MASK_AUTO);
    return mask_chosen;
}

/* The first long payload chooses (the program is single-threaded per
 * process; a second thread would only choose the same again). */
static int mask_pick(uint8_t *data, size_t len, uint64_t m) {
    ws_frame_mask_use(WS_MASK_AUTO);
    return mask_long(data, len, m);
}

int ws_frame_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset) {
    uint32_t k;
    unsigned s = (unsigned)(offset & 3) * 8;

    /* The key rotated so that its first byte in memory applies to data[0]:
     * r[j] = mask[(offset + j) % 4], as one 32-bit rotation of the key. */
    memcpy(&k, mask, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    k = k << s | k >> ((32 - s) & 31);
#else
    k = k >> s | k << ((32 - s) & 31);
#endif
    uint64_t m = (uint64_t)k << 32 | k;
    if (len < mask_short) return mask_scalar(data, len, m);
    return mask_long(data, len, m);
}

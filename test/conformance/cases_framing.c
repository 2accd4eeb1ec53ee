/*
 * cases_framing.c -- Autobahn sections 1 (framing) and 2 (pings/pongs).
 *
 * 1.1 / 1.2  text / binary messages at every payload-length boundary of
 *            RFC 6455 §5.2 (7-bit up to 125; 126 and 65535 as 16-bit;
 *            65536 and up as 64-bit), in one write and in 1-byte writes;
 * 1.3        frames of every size class packed into one TCP segment;
 * 2.x        §5.5.2/§5.5.3: a ping is answered by a pong with the same
 *            payload, pongs nobody asked for are ignored, a control frame
 *            longer than 125 bytes is a protocol error (1002).
 */
#include "conf.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

/* Echo one message of n pattern bytes, then close normally. */
static const struct cf_step *echo_steps(unsigned op, uint64_t n) {
    struct cf_steps s = { 0 };
    int pat = op == CF_OP_TEXT ? CF_PAT_TEXT : CF_PAT_BINARY;
    cf_push(&s, (struct cf_step){
                    .kind = ST_SEND, .b0 = (uint8_t)(CF_FIN | op), .pat = pat, .len = n });
    cf_push(&s, (struct cf_step){ .kind = ST_MSG, .b0 = (uint8_t)op, .pat = pat, .len = n });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

static void register_sizes(const struct cf_config *cfg, int sub, unsigned op) {
    static const uint64_t sizes[] = { 0,     1,     125,   126,       127, 128,     1000,
                                      65535, 65536, 65537, 256 * KiB, MiB, 4 * MiB, 16 * MiB };
    const char *name = op == CF_OP_TEXT ? "text" : "binary";
    int k = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t n = sizes[i];
        if (n > cfg->max_message) continue;
        k++;
        const struct cf_step *st = echo_steps(op, n);
        struct cf_case *c = cf_add("1.%d.%d %s-%llu/write", sub, k, name, (unsigned long long)n);
        c->steps = st;
        c->heavy = n >= MiB;
        /* Byte-by-byte only up to 64 KiB: beyond that it proves nothing new
         * and costs a syscall per byte. */
        if (n <= 65536) {
            c = cf_add("1.%d.%d %s-%llu/bytes", sub, k, name, (unsigned long long)n);
            c->steps = st;
            c->mode = MODE_BYTES;
        }
        /* Autobahn 1.1.8: 64 KiB written in 997-byte pieces, which never
         * line up with a header. */
        if (n == 65536) {
            c = cf_add("1.%d.%d %s-%llu/chop-997", sub, k, name, (unsigned long long)n);
            c->steps = st;
            c->mode = MODE_CHOP;
            c->chop = 997;
        }
    }
}

/* Several frames, one per length class, sent in a single write. */
static void register_packed(void) {
    struct cf_steps s = { 0 };
    /* 1.3.1: 7-bit and 16-bit classes in under 64 KiB, i.e. one loopback
     * segment (MSS 65483). */
    static const uint64_t small[] = { 0, 1, 125, 126, 127, 128, 1000, 60000 };
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
            unsigned op = i % 2 ? CF_OP_BINARY : CF_OP_TEXT;
            int pat = op == CF_OP_TEXT ? CF_PAT_TEXT : CF_PAT_BINARY;
            cf_push(&s, (struct cf_step){ .kind = pass ? ST_MSG : ST_SEND,
                                          .b0 = (uint8_t)(pass ? op : CF_FIN | op),
                                          .pat = pat,
                                          .len = small[i],
                                          .pat_off = i });
        }
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    cf_add_script("1.3.1 size-classes-7-and-16-bit-one-segment", cf_steps_end(&s),
                  M_WRITE | M_BYTES);

    /* 1.3.2: the 64-bit class too, and a ping behind it all. */
    static const uint64_t mixed[] = { 125, 126, 65535, 65536, 70000, 3 };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof mixed / sizeof mixed[0]; i++) {
            unsigned op = i % 2 ? CF_OP_BINARY : CF_OP_TEXT;
            int pat = op == CF_OP_TEXT ? CF_PAT_TEXT : CF_PAT_BINARY;
            cf_push(&s, (struct cf_step){ .kind = pass ? ST_MSG : ST_SEND,
                                          .b0 = (uint8_t)(pass ? op : CF_FIN | op),
                                          .pat = pat,
                                          .len = mixed[i],
                                          .pat_off = 7 * i });
        }
        cf_push(&s, (struct cf_step){ .kind = pass ? ST_PONG : ST_SEND,
                                      .b0 = CF_FIN | CF_OP_PING,
                                      .pat = CF_PAT_BINARY,
                                      .len = 17 });
    }
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    cf_add_script("1.3.2 size-classes-all-one-write", cf_steps_end(&s), M_WRITE);

    /* 1.3.3: 100 small frames (lengths 0..99) in one write. */
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t n = 0; n < 100; n++)
            cf_push(&s, (struct cf_step){ .kind = pass ? ST_MSG : ST_SEND,
                                          .b0 = (uint8_t)(pass ? CF_OP_TEXT : CF_FIN | CF_OP_TEXT),
                                          .pat = CF_PAT_TEXT,
                                          .len = n,
                                          .pat_off = n * 3 });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    cf_add_script("1.3.3 100-frames-one-write", cf_steps_end(&s), M_WRITE | M_BYTES);
}

/* ---- section 2: pings and pongs ------------------------------------------- */

static const struct cf_step ping_empty[] = {
    TX(CF_FIN | CF_OP_PING, ""),
    RX_PONG(""),
    BYE,
    { 0 },
};
static const struct cf_step ping_text[] = {
    TX(CF_FIN | CF_OP_PING, "Hello, world!"),
    RX_PONG("Hello, world!"),
    BYE,
    { 0 },
};
static const struct cf_step ping_binary[] = {
    TX(CF_FIN | CF_OP_PING, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
    RX_PONG("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
    BYE,
    { 0 },
};
static const struct cf_step ping_125[] = {
    TXP(CF_FIN | CF_OP_PING, CF_PAT_BINARY, 125),
    { .kind = ST_PONG, .pat = CF_PAT_BINARY, .len = 125 },
    BYE,
    { 0 },
};
/* §5.5: "All control frames MUST have a payload length of 125 bytes or
 * less"; the ping after it must not be answered. */
static const struct cf_step ping_126[] = {
    TXP(CF_FIN | CF_OP_PING, CF_PAT_BINARY, 126),
    TX(CF_FIN | CF_OP_PING, "after"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step ping_65536[] = {
    TXP(CF_FIN | CF_OP_PING, CF_PAT_BINARY, 65536),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
/* §5.5.3: "A Pong frame MAY be sent unsolicited ... A response to an
 * unsolicited Pong frame is not expected." BYE fails on any extra frame. */
static const struct cf_step pong_empty[] = {
    TX(CF_FIN | CF_OP_PONG, ""),
    BYE,
    { 0 },
};
static const struct cf_step pong_payload[] = {
    TX(CF_FIN | CF_OP_PONG, "unsolicited pong payload"),
    BYE,
    { 0 },
};
static const struct cf_step pong_then_ping[] = {
    TX(CF_FIN | CF_OP_PONG, "unsolicited pong payload"),
    TX(CF_FIN | CF_OP_PING, "ping payload"),
    RX_PONG("ping payload"),
    BYE,
    { 0 },
};
static const struct cf_step pong_126[] = {
    TXP(CF_FIN | CF_OP_PONG, CF_PAT_BINARY, 126),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step ten_pings[] = {
    TX(CF_FIN | CF_OP_PING, "payload-0"),
    TX(CF_FIN | CF_OP_PING, "payload-1"),
    TX(CF_FIN | CF_OP_PING, "payload-2"),
    TX(CF_FIN | CF_OP_PING, "payload-3"),
    TX(CF_FIN | CF_OP_PING, "payload-4"),
    TX(CF_FIN | CF_OP_PING, "payload-5"),
    TX(CF_FIN | CF_OP_PING, "payload-6"),
    TX(CF_FIN | CF_OP_PING, "payload-7"),
    TX(CF_FIN | CF_OP_PING, "payload-8"),
    TX(CF_FIN | CF_OP_PING, "payload-9"),
    RX_PONG("payload-0"),
    RX_PONG("payload-1"),
    RX_PONG("payload-2"),
    RX_PONG("payload-3"),
    RX_PONG("payload-4"),
    RX_PONG("payload-5"),
    RX_PONG("payload-6"),
    RX_PONG("payload-7"),
    RX_PONG("payload-8"),
    RX_PONG("payload-9"),
    BYE,
    { 0 },
};
static const struct cf_step ping_between_messages[] = {
    TX(CF_FIN | CF_OP_TEXT, "before"),
    TX(CF_FIN | CF_OP_PING, "middle"),
    TX(CF_FIN | CF_OP_BINARY, "after"),
    RX(CF_OP_TEXT, "before"),
    RX_PONG("middle"),
    RX(CF_OP_BINARY, "after"),
    BYE,
    { 0 },
};

static void register_pings(void) {
    cf_add_script("2.1 ping-empty", ping_empty, M_WRITE);
    cf_add_script("2.2 ping-text-payload", ping_text, M_WRITE);
    cf_add_script("2.3 ping-binary-payload", ping_binary, M_WRITE);
    cf_add_script("2.4 ping-125", ping_125, M_WRITE | M_BYTES);
    cf_add_script("2.5 ping-126", ping_126, M_WRITE | M_BYTES);
    cf_add_script("2.5.2 ping-65536", ping_65536, M_WRITE);
    cf_add_script("2.7 pong-unsolicited-empty", pong_empty, M_WRITE);
    cf_add_script("2.8 pong-unsolicited-payload", pong_payload, M_WRITE);
    cf_add_script("2.9 pong-unsolicited-then-ping", pong_then_ping, M_WRITE | M_BYTES);
    cf_add_script("2.9.2 pong-126", pong_126, M_WRITE);
    cf_add_script("2.10 ten-pings", ten_pings, M_WRITE | M_BYTES | M_FRAMES);
    cf_add_script("2.12 ping-between-messages", ping_between_messages, M_ALL);

    /* 2.11: every ping length 0..125 on one connection, each answered in
     * order with exactly its payload. */
    struct cf_steps s = { 0 };
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t n = 0; n <= 125; n++)
            cf_push(&s, (struct cf_step){ .kind = pass ? ST_PONG : ST_SEND,
                                          .b0 = CF_FIN | CF_OP_PING,
                                          .pat = CF_PAT_BINARY,
                                          .len = n,
                                          .pat_off = n * 131 });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    cf_add_script("2.11 ping-lengths-0-to-125", cf_steps_end(&s), M_WRITE | M_BYTES);
}

void cf_register_framing(const struct cf_config *cfg) {
    register_sizes(cfg, 1, CF_OP_TEXT);
    register_sizes(cfg, 2, CF_OP_BINARY);
    register_packed();
    register_pings();
}

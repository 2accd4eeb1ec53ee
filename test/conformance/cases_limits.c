/*
 * cases_limits.c -- Autobahn sections 9 (limits and performance) and 10
 * (auto-fragmentation), the server's --max-message limit, and a few RFC
 * rules Autobahn leaves out.
 *
 * 9.1 / 9.2  one text / binary frame of 64 KiB .. 16 MiB
 * 9.3 / 9.4  a 4 MiB message in frames of 64 B .. 4 MiB
 * 9.5 / 9.6  a 1 MiB frame written in pieces of 64 .. 2048 bytes
 * 9.7 / 9.8  1000 round trips of messages of 0 .. 4 KiB
 * 9.9        --max-message: a frame whose *declared* length takes the
 *            message past the limit gets close 1009 (§7.4.1 "message too
 *            big to process") before its payload is sent at all; a message
 *            of exactly the limit is echoed
 * 10.1       a 64 KiB message in 1300-byte fragments
 * X.x        §5.1: "The server MUST close the connection upon receiving a
 *            frame that is not masked" (it MAY send 1002 first); §5.2: the
 *            top bit of a 64-bit length MUST be 0.
 */
#include "conf.h"

#include <stdio.h>
#include <string.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

static int pat_of(unsigned op) { return op == CF_OP_TEXT ? CF_PAT_TEXT : CF_PAT_BINARY; }

static const char *name_of(unsigned op) { return op == CF_OP_TEXT ? "text" : "binary"; }

/* 9.7/9.8: arg[0] opcode, arg[1] size, arg[2] count; each message waits
 * for its echo before the next is sent. */
static int roundtrips(struct cf_ctx *t, const struct cf_case *k) {
    unsigned op = (unsigned)k->arg[0];
    uint64_t size = k->arg[1], count = k->arg[2];
    struct cf_conn c;
    struct cf_buf out = { 0 };
    int rc = cf_open(t, &c);
    for (uint64_t i = 0; rc == 0 && i < count; i++) {
        out.len = 0;
        cf_put_frame(t, &out, (uint8_t)(CF_FIN | op), size, NULL, pat_of(op), i, (size_t)size,
                     true);
        rc = cf_write(t, &c, out.p, out.len, 0, 0);
        if (rc == 0) rc = cf_expect_message(t, &c, op, NULL, pat_of(op), i, size);
        if (rc < 0) {
            size_t l = strlen(t->why);
            snprintf(t->why + l, sizeof t->why - l, " (message %llu of %llu)",
                     (unsigned long long)i + 1, (unsigned long long)count);
        }
    }
    if (rc == 0) {
        static const uint8_t normal[2] = { 0x03, 0xE8 };
        out.len = 0;
        cf_put_frame(t, &out, CF_FIN | CF_OP_CLOSE, 2, normal, 0, 0, 2, true);
        c.sent_close = true;
        rc = cf_write(t, &c, out.p, out.len, 0, 0);
        if (rc == 0) rc = cf_expect_close(t, &c, CF_CLOSE_NORMAL);
    }
    cf_buf_free(&out);
    cf_close(&c);
    return rc;
}

static const struct cf_step *echo_frags(unsigned op, uint64_t total, uint64_t frame) {
    struct cf_steps s = { 0 };
    cf_push(&s, (struct cf_step){ .kind = ST_SEND_FRAGS,
                                  .b0 = (uint8_t)op,
                                  .pat = pat_of(op),
                                  .len = total,
                                  .aux = (int64_t)frame });
    cf_push(&s,
            (struct cf_step){ .kind = ST_MSG, .b0 = (uint8_t)op, .pat = pat_of(op), .len = total });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

static void register_nine(const struct cf_config *cfg) {
    static const uint64_t sizes[] = { 64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB };
    static const uint64_t frames[] = { 64,       256,       KiB, 4 * KiB, 16 * KiB,
                                       64 * KiB, 256 * KiB, MiB, 4 * MiB };
    static const uint64_t chops[] = { 64, 128, 256, 512, 1024, 2048 };
    static const uint64_t rt_sizes[] = { 0, 16, 64, 256, KiB, 4 * KiB };

    for (unsigned op = CF_OP_TEXT; op <= CF_OP_BINARY; op++) {
        int sub = op == CF_OP_TEXT ? 0 : 1;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            if (sizes[i] > cfg->max_message) continue;
            struct cf_case *c = cf_add("9.%d.%zu %s-%llu-one-frame", 1 + sub, i + 1, name_of(op),
                                       (unsigned long long)sizes[i]);
            c->steps = echo_frags(op, sizes[i], sizes[i]);
            c->heavy = sizes[i] >= MiB;
        }
        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
            if (4 * MiB > cfg->max_message) break;
            struct cf_case *c = cf_add("9.%d.%zu %s-4MiB-in-%llu-byte-frames", 3 + sub, i + 1,
                                       name_of(op), (unsigned long long)frames[i]);
            c->steps = echo_frags(op, 4 * MiB, frames[i]);
            c->heavy = true;
        }
        for (size_t i = 0; i < sizeof chops / sizeof chops[0]; i++) {
            struct cf_case *c = cf_add("9.%d.%zu %s-1MiB-written-in-%llu-byte-pieces", 5 + sub,
                                       i + 1, name_of(op), (unsigned long long)chops[i]);
            c->steps = echo_frags(op, MiB, MiB);
            c->mode = MODE_CHOP;
            c->chop = (size_t)chops[i];
            c->heavy = true;
        }
        for (size_t i = 0; i < sizeof rt_sizes / sizeof rt_sizes[0]; i++) {
            struct cf_case *c = cf_add("9.%d.%zu %s-1000-round-trips-of-%llu", 7 + sub, i + 1,
                                       name_of(op), (unsigned long long)rt_sizes[i]);
            c->fn = roundtrips;
            c->arg[0] = op;
            c->arg[1] = rt_sizes[i];
            c->arg[2] = 1000;
        }
    }
}

static void register_max_message(const struct cf_config *cfg) {
    uint64_t max = cfg->max_message;
    struct cf_steps s = { 0 };
    struct cf_case *c;

    /* Only the header: the 1009 must come without any payload. */
    for (unsigned op = CF_OP_TEXT; op <= CF_OP_BINARY; op++) {
        cf_push(&s, (struct cf_step){ .kind = ST_SEND_PART,
                                      .b0 = (uint8_t)(CF_FIN | op),
                                      .pat = pat_of(op),
                                      .len = max + 1,
                                      .aux = 0 });
        cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_TOO_BIG));
        c = cf_add("9.9.%u %s-header-declares-max-plus-1", op, name_of(op));
        c->steps = cf_steps_end(&s);
    }
    cf_push(&s, (struct cf_step){ .kind = ST_SEND_PART,
                                  .b0 = CF_FIN | CF_OP_BINARY,
                                  .pat = CF_PAT_BINARY,
                                  .len = (UINT64_C(1) << 63) - 1,
                                  .aux = 0 });
    cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_TOO_BIG));
    c = cf_add("9.9.3 header-declares-2^63-1");
    c->steps = cf_steps_end(&s);

    /* A fragmented message: 1 KiB, then a fragment whose header takes the
     * total one byte past the limit. */
    cf_push(&s,
            (struct cf_step){ .kind = ST_SEND, .b0 = CF_OP_TEXT, .pat = CF_PAT_TEXT, .len = KiB });
    cf_push(&s, (struct cf_step){ .kind = ST_SEND_PART,
                                  .b0 = CF_FIN | CF_OP_CONT,
                                  .pat = CF_PAT_TEXT,
                                  .pat_off = KiB,
                                  .len = max - KiB + 1,
                                  .aux = 0 });
    cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_TOO_BIG));
    c = cf_add("9.9.4 fragment-header-takes-message-past-max");
    c->steps = cf_steps_end(&s);

    /* The whole limit in one fragment, then one more byte declared. */
    cf_push(&s, (struct cf_step){
                    .kind = ST_SEND, .b0 = CF_OP_BINARY, .pat = CF_PAT_BINARY, .len = max });
    cf_push(&s, (struct cf_step){ .kind = ST_SEND_PART,
                                  .b0 = CF_FIN | CF_OP_CONT,
                                  .pat = CF_PAT_BINARY,
                                  .pat_off = max,
                                  .len = 1,
                                  .aux = 0 });
    /* The first fragment is large: the echo may have begun (§5.4). */
    cf_push(&s, (struct cf_step)RX_CLOSE_AFTER_PARTS(CF_CLOSE_TOO_BIG, CF_PAT_BINARY));
    c = cf_add("9.9.5 max-bytes-then-one-more-fragment");
    c->steps = cf_steps_end(&s);
    c->heavy = true;

    /* Exactly the limit is fine, in one frame and in two. */
    c = cf_add("9.9.6 exactly-max-one-frame");
    c->steps = echo_frags(CF_OP_BINARY, max, max);
    c->heavy = true;
    c = cf_add("9.9.7 exactly-max-two-fragments");
    c->steps = echo_frags(CF_OP_TEXT, max, max / 2 + 1);
    c->heavy = true;
}

/* §5.1 / §5.2 rules Autobahn does not exercise. */
static const struct cf_step unmasked[] = {
    { .kind = ST_SEND,
      .b0 = CF_FIN | CF_OP_TEXT,
      .data = (const uint8_t *)"unmasked",
      .len = 8,
      .unmasked = true },
    { .kind = ST_DROP, .aux = CF_CLOSE_PROTOCOL },
    { 0 },
};
static const struct cf_step unmasked_after_valid[] = {
    TX(CF_FIN | CF_OP_TEXT, "masked"),
    { .kind = ST_SEND,
      .b0 = CF_FIN | CF_OP_TEXT,
      .data = (const uint8_t *)"unmasked",
      .len = 8,
      .unmasked = true },
    RX(CF_OP_TEXT, "masked"),
    { .kind = ST_DROP, .aux = CF_CLOSE_PROTOCOL },
    { 0 },
};
static const struct cf_step unmasked_ping[] = {
    { .kind = ST_SEND,
      .b0 = CF_FIN | CF_OP_PING,
      .data = (const uint8_t *)"unmasked",
      .len = 8,
      .unmasked = true },
    { .kind = ST_DROP, .aux = CF_CLOSE_PROTOCOL },
    { 0 },
};
/* 64-bit length 0x8000000000000005: top bit set, then 5 bytes. */
static const struct cf_step length_top_bit[] = {
    { .kind = ST_SEND_RAW,
      .data = (const uint8_t *)"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x05\x01\x02\x03\x04"
                               "\x01\x02\x03\x04\x05",
      .len = 19 },
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};

void cf_register_limits(const struct cf_config *cfg) {
    register_nine(cfg);
    register_max_message(cfg);

    struct cf_case *c = cf_add("10.1.1 text-64KiB-in-1300-byte-fragments");
    c->steps = echo_frags(CF_OP_TEXT, 64 * KiB, 1300);
    c = cf_add("10.1.2 binary-64KiB-in-1300-byte-fragments");
    c->steps = echo_frags(CF_OP_BINARY, 64 * KiB, 1300);

    cf_add_script("X.1 unmasked-frame", unmasked, M_WRITE);
    cf_add_script("X.2 unmasked-frame-after-valid", unmasked_after_valid, M_WRITE);
    cf_add_script("X.3 unmasked-ping", unmasked_ping, M_WRITE);
    cf_add_script("X.4 64-bit-length-top-bit-set", length_top_bit, M_WRITE);
}

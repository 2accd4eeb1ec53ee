/*
 * cases_reserved.c -- Autobahn sections 3 (reserved bits) and 4 (reserved
 * opcodes).
 *
 * RFC 6455 §5.2: "RSV1, RSV2, RSV3: MUST be 0 unless an extension is
 * negotiated that defines meanings for non-zero values. If a nonzero value
 * is received and none of the negotiated extensions defines the meaning of
 * such a nonzero value, the receiving endpoint MUST _Fail the WebSocket
 * Connection_." And: "If an unknown opcode is received, the receiving
 * endpoint MUST _Fail the WebSocket Connection_."
 *
 * Each bad frame is sent alone, and after a valid text frame: the valid one
 * must be echoed first, then the server closes with 1002. A ping always
 * follows the bad frame: the server must not answer it (§7.1.7: no more
 * processing after failing).
 */
#include "conf.h"

#include <stdio.h>

struct kind {
    const char *name;
    uint8_t op;
    const char *payload;
    size_t len;
};

static const struct kind kinds[] = {
    { "text", CF_OP_TEXT, "Hello", 5 },
    { "binary", CF_OP_BINARY, "\x00\xff\xfe\xfd", 4 },
    { "ping", CF_OP_PING, "ping", 4 },
    { "close", CF_OP_CLOSE, "\x03\xe8", 2 },
};

/* Build: [valid text] bad-frame ping -> [echo] close 1002. */
static const struct cf_step *bad_frame_steps(uint8_t b0, const uint8_t *payload, size_t len,
                                             bool after_valid, bool inside_fragmented) {
    struct cf_steps s = { 0 };
    if (after_valid) cf_push(&s, (struct cf_step)TX(CF_FIN | CF_OP_TEXT, "Hello"));
    if (inside_fragmented) cf_push(&s, (struct cf_step)TX(CF_OP_TEXT, "fragment1"));
    cf_push(&s, (struct cf_step){ .kind = ST_SEND, .b0 = b0, .data = payload, .len = len });
    if (inside_fragmented) cf_push(&s, (struct cf_step)TX(CF_FIN | CF_OP_CONT, "fragment2"));
    cf_push(&s, (struct cf_step)TX(CF_FIN | CF_OP_PING, "must not be answered"));
    if (after_valid) cf_push(&s, (struct cf_step)RX(CF_OP_TEXT, "Hello"));
    cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_PROTOCOL));
    return cf_steps_end(&s);
}

static void register_rsv(void) {
    for (unsigned rsv = 1; rsv <= 7; rsv++) {
        int k = 0;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            const struct kind *kd = &kinds[i];
            uint8_t b0 = (uint8_t)(CF_FIN | rsv << 4 | kd->op);
            const uint8_t *p = (const uint8_t *)kd->payload;
            char id[96];
            snprintf(id, sizeof id, "3.%u.%d rsv%u-%s-alone", rsv, ++k, rsv, kd->name);
            cf_add_script(id, bad_frame_steps(b0, p, kd->len, false, false), M_WRITE | M_BYTES);
            snprintf(id, sizeof id, "3.%u.%d rsv%u-%s-after-valid", rsv, ++k, rsv, kd->name);
            cf_add_script(id, bad_frame_steps(b0, p, kd->len, true, false), M_WRITE | M_BYTES);
        }
        /* RSV on a continuation frame of a fragmented message. */
        char id[96];
        snprintf(id, sizeof id, "3.%u.%d rsv%u-continuation", rsv, ++k, rsv);
        struct cf_steps s = { 0 };
        cf_push(&s, (struct cf_step)TX(CF_OP_TEXT, "fragment1"));
        cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                      .b0 = (uint8_t)(CF_FIN | rsv << 4),
                                      .data = (const uint8_t *)"fragment2",
                                      .len = 9 });
        cf_push(&s, (struct cf_step)TX(CF_FIN | CF_OP_PING, "must not be answered"));
        cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_PROTOCOL));
        cf_add_script(id, cf_steps_end(&s), M_WRITE);
    }
}

static void register_opcodes(void) {
    static const uint8_t ops[] = { 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 };
    static const uint8_t payload[] = "reserved opcode payload";
    for (size_t i = 0; i < sizeof ops; i++) {
        unsigned op = ops[i];
        int sub = op < 8 ? 1 : 2; /* 4.1: data opcodes, 4.2: control opcodes */
        char id[96];
        snprintf(id, sizeof id, "4.%d.%u.1 opcode-%u-empty-alone", sub, op, op);
        cf_add_script(id, bad_frame_steps((uint8_t)(CF_FIN | op), NULL, 0, false, false), M_WRITE);
        snprintf(id, sizeof id, "4.%d.%u.2 opcode-%u-payload-alone", sub, op, op);
        cf_add_script(
            id, bad_frame_steps((uint8_t)(CF_FIN | op), payload, sizeof payload - 1, false, false),
            M_WRITE);
        snprintf(id, sizeof id, "4.%d.%u.3 opcode-%u-after-valid", sub, op, op);
        cf_add_script(
            id, bad_frame_steps((uint8_t)(CF_FIN | op), payload, sizeof payload - 1, true, false),
            M_WRITE | M_BYTES);
        snprintf(id, sizeof id, "4.%d.%u.4 opcode-%u-inside-fragmented", sub, op, op);
        cf_add_script(id, bad_frame_steps((uint8_t)(CF_FIN | op), NULL, 0, false, true), M_WRITE);
        snprintf(id, sizeof id, "4.%d.%u.5 opcode-%u-no-fin", sub, op, op);
        cf_add_script(id, bad_frame_steps((uint8_t)op, payload, sizeof payload - 1, false, false),
                      M_WRITE);
    }
}

void cf_register_reserved(const struct cf_config *cfg) {
    (void)cfg;
    register_rsv();
    register_opcodes();
}

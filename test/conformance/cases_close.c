/*
 * cases_close.c -- Autobahn section 7 (close handling).
 *
 * RFC 6455 §5.5.1: a close body is empty, or a 2-byte status code followed
 * by a UTF-8 reason; "If an endpoint receives a Close frame and did not
 * previously send a Close frame, the endpoint MUST send a Close frame in
 * response ... (the endpoint typically echos the status code it
 * received)"; after sending a close, an endpoint "MUST NOT send any more
 * data frames", and data received after the peer's close is discarded.
 * §7.1.1: after the closing handshake "the server MUST close the underlying
 * TCP connection" first. §7.4: which codes may appear on the wire; any
 * other is a protocol error (1002).
 *
 * The driver's cf_expect_close() checks the reply code, that nothing but
 * the close frame arrives, and that the server then closes TCP by itself.
 */
#include "conf.h"

#include <stdio.h>
#include <string.h>

/* 7.1: the closing handshake and what follows it. */
static const struct cf_step text_then_close[] = {
    TX(CF_FIN | CF_OP_TEXT, "Hello World!"),
    TX_CLOSE(1000),
    RX(CF_OP_TEXT, "Hello World!"),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step two_closes[] = {
    TX_CLOSE(1000),
    TX_CLOSE(1001),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step close_then_ping[] = {
    TX_CLOSE(1000),
    TX(CF_FIN | CF_OP_PING, "Hello World!"),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step close_then_text[] = {
    TX_CLOSE(1000),
    TX(CF_FIN | CF_OP_TEXT, "Hello World!"),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step close_in_fragments[] = {
    TX(CF_OP_TEXT, "fragment1"), TX_CLOSE(1000), TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX_CLOSE(CF_CLOSE_NORMAL),   { 0 },
};
static const struct cf_step big_then_close_then_ping[] = {
    TXP(CF_FIN | CF_OP_TEXT, CF_PAT_TEXT, 256 * 1024),
    TX_CLOSE(1000),
    TX(CF_FIN | CF_OP_PING, "no pong after close"),
    RXP(CF_OP_TEXT, CF_PAT_TEXT, 256 * 1024),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step server_closes_first[] = {
    BYE,
    { 0 },
};
static const struct cf_step close_then_garbage[] = {
    /* After our close, even an invalid frame must be ignored, not
     * answered with a 1002 instead of the close reply. */
    TX_CLOSE(1000),
    TX(CF_FIN | 0x40 | CF_OP_TEXT, "rsv after close"),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};

/* 7.3: close frame bodies. */
static const struct cf_step close_empty[] = {
    TX(CF_FIN | CF_OP_CLOSE, ""),
    RX_CLOSE(CF_CODE_NORMAL_OR_EMPTY),
    { 0 },
};
static const struct cf_step close_1_byte[] = {
    TX(CF_FIN | CF_OP_CLOSE, "\x03"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step close_1000[] = {
    TX_CLOSE(1000),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step close_reason[] = {
    TX(CF_FIN | CF_OP_CLOSE, "\x03\xe8"
                             "Hello World!"),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
static const struct cf_step close_reason_utf8[] = {
    TX(CF_FIN | CF_OP_CLOSE, "\x03\xe8"
                             "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
    RX_CLOSE(CF_CLOSE_NORMAL),
    { 0 },
};
/* §5.5.1: "the body ... MUST be UTF-8"; an invalid reason is a protocol
 * violation of the close frame itself (1002). */
static const struct cf_step close_reason_bad_utf8[] = {
    TX(CF_FIN | CF_OP_CLOSE, "\x03\xe8"
                             "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                             "edited"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step close_reason_truncated_utf8[] = {
    TX(CF_FIN | CF_OP_CLOSE, "\x03\xe8"
                             "abc\xce"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};

/* §7.4.1, §7.4.2 and the IANA registry: codes a peer may send. */
static bool code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static void add_reason_case(const char *id, size_t reason_len, int want) {
    uint8_t body[2 + 200];
    body[0] = 0x03;
    body[1] = 0xE8;
    cf_pattern(CF_PAT_TEXT, 0, body + 2, reason_len);
    struct cf_steps s = { 0 };
    cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                  .b0 = CF_FIN | CF_OP_CLOSE,
                                  .data = cf_keep(body, 2 + reason_len),
                                  .len = 2 + reason_len });
    cf_push(&s, (struct cf_step)RX_CLOSE(want));
    cf_add_script(id, cf_steps_end(&s), M_WRITE);
}

void cf_register_close(const struct cf_config *cfg) {
    (void)cfg;
    cf_add_script("7.1.1 text-then-close", text_then_close, M_WRITE | M_FRAMES);
    cf_add_script("7.1.2 two-closes", two_closes, M_WRITE | M_FRAMES);
    cf_add_script("7.1.3 close-then-ping", close_then_ping, M_WRITE | M_FRAMES);
    cf_add_script("7.1.4 close-then-text", close_then_text, M_WRITE | M_FRAMES);
    cf_add_script("7.1.5 close-between-fragments", close_in_fragments, M_WRITE | M_FRAMES);
    cf_add_script("7.1.6 256k-text-then-close-then-ping", big_then_close_then_ping, M_WRITE);
    cf_add_script("7.1.7 server-closes-tcp-first", server_closes_first, M_WRITE | M_BYTES);
    cf_add_script("7.1.8 invalid-frame-after-close", close_then_garbage, M_WRITE);

    cf_add_script("7.3.1 close-empty", close_empty, M_WRITE | M_BYTES);
    cf_add_script("7.3.2 close-1-byte", close_1_byte, M_WRITE | M_BYTES);
    cf_add_script("7.3.3 close-1000", close_1000, M_WRITE | M_BYTES);
    cf_add_script("7.3.4 close-1000-reason", close_reason, M_WRITE | M_BYTES);
    add_reason_case("7.3.5 close-1000-reason-123", 123, CF_CLOSE_NORMAL);
    add_reason_case("7.3.6 close-1000-reason-124", 124, CF_CLOSE_PROTOCOL);
    add_reason_case("7.3.7 close-1000-reason-200", 200, CF_CLOSE_PROTOCOL);
    cf_add_script("7.5.1 close-reason-invalid-utf8", close_reason_bad_utf8, M_WRITE);
    cf_add_script("7.5.2 close-reason-truncated-utf8", close_reason_truncated_utf8, M_WRITE);
    cf_add_script("7.5.3 close-reason-valid-utf8", close_reason_utf8, M_WRITE | M_BYTES);

    /* 7.7 (valid codes, echoed) and 7.9 (invalid codes, 1002): every code
     * from 0 to 5000, and the largest one. */
    for (unsigned code = 0; code <= 5001; code++) {
        unsigned c = code == 5001 ? 65535 : code;
        uint8_t body[2] = { (uint8_t)(c >> 8), (uint8_t)c };
        bool ok = code_valid(c);
        struct cf_steps s = { 0 };
        cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                      .b0 = CF_FIN | CF_OP_CLOSE,
                                      .data = cf_keep(body, 2),
                                      .len = 2 });
        cf_push(&s, (struct cf_step)RX_CLOSE(ok ? (int)c : CF_CLOSE_PROTOCOL));
        char id[64];
        snprintf(id, sizeof id, "7.%d.%u close-code-%u", ok ? 7 : 9, c, c);
        cf_add_script(id, cf_steps_end(&s), M_WRITE);
    }
}

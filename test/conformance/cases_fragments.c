/*
 * cases_fragments.c -- Autobahn section 5 (fragmentation).
 *
 * RFC 6455 §5.4:
 *  - a fragmented message is one frame with FIN clear and a data opcode,
 *    any number of continuation frames (opcode 0) with FIN clear, and a
 *    last continuation frame with FIN set;
 *  - "Control frames MAY be injected in the middle of a fragmented
 *    message" and "Control frames themselves MUST NOT be fragmented";
 *  - the fragments of one message are never interleaved with another
 *    message: a text/binary frame inside a fragmented message, or a
 *    continuation frame outside one, is a protocol error (1002).
 * The echo of a fragmented message must carry the reassembled payload with
 * the opcode of the first fragment (the server may fragment it its own way).
 */
#include "conf.h"

#include <stdio.h>

static const struct cf_step ping_fragmented[] = {
    TX(CF_OP_PING, "fragment1"),
    TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step pong_fragmented[] = {
    TX(CF_OP_PONG, "fragment1"),
    TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step close_fragmented[] = {
    TX(CF_OP_CLOSE, "\x03\xe8"),
    TX(CF_FIN | CF_OP_CONT, "ab"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step text_2[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX(CF_OP_TEXT, "fragment1fragment2"),
    BYE,
    { 0 },
};
static const struct cf_step binary_2[] = {
    TX(CF_OP_BINARY, "\x00\x01\x02"
                     "fragment1"),
    TX(CF_FIN | CF_OP_CONT, "\xff\xfe"
                            "fragment2"),
    RX(CF_OP_BINARY, "\x00\x01\x02"
                     "fragment1\xff\xfe"
                     "fragment2"),
    BYE,
    { 0 },
};
static const struct cf_step text_2_ping[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_FIN | CF_OP_PING, "ping payload"),
    TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX_PONG("ping payload"),
    RX(CF_OP_TEXT, "fragment1fragment2"),
    BYE,
    { 0 },
};
static const struct cf_step text_2_pong[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_FIN | CF_OP_PONG, "unsolicited"),
    TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX(CF_OP_TEXT, "fragment1fragment2"),
    BYE,
    { 0 },
};
/* §5.4 allows a close between fragments; the message is then never
 * completed and must not be echoed. */
static const struct cf_step text_2_close[] = {
    TX(CF_OP_TEXT, "fragment1"), TX_CLOSE(1000), TX(CF_FIN | CF_OP_CONT, "fragment2"),
    RX_CLOSE(CF_CLOSE_NORMAL),   { 0 },
};
static const struct cf_step cont_fin_no_start[] = {
    TX(CF_FIN | CF_OP_CONT, "non-continuation payload"),
    TX(CF_FIN | CF_OP_TEXT, "Hello, world!"),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step cont_nofin_no_start[] = {
    TX(CF_OP_CONT, "non-continuation payload"),
    TX(CF_FIN | CF_OP_TEXT, "Hello, world!"),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
/* Autobahn 5.15: a complete message, then a stray continuation. */
static const struct cf_step stray_cont_after_message[] = {
    TX(CF_OP_TEXT, "fragment1"),          TX(CF_FIN | CF_OP_CONT, "fragment2"),
    TX(CF_OP_CONT, "fragment3"),          TX(CF_OP_TEXT, "fragment4"),
    TX(CF_FIN | CF_OP_CONT, "fragment5"), RX(CF_OP_TEXT, "fragment1fragment2"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),          { 0 },
};
/* Autobahn 5.16 / 5.17: messages that start with a continuation. */
static const struct cf_step cont_first_twice[] = {
    TX(CF_OP_CONT, "fragment1"),          TX(CF_OP_TEXT, "fragment2"),
    TX(CF_FIN | CF_OP_CONT, "fragment3"), TX(CF_OP_CONT, "fragment1"),
    TX(CF_OP_TEXT, "fragment2"),          TX(CF_FIN | CF_OP_CONT, "fragment3"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),          { 0 },
};
static const struct cf_step cont_fin_first_twice[] = {
    TX(CF_FIN | CF_OP_CONT, "fragment1"), TX(CF_OP_TEXT, "fragment2"),
    TX(CF_FIN | CF_OP_CONT, "fragment3"), TX(CF_FIN | CF_OP_CONT, "fragment1"),
    TX(CF_OP_TEXT, "fragment2"),          TX(CF_FIN | CF_OP_CONT, "fragment3"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),          { 0 },
};
/* Autobahn 5.18: a new text frame where a continuation belongs. */
static const struct cf_step text_inside_text[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_FIN | CF_OP_TEXT, "fragment2"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step binary_inside_text[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_FIN | CF_OP_BINARY, "fragment2"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step text_nofin_inside_binary[] = {
    TX(CF_OP_BINARY, "fragment1"),
    TX(CF_OP_TEXT, "fragment2"),
    TX(CF_FIN | CF_OP_CONT, "fragment3"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
/* Autobahn 5.19/5.20: five fragments with pings between. */
static const struct cf_step five_with_pings[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_OP_CONT, "fragment2"),
    TX(CF_FIN | CF_OP_PING, "pongme 1!"),
    TX(CF_OP_CONT, "fragment3"),
    TX(CF_OP_CONT, "fragment4"),
    TX(CF_FIN | CF_OP_PING, "pongme 2!"),
    TX(CF_FIN | CF_OP_CONT, "fragment5"),
    RX_PONG("pongme 1!"),
    RX_PONG("pongme 2!"),
    RX(CF_OP_TEXT, "fragment1fragment2fragment3fragment4fragment5"),
    BYE,
    { 0 },
};
/* An empty final fragment, and messages of empty fragments only. */
static const struct cf_step empty_final[] = {
    TX(CF_OP_TEXT, "abc"), TX(CF_FIN | CF_OP_CONT, ""), RX(CF_OP_TEXT, "abc"), BYE, { 0 },
};
static const struct cf_step empty_first[] = {
    TX(CF_OP_BINARY, ""), TX(CF_FIN | CF_OP_CONT, "xyz"), RX(CF_OP_BINARY, "xyz"), BYE, { 0 },
};
static const struct cf_step all_empty[] = {
    TX(CF_OP_TEXT, ""),
    TX(CF_OP_CONT, ""),
    TX(CF_FIN | CF_OP_CONT, ""),
    RX(CF_OP_TEXT, ""),
    BYE,
    { 0 },
};
static const struct cf_step empty_middle[] = {
    TX(CF_OP_TEXT, ""),
    TX(CF_OP_CONT, "middle"),
    TX(CF_FIN | CF_OP_CONT, ""),
    RX(CF_OP_TEXT, "middle"),
    BYE,
    { 0 },
};
/* Two fragmented messages back to back, then an unfragmented one. */
static const struct cf_step back_to_back[] = {
    TX(CF_OP_TEXT, "one-"),
    TX(CF_FIN | CF_OP_CONT, "a"),
    TX(CF_OP_BINARY, "two-"),
    TX(CF_FIN | CF_OP_CONT, "b"),
    TX(CF_FIN | CF_OP_TEXT, "three"),
    RX(CF_OP_TEXT, "one-a"),
    RX(CF_OP_BINARY, "two-b"),
    RX(CF_OP_TEXT, "three"),
    BYE,
    { 0 },
};

/* A message of n fragments of `size` pattern bytes each. */
static const struct cf_step *n_fragments(unsigned op, uint64_t n, uint64_t size) {
    struct cf_steps s = { 0 };
    int pat = op == CF_OP_TEXT ? CF_PAT_TEXT : CF_PAT_BINARY;
    cf_push(&s, (struct cf_step){ .kind = ST_SEND_FRAGS,
                                  .b0 = (uint8_t)op,
                                  .pat = pat,
                                  .len = n * size,
                                  .aux = (int64_t)size });
    cf_push(&s, (struct cf_step){ .kind = ST_MSG, .b0 = (uint8_t)op, .pat = pat, .len = n * size });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

void cf_register_fragments(const struct cf_config *cfg) {
    (void)cfg;
    cf_add_script("5.1 ping-fragmented", ping_fragmented, M_WRITE | M_BYTES);
    cf_add_script("5.2 pong-fragmented", pong_fragmented, M_WRITE | M_BYTES);
    cf_add_script("5.2.2 close-fragmented", close_fragmented, M_WRITE);
    cf_add_script("5.3 text-2-fragments", text_2, M_ALL);
    cf_add_script("5.3.2 binary-2-fragments", binary_2, M_ALL);
    cf_add_script("5.6 text-2-fragments-ping-between", text_2_ping, M_ALL);
    cf_add_script("5.6.2 text-2-fragments-pong-between", text_2_pong, M_ALL);
    cf_add_script("5.6.3 text-2-fragments-close-between", text_2_close, M_WRITE | M_FRAMES);
    cf_add_script("5.9 continuation-fin-without-start", cont_fin_no_start, M_ALL);
    cf_add_script("5.12 continuation-nofin-without-start", cont_nofin_no_start, M_ALL);
    cf_add_script("5.15 stray-continuation-after-message", stray_cont_after_message, M_WRITE);
    cf_add_script("5.16 continuation-first-twice", cont_first_twice, M_WRITE);
    cf_add_script("5.17 continuation-fin-first-twice", cont_fin_first_twice, M_WRITE);
    cf_add_script("5.18 text-inside-fragmented-text", text_inside_text, M_WRITE | M_BYTES);
    cf_add_script("5.18.2 binary-inside-fragmented-text", binary_inside_text, M_WRITE);
    cf_add_script("5.18.3 text-start-inside-fragmented-binary", text_nofin_inside_binary, M_WRITE);
    cf_add_script("5.19 five-fragments-pings-between", five_with_pings, M_ALL);
    cf_add_script("5.21 empty-final-fragment", empty_final, M_WRITE | M_BYTES);
    cf_add_script("5.21.2 empty-first-fragment", empty_first, M_WRITE);
    cf_add_script("5.21.3 all-fragments-empty", all_empty, M_WRITE | M_BYTES);
    cf_add_script("5.21.4 empty-fragments-around-payload", empty_middle, M_WRITE);
    cf_add_script("5.22 fragmented-messages-back-to-back", back_to_back, M_WRITE | M_FRAMES);

    /* 5.23: 1 to 1000 fragments. */
    static const struct {
        uint64_t n, size;
    } counts[] = {
        { 1, 100 }, { 2, 50 },    { 3, 7 },    { 10, 10 },
        { 100, 3 }, { 100, 300 }, { 1000, 1 }, { 1000, 64 },
    };
    int k = 0;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        for (unsigned op = CF_OP_TEXT; op <= CF_OP_BINARY; op++) {
            char id[96];
            snprintf(id, sizeof id, "5.23.%d %s-%llu-fragments-of-%llu", ++k,
                     op == CF_OP_TEXT ? "text" : "binary", (unsigned long long)counts[i].n,
                     (unsigned long long)counts[i].size);
            unsigned modes = M_WRITE;
            if (counts[i].n * counts[i].size <= 4096) modes |= M_BYTES;
            cf_add_script(id, n_fragments(op, counts[i].n, counts[i].size), modes);
        }
}

/*
 * cases_deflate.c -- permessage-deflate (RFC 7692), in the spirit of
 * Autobahn|Testsuite's sections 12 (payloads) and 13 (parameters), and the
 * refusals Autobahn leaves out.
 *
 * Every case but X.6 offers the extension and fails if the server declines
 * it. Each echo is inflated by zlib at the agreed window and compared with
 * what was sent; the server may answer compressed or not (a message under
 * its threshold, or one that does not shrink, comes back plain).
 *
 * 12.1-12.5  payloads: words, chat JSON and multi-byte UTF-8 text, random
 *            and patterned binary; messages of 16 B .. 128 KiB, runs of 4
 *            to 40. Within a run some compressed messages are cut into
 *            frames at odd points (1, 7, 1021 ... bytes), some have sync
 *            flushes inside, and some go uncompressed (RSV1 clear, whole
 *            or fragmented). The compressor's style changes with the size:
 *            level 6, 1, 9, stored blocks, fixed Huffman, Huffman only, RLE.
 * 12.6       hand-made messages: RFC 7692 §7.2.3's examples, empty
 *            messages, empty first or last frames, a ping between
 *            compressed fragments, a sync flush after every byte, every
 *            length 0..200 (across the server's threshold).
 * 13.N.y     parameter sets: offers with and without client_max_window_bits
 *            (no value, 8..15), server_max_window_bits 8, 9, 12, 15, the
 *            no_context_takeover ones, combinations, quoted values, several
 *            offers in one header and across two, an unacceptable one
 *            first; each with six runs: 300 chat messages, 200 tiny ones,
 *            60 of 1 KiB, 8 of 16 KiB, 2 of 128 KiB, 20 of 4 KiB random.
 *            Long runs of similar messages make context takeover (or its
 *            absence) decide whether the streams decode.
 * X.5        refusals (RFC 7692 §6.1, RFC 6455 §5.2): RSV1 on a
 *            continuation or control frame, RSV2/RSV3 -> 1002; compressed
 *            data that does not inflate, or does not end between blocks,
 *            or inflates to invalid UTF-8 -> 1007 (and the next connection
 *            is served as usual).
 * X.6        declined offers (RFC 7692 §5): malformed or invalid offers get
 *            no extension, and then a frame with RSV1 gets 1002.
 * X.7        bombs: zeros that inflate past --max-message -> 1009; exactly
 *            the limit once inflated is echoed.
 */
#include "conf.h"

#include <stdio.h>
#include <string.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

/* Compressed "Hello" as RFC 7692 §7.2.3.1 shows it (one block, BFINAL 0,
 * fixed Huffman codes; the trailing 00 00 ff ff removed). */
#define HELLO_Z "\xf2\x48\xcd\xc9\xc9\x07\x00"

static struct cf_case *add_deflate(const char *offer, bool want, enum cf_zstyle style,
                                   struct cf_case *c) {
    c->offer = offer;
    c->want_deflate = want;
    c->zstyle = style;
    return c;
}

/* Register a script under each mode of `modes`, all with this offer. */
static void add_z_script(const char *id, const struct cf_step *s, unsigned modes, const char *offer,
                         enum cf_zstyle style, bool heavy) {
    static const char *const names[] = { "write", "bytes", "frames" };
    bool several = (modes & (modes - 1)) != 0;
    for (int m = MODE_WRITE; m <= MODE_FRAMES; m++) {
        if (!(modes & (1u << m))) continue;
        struct cf_case *c = several ? cf_add("%s/%s", id, names[m]) : cf_add("%s", id);
        c->steps = s;
        c->mode = (enum cf_mode)m;
        c->heavy = heavy;
        add_deflate(offer, true, style, c);
    }
}

/* ---- runs of messages ---------------------------------------------------- */

/* One message of a run: how it is sent. `form`: */
enum { F_Z, F_Z_FRAMES, F_Z_FLUSHES, F_PLAIN, F_PLAIN_FRAGS };

static void push_send(struct cf_steps *s, unsigned op, int pat, uint64_t off, uint64_t n, int form,
                      uint64_t frame) {
    struct cf_step st = { .b0 = (uint8_t)op, .pat = pat, .pat_off = off, .len = n };
    switch (form) {
    case F_PLAIN:
        st.kind = ST_SEND;
        st.b0 |= CF_FIN;
        break;
    case F_PLAIN_FRAGS:
        st.kind = ST_SEND_FRAGS;
        st.aux = (int64_t)(frame ? frame : 1);
        break;
    case F_Z_FLUSHES:
        /* Blocks that end inside the message, and frames that cut them. */
        st.kind = ST_SEND_Z;
        st.zflush = n / 3 + 1;
        st.aux = (int64_t)frame;
        break;
    case F_Z_FRAMES:
        st.kind = ST_SEND_Z;
        st.aux = (int64_t)frame;
        break;
    default: st.kind = ST_SEND_Z; break;
    }
    cf_push(s, st);
}

/* Odd frame sizes for message i of a run of n-byte messages: small ones
 * byte by byte, larger ones at points that line up with nothing, never
 * more than a few thousand frames (the server's --max-fragments). */
static uint64_t odd_frame(uint64_t i, uint64_t n) {
    static const uint64_t odd[] = { 1, 7, 97, 1021, 4093 };
    uint64_t f = odd[i % 5];
    while (n / f > 2000) f = f * 2 + 1;
    return f;
}

/* The form of message i in a 12.x run: mostly compressed in one frame;
 * every eighth plain, fragmented plain, cut at odd points, with flushes. */
static int form_12(uint64_t i) {
    switch (i % 8) {
    case 1:
    case 4: return F_Z_FRAMES;
    case 3: return F_PLAIN;
    case 5: return F_Z_FLUSHES;
    case 6: return F_PLAIN_FRAGS;
    default: return F_Z;
    }
}

/* A run of `count` messages of n bytes of pat, sent `group` at a time
 * (the echoes of a group are read after it is sent). */
static const struct cf_step *run_steps(unsigned op, int pat, uint64_t n, uint64_t count,
                                       uint64_t group) {
    struct cf_steps s = { 0 };
    for (uint64_t g = 0; g < count; g += group) {
        uint64_t end = g + group < count ? g + group : count;
        for (uint64_t i = g; i < end; i++)
            push_send(&s, op, pat, i * n, n, form_12(i), odd_frame(i, n));
        for (uint64_t i = g; i < end; i++)
            cf_push(
                &s,
                (struct cf_step){
                    .kind = ST_MSG, .b0 = (uint8_t)op, .pat = pat, .pat_off = i * n, .len = n });
    }
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

static const uint64_t sizes12[] = { 16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072 };

static uint64_t run_count(uint64_t n) {
    return n <= 4096 ? 40 : n <= 32768 ? 16 : n <= 65536 ? 6 : 4;
}

static const struct kind {
    const char *name;
    unsigned op;
    int pat;
} kinds12[] = {
    { "text-words", CF_OP_TEXT, CF_PAT_WORDS },
    { "text-json", CF_OP_TEXT, CF_PAT_JSON },
    { "text-utf8", CF_OP_TEXT, CF_PAT_UTF8 },
    { "binary-random", CF_OP_BINARY, CF_PAT_RANDOM },
    { "binary-pattern", CF_OP_BINARY, CF_PAT_BINARY },
};

/* The compressor's style for case i of messages of n bytes: each in
 * turn, but zlib's levels 6 and 9 (4-13 MB/s on these patterns) only up
 * to 4 KiB; larger messages get level 1 or Huffman-only instead. */
static enum cf_zstyle style_for(size_t i, uint64_t n) {
    enum cf_zstyle s = (enum cf_zstyle)(i % 7);
    if (n > 4096 && s == CF_Z_DEFAULT) return CF_Z_FAST;
    if (n > 4096 && s == CF_Z_BEST) return CF_Z_HUFFMAN;
    return s;
}

static void register_payloads(void) {
    static const char *const style_names[] = { "level6", "level1",  "level9", "stored",
                                               "fixed",  "huffman", "rle" };
    for (size_t k = 0; k < sizeof kinds12 / sizeof kinds12[0]; k++)
        for (size_t j = 0; j < sizeof sizes12 / sizeof sizes12[0]; j++) {
            uint64_t n = sizes12[j], count = run_count(n);
            enum cf_zstyle style = style_for(j + k, n);
            char id[96];
            snprintf(id, sizeof id, "12.%zu.%zu %s-%llu-x%llu-%s", k + 1, j + 1, kinds12[k].name,
                     (unsigned long long)n, (unsigned long long)count, style_names[style]);
            unsigned modes = M_WRITE;
            if (n == 64 || n == 1024) modes |= M_BYTES;
            add_z_script(id, run_steps(kinds12[k].op, kinds12[k].pat, n, count, 10), modes,
                         "permessage-deflate", style, false);
        }
}

/* ---- 12.6: hand-made messages ---------------------------------------------- */

static const struct cf_step rfc_hello[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, HELLO_Z),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* §7.2.3.1: the same, in two fragments; RSV1 on the first only. */
static const struct cf_step rfc_hello_fragments[] = {
    TX(CF_RSV1 | CF_OP_TEXT, "\xf2\x48\xcd"),
    TX(CF_FIN | CF_OP_CONT, "\xc9\xc9\x07\x00"),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* §7.2.3.3: a stored block. */
static const struct cf_step rfc_stored[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, "\x00\x05\x00\xfa\xff"
                                      "Hello"
                                      "\x00"),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* §7.2.3.4: a final block (BFINAL 1), with and without a byte after it;
 * then an ordinary message (a fresh stream, valid with or without the
 * window kept). */
static const struct cf_step rfc_bfinal[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, "\xf3\x48\xcd\xc9\xc9\x07\x00"),
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, "\xf3\x48\xcd\xc9\xc9\x07\x00\x00"),
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, HELLO_Z),
    RX(CF_OP_TEXT, "Hello"),
    RX(CF_OP_TEXT, "Hello"),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* §7.2.3.5: two blocks in one message (a sync flush between them). */
static const struct cf_step rfc_two_blocks[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, "\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00"),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* §7.2.3.6: an empty message is the single byte 00 (with the tail, an
 * empty stored block); also split as an empty first frame and 00. */
static const struct cf_step empty_messages[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, "\x00"),
    TX(CF_FIN | CF_RSV1 | CF_OP_BINARY, "\x00"),
    TX(CF_RSV1 | CF_OP_TEXT, ""),
    TX(CF_FIN | CF_OP_CONT, "\x00"),
    RX(CF_OP_TEXT, ""),
    RX(CF_OP_BINARY, ""),
    RX(CF_OP_TEXT, ""),
    BYE,
    { 0 },
};
/* Empty frames around compressed data: RSV1 on an empty first frame. */
static const struct cf_step empty_first_frame[] = {
    TX(CF_RSV1 | CF_OP_TEXT, ""),
    TX(CF_FIN | CF_OP_CONT, HELLO_Z),
    TX(CF_RSV1 | CF_OP_BINARY, HELLO_Z),
    TX(CF_FIN | CF_OP_CONT, ""),
    TX(CF_RSV1 | CF_OP_TEXT, ""),
    TX(CF_OP_CONT, "\xf2\x48"),
    TX(CF_OP_CONT, ""),
    TX(CF_FIN | CF_OP_CONT, "\xcd\xc9\xc9\x07\x00"),
    RX(CF_OP_TEXT, "Hello"),
    RX(CF_OP_BINARY, "Hello"),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* §5.4 of RFC 6455 still holds: a ping between compressed fragments. */
static const struct cf_step ping_between[] = {
    TX(CF_RSV1 | CF_OP_TEXT, "\xf2\x48\xcd"),
    TX(CF_FIN | CF_OP_PING, "ping"),
    TX(CF_FIN | CF_OP_CONT, "\xc9\xc9\x07\x00"),
    RX_PONG("ping"),
    RX(CF_OP_TEXT, "Hello"),
    BYE,
    { 0 },
};
/* A plain message (RSV1 clear) between compressed ones. */
static const struct cf_step plain_between[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, HELLO_Z),
    TX(CF_FIN | CF_OP_TEXT, "plain"),
    TX(CF_OP_BINARY, "frag"),
    TX(CF_FIN | CF_OP_CONT, "ments"),
    TX(CF_FIN | CF_RSV1 | CF_OP_BINARY, HELLO_Z),
    RX(CF_OP_TEXT, "Hello"),
    RX(CF_OP_TEXT, "plain"),
    RX(CF_OP_BINARY, "fragments"),
    RX(CF_OP_BINARY, "Hello"),
    BYE,
    { 0 },
};

/* RFC 7692 §7.2.3.2: the second "Hello" refers back into the first
 * message: valid only if the server keeps its window, i.e. if the
 * response did not ask for client_no_context_takeover. If it did, the
 * server resets per message and the reference reaches before the start:
 * 1007. */
static int close_normally(struct cf_ctx *t, struct cf_conn *c) {
    static const uint8_t normal[2] = { 0x03, 0xE8 };
    struct cf_buf out = { 0 };
    cf_put_frame(t, &out, CF_FIN | CF_OP_CLOSE, 2, normal, 0, 0, 2, true);
    c->sent_close = true;
    int rc = cf_write(t, c, out.p, out.len, 0, 0);
    cf_buf_free(&out);
    return rc < 0 ? rc : cf_expect_close(t, c, CF_CLOSE_NORMAL);
}

static int rfc_takeover(struct cf_ctx *t, const struct cf_case *k) {
    (void)k;
    struct cf_conn c;
    struct cf_buf out = { 0 };
    int rc = cf_open(t, &c);
    if (rc == 0) {
        cf_put_frame(t, &out, CF_FIN | CF_RSV1 | CF_OP_TEXT, 7, (const uint8_t *)HELLO_Z, 0, 0, 7,
                     true);
        cf_put_frame(t, &out, CF_FIN | CF_RSV1 | CF_OP_TEXT, 5,
                     (const uint8_t *)"\xf2\x00\x11\x00\x00", 0, 0, 5, true);
        rc = cf_write(t, &c, out.p, out.len, 0, 0);
    }
    if (rc == 0) rc = cf_expect_message(t, &c, CF_OP_TEXT, (const uint8_t *)"Hello", 0, 0, 5);
    if (rc == 0 && cf_pmd_params(c.pmd)->client_no_context_takeover)
        rc = cf_expect_close(t, &c, CF_CLOSE_INVALID_DATA);
    else if (rc == 0) {
        rc = cf_expect_message(t, &c, CF_OP_TEXT, (const uint8_t *)"Hello", 0, 0, 5);
        if (rc == 0) rc = close_normally(t, &c);
    }
    cf_buf_free(&out);
    cf_close(&c);
    return rc;
}

static void register_handmade(void) {
    const char *pmd = "permessage-deflate";
    add_z_script("12.6.1 rfc7692-hello", rfc_hello, M_WRITE | M_BYTES, pmd, CF_Z_DEFAULT, false);
    add_z_script("12.6.2 rfc7692-hello-two-fragments", rfc_hello_fragments, M_ALL, pmd,
                 CF_Z_DEFAULT, false);
    add_z_script("12.6.3 rfc7692-stored-block", rfc_stored, M_WRITE | M_BYTES, pmd, CF_Z_DEFAULT,
                 false);
    add_z_script("12.6.4 rfc7692-bfinal", rfc_bfinal, M_WRITE | M_FRAMES, pmd, CF_Z_DEFAULT, false);
    add_z_script("12.6.5 rfc7692-two-blocks", rfc_two_blocks, M_WRITE | M_BYTES, pmd, CF_Z_DEFAULT,
                 false);
    add_deflate(pmd, true, CF_Z_DEFAULT, cf_add("12.6.6 rfc7692-takeover"))->fn = rfc_takeover;
    add_z_script("12.6.7 empty-messages", empty_messages, M_WRITE | M_BYTES, pmd, CF_Z_DEFAULT,
                 false);
    add_z_script("12.6.8 empty-frames-around-compressed-data", empty_first_frame, M_ALL, pmd,
                 CF_Z_DEFAULT, false);
    add_z_script("12.6.9 ping-between-compressed-fragments", ping_between, M_ALL, pmd, CF_Z_DEFAULT,
                 false);
    add_z_script("12.6.10 plain-between-compressed", plain_between, M_WRITE | M_FRAMES, pmd,
                 CF_Z_DEFAULT, false);

    /* A sync flush after every input byte: a block per byte, then the
     * same cut into 1-byte frames. */
    struct cf_steps s = { 0 };
    for (int cut = 0; cut < 2; cut++) {
        cf_push(&s, (struct cf_step){ .kind = ST_SEND_Z,
                                      .b0 = CF_OP_TEXT,
                                      .pat = CF_PAT_WORDS,
                                      .len = 512,
                                      .zflush = 1,
                                      .aux = cut });
        cf_push(&s, (struct cf_step){
                        .kind = ST_MSG, .b0 = CF_OP_TEXT, .pat = CF_PAT_WORDS, .len = 512 });
    }
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    add_z_script("12.6.11 sync-flush-after-every-byte", cf_steps_end(&s), M_WRITE, pmd,
                 CF_Z_DEFAULT, false);

    /* Every length 0..200, compressed, on one connection: across the
     * server's threshold for compressing its echo. */
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t n = 0; n <= 200; n++)
            cf_push(&s, (struct cf_step){ .kind = pass ? ST_MSG : ST_SEND_Z,
                                          .b0 = CF_OP_TEXT,
                                          .pat = CF_PAT_WORDS,
                                          .pat_off = n * 50,
                                          .len = n });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    add_z_script("12.6.12 lengths-0-to-200", cf_steps_end(&s), M_WRITE | M_BYTES, pmd, CF_Z_DEFAULT,
                 false);
}

/* ---- 13: parameters ---------------------------------------------------------- */

static const struct offer13 {
    const char *name;
    const char *offer;
} offers13[] = {
    { "default", "permessage-deflate" },
    { "cmwb", "permessage-deflate; client_max_window_bits" },
    { "cmwb-8", "permessage-deflate; client_max_window_bits=8" },
    { "cmwb-9", "permessage-deflate; client_max_window_bits=9" },
    { "cmwb-10", "permessage-deflate; client_max_window_bits=10" },
    { "cmwb-11", "permessage-deflate; client_max_window_bits=11" },
    { "cmwb-12", "permessage-deflate; client_max_window_bits=12" },
    { "cmwb-13", "permessage-deflate; client_max_window_bits=13" },
    { "cmwb-14", "permessage-deflate; client_max_window_bits=14" },
    { "cmwb-15", "permessage-deflate; client_max_window_bits=15" },
    { "smwb-8", "permessage-deflate; server_max_window_bits=8" },
    { "smwb-9", "permessage-deflate; server_max_window_bits=9" },
    { "smwb-12", "permessage-deflate; server_max_window_bits=12" },
    { "smwb-15", "permessage-deflate; server_max_window_bits=15" },
    { "snct", "permessage-deflate; server_no_context_takeover" },
    { "cnct", "permessage-deflate; client_no_context_takeover" },
    { "snct-cnct", "permessage-deflate; server_no_context_takeover; client_no_context_takeover" },
    { "smwb-10-cmwb-10",
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10" },
    { "all-9", "permessage-deflate; client_max_window_bits=9; server_max_window_bits=9; "
               "client_no_context_takeover; server_no_context_takeover" },
    { "smwb-8-cmwb", "permessage-deflate; server_max_window_bits=8; client_max_window_bits" },
    { "snct-smwb-11", "permessage-deflate; server_no_context_takeover; server_max_window_bits=11" },
    { "cnct-cmwb-12", "permessage-deflate; client_no_context_takeover; client_max_window_bits=12" },
    { "quoted-values", "permessage-deflate; server_max_window_bits=\"10\"; "
                       "client_max_window_bits=\"11\"" },
    { "spaces", "permessage-deflate ;  client_max_window_bits = 10 ;server_no_context_takeover" },
    /* Several offers: the server takes the first it accepts. */
    { "list-first-invalid", "permessage-deflate; server_max_window_bits=7, "
                            "permessage-deflate; client_max_window_bits=9" },
    { "list-first-unknown-param", "permessage-deflate; no_such_param, "
                                  "permessage-deflate; server_no_context_takeover" },
    { "list-other-extension-first", "x-webkit-deflate-frame, "
                                    "permessage-deflate; client_max_window_bits=10" },
    { "list-three", "permessage-deflate; client_no_context_takeover; client_max_window_bits=8, "
                    "permessage-deflate; client_no_context_takeover, permessage-deflate" },
    { "two-headers-first-invalid", "permessage-deflate; server_max_window_bits=16\n"
                                   "permessage-deflate; server_max_window_bits=9" },
    { "two-headers-other-first", "x-foo; bar=baz\n"
                                 "permessage-deflate; client_no_context_takeover; "
                                 "server_max_window_bits=12" },
};

/* 13.N.1: a chat: 300 JSON messages of 1-3 records, sent 30 at a time;
 * one in ten plain, one in ten cut at odd points. */
static const struct cf_step *chat_steps(void) {
    struct cf_steps s = { 0 };
    uint64_t rec = 0, starts[30], lens[30];
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t k = i % 30, n = 128 * (1 + (i * 7 + i / 3) % 3);
        starts[k] = rec * 128;
        lens[k] = n;
        rec += n / 128;
        int form = i % 10 == 4 ? F_PLAIN : i % 10 == 7 ? F_Z_FRAMES : F_Z;
        push_send(&s, CF_OP_TEXT, CF_PAT_JSON, starts[k], n, form, 1 + 2 * (i % 50));
        if (k == 29)
            for (uint64_t j = 0; j < 30; j++)
                cf_push(&s, (struct cf_step){ .kind = ST_MSG,
                                              .b0 = CF_OP_TEXT,
                                              .pat = CF_PAT_JSON,
                                              .pat_off = starts[j],
                                              .len = lens[j] });
    }
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

/* 13.N.2: 200 tiny messages (0..63 bytes), under the server's threshold. */
static const struct cf_step *tiny_steps(void) {
    struct cf_steps s = { 0 };
    for (uint64_t g = 0; g < 200; g += 50)
        for (int pass = 0; pass < 2; pass++)
            for (uint64_t i = g; i < g + 50; i++)
                cf_push(&s, (struct cf_step){ .kind = pass ? ST_MSG : ST_SEND_Z,
                                              .b0 = CF_OP_TEXT,
                                              .pat = CF_PAT_WORDS,
                                              .pat_off = i * 64,
                                              .len = (i * 37) % 64 });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

/* A run with the 12.x forms, message i of pattern pats[i % npats] (text,
 * or binary for the binary patterns). */
static const struct cf_step *mixed_steps(const int *pats, size_t npats, uint64_t n, uint64_t count,
                                         uint64_t group) {
    struct cf_steps s = { 0 };
    for (uint64_t g = 0; g < count; g += group) {
        uint64_t end = g + group < count ? g + group : count;
        for (int pass = 0; pass < 2; pass++)
            for (uint64_t i = g; i < end; i++) {
                int pat = pats[i % npats];
                unsigned op =
                    pat == CF_PAT_RANDOM || pat == CF_PAT_BINARY ? CF_OP_BINARY : CF_OP_TEXT;
                if (pass)
                    cf_push(&s, (struct cf_step){ .kind = ST_MSG,
                                                  .b0 = (uint8_t)op,
                                                  .pat = pat,
                                                  .pat_off = i * n,
                                                  .len = n });
                else
                    push_send(&s, op, pat, i * n, n, form_12(i), odd_frame(i, n));
            }
    }
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    return cf_steps_end(&s);
}

static void register_parameters(void) {
    static const int p_1k[] = { CF_PAT_WORDS, CF_PAT_BINARY };
    static const int p_16k[] = { CF_PAT_JSON };
    static const int p_128k[] = { CF_PAT_WORDS, CF_PAT_UTF8 };
    static const int p_4k[] = { CF_PAT_RANDOM };
    const struct cf_step *runs[6] = {
        chat_steps(),
        tiny_steps(),
        mixed_steps(p_1k, 2, KiB, 60, 20),
        mixed_steps(p_16k, 1, 16 * KiB, 8, 4),
        mixed_steps(p_128k, 2, 128 * KiB, 2, 2),
        mixed_steps(p_4k, 1, 4 * KiB, 20, 10),
    };
    static const char *const run_names[6] = { "chat-json-300", "tiny-200",      "1KiB-60",
                                              "16KiB-json-8",  "128KiB-text-2", "4KiB-random-20" };
    static const uint64_t run_sizes[6] = { 384, 63, KiB, 16 * KiB, 128 * KiB, 4 * KiB };
    for (size_t n = 0; n < sizeof offers13 / sizeof offers13[0]; n++)
        for (size_t y = 0; y < 6; y++) {
            char id[96];
            snprintf(id, sizeof id, "13.%zu.%zu %s/%s", n + 1, y + 1, offers13[n].name,
                     run_names[y]);
            struct cf_case *c = cf_add("%s", id);
            c->steps = runs[y];
            add_deflate(offers13[n].offer, true, style_for(n + y, run_sizes[y]), c);
        }
}

/* ---- X.5: refusals ---------------------------------------------------------- */

#define PMD "permessage-deflate"

/* RFC 7692 §6.1: RSV1 on the first frame only; RFC 6455 §5.2: other RSV
 * bits fail. The ping after the bad frame must not be answered. */
static const struct cf_step rsv1_cont_compressed[] = {
    { .kind = ST_SEND_Z,
      .b0 = CF_OP_TEXT,
      .pat = CF_PAT_WORDS,
      .len = 300,
      .aux = 40,
      .zrsv = CF_RSV1 },
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv1_cont_plain[] = {
    TX(CF_OP_TEXT, "fragment1"),
    TX(CF_FIN | CF_RSV1 | CF_OP_CONT, HELLO_Z),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv1_ping[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_PING, HELLO_Z),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv1_ping_between[] = {
    TX(CF_RSV1 | CF_OP_TEXT, "\xf2\x48\xcd"),
    TX(CF_FIN | CF_RSV1 | CF_OP_PING, HELLO_Z),
    TX(CF_FIN | CF_OP_CONT, "\xc9\xc9\x07\x00"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv1_pong[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_PONG, HELLO_Z),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv1_close[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_CLOSE, "\x03\xe8"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv2_text[] = {
    TX(CF_FIN | CF_RSV2 | CF_OP_TEXT, "Hello"),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv3_binary[] = {
    TX(CF_FIN | CF_RSV3 | CF_OP_BINARY, "Hello"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv12_compressed[] = {
    { .kind = ST_SEND_Z, .b0 = CF_RSV2 | CF_OP_TEXT, .pat = CF_PAT_WORDS, .len = 300 },
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv13_compressed[] = {
    { .kind = ST_SEND_Z, .b0 = CF_RSV3 | CF_OP_BINARY, .pat = CF_PAT_BINARY, .len = 300 },
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
static const struct cf_step rsv2_cont_compressed[] = {
    { .kind = ST_SEND_Z,
      .b0 = CF_OP_BINARY,
      .pat = CF_PAT_JSON,
      .len = 1000,
      .aux = 100,
      .zrsv = CF_RSV2 },
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
/* A valid compressed message first: it must be echoed, then the 1002. */
static const struct cf_step rsv1_cont_after_valid[] = {
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, HELLO_Z),
    TX(CF_RSV1 | CF_OP_TEXT, "\xf2\x48\xcd"),
    TX(CF_FIN | CF_RSV1 | CF_OP_CONT, "\xc9\xc9\x07\x00"),
    RX(CF_OP_TEXT, "Hello"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};
/* RFC 6455 §5.4: a new message inside a fragmented one, compressed too. */
static const struct cf_step compressed_inside_compressed[] = {
    TX(CF_RSV1 | CF_OP_TEXT, "\xf2\x48\xcd"),
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, HELLO_Z),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};

/* Data that does not inflate (RFC 1951 §3.2), each after a valid message,
 * which must be echoed first: 1007 (RFC 6455 §7.4.1, "data ... not
 * consistent with the type of the message"). The valid message is plain,
 * so that the bad one is the first compressed message of the connection
 * whatever the context takeover: nothing before it to refer to. */
static const struct cf_step *bad_data(const char *data, size_t len, bool fragment_first) {
    struct cf_steps s = { 0 };
    cf_push(&s, (struct cf_step)TX(CF_FIN | CF_OP_TEXT, "Hello"));
    if (fragment_first) {
        cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                      .b0 = CF_RSV1 | CF_OP_BINARY,
                                      .data = (const uint8_t *)data,
                                      .len = len / 2 });
        cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                      .b0 = CF_FIN | CF_OP_CONT,
                                      .data = (const uint8_t *)data + len / 2,
                                      .len = len - len / 2 });
    } else {
        cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                      .b0 = CF_FIN | CF_RSV1 | CF_OP_BINARY,
                                      .data = (const uint8_t *)data,
                                      .len = len });
    }
    cf_push(&s, (struct cf_step)TX(CF_FIN | CF_OP_PING, "must not be answered"));
    cf_push(&s, (struct cf_step)RX(CF_OP_TEXT, "Hello"));
    cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_INVALID_DATA));
    return cf_steps_end(&s);
}

static const struct {
    const char *name;
    const char *data;
    size_t len;
} bad[] = {
    /* 07: BFINAL 1, BTYPE 11 (reserved, §3.2.3). */
    { "block-type-11", "\x07\x00", 2 },
    /* A stored block whose NLEN is not the complement of LEN (§3.2.4). */
    { "stored-len-nlen-mismatch",
      "\x00\x05\x00\x00\x00"
      "Hello",
      10 },
    /* RFC 7692 §7.2.3.2's second message alone: a distance of 5 with
     * nothing before it. */
    { "distance-before-start", "\xf2\x00\x11\x00\x00", 5 },
    /* Dynamic blocks with impossible code lengths. */
    { "dynamic-code-lengths-invalid", "\x05\xe0\xff\xff\xff\xff\xff\xff", 8 },
    { "dynamic-too-many-symbols", "\xed\xbf\x88\x46\x5f\x03\xad\xed", 8 },
    /* "Hello" stored, then a block of type 11. */
    { "valid-block-then-type-11",
      "\x00\x05\x00\xfa\xff"
      "Hello"
      "\x07\x00",
      12 },
    /* Stream not ending between blocks once 00 00 ff ff is appended
     * (RFC 7692 §7.2.1): a stored block of 10 bytes with 5 here (the tail
     * gives 4 more); a fixed-code block cut before its end. */
    { "stored-block-cut",
      "\x00\x0a\x00\xf5\xff"
      "Hello",
      10 },
    { "fixed-block-cut", "\xf2\x48\xcd\xc9\xc9\x07", 6 },
};

/* RFC 6455 §8.1: the text is checked once inflated. */
static const struct cf_step bad_utf8_compressed[] = {
    { .kind = ST_SEND_Z,
      .b0 = CF_OP_TEXT,
      .len = 20,
      .data = (const uint8_t *)"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                               "edited" },
    RX_CLOSE(CF_CLOSE_INVALID_DATA),
    { 0 },
};
static const struct cf_step truncated_utf8_compressed[] = {
    { .kind = ST_SEND_Z, .b0 = CF_OP_TEXT, .len = 4, .data = (const uint8_t *)"abc\xce" },
    RX_CLOSE(CF_CLOSE_INVALID_DATA),
    { 0 },
};
/* The same bytes as binary are fine. */
static const struct cf_step bad_utf8_binary_compressed[] = {
    { .kind = ST_SEND_Z,
      .b0 = CF_OP_BINARY,
      .len = 20,
      .data = (const uint8_t *)"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                               "edited" },
    { .kind = ST_MSG,
      .b0 = CF_OP_BINARY,
      .len = 20,
      .data = (const uint8_t *)"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                               "edited" },
    BYE,
    { 0 },
};

/* After one connection's message fails to inflate (1007), the next
 * connection is served as if nothing happened: whatever decoder state the
 * server keeps (a server may share one decompressor between connections
 * that reset per message) must not carry the failure over. */
static int after_failure(struct cf_ctx *t, const struct cf_case *k) {
    (void)k;
    struct cf_conn c;
    struct cf_buf out = { 0 };
    int rc = cf_open(t, &c);
    if (rc == 0) {
        cf_put_frame(t, &out, CF_FIN | CF_RSV1 | CF_OP_TEXT, 2, (const uint8_t *)"\x07\x00", 0, 0,
                     2, true);
        rc = cf_write(t, &c, out.p, out.len, 0, 0);
    }
    if (rc == 0) rc = cf_expect_close(t, &c, CF_CLOSE_INVALID_DATA);
    cf_close(&c);
    if (rc < 0) goto done;
    rc = cf_open(t, &c);
    if (rc == 0) {
        out.len = 0;
        cf_put_frame(t, &out, CF_FIN | CF_RSV1 | CF_OP_TEXT, 7, (const uint8_t *)HELLO_Z, 0, 0, 7,
                     true);
        rc = cf_write(t, &c, out.p, out.len, 0, 0);
    }
    if (rc == 0) rc = cf_expect_message(t, &c, CF_OP_TEXT, (const uint8_t *)"Hello", 0, 0, 5);
    if (rc == 0) rc = close_normally(t, &c);
    if (rc < 0) {
        size_t l = strlen(t->why);
        snprintf(t->why + l, sizeof t->why - l,
                 " (on a new connection, after another one's "
                 "1007)");
    }
    cf_close(&c);
done:
    cf_buf_free(&out);
    return rc;
}

static void register_refusals(void) {
    add_z_script("X.5.1 rsv1-on-continuation-of-compressed", rsv1_cont_compressed, M_WRITE, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.2 rsv1-on-continuation-of-plain", rsv1_cont_plain, M_WRITE | M_BYTES, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.3 rsv1-on-continuation-after-valid", rsv1_cont_after_valid, M_WRITE, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.4 rsv1-on-ping", rsv1_ping, M_WRITE | M_BYTES, PMD, CF_Z_DEFAULT, false);
    add_z_script("X.5.5 rsv1-on-ping-between-fragments", rsv1_ping_between, M_WRITE, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.6 rsv1-on-pong", rsv1_pong, M_WRITE, PMD, CF_Z_DEFAULT, false);
    add_z_script("X.5.7 rsv1-on-close", rsv1_close, M_WRITE, PMD, CF_Z_DEFAULT, false);
    add_z_script("X.5.8 rsv2-on-text", rsv2_text, M_WRITE, PMD, CF_Z_DEFAULT, false);
    add_z_script("X.5.9 rsv3-on-binary", rsv3_binary, M_WRITE, PMD, CF_Z_DEFAULT, false);
    add_z_script("X.5.10 rsv1-rsv2-on-compressed", rsv12_compressed, M_WRITE, PMD, CF_Z_DEFAULT,
                 false);
    add_z_script("X.5.11 rsv1-rsv3-on-compressed", rsv13_compressed, M_WRITE, PMD, CF_Z_DEFAULT,
                 false);
    add_z_script("X.5.12 rsv2-on-continuation-of-compressed", rsv2_cont_compressed, M_WRITE, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.13 compressed-message-inside-compressed", compressed_inside_compressed,
                 M_WRITE, PMD, CF_Z_DEFAULT, false);

    int k = 20;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char id[96];
        snprintf(id, sizeof id, "X.5.%d %s", k++, bad[i].name);
        add_z_script(id, bad_data(bad[i].data, bad[i].len, false), M_WRITE | M_BYTES, PMD,
                     CF_Z_DEFAULT, false);
        snprintf(id, sizeof id, "X.5.%d %s-in-two-fragments", k++, bad[i].name);
        add_z_script(id, bad_data(bad[i].data, bad[i].len, true), M_WRITE, PMD, CF_Z_DEFAULT,
                     false);
    }
    add_z_script("X.5.40 compressed-text-invalid-utf8", bad_utf8_compressed, M_WRITE, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.41 compressed-text-truncated-utf8", truncated_utf8_compressed, M_WRITE, PMD,
                 CF_Z_DEFAULT, false);
    add_z_script("X.5.42 compressed-binary-not-utf8-is-fine", bad_utf8_binary_compressed, M_WRITE,
                 PMD, CF_Z_DEFAULT, false);
    add_deflate("permessage-deflate; client_no_context_takeover", true, CF_Z_DEFAULT,
                cf_add("X.5.43 next-connection-served-after-a-1007"))
        ->fn = after_failure;
}

static void register_bombs(const struct cf_config *cfg) {
    /* Bombs: zeros that inflate past --max-message (§7.4.1: 1009), judged
     * as they inflate; the server may have echoed parts of the message
     * before (like 9.9.5). Zeros shrink about 1000 times (matches of
     * 258 bytes, 2 bits each; Z_RLE finds them fastest). */
    uint64_t max = cfg->max_message;
    struct cf_steps s = { 0 };
    cf_push(&s, (struct cf_step){
                    .kind = ST_SEND_Z, .b0 = CF_OP_BINARY, .pat = CF_PAT_ZERO, .len = 2 * max });
    cf_push(&s, (struct cf_step)RX_CLOSE_AFTER_PARTS(CF_CLOSE_TOO_BIG, CF_PAT_ZERO));
    add_z_script("X.7.1 bomb-zeros-2x-max-message", cf_steps_end(&s), M_WRITE, PMD, CF_Z_RLE, true);
    cf_push(
        &s,
        (struct cf_step){
            .kind = ST_SEND_Z, .b0 = CF_OP_TEXT, .pat = CF_PAT_ZERO, .len = 2 * max, .aux = 1021 });
    cf_push(&s, (struct cf_step)RX_CLOSE_AFTER_PARTS(CF_CLOSE_TOO_BIG, CF_PAT_ZERO));
    add_z_script("X.7.2 bomb-zeros-2x-max-message-in-fragments", cf_steps_end(&s), M_WRITE, PMD,
                 CF_Z_RLE, true);
    cf_push(&s, (struct cf_step){
                    .kind = ST_SEND_Z, .b0 = CF_OP_BINARY, .pat = CF_PAT_ZERO, .len = max + 1 });
    cf_push(&s, (struct cf_step)RX_CLOSE_AFTER_PARTS(CF_CLOSE_TOO_BIG, CF_PAT_ZERO));
    add_z_script("X.7.3 bomb-zeros-max-message-plus-1", cf_steps_end(&s), M_WRITE, PMD, CF_Z_RLE,
                 true);
    /* Exactly the limit once inflated is a message like any other. */
    cf_push(&s, (struct cf_step){
                    .kind = ST_SEND_Z, .b0 = CF_OP_BINARY, .pat = CF_PAT_ZERO, .len = max });
    cf_push(&s,
            (struct cf_step){ .kind = ST_MSG, .b0 = CF_OP_BINARY, .pat = CF_PAT_ZERO, .len = max });
    cf_push(&s, (struct cf_step){ .kind = ST_BYE });
    add_z_script("X.7.4 zeros-exactly-max-message", cf_steps_end(&s), M_WRITE, PMD, CF_Z_RLE, true);
}

/* ---- X.6: declined offers ------------------------------------------------------ */

/* Offers the server must decline (RFC 7692 §5), or that are not
 * permessage-deflate at all: no extension in the response, so RSV1 is
 * an error again (RFC 6455 §5.2). A plain message still works. */
static const char *const declined[] = {
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=08",
    "permessage-deflate; server_max_window_bits=abc",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=\"\"",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover=\"true\"",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; no_such_param",
    "permessage-deflate; server_max_window_bits=10; max_window_bits=10",
    "permessage-deflate;",
    "permessage-deflate; =10",
    "permessage-deflate; server_max_window_bits=\"10",
    "permessage-deflate; server_max_window_bits=1 0",
    "permessage-deflate server_no_context_takeover",
    "\"permessage-deflate\"",
    "x-webkit-deflate-frame",
    "permessage-deflat",
    "permessage-deflate-x",
    "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=0\npermessage-deflate; unknown",
};

static const struct cf_step declined_steps[] = {
    TX(CF_FIN | CF_OP_TEXT, "plain"),
    TX(CF_FIN | CF_RSV1 | CF_OP_TEXT, HELLO_Z),
    TX(CF_FIN | CF_OP_PING, "must not be answered"),
    RX(CF_OP_TEXT, "plain"),
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};

/* The same with a message our own compressor made (script.c compresses it
 * even though nothing was agreed). */
static const struct cf_step declined_zlib_steps[] = {
    { .kind = ST_SEND_Z, .b0 = CF_OP_TEXT, .pat = CF_PAT_WORDS, .len = 1000 },
    RX_CLOSE(CF_CLOSE_PROTOCOL),
    { 0 },
};

static void register_declined(void) {
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        struct cf_case *c = cf_add("X.6.%zu declined: %s", i + 1, declined[i]);
        /* An id is one line. */
        for (char *p = c->id; *p; p++)
            if (*p == '\n') *p = '|';
        c->steps = declined_steps;
        add_deflate(declined[i], false, CF_Z_DEFAULT, c);
    }
    struct cf_case *c =
        cf_add("X.6.%zu declined-then-zlib-message", sizeof declined / sizeof declined[0] + 1);
    c->steps = declined_zlib_steps;
    add_deflate(declined[0], false, CF_Z_DEFAULT, c);
    c = cf_add("X.6.%zu no-offer-then-zlib-message", sizeof declined / sizeof declined[0] + 2);
    c->steps = declined_zlib_steps;
}

void cf_register_deflate(const struct cf_config *cfg) {
    register_payloads();
    register_handmade();
    register_parameters();
    register_refusals();
    register_declined();
    register_bombs(cfg);
}

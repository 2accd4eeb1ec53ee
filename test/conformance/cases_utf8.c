/*
 * cases_utf8.c -- Autobahn section 6 (UTF-8 handling).
 *
 * RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8
 * but finds that the byte stream is not, in fact, a valid UTF-8 stream,
 * that endpoint MUST _Fail the WebSocket Connection_", with 1007 (§7.4.1).
 * §5.6: the text of a fragmented message may split a character anywhere;
 * only the whole message has to be UTF-8.
 *
 * The vectors are those of Markus Kuhn's "UTF-8 decoder capability and
 * stress test" as Autobahn numbers them (6.5 - 6.23), plus Autobahn's own
 * 6.1 - 6.4. Each carries a hand-written verdict, which is cross-checked
 * at start-up against the driver's UTF-8 checker (wire.c), so a mistake in
 * either one stops the driver instead of passing a wrong server.
 *
 * For every vector:
 *   /frame              one text frame, one write;
 *   /frame-bytes        the same frame, one byte per write;
 *   /split@K            two fragments, cut after byte K (every K);
 *   /fragment-per-byte  one fragment per byte;
 * valid text must come back as one text message, invalid text must get a
 * close 1007. For invalid text that a byte proves invalid before its end,
 * also (fail-fast, as Autobahn 6.4 checks):
 *   /fail-fast          a frame header declaring the whole length, then the
 *                       payload only up to and including the first invalid
 *                       byte, and nothing more: the 1007 must come anyway;
 *   /fail-fast-fragment a FIN-clear fragment ending at the invalid byte.
 */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vec {
    const char *id;
    const char *name;
    const uint8_t *p;
    size_t n;
    bool valid;
};

#define V(id, name, s)                                                                             \
    { id, name, (const uint8_t *)(s), sizeof(s) - 1, true }
#define I(id, name, s)                                                                             \
    { id, name, (const uint8_t *)(s), sizeof(s) - 1, false }

/* κόσμε, Kuhn's §1 sample, Greek "kosme". */
#define KOSME "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

static const struct vec fixed[] = {
    V("6.1.1", "empty", ""),
    V("6.2.1", "hello-utf8",
      "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"),
    I("6.3.1", "kosme-surrogate-edited",
      KOSME "\xed\xa0\x80"
            "edited"),
    I("6.4.1", "kosme-above-max-edited",
      KOSME "\xf4\x90\x80\x80"
            "edited"),
    I("6.4.2", "kosme-bad-continuation-edited",
      KOSME "\xce"
            "edited"),
    V("6.5.1", "kosme", KOSME),
    /* Kuhn 2.1: first possible sequence of each length */
    V("6.7.1", "first-1-byte-U+0000", "\x00"),
    V("6.7.2", "first-2-byte-U+0080", "\xc2\x80"),
    V("6.7.3", "first-3-byte-U+0800", "\xe0\xa0\x80"),
    V("6.7.4", "first-4-byte-U+10000", "\xf0\x90\x80\x80"),
    I("6.8.1", "first-5-byte", "\xf8\x88\x80\x80\x80"),
    I("6.8.2", "first-6-byte", "\xfc\x84\x80\x80\x80\x80"),
    /* Kuhn 2.2: last possible sequence of each length */
    V("6.9.1", "last-1-byte-U+007F", "\x7f"),
    V("6.9.2", "last-2-byte-U+07FF", "\xdf\xbf"),
    V("6.9.3", "last-3-byte-U+FFFF", "\xef\xbf\xbf"),
    V("6.9.4", "last-valid-U+10FFFF", "\xf4\x8f\xbf\xbf"),
    I("6.10.1", "last-4-byte-U+1FFFFF", "\xf7\xbf\xbf\xbf"),
    I("6.10.2", "last-5-byte", "\xfb\xbf\xbf\xbf\xbf"),
    I("6.10.3", "last-6-byte", "\xfd\xbf\xbf\xbf\xbf\xbf"),
    /* Kuhn 2.3: other boundary conditions */
    V("6.11.1", "U+D7FF", "\xed\x9f\xbf"),
    V("6.11.2", "U+E000", "\xee\x80\x80"),
    V("6.11.3", "U+FFFD", "\xef\xbf\xbd"),
    V("6.11.4", "U+10FFFF", "\xf4\x8f\xbf\xbf"),
    I("6.11.5", "U+110000", "\xf4\x90\x80\x80"),
    /* Kuhn 3.1: unexpected continuation bytes */
    I("6.12.1", "continuation-80", "\x80"),
    I("6.12.2", "continuation-bf", "\xbf"),
    I("6.12.3", "continuation-2", "\x80\xbf"),
    I("6.12.4", "continuation-3", "\x80\xbf\x80"),
    I("6.12.5", "continuation-4", "\x80\xbf\x80\xbf"),
    I("6.12.6", "continuation-5", "\x80\xbf\x80\xbf\x80"),
    I("6.12.7", "continuation-6", "\x80\xbf\x80\xbf\x80\xbf"),
    I("6.12.8", "continuation-7", "\x80\xbf\x80\xbf\x80\xbf\x80"),
    /* Kuhn 3.3: sequences with the last continuation byte missing */
    I("6.14.1", "missing-last-2-byte-U+0000", "\xc0"),
    I("6.14.2", "missing-last-3-byte-U+0000", "\xe0\x80"),
    I("6.14.3", "missing-last-4-byte-U+0000", "\xf0\x80\x80"),
    I("6.14.4", "missing-last-5-byte-U+0000", "\xf8\x80\x80\x80"),
    I("6.14.5", "missing-last-6-byte-U+0000", "\xfc\x80\x80\x80\x80"),
    I("6.14.6", "missing-last-2-byte-U+07FF", "\xdf"),
    I("6.14.7", "missing-last-3-byte-U+FFFF", "\xef\xbf"),
    I("6.14.8", "missing-last-4-byte-U+1FFFFF", "\xf7\xbf\xbf"),
    I("6.14.9", "missing-last-5-byte", "\xfb\xbf\xbf\xbf"),
    I("6.14.10", "missing-last-6-byte", "\xfd\xbf\xbf\xbf\xbf"),
    /* Kuhn 3.4: all of 3.3 concatenated */
    I("6.15.1", "incomplete-concatenated",
      "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"
      "\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"),
    /* Kuhn 3.5: impossible bytes */
    I("6.16.1", "impossible-fe", "\xfe"),
    I("6.16.2", "impossible-ff", "\xff"),
    I("6.16.3", "impossible-fefeffff", "\xfe\xfe\xff\xff"),
    /* Kuhn 4.1: overlong "/" */
    I("6.17.1", "overlong-slash-2", "\xc0\xaf"),
    I("6.17.2", "overlong-slash-3", "\xe0\x80\xaf"),
    I("6.17.3", "overlong-slash-4", "\xf0\x80\x80\xaf"),
    I("6.17.4", "overlong-slash-5", "\xf8\x80\x80\x80\xaf"),
    I("6.17.5", "overlong-slash-6", "\xfc\x80\x80\x80\x80\xaf"),
    /* Kuhn 4.2: maximum overlong sequences */
    I("6.18.1", "max-overlong-2", "\xc1\xbf"),
    I("6.18.2", "max-overlong-3", "\xe0\x9f\xbf"),
    I("6.18.3", "max-overlong-4", "\xf0\x8f\xbf\xbf"),
    I("6.18.4", "max-overlong-5", "\xf8\x87\xbf\xbf\xbf"),
    I("6.18.5", "max-overlong-6", "\xfc\x83\xbf\xbf\xbf\xbf"),
    /* Kuhn 4.3: overlong NUL */
    I("6.19.1", "overlong-nul-2", "\xc0\x80"),
    I("6.19.2", "overlong-nul-3", "\xe0\x80\x80"),
    I("6.19.3", "overlong-nul-4", "\xf0\x80\x80\x80"),
    I("6.19.4", "overlong-nul-5", "\xf8\x80\x80\x80\x80"),
    I("6.19.5", "overlong-nul-6", "\xfc\x80\x80\x80\x80\x80"),
    /* Kuhn 5.1: single UTF-16 surrogates */
    I("6.20.1", "surrogate-U+D800", "\xed\xa0\x80"),
    I("6.20.2", "surrogate-U+DB7F", "\xed\xad\xbf"),
    I("6.20.3", "surrogate-U+DB80", "\xed\xae\x80"),
    I("6.20.4", "surrogate-U+DBFF", "\xed\xaf\xbf"),
    I("6.20.5", "surrogate-U+DC00", "\xed\xb0\x80"),
    I("6.20.6", "surrogate-U+DF80", "\xed\xbe\x80"),
    I("6.20.7", "surrogate-U+DFFF", "\xed\xbf\xbf"),
    /* Kuhn 5.2: paired UTF-16 surrogates */
    I("6.21.1", "surrogates-D800-DC00", "\xed\xa0\x80\xed\xb0\x80"),
    I("6.21.2", "surrogates-D800-DFFF", "\xed\xa0\x80\xed\xbf\xbf"),
    I("6.21.3", "surrogates-DB7F-DC00", "\xed\xad\xbf\xed\xb0\x80"),
    I("6.21.4", "surrogates-DB7F-DFFF", "\xed\xad\xbf\xed\xbf\xbf"),
    I("6.21.5", "surrogates-DB80-DC00", "\xed\xae\x80\xed\xb0\x80"),
    I("6.21.6", "surrogates-DB80-DFFF", "\xed\xae\x80\xed\xbf\xbf"),
    I("6.21.7", "surrogates-DBFF-DC00", "\xed\xaf\xbf\xed\xb0\x80"),
    I("6.21.8", "surrogates-DBFF-DFFF", "\xed\xaf\xbf\xed\xbf\xbf"),
};

/* Cases for one vector. */
static void add_vector(const char *id, const char *name, const uint8_t *p, size_t n, bool valid) {
    size_t at;
    int verdict = cf_utf8_check(p, n, &at);
    if ((verdict == CF_UTF8_OK) != valid) {
        fprintf(stderr,
                "conformance: UTF-8 vector %s %s is labelled %s but the checker "
                "says otherwise; fix one of them\n",
                id, name, valid ? "valid" : "invalid");
        exit(2);
    }
    const uint8_t *data = cf_keep(p, n);
    struct cf_steps s = { 0 };
    struct cf_step expect =
        valid ? (struct cf_step){ .kind = ST_MSG, .b0 = CF_OP_TEXT, .data = data, .len = n }
              : (struct cf_step)RX_CLOSE(CF_CLOSE_INVALID_DATA);
    char full[96];

    /* One frame. */
    cf_push(&s,
            (struct cf_step){ .kind = ST_SEND, .b0 = CF_FIN | CF_OP_TEXT, .data = data, .len = n });
    cf_push(&s, expect);
    if (valid) cf_push(&s, (struct cf_step)BYE);
    const struct cf_step *one = cf_steps_end(&s);
    snprintf(full, sizeof full, "%s %s/frame", id, name);
    cf_add_script(full, one, M_WRITE);
    if (n > 1) {
        struct cf_case *c = cf_add("%s %s/frame-bytes", id, name);
        c->steps = one;
        c->mode = MODE_BYTES;
    }

    /* Two fragments, cut at every byte boundary. */
    for (size_t k = 1; k < n; k++) {
        cf_push(&s, (struct cf_step){ .kind = ST_SEND, .b0 = CF_OP_TEXT, .data = data, .len = k });
        cf_push(&s,
                (struct cf_step){
                    .kind = ST_SEND, .b0 = CF_FIN | CF_OP_CONT, .data = data + k, .len = n - k });
        cf_push(&s, expect);
        if (valid) cf_push(&s, (struct cf_step)BYE);
        snprintf(full, sizeof full, "%s %s/split@%zu", id, name, k);
        cf_add_script(full, cf_steps_end(&s), M_WRITE);
    }

    /* One fragment per byte. */
    if (n > 2) {
        for (size_t k = 0; k < n; k++)
            cf_push(&s, (struct cf_step){ .kind = ST_SEND,
                                          .b0 = (uint8_t)((k ? CF_OP_CONT : CF_OP_TEXT) |
                                                          (k + 1 == n ? CF_FIN : 0)),
                                          .data = data + k,
                                          .len = 1 });
        cf_push(&s, expect);
        if (valid) cf_push(&s, (struct cf_step)BYE);
        snprintf(full, sizeof full, "%s %s/fragment-per-byte", id, name);
        cf_add_script(full, cf_steps_end(&s), M_WRITE | M_FRAMES);
    }

    if (verdict != CF_UTF8_BAD) return;
    /* Fail-fast: stop sending right after the byte that proves it. */
    if (at + 1 < n) {
        cf_push(&s, (struct cf_step){ .kind = ST_SEND_PART,
                                      .b0 = CF_FIN | CF_OP_TEXT,
                                      .data = data,
                                      .len = n,
                                      .aux = (int64_t)(at + 1) });
        cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_INVALID_DATA));
        snprintf(full, sizeof full, "%s %s/fail-fast", id, name);
        cf_add_script(full, cf_steps_end(&s), M_WRITE);
    }
    cf_push(&s, (struct cf_step){ .kind = ST_SEND, .b0 = CF_OP_TEXT, .data = data, .len = at + 1 });
    cf_push(&s, (struct cf_step)RX_CLOSE(CF_CLOSE_INVALID_DATA));
    snprintf(full, sizeof full, "%s %s/fail-fast-fragment", id, name);
    cf_add_script(full, cf_steps_end(&s), M_WRITE);
}

static void add_fixed(const struct vec *v) { add_vector(v->id, v->name, v->p, v->n, v->valid); }

void cf_register_utf8(const struct cf_config *cfg) {
    (void)cfg;
    uint8_t buf[128];
    char id[32];
    size_t nfixed = sizeof fixed / sizeof fixed[0];

    /* 6.1: empty payloads in fragments (the one-frame 6.1.1 is a vector). */
    static const struct cf_step empty_frags[] = {
        TX(CF_OP_TEXT, ""),
        TX(CF_OP_CONT, ""),
        TX(CF_FIN | CF_OP_CONT, ""),
        RX(CF_OP_TEXT, ""),
        BYE,
        { 0 },
    };
    static const struct cf_step empty_frags_middle[] = {
        TX(CF_OP_TEXT, ""),
        TX(CF_OP_CONT, "middle frame payload"),
        TX(CF_FIN | CF_OP_CONT, ""),
        RX(CF_OP_TEXT, "middle frame payload"),
        BYE,
        { 0 },
    };
    static const struct cf_step fail_fast_across_fragments[] = {
        /* valid first fragment, the invalid byte in the second (still FIN
         * clear): the close must come without a third fragment. */
        TX(CF_OP_TEXT, KOSME),
        TX(CF_OP_CONT, "\xf4\x90"),
        RX_CLOSE(CF_CLOSE_INVALID_DATA),
        { 0 },
    };
    static const struct cf_step invalid_then_ping[] = {
        TX(CF_FIN | CF_OP_TEXT, KOSME "\xed\xa0\x80"
                                      "edited"),
        TX(CF_FIN | CF_OP_PING, "no pong"),
        RX_CLOSE(CF_CLOSE_INVALID_DATA),
        { 0 },
    };
    static const struct cf_step binary_not_checked[] = {
        /* Binary messages are not text: no UTF-8 check (§5.6). */
        TX(CF_FIN | CF_OP_BINARY, "\xed\xa0\x80\xff\xfe\xc0\xaf"),
        RX(CF_OP_BINARY, "\xed\xa0\x80\xff\xfe\xc0\xaf"),
        BYE,
        { 0 },
    };
    cf_add_script("6.1.2 empty-fragments", empty_frags, M_WRITE | M_FRAMES);
    cf_add_script("6.1.3 empty-fragments-nonempty-middle", empty_frags_middle, M_WRITE | M_FRAMES);
    cf_add_script("6.4.5 fail-fast-across-fragments", fail_fast_across_fragments, M_WRITE);
    cf_add_script("6.3.2 invalid-then-ping", invalid_then_ping, M_WRITE);
    cf_add_script("6.24.1 binary-is-not-utf8-checked", binary_not_checked, M_WRITE);

    /* The table in order, with the generated vectors at their places. */
    for (size_t i = 0; i < nfixed; i++) {
        add_fixed(&fixed[i]);
        if (strcmp(fixed[i].id, "6.5.1") == 0) {
            /* 6.6: every prefix of κόσμε; valid only where a character ends. */
            static const uint8_t kosme[] = KOSME;
            for (size_t n = 1; n <= sizeof kosme - 1; n++) {
                size_t at;
                snprintf(id, sizeof id, "6.6.%zu", n);
                add_vector(id, "kosme-prefix", kosme, n,
                           cf_utf8_check(kosme, n, &at) == CF_UTF8_OK);
            }
        } else if (strcmp(fixed[i].id, "6.12.8") == 0) {
            /* 6.12.9: all 64 possible continuation bytes. */
            for (int b = 0; b < 64; b++) buf[b] = (uint8_t)(0x80 + b);
            add_vector("6.12.9", "all-continuation-bytes", buf, 64, false);
            /* 6.13: lonely start bytes, each followed by a space. */
            static const struct {
                int first, last;
                const char *name;
            } starts[] = {
                { 0xC0, 0xDF, "lonely-2-byte-starts" }, { 0xE0, 0xEF, "lonely-3-byte-starts" },
                { 0xF0, 0xF7, "lonely-4-byte-starts" }, { 0xF8, 0xFB, "lonely-5-byte-starts" },
                { 0xFC, 0xFD, "lonely-6-byte-starts" },
            };
            for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
                size_t n = 0;
                for (int b = starts[k].first; b <= starts[k].last; b++) {
                    buf[n++] = (uint8_t)b;
                    buf[n++] = ' ';
                }
                snprintf(id, sizeof id, "6.13.%zu", k + 1);
                add_vector(id, starts[k].name, buf, n, false);
            }
        }
    }

    /* 6.22: noncharacters are valid UTF-8 (Unicode Corrigendum #9):
     * U+FFFE, U+FFFF, U+nFFFE and U+nFFFF of planes 1-16, U+FDD0..U+FDEF. */
    int k = 0;
    for (uint32_t plane = 0; plane <= 16; plane++)
        for (uint32_t low = 0xFFFE; low <= 0xFFFF; low++) {
            size_t n = cf_utf8_encode(plane << 16 | low, buf);
            snprintf(id, sizeof id, "6.22.%d", ++k);
            add_vector(id, "noncharacter", buf, n, true);
        }
    size_t n = 0;
    for (uint32_t cp = 0xFDD0; cp <= 0xFDEF; cp++) n += cf_utf8_encode(cp, buf + n);
    snprintf(id, sizeof id, "6.22.%d", ++k);
    add_vector(id, "noncharacters-FDD0-FDEF", buf, n, true);

    /* 6.23: specials U+FFF9..U+FFFD and the BOM U+FEFF are valid. */
    static const uint32_t specials[] = { 0xFFF9, 0xFFFA, 0xFFFB, 0xFFFC, 0xFFFD, 0xFEFF };
    for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++) {
        n = cf_utf8_encode(specials[s], buf);
        snprintf(id, sizeof id, "6.23.%zu", s + 1);
        add_vector(id, "special", buf, n, true);
    }
    /* 6.23.7: one character of every encoded length, twice. */
    n = 0;
    static const uint32_t mix[] = { 0x24, 0xA2, 0x20AC, 0x10348, 0x7F, 0x7FF, 0xFFFD, 0x10FFFF };
    for (size_t s = 0; s < sizeof mix / sizeof mix[0]; s++) n += cf_utf8_encode(mix[s], buf + n);
    add_vector("6.23.7", "all-lengths-mixed", buf, n, true);
}

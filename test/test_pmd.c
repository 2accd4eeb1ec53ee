/*
 * test_pmd.c -- permessage-deflate negotiation (pmd.h): which offer is
 * accepted and which are declined (RFC 7692 §5, §7.1), fed whole and at
 * every split point; the agreed parameters and the response header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pmd.h"
#include "testutil.h"

#include <string.h>

/* The result of feeding one header value, as pieces. */
typedef struct result {
    int found;
    ws_pmd_offer offer;
} result;

static void run_pieces(void *ctx, const uint8_t *const *pieces, const size_t *lens, size_t n) {
    result *r = ctx;
    ws_pmd_parser p;
    ws_pmd_parser_init(&p);
    ws_pmd_header_begin(&p);
    for (size_t i = 0; i < n; i++) ws_pmd_feed(&p, pieces[i], lens[i]);
    ws_pmd_header_end(&p);
    r->found = ws_pmd_offered(&p, &r->offer);
    if (!r->found) memset(&r->offer, 0, sizeof(r->offer));
}

/* Feed value whole, byte by byte and at every split: always the same
 * result, which is returned. */
static result parse(const char *value) {
    result whole, other;
    size_t len = strlen(value);
    tu_chunks(value, len, len ? len : 1, run_pieces, &whole);
    tu_chunks(value, len, 1, run_pieces, &other);
    assert_int_equal(other.found, whole.found);
    assert_memory_equal(&other.offer, &whole.offer, sizeof(whole.offer));
    tu_for_each_split(value, len, run_pieces, &other);
    assert_int_equal(other.found, whole.found);
    assert_memory_equal(&other.offer, &whole.offer, sizeof(whole.offer));
    return whole;
}

#define ACCEPT(value, snct, cnct, smwb, cmwb)                                                      \
    do {                                                                                           \
        result r_ = parse(value);                                                                  \
        if (!r_.found) fail_msg("declined: %s", value);                                            \
        assert_int_equal(r_.offer.server_no_context_takeover, snct);                               \
        assert_int_equal(r_.offer.client_no_context_takeover, cnct);                               \
        assert_int_equal(r_.offer.server_max_window_bits, smwb);                                   \
        assert_int_equal(r_.offer.client_max_window_bits, cmwb);                                   \
    } while (0)

#define DECLINE(value)                                                                             \
    do {                                                                                           \
        if (parse(value).found) fail_msg("accepted: %s", value);                                   \
    } while (0)

static void test_offers_browsers_and_libraries_send(void **state) {
    (void)state;
    /* Firefox */
    ACCEPT("permessage-deflate", 0, 0, 0, 0);
    /* Chromium, Node's ws */
    ACCEPT("permessage-deflate; client_max_window_bits", 0, 0, 0, 1);
    /* Python's websockets: 10.x (Debian 12) sends the Chromium form above;
     * later versions send this */
    ACCEPT("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", 0, 0, 12,
           12);
    ACCEPT("permessage-deflate; server_no_context_takeover; client_no_context_takeover", 1, 1, 0,
           0);
}

static void test_syntax_variants(void **state) {
    (void)state;
    ACCEPT("permessage-deflate; server_max_window_bits=\"10\"", 0, 0, 10, 0);
    ACCEPT("permessage-deflate; client_max_window_bits=\"1\\5\"", 0, 0, 0, 15);
    ACCEPT("PerMessage-Deflate; Client_Max_Window_Bits; SERVER_NO_CONTEXT_TAKEOVER", 1, 0, 0, 1);
    ACCEPT("  permessage-deflate ;client_max_window_bits = 10 ,foo", 0, 0, 0, 10);
    ACCEPT(", ,permessage-deflate,,", 0, 0, 0, 0);
    ACCEPT("permessage-deflate\t;\tserver_max_window_bits=8", 0, 0, 8, 0);
}

static void test_first_acceptable_offer_wins(void **state) {
    (void)state;
    ACCEPT("permessage-deflate; server_max_window_bits=10, permessage-deflate", 0, 0, 10, 0);
    ACCEPT("permessage-deflate; server_max_window_bits=7, permessage-deflate; "
           "server_max_window_bits=9",
           0, 0, 9, 0);
    ACCEPT("x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover", 0, 1, 0, 0);
    ACCEPT("foo; bar=\"a,b;c\", permessage-deflate", 0, 0, 0, 0);
    ACCEPT("permessage-deflate; unknown, permessage-deflate; client_max_window_bits", 0, 0, 0, 1);
    ACCEPT("permessage-deflate; \"quoted\", permessage-deflate; server_no_context_takeover", 1, 0,
           0, 0);
}

static void test_declined(void **state) {
    (void)state;
    DECLINE("");
    DECLINE("x-webkit-deflate-frame");
    DECLINE("permessage-deflatex");
    DECLINE("permessage-deflat");
    DECLINE("permessage-deflate; foo"); /* unknown */
    DECLINE("permessage-deflate; server_no_context_takeover; server_no_context_takeover");
    DECLINE("permessage-deflate; server_no_context_takeover=1"); /* a value */
    DECLINE("permessage-deflate; client_no_context_takeover=\"\"");
    DECLINE("permessage-deflate; server_max_window_bits"); /* no value */
    DECLINE("permessage-deflate; server_max_window_bits=7");
    DECLINE("permessage-deflate; server_max_window_bits=16");
    DECLINE("permessage-deflate; server_max_window_bits=08"); /* leading zero */
    DECLINE("permessage-deflate; server_max_window_bits=010");
    DECLINE("permessage-deflate; client_max_window_bits=1a");
    DECLINE("permessage-deflate; client_max_window_bits=\"\"");
    DECLINE("permessage-deflate; client_max_window_bits=\"9"); /* unterminated */
    DECLINE("permessage-deflate; client_max_window_bits; client_max_window_bits=9");
    DECLINE("permessage-deflate;");
    DECLINE("permessage-deflate; =9");
    DECLINE("permessage-deflate x");
    DECLINE("permessage-deflate; server_max_window_bits=9 9");
    DECLINE("\"permessage-deflate\"");
    DECLINE("permessage-deflate; server_max_window_bits=9;");
}

/* Several headers form one list; an element never spans two. */
static void test_several_headers(void **state) {
    ws_pmd_parser p;
    ws_pmd_offer o;
    (void)state;
    ws_pmd_parser_init(&p);
    ws_pmd_header_begin(&p);
    ws_pmd_feed(&p, (const uint8_t *)"foo", 3);
    ws_pmd_header_end(&p);
    ws_pmd_header_begin(&p);
    ws_pmd_feed(&p, (const uint8_t *)"permessage-deflate; client_max_window_bits=9", 44);
    ws_pmd_header_end(&p);
    assert_true(ws_pmd_offered(&p, &o));
    assert_int_equal(o.client_max_window_bits, 9);

    ws_pmd_parser_init(&p);
    ws_pmd_header_begin(&p);
    ws_pmd_feed(&p, (const uint8_t *)"permessage-deflate; client_max_window_bits=", 43);
    ws_pmd_header_end(&p);
    ws_pmd_header_begin(&p);
    ws_pmd_feed(&p, (const uint8_t *)"10", 2);
    ws_pmd_header_end(&p);
    assert_false(ws_pmd_offered(&p, &o));
}

static void agree(const char *offer, int shared, unsigned sbits, unsigned cbits, const char *want) {
    ws_pmd_parser p;
    ws_pmd_offer o;
    ws_pmd_params a;
    ws_pmd_policy pol = { shared, sbits, cbits };
    char out[256];
    ws_pmd_parser_init(&p);
    ws_pmd_header_begin(&p);
    ws_pmd_feed(&p, (const uint8_t *)offer, strlen(offer));
    ws_pmd_header_end(&p);
    assert_true(ws_pmd_offered(&p, &o));
    ws_pmd_agree(&o, &pol, &a);
    int n = ws_pmd_write_response(&a, out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
    assert_int_equal(ws_pmd_write_response(&a, out, strlen(want)), -1); /* no room */
}

static void test_agreement_and_response(void **state) {
    (void)state;
    /* The shared mode asks both sides not to keep context. */
    agree("permessage-deflate", 1, 15, 15,
          "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
          "client_no_context_takeover\r\n");
    /* An offered server window is honoured (no larger than offered). */
    agree("permessage-deflate; server_max_window_bits=10", 1, 15, 15,
          "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
          "client_no_context_takeover; server_max_window_bits=10\r\n");
    /* Our own smaller window is announced unprompted. */
    agree("permessage-deflate", 0, 12, 15,
          "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n");
    /* The client's window can be limited only when it offered the
     * parameter, and never above its value. */
    agree("permessage-deflate; client_max_window_bits", 0, 15, 12,
          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n");
    agree("permessage-deflate; client_max_window_bits=10", 0, 15, 12,
          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n");
    agree("permessage-deflate", 0, 15, 12, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    /* A client that leaves its window to us is not given 8 bits: zlib,
     * under most clients, cannot compress with 256 bytes. One that offers
     * 8 itself gets 8. Our own side may use 8. */
    agree("permessage-deflate; client_max_window_bits", 0, 8, 8,
          "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8; "
          "client_max_window_bits=9\r\n");
    agree("permessage-deflate; client_max_window_bits=8", 0, 15, 8,
          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n");
    /* Context takeover allowed, but the client asks us not to. */
    agree("permessage-deflate; server_no_context_takeover", 0, 15, 15,
          "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offers_browsers_and_libraries_send),
        cmocka_unit_test(test_syntax_variants),
        cmocka_unit_test(test_first_acceptable_offer_wins),
        cmocka_unit_test(test_declined),
        cmocka_unit_test(test_several_headers),
        cmocka_unit_test(test_agreement_and_response),
    };
    return cmocka_run_group_tests_name("pmd", tests, NULL, NULL);
}

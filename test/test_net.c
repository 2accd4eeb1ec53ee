/*
 * test_net.c -- address ranges for --trust-proxy (CIDR, IPv4 and IPv6,
 * IPv4-mapped peers), the X-Forwarded-For address check, and printing
 * addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static struct sockaddr_storage v4(const char *a) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(5012);
    assert_int_equal(inet_pton(AF_INET, a, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *a) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(443);
    assert_int_equal(inet_pton(AF_INET6, a, &in6->sin6_addr), 1);
    return ss;
}

static int matches(const char *list, struct sockaddr_storage ss) {
    ws_cidr set[8];
    char err[128];
    int n = ws_cidr_parse_list(list, set, 8, err, sizeof(err));
    assert_true(n >= 0);
    return ws_cidr_match(set, (size_t)n, (struct sockaddr *)&ss);
}

static void test_ranges_match(void **state) {
    (void)state;
    assert_true(matches("127.0.0.0/8", v4("127.1.2.3")));
    assert_false(matches("127.0.0.0/8", v4("128.0.0.1")));
    assert_true(matches("10.0.0.1", v4("10.0.0.1")));
    assert_false(matches("10.0.0.1", v4("10.0.0.2")));
    assert_true(matches("192.168.0.0/23", v4("192.168.1.255")));
    assert_false(matches("192.168.0.0/23", v4("192.168.2.0")));
    assert_true(matches("0.0.0.0/0", v4("8.8.8.8")));
    assert_false(matches("0.0.0.0/0", v6("::1")));
    assert_true(matches("::1", v6("::1")));
    assert_true(matches("2001:db8::/32", v6("2001:db8:ffff::1")));
    assert_false(matches("2001:db8::/32", v6("2001:db9::1")));
    /* An IPv4 client as seen by a socket listening on "::". */
    assert_true(matches("127.0.0.0/8", v6("::ffff:127.0.0.1")));
    assert_true(matches("::ffff:10.0.0.0/104", v4("10.9.9.9")));
    assert_true(matches("10.0.0.0/8,::1,127.0.0.1", v6("::1")));
    assert_false(matches("", v4("127.0.0.1")));
}

static void test_bad_lists_refused(void **state) {
    static const char *const bad[] = {
        "notanip",   "10.0.0.0/33", "::1/129",   "10.0.0.1/8",     "10.0.0.0/-1",
        "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0,", ",10.0.0.0",      "10.0.0.0,,::1",
        " 10.0.0.1", "localhost",   "1.2.3.4.5", "2001:db8::1/32",
    };
    ws_cidr set[4];
    char err[128];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (ws_cidr_parse_list(bad[i], set, 4, err, sizeof(err)) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(ws_cidr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", set, 2, err, sizeof(err)), -1);
    assert_int_equal(ws_cidr_parse_list(NULL, set, 2, err, sizeof(err)), 0);
}

static void test_forwarded_for_must_be_an_address(void **state) {
    (void)state;
    assert_true(ws_ip_valid("203.0.113.7"));
    assert_true(ws_ip_valid("2001:db8::1"));
    assert_false(ws_ip_valid(""));
    assert_false(ws_ip_valid("unknown"));
    assert_false(ws_ip_valid("203.0.113.7:80"));
    assert_false(ws_ip_valid("[2001:db8::1]"));
    assert_false(ws_ip_valid("1.2.3.4\n"));
}

static void test_format(void **state) {
    char out[WS_ADDR_TEXT];
    struct sockaddr_storage a = v4("127.0.0.1"), b = v6("::1");
    (void)state;
    ws_addr_format((struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:5012");
    ws_addr_format((struct sockaddr *)&b, out, sizeof(out));
    assert_string_equal(out, "[::1]:443");
    struct sockaddr_storage c = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ws_addr_format((struct sockaddr *)&c, out, sizeof(out));
    assert_string_equal(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:443");
}

static void test_host_check(void **state) {
    char err[128];
    (void)state;
    assert_int_equal(ws_listen_check_host("0.0.0.0", err, sizeof(err)), 0);
    assert_int_equal(ws_listen_check_host("::", err, sizeof(err)), 0);
    assert_int_equal(ws_listen_check_host("example.invalid", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "numeric"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_match),
        cmocka_unit_test(test_bad_lists_refused),
        cmocka_unit_test(test_forwarded_for_must_be_an_address),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_host_check),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}

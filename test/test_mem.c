/*
 * test_mem.c -- the memory budget (mem.h): every allocation counted by
 * kind, with the allocator's header; a request over the limit refused
 * before malloc, leaving the counters as they were; realloc counting only
 * the difference; peak and refusals recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mem.h"

#include <string.h>

static void test_counts_by_kind_with_overhead(void **state) {
    (void)state;
    ws_mem_init(0);
    void *a = ws_mem_alloc(WS_MEM_MSG, 1000);
    void *b = ws_mem_alloc(WS_MEM_OUT, 24);
    const ws_mem_stats *st = ws_mem_stats_now();
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(st->used[WS_MEM_MSG], 1000 + WS_MEM_OVERHEAD);
    assert_int_equal(st->used[WS_MEM_OUT], 24 + WS_MEM_OVERHEAD);
    assert_int_equal(st->total, 1024 + 2 * WS_MEM_OVERHEAD);
    ws_mem_free(WS_MEM_MSG, a, 1000);
    assert_int_equal(st->used[WS_MEM_MSG], 0);
    assert_int_equal(st->peak, 1024 + 2 * WS_MEM_OVERHEAD);
    ws_mem_free(WS_MEM_OUT, b, 24);
    assert_int_equal(st->total, 0);
    ws_mem_free(WS_MEM_OUT, NULL, 100); /* a no-op */
    assert_int_equal(st->total, 0);
}

static void test_limit_refuses_before_malloc(void **state) {
    (void)state;
    ws_mem_init(4096);
    const ws_mem_stats *st = ws_mem_stats_now();
    void *a = ws_mem_alloc(WS_MEM_MSG, 4096 - WS_MEM_OVERHEAD); /* exactly fits */
    assert_non_null(a);
    assert_int_equal(st->total, 4096);
    assert_false(ws_mem_fits(0));
    assert_null(ws_mem_alloc(WS_MEM_MSG, 1));
    assert_int_equal(st->refused, 1);
    assert_int_equal(st->total, 4096);
    assert_int_equal(ws_mem_room(), 0);
    ws_mem_free(WS_MEM_MSG, a, 4096 - WS_MEM_OVERHEAD);
    assert_int_equal(ws_mem_room(), 4096);
    /* Sizes near SIZE_MAX do not wrap into "fits". */
    assert_false(ws_mem_fits(SIZE_MAX));
    assert_false(ws_mem_fits(SIZE_MAX - 8));
    assert_null(ws_mem_alloc(WS_MEM_MSG, SIZE_MAX - 4));
}

static void test_realloc_counts_the_difference(void **state) {
    (void)state;
    ws_mem_init(10000);
    const ws_mem_stats *st = ws_mem_stats_now();
    char *p = ws_mem_realloc(WS_MEM_MSG, NULL, 0, 100); /* NULL: allocate */
    assert_non_null(p);
    memset(p, 'a', 100);
    assert_int_equal(st->total, 100 + WS_MEM_OVERHEAD);
    p = ws_mem_realloc(WS_MEM_MSG, p, 100, 9000);
    assert_non_null(p);
    assert_int_equal(p[99], 'a');
    assert_int_equal(st->total, 9000 + WS_MEM_OVERHEAD);
    /* Growing past the limit fails and leaves the block and the counts. */
    char *q = ws_mem_realloc(WS_MEM_MSG, p, 9000, 10000);
    assert_null(q);
    assert_int_equal(st->total, 9000 + WS_MEM_OVERHEAD);
    assert_int_equal(p[0], 'a');
    /* Shrinking always works. */
    p = ws_mem_realloc(WS_MEM_MSG, p, 9000, 10);
    assert_non_null(p);
    assert_int_equal(st->total, 10 + WS_MEM_OVERHEAD);
    ws_mem_free(WS_MEM_MSG, p, 10);
    assert_int_equal(st->total, 0);
    assert_int_equal(st->peak, 9000 + WS_MEM_OVERHEAD);
}

static void test_move_between_kinds(void **state) {
    (void)state;
    ws_mem_init(0);
    void *p = ws_mem_alloc(WS_MEM_MSG, 500);
    ws_mem_move(WS_MEM_MSG, WS_MEM_OUT, 500 + WS_MEM_OVERHEAD);
    const ws_mem_stats *st = ws_mem_stats_now();
    assert_int_equal(st->used[WS_MEM_MSG], 0);
    assert_int_equal(st->used[WS_MEM_OUT], 500 + WS_MEM_OVERHEAD);
    assert_int_equal(st->total, 500 + WS_MEM_OVERHEAD);
    ws_mem_free(WS_MEM_OUT, p, 500);
    assert_int_equal(st->total, 0);
}

static void test_names_and_format(void **state) {
    char out[32];
    (void)state;
    assert_string_equal(ws_mem_kind_name(WS_MEM_MSG), "msg");
    assert_string_equal(ws_mem_kind_name(WS_MEM_SHARED), "shared");
    assert_string_equal(ws_mem_kind_name(WS_MEM_KINDS), "?");
    ws_mem_format(out, sizeof(out), 512);
    assert_string_equal(out, "512 B");
    ws_mem_format(out, sizeof(out), 3 * 1024 + 512);
    assert_string_equal(out, "3.5 KiB");
    ws_mem_format(out, sizeof(out), 16u << 20);
    assert_string_equal(out, "16.0 MiB");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_by_kind_with_overhead),
        cmocka_unit_test(test_limit_refuses_before_malloc),
        cmocka_unit_test(test_realloc_counts_the_difference),
        cmocka_unit_test(test_move_between_kinds),
        cmocka_unit_test(test_names_and_format),
    };
    return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}

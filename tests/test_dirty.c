/* SPDX-License-Identifier: MIT */
/*
 * Dirty pages and PA_GFP_WRITE (src/dirty.c, spread_dirty_pages in
 * src/page_alloc.c): marking and clearing, nr_dirty per node and in the
 * reports, the node dirty limit, PA_GFP_WRITE allocations spreading to the
 * next node once the preferred one passes its limit (two emulated nodes),
 * the slow path passing the limit rather than failing, and bad input.
 */
#include "pa_test.h"

#include "internal.h"

#define GFP_W (PA_GFP_HIGHUSER_MOVABLE | PA_GFP_WRITE)

static void setup(int nodes, const char *ratio)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_NODE_SIZE", "64M");
    if (nodes > 1) {
        char buf[8];
        snprintf(buf, sizeof(buf), "%d", nodes);
        t_setenv("PAGEALLOC_NUMA_EMULATE", buf);
    }
    if (ratio)
        t_setenv("PAGEALLOC_DIRTY_RATIO", ratio);
    ck_assert_int_eq(pa_init(NULL), 0);
}

static unsigned long node_dirty(int nid, unsigned long *limit)
{
    unsigned long d = 0, l = 0;
    ck_assert_int_eq(pa_node_dirty_info(nid, &d, &l), 0);
    if (limit)
        *limit = l;
    return d;
}

START_TEST(test_mark_clear_and_count)
{
    setup(1, NULL);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 2);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_dirty(p), 0);
    ck_assert_int_eq(pa_set_page_dirty(p), 1);
    ck_assert_int_eq(pa_set_page_dirty(p), 0);
    ck_assert_int_eq(pa_page_dirty(p), 1);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 4);
    ck_assert_uint_eq(node_dirty(0, NULL), 4);
    ck_assert_int_eq(pa_clear_page_dirty(p), 1);
    ck_assert_int_eq(pa_clear_page_dirty(p), 0);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);
    /* freeing a dirty block forgets it */
    ck_assert_int_eq(pa_set_page_dirty(p), 1);
    pa_free_pages(p, 2);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);

    /* a compound page: any page names the head */
    struct pa_page *c = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_COMP, 3);
    ck_assert_ptr_nonnull(c);
    struct pa_page *tail = pa_pfn_to_page(pa_page_to_pfn(c) + 5);
    ck_assert_int_eq(pa_set_page_dirty(tail), 1);
    ck_assert_int_eq(pa_page_dirty(c), 1);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 8);
    pa_put_page(c);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);

    /* a block freed in pieces (extra reference on the head) */
    struct pa_page *b = pa_alloc_pages(PA_GFP_KERNEL, 1);
    pa_set_page_dirty(b);
    pa_get_page(b);
    pa_free_pages(b, 1);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 1);
    pa_put_page(b);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);

    /* the reports */
    struct pa_page *d = pa_alloc_pages(PA_GFP_KERNEL, 0);
    pa_set_page_dirty(d);
    char *vm = t_show(pa_show_vmstat);
    ck_assert_ptr_nonnull(strstr(vm, "\nnr_dirty 1\n"));
    ck_assert_ptr_nonnull(strstr(vm, "\nnr_dirty_threshold "));
    free(vm);
    char *zi = t_show(pa_show_zoneinfo);
    char *line = t_line_with(zi, "nr_dirty");
    ck_assert_ptr_nonnull(line);
    ck_assert_uint_eq(strtoul(strstr(line, "nr_dirty") + 8, NULL, 10), 1);
    free(line);
    free(zi);
    pa_free_pages(d, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_bad_input)
{
    setup(1, NULL);
    struct t_capture c;
    t_capture_begin(&c);
    errno = 0;
    ck_assert_int_eq(pa_set_page_dirty(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    int x;
    ck_assert_int_eq(pa_clear_page_dirty((struct pa_page *)&x), -1);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_set_page_dirty(p), -1);      /* free */
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "not allocated"));
    free(err);
    ck_assert_int_eq(pa_page_dirty(NULL), -1);
    ck_assert_int_eq(pa_node_dirty_info(5, NULL, NULL), -1);
    ck_assert_int_eq(pa_node_dirty_info(-1, NULL, NULL), -1);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);
}
END_TEST

static const char *const bad_ratios[] = { "abc", "101", "-1", "20%" };

START_TEST(test_bad_ratio)
{
    struct t_capture c;
    t_capture_begin(&c);
    setup(1, bad_ratios[_i]);
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "PAGEALLOC_DIRTY_RATIO"));
    free(err);
    ck_assert_uint_eq(pa_opt.dirty_ratio, 20);
}
END_TEST

/* The limit follows the ratio of the node's dirtyable memory. */
START_TEST(test_limit_follows_ratio)
{
    setup(1, "10");
    unsigned long l10;
    node_dirty(0, &l10);
    /* 64 MiB node, less the reserves: a little under 10% of 16384 pages */
    ck_assert_uint_gt(l10, 1400);
    ck_assert_uint_le(l10, 1639);
    /* dirty pages count as dirtyable memory (the kernel's file pages): 16
     * of them raise a 10% limit by one or two pages */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 4);
    unsigned long before;
    node_dirty(0, &before);
    pa_set_page_dirty(p);
    unsigned long after;
    node_dirty(0, &after);
    ck_assert_uint_ge(after, before + 1);
    ck_assert_uint_le(after, before + 2);
    pa_free_pages(p, 4);
}
END_TEST

/* End to end: PA_GFP_WRITE allocations for node 0 stay there until
 * node 0 passes its dirty limit, then go to node 1; requests without
 * PA_GFP_WRITE are unaffected; cleaning brings node 0 back; with both
 * nodes over, the slow path still serves the request. */
START_TEST(test_write_spreads_past_limit)
{
    setup(2, "10");
    ck_assert_int_eq(pa_num_nodes(), 2);
    struct t_blocks mine = {0};
    unsigned long limit0;
    node_dirty(0, &limit0);
    ck_assert_uint_gt(limit0, 100);

    /* below the limit: node 0 */
    while (node_dirty(0, &limit0) <= limit0) {
        struct pa_page *p = pa_alloc_pages_node(0, GFP_W, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), 0);
        ck_assert_int_eq(pa_set_page_dirty(p), 1);
        t_blocks_push(&mine, p, 0);
        ck_assert_uint_lt(mine.n, 16384);
    }
    size_t on0 = mine.n;
    ck_assert_uint_gt(on0, 100);

    /* past it: node 1, counted as misses of node 0 */
    unsigned long miss0 = t_vmstat("numa_miss");
    for (int i = 0; i < 200; i++) {
        struct pa_page *p = pa_alloc_pages_node(0, GFP_W, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(pa_page_to_nid(p) == 1, "allocation %d past node 0's dirty limit came from node %d", i,
                      pa_page_to_nid(p));
        pa_set_page_dirty(p);
        t_blocks_push(&mine, p, 0);
    }
    ck_assert_uint_ge(t_vmstat("numa_miss") - miss0, 200);
    ck_assert_uint_eq(node_dirty(1, NULL), 200);

    /* without PA_GFP_WRITE the dirty limit is not looked at */
    struct pa_page *q = pa_alloc_pages_node(0, PA_GFP_HIGHUSER_MOVABLE, 0);
    ck_assert_int_eq(pa_page_to_nid(q), 0);
    pa_free_pages(q, 0);

    /* written back: node 0 takes PA_GFP_WRITE requests again */
    for (size_t i = 0; i < on0 / 2; i++)
        ck_assert_int_eq(pa_clear_page_dirty(mine.v[i].page), 1);
    q = pa_alloc_pages_node(0, GFP_W, 0);
    ck_assert_int_eq(pa_page_to_nid(q), 0);
    pa_free_pages(q, 0);
    for (size_t i = 0; i < on0 / 2; i++)
        pa_set_page_dirty(mine.v[i].page);

    /* node 1 over its limit too: the fast path finds no node, the slow
     * path passes the limit rather than fail, on the preferred node */
    unsigned long limit1;
    while (node_dirty(1, &limit1) <= limit1) {
        struct pa_page *p = pa_alloc_pages_node(1, GFP_W, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), 1);
        pa_set_page_dirty(p);
        t_blocks_push(&mine, p, 0);
        ck_assert_uint_lt(mine.n, 40000);
    }
    q = pa_alloc_pages_node(0, GFP_W, 0);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(pa_page_to_nid(q), 0);
    pa_free_pages(q, 0);

    t_blocks_free_all(&mine);
    t_blocks_release(&mine);
    ck_assert_uint_eq(t_vmstat("nr_dirty"), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dirty");
    TCase *tc = t_tcase(s, "dirty", 60);
    tcase_add_test(tc, test_mark_clear_and_count);
    tcase_add_test(tc, test_bad_input);
    tcase_add_loop_test(tc, test_bad_ratio, 0, (int)(sizeof(bad_ratios) / sizeof(bad_ratios[0])));
    tcase_add_test(tc, test_limit_follows_ratio);
    tc = t_tcase(s, "spread", 120);
    tcase_add_test(tc, test_write_spreads_past_limit);
    return t_run_suite(s);
}

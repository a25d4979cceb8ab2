/* SPDX-License-Identifier: MIT */
/*
 * Contiguous runs of any length (src/contig.c): pa_alloc_contig_pages and
 * pa_free_contig_range.
 */
#include "pa_test.h"

#include <pagealloc/contig.h>

#define BLOCK_PAGES (1UL << PA_MAX_ORDER)

static void setup(const char *node_size, const char *emulate)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", node_size);
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    if (emulate)
        t_setenv("PAGEALLOC_NUMA_EMULATE", emulate);
    ck_assert_int_eq(pa_init(NULL), 0);
}

static bool aligned(const void *p, unsigned long pages)
{
    return ((uintptr_t)p & (pages * T_PAGE - 1)) == 0;
}

START_TEST(test_bad_arguments)
{
    setup("64M", NULL);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_contig_pages(0, 0, PA_GFP_KERNEL, -1));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_contig_pages(1, 32, PA_GFP_KERNEL, -1));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_contig_pages(1, 0, PA_GFP_KERNEL, pa_num_nodes()));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_contig_pages(4, 0, PA_GFP_KERNEL | PA_GFP_COMP, -1));
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A run within a buddy block: aligned, zeroed on request, pages each their
 * own allocation (any part goes back on its own), the tail given back. */
START_TEST(test_small_run_split_and_partial_free)
{
    setup("64M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);

    struct pa_page *page = pa_alloc_contig_pages(5, 4, PA_GFP_KERNEL | PA_GFP_ZERO, -1);
    ck_assert_ptr_nonnull(page);
    char *p = pa_page_address(page);
    ck_assert(aligned(p, 16));
    for (size_t i = 0; i < 5 * T_PAGE; i++)
        ck_assert_int_eq(p[i], 0);
    /* exactly 5 pages are taken: the rest of the order-4 block came back */
    ck_assert_uint_eq(t_nr_free_settled(), base - 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(pa_page_count(pa_virt_to_page(p + i * T_PAGE)), 1);

    memset(p, 0xa5, 5 * T_PAGE);
    pa_free_contig_range(pa_virt_to_page(p + 2 * T_PAGE), 2);   /* the middle */
    ck_assert_uint_eq(t_nr_free_settled(), base - 3);
    pa_free_contig_range(page, 2);
    pa_free_contig_range(pa_virt_to_page(p + 4 * T_PAGE), 1);
    ck_assert_uint_eq(t_nr_free_settled(), base);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Longer than a buddy block: whole free 4 MiB blocks, aligned as asked,
 * zeroed, the tail beyond the run given back; all of it returns. */
START_TEST(test_run_beyond_max_order)
{
    setup("64M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);
    unsigned long nr = 2 * BLOCK_PAGES + 3;

    struct pa_page *page = pa_alloc_contig_pages(nr, PA_MAX_ORDER + 1, PA_GFP_KERNEL | PA_GFP_ZERO, -1);
    ck_assert_ptr_nonnull(page);
    char *p = pa_page_address(page);
    ck_assert(aligned(p, 2 * BLOCK_PAGES));
    for (size_t i = 0; i < nr * T_PAGE; i += 512)
        ck_assert_int_eq(p[i], 0);
    ck_assert_uint_eq(t_nr_free_settled(), base - nr);
    /* one range across the blocks: pfns and addresses follow each other */
    ck_assert_uint_eq(pa_page_to_pfn(pa_virt_to_page(p + (nr - 1) * T_PAGE)), pa_page_to_pfn(page) + nr - 1);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* a second run while the first is held */
    struct pa_page *second = pa_alloc_contig_pages(3 * BLOCK_PAGES, 0, PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(second);
    ck_assert_uint_eq(t_nr_free_settled(), base - nr - 3 * BLOCK_PAGES);

    pa_free_contig_range(page, BLOCK_PAGES);                                  /* first part */
    pa_free_contig_range(pa_pfn_to_page(pa_page_to_pfn(page) + BLOCK_PAGES), nr - BLOCK_PAGES);
    pa_free_contig_range(second, 3 * BLOCK_PAGES);
    ck_assert_uint_eq(t_nr_free_settled(), base);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* No run of free blocks that long: ENOMEM, and nothing is lost. */
START_TEST(test_run_too_long_fails_cleanly)
{
    setup("32M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_contig_pages(16 * BLOCK_PAGES, 0, PA_GFP_KERNEL | PA_GFP_NOWARN, -1));
    ck_assert_int_eq(errno, ENOMEM);

    /* one busy page in every 4 MiB block: no run of two blocks exists */
    struct t_blocks busy = {0};
    struct t_blocks all = {0};
    t_fill(&all, PA_GFP_KERNEL, 0);
    for (size_t i = 0; i < all.n; i++) {
        if ((pa_page_to_pfn(all.v[i].page) & (BLOCK_PAGES - 1)) == 7)
            t_blocks_push(&busy, all.v[i].page, 0);
        else
            pa_free_pages(all.v[i].page, 0);
    }
    t_blocks_release(&all);
    ck_assert_uint_gt(busy.n, 1);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_contig_pages(BLOCK_PAGES + 1, 0, PA_GFP_KERNEL | PA_GFP_NOWARN, -1));
    ck_assert_int_eq(errno, ENOMEM);
    t_blocks_free_all(&busy);
    t_blocks_release(&busy);
    ck_assert_uint_eq(t_nr_free_settled(), base);
}
END_TEST

/* Bad frees are reported and give nothing back. */
START_TEST(test_bad_free_refused_whole)
{
    setup("64M", NULL);
    struct pa_page *page = pa_alloc_contig_pages(4, 0, PA_GFP_KERNEL, -1);
    ck_assert_ptr_nonnull(page);
    unsigned long before = t_nr_free_settled();
    struct t_capture c;
    t_capture_begin(&c);
    pa_free_contig_range(page, 5);   /* one page past the run is not ours */
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "Bad page state"));
    free(err);
    ck_assert_uint_eq(t_nr_free_settled(), before);
    pa_free_contig_range(page, 4);
    ck_assert_uint_eq(t_nr_free_settled(), before + 4);
}
END_TEST

/* Node and policy: an explicit node, and -1 under a bind policy, for runs
 * both inside and beyond a buddy block. */
START_TEST(test_node_and_bind_policy)
{
    setup("64M", "2");
    ck_assert_int_eq(pa_num_nodes(), 2);
    for (int nid = 0; nid < 2; nid++) {
        struct pa_page *a = pa_alloc_contig_pages(3, 0, PA_GFP_KERNEL | PA_GFP_THISNODE, nid);
        struct pa_page *b = pa_alloc_contig_pages(BLOCK_PAGES * 2, 0, PA_GFP_KERNEL | PA_GFP_THISNODE, nid);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(pa_page_to_nid(a), nid);
        ck_assert_int_eq(pa_page_to_nid(b), nid);
        pa_free_contig_range(a, 3);
        pa_free_contig_range(b, BLOCK_PAGES * 2);
    }
    pa_nodemask_t m;
    ck_assert_int_eq(pa_nodemask_parse("1", &m), 0);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &m), 0);
    struct pa_page *a = pa_alloc_contig_pages(3, 0, PA_GFP_KERNEL, -1);
    struct pa_page *b = pa_alloc_contig_pages(BLOCK_PAGES * 2, 0, PA_GFP_KERNEL, -1);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pa_page_to_nid(a), 1);
    ck_assert_int_eq(pa_page_to_nid(b), 1);
    pa_free_contig_range(a, 3);
    pa_free_contig_range(b, BLOCK_PAGES * 2);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("contig");
    TCase *tc = t_tcase(s, "contig", 120);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_small_run_split_and_partial_free);
    tcase_add_test(tc, test_run_beyond_max_order);
    tcase_add_test(tc, test_run_too_long_fails_cleanly);
    tcase_add_test(tc, test_bad_free_refused_whole);
    tcase_add_test(tc, test_node_and_bind_policy);
    return t_run_suite(s);
}

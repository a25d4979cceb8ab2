/* SPDX-License-Identifier: MIT */
/*
 * Dynamic hugetlb pools of memory cgroups (src/dhugetlb.c): off by
 * default; a pool is filled from the buddy in whole pageblocks; the
 * cgroup's order-0 PA_GFP_ACCOUNT allocations come from it first and fall
 * back to the buddy when it is empty; freed pool pages return to the pool;
 * shrinking gives back only whole unused blocks; bad input.
 */
#include "pa_test.h"

#include "internal.h"

#define BLOCK (2UL << 20)
#define GFP_ACC (PA_GFP_KERNEL | PA_GFP_ACCOUNT)

static void setup(const char *on)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_NODE_SIZE", "64M");
    if (on)
        t_setenv("PAGEALLOC_DYNAMIC_HUGETLB", on);
    ck_assert_int_eq(pa_init(NULL), 0);
}

static struct pa_dhugetlb_stat stat_of(struct pa_memcg *m)
{
    struct pa_dhugetlb_stat st;
    ck_assert_int_eq(pa_memcg_dhugetlb_stat(m, &st), 0);
    return st;
}

START_TEST(test_off_by_default)
{
    setup(NULL);
    struct pa_memcg *m = pa_memcg_create("off", 0);
    ck_assert_ptr_nonnull(m);
    struct t_capture c;
    t_capture_begin(&c);
    errno = 0;
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, 4 * BLOCK), -1);
    ck_assert_int_eq(errno, EOPNOTSUPP);
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "PAGEALLOC_DYNAMIC_HUGETLB"));
    free(err);
    ck_assert_uint_eq(stat_of(m).size, 0);
    /* accounted allocations work as before */
    pa_memcg_attach(m);
    struct pa_page *p = pa_alloc_pages(GFP_ACC, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert(!PageDhugetlb(p));
    pa_free_pages(p, 0);
    pa_memcg_attach(NULL);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

/* End to end: the cgroup's allocations come from its pool first and
 * fall back to the buddy when the pool is empty. */
START_TEST(test_pool_first_then_buddy)
{
    setup("on");
    struct pa_memcg *m = pa_memcg_create("pooled", 0);
    ck_assert_ptr_nonnull(m);
    unsigned long free0 = t_settle(PA_GFP_KERNEL);   /* the node fully online */
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, 2 * BLOCK), 0);
    struct pa_dhugetlb_stat st = stat_of(m);
    ck_assert_uint_eq(st.size, 2 * BLOCK);
    ck_assert_uint_eq(st.free_pages, 1024);
    ck_assert_uint_eq(st.used_pages, 0);
    /* the blocks left the buddy whole */
    ck_assert_uint_eq(free0 - t_nr_free_settled(), 1024);
    ck_assert_int_eq(pa_check_invariants(), 0);

    pa_memcg_attach(m);
    struct t_blocks l = {0};
    unsigned long blocks_seen[2] = { ~0UL, ~0UL };
    for (int i = 0; i < 1024; i++) {
        struct pa_page *p = pa_alloc_pages(GFP_ACC | PA_GFP_ZERO, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(PageDhugetlb(p), "allocation %d did not come from the pool", i);
        ck_assert_int_eq(t_first_not(pa_page_address(p), 0, T_PAGE), -1);
        /* every pool page lies in one of two 2 MiB blocks */
        unsigned long blk = pa_page_to_pfn(p) >> 9;
        if (blocks_seen[0] == ~0UL || blocks_seen[0] == blk)
            blocks_seen[0] = blk;
        else if (blocks_seen[1] == ~0UL || blocks_seen[1] == blk)
            blocks_seen[1] = blk;
        else
            ck_abort_msg("pool page pfn %#lx outside the pool's two blocks", pa_page_to_pfn(p));
        t_blocks_push(&l, p, 0);
    }
    st = stat_of(m);
    ck_assert_uint_eq(st.free_pages, 0);
    ck_assert_uint_eq(st.used_pages, 1024);
    ck_assert_uint_eq(st.alloc_pool, 1024);
    ck_assert_uint_eq(pa_memcg_usage(m), 1024 * T_PAGE);

    /* empty: the buddy serves, and the charge still applies */
    struct pa_page *b = pa_alloc_pages(GFP_ACC, 0);
    ck_assert_ptr_nonnull(b);
    ck_assert(!PageDhugetlb(b));
    ck_assert_uint_eq(stat_of(m).alloc_buddy, 1);
    ck_assert_uint_eq(pa_memcg_usage(m), 1025 * T_PAGE);
    /* not accounted, or not order 0: never from the pool */
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, 3 * BLOCK), 0);
    struct pa_page *u = pa_alloc_pages(PA_GFP_KERNEL, 0);
    struct pa_page *o = pa_alloc_pages(GFP_ACC, 1);
    ck_assert(!PageDhugetlb(u) && !PageDhugetlb(o));
    pa_free_pages(u, 0);
    pa_free_pages(o, 1);
    ck_assert_uint_eq(stat_of(m).free_pages, 512);

    /* in-use blocks are not given back */
    errno = 0;
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, BLOCK), -1);
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_uint_eq(stat_of(m).size, 3 * BLOCK);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* freed pool pages return to the pool, uncharged */
    unsigned long free1 = t_nr_free_settled();
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    st = stat_of(m);
    ck_assert_uint_eq(st.free_pages, 1536);
    ck_assert_uint_eq(st.used_pages, 0);
    ck_assert_uint_eq(t_nr_free_settled(), free1);
    ck_assert_uint_eq(pa_memcg_usage(m), T_PAGE);
    /* the next allocation is from the pool again */
    struct pa_page *again = pa_alloc_pages(GFP_ACC, 0);
    ck_assert(PageDhugetlb(again));
    pa_free_pages(again, 0);
    pa_free_pages(b, 0);
    pa_memcg_attach(NULL);

    /* shrinking returns whole blocks to the buddy */
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, BLOCK), 0);
    ck_assert_uint_eq(stat_of(m).size, BLOCK);
    ck_assert_uint_eq(t_nr_free_settled(), free1 + 1024 + 1);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* destroying the cgroup gives back the rest */
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
    ck_assert_uint_eq(t_nr_free_settled(), free0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_bad_input)
{
    setup("on");
    struct pa_memcg *m = pa_memcg_create("bad", 0);
    ck_assert_ptr_nonnull(m);
    errno = 0;
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(NULL, BLOCK), -1);
    ck_assert_int_eq(errno, EINVAL);
    struct t_capture c;
    t_capture_begin(&c);
    errno = 0;
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, 3UL << 20), -1);
    ck_assert_int_eq(errno, EINVAL);
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "not a multiple"));
    free(err);
    /* more than memory: all or nothing */
    unsigned long free0 = t_settle(PA_GFP_KERNEL);
    errno = 0;
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, 1UL << 40), -1);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, 64UL << 20), -1);   /* the whole node: reserves stay */
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(stat_of(m).size, 0);
    ck_assert_uint_eq(t_nr_free_settled(), free0);
    struct pa_dhugetlb_stat st;
    ck_assert_int_eq(pa_memcg_dhugetlb_stat(NULL, &st), -1);
    ck_assert_int_eq(pa_memcg_dhugetlb_stat(m, NULL), -1);

    /* a cgroup whose pool pages are in use cannot go away */
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, BLOCK), 0);
    pa_memcg_attach(m);
    struct pa_page *p = pa_alloc_pages(GFP_ACC, 0);
    ck_assert(PageDhugetlb(p));
    pa_memcg_attach(NULL);
    ck_assert_int_eq(pa_memcg_destroy(m), -1);
    ck_assert_int_eq(errno, EBUSY);
    /* a pool page freed with the wrong order is refused, nothing lost */
    t_capture_begin(&c);
    pa_free_pages(p, 1);
    err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "Bad page"));
    free(err);
    ck_assert_uint_eq(stat_of(m).used_pages, 1);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* A forked child keeps the pool (a copy) and can use it. */
static void child_uses_pool(void *arg)
{
    (void)arg;
    struct pa_page *p = pa_alloc_pages(GFP_ACC, 0);
    if (!p || !PageDhugetlb(p)) {
        fprintf(stderr, "child: allocation %s\n", p ? "not from the pool" : "failed");
        _exit(1);
    }
    pa_free_pages(p, 0);
    if (pa_check_invariants() != 0)
        _exit(2);
}

START_TEST(test_fork_child_uses_pool)
{
    setup("on");
    struct pa_memcg *m = pa_memcg_create("forked", 0);
    ck_assert_int_eq(pa_memcg_dhugetlb_resize(m, BLOCK), 0);
    pa_memcg_attach(m);
    struct t_child c;
    t_run_child(child_uses_pool, NULL, &c);
    char why[128];
    ck_assert_msg(t_exited_ok(&c), "child: %s: %s", t_describe_status(&c, why, sizeof(why)), c.err);
    free(c.err);
    ck_assert_uint_eq(stat_of(m).used_pages, 0);
    pa_memcg_attach(NULL);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

static const char *const bad_switch[] = { "maybe", "2", "onn" };

START_TEST(test_bad_switch)
{
    struct t_capture c;
    t_capture_begin(&c);
    setup(bad_switch[_i]);
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "PAGEALLOC_DYNAMIC_HUGETLB"));
    free(err);
    ck_assert(!pa_opt.dynamic_hugetlb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dhugetlb");
    TCase *tc = t_tcase(s, "dhugetlb", 60);
    tcase_add_test(tc, test_off_by_default);
    tcase_add_test(tc, test_pool_first_then_buddy);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_fork_child_uses_pool);
    tcase_add_loop_test(tc, test_bad_switch, 0, (int)(sizeof(bad_switch) / sizeof(bad_switch[0])));
    return t_run_suite(s);
}

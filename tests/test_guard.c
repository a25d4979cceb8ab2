/* SPDX-License-Identifier: MIT */
/*
 * Guard pages (src/guard.c, PAGEALLOC_DEBUG=guard[:N]): split-off halves
 * of order < N are PROT_NONE guards, so running off the end of a freshly
 * split block faults at once; guards rejoin when their buddy is freed, and
 * allocation and free still balance.  The option's syntax and its refusal
 * with forced hugetlb pages; the invariant walker's view of guards.
 */
#include "pa_test.h"

#include "internal.h"

static unsigned long t_guard_pages(void) { return t_vmstat("pa_nr_guard_pages"); }

/* ------------------------------------------------------------------ */
/* An overrun faults                                                   */
/* ------------------------------------------------------------------ */

static const struct {
    const char *debug;
    unsigned int order;
} overrun_cases[] = {
    {"guard", 0},       /* min order 1: order-0 halves are guards */
    {"guard:5", 4},     /* order 4 from the buddy (no pcp): its order-4 buddy is a guard */
    {"checks,guard:3,poison", 2},
};

struct overrun_arg {
    char *addr;
    size_t len;
};

static void overrun_child(void *arg)
{
    const struct overrun_arg *a = arg;
    memset(a->addr, 0x5a, a->len);              /* the whole block is ours */
    fprintf(stderr, "CHILD: wrote the block\n");
    fflush(stderr);
    ((volatile char *)a->addr)[a->len] = 1;      /* one byte past its end */
    fprintf(stderr, "CHILD: overran the block without a fault\n");
    _exit(97);
}

START_TEST(test_guard_overrun_faults)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", overrun_cases[_i].debug);
    unsigned int order = overrun_cases[_i].order;
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_uint_gt(debug_guardpage_minorder, order);
    ck_assert_uint_eq(t_guard_pages(), 0);

    /* the first allocation is split off a MAX_ORDER block */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
    ck_assert_ptr_nonnull(p);
    unsigned long pfn = pa_page_to_pfn(p);
    struct pa_page *next = pfn_to_page(pfn + (1UL << order));
    ck_assert_msg(PageGuard(next), "the block after pfn %#lx (order %u) is not a guard", pfn, order);
    ck_assert_uint_eq(buddy_order(next), order);
    ck_assert_uint_ge(t_guard_pages(), 1UL << order);
    ck_assert_int_eq(pa_check_invariants(), 0);

    struct overrun_arg a = {pa_page_address(p), T_PAGE << order};
    struct t_child c;
    t_run_child(overrun_child, &a, &c);
    char st[64];
    ck_assert_msg(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSEGV, "child %s, want SIGSEGV\n%s",
                  t_describe_status(&c, st, sizeof(st)), c.err);
    ck_assert_msg(strstr(c.err, "CHILD: wrote the block") != NULL,
                  "the child faulted inside its own block, not past it: %s", c.err);
    free(c.err);

    /* freeing merges the guard back: access is restored, nothing is lost */
    pa_free_pages(p, order);
    pa_drain_all_pages();
    ck_assert_uint_eq(t_guard_pages(), 0);
    ck_assert_int_eq(PageGuard(next), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    struct pa_page *again = pa_alloc_pages(PA_GFP_KERNEL, order + 1);
    ck_assert_ptr_nonnull(again);
    memset(pa_page_address(again), 0x11, T_PAGE << (order + 1));   /* no fault: writable again */
    pa_free_pages(again, order + 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Allocation and free still balance                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_guard_alloc_free_balance)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "guard:2");
    ck_assert_int_eq(pa_init(NULL), 0);
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    ck_assert_uint_eq(t_guard_pages(), 0);   /* everything merged back */
    ck_assert_int_eq(pa_check_invariants(), 0);

    uint64_t seed = 0x6a09e667f3bcc908ULL;
    struct t_blocks l = {0};
    for (int i = 0; i < 3000; i++) {
        unsigned int order = (unsigned int)(t_rand(&seed) % 6);
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, order);
        if (!p)
            continue;
        /* every page handed out is accessible: no guard among them */
        memset(pa_page_address(p), (int)i, T_PAGE << order);
        t_blocks_push(&l, p, order);
        if (t_rand(&seed) % 3 == 0) {   /* free some as we go: merges with guards */
            size_t k = (size_t)(t_rand(&seed) % l.n);
            pa_free_pages(l.v[k].page, l.v[k].order);
            l.v[k] = l.v[--l.n];
        }
    }
    ck_assert_uint_gt(l.n, 100);
    ck_assert_uint_gt(t_guard_pages(), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* free pages and guard pages are disjoint: together at most the warm total */
    t_drain();
    unsigned long used = 0;
    for (size_t i = 0; i < l.n; i++)
        used += 1UL << l.v[i].order;
    ck_assert_uint_eq(t_nr_free() + t_guard_pages() + used, warm);

    while (l.n > 0) {   /* in random order */
        size_t k = (size_t)(t_rand(&seed) % l.n);
        pa_free_pages(l.v[k].page, l.v[k].order);
        l.v[k] = l.v[--l.n];
    }
    t_blocks_release(&l);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_uint_eq(t_guard_pages(), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* The walker knows guards: a guard whose flag is lost is a broken count. */
START_TEST(test_guard_walker)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "guard");
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    struct pa_page *g = pfn_to_page(pa_page_to_pfn(p) + 1);
    ck_assert(PageGuard(g));
    ck_assert_int_eq(pa_check_invariants(), 0);

    struct zone *z = page_zone(g);
    struct t_capture cap;
    spin_lock(&z->lock);
    __ClearPageGuard(g);
    spin_unlock(&z->lock);
    t_capture_begin(&cap);
    int rc = pa_check_invariants();
    char *err = t_capture_end(&cap);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "NR_GUARD_PAGES") != NULL, "walker did not count guards: %s", err);
    free(err);

    spin_lock(&z->lock);
    __SetPageGuard(g);
    spin_unlock(&z->lock);
    ck_assert_int_eq(pa_check_invariants(), 0);
    pa_free_pages(p, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The option                                                          */
/* ------------------------------------------------------------------ */

static char *load_debug(const char *value)
{
    struct t_capture cap;
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", value);
    t_capture_begin(&cap);
    pa_options_load(NULL);
    return t_capture_end(&cap);
}

START_TEST(test_guard_option_syntax)
{
    static const struct {
        const char *value;
        unsigned int debug;
    } good[] = {
        {"guard", PA_DEBUG_GUARD},
        {"guard:1", PA_DEBUG_GUARD | PA_DEBUG_GUARD_MINORDER(1)},
        {"GUARD:5", PA_DEBUG_GUARD | PA_DEBUG_GUARD_MINORDER(5)},
        {"checks,guard:3,owner", PA_DEBUG_CHECKS | PA_DEBUG_GUARD | PA_DEBUG_GUARD_MINORDER(3) | PA_DEBUG_OWNER},
        {"owner", PA_DEBUG_OWNER},
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        char *err = load_debug(good[i].value);
        ck_assert_msg(err[0] == '\0', "%s: unexpected message %s", good[i].value, err);
        ck_assert_msg(pa_opt.debug == good[i].debug, "%s: debug %#x, want %#x", good[i].value, pa_opt.debug,
                      good[i].debug);
        free(err);
    }
    static const char *const bad[] = {"guard:0", "guard:6", "guard:x", "guard:", "guard:2x", "guard:-1",
                                      "checks,guard:99"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *err = load_debug(bad[i]);
        ck_assert_msg(strstr(err, "PAGEALLOC_DEBUG=") != NULL && strstr(err, "guard") != NULL &&
                          strstr(err, "using the default (off)") != NULL,
                      "%s: no clear message: \"%s\"", bad[i], err);
        ck_assert_msg(pa_opt.debug == 0, "%s: applied anyway (debug %#x)", bad[i], pa_opt.debug);
        free(err);
    }
    /* pa_config: a guard order without the guard bit, or too high */
    static const unsigned int bad_cfg[] = {PA_DEBUG_GUARD_MINORDER(2),
                                           PA_DEBUG_GUARD | PA_DEBUG_GUARD_MINORDER(9)};
    for (size_t i = 0; i < ARRAY_SIZE(bad_cfg); i++) {
        struct pa_config cfg = {.debug = bad_cfg[i]};
        struct t_capture cap;
        t_env_reset();
        t_capture_begin(&cap);
        pa_options_load(&cfg);
        char *err = t_capture_end(&cap);
        ck_assert_msg(strstr(err, "pa_config.debug") != NULL && strstr(err, "guard order") != NULL,
                      "cfg %#x: no clear message: \"%s\"", bad_cfg[i], err);
        ck_assert_uint_eq(pa_opt.debug, 0);
        free(err);
    }
}
END_TEST

/* guard needs 4 KiB pages: auto becomes none, forced hugetlb refuses guard */
START_TEST(test_guard_backing)
{
    static const struct {
        const char *hugepages;
        enum pa_hugepages after;
        unsigned int minorder;
    } cases[] = {
        {"auto", PA_HUGEPAGES_NONE, 3},
        {"none", PA_HUGEPAGES_NONE, 3},
        {"thp", PA_HUGEPAGES_THP, 3},
        {"2M", PA_HUGEPAGES_2M, 0},
        {"1G", PA_HUGEPAGES_1G, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct t_capture cap;
        t_env_reset();
        t_setenv("PAGEALLOC_DEBUG", "guard:3");
        t_setenv("PAGEALLOC_HUGEPAGES", cases[i].hugepages);
        t_capture_begin(&cap);
        pa_options_load(NULL);
        pa_guard_init();
        char *err = t_capture_end(&cap);
        ck_assert_msg(pa_opt.hugepages == cases[i].after, "%s: hugepages %d", cases[i].hugepages,
                      pa_opt.hugepages);
        ck_assert_uint_eq(debug_guardpage_minorder, cases[i].minorder);
        if (cases[i].minorder) {
            ck_assert_msg(err[0] == '\0', "%s: unexpected message %s", cases[i].hugepages, err);
            ck_assert_uint_ne(pa_opt.debug & PA_DEBUG_GUARD, 0);
        } else {
            ck_assert_msg(strstr(err, "PAGEALLOC_DEBUG=guard") && strstr(err, "cannot be protected"),
                          "%s: no clear refusal: %s", cases[i].hugepages, err);
            ck_assert_uint_eq(pa_opt.debug, 0);
        }
        free(err);
    }
}
END_TEST

static Suite *guard_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = t_tcase(s, "faults", 60);
    tcase_add_loop_test(tc, test_guard_overrun_faults, 0, (int)ARRAY_SIZE(overrun_cases));
    tc = t_tcase(s, "balance", 120);
    tcase_add_test(tc, test_guard_alloc_free_balance);
    tcase_add_test(tc, test_guard_walker);
    tc = t_tcase(s, "option", 30);
    tcase_add_test(tc, test_guard_option_syntax);
    tcase_add_test(tc, test_guard_backing);
    return s;
}

int main(void)
{
    return t_run_suite(guard_suite());
}

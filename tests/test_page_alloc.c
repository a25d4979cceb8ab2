/* SPDX-License-Identifier: MIT */
/*
 * The allocation entry points (src/page_alloc.c): alignment, argument
 * checking, exhaustion and recovery, reserves, __GFP_ZERO, compound pages,
 * reference counts, alloc_pages_exact and the address/pfn/page mappings.
 */
#include "pa_test.h"

#include "internal.h"

/* One 64 MiB node, no DMA zone: every PA_GFP_KERNEL page is ZONE_NORMAL. */
static void setup_one_zone(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* ------------------------------------------------------------------ */

START_TEST(test_alignment_every_order)
{
    setup_one_zone();
    struct pa_page *held[PA_MAX_ORDER + 1];
    /* Hold every order at once, so blocks cannot simply be the same memory. */
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_msg(p != NULL, "order %u: NULL (errno %d)", order, errno);
        char *addr = pa_page_address(p);
        ck_assert_ptr_nonnull(addr);
        ck_assert_msg(((uintptr_t)addr % (T_PAGE << order)) == 0,
                      "order %u: address %p not aligned to %lu", order, (void *)addr,
                      T_PAGE << order);
        ck_assert_msg(pa_page_to_pfn(p) % (1UL << order) == 0, "order %u: pfn %lu unaligned",
                      order, pa_page_to_pfn(p));
        ck_assert_int_eq(pa_page_count(p), 1);
        /* The whole block is usable memory. */
        addr[0] = 1;
        addr[(T_PAGE << order) - 1] = 2;
        held[order] = p;
    }
    /* No two held blocks overlap. */
    for (unsigned int a = 0; a <= PA_MAX_ORDER; a++)
        for (unsigned int b = a + 1; b <= PA_MAX_ORDER; b++) {
            unsigned long sa = pa_page_to_pfn(held[a]), ea = sa + (1UL << a);
            unsigned long sb = pa_page_to_pfn(held[b]), eb = sb + (1UL << b);
            ck_assert_msg(ea <= sb || eb <= sa, "orders %u and %u overlap", a, b);
        }
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++)
        pa_free_pages(held[order], order);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_bad_order)
{
    setup_one_zone();
    unsigned int bad[] = {PA_MAX_ORDER + 1, PA_MAX_ORDER + 5, 64, 1000, ~0u};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL, bad[i]));
        ck_assert_msg(errno == EINVAL, "order %u: errno %d, want EINVAL", bad[i], errno);
        errno = 0;
        ck_assert_ptr_null(pa_get_free_pages(PA_GFP_KERNEL, bad[i]));
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_bad_gfp_combinations)
{
    setup_one_zone();
    const pa_gfp_t bad[] = {
        PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_DMA32,
        PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_HIGHMEM,
        PA_GFP_KERNEL | PA_GFP_HIGHMEM | PA_GFP_DMA32,
        PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_DMA32 | PA_GFP_HIGHMEM,
        PA_GFP_KERNEL | PA_GFP_MOVABLE | PA_GFP_RECLAIMABLE,
        PA_GFP_HIGHUSER_MOVABLE | PA_GFP_RECLAIMABLE,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        struct pa_page *p = pa_alloc_pages(bad[i] | PA_GFP_NOWARN, 0);
        ck_assert_msg(p == NULL, "gfp %#x: got a page, want NULL", bad[i]);
        ck_assert_msg(errno == EINVAL, "gfp %#x: errno %d, want EINVAL", bad[i], errno);
    }
    /* A good one still works afterwards. */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    pa_free_pages(p, 0);
}
END_TEST

START_TEST(test_bad_nid)
{
    setup_one_zone();
    int n = pa_num_nodes();
    ck_assert_int_ge(n, 1);
    int bad[] = {n, n + 1, PA_MAX_NUMNODES, 99, -2, -100};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_msg(pa_alloc_pages_node(bad[i], PA_GFP_KERNEL | PA_GFP_NOWARN, 0) == NULL,
                      "nid %d: got a page", bad[i]);
        ck_assert_msg(errno == EINVAL, "nid %d: errno %d, want EINVAL", bad[i], errno);
    }
    /* -1 is "the local node". */
    struct pa_page *p = pa_alloc_pages_node(-1, PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    pa_free_pages(p, 0);
    p = pa_alloc_pages_node(0, PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_to_nid(p), 0);
    pa_free_pages(p, 0);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_exhaustion_and_recovery)
{
    setup_one_zone();
    unsigned long warm_free = t_settle(PA_GFP_KERNEL);
    ck_assert_int_eq(pa_check_invariants(), 0);
    unsigned long fail0 = t_vmstat("pa_alloc_fail");

    struct t_blocks l = {0};
    errno = 0;
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    int err = errno;
    ck_assert_msg(err == ENOMEM, "exhaustion errno %d, want ENOMEM", err);
    ck_assert_msg(n > 15000 && n <= 16384, "allocated %zu order-0 pages from a 64 MiB node", n);
    ck_assert_msg(t_vmstat("pa_alloc_fail") > fail0, "pa_alloc_fail did not count the failure");
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* Every page handed out is distinct. */
    unsigned long max_pfn = 0;
    for (size_t i = 0; i < l.n; i++)
        max_pfn = PA_MAX(max_pfn, pa_page_to_pfn(l.v[i].page));
    unsigned char *seen = calloc(max_pfn + 1, 1);
    ck_assert_ptr_nonnull(seen);
    for (size_t i = 0; i < l.n; i++) {
        unsigned long pfn = pa_page_to_pfn(l.v[i].page);
        if (seen[pfn])
            ck_abort_msg("pfn %lu handed out twice", pfn);
        seen[pfn] = 1;
    }
    free(seen);

    t_blocks_free_all(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_msg(p != NULL, "no page after freeing everything (errno %d)", errno);
    pa_free_pages(p, 0);
    p = pa_alloc_pages(PA_GFP_KERNEL, PA_MAX_ORDER);
    ck_assert_msg(p != NULL, "no max-order block after freeing everything (errno %d)", errno);
    pa_free_pages(p, PA_MAX_ORDER);

    unsigned long again = t_settle(PA_GFP_KERNEL);
    ck_assert_msg(again == warm_free, "nr_free_pages %lu after recovery, %lu when warm", again,
                  warm_free);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_release(&l);
}
END_TEST

START_TEST(test_atomic_goes_deeper)
{
    setup_one_zone();
    t_settle(PA_GFP_KERNEL);
    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0));
    errno = 0;
    struct pa_page *p = pa_alloc_pages(PA_GFP_ATOMIC | PA_GFP_NOWARN, 0);
    ck_assert_msg(p != NULL, "PA_GFP_ATOMIC found nothing below the KERNEL limit (errno %d)", errno);
    t_blocks_push(&l, p, 0);
    size_t extra = 1 + t_fill(&l, PA_GFP_ATOMIC, 0);
    ck_assert_uint_ge(extra, 1);
    t_blocks_free_all(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_release(&l);
}
END_TEST

/* A failure without PA_GFP_NOWARN is reported (the kernel's warn_alloc);
 * with it, silence. */
START_TEST(test_failure_report)
{
    setup_one_zone();
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL, 0);
    struct t_capture c;
    t_capture_begin(&c);
    struct pa_page *quiet = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    char *err = t_capture_end(&c);
    ck_assert_ptr_null(quiet);
    ck_assert_msg(err[0] == '\0', "NOWARN failure printed: %s", err);
    free(err);
    t_capture_begin(&c);
    struct pa_page *loud = pa_alloc_pages(PA_GFP_KERNEL, 0);
    int e = errno;
    err = t_capture_end(&c);
    ck_assert_ptr_null(loud);
    ck_assert_int_eq(e, ENOMEM);
    ck_assert_msg(strstr(err, "page allocation failure") != NULL && strstr(err, "order:0") != NULL,
                  "no allocation-failure report: \"%s\"", err);
    free(err);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_gfp_zero)
{
    setup_one_zone();
    /* Dirty every page of the node, free, then ask for zeroed pages. */
    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_uint_gt(n, 1000);
    for (size_t i = 0; i < l.n; i++)
        memset(pa_page_address(l.v[i].page), 0x5c, T_PAGE);
    t_blocks_free_all(&l);

    size_t m = t_fill(&l, PA_GFP_KERNEL | PA_GFP_ZERO, 0);
    ck_assert_uint_gt(m, n / 2);
    for (size_t i = 0; i < l.n; i++) {
        const unsigned char *a = pa_page_address(l.v[i].page);
        long bad = t_first_not(a, 0, T_PAGE);
        ck_assert_msg(bad < 0, "page %zu byte %ld is %#x after PA_GFP_ZERO", i, bad,
                      bad < 0 ? 0 : a[bad]);
    }
    t_blocks_free_all(&l);

    /* Higher orders, including the max order, are zeroed over their whole size. */
    for (unsigned int order = 1; order <= PA_MAX_ORDER; order += 3) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(p);
        memset(pa_page_address(p), 0x77, T_PAGE << order);
        pa_free_pages(p, order);
        p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ZERO, order);
        ck_assert_ptr_nonnull(p);
        const unsigned char *a = pa_page_address(p);
        long bad = t_first_not(a, 0, T_PAGE << order);
        ck_assert_msg(bad < 0, "order %u byte %ld is %#x", order, bad, bad < 0 ? 0 : a[bad]);
        pa_free_pages(p, order);
    }
    t_blocks_release(&l);
}
END_TEST

START_TEST(test_compound)
{
    setup_one_zone();
    const unsigned int order = 4; /* above the per-CPU lists: nr_free_pages moves at once */
    unsigned long free0 = t_settle(PA_GFP_KERNEL);
    struct pa_page *head = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_COMP, order);
    ck_assert_ptr_nonnull(head);
    ck_assert_uint_eq(t_nr_free(), free0 - (1UL << order));
    unsigned long pfn = pa_page_to_pfn(head);
    ck_assert_uint_eq(pa_compound_order(head), order);
    ck_assert_ptr_eq(pa_compound_head(head), head);
    for (unsigned long i = 1; i < (1UL << order); i++) {
        struct pa_page *tail = pa_pfn_to_page(pfn + i);
        ck_assert_ptr_nonnull(tail);
        ck_assert_msg(pa_compound_head(tail) == head, "tail %lu: wrong head", i);
    }
    ck_assert_int_eq(pa_page_count(head), 1);

    /* A reference taken through a tail lands on the head. */
    struct pa_page *tail = pa_pfn_to_page(pfn + 3);
    pa_get_page(tail);
    ck_assert_int_eq(pa_page_count(head), 2);
    pa_put_page(tail);
    ck_assert_int_eq(pa_page_count(head), 1);
    ck_assert_uint_eq(t_nr_free(), free0 - (1UL << order));
    /* The last put frees the whole compound page. */
    pa_put_page(head);
    ck_assert_uint_eq(t_nr_free(), free0);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* A non-compound block has compound order 0 and is its own head. */
    struct pa_page *plain = pa_alloc_pages(PA_GFP_KERNEL, 2);
    ck_assert_ptr_nonnull(plain);
    ck_assert_uint_eq(pa_compound_order(plain), 0);
    ck_assert_ptr_eq(pa_compound_head(plain), plain);
    pa_free_pages(plain, 2);

    /* Compound + put_page path with an order on the per-CPU lists. */
    head = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_COMP, 1);
    ck_assert_ptr_nonnull(head);
    ck_assert_uint_eq(pa_compound_order(head), 1);
    ck_assert_ptr_eq(pa_compound_head(pa_pfn_to_page(pa_page_to_pfn(head) + 1)), head);
    pa_put_page(head);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_refcount)
{
    setup_one_zone();
    const unsigned int order = 5;
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_count(p), 1);
    pa_get_page(p);
    ck_assert_int_eq(pa_page_count(p), 2);
    /* __free_pages drops one reference: the head stays allocated. */
    pa_free_pages(p, order);
    ck_assert_int_eq(pa_page_count(p), 1);
    ck_assert_msg(!PageBuddy(p), "the still-referenced head went back to the buddy");
    memset(pa_page_address(p), 0x33, T_PAGE); /* still ours */
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_uint_lt(t_nr_free_settled(), warm);
    pa_put_page(p);
    ck_assert_int_eq(pa_page_count(p), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* Every page of the block is free again (whether the tails went back at
     * __free_pages time, as the kernel does, or with the head). */
    ck_assert_uint_eq(t_nr_free_settled(), warm);

    /* Order 0: get, free, put. */
    struct pa_page *q = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(q);
    pa_get_page(q);
    pa_free_pages(q, 0);
    ck_assert_int_eq(pa_page_count(q), 1);
    ck_assert_uint_eq(t_nr_free_settled(), warm - 1);
    pa_put_page(q);
    ck_assert_int_eq(pa_page_count(q), 0);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_alloc_pages_exact)
{
    setup_one_zone();
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    const size_t size = 5 * T_PAGE + 1; /* 6 pages: an order-3 block minus 2 */
    char *addr = pa_alloc_pages_exact(size, PA_GFP_KERNEL);
    ck_assert_ptr_nonnull(addr);
    ck_assert_uint_eq((uintptr_t)addr % T_PAGE, 0);
    memset(addr, 0xab, 6 * T_PAGE);
    struct pa_page *first = pa_virt_to_page(addr);
    ck_assert_ptr_nonnull(first);
    unsigned long pfn = pa_page_to_pfn(first);
    /* Six pages in use, the two after them handed back. */
    for (unsigned long i = 0; i < 6; i++)
        ck_assert_msg(pa_page_count(pa_pfn_to_page(pfn + i)) == 1, "page %lu of 6 has count %d", i,
                      pa_page_count(pa_pfn_to_page(pfn + i)));
    for (unsigned long i = 6; i < 8; i++)
        ck_assert_msg(pa_page_count(pa_pfn_to_page(pfn + i)) == 0,
                      "page %lu (beyond the 6) still referenced", i);
    unsigned long now = t_nr_free_settled();
    ck_assert_msg(warm - now == 6, "alloc_pages_exact(5 pages + 1) took %ld pages",
                  (long)(warm - now));
    ck_assert_int_eq(pa_check_invariants(), 0);
    pa_free_pages_exact(addr, size);
    for (unsigned long i = 0; i < 6; i++)
        ck_assert_int_eq(pa_page_count(pa_pfn_to_page(pfn + i)), 0);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* Exactly one page, and a whole max-order block. */
    addr = pa_alloc_pages_exact(T_PAGE, PA_GFP_KERNEL);
    ck_assert_ptr_nonnull(addr);
    ck_assert_uint_eq(t_nr_free_settled(), warm - 1);
    pa_free_pages_exact(addr, T_PAGE);
    addr = pa_alloc_pages_exact(T_PAGE << PA_MAX_ORDER, PA_GFP_KERNEL);
    ck_assert_ptr_nonnull(addr);
    ck_assert_uint_eq((uintptr_t)addr % T_PAGE, 0);
    ck_assert_uint_eq(t_nr_free_settled(), warm - (1UL << PA_MAX_ORDER));
    pa_free_pages_exact(addr, T_PAGE << PA_MAX_ORDER);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* Sizes no block can hold are bad arguments. */
    errno = 0;
    ck_assert_ptr_null(pa_alloc_pages_exact(0, PA_GFP_KERNEL));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_pages_exact((T_PAGE << PA_MAX_ORDER) + 1, PA_GFP_KERNEL));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
}
END_TEST

START_TEST(test_address_mappings)
{
    setup_one_zone();
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order += 2) {
        char *addr = pa_get_free_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(addr);
        ck_assert_uint_eq((uintptr_t)addr % (T_PAGE << order), 0);
        struct pa_page *p = pa_virt_to_page(addr);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_eq(pa_page_address(p), addr);
        /* An address inside a page maps to that page. */
        ck_assert_ptr_eq(pa_virt_to_page(addr + 100), p);
        ck_assert_ptr_eq(pa_virt_to_page(addr + T_PAGE - 1), p);
        unsigned long pfn = pa_page_to_pfn(p);
        ck_assert_ptr_eq(pa_pfn_to_page(pfn), p);
        if (order > 0) {
            struct pa_page *second = pa_virt_to_page(addr + T_PAGE);
            ck_assert_ptr_nonnull(second);
            ck_assert_uint_eq(pa_page_to_pfn(second), pfn + 1);
            ck_assert_ptr_eq(pa_page_address(second), addr + T_PAGE);
        }
        ck_assert_int_eq(pa_page_to_nid(p), 0);
        pa_free_pages_addr(addr, order);
    }
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(pa_virt_to_page(pa_page_address(p)), p);
    ck_assert_ptr_eq(pa_pfn_to_page(pa_page_to_pfn(p)), p);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_foreign_lookups)
{
    setup_one_zone();
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    void *heap = malloc(3 * T_PAGE);
    ck_assert_ptr_nonnull(heap);
    int on_stack = 0;
    const void *foreign[] = {heap, &on_stack, (void *)4096, (void *)&test_foreign_lookups, NULL};
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        errno = 0;
        ck_assert_msg(pa_virt_to_page(foreign[i]) == NULL, "foreign pointer %p has a page",
                      foreign[i]);
        ck_assert_msg(errno == EINVAL, "foreign %p: errno %d", foreign[i], errno);
    }
    errno = 0;
    ck_assert_ptr_null(pa_pfn_to_page(~0UL >> 1));
    ck_assert_int_eq(errno, EINVAL);
    free(heap);
    pa_free_pages(p, 0);
}
END_TEST

static Suite *page_alloc_suite(void)
{
    Suite *s = suite_create("page_alloc");
    TCase *tc = t_tcase(s, "api", 60);
    tcase_add_test(tc, test_alignment_every_order);
    tcase_add_test(tc, test_bad_order);
    tcase_add_test(tc, test_bad_gfp_combinations);
    tcase_add_test(tc, test_bad_nid);
    tcase_add_test(tc, test_address_mappings);
    tcase_add_test(tc, test_foreign_lookups);
    tc = t_tcase(s, "exhaustion", 120);
    tcase_add_test(tc, test_exhaustion_and_recovery);
    tcase_add_test(tc, test_atomic_goes_deeper);
    tcase_add_test(tc, test_failure_report);
    tc = t_tcase(s, "contents", 120);
    tcase_add_test(tc, test_gfp_zero);
    tcase_add_test(tc, test_compound);
    tcase_add_test(tc, test_refcount);
    tcase_add_test(tc, test_alloc_pages_exact);
    return s;
}

int main(void)
{
    return t_run_suite(page_alloc_suite());
}

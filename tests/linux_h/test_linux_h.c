/* SPDX-License-Identifier: MIT */
/*
 * <pagealloc/linux.h>: kernel-style code (kernel_code.c, written with the
 * kernel's names only) runs against the library, and the results are
 * checked here with the pa_ API: nothing leaks, nothing is corrupted, the
 * invariant walker stays clean.
 */
#include "../pa_test.h"

#include "kernel_code.h"

extern int kc_fail_line;
int coexist_numaif_first(void);
int coexist_linux_first(void);

#define KC_OK(call)                                                                                \
    do {                                                                                           \
        kc_fail_line = 0;                                                                          \
        int rc_ = (call);                                                                          \
        ck_assert_msg(rc_ == 0, "%s = %d (kernel_code.c:%d)", #call, rc_, kc_fail_line);          \
    } while (0)

static void setup_env(void)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* Everything a kc_ function took must be back: free pages as before.  The
 * first call brings every zone fully online, so later growth cannot hide a
 * leak. */
static unsigned long settled(void)
{
    static bool warm;
    if (!warm) {
        warm = true;
        t_settle(PA_GFP_HIGHUSER_MOVABLE);
    }
    /* t_drain() reaches the internal drain only in static test builds;
     * this test links the shared library, so drain through the API. */
    pa_drain_all_pages();
    return t_nr_free();
}

START_TEST(test_sizes_and_constants)
{
    setup_env();
    /* struct page is the descriptor: pointer arithmetic reaches the next pfn */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 1);
    ck_assert_ptr_nonnull(p);
    char *a = pa_page_address(p);
    struct page *kp = virt_to_page(a);
    ck_assert_ptr_eq((void *)kp, (void *)p);
    ck_assert_ptr_eq((void *)virt_to_page(a + PAGE_SIZE), (void *)(kp + 1));
    ck_assert_ptr_eq((void *)(kp + 1), (void *)pa_virt_to_page(a + PA_PAGE_SIZE));
    pa_free_pages(p, 1);

    ck_assert_uint_eq(PAGE_SIZE, PA_PAGE_SIZE);
    ck_assert_int_eq(MAX_PAGE_ORDER, PA_MAX_ORDER);
    ck_assert_int_eq(NR_PAGE_ORDERS, PA_MAX_ORDER + 1);
    ck_assert_uint_eq(GFP_KERNEL, PA_GFP_KERNEL);
    ck_assert_uint_eq(GFP_ATOMIC, PA_GFP_ATOMIC);
    ck_assert_uint_eq(GFP_HIGHUSER_MOVABLE, PA_GFP_HIGHUSER_MOVABLE);
    ck_assert_uint_eq(GFP_KERNEL_ACCOUNT, PA_GFP_KERNEL | PA_GFP_ACCOUNT);
    ck_assert_uint_eq(GFP_NOFS & __GFP_FS, 0);
    ck_assert(gfpflags_allow_blocking(GFP_KERNEL));
    ck_assert(!gfpflags_allow_blocking(GFP_ATOMIC));
    ck_assert(!gfpflags_allow_blocking(GFP_NOWAIT));
    ck_assert(gfp_has_io_fs(GFP_KERNEL) && !gfp_has_io_fs(GFP_NOIO));
    ck_assert_int_eq(get_order(1), 0);
    ck_assert_int_eq(get_order(PAGE_SIZE), 0);
    ck_assert_int_eq(get_order(PAGE_SIZE + 1), 1);
    ck_assert_int_eq(get_order(3 * PAGE_SIZE), 2);
    ck_assert_int_eq(get_order(PAGE_SIZE << 10), 10);
    ck_assert_uint_eq(PAGE_ALIGN(1), PAGE_SIZE);
    ck_assert_uint_eq(PAGE_ALIGN(PAGE_SIZE), PAGE_SIZE);
    ck_assert_uint_eq(PFN_UP(PAGE_SIZE + 1), 2);
    ck_assert_int_eq(ZONE_MOVABLE, PA_ZONE_MOVABLE);
    ck_assert_int_eq(coexist_numaif_first(), MPOL_BIND + 1);
    ck_assert_int_eq(coexist_linux_first(), MPOL_INTERLEAVE);
}
END_TEST

START_TEST(test_block_roundtrip_all_orders)
{
    setup_env();
    unsigned long before = settled();
    for (unsigned int order = 0; order <= MAX_PAGE_ORDER; order++) {
        KC_OK(kc_block_roundtrip(order, GFP_KERNEL));
        KC_OK(kc_block_roundtrip(order, GFP_KERNEL | __GFP_ZERO));
        KC_OK(kc_block_roundtrip(order, GFP_HIGHUSER_MOVABLE | __GFP_ZERO));
    }
    ck_assert_uint_eq(settled(), before);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_refcounts_and_compound)
{
    setup_env();
    unsigned long before = settled();
    KC_OK(kc_refcounts());
    KC_OK(kc_put_page_block());
    for (unsigned int order = 1; order <= 4; order++)
        KC_OK(kc_compound(order));
    ck_assert_uint_eq(settled(), before);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_address_forms)
{
    setup_env();
    unsigned long before = settled();
    KC_OK(kc_zeroed_page());
    for (unsigned int order = 0; order <= 5; order++)
        KC_OK(kc_address_forms(order));
    KC_OK(kc_exact(1));
    KC_OK(kc_exact(3 * PAGE_SIZE + 5));
    KC_OK(kc_exact(5 * PAGE_SIZE));
    ck_assert_uint_eq(settled(), before);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_ring)
{
    setup_env();
    unsigned long before = settled();
    struct page *slots[5];
    struct pring r;
    ck_assert_int_eq(pring_init(&r, slots, 5, NUMA_NO_NODE, GFP_KERNEL), 0);

    /* push more than the ring holds through it, in odd-sized pieces */
    static unsigned char in[3 * 4096 + 123], out[sizeof(in)];
    unsigned long total_in = 0, total_out = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(in); i++)
            in[i] = (unsigned char)(round * 31 + i * 7);
        ck_assert_uint_eq(pring_write(&r, in, sizeof(in)), sizeof(in));
        ck_assert_uint_eq(pring_read(&r, out, sizeof(out)), sizeof(out));
        ck_assert_mem_eq(in, out, sizeof(in));
        total_in += sizeof(in);
        total_out += sizeof(out);
    }
    ck_assert_uint_eq(total_in, total_out);
    /* full: a write stops at the capacity */
    static unsigned char big[6 * 4096];
    ck_assert_uint_eq(pring_write(&r, big, sizeof(big)), 5 * PAGE_SIZE);
    ck_assert_uint_eq(pring_write(&r, big, 1), 0);
    pring_destroy(&r);
    ck_assert_uint_eq(settled(), before);
}
END_TEST

START_TEST(test_nodes_and_policy)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    KC_OK(kc_nodes());
    KC_OK(kc_policy_bind(1));
    KC_OK(kc_policy_bind(0));
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_dma_zone)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "4M");
    ck_assert_int_eq(pa_init(NULL), 0);
    KC_OK(kc_dma());
}
END_TEST

/* A bad free through the kernel names is refused and reported, as pa_'s. */
START_TEST(test_bad_free_refused)
{
    setup_env();
    struct page *page = alloc_pages(GFP_KERNEL, 2);
    ck_assert_ptr_nonnull(page);
    unsigned long before = settled();
    struct t_capture cap;
    t_capture_begin(&cap);
    __free_pages(page + 1, 2);                /* misaligned for the order */
    __free_pages(page, 1);                    /* wrong order */
    char *err = t_capture_end(&cap);
    ck_assert_int_ge(t_count_lines_with(err, "BUG: Bad page state"), 2);
    free(err);
    ck_assert_int_eq(page_count(page), 1);
    ck_assert_uint_eq(settled(), before);
    __free_pages(page, 2);
    t_capture_begin(&cap);
    __free_pages(page, 2);                    /* double free */
    err = t_capture_end(&cap);
    ck_assert_ptr_nonnull(strstr(err, "double free"));
    free(err);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static Suite *linux_h_suite(void)
{
    Suite *s = suite_create("linux_h");
    TCase *tc = tcase_create("kernel_style");
    tcase_add_test(tc, test_sizes_and_constants);
    tcase_add_test(tc, test_block_roundtrip_all_orders);
    tcase_add_test(tc, test_refcounts_and_compound);
    tcase_add_test(tc, test_address_forms);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_nodes_and_policy);
    tcase_add_test(tc, test_dma_zone);
    tcase_add_test(tc, test_bad_free_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(linux_h_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: MIT */
/*
 * Bad input and debug modes (src/debug.c): bad frees are reported and
 * refused, PAGEALLOC_DEBUG=checks turns them into "BUG: Bad page state"
 * and an abort, PAGEALLOC_DEBUG=poison fills freed pages with 0xaa and
 * catches writes to them.
 */
#include "pa_test.h"

#include "internal.h"

static void setup_nodebug(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_uint_eq(pa_opt.debug, 0);
}

/*
 * Run one bad call and check it was reported and refused: something on
 * stderr, nr_free_pages untouched, pa_bad_page counted, invariants intact.
 * Returns the report (malloc'd).
 */
#define EXPECT_REFUSED(what, call)                                                           \
    ({                                                                                       \
        unsigned long free0_ = t_nr_free(), bad0_ = t_vmstat("pa_bad_page");                 \
        struct t_capture cap_;                                                               \
        t_capture_begin(&cap_);                                                              \
        call;                                                                                \
        char *err_ = t_capture_end(&cap_);                                                   \
        ck_assert_msg(err_[0] != '\0', "%s: nothing reported on stderr", what);              \
        ck_assert_msg(t_nr_free() == free0_, "%s: nr_free_pages %lu -> %lu", what, free0_,   \
                      t_nr_free());                                                          \
        ck_assert_msg(t_vmstat("pa_bad_page") > bad0_, "%s: pa_bad_page not counted", what); \
        ck_assert_msg(pa_check_invariants() == 0, "%s: invariants broken", what);            \
        err_;                                                                                \
    })

/* The report names the problem: one of the words must appear (any case). */
static void assert_names(const char *err, const char *what, const char *const *words)
{
    for (const char *const *w = words; *w; w++)
        if (strcasestr(err, *w))
            return;
    ck_abort_msg("%s: the report does not name the problem (wanted \"%s\"...): %s", what, words[0],
                 err);
}

static const char *const DOUBLE_FREE_WORDS[] = {"double free", "already free", "free page",
                                                "refcount", "not allocated", NULL};

START_TEST(test_double_free)
{
    setup_nodebug();
    t_settle(PA_GFP_KERNEL);
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order += 4) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(p);
        pa_free_pages(p, order);
        char *err = EXPECT_REFUSED("double pa_free_pages", pa_free_pages(p, order));
        assert_names(err, "double pa_free_pages", DOUBLE_FREE_WORDS);
        free(err);
        ck_assert_int_eq(page_ref_count(p), 0);
    }
    /* The allocator still works, and nothing was lost or doubled. */
    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_uint_gt(n, 15000);
    ck_assert_uint_le(n, 16384);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_double_free_addr)
{
    setup_nodebug();
    for (unsigned int order = 0; order <= 5; order += 5) {
        void *a = pa_get_free_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(a);
        pa_free_pages_addr(a, order);
        char *err = EXPECT_REFUSED("double pa_free_pages_addr", pa_free_pages_addr(a, order));
        assert_names(err, "double pa_free_pages_addr", DOUBLE_FREE_WORDS);
        free(err);
    }
    void *a = pa_get_free_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(a);
    pa_free_pages_addr(a, 0);
}
END_TEST

START_TEST(test_wrong_order)
{
    setup_nodebug();
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 4);
    ck_assert_ptr_nonnull(p);
    static const char *const words[] = {"order", NULL};
    char *err = EXPECT_REFUSED("free with a larger order", pa_free_pages(p, 5));
    assert_names(err, "free with a larger order", words);
    free(err);
    err = EXPECT_REFUSED("free with a smaller order", pa_free_pages(p, 1));
    assert_names(err, "free with a smaller order", words);
    free(err);
    /* Still allocated and intact; the right order frees it. */
    ck_assert_int_eq(pa_page_count(p), 1);
    memset(pa_page_address(p), 0, T_PAGE << 4);
    pa_free_pages(p, 4);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_misaligned_address)
{
    setup_nodebug();
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    char *a = pa_get_free_pages(PA_GFP_KERNEL, 1);
    ck_assert_ptr_nonnull(a);
    char *err = EXPECT_REFUSED("free of block + 4096", pa_free_pages_addr(a + T_PAGE, 1));
    free(err);
    err = EXPECT_REFUSED("free of block + 4096 as order 0", pa_free_pages_addr(a + T_PAGE, 0));
    free(err);
    err = EXPECT_REFUSED("free of block + 100", pa_free_pages_addr(a + 100, 1));
    free(err);
    memset(a, 0, 2 * T_PAGE);
    pa_free_pages_addr(a, 1);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_free_compound_tail)
{
    setup_nodebug();
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    struct pa_page *head = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_COMP, 3);
    ck_assert_ptr_nonnull(head);
    struct pa_page *tail = pa_pfn_to_page(pa_page_to_pfn(head) + 2);
    static const char *const words[] = {"tail", "compound", NULL};
    char *err = EXPECT_REFUSED("free of a compound tail", pa_free_pages(tail, 0));
    assert_names(err, "free of a compound tail", words);
    free(err);
    err = EXPECT_REFUSED("free_pages_addr of a compound tail",
                         pa_free_pages_addr(pa_page_address(tail), 0));
    free(err);
    ck_assert_int_eq(pa_page_count(head), 1);
    ck_assert_uint_eq(pa_compound_order(head), 3);
    pa_put_page(head);
    ck_assert_uint_eq(t_nr_free_settled(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_foreign_pointers)
{
    setup_nodebug();
    struct pa_page *keep = pa_alloc_pages(PA_GFP_KERNEL, 0); /* something allocated */
    ck_assert_ptr_nonnull(keep);
    char *heap = malloc(8 * T_PAGE);
    ck_assert_ptr_nonnull(heap);
    char *heap_aligned = (char *)(((uintptr_t)heap + T_PAGE - 1) & ~(T_PAGE - 1));
    char stack_buf[64];
    static const char *const words[] = {"foreign", "not a page", "not from", "unknown", "invalid",
                                        "bad pointer", "not allocated", "not an address",
                                        "arena", NULL};
    char *err = EXPECT_REFUSED("free of malloc'd memory", pa_free_pages_addr(heap_aligned, 0));
    assert_names(err, "free of malloc'd memory", words);
    free(err);
    err = EXPECT_REFUSED("free of a stack address", pa_free_pages_addr(stack_buf, 0));
    free(err);
    err = EXPECT_REFUSED("free of NULL+4096", pa_free_pages_addr((void *)4096, 0));
    free(err);
    err = EXPECT_REFUSED("free_pages_exact of malloc'd memory",
                         pa_free_pages_exact(heap_aligned, T_PAGE));
    free(err);
    /* The memory we passed is untouched by the refusal. */
    heap_aligned[0] = 1;
    free(heap);
    pa_free_pages(keep, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PAGEALLOC_DEBUG=checks                                              */
/* ------------------------------------------------------------------ */

static void double_free_child(void *arg)
{
    unsigned int order = *(const unsigned int *)arg;
    t_env_reset();
    setenv("PAGEALLOC_DEBUG", "checks", 1);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
    t_child_check(p != NULL);
    pa_free_pages(p, order);
    pa_free_pages(p, order);
    fprintf(stderr, "CHILD: survived a double free with PAGEALLOC_DEBUG=checks\n");
    _exit(97);
}

START_TEST(test_checks_double_free_aborts)
{
    unsigned int orders[] = {0, 5};
    for (size_t i = 0; i < 2; i++) {
        struct t_child c;
        t_run_child(double_free_child, &orders[i], &c);
        char st[64];
        ck_assert_msg(t_aborted(&c), "order %u: child %s, want SIGABRT\n%s", orders[i],
                      t_describe_status(&c, st, sizeof(st)), c.err);
        ck_assert_msg(strstr(c.err, "BUG: Bad page state") != NULL, "no \"BUG: Bad page state\": %s",
                      c.err);
        ck_assert_msg(strstr(c.err, "pfn:") != NULL, "report without \"pfn:\": %s", c.err);
        /* A reason follows the header. */
        const char *after = strstr(c.err, "BUG: Bad page state");
        ck_assert_msg(strlen(after) > strlen("BUG: Bad page state") + 20, "bare report: %s", c.err);
        free(c.err);
    }
}
END_TEST

/* pagealloc.h: "Freeing a pointer the library did not hand out, or freeing
 * twice, is reported on stderr and refused; with PAGEALLOC_DEBUG=checks it
 * aborts with "BUG: Bad page state"." */
static void foreign_free_child(void *arg)
{
    int which = *(const int *)arg;
    t_env_reset();
    setenv("PAGEALLOC_DEBUG", "checks", 1);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0); /* initialised, in use */
    t_child_check(p != NULL);
    char *heap = malloc(4 * T_PAGE);
    char *aligned = (char *)(((uintptr_t)heap + T_PAGE - 1) & ~(T_PAGE - 1));
    if (which == 0)
        pa_free_pages_addr(aligned, 0);
    else
        pa_free_pages_addr((char *)pa_page_address(p) + 100, 0);
    fprintf(stderr, "CHILD: survived a bad free with PAGEALLOC_DEBUG=checks\n");
    _exit(97);
}

START_TEST(test_checks_bad_pointer_aborts)
{
    static const int which[] = {0, 1};
    static const char *const what[] = {"malloc'd pointer", "address inside a page"};
    for (size_t i = 0; i < 2; i++) {
        struct t_child c;
        t_run_child(foreign_free_child, (void *)&which[i], &c);
        char st[64];
        ck_assert_msg(t_aborted(&c), "%s: child %s, want SIGABRT\n%s", what[i],
                      t_describe_status(&c, st, sizeof(st)), c.err);
        ck_assert_msg(strstr(c.err, "BUG: Bad page state") != NULL,
                      "%s: the abort report lacks \"BUG: Bad page state\": %s", what[i], c.err);
        free(c.err);
    }
}
END_TEST

static void good_use_child(void *arg)
{
    (void)arg;
    t_env_reset();
    setenv("PAGEALLOC_DEBUG", "checks", 1);
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | (order & 1 ? PA_GFP_COMP : 0), order);
        t_child_check(p != NULL);
        memset(pa_page_address(p), 0x3c, T_PAGE << order);
        if (order & 1)
            pa_put_page(p);
        else
            pa_free_pages(p, order);
    }
    void *e = pa_alloc_pages_exact(3 * T_PAGE, PA_GFP_KERNEL);
    t_child_check(e != NULL);
    pa_free_pages_exact(e, 3 * T_PAGE);
    t_child_check(pa_check_invariants() == 0);
}

START_TEST(test_checks_correct_use_is_quiet)
{
    struct t_child c;
    t_run_child(good_use_child, NULL, &c);
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "child %s\n%s", t_describe_status(&c, st, sizeof(st)), c.err);
    ck_assert_msg(strstr(c.err, "BUG") == NULL, "report on correct use: %s", c.err);
    free(c.err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PAGEALLOC_DEBUG=poison                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_poison_fills_freed_pages)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "poison");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order += 3) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(p);
        unsigned char *a = pa_page_address(p);
        size_t size = T_PAGE << order;
        memset(a, 0x11, size);
        pa_free_pages(p, order);
        /* The arena stays mapped: read the freed block through the old address. */
        long bad = t_first_not(a, 0xaa, size);
        ck_assert_msg(bad < 0, "order %u: freed byte %ld is %#x, want 0xaa", order, bad,
                      bad < 0 ? 0 : a[bad]);
    }
    /* PA_GFP_ZERO still hands out zeroes. */
    struct pa_page *z = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ZERO, 2);
    ck_assert_ptr_nonnull(z);
    const unsigned char *za = pa_page_address(z);
    ck_assert_int_eq(t_first_not(za, 0, 4 * T_PAGE), -1);
    pa_free_pages(z, 2);
}
END_TEST

struct poison_arg {
    unsigned int order;
};

static void poison_corruption_child(void *arg)
{
    unsigned int order = ((struct poison_arg *)arg)->order;
    t_env_reset();
    setenv("PAGEALLOC_DEBUG", "poison", 1);
    setenv("PAGEALLOC_DMA_SIZE", "0", 1);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
    t_child_check(p != NULL);
    unsigned long pfn = pa_page_to_pfn(p);
    unsigned char *a = pa_page_address(p);
    pa_free_pages(p, order);
    t_child_check(a[0] == 0xaa);
    a[123] = 0x00; /* use after free */
    fprintf(stderr, "CHILD: corrupted pfn %lu\n", pfn);
    /* Allocate until that page comes back (or memory runs out). */
    size_t n = 0;
    for (;;) {
        struct pa_page *q = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, order);
        if (!q)
            break;
        n++;
        unsigned long qpfn = pa_page_to_pfn(q);
        if (pfn >= qpfn && pfn < qpfn + (1UL << order))
            break;
    }
    fprintf(stderr, "CHILD: %zu allocations\n", n);
}

START_TEST(test_poison_detects_use_after_free)
{
    struct poison_arg args[] = {{0}, {4}};
    for (size_t i = 0; i < 2; i++) {
        struct t_child c;
        t_run_child(poison_corruption_child, &args[i], &c);
        char st[64];
        ck_assert_msg(t_exited_ok(&c), "order %u: child %s\n%s", args[i].order,
                      t_describe_status(&c, st, sizeof(st)), c.err);
        const char *bug = strstr(c.err, "BUG: Bad page state");
        ck_assert_msg(bug != NULL, "order %u: no bad-page report for a write to a freed page: %s",
                      args[i].order, c.err);
        ck_assert_msg(strcasestr(bug, "poison") != NULL, "the report does not mention poison: %s",
                      c.err);
        free(c.err);
    }
}
END_TEST

static Suite *debug_suite(void)
{
    Suite *s = suite_create("debug");
    TCase *tc = t_tcase(s, "refused", 60);
    tcase_add_test(tc, test_double_free);
    tcase_add_test(tc, test_double_free_addr);
    tcase_add_test(tc, test_wrong_order);
    tcase_add_test(tc, test_misaligned_address);
    tcase_add_test(tc, test_free_compound_tail);
    tcase_add_test(tc, test_foreign_pointers);
    tc = t_tcase(s, "checks", 60);
    tcase_add_test(tc, test_checks_double_free_aborts);
    tcase_add_test(tc, test_checks_bad_pointer_aborts);
    tcase_add_test(tc, test_checks_correct_use_is_quiet);
    tc = t_tcase(s, "poison", 60);
    tcase_add_test(tc, test_poison_fills_freed_pages);
    tcase_add_test(tc, test_poison_detects_use_after_free);
    return s;
}

int main(void)
{
    return t_run_suite(debug_suite());
}

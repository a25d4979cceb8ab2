/* SPDX-License-Identifier: MIT */
/*
 * A standing adversarial probe: what a new user gets wrong, run in every
 * configuration CI runs.  Misuse of the page API in the default
 * configuration and with PAGEALLOC_DEBUG=checks (each is refused with a
 * message saying what is wrong, and the allocator stays consistent),
 * garbage in every environment variable (one message naming it at most,
 * never a raw unprintable byte, and the library works), exhaustion and
 * recovery.  The shim's side of the probe is tests/shim/.
 */
#include "pa_test.h"

#include <limits.h>

#include "internal.h"

/* _i: 0 the default configuration, 1 PAGEALLOC_DEBUG=checks */
static void setup(int checks)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    if (checks)
        t_setenv("PAGEALLOC_DEBUG", "checks");
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* One misuse, run in a child: it is refused with a message containing
 * what (by default the child goes on; with checks it may abort after the
 * report, as the kernel's VM_BUG_ON would). */
struct misuse {
    int checks;
    void (*fn)(void);
};

static void misuse_child(void *arg)
{
    struct misuse *m = arg;
    m->fn();
    t_child_check(pa_check_invariants() == 0);
}

static void expect_refused(int checks, void (*fn)(void), const char *what)
{
    struct misuse m = { checks, fn };
    struct t_child c;
    t_run_child(misuse_child, &m, &c);
    ck_assert_msg(strstr(c.err, what) != NULL, "wanted \"%s\", got: %s", what, c.err);
    ck_assert_msg(t_exited_ok(&c) || (checks && t_aborted(&c)), "status %#x: %s", c.status, c.err);
    free(c.err);
}

static void *page_addr;

static void free_order_64(void) { pa_free_pages_addr(page_addr, 64); }
static void free_order_uint_max(void) { pa_free_pages_addr(page_addr, UINT_MAX); }
static void free_order_max_plus_1(void) { pa_free_pages_addr(page_addr, PA_MAX_ORDER + 1); }

/* Orders past MAX_ORDER are refused before they are used in a shift
 * (UBSan aborts on the shift by 64 the old check made). */
START_TEST(test_free_addr_bad_order)
{
    setup(_i);
    page_addr = pa_get_free_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(page_addr);
    expect_refused(_i, free_order_64, "order out of range");
    expect_refused(_i, free_order_uint_max, "order out of range");
    expect_refused(_i, free_order_max_plus_1, "order out of range");
    pa_free_pages_addr(page_addr, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static void free_interior(void) { pa_free_pages(pa_virt_to_page((char *)page_addr + T_PAGE), 0); }
static void free_interior_last(void) { pa_free_pages(pa_virt_to_page((char *)page_addr + 7 * T_PAGE), 0); }
static void free_interior_addr(void) { pa_free_pages_addr((char *)page_addr + 2 * T_PAGE, 1); }
static void free_whole_then_page(void)
{
    pa_free_pages_addr(page_addr, 3);
    pa_free_pages(pa_virt_to_page((char *)page_addr + T_PAGE), 0);
}

/* Freeing a page inside an allocated block says so, not "not allocated". */
START_TEST(test_free_interior_page)
{
    setup(_i);
    page_addr = pa_get_free_pages(PA_GFP_KERNEL, 3);
    ck_assert_ptr_nonnull(page_addr);
    expect_refused(_i, free_interior, "inside an allocated order-3 block");
    expect_refused(_i, free_interior_last, "inside an allocated order-3 block");
    expect_refused(_i, free_interior_addr, "inside an allocated order-3 block");
    /* once the block is free, the same page is a double free */
    expect_refused(_i, free_whole_then_page, "not allocated");
    pa_free_pages_addr(page_addr, 3);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static char foreign[2 * 4096];
static void free_wrong_order(void) { pa_free_pages_addr(page_addr, 1); }
static void free_foreign_addr(void) { pa_free_pages_addr(foreign, 0); }
static void free_foreign_page(void) { pa_free_pages((struct pa_page *)(void *)foreign, 0); }
static void double_free(void)
{
    pa_free_pages_addr(page_addr, 2);
    pa_free_pages_addr(page_addr, 2);
}

/* The misuse that already held, kept held. */
START_TEST(test_misuse_refused)
{
    setup(_i);
    page_addr = pa_get_free_pages(PA_GFP_KERNEL, 2);
    ck_assert_ptr_nonnull(page_addr);
    expect_refused(_i, free_wrong_order, "allocated with order 2");
    expect_refused(_i, free_foreign_addr, "not an address of the arenas");
    expect_refused(_i, free_foreign_page, "not a page descriptor");
    expect_refused(_i, double_free, "double free");
    pa_free_pages_addr(page_addr, 2);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Exhaustion gives NULL with ENOMEM; everything comes back after the frees. */
START_TEST(test_exhaustion_and_recovery)
{
    setup(_i);
    for (int round = 0; round < 2; round++) {
        struct t_blocks l = {0};
        size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
        ck_assert_uint_gt(n, 1000);
        errno = 0;
        ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0));
        ck_assert_int_eq(errno, ENOMEM);
        t_blocks_free_all(&l);
        t_blocks_release(&l);
        ck_assert_int_eq(pa_check_invariants(), 0);
        struct pa_page *big = pa_alloc_pages(PA_GFP_KERNEL, 6);
        ck_assert_ptr_nonnull(big);
        pa_free_pages(big, 6);
    }
}
END_TEST

/* Every variable with garbage: pa_init works, at most one line names the
 * variable, nothing unprintable reaches stderr, and pages can be had. */
static const char *const all_vars[] = {
    "PAGEALLOC_NODE_SIZE", "PAGEALLOC_HUGEPAGES", "PAGEALLOC_NUMA_EMULATE",
    "PAGEALLOC_MOVABLECORE", "PAGEALLOC_DMA_SIZE", "PAGEALLOC_DMA32_SIZE",
    "PAGEALLOC_POLICY", "PAGEALLOC_CDM_NODES", "PAGEALLOC_PANIC_ON_OOM",
    "PAGEALLOC_FAIL", "PAGEALLOC_COMPACTION_PROACTIVENESS", "PAGEALLOC_EXTFRAG_THRESHOLD",
    "PAGEALLOC_WATERMARK_BOOST_FACTOR", "PAGEALLOC_DEBUG", "PAGEALLOC_MIN_FREE_KBYTES",
    "PAGEALLOC_WATERMARK_SCALE_FACTOR", "PAGEALLOC_STATS_INTERVAL", "PAGEALLOC_PREFAULT",
    "PAGEALLOC_PCP", "PAGEALLOC_PCP_MAGAZINE", "PAGEALLOC_MOBILITY_GROUPING",
    "PAGEALLOC_CMA", "PAGEALLOC_DIRTY_RATIO", "PAGEALLOC_DYNAMIC_HUGETLB",
    "PAGEALLOC_RELEASE", "PAGEALLOC_RELEASE_ORDER", "PAGEALLOC_PRESSURE",
};
#define NVARS ((int)(sizeof(all_vars) / sizeof(all_vars[0])))
/* four kinds (a sign, overflow, unprintable bytes, a trailing comma): each
 * case is a process with pa_init, about 1 s under TSan, and the suite must
 * stay well inside ctest's 300 s there */
static const char *const garbage[] = {
    "-1", "99999999999999999999999", "\x01\xff", "1,2,",
};
#define NGARBAGE ((int)(sizeof(garbage) / sizeof(garbage[0])))

START_TEST(test_garbage_every_variable)
{
    const char *var = all_vars[_i / NGARBAGE], *val = garbage[_i % NGARBAGE];
    t_env_reset();
    t_setenv(var, val);
    struct t_capture c;
    t_capture_begin(&c);
    int rc = pa_init(NULL);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    char *err = t_capture_end(&c);
    ck_assert_msg(rc == 0, "%s=\"%s\": pa_init failed (errno %d): %s", var, val, errno, err);
    ck_assert_msg(p != NULL, "%s=\"%s\": no page: %s", var, val, err);
    pa_free_pages(p, 0);
    ck_assert_msg(t_count_lines_with(err, var) <= 1, "%s=\"%s\": more than one line: %s", var, val, err);
    for (const unsigned char *b = (const unsigned char *)err; *b; b++)
        ck_assert_msg(*b == '\n' || (*b >= 0x20 && *b < 0x7f), "%s: raw byte %#x in: %s", var, *b, err);
    free(err);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Fork with hugetlb backing and a pool short of spare pages: one warning
 * naming the risk and PAGEALLOC_HUGEPAGES=thp, at the first fork only.
 * Needs root to grow the pool for the test (put back afterwards). */
static void hugetlb_fork_child(void *arg)
{
    (void)arg;
    t_env_reset();
    setenv("PAGEALLOC_HUGEPAGES", "2M", 1);
    setenv("PAGEALLOC_DMA_SIZE", "0", 1);
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL, 0);          /* every section online */
    for (size_t i = 0; i < l.n; i++)       /* and every hugepage faulted in */
        *(volatile char *)pa_page_address(l.v[i].page) = 1;
    if (strcmp(pa_node_backing(0), "hugetlb-2M") != 0) {
        fprintf(stderr, "backing %s, not hugetlb-2M\n", pa_node_backing(0));
        _exit(77);                         /* e.g. under TSan: skipped */
    }
    for (int i = 0; i < 2; i++) {
        pid_t kid = fork();
        t_child_check(kid >= 0);
        if (kid == 0)
            _exit(0);                      /* writes nothing: no SIGBUS */
        int st;
        t_child_check(waitpid(kid, &st, 0) == kid && WIFEXITED(st));
    }
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fprintf(f, "%ld\n", v) < 0;
    return fclose(f) != 0 || rc ? -1 : 0;
}

START_TEST(test_hugetlb_fork_warning)
{
    static const char *const nr = "/proc/sys/vm/nr_hugepages";
    const char *hp = getenv("PAGEALLOC_HUGEPAGES");
    if (hp && strcmp(hp, "none") == 0)
        return;   /* the _nohuge run: it does not hold ctest's nr_hugepages lock */
    long old = read_long(nr);
    /* 64 MiB node: 32 hugepages held; the pool gets 8 spare */
    if (old < 0 || geteuid() != 0 || write_long(nr, old + 40) != 0) {
        fprintf(stderr, "test_hugetlb_fork_warning: cannot grow the hugetlb pool here: skipped\n");
        return;
    }
    long got = read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    struct t_child c = { 0, NULL };
    if (got >= 34)
        t_run_child(hugetlb_fork_child, NULL, &c);
    ck_assert_int_eq(write_long(nr, old), 0);
    if (got < 34) {
        fprintf(stderr, "test_hugetlb_fork_warning: the pool did not grow (%ld free): skipped\n", got);
        return;
    }
    if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 77) {
        fprintf(stderr, "test_hugetlb_fork_warning: no hugetlb backing here: skipped\n");
        free(c.err);
        return;
    }
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "child %s: %s", t_describe_status(&c, st, sizeof(st)), c.err);
    ck_assert_msg(t_count_lines_with(c.err, "SIGBUS") == 1 && strstr(c.err, "PAGEALLOC_HUGEPAGES=thp"),
                  "want one warning: %s", c.err);
    free(c.err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = t_tcase(s, "misuse", 60);
    tcase_add_loop_test(tc, test_free_addr_bad_order, 0, 2);
    tcase_add_loop_test(tc, test_free_interior_page, 0, 2);
    tcase_add_loop_test(tc, test_misuse_refused, 0, 2);
    tcase_add_loop_test(tc, test_exhaustion_and_recovery, 0, 2);
    tcase_add_test(tc, test_hugetlb_fork_warning);
    tc = t_tcase(s, "garbage", 60);
    tcase_add_loop_test(tc, test_garbage_every_variable, 0, NVARS * NGARBAGE);
    return t_run_suite(s);
}

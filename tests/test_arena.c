/* SPDX-License-Identifier: MIT */
/*
 * Arenas and their backing (src/arena.c, src/os.c): lazy sections, the
 * hugetlb -> THP -> 4 KiB chain, physical addresses.
 */
#include "pa_test.h"

#include "internal.h"

#include <pthread.h>
#include <sys/mman.h>

static bool thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return false;
    char buf[256] = "";
    char *ok = fgets(buf, sizeof(buf), f);
    fclose(f);
    return ok && strstr(buf, "[never]") == NULL;
}

static long read_long_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

static int write_long_file(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fprintf(f, "%ld\n", v) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static long free_hugepages_2m(void)
{
    return read_long_file("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
}

static void alloc_something(void)
{
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, PA_MAX_ORDER);
    ck_assert_msg(p != NULL, "NULL (errno %d)", errno);
    memset(pa_page_address(p), 0x42, T_PAGE << PA_MAX_ORDER);
    pa_free_pages(p, PA_MAX_ORDER);
}

/* ------------------------------------------------------------------ */

START_TEST(test_backing_4k)
{
    t_env_reset();
    t_setenv("PAGEALLOC_HUGEPAGES", "none");
    alloc_something();
    const char *b = pa_node_backing(0);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b, "4k");
    char *zi = t_show(pa_show_zoneinfo);
    ck_assert_msg(strstr(zi, "4k") != NULL, "zoneinfo does not name the backing");
    free(zi);
}
END_TEST

START_TEST(test_backing_thp)
{
    t_env_reset();
    t_setenv("PAGEALLOC_HUGEPAGES", "thp");
    alloc_something();
    const char *b = pa_node_backing(0);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b, thp_available() ? "thp" : "4k");
}
END_TEST

START_TEST(test_backing_2m_falls_back)
{
    t_env_reset();
    long free2m = free_hugepages_2m();
    if (free2m > 0) {
        fprintf(stderr, "test_backing_2m_falls_back: %ld free 2M hugepages present; "
                        "the fallback cannot be observed, checking the name only\n", free2m);
    }
    t_setenv("PAGEALLOC_HUGEPAGES", "2M");
    alloc_something();
    const char *b = pa_node_backing(0);
    ck_assert_ptr_nonnull(b);
    if (free2m > 0)
        ck_assert(strcmp(b, "hugetlb-2M") == 0 || strcmp(b, "thp") == 0 || strcmp(b, "4k") == 0);
    else
        ck_assert_str_eq(b, thp_available() ? "thp" : "4k");
}
END_TEST

START_TEST(test_backing_bad_node)
{
    t_env_reset();
    alloc_something();
    errno = 0;
    ck_assert_ptr_null(pa_node_backing(-1));
    ck_assert_ptr_null(pa_node_backing(pa_num_nodes()));
    ck_assert_ptr_null(pa_node_backing(PA_MAX_NUMNODES + 5));
}
END_TEST

/* ------------------------------------------------------------------ */
/* hugetlb, as root: the parent raises nr_hugepages, the child allocates,
 * the parent always restores. */

static void hugetlb_child(void *arg)
{
    (void)arg;
    alarm(60); /* never outlive the parent's restore of nr_hugepages */
    t_env_reset();
    setenv("PAGEALLOC_HUGEPAGES", "2M", 1);
    setenv("PAGEALLOC_NODE_SIZE", "64M", 1);
    t_child_check(pa_init(NULL) == 0);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, PA_MAX_ORDER);
    t_child_check(p != NULL);
    memset(pa_page_address(p), 0x11, T_PAGE << PA_MAX_ORDER);
    const char *b = pa_node_backing(0);
    t_child_check(b != NULL);
    if (strcmp(b, "hugetlb-2M") != 0) {
        fprintf(stderr, "pa_node_backing(0) = \"%s\", want \"hugetlb-2M\"\n", b);
        _exit(98);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    t_child_check(f != NULL);
    t_child_check(pa_show_zoneinfo(f) == 0);
    fclose(f);
    t_child_check(strstr(buf, "hugetlb-2M") != NULL);
    /* The whole zone works on hugepages. */
    pa_free_pages(p, PA_MAX_ORDER);
    size_t n = 0;
    while ((p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, PA_MAX_ORDER)) != NULL) {
        ((char *)pa_page_address(p))[0] = 1;
        n++;
    }
    t_child_check(n >= 8);
    t_child_check(pa_check_invariants() == 0);
    fprintf(stderr, "hugetlb child: backing %s, %zu more max-order blocks\n", pa_node_backing(0), n);
}

START_TEST(test_backing_hugetlb_2m)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_backing_hugetlb_2m: not root, skipped\n");
        return;
    }
    const char *knob = "/proc/sys/vm/nr_hugepages";
    long old = read_long_file(knob);
    ck_assert_int_ge(old, 0);
    long got = old;
    if (write_long_file(knob, old + 64) == 0)
        got = read_long_file(knob);
    if (got - old < 32) {
        write_long_file(knob, old);
        fprintf(stderr, "test_backing_hugetlb_2m: kernel granted %ld of 64 hugepages, skipped\n",
                got - old);
        return;
    }
    struct t_child c;
    t_run_child(hugetlb_child, NULL, &c);
    /* Restore before any assertion can end the test. */
    int rrc = write_long_file(knob, old);
    long now = read_long_file(knob);
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "hugetlb child: %s\n%s", t_describe_status(&c, st, sizeof(st)),
                  c.err);
    ck_assert_int_eq(rrc, 0);
    ck_assert_int_eq(now, old);
    free(c.err);
}
END_TEST

/*
 * A section whose hugetlb mapping fails must keep its reservation the whole
 * time.  mmap(MAP_FIXED|MAP_HUGETLB) without hugepages unmaps the target
 * before it fails, so mapping in place left a hole until the reservation
 * was put back, and another thread's mmap(NULL) could be given addresses
 * inside the arena (then overwritten by the next attempt: ASan's fake
 * stacks vanished that way in CI).  A second thread maps 128 MiB anywhere,
 * as fast as it can, while 32 sections come online, and checks that it is
 * never given arena addresses.
 */
struct hole_probe {
    uintptr_t lo, hi;     /* the arena's reservation */
    int stop;
    long maps, inside;
    uintptr_t first_inside;
};

static void *hole_probe_main(void *arg)
{
    struct hole_probe *h = arg;
    const size_t len = 128UL << 20;
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            continue;
        h->maps++;
        uintptr_t a = (uintptr_t)p;
        if (a < h->hi && a + len > h->lo) {
            /* not unmapped: that would unmap part of the arena */
            if (!h->inside++)
                h->first_inside = a;
            continue;
        }
        munmap(p, len);
    }
    return NULL;
}

START_TEST(test_failed_hugetlb_keeps_reservation)
{
    long free2m = free_hugepages_2m();
    if (free2m != 0) {
        fprintf(stderr, "test_failed_hugetlb_keeps_reservation: %ld free 2M hugepages: "
                        "hugetlb would not fail, skipped\n", free2m);
        return;
    }
    t_env_reset();
    t_setenv("PAGEALLOC_HUGEPAGES", "2M");
    t_setenv("PAGEALLOC_NODE_SIZE", "4G");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct hole_probe h = {
        .lo = (uintptr_t)pa_mm.main_base,
        .hi = (uintptr_t)pa_mm.main_base + ((size_t)pa_mm.main_pages << PAGE_SHIFT),
    };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, hole_probe_main, &h), 0);
    struct t_blocks l = {0};
    struct pa_page *p;
    /* untouched max-order blocks until every section is online */
    const unsigned long sections = 32;   /* 4 GiB in 128 MiB sections */
    while (NODE_DATA(0)->nr_sections_online < sections && l.n < 2 * (sections << (27 - PAGE_SHIFT - PA_MAX_ORDER))) {
        p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, PA_MAX_ORDER);
        if (!p)
            break;
        t_blocks_push(&l, p, PA_MAX_ORDER);
    }
    __atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    unsigned long onlined = NODE_DATA(0)->nr_sections_online;
    fprintf(stderr, "test_failed_hugetlb_keeps_reservation: %lu sections online (%s), "
                    "%ld probe mappings, %ld inside the arena\n",
            onlined, pa_node_backing(0), h.maps, h.inside);
    ck_assert_msg(h.inside == 0, "%ld of %ld mmap(NULL) calls were given arena addresses (first %#lx, "
                  "arena %#lx-%#lx): a failed commit left a hole", h.inside, h.maps,
                  (unsigned long)h.first_inside, (unsigned long)h.lo, (unsigned long)h.hi);
    ck_assert_uint_eq(onlined, sections);
    ck_assert_str_ne(pa_node_backing(0), "hugetlb-2M");
    ck_assert_msg(h.maps > 0, "the probe thread never ran");
    t_blocks_free_all(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_release(&l);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_sections_online_lazily)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "256M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    pg_data_t *pgdat = NODE_DATA(0);
    unsigned long online0 = pgdat->nr_sections_online;
    unsigned long ev0 = t_vmstat("pa_sections_onlined");
    ck_assert_uint_eq(online0, 0);

    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pgdat->nr_sections_online, 1);
    ck_assert_uint_eq(t_vmstat("pa_sections_onlined"), ev0 + 1);
    /* Sections are at most 128 MiB: the first one holds at most 32768 pages. */
    unsigned long managed = pgdat->node_zones[PA_ZONE_NORMAL].managed_pages;
    ck_assert_uint_eq(managed, 65536);
    unsigned long online_pages = pgdat->node_zones[PA_ZONE_NORMAL].online_end_pfn -
                                 pgdat->node_zones[PA_ZONE_NORMAL].zone_start_pfn;
    ck_assert_msg(online_pages > 0 && online_pages <= 32768, "%lu pages online after one page",
                  online_pages);
    const char *b = pa_node_backing(0);
    ck_assert_ptr_nonnull(b);

    /* Using more than one section brings the next one online. */
    struct t_blocks l = {0};
    size_t blocks = (online_pages >> PA_MAX_ORDER) + 2;
    for (size_t i = 0; i < blocks; i++) {
        struct pa_page *q = pa_alloc_pages(PA_GFP_KERNEL, PA_MAX_ORDER);
        ck_assert_msg(q != NULL, "block %zu: NULL (errno %d)", i, errno);
        t_blocks_push(&l, q, PA_MAX_ORDER);
    }
    ck_assert_uint_ge(pgdat->nr_sections_online, 2);
    ck_assert_uint_le(pgdat->nr_sections_online, 4);
    ck_assert_uint_eq(t_vmstat("pa_sections_onlined"), ev0 + pgdat->nr_sections_online);
    t_blocks_free_all(&l);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_release(&l);
}
END_TEST

START_TEST(test_page_to_phys)
{
    t_env_reset();
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    memset(pa_page_address(p), 7, T_PAGE); /* fault it in */
    errno = 0;
    unsigned long long phys = pa_page_to_phys(p);
    if (geteuid() == 0) {
        ck_assert_msg(phys != 0, "no physical address as root (errno %d)", errno);
        ck_assert_uint_eq(phys % T_PAGE, 0);
        /* A DMA page is mlocked and resolves as well. */
        struct pa_page *d = pa_alloc_pages(PA_GFP_DMA, 0);
        ck_assert_ptr_nonnull(d);
        ck_assert_int_eq(pa_page_zonenum(d), PA_ZONE_DMA);
        ck_assert_uint_ne(pa_page_to_phys(d), 0);
        ck_assert_uint_ne(pa_page_to_phys(d), phys);
        pa_free_pages(d, 0);
    } else {
        ck_assert_uint_eq(phys, 0);
        ck_assert_int_ne(errno, 0);
    }
    pa_free_pages(p, 0);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = t_tcase(s, "backing", 120);
    tcase_add_test(tc, test_backing_4k);
    tcase_add_test(tc, test_backing_thp);
    tcase_add_test(tc, test_backing_2m_falls_back);
    tcase_add_test(tc, test_backing_bad_node);
    tcase_add_test(tc, test_backing_hugetlb_2m);
    tcase_add_test(tc, test_failed_hugetlb_keeps_reservation);
    tc = t_tcase(s, "sections", 120);
    tcase_add_test(tc, test_sections_online_lazily);
    tcase_add_test(tc, test_page_to_phys);
    return s;
}

int main(void)
{
    return t_run_suite(arena_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc-jemalloc (src/jemalloc/jemalloc.c): arenas, the extent hooks'
 * contract (called directly and through jemalloc), destroy and purge giving
 * every page back, failures, threads and placement by node and policy.
 *
 * The binary links jemalloc, so malloc is jemalloc's; the library is
 * initialised in each forked test, never in main().
 */
#include "pa_test.h"

#include <pthread.h>

#include <jemalloc/jemalloc.h>

#include <pagealloc/contig.h>
#include <pagealloc/jemalloc.h>

#include "jemalloc/jemalloc_internal.h"   /* the preload's helpers (src/jemalloc/) */

#define MiB (1UL << 20)
#define BLOCK (T_PAGE << PA_MAX_ORDER)

static void setup(const char *node_size, const char *emulate)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", node_size);
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    if (emulate)
        t_setenv("PAGEALLOC_NUMA_EMULATE", emulate);
    ck_assert_int_eq(pa_init(NULL), 0);
}

static int arena_new(pa_gfp_t gfp, int nid)
{
    int a = pa_jemalloc_arena_create(gfp, nid);
    ck_assert_msg(a > 0, "pa_jemalloc_arena_create: %d (%s)", a, strerror(errno));
    return a;
}

static extent_hooks_t *hooks_of(int a)
{
    char name[64];
    extent_hooks_t *h = NULL;
    size_t sz = sizeof(h);
    snprintf(name, sizeof(name), "arena.%d.extent_hooks", a);
    ck_assert_int_eq(mallctl(name, &h, &sz, NULL, 0), 0);
    ck_assert_ptr_nonnull(h);
    return h;
}

static struct pa_jemalloc_stats stats_of(int a)
{
    struct pa_jemalloc_stats st;
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    ck_assert_int_eq(pa_jemalloc_arena_stats((unsigned)a, &st), 0);
    return st;
}

static void arena_ctl(int a, const char *what)
{
    char name[64];
    snprintf(name, sizeof(name), "arena.%d.%s", a, what);
    ck_assert_int_eq(mallctl(name, NULL, NULL, NULL, 0), 0);
}

static bool is_zero(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

START_TEST(test_create_bad_arguments)
{
    setup("64M", NULL);
    static const struct { pa_gfp_t gfp; int nid; } bad[] = {
        { PA_GFP_KERNEL, -2 },
        { PA_GFP_KERNEL, 1 },                              /* one node */
        { PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_HIGHMEM, 0 },
        { PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_DMA32, -1 },
        { PA_GFP_KERNEL | PA_GFP_COMP, -1 },
        { PA_GFP_KERNEL | 0x80000000u, -1 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_int_eq(pa_jemalloc_arena_create(bad[i].gfp, bad[i].nid), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    struct pa_jemalloc_stats st = { .size = sizeof(st) };
    errno = 0;
    ck_assert_int_eq(pa_jemalloc_arena_stats(0, &st), -1);   /* arena 0 has jemalloc's hooks */
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_jemalloc_show(NULL), -1);
}
END_TEST

/* Allocations of the arena are libpagealloc's, small and beyond 4 MiB;
 * plain malloc is not. */
START_TEST(test_arena_serves_from_libpagealloc)
{
    setup("64M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);
    int a = arena_new(PA_GFP_KERNEL, 0);
    int flags = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;

    void *small = mallocx(100, flags), *big = mallocx(10 * MiB, flags);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 10 * MiB);
    ck_assert_int_eq(pa_jemalloc_arena_of(small), a);
    ck_assert_int_eq(pa_jemalloc_arena_of(big), a);
    ck_assert_int_eq(pa_jemalloc_node_of(small), 0);
    ck_assert_int_eq(pa_jemalloc_node_of((char *)big + 10 * MiB - 1), 0);

    void *plain = malloc(100);
    ck_assert_ptr_nonnull(plain);
    errno = 0;
    ck_assert_int_eq(pa_jemalloc_arena_of(plain), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_jemalloc_node_of(plain), -1);
    free(plain);
    /* libpagealloc's pages that jemalloc never had: no arena */
    struct pa_page *own = pa_alloc_contig_pages(8, 0, PA_GFP_KERNEL, -1);
    ck_assert_ptr_nonnull(own);
    errno = 0;
    ck_assert_int_eq(pa_jemalloc_arena_of((char *)pa_page_address(own) + 5 * T_PAGE), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_jemalloc_node_of(pa_page_address(own)), 0);
    pa_free_contig_range(own, 8);

    struct pa_jemalloc_stats st = stats_of(a);
    ck_assert_int_eq(st.nid, 0);
    ck_assert_uint_eq(st.gfp, PA_GFP_KERNEL);
    ck_assert_uint_ge(st.nr_alloc, 2);
    ck_assert_uint_ge(st.nr_contig, 1);
    ck_assert_uint_eq(st.nr_alloc_failed, 0);
    ck_assert_uint_ge(st.bytes, 10 * MiB);
    /* what the arena holds is exactly what libpagealloc handed out */
    ck_assert_uint_eq(base - t_nr_free_settled(), st.bytes / T_PAGE);

    char buf[4096];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(pa_jemalloc_show(f), 0);
    fclose(f);
    char want[32];
    snprintf(want, sizeof(want), "arena %d node 0 ", a);
    ck_assert_ptr_nonnull(strstr(buf, want));

    /* purged memory goes back at once */
    dallocx(small, flags);
    dallocx(big, flags);
    arena_ctl(a, "purge");
    struct pa_jemalloc_stats after = stats_of(a);
    ck_assert_uint_le(after.bytes + 10 * MiB, st.bytes);
    ck_assert_uint_ge(after.nr_dalloc, 1);
    ck_assert_uint_eq(base - t_nr_free_settled(), after.bytes / T_PAGE);
}
END_TEST

/* The hooks called as jemalloc calls them: *zero, alignment, *commit,
 * new_addr. */
START_TEST(test_hook_alloc_contract)
{
    setup("64M", NULL);
    int a = arena_new(PA_GFP_KERNEL, -1);
    extent_hooks_t *h = hooks_of(a);
    bool zero = false, commit = false;
    struct pa_jemalloc_stats st0 = stats_of(a);   /* jemalloc's metadata may have come first */

    /* dirty pages go back, then come again with *zero */
    char *p = h->alloc(h, NULL, 256 * 1024, T_PAGE, &zero, &commit, (unsigned)a);
    ck_assert_ptr_nonnull(p);
    ck_assert(commit);
    memset(p, 0x5a, 256 * 1024);
    ck_assert(!h->dalloc(h, p, 256 * 1024, true, (unsigned)a));
    zero = true;
    commit = false;
    char *q = h->alloc(h, NULL, 256 * 1024, T_PAGE, &zero, &commit, (unsigned)a);
    ck_assert_ptr_nonnull(q);
    ck_assert(zero && commit);
    ck_assert(is_zero(q, 256 * 1024));
    ck_assert(!h->dalloc(h, q, 256 * 1024, true, (unsigned)a));

    static const struct { size_t size, align; } cases[] = {
        { 64 * 1024, 2 * MiB }, { 3 * T_PAGE, 64 * 1024 }, { 8 * MiB, 4 * MiB }, { 6 * MiB, 8 * MiB },
        { 5 * MiB + T_PAGE, T_PAGE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zero = true;
        char *r = h->alloc(h, NULL, cases[i].size, cases[i].align, &zero, &commit, (unsigned)a);
        ck_assert_msg(r != NULL, "size %zu align %zu", cases[i].size, cases[i].align);
        ck_assert_uint_eq((uintptr_t)r % cases[i].align, 0);
        ck_assert(is_zero(r, cases[i].size));
        ck_assert_ptr_nonnull(pa_virt_to_page(r + cases[i].size - 1));
        ck_assert(!h->dalloc(h, r, cases[i].size, true, (unsigned)a));
    }

    /* a given address is never "served" somewhere else */
    zero = false;
    void *hint = pa_page_address(pa_alloc_contig_pages(1, 0, PA_GFP_KERNEL, -1));
    pa_free_contig_range(pa_virt_to_page(hint), 1);
    ck_assert_ptr_null(h->alloc(h, hint, T_PAGE, T_PAGE, &zero, &commit, (unsigned)a));
    struct pa_jemalloc_stats st = stats_of(a);
    ck_assert_uint_eq(st.nr_new_addr - st0.nr_new_addr, 1);
    ck_assert_uint_eq(st.nr_alloc - st0.nr_alloc, 2 + sizeof(cases) / sizeof(cases[0]));
    ck_assert_uint_eq(st.nr_contig - st0.nr_contig, 3);
    ck_assert_uint_eq(st.nr_dalloc - st0.nr_dalloc, 2 + sizeof(cases) / sizeof(cases[0]));
    ck_assert_uint_eq(st.bytes, st0.bytes);
}
END_TEST

/* split, merge, purge, commit/decommit, and foreign memory. */
START_TEST(test_hook_split_merge_purge)
{
    setup("64M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);
    int a = arena_new(PA_GFP_KERNEL, -1);
    extent_hooks_t *h = hooks_of(a);
    unsigned ind = (unsigned)a;
    unsigned long held = base - t_nr_free_settled();   /* jemalloc's metadata for the arena */
    bool zero = false, commit = false;

    char *p = h->alloc(h, NULL, 2 * MiB, T_PAGE, &zero, &commit, ind);
    ck_assert_ptr_nonnull(p);
    ck_assert(!h->split(h, p, 2 * MiB, MiB, MiB, true, ind));
    /* the halves merge back: one pfn run */
    ck_assert(!h->merge(h, p, MiB, p + MiB, MiB, true, ind));
    ck_assert(!h->split(h, p, 2 * MiB, MiB, MiB, true, ind));
    /* the second half goes back on its own */
    ck_assert(!h->dalloc(h, p + MiB, MiB, true, ind));
    ck_assert_uint_eq(base - t_nr_free_settled(), held + MiB / T_PAGE);

    /* purge_forced zeroes just the range; lazy purge and decommit are
     * refused (jemalloc then gives the extent back), commit is a no-op */
    memset(p, 0x77, MiB);
    ck_assert(!h->purge_forced(h, p, MiB, 64 * 1024, 128 * 1024, ind));
    ck_assert(is_zero(p + 64 * 1024, 128 * 1024));
    ck_assert_int_eq(p[64 * 1024 - 1], 0x77);
    ck_assert_int_eq(p[192 * 1024], 0x77);
    ck_assert(h->purge_lazy(h, p, MiB, 0, MiB, ind));
    ck_assert(h->decommit(h, p, MiB, 0, MiB, ind));
    ck_assert(!h->commit(h, p, MiB, 0, MiB, ind));
    ck_assert_int_eq(p[0], 0x77);

    /* extents that are not one pfn run do not merge */
    char *other = h->alloc(h, NULL, MiB, 2 * MiB, &zero, &commit, ind);
    ck_assert_ptr_nonnull(other);
    if (other != p + MiB)
        ck_assert(h->merge(h, p, MiB, other, MiB, true, ind));
    /* memory that is not libpagealloc's is refused, not freed */
    char *foreign = malloc(2 * MiB);
    ck_assert_ptr_nonnull(foreign);
    ck_assert(h->merge(h, p, MiB, foreign, MiB, true, ind));
    ck_assert(h->dalloc(h, foreign, MiB, true, ind));
    ck_assert(h->purge_forced(h, foreign, MiB, 0, MiB, ind));
    free(foreign);

    h->destroy(h, other, MiB, true, ind);
    h->destroy(h, p, MiB, true, ind);
    ck_assert_uint_eq(base - t_nr_free_settled(), held);
    struct pa_jemalloc_stats st = stats_of(a);
    ck_assert_uint_eq(st.nr_split, 2);
    ck_assert_uint_eq(st.nr_merge, 1);
    ck_assert_uint_eq(st.nr_purge, 1);
    ck_assert_uint_eq(st.nr_destroy, 2);
    ck_assert_uint_eq(st.nr_foreign, 2);
    ck_assert_uint_eq(st.bytes, held * T_PAGE);
}
END_TEST

/* Mixed sizes 16 B .. 12 MiB, half freed, then arena.<i>.destroy: every page
 * comes back. */
START_TEST(test_destroy_returns_every_page)
{
    setup("128M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);
    int a = arena_new(PA_GFP_KERNEL, -1);
    int flags = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    enum { N = 400 };
    static void *v[N];
    uint64_t seed = 42;
    for (int i = 0; i < N; i++) {
        size_t size = 16UL << (t_rand(&seed) % 17);            /* 16 B .. 1 MiB */
        if (i % 100 == 0)
            size = (5 + (size_t)(i / 100)) * MiB;           /* a few beyond 4 MiB */
        v[i] = mallocx(size, flags);
        ck_assert_msg(v[i] != NULL, "mallocx(%zu) failed", size);
        memset(v[i], 0xee, size < 4096 ? size : 4096);
    }
    for (int i = 0; i < N; i += 2)
        dallocx(v[i], flags);
    struct pa_jemalloc_stats st = stats_of(a);
    ck_assert_uint_ge(st.nr_contig, 1);
    ck_assert_uint_eq(base - t_nr_free_settled(), st.bytes / T_PAGE);
    arena_ctl(a, "destroy");
    ck_assert_uint_eq(t_nr_free_settled(), base);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* the index is gone: no counters for it */
    struct pa_jemalloc_stats gone = { .size = sizeof(gone) };
    ck_assert_int_eq(pa_jemalloc_arena_stats((unsigned)a, &gone), -1);
}
END_TEST

/* An extent the allocator cannot give is a failure jemalloc reports: on a
 * small node a 24 MiB allocation fails, and the arena keeps working. */
START_TEST(test_failing_extent_small_node)
{
    setup("16M", NULL);
    int a = arena_new(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    int flags = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    errno = 0;
    ck_assert_ptr_null(mallocx(24 * MiB, flags));
    struct pa_jemalloc_stats st = stats_of(a);
    ck_assert_uint_ge(st.nr_alloc_failed, 1);
    void *p = mallocx(1000, flags);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_jemalloc_arena_of(p), a);
    dallocx(p, flags);
}
END_TEST

/* Fault injection (PAGEALLOC_FAIL) on every allocation: the arena cannot
 * even get its metadata, so creating it fails with ENOMEM. */
START_TEST(test_failing_extent_fault_injection)
{
    t_env_reset();
    t_setenv("PAGEALLOC_FAIL", "probability=100,times=-1,min-order=0,ignore-gfp-wait=0,verbose=0");
    ck_assert_int_eq(pa_init(NULL), 0);
    errno = 0;
    int a = pa_jemalloc_arena_create(PA_GFP_KERNEL | PA_GFP_NOWARN, -1);
    if (a >= 0) {
        /* jemalloc kept its metadata elsewhere: then the extents fail */
        ck_assert_ptr_null(mallocx(64 * 1024, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
        ck_assert_uint_ge(stats_of(a).nr_alloc_failed, 1);
        ck_assert_uint_eq(stats_of(a).nr_alloc, 0);
    } else {
        ck_assert_int_eq(errno, ENOMEM);
    }
    ck_assert_uint_gt(t_vmstat("pa_fail_injected"), 0);
}
END_TEST

/* What the preload does to arena 0: an arena with jemalloc's own extents
 * gets the hooks, the rest of its own memory is sealed, and from then on
 * every block it hands out is libpagealloc's. */
START_TEST(test_seal_foreign_extents)
{
    setup("128M", NULL);
    unsigned int a;
    size_t sz = sizeof(a);
    ck_assert_int_eq(mallctl("arenas.create", &a, &sz, NULL, 0), 0);   /* jemalloc's own hooks */
    int flags = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    void *early[64];
    for (int i = 0; i < 64; i++) {
        early[i] = mallocx(16UL << (i % 12), flags);
        ck_assert_ptr_nonnull(early[i]);
        ck_assert_ptr_null(pa_virt_to_page(early[i]));
    }
    for (int i = 0; i < 64; i += 2)
        dallocx(early[i], flags);

    ck_assert_int_eq(je_hook_arena(a, PA_GFP_KERNEL, -1), 0);
    ck_assert_ptr_eq(hooks_of((int)a)->alloc, hooks_of(arena_new(PA_GFP_KERNEL, -1))->alloc);
    size_t sealed = je_seal_foreign(a);
    ck_assert_uint_gt(sealed, 64 * 1024);   /* most of jemalloc's first extent */

    uint64_t seed = 3;
    for (int i = 0; i < 2000; i++) {
        size_t size = 16UL << (t_rand(&seed) % 17);
        void *p = mallocx(size, flags);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(pa_virt_to_page(p) != NULL, "block %d (%zu bytes) is not libpagealloc's", i, size);
        if (i % 3)
            dallocx(p, flags);
    }
    /* the early blocks still work, and giving them back is refused, not lost */
    for (int i = 1; i < 64; i += 2)
        dallocx(early[i], flags);
    arena_ctl((int)a, "purge");
    ck_assert_uint_eq(stats_of((int)a).nr_alloc_failed, 0);
}
END_TEST

struct churn {
    int arena;
    unsigned seed;
};

static void *churn_main(void *arg)
{
    struct churn *c = arg;
    int flags = MALLOCX_ARENA(c->arena) | MALLOCX_TCACHE_NONE;
    uint64_t seed = c->seed;
    void *live[64] = {0};
    for (int i = 0; i < 4000; i++) {
        int slot = (int)(t_rand(&seed) % 64);
        if (live[slot]) {
            dallocx(live[slot], flags);
            live[slot] = NULL;
        } else {
            size_t size = 16UL << (t_rand(&seed) % 17);
            live[slot] = mallocx(size, flags);
            if (!live[slot])
                return (void *)1;
            memset(live[slot], (int)i, size < 256 ? size : 256);
        }
    }
    for (int i = 0; i < 64; i++)
        if (live[i])
            dallocx(live[i], flags);
    return NULL;
}

START_TEST(test_threads_then_destroy)
{
    setup("128M", NULL);
    unsigned long base = t_settle(PA_GFP_KERNEL);
    int a = arena_new(PA_GFP_KERNEL, -1);
    pthread_t th[4];
    struct churn c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct churn){ .arena = a, .seed = 7u + (unsigned)i };
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn_main, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        ck_assert_ptr_null(rc);
    }
    ck_assert_uint_gt(stats_of(a).nr_alloc, 0);
    arena_ctl(a, "destroy");
    ck_assert_uint_eq(t_nr_free_settled(), base);
}
END_TEST

/* Placement: a node's arena, and nid -1 under the thread's policy (bind,
 * then interleave over two logical nodes). */
START_TEST(test_placement_by_node_and_policy)
{
    setup("64M", "2");
    int flags_tc = MALLOCX_TCACHE_NONE;
    int a1 = arena_new(PA_GFP_KERNEL, 1);
    for (int i = 0; i < 50; i++) {
        void *p = mallocx(16UL << (i % 17), MALLOCX_ARENA(a1) | flags_tc);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_jemalloc_node_of(p), 1);
    }
    void *big = mallocx(9 * MiB, MALLOCX_ARENA(a1) | flags_tc);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(pa_jemalloc_node_of(big), 1);

    pa_nodemask_t m;
    ck_assert_int_eq(pa_nodemask_parse("0", &m), 0);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &m), 0);
    int ap = arena_new(PA_GFP_KERNEL, -1);
    void *bound = mallocx(9 * MiB, MALLOCX_ARENA(ap) | flags_tc);
    ck_assert_ptr_nonnull(bound);
    ck_assert_int_eq(pa_jemalloc_node_of(bound), 0);
    ck_assert_int_eq(pa_nodemask_parse("0-1", &m), 0);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &m), 0);
    int seen[2] = {0, 0};
    for (int i = 0; i < 8; i++) {
        void *p = mallocx(BLOCK + MiB, MALLOCX_ARENA(ap) | flags_tc);   /* one extent each */
        ck_assert_ptr_nonnull(p);
        seen[pa_jemalloc_node_of(p)]++;
    }
    ck_assert_int_gt(seen[0], 0);
    ck_assert_int_gt(seen[1], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jemalloc");
    TCase *tc = t_tcase(s, "arena", 120);
    tcase_add_test(tc, test_create_bad_arguments);
    tcase_add_test(tc, test_arena_serves_from_libpagealloc);
    tcase_add_test(tc, test_destroy_returns_every_page);
    tcase_add_test(tc, test_threads_then_destroy);
    tcase_add_test(tc, test_placement_by_node_and_policy);
    tc = t_tcase(s, "hooks", 60);
    tcase_add_test(tc, test_hook_alloc_contract);
    tcase_add_test(tc, test_hook_split_merge_purge);
    tcase_add_test(tc, test_seal_foreign_extents);
    tc = t_tcase(s, "failure", 60);
    tcase_add_test(tc, test_failing_extent_small_node);
    tcase_add_test(tc, test_failing_extent_fault_injection);
    return t_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The slow path's ladder end to end, through the public API: shrinkers are
 * called only where allowed, NORETRY gives up fast, NOFAIL waits and
 * succeeds when memory comes back, OOM kills the largest client for a
 * small order but not for a costly one, direct reclaim races kswapd
 * safely, and fault injection loses nothing.
 */
#include "pa_test.h"

#include "internal.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A cache of order-0 pages a shrinker can give back. */
struct cache {
    struct t_page_cache pc;   /* its lock guards the fields below too */
    unsigned long scans, scans_by_others;
    pid_t owner_tid;          /* the thread that must not reclaim (ATOMIC test) */
    bool frees;               /* scan_objects frees, or only counts */
    bool owner_frees_only;    /* other threads' scans (kswapd's) free nothing */
};

static struct cache cache = {.pc = T_PAGE_CACHE_INIT};

/* A field of the cache, read under its lock (kswapd may be scanning). */
#define CACHE_READ(field)                                 \
    ({                                                    \
        pthread_mutex_lock(&cache.pc.lock);               \
        __typeof__(cache.field) v_ = cache.field;         \
        pthread_mutex_unlock(&cache.pc.lock);             \
        v_;                                               \
    })

static unsigned long cache_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    unsigned long freed = 0;
    pthread_mutex_lock(&cache.pc.lock);
    cache.scans++;
    bool other = (pid_t)gettid() != cache.owner_tid;
    if (other)
        cache.scans_by_others++;
    if (other && cache.owner_frees_only) {
        pthread_mutex_unlock(&cache.pc.lock);
        return PA_SHRINK_STOP;
    }
    if (cache.frees)
        freed = t_page_cache_free_locked(&cache.pc, sc->nr_to_scan);
    pthread_mutex_unlock(&cache.pc.lock);
    return cache.frees ? freed : PA_SHRINK_STOP;
}

static struct pa_shrinker *cache_shrinker(bool frees)
{
    cache.frees = frees;
    struct pa_shrinker *s = pa_shrinker_alloc(0, "test-cache");
    ck_assert_ptr_nonnull(s);
    s->count_objects = t_page_cache_count_objects;
    s->private_data = &cache.pc;
    s->scan_objects = cache_scan;
    s->seeks = PA_DEFAULT_SEEKS;
    pa_shrinker_register(s);
    return s;
}

/* Fill the cache with every page there is, below every watermark (no
 * reclaim, no OOM on the way: MEMALLOC takes the reserves first). */
static void cache_fill(void)
{
    struct pa_page *p;
    while ((p = pa_alloc_pages(PA_GFP_NOWAIT | PA_GFP_MEMALLOC, 0)))
        t_page_cache_push(&cache.pc, p);
}

static void small_node(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
}

START_TEST(test_direct_reclaim_uses_shrinkers)
{
    small_node();
    /* kswapd, woken by the fill, must not free the cache: what it freed
     * after the fill's last attempt would serve the request below from the
     * freelists, with no direct reclaim (1 run in ~40 under ASan) */
    cache.owner_tid = (pid_t)gettid();
    cache.owner_frees_only = true;
    cache_shrinker(true);
    cache_fill();
    size_t held = t_page_cache_count(&cache.pc);
    ck_assert_uint_gt(held, 6000);
    /* a request that may reclaim gets memory back from the cache */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_lt(t_page_cache_count(&cache.pc), held);
    ck_assert_uint_gt(t_vmstat("allocstall_normal"), 0);
    ck_assert_uint_gt(t_vmstat("pgsteal_direct") + t_vmstat("pgsteal_kswapd"), 0);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* PA_GFP_ATOMIC never reclaims in the caller: kswapd does it instead. */
START_TEST(test_atomic_never_reclaims_in_caller)
{
    small_node();
    cache.owner_tid = (pid_t)gettid();
    cache_shrinker(true);
    cache_fill();
    while (pa_alloc_pages(PA_GFP_ATOMIC | PA_GFP_NOWARN, 0))
        ;
    pthread_mutex_lock(&cache.pc.lock);
    unsigned long mine = cache.scans - cache.scans_by_others;
    pthread_mutex_unlock(&cache.pc.lock);
    ck_assert_msg(mine == 0, "the ATOMIC caller ran the shrinker %lu times", mine);
    /* kswapd, woken by those requests, reclaims from the cache */
    double t0 = now();
    while (now() - t0 < 5 && !CACHE_READ(scans_by_others))
        usleep(10000);
    ck_assert_uint_gt(CACHE_READ(scans_by_others), 0);
}
END_TEST

/* NORETRY: one round of reclaim, no retry loop, no OOM. */
START_TEST(test_noretry_gives_up_fast)
{
    small_node();
    cache_shrinker(false);   /* counts, frees nothing: reclaim cannot progress */
    cache_fill();
    unsigned long before = CACHE_READ(scans);
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, 0));
    unsigned long noretry = CACHE_READ(scans) - before;
    before = CACHE_READ(scans);
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0));
    unsigned long full = CACHE_READ(scans) - before;
    ck_assert_msg(noretry < full, "NORETRY asked the shrinker %lu times, a full request %lu", noretry, full);
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

static struct pa_page *released;

static void *free_later(void *arg)
{
    (void)arg;
    usleep(200000);
    pa_free_pages(released, 0);
    return NULL;
}

/* NOFAIL waits until another thread frees memory, then succeeds. */
START_TEST(test_nofail_waits_for_memory)
{
    small_node();
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL | PA_GFP_MEMALLOC, 0);
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0));
    released = l.v[--l.n].page;
    pthread_t th;
    double t0 = now();
    pthread_create(&th, NULL, free_later, NULL);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOFAIL | PA_GFP_NOWARN, 0);
    double waited = now() - t0;
    pthread_join(th, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(waited >= 0.15, "NOFAIL returned after %.3f s, before memory was freed", waited);
    pa_free_pages(p, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* A NOFAIL request no zone can ever take (the DMA zone of a node that has
 * none, THISNODE) fails at once, with a message, instead of hanging; the
 * same request on the node that has the zone still succeeds. */
START_TEST(test_nofail_without_any_zone_fails)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "16M");
    t_setenv("PAGEALLOC_DMA_SIZE", "4M");
    ck_assert_int_eq(pa_init(NULL), 0);
    pa_gfp_t gfp = PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_THISNODE | PA_GFP_NOFAIL;

    struct t_capture c;
    t_capture_begin(&c);
    errno = 0;
    struct pa_page *p = pa_alloc_pages_node(1, gfp, 0);
    int err = errno;
    char *out = t_capture_end(&c);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(err, ENOMEM);
    ck_assert_msg(strstr(out, "PA_GFP_NOFAIL") && strstr(out, "can never succeed"),
                  "no message naming the request: '%s'", out);
    free(out);

    p = pa_alloc_pages_node(0, gfp, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_to_nid(p), 0);
    ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_DMA);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* OOM clients that hold pages and give them all back when killed. */
struct client {
    struct pa_oom_client c;
    struct t_blocks pages;
    int killed;
};

static unsigned long client_rss(struct pa_oom_client *c)
{
    struct client *cl = c->private_data;
    return cl->pages.n;
}

static void client_kill(struct pa_oom_client *c)
{
    struct client *cl = c->private_data;
    cl->killed++;
    t_blocks_free_all(&cl->pages);
}

static void client_init(struct client *cl, const char *name, size_t pages)
{
    memset(cl, 0, sizeof(*cl));
    cl->c.name = name;
    cl->c.rss_pages = client_rss;
    cl->c.kill = client_kill;
    cl->c.private_data = cl;
    for (size_t i = 0; i < pages; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        t_blocks_push(&cl->pages, p, 0);
    }
    ck_assert_int_eq(pa_oom_register(&cl->c), 0);
}

START_TEST(test_oom_kills_largest_for_small_order)
{
    small_node();
    static struct client small, big;
    client_init(&small, "small", 500);
    client_init(&big, "big", 3000);
    struct t_blocks rest = {0};
    t_fill(&rest, PA_GFP_NOWAIT | PA_GFP_MEMALLOC, 0);   /* every page; cannot reclaim, so no OOM */
    /* a costly order does not invoke the OOM killer */
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 4));
    ck_assert_int_eq(big.killed + small.killed, 0);
    /* an order-0 request does: the largest client goes */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(big.killed, 1);
    ck_assert_int_eq(small.killed, 0);
    ck_assert_uint_ge(t_vmstat("oom_kill"), 1);
    pa_free_pages(p, 0);
    pa_oom_unregister(&big.c);
    pa_oom_unregister(&small.c);
    t_blocks_free_all(&small.pages);
    t_blocks_free_all(&rest);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* RETRY_MAYFAIL fails rather than kill. */
START_TEST(test_retry_mayfail_never_kills)
{
    small_node();
    static struct client cl;
    client_init(&cl, "victim", 2000);
    struct t_blocks rest = {0};
    t_fill(&rest, PA_GFP_NOWAIT | PA_GFP_MEMALLOC, 0);   /* every page; cannot reclaim, so no OOM */
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_RETRY_MAYFAIL | PA_GFP_NOWARN, 0));
    ck_assert_int_eq(cl.killed, 0);
    pa_oom_unregister(&cl.c);
}
END_TEST

/* Direct reclaim in two threads while kswapd also reclaims: nothing lost. */
static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4000; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
        if (p)
            t_page_cache_push(&cache.pc, p);
    }
    return NULL;
}

START_TEST(test_direct_reclaim_races_kswapd)
{
    small_node();
    cache_shrinker(true);
    pa_drain_all_pages();
    unsigned long warm_total = t_nr_free();
    cache_fill();
    pthread_t a, b;
    pthread_create(&a, NULL, churn, NULL);
    pthread_create(&b, NULL, churn, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    ck_assert_uint_gt(CACHE_READ(scans), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* everything back: the free count returns to where a warm zone was */
    t_page_cache_drop(&cache.pc);
    pa_drain_all_pages();
    ck_assert_uint_ge(t_nr_free(), warm_total);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Fault injection: failures are clean, and nothing is lost. */
START_TEST(test_fault_injection_loses_nothing)
{
    t_env_reset();
    t_setenv("PAGEALLOC_FAIL", "probability=20,min-order=0,ignore-gfp-wait=0,ignore-gfp-highmem=0");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct t_blocks l = {0};
    unsigned long failed = 0;
    unsigned int seed = 7;
    for (int i = 0; i < 20000; i++) {
        unsigned int order = (unsigned int)(rand_r(&seed) % 6);
        if (l.n && rand_r(&seed) % 2) {
            size_t k = (size_t)rand_r(&seed) % l.n;
            pa_free_pages(l.v[k].page, l.v[k].order);
            l.v[k] = l.v[--l.n];
            continue;
        }
        errno = 0;
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, order);
        if (!p) {
            ck_assert_int_eq(errno, ENOMEM);
            failed++;
            continue;
        }
        t_blocks_push(&l, p, order);
    }
    ck_assert_uint_gt(failed, 1000);
    ck_assert_uint_eq(t_vmstat("pa_fail_injected"), failed);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    pa_drain_all_pages();
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_uint_eq(t_vmstat("pgalloc_normal") + t_vmstat("pgalloc_dma"),
                      t_vmstat("pgfree"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* The retry rules, as the kernel's                                    */
/* ------------------------------------------------------------------ */

static struct zone *normal0(void)
{
    return &NODE_DATA(0)->node_zones[PA_ZONE_NORMAL];
}

/* A shrinker that reports one object and never frees it. */
static unsigned long one_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    (void)sc;
    return 1;
}

static unsigned long one_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    (void)sc;
    return PA_SHRINK_STOP;
}

/*
 * should_reclaim_retry estimates what reclaim could free (the shrinkers'
 * objects as pages) on top of the free pages against MIN: one object
 * cannot lift a full zone to MIN, so a request gives up after one round of
 * reclaim instead of MAX_RECLAIM_RETRIES (16) more (one direct reclaim,
 * one allocstall, per round).
 */
START_TEST(test_reclaim_retry_estimates_reclaimable)
{
    small_node();
    struct pa_shrinker *s = pa_shrinker_alloc(0, "one-object");
    ck_assert_ptr_nonnull(s);
    s->count_objects = one_count;
    s->scan_objects = one_scan;
    s->seeks = PA_DEFAULT_SEEKS;
    pa_shrinker_register(s);
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_NOWAIT | PA_GFP_MEMALLOC, 0);   /* every page */
    ck_assert_uint_eq(zone_reclaimable_pages(normal0()), 1);
    unsigned long stalls = t_vmstat("allocstall_normal");
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_RETRY_MAYFAIL | PA_GFP_NOWARN, 0));
    unsigned long rounds = t_vmstat("allocstall_normal") - stalls;
    ck_assert_msg(rounds <= 2, "%lu rounds of direct reclaim for one object that cannot go", rounds);
    pa_shrinker_free(s);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Free pages in the pageblock of page (racy walk of the buddy flags: the
 * test's own thread is the only one allocating). */
static unsigned long pageblock_free(struct pa_page *page)
{
    unsigned long start = pa_page_to_pfn(page) & ~(pageblock_nr_pages - 1), n = 0;
    for (unsigned long pfn = start; pfn < start + pageblock_nr_pages;) {
        struct pa_page *p = pa_pfn_to_page(pfn);
        unsigned long step = PageBuddy(p) ? 1UL << buddy_order(p) : 1;
        if (PageBuddy(p))
            n += step;
        pfn += step;
    }
    return n;
}

/*
 * When should_reclaim_retry gives up, the highatomic reserve goes back
 * first (not only after 16 rounds): a RETRY_MAYFAIL request that reclaim
 * cannot help is served from the released block instead of failing.
 */
START_TEST(test_give_up_releases_highatomic)
{
    small_node();
    struct zone *z = normal0();
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, 0);   /* below LOW */
    struct pa_page *a2 = pa_alloc_pages(PA_GFP_ATOMIC, 2);
    ck_assert_ptr_nonnull(a2);
    ck_assert_uint_eq(z->nr_reserved_highatomic, pageblock_nr_pages);
    /* give back just enough that the zone is one page above MIN counting
     * the reserve, and at or below it without: only the reserve, once
     * released, lets an order-0 request pass MIN */
    ck_assert_int_eq(get_pageblock_migratetype(a2), MIGRATE_HIGHATOMIC);
    unsigned long h = pageblock_free(a2), min = min_wmark_pages(z);
    ck_assert_uint_ge(h, 2);
    pa_drain_all_pages();
    while (zone_page_state(z, NR_FREE_PAGES) < min + 1) {
        ck_assert_uint_gt(l.n, 0);
        pa_free_pages(l.v[--l.n].page, 0);
        pa_drain_all_pages();
    }
    ck_assert_uint_le(zone_page_state(z, NR_FREE_PAGES) - h, min);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_RETRY_MAYFAIL | PA_GFP_NOWARN, 0);
    ck_assert_msg(p != NULL, "RETRY_MAYFAIL failed with %lu pages still reserved highatomic",
                  z->nr_reserved_highatomic);
    ck_assert_uint_eq(z->nr_reserved_highatomic, 0);
    pa_free_pages(p, 0);
    pa_free_pages(a2, 2);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/*
 * Requests with reserve flags (MEMALLOC) keep ALLOC_KSWAPD (Linux 6.1): a
 * boosted watermark left by an earlier fallback wakes kswapd when such a
 * request takes a page, and the flag is consumed.  The zone is below MIN,
 * so only the reserve attempt of the slow path can succeed.
 */
START_TEST(test_reserve_request_keeps_kswapd)
{
    small_node();
    struct zone *z = normal0();
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, 0);
    pa_drain_all_pages();
    __atomic_store_n(&z->boosted_watermark, 1, __ATOMIC_RELAXED);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_MEMALLOC | PA_GFP_NOWARN, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(__atomic_load_n(&z->boosted_watermark, __ATOMIC_RELAXED) == 0,
                  "the reserve request dropped ALLOC_KSWAPD: the boost never woke kswapd");
    pa_free_pages(p, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static struct t_blocks give_back;

static void *free_batch_later(void *arg)
{
    (void)arg;
    usleep(300000);
    t_blocks_free_all(&give_back);
    return NULL;
}

/*
 * A request without PA_GFP_FS kills nothing (outside memcg OOM), as the
 * kernel's out_of_memory: it reports progress and retries, and succeeds
 * once another thread frees memory.  The same inside pa_memalloc_nofs_save
 * for a PA_GFP_KERNEL request.
 */
START_TEST(test_nofs_never_kills)
{
    small_node();
    static struct client cl;
    client_init(&cl, "victim", 2000);
    struct t_blocks rest = {0};
    t_fill(&rest, PA_GFP_NOWAIT | PA_GFP_MEMALLOC, 0);   /* every page; cannot reclaim, so no OOM */
    for (int round = 0; round < 2; round++) {
        /* 1024 pages back after 300 ms: above MIN again */
        give_back = (struct t_blocks){0};
        for (int i = 0; i < 1024 && rest.n; i++)
            t_blocks_push(&give_back, rest.v[--rest.n].page, 0);
        pthread_t th;
        pthread_create(&th, NULL, free_batch_later, NULL);
        struct pa_page *p;
        if (round == 0) {
            p = pa_alloc_pages(PA_GFP_NOFS | PA_GFP_NOWARN, 0);
        } else {
            unsigned int tok = pa_memalloc_nofs_save();
            p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
            pa_memalloc_nofs_restore(tok);
        }
        pthread_join(th, NULL);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(cl.killed == 0, "a request without PA_GFP_FS killed an OOM client (round %d)", round);
        /* use the memory up again for the next round (what the other
         * thread freed may sit on its CPU's list) */
        t_blocks_push(&rest, p, 0);
        pa_drain_all_pages();
        t_fill(&rest, PA_GFP_NOWAIT | PA_GFP_MEMALLOC, 0);
        t_blocks_release(&give_back);
    }
    /* a request with PA_GFP_FS still kills */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(cl.killed, 1);
    pa_free_pages(p, 0);
    pa_oom_unregister(&cl.c);
    t_blocks_free_all(&rest);
    t_blocks_release(&rest);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/*
 * ALLOC_NOFRAGMENT, the kernel's rule for a single node: a request that
 * starts in Normal takes a lower zone's free block before it steals a
 * page from another type's pageblock in Normal (here DMA, with DMA32
 * empty, the default).  Normal is made of unmovable pageblocks with
 * order-0 holes.  THISNODE keeps the request on the general path (the
 * per-thread fast path of the library does not take the flag).
 */
START_TEST(test_nofragment_prefers_lower_zone)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "64M");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct zone *dma = &NODE_DATA(0)->node_zones[PA_ZONE_DMA];
    ck_assert(populated_zone(dma));
    ck_assert(!populated_zone(&NODE_DATA(0)->node_zones[PA_ZONE_DMA32]));
    struct t_blocks l = {0};
    for (;;) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        if (pa_page_zonenum(p) != PA_ZONE_NORMAL) {
            pa_free_pages(p, 0);
            break;
        }
        t_blocks_push(&l, p, 0);
    }
    ck_assert_uint_gt(l.n, 4096);
    /* every other page back: holes in unmovable pageblocks only */
    size_t k = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (i & 1)
            pa_free_pages(l.v[i].page, 0);
        else
            l.v[k++] = l.v[i];
    }
    l.n = k;
    pa_drain_all_pages();
    struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_THISNODE | PA_GFP_NOWARN, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(pa_page_zonenum(p) == PA_ZONE_DMA,
                  "a movable page came from zone %d: an unmovable pageblock of Normal was fragmented",
                  (int)pa_page_zonenum(p));
    pa_free_pages(p, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static Suite *slowpath_suite(void)
{
    Suite *s = suite_create("slowpath");
    TCase *tc = tcase_create("ladder");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_direct_reclaim_uses_shrinkers);
    tcase_add_test(tc, test_atomic_never_reclaims_in_caller);
    tcase_add_test(tc, test_noretry_gives_up_fast);
    tcase_add_test(tc, test_nofail_waits_for_memory);
    tcase_add_test(tc, test_nofail_without_any_zone_fails);
    tcase_add_test(tc, test_oom_kills_largest_for_small_order);
    tcase_add_test(tc, test_retry_mayfail_never_kills);
    tcase_add_test(tc, test_direct_reclaim_races_kswapd);
    tcase_add_test(tc, test_fault_injection_loses_nothing);
    tcase_add_test(tc, test_reclaim_retry_estimates_reclaimable);
    tcase_add_test(tc, test_give_up_releases_highatomic);
    tcase_add_test(tc, test_reserve_request_keeps_kswapd);
    tcase_add_test(tc, test_nofs_never_kills);
    tcase_add_test(tc, test_nofragment_prefers_lower_zone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(slowpath_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: MIT */
/*
 * Reclaim (src/reclaim.c): the shrinker arithmetic of do_shrink_slab
 * (priority, seeks, batch, deferred work, STOP and EMPTY), NUMA-aware
 * shrinkers asked per node, the gfp mask passed through, pa_shrinker_free
 * waiting for a call in progress, direct reclaim freeing a cache's pages,
 * memory-cgroup reclaim asking only memcg-aware shrinkers, kswapd balancing
 * to HIGH and sleeping, giving up as hopeless after 16 fruitless passes,
 * and the LRU helper (eviction order, activation, rotation, refill).
 *
 * These call try_to_free_pages, wakeup_kswapd and shrink_slab directly, so
 * they do not depend on the allocator's slow path; the one end-to-end test
 * that does is at the end, in its own test case ("e2e_slowpath").
 */
#include "pa_test.h"

#include "internal.h"

#include <pthread.h>
#include <time.h>

/* Hooks of src/reclaim.c for white-box tests (not in internal.h). */
unsigned long shrink_slab(pa_gfp_t gfp, int nid, struct pa_memcg *memcg, int priority);
bool kswapd_sleeping(int nid);
int kswapd_failures(int nid);

/* Allocations that neither wake kswapd nor reclaim: to fill memory. */
#define GFP_FILL ((PA_GFP_KERNEL & ~PA_GFP_RECLAIM) | PA_GFP_NOWARN)

static void setup(const char *node_size, const char *emulate)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_NODE_SIZE", node_size);
    if (emulate)
        t_setenv("PAGEALLOC_NUMA_EMULATE", emulate);
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(pa_reclaim_init(), 0);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* A recording shrinker: N objects, frees nothing, remembers its calls */
/* ------------------------------------------------------------------ */

struct rec {
    pthread_mutex_t lock;
    unsigned long objects;        /* what count_objects says */
    unsigned long count_ret;      /* if set, count_objects returns this instead */
    bool stop;                    /* scan_objects returns PA_SHRINK_STOP */
    unsigned long count_calls, scan_calls, scanned;
    unsigned long nr_to_scan_min, nr_to_scan_max;
    unsigned long count_by_nid[4], scan_by_nid[4];
    pa_gfp_t gfp;
    struct pa_memcg *memcg;
    bool memcg_seen_null;
    unsigned int pf_flags;        /* the thread's flags seen in a callback */
    bool reclaimed_set;           /* t->reclaimed pointed somewhere */
    long sleep_ms;                /* scan_objects sleeps this long */
    atomic_int in_scan, scan_done;
};

static unsigned long rec_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct rec *r = s->private_data;
    pthread_mutex_lock(&r->lock);
    r->count_calls++;
    if (sc->nid >= 0 && sc->nid < 4)
        r->count_by_nid[sc->nid]++;
    r->gfp = sc->gfp_mask;
    if (sc->memcg)
        r->memcg = sc->memcg;
    else
        r->memcg_seen_null = true;
    r->pf_flags = pa_thread()->pf_flags;
    r->reclaimed_set = pa_thread()->reclaimed != NULL;
    unsigned long ret = r->count_ret ? r->count_ret : r->objects;
    pthread_mutex_unlock(&r->lock);
    return ret;
}

static unsigned long rec_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct rec *r = s->private_data;
    atomic_store(&r->in_scan, 1);
    if (r->sleep_ms)
        sleep_ms(r->sleep_ms);
    pthread_mutex_lock(&r->lock);
    r->scan_calls++;
    if (sc->nid >= 0 && sc->nid < 4)
        r->scan_by_nid[sc->nid]++;
    if (!r->nr_to_scan_min || sc->nr_to_scan < r->nr_to_scan_min)
        r->nr_to_scan_min = sc->nr_to_scan;
    if (sc->nr_to_scan > r->nr_to_scan_max)
        r->nr_to_scan_max = sc->nr_to_scan;
    bool stop = r->stop;
    if (!stop)
        r->scanned += sc->nr_to_scan;
    pthread_mutex_unlock(&r->lock);
    atomic_store(&r->scan_done, 1);
    return stop ? PA_SHRINK_STOP : 0;
}

static struct pa_shrinker *rec_shrinker(struct rec *r, unsigned int flags, unsigned long objects, int seeks,
                                        long batch)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->objects = objects;
    struct pa_shrinker *s = pa_shrinker_alloc(flags, "rec");
    ck_assert_ptr_nonnull(s);
    s->count_objects = rec_count;
    s->scan_objects = rec_scan;
    s->seeks = seeks;
    s->batch = batch;
    s->private_data = r;
    errno = 0;
    pa_shrinker_register(s);
    ck_assert_int_eq(errno, 0);
    return s;
}

static void rec_reset(struct rec *r)
{
    pthread_mutex_lock(&r->lock);
    r->count_calls = r->scan_calls = r->scanned = 0;
    r->nr_to_scan_min = r->nr_to_scan_max = 0;
    memset(r->count_by_nid, 0, sizeof(r->count_by_nid));
    memset(r->scan_by_nid, 0, sizeof(r->scan_by_nid));
    pthread_mutex_unlock(&r->lock);
}

/* ------------------------------------------------------------------ */
/* A cache of pages that its shrinker frees                             */
/* ------------------------------------------------------------------ */

struct cache {
    struct t_page_cache pc;       /* its lock guards the fields below too */
    unsigned long freed, scan_calls;
    bool refuse;                  /* scan frees nothing */
    struct pa_memcg *memcg_seen;
    struct pa_shrinker *s;
};

static unsigned long cache_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct cache *c = s->private_data;
    (void)sc;
    return t_page_cache_count(&c->pc);
}

static unsigned long cache_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct cache *c = s->private_data;
    unsigned long done = 0;
    pthread_mutex_lock(&c->pc.lock);
    c->scan_calls++;
    if (sc->memcg)
        c->memcg_seen = sc->memcg;
    if (!c->refuse)
        done = t_page_cache_free_locked(&c->pc, sc->nr_to_scan);
    c->freed += done;
    pthread_mutex_unlock(&c->pc.lock);
    return done;
}

/* Fill the node with the cache's pages (nothing reclaims meanwhile), then
 * register its shrinker. */
static void cache_fill(struct cache *c, unsigned int flags)
{
    memset(c, 0, sizeof(*c));
    t_page_cache_init(&c->pc);
    for (;;) {
        struct pa_page *p = pa_alloc_pages(GFP_FILL, 0);
        if (!p)
            break;
        t_page_cache_push(&c->pc, p);
    }
    ck_assert_uint_gt(c->pc.n, 1000);
    c->s = pa_shrinker_alloc(flags, "test-cache");
    ck_assert_ptr_nonnull(c->s);
    c->s->count_objects = cache_count;
    c->s->scan_objects = cache_scan;
    c->s->private_data = c;
    pa_shrinker_register(c->s);
}

static struct zone *normal_zone(int nid)
{
    return &NODE_DATA(nid)->node_zones[PA_ZONE_NORMAL];
}

static bool wait_for(bool (*cond)(void *), void *arg, double timeout_ms)
{
    double end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (cond(arg))
            return true;
        sleep_ms(5);
    }
    return cond(arg);
}

/* ------------------------------------------------------------------ */
/* The shrinker API                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_shrinker_api_errors)
{
    setup("32M", NULL);
    errno = 0;
    ck_assert_ptr_null(pa_shrinker_alloc(0x80, "bad-flags"));
    ck_assert_int_eq(errno, EINVAL);

    struct pa_shrinker *s = pa_shrinker_alloc(PA_SHRINKER_NUMA_AWARE, "x");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->seeks, PA_DEFAULT_SEEKS);
    ck_assert_int_eq(s->batch, 0);
    ck_assert_uint_eq(s->flags, PA_SHRINKER_NUMA_AWARE);

    errno = 0;
    pa_shrinker_register(NULL);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    pa_shrinker_register(s);            /* no callbacks */
    ck_assert_int_eq(errno, EINVAL);

    s->count_objects = rec_count;
    s->scan_objects = rec_scan;
    struct rec r;
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.lock, NULL);
    s->private_data = &r;
    errno = 0;
    pa_shrinker_register(s);
    ck_assert_int_eq(errno, 0);
    pa_shrinker_register(s);            /* twice */
    ck_assert_int_eq(errno, EINVAL);
    pa_shrinker_free(s);

    pa_shrinker_free(NULL);             /* nothing */
    struct pa_shrinker *never = pa_shrinker_alloc(0, NULL);
    ck_assert_ptr_nonnull(never);
    pa_shrinker_free(never);            /* never registered: fine */

    /* a freed shrinker is not called */
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    ck_assert_uint_eq(r.count_calls, 0);
}
END_TEST

/* delta = (freeable >> priority) * 4 / seeks, in batches of `batch`. */
START_TEST(test_shrink_delta_and_batch)
{
    setup("32M", NULL);
    struct rec r;
    struct pa_shrinker *s = rec_shrinker(&r, 0, 1UL << 20, 2, 0);
    unsigned long slabs0 = t_vmstat("slabs_scanned");

    shrink_slab(PA_GFP_KERNEL, 0, NULL, DEF_PRIORITY);
    unsigned long delta = ((1UL << 20) >> DEF_PRIORITY) * 4 / 2;   /* 512 */
    ck_assert_uint_eq(r.count_calls, 1);
    ck_assert_uint_eq(r.scanned, delta);
    ck_assert_uint_eq(r.scan_calls, delta / 128);                  /* the default batch */
    ck_assert_uint_eq(r.nr_to_scan_min, 128);
    ck_assert_uint_eq(r.nr_to_scan_max, 128);
    ck_assert_uint_eq(t_vmstat("slabs_scanned") - slabs0, delta);

    /* batch 100: five batches; the 12 left over are deferred, not scanned */
    rec_reset(&r);
    s->batch = 100;
    shrink_slab(PA_GFP_KERNEL, 0, NULL, DEF_PRIORITY);
    ck_assert_uint_eq(r.scan_calls, 5);
    ck_assert_uint_eq(r.scanned, 500);
    ck_assert_uint_eq(r.nr_to_scan_max, 100);

    /* seeks 0: half of the objects, whatever the priority (capped at 2x) */
    rec_reset(&r);
    s->seeks = 0;
    s->batch = 1024;
    r.objects = 10240;
    shrink_slab(PA_GFP_KERNEL, 0, NULL, DEF_PRIORITY);
    ck_assert_uint_ge(r.scanned, 5120);
    ck_assert_uint_le(r.scanned, 5120 + 1024);
    pa_shrinker_free(s);
}
END_TEST

/* Work not done is carried over: it shows as more scanning next time. */
START_TEST(test_shrink_deferred)
{
    setup("32M", NULL);
    struct rec r, fresh;
    struct pa_shrinker *s = rec_shrinker(&r, 0, 32768, 2, 1);

    shrink_slab(PA_GFP_KERNEL, 0, NULL, 12);
    ck_assert_uint_eq(r.scanned, 16);                 /* (32768 >> 12) * 4 / 2 */

    /* 256 calls that stop at once: 16 deferred each time */
    r.stop = true;
    for (int i = 0; i < 256; i++)
        shrink_slab(PA_GFP_KERNEL, 0, NULL, 12);
    ck_assert_uint_eq(r.scanned, 16);
    r.stop = false;

    /* deferred 4096: at priority 8, 4096 >> 8 = 16 more than delta 256 */
    rec_reset(&r);
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 8);
    ck_assert_uint_eq(r.scanned, 256 + 16);
    pa_shrinker_free(s);

    /* the same shrinker without the history scans delta only */
    s = rec_shrinker(&fresh, 0, 32768, 2, 1);
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 8);
    ck_assert_uint_eq(fresh.scanned, 256);
    pa_shrinker_free(s);
}
END_TEST

/* total_scan is capped at twice the freeable objects. */
START_TEST(test_shrink_cap_and_tight_memory)
{
    setup("32M", NULL);
    struct rec r;
    struct pa_shrinker *s = rec_shrinker(&r, 0, 100, 1, 1);
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);           /* delta 400 */
    ck_assert_uint_eq(r.scanned, 200);
    pa_shrinker_free(s);

    /* fewer objects than a batch: all of them in one call when total_scan
     * reaches freeable (tight memory), none at low pressure */
    s = rec_shrinker(&r, 0, 50, 2, 0);
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);           /* delta 100 */
    ck_assert_uint_eq(r.scan_calls, 1);
    ck_assert_uint_eq(r.nr_to_scan_max, 100);
    rec_reset(&r);
    shrink_slab(PA_GFP_KERNEL, 0, NULL, DEF_PRIORITY);
    ck_assert_uint_eq(r.count_calls, 1);
    ck_assert_uint_eq(r.scan_calls, 0);
    pa_shrinker_free(s);
}
END_TEST

START_TEST(test_shrink_stop_and_empty)
{
    setup("32M", NULL);
    struct rec r;
    struct pa_shrinker *s = rec_shrinker(&r, 0, 1UL << 20, 2, 0);
    unsigned long slabs0 = t_vmstat("slabs_scanned");

    r.stop = true;                                     /* the first batch stops it */
    shrink_slab(PA_GFP_KERNEL, 0, NULL, DEF_PRIORITY);
    ck_assert_uint_eq(r.scan_calls, 1);
    ck_assert_uint_eq(t_vmstat("slabs_scanned"), slabs0);
    r.stop = false;

    rec_reset(&r);
    r.count_ret = PA_SHRINK_EMPTY;
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    ck_assert_uint_eq(r.count_calls, 1);
    ck_assert_uint_eq(r.scan_calls, 0);

    rec_reset(&r);
    r.count_ret = 0;
    r.objects = 0;
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    ck_assert_uint_eq(r.count_calls, 1);
    ck_assert_uint_eq(r.scan_calls, 0);
    ck_assert(!zone_reclaimable_pages_exist(normal_zone(0)));
    r.objects = 7;
    ck_assert(zone_reclaimable_pages_exist(normal_zone(0)));
    pa_shrinker_free(s);
    ck_assert(!zone_reclaimable_pages_exist(normal_zone(0)));
}
END_TEST

/* NUMA-aware shrinkers are asked per node with sc->nid; others with nid 0. */
START_TEST(test_numa_aware_per_node)
{
    setup("32M", "2");
    ck_assert_int_eq(pa_num_nodes(), 2);
    struct rec aware, plain;
    struct pa_shrinker *sa = rec_shrinker(&aware, PA_SHRINKER_NUMA_AWARE, 1000, 2, 0);
    struct pa_shrinker *sp = rec_shrinker(&plain, 0, 1000, 2, 0);

    shrink_slab(PA_GFP_KERNEL, 1, NULL, 0);
    ck_assert_uint_eq(aware.count_by_nid[1], 1);
    ck_assert_uint_eq(aware.count_by_nid[0], 0);
    ck_assert_uint_eq(plain.count_by_nid[0], 1);
    ck_assert_uint_eq(plain.count_by_nid[1], 0);

    /* direct reclaim over node 0's zonelist (both nodes): nothing is freed,
     * so every priority 12..0 runs once per node */
    rec_reset(&aware);
    rec_reset(&plain);
    unsigned long got = try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(aware.count_by_nid[0], DEF_PRIORITY + 1);
    ck_assert_uint_eq(aware.count_by_nid[1], DEF_PRIORITY + 1);
    ck_assert_uint_eq(plain.count_by_nid[0], 2 * (DEF_PRIORITY + 1));
    ck_assert_uint_eq(plain.count_by_nid[1], 0);
    ck_assert_uint_gt(aware.scan_by_nid[1], 0);

    /* a nodemask limits the nodes */
    pa_nodemask_t only1;
    memset(&only1, 0, sizeof(only1));
    node_set(1, &only1);
    rec_reset(&aware);
    try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, &only1);
    ck_assert_uint_eq(aware.count_by_nid[0], 0);
    ck_assert_uint_eq(aware.count_by_nid[1], DEF_PRIORITY + 1);
    pa_shrinker_free(sa);
    pa_shrinker_free(sp);
}
END_TEST

/* The reclaim's gfp reaches the shrinker; PF_MEMALLOC and the progress
 * counter are set for the call and restored after. */
START_TEST(test_gfp_and_thread_state)
{
    setup("32M", NULL);
    struct rec r;
    struct pa_shrinker *s = rec_shrinker(&r, 0, 1000, 2, 0);
    struct pa_thread *t = pa_thread();
    unsigned long stall0 = t_vmstat("allocstall_normal");

    try_to_free_pages(node_zonelist(0, PA_GFP_NOFS), 0, PA_GFP_NOFS, NULL);
    ck_assert_uint_eq(r.gfp, PA_GFP_NOFS);
    ck_assert(r.pf_flags & PF_MEMALLOC);
    ck_assert(r.reclaimed_set);
    ck_assert(!(t->pf_flags & PF_MEMALLOC));
    ck_assert_ptr_null(t->reclaimed);
    ck_assert_uint_eq(t_vmstat("allocstall_normal") - stall0, 1);

    try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL);
    ck_assert_uint_eq(r.gfp, PA_GFP_KERNEL);

    /* a NOFS scope takes FS away (current_gfp_context) */
    t->pf_flags |= PF_MEMALLOC_NOFS;
    try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL);
    ck_assert_uint_eq(r.gfp, PA_GFP_KERNEL & ~PA_GFP_FS);
    t->pf_flags &= ~PF_MEMALLOC_NOFS;

    /* already in reclaim: no recursion */
    rec_reset(&r);
    t->pf_flags |= PF_MEMALLOC;
    ck_assert_uint_eq(try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL), 0);
    ck_assert_uint_eq(r.count_calls, 0);
    t->pf_flags &= ~PF_MEMALLOC;
    pa_shrinker_free(s);
}
END_TEST

static void *slow_shrink_thread(void *arg)
{
    (void)arg;
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    return NULL;
}

static bool rec_in_scan(void *arg)
{
    return atomic_load(&((struct rec *)arg)->in_scan);
}

/* pa_shrinker_free waits for a call in progress on another thread. */
START_TEST(test_free_waits_for_call)
{
    setup("32M", NULL);
    struct rec r;
    struct pa_shrinker *s = rec_shrinker(&r, 0, 10, 2, 0);
    r.sleep_ms = 100;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_shrink_thread, NULL), 0);
    ck_assert(wait_for(rec_in_scan, &r, 5000));
    double t0 = now_ms();
    pa_shrinker_free(s);
    double waited = now_ms() - t0;
    ck_assert_msg(atomic_load(&r.scan_done), "pa_shrinker_free returned while scan_objects ran");
    ck_assert_msg(waited >= 30, "waited only %.1f ms", waited);
    pthread_join(th, NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Direct reclaim and memcg reclaim                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_direct_reclaim_frees_cache)
{
    setup("32M", NULL);
    struct cache c;
    cache_fill(&c, 0);
    unsigned long stall0 = t_vmstat("allocstall_normal");
    unsigned long steal0 = t_vmstat("pgsteal_direct");
    unsigned long scan0 = t_vmstat("pgscan_direct");
    size_t held = t_page_cache_count(&c.pc);

    unsigned long got = try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL);
    ck_assert_uint_ge(got, 32);                       /* SWAP_CLUSTER_MAX */
    ck_assert_uint_eq(got, c.freed);
    ck_assert_uint_eq(held - t_page_cache_count(&c.pc), got);
    ck_assert_uint_eq(t_vmstat("allocstall_normal") - stall0, 1);
    ck_assert_uint_eq(t_vmstat("pgsteal_direct") - steal0, got);
    ck_assert_uint_ge(t_vmstat("pgscan_direct") - scan0, got);
    /* what was freed is free again, in the buddy */
    ck_assert_ptr_nonnull(pa_alloc_pages(GFP_FILL, 0));

    /* an order-3 request wants SWAP_CLUSTER_MAX pages too */
    got = try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 3, PA_GFP_KERNEL, NULL);
    ck_assert_uint_ge(got, 32);

    /* a costly order (6) wants 64 pages, unless compaction could already
     * serve it: then reclaim steps aside and reports 1 (compaction_ready) */
    struct zone *z = normal_zone(0);
    bool ready = zone_watermark_ok(z, 6, min_wmark_pages(z), PA_ZONE_NORMAL, 0) ||
                 zone_watermark_ok(z, 0, high_wmark_pages(z) + (2UL << 6), PA_ZONE_NORMAL, 0);
    size_t before = t_page_cache_count(&c.pc);
    got = try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 6, PA_GFP_KERNEL, NULL);
    if (ready) {
        ck_assert_uint_eq(got, 1);
        ck_assert_uint_eq(t_page_cache_count(&c.pc), before);
    } else {
        ck_assert_uint_ge(got, 64);
    }
    /* with the allocation's block taken away, it reclaims for real */
    struct t_blocks blocks = {0};
    t_fill(&blocks, GFP_FILL, 6);
    t_fill(&blocks, GFP_FILL, 0);
    ck_assert(!zone_watermark_ok(z, 6, min_wmark_pages(z), PA_ZONE_NORMAL, 0));
    got = try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 6, PA_GFP_KERNEL, NULL);
    ck_assert_uint_ge(got, 64);
    t_blocks_free_all(&blocks);
    t_blocks_release(&blocks);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_memcg_reclaim_only_aware)
{
    setup("32M", NULL);
    struct cache c;
    cache_fill(&c, PA_SHRINKER_MEMCG_AWARE);
    struct rec plain;
    struct pa_shrinker *sp = rec_shrinker(&plain, 0, 1UL << 20, 2, 0);
    long fake_cgroup_object = 0;
    struct pa_memcg *fake = (struct pa_memcg *)(void *)&fake_cgroup_object;
    unsigned long stall0 = t_vmstat("allocstall_normal");

    unsigned long got = try_to_free_mem_cgroup_pages(fake, 40, PA_GFP_KERNEL);
    ck_assert_uint_ge(got, 40);
    ck_assert_ptr_eq(c.memcg_seen, fake);
    ck_assert_uint_eq(plain.count_calls, 0);
    ck_assert_uint_eq(t_vmstat("allocstall_normal"), stall0);   /* not an allocation stall */

    /* global reclaim asks both, with no cgroup */
    c.memcg_seen = NULL;
    try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL);
    ck_assert_ptr_null(c.memcg_seen);
    ck_assert_uint_gt(plain.count_calls, 0);
    ck_assert(plain.memcg_seen_null);
    ck_assert_ptr_null(plain.memcg);
    ck_assert_uint_eq(try_to_free_mem_cgroup_pages(NULL, 1, PA_GFP_KERNEL), 0);
    pa_shrinker_free(sp);
}
END_TEST

/* ------------------------------------------------------------------ */
/* kswapd                                                              */
/* ------------------------------------------------------------------ */

static bool node0_asleep(void *arg)
{
    (void)arg;
    return kswapd_sleeping(0);
}

static bool node0_hopeless_asleep(void *arg)
{
    (void)arg;
    return kswapd_failures(0) >= MAX_RECLAIM_RETRIES && kswapd_sleeping(0);
}

START_TEST(test_kswapd_balances_and_sleeps)
{
    setup("32M", NULL);
    struct cache c;
    cache_fill(&c, 0);
    struct zone *z = normal_zone(0);
    t_drain();
    ck_assert_uint_lt(zone_page_state(z, NR_FREE_PAGES), high_wmark_pages(z));
    unsigned long runs0 = t_vmstat("pageoutrun");
    unsigned long steal0 = t_vmstat("pgsteal_kswapd");

    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    ck_assert_msg(wait_for(node0_asleep, NULL, 20000), "kswapd did not go to sleep");
    ck_assert_msg(zone_page_state(z, NR_FREE_PAGES) > high_wmark_pages(z), "free %lu, high %lu",
                  zone_page_state(z, NR_FREE_PAGES), high_wmark_pages(z));
    ck_assert_uint_ge(t_vmstat("pageoutrun") - runs0, 1);
    ck_assert_uint_gt(t_vmstat("pgsteal_kswapd") - steal0, 0);
    ck_assert_uint_gt(c.freed, 0);
    ck_assert_int_eq(kswapd_failures(0), 0);

    /* balanced: a wakeup does nothing */
    unsigned long runs1 = t_vmstat("pageoutrun");
    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    sleep_ms(200);
    ck_assert_uint_eq(t_vmstat("pageoutrun"), runs1);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_kswapd_hopeless_until_reset)
{
    setup("32M", NULL);
    struct cache c;
    cache_fill(&c, 0);
    c.refuse = true;                                  /* frees nothing */
    struct zone *z = normal_zone(0);
    unsigned long runs0 = t_vmstat("pageoutrun");
    unsigned long quick0 = t_vmstat("kswapd_high_wmark_hit_quickly");

    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    ck_assert_msg(wait_for(node0_hopeless_asleep, NULL, 30000), "failures %d", kswapd_failures(0));
    ck_assert_uint_eq(t_vmstat("pageoutrun") - runs0, MAX_RECLAIM_RETRIES);
    /* after each fruitless pass but the last, the node was still unbalanced */
    ck_assert_uint_eq(t_vmstat("kswapd_high_wmark_hit_quickly") - quick0, MAX_RECLAIM_RETRIES - 1);

    /* hopeless: not woken */
    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    sleep_ms(300);
    ck_assert_uint_eq(t_vmstat("pageoutrun") - runs0, MAX_RECLAIM_RETRIES);

    /* an allocation succeeded after all: it may try again */
    reset_kswapd_failures(NODE_DATA(0));
    ck_assert_int_eq(kswapd_failures(0), 0);
    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    ck_assert(wait_for(node0_hopeless_asleep, NULL, 30000));
    ck_assert_uint_eq(t_vmstat("pageoutrun") - runs0, 2 * MAX_RECLAIM_RETRIES);

    /* direct reclaim that frees something revives the node too */
    c.refuse = false;
    ck_assert_uint_gt(try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL), 0);
    ck_assert_int_eq(kswapd_failures(0), 0);
}
END_TEST

static bool boost_gone(void *arg)
{
    return __atomic_load_n(&((struct zone *)arg)->watermark_boost, __ATOMIC_RELAXED) == 0 && kswapd_sleeping(0);
}

/* A boosted zone wakes kswapd even when balanced; the boost goes after. */
START_TEST(test_kswapd_clears_boost)
{
    setup("32M", NULL);
    struct cache c;
    cache_fill(&c, 0);
    struct zone *z = normal_zone(0);
    spin_lock(&z->lock);
    __atomic_store_n(&z->watermark_boost, pageblock_nr_pages, __ATOMIC_RELAXED);
    zone_update_wmark_fast(z);
    spin_unlock(&z->lock);
    unsigned long runs0 = t_vmstat("pageoutrun");

    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    ck_assert(wait_for(boost_gone, z, 20000));
    ck_assert_uint_ge(t_vmstat("pageoutrun") - runs0, 1);
    ck_assert_uint_gt(c.freed, 0);
    ck_assert_uint_eq(z->wmark_fast, low_wmark_pages(z) + z->nr_reserved_highatomic);
}
END_TEST

struct fork_arg {
    struct cache *c;
};

static void kswapd_in_child(void *arg)
{
    struct fork_arg *a = arg;
    struct zone *z = normal_zone(0);
    unsigned long freed0 = a->c->freed;
    t_child_check(!kswapd_sleeping(0));               /* no kswapd came along */
    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    t_child_check(wait_for(node0_asleep, NULL, 20000));
    t_child_check(a->c->freed > freed0);
    t_child_check(zone_page_state(z, NR_FREE_PAGES) > high_wmark_pages(z));
}

/* A forked child gets a kswapd of its own on its first wakeup. */
START_TEST(test_kswapd_after_fork)
{
    setup("32M", NULL);
    struct cache c;
    cache_fill(&c, 0);
    struct zone *z = normal_zone(0);
    wakeup_kswapd(z, PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    ck_assert(wait_for(node0_asleep, NULL, 20000));
    /* short again */
    for (struct pa_page *p; (p = pa_alloc_pages(GFP_FILL, 0));)
        t_page_cache_push(&c.pc, p);
    struct fork_arg a = {&c};
    struct t_child child;
    t_run_child(kswapd_in_child, &a, &child);
    char buf[64];
    ck_assert_msg(t_exited_ok(&child), "child: %s", t_describe_status(&child, buf, sizeof(buf)));
    free(child.err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The LRU helper                                                      */
/* ------------------------------------------------------------------ */

struct evict_log {
    struct pa_page *seen[256];
    int n;
    struct pa_page *keep;         /* refused every time */
};

static bool log_evict(struct pa_lru *lru, struct pa_page *page, void *private_data)
{
    struct evict_log *l = private_data;
    (void)lru;
    if (l->n < 256)
        l->seen[l->n++] = page;
    if (page == l->keep)
        return false;
    pa_free_pages(page, 0);
    return true;
}

static struct pa_page *alloc_one(void)
{
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(test_lru_errors)
{
    setup("32M", NULL);
    struct evict_log l = {0};
    errno = 0;
    ck_assert_ptr_null(pa_lru_create("x", NULL, NULL));
    ck_assert_int_eq(errno, EINVAL);
    struct pa_lru *a = pa_lru_create("a", log_evict, &l);
    struct pa_lru *b = pa_lru_create("b", log_evict, &l);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    struct pa_page *p = alloc_one();

    errno = 0;
    ck_assert_int_eq(pa_lru_add(NULL, p), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_lru_add(a, NULL), -1);
    ck_assert_int_eq(pa_lru_del(a, p), -1);           /* not on it */
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_lru_add(a, p), 0);
    errno = 0;
    ck_assert_int_eq(pa_lru_add(a, p), -1);           /* twice */
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_lru_add(b, p), -1);           /* on another LRU */
    ck_assert_int_eq(pa_lru_del(b, p), -1);
    ck_assert_uint_eq(pa_lru_size(a, false), 1);
    ck_assert_uint_eq(pa_lru_size(b, false), 0);
    errno = 0;
    ck_assert_uint_eq(pa_lru_size(NULL, false), 0);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_lru_del(a, p), 0);
    ck_assert_uint_eq(pa_lru_size(a, false), 0);

    /* a free page cannot join */
    struct pa_page *q = alloc_one();
    pa_free_pages(q, 0);
    ck_assert_int_eq(pa_lru_add(a, q), -1);

    /* destroy leaves the pages to the owner, clean */
    ck_assert_int_eq(pa_lru_add(a, p), 0);
    pa_lru_mark_accessed(a, p);
    pa_lru_mark_accessed(a, p);
    pa_lru_destroy(a);
    ck_assert(!PageLRU(p) && !PageActive(p));
    pa_free_pages(p, 0);
    pa_lru_destroy(b);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_lru_order_and_activation)
{
    setup("32M", NULL);
    struct evict_log l = {0};
    struct pa_lru *lru = pa_lru_create("order", log_evict, &l);
    struct pa_page *p[10];
    for (int i = 0; i < 10; i++) {
        p[i] = alloc_one();
        ck_assert_int_eq(pa_lru_add(lru, p[i]), 0);
    }
    ck_assert_uint_eq(pa_lru_size(lru, false), 10);

    pa_lru_mark_accessed(lru, p[3]);                   /* referenced: still inactive */
    ck_assert_uint_eq(pa_lru_size(lru, true), 0);
    pa_lru_mark_accessed(lru, p[3]);                   /* second access: active */
    ck_assert_uint_eq(pa_lru_size(lru, true), 1);
    ck_assert_uint_eq(pa_lru_size(lru, false), 9);
    pa_lru_mark_accessed(lru, p[5]);                   /* once only: evicted in order */

    /* one pass at priority 0: the inactive list, oldest first */
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    int want[] = {0, 1, 2, 4, 5, 6, 7, 8, 9};
    ck_assert_int_eq(l.n, 9);
    for (int i = 0; i < 9; i++)
        ck_assert_msg(l.seen[i] == p[want[i]], "eviction %d was not p[%d]", i, want[i]);
    ck_assert_uint_eq(pa_lru_size(lru, false), 0);
    ck_assert_uint_eq(pa_lru_size(lru, true), 1);

    /* the inactive list is low: the active one refills it, then it goes */
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    ck_assert_int_eq(l.n, 10);
    ck_assert_ptr_eq(l.seen[9], p[3]);
    ck_assert_uint_eq(pa_lru_size(lru, true), 0);
    pa_lru_destroy(lru);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* A page the owner refuses to give up goes back to the inactive head: it
 * is offered again only after every page that was behind it. */
START_TEST(test_lru_refusal_rotates)
{
    setup("32M", NULL);
    struct evict_log l = {0};
    struct pa_lru *lru = pa_lru_create("rotate", log_evict, &l);
    struct pa_page *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = alloc_one();
        ck_assert_int_eq(pa_lru_add(lru, p[i]), 0);
    }
    l.keep = p[0];

    /* priority 1: 64 >> 1 = 32 pages, one batch: p0 (kept), p1..p31 */
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 1);
    ck_assert_int_eq(l.n, 32);
    for (int i = 0; i < 32; i++)
        ck_assert_ptr_eq(l.seen[i], p[i]);
    ck_assert_uint_eq(pa_lru_size(lru, false), 33);

    /* next batch: p32..p63 come before the rotated p0 */
    shrink_slab(PA_GFP_KERNEL, 0, NULL, 0);
    ck_assert_int_eq(l.n, 64);
    for (int i = 32; i < 64; i++)
        ck_assert_ptr_eq(l.seen[i], p[i]);
    ck_assert_uint_eq(pa_lru_size(lru, false), 1);
    ck_assert_int_eq(pa_lru_del(lru, p[0]), 0);       /* still the owner's, on the LRU */
    pa_free_pages(p[0], 0);
    pa_lru_destroy(lru);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static bool free_lru_page(struct pa_lru *lru, struct pa_page *page, void *private_data)
{
    (void)lru;
    (*(unsigned long *)private_data)++;
    pa_free_pages(page, 0);
    return true;
}

/* An LRU holding most of memory is reclaimed by direct reclaim. */
START_TEST(test_lru_direct_reclaim)
{
    setup("32M", NULL);
    unsigned long evicted = 0;
    struct pa_lru *lru = pa_lru_create("cache", free_lru_page, &evicted);
    unsigned long n = 0;
    for (struct pa_page *pg; (pg = pa_alloc_pages(GFP_FILL, 0)); n++)
        ck_assert_int_eq(pa_lru_add(lru, pg), 0);
    ck_assert_uint_gt(n, 1000);
    ck_assert(zone_reclaimable_pages_exist(normal_zone(0)));
    unsigned long got = try_to_free_pages(node_zonelist(0, PA_GFP_KERNEL), 0, PA_GFP_KERNEL, NULL);
    ck_assert_uint_ge(got, 32);
    ck_assert_uint_eq(got, evicted);
    ck_assert_uint_eq(pa_lru_size(lru, false), n - evicted);
    pa_lru_destroy(lru);
}
END_TEST

/* ------------------------------------------------------------------ */
/* End to end: needs the slow path wired (page_alloc.c calls            */
/* wakeup_kswapd / try_to_free_pages)                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_e2e_slowpath_reclaims_cache)
{
    setup("32M", NULL);
    struct cache c;
    memset(&c, 0, sizeof(c));
    t_page_cache_init(&c.pc);
    c.s = pa_shrinker_alloc(0, "e2e-cache");
    c.s->count_objects = cache_count;
    c.s->scan_objects = cache_scan;
    c.s->private_data = &c;
    pa_shrinker_register(c.s);

    /* twice the node's memory through a cache that its shrinker can trim */
    unsigned long want = 2 * (32UL << 20) / T_PAGE;
    for (unsigned long i = 0; i < want; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
        ck_assert_msg(p != NULL, "allocation %lu of %lu failed with a reclaimable cache of %zu pages "
                      "(is the slow path wired to reclaim?)", i, want, t_page_cache_count(&c.pc));
        t_page_cache_push(&c.pc, p);
    }
    ck_assert_uint_gt(c.scan_calls, 0);
    ck_assert_uint_gt(c.freed, 0);
    ck_assert_uint_gt(t_vmstat("pgsteal_direct") + t_vmstat("pgsteal_kswapd"), 0);
    pa_shrinker_free(c.s);
    t_page_cache_drop(&c.pc);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reclaim");
    TCase *tc = t_tcase(s, "shrinkers", 30);
    tcase_add_test(tc, test_shrinker_api_errors);
    tcase_add_test(tc, test_shrink_delta_and_batch);
    tcase_add_test(tc, test_shrink_deferred);
    tcase_add_test(tc, test_shrink_cap_and_tight_memory);
    tcase_add_test(tc, test_shrink_stop_and_empty);
    tcase_add_test(tc, test_numa_aware_per_node);
    tcase_add_test(tc, test_gfp_and_thread_state);
    tcase_add_test(tc, test_free_waits_for_call);

    tc = t_tcase(s, "direct", 60);
    tcase_add_test(tc, test_direct_reclaim_frees_cache);
    tcase_add_test(tc, test_memcg_reclaim_only_aware);

    tc = t_tcase(s, "kswapd", 90);
    tcase_add_test(tc, test_kswapd_balances_and_sleeps);
    tcase_add_test(tc, test_kswapd_hopeless_until_reset);
    tcase_add_test(tc, test_kswapd_clears_boost);
    tcase_add_test(tc, test_kswapd_after_fork);

    tc = t_tcase(s, "lru", 60);
    tcase_add_test(tc, test_lru_errors);
    tcase_add_test(tc, test_lru_order_and_activation);
    tcase_add_test(tc, test_lru_refusal_rotates);
    tcase_add_test(tc, test_lru_direct_reclaim);

    tc = t_tcase(s, "e2e_slowpath", 120);
    tcase_add_test(tc, test_e2e_slowpath_reclaims_cache);
    return t_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * Compaction (src/compaction.c): the movable-page registration, the
 * migration protocol (isolate -> migrate -> putback) against an owner that
 * copies and repoints, full and direct compaction producing order-9 blocks
 * with every page's contents intact, a concurrent user of the pages,
 * deferral, compaction_suitable and the fragmentation index, capture,
 * counters, kcompactd for a recorded order and in proactive mode.
 *
 * The owner here is a "movable cache": it fills a node's Movable zone with
 * order-0 pages, each with a unique pattern, registered with ops whose
 * callbacks take the cache's own lock and update its table.  White-box:
 * reads free_area[] through internal.h.
 */
#include "pa_test.h"

#include "internal.h"

#include <pthread.h>
#include <time.h>

/* compaction.c functions not (yet) declared in internal.h. */
enum compact_result compaction_suitable(struct zone *z, int order, int highest_zoneidx);
int __fragmentation_index(unsigned int order, unsigned long free_pages, unsigned long free_blocks_total,
                          unsigned long free_blocks_suitable);
int fragmentation_index(struct zone *z, unsigned int order);
unsigned int extfrag_for_order(struct zone *z, unsigned int order);
unsigned int fragmentation_score_node(pg_data_t *pgdat);
unsigned int fragmentation_score_wmark(bool low);
bool compaction_zonelist_suitable(const struct alloc_context *ac, int order, unsigned int alloc_flags);

static struct zone *movable_zone(void)
{
    return &NODE_DATA(0)->node_zones[PA_ZONE_MOVABLE];
}

static void setup_env(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "64M");
    t_setenv("PAGEALLOC_MOVABLECORE", "50%");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
}

static void setup(void)
{
    setup_env();
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_msg(populated_zone(movable_zone()), "no Movable zone");
}

/* Free blocks of pageblock order and above in z, in pageblocks. */
static unsigned long free_pageblocks(const struct zone *z)
{
    unsigned long n = 0;
    for (unsigned int o = pageblock_order; o < NR_PAGE_ORDERS; o++)
        n += __atomic_load_n(&z->free_area[o].nr_free, __ATOMIC_RELAXED) << (o - pageblock_order);
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* The owner: a movable cache                                          */
/* ------------------------------------------------------------------ */

struct slot {
    struct pa_page *page;   /* NULL: empty */
    uint64_t id;
    uint64_t gen;           /* bumped by each rewrite of the contents */
    bool isolated;          /* compaction holds it: hands off */
};

static struct cache {
    pthread_mutex_t lock;
    struct slot *slots;
    size_t n;
    /* behaviour */
    bool refuse_isolate;
    int migrate_rc;
    /* what the callbacks saw */
    unsigned long isolate_calls, isolated, migrated, migrate_failed, putback;
    unsigned long modes[3];     /* isolate calls by enum pa_migrate_mode */
    pthread_t tester;           /* with tester_calls: isolate calls from this thread */
    unsigned long tester_calls;
    unsigned long violations;   /* a callback for a page the cache does not hold as expected */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static inline uint64_t pattern_word(uint64_t id, uint64_t gen, size_t i)
{
    return (id * 0x9E3779B97F4A7C15ULL) ^ (gen << 40) ^ (uint64_t)i;
}

static void fill_page(struct pa_page *page, uint64_t id, uint64_t gen)
{
    uint64_t *w = pa_page_address(page);
    for (size_t i = 0; i < T_PAGE / 8; i++)
        w[i] = pattern_word(id, gen, i);
}

static bool page_intact(struct pa_page *page, uint64_t id, uint64_t gen)
{
    const uint64_t *w = pa_page_address(page);
    for (size_t i = 0; i < T_PAGE / 8; i++)
        if (w[i] != pattern_word(id, gen, i))
            return false;
    return true;
}

static bool cache_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    pthread_mutex_lock(&cache.lock);
    if ((unsigned int)mode < 3)
        cache.modes[mode]++;
    if (pthread_equal(pthread_self(), cache.tester))
        cache.tester_calls++;
    struct slot *s = pa_page_movable_owner(page);
    bool ok = s && s->page == page && !s->isolated && !cache.refuse_isolate;
    if (ok) {
        s->isolated = true;
        cache.isolated++;
    }
    cache.isolate_calls++;
    pthread_mutex_unlock(&cache.lock);
    return ok;
}

static int cache_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&cache.lock);
    struct slot *s = pa_page_movable_owner(src);
    /* the registration is already on dst, with the owner's reference */
    if (!s || s->page != src || !s->isolated || pa_page_movable_owner(dst) != s || pa_page_count(dst) != 1 ||
        pa_page_count(src) != 1)
        cache.violations++;
    if (cache.migrate_rc) {
        cache.migrate_failed++;
        pthread_mutex_unlock(&cache.lock);
        return cache.migrate_rc;
    }
    memcpy(pa_page_address(dst), pa_page_address(src), T_PAGE);
    if (s) {
        s->page = dst;
        s->isolated = false;
    }
    cache.migrated++;
    pthread_mutex_unlock(&cache.lock);
    return 0;
}

static void cache_putback(struct pa_page *page)
{
    pthread_mutex_lock(&cache.lock);
    struct slot *s = pa_page_movable_owner(page);
    if (!s || s->page != page || !s->isolated)
        cache.violations++;
    else
        s->isolated = false;
    cache.putback++;
    pthread_mutex_unlock(&cache.lock);
}

static const struct pa_movable_ops cache_ops = {
    .isolate_page = cache_isolate,
    .migrate_page = cache_migrate,
    .putback_page = cache_putback,
};

/*
 * Take every page of the Movable zone (until an allocation comes from
 * another zone), register each, write its pattern; then free every other
 * page in pfn order so the zone is half free with no order-1 block.
 */
static int cmp_slot_pfn(const void *a, const void *b)
{
    unsigned long pa = pa_page_to_pfn(((const struct slot *)a)->page);
    unsigned long pb = pa_page_to_pfn(((const struct slot *)b)->page);
    return pa < pb ? -1 : pa > pb;
}

static void cache_fill_movable_zone(void)
{
    struct zone *mz = movable_zone();
    size_t cap = mz->spanned_pages;
    cache.slots = calloc(cap, sizeof(*cache.slots));
    ck_assert_ptr_nonnull(cache.slots);
    cache.n = 0;
    for (;;) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        if (pa_page_zonenum(p) != PA_ZONE_MOVABLE || cache.n == cap) {
            pa_free_pages(p, 0);
            break;
        }
        cache.slots[cache.n++].page = p;
    }
    ck_assert_uint_gt(cache.n, cap / 2);
    qsort(cache.slots, cache.n, sizeof(*cache.slots), cmp_slot_pfn);
    for (size_t i = 0; i < cache.n; i++) {
        struct slot *s = &cache.slots[i];
        s->id = i + 1;
        s->gen = 0;
        pa_page_set_movable(s->page, &cache_ops, s);
        fill_page(s->page, s->id, s->gen);
    }
}

static size_t cache_free_every_other(void)
{
    size_t freed = 0;
    for (size_t i = 1; i < cache.n; i += 2) {
        struct slot *s = &cache.slots[i];
        pthread_mutex_lock(&cache.lock);
        struct pa_page *p = s->page;
        s->page = NULL;
        pthread_mutex_unlock(&cache.lock);
        pa_free_pages(p, 0);
        freed++;
    }
    t_drain();
    return freed;
}

/* The zone half free and fragmented: no free pageblock anywhere in it
 * (only the few pages the watermark kept free may pair up). */
static void cache_fragment(void)
{
    cache_fill_movable_zone();
    cache_free_every_other();
    ck_assert_uint_eq(free_pageblocks(movable_zone()), 0);
}

/* Every page the cache holds has its pattern, one reference, and its
 * registration pointing at its slot. */
static void cache_verify(void)
{
    size_t held = 0;
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < cache.n; i++) {
        struct slot *s = &cache.slots[i];
        if (!s->page)
            continue;
        held++;
        ck_assert_msg(!s->isolated, "slot %zu still isolated", i);
        ck_assert_int_eq(pa_page_count(s->page), 1);
        ck_assert_ptr_eq(pa_page_movable_owner(s->page), s);
        ck_assert_msg(page_intact(s->page, s->id, s->gen), "slot %zu (pfn %lu): contents corrupted", i,
                      pa_page_to_pfn(s->page));
    }
    ck_assert_uint_eq(cache.violations, 0);
    pthread_mutex_unlock(&cache.lock);
    ck_assert_uint_gt(held, 0);
}

/* Wait (up to 5 s) until no page of the cache has been isolated without
 * being migrated or put back for a while: a daemon's run has ended. */
static void cache_wait_quiescent(void)
{
    int calm = 0;
    double end = now_s() + 5.0;
    while (calm < 5 && now_s() < end) {
        pthread_mutex_lock(&cache.lock);
        bool idle = cache.isolated == cache.migrated + cache.putback;
        pthread_mutex_unlock(&cache.lock);
        calm = idle ? calm + 1 : 0;
        usleep(20000);
    }
    ck_assert_msg(calm >= 5, "compaction still holds pages of the cache after 5 s");
}

/* Free everything; the Movable zone must then be entirely free again. */
static void cache_destroy(void)
{
    for (size_t i = 0; i < cache.n; i++)
        if (cache.slots[i].page)
            pa_free_pages(cache.slots[i].page, 0);
    free(cache.slots);
    cache.slots = NULL;
    cache.n = 0;
    t_drain();
    struct zone *mz = movable_zone();
    ck_assert_uint_eq(zone_page_state(mz, NR_FREE_PAGES), mz->online_end_pfn - mz->zone_start_pfn);
    ck_assert_int_eq(pa_check_invariants(), 0);
}

/* A request for the Movable zone only (a zonelist of that zone alone: the
 * Normal zone, with its free blocks, would satisfy it otherwise). */
static struct zonelist movable_zonelist;

static struct alloc_context movable_ac(void)
{
    struct alloc_context ac;
    memset(&ac, 0, sizeof(ac));
    memset(&movable_zonelist, 0, sizeof(movable_zonelist));
    movable_zonelist._zonerefs[0].zone = movable_zone();
    movable_zonelist._zonerefs[0].zone_idx = PA_ZONE_MOVABLE;
    ac.zonelist = &movable_zonelist;
    ac.highest_zoneidx = PA_ZONE_MOVABLE;
    ac.migratetype = MIGRATE_MOVABLE;
    ac.preferred_zoneref = &ac.zonelist->_zonerefs[0];
    return ac;
}

/* A captured block is off every list and not yet prepared: make it an
 * allocated order-order block (as prep_new_page would) and free it. */
static void free_captured(struct pa_page *page, unsigned int order)
{
    page->order = (uint8_t)order;
    set_page_count(page, 1);
    pa_free_pages(page, order);
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_set_movable_api)
{
    setup();
    int owner;
    struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(pa_page_movable_owner(p));
    pa_page_set_movable(p, &cache_ops, &owner);
    ck_assert_ptr_eq(pa_page_movable_owner(p), &owner);
    ck_assert(PageMovable(p));
    pa_page_set_movable(p, NULL, NULL);
    ck_assert_ptr_null(pa_page_movable_owner(p));
    ck_assert(!PageMovable(p));

    /* missing callbacks: EINVAL, nothing changes */
    struct pa_movable_ops half = {.isolate_page = cache_isolate};
    errno = 0;
    pa_page_set_movable(p, &half, &owner);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(pa_page_movable_owner(p));

    /* freeing clears the registration */
    pa_page_set_movable(p, &cache_ops, &owner);
    pa_free_pages(p, 0);
    ck_assert_ptr_null(pa_page_movable_owner(p));
    ck_assert_ptr_null(p->mapping);

    /* a free page, a tail page, a foreign pointer: reported and refused */
    unsigned long bad_before = t_vmstat("pa_bad_page");
    struct t_capture cap;
    t_capture_begin(&cap);
    errno = 0;
    pa_page_set_movable(p, &cache_ops, &owner);
    int e1 = errno;
    struct pa_page *c = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_COMP, 2);
    ck_assert_ptr_nonnull(c);
    errno = 0;
    pa_page_set_movable(c + 1, &cache_ops, &owner);
    int e2 = errno;
    char junk[sizeof(struct pa_page)];
    errno = 0;
    pa_page_set_movable((struct pa_page *)(void *)junk, &cache_ops, &owner);
    int e3 = errno;
    char *err = t_capture_end(&cap);
    ck_assert_int_eq(e1, EINVAL);
    ck_assert_int_eq(e2, EINVAL);
    ck_assert_int_eq(e3, EINVAL);
    ck_assert_int_eq(t_count_lines_with(err, "BUG: Bad page state"), 2);
    ck_assert_uint_eq(t_vmstat("pa_bad_page"), bad_before + 3);
    free(err);
    ck_assert(!PageMovable(p) && !PageMovable(c + 1));
    ck_assert_ptr_null(pa_page_movable_owner((struct pa_page *)(void *)junk));
    pa_free_pages(c, 2);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Full compaction                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_compact_node_makes_pageblocks)
{
    setup();
    cache_fragment();
    struct zone *mz = movable_zone();
    unsigned long ms = t_vmstat("compact_migrate_scanned"), fs = t_vmstat("compact_free_scanned");
    unsigned long iso = t_vmstat("compact_isolated"), ok = t_vmstat("pgmigrate_success");
    unsigned long fail = t_vmstat("pgmigrate_fail");

    ck_assert_int_eq(pa_compact_node(0), 0);

    /* half the zone was free in order-0 pieces: most of it is now whole
     * pageblocks (16 blocks, half free, less what the watermark left) */
    unsigned long blocks = free_pageblocks(mz);
    ck_assert_msg(blocks >= 6, "only %lu free pageblocks after compaction", blocks);
    ck_assert_uint_gt(cache.migrated, 0);
    /* where the scanners meet the targets run out: the rest go back */
    ck_assert_uint_eq(cache.migrate_failed, 0);
    ck_assert_uint_eq(cache.isolated, cache.migrated + cache.putback);
    ck_assert_uint_lt(cache.putback, 512);
    cache_verify();
    ck_assert_int_eq(pa_check_invariants(), 0);

    ck_assert_uint_gt(t_vmstat("compact_migrate_scanned"), ms);
    ck_assert_uint_gt(t_vmstat("compact_free_scanned"), fs);
    ck_assert_uint_ge(t_vmstat("compact_isolated"), iso + 2 * cache.migrated);
    ck_assert_uint_eq(t_vmstat("pgmigrate_success"), ok + cache.migrated);
    ck_assert_uint_eq(t_vmstat("pgmigrate_fail"), fail);

    /* and the allocator hands one out */
    struct pa_page *big = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 9);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(pa_page_zonenum(big), PA_ZONE_MOVABLE);
    pa_free_pages(big, 9);

    /* a second run finds nothing more to do and breaks nothing */
    ck_assert_int_eq(pa_compact_memory(), 0);
    cache_verify();
    cache_destroy();
}
END_TEST

START_TEST(test_compact_node_bad_nid)
{
    setup();
    errno = 0;
    ck_assert_int_eq(pa_compact_node(-1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_compact_node(pa_num_nodes()), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_compact_memory(), 0);
}
END_TEST

/* isolate_page saying false: the page is skipped, nothing else is called. */
START_TEST(test_isolate_refused_skips)
{
    setup();
    cache_fragment();
    struct zone *mz = movable_zone();
    unsigned long ok = t_vmstat("pgmigrate_success"), fail = t_vmstat("pgmigrate_fail");
    struct pa_page **before = malloc(cache.n * sizeof(*before));
    ck_assert_ptr_nonnull(before);
    for (size_t i = 0; i < cache.n; i++)
        before[i] = cache.slots[i].page;
    cache.refuse_isolate = true;

    ck_assert_int_eq(pa_compact_node(0), 0);
    ck_assert_uint_gt(cache.isolate_calls, 0);
    ck_assert_uint_eq(cache.migrated + cache.migrate_failed + cache.putback, 0);
    ck_assert_uint_eq(free_pageblocks(mz), 0);
    for (size_t i = 0; i < cache.n; i++)
        ck_assert_ptr_eq(cache.slots[i].page, before[i]);
    ck_assert_uint_eq(t_vmstat("pgmigrate_success"), ok);
    ck_assert_uint_eq(t_vmstat("pgmigrate_fail"), fail);

    /* direct compaction finds nothing to move: a failure, then deferred */
    unsigned long stall = t_vmstat("compact_stall"), cfail = t_vmstat("compact_fail");
    struct alloc_context ac = movable_ac();
    struct pa_page *cap = NULL;
    enum compact_result r = try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac,
                                                 COMPACT_PRIO_SYNC_LIGHT, &cap);
    ck_assert_ptr_null(cap);
    ck_assert_int_ne(r, COMPACT_SUCCESS);
    ck_assert_uint_eq(t_vmstat("compact_stall"), stall + 1);
    ck_assert_uint_eq(t_vmstat("compact_fail"), cfail + 1);
    ck_assert(compaction_deferred(mz, 9));   /* deferred after a sync failure */

    cache.refuse_isolate = false;
    cache_verify();
    free(before);
    cache_destroy();
}
END_TEST

/* migrate_page failing: the owner gets every isolated page back, unchanged. */
START_TEST(test_migrate_error_puts_back)
{
    setup();
    cache_fragment();
    unsigned long fail = t_vmstat("pgmigrate_fail"), ok = t_vmstat("pgmigrate_success");
    unsigned long nr_free = zone_page_state(movable_zone(), NR_FREE_PAGES);
    struct pa_page **before = malloc(cache.n * sizeof(*before));
    ck_assert_ptr_nonnull(before);
    for (size_t i = 0; i < cache.n; i++)
        before[i] = cache.slots[i].page;
    cache.migrate_rc = -EIO;

    ck_assert_int_eq(pa_compact_node(0), 0);
    ck_assert_uint_gt(cache.isolated, 0);
    ck_assert_uint_eq(cache.migrated, 0);
    ck_assert_uint_eq(cache.migrate_failed, cache.isolated);
    ck_assert_uint_eq(cache.putback, cache.isolated);
    for (size_t i = 0; i < cache.n; i++) {
        ck_assert_ptr_eq(cache.slots[i].page, before[i]);
        if (before[i])
            ck_assert(!PageIsolated(before[i]));
    }
    ck_assert_uint_eq(t_vmstat("pgmigrate_fail"), fail + cache.migrate_failed);
    ck_assert_uint_eq(t_vmstat("pgmigrate_success"), ok);
    /* every target went back */
    t_drain();
    ck_assert_uint_eq(zone_page_state(movable_zone(), NR_FREE_PAGES), nr_free);
    ck_assert_uint_eq(free_pageblocks(movable_zone()), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);

    cache.migrate_rc = 0;
    cache_verify();
    free(before);
    cache_destroy();
}
END_TEST

/* ------------------------------------------------------------------ */
/* A concurrent user                                                   */
/* ------------------------------------------------------------------ */

static volatile int writer_stop;
static unsigned long writer_ops, writer_corrupt, writer_replaced;

/* Reads, checks and rewrites random pages of the cache under its lock, and
 * now and then frees a page and puts a new one in its slot. */
static void *writer_main(void *arg)
{
    (void)arg;
    uint64_t seed = 0x1234567;
    while (!__atomic_load_n(&writer_stop, __ATOMIC_RELAXED)) {
        size_t i = (size_t)(t_rand(&seed) % cache.n);
        struct slot *s = &cache.slots[i];
        pthread_mutex_lock(&cache.lock);
        if (!s->page || s->isolated) {
            pthread_mutex_unlock(&cache.lock);
            continue;
        }
        if (!page_intact(s->page, s->id, s->gen))
            writer_corrupt++;
        writer_ops++;
        if (t_rand(&seed) % 8 == 0) {
            struct pa_page *old = s->page;
            s->page = NULL;
            pthread_mutex_unlock(&cache.lock);
            pa_free_pages(old, 0);
            struct pa_page *np = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 0);
            if (!np)
                continue;
            pa_page_set_movable(np, &cache_ops, s);
            pthread_mutex_lock(&cache.lock);
            s->gen++;
            fill_page(np, s->id, s->gen);
            s->page = np;
            writer_replaced++;
            pthread_mutex_unlock(&cache.lock);
            continue;
        }
        s->gen++;
        fill_page(s->page, s->id, s->gen);
        pthread_mutex_unlock(&cache.lock);
    }
    return NULL;
}

/* A second compactor: full compactions of the node until told to stop. */
static void *compactor_main(void *arg)
{
    unsigned long *rounds = arg;
    while (!__atomic_load_n(&writer_stop, __ATOMIC_RELAXED)) {
        if (pa_compact_node(0) != 0)
            break;
        (*rounds)++;
    }
    return NULL;
}

START_TEST(test_concurrent_user)
{
    setup();
    cache_fragment();
    struct alloc_context ac = movable_ac();
    pthread_t writer, compactor;
    unsigned long rounds = 0, rounds2 = 0, captured = 0;

    __atomic_store_n(&writer_stop, 0, __ATOMIC_RELAXED);
    ck_assert_int_eq(pthread_create(&writer, NULL, writer_main, NULL), 0);
    ck_assert_int_eq(pthread_create(&compactor, NULL, compactor_main, &rounds2), 0);
    /* kcompactd joins in: three compactors and the owner at once */
    wakeup_kcompactd(NODE_DATA(0), 9, PA_ZONE_MOVABLE);
    double end = now_s() + 2.0;
    while (now_s() < end) {
        /* hold every free pageblock of the zone, so direct compaction has
         * to make the next one while the others move pages too */
        struct t_blocks held = {0};
        for (int i = 0; i < 16; i++) {
            struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 9);
            if (!p)
                break;
            t_blocks_push(&held, p, 9);
        }
        struct pa_page *cap = NULL;
        try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac,
                             (enum compact_priority)(rounds % 3), &cap);
        if (cap) {
            captured++;
            free_captured(cap, 9);
        }
        t_blocks_free_all(&held);
        t_blocks_release(&held);
        wakeup_kcompactd(NODE_DATA(0), 9, PA_ZONE_MOVABLE);
        rounds++;
    }
    __atomic_store_n(&writer_stop, 1, __ATOMIC_RELAXED);
    pthread_join(writer, NULL);
    pthread_join(compactor, NULL);
    cache_wait_quiescent();   /* kcompactd may still be at work */

    ck_assert_uint_gt(rounds, 1);
    ck_assert_uint_gt(rounds2, 1);
    ck_assert_uint_gt(writer_ops, 100);
    ck_assert_uint_gt(writer_replaced, 0);
    ck_assert_uint_gt(cache.migrated, 0);
    ck_assert_msg(writer_corrupt == 0, "%lu corrupted pages seen by the concurrent user", writer_corrupt);
    fprintf(stderr,
            "concurrent: %lu + %lu rounds, %lu writer ops (%lu replaced), %lu migrated, %lu put back, "
            "%lu captured\n",
            rounds, rounds2, writer_ops, writer_replaced, cache.migrated, cache.putback, captured);
    cache_verify();
    ck_assert_int_eq(pa_check_invariants(), 0);
    cache_destroy();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Direct compaction and capture                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_direct_compaction_captures)
{
    setup();
    /* set up while the zone is not online yet, as pa_init does: the
     * scanners' cached positions must follow the zone as it grows */
    ck_assert_int_eq(pa_compaction_init(), 0);
    cache_fragment();
    struct zone *mz = movable_zone();
    struct alloc_context ac = movable_ac();
    unsigned long stall = t_vmstat("compact_stall"), success = t_vmstat("compact_success");
    struct pa_page *cap = NULL;

    enum compact_result r = try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac,
                                                 COMPACT_PRIO_SYNC_LIGHT, &cap);
    ck_assert_int_eq(r, COMPACT_SUCCESS);
    ck_assert_ptr_nonnull(cap);
    ck_assert_int_eq(pa_page_zonenum(cap), PA_ZONE_MOVABLE);
    ck_assert_uint_eq(pa_page_to_pfn(cap) % 512, 0);
    ck_assert(!PageBuddy(cap));
    ck_assert_int_eq(page_ref_count(cap), 0);
    ck_assert_ptr_null(pa_thread()->capc);
    ck_assert_uint_eq(t_vmstat("compact_stall"), stall + 1);
    ck_assert_uint_eq(t_vmstat("compact_success"), success + 1);
    ck_assert_uint_gt(cache.migrated, 0);
    cache_verify();
    /* the captured block is nobody's free page: the invariants hold with it out */
    ck_assert_int_eq(pa_check_invariants(), 0);
    free_captured(cap, 9);
    ck_assert_uint_ge(free_pageblocks(mz), 1);

    /* async compaction also gets there, with the skip hints */
    for (int i = 0; i < 4 && r == COMPACT_SUCCESS; i++) {
        cap = NULL;
        r = try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac, COMPACT_PRIO_ASYNC,
                                 &cap);
        if (cap)
            free_captured(cap, 9);
    }
    /* no I/O allowed: skipped, as the kernel's GFP_NOIO */
    cap = NULL;
    ck_assert_int_eq(try_to_compact_pages(PA_GFP_NOIO | PA_GFP_MOVABLE, 9, ALLOC_WMARK_MIN, &ac,
                                          COMPACT_PRIO_SYNC_FULL, &cap),
                     COMPACT_SKIPPED);
    ck_assert_ptr_null(cap);
    cache_verify();
    cache_destroy();
}
END_TEST

/* Isolate calls this thread made so far. */
static unsigned long tester_calls(void)
{
    pthread_mutex_lock(&cache.lock);
    unsigned long n = cache.tester_calls;
    pthread_mutex_unlock(&cache.lock);
    return n;
}

/* One sync-light direct compaction for order 9 in the Movable zone that
 * must fail (the owner refuses every page), the deferral reset first. */
static void failing_direct_compaction(void)
{
    struct alloc_context ac = movable_ac();
    struct pa_page *cap = NULL;
    compaction_defer_reset(movable_zone(), 9, true);
    enum compact_result r = try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac,
                                                 COMPACT_PRIO_SYNC_LIGHT, &cap);
    ck_assert_ptr_null(cap);
    ck_assert_int_ne(r, COMPACT_SUCCESS);
}

/*
 * The skip hints a failing direct compaction leaves survive the next
 * direct compaction: only kswapd going to sleep consumes
 * compact_blockskip_flush (reset_isolation_suitable), as in the kernel.
 * The owner refuses to isolate, so every scanned block is marked skip and
 * the scanners meet.  Counted: isolate calls from this thread only.
 */
START_TEST(test_skip_hints_survive_until_kswapd_sleeps)
{
    setup_env();
    t_setenv("PAGEALLOC_COMPACTION_PROACTIVENESS", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    cache_fragment();
    /* kswapd, woken by the fill, flushes the hints as it goes to sleep:
     * let it get there first (and kcompactd finish what it woke) */
    double end = now_s() + 10.0;
    while (!kswapd_idle(0) && now_s() < end)
        usleep(10000);
    ck_assert_msg(kswapd_idle(0), "kswapd still running 10 s after the fill");
    cache_wait_quiescent();
    pthread_mutex_lock(&cache.lock);
    cache.tester = pthread_self();
    cache.refuse_isolate = true;
    pthread_mutex_unlock(&cache.lock);

    failing_direct_compaction();
    unsigned long first = tester_calls();
    ck_assert_uint_gt(first, 0);
    /* the hints hold: every block with movable pages is skipped */
    failing_direct_compaction();
    ck_assert_msg(tester_calls() == first, "the second run scanned %lu pages again: hints were flushed",
                  tester_calls() - first);
    /* kswapd going to sleep flushes them: the next run scans again */
    reset_isolation_suitable(NODE_DATA(0));
    failing_direct_compaction();
    ck_assert_uint_gt(tester_calls(), first);

    pthread_mutex_lock(&cache.lock);
    cache.refuse_isolate = false;
    pthread_mutex_unlock(&cache.lock);
    cache_wait_quiescent();
    cache_verify();
    cache_destroy();
}
END_TEST

/* The kernel's compact_zone_order migrates sync-light at every priority but
 * async, the highest (SYNC_FULL, whole zone, any block) included.  (A
 * kcompactd run meanwhile would add sync-light calls only.) */
START_TEST(test_direct_compaction_modes)
{
    setup();
    cache_fragment();
    struct alloc_context ac = movable_ac();
    struct pa_page *cap = NULL;
    pthread_mutex_lock(&cache.lock);
    memset(cache.modes, 0, sizeof(cache.modes));
    pthread_mutex_unlock(&cache.lock);
    enum compact_result r = try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac,
                                                 COMPACT_PRIO_SYNC_FULL, &cap);
    ck_assert_int_eq(r, COMPACT_SUCCESS);
    if (cap)
        free_captured(cap, 9);
    pthread_mutex_lock(&cache.lock);
    ck_assert_uint_gt(cache.modes[PA_MIGRATE_SYNC_LIGHT], 0);
    ck_assert_uint_eq(cache.modes[PA_MIGRATE_SYNC], 0);
    ck_assert_uint_eq(cache.modes[PA_MIGRATE_ASYNC], 0);
    pthread_mutex_unlock(&cache.lock);
    cache_wait_quiescent();
    cache_verify();
    cache_destroy();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Deferral, suitability, fragmentation                                */
/* ------------------------------------------------------------------ */

/* How many consecutive attempts compaction_deferred skips before it lets
 * one through (it counts each attempt). */
static int deferred_run(struct zone *z, unsigned int order)
{
    int n = 0;
    while (compaction_deferred(z, order)) {
        n++;
        ck_assert_int_lt(n, 1000);
    }
    return n;
}

START_TEST(test_deferral_arithmetic)
{
    setup();
    struct zone *z = movable_zone();
    ck_assert(!compaction_deferred(z, 9));      /* never failed */
    for (int shift = 1; shift <= 8; shift++) {
        defer_compaction(z, 9);
        int expect = (1 << PA_MIN(shift, 6)) - 1; /* shift capped at COMPACT_MAX_DEFER_SHIFT */
        ck_assert_int_eq(deferred_run(z, 9), expect);
        ck_assert(!compaction_deferred(z, 9));  /* stays through, at the limit */
    }
    /* lower orders than the failed one are not deferred */
    ck_assert(!compaction_deferred(z, 4));
    defer_compaction(z, 4);                      /* order_failed drops to 4 */
    ck_assert(compaction_deferred(z, 5));
    /* success without an allocation: order_failed above the order only */
    compaction_defer_reset(z, 6, false);
    ck_assert(!compaction_deferred(z, 6));
    ck_assert(compaction_deferred(z, 7));
    /* the allocation succeeded: the shift is gone */
    compaction_defer_reset(z, 9, true);
    ck_assert(!compaction_deferred(z, 9));
    ck_assert(!compaction_deferred(z, 10));
    defer_compaction(z, 9);
    ck_assert_int_eq(deferred_run(z, 9), 1);
}
END_TEST

START_TEST(test_fragmentation_index_formula)
{
    setup();
    /* hand values, the kernel's formula: 1000 - (1000 + free*1000/req) / blocks */
    ck_assert_int_eq(__fragmentation_index(9, 0, 0, 0), 0);
    ck_assert_int_eq(__fragmentation_index(9, 4096, 4096, 0), 998);
    ck_assert_int_eq(__fragmentation_index(9, 4096, 9, 0), 0);   /* 9 big blocks just short: lack of memory */
    ck_assert_int_eq(__fragmentation_index(9, 4096, 8, 0), -125);
    ck_assert_int_eq(__fragmentation_index(4, 100, 10, 0), 275);
    ck_assert_int_eq(__fragmentation_index(9, 1024, 3, 1), -1000);
    ck_assert_int_eq(__fragmentation_index(9, 256, 1, 0), -500);

    cache_fragment();
    struct zone *mz = movable_zone();
    unsigned long free_pages = 0, blocks = 0, suitable = 0;
    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
        unsigned long nr = mz->free_area[o].nr_free;
        blocks += nr;
        free_pages += nr << o;
        if (o >= 9)
            suitable += nr << (o - 9);
    }
    ck_assert_uint_eq(suitable, 0);
    int expect = (int)(1000 - (1000 + free_pages * 1000 / 512) / blocks);
    ck_assert_int_eq(fragmentation_index(mz, 9), expect);
    ck_assert_int_gt(expect, 900);   /* fragmentation, not lack of memory */
    ck_assert_uint_eq(extfrag_for_order(mz, 9), 100);
    ck_assert_int_eq(compaction_suitable(mz, 9, PA_ZONE_MOVABLE), COMPACT_CONTINUE);
    /* a threshold above the index: the failure is taken for lack of memory */
    pa_opt.extfrag_threshold = 1000;
    ck_assert_int_eq(compaction_suitable(mz, 9, PA_ZONE_MOVABLE), COMPACT_NOT_SUITABLE_ZONE);
    pa_opt.extfrag_threshold = 500;
    /* non-costly orders ignore the index */
    pa_opt.extfrag_threshold = 1000;
    ck_assert_int_eq(compaction_suitable(mz, 3, PA_ZONE_MOVABLE), COMPACT_CONTINUE);
    pa_opt.extfrag_threshold = 500;

    /* after compaction: the index says a block exists */
    ck_assert_int_eq(pa_compact_node(0), 0);
    ck_assert_int_eq(fragmentation_index(mz, 9), -1000);
    ck_assert_uint_lt(extfrag_for_order(mz, 9), 50);
    cache_destroy();
}
END_TEST

/* A shrinker that reports shrinker_objects objects and frees none. */
static unsigned long shrinker_objects;   /* relaxed atomics: kswapd counts too */

static unsigned long objects_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    (void)sc;
    return __atomic_load_n(&shrinker_objects, __ATOMIC_RELAXED);
}

static unsigned long objects_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    (void)sc;
    return PA_SHRINK_STOP;
}

START_TEST(test_suitable_refuses_when_short)
{
    setup();
    cache_fill_movable_zone();   /* every page taken: only the watermark reserve is free */
    t_drain();
    struct zone *mz = movable_zone();
    unsigned long free = zone_page_state(mz, NR_FREE_PAGES);
    ck_assert_uint_lt(free, low_wmark_pages(mz) + (2UL << 9));
    ck_assert_int_eq(compaction_suitable(mz, 9, PA_ZONE_MOVABLE), COMPACT_SKIPPED);
    /* the kernel's watermark: MIN + 2 << order for small orders, LOW for costly ones */
    for (int order = 0; order <= 6; order++) {
        unsigned long mark = (order > PAGE_ALLOC_COSTLY_ORDER ? low_wmark_pages(mz) : min_wmark_pages(mz)) +
                             (2UL << order);
        bool ok = __zone_watermark_ok(mz, 0, mark, PA_ZONE_MOVABLE, ALLOC_CMA, (long)free);
        enum compact_result r = compaction_suitable(mz, order, PA_ZONE_MOVABLE);
        if (!ok)
            ck_assert_int_eq(r, COMPACT_SKIPPED);
        else
            ck_assert_int_ne(r, COMPACT_SKIPPED);
    }
    /* direct compaction for order 9 is skipped: nothing to stall on */
    struct alloc_context ac = movable_ac();
    struct pa_page *cap = NULL;
    unsigned long stall = t_vmstat("compact_stall");
    enum compact_result r = try_to_compact_pages(PA_GFP_HIGHUSER_MOVABLE, 9, ALLOC_WMARK_MIN | ALLOC_CMA, &ac,
                                                 COMPACT_PRIO_SYNC_FULL, &cap);
    ck_assert_int_eq(r, COMPACT_SKIPPED);
    ck_assert_ptr_null(cap);
    ck_assert_uint_eq(t_vmstat("compact_stall"), stall);
    ck_assert(!compaction_zonelist_suitable(&ac, 9, ALLOC_WMARK_MIN));
    /* what reclaim could free counts too, divided by the order (the
     * kernel's compaction_zonelist_suitable): the zone taken below MIN,
     * then a shrinker holding 2 objects per page an order-2 request lacks
     * makes retrying worth it, one per page does not */
    struct t_blocks extra = {0};
    while (zone_page_state(mz, NR_FREE_PAGES) > min_wmark_pages(mz) / 2) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_MEMALLOC | PA_GFP_NOWARN, 0);
        ck_assert_ptr_nonnull(p);
        t_blocks_push(&extra, p, 0);
        t_drain();
    }
    unsigned long free2 = zone_page_state(mz, NR_FREE_PAGES);
    unsigned long lack = min_wmark_pages(mz) + (2UL << 2) + 1 - free2;
    ck_assert(!compaction_zonelist_suitable(&ac, 2, ALLOC_WMARK_MIN));
    struct pa_shrinker *sh = pa_shrinker_alloc(0, "objects");
    ck_assert_ptr_nonnull(sh);
    sh->count_objects = objects_count;
    sh->scan_objects = objects_scan;
    __atomic_store_n(&shrinker_objects, 2 * (lack + 8), __ATOMIC_RELAXED);
    pa_shrinker_register(sh);
    ck_assert_uint_eq(zone_reclaimable_pages(mz), __atomic_load_n(&shrinker_objects, __ATOMIC_RELAXED));
    ck_assert(compaction_zonelist_suitable(&ac, 2, ALLOC_WMARK_MIN));
    __atomic_store_n(&shrinker_objects, lack, __ATOMIC_RELAXED);
    ck_assert(!compaction_zonelist_suitable(&ac, 2, ALLOC_WMARK_MIN));
    pa_shrinker_free(sh);
    t_blocks_free_all(&extra);
    t_blocks_release(&extra);
    /* half of it back: now there is room for the targets */
    cache_free_every_other();
    ck_assert_int_eq(compaction_suitable(mz, 9, PA_ZONE_MOVABLE), COMPACT_CONTINUE);
    ck_assert(compaction_zonelist_suitable(&ac, 9, ALLOC_WMARK_MIN));
    cache_verify();
    cache_destroy();
}
END_TEST

START_TEST(test_score_wmarks)
{
    setup();
    pa_opt.compaction_proactiveness = 20;
    ck_assert_uint_eq(fragmentation_score_wmark(true), 80);
    ck_assert_uint_eq(fragmentation_score_wmark(false), 90);
    pa_opt.compaction_proactiveness = 100;
    ck_assert_uint_eq(fragmentation_score_wmark(true), 5);
    ck_assert_uint_eq(fragmentation_score_wmark(false), 15);
    pa_opt.compaction_proactiveness = 0;
    ck_assert_uint_eq(fragmentation_score_wmark(true), 100);
    ck_assert_uint_eq(fragmentation_score_wmark(false), 100);
    pa_opt.compaction_proactiveness = 20;

    cache_fragment();
    /* the Movable zone is half the node and fully fragmented for order 9 */
    struct zone *mz = movable_zone();
    unsigned int expect = 0;
    pg_data_t *pgdat = NODE_DATA(0);
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (populated_zone(z))
            expect += (unsigned int)(z->present_pages * extfrag_for_order(z, 9) / (pgdat->node_present_pages + 1));
    }
    ck_assert_uint_eq(fragmentation_score_node(pgdat), expect);
    ck_assert_uint_ge(expect, mz->present_pages * 100 / (pgdat->node_present_pages + 1));
    cache_destroy();
}
END_TEST

/* ------------------------------------------------------------------ */
/* kcompactd                                                           */
/* ------------------------------------------------------------------ */

/* Wait up to `seconds` for the Movable zone to hold a free pageblock. */
static bool wait_for_pageblock(double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        if (free_pageblocks(movable_zone()) > 0)
            return true;
        usleep(10000);
    }
    return free_pageblocks(movable_zone()) > 0;
}

/* A thread of this process named pa_kcompactd0. */
static bool kcompactd_thread_exists(void)
{
    return t_threads_named("pa_kcompactd0") > 0;
}

START_TEST(test_kcompactd_recorded_order)
{
    setup();
    cache_fragment();
    unsigned long wakes = t_vmstat("compact_daemon_wake");
    unsigned long dscan = t_vmstat("compact_daemon_migrate_scanned");

    pthread_mutex_lock(&cache.lock);
    memset(cache.modes, 0, sizeof(cache.modes));
    pthread_mutex_unlock(&cache.lock);
    wakeup_kcompactd(NODE_DATA(0), 9, PA_ZONE_MOVABLE);
    ck_assert_msg(wait_for_pageblock(5.0), "kcompactd made no free pageblock within 5 s");
    double end = now_s() + 2.0;
    while (t_vmstat("compact_daemon_migrate_scanned") == dscan && now_s() < end)
        usleep(10000);
    ck_assert_uint_gt(t_vmstat("compact_daemon_wake"), wakes);
    ck_assert_uint_gt(t_vmstat("compact_daemon_migrate_scanned"), dscan);
    pthread_mutex_lock(&cache.lock);
    unsigned long migrated = cache.migrated;
    pthread_mutex_unlock(&cache.lock);
    ck_assert_uint_gt(migrated, 0);
    cache_wait_quiescent();
    /* kcompactd runs sync-light, as the kernel's kcompactd_do_work */
    pthread_mutex_lock(&cache.lock);
    ck_assert_uint_gt(cache.modes[PA_MIGRATE_SYNC_LIGHT], 0);
    ck_assert_uint_eq(cache.modes[PA_MIGRATE_ASYNC], 0);
    pthread_mutex_unlock(&cache.lock);
    cache_verify();
    cache_destroy();
}
END_TEST

START_TEST(test_proactive_compaction)
{
    setup_env();
    t_setenv("PAGEALLOC_COMPACTION_PROACTIVENESS", "100");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_uint_eq(pa_opt.compaction_proactiveness, 100);
    cache_fragment();
    pg_data_t *pgdat = NODE_DATA(0);
    unsigned int before = fragmentation_score_node(pgdat);
    ck_assert_uint_gt(before, fragmentation_score_wmark(false));
    unsigned long dscan = t_vmstat("compact_daemon_migrate_scanned");

    /* order 0 records no work: it only makes sure the daemon runs */
    wakeup_kcompactd(pgdat, 0, MAX_NR_ZONES - 1);
    ck_assert_msg(wait_for_pageblock(5.0), "no proactive compaction within 5 s (score %u)", before);
    double end = now_s() + 3.0;
    while (fragmentation_score_node(pgdat) > fragmentation_score_wmark(false) && now_s() < end)
        usleep(10000);
    ck_assert_uint_le(fragmentation_score_node(pgdat), fragmentation_score_wmark(false));
    /* counted when the zone's run ends, a moment after the blocks appear */
    end = now_s() + 3.0;
    while (t_vmstat("compact_daemon_migrate_scanned") == dscan && now_s() < end)
        usleep(10000);
    ck_assert_uint_gt(t_vmstat("compact_daemon_migrate_scanned"), dscan);
    cache_wait_quiescent();
    cache_verify();
    cache_destroy();
}
END_TEST

START_TEST(test_proactive_off)
{
    setup_env();
    t_setenv("PAGEALLOC_COMPACTION_PROACTIVENESS", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    cache_fragment();
    unsigned long dscan = t_vmstat("compact_daemon_migrate_scanned");
    wakeup_kcompactd(NODE_DATA(0), 0, MAX_NR_ZONES - 1);
    usleep(1200000);   /* more than two check intervals */
    ck_assert_uint_eq(t_vmstat("compact_daemon_migrate_scanned"), dscan);
    ck_assert_uint_eq(free_pageblocks(movable_zone()), 0);
    cache_destroy();
}
END_TEST

static void fork_child(void *arg)
{
    (void)arg;
    /* the parent's daemon did not come along; a new one starts on demand */
    t_child_check(!kcompactd_thread_exists());
    wakeup_kcompactd(NODE_DATA(0), 0, MAX_NR_ZONES - 1);
    t_child_check(kcompactd_thread_exists());
    t_child_check(pa_compact_node(0) == 0);
}

START_TEST(test_kcompactd_fork)
{
    setup();
    ck_assert(!kcompactd_thread_exists());
    wakeup_kcompactd(NODE_DATA(0), 0, MAX_NR_ZONES - 1);
    ck_assert(kcompactd_thread_exists());
    struct t_child c;
    t_run_child(fork_child, NULL, &c);
    char buf[64];
    ck_assert_msg(t_exited_ok(&c), "child: %s", t_describe_status(&c, buf, sizeof(buf)));
    free(c.err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Blocks of any order: a store of order-0 and order-2 blocks          */
/* ------------------------------------------------------------------ */

/* An owner of blocks of mixed orders, compound or not, each registered
 * movable; migrate copies the whole block and repoints the entry. */
struct mentry {
    struct pa_page *page;   /* NULL: freed */
    unsigned int order;
    uint64_t id;
    bool compound;          /* allocated with PA_GFP_COMP */
    bool isolated;
};

static struct mstore {
    pthread_mutex_t lock;
    struct mentry *e;
    size_t n;
    unsigned long migrated[NR_PAGE_ORDERS];   /* blocks moved, by order */
    unsigned long violations;                 /* dst not of src's order, or not set up as src */
} mstore = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void mstore_fill_block(const struct mentry *m)
{
    uint64_t *w = pa_page_address(m->page);
    for (size_t i = 0; i < (T_PAGE << m->order) / 8; i++)
        w[i] = pattern_word(m->id, m->order, i);
}

static bool mstore_block_intact(const struct mentry *m)
{
    const uint64_t *w = pa_page_address(m->page);
    for (size_t i = 0; i < (T_PAGE << m->order) / 8; i++)
        if (w[i] != pattern_word(m->id, m->order, i))
            return false;
    return true;
}

static bool mstore_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&mstore.lock);
    struct mentry *m = pa_page_movable_owner(page);
    bool ok = m && m->page == page && !m->isolated;
    if (ok)
        m->isolated = true;
    pthread_mutex_unlock(&mstore.lock);
    return ok;
}

static int mstore_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&mstore.lock);
    struct mentry *m = pa_page_movable_owner(src);
    if (!m || m->page != src || !m->isolated || pa_page_movable_owner(dst) != m ||
        pa_compound_order(dst) != pa_compound_order(src) || (pa_page_to_pfn(dst) & ((1UL << m->order) - 1)))
        mstore.violations++;
    /* a compound block arrives compound: its tails lead to dst */
    if (m && m->compound && pa_compound_head(pa_pfn_to_page(pa_page_to_pfn(dst) + (1UL << m->order) - 1)) != dst)
        mstore.violations++;
    memcpy(pa_page_address(dst), pa_page_address(src), T_PAGE << (m ? m->order : 0));
    if (m) {
        m->page = dst;
        m->isolated = false;
        mstore.migrated[m->order]++;
    }
    pthread_mutex_unlock(&mstore.lock);
    return 0;
}

static void mstore_putback(struct pa_page *page)
{
    pthread_mutex_lock(&mstore.lock);
    struct mentry *m = pa_page_movable_owner(page);
    if (m)
        m->isolated = false;
    pthread_mutex_unlock(&mstore.lock);
}

static const struct pa_movable_ops mstore_ops = {
    .isolate_page = mstore_isolate,
    .migrate_page = mstore_migrate,
    .putback_page = mstore_putback,
};

/* Free pages of the node, and the pageblocks they could make at most
 * (per zone: blocks never span zones), and the free pageblocks there are. */
static void node_pageblocks(unsigned long *possible, unsigned long *have)
{
    *possible = *have = 0;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &NODE_DATA(0)->node_zones[zid];
        if (!populated_zone(z))
            continue;
        *possible += zone_page_state(z, NR_FREE_PAGES) >> pageblock_order;
        *have += free_pageblocks(z);
    }
}

/*
 * The experiment of a new user: a 256 MiB node filled with movable blocks
 * of order 0 and 2 (half of the order-2 ones compound), each registered,
 * a random half freed, then pa_compact_memory() with the rest held: at
 * least 90% of the pageblocks the free memory could make are free blocks
 * afterwards, every block kept its contents, and the invariants hold.
 * Order-2 blocks in every pageblock made this 1 of 62 when only order-0
 * pages were migrated.
 */
START_TEST(test_compact_mixed_orders)
{
    t_env_reset();
    t_setenv("PAGEALLOC_COMPACTION_PROACTIVENESS", "0");
    t_setenv("PAGEALLOC_NODE_SIZE", "256M");
    ck_assert_int_eq(pa_init(NULL), 0);

    const pa_gfp_t gfp = (PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN) & ~PA_GFP_RECLAIM;
    size_t cap = (256UL << 20) / T_PAGE;
    uint64_t seed = 0x5eed13;
    mstore.e = calloc(cap, sizeof(*mstore.e));
    ck_assert_ptr_nonnull(mstore.e);
    mstore.n = 0;
    unsigned long blocks_of[3] = {0};
    for (;;) {
        uint64_t r = t_rand(&seed);
        unsigned int order = r & 1 ? 2 : 0;
        pa_gfp_t g = order && (r & 2) ? gfp | PA_GFP_COMP : gfp;
        struct pa_page *p = pa_alloc_pages(g, order);
        if (!p && order)
            p = pa_alloc_pages(gfp, order = 0);
        if (!p || mstore.n == cap)
            break;
        struct mentry *m = &mstore.e[mstore.n];
        m->page = p;
        m->order = order;
        m->compound = order && (g & PA_GFP_COMP);
        m->id = ++mstore.n;
        blocks_of[order]++;
        mstore_fill_block(m);
        pa_page_set_movable(p, &mstore_ops, m);
    }
    ck_assert_uint_gt(blocks_of[2], 1000);
    ck_assert_uint_gt(blocks_of[0], 1000);

    /* free a random half */
    for (size_t i = 0; i < mstore.n; i++) {
        size_t j = i + t_rand(&seed) % (mstore.n - i);
        struct mentry tmp = mstore.e[i];
        mstore.e[i] = mstore.e[j];
        mstore.e[j] = tmp;
        if (mstore.e[i].page)
            pa_page_set_movable(mstore.e[i].page, &mstore_ops, &mstore.e[i]);
        if (mstore.e[j].page)
            pa_page_set_movable(mstore.e[j].page, &mstore_ops, &mstore.e[j]);
    }
    for (size_t i = 0; i < mstore.n / 2; i++) {
        pa_free_pages(mstore.e[i].page, mstore.e[i].order);
        mstore.e[i].page = NULL;
    }
    t_drain();

    unsigned long possible, before, after;
    node_pageblocks(&possible, &before);
    ck_assert_uint_ge(possible, 50);
    ck_assert_uint_lt(before * 10, possible);   /* fragmented: few free pageblocks */
    ck_assert_int_eq(pa_compact_memory(), 0);
    node_pageblocks(&possible, &after);
    fprintf(stderr, "mixed orders: %lu/%lu free pageblocks before, %lu/%lu after; migrated %lu order-0, %lu order-2\n",
            before, possible, after, possible, mstore.migrated[0], mstore.migrated[2]);
    ck_assert_msg(after * 10 >= possible * 9, "only %lu of %lu possible pageblocks free after compaction", after,
                  possible);
    ck_assert_uint_gt(mstore.migrated[2], 0);
    ck_assert_uint_eq(mstore.violations, 0);
    for (size_t i = mstore.n / 2; i < mstore.n; i++) {
        struct mentry *m = &mstore.e[i];
        ck_assert(!m->isolated);
        ck_assert_ptr_eq(pa_page_movable_owner(m->page), m);
        ck_assert_uint_eq(pa_compound_order(m->page), m->compound ? m->order : 0);
        if (m->compound)
            ck_assert_ptr_eq(pa_compound_head(pa_pfn_to_page(pa_page_to_pfn(m->page) + 3)), m->page);
        ck_assert_msg(mstore_block_intact(m), "block %zu (order %u, pfn %lu): contents corrupted", i, m->order,
                      pa_page_to_pfn(m->page));
    }
    ck_assert_int_eq(pa_check_invariants(), 0);
    for (size_t i = mstore.n / 2; i < mstore.n; i++)
        pa_free_pages(mstore.e[i].page, mstore.e[i].order);
    free(mstore.e);
    t_drain();
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static Suite *compaction_suite(void)
{
    Suite *s = suite_create("compaction");
    TCase *tc = t_tcase(s, "protocol", 60);
    tcase_add_test(tc, test_set_movable_api);
    tcase_add_test(tc, test_compact_node_makes_pageblocks);
    tcase_add_test(tc, test_compact_node_bad_nid);
    tcase_add_test(tc, test_isolate_refused_skips);
    tcase_add_test(tc, test_migrate_error_puts_back);
    tcase_add_test(tc, test_concurrent_user);
    tcase_add_test(tc, test_direct_compaction_captures);
    tcase_add_test(tc, test_direct_compaction_modes);
    tcase_add_test(tc, test_skip_hints_survive_until_kswapd_sleeps);
    tc = t_tcase(s, "orders", 180);
    tcase_add_test(tc, test_compact_mixed_orders);
    tc = t_tcase(s, "policy", 60);
    tcase_add_test(tc, test_deferral_arithmetic);
    tcase_add_test(tc, test_fragmentation_index_formula);
    tcase_add_test(tc, test_suitable_refuses_when_short);
    tcase_add_test(tc, test_score_wmarks);
    tc = t_tcase(s, "kcompactd", 60);
    tcase_add_test(tc, test_kcompactd_recorded_order);
    tcase_add_test(tc, test_proactive_compaction);
    tcase_add_test(tc, test_proactive_off);
    tcase_add_test(tc, test_kcompactd_fork);
    return s;
}

int main(void)
{
    return t_run_suite(compaction_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * Compaction: move movable pages out of the way so that free pages merge
 * into high-order blocks (mm/compaction.c and the movable-page half of
 * mm/migrate.c, written anew from the algorithm).
 *
 * A migrate scanner walks a zone upwards from its start, a free scanner
 * downwards from its online end, one pageblock at a time.  The migrate
 * scanner isolates movable blocks of any order, whole, up to
 * COMPACT_CLUSTER_MAX pages, through their owners' isolate_page callbacks;
 * the free scanner takes whole free blocks off the buddy lists onto
 * per-order target lists; each isolated block is then moved into a target
 * of its own order (split from a larger one where needed) by its owner's
 * migrate_page callback, and the source block goes back to the buddy,
 * where it merges.  This repeats until the scanners meet or a block of the
 * wanted order is free.
 *
 * Owner callbacks always run without any library lock held: an owner may
 * take its own locks in them, and its other threads may hold those locks
 * while they call into the library.  The zone lock is taken only around
 * free-list operations.  Docs: docs/compaction.md.
 */
#include "internal.h"
#include "trace.h"

#include <signal.h>
#include <time.h>

/* Pages isolated for migration in one batch (COMPACT_CLUSTER_MAX). */
#define COMPACT_CLUSTER_MAX 32
/* Do not skip compaction more than 1 << 6 = 64 times. */
#define COMPACT_MAX_DEFER_SHIFT 6
/* How often kcompactd checks the fragmentation score (proactive mode). */
#define HPAGE_FRAG_CHECK_INTERVAL_MSEC 500
/* The order the fragmentation score is computed for. */
#define COMPACTION_HPAGE_ORDER pageblock_order

/*
 * Per zone (zone->compact): deferral after failures and where the scanners
 * stopped.  Read and written without a lock, as the kernel's fields: they
 * are hints, accessed with relaxed atomics.
 */
struct zone_compact {
    unsigned int compact_considered;    /* attempts skipped since the last deferral */
    unsigned int compact_defer_shift;   /* skip up to 1 << shift attempts */
    int compact_order_failed;           /* deferral applies from this order up */
    bool compact_blockskip_flush;       /* the scanners met: clear the skip hints */
    unsigned long compact_cached_free_pfn;
    unsigned long compact_cached_migrate_pfn[2];   /* [0] async, [1] sync */
    unsigned long compact_cached_online_end;       /* online end the positions were set for */
};

/* Per node (pgdat->compact): kcompactd. */
struct pgdat_compact {
    pg_data_t *pgdat;
    struct mutex lock;
    pthread_cond_t wait;
    bool started;                /* the thread exists (lazily, on the first wakeup) */
    bool sleeping;               /* waiting for work: a wakeup must signal */
    int kcompactd_max_order;     /* the highest order asked for since the last run */
    int kcompactd_highest_zoneidx;
};

/* One compaction run over one zone (struct compact_control). */
struct compact_control {
    struct list_head freepages[NR_PAGE_ORDERS];   /* target blocks by order, refcount 0, off every list */
    struct list_head migratepages;   /* isolated movable blocks (PG_isolated on the first page) */
    unsigned long nr_freepages;      /* pages, as the two below */
    unsigned long nr_migratepages;
    unsigned int search_order;       /* the free scanner looks for a target block this large */
    unsigned long total_migrate_scanned;
    unsigned long total_free_scanned;
    unsigned long free_pfn;          /* the free scanner's pageblock */
    unsigned long migrate_pfn;       /* the next pfn the migrate scanner looks at */
    unsigned long zone_end;          /* online end of the zone when the run started */
    struct zone *zone;
    int order;                       /* -1: full compaction (pa_compact_node) */
    pa_gfp_t gfp_mask;
    int migratetype;                 /* of the request the run is for */
    unsigned int alloc_flags;
    int highest_zoneidx;
    enum pa_migrate_mode mode;
    bool ignore_skip_hint;           /* scan blocks marked PB_MIGRATE_SKIP too */
    bool ignore_block_suitable;      /* take targets from any ordinary pageblock */
    bool whole_zone;                 /* the migrate scanner started at the zone start */
    bool direct_compaction;          /* an allocating thread, not a daemon */
    bool proactive_compaction;       /* kcompactd's proactive mode */
    bool contended;                  /* async: a lock was contended, give up */
    struct capture_control *capc;
};

enum isolate_migrate_t { ISOLATE_ABORT, ISOLATE_NONE, ISOLATE_SUCCESS };

static struct zone_compact *zone_compacts;       /* [nid * MAX_NR_ZONES + zid] */
static struct pgdat_compact *pgdat_compacts;     /* [nid] */
static int compaction_init_result = -1;
static pthread_once_t compaction_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void reset_cached_positions(struct zone *z);

static void compaction_init_once(void)
{
    size_t nz = (size_t)pa_mm.nr_nodes * MAX_NR_ZONES;
    zone_compacts = pa_os_alloc(nz * sizeof(*zone_compacts));
    pgdat_compacts = pa_os_alloc((size_t)pa_mm.nr_nodes * sizeof(*pgdat_compacts));
    if (!zone_compacts || !pgdat_compacts) {
        fprintf(stderr, "pagealloc: out of memory for compaction state; compaction is off\n");
        return;
    }
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = NODE_DATA(nid);
        struct pgdat_compact *pc = &pgdat_compacts[nid];
        pthread_condattr_t ca;
        pc->pgdat = pgdat;
        mutex_init(&pc->lock, LOCK_KCOMPACTD, 0);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pc->wait, &ca);
        pthread_condattr_destroy(&ca);
        pc->kcompactd_highest_zoneidx = MAX_NR_ZONES - 1;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &pgdat->node_zones[zid];
            struct zone_compact *zc = &zone_compacts[(size_t)nid * MAX_NR_ZONES + zid];
            __atomic_store_n(&z->compact, zc, __ATOMIC_RELEASE);
            reset_cached_positions(z);
        }
        __atomic_store_n(&pgdat->compact, pc, __ATOMIC_RELEASE);
    }
    compaction_init_result = 0;
}

/* Per-zone and per-node state; kcompactd starts on the first wakeup.
 * Idempotent: every entry point also calls it, so compaction works even
 * before the core wires it into pa_init. */
int pa_compaction_init(void)
{
    if (pa_mm.nr_nodes <= 0 || !NODE_DATA(0))
        return -1;   /* before the nodes exist */
    pthread_once(&compaction_once, compaction_init_once);
    return compaction_init_result;
}

static inline struct zone_compact *zc_of(struct zone *z)
{
    struct zone_compact *zc = __atomic_load_n(&z->compact, __ATOMIC_ACQUIRE);
    if (likely(zc))
        return zc;
    pa_compaction_init();
    return __atomic_load_n(&z->compact, __ATOMIC_ACQUIRE);
}

/* Relaxed accessors for the hint fields. */
#define ZC_LOAD(zc, field) __atomic_load_n(&(zc)->field, __ATOMIC_RELAXED)
#define ZC_STORE(zc, field, v) __atomic_store_n(&(zc)->field, (v), __ATOMIC_RELAXED)

static inline unsigned long zone_online_end(const struct zone *z)
{
    return __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE);
}

static inline unsigned long pageblock_start_pfn(unsigned long pfn)
{
    return ALIGN_DOWN(pfn, pageblock_nr_pages);
}

/* The end of the pageblock pfn is in (the kernel's pageblock_end_pfn). */
static inline unsigned long pageblock_end_pfn(unsigned long pfn)
{
    return ALIGN_UP(pfn + 1, pageblock_nr_pages);
}

/* ------------------------------------------------------------------ */
/* Movable pages: the registration                                     */
/* ------------------------------------------------------------------ */

/* A descriptor pointer of our array, for an online page. */
static bool page_desc_valid(const struct pa_page *page)
{
    if (!pa_initialized())
        return false;
    uintptr_t off = (uintptr_t)page - (uintptr_t)pa_mm.pages;
    if (off >= pa_mm.max_pfn * sizeof(struct pa_page) || off % sizeof(struct pa_page))
        return false;
    return pfn_valid(off / sizeof(struct pa_page));
}

/*
 * Register (ops non-NULL) or clear (ops NULL) an allocated page as movable
 * (__SetPageMovable / __ClearPageMovable).  The ops and owner must stay
 * valid while any page is registered with them.  Bad input is reported
 * (bad_page) and refused with errno EINVAL; nothing changes then.
 */
PA_API void pa_page_set_movable(struct pa_page *page, const struct pa_movable_ops *ops, void *owner)
{
    if (unlikely(!page_desc_valid(page))) {
        bad_pointer(__func__, page, "not a page descriptor of the arenas");
        errno = EINVAL;
        return;
    }
    if (unlikely(PageTail(page))) {
        bad_page(page, 0, "pa_page_set_movable on a tail page of a compound page");
        errno = EINVAL;
        return;
    }
    if (unlikely(page_ref_count(page) <= 0 || PageBuddy(page))) {
        bad_page(page, 0, "pa_page_set_movable on a free page");
        errno = EINVAL;
        return;
    }
    if (unlikely(ops && PageIsolated(page))) {
        /* compaction holds it: the owner promised not to touch it (clearing
         * is harmless: compaction keeps the ops it isolated the page with) */
        bad_page(page, page->order, "pa_page_set_movable on a page isolated for migration");
        errno = EINVAL;
        return;
    }
    if (unlikely(ops && (!ops->isolate_page || !ops->migrate_page || !ops->putback_page))) {
        errno = EINVAL;
        return;
    }
    if (ops) {
        __atomic_store_n(&page->owner, owner, __ATOMIC_RELAXED);
        __atomic_store_n(&page->mapping, (const void *)ops, __ATOMIC_RELAXED);
        /* release: a scanner that sees PG_movable sees ops and owner */
        __atomic_fetch_or(&page->flags, 1UL << PG_movable, __ATOMIC_RELEASE);
    } else {
        ClearPageMovable(page);
        __atomic_store_n(&page->mapping, NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&page->owner, NULL, __ATOMIC_RELAXED);
    }
}

/* The owner given to pa_page_set_movable, or NULL when not registered
 * (errno EINVAL for a bad pointer). */
PA_API void *pa_page_movable_owner(const struct pa_page *page)
{
    if (unlikely(!page_desc_valid(page))) {
        errno = EINVAL;
        return NULL;
    }
    if (!(__atomic_load_n(&page->flags, __ATOMIC_ACQUIRE) & (1UL << PG_movable)))
        return NULL;
    return __atomic_load_n(&page->owner, __ATOMIC_RELAXED);
}

static inline const struct pa_movable_ops *page_movable_ops(const struct pa_page *page)
{
    return (const struct pa_movable_ops *)__atomic_load_n(&page->mapping, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Deferral (defer_compaction, compaction_deferred, ...)               */
/* ------------------------------------------------------------------ */

/* Compaction for this order failed: skip the next 1 << shift attempts,
 * the shift growing with each failure up to COMPACT_MAX_DEFER_SHIFT. */
void defer_compaction(struct zone *z, unsigned int order)
{
    struct zone_compact *zc = zc_of(z);
    if (!zc)
        return;
    ZC_STORE(zc, compact_considered, 0);
    unsigned int shift = ZC_LOAD(zc, compact_defer_shift) + 1;
    ZC_STORE(zc, compact_defer_shift, PA_MIN(shift, (unsigned int)COMPACT_MAX_DEFER_SHIFT));
    if ((int)order < ZC_LOAD(zc, compact_order_failed))
        ZC_STORE(zc, compact_order_failed, (int)order);
}

/* Whether to skip compaction for this order this time (counts the attempt). */
bool compaction_deferred(struct zone *z, unsigned int order)
{
    struct zone_compact *zc = zc_of(z);
    if (!zc)
        return false;
    unsigned long limit = 1UL << ZC_LOAD(zc, compact_defer_shift);
    if ((int)order < ZC_LOAD(zc, compact_order_failed))
        return false;
    unsigned long considered = ZC_LOAD(zc, compact_considered) + 1UL;
    if (considered >= limit) {
        ZC_STORE(zc, compact_considered, (unsigned int)limit);
        return false;
    }
    ZC_STORE(zc, compact_considered, (unsigned int)considered);
    return true;
}

/* Compaction for this order worked (alloc_success: the allocation too). */
void compaction_defer_reset(struct zone *z, unsigned int order, bool alloc_success)
{
    struct zone_compact *zc = zc_of(z);
    if (!zc)
        return;
    if (alloc_success) {
        ZC_STORE(zc, compact_considered, 0);
        ZC_STORE(zc, compact_defer_shift, 0);
    }
    if ((int)order >= ZC_LOAD(zc, compact_order_failed))
        ZC_STORE(zc, compact_order_failed, (int)order + 1);
}

/* Many failures in a row and the deferral ran out: start afresh. */
static bool compaction_restarting(struct zone *z, int order)
{
    struct zone_compact *zc = zc_of(z);
    if (order < ZC_LOAD(zc, compact_order_failed))
        return false;
    return ZC_LOAD(zc, compact_defer_shift) == COMPACT_MAX_DEFER_SHIFT &&
           ZC_LOAD(zc, compact_considered) >= 1U << COMPACT_MAX_DEFER_SHIFT;
}

/* ------------------------------------------------------------------ */
/* Skip hints and cached scanner positions                             */
/* ------------------------------------------------------------------ */

static inline bool get_pageblock_skip(unsigned long pfn)
{
    return __atomic_load_n(&pa_mm.pageblock_flags[pfn >> pageblock_order], __ATOMIC_RELAXED) &
           PB_MIGRATE_SKIP;
}

/* Atomic on the byte, so a concurrent set_pageblock_migratetype (a plain
 * read-modify-write under the zone lock) can lose only the hint. */
static inline void set_pageblock_skip(unsigned long pfn)
{
    __atomic_fetch_or(&pa_mm.pageblock_flags[pfn >> pageblock_order], (uint8_t)PB_MIGRATE_SKIP,
                      __ATOMIC_RELAXED);
}

static inline void clear_pageblock_skip(unsigned long pfn)
{
    __atomic_fetch_and(&pa_mm.pageblock_flags[pfn >> pageblock_order], (uint8_t)~PB_MIGRATE_SKIP,
                       __ATOMIC_RELAXED);
}

static inline bool isolation_suitable(const struct compact_control *cc, unsigned long pfn)
{
    return cc->ignore_skip_hint || !get_pageblock_skip(pfn);
}

static void reset_cached_positions(struct zone *z)
{
    struct zone_compact *zc = z->compact;
    unsigned long end = zone_online_end(z);
    ZC_STORE(zc, compact_cached_migrate_pfn[0], z->zone_start_pfn);
    ZC_STORE(zc, compact_cached_migrate_pfn[1], z->zone_start_pfn);
    ZC_STORE(zc, compact_cached_free_pfn, end > z->zone_start_pfn ? pageblock_start_pfn(end - 1)
                                                                  : z->zone_start_pfn);
    ZC_STORE(zc, compact_cached_online_end, end);
}

/*
 * Forget every skip hint of the zone and start the scanners afresh
 * (__reset_isolation_suitable; the kernel samples each block for a page
 * worth scanning first, we simply clear them all).
 */
static void __reset_isolation_suitable(struct zone *z)
{
    struct zone_compact *zc = z->compact;
    unsigned long end = zone_online_end(z);
    ZC_STORE(zc, compact_blockskip_flush, false);
    for (unsigned long pfn = z->zone_start_pfn; pfn < end; pfn += pageblock_nr_pages)
        clear_pageblock_skip(pfn);
    reset_cached_positions(z);
}

/* Clear the hints of zones where a direct compaction's scanners met since
 * the last flush (reset_isolation_suitable).  Only kswapd going to sleep
 * calls it, as the kernel's: the hints survive failing direct compactions
 * until reclaim has run and compaction may succeed. */
void reset_isolation_suitable(pg_data_t *pgdat)
{
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        struct zone_compact *zc = zc_of(z);
        if (populated_zone(z) && zc && ZC_LOAD(zc, compact_blockskip_flush))
            __reset_isolation_suitable(z);
    }
}

/* A block gave the migrate scanner nothing: later runs may start past it. */
static void update_cached_migrate(struct compact_control *cc, unsigned long pfn)
{
    struct zone_compact *zc = cc->zone->compact;
    pfn = pageblock_end_pfn(pfn);
    if (pfn > ZC_LOAD(zc, compact_cached_migrate_pfn[0]))
        ZC_STORE(zc, compact_cached_migrate_pfn[0], pfn);
    if (cc->mode != PA_MIGRATE_ASYNC && pfn > ZC_LOAD(zc, compact_cached_migrate_pfn[1]))
        ZC_STORE(zc, compact_cached_migrate_pfn[1], pfn);
}

/* A block gave the free scanner nothing: mark it, and start below it. */
static void update_pageblock_skip(struct compact_control *cc, unsigned long pfn)
{
    struct zone_compact *zc = cc->zone->compact;
    set_pageblock_skip(pfn);
    if (pfn < ZC_LOAD(zc, compact_cached_free_pfn))
        ZC_STORE(zc, compact_cached_free_pfn, pfn);
}

/* ------------------------------------------------------------------ */
/* Fragmentation index and score (mm/vmstat.c)                         */
/* ------------------------------------------------------------------ */

struct contig_page_info {
    unsigned long free_pages;
    unsigned long free_blocks_total;
    unsigned long free_blocks_suitable;
};

/* Free memory of the zone by block size, as seen by an order-suitable_order
 * request (fill_contig_page_info).  Racy reads of nr_free: a snapshot. */
static void fill_contig_page_info(const struct zone *z, unsigned int suitable_order,
                                  struct contig_page_info *info)
{
    info->free_pages = info->free_blocks_total = info->free_blocks_suitable = 0;
    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
        unsigned long blocks = __atomic_load_n(&z->free_area[o].nr_free, __ATOMIC_RELAXED);
        info->free_blocks_total += blocks;
        info->free_pages += blocks << o;
        if (o >= suitable_order)
            info->free_blocks_suitable += blocks << (o - suitable_order);
    }
}

/*
 * The kernel's __fragmentation_index: for a request of 1 << order pages
 * that failed, towards 0 the failure is for lack of memory, towards 1000
 * for fragmentation; -1000 when a suitable block exists after all; 0 with
 * nothing free.  index = 1000 - (1000 + free_pages * 1000 / requested)
 * / free_blocks_total.
 */
int __fragmentation_index(unsigned int order, unsigned long free_pages, unsigned long free_blocks_total,
                          unsigned long free_blocks_suitable)
{
    unsigned long requested = 1UL << order;
    if (order > MAX_ORDER || !free_blocks_total)
        return 0;
    if (free_blocks_suitable)
        return -1000;
    return (int)(1000L - (long)((1000UL + free_pages * 1000UL / requested) / free_blocks_total));
}

int fragmentation_index(struct zone *z, unsigned int order)
{
    struct contig_page_info info;
    fill_contig_page_info(z, order, &info);
    return __fragmentation_index(order, info.free_pages, info.free_blocks_total, info.free_blocks_suitable);
}

/* Percentage of free memory unusable for an order-order request. */
unsigned int extfrag_for_order(struct zone *z, unsigned int order)
{
    struct contig_page_info info;
    fill_contig_page_info(z, order, &info);
    if (!info.free_pages)
        return 0;
    return (unsigned int)((info.free_pages - (info.free_blocks_suitable << order)) * 100 / info.free_pages);
}

/* A zone's fragmentation score: extfrag for the pageblock (huge) order. */
static unsigned int fragmentation_score_zone(struct zone *z)
{
    return extfrag_for_order(z, COMPACTION_HPAGE_ORDER);
}

/* Weighted by the zone's share of the node, so small zones barely count. */
static unsigned int fragmentation_score_zone_weighted(struct zone *z)
{
    unsigned long score = z->present_pages * fragmentation_score_zone(z);
    return (unsigned int)(score / (z->zone_pgdat->node_present_pages + 1));
}

/* The node's score, 0..100 (fragmentation_score_node). */
unsigned int fragmentation_score_node(pg_data_t *pgdat)
{
    unsigned int score = 0;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (populated_zone(z))
            score += fragmentation_score_zone_weighted(z);
    }
    return score;
}

/* Proactive compaction starts above the high mark and stops at the low
 * one: low = 100 - proactiveness (at least 5), high = low + 10 (at most
 * 100) (fragmentation_score_wmark). */
unsigned int fragmentation_score_wmark(bool low)
{
    unsigned int proactiveness = __atomic_load_n(&pa_opt.compaction_proactiveness, __ATOMIC_RELAXED);
    unsigned int wmark_low = PA_MAX(100U - PA_MIN(proactiveness, 100U), 5U);
    return low ? wmark_low : PA_MIN(wmark_low + 10, 100U);
}

static bool should_proactive_compact_node(pg_data_t *pgdat)
{
    if (!__atomic_load_n(&pa_opt.compaction_proactiveness, __ATOMIC_RELAXED))
        return false;
    return fragmentation_score_node(pgdat) > fragmentation_score_wmark(false);
}

/* ------------------------------------------------------------------ */
/* compaction_suitable                                                 */
/* ------------------------------------------------------------------ */

/* Room for the targets: order-0 pages above MIN (LOW for costly orders)
 * plus compact_gap(order) = twice the request (__compaction_suitable). */
static bool __compaction_suitable(struct zone *z, int order, int highest_zoneidx, unsigned long free)
{
    unsigned long watermark = order > PAGE_ALLOC_COSTLY_ORDER ? low_wmark_pages(z) : min_wmark_pages(z);
    watermark += 2UL << order;
    return __zone_watermark_ok(z, 0, watermark, highest_zoneidx, ALLOC_CMA, (long)free);
}

/*
 * Whether compacting z for an order-order request can work now:
 * COMPACT_SKIPPED when too little memory is free to hold the targets,
 * COMPACT_NOT_SUITABLE_ZONE when (costly orders only) the fragmentation
 * index says the failure is for lack of memory (0 <= index <=
 * extfrag_threshold: reclaim instead), else COMPACT_CONTINUE.
 */
enum compact_result compaction_suitable(struct zone *z, int order, int highest_zoneidx)
{
    if (!__compaction_suitable(z, order, highest_zoneidx, zone_page_state(z, NR_FREE_PAGES)))
        return COMPACT_SKIPPED;
    if (order > PAGE_ALLOC_COSTLY_ORDER) {
        int fragindex = fragmentation_index(z, (unsigned int)order);
        if (fragindex >= 0 && fragindex <= (int)__atomic_load_n(&pa_opt.extfrag_threshold, __ATOMIC_RELAXED))
            return COMPACT_NOT_SUITABLE_ZONE;
    }
    return COMPACT_CONTINUE;
}

/*
 * Whether some zone of the request would pass __compaction_suitable if
 * reclaim went on, so that retrying reclaim and compaction could make
 * progress (compaction_zonelist_suitable, for should_compact_retry after a
 * COMPACT_SKIPPED).  As the kernel, only reclaimable pages / order count on
 * top of the free ones: not worth thrashing everything for one high-order
 * request that may not form anyway.
 */
bool compaction_zonelist_suitable(const struct alloc_context *ac, int order, unsigned int alloc_flags)
{
    (void)alloc_flags;
    for (const struct zoneref *zr = ac->zonelist->_zonerefs; zr->zone; zr++) {
        if (zr->zone_idx > ac->highest_zoneidx || (ac->nodemask && !node_isset(zr->zone->node, ac->nodemask)))
            continue;
        unsigned long available = zone_reclaimable_pages(zr->zone) / (unsigned long)PA_MAX(order, 1);
        available += zone_page_state(zr->zone, NR_FREE_PAGES);
        if (__compaction_suitable(zr->zone, order, ac->highest_zoneidx, available))
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* The free scanner: migration targets                                 */
/* ------------------------------------------------------------------ */

static inline bool compact_scanners_met(const struct compact_control *cc)
{
    return (cc->free_pfn >> pageblock_order) <= (cc->migrate_pfn >> pageblock_order);
}

/* Take the zone lock; an async run only tries, and gives up when contended. */
static bool compact_lock(struct compact_control *cc)
{
    if (cc->mode == PA_MIGRATE_ASYNC) {
        if (spin_trylock(&cc->zone->lock))
            return true;
        cc->contended = true;
        return false;
    }
    spin_lock(&cc->zone->lock);
    return true;
}

/* Movable and CMA pageblocks hold movable pages (is_migrate_movable). */
static inline bool is_migrate_movable(int mt)
{
    return mt == MIGRATE_MOVABLE || is_migrate_cma(mt);
}

/* Whether a pageblock may give targets (suitable_migration_target): not a
 * free block of the wanted order already (pageblock order for a full
 * compaction), movable or CMA unless any ordinary block will do.  Isolated
 * and highatomic blocks never give targets: the kernel leaves that to
 * __isolate_free_page and the block-type checks of its callers. */
static bool suitable_migration_target(const struct compact_control *cc, unsigned long pfn)
{
    int mt = get_pfnblock_migratetype(pfn);
    if (is_migrate_isolate(mt) || is_migrate_highatomic(mt))
        return false;
    const struct pa_page *page = pfn_to_page(pfn);
    if (PageBuddy(page)) {
        unsigned int big = cc->order > 0 ? (unsigned int)cc->order : pageblock_order;
        if ((unsigned int)__atomic_load_n(&page->private, __ATOMIC_RELAXED) >= big)
            return false;
    }
    if (cc->ignore_block_suitable)
        return true;
    return is_migrate_movable(mt);
}

/* Whether the run holds a target block of at least this order. */
static bool have_target_order(const struct compact_control *cc, unsigned int order)
{
    for (unsigned int o = order; o < NR_PAGE_ORDERS; o++)
        if (!list_empty(&cc->freepages[o]))
            return true;
    return false;
}

/* The free scanner has what the isolated batch needs: as many pages, and a
 * block large enough for the block compaction_alloc is looking for. */
static inline bool enough_targets(const struct compact_control *cc)
{
    return cc->nr_freepages >= cc->nr_migratepages && have_target_order(cc, cc->search_order);
}

/*
 * Take the free blocks of [start, end) off the buddy whole
 * (__isolate_free_page, under the zone lock) onto the run's per-order
 * target lists, until enough_targets().  Small blocks taken while looking
 * for a large one stay on the lists for later batches: the holes of the
 * target pageblocks fill up.  Returns the pages isolated; *stopped tells
 * whether it stopped before the end of the range (enough targets, lock
 * contention, or the zone at its watermark).
 */
static unsigned long isolate_freepages_block(struct compact_control *cc, unsigned long start, unsigned long end,
                                             bool *stopped)
{
    unsigned long isolated = 0;
    *stopped = false;
    for (unsigned long pfn = start; pfn < end; pfn++) {
        struct pa_page *page = pfn_to_page(pfn);
        cc->total_free_scanned++;
        if (!PageBuddy(page))
            continue;
        /* racy: confirmed under the lock */
        unsigned int order = (unsigned int)__atomic_load_n(&page->private, __ATOMIC_RELAXED);
        if (order > MAX_ORDER || !IS_ALIGNED(pfn, 1UL << order) || pfn + (1UL << order) > end)
            continue;
        if (!compact_lock(cc)) {
            *stopped = true;
            break;
        }
        if (!PageBuddy(page) || buddy_order(page) != order) {
            spin_unlock(&cc->zone->lock);
            continue;   /* it changed under us: look on */
        }
        unsigned long n = (unsigned long)__isolate_free_page(page, order);
        spin_unlock(&cc->zone->lock);
        if (!n) {
            *stopped = true;   /* below the watermark: no more targets now */
            break;
        }
        /* a target block: refcount 0, its order in page->order */
        WRITE_ONCE(page->order, (uint8_t)order);
        list_add_tail(&page->lru, &cc->freepages[order]);
        cc->nr_freepages += n;
        isolated += n;
        pfn += n - 1;
        if (enough_targets(cc)) {
            *stopped = pfn + 1 < end;
            break;
        }
    }
    if (isolated)
        count_vm_events(COMPACTISOLATED, isolated);
    return isolated;
}

/* The free scanner: from cc->free_pfn down, pageblock by pageblock, not
 * into the migrate scanner's block (isolate_freepages). */
static void isolate_freepages(struct compact_control *cc)
{
    const long zone_start = (long)cc->zone->zone_start_pfn;
    const long low = (long)pageblock_end_pfn(cc->migrate_pfn);
    long block = (long)cc->free_pfn;

    for (; block >= low && block >= zone_start; block -= (long)pageblock_nr_pages) {
        unsigned long start = (unsigned long)block;
        unsigned long end = PA_MIN(start + pageblock_nr_pages, cc->zone_end);
        bool stopped;

        if (!suitable_migration_target(cc, start) || !isolation_suitable(cc, start))
            continue;
        unsigned long isolated = isolate_freepages_block(cc, start, end, &stopped);
        if (!isolated && !stopped)
            update_pageblock_skip(cc, start);
        if (stopped || cc->contended) {
            cc->free_pfn = start;   /* resume in this block */
            return;
        }
        if (enough_targets(cc)) {
            block -= (long)pageblock_nr_pages;
            break;
        }
    }
    /* below the migrate scanner's block (or the zone) the scanners meet */
    cc->free_pfn = block < zone_start ? (unsigned long)zone_start : (unsigned long)block;
}

/* Put unused targets back into the buddy (release_freepages); returns the
 * highest pfn released, 0 if none. */
static unsigned long release_freepages(struct compact_control *cc)
{
    struct zone *z = cc->zone;
    unsigned long high_pfn = 0;
    if (!cc->nr_freepages)
        return 0;
    spin_lock(&z->lock);
    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
        while (!list_empty(&cc->freepages[o])) {
            struct pa_page *page = list_first_entry(&cc->freepages[o], struct pa_page, lru);
            unsigned long pfn = page_to_pfn(page);
            list_del(&page->lru);
            WRITE_ONCE(page->order, 0);
            __putback_isolated_page(page, o, get_pfnblock_migratetype(pfn));
            if (pfn > high_pfn)
                high_pfn = pfn;
        }
    }
    spin_unlock(&z->lock);
    cc->nr_freepages = 0;
    return high_pfn;
}

/* ------------------------------------------------------------------ */
/* The migrate scanner: isolating movable blocks                       */
/* ------------------------------------------------------------------ */

/*
 * Whether a block of this order is left where it is (skip_isolation_on_order):
 * for an order-order request, a block at least that large (moving it
 * cannot make a free block of the order, and a target that large is what
 * is missing); always, a block of a pageblock or more.
 */
static inline bool skip_isolation_on_order(unsigned int order, int target_order)
{
    if (target_order >= 0 && order >= (unsigned int)target_order)
        return true;
    return order >= pageblock_order;
}

/*
 * Isolate one movable block (a page of order 0, or the head of a block of
 * any order, compound or not) through its owner (isolate_movable_page).
 * Called without any lock.  The block was seen registered with this order;
 * its owner may have freed it since, in which case the owner's callback
 * says false.
 */
static bool isolate_movable_page(struct pa_page *page, unsigned int order, enum pa_migrate_mode mode)
{
    const struct pa_movable_ops *ops = page_movable_ops(page);
    if (!ops)
        return false;
    if (!ops->isolate_page(page, mode))
        return false;
    /* the owner holds the block still now; was it still registered, and
     * is it still the block we saw? */
    if (!PageMovable(page) || page_movable_ops(page) != ops || page_ref_count(page) <= 0 ||
        PageBuddy(page) || PageTail(page) || READ_ONCE(page->order) != order) {
        ops->putback_page(page);
        return false;
    }
    /* a second compactor got the same page from an owner that does not
     * track isolation: the first one keeps it */
    if (__atomic_fetch_or(&page->flags, 1UL << PG_isolated, __ATOMIC_ACQ_REL) & (1UL << PG_isolated))
        return false;
    /* keep the ops with the page (private is unused while it is allocated):
     * migrate and putback use them even if the owner clears the
     * registration meanwhile */
    WRITE_ONCE(page->private, (unsigned long)ops);
    return true;
}

/*
 * Scan [low_pfn, end_pfn) of one pageblock for movable blocks and isolate
 * them whole, up to COMPACT_CLUSTER_MAX pages (isolate_migratepages_block).
 * Free blocks, and allocated blocks that are not movable or are too large
 * to move (skip_isolation_on_order), are stepped over as a unit.  A block
 * scanned to its end without anything isolated is marked skip.
 */
static void isolate_migratepages_block(struct compact_control *cc, unsigned long low_pfn, unsigned long end_pfn)
{
    unsigned long nr_isolated = 0;
    unsigned long start_pfn = low_pfn;

    for (; low_pfn < end_pfn; low_pfn++) {
        struct pa_page *page = pfn_to_page(low_pfn);
        unsigned long flags = __atomic_load_n(&page->flags, __ATOMIC_ACQUIRE);

        cc->total_migrate_scanned++;
        if (flags & (1UL << PG_buddy)) {
            /* racy: only to step over */
            unsigned int order = (unsigned int)__atomic_load_n(&page->private, __ATOMIC_RELAXED);
            if (order > 0 && order <= MAX_ORDER)
                low_pfn += PA_MIN((1UL << order) - 1, end_pfn - low_pfn - 1);
            continue;
        }
        int ref = page_ref_count(page);
        if (ref <= 0 || (flags & (1UL << PG_tail)))
            continue;   /* free on a pcp list, a tail, or a page of a non-compound block */
        /* an allocated block: its order is kept on its first page (racy:
         * the isolation confirms it) */
        unsigned int order = __atomic_load_n(&page->order, __ATOMIC_RELAXED);
        if (order > MAX_ORDER)
            continue;
        unsigned long step = PA_MIN((1UL << order) - 1, end_pfn - low_pfn - 1);
        if (!(flags & (1UL << PG_movable)) ||
            (flags & ((1UL << PG_isolated) | (1UL << PG_lru) | (1UL << PG_dhugetlb))) ||
            skip_isolation_on_order(order, cc->order) || !isolate_movable_page(page, order, cc->mode)) {
            low_pfn += step;
            continue;
        }
        list_add_tail(&page->lru, &cc->migratepages);
        cc->nr_migratepages += 1UL << order;
        nr_isolated += 1UL << order;
        low_pfn += step;
        if (cc->nr_migratepages >= COMPACT_CLUSTER_MAX) {
            low_pfn++;
            break;
        }
    }
    if (low_pfn >= end_pfn && !nr_isolated) {
        if (start_pfn == pageblock_start_pfn(start_pfn))
            set_pageblock_skip(start_pfn);
        update_cached_migrate(cc, end_pfn - 1);
    }
    if (nr_isolated)
        count_vm_events(COMPACTISOLATED, nr_isolated);
    cc->migrate_pfn = PA_MIN(low_pfn, end_pfn);
}

/* Whether a pageblock may give pages to migrate (suitable_migration_source):
 * async direct compaction only moves pages within blocks of its own kind
 * (movable including CMA, for a movable request). */
static bool suitable_migration_source(const struct compact_control *cc, unsigned long pfn)
{
    int mt = get_pfnblock_migratetype(pfn);
    if (cc->mode != PA_MIGRATE_ASYNC || !cc->direct_compaction)
        return true;
    if (cc->migratetype == MIGRATE_MOVABLE)
        return is_migrate_movable(mt);
    return mt == cc->migratetype;
}

/* The migrate scanner: from cc->migrate_pfn up to the free scanner's block,
 * until a block gives something (isolate_migratepages). */
static enum isolate_migrate_t isolate_migratepages(struct compact_control *cc)
{
    unsigned long low_pfn = cc->migrate_pfn;
    unsigned long block_start = PA_MAX(pageblock_start_pfn(low_pfn), cc->zone->zone_start_pfn);
    unsigned long block_end = block_start + pageblock_nr_pages;

    for (; block_end <= cc->free_pfn;
         cc->migrate_pfn = low_pfn = block_end, block_start = block_end, block_end += pageblock_nr_pages) {
        unsigned long end = PA_MIN(block_end, cc->zone_end);
        if ((low_pfn == block_start || low_pfn == cc->zone->zone_start_pfn) &&
            !isolation_suitable(cc, block_start))
            continue;
        if (!suitable_migration_source(cc, block_start)) {
            update_cached_migrate(cc, block_start);
            continue;
        }
        isolate_migratepages_block(cc, low_pfn, end);
        if (cc->contended)
            return ISOLATE_ABORT;
        break;
    }
    return cc->nr_migratepages ? ISOLATE_SUCCESS : ISOLATE_NONE;
}

/* ------------------------------------------------------------------ */
/* Migration through the owner's callbacks (mm/migrate.c)              */
/* ------------------------------------------------------------------ */

/* Hand an isolated page back to its owner, unchanged (putback_movable_pages).
 * PG_isolated is cleared first: once the owner has it back it may free it. */
static void putback_movable_page(struct pa_page *page)
{
    const struct pa_movable_ops *ops = (const struct pa_movable_ops *)page->private;
    WRITE_ONCE(page->private, 0);
    ClearPageIsolated(page);
    ops->putback_page(page);
}

static void putback_movable_pages(struct compact_control *cc)
{
    while (!list_empty(&cc->migratepages)) {
        struct pa_page *page = list_first_entry(&cc->migratepages, struct pa_page, lru);
        list_del(&page->lru);
        putback_movable_page(page);
    }
    cc->nr_migratepages = 0;
}

/*
 * A target block of this order (compaction_alloc): the smallest block of
 * at least the order on the run's lists, split down with the halves going
 * back on the lists; the free scanner is asked for more once when none is
 * there.  NULL when the zone has none left.
 */
static struct pa_page *compaction_alloc(struct compact_control *cc, unsigned int order)
{
    unsigned int o = order;
    for (bool scanned = false;; scanned = true) {
        for (o = order; o < NR_PAGE_ORDERS && list_empty(&cc->freepages[o]); o++)
            ;
        if (o < NR_PAGE_ORDERS || scanned)
            break;
        cc->search_order = order;
        isolate_freepages(cc);
        cc->search_order = 0;
    }
    if (o >= NR_PAGE_ORDERS)
        return NULL;
    struct pa_page *dst = list_first_entry(&cc->freepages[o], struct pa_page, lru);
    list_del(&dst->lru);
    while (o > order) {
        o--;
        struct pa_page *half = dst + (1UL << o);
        WRITE_ONCE(half->order, (uint8_t)o);
        list_add(&half->lru, &cc->freepages[o]);
    }
    WRITE_ONCE(dst->order, (uint8_t)order);
    cc->nr_freepages -= 1UL << order;
    return dst;
}

/* An unused (or failed) target goes back on the run's lists (compaction_free). */
static void compaction_free(struct compact_control *cc, struct pa_page *dst, unsigned int order)
{
    list_add(&dst->lru, &cc->freepages[order]);
    cc->nr_freepages += 1UL << order;
}

/* dst, a block of refcount 0, becomes a compound block of the order as
 * src is (prep_compound_page), or has its tails cleared again. */
static void set_compound_tails(struct pa_page *dst, unsigned int order, bool compound)
{
    for (unsigned long i = 1; i < (1UL << order); i++) {
        struct pa_page *p = dst + i;
        WRITE_ONCE(p->private, compound ? (unsigned long)dst : 0UL);
        __atomic_store_n(&p->flags, compound ? 1UL << PG_tail : 0UL, __ATOMIC_RELAXED);
    }
}

/*
 * Move one isolated block into a target block of the same order through
 * its owner (move_to_new_folio).  dst is made an allocated block carrying
 * src's order, compound structure, registration and references *before*
 * the callback: the owner repoints its references inside it, and its other
 * threads may use (or free) dst as soon as it returns.  On success src is
 * cleared and freed straight to the buddy (so a merged block can be
 * captured); on failure dst is cleared again and goes back on the run's
 * target lists (cc NULL: left to the caller), and the owner gets src back.
 */
static int migrate_movable_page(struct compact_control *cc, struct pa_page *dst, struct pa_page *src,
                                enum pa_migrate_mode mode)
{
    const struct pa_movable_ops *ops = (const struct pa_movable_ops *)src->private;
    const unsigned int order = READ_ONCE(src->order);
    const bool compound = PageHead(src);
    int refs = page_ref_count(src);

    WRITE_ONCE(dst->private, 0);
    WRITE_ONCE(dst->order, (uint8_t)order);
    dst->memcg_data = src->memcg_data;
    __atomic_store_n(&dst->owner, __atomic_load_n(&src->owner, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&dst->mapping, (const void *)ops, __ATOMIC_RELAXED);
    if (compound)
        set_compound_tails(dst, order, true);
    __atomic_store_n(&dst->flags, (1UL << PG_movable) | (compound ? 1UL << PG_head : 0UL), __ATOMIC_RELAXED);
    atomic_store_explicit(&dst->_refcount, refs, memory_order_release);

    int rc = ops->migrate_page(dst, src, mode);
    if (rc == 0) {
        migrate_dirty_state(dst, src);
        /* the registration and the references now live on dst */
        __atomic_store_n(&src->mapping, NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&src->owner, NULL, __ATOMIC_RELAXED);
        src->memcg_data = 0;
        WRITE_ONCE(src->private, 0);
        /* PG_head stays: freeing clears the tails */
        __atomic_store_n(&src->flags, compound ? 1UL << PG_head : 0UL, __ATOMIC_RELAXED);
        set_page_count(src, 0);
        if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
            copy_page_owner(src, dst);
        free_pages_to_buddy(src, order);
        count_vm_events(PGMIGRATE_SUCCESS, 1UL << order);
        return 0;
    }
    set_page_count(dst, 0);
    if (compound)
        set_compound_tails(dst, order, false);
    __atomic_store_n(&dst->flags, 0UL, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->mapping, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->owner, NULL, __ATOMIC_RELAXED);
    dst->memcg_data = 0;
    if (unlikely(pa_opt.debug & PA_DEBUG_POISON))
        kernel_poison_pages(dst, order);   /* the owner may have written into it */
    if (cc)
        compaction_free(cc, dst, order);
    putback_movable_page(src);
    count_vm_events(PGMIGRATE_FAIL, 1UL << order);
    return rc ? rc : -1;
}

/*
 * One block, for alloc_contig_range (cma.c): isolate src (a page, or the
 * head of a block of any order) through its owner and move it into dst, a
 * non-compound block of the same order the caller allocated.  dst is
 * handed to the migration as a free target (refcount 0) and, on failure,
 * given its reference back.
 */
int migrate_movable_page_to(struct pa_page *src, struct pa_page *dst, enum pa_migrate_mode mode)
{
    unsigned int order = READ_ONCE(src->order);
    if (order != READ_ONCE(dst->order) || PageHead(dst) || !isolate_movable_page(src, order, mode))
        return -EAGAIN;
    set_page_count(dst, 0);
    if (migrate_movable_page(NULL, dst, src, mode) == 0)
        return 0;
    WRITE_ONCE(dst->order, (uint8_t)order);
    set_page_count(dst, 1);
    return -EBUSY;
}

/* Migrate every isolated block (migrate_pages).  Returns 0, or -ENOMEM when
 * targets ran out (the rest were put back). */
static int migrate_pages(struct compact_control *cc)
{
    int err = 0;
    while (!list_empty(&cc->migratepages)) {
        struct pa_page *src = list_first_entry(&cc->migratepages, struct pa_page, lru);
        unsigned int order = READ_ONCE(src->order);
        struct pa_page *dst = compaction_alloc(cc, order);
        if (!dst) {
            err = -ENOMEM;
            break;
        }
        list_del(&src->lru);
        cc->nr_migratepages -= 1UL << order;
        if (migrate_movable_page(cc, dst, src, cc->mode) != 0 && !err)
            err = -EAGAIN;
    }
    if (!list_empty(&cc->migratepages))
        putback_movable_pages(cc);
    cc->nr_migratepages = 0;
    return err;
}

/* Pages freed to this CPU's pcp list, or held in this thread's magazines,
 * cannot merge: give them to the buddy (lru_add_drain_cpu_zone). */
static void drain_local(struct zone *z)
{
    struct pa_thread *t = pa_thread();
    drain_local_pages(z);
    if (__atomic_load_n(&t->mags, __ATOMIC_ACQUIRE) && mag_enter(t)) {
        mag_flush_all(t);
        mag_exit(t);
    }
}

/* ------------------------------------------------------------------ */
/* compact_zone                                                        */
/* ------------------------------------------------------------------ */

/* Whether the free lists already hold a block the request can use
 * (the end of __compact_finished, with find_suitable_fallback's rule). */
static bool free_block_suitable(struct zone *z, unsigned int order, int mt)
{
    for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
        const struct free_area *area = &z->free_area[o];
        if (!__atomic_load_n(&area->nr_free, __ATOMIC_RELAXED))
            continue;
        for (int t = 0; t < MIGRATE_PCPTYPES; t++) {
            const struct list_head *l = &area->free_list[t];
            if (__atomic_load_n(&l->next, __ATOMIC_RELAXED) == l)
                continue;
            if (t == mt)
                return true;
            /* another type's block is fine if the fallback may claim it */
            if (o >= pageblock_order || o >= pageblock_order / 2 || mt == MIGRATE_UNMOVABLE ||
                mt == MIGRATE_RECLAIMABLE || page_group_by_mobility_disabled)
                return true;
        }
    }
    return false;
}

static enum compact_result __compact_finished(struct compact_control *cc)
{
    if (cc->contended)
        return COMPACT_CONTENDED;
    if (compact_scanners_met(cc)) {
        /* the next run starts anew; an allocating thread wants the skip
         * hints cleared too */
        reset_cached_positions(cc->zone);
        if (cc->direct_compaction)
            ZC_STORE(cc->zone->compact, compact_blockskip_flush, true);
        return cc->whole_zone ? COMPACT_COMPLETE : COMPACT_PARTIAL_SKIPPED;
    }
    if (cc->proactive_compaction)
        return fragmentation_score_zone(cc->zone) > fragmentation_score_wmark(true) ? COMPACT_CONTINUE
                                                                                    : COMPACT_SUCCESS;
    if (cc->order < 0)
        return COMPACT_CONTINUE;
    if (cc->capc && cc->capc->page)
        return COMPACT_SUCCESS;
    /* finish the pageblock: fewer fallbacks later */
    if (!IS_ALIGNED(cc->migrate_pfn, pageblock_nr_pages))
        return COMPACT_CONTINUE;
    if (free_block_suitable(cc->zone, (unsigned int)cc->order, cc->migratetype))
        return COMPACT_SUCCESS;
    return COMPACT_NO_SUITABLE_PAGE;
}

static enum compact_result compact_finished(struct compact_control *cc)
{
    enum compact_result ret = __compact_finished(cc);
    return ret == COMPACT_NO_SUITABLE_PAGE ? COMPACT_CONTINUE : ret;
}

/*
 * Compact one zone (compact_zone): isolate a batch of movable pages, find
 * as many targets, migrate, repeat until compact_finished says stop.
 */
static enum compact_result compact_zone(struct compact_control *cc)
{
    struct zone *z = cc->zone;
    struct zone_compact *zc = zc_of(z);
    const bool sync = cc->mode != PA_MIGRATE_ASYNC;
    unsigned long last_migrated_pfn = 0;
    enum compact_result ret;

    cc->total_migrate_scanned = cc->total_free_scanned = 0;
    cc->nr_migratepages = cc->nr_freepages = 0;
    cc->search_order = 0;
    cc->contended = false;
    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
        INIT_LIST_HEAD(&cc->freepages[o]);
    INIT_LIST_HEAD(&cc->migratepages);
    cc->migratetype = gfp_migratetype(cc->gfp_mask);
    if (!zc)
        return COMPACT_SKIPPED;

    if (cc->order >= 0 && !cc->proactive_compaction) {
        /* the allocation can already succeed: nothing to do */
        unsigned long mark = wmark_pages(z, cc->alloc_flags & ALLOC_WMARK_MASK);
        if (zone_watermark_ok(z, (unsigned int)cc->order, mark, cc->highest_zoneidx, cc->alloc_flags))
            return COMPACT_SUCCESS;
        if (compaction_suitable(z, cc->order, cc->highest_zoneidx) != COMPACT_CONTINUE)
            return COMPACT_SKIPPED;
    }

    cc->zone_end = zone_online_end(z);
    if (cc->zone_end <= z->zone_start_pfn + pageblock_nr_pages)
        return COMPACT_SKIPPED;   /* one block or none online: nothing to move */

    /* failures ran the deferral out, and the scanners have met since the
     * last flush: start afresh */
    if (cc->order >= 0 && compaction_restarting(z, cc->order) && ZC_LOAD(zc, compact_blockskip_flush))
        __reset_isolation_suitable(z);

    /* the zone grew (a section came online): the free scanner starts at
     * the new top */
    if (ZC_LOAD(zc, compact_cached_online_end) != cc->zone_end)
        reset_cached_positions(z);

    /* start where the last run stopped, unless the whole zone is wanted */
    unsigned long top = pageblock_start_pfn(cc->zone_end - 1);
    if (cc->whole_zone) {
        cc->migrate_pfn = z->zone_start_pfn;
        cc->free_pfn = top;
    } else {
        cc->migrate_pfn = ZC_LOAD(zc, compact_cached_migrate_pfn[sync]);
        cc->free_pfn = ZC_LOAD(zc, compact_cached_free_pfn);
        if (cc->free_pfn < z->zone_start_pfn || cc->free_pfn > top) {
            cc->free_pfn = top;
            ZC_STORE(zc, compact_cached_free_pfn, top);
        }
        if (cc->migrate_pfn < z->zone_start_pfn || cc->migrate_pfn >= cc->zone_end) {
            cc->migrate_pfn = z->zone_start_pfn;
            ZC_STORE(zc, compact_cached_migrate_pfn[0], cc->migrate_pfn);
            ZC_STORE(zc, compact_cached_migrate_pfn[1], cc->migrate_pfn);
        }
        if (cc->migrate_pfn <= z->zone_start_pfn)
            cc->whole_zone = true;
    }

    trace_mm_compaction_begin(z->zone_start_pfn, cc->migrate_pfn, cc->free_pfn, cc->zone_end, sync);
    while ((ret = compact_finished(cc)) == COMPACT_CONTINUE) {
        switch (isolate_migratepages(cc)) {
        case ISOLATE_ABORT:
            ret = COMPACT_CONTENDED;
            putback_movable_pages(cc);
            goto out;
        case ISOLATE_NONE:
            goto check_drain;
        case ISOLATE_SUCCESS:
            last_migrated_pfn = PA_MAX(z->zone_start_pfn, pageblock_start_pfn(cc->migrate_pfn - 1));
            break;
        }

        if (migrate_pages(cc) == -ENOMEM && !compact_scanners_met(cc)) {
            /* no targets left although the scanners have not met */
            ret = COMPACT_CONTENDED;
            goto out;
        }
        if (cc->capc && cc->capc->page) {
            ret = COMPACT_SUCCESS;
            break;
        }
check_drain:
        /* the migrate scanner left the order-aligned block it migrated
         * from: flush what was freed there so it merges, and
         * compact_finished sees it */
        if (cc->order > 0 && last_migrated_pfn) {
            unsigned long block_start = ALIGN_DOWN(cc->migrate_pfn, 1UL << cc->order);
            if (last_migrated_pfn < block_start) {
                drain_local(z);
                last_migrated_pfn = 0;
            }
        }
    }

out:
    if (cc->nr_freepages) {
        unsigned long free_pfn = release_freepages(cc);
        /* the cached position only goes back up, to where targets remain */
        if (free_pfn) {
            free_pfn = pageblock_start_pfn(free_pfn);
            if (free_pfn > ZC_LOAD(zc, compact_cached_free_pfn))
                ZC_STORE(zc, compact_cached_free_pfn, free_pfn);
        }
    }
    count_vm_events(COMPACTMIGRATE_SCANNED, cc->total_migrate_scanned);
    count_vm_events(COMPACTFREE_SCANNED, cc->total_free_scanned);
    trace_mm_compaction_end(z->zone_start_pfn, cc->migrate_pfn, cc->free_pfn, cc->zone_end, sync, ret);
    return ret;
}

/* Direct compaction migrates sync-light at every priority but the first,
 * as the kernel's compact_zone_order: full sync (waiting on writeback) is
 * for pa_compact_node and CMA. */
static enum pa_migrate_mode prio_to_mode(enum compact_priority prio)
{
    return prio == COMPACT_PRIO_ASYNC ? PA_MIGRATE_ASYNC : PA_MIGRATE_SYNC_LIGHT;
}

/* One zone for an allocating thread, with capture (compact_zone_order). */
static enum compact_result compact_zone_order(struct zone *z, unsigned int order, pa_gfp_t gfp,
                                              enum compact_priority prio, unsigned int alloc_flags,
                                              int highest_zoneidx, struct pa_page **capture)
{
    struct compact_control cc = {
        .order = (int)order,
        .gfp_mask = gfp,
        .zone = z,
        .mode = prio_to_mode(prio),
        .alloc_flags = alloc_flags,
        .highest_zoneidx = highest_zoneidx,
        .direct_compaction = true,
        .whole_zone = prio == MIN_COMPACT_PRIORITY,
        .ignore_skip_hint = prio == MIN_COMPACT_PRIORITY,
        .ignore_block_suitable = prio == MIN_COMPACT_PRIORITY,
    };
    struct capture_control capc = {
        .zone = z,
        .order = order,
        .migratetype = gfp_migratetype(gfp),
        .page = NULL,
    };
    struct pa_thread *t = pa_thread();
    enum compact_result ret;

    cc.capc = &capc;
    __atomic_store_n(&t->capc, &capc, __ATOMIC_RELEASE);
    ret = compact_zone(&cc);
    if (!capc.page && ret != COMPACT_SKIPPED && ret != COMPACT_SUCCESS)
        drain_local(z);   /* what this thread freed may complete the block */
    /* hide the capture control before reading the page: nothing may be
     * captured after we looked */
    __atomic_store_n(&t->capc, NULL, __ATOMIC_RELEASE);
    *capture = capc.page;
    if (*capture)
        ret = COMPACT_SUCCESS;
    return ret;
}

/*
 * Direct compaction for a failed order-order allocation over ac's zones
 * (try_to_compact_pages).  Deferred zones are skipped unless prio is
 * MIN_COMPACT_PRIORITY.  A block freed by this thread's compaction is
 * captured into *capture (off every list, not yet prepared); otherwise
 * COMPACT_SUCCESS means the LOW watermark for the order is met in a zone.
 * Counts compact_stall unless the result is COMPACT_SKIPPED, then
 * compact_success or compact_fail (as __alloc_pages_direct_compact does:
 * the slow path must not count them again).  The calling thread runs with
 * PF_MEMALLOC meanwhile.
 */
enum compact_result try_to_compact_pages(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                         const struct alloc_context *ac, enum compact_priority prio,
                                         struct pa_page **capture)
{
    enum compact_result rc = COMPACT_SKIPPED;
    struct pa_thread *t;
    unsigned int saved_pf;

    *capture = NULL;
    /* as the kernel: a caller that may not do I/O does not migrate */
    if (!(gfp & PA_GFP_IO) || order > MAX_ORDER || pa_compaction_init() != 0)
        return COMPACT_SKIPPED;

    t = pa_thread();
    saved_pf = t->pf_flags;
    t->pf_flags |= PF_MEMALLOC;
    for (const struct zoneref *zr = ac->zonelist->_zonerefs; zr->zone; zr++) {
        struct zone *z = zr->zone;
        enum compact_result status;

        if (zr->zone_idx > ac->highest_zoneidx || !populated_zone(z))
            continue;
        if (ac->nodemask && !node_isset(z->node, ac->nodemask))
            continue;
        if (prio > MIN_COMPACT_PRIORITY && compaction_deferred(z, order)) {
            rc = PA_MAX(rc, COMPACT_DEFERRED);
            continue;
        }
        status = compact_zone_order(z, order, gfp, prio, alloc_flags, ac->highest_zoneidx, capture);
        if (status != COMPACT_SUCCESS && status != COMPACT_SKIPPED &&
            zone_watermark_ok(z, order, low_wmark_pages(z), ac->highest_zoneidx, alloc_flags))
            status = COMPACT_SUCCESS;
        rc = PA_MAX(rc, status);
        if (status == COMPACT_SUCCESS) {
            /* likely to succeed, not certain: the caller resets with
             * alloc_success once it has the page */
            compaction_defer_reset(z, order, false);
            break;
        }
        if (prio != COMPACT_PRIO_ASYNC && (status == COMPACT_COMPLETE || status == COMPACT_PARTIAL_SKIPPED))
            defer_compaction(z, order);
    }
    t->pf_flags = saved_pf;

    if (rc != COMPACT_SKIPPED) {
        count_vm_event(COMPACTSTALL);
        count_vm_event(rc == COMPACT_SUCCESS ? COMPACTSUCCESS : COMPACTFAIL);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Full compaction: pa_compact_node, pa_compact_memory                 */
/* ------------------------------------------------------------------ */

/* Every zone of a node, whole, synchronously (compact_node); the skip
 * hints are cleared afterwards so later async runs start with none. */
static void compact_node(int nid)
{
    pg_data_t *pgdat = NODE_DATA(nid);
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (!populated_zone(z) || !zc_of(z))
            continue;
        struct compact_control cc = {
            .order = -1,
            .gfp_mask = PA_GFP_KERNEL,
            .zone = z,
            .mode = PA_MIGRATE_SYNC,
            .ignore_skip_hint = true,
            .ignore_block_suitable = true,
            .whole_zone = true,
        };
        compact_zone(&cc);
        __reset_isolation_suitable(z);
    }
}

PA_API int pa_compact_node(int nid)
{
    if (!pa_initialized() && pa_init(NULL) != 0)
        return -1;
    if (!node_valid(nid)) {
        errno = EINVAL;
        return -1;
    }
    if (pa_compaction_init() != 0) {
        errno = ENOMEM;
        return -1;
    }
    drain_all_pages(NULL);
    compact_node(nid);
    return 0;
}

PA_API int pa_compact_memory(void)
{
    if (!pa_initialized() && pa_init(NULL) != 0)
        return -1;
    if (pa_compaction_init() != 0) {
        errno = ENOMEM;
        return -1;
    }
    drain_all_pages(NULL);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        compact_node(nid);
    return 0;
}

/* ------------------------------------------------------------------ */
/* kcompactd                                                           */
/* ------------------------------------------------------------------ */

/* Some zone up to the recorded one would benefit (kcompactd_node_suitable). */
static bool kcompactd_node_suitable(pg_data_t *pgdat, int order, int highest_zoneidx)
{
    for (int zid = 0; zid <= highest_zoneidx && zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (!populated_zone(z))
            continue;
        if (zone_watermark_ok(z, (unsigned int)order, min_wmark_pages(z), highest_zoneidx, 0))
            continue;   /* the allocation can already succeed here */
        if (compaction_suitable(z, order, highest_zoneidx) == COMPACT_CONTINUE)
            return true;
    }
    return false;
}

/* Compact the node's zones for the recorded order, sync-light, as the
 * kernel's kcompactd_do_work. */
static void kcompactd_do_work(struct pgdat_compact *pc, int order, int highest_zoneidx)
{
    pg_data_t *pgdat = pc->pgdat;

    count_vm_event(KCOMPACTD_WAKE);
    for (int zid = 0; zid <= highest_zoneidx && zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        enum compact_result status = COMPACT_SKIPPED;

        if (!populated_zone(z) || compaction_deferred(z, (unsigned int)order))
            continue;
        if (zone_watermark_ok(z, (unsigned int)order, min_wmark_pages(z), zid, 0))
            continue;
        if (compaction_suitable(z, order, zid) != COMPACT_CONTINUE)
            continue;
        struct compact_control cc = {
            .order = order,
            .gfp_mask = PA_GFP_KERNEL,
            .zone = z,
            .mode = PA_MIGRATE_SYNC_LIGHT,
            .highest_zoneidx = zid,
            .alloc_flags = ALLOC_WMARK_MIN,
        };
        status = compact_zone(&cc);
        count_vm_events(KCOMPACTD_MIGRATE_SCANNED, cc.total_migrate_scanned);
        count_vm_events(KCOMPACTD_FREE_SCANNED, cc.total_free_scanned);
        if (status == COMPACT_SUCCESS) {
            compaction_defer_reset(z, (unsigned int)order, false);
        } else if (status == COMPACT_PARTIAL_SKIPPED || status == COMPACT_COMPLETE) {
            /* free pages stranded on pcp lists could still merge;
             * the deferral that follows limits how often */
            drain_all_pages(z);
            defer_compaction(z, (unsigned int)order);
        }
    }
}

/* Proactive compaction: every zone, whole, until its score is below the
 * low mark (proactive_compact_node). */
static void proactive_compact_node(pg_data_t *pgdat)
{
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (!populated_zone(z))
            continue;
        struct compact_control cc = {
            .order = -1,
            .gfp_mask = PA_GFP_KERNEL,
            .zone = z,
            .mode = PA_MIGRATE_SYNC_LIGHT,
            .ignore_skip_hint = true,
            .whole_zone = true,
            .proactive_compaction = true,
        };
        compact_zone(&cc);
        count_vm_events(KCOMPACTD_MIGRATE_SCANNED, cc.total_migrate_scanned);
        count_vm_events(KCOMPACTD_FREE_SCANNED, cc.total_free_scanned);
    }
}

static void timespec_add_ms(struct timespec *ts, long ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/*
 * The daemon of one node.  Sleeps until woken for an order (then compacts
 * for it) or, in proactive mode, for HPAGE_FRAG_CHECK_INTERVAL_MSEC (then
 * checks the node's fragmentation score).  No progress in proactive mode
 * backs off to 64 intervals.
 */
static void *kcompactd(void *arg)
{
    struct pgdat_compact *pc = arg;
    const long default_timeout = HPAGE_FRAG_CHECK_INTERVAL_MSEC;
    long timeout = default_timeout;

    pa_thread()->pf_flags |= PF_MEMALLOC;
    for (;;) {
        int order, highest_zoneidx;
        bool proactive = __atomic_load_n(&pa_opt.compaction_proactiveness, __ATOMIC_RELAXED) != 0;
        struct timespec deadline;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        timespec_add_ms(&deadline, timeout);
        mutex_lock(&pc->lock);
        pc->sleeping = true;
        while (pc->kcompactd_max_order <= 0) {
            int rc = proactive ? mutex_cond_timedwait(&pc->wait, &pc->lock, &deadline)
                               : mutex_cond_wait(&pc->wait, &pc->lock);
            if (rc == ETIMEDOUT)
                break;
        }
        pc->sleeping = false;
        order = pc->kcompactd_max_order;
        highest_zoneidx = pc->kcompactd_highest_zoneidx;
        mutex_unlock(&pc->lock);

        if (order > 0) {
            kcompactd_do_work(pc, order, highest_zoneidx);
            /* done until woken again; keep a higher or tighter request
             * that came in meanwhile */
            mutex_lock(&pc->lock);
            if (pc->kcompactd_max_order <= order)
                pc->kcompactd_max_order = 0;
            if (pc->kcompactd_highest_zoneidx >= highest_zoneidx)
                pc->kcompactd_highest_zoneidx = pc->pgdat->nr_zones - 1;
            mutex_unlock(&pc->lock);
            timeout = default_timeout;
            continue;
        }

        timeout = default_timeout;
        if (should_proactive_compact_node(pc->pgdat)) {
            unsigned int prev_score = fragmentation_score_node(pc->pgdat);
            proactive_compact_node(pc->pgdat);
            if (fragmentation_score_node(pc->pgdat) >= prev_score)
                timeout = default_timeout << COMPACT_MAX_DEFER_SHIFT;
        }
    }
    return NULL;
}

/* Start the node's daemon: detached, no signals, named pa_kcompactd<nid>.
 * pc->lock held. */
static void kcompactd_run(struct pgdat_compact *pc)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    char name[16];

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&thread, &attr, kcompactd, pc) == 0) {
        snprintf(name, sizeof(name), "pa_kcompactd%d", pc->pgdat->node_id);
        pthread_setname_np(thread, name);
        pc->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/*
 * Ask a node's kcompactd to compact for an order (wakeup_kcompactd).  The
 * request is recorded (the highest order, the lowest zone index) and the
 * daemon woken if it sleeps and some zone would benefit.  The daemon
 * starts on the first call; order 0 records nothing and only makes sure it
 * runs (for proactive compaction).
 */
void wakeup_kcompactd(pg_data_t *pgdat, unsigned int order, int highest_zoneidx)
{
    if (pa_compaction_init() != 0)
        return;
    struct pgdat_compact *pc = __atomic_load_n(&pgdat->compact, __ATOMIC_ACQUIRE);
    if (!pc)
        return;
    highest_zoneidx = PA_MIN(PA_MAX(highest_zoneidx, 0), MAX_NR_ZONES - 1);
    mutex_lock(&pc->lock);
    if (!pc->started)
        kcompactd_run(pc);
    if (order) {
        if (pc->kcompactd_max_order < (int)order)
            pc->kcompactd_max_order = (int)order;
        if (pc->kcompactd_highest_zoneidx > highest_zoneidx)
            pc->kcompactd_highest_zoneidx = highest_zoneidx;
        if (pc->sleeping &&
            kcompactd_node_suitable(pgdat, pc->kcompactd_max_order, pc->kcompactd_highest_zoneidx))
            pthread_cond_signal(&pc->wait);
    }
    mutex_unlock(&pc->lock);
}

/* In a forked child only the forking thread exists: no daemon runs, and
 * the locks may have been held by a thread that is gone (they are not held
 * across fork: kcompactd_run creates the thread under one). */
void compaction_fork_child(void)
{
    for (int nid = 0; pgdat_compacts && nid < pa_mm.nr_nodes; nid++) {
        struct pgdat_compact *pc = &pgdat_compacts[nid];
        pthread_condattr_t ca;
        mutex_init(&pc->lock, LOCK_KCOMPACTD, 0);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pc->wait, &ca);
        pthread_condattr_destroy(&ca);
        pc->started = false;
        pc->sleeping = false;
    }
}

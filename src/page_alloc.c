/* SPDX-License-Identifier: MIT */
/*
 * The allocation entry points, the fast path (get_page_from_freelist ->
 * rmqueue), the slow path, and the free path.  Read alongside the kernel's
 * mm/page_alloc.c: the names and the order of the steps are the same.
 */
#include "internal.h"
#include "pcp_lock.h"
#define _SDT_HAS_SEMAPHORES 1   /* the order-0 probes: see trace.h */
#include "trace.h"

#include <time.h>
#include <unistd.h>

struct pa_mm pa_mm;
bool page_group_by_mobility_disabled;
PA_SDT_SEMAPHORE(mm_page_alloc);   /* every probe of this file has one (trace.h) */
PA_SDT_SEMAPHORE(mm_page_free);

/* ------------------------------------------------------------------ */
/* Locks                                                               */
/* ------------------------------------------------------------------ */

void pa_spin_lock_slow(pa_spinlock_t *l)
{
    for (unsigned int spins = 0;; spins++) {
        while (atomic_load_explicit(&l->locked, memory_order_relaxed)) {
            if (spins++ < 128)
                __builtin_ia32_pause();
            else
                sched_yield();   /* the holder may be preempted: let it run */
        }
        if (!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
            return;
    }
}

/* ------------------------------------------------------------------ */
/* Initialisation                                                      */
/* ------------------------------------------------------------------ */

/* Bytes of the descriptor array: the free fast path's range check
 * (0 until the descriptors exist). */
static uintptr_t fast_desc_bytes;
/* Bytes of the main arena's descriptors: the fast checks of
 * pa_page_address and pa_free_pages_addr. */
static uintptr_t main_desc_bytes;

int fast_tables_init(void)
{
    fast_desc_bytes = pa_mm.max_pfn * sizeof(struct pa_page);
    main_desc_bytes = pa_mm.main_pages * sizeof(struct pa_page);
    return 0;
}
/* ------------------------------------------------------------------ */
/* Preparing pages                                                     */
/* ------------------------------------------------------------------ */

static void prep_compound_page(struct pa_page *page, unsigned int order)
{
    unsigned long nr = 1UL << order;
    __SetPageHead(page);
    for (unsigned long i = 1; i < nr; i++) {
        struct pa_page *p = page + i;
        WRITE_ONCE(p->private, (unsigned long)page);
        __SetPageTail(p);
    }
}

static void prep_new_page(struct pa_page *page, unsigned int order, pa_gfp_t gfp)
{
    /* taken from a block given back to the OS: it faults in as zeros */
    bool zeroed = unlikely(PageReported(page));
    if (zeroed)
        __ClearPageReported(page);
    if (unlikely(pa_opt.debug)) {
        if ((pa_opt.debug & PA_DEBUG_CHECKS) && check_new_pages_bad(page, order))
            return;   /* reported; with checks on we have aborted already */
        if (pa_opt.debug & PA_DEBUG_POISON)
            check_poison_bad(page, order);
        if (pa_opt.debug & PA_DEBUG_OWNER)
            set_page_owner(page, order, gfp);
    }
    WRITE_ONCE(page->order, (uint8_t)order);
    set_page_count(page, 1);
    if ((gfp & PA_GFP_ZERO) && !zeroed)
        memset(page_address(page), 0, PAGE_SIZE << order);
    if (order && (gfp & PA_GFP_COMP))
        prep_compound_page(page, order);
}

/* ------------------------------------------------------------------ */
/* The fast path                                                       */
/* ------------------------------------------------------------------ */

/* NUMA hit/miss as seen from the preferred zone, local/other from the CPU. */
static inline void zone_statistics(const struct zone *preferred, const struct zone *z)
{
    enum numa_stat_item local_stat = z->node == numa_node_id() ? NUMA_LOCAL : NUMA_OTHER;
    if (likely(z->node == preferred->node)) {
        count_numa_event(z, NUMA_HIT);
    } else {
        count_numa_event(z, NUMA_MISS);
        count_numa_event(preferred, NUMA_FOREIGN);
    }
    count_numa_event(z, local_stat);
}

static struct pa_page *rmqueue_buddy(struct zone *z, unsigned int order, unsigned int alloc_flags, int mt)
{
    struct pa_page *page = NULL;

    spin_lock(&z->lock);
    if (order && (alloc_flags & ALLOC_HIGHATOMIC))
        page = __rmqueue_smallest(z, order, MIGRATE_HIGHATOMIC);
    if (!page) {
        page = __rmqueue(z, order, mt, alloc_flags);
        /* OOM victims and non-blocking callers may dip into highatomic */
        if (!page && (alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK)))
            page = __rmqueue_smallest(z, order, MIGRATE_HIGHATOMIC);
    }
    spin_unlock(&z->lock);
    return page;
}

/*
 * An order-0 request the thread's table does not send to its magazine (other
 * GFP bits, reserves, a retry) still takes the thread's cached pages of this
 * zone and type first, as the kernel's pcp serves every order-0 request:
 * the page leaves the magazine as a flush would (moved and n drop together,
 * so the magazine counts no pop) and rmqueue counts the allocation.
 */
static struct pa_page *mag_take(struct zone *z, int mt)
{
    struct pa_thread *t = pa_current_thread;
    struct pa_page *page = NULL;
    if (!t || !t->mags || !mag_enter(t))
        return NULL;
    struct pa_magazine *m = thread_mag(t, z, mt);
    if (m->n) {
        page = m->pages[m->n - 1];
        WRITE_ONCE(m->n, m->n - 1);
        WRITE_ONCE(m->moved, m->moved - 1);
    }
    mag_exit(t);
    return page;
}

/* Orders the pcp caches come from this CPU's (or thread's) lists, refilled
 * in batches; a contended or empty pcp falls back to the buddy.  With mag,
 * the thread's magazine is filled from the same list while it is locked. */
static inline struct pa_page *rmqueue(struct zone *preferred, struct zone *z, unsigned int order,
                                      unsigned int alloc_flags, int mt, struct pa_magazine *mag)
{
    struct pa_page *page = NULL;
    if (!order && !mag && mt < MIGRATE_PCPTYPES)
        page = mag_take(z, mt);
    if (!page && likely(pcp_allowed_order(order))) {
        int cpu = pa_cpu_id();
        struct per_cpu_pages *pcp = this_pcp(z, cpu);
        if (likely(pcp && pcp_trylock(pcp, cpu))) {
            page = rmqueue_pcplist(pcp, z, order, mt, alloc_flags);
            if (mag && page && mag_enter(pa_current_thread)) {
                mag_fill(pcp, z, mag, mt, alloc_flags);
                mag_exit(pa_current_thread);
            }
            pcp_unlock(pcp);
        }
    }
    if (!page)
        page = rmqueue_buddy(z, order, alloc_flags, mt);
    if (likely(page)) {
        count_vm_events((enum vm_event_item)(PGALLOC_DMA + z->zid), 1UL << order);
        zone_statistics(preferred, z);
    }
    return page;
}

/*
 * The magazine an order-0 request may fill as it takes its page: a plain
 * request (MAG_GFP_OK bits, the first attempt's LOW mark, no reserves)
 * under a local policy, served by the zone its zonelist starts with on
 * this CPU's node.  The thread's table then sends the next such requests
 * to that magazine, and back here when it is empty, so the zone, policy
 * and watermark are looked at once per fill.  Otherwise NULL, and the
 * table entry is cleared.
 */
static struct pa_magazine *mag_to_fill(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                       const struct alloc_context *ac, struct zone *z)
{
    struct pa_thread *t = pa_current_thread;
    /* requests with other bits (ZERO, ACCOUNT, ...) never use the table:
     * they leave it as it is for the plain ones with the same zone bits */
    if (order || !t || (gfp & ~MAG_GFP_OK))
        return NULL;
    if (t->mag_nid != numa_node_id()) {
        /* the thread moved to another node's CPU: its table starts over */
        mag_table_reset(t);
        t->mag_nid = numa_node_id();
    }
    t->mag_for_gfp[gfp & MAG_GFP_INDEX] = &mag_unnamed;
    if (!pcp_magazines_on || !t->mpol_fast || (pa_opt.debug & ~PA_DEBUG_LOCKS) || pa_fail_enabled ||
        (alloc_flags & (ALLOC_WMARK_MASK | ALLOC_NO_WATERMARKS | ALLOC_RESERVES)) != ALLOC_WMARK_LOW ||
        ac->migratetype >= MIGRATE_PCPTYPES || z != ac->preferred_zoneref->zone || z->node != numa_node_id())
        return NULL;
    if (!t->mags && mag_create(t) != 0)
        return NULL;
    return thread_mag(t, z, ac->migratetype);
}

/*
 * Probe the zone's HIGH mark where pages leave it for this request, and
 * mark the zone ZONE_BELOW_HIGH when it is short: the pcp then shrinks its
 * lists as pages are freed (nr_pcp_high), rather than hoarding them until
 * reclaim starts.  A zone that can still grow is not short of memory.  The
 * free path, hotter, only clears the flag.  True when the zone is above
 * HIGH, which passes any allocation mark.
 */
static inline bool zone_above_high(struct zone *z, unsigned int order, int highest_zoneidx,
                                   unsigned int alloc_flags, pa_gfp_t gfp)
{
    if (zone_test_flag(z, ZONE_BELOW_HIGH))
        return false;
    if (zone_watermark_fast(z, order, high_wmark_pages(z), highest_zoneidx, alloc_flags, gfp))
        return true;
    if (!zone_can_grow(z))   /* a zone with sections still to bring online is not short */
        zone_set_flag(z, ZONE_BELOW_HIGH);
    return false;
}

/* Growing z (bringing a section online) could let this request pass. */
static inline bool zone_growth_helps(const struct zone *z, unsigned long mark, int highest_zoneidx,
                                     unsigned int order)
{
    return zone_can_grow(z) &&
           z->managed_pages > mark + (unsigned long)z->lowmem_reserve[highest_zoneidx] + (1UL << order);
}

/*
 * Walk the zonelist from the preferred zone and take pages from the first
 * zone that passes its watermark.  A zone that is short but can still grow
 * gets its next section first: local memory is used before remote.
 */
static struct pa_page *get_page_from_freelist(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                              const struct alloc_context *ac)
{
    bool no_fallback;
    pg_data_t *last_pgdat_dirty_ok = NULL;
retry:
    no_fallback = alloc_flags & ALLOC_NOFRAGMENT;
    for (struct zoneref *zr = ac->preferred_zoneref; zr->zone; zr++) {
        struct zone *z = zr->zone;
        unsigned long mark;
        struct pa_page *page;
        struct pa_magazine *mag;

        if (zr->zone_idx > ac->highest_zoneidx)
            continue;
        if (ac->nodemask && !node_isset(z->node, ac->nodemask))
            continue;
        /* cpuset: outside mems_allowed only for softwall (non-HARDWALL) requests */
        if (ac->mems_allowed && (alloc_flags & ALLOC_CPUSET) && (gfp & PA_GFP_HARDWALL) &&
            !node_isset(z->node, ac->mems_allowed))
            continue;
        /* CDM (memory-only) nodes: only when asked for by THISNODE or by name */
        if (unlikely(pa_mm.has_cdm) && node_isset(z->node, &pa_mm.cdm_nodes) &&
            !(gfp & PA_GFP_THISNODE) && !(ac->explicit_nodemask && node_isset(z->node, ac->nodemask)))
            continue;
        /* PA_GFP_WRITE: skip nodes past their dirty limit so that dirty
         * pages spread (the fast path only; the slow path may exceed it) */
        if (unlikely(ac->spread_dirty_pages) && z->zone_pgdat != last_pgdat_dirty_ok) {
            if (!node_dirty_ok(z->zone_pgdat))
                continue;
            last_pgdat_dirty_ok = z->zone_pgdat;
        }
        if (no_fallback && pa_mm.nr_nodes > 1 && z != ac->preferred_zoneref->zone &&
            z->node != ac->preferred_zoneref->zone->node) {
            /* fragmenting a local zone beats going remote */
            alloc_flags &= ~ALLOC_NOFRAGMENT;
            goto retry;
        }
        mark = wmark_pages(z, alloc_flags & ALLOC_WMARK_MASK);
        if (zone_above_high(z, order, ac->highest_zoneidx, alloc_flags, gfp))
            goto try_this_zone;
check:
        if (!zone_watermark_fast(z, order, mark, ac->highest_zoneidx, alloc_flags, gfp)) {
            if (zone_growth_helps(z, mark, ac->highest_zoneidx, order) && arena_grow_zone(z) == 0)
                goto check;
            if (!(alloc_flags & ALLOC_NO_WATERMARKS))
                continue;
        }
try_this_zone:
        mag = mag_to_fill(gfp, order, alloc_flags, ac, z);
        page = rmqueue(ac->preferred_zoneref->zone, z, order, alloc_flags, ac->migratetype, mag);
        if (mag && page && mag->n)
            pa_current_thread->mag_for_gfp[gfp & MAG_GFP_INDEX] = mag;
        /* an allocation succeeded: a node kswapd gave up on is worth waking again */
        if (page)
            reset_kswapd_failures(z->zone_pgdat);
        /* a fallback boosted the watermarks: kswapd rebuilds free memory now,
         * as the node may be balanced and would not wake by itself */
        if (unlikely(__atomic_load_n(&z->boosted_watermark, __ATOMIC_RELAXED)) && (alloc_flags & ALLOC_KSWAPD) &&
            __atomic_exchange_n(&z->boosted_watermark, 0, __ATOMIC_RELAXED)) {
            zone_boost_consumed();
            wakeup_kswapd(z, 0, 0, z->zid);
        }
        if (likely(page)) {
            prep_new_page(page, order, gfp);
            if (unlikely((alloc_flags & ALLOC_HIGHATOMIC) && order && order < pageblock_order))
                reserve_highatomic_pageblock(page, z);
            return page;
        }
        if (zone_growth_helps(z, mark, ac->highest_zoneidx, order) && arena_grow_zone(z) == 0)
            goto check;
    }
    if (no_fallback) {
        alloc_flags &= ~ALLOC_NOFRAGMENT;
        goto retry;
    }
    return NULL;
}

/*
 * ALLOC_NOFRAGMENT for a request that starts in Normal, the kernel's rule:
 * the lower zones are tried before a fragmenting fallback in Normal.  With
 * several nodes, only where the node's DMA32 is populated (going remote is
 * worse than fragmenting; get_page_from_freelist drops the flag then); on
 * a single node always, as the kernel assumes Normal comes with DMA32 (here
 * the DMA zone, or the retry without the flag, takes its place).
 */
static inline unsigned int alloc_flags_nofragment(const struct zone *z)
{
    if (!z || z->zid != PA_ZONE_NORMAL)
        return 0;
    if (pa_mm.nr_nodes > 1 && !populated_zone(&z->zone_pgdat->node_zones[PA_ZONE_DMA32]))
        return 0;
    return ALLOC_NOFRAGMENT;
}

/* The first zone from zr on within highest_zoneidx and nodemask (the
 * terminating entry when none is). */
static struct zoneref *next_zones_zonelist(struct zoneref *zr, int highest_zoneidx,
                                           const pa_nodemask_t *nodemask)
{
    while (zr->zone && (zr->zone_idx > highest_zoneidx ||
                        (nodemask && !node_isset(zr->zone->node, nodemask))))
        zr++;
    return zr;
}

static struct zoneref *first_zones_zonelist(struct zonelist *zl, int highest_zoneidx,
                                            const pa_nodemask_t *nodemask)
{
    return next_zones_zonelist(zl->_zonerefs, highest_zoneidx, nodemask);
}

static bool prepare_alloc_pages(pa_gfp_t gfp, unsigned int order, int preferred_nid,
                                const pa_nodemask_t *nodemask, struct alloc_context *ac,
                                unsigned int *alloc_flags)
{
    (void)order;
    int zone = gfp_zone(gfp);
    if (unlikely(zone < 0 || (gfp & GFP_MOVABLE_MASK) == GFP_MOVABLE_MASK))
        return false;
    /* mirrored (reliable) memory never comes from ZONE_MOVABLE */
    if ((gfp & PA_GFP_RELIABLE) && zone == PA_ZONE_MOVABLE)
        zone = PA_ZONE_NORMAL;
    ac->highest_zoneidx = zone;
    ac->zonelist = node_zonelist(preferred_nid, gfp);
    ac->nodemask = nodemask;
    ac->explicit_nodemask = nodemask != NULL;
    struct pa_thread *t = pa_thread();
    ac->mems_allowed = t->mems_restricted ? &t->mems_allowed : NULL;
    ac->migratetype = gfp_migratetype(gfp);
    ac->spread_dirty_pages = gfp & PA_GFP_WRITE;
    ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
    *alloc_flags = ALLOC_WMARK_LOW;
    if (ac->migratetype == MIGRATE_MOVABLE)
        *alloc_flags |= ALLOC_CMA;
    if (ac->mems_allowed) {
        /* the first attempt stays inside the cpuset, as if HARDWALL */
        *alloc_flags |= ALLOC_CPUSET;
        if (!ac->nodemask)
            ac->nodemask = ac->mems_allowed;
        ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* The slow path                                                       */
/* ------------------------------------------------------------------ */

/* Whether the request may use memory below every watermark. */
static unsigned int __gfp_pfmemalloc_flags(pa_gfp_t gfp)
{
    if (unlikely(gfp & PA_GFP_NOMEMALLOC))
        return 0;
    if (gfp & PA_GFP_MEMALLOC)
        return ALLOC_NO_WATERMARKS;
    /* reclaim's own allocations (kswapd, direct reclaim, compaction) */
    if (pa_thread()->pf_flags & PF_MEMALLOC)
        return ALLOC_NO_WATERMARKS;
    return 0;
}

static bool gfp_pfmemalloc_allowed(pa_gfp_t gfp)
{
    return !!__gfp_pfmemalloc_flags(gfp);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wake_all_kswapds(unsigned int order, pa_gfp_t gfp, const struct alloc_context *ac)
{
    pg_data_t *last = NULL;
    for (struct zoneref *zr = ac->zonelist->_zonerefs; zr->zone; zr++) {
        struct zone *z = zr->zone;
        if (zr->zone_idx > ac->highest_zoneidx || (ac->nodemask && !node_isset(z->node, ac->nodemask)))
            continue;
        if (z->zone_pgdat != last)
            wakeup_kswapd(z, gfp, order, ac->highest_zoneidx);
        last = z->zone_pgdat;
    }
}

/* Direct reclaim, then one more try; pages pinned on per-CPU lists,
 * magazines or in the highatomic reserve go back first if that fails. */
static struct pa_page *__alloc_pages_direct_reclaim(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                                    struct alloc_context *ac, unsigned long *did_some_progress)
{
    struct pa_page *page;
    bool drained = false;

    *did_some_progress = try_to_free_pages(ac->zonelist, order, gfp, ac->nodemask);
retry:
    page = get_page_from_freelist(gfp, order, alloc_flags, ac);
    /* our caches (magazines) hold more than the kernel's pcp: drain them
     * even when reclaim made no progress */
    if (!page && !drained) {
        for (struct zoneref *zr = ac->preferred_zoneref; zr->zone; zr++)
            if (zr->zone_idx <= ac->highest_zoneidx)
                unreserve_highatomic_pageblock(zr->zone, ac->migratetype, false);
        drain_all_pages(NULL);
        drained = true;
        goto retry;
    }
    return page;
}

/* Direct compaction; a block captured as it formed is prepared here. */
static struct pa_page *__alloc_pages_direct_compact(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                                    struct alloc_context *ac, enum compact_priority prio,
                                                    enum compact_result *compact_result)
{
    struct pa_thread *t = pa_thread();
    struct pa_page *page = NULL;

    if (!order)
        return NULL;
    unsigned int saved = t->pf_flags;
    t->pf_flags |= PF_MEMALLOC;      /* memalloc_noreclaim_save */
    *compact_result = try_to_compact_pages(gfp, order, alloc_flags, ac, prio, &page);
    t->pf_flags = saved;
    if (*compact_result == COMPACT_SKIPPED)
        return NULL;
    /* compact_stall/success/fail are counted by try_to_compact_pages */
    if (page) {
        count_vm_events((enum vm_event_item)(PGALLOC_DMA + page->zid), 1UL << order);
        zone_statistics(ac->preferred_zoneref->zone, page_zone(page));
        prep_new_page(page, order, gfp);
    } else {
        page = get_page_from_freelist(gfp, order, alloc_flags, ac);
    }
    if (page) {
        compaction_defer_reset(page_zone(page), order, true);
        return page;
    }
    sched_yield();
    return NULL;
}

/*
 * Keep reclaiming while it can lead somewhere: at most MAX_RECLAIM_RETRIES
 * rounds without progress (costly orders never count as progress), and only
 * while some allowed zone would pass MIN for this order if its reclaimable
 * pages (zone_reclaimable_pages, an estimate) were freed on top of its free
 * ones.  Whenever it gives up, the highatomic reserve goes back first: a
 * released block is worth another round.
 */
static bool should_reclaim_retry(pa_gfp_t gfp, unsigned int order, struct alloc_context *ac,
                                 unsigned int alloc_flags, bool did_some_progress, int *no_progress_loops)
{
    bool ret = false;
    (void)gfp;
    if (did_some_progress && order <= PAGE_ALLOC_COSTLY_ORDER)
        *no_progress_loops = 0;
    else
        (*no_progress_loops)++;
    if (*no_progress_loops > MAX_RECLAIM_RETRIES)
        goto out;
    for (struct zoneref *zr = ac->preferred_zoneref; zr->zone; zr++) {
        struct zone *z = zr->zone;
        if (zr->zone_idx > ac->highest_zoneidx || (ac->nodemask && !node_isset(z->node, ac->nodemask)))
            continue;
        /* would the allocation succeed if everything reclaimable went? */
        unsigned long available = zone_reclaimable_pages(z) + zone_page_state(z, NR_FREE_PAGES);
        if (__zone_watermark_ok(z, order, min_wmark_pages(z), ac->highest_zoneidx, alloc_flags, (long)available)) {
            ret = true;
            break;
        }
    }
out:
    if (!ret) {
        /* before OOM, the highatomic reserve */
        for (struct zoneref *zr = ac->preferred_zoneref; zr->zone; zr++)
            if (zr->zone_idx <= ac->highest_zoneidx &&
                (!ac->nodemask || node_isset(zr->zone->node, ac->nodemask)) &&
                unreserve_highatomic_pageblock(zr->zone, ac->migratetype, true))
                return true;
    }
    return ret;
}

/* Compaction made no difference yet: retry a few times, raising priority. */
static bool should_compact_retry(struct alloc_context *ac, unsigned int order, unsigned int alloc_flags,
                                 enum compact_result result, enum compact_priority *prio, int *compaction_retries)
{
    int max_retries = 16;   /* MAX_COMPACT_RETRIES */
    if (!order)
        return false;
    /* too few free pages to compact with: retry if reclaim can give some
     * zone enough of them */
    if (result == COMPACT_SKIPPED)
        return compaction_zonelist_suitable(ac, (int)order, alloc_flags);
    if (result == COMPACT_SUCCESS) {
        /* blocks formed but the allocation lost a race: a few more tries */
        if (order > PAGE_ALLOC_COSTLY_ORDER)
            max_retries /= 4;
        if (++(*compaction_retries) <= max_retries)
            return true;
    }
    enum compact_priority min_prio = order > PAGE_ALLOC_COSTLY_ORDER ? MIN_COMPACT_COSTLY_PRIORITY
                                                                     : MIN_COMPACT_PRIORITY;
    if (*prio > min_prio) {
        (*prio)--;
        *compaction_retries = 0;
        return true;
    }
    return false;
}

/* The last resort before failing: an OOM kill, then a try at HIGH. */
static struct pa_page *__alloc_pages_may_oom(pa_gfp_t gfp, unsigned int order, struct alloc_context *ac,
                                             unsigned long *did_some_progress)
{
    struct oom_control oc = {
        .zonelist = ac->zonelist,
        .nodemask = ac->nodemask,
        .memcg = NULL,
        .gfp_mask = gfp,
        .order = (int)order,
    };
    struct pa_page *page;

    *did_some_progress = 0;
    /* a kill elsewhere may have just freed memory: try at HIGH first, never
     * depending on reclaim (we are past it) */
    page = get_page_from_freelist((gfp | PA_GFP_HARDWALL) & ~PA_GFP_DIRECT_RECLAIM, order,
                                  ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac);
    if (page)
        return page;
    /* the OOM killer does not help higher orders, lowmem, or one node */
    if (order > PAGE_ALLOC_COSTLY_ORDER || ac->highest_zoneidx < PA_ZONE_NORMAL ||
        (gfp & (PA_GFP_RETRY_MAYFAIL | PA_GFP_THISNODE)))
        return NULL;
    if (out_of_memory(&oc) || (gfp & PA_GFP_NOFAIL)) {
        *did_some_progress = 1;
        /* non-failing requests get the reserves after a kill */
        if (gfp & PA_GFP_NOFAIL)
            page = get_page_from_freelist(gfp, order, ALLOC_NO_WATERMARKS | ALLOC_CMA, ac);
    }
    return page;
}

/*
 * Whether freeing could ever satisfy a NOFAIL request: some zone of its
 * zonelist, in its zone range and node mask, is large enough for the order.
 * The kernel loops forever on a request no zone can take (its caller's bug);
 * here it fails at once with a message instead of hanging the thread.
 */
static bool nofail_has_candidate(const struct alloc_context *ac, const pa_nodemask_t *nodemask,
                                 unsigned int order)
{
    for (struct zoneref *zr = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, nodemask); zr->zone;
         zr = next_zones_zonelist(zr + 1, ac->highest_zoneidx, nodemask))
        if (zr->zone->managed_pages >= 1UL << order)
            return true;
    return false;
}

/*
 * The slow path, one ladder in the kernel's order: wake kswapd -> MIN with
 * the reserves this caller may use -> direct compaction first for costly
 * and non-movable high orders -> the reserves (MEMALLOC) -> direct reclaim
 * -> direct compaction -> NORETRY / costly-order rules -> retry while
 * reclaim or compaction can still help -> OOM -> the NOFAIL loop, or NULL
 * with a report.
 */
static struct pa_page *__alloc_pages_slowpath(pa_gfp_t gfp, unsigned int order, struct alloc_context *ac)
{
    bool can_direct_reclaim = gfp & PA_GFP_DIRECT_RECLAIM;
    bool costly_order = order > PAGE_ALLOC_COSTLY_ORDER;
    struct pa_thread *t = pa_thread();
    double start = now_seconds(), next_warn = start + 10;
    enum compact_result compact_result = COMPACT_SKIPPED;
    enum compact_priority compact_priority;
    unsigned long did_some_progress = 0;
    int compaction_retries, no_progress_loops;
    unsigned int alloc_flags, reserve_flags;
    struct pa_page *page = NULL;
    const pa_nodemask_t *nodemask = ac->nodemask;   /* the caller's; the reserves may drop it */

    compaction_retries = 0;
    no_progress_loops = 0;
    compact_priority = DEF_COMPACT_PRIORITY;
    /* the MIN watermark and the reserves this caller may use */
    alloc_flags = gfp_to_alloc_flags(gfp, order);
    ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
    if (!ac->preferred_zoneref->zone)
        goto nopage;
    if (alloc_flags & ALLOC_KSWAPD)
        wake_all_kswapds(order, gfp, ac);

    page = get_page_from_freelist(gfp, order, alloc_flags, ac);
    if (page)
        goto got_pg;

    /* costly orders, and high orders that would fragment if they fell
     * back: compaction first, reclaim may not be needed at all */
    if (can_direct_reclaim && (costly_order || (order > 0 && ac->migratetype != MIGRATE_MOVABLE)) &&
        !gfp_pfmemalloc_allowed(gfp)) {
        page = __alloc_pages_direct_compact(gfp, order, alloc_flags, ac, INIT_COMPACT_PRIORITY, &compact_result);
        if (page)
            goto got_pg;
        if (costly_order && (gfp & PA_GFP_NORETRY)) {
            /* compaction said reclaim would not help, or it is deferred:
             * a NORETRY costly request gives up rather than reclaim */
            if (compact_result == COMPACT_SKIPPED || compact_result == COMPACT_DEFERRED)
                goto nopage;
            compact_priority = INIT_COMPACT_PRIORITY;
        }
    }

retry:
    if (!(gfp & PA_GFP_NOWARN) && now_seconds() >= next_warn) {
        warn_alloc(gfp, ac->nodemask, order, "page allocation stalls");
        fprintf(stderr, "pagealloc: the request has stalled for %.0f s\n", now_seconds() - start);
        next_warn += 10;
    }
    /* kswapd may have gone to sleep since */
    if (alloc_flags & ALLOC_KSWAPD)
        wake_all_kswapds(order, gfp, ac);

    /* MEMALLOC and reclaim's own requests: below every watermark; kswapd
     * is still woken for them (it must not sleep while they drain it) */
    reserve_flags = __gfp_pfmemalloc_flags(gfp);
    if (reserve_flags)
        alloc_flags = reserve_flags | (alloc_flags & (ALLOC_CMA | ALLOC_KSWAPD));
    /* policies and cpusets may be ignored for these high-priority requests */
    if (!(alloc_flags & ALLOC_CPUSET) || reserve_flags) {
        ac->nodemask = NULL;
        ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, NULL);
    }
    page = get_page_from_freelist(gfp, order, alloc_flags, ac);
    if (page)
        goto got_pg;

    /* callers that cannot sleep stop here */
    if (!can_direct_reclaim)
        goto nopage;
    /* no reclaim from inside reclaim */
    if (t->pf_flags & PF_MEMALLOC)
        goto nopage;

    page = __alloc_pages_direct_reclaim(gfp, order, alloc_flags, ac, &did_some_progress);
    if (page)
        goto got_pg;
    page = __alloc_pages_direct_compact(gfp, order, alloc_flags, ac, compact_priority, &compact_result);
    if (page)
        goto got_pg;

    /* the retry rules */
    if (gfp & PA_GFP_NORETRY)
        goto nopage;
    if (costly_order && !(gfp & PA_GFP_RETRY_MAYFAIL))
        goto nopage;
    if (should_reclaim_retry(gfp, order, ac, alloc_flags, did_some_progress > 0, &no_progress_loops))
        goto retry;
    /* compaction depends on free order-0 pages: no point without reclaim progress */
    if (did_some_progress > 0 &&
        should_compact_retry(ac, order, alloc_flags, compact_result, &compact_priority, &compaction_retries))
        goto retry;

    /* reclaim has failed us: kill something */
    page = __alloc_pages_may_oom(gfp, order, ac, &did_some_progress);
    if (page)
        goto got_pg;
    if (did_some_progress) {
        no_progress_loops = 0;
        goto retry;
    }

nopage:
    if (gfp & PA_GFP_NOFAIL) {
        /* NOFAIL must be able to sleep; a non-blocking NOFAIL is a bug */
        if (!can_direct_reclaim) {
            fprintf(stderr, "pagealloc: PA_GFP_NOFAIL without PA_GFP_DIRECT_RECLAIM cannot wait; failing\n");
            goto fail;
        }
        if (!nofail_has_candidate(ac, nodemask, order)) {
            fprintf(stderr,
                    "pagealloc: PA_GFP_NOFAIL order-%u request (gfp %#x) can never succeed: its nodes "
                    "have no zone in its zone range large enough; failing\n",
                    order, gfp);
            goto fail;
        }
        /* some of the reserve, not all of it, then wait for memory */
        page = get_page_from_freelist(gfp, order, ALLOC_WMARK_MIN | ALLOC_MIN_RESERVE | ALLOC_CMA, ac);
        if (page)
            goto got_pg;
        usleep(1000);
        if (!(gfp & PA_GFP_NOWARN) && now_seconds() >= next_warn) {
            warn_alloc(gfp, ac->nodemask, order, "page allocation stalls");
            fprintf(stderr, "pagealloc: the request has stalled for %.0f s\n", now_seconds() - start);
            next_warn += 10;
        }
        goto retry;
    }
fail:
    if (!(gfp & PA_GFP_NOWARN))
        warn_alloc(gfp, ac->nodemask, order, "page allocation failure");
    return NULL;
got_pg:
    /* an allocation succeeded: a node kswapd gave up on is worth trying again */
    reset_kswapd_failures(page_zone(page)->zone_pgdat);
    return page;
}

struct pa_page *__alloc_pages(pa_gfp_t gfp, unsigned int order, int preferred_nid,
                              const pa_nodemask_t *nodemask)
{
    struct alloc_context ac;
    unsigned int alloc_flags;
    struct pa_page *page;

    if (unlikely(order > MAX_ORDER || (gfp & ~PA_GFP_BITS_MASK) ||
                 !prepare_alloc_pages(gfp, order, preferred_nid, nodemask, &ac, &alloc_flags))) {
        errno = EINVAL;
        return NULL;
    }
    if (unlikely(pa_fail_enabled) && should_fail_alloc_page(gfp, order)) {
        count_vm_event(PA_ALLOC_FAIL);
        errno = ENOMEM;
        return NULL;
    }
    alloc_flags |= alloc_flags_nofragment(ac.preferred_zoneref->zone);
    /* as alloc_flags_nofragment: a boosting fallback may wake kswapd */
    if (gfp & PA_GFP_KSWAPD_RECLAIM)
        alloc_flags |= ALLOC_KSWAPD;

    /* the cgroup's dynamic hugetlb pool before the freelists (off by default) */
    if (unlikely(dhugetlb_in_use()) && (gfp & PA_GFP_ACCOUNT)) {
        page = alloc_page_from_dhugetlb_pool(gfp, order, alloc_flags);
        if (page)
            goto out;
    }
    /* first attempt at LOW */
    if (likely(ac.preferred_zoneref->zone)) {
        page = get_page_from_freelist(ac.mems_allowed ? gfp | PA_GFP_HARDWALL : gfp, order, alloc_flags, &ac);
        if (likely(page))
            goto out;
    }
    /* the scoped NOIO/NOFS/noreclaim contexts apply from here on; the
     * slow path may pass the dirty limits; it sees the caller's own mask
     * (softwall may leave the cpuset) */
    gfp = current_gfp_context(pa_thread(), gfp);
    ac.spread_dirty_pages = false;
    ac.nodemask = nodemask;
    page = __alloc_pages_slowpath(gfp, order, &ac);
    if (!page) {
        trace_mm_page_alloc(-1L, order, gfp, ac.migratetype);
        count_vm_event(PA_ALLOC_FAIL);
        errno = ENOMEM;
        return NULL;
    }
out:
    /* PA_GFP_ACCOUNT: charge the thread's memory cgroup, or give it back */
    if (unlikely(gfp & PA_GFP_ACCOUNT) && memcg_charge_page(page, gfp, order) != 0) {
        pa_free_pages(page, order);
        trace_mm_page_alloc(-1L, order, gfp, ac.migratetype);
        count_vm_event(PA_ALLOC_FAIL);
        errno = ENOMEM;
        return NULL;
    }
    trace_mm_page_alloc(page_to_pfn(page), order, gfp, ac.migratetype);
    return page;
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

static void free_pages_prepare(struct pa_page *page, unsigned int order)
{
    trace_mm_page_free(page_to_pfn(page), order);
    if (PageHead(page)) {
        unsigned long nr = 1UL << order;
        for (unsigned long i = 1; i < nr; i++) {
            struct pa_page *p = page + i;
            if (unlikely((pa_opt.debug & PA_DEBUG_CHECKS) &&
                         (!PageTail(p) || p->private != (unsigned long)page)))
                bad_page(p, order, "corrupted compound tail");
            WRITE_ONCE(p->private, 0);
            __ClearPageTail(p);
        }
    }
    if (unlikely(pa_opt.debug & PA_DEBUG_CHECKS))
        free_pages_check_bad(page, order);
    if (unlikely(page->memcg_data))
        memcg_uncharge_page(page, order);
    if (unlikely(PageDirty(page)))
        account_page_cleaned(page, 1UL << order);
    WRITE_ONCE(page->flags, 0UL);   /* neighbours' buddy checks read it unlocked */
    WRITE_ONCE(page->order, 0);
    WRITE_ONCE(page->mapping, NULL);   /* the migrate scanner reads both unlocked */
    WRITE_ONCE(page->owner, NULL);
    WRITE_ONCE(page->memcg_data, 0);   /* a racing second free's checks read it */
    if (unlikely(pa_opt.debug & PA_DEBUG_POISON))
        kernel_poison_pages(page, order);
    if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
        reset_page_owner(page, order);
}

static void free_one_page(struct zone *z, struct pa_page *page, unsigned long pfn, unsigned int order)
{
    spin_lock(&z->lock);
    __free_one_page(page, pfn, z, order, get_pfnblock_migratetype(pfn));
    spin_unlock(&z->lock);
}

/* Pages freed by a thread inside reclaim count as its progress. */
static inline void account_reclaimed(struct pa_thread *t, unsigned int order)
{
    if (unlikely(t && t->reclaimed))
        *t->reclaimed += 1UL << order;
}

void free_pages_to_buddy(struct pa_page *page, unsigned int order)
{
    free_pages_prepare(page, order);
    count_vm_events(PGFREE, 1UL << order);
    account_reclaimed(pa_current_thread, order);
    free_one_page(page_zone(page), page, page_to_pfn(page), order);
}

/* The reference is gone: give the block back, through the pcp if its
 * order is cached there (free_unref_page). */
void free_the_page(struct pa_page *page, unsigned int order)
{
    struct zone *z = page_zone(page);
    unsigned long pfn = page_to_pfn(page);

    /* a page of a cgroup's dynamic hugetlb pool goes back to the pool */
    if (unlikely(dhugetlb_in_use()) && PageDhugetlb(page)) {
        free_page_to_dhugetlb_pool(page);
        return;
    }
    free_pages_prepare(page, order);
    count_vm_events(PGFREE, 1UL << order);
    account_reclaimed(pa_current_thread, order);
    page_reporting_start_once();
    if (likely(pcp_allowed_order(order))) {
        int mt = get_pfnblock_migratetype(pfn);
        if (unlikely(mt >= MIGRATE_PCPTYPES)) {
            if (is_migrate_isolate(mt))
                goto buddy;         /* isolated blocks never hold pcp pages */
            mt = MIGRATE_MOVABLE;   /* highatomic and CMA pages ride the movable list */
        }
        int cpu = pa_cpu_id();
        struct per_cpu_pages *pcp = this_pcp(z, cpu);
        if (likely(pcp && pcp_trylock(pcp, cpu))) {
            free_unref_page_commit(pcp, z, page, order, mt);
            pcp_unlock(pcp);
            if (unlikely(!atomic_load_explicit(&pcp_decay_started, memory_order_relaxed)))
                pa_pcp_start_decay();
            return;
        }
    }
buddy:
    free_one_page(z, page, pfn, order);
}

/* ------------------------------------------------------------------ */
/* Validating what callers hand back                                   */
/* ------------------------------------------------------------------ */

static const char double_free_why[] = "double free: page is not allocated (refcount zero)";

/*
 * Drop a reference (put_page_testzero): 1 when it was the last, 0 when
 * others remain, -1 when there was none to drop.  The drop is one atomic
 * read-modify-write: of two frees racing for the last reference exactly
 * one wins, and the other finds the count already zero and gets the
 * bad-page report instead of freeing the block a second time.
 */
static inline int page_ref_drop(struct pa_page *page, unsigned int order)
{
    int ref = page_ref_count(page);
    do {
        if (unlikely(ref <= 0)) {
            bad_page(page, order, double_free_why);
            return -1;
        }
        /* acq_rel: the winner sees every write made under the references */
    } while (!atomic_compare_exchange_weak_explicit(&page->_refcount, &ref, ref - 1, memory_order_acq_rel,
                                                    memory_order_relaxed));
    return ref == 1;
}

/* The free of a block whose caller holds the only reference: 1 -> 0 in one
 * compare-and-swap.  Fails (nothing changed) when the count is not 1: a
 * shared block, or a second free racing this one, which the general path
 * then handles or reports. */
static inline bool page_ref_drop_last(struct pa_page *page)
{
    int one = 1;
    return atomic_compare_exchange_strong_explicit(&page->_refcount, &one, 0, memory_order_acq_rel,
                                                   memory_order_relaxed);
}

/* A descriptor pointer from our array, of an online page. */
static inline bool page_ptr_valid(const struct pa_page *page)
{
    if (unlikely(!pa_initialized()))
        return false;
    uintptr_t off = (uintptr_t)page - (uintptr_t)pa_mm.pages;
    if (unlikely(off >= pa_mm.max_pfn * sizeof(struct pa_page) || off % sizeof(struct pa_page)))
        return false;
    return pfn_valid(off / sizeof(struct pa_page));
}

/*
 * The cheap checks that are always on: the block is allocated, aligned for
 * the order, not a tail, and freed with the order it was allocated with.
 * On failure the problem is reported and the caller refuses the free.
 */
static bool free_is_sane(struct pa_page *page, unsigned int order, const char *func)
{
    if (unlikely(!page_ptr_valid(page))) {
        bad_pointer(func, page, "not a page descriptor of the arenas");
        return false;
    }
    if (unlikely(order > MAX_ORDER)) {
        bad_page(page, order, "order out of range");
        return false;
    }
    if (unlikely(page_to_pfn(page) & ((1UL << order) - 1))) {
        bad_page(page, order, "pfn not aligned to the order being freed");
        return false;
    }
    if (unlikely(PageTail(page))) {
        bad_page(page, order, "freeing a tail page of a compound page");
        return false;
    }
    if (unlikely(page_ref_count(page) <= 0 || PageBuddy(page))) {
        /* inside an allocated block (only its first page holds the count)? */
        unsigned long pfn = page_to_pfn(page);
        for (unsigned int o = 1; !PageBuddy(page) && o <= MAX_ORDER; o++) {
            unsigned long head = pfn & ~((1UL << o) - 1);
            if (head == pfn || !pfn_valid(head))
                continue;
            struct pa_page *h = pfn_to_page(head);
            if (page_ref_count(h) > 0 && !PageBuddy(h) && !PageTail(h) && READ_ONCE(h->order) >= o) {
                char why[128];
                snprintf(why, sizeof(why), "page is inside an allocated order-%u block starting at pfn %#lx "
                         "(free the block's first page)", READ_ONCE(h->order), head);
                bad_page(page, order, why);
                return false;
            }
        }
        bad_page(page, order, double_free_why);
        return false;
    }
    unsigned int allocated_order = READ_ONCE(page->order);
    if (unlikely(allocated_order != order)) {
        char why[96];
        snprintf(why, sizeof(why), "freed with order %u but allocated with order %u", order, allocated_order);
        bad_page(page, order, why);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

int order0_detour;

/* The magazine table was filled on this CPU's node (asked only with more
 * than one node).  No call: a thread without rseq takes the general path,
 * which knows its CPU. */
static inline bool mag_node_current(const struct pa_thread *t)
{
    if (unlikely(__rseq_size == 0))
        return false;
    const struct rseq *rs = (const struct rseq *)(void *)((char *)__builtin_thread_pointer() + __rseq_offset);
    int cpu = (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
    return cpu >= 0 && cpu < PA_MAX_CPUS && pa_mm.cpu_to_node[cpu] == t->mag_nid;
}

/*
 * The fast path: an order-0 request served from the thread's magazine that
 * its table names for these GFP bits (see mag_to_fill).  Anything else --
 * other bits, an empty or unnamed magazine, a drain under way, another
 * node's CPU -- takes the general path, which fills the magazine again.
 * The table holds entries only while the thread's policy is local
 * (mpol_update_fast clears it), and the zone's watermark and statistics
 * were dealt with when the magazine was filled; a boosted zone sends
 * requests to the general path until one of them wakes kswapd.
 */
static inline __attribute__((always_inline)) bool alloc_from_mag(pa_gfp_t gfp, struct pa_page **pagep)
{
    struct pa_thread *t = pa_current_thread;
    if (unlikely(!t || (gfp & ~MAG_GFP_OK)))
        return false;
    struct pa_magazine *m = t->mag_for_gfp[gfp & MAG_GFP_INDEX];   /* mag_unnamed: empty */
    int detour = __atomic_load_n(&order0_detour, __ATOMIC_RELAXED);
    if (unlikely(detour) && ((detour & DETOUR_BOOSTED) || !mag_node_current(t)))
        return false;
    if (unlikely(!mag_enter(t)))
        return false;
    unsigned long n = m->n;
    if (unlikely(!n)) {
        mag_exit(t);
        return false;
    }
    struct pa_page *page = m->pages[n - 1];
    WRITE_ONCE(m->n, n - 1);
    pa_relaxed_add(&m->pops, 1);
    mag_exit(t);
    set_page_count(page, 1);
    if (trace_active(mm_page_alloc))
        trace_mm_page_alloc(page_to_pfn(page), 0, gfp, (gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT);
    *pagep = page;
    return true;
}

PA_API struct pa_page *pa_alloc_pages_node(int nid, pa_gfp_t gfp, unsigned int order)
{
    if (unlikely(!pa_initialized()) && pa_init(NULL) != 0)
        return NULL;
    if (nid == NUMA_NO_NODE)
        nid = numa_node_id();
    else if (unlikely(!node_valid(nid))) {
        errno = EINVAL;
        return NULL;
    }
    struct pa_page *page;
    if (!order && nid == numa_node_id() && alloc_from_mag(gfp, &page))
        return page;
    page = __alloc_pages(gfp, order, nid, NULL);
    __asm__ volatile("" ::: "memory");   /* no tail call: page owner finds this frame */
    return page;
}

/* pa_alloc_pages past its magazine: out of line, so the fast path saves no
 * registers. */
static __attribute__((noinline)) struct pa_page *alloc_pages_general(pa_gfp_t gfp, unsigned int order)
{
    if (unlikely(!pa_initialized()) && pa_init(NULL) != 0)
        return NULL;
    return alloc_pages_mpol(pa_thread(), gfp, order);
}

PA_API struct pa_page *pa_alloc_pages(pa_gfp_t gfp, unsigned int order)
{
    struct pa_page *page;
    if (likely(!order) && likely(alloc_from_mag(gfp, &page)))
        return page;
    if (unlikely(pa_opt.debug & PA_DEBUG_OWNER)) {
        page = alloc_pages_general(gfp, order);
        __asm__ volatile("" ::: "memory");   /* no tail call: page owner finds this frame */
        return page;
    }
    /* a tail call: the fast path above saves no registers */
    return alloc_pages_general(gfp, order);
}

/*
 * An order-0 page whose last reference pa_free_pages dropped, when its
 * magazine had no room: make room (mag_flush) and push it, or free it
 * through the pcp.  Out of line, so the fast free saves no registers.
 */
static __attribute__((noinline)) void free_unreferenced_page(struct pa_thread *t, struct pa_page *page, int mt)
{
    if (t->free_mags && mt < MIGRATE_PCPTYPES && mag_enter(t)) {
        struct zone *z = page_zone(page);
        struct pa_magazine *m = thread_mag(t, z, mt);
        if (mag_flush(m, z, mt)) {
            m->pages[m->n] = page;
            WRITE_ONCE(m->n, m->n + 1);
            mag_exit(t);
            trace_mm_page_free(page_to_pfn(page), 0);
            return;
        }
        mag_exit(t);
    }
    free_the_page(page, 0);
}

static __attribute__((noinline)) void free_pages_slow(struct pa_page *page, unsigned int order)
{
    if (unlikely(!page))
        return;
    if (unlikely(!free_is_sane(page, order, "pa_free_pages")))
        return;
    int last = page_ref_drop(page, order);
    if (last > 0) {
        free_the_page(page, order);
    } else if (last == 0 && !PageHead(page)) {
        /* still referenced: keep the first page, free the rest (__free_pages) */
        if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
            split_page_owner(page, order);
        if (unlikely(PageDirty(page)))
            account_page_cleaned(page, (1UL << order) - 1);   /* the rest leaves the block */
        WRITE_ONCE(page->order, 0);
        while (order-- > 0) {
            struct pa_page *p = page + (1UL << order);
            WRITE_ONCE(p->order, (uint8_t)order);
            free_the_page(p, order);
        }
    }
}

/*
 * The fast free, shared by pa_free_pages and pa_free_pages_addr (which
 * have checked that page is a descriptor of the array, of pfn): the last
 * reference to a clean order-0 page, pushed on the thread's magazine of
 * its zone and pageblock migratetype.  The always-on checks are folded
 * into a few compares: the order it was allocated with, no flags, mapping
 * or cgroup, and the reference dropped 1 -> 0 atomically (a second free of
 * the page, racing or not, fails that and is reported by free_pages_slow).
 * A page whose magazine is full, of another migratetype, or freed inside
 * reclaim goes through free_the_page (the pcp).  False, with nothing
 * changed, for anything unusual: the caller's full checks take it.
 */
static inline __attribute__((always_inline)) bool free_order0_fast(struct pa_thread *t, struct pa_page *page,
                                                                  unsigned long pfn)
{
    if (likely(!(READ_ONCE(page->flags) | (uintptr_t)READ_ONCE(page->mapping) | READ_ONCE(page->memcg_data) |
                 READ_ONCE(page->order))) &&
        likely(page_ref_drop_last(page))) {
        struct pa_magazine *mags = t->free_mags;
        if (likely(mags) && likely(mag_enter(t))) {
            /* thread_mag(t, page_zone(page), pageblock migratetype), from
             * the pageblock: a type without a pcp list names the unused
             * magazine, whose high is 0 */
            struct pa_magazine *m =
                &mags[__atomic_load_n(&pa_mm.pageblock_mag[pfn >> pageblock_order], __ATOMIC_RELAXED)];
            unsigned long n = m->n;
            if (likely(n < m->high)) {
                m->pages[n] = page;
                WRITE_ONCE(m->n, n + 1);
                mag_exit(t);
                trace_mm_page_free(pfn, 0);   /* its pfn is at hand: no semaphore test */
                return true;
            }
            mag_exit(t);
        }
        free_unreferenced_page(t, page, get_pfnblock_migratetype(pfn));
        return true;
    }
    return false;
}

PA_API void pa_free_pages(struct pa_page *page, unsigned int order)
{
    struct pa_thread *t = pa_current_thread;
    uintptr_t off = (uintptr_t)page - (uintptr_t)pa_mm.pages;
    /* no pfn_valid(): an offline descriptor reads as zeros and fails the
     * drop, sending the pointer to the checks */
    if (likely(!order && t && off < fast_desc_bytes && !(off % sizeof(struct pa_page))) &&
        likely(free_order0_fast(t, page, off / sizeof(struct pa_page))))
        return;
    free_pages_slow(page, order);
}

PA_API void *pa_get_free_pages(pa_gfp_t gfp, unsigned int order)
{
    struct pa_page *page;
    if (likely(!order) && likely(alloc_from_mag(gfp, &page)))   /* pa_alloc_pages' fast path, inline */
        return page_address(page);
    page = alloc_pages_general(gfp, order);   /* the magazine was just tried */
    return page ? page_address(page) : NULL;
}

PA_API void pa_free_pages_addr(void *addr, unsigned int order)
{
    /* the common case first: an order-0 page of the main arena, freed as
     * pa_free_pages frees it (its drop 1 -> 0 also says the page is
     * online).  Anything else is looked at in full below. */
    struct pa_thread *t = pa_current_thread;
    uintptr_t off = (uintptr_t)addr - (uintptr_t)pa_mm.main_base;
    /* of a page-aligned off: the offset of its descriptor */
    uintptr_t desc = off / (PAGE_SIZE / sizeof(struct pa_page));
    if (likely(!order && t && !(off & (PAGE_SIZE - 1)) && desc < main_desc_bytes) &&
        likely(free_order0_fast(t, (struct pa_page *)(void *)((char *)pa_mm.pages + desc),
                                desc / sizeof(struct pa_page))))
        return;
    if (!addr)
        return;
    if (unlikely(!pa_initialized())) {
        bad_pointer(__func__, addr, "no memory has been allocated yet");
        return;
    }
    unsigned long pfn = virt_to_pfn(addr);
    if (unlikely(pfn == ~0UL || !pfn_valid(pfn))) {
        bad_pointer(__func__, addr, "not an address of the arenas");
        return;
    }
    if (unlikely(order > MAX_ORDER)) {    /* before the shift below: order may be 64 */
        bad_page(pfn_to_page(pfn), order, "order out of range");
        return;
    }
    if (unlikely((uintptr_t)addr & ((PAGE_SIZE << order) - 1))) {
        bad_page(pfn_to_page(pfn), order, "address not aligned to the order being freed");
        return;
    }
    pa_free_pages(pfn_to_page(pfn), order);
}

static unsigned int get_order(size_t size)
{
    size_t pages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    unsigned int order = 0;
    while ((1UL << order) < pages && order <= MAX_ORDER)
        order++;
    return order;
}

/* Give [start, end) back in the largest aligned blocks under one lock
 * (each page allocated order-0 with its reference dropped or not). */
void free_pages_range(struct zone *z, unsigned long start, unsigned long end)
{
    for (unsigned long pfn = start; pfn < end; pfn++) {
        struct pa_page *p = pfn_to_page(pfn);
        set_page_count(p, 0);
        free_pages_prepare(p, 0);
    }
    spin_lock(&z->lock);
    __free_pages_range(z, start, end);
    spin_unlock(&z->lock);
    count_vm_events(PGFREE, end - start);
    if (unlikely(pa_current_thread && pa_current_thread->reclaimed))
        *pa_current_thread->reclaimed += end - start;
}

PA_API void *pa_alloc_pages_exact(size_t size, pa_gfp_t gfp)
{
    if (unlikely(size == 0 || size > (PAGE_SIZE << MAX_ORDER))) {
        errno = EINVAL;
        return NULL;
    }
    unsigned int order = get_order(size);
    struct pa_page *page = pa_alloc_pages(gfp & ~PA_GFP_COMP, order);
    if (!page)
        return NULL;
    unsigned long nr = 1UL << order, used = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    split_page(page, order);
    if (used < nr)
        free_pages_range(page_zone(page), page_to_pfn(page) + used, page_to_pfn(page) + nr);
    return page_address(page);
}

PA_API void pa_free_pages_exact(void *addr, size_t size)
{
    if (!addr)
        return;
    unsigned long pfn = pa_initialized() ? virt_to_pfn(addr) : ~0UL;
    if (unlikely(pfn == ~0UL || !pfn_valid(pfn) || ((uintptr_t)addr & (PAGE_SIZE - 1)))) {
        bad_pointer(__func__, addr, "not a page-aligned address of the arenas");
        return;
    }
    /* size bounded first: size + PAGE_SIZE - 1 must not wrap to a tiny nr */
    unsigned long nr = size <= (PAGE_SIZE << MAX_ORDER) ? (size + PAGE_SIZE - 1) >> PAGE_SHIFT : ~0UL;
    if (unlikely(size == 0 || nr > (1UL << MAX_ORDER) || pfn + nr > pa_mm.max_pfn)) {
        bad_pointer(__func__, addr, "size does not match an exact allocation");
        return;
    }
    /* check all first: a bad range is refused whole, nothing is lost */
    for (unsigned long i = 0; i < nr; i++)
        if (!free_is_sane(pfn_to_page(pfn + i), 0, __func__))
            return;
    struct zone *z = page_zone(pfn_to_page(pfn));
    for (unsigned long i = 0; i < nr; i++) {
        struct pa_page *p = pfn_to_page(pfn + i);
        if (page_ref_drop(p, 0) > 0)
            free_the_page(p, 0);
    }
    (void)z;
}

PA_API void *pa_page_address(const struct pa_page *page)
{
    uintptr_t off = (uintptr_t)page - (uintptr_t)pa_mm.pages;
    /* the common case first: a descriptor of an online main-arena page.
     * A referenced page is online (a section goes offline only with every
     * page of it free, and its descriptors then read as zeros), so only
     * other descriptors ask their section. */
    if (likely(off < main_desc_bytes && !(off % sizeof(struct pa_page)))) {
        unsigned long pfn = off / sizeof(struct pa_page);
        if (likely(page_ref_count(page) > 0 || __atomic_load_n(&pfn_to_section(pfn)->online, __ATOMIC_ACQUIRE)))
            return pa_mm.main_base + (pfn << PAGE_SHIFT);
    }
    if (unlikely(!page_ptr_valid(page))) {
        errno = EINVAL;
        return NULL;
    }
    return page_address(page);
}

PA_API struct pa_page *pa_virt_to_page(const void *addr)
{
    unsigned long pfn = pa_initialized() ? virt_to_pfn(addr) : ~0UL;
    if (unlikely(pfn == ~0UL || !pfn_valid(pfn))) {
        errno = EINVAL;
        return NULL;
    }
    return pfn_to_page(pfn);
}

PA_API unsigned long pa_page_to_pfn(const struct pa_page *page)
{
    if (unlikely(!page_ptr_valid(page))) {
        errno = EINVAL;
        return ~0UL;
    }
    return page_to_pfn(page);
}

PA_API struct pa_page *pa_pfn_to_page(unsigned long pfn)
{
    if (unlikely(!pa_initialized() || !pfn_valid(pfn))) {
        errno = EINVAL;
        return NULL;
    }
    return pfn_to_page(pfn);
}

PA_API int pa_page_to_nid(const struct pa_page *page)
{
    if (unlikely(!page_ptr_valid(page))) {
        errno = EINVAL;
        return -1;
    }
    return page->nid;
}

PA_API enum pa_zone_type pa_page_zonenum(const struct pa_page *page)
{
    if (unlikely(!page_ptr_valid(page))) {
        errno = EINVAL;
        return PA_MAX_NR_ZONES;
    }
    return (enum pa_zone_type)page->zid;
}

PA_API unsigned long long pa_page_to_phys(const struct pa_page *page)
{
    if (unlikely(!page_ptr_valid(page))) {
        errno = EINVAL;
        return 0;
    }
    return pa_os_virt_to_phys(page_address(page));
}

PA_API struct pa_page *pa_compound_head(const struct pa_page *page)
{
    if (unlikely(!page_ptr_valid(page))) {
        errno = EINVAL;
        return NULL;
    }
    if (PageTail(page))
        return (struct pa_page *)page->private;
    return (struct pa_page *)page;
}

PA_API unsigned int pa_compound_order(const struct pa_page *page)
{
    if (unlikely(!page_ptr_valid(page)) || !PageHead(page))
        return 0;
    return page->order;
}

PA_API int pa_page_count(const struct pa_page *page)
{
    struct pa_page *head = pa_compound_head(page);
    return head ? page_ref_count(head) : -1;
}

PA_API void pa_get_page(struct pa_page *page)
{
    struct pa_page *head = pa_compound_head(page);
    if (unlikely(!head)) {
        bad_pointer(__func__, page, "not a page descriptor of the arenas");
        return;
    }
    if (unlikely(page_ref_count(head) <= 0)) {
        bad_page(head, head->order, "get_page on a free page");
        return;
    }
    atomic_fetch_add_explicit(&head->_refcount, 1, memory_order_relaxed);
}

PA_API void pa_put_page(struct pa_page *page)
{
    struct pa_page *head = pa_compound_head(page);
    if (unlikely(!head)) {
        bad_pointer(__func__, page, "not a page descriptor of the arenas");
        return;
    }
    /* Not the last reference: only drop it.  (pa_free_pages would apply
     * __free_pages's rule to a non-compound block -- keep the first page,
     * free the rest -- and hand out pages the holder still uses.) */
    int ref = page_ref_count(head);
    while (ref > 1)
        if (atomic_compare_exchange_weak_explicit(&head->_refcount, &ref, ref - 1,
                                                  memory_order_release, memory_order_relaxed))
            return;
    pa_free_pages(head, head->order);
}

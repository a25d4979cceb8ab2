/* SPDX-License-Identifier: MIT */
/*
 * Watermarks: how many free pages each zone keeps back, and the check the
 * allocator makes before taking pages from a zone.
 *
 * A zone's watermarks come from its capacity (managed_pages), not from the
 * part that happens to be online: when a zone falls below LOW while it can
 * still grow, the allocator brings the next section online instead of
 * treating it as pressure.
 */
#include "internal.h"

#define SWAP_CLUSTER_MAX 32UL

/* The kernel's default sysctl_lowmem_reserve_ratio (no ZONE_HIGHMEM here). */
static const unsigned int lowmem_reserve_ratio[MAX_NR_ZONES] = {
    [PA_ZONE_DMA] = 256,
    [PA_ZONE_DMA32] = 256,
    [PA_ZONE_NORMAL] = 32,
    [PA_ZONE_MOVABLE] = 0,
};

static unsigned long min_free_kbytes;

static unsigned long int_sqrt(unsigned long x)
{
    unsigned long r = 0, b = 1UL << (sizeof(long) * 8 - 2);
    while (b > x)
        b >>= 2;
    while (b) {
        if (x >= r + b) {
            x -= r + b;
            r = (r >> 1) + b;
        } else {
            r >>= 1;
        }
        b >>= 2;
    }
    return r;
}

/* Pages of the zones below ZONE_MOVABLE: what "lowmem" means on 64-bit. */
static unsigned long lowmem_pages(void)
{
    unsigned long sum = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < PA_ZONE_MOVABLE; zid++)
            sum += NODE_DATA(nid)->node_zones[zid].managed_pages;
    return sum;
}

/*
 * The kernel's calculate_min_free_kbytes(): sqrt(lowmem_kbytes * 16),
 * clamped to [128, 262144] KiB -- 128 KiB at 1 MiB of memory, 8 MiB at
 * 4 GiB, 256 MiB from 4 TiB up.  PAGEALLOC_MIN_FREE_KBYTES overrides it.
 */
unsigned long pa_min_free_kbytes(void)
{
    if (pa_opt.min_free_kbytes)
        return pa_opt.min_free_kbytes;
    unsigned long lowmem_kbytes = lowmem_pages() * (PAGE_SIZE >> 10);
    unsigned long v = int_sqrt(lowmem_kbytes * 16);
    return PA_MAX(128UL, PA_MIN(v, 262144UL));
}

void setup_per_zone_wmarks(void)
{
    min_free_kbytes = pa_min_free_kbytes();
    unsigned long pages_min = min_free_kbytes >> (PAGE_SHIFT - 10);
    unsigned long lowmem = PA_MAX(lowmem_pages(), 1UL);

    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            unsigned long managed = z->managed_pages, min;
            /* each lowmem zone's share of min_free_kbytes, by size */
            unsigned long tmp = (unsigned long)((unsigned __int128)pages_min * managed / lowmem);

            if (zid == PA_ZONE_MOVABLE) {
                /* ZONE_MOVABLE cannot serve the allocations MIN protects:
                 * keep only a small, bounded reserve as for highmem */
                min = PA_MAX(SWAP_CLUSTER_MAX, PA_MIN(managed / 1024, 128UL));
            } else {
                min = tmp;
            }
            /* the gaps: the larger of 1/4 of min and scale_factor/10000 of the zone */
            unsigned long gap = PA_MAX(tmp >> 2, managed * pa_opt.watermark_scale_factor / 10000);
            spin_lock(&z->lock);
            __atomic_store_n(&z->watermark_boost, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&z->_watermark[WMARK_MIN], min, __ATOMIC_RELAXED);
            __atomic_store_n(&z->_watermark[WMARK_LOW], min + gap, __ATOMIC_RELAXED);
            __atomic_store_n(&z->_watermark[WMARK_HIGH], min + 2 * gap, __ATOMIC_RELAXED);
            __atomic_store_n(&z->_watermark[WMARK_PROMO], min + 3 * gap, __ATOMIC_RELAXED);
            zone_update_wmark_fast(z);
            spin_unlock(&z->lock);
        }
    }
}

/*
 * lowmem_reserve[j] of a lower zone: pages it keeps from requests that
 * could have used zone j (or above), so that Normal allocations do not
 * exhaust ZONE_DMA: the managed pages of the zones above it up to j,
 * divided by the lower zone's ratio.
 */
void setup_per_zone_lowmem_reserve(void)
{
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = NODE_DATA(nid);
        for (int i = 0; i < MAX_NR_ZONES; i++) {
            struct zone *z = &pgdat->node_zones[i];
            unsigned int ratio = lowmem_reserve_ratio[i];
            bool clear = !ratio || !z->managed_pages;
            unsigned long upper = 0;
            for (int j = 0; j < MAX_NR_ZONES; j++)
                if (j <= i)
                    z->lowmem_reserve[j] = 0;
            for (int j = i + 1; j < MAX_NR_ZONES; j++) {
                upper += pgdat->node_zones[j].managed_pages;
                z->lowmem_reserve[j] = clear ? 0 : (long)(upper / ratio);
            }
        }
    }
}

/*
 * A fallback broke into another type's pageblock: raise the watermarks by a
 * pageblock, up to watermark_boost_factor/10000 of HIGH, so that free
 * memory is rebuilt before the next fallback is needed.  Not on zones too
 * small to benefit.  Caller holds the zone lock.  Returns whether boosted.
 */
bool boost_watermark(struct zone *z)
{
    if (!pa_opt.watermark_boost_factor || pageblock_nr_pages * 4 > z->managed_pages)
        return false;
    unsigned long max_boost = z->_watermark[WMARK_HIGH] * pa_opt.watermark_boost_factor / 10000;
    if (!max_boost)
        return false;
    max_boost = PA_MAX(pageblock_nr_pages, max_boost);
    unsigned long boost = PA_MIN(z->watermark_boost + pageblock_nr_pages, max_boost);
    __atomic_store_n(&z->watermark_boost, boost, __ATOMIC_RELAXED);
    zone_update_wmark_fast(z);
    /* the allocator wakes kswapd once the zone lock is dropped */
    __atomic_store_n(&z->boosted_watermark, 1, __ATOMIC_RELAXED);
    __atomic_fetch_or(&order0_detour, DETOUR_BOOSTED, __ATOMIC_SEQ_CST);
    return true;
}

/* A zone's boost flag was taken: DETOUR_BOOSTED stays set while any other
 * zone's is (cleared first, then set again from the zones, so a boost
 * raced with this is never lost). */
void zone_boost_consumed(void)
{
    __atomic_fetch_and(&order0_detour, ~DETOUR_BOOSTED, __ATOMIC_SEQ_CST);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            if (__atomic_load_n(&NODE_DATA(nid)->node_zones[zid].boosted_watermark, __ATOMIC_SEQ_CST)) {
                __atomic_fetch_or(&order0_detour, DETOUR_BOOSTED, __ATOMIC_SEQ_CST);
                return;
            }
}

/* Free pages this request may not count: the tail of its own order, the
 * highatomic reserve unless it may use reserves, CMA unless movable. */
static inline long zone_watermark_unusable_free(const struct zone *z, unsigned int order,
                                                unsigned int alloc_flags)
{
    long unusable = (1L << order) - 1;
    if (likely(!(alloc_flags & ALLOC_RESERVES)))
        unusable += (long)__atomic_load_n(&z->nr_reserved_highatomic, __ATOMIC_RELAXED);
    if (!(alloc_flags & ALLOC_CMA))
        unusable += (long)zone_page_state(z, NR_FREE_CMA_PAGES);
    return unusable;
}

bool __zone_watermark_ok(struct zone *z, unsigned int order, unsigned long mark, int highest_zoneidx,
                         unsigned int alloc_flags, long free_pages)
{
    long min = (long)mark;

    free_pages -= zone_watermark_unusable_free(z, order, alloc_flags);
    if (unlikely(alloc_flags & ALLOC_RESERVES)) {
        /* __GFP_HIGH may go halfway below MIN; non-blocking callers a
         * quarter of that further; OOM victims halfway again */
        if (alloc_flags & ALLOC_MIN_RESERVE) {
            min -= min / 2;
            if (alloc_flags & ALLOC_NON_BLOCK)
                min -= min / 4;
        }
        if (alloc_flags & ALLOC_OOM)
            min -= min / 2;
    }
    if (free_pages <= min + z->lowmem_reserve[highest_zoneidx])
        return false;
    if (!order)
        return true;
    /* enough pages in total; is there a block of at least this order? */
    for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
        const struct free_area *area = &z->free_area[o];
        if (!__atomic_load_n(&area->nr_free, __ATOMIC_RELAXED))
            continue;
        for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
            if (!list_empty(&area->free_list[mt]))
                return true;
        if ((alloc_flags & ALLOC_CMA) && !list_empty(&area->free_list[MIGRATE_CMA]))
            return true;
        if ((alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) &&
            !list_empty(&area->free_list[MIGRATE_HIGHATOMIC]))
            return true;
    }
    return false;
}

bool zone_watermark_ok(struct zone *z, unsigned int order, unsigned long mark, int highest_zoneidx,
                       unsigned int alloc_flags)
{
    return __zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags,
                               (long)zone_page_state(z, NR_FREE_PAGES));
}

/* The fast path's check: for order 0 one load and a compare. */
bool zone_watermark_fast(struct zone *z, unsigned int order, unsigned long mark, int highest_zoneidx,
                         unsigned int alloc_flags, pa_gfp_t gfp)
{
    long free_pages = (long)zone_page_state(z, NR_FREE_PAGES);
    (void)gfp;

    if (!order) {
        long usable = free_pages;
        long reserved = zone_watermark_unusable_free(z, 0, alloc_flags);
        usable -= PA_MIN(usable, reserved);
        if (usable > (long)mark + z->lowmem_reserve[highest_zoneidx])
            return true;
    }
    if (__zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages))
        return true;
    /* a boosted zone still serves order-0 __GFP_HIGH requests at the real MIN */
    if (unlikely(!order && (alloc_flags & ALLOC_MIN_RESERVE) &&
                 __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED) &&
                 (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN)) {
        mark = __atomic_load_n(&z->_watermark[WMARK_MIN], __ATOMIC_RELAXED);
        return __zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages);
    }
    return false;
}

/*
 * The slow path's flags from the GFP mask (gfp_to_alloc_flags): MIN
 * watermark; __GFP_HIGH may use part of the reserve; callers that cannot
 * block go a little deeper and may use the highatomic reserve for high
 * orders; kswapd is woken if allowed.
 */
unsigned int gfp_to_alloc_flags(pa_gfp_t gfp, unsigned int order)
{
    unsigned int alloc_flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;
    bool atomic = (gfp & PA_GFP_ATOMIC_BIT) && !(gfp & PA_GFP_DIRECT_RECLAIM);

    if (gfp & PA_GFP_HIGH)
        alloc_flags |= ALLOC_MIN_RESERVE;
    if (gfp & PA_GFP_KSWAPD_RECLAIM)
        alloc_flags |= ALLOC_KSWAPD;
    if (!(gfp & PA_GFP_DIRECT_RECLAIM)) {
        /* not worth trying harder for NOMEMALLOC, even if it cannot sleep */
        if (!(gfp & PA_GFP_NOMEMALLOC)) {
            alloc_flags |= ALLOC_NON_BLOCK;
            if (order > 0)
                alloc_flags |= ALLOC_HIGHATOMIC;
        }
        /* an atomic caller is not held to its cpuset (it cannot wait) */
        if ((alloc_flags & ALLOC_MIN_RESERVE) || atomic)
            alloc_flags &= ~ALLOC_CPUSET;
    }
    if (gfp_migratetype(gfp) == MIGRATE_MOVABLE)
        alloc_flags |= ALLOC_CMA;
    return alloc_flags;
}

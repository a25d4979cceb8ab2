/* SPDX-License-Identifier: MIT */
/*
 * Contiguous runs of any length outside CMA (the kernel's
 * alloc_contig_pages / free_contig_range).
 *
 * A run that fits a buddy block after alignment comes from the buddy: the
 * block of the order that covers both the length and the alignment, under
 * the memory policy (nid -1) or preferring node nid, with the whole slow
 * path (reclaim, compaction, OOM) behind it; the block is split into order-0
 * pages and the tail beyond the run goes back at once (split_page, as
 * pa_alloc_pages_exact does).
 *
 * A longer run is whole free MAX_ORDER blocks taken off one zone's free
 * lists: the zones of the zonelist are scanned block by block under the
 * zone lock for enough consecutive free MAX_ORDER blocks (one flag test per
 * 4 MiB), growing a zone by a section at a time when none is found.  Unlike
 * alloc_contig_range no page is migrated: blocks in use end the candidate,
 * and when no run is found the request fails with ENOMEM.  Pageblocks that
 * are CMA, isolated or highatomic are never taken, and a zone is only used
 * while its free pages stay above the low watermark after the run.
 *
 * Every page of a run is its own order-0 allocation with one reference, so
 * any page-aligned part of a run -- or of adjacent runs -- goes back with
 * pa_free_contig_range; that is what extent allocators that split and merge
 * ranges (jemalloc's extent hooks) need.
 */
#include "internal.h"

#include <pagealloc/contig.h>

/* Each page of the block its own order-0 allocation (split_page). */
void split_page(struct pa_page *page, unsigned int order)
{
    unsigned long nr = 1UL << order;

    if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
        split_page_owner(page, order);
    for (unsigned long i = 0; i < nr; i++) {
        WRITE_ONCE(page[i].order, 0);
        page[i].memcg_data = page->memcg_data;   /* split_page_memcg: each page carries its share */
        set_page_count(&page[i], 1);
    }
}

/* Pages [start, end) just taken off the free lists become order-0
 * allocations with one reference each. */
void prep_taken_range(unsigned long start, unsigned long end, pa_gfp_t gfp)
{
    for (unsigned long pfn = start; pfn < end; pfn++) {
        struct pa_page *p = pfn_to_page(pfn);
        __atomic_store_n(&p->flags, 0UL, __ATOMIC_RELAXED);   /* buddy scans read neighbours' flags */
        p->order = 0;
        p->private = 0;
        p->mapping = NULL;
        p->owner = NULL;
        p->memcg_data = 0;
        set_page_count(p, 1);
        if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
            set_page_owner(p, 0, gfp);
    }
}

/* The node a policy-following run prefers, and the nodes it may use
 * (NULL: any).  Interleave spreads successive runs over its nodes. */
static int contig_policy_node(pa_nodemask_t *allowed, bool *restricted)
{
    static _Atomic unsigned int il_next;
    int mode, local = pa_numa_node_id(), nr = pa_num_nodes();
    pa_nodemask_t mask;

    *restricted = false;
    if (pa_get_mempolicy(&mode, &mask) != 0)
        return local;
    switch (mode) {
    case PA_MPOL_BIND:
        *allowed = mask;
        *restricted = true;
        /* prefer the local node when it is in the mask */
        /* fallthrough */
    case PA_MPOL_PREFERRED_MANY:
        if (node_isset(local, &mask))
            return local;
        /* fallthrough */
    case PA_MPOL_PREFERRED:
        for (int nid = 0; nid < nr; nid++)
            if (node_isset(nid, &mask))
                return nid;
        return local;
    case PA_MPOL_INTERLEAVE:
    case PA_MPOL_WEIGHTED_INTERLEAVE: {
        int count = 0;
        for (int nid = 0; nid < nr; nid++)
            count += node_isset(nid, &mask);
        if (!count)
            return local;
        unsigned int turn = atomic_fetch_add_explicit(&il_next, 1, memory_order_relaxed) % (unsigned)count;
        for (int nid = 0; nid < nr; nid++)
            if (node_isset(nid, &mask) && turn-- == 0)
                return nid;
        return local;
    }
    default:
        return local;
    }
}

#define NO_RUN (~0UL)

/* First pfn of nr free pages (whole free MAX_ORDER blocks, the first aligned
 * to step) in z, taken off the free lists; NO_RUN when there is none (pfn 0
 * is a pfn like any other).  Zone lock held. */
static unsigned long take_free_blocks(struct zone *z, unsigned long nr, unsigned long step)
{
    unsigned long nblocks = (nr + MAX_ORDER_NR_PAGES - 1) >> MAX_ORDER;
    unsigned long end = __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE);
    unsigned long base = ALIGN_UP(z->zone_start_pfn, step);

    while (base + (nblocks << MAX_ORDER) <= end) {
        unsigned long k;
        for (k = 0; k < nblocks; k++) {
            unsigned long pfn = base + (k << MAX_ORDER);
            struct pa_page *p = pfn_to_page(pfn);
            int mt = get_pfnblock_migratetype(pfn);
            if (!PageBuddy(p) || buddy_order(p) != MAX_ORDER || is_migrate_cma(mt) ||
                is_migrate_isolate(mt) || is_migrate_highatomic(mt))
                break;
        }
        if (k == nblocks) {
            unsigned long lo, hi, stop = base + (nblocks << MAX_ORDER);
            if (!take_free_range(z, base, stop, &lo, &hi))
                return NO_RUN;   /* cannot happen: every block was seen free under the lock */
            if (base + nr < hi)
                __free_pages_range(z, base + nr, hi);
            return base;
        }
        base = ALIGN_UP(base + ((k + 1) << MAX_ORDER), step);
    }
    return NO_RUN;
}

/* A run longer than a buddy block from the zones of nid's zonelist. */
static struct pa_page *alloc_contig_blocks(unsigned long nr, unsigned long step, pa_gfp_t gfp, int nid,
                                           const pa_nodemask_t *allowed)
{
    struct zonelist *zl = node_zonelist(nid, gfp);
    int highest = gfp_zone(gfp);

    for (struct zoneref *zr = zl->_zonerefs; zr->zone; zr++) {
        struct zone *z = zr->zone;
        if (zr->zone_idx > highest || !populated_zone(z) || (allowed && !node_isset(z->node, allowed)))
            continue;
        for (;;) {
            unsigned long start = NO_RUN;
            if (zone_page_state(z, NR_FREE_PAGES) >= nr + low_wmark_pages(z)) {
                spin_lock(&z->lock);
                start = take_free_blocks(z, nr, step);
                spin_unlock(&z->lock);
            }
            if (start != NO_RUN) {
                prep_taken_range(start, start + nr, gfp);
                return pfn_to_page(start);
            }
            if (!zone_can_grow(z) || arena_grow_zone(z) != 0)
                break;
        }
    }
    return NULL;
}

PA_API struct pa_page *pa_alloc_contig_pages(size_t nr_pages, unsigned int align_order, pa_gfp_t gfp,
                                             int nid)
{
    if (unlikely(!pa_initialized()) && pa_init(NULL) != 0)
        return NULL;
    if (nr_pages == 0 || align_order > 31 || nr_pages > pa_mm.max_pfn ||
        (nid != -1 && !node_valid(nid)) || (gfp & PA_GFP_COMP)) {
        errno = EINVAL;
        return NULL;
    }
    unsigned int order = align_order;
    while (order <= MAX_ORDER && (1UL << order) < nr_pages)
        order++;
    if (order <= MAX_ORDER) {
        /* a buddy block covers it: the whole allocator, then split_page */
        struct pa_page *page = nid == -1 ? pa_alloc_pages(gfp, order) : pa_alloc_pages_node(nid, gfp, order);
        if (!page)
            return NULL;
        split_page(page, order);
        if (nr_pages < (1UL << order))
            free_pages_range(page_zone(page), page_to_pfn(page) + nr_pages, page_to_pfn(page) + (1UL << order));
        return page;
    }

    if (unlikely(pa_fail_enabled) && should_fail_alloc_page(gfp, MAX_ORDER)) {
        errno = ENOMEM;
        return NULL;
    }
    pa_nodemask_t allowed;
    bool restricted = false;
    if (nid == -1)
        nid = contig_policy_node(&allowed, &restricted);
    unsigned long step = PA_MAX(MAX_ORDER_NR_PAGES, 1UL << align_order);
    struct pa_page *page = alloc_contig_blocks(nr_pages, step, gfp, nid, restricted ? &allowed : NULL);
    if (!page) {
        errno = ENOMEM;
        return NULL;
    }
    if (gfp & PA_GFP_ZERO)
        memset(page_address(page), 0, nr_pages << PAGE_SHIFT);
    return page;
}

PA_API void pa_free_contig_range(struct pa_page *page, size_t nr_pages)
{
    if (!page || nr_pages == 0)
        return;
    unsigned long pfn = pa_page_to_pfn(page);   /* ~0UL for a foreign pointer */
    if (unlikely(pfn == ~0UL || nr_pages > pa_mm.max_pfn - pfn)) {
        bad_pointer(__func__, page, "not a run of pages of the arenas");
        return;
    }
    /* check all first: a bad range is refused whole, nothing is lost */
    for (unsigned long i = pfn; i < pfn + nr_pages; i++) {
        if (unlikely(!pfn_valid(i))) {
            bad_pointer(__func__, page, "the run crosses pages outside the arenas");
            return;
        }
        struct pa_page *p = pfn_to_page(i);
        if (unlikely(page_ref_count(p) != 1 || PageBuddy(p) || PageTail(p) || p->order != 0)) {
            bad_page(p, 0, "not an order-0 page of a contiguous run with one reference");
            return;
        }
    }
    /* back to the buddy in the largest blocks, one zone at a time */
    unsigned long start = pfn;
    for (unsigned long i = pfn + 1; i <= pfn + nr_pages; i++) {
        if (i == pfn + nr_pages || page_zone(pfn_to_page(i)) != page_zone(pfn_to_page(start))) {
            free_pages_range(page_zone(pfn_to_page(start)), start, i);
            start = i;
        }
    }
}

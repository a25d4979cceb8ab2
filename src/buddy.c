/* SPDX-License-Identifier: MIT */
/*
 * The buddy allocator proper: free_area[order].free_list[migratetype],
 * splitting (expand), merging (__free_one_page), and the fallback that lets
 * one migratetype borrow from another, claiming whole pageblocks where it
 * can so that unmovable allocations cluster instead of spreading
 * ("grouping pages by mobility").
 *
 * Invariant kept throughout (as Linux >= 6.10): a free block sits on the
 * list of its pageblock's migratetype.  Every function here is called with
 * zone->lock held.
 *
 * Free page reporting (page_reporting.c) marks free blocks whose memory was
 * given back to the OS PageReported, on the block's head, and counts their
 * pages in NR_REPORTED_PAGES while they are on a list.  Such memory reads
 * as zeros when next touched, so the mark travels with the memory: halves
 * split off a reported block are reported; a merged block is reported when
 * every part was; the block taken for an allocation keeps the mark on its
 * head until prep_new_page reads it (__GFP_ZERO need not clear it).  A page
 * taken any other way (compaction, CMA) loses it.
 */
#include "internal.h"
#include "pcp.h"
#include "trace.h"

const char *const migratetype_names[MIGRATE_TYPES] = {
    "Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate",
};

/* Which lists a type may borrow from, in order (the kernel's fallbacks[]). */
static const int fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] = {
    [MIGRATE_UNMOVABLE] = {MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE},
    [MIGRATE_MOVABLE] = {MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE},
    [MIGRATE_RECLAIMABLE] = {MIGRATE_UNMOVABLE, MIGRATE_MOVABLE},
};

static inline void account_freepages(struct zone *z, long nr, int mt)
{
    __mod_zone_page_state(z, NR_FREE_PAGES, nr);
    if (is_migrate_cma(mt))
        __mod_zone_page_state(z, NR_FREE_CMA_PAGES, nr);
}

static inline void add_to_free_list(struct pa_page *page, struct zone *z, unsigned int order,
                                    int mt, bool tail)
{
    struct free_area *area = &z->free_area[order];
    set_buddy_order(page, order);
    if (unlikely(PageReported(page)))
        __mod_zone_page_state(z, NR_REPORTED_PAGES, 1L << order);
    if (tail)
        list_add_tail(&page->lru, &area->free_list[mt]);
    else
        list_add(&page->lru, &area->free_list[mt]);
    WRITE_ONCE(area->nr_free, area->nr_free + 1);
    account_freepages(z, 1L << order, mt);
}

/* A reported block keeps PG_reported: see the head of this file for who
 * clears it. */
static inline void del_page_from_free_list(struct pa_page *page, struct zone *z, unsigned int order,
                                           int mt)
{
    if (unlikely(PageReported(page)))
        __mod_zone_page_state(z, NR_REPORTED_PAGES, -(1L << order));
    list_del(&page->lru);
    __ClearPageBuddy(page);
    WRITE_ONCE(page->private, 0);   /* the compaction scanner reads it unlocked */
    WRITE_ONCE(z->free_area[order].nr_free, z->free_area[order].nr_free - 1);
    account_freepages(z, -(1L << order), mt);
}

static inline void move_to_free_list(struct pa_page *page, struct zone *z, unsigned int order,
                                     int old_mt, int new_mt)
{
    list_move_tail(&page->lru, &z->free_area[order].free_list[new_mt]);
    account_freepages(z, -(1L << order), old_mt);
    account_freepages(z, 1L << order, new_mt);
}

static inline struct pa_page *get_page_from_free_area(struct free_area *area, int mt)
{
    struct list_head *l = &area->free_list[mt];
    return list_empty(l) ? NULL : list_first_entry(l, struct pa_page, lru);
}

/* Split a 2^high block down to 2^low, freeing the upper halves. */
static void expand(struct zone *z, struct pa_page *page, unsigned int low, unsigned int high, int mt)
{
    unsigned long size = 1UL << high;
    bool reported = PageReported(page);   /* the halves were given back too */
    while (high > low) {
        high--;
        size >>= 1;
        /* PAGEALLOC_DEBUG=guard: small halves become inaccessible guard
         * pages, not free blocks, until their buddy comes back (guard.c) */
        if (unlikely(debug_guardpage_minorder) && set_page_guard(z, &page[size], high))
            continue;
        if (unlikely(reported))
            __SetPageReported(&page[size]);
        add_to_free_list(&page[size], z, high, mt, reported);
    }
}

static void page_del_and_expand(struct zone *z, struct pa_page *page, unsigned int low,
                                unsigned int high, int mt)
{
    del_page_from_free_list(page, z, high, mt);
    expand(z, page, low, high, mt);
}

struct pa_page *__rmqueue_smallest(struct zone *z, unsigned int order, int mt)
{
    for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
        struct pa_page *page = get_page_from_free_area(&z->free_area[o], mt);
        if (!page)
            continue;
        page_del_and_expand(z, page, order, o, mt);
        trace_mm_page_alloc_zone_locked(page_to_pfn(page), order, mt,
                                        pcp_allowed_order(order) && mt < MIGRATE_PCPTYPES);
        return page;
    }
    return NULL;
}

/* Whether a fallback of this order may take over the whole pageblock. */
static bool can_steal_fallback(unsigned int order, int start_mt)
{
    if (order >= pageblock_order)
        return true;
    return order >= pageblock_order / 2 || start_mt == MIGRATE_RECLAIMABLE ||
           start_mt == MIGRATE_UNMOVABLE || page_group_by_mobility_disabled;
}

static int find_suitable_fallback(struct free_area *area, unsigned int order, int mt, bool *can_steal)
{
    *can_steal = false;
    if (area->nr_free == 0)
        return -1;
    for (int i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
        int fb = fallbacks[mt][i];
        if (list_empty(&area->free_list[fb]))
            continue;
        *can_steal = can_steal_fallback(order, mt);
        return fb;
    }
    return -1;
}

/* Set the migratetype of every pageblock in a block of 2^order pages. */
static void change_pageblock_range(struct pa_page *page, unsigned int order, int mt)
{
    unsigned long nr = order >= pageblock_order ? 1UL << (order - pageblock_order) : 1;
    for (unsigned long i = 0; i < nr; i++)
        set_pageblock_migratetype(page + i * pageblock_nr_pages, mt);
}

/* Count the free and the movable-in-use pages of a pageblock. */
static void count_pageblock(struct pa_page *page, unsigned long *nr_free, unsigned long *nr_movable)
{
    unsigned long start = ALIGN_DOWN(page_to_pfn(page), pageblock_nr_pages);
    unsigned long end = start + pageblock_nr_pages;
    *nr_free = *nr_movable = 0;
    for (unsigned long pfn = start; pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        if (PageBuddy(p)) {
            *nr_free += 1UL << buddy_order(p);
            pfn += 1UL << buddy_order(p);
            continue;
        }
        if (PageLRU(p) || PageMovable(p))
            (*nr_movable)++;
        pfn++;
    }
}

/*
 * Move the free pages of page's pageblock to the mt lists and retag the
 * block.  Returns the number of free pages moved; *num_movable (if given)
 * gets the movable pages in use.
 */
int move_freepages_block(struct zone *z, struct pa_page *page, int mt, int *num_movable)
{
    unsigned long start = ALIGN_DOWN(page_to_pfn(page), pageblock_nr_pages);
    unsigned long end = start + pageblock_nr_pages;
    int old_mt = get_pfnblock_migratetype(start);
    int moved = 0, movable = 0;

    for (unsigned long pfn = start; pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        if (PageBuddy(p)) {
            unsigned int o = buddy_order(p);
            move_to_free_list(p, z, o, old_mt, mt);
            moved += 1 << o;
            pfn += 1UL << o;
            continue;
        }
        if (PageLRU(p) || PageMovable(p))
            movable++;
        pfn++;
    }
    set_pageblock_migratetype(pfn_to_page(start), mt);
    if (num_movable)
        *num_movable = movable;
    return moved;
}

/*
 * A fallback block was found at current_order in a block_type list: take
 * over its whole pageblock for start_type if enough of it is free or holds
 * pages alike (movable for movable requests), then allocate from it.
 * NULL when the block is not worth claiming.
 */
static struct pa_page *try_to_claim_block(struct zone *z, struct pa_page *page, unsigned int current_order,
                                          unsigned int order, int start_type, int block_type)
{
    if (current_order >= pageblock_order) {
        del_page_from_free_list(page, z, current_order, block_type);
        change_pageblock_range(page, current_order, start_type);
        expand(z, page, order, current_order, start_type);
        return page;
    }
    unsigned long nr_free, nr_movable, alike;
    /* rebuild free memory before the next fallback is needed
     * (kswapd is woken for it when ALLOC_KSWAPD allows: the slow path) */
    boost_watermark(z);
    count_pageblock(page, &nr_free, &nr_movable);
    if (start_type == MIGRATE_MOVABLE)
        alike = nr_movable;
    else if (block_type == MIGRATE_MOVABLE)
        alike = pageblock_nr_pages - (nr_free + nr_movable);
    else
        alike = 0;
    if (nr_free + alike >= (1UL << (pageblock_order - 1)) || page_group_by_mobility_disabled) {
        move_freepages_block(z, page, start_type, NULL);
        return __rmqueue_smallest(z, order, start_type);
    }
    return NULL;
}

/*
 * The requested type's lists are empty: borrow.  First look from the
 * largest order down for a block worth claiming whole (so the borrowed
 * block becomes ours and fragmentation stays contained); failing that,
 * take the smallest suitable page from another type's list without
 * changing its pageblock.
 */
static struct pa_page *__rmqueue_fallback(struct zone *z, unsigned int order, int start_mt,
                                          unsigned int alloc_flags)
{
    unsigned int min_order = order;
    bool can_steal;
    int fb;

    if (order < pageblock_order && (alloc_flags & ALLOC_NOFRAGMENT))
        min_order = pageblock_order;

    for (int o = MAX_ORDER; o >= (int)min_order; o--) {
        struct free_area *area = &z->free_area[o];
        fb = find_suitable_fallback(area, (unsigned int)o, start_mt, &can_steal);
        if (fb == -1)
            continue;
        if (!can_steal)
            break;      /* smaller orders will not be stealable either */
        struct pa_page *page = get_page_from_free_area(area, fb);
        page = try_to_claim_block(z, page, (unsigned int)o, order, start_mt, fb);
        if (page) {
            trace_mm_page_alloc_extfrag(page_to_pfn(page), order, o, start_mt, fb,
                                        get_pageblock_migratetype(page) == start_mt);
            return page;
        }
    }
    if (alloc_flags & ALLOC_NOFRAGMENT)
        return NULL;
    for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
        struct free_area *area = &z->free_area[o];
        fb = find_suitable_fallback(area, o, start_mt, &can_steal);
        if (fb == -1)
            continue;
        struct pa_page *page = get_page_from_free_area(area, fb);
        page_del_and_expand(z, page, order, o, fb);
        trace_mm_page_alloc_extfrag(page_to_pfn(page), order, o, start_mt, fb,
                                    get_pageblock_migratetype(page) == start_mt);
        return page;
    }
    return NULL;
}

static struct pa_page *__rmqueue_cma_fallback(struct zone *z, unsigned int order)
{
    return __rmqueue_smallest(z, order, MIGRATE_CMA);
}

/*
 * Take a block for a request of type mt, in the kernel's order (6.15):
 * the type's own lists, then CMA (movable requests, ALLOC_CMA), then
 * claiming or stealing another type's block (__rmqueue_fallback), so a
 * movable request borrows an idle CMA area before it pollutes an unmovable
 * pageblock.  Before all of them, CMA is used first while more than half
 * of the zone's free memory is CMA, so it is used before the rest of the
 * zone runs dry.  cma_configured keeps this to one predictable branch when
 * no area exists.
 */
struct pa_page *__rmqueue(struct zone *z, unsigned int order, int mt, unsigned int alloc_flags)
{
    struct pa_page *page;
    if (unlikely(cma_active()) && (alloc_flags & ALLOC_CMA) &&
        zone_page_state(z, NR_FREE_CMA_PAGES) > zone_page_state(z, NR_FREE_PAGES) / 2) {
        page = __rmqueue_cma_fallback(z, order);
        if (page)
            return page;
    }
    page = __rmqueue_smallest(z, order, mt);
    if (unlikely(!page)) {
        if (unlikely(cma_active()) && (alloc_flags & ALLOC_CMA))
            page = __rmqueue_cma_fallback(z, order);
        if (!page && mt < MIGRATE_PCPTYPES)
            page = __rmqueue_fallback(z, order, mt, alloc_flags);
    }
    return page;
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

static inline bool page_is_buddy(const struct pa_page *page, const struct pa_page *buddy,
                                 unsigned int order)
{
    /* zones are MAX_ORDER aligned and online in whole MAX_ORDER blocks, so
     * the buddy is always in the same zone; the zone check is for safety */
    /* a guard page of the order is a buddy too: it rejoins on merge */
    return (__atomic_load_n(&buddy->flags, __ATOMIC_RELAXED) & ((1UL << PG_buddy) | (1UL << PG_guard))) &&
           buddy_order(buddy) == order && buddy->zid == page->zid && buddy->nid == page->nid;
}

/*
 * If the next-larger buddy is free, the merged block is likely to grow
 * again soon: put this one at the tail so it is not handed out first.
 */
static bool buddy_merge_likely(unsigned long pfn, unsigned long buddy_pfn, struct pa_page *page,
                               unsigned int order)
{
    if (order >= MAX_ORDER - 1)
        return false;
    unsigned long higher_page_pfn = buddy_pfn & pfn;
    unsigned long higher_buddy_pfn = higher_page_pfn ^ (1UL << (order + 1));
    struct pa_page *higher_buddy = page + ((long)higher_buddy_pfn - (long)pfn);   /* may be below page */
    return page_is_buddy(page, higher_buddy, order + 1);
}

/*
 * Direct compaction in this thread asked for a block of this order: take it
 * as it forms instead of putting it on a list (compaction_capture).  Not
 * CMA or isolated blocks, and a small movable block only for a movable
 * request, so capture does not pollute pageblocks more than fallback would.
 */
static inline bool compaction_capture(struct capture_control *capc, struct pa_page *page, unsigned int order,
                                      int mt)
{
    if (!capc || order != capc->order || capc->page)
        return false;
    if (is_migrate_cma(mt) || is_migrate_isolate(mt))
        return false;
    if (order < pageblock_order && mt == MIGRATE_MOVABLE && capc->migratetype != MIGRATE_MOVABLE)
        return false;
    capc->page = page;
    return true;
}

static inline struct capture_control *task_capc(const struct zone *z)
{
    struct pa_thread *t = pa_current_thread;
    struct capture_control *capc = t ? t->capc : NULL;
    return capc && capc->zone == z ? capc : NULL;
}

/*
 * Free a block and merge it with its free buddies.  reported: the block
 * comes back from page reporting (its memory is with the OS); the merged
 * block stays reported only if every buddy it swallowed was too, and goes
 * to the tail so that unreported memory is reused first.  An unreported
 * block of page_reporting_order or more tells the reporting worker.
 */
static void free_one_page_reporting(struct pa_page *page, unsigned long pfn, struct zone *z, unsigned int order,
                                    int mt, bool reported)
{
    struct capture_control *capc = task_capc(z);
    unsigned long buddy_pfn = 0;
    bool to_tail;

    __ClearPageReported(page);   /* only a reporting putback sets it (pcp drains may carry it) */
    while (order < MAX_ORDER) {
        if (unlikely(capc) && compaction_capture(capc, page, order, mt))
            return;   /* taken whole: on no list, not counted free */
        buddy_pfn = pfn ^ (1UL << order);
        struct pa_page *buddy = page + ((long)buddy_pfn - (long)pfn);   /* signed: the buddy may come first */
        if (!page_is_buddy(page, buddy, order))
            break;
        int buddy_mt = mt;
        if (unlikely(order >= pageblock_order)) {
            /* isolated, CMA and highatomic blocks keep to themselves */
            buddy_mt = get_pfnblock_migratetype(buddy_pfn);
            if (buddy_mt != mt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddy_mt)))
                break;
        }
        if (unlikely(PageGuard(buddy))) {
            clear_page_guard(z, buddy, order);
            reported = false;
        } else {
            del_page_from_free_list(buddy, z, order, buddy_mt);
            if (unlikely(PageReported(buddy)))
                __ClearPageReported(buddy);   /* no longer a head */
            else
                reported = false;
        }
        if (unlikely(buddy_mt != mt))
            change_pageblock_range(buddy, order, mt); /* the merged block has one type */
        unsigned long combined = buddy_pfn & pfn;
        page += (long)combined - (long)pfn;
        pfn = combined;
        order++;
    }
    if (unlikely(reported)) {
        __SetPageReported(page);
        add_to_free_list(page, z, order, mt, true);
        return;
    }
    to_tail = order < MAX_ORDER && buddy_merge_likely(pfn, pfn ^ (1UL << order), page, order);
    add_to_free_list(page, z, order, mt, to_tail);
    page_reporting_notify_free(order);
}

void __free_one_page(struct pa_page *page, unsigned long pfn, struct zone *z, unsigned int order, int mt)
{
    free_one_page_reporting(page, pfn, z, order, mt, false);
}

void __free_pages_range(struct zone *z, unsigned long start, unsigned long end)
{
    while (start < end) {
        unsigned int order = MAX_ORDER;
        while (order && (!IS_ALIGNED(start, 1UL << order) || start + (1UL << order) > end))
            order--;
        struct pa_page *page = pfn_to_page(start);
        __free_one_page(page, start, z, order, get_pfnblock_migratetype(start));
        start += 1UL << order;
    }
}

/* ------------------------------------------------------------------ */
/* Free page reporting (page_reporting.c)                              */
/* ------------------------------------------------------------------ */

/* Unlike __isolate_free_page, the pageblocks keep their type: the block
 * comes back as it went (the caller checked the watermark). */
void page_reporting_isolate(struct zone *z, struct pa_page *page, unsigned int order, int mt)
{
    del_page_from_free_list(page, z, order, mt);
}

/*
 * Back to the free lists, at the tail, under each pageblock's type as it is
 * now (alloc_contig_range may have isolated a pageblock meanwhile).  A
 * block over pageblocks of different types goes back a pageblock at a time.
 */
void page_reporting_putback(struct zone *z, struct pa_page *page, unsigned int order, bool reported)
{
    unsigned long pfn = page_to_pfn(page);
    int mt = get_pfnblock_migratetype(pfn);
    if (order > pageblock_order) {
        unsigned long nr = 1UL << order;
        bool mixed = false;
        for (unsigned long i = pageblock_nr_pages; i < nr; i += pageblock_nr_pages)
            mixed |= get_pfnblock_migratetype(pfn + i) != mt;
        if (mixed) {
            for (unsigned long i = 0; i < nr; i += pageblock_nr_pages)
                free_one_page_reporting(page + i, pfn + i, z, pageblock_order,
                                        get_pfnblock_migratetype(pfn + i), reported);
            return;
        }
    }
    free_one_page_reporting(page, pfn, z, order, mt, reported);
}

/* ------------------------------------------------------------------ */
/* Isolating free blocks for compaction                                */
/* ------------------------------------------------------------------ */

int __isolate_free_page(struct pa_page *page, unsigned int order)
{
    struct zone *z = page_zone(page);
    int mt = get_pageblock_migratetype(page);

    if (!is_migrate_isolate(mt)) {
        /* obey watermarks as an allocation would: a raised order-0 MIN
         * stands in for the high-order check, the block is known to exist */
        unsigned long mark = z->_watermark[WMARK_MIN] + (1UL << order);
        if (!zone_watermark_ok(z, 0, mark, 0, ALLOC_CMA))
            return 0;
    }
    del_page_from_free_list(page, z, order, mt);
    __ClearPageReported(page);   /* a migration target: written at once */
    /* a block of half a pageblock or more makes its pageblocks movable */
    if (order >= pageblock_order - 1) {
        struct pa_page *end = page + (1UL << order) - 1;
        for (struct pa_page *p = page; p < end; p += pageblock_nr_pages) {
            int bmt = get_pageblock_migratetype(p);
            if (migratetype_is_mergeable(bmt))
                move_freepages_block(z, p, MIGRATE_MOVABLE, NULL);
        }
    }
    return 1 << order;
}

void __putback_isolated_page(struct pa_page *page, unsigned int order, int mt)
{
    __free_one_page(page, page_to_pfn(page), page_zone(page), order, mt);
}

bool take_free_range(struct zone *z, unsigned long start, unsigned long end, unsigned long *lo,
                     unsigned long *hi)
{
    unsigned long base = ALIGN_DOWN(start, MAX_ORDER_NR_PAGES), pfn;

    /* no free block straddles base: every free block of [base, end) is met
     * (a guard page of PAGEALLOC_DEBUG=guard is a free block too) */
    for (pfn = base; pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        if (PageBuddy(p) || PageGuard(p)) {
            pfn += 1UL << buddy_order(p);
            continue;
        }
        if (pfn >= start)
            return false;
        pfn++;
    }
    *lo = *hi = 0;
    for (pfn = base; pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        bool guard = PageGuard(p);
        if (!PageBuddy(p) && !guard) {
            pfn++;
            continue;
        }
        unsigned int o = buddy_order(p);
        if (pfn + (1UL << o) > start) {
            if (!*hi)
                *lo = pfn;
            if (guard) {
                clear_page_guard(z, p, o);
            } else {
                del_page_from_free_list(p, z, o, get_pfnblock_migratetype(pfn));
                __ClearPageReported(p);
            }
            *hi = pfn + (1UL << o);
        }
        pfn += 1UL << o;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Highatomic reserve                                                  */
/* ------------------------------------------------------------------ */

/*
 * A high-order atomic allocation succeeded: set its pageblock aside for
 * future ones, up to about 1% of the zone, so bursts of atomic high-order
 * requests survive fragmentation.  Takes the zone lock.
 */
void reserve_highatomic_pageblock(struct pa_page *page, struct zone *z)
{
    unsigned long max_managed = z->managed_pages / 100 + pageblock_nr_pages;

    if (__atomic_load_n(&z->nr_reserved_highatomic, __ATOMIC_RELAXED) >= max_managed)
        return;
    spin_lock(&z->lock);
    if (z->nr_reserved_highatomic >= max_managed)
        goto out;
    int mt = get_pageblock_migratetype(page);
    if (!migratetype_is_mergeable(mt))  /* already highatomic, or CMA/isolated */
        goto out;
    __atomic_store_n(&z->nr_reserved_highatomic, z->nr_reserved_highatomic + pageblock_nr_pages,
                     __ATOMIC_RELAXED);
    zone_update_wmark_fast(z);
    move_freepages_block(z, page, MIGRATE_HIGHATOMIC, NULL);
out:
    spin_unlock(&z->lock);
}

/*
 * Give one highatomic pageblock back to mt (used before OOM, and when
 * reserves are needed elsewhere).  With force, the last block goes too.
 * Takes the zone lock.  Returns whether a block was released.
 */
bool unreserve_highatomic_pageblock(struct zone *z, int mt, bool force)
{
    bool ret = false;

    if (!force && __atomic_load_n(&z->nr_reserved_highatomic, __ATOMIC_RELAXED) <= pageblock_nr_pages)
        return false;
    spin_lock(&z->lock);
    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
        struct pa_page *page = get_page_from_free_area(&z->free_area[o], MIGRATE_HIGHATOMIC);
        if (!page)
            continue;
        unsigned long nr = o >= pageblock_order ? 1UL << (o - pageblock_order) : 1;
        unsigned long resv = z->nr_reserved_highatomic;
        resv -= PA_MIN(resv, nr * pageblock_nr_pages);
        __atomic_store_n(&z->nr_reserved_highatomic, resv, __ATOMIC_RELAXED);
        zone_update_wmark_fast(z);
        if (o >= pageblock_order) {
            move_to_free_list(page, z, o, MIGRATE_HIGHATOMIC, mt);
            change_pageblock_range(page, o, mt);
        } else {
            move_freepages_block(z, page, mt, NULL);
        }
        ret = true;
        break;
    }
    spin_unlock(&z->lock);
    return ret;
}

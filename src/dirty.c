/* SPDX-License-Identifier: MIT */
/*
 * Dirty pages and the per-node dirty limit (mm/page-writeback.c:
 * node_dirtyable_memory, node_dirty_limit, node_dirty_ok).
 *
 * Owners mark blocks dirty and clean; the node's nr_dirty counts their
 * pages (NR_FILE_DIRTY).  PA_GFP_WRITE allocations skip a node whose
 * nr_dirty is past its limit on the first attempt (spread_dirty_pages in
 * get_page_from_freelist), so dirty data -- and the write-back it will
 * cost -- spreads over the nodes instead of piling up on one.
 */
#include "internal.h"

static inline void mod_node_dirty(int nid, long delta)
{
    __atomic_fetch_add(&NODE_DATA(nid)->nr_dirty, (unsigned long)delta, __ATOMIC_RELAXED);
}

static inline unsigned long node_nr_dirty(const pg_data_t *pgdat)
{
    long v = (long)__atomic_load_n(&pgdat->nr_dirty, __ATOMIC_RELAXED);
    return v < 0 ? 0 : (unsigned long)v;
}

/*
 * What the node could hold dirty: its free pages -- counting capacity not
 * yet online, which is free memory that has not been touched -- less what
 * the allocator keeps in reserve (each zone's HIGH watermark and largest
 * lowmem reserve: totalreserve_pages), plus the dirty pages themselves,
 * which the kernel counts among the file pages.
 */
static unsigned long node_dirtyable_memory(pg_data_t *pgdat)
{
    unsigned long nr = 0;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (!populated_zone(z))
            continue;
        unsigned long free = zone_page_state(z, NR_FREE_PAGES) +
                             (zone_end_pfn(z) - __atomic_load_n(&z->online_end_pfn, __ATOMIC_RELAXED));
        long reserve = 0;
        for (int i = 0; i < MAX_NR_ZONES; i++)
            reserve = PA_MAX(reserve, z->lowmem_reserve[i]);
        unsigned long resv = high_wmark_pages(z) + (unsigned long)reserve;
        nr += free > resv ? free - resv : 0;
    }
    return nr + node_nr_dirty(pgdat);
}

unsigned long node_dirty_limit(pg_data_t *pgdat)
{
    return node_dirtyable_memory(pgdat) * pa_opt.dirty_ratio / 100;
}

bool node_dirty_ok(pg_data_t *pgdat)
{
    return node_nr_dirty(pgdat) <= node_dirty_limit(pgdat);
}

void account_page_cleaned(struct pa_page *page, unsigned long nr)
{
    mod_node_dirty(page->nid, -(long)nr);
}

void migrate_dirty_state(struct pa_page *dst, struct pa_page *src)
{
    if (!PageDirty(src))
        return;
    SetPageDirty(dst);
    if (dst->nid != src->nid) {
        long nr = 1L << src->order;   /* a block of any order migrates whole */
        mod_node_dirty(src->nid, -nr);
        mod_node_dirty(dst->nid, nr);
    }
}

/* The block head an owner means: the page itself, or its compound head;
 * NULL (EINVAL) for a bad pointer or a page that is not allocated. */
static struct pa_page *dirty_target(const struct pa_page *page, const char *func)
{
    struct pa_page *head = pa_compound_head(page);
    if (!head) {
        bad_pointer(func, page, "not a page descriptor of the arenas");
        errno = EINVAL;
        return NULL;
    }
    if (page_ref_count(head) <= 0 || PageBuddy(head)) {
        bad_page(head, 0, "dirty state changed on a page that is not allocated");
        errno = EINVAL;
        return NULL;
    }
    return head;
}

PA_API int pa_set_page_dirty(struct pa_page *page)
{
    struct pa_page *head = dirty_target(page, __func__);
    if (!head)
        return -1;
    if (__atomic_fetch_or(&head->flags, 1UL << PG_dirty, __ATOMIC_RELAXED) & (1UL << PG_dirty))
        return 0;
    mod_node_dirty(head->nid, 1L << head->order);
    return 1;
}

PA_API int pa_clear_page_dirty(struct pa_page *page)
{
    struct pa_page *head = dirty_target(page, __func__);
    if (!head)
        return -1;
    if (!(__atomic_fetch_and(&head->flags, ~(1UL << PG_dirty), __ATOMIC_RELAXED) & (1UL << PG_dirty)))
        return 0;
    mod_node_dirty(head->nid, -(1L << head->order));
    return 1;
}

PA_API int pa_page_dirty(const struct pa_page *page)
{
    struct pa_page *head = pa_compound_head(page);
    if (!head) {
        errno = EINVAL;
        return -1;
    }
    return PageDirty(head) ? 1 : 0;
}

PA_API int pa_node_dirty_info(int nid, unsigned long *nr_dirty, unsigned long *limit)
{
    pa_ensure_init();
    if (!pa_initialized() || !node_valid(nid)) {
        errno = EINVAL;
        return -1;
    }
    if (nr_dirty)
        *nr_dirty = node_nr_dirty(NODE_DATA(nid));
    if (limit)
        *limit = node_dirty_limit(NODE_DATA(nid));
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The page descriptor (struct pa_page) and what it is made of: the page
 * and order sizes, migrate types, page flags, the buddy order and the
 * reference count; and how a GFP mask picks a migrate type.  As the
 * kernel's mm_types.h, page-flags.h and the migratetype part of mmzone.h.
 */
#ifndef PAGEALLOC_MM_TYPES_H
#define PAGEALLOC_MM_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <pagealloc/pagealloc.h>

#include "compiler.h"
#include "list.h"

#define PAGE_SHIFT PA_PAGE_SHIFT
#define PAGE_SIZE  PA_PAGE_SIZE
#define MAX_ORDER  PA_MAX_ORDER          /* inclusive, as Linux >= 6.4 */
#define NR_PAGE_ORDERS (MAX_ORDER + 1)
#define MAX_ORDER_NR_PAGES (1UL << MAX_ORDER)
#define pageblock_order PA_MIN(9, MAX_ORDER)
#define pageblock_nr_pages (1UL << pageblock_order)
#define PAGE_ALLOC_COSTLY_ORDER 3

enum migratetype {
    MIGRATE_UNMOVABLE,
    MIGRATE_MOVABLE,
    MIGRATE_RECLAIMABLE,
    MIGRATE_PCPTYPES,            /* the types on the per-CPU lists */
    MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
    MIGRATE_CMA,
    MIGRATE_ISOLATE,             /* not allocatable: being isolated */
    MIGRATE_TYPES
};

static inline bool is_migrate_highatomic(int mt) { return mt == MIGRATE_HIGHATOMIC; }
static inline bool is_migrate_isolate(int mt) { return mt == MIGRATE_ISOLATE; }
static inline bool is_migrate_cma(int mt) { return mt == MIGRATE_CMA; }
/* Types whose pageblocks may merge with each other above pageblock order. */
static inline bool migratetype_is_mergeable(int mt) { return mt < MIGRATE_PCPTYPES; }

#define GFP_MOVABLE_MASK  (PA_GFP_RECLAIMABLE | PA_GFP_MOVABLE)
#define GFP_MOVABLE_SHIFT 3

extern PA_HIDDEN bool page_group_by_mobility_disabled;                /* page_alloc.c */

static inline int gfp_migratetype(pa_gfp_t gfp)
{
    /* with grouping off, everything is one type and fallbacks never happen */
    if (unlikely(page_group_by_mobility_disabled))
        return MIGRATE_UNMOVABLE;
    /* MOVABLE -> 1, RECLAIMABLE -> 2 (both set is rejected by prepare_alloc_pages) */
    return (int)((gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT);
}

enum pageflags {
    PG_buddy,      /* head of a free block in a free_area; private = order */
    PG_head,       /* head of a compound page */
    PG_tail,       /* tail of a compound page; private = head */
    PG_lru,        /* on an LRU helper list (reclaim.c) */
    PG_active,
    PG_movable,    /* owner registered pa_movable_ops (mapping = ops) */
    PG_isolated,   /* isolated for migration */
    PG_dirty,
    PG_guard,      /* debug guard page */
    PG_referenced, /* LRU helper: accessed once while inactive (mark_page_accessed) */
    PG_dhugetlb,   /* belongs to a memory cgroup's dynamic hugetlb pool (dhugetlb.c) */
    PG_reported,   /* free block given back to the OS (page_reporting.c): reads as zeros;
                    * on a free block's head, or on a page taken from one until prep_new_page */
    NR_PAGEFLAGS
};

struct pa_page {
    unsigned long flags;          /* PG_* bits; changed atomically unless noted */
    struct list_head lru;         /* free_list, pcp list or LRU helper list */
    unsigned long private;        /* buddy order; compound tail: head pointer */
    const void *mapping;          /* movable ops */
    void *owner;                  /* movable owner */
    atomic_int _refcount;         /* 0 when free; 1 after allocation */
    uint8_t order;                /* allocation (or compound) order, kept on the head */
    uint8_t zid;                  /* zone index within the node */
    uint16_t nid;                 /* node id */
    unsigned long memcg_data;     /* charged memory cgroup (PA_GFP_ACCOUNT) */
};
_Static_assert(sizeof(struct pa_page) == 64, "struct pa_page must be 64 bytes");

#define PAGEFLAG_FNS(uname, lname)                                                        \
    static inline bool Page##uname(const struct pa_page *p)                               \
    {                                                                                     \
        return (__atomic_load_n(&p->flags, __ATOMIC_RELAXED) >> PG_##lname) & 1;          \
    }                                                                                     \
    static inline void SetPage##uname(struct pa_page *p)                                  \
    {                                                                                     \
        __atomic_fetch_or(&p->flags, 1UL << PG_##lname, __ATOMIC_RELAXED);                \
    }                                                                                     \
    static inline void ClearPage##uname(struct pa_page *p)                                \
    {                                                                                     \
        __atomic_fetch_and(&p->flags, ~(1UL << PG_##lname), __ATOMIC_RELAXED);            \
    }                                                                                     \
    /* non-atomic forms: only where no one else can touch the flags */                   \
    static inline void __SetPage##uname(struct pa_page *p)                                \
    {                                                                                     \
        __atomic_store_n(&p->flags, __atomic_load_n(&p->flags, __ATOMIC_RELAXED) |        \
                         (1UL << PG_##lname), __ATOMIC_RELAXED);                           \
    }                                                                                     \
    static inline void __ClearPage##uname(struct pa_page *p)                              \
    {                                                                                     \
        __atomic_store_n(&p->flags, __atomic_load_n(&p->flags, __ATOMIC_RELAXED) &        \
                         ~(1UL << PG_##lname), __ATOMIC_RELAXED);                          \
    }

PAGEFLAG_FNS(Buddy, buddy)
PAGEFLAG_FNS(Head, head)
PAGEFLAG_FNS(Tail, tail)
PAGEFLAG_FNS(LRU, lru)
PAGEFLAG_FNS(Active, active)
PAGEFLAG_FNS(Movable, movable)
PAGEFLAG_FNS(Isolated, isolated)
PAGEFLAG_FNS(Dirty, dirty)
PAGEFLAG_FNS(Guard, guard)
PAGEFLAG_FNS(Referenced, referenced)
PAGEFLAG_FNS(Dhugetlb, dhugetlb)
PAGEFLAG_FNS(Reported, reported)

/* READ_ONCE: the compaction scanners read it without the zone lock, as a hint */
static inline unsigned int buddy_order(const struct pa_page *p) { return (unsigned int)READ_ONCE(p->private); }
static inline void set_buddy_order(struct pa_page *p, unsigned int order)
{
    WRITE_ONCE(p->private, order);
    __SetPageBuddy(p);
}
static inline int page_ref_count(const struct pa_page *p)
{
    return atomic_load_explicit(&p->_refcount, memory_order_relaxed);
}
static inline void set_page_count(struct pa_page *p, int v)
{
    atomic_store_explicit(&p->_refcount, v, memory_order_relaxed);
}

#endif /* PAGEALLOC_MM_TYPES_H */

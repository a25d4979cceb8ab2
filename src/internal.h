/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc internals.  Not installed.  Sections are headed by the file
 * that defines what follows, as mm/internal.h and mimalloc/internal.h do.
 * Names follow the kernel's mm/ so that a reader of mm/page_alloc.c finds
 * the way at once.
 */
#ifndef PAGEALLOC_INTERNAL_H
#define PAGEALLOC_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/rseq.h>
#include <sys/types.h>

#include <pagealloc/pagealloc.h>

#include "lockdep.h"

/* ------------------------------------------------------------------ */
/* Basics                                                              */
/* ------------------------------------------------------------------ */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define PA_COLD     __attribute__((cold, noinline))
#define PA_UNUSED   __attribute__((unused))
#define PA_ALIGNED(n) __attribute__((aligned(n)))
#define PA_CACHELINE 64

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PA_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)

#define PAGE_SHIFT PA_PAGE_SHIFT
#define PAGE_SIZE  PA_PAGE_SIZE
#define MAX_ORDER  PA_MAX_ORDER          /* inclusive, as Linux >= 6.4 */
#define NR_PAGE_ORDERS (MAX_ORDER + 1)
#define MAX_ORDER_NR_PAGES (1UL << MAX_ORDER)
#define pageblock_order PA_MIN(9, MAX_ORDER)
#define pageblock_nr_pages (1UL << pageblock_order)
#define PAGE_ALLOC_COSTLY_ORDER 3
#define MAX_NR_ZONES PA_MAX_NR_ZONES
#define MAX_NUMNODES PA_MAX_NUMNODES
#define NUMA_NO_NODE (-1)
#define LOCAL_DISTANCE 10
#define REMOTE_DISTANCE 20
#define PA_MAX_CPUS 1024

/* READ_ONCE/WRITE_ONCE, as the kernel's: one untorn access the compiler may
 * neither merge nor split.  For fields written under a lock but read
 * without one as hints (list_empty on free lists, nr_free, pcp count and
 * high, page->order seen by the compaction scanner): relaxed atomics, so
 * they are plain moves on x86 and no data race for TSan. */
#define READ_ONCE(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Relaxed counters: plain loads and stores, safe to read from any thread
 * (no torn values, no data race for TSan) and free of lock prefixes when
 * only one writer (the owning thread, or the holder of a lock) updates. */
static inline unsigned long pa_relaxed_load(const unsigned long *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void pa_relaxed_add(unsigned long *p, long delta)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (unsigned long)delta,
                     __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Lists (the kernel's list_head)                                      */
/* ------------------------------------------------------------------ */

struct list_head {
    struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *h)
{
    WRITE_ONCE(h->next, h);
    h->prev = h;
}
/* READ_ONCE: callers test free lists without the zone lock, as hints */
static inline bool list_empty(const struct list_head *h) { return READ_ONCE(h->next) == h; }
static inline void __list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
    next->prev = n;
    n->next = next;
    n->prev = prev;
    WRITE_ONCE(prev->next, n);
}
static inline void list_add(struct list_head *n, struct list_head *h) { __list_add(n, h, h->next); }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __list_add(n, h->prev, h); }
static inline void list_del(struct list_head *e)
{
    e->next->prev = e->prev;
    WRITE_ONCE(e->prev->next, e->next);
    e->next = e->prev = NULL;
}
static inline void list_move(struct list_head *e, struct list_head *h) { list_del(e); list_add(e, h); }
static inline void list_move_tail(struct list_head *e, struct list_head *h) { list_del(e); list_add_tail(e, h); }
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_last_entry(h, type, member) list_entry((h)->prev, type, member)
#define list_for_each(pos, h) for (pos = (h)->next; pos != (h); pos = pos->next)

/* ------------------------------------------------------------------ */
/* Locks                                                               */
/* ------------------------------------------------------------------ */

/* Zone and per-CPU locks: a test-and-test-and-set spinlock that yields
 * after a short spin, so a preempted holder on a 2-CPU machine does not
 * burn the other CPU's time slice.  Its class and sub-order are for the
 * lock order checker (lockdep.h). */
typedef struct {
    atomic_int locked;
    uint16_t class;
    uint16_t sub;
} pa_spinlock_t;

void pa_spin_lock_slow(pa_spinlock_t *l);           /* page_alloc.c */

static inline void spin_lock_init(pa_spinlock_t *l, enum lock_class c, unsigned int sub)
{
    atomic_init(&l->locked, 0);
    l->class = (uint16_t)c;
    l->sub = (uint16_t)sub;
}
static inline bool spin_trylock(pa_spinlock_t *l)
{
    bool ok = atomic_load_explicit(&l->locked, memory_order_relaxed) == 0 &&
              !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire);
    if (ok)
        lockdep_acquired_try((enum lock_class)l->class, l->sub);
    return ok;
}
static inline void spin_lock(pa_spinlock_t *l)
{
    lockdep_acquire((enum lock_class)l->class, l->sub);
    if (likely(!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire)))
        return;
    pa_spin_lock_slow(l);
}
static inline void spin_unlock(pa_spinlock_t *l)
{
    lockdep_release((enum lock_class)l->class, l->sub);
    atomic_store_explicit(&l->locked, 0, memory_order_release);
}

/* ------------------------------------------------------------------ */
/* Migrate types, pageblocks, GFP decoding                             */
/* ------------------------------------------------------------------ */

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

extern const char *const migratetype_names[MIGRATE_TYPES]; /* buddy.c */

static inline bool is_migrate_highatomic(int mt) { return mt == MIGRATE_HIGHATOMIC; }
static inline bool is_migrate_isolate(int mt) { return mt == MIGRATE_ISOLATE; }
static inline bool is_migrate_cma(int mt) { return mt == MIGRATE_CMA; }
/* Types whose pageblocks may merge with each other above pageblock order. */
static inline bool migratetype_is_mergeable(int mt) { return mt < MIGRATE_PCPTYPES; }

#define GFP_MOVABLE_MASK  (PA_GFP_RECLAIMABLE | PA_GFP_MOVABLE)
#define GFP_MOVABLE_SHIFT 3

extern bool page_group_by_mobility_disabled;                /* page_alloc.c */

static inline int gfp_migratetype(pa_gfp_t gfp)
{
    /* with grouping off, everything is one type and fallbacks never happen */
    if (unlikely(page_group_by_mobility_disabled))
        return MIGRATE_UNMOVABLE;
    /* MOVABLE -> 1, RECLAIMABLE -> 2 (both set is rejected by prepare_alloc_pages) */
    return (int)((gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT);
}

/* gfp_zone(): the highest zone a request may use; -1 for a combination
 * the kernel's GFP_ZONE_BAD table rejects. */
int gfp_zone(pa_gfp_t gfp);                       /* node.c */

/* ------------------------------------------------------------------ */
/* Page descriptors                                                    */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Zones and nodes                                                     */
/* ------------------------------------------------------------------ */

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO, NR_WMARK };

/* Zone counters kept exactly, under the zone lock (readers need no lock). */
enum zone_stat_item {
    NR_FREE_PAGES,
    NR_MLOCK,              /* pages of the zone pinned with mlock (ZONE_DMA) */
    NR_FREE_CMA_PAGES,
    NR_GUARD_PAGES,        /* PAGEALLOC_DEBUG=guard: pages held as guards, not free */
    NR_REPORTED_PAGES,     /* free pages in PageReported blocks: given back to the OS */
    NR_VM_ZONE_STAT_ITEMS
};

/* Counted per allocation, per zone, in the calling thread's counters. */
enum numa_stat_item {
    NUMA_HIT,
    NUMA_MISS,
    NUMA_FOREIGN,
    NUMA_INTERLEAVE_HIT,
    NUMA_LOCAL,
    NUMA_OTHER,
    NR_VM_NUMA_EVENT_ITEMS
};

/* Global events (/proc/vmstat), counted in the calling thread's counters.
 * PGALLOC_* are per zone type and must stay in enum pa_zone_type order. */
enum vm_event_item {
    PGALLOC_DMA,
    PGALLOC_DMA32,
    PGALLOC_NORMAL,
    PGALLOC_MOVABLE,
    PGFREE,
    /* reclaim.c: ALLOCSTALL_* per zone type, in enum pa_zone_type order */
    ALLOCSTALL_DMA,
    ALLOCSTALL_DMA32,
    ALLOCSTALL_NORMAL,
    ALLOCSTALL_MOVABLE,
    PGSCAN_KSWAPD,         /* objects/pages scanned by kswapd */
    PGSCAN_DIRECT,         /* ... by direct reclaim */
    PGSTEAL_KSWAPD,        /* pages freed by kswapd's reclaim */
    PGSTEAL_DIRECT,        /* ... by direct reclaim */
    PAGEOUTRUN,            /* kswapd reclaim passes */
    SLABS_SCANNED,         /* objects asked of shrinkers */
    KSWAPD_LOW_WMARK_HIT_QUICKLY,
    KSWAPD_HIGH_WMARK_HIT_QUICKLY,
    /* compaction.c */
    COMPACTMIGRATE_SCANNED,    /* the kernel's names: "compact_migrate_scanned" ... */
    COMPACTFREE_SCANNED,
    COMPACTISOLATED,
    COMPACTSTALL,
    COMPACTFAIL,
    COMPACTSUCCESS,
    KCOMPACTD_WAKE,            /* "compact_daemon_wake" */
    KCOMPACTD_MIGRATE_SCANNED,
    KCOMPACTD_FREE_SCANNED,
    PGMIGRATE_SUCCESS,
    PGMIGRATE_FAIL,
    /* oom.c */
    OOM_KILL,
    /* cma.c */
    CMA_ALLOC_SUCCESS,
    CMA_ALLOC_FAIL,
    /* ours */
    PA_SECTIONS_ONLINED,   /* "pa_sections_onlined": hotplug analogue */
    PA_ALLOC_FAIL,         /* "pa_alloc_fail": requests that returned NULL */
    PA_BAD_PAGE,           /* "pa_bad_page": refused frees and bad-page reports */
    PA_FAIL_INJECTED,      /* "pa_fail_injected": failures PAGEALLOC_FAIL made */
    /* page_reporting.c, pressure.c */
    PA_PAGE_REPORTS,       /* "pa_page_reports": batches of free blocks given back to the OS */
    PA_PAGES_REPORTED,     /* "pa_pages_reported": pages in them */
    PA_PRESSURE_EVENTS,    /* "pa_pressure_events": memory pressure the library reacted to */
    PA_SECTIONS_OFFLINED,  /* "pa_sections_offlined": free sections back to the reservation */
    NR_VM_EVENT_ITEMS
};

/* Per-CPU page lists: orders 0..PAGE_ALLOC_COSTLY_ORDER and pageblock_order,
 * one list per pcp migratetype each. */
#define NR_PCP_ORDERS (PAGE_ALLOC_COSTLY_ORDER + 2)
#define NR_PCP_LISTS  (MIGRATE_PCPTYPES * NR_PCP_ORDERS)
#define PCPF_PREV_FREE_HIGH_ORDER 0x1u
#define PCP_BATCH_SCALE_MAX 5        /* CONFIG_PCP_BATCH_SCALE_MAX */

struct per_cpu_pages {
    int locked;                  /* taken by pcp_trylock on the fast path */
    int remote;                  /* a remote drainer wants it: local trylocks fail */
    int count;                   /* pages on the lists */
    int high;                    /* drain above this; tuned in [high_min, high_max] */
    int high_min, high_max;
    int batch;                   /* pages per refill/drain */
    uint8_t flags;               /* PCPF_* */
    uint8_t alloc_factor;        /* refill batch = batch << alloc_factor */
    short free_count;            /* recent frees: size of the next bulk free */
    struct list_head lists[NR_PCP_LISTS];
} PA_ALIGNED(PA_CACHELINE);

static inline bool pcp_allowed_order(unsigned int order)
{
    return order <= PAGE_ALLOC_COSTLY_ORDER || order == pageblock_order;
}
static inline int order_to_pindex(int mt, unsigned int order)
{
    unsigned int oi = order <= PAGE_ALLOC_COSTLY_ORDER ? order : PAGE_ALLOC_COSTLY_ORDER + 1;
    return (int)oi * MIGRATE_PCPTYPES + mt;
}
static inline unsigned int pindex_to_order(int pindex)
{
    unsigned int oi = (unsigned int)pindex / MIGRATE_PCPTYPES;
    return oi <= PAGE_ALLOC_COSTLY_ORDER ? oi : pageblock_order;
}

/* Each free_area holds free blocks of one order, one list per migratetype. */
struct free_area {
    struct list_head free_list[MIGRATE_TYPES];
    unsigned long nr_free;
};

struct pglist_data;
struct alloc_context;

struct zone {
    /* read-mostly: the fast path's watermark check */
    unsigned long _watermark[NR_WMARK];
    unsigned long watermark_boost;
    unsigned long nr_reserved_highatomic;
    /* LOW + boost + the highatomic reserve: the order-0 fast path's whole
     * watermark check is NR_FREE_PAGES > wmark_fast + lowmem_reserve[i].
     * Kept by zone_update_wmark_fast() wherever one of them changes. */
    unsigned long wmark_fast;
    int boosted_watermark;           /* ZONE_BOOSTED_WATERMARK: wake kswapd after this fallback */
    unsigned long flags;             /* ZONE_RECLAIM_ACTIVE, ZONE_BELOW_HIGH (atomic bit operations) */
    long lowmem_reserve[MAX_NR_ZONES];
    struct pglist_data *zone_pgdat;
    int node;
    enum pa_zone_type zid;
    unsigned int mag_slot;           /* (node * MAX_NR_ZONES + zid) * MIGRATE_PCPTYPES */
    const char *name;

    unsigned long zone_start_pfn;
    unsigned long spanned_pages;     /* the zone's whole range */
    unsigned long present_pages;     /* = spanned: capacity that can come online */
    unsigned long managed_pages;     /* what the buddy may manage (= present) */
    unsigned long online_end_pfn;    /* [zone_start_pfn, online_end_pfn) is online */
    unsigned long cma_pages;         /* pages of the zone in CMA areas (cma.c) */

    /* per-CPU page lists: pcp.c (NULL until set up) */
    struct per_cpu_pages *per_cpu_pageset;
    /* deferral and scanner positions: compaction.c */
    struct zone_compact *compact;

    /* write-intensive: the buddy, under lock */
    pa_spinlock_t lock PA_ALIGNED(PA_CACHELINE);
    struct free_area free_area[NR_PAGE_ORDERS];
    unsigned long vm_stat[NR_VM_ZONE_STAT_ITEMS];   /* written under lock, read relaxed */
} PA_ALIGNED(PA_CACHELINE);

static inline unsigned long zone_end_pfn(const struct zone *z) { return z->zone_start_pfn + z->spanned_pages; }
static inline bool populated_zone(const struct zone *z) { return z->present_pages != 0; }
static inline bool zone_can_grow(const struct zone *z)
{
    return __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE) < zone_end_pfn(z);
}
static inline unsigned long zone_page_state(const struct zone *z, enum zone_stat_item i)
{
    long v = (long)pa_relaxed_load(&z->vm_stat[i]);
    return v < 0 ? 0 : (unsigned long)v;
}
/* Caller holds z->lock. */
static inline void __mod_zone_page_state(struct zone *z, enum zone_stat_item i, long delta)
{
    pa_relaxed_add(&z->vm_stat[i], delta);
}
static inline unsigned long wmark_pages(const struct zone *z, enum zone_watermarks w)
{
    return __atomic_load_n(&z->_watermark[w], __ATOMIC_RELAXED) +
           __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED);
}
static inline void zone_update_wmark_fast(struct zone *z)
{
    __atomic_store_n(&z->wmark_fast,
                     wmark_pages(z, WMARK_LOW) + __atomic_load_n(&z->nr_reserved_highatomic, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
}
static inline unsigned long min_wmark_pages(const struct zone *z) { return wmark_pages(z, WMARK_MIN); }
static inline unsigned long low_wmark_pages(const struct zone *z) { return wmark_pages(z, WMARK_LOW); }
static inline unsigned long high_wmark_pages(const struct zone *z) { return wmark_pages(z, WMARK_HIGH); }

/* Zone state bits (the kernel's enum zone_flags, the two the pcp reads). */
enum zone_flags {
    ZONE_BELOW_HIGH,       /* free pages fell below HIGH: pcp high shrinks on frees */
    ZONE_RECLAIM_ACTIVE,   /* kswapd is reclaiming the node: pcp lists stay small */
};
static inline bool zone_test_flag(const struct zone *z, enum zone_flags bit)
{
    return __atomic_load_n(&z->flags, __ATOMIC_RELAXED) & (1UL << bit);
}
static inline void zone_set_flag(struct zone *z, enum zone_flags bit)
{
    if (!zone_test_flag(z, bit))   /* no lock-prefixed write while it is set */
        __atomic_fetch_or(&z->flags, 1UL << bit, __ATOMIC_RELAXED);
}
static inline void zone_clear_flag(struct zone *z, enum zone_flags bit)
{
    if (zone_test_flag(z, bit))
        __atomic_fetch_and(&z->flags, ~(1UL << bit), __ATOMIC_RELAXED);
}

struct zoneref {
    struct zone *zone;
    int zone_idx;
};

enum { ZONELIST_FALLBACK, ZONELIST_NOFALLBACK, MAX_ZONELISTS };

struct zonelist {
    /* node order by distance, zones high to low within each; NULL-terminated */
    struct zoneref _zonerefs[MAX_NUMNODES * MAX_NR_ZONES + 1];
};

/* What backs a section of the arena. */
enum pa_backing {
    PA_BACKING_NONE,
    PA_BACKING_HUGETLB_1G,
    PA_BACKING_HUGETLB_2M,
    PA_BACKING_THP,
    PA_BACKING_4K,
    PA_NR_BACKINGS
};
extern const char *const pa_backing_names[PA_NR_BACKINGS];    /* arena.c */

typedef struct pglist_data {
    struct zone node_zones[MAX_NR_ZONES];
    struct zonelist node_zonelists[MAX_ZONELISTS];
    int nr_zones;                    /* highest populated zone index + 1 */
    int node_id;
    int phys_node;                   /* the real node behind it (libnuma id) */
    unsigned long node_start_pfn;
    unsigned long node_spanned_pages; /* the node's slot in the pfn space */
    unsigned long node_present_pages;
    size_t node_mem_bytes;           /* the node's real memory (or its share) */
    unsigned long nr_sections_online;
    unsigned long backing_pages[PA_NR_BACKINGS]; /* online pages by backing */
    struct mutex grow_lock;          /* serialises bringing sections online */
    struct pgdat_reclaim *reclaim;   /* kswapd state: reclaim.c */
    struct pgdat_compact *compact;   /* kcompactd state: compaction.c */
    unsigned long nr_dirty;          /* NR_FILE_DIRTY: pages marked dirty (dirty.c), atomic */
} pg_data_t;

/* One section of the arena: the unit that comes online (mmap'd, bound). */
struct pa_section {
    char *addr;                 /* start of its memory */
    uint8_t backing;            /* enum pa_backing; PA_BACKING_NONE: offline */
    uint8_t online;             /* published with release after descriptors exist */
    uint16_t nid;
    uint32_t nr_pages;          /* may be less than a full section at a node's end */
};

/* The whole memory model: pfn space, descriptors, sections, nodes. */
struct pa_mm {
    atomic_int initialized;
    int nr_nodes;
    pg_data_t *node_data[MAX_NUMNODES];
    struct zone *zone_table[MAX_NUMNODES * MAX_NR_ZONES]; /* by nid * MAX_NR_ZONES + zid */
    uint8_t distance[MAX_NUMNODES][MAX_NUMNODES];
    unsigned long node_cpus[MAX_NUMNODES][PA_MAX_CPUS / 64]; /* cpumask of each node */
    int16_t cpu_to_node[PA_MAX_CPUS];
    int nr_cpus;                 /* possible CPUs (ids 0..nr_cpus-1) */
    bool mbind_nodes;            /* bind sections to real nodes (more than one real node) */
    pa_nodemask_t cdm_nodes;     /* memory-only nodes allocations skip (PAGEALLOC_CDM_NODES) */
    bool has_cdm;
    int policy_zone;             /* MPOL_BIND applies to requests for this zone and above */
    bool emulated;               /* PAGEALLOC_NUMA_EMULATE in force */

    /* pfn space: [0, main_pages) maps to main_base linearly; the DMA32 zone
     * (below 4 GiB) is [low_start_pfn, max_pfn) mapped at low_base. */
    struct pa_page *pages;       /* descriptors, indexed by pfn */
    char *main_base;
    unsigned long main_pages;
    char *low_base;
    unsigned long low_start_pfn;
    unsigned long max_pfn;

    unsigned int section_shift;  /* pages per section = 1 << section_shift */
    struct pa_section *sections; /* indexed by pfn >> section_shift */
    unsigned long nr_sections;
    uint8_t *pageblock_flags;    /* migratetype (low 4 bits) + skip bit, per pageblock */
    enum pa_backing first_backing; /* the first backing to try for new sections */
};

extern struct pa_mm pa_mm;                                     /* page_alloc.c */

static inline pg_data_t *NODE_DATA(int nid) { return pa_mm.node_data[nid]; }
static inline struct pa_page *pfn_to_page(unsigned long pfn) { return pa_mm.pages + pfn; }
static inline unsigned long page_to_pfn(const struct pa_page *p) { return (unsigned long)(p - pa_mm.pages); }
static inline struct zone *page_zone(const struct pa_page *p)
{
    return pa_mm.zone_table[(unsigned int)p->nid * MAX_NR_ZONES + p->zid];
}
static inline char *pfn_to_virt(unsigned long pfn)
{
    if (likely(pfn < pa_mm.main_pages))
        return pa_mm.main_base + (pfn << PAGE_SHIFT);
    return pa_mm.low_base + ((pfn - pa_mm.low_start_pfn) << PAGE_SHIFT);
}
static inline void *page_address(const struct pa_page *p) { return pfn_to_virt(page_to_pfn(p)); }
/* pfn of an address inside the pfn space, or ULONG_MAX. No online check. */
static inline unsigned long virt_to_pfn(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    uintptr_t off = a - (uintptr_t)pa_mm.main_base;
    if (likely(off < (pa_mm.main_pages << PAGE_SHIFT)))
        return off >> PAGE_SHIFT;
    off = a - (uintptr_t)pa_mm.low_base;
    if (pa_mm.low_base && off < ((pa_mm.max_pfn - pa_mm.low_start_pfn) << PAGE_SHIFT))
        return pa_mm.low_start_pfn + (off >> PAGE_SHIFT);
    return ~0UL;
}
static inline struct pa_section *pfn_to_section(unsigned long pfn)
{
    return &pa_mm.sections[pfn >> pa_mm.section_shift];
}
/* The pfn is inside an online section (its descriptor memory exists). */
static inline bool pfn_valid(unsigned long pfn)
{
    return pfn < pa_mm.max_pfn &&
           __atomic_load_n(&pfn_to_section(pfn)->online, __ATOMIC_ACQUIRE);
}

/* Pageblock flags: migratetype in the low bits, the compaction skip hint above. */
#define PB_MIGRATETYPE_MASK 0x0fu
#define PB_MIGRATE_SKIP     0x10u
static inline int get_pfnblock_migratetype(unsigned long pfn)
{
    return __atomic_load_n(&pa_mm.pageblock_flags[pfn >> pageblock_order], __ATOMIC_RELAXED) &
           PB_MIGRATETYPE_MASK;
}
static inline int get_pageblock_migratetype(const struct pa_page *p)
{
    return get_pfnblock_migratetype(page_to_pfn(p));
}
/* Caller holds the zone lock (or owns the block exclusively). */
static inline void set_pageblock_migratetype(struct pa_page *p, int mt)
{
    uint8_t *f = &pa_mm.pageblock_flags[page_to_pfn(p) >> pageblock_order];
    uint8_t v = (uint8_t)((__atomic_load_n(f, __ATOMIC_RELAXED) & ~PB_MIGRATETYPE_MASK) | (unsigned)mt);
    __atomic_store_n(f, v, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* os.c: the only file that calls mmap, madvise, mbind, libnuma        */
/* ------------------------------------------------------------------ */

struct pa_os_topology {
    int nr_nodes;                       /* real nodes with memory */
    int node_id[MAX_NUMNODES];          /* libnuma ids, dense index -> id */
    size_t node_mem[MAX_NUMNODES];      /* bytes */
    uint8_t distance[MAX_NUMNODES][MAX_NUMNODES];
    int nr_cpus;
    int16_t cpu_to_node[PA_MAX_CPUS];   /* dense node index, -1 if none */
};

int pa_os_discover(struct pa_os_topology *t);
/* Reserve address space: PROT_NONE, MAP_NORESERVE, aligned; below4g uses
 * MAP_32BIT.  NULL on failure (errno). */
void *pa_os_reserve(size_t size, size_t align, bool below4g);
/* The largest reservation up to want bytes that the address space allows. */
size_t pa_os_max_reservation(size_t want);
void pa_os_unreserve(void *addr, size_t size);
/* Make a reservation readable: untouched pages read as zeros (the shared
 * zero page), at no memory cost. */
int pa_os_protect_read(void *addr, size_t size);
/* Guard pages: PROT_NONE (guard) or back to read-write; 0 or -1 with errno. */
int pa_os_guard(void *addr, size_t size, bool guard);
/* Commit [addr, addr+size) of a reservation as read-write memory, trying
 * backings from `first` down the hugetlb -> THP -> 4 KiB chain.  Returns the
 * backing obtained, or PA_BACKING_NONE with errno. */
enum pa_backing pa_os_commit(void *addr, size_t size, enum pa_backing first, bool prefault);
/* Bind to a real node with mbind (MPOL_BIND); 0 or -1 with errno. */
int pa_os_bind(void *addr, size_t size, int phys_node);
int pa_os_mlock(void *addr, size_t size);
/* Give a free range of a section (backed by b) back to the OS: it reads as
 * zeros afterwards.  0, or -1 with errno (EINVAL: the backing cannot). */
int pa_os_release(void *addr, size_t size, enum pa_backing b);
/* Put a committed range back to the reservation (readable: zeros, as
 * offline descriptors).  0, or -1 with errno. */
int pa_os_decommit(void *addr, size_t size, bool readable);
/* Fault the range in now (MADV_POPULATE_WRITE); best effort. */
void pa_os_prefault(void *addr, size_t size);
/* membarrier(2): register the process (0 or -1), and run a barrier on every
 * CPU running one of its threads; with rseq, also restart their critical
 * sections. */
int pa_os_membarrier_register(bool rseq);
void pa_os_membarrier(bool rseq);
/* Anonymous read-write memory for metadata (never from the arenas). */
void *pa_os_alloc(size_t size);
void pa_os_free(void *addr, size_t size);
int pa_os_getcpu_slow(void);
unsigned long long pa_os_virt_to_phys(const void *addr);
/* Free hugepages of the given size in KiB from sysfs, of one real node
 * (or of the machine with phys_node -1); 0 if unknown. */
unsigned long pa_os_free_hugepages(int phys_node, unsigned long size_kb);
size_t pa_os_total_memory(void);

/* The current CPU, from glibc's registered rseq area (under 1 ns); falls
 * back to sched_getcpu() where rseq is not registered. */
static inline int pa_cpu_id(void)
{
    if (likely(__rseq_size > 0)) {
        const struct rseq *rs =
            (const struct rseq *)(void *)((char *)__builtin_thread_pointer() + __rseq_offset);
        int cpu = (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
        if (likely(cpu >= 0))
            return cpu;
    }
    return pa_os_getcpu_slow();
}

static inline int numa_node_id(void)
{
    int cpu = pa_cpu_id();
    return (cpu >= 0 && cpu < PA_MAX_CPUS) ? pa_mm.cpu_to_node[cpu] : 0;
}

/* ------------------------------------------------------------------ */
/* options.c: every getenv and every configuration value               */
/* ------------------------------------------------------------------ */

struct pa_options {
    size_t node_size;                  /* 0: half of each node's memory */
    enum pa_hugepages hugepages;       /* never UNSET after load */
    int numa_emulate;                  /* 0: off */
    size_t movablecore;                /* bytes per node, or ... */
    unsigned int movablecore_percent;  /* ... percent of each node */
    size_t dma_size;
    size_t dma32_size;
    char policy[256];                  /* "" = default */
    unsigned int debug;                /* PA_DEBUG_* */
    unsigned long min_free_kbytes;     /* 0: kernel formula */
    unsigned int watermark_scale_factor;
    unsigned int watermark_boost_factor; /* PAGEALLOC_WATERMARK_BOOST_FACTOR, 0 = off */
    char cdm_nodes[256];               /* PAGEALLOC_CDM_NODES: memory-only nodes */
    bool panic_on_oom;                 /* PAGEALLOC_PANIC_ON_OOM: abort with the report */
    char fail[256];                    /* PAGEALLOC_FAIL: fault injection spec, "" = off */
    unsigned int compaction_proactiveness; /* PAGEALLOC_COMPACTION_PROACTIVENESS 0..100 */
    unsigned int extfrag_threshold;    /* PAGEALLOC_EXTFRAG_THRESHOLD 0..1000 */
    unsigned int stats_interval_ms;    /* PAGEALLOC_STATS_INTERVAL: publish reports for pagealloc-stat, 0 = off */
    char stats[4096];                  /* "" = off, "stderr", or a path */
    bool prefault;                     /* PAGEALLOC_PREFAULT: populate sections as they come online */
    unsigned int pcp_mode;             /* PAGEALLOC_PCP: enum pa_pcp_mode, never UNSET after load */
    bool mobility_grouping;            /* PAGEALLOC_MOBILITY_GROUPING: off = page_group_by_mobility_disabled */
    bool pcp_magazine;                 /* PAGEALLOC_PCP_MAGAZINE: per-thread order-0 magazines */
    char cma[256];                     /* PAGEALLOC_CMA: "SIZE[@NODE],...", "" = no CMA areas */
    unsigned int dirty_ratio;          /* PAGEALLOC_DIRTY_RATIO: vm.dirty_ratio, percent */
    bool dynamic_hugetlb;              /* PAGEALLOC_DYNAMIC_HUGETLB: memcg pools allowed */
    unsigned int release_ms;           /* PAGEALLOC_RELEASE: report delay; PA_RELEASE_OFF = off */
    unsigned int release_order;        /* PAGEALLOC_RELEASE_ORDER: page_reporting_order */
    bool pressure;                     /* PAGEALLOC_PRESSURE: react to the cgroup's memory pressure */
    bool secure;                       /* AT_SECURE: environment was ignored */
};

extern struct pa_options pa_opt;
#define PA_RELEASE_OFF 0xffffffffu     /* pa_opt.release_ms: "off" */

/* Defaults < environment < cfg.  Prints one message per bad value, naming
 * the variable and the default used; never fails. */
void pa_options_load(const struct pa_config *cfg);
unsigned int pa_options_debug(void);   /* for the shim */
const char *pa_option_env(size_t i);   /* row i's variable, NULL past the end */
const char *pa_option_cfg_field(size_t i);  /* row i's pa_config member */

/* "64M", "1G", "4096", "25%": bytes, or a percentage when percent != NULL.
 * 0, or -1 with EINVAL on bad syntax (ERANGE on overflow). */
int pa_parse_size(const char *s, size_t *bytes, unsigned int *percent);

/* ------------------------------------------------------------------ */
/* thread.c: per-thread state and counters                             */
/* ------------------------------------------------------------------ */

/*
 * A magazine: order-0 pages of one zone and migratetype cached by one
 * thread in front of the pcp: the thread's part of that zone's pcp, and
 * what the common order-0 allocation and free touch (no lock, no list, no
 * watermark: its pages were taken from the zone when it was filled, as a
 * pcp list's are).  Filled from the pcp by the general path's rmqueue and
 * flushed to it half a magazine at a time; `high` (set from the pcp's
 * high_min when the magazine is first filled or flushed) bounds it, so a
 * small zone has small magazines.  Remote drains use the owner protocol of
 * pcp_trylock: `mag_busy` set by the owner around each use, `mag_drain`
 * plus membarrier by the drainer (PAGEALLOC_PCP_MAGAZINE=0 turns the layer
 * off).
 *
 * Counting: the owner adds 1 to `pops` for each pop (an allocation); fills
 * add to `moved`, flushes and drains subtract.  A push (a free) counts
 * nothing: pops - pushes = moved - n, so readers derive the pushes exactly
 * (mag_events) and no per-page vm or NUMA counter is touched.  Fields
 * other threads read are written with WRITE_ONCE.
 */
#define PA_MAG_SIZE 507
struct pa_magazine {
    unsigned long n;             /* pages in pages[] */
    unsigned long high;          /* at most this many (0: not yet sized) */
    unsigned long pops;          /* allocations served from pages[] */
    unsigned long moved;         /* pages filled in minus pages flushed out (mod 2^64) */
    struct zone *zone;           /* whose pages these are */
    struct pa_page *pages[PA_MAG_SIZE];
};
_Static_assert(sizeof(struct pa_magazine) == 4096, "a magazine is 4 KiB: a power of two");

/* The order-0 requests a magazine may serve: these GFP bits only (the
 * others need the general path: zeroing, compound, accounting, dirty
 * spreading, THISNODE, reserves); the zone and mobility bits pick the
 * magazine from the thread's table. */
#define MAG_GFP_OK (PA_GFP_ZONEMASK | PA_GFP_RECLAIMABLE | PA_GFP_IO | PA_GFP_FS | PA_GFP_RECLAIM | \
                    PA_GFP_NOWARN | PA_GFP_RETRY_MAYFAIL | PA_GFP_NOFAIL | PA_GFP_NORETRY | PA_GFP_HARDWALL | \
                    PA_GFP_HIGH | PA_GFP_ATOMIC_BIT | PA_GFP_NOMEMALLOC)
#define MAG_GFP_INDEX (PA_GFP_ZONEMASK | PA_GFP_RECLAIMABLE)
#define NR_MAG_GFP (MAG_GFP_INDEX + 1)
_Static_assert(MAG_GFP_INDEX == 0x1f, "the magazine table is indexed by the low 5 GFP bits");

/* Thread flags, as the kernel's task flags. */
#define PF_MEMALLOC        0x1u   /* inside reclaim: no recursion, may use all reserves */
#define PF_KSWAPD          0x2u   /* a kswapd thread */
#define PF_MEMALLOC_NOIO   0x4u   /* scope: allocations behave as if !__GFP_IO (context.c) */
#define PF_MEMALLOC_NOFS   0x8u   /* scope: allocations behave as if !__GFP_FS (context.c) */

/* Direct compaction of the calling thread captures a freed block of its
 * order here (compaction_capture in __free_one_page). */
struct capture_control {
    struct zone *zone;
    unsigned int order;
    int migratetype;
    struct pa_page *page;      /* set when captured: off every free list, not counted free */
};

/* A memory policy (struct mempolicy). */
struct pa_mempolicy {
    int mode;                    /* PA_MPOL_* */
    pa_nodemask_t nodes;         /* as given, less nodes outside mems_allowed */
    int home_node;               /* NUMA_NO_NODE, or the preferred node of BIND/PREFERRED_MANY */
};

struct pa_thread {
    unsigned long vm_events[NR_VM_EVENT_ITEMS];  /* relaxed; summed by readers */
    unsigned long *numa_events;  /* [nid * MAX_NR_ZONES + zid][NR_VM_NUMA_EVENT_ITEMS] */
    struct per_cpu_pages **pcp;  /* PA_PCP_THREAD: [nid * MAX_NR_ZONES + zid], made on use */
    struct pa_magazine *mags;    /* [(nid * MAX_NR_ZONES + zid) * MIGRATE_PCPTYPES + mt] */
    struct pa_magazine *free_mags;  /* mags while frees may go there (not in reclaim), else NULL */
    /* the magazine that serves each GFP zone/mobility combination: set when
     * the general path fills it for a local-policy request on this CPU's
     * node; NULL sends the request to the general path */
    struct pa_magazine *mag_for_gfp[NR_MAG_GFP];
    int mag_nid;                 /* the CPU's node when the table was filled */
    int mag_busy;                /* the owner is inside its magazines */
    int mag_drain;               /* a drainer wants them: the owner keeps out */
    /* reclaim, compaction, memcg */
    unsigned int pf_flags;       /* PF_* of the thread */
    uint16_t scope_depth[3];     /* open pa_memalloc_*_save scopes: noio, nofs, noreclaim */
    unsigned long *reclaimed;    /* during reclaim: pages this thread frees are counted here */
    struct capture_control *capc;/* during direct compaction: the block being captured */
    struct pa_memcg *memcg;      /* PA_GFP_ACCOUNT charges go here (memcg.c) */
    /* memory policy and cpuset (mempolicy.c) */
    struct pa_mempolicy mpol;    /* the thread's own, if has_mpol */
    bool has_mpol;               /* else the process default applies */
    bool mpol_fast;              /* local policy, no cpuset, no CDM: the fast path may serve */
    bool mems_restricted;        /* mems_allowed is not every node */
    int il_prev;                 /* interleave: the last node used */
    unsigned int il_weight;      /* weighted interleave: pages left on il_prev */
    pa_nodemask_t mems_allowed;
    size_t alloc_size;
    struct pa_thread *next, *prev;
    pid_t tid;
};

extern __thread struct pa_thread *pa_current_thread __attribute__((tls_model("initial-exec")));
struct pa_thread *pa_thread_slow(void);
static inline struct pa_thread *pa_thread(void)
{
    struct pa_thread *t = pa_current_thread;
    return likely(t != NULL) ? t : pa_thread_slow();
}
static inline void count_vm_events(enum vm_event_item item, unsigned long delta)
{
    pa_relaxed_add(&pa_thread()->vm_events[item], (long)delta);
}
static inline void count_vm_event(enum vm_event_item item) { count_vm_events(item, 1); }
static inline void count_numa_event(const struct zone *z, enum numa_stat_item item)
{
    struct pa_thread *t = pa_thread();
    pa_relaxed_add(&t->numa_events[((size_t)z->node * MAX_NR_ZONES + z->zid) * NR_VM_NUMA_EVENT_ITEMS + item], 1);
}
/* Sums over live threads plus those that exited. */
unsigned long sum_vm_event(enum vm_event_item item);
unsigned long sum_zone_numa_event(int nid, int zid, enum numa_stat_item item);
void pa_threads_init(void);     /* after nodes exist; called by pa_init */
/* Call fn for every live thread, with the thread registry locked. */
void pa_for_each_thread(void (*fn)(struct pa_thread *, void *), void *arg);
void pa_threads_lock(void);
void pa_threads_unlock(void);
void pa_threads_iterate(void (*fn)(struct pa_thread *, void *), void *arg);  /* registry locked */
void pa_threads_fork_child(void (*reap)(struct pa_thread *));

/* ------------------------------------------------------------------ */
/* fork.c: the one fork handler, and the steps it calls in lock order   */
/* ------------------------------------------------------------------ */

void pa_fork_init(void);               /* registers it, once */
void arena_fork_prepare(void);         /* arena.c */
void pcp_fork_prepare(void);           /* pcp.c */
void pcp_fork_parent(void);
void pcp_fork_child(void);
void reclaim_fork_prepare(void);       /* reclaim.c */
void reclaim_fork_parent(void);
void reclaim_fork_child(void);
void memcg_fork_lock(void);            /* memcg.c */
void memcg_fork_unlock(void);
void oom_fork_prepare(void);           /* oom.c */
void oom_fork_parent(void);
void oom_fork_child(void);
void page_owner_fork_lock(void);       /* page_owner.c */
void page_owner_fork_unlock(void);
void debug_fork_lock(void);            /* debug.c */
void debug_fork_unlock(void);
void page_reporting_fork_child(void);  /* page_reporting.c */
void compaction_fork_child(void);      /* compaction.c */
void dhugetlb_fork_child(void);        /* dhugetlb.c */
void cma_fork_child(void);             /* cma.c */
void stats_publish_fork_child(void);   /* stats.c */

/* ------------------------------------------------------------------ */
/* pcp.c                                                               */
/* ------------------------------------------------------------------ */

int pa_pcp_init(void);          /* after the watermarks; PA_PCP_CPU pagesets */
struct per_cpu_pages *thread_pcp_slow(struct zone *z);
/* The pageset for z of this CPU (or thread); NULL when pcp is off. */
static inline struct per_cpu_pages *this_pcp(struct zone *z, int cpu)
{
    if (likely(z->per_cpu_pageset != NULL))
        return &z->per_cpu_pageset[likely(cpu < pa_mm.nr_cpus) ? cpu : cpu % pa_mm.nr_cpus];
    if (pa_opt.pcp_mode == PA_PCP_THREAD) {
        struct pa_thread *t = pa_thread();
        if (likely(t->pcp != NULL)) {
            struct per_cpu_pages *p = t->pcp[(size_t)z->node * MAX_NR_ZONES + z->zid];
            if (likely(p != NULL))
                return p;
        }
        return thread_pcp_slow(z);
    }
    return NULL;
}
/*
 * The pageset lock.  The owner side (pcp_trylock) uses no atomic
 * instruction: in per-CPU mode it is an rseq critical section that checks
 * the CPU and both words and commits `locked = 1` (the kernel restarts it if
 * the thread is preempted or migrated, so threads on one CPU exclude each
 * other); in per-thread mode only the owning thread ever sets `locked`.
 * Remote lockers (drains, decay) set `remote`, run membarrier() so every
 * running thread either has finished its commit or will see `remote`, then
 * wait for `locked` to drop.  Without rseq or membarrier (or under TSan)
 * both sides use an atomic exchange on `locked`.
 */
enum { PCP_LOCK_ATOMIC, PCP_LOCK_RSEQ, PCP_LOCK_OWNER };
extern int pcp_lock_kind;                                 /* pcp.c */

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define PA_HAVE_RSEQ_PCP 1
static inline bool rseq_pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    struct rseq *rs = (struct rseq *)(void *)((char *)__builtin_thread_pointer() + __rseq_offset);
    __asm__ goto(
        ".pushsection __rseq_cs, \"aw\"\n\t"
        ".balign 32\n\t"
        "3:\n\t"
        ".long 0x0, 0x0\n\t"
        ".quad 1f, (2f - 1f), 4f\n\t"
        ".popsection\n\t"
        "leaq 3b(%%rip), %%rax\n\t"
        "movq %%rax, %[rseq_cs]\n\t"
        "1:\n\t"
        "cmpl %[cpu], %[cpu_id]\n\t"
        "jnz %l[fail]\n\t"
        "cmpl $0, %[remote]\n\t"
        "jnz %l[fail]\n\t"
        "cmpl $0, %[locked]\n\t"
        "jnz %l[fail]\n\t"
        "movl $1, %[locked]\n\t"
        "2:\n\t"
        ".pushsection __rseq_failure, \"ax\"\n\t"
        ".byte 0x0f, 0xb9, 0x3d\n\t"
        ".long 0x53053053\n\t"          /* RSEQ_SIG, as glibc registered it */
        "4:\n\t"
        "jmp %l[fail]\n\t"
        ".popsection\n\t"
        :
        : [rseq_cs] "m"(rs->rseq_cs), [cpu_id] "m"(rs->cpu_id), [cpu] "r"(cpu),
          [remote] "m"(pcp->remote), [locked] "m"(pcp->locked)
        : "memory", "cc", "rax"
        : fail);
    return true;
fail:
    return false;
}
#else
#define PA_HAVE_RSEQ_PCP 0
static inline bool rseq_pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    (void)pcp;
    (void)cpu;
    return false;
}
#endif

static inline bool __pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    if (likely(pcp_lock_kind == PCP_LOCK_RSEQ))
        return rseq_pcp_trylock(pcp, cpu);
    if (pcp_lock_kind == PCP_LOCK_OWNER) {
        __atomic_store_n(&pcp->locked, 1, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);   /* the drainer's membarrier is the fence */
        if (likely(!__atomic_load_n(&pcp->remote, __ATOMIC_ACQUIRE)))
            return true;
        __atomic_store_n(&pcp->locked, 0, __ATOMIC_RELEASE);
        return false;
    }
    return __atomic_load_n(&pcp->locked, __ATOMIC_RELAXED) == 0 &&
           !__atomic_exchange_n(&pcp->locked, 1, __ATOMIC_ACQUIRE);
}
static inline bool pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    bool ok = __pcp_trylock(pcp, cpu);
    if (ok)
        lockdep_acquired_try(LOCK_PAGESET, 0);
    return ok;
}
static inline void pcp_unlock(struct per_cpu_pages *pcp)
{
    lockdep_release(LOCK_PAGESET, 0);
    __atomic_store_n(&pcp->locked, 0, __ATOMIC_RELEASE);
}

struct pa_page *rmqueue_pcplist(struct per_cpu_pages *pcp, struct zone *z, unsigned int order, int mt,
                                unsigned int alloc_flags);
void free_unref_page_commit_tail(struct per_cpu_pages *pcp, struct zone *z, unsigned int order,
                                 int pindex);
/*
 * Put a freed page on the pcp list (free_unref_page_commit).  The common
 * case is inline: an order-0 free that leaves the list below high, with no
 * PREV_FREE_HIGH_ORDER state pending and no zone flag that shrinks the
 * lists, changes nothing but the list and the counts (nr_pcp_high would
 * return high unchanged).  Everything else goes to the tail in pcp.c.
 */
static inline void free_unref_page_commit(struct per_cpu_pages *pcp, struct zone *z, struct pa_page *page,
                                          unsigned int order, int mt)
{
    int pindex = order_to_pindex(mt, order);
    pcp->alloc_factor >>= 1;
    list_add(&page->lru, &pcp->lists[pindex]);
    WRITE_ONCE(pcp->count, pcp->count + (1 << order));
    if (likely(order == 0 && !(pcp->flags & PCPF_PREV_FREE_HIGH_ORDER) && pcp->count < pcp->high &&
               !__atomic_load_n(&z->flags, __ATOMIC_RELAXED))) {
        if (pcp->free_count < (pcp->batch << PCP_BATCH_SCALE_MAX))
            pcp->free_count++;
        return;
    }
    free_unref_page_commit_tail(pcp, z, order, pindex);
}
void drain_all_pages(struct zone *zone);
void drain_local_pages(struct zone *zone);
void pcp_thread_exit(struct pa_thread *t);
void pa_pcp_walk(struct zone *z, void (*fn)(struct zone *, struct per_cpu_pages *, void *), void *arg);
void pa_pcp_decay_all(void);
void pa_pcp_start_decay(void);
extern bool pcp_magazines_on;   /* magazines in use (option, and membarrier available) */
int mag_create(struct pa_thread *t);
unsigned long mag_fill(struct per_cpu_pages *pcp, struct zone *z, struct pa_magazine *m, int mt,
                       unsigned int alloc_flags);
bool mag_flush(struct pa_magazine *m, struct zone *z, int mt);
void mag_flush_all(struct pa_thread *t);   /* owner, or a drainer holding the protocol */
void pa_mag_walk(void (*fn)(struct pa_thread *, void *), void *arg);
/* The owner's view for frees: its magazines, unless it is inside reclaim
 * (whose frees are counted through t->reclaimed by the general path). */
static inline void mag_update_free(struct pa_thread *t)
{
    WRITE_ONCE(t->free_mags, t->reclaimed ? NULL : t->mags);
}
static inline struct pa_magazine *thread_mag(struct pa_thread *t, const struct zone *z, int mt)
{
    return &t->mags[z->mag_slot + (unsigned int)mt];
}
/* Enter the magazines: false when a drainer holds them (then stay out). */
static inline bool mag_enter(struct pa_thread *t)
{
    __atomic_store_n(&t->mag_busy, 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);   /* the drainer's membarrier is the fence */
    if (likely(!__atomic_load_n(&t->mag_drain, __ATOMIC_ACQUIRE)))
        return true;
    __atomic_store_n(&t->mag_busy, 0, __ATOMIC_RELEASE);
    return false;
}
static inline void mag_exit(struct pa_thread *t)
{
    __atomic_store_n(&t->mag_busy, 0, __ATOMIC_RELEASE);
}
extern atomic_int pcp_decay_started;

/* ------------------------------------------------------------------ */
/* node.c: nodes, zones, zonelists                                      */
/* ------------------------------------------------------------------ */

int pa_nodes_init(const struct pa_os_topology *t);   /* sizes zones, builds zonelists */
int nodemask_parse(const char *s, pa_nodemask_t *mask);
void build_all_zonelists(void);
static inline struct zonelist *node_zonelist(int nid, pa_gfp_t gfp)
{
    return &NODE_DATA(nid)->node_zonelists[(gfp & PA_GFP_THISNODE) ? ZONELIST_NOFALLBACK
                                                                    : ZONELIST_FALLBACK];
}
static inline bool node_isset(int nid, const pa_nodemask_t *m)
{
    return (m->bits[nid / (8 * sizeof(unsigned long))] >> (nid % (8 * sizeof(unsigned long)))) & 1;
}
static inline void node_set(int nid, pa_nodemask_t *m)
{
    m->bits[nid / (8 * sizeof(unsigned long))] |= 1UL << (nid % (8 * sizeof(unsigned long)));
}
static inline bool node_valid(int nid) { return nid >= 0 && nid < pa_mm.nr_nodes; }

/* ------------------------------------------------------------------ */
/* arena.c: reserving the pfn space, bringing sections online          */
/* ------------------------------------------------------------------ */

/* pfn shift of a section: 1 GiB sections when 1G hugepages are wanted and
 * available, else 128 MiB as the kernel's x86-64 SECTION_SIZE_BITS. */
unsigned int arena_section_shift(void);
int pa_arena_init(void);            /* after pa_nodes_init sized the nodes */
/* Bring the next piece of z online (at most one section), outside any zone
 * lock; its pages go to the buddy.  0, or -1 with ENOMEM when the zone is
 * fully online or the OS refused memory. */
int arena_grow_zone(struct zone *z);
/* Take z's topmost online section offline if every page of it is free and
 * reported, and the zone keeps HIGH without it (memory hot-remove): back
 * to the reservation, online again on demand.  No lock held; takes the
 * grow lock, then the zone lock.  true when a section went offline. */
bool arena_offline_section(struct zone *z);

/* ------------------------------------------------------------------ */
/* page_reporting.c: free page reporting (mm/page_reporting.c)        */
/* ------------------------------------------------------------------ */

/* Blocks of this order and up are reported; above MAX_ORDER when off. */
extern unsigned int page_reporting_order;
void pa_page_reporting_init(void);   /* after the options: decides on or off */
void __page_reporting_notify(void);
/* An unreported free block of order was made (buddy.c, zone lock held):
 * the hot paths pay one compare; the worker is told once per cycle. */
static inline void page_reporting_notify_free(unsigned int order)
{
    if (likely(order < __atomic_load_n(&page_reporting_order, __ATOMIC_RELAXED)))
        return;
    __page_reporting_notify();
}
/* Start the worker (it also listens for memory pressure) if it is wanted
 * and not running; no lock held.  Cheap when it runs. */
void page_reporting_start(void);
/* The worker runs, or is not wanted: what a free tests before starting it
 * (set once; cleared in a forked child). */
extern int page_reporting_settled;
static inline void page_reporting_start_once(void)
{
    if (unlikely(!__atomic_load_n(&page_reporting_settled, __ATOMIC_RELAXED)))
        page_reporting_start();
}
/* Report free memory now, without the delay (memory pressure, tests);
 * false when reporting is off. */
bool page_reporting_request_now(void);
/* buddy.c, for page_reporting.c (zone lock held): take an unreported free
 * block off its list, and put a block back, reported or not, at the tail. */
void page_reporting_isolate(struct zone *z, struct pa_page *page, unsigned int order, int mt);
void page_reporting_putback(struct zone *z, struct pa_page *page, unsigned int order, bool reported);

/* ------------------------------------------------------------------ */
/* pressure.c: the system's memory pressure (PSI, cgroup v2 limits)     */
/* ------------------------------------------------------------------ */

#define PRESSURE_MAX_FDS 2
/* Open what can be listened to; fills fds (poll events set) and returns
 * how many, 0 when there is nothing to listen to. */
int pressure_open(struct pollfd *fds);
void pressure_close(void);
/* Longest poll timeout in ms the listener needs (-1: none). */
int pressure_poll_interval(void);
/* After poll: 0, or how many pages the process should give up. */
unsigned long pressure_check(struct pollfd *fds, int nfds);
/* React: boost and wake kswapd on every node, and reclaim nr_pages here
 * (the worker then reports what was freed). */
void pressure_react(unsigned long nr_pages);

/* ------------------------------------------------------------------ */
/* buddy.c                                                             */
/* ------------------------------------------------------------------ */

struct pa_page *__rmqueue_smallest(struct zone *z, unsigned int order, int mt);
struct pa_page *__rmqueue(struct zone *z, unsigned int order, int mt, unsigned int alloc_flags);
void __free_one_page(struct pa_page *page, unsigned long pfn, struct zone *z,
                     unsigned int order, int mt);
/* Free [start_pfn, end_pfn) of z to the buddy in the largest aligned blocks; caller holds lock. */
void __free_pages_range(struct zone *z, unsigned long start_pfn, unsigned long end_pfn);
int move_freepages_block(struct zone *z, struct pa_page *page, int mt, int *num_movable);
void reserve_highatomic_pageblock(struct pa_page *page, struct zone *z);
bool unreserve_highatomic_pageblock(struct zone *z, int mt, bool force);

/* ------------------------------------------------------------------ */
/* watermark.c                                                         */
/* ------------------------------------------------------------------ */

/* ALLOC_* flags, internal to the allocator (mm/internal.h). */
#define ALLOC_WMARK_MIN      WMARK_MIN
#define ALLOC_WMARK_LOW      WMARK_LOW
#define ALLOC_WMARK_HIGH     WMARK_HIGH
#define ALLOC_NO_WATERMARKS  0x04u
#define ALLOC_WMARK_MASK     (ALLOC_NO_WATERMARKS - 1)
#define ALLOC_OOM            0x08u
#define ALLOC_NON_BLOCK      0x10u   /* caller cannot block: a little deeper into reserves */
#define ALLOC_MIN_RESERVE    0x20u   /* PA_GFP_HIGH: may dip below MIN */
#define ALLOC_CPUSET         0x40u
#define ALLOC_CMA            0x80u
#define ALLOC_NOFRAGMENT     0x100u
#define ALLOC_HIGHATOMIC     0x200u
#define ALLOC_KSWAPD         0x800u
#define ALLOC_RESERVES (ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM)

void setup_per_zone_wmarks(void);
void setup_per_zone_lowmem_reserve(void);
unsigned long pa_min_free_kbytes(void);
bool __zone_watermark_ok(struct zone *z, unsigned int order, unsigned long mark,
                         int highest_zoneidx, unsigned int alloc_flags, long free_pages);
bool zone_watermark_ok(struct zone *z, unsigned int order, unsigned long mark,
                       int highest_zoneidx, unsigned int alloc_flags);
bool zone_watermark_fast(struct zone *z, unsigned int order, unsigned long mark,
                         int highest_zoneidx, unsigned int alloc_flags, pa_gfp_t gfp);
unsigned int gfp_to_alloc_flags(pa_gfp_t gfp, unsigned int order);
bool boost_watermark(struct zone *z);
/* Some zone's ZONE_BOOSTED_WATERMARK is set: the magazine fast path steps
 * aside so that the general path's rmqueue wakes kswapd, as the kernel's
 * does on every allocation, pcp hits included. */
extern int zones_boosted;
void zone_boost_consumed(void);

/* ------------------------------------------------------------------ */
/* reclaim.c                                                           */
/* ------------------------------------------------------------------ */

#define MAX_RECLAIM_RETRIES 16
#define DEF_PRIORITY 12

int pa_reclaim_init(void);      /* per-node state; kswapd threads start on first wakeup */
/* Direct reclaim in the calling thread (sets PF_MEMALLOC meanwhile, drains
 * pcp): shrinkers and LRUs until enough pages for the order were freed or
 * every priority was tried.  Returns the pages freed (progress). */
unsigned long try_to_free_pages(struct zonelist *zl, unsigned int order, pa_gfp_t gfp,
                                const pa_nodemask_t *nodemask);
/* Memory-cgroup reclaim: the cgroup's memcg-aware shrinkers. */
unsigned long try_to_free_mem_cgroup_pages(struct pa_memcg *memcg, unsigned long nr_pages, pa_gfp_t gfp);
/* Wake z's node's kswapd for this order unless balanced or hopeless. */
void wakeup_kswapd(struct zone *z, pa_gfp_t gfp, unsigned int order, int highest_zoneidx);
/* Memory pressure from outside (pressure.c): boost and wake the node's kswapd. */
void wakeup_kswapd_pressure(pg_data_t *pgdat);
/* ... and reclaim about nr_pages in the calling thread; returns pages freed. */
unsigned long try_to_free_pages_pressure(unsigned long nr_pages);
/* An allocation succeeded after kswapd gave up: it may try again. */
void reset_kswapd_failures(pg_data_t *pgdat);
/* Whether some shrinker has objects to free for z's node. */
bool zone_reclaimable_pages_exist(struct zone *z);
/* An estimate of the pages reclaim could free in z: the shrinkers' objects
 * for its node as pages, capped by what the zone has in use. */
unsigned long zone_reclaimable_pages(struct zone *z);
unsigned long shrink_slab(pa_gfp_t gfp, int nid, struct pa_memcg *memcg, int priority);
/* For tests: kswapd asleep until woken; not started or asleep; its failures. */
bool kswapd_sleeping(int nid);
bool kswapd_idle(int nid);
int kswapd_failures(int nid);

/* ------------------------------------------------------------------ */
/* compaction.c                                                        */
/* ------------------------------------------------------------------ */

enum compact_priority {
    COMPACT_PRIO_SYNC_FULL,
    MIN_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_FULL,
    COMPACT_PRIO_SYNC_LIGHT,
    MIN_COMPACT_COSTLY_PRIORITY = COMPACT_PRIO_SYNC_LIGHT,
    DEF_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_LIGHT,
    COMPACT_PRIO_ASYNC,
    INIT_COMPACT_PRIORITY = COMPACT_PRIO_ASYNC
};

enum compact_result {
    COMPACT_NOT_SUITABLE_ZONE,
    COMPACT_SKIPPED,
    COMPACT_DEFERRED,
    COMPACT_NO_SUITABLE_PAGE,
    COMPACT_CONTINUE,
    COMPACT_COMPLETE,
    COMPACT_PARTIAL_SKIPPED,
    COMPACT_CONTENDED,
    COMPACT_SUCCESS,
};

int pa_compaction_init(void);   /* per-zone/node state; kcompactd starts on first wakeup */
enum compact_result compaction_suitable(struct zone *z, int order, int highest_zoneidx);
bool compaction_zonelist_suitable(const struct alloc_context *ac, int order, unsigned int alloc_flags);
int fragmentation_index(struct zone *z, unsigned int order);
int __fragmentation_index(unsigned int order, unsigned long free_pages, unsigned long blocks_total,
                          unsigned long blocks_suitable);
unsigned int extfrag_for_order(struct zone *z, unsigned int order);
unsigned int fragmentation_score_node(pg_data_t *pgdat);
unsigned int fragmentation_score_wmark(bool low);
/* Direct compaction over the zonelist at a priority; a block of the order
 * freed in the process is captured into *capture (already off the lists). */
enum compact_result try_to_compact_pages(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                         const struct alloc_context *ac, enum compact_priority prio,
                                         struct pa_page **capture);
bool compaction_deferred(struct zone *z, unsigned int order);
void defer_compaction(struct zone *z, unsigned int order);
void compaction_defer_reset(struct zone *z, unsigned int order, bool alloc_success);
static inline bool compaction_made_progress(enum compact_result r) { return r == COMPACT_SUCCESS; }
static inline bool compaction_failed(enum compact_result r) { return r == COMPACT_COMPLETE; }
static inline bool compaction_withdrawn(enum compact_result r)
{
    return r == COMPACT_DEFERRED || r == COMPACT_CONTENDED || r == COMPACT_PARTIAL_SKIPPED ||
           r == COMPACT_SKIPPED;
}
void wakeup_kcompactd(pg_data_t *pgdat, unsigned int order, int highest_zoneidx);
/* kswapd going to sleep: clear the skip hints of the node's zones where a
 * direct compaction's scanners met since (compact_blockskip_flush). */
void reset_isolation_suitable(pg_data_t *pgdat);

/* buddy.c, for compaction: take a free block off its list for migration
 * targets (checks the MIN watermark as the kernel's __isolate_free_page;
 * returns 1 << order, or 0), and give one back.  Zone lock held. */
int __isolate_free_page(struct pa_page *page, unsigned int order);
void __putback_isolated_page(struct pa_page *page, unsigned int order, int mt);
/* buddy.c, for alloc_contig_range (cma.c): the pages of [start, end) all
 * free?  Then take the free blocks covering them off the lists and return
 * the covered range [*lo, *hi) (taken, not counted free); false when one
 * is not free, nothing taken.  start is inside a range isolated in whole
 * MAX_ORDER blocks.  Zone lock held. */
bool take_free_range(struct zone *z, unsigned long start, unsigned long end, unsigned long *lo,
                     unsigned long *hi);

/* ------------------------------------------------------------------ */
/* oom.c                                                               */
/* ------------------------------------------------------------------ */

struct oom_control {
    struct zonelist *zonelist;
    const pa_nodemask_t *nodemask;   /* the failing request's constraint */
    struct pa_memcg *memcg;          /* memcg OOM: only its clients */
    pa_gfp_t gfp_mask;
    int order;
    unsigned long totalpages;        /* set by out_of_memory */
    struct pa_oom_client *chosen;
    long chosen_points;
};

int pa_oom_init(void);
/* Pick and kill the client with the highest badness, wait (bounded) for its
 * memory.  Returns true if a client was killed (progress), false if none
 * could be.  Only one kill at a time. */
bool out_of_memory(struct oom_control *oc);

/* ------------------------------------------------------------------ */
/* memcg.c                                                             */
/* ------------------------------------------------------------------ */

int pa_memcg_init(void);
const char *memcg_name(const struct pa_memcg *memcg);
void oom_forget_memcg(struct pa_memcg *memcg);   /* oom.c: a cgroup is going away */
/* Charge an allocated block to the calling thread's cgroup (reclaiming
 * from it first if over the limit): 0, or -1 when the limit holds. */
int memcg_charge_page(struct pa_page *page, pa_gfp_t gfp, unsigned int order);
/* page->memcg_data set: give the charge back (free path). */
void memcg_uncharge_page(struct pa_page *page, unsigned int order);

/* ------------------------------------------------------------------ */
/* mempolicy.c                                                         */
/* ------------------------------------------------------------------ */

int pa_mempolicy_init(void);     /* process default policy, CDM nodes, policy_zone */
void mpol_thread_init(struct pa_thread *t);
/* Allocate under the thread's policy (alloc_pages_mpol). */
struct pa_page *alloc_pages_mpol(struct pa_thread *t, pa_gfp_t gfp, unsigned int order);

/* ------------------------------------------------------------------ */
/* page_alloc.c                                                        */
/* ------------------------------------------------------------------ */

struct alloc_context {
    struct zonelist *zonelist;
    const pa_nodemask_t *nodemask;
    const pa_nodemask_t *mems_allowed; /* cpuset: NULL when every node is allowed */
    bool explicit_nodemask;            /* nodemask came from the caller or a policy */
    struct zoneref *preferred_zoneref;
    int migratetype;
    int highest_zoneidx;
    bool spread_dirty_pages;
};

struct pa_page *__alloc_pages(pa_gfp_t gfp, unsigned int order, int preferred_nid,
                              const pa_nodemask_t *nodemask);
void free_the_page(struct pa_page *page, unsigned int order);
/* Free to the buddy directly, past magazines and pcp (compaction's released
 * source pages: so that a merged block can be captured). */
void free_pages_to_buddy(struct pa_page *page, unsigned int order);
/* Free the order-0 pages [start, end) of z to the buddy in the largest
 * aligned blocks (split exact allocations; CMA runs given back). */
void free_pages_range(struct zone *z, unsigned long start, unsigned long end);
/* Fault injection (PAGEALLOC_FAIL), as the kernel's fail_page_alloc. */
bool should_fail_alloc_page(pa_gfp_t gfp, unsigned int order);
extern bool pa_fail_enabled;
void pa_ensure_init(void);
static inline bool pa_initialized(void)
{
    return likely(atomic_load_explicit(&pa_mm.initialized, memory_order_acquire) == 2);
}

/* ------------------------------------------------------------------ */
/* debug.c                                                             */
/* ------------------------------------------------------------------ */

/* Report a bad page ("BUG: Bad page state ..."): pfn, order, flags, reason.
 * Aborts with PAGEALLOC_DEBUG=checks; otherwise the caller refuses the op. */
void bad_page(const struct pa_page *page, unsigned int order, const char *reason);
/* A pointer that is not a page of the arenas: report and refuse. */
void bad_pointer(const char *func, const void *ptr, const char *reason);
/* Full checks, PAGEALLOC_DEBUG=checks only (the cheap ones are inline). */
bool free_pages_check_bad(struct pa_page *page, unsigned int order);
bool check_new_pages_bad(struct pa_page *page, unsigned int order);
#define PA_POISON_BYTE 0xaa
void kernel_poison_pages(struct pa_page *page, unsigned int order);
bool check_poison_bad(struct pa_page *page, unsigned int order);
/* "GFP_KERNEL|__GFP_ZERO"-style decoding, as the kernel's %pGg. */
const char *pa_format_gfp(pa_gfp_t gfp, char *buf, size_t len);
/* "0-2,5" (or "(null)"), as the kernel's %*pbl. */
void format_nodemask(const pa_nodemask_t *m, char *buf, size_t len);
void warn_alloc(pa_gfp_t gfp, const pa_nodemask_t *nodemask, unsigned int order, const char *what);

/* ------------------------------------------------------------------ */
/* guard.c: debug guard pages (PAGEALLOC_DEBUG=guard)                  */
/* ------------------------------------------------------------------ */

/* 0: off.  Else split-off halves of a lower order become guard pages. */
extern unsigned int debug_guardpage_minorder;
/* After pa_options_load, before the arenas: resolve guard[:N] against the
 * backing (hugetlb cannot be protected a 4 KiB page at a time). */
void pa_guard_init(void);
/* Zone lock held.  true: page (2^order) is now a PROT_NONE guard, counted
 * in NR_GUARD_PAGES, not free.  false: order too high, leave it free. */
bool set_page_guard(struct zone *z, struct pa_page *page, unsigned int order);
/* Zone lock held: the guard rejoins its buddy; access is restored. */
void clear_page_guard(struct zone *z, struct pa_page *page, unsigned int order);

/* ------------------------------------------------------------------ */
/* page_owner.c: allocation stacks (PAGEALLOC_DEBUG=owner)             */
/* ------------------------------------------------------------------ */

void pa_page_owner_init(void);    /* side table, stack depot, exit report */
void set_page_owner(struct pa_page *page, unsigned int order, pa_gfp_t gfp);
void reset_page_owner(struct pa_page *page, unsigned int order);
/* split_page: 2^order order-0 allocations, each with the head's record. */
void split_page_owner(struct pa_page *page, unsigned int order);
/* Migration moved an allocated block: the record goes with it. */
void copy_page_owner(struct pa_page *src, struct pa_page *dst);

/* ------------------------------------------------------------------ */
/* stats.c                                                             */
/* ------------------------------------------------------------------ */

void pa_stats_init(void);   /* registers the PAGEALLOC_STATS exit report */
/* PAGEALLOC_STATS with %p (the pid) and %% expanded; -1 if it does not fit */
int pa_stats_path(char *buf, size_t len, const char *spec, pid_t pid);
/* Write the five reports to /dev/shm/pagealloc.<pid> (0600) for pagealloc-stat. */
void pa_stats_publish(void);
extern const char *const vm_event_names[NR_VM_EVENT_ITEMS];
extern const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS];
extern const char *const numa_stat_names[NR_VM_NUMA_EVENT_ITEMS];

/* ------------------------------------------------------------------ */
/* context.c: scoped allocation contexts (memalloc_noio_save, ...)     */
/* ------------------------------------------------------------------ */

/* The thread's scoped NOIO/NOFS flags applied to a mask: the one place the
 * slow path (and reclaim entered from outside it) learns of the scopes.
 * NOIO implies NOFS, as in the kernel. */
static inline pa_gfp_t current_gfp_context(const struct pa_thread *t, pa_gfp_t gfp)
{
    unsigned int pflags = t->pf_flags;
    if (unlikely(pflags & (PF_MEMALLOC_NOIO | PF_MEMALLOC_NOFS))) {
        if (pflags & PF_MEMALLOC_NOIO)
            gfp &= ~(PA_GFP_IO | PA_GFP_FS);
        else
            gfp &= ~PA_GFP_FS;
    }
    return gfp;
}

/* ------------------------------------------------------------------ */
/* cma.c: contiguous memory areas                                      */
/* ------------------------------------------------------------------ */

/* Any CMA area exists: the only test the buddy pays for when there is none. */
extern bool cma_configured;
static inline bool cma_active(void) { return __atomic_load_n(&cma_configured, __ATOMIC_RELAXED); }
/* Reserve the PAGEALLOC_CMA areas (at the end of pa_init): brings their
 * sections online and turns their pageblocks MIGRATE_CMA.  Bad specs are
 * reported and skipped; never fails the initialisation. */
void pa_cma_init(void);
/* __rmqueue_cma_fallback: a block from the CMA lists.  Zone lock held. */
struct pa_page *__rmqueue_cma_fallback(struct zone *z, unsigned int order);
/* The walker's part: CMA pageblocks and runs handed out are consistent.
 * Returns the number of problems, the first described in buf. */
int cma_validate(char *buf, size_t len);

/* compaction.c, for cma.c: isolate an allocated movable block (a page, or
 * the head of a block of any order, compound or not) through its owner and
 * migrate it whole into dst (an allocated non-compound block of the same
 * order the caller owns).  0 when moved (src went to the buddy, dst carries the owner's
 * data); -EAGAIN when the owner would not give it up; -EBUSY when its
 * migrate callback failed.  On failure dst is still the caller's. */
int migrate_movable_page_to(struct pa_page *src, struct pa_page *dst, enum pa_migrate_mode mode);

/* ------------------------------------------------------------------ */
/* dirty.c: dirty pages per node, the dirty limit (page-writeback.c)   */
/* ------------------------------------------------------------------ */

/* The node may take more dirty pages: nr_dirty within node_dirty_limit. */
bool node_dirty_ok(pg_data_t *pgdat);
unsigned long node_dirty_limit(pg_data_t *pgdat);
/* A dirty block is being freed (or split): forget nr pages of it. */
void account_page_cleaned(struct pa_page *page, unsigned long nr);
/* Migration moves the dirty state (and the count, across nodes) to dst. */
void migrate_dirty_state(struct pa_page *dst, struct pa_page *src);

/* ------------------------------------------------------------------ */
/* dhugetlb.c: dynamic hugetlb pools of memory cgroups (openEuler)     */
/* ------------------------------------------------------------------ */

struct dhugetlb_pool;
/* Some pool holds blocks: the allocator looks at pools only then. */
extern bool dhugetlb_active;
static inline bool dhugetlb_in_use(void) { return __atomic_load_n(&dhugetlb_active, __ATOMIC_RELAXED); }
/* Serve an order-0 PA_GFP_ACCOUNT request of a thread whose cgroup has a
 * pool, before the freelists; NULL sends it to the buddy. */
struct pa_page *alloc_page_from_dhugetlb_pool(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags);
/* A page of a pool was freed (refcount zero): back to its pool. */
void free_page_to_dhugetlb_pool(struct pa_page *page);
/* memcg.c <-> dhugetlb.c */
struct dhugetlb_pool **memcg_dhugetlb_slot(struct pa_memcg *memcg);
void dhugetlb_pool_destroy(struct dhugetlb_pool *pool);   /* every block free */
bool dhugetlb_pool_busy(const struct dhugetlb_pool *pool);
int dhugetlb_validate(char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* contig.c: runs of any length (alloc_contig_pages)                   */
/* ------------------------------------------------------------------ */

/* Each page of an allocated block its own order-0 allocation (split_page). */
void split_page(struct pa_page *page, unsigned int order);
/* Pages [start, end) just taken off the free lists become order-0
 * allocations with one reference each. */
void prep_taken_range(unsigned long start, unsigned long end, pa_gfp_t gfp);

#endif /* PAGEALLOC_INTERNAL_H */

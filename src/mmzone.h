/* SPDX-License-Identifier: MIT */
/*
 * Zones and nodes, as the kernel's mmzone.h: the vm counters, free_area,
 * struct zone and its watermarks, zonelists, pglist_data, the memory model
 * (struct pa_mm: pfn space, descriptors, sections), pfn <-> page <-> address,
 * pageblock flags, and node masks.
 */
#ifndef PAGEALLOC_MMZONE_H
#define PAGEALLOC_MMZONE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pagealloc/pagealloc.h>

#include "compiler.h"
#include "list.h"
#include "lockdep.h"
#include "mm_types.h"
#include "os.h"
#include "spinlock.h"

#define MAX_NR_ZONES PA_MAX_NR_ZONES

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

/* Each free_area holds free blocks of one order, one list per migratetype. */
struct free_area {
    struct list_head free_list[MIGRATE_TYPES];
    unsigned long nr_free;
};

struct pglist_data;
struct per_cpu_pages;

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
    uint16_t *pageblock_mag;     /* per pageblock: its magazine slot (pageblock_mag_slot) */
    enum pa_backing first_backing; /* the first backing to try for new sections */
};

/* Defined in page_alloc.c, whose fast paths read it; mm_init.c sets it
 * up.  Hidden, as every internal variable (PA_HIDDEN): each file addresses
 * it directly, without a GOT load. */
extern PA_HIDDEN struct pa_mm pa_mm;

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
/* A thread's magazines (pcp.h): one per zone slot and pcp migratetype,
 * then one that is never used (high 0), the slot of every pageblock whose
 * type has no pcp list.  A free finds its magazine from the pageblock. */
static inline size_t nr_mag_slots(void)
{
    return (size_t)pa_mm.nr_nodes * MAX_NR_ZONES * MIGRATE_PCPTYPES;
}
static inline uint16_t pageblock_mag_slot(int nid, int zid, int mt)
{
    if (mt >= MIGRATE_PCPTYPES)
        return (uint16_t)nr_mag_slots();
    return (uint16_t)(((size_t)nid * MAX_NR_ZONES + (size_t)zid) * MIGRATE_PCPTYPES + (size_t)mt);
}
/* Caller holds the zone lock (or owns the block exclusively). */
static inline void set_pageblock_migratetype(struct pa_page *p, int mt)
{
    unsigned long pb = page_to_pfn(p) >> pageblock_order;
    uint8_t *f = &pa_mm.pageblock_flags[pb];
    uint8_t v = (uint8_t)((__atomic_load_n(f, __ATOMIC_RELAXED) & ~PB_MIGRATETYPE_MASK) | (unsigned)mt);
    __atomic_store_n(f, v, __ATOMIC_RELAXED);
    __atomic_store_n(&pa_mm.pageblock_mag[pb], pageblock_mag_slot(p->nid, p->zid, mt), __ATOMIC_RELAXED);
}

/* The node of the current CPU; node masks (pa_nodemask_t) and zonelists. */
static inline int numa_node_id(void)
{
    int cpu = pa_cpu_id();
    return (cpu >= 0 && cpu < PA_MAX_CPUS) ? pa_mm.cpu_to_node[cpu] : 0;
}
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

#endif /* PAGEALLOC_MMZONE_H */

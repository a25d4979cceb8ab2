/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc: the Linux kernel's zoned buddy page allocator in userspace.
 *
 * Memory comes from per-node arenas (hugetlb -> THP -> 4 KiB backing, bound
 * to their NUMA node), handed out as naturally aligned blocks of 2^order
 * pages of 4096 bytes.  Every page has an out-of-band descriptor, struct
 * pa_page, which the page functions take and return.
 *
 * Errors: functions that can fail return NULL or -1 and set errno (EINVAL
 * bad argument, ENOMEM no memory).  Freeing a pointer the library did not
 * hand out, or freeing twice, is reported on stderr and refused; with
 * PAGEALLOC_DEBUG=checks it aborts with "BUG: Bad page state".
 */
#ifndef PAGEALLOC_PAGEALLOC_H
#define PAGEALLOC_PAGEALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <pagealloc/cma.h>
#include <pagealloc/config.h>
#include <pagealloc/contig.h>
#include <pagealloc/context.h>
#include <pagealloc/debug.h>
#include <pagealloc/dirty.h>
#include <pagealloc/export.h>
#include <pagealloc/gfp.h>
#include <pagealloc/memcg.h>
#include <pagealloc/mempolicy.h>
#include <pagealloc/reclaim.h>
#include <pagealloc/stats.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PA_PAGE_SHIFT 12
#define PA_PAGE_SIZE  (1UL << PA_PAGE_SHIFT)

/* Opaque page descriptor (64 bytes, in a per-node array outside user memory). */
struct pa_page;

enum pa_zone_type {
    PA_ZONE_DMA,
    PA_ZONE_DMA32,
    PA_ZONE_NORMAL,
    PA_ZONE_MOVABLE,
    PA_MAX_NR_ZONES
};

/* Values for pa_config.hugepages and PAGEALLOC_HUGEPAGES. */
enum pa_hugepages {
    PA_HUGEPAGES_UNSET = 0,
    PA_HUGEPAGES_AUTO,   /* first that works: 1G, 2M, THP, 4 KiB */
    PA_HUGEPAGES_1G,
    PA_HUGEPAGES_2M,
    PA_HUGEPAGES_THP,
    PA_HUGEPAGES_NONE    /* plain 4 KiB pages */
};

/* Bits for pa_config.debug and PAGEALLOC_DEBUG. */
#define PA_DEBUG_CHECKS 0x1u  /* kernel bad-page checks on alloc and free; abort on a bad page */
#define PA_DEBUG_POISON 0x2u  /* fill freed pages with 0xaa, verify on allocation */
#define PA_DEBUG_GUARD  0x4u  /* guard pages around split blocks (debug_guardpage_minorder) */
#define PA_DEBUG_OWNER  0x8u  /* page owner: record each allocation's stack; report leaks at exit */
#define PA_DEBUG_LOCKS  0x10u /* lock order checker: abort on a lock taken out of order */
/* With PA_DEBUG_GUARD: split-off halves of order < n (1..PA_MAX_ORDER/2)
 * become PROT_NONE guard pages; 0 (the default) means 1.  "guard:N". */
#define PA_DEBUG_GUARD_MINORDER(n)       (((unsigned int)(n) & 0xfu) << 8)
#define PA_DEBUG_GUARD_MINORDER_OF(bits) (((unsigned int)(bits) >> 8) & 0xfu)

/* Values for pa_config.pcp and PAGEALLOC_PCP: where freed order 0..3 and
 * pageblock-order pages are cached. */
enum pa_pcp_mode {
    PA_PCP_UNSET = 0,
    PA_PCP_CPU,          /* one pageset per zone per CPU */
    PA_PCP_THREAD,       /* one pageset per zone per thread (pinned threads) */
    PA_PCP_OFF           /* none: every free goes to the buddy */
};

/*
 * Configuration for pa_init().  Precedence: built-in defaults < environment
 * < fields set here.  Each field is one PAGEALLOC_* variable (named beside
 * it; syntax, limits and defaults in docs/environment.md), checked with the
 * same rules and reported with the same words, naming pa_config.FIELD: a bad
 * value gets one line on stderr and the layer below stays in force.
 *
 * Fill it with pa_config_init(), then change what you want:
 *
 *     struct pa_config cfg;
 *     pa_config_init(&cfg);
 *     cfg.pcp_magazine = false;
 *     pa_init(&cfg);
 *
 * pa_config_init() sets `size` and every field to its built-in default
 * (string fields to NULL).  A field still holding that value is unset and
 * leaves the environment in force; any other value overrides it, 0, false
 * and "off" included.  (So a config cannot force a default against the
 * environment; unset the variable for that.)
 *
 * A config not filled by pa_config_init (size 0: `= { 0 }` or designated
 * initialisers) works as it always has: a field left 0, false or NULL is
 * unset, so such a config cannot set a value to 0 or turn an option off.
 * An enum field at its _UNSET value is unset either way.
 *
 * The struct only grows at its end, and the library reads only the fields
 * that the caller's `size` covers: a program built against an older header
 * gets the environment and defaults for the fields it does not know.
 */
struct pa_config {
    size_t size;                 /* 0, or the caller's sizeof(struct pa_config) (pa_config_init) */
    size_t node_size;            /* PAGEALLOC_NODE_SIZE: arena limit per node, bytes */
    enum pa_hugepages hugepages; /* PAGEALLOC_HUGEPAGES */
    int numa_emulate;            /* PAGEALLOC_NUMA_EMULATE: logical nodes (0: off) */
    size_t movablecore;          /* PAGEALLOC_MOVABLECORE in bytes per node ... */
    unsigned int movablecore_percent; /* ... or in percent of each node (1..100) */
    size_t dma_size;             /* PAGEALLOC_DMA_SIZE: ZONE_DMA on node 0, bytes */
    size_t dma32_size;           /* PAGEALLOC_DMA32_SIZE: ZONE_DMA32 on node 0 (below 4 GiB) */
    const char *policy;          /* PAGEALLOC_POLICY, numactl's words */
    unsigned int debug;          /* PAGEALLOC_DEBUG: PA_DEBUG_* bits */
    unsigned long min_free_kbytes;        /* PAGEALLOC_MIN_FREE_KBYTES */
    unsigned int watermark_scale_factor;  /* PAGEALLOC_WATERMARK_SCALE_FACTOR (1..3000) */
    const char *stats;           /* PAGEALLOC_STATS: "stderr" or a file path for the reports at exit */
    /* PAGEALLOC_RELEASE: free page reporting, "off" or the delay in ms
     * ("0" to "3600000") before free memory is given back to the OS */
    const char *release;
    unsigned int release_order;  /* PAGEALLOC_RELEASE_ORDER: smallest order reported (0..PA_MAX_ORDER) */
    const char *cdm_nodes;       /* PAGEALLOC_CDM_NODES: memory-only nodes, e.g. "2-3" */
    bool panic_on_oom;           /* PAGEALLOC_PANIC_ON_OOM */
    const char *fail;            /* PAGEALLOC_FAIL: fault injection, e.g. "probability=10,times=5" */
    unsigned int compaction_proactiveness; /* PAGEALLOC_COMPACTION_PROACTIVENESS (0..100) */
    unsigned int extfrag_threshold;        /* PAGEALLOC_EXTFRAG_THRESHOLD (0..1000) */
    unsigned int watermark_boost_factor;   /* PAGEALLOC_WATERMARK_BOOST_FACTOR (0..1000000) */
    unsigned int stats_interval_ms;        /* PAGEALLOC_STATS_INTERVAL (0: off, or 10..3600000) */
    bool prefault;               /* PAGEALLOC_PREFAULT */
    enum pa_pcp_mode pcp;        /* PAGEALLOC_PCP */
    bool pcp_magazine;           /* PAGEALLOC_PCP_MAGAZINE */
    bool mobility_grouping;      /* PAGEALLOC_MOBILITY_GROUPING */
    const char *cma;             /* PAGEALLOC_CMA: "SIZE[@NODE],..." */
    unsigned int dirty_ratio;    /* PAGEALLOC_DIRTY_RATIO (0..100) */
    bool dynamic_hugetlb;        /* PAGEALLOC_DYNAMIC_HUGETLB */
    bool pressure;               /* PAGEALLOC_PRESSURE */
};

/*
 * Fill *cfg with the built-in defaults and set cfg->size (see struct
 * pa_config).  Reads no environment, prints nothing.  An inline wrapper,
 * so that `size` is the caller's sizeof: the library fills the fields it
 * knows and zeroes the rest.  0, or -1 with errno EINVAL (cfg NULL, or a
 * size smaller than any struct pa_config).
 */
PA_API int pa_config_init_size(struct pa_config *cfg, size_t size);
static inline int pa_config_init(struct pa_config *cfg)
{
    return pa_config_init_size(cfg, sizeof(*cfg));
}

/*
 * Set up nodes, zones and arenas.  NULL: defaults plus environment.
 * Implicit on the first allocation; idempotent (a later call returns 0 and
 * changes nothing).  Returns -1 with errno if no node could be set up.
 * Costs a few system calls; no memory is committed until it is used.
 */
PA_API int pa_init(const struct pa_config *cfg);

/* Allocate 2^order naturally aligned pages on the policy's node (the local
 * node by default).  NULL with errno ENOMEM (no memory) or EINVAL (order
 * above PA_MAX_ORDER, or a bad combination of zone bits). */
PA_API struct pa_page *pa_alloc_pages(pa_gfp_t gfp, unsigned int order);
/* The same, preferring node nid (-1: the local node). */
PA_API struct pa_page *pa_alloc_pages_node(int nid, pa_gfp_t gfp, unsigned int order);
/* Drop a reference; at zero the 2^order block goes back (__free_pages). */
PA_API void pa_free_pages(struct pa_page *page, unsigned int order);
/* Address-based forms (__get_free_pages / free_pages). */
PA_API void *pa_get_free_pages(pa_gfp_t gfp, unsigned int order);
PA_API void pa_free_pages_addr(void *addr, unsigned int order);
/* Exactly PAGE_ALIGN(size) bytes: the unused tail of the 2^order block goes
 * back at once (alloc_pages_exact).  Free with pa_free_pages_exact. */
PA_API void *pa_alloc_pages_exact(size_t size, pa_gfp_t gfp);
PA_API void pa_free_pages_exact(void *addr, size_t size);

/* Descriptor <-> address <-> pfn, O(1).  Lookups of foreign pointers or
 * pfns return NULL / -1UL with errno EINVAL. */
PA_API void *pa_page_address(const struct pa_page *page);
PA_API struct pa_page *pa_virt_to_page(const void *addr);
PA_API unsigned long pa_page_to_pfn(const struct pa_page *page);
PA_API struct pa_page *pa_pfn_to_page(unsigned long pfn);
PA_API int pa_page_to_nid(const struct pa_page *page);
PA_API enum pa_zone_type pa_page_zonenum(const struct pa_page *page);
/* Physical address of a page (root: /proc/self/pagemap), for device DMA.
 * Returns 0 with errno on failure. */
PA_API unsigned long long pa_page_to_phys(const struct pa_page *page);

/* Reference counting.  pa_put_page frees at zero, compound-aware. */
PA_API void pa_get_page(struct pa_page *page);
PA_API void pa_put_page(struct pa_page *page);
PA_API int pa_page_count(const struct pa_page *page);
/* Order of a compound page (0 for other pages). */
PA_API unsigned int pa_compound_order(const struct pa_page *page);
/* Head of the compound page that page belongs to (page itself otherwise). */
PA_API struct pa_page *pa_compound_head(const struct pa_page *page);

/* Return every page cached on the per-CPU (or per-thread) lists to the
 * buddy (drain_all_pages), or only the calling CPU's (drain_local_pages).
 * Takes each pageset's lock in turn; O(cached pages). */
PA_API void pa_drain_all_pages(void);
PA_API void pa_drain_local_pages(void);

/* Walk every node, zone and free list and check the buddy invariants: each
 * free block aligned, marked and on the list of its order and pageblock
 * migratetype; nr_free and NR_FREE_PAGES add up.  Returns 0, or -1 with
 * errno EFAULT after printing each broken invariant to stderr.  Takes each
 * zone lock in turn; costs O(free blocks + pages online). */
PA_API int pa_check_invariants(void);

/* Name of the backing a node's sections got: "hugetlb-1G", "hugetlb-2M",
 * "thp", "4k", or NULL if the node has no online section. */
PA_API const char *pa_node_backing(int nid);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_PAGEALLOC_H */

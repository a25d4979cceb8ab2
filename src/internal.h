/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc internals.  Not installed.  As the kernel's mm/internal.h:
 * the functions and variables one file of src/ gives the others, each
 * section headed by the file that defines what follows.  Types live in
 * headers by concept, included here: compiler.h, list.h, spinlock.h,
 * mm_types.h (struct pa_page), mmzone.h (struct zone, pglist_data, the
 * memory model), os.h, options.h and thread.h.  pcp.h (per-CPU lists and
 * magazines) and pcp_lock.h (the pageset lock, rseq assembly) are included
 * only by the files that use them.  Names follow the kernel's mm/ so that
 * a reader of mm/page_alloc.c finds the way at once.
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

#include "compiler.h"
#include "list.h"
#include "lockdep.h"
#include "spinlock.h"
#include "mm_types.h"
#include "mmzone.h"
#include "os.h"
#include "options.h"
#include "thread.h"

/* ------------------------------------------------------------------ */
/* Allocation requests: the ALLOC_* flags and alloc_context           */
/* ------------------------------------------------------------------ */

/* ALLOC_* flags, internal to the allocator (mm/internal.h): page_alloc.c
 * and watermark.c set them; buddy.c, cma.c, compaction.c and
 * page_reporting.c pass or read them. */
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

/* A request's parameters, set up once by page_alloc.c (prepare_alloc_pages)
 * and passed along the fast and slow paths, compaction and mempolicy. */
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

/* ------------------------------------------------------------------ */
/* mm_init.c: pa_init, nodes and zones, page descriptors              */
/* ------------------------------------------------------------------ */

/* memmap_init: descriptors of [start, end) become pages of z. */
void memmap_init(struct zone *z, unsigned long start, unsigned long end);
void pa_ensure_init(void);
static inline bool pa_initialized(void)
{
    return likely(atomic_load_explicit(&pa_mm.initialized, memory_order_acquire) == 2);
}

/* ------------------------------------------------------------------ */
/* fail_page_alloc.c: fault injection (PAGEALLOC_FAIL)                */
/* ------------------------------------------------------------------ */

/* Parse PAGEALLOC_FAIL (pa_opt.fail) and turn injection on; during pa_init. */
void fail_page_alloc_init(void);
/* Whether this request fails on purpose, as the kernel's fail_page_alloc;
 * called only while pa_fail_enabled. */
bool should_fail_alloc_page(pa_gfp_t gfp, unsigned int order);
extern PA_HIDDEN bool pa_fail_enabled;

/* ------------------------------------------------------------------ */
/* fork.c: the one fork handler                                       */
/* ------------------------------------------------------------------ */

/* Registers it, once.  It takes every lock in the order of
 * docs/locking.md through the *_fork_* steps of each file (declared
 * below, under the file that defines them), and lets go in reverse. */
void pa_fork_init(void);

/* ------------------------------------------------------------------ */
/* pcp.c (the rest is in pcp.h)                                       */
/* ------------------------------------------------------------------ */

int pa_pcp_init(void);          /* after the watermarks; PA_PCP_CPU pagesets */
void drain_all_pages(struct zone *zone);
void drain_local_pages(struct zone *zone);
void pcp_thread_exit(struct pa_thread *t);
void pa_pcp_start_decay(void);
extern PA_HIDDEN bool pcp_magazines_on;   /* magazines in use (option, and membarrier available) */
int mag_create(struct pa_thread *t);
void mag_flush_all(struct pa_thread *t);   /* owner, or a drainer holding the protocol */
extern PA_HIDDEN atomic_int pcp_decay_started;
void pcp_fork_prepare(void);
void pcp_fork_parent(void);
void pcp_fork_child(void);

/* ------------------------------------------------------------------ */
/* node.c: zonelists, node masks                                      */
/* ------------------------------------------------------------------ */

/* gfp_zone(): the highest zone a request may use; -1 for a combination
 * the kernel's GFP_ZONE_BAD table rejects. */
int gfp_zone(pa_gfp_t gfp);
int nodemask_parse(const char *s, pa_nodemask_t *mask);
void build_all_zonelists(void);

/* ------------------------------------------------------------------ */
/* arena.c: reserving the pfn space, bringing sections online         */
/* ------------------------------------------------------------------ */

extern PA_HIDDEN const char *const pa_backing_names[PA_NR_BACKINGS];
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
void arena_fork_prepare(void);   /* warns when hugetlb arenas outgrow the pool */

/* ------------------------------------------------------------------ */
/* page_reporting.c: free page reporting (mm/page_reporting.c)        */
/* ------------------------------------------------------------------ */

/* Blocks of this order and up are reported; above MAX_ORDER when off. */
extern PA_HIDDEN unsigned int page_reporting_order;
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
extern PA_HIDDEN int page_reporting_settled;
static inline void page_reporting_start_once(void)
{
    if (unlikely(!__atomic_load_n(&page_reporting_settled, __ATOMIC_RELAXED)))
        page_reporting_start();
}
/* Report free memory now, without the delay (memory pressure, tests);
 * false when reporting is off. */
bool page_reporting_request_now(void);
void page_reporting_fork_child(void);

/* ------------------------------------------------------------------ */
/* pressure.c: the system's memory pressure (PSI, cgroup v2 limits)   */
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
/* buddy.c                                                            */
/* ------------------------------------------------------------------ */

extern PA_HIDDEN const char *const migratetype_names[MIGRATE_TYPES];
struct pa_page *__rmqueue_smallest(struct zone *z, unsigned int order, int mt);
struct pa_page *__rmqueue(struct zone *z, unsigned int order, int mt, unsigned int alloc_flags);
void __free_one_page(struct pa_page *page, unsigned long pfn, struct zone *z,
                     unsigned int order, int mt);
/* Free [start_pfn, end_pfn) of z to the buddy in the largest aligned blocks; caller holds lock. */
void __free_pages_range(struct zone *z, unsigned long start_pfn, unsigned long end_pfn);
int move_freepages_block(struct zone *z, struct pa_page *page, int mt, int *num_movable);
void reserve_highatomic_pageblock(struct pa_page *page, struct zone *z);
bool unreserve_highatomic_pageblock(struct zone *z, int mt, bool force);
/* For page_reporting.c (zone lock held): take an unreported free
 * block off its list, and put a block back, reported or not, at the tail. */
void page_reporting_isolate(struct zone *z, struct pa_page *page, unsigned int order, int mt);
void page_reporting_putback(struct zone *z, struct pa_page *page, unsigned int order, bool reported);
/* For compaction.c: take a free block off its list for migration
 * targets (checks the MIN watermark as the kernel's __isolate_free_page;
 * returns 1 << order, or 0), and give one back.  Zone lock held. */
int __isolate_free_page(struct pa_page *page, unsigned int order);
void __putback_isolated_page(struct pa_page *page, unsigned int order, int mt);
/* For alloc_contig_range (cma.c) and section offlining (arena.c): the
 * pages of [start, end) all free?  Then take the free blocks covering them off the lists and return
 * the covered range [*lo, *hi) (taken, not counted free); false when one
 * is not free, nothing taken.  start is inside a range isolated in whole
 * MAX_ORDER blocks.  Zone lock held. */
bool take_free_range(struct zone *z, unsigned long start, unsigned long end, unsigned long *lo,
                     unsigned long *hi);

/* ------------------------------------------------------------------ */
/* watermark.c                                                        */
/* ------------------------------------------------------------------ */

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
/*
 * Why an order-0 allocation may not simply pop its magazine, as bits of one
 * word that the fast path tests with a single compare (page_alloc.c):
 * DETOUR_BOOSTED  some zone's ZONE_BOOSTED_WATERMARK is set: the general
 *                 path's rmqueue wakes kswapd, as the kernel's does on
 *                 every allocation, pcp hits included;
 * DETOUR_NUMA     more than one node: the magazines must be of the node of
 *                 the CPU the thread runs on.
 */
#define DETOUR_BOOSTED 1
#define DETOUR_NUMA    2
extern PA_HIDDEN int order0_detour;
void zone_boost_consumed(void);

/* ------------------------------------------------------------------ */
/* reclaim.c                                                          */
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
void reclaim_fork_prepare(void);
void reclaim_fork_parent(void);
void reclaim_fork_child(void);

/* ------------------------------------------------------------------ */
/* compaction.c                                                       */
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

/* Direct compaction of the calling thread captures a freed block of its
 * order here (compaction_capture in __free_one_page). */
struct capture_control {
    struct zone *zone;
    unsigned int order;
    int migratetype;
    struct pa_page *page;      /* set when captured: off every free list, not counted free */
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
void wakeup_kcompactd(pg_data_t *pgdat, unsigned int order, int highest_zoneidx);
/* kswapd going to sleep: clear the skip hints of the node's zones where a
 * direct compaction's scanners met since (compact_blockskip_flush). */
void reset_isolation_suitable(pg_data_t *pgdat);
void compaction_fork_child(void);

/* For cma.c: isolate an allocated movable block (a page, or
 * the head of a block of any order, compound or not) through its owner and
 * migrate it whole into dst (an allocated non-compound block of the same
 * order the caller owns).  0 when moved (src went to the buddy, dst carries the owner's
 * data); -EAGAIN when the owner would not give it up; -EBUSY when its
 * migrate callback failed.  On failure dst is still the caller's. */
int migrate_movable_page_to(struct pa_page *src, struct pa_page *dst, enum pa_migrate_mode mode);

/* ------------------------------------------------------------------ */
/* oom.c                                                              */
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
void oom_forget_memcg(struct pa_memcg *memcg);   /* a cgroup is going away */
void oom_fork_prepare(void);
void oom_fork_parent(void);
void oom_fork_child(void);

/* ------------------------------------------------------------------ */
/* memcg.c                                                            */
/* ------------------------------------------------------------------ */

int pa_memcg_init(void);
const char *memcg_name(const struct pa_memcg *memcg);
/* Charge an allocated block to the calling thread's cgroup (reclaiming
 * from it first if over the limit): 0, or -1 when the limit holds. */
int memcg_charge_page(struct pa_page *page, pa_gfp_t gfp, unsigned int order);
/* page->memcg_data set: give the charge back (free path). */
void memcg_uncharge_page(struct pa_page *page, unsigned int order);
struct dhugetlb_pool;
/* For dhugetlb.c: where the cgroup keeps its dynamic hugetlb pool. */
struct dhugetlb_pool **memcg_dhugetlb_slot(struct pa_memcg *memcg);
void memcg_fork_lock(void);
void memcg_fork_unlock(void);

/* ------------------------------------------------------------------ */
/* mempolicy.c                                                        */
/* ------------------------------------------------------------------ */

int pa_mempolicy_init(void);     /* process default policy, CDM nodes, policy_zone */
void mpol_thread_init(struct pa_thread *t);
/* Allocate under the thread's policy (alloc_pages_mpol). */
struct pa_page *alloc_pages_mpol(struct pa_thread *t, pa_gfp_t gfp, unsigned int order);

/* ------------------------------------------------------------------ */
/* page_alloc.c                                                       */
/* ------------------------------------------------------------------ */

int fast_tables_init(void);    /* pa_init: the fast paths' tables, once the descriptors exist */
struct pa_page *__alloc_pages(pa_gfp_t gfp, unsigned int order, int preferred_nid,
                              const pa_nodemask_t *nodemask);
void free_the_page(struct pa_page *page, unsigned int order);
/* Free to the buddy directly, past magazines and pcp (compaction's released
 * source pages: so that a merged block can be captured). */
void free_pages_to_buddy(struct pa_page *page, unsigned int order);
/* Free the order-0 pages [start, end) of z to the buddy in the largest
 * aligned blocks (split exact allocations; CMA runs given back). */
void free_pages_range(struct zone *z, unsigned long start, unsigned long end);

/* ------------------------------------------------------------------ */
/* debug.c                                                            */
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
void debug_fork_lock(void);
void debug_fork_unlock(void);

/* ------------------------------------------------------------------ */
/* guard.c: debug guard pages (PAGEALLOC_DEBUG=guard)                 */
/* ------------------------------------------------------------------ */

/* 0: off.  Else split-off halves of a lower order become guard pages. */
extern PA_HIDDEN unsigned int debug_guardpage_minorder;
/* After pa_options_load, before the arenas: resolve guard[:N] against the
 * backing (hugetlb cannot be protected a 4 KiB page at a time). */
void pa_guard_init(void);
/* Zone lock held.  true: page (2^order) is now a PROT_NONE guard, counted
 * in NR_GUARD_PAGES, not free.  false: order too high, leave it free. */
bool set_page_guard(struct zone *z, struct pa_page *page, unsigned int order);
/* Zone lock held: the guard rejoins its buddy; access is restored. */
void clear_page_guard(struct zone *z, struct pa_page *page, unsigned int order);

/* ------------------------------------------------------------------ */
/* page_owner.c: allocation stacks (PAGEALLOC_DEBUG=owner)            */
/* ------------------------------------------------------------------ */

void pa_page_owner_init(void);    /* side table, stack depot, exit report */
void set_page_owner(struct pa_page *page, unsigned int order, pa_gfp_t gfp);
void reset_page_owner(struct pa_page *page, unsigned int order);
/* split_page: 2^order order-0 allocations, each with the head's record. */
void split_page_owner(struct pa_page *page, unsigned int order);
/* Migration moved an allocated block: the record goes with it. */
void copy_page_owner(struct pa_page *src, struct pa_page *dst);
void page_owner_fork_lock(void);
void page_owner_fork_unlock(void);

/* ------------------------------------------------------------------ */
/* stats.c                                                            */
/* ------------------------------------------------------------------ */

void pa_stats_init(void);   /* registers the PAGEALLOC_STATS exit report */
void stats_publish_fork_child(void);

/* ------------------------------------------------------------------ */
/* cma.c: contiguous memory areas                                     */
/* ------------------------------------------------------------------ */

/* Any CMA area exists: the only test the buddy pays for when there is none. */
extern PA_HIDDEN bool cma_configured;
static inline bool cma_active(void) { return __atomic_load_n(&cma_configured, __ATOMIC_RELAXED); }
/* Reserve the PAGEALLOC_CMA areas (at the end of pa_init): brings their
 * sections online and turns their pageblocks MIGRATE_CMA.  Bad specs are
 * reported and skipped; never fails the initialisation. */
void pa_cma_init(void);
/* The walker's part: CMA pageblocks and runs handed out are consistent.
 * Returns the number of problems, the first described in buf. */
int cma_validate(char *buf, size_t len);
void cma_fork_child(void);

/* ------------------------------------------------------------------ */
/* dirty.c: dirty pages per node, the dirty limit (page-writeback.c)  */
/* ------------------------------------------------------------------ */

/* The node may take more dirty pages: nr_dirty within node_dirty_limit. */
bool node_dirty_ok(pg_data_t *pgdat);
unsigned long node_dirty_limit(pg_data_t *pgdat);
/* A dirty block is being freed (or split): forget nr pages of it. */
void account_page_cleaned(struct pa_page *page, unsigned long nr);
/* Migration moves the dirty state (and the count, across nodes) to dst. */
void migrate_dirty_state(struct pa_page *dst, struct pa_page *src);

/* ------------------------------------------------------------------ */
/* dhugetlb.c: dynamic hugetlb pools of memory cgroups (openEuler)    */
/* ------------------------------------------------------------------ */

struct dhugetlb_pool;
/* Some pool holds blocks: the allocator looks at pools only then. */
extern PA_HIDDEN bool dhugetlb_active;
static inline bool dhugetlb_in_use(void) { return __atomic_load_n(&dhugetlb_active, __ATOMIC_RELAXED); }
/* Serve an order-0 PA_GFP_ACCOUNT request of a thread whose cgroup has a
 * pool, before the freelists; NULL sends it to the buddy. */
struct pa_page *alloc_page_from_dhugetlb_pool(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags);
/* A page of a pool was freed (refcount zero): back to its pool. */
void free_page_to_dhugetlb_pool(struct pa_page *page);
/* For memcg.c: a cgroup's pool goes with it. */
void dhugetlb_pool_destroy(struct dhugetlb_pool *pool);   /* every block free */
bool dhugetlb_pool_busy(const struct dhugetlb_pool *pool);
int dhugetlb_validate(char *buf, size_t len);
void dhugetlb_fork_child(void);

/* ------------------------------------------------------------------ */
/* contig.c: runs of any length (alloc_contig_pages)                  */
/* ------------------------------------------------------------------ */

/* Each page of an allocated block its own order-0 allocation (split_page). */
void split_page(struct pa_page *page, unsigned int order);
/* Pages [start, end) just taken off the free lists become order-0
 * allocations with one reference each. */
void prep_taken_range(unsigned long start, unsigned long end, pa_gfp_t gfp);

#endif /* PAGEALLOC_INTERNAL_H */

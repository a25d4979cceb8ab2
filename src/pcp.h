/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU page lists (pcp.c), as struct per_cpu_pages of the kernel's
 * mmzone.h, and the per-thread magazines in front of them: the structs,
 * the list index of an order, the pageset of this CPU, the inline part of
 * a free to the pcp, and pcp.c's functions that take these types.  The
 * pageset lock, with its rseq assembly, is in pcp_lock.h.
 */
#ifndef PAGEALLOC_PCP_H
#define PAGEALLOC_PCP_H

#include <stdbool.h>
#include <stddef.h>

#include <pagealloc/pagealloc.h>

#include "compiler.h"
#include "list.h"
#include "mm_types.h"
#include "mmzone.h"
#include "options.h"
#include "thread.h"

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
/* A thread's magazines: nr_mag_slots() of them and the unused last one. */
static inline size_t mag_array_bytes(void)
{
    return (nr_mag_slots() + 1) * sizeof(struct pa_magazine);
}

/* The order-0 requests a magazine may serve: these GFP bits only (the
 * others need the general path: zeroing, compound, accounting, dirty
 * spreading, THISNODE, reserves); the zone and mobility bits pick the
 * magazine from the thread's table. */
#define MAG_GFP_OK (PA_GFP_ZONEMASK | PA_GFP_RECLAIMABLE | PA_GFP_IO | PA_GFP_FS | PA_GFP_RECLAIM | \
                    PA_GFP_NOWARN | PA_GFP_RETRY_MAYFAIL | PA_GFP_NOFAIL | PA_GFP_NORETRY | PA_GFP_HARDWALL | \
                    PA_GFP_HIGH | PA_GFP_ATOMIC_BIT | PA_GFP_NOMEMALLOC)

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
/* fn for each pageset of z (per CPU, or per thread), for reports and tests. */
void pa_pcp_walk(struct zone *z, void (*fn)(struct zone *, struct per_cpu_pages *, void *), void *arg);
unsigned long mag_fill(struct per_cpu_pages *pcp, struct zone *z, struct pa_magazine *m, int mt,
                       unsigned int alloc_flags);
bool mag_flush(struct pa_magazine *m, struct zone *z, int mt);
/* fn for each thread that has magazines, each held still meanwhile. */
void pa_mag_walk(void (*fn)(struct pa_thread *, void *), void *arg);
/* The owner's view for frees: its magazines, unless it is inside reclaim
 * (whose frees are counted through t->reclaimed by the general path). */
static inline void mag_update_free(struct pa_thread *t)
{
    WRITE_ONCE(t->free_mags, t->reclaimed ? NULL : t->mags);
}
/* What an unnamed entry of a thread's magazine table points at: a magazine
 * that is always empty (n and high 0), so the fast path needs no NULL test. */
extern PA_HIDDEN struct pa_magazine mag_unnamed;
static inline void mag_table_reset(struct pa_thread *t)
{
    for (size_t i = 0; i < NR_MAG_GFP; i++)
        t->mag_for_gfp[i] = &mag_unnamed;
}
static inline struct pa_magazine *thread_mag(struct pa_thread *t, const struct zone *z, int mt)
{
    return &t->mags[z->mag_slot + (unsigned int)mt];
}
/*
 * The owner's side of the asymmetric Dekker pattern shared by the
 * magazines and the owner-locked pagesets: mark *busy, then back out if a
 * remote drainer has set *drain (its membarrier orders the two).
 */
static inline bool owner_enter(int *busy, const int *drain)
{
    __atomic_store_n(busy, 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);   /* the drainer's membarrier is the fence */
    if (likely(!__atomic_load_n(drain, __ATOMIC_ACQUIRE)))
        return true;
    __atomic_store_n(busy, 0, __ATOMIC_RELEASE);
    return false;
}
/* Enter the magazines: false when a drainer holds them (then stay out). */
static inline bool mag_enter(struct pa_thread *t)
{
    return owner_enter(&t->mag_busy, &t->mag_drain);
}
static inline void mag_exit(struct pa_thread *t)
{
    __atomic_store_n(&t->mag_busy, 0, __ATOMIC_RELEASE);
}

#endif /* PAGEALLOC_PCP_H */

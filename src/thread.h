/* SPDX-License-Identifier: MIT */
/*
 * Per-thread state (thread.c): the thread's counters, its magazine table,
 * its reclaim and compaction state, its memory policy and cpuset; the task
 * flags and the scoped allocation contexts (context.c) they carry.
 */
#ifndef PAGEALLOC_THREAD_H
#define PAGEALLOC_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pagealloc/pagealloc.h>

#include "compiler.h"
#include "mmzone.h"

struct per_cpu_pages;
struct pa_magazine;
struct capture_control;
struct pa_memcg;

/* The thread's magazine table (mag_for_gfp) is indexed by the zone and
 * mobility GFP bits; MAG_GFP_OK (pcp.h) says which requests it serves. */
#define MAG_GFP_INDEX (PA_GFP_ZONEMASK | PA_GFP_RECLAIMABLE)
#define NR_MAG_GFP (MAG_GFP_INDEX + 1)
_Static_assert(MAG_GFP_INDEX == 0x1f, "the magazine table is indexed by the low 5 GFP bits");

/* Thread flags, as the kernel's task flags. */
#define PF_MEMALLOC        0x1u   /* inside reclaim: no recursion, may use all reserves */
#define PF_KSWAPD          0x2u   /* a kswapd thread */
#define PF_MEMALLOC_NOIO   0x4u   /* scope: allocations behave as if !__GFP_IO (context.c) */
#define PF_MEMALLOC_NOFS   0x8u   /* scope: allocations behave as if !__GFP_FS (context.c) */

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
     * node; mag_unnamed (pcp.h, always empty) sends the request to the
     * general path */
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
/* Call fn for every live thread.  pa_for_each_thread takes the thread
 * registry's lock around the walk; pa_for_each_thread_locked is for a
 * caller that holds it already (pa_threads_lock, as the fork handler). */
void pa_for_each_thread(void (*fn)(struct pa_thread *, void *), void *arg);
void pa_for_each_thread_locked(void (*fn)(struct pa_thread *, void *), void *arg);
void pa_threads_lock(void);
void pa_threads_unlock(void);
void pa_threads_fork_child(void (*reap)(struct pa_thread *));

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

#endif /* PAGEALLOC_THREAD_H */

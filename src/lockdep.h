/* SPDX-License-Identifier: MIT */
/*
 * Lock classes, their order, and the checker of PAGEALLOC_DEBUG=locks (the
 * kernel's lockdep, jemalloc's witness), with the mutex wrapper that feeds
 * it.  docs/locking.md lists every lock and why it sits where it does.
 *
 * Each lock belongs to a class with a rank; a thread may take a lock only
 * when its rank is above every rank it holds (a trylock may take any: it
 * cannot wait, so it cannot deadlock).  Some classes nest with themselves
 * (several zone locks at once, in ascending zone order).  Leaf classes
 * come last: nothing is taken while one is held.  When the checker is off
 * each hook is one predictable branch on pa_lockdep_on.
 */
#ifndef PAGEALLOC_LOCKDEP_H
#define PAGEALLOC_LOCKDEP_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "compiler.h"

/* Outermost first: the order of docs/locking.md. */
enum lock_class {
    LOCK_NONE,
    LOCK_INIT,              /* init_lock, mm_init.c: pa_init */
    LOCK_STATS_PUBLISH,     /* publish_lock, stats.c */
    LOCK_DHUGETLB,          /* dhugetlb_mutex, dhugetlb.c */
    LOCK_CMA,               /* cma_area.lock, cma.c */
    LOCK_OOM,               /* oom_lock, oom.c */
    LOCK_PCP_REMOTE,        /* remote_lock, pcp.c */
    LOCK_THREADS,           /* threads_lock, thread.c */
    LOCK_MAGAZINE,          /* a thread held out of its magazines (mag_drain), pcp.c */
    LOCK_PAGESET,           /* per_cpu_pages.locked / .remote */
    LOCK_GROW,              /* pglist_data.grow_lock, arena.c */
    LOCK_ZONE,              /* zone.lock */
    /* leaves: nothing else is taken while one of these is held */
    LOCK_FIRST_LEAF,
    LOCK_DHUGETLB_POOL = LOCK_FIRST_LEAF,   /* dhugetlb_pool.lock */
    LOCK_KSWAPD,            /* pgdat_reclaim.lock, reclaim.c */
    LOCK_KCOMPACTD,         /* pgdat_compact.lock, compaction.c */
    LOCK_SHRINKER,          /* shrinker_lock, reclaim.c */
    LOCK_LRU,               /* pa_lru.lock, reclaim.c */
    LOCK_RECLAIM_INIT,      /* reclaim_init_lock, reclaim.c */
    LOCK_MEMCG,             /* memcg_lock, memcg.c */
    LOCK_OOM_REGISTRY,      /* oom_registry_lock, oom.c */
    LOCK_DEPOT,             /* depot_lock, page_owner.c */
    LOCK_REPORTING,         /* prd.lock, page_reporting.c */
    LOCK_DECAY_START,       /* decay_start_lock, pcp.c */
    LOCK_RATELIMIT,         /* warn_alloc's rate limit, debug.c */
    NR_LOCK_CLASSES
};

extern PA_HIDDEN bool pa_lockdep_on;   /* PAGEALLOC_DEBUG=locks */

/* lockdep.c: the checker proper (only called when it is on). */
void lockdep_acquire_slow(enum lock_class c, unsigned int sub, bool trylock);
void lockdep_release_slow(enum lock_class c, unsigned int sub);
void lockdep_init(void);
/* Every lock of class c the caller holds is gone (a fork child resets them). */
void lockdep_forget_class(enum lock_class c);

/* Before a blocking acquisition: aborts, naming both locks, if it breaks
 * the order.  sub orders the locks of a class that nests with itself. */
static inline void lockdep_acquire(enum lock_class c, unsigned int sub)
{
    if (__builtin_expect(__atomic_load_n(&pa_lockdep_on, __ATOMIC_RELAXED), 0))
        lockdep_acquire_slow(c, sub, false);
}
/* After a successful trylock: held from now on, in any order. */
static inline void lockdep_acquired_try(enum lock_class c, unsigned int sub)
{
    if (__builtin_expect(__atomic_load_n(&pa_lockdep_on, __ATOMIC_RELAXED), 0))
        lockdep_acquire_slow(c, sub, true);
}
static inline void lockdep_release(enum lock_class c, unsigned int sub)
{
    if (__builtin_expect(__atomic_load_n(&pa_lockdep_on, __ATOMIC_RELAXED), 0))
        lockdep_release_slow(c, sub);
}

/* ------------------------------------------------------------------ */
/* Mutexes with a class (the kernel's struct mutex)                    */
/* ------------------------------------------------------------------ */

struct mutex {
    pthread_mutex_t m;
    enum lock_class class;
    unsigned int sub;
};

#define MUTEX_INITIALIZER(c) { PTHREAD_MUTEX_INITIALIZER, (c), 0 }

static inline void mutex_init(struct mutex *l, enum lock_class c, unsigned int sub)
{
    pthread_mutex_init(&l->m, NULL);
    l->class = c;
    l->sub = sub;
}
static inline void mutex_lock(struct mutex *l)
{
    lockdep_acquire(l->class, l->sub);
    pthread_mutex_lock(&l->m);
}
static inline bool mutex_trylock(struct mutex *l)
{
    if (pthread_mutex_trylock(&l->m) != 0)
        return false;
    lockdep_acquired_try(l->class, l->sub);
    return true;
}
static inline void mutex_unlock(struct mutex *l)
{
    lockdep_release(l->class, l->sub);
    pthread_mutex_unlock(&l->m);
}
/* The wait lets the mutex go and takes it back: the checker sees both. */
static inline int mutex_cond_wait(pthread_cond_t *cond, struct mutex *l)
{
    lockdep_release(l->class, l->sub);
    int rc = pthread_cond_wait(cond, &l->m);
    lockdep_acquired_try(l->class, l->sub);
    return rc;
}
static inline int mutex_cond_timedwait(pthread_cond_t *cond, struct mutex *l, const struct timespec *abstime)
{
    lockdep_release(l->class, l->sub);
    int rc = pthread_cond_timedwait(cond, &l->m, abstime);
    lockdep_acquired_try(l->class, l->sub);
    return rc;
}

#endif /* PAGEALLOC_LOCKDEP_H */

/* SPDX-License-Identifier: MIT */
/*
 * fork: the library's one pthread_atfork handler.  Before fork it takes
 * the locks that may be held across it in the order of docs/locking.md
 * (each file's step takes its own), after it the parent lets them go in
 * reverse, and the child lets them go in reverse and then resets what only
 * the threads that did not survive fork could have held.
 *
 * Held across fork: remote_lock, threads_lock, every thread's magazines,
 * every pageset, the grow and zone locks (pcp.c), then the leaves
 * shrinker_lock, memcg_lock, oom_registry_lock, depot_lock and warn_alloc's
 * rate limit.  Reset in
 * the child instead: the locks held across a callback into the program,
 * across thread creation or across stdio (oom_lock, the CMA area locks,
 * dhugetlb_mutex, publish_lock, the kswapd, kcompactd and worker start
 * locks), which fork must not wait for; docs/locking.md says why for each.
 */
#include "internal.h"

static void fork_prepare(void)
{
    arena_fork_prepare();       /* a warning only, before any lock */
    pcp_fork_prepare();         /* remote_lock .. the zone locks */
    reclaim_fork_prepare();     /* shrinker_lock */
    memcg_fork_lock();          /* memcg_lock */
    oom_fork_prepare();         /* oom_registry_lock */
    page_owner_fork_lock();     /* depot_lock */
    debug_fork_lock();          /* warn_alloc's rate limit */
}

static void fork_parent(void)
{
    debug_fork_unlock();
    page_owner_fork_unlock();
    oom_fork_parent();
    memcg_fork_unlock();
    reclaim_fork_parent();
    pcp_fork_parent();
}

static void fork_child(void)
{
    /* in reverse, as the parent, then what the vanished threads left */
    debug_fork_unlock();
    page_owner_fork_unlock();
    oom_fork_child();
    memcg_fork_unlock();
    reclaim_fork_child();
    pcp_fork_child();           /* the zone locks free again: the steps below may take them */
    page_reporting_fork_child();
    compaction_fork_child();
    dhugetlb_fork_child();
    cma_fork_child();
    stats_publish_fork_child();
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_register(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void pa_fork_init(void)
{
    pthread_once(&fork_once, fork_register);
}

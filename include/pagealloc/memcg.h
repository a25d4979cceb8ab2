/* SPDX-License-Identifier: MIT */
/*
 * Memory cgroups: PA_GFP_ACCOUNT allocations are charged to the calling
 * thread's cgroup after they succeed and uncharged when freed.  A charge
 * that would pass the limit first reclaims from the cgroup's memcg-aware
 * shrinkers, then fails (the allocation returns NULL with ENOMEM).
 */
#ifndef PAGEALLOC_MEMCG_H
#define PAGEALLOC_MEMCG_H

#include <stddef.h>

#include <pagealloc/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pa_memcg;

/* limit in bytes, 0 = unlimited; name is copied.  NULL with errno. */
PA_API struct pa_memcg *pa_memcg_create(const char *name, size_t limit);
/* -1 with EBUSY while pages are charged, threads attached or pages of its
 * dynamic hugetlb pool in use; the pool's blocks go back to the buddy. */
PA_API int pa_memcg_destroy(struct pa_memcg *memcg);
/* Attach the calling thread (NULL: detach). */
PA_API int pa_memcg_attach(struct pa_memcg *memcg);
PA_API struct pa_memcg *pa_memcg_current(void);
PA_API size_t pa_memcg_usage(const struct pa_memcg *memcg);     /* bytes charged */
PA_API size_t pa_memcg_limit(const struct pa_memcg *memcg);
PA_API int pa_memcg_set_limit(struct pa_memcg *memcg, size_t limit);
/* Times a charge hit the limit (memory.events "max"). */
PA_API unsigned long pa_memcg_failcnt(const struct pa_memcg *memcg);

/*
 * Dynamic hugetlb pools (openEuler's dhugetlb), off unless
 * PAGEALLOC_DYNAMIC_HUGETLB=on.  A cgroup may own a pool of 2 MiB
 * hugepage-backed blocks taken from the buddy whole; its threads' order-0
 * PA_GFP_ACCOUNT allocations are served from the pool first and fall back
 * to the buddy when it is empty (both are charged as usual).  The memory
 * of a workload then stays in a few hugepages of its own instead of
 * spreading over the arena (fewer TLB misses, no fragmentation of others),
 * and what it frees stays reserved for it.
 *
 * Resize to `bytes` (a multiple of 2 MiB; 0 empties it): growing takes
 * whole blocks from the buddy, all or nothing (ENOMEM); shrinking gives
 * back only blocks none of whose pages are in use, all or nothing (EBUSY).
 * EOPNOTSUPP when pools are off, EINVAL for a bad size.
 */
PA_API int pa_memcg_dhugetlb_resize(struct pa_memcg *memcg, size_t bytes);

struct pa_dhugetlb_stat {
    size_t size;                 /* bytes in the pool (whole blocks) */
    unsigned long free_pages;    /* pages of the pool not in use */
    unsigned long used_pages;    /* pages of the pool in use */
    unsigned long alloc_pool;    /* allocations served from the pool */
    unsigned long alloc_buddy;   /* allocations that found it empty and used the buddy */
};
/* 0, or -1 with EINVAL. */
PA_API int pa_memcg_dhugetlb_stat(const struct pa_memcg *memcg, struct pa_dhugetlb_stat *st);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_MEMCG_H */

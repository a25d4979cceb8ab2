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
/* -1 with EBUSY while pages are charged or threads attached. */
PA_API int pa_memcg_destroy(struct pa_memcg *memcg);
/* Attach the calling thread (NULL: detach). */
PA_API int pa_memcg_attach(struct pa_memcg *memcg);
PA_API struct pa_memcg *pa_memcg_current(void);
PA_API size_t pa_memcg_usage(const struct pa_memcg *memcg);     /* bytes charged */
PA_API size_t pa_memcg_limit(const struct pa_memcg *memcg);
PA_API int pa_memcg_set_limit(struct pa_memcg *memcg, size_t limit);
/* Times a charge hit the limit (memory.events "max"). */
PA_API unsigned long pa_memcg_failcnt(const struct pa_memcg *memcg);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_MEMCG_H */

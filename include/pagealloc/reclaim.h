/* SPDX-License-Identifier: MIT */
/*
 * Reclaim, compaction and OOM, shaped as Linux 6.7+.
 *
 * Shrinkers: caches that can give memory back register a shrinker; when a
 * node runs short (kswapd below the LOW watermark, or direct reclaim in an
 * allocating thread that may sleep), the library asks each shrinker how
 * many objects it could free (count_objects) and then to free a share of
 * them (scan_objects), in batches, scaled by `seeks` and the reclaim
 * priority as the kernel's do_shrink_slab does; work a shrinker could not do
 * is deferred to the next pass.  NUMA-aware shrinkers are asked per node.
 *
 * Movable blocks and the migration protocol (compaction, CMA):
 *   A block of any order, compound (PA_GFP_COMP) or not, is registered and
 *   migrated whole, through its first page ("page" below).
 *   1. The owner registers a block with pa_page_set_movable(page, ops, owner).
 *   2. Compaction calls ops->isolate_page(page, mode).  Returning true means
 *      the owner will neither free nor touch the block until the library
 *      calls migrate_page or putback_page for it; false means "not now".
 *   3. The library calls ops->migrate_page(dst, src, mode): dst is a block of
 *      the same order (compound if src is), the owner copies the contents
 *      (PAGE_SIZE << order bytes, from pa_page_address) and repoints its
 *      references, then returns 0.  Any other value leaves src in place.
 *      On success the registration (ops, owner) and the owner's reference
 *      move to dst; the library frees src.
 *   4. On failure, or when compaction stops early, ops->putback_page(src)
 *      hands the block back to the owner, unchanged.
 *   Freeing a block clears its registration.  migrate_page must not allocate
 *   with PA_GFP_DIRECT_RECLAIM.  Callbacks run without library locks held.
 *   Direct compaction and kcompactd pass PA_MIGRATE_ASYNC or _SYNC_LIGHT;
 *   pa_compact_node/memory and pa_cma_alloc pass PA_MIGRATE_SYNC.
 *
 * OOM clients: subsystems that can give everything back.  When an
 * allocation cannot be satisfied after reclaim and compaction, the library
 * picks the client with the highest badness (rss + oom_score_adj * total /
 * 1000; -1000 is never chosen), calls its kill(), and waits a bounded time
 * for the memory to come back.
 */
#ifndef PAGEALLOC_RECLAIM_H
#define PAGEALLOC_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>

#include <pagealloc/export.h>
#include <pagealloc/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pa_page;
struct pa_memcg;

/* ------------------------------------------------------------------ */
/* Shrinkers                                                           */
/* ------------------------------------------------------------------ */

struct pa_shrink_control {
    pa_gfp_t gfp_mask;          /* what the reclaimer may do (no FS, no IO, ...) */
    int nid;                    /* the node being reclaimed (NUMA-aware shrinkers) */
    unsigned long nr_to_scan;   /* objects to scan in this call */
    unsigned long nr_scanned;   /* the shrinker may report how many it scanned */
    struct pa_memcg *memcg;     /* the cgroup being reclaimed (memcg-aware shrinkers); NULL: global */
};

#define PA_SHRINK_STOP  (~0UL)        /* scan_objects: cannot make progress now */
#define PA_SHRINK_EMPTY (~0UL - 1)    /* count_objects: nothing to free at all */

#define PA_SHRINKER_NUMA_AWARE  0x1u  /* asked per node, with sc->nid */
#define PA_SHRINKER_MEMCG_AWARE 0x2u  /* also asked by memory-cgroup reclaim, with sc->memcg */

#define PA_DEFAULT_SEEKS 2            /* DEFAULT_SEEKS */

struct pa_shrinker {              /* public fields; private ones may follow */
    unsigned long (*count_objects)(struct pa_shrinker *, struct pa_shrink_control *);
    unsigned long (*scan_objects)(struct pa_shrinker *, struct pa_shrink_control *);
    int seeks;                    /* cost to recreate an object (PA_DEFAULT_SEEKS) */
    long batch;                   /* objects per scan_objects call; 0: 128 */
    unsigned int flags;           /* PA_SHRINKER_* */
    void *private_data;
};

/* Allocate a shrinker (NULL with ENOMEM); name is copied.  Fill in the
 * callbacks, then pa_shrinker_register().  pa_shrinker_free() unregisters
 * first, waiting for calls in progress to finish. */
PA_API struct pa_shrinker *pa_shrinker_alloc(unsigned int flags, const char *name);
PA_API void pa_shrinker_register(struct pa_shrinker *s);
PA_API void pa_shrinker_free(struct pa_shrinker *s);

/* ------------------------------------------------------------------ */
/* An LRU helper for page-cache-like users, built on a shrinker        */
/* ------------------------------------------------------------------ */

struct pa_lru;
/* evict: the owner gives up the page and frees it (return true), or keeps
 * it (false: it is rotated back).  Called without library locks held. */
typedef bool (*pa_lru_evict_fn)(struct pa_lru *lru, struct pa_page *page, void *private_data);

/* NULL with errno (EINVAL, ENOMEM).  Pages of an LRU are reclaimed through
 * its shrinker: inactive pages first, the oldest first; a page accessed
 * while inactive is activated; the active list refills the inactive one. */
PA_API struct pa_lru *pa_lru_create(const char *name, pa_lru_evict_fn evict, void *private_data);
PA_API void pa_lru_destroy(struct pa_lru *lru);           /* the pages stay the owner's */
PA_API int pa_lru_add(struct pa_lru *lru, struct pa_page *page);  /* -1 EINVAL if on an LRU */
PA_API void pa_lru_mark_accessed(struct pa_lru *lru, struct pa_page *page);
PA_API int pa_lru_del(struct pa_lru *lru, struct pa_page *page);  /* -1 EINVAL if not on lru */
PA_API unsigned long pa_lru_size(struct pa_lru *lru, bool active);

/* ------------------------------------------------------------------ */
/* Compaction                                                          */
/* ------------------------------------------------------------------ */

enum pa_migrate_mode { PA_MIGRATE_ASYNC, PA_MIGRATE_SYNC_LIGHT, PA_MIGRATE_SYNC };

struct pa_movable_ops {
    bool (*isolate_page)(struct pa_page *page, enum pa_migrate_mode mode);
    int  (*migrate_page)(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode); /* 0 = moved */
    void (*putback_page)(struct pa_page *page);
};

PA_API void  pa_page_set_movable(struct pa_page *page, const struct pa_movable_ops *ops, void *owner);
PA_API void *pa_page_movable_owner(const struct pa_page *page);
/* Compact every zone of a node (or all nodes) fully, synchronously.
 * Returns 0, or -1 with EINVAL for a bad node. */
PA_API int   pa_compact_node(int nid);
PA_API int   pa_compact_memory(void);

/* ------------------------------------------------------------------ */
/* OOM                                                                 */
/* ------------------------------------------------------------------ */

struct pa_oom_client {
    const char *name;
    unsigned long (*rss_pages)(struct pa_oom_client *);
    int oom_score_adj;                                  /* -1000 (never) .. 1000 */
    void (*kill)(struct pa_oom_client *);               /* give back its memory */
    void *private_data;
};

/* 0, or -1 with EINVAL (NULL, missing callbacks, adj out of range, already
 * registered). */
PA_API int pa_oom_register(struct pa_oom_client *c);
PA_API int pa_oom_unregister(struct pa_oom_client *c);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_RECLAIM_H */

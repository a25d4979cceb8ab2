/* SPDX-License-Identifier: MIT */
/*
 * jemalloc arenas whose extents come from libpagealloc (libpagealloc-jemalloc,
 * a library of its own: link it with pkg-config pagealloc-jemalloc or the
 * CMake target pagealloc::jemalloc; the core library has no jemalloc
 * dependency).
 *
 *   int a = pa_jemalloc_arena_create(PA_GFP_USER, 1);      // node 1
 *   void *p = mallocx(4096, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
 *   ...
 *   dallocx(p, 0);
 *
 * jemalloc's extent hooks (5.x extent_hooks_t) hand its arena page runs
 * from pa_alloc_contig_pages() (<pagealloc/contig.h>): a buddy block up to
 * 4 MiB (PA_MAX_ORDER), a run of whole free 4 MiB blocks beyond.  What
 * jemalloc purges, dallocs or destroys goes back to libpagealloc at once,
 * so mallctl("arena.<i>.destroy") returns every page.  An extent the
 * allocator cannot give fails, and jemalloc reports the failure (mallocx
 * returns NULL): it never comes from anywhere else.
 *
 * The programs calling these functions must use jemalloc as their malloc
 * (link with -ljemalloc, or preload Debian's libjemalloc.so.2).
 * `pagealloc-run --malloc=jemalloc -- prog` puts a whole unmodified
 * program's heap on libpagealloc instead (docs/jemalloc.md).
 */
#ifndef PAGEALLOC_JEMALLOC_H
#define PAGEALLOC_JEMALLOC_H

#include <stddef.h>
#include <stdio.h>

#include <pagealloc/export.h>
#include <pagealloc/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A jemalloc arena whose extents come from libpagealloc, allocated with gfp on node nid
 * (nid -1: under the calling thread's memory policy, at each extent allocation).
 * Returns the arena index for mallocx(size, MALLOCX_ARENA(i) | ...), or -1 with errno
 * (EINVAL: bad node or GFP mask; ENOMEM). */
PA_API int pa_jemalloc_arena_create(pa_gfp_t gfp, int nid);

/*
 * Counters of one arena with libpagealloc's hooks.  Set size to
 * sizeof(struct pa_jemalloc_stats) before the call: fields past it are left
 * alone, so the struct can grow.
 */
struct pa_jemalloc_stats {
    size_t size;                  /* in: sizeof the caller's struct */
    pa_gfp_t gfp;                 /* the arena's mask */
    int nid;                      /* its node, -1 for the thread's policy */
    unsigned long nr_alloc;       /* extents served */
    unsigned long nr_contig;      /* of those, runs longer than a buddy block */
    unsigned long nr_alloc_failed;/* extents the allocator could not give */
    unsigned long nr_new_addr;    /* requests for a given address (refused) */
    unsigned long nr_dalloc;      /* extents given back by dalloc */
    unsigned long nr_destroy;     /* extents given back by destroy */
    unsigned long nr_purge;       /* forced purges (the range zeroed in place) */
    unsigned long nr_split;
    unsigned long nr_merge;
    unsigned long nr_foreign;     /* hook calls on memory that is not libpagealloc's, refused */
    size_t bytes;                 /* bytes held now (served, not given back) */
    size_t bytes_peak;            /* the most held at once */
};

/* Counters of arena arena_ind.  0, or -1 with EINVAL (st NULL, size too
 * small, or the arena does not use libpagealloc's hooks). */
PA_API int pa_jemalloc_arena_stats(unsigned int arena_ind, struct pa_jemalloc_stats *st);

/* One line per arena with libpagealloc's hooks, the counters above; 0, or
 * -1 with errno (EINVAL for a NULL f). */
PA_API int pa_jemalloc_show(FILE *f);

/* The jemalloc arena a live allocation (from malloc, mallocx, ...) belongs
 * to, as memkind_detect_kind does for kinds; -1 with EINVAL for memory that
 * is not libpagealloc's (checked first) or not jemalloc's. */
PA_API int pa_jemalloc_arena_of(const void *ptr);

/* The node the page holding ptr is on; -1 with EINVAL when ptr is not in
 * libpagealloc's memory. */
PA_API int pa_jemalloc_node_of(const void *ptr);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_JEMALLOC_H */

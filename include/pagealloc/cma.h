/* SPDX-License-Identifier: MIT */
/*
 * Contiguous memory areas (the kernel's CMA).
 *
 * PAGEALLOC_CMA=SIZE[@NODE][,SIZE[@NODE]...] reserves areas at start-up
 * (sizes rounded up to 4 MiB, the largest buddy block; default node 0).
 * While idle, an area lends its pages to movable allocations
 * (PA_GFP_MOVABLE), first whenever more than half of the zone's free memory
 * is in CMA.  pa_cma_alloc() then hands out a physically and virtually
 * contiguous run of any length inside one area -- beyond the buddy's 4 MiB
 * limit -- by migrating the borrowed movable pages out of the run first
 * (through their owners' pa_movable_ops, as compaction does).  Pages that
 * are in use but not movable make the run fail (ENOMEM, cma_alloc_fail).
 *
 * Userspace meaning: large device or DMA buffers, huge ring buffers and
 * arenas that must be one range, without keeping the memory idle while no
 * one needs such a range.
 */
#ifndef PAGEALLOC_CMA_H
#define PAGEALLOC_CMA_H

#include <stddef.h>

#include <pagealloc/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pa_page;

/*
 * count contiguous pages from a CMA area, the first aligned to
 * 2^align_order pages (align_order <= 31).  Tries the calling thread's
 * node's areas first, then the others.  Each page of the run is an order-0
 * allocation with one reference; give the run back whole with
 * pa_cma_release().  May sleep (migration, draining per-CPU lists).
 * NULL with EINVAL (count 0, bad alignment), ENODEV (no CMA area) or
 * ENOMEM (no free run, or pages in the way could not be moved).
 */
PA_API struct pa_page *pa_cma_alloc(size_t count, unsigned int align_order);

/*
 * Give back a whole run from pa_cma_alloc (cma_release), with the count it
 * was allocated with.  0, or -1 with EINVAL when the pages are not such a
 * run (outside every area, already released, part of a run or more than
 * one, a page freed or still referenced otherwise); nothing changes then.
 */
PA_API int pa_cma_release(struct pa_page *pages, size_t count);

struct pa_cma_info {
    int nid;                    /* node of the area */
    unsigned long base_pfn;     /* first pfn */
    size_t count;               /* pages in the area */
    size_t allocated;           /* pages handed out by pa_cma_alloc */
};

/* Number of CMA areas, and one area's description (0, or -1 with EINVAL). */
PA_API int pa_cma_nr_areas(void);
PA_API int pa_cma_area_info(int idx, struct pa_cma_info *info);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_CMA_H */

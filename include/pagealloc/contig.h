/* SPDX-License-Identifier: MIT */
/*
 * Contiguous runs of pages of any length, outside CMA (the kernel's
 * alloc_contig_pages / free_contig_range).
 *
 * A run is virtually contiguous (and physically, as far as the backing is)
 * and lies in one zone.  Each of its pages is an order-0 allocation with one
 * reference, so any part of a run, or of runs that touch, can be given back
 * on its own: what an extent allocator that splits and merges ranges needs
 * (libpagealloc-jemalloc's extent hooks use these calls).
 */
#ifndef PAGEALLOC_CONTIG_H
#define PAGEALLOC_CONTIG_H

#include <stddef.h>

#include <pagealloc/export.h>
#include <pagealloc/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pa_page;

/*
 * nr_pages contiguous pages, the first aligned to 2^align_order pages
 * (align_order <= 31), with gfp (PA_GFP_COMP is refused), on node nid
 * (-1: under the calling thread's memory policy).
 *
 * When the run and its alignment fit a buddy block (4 MiB at the default
 * PA_MAX_ORDER) it is that block, allocated as pa_alloc_pages(_node) would
 * (policy, watermarks, reclaim, compaction, fault injection), with the pages
 * beyond the run given back at once.  A longer run is consecutive free
 * PA_MAX_ORDER blocks of one zone of nid's zonelist (the policy's node and
 * nodes for nid -1; only its nodes under a bind policy), taken off the free
 * lists; zones grow a section at a time to find one.  No page is migrated
 * for it: when no such run exists the call fails.  PA_GFP_ZERO zeroes it.
 * Runs above a buddy block are not charged to a memory cgroup.
 *
 * NULL with errno EINVAL (nr_pages 0, bad alignment, node or flags) or
 * ENOMEM.  Costs one buddy allocation, or a scan of one flag per 4 MiB of
 * each zone tried under its lock.
 */
PA_API struct pa_page *pa_alloc_contig_pages(size_t nr_pages, unsigned int align_order, pa_gfp_t gfp,
                                             int nid);

/*
 * Give back nr_pages pages from page on: a run of pa_alloc_contig_pages, a
 * part of one, or parts of runs that touch (pfn-contiguous).  Every page
 * must be allocated with exactly one reference; otherwise the call reports
 * the page ("BUG: Bad page state") and gives nothing back.
 */
PA_API void pa_free_contig_range(struct pa_page *page, size_t nr_pages);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_CONTIG_H */

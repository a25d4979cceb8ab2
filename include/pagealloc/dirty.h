/* SPDX-License-Identifier: MIT */
/*
 * Dirty pages and PA_GFP_WRITE (the kernel's dirty-page spreading).
 *
 * An owner that writes pages it will later have to write back (a page
 * cache, a log buffer, a database's dirty buffer pool) marks them with
 * pa_set_page_dirty() and clears them with pa_clear_page_dirty() once they
 * are written back; freeing a page clears it too.  Each node has a dirty
 * limit, PAGEALLOC_DIRTY_RATIO percent (vm.dirty_ratio, default 20) of its
 * dirtyable memory: free memory (including capacity not yet online) less
 * its reserves (HIGH watermarks, lowmem reserves), plus the dirty pages
 * themselves -- the kernel's node_dirty_limit.  Allocations with
 * PA_GFP_WRITE skip nodes over their limit on the first attempt
 * (spread_dirty_pages), so write-back load spreads over the nodes; the
 * slow path may exceed the limit rather than fail.
 */
#ifndef PAGEALLOC_DIRTY_H
#define PAGEALLOC_DIRTY_H

#include <pagealloc/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pa_page;

/* Mark an allocated block dirty (its head, or any page of a compound
 * page): 1 if it was clean, 0 if already dirty, -1 with EINVAL for a bad
 * or free page.  Counts 2^order pages in its node's nr_dirty. */
PA_API int pa_set_page_dirty(struct pa_page *page);
/* Written back: 1 if it was dirty, 0 if clean, -1 with EINVAL. */
PA_API int pa_clear_page_dirty(struct pa_page *page);
/* 1 dirty, 0 clean, -1 with EINVAL. */
PA_API int pa_page_dirty(const struct pa_page *page);
/* A node's dirty pages and its current dirty limit, in pages (0, or -1
 * with EINVAL for a bad node). */
PA_API int pa_node_dirty_info(int nid, unsigned long *nr_dirty, unsigned long *limit);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_DIRTY_H */

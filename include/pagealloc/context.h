/* SPDX-License-Identifier: MIT */
/*
 * Scoped allocation contexts (the kernel's memalloc_noio_save & co.).
 *
 * A thread that must not let reclaim start I/O (it is itself on the I/O
 * path: a block driver, a swap device, a storage engine's flush thread)
 * or call into a file system (it holds a file system lock) marks the
 * region once instead of passing PA_GFP_NOIO / PA_GFP_NOFS to every
 * allocation below it, including those made by libraries it calls:
 *
 *     unsigned int s = pa_memalloc_noio_save();
 *     ... any allocation here behaves as if PA_GFP_IO and PA_GFP_FS were clear ...
 *     pa_memalloc_noio_restore(s);
 *
 * The scopes apply on the slow path (current_gfp_context): shrinkers see
 * the narrowed mask in pa_shrink_control.gfp_mask and must not do what it
 * forbids.  The noreclaim scope (PF_MEMALLOC) is for code that reclaims
 * memory itself: allocations inside it never enter reclaim and may use the
 * reserves below the MIN watermark.
 *
 * Scopes nest and are per thread; restores must come in reverse order with
 * the value the matching save returned.  A restore without a matching save,
 * out of order, or with a value from another kind of scope is reported on
 * stderr and refused: -1 with EINVAL, nothing changes.
 */
#ifndef PAGEALLOC_CONTEXT_H
#define PAGEALLOC_CONTEXT_H

#include <pagealloc/export.h>
#include <pagealloc/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

PA_API unsigned int pa_memalloc_noio_save(void);
PA_API int pa_memalloc_noio_restore(unsigned int flags);
PA_API unsigned int pa_memalloc_nofs_save(void);
PA_API int pa_memalloc_nofs_restore(unsigned int flags);
PA_API unsigned int pa_memalloc_noreclaim_save(void);
PA_API int pa_memalloc_noreclaim_restore(unsigned int flags);

/* What the calling thread's scopes make of a mask (current_gfp_context). */
PA_API pa_gfp_t pa_current_gfp_context(pa_gfp_t gfp);

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_CONTEXT_H */

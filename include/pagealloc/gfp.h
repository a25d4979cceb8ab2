/* SPDX-License-Identifier: MIT */
/*
 * GFP ("get free pages") flags: what the caller allows the allocator to do
 * and where the pages may come from.  Bit values follow the Linux kernel's
 * layout so that code ported from mm/ reads the same; the meanings are the
 * kernel's (see include/linux/gfp_types.h there).
 */
#ifndef PAGEALLOC_GFP_H
#define PAGEALLOC_GFP_H

typedef unsigned int pa_gfp_t;

/* Zone modifiers: the highest zone the request may use (gfp_zone()). */
#define PA_GFP_DMA              0x01u
#define PA_GFP_HIGHMEM          0x02u   /* no highmem on 64-bit: means NORMAL, or MOVABLE with PA_GFP_MOVABLE */
#define PA_GFP_DMA32            0x04u
#define PA_GFP_MOVABLE          0x08u   /* also a mobility bit: MIGRATE_MOVABLE */
#define PA_GFP_ZONEMASK         (PA_GFP_DMA | PA_GFP_HIGHMEM | PA_GFP_DMA32 | PA_GFP_MOVABLE)

/* Mobility and placement. */
#define PA_GFP_RECLAIMABLE      0x10u   /* MIGRATE_RECLAIMABLE: freed by a shrinker */
#define PA_GFP_WRITE            0x1000u /* caller will dirty the pages: spread over nodes' dirty limits */
#define PA_GFP_HARDWALL         0x100000u /* honour the thread's mems_allowed (cpuset) */
#define PA_GFP_THISNODE         0x200000u /* the requested node only, no fallback, no policy */
#define PA_GFP_ACCOUNT          0x400000u /* charge the thread's memory cgroup */
#define PA_GFP_RELIABLE         0x1000000u /* mirrored memory: never from ZONE_MOVABLE */

/* Watermark modifiers. */
#define PA_GFP_HIGH             0x20u   /* high priority: may dip below the MIN watermark */
#define PA_GFP_ATOMIC_BIT       0x200u  /* Linux 5.10's __GFP_ATOMIC: cannot sleep or reclaim, harder */
#define PA_GFP_MEMALLOC         0x20000u /* may use all memory, no watermarks (reclaim's own allocations) */
#define PA_GFP_NOMEMALLOC       0x80000u /* never the emergency reserves; wins over MEMALLOC */

/* Reclaim modifiers. */
#define PA_GFP_IO               0x40u   /* reclaim may start I/O */
#define PA_GFP_FS               0x80u   /* reclaim may call into file systems */
#define PA_GFP_DIRECT_RECLAIM   0x400u  /* caller may sleep and reclaim itself */
#define PA_GFP_KSWAPD_RECLAIM   0x800u  /* wake kswapd below the LOW watermark */
#define PA_GFP_RECLAIM          (PA_GFP_DIRECT_RECLAIM | PA_GFP_KSWAPD_RECLAIM)
#define PA_GFP_RETRY_MAYFAIL    0x4000u /* retry hard, but fail rather than OOM-kill */
#define PA_GFP_NOFAIL           0x8000u /* retry forever */
#define PA_GFP_NORETRY          0x10000u /* one light attempt at reclaim/compaction, then fail */

/* Action modifiers. */
#define PA_GFP_ZERO             0x100u  /* return zeroed pages */
#define PA_GFP_NOWARN           0x2000u /* no allocation-failure report */
#define PA_GFP_COMP             0x40000u /* compound page: head + tails, freed as one by pa_put_page */

#define PA_GFP_BITS_MASK        0x1ffffffu

/* Composites, with the kernel's meanings. */
#define PA_GFP_ATOMIC   (PA_GFP_HIGH | PA_GFP_ATOMIC_BIT | PA_GFP_KSWAPD_RECLAIM)
#define PA_GFP_KERNEL   (PA_GFP_RECLAIM | PA_GFP_IO | PA_GFP_FS)
#define PA_GFP_NOWAIT   (PA_GFP_KSWAPD_RECLAIM | PA_GFP_NOWARN)
#define PA_GFP_NOIO     (PA_GFP_RECLAIM)
#define PA_GFP_NOFS     (PA_GFP_RECLAIM | PA_GFP_IO)
#define PA_GFP_USER     (PA_GFP_RECLAIM | PA_GFP_IO | PA_GFP_FS | PA_GFP_HARDWALL)
#define PA_GFP_HIGHUSER (PA_GFP_USER | PA_GFP_HIGHMEM)
#define PA_GFP_HIGHUSER_MOVABLE (PA_GFP_HIGHUSER | PA_GFP_MOVABLE)
#define PA_GFP_TRANSHUGE_LIGHT \
    ((PA_GFP_HIGHUSER_MOVABLE | PA_GFP_COMP | PA_GFP_NOMEMALLOC | PA_GFP_NOWARN) & ~PA_GFP_RECLAIM)
#define PA_GFP_TRANSHUGE (PA_GFP_TRANSHUGE_LIGHT | PA_GFP_DIRECT_RECLAIM)

/* PA_MAX_ORDER (largest order, inclusive) comes from the build's config.h. */
#include <pagealloc/config.h>

#endif /* PAGEALLOC_GFP_H */

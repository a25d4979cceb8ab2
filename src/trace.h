/* SPDX-License-Identifier: MIT */
/*
 * Tracepoints: USDT probes (provider "pagealloc") named after the kernel's
 * tracepoints in include/trace/events/{kmem,compaction,vmscan,oom}.h, with
 * their arguments in the kernel's field order, so that perf and bpftrace
 * scripts written for the kernel carry over:
 *
 *   mm_page_alloc              pfn, order, gfp_flags, migratetype
 *                              (pfn is -1 for a failed request)
 *   mm_page_free               pfn, order
 *   mm_page_alloc_zone_locked  pfn, order, migratetype, percpu_refill
 *   mm_page_alloc_extfrag      pfn, alloc_order, fallback_order,
 *                              alloc_migratetype, fallback_migratetype,
 *                              change_ownership
 *   mm_page_pcpu_drain         pfn, order, migratetype
 *   mm_compaction_begin        zone_start, migrate_pfn, free_pfn, zone_end, sync
 *   mm_compaction_end          zone_start, migrate_pfn, free_pfn, zone_end, sync,
 *                              status (enum compact_result)
 *   mm_vmscan_wakeup_kswapd    nid, zid, order, gfp_flags
 *   mm_vmscan_kswapd_wake      nid, zid, order
 *   mm_vmscan_kswapd_sleep     nid
 *   mark_victim                client index, client name (char *), rss pages,
 *                              oom_score_adj
 *
 * e.g.  bpftrace -e 'usdt:build/libpagealloc.so:pagealloc:mm_page_alloc
 *                    { @[arg1] = count(); }'      (allocations by order)
 *
 * A probe is one nop in the code plus a note in .note.stapsdt; the
 * arguments are operands the compiler mostly has in registers already (a
 * pfn is one subtraction and shift).  The exception is the order-0 fast
 * path, where those few instructions are a tenth of the work: page_alloc.c
 * defines _SDT_HAS_SEMAPHORES before including this header, so its probes
 * carry semaphores that a tracer (perf, bpftrace, systemtap) raises while
 * attached, and the magazine pop builds its probe's arguments only under
 * trace_active().  Without <sys/sdt.h> (systemtap-sdt-dev) every probe
 * compiles to nothing; so does -DPA_NO_TRACE.
 */
#ifndef PAGEALLOC_TRACE_H
#define PAGEALLOC_TRACE_H

#if !defined(PA_NO_TRACE) && defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define PA_HAVE_USDT 1
#endif
#endif


#ifndef PA_HAVE_USDT
#define PA_HAVE_USDT 0
#define PA_PROBE1(name, a)                      ((void)0)
#define PA_PROBE2(name, a, b)                   ((void)0)
#define PA_PROBE3(name, a, b, c)                ((void)0)
#define PA_PROBE4(name, a, b, c, d)             ((void)0)
#define PA_PROBE5(name, a, b, c, d, e)          ((void)0)
#define PA_PROBE6(name, a, b, c, d, e, f)       ((void)0)
#else
#define PA_PROBE1(name, a)                      STAP_PROBE1(pagealloc, name, a)
#define PA_PROBE2(name, a, b)                   STAP_PROBE2(pagealloc, name, a, b)
#define PA_PROBE3(name, a, b, c)                STAP_PROBE3(pagealloc, name, a, b, c)
#define PA_PROBE4(name, a, b, c, d)             STAP_PROBE4(pagealloc, name, a, b, c, d)
#define PA_PROBE5(name, a, b, c, d, e)          STAP_PROBE5(pagealloc, name, a, b, c, d, e)
#define PA_PROBE6(name, a, b, c, d, e, f)       STAP_PROBE6(pagealloc, name, a, b, c, d, e, f)
#endif

/* The file's semaphores (see above): defined by the including file, which
 * gates a probe with trace_active(name) where its arguments cost. */
#if PA_HAVE_USDT && defined(_SDT_HAS_SEMAPHORES)
#define PA_SDT_SEMAPHORE(name)                                                                 \
    static unsigned short pagealloc_##name##_semaphore __attribute__((used, section(".probes")))
#define trace_active(name) unlikely(*(volatile unsigned short *)&pagealloc_##name##_semaphore)
#elif PA_HAVE_USDT
#define PA_SDT_SEMAPHORE(name) struct pa_sdt_semaphore_##name
#define trace_active(name) 1
#else
#define PA_SDT_SEMAPHORE(name) struct pa_sdt_semaphore_##name
#define trace_active(name) 0
#endif

/* Each takes the values as the call site has them; casts fix the types
 * the probe notes record (u64 pfns, u32 order/flags, s32 types). */
#define trace_mm_page_alloc(pfn, order, gfp, mt)                                              \
    PA_PROBE4(mm_page_alloc, (unsigned long)(pfn), (unsigned int)(order), (unsigned int)(gfp), \
              (int)(mt))
#define trace_mm_page_free(pfn, order)                                                        \
    PA_PROBE2(mm_page_free, (unsigned long)(pfn), (unsigned int)(order))
#define trace_mm_page_alloc_zone_locked(pfn, order, mt, percpu_refill)                        \
    PA_PROBE4(mm_page_alloc_zone_locked, (unsigned long)(pfn), (unsigned int)(order), (int)(mt), \
              (int)(percpu_refill))
#define trace_mm_page_alloc_extfrag(pfn, alloc_order, fallback_order, alloc_mt, fallback_mt,  \
                                    change_ownership)                                         \
    PA_PROBE6(mm_page_alloc_extfrag, (unsigned long)(pfn), (unsigned int)(alloc_order),       \
              (unsigned int)(fallback_order), (int)(alloc_mt), (int)(fallback_mt),            \
              (int)(change_ownership))
#define trace_mm_page_pcpu_drain(pfn, order, mt)                                              \
    PA_PROBE3(mm_page_pcpu_drain, (unsigned long)(pfn), (unsigned int)(order), (int)(mt))
#define trace_mm_compaction_begin(zone_start, migrate_pfn, free_pfn, zone_end, sync)          \
    PA_PROBE5(mm_compaction_begin, (unsigned long)(zone_start), (unsigned long)(migrate_pfn), \
              (unsigned long)(free_pfn), (unsigned long)(zone_end), (int)(sync))
#define trace_mm_compaction_end(zone_start, migrate_pfn, free_pfn, zone_end, sync, status)    \
    PA_PROBE6(mm_compaction_end, (unsigned long)(zone_start), (unsigned long)(migrate_pfn),   \
              (unsigned long)(free_pfn), (unsigned long)(zone_end), (int)(sync), (int)(status))
#define trace_mm_vmscan_wakeup_kswapd(nid, zid, order, gfp)                                   \
    PA_PROBE4(mm_vmscan_wakeup_kswapd, (int)(nid), (int)(zid), (int)(order), (unsigned int)(gfp))
#define trace_mm_vmscan_kswapd_wake(nid, zid, order)                                          \
    PA_PROBE3(mm_vmscan_kswapd_wake, (int)(nid), (int)(zid), (int)(order))
#define trace_mm_vmscan_kswapd_sleep(nid) PA_PROBE1(mm_vmscan_kswapd_sleep, (int)(nid))
#define trace_mark_victim(index, name, rss, oom_score_adj)                                    \
    PA_PROBE4(mark_victim, (int)(index), (const char *)(name), (unsigned long)(rss),          \
              (int)(oom_score_adj))

#endif /* PAGEALLOC_TRACE_H */

/* SPDX-License-Identifier: MIT */
/*
 * Debug guard pages (PAGEALLOC_DEBUG=guard[:N]), as the kernel's
 * debug_guardpage_minorder=N.
 *
 * When expand() splits a block, each split-off half of order < N becomes a
 * guard page instead of going on a free list: marked PG_guard with its
 * order in private, not counted in NR_FREE_PAGES (NR_GUARD_PAGES instead),
 * and made PROT_NONE, so that a caller running off the end (or the start)
 * of the block it was given faults at once instead of scribbling on a
 * neighbour.  When the neighbour is freed, __free_one_page() finds the
 * guard as its buddy, access comes back and the two merge as usual.
 *
 * The userspace meaning needs the arena in 4 KiB pages: a hugetlb mapping
 * cannot be protected a page at a time, so guard turns the automatic
 * backing into plain pages, keeps THP (mprotect splits a huge mapping where
 * a guard falls) and is refused when hugetlb pages are forced.
 *
 * mprotect runs under the zone lock here, against the rule that system
 * calls stay outside it: done later, a guard could be merged (and its
 * access restored) before its protection lands, leaving a free page that
 * faults.  This is a debug mode; correctness wins over lock hold time.
 */
#include "internal.h"

#include <unistd.h>

unsigned int debug_guardpage_minorder;

static int guard_warned;

static PA_COLD void guard_protect_failed(const struct pa_page *page, unsigned int order, bool guard)
{
    int e = errno;
    if (guard && __atomic_exchange_n(&guard_warned, 1, __ATOMIC_RELAXED))
        return;
    char line[320];
    int n = snprintf(line, sizeof(line),
                     guard ? "pagealloc: PAGEALLOC_DEBUG=guard: cannot protect guard pfn %#lx order %u (%s; "
                             "vm.max_map_count too low?): guard pages may stay accessible\n"
                           : "pagealloc: PAGEALLOC_DEBUG=guard: cannot restore access to pfn %#lx order %u "
                             "(%s): an allocation of it will fault\n",
                     page_to_pfn(page), order, strerror(e));
    if (n > 0) {
        ssize_t PA_UNUSED rc = write(STDERR_FILENO, line, PA_MIN((size_t)n, sizeof(line) - 1));
    }
}

void pa_guard_init(void)
{
    const unsigned int bits = PA_DEBUG_GUARD | PA_DEBUG_GUARD_MINORDER(0xf);

    debug_guardpage_minorder = 0;
    if (!(pa_opt.debug & PA_DEBUG_GUARD)) {
        pa_opt.debug &= ~bits;
        return;
    }
    if (pa_opt.hugepages == PA_HUGEPAGES_1G || pa_opt.hugepages == PA_HUGEPAGES_2M) {
        fprintf(stderr,
                "pagealloc: PAGEALLOC_DEBUG=guard: PAGEALLOC_HUGEPAGES=%s forces hugetlb pages, which "
                "cannot be protected 4 KiB at a time; guard pages are off (use PAGEALLOC_HUGEPAGES=auto, "
                "thp or none with guard)\n",
                pa_opt.hugepages == PA_HUGEPAGES_1G ? "1G" : "2M");
        pa_opt.debug &= ~bits;
        return;
    }
    if (pa_opt.hugepages == PA_HUGEPAGES_AUTO)
        pa_opt.hugepages = PA_HUGEPAGES_NONE;   /* 4 KiB pages: every guard can be protected */
    unsigned int n = PA_DEBUG_GUARD_MINORDER_OF(pa_opt.debug);
    debug_guardpage_minorder = n ? n : 1;
}

bool set_page_guard(struct zone *z, struct pa_page *page, unsigned int order)
{
    if (order >= debug_guardpage_minorder)
        return false;
    page->private = order;
    __SetPageGuard(page);
    __mod_zone_page_state(z, NR_GUARD_PAGES, 1L << order);
    if (unlikely(pa_os_guard(page_address(page), PAGE_SIZE << order, true) != 0))
        guard_protect_failed(page, order, true);
    return true;
}

void clear_page_guard(struct zone *z, struct pa_page *page, unsigned int order)
{
    if (unlikely(pa_os_guard(page_address(page), PAGE_SIZE << order, false) != 0))
        guard_protect_failed(page, order, false);
    __ClearPageGuard(page);
    page->private = 0;
    __mod_zone_page_state(z, NR_GUARD_PAGES, -(1L << order));
}

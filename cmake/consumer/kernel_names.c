/* SPDX-License-Identifier: MIT */
/*
 * A program with its own functions and variables named as the kernel's mm/
 * names them -- and as libpagealloc names its internals: the audience of
 * <pagealloc/linux.h>.  Built by the static_archive_public_only test against
 * the installed libpagealloc.a, which must link (only pa_ symbols of the
 * archive are global) and run:
 *   - the program's calls reach its own definitions;
 *   - the library's calls reach the library's: pa_drain_all_pages() and the
 *     frees below run the library's drain_all_pages and __free_one_page, and
 *     must not land here (each definition here counts its calls);
 *   - the library writes none of the program's variables.
 * With <sys/sdt.h> the program has a USDT probe of its own, as the library
 * has: both objects' copies of the probes' base symbol must link as one.
 * Any failure exits non-zero with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagealloc/pagealloc.h>

#if defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define PROGRAM_PROBE() DTRACE_PROBE(kernel_names, start)
#endif
#endif
#ifndef PROGRAM_PROBE
#define PROGRAM_PROBE() ((void)0)
#endif

static unsigned int own_calls;   /* calls that reached this file's functions */

/* Signatures differ from the library's on purpose: a mix-up would not
 * even pass for a working call. */
int bad_page(const char *why) { own_calls++; return why ? 1 : 0; }
int out_of_memory(int order) { own_calls++; return order + 100; }
int drain_all_pages(int cpu) { own_calls++; return cpu * 2; }
int gfp_zone(unsigned int flags) { own_calls++; return (int)(flags & 3u); }
long __free_one_page(long pfn) { own_calls++; return pfn + 1; }
void warn_alloc(void) { own_calls++; }
int split_page(int n) { own_calls++; return n / 2; }
unsigned long shrink_slab(unsigned long n) { own_calls++; return n >> 1; }
void wakeup_kswapd(void) { own_calls++; }
int try_to_free_pages(void) { own_calls++; return 7; }
int zone_watermark_ok(int z) { own_calls++; return z == 1; }
void build_all_zonelists(void) { own_calls++; }

int page_group_by_mobility_disabled = 42;
const char *migratetype_names = "the program's own";
double vm_event_names[2] = { 1.5, 2.5 };

static void fail(const char *what)
{
    fprintf(stderr, "kernel_names: FAILED: %s (errno %d: %s)\n", what, errno, strerror(errno));
    exit(1);
}

/* Allocate, touch and free one block of 2^order pages. */
static void cycle(unsigned int order)
{
    struct pa_page *page = pa_alloc_pages(PA_GFP_KERNEL, order);
    if (!page)
        fail("pa_alloc_pages(PA_GFP_KERNEL) returned NULL");
    unsigned char *addr = pa_page_address(page);
    memset(addr, 0xa5, PA_PAGE_SIZE << order);
    if (pa_virt_to_page(addr) != page)
        fail("pa_virt_to_page(pa_page_address(page)) != page");
    pa_free_pages(page, order);
}

int main(void)
{
    PROGRAM_PROBE();
    /* The library: order 0 (per-CPU lists, drained below) and order 4
     * (straight back to the buddy, through its __free_one_page). */
    for (int i = 0; i < 64; i++)
        cycle(0);
    cycle(4);
    void *addr = pa_get_free_pages(PA_GFP_KERNEL | PA_GFP_ZERO, 2);
    if (!addr)
        fail("pa_get_free_pages(PA_GFP_KERNEL | PA_GFP_ZERO, 2) returned NULL");
    pa_free_pages_addr(addr, 2);
    pa_drain_all_pages();
    unsigned long nr_free = 0;
    if (pa_vmstat_get("nr_free_pages", &nr_free) != 0 || nr_free == 0)
        fail("pa_vmstat_get(\"nr_free_pages\") after the frees");
    if (own_calls != 0) {
        fprintf(stderr, "kernel_names: FAILED: the library called %u of the program's functions\n",
                own_calls);
        return 1;
    }

    /* The program's own functions, twelve calls. */
    int sum = bad_page("test") + out_of_memory(1) + drain_all_pages(3) + gfp_zone(6u) +
              split_page(8) + try_to_free_pages() + zone_watermark_ok(1);
    long pfn = __free_one_page(41);
    unsigned long left = shrink_slab(64);
    warn_alloc();
    wakeup_kswapd();
    build_all_zonelists();
    if (sum != 1 + 101 + 6 + 2 + 4 + 7 + 1 || pfn != 42 || left != 32 || own_calls != 12) {
        fprintf(stderr, "kernel_names: FAILED: own functions gave sum %d, pfn %ld, left %lu, %u calls\n",
                sum, pfn, left, own_calls);
        return 1;
    }
    if (page_group_by_mobility_disabled != 42 || strcmp(migratetype_names, "the program's own") != 0 ||
        vm_event_names[0] != 1.5 || vm_event_names[1] != 2.5)
        fail("the program's variables changed under the library");

    printf("kernel_names: %u own calls, library allocations and frees ok (%lu pages free)\n",
           own_calls, nr_free);
    return 0;
}

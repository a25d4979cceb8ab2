/* SPDX-License-Identifier: MIT */
/*
 * dma_buffer: a buffer from ZONE_DMA, with its physical address.
 *
 * A userspace driver (VFIO, UIO, a test harness for a device) hands a
 * device physical addresses.  ZONE_DMA here is a small zone on node 0 whose
 * memory is locked (mlock), so its pages stay at one physical address;
 * pa_page_to_phys() reads that address from /proc/self/pagemap, which shows
 * physical frame numbers only to root (CAP_SYS_ADMIN).
 *
 * The program takes an order-2 block (16 KiB) with PA_GFP_DMA | PA_GFP_ZERO,
 * checks it (zone DMA, node 0, zeroed, naturally aligned), writes a pattern,
 * and prints each page's virtual address, pfn and physical address.  As
 * root the physical addresses must be page aligned and non-zero; otherwise
 * it says why it cannot show them.  Exit status 0 and "dma_buffer: OK", or
 * 1 with the reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pagealloc/pagealloc.h>

#define ORDER 2
#define NPAGES (1UL << ORDER)

int main(void)
{
    int failures = 0;
    struct pa_page *page = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_DMA | PA_GFP_ZERO, ORDER);
    if (!page) {
        printf("dma_buffer: no %lu KiB block in ZONE_DMA: %s (PAGEALLOC_DMA_SIZE sets the zone's size)\n",
               (PA_PAGE_SIZE << ORDER) / 1024, strerror(errno));
        return 1;
    }
    unsigned char *buf = pa_page_address(page);
    if (pa_page_zonenum(page) != PA_ZONE_DMA || pa_page_to_nid(page) != 0) {
        printf("dma_buffer: block is in zone %d on node %d, not ZONE_DMA on node 0\n",
               (int)pa_page_zonenum(page), pa_page_to_nid(page));
        failures++;
    }
    if ((uintptr_t)buf % (PA_PAGE_SIZE << ORDER) != 0) {
        printf("dma_buffer: block at %p is not aligned to its size\n", (void *)buf);
        failures++;
    }
    for (size_t i = 0; i < (PA_PAGE_SIZE << ORDER); i++)
        if (buf[i] != 0) {
            printf("dma_buffer: byte %zu of a PA_GFP_ZERO block is %#x\n", i, buf[i]);
            failures++;
            break;
        }
    /* a descriptor ring's worth of pattern, as a device would read it */
    for (size_t i = 0; i < (PA_PAGE_SIZE << ORDER); i++)
        buf[i] = (unsigned char)(i ^ (i >> 8));

    printf("dma_buffer: %lu KiB in ZONE_DMA on node 0 at %p\n", (PA_PAGE_SIZE << ORDER) / 1024,
           (void *)buf);
    errno = 0;
    int shown = 0;
    for (unsigned long i = 0; i < NPAGES; i++) {
        struct pa_page *p = pa_virt_to_page(buf + i * PA_PAGE_SIZE);
        unsigned long long phys = pa_page_to_phys(p);
        int err = errno;
        printf("  page %lu: virt %p  pfn %#lx  phys ", i, (void *)(buf + i * PA_PAGE_SIZE),
               pa_page_to_pfn(p));
        if (phys) {
            printf("%#llx\n", phys);
            shown++;
            if (phys % PA_PAGE_SIZE != 0) {
                printf("dma_buffer: physical address %#llx is not page aligned\n", phys);
                failures++;
            }
        } else {
            printf("unavailable\n");
            if (i == 0)
                printf("dma_buffer: no physical address: %s; /proc/self/pagemap shows physical "
                       "frames only to root (CAP_SYS_ADMIN)%s\n",
                       strerror(err), geteuid() == 0 ? " -- but this process is root" : "");
        }
        errno = 0;
    }
    if (geteuid() == 0 && shown != (int)NPAGES) {
        printf("dma_buffer: running as root, yet %d of %lu physical addresses were shown\n", shown,
               NPAGES);
        failures++;
    }
    /* the buffer still holds the pattern (nothing remapped it) */
    for (size_t i = 0; i < (PA_PAGE_SIZE << ORDER); i++)
        if (buf[i] != (unsigned char)(i ^ (i >> 8))) {
            printf("dma_buffer: byte %zu changed\n", i);
            failures++;
            break;
        }
    pa_free_pages(page, ORDER);
    printf("dma_buffer: %s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The smallest outside user of an installed libpagealloc: built by the
 * install_consumer test once through the CMake package and once through
 * pkg-config.  Allocates an order-3 block, checks it, frees it, prints
 * buddyinfo.  Any failure exits non-zero with a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagealloc/pagealloc.h>

#define ORDER 3u
#define BLOCK_BYTES (PA_PAGE_SIZE << ORDER) /* 32 KiB */

static void die(const char *what)
{
    fprintf(stderr, "consumer: FAILED: %s (errno %d: %s)\n", what, errno, strerror(errno));
    exit(1);
}

int main(void)
{
    struct pa_page *page = pa_alloc_pages(PA_GFP_KERNEL, ORDER);
    if (!page)
        die("pa_alloc_pages(PA_GFP_KERNEL, 3) returned NULL");

    unsigned char *addr = pa_page_address(page);
    if (!addr)
        die("pa_page_address returned NULL");
    if ((uintptr_t)addr % BLOCK_BYTES != 0) {
        fprintf(stderr, "consumer: FAILED: order-3 block at %p is not 32 KiB aligned\n",
                (void *)addr);
        return 1;
    }
    if (pa_virt_to_page(addr) != page)
        die("pa_virt_to_page(pa_page_address(page)) != page");

    memset(addr, 0x5a, BLOCK_BYTES);   /* the whole block is ours to write */
    if (addr[0] != 0x5a || addr[BLOCK_BYTES - 1] != 0x5a)
        die("block does not hold what was written");

    pa_free_pages(page, ORDER);

    if (pa_show_buddyinfo(stdout) != 0)
        die("pa_show_buddyinfo(stdout)");
    printf("consumer: ok (libpagealloc %s, PA_MAX_ORDER %d)\n", PA_VERSION_STRING, PA_MAX_ORDER);
    return 0;
}

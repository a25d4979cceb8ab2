/* SPDX-License-Identifier: MIT */
/*
 * Instruction count of the order-0 hot pair (bench/callgrind.sh runs it):
 * after a warm-up, N times allocate a page, touch it through its address,
 * free it.
 */
#include <pagealloc/pagealloc.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = -1000; i < n; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        if (!p)
            return 1;
        *(volatile char *)pa_page_address(p) = 1;
        pa_free_pages(p, 0);
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Instruction count of the order-0 hot pair through the address API
 * (bench/callgrind.sh runs it): after a warm-up, N times get a page's
 * address from pa_get_free_pages, touch it, give it to pa_free_pages_addr.
 */
#include <pagealloc/pagealloc.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = -1000; i < n; i++) {
        char *p = pa_get_free_pages(PA_GFP_KERNEL, 0);
        if (!p)
            return 1;
        *(volatile char *)p = 1;
        pa_free_pages_addr(p, 0);
    }
    return 0;
}

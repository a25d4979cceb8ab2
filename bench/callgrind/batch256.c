/* SPDX-License-Identifier: MIT */
/*
 * Instruction count of batch256 (bench/callgrind.sh runs it): after a
 * warm-up, N rounds of 256 order-0 allocations, each touched, then their
 * 256 frees in the same order.
 */
#include <pagealloc/pagealloc.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    static struct pa_page *p[256];
    long n = argc > 1 ? atol(argv[1]) : 1000;
    for (long r = -10; r < n; r++) {
        for (int i = 0; i < 256; i++) {
            p[i] = pa_alloc_pages(PA_GFP_KERNEL, 0);
            if (!p[i])
                return 1;
            *(volatile char *)pa_page_address(p[i]) = 1;
        }
        for (int i = 0; i < 256; i++)
            pa_free_pages(p[i], 0);
    }
    return 0;
}

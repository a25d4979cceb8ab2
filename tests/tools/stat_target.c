/* SPDX-License-Identifier: MIT */
/* A small program for the pagealloc-stat tests: allocates and frees pages
 * through the library, prints "ready" once its first snapshot can exist,
 * then keeps allocating until SECONDS (argv[1], default 10) have passed. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <pagealloc/gfp.h>
#include <pagealloc/pagealloc.h>

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 10;
    void *keep[64];

    if (pa_init(NULL) != 0) {
        perror("pa_init");
        return 1;
    }
    for (int i = 0; i < 64; i++)
        keep[i] = pa_get_free_pages(PA_GFP_KERNEL, 0);
    printf("ready\n");
    fflush(stdout);

    time_t stop = time(NULL) + seconds;
    while (time(NULL) < stop) {
        for (int i = 0; i < 32; i++) {
            void *p = pa_get_free_pages(PA_GFP_KERNEL, (unsigned int)(i % 4));
            if (p)
                pa_free_pages_addr(p, (unsigned int)(i % 4));
        }
        usleep(10000);
    }
    for (int i = 0; i < 64; i++)
        if (keep[i])
            pa_free_pages_addr(keep[i], 0);
    return 0;
}

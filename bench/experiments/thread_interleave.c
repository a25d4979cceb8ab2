/* SPDX-License-Identifier: MIT */
/*
 * Why batch256 in two threads can scale worse than in one: rounds of one
 * thread, then two, each thread new (as bench.c's scaling runs start
 * them), each running 256 order-0 allocations (touched) and their 256
 * frees for 200 ms.  Prints each thread's ns per page and, for the
 * two-thread rounds, how many of thread 0's last 256 pages share a
 * descriptor cache-line pair (128 B), 256 B, 512 B or 4 KiB of the
 * descriptor array with thread 1's.
 *
 *   gcc -O2 -Iinclude -Ibuild/include bench/experiments/thread_interleave.c \
 *       build/libpagealloc.a -lnuma -lpthread -o /tmp/thread_interleave
 *   PAGEALLOC_NODE_SIZE=4G /tmp/thread_interleave [ROUNDS]
 */
#define _GNU_SOURCE
#include <pagealloc/pagealloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCH 256

static unsigned long pfns[2][BATCH];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *work(void *arg)
{
    long idx = (long)arg;
    struct pa_page *p[BATCH];
    long rounds = 0;
    double t0 = now();
    while (now() - t0 < 0.2) {
        for (int i = 0; i < BATCH; i++) {
            p[i] = pa_alloc_pages(PA_GFP_KERNEL, 0);
            if (!p[i]) {
                fprintf(stderr, "thread_interleave: allocation failed\n");
                exit(1);
            }
            *(volatile char *)pa_page_address(p[i]) = 1;
        }
        for (int i = 0; i < BATCH; i++)
            pfns[idx][i] = pa_page_to_pfn(p[i]);
        for (int i = 0; i < BATCH; i++)
            pa_free_pages(p[i], 0);
        rounds++;
    }
    printf("  thread %ld: %.1f ns/page\n", idx, 0.2e9 / ((double)rounds * BATCH));
    return NULL;
}

/* thread 0's pages with a page of thread 1's in the same 2^shift pfns */
static int shared(unsigned int shift)
{
    int n = 0;
    for (int i = 0; i < BATCH; i++)
        for (int j = 0; j < BATCH; j++)
            if (pfns[0][i] >> shift == pfns[1][j] >> shift) {
                n++;
                break;
            }
    return n;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    for (int r = 0; r < rounds; r++)
        for (long n = 1; n <= 2; n++) {
            pthread_t t[2];
            printf("round %d, %ld thread%s\n", r, n, n > 1 ? "s" : "");
            for (long i = 0; i < n; i++)
                if (pthread_create(&t[i], NULL, work, (void *)i) != 0)
                    return 1;
            for (long i = 0; i < n; i++)
                pthread_join(t[i], NULL);
            if (n == 2)   /* 64-byte descriptors: 2, 4, 8, 64 pfns per 128 B .. 4 KiB */
                printf("  thread 0's pages sharing descriptors with thread 1's: 128 B %d, 256 B %d, 512 B %d, 4 KiB %d\n",
                       shared(1), shared(2), shared(3), shared(6));
        }
    return 0;
}

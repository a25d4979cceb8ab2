/* SPDX-License-Identifier: MIT */
/*
 * heap_probe: run under `pagealloc-run --malloc=jemalloc`, checks that every
 * block malloc returns -- sizes 16 B to 1 MiB, from the main thread and
 * from a second one -- lies in libpagealloc's memory.  It links nothing of
 * the project: libpagealloc's arenas are told apart in /proc/self/maps as
 * the mappings of at least 64 MiB (sections and reservations), where no
 * block of 1 MiB or less would otherwise be (jemalloc maps its own extents
 * a few MiB at a time).  Prints "heap_probe: N blocks, all on libpagealloc"
 * and exits 0, or names the first block that is not and exits 1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_VMA (64UL << 20)
#define NBLOCKS 2000

struct vma {
    uintptr_t start, end;
};

static struct vma vmas[8192];
static int nvmas;

static void read_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    nvmas = 0;
    if (!f) {
        perror("heap_probe: /proc/self/maps");
        exit(2);
    }
    while (nvmas < 8192 && fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2)
            vmas[nvmas++] = (struct vma){ s, e };
    }
    fclose(f);
}

/* Size of the mapping holding p, with its neighbours merged when they
 * touch (one reservation may be several VMAs of different backing). */
static uintptr_t region_size(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (int i = 0; i < nvmas; i++) {
        if (a < vmas[i].start || a >= vmas[i].end)
            continue;
        int lo = i, hi = i;
        while (lo > 0 && vmas[lo - 1].end == vmas[lo].start)
            lo--;
        while (hi + 1 < nvmas && vmas[hi + 1].start == vmas[hi].end)
            hi++;
        return vmas[hi].end - vmas[lo].start;
    }
    return 0;
}

static void *blocks[2][NBLOCKS];
static size_t sizes[2][NBLOCKS];

static void fill(int t)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
    for (int i = 0; i < NBLOCKS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t size = (size_t)16 << (x % 17);   /* 16 B .. 1 MiB */
        blocks[t][i] = malloc(size);
        sizes[t][i] = size;
        if (!blocks[t][i]) {
            fprintf(stderr, "heap_probe: malloc(%zu) failed\n", size);
            exit(1);
        }
        memset(blocks[t][i], t + 1, size < 64 ? size : 64);
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    fill(1);
    return NULL;
}

int main(void)
{
    pthread_t th;
    fill(0);
    if (pthread_create(&th, NULL, thread_main, NULL) != 0 || pthread_join(th, NULL) != 0) {
        perror("heap_probe: thread");
        return 2;
    }
    read_maps();
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NBLOCKS; i++) {
            uintptr_t r = region_size(blocks[t][i]);
            if (r < BIG_VMA) {
                printf("heap_probe: block %d of thread %d (%zu bytes at %p) is in a mapping of %lu KiB, "
                       "not libpagealloc's\n", i, t, sizes[t][i], blocks[t][i], (unsigned long)(r >> 10));
                return 1;
            }
        }
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NBLOCKS; i++)
            free(blocks[t][i]);
    printf("heap_probe: %d blocks, all on libpagealloc\n", 2 * NBLOCKS);
    return 0;
}

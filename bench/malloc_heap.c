/* SPDX-License-Identifier: MIT */
/*
 * bench-malloc-heap: a malloc workload for jemalloc with and without its
 * extents on libpagealloc.  bench/run.sh runs the same binary twice: as is
 * (plain jemalloc: this binary links it, so malloc is jemalloc's) and under
 * LD_PRELOAD=libpagealloc-jemalloc-preload.so (what pagealloc-run
 * --malloc=jemalloc sets), so malloc and free are the same code and only
 * where the extents come from differs.
 *
 *   bench-malloc-heap -a NAME [-n THREADS] [-t MS] [-N OPS] [-l LIVE]
 *
 * Each thread keeps LIVE slots; one operation frees a random slot (if it
 * holds a block) and mallocs a new block into it, writing its first and
 * last byte and one byte per 4 KiB page.  Sizes are mixed, 16 B to 1 MiB:
 * 90% of 16..4096 B, 9% up to 64 KiB, 1% up to 1 MiB, each log-uniform.
 * Threads run for MS milliseconds (or exactly OPS operations each, for
 * instruction counts under callgrind).  One CSV row as bench/bench.c's:
 *
 *   allocator,workload,threads,ns_per_op,extra
 *   NAME,malloc_mixed,T,NS,cpu_ns=..;rss_mib=..;hwm_mib=..;huge_mib=..;huge_pct=..
 *
 * ns_per_op is wall time x threads / operations (one malloc+free pair);
 * cpu_ns the process's CPU time per operation.  rss_mib and huge_mib come
 * from /proc/self/smaps at the end, live blocks still held: Rss plus hugetlb
 * pages (which Rss leaves out), and the part of it on 2 MiB pages
 * (AnonHugePages, Private_Hugetlb, Shared_Hugetlb); huge_pct is the share.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

struct opts {
    const char *name;
    int threads;
    long time_ms;
    long ops;          /* per thread; 0: run for time_ms */
    int live;
};

struct worker {
    pthread_t th;
    const struct opts *o;
    uint64_t seed;
    long done;
    void **slot;
};

static atomic_int go;
static atomic_int stop;

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* log-uniform in [lo, hi] */
static size_t log_uniform(uint64_t *s, unsigned lo_shift, unsigned hi_shift)
{
    unsigned shift = lo_shift + (unsigned)(rnd(s) % (hi_shift - lo_shift));
    size_t base = (size_t)1 << shift;
    return base + (size_t)(rnd(s) % base);
}

static size_t pick_size(uint64_t *s)
{
    unsigned r = (unsigned)(rnd(s) % 100);
    if (r < 90)
        return log_uniform(s, 4, 12);    /* 16 B .. 4 KiB */
    if (r < 99)
        return log_uniform(s, 12, 16);   /* .. 64 KiB */
    return log_uniform(s, 16, 20);       /* .. 1 MiB */
}

static void touch(char *p, size_t size)
{
    for (size_t off = 0; off < size; off += 4096)
        p[off] = 1;
    p[size - 1] = 1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct opts *o = w->o;
    while (!atomic_load_explicit(&go, memory_order_acquire))
        ;
    long n = 0;
    for (;;) {
        if (o->ops ? n >= o->ops : ((n & 1023) == 0 && atomic_load_explicit(&stop, memory_order_relaxed)))
            break;
        int i = (int)(rnd(&w->seed) % (uint64_t)o->live);
        free(w->slot[i]);
        size_t size = pick_size(&w->seed);
        char *p = malloc(size);
        if (!p) {
            fprintf(stderr, "bench-malloc-heap: malloc(%zu) failed\n", size);
            exit(1);
        }
        touch(p, size);
        w->slot[i] = p;
        n++;
    }
    w->done = n;
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Resident kB and the part on 2 MiB pages, over every mapping. */
static void smaps_huge(unsigned long *resident_kb, unsigned long *huge_kb)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[256];
    unsigned long rss = 0, thp = 0, hugetlb = 0, v;
    *resident_kb = *huge_kb = 0;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Rss: %lu kB", &v) == 1)
            rss += v;
        else if (sscanf(line, "AnonHugePages: %lu kB", &v) == 1)
            thp += v;
        else if (sscanf(line, "Private_Hugetlb: %lu kB", &v) == 1 ||
                 sscanf(line, "Shared_Hugetlb: %lu kB", &v) == 1)
            hugetlb += v;
    }
    fclose(f);
    *resident_kb = rss + hugetlb;
    *huge_kb = thp + hugetlb;
}

static unsigned long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long v = 0;
    size_t len = strlen(key);
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, len) == 0 && sscanf(line + len, " %lu", &v) == 1)
            break;
    fclose(f);
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-malloc-heap -a NAME [-n THREADS] [-t MS] [-N OPS] [-l LIVE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = { .name = NULL, .threads = 2, .time_ms = 200, .ops = 0, .live = 4096 };
    int c;
    while ((c = getopt(argc, argv, "a:n:t:N:l:")) != -1) {
        switch (c) {
        case 'a': o.name = optarg; break;
        case 'n': o.threads = atoi(optarg); break;
        case 't': o.time_ms = atol(optarg); break;
        case 'N': o.ops = atol(optarg); break;
        case 'l': o.live = atoi(optarg); break;
        default: usage();
        }
    }
    if (!o.name || o.threads < 1 || o.threads > 256 || o.time_ms < 1 || o.ops < 0 || o.live < 1)
        usage();
    /* malloc must be jemalloc's (linked in): say which one on stderr */
    const char *version = NULL;
    size_t vsz = sizeof(version);
    if (mallctl("version", &version, &vsz, NULL, 0) != 0) {
        fprintf(stderr, "bench-malloc-heap: malloc is not jemalloc\n");
        return 1;
    }
    fprintf(stderr, "bench-malloc-heap: %s, jemalloc %s\n", o.name, version);

    struct worker *w = calloc((size_t)o.threads, sizeof(*w));
    if (!w)
        return 1;
    for (int i = 0; i < o.threads; i++) {
        w[i].o = &o;
        w[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
        w[i].slot = calloc((size_t)o.live, sizeof(void *));
        if (!w[i].slot || pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
            return 1;
    }
    double c0 = cpu_s(), t0 = now_s();
    atomic_store_explicit(&go, 1, memory_order_release);
    if (!o.ops) {
        struct timespec d = { o.time_ms / 1000, (o.time_ms % 1000) * 1000000L };
        nanosleep(&d, NULL);
        atomic_store(&stop, 1);
    }
    long total = 0;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(w[i].th, NULL);
        total += w[i].done;
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;

    unsigned long resident_kb, huge_kb;
    smaps_huge(&resident_kb, &huge_kb);
    printf("allocator,workload,threads,ns_per_op,extra\n");
    printf("%s,malloc_mixed,%d,%.2f,cpu_ns=%.2f;ops=%ld;rss_mib=%.1f;hwm_mib=%.1f;huge_mib=%.1f;huge_pct=%.1f\n",
           o.name, o.threads, wall * 1e9 * o.threads / (double)total, cpu * 1e9 / (double)total, total,
           (double)resident_kb / 1024.0, (double)status_kb("VmHWM:") / 1024.0, (double)huge_kb / 1024.0,
           resident_kb ? 100.0 * (double)huge_kb / (double)resident_kb : 0.0);

    for (int i = 0; i < o.threads; i++) {
        for (int j = 0; j < o.live; j++)
            free(w[i].slot[j]);
        free(w[i].slot);
    }
    free(w);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * peak_idle.c: does resident memory follow what a program uses, or what it
 * once used?  Built once per allocator (bench-peak-idle-<name>), the backend
 * picked with the same BENCH_<NAME> macros as bench.c:
 *
 *   allocate TOTAL in BLOCK-sized blocks, write every 4 KiB page, free
 *   everything, then idle (sleep, no allocator call) and sample VmRSS at
 *   the peak and 0, 1, 3 and 11 s after the last free.
 *
 * The allocator's own background work (a purging or reporting thread) is
 * what may bring RSS down while the program sleeps; an allocator that
 * purges only when called again keeps its peak.
 *
 * Output (CSV, the harness's format):
 *   allocator,peak_idle,1,<MiB 3 s after the frees>,rss_peak_mib=...;rss_0s_mib=...;
 *   rss_1s_mib=...;rss_3s_mib=...;rss_11s_mib=...;alloc_s=...;free_s=...
 *
 *   bench-peak-idle [-m TOTAL_MIB] [-b BLOCK_KIB]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(BENCH_PAGEALLOC)
#include <pagealloc/pagealloc.h>
static const char be_name[] = "pagealloc";
static unsigned int be_order;
static void *be_alloc(size_t size, void **handle)
{
    be_order = 0;
    while ((4096UL << be_order) < size)
        be_order++;
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, be_order);
    *handle = p;
    return p ? pa_page_address(p) : NULL;
}
static void be_free(void *addr, void *handle, size_t size)
{
    (void)addr;
    (void)size;
    pa_free_pages(handle, be_order);
}
#elif defined(BENCH_JEMALLOC)
#include <jemalloc/jemalloc.h>
static const char be_name[] = "jemalloc";
static void *be_alloc(size_t size, void **handle) { return *handle = mallocx(size, 0); }
static void be_free(void *addr, void *handle, size_t size) { (void)handle; sdallocx(addr, size, 0); }
#elif defined(BENCH_TCMALLOC)
#include <gperftools/tcmalloc.h>
static const char be_name[] = "tcmalloc";
static void *be_alloc(size_t size, void **handle) { return *handle = tc_malloc(size); }
static void be_free(void *addr, void *handle, size_t size) { (void)handle; (void)size; tc_free(addr); }
#elif defined(BENCH_MIMALLOC)
#include <mimalloc.h>
static const char be_name[] = "mimalloc";
static void *be_alloc(size_t size, void **handle) { return *handle = mi_malloc(size); }
static void be_free(void *addr, void *handle, size_t size) { (void)handle; (void)size; mi_free(addr); }
#elif defined(BENCH_GLIBC)
static const char be_name[] = "glibc";
static void *be_alloc(size_t size, void **handle) { return *handle = malloc(size); }
static void be_free(void *addr, void *handle, size_t size) { (void)handle; (void)size; free(addr); }
#elif defined(BENCH_NUMA)
#include <numa.h>
static const char be_name[] = "numa";
static void *be_alloc(size_t size, void **handle) { return *handle = numa_alloc_onnode(size, 0); }
static void be_free(void *addr, void *handle, size_t size) { (void)handle; numa_free(addr, size); }
#elif defined(BENCH_MMAP)
static const char be_name[] = "mmap";
static void *be_alloc(size_t size, void **handle)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return *handle = p == MAP_FAILED ? NULL : p;
}
static void be_free(void *addr, void *handle, size_t size) { (void)handle; munmap(addr, size); }
#else
#error "define one BENCH_<ALLOCATOR>"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rss_mib(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

/* Sleep until t0 + s seconds (the allocator is not called meanwhile). */
static void sleep_until(double t0, double s)
{
    double left = t0 + s - now_s();
    if (left <= 0)
        return;
    struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    size_t total_mib = 2048, block_kib = 1024;
    int c;
    while ((c = getopt(argc, argv, "m:b:")) != -1) {
        if (c == 'm')
            total_mib = strtoul(optarg, NULL, 10);
        else if (c == 'b')
            block_kib = strtoul(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: %s [-m TOTAL_MIB] [-b BLOCK_KIB]\n", argv[0]);
            return 2;
        }
    }
    size_t block = block_kib << 10, n = (total_mib << 20) / block;
    if (!block || !n) {
        fprintf(stderr, "peak_idle: -m and -b must be positive\n");
        return 2;
    }
    void **addr = calloc(n, sizeof(*addr)), **handle = calloc(n, sizeof(*handle));
    if (!addr || !handle) {
        perror("peak_idle: calloc");
        return 1;
    }

    double t = now_s();
    for (size_t i = 0; i < n; i++) {
        addr[i] = be_alloc(block, &handle[i]);
        if (!addr[i]) {
            fprintf(stderr, "peak_idle: %s: allocation %zu of %zu (%zu KiB) failed\n", be_name, i, n, block_kib);
            return 1;
        }
        for (size_t off = 0; off < block; off += 4096)
            ((volatile char *)addr[i])[off] = (char)(i + 1);
    }
    double alloc_s = now_s() - t;
    double peak = rss_mib();

    t = now_s();
    for (size_t i = 0; i < n; i++)
        be_free(addr[i], handle[i], block);
    double t_freed = now_s();
    double free_s = t_freed - t;

    static const double at[] = { 0, 1, 3, 11 };
    double rss[4];
    for (int i = 0; i < 4; i++) {
        sleep_until(t_freed, at[i]);
        rss[i] = rss_mib();
    }
    printf("allocator,workload,threads,ns_per_op,extra\n");
    printf("%s,peak_idle,1,%.1f,rss_peak_mib=%.1f;rss_0s_mib=%.1f;rss_1s_mib=%.1f;rss_3s_mib=%.1f;"
           "rss_11s_mib=%.1f;alloc_s=%.3f;free_s=%.3f\n",
           be_name, rss[2], peak, rss[0], rss[1], rss[2], rss[3], alloc_s, free_s);
    free(addr);
    free(handle);
    return 0;
}

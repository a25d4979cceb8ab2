/* SPDX-License-Identifier: MIT */
/*
 * mmap_cycle.c: the mmap + touch + munmap cycle through the kernel and
 * through the LD_PRELOAD shim, side by side in one process.
 *
 * Run under LD_PRELOAD=libpagealloc-preload.so (bench/run.sh does).  One
 * cycle maps LEN bytes (private anonymous, read-write), writes one byte in
 * every 4 KiB page and unmaps it.  The kernel cycle issues the system calls
 * directly (syscall(2): the shim never sees them); the shim cycle calls
 * mmap/munmap, which the preload interposes.  Rounds alternate between the
 * two so that machine noise hits both alike.
 *
 * In the shim cycle every touched byte is read first and must be zero (a
 * served mapping reads as zeros, as the kernel's does); the byte written
 * moves within the page from cycle to cycle, so memory handed out again
 * without zeroing is caught.  The kernel cycle only writes (see touch()).
 * The shim's counters must show one served mapping per shim cycle, or the
 * run fails (a shim that passed everything to the kernel would otherwise
 * measure the kernel twice).
 *
 * Output (CSV, the harness's format):
 *   allocator,workload,threads,ns_per_op,extra
 * with allocator "kernel" or "shim", workload mmap_cycle_<LEN in KiB>k,
 * ns_per_op the wall time per cycle and extra cpu_ns_per_op (the process's
 * CPU time per cycle, every thread included: background work the shim does
 * for the cycle is counted there), cycles and served.
 *
 *   bench-mmap-cycle [-t MS] [-r ROUNDS] [-s LEN]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL

static double now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t len = 64 * 1024;
static unsigned long cycle_no;
static unsigned long bad;

/* Write one byte per page; the offset moves every cycle.  With check set,
 * read it first: it must be zero.  The kernel cycle does not read first (a
 * read would fault in the shared zero page and the write would then fault
 * again to copy it, doubling the kernel's cost); the shim cycle does, so the
 * shim is charged the extra load. */
static inline void touch(volatile unsigned char *p, int check)
{
    size_t off = (cycle_no * 64) & (PG - 1);
    for (size_t i = off; i < len; i += PG) {
        if (check && p[i] != 0)
            bad++;
        p[i] = (unsigned char)(cycle_no | 1);
    }
    cycle_no++;
}

static int cycle_kernel(void)
{
    void *p = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    touch(p, 0);
    return (int)syscall(SYS_munmap, p, len);
}

static int cycle_shim(void)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    touch(p, 1);
    return munmap(p, len);
}

struct acc {
    double wall, cpu;
    unsigned long n;
};

static int run_for(int (*cycle)(void), double ms, struct acc *a)
{
    double w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    double until = w0 + ms * 1e6, w;
    unsigned long n = 0;
    do {
        for (int k = 0; k < 16; k++)
            if (cycle())
                return -1;
        n += 16;
        w = now_ns(CLOCK_MONOTONIC);
    } while (w < until);
    a->wall += w - w0;
    a->cpu += now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    a->n += n;
    return 0;
}

int main(int argc, char **argv)
{
    double ms = 200;
    int rounds = 5, opt;
    while ((opt = getopt(argc, argv, "t:r:s:h")) != -1) {
        switch (opt) {
        case 't': ms = atof(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 's': len = strtoul(optarg, NULL, 0); break;
        default:
            fprintf(stderr, "usage: %s [-t MS per round and side] [-r ROUNDS] [-s LEN bytes]\n"
                            "run under LD_PRELOAD=libpagealloc-preload.so\n", argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (ms <= 0 || rounds < 1 || len < PG || len % PG) {
        fprintf(stderr, "bench-mmap-cycle: need -t > 0, -r >= 1, -s a positive multiple of 4096\n");
        return 2;
    }
    void (*stats)(unsigned long *, unsigned long *);
    *(void **)&stats = dlsym(RTLD_DEFAULT, "pa_shim_stats");
    if (!stats) {
        fprintf(stderr, "bench-mmap-cycle: pa_shim_stats not found: run with "
                        "LD_PRELOAD=libpagealloc-preload.so\n");
        return 2;
    }
    /* warm-up: a quarter of a round each */
    struct acc warm = { 0 }, k = { 0 }, s = { 0 };
    if (run_for(cycle_kernel, ms / 4, &warm) || run_for(cycle_shim, ms / 4, &warm)) {
        fprintf(stderr, "bench-mmap-cycle: warm-up: %s\n", strerror(errno));
        return 1;
    }
    unsigned long s0 = 0, s1 = 0;
    stats(&s0, NULL);
    for (int r = 0; r < rounds; r++) {
        int ek = run_for(cycle_kernel, ms, &k);
        int es = run_for(cycle_shim, ms, &s);
        if (ek || es) {
            fprintf(stderr, "bench-mmap-cycle: %s cycle failed: %s\n", ek ? "kernel" : "shim",
                    strerror(errno));
            return 1;
        }
    }
    stats(&s1, NULL);
    if (bad) {
        fprintf(stderr, "bench-mmap-cycle: %lu touched bytes were not zero on a fresh mapping\n", bad);
        return 1;
    }
    if (s1 - s0 < s.n) {
        fprintf(stderr, "bench-mmap-cycle: the shim served %lu of %lu mappings; is the length "
                        "%zu under PAGEALLOC_SHIM_THRESHOLD?\n", s1 - s0, s.n, len);
        return 1;
    }
    printf("allocator,workload,threads,ns_per_op,extra\n");
    printf("kernel,mmap_cycle_%zuk,1,%.3f,cpu_ns_per_op=%.3f;cycles=%lu\n", len / 1024,
           k.wall / (double)k.n, k.cpu / (double)k.n, k.n);
    printf("shim,mmap_cycle_%zuk,1,%.3f,cpu_ns_per_op=%.3f;cycles=%lu;served=%lu\n", len / 1024,
           s.wall / (double)s.n, s.cpu / (double)s.n, s.n, s1 - s0);
    return 0;
}

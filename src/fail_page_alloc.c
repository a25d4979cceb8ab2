/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, as the kernel's mm/fail_page_alloc.c: PAGEALLOC_FAIL
 * makes chosen allocations fail on purpose, so that programs (and the
 * tests) exercise their out-of-memory paths.  The allocation entry points
 * ask should_fail_alloc_page() only while pa_fail_enabled is set.
 */
#include "internal.h"

#include <unistd.h>

/* ------------------------------------------------------------------ */

bool pa_fail_enabled;
static struct {
    unsigned int probability;     /* percent of eligible requests that fail */
    unsigned long interval;       /* only every interval-th eligible request */
    long times;                   /* failures left, -1 = unlimited */
    long space;                   /* pages to let through before failing */
    unsigned int min_order;       /* only requests of at least this order */
    bool ignore_gfp_reclaim;      /* leave requests that may reclaim alone */
    bool ignore_gfp_highmem;      /* leave PA_GFP_HIGHMEM requests alone */
    bool verbose;                 /* report each injected failure */
    unsigned long count;
    unsigned long seed;
} fail_page_alloc = {
    /* the kernel's defaults for fail_page_alloc */
    .interval = 1, .times = -1, .min_order = 1, .ignore_gfp_reclaim = true, .ignore_gfp_highmem = true,
};

/* "probability=10,interval=1,times=-1,space=0,min-order=0,ignore-gfp-wait=0,
 * ignore-gfp-highmem=0,verbose=1", or just a probability ("10"). */
void fail_page_alloc_init(void)
{
    char buf[sizeof(pa_opt.fail)];
    if (!pa_opt.fail[0])
        return;
    snprintf(buf, sizeof(buf), "%s", pa_opt.fail);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end;
        const char *key = eq ? tok : "probability", *val = eq ? eq + 1 : tok;
        if (eq)
            *eq = 0;
        errno = 0;
        long v = strtol(val, &end, 10);
        bool ok = !errno && *val && !*end;
        if (ok && !strcmp(key, "probability") && v >= 0 && v <= 100)
            fail_page_alloc.probability = (unsigned int)v;
        else if (ok && !strcmp(key, "interval") && v >= 1)
            fail_page_alloc.interval = (unsigned long)v;
        else if (ok && !strcmp(key, "times") && v >= -1)
            fail_page_alloc.times = v;
        else if (ok && !strcmp(key, "space") && v >= 0)
            fail_page_alloc.space = v;
        else if (ok && !strcmp(key, "min-order") && v >= 0 && v <= MAX_ORDER)
            fail_page_alloc.min_order = (unsigned int)v;
        else if (ok && !strcmp(key, "ignore-gfp-wait") && (v == 0 || v == 1))
            fail_page_alloc.ignore_gfp_reclaim = v;
        else if (ok && !strcmp(key, "ignore-gfp-highmem") && (v == 0 || v == 1))
            fail_page_alloc.ignore_gfp_highmem = v;
        else if (ok && !strcmp(key, "verbose") && (v == 0 || v == 1))
            fail_page_alloc.verbose = v;
        else {
            fprintf(stderr, "pagealloc: PAGEALLOC_FAIL=\"%s\": bad item \"%s%s%s\" (use probability=0..100, "
                            "interval=N, times=N|-1, space=N, min-order=N, ignore-gfp-wait=0|1, "
                            "ignore-gfp-highmem=0|1, verbose=0|1); using the default (off)\n",
                    pa_opt.fail, key, eq ? "=" : "", eq ? val : "");
            fail_page_alloc.probability = 0;
            return;
        }
    }
    fail_page_alloc.seed = 0x9e3779b97f4a7c15UL ^ (unsigned long)getpid();
    pa_fail_enabled = fail_page_alloc.probability > 0;
}

bool should_fail_alloc_page(pa_gfp_t gfp, unsigned int order)
{
    if (order < fail_page_alloc.min_order || (gfp & PA_GFP_NOFAIL))
        return false;
    if (fail_page_alloc.ignore_gfp_highmem && (gfp & PA_GFP_HIGHMEM))
        return false;
    if (fail_page_alloc.ignore_gfp_reclaim && (gfp & PA_GFP_DIRECT_RECLAIM))
        return false;
    if (__atomic_load_n(&fail_page_alloc.times, __ATOMIC_RELAXED) == 0)
        return false;
    if (__atomic_load_n(&fail_page_alloc.space, __ATOMIC_RELAXED) > (1L << order)) {
        __atomic_fetch_sub(&fail_page_alloc.space, 1L << order, __ATOMIC_RELAXED);
        return false;
    }
    unsigned long n = __atomic_add_fetch(&fail_page_alloc.count, 1, __ATOMIC_RELAXED);
    if (fail_page_alloc.interval > 1 && n % fail_page_alloc.interval)
        return false;
    /* a splitmix64 step of the shared sequence: good enough to pick 1 in 100 */
    unsigned long x = __atomic_add_fetch(&fail_page_alloc.seed, 0x9e3779b97f4a7c15UL, __ATOMIC_RELAXED);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
    if ((x ^ (x >> 31)) % 100 >= fail_page_alloc.probability)
        return false;
    long t = __atomic_load_n(&fail_page_alloc.times, __ATOMIC_RELAXED);
    while (t > 0 && !__atomic_compare_exchange_n(&fail_page_alloc.times, &t, t - 1, false, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
    if (fail_page_alloc.verbose && !(gfp & PA_GFP_NOWARN))
        fprintf(stderr, "pagealloc: FAULT_INJECTION: forcing a failure: order:%u, mode:%#x\n", order, gfp);
    count_vm_event(PA_FAIL_INJECTED);
    return true;
}

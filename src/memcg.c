/* SPDX-License-Identifier: MIT */
/*
 * Memory cgroups (mm/memcontrol.c, the page counter and the charge path):
 * a thread attached to a pa_memcg has its PA_GFP_ACCOUNT allocations
 * charged there after they succeed, and uncharged when they are freed.  A
 * charge that would pass the limit reclaims from the cgroup's memcg-aware
 * shrinkers, then calls the OOM killer on the cgroup's own clients, then
 * fails -- in try_charge_memcg's order.
 *
 * page->memcg_data holds the cgroup pointer with the charged order in its
 * low bits (the kernel keeps flags there too), so the uncharge gives back
 * exactly what was charged even when the block is freed in pieces.
 */
#include "internal.h"

#include <limits.h>

#define MEMCG_DATA_ORDER_MASK 0x3fUL   /* charged order; struct pa_memcg is 64-byte aligned */
#define MEMCG_NAME_MAX 255              /* as a cgroup directory name (NAME_MAX) */
#define PAGE_COUNTER_MAX ULONG_MAX      /* "max": no limit */

struct pa_memcg {
    _Atomic unsigned long usage;        /* pages charged (page_counter.usage) */
    _Atomic unsigned long max;          /* limit in pages, PAGE_COUNTER_MAX = none */
    _Atomic size_t limit_bytes;         /* the limit as set, 0 = unlimited */
    _Atomic unsigned long failcnt;      /* memory.events "max" */
    _Atomic unsigned long oom_events;   /* memory.events "oom" */
    _Atomic unsigned long watermark;    /* highest usage (memory.peak) */
    int nr_attached;                    /* threads attached; under memcg_lock */
    struct dhugetlb_pool *dhugetlb;     /* dynamic hugetlb pool (dhugetlb.c), or NULL */
    size_t alloc_size;
    char name[];
} PA_ALIGNED(64);

_Static_assert(PA_MAX_ORDER <= (int)MEMCG_DATA_ORDER_MASK, "the charged order must fit in memcg_data");

/* create, destroy and attach: rare, and they must agree on nr_attached */
static struct mutex memcg_lock = MUTEX_INITIALIZER(LOCK_MEMCG);
/* Thread exit detaches: the key's value is the thread's cgroup. */
static pthread_key_t memcg_thread_key;
static pthread_once_t memcg_key_once = PTHREAD_ONCE_INIT;

/* oom.c (shared between the two files only) */

static void memcg_thread_exit(void *arg)
{
    struct pa_memcg *memcg = arg;
    mutex_lock(&memcg_lock);
    memcg->nr_attached--;
    mutex_unlock(&memcg_lock);
}

static void memcg_make_key(void)
{
    if (pthread_key_create(&memcg_thread_key, memcg_thread_exit) != 0) {
        fprintf(stderr, "pagealloc: cannot create the memory cgroup thread key\n");
        abort();
    }
}

/* fork: memcg_lock is a leaf, held across fork so that no count is half-changed. */
void memcg_fork_lock(void)
{
    mutex_lock(&memcg_lock);
}

void memcg_fork_unlock(void)
{
    mutex_unlock(&memcg_lock);
}

int pa_memcg_init(void)
{
    pthread_once(&memcg_key_once, memcg_make_key);
    return 0;
}

const char *memcg_name(const struct pa_memcg *memcg)
{
    return memcg->name;
}

struct dhugetlb_pool **memcg_dhugetlb_slot(struct pa_memcg *memcg)
{
    return &memcg->dhugetlb;
}

static unsigned long bytes_to_max(size_t limit)
{
    return limit ? limit >> PAGE_SHIFT : PAGE_COUNTER_MAX;
}

/* ------------------------------------------------------------------ */
/* The public API                                                      */
/* ------------------------------------------------------------------ */

PA_API struct pa_memcg *pa_memcg_create(const char *name, size_t limit)
{
    size_t len;
    if (!name || (len = strnlen(name, MEMCG_NAME_MAX + 1)) > MEMCG_NAME_MAX) {
        errno = EINVAL;
        return NULL;
    }
    pthread_once(&memcg_key_once, memcg_make_key);
    /* metadata never comes from the arenas, nor from malloc (the shim) */
    size_t size = sizeof(struct pa_memcg) + len + 1;
    struct pa_memcg *memcg = pa_os_alloc(size);
    if (!memcg) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(memcg->name, name, len + 1);
    memcg->alloc_size = size;
    atomic_init(&memcg->usage, 0);
    atomic_init(&memcg->max, bytes_to_max(limit));
    atomic_init(&memcg->limit_bytes, limit);
    atomic_init(&memcg->failcnt, 0);
    atomic_init(&memcg->oom_events, 0);
    atomic_init(&memcg->watermark, 0);
    return memcg;
}

PA_API int pa_memcg_destroy(struct pa_memcg *memcg)
{
    if (!memcg) {
        errno = EINVAL;
        return -1;
    }
    mutex_lock(&memcg_lock);
    /* charges come only from attached threads: with none attached and
     * nothing charged, nothing can reach this cgroup any more */
    if (memcg->nr_attached || atomic_load(&memcg->usage) ||
        (memcg->dhugetlb && dhugetlb_pool_busy(memcg->dhugetlb))) {
        mutex_unlock(&memcg_lock);
        errno = EBUSY;
        return -1;
    }
    mutex_unlock(&memcg_lock);
    if (memcg->dhugetlb)
        dhugetlb_pool_destroy(memcg->dhugetlb);   /* its blocks go back to the buddy */
    oom_forget_memcg(memcg);
    pa_os_free(memcg, memcg->alloc_size);
    return 0;
}

PA_API int pa_memcg_attach(struct pa_memcg *memcg)
{
    struct pa_thread *t = pa_thread();
    pthread_once(&memcg_key_once, memcg_make_key);
    mutex_lock(&memcg_lock);
    struct pa_memcg *old = t->memcg;
    if (old != memcg) {
        if (memcg)
            memcg->nr_attached++;
        if (old)
            old->nr_attached--;
        t->memcg = memcg;
        pthread_setspecific(memcg_thread_key, memcg);
    }
    mutex_unlock(&memcg_lock);
    return 0;
}

PA_API struct pa_memcg *pa_memcg_current(void)
{
    struct pa_thread *t = pa_current_thread;
    return t ? t->memcg : NULL;
}

PA_API size_t pa_memcg_usage(const struct pa_memcg *memcg)
{
    if (!memcg) {
        errno = EINVAL;
        return 0;
    }
    return (size_t)atomic_load_explicit(&memcg->usage, memory_order_relaxed) << PAGE_SHIFT;
}

PA_API size_t pa_memcg_limit(const struct pa_memcg *memcg)
{
    if (!memcg) {
        errno = EINVAL;
        return 0;
    }
    return atomic_load_explicit(&memcg->limit_bytes, memory_order_relaxed);
}

/* A limit below the usage is allowed (as writing memory.max): later
 * charges reclaim or fail until the usage falls under it. */
PA_API int pa_memcg_set_limit(struct pa_memcg *memcg, size_t limit)
{
    if (!memcg) {
        errno = EINVAL;
        return -1;
    }
    atomic_store(&memcg->limit_bytes, limit);
    atomic_store(&memcg->max, bytes_to_max(limit));
    return 0;
}

PA_API unsigned long pa_memcg_failcnt(const struct pa_memcg *memcg)
{
    if (!memcg) {
        errno = EINVAL;
        return 0;
    }
    return atomic_load_explicit(&memcg->failcnt, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* The page counter                                                    */
/* ------------------------------------------------------------------ */

static void memcg_update_watermark(struct pa_memcg *memcg, unsigned long usage)
{
    unsigned long w = atomic_load_explicit(&memcg->watermark, memory_order_relaxed);
    while (usage > w &&
           !atomic_compare_exchange_weak_explicit(&memcg->watermark, &w, usage, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* page_counter_try_charge: add nr pages unless that passes the limit;
 * the usage never goes above it this way. */
static bool page_counter_try_charge(struct pa_memcg *memcg, unsigned long nr)
{
    unsigned long max = atomic_load_explicit(&memcg->max, memory_order_relaxed);
    unsigned long old = atomic_load_explicit(&memcg->usage, memory_order_relaxed);
    do {
        if (old > max || nr > max - old)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&memcg->usage, &old, old + nr, memory_order_relaxed,
                                                    memory_order_relaxed));
    memcg_update_watermark(memcg, old + nr);
    return true;
}

/* page_counter_charge: add regardless of the limit (forced charges). */
static void page_counter_charge(struct pa_memcg *memcg, unsigned long nr)
{
    unsigned long old = atomic_fetch_add_explicit(&memcg->usage, nr, memory_order_relaxed);
    memcg_update_watermark(memcg, old + nr);
}

static void page_counter_uncharge(struct pa_memcg *memcg, unsigned long nr)
{
    unsigned long old = atomic_load_explicit(&memcg->usage, memory_order_relaxed), new;
    do {
        if (unlikely(old < nr)) {
            fprintf(stderr, "pagealloc: memory cgroup %s: uncharging %lu pages with %lu charged\n",
                    memcg->name, nr, old);
            new = 0;
        } else {
            new = old - nr;
        }
    } while (!atomic_compare_exchange_weak_explicit(&memcg->usage, &old, new, memory_order_relaxed,
                                                    memory_order_relaxed));
}

/* mem_cgroup_margin: pages that can still be charged. */
static unsigned long mem_cgroup_margin(struct pa_memcg *memcg)
{
    unsigned long max = atomic_load_explicit(&memcg->max, memory_order_relaxed);
    unsigned long usage = atomic_load_explicit(&memcg->usage, memory_order_relaxed);
    return usage < max ? max - usage : 0;
}

/* ------------------------------------------------------------------ */
/* Charging                                                            */
/* ------------------------------------------------------------------ */

/*
 * mem_cgroup_oom -> mem_cgroup_out_of_memory: kill one of the cgroup's own
 * clients.  Costly orders do not kill (they fall back to smaller ones).
 * True if the charge should be retried.
 */
static bool mem_cgroup_oom(struct pa_memcg *memcg, pa_gfp_t gfp, unsigned int order)
{
    if (order > PAGE_ALLOC_COSTLY_ORDER)
        return false;
    atomic_fetch_add_explicit(&memcg->oom_events, 1, memory_order_relaxed);
    if (mem_cgroup_margin(memcg) >= (1UL << order))
        return true;   /* someone uncharged meanwhile */
    struct oom_control oc = {
        .zonelist = NULL,
        .nodemask = NULL,
        .memcg = memcg,
        .gfp_mask = gfp,
        .order = (int)order,
    };
    return out_of_memory(&oc);
}

/*
 * try_charge_memcg: charge nr pages, or explain why not.
 *   1. within the limit: done;
 *   2. over it: count a "max" event; a thread inside reclaim is let through
 *      (forced), a request that cannot sleep goes to step 6;
 *   3. reclaim from the cgroup's memcg-aware shrinkers; under the limit
 *      now: retry; NORETRY: step 6; up to MAX_RECLAIM_RETRIES passes;
 *   4. RETRY_MAYFAIL: step 6;
 *   5. the cgroup's OOM: a kill retries the whole charge (a bounded number
 *      of times here: clients outlive their kill, unlike the kernel's
 *      tasks);
 *   6. NOFAIL and HIGH (atomic) requests are charged anyway, past the
 *      limit; the rest fail.
 */
static int try_charge_memcg(struct pa_memcg *memcg, pa_gfp_t gfp, unsigned int order)
{
    unsigned long nr_pages = 1UL << order;
    int nr_retries = MAX_RECLAIM_RETRIES;
    int nr_oom_kills = MAX_RECLAIM_RETRIES;
    bool raised_max_event = false;
    struct pa_thread *t = pa_current_thread;

retry:
    if (likely(page_counter_try_charge(memcg, nr_pages)))
        return 0;
    if (!raised_max_event) {
        atomic_fetch_add_explicit(&memcg->failcnt, 1, memory_order_relaxed);
        raised_max_event = true;
    }
    /* reclaim's own allocations must not recurse into reclaim */
    if (unlikely(t && (t->pf_flags & PF_MEMALLOC)))
        goto force;
    if (!(gfp & PA_GFP_DIRECT_RECLAIM))
        goto nomem;

    try_to_free_mem_cgroup_pages(memcg, nr_pages, gfp);
    /* NORETRY: one pass of reclaim, and a retry only if it got under */
    if (nr_retries-- > 0 && (!(gfp & PA_GFP_NORETRY) || mem_cgroup_margin(memcg) >= nr_pages))
        goto retry;
    if (gfp & (PA_GFP_NORETRY | PA_GFP_RETRY_MAYFAIL))
        goto nomem;
    if (nr_oom_kills-- > 0 && mem_cgroup_oom(memcg, gfp, order)) {
        nr_retries = MAX_RECLAIM_RETRIES;
        goto retry;
    }
nomem:
    /* no reserve for atomic requests here: like the global pool's users
     * they go through, and regular requests carry the reclaim burden */
    if (!(gfp & (PA_GFP_NOFAIL | PA_GFP_HIGH)))
        return -1;
force:
    page_counter_charge(memcg, nr_pages);
    return 0;
}

int memcg_charge_page(struct pa_page *page, pa_gfp_t gfp, unsigned int order)
{
    struct pa_thread *t = pa_current_thread;
    struct pa_memcg *memcg = t ? t->memcg : NULL;
    if (!memcg || !(gfp & PA_GFP_ACCOUNT))
        return 0;
    if (try_charge_memcg(memcg, gfp, order) != 0) {
        errno = ENOMEM;
        return -1;
    }
    page->memcg_data = (unsigned long)memcg | order;
    return 0;
}

void memcg_uncharge_page(struct pa_page *page, unsigned int order)
{
    unsigned long data = page->memcg_data;
    if (!data)
        return;
    /* the charged order, not the one freed: a block freed in pieces
     * (__free_pages with extra references) gives its whole charge back
     * when the head goes */
    (void)order;
    struct pa_memcg *memcg = (struct pa_memcg *)(data & ~MEMCG_DATA_ORDER_MASK);
    page_counter_uncharge(memcg, 1UL << (data & MEMCG_DATA_ORDER_MASK));
    page->memcg_data = 0;
}

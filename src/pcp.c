/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU page lists (pcp): where order-0..3 and pageblock-order pages are
 * cached between a free and the next allocation, so that the common case
 * takes one uncontended per-CPU lock instead of the zone lock.
 *
 * Refills take `batch` pages from the buddy under one zone-lock acquisition
 * (rmqueue_bulk); when a list grows past `high`, a batch goes back the same
 * way (free_pcppages_bulk).  `high` and the batch sizes tune themselves as
 * in Linux >= 6.7: `high` grows between high_min and high_max while the CPU
 * keeps freeing, batches grow on consecutive refills or frees, and an idle
 * pcp decays back towards high_min once a second.
 *
 * Modes (PAGEALLOC_PCP): "cpu" (default) keeps one pageset per zone per CPU,
 * found through the rseq CPU id; "thread" gives each thread its own, for
 * programs with pinned threads; "off" sends every free to the buddy.  Either
 * way each pageset has a lock taken by trylock on the fast path; a failed
 * trylock (a drain or another thread on the same CPU) falls back to the zone.
 */
#include "internal.h"
#include "pcp_lock.h"
#include "trace.h"

#include <signal.h>
#include <unistd.h>

#define MIN_PERCPU_PAGELIST_HIGH_FRACTION 8

int pcp_lock_kind = PCP_LOCK_ATOMIC;

static pthread_t decay_thread;
atomic_int pcp_decay_started;
/* serialises remote lockers: the `remote` word has one writer at a time */
static struct mutex remote_lock = MUTEX_INITIALIZER(LOCK_PCP_REMOTE);

static int nr_cpus_of_node(int nid)
{
    int n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(pa_mm.node_cpus[nid]); i++)
        n += __builtin_popcountl(pa_mm.node_cpus[nid][i]);
    return n;
}

/* zone_batchsize(): about 1/1024 of the zone, at most 1 MiB, quartered
 * and clamped to 2^n - 1 (63 for zones of 256 MiB and up). */
static int zone_batchsize(const struct zone *z)
{
    unsigned long batch = PA_MIN(z->managed_pages >> 10, (1UL << 20) / PAGE_SIZE);
    batch /= 4;
    if (batch < 1)
        batch = 1;
    unsigned long v = batch + batch / 2, p = 1;
    while (p * 2 <= v)
        p *= 2;
    return (int)PA_MAX(p - 1, 1UL);
}

/* zone_highsize(): a share of the LOW watermark (high_min) or of 1/8 of
 * the zone (high_max), split across the node's CPUs, at least 4 batches.
 * In thread mode the split is across the CPUs as well: threads beyond
 * them share the budget only in the sense that each may hold high_min. */
static int zone_highsize(const struct zone *z, int batch, int fraction)
{
    unsigned long total = fraction ? z->managed_pages / (unsigned long)fraction : low_wmark_pages(z);
    int nr_split = nr_cpus_of_node(z->node);
    if (!nr_split)
        nr_split = PA_MAX(pa_mm.nr_cpus, 1);
    unsigned long high = total / (unsigned long)nr_split;
    high = PA_MAX(high, (unsigned long)batch << 2);
    return (int)PA_MIN(high, (unsigned long)INT32_MAX / 2);
}

static void pageset_init(struct per_cpu_pages *pcp, const struct zone *z)
{
    memset(pcp, 0, sizeof(*pcp));
    for (int i = 0; i < NR_PCP_LISTS; i++)
        INIT_LIST_HEAD(&pcp->lists[i]);
    pcp->batch = zone_batchsize(z);
    pcp->high_min = zone_highsize(z, pcp->batch, 0);
    pcp->high_max = zone_highsize(z, pcp->batch, MIN_PERCPU_PAGELIST_HIGH_FRACTION);
    pcp->high = pcp->high_min;
}

static int choose_lock_kind(void)
{
    if (pa_opt.pcp_mode == PA_PCP_CPU && PA_HAVE_RSEQ_PCP && __rseq_size > 0 &&
        pa_os_membarrier_register(true) == 0)
        return PCP_LOCK_RSEQ;
#ifndef __SANITIZE_THREAD__
    if (pa_opt.pcp_mode == PA_PCP_THREAD && pa_os_membarrier_register(false) == 0)
        return PCP_LOCK_OWNER;
#endif
    return PCP_LOCK_ATOMIC;
}

bool pcp_magazines_on;
struct pa_magazine mag_unnamed;

int pa_pcp_init(void)
{
    pa_fork_init();
    pcp_lock_kind = choose_lock_kind();
#ifndef __SANITIZE_THREAD__
    /* magazines need the plain expedited membarrier for remote drains */
    pcp_magazines_on = pa_opt.pcp_magazine && pa_opt.pcp_mode != PA_PCP_OFF &&
                       pa_os_membarrier_register(false) == 0;
#endif
    if (pa_opt.pcp_mode != PA_PCP_CPU)
        return 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            if (!populated_zone(z))
                continue;
            struct per_cpu_pages *sets = pa_os_alloc((size_t)pa_mm.nr_cpus * sizeof(*sets));
            if (!sets)
                return -1;
            for (int cpu = 0; cpu < pa_mm.nr_cpus; cpu++)
                pageset_init(&sets[cpu], z);
            z->per_cpu_pageset = sets;
        }
    }
    return 0;
}

/* The calling thread's pageset for z in thread mode, made on first use. */
struct per_cpu_pages *thread_pcp_slow(struct zone *z)
{
    struct pa_thread *t = pa_thread();
    size_t slot = (size_t)z->node * MAX_NR_ZONES + z->zid;
    size_t n = (size_t)pa_mm.nr_nodes * MAX_NR_ZONES;
    struct per_cpu_pages **arr = t->pcp ? NULL : pa_os_alloc(n * sizeof(*arr));
    struct per_cpu_pages *pcp = pa_os_alloc(sizeof(*pcp));
    if (!pcp || (!t->pcp && !arr))
        goto fail;
    pageset_init(pcp, z);
    /*
     * Published under remote_lock, so that fork_prepare (which holds it
     * across fork) and remote drains either see the pageset and lock it, or
     * its owner has not used it yet.  Only a trylock: the owner may be in
     * its magazines, which a holder of remote_lock can be waiting for.  On
     * failure this allocation simply goes past the pcp.
     */
    if (!mutex_trylock(&remote_lock))
        goto fail;
    if (arr)
        __atomic_store_n(&t->pcp, arr, __ATOMIC_RELEASE);
    __atomic_store_n(&t->pcp[slot], pcp, __ATOMIC_RELEASE);
    mutex_unlock(&remote_lock);
    return pcp;
fail:
    if (pcp)
        pa_os_free(pcp, sizeof(*pcp));
    if (arr)
        pa_os_free(arr, n * sizeof(*arr));
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Remote locking (see pcp_trylock in pcp_lock.h)                      */
/* ------------------------------------------------------------------ */

/* Lock n pagesets from outside their CPU or thread with one membarrier.
 * Caller holds remote_lock. */
static void pcp_lock_remote_many(struct per_cpu_pages *const *v, int n)
{
    for (int i = 0; i < n; i++)
        lockdep_acquire(LOCK_PAGESET, 0);
    if (pcp_lock_kind == PCP_LOCK_ATOMIC) {
        for (int i = 0; i < n; i++)
            while (__atomic_exchange_n(&v[i]->locked, 1, __ATOMIC_ACQUIRE))
                sched_yield();
        return;
    }
    for (int i = 0; i < n; i++)
        __atomic_store_n(&v[i]->remote, 1, __ATOMIC_RELAXED);
    /* now every critical section in flight has committed or restarted,
     * and every new one sees `remote` */
    pa_os_membarrier(pcp_lock_kind == PCP_LOCK_RSEQ);
    for (int i = 0; i < n; i++)
        while (__atomic_load_n(&v[i]->locked, __ATOMIC_ACQUIRE))
            sched_yield();
}

static void pcp_unlock_remote_many(struct per_cpu_pages *const *v, int n)
{
    for (int i = 0; i < n; i++) {
        lockdep_release(LOCK_PAGESET, 0);
        if (pcp_lock_kind == PCP_LOCK_ATOMIC)
            __atomic_store_n(&v[i]->locked, 0, __ATOMIC_RELEASE);
        else
            __atomic_store_n(&v[i]->remote, 0, __ATOMIC_RELEASE);
    }
}

/* ------------------------------------------------------------------ */
/* Bulk moves between the pcp and the buddy                            */
/* ------------------------------------------------------------------ */

/* Take up to count blocks of 2^order for the list under one zone lock. */
static int rmqueue_bulk(struct zone *z, unsigned int order, int count, struct list_head *list, int mt,
                        unsigned int alloc_flags)
{
    int i;
    spin_lock(&z->lock);
    for (i = 0; i < count; i++) {
        struct pa_page *page = __rmqueue(z, order, mt, alloc_flags);
        if (unlikely(!page))
            break;
        list_add_tail(&page->lru, list);
    }
    spin_unlock(&z->lock);
    return i;
}

/*
 * Give count pages back to the buddy under one zone lock, round-robin over
 * the lists starting with pindex, oldest (tail) pages first.  pcp->lock held.
 */
static void free_pcppages_bulk(struct zone *z, int count, struct per_cpu_pages *pcp, int pindex)
{
    count = PA_MIN(pcp->count, count);
    if (count <= 0)
        return;
    pindex--;
    spin_lock(&z->lock);
    while (count > 0) {
        struct list_head *list;
        do {
            if (++pindex > NR_PCP_LISTS - 1)
                pindex = 0;
            list = &pcp->lists[pindex];
        } while (list_empty(list));
        unsigned int order = pindex_to_order(pindex);
        int nr_pages = 1 << order;
        do {
            struct pa_page *page = list_last_entry(list, struct pa_page, lru);
            unsigned long pfn = page_to_pfn(page);
            list_del(&page->lru);
            count -= nr_pages;
            WRITE_ONCE(pcp->count, pcp->count - nr_pages);
            int mt = get_pfnblock_migratetype(pfn);
            __free_one_page(page, pfn, z, order, mt);
            trace_mm_page_pcpu_drain(pfn, order, mt);
        } while (count > 0 && !list_empty(list));
    }
    spin_unlock(&z->lock);
}

/* How many to refill: grows (alloc_factor) on refills without frees
 * between, and high with it unless the zone is below its HIGH mark. */
static int nr_pcp_alloc(struct per_cpu_pages *pcp, struct zone *z, unsigned int order)
{
    int base_batch = pcp->batch, batch, high;
    int high_min = pcp->high_min, high_max = pcp->high_max;

    high = PA_MAX(high_min, PA_MIN(pcp->high, high_max));
    WRITE_ONCE(pcp->high, high);
    if (unlikely(high < base_batch))
        return 1;
    batch = order ? base_batch : base_batch << pcp->alloc_factor;
    /* a larger high would have saved this trip to the zone */
    if (high_min != high_max && !zone_test_flag(z, ZONE_BELOW_HIGH)) {
        high = PA_MIN(high + batch, high_max);
        WRITE_ONCE(pcp->high, high);
    }
    if (!order) {
        int max_nr_alloc = PA_MAX(high - pcp->count - base_batch, base_batch);
        if (batch <= max_nr_alloc && pcp->alloc_factor < PCP_BATCH_SCALE_MAX)
            pcp->alloc_factor++;
        batch = PA_MIN(batch, max_nr_alloc);
    }
    if (batch > 1)
        batch = PA_MAX(batch >> order, 2);
    return batch;
}

/*
 * The high mark in force for this free.  It may raise pcp->high while the
 * CPU frees more than it allocates, and lowers it while memory is short:
 * under kswapd's reclaim the list keeps at most 4 batches, and below the
 * zone's HIGH mark each flush gives back what was freed since the last.
 */
static int nr_pcp_high(struct per_cpu_pages *pcp, struct zone *z, int batch, bool free_high)
{
    int high_min = pcp->high_min, high_max = pcp->high_max;
    int high = PA_MAX(high_min, PA_MIN(pcp->high, high_max));
    WRITE_ONCE(pcp->high, high);

    if (unlikely(!high))
        return 0;
    if (unlikely(free_high)) {
        WRITE_ONCE(pcp->high, PA_MAX(high - (batch << PCP_BATCH_SCALE_MAX), high_min));
        return 0;
    }
    if (unlikely(zone_test_flag(z, ZONE_RECLAIM_ACTIVE))) {
        WRITE_ONCE(pcp->high, PA_MAX(high - PA_MAX(pcp->free_count, batch), high_min));
        return PA_MIN(batch << 2, pcp->high);
    }
    if (high_min == high_max)
        return high;
    if (unlikely(zone_test_flag(z, ZONE_BELOW_HIGH))) {
        WRITE_ONCE(pcp->high, PA_MAX(high - PA_MAX(pcp->free_count, batch), high_min));
        high = PA_MAX(pcp->count, high_min);
    } else if (pcp->count >= high) {
        int need_high = pcp->free_count + batch;
        if (pcp->high < need_high)
            WRITE_ONCE(pcp->high, PA_MAX(high_min, PA_MIN(need_high, high_max)));
    }
    return high;
}

/* How many to free: grows with consecutive frees, leaves at least a batch. */
static int nr_pcp_free(struct per_cpu_pages *pcp, int batch, int high, bool free_high)
{
    if (unlikely(free_high))
        return PA_MIN(pcp->count, batch << PCP_BATCH_SCALE_MAX);
    if (unlikely(high < batch))
        return 1;
    int min_nr_free = batch, max_nr_free = high - batch;
    return PA_MAX(min_nr_free, PA_MIN(pcp->free_count, max_nr_free));
}

/* ------------------------------------------------------------------ */
/* The fast path                                                       */
/* ------------------------------------------------------------------ */

struct pa_page *rmqueue_pcplist(struct per_cpu_pages *pcp, struct zone *z, unsigned int order, int mt,
                                unsigned int alloc_flags)
{
    struct list_head *list = &pcp->lists[order_to_pindex(mt, order)];
    struct pa_page *page;

    /* an allocation halves the batch of the next bulk free */
    pcp->free_count >>= 1;
    if (unlikely(list_empty(list))) {
        int batch = nr_pcp_alloc(pcp, z, order);
        int got = rmqueue_bulk(z, order, batch, list, mt, alloc_flags);
        WRITE_ONCE(pcp->count, pcp->count + (got << order));
        if (unlikely(list_empty(list)))
            return NULL;
    }
    page = list_first_entry(list, struct pa_page, lru);
    list_del(&page->lru);
    WRITE_ONCE(pcp->count, pcp->count - (1 << order));
    return page;
}

/*
 * The rest of free_unref_page_commit (pcp.h has the start): the page is already on the list and counted.
 * Many high-order frees without allocations between are not hoarded
 * (free_high); at or above high a batch goes back to the buddy, and a zone
 * that is above HIGH again stops shrinking its lists.
 */
void free_unref_page_commit_tail(struct per_cpu_pages *pcp, struct zone *z, unsigned int order, int pindex)
{
    int batch = pcp->batch, high;
    bool free_high = false;

    if (order && order <= PAGE_ALLOC_COSTLY_ORDER) {
        free_high = pcp->free_count >= batch + pcp->high_min / 2 && (pcp->flags & PCPF_PREV_FREE_HIGH_ORDER);
        pcp->flags |= PCPF_PREV_FREE_HIGH_ORDER;
    } else if (pcp->flags & PCPF_PREV_FREE_HIGH_ORDER) {
        pcp->flags &= (uint8_t)~PCPF_PREV_FREE_HIGH_ORDER;
    }
    if (pcp->free_count < (batch << PCP_BATCH_SCALE_MAX))
        pcp->free_count = (short)(pcp->free_count + (1 << order));
    high = nr_pcp_high(pcp, z, batch, free_high);
    if (pcp->count >= high) {
        free_pcppages_bulk(z, nr_pcp_free(pcp, batch, high, free_high), pcp, pindex);
        if (zone_test_flag(z, ZONE_BELOW_HIGH) &&
            zone_watermark_ok(z, 0, high_wmark_pages(z), PA_ZONE_MOVABLE, 0))
            zone_clear_flag(z, ZONE_BELOW_HIGH);
    }
}

/* ------------------------------------------------------------------ */
/* Magazines (see struct pa_magazine)                                  */
/* ------------------------------------------------------------------ */

int mag_create(struct pa_thread *t)
{
    size_t n = nr_mag_slots();
    struct pa_magazine *m = pa_os_alloc(mag_array_bytes());
    if (!m)
        return -1;
    /* m[n]: the slot of pageblocks without a pcp list, never filled (high 0) */
    for (size_t i = 0; i < n; i++) {
        size_t zs = i / MIGRATE_PCPTYPES;   /* nid * MAX_NR_ZONES + zid */
        m[i].zone = &NODE_DATA((int)(zs / MAX_NR_ZONES))->node_zones[zs % MAX_NR_ZONES];
    }
    __atomic_store_n(&t->mags, m, __ATOMIC_RELEASE);
    mag_update_free(t);
    return 0;
}

/* A magazine holds at most a quarter of the pcp's high_min, up to
 * PA_MAG_SIZE: the thread's share of a pageset, small for a small zone (0:
 * no magazine here), and small enough that frees overflow into the pcp
 * list, whose high rules (ZONE_BELOW_HIGH, ZONE_RECLAIM_ACTIVE) then trim
 * it.  Never set below the pages already held. */
static void mag_set_high(struct pa_magazine *m, const struct per_cpu_pages *pcp)
{
    unsigned long high = (unsigned long)PA_MIN(PA_MAG_SIZE, PA_MAX(pcp->high_min, 0) / 4);
    WRITE_ONCE(m->high, PA_MAX(high, m->n));
}

/*
 * Fill m from this pcp (locked by the caller, which is inside mag_enter)
 * up to half its high, refilling the list from the buddy as the pcp does;
 * returns the number of pages now in m.
 */
unsigned long mag_fill(struct per_cpu_pages *pcp, struct zone *z, struct pa_magazine *m, int mt,
                       unsigned int alloc_flags)
{
    unsigned long want, n = m->n, got = 0;
    mag_set_high(m, pcp);
    want = m->high / 2;
    /* one allocation from the pcp's point of view: free_count halves once */
    pcp->free_count >>= 1;
    struct list_head *list = &pcp->lists[order_to_pindex(mt, 0)];
    while (n < want) {
        struct pa_page *page;
        if (unlikely(list_empty(list))) {
            /* a batch from the buddy, as rmqueue_pcplist does */
            int batch = nr_pcp_alloc(pcp, z, 0);
            int refilled = rmqueue_bulk(z, 0, batch, list, mt, alloc_flags);
            WRITE_ONCE(pcp->count, pcp->count + refilled);
            if (!refilled)
                break;
        }
        page = list_first_entry(list, struct pa_page, lru);
        list_del(&page->lru);
        WRITE_ONCE(page->order, 0);
        /* as prep_new_page would: the pop hands it out with clean flags
         * (the fast free requires them) */
        if (unlikely(PageReported(page)))
            __ClearPageReported(page);
        m->pages[n++] = page;
        got++;
    }
    WRITE_ONCE(pcp->count, pcp->count - (int)got);
    WRITE_ONCE(m->moved, m->moved + got);
    WRITE_ONCE(m->n, n);
    return n;
}

/* Give the oldest pages of a list of n back: to the pcp, or straight to
 * the buddy when the pcp is contended. */
static void mag_release(struct pa_page **pages, unsigned int n, struct zone *z, int cpu, int mt)
{
    struct per_cpu_pages *pcp = cpu >= 0 ? this_pcp(z, cpu) : NULL;
    if (n && pcp && pcp_trylock(pcp, cpu)) {
        /* n frees of free_unref_page_commit, each with the high rules: one
         * trim after all n would free too little when the zone flags cap
         * high (ZONE_RECLAIM_ACTIVE keeps 4 batches, and a batch may be 1
         * page), and the list would grow by n less that trim per flush */
        for (unsigned int i = 0; i < n; i++)
            free_unref_page_commit(pcp, z, pages[i], 0, mt);
        pcp_unlock(pcp);
        if (unlikely(!atomic_load_explicit(&pcp_decay_started, memory_order_relaxed)))
            pa_pcp_start_decay();
        return;
    }
    spin_lock(&z->lock);
    for (unsigned int i = 0; i < n; i++) {
        unsigned long pfn = page_to_pfn(pages[i]);
        __free_one_page(pages[i], pfn, z, 0, get_pfnblock_migratetype(pfn));
    }
    spin_unlock(&z->lock);
}

/* Take the oldest nr pages out of m and give them back. */
static void mag_shrink(struct pa_magazine *m, unsigned long nr, struct zone *z, int cpu, int mt)
{
    mag_release(m->pages, (unsigned int)nr, z, cpu, mt);
    memmove(m->pages, m->pages + nr, (m->n - nr) * sizeof(m->pages[0]));
    WRITE_ONCE(m->moved, m->moved - nr);
    WRITE_ONCE(m->n, m->n - nr);
}

/*
 * A free found m full (or not yet sized): size it from this CPU's pcp and
 * move its oldest quarter there.  A fill brings m to half of high and a
 * flush leaves three quarters, so a program that allocates and frees a
 * cycle of up to high/2 pages settles with m never empty nor full (a
 * half-and-half rule can lock such a cycle into a fill and a flush every
 * round).  Inside mag_enter.  False when m has no room
 * all the same (a zone too small for magazines): free through the pcp.
 */
bool mag_flush(struct pa_magazine *m, struct zone *z, int mt)
{
    int cpu = pa_cpu_id();
    struct per_cpu_pages *pcp = this_pcp(z, cpu);
    if (!pcp)
        return false;
    mag_set_high(m, pcp);   /* high is read unlocked: a hint that bounds m */
    if (m->n >= m->high && m->n)
        mag_shrink(m, m->n - (m->high - PA_MAX(m->high / 4, 1UL)), z, cpu, mt);
    return m->n < m->high;
}

/* Every magazine of t back to the buddy: by the owner (thread exit), or by
 * a drainer that holds t out of them. */
void mag_flush_all(struct pa_thread *t)
{
    struct pa_magazine *mags = __atomic_load_n(&t->mags, __ATOMIC_ACQUIRE);
    if (!mags)
        return;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
                struct zone *z = &NODE_DATA(nid)->node_zones[zid];
                struct pa_magazine *m = thread_mag(t, z, mt);
                if (m->n)
                    mag_shrink(m, m->n, z, -1, mt);
            }
}

/* Hold thread t out of its magazines (t is not the caller). */
static void mag_lock_remote(struct pa_thread *t)
{
    lockdep_acquire(LOCK_MAGAZINE, 0);
    __atomic_store_n(&t->mag_drain, 1, __ATOMIC_RELAXED);
    pa_os_membarrier(false);
    while (__atomic_load_n(&t->mag_busy, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void mag_unlock_remote(struct pa_thread *t)
{
    lockdep_release(LOCK_MAGAZINE, 0);
    __atomic_store_n(&t->mag_drain, 0, __ATOMIC_RELEASE);
}

static void drain_thread_mags(struct pa_thread *t, void *arg)
{
    (void)arg;
    if (!__atomic_load_n(&t->mags, __ATOMIC_ACQUIRE))
        return;
    if (t == pa_current_thread) {
        if (mag_enter(t)) {
            mag_flush_all(t);
            mag_exit(t);
        }
        return;
    }
    mag_lock_remote(t);
    mag_flush_all(t);
    mag_unlock_remote(t);
}

struct mag_walk_arg {
    void (*fn)(struct pa_thread *, void *);
    void *arg;
};

static void walk_thread_mags(struct pa_thread *t, void *arg)
{
    struct mag_walk_arg *a = arg;
    if (!__atomic_load_n(&t->mags, __ATOMIC_ACQUIRE))
        return;
    bool self = t == pa_current_thread;
    if (!self)
        mag_lock_remote(t);
    a->fn(t, a->arg);
    if (!self)
        mag_unlock_remote(t);
}

/* Call fn on every thread's magazines, each held still meanwhile. */
void pa_mag_walk(void (*fn)(struct pa_thread *, void *), void *arg)
{
    struct mag_walk_arg a = {fn, arg};
    mutex_lock(&remote_lock);
    pa_for_each_thread(walk_thread_mags, &a);
    mutex_unlock(&remote_lock);
}

/* ------------------------------------------------------------------ */
/* Draining                                                            */
/* ------------------------------------------------------------------ */

/* Each pageset of z (an array of pointers) drained, or decayed. */
static void drain_or_decay(struct zone *z, struct per_cpu_pages *const *v, int n, bool decay);

struct drain_arg {
    struct zone *zone;   /* NULL: every zone */
    bool decay;
};

static void drain_thread_pcps(struct pa_thread *t, void *arg)
{
    const struct drain_arg *a = arg;
    if (!t->pcp)
        return;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            struct per_cpu_pages *pcp = __atomic_load_n(&t->pcp[(size_t)nid * MAX_NR_ZONES + zid],
                                                        __ATOMIC_ACQUIRE);
            if (pcp && (!a->zone || a->zone == z))
                drain_or_decay(z, &pcp, 1, a->decay);
        }
}

static void for_each_pageset(struct zone *zone, bool decay)
{
    struct drain_arg a = {.zone = zone, .decay = decay};
    struct per_cpu_pages *v[PA_MAX_CPUS];

    mutex_lock(&remote_lock);
    /* magazines first: mag_release puts their pages in the buddy directly */
    if (!decay && pcp_magazines_on)
        pa_for_each_thread(drain_thread_mags, NULL);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            if ((zone && z != zone) || !z->per_cpu_pageset)
                continue;
            for (int cpu = 0; cpu < pa_mm.nr_cpus; cpu++)
                v[cpu] = &z->per_cpu_pageset[cpu];
            drain_or_decay(z, v, pa_mm.nr_cpus, decay);
        }
    pa_for_each_thread(drain_thread_pcps, &a);
    mutex_unlock(&remote_lock);
}

struct walk_arg {
    struct zone *zone;
    void (*fn)(struct zone *, struct per_cpu_pages *, void *);
    void *arg;
};

static void walk_thread_pcps(struct pa_thread *t, void *arg)
{
    struct walk_arg *a = arg;
    if (!t->pcp)
        return;
    struct per_cpu_pages *pcp =
        __atomic_load_n(&t->pcp[(size_t)a->zone->node * MAX_NR_ZONES + a->zone->zid], __ATOMIC_ACQUIRE);
    if (pcp) {
        pcp_lock_remote_many(&pcp, 1);
        a->fn(a->zone, pcp, a->arg);
        pcp_unlock_remote_many(&pcp, 1);
    }
}

/* Call fn on each pageset of z with that pageset locked (for the walker). */
void pa_pcp_walk(struct zone *z, void (*fn)(struct zone *, struct per_cpu_pages *, void *), void *arg)
{
    struct walk_arg a = {z, fn, arg};
    mutex_lock(&remote_lock);
    if (z->per_cpu_pageset) {
        for (int cpu = 0; cpu < pa_mm.nr_cpus; cpu++) {
            struct per_cpu_pages *pcp = &z->per_cpu_pageset[cpu];
            pcp_lock_remote_many(&pcp, 1);
            fn(z, pcp, arg);
            pcp_unlock_remote_many(&pcp, 1);
        }
    }
    pa_for_each_thread(walk_thread_pcps, &a);
    mutex_unlock(&remote_lock);
}

/* Every pageset of z (or of every zone): before reclaim, compaction, OOM,
 * and when a caller wants all free memory in the buddy. */
void drain_all_pages(struct zone *zone)
{
    for_each_pageset(zone, false);
}

/* The current CPU's (or thread's) pagesets only, and the calling thread's
 * magazines, which sit in front of them. */
void drain_local_pages(struct zone *zone)
{
    struct pa_thread *self = pa_current_thread;
    /* as the owner, inside the protocol: a remote drainer may be at them */
    if (self && __atomic_load_n(&self->mags, __ATOMIC_ACQUIRE) && mag_enter(self)) {
        mag_flush_all(self);
        mag_exit(self);
    }
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            if (zone && z != zone)
                continue;
            struct per_cpu_pages *pcp = this_pcp(z, pa_cpu_id());
            if (pcp) {
                mutex_lock(&remote_lock);
                drain_or_decay(z, &pcp, 1, false);
                mutex_unlock(&remote_lock);
            }
        }
}

/* A thread is exiting: its pagesets go back to the buddy (thread mode). */
void pcp_thread_exit(struct pa_thread *t)
{
    struct drain_arg a = {.zone = NULL, .decay = false};
    mag_flush_all(t);
    if (t->mags)
        pa_os_free(t->mags, mag_array_bytes());
    t->mags = NULL;
    t->free_mags = NULL;
    mutex_lock(&remote_lock);
    drain_thread_pcps(t, &a);
    mutex_unlock(&remote_lock);
    if (t->pcp) {
        for (size_t i = 0; i < (size_t)pa_mm.nr_nodes * MAX_NR_ZONES; i++)
            pa_os_free(t->pcp[i], sizeof(struct per_cpu_pages));
        pa_os_free(t->pcp, (size_t)pa_mm.nr_nodes * MAX_NR_ZONES * sizeof(*t->pcp));
        t->pcp = NULL;
    }
}

PA_API void pa_drain_all_pages(void)
{
    if (pa_initialized())
        drain_all_pages(NULL);
}

PA_API void pa_drain_local_pages(void)
{
    if (pa_initialized())
        drain_local_pages(NULL);
}

/* ------------------------------------------------------------------ */
/* Decay of an idle pcp's high (vmstat refresh, once a second)          */
/* ------------------------------------------------------------------ */

/* Lower high by 1/8 per tick towards high_min and free what is above it.
 * pcp locked. */
static void decay_pcp_high(struct zone *z, struct per_cpu_pages *pcp)
{
    int high_min = pcp->high_min, batch = pcp->batch;
    if (pcp->high > high_min) {
        int a = pcp->count - (batch << PCP_BATCH_SCALE_MAX), b = pcp->high - (pcp->high >> 3);
        WRITE_ONCE(pcp->high, PA_MAX(PA_MAX(a, b), high_min));
    }
    int to_drain = pcp->count - pcp->high;
    if (to_drain > 0)
        free_pcppages_bulk(z, to_drain, pcp, 0);
}

static void drain_or_decay(struct zone *z, struct per_cpu_pages *const *v, int n, bool decay)
{
    struct per_cpu_pages *busy[PA_MAX_CPUS];
    int nb = 0;
    /* skip pagesets with nothing to do (racy reads: a hint only) */
    for (int i = 0; i < n; i++) {
        struct per_cpu_pages *p = v[i];
        int count = __atomic_load_n(&p->count, __ATOMIC_RELAXED);
        int high = __atomic_load_n(&p->high, __ATOMIC_RELAXED);
        if (decay ? (high > p->high_min || count > high) : count > 0)
            busy[nb++] = p;
    }
    if (!nb)
        return;
    pcp_lock_remote_many(busy, nb);
    for (int i = 0; i < nb; i++) {
        if (decay)
            decay_pcp_high(z, busy[i]);
        else
            free_pcppages_bulk(z, busy[i]->count, busy[i], 0);
    }
    pcp_unlock_remote_many(busy, nb);
}

static void pa_pcp_decay_all(void)
{
    for_each_pageset(NULL, true);
}

static void *decay_main(void *arg)
{
    (void)arg;
    for (;;) {
        sleep(1);
        pa_pcp_decay_all();
        page_reporting_start();   /* from here: no caller's locks (glibc's included) are held */
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* fork                                                                */
/* ------------------------------------------------------------------ */

/*
 * The pcp's steps of the fork handler (fork.c).  Before fork, remote_lock
 * and the thread registry are taken, every other thread is held out of its
 * magazines and every pageset is locked from outside, then the grow and
 * zone locks are taken (the order of docs/locking.md).  So
 * the child starts from consistent lists: it resets the locks, gives the
 * caches of the threads that did not survive fork back to the buddy, and
 * forgets those threads.  The parent just lets go.
 */
static bool fork_locked;
/* pa_pcp_start_decay's: a thread starting the worker at fork time leaves it held */
static struct mutex decay_start_lock = MUTEX_INITIALIZER(LOCK_DECAY_START);

static void fork_hold_thread(struct pa_thread *t, void *arg)
{
    bool *any = arg;
    if (t != pa_current_thread && __atomic_load_n(&t->mags, __ATOMIC_ACQUIRE)) {
        lockdep_acquire(LOCK_MAGAZINE, 0);
        __atomic_store_n(&t->mag_drain, 1, __ATOMIC_RELAXED);
        *any = true;
    }
}

static void fork_wait_thread(struct pa_thread *t, void *arg)
{
    (void)arg;
    if (t == pa_current_thread)
        return;
    while (__atomic_load_n(&t->mag_busy, __ATOMIC_ACQUIRE))
        sched_yield();
    struct per_cpu_pages **v = __atomic_load_n(&t->pcp, __ATOMIC_ACQUIRE);
    for (size_t i = 0; v && i < (size_t)pa_mm.nr_nodes * MAX_NR_ZONES; i++)
        if (__atomic_load_n(&v[i], __ATOMIC_ACQUIRE))
            pcp_lock_remote_many(&v[i], 1);
}

static void fork_release_thread(struct pa_thread *t, void *arg)
{
    (void)arg;
    if (t == pa_current_thread)
        return;
    struct per_cpu_pages **v = __atomic_load_n(&t->pcp, __ATOMIC_ACQUIRE);
    for (size_t i = 0; v && i < (size_t)pa_mm.nr_nodes * MAX_NR_ZONES; i++)
        if (__atomic_load_n(&v[i], __ATOMIC_ACQUIRE))
            pcp_unlock_remote_many(&v[i], 1);
    __atomic_store_n(&t->mag_drain, 0, __ATOMIC_RELEASE);
}

static void for_each_zone_pagesets(bool lock)
{
    struct per_cpu_pages *v[PA_MAX_CPUS];
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            if (!z->per_cpu_pageset)
                continue;
            for (int cpu = 0; cpu < pa_mm.nr_cpus; cpu++)
                v[cpu] = &z->per_cpu_pageset[cpu];
            if (lock)
                pcp_lock_remote_many(v, pa_mm.nr_cpus);
            else
                pcp_unlock_remote_many(v, pa_mm.nr_cpus);
        }
}

void pcp_fork_prepare(void)
{
    fork_locked = pa_initialized();
    if (!fork_locked)
        return;
    bool any = false;
    mutex_lock(&remote_lock);
    pa_threads_lock();
    pa_for_each_thread_locked(fork_hold_thread, &any);
    if (any)
        pa_os_membarrier(false);
    pa_for_each_thread_locked(fork_wait_thread, NULL);
    for_each_zone_pagesets(true);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        mutex_lock(&NODE_DATA(nid)->grow_lock);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            spin_lock(&NODE_DATA(nid)->node_zones[zid].lock);
}

void pcp_fork_parent(void)
{
    if (!fork_locked)
        return;
    for (int nid = pa_mm.nr_nodes - 1; nid >= 0; nid--)
        for (int zid = MAX_NR_ZONES - 1; zid >= 0; zid--)
            spin_unlock(&NODE_DATA(nid)->node_zones[zid].lock);
    for (int nid = pa_mm.nr_nodes - 1; nid >= 0; nid--)
        mutex_unlock(&NODE_DATA(nid)->grow_lock);
    for_each_zone_pagesets(false);
    pa_for_each_thread_locked(fork_release_thread, NULL);
    lockdep_forget_class(LOCK_MAGAZINE);
    pa_threads_unlock();
    mutex_unlock(&remote_lock);
}

/* A thread that did not survive fork: its caches back to the buddy. */
static void fork_reap_thread(struct pa_thread *t)
{
    t->mag_busy = 0;
    t->mag_drain = 0;
    mag_flush_all(t);
    for (int nid = 0; t->pcp && nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct per_cpu_pages *pcp = t->pcp[(size_t)nid * MAX_NR_ZONES + zid];
            if (!pcp)
                continue;
            pcp->locked = 0;
            pcp->remote = 0;
            free_pcppages_bulk(&NODE_DATA(nid)->node_zones[zid], pcp->count, pcp, 0);
            pa_os_free(pcp, sizeof(*pcp));
        }
    if (t->pcp)
        pa_os_free(t->pcp, (size_t)pa_mm.nr_nodes * MAX_NR_ZONES * sizeof(*t->pcp));
    if (t->mags)
        pa_os_free(t->mags, mag_array_bytes());
    t->pcp = NULL;
    t->mags = NULL;
    t->free_mags = NULL;
}

void pcp_fork_child(void)
{
    if (!fork_locked)
        return;
    /* the mutexes pcp_fork_prepare took belong to this thread: unlocked, not
     * reinitialised, so a checker (TSan) sees them released */
    mutex_unlock(&remote_lock);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        mutex_unlock(&NODE_DATA(nid)->grow_lock);
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            spin_unlock(&z->lock);
            for (int cpu = 0; z->per_cpu_pageset && cpu < pa_mm.nr_cpus; cpu++) {
                z->per_cpu_pageset[cpu].locked = 0;
                z->per_cpu_pageset[cpu].remote = 0;
            }
        }
    }
    lockdep_forget_class(LOCK_PAGESET);
    lockdep_forget_class(LOCK_MAGAZINE);
    /* membarrier registration belongs to the parent's mm */
    if (pcp_lock_kind != PCP_LOCK_ATOMIC &&
        pa_os_membarrier_register(pcp_lock_kind == PCP_LOCK_RSEQ) != 0)
        pcp_lock_kind = PCP_LOCK_ATOMIC;
    if (pcp_magazines_on && pa_os_membarrier_register(false) != 0)
        pcp_magazines_on = false;
    pa_threads_fork_child(fork_reap_thread);
    /* the decay thread is gone: a new one starts on the next free */
    mutex_init(&decay_start_lock, LOCK_DECAY_START, 0);
    atomic_store(&pcp_decay_started, 0);
}

/* Started on the first free into a pcp, not at init: a program that never
 * frees (or the shim before main) never gets an extra thread. */
void pa_pcp_start_decay(void)
{
    mutex_lock(&decay_start_lock);
    if (!atomic_load(&pcp_decay_started)) {
        pthread_attr_t attr;
        sigset_t all, old;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* the worker never handles the program's signals */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&decay_thread, &attr, decay_main, NULL) == 0)
            pthread_setname_np(decay_thread, "pa_vmstat");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        atomic_store(&pcp_decay_started, 1);
    }
    mutex_unlock(&decay_start_lock);
}

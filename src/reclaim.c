/* SPDX-License-Identifier: MIT */
/*
 * Reclaim: shrinkers, direct reclaim, memory-cgroup reclaim, kswapd, and
 * an LRU helper for page-cache-like users.  Read alongside the kernel's
 * mm/shrinker.c and mm/vmscan.c: the names, the constants and the order of
 * the steps are the same; docs/reclaim.md maps each part to its kernel
 * function.
 *
 * What there is to reclaim here: objects of caches that registered a
 * shrinker (the LRU helper is one of them).  Pages a shrinker frees count
 * as progress when the reclaiming thread frees them, as the kernel's
 * reclaim_state does: t->reclaimed points at the reclaim's counter while it
 * runs, and the thread's own pgfree count is read as well, so progress is
 * seen whichever the free path reports.
 *
 * Locks: shrinker_lock (a mutex) guards the shrinker list and is never held
 * while a callback runs; a shrinker being called holds a reference
 * (nr_running) that pa_shrinker_free() waits for.  No zone lock is held
 * here while any callback runs.
 */
#include "internal.h"
#include "trace.h"

#include <assert.h>
#include <signal.h>
#include <time.h>

#define SWAP_CLUSTER_MAX 32UL
#define SHRINK_BATCH 128L
/* Free pages compaction needs to have room to migrate into (compact_gap). */
#define compact_gap(order) (2UL << (order))
/* count_objects results are clamped so that delta * 4 and 2 * freeable fit a long. */
#define FREEABLE_MAX (1L << 58)


/* Test hooks (tests/test_reclaim.c declares them itself). */
unsigned long shrink_slab(pa_gfp_t gfp, int nid, struct pa_memcg *memcg, int priority);
bool kswapd_sleeping(int nid);
int kswapd_failures(int nid);

/* ------------------------------------------------------------------ */
/* Shrinkers (mm/shrinker.c)                                           */
/* ------------------------------------------------------------------ */

#define SHRINKER_MAGIC 0x73687231u
#define SHRINKER_FLAGS (PA_SHRINKER_NUMA_AWARE | PA_SHRINKER_MEMCG_AWARE)

struct shrinker_impl {
    struct pa_shrinker pub;          /* first: what pa_shrinker_alloc returns */
    unsigned int magic;
    bool registered;                 /* may be called */
    bool on_list;                    /* on shrinker_list (until the last call leaves) */
    bool dying;                      /* pa_shrinker_free: no new calls */
    int nr_running;                  /* calls in progress (shrinker_lock) */
    struct list_head list;
    /* work not done yet, per node; NUMA-unaware shrinkers use [0] */
    atomic_long nr_deferred[MAX_NUMNODES];
    char name[];
};

static struct mutex shrinker_lock = MUTEX_INITIALIZER(LOCK_SHRINKER);
static pthread_cond_t shrinker_idle = PTHREAD_COND_INITIALIZER;   /* nr_running dropped to 0 */
static struct list_head shrinker_list = {&shrinker_list, &shrinker_list};


static inline struct shrinker_impl *to_impl(struct pa_shrinker *s)
{
    return container_of(s, struct shrinker_impl, pub);
}

static struct shrinker_impl *shrinker_checked(struct pa_shrinker *s)
{
    if (!s)
        return NULL;
    struct shrinker_impl *si = to_impl(s);
    return si->magic == SHRINKER_MAGIC ? si : NULL;
}

PA_API struct pa_shrinker *pa_shrinker_alloc(unsigned int flags, const char *name)
{
    if (flags & ~SHRINKER_FLAGS) {
        errno = EINVAL;
        return NULL;
    }
    pa_fork_init();   /* a shrinker may come before pa_init */
    if (!name)
        name = "";
    size_t len = strlen(name);
    struct shrinker_impl *si = calloc(1, sizeof(*si) + len + 1);
    if (!si) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(si->name, name, len + 1);
    si->magic = SHRINKER_MAGIC;
    si->pub.flags = flags;
    si->pub.seeks = PA_DEFAULT_SEEKS;
    INIT_LIST_HEAD(&si->list);
    for (int i = 0; i < MAX_NUMNODES; i++)
        atomic_init(&si->nr_deferred[i], 0);
    return &si->pub;
}

/* EINVAL: NULL or not from pa_shrinker_alloc, registered already, no
 * callbacks, or a negative seeks/batch. */
PA_API void pa_shrinker_register(struct pa_shrinker *s)
{
    struct shrinker_impl *si = shrinker_checked(s);
    if (!si || !s->count_objects || !s->scan_objects || s->seeks < 0 || s->batch < 0) {
        errno = EINVAL;
        return;
    }
    mutex_lock(&shrinker_lock);
    if (si->registered || si->dying) {
        mutex_unlock(&shrinker_lock);
        errno = EINVAL;
        return;
    }
    list_add_tail(&si->list, &shrinker_list);
    si->registered = true;
    si->on_list = true;
    mutex_unlock(&shrinker_lock);
    /* a cache to give up under memory pressure: the listener (the page
     * reporting worker) must run even if the program has not freed yet */
    page_reporting_start();
}

/* Unregister, wait for calls in progress, free.  Must not be called from
 * the shrinker's own callbacks (it would wait for itself). */
PA_API void pa_shrinker_free(struct pa_shrinker *s)
{
    struct shrinker_impl *si = shrinker_checked(s);
    if (!si) {
        if (s)
            errno = EINVAL;
        return;
    }
    mutex_lock(&shrinker_lock);
    si->dying = true;
    si->registered = false;
    while (si->nr_running > 0)
        mutex_cond_wait(&shrinker_idle, &shrinker_lock);
    if (si->on_list)
        list_del(&si->list);   /* only now: walkers holding a reference still follow ->next */
    mutex_unlock(&shrinker_lock);
    si->magic = 0;
    free(si);
}

/*
 * Call fn on every registered shrinker (only memcg-aware ones when memcg is
 * set), each with a reference held and shrinker_lock dropped; stop when fn
 * returns false.  The entry being called stays on the list until its
 * reference is gone, so its ->next is valid when the walk resumes.
 */
static void for_each_shrinker(struct pa_memcg *memcg, bool (*fn)(struct shrinker_impl *, void *), void *arg)
{
    mutex_lock(&shrinker_lock);
    struct list_head *pos = shrinker_list.next;
    while (pos != &shrinker_list) {
        struct shrinker_impl *si = list_entry(pos, struct shrinker_impl, list);
        if (!si->registered || (memcg && !(si->pub.flags & PA_SHRINKER_MEMCG_AWARE))) {
            pos = pos->next;
            continue;
        }
        si->nr_running++;
        mutex_unlock(&shrinker_lock);
        bool more = fn(si, arg);
        mutex_lock(&shrinker_lock);
        pos = pos->next;
        if (si->nr_running > 0 && --si->nr_running == 0 && si->dying)
            pthread_cond_broadcast(&shrinker_idle);
        if (!more)
            break;
    }
    mutex_unlock(&shrinker_lock);
}

/*
 * do_shrink_slab: ask how many objects could go, scale by priority and
 * seeks, add the share of deferred work, and scan in batches.  Work not
 * done is deferred to the next call (per node), capped at twice the
 * freeable objects.  Returns objects freed, or the count (0 or
 * PA_SHRINK_EMPTY) when there was nothing to do.
 */
static unsigned long do_shrink_slab(struct pa_shrink_control *sc, struct shrinker_impl *si, int priority,
                                    unsigned long *nr_scanned)
{
    struct pa_shrinker *s = &si->pub;
    long batch_size = s->batch > 0 ? s->batch : SHRINK_BATCH;
    unsigned long count = s->count_objects(s, sc);
    if (count == 0 || count == PA_SHRINK_EMPTY)
        return count;
    long freeable = (long)PA_MIN(count, (unsigned long)FREEABLE_MAX);

    /* memcg reclaim keeps no per-cgroup deferral (the cgroup is opaque here) */
    bool defer = !sc->memcg;
    atomic_long *deferred = &si->nr_deferred[sc->nid];
    long nr = defer ? atomic_exchange_explicit(deferred, 0, memory_order_relaxed) : 0;

    long delta;
    if (s->seeks > 0) {
        delta = freeable >> priority;
        delta *= 4;
        delta /= s->seeks;
    } else {
        delta = freeable / 2;   /* objects that cost nothing to recreate: trim hard */
    }
    long total_scan = (nr >> priority) + delta;
    total_scan = PA_MIN(total_scan, 2 * freeable);

    /* batches; or everything at once when even that is below a batch (tight memory) */
    unsigned long freed = 0;
    long scanned = 0;
    while (total_scan >= batch_size || total_scan >= freeable) {
        unsigned long nr_to_scan = (unsigned long)PA_MIN(batch_size, total_scan);
        sc->nr_to_scan = nr_to_scan;
        sc->nr_scanned = nr_to_scan;
        unsigned long ret = s->scan_objects(s, sc);
        if (ret == PA_SHRINK_STOP)
            break;
        freed += ret;
        unsigned long done = PA_MIN(sc->nr_scanned, (unsigned long)FREEABLE_MAX);
        count_vm_events(SLABS_SCANNED, done);
        if (!done)
            break;   /* a shrinker that scans nothing would keep us here forever */
        total_scan -= (long)done;
        scanned += (long)done;
    }

    /* new work not done joins the deferred; old deferred work done leaves it */
    long next_deferred = PA_MAX(nr + delta - scanned, 0L);
    next_deferred = PA_MIN(next_deferred, 2 * freeable);
    if (defer && next_deferred)
        atomic_fetch_add_explicit(deferred, next_deferred, memory_order_relaxed);
    *nr_scanned += (unsigned long)scanned;
    return freed;
}

struct shrink_slab_arg {
    pa_gfp_t gfp;
    int nid;
    struct pa_memcg *memcg;
    int priority;
    unsigned long freed;
    unsigned long scanned;
};

static bool shrink_one(struct shrinker_impl *si, void *arg)
{
    struct shrink_slab_arg *a = arg;
    struct pa_shrink_control sc = {
        .gfp_mask = a->gfp,
        /* NUMA-unaware shrinkers are asked about node 0, for each node reclaimed */
        .nid = (si->pub.flags & PA_SHRINKER_NUMA_AWARE) ? a->nid : 0,
        .memcg = a->memcg,
    };
    unsigned long ret = do_shrink_slab(&sc, si, a->priority, &a->scanned);
    if (ret != PA_SHRINK_EMPTY)
        a->freed += ret;
    return true;
}

/* shrink_slab: every shrinker for one node at one priority (memcg: only
 * the memcg-aware ones).  Returns objects freed; adds objects scanned. */
static unsigned long shrink_slab_scan(pa_gfp_t gfp, int nid, struct pa_memcg *memcg, int priority,
                                      unsigned long *scanned)
{
    struct shrink_slab_arg a = {
        .gfp = gfp,
        .nid = (nid >= 0 && nid < MAX_NUMNODES) ? nid : 0,
        .memcg = memcg,
        .priority = PA_MAX(0, PA_MIN(priority, 62)),
    };
    for_each_shrinker(memcg, shrink_one, &a);
    *scanned += a.scanned;
    return a.freed;
}

unsigned long shrink_slab(pa_gfp_t gfp, int nid, struct pa_memcg *memcg, int priority)
{
    unsigned long scanned = 0;
    return shrink_slab_scan(gfp, nid, memcg, priority, &scanned);
}

struct reclaimable_arg {
    int nid;
    bool all;                 /* count every shrinker, or stop at the first with objects */
    unsigned long objects;
};

static bool count_one(struct shrinker_impl *si, void *arg)
{
    struct reclaimable_arg *a = arg;
    struct pa_shrink_control sc = {
        .gfp_mask = PA_GFP_KERNEL,
        .nid = (si->pub.flags & PA_SHRINKER_NUMA_AWARE) ? a->nid : 0,
    };
    unsigned long n = si->pub.count_objects(&si->pub, &sc);
    if (n != PA_SHRINK_EMPTY)
        a->objects = PA_MIN(a->objects + PA_MIN(n, (unsigned long)FREEABLE_MAX), (unsigned long)FREEABLE_MAX);
    return a->all || !a->objects;
}

bool zone_reclaimable_pages_exist(struct zone *z)
{
    struct reclaimable_arg a = {.nid = z ? z->node : 0};
    for_each_shrinker(NULL, count_one, &a);
    return a.objects != 0;
}

/*
 * An estimate of the pages reclaim could free in z (zone_reclaimable_pages,
 * for should_reclaim_retry and compaction_zonelist_suitable).  The kernel
 * counts a zone's LRU pages; here everything reclaimable sits behind the
 * shrinkers (pa_lru ones included), which count objects per node: each
 * object is taken as a page, and the node's count is capped by what the
 * zone has in use.
 */
unsigned long zone_reclaimable_pages(struct zone *z)
{
    struct reclaimable_arg a = {.nid = z->node, .all = true};
    for_each_shrinker(NULL, count_one, &a);
    unsigned long free = zone_page_state(z, NR_FREE_PAGES);
    unsigned long used = z->managed_pages > free ? z->managed_pages - free : 0;
    return PA_MIN(a.objects, used);
}

/* ------------------------------------------------------------------ */
/* The reclaim pass (mm/vmscan.c: shrink_node, shrink_zones,           */
/* do_try_to_free_pages)                                               */
/* ------------------------------------------------------------------ */

struct scan_control {
    unsigned long nr_to_reclaim;     /* pages wanted */
    const pa_nodemask_t *nodemask;
    struct pa_memcg *target_memcg;   /* memcg reclaim: only its shrinkers */
    pa_gfp_t gfp_mask;
    unsigned int order;
    int priority;                    /* DEF_PRIORITY down to 0: scan freeable >> priority */
    int reclaim_idx;                 /* highest zone index to reclaim for */
    bool compaction_ready;           /* a costly request can compact instead */
    unsigned long nr_scanned;        /* objects scanned, this pass */
    unsigned long nr_scanned_total;
    unsigned long nr_reclaimed;      /* pages freed */
    /* progress: pages the reclaiming thread freed (reclaim_state) */
    struct pa_thread *t;
    unsigned long reclaimed_local;   /* t->reclaimed points here */
    unsigned long pgfree_base;
    unsigned long *saved_reclaimed;
    unsigned int saved_memalloc;
};

/* Enter reclaim: PF_MEMALLOC (no recursion into reclaim, reserves
 * allowed), and count this thread's frees (memalloc_noreclaim_save,
 * set_task_reclaim_state). */
static void reclaim_begin(struct scan_control *sc, struct pa_thread *t)
{
    sc->t = t;
    sc->saved_memalloc = t->pf_flags & PF_MEMALLOC;
    t->pf_flags |= PF_MEMALLOC;
    sc->saved_reclaimed = t->reclaimed;
    sc->reclaimed_local = 0;
    t->reclaimed = &sc->reclaimed_local;
    mag_update_free(t);
    sc->pgfree_base = pa_relaxed_load(&t->vm_events[PGFREE]);
}

static void reclaim_end(struct scan_control *sc)
{
    struct pa_thread *t = sc->t;
    t->reclaimed = sc->saved_reclaimed;
    mag_update_free(t);
    t->pf_flags = (t->pf_flags & ~PF_MEMALLOC) | sc->saved_memalloc;
}

/* Pages this thread has freed since reclaim_begin: what the free path
 * reported through t->reclaimed, or its own pgfree count, whichever is
 * larger (the same frees, seen two ways). */
static unsigned long reclaim_progress(const struct scan_control *sc)
{
    unsigned long by_pgfree = pa_relaxed_load(&sc->t->vm_events[PGFREE]) - sc->pgfree_base;
    unsigned long reported = __atomic_load_n(&sc->reclaimed_local, __ATOMIC_RELAXED);
    return PA_MAX(by_pgfree, reported);
}

static void count_reclaim_events(const struct scan_control *sc)
{
    bool kswapd = sc->t->pf_flags & PF_KSWAPD;
    if (sc->nr_scanned_total)
        count_vm_events(kswapd ? PGSCAN_KSWAPD : PGSCAN_DIRECT, sc->nr_scanned_total);
    if (sc->nr_reclaimed)
        count_vm_events(kswapd ? PGSTEAL_KSWAPD : PGSTEAL_DIRECT, sc->nr_reclaimed);
}

static inline struct pgdat_reclaim *pgdat_reclaim(const pg_data_t *pgdat)
{
    return __atomic_load_n(&pgdat->reclaim, __ATOMIC_ACQUIRE);
}

/* shrink_node: the node's shrinkers at the current priority.  Progress
 * revives a kswapd that gave up on the node. */
static void shrink_node(pg_data_t *pgdat, struct scan_control *sc)
{
    unsigned long before = sc->nr_reclaimed;
    shrink_slab_scan(sc->gfp_mask, pgdat->node_id, sc->target_memcg, sc->priority, &sc->nr_scanned);
    sc->nr_reclaimed = reclaim_progress(sc);
    if (sc->nr_reclaimed > before)
        reset_kswapd_failures(pgdat);
}

/*
 * A costly request that compaction could already serve: the allocation
 * would pass MIN, or there is room above HIGH for compaction to work
 * (compaction_ready; compaction_suitable's fragmentation test is left to
 * compaction itself).
 */
static bool compaction_ready(struct zone *z, const struct scan_control *sc)
{
    if (!(sc->gfp_mask & PA_GFP_IO))   /* gfp_compaction_allowed */
        return false;
    if (zone_watermark_ok(z, sc->order, min_wmark_pages(z), sc->reclaim_idx, 0))
        return true;
    return zone_watermark_ok(z, 0, high_wmark_pages(z) + compact_gap(sc->order), sc->reclaim_idx, 0);
}

/* shrink_zones: each node of the allowed zones once. */
static void shrink_zones(struct zonelist *zl, struct scan_control *sc)
{
    pa_nodemask_t done;
    memset(&done, 0, sizeof(done));
    for (struct zoneref *zr = zl->_zonerefs; zr->zone; zr++) {
        struct zone *z = zr->zone;
        if (zr->zone_idx > sc->reclaim_idx || !populated_zone(z))
            continue;
        if (sc->nodemask && !node_isset(z->node, sc->nodemask))
            continue;
        if (!sc->target_memcg) {
            /* the cpuset, strictly (cpuset_zone_allowed with HARDWALL) */
            if (sc->t->mems_restricted && !node_isset(z->node, &sc->t->mems_allowed))
                continue;
            if (sc->order > PAGE_ALLOC_COSTLY_ORDER && compaction_ready(z, sc)) {
                sc->compaction_ready = true;
                continue;
            }
        }
        if (node_isset(z->node, &done))
            continue;
        node_set(z->node, &done);
        shrink_node(z->zone_pgdat, sc);
    }
}

/* do_try_to_free_pages: raise the pressure one priority at a time until
 * enough was freed.  Returns pages freed; 1 when nothing was freed but
 * compaction can go ahead. */
static unsigned long do_try_to_free_pages(struct zonelist *zl, struct scan_control *sc)
{
    do {
        sc->nr_scanned = 0;
        shrink_zones(zl, sc);
        sc->nr_scanned_total += sc->nr_scanned;
        if (sc->nr_reclaimed >= sc->nr_to_reclaim)
            break;
        if (sc->compaction_ready)
            break;
    } while (--sc->priority >= 0);

    if (sc->nr_reclaimed)
        return sc->nr_reclaimed;
    if (sc->compaction_ready)
        return 1;
    return 0;
}

/* Pages freed in this thread may sit in its magazines and this CPU's
 * pageset, where the watermark check does not see them: give them to the
 * buddy so the allocation's retry finds them. */
static void drain_own_pages(struct pa_thread *t)
{
    if (t->mags && mag_enter(t)) {
        mag_flush_all(t);
        mag_exit(t);
    }
    drain_local_pages(NULL);
}

unsigned long try_to_free_pages(struct zonelist *zl, unsigned int order, pa_gfp_t gfp,
                                const pa_nodemask_t *nodemask)
{
    assert(gfp & PA_GFP_DIRECT_RECLAIM);
    if (unlikely(!(gfp & PA_GFP_DIRECT_RECLAIM) || !zl || order > MAX_ORDER))
        return 0;
    struct pa_thread *t = pa_thread();
    if (t->pf_flags & PF_MEMALLOC)
        return 0;   /* a shrinker's own allocation: no recursion into reclaim */
    int reclaim_idx = gfp_zone(gfp);
    if (reclaim_idx < 0)
        return 0;
    if ((gfp & PA_GFP_RELIABLE) && reclaim_idx == PA_ZONE_MOVABLE)
        reclaim_idx = PA_ZONE_NORMAL;

    struct scan_control sc = {
        .nr_to_reclaim = PA_MAX(SWAP_CLUSTER_MAX, 1UL << order),
        .nodemask = nodemask,
        .gfp_mask = current_gfp_context(t, gfp),
        .order = order,
        .priority = DEF_PRIORITY,
        .reclaim_idx = reclaim_idx,
    };

    /* allocstall, by the zone the request would have been served from */
    int stall_zone = reclaim_idx;
    for (struct zoneref *zr = zl->_zonerefs; zr->zone; zr++)
        if (zr->zone_idx <= reclaim_idx && (!nodemask || node_isset(zr->zone->node, nodemask))) {
            stall_zone = zr->zone_idx;
            break;
        }
    count_vm_event((enum vm_event_item)(ALLOCSTALL_DMA + stall_zone));

    reclaim_begin(&sc, t);
    unsigned long progress = do_try_to_free_pages(zl, &sc);
    if (sc.nr_reclaimed)
        drain_own_pages(t);
    reclaim_end(&sc);
    count_reclaim_events(&sc);
    return progress;
}

unsigned long try_to_free_mem_cgroup_pages(struct pa_memcg *memcg, unsigned long nr_pages, pa_gfp_t gfp)
{
    if (!memcg)
        return 0;
    struct pa_thread *t = pa_thread();
    if (t->pf_flags & PF_MEMALLOC)
        return 0;
    struct scan_control sc = {
        .nr_to_reclaim = PA_MAX(nr_pages, SWAP_CLUSTER_MAX),
        .target_memcg = memcg,
        .gfp_mask = current_gfp_context(t, gfp),
        .priority = DEF_PRIORITY,
        .reclaim_idx = MAX_NR_ZONES - 1,
    };
    /* every node, nearest first: equal pressure on all of them */
    struct zonelist *zl = node_zonelist(numa_node_id(), 0);
    reclaim_begin(&sc, t);
    do_try_to_free_pages(zl, &sc);
    reclaim_end(&sc);
    count_reclaim_events(&sc);
    return sc.nr_reclaimed;
}

/* ------------------------------------------------------------------ */
/* kswapd                                                              */
/* ------------------------------------------------------------------ */

enum kswapd_state {
    KSWAPD_RUNNING,
    KSWAPD_NAPPING,      /* the short sleep after balancing (HZ/10) */
    KSWAPD_SLEEPING,     /* asleep until woken */
};

struct pgdat_reclaim {
    struct mutex lock;               /* everything below */
    pthread_cond_t wait;             /* kswapd_wait */
    pthread_t thread;
    pg_data_t *pgdat;
    bool started;                    /* the thread exists (lazily, on the first wakeup) */
    bool woken;                      /* a wakeup arrived while it slept */
    enum kswapd_state state;
    unsigned int kswapd_order;
    int kswapd_highest_zoneidx;      /* MAX_NR_ZONES: none requested */
    int kswapd_failures;             /* passes that freed nothing; atomic */
};

static struct mutex reclaim_init_lock = MUTEX_INITIALIZER(LOCK_RECLAIM_INIT);
/* The node descriptors live in memory from the OS layer, which a leak
 * checker does not scan: the states are also kept here, so that they stay
 * reachable for the life of the process (they are never freed). */
static struct pgdat_reclaim *reclaim_states[MAX_NUMNODES];

static void reclaim_state_init(struct pgdat_reclaim *r)
{
    pthread_condattr_t ca;
    mutex_init(&r->lock, LOCK_KSWAPD, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wait, &ca);
    pthread_condattr_destroy(&ca);
}

int pa_reclaim_init(void)
{
    int rc = 0;
    mutex_lock(&reclaim_init_lock);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = NODE_DATA(nid);
        if (pgdat->reclaim)
            continue;
        struct pgdat_reclaim *r = calloc(1, sizeof(*r));
        if (!r) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        reclaim_state_init(r);
        reclaim_states[nid] = r;
        r->pgdat = pgdat;
        r->kswapd_highest_zoneidx = MAX_NR_ZONES;
        __atomic_store_n(&pgdat->reclaim, r, __ATOMIC_RELEASE);
    }
    mutex_unlock(&reclaim_init_lock);
    return rc;
}

void reset_kswapd_failures(pg_data_t *pgdat)
{
    struct pgdat_reclaim *r = pgdat ? pgdat_reclaim(pgdat) : NULL;
    if (r && __atomic_load_n(&r->kswapd_failures, __ATOMIC_RELAXED))
        __atomic_store_n(&r->kswapd_failures, 0, __ATOMIC_RELAXED);
}

static inline bool pgdat_hopeless(struct pgdat_reclaim *r)
{
    return __atomic_load_n(&r->kswapd_failures, __ATOMIC_RELAXED) >= MAX_RECLAIM_RETRIES;
}

/*
 * A zone meets the mark for the order.  Capacity not yet online counts as
 * free: the allocator brings it online before treating a zone as short
 * (sections come in MAX_ORDER blocks, so any order fits).
 */
static bool zone_balanced(struct zone *z, unsigned int order, unsigned long mark, int highest_zoneidx)
{
    unsigned long offline = zone_end_pfn(z) - __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE);
    if (offline)
        return __zone_watermark_ok(z, 0, mark, highest_zoneidx, 0,
                                   (long)(zone_page_state(z, NR_FREE_PAGES) + offline));
    return zone_watermark_ok(z, order, mark, highest_zoneidx, 0);
}

/* pgdat_balanced: some eligible zone is above HIGH (boost included) for
 * the order; a node with no eligible zone needs no balancing. */
static bool pgdat_balanced(pg_data_t *pgdat, unsigned int order, int highest_zoneidx)
{
    bool eligible = false;
    for (int i = 0; i <= highest_zoneidx && i < MAX_NR_ZONES; i++) {
        struct zone *z = &pgdat->node_zones[i];
        if (!populated_zone(z))
            continue;
        eligible = true;
        if (zone_balanced(z, order, high_wmark_pages(z), highest_zoneidx))
            return true;
    }
    return !eligible;
}

static bool pgdat_watermark_boosted(pg_data_t *pgdat, int highest_zoneidx)
{
    for (int i = PA_MIN(highest_zoneidx, MAX_NR_ZONES - 1); i >= 0; i--) {
        struct zone *z = &pgdat->node_zones[i];
        if (populated_zone(z) && __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

/* Hopeless, or balanced: kswapd may sleep. */
static bool prepare_kswapd_sleep(struct pgdat_reclaim *r, unsigned int order, int highest_zoneidx)
{
    /* a boost raised while we ran is ours to clear before sleeping: it may
     * not wake us again if the node stays above LOW plus the boost */
    return pgdat_hopeless(r) || (pgdat_balanced(r->pgdat, order, highest_zoneidx) &&
                                 !pgdat_watermark_boosted(r->pgdat, highest_zoneidx));
}

/* kswapd_shrink_node: one pass over the node, aiming at HIGH of each
 * eligible zone.  True when enough was scanned or freed that the priority
 * need not rise. */
static bool kswapd_shrink_node(pg_data_t *pgdat, struct scan_control *sc)
{
    unsigned long before = sc->nr_reclaimed;
    sc->nr_to_reclaim = 0;
    for (int i = 0; i <= sc->reclaim_idx; i++) {
        struct zone *z = &pgdat->node_zones[i];
        if (populated_zone(z))
            sc->nr_to_reclaim += PA_MAX(high_wmark_pages(z), SWAP_CLUSTER_MAX);
    }
    sc->nr_scanned = 0;
    shrink_node(pgdat, sc);
    sc->nr_scanned_total += sc->nr_scanned;
    /* what was freed sits on per-CPU lists and magazines: make it free */
    if (sc->nr_reclaimed > before)
        drain_all_pages(NULL);
    /* enough for compaction to build the block: balance for order 0 */
    if (sc->order && sc->nr_reclaimed >= compact_gap(sc->order))
        sc->order = 0;
    return PA_MAX(sc->nr_scanned, sc->nr_reclaimed - before) >= sc->nr_to_reclaim;
}

/* While kswapd reclaims, the pcp lists of the zones it balances stay small
 * (ZONE_RECLAIM_ACTIVE, read by nr_pcp_high). */
static void set_reclaim_active(pg_data_t *pgdat, int highest_zoneidx, bool active)
{
    for (int i = 0; i <= highest_zoneidx; i++) {
        struct zone *z = &pgdat->node_zones[i];
        if (!populated_zone(z))
            continue;
        if (active)
            zone_set_flag(z, ZONE_RECLAIM_ACTIVE);
        else
            zone_clear_flag(z, ZONE_RECLAIM_ACTIVE);
    }
}

/*
 * balance_pgdat: reclaim at rising priority until an eligible zone is
 * balanced at HIGH, or priority 1 was tried.  A boosted node reclaims the
 * boost even if balanced (without raising the priority past
 * DEF_PRIORITY - 2), and the boost goes afterwards.  A pass that freed
 * nothing counts towards giving up.  Returns the order balanced for.
 */
static unsigned int balance_pgdat(struct pgdat_reclaim *r, unsigned int order, int highest_zoneidx)
{
    pg_data_t *pgdat = r->pgdat;
    struct pa_thread *t = pa_thread();
    unsigned long zone_boosts[MAX_NR_ZONES] = {0};
    unsigned long nr_boost_reclaim = 0;
    struct scan_control sc = {
        .gfp_mask = PA_GFP_KERNEL,
        .order = order,
    };

    count_vm_event(PAGEOUTRUN);
    reclaim_begin(&sc, t);

    /* the boost stays in place meanwhile, so allocations near the
     * watermark keep waking us or reclaiming until we are done */
    for (int i = 0; i <= highest_zoneidx; i++) {
        struct zone *z = &pgdat->node_zones[i];
        if (!populated_zone(z))
            continue;
        zone_boosts[i] = __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED);
        nr_boost_reclaim += zone_boosts[i];
    }
    bool boosted = nr_boost_reclaim != 0;
    set_reclaim_active(pgdat, highest_zoneidx, true);

restart:
    sc.priority = DEF_PRIORITY;
    do {
        unsigned long nr_reclaimed = sc.nr_reclaimed;
        bool raise_priority = true;
        sc.reclaim_idx = highest_zoneidx;

        bool balanced = pgdat_balanced(pgdat, sc.order, highest_zoneidx);
        /* really short of memory: forget the boost, reclaim normally */
        if (!balanced && nr_boost_reclaim) {
            nr_boost_reclaim = 0;
            goto restart;
        }
        if (!nr_boost_reclaim && balanced)
            goto out;
        if (nr_boost_reclaim && sc.priority == DEF_PRIORITY - 2)
            raise_priority = false;

        if (kswapd_shrink_node(pgdat, &sc))
            raise_priority = false;

        nr_reclaimed = sc.nr_reclaimed - nr_reclaimed;
        nr_boost_reclaim -= PA_MIN(nr_boost_reclaim, nr_reclaimed);
        /* boosted reclaim that makes no progress stops */
        if (nr_boost_reclaim && !nr_reclaimed)
            break;
        if (raise_priority || !nr_reclaimed)
            sc.priority--;
    } while (sc.priority >= 1);

    if (!sc.nr_reclaimed)
        __atomic_fetch_add(&r->kswapd_failures, 1, __ATOMIC_RELAXED);

out:
    if (boosted) {
        for (int i = 0; i <= highest_zoneidx; i++) {
            if (!zone_boosts[i])
                continue;
            struct zone *z = &pgdat->node_zones[i];
            spin_lock(&z->lock);
            unsigned long boost = __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED);
            __atomic_store_n(&z->watermark_boost, boost - PA_MIN(boost, zone_boosts[i]), __ATOMIC_RELAXED);
            zone_update_wmark_fast(z);
            spin_unlock(&z->lock);
        }
        /* there is room now: let kcompactd rebuild pageblocks */
        wakeup_kcompactd(pgdat, pageblock_order, highest_zoneidx);
    }
    set_reclaim_active(pgdat, highest_zoneidx, false);
    reclaim_end(&sc);
    count_reclaim_events(&sc);
    return sc.order;
}

/* MAX_NR_ZONES means no request arrived: keep the previous cycle's index. */
static int kswapd_highest_zoneidx(const struct pgdat_reclaim *r, int prev)
{
    return r->kswapd_highest_zoneidx == MAX_NR_ZONES ? prev : r->kswapd_highest_zoneidx;
}

static void deadline_after_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/*
 * kswapd_try_to_sleep, r->lock held: nap for 100 ms once balanced (after
 * waking kcompactd for the order that was asked), then sleep until woken if
 * still balanced.  A wakeup during the nap is a LOW watermark hit quickly;
 * a node unbalanced again after the nap a HIGH watermark hit quickly.
 */
static void kswapd_try_to_sleep(struct pgdat_reclaim *r, unsigned int alloc_order, unsigned int reclaim_order,
                                int highest_zoneidx)
{
    bool woken_early = false;

    r->woken = false;
    r->state = KSWAPD_NAPPING;   /* prepare_to_wait: wakers signal from now on */
    if (prepare_kswapd_sleep(r, reclaim_order, highest_zoneidx)) {
        mutex_unlock(&r->lock);
        /* memory was freed: compaction may succeed where it failed, so the
         * skip hints of zones where its scanners met go */
        reset_isolation_suitable(r->pgdat);
        wakeup_kcompactd(r->pgdat, alloc_order, highest_zoneidx);
        mutex_lock(&r->lock);
        struct timespec deadline;
        deadline_after_ms(&deadline, 100);
        while (!r->woken)
            if (mutex_cond_timedwait(&r->wait, &r->lock, &deadline) == ETIMEDOUT)
                break;
        if (r->woken) {
            woken_early = true;
            /* keep what the earlier request wanted unless the new one wants more */
            r->kswapd_highest_zoneidx = kswapd_highest_zoneidx(r, highest_zoneidx);
            if (r->kswapd_order < reclaim_order)
                r->kswapd_order = reclaim_order;
        }
        r->woken = false;
    }

    if (!woken_early && prepare_kswapd_sleep(r, reclaim_order, highest_zoneidx)) {
        trace_mm_vmscan_kswapd_sleep(r->pgdat->node_id);
        r->state = KSWAPD_SLEEPING;
        while (!r->woken)
            mutex_cond_wait(&r->wait, &r->lock);
    } else {
        count_vm_event(woken_early ? KSWAPD_LOW_WMARK_HIT_QUICKLY : KSWAPD_HIGH_WMARK_HIT_QUICKLY);
    }
    r->state = KSWAPD_RUNNING;
    r->woken = false;
}

/* The per-node reclaim thread.  Started by a wakeup, so its first round
 * reclaims at once; then it balances, naps, sleeps, and is woken again. */
static void *kswapd_main(void *arg)
{
    struct pgdat_reclaim *r = arg;
    struct pa_thread *t = pa_thread();
    unsigned int alloc_order = 0, reclaim_order = 0;
    int highest_zoneidx = MAX_NR_ZONES - 1;
    bool first = true, again = false;

    t->pf_flags |= PF_MEMALLOC | PF_KSWAPD;
    mutex_lock(&r->lock);
    for (;;) {
        if (!again) {
            alloc_order = reclaim_order = r->kswapd_order;
            highest_zoneidx = kswapd_highest_zoneidx(r, highest_zoneidx);
        }
        if (!first)
            kswapd_try_to_sleep(r, alloc_order, reclaim_order, highest_zoneidx);
        first = false;

        /* what the wakers asked for meanwhile */
        alloc_order = r->kswapd_order;
        highest_zoneidx = kswapd_highest_zoneidx(r, highest_zoneidx);
        r->kswapd_order = 0;
        r->kswapd_highest_zoneidx = MAX_NR_ZONES;
        r->state = KSWAPD_RUNNING;
        mutex_unlock(&r->lock);
        trace_mm_vmscan_kswapd_wake(r->pgdat->node_id, highest_zoneidx, alloc_order);

        /* a failed high-order balance falls back to order 0; then sleep is
         * judged by the order reclaimed for, kcompactd by the one asked */
        reclaim_order = balance_pgdat(r, alloc_order, highest_zoneidx);

        mutex_lock(&r->lock);
        again = reclaim_order < alloc_order;
    }
    return NULL;
}

static int kswapd_run(struct pgdat_reclaim *r)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t th;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* kswapd never handles the program's signals */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, kswapd_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
        char name[16];
        snprintf(name, sizeof(name), "pa_kswapd%d", r->pgdat->node_id);
        pthread_setname_np(th, name);
        r->thread = th;
    }
    return rc;
}

void wakeup_kswapd(struct zone *z, pa_gfp_t gfp, unsigned int order, int highest_zoneidx)
{
    if (!z || !populated_zone(z))
        return;
    /* cpuset_zone_allowed */
    struct pa_thread *t = pa_current_thread;
    if ((gfp & PA_GFP_HARDWALL) && t && t->mems_restricted && !node_isset(z->node, &t->mems_allowed))
        return;
    pg_data_t *pgdat = z->zone_pgdat;
    struct pgdat_reclaim *r = pgdat_reclaim(pgdat);
    if (unlikely(!r)) {
        if (pa_reclaim_init() != 0 || !(r = pgdat_reclaim(pgdat)))
            return;
    }
    highest_zoneidx = PA_MAX(0, PA_MIN(highest_zoneidx, MAX_NR_ZONES - 1));
    order = PA_MIN(order, (unsigned int)MAX_ORDER);
    trace_mm_vmscan_wakeup_kswapd(pgdat->node_id, z->zid, order, gfp);

    mutex_lock(&r->lock);
    if (r->kswapd_highest_zoneidx == MAX_NR_ZONES || r->kswapd_highest_zoneidx < highest_zoneidx)
        r->kswapd_highest_zoneidx = highest_zoneidx;
    if (r->kswapd_order < order)
        r->kswapd_order = order;
    /* running: it picks the request up before it sleeps */
    if (r->started && r->state == KSWAPD_RUNNING) {
        mutex_unlock(&r->lock);
        return;
    }
    /* hopeless node: left to direct reclaim; balanced: maybe only fragmented */
    if (pgdat_hopeless(r) ||
        (pgdat_balanced(pgdat, order, highest_zoneidx) && !pgdat_watermark_boosted(pgdat, highest_zoneidx))) {
        mutex_unlock(&r->lock);
        if (!(gfp & PA_GFP_DIRECT_RECLAIM))
            wakeup_kcompactd(pgdat, order, highest_zoneidx);
        return;
    }
    bool start = !r->started;
    r->woken = true;
    if (start)
        r->started = true;
    else
        pthread_cond_signal(&r->wait);
    mutex_unlock(&r->lock);

    if (start && kswapd_run(r) != 0) {
        mutex_lock(&r->lock);
        r->started = false;   /* the next wakeup tries again */
        mutex_unlock(&r->lock);
    }
}

/*
 * The system is short of memory (pressure.c): raise each zone's watermark
 * boost to its ceiling and wake kswapd, which reclaims the boost with the
 * shrinkers and the LRU helper even though the node looks balanced; what
 * they free is then given back to the OS by page reporting.  With
 * PAGEALLOC_WATERMARK_BOOST_FACTOR=0 the ceiling is the default factor's.
 */
void wakeup_kswapd_pressure(pg_data_t *pgdat)
{
    unsigned int factor = pa_opt.watermark_boost_factor ? pa_opt.watermark_boost_factor : 15000;
    for (int i = 0; i < MAX_NR_ZONES; i++) {
        struct zone *z = &pgdat->node_zones[i];
        if (!populated_zone(z))
            continue;
        unsigned long boost = PA_MAX(pageblock_nr_pages, z->_watermark[WMARK_HIGH] * factor / 10000);
        spin_lock(&z->lock);
        if (__atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED) < boost) {
            __atomic_store_n(&z->watermark_boost, boost, __ATOMIC_RELAXED);
            zone_update_wmark_fast(z);
        }
        spin_unlock(&z->lock);
    }
    for (int i = MAX_NR_ZONES - 1; i >= 0; i--)
        if (populated_zone(&pgdat->node_zones[i])) {
            wakeup_kswapd(&pgdat->node_zones[i], PA_GFP_KERNEL, 0, i);
            break;
        }
}

/*
 * Give up about nr_pages now, for memory pressure from outside (pressure.c,
 * in the reporting worker): every node's shrinkers at rising priority
 * until that much was freed or priority 0 was tried, then the per-CPU lists
 * drained so that the pages reach the buddy (and the reporting).  Returns
 * the pages freed.
 */
unsigned long try_to_free_pages_pressure(unsigned long nr_pages)
{
    struct pa_thread *t = pa_thread();
    struct scan_control sc = { .gfp_mask = PA_GFP_KERNEL, .nr_to_reclaim = nr_pages, .reclaim_idx = MAX_NR_ZONES - 1 };

    reclaim_begin(&sc, t);
    for (sc.priority = DEF_PRIORITY; sc.priority >= 0 && sc.nr_reclaimed < nr_pages; sc.priority--)
        for (int nid = 0; nid < pa_mm.nr_nodes && sc.nr_reclaimed < nr_pages; nid++) {
            sc.nr_scanned = 0;
            shrink_node(NODE_DATA(nid), &sc);
            sc.nr_scanned_total += sc.nr_scanned;
        }
    reclaim_end(&sc);
    count_reclaim_events(&sc);
    if (sc.nr_reclaimed)
        drain_all_pages(NULL);
    return sc.nr_reclaimed;
}

bool kswapd_sleeping(int nid)
{
    if (!node_valid(nid) || !pgdat_reclaim(NODE_DATA(nid)))
        return false;
    struct pgdat_reclaim *r = pgdat_reclaim(NODE_DATA(nid));
    mutex_lock(&r->lock);
    bool asleep = r->started && r->state == KSWAPD_SLEEPING;
    mutex_unlock(&r->lock);
    return asleep;
}

/* Not started, or asleep until woken (for tests that need kswapd still). */
bool kswapd_idle(int nid)
{
    if (!node_valid(nid) || !pgdat_reclaim(NODE_DATA(nid)))
        return true;
    struct pgdat_reclaim *r = pgdat_reclaim(NODE_DATA(nid));
    mutex_lock(&r->lock);
    bool idle = !r->started || r->state == KSWAPD_SLEEPING;
    mutex_unlock(&r->lock);
    return idle;
}

int kswapd_failures(int nid)
{
    if (!node_valid(nid) || !pgdat_reclaim(NODE_DATA(nid)))
        return -1;
    return __atomic_load_n(&pgdat_reclaim(NODE_DATA(nid))->kswapd_failures, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* The LRU helper: active and inactive lists per node, on a shrinker    */
/* ------------------------------------------------------------------ */

#define LRU_MAGIC 0x6c727531u
/* Scan freeable >> priority (get_scan_count): seeks 4 cancels do_shrink_slab's * 4. */
#define LRU_SEEKS 4

struct lru_node {
    struct list_head inactive, active;   /* newest at the head */
    unsigned long nr_inactive, nr_active;
};

struct pa_lru {
    unsigned int magic;
    struct mutex lock;                   /* the lists, counts and PG_lru/PG_active of their pages */
    pa_lru_evict_fn evict;
    void *private_data;
    struct pa_shrinker *shrinker;
    int nr_nodes;
    struct lru_node nodes[];
};

static struct pa_lru *lru_checked(struct pa_lru *lru)
{
    return lru && lru->magic == LRU_MAGIC ? lru : NULL;
}

/* On this LRU (not isolated for eviction, not on another one). */
static inline bool page_on_lru(const struct pa_lru *lru, const struct pa_page *page)
{
    return PageLRU(page) && page->private == (unsigned long)lru;
}

static unsigned long lru_isqrt(unsigned long x)
{
    unsigned long r = 0;
    while ((r + 1) * (r + 1) <= x)
        r++;
    return r;
}

/* inactive_is_low: the inactive list should hold 1/(1+ratio) of the
 * pages, ratio = sqrt(10 * GiB of the lists), at least 1. */
static bool inactive_is_low(const struct lru_node *ln)
{
    unsigned long gb = (ln->nr_inactive + ln->nr_active) >> (30 - PAGE_SHIFT);
    unsigned long ratio = gb ? lru_isqrt(10 * gb) : 1;
    return ln->nr_inactive * ratio < ln->nr_active;
}

/* shrink_active_list: deactivate from the active tail.  Lock held. */
static void shrink_active_list(struct lru_node *ln, unsigned long nr)
{
    while (nr-- && ln->nr_active) {
        struct pa_page *page = list_last_entry(&ln->active, struct pa_page, lru);
        list_move(&page->lru, &ln->inactive);
        ClearPageActive(page);
        ln->nr_active--;
        ln->nr_inactive++;
    }
}

static unsigned long lru_count_objects(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct pa_lru *lru = s->private_data;
    if (sc->nid < 0 || sc->nid >= lru->nr_nodes)
        return 0;
    mutex_lock(&lru->lock);
    const struct lru_node *ln = &lru->nodes[sc->nid];
    unsigned long n = ln->nr_inactive + ln->nr_active;
    mutex_unlock(&lru->lock);
    return n ? n : PA_SHRINK_EMPTY;
}

/*
 * shrink_inactive_list: take pages from the inactive tail one at a time,
 * off the list, and offer each to the owner without the lock.  A page the
 * owner keeps goes back to the inactive head (rotated).  The active list
 * refills the inactive one first when that is low.
 */
static unsigned long lru_scan_objects(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct pa_lru *lru = s->private_data;
    if (sc->nid < 0 || sc->nid >= lru->nr_nodes)
        return PA_SHRINK_STOP;
    struct lru_node *ln = &lru->nodes[sc->nid];
    unsigned long scanned = 0, freed = 0;

    mutex_lock(&lru->lock);
    if (inactive_is_low(ln))
        shrink_active_list(ln, sc->nr_to_scan);
    while (scanned < sc->nr_to_scan && ln->nr_inactive) {
        struct pa_page *page = list_last_entry(&ln->inactive, struct pa_page, lru);
        list_del(&page->lru);
        ln->nr_inactive--;
        scanned++;
        ClearPageLRU(page);   /* isolated: pa_lru_del and mark_accessed leave it alone */
        ClearPageReferenced(page);
        page->private = 0;
        mutex_unlock(&lru->lock);
        bool gone = lru->evict(lru, page, lru->private_data);
        mutex_lock(&lru->lock);
        if (gone) {
            freed++;
            continue;
        }
        /* kept: rotate, unless the owner put it on an LRU meanwhile */
        if (__atomic_fetch_or(&page->flags, 1UL << PG_lru, __ATOMIC_RELAXED) & (1UL << PG_lru))
            continue;
        page->private = (unsigned long)lru;
        list_add(&page->lru, &ln->inactive);
        ln->nr_inactive++;
    }
    mutex_unlock(&lru->lock);
    if (!scanned)
        return PA_SHRINK_STOP;
    sc->nr_scanned = scanned;
    return freed;
}

PA_API struct pa_lru *pa_lru_create(const char *name, pa_lru_evict_fn evict, void *private_data)
{
    if (!evict) {
        errno = EINVAL;
        return NULL;
    }
    if (pa_init(NULL) != 0)
        return NULL;   /* ENOMEM */
    int nr_nodes = pa_mm.nr_nodes;
    struct pa_lru *lru = calloc(1, sizeof(*lru) + (size_t)nr_nodes * sizeof(struct lru_node));
    if (!lru) {
        errno = ENOMEM;
        return NULL;
    }
    lru->shrinker = pa_shrinker_alloc(PA_SHRINKER_NUMA_AWARE, name ? name : "lru");
    if (!lru->shrinker) {
        free(lru);
        errno = ENOMEM;
        return NULL;
    }
    mutex_init(&lru->lock, LOCK_LRU, 0);
    lru->magic = LRU_MAGIC;
    lru->evict = evict;
    lru->private_data = private_data;
    lru->nr_nodes = nr_nodes;
    for (int nid = 0; nid < nr_nodes; nid++) {
        INIT_LIST_HEAD(&lru->nodes[nid].inactive);
        INIT_LIST_HEAD(&lru->nodes[nid].active);
    }
    lru->shrinker->count_objects = lru_count_objects;
    lru->shrinker->scan_objects = lru_scan_objects;
    lru->shrinker->seeks = LRU_SEEKS;
    lru->shrinker->batch = (long)SWAP_CLUSTER_MAX;
    lru->shrinker->private_data = lru;
    pa_shrinker_register(lru->shrinker);
    return lru;
}

static void lru_forget_page(struct pa_page *page)
{
    ClearPageLRU(page);
    ClearPageActive(page);
    ClearPageReferenced(page);
    page->private = 0;
}

PA_API void pa_lru_destroy(struct pa_lru *lru)
{
    if (!lru_checked(lru)) {
        if (lru)
            errno = EINVAL;
        return;
    }
    pa_shrinker_free(lru->shrinker);   /* waits for a scan in progress */
    mutex_lock(&lru->lock);
    for (int nid = 0; nid < lru->nr_nodes; nid++) {
        struct lru_node *ln = &lru->nodes[nid];
        struct list_head *lists[2] = {&ln->inactive, &ln->active};
        for (int i = 0; i < 2; i++)
            while (!list_empty(lists[i])) {
                struct pa_page *page = list_first_entry(lists[i], struct pa_page, lru);
                list_del(&page->lru);
                lru_forget_page(page);
            }
    }
    lru->magic = 0;
    mutex_unlock(&lru->lock);
    pthread_mutex_destroy(&lru->lock.m);
    free(lru);
}

/* New pages join the inactive list (lru_cache_add). */
PA_API int pa_lru_add(struct pa_lru *lru, struct pa_page *page)
{
    if (!lru_checked(lru) || !page || pa_page_to_pfn(page) == ~0UL || page_ref_count(page) <= 0 ||
        PageTail(page) || PageBuddy(page) || page->nid >= lru->nr_nodes) {
        errno = EINVAL;
        return -1;
    }
    mutex_lock(&lru->lock);
    if (__atomic_fetch_or(&page->flags, 1UL << PG_lru, __ATOMIC_RELAXED) & (1UL << PG_lru)) {
        mutex_unlock(&lru->lock);
        errno = EINVAL;   /* on an LRU already */
        return -1;
    }
    ClearPageActive(page);
    ClearPageReferenced(page);
    page->private = (unsigned long)lru;
    struct lru_node *ln = &lru->nodes[page->nid];
    list_add(&page->lru, &ln->inactive);
    ln->nr_inactive++;
    mutex_unlock(&lru->lock);
    return 0;
}

/* mark_page_accessed: first access sets referenced; a second one while
 * inactive activates the page. */
PA_API void pa_lru_mark_accessed(struct pa_lru *lru, struct pa_page *page)
{
    if (!lru_checked(lru) || !page) {
        errno = EINVAL;
        return;
    }
    mutex_lock(&lru->lock);
    if (page_on_lru(lru, page)) {
        if (!PageReferenced(page)) {
            SetPageReferenced(page);
        } else if (!PageActive(page)) {
            struct lru_node *ln = &lru->nodes[page->nid];
            list_move(&page->lru, &ln->active);
            SetPageActive(page);
            ClearPageReferenced(page);
            ln->nr_inactive--;
            ln->nr_active++;
        }
    }
    mutex_unlock(&lru->lock);
}

PA_API int pa_lru_del(struct pa_lru *lru, struct pa_page *page)
{
    if (!lru_checked(lru) || !page) {
        errno = EINVAL;
        return -1;
    }
    mutex_lock(&lru->lock);
    if (!page_on_lru(lru, page)) {
        mutex_unlock(&lru->lock);
        errno = EINVAL;
        return -1;
    }
    struct lru_node *ln = &lru->nodes[page->nid];
    list_del(&page->lru);
    if (PageActive(page))
        ln->nr_active--;
    else
        ln->nr_inactive--;
    lru_forget_page(page);
    mutex_unlock(&lru->lock);
    return 0;
}

PA_API unsigned long pa_lru_size(struct pa_lru *lru, bool active)
{
    if (!lru_checked(lru)) {
        errno = EINVAL;
        return 0;
    }
    unsigned long n = 0;
    mutex_lock(&lru->lock);
    for (int nid = 0; nid < lru->nr_nodes; nid++)
        n += active ? lru->nodes[nid].nr_active : lru->nodes[nid].nr_inactive;
    mutex_unlock(&lru->lock);
    return n;
}

/* ------------------------------------------------------------------ */
/* fork                                                                */
/* ------------------------------------------------------------------ */

/* In the child only the forking thread exists: locks other threads held
 * are void, their calls in progress are gone, and no kswapd runs (a new
 * one starts on the next wakeup). */
void reclaim_fork_child(void)
{
    mutex_unlock(&shrinker_lock);   /* reclaim_fork_prepare took it in this thread */
    pthread_cond_init(&shrinker_idle, NULL);
    struct list_head *pos;
    list_for_each(pos, &shrinker_list) {
        struct shrinker_impl *si = list_entry(pos, struct shrinker_impl, list);
        si->nr_running = 0;
        if (si->pub.scan_objects == lru_scan_objects)
            mutex_init(&((struct pa_lru *)si->pub.private_data)->lock, LOCK_LRU, 0);
    }
    mutex_init(&reclaim_init_lock, LOCK_RECLAIM_INIT, 0);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        struct pgdat_reclaim *r = NODE_DATA(nid) ? NODE_DATA(nid)->reclaim : NULL;
        if (!r)
            continue;
        reclaim_state_init(r);
        r->started = false;
        r->woken = false;
        r->state = KSWAPD_RUNNING;
    }
}

/* shrinker_lock is never held across a callback or a zone lock, so holding
 * it across fork is safe: the child's shrinker list is not half-changed. */
void reclaim_fork_prepare(void)
{
    mutex_lock(&shrinker_lock);
}

void reclaim_fork_parent(void)
{
    mutex_unlock(&shrinker_lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * bufpool: a NUMA-aware buffer pool that gives memory back through a
 * shrinker.
 *
 * I/O and packet code keeps freed buffers cached per node, so the next
 * request on that node is a list pop instead of an allocation.  Cached
 * buffers are memory nobody uses, so the pool registers a NUMA-aware
 * shrinker: when a node runs short (kswapd, or direct reclaim in an
 * allocating thread), the library asks how many cached buffers that node
 * has (count_objects) and asks the pool to free some (scan_objects).
 *
 * The run: one worker thread per node takes and returns buffers on its
 * node (checking each buffer's contents), keeps up to 16 MiB per node
 * cached, and empties its cache every 1024 operations as an idle timer
 * would.  Then the main thread creates pressure: it takes 512 KiB
 * blocks until the allocator says no.  Reclaim must shrink the pool for
 * that, so the program checks that the shrinker ran and that the blocks it
 * got exceed what was free before.  Exit status 0 and a last line
 * "bufpool: OK", or 1 with the reason.
 *
 *   example_bufpool [--iterations N] [--seconds N]
 *
 * --seconds keeps the workers running that long (for attaching perf,
 * bpftrace or pagealloc-stat to a live process); the default is a short run
 * of 20000 iterations per worker.  Unless PAGEALLOC_NODE_SIZE is set, nodes
 * are 64 MiB so the pressure phase is quick.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pagealloc/pagealloc.h>

#define BUF_ORDER 2                         /* 16 KiB buffers */
#define BUF_SIZE (PA_PAGE_SIZE << BUF_ORDER)
#define PRESSURE_ORDER 7                    /* 512 KiB blocks */
#define MAX_NODES 64
#define MAX_CACHED 1024                     /* per node: 16 MiB of buffers */

/* A cached buffer's first bytes link it into its node's list. */
struct cached_buf {
    struct cached_buf *next;
};

struct node_pool {
    pthread_mutex_t lock;
    struct cached_buf *cache;
    unsigned long nr_cached;
    unsigned long max_cached;
    /* statistics */
    unsigned long hits, misses, alloc_failed;
    atomic_ulong shrunk;                    /* buffers given back by the shrinker */
} __attribute__((aligned(64)));

static struct node_pool pools[MAX_NODES];
static int nr_nodes;
static atomic_ulong shrinker_counts, shrinker_scans;

/* ------------------------------------------------------------------ */
/* The pool                                                            */
/* ------------------------------------------------------------------ */

static void *buf_get(int nid)
{
    struct node_pool *p = &pools[nid];
    pthread_mutex_lock(&p->lock);
    struct cached_buf *b = p->cache;
    if (b) {
        p->cache = b->next;
        p->nr_cached--;
        p->hits++;
    }
    pthread_mutex_unlock(&p->lock);
    if (b)
        return b;
    /* No cached buffer: a new one on this node.  NORETRY: a pool can live
     * with a failure better than with a long stall. */
    void *mem = pa_get_free_pages(PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, BUF_ORDER);
    pthread_mutex_lock(&p->lock);
    if (mem)
        p->misses++;
    else
        p->alloc_failed++;
    pthread_mutex_unlock(&p->lock);
    return mem;
}

static void buf_put(int nid, void *mem)
{
    struct node_pool *p = &pools[nid];
    pthread_mutex_lock(&p->lock);
    if (p->nr_cached < p->max_cached) {
        struct cached_buf *b = mem;
        b->next = p->cache;
        p->cache = b;
        p->nr_cached++;
        mem = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (mem)
        pa_free_pages_addr(mem, BUF_ORDER);
}

/* ------------------------------------------------------------------ */
/* The shrinker                                                        */
/* ------------------------------------------------------------------ */

static unsigned long pool_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    atomic_fetch_add(&shrinker_counts, 1);
    if (sc->nid < 0 || sc->nid >= nr_nodes)
        return PA_SHRINK_EMPTY;
    struct node_pool *p = &pools[sc->nid];
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->nr_cached;
    pthread_mutex_unlock(&p->lock);
    return n ? n : PA_SHRINK_EMPTY;
}

/* Free up to nr cached buffers of a node: unlink under the lock, free outside. */
static unsigned long pool_release(struct node_pool *p, unsigned long nr)
{
    struct cached_buf *batch = NULL;
    unsigned long freed = 0;
    pthread_mutex_lock(&p->lock);
    while (p->cache && freed < nr) {
        struct cached_buf *b = p->cache;
        p->cache = b->next;
        p->nr_cached--;
        b->next = batch;
        batch = b;
        freed++;
    }
    pthread_mutex_unlock(&p->lock);
    while (batch) {
        struct cached_buf *next = batch->next;
        pa_free_pages_addr(batch, BUF_ORDER);
        batch = next;
    }
    return freed;
}

static unsigned long pool_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    atomic_fetch_add(&shrinker_scans, 1);
    if (sc->nid < 0 || sc->nid >= nr_nodes)
        return PA_SHRINK_STOP;
    struct node_pool *p = &pools[sc->nid];
    unsigned long freed = pool_release(p, sc->nr_to_scan);
    sc->nr_scanned = freed;
    atomic_fetch_add(&p->shrunk, freed);
    return freed ? freed : PA_SHRINK_STOP;
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */
/* ------------------------------------------------------------------ */

struct worker {
    pthread_t thread;
    int nid;
    unsigned long iterations;   /* 0: until deadline */
    struct timespec deadline;
    unsigned long done, bad_node, corrupted;
};

static bool before(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec < deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec < deadline->tv_nsec);
}

/* Bind the calling thread's allocations to one node. */
static int bind_to(int nid)
{
    pa_nodemask_t mask;
    memset(&mask, 0, sizeof(mask));
    mask.bits[nid / (8 * sizeof(unsigned long))] |= 1UL << (nid % (8 * sizeof(unsigned long)));
    return pa_set_mempolicy(PA_MPOL_BIND, &mask);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* this thread's buffers come from its node, like a per-node I/O thread */
    if (bind_to(w->nid) != 0) {
        fprintf(stderr, "bufpool: worker %d: cannot bind to its node: %s\n", w->nid, strerror(errno));
        return NULL;
    }
    void *held[32] = { 0 };
    uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->nid + 1);
    for (unsigned long i = 0; w->iterations ? i < w->iterations : before(&w->deadline); i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        unsigned int slot = (unsigned int)(seed % 32);
        if (held[slot]) {
            /* the buffer must still hold what we wrote into it */
            uint64_t *words = held[slot];
            if (words[1] != (uint64_t)(uintptr_t)held[slot] ||
                words[BUF_SIZE / 8 - 1] != ~(uint64_t)(uintptr_t)held[slot])
                w->corrupted++;
            buf_put(w->nid, held[slot]);
            held[slot] = NULL;
        } else {
            void *b = buf_get(w->nid);
            if (!b)
                continue;
            if (pa_page_to_nid(pa_virt_to_page(b)) != w->nid)
                w->bad_node++;
            uint64_t *words = b;
            words[1] = (uint64_t)(uintptr_t)b;
            words[BUF_SIZE / 8 - 1] = ~(uint64_t)(uintptr_t)b;
            held[slot] = b;
        }
        w->done++;
        /* like a pool's idle timer: now and then give the cache back, so
         * the workload keeps allocating (and a tracer sees it) */
        if (i % 1024 == 1023)
            pool_release(&pools[w->nid], ~0UL);
    }
    for (unsigned int s = 0; s < 32; s++)
        if (held[s])
            buf_put(w->nid, held[s]);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Pressure                                                            */
/* ------------------------------------------------------------------ */

static unsigned long vmstat(const char *name)
{
    unsigned long v = 0;
    if (pa_vmstat_get(name, &v) != 0)
        fprintf(stderr, "bufpool: pa_vmstat_get(%s): %s\n", name, strerror(errno));
    return v;
}

static unsigned long total_cached(void)
{
    unsigned long n = 0;
    for (int nid = 0; nid < nr_nodes; nid++) {
        pthread_mutex_lock(&pools[nid].lock);
        n += pools[nid].nr_cached;
        pthread_mutex_unlock(&pools[nid].lock);
    }
    return n;
}

/* Fill every pool to its limit, so reclaim has something to take. */
static void prefill(void)
{
    for (int nid = 0; nid < nr_nodes; nid++) {
        bind_to(nid);
        while (pools[nid].nr_cached < pools[nid].max_cached) {
            void *b = pa_get_free_pages(PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, BUF_ORDER);
            if (!b)
                break;
            buf_put(nid, b);
        }
    }
    pa_set_mempolicy(PA_MPOL_DEFAULT, NULL);
}

static int parse_count(const char *opt, const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || s[0] == '-') {
        fprintf(stderr, "bufpool: %s: '%s' is not a positive whole number\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long iterations = 20000, seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: %s [--iterations N] [--seconds N]\n"
                   "A NUMA-aware buffer pool with a shrinker; see examples/README.md.\n"
                   "  --iterations N  buffer operations per worker (default 20000)\n"
                   "  --seconds N     run the workers for N seconds instead\n",
                   argv[0]);
            return 0;
        }
        if (i + 1 < argc && !strcmp(argv[i], "--iterations")) {
            if (parse_count(argv[i], argv[i + 1], &iterations) != 0)
                return 2;
            i++;
        } else if (i + 1 < argc && !strcmp(argv[i], "--seconds")) {
            if (parse_count(argv[i], argv[i + 1], &seconds) != 0)
                return 2;
            i++;
        } else {
            fprintf(stderr, "bufpool: unknown or incomplete option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }

    struct pa_config cfg;
    pa_config_init(&cfg);        /* the defaults; a field left alone keeps the environment's value */
    if (!getenv("PAGEALLOC_NODE_SIZE"))
        cfg.node_size = 64UL << 20;
    if (pa_init(&cfg) != 0) {
        fprintf(stderr, "bufpool: pa_init: %s\n", strerror(errno));
        return 1;
    }
    nr_nodes = pa_num_nodes();
    if (nr_nodes > MAX_NODES)
        nr_nodes = MAX_NODES;
    for (int nid = 0; nid < nr_nodes; nid++) {
        pthread_mutex_init(&pools[nid].lock, NULL);
        pools[nid].max_cached = MAX_CACHED;
    }

    struct pa_shrinker *shrinker = pa_shrinker_alloc(PA_SHRINKER_NUMA_AWARE, "bufpool");
    if (!shrinker) {
        fprintf(stderr, "bufpool: pa_shrinker_alloc: %s\n", strerror(errno));
        return 1;
    }
    shrinker->count_objects = pool_count;
    shrinker->scan_objects = pool_scan;
    shrinker->seeks = PA_DEFAULT_SEEKS;
    shrinker->batch = 64;
    pa_shrinker_register(shrinker);

    printf("bufpool: %d node(s), %lu KiB buffers, up to %lu cached per node\n", nr_nodes,
           BUF_SIZE / 1024, pools[0].max_cached);
    if (seconds)
        printf("bufpool: workers run for %lu s (pid %d)\n", seconds, (int)getpid());
    fflush(stdout);

    struct worker workers[MAX_NODES];
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)seconds;
    for (int nid = 0; nid < nr_nodes; nid++) {
        workers[nid] = (struct worker){ .nid = nid, .iterations = seconds ? 0 : iterations,
                                        .deadline = deadline };
        if (pthread_create(&workers[nid].thread, NULL, worker_main, &workers[nid]) != 0) {
            fprintf(stderr, "bufpool: pthread_create failed\n");
            return 1;
        }
    }
    int failures = 0;
    for (int nid = 0; nid < nr_nodes; nid++) {
        struct worker *w = &workers[nid];
        pthread_join(w->thread, NULL);
        struct node_pool *p = &pools[nid];
        const char *backing = pa_node_backing(nid);
        printf("node %d (%s): %lu operations, %lu hits, %lu misses, %lu failed, %lu cached\n", nid,
               backing ? backing : "not online", w->done, p->hits, p->misses, p->alloc_failed,
               p->nr_cached);
        if (w->done == 0 || w->bad_node || w->corrupted) {
            printf("bufpool: node %d worker: %lu operations, %lu buffers on another node, %lu corrupted\n",
                   nid, w->done, w->bad_node, w->corrupted);
            failures++;
        }
    }

    /* Pressure: take big blocks until the allocator says no.  It has to
     * reclaim the pools' caches to get there. */
    prefill();
    unsigned long cached_before = total_cached();
    unsigned long free_before = vmstat("nr_free_pages");
    unsigned long cap = (free_before + cached_before * (1UL << BUF_ORDER)) / (1UL << PRESSURE_ORDER) + 64;
    struct pa_page **blocks = calloc(cap, sizeof(*blocks));
    unsigned long nblocks = 0;
    while (blocks && nblocks < cap) {
        struct pa_page *b = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN | PA_GFP_RETRY_MAYFAIL, PRESSURE_ORDER);
        if (!b)
            break;
        blocks[nblocks++] = b;
    }
    unsigned long got_pages = nblocks << PRESSURE_ORDER;
    unsigned long shrunk = 0;
    for (int nid = 0; nid < nr_nodes; nid++)
        shrunk += atomic_load(&pools[nid].shrunk);
    printf("pressure: %lu pages free and %lu buffers cached before; got %lu blocks of %lu KiB "
           "(%lu pages); the shrinker was asked to count %lu times, to scan %lu times, and gave back "
           "%lu buffers; %lu still cached\n",
           free_before, cached_before, nblocks, (PA_PAGE_SIZE << PRESSURE_ORDER) / 1024, got_pages,
           (unsigned long)atomic_load(&shrinker_counts), (unsigned long)atomic_load(&shrinker_scans),
           shrunk, total_cached());
    if (cached_before == 0 || shrunk == 0 || got_pages <= free_before) {
        printf("bufpool: reclaim did not shrink the pool (cached %lu, shrunk %lu, got %lu pages of "
               "%lu free)\n", cached_before, shrunk, got_pages, free_before);
        failures++;
    }
    for (unsigned long i = 0; i < nblocks; i++)
        pa_free_pages(blocks[i], PRESSURE_ORDER);
    free(blocks);

    pa_shrinker_free(shrinker);
    for (int nid = 0; nid < nr_nodes; nid++)
        pool_release(&pools[nid], ~0UL);
    if (pa_check_invariants() != 0) {
        printf("bufpool: the allocator's invariants are broken (see stderr)\n");
        failures++;
    }
    printf("bufpool: %s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc-jemalloc: jemalloc 5.x extent hooks that take every extent
 * from libpagealloc (docs/jemalloc.md).
 *
 * Each arena with these hooks has a struct je_arena whose first member is
 * the extent_hooks_t jemalloc was given, so every hook finds its arena's
 * mask, node and counters from the pointer jemalloc passes back.
 *
 * The hooks, and why each does what it does:
 *   alloc         pa_alloc_contig_pages: a buddy block (split into order-0
 *                 pages, the tail given back) up to 4 MiB, a run of whole
 *                 free 4 MiB blocks beyond; *zero asks for PA_GFP_ZERO and
 *                 the memory is always committed.  A request for a given
 *                 address (new_addr: jemalloc growing an extent in place)
 *                 is refused: the allocator chooses addresses.  A failure
 *                 is a NULL jemalloc reports: nothing comes from mmap.
 *   dalloc        the pages go back at once (pa_free_contig_range): every
 *                 page is its own order-0 allocation, so any extent jemalloc
 *                 made by splitting and merging can be given back.
 *   destroy       the same, for arena destruction (retained extents).
 *   commit        nothing to do: the arenas' memory is always backed.
 *   decommit      refused (returns true): a decommitted range would still
 *                 hold its pages, and taking given pages back later is not
 *                 something the buddy allocator can promise; jemalloc then
 *                 purges the range or gives the whole extent back.
 *   purge_lazy    refused likewise: jemalloc then gives the extent back
 *                 with dalloc, which is what returns pages to libpagealloc.
 *   purge_forced  the range is zeroed in place (its contents must read as
 *                 zero; the pages stay the extent's).
 *   split         always allowed.
 *   merge         allowed when both parts are libpagealloc's and their pages
 *                 are consecutive (so the merged extent is one pfn run).
 * Calls on memory that is not libpagealloc's (extents an automatic arena
 * got from mmap before the preload installed the hooks) are refused, so
 * jemalloc keeps that memory as it would with its own hooks; they are
 * counted as "foreign".
 *
 * Reentrancy: the hooks run inside jemalloc, which may hold the arena's
 * growth mutex.  libpagealloc itself does not malloc on its allocation
 * paths, except when it starts a worker thread (glibc's pthread_create
 * callocs); an allocation hook entered again on the same thread fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include <pagealloc/contig.h>
#include <pagealloc/jemalloc.h>
#include <pagealloc/mempolicy.h>
#include <pagealloc/pagealloc.h>

#include "jemalloc_internal.h"

#define JE_PAGE_SHIFT 12
#define JE_PAGE (1UL << JE_PAGE_SHIFT)
#define JE_MAX_ARENAS 4096               /* MALLCTL_ARENAS_ALL: no index reaches it */
#define JE_BLOCK (JE_PAGE << PA_MAX_ORDER)

/* The event counters, in the order of struct pa_jemalloc_stats. */
enum je_event {
    JE_ALLOC, JE_CONTIG, JE_ALLOC_FAILED, JE_NEW_ADDR, JE_DALLOC, JE_DESTROY, JE_PURGE, JE_SPLIT, JE_MERGE,
    JE_FOREIGN, NR_JE_EVENTS
};
static const size_t je_event_field[NR_JE_EVENTS] = {
    offsetof(struct pa_jemalloc_stats, nr_alloc),     offsetof(struct pa_jemalloc_stats, nr_contig),
    offsetof(struct pa_jemalloc_stats, nr_alloc_failed), offsetof(struct pa_jemalloc_stats, nr_new_addr),
    offsetof(struct pa_jemalloc_stats, nr_dalloc),    offsetof(struct pa_jemalloc_stats, nr_destroy),
    offsetof(struct pa_jemalloc_stats, nr_purge),     offsetof(struct pa_jemalloc_stats, nr_split),
    offsetof(struct pa_jemalloc_stats, nr_merge),     offsetof(struct pa_jemalloc_stats, nr_foreign),
};

struct je_arena {
    extent_hooks_t hooks;                /* first: jemalloc hands back &hooks */
    pa_gfp_t gfp;
    int nid;
    unsigned int ind;
    atomic_ulong ev[NR_JE_EVENTS];
    atomic_size_t bytes, bytes_peak;
};

static inline unsigned long *je_field(struct pa_jemalloc_stats *s, int i)
{
    return (unsigned long *)((char *)s + je_event_field[i]);
}

static struct je_arena *_Atomic je_arenas[JE_MAX_ARENAS];
static __thread int hook_depth;

static inline struct je_arena *to_arena(extent_hooks_t *h)
{
    return (struct je_arena *)h;
}

static inline void inc(struct je_arena *a, enum je_event e)
{
    atomic_fetch_add_explicit(&a->ev[e], 1, memory_order_relaxed);
}

static void held_add(struct je_arena *a, size_t size)
{
    size_t now = atomic_fetch_add_explicit(&a->bytes, size, memory_order_relaxed) + size;
    size_t peak = atomic_load_explicit(&a->bytes_peak, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&a->bytes_peak, &peak, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* ------------------------------------------------------------------ */
/* The hooks                                                           */
/* ------------------------------------------------------------------ */

static void *je_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment, bool *zero, bool *commit,
                      unsigned arena_ind)
{
    struct je_arena *a = to_arena(h);
    (void)arena_ind;

    if (new_addr) {
        inc(a, JE_NEW_ADDR);
        return NULL;
    }
    if (size == 0 || (size & (JE_PAGE - 1)) || (alignment & (alignment - 1)) || hook_depth) {
        inc(a, JE_ALLOC_FAILED);
        return NULL;
    }
    unsigned int align_order = alignment > JE_PAGE ? (unsigned int)__builtin_ctzl(alignment) - JE_PAGE_SHIFT : 0;
    pa_gfp_t gfp = a->gfp | (*zero ? PA_GFP_ZERO : 0);
    int saved = errno;
    hook_depth++;
    struct pa_page *page = pa_alloc_contig_pages(size >> JE_PAGE_SHIFT, align_order, gfp, a->nid);
    hook_depth--;
    errno = saved;
    if (!page) {
        inc(a, JE_ALLOC_FAILED);
        return NULL;
    }
    inc(a, JE_ALLOC);
    if (size > JE_BLOCK || alignment > JE_BLOCK)
        inc(a, JE_CONTIG);
    held_add(a, size);
    *commit = true;
    return pa_page_address(page);
}

/* Give [addr, addr + size) back; false when it is not libpagealloc's. */
static bool give_back(struct je_arena *a, void *addr, size_t size)
{
    int saved = errno;
    struct pa_page *page = pa_virt_to_page(addr);
    if (!page) {
        errno = saved;
        inc(a, JE_FOREIGN);
        return false;
    }
    hook_depth++;
    pa_free_contig_range(page, size >> JE_PAGE_SHIFT);
    hook_depth--;
    errno = saved;
    atomic_fetch_sub_explicit(&a->bytes, size, memory_order_relaxed);
    return true;
}

static bool je_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned arena_ind)
{
    struct je_arena *a = to_arena(h);
    (void)committed, (void)arena_ind;
    if (!give_back(a, addr, size))
        return true;   /* not ours: jemalloc keeps it, as its own hooks would */
    inc(a, JE_DALLOC);
    return false;
}

static void je_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned arena_ind)
{
    struct je_arena *a = to_arena(h);
    (void)committed, (void)arena_ind;
    if (give_back(a, addr, size))
        inc(a, JE_DESTROY);
}

static bool je_commit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                      unsigned arena_ind)
{
    (void)h, (void)addr, (void)size, (void)offset, (void)length, (void)arena_ind;
    return false;   /* always backed: nothing to commit */
}

static bool je_decommit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                        unsigned arena_ind)
{
    (void)h, (void)addr, (void)size, (void)offset, (void)length, (void)arena_ind;
    return true;    /* refused: see the file's head */
}

static bool je_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                          unsigned arena_ind)
{
    (void)h, (void)addr, (void)size, (void)offset, (void)length, (void)arena_ind;
    return true;    /* refused: jemalloc gives the extent back with dalloc */
}

static bool je_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                            unsigned arena_ind)
{
    struct je_arena *a = to_arena(h);
    (void)size, (void)arena_ind;
    int saved = errno;
    bool ours = pa_virt_to_page(addr) != NULL;
    errno = saved;
    if (!ours) {
        inc(a, JE_FOREIGN);
        return true;
    }
    memset((char *)addr + offset, 0, length);
    inc(a, JE_PURGE);
    return false;
}

static bool je_split(extent_hooks_t *h, void *addr, size_t size, size_t size_a, size_t size_b, bool committed,
                     unsigned arena_ind)
{
    (void)addr, (void)size, (void)size_a, (void)size_b, (void)committed, (void)arena_ind;
    inc(to_arena(h), JE_SPLIT);
    return false;
}

static bool je_merge(extent_hooks_t *h, void *addr_a, size_t size_a, void *addr_b, size_t size_b, bool committed,
                     unsigned arena_ind)
{
    struct je_arena *a = to_arena(h);
    (void)size_b, (void)committed, (void)arena_ind;
    int saved = errno;
    struct pa_page *pa = pa_virt_to_page(addr_a), *pb = pa_virt_to_page(addr_b);
    errno = saved;
    if (!pa && !pb)
        return false;   /* both foreign: as jemalloc's own hooks */
    if (!pa || !pb || pa_page_to_pfn(pb) != pa_page_to_pfn(pa) + (size_a >> JE_PAGE_SHIFT))
        return true;
    inc(a, JE_MERGE);
    return false;
}

static const extent_hooks_t je_hooks_template = {
    .alloc = je_alloc,
    .dalloc = je_dalloc,
    .destroy = je_destroy,
    .commit = je_commit,
    .decommit = je_decommit,
    .purge_lazy = je_purge_lazy,
    .purge_forced = je_purge_forced,
    .split = je_split,
    .merge = je_merge,
};

/* ------------------------------------------------------------------ */
/* Arenas                                                              */
/* ------------------------------------------------------------------ */

static bool gfp_valid(pa_gfp_t gfp)
{
    if ((gfp & ~PA_GFP_BITS_MASK) || (gfp & PA_GFP_COMP))
        return false;
    /* at most one zone modifier, as the kernel's GFP_ZONE_BAD */
    return __builtin_popcount(gfp & (PA_GFP_DMA | PA_GFP_DMA32 | PA_GFP_HIGHMEM)) <= 1;
}

static struct je_arena *je_arena_new(pa_gfp_t gfp, int nid)
{
    struct je_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->hooks = je_hooks_template;
    a->gfp = gfp;
    a->nid = nid;
    return a;
}

/* Growth of an arena's retained memory stays within a buddy block, so
 * extents above 4 MiB are asked for only by allocations that need them. */
static void je_limit_growth(unsigned int ind)
{
    char name[64];
    size_t limit = JE_BLOCK;
    snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", ind);
    (void)mallctl(name, NULL, NULL, &limit, sizeof(limit));
}

static void je_register(struct je_arena *a, unsigned int ind)
{
    a->ind = ind;
    /* an index jemalloc reuses belonged to a destroyed arena */
    struct je_arena *old = atomic_exchange(&je_arenas[ind], a);
    free(old);
}

PA_API int pa_jemalloc_arena_create(pa_gfp_t gfp, int nid)
{
    if (!gfp_valid(gfp)) {
        errno = EINVAL;
        return -1;
    }
    if (pa_init(NULL) != 0)
        return -1;
    if (nid < -1 || nid >= pa_num_nodes()) {
        errno = EINVAL;
        return -1;
    }
    struct je_arena *a = je_arena_new(gfp, nid);
    if (!a) {
        errno = ENOMEM;
        return -1;
    }
    extent_hooks_t *hooks = &a->hooks;
    unsigned int ind;
    size_t sz = sizeof(ind);
    int err = mallctl("arenas.create", &ind, &sz, &hooks, sizeof(hooks));
    if (err || ind >= JE_MAX_ARENAS) {
        free(a);
        errno = err == EFAULT || err == EINVAL ? EINVAL : ENOMEM;
        return -1;
    }
    je_limit_growth(ind);
    je_register(a, ind);
    return (int)ind;
}

/* Bytes of extents arena ind holds now (active, dirty, muzzy, retained),
 * from jemalloc's statistics; 0 if it has none or keeps no statistics. */
static size_t je_extent_bytes(unsigned int ind)
{
    static const char *const pages[] = { "pactive", "pdirty", "pmuzzy" };
    char name[64];
    size_t total = 0, v, sz;
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        sz = sizeof(v);
        snprintf(name, sizeof(name), "stats.arenas.%u.%s", ind, pages[i]);
        if (mallctl(name, &v, &sz, NULL, 0) == 0)
            total += v * JE_PAGE;
    }
    sz = sizeof(v);
    snprintf(name, sizeof(name), "stats.arenas.%u.retained", ind);
    if (mallctl(name, &v, &sz, NULL, 0) == 0)
        total += v;
    return total;
}

int je_hook_arena(unsigned int ind, pa_gfp_t gfp, int nid)
{
    struct je_arena *a = je_arena_new(gfp, nid);
    if (!a)
        return -1;
    char name[64];
    extent_hooks_t *hooks = &a->hooks;
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    /* an automatic arena not created yet is created with the hooks */
    if (ind >= JE_MAX_ARENAS || mallctl(name, NULL, NULL, &hooks, sizeof(hooks)) != 0) {
        free(a);
        return -1;
    }
    je_limit_growth(ind);
    je_register(a, ind);
    return 0;
}

int je_hook_automatic_arenas(pa_gfp_t gfp, size_t *before)
{
    uint64_t epoch = 1;
    size_t esz = sizeof(epoch);
    (void)mallctl("epoch", &epoch, &esz, &epoch, esz);   /* fresh statistics */
    *before = 0;

    unsigned int narenas;
    size_t sz = sizeof(narenas);
    if (mallctl("opt.narenas", &narenas, &sz, NULL, 0) != 0)
        return -1;
    int hooked = 0;
    for (unsigned int i = 0; i < narenas && i < JE_MAX_ARENAS; i++) {
        *before += je_extent_bytes(i);   /* what it got from its own hooks */
        hooked += je_hook_arena(i, gfp, -1) == 0;
    }
    return hooked;
}

/* Hold, for good, every block arena ind can still hand out from memory that
 * is not libpagealloc's: per size class, allocate until the block comes from
 * libpagealloc (which is then freed).  Large classes first, biggest first,
 * then every small class, until a pass finds nothing more.  The blocks are
 * never touched, so what they pin is address space, not memory.  Returns
 * the bytes held. */
size_t je_seal_foreign(unsigned int ind)
{
    int flags = (int)MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE;
    unsigned int nbins = 0, nlextents = 0;
    size_t sz = sizeof(unsigned int), held = 0;
    if (mallctl("arenas.nbins", &nbins, &sz, NULL, 0) != 0 ||
        mallctl("arenas.nlextents", &nlextents, &sz, NULL, 0) != 0)
        return 0;
    (void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);   /* cached blocks go back to their slabs */
    for (int pass = 0; pass < 8; pass++) {
        size_t before = held;
        /* large classes up to 2 MiB (the size of jemalloc's first extent), then small */
        for (int i = (int)nlextents + (int)nbins - 1; i >= 0; i--) {
            char name[64];
            size_t size, ssz = sizeof(size);
            if (i >= (int)nbins)
                snprintf(name, sizeof(name), "arenas.lextent.%d.size", i - (int)nbins);
            else
                snprintf(name, sizeof(name), "arenas.bin.%d.size", i);
            if (mallctl(name, &size, &ssz, NULL, 0) != 0 || size > 2 * JE_BLOCK / 4)
                continue;
            for (int n = 0; n < 65536; n++) {
                void *p = mallocx(size, flags);
                if (!p)
                    break;
                int saved = errno;
                bool ours = pa_virt_to_page(p) != NULL;
                errno = saved;
                if (ours) {
                    dallocx(p, flags);
                    break;
                }
                held += size;   /* kept: never given to the program */
            }
        }
        if (held == before)
            break;
    }
    return held;
}

/* The registered arena ind, if jemalloc still uses its hooks. */
static struct je_arena *je_arena_get(unsigned int ind)
{
    if (ind >= JE_MAX_ARENAS)
        return NULL;
    struct je_arena *a = atomic_load(&je_arenas[ind]);
    if (!a)
        return NULL;
    char name[64];
    extent_hooks_t *cur = NULL;
    size_t sz = sizeof(cur);
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    if (mallctl(name, &cur, &sz, NULL, 0) != 0 || cur != &a->hooks)
        return NULL;
    return a;
}

static void je_snapshot(const struct je_arena *a, struct pa_jemalloc_stats *s)
{
    s->gfp = a->gfp;
    s->nid = a->nid;
    for (int i = 0; i < NR_JE_EVENTS; i++)
        *je_field(s, i) = atomic_load(&a->ev[i]);
    s->bytes = atomic_load(&a->bytes);
    s->bytes_peak = atomic_load(&a->bytes_peak);
}

PA_API int pa_jemalloc_arena_stats(unsigned int arena_ind, struct pa_jemalloc_stats *st)
{
    struct je_arena *a = je_arena_get(arena_ind);
    if (!st || st->size < sizeof(size_t) || !a) {
        errno = EINVAL;
        return -1;
    }
    struct pa_jemalloc_stats s;
    memset(&s, 0, sizeof(s));
    je_snapshot(a, &s);
    size_t n = st->size < sizeof(s) ? st->size : sizeof(s);
    s.size = st->size;
    memcpy(st, &s, n);
    return 0;
}

void je_totals(struct pa_jemalloc_stats *t)
{
    memset(t, 0, sizeof(*t));
    t->size = sizeof(*t);
    for (unsigned int ind = 0; ind < JE_MAX_ARENAS; ind++) {
        struct je_arena *a = atomic_load(&je_arenas[ind]);
        if (!a)
            continue;
        struct pa_jemalloc_stats s;
        je_snapshot(a, &s);
        for (int i = 0; i < NR_JE_EVENTS; i++)
            *je_field(t, i) += *je_field(&s, i);
        t->bytes += s.bytes;
        t->bytes_peak += s.bytes_peak;
    }
}

PA_API int pa_jemalloc_show(FILE *f)
{
    if (!f) {
        errno = EINVAL;
        return -1;
    }
    for (unsigned int i = 0; i < JE_MAX_ARENAS; i++) {
        struct je_arena *a = je_arena_get(i);
        if (!a)
            continue;
        struct pa_jemalloc_stats s;
        je_snapshot(a, &s);
        if (fprintf(f,
                    "arena %u node %d gfp %#x alloc %lu contig %lu failed %lu new_addr %lu dalloc %lu "
                    "destroy %lu purge %lu split %lu merge %lu foreign %lu bytes %zu peak %zu\n",
                    i, s.nid, s.gfp, s.nr_alloc, s.nr_contig, s.nr_alloc_failed, s.nr_new_addr, s.nr_dalloc,
                    s.nr_destroy, s.nr_purge, s.nr_split, s.nr_merge, s.nr_foreign, s.bytes, s.bytes_peak) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Which arena, which node                                             */
/* ------------------------------------------------------------------ */

PA_API int pa_jemalloc_arena_of(const void *ptr)
{
    if (!ptr || !pa_virt_to_page(ptr)) {
        errno = EINVAL;
        return -1;
    }
    unsigned int ind;
    size_t sz = sizeof(ind);
    if (mallctl("arenas.lookup", &ind, &sz, &ptr, sizeof(ptr)) != 0) {
        errno = EINVAL;
        return -1;
    }
    return (int)ind;
}

PA_API int pa_jemalloc_node_of(const void *ptr)
{
    struct pa_page *page = ptr ? pa_virt_to_page(ptr) : NULL;
    if (!page) {
        errno = EINVAL;
        return -1;
    }
    return pa_page_to_nid(page);
}

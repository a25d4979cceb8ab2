/* SPDX-License-Identifier: MIT */
/*
 * Dynamic hugetlb pools of memory cgroups (openEuler's mm/dynamic_hugetlb.c;
 * seed 000: alloc_page_from_dhugetlb_pool before get_page_from_freelist).
 *
 * A pool holds whole pageblocks (2 MiB: hugepage-backed when the arena
 * is) taken from the buddy, split into order-0 pages kept on the pool's
 * own free list.  Order-0 PA_GFP_ACCOUNT requests of a thread attached to
 * the cgroup are served from it first; an empty pool sends them to the
 * buddy.  A freed pool page (PG_dhugetlb) returns to its pool, never to the
 * buddy, so the cgroup keeps its memory together.  Shrinking gives back
 * only blocks none of whose pages are in use, whole.
 *
 * Pages of a pool are allocated as far as the zone is concerned: they are
 * neither on a free list nor counted free.  Each page's private points to
 * its block's record (the used count), records never move.
 */
#include "internal.h"

#define BLOCK_PAGES pageblock_nr_pages
#define BLOCK_BYTES ((size_t)PAGE_SIZE << pageblock_order)

struct dhugetlb_block {
    struct pa_page *head;            /* NULL: free record */
    unsigned long used;              /* pages of the block in use */
    struct dhugetlb_pool *pool;
};

struct dhugetlb_pool {
    pa_spinlock_t lock;              /* free list, counts, records */
    struct list_head free;           /* free order-0 pages of the pool */
    unsigned long nr_free, nr_used, nr_blocks;
    struct dhugetlb_block *blocks;   /* max_blocks records */
    unsigned long max_blocks;
    size_t blocks_bytes;
    unsigned long alloc_pool, alloc_buddy;   /* relaxed counters */
    struct list_head link;           /* all pools, under dhugetlb_mutex */
};

bool dhugetlb_active;
/* resizes, pool creation and destruction, the walker */
static struct mutex dhugetlb_mutex = MUTEX_INITIALIZER(LOCK_DHUGETLB);
static struct list_head all_pools = { &all_pools, &all_pools };

/* A child forked while another thread held a pool's lock or the mutex
 * would wait forever: only the forking thread exists there.  (The mutex is
 * held across allocations, with reclaim and its callbacks: not across fork.) */
void dhugetlb_fork_child(void)
{
    mutex_init(&dhugetlb_mutex, LOCK_DHUGETLB, 0);
    for (struct list_head *l = all_pools.next; l != &all_pools; l = l->next)
        spin_lock_init(&list_entry(l, struct dhugetlb_pool, link)->lock, LOCK_DHUGETLB_POOL, 0);
}

static inline struct dhugetlb_pool *memcg_pool(struct pa_memcg *memcg)
{
    return __atomic_load_n(memcg_dhugetlb_slot(memcg), __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------------ */
/* The allocation and free hooks                                       */
/* ------------------------------------------------------------------ */

struct pa_page *alloc_page_from_dhugetlb_pool(pa_gfp_t gfp, unsigned int order, unsigned int alloc_flags)
{
    (void)alloc_flags;
    struct pa_thread *t = pa_current_thread;
    struct dhugetlb_pool *pool;
    /* 4 KiB pages only, as openEuler's pool */
    if (order != 0 || !t || !t->memcg || !(pool = memcg_pool(t->memcg)))
        return NULL;
    int hzi = gfp_zone(gfp);
    struct pa_page *page = NULL;

    spin_lock(&pool->lock);
    if (!list_empty(&pool->free)) {
        page = list_first_entry(&pool->free, struct pa_page, lru);
        /* a request for a lower zone than the pool's memory is not served */
        if (hzi >= 0 && page->zid <= hzi) {
            list_del(&page->lru);
            pool->nr_free--;
            pool->nr_used++;
            ((struct dhugetlb_block *)page->private)->used++;
        } else {
            page = NULL;
        }
    }
    if (page)
        pa_relaxed_add(&pool->alloc_pool, 1);
    else
        pa_relaxed_add(&pool->alloc_buddy, 1);
    spin_unlock(&pool->lock);
    if (!page)
        return NULL;
    page->order = 0;
    set_page_count(page, 1);
    if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
        set_page_owner(page, 0, gfp);
    if (gfp & PA_GFP_ZERO)
        memset(page_address(page), 0, PAGE_SIZE);
    return page;
}

void free_page_to_dhugetlb_pool(struct pa_page *page)
{
    struct dhugetlb_block *rec = (struct dhugetlb_block *)page->private;
    struct dhugetlb_pool *pool = rec->pool;

    if (page->memcg_data)
        memcg_uncharge_page(page, 0);
    if (PageDirty(page))
        account_page_cleaned(page, 1);
    page->mapping = NULL;
    page->owner = NULL;
    page->order = 0;
    __atomic_store_n(&page->flags, 1UL << PG_dhugetlb, __ATOMIC_RELAXED);
    if (unlikely(pa_opt.debug & PA_DEBUG_OWNER))
        reset_page_owner(page, 0);
    if (unlikely(pa_opt.debug & PA_DEBUG_POISON))
        kernel_poison_pages(page, 0);
    spin_lock(&pool->lock);
    list_add(&page->lru, &pool->free);
    pool->nr_free++;
    pool->nr_used--;
    rec->used--;
    spin_unlock(&pool->lock);
}

/* ------------------------------------------------------------------ */
/* Growing and shrinking                                               */
/* ------------------------------------------------------------------ */

static struct dhugetlb_pool *pool_create(void)
{
    struct dhugetlb_pool *pool = pa_os_alloc(sizeof(*pool));
    if (!pool)
        return NULL;
    unsigned long total = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        total += NODE_DATA(nid)->node_present_pages;
    pool->max_blocks = total / BLOCK_PAGES + 1;
    pool->blocks_bytes = pool->max_blocks * sizeof(struct dhugetlb_block);
    pool->blocks = pa_os_alloc(pool->blocks_bytes);   /* untouched records cost nothing */
    if (!pool->blocks) {
        pa_os_free(pool, sizeof(*pool));
        return NULL;
    }
    spin_lock_init(&pool->lock, LOCK_DHUGETLB_POOL, 0);
    INIT_LIST_HEAD(&pool->free);
    list_add(&pool->link, &all_pools);
    return pool;
}

/* Split a block taken from the buddy into the pool's free pages. */
static void pool_add_block(struct dhugetlb_pool *pool, struct pa_page *head)
{
    struct dhugetlb_block *rec = NULL;
    for (unsigned long i = 0; i < pool->max_blocks && !rec; i++)
        if (!pool->blocks[i].head)
            rec = &pool->blocks[i];
    rec->head = head;
    rec->used = 0;
    rec->pool = pool;
    spin_lock(&pool->lock);
    for (unsigned long i = 0; i < BLOCK_PAGES; i++) {
        struct pa_page *p = head + i;
        p->order = 0;
        p->private = (unsigned long)rec;
        set_page_count(p, 0);
        __atomic_store_n(&p->flags, 1UL << PG_dhugetlb, __ATOMIC_RELAXED);
        list_add_tail(&p->lru, &pool->free);
    }
    pool->nr_free += BLOCK_PAGES;
    pool->nr_blocks++;
    spin_unlock(&pool->lock);
}

/* Take up to n wholly free blocks out of the pool (all or none); their
 * heads go to out[].  Returns how many, or 0 when fewer than n are free. */
static unsigned long pool_take_free_blocks(struct dhugetlb_pool *pool, unsigned long n, struct pa_page **out)
{
    unsigned long got = 0;
    spin_lock(&pool->lock);
    for (unsigned long i = 0; i < pool->max_blocks && got < n; i++)
        if (pool->blocks[i].head && !pool->blocks[i].used)
            got++;
    if (got < n) {
        spin_unlock(&pool->lock);
        return 0;
    }
    got = 0;
    for (unsigned long i = 0; i < pool->max_blocks && got < n; i++) {
        struct dhugetlb_block *rec = &pool->blocks[i];
        if (!rec->head || rec->used)
            continue;
        for (unsigned long j = 0; j < BLOCK_PAGES; j++) {
            struct pa_page *p = rec->head + j;
            list_del(&p->lru);
            p->private = 0;
            __atomic_store_n(&p->flags, 0UL, __ATOMIC_RELAXED);
        }
        out[got++] = rec->head;
        rec->head = NULL;
        pool->nr_free -= BLOCK_PAGES;
        pool->nr_blocks--;
    }
    spin_unlock(&pool->lock);
    return got;
}

/* Blocks taken out of a pool (or never added) go back to the buddy whole. */
static void release_blocks(struct pa_page **heads, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        heads[i]->order = (uint8_t)pageblock_order;
        set_page_count(heads[i], 1);
        pa_free_pages(heads[i], pageblock_order);
    }
}

static int pool_grow(struct dhugetlb_pool *pool, unsigned long n)
{
    struct pa_page **heads = pa_os_alloc(n * sizeof(*heads));
    if (!heads)
        return -1;
    unsigned long got = 0;
    for (; got < n; got++) {
        /* whole pageblocks, never movable ones: they stay put */
        heads[got] = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN | PA_GFP_RETRY_MAYFAIL, pageblock_order);
        if (!heads[got])
            break;
    }
    if (got < n) {
        for (unsigned long i = 0; i < got; i++)
            pa_free_pages(heads[i], pageblock_order);
        pa_os_free(heads, n * sizeof(*heads));
        errno = ENOMEM;
        return -1;
    }
    for (unsigned long i = 0; i < n; i++)
        pool_add_block(pool, heads[i]);
    __atomic_store_n(&dhugetlb_active, true, __ATOMIC_RELEASE);
    pa_os_free(heads, n * sizeof(*heads));
    return 0;
}

static int pool_shrink(struct dhugetlb_pool *pool, unsigned long n)
{
    struct pa_page **heads = pa_os_alloc(n * sizeof(*heads));
    if (!heads)
        return -1;
    unsigned long got = pool_take_free_blocks(pool, n, heads);
    release_blocks(heads, got);
    pa_os_free(heads, n * sizeof(*heads));
    if (got < n) {
        errno = EBUSY;
        return -1;
    }
    return 0;
}

PA_API int pa_memcg_dhugetlb_resize(struct pa_memcg *memcg, size_t bytes)
{
    if (unlikely(!pa_initialized()) && pa_init(NULL) != 0)
        return -1;
    if (!pa_opt.dynamic_hugetlb) {
        fprintf(stderr, "pagealloc: pa_memcg_dhugetlb_resize: dynamic hugetlb pools are off "
                        "(PAGEALLOC_DYNAMIC_HUGETLB=on enables them)\n");
        errno = EOPNOTSUPP;
        return -1;
    }
    if (!memcg || bytes % BLOCK_BYTES) {
        if (memcg)
            fprintf(stderr, "pagealloc: pa_memcg_dhugetlb_resize(%zu): not a multiple of the pool's "
                            "block size, %zu bytes\n", bytes, BLOCK_BYTES);
        errno = EINVAL;
        return -1;
    }
    unsigned long target = bytes / BLOCK_BYTES;
    int ret = 0;
    mutex_lock(&dhugetlb_mutex);
    struct dhugetlb_pool *pool = memcg_pool(memcg);
    if (!pool) {
        if (!target)
            goto out;
        pool = pool_create();
        if (!pool) {
            errno = ENOMEM;
            ret = -1;
            goto out;
        }
        __atomic_store_n(memcg_dhugetlb_slot(memcg), pool, __ATOMIC_RELEASE);
    }
    if (target > pool->max_blocks) {
        errno = ENOMEM;
        ret = -1;
    } else if (target > pool->nr_blocks) {
        ret = pool_grow(pool, target - pool->nr_blocks);
    } else if (target < pool->nr_blocks) {
        ret = pool_shrink(pool, pool->nr_blocks - target);
    }
out:
    mutex_unlock(&dhugetlb_mutex);
    return ret;
}

PA_API int pa_memcg_dhugetlb_stat(const struct pa_memcg *memcg, struct pa_dhugetlb_stat *st)
{
    if (!memcg || !st) {
        errno = EINVAL;
        return -1;
    }
    memset(st, 0, sizeof(*st));
    struct dhugetlb_pool *pool = memcg_pool((struct pa_memcg *)memcg);
    if (!pool)
        return 0;
    spin_lock(&pool->lock);
    st->size = pool->nr_blocks * BLOCK_BYTES;
    st->free_pages = pool->nr_free;
    st->used_pages = pool->nr_used;
    st->alloc_pool = pa_relaxed_load(&pool->alloc_pool);
    st->alloc_buddy = pa_relaxed_load(&pool->alloc_buddy);
    spin_unlock(&pool->lock);
    return 0;
}

bool dhugetlb_pool_busy(const struct dhugetlb_pool *pool)
{
    return __atomic_load_n(&pool->nr_used, __ATOMIC_RELAXED) != 0;
}

void dhugetlb_pool_destroy(struct dhugetlb_pool *pool)
{
    mutex_lock(&dhugetlb_mutex);
    if (pool->nr_blocks)
        pool_shrink(pool, pool->nr_blocks);
    list_del(&pool->link);
    mutex_unlock(&dhugetlb_mutex);
    pa_os_free(pool->blocks, pool->blocks_bytes);
    pa_os_free(pool, sizeof(*pool));
}

/* ------------------------------------------------------------------ */
/* The invariant walker's part                                         */
/* ------------------------------------------------------------------ */

int dhugetlb_validate(char *buf, size_t len)
{
    int errors = 0;
    mutex_lock(&dhugetlb_mutex);
    for (struct list_head *l = all_pools.next; l != &all_pools; l = l->next) {
        struct dhugetlb_pool *pool = list_entry(l, struct dhugetlb_pool, link);
        spin_lock(&pool->lock);
        unsigned long listed = 0, used = 0, blocks = 0;
        struct list_head *pos;
        list_for_each(pos, &pool->free) {
            struct pa_page *p = list_entry(pos, struct pa_page, lru);
            struct dhugetlb_block *rec = (struct dhugetlb_block *)p->private;
            if (++listed > pool->nr_free + 1)
                break;
            if ((!PageDhugetlb(p) || PageBuddy(p) || page_ref_count(p) != 0 || !rec || rec->pool != pool) &&
                !errors++)
                snprintf(buf, len, "dhugetlb pool: free pfn %#lx is not a free page of the pool", page_to_pfn(p));
        }
        for (unsigned long i = 0; i < pool->max_blocks; i++)
            if (pool->blocks[i].head) {
                blocks++;
                used += pool->blocks[i].used;
            }
        if ((listed != pool->nr_free || used != pool->nr_used || blocks != pool->nr_blocks ||
             pool->nr_free + pool->nr_used != blocks * BLOCK_PAGES) && !errors++)
            snprintf(buf, len, "dhugetlb pool: %lu pages listed free (counted %lu), %lu used (counted %lu), "
                     "%lu blocks (counted %lu)", listed, pool->nr_free, used, pool->nr_used, blocks,
                     pool->nr_blocks);
        spin_unlock(&pool->lock);
    }
    mutex_unlock(&dhugetlb_mutex);
    return errors;
}

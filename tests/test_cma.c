/* SPDX-License-Identifier: MIT */
/*
 * CMA (src/cma.c): areas from PAGEALLOC_CMA, movable allocations borrowing
 * them, pa_cma_alloc migrating the borrowers out of a 32 MiB run (their
 * contents survive), unmovable borrowers failing a run cleanly, the
 * counters and reports, and bad input.
 */
#include "pa_test.h"

#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>

#define AREA_PAGES (64UL << 20 >> 12)     /* PAGEALLOC_CMA=64M */
#define RUN_PAGES  (32UL << 20 >> 12)     /* the 32 MiB run */

static void setup(const char *node_size, const char *cma)
{
    const char *debug = getenv("PAGEALLOC_DEBUG");
    char *keep = debug ? strdup(debug) : NULL;
    t_env_reset();
    if (keep)
        t_setenv("PAGEALLOC_DEBUG", keep);
    free(keep);
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_NODE_SIZE", node_size);
    if (cma)
        t_setenv("PAGEALLOC_CMA", cma);
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* A movable owner: one record per page, repointed on migration         */
/* ------------------------------------------------------------------ */

struct mrec {
    struct pa_page *page;
    uint64_t tag;
    unsigned int order;     /* of the block (0 unless set) */
};

static unsigned long nr_migrated;
static unsigned long area_lo, area_hi;   /* [lo, hi): the CMA area, for the counts below */
static unsigned long from_area, into_area;

static bool m_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)page;
    (void)mode;
    return true;
}

static int m_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    struct mrec *r = pa_page_movable_owner(src);
    memcpy(pa_page_address(dst), pa_page_address(src), T_PAGE << r->order);
    r->page = dst;
    nr_migrated++;
    unsigned long s_pfn = pa_page_to_pfn(src), d_pfn = pa_page_to_pfn(dst);
    from_area += s_pfn >= area_lo && s_pfn < area_hi;
    into_area += d_pfn >= area_lo && d_pfn < area_hi;
    return 0;
}

static void m_putback(struct pa_page *page)
{
    (void)page;
}

static const struct pa_movable_ops mops = { m_isolate, m_migrate, m_putback };

static void fill_tag(struct pa_page *page, uint64_t tag)
{
    uint64_t *w = pa_page_address(page);
    for (size_t i = 0; i < T_PAGE / 8; i++)
        w[i] = tag ^ i;
}

static bool tag_ok(struct pa_page *page, uint64_t tag)
{
    const uint64_t *w = pa_page_address(page);
    for (size_t i = 0; i < T_PAGE / 8; i++)
        if (w[i] != (tag ^ i))
            return false;
    return true;
}

static bool in_area_pfn(unsigned long pfn)
{
    return pfn >= area_lo && pfn < area_hi;
}

static bool in_area(const struct pa_cma_info *ci, struct pa_page *page)
{
    unsigned long pfn = pa_page_to_pfn(page);
    return pfn >= ci->base_pfn && pfn < ci->base_pfn + ci->count;
}

/* The pagetypeinfo block-count row of the Normal zone, CMA column. */
static unsigned long pagetype_blocks(const char *type)
{
    char *text = t_show(pa_show_pagetypeinfo);
    char *hdr = t_line_with(text, "Number of blocks type");
    ck_assert_ptr_nonnull(hdr);
    /* the column index of the type in the header */
    int col = -1, i = 0;
    for (char *save = NULL, *tok = strtok_r(hdr + strlen("Number of blocks type"), " ", &save); tok;
         tok = strtok_r(NULL, " ", &save), i++)
        if (!strcmp(tok, type))
            col = i;
    ck_assert_int_ge(col, 0);
    char *row = strstr(text, "Number of blocks type");
    row = strstr(row, "zone   Normal");
    ck_assert_ptr_nonnull(row);
    row += strlen("zone   Normal");
    unsigned long v = 0;
    for (i = 0; i <= col; i++)
        v = strtoul(row, &row, 10);
    free(hdr);
    free(text);
    return v;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_area_reserved_and_reported)
{
    setup("128M", "64M");
    ck_assert_int_eq(pa_cma_nr_areas(), 1);
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    ck_assert_int_eq(ci.nid, 0);
    ck_assert_uint_eq(ci.count, AREA_PAGES);
    ck_assert_uint_eq(ci.allocated, 0);
    ck_assert_uint_eq(ci.base_pfn % (1UL << PA_MAX_ORDER), 0);
    ck_assert_uint_eq(t_vmstat("nr_free_cma"), AREA_PAGES);
    ck_assert_uint_eq(pagetype_blocks("CMA"), AREA_PAGES / 512);
    char *zi = t_show(pa_show_zoneinfo);
    char *line = t_line_with(strstr(zi, "zone   Normal"), "        cma ");
    ck_assert_ptr_nonnull(line);
    ck_assert_uint_eq(strtoul(line + strlen("        cma "), NULL, 10), AREA_PAGES);
    free(line);
    free(zi);
    /* unmovable requests never borrow: fill with them, CMA stays free */
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL & ~PA_GFP_RECLAIM, 0);
    ck_assert_uint_gt(l.n, 1000);
    for (size_t i = 0; i < l.n; i++)
        ck_assert(!in_area(&ci, l.v[i].page));
    ck_assert_uint_eq(t_vmstat("nr_free_cma"), AREA_PAGES);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* End to end: movable pages borrowed the area; a 32 MiB run is
 * still handed out, the borrowers moved with their contents intact. */
START_TEST(test_run_migrates_borrowers)
{
    setup("128M", "64M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);

    size_t cap = 32768, n = 0;
    struct mrec *recs = calloc(cap, sizeof(*recs));
    ck_assert_ptr_nonnull(recs);
    /* borrow until three quarters of the area is in use */
    while (t_vmstat("nr_free_cma") > AREA_PAGES / 4) {
        ck_assert_msg(n < cap, "%zu movable pages and CMA is still %lu pages free", n, t_vmstat("nr_free_cma"));
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 0);
        ck_assert_ptr_nonnull(p);
        recs[n].page = p;
        recs[n].tag = 0x9e3779b97f4a7c15ULL * (n + 1);
        fill_tag(p, recs[n].tag);
        pa_page_set_movable(p, &mops, &recs[n]);
        n++;
    }
    size_t borrowed = 0;
    for (size_t i = 0; i < n; i++)
        borrowed += in_area(&ci, recs[i].page);
    ck_assert_uint_ge(borrowed, AREA_PAGES / 2);

    unsigned long mig0 = t_vmstat("pgmigrate_success"), ok0 = t_vmstat("cma_alloc_success");
    struct pa_page *run = pa_cma_alloc(RUN_PAGES, 0);
    ck_assert_msg(run != NULL, "pa_cma_alloc(32 MiB) failed: %s", strerror(errno));
    unsigned long start = pa_page_to_pfn(run);
    ck_assert_uint_ge(start, ci.base_pfn);
    ck_assert_uint_le(start + RUN_PAGES, ci.base_pfn + ci.count);
    ck_assert_uint_eq(t_vmstat("cma_alloc_success") - ok0, 1);
    ck_assert_uint_gt(nr_migrated, 0);
    ck_assert_uint_ge(t_vmstat("pgmigrate_success") - mig0, nr_migrated);

    /* no borrower is left in the run, and every one kept its contents */
    for (size_t i = 0; i < n; i++) {
        unsigned long pfn = pa_page_to_pfn(recs[i].page);
        ck_assert_msg(pfn < start || pfn >= start + RUN_PAGES, "page %zu still inside the run", i);
        ck_assert_msg(tag_ok(recs[i].page, recs[i].tag), "page %zu lost its contents", i);
        ck_assert_ptr_eq(pa_page_movable_owner(recs[i].page), &recs[i]);
    }
    /* the run is one contiguous, usable range of allocated pages */
    char *base = pa_page_address(run);
    for (unsigned long i = 0; i < RUN_PAGES; i += 97) {
        struct pa_page *p = pa_pfn_to_page(start + i);
        ck_assert_ptr_eq(pa_page_address(p), base + i * T_PAGE);
        ck_assert_int_eq(pa_page_count(p), 1);
    }
    memset(base, 0x5a, RUN_PAGES * T_PAGE);
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    ck_assert_uint_eq(ci.allocated, RUN_PAGES);

    ck_assert_int_eq(pa_cma_release(run, RUN_PAGES), 0);
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    ck_assert_uint_eq(ci.allocated, 0);
    for (size_t i = 0; i < n; i++)
        pa_free_pages(recs[i].page, 0);
    free(recs);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_drain();
    ck_assert_uint_eq(t_vmstat("nr_free_cma"), AREA_PAGES);
    ck_assert_uint_eq(pagetype_blocks("Isolate"), 0);
}
END_TEST

/* Borrowers of order 2, compound or not, move whole: the run is handed
 * out and every block keeps its contents, its order and its compound
 * structure. */
START_TEST(test_run_migrates_order2_borrowers)
{
    setup("128M", "64M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    size_t cap = 8192, n = 0;
    struct mrec *recs = calloc(cap, sizeof(*recs));
    ck_assert_ptr_nonnull(recs);
    while (t_vmstat("nr_free_cma") > AREA_PAGES / 4) {
        ck_assert_msg(n < cap, "%zu order-2 blocks and CMA is still %lu pages free", n, t_vmstat("nr_free_cma"));
        pa_gfp_t gfp = PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN | (n & 1 ? PA_GFP_COMP : 0);
        struct pa_page *p = pa_alloc_pages(gfp, 2);
        ck_assert_ptr_nonnull(p);
        recs[n] = (struct mrec){ .page = p, .tag = 0x9e3779b97f4a7c15ULL * (n + 1), .order = 2 };
        for (unsigned long i = 0; i < 4; i++)
            fill_tag(pa_pfn_to_page(pa_page_to_pfn(p) + i), recs[n].tag + i);
        pa_page_set_movable(p, &mops, &recs[n]);
        n++;
    }
    unsigned long mig0 = nr_migrated;
    struct pa_page *run = pa_cma_alloc(RUN_PAGES, 0);
    ck_assert_msg(run != NULL, "pa_cma_alloc(32 MiB) failed: %s", strerror(errno));
    unsigned long start = pa_page_to_pfn(run);
    ck_assert_uint_gt(nr_migrated - mig0, 0);
    for (size_t i = 0; i < n; i++) {
        unsigned long pfn = pa_page_to_pfn(recs[i].page);
        ck_assert_msg(pfn + 4 <= start || pfn >= start + RUN_PAGES, "block %zu still inside the run", i);
        ck_assert_uint_eq(pfn % 4, 0);
        ck_assert_uint_eq(pa_compound_order(recs[i].page), i & 1 ? 2 : 0);
        for (unsigned long j = 0; j < 4; j++) {
            struct pa_page *pj = pa_pfn_to_page(pfn + j);
            ck_assert_msg(tag_ok(pj, recs[i].tag + j), "block %zu page %lu lost its contents", i, j);
            if (i & 1)
                ck_assert_ptr_eq(pa_compound_head(pj), recs[i].page);
        }
        ck_assert_ptr_eq(pa_page_movable_owner(recs[i].page), &recs[i]);
    }
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_int_eq(pa_cma_release(run, RUN_PAGES), 0);
    for (size_t i = 0; i < n; i++)
        pa_free_pages(recs[i].page, 2);
    free(recs);
    t_drain();
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_uint_eq(t_vmstat("nr_free_cma"), AREA_PAGES);
}
END_TEST

/* CMA pageblocks are migration sources and targets for compaction, as the
 * kernel's is_migrate_movable(): movable borrowers of a fragmented area
 * are moved by pa_compact_memory, and free CMA pages take others. */
START_TEST(test_compaction_uses_cma_blocks)
{
    setup("128M", "64M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    area_lo = ci.base_pfn;
    area_hi = ci.base_pfn + ci.count;
    size_t cap = 32768, n = 0;
    struct mrec *recs = calloc(cap, sizeof(*recs));
    ck_assert_ptr_nonnull(recs);
    /* movable pages everywhere: the area and the rest of the zone */
    while (t_vmstat("nr_free_cma") > AREA_PAGES / 8 && n < cap) {
        struct pa_page *p = pa_alloc_pages((PA_GFP_HIGHUSER_MOVABLE & ~PA_GFP_RECLAIM) | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        recs[n] = (struct mrec){ .page = p, .tag = 0x2545F4914F6CDD1DULL * (n + 1) };
        fill_tag(p, recs[n].tag);
        pa_page_set_movable(p, &mops, &recs[n]);
        n++;
    }
    size_t in_area = 0;
    for (size_t i = 0; i < n; i++)
        in_area += in_area_pfn(pa_page_to_pfn(recs[i].page));
    ck_assert_uint_gt(in_area, AREA_PAGES / 2);
    /* a random half back: both parts fragmented */
    uint64_t seed = 0xc0ffee;
    for (size_t i = 0; i < n; i++) {
        if (t_rand(&seed) & 1) {
            pa_free_pages(recs[i].page, 0);
            recs[i].page = NULL;
        }
    }
    t_drain();
    from_area = into_area = 0;
    ck_assert_int_eq(pa_compact_memory(), 0);
    ck_assert_msg(from_area > 0, "no page was migrated out of a CMA pageblock (%lu migrated into one)", into_area);
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].page)
            continue;
        ck_assert_msg(tag_ok(recs[i].page, recs[i].tag), "page %zu lost its contents", i);
        ck_assert_ptr_eq(pa_page_movable_owner(recs[i].page), &recs[i]);
        pa_free_pages(recs[i].page, 0);
    }
    free(recs);
    t_drain();
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_uint_eq(t_vmstat("nr_free_cma"), AREA_PAGES);
}
END_TEST

/* The kernel's order in __rmqueue (6.15): a movable request whose own
 * lists are empty borrows the idle CMA area before it claims an unmovable
 * pageblock.  The zone outside the area is made of free unmovable blocks;
 * CMA is less than half of the free memory, so only the order decides. */
START_TEST(test_cma_before_claiming)
{
    setup("128M", "16M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL & ~PA_GFP_RECLAIM, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    t_drain();
    unsigned long unmovable = pagetype_blocks("Unmovable");
    ck_assert_uint_gt(unmovable, 2 * ci.count / 512);
    ck_assert_uint_lt(t_vmstat("nr_free_cma") * 2, t_nr_free());

    /* movable requests use up what movable blocks are left, then CMA (a
     * quarter is left: a pcp refill that drains CMA claims for the rest of
     * its batch, as the kernel's would) */
    struct t_blocks m = {0};
    while (t_vmstat("nr_free_cma") > ci.count / 4) {
        ck_assert_msg(m.n < 3 * ci.count, "%zu movable pages and CMA is still %lu pages free", m.n,
                      t_vmstat("nr_free_cma"));
        struct pa_page *p = pa_alloc_pages((PA_GFP_HIGHUSER_MOVABLE & ~PA_GFP_RECLAIM) | PA_GFP_NOWARN, 0);
        ck_assert_ptr_nonnull(p);
        t_blocks_push(&m, p, 0);
    }
    ck_assert_msg(pagetype_blocks("Unmovable") == unmovable,
                  "%lu unmovable pageblocks claimed for movable pages while CMA was free",
                  unmovable - pagetype_blocks("Unmovable"));
    t_blocks_free_all(&m);
    t_blocks_release(&m);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Borrowers that never registered movable ops cannot be moved: the run
 * fails (cma_alloc_fail), the isolation is undone, and it succeeds once
 * they are gone. */
START_TEST(test_unmovable_borrowers_fail_cleanly)
{
    setup("64M", "8M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    struct t_blocks l = {0};
    while (t_vmstat("nr_free_cma") > ci.count / 2) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 0);
        ck_assert_ptr_nonnull(p);
        t_blocks_push(&l, p, 0);
    }
    unsigned long fail0 = t_vmstat("cma_alloc_fail");
    errno = 0;
    ck_assert_ptr_null(pa_cma_alloc(ci.count, 0));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(t_vmstat("cma_alloc_fail") - fail0, 1);
    ck_assert_uint_eq(pagetype_blocks("Isolate"), 0);
    ck_assert_uint_eq(pagetype_blocks("CMA"), ci.count / 512);
    ck_assert_int_eq(pa_check_invariants(), 0);

    t_blocks_free_all(&l);
    t_blocks_release(&l);
    struct pa_page *run = pa_cma_alloc(ci.count, PA_MAX_ORDER);
    ck_assert_ptr_nonnull(run);
    ck_assert_uint_eq(pa_page_to_pfn(run), ci.base_pfn);
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_int_eq(pa_cma_release(run, ci.count), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* The same with every debug option (checks, poison, guard pages, page
 * owner): guard pages inside the run are free memory too. */
START_TEST(test_run_with_debug_all)
{
    t_setenv("PAGEALLOC_DEBUG", "all");
    setup("64M", "8M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    size_t n = 0;
    struct mrec *recs = calloc(16384, sizeof(*recs));   /* CMA is borrowed last here: 8M of 64M */
    while (t_vmstat("nr_free_cma") > ci.count / 4) {
        ck_assert_uint_lt(n, 16384);
        /* splitting blocks for these leaves guard pages behind (4 KiB backing) */
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 0);
        ck_assert_ptr_nonnull(p);
        recs[n].page = p;
        recs[n].tag = n * 31 + 7;
        fill_tag(p, recs[n].tag);
        pa_page_set_movable(p, &mops, &recs[n]);
        n++;
    }
    struct pa_page *run = pa_cma_alloc(ci.count / 2, 0);
    ck_assert_ptr_nonnull(run);
    memset(pa_page_address(run), 1, ci.count / 2 * T_PAGE);
    for (size_t i = 0; i < n; i++)
        ck_assert(tag_ok(recs[i].page, recs[i].tag));
    ck_assert_int_eq(pa_check_invariants(), 0);
    ck_assert_int_eq(pa_cma_release(run, ci.count / 2), 0);
    for (size_t i = 0; i < n; i++)
        pa_free_pages(recs[i].page, 0);
    free(recs);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Concurrency: an owner churning movable pages while runs are taken    */
/* ------------------------------------------------------------------ */

#define CHURN_SLOTS 12000

struct churn {
    pthread_mutex_t lock;          /* the owner's lock: records below */
    struct crec {
        struct pa_page *page;
        uint64_t tag;
        bool isolated;
    } rec[CHURN_SLOTS];
    atomic_bool stop;
    unsigned long ops, bad_tags;
};
static struct churn *churn;

static bool c_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)mode;
    struct crec *r = pa_page_movable_owner(page);
    bool ok = false;
    pthread_mutex_lock(&churn->lock);
    if (r && r->page == page && !r->isolated)
        ok = r->isolated = true;
    pthread_mutex_unlock(&churn->lock);
    return ok;
}

static int c_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    struct crec *r = pa_page_movable_owner(src);
    pthread_mutex_lock(&churn->lock);
    memcpy(pa_page_address(dst), pa_page_address(src), T_PAGE);
    r->page = dst;
    r->isolated = false;
    pthread_mutex_unlock(&churn->lock);
    return 0;
}

static void c_putback(struct pa_page *page)
{
    struct crec *r = pa_page_movable_owner(page);
    pthread_mutex_lock(&churn->lock);
    r->isolated = false;
    pthread_mutex_unlock(&churn->lock);
}

static const struct pa_movable_ops cops = { c_isolate, c_migrate, c_putback };

static void *churn_main(void *arg)
{
    (void)arg;
    uint64_t seed = 0x1234567;
    for (unsigned long n = 0; !atomic_load(&churn->stop); n++) {
        size_t i = (size_t)(t_rand(&seed) % CHURN_SLOTS);
        struct pa_page *gone = NULL;
        uint64_t tag = 0;
        pthread_mutex_lock(&churn->lock);
        struct crec *r = &churn->rec[i];
        bool empty = !r->page;
        if (r->page && !r->isolated) {
            gone = r->page;
            tag = r->tag;
            r->page = NULL;
        }
        pthread_mutex_unlock(&churn->lock);
        if (gone) {
            if (!tag_ok(gone, tag))
                churn->bad_tags++;
            pa_free_pages(gone, 0);
        } else if (empty) {
            struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, 0);
            if (!p)
                continue;
            tag = seed ^ i;
            fill_tag(p, tag);
            pthread_mutex_lock(&churn->lock);
            r->page = p;
            r->tag = tag;
            pa_page_set_movable(p, &cops, r);
            pthread_mutex_unlock(&churn->lock);
        }
        churn->ops++;
    }
    return NULL;
}

START_TEST(test_runs_while_owner_churns)
{
    setup("64M", "16M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    churn = calloc(1, sizeof(*churn));
    ck_assert_ptr_nonnull(churn);
    pthread_mutex_init(&churn->lock, NULL);
    /* fill the slots first, so that the area is borrowed */
    for (size_t i = 0; i < CHURN_SLOTS; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 0);
        ck_assert_ptr_nonnull(p);
        churn->rec[i].page = p;
        churn->rec[i].tag = i * 977 + 1;
        fill_tag(p, churn->rec[i].tag);
        pa_page_set_movable(p, &cops, &churn->rec[i]);
    }
    ck_assert_uint_lt(t_vmstat("nr_free_cma"), ci.count);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, churn_main, NULL), 0);
    int ok = 0;
    for (int round = 0; round < 20; round++) {
        struct pa_page *run = pa_cma_alloc(ci.count / 4, 0);
        if (!run)
            continue;
        ok++;
        unsigned long start = pa_page_to_pfn(run), end = start + ci.count / 4;
        memset(pa_page_address(run), 0x77, ci.count / 4 * T_PAGE);
        pthread_mutex_lock(&churn->lock);
        for (size_t i = 0; i < CHURN_SLOTS; i++) {
            struct pa_page *p = churn->rec[i].page;
            if (p) {
                unsigned long pfn = pa_page_to_pfn(p);
                ck_assert_msg(pfn < start || pfn >= end, "a live page of the owner is inside a CMA run");
            }
        }
        pthread_mutex_unlock(&churn->lock);
        ck_assert_int_eq(pa_cma_release(run, ci.count / 4), 0);
    }
    atomic_store(&churn->stop, true);
    pthread_join(th, NULL);
    ck_assert_int_gt(ok, 0);
    ck_assert_uint_eq(churn->bad_tags, 0);
    for (size_t i = 0; i < CHURN_SLOTS; i++)
        if (churn->rec[i].page) {
            ck_assert(tag_ok(churn->rec[i].page, churn->rec[i].tag));
            pa_free_pages(churn->rec[i].page, 0);
        }
    ck_assert_int_eq(pa_check_invariants(), 0);
    free(churn);
}
END_TEST

static const char *const bad_specs[] = {
    "abc", "64M@x", "64M@7", "0", ",", "64M@", "1G@0", "64Q",
};

START_TEST(test_bad_cma_strings)
{
    struct t_capture c;
    t_capture_begin(&c);
    setup("64M", bad_specs[_i]);
    char *err = t_capture_end(&c);
    ck_assert_msg(strstr(err, "PAGEALLOC_CMA") != NULL, "no message naming PAGEALLOC_CMA for \"%s\": %s",
                  bad_specs[_i], err);
    free(err);
    ck_assert_int_eq(pa_cma_nr_areas(), 0);
    ck_assert_uint_eq(t_vmstat("nr_free_cma"), 0);
    errno = 0;
    ck_assert_ptr_null(pa_cma_alloc(1, 0));
    ck_assert_int_eq(errno, ENODEV);
    /* the allocator works as without CMA */
    struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 0);
    ck_assert_ptr_nonnull(p);
    pa_free_pages(p, 0);
}
END_TEST

START_TEST(test_bad_arguments_and_release)
{
    setup("64M", "8M");
    struct pa_cma_info ci;
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    errno = 0;
    ck_assert_ptr_null(pa_cma_alloc(0, 0));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pa_cma_alloc(1, 40));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pa_cma_alloc(ci.count + 1, 0));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(pa_cma_area_info(1, &ci), -1);
    ck_assert_int_eq(pa_cma_area_info(0, NULL), -1);

    /* alignment is honoured */
    struct pa_page *a = pa_cma_alloc(3, 4);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(pa_page_to_pfn(a) % 16, 0);
    struct pa_page *b = pa_cma_alloc(5, 0);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(pa_page_to_pfn(b), pa_page_to_pfn(a) + 3);   /* first fit, right after a */

    struct t_capture c;
    /* a page that is not from CMA */
    struct pa_page *plain = pa_alloc_pages(PA_GFP_KERNEL, 0);
    t_capture_begin(&c);
    errno = 0;
    ck_assert_int_eq(pa_cma_release(plain, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    char *err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "not a page of a CMA area"));
    free(err);
    pa_free_pages(plain, 0);
    /* NULL, zero count, a run longer than what was handed out */
    ck_assert_int_eq(pa_cma_release(NULL, 1), -1);
    ck_assert_int_eq(pa_cma_release(a, 0), -1);
    t_capture_begin(&c);
    ck_assert_int_eq(pa_cma_release(a, 4), -1);     /* a and the start of b */
    ck_assert_int_eq(pa_cma_release(a, 2), -1);     /* part of a */
    ck_assert_int_eq(pa_cma_release(pa_pfn_to_page(pa_page_to_pfn(a) + 1), 2), -1);
    err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "more than one run"));
    ck_assert_ptr_nonnull(strstr(err, "shorter than the run"));
    ck_assert_ptr_nonnull(strstr(err, "not the first page of a run"));
    free(err);
    /* a page of the run freed on its own makes the release refuse */
    pa_get_page(b);
    ck_assert_int_eq(pa_cma_release(b, 5), -1);
    pa_put_page(b);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* release, then double release */
    ck_assert_int_eq(pa_cma_release(a, 3), 0);
    t_capture_begin(&c);
    errno = 0;
    ck_assert_int_eq(pa_cma_release(a, 3), -1);
    ck_assert_int_eq(errno, EINVAL);
    err = t_capture_end(&c);
    ck_assert_ptr_nonnull(strstr(err, "already released"));
    free(err);
    ck_assert_int_eq(pa_cma_release(b, 5), 0);
    ck_assert_int_eq(pa_cma_area_info(0, &ci), 0);
    ck_assert_uint_eq(ci.allocated, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cma");
    TCase *tc = t_tcase(s, "area", 60);
    tcase_add_test(tc, test_area_reserved_and_reported);
    tcase_add_loop_test(tc, test_bad_cma_strings, 0, (int)(sizeof(bad_specs) / sizeof(bad_specs[0])));
    tcase_add_test(tc, test_bad_arguments_and_release);
    tc = t_tcase(s, "alloc", 120);
    tcase_add_test(tc, test_run_migrates_borrowers);
    tcase_add_test(tc, test_cma_before_claiming);
    tcase_add_test(tc, test_run_migrates_order2_borrowers);
    tcase_add_test(tc, test_compaction_uses_cma_blocks);
    tcase_add_test(tc, test_unmovable_borrowers_fail_cleanly);
    tcase_add_test(tc, test_run_with_debug_all);
    tcase_add_test(tc, test_runs_while_owner_churns);
    return t_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The buddy allocator (src/buddy.c): splitting and merging keep every
 * invariant, freeing everything restores the merged state exactly, and
 * the migratetype fallback claims whole pageblocks (grouping by mobility).
 * White-box: reads free_area[] and the pageblock flags through internal.h.
 */
#include "pa_test.h"

#include "internal.h"

static struct zone *normal_zone(void)
{
    return &NODE_DATA(0)->node_zones[PA_ZONE_NORMAL];
}

static void setup(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
}

static void snapshot_nr_free(const struct zone *z, unsigned long out[NR_PAGE_ORDERS])
{
    for (int o = 0; o < NR_PAGE_ORDERS; o++)
        out[o] = __atomic_load_n(&z->free_area[o].nr_free, __ATOMIC_RELAXED);
}

static void format_nr_free(const unsigned long v[NR_PAGE_ORDERS], char *buf, size_t len)
{
    size_t off = 0;
    for (int o = 0; o < NR_PAGE_ORDERS && off < len; o++)
        off += (size_t)snprintf(buf + off, len - off, " %lu", v[o]);
}

/* ------------------------------------------------------------------ */

START_TEST(test_warm_state_fully_merged)
{
    setup();
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    struct zone *z = normal_zone();
    ck_assert_msg(!zone_can_grow(z), "zone not fully online after filling it");
    ck_assert_uint_eq(z->spanned_pages, 16384);
    ck_assert_uint_eq(warm, zone_page_state(z, NR_FREE_PAGES));
    ck_assert_uint_eq(warm, 16384);
    /* 64 MiB = 16 naturally aligned blocks of the max order, nothing else. */
    unsigned long nr[NR_PAGE_ORDERS];
    snapshot_nr_free(z, nr);
    char buf[256];
    format_nr_free(nr, buf, sizeof(buf));
    for (int o = 0; o < MAX_ORDER; o++)
        ck_assert_msg(nr[o] == 0, "order %d has %lu free blocks after settling:%s", o, nr[o], buf);
    ck_assert_uint_eq(nr[MAX_ORDER], 16384UL >> MAX_ORDER);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Split one max-order block by hand and merge it back, under the zone lock. */
START_TEST(test_split_and_merge_exact)
{
    setup();
    t_settle(PA_GFP_KERNEL);
    struct zone *z = normal_zone();
    unsigned long before[NR_PAGE_ORDERS], after[NR_PAGE_ORDERS];
    snapshot_nr_free(z, before);
    unsigned long free_before = zone_page_state(z, NR_FREE_PAGES);

    /* The warm-up claimed blocks for its own type: split one from whichever
     * list holds max-order blocks. */
    int mt = -1;
    for (int t = 0; t < MIGRATE_PCPTYPES && mt < 0; t++)
        if (!list_empty(&z->free_area[MAX_ORDER].free_list[t]))
            mt = t;
    ck_assert_int_ge(mt, 0);
    spin_lock(&z->lock);
    struct pa_page *page = __rmqueue_smallest(z, 0, mt);
    spin_unlock(&z->lock);
    ck_assert_ptr_nonnull(page);
    snapshot_nr_free(z, after);
    /* expand() leaves exactly one free buddy at every order below the max. */
    for (int o = 0; o < MAX_ORDER; o++)
        ck_assert_msg(after[o] == before[o] + 1, "order %d: %lu free, want %lu", o, after[o],
                      before[o] + 1);
    ck_assert_uint_eq(after[MAX_ORDER], before[MAX_ORDER] - 1);
    ck_assert_uint_eq(zone_page_state(z, NR_FREE_PAGES), free_before - 1);
    ck_assert_msg(!PageBuddy(page), "allocated page still marked buddy");
    unsigned long pfn = page_to_pfn(page);
    /* Its order-0 buddy is free, marked, order 0. */
    struct pa_page *buddy = pfn_to_page(pfn ^ 1);
    ck_assert(PageBuddy(buddy));
    ck_assert_uint_eq(buddy_order(buddy), 0);

    spin_lock(&z->lock);
    __free_one_page(page, pfn, z, 0, get_pfnblock_migratetype(pfn));
    spin_unlock(&z->lock);
    snapshot_nr_free(z, after);
    for (int o = 0; o <= MAX_ORDER; o++)
        ck_assert_msg(after[o] == before[o], "order %d: %lu free after merge, want %lu", o,
                      after[o], before[o]);
    ck_assert_uint_eq(zone_page_state(z, NR_FREE_PAGES), free_before);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Random split/merge sequences through the public API. */
START_TEST(test_random_split_merge)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    if (_i == 2) /* the kernel's page_group_by_mobility_disabled */
        t_setenv("PAGEALLOC_MOBILITY_GROUPING", "no");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(page_group_by_mobility_disabled, _i == 2);
    t_settle(PA_GFP_KERNEL);
    struct zone *z = normal_zone();
    unsigned long initial[NR_PAGE_ORDERS];
    snapshot_nr_free(z, initial);
    unsigned long initial_free = t_nr_free();

    uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
    struct t_blocks l = {0};
    unsigned long max_pfn = pa_mm.max_pfn;
    unsigned char *owned = calloc(max_pfn, 1);
    ck_assert_ptr_nonnull(owned);
    const pa_gfp_t gfps[] = {
        PA_GFP_KERNEL, PA_GFP_KERNEL | PA_GFP_MOVABLE, PA_GFP_KERNEL | PA_GFP_RECLAIMABLE,
    };
    unsigned long allocs = 0, fails = 0;

    for (int step = 0; step < 3000; step++) {
        uint64_t r = t_rand(&seed);
        if (l.n == 0 || (r % 100) < 55) {
            unsigned int order = (unsigned int)((r >> 8) % (MAX_ORDER + 1));
            /* Small orders more often: split deep, merge far. */
            if ((r >> 16) % 3)
                order = order % 4;
            pa_gfp_t gfp = gfps[(r >> 24) % 3] | PA_GFP_NOWARN;
            struct pa_page *p = pa_alloc_pages(gfp, order);
            if (!p) {
                ck_assert_int_eq(errno, ENOMEM);
                fails++;
            } else {
                unsigned long pfn = page_to_pfn(p);
                ck_assert_msg(pfn % (1UL << order) == 0, "step %d: order %u at pfn %lu", step,
                              order, pfn);
                ck_assert_msg(!PageBuddy(p), "step %d: allocated block marked buddy", step);
                ck_assert_int_eq(pa_page_count(p), 1);
                for (unsigned long i = 0; i < (1UL << order); i++) {
                    if (owned[pfn + i])
                        ck_abort_msg("step %d: pfn %lu handed out twice", step, pfn + i);
                    owned[pfn + i] = 1;
                }
                t_blocks_push(&l, p, order);
                allocs++;
            }
        } else {
            size_t k = (size_t)((r >> 8) % l.n);
            struct t_block b = l.v[k];
            l.v[k] = l.v[--l.n];
            unsigned long pfn = page_to_pfn(b.page);
            for (unsigned long i = 0; i < (1UL << b.order); i++)
                owned[pfn + i] = 0;
            pa_free_pages(b.page, b.order);
        }
        ck_assert_msg(pa_check_invariants() == 0, "invariants broken after step %d", step);
    }
    ck_assert_msg(allocs > 1000, "only %lu allocations succeeded", allocs);

    t_blocks_free_all(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_drain();
    unsigned long final[NR_PAGE_ORDERS];
    snapshot_nr_free(z, final);
    char want[256], got[256];
    format_nr_free(initial, want, sizeof(want));
    format_nr_free(final, got, sizeof(got));
    ck_assert_msg(memcmp(initial, final, sizeof(initial)) == 0,
                  "buddyinfo after freeing everything:%s\n  initial:%s", got, want);
    ck_assert_uint_eq(t_nr_free(), initial_free);
    free(owned);
    t_blocks_release(&l);
    (void)fails;
}
END_TEST

/* ------------------------------------------------------------------ */
/* Migratetype fallback: grouping by mobility                          */
/* ------------------------------------------------------------------ */

/* The "Number of blocks type" row of zone `zone` (e.g. "Normal") for the
 * column named `type` (e.g. "Unmovable"); -1 if not found. */
static long pagetypeinfo_blocks(const char *zone, const char *type)
{
    char *text = t_show(pa_show_pagetypeinfo);
    long result = -1;
    char *sec = strstr(text, "Number of blocks type");
    if (!sec)
        goto out;
    /* Header: find the column index of `type`. */
    char *eol = strchr(sec, '\n');
    if (!eol)
        goto out;
    char *header = strndup(sec + strlen("Number of blocks type"), (size_t)(eol - sec) -
                                                                    strlen("Number of blocks type"));
    int col = -1, i = 0;
    for (char *save = NULL, *w = strtok_r(header, " \t", &save); w; w = strtok_r(NULL, " \t", &save), i++)
        if (strcmp(w, type) == 0)
            col = i;
    free(header);
    if (col < 0)
        goto out;
    /* Rows: "Node    0, zone   Normal      1      7 ..." */
    for (char *line = eol + 1; *line && *line != '\n';) {
        char *end = strchr(line, '\n');
        char *row = strndup(line, end ? (size_t)(end - line) : strlen(line));
        char *zonew = strstr(row, "zone");
        if (zonew) {
            char name[64];
            int used = 0;
            if (sscanf(zonew, "zone %63s%n", name, &used) == 1 && strcmp(name, zone) == 0) {
                char *p = zonew + used;
                for (int c = 0; c <= col; c++) {
                    char *next;
                    long v = strtol(p, &next, 10);
                    if (next == p) {
                        v = -1;
                        c = col;
                    }
                    p = next;
                    result = v;
                }
            }
        }
        free(row);
        if (!end)
            break;
        line = end + 1;
    }
out:
    free(text);
    return result;
}

START_TEST(test_fallback_claims_pageblock)
{
    setup();
    /* Fresh zone: every pageblock starts MIGRATE_MOVABLE. */
    struct pa_page *probe = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_MOVABLE, 0);
    ck_assert_ptr_nonnull(probe);
    ck_assert_int_eq(get_pageblock_migratetype(probe), MIGRATE_MOVABLE);
    ck_assert_int_eq(pagetypeinfo_blocks("Normal", "Unmovable"), 0);
    ck_assert_int_eq(pagetypeinfo_blocks("Normal", "Reclaimable"), 0);
    ck_assert_int_gt(pagetypeinfo_blocks("Normal", "Movable"), 0);

    /* An unmovable page steals a whole pageblock. */
    struct pa_page *u = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_msg(get_pageblock_migratetype(u) == MIGRATE_UNMOVABLE,
                  "unmovable page in a pageblock of type %s",
                  migratetype_names[get_pageblock_migratetype(u)]);
    ck_assert_int_gt(pagetypeinfo_blocks("Normal", "Unmovable"), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* Movable pages keep coming from movable blocks, not that one. */
    struct pa_page *m = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_MOVABLE, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(get_pageblock_migratetype(m), MIGRATE_MOVABLE);
    ck_assert_uint_ne(page_to_pfn(m) >> pageblock_order, page_to_pfn(u) >> pageblock_order);

    /* More unmovable pages cluster in the claimed block. */
    struct pa_page *u2 = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(u2);
    ck_assert_int_eq(get_pageblock_migratetype(u2), MIGRATE_UNMOVABLE);

    /* Reclaimable claims its own block. */
    struct pa_page *r = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_RECLAIMABLE, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(get_pageblock_migratetype(r) == MIGRATE_RECLAIMABLE,
                  "reclaimable page in a pageblock of type %s",
                  migratetype_names[get_pageblock_migratetype(r)]);
    ck_assert_int_gt(pagetypeinfo_blocks("Normal", "Reclaimable"), 0);
    ck_assert_uint_ne(page_to_pfn(r) >> pageblock_order, page_to_pfn(u) >> pageblock_order);
    ck_assert_uint_ne(page_to_pfn(r) >> pageblock_order, page_to_pfn(m) >> pageblock_order);

    /* Higher orders of each type land in blocks of their type as well. */
    struct pa_page *u4 = pa_alloc_pages(PA_GFP_KERNEL, 4);
    ck_assert_ptr_nonnull(u4);
    ck_assert_int_eq(get_pageblock_migratetype(u4), MIGRATE_UNMOVABLE);
    ck_assert_int_eq(pa_check_invariants(), 0);

    pa_free_pages(u4, 4);
    pa_free_pages(r, 0);
    pa_free_pages(u2, 0);
    pa_free_pages(m, 0);
    pa_free_pages(u, 0);
    pa_free_pages(probe, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Pageblock order and the migratetype bookkeeping the fallback relies on. */
START_TEST(test_pageblock_geometry)
{
    setup();
    ck_assert_uint_eq(pageblock_order, 9);
    ck_assert_uint_eq(pageblock_nr_pages, 512);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_MOVABLE, 9);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(page_to_pfn(p) % 512, 0);
    /* One whole pageblock: every page of it shares the block's type. */
    for (unsigned long i = 0; i < 512; i += 37)
        ck_assert_int_eq(get_pfnblock_migratetype(page_to_pfn(p) + i), get_pageblock_migratetype(p));
    pa_free_pages(p, 9);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static Suite *buddy_suite(void)
{
    Suite *s = suite_create("buddy");
    TCase *tc = t_tcase(s, "merge", 120);
    tcase_add_test(tc, test_warm_state_fully_merged);
    tcase_add_test(tc, test_split_and_merge_exact);
    tcase_add_loop_test(tc, test_random_split_merge, 0, 3);
    tc = t_tcase(s, "migratetype", 60);
    tcase_add_test(tc, test_fallback_claims_pageblock);
    tcase_add_test(tc, test_pageblock_geometry);
    return s;
}

int main(void)
{
    return t_run_suite(buddy_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * Watermarks (src/watermark.c): min_free_kbytes and its default, each
 * zone's MIN/LOW/HIGH/PROMO from it and watermark_scale_factor,
 * lowmem_reserve with the kernel's ratios, gfp_to_alloc_flags, how deep
 * each kind of request may go (KERNEL, __GFP_HIGH, ATOMIC, MEMALLOC,
 * NOMEMALLOC), __zone_watermark_ok's high-order check and highatomic
 * exclusion, the highatomic reserve, and watermark boosting on fallback,
 * all as zoneinfo shows them.
 *
 * Expected values are computed here from the kernel's formulas and the
 * configured sizes, not read back from the library.  Tests that count
 * pages exactly run with PAGEALLOC_PCP=off, so that every page is either
 * in the buddy or held by the test.
 */
#include "pa_test.h"

#include <pthread.h>
#include <time.h>

#include "internal.h"

static double t_seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct zone *zone_of(int nid, int zid)
{
    return &NODE_DATA(nid)->node_zones[zid];
}

/* The kernel's int_sqrt, independently: floor(sqrt(x)). */
static unsigned long isqrt(unsigned long x)
{
    unsigned long r = 0;
    while ((r + 1) * (r + 1) <= x)
        r++;
    return r;
}

static unsigned long isqrt_fast(unsigned long x)
{
    unsigned long r = (unsigned long)__builtin_sqrt((double)x);
    while (r * r > x)
        r--;
    while ((r + 1) * (r + 1) <= x)
        r++;
    return r;
}

/* ------------------------------------------------------------------ */
/* zoneinfo, one zone at a time                                         */
/* ------------------------------------------------------------------ */

struct zi_zone {
    unsigned long free, boost, min, low, high, promo, spanned, present, managed;
    long prot[MAX_NR_ZONES];
    int fields;
};

static const char *const zname[MAX_NR_ZONES] = {"DMA", "DMA32", "Normal", "Movable"};

static bool zoneinfo_zone(const char *text, int nid, int zid, struct zi_zone *out)
{
    char head[64];
    snprintf(head, sizeof(head), "Node %d, zone %8s\n", nid, zname[zid]);
    const char *sec = strstr(text, head);
    if (!sec)
        return false;
    const char *end = strstr(sec + 1, "\nNode ");
    memset(out, 0, sizeof(*out));
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"\n  pages free ", offsetof(struct zi_zone, free)},
        {"\n        boost ", offsetof(struct zi_zone, boost)},
        {"\n        min ", offsetof(struct zi_zone, min)},
        {"\n        low ", offsetof(struct zi_zone, low)},
        {"\n        high ", offsetof(struct zi_zone, high)},
        {"\n        promo ", offsetof(struct zi_zone, promo)},
        {"\n        spanned ", offsetof(struct zi_zone, spanned)},
        {"\n        present ", offsetof(struct zi_zone, present)},
        {"\n        managed ", offsetof(struct zi_zone, managed)},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *at = strstr(sec, keys[i].key);
        if (!at || (end && at > end))
            continue;
        if (sscanf(at + strlen(keys[i].key), "%lu", (unsigned long *)((char *)out + keys[i].off)) == 1)
            out->fields++;
    }
    const char *p = strstr(sec, "protection: (");
    if (p && (!end || p < end) &&
        sscanf(p, "protection: (%ld, %ld, %ld, %ld)", &out->prot[0], &out->prot[1], &out->prot[2],
               &out->prot[3]) == 4)
        out->fields++;
    return true;
}

/* Every zone's printed watermarks, boost, sizes and protection are the
 * structures' (watermarks include the boost, as the kernel prints them). */
static void assert_zoneinfo_consistent(void)
{
    char *text = t_show(pa_show_zoneinfo);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = zone_of(nid, zid);
            struct zi_zone zi;
            ck_assert_msg(zoneinfo_zone(text, nid, zid, &zi), "zoneinfo lacks node %d zone %s", nid, zname[zid]);
            ck_assert_msg(zi.fields == 10, "node %d %s: %d of 10 fields parsed", nid, zname[zid], zi.fields);
            unsigned long boost = __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED);   /* kswapd clears it */
            ck_assert_uint_eq(zi.boost, boost);
            ck_assert_msg(zi.min == z->_watermark[WMARK_MIN] + boost, "node %d %s: zoneinfo min %lu, want %lu + %lu",
                          nid, zname[zid], zi.min, z->_watermark[WMARK_MIN], boost);
            ck_assert_uint_eq(zi.low, z->_watermark[WMARK_LOW] + boost);
            ck_assert_uint_eq(zi.high, z->_watermark[WMARK_HIGH] + boost);
            ck_assert_uint_eq(zi.promo, z->_watermark[WMARK_PROMO] + boost);
            ck_assert_uint_eq(zi.spanned, z->spanned_pages);
            ck_assert_uint_eq(zi.present, z->present_pages);
            ck_assert_uint_eq(zi.managed, z->managed_pages);
            for (int j = 0; j < MAX_NR_ZONES; j++)
                ck_assert_msg(zi.prot[j] == z->lowmem_reserve[j], "node %d %s: protection[%d] %ld, lowmem_reserve %ld",
                              nid, zname[zid], j, zi.prot[j], z->lowmem_reserve[j]);
        }
    free(text);
}

/* ------------------------------------------------------------------ */
/* min_free_kbytes                                                     */
/* ------------------------------------------------------------------ */

static const struct {
    const char *emulate, *node_size, *dma, *dma32, *movable;
    unsigned long lowmem_kb;      /* the zones below Movable, by construction */
} mfk_cfgs[] = {
    {NULL, "64M", NULL, NULL, NULL, 64UL << 10},           /* 1024 */
    {NULL, "64M", NULL, NULL, "25%", 48UL << 10},          /* 886: Movable is not lowmem */
    {"4", "16M", "4M", NULL, NULL, 64UL << 10},            /* summed over nodes */
    {NULL, "8M", "4M", NULL, NULL, 8UL << 10},             /* 362 */
    {NULL, "1G", NULL, "64M", NULL, (1UL << 20) + (64UL << 10)}, /* DMA32 counts */
    {NULL, "8T", NULL, NULL, NULL, 8UL << 30},             /* sqrt is 370727: clamped to 262144 */
};

START_TEST(test_min_free_kbytes_default)
{
#ifdef __SANITIZE_THREAD__
    /* TSan's shadow memory leaves no room to reserve 8 TiB of address space */
    if (strcmp(mfk_cfgs[_i].node_size, "8T") == 0) {
        fprintf(stderr, "skipped under TSan: PAGEALLOC_NODE_SIZE=8T\n");
        return;
    }
#endif
    t_env_reset();
    if (mfk_cfgs[_i].emulate)
        t_setenv("PAGEALLOC_NUMA_EMULATE", mfk_cfgs[_i].emulate);
    t_setenv("PAGEALLOC_NODE_SIZE", mfk_cfgs[_i].node_size);
    if (mfk_cfgs[_i].dma)
        t_setenv("PAGEALLOC_DMA_SIZE", mfk_cfgs[_i].dma);
    if (mfk_cfgs[_i].dma32)
        t_setenv("PAGEALLOC_DMA32_SIZE", mfk_cfgs[_i].dma32);
    if (mfk_cfgs[_i].movable)
        t_setenv("PAGEALLOC_MOVABLECORE", mfk_cfgs[_i].movable);
    ck_assert_int_eq(pa_init(NULL), 0);

    unsigned long lowmem_pages = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < PA_ZONE_MOVABLE; zid++)
            lowmem_pages += zone_of(nid, zid)->managed_pages;
    ck_assert_msg(lowmem_pages * 4 == mfk_cfgs[_i].lowmem_kb, "lowmem %lu KiB, want %lu KiB", lowmem_pages * 4,
                  mfk_cfgs[_i].lowmem_kb);
    unsigned long x = mfk_cfgs[_i].lowmem_kb * 16;
    unsigned long want = x < (1UL << 40) ? isqrt(x) : isqrt_fast(x);
    want = PA_MAX(128UL, PA_MIN(want, 262144UL));
    ck_assert_msg(pa_min_free_kbytes() == want, "min_free_kbytes %lu for %lu KiB of lowmem, want %lu",
                  pa_min_free_kbytes(), mfk_cfgs[_i].lowmem_kb, want);
    /* the lowmem zones' MIN watermarks add up to it (less rounding) */
    unsigned long sum_min = 0;
    int nzones = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < PA_ZONE_MOVABLE; zid++)
            if (populated_zone(zone_of(nid, zid))) {
                sum_min += zone_of(nid, zid)->_watermark[WMARK_MIN];
                nzones++;
            }
    ck_assert_msg(sum_min <= want / 4 && sum_min + (unsigned long)nzones >= want / 4,
                  "MIN watermarks sum to %lu pages, min_free_kbytes is %lu pages", sum_min, want / 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Per-zone watermarks                                                 */
/* ------------------------------------------------------------------ */

static const struct {
    const char *emulate, *node_size, *dma, *dma32, *movable, *min_free, *scale;
} wm_cfgs[] = {
    {NULL, "64M", NULL, "64M", "25%", NULL, NULL},   /* every zone type */
    {NULL, "64M", NULL, NULL, NULL, "8192", NULL},   /* PAGEALLOC_MIN_FREE_KBYTES */
    {NULL, "64M", NULL, NULL, NULL, NULL, "1000"},   /* gap = managed / 10 */
    {NULL, "256M", "0", NULL, "75%", NULL, "300"},   /* Movable MIN = managed / 1024 */
    {NULL, "64M", "0", NULL, "4M", NULL, NULL},      /* Movable MIN clamped to 32 */
    {NULL, "1G", "0", NULL, "90%", "65536", NULL},   /* Movable MIN clamped to 128 */
    {"2", "32M", "4M", NULL, NULL, NULL, "3000"},    /* two nodes, the scale factor's maximum */
};

START_TEST(test_zone_watermarks)
{
    t_env_reset();
    if (wm_cfgs[_i].emulate)
        t_setenv("PAGEALLOC_NUMA_EMULATE", wm_cfgs[_i].emulate);
    t_setenv("PAGEALLOC_NODE_SIZE", wm_cfgs[_i].node_size);
    if (wm_cfgs[_i].dma)
        t_setenv("PAGEALLOC_DMA_SIZE", wm_cfgs[_i].dma);
    if (wm_cfgs[_i].dma32)
        t_setenv("PAGEALLOC_DMA32_SIZE", wm_cfgs[_i].dma32);
    if (wm_cfgs[_i].movable)
        t_setenv("PAGEALLOC_MOVABLECORE", wm_cfgs[_i].movable);
    if (wm_cfgs[_i].min_free)
        t_setenv("PAGEALLOC_MIN_FREE_KBYTES", wm_cfgs[_i].min_free);
    if (wm_cfgs[_i].scale)
        t_setenv("PAGEALLOC_WATERMARK_SCALE_FACTOR", wm_cfgs[_i].scale);
    ck_assert_int_eq(pa_init(NULL), 0);

    unsigned long lowmem = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < PA_ZONE_MOVABLE; zid++)
            lowmem += zone_of(nid, zid)->managed_pages;
    unsigned long mfk = wm_cfgs[_i].min_free ? strtoul(wm_cfgs[_i].min_free, NULL, 10)
                                             : PA_MAX(128UL, PA_MIN(isqrt(lowmem * 4 * 16), 262144UL));
    unsigned long scale = wm_cfgs[_i].scale ? strtoul(wm_cfgs[_i].scale, NULL, 10) : 10;
    ck_assert_uint_eq(pa_min_free_kbytes(), mfk);
    unsigned long pages_min = mfk / 4;

    bool saw_movable = false, saw_scale_gap = false;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = zone_of(nid, zid);
            unsigned long managed = z->managed_pages;
            unsigned long tmp = (unsigned long)((unsigned __int128)pages_min * managed / lowmem);
            unsigned long min = tmp;
            if (zid == PA_ZONE_MOVABLE) {
                min = PA_MAX(32UL, PA_MIN(managed / 1024, 128UL));
                saw_movable |= managed > 0;
            }
            unsigned long by_scale = managed * scale / 10000;
            unsigned long gap = PA_MAX(tmp / 4, by_scale);
            saw_scale_gap |= managed && by_scale > tmp / 4;
            unsigned long want[NR_WMARK] = {min, min + gap, min + 2 * gap, min + 3 * gap};
            static const char *const wn[NR_WMARK] = {"MIN", "LOW", "HIGH", "PROMO"};
            for (int w = 0; w < NR_WMARK; w++)
                ck_assert_msg(z->_watermark[w] == want[w],
                              "node %d %s (%lu of %lu lowmem pages, min_free_kbytes %lu, scale %lu): %s %lu, want %lu",
                              nid, zname[zid], managed, lowmem, mfk, scale, wn[w], z->_watermark[w], want[w]);
            ck_assert_uint_eq(z->watermark_boost, 0);
        }
    if (wm_cfgs[_i].movable)
        ck_assert(saw_movable);
    if (wm_cfgs[_i].scale)
        ck_assert_msg(saw_scale_gap, "PAGEALLOC_WATERMARK_SCALE_FACTOR=%s never set the gap", wm_cfgs[_i].scale);
    assert_zoneinfo_consistent();
}
END_TEST

/* ------------------------------------------------------------------ */
/* lowmem_reserve                                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_lowmem_reserve_ratios)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "128M");
    t_setenv("PAGEALLOC_DMA_SIZE", "16M");
    t_setenv("PAGEALLOC_DMA32_SIZE", "64M");
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    /* DMA 4096, DMA32 16384, Normal 32768 - 4096 - 8192 = 20480, Movable 8192 */
    const unsigned long pages[MAX_NR_ZONES] = {4096, 16384, 20480, 8192};
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        ck_assert_msg(zone_of(0, zid)->managed_pages == pages[zid], "%s: %lu pages, want %lu", zname[zid],
                      zone_of(0, zid)->managed_pages, pages[zid]);
    /* ratios DMA 256, DMA32 256, Normal 32; a zone keeps from requests
     * that could use zone j the pages above it up to j, over its ratio */
    const long want[MAX_NR_ZONES][MAX_NR_ZONES] = {
        {0, 16384 / 256, (16384 + 20480) / 256, (16384 + 20480 + 8192) / 256},
        {0, 0, 20480 / 256, (20480 + 8192) / 256},
        {0, 0, 0, 8192 / 32},
        {0, 0, 0, 0},
    };
    for (int i = 0; i < MAX_NR_ZONES; i++)
        for (int j = 0; j < MAX_NR_ZONES; j++)
            ck_assert_msg(zone_of(0, i)->lowmem_reserve[j] == want[i][j], "%s lowmem_reserve[%s] %ld, want %ld",
                          zname[i], zname[j], zone_of(0, i)->lowmem_reserve[j], want[i][j]);
    char *text = t_show(pa_show_zoneinfo);
    struct zi_zone zi;
    ck_assert(zoneinfo_zone(text, 0, PA_ZONE_DMA, &zi));
    ck_assert_msg(zi.prot[0] == 0 && zi.prot[1] == 64 && zi.prot[2] == 144 && zi.prot[3] == 176,
                  "DMA protection: (%ld, %ld, %ld, %ld), want (0, 64, 144, 176)", zi.prot[0], zi.prot[1], zi.prot[2],
                  zi.prot[3]);
    free(text);
    assert_zoneinfo_consistent();
}
END_TEST

/* Requests that may use Normal leave ZONE_DMA its MIN plus the reserve;
 * DMA requests may then take the reserve. */
START_TEST(test_lowmem_reserve_protects_dma)
{
    t_env_reset();
    t_setenv("PAGEALLOC_PCP", "off");
    ck_assert_int_eq(pa_init(NULL), 0);   /* 64M: DMA 4096 pages, Normal 12288 */
    struct zone *dma = zone_of(0, PA_ZONE_DMA), *normal = zone_of(0, PA_ZONE_NORMAL);
    t_settle(PA_GFP_KERNEL);
    t_settle(PA_GFP_KERNEL | PA_GFP_DMA);
    long reserve = dma->lowmem_reserve[PA_ZONE_NORMAL];
    ck_assert_int_eq(reserve, 12288 / 256);

    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_gt(n, 0);
    size_t from_dma = 0;
    for (size_t i = 0; i < l.n; i++)
        from_dma += pa_page_zonenum(l.v[i].page) == PA_ZONE_DMA;
    ck_assert_msg(from_dma > 0, "KERNEL requests never fell back to ZONE_DMA");
    unsigned long dma_free = zone_page_state(dma, NR_FREE_PAGES);
    ck_assert_msg(dma_free == dma->_watermark[WMARK_MIN] + (unsigned long)reserve,
                  "ZONE_DMA left with %lu free pages after KERNEL exhaustion; want MIN %lu + lowmem_reserve %ld",
                  dma_free, dma->_watermark[WMARK_MIN], reserve);
    ck_assert_uint_eq(zone_page_state(normal, NR_FREE_PAGES), normal->_watermark[WMARK_MIN]);

    /* DMA requests see no reserve in their own zone: exactly `reserve` more */
    size_t more = t_fill(&l, PA_GFP_KERNEL | PA_GFP_DMA, 0);
    ck_assert_msg(more == (size_t)reserve, "a DMA request got %zu pages below the reserve, want %ld", more, reserve);
    ck_assert_uint_eq(zone_page_state(dma, NR_FREE_PAGES), dma->_watermark[WMARK_MIN]);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* gfp_to_alloc_flags                                                  */
/* ------------------------------------------------------------------ */

static void flags_str(unsigned int f, char *buf, size_t len)
{
    static const struct {
        unsigned int bit;
        const char *name;
    } names[] = {
        {ALLOC_NO_WATERMARKS, "NO_WATERMARKS"}, {ALLOC_OOM, "OOM"}, {ALLOC_NON_BLOCK, "NON_BLOCK"},
        {ALLOC_MIN_RESERVE, "MIN_RESERVE"},     {ALLOC_CPUSET, "CPUSET"}, {ALLOC_CMA, "CMA"},
        {ALLOC_NOFRAGMENT, "NOFRAGMENT"},       {ALLOC_HIGHATOMIC, "HIGHATOMIC"}, {ALLOC_KSWAPD, "KSWAPD"},
    };
    size_t off = (size_t)snprintf(buf, len, "WMARK_%u", f & ALLOC_WMARK_MASK);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && off < len; i++)
        if (f & names[i].bit)
            off += (size_t)snprintf(buf + off, len - off, "|%s", names[i].name);
}

struct flags_case {
    const char *what;
    pa_gfp_t gfp;
    unsigned int order, want;
};

static void check_flag_cases(const struct flags_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned int got = gfp_to_alloc_flags(c[i].gfp, c[i].order);
        char g[160], w[160];
        flags_str(got, g, sizeof(g));
        flags_str(c[i].want, w, sizeof(w));
        ck_assert_msg(got == c[i].want, "gfp_to_alloc_flags(%s, order %u) = %s, want %s", c[i].what, c[i].order, g,
                      w);
    }
}

#define WMIN ALLOC_WMARK_MIN
START_TEST(test_gfp_to_alloc_flags)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    const struct flags_case cases[] = {
        {"GFP_KERNEL", PA_GFP_KERNEL, 0, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_KERNEL", PA_GFP_KERNEL, 3, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_KERNEL|__GFP_MOVABLE", PA_GFP_KERNEL | PA_GFP_MOVABLE, 0,
         WMIN | ALLOC_CPUSET | ALLOC_KSWAPD | ALLOC_CMA},
        {"GFP_KERNEL|__GFP_HIGH", PA_GFP_KERNEL | PA_GFP_HIGH, 0,
         WMIN | ALLOC_CPUSET | ALLOC_KSWAPD | ALLOC_MIN_RESERVE},
        {"GFP_USER", PA_GFP_USER, 0, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_ATOMIC", PA_GFP_ATOMIC, 0, WMIN | ALLOC_KSWAPD | ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK},
        {"GFP_ATOMIC", PA_GFP_ATOMIC, 2,
         WMIN | ALLOC_KSWAPD | ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK | ALLOC_HIGHATOMIC},
        {"GFP_NOWAIT", PA_GFP_NOWAIT, 0, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD | ALLOC_NON_BLOCK},
        {"GFP_NOWAIT", PA_GFP_NOWAIT, 1, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD | ALLOC_NON_BLOCK | ALLOC_HIGHATOMIC},
        {"0 (no reclaim at all)", 0, 0, WMIN | ALLOC_CPUSET | ALLOC_NON_BLOCK},
        {"GFP_KERNEL|__GFP_NOMEMALLOC", PA_GFP_KERNEL | PA_GFP_NOMEMALLOC, 0, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_KERNEL|__GFP_MEMALLOC", PA_GFP_KERNEL | PA_GFP_MEMALLOC, 0, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_NOWAIT|__GFP_NOMEMALLOC", PA_GFP_NOWAIT | PA_GFP_NOMEMALLOC, 0, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_ATOMIC|__GFP_NOMEMALLOC", PA_GFP_ATOMIC | PA_GFP_NOMEMALLOC, 0,
         WMIN | ALLOC_KSWAPD | ALLOC_MIN_RESERVE},
        {"GFP_TRANSHUGE", PA_GFP_TRANSHUGE, 9, WMIN | ALLOC_CPUSET | ALLOC_CMA},
    };
    check_flag_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/*
 * The kernel gives ALLOC_HIGHATOMIC only inside its !__GFP_NOMEMALLOC
 * branch ("not worth trying to allocate harder for __GFP_NOMEMALLOC even if
 * it can't schedule"): a NOMEMALLOC request never creates or uses the
 * highatomic reserve.  THP's GFP_TRANSHUGE_LIGHT is such a request.
 */
START_TEST(test_nomemalloc_no_highatomic)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_PCP", "off");
    ck_assert_int_eq(pa_init(NULL), 0);
    const struct flags_case cases[] = {
        {"GFP_NOWAIT|__GFP_NOMEMALLOC", PA_GFP_NOWAIT | PA_GFP_NOMEMALLOC, 2, WMIN | ALLOC_CPUSET | ALLOC_KSWAPD},
        {"GFP_ATOMIC|__GFP_NOMEMALLOC", PA_GFP_ATOMIC | PA_GFP_NOMEMALLOC, 1,
         WMIN | ALLOC_KSWAPD | ALLOC_MIN_RESERVE},
        {"GFP_TRANSHUGE_LIGHT", PA_GFP_TRANSHUGE_LIGHT, 9, WMIN | ALLOC_CPUSET | ALLOC_CMA},
    };
    /* Behaviour first: between MIN and LOW a non-blocking NOMEMALLOC
     * order-1 request succeeds at MIN and must reserve nothing. */
    struct zone *z = zone_of(0, PA_ZONE_NORMAL);
    t_settle(PA_GFP_KERNEL);
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_uint_eq(zone_page_state(z, NR_FREE_PAGES), z->_watermark[WMARK_MIN]);
    for (int k = 0; k < 32; k++) {   /* MIN + 32: below LOW (MIN + 64), above MIN */
        l.n--;
        pa_free_pages(l.v[l.n].page, 0);
    }
    struct pa_page *p = pa_alloc_pages(PA_GFP_NOWAIT | PA_GFP_NOMEMALLOC, 1);
    ck_assert_msg(p != NULL, "NOWAIT|NOMEMALLOC order 1 failed above MIN (errno %d)", errno);
    ck_assert_msg(z->nr_reserved_highatomic == 0,
                  "a GFP_NOWAIT|__GFP_NOMEMALLOC order-1 allocation reserved %lu highatomic pages (pageblock %s)",
                  z->nr_reserved_highatomic, migratetype_names[get_pageblock_migratetype(p)]);
    pa_free_pages(p, 1);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    check_flag_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* ------------------------------------------------------------------ */
/* How deep each kind of request may go                                */
/* ------------------------------------------------------------------ */

/* One 64M zone, no pcp: every page is in the buddy or held here. */
static struct zone *setup_one_zone_exact(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_PCP", "off");
    ck_assert_int_eq(pa_init(NULL), 0);
    t_settle(PA_GFP_KERNEL);
    return zone_of(0, PA_ZONE_NORMAL);
}

START_TEST(test_reserve_depths)
{
    struct zone *z = setup_one_zone_exact();
    unsigned long min = z->_watermark[WMARK_MIN];
    ck_assert_uint_eq(min, 256);   /* sqrt(65536 KiB * 16) = 1024 KiB */
    struct t_blocks l = {0};
    char what[128];

    /* GFP_KERNEL stops at MIN exactly. */
    t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(t_nr_free(), min);

    static const struct {
        const char *name;
        pa_gfp_t gfp;
        unsigned long floor;    /* free pages left when it fails; 0 = everything */
    } steps[] = {
        {"MEMALLOC|NOMEMALLOC", PA_GFP_KERNEL | PA_GFP_MEMALLOC | PA_GFP_NOMEMALLOC, 256},
        {"GFP_NOWAIT (no __GFP_HIGH: no reserve)", PA_GFP_NOWAIT, 256},
        {"GFP_KERNEL|__GFP_HIGH", PA_GFP_KERNEL | PA_GFP_HIGH, 256 - 256 / 2},
        {"GFP_ATOMIC|__GFP_NOMEMALLOC (no NON_BLOCK)", PA_GFP_ATOMIC | PA_GFP_NOMEMALLOC, 128},
        {"GFP_ATOMIC", PA_GFP_ATOMIC, 128 - 128 / 4},
        {"GFP_ATOMIC|MEMALLOC|NOMEMALLOC", PA_GFP_ATOMIC | PA_GFP_MEMALLOC | PA_GFP_NOMEMALLOC, 96},
        {"GFP_KERNEL|__GFP_MEMALLOC", PA_GFP_KERNEL | PA_GFP_MEMALLOC, 0},
    };
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        unsigned long before = t_nr_free();
        size_t got = t_fill(&l, steps[s].gfp, 0);
        snprintf(what, sizeof(what), "%s from %lu free", steps[s].name, before);
        ck_assert_msg(errno == ENOMEM, "%s: errno %d", what, errno);
        ck_assert_msg(t_nr_free() == steps[s].floor, "%s: took %zu pages, stopped at %lu free, want %lu", what, got,
                      t_nr_free(), steps[s].floor);
    }
    ck_assert_uint_eq(zone_page_state(z, NR_FREE_PAGES), 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* __zone_watermark_ok: the high-order check and highatomic exclusion  */
/* ------------------------------------------------------------------ */

START_TEST(test_watermark_ok_high_order)
{
    struct zone *z = setup_one_zone_exact();
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL | PA_GFP_MEMALLOC, 0);
    ck_assert_uint_eq(zone_page_state(z, NR_FREE_PAGES), 0);
    /* free every odd pfn: half the zone free, not one order-1 block */
    size_t k = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (pa_page_to_pfn(l.v[i].page) & 1)
            pa_free_pages(l.v[i].page, 0);
        else
            l.v[k++] = l.v[i];
    }
    l.n = k;
    long free_pages = (long)zone_page_state(z, NR_FREE_PAGES);
    ck_assert_int_gt(free_pages, 8000);
    unsigned long low = low_wmark_pages(z);
    ck_assert_msg(__zone_watermark_ok(z, 0, low, PA_ZONE_NORMAL, 0, free_pages), "order 0 fails with %ld free",
                  free_pages);
    for (unsigned int o = 1; o <= 3; o++) {
        ck_assert_msg(!__zone_watermark_ok(z, o, low, PA_ZONE_NORMAL, 0, free_pages),
                      "order %u passes with %ld free pages but no free block above order 0", o, free_pages);
        ck_assert(!zone_watermark_ok(z, o, min_wmark_pages(z), PA_ZONE_NORMAL, ALLOC_HIGHATOMIC));
    }
    errno = 0;
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 1));
    ck_assert_int_eq(errno, ENOMEM);

    /* free one even page: exactly one order-1 block forms */
    struct pa_page *even = l.v[--l.n].page;
    unsigned long pair_pfn = pa_page_to_pfn(even);
    pa_free_pages(even, 0);
    free_pages = (long)zone_page_state(z, NR_FREE_PAGES);
    ck_assert(__zone_watermark_ok(z, 1, low, PA_ZONE_NORMAL, 0, free_pages));
    ck_assert(!__zone_watermark_ok(z, 2, low, PA_ZONE_NORMAL, 0, free_pages));
    /* but not below the watermark: the free-pages test comes first */
    ck_assert(!__zone_watermark_ok(z, 1, (unsigned long)free_pages, PA_ZONE_NORMAL, 0, free_pages));

    /* the same block set aside as highatomic: only ALLOC_HIGHATOMIC or
     * ALLOC_OOM may count it */
    reserve_highatomic_pageblock(pfn_to_page(pair_pfn), z);
    ck_assert_uint_eq(z->nr_reserved_highatomic, pageblock_nr_pages);
    ck_assert_int_eq(get_pfnblock_migratetype(pair_pfn), MIGRATE_HIGHATOMIC);
    free_pages = (long)zone_page_state(z, NR_FREE_PAGES);
    ck_assert_msg(!__zone_watermark_ok(z, 1, low, PA_ZONE_NORMAL, 0, free_pages),
                  "an order-1 request without ALLOC_HIGHATOMIC counts the highatomic block");
    ck_assert(__zone_watermark_ok(z, 1, low, PA_ZONE_NORMAL, ALLOC_HIGHATOMIC, free_pages));
    ck_assert(__zone_watermark_ok(z, 1, low, PA_ZONE_NORMAL, ALLOC_OOM, free_pages));
    /* and the reserve is not free memory for ordinary requests */
    unsigned long mark = (unsigned long)free_pages - pageblock_nr_pages;
    ck_assert(!__zone_watermark_ok(z, 0, mark, PA_ZONE_NORMAL, 0, free_pages));
    ck_assert(__zone_watermark_ok(z, 0, mark, PA_ZONE_NORMAL, ALLOC_NON_BLOCK, free_pages));
    ck_assert(unreserve_highatomic_pageblock(z, MIGRATE_UNMOVABLE, true));
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The highatomic reserve                                              */
/* ------------------------------------------------------------------ */

/* The "Number of blocks type" row of zone `zone` for column `type`. */
static long pagetypeinfo_blocks(const char *zone, const char *type)
{
    char *text = t_show(pa_show_pagetypeinfo);
    long result = -1;
    char *sec = strstr(text, "Number of blocks type");
    char *eol = sec ? strchr(sec, '\n') : NULL;
    if (eol) {
        char *header = strndup(sec + strlen("Number of blocks type"),
                               (size_t)(eol - sec) - strlen("Number of blocks type"));
        int col = -1, i = 0;
        for (char *save = NULL, *w = strtok_r(header, " \t", &save); w; w = strtok_r(NULL, " \t", &save), i++)
            if (strcmp(w, type) == 0)
                col = i;
        free(header);
        char needle[64];
        snprintf(needle, sizeof(needle), "zone %8s ", zone);
        char *row = col >= 0 ? strstr(eol, needle) : NULL;
        if (row) {
            char *p = row + strlen(needle);
            for (int c = 0; c <= col; c++)
                result = strtol(p, &p, 10);
        }
    }
    free(text);
    return result;
}

/* Free pages on the zone's MIGRATE_HIGHATOMIC lists. */
static unsigned long highatomic_free(struct zone *z)
{
    unsigned long n = 0;
    spin_lock(&z->lock);
    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
        struct list_head *pos;
        list_for_each(pos, &z->free_area[o].free_list[MIGRATE_HIGHATOMIC])
            n += 1UL << o;
    }
    spin_unlock(&z->lock);
    return n;
}

START_TEST(test_highatomic_reserve)
{
    struct zone *z = setup_one_zone_exact();
    ck_assert_int_eq(pagetypeinfo_blocks("Normal", "HighAtomic"), 0);
    struct t_blocks l = {0};
    t_fill(&l, PA_GFP_KERNEL, 0);   /* down to MIN: below LOW */
    ck_assert_uint_eq(z->nr_reserved_highatomic, 0);

    /* order 0 never reserves */
    struct pa_page *a0 = pa_alloc_pages(PA_GFP_ATOMIC, 0);
    ck_assert_ptr_nonnull(a0);
    ck_assert_uint_eq(z->nr_reserved_highatomic, 0);

    /* a non-blocking order-2 request in the slow path sets its block aside */
    struct pa_page *a2 = pa_alloc_pages(PA_GFP_ATOMIC, 2);
    ck_assert_msg(a2 != NULL, "GFP_ATOMIC order 2 failed (errno %d)", errno);
    ck_assert_msg(z->nr_reserved_highatomic == pageblock_nr_pages, "nr_reserved_highatomic %lu, want %lu",
                  z->nr_reserved_highatomic, pageblock_nr_pages);
    unsigned long ha_block = pa_page_to_pfn(a2) >> pageblock_order;
    ck_assert_int_eq(get_pageblock_migratetype(a2), MIGRATE_HIGHATOMIC);
    ck_assert_int_eq(pagetypeinfo_blocks("Normal", "HighAtomic"), 1);
    unsigned long ha_free = highatomic_free(z);
    ck_assert_msg(ha_free > 0, "the reserved block has no free pages: the next checks test nothing");

    /* Room for ordinary requests again (from other blocks): they never
     * take from the reserve, and count it as unusable. */
    size_t k = 0, given_back = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (given_back < 2000 && (pa_page_to_pfn(l.v[i].page) >> pageblock_order) != ha_block) {
            pa_free_pages(l.v[i].page, 0);
            given_back++;
        } else {
            l.v[k++] = l.v[i];
        }
    }
    l.n = k;
    size_t before = l.n;
    /* NORETRY: a request that gives up on reclaim releases the reserve
     * first (should_reclaim_retry, as the kernel's), one that stops after
     * one round keeps it */
    t_fill(&l, PA_GFP_KERNEL | PA_GFP_NORETRY | PA_GFP_NOWARN, 0);
    ck_assert_uint_ge(l.n - before, 1000);
    for (size_t i = before; i < l.n; i++)
        ck_assert_msg(get_pageblock_migratetype(l.v[i].page) != MIGRATE_HIGHATOMIC,
                      "GFP_KERNEL page pfn %#lx came from the highatomic reserve", pa_page_to_pfn(l.v[i].page));
    ck_assert_uint_eq(highatomic_free(z), ha_free);
    /* the reserve is not usable free memory: KERNEL stops at MIN plus the
     * reserve (nr_reserved_highatomic, or its free part in Linux >= 6.12) */
    ck_assert_msg(t_nr_free() >= z->_watermark[WMARK_MIN] + ha_free &&
                      t_nr_free() <= z->_watermark[WMARK_MIN] + pageblock_nr_pages,
                  "GFP_KERNEL stopped at %lu free; want MIN %lu plus the reserve (%lu free of %lu reserved)",
                  t_nr_free(), z->_watermark[WMARK_MIN], ha_free, pageblock_nr_pages);

    /* high-order atomic requests are served from it first */
    struct pa_page *a1 = pa_alloc_pages(PA_GFP_ATOMIC, 1);
    ck_assert_ptr_nonnull(a1);
    ck_assert_msg(get_pageblock_migratetype(a1) == MIGRATE_HIGHATOMIC,
                  "GFP_ATOMIC order 1 came from a %s block, not the reserve",
                  migratetype_names[get_pageblock_migratetype(a1)]);
    ck_assert_uint_eq(z->nr_reserved_highatomic, pageblock_nr_pages);   /* same block */
    ck_assert_int_eq(pa_check_invariants(), 0);

    /* unreserve: the last block only when forced */
    ck_assert(!unreserve_highatomic_pageblock(z, MIGRATE_UNMOVABLE, false));
    ck_assert_uint_eq(z->nr_reserved_highatomic, pageblock_nr_pages);
    ck_assert(unreserve_highatomic_pageblock(z, MIGRATE_UNMOVABLE, true));
    ck_assert_uint_eq(z->nr_reserved_highatomic, 0);
    ck_assert_int_eq(get_pageblock_migratetype(a2), MIGRATE_UNMOVABLE);
    ck_assert_uint_eq(highatomic_free(z), 0);
    ck_assert_int_eq(pagetypeinfo_blocks("Normal", "HighAtomic"), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* and ordinary requests may use those pages now */
    size_t after = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_uint_ge(after, ha_free - 2);

    pa_free_pages(a0, 0);
    pa_free_pages(a1, 1);
    pa_free_pages(a2, 2);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Watermark boost                                                     */
/* ------------------------------------------------------------------ */

/*
 * A zone whose free memory is all movable blocks of order 8: fill it with
 * movable order-8 blocks, then give back the lower half of every pageblock
 * (their buddies stay allocated, so nothing merges to pageblock order).
 * The next unmovable allocation must fall back below pageblock order and
 * claim a block: the case that boosts the watermarks.
 */
static void fragment_movable(struct t_blocks *l)
{
    t_settle(PA_GFP_KERNEL | PA_GFP_MOVABLE);
    /* MEMALLOC: every block, none left over to merge with a freed half */
    t_fill(l, PA_GFP_KERNEL | PA_GFP_MOVABLE | PA_GFP_MEMALLOC, 8);
    ck_assert_uint_eq(t_nr_free(), 0);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if ((pa_page_to_pfn(l->v[i].page) & (pageblock_nr_pages - 1)) == 0)
            pa_free_pages(l->v[i].page, 8);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* kswapd clears boosts once balanced: let it finish what earlier
 * allocations asked of it before a test watches a boost */
static void wait_kswapd_idle(void)
{
    for (int i = 0; i < 300 && !kswapd_idle(0); i++)
        usleep(10000);
    ck_assert_msg(kswapd_idle(0), "kswapd still busy after 3 s");
}

START_TEST(test_boost_on_fallback)
{
    /* no PA_GFP_KSWAPD_RECLAIM: kswapd, once balanced, clears the boost
     * (its job); this test watches the boost itself build up */
    const pa_gfp_t kernel_nokswapd = PA_GFP_KERNEL & ~PA_GFP_KSWAPD_RECLAIM;
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_PCP", "off");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct zone *z = zone_of(0, PA_ZONE_NORMAL);
    struct t_blocks l = {0};
    fragment_movable(&l);
    ck_assert_uint_eq(z->watermark_boost, 0);
    ck_assert_uint_gt(t_nr_free(), 4000);

    wait_kswapd_idle();
    struct pa_page *u = pa_alloc_pages(kernel_nokswapd, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(get_pageblock_migratetype(u), MIGRATE_UNMOVABLE);
    unsigned long high = z->_watermark[WMARK_HIGH];
    unsigned long max_boost = PA_MAX(pageblock_nr_pages, high * 15000 / 10000);
    ck_assert_msg(z->watermark_boost == PA_MIN(pageblock_nr_pages, max_boost),
                  "boost %lu after one claiming fallback, want a pageblock (%lu)", z->watermark_boost,
                  pageblock_nr_pages);
    assert_zoneinfo_consistent();   /* "boost 512", and min/low/high/promo raised by it */

    /* more fallbacks: the boost is capped at boost_factor/10000 of HIGH */
    struct t_blocks u_l = {0};
    for (int i = 0; i < 1200; i++)
        t_blocks_push(&u_l, pa_alloc_pages(kernel_nokswapd, 0), 0);
    ck_assert_msg(z->watermark_boost == max_boost, "boost %lu after several fallbacks, want max(%lu, HIGH %lu * 1.5) = %lu",
                  z->watermark_boost, pageblock_nr_pages, high, max_boost);
    assert_zoneinfo_consistent();

    /* The boost raises every watermark: GFP_KERNEL now stops at MIN plus
     * the boost; an order-0 __GFP_HIGH request still reaches half the
     * real MIN (zone_watermark_fast ignores the boost for it). */
    unsigned long min = z->_watermark[WMARK_MIN];
    t_fill(&u_l, kernel_nokswapd, 0);
    ck_assert_uint_eq(z->watermark_boost, max_boost);
    ck_assert_msg(t_nr_free() == min + max_boost, "GFP_KERNEL in a boosted zone stopped at %lu free, want MIN %lu + boost %lu",
                  t_nr_free(), min, max_boost);
    t_fill(&u_l, kernel_nokswapd | PA_GFP_HIGH, 0);
    ck_assert_msg(t_nr_free() == min - min / 2, "__GFP_HIGH in a boosted zone stopped at %lu free, want %lu",
                  t_nr_free(), min - min / 2);

    t_blocks_free_all(&u_l);
    t_blocks_release(&u_l);
    pa_free_pages(u, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

START_TEST(test_boost_factor_zero)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_PCP", "off");
    t_setenv("PAGEALLOC_WATERMARK_BOOST_FACTOR", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct zone *z = zone_of(0, PA_ZONE_NORMAL);
    struct t_blocks l = {0}, u_l = {0};
    fragment_movable(&l);
    for (int i = 0; i < 1200; i++)
        t_blocks_push(&u_l, pa_alloc_pages(PA_GFP_KERNEL, 0), 0);
    ck_assert_int_eq(get_pageblock_migratetype(u_l.v[0].page), MIGRATE_UNMOVABLE);
    ck_assert_msg(z->watermark_boost == 0, "PAGEALLOC_WATERMARK_BOOST_FACTOR=0 but boost %lu", z->watermark_boost);
    assert_zoneinfo_consistent();
    t_blocks_free_all(&u_l);
    t_blocks_free_all(&l);
    t_blocks_release(&u_l);
    t_blocks_release(&l);
}
END_TEST

/* The background thread drops the boost once the zone is above HIGH plus
 * the boost -- with the per-CPU lists on, and off. */
START_TEST(test_boost_cleared_when_balanced)
{
    static const char *const pcp[] = {"cpu", "off"};
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_PCP", pcp[_i]);
    ck_assert_int_eq(pa_init(NULL), 0);
    struct zone *z = zone_of(0, PA_ZONE_NORMAL);
    struct t_blocks l = {0};
    fragment_movable(&l);
    pa_drain_all_pages();
    wait_kswapd_idle();
    /* the claiming fallback without waking kswapd, so the boost is seen */
    struct pa_page *u = pa_alloc_pages(PA_GFP_KERNEL & ~PA_GFP_KSWAPD_RECLAIM, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_msg(z->watermark_boost > 0, "PAGEALLOC_PCP=%s: no boost after a claiming fallback", pcp[_i]);
    /* everything back: far above HIGH + boost */
    pa_free_pages(u, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_uint_gt(zone_page_state(z, NR_FREE_PAGES), high_wmark_pages(z) + 1000);
    /* an allocation that may wake kswapd: the zone is boosted, so it does,
     * and kswapd clears the boost (the node is balanced) */
    struct pa_page *w = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(w);
    pa_free_pages(w, 0);
    double t0 = t_seconds_now(), waited = -1;
    while (t_seconds_now() - t0 < 3.5) {
        if (__atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED) == 0) {
            waited = t_seconds_now() - t0;
            break;
        }
        usleep(20000);
    }
    ck_assert_msg(waited >= 0,
                  "PAGEALLOC_PCP=%s: boost still %lu after 3.5 s with %lu pages free (HIGH %lu + boost): nothing "
                  "clears it",
                  pcp[_i], z->watermark_boost, zone_page_state(z, NR_FREE_PAGES), z->_watermark[WMARK_HIGH]);
    assert_zoneinfo_consistent();
}
END_TEST

static Suite *watermark_suite(void)
{
    Suite *s = suite_create("watermark");
    TCase *tc = t_tcase(s, "formulas", 30);
    tcase_add_loop_test(tc, test_min_free_kbytes_default, 0, (int)(sizeof(mfk_cfgs) / sizeof(mfk_cfgs[0])));
    tcase_add_loop_test(tc, test_zone_watermarks, 0, (int)(sizeof(wm_cfgs) / sizeof(wm_cfgs[0])));
    tcase_add_test(tc, test_lowmem_reserve_ratios);
    tc = t_tcase(s, "alloc_flags", 30);
    tcase_add_test(tc, test_gfp_to_alloc_flags);
    tcase_add_test(tc, test_nomemalloc_no_highatomic);
    tcase_add_test(tc, test_reserve_depths);
    tcase_add_test(tc, test_lowmem_reserve_protects_dma);
    tcase_add_test(tc, test_watermark_ok_high_order);
    tcase_add_test(tc, test_highatomic_reserve);
    tc = t_tcase(s, "boost", 30);
    tcase_add_test(tc, test_boost_on_fallback);
    tcase_add_test(tc, test_boost_factor_zero);
    tcase_add_loop_test(tc, test_boost_cleared_when_balanced, 0, 2);
    return s;
}

int main(void)
{
    return t_run_suite(watermark_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * Nodes and zones (src/node.c, src/mm_init.c): gfp_zone() and the zone each request lands
 * in, zonelists, NUMA emulation, node distances, THISNODE and fallback with
 * the numa_* counters, nodemask parsing, the CPU -> node map.
 */
#include "pa_test.h"

#include <sched.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* gfp_zone: the kernel's GFP_ZONE_TABLE / GFP_ZONE_BAD                 */
/* ------------------------------------------------------------------ */

START_TEST(test_gfp_zone_table)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    static const struct {
        pa_gfp_t gfp;
        int zone;
    } table[] = {
        {0, PA_ZONE_NORMAL},
        {PA_GFP_DMA, PA_ZONE_DMA},
        {PA_GFP_HIGHMEM, PA_ZONE_NORMAL},
        {PA_GFP_DMA32, PA_ZONE_DMA32},
        {PA_GFP_MOVABLE, PA_ZONE_NORMAL},
        {PA_GFP_MOVABLE | PA_GFP_DMA, PA_ZONE_DMA},
        {PA_GFP_MOVABLE | PA_GFP_HIGHMEM, PA_ZONE_MOVABLE},
        {PA_GFP_MOVABLE | PA_GFP_DMA32, PA_ZONE_DMA32},
        {PA_GFP_KERNEL, PA_ZONE_NORMAL},
        {PA_GFP_HIGHUSER, PA_ZONE_NORMAL},
        {PA_GFP_HIGHUSER_MOVABLE, PA_ZONE_MOVABLE},
        {PA_GFP_DMA | PA_GFP_DMA32, -1},
        {PA_GFP_DMA | PA_GFP_HIGHMEM, -1},
        {PA_GFP_DMA32 | PA_GFP_HIGHMEM, -1},
        {PA_GFP_DMA | PA_GFP_DMA32 | PA_GFP_HIGHMEM, -1},
        {PA_GFP_MOVABLE | PA_GFP_DMA | PA_GFP_HIGHMEM, -1},
        {PA_GFP_MOVABLE | PA_GFP_DMA | PA_GFP_DMA32, -1},
        {PA_GFP_MOVABLE | PA_GFP_DMA32 | PA_GFP_HIGHMEM, -1},
        {PA_GFP_MOVABLE | PA_GFP_DMA | PA_GFP_DMA32 | PA_GFP_HIGHMEM, -1},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        ck_assert_msg(gfp_zone(table[i].gfp) == table[i].zone, "gfp_zone(%#x) = %d, want %d",
                      table[i].gfp, gfp_zone(table[i].gfp), table[i].zone);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Where each request lands                                            */
/* ------------------------------------------------------------------ */

static enum pa_zone_type zone_of(pa_gfp_t gfp)
{
    struct pa_page *p = pa_alloc_pages(gfp, 0);
    ck_assert_msg(p != NULL, "gfp %#x: NULL (errno %d)", gfp, errno);
    enum pa_zone_type z = pa_page_zonenum(p);
    pa_free_pages(p, 0);
    return z;
}

START_TEST(test_zone_choice_with_movablecore)
{
    t_env_reset();
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(zone_of(PA_GFP_DMA), PA_ZONE_DMA);
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL), PA_ZONE_NORMAL);
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL | PA_GFP_MOVABLE), PA_ZONE_NORMAL);
    ck_assert_int_eq(zone_of(PA_GFP_HIGHUSER), PA_ZONE_NORMAL);
    ck_assert_int_eq(zone_of(PA_GFP_HIGHUSER_MOVABLE), PA_ZONE_MOVABLE);
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL | PA_GFP_MOVABLE | PA_GFP_DMA), PA_ZONE_DMA);
    /* No DMA32 zone by default: the kernel's table falls back to DMA. */
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL | PA_GFP_DMA32), PA_ZONE_DMA);

    /* Zone sizes: 16M DMA carved out of node 0, 25% of 64M movable. */
    pg_data_t *pgdat = NODE_DATA(0);
    ck_assert_uint_eq(pgdat->node_zones[PA_ZONE_DMA].spanned_pages, 16UL << 8);
    ck_assert_uint_eq(pgdat->node_zones[PA_ZONE_MOVABLE].spanned_pages, 16UL << 8);
    ck_assert_uint_eq(pgdat->node_zones[PA_ZONE_NORMAL].spanned_pages, 32UL << 8);
    ck_assert_uint_eq(pgdat->node_zones[PA_ZONE_DMA32].spanned_pages, 0);
}
END_TEST

/* Reliable (mirrored) memory never comes from ZONE_MOVABLE, whatever the
 * order or path (per-CPU lists for small orders, the buddy above). */
START_TEST(test_reliable_never_movable)
{
    t_env_reset();
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    /* Warm the per-CPU lists of ZONE_MOVABLE first. */
    ck_assert_int_eq(zone_of(PA_GFP_HIGHUSER_MOVABLE), PA_ZONE_MOVABLE);
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_RELIABLE, order);
        ck_assert_msg(p != NULL, "order %u: NULL (errno %d)", order, errno);
        enum pa_zone_type zt = pa_page_zonenum(p);
        pa_free_pages(p, order);
        ck_assert_msg(zt != PA_ZONE_MOVABLE,
                      "HIGHUSER_MOVABLE|RELIABLE order %u came from ZONE_MOVABLE", order);
        ck_assert_int_eq(zt, PA_ZONE_NORMAL);
    }
}
END_TEST

/* Percentages in PAGEALLOC_MOVABLECORE are of each node. */
START_TEST(test_movablecore_per_node)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "4M");
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    for (int n = 0; n < 2; n++) {
        pg_data_t *pgdat = NODE_DATA(n);
        ck_assert_msg(pgdat->node_zones[PA_ZONE_MOVABLE].spanned_pages == 2048,
                      "node %d: Movable zone of %lu pages, want 2048 (25%% of 32M)", n,
                      pgdat->node_zones[PA_ZONE_MOVABLE].spanned_pages);
        struct pa_page *p =
            pa_alloc_pages_node(n, PA_GFP_HIGHUSER_MOVABLE | PA_GFP_THISNODE, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), n);
        ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_MOVABLE);
        pa_free_pages(p, 0);
    }
    /* The DMA zone is node 0's alone, carved out of its 32M. */
    ck_assert_uint_eq(NODE_DATA(0)->node_zones[PA_ZONE_DMA].spanned_pages, 1024);
    ck_assert_uint_eq(NODE_DATA(1)->node_zones[PA_ZONE_DMA].spanned_pages, 0);
    ck_assert_uint_eq(NODE_DATA(0)->node_zones[PA_ZONE_NORMAL].spanned_pages, 8192 - 1024 - 2048);
    ck_assert_uint_eq(NODE_DATA(1)->node_zones[PA_ZONE_NORMAL].spanned_pages, 8192 - 2048);
}
END_TEST

START_TEST(test_zone_choice_without_movablecore)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(zone_of(PA_GFP_HIGHUSER_MOVABLE), PA_ZONE_NORMAL);
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL), PA_ZONE_NORMAL);
    ck_assert_int_eq(zone_of(PA_GFP_DMA), PA_ZONE_DMA);
    ck_assert(!populated_zone(&NODE_DATA(0)->node_zones[PA_ZONE_MOVABLE]));
}
END_TEST

START_TEST(test_zone_dma32)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA32_SIZE", "64M");
    ck_assert_int_eq(pa_init(NULL), 0);
    for (unsigned int order = 0; order <= 4; order += 4) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_DMA32, order);
        ck_assert_msg(p != NULL, "DMA32 order %u: NULL (errno %d)", order, errno);
        ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_DMA32);
        uintptr_t a = (uintptr_t)pa_page_address(p);
        ck_assert_msg(a + (T_PAGE << order) <= (1ULL << 32), "DMA32 page at %#lx, above 4 GiB",
                      (unsigned long)a);
        ck_assert_uint_eq(a % (T_PAGE << order), 0);
        memset((void *)a, 1, T_PAGE << order);
        ck_assert_ptr_eq(pa_virt_to_page((void *)a), p);
        ck_assert_ptr_eq(pa_pfn_to_page(pa_page_to_pfn(p)), p);
        pa_free_pages(p, order);
    }
    /* The DMA zone is still preferred for PA_GFP_DMA; KERNEL stays NORMAL. */
    ck_assert_int_eq(zone_of(PA_GFP_DMA), PA_ZONE_DMA);
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL), PA_ZONE_NORMAL);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Exhausting ZONE_DMA does not let a DMA request escape into NORMAL. */
START_TEST(test_dma_zone_exhaustion_stays_in_zone)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL | PA_GFP_DMA, 0);
    ck_assert_msg(n > 3000 && n <= 4096, "%zu pages from a 16 MiB DMA zone", n);
    for (size_t i = 0; i < l.n; i++)
        ck_assert_int_eq(pa_page_zonenum(l.v[i].page), PA_ZONE_DMA);
    /* KERNEL allocations still work: they come from NORMAL. */
    ck_assert_int_eq(zone_of(PA_GFP_KERNEL), PA_ZONE_NORMAL);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* NUMA emulation                                                      */
/* ------------------------------------------------------------------ */

static void setup_numa4(const char *node_size)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "4");
    t_setenv("PAGEALLOC_NODE_SIZE", node_size);
    ck_assert_int_eq(pa_init(NULL), 0);
}

START_TEST(test_numa_emulation_distances)
{
    setup_numa4("16M");
    ck_assert_int_eq(pa_num_nodes(), 4);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            ck_assert_msg(pa_node_distance(i, j) == (i == j ? 10 : 20), "distance(%d,%d) = %d", i,
                          j, pa_node_distance(i, j));
    int bad[][2] = {{0, 99}, {99, 0}, {-1, 0}, {0, 4}, {4, 4}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        errno = 0;
        ck_assert_int_eq(pa_node_distance(bad[k][0], bad[k][1]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
}
END_TEST

START_TEST(test_thisnode_each_node)
{
    setup_numa4("64M");
    for (int n = 0; n < 4; n++) {
        for (unsigned int order = 0; order <= PA_MAX_ORDER; order += 5) {
            struct pa_page *p = pa_alloc_pages_node(n, PA_GFP_KERNEL | PA_GFP_THISNODE, order);
            ck_assert_msg(p != NULL, "node %d order %u: NULL (errno %d)", n, order, errno);
            ck_assert_int_eq(pa_page_to_nid(p), n);
            memset(pa_page_address(p), n, T_PAGE << order);
            pa_free_pages(p, order);
        }
        /* Without THISNODE the preferred node is still used when it has memory. */
        struct pa_page *p = pa_alloc_pages_node(n, PA_GFP_KERNEL, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), n);
        pa_free_pages(p, 0);
    }
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_thisnode_exhaustion_and_fallback)
{
    setup_numa4("16M");
    struct t_blocks l = {0};
    size_t n = 0;
    for (;;) {
        errno = 0;
        struct pa_page *p =
            pa_alloc_pages_node(1, PA_GFP_KERNEL | PA_GFP_THISNODE | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        ck_assert_int_eq(pa_page_to_nid(p), 1);
        t_blocks_push(&l, p, 0);
        n++;
    }
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_msg(n > 3000 && n <= 4096, "%zu pages from a 16 MiB node", n);

    unsigned long miss0 = t_vmstat("numa_miss"), foreign0 = t_vmstat("numa_foreign");
    unsigned long hit0 = t_vmstat("numa_hit");
    struct pa_page *p = pa_alloc_pages_node(1, PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    ck_assert_msg(p != NULL, "no fallback to another node (errno %d)", errno);
    ck_assert_int_ne(pa_page_to_nid(p), 1);
    ck_assert_msg(t_vmstat("numa_miss") > miss0, "numa_miss did not count the fallback");
    ck_assert_msg(t_vmstat("numa_foreign") > foreign0, "numa_foreign did not count the fallback");
    ck_assert_uint_eq(t_vmstat("numa_hit"), hit0);
    pa_free_pages(p, 0);

    /* numa_hit counts allocations on the requested node. */
    hit0 = t_vmstat("numa_hit");
    unsigned long miss1 = t_vmstat("numa_miss");
    for (int k = 0; k < 10; k++) {
        struct pa_page *q = pa_alloc_pages_node(2, PA_GFP_KERNEL, 0);
        ck_assert_ptr_nonnull(q);
        ck_assert_int_eq(pa_page_to_nid(q), 2);
        pa_free_pages(q, 0);
    }
    ck_assert_uint_eq(t_vmstat("numa_hit"), hit0 + 10);
    ck_assert_uint_eq(t_vmstat("numa_miss"), miss1);

    t_blocks_free_all(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_release(&l);
}
END_TEST

START_TEST(test_zonelists)
{
    setup_numa4("16M");
    for (int n = 0; n < 4; n++) {
        struct zonelist *zl = node_zonelist(n, PA_GFP_KERNEL);
        ck_assert_ptr_nonnull(zl->_zonerefs[0].zone);
        ck_assert_int_eq(zl->_zonerefs[0].zone->node, n);
        bool seen[4] = {false};
        for (struct zoneref *z = zl->_zonerefs; z->zone; z++) {
            ck_assert(populated_zone(z->zone));
            ck_assert_int_eq(z->zone_idx, (int)z->zone->zid);
            seen[z->zone->node] = true;
        }
        for (int m = 0; m < 4; m++)
            ck_assert_msg(seen[m], "node %d's fallback zonelist misses node %d", n, m);
        /* Own node first: every local entry precedes every remote one. */
        bool remote = false;
        for (struct zoneref *z = zl->_zonerefs; z->zone; z++) {
            if (z->zone->node != n)
                remote = true;
            else
                ck_assert_msg(!remote, "node %d: a local zone after a remote one", n);
        }
        zl = node_zonelist(n, PA_GFP_KERNEL | PA_GFP_THISNODE);
        ck_assert_ptr_nonnull(zl->_zonerefs[0].zone);
        for (struct zoneref *z = zl->_zonerefs; z->zone; z++)
            ck_assert_int_eq(z->zone->node, n);
    }
}
END_TEST

static void assert_mask(const pa_nodemask_t *m, unsigned long want_bits)
{
    for (int i = 0; i < PA_MAX_NUMNODES; i++) {
        bool want = i < 64 && ((want_bits >> i) & 1);
        ck_assert_msg(node_isset(i, m) == want, "node %d %s", i, want ? "missing" : "set");
    }
}

START_TEST(test_nodemask_parse)
{
    setup_numa4("16M");
    pa_nodemask_t m;
    memset(&m, 0xff, sizeof(m));
    ck_assert_int_eq(pa_nodemask_parse("all", &m), 0);
    assert_mask(&m, 0xf);
    ck_assert_int_eq(pa_nodemask_parse("1-2", &m), 0);
    assert_mask(&m, 0x6);
    ck_assert_int_eq(pa_nodemask_parse("0,3", &m), 0);
    assert_mask(&m, 0x9);
    ck_assert_int_eq(pa_nodemask_parse("!0", &m), 0);
    assert_mask(&m, 0xe);

    const char *bad[] = {"0-2,5", "x", "4", "1-", "-1", "0-99", "all,x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pa_nodemask_t before;
        memset(&m, 0x5a, sizeof(m));
        before = m;
        errno = 0;
        ck_assert_msg(pa_nodemask_parse(bad[i], &m) == -1, "\"%s\" accepted", bad[i]);
        ck_assert_msg(errno == EINVAL, "\"%s\": errno %d", bad[i], errno);
        ck_assert_msg(memcmp(&m, &before, sizeof(m)) == 0, "\"%s\" changed the mask", bad[i]);
    }
    errno = 0;
    ck_assert_int_eq(pa_nodemask_parse(NULL, &m), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_nodemask_parse("all", NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_numa_node_id_follows_cpu)
{
    setup_numa4("16M");
    cpu_set_t allowed;
    ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    int tried = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && tried < 8; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
        ck_assert_int_eq(sched_getcpu(), cpu);
        ck_assert_msg(pa_numa_node_id() == cpu % 4, "cpu %d: node %d, want %d", cpu,
                      pa_numa_node_id(), cpu % 4);
        /* The default policy allocates on the local node. */
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), cpu % 4);
        pa_free_pages(p, 0);
        tried++;
    }
    ck_assert_int_gt(tried, 0);
    sched_setaffinity(0, sizeof(allowed), &allowed);
}
END_TEST

/* Placement by policy holds on every path, the per-CPU fast path included:
 * the process default from PAGEALLOC_POLICY, then the thread's own. */
START_TEST(test_policy_places_pages)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "4");
    t_setenv("PAGEALLOC_NODE_SIZE", "16M");
    t_setenv("PAGEALLOC_POLICY", "bind=2");
    ck_assert_int_eq(pa_init(NULL), 0);
    for (int k = 0; k < 40; k++) {
        unsigned int order = (unsigned int)(k % 5);
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(p);
        int nid = pa_page_to_nid(p);
        pa_free_pages(p, order);
        ck_assert_msg(nid == 2, "bind=2: order %u page on node %d", order, nid);
    }
    pa_nodemask_t m;
    ck_assert_int_eq(pa_nodemask_parse("3", &m), 0);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &m), 0);
    for (int k = 0; k < 40; k++) {
        unsigned int order = (unsigned int)(k % 5);
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(p);
        int nid = pa_page_to_nid(p);
        pa_free_pages(p, order);
        ck_assert_msg(nid == 3, "thread bind to 3: order %u page on node %d", order, nid);
    }
}
END_TEST

START_TEST(test_no_emulation_single_node)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_ge(pa_num_nodes(), 1);
    ck_assert_int_eq(pa_node_distance(0, 0), 10);
    int n = pa_numa_node_id();
    ck_assert_int_ge(n, 0);
    ck_assert_int_lt(n, pa_num_nodes());
    pa_nodemask_t m;
    ck_assert_int_eq(pa_nodemask_parse("all", &m), 0);
    for (int i = 0; i < PA_MAX_NUMNODES; i++)
        ck_assert_int_eq(node_isset(i, &m), i < pa_num_nodes());
}
END_TEST

static Suite *node_suite(void)
{
    Suite *s = suite_create("node");
    TCase *tc = t_tcase(s, "zones", 60);
    tcase_add_test(tc, test_gfp_zone_table);
    tcase_add_test(tc, test_zone_choice_with_movablecore);
    tcase_add_test(tc, test_reliable_never_movable);
    tcase_add_test(tc, test_movablecore_per_node);
    tcase_add_test(tc, test_zone_choice_without_movablecore);
    tcase_add_test(tc, test_zone_dma32);
    tcase_add_test(tc, test_dma_zone_exhaustion_stays_in_zone);
    tc = t_tcase(s, "numa", 120);
    tcase_add_test(tc, test_numa_emulation_distances);
    tcase_add_test(tc, test_thisnode_each_node);
    tcase_add_test(tc, test_thisnode_exhaustion_and_fallback);
    tcase_add_test(tc, test_zonelists);
    tcase_add_test(tc, test_nodemask_parse);
    tcase_add_test(tc, test_numa_node_id_follows_cpu);
    tcase_add_test(tc, test_policy_places_pages);
    tcase_add_test(tc, test_no_emulation_single_node);
    return s;
}

int main(void)
{
    return t_run_suite(node_suite());
}

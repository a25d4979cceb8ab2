/* SPDX-License-Identifier: MIT */
/*
 * Memory policies (src/mempolicy.c) on emulated nodes: setting and reading
 * every mode with good and bad masks, where each mode places pages (BIND,
 * PREFERRED with fallback by distance, PREFERRED_MANY, INTERLEAVE per
 * thread, WEIGHTED_INTERLEAVE, LOCAL), what ignores the policy (THISNODE,
 * pa_alloc_pages_node), numactl's words and PAGEALLOC_POLICY, mems_allowed
 * with hardwall and softwall requests, CDM nodes, PA_GFP_RELIABLE, and the
 * NUMA counters as the kernel's zone_statistics() keeps them.
 *
 * Under emulation CPU c belongs to node c mod N; tests that depend on the
 * local node pin the calling thread first.
 */
#include "pa_test.h"

#include <pthread.h>
#include <sched.h>

#include "internal.h"

/* N emulated nodes of `size`, no DMA zone unless dma is given. */
static void setup_nodes_boost(int n, const char *size, const char *dma, const char *boost)
{
    char buf[16];
    t_env_reset();
    if (boost)
        t_setenv("PAGEALLOC_WATERMARK_BOOST_FACTOR", boost);
    snprintf(buf, sizeof(buf), "%d", n);
    t_setenv("PAGEALLOC_NUMA_EMULATE", buf);
    t_setenv("PAGEALLOC_NODE_SIZE", size);
    t_setenv("PAGEALLOC_DMA_SIZE", dma ? dma : "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(pa_num_nodes(), n);
}

static void setup_nodes(int n, const char *size, const char *dma)
{
    setup_nodes_boost(n, size, dma, NULL);
}

static pa_nodemask_t mask_of(unsigned long bits)
{
    pa_nodemask_t m;
    memset(&m, 0, sizeof(m));
    m.bits[0] = bits;
    return m;
}

static unsigned long bits_of(const pa_nodemask_t *m)
{
    for (size_t i = 1; i < sizeof(m->bits) / sizeof(m->bits[0]); i++)
        if (m->bits[i])
            return ~0UL;   /* something far out: never expected */
    return m->bits[0];
}

static const char *mode_name(int mode)
{
    static const char *const names[] = {"DEFAULT", "PREFERRED", "BIND", "INTERLEAVE",
                                        "LOCAL", "PREFERRED_MANY", "WEIGHTED_INTERLEAVE"};
    return mode >= 0 && mode < PA_MPOL_MAX ? names[mode] : "?";
}

static void assert_policy(int want_mode, unsigned long want_bits, const char *when)
{
    int mode = -1;
    pa_nodemask_t m;
    memset(&m, 0x5a, sizeof(m));
    ck_assert_int_eq(pa_get_mempolicy(&mode, &m), 0);
    ck_assert_msg(mode == want_mode && bits_of(&m) == want_bits, "%s: policy %s %#lx, want %s %#lx", when,
                  mode_name(mode), bits_of(&m), mode_name(want_mode), want_bits);
}

/* Allocate with gfp/order, return the node, free it again. */
static int nid_of_alloc(pa_gfp_t gfp, unsigned int order)
{
    struct pa_page *p = pa_alloc_pages(gfp, order);
    ck_assert_msg(p != NULL, "order-%u allocation failed (errno %d)", order, errno);
    int nid = pa_page_to_nid(p);
    pa_free_pages(p, order);
    return nid;
}

/* Pin the calling thread to cpu and check that it runs there. */
static bool pin_self(int cpu)
{
    return t_pin_thread(pthread_self(), cpu) && sched_getcpu() == cpu;
}

/* Free pages of a node's zones (what the buddy holds). */
static unsigned long node_free(int nid)
{
    unsigned long sum = 0;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        sum += zone_page_state(&NODE_DATA(nid)->node_zones[zid], NR_FREE_PAGES);
    return sum;
}

/* ------------------------------------------------------------------ */
/* Setting and reading policies                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_set_get_every_mode)
{
    setup_nodes(4, "32M", NULL);
    assert_policy(PA_MPOL_DEFAULT, 0, "initially");
    static const struct {
        int mode;
        bool null_mask;
        unsigned long bits;
        int want_mode;
        unsigned long want_bits;
    } ok[] = {
        {PA_MPOL_LOCAL, true, 0, PA_MPOL_LOCAL, 0},
        {PA_MPOL_PREFERRED, false, 0x4, PA_MPOL_PREFERRED, 0x4},
        {PA_MPOL_BIND, false, 0xa, PA_MPOL_BIND, 0xa},
        {PA_MPOL_INTERLEAVE, false, 0xf, PA_MPOL_INTERLEAVE, 0xf},
        {PA_MPOL_PREFERRED_MANY, false, 0x6, PA_MPOL_PREFERRED_MANY, 0x6},
        {PA_MPOL_WEIGHTED_INTERLEAVE, false, 0x3, PA_MPOL_WEIGHTED_INTERLEAVE, 0x3},
        {PA_MPOL_DEFAULT, true, 0, PA_MPOL_DEFAULT, 0},
        {PA_MPOL_BIND, false, 0x1, PA_MPOL_BIND, 0x1},
        {PA_MPOL_DEFAULT, false, 0, PA_MPOL_DEFAULT, 0},     /* an empty mask is fine */
        {PA_MPOL_LOCAL, false, 0, PA_MPOL_LOCAL, 0},
        {PA_MPOL_PREFERRED, false, 0, PA_MPOL_LOCAL, 0},     /* the kernel: PREFERRED with no node is LOCAL */
    };
    char when[96];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        pa_nodemask_t m = mask_of(ok[i].bits);
        snprintf(when, sizeof(when), "set %s %#lx", mode_name(ok[i].mode), ok[i].bits);
        ck_assert_msg(pa_set_mempolicy(ok[i].mode, ok[i].null_mask ? NULL : &m) == 0, "%s: errno %d", when, errno);
        assert_policy(ok[i].want_mode, ok[i].want_bits, when);
    }

    /* Bad requests leave the policy as it was. */
    pa_nodemask_t keep = mask_of(0x2);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &keep), 0);
    static const struct {
        int mode;
        bool null_mask;
        unsigned long bits;
        const char *why;
    } bad[] = {
        {PA_MPOL_BIND, false, 0, "BIND with an empty mask"},
        {PA_MPOL_BIND, true, 0, "BIND with no mask"},
        {PA_MPOL_INTERLEAVE, false, 0, "INTERLEAVE with an empty mask"},
        {PA_MPOL_PREFERRED_MANY, false, 0, "PREFERRED_MANY with an empty mask"},
        {PA_MPOL_WEIGHTED_INTERLEAVE, false, 0, "WEIGHTED_INTERLEAVE with an empty mask"},
        {PA_MPOL_DEFAULT, false, 0x1, "DEFAULT with a node"},
        {PA_MPOL_LOCAL, false, 0x2, "LOCAL with a node"},
        {PA_MPOL_BIND, false, 0x10, "BIND to node 4 of 4"},
        {PA_MPOL_BIND, false, 0x21, "BIND to nodes 0 and 5"},
        {PA_MPOL_PREFERRED, false, 0x80, "PREFERRED node 7"},
        {PA_MPOL_INTERLEAVE, false, 1UL << 63, "INTERLEAVE with node 63"},
        {99, false, 0x1, "mode 99"},
        {-1, false, 0x1, "mode -1"},
        {PA_MPOL_MAX, false, 0x1, "mode PA_MPOL_MAX"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pa_nodemask_t m = mask_of(bad[i].bits);
        errno = 0;
        int rc = pa_set_mempolicy(bad[i].mode, bad[i].null_mask ? NULL : &m);
        ck_assert_msg(rc == -1 && errno == EINVAL, "%s: returned %d, errno %d; want -1, EINVAL", bad[i].why, rc,
                      errno);
        assert_policy(PA_MPOL_BIND, 0x2, bad[i].why);
    }
    errno = 0;
    ck_assert_int_eq(pa_get_mempolicy(NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* mode only, or mask only */
    int mode = -1;
    ck_assert_int_eq(pa_get_mempolicy(&mode, NULL), 0);
    ck_assert_int_eq(mode, PA_MPOL_BIND);
    pa_nodemask_t m;
    ck_assert_int_eq(pa_get_mempolicy(NULL, &m), 0);
    ck_assert_uint_eq(bits_of(&m), 0x2);
    /* back to DEFAULT */
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_DEFAULT, NULL), 0);
    assert_policy(PA_MPOL_DEFAULT, 0, "after resetting");
}
END_TEST

/* ------------------------------------------------------------------ */
/* BIND                                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_bind_stays_in_mask)
{
    /* no watermark boost: kswapd clearing one later would lower the
     * watermarks under the exhaustion checks below */
    setup_nodes_boost(3, "32M", NULL, "0");
    pa_nodemask_t m = mask_of(0x6);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &m), 0);
    unsigned long free0 = node_free(0);
    struct t_blocks l = {0};
    for (int k = 0; k < 300; k++) {
        unsigned int order = (unsigned int)(k % 5);
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | (k & 1 ? PA_GFP_MOVABLE : 0), order);
        ck_assert_ptr_nonnull(p);
        t_blocks_push(&l, p, order);
    }
    /* exhaust the mask: ENOMEM rather than node 0 */
    errno = 0;
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_msg(errno == ENOMEM, "BIND exhaustion: errno %d, want ENOMEM", errno);
    size_t per[3] = {0};
    unsigned long pages = 0;
    for (size_t i = 0; i < l.n; i++) {
        per[pa_page_to_nid(l.v[i].page)]++;
        pages += 1UL << l.v[i].order;
    }
    ck_assert_msg(per[0] == 0, "BIND to nodes 1-2 put %zu blocks on node 0", per[0]);
    ck_assert_msg(per[1] > 0 && per[2] > 0, "BIND to 1-2: %zu blocks on node 1, %zu on node 2", per[1], per[2]);
    ck_assert_msg(pages > 2 * 8192 - 2 * 600, "only %lu pages (%zu in the final fill) before ENOMEM from two 32M nodes",
                  pages, n);
    ck_assert_uint_eq(node_free(0), free0);
    ck_assert_ptr_null(pa_get_free_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0));
    ck_assert_ptr_null(pa_alloc_pages_exact(2 * T_PAGE, PA_GFP_KERNEL | PA_GFP_NOWARN));
    /* node 0 is still there for requests that name it */
    struct pa_page *p = pa_alloc_pages_node(0, PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_to_nid(p), 0);
    pa_free_pages(p, 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* The kernel's policy_zone rule: BIND restricts requests for the highest
 * zone below Movable (Normal here), not DMA requests. */
START_TEST(test_bind_does_not_restrict_dma)
{
    setup_nodes(2, "32M", "4M");
    ck_assert_int_eq(pa_mm.policy_zone, PA_ZONE_NORMAL);
    pa_nodemask_t m = mask_of(0x2);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &m), 0);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_DMA, 0);
    ck_assert_msg(p != NULL, "a DMA request under BIND to node 1 (no DMA zone there) failed (errno %d)", errno);
    ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_DMA);
    ck_assert_int_eq(pa_page_to_nid(p), 0);
    pa_free_pages(p, 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 1);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_HIGHUSER_MOVABLE, 0), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PREFERRED and PREFERRED_MANY                                        */
/* ------------------------------------------------------------------ */

/* Fill with gfp until ENOMEM; record each block's node in order. */
static size_t fill_sequence(pa_gfp_t gfp, struct t_blocks *l, int **nids)
{
    size_t start = l->n;
    t_fill(l, gfp, 0);
    size_t n = l->n - start;
    *nids = malloc((n + 1) * sizeof(int));
    ck_assert_ptr_nonnull(*nids);
    for (size_t i = 0; i < n; i++)
        (*nids)[i] = pa_page_to_nid(l->v[start + i].page);
    return n;
}

START_TEST(test_preferred_falls_back_by_distance)
{
    setup_nodes(4, "32M", NULL);
    /* an uneven SLIT: from node 2, node 3 is nearest, then 1, then 0 */
    pa_mm.distance[2][3] = pa_mm.distance[3][2] = 12;
    pa_mm.distance[2][1] = pa_mm.distance[1][2] = 20;
    pa_mm.distance[2][0] = pa_mm.distance[0][2] = 30;
    build_all_zonelists();
    ck_assert_int_eq(pa_node_distance(2, 3), 12);

    pa_nodemask_t m = mask_of(0x4);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_PREFERRED, &m), 0);
    for (int k = 0; k < 50; k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, (unsigned int)(k % 4)), 2);

    /* the first block off node 2 comes when node 2 is below LOW */
    struct t_blocks l = {0};
    size_t first[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    struct zone *z2 = &NODE_DATA(2)->node_zones[PA_ZONE_NORMAL];
    unsigned long z2_free_at_fallback = 0;
    for (size_t i = 0;; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        int nid = pa_page_to_nid(p);
        if (first[nid] == SIZE_MAX) {
            first[nid] = i;
            if (nid == 3)
                z2_free_at_fallback = zone_page_state(z2, NR_FREE_PAGES);
        }
        t_blocks_push(&l, p, 0);
    }
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_msg(first[2] == 0, "the first page was not on the preferred node");
    ck_assert_msg(first[3] < first[1] && first[1] < first[0],
                  "fallback order by distance from node 2 should be 3, 1, 0: first pages at %zu, %zu, %zu", first[3],
                  first[1], first[0]);
    ck_assert_msg(first[3] > 8192 - 2 * low_wmark_pages(z2),
                  "node 2 gave only %zu pages before falling back", first[3]);
    ck_assert_msg(z2_free_at_fallback <= low_wmark_pages(z2), "fell back with %lu pages free on node 2 (LOW %lu)",
                  z2_free_at_fallback, low_wmark_pages(z2));
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_preferred_many)
{
    setup_nodes(4, "32M", NULL);
    pa_nodemask_t m = mask_of(0xa);   /* nodes 1 and 3 */
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_PREFERRED_MANY, &m), 0);
    struct t_blocks l = {0};
    int *nids;
    size_t n = fill_sequence(PA_GFP_KERNEL, &l, &nids);
    ck_assert_int_eq(errno, ENOMEM);
    size_t first_out = n;
    size_t per[4] = {0};
    for (size_t i = 0; i < n; i++) {
        per[nids[i]]++;
        if (first_out == n && nids[i] != 1 && nids[i] != 3)
            first_out = i;
    }
    ck_assert_msg(first_out >= 2 * (8192 - 600),
                  "PREFERRED_MANY 1,3 left its nodes after %zu pages (nodes 1, 3 hold %d pages)", first_out, 2 * 8192);
    for (size_t i = 0; i < first_out; i++)
        ck_assert(nids[i] == 1 || nids[i] == 3);
    ck_assert_msg(per[1] > 0 && per[3] > 0, "only one node of the mask used: %zu, %zu", per[1], per[3]);
    ck_assert_msg(per[0] > 0 && per[2] > 0, "no fallback to the other nodes once 1 and 3 were full: %zu, %zu", per[0],
                  per[2]);
    free(nids);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* INTERLEAVE and WEIGHTED_INTERLEAVE                                  */
/* ------------------------------------------------------------------ */

/* numastat's table: val[row][node], rows numa_hit .. other_node. */
#define NS_ROWS 6
static const char *const ns_rows[NS_ROWS] = {"numa_hit", "numa_miss", "numa_foreign",
                                             "interleave_hit", "local_node", "other_node"};
static const char *const ns_vmstat[NS_ROWS] = {"numa_hit", "numa_miss", "numa_foreign",
                                               "numa_interleave", "numa_local", "numa_other"};

static void numastat(unsigned long val[NS_ROWS][PA_MAX_NUMNODES])
{
    char *text = t_show(pa_show_numastat);
    int nr = pa_num_nodes();
    for (int r = 0; r < NS_ROWS; r++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "\n%s ", ns_rows[r]);
        char *at = strstr(text, needle);
        ck_assert_msg(at != NULL, "numastat lacks row %s", ns_rows[r]);
        char *p = at + strlen(needle);
        for (int n = 0; n < nr; n++) {
            char *end;
            val[r][n] = strtoul(p, &end, 10);
            ck_assert_msg(end != p, "numastat row %s: no column for node %d", ns_rows[r], n);
            p = end;
        }
    }
    free(text);
}

START_TEST(test_interleave_round_robin)
{
    setup_nodes(4, "32M", NULL);
    unsigned long before[NS_ROWS][PA_MAX_NUMNODES], after[NS_ROWS][PA_MAX_NUMNODES];
    numastat(before);
    unsigned long il0 = t_vmstat("numa_interleave");
    pa_nodemask_t all;
    ck_assert_int_eq(pa_nodemask_parse("all", &all), 0);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &all), 0);
    int per[4] = {0};
    for (int k = 0; k < 400; k++) {
        int nid = nid_of_alloc(PA_GFP_KERNEL, (unsigned int)(k % 3));
        ck_assert_msg(nid == k % 4, "interleave allocation %d on node %d, want %d", k, nid, k % 4);
        per[nid]++;
    }
    ck_assert_uint_eq(t_vmstat("numa_interleave") - il0, 400);
    numastat(after);
    for (int n = 0; n < 4; n++)
        ck_assert_msg(after[3][n] - before[3][n] == 100, "node %d: interleave_hit +%lu, want +100", n,
                      after[3][n] - before[3][n]);

    /* a smaller mask; setting the policy again restarts at its first node */
    pa_nodemask_t odd = mask_of(0xa);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &odd), 0);
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), k % 2 ? 3 : 1);

    /* an interleave target that is full: the page lands elsewhere and is
     * no interleave hit */
    struct t_blocks l = {0};
    for (;;) {
        struct pa_page *p = pa_alloc_pages_node(3, PA_GFP_KERNEL | PA_GFP_THISNODE | PA_GFP_NOWARN, 0);
        if (!p)
            break;
        t_blocks_push(&l, p, 0);
    }
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &odd), 0);
    il0 = t_vmstat("numa_interleave");
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 1);
    ck_assert_uint_eq(t_vmstat("numa_interleave") - il0, 1);
    int nid = nid_of_alloc(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
    ck_assert_msg(nid != 3, "node 3 is full but served an interleave allocation");
    ck_assert_msg(t_vmstat("numa_interleave") - il0 == 1, "a fallback from the interleave target counted as a hit");
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

/* Each thread keeps its own place in the interleave. */
struct il_thread {
    int id;
    int seq[40];
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int *turn;
    int err;
};

static void *il_main(void *arg)
{
    struct il_thread *t = arg;
    pa_nodemask_t all = mask_of(0xf);
    if (pa_set_mempolicy(PA_MPOL_INTERLEAVE, &all) != 0)
        t->err = errno ? errno : -1;
    for (int k = 0; k < 40; k++) {
        pthread_mutex_lock(t->lock);
        while (*t->turn % 2 != t->id)
            pthread_cond_wait(t->cond, t->lock);
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        t->seq[k] = p ? pa_page_to_nid(p) : -1;
        if (p)
            pa_free_pages(p, 0);
        (*t->turn)++;
        pthread_cond_broadcast(t->cond);
        pthread_mutex_unlock(t->lock);
    }
    return NULL;
}

START_TEST(test_interleave_per_thread)
{
    setup_nodes(4, "32M", NULL);
    int cpu0 = t_allowed_cpu(0);
    ck_assert(pin_self(cpu0));
    int local = cpu0 % 4;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    int turn = 0;
    struct il_thread t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].id = i;
        t[i].lock = &lock;
        t[i].cond = &cond;
        t[i].turn = &turn;
        ck_assert_int_eq(pthread_create(&th[i], NULL, il_main, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(t[i].err, 0);
        for (int k = 0; k < 40; k++)
            ck_assert_msg(t[i].seq[k] == k % 4,
                          "thread %d, its allocation %d (alternating with the other thread): node %d, want %d", i, k,
                          t[i].seq[k], k % 4);
    }
    /* the threads' policies did not leak into this one */
    assert_policy(PA_MPOL_DEFAULT, 0, "main thread after two threads set INTERLEAVE");
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), local);
}
END_TEST

START_TEST(test_weighted_interleave)
{
    setup_nodes(3, "32M", NULL);
    for (int n = 0; n < 3; n++)
        ck_assert_int_eq(pa_get_interleave_weight(n), 1);
    ck_assert_int_eq(pa_set_interleave_weight(0, 3), 0);
    ck_assert_int_eq(pa_set_interleave_weight(1, 1), 0);
    ck_assert_int_eq(pa_get_interleave_weight(0), 3);
    ck_assert_int_eq(pa_get_interleave_weight(1), 1);

    static const struct {
        int nid;
        unsigned int w;
    } bad[] = {{0, 0}, {0, 256}, {1, 1000}, {-1, 1}, {3, 1}, {64, 2}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_msg(pa_set_interleave_weight(bad[i].nid, bad[i].w) == -1 && errno == EINVAL,
                      "weight %u for node %d accepted (errno %d)", bad[i].w, bad[i].nid, errno);
    }
    ck_assert_int_eq(pa_get_interleave_weight(0), 3);
    ck_assert_int_eq(pa_get_interleave_weight(1), 1);
    ck_assert_int_eq(pa_set_interleave_weight(2, 255), 0);
    ck_assert_int_eq(pa_get_interleave_weight(2), 255);
    ck_assert_int_eq(pa_set_interleave_weight(2, 1), 0);
    errno = 0;
    ck_assert_int_eq(pa_get_interleave_weight(3), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_get_interleave_weight(-1), -1);
    ck_assert_int_eq(errno, EINVAL);

    unsigned long il0 = t_vmstat("numa_interleave");
    pa_nodemask_t m = mask_of(0x3);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_WEIGHTED_INTERLEAVE, &m), 0);
    static const int want[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        int nid = nid_of_alloc(PA_GFP_KERNEL, (unsigned int)(k % 2));
        ck_assert_msg(nid == want[k], "weighted interleave 0:3,1:1, allocation %zu: node %d, want %d", k, nid, want[k]);
    }
    ck_assert_uint_eq(t_vmstat("numa_interleave") - il0, 12);
    /* all three nodes with default weights: plain round robin */
    ck_assert_int_eq(pa_set_interleave_weight(0, 1), 0);
    pa_nodemask_t all = mask_of(0x7);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_WEIGHTED_INTERLEAVE, &all), 0);
    for (int k = 0; k < 9; k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), k % 3);
}
END_TEST

/* ------------------------------------------------------------------ */
/* LOCAL, THISNODE, pa_alloc_pages_node                                */
/* ------------------------------------------------------------------ */

START_TEST(test_local_is_node_of_cpu)
{
    int n = _i == 0 ? 2 : 3;
    setup_nodes(n, "32M", NULL);
    int tried = 0, cpus[8], ncpus = 0;
    /* listed before pinning: a pinned thread's affinity is its one CPU */
    while (ncpus < 8 && (cpus[ncpus] = t_allowed_cpu(ncpus)) >= 0)
        ncpus++;
    for (int k = 0; k < ncpus; k++) {
        int cpu = cpus[k];
        ck_assert(pin_self(cpu));
        ck_assert_int_eq(pa_numa_node_id(), cpu % n);
        ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_LOCAL, NULL), 0);
        for (unsigned int order = 0; order <= 4; order += 2)
            ck_assert_msg(nid_of_alloc(PA_GFP_KERNEL, order) == cpu % n, "LOCAL on cpu %d: order %u not on node %d",
                          cpu, order, cpu % n);
        ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_DEFAULT, NULL), 0);
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), cpu % n);
        tried++;
    }
    ck_assert_int_gt(tried, 0);
}
END_TEST

START_TEST(test_thisnode_and_alloc_node_ignore_policy)
{
    setup_nodes(3, "32M", NULL);
    int cpu0 = t_allowed_cpu(0);
    ck_assert(pin_self(cpu0));
    int local = cpu0 % 3, other = (local + 1) % 3, third = (local + 2) % 3;
    static const int modes[] = {PA_MPOL_BIND, PA_MPOL_PREFERRED, PA_MPOL_PREFERRED_MANY, PA_MPOL_INTERLEAVE,
                                PA_MPOL_WEIGHTED_INTERLEAVE};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        pa_nodemask_t m = mask_of(1UL << other);
        ck_assert_int_eq(pa_set_mempolicy(modes[i], &m), 0);
        ck_assert_msg(nid_of_alloc(PA_GFP_KERNEL, 0) == other, "%s: not on its node", mode_name(modes[i]));
        ck_assert_msg(nid_of_alloc(PA_GFP_KERNEL | PA_GFP_THISNODE, 0) == local,
                      "%s to node %d: a THISNODE request left the local node %d", mode_name(modes[i]), other, local);
        struct pa_page *p = pa_alloc_pages_node(third, PA_GFP_KERNEL, 1);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(pa_page_to_nid(p) == third, "%s to node %d: pa_alloc_pages_node(%d) went to node %d",
                      mode_name(modes[i]), other, third, pa_page_to_nid(p));
        pa_free_pages(p, 1);
    }
    /* neither moves the interleave along */
    pa_nodemask_t m = mask_of(0x7);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &m), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL | PA_GFP_THISNODE, 0), local);
    struct pa_page *p = pa_alloc_pages_node(2, PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    pa_free_pages(p, 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 1);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* numactl's words                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_mempolicy_str)
{
    setup_nodes(4, "32M", NULL);
    static const struct {
        const char *spec;
        int mode;
        unsigned long bits;
    } ok[] = {
        {"bind=1-2", PA_MPOL_BIND, 0x6},
        {"default", PA_MPOL_DEFAULT, 0},
        {"local", PA_MPOL_LOCAL, 0},
        {"bind=0,3", PA_MPOL_BIND, 0x9},
        {"preferred=1", PA_MPOL_PREFERRED, 0x2},
        {"preferred-many=0,2", PA_MPOL_PREFERRED_MANY, 0x5},
        {"interleave=all", PA_MPOL_INTERLEAVE, 0xf},
        {"interleave=!0", PA_MPOL_INTERLEAVE, 0xe},
        {"weighted-interleave=0:3,1:1", PA_MPOL_WEIGHTED_INTERLEAVE, 0x3},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(pa_set_mempolicy_str(ok[i].spec) == 0, "\"%s\" refused (errno %d)", ok[i].spec, errno);
        assert_policy(ok[i].mode, ok[i].bits, ok[i].spec);
    }
    ck_assert_int_eq(pa_get_interleave_weight(0), 3);
    ck_assert_int_eq(pa_get_interleave_weight(1), 1);
    static const int want[] = {0, 0, 0, 1, 0, 0, 0, 1};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), want[k]);

    ck_assert_int_eq(pa_set_mempolicy_str("bind=2"), 0);
    static const char *const bad[] = {
        "",          "bogus",        "bind",          "bind=",          "bind=9",
        "bind=1-9",  "bind=x",       "preferred=",    "preferred=0,1",  "interleave=x",
        "local=1",   "default=0",    "BIND=1",        "bind 1",         "interleave=all,",
        "weighted-interleave=0:0",   "weighted-interleave=0:256",       "weighted-interleave=0:3,9:1",
        "weighted-interleave=0:",    "weighted-interleave=:3",          "weighted-interleave=0:5,1:0",
        "preferred-many=",           "bind=0-1-2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        int rc = pa_set_mempolicy_str(bad[i]);
        ck_assert_msg(rc == -1 && errno == EINVAL, "\"%s\": returned %d, errno %d; want -1, EINVAL", bad[i], rc,
                      errno);
        assert_policy(PA_MPOL_BIND, 0x4, bad[i]);
    }
    errno = 0;
    ck_assert_int_eq(pa_set_mempolicy_str(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* a refused weighted spec changed no weight */
    ck_assert_int_eq(pa_get_interleave_weight(0), 3);
    ck_assert_int_eq(pa_get_interleave_weight(1), 1);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PAGEALLOC_POLICY: the process default                               */
/* ------------------------------------------------------------------ */

struct env_thread {
    int mode;
    unsigned long bits;
    int seq[8];
    int bound_nid;
};

static void *env_thread_main(void *arg)
{
    struct env_thread *t = arg;
    pa_nodemask_t m;
    t->mode = -1;
    pa_get_mempolicy(&t->mode, &m);
    t->bits = bits_of(&m);
    for (int k = 0; k < 8; k++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        t->seq[k] = p ? pa_page_to_nid(p) : -1;
        if (p)
            pa_free_pages(p, 0);
    }
    /* a policy of its own stays its own */
    pa_nodemask_t two = mask_of(0x4);
    pa_set_mempolicy(PA_MPOL_BIND, &two);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    t->bound_nid = p ? pa_page_to_nid(p) : -1;
    if (p)
        pa_free_pages(p, 0);
    return NULL;
}

START_TEST(test_policy_env_default)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "4");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_POLICY", "interleave=all");
    ck_assert_int_eq(pa_init(NULL), 0);
    assert_policy(PA_MPOL_INTERLEAVE, 0xf, "main thread under PAGEALLOC_POLICY=interleave=all");
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), k % 4);

    struct env_thread t;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, env_thread_main, &t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(t.mode == PA_MPOL_INTERLEAVE && t.bits == 0xf, "a new thread sees %s %#lx", mode_name(t.mode),
                  t.bits);
    for (int k = 0; k < 8; k++)
        ck_assert_msg(t.seq[k] == k % 4, "new thread's interleave allocation %d on node %d, want %d", k, t.seq[k],
                      k % 4);
    ck_assert_int_eq(t.bound_nid, 2);
    /* the thread's BIND did not become ours, and our place in the
     * interleave is where we left it */
    assert_policy(PA_MPOL_INTERLEAVE, 0xf, "main thread after another thread set BIND");
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 0);

    /* our own policy, then DEFAULT: back to the process default */
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_LOCAL, NULL), 0);
    assert_policy(PA_MPOL_LOCAL, 0, "after LOCAL");
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_DEFAULT, NULL), 0);
    assert_policy(PA_MPOL_INTERLEAVE, 0xf, "after DEFAULT (follows PAGEALLOC_POLICY again)");
}
END_TEST

START_TEST(test_policy_env_weighted)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_POLICY", "weighted-interleave=0:2,1:1");
    ck_assert_int_eq(pa_init(NULL), 0);
    assert_policy(PA_MPOL_WEIGHTED_INTERLEAVE, 0x3, "PAGEALLOC_POLICY=weighted-interleave=0:2,1:1");
    ck_assert_int_eq(pa_get_interleave_weight(0), 2);
    ck_assert_int_eq(pa_get_interleave_weight(1), 1);
    static const int want[] = {0, 0, 1, 0, 0, 1};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
        ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), want[k]);
}
END_TEST

START_TEST(test_policy_env_bad)
{
    static const char *const bad[] = {"bogus", "bind=7", "preferred=0,1", "weighted-interleave=0:0"};
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_POLICY", bad[_i]);
    struct t_capture cap;
    t_capture_begin(&cap);
    int rc = pa_init(NULL);
    char *err = t_capture_end(&cap);
    ck_assert_int_eq(rc, 0);
    int lines = t_count_lines_with(err, "PAGEALLOC_POLICY");
    ck_assert_msg(lines == 1, "PAGEALLOC_POLICY=\"%s\": %d messages naming it, want 1:\n%s", bad[_i], lines, err);
    ck_assert_msg(strstr(err, "default") != NULL, "the message does not say which default is used:\n%s", err);
    free(err);
    assert_policy(PA_MPOL_DEFAULT, 0, "after a bad PAGEALLOC_POLICY");
    ck_assert_int_eq(pa_get_interleave_weight(0), 1);
    int cpu = t_allowed_cpu(0);
    ck_assert(pin_self(cpu));
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), cpu % 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* mems_allowed: the cpuset analogue                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_mems_allowed)
{
    setup_nodes(2, "32M", NULL);
    pa_nodemask_t m;
    ck_assert_int_eq(pa_get_mems_allowed(&m), 0);
    ck_assert_uint_eq(bits_of(&m), 0x3);
    errno = 0;
    ck_assert_int_eq(pa_get_mems_allowed(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    pa_nodemask_t empty = mask_of(0), far = mask_of(0x4), zero = mask_of(0x1);
    errno = 0;
    ck_assert_int_eq(pa_set_mems_allowed(&empty), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_set_mems_allowed(&far), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_get_mems_allowed(&m), 0);
    ck_assert_uint_eq(bits_of(&m), 0x3);

    /* run on node 1's CPU where there is one: its local node is outside */
    int cpu = t_allowed_cpu(1) >= 0 ? t_allowed_cpu(1) : t_allowed_cpu(0);
    ck_assert(pin_self(cpu));
    ck_assert_int_eq(pa_set_mems_allowed(&zero), 0);
    ck_assert_int_eq(pa_get_mems_allowed(&m), 0);
    ck_assert_uint_eq(bits_of(&m), 0x1);
    /* a policy with no node left inside is refused */
    pa_nodemask_t one = mask_of(0x2);
    errno = 0;
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &one), -1);
    ck_assert_int_eq(errno, EINVAL);

    for (int k = 0; k < 20; k++) {
        ck_assert_int_eq(nid_of_alloc(PA_GFP_USER, (unsigned int)(k % 3)), 0);
        ck_assert_msg(nid_of_alloc(PA_GFP_KERNEL, 0) == 0, "softwall: the allowed node 0 was not tried first");
    }
    /* hardwall: never outside, ENOMEM when node 0 is exhausted */
    struct t_blocks l = {0};
    errno = 0;
    t_fill(&l, PA_GFP_USER, 0);
    ck_assert_msg(errno == ENOMEM, "GFP_USER exhaustion: errno %d", errno);
    for (size_t i = 0; i < l.n; i++)
        ck_assert_msg(pa_page_to_nid(l.v[i].page) == 0, "GFP_USER page on node %d outside mems_allowed",
                      pa_page_to_nid(l.v[i].page));
    ck_assert_uint_gt(l.n, 8192 - 600);
    /* softwall: falls back once node 0 is exhausted */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_msg(p != NULL, "GFP_KERNEL (softwall) did not fall back outside mems_allowed (errno %d)", errno);
    ck_assert_int_eq(pa_page_to_nid(p), 1);
    pa_free_pages(p, 0);
    /* all nodes again: GFP_USER may use node 1 */
    ck_assert_int_eq(pa_set_mems_allowed(NULL), 0);
    ck_assert_int_eq(pa_get_mems_allowed(&m), 0);
    ck_assert_uint_eq(bits_of(&m), 0x3);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_USER, 0), 1);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* CDM nodes                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_cdm_node)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_CDM_NODES", "1");
    ck_assert_int_eq(pa_init(NULL), 0);
    /* from node 1's own CPU when there is one: local or not, no */
    int cpu = t_allowed_cpu(1) >= 0 ? t_allowed_cpu(1) : t_allowed_cpu(0);
    ck_assert(pin_self(cpu));
    struct t_blocks l = {0};
    for (unsigned int order = 0; order <= 4; order++)
        ck_assert_msg(nid_of_alloc(PA_GFP_KERNEL, order) == 0, "order %u landed on the CDM node", order);
    errno = 0;
    t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_msg(errno == ENOMEM, "exhausting node 0: errno %d, want ENOMEM", errno);
    size_t n0 = l.n;
    t_fill(&l, PA_GFP_ATOMIC, 0);
    t_fill(&l, PA_GFP_HIGHUSER_MOVABLE, 0);
    for (size_t i = 0; i < l.n; i++)
        ck_assert_msg(pa_page_to_nid(l.v[i].page) == 0, "block %zu of %zu on the CDM node", i, l.n);
    ck_assert_uint_gt(n0, 8192 - 600);
    errno = 0;
    ck_assert_ptr_null(pa_alloc_pages_node(1, PA_GFP_KERNEL | PA_GFP_NOWARN, 0));
    ck_assert_int_eq(errno, ENOMEM);
    pa_nodemask_t one = mask_of(0x2);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_PREFERRED, &one), 0);
    ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0));

    /* named explicitly: THISNODE, or a BIND mask */
    struct pa_page *p = pa_alloc_pages_node(1, PA_GFP_KERNEL | PA_GFP_THISNODE, 0);
    ck_assert_msg(p != NULL, "THISNODE on the CDM node failed (errno %d)", errno);
    ck_assert_int_eq(pa_page_to_nid(p), 1);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &one), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 1);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 3), 1);
    pa_nodemask_t both = mask_of(0x3);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &both), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 1);   /* node 0 is full */
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

START_TEST(test_cdm_bad_config)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_CDM_NODES", _i == 0 ? "0-1" : "5");
    struct t_capture cap;
    t_capture_begin(&cap);
    ck_assert_int_eq(pa_init(NULL), 0);
    char *err = t_capture_end(&cap);
    ck_assert_int_eq(t_count_lines_with(err, "PAGEALLOC_CDM_NODES"), 1);
    free(err);
    ck_assert(!pa_mm.has_cdm);
    struct pa_page *p = pa_alloc_pages_node(1, PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_to_nid(p), 1);
    pa_free_pages(p, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PA_GFP_RELIABLE                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_reliable_exhaustion)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct t_blocks l = {0};
    errno = 0;
    t_fill(&l, PA_GFP_HIGHUSER_MOVABLE | PA_GFP_RELIABLE, 0);
    ck_assert_int_eq(errno, ENOMEM);
    size_t per[2] = {0};
    for (size_t i = 0; i < l.n; i++) {
        ck_assert_msg(pa_page_zonenum(l.v[i].page) != PA_ZONE_MOVABLE, "a RELIABLE page from ZONE_MOVABLE (node %d)",
                      pa_page_to_nid(l.v[i].page));
        per[pa_page_to_nid(l.v[i].page)]++;
    }
    ck_assert_msg(per[0] > 5000 && per[1] > 5000, "RELIABLE pages: %zu on node 0, %zu on node 1", per[0], per[1]);
    /* the Movable zones are untouched and still serve plain movable requests */
    for (int n = 0; n < 2; n++) {
        struct zone *mz = &NODE_DATA(n)->node_zones[PA_ZONE_MOVABLE];
        ck_assert(populated_zone(mz));
        struct pa_page *p = pa_alloc_pages_node(n, PA_GFP_HIGHUSER_MOVABLE, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_MOVABLE);
        pa_free_pages(p, 0);
    }
    /* also under a policy, and for every pcp order */
    pa_nodemask_t one = mask_of(0x2);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_BIND, &one), 0);
    for (unsigned int order = 0; order <= 3; order++) {
        errno = 0;
        ck_assert_msg(pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_RELIABLE | PA_GFP_NOWARN, order) == NULL,
                      "RELIABLE order %u served with Normal exhausted", order);
    }
    t_blocks_free_all(&l);
    for (unsigned int order = 0; order <= 9; order += 3) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_RELIABLE, order);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), 1);
        ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_NORMAL);
        pa_free_pages(p, order);
    }
    t_blocks_release(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* NUMA statistics                                                     */
/* ------------------------------------------------------------------ */

static void assert_numa_delta(unsigned long b[NS_ROWS][PA_MAX_NUMNODES], const long want[NS_ROWS][2],
                              const char *what)
{
    unsigned long a[NS_ROWS][PA_MAX_NUMNODES];
    numastat(a);
    for (int r = 0; r < NS_ROWS; r++)
        for (int n = 0; n < 2; n++) {
            long d = (long)(a[r][n] - b[r][n]);
            ck_assert_msg(d == want[r][n], "%s: node %d %s %+ld, want %+ld", what, n, ns_rows[r], d, want[r][n]);
        }
    memcpy(b, a, sizeof(a));
}

START_TEST(test_numa_statistics)
{
    setup_nodes(2, "32M", NULL);
    int cpu = t_allowed_cpu(0);
    ck_assert(pin_self(cpu));
    int local = cpu % 2, remote = 1 - local;
    unsigned long s[NS_ROWS][PA_MAX_NUMNODES];
    struct pa_page *p;
    long want[NS_ROWS][2];

    /* warm: the first allocations bring sections online, set up the thread */
    pa_free_pages(pa_alloc_pages_node(remote, PA_GFP_KERNEL, 0), 0);
    pa_free_pages(pa_alloc_pages(PA_GFP_KERNEL, 0), 0);
    numastat(s);

    /* local: a hit and a local on this CPU's node (fast path and general path) */
    pa_free_pages(pa_alloc_pages(PA_GFP_KERNEL, 0), 0);
    p = pa_alloc_pages_node(local, PA_GFP_KERNEL | PA_GFP_THISNODE, 2);
    ck_assert_int_eq(pa_page_to_nid(p), local);
    pa_free_pages(p, 2);
    memset(want, 0, sizeof(want));
    want[0][local] = 2;
    want[4][local] = 2;
    assert_numa_delta(s, want, "two local allocations");

    /* PREFERRED the remote node: a hit there, counted other (not this CPU's node) */
    pa_nodemask_t r = mask_of(1UL << remote);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_PREFERRED, &r), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), remote);
    memset(want, 0, sizeof(want));
    want[0][remote] = 1;
    want[5][remote] = 1;
    assert_numa_delta(s, want, "PREFERRED to the remote node");

    /* interleave over both: a hit, an interleave hit, local or other each */
    pa_nodemask_t both = mask_of(0x3);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &both), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 0);
    ck_assert_int_eq(nid_of_alloc(PA_GFP_KERNEL, 0), 1);
    memset(want, 0, sizeof(want));
    want[0][0] = want[0][1] = 1;
    want[3][0] = want[3][1] = 1;
    want[4][local] = 1;
    want[5][remote] = 1;
    assert_numa_delta(s, want, "two interleaved allocations");

    /* fallback: the preferred remote node is full, the page comes from
     * the local node: a miss there, a foreign on the preferred node */
    struct t_blocks l = {0};
    for (;;) {
        struct pa_page *q = pa_alloc_pages_node(remote, PA_GFP_KERNEL | PA_GFP_THISNODE | PA_GFP_NOWARN, 0);
        if (!q)
            break;
        t_blocks_push(&l, q, 0);
    }
    numastat(s);
    ck_assert_int_eq(pa_set_mempolicy(PA_MPOL_PREFERRED, &r), 0);
    p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_to_nid(p), local);
    pa_free_pages(p, 0);
    memset(want, 0, sizeof(want));
    want[1][local] = 1;
    want[2][remote] = 1;
    want[4][local] = 1;
    assert_numa_delta(s, want, "a fallback from the preferred node");

    /* numastat's rows add up to the vmstat counters */
    for (int row = 0; row < NS_ROWS; row++) {
        unsigned long v = t_vmstat(ns_vmstat[row]);
        ck_assert_msg(s[row][0] + s[row][1] == v, "numastat %s: %lu + %lu, vmstat %s %lu", ns_rows[row], s[row][0],
                      s[row][1], ns_vmstat[row], v);
    }
    ck_assert_uint_eq(t_vmstat("numa_hit") + t_vmstat("numa_miss"), t_vmstat("numa_local") + t_vmstat("numa_other"));
    ck_assert_uint_eq(t_vmstat("numa_miss"), t_vmstat("numa_foreign"));
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

static Suite *mempolicy_suite(void)
{
    Suite *s = suite_create("mempolicy");
    TCase *tc = t_tcase(s, "modes", 30);
    tcase_add_test(tc, test_set_get_every_mode);
    tcase_add_test(tc, test_bind_stays_in_mask);
    tcase_add_test(tc, test_bind_does_not_restrict_dma);
    tcase_add_test(tc, test_preferred_falls_back_by_distance);
    tcase_add_test(tc, test_preferred_many);
    tcase_add_test(tc, test_interleave_round_robin);
    tcase_add_test(tc, test_interleave_per_thread);
    tcase_add_test(tc, test_weighted_interleave);
    tcase_add_loop_test(tc, test_local_is_node_of_cpu, 0, 2);
    tcase_add_test(tc, test_thisnode_and_alloc_node_ignore_policy);
    tc = t_tcase(s, "config", 30);
    tcase_add_test(tc, test_mempolicy_str);
    tcase_add_test(tc, test_policy_env_default);
    tcase_add_test(tc, test_policy_env_weighted);
    tcase_add_loop_test(tc, test_policy_env_bad, 0, 4);
    tc = t_tcase(s, "restrictions", 30);
    tcase_add_test(tc, test_mems_allowed);
    tcase_add_test(tc, test_cdm_node);
    tcase_add_loop_test(tc, test_cdm_bad_config, 0, 2);
    tcase_add_test(tc, test_reliable_exhaustion);
    tc = t_tcase(s, "statistics", 30);
    tcase_add_test(tc, test_numa_statistics);
    return s;
}

int main(void)
{
    return t_run_suite(mempolicy_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * Nodes and zones: a pglist_data per node (real, or logical under NUMA
 * emulation), zones sized from the configuration, and the zonelists that
 * order the nodes by distance as the kernel's build_zonelists() does.
 */
#include "internal.h"

static const char *const zone_names[MAX_NR_ZONES] = {"DMA", "DMA32", "Normal", "Movable"};

/*
 * The kernel's GFP_ZONE_TABLE for a 64-bit machine without highmem:
 * __GFP_HIGHMEM means "above DMA32", i.e. NORMAL, or MOVABLE together with
 * __GFP_MOVABLE.  Combinations in GFP_ZONE_BAD give -1.
 */
int gfp_zone(pa_gfp_t gfp)
{
    switch (gfp & PA_GFP_ZONEMASK) {
    case 0:
    case PA_GFP_HIGHMEM:
    case PA_GFP_MOVABLE:
        return PA_ZONE_NORMAL;
    case PA_GFP_DMA:
    case PA_GFP_MOVABLE | PA_GFP_DMA:
        return PA_ZONE_DMA;
    case PA_GFP_DMA32:
    case PA_GFP_MOVABLE | PA_GFP_DMA32:
        return PA_ZONE_DMA32;
    case PA_GFP_MOVABLE | PA_GFP_HIGHMEM:
        return PA_ZONE_MOVABLE;
    default:
        return -1;
    }
}

/* ------------------------------------------------------------------ */
/* Sizing                                                              */
/* ------------------------------------------------------------------ */

static void zone_init(pg_data_t *pgdat, enum pa_zone_type zid, unsigned long start, unsigned long pages)
{
    struct zone *z = &pgdat->node_zones[zid];
    z->zone_pgdat = pgdat;
    z->node = pgdat->node_id;
    z->zid = zid;
    z->mag_slot = ((unsigned int)pgdat->node_id * MAX_NR_ZONES + zid) * MIGRATE_PCPTYPES;
    pa_mm.zone_table[(size_t)pgdat->node_id * MAX_NR_ZONES + zid] = z;
    z->name = zone_names[zid];
    z->zone_start_pfn = start;
    z->spanned_pages = pages;
    /* capacity: what can come online; online pages are tracked separately */
    z->present_pages = pages;
    z->managed_pages = pages;
    z->online_end_pfn = start;
    spin_lock_init(&z->lock, LOCK_ZONE, (unsigned int)pgdat->node_id * MAX_NR_ZONES + zid);
    for (int o = 0; o < NR_PAGE_ORDERS; o++)
        for (int mt = 0; mt < MIGRATE_TYPES; mt++)
            INIT_LIST_HEAD(&z->free_area[o].free_list[mt]);
}

static unsigned long bytes_to_block_pages(size_t bytes)
{
    unsigned long pages = (unsigned long)(bytes >> PAGE_SHIFT);
    return ALIGN_UP(pages, MAX_ORDER_NR_PAGES);
}

/* Zone boundaries are MAX_ORDER aligned so that buddies never cross them. */
static int size_node(pg_data_t *pgdat, unsigned long start_pfn, unsigned long node_pages)
{
    int nid = pgdat->node_id;
    unsigned long dma = 0, movable = 0;

    if (nid == 0 && pa_opt.dma_size) {
        dma = bytes_to_block_pages(pa_opt.dma_size);
        if (dma > node_pages / 2) {
            fprintf(stderr, "pagealloc: ZONE_DMA (PAGEALLOC_DMA_SIZE, 16M by default) is more than half "
                            "of node 0 (%lu MiB); using %lu MiB\n", (node_pages << PAGE_SHIFT) >> 20,
                    ((node_pages / 2) << PAGE_SHIFT) >> 20);
            dma = ALIGN_DOWN(node_pages / 2, MAX_ORDER_NR_PAGES);
        }
    }
    if (pa_opt.movablecore_percent)
        movable = ALIGN_UP(node_pages / 100 * pa_opt.movablecore_percent, MAX_ORDER_NR_PAGES);
    else if (pa_opt.movablecore)
        movable = bytes_to_block_pages(pa_opt.movablecore);
    if (movable > node_pages - dma)
        movable = node_pages - dma;   /* as the kernel: movablecore never eats the lower zones' */

    zone_init(pgdat, PA_ZONE_DMA, start_pfn, dma);
    zone_init(pgdat, PA_ZONE_DMA32, 0, 0);
    zone_init(pgdat, PA_ZONE_NORMAL, start_pfn + dma, node_pages - dma - movable);
    zone_init(pgdat, PA_ZONE_MOVABLE, start_pfn + node_pages - movable, movable);
    pgdat->node_start_pfn = start_pfn;
    pgdat->node_spanned_pages = node_pages;
    return 0;
}

static void set_node_cpu(int nid, int cpu)
{
    pa_mm.node_cpus[nid][cpu / 64] |= 1UL << (cpu % 64);
    pa_mm.cpu_to_node[cpu] = (int16_t)nid;
}

static bool node_has_cpus(int nid)
{
    for (size_t i = 0; i < ARRAY_SIZE(pa_mm.node_cpus[nid]); i++)
        if (pa_mm.node_cpus[nid][i])
            return true;
    return false;
}

int pa_nodes_init(const struct pa_os_topology *t)
{
    int n = pa_opt.numa_emulate > 0 ? pa_opt.numa_emulate : t->nr_nodes;
    size_t total = 0;
    for (int i = 0; i < t->nr_nodes; i++)
        total += t->node_mem[i];

    pa_mm.emulated = pa_opt.numa_emulate > 0;
    pa_mm.mbind_nodes = !pa_mm.emulated && t->nr_nodes > 1;
    pa_mm.nr_nodes = n;
    pa_mm.nr_cpus = t->nr_cpus;
    pa_mm.section_shift = arena_section_shift();

    /* distances: real SLIT, or under emulation the kernel's numa=fake
     * default of LOCAL within a node and REMOTE between logical nodes */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            pa_mm.distance[i][j] = pa_mm.emulated ? (i == j ? LOCAL_DISTANCE : REMOTE_DISTANCE)
                                                  : t->distance[i][j];
    for (int c = 0; c < t->nr_cpus; c++) {
        if (pa_mm.emulated)
            set_node_cpu(c % n, c);        /* the contract: CPU c on node c mod N */
        else
            set_node_cpu(t->cpu_to_node[c] >= 0 ? t->cpu_to_node[c] : 0, c);
    }

    unsigned long section_pages = 1UL << pa_mm.section_shift;
    unsigned long pfn = 0;
    for (int nid = 0; nid < n; nid++) {
        pg_data_t *pgdat = pa_os_alloc(sizeof(*pgdat));
        if (!pgdat)
            return -1;
        pgdat->node_id = nid;
        pgdat->phys_node = pa_mm.emulated ? t->node_id[0] : t->node_id[nid];
        pgdat->node_mem_bytes = pa_mm.emulated ? total / (size_t)n : t->node_mem[nid];
        mutex_init(&pgdat->grow_lock, LOCK_GROW, (unsigned int)nid);

        size_t limit = pa_opt.node_size ? pa_opt.node_size : pgdat->node_mem_bytes / 2;
        unsigned long node_pages = ALIGN_DOWN((unsigned long)(limit >> PAGE_SHIFT), MAX_ORDER_NR_PAGES);
        if (node_pages < 2 * MAX_ORDER_NR_PAGES)
            node_pages = 2 * MAX_ORDER_NR_PAGES;
        size_node(pgdat, pfn, node_pages);
        pfn += ALIGN_UP(node_pages, section_pages);   /* each node starts on a section */
        pa_mm.node_data[nid] = pgdat;
    }
    pa_mm.main_pages = pfn;
    pa_mm.low_start_pfn = pfn;
    if (pa_opt.dma32_size) {
        unsigned long pages = bytes_to_block_pages(pa_opt.dma32_size);
        zone_init(NODE_DATA(0), PA_ZONE_DMA32, pfn, pages);
        pfn += ALIGN_UP(pages, section_pages);
    }
    pa_mm.max_pfn = pfn;

    for (int nid = 0; nid < n; nid++) {
        pg_data_t *pgdat = NODE_DATA(nid);
        pgdat->nr_zones = 0;
        pgdat->node_present_pages = 0;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            if (populated_zone(&pgdat->node_zones[zid]))
                pgdat->nr_zones = zid + 1;
            pgdat->node_present_pages += pgdat->node_zones[zid].present_pages;
        }
    }
    build_all_zonelists();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Zonelists                                                           */
/* ------------------------------------------------------------------ */

static int node_load[MAX_NUMNODES];

/*
 * find_next_best_node(): the nearest unused node, preferring (by one unit
 * of distance) nodes without CPUs and nodes numbered after `node`, and
 * spreading equal-distance choices by node_load so that nodes at the same
 * distance do not all fall back onto the same one.
 */
static int find_next_best_node(int node, pa_nodemask_t *used)
{
    int best = -1, min_val = 1 << 30;

    if (!node_isset(node, used)) {
        node_set(node, used);
        return node;
    }
    for (int n = 0; n < pa_mm.nr_nodes; n++) {
        if (node_isset(n, used))
            continue;
        int val = pa_mm.distance[node][n];
        val += (n < node);
        if (node_has_cpus(n))
            val += 1;            /* PENALTY_FOR_NODE_WITH_CPUS */
        val *= MAX_NUMNODES;
        val += node_load[n];
        if (val < min_val) {
            min_val = val;
            best = n;
        }
    }
    if (best >= 0)
        node_set(best, used);
    return best;
}

static int build_zonerefs_node(pg_data_t *pgdat, struct zoneref *zr)
{
    int nr = 0;
    for (int zid = MAX_NR_ZONES - 1; zid >= 0; zid--) {
        struct zone *z = &pgdat->node_zones[zid];
        if (populated_zone(z)) {
            zr[nr].zone = z;
            zr[nr].zone_idx = zid;
            nr++;
        }
    }
    return nr;
}

static void build_zonelists(pg_data_t *pgdat)
{
    int local = pgdat->node_id, prev = local, nr = 0, order[MAX_NUMNODES];
    int load = pa_mm.nr_nodes, node;
    pa_nodemask_t used = {{0}};

    while ((node = find_next_best_node(local, &used)) >= 0) {
        /* equal-distance nodes get loaded so the next node picks another */
        if (pa_mm.distance[local][node] != pa_mm.distance[local][prev])
            node_load[node] += load;
        order[nr++] = node;
        prev = node;
        load--;
    }
    struct zoneref *zr = pgdat->node_zonelists[ZONELIST_FALLBACK]._zonerefs;
    int n = 0;
    for (int i = 0; i < nr; i++)
        n += build_zonerefs_node(NODE_DATA(order[i]), zr + n);
    zr[n].zone = NULL;
    zr[n].zone_idx = 0;

    zr = pgdat->node_zonelists[ZONELIST_NOFALLBACK]._zonerefs;
    n = build_zonerefs_node(pgdat, zr);
    zr[n].zone = NULL;
    zr[n].zone_idx = 0;
}

void build_all_zonelists(void)
{
    memset(node_load, 0, sizeof(node_load));
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        build_zonelists(NODE_DATA(nid));
}

/* ------------------------------------------------------------------ */
/* Public: nodes                                                       */
/* ------------------------------------------------------------------ */

PA_API int pa_num_nodes(void)
{
    pa_ensure_init();
    return pa_mm.nr_nodes;
}

PA_API int pa_node_distance(int a, int b)
{
    pa_ensure_init();
    if (!node_valid(a) || !node_valid(b)) {
        errno = EINVAL;
        return -1;
    }
    return pa_mm.distance[a][b];
}

PA_API int pa_numa_node_id(void)
{
    pa_ensure_init();
    return numa_node_id();
}

static const char *parse_node(const char *s, int *out)
{
    if (*s < '0' || *s > '9')
        return NULL;
    long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v >= MAX_NUMNODES)
            return NULL;
    }
    *out = (int)v;
    return s;
}

PA_API int pa_nodemask_parse(const char *s, pa_nodemask_t *mask)
{
    pa_ensure_init();
    return nodemask_parse(s, mask);
}

/* pa_nodemask_parse without the implicit init (used during init). */
int nodemask_parse(const char *s, pa_nodemask_t *mask)
{
    pa_nodemask_t m = {{0}};
    bool invert = false;

    if (!s || !mask)
        goto bad;
    if (*s == '!') {
        invert = true;
        s++;
    }
    if (!strcmp(s, "all")) {
        for (int n = 0; n < pa_mm.nr_nodes; n++)
            node_set(n, &m);
    } else {
        if (!*s)
            goto bad;
        for (;;) {
            int a, b;
            if (!(s = parse_node(s, &a)))
                goto bad;
            b = a;
            if (*s == '-' && !(s = parse_node(s + 1, &b)))
                goto bad;
            if (b < a || !node_valid(a) || !node_valid(b))
                goto bad;
            for (int n = a; n <= b; n++)
                node_set(n, &m);
            if (*s == 0)
                break;
            if (*s++ != ',')
                goto bad;
        }
    }
    if (invert) {
        pa_nodemask_t all = {{0}};
        for (int n = 0; n < pa_mm.nr_nodes; n++)
            if (!node_isset(n, &m))
                node_set(n, &all);
        m = all;
    }
    *mask = m;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

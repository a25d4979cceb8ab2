/* SPDX-License-Identifier: MIT */
/*
 * Nodes: the zone a GFP mask asks for, the zonelists that order the nodes
 * by distance as the kernel's build_zonelists() does, node masks, and the
 * public node calls.  mm_init.c makes the nodes and sizes their zones.
 */
#include "internal.h"

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
/* Zonelists                                                           */
/* ------------------------------------------------------------------ */

static int node_load[MAX_NUMNODES];

static bool node_has_cpus(int nid)
{
    for (size_t i = 0; i < ARRAY_SIZE(pa_mm.node_cpus[nid]); i++)
        if (pa_mm.node_cpus[nid][i])
            return true;
    return false;
}

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

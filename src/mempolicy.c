/* SPDX-License-Identifier: MIT */
/*
 * Memory policies (mm/mempolicy.c): which node an allocation prefers and
 * which nodes it may use.  Each thread has its own policy, or follows the
 * process default (PAGEALLOC_POLICY); each thread also has mems_allowed,
 * the cpuset analogue, which PA_GFP_HARDWALL enforces strictly.
 *
 *   DEFAULT, LOCAL   the node of the current CPU, falling back by distance
 *   PREFERRED        the given node first, then by distance from it
 *   BIND             only the given nodes (requests for zones below
 *                    policy_zone, e.g. DMA, are not restricted)
 *   INTERLEAVE       round-robin over the nodes, per thread
 *   WEIGHTED_INTERLEAVE  round-robin, `weight` pages per node per turn
 *   PREFERRED_MANY   the given nodes without reclaim, then any node
 */
#include "internal.h"
#include "pcp.h"

static struct pa_mempolicy default_policy = {.mode = PA_MPOL_DEFAULT, .home_node = NUMA_NO_NODE};
static uint8_t il_weights[MAX_NUMNODES];    /* weighted interleave, system-wide as sysfs */

#define NODEMASK_WORDS (MAX_NUMNODES / (8 * sizeof(unsigned long)))

static bool nodes_empty(const pa_nodemask_t *m)
{
    for (size_t i = 0; i < NODEMASK_WORDS; i++)
        if (m->bits[i])
            return false;
    return true;
}

static int first_node(const pa_nodemask_t *m)
{
    for (int n = 0; n < MAX_NUMNODES; n++)
        if (node_isset(n, m))
            return n;
    return MAX_NUMNODES;
}

/* The next node of m after prev, wrapping around (next_node_in). */
static int next_node_in(int prev, const pa_nodemask_t *m)
{
    for (int i = 1; i <= MAX_NUMNODES; i++) {
        int n = (prev + i) % MAX_NUMNODES;
        if (n >= 0 && node_isset(n, m))
            return n;
    }
    return MAX_NUMNODES;
}

static void nodes_and(pa_nodemask_t *dst, const pa_nodemask_t *a, const pa_nodemask_t *b)
{
    for (size_t i = 0; i < NODEMASK_WORDS; i++)
        dst->bits[i] = a->bits[i] & b->bits[i];
}

static bool nodes_within_existing(const pa_nodemask_t *m)
{
    for (int n = pa_mm.nr_nodes; n < MAX_NUMNODES; n++)
        if (node_isset(n, m))
            return false;
    return true;
}

static void all_nodes(pa_nodemask_t *m)
{
    memset(m, 0, sizeof(*m));
    for (int n = 0; n < pa_mm.nr_nodes; n++)
        node_set(n, m);
}

static const struct pa_mempolicy *effective_policy(const struct pa_thread *t)
{
    return t->has_mpol ? &t->mpol : &default_policy;
}

/* The fast path serves only what a local policy with no restriction would. */
static void mpol_update_fast(struct pa_thread *t)
{
    int mode = effective_policy(t)->mode;
    t->mpol_fast = (mode == PA_MPOL_DEFAULT || mode == PA_MPOL_LOCAL) && !t->mems_restricted &&
                   !pa_mm.has_cdm;
    /* the magazine table serves the fast path without looking at the
     * policy: a new policy starts it over (the general path refills it
     * only while mpol_fast holds) */
    mag_table_reset(t);
}

void mpol_thread_init(struct pa_thread *t)
{
    all_nodes(&t->mems_allowed);
    t->mems_restricted = false;
    t->has_mpol = false;
    t->il_prev = -1;
    t->il_weight = 0;
    mpol_update_fast(t);
}

/*
 * mpol_new() + mpol_set_nodemask(): check a mode and mask and build the
 * policy.  The nodes are limited to the thread's mems_allowed; a policy
 * left with no node is invalid.
 */
static int mpol_new(int mode, const pa_nodemask_t *nodes, const pa_nodemask_t *mems,
                    struct pa_mempolicy *out)
{
    pa_nodemask_t m = {{0}};
    bool empty = !nodes || nodes_empty(nodes);

    if (mode < 0 || mode >= PA_MPOL_MAX)
        return -1;
    if (nodes && !nodes_within_existing(nodes))
        return -1;
    switch (mode) {
    case PA_MPOL_DEFAULT:
    case PA_MPOL_LOCAL:
        if (!empty)
            return -1;   /* these take no nodes */
        break;
    case PA_MPOL_PREFERRED:
        if (empty) {     /* the kernel: PREFERRED with no node is LOCAL */
            mode = PA_MPOL_LOCAL;
            break;
        }
        /* fallthrough */
    default:
        if (empty)
            return -1;
        nodes_and(&m, nodes, mems);
        if (nodes_empty(&m))
            return -1;
        if (mode == PA_MPOL_PREFERRED) {
            /* the kernel keeps only the first node of a PREFERRED mask */
            int first = first_node(&m);
            memset(&m, 0, sizeof(m));
            node_set(first, &m);
        }
        break;
    }
    out->mode = mode;
    out->nodes = m;
    out->home_node = NUMA_NO_NODE;
    return 0;
}

PA_API int pa_set_mempolicy(int mode, const pa_nodemask_t *nodes)
{
    if (pa_init(NULL) != 0)
        return -1;
    struct pa_thread *t = pa_thread();
    struct pa_mempolicy pol;
    if (mpol_new(mode, nodes, &t->mems_allowed, &pol) != 0) {
        errno = EINVAL;
        return -1;
    }
    /* DEFAULT: drop the thread's own policy and follow the process default */
    t->has_mpol = pol.mode != PA_MPOL_DEFAULT;
    t->mpol = pol;
    t->il_prev = -1;
    t->il_weight = 0;
    mpol_update_fast(t);
    return 0;
}

PA_API int pa_get_mempolicy(int *mode, pa_nodemask_t *nodes)
{
    if (pa_init(NULL) != 0)
        return -1;
    if (!mode && !nodes) {
        errno = EINVAL;
        return -1;
    }
    const struct pa_mempolicy *pol = effective_policy(pa_thread());
    if (mode)
        *mode = pol->mode;
    if (nodes)
        *nodes = pol->nodes;
    return 0;
}

PA_API int pa_set_interleave_weight(int nid, unsigned int weight)
{
    if (pa_init(NULL) != 0)
        return -1;
    if (!node_valid(nid) || weight < 1 || weight > 255) {
        errno = EINVAL;
        return -1;
    }
    __atomic_store_n(&il_weights[nid], (uint8_t)weight, __ATOMIC_RELAXED);
    return 0;
}

PA_API int pa_get_interleave_weight(int nid)
{
    if (pa_init(NULL) != 0)
        return -1;
    if (!node_valid(nid)) {
        errno = EINVAL;
        return -1;
    }
    return __atomic_load_n(&il_weights[nid], __ATOMIC_RELAXED);
}

PA_API int pa_set_mems_allowed(const pa_nodemask_t *nodes)
{
    if (pa_init(NULL) != 0)
        return -1;
    struct pa_thread *t = pa_thread();
    pa_nodemask_t all, m;
    all_nodes(&all);
    if (nodes && (!nodes_within_existing(nodes) || nodes_empty(nodes))) {
        errno = EINVAL;
        return -1;
    }
    m = nodes ? *nodes : all;
    t->mems_allowed = m;
    t->mems_restricted = memcmp(&m, &all, sizeof(m)) != 0;
    /* as a cpuset change does, rebind the policy's nodes into the new set */
    if (t->has_mpol && !(t->mpol.mode == PA_MPOL_LOCAL)) {
        pa_nodemask_t n;
        nodes_and(&n, &t->mpol.nodes, &m);
        t->mpol.nodes = nodes_empty(&n) ? m : n;
    }
    mpol_update_fast(t);
    return 0;
}

PA_API int pa_get_mems_allowed(pa_nodemask_t *nodes)
{
    if (pa_init(NULL) != 0)
        return -1;
    if (!nodes) {
        errno = EINVAL;
        return -1;
    }
    *nodes = pa_thread()->mems_allowed;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing numactl's words                                             */
/* ------------------------------------------------------------------ */

/* "0:3,1:1" or "0-2": the nodes, and weights where given. */
static int parse_weighted(const char *s, pa_nodemask_t *m, uint8_t *weights)
{
    char buf[256];
    if (strlen(s) >= sizeof(buf))
        return -1;
    if (!strchr(s, ':'))
        return nodemask_parse(s, m);
    strcpy(buf, s);
    memset(m, 0, sizeof(*m));
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':'), *end;
        if (!colon)
            return -1;
        *colon = 0;
        pa_nodemask_t one;
        if (nodemask_parse(tok, &one) != 0)
            return -1;
        errno = 0;
        unsigned long w = strtoul(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || w < 1 || w > 255)
            return -1;
        for (int n = 0; n < pa_mm.nr_nodes; n++)
            if (node_isset(n, &one)) {
                node_set(n, m);
                weights[n] = (uint8_t)w;
            }
    }
    return nodes_empty(m) ? -1 : 0;
}

/* "default", "local", "bind=NODES", "preferred=NODE", "preferred-many=NODES",
 * "interleave=NODES", "weighted-interleave=NODE:W,..." into a policy. */
static int parse_policy(const char *spec, const pa_nodemask_t *mems, struct pa_mempolicy *pol,
                        uint8_t *weights, bool *set_weights)
{
    static const struct {
        const char *word;
        int mode;
    } words[] = {
        {"default", PA_MPOL_DEFAULT},     {"local", PA_MPOL_LOCAL},
        {"localalloc", PA_MPOL_LOCAL},    {"bind", PA_MPOL_BIND},
        {"membind", PA_MPOL_BIND},        {"preferred", PA_MPOL_PREFERRED},
        {"preferred-many", PA_MPOL_PREFERRED_MANY},
        {"interleave", PA_MPOL_INTERLEAVE},
        {"weighted-interleave", PA_MPOL_WEIGHTED_INTERLEAVE},
    };
    const char *eq = strchr(spec, '=');
    size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
    *set_weights = false;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
        if (strlen(words[i].word) != len || strncmp(spec, words[i].word, len))
            continue;
        int mode = words[i].mode;
        pa_nodemask_t m = {{0}};
        bool takes_nodes = mode != PA_MPOL_DEFAULT && mode != PA_MPOL_LOCAL;
        if (takes_nodes != (eq != NULL) || (eq && !eq[1]))
            return -1;
        if (mode == PA_MPOL_WEIGHTED_INTERLEAVE) {
            for (int n = 0; n < MAX_NUMNODES; n++)   /* another thread may be setting them */
                weights[n] = __atomic_load_n(&il_weights[n], __ATOMIC_RELAXED);
            if (parse_weighted(eq + 1, &m, weights) != 0)
                return -1;
            *set_weights = true;
        } else if (eq && nodemask_parse(eq + 1, &m) != 0) {
            return -1;
        }
        /* numactl --preferred takes one node */
        if (mode == PA_MPOL_PREFERRED && first_node(&m) != next_node_in(first_node(&m), &m))
            return -1;
        return mpol_new(mode, takes_nodes ? &m : NULL, mems, pol);
    }
    return -1;
}

PA_API int pa_set_mempolicy_str(const char *spec)
{
    if (pa_init(NULL) != 0)
        return -1;
    struct pa_thread *t = pa_thread();
    struct pa_mempolicy pol;
    uint8_t weights[MAX_NUMNODES];
    bool set_weights;
    if (!spec || parse_policy(spec, &t->mems_allowed, &pol, weights, &set_weights) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (set_weights)
        for (int n = 0; n < pa_mm.nr_nodes; n++)
            __atomic_store_n(&il_weights[n], weights[n], __ATOMIC_RELAXED);
    t->has_mpol = pol.mode != PA_MPOL_DEFAULT;
    t->mpol = pol;
    t->il_prev = -1;
    t->il_weight = 0;
    mpol_update_fast(t);
    return 0;
}

int pa_mempolicy_init(void)
{
    pa_nodemask_t all;
    all_nodes(&all);
    for (int n = 0; n < MAX_NUMNODES; n++)
        il_weights[n] = 1;

    /* policy_zone: the highest zone below Movable that has memory */
    pa_mm.policy_zone = PA_ZONE_DMA;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = PA_ZONE_MOVABLE - 1; zid > pa_mm.policy_zone; zid--)
            if (populated_zone(&NODE_DATA(nid)->node_zones[zid]))
                pa_mm.policy_zone = zid;

    if (pa_opt.cdm_nodes[0]) {
        pa_nodemask_t m;
        if (nodemask_parse(pa_opt.cdm_nodes, &m) != 0 ||
            !memcmp(&m, &all, sizeof(m))) {
            fprintf(stderr, "pagealloc: PAGEALLOC_CDM_NODES=\"%s\": not a list of existing nodes "
                            "leaving at least one ordinary node; using the default (none)\n",
                    pa_opt.cdm_nodes);
        } else {
            pa_mm.cdm_nodes = m;
            pa_mm.has_cdm = true;
        }
    }
    if (pa_opt.policy[0]) {
        struct pa_mempolicy pol;
        uint8_t weights[MAX_NUMNODES];
        bool set_weights;
        if (parse_policy(pa_opt.policy, &all, &pol, weights, &set_weights) != 0) {
            fprintf(stderr, "pagealloc: PAGEALLOC_POLICY=\"%s\": not a policy (use default, local, "
                            "bind=NODES, preferred=NODE, preferred-many=NODES, interleave=NODES or "
                            "weighted-interleave=NODE:WEIGHT,...); using the default (default)\n",
                    pa_opt.policy);
        } else {
            default_policy = pol;
            if (set_weights)
                memcpy(il_weights, weights, sizeof(il_weights));
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Allocation under a policy                                           */
/* ------------------------------------------------------------------ */

static int interleave_nodes(struct pa_thread *t, const struct pa_mempolicy *pol)
{
    int nid = next_node_in(t->il_prev, &pol->nodes);
    if (nid < MAX_NUMNODES)
        t->il_prev = nid;
    return nid < MAX_NUMNODES ? nid : numa_node_id();
}

/* weight pages on one node, then the next node of the mask */
static int weighted_interleave_nodes(struct pa_thread *t, const struct pa_mempolicy *pol)
{
    int nid = t->il_prev;
    if (!t->il_weight || nid < 0 || !node_isset(nid, &pol->nodes)) {
        nid = next_node_in(t->il_prev, &pol->nodes);
        if (nid >= MAX_NUMNODES)
            return numa_node_id();
        t->il_prev = nid;
        t->il_weight = __atomic_load_n(&il_weights[nid], __ATOMIC_RELAXED);
    }
    t->il_weight--;
    return nid;
}

/* A BIND policy restricts only requests that may use policy_zone or above. */
static bool apply_policy_zone(int zone)
{
    return zone >= pa_mm.policy_zone;
}

struct pa_page *alloc_pages_mpol(struct pa_thread *t, pa_gfp_t gfp, unsigned int order)
{
    const struct pa_mempolicy *pol = effective_policy(t);
    const pa_nodemask_t *nodemask = NULL;
    int nid = numa_node_id();
    struct pa_page *page;

    /* __GFP_THISNODE asks for the local node, not the policy's */
    if (gfp & PA_GFP_THISNODE)
        return __alloc_pages(gfp, order, nid, NULL);

    switch (pol->mode) {
    case PA_MPOL_PREFERRED:
        nid = first_node(&pol->nodes);
        break;
    case PA_MPOL_BIND:
        if (apply_policy_zone(gfp_zone(gfp)))
            nodemask = &pol->nodes;
        if (pol->home_node != NUMA_NO_NODE)
            nid = pol->home_node;
        break;
    case PA_MPOL_INTERLEAVE:
    case PA_MPOL_WEIGHTED_INTERLEAVE:
        nid = pol->mode == PA_MPOL_INTERLEAVE ? interleave_nodes(t, pol) : weighted_interleave_nodes(t, pol);
        page = __alloc_pages(gfp, order, nid, NULL);
        if (page && page->nid == nid)
            count_numa_event(page_zone(page), NUMA_INTERLEAVE_HIT);
        return page;
    case PA_MPOL_PREFERRED_MANY: {
        /* the preferred nodes cheaply first: no reclaim, no warning */
        pa_gfp_t preferred_gfp = (gfp | PA_GFP_NOWARN) & ~(PA_GFP_DIRECT_RECLAIM | PA_GFP_NOFAIL);
        if (pol->home_node != NUMA_NO_NODE)
            nid = pol->home_node;
        page = __alloc_pages(preferred_gfp, order, nid, &pol->nodes);
        if (page)
            return page;
        return __alloc_pages(gfp, order, nid, NULL);
    }
    default:   /* DEFAULT, LOCAL */
        break;
    }
    return __alloc_pages(gfp, order, nid, nodemask);
}

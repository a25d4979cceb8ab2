/* SPDX-License-Identifier: MIT */
/* Nodes and memory policy. */
#ifndef PAGEALLOC_MEMPOLICY_H
#define PAGEALLOC_MEMPOLICY_H

#include <pagealloc/config.h>
#include <pagealloc/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    unsigned long bits[PA_MAX_NUMNODES / (8 * sizeof(unsigned long))];
} pa_nodemask_t;

/* Memory policy modes, numbered as the kernel's MPOL_*. */
enum {
    PA_MPOL_DEFAULT,
    PA_MPOL_PREFERRED,
    PA_MPOL_BIND,
    PA_MPOL_INTERLEAVE,
    PA_MPOL_LOCAL,
    PA_MPOL_PREFERRED_MANY,
    PA_MPOL_WEIGHTED_INTERLEAVE,
    PA_MPOL_MAX
};

/* Number of nodes (real, or logical under PAGEALLOC_NUMA_EMULATE). */
PA_API int pa_num_nodes(void);
/* SLIT distance between two nodes (10 = local); -1 with EINVAL for a bad node. */
PA_API int pa_node_distance(int a, int b);
/* Node of the calling thread's CPU. */
PA_API int pa_numa_node_id(void);
/* Parse "0-2,5", "1,3", "all" (exactly the existing nodes, as numactl),
 * "!0" (all but).  -1 with EINVAL for bad syntax or a node that does not
 * exist; the mask is left unchanged then. */
PA_API int pa_nodemask_parse(const char *s, pa_nodemask_t *mask);

/*
 * The calling thread's memory policy (set_mempolicy(2)).  DEFAULT and LOCAL
 * take a NULL or empty mask; PREFERRED takes one node (an empty mask means
 * LOCAL); BIND, INTERLEAVE, WEIGHTED_INTERLEAVE and PREFERRED_MANY take a
 * non-empty mask of existing nodes, limited to the thread's mems_allowed.
 * DEFAULT makes the thread follow the process default (PAGEALLOC_POLICY).
 * -1 with EINVAL for a bad mode or mask; the policy is then unchanged.
 * Applies to pa_alloc_pages, pa_get_free_pages and pa_alloc_pages_exact;
 * pa_alloc_pages_node and PA_GFP_THISNODE name their node themselves.
 */
PA_API int pa_set_mempolicy(int mode, const pa_nodemask_t *nodes);
/* The policy in force for the calling thread (its own, or the default). */
PA_API int pa_get_mempolicy(int *mode, pa_nodemask_t *nodes);
/* The same in numactl's words, as PAGEALLOC_POLICY: "default", "local",
 * "bind=0-1", "preferred=1", "preferred-many=0,2", "interleave=all",
 * "weighted-interleave=0:3,1:1" (the weights are set system-wide). */
PA_API int pa_set_mempolicy_str(const char *spec);

/* Weighted interleave: pages per turn for a node, 1..255 (default 1),
 * system-wide like /sys/kernel/mm/mempolicy/weighted_interleave/nodeN. */
PA_API int pa_set_interleave_weight(int nid, unsigned int weight);
PA_API int pa_get_interleave_weight(int nid);

/* The calling thread's allowed nodes, the cpuset analogue (NULL: all).
 * Allocations try them first; PA_GFP_HARDWALL (in PA_GFP_USER) keeps them
 * there; others may fall back outside.  -1 with EINVAL for an empty mask or
 * a node that does not exist. */
PA_API int pa_set_mems_allowed(const pa_nodemask_t *nodes);
PA_API int pa_get_mems_allowed(pa_nodemask_t *nodes);

#ifdef __cplusplus
}
#endif
#endif

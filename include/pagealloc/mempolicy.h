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

#ifdef __cplusplus
}
#endif
#endif

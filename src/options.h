/* SPDX-License-Identifier: MIT */
/*
 * Configuration: options.c reads every environment variable and holds
 * every configuration value, in pa_opt.
 */
#ifndef PAGEALLOC_OPTIONS_H
#define PAGEALLOC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <pagealloc/pagealloc.h>

#include "compiler.h"

struct pa_options {
    size_t node_size;                  /* 0: half of each node's memory */
    enum pa_hugepages hugepages;       /* never UNSET after load */
    int numa_emulate;                  /* 0: off */
    size_t movablecore;                /* bytes per node, or ... */
    unsigned int movablecore_percent;  /* ... percent of each node */
    size_t dma_size;
    size_t dma32_size;
    char policy[256];                  /* "" = default */
    unsigned int debug;                /* PA_DEBUG_* */
    unsigned long min_free_kbytes;     /* 0: kernel formula */
    unsigned int watermark_scale_factor;
    unsigned int watermark_boost_factor; /* PAGEALLOC_WATERMARK_BOOST_FACTOR, 0 = off */
    char cdm_nodes[256];               /* PAGEALLOC_CDM_NODES: memory-only nodes */
    bool panic_on_oom;                 /* PAGEALLOC_PANIC_ON_OOM: abort with the report */
    char fail[256];                    /* PAGEALLOC_FAIL: fault injection spec, "" = off */
    unsigned int compaction_proactiveness; /* PAGEALLOC_COMPACTION_PROACTIVENESS 0..100 */
    unsigned int extfrag_threshold;    /* PAGEALLOC_EXTFRAG_THRESHOLD 0..1000 */
    unsigned int stats_interval_ms;    /* PAGEALLOC_STATS_INTERVAL: publish reports for pagealloc-stat, 0 = off */
    char stats[4096];                  /* "" = off, "stderr", or a path */
    bool prefault;                     /* PAGEALLOC_PREFAULT: populate sections as they come online */
    unsigned int pcp_mode;             /* PAGEALLOC_PCP: enum pa_pcp_mode, never UNSET after load */
    bool mobility_grouping;            /* PAGEALLOC_MOBILITY_GROUPING: off = page_group_by_mobility_disabled */
    bool pcp_magazine;                 /* PAGEALLOC_PCP_MAGAZINE: per-thread order-0 magazines */
    char cma[256];                     /* PAGEALLOC_CMA: "SIZE[@NODE],...", "" = no CMA areas */
    unsigned int dirty_ratio;          /* PAGEALLOC_DIRTY_RATIO: vm.dirty_ratio, percent */
    bool dynamic_hugetlb;              /* PAGEALLOC_DYNAMIC_HUGETLB: memcg pools allowed */
    unsigned int release_ms;           /* PAGEALLOC_RELEASE: report delay; PA_RELEASE_OFF = off */
    unsigned int release_order;        /* PAGEALLOC_RELEASE_ORDER: page_reporting_order */
    bool pressure;                     /* PAGEALLOC_PRESSURE: react to the cgroup's memory pressure */
    bool secure;                       /* AT_SECURE: environment was ignored */
};

extern PA_HIDDEN struct pa_options pa_opt;
#define PA_RELEASE_OFF 0xffffffffu     /* pa_opt.release_ms: "off" */

/* Defaults < environment < cfg.  Prints one message per bad value, naming
 * the variable and the default used; never fails. */
void pa_options_load(const struct pa_config *cfg);
unsigned int pa_options_debug(void);   /* for the shim */
const char *pa_option_env(size_t i);   /* row i's variable, NULL past the end */
const char *pa_option_cfg_field(size_t i);  /* row i's pa_config member */

/* "64M", "1G", "4096", "25%": bytes, or a percentage when percent != NULL.
 * 0, or -1 with EINVAL on bad syntax (ERANGE on overflow). */
int pa_parse_size(const char *s, size_t *bytes, unsigned int *percent);

#endif /* PAGEALLOC_OPTIONS_H */

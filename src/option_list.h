/* SPDX-License-Identifier: MIT */
/*
 * option_list.h: the name of every option of options.c, as an X-macro, so
 * that the code that has to know every option follows the table.
 *
 * X(ID) names the environment variable PAGEALLOC_<ID>.  options.c gives
 * each entry one row of its table (options[OPT_<ID>]; a row without an
 * entry does not compile, and an entry without a row is caught by
 * test_options), and the tests reset every variable with it
 * (t_env_reset in tests/pa_test.h).  A new option is one line here and
 * one row in options.c.
 *
 * Plain preprocessor text, no declarations: the tests include it without
 * linking the library's internals.
 */
#ifndef PAGEALLOC_OPTION_LIST_H
#define PAGEALLOC_OPTION_LIST_H

/* The library's options, read by pa_init (in the order of options[]). */
#define PA_OPTION_LIST(X)          \
    X(NODE_SIZE)                   \
    X(HUGEPAGES)                   \
    X(NUMA_EMULATE)                \
    X(MOVABLECORE)                 \
    X(DMA_SIZE)                    \
    X(DMA32_SIZE)                  \
    X(POLICY)                      \
    X(CDM_NODES)                   \
    X(PANIC_ON_OOM)                \
    X(FAIL)                        \
    X(COMPACTION_PROACTIVENESS)    \
    X(EXTFRAG_THRESHOLD)           \
    X(WATERMARK_BOOST_FACTOR)      \
    X(DEBUG)                       \
    X(MIN_FREE_KBYTES)             \
    X(WATERMARK_SCALE_FACTOR)      \
    X(STATS)                       \
    X(STATS_INTERVAL)              \
    X(PREFAULT)                    \
    X(PCP)                         \
    X(PCP_MAGAZINE)                \
    X(MOBILITY_GROUPING)           \
    X(CMA)                         \
    X(DIRTY_RATIO)                 \
    X(DYNAMIC_HUGETLB)             \
    X(RELEASE)                     \
    X(RELEASE_ORDER)               \
    X(PRESSURE)

/* The LD_PRELOAD shim's own options (PAGEALLOC_SHIM_<ID>), read through
 * the same parser by pa_shim_options_load, only in the shim. */
#define PA_SHIM_OPTION_LIST(X)     \
    X(SHIM_THRESHOLD)              \
    X(SHIM_CACHE)                  \
    X(SHIM_PROTECT)                \
    X(SHIM_STATS)

#endif /* PAGEALLOC_OPTION_LIST_H */

/* SPDX-License-Identifier: MIT */
/*
 * shim_options.h: the LD_PRELOAD shim's variables (PAGEALLOC_SHIM_*, listed
 * in option_list.h), read by options.c with the library's parser, checks
 * and messages.  Only the shim calls pa_shim_options_load: a program that
 * links the library alone never reads or reports these variables.
 */
#ifndef PAGEALLOC_SHIM_OPTIONS_H
#define PAGEALLOC_SHIM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* The longest mapping the shim serves: what pa_alloc_pages_exact gives at
 * MAX_ORDER 10. */
#define PA_SHIM_MAX_SERVED (4UL << 20)

struct pa_shim_options {
    size_t threshold;      /* PAGEALLOC_SHIM_THRESHOLD: shortest served mapping (0: any) */
    size_t cache;          /* PAGEALLOC_SHIM_CACHE: bytes of unmapped ranges kept, 0 = off */
    bool protect;          /* PAGEALLOC_SHIM_PROTECT: unmapped ranges fault on access */
    bool stats;            /* PAGEALLOC_SHIM_STATS: counters to stderr at exit */
    bool hugepages_set;    /* PAGEALLOC_HUGEPAGES is given: the shim's THP default yields */
};

/* Defaults < environment; a bad value gets one line naming the variable
 * and the default stays.  In a secure-execution process the environment
 * is ignored, as the library's. */
void pa_shim_options_load(struct pa_shim_options *so);
/* Row i's variable, NULL past the end (for the tests, as pa_option_env). */
const char *pa_shim_option_env(size_t i);

#endif /* PAGEALLOC_SHIM_OPTIONS_H */

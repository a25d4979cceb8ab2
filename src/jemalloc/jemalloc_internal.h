/* SPDX-License-Identifier: MIT */
/* Shared by the library (jemalloc.c) and the preload glue (preload.c);
 * nothing here is exported. */
#ifndef PAGEALLOC_JEMALLOC_INTERNAL_H
#define PAGEALLOC_JEMALLOC_INTERNAL_H

#include <pagealloc/gfp.h>
#include <pagealloc/jemalloc.h>

#include <stddef.h>

/* Give arena ind (created now if it is an automatic one not created yet)
 * the hooks with gfp and nid.  0, or -1 if jemalloc refuses. */
int je_hook_arena(unsigned int ind, pa_gfp_t gfp, int nid);

/* Give every automatic arena (those not created yet are created now) the
 * hooks, under the calling thread's policy at each extent (nid -1).
 * Returns the number of arenas hooked, -1 if jemalloc answers nothing;
 * *before is the bytes of extents the arenas held already, from jemalloc's
 * own hooks (what the heap has that is not libpagealloc's). */
int je_hook_automatic_arenas(pa_gfp_t gfp, size_t *before);

/* Hold every block arena ind can still hand out from memory that is not
 * libpagealloc's (extents it had before the hooks); the bytes held. */
size_t je_seal_foreign(unsigned int ind);

/* The counters of every arena with the hooks, added up. */
void je_totals(struct pa_jemalloc_stats *t);

#endif

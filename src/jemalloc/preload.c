/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc-jemalloc-preload.so: the shim (src/shim/shim.c, unchanged
 * but for one call) plus jemalloc's automatic arenas on libpagealloc.
 *
 *   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2:libpagealloc-jemalloc-preload.so prog
 *
 * which is what `pagealloc-run --malloc=jemalloc` sets.  jemalloc must come
 * first so that it is the program's malloc.  When the shim's constructor
 * has initialised libpagealloc it calls shim_malloc_ready(), which installs
 * the extent hooks in every automatic arena (mallctl arena.<i>.extent_hooks
 * creates the arenas not created yet, so threads started later get hooked
 * arenas too).  Extents are allocated under the calling thread's memory
 * policy, i.e. the run's PAGEALLOC_POLICY, with the shim's mask.  The
 * program's own mmaps are served by the shim as without this library.
 *
 * With the shim's statistics on (pagealloc-run --stats) one more line goes
 * to stderr at exit:
 *   pagealloc-jemalloc[PID]: arenas N served E contig C failed F foreign X ...
 * "served" counts heap extents that came from libpagealloc; "unserved_bytes"
 * is what the arenas held from jemalloc's own hooks when the hooks were
 * installed, "sealed_bytes" what of it was taken so that the program never
 * gets it, and "foreign" counts hook calls on such extents (refused, so
 * jemalloc keeps them).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <pagealloc/contig.h>
#include <pagealloc/gfp.h>
#include <pagealloc/pagealloc.h>

#include "jemalloc_internal.h"

/* The shim's mask for served memory, less zeroing (jemalloc asks for it
 * per extent). */
#define PRELOAD_GFP (PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN)

void shim_malloc_ready(int ok, int print_stats);

static bool print_stats;
static int nr_hooked;
static size_t unserved;   /* extents the arenas had before the hooks */
static size_t sealed;     /* of those, held so that the program never gets them */

/* Start libpagealloc's per-CPU list worker now, outside any hook: it is
 * started on the first free into a per-CPU list, and pthread_create callocs,
 * which a hook (called under jemalloc's arena growth lock) must not do. */
static void start_workers(void)
{
    struct pa_page *page = pa_alloc_pages(PRELOAD_GFP, 0);
    if (page)
        pa_free_pages(page, 0);
}

void shim_malloc_ready(int ok, int stats)
{
    print_stats = stats != 0;
    if (!ok) {
        if (stats)
            dprintf(2, "pagealloc-jemalloc[%d]: libpagealloc is not available; jemalloc's arenas keep "
                       "their own extents\n", (int)getpid());
        return;
    }
    start_workers();
    nr_hooked = je_hook_automatic_arenas(PRELOAD_GFP, &unserved);
    /* Only arena 0 can have had extents (the main thread's, for the
     * mallocs of libnuma's constructor and the dynamic linker): what it
     * could still hand out from them is taken now, so every malloc the
     * program makes lands on libpagealloc's pages. */
    if (unserved)
        sealed = je_seal_foreign(0);
}

__attribute__((destructor)) static void preload_dtor(void)
{
    if (!print_stats)
        return;
    struct pa_jemalloc_stats t;
    je_totals(&t);
    dprintf(2,
            "pagealloc-jemalloc[%d]: arenas %d served %lu contig %lu failed %lu new_addr %lu dalloc %lu "
            "destroy %lu purge %lu foreign %lu bytes %zu unserved_bytes %zu sealed_bytes %zu\n",
            (int)getpid(), nr_hooked, t.nr_alloc, t.nr_contig, t.nr_alloc_failed, t.nr_new_addr, t.nr_dalloc,
            t.nr_destroy, t.nr_purge, t.nr_foreign, t.bytes, unserved, sealed);
}

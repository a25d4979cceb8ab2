/* SPDX-License-Identifier: MIT */
/*
 * Counters and the /proc text reports: buddyinfo, zoneinfo, pagetypeinfo,
 * vmstat, and numastat(8)'s default table.  The layouts are the kernel's
 * (mm/vmstat.c) and numactl's, column for column, so scripts written for
 * the real files parse these unchanged.  Where we add lines (zoneinfo's
 * online_pfns and backing) they come after the kernel's, in the same
 * "  name:  value" shape, which existing parsers skip.
 *
 * Locking: counters are read with relaxed loads (no lock).  Free lists are
 * walked under the zone lock, one list at a time, with the counts copied
 * out; nothing is printed while a zone lock is held, because the allocator's
 * hot path spins on it and stdio may block.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Counter names (the kernel's vmstat_text spellings)                  */
/* ------------------------------------------------------------------ */

/* Each list is a macro so its length can be checked against the enum:
 * an array declared [N] in internal.h would otherwise silently accept
 * fewer names than items. */
#define VM_EVENT_NAMES                                                        \
    "pgalloc_dma", "pgalloc_dma32", "pgalloc_normal", "pgalloc_movable",     \
    "pgfree",                                                                \
    "allocstall_dma", "allocstall_dma32", "allocstall_normal",               \
    "allocstall_movable", "pgscan_kswapd", "pgscan_direct",                  \
    "pgsteal_kswapd", "pgsteal_direct", "pageoutrun", "slabs_scanned",       \
    "kswapd_low_wmark_hit_quickly", "kswapd_high_wmark_hit_quickly",         \
    "compact_migrate_scanned", "compact_free_scanned", "compact_isolated",   \
    "compact_stall", "compact_fail", "compact_success",                      \
    "compact_daemon_wake", "compact_daemon_migrate_scanned",                 \
    "compact_daemon_free_scanned", "pgmigrate_success", "pgmigrate_fail",    \
    "oom_kill",                                                              \
    "cma_alloc_success", "cma_alloc_fail",                                   \
    "pa_sections_onlined", "pa_alloc_fail", "pa_bad_page", "pa_fail_injected", \
    "pa_page_reports", "pa_pages_reported", "pa_pressure_events",          \
    "pa_sections_offlined"
#define ZONE_STAT_NAMES                                                       \
    "nr_free_pages", "nr_mlock", "nr_free_cma", "pa_nr_guard_pages",         \
    "pa_nr_reported_pages"
#define NUMA_STAT_NAMES                                                       \
    "numa_hit", "numa_miss", "numa_foreign", "numa_interleave",              \
    "numa_local", "numa_other"
/* numastat(8) prints the sysfs node/numastat names, not the vmstat ones. */
#define NUMASTAT_LABELS                                                       \
    "numa_hit", "numa_miss", "numa_foreign", "interleave_hit",               \
    "local_node", "other_node"

#define NR_NAMES(...) (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

const char *const vm_event_names[NR_VM_EVENT_ITEMS] = { VM_EVENT_NAMES };
const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = { ZONE_STAT_NAMES };
const char *const numa_stat_names[NR_VM_NUMA_EVENT_ITEMS] = { NUMA_STAT_NAMES };
static const char *const numastat_labels[NR_VM_NUMA_EVENT_ITEMS] = { NUMASTAT_LABELS };

_Static_assert(NR_NAMES(VM_EVENT_NAMES) == NR_VM_EVENT_ITEMS,
               "vm_event_names must name every enum vm_event_item");
_Static_assert(NR_NAMES(ZONE_STAT_NAMES) == NR_VM_ZONE_STAT_ITEMS,
               "zone_stat_names must name every enum zone_stat_item");
_Static_assert(NR_NAMES(NUMA_STAT_NAMES) == NR_VM_NUMA_EVENT_ITEMS,
               "numa_stat_names must name every enum numa_stat_item");
_Static_assert(NR_NAMES(NUMASTAT_LABELS) == NR_VM_NUMA_EVENT_ITEMS,
               "numastat_labels must name every enum numa_stat_item");

/* For a zone node.c left unnamed (an absent zone is still printed). */
static const char *const zone_names_fallback[MAX_NR_ZONES] = { "DMA", "DMA32", "Normal", "Movable" };

/* The kernel stops counting a free list here: the walk holds the zone lock. */
#define FREELIST_COUNT_CAP 100000UL

/* ------------------------------------------------------------------ */
/* Counter reads                                                       */
/* ------------------------------------------------------------------ */

static pg_data_t *stats_pgdat(int nid)
{
    return (nid >= 0 && nid < pa_mm.nr_nodes) ? pa_mm.node_data[nid] : NULL;
}

static const char *zone_label(const struct zone *z, int zid)
{
    return z->name ? z->name : zone_names_fallback[zid];
}

/* global_zone_page_state(): one zone counter summed over every zone. */
static unsigned long global_zone_state(enum zone_stat_item item)
{
    unsigned long sum = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = stats_pgdat(nid);
        if (!pgdat)
            continue;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            sum += zone_page_state(&pgdat->node_zones[zid], item);
    }
    return sum;
}

/* One NUMA event summed over the zones of a node. */
static unsigned long node_numa_state(int nid, enum numa_stat_item item)
{
    unsigned long sum = 0;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        sum += sum_zone_numa_event(nid, zid, item);
    return sum;
}

/* global_numa_event_state(). */
static unsigned long global_numa_state(enum numa_stat_item item)
{
    unsigned long sum = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        if (stats_pgdat(nid))
            sum += node_numa_state(nid, item);
    return sum;
}

/* NR_FILE_DIRTY of a node (dirty.c keeps it). */
static unsigned long node_dirty_pages(const pg_data_t *pgdat)
{
    long v = (long)__atomic_load_n(&pgdat->nr_dirty, __ATOMIC_RELAXED);
    return v < 0 ? 0 : (unsigned long)v;
}

static unsigned long node_zone_state(const pg_data_t *pgdat, enum zone_stat_item item)
{
    unsigned long sum = 0;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        sum += zone_page_state(&pgdat->node_zones[zid], item);
    return sum;
}

/* ------------------------------------------------------------------ */
/* Output: remember the first write error, report it at the end        */
/* ------------------------------------------------------------------ */

struct report {
    FILE *f;
    int err;            /* errno of the first failed write, 0 if none */
};

static void out(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(r->f, fmt, ap);
    va_end(ap);
    if (n < 0 && r->err == 0)
        r->err = errno ? errno : EIO;
}

/* Common entry of every pa_show_*: argument check, then make sure the
 * nodes exist so the reports work before the first allocation. */
static int report_begin(struct report *r, FILE *f)
{
    if (!f) {
        errno = EINVAL;
        return -1;
    }
    pa_ensure_init();
    if (!pa_initialized()) {
        if (errno == 0)
            errno = ENOMEM;
        return -1;
    }
    r->f = f;
    r->err = 0;
    return 0;
}

/* Flush so that a write error shows now rather than at fclose. */
static int report_end(struct report *r)
{
    if (fflush(r->f) == EOF && r->err == 0)
        r->err = errno ? errno : EIO;
    if (ferror(r->f)) {
        errno = r->err ? r->err : EIO;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* /proc/buddyinfo                                                     */
/* ------------------------------------------------------------------ */

int pa_show_buddyinfo(FILE *f)
{
    struct report r;
    if (report_begin(&r, f))
        return -1;

    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = stats_pgdat(nid);
        if (!pgdat)
            continue;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &pgdat->node_zones[zid];
            unsigned long nr_free[NR_PAGE_ORDERS];
            if (!populated_zone(z))
                continue;
            spin_lock(&z->lock);
            for (int order = 0; order < NR_PAGE_ORDERS; order++)
                nr_free[order] = z->free_area[order].nr_free;
            spin_unlock(&z->lock);

            out(&r, "Node %d, zone %8s ", pgdat->node_id, zone_label(z, zid));
            for (int order = 0; order < NR_PAGE_ORDERS; order++)
                out(&r, "%6lu ", nr_free[order]);
            out(&r, "\n");
        }
    }
    return report_end(&r);
}

/* ------------------------------------------------------------------ */
/* /proc/pagetypeinfo                                                  */
/* ------------------------------------------------------------------ */

static bool node_has_memory(const pg_data_t *pgdat)
{
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        if (populated_zone(&pgdat->node_zones[zid]))
            return true;
    return false;
}

/* Blocks on one free list, capped as the kernel caps them.  The lock is
 * taken per list so the hot path never waits for a whole zone's walk. */
static unsigned long count_free_list(struct zone *z, unsigned int order, int mt)
{
    unsigned long n = 0;
    struct list_head *pos;

    spin_lock(&z->lock);
    list_for_each(pos, &z->free_area[order].free_list[mt]) {
        if (++n >= FREELIST_COUNT_CAP)
            break;
    }
    spin_unlock(&z->lock);
    return n;
}

static void pagetypeinfo_showfree(struct report *r, pg_data_t *pgdat)
{
    out(r, "%-43s ", "Free pages count per migrate type at order");
    for (int order = 0; order < NR_PAGE_ORDERS; order++)
        out(r, "%6d ", order);
    out(r, "\n");

    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        if (!populated_zone(z))
            continue;
        for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
            unsigned long count[NR_PAGE_ORDERS];
            for (int order = 0; order < NR_PAGE_ORDERS; order++)
                count[order] = count_free_list(z, (unsigned int)order, mt);

            out(r, "Node %4d, zone %8s, type %12s ", pgdat->node_id, zone_label(z, zid),
                migratetype_names[mt]);
            for (int order = 0; order < NR_PAGE_ORDERS; order++)
                out(r, "%s%6lu ", count[order] >= FREELIST_COUNT_CAP ? ">" : "", count[order]);
            out(r, "\n");
        }
    }
}

static void pagetypeinfo_showblockcount(struct report *r, pg_data_t *pgdat)
{
    out(r, "\n%-23s", "Number of blocks type ");
    for (int mt = 0; mt < MIGRATE_TYPES; mt++)
        out(r, "%12s ", migratetype_names[mt]);
    out(r, "\n");

    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &pgdat->node_zones[zid];
        unsigned long count[MIGRATE_TYPES] = { 0 };
        if (!populated_zone(z))
            continue;

        /* Only the online part has pageblocks to speak of (the kernel
         * skips offline pfns the same way). */
        unsigned long end = __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE);
        for (unsigned long pfn = z->zone_start_pfn; pfn < end; pfn += pageblock_nr_pages) {
            if (!pfn_valid(pfn))
                continue;
            int mt = get_pfnblock_migratetype(pfn);
            if (mt < MIGRATE_TYPES)
                count[mt]++;
        }

        out(r, "Node %d, zone %8s ", pgdat->node_id, zone_label(z, zid));
        for (int mt = 0; mt < MIGRATE_TYPES; mt++)
            out(r, "%12lu ", count[mt]);
        out(r, "\n");
    }
}

int pa_show_pagetypeinfo(FILE *f)
{
    struct report r;
    if (report_begin(&r, f))
        return -1;

    /* As the kernel: the whole block once per node with memory. */
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = stats_pgdat(nid);
        if (!pgdat || !node_has_memory(pgdat))
            continue;
        out(&r, "Page block order: %d\n", (int)pageblock_order);
        out(&r, "Pages per block:  %lu\n", pageblock_nr_pages);
        out(&r, "\n");
        pagetypeinfo_showfree(&r, pgdat);
        pagetypeinfo_showblockcount(&r, pgdat);
    }
    return report_end(&r);
}

/* ------------------------------------------------------------------ */
/* /proc/zoneinfo                                                      */
/* ------------------------------------------------------------------ */

static bool is_zone_first_populated(const pg_data_t *pgdat, const struct zone *z)
{
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        if (populated_zone(&pgdat->node_zones[zid]))
            return z == &pgdat->node_zones[zid];
    return false;
}

/* "hugetlb-2M:3 thp:1": the node's online sections in the zone's online
 * range, counted by backing.  A section that straddles two zones counts
 * in both. */
static void show_pageset(struct report *r, const char *what, long id, const struct per_cpu_pages *pcp)
{
    out(r,
        "\n    %s: %ld"
        "\n              count:    %i"
        "\n              high:     %i"
        "\n              batch:    %i"
        "\n              high_min: %i"
        "\n              high_max: %i",
        what, id, __atomic_load_n(&pcp->count, __ATOMIC_RELAXED),
        __atomic_load_n(&pcp->high, __ATOMIC_RELAXED), pcp->batch, pcp->high_min, pcp->high_max);
}

struct thread_pagesets {
    struct report *r;
    const struct zone *z;
};

static void show_thread_pageset(struct pa_thread *t, void *arg)
{
    struct thread_pagesets *a = arg;
    if (!t->pcp)
        return;
    const struct per_cpu_pages *pcp =
        __atomic_load_n(&t->pcp[(size_t)a->z->node * MAX_NR_ZONES + a->z->zid], __ATOMIC_ACQUIRE);
    if (pcp)
        show_pageset(a->r, "thread", t->tid, pcp);
}

/* A thread's magazines of the zone (every migratetype), when it has used
 * them: the pages they hold and the most they may. */
static void show_thread_mags(struct pa_thread *t, void *arg)
{
    struct thread_pagesets *a = arg;
    const struct pa_magazine *mags = __atomic_load_n(&t->mags, __ATOMIC_ACQUIRE);
    if (!mags)
        return;
    unsigned long count = 0, high = 0;
    for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
        const struct pa_magazine *m = &mags[a->z->mag_slot + (unsigned int)mt];
        count += pa_relaxed_load(&m->n);
        high += pa_relaxed_load(&m->high);
    }
    if (count || high)
        out(a->r,
            "\n    magazine: %ld"
            "\n              count:    %lu"
            "\n              high:     %lu",
            (long)t->tid, count, high);
}

/* The kernel's pagesets block: count, high and batch of each CPU's lists
 * (PAGEALLOC_PCP=thread: of each thread's, by thread id), then each
 * thread's magazines, the per-thread part of the pcp (thread id, count,
 * high). */
static void zoneinfo_show_pagesets(struct report *r, const struct zone *z)
{
    struct thread_pagesets a = {r, z};
    out(r, "\n  pagesets");
    if (z->per_cpu_pageset) {
        for (int cpu = 0; cpu < pa_mm.nr_cpus; cpu++)
            show_pageset(r, "cpu", cpu, &z->per_cpu_pageset[cpu]);
    } else if (pa_opt.pcp_mode == PA_PCP_THREAD) {
        pa_for_each_thread(show_thread_pageset, &a);
    }
    if (pcp_magazines_on)
        pa_for_each_thread(show_thread_mags, &a);
}

static void zoneinfo_show_backing(struct report *r, const struct zone *z, unsigned long end)
{
    unsigned long count[PA_NR_BACKINGS] = { 0 };
    bool any = false;

    if (end > z->zone_start_pfn && pa_mm.sections) {
        unsigned long first = z->zone_start_pfn >> pa_mm.section_shift;
        unsigned long last = (end - 1) >> pa_mm.section_shift;
        for (unsigned long s = first; s <= last && s < pa_mm.nr_sections; s++) {
            const struct pa_section *sec = &pa_mm.sections[s];
            if (!__atomic_load_n(&sec->online, __ATOMIC_ACQUIRE) || sec->nid != z->node)
                continue;
            unsigned int b = __atomic_load_n(&sec->backing, __ATOMIC_RELAXED);
            if (b < PA_NR_BACKINGS)
                count[b]++;
        }
    }

    out(r, "\n  backing:            ");
    for (int b = 0; b < PA_NR_BACKINGS; b++) {
        if (count[b] == 0)
            continue;
        out(r, " %s:%lu", pa_backing_names[b], count[b]);
        any = true;
    }
    if (!any)
        out(r, " none");
}

static void zoneinfo_show_print(struct report *r, pg_data_t *pgdat, int zid)
{
    struct zone *z = &pgdat->node_zones[zid];
    int nid = pgdat->node_id;

    out(r, "Node %d, zone %8s", nid, zone_label(z, zid));
    if (is_zone_first_populated(pgdat, z)) {
        /* The kernel's node items (LRU sizes, dirty pages, ...) have no
         * counterpart here; the node's free pages and NUMA events do. */
        out(r, "\n  per-node stats");
        out(r, "\n      %-12s %lu", zone_stat_names[NR_FREE_PAGES],
            node_zone_state(pgdat, NR_FREE_PAGES));
        for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
            out(r, "\n      %-12s %lu", numa_stat_names[i],
                node_numa_state(nid, (enum numa_stat_item)i));
        out(r, "\n      %-12s %lu", "nr_dirty", node_dirty_pages(pgdat));
    }

    out(r,
        "\n  pages free     %lu"
        "\n        boost    %lu"
        "\n        min      %lu"
        "\n        low      %lu"
        "\n        high     %lu"
        "\n        promo    %lu"
        "\n        spanned  %lu"
        "\n        present  %lu"
        "\n        managed  %lu"
        "\n        cma      %lu",
        zone_page_state(z, NR_FREE_PAGES),
        __atomic_load_n(&z->watermark_boost, __ATOMIC_RELAXED),
        min_wmark_pages(z),
        low_wmark_pages(z),
        high_wmark_pages(z),
        wmark_pages(z, WMARK_PROMO),
        z->spanned_pages,
        z->present_pages,
        __atomic_load_n(&z->managed_pages, __ATOMIC_RELAXED),
        __atomic_load_n(&z->cma_pages, __ATOMIC_RELAXED));

    out(r, "\n        protection: (%ld", __atomic_load_n(&z->lowmem_reserve[0], __ATOMIC_RELAXED));
    for (int i = 1; i < MAX_NR_ZONES; i++)
        out(r, ", %ld", __atomic_load_n(&z->lowmem_reserve[i], __ATOMIC_RELAXED));
    out(r, ")");

    /* An empty zone stops here, as in the kernel. */
    if (!populated_zone(z)) {
        out(r, "\n");
        return;
    }

    for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
        out(r, "\n      %-12s %lu", zone_stat_names[i], zone_page_state(z, (enum zone_stat_item)i));
    for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
        out(r, "\n      %-12s %lu", numa_stat_names[i],
            sum_zone_numa_event(nid, zid, (enum numa_stat_item)i));

    zoneinfo_show_pagesets(r, z);
    /* "node_unreclaimable" is left out until reclaim keeps that state. */
    out(r, "\n  start_pfn:           %lu", z->zone_start_pfn);

    /* Ours: how much of the zone is online, and what backs it. */
    unsigned long end = __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE);
    out(r, "\n  online_pfns:         %lu", end > z->zone_start_pfn ? end - z->zone_start_pfn : 0UL);
    zoneinfo_show_backing(r, z, end);
    out(r, "\n");
}

int pa_show_zoneinfo(FILE *f)
{
    struct report r;
    if (report_begin(&r, f))
        return -1;

    /* Every zone of every node, populated or not (the kernel shows empty
     * zones too, so lowmem_reserve's effect on them is visible). */
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = stats_pgdat(nid);
        if (!pgdat)
            continue;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            zoneinfo_show_print(&r, pgdat, zid);
    }
    return report_end(&r);
}

/* ------------------------------------------------------------------ */
/* /proc/vmstat and single counters                                    */
/* ------------------------------------------------------------------ */

/* Node items (dirty pages) and the writeback threshold, summed over nodes. */
static unsigned long global_nr_dirty(void)
{
    unsigned long sum = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        sum += node_dirty_pages(NODE_DATA(nid));
    return sum;
}

static unsigned long global_dirty_threshold(void)
{
    unsigned long sum = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        sum += node_dirty_limit(NODE_DATA(nid));
    return sum;
}

static const struct {
    const char *name;
    unsigned long (*read)(void);
} node_items[] = {
    { "nr_dirty", global_nr_dirty },
    { "nr_dirty_threshold", global_dirty_threshold },
};

int pa_show_vmstat(FILE *f)
{
    struct report r;
    if (report_begin(&r, f))
        return -1;

    /* Kernel order: zone items, NUMA items, node items, writeback
     * thresholds, events. */
    for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
        out(&r, "%s %lu\n", zone_stat_names[i], global_zone_state((enum zone_stat_item)i));
    for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
        out(&r, "%s %lu\n", numa_stat_names[i], global_numa_state((enum numa_stat_item)i));
    for (size_t i = 0; i < ARRAY_SIZE(node_items); i++)
        out(&r, "%s %lu\n", node_items[i].name, node_items[i].read());
    for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
        out(&r, "%s %lu\n", vm_event_names[i], sum_vm_event((enum vm_event_item)i));
    return report_end(&r);
}

int pa_vmstat_get(const char *name, unsigned long *value)
{
    if (!name || !value) {
        errno = EINVAL;
        return -1;
    }
    pa_ensure_init();

    for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
        if (strcmp(name, zone_stat_names[i]) == 0) {
            *value = global_zone_state((enum zone_stat_item)i);
            return 0;
        }
    for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
        if (strcmp(name, numa_stat_names[i]) == 0) {
            *value = global_numa_state((enum numa_stat_item)i);
            return 0;
        }
    for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
        if (strcmp(name, vm_event_names[i]) == 0) {
            *value = sum_vm_event((enum vm_event_item)i);
            return 0;
        }
    for (size_t i = 0; i < ARRAY_SIZE(node_items); i++)
        if (strcmp(name, node_items[i].name) == 0) {
            *value = node_items[i].read();
            return 0;
        }
    errno = ENOENT;
    return -1;
}

/* ------------------------------------------------------------------ */
/* numastat(8)                                                         */
/* ------------------------------------------------------------------ */

/* numastat with no arguments: a blank 16-column label, one 16-wide
 * right-aligned "node<N>" column per node, then a left-aligned 16-column
 * row label per counter.  Not a terminal, so no line folding. */
int pa_show_numastat(FILE *f)
{
    struct report r;
    if (report_begin(&r, f))
        return -1;

    int nr = pa_mm.nr_nodes;
    unsigned long val[NR_VM_NUMA_EVENT_ITEMS][MAX_NUMNODES];
    for (int nid = 0; nid < nr; nid++)
        for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
            val[i][nid] = stats_pgdat(nid) ? node_numa_state(nid, (enum numa_stat_item)i) : 0;

    out(&r, "%16s", "");
    for (int nid = 0; nid < nr; nid++) {
        pg_data_t *pgdat = stats_pgdat(nid);
        char label[32];
        snprintf(label, sizeof(label), "node%d", pgdat ? pgdat->node_id : nid);
        out(&r, "%16s", label);
    }
    out(&r, "\n");
    for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++) {
        out(&r, "%-16s", numastat_labels[i]);
        for (int nid = 0; nid < nr; nid++)
            out(&r, "%16lu", val[i][nid]);
        out(&r, "\n");
    }
    return report_end(&r);
}

/* ------------------------------------------------------------------ */
/* PAGEALLOC_STATS: every report at exit                               */
/* ------------------------------------------------------------------ */

/* The report's path: PAGEALLOC_STATS with %p replaced by the process id
 * (so that each process of a forking program has its own file) and %% by
 * %.  -1 if it does not fit. */
int pa_stats_path(char *buf, size_t len, const char *spec, pid_t pid)
{
    size_t o = 0;
    for (const char *c = spec; *c; c++) {
        int n;
        if (c[0] == '%' && c[1] == 'p') {
            n = snprintf(buf + o, len - o, "%d", (int)pid);
            c++;
        } else if (c[0] == '%' && c[1] == '%') {
            n = snprintf(buf + o, len - o, "%%");
            c++;
        } else {
            n = snprintf(buf + o, len - o, "%c", *c);
        }
        if (n < 0 || (size_t)n >= len - o)
            return -1;
        o += (size_t)n;
    }
    if (o == 0)
        return -1;
    buf[o] = '\0';
    return 0;
}

/* Open the report file: created 0600, appended to, never through a
 * symbolic link (O_NOFOLLOW: a link planted in /tmp must not redirect a
 * privileged program's report), and not a regular file of another user.
 * NULL after a message naming the variable. */
static FILE *stats_open(void)
{
    char path[PATH_MAX];
    if (pa_stats_path(path, sizeof(path), pa_opt.stats, getpid()) != 0) {
        fprintf(stderr, "pagealloc: PAGEALLOC_STATS: the path is too long once %%p is expanded\n");
        return NULL;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    const char *why = NULL;
    struct stat st;
    if (fd < 0 && errno == ELOOP)
        why = "is a symbolic link; not following it";
    else if (fd < 0)
        why = strerror(errno);
    else if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (S_ISREG(st.st_mode) && st.st_uid != geteuid())
        why = "belongs to another user; not writing to it";
    FILE *f = why ? NULL : fdopen(fd, "a");
    if (!why && !f)
        why = strerror(errno);
    if (why) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "pagealloc: PAGEALLOC_STATS: %s %s\n", path, why);
    }
    return f;
}

static void stats_exit_report(void)
{
    FILE *f = stderr;
    bool to_file = strcmp(pa_opt.stats, "stderr") != 0;

    if (to_file && !(f = stats_open()))
        return;

    fprintf(f, "---- pagealloc stats (pid %d) ----\n", (int)getpid());
    pa_show_buddyinfo(f);
    pa_show_zoneinfo(f);
    pa_show_pagetypeinfo(f);
    pa_show_vmstat(f);
    pa_show_numastat(f);

    if (to_file)
        fclose(f);
    else
        fflush(f);
}

/* ------------------------------------------------------------------ */
/* Per-process publication for pagealloc-stat                          */
/* ------------------------------------------------------------------ */

/*
 * With PAGEALLOC_STATS_INTERVAL=MS a detached thread rewrites
 * /dev/shm/pagealloc.<pid> every MS milliseconds with all five reports.
 * Each rewrite goes to a fresh hidden file (mkostemp: O_CREAT|O_EXCL, mode
 * 0600, owner only) that is then rename()d over the published name, so a
 * reader always sees one whole snapshot.  The file is removed at exit.
 *
 * Layout (read by tools/pagealloc-stat.c):
 *     pagealloc-stats 1 pid <pid> seq <n> time <CLOCK_REALTIME s.ns>
 *     ==== buddyinfo        (then the report, likewise zoneinfo,
 *     ...                    pagetypeinfo, vmstat, numastat)
 *     ==== end
 */
#define STATS_PUBLISH_DIR "/dev/shm"

static struct mutex publish_lock = MUTEX_INITIALIZER(LOCK_STATS_PUBLISH);
static bool publish_stopped;         /* under publish_lock: exit has begun */
static pid_t publish_pid;            /* the pid whose file we own */
static unsigned long publish_seq;

static void publish_path(char *buf, size_t len, pid_t pid)
{
    snprintf(buf, len, STATS_PUBLISH_DIR "/pagealloc.%d", (int)pid);
}

/* Write one snapshot and rename it into place.  Silent on failure (a full
 * /dev/shm must not disturb the program); the previous snapshot stays. */
static void publish_locked(void)
{
    char path[64], tmp[80];
    pid_t pid = getpid();

    if (publish_stopped || pid != publish_pid)
        return;          /* exiting, or a forked child: the file is the parent's */
    publish_path(path, sizeof(path), pid);
    snprintf(tmp, sizeof(tmp), STATS_PUBLISH_DIR "/.pagealloc.%d.XXXXXX", (int)pid);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "pagealloc-stats 1 pid %d seq %lu time %lld.%09ld\n", (int)pid, ++publish_seq,
            (long long)ts.tv_sec, ts.tv_nsec);
    int rc = 0;
    fputs("==== buddyinfo\n", f);
    rc |= pa_show_buddyinfo(f);
    fputs("==== zoneinfo\n", f);
    rc |= pa_show_zoneinfo(f);
    fputs("==== pagetypeinfo\n", f);
    rc |= pa_show_pagetypeinfo(f);
    fputs("==== vmstat\n", f);
    rc |= pa_show_vmstat(f);
    fputs("==== numastat\n", f);
    rc |= pa_show_numastat(f);
    fputs("==== end\n", f);
    if (fchmod(fd, 0600) != 0)     /* exact mode whatever the umask */
        rc = -1;
    if (fclose(f) == EOF)
        rc = -1;
    if (rc != 0 || rename(tmp, path) != 0)
        unlink(tmp);
}

/* One snapshot now (also usable by the program itself between ticks).
 * Does nothing unless publication was started by PAGEALLOC_STATS_INTERVAL. */
void pa_stats_publish(void)
{
    mutex_lock(&publish_lock);
    publish_locked();
    mutex_unlock(&publish_lock);
}

static void publish_exit(void)
{
    char path[64];

    mutex_lock(&publish_lock);
    if (!publish_stopped && getpid() == publish_pid) {
        publish_path(path, sizeof(path), publish_pid);
        unlink(path);
    }
    publish_stopped = true;
    mutex_unlock(&publish_lock);
}

/* A fork child has no publisher thread, and the lock may have been held by
 * it at the fork: start the child with a fresh, unlocked one.  (Held across
 * stdio and every statistics lock: not across fork.) */
void stats_publish_fork_child(void)
{
    mutex_init(&publish_lock, LOCK_STATS_PUBLISH, 0);
}

static void *publish_thread(void *arg)
{
    unsigned int ms = (unsigned int)(uintptr_t)arg;
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    for (;;) {
        pa_stats_publish();
        mutex_lock(&publish_lock);
        bool stop = publish_stopped;
        mutex_unlock(&publish_lock);
        if (stop)
            return NULL;
        nanosleep(&ts, NULL);
    }
}

static void stats_publish_start(void)
{
    unsigned int ms = pa_opt.stats_interval_ms;
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;

    if (ms == 0)
        return;
    publish_pid = getpid();
    if (atexit(publish_exit) != 0) {
        fprintf(stderr, "pagealloc: PAGEALLOC_STATS_INTERVAL: cannot register the exit hook\n");
        return;
    }
    /* The thread takes no signals: they stay with the program's threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&tid, &attr, publish_thread, (void *)(uintptr_t)ms) != 0)
            fprintf(stderr, "pagealloc: PAGEALLOC_STATS_INTERVAL: cannot start the publisher thread\n");
        pthread_attr_destroy(&attr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void pa_stats_init(void)
{
    static atomic_bool registered, publishing;

    if (!atomic_exchange(&publishing, true))
        stats_publish_start();
    if (pa_opt.stats[0] == '\0')
        return;
    if (atomic_exchange(&registered, true))
        return;
    if (atexit(stats_exit_report) != 0)
        fprintf(stderr, "pagealloc: PAGEALLOC_STATS: cannot register the exit report\n");
}

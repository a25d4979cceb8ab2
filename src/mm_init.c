/* SPDX-License-Identifier: MIT */
/*
 * Initialisation, as the kernel's mm/mm_init.c: pa_init brings the library
 * up in order (options, topology, nodes and zones, arenas, watermarks,
 * pagesets, then each mechanism's own state); pa_nodes_init gives every
 * node its pglist_data and sizes its zones from the configuration;
 * memmap_init makes the descriptors of a range coming online pages of
 * their zone (arena.c calls it as each section comes online).
 */
#include "internal.h"

/* ------------------------------------------------------------------ */
/* Nodes and zones (free_area_init)                                   */
/* ------------------------------------------------------------------ */

static const char *const zone_names[MAX_NR_ZONES] = {"DMA", "DMA32", "Normal", "Movable"};

static void zone_init(pg_data_t *pgdat, enum pa_zone_type zid, unsigned long start, unsigned long pages)
{
    struct zone *z = &pgdat->node_zones[zid];
    z->zone_pgdat = pgdat;
    z->node = pgdat->node_id;
    z->zid = zid;
    z->mag_slot = pageblock_mag_slot(pgdat->node_id, zid, 0);
    pa_mm.zone_table[(size_t)pgdat->node_id * MAX_NR_ZONES + zid] = z;
    z->name = zone_names[zid];
    z->zone_start_pfn = start;
    z->spanned_pages = pages;
    /* capacity: what can come online; online pages are tracked separately */
    z->present_pages = pages;
    z->managed_pages = pages;
    z->online_end_pfn = start;
    spin_lock_init(&z->lock, LOCK_ZONE, (unsigned int)pgdat->node_id * MAX_NR_ZONES + zid);
    for (int o = 0; o < NR_PAGE_ORDERS; o++)
        for (int mt = 0; mt < MIGRATE_TYPES; mt++)
            INIT_LIST_HEAD(&z->free_area[o].free_list[mt]);
}

static unsigned long bytes_to_block_pages(size_t bytes)
{
    unsigned long pages = (unsigned long)(bytes >> PAGE_SHIFT);
    return ALIGN_UP(pages, MAX_ORDER_NR_PAGES);
}

/* Zone boundaries are MAX_ORDER aligned so that buddies never cross them. */
static int size_node(pg_data_t *pgdat, unsigned long start_pfn, unsigned long node_pages)
{
    int nid = pgdat->node_id;
    unsigned long dma = 0, movable = 0;

    if (nid == 0 && pa_opt.dma_size) {
        dma = bytes_to_block_pages(pa_opt.dma_size);
        if (dma > node_pages / 2) {
            fprintf(stderr, "pagealloc: ZONE_DMA (PAGEALLOC_DMA_SIZE, 16M by default) is more than half "
                            "of node 0 (%lu MiB); using %lu MiB\n", (node_pages << PAGE_SHIFT) >> 20,
                    ((node_pages / 2) << PAGE_SHIFT) >> 20);
            dma = ALIGN_DOWN(node_pages / 2, MAX_ORDER_NR_PAGES);
        }
    }
    if (pa_opt.movablecore_percent)
        movable = ALIGN_UP(node_pages / 100 * pa_opt.movablecore_percent, MAX_ORDER_NR_PAGES);
    else if (pa_opt.movablecore)
        movable = bytes_to_block_pages(pa_opt.movablecore);
    if (movable > node_pages - dma)
        movable = node_pages - dma;   /* as the kernel: movablecore never eats the lower zones' */

    zone_init(pgdat, PA_ZONE_DMA, start_pfn, dma);
    zone_init(pgdat, PA_ZONE_DMA32, 0, 0);
    zone_init(pgdat, PA_ZONE_NORMAL, start_pfn + dma, node_pages - dma - movable);
    zone_init(pgdat, PA_ZONE_MOVABLE, start_pfn + node_pages - movable, movable);
    pgdat->node_start_pfn = start_pfn;
    pgdat->node_spanned_pages = node_pages;
    return 0;
}

static void set_node_cpu(int nid, int cpu)
{
    pa_mm.node_cpus[nid][cpu / 64] |= 1UL << (cpu % 64);
    pa_mm.cpu_to_node[cpu] = (int16_t)nid;
}


static int pa_nodes_init(const struct pa_os_topology *t)
{
    int n = pa_opt.numa_emulate > 0 ? pa_opt.numa_emulate : t->nr_nodes;
    size_t total = 0;
    for (int i = 0; i < t->nr_nodes; i++)
        total += t->node_mem[i];

    pa_mm.emulated = pa_opt.numa_emulate > 0;
    pa_mm.mbind_nodes = !pa_mm.emulated && t->nr_nodes > 1;
    pa_mm.nr_nodes = n;
    __atomic_store_n(&order0_detour, n > 1 ? DETOUR_NUMA : 0, __ATOMIC_RELAXED);
    pa_mm.nr_cpus = t->nr_cpus;
    pa_mm.section_shift = arena_section_shift();

    /* distances: real SLIT, or under emulation the kernel's numa=fake
     * default of LOCAL within a node and REMOTE between logical nodes */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            pa_mm.distance[i][j] = pa_mm.emulated ? (i == j ? LOCAL_DISTANCE : REMOTE_DISTANCE)
                                                  : t->distance[i][j];
    for (int c = 0; c < t->nr_cpus; c++) {
        if (pa_mm.emulated)
            set_node_cpu(c % n, c);        /* the contract: CPU c on node c mod N */
        else
            set_node_cpu(t->cpu_to_node[c] >= 0 ? t->cpu_to_node[c] : 0, c);
    }

    unsigned long section_pages = 1UL << pa_mm.section_shift;
    unsigned long pfn = 0;
    for (int nid = 0; nid < n; nid++) {
        pg_data_t *pgdat = pa_os_alloc(sizeof(*pgdat));
        if (!pgdat)
            return -1;
        pgdat->node_id = nid;
        pgdat->phys_node = pa_mm.emulated ? t->node_id[0] : t->node_id[nid];
        pgdat->node_mem_bytes = pa_mm.emulated ? total / (size_t)n : t->node_mem[nid];
        mutex_init(&pgdat->grow_lock, LOCK_GROW, (unsigned int)nid);

        size_t limit = pa_opt.node_size ? pa_opt.node_size : pgdat->node_mem_bytes / 2;
        unsigned long node_pages = ALIGN_DOWN((unsigned long)(limit >> PAGE_SHIFT), MAX_ORDER_NR_PAGES);
        if (node_pages < 2 * MAX_ORDER_NR_PAGES)
            node_pages = 2 * MAX_ORDER_NR_PAGES;
        size_node(pgdat, pfn, node_pages);
        pfn += ALIGN_UP(node_pages, section_pages);   /* each node starts on a section */
        pa_mm.node_data[nid] = pgdat;
    }
    pa_mm.main_pages = pfn;
    pa_mm.low_start_pfn = pfn;
    if (pa_opt.dma32_size) {
        unsigned long pages = bytes_to_block_pages(pa_opt.dma32_size);
        zone_init(NODE_DATA(0), PA_ZONE_DMA32, pfn, pages);
        pfn += ALIGN_UP(pages, section_pages);
    }
    pa_mm.max_pfn = pfn;

    for (int nid = 0; nid < n; nid++) {
        pg_data_t *pgdat = NODE_DATA(nid);
        pgdat->nr_zones = 0;
        pgdat->node_present_pages = 0;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            if (populated_zone(&pgdat->node_zones[zid]))
                pgdat->nr_zones = zid + 1;
            pgdat->node_present_pages += pgdat->node_zones[zid].present_pages;
        }
    }
    build_all_zonelists();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Page descriptors                                                   */
/* ------------------------------------------------------------------ */

/* memmap_init: descriptors of [start, end) become pages of z. */
void memmap_init(struct zone *z, unsigned long start, unsigned long end)
{
    for (unsigned long pfn = start; pfn < end; pfn++) {
        struct pa_page *p = pfn_to_page(pfn);
        memset(p, 0, sizeof(*p));
        p->nid = (uint16_t)z->node;
        p->zid = (uint8_t)z->zid;
    }
    for (unsigned long pfn = start; pfn < end; pfn += pageblock_nr_pages) {
        pa_mm.pageblock_flags[pfn >> pageblock_order] = MIGRATE_MOVABLE;
        __atomic_store_n(&pa_mm.pageblock_mag[pfn >> pageblock_order],
                         pageblock_mag_slot(z->node, z->zid, MIGRATE_MOVABLE), __ATOMIC_RELAXED);
    }
}

/* ------------------------------------------------------------------ */
/* pa_init                                                            */
/* ------------------------------------------------------------------ */

static struct mutex init_lock = MUTEX_INITIALIZER(LOCK_INIT);
static struct pa_os_topology topology;

static int do_init(const struct pa_config *cfg)
{
    pa_options_load(cfg);
    lockdep_init();
    pa_guard_init();   /* before the arenas: guard pages want 4 KiB backing */
    if (pa_os_discover(&topology) != 0 || pa_nodes_init(&topology) != 0 || pa_arena_init() != 0 ||
        pa_mempolicy_init() != 0)
        return -1;
    unsigned long total = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        total += NODE_DATA(nid)->node_present_pages;
    /* as the kernel: too little memory to group by mobility usefully */
    page_group_by_mobility_disabled = !pa_opt.mobility_grouping ||
                                      total < pageblock_nr_pages * MIGRATE_TYPES;
    setup_per_zone_lowmem_reserve();
    setup_per_zone_wmarks();
    if (pa_pcp_init() != 0 || fast_tables_init() != 0 || pa_reclaim_init() != 0 ||
        pa_compaction_init() != 0 || pa_oom_init() != 0 || pa_memcg_init() != 0)
        return -1;
    fail_page_alloc_init();
    if (pa_opt.debug & PA_DEBUG_OWNER)
        pa_page_owner_init();
    pa_threads_init();
    pa_stats_init();
    pa_page_reporting_init();
    return 0;
}

/* States of pa_mm.initialized: 0 not yet, 1 in progress, 2 done, -1 failed. */
PA_API int pa_init(const struct pa_config *cfg)
{
    int state = atomic_load_explicit(&pa_mm.initialized, memory_order_acquire);
    if (likely(state == 2))
        return 0;
    mutex_lock(&init_lock);
    state = atomic_load_explicit(&pa_mm.initialized, memory_order_relaxed);
    if (state == 0) {
        atomic_store_explicit(&pa_mm.initialized, 1, memory_order_relaxed);
        state = do_init(cfg) == 0 ? 2 : -1;
        if (state < 0)
            fprintf(stderr, "pagealloc: initialisation failed; allocations will return NULL\n");
        atomic_store_explicit(&pa_mm.initialized, state, memory_order_release);
        /* CMA areas come online through the arena, which counts events in
         * the per-thread state: only once the library is up */
        if (state == 2)
            pa_cma_init();
    }
    mutex_unlock(&init_lock);
    if (state != 2) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void pa_ensure_init(void)
{
    if (likely(pa_initialized()))
        return;
    pa_init(NULL);
}

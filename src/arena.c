/* SPDX-License-Identifier: MIT */
/*
 * Arenas: the pfn space, its descriptors, and sections coming online.
 *
 * One virtual range per node is reserved at init (PROT_NONE, MAP_NORESERVE:
 * no memory is committed).  A zone grows a section at a time, the
 * userspace analogue of memory hotplug: the section's memory is mapped with
 * the first backing that works (hugetlb 1G -> 2M -> THP -> 4 KiB), bound to
 * its node with mbind, its descriptors are initialised, and its pages are
 * freed into the zone's buddy.  All system calls happen before the zone
 * lock is taken; only the final hand-over to the buddy runs under it.
 * A free section at the top of a zone can go offline again
 * (arena_offline_section), as memory hot-remove does.
 */
#include "internal.h"

const char *const pa_backing_names[PA_NR_BACKINGS] = {
    [PA_BACKING_NONE] = "none",
    [PA_BACKING_HUGETLB_1G] = "hugetlb-1G",
    [PA_BACKING_HUGETLB_2M] = "hugetlb-2M",
    [PA_BACKING_THP] = "thp",
    [PA_BACKING_4K] = "4k",
};

#define SECTION_SHIFT_128M (27 - PAGE_SHIFT)
#define SECTION_SHIFT_1G   (30 - PAGE_SHIFT)

unsigned int arena_section_shift(void)
{
    if (pa_opt.hugepages == PA_HUGEPAGES_1G)
        return SECTION_SHIFT_1G;
    if (pa_opt.hugepages == PA_HUGEPAGES_AUTO && pa_os_free_hugepages(-1, 1UL << 20) > 0)
        return SECTION_SHIFT_1G;
    return SECTION_SHIFT_128M;
}

static enum pa_backing first_backing(void)
{
    switch (pa_opt.hugepages) {
    case PA_HUGEPAGES_1G:
        return PA_BACKING_HUGETLB_1G;
    case PA_HUGEPAGES_AUTO:
        return pa_mm.section_shift == SECTION_SHIFT_1G ? PA_BACKING_HUGETLB_1G
                                                       : PA_BACKING_HUGETLB_2M;
    case PA_HUGEPAGES_2M:
        return PA_BACKING_HUGETLB_2M;
    case PA_HUGEPAGES_THP:
        return PA_BACKING_THP;
    default:
        return PA_BACKING_4K;
    }
}

static size_t desc_bytes(unsigned long pages) { return pages * sizeof(struct pa_page); }

/*
 * Fork with hugetlb backing.  Hugetlb arenas are private mappings: after a
 * fork, the first write by either process to a shared hugepage copies it
 * into a page from the hugetlb pool, and with none spare the writer gets
 * SIGBUS (the kernel's rule for MAP_PRIVATE hugetlb).  At fork, when the
 * pool has fewer free hugepages than the arenas hold, say so once and how
 * to avoid it.
 */
void arena_fork_prepare(void)
{
    static atomic_bool warned;
    static const struct {
        enum pa_backing b;
        unsigned long kb;
    } sizes[] = { { PA_BACKING_HUGETLB_2M, 2048 }, { PA_BACKING_HUGETLB_1G, 1048576 } };
    if (atomic_load_explicit(&warned, memory_order_relaxed))
        return;
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        unsigned long held = 0;
        for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
            held += __atomic_load_n(&NODE_DATA(nid)->backing_pages[sizes[i].b], __ATOMIC_RELAXED);
        held /= sizes[i].kb / 4;
        unsigned long spare = held ? pa_os_free_hugepages(-1, sizes[i].kb) : 0;
        if (held && spare < held && !atomic_exchange(&warned, true))
            fprintf(stderr, "pagealloc: fork with %lu hugetlb pages of %lu kB in the arenas and %lu free in "
                            "the pool: a process that writes to memory it shares with the other will die "
                            "with SIGBUS once the pool runs out; PAGEALLOC_HUGEPAGES=thp avoids it\n",
                    held, sizes[i].kb, spare);
    }
}

int pa_arena_init(void)
{
    unsigned long section_pages = 1UL << pa_mm.section_shift;
    size_t section_bytes = (size_t)section_pages << PAGE_SHIFT;

    pa_mm.first_backing = first_backing();
    pa_mm.main_base = pa_os_reserve((size_t)pa_mm.main_pages << PAGE_SHIFT, section_bytes, false);
    if (!pa_mm.main_base) {
        fprintf(stderr, "pagealloc: cannot reserve %lu MiB of address space: %s\n",
                (pa_mm.main_pages << PAGE_SHIFT) >> 20, strerror(errno));
        return -1;
    }
    if (pa_mm.max_pfn > pa_mm.main_pages) {
        struct zone *z = &NODE_DATA(0)->node_zones[PA_ZONE_DMA32];
        size_t len = (size_t)(pa_mm.max_pfn - pa_mm.low_start_pfn) << PAGE_SHIFT;
        pa_mm.low_base = pa_os_reserve(len, MAX_ORDER_NR_PAGES << PAGE_SHIFT, true);
        if (!pa_mm.low_base) {
            fprintf(stderr, "pagealloc: cannot reserve %zu MiB below 4 GiB for ZONE_DMA32 (%s); "
                            "ZONE_DMA32 stays empty\n", len >> 20, strerror(errno));
            z->spanned_pages = z->present_pages = z->managed_pages = 0;
            pa_mm.max_pfn = pa_mm.main_pages;
            build_all_zonelists();
        }
    }
    pa_mm.pages = pa_os_reserve(desc_bytes(pa_mm.max_pfn), 2UL << 20, false);
    /* descriptors of offline sections read as zeros (refcount 0: "not
     * allocated"), so the fast free path needs no section lookup first */
    if (pa_mm.pages && pa_os_protect_read(pa_mm.pages, desc_bytes(pa_mm.max_pfn)) != 0)
        pa_mm.pages = NULL;
    pa_mm.nr_sections = pa_mm.max_pfn >> pa_mm.section_shift;
    pa_mm.sections = pa_os_alloc(pa_mm.nr_sections * sizeof(struct pa_section));
    pa_mm.pageblock_flags = pa_os_alloc(pa_mm.max_pfn >> pageblock_order);
    pa_mm.pageblock_mag = pa_os_alloc((pa_mm.max_pfn >> pageblock_order) * sizeof(uint16_t));
    if (!pa_mm.pages || !pa_mm.sections || !pa_mm.pageblock_flags || !pa_mm.pageblock_mag) {
        fprintf(stderr, "pagealloc: cannot reserve the page descriptors: %s\n", strerror(errno));
        return -1;
    }
    /* which node owns each section, and how many pages it really has */
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        pg_data_t *pgdat = NODE_DATA(nid);
        unsigned long end = pgdat->node_start_pfn + pgdat->node_spanned_pages;
        for (unsigned long pfn = pgdat->node_start_pfn; pfn < end; pfn += section_pages) {
            struct pa_section *s = pfn_to_section(pfn);
            s->nid = (uint16_t)nid;
            s->nr_pages = (uint32_t)PA_MIN(section_pages, end - pfn);
            s->addr = pfn_to_virt(pfn);
        }
    }
    for (unsigned long pfn = pa_mm.low_start_pfn; pfn < pa_mm.max_pfn; pfn += section_pages) {
        struct pa_section *s = pfn_to_section(pfn);
        s->nid = 0;
        s->nr_pages = (uint32_t)PA_MIN(section_pages, pa_mm.max_pfn - pfn);
        s->addr = pfn_to_virt(pfn);
    }
    return 0;
}

/* Map a section's memory and descriptors; called with the node's grow_lock. */
static int section_online(pg_data_t *pgdat, struct pa_section *s, unsigned long start_pfn)
{
    size_t bytes = (size_t)s->nr_pages << PAGE_SHIFT;
    void *desc = pfn_to_page(start_pfn);
    size_t dbytes = ALIGN_UP(desc_bytes(s->nr_pages), PAGE_SIZE);

    if (pa_os_commit(desc, dbytes, PA_BACKING_THP, false) == PA_BACKING_NONE) {
        pa_os_protect_read(desc, dbytes);   /* keep offline descriptors readable */
        return -1;
    }
    enum pa_backing first = pa_mm.first_backing;
    if (pa_mm.mbind_nodes && first <= PA_BACKING_HUGETLB_2M) {
        /* the kernel reserves hugepages machine-wide at mmap, but mbind then
         * takes them all from one node: a node short of them would SIGBUS on
         * first touch, so look at the node's own pool first */
        unsigned long kb = first == PA_BACKING_HUGETLB_1G ? 1UL << 20 : 2048;
        if (pa_os_free_hugepages(pgdat->phys_node, kb) * kb * 1024 < bytes)
            first = first == PA_BACKING_HUGETLB_1G &&
                            pa_os_free_hugepages(pgdat->phys_node, 2048) * 2048 * 1024 >= bytes
                        ? PA_BACKING_HUGETLB_2M
                        : PA_BACKING_THP;
    }
    enum pa_backing b = pa_os_commit(s->addr, bytes, first, false);
    if (b == PA_BACKING_NONE)
        return -1;   /* the descriptors stay committed (zeros): harmless */
    if (pa_mm.mbind_nodes) {
        /* before first touch, so every page is placed on its node */
        if (pa_os_bind(s->addr, bytes, pgdat->phys_node) || pa_os_bind(desc, dbytes, pgdat->phys_node))
            fprintf(stderr, "pagealloc: mbind to node %d failed: %s\n", pgdat->phys_node, strerror(errno));
    }
    if (pa_opt.prefault)
        pa_os_prefault(s->addr, bytes);
    s->backing = (uint8_t)b;
    pgdat->backing_pages[b] += s->nr_pages;
    pgdat->nr_sections_online++;
    __atomic_store_n(&s->online, 1, __ATOMIC_RELEASE);
    count_vm_event(PA_SECTIONS_ONLINED);
    return 0;
}


int arena_grow_zone(struct zone *z)
{
    pg_data_t *pgdat = z->zone_pgdat;
    unsigned long section_pages = 1UL << pa_mm.section_shift;
    int ret = -1;

    /* the thread's state (counters) first: making it takes threads_lock,
     * which ranks above grow_lock */
    (void)pa_thread();
    mutex_lock(&pgdat->grow_lock);
    unsigned long start = z->online_end_pfn;
    if (start >= zone_end_pfn(z)) {
        errno = ENOMEM;
        goto out;
    }
    unsigned long end = PA_MIN(zone_end_pfn(z), ALIGN_DOWN(start, section_pages) + section_pages);
    struct pa_section *s = pfn_to_section(start);
    if (!s->online && section_online(pgdat, s, ALIGN_DOWN(start, section_pages)) != 0) {
        errno = ENOMEM;
        goto out;
    }
    memmap_init(z, start, end);
    char *mem = pfn_to_virt(start);
    size_t bytes = (end - start) << PAGE_SHIFT;
    bool locked = false;
    if (z->zid == PA_ZONE_DMA) {
        /* ZONE_DMA is pinned so pa_page_to_phys() stays true for devices */
        locked = pa_os_mlock(mem, bytes) == 0;
        if (!locked)
            fprintf(stderr, "pagealloc: mlock of ZONE_DMA failed (%s); DMA pages are not pinned\n",
                    strerror(errno));
    }
    if (pa_opt.debug & PA_DEBUG_POISON)
        memset(mem, PA_POISON_BYTE, bytes);   /* free pages are poisoned from the start */

    spin_lock(&z->lock);
    __free_pages_range(z, start, end);
    if (locked)
        __mod_zone_page_state(z, NR_MLOCK, (long)(end - start));
    __atomic_store_n(&z->online_end_pfn, end, __ATOMIC_RELEASE);
    spin_unlock(&z->lock);
    ret = 0;
out:
    mutex_unlock(&pgdat->grow_lock);
    /* memory to give back, and to watch.  Normally the pcp decay thread
     * starts the worker (a clean thread: here we may be inside malloc
     * called by pthread_create itself, under the shim, and creating a
     * thread would deadlock on glibc's stack cache lock); without the
     * magazines there is no decay thread, so it starts here. */
    if (ret == 0 && !pcp_magazines_on)
        page_reporting_start();
    return ret;
}

/*
 * Section offlining, the analogue of memory hot-remove (the kernel's
 * offline_pages: isolate, take the free pages, drop the section): the
 * zone's topmost online section leaves when every page of it is free in
 * reported blocks (free at least the reporting delay, and given back
 * already) and the zone stays above HIGH without it.  Under the zone lock
 * its blocks come off the free lists and online_end_pfn drops below it,
 * then it reads as offline (pfn_valid false); after the lock, its memory
 * and descriptors go back to the reservation (the descriptors read as zeros
 * again, as those of a section never online).  arena_grow_zone brings it
 * back when the zone needs it.
 *
 * Only the topmost section, so that the online part of a zone stays one
 * range; never the zone's first (a zone keeps a section), never ZONE_DMA
 * (pinned) or a zone with CMA areas.  Lockless readers: nothing can point
 * into the section but free-list scanners, which recheck PageBuddy under
 * the zone lock; descriptors stay readable throughout.
 */
bool arena_offline_section(struct zone *z)
{
    pg_data_t *pgdat = z->zone_pgdat;
    unsigned long section_pages = 1UL << pa_mm.section_shift;
    bool ret = false;

    if (z->zid == PA_ZONE_DMA || z->cma_pages || debug_guardpage_minorder)
        return false;
    (void)pa_thread();   /* as in arena_grow_zone */
    mutex_lock(&pgdat->grow_lock);
    unsigned long end = z->online_end_pfn, start = end - section_pages;
    if (!IS_ALIGNED(end, section_pages) || end < z->zone_start_pfn + 2 * section_pages)
        goto out;
    struct pa_section *s = pfn_to_section(start);
    if (!s->online || s->nr_pages != section_pages)
        goto out;

    spin_lock(&z->lock);
    bool all_reported = zone_page_state(z, NR_FREE_PAGES) >= high_wmark_pages(z) + section_pages;
    for (unsigned long pfn = start; pfn < end && all_reported;) {
        struct pa_page *p = pfn_to_page(pfn);
        all_reported = PageBuddy(p) && PageReported(p);
        pfn += 1UL << buddy_order(p);
    }
    unsigned long lo, hi;
    if (!all_reported || !take_free_range(z, start, end, &lo, &hi)) {
        spin_unlock(&z->lock);
        goto out;
    }
    __atomic_store_n(&z->online_end_pfn, start, __ATOMIC_RELEASE);
    __atomic_store_n(&s->online, 0, __ATOMIC_RELEASE);
    spin_unlock(&z->lock);

    size_t dbytes = ALIGN_UP(desc_bytes(section_pages), PAGE_SIZE);
    if (pa_os_decommit(s->addr, (size_t)section_pages << PAGE_SHIFT, false) != 0 ||
        pa_os_decommit(pfn_to_page(start), dbytes, true) != 0)
        fprintf(stderr, "pagealloc: section at pfn %#lx is offline but kept its memory: %s\n", start,
                strerror(errno));
    pgdat->backing_pages[s->backing] -= section_pages;
    pgdat->nr_sections_online--;
    s->backing = PA_BACKING_NONE;
    count_vm_event(PA_SECTIONS_OFFLINED);
    ret = true;
out:
    mutex_unlock(&pgdat->grow_lock);
    return ret;
}

PA_API const char *pa_node_backing(int nid)
{
    pa_ensure_init();
    if (!node_valid(nid)) {
        errno = EINVAL;
        return NULL;
    }
    pg_data_t *pgdat = NODE_DATA(nid);
    mutex_lock(&pgdat->grow_lock);
    int best = PA_BACKING_NONE;
    for (int b = PA_BACKING_HUGETLB_1G; b < PA_NR_BACKINGS; b++)
        if (pgdat->backing_pages[b] > pgdat->backing_pages[best])
            best = b;
    mutex_unlock(&pgdat->grow_lock);
    return best == PA_BACKING_NONE ? NULL : pa_backing_names[best];
}

/* SPDX-License-Identifier: MIT */
/*
 * Contiguous memory areas (mm/cma.c, and alloc_contig_range of
 * mm/page_alloc.c with mm/page_isolation.c).
 *
 * An area is a MAX_ORDER-aligned range of one zone whose pageblocks are
 * MIGRATE_CMA.  Its free pages sit on the CMA free lists, where only
 * movable requests (ALLOC_CMA) may borrow them (__rmqueue).  pa_cma_alloc
 * takes a run back:
 *
 *   1. find a run of the area not handed out yet (the area's bitmap);
 *   2. isolate the MAX_ORDER blocks around it: their pageblocks become
 *      MIGRATE_ISOLATE, so nothing is allocated from them and whatever is
 *      freed there stays on the isolated lists;
 *   3. drain the per-CPU lists and magazines, and migrate every movable
 *      page of the run elsewhere through its owner (a few passes);
 *   4. when every page of the run is free, take the free blocks covering it
 *      off the lists, turn the pageblocks back to MIGRATE_CMA and give the
 *      parts of those blocks outside the run back to the buddy.
 *
 * A page in the run that is in use and not movable makes the attempt fail;
 * the next aligned position after it is tried, and when none is left the
 * request fails (cma_alloc_fail).  Each area has a mutex (the kernel's
 * cma->alloc_mutex) so isolations of one area never overlap.
 */
#include "internal.h"

#define MAX_CMA_AREAS  8
#define MIGRATE_PASSES 5      /* the kernel's alloc_contig_range tries */
#define BITS_PER_LONG  (8 * sizeof(unsigned long))

struct cma_area {
    int nid;
    struct zone *zone;
    unsigned long base_pfn;
    unsigned long count;            /* pages, a multiple of MAX_ORDER_NR_PAGES */
    unsigned long allocated;        /* bits set */
    unsigned long *bitmap;          /* 1 = handed out by pa_cma_alloc */
    unsigned long *starts;          /* 1 = first page of a run handed out */
    size_t bitmap_bytes;
    struct mutex lock;
};

bool cma_configured;
static struct cma_area cma_areas[MAX_CMA_AREAS];
static int cma_area_count;

/* ------------------------------------------------------------------ */
/* Bitmap                                                              */
/* ------------------------------------------------------------------ */

static inline bool bit_test(const unsigned long *map, unsigned long i)
{
    return (map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG)) & 1;
}

static void bits_assign(unsigned long *map, unsigned long start, unsigned long n, bool set)
{
    for (unsigned long i = start; i < start + n; i++) {
        if (set)
            map[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
        else
            map[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
    }
}

/* First set bit in [start, start + n), or start + n. */
static unsigned long bits_find_set(const unsigned long *map, unsigned long start, unsigned long n)
{
    for (unsigned long i = start; i < start + n; i++)
        if (bit_test(map, i))
            return i;
    return start + n;
}

/* ------------------------------------------------------------------ */
/* Reserving the areas (cma_declare_contiguous, cma_activate_area)      */
/* ------------------------------------------------------------------ */

struct cma_spec {
    size_t bytes;
    int nid;
};

/* "64M@0,32M": one spec per item.  -1 with a reason on a bad item. */
static int cma_parse(const char *s, struct cma_spec *specs, int *nr, char *why, size_t whylen)
{
    char buf[sizeof(pa_opt.cma)];
    snprintf(buf, sizeof(buf), "%s", s);
    *nr = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *at = strchr(tok, '@');
        long nid = 0;
        if (at) {
            char *end;
            *at = '\0';
            errno = 0;
            nid = strtol(at + 1, &end, 10);
            if (errno || end == at + 1 || *end || nid < 0) {
                snprintf(why, whylen, "bad node \"%s\" in item \"%s@%s\"", at + 1, tok, at + 1);
                return -1;
            }
            if (!node_valid((int)nid)) {
                snprintf(why, whylen, "node %ld does not exist (there are %d)", nid, pa_mm.nr_nodes);
                return -1;
            }
        }
        size_t bytes;
        if (pa_parse_size(tok, &bytes, NULL) != 0 || bytes == 0) {
            snprintf(why, whylen, "bad size \"%s\" (use a number with K, M or G)", tok);
            return -1;
        }
        if (bytes > ((size_t)1 << 50)) {
            snprintf(why, whylen, "size \"%s\" is too large", tok);
            return -1;
        }
        if (*nr == MAX_CMA_AREAS) {
            snprintf(why, whylen, "more than %d areas", MAX_CMA_AREAS);
            return -1;
        }
        specs[*nr].bytes = bytes;
        specs[*nr].nid = (int)nid;
        (*nr)++;
    }
    if (*nr == 0) {
        snprintf(why, whylen, "no area given");
        return -1;
    }
    return 0;
}

/* Where an area of `pages` goes on a node: after any earlier area, in the
 * first of Normal, Movable, DMA32, DMA that has room. */
static struct zone *cma_place(int nid, unsigned long pages, unsigned long *base)
{
    static const int order[] = { PA_ZONE_NORMAL, PA_ZONE_MOVABLE, PA_ZONE_DMA32, PA_ZONE_DMA };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        struct zone *z = &NODE_DATA(nid)->node_zones[order[i]];
        if (!populated_zone(z))
            continue;
        unsigned long start = z->zone_start_pfn;
        for (int a = 0; a < cma_area_count; a++)
            if (cma_areas[a].zone == z)
                start = PA_MAX(start, cma_areas[a].base_pfn + cma_areas[a].count);
        start = ALIGN_UP(start, MAX_ORDER_NR_PAGES);
        /* leave the zone at least a MAX_ORDER block of its own */
        if (start + pages + MAX_ORDER_NR_PAGES <= zone_end_pfn(z)) {
            *base = start;
            return z;
        }
    }
    return NULL;
}

static int cma_activate_area(struct cma_area *a)
{
    struct zone *z = a->zone;
    unsigned long end = a->base_pfn + a->count;

    while (__atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE) < end)
        if (arena_grow_zone(z) != 0)
            return -1;
    a->bitmap_bytes = ALIGN_UP(a->count, BITS_PER_LONG) / 8;
    a->bitmap = pa_os_alloc(a->bitmap_bytes);
    a->starts = pa_os_alloc(a->bitmap_bytes);
    if (!a->bitmap || !a->starts)
        return -1;
    mutex_init(&a->lock, LOCK_CMA, 0);
    /* the area's pages are free (nothing has been allocated yet, or the
     * range was only just brought online): retag their pageblocks */
    drain_all_pages(z);
    spin_lock(&z->lock);
    for (unsigned long pfn = a->base_pfn; pfn < end; pfn += pageblock_nr_pages)
        move_freepages_block(z, pfn_to_page(pfn), MIGRATE_CMA, NULL);
    z->cma_pages += a->count;
    spin_unlock(&z->lock);
    return 0;
}

/* A child forked while another thread held an area's mutex would wait
 * forever: the child has only the forking thread, so the locks are free.
 * (Held across migration callbacks: not across fork.) */
void cma_fork_child(void)
{
    for (int i = 0; i < cma_area_count; i++)
        mutex_init(&cma_areas[i].lock, LOCK_CMA, 0);
}

void pa_cma_init(void)
{
    struct cma_spec specs[MAX_CMA_AREAS];
    char why[160];
    int nr;

    if (!pa_opt.cma[0])
        return;
    if (cma_parse(pa_opt.cma, specs, &nr, why, sizeof(why)) != 0) {
        fprintf(stderr, "pagealloc: PAGEALLOC_CMA=\"%s\": %s; using the default (no CMA areas)\n", pa_opt.cma,
                why);
        return;
    }
    for (int i = 0; i < nr; i++) {
        unsigned long pages = (unsigned long)((specs[i].bytes + PAGE_SIZE - 1) >> PAGE_SHIFT);
        pages = ALIGN_UP(pages, MAX_ORDER_NR_PAGES);
        struct cma_area *a = &cma_areas[cma_area_count];
        unsigned long base;
        struct zone *z = cma_place(specs[i].nid, pages, &base);
        if (!z) {
            fprintf(stderr, "pagealloc: PAGEALLOC_CMA: no zone of node %d has room for an area of %lu KiB; "
                            "area skipped\n", specs[i].nid, pages << (PAGE_SHIFT - 10));
            continue;
        }
        a->nid = specs[i].nid;
        a->zone = z;
        a->base_pfn = base;
        a->count = pages;
        if (cma_activate_area(a) != 0) {
            fprintf(stderr, "pagealloc: PAGEALLOC_CMA: could not bring the area of %lu KiB on node %d "
                            "online (%s); area skipped\n", pages << (PAGE_SHIFT - 10), a->nid, strerror(errno));
            memset(a, 0, sizeof(*a));
            continue;
        }
        cma_area_count++;
        __atomic_store_n(&cma_configured, true, __ATOMIC_RELEASE);
    }
}

/* ------------------------------------------------------------------ */
/* alloc_contig_range                                                  */
/* ------------------------------------------------------------------ */

/* The pages of the allocated block that starts at p, or 1 for a page that
 * does not start one (a tail, a page of a non-compound block, a page on
 * its way to the free lists).  Racy, as every pre-check here. */
static unsigned long block_pages(const struct pa_page *p)
{
    unsigned long flags = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
    if (page_ref_count(p) <= 0 || (flags & (1UL << PG_tail)))
        return 1;
    unsigned int o = READ_ONCE(p->order);
    return o <= MAX_ORDER ? 1UL << o : 1;
}

/* A block in use that isolation cannot move away (has_unmovable_pages):
 * not registered movable, or a dynamic-hugetlb page.  p starts the block;
 * a movable block of any order, compound or not, migrates whole. */
static bool page_unmovable(const struct pa_page *p)
{
    unsigned long flags = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
    if (flags & (1UL << PG_buddy))
        return false;
    if (page_ref_count(p) <= 0 && !(flags & (1UL << PG_tail)))
        return false;   /* free in a per-CPU list or magazine: drained later */
    return !(flags & (1UL << PG_movable)) || (flags & (1UL << PG_dhugetlb));
}

/* The first page of [start, end) in an unmovable block, or end.  The walk
 * starts at the pageblock start, as no block below a pageblock crosses
 * one, so a block that begins before start is seen whole.  Racy, as the
 * kernel's pre-check: it only saves isolating ranges that cannot succeed. */
static unsigned long find_unmovable(unsigned long start, unsigned long end)
{
    for (unsigned long pfn = ALIGN_DOWN(start, pageblock_nr_pages); pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        unsigned long flags = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
        unsigned long n;
        if (flags & (1UL << PG_buddy)) {
            unsigned int o = (unsigned int)__atomic_load_n(&p->private, __ATOMIC_RELAXED);
            n = o <= MAX_ORDER ? 1UL << o : 1;
        } else {
            n = block_pages(p);
            if (pfn + n > start && page_unmovable(p))
                return PA_MAX(pfn, start);
        }
        pfn += n;
    }
    return end;
}

static void set_range_migratetype(struct zone *z, unsigned long start, unsigned long end, int mt)
{
    for (unsigned long pfn = start; pfn < end; pfn += pageblock_nr_pages)
        move_freepages_block(z, pfn_to_page(pfn), mt, NULL);
}

/* One pass over [start, end): move every movable block that overlaps it
 * elsewhere, whole, into a block of its order.  Returns the pages still in
 * the way (0: all free), or -1 when one cannot move. */
static long migrate_range(unsigned long start, unsigned long end)
{
    long busy = 0;
    for (unsigned long pfn = ALIGN_DOWN(start, pageblock_nr_pages); pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        if (PageBuddy(p)) {
            unsigned int o = buddy_order(p);
            pfn += o <= MAX_ORDER ? 1UL << o : 1;
            continue;
        }
        unsigned long n = block_pages(p);
        unsigned int order = (unsigned int)__builtin_ctzl(n);
        bool overlaps = pfn + n > start;
        pfn += n;
        if (!overlaps)
            continue;
        if (page_ref_count(p) <= 0 && !PageTail(p)) {
            busy++;     /* on its way to the isolated lists */
            continue;
        }
        if (page_unmovable(p))
            return -1;
        /* a target outside the isolated range (isolated blocks give nothing) */
        struct pa_page *dst = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN, order);
        if (!dst)
            return -1;
        if (migrate_movable_page_to(p, dst, PA_MIGRATE_SYNC) != 0) {
            pa_free_pages(dst, order);
            busy++;
        }
    }
    return busy;
}

/*
 * Make [start, end) of area a free and take it.  0, or -1 when a page
 * could not be moved (everything is as before, less what was migrated).
 */
static int alloc_contig_range(struct cma_area *a, unsigned long start, unsigned long end)
{
    struct zone *z = a->zone;
    unsigned long iso_start = ALIGN_DOWN(start, MAX_ORDER_NR_PAGES);
    unsigned long iso_end = ALIGN_UP(end, MAX_ORDER_NR_PAGES);
    unsigned long lo, hi;
    bool taken = false;

    spin_lock(&z->lock);
    set_range_migratetype(z, iso_start, iso_end, MIGRATE_ISOLATE);
    spin_unlock(&z->lock);

    for (int pass = 0; pass < MIGRATE_PASSES && !taken; pass++) {
        /* cached free pages of the range go to the isolated lists */
        drain_all_pages(z);
        long busy = migrate_range(start, end);
        if (busy < 0)
            break;
        if (busy > 0)
            drain_all_pages(z);
        spin_lock(&z->lock);
        taken = take_free_range(z, start, end, &lo, &hi);
        spin_unlock(&z->lock);
        if (!taken)
            sched_yield();   /* an owner may be freeing or a thread flushing */
    }

    spin_lock(&z->lock);
    set_range_migratetype(z, iso_start, iso_end, MIGRATE_CMA);
    if (taken) {
        /* the parts of the taken blocks outside the run go back */
        if (lo < start)
            __free_pages_range(z, lo, start);
        if (end < hi)
            __free_pages_range(z, end, hi);
    }
    spin_unlock(&z->lock);
    if (!taken)
        return -1;
    prep_taken_range(start, end, PA_GFP_KERNEL);
    return 0;
}

/* Try every aligned free run of area a, skipping past unmovable pages. */
static struct pa_page *cma_alloc_area(struct cma_area *a, unsigned long count, unsigned long align)
{
    struct pa_page *page = NULL;
    if (count > a->count)
        return NULL;
    mutex_lock(&a->lock);
    unsigned long off = ALIGN_UP(a->base_pfn, align) - a->base_pfn;
    while (off + count <= a->count) {
        unsigned long busy = bits_find_set(a->bitmap, off, count);
        if (busy < off + count) {
            off = ALIGN_UP(a->base_pfn + busy + 1, align) - a->base_pfn;
            continue;
        }
        unsigned long start = a->base_pfn + off, end = start + count;
        unsigned long bad = find_unmovable(start, end);
        if (bad == end && alloc_contig_range(a, start, end) == 0) {
            bits_assign(a->bitmap, off, count, true);
            bits_assign(a->starts, off, 1, true);
            a->allocated += count;
            page = pfn_to_page(start);
            break;
        }
        if (bad == end)
            bad = find_unmovable(start, end);   /* what got in the way, if it stayed */
        off = ALIGN_UP((bad < end ? bad : start) + 1, align) - a->base_pfn;
    }
    mutex_unlock(&a->lock);
    return page;
}

PA_API struct pa_page *pa_cma_alloc(size_t count, unsigned int align_order)
{
    if (unlikely(!pa_initialized()) && pa_init(NULL) != 0)
        return NULL;
    if (count == 0 || align_order > 31) {
        errno = EINVAL;
        return NULL;
    }
    if (!cma_area_count) {
        errno = ENODEV;
        return NULL;
    }
    int local = numa_node_id();
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < cma_area_count; i++) {
            struct cma_area *a = &cma_areas[i];
            if ((a->nid == local) != (pass == 0))
                continue;
            struct pa_page *page = cma_alloc_area(a, count, 1UL << align_order);
            if (page) {
                count_vm_event(CMA_ALLOC_SUCCESS);
                return page;
            }
        }
    }
    count_vm_event(CMA_ALLOC_FAIL);
    errno = ENOMEM;
    return NULL;
}

PA_API int pa_cma_release(struct pa_page *pages, size_t count)
{
    unsigned long pfn = pages ? pa_page_to_pfn(pages) : ~0UL;
    const char *why = NULL;
    struct cma_area *a = NULL;

    if (pfn == ~0UL || count == 0) {
        why = count ? "not a page descriptor of the arenas" : "count is zero";
        goto bad;
    }
    for (int i = 0; i < cma_area_count; i++)
        if (pfn >= cma_areas[i].base_pfn && pfn < cma_areas[i].base_pfn + cma_areas[i].count)
            a = &cma_areas[i];
    if (!a || count > a->base_pfn + a->count - pfn) {
        why = a ? "the run goes past the end of its CMA area" : "not a page of a CMA area";
        goto bad;
    }
    mutex_lock(&a->lock);
    unsigned long off = pfn - a->base_pfn;
    for (unsigned long i = 0; i < count && !why; i++) {
        struct pa_page *p = pfn_to_page(pfn + i);
        if (!bit_test(a->bitmap, off + i))
            why = "not handed out by pa_cma_alloc, or already released";
        else if (bit_test(a->starts, off + i) != (i == 0))
            why = i ? "the range covers more than one run" : "not the first page of a run";
        else if (page_ref_count(p) != 1 || PageBuddy(p) || p->order != 0)
            why = "a page of the run was freed or referenced otherwise";
    }
    /* the whole run: the next page is not the rest of it */
    if (!why && off + count < a->count && bit_test(a->bitmap, off + count) &&
        !bit_test(a->starts, off + count))
        why = "the range is shorter than the run";
    if (why) {
        mutex_unlock(&a->lock);
        goto bad;
    }
    bits_assign(a->bitmap, off, count, false);
    bits_assign(a->starts, off, 1, false);
    a->allocated -= count;
    free_pages_range(a->zone, pfn, pfn + count);
    mutex_unlock(&a->lock);
    return 0;
bad:
    bad_pointer(__func__, pages, why);
    errno = EINVAL;
    return -1;
}

PA_API int pa_cma_nr_areas(void)
{
    pa_ensure_init();
    return cma_area_count;
}

PA_API int pa_cma_area_info(int idx, struct pa_cma_info *info)
{
    pa_ensure_init();
    if (idx < 0 || idx >= cma_area_count || !info) {
        errno = EINVAL;
        return -1;
    }
    struct cma_area *a = &cma_areas[idx];
    mutex_lock(&a->lock);
    info->nid = a->nid;
    info->base_pfn = a->base_pfn;
    info->count = a->count;
    info->allocated = a->allocated;
    mutex_unlock(&a->lock);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The invariant walker's part                                         */
/* ------------------------------------------------------------------ */

int cma_validate(char *buf, size_t len)
{
    int errors = 0;
    for (int i = 0; i < cma_area_count; i++) {
        struct cma_area *a = &cma_areas[i];
        mutex_lock(&a->lock);
        unsigned long bits = 0;
        for (unsigned long off = 0; off < a->count; off++) {
            unsigned long pfn = a->base_pfn + off;
            int mt = get_pfnblock_migratetype(pfn);
            if (mt != MIGRATE_CMA && !errors++)
                snprintf(buf, len, "CMA area %d: pfn %#lx's pageblock is %s, not CMA", i, pfn,
                         migratetype_names[mt]);
            if (!bit_test(a->bitmap, off))
                continue;
            bits++;
            struct pa_page *p = pfn_to_page(pfn);
            if ((page_ref_count(p) <= 0 || PageBuddy(p)) && !errors++)
                snprintf(buf, len, "CMA area %d: pfn %#lx is handed out but free", i, pfn);
        }
        if (bits != a->allocated && !errors++)
            snprintf(buf, len, "CMA area %d: %lu pages marked handed out, %lu counted", i, bits, a->allocated);
        mutex_unlock(&a->lock);
    }
    return errors;
}

/* SPDX-License-Identifier: MIT */
/*
 * Debugging: bad-page reports, page poisoning, the allocation-failure
 * report, and the invariant walker the tests call after every step.
 */
#include "internal.h"
#include "pcp.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

extern char *program_invocation_short_name;

static const char *const pageflag_names[NR_PAGEFLAGS] = {
    "buddy", "head", "tail", "lru", "active", "movable", "isolated", "dirty", "guard", "referenced",
    "dhugetlb", "reported",
};

static void format_pageflags(unsigned long flags, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < NR_PAGEFLAGS && n < len; i++)
        if (flags & (1UL << i))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "", pageflag_names[i]);
}

static void bad_page_report(const struct pa_page *page, unsigned int order, const char *reason,
                            const char *outcome);

void bad_page(const struct pa_page *page, unsigned int order, const char *reason)
{
    bad_page_report(page, order, reason, "the operation was refused; allocator state is unchanged");
}

static void bad_page_report(const struct pa_page *page, unsigned int order, const char *reason,
                            const char *outcome)
{
    char flags[160];
    unsigned long f = __atomic_load_n(&page->flags, __ATOMIC_RELAXED);
    format_pageflags(f, flags, sizeof(flags));
    fprintf(stderr,
            "BUG: Bad page state in process %s  pfn:%05lx\n"
            "page: refcount:%d mapcount:0 mapping:%p index:0x0 pfn:0x%lx order:%u node:%u zone:%u\n"
            "flags: 0x%lx(%s)\n"
            "page dumped because: %s\n",
            program_invocation_short_name, page_to_pfn(page), page_ref_count(page), READ_ONCE(page->mapping),
            page_to_pfn(page), order, page->nid, page->zid, f, flags, reason);
    if (pa_opt.debug & PA_DEBUG_CHECKS) {
        fprintf(stderr, "pagealloc: aborting (PAGEALLOC_DEBUG=checks)\n");
        abort();
    }
    fprintf(stderr, "pagealloc: %s\n", outcome);
    if (pa_initialized())
        count_vm_event(PA_BAD_PAGE);
}

void bad_pointer(const char *func, const void *ptr, const char *reason)
{
    if (pa_opt.debug & PA_DEBUG_CHECKS) {
        /* with checks on, the same report as a bad page, then abort */
        fprintf(stderr,
                "BUG: Bad page state in process %s  addr:%p\n"
                "page dumped because: %s(%p): %s\n"
                "pagealloc: aborting (PAGEALLOC_DEBUG=checks)\n",
                program_invocation_short_name, ptr, func, ptr, reason);
        abort();
    }
    fprintf(stderr, "pagealloc: %s(%p): %s; refused\n", func, ptr, reason);
    if (pa_initialized())
        count_vm_event(PA_BAD_PAGE);
}

#define FLAGS_CHECK_AT_FREE ((1UL << PG_buddy) | (1UL << PG_lru) | (1UL << PG_isolated))
/* PG_reported may ride on a page taken from a reported block: prep_new_page reads and clears it */
#define FLAGS_CHECK_AT_PREP (((1UL << NR_PAGEFLAGS) - 1) & ~(1UL << PG_reported))

/* The page's refcount has dropped to zero; nothing may still claim it. */
bool free_pages_check_bad(struct pa_page *page, unsigned int order)
{
    unsigned long nr = 1UL << order;
    for (unsigned long i = 0; i < nr; i++) {
        struct pa_page *p = page + i;
        const char *why = NULL;
        unsigned long f = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
        if (page_ref_count(p) != 0)
            why = "nonzero _refcount";
        else if (f & FLAGS_CHECK_AT_FREE)
            why = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set";
        else if (i && (f & ((1UL << PG_head) | (1UL << PG_tail))))
            why = "compound flags on a page of a non-compound block";
        if (why) {
            bad_page(p, order, why);
            return true;
        }
    }
    return false;
}

/* Pages leaving the buddy must be clean. */
bool check_new_pages_bad(struct pa_page *page, unsigned int order)
{
    unsigned long nr = 1UL << order;
    for (unsigned long i = 0; i < nr; i++) {
        struct pa_page *p = page + i;
        const char *why = NULL;
        if (page_ref_count(p) != 0)
            why = "nonzero _refcount";
        else if (__atomic_load_n(&p->flags, __ATOMIC_RELAXED) & FLAGS_CHECK_AT_PREP)
            why = "PAGE_FLAGS_CHECK_AT_PREP flag(s) set";
        else if (p->mapping)
            why = "non-NULL mapping";
        if (why) {
            bad_page(p, order, why);
            return true;
        }
    }
    return false;
}

void kernel_poison_pages(struct pa_page *page, unsigned int order)
{
    memset(page_address(page), PA_POISON_BYTE, PAGE_SIZE << order);
}

bool check_poison_bad(struct pa_page *page, unsigned int order)
{
    const uint64_t pattern = 0x0101010101010101ULL * PA_POISON_BYTE;
    const uint64_t *w = page_address(page);
    size_t n = (PAGE_SIZE << order) / sizeof(*w);
    for (size_t i = 0; i < n; i++) {
        if (likely(w[i] == pattern))
            continue;
        char why[128];
        size_t off = i * sizeof(*w);
        snprintf(why, sizeof(why), "poison overwritten at offset %#zx of the block (use after free?)", off);
        bad_page_report(page + (off >> PAGE_SHIFT), order, why,
                        "the block is handed out all the same, as the kernel does");
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* GFP decoding and the allocation-failure report                      */
/* ------------------------------------------------------------------ */

static const struct {
    pa_gfp_t mask;
    const char *name;
} gfp_names[] = {
    /* composites first, largest first, as the kernel's %pGg */
    {PA_GFP_TRANSHUGE, "PA_GFP_TRANSHUGE"},
    {PA_GFP_TRANSHUGE_LIGHT, "PA_GFP_TRANSHUGE_LIGHT"},
    {PA_GFP_HIGHUSER_MOVABLE, "PA_GFP_HIGHUSER_MOVABLE"},
    {PA_GFP_HIGHUSER, "PA_GFP_HIGHUSER"},
    {PA_GFP_USER, "PA_GFP_USER"},
    {PA_GFP_KERNEL, "PA_GFP_KERNEL"},
    {PA_GFP_NOFS, "PA_GFP_NOFS"},
    {PA_GFP_ATOMIC, "PA_GFP_ATOMIC"},
    {PA_GFP_NOIO, "PA_GFP_NOIO"},
    {PA_GFP_NOWAIT, "PA_GFP_NOWAIT"},
    {PA_GFP_RECLAIM, "PA_GFP_RECLAIM"},
    {PA_GFP_DMA, "PA_GFP_DMA"},
    {PA_GFP_HIGHMEM, "PA_GFP_HIGHMEM"},
    {PA_GFP_DMA32, "PA_GFP_DMA32"},
    {PA_GFP_MOVABLE, "PA_GFP_MOVABLE"},
    {PA_GFP_RECLAIMABLE, "PA_GFP_RECLAIMABLE"},
    {PA_GFP_HIGH, "PA_GFP_HIGH"},
    {PA_GFP_IO, "PA_GFP_IO"},
    {PA_GFP_FS, "PA_GFP_FS"},
    {PA_GFP_ZERO, "PA_GFP_ZERO"},
    {PA_GFP_ATOMIC_BIT, "PA_GFP_ATOMIC_BIT"},
    {PA_GFP_DIRECT_RECLAIM, "PA_GFP_DIRECT_RECLAIM"},
    {PA_GFP_KSWAPD_RECLAIM, "PA_GFP_KSWAPD_RECLAIM"},
    {PA_GFP_WRITE, "PA_GFP_WRITE"},
    {PA_GFP_NOWARN, "PA_GFP_NOWARN"},
    {PA_GFP_RETRY_MAYFAIL, "PA_GFP_RETRY_MAYFAIL"},
    {PA_GFP_NOFAIL, "PA_GFP_NOFAIL"},
    {PA_GFP_NORETRY, "PA_GFP_NORETRY"},
    {PA_GFP_MEMALLOC, "PA_GFP_MEMALLOC"},
    {PA_GFP_COMP, "PA_GFP_COMP"},
    {PA_GFP_NOMEMALLOC, "PA_GFP_NOMEMALLOC"},
    {PA_GFP_HARDWALL, "PA_GFP_HARDWALL"},
    {PA_GFP_THISNODE, "PA_GFP_THISNODE"},
    {PA_GFP_ACCOUNT, "PA_GFP_ACCOUNT"},
    {PA_GFP_RELIABLE, "PA_GFP_RELIABLE"},
};

const char *pa_format_gfp(pa_gfp_t gfp, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < ARRAY_SIZE(gfp_names) && gfp && n < len; i++) {
        if ((gfp & gfp_names[i].mask) != gfp_names[i].mask)
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "", gfp_names[i].name);
        gfp &= ~gfp_names[i].mask;
    }
    if (gfp && n < len)
        snprintf(buf + n, len - n, "%s%#x", n ? "|" : "", gfp);
    if (!buf[0])
        snprintf(buf, len, "0");
    return buf;
}

void format_nodemask(const pa_nodemask_t *m, char *buf, size_t len)
{
    size_t n = 0;
    if (!m) {
        snprintf(buf, len, "(null)");
        return;
    }
    buf[0] = 0;
    for (int a = 0; a < MAX_NUMNODES && n < len; a++) {
        if (!node_isset(a, m))
            continue;
        int b = a;
        while (b + 1 < MAX_NUMNODES && node_isset(b + 1, m))
            b++;
        n += (size_t)(a == b ? snprintf(buf + n, len - n, "%s%d", n ? "," : "", a)
                             : snprintf(buf + n, len - n, "%s%d-%d", n ? "," : "", a, b));
        a = b;
    }
}

static struct mutex ratelimit_lock = MUTEX_INITIALIZER(LOCK_RATELIMIT);

/* fork: a leaf, held across it so that a report in flight in another
 * thread does not leave it locked in the child. */
void debug_fork_lock(void)
{
    mutex_lock(&ratelimit_lock);
}

void debug_fork_unlock(void)
{
    mutex_unlock(&ratelimit_lock);
}

/* As the kernel's ___ratelimit with its defaults: 10 reports per 5 s. */
static bool warn_ratelimit(void)
{
    static time_t begin;
    static int printed, missed;
    bool ok;
    time_t now = time(NULL);

    mutex_lock(&ratelimit_lock);
    if (now - begin >= 5) {
        if (missed)
            fprintf(stderr, "pagealloc: warn_alloc: %d callbacks suppressed\n", missed);
        begin = now;
        printed = missed = 0;
    }
    ok = printed < 10;
    if (ok)
        printed++;
    else
        missed++;
    mutex_unlock(&ratelimit_lock);
    return ok;
}

/* show_mem(): per zone, the watermarks and free pages by order. */
static void show_free_areas(FILE *f)
{
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            unsigned long nr[NR_PAGE_ORDERS], total = 0;
            unsigned char types[NR_PAGE_ORDERS];
            if (!populated_zone(z))
                continue;
            spin_lock(&z->lock);
            for (int o = 0; o < NR_PAGE_ORDERS; o++) {
                nr[o] = z->free_area[o].nr_free;
                types[o] = 0;
                for (int mt = 0; mt < MIGRATE_TYPES; mt++)
                    if (!list_empty(&z->free_area[o].free_list[mt]))
                        types[o] |= (unsigned char)(1u << mt);
                total += nr[o] << o;
            }
            spin_unlock(&z->lock);
            unsigned long k = PAGE_SIZE >> 10;
            fprintf(f, "Node %d %s free:%lukB boost:%lukB min:%lukB low:%lukB high:%lukB "
                       "reserved_highatomic:%luKB present:%lukB managed:%lukB online:%lukB\n",
                    nid, z->name, zone_page_state(z, NR_FREE_PAGES) * k, z->watermark_boost * k,
                    min_wmark_pages(z) * k, low_wmark_pages(z) * k, high_wmark_pages(z) * k,
                    z->nr_reserved_highatomic * k, z->present_pages * k, z->managed_pages * k,
                    (__atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE) - z->zone_start_pfn) * k);
            fprintf(f, "lowmem_reserve[]: %ld %ld %ld %ld\n", z->lowmem_reserve[0], z->lowmem_reserve[1],
                    z->lowmem_reserve[2], z->lowmem_reserve[3]);
            fprintf(f, "Node %d %s: ", nid, z->name);
            static const char type_chars[MIGRATE_TYPES] = {'U', 'M', 'E', 'H', 'C', 'I'};
            for (int o = 0; o < NR_PAGE_ORDERS; o++) {
                fprintf(f, "%lu*%lukB ", nr[o], k << o);
                if (nr[o]) {
                    char t[MIGRATE_TYPES + 3], *p = t;
                    *p++ = '(';
                    for (int mt = 0; mt < MIGRATE_TYPES; mt++)
                        if (types[o] & (1u << mt))
                            *p++ = type_chars[mt];
                    *p++ = ')';
                    *p = 0;
                    fprintf(f, "%s ", t);
                }
            }
            fprintf(f, "= %lukB\n", total * k);
        }
    }
}

void warn_alloc(pa_gfp_t gfp, const pa_nodemask_t *nodemask, unsigned int order, const char *what)
{
    char g[512], nm[256];
    if (!warn_ratelimit())
        return;
    pa_format_gfp(gfp, g, sizeof(g));
    format_nodemask(nodemask, nm, sizeof(nm));
    fprintf(stderr, "%s: %s: order:%u, mode:%#x(%s), nodemask=%s\n", program_invocation_short_name, what,
            order, gfp, g, nm);
    show_free_areas(stderr);
}

/* ------------------------------------------------------------------ */
/* The invariant walker                                                */
/* ------------------------------------------------------------------ */

#define MAX_REPORTS 8

struct walk {
    int errors;
    char msg[MAX_REPORTS][200];
};

static void walk_error(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void walk_error(struct walk *w, const char *fmt, ...)
{
    if (w->errors < MAX_REPORTS) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg[w->errors], sizeof(w->msg[0]), fmt, ap);
        va_end(ap);
    }
    w->errors++;
}

/*
 * A guard block (guard.c) at pfn: guard pages on, order below the minimum,
 * aligned, unreferenced, no buddy head inside, and its buddy neither free
 * nor a guard of the same order (they would have merged).  Returns its
 * pages, or 0 when it is too broken to step over.
 */
static unsigned long check_guard(struct zone *z, unsigned long pfn, struct walk *w)
{
    struct pa_page *p = pfn_to_page(pfn);
    unsigned int o = buddy_order(p);
    if (!debug_guardpage_minorder || o >= debug_guardpage_minorder) {
        walk_error(w, "pfn %#lx is a guard page of order %u but guard pages are %s (min order %u)", pfn, o,
                   debug_guardpage_minorder ? "smaller" : "off", debug_guardpage_minorder);
        return 0;
    }
    if (pfn & ((1UL << o) - 1) || pfn + (1UL << o) > z->online_end_pfn) {
        walk_error(w, "guard pfn %#lx order %u is misaligned or runs past the zone", pfn, o);
        return 0;
    }
    for (unsigned long i = 0; i < (1UL << o); i++)
        if (page_ref_count(p + i) != 0 || PageBuddy(p + i) || (i && PageGuard(p + i))) {
            walk_error(w, "pfn %#lx inside guard block %#lx order %u is %s", pfn + i, pfn, o,
                       page_ref_count(p + i) ? "referenced" : "marked buddy or guard");
            return 0;
        }
    struct pa_page *b = pfn_to_page(pfn ^ (1UL << o));
    if ((PageBuddy(b) || PageGuard(b)) && buddy_order(b) == o)
        walk_error(w, "guard pfn %#lx order %u and its buddy %#lx (%s) did not merge", pfn, o,
                   page_to_pfn(b), PageBuddy(b) ? "free" : "guard");
    return 1UL << o;
}

/* Called with z->lock held: no I/O here, only the report buffer. */
static void check_zone(struct zone *z, struct walk *w)
{
    unsigned long start = z->zone_start_pfn, end = z->online_end_pfn;
    unsigned long listed = 0, listed_pages = 0, reported_pages = 0, limit = end - start + 1;

    /* each pageblock names the magazine slot of its zone and type, which
     * the fast free pushes to without looking at either */
    for (unsigned long pfn = start; pfn < end; pfn += pageblock_nr_pages) {
        unsigned long pb = pfn >> pageblock_order;
        int bmt = get_pfnblock_migratetype(pfn);
        unsigned int slot = __atomic_load_n(&pa_mm.pageblock_mag[pb], __ATOMIC_RELAXED);
        if (slot != pageblock_mag_slot(z->node, z->zid, bmt))
            walk_error(w, "%s/%d pageblock at pfn %#lx (%s) names magazine slot %u, not %u", z->name, z->node,
                       pfn, migratetype_names[bmt], slot, (unsigned int)pageblock_mag_slot(z->node, z->zid, bmt));
    }

    for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
        unsigned long count = 0;
        for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
            struct list_head *h = &z->free_area[o].free_list[mt], *pos;
            list_for_each(pos, h) {
                struct pa_page *p = list_entry(pos, struct pa_page, lru);
                unsigned long pfn = page_to_pfn(p);
                if (++count > limit) {
                    walk_error(w, "%s/%d order %u %s: free list loops or is corrupt", z->name, z->node, o,
                               migratetype_names[mt]);
                    return;
                }
                if (pfn < start || pfn + (1UL << o) > end)
                    walk_error(w, "pfn %#lx on %s/%d order %u list is outside the zone's online range",
                               pfn, z->name, z->node, o);
                else if (!PageBuddy(p) || buddy_order(p) != o)
                    walk_error(w, "pfn %#lx on the order-%u list is not marked buddy of that order", pfn, o);
                else if (pfn & ((1UL << o) - 1))
                    walk_error(w, "pfn %#lx on the order-%u list is misaligned", pfn, o);
                else if (p->nid != z->node || p->zid != z->zid)
                    walk_error(w, "pfn %#lx on %s/%d's list belongs to node %u zone %u", pfn, z->name,
                               z->node, p->nid, p->zid);
                else {
                    unsigned long blocks = o >= pageblock_order ? 1UL << (o - pageblock_order) : 1;
                    for (unsigned long b = 0; b < blocks; b++) {
                        int bmt = get_pfnblock_migratetype(pfn + b * pageblock_nr_pages);
                        if (bmt != mt) {
                            walk_error(w, "pfn %#lx order %u is on the %s list but its pageblock is %s",
                                       pfn, o, migratetype_names[mt], migratetype_names[bmt]);
                            break;
                        }
                    }
                }
                listed_pages += 1UL << o;
                if (PageReported(p))
                    reported_pages += 1UL << o;
            }
        }
        if (count != z->free_area[o].nr_free)
            walk_error(w, "%s/%d order %u: nr_free %lu but %lu blocks on the lists", z->name, z->node, o,
                       z->free_area[o].nr_free, count);
        listed += count;
    }
    if (reported_pages != zone_page_state(z, NR_REPORTED_PAGES))
        walk_error(w, "%s/%d: NR_REPORTED_PAGES %lu but %lu pages in reported blocks on the free lists", z->name,
                   z->node, zone_page_state(z, NR_REPORTED_PAGES), reported_pages);
    if (listed_pages != zone_page_state(z, NR_FREE_PAGES))
        walk_error(w, "%s/%d: NR_FREE_PAGES %lu but %lu pages on the free lists", z->name, z->node,
                   zone_page_state(z, NR_FREE_PAGES), listed_pages);

    /* every page marked buddy heads a listed block; no free block hides an allocated page */
    unsigned long heads = 0, guards = 0;
    for (unsigned long pfn = start; pfn < end;) {
        struct pa_page *p = pfn_to_page(pfn);
        if (unlikely(PageGuard(p))) {
            unsigned long nr = check_guard(z, pfn, w);
            guards += nr;
            pfn += nr ? nr : 1;
            continue;
        }
        if (!PageBuddy(p)) {
            pfn++;
            continue;
        }
        unsigned int o = buddy_order(p);
        heads++;
        if (o > MAX_ORDER) {
            walk_error(w, "pfn %#lx: buddy order %u out of range", pfn, o);
            pfn++;
            continue;
        }
        for (unsigned long i = 0; i < (1UL << o) && pfn + i < end; i++) {
            struct pa_page *q = p + i;
            if (page_ref_count(q) != 0) {
                walk_error(w, "pfn %#lx is inside free block %#lx order %u but has refcount %d", pfn + i,
                           pfn, o, page_ref_count(q));
                break;
            }
            if (i && PageBuddy(q)) {
                walk_error(w, "pfn %#lx is marked buddy inside free block %#lx order %u", pfn + i, pfn, o);
                break;
            }
        }
        pfn += 1UL << o;
    }
    if (heads != listed)
        walk_error(w, "%s/%d: %lu pages marked buddy but %lu blocks on the lists", z->name, z->node, heads,
                   listed);
    if (guards != zone_page_state(z, NR_GUARD_PAGES))
        walk_error(w, "%s/%d: NR_GUARD_PAGES %lu but %lu guard pages found", z->name, z->node,
                   zone_page_state(z, NR_GUARD_PAGES), guards);
}

/* A pageset's lists: the pages of its orders, free (refcount 0, not in the
 * buddy), inside the zone, adding up to count; count within high_max. */
static void check_pageset(struct zone *z, struct per_cpu_pages *pcp, void *arg)
{
    struct walk *w = arg;
    /* Without z->lock: section growth and offlining move online_end_pfn
     * meanwhile.  One acquire snapshot, as the other lockless readers; a
     * page reached this list only after its section was online, and no
     * page of a listed block can be offlined (offlining takes buddy blocks) */
    unsigned long online_end = __atomic_load_n(&z->online_end_pfn, __ATOMIC_ACQUIRE);
    unsigned long pages = 0, limit = online_end - z->zone_start_pfn + 1;
    for (int pindex = 0; pindex < NR_PCP_LISTS; pindex++) {
        unsigned int order = pindex_to_order(pindex);
        unsigned long n = 0;
        struct list_head *pos;
        list_for_each(pos, &pcp->lists[pindex]) {
            struct pa_page *p = list_entry(pos, struct pa_page, lru);
            unsigned long pfn = page_to_pfn(p);
            if (++n > limit) {
                walk_error(w, "%s/%d pcp list %d loops or is corrupt", z->name, z->node, pindex);
                return;
            }
            if (pfn < z->zone_start_pfn || pfn + (1UL << order) > online_end)
                walk_error(w, "pcp page pfn %#lx is outside %s/%d's online range", pfn, z->name, z->node);
            else if (PageBuddy(p) || page_ref_count(p) != 0)
                walk_error(w, "pcp page pfn %#lx is %s", pfn,
                           PageBuddy(p) ? "also marked buddy" : "referenced (refcount not zero)");
            else if (pfn & ((1UL << order) - 1))
                walk_error(w, "pcp page pfn %#lx is misaligned for order %u", pfn, order);
            pages += 1UL << order;
        }
    }
    if (pages != (unsigned long)pcp->count)
        walk_error(w, "%s/%d pcp count %d but %lu pages on its lists", z->name, z->node, pcp->count, pages);
    if (pcp->count > pcp->high_max + (int)(MAX_ORDER_NR_PAGES))
        walk_error(w, "%s/%d pcp count %d far above high_max %d", z->name, z->node, pcp->count,
                   pcp->high_max);
}

/* A thread's magazines: free order-0 pages of the right zone, within their
 * high, and counters that account for the pages held. */
static void check_magazines(struct pa_thread *t, void *arg)
{
    struct walk *w = arg;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
                struct zone *z = &NODE_DATA(nid)->node_zones[zid];
                struct pa_magazine *m = thread_mag(t, z, mt);
                if (m->zone != z || m->n > m->high || m->high > PA_MAG_SIZE) {
                    walk_error(w, "thread %d magazine %s/%d/%s holds %lu pages (high %lu, max %d)%s", t->tid,
                               z->name, nid, migratetype_names[mt], m->n, m->high, PA_MAG_SIZE,
                               m->zone != z ? " and names another zone" : "");
                    continue;
                }
                /* pushes = pops - (moved - n): never negative */
                if ((long)(m->pops - (m->moved - m->n)) < 0)
                    walk_error(w, "thread %d magazine %s/%d/%s: counters out of step (pops %lu, moved %lu, n %lu)",
                               t->tid, z->name, nid, migratetype_names[mt], m->pops, m->moved, m->n);
                for (unsigned int i = 0; i < m->n; i++) {
                    struct pa_page *p = m->pages[i];
                    if (p->nid != nid || p->zid != zid || PageBuddy(p) || page_ref_count(p) != 0)
                        walk_error(w, "thread %d magazine %s/%d: pfn %#lx is %s", t->tid, z->name, nid,
                                   page_to_pfn(p),
                                   page_ref_count(p) ? "referenced" : PageBuddy(p) ? "also in the buddy"
                                                                                  : "from another zone");
                }
            }
}

PA_API int pa_check_invariants(void)
{
    struct walk w;
    pa_ensure_init();
    if (!pa_initialized()) {
        errno = ENOMEM;
        return -1;
    }
    w.errors = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            if (!populated_zone(z))
                continue;
            spin_lock(&z->lock);
            check_zone(z, &w);
            spin_unlock(&z->lock);
            pa_pcp_walk(z, check_pageset, &w);
        }
    }
    pa_mag_walk(check_magazines, &w);
    /* CMA areas and dynamic hugetlb pools keep their own books */
    char extra[200];
    for (int n = cma_validate(extra, sizeof(extra)); n > 0; n = 0) {
        walk_error(&w, "%s", extra);
        w.errors += n - 1;
    }
    for (int n = dhugetlb_validate(extra, sizeof(extra)); n > 0; n = 0) {
        walk_error(&w, "%s", extra);
        w.errors += n - 1;
    }
    for (int i = 0; i < w.errors && i < MAX_REPORTS; i++)
        fprintf(stderr, "pagealloc: invariant broken: %s\n", w.msg[i]);
    if (w.errors > MAX_REPORTS)
        fprintf(stderr, "pagealloc: ... and %d more broken invariants\n", w.errors - MAX_REPORTS);
    if (w.errors) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}

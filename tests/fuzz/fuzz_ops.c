/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the input bytes are decoded into a sequence of
 * operations on the public API -- allocations of every order (and a few
 * above PA_MAX_ORDER) with GFP masks from the composites, modifier bits and
 * raw (often invalid) words; frees by every route; frees that must be
 * refused (double, wrong order, misaligned, tail, foreign pointers);
 * compound and exact (split) blocks; movable pages that compaction moves;
 * memory policies; drains; statistics -- and after each operation the
 * library's invariant walker must pass and every live block must still hold
 * what was written into it.  Any violation aborts with a message naming it.
 *
 * Each input starts from the state the previous one left (the library
 * initialises once per process) and frees everything it allocated at its
 * end.  Built with clang -fsanitize=fuzzer by scripts/fuzz.sh; built
 * without libFuzzer (FUZZ_REPLAY) it is a replay driver that runs files
 * and directories given on the command line, which ctest uses to run the
 * seed corpus on every test run.
 *
 * Input format (LLVMFuzzerTestOneInput's switch and the op_* functions):
 * one opcode byte, then the opcode's argument bytes; a short input reads
 * zeros and ends.  tests/fuzz/gen_corpus.py writes seeds in it.
 * FUZZ_TRACE=1 in the environment prints one line per operation.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pagealloc/pagealloc.h>

#define NR_GENERAL 64          /* blocks the general operations pick from */
#define NR_POOL 1024            /* movable pages: enough to fill a Movable zone */
#define NR_SLOTS (NR_GENERAL + NR_POOL)
#define NODES 2                 /* PAGEALLOC_NUMA_EMULATE below */
#define LOST_STREAK_LIMIT 64    /* see check_nothing_lost() */

/* ------------------------------------------------------------------ */
/* Failing loudly                                                      */
/* ------------------------------------------------------------------ */

static unsigned long op_index;
static const char *op_name = "init";

static void __attribute__((noreturn, format(printf, 1, 2))) fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nfuzz_ops: FAILED at operation %lu (%s): ", op_index, op_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__VA_ARGS__);                                                                \
    } while (0)

/* ------------------------------------------------------------------ */
/* The harness's own bookkeeping                                       */
/* ------------------------------------------------------------------ */

enum slot_kind { SLOT_PAGES, SLOT_COMPOUND, SLOT_EXACT, SLOT_MOVABLE };

struct slot {
    bool live;
    bool isolated;              /* compaction holds the page (movable only) */
    enum slot_kind kind;
    struct pa_page *page;
    unsigned int order;         /* SLOT_EXACT: order of the request */
    size_t bytes;               /* bytes owned: 4096 << order, or the exact size rounded up */
    uint64_t tag;
};

/* Compaction (direct, or kcompactd in the background) calls the movable
 * callbacks from any thread: the table is shared with them under this
 * lock.  The harness never holds it across a library call. */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[NR_SLOTS];
static uint64_t next_tag = 1;
static unsigned long migrated;

/* The i-th page of a block (struct pa_page is opaque: go through the pfn). */
static struct pa_page *nth(struct pa_page *page, unsigned long i)
{
    return pa_pfn_to_page(pa_page_to_pfn(page) + i);
}

static unsigned long slot_pfn(const struct slot *s) { return pa_page_to_pfn(s->page); }
static unsigned long slot_pages(const struct slot *s) { return (s->bytes + 4095) / 4096; }

static void write_tag(struct slot *s)
{
    unsigned char *a = pa_page_address(s->page);
    uint64_t inv = ~s->tag;
    memcpy(a, &s->tag, sizeof(s->tag));
    memcpy(a + s->bytes - sizeof(inv), &inv, sizeof(inv));
}

static void check_tag(const struct slot *s)
{
    unsigned char *a = pa_page_address(s->page);
    uint64_t head, tail;
    REQUIRE(a != NULL, "slot %ld: page %p has no address", (long)(s - slots), (void *)s->page);
    memcpy(&head, a, sizeof(head));
    memcpy(&tail, a + s->bytes - sizeof(tail), sizeof(tail));
    REQUIRE(head == s->tag && tail == ~s->tag,
            "slot %ld (pfn %lu, %zu bytes): contents overwritten (head %#llx tail %#llx, tag %#llx)",
            (long)(s - slots), slot_pfn(s), s->bytes, (unsigned long long)head,
            (unsigned long long)tail, (unsigned long long)s->tag);
}

/* A new block must not overlap any live one. */
static void check_no_overlap(const struct pa_page *page, size_t bytes)
{
    unsigned long pfn = pa_page_to_pfn(page), n = (bytes + 4095) / 4096;
    for (int i = 0; i < NR_SLOTS; i++) {
        const struct slot *s = &slots[i];
        if (!s->live)
            continue;
        unsigned long sp = slot_pfn(s), sn = slot_pages(s);
        REQUIRE(pfn + n <= sp || sp + sn <= pfn,
                "new block pfn %lu+%lu overlaps live slot %d (pfn %lu+%lu)", pfn, n, i, sp, sn);
    }
}

static void check_all_slots(void)
{
    pthread_mutex_lock(&slots_lock);
    for (int i = 0; i < NR_SLOTS; i++)
        if (slots[i].live)
            check_tag(&slots[i]);
    pthread_mutex_unlock(&slots_lock);
}

/* ------------------------------------------------------------------ */
/* Movable pages: the owner side of the migration protocol             */
/* ------------------------------------------------------------------ */

static struct slot *movable_slot(struct pa_page *page)
{
    struct slot *s = pa_page_movable_owner(page);
    if (s < slots || s >= slots + NR_SLOTS || !s->live || s->page != page || s->kind != SLOT_MOVABLE)
        return NULL;
    return s;
}

static bool fz_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&slots_lock);
    struct slot *s = movable_slot(page);
    bool ok = s && !s->isolated;
    if (ok)
        s->isolated = true;
    pthread_mutex_unlock(&slots_lock);
    return ok;
}

static int fz_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&slots_lock);
    struct slot *s = movable_slot(src);
    if (!s || !s->isolated) {
        pthread_mutex_unlock(&slots_lock);
        fuzz_fail("migrate_page(%p <- %p) for a page the owner did not isolate", (void *)dst,
                  (void *)src);
    }
    memcpy(pa_page_address(dst), pa_page_address(src), 4096);
    s->page = dst;
    s->isolated = false;
    migrated++;
    pthread_mutex_unlock(&slots_lock);
    return 0;
}

static void fz_putback(struct pa_page *page)
{
    pthread_mutex_lock(&slots_lock);
    struct slot *s = movable_slot(page);
    if (!s || !s->isolated) {
        pthread_mutex_unlock(&slots_lock);
        fuzz_fail("putback_page(%p) for a page the owner did not isolate", (void *)page);
    }
    s->isolated = false;
    pthread_mutex_unlock(&slots_lock);
}

static const struct pa_movable_ops fz_movable_ops = {
    .isolate_page = fz_isolate,
    .migrate_page = fz_migrate,
    .putback_page = fz_putback,
};

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t next_byte(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static uint32_t next_u32(struct input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | next_byte(in);
    return v;
}

static const pa_gfp_t gfp_bases[] = {
    PA_GFP_KERNEL, PA_GFP_ATOMIC, PA_GFP_NOWAIT, PA_GFP_NOIO, PA_GFP_NOFS, PA_GFP_USER,
    PA_GFP_HIGHUSER, PA_GFP_HIGHUSER_MOVABLE, PA_GFP_TRANSHUGE_LIGHT, PA_GFP_TRANSHUGE,
    PA_GFP_KERNEL | PA_GFP_DMA, PA_GFP_KERNEL | PA_GFP_DMA32, PA_GFP_KERNEL | PA_GFP_RECLAIMABLE,
    PA_GFP_KERNEL | PA_GFP_ACCOUNT, PA_GFP_HIGHUSER_MOVABLE | PA_GFP_RELIABLE,
    0 /* raw word from the input */,
};

static const pa_gfp_t gfp_modifiers[] = {
    PA_GFP_ZERO, PA_GFP_COMP, PA_GFP_THISNODE, PA_GFP_NORETRY,
    PA_GFP_RETRY_MAYFAIL, PA_GFP_HIGH, PA_GFP_MEMALLOC, PA_GFP_NOMEMALLOC,
};

static pa_gfp_t decode_gfp(struct input *in)
{
    uint8_t b = next_byte(in), m = next_byte(in);
    pa_gfp_t gfp = gfp_bases[b % (sizeof(gfp_bases) / sizeof(gfp_bases[0]))];
    if (b % (sizeof(gfp_bases) / sizeof(gfp_bases[0])) == sizeof(gfp_bases) / sizeof(gfp_bases[0]) - 1)
        gfp = next_u32(in);
    for (unsigned int i = 0; i < 8; i++)
        if (m >> i & 1)
            gfp |= gfp_modifiers[i];
    /* NOFAIL loops until memory comes back, which with no OOM client may be
     * never: allowed only where the kernel allows it (order 0, below), and
     * reports are left out (they are slow, not interesting here). */
    return gfp | PA_GFP_NOWARN;
}

/* The highest zone a mask may use, as the kernel's GFP zone table; -1 bad. */
static int expected_zone(pa_gfp_t gfp)
{
    unsigned int z = gfp & PA_GFP_ZONEMASK;
    if ((gfp & (PA_GFP_MOVABLE | PA_GFP_RECLAIMABLE)) == (PA_GFP_MOVABLE | PA_GFP_RECLAIMABLE))
        return -1;
    if (z == 0 || z == PA_GFP_HIGHMEM || z == PA_GFP_MOVABLE)
        return PA_ZONE_NORMAL;
    if (z == PA_GFP_DMA || z == (PA_GFP_DMA | PA_GFP_MOVABLE))
        return PA_ZONE_DMA;
    if (z == PA_GFP_DMA32 || z == (PA_GFP_DMA32 | PA_GFP_MOVABLE))
        return PA_ZONE_DMA32;
    if (z == (PA_GFP_MOVABLE | PA_GFP_HIGHMEM))
        return (gfp & PA_GFP_RELIABLE) ? PA_ZONE_NORMAL : PA_ZONE_MOVABLE;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

static struct slot *free_slot_entry(void)
{
    for (int i = 0; i < NR_GENERAL; i++)
        if (!slots[i].live)
            return &slots[i];
    return NULL;
}

static struct slot *pick_live(struct input *in)
{
    uint8_t b = next_byte(in);
    for (int i = 0; i < NR_GENERAL; i++) {
        struct slot *s = &slots[(b + i) % NR_GENERAL];
        if (s->live && !s->isolated)
            return s;
    }
    return NULL;
}

static unsigned long live_pages(void)
{
    unsigned long n = 0;
    for (int i = 0; i < NR_SLOTS; i++)
        if (slots[i].live)
            n += slot_pages(&slots[i]);
    return n;
}

/* Policy state the checks need: a BIND mask restricts where pages land. */
static int cur_mode = PA_MPOL_DEFAULT;
static pa_nodemask_t cur_nodes;

static bool mask_has(const pa_nodemask_t *m, int nid)
{
    return m->bits[nid / (8 * sizeof(unsigned long))] >> (nid % (8 * sizeof(unsigned long))) & 1;
}

/*
 * Does a BIND policy's mask bind this request?  As the kernel: not below
 * the policy zone (apply_policy_zone: DMA and DMA32 requests ignore it), not
 * for THISNODE, and not for requests the slow path lets leave the policy
 * and cpuset (reserve users, __GFP_MEMALLOC; non-blocking __GFP_HIGH and the
 * old __GFP_ATOMIC, which drop ALLOC_CPUSET and reset the nodemask).
 */
static bool bind_applies(pa_gfp_t gfp)
{
    if (expected_zone(gfp) < PA_ZONE_NORMAL || (gfp & PA_GFP_THISNODE))
        return false;
    if ((gfp & PA_GFP_MEMALLOC) && !(gfp & PA_GFP_NOMEMALLOC))
        return false;
    if ((gfp & (PA_GFP_HIGH | PA_GFP_ATOMIC_BIT)) && !(gfp & PA_GFP_DIRECT_RECLAIM))
        return false;
    return true;
}

static void check_new_block(struct pa_page *page, pa_gfp_t gfp, unsigned int order, int nid,
                            bool via_policy, size_t bytes)
{
    void *addr = pa_page_address(page);
    unsigned long pfn = pa_page_to_pfn(page);
    REQUIRE(addr && pfn != ~0UL, "new page %p has no address or pfn", (void *)page);
    REQUIRE(((uintptr_t)addr & ((4096UL << order) - 1)) == 0, "order-%u block at %p not aligned", order,
            addr);
    REQUIRE(pa_virt_to_page(addr) == page && pa_pfn_to_page(pfn) == page,
            "descriptor/address/pfn round trip broken for pfn %lu", pfn);
    REQUIRE(pa_page_count(page) == 1, "new block pfn %lu has refcount %d", pfn, pa_page_count(page));
    int got_nid = pa_page_to_nid(page);
    REQUIRE(got_nid >= 0 && got_nid < pa_num_nodes(), "pfn %lu on node %d", pfn, got_nid);
    if (nid >= 0 && (gfp & PA_GFP_THISNODE))
        REQUIRE(got_nid == nid, "THISNODE for node %d gave node %d", nid, got_nid);
    if (via_policy && cur_mode == PA_MPOL_BIND && bind_applies(gfp))
        REQUIRE(mask_has(&cur_nodes, got_nid),
                "BIND policy: gfp %#x order %u: page on node %d outside the mask %#lx", gfp, order,
                got_nid, cur_nodes.bits[0]);
    int zone = (int)pa_page_zonenum(page), top = expected_zone(gfp);
    REQUIRE(zone <= top, "gfp %#x allows zones up to %d, got zone %d", gfp, top, zone);
    if (gfp & PA_GFP_ZERO) {
        const unsigned char *c = addr;
        size_t step = bytes > 65536 ? 4093 : 1;
        for (size_t i = 0; i < bytes; i += step)
            REQUIRE(c[i] == 0, "__GFP_ZERO block pfn %lu: byte %zu is %#x", pfn, i, c[i]);
    }
    check_no_overlap(page, bytes);
}

static bool trace;   /* FUZZ_TRACE=1: one line per block taken and freed */

static void take_slot(struct slot *s, enum slot_kind kind, struct pa_page *page, unsigned int order,
                      size_t bytes)
{
    if (trace)
        fprintf(stderr, "op %lu %s: slot %ld kind %d pfn %lu order %u bytes %zu\n", op_index,
                op_name, (long)(s - slots), kind, pa_page_to_pfn(page), order, bytes);
    pthread_mutex_lock(&slots_lock);
    *s = (struct slot){ .live = true, .kind = kind, .page = page, .order = order, .bytes = bytes,
                        .tag = next_tag++ * 0x9e3779b97f4a7c15ULL };
    write_tag(s);
    pthread_mutex_unlock(&slots_lock);
}

static void op_alloc(struct input *in)
{
    op_name = "alloc";
    struct slot *s = free_slot_entry();
    pa_gfp_t gfp = decode_gfp(in);
    unsigned int order = next_byte(in) % (PA_MAX_ORDER + 3);   /* two orders too many */
    uint8_t how = next_byte(in);
    int nid = (int)(next_byte(in) % (NODES + 2)) - 1;          /* -1 .. NODES (bad) */
    if (!s)
        return;
    /* NOFAIL waits for memory the harness alone could free: only at order 0,
     * and while the harness holds at most a quarter of the smallest zone a
     * request can be confined to (DMA: 4M, 1024 pages; DMA32 requests fall
     * back to it), so watermarks, reserves and caches can never eat the rest.
     * A request no zone can take at all fails at once in the library. */
    if ((gfp & PA_GFP_NOFAIL) && (order > 0 || live_pages() > 256))
        gfp &= ~PA_GFP_NOFAIL;

    struct pa_page *page;
    bool via_policy = false;
    errno = 0;
    switch (how % 3) {
    case 0:
        page = pa_alloc_pages(gfp, order);
        via_policy = true;
        nid = -1;
        break;
    case 1:
        page = pa_alloc_pages_node(nid, gfp, order);
        break;
    default: {
        void *a = pa_get_free_pages(gfp, order);
        page = a ? pa_virt_to_page(a) : NULL;
        via_policy = true;
        nid = -1;
        break;
    }
    }
    bool must_fail = order > PA_MAX_ORDER || (gfp & ~PA_GFP_BITS_MASK) || expected_zone(gfp) < 0 ||
                     nid >= NODES;
    if (must_fail) {
        REQUIRE(page == NULL, "gfp %#x order %u node %d: must fail, got pfn %lu", gfp, order, nid,
                page ? pa_page_to_pfn(page) : 0);
        REQUIRE(errno == EINVAL, "gfp %#x order %u node %d: errno %d, want EINVAL", gfp, order, nid,
                errno);
        return;
    }
    if (!page) {
        REQUIRE(errno == ENOMEM, "gfp %#x order %u node %d: NULL with errno %d", gfp, order, nid,
                errno);
        return;
    }
    check_new_block(page, gfp, order, nid, via_policy, 4096UL << order);
    take_slot(s, (gfp & PA_GFP_COMP) && order > 0 ? SLOT_COMPOUND : SLOT_PAGES, page, order,
              4096UL << order);
    if ((gfp & PA_GFP_COMP) && order > 0) {
        REQUIRE(pa_compound_order(page) == order, "compound order %u, want %u",
                pa_compound_order(page), order);
        REQUIRE(pa_compound_head(nth(page, (1UL << order) - 1)) == page, "tail does not lead to head");
    }
}

static void op_alloc_exact(struct input *in)
{
    op_name = "alloc_exact";
    struct slot *s = free_slot_entry();
    pa_gfp_t gfp = decode_gfp(in) & ~(PA_GFP_NOFAIL | PA_GFP_COMP);
    size_t size = (size_t)next_byte(in) << 8 | next_byte(in);       /* 0 .. 64 KiB */
    size *= 1u + next_byte(in) % 64;                                 /* .. 4 MiB and over */
    if (!s)
        return;
    errno = 0;
    void *a = pa_alloc_pages_exact(size, gfp);
    if (size == 0 || size > (4096UL << PA_MAX_ORDER) || (gfp & ~PA_GFP_BITS_MASK) ||
        expected_zone(gfp) < 0) {
        REQUIRE(a == NULL && errno == EINVAL, "alloc_pages_exact(%zu, %#x) must fail with EINVAL",
                size, gfp);
        return;
    }
    if (!a) {
        REQUIRE(errno == ENOMEM, "alloc_pages_exact(%zu): NULL with errno %d", size, errno);
        return;
    }
    struct pa_page *page = pa_virt_to_page(a);
    size_t bytes = (size + 4095) & ~(size_t)4095;
    check_new_block(page, gfp, 0, -1, true, bytes);
    for (size_t i = 0; i < bytes / 4096; i++)
        REQUIRE(pa_page_count(nth(page, i)) == 1, "exact page %zu has refcount %d", i,
                pa_page_count(nth(page, i)));
    take_slot(s, SLOT_EXACT, page, 0, bytes);
}

static bool claim_for_free(struct slot *s, struct slot *copy);

/*
 * Movable pages, registered with the owner callbacks above: a run of them
 * on one node (enough to fill its Movable zone), then every k-th freed, so
 * that compaction finds both pages to move and free pages to move them to
 * (it takes no targets from free blocks of a pageblock or more).
 */
static void op_alloc_movable(struct input *in)
{
    op_name = "alloc_movable";
    int nid = next_byte(in) % NODES;
    unsigned int count = (next_byte(in) + 1u) * 4, k = next_byte(in) % 4 + 2;
    int first = -1, last = -1;
    for (unsigned int n = 0; n < count; n++) {
        struct slot *s = NULL;
        for (int i = NR_GENERAL; i < NR_SLOTS && !s; i++)
            if (!slots[i].live)
                s = &slots[i];
        if (!s)
            break;
        struct pa_page *page =
            pa_alloc_pages_node(nid, PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN | PA_GFP_NORETRY, 0);
        if (!page)
            break;
        check_new_block(page, PA_GFP_HIGHUSER_MOVABLE, 0, nid, false, 4096);
        take_slot(s, SLOT_MOVABLE, page, 0, 4096);
        pa_page_set_movable(page, &fz_movable_ops, s);
        REQUIRE(pa_page_movable_owner(page) == s, "movable registration did not stick");
        if (first < 0)
            first = (int)(s - slots);
        last = (int)(s - slots);
    }
    for (int i = first; i >= 0 && i <= last; i += (int)k) {
        struct slot c;
        if (claim_for_free(&slots[i], &c))
            pa_free_pages(c.page, 0);
    }
}

/* Take a slot out of the table for freeing: the caller owns it then. */
static bool claim_for_free(struct slot *s, struct slot *copy)
{
    pthread_mutex_lock(&slots_lock);
    bool ok = s->live && !s->isolated;
    if (ok) {
        check_tag(s);
        *copy = *s;
        s->live = false;
    }
    pthread_mutex_unlock(&slots_lock);
    return ok;
}

static void op_free(struct input *in)
{
    op_name = "free";
    struct slot *s = pick_live(in), c;
    uint8_t how = next_byte(in);
    if (!s || !claim_for_free(s, &c))
        return;
    if (trace)
        fprintf(stderr, "op %lu free: slot %ld kind %d pfn %lu order %u how %u\n", op_index,
                (long)(s - slots), c.kind, pa_page_to_pfn(c.page), c.order, how);
    unsigned long bad = 0, bad_after = 0;
    pa_vmstat_get("pa_bad_page", &bad);
    switch (c.kind) {
    case SLOT_EXACT:
        pa_free_pages_exact(pa_page_address(c.page), c.bytes);
        break;
    case SLOT_COMPOUND:
        if (how & 1)
            pa_put_page(nth(c.page, (how >> 1) % (1UL << c.order)));   /* through any tail */
        else
            pa_free_pages(c.page, c.order);
        break;
    default:
        if (how % 3 == 0)
            pa_free_pages(c.page, c.order);
        else if (how % 3 == 1)
            pa_free_pages_addr(pa_page_address(c.page), c.order);
        else
            pa_put_page(c.page);
        break;
    }
    pa_vmstat_get("pa_bad_page", &bad_after);
    REQUIRE(bad_after == bad, "a valid free (kind %d, order %u) was refused", c.kind, c.order);
    /* an order-0 page just freed sits in this thread's magazine: freeing
     * or pinning it again must be refused (see the README for why higher
     * orders are not tried: compaction may take them at once) */
    if (c.kind == SLOT_PAGES && c.order == 0 && (how & 0x30) == 0x30) {
        op_name = "double free";
        if (how & 0x40)
            pa_get_page(c.page);
        else if (how & 0x80)
            pa_free_pages_addr(pa_page_address(c.page), 0);
        else
            pa_free_pages(c.page, 0);
        pa_vmstat_get("pa_bad_page", &bad_after);
        REQUIRE(bad_after > bad, "a double free / get_page on a free page was not refused");
    }
}

/* Frees that must be refused on a live block: nothing may change. */
static void op_bad_free(struct input *in)
{
    op_name = "bad free";
    struct slot *s = pick_live(in);
    uint8_t how = next_byte(in);
    char junk[128] __attribute__((aligned(64)));
    unsigned long bad = 0, bad_after = 0;
    memset(junk, 0x5a, sizeof(junk));

    pthread_mutex_lock(&slots_lock);
    struct slot c = s ? *s : (struct slot){ 0 };
    bool usable = s && s->live && !s->isolated && s->kind != SLOT_MOVABLE;
    pthread_mutex_unlock(&slots_lock);
    pa_vmstat_get("pa_bad_page", &bad);
    int before = usable ? pa_page_count(c.page) : 0;
    switch (how % 6) {
    case 0:
        pa_free_pages((struct pa_page *)(void *)junk, 0);
        break;
    case 1:
        pa_free_pages_addr(junk, 0);
        break;
    case 2:                                            /* order above the maximum */
        if (!usable)
            return;
        pa_free_pages(c.page, PA_MAX_ORDER + 1 + how / 6 % 4);
        break;
    case 3:                                            /* wrong order */
        if (!usable || c.kind == SLOT_EXACT)
            return;
        pa_free_pages(c.page, c.order == 0 ? 1 : c.order - 1);
        break;
    case 4:                                            /* misaligned: a page inside */
        if (!usable || c.order == 0 || c.kind == SLOT_EXACT)
            return;
        pa_free_pages_addr((char *)pa_page_address(c.page) + 4096, c.order);
        break;
    default:                                           /* not page aligned */
        if (!usable)
            return;
        pa_free_pages_addr((char *)pa_page_address(c.page) + 1 + how, c.kind == SLOT_EXACT ? 0 : c.order);
        break;
    }
    pa_vmstat_get("pa_bad_page", &bad_after);
    REQUIRE(bad_after > bad, "bad free #%d (slot kind %d, order %u) was not refused", how % 6,
            c.kind, c.order);
    if (usable)
        REQUIRE(pa_page_count(c.page) == before, "a refused free changed the refcount %d -> %d",
                before, pa_page_count(c.page));
}

static void op_get_put(struct input *in)
{
    op_name = "get/put";
    struct slot *s = pick_live(in);
    uint8_t n = next_byte(in) % 4 + 1;
    pthread_mutex_lock(&slots_lock);
    bool usable = s && s->live && !s->isolated && s->kind != SLOT_EXACT && s->kind != SLOT_MOVABLE;
    struct pa_page *page = usable ? s->page : NULL;
    unsigned int order = usable ? s->order : 0;
    enum slot_kind kind = usable ? s->kind : SLOT_PAGES;
    pthread_mutex_unlock(&slots_lock);
    if (!usable)
        return;
    struct pa_page *ref = kind == SLOT_COMPOUND ? nth(page, (1UL << order) - 1) : page;
    for (uint8_t i = 0; i < n; i++)
        pa_get_page(ref);
    REQUIRE(pa_page_count(page) == 1 + n, "refcount %d after %u gets", pa_page_count(page), n);
    for (uint8_t i = 0; i < n; i++)
        pa_put_page(ref);
    REQUIRE(pa_page_count(page) == 1, "refcount %d after the puts", pa_page_count(page));
}

static void op_policy(struct input *in)
{
    op_name = "mempolicy";
    int mode = (int)(next_byte(in) % (PA_MPOL_MAX + 2)) - 1;      /* -1 .. MAX (bad at both ends) */
    uint8_t bits = next_byte(in);
    pa_nodemask_t m;
    memset(&m, 0, sizeof(m));
    m.bits[0] = bits & 0x0f;                                       /* nodes 2 and 3 do not exist */
    int rc = pa_set_mempolicy(mode, (bits & 0x80) ? NULL : &m);
    if (mode < 0 || mode >= PA_MPOL_MAX || (m.bits[0] >> NODES && !(bits & 0x80)))
        REQUIRE(rc == -1 && errno == EINVAL, "set_mempolicy(%d, %#x) must fail with EINVAL", mode,
                bits);
    if (rc != 0) {
        REQUIRE(errno == EINVAL, "set_mempolicy failed with errno %d", errno);
    } else {
        int got;
        REQUIRE(pa_get_mempolicy(&got, &cur_nodes) == 0, "get_mempolicy failed");
        cur_mode = got;
    }
}

static void op_policy_str(struct input *in)
{
    op_name = "mempolicy_str";
    char spec[24];
    size_t n = next_byte(in) % sizeof(spec);
    for (size_t i = 0; i < n; i++)
        spec[i] = (char)next_byte(in);
    spec[n] = '\0';
    pa_nodemask_t m;
    if (pa_nodemask_parse(spec, &m) != 0)
        REQUIRE(errno == EINVAL, "nodemask_parse(\"%s\") failed with errno %d", spec, errno);
    if (trace)
        fprintf(stderr, "op %lu policy \"%s\"\n", op_index, spec);
    if (pa_set_mempolicy_str(spec) != 0) {
        REQUIRE(errno == EINVAL, "set_mempolicy_str failed with errno %d", errno);
    } else {
        int got;
        REQUIRE(pa_get_mempolicy(&got, &cur_nodes) == 0, "get_mempolicy failed");
        cur_mode = got;
    }
}

static void op_compact(struct input *in)
{
    op_name = "compact";
    int nid = (int)(next_byte(in) % (NODES + 3)) - 1;               /* -1 .. NODES+1 */
    if (nid == NODES + 1) {
        REQUIRE(pa_compact_memory() == 0, "compact_memory failed: errno %d", errno);
    } else if (nid < 0 || nid >= NODES) {
        REQUIRE(pa_compact_node(nid) == -1 && errno == EINVAL, "compact_node(%d) must fail", nid);
    } else {
        REQUIRE(pa_compact_node(nid) == 0, "compact_node(%d) failed: errno %d", nid, errno);
    }
}

static FILE *devnull;

static void op_misc(struct input *in)
{
    uint8_t what = next_byte(in);
    unsigned long v;
    switch (what % 5) {
    case 0:
        op_name = "drain_all";
        pa_drain_all_pages();
        break;
    case 1:
        op_name = "drain_local";
        pa_drain_local_pages();
        break;
    case 2:
        op_name = "show";
        REQUIRE(pa_show_buddyinfo(devnull) == 0 && pa_show_pagetypeinfo(devnull) == 0 &&
                    pa_show_zoneinfo(devnull) == 0, "a pa_show_* report failed");
        break;
    case 3:
        op_name = "vmstat";
        REQUIRE(pa_vmstat_get("nr_free_pages", &v) == 0, "vmstat nr_free_pages failed");
        REQUIRE(pa_vmstat_get("no_such_counter", &v) == -1 && errno == ENOENT, "unknown counter");
        break;
    default:
        op_name = "lookup";
        /* foreign pointers and pfns are rejected, not followed */
        REQUIRE(pa_virt_to_page(&v) == NULL && errno == EINVAL, "virt_to_page(stack) not NULL");
        REQUIRE(pa_pfn_to_page(~0UL >> 1) == NULL, "pfn_to_page(huge) not NULL");
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Per input                                                           */
/* ------------------------------------------------------------------ */

static unsigned long baseline_free;
static int lost_streak;

static void free_everything(void)
{
    op_name = "cleanup";
    for (int i = 0; i < NR_SLOTS; i++) {
        struct slot c = { .live = false };
        /* a page compaction holds comes back by migrate or putback */
        while (slots[i].live && !claim_for_free(&slots[i], &c))
            sched_yield();
        if (!c.live)
            continue;
        if (c.kind == SLOT_EXACT)
            pa_free_pages_exact(pa_page_address(c.page), c.bytes);
        else
            pa_free_pages(c.page, c.order);
        c.live = false;
    }
    pa_set_mempolicy(PA_MPOL_DEFAULT, NULL);
    cur_mode = PA_MPOL_DEFAULT;
}

/*
 * Pages lost for good show as nr_free_pages below the baseline after
 * everything is freed and drained.  Background threads (kcompactd's free
 * scanner, kswapd) may hold a few pages for a moment, so one input that
 * ends short proves nothing; LOST_STREAK_LIMIT inputs in a row do.
 */
static void check_nothing_lost(void)
{
    unsigned long now = 0;
    pa_drain_all_pages();
    pa_vmstat_get("nr_free_pages", &now);
    if (now >= baseline_free) {
        lost_streak = 0;
        baseline_free = now;     /* reserves given back by the walker's side effects */
        return;
    }
    if (++lost_streak >= LOST_STREAK_LIMIT)
        fuzz_fail("%lu pages lost: nr_free_pages %lu after %d inputs that freed everything, "
                  "baseline %lu", baseline_free - now, now, lost_streak, baseline_free);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Small emulated nodes with every zone, plain pages: quick to walk. */
    setenv("PAGEALLOC_NUMA_EMULATE", "2", 1);
    setenv("PAGEALLOC_NODE_SIZE", "16M", 1);
    setenv("PAGEALLOC_MOVABLECORE", "25%", 1);
    setenv("PAGEALLOC_DMA_SIZE", "4M", 1);
    setenv("PAGEALLOC_HUGEPAGES", "none", 1);
    unsetenv("PAGEALLOC_POLICY");
    unsetenv("PAGEALLOC_DEBUG");
    unsetenv("PAGEALLOC_FAIL");
    unsetenv("PAGEALLOC_STATS");
    if (pa_init(NULL) != 0) {
        perror("fuzz_ops: pa_init");
        abort();
    }
    trace = getenv("FUZZ_TRACE") != NULL;
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        abort();
    /* Bring every zone fully online, so later growth cannot hide a loss. */
    static struct pa_page *held[8192];
    static unsigned char held_order[8192];
    size_t n = 0;
    for (int o = PA_MAX_ORDER; o >= 0; o--) {
        struct pa_page *p;
        while (n < 8192 && (p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN |
                                                   PA_GFP_NORETRY, (unsigned int)o))) {
            held_order[n] = (unsigned char)o;
            held[n++] = p;
        }
    }
    for (size_t i = 0; i < n; i++)
        pa_free_pages(held[i], held_order[i]);
    pa_drain_all_pages();
    pa_vmstat_get("nr_free_pages", &baseline_free);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    unsigned long ops = 0;
    while (in.left && ops < 512) {
        op_index = ops++;
        switch (next_byte(&in) % 12) {
        case 0: case 1: case 2:
            op_alloc(&in);
            break;
        case 3: case 4:
            op_free(&in);
            break;
        case 5:
            op_alloc_exact(&in);
            break;
        case 6:
            op_alloc_movable(&in);
            break;
        case 7:
            op_bad_free(&in);
            break;
        case 8:
            op_get_put(&in);
            break;
        case 9:
            if (next_byte(&in) & 1)
                op_policy_str(&in);
            else
                op_policy(&in);
            break;
        case 10:
            op_compact(&in);
            break;
        default:
            op_misc(&in);
            break;
        }
        if (trace)
            fprintf(stderr, "op %lu done: %s\n", op_index, op_name);
        if (pa_check_invariants() != 0)
            fuzz_fail("pa_check_invariants: the walker found broken invariants (above)");
        check_all_slots();
    }
    op_index = ops;
    free_everything();
    if (pa_check_invariants() != 0)
        fuzz_fail("pa_check_invariants after freeing everything");
    check_nothing_lost();
    return 0;
}

#ifdef FUZZ_REPLAY
/* Without libFuzzer: run each file (or each file of each directory). */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                return 1;
            files++;
            continue;
        }
        struct dirent **names;
        int k = scandir(argv[i], &names, NULL, alphasort);
        if (k < 0) {
            perror(argv[i]);
            return 1;
        }
        for (int j = 0; j < k; j++) {
            char path[4096];
            if (names[j]->d_name[0] != '.') {
                snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
                if (replay_file(path) != 0)
                    return 1;
                files++;
            }
            free(names[j]);
        }
        free(names);
    }
    if (files == 0) {
        fprintf(stderr, "fuzz_ops: no input files given\n");
        return 1;
    }
    printf("fuzz_ops: %d inputs replayed, %lu pages migrated, invariants held\n", files, migrated);
    return 0;
}
#endif

/* SPDX-License-Identifier: MIT */
/*
 * zones_demo: walk every node and zone, allocate a few blocks of every order
 * from each, check what came back, and show the allocator's /proc-style
 * reports while the blocks are held and after they are freed.
 *
 * Uses the public API only.  Run it plain, or on a one-node machine with two
 * logical nodes and a Movable zone (see examples/README.md):
 *
 *   build/examples/zones_demo
 *   PAGEALLOC_NUMA_EMULATE=2 PAGEALLOC_MOVABLECORE=25% build/examples/zones_demo
 *   PAGEALLOC_DMA32_SIZE=64M build/examples/zones_demo        # ZONE_DMA32 too
 *
 * Each request carries PA_GFP_THISNODE, so a block must come from the node
 * asked for; within that node the kernel's zonelist may fall back to a
 * *lower* zone (a Movable request lands in Normal when there is no Movable
 * zone; a DMA32 request in DMA when ZONE_DMA32 is empty), never a higher one.
 * NULL is a normal answer for an empty or exhausted zone and is reported.
 * Exit status: 0 if every check held, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagealloc/pagealloc.h>

#define BLOCKS_PER_ORDER 2
/* Blocks up to 4 MiB are written in full; larger ones (PA_MAX_ORDER can be
 * built up to 20) only in their first and last page, to keep RSS modest. */
#define TOUCH_ALL_MAX_ORDER 10u

/* One row of the table: a zone as a GFP request names it. */
struct zone_request {
    const char *name;
    pa_gfp_t gfp;
    enum pa_zone_type highest; /* gfp_zone(): the highest zone allowed */
};

static const struct zone_request zone_requests[] = {
    { "DMA",     PA_GFP_KERNEL | PA_GFP_DMA,   PA_ZONE_DMA },
    { "DMA32",   PA_GFP_KERNEL | PA_GFP_DMA32, PA_ZONE_DMA32 },
    { "Normal",  PA_GFP_KERNEL,                PA_ZONE_NORMAL },
    { "Movable", PA_GFP_HIGHUSER_MOVABLE,      PA_ZONE_MOVABLE },
};
#define NR_REQUESTS (sizeof(zone_requests) / sizeof(zone_requests[0]))

/* Exhausting a small zone is expected here: no failure report, no long
 * reclaim ladder.  Zeroed pages, so the first check is that they are. */
#define DEMO_GFP (PA_GFP_THISNODE | PA_GFP_NOWARN | PA_GFP_NORETRY | PA_GFP_ZERO)

static const char *const zone_names[PA_MAX_NR_ZONES] = { "DMA", "DMA32", "Normal", "Movable" };

struct block {
    struct pa_page *page;
    unsigned char *addr;
    unsigned int order;
    uint64_t tag;              /* written at both ends, verified before freeing */
};

static struct block *blocks;
static size_t nr_blocks;
static unsigned long failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("zones_demo: INCONSISTENT: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static size_t block_bytes(unsigned int order)
{
    return (size_t)PA_PAGE_SIZE << order;
}

static bool is_zero(const unsigned char *p, size_t n)
{
    static const unsigned char zero[PA_PAGE_SIZE];

    for (size_t off = 0; off < n; off += PA_PAGE_SIZE) {
        size_t len = n - off < PA_PAGE_SIZE ? n - off : PA_PAGE_SIZE;
        if (memcmp(p + off, zero, len) != 0)
            return false;
    }
    return true;
}

/* Check one fresh block against everything the API promises about it. */
static void check_block(int nid, const struct zone_request *req, struct pa_page *page,
                        unsigned int order, unsigned char *addr)
{
    size_t bytes = block_bytes(order);
    int got_nid = pa_page_to_nid(page);
    enum pa_zone_type zone = pa_page_zonenum(page);
    unsigned long pfn = pa_page_to_pfn(page);

    if ((uintptr_t)addr % bytes != 0)
        fail("node %d %s order %u: address %p is not %zu-byte aligned",
             nid, req->name, order, (void *)addr, bytes);
    if (got_nid != nid)
        fail("node %d %s order %u: pa_page_to_nid says %d despite PA_GFP_THISNODE",
             nid, req->name, order, got_nid);
    if ((int)zone < 0 || zone >= PA_MAX_NR_ZONES || zone > req->highest)
        fail("node %d %s order %u: pa_page_zonenum %d is above the highest allowed zone %s",
             nid, req->name, order, (int)zone, zone_names[req->highest]);
    if (pa_page_count(page) != 1)
        fail("node %d %s order %u: refcount %d after allocation, expected 1",
             nid, req->name, order, pa_page_count(page));
    if (pfn == -1UL || pfn % (1UL << order) != 0)
        fail("node %d %s order %u: pfn %#lx is not aligned to the order",
             nid, req->name, order, pfn);
    if (pa_pfn_to_page(pfn) != page)
        fail("node %d %s order %u: pa_pfn_to_page(pa_page_to_pfn(page)) != page",
             nid, req->name, order);
    if (pa_virt_to_page(addr) != page)
        fail("node %d %s order %u: pa_virt_to_page(address) != page", nid, req->name, order);
    struct pa_page *last = pa_virt_to_page(addr + bytes - 1);
    if (!last || pa_page_to_pfn(last) != pfn + (1UL << order) - 1)
        fail("node %d %s order %u: the block's last byte maps to the wrong pfn",
             nid, req->name, order);

    /* PA_GFP_ZERO: the memory must read as zero before we write it. */
    size_t checked = order <= TOUCH_ALL_MAX_ORDER ? bytes : PA_PAGE_SIZE;
    if (!is_zero(addr, checked) || !is_zero(addr + bytes - PA_PAGE_SIZE, PA_PAGE_SIZE))
        fail("node %d %s order %u: PA_GFP_ZERO block is not zeroed", nid, req->name, order);
}

static void write_block(struct block *b)
{
    size_t bytes = block_bytes(b->order);

    if (b->order <= TOUCH_ALL_MAX_ORDER) {
        memset(b->addr, 0xa5, bytes);
    } else {
        memset(b->addr, 0xa5, PA_PAGE_SIZE);
        memset(b->addr + bytes - PA_PAGE_SIZE, 0xa5, PA_PAGE_SIZE);
    }
    memcpy(b->addr, &b->tag, sizeof(b->tag));
    memcpy(b->addr + bytes - sizeof(b->tag), &b->tag, sizeof(b->tag));
}

/* A block whose tags changed was handed out twice, or overlaps another. */
static void verify_block(const struct block *b)
{
    uint64_t head, tail;

    memcpy(&head, b->addr, sizeof(head));
    memcpy(&tail, b->addr + block_bytes(b->order) - sizeof(tail), sizeof(tail));
    if (head != b->tag || tail != b->tag)
        fail("block %p (order %u) was overwritten while held: tag %#" PRIx64
             " / %#" PRIx64 ", expected %#" PRIx64,
             (void *)b->addr, b->order, head, tail, b->tag);
}

/* Allocate BLOCKS_PER_ORDER blocks of each order for one node and request;
 * print one table row.  Returns the number of blocks obtained. */
static size_t demo_zone(int nid, unsigned int ri)
{
    const struct zone_request *req = &zone_requests[ri];
    unsigned int zones_seen = 0;
    size_t got_total = 0;
    char counts[(PA_MAX_ORDER + 1) * 4 + 1];
    size_t len = 0;

    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
        int got = 0;

        for (int i = 0; i < BLOCKS_PER_ORDER; i++) {
            struct pa_page *page = pa_alloc_pages_node(nid, req->gfp | DEMO_GFP, order);
            if (!page)
                break;  /* empty or exhausted: reported as a short count */
            unsigned char *addr = pa_page_address(page);
            if (!addr) {
                fail("node %d %s order %u: pa_page_address returned NULL", nid, req->name, order);
                continue;
            }
            check_block(nid, req, page, order, addr);
            enum pa_zone_type zone = pa_page_zonenum(page);
            if ((unsigned int)zone < PA_MAX_NR_ZONES)
                zones_seen |= 1u << zone;

            struct block *b = &blocks[nr_blocks++];
            b->page = page;
            b->addr = addr;
            b->order = order;
            b->tag = ((uint64_t)nid << 48) | ((uint64_t)ri << 40) | ((uint64_t)order << 32) |
                     (uint64_t)nr_blocks;
            write_block(b);
            got++;
        }
        got_total += (size_t)got;
        len += (size_t)snprintf(counts + len, sizeof(counts) - len, "%4d", got);
    }

    char got_zones[40] = "";
    for (int z = 0; z < PA_MAX_NR_ZONES; z++) {
        if (zones_seen & (1u << z)) {
            if (got_zones[0])
                strcat(got_zones, "+");
            strcat(got_zones, zone_names[z]);
        }
    }
    printf("  %-8s %-15s%s%s\n", req->name, got_zones[0] ? got_zones : "-", counts,
           got_total ? "" : "   (empty on this node)");
    return got_total;
}

int main(void)
{
    if (pa_init(NULL) != 0) {
        fprintf(stderr, "zones_demo: pa_init failed: %s\n", strerror(errno));
        return 1;
    }

    int nodes = pa_num_nodes();
    if (nodes < 1) {
        fprintf(stderr, "zones_demo: pa_num_nodes() = %d\n", nodes);
        return 1;
    }
    printf("zones_demo: libpagealloc %s, PA_MAX_ORDER %d (largest block %zu KiB), %d node(s)\n",
           PA_VERSION_STRING, PA_MAX_ORDER, block_bytes(PA_MAX_ORDER) >> 10, nodes);

    blocks = calloc((size_t)nodes * NR_REQUESTS * (PA_MAX_ORDER + 1) * BLOCKS_PER_ORDER,
                    sizeof(*blocks));
    if (!blocks) {
        perror("zones_demo: calloc");
        return 1;
    }

    /* An order above PA_MAX_ORDER is a bad argument, not a lack of memory. */
    errno = 0;
    if (pa_alloc_pages_node(0, PA_GFP_KERNEL | PA_GFP_NOWARN, PA_MAX_ORDER + 1) != NULL ||
        errno != EINVAL)
        fail("order PA_MAX_ORDER+1 did not fail with EINVAL (errno %d)", errno);

    size_t node0_normal = 0;
    for (int nid = 0; nid < nodes; nid++) {
        printf("\nnode %d (distance to node 0: %d), blocks obtained per order:\n", nid,
               pa_node_distance(nid, 0));
        printf("  %-8s %-15s", "request", "got zone");
        for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
            char label[8];
            snprintf(label, sizeof(label), "o%u", order);
            printf("%4s", label);
        }
        printf("\n");
        for (unsigned int ri = 0; ri < NR_REQUESTS; ri++) {
            size_t got = demo_zone(nid, ri);
            if (nid == 0 && zone_requests[ri].highest == PA_ZONE_NORMAL)
                node0_normal = got;
        }
        const char *backing = pa_node_backing(nid);
        printf("  backing: %s\n", backing ? backing : "(no section online)");
    }
    if (node0_normal == 0)
        fail("node 0 gave no block at all for a plain PA_GFP_KERNEL request");

    printf("\n%zu blocks held.  buddyinfo and zoneinfo now:\n\n", nr_blocks);
    if (pa_show_buddyinfo(stdout) != 0)
        fail("pa_show_buddyinfo failed: %s", strerror(errno));
    printf("\n");
    if (pa_show_zoneinfo(stdout) != 0)
        fail("pa_show_zoneinfo failed: %s", strerror(errno));
    fflush(stdout);
    if (pa_check_invariants() != 0)
        fail("pa_check_invariants failed while blocks were held");

    for (size_t i = 0; i < nr_blocks; i++)
        verify_block(&blocks[i]);
    for (size_t i = 0; i < nr_blocks; i++)
        pa_free_pages(blocks[i].page, blocks[i].order);
    free(blocks);

    printf("\nall blocks freed.  buddyinfo now:\n\n");
    if (pa_show_buddyinfo(stdout) != 0)
        fail("pa_show_buddyinfo failed: %s", strerror(errno));
    fflush(stdout);
    if (pa_check_invariants() != 0)
        fail("pa_check_invariants failed after everything was freed");

    if (failures) {
        fprintf(stderr, "zones_demo: %lu inconsistencies\n", failures);
        return 1;
    }
    printf("\nzones_demo: all checks passed\n");
    return 0;
}

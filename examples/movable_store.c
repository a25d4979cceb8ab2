/* SPDX-License-Identifier: MIT */
/*
 * movable_store: an object store whose pages compaction may move.
 *
 * Objects of 256 bytes live 16 to a page.  Callers hold handles (page
 * index, slot), never addresses, so the store can move a page: it
 * registers every page as movable (pa_page_set_movable) and, when
 * compaction asks, copies the page to the new location and repoints its
 * table (the migrate callback).  This is how the kernel's zsmalloc and
 * balloon pages let compaction defragment memory they own.
 *
 * The run: fill node 0's Movable zone with objects, delete the objects of
 * every other page (those pages go back: the zone is half free, in single
 * pages), count the free blocks of a pageblock or more in the zone from
 * pa_show_buddyinfo(), compact (pa_compact_node), count again, and verify
 * every remaining object by its handle.  It checks that pages moved (the
 * callbacks ran and the pfns changed), that no object changed, and that
 * compaction made large free blocks.  Exit status 0 and "movable_store: OK",
 * or 1 with the reason.
 *
 * Unless set in the environment, nodes are 64 MiB with half of each in
 * ZONE_MOVABLE (PAGEALLOC_NODE_SIZE, PAGEALLOC_MOVABLECORE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagealloc/pagealloc.h>

#define OBJ_SIZE 256
#define OBJS_PER_PAGE (PA_PAGE_SIZE / OBJ_SIZE)
#define MAX_PAGES 65536
#define PAGEBLOCK_ORDER 9

struct store_page {
    struct pa_page *page;           /* repointed by migration */
    unsigned long pfn_at_fill;      /* where it was before compaction */
    uint16_t used;                  /* bitmap of live slots */
    bool isolated;
};

static struct {
    pthread_mutex_t lock;           /* compaction may call in from kcompactd */
    struct store_page pages[MAX_PAGES];
    unsigned long nr_pages;
    unsigned long migrated, isolated, putback;
} store = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct handle {
    uint32_t page, slot;
};

/* Object contents: derived from the handle, so any mix-up shows. */
static void obj_fill(unsigned char *obj, struct handle h)
{
    for (unsigned int i = 0; i < OBJ_SIZE; i++)
        obj[i] = (unsigned char)(h.page * 31 + h.slot * 7 + i);
}

static bool obj_check(const unsigned char *obj, struct handle h)
{
    for (unsigned int i = 0; i < OBJ_SIZE; i++)
        if (obj[i] != (unsigned char)(h.page * 31 + h.slot * 7 + i))
            return false;
    return true;
}

static unsigned char *obj_addr(struct handle h)
{
    return (unsigned char *)pa_page_address(store.pages[h.page].page) + h.slot * OBJ_SIZE;
}

/* ------------------------------------------------------------------ */
/* The migration callbacks                                             */
/* ------------------------------------------------------------------ */

static struct store_page *page_entry(struct pa_page *page)
{
    struct store_page *sp = pa_page_movable_owner(page);
    if (sp < store.pages || sp >= store.pages + store.nr_pages || sp->page != page)
        return NULL;
    return sp;
}

static bool store_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&store.lock);
    struct store_page *sp = page_entry(page);
    bool ok = sp && !sp->isolated && sp->used;
    if (ok) {
        sp->isolated = true;
        store.isolated++;
    }
    pthread_mutex_unlock(&store.lock);
    return ok;
}

static int store_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    pthread_mutex_lock(&store.lock);
    struct store_page *sp = page_entry(src);
    if (!sp) {
        pthread_mutex_unlock(&store.lock);
        return -EAGAIN;
    }
    memcpy(pa_page_address(dst), pa_page_address(src), PA_PAGE_SIZE);
    sp->page = dst;              /* every handle now reaches the new copy */
    sp->isolated = false;
    store.migrated++;
    pthread_mutex_unlock(&store.lock);
    return 0;
}

static void store_putback(struct pa_page *page)
{
    pthread_mutex_lock(&store.lock);
    struct store_page *sp = page_entry(page);
    if (sp)
        sp->isolated = false;
    store.putback++;
    pthread_mutex_unlock(&store.lock);
}

static const struct pa_movable_ops store_ops = {
    .isolate_page = store_isolate,
    .migrate_page = store_migrate,
    .putback_page = store_putback,
};

/* Delete the objects of page i and free it: 1, or 0 if it was empty, or
 * -1 while compaction holds it. */
static int store_drop(unsigned long i)
{
    pthread_mutex_lock(&store.lock);
    struct store_page *sp = &store.pages[i];
    if (sp->isolated) {
        pthread_mutex_unlock(&store.lock);
        return -1;
    }
    struct pa_page *page = sp->page;
    sp->used = 0;
    sp->page = NULL;
    pthread_mutex_unlock(&store.lock);
    if (page)
        pa_free_pages(page, 0);      /* freeing clears the movable registration */
    return page != NULL ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Free blocks of a pageblock or more in a zone, from /proc/buddyinfo  */
/* ------------------------------------------------------------------ */

static long big_free_blocks(int nid, const char *zone_name)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f || pa_show_buddyinfo(f) != 0) {
        if (f)
            fclose(f);
        free(text);
        return -1;
    }
    fclose(f);
    long blocks = -1;
    char want[64];
    snprintf(want, sizeof(want), "Node %d, zone", nid);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char zone[32];
        int n = 0;
        if (strncmp(line, want, strlen(want)) != 0 ||
            sscanf(line + strlen(want), "%31s%n", zone, &n) != 1 || strcmp(zone, zone_name) != 0)
            continue;
        /* the counts of orders 0..MAX_ORDER follow */
        char *p = line + strlen(want) + n;
        blocks = 0;
        for (int order = 0; order <= PA_MAX_ORDER; order++) {
            char *end;
            unsigned long count = strtoul(p, &end, 10);
            if (end == p)
                break;
            if (order >= PAGEBLOCK_ORDER)
                blocks += (long)(count << (order - PAGEBLOCK_ORDER));
            p = end;
        }
    }
    free(text);
    return blocks;
}

/* ------------------------------------------------------------------ */

int main(void)
{
    /* a Movable zone to fill, unless the environment says otherwise */
    struct pa_config cfg = { 0 };
    if (!getenv("PAGEALLOC_NODE_SIZE"))
        cfg.node_size = 64UL << 20;
    if (!getenv("PAGEALLOC_MOVABLECORE"))
        cfg.movablecore_percent = 50;
    if (pa_init(&cfg) != 0) {
        fprintf(stderr, "movable_store: pa_init: %s\n", strerror(errno));
        return 1;
    }

    /* Fill: pages for objects from node 0's Movable zone until it is full. */
    const pa_gfp_t gfp = PA_GFP_HIGHUSER_MOVABLE | PA_GFP_THISNODE | PA_GFP_NOWARN | PA_GFP_NORETRY;
    unsigned long objects = 0;
    while (store.nr_pages < MAX_PAGES) {
        struct pa_page *page = pa_alloc_pages_node(0, gfp, 0);
        if (!page)
            break;
        if (pa_page_zonenum(page) != PA_ZONE_MOVABLE) {
            pa_free_pages(page, 0);      /* the zone is full: fallback reached Normal */
            break;
        }
        pthread_mutex_lock(&store.lock);
        uint32_t idx = (uint32_t)store.nr_pages++;
        store.pages[idx] = (struct store_page){ .page = page, .used = 0xffff };
        for (uint32_t s = 0; s < OBJS_PER_PAGE; s++)
            obj_fill(obj_addr((struct handle){ idx, s }), (struct handle){ idx, s });
        pa_page_set_movable(page, &store_ops, &store.pages[idx]);
        pthread_mutex_unlock(&store.lock);
        objects += OBJS_PER_PAGE;
    }
    if (store.nr_pages < 2 * (1UL << PAGEBLOCK_ORDER)) {
        printf("movable_store: node 0 has no Movable zone to fill (%lu pages); set "
               "PAGEALLOC_MOVABLECORE\n", store.nr_pages);
        return 1;
    }

    /* Delete every object of every other page: those pages go back. */
    unsigned long freed_pages = 0;
    for (unsigned long i = 0; i < store.nr_pages; i += 2)
        if (store_drop(i) == 1) {
            objects -= OBJS_PER_PAGE;
            freed_pages++;
        }
    pa_drain_all_pages();
    long blocks_before = big_free_blocks(0, "Movable");
    pthread_mutex_lock(&store.lock);
    for (unsigned long i = 0; i < store.nr_pages; i++)
        if (store.pages[i].page)
            store.pages[i].pfn_at_fill = pa_page_to_pfn(store.pages[i].page);
    pthread_mutex_unlock(&store.lock);

    printf("store: %lu pages in node 0's Movable zone, %lu freed (every other one), %lu objects "
           "left; free blocks of a pageblock or more: %ld\n",
           store.nr_pages, freed_pages, objects, blocks_before);

    if (pa_compact_node(0) != 0) {
        printf("movable_store: pa_compact_node(0): %s\n", strerror(errno));
        return 1;
    }
    long blocks_after = big_free_blocks(0, "Movable");

    /* Verify every object through its handle, and count moved pages. */
    unsigned long moved = 0, bad = 0, checked = 0;
    pthread_mutex_lock(&store.lock);
    for (uint32_t i = 0; i < store.nr_pages; i++) {
        struct store_page *sp = &store.pages[i];
        if (!sp->page)
            continue;
        if (pa_page_to_pfn(sp->page) != sp->pfn_at_fill)
            moved++;
        if (pa_page_movable_owner(sp->page) != sp)
            bad++;
        for (uint32_t s = 0; s < OBJS_PER_PAGE; s++, checked++)
            if (!obj_check(obj_addr((struct handle){ i, s }), (struct handle){ i, s }))
                bad++;
    }
    unsigned long migrated = store.migrated, isolated = store.isolated, putback = store.putback;
    pthread_mutex_unlock(&store.lock);

    unsigned long ok_count = 0;
    pa_vmstat_get("pgmigrate_success", &ok_count);
    printf("compaction: %lu pages isolated, %lu migrated, %lu put back (pgmigrate_success %lu); "
           "%lu pages now at a new pfn; %lu objects checked, %lu wrong; free blocks of a "
           "pageblock or more: %ld -> %ld\n",
           isolated, migrated, putback, ok_count, moved, checked, bad, blocks_before, blocks_after);

    int failures = 0;
    if (migrated == 0 || moved == 0 || moved > migrated) {
        printf("movable_store: expected pages to move (migrated %lu, moved %lu)\n", migrated, moved);
        failures++;
    }
    if (bad) {
        printf("movable_store: %lu objects or registrations were wrong after compaction\n", bad);
        failures++;
    }
    if (blocks_before < 0 || blocks_after <= blocks_before) {
        printf("movable_store: compaction made no large free block (%ld -> %ld)\n", blocks_before,
               blocks_after);
        failures++;
    }

    /* A pageblock-sized movable block is there for the taking now. */
    struct pa_page *big = pa_alloc_pages_node(0, (gfp | PA_GFP_COMP) & ~PA_GFP_DIRECT_RECLAIM,
                                              PAGEBLOCK_ORDER);
    if (!big || pa_page_zonenum(big) != PA_ZONE_MOVABLE) {
        printf("movable_store: no order-%d block in the Movable zone after compaction\n",
               PAGEBLOCK_ORDER);
        failures++;
    }
    if (big)
        pa_put_page(big);

    for (unsigned long i = 0; i < store.nr_pages; i++)
        while (store_drop(i) < 0)
            sched_yield();      /* kcompactd holds it: it comes back by migrate or putback */
    if (pa_check_invariants() != 0) {
        printf("movable_store: the allocator's invariants are broken (see stderr)\n");
        failures++;
    }
    printf("movable_store: %s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}

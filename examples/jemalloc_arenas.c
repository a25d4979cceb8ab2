/* SPDX-License-Identifier: MIT */
/*
 * jemalloc_arenas: malloc-sized objects on chosen nodes, with libpagealloc
 * behind them (libpagealloc-jemalloc, <pagealloc/jemalloc.h>).
 *
 * One jemalloc arena per node builds a hash table of its own (nodes of a
 * list, strings, a bucket array that grows past 4 MiB); a third arena
 * follows the calling thread's memory policy.  The example checks that
 * every object sits on its arena's node, prints each arena's counters, then
 * destroys the arenas and checks that libpagealloc has every page back.
 *
 *   PAGEALLOC_NUMA_EMULATE=2 ./example_jemalloc_arenas
 *
 * Build: cc jemalloc_arenas.c $(pkg-config --cflags --libs pagealloc-jemalloc)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include <pagealloc/jemalloc.h>
#include <pagealloc/pagealloc.h>

struct item {
    struct item *next;
    char *key;
    uint64_t value;
};

struct table {
    int arena;
    size_t nbuckets;
    struct item **buckets;
};

static void *xmallocx(size_t size, int arena)
{
    void *p = mallocx(size, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
    if (!p) {
        fprintf(stderr, "jemalloc_arenas: mallocx(%zu) in arena %d failed\n", size, arena);
        exit(1);
    }
    return p;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static void table_put(struct table *t, const char *key, uint64_t value)
{
    if (!t->buckets) {
        t->nbuckets = 1u << 20;   /* 8 MiB of buckets: one extent beyond a 4 MiB buddy block */
        t->buckets = mallocx(t->nbuckets * sizeof(*t->buckets),
                             MALLOCX_ARENA(t->arena) | MALLOCX_TCACHE_NONE | MALLOCX_ZERO);
        if (!t->buckets) {
            fprintf(stderr, "jemalloc_arenas: bucket array failed\n");
            exit(1);
        }
    }
    struct item *it = xmallocx(sizeof(*it), t->arena);
    size_t len = strlen(key) + 1;
    it->key = xmallocx(len, t->arena);
    memcpy(it->key, key, len);
    it->value = value;
    size_t b = hash(key) & (t->nbuckets - 1);
    it->next = t->buckets[b];
    t->buckets[b] = it;
}

/* Every object of t on node nid (-1: any node of libpagealloc's). */
static int table_check(const struct table *t, int nid)
{
    int bad = 0;
    if (nid >= 0 && pa_jemalloc_node_of(t->buckets) != nid)
        bad++;
    for (size_t b = 0; b < t->nbuckets; b++)
        for (struct item *it = t->buckets[b]; it; it = it->next) {
            int n1 = pa_jemalloc_node_of(it), n2 = pa_jemalloc_node_of(it->key);
            if (n1 < 0 || n2 < 0 || (nid >= 0 && (n1 != nid || n2 != nid)) ||
                pa_jemalloc_arena_of(it) != t->arena)
                bad++;
        }
    return bad;
}

int main(void)
{
    if (pa_init(NULL) != 0) {
        perror("jemalloc_arenas: pa_init");
        return 1;
    }
    int nodes = pa_num_nodes() < 2 ? pa_num_nodes() : 2;
    struct table t[3];
    int ntables = 0;
    for (int nid = 0; nid < nodes; nid++) {
        int a = pa_jemalloc_arena_create(PA_GFP_USER, nid);
        if (a < 0) {
            fprintf(stderr, "jemalloc_arenas: arena on node %d: %s\n", nid, strerror(errno));
            return 1;
        }
        t[ntables++] = (struct table){ .arena = a };
    }
    int policy_arena = pa_jemalloc_arena_create(PA_GFP_USER, -1);
    if (policy_arena < 0) {
        perror("jemalloc_arenas: policy arena");
        return 1;
    }
    t[ntables++] = (struct table){ .arena = policy_arena };

    char key[32];
    for (int i = 0; i < 50000; i++)
        for (int k = 0; k < ntables; k++) {
            snprintf(key, sizeof(key), "key-%d-%d", k, i);
            table_put(&t[k], key, (uint64_t)i);
        }
    int bad = 0;
    for (int k = 0; k < ntables; k++) {
        int nid = k < nodes ? k : -1;
        int b = table_check(&t[k], nid);
        printf("arena %d (%s%d): %s\n", t[k].arena, nid >= 0 ? "node " : "policy, nid ", nid,
               b ? "objects on the wrong node" : "every object on libpagealloc's pages as asked");
        bad += b;
    }
    pa_jemalloc_show(stdout);

    /* destroying an arena gives back every page it holds: no need to free
     * the objects one by one */
    unsigned long held = 0, free_before = 0, free_after = 0;
    for (int k = 0; k < ntables; k++) {
        struct pa_jemalloc_stats st = { .size = sizeof(st) };
        if (pa_jemalloc_arena_stats((unsigned)t[k].arena, &st) == 0)
            held += st.bytes / 4096;
    }
    pa_drain_all_pages();
    pa_vmstat_get("nr_free_pages", &free_before);
    for (int k = 0; k < ntables; k++) {
        char name[64];
        snprintf(name, sizeof(name), "arena.%d.destroy", t[k].arena);
        if (mallctl(name, NULL, NULL, NULL, 0) != 0) {
            fprintf(stderr, "jemalloc_arenas: %s failed\n", name);
            return 1;
        }
    }
    pa_drain_all_pages();
    pa_vmstat_get("nr_free_pages", &free_after);
    printf("nr_free_pages: %lu before, %lu after the arenas were destroyed (they held %lu pages)\n",
           free_before, free_after, held);
    if (bad || held == 0 || free_after != free_before + held) {
        printf("jemalloc_arenas: FAILED\n");
        return 1;
    }
    printf("jemalloc_arenas: OK\n");
    return 0;
}

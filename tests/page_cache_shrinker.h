/* SPDX-License-Identifier: MIT */
/*
 * A cache of order-0 pages behind a shrinker: what a program could give up
 * under memory pressure.  Shared by the pressure tests of
 * test_page_reporting.c and tests/numa-vm/numa_vm_test.c.
 */
#ifndef PAGE_CACHE_SHRINKER_H
#define PAGE_CACHE_SHRINKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <pagealloc/pagealloc.h>
#include <pagealloc/reclaim.h>

/* A number from file name of cgroup directory dir (0 if unreadable). */
static inline unsigned long long cg_read_ull(const char *dir, const char *name)
{
    char path[4200], buf[64] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = 0;
    fclose(f);
    return strtoull(buf, NULL, 10);
}

struct cache {
    pthread_mutex_t lock;
    struct pa_page **pages;
    size_t n;
};

static inline unsigned long cache_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)sc;
    struct cache *c = s->private_data;
    pthread_mutex_lock(&c->lock);
    unsigned long n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static inline unsigned long cache_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct cache *c = s->private_data;
    unsigned long freed = 0;
    pthread_mutex_lock(&c->lock);
    while (c->n && freed < sc->nr_to_scan) {
        pa_free_pages(c->pages[--c->n], 0);
        freed++;
    }
    pthread_mutex_unlock(&c->lock);
    return freed;
}

#endif

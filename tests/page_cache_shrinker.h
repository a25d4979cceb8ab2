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

#include <pagealloc/pagealloc.h>
#include <pagealloc/reclaim.h>

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

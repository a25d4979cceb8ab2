/* SPDX-License-Identifier: MIT */
/*
 * Doubly linked lists, the kernel's struct list_head: free lists, pcp lists
 * and the LRU helper lists are all of this kind.
 */
#ifndef PAGEALLOC_LIST_H
#define PAGEALLOC_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct list_head {
    struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *h)
{
    WRITE_ONCE(h->next, h);
    h->prev = h;
}
/* READ_ONCE: callers test free lists without the zone lock, as hints */
static inline bool list_empty(const struct list_head *h) { return READ_ONCE(h->next) == h; }
static inline void __list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
    next->prev = n;
    n->next = next;
    n->prev = prev;
    WRITE_ONCE(prev->next, n);
}
static inline void list_add(struct list_head *n, struct list_head *h) { __list_add(n, h, h->next); }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __list_add(n, h->prev, h); }
static inline void list_del(struct list_head *e)
{
    e->next->prev = e->prev;
    WRITE_ONCE(e->prev->next, e->next);
    e->next = e->prev = NULL;
}
static inline void list_move(struct list_head *e, struct list_head *h) { list_del(e); list_add(e, h); }
static inline void list_move_tail(struct list_head *e, struct list_head *h) { list_del(e); list_add_tail(e, h); }
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_last_entry(h, type, member) list_entry((h)->prev, type, member)
#define list_for_each(pos, h) for (pos = (h)->next; pos != (h); pos = pos->next)

#endif /* PAGEALLOC_LIST_H */

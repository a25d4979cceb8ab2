/* SPDX-License-Identifier: MIT */
/*
 * The spinlock of zones (and of other short critical sections): a
 * test-and-test-and-set lock whose contended path is in page_alloc.c.
 */
#ifndef PAGEALLOC_SPINLOCK_H
#define PAGEALLOC_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "compiler.h"

/* Zone and per-CPU locks: a test-and-test-and-set spinlock that yields
 * after a short spin, so a preempted holder on a 2-CPU machine does not
 * burn the other CPU's time slice. */
typedef struct {
    atomic_int locked;
} pa_spinlock_t;

void pa_spin_lock_slow(pa_spinlock_t *l);           /* page_alloc.c */

static inline void spin_lock_init(pa_spinlock_t *l) { atomic_init(&l->locked, 0); }
static inline bool spin_trylock(pa_spinlock_t *l)
{
    return atomic_load_explicit(&l->locked, memory_order_relaxed) == 0 &&
           !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire);
}
static inline void spin_lock(pa_spinlock_t *l)
{
    if (likely(!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire)))
        return;
    pa_spin_lock_slow(l);
}
static inline void spin_unlock(pa_spinlock_t *l)
{
    atomic_store_explicit(&l->locked, 0, memory_order_release);
}

#endif /* PAGEALLOC_SPINLOCK_H */

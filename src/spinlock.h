/* SPDX-License-Identifier: MIT */
/*
 * The spinlock of zones (and of other short critical sections): a
 * test-and-test-and-set lock whose contended path is in page_alloc.c.
 */
#ifndef PAGEALLOC_SPINLOCK_H
#define PAGEALLOC_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "lockdep.h"

/* Zone and per-CPU locks: a test-and-test-and-set spinlock that yields
 * after a short spin, so a preempted holder on a 2-CPU machine does not
 * burn the other CPU's time slice.  Its class and sub-order are for the
 * lock order checker (lockdep.h). */
typedef struct {
    atomic_int locked;
    uint16_t class;
    uint16_t sub;
} pa_spinlock_t;

void pa_spin_lock_slow(pa_spinlock_t *l);           /* page_alloc.c */

static inline void spin_lock_init(pa_spinlock_t *l, enum lock_class c, unsigned int sub)
{
    atomic_init(&l->locked, 0);
    l->class = (uint16_t)c;
    l->sub = (uint16_t)sub;
}
static inline bool spin_trylock(pa_spinlock_t *l)
{
    bool ok = atomic_load_explicit(&l->locked, memory_order_relaxed) == 0 &&
              !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire);
    if (ok)
        lockdep_acquired_try((enum lock_class)l->class, l->sub);
    return ok;
}
static inline void spin_lock(pa_spinlock_t *l)
{
    lockdep_acquire((enum lock_class)l->class, l->sub);
    if (likely(!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire)))
        return;
    pa_spin_lock_slow(l);
}
static inline void spin_unlock(pa_spinlock_t *l)
{
    lockdep_release((enum lock_class)l->class, l->sub);
    atomic_store_explicit(&l->locked, 0, memory_order_release);
}

#endif /* PAGEALLOC_SPINLOCK_H */

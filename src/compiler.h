/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers, as the kernel's compiler.h and its friends: branch
 * hints, attributes, container_of, alignment arithmetic, READ_ONCE and
 * WRITE_ONCE, and the relaxed counters.
 */
#ifndef PAGEALLOC_COMPILER_H
#define PAGEALLOC_COMPILER_H

#include <stddef.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define PA_COLD     __attribute__((cold, noinline))
#define PA_UNUSED   __attribute__((unused))
#define PA_ALIGNED(n) __attribute__((aligned(n)))
#define PA_CACHELINE 64
/* On the declaration of every library-internal variable: the library is
 * built with hidden visibility, but an extern declaration does not know
 * that, and PIC code would reach the variable through the GOT (one more
 * load per use, on the fast paths too). */
#define PA_HIDDEN   __attribute__((visibility("hidden")))

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PA_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)

/* READ_ONCE/WRITE_ONCE, as the kernel's: one untorn access the compiler may
 * neither merge nor split.  For fields written under a lock but read
 * without one as hints (list_empty on free lists, nr_free, pcp count and
 * high, page->order seen by the compaction scanner): relaxed atomics, so
 * they are plain moves on x86 and no data race for TSan. */
#define READ_ONCE(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Relaxed counters: plain loads and stores, safe to read from any thread
 * (no torn values, no data race for TSan) and free of lock prefixes when
 * only one writer (the owning thread, or the holder of a lock) updates. */
static inline unsigned long pa_relaxed_load(const unsigned long *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void pa_relaxed_add(unsigned long *p, long delta)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
    /* one add to memory: its store is one untorn write, as the relaxed
     * store below, but without the separate load and register (TSan
     * cannot see inside asm, so it gets the atomics) */
    __asm__("addq %1, %0" : "+m"(*p) : "er"(delta));
#else
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (unsigned long)delta,
                     __ATOMIC_RELAXED);
#endif
}

#endif /* PAGEALLOC_COMPILER_H */

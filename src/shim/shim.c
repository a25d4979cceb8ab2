/* SPDX-License-Identifier: MIT */
/*
 * libpagealloc-preload.so: an LD_PRELOAD shim that serves private anonymous
 * read-write mappings from the page allocator.
 *
 * Interposed: mmap, mmap64, munmap, mremap, madvise, mprotect.  Real calls
 * are raw system calls (no dlsym, so no dlsym/malloc recursion).
 *
 * Served: MAP_PRIVATE|MAP_ANONYMOUS, PROT_READ|PROT_WRITE, not MAP_FIXED*,
 * not MAP_STACK/MAP_GROWSDOWN/MAP_HUGETLB/MAP_LOCKED, length (rounded up to
 * pages) in [threshold, 4 MiB].  Longer mappings, and anything the allocator
 * cannot satisfy, go to the kernel.
 *
 * Environment (the shim's own variables, read before pa_init, since they
 * decide how the library is initialised, by options.c with the library's
 * parser: a bad value gets one message and the default stays;
 * docs/environment.md):
 *   PAGEALLOC_SHIM_THRESHOLD  smallest served length in bytes (default 65536,
 *                             at most 4M; the library's size syntax)
 *   PAGEALLOC_SHIM_CACHE      bytes of unmapped ranges kept for reuse
 *                             (default 32M; 0 turns the cache off)
 *   PAGEALLOC_SHIM_PROTECT    yes (default): unmapped ranges fault on access,
 *                             as the kernel's; no: they stay accessible
 *   PAGEALLOC_SHIM_STATS      yes: print the counters to stderr at exit
 * and, if PAGEALLOC_HUGEPAGES is unset, the shim initialises the library with
 * THP backing (not hugetlb): an application's mprotect/madvise must work at
 * 4 KiB granularity, which hugetlb mappings cannot do ("what cannot be
 * protected correctly is not served in the first place").
 *
 * Served ranges are kept in a sorted array (memory from the raw mmap, never
 * malloc) under one mutex.  Each entry remembers the protection the
 * application set.
 *
 * The kernel's guarantees after munmap.  A range the program unmaps, whole
 * or in part, is made PROT_NONE before munmap returns, so any later access
 * faults, from any thread, as with the kernel.  It then waits in the range
 * cache or goes back to the allocator, still inaccessible (unless the
 * library writes free pages itself: PAGEALLOC_DEBUG=poison or guard).
 * Every served mapping is made read-write and scrubbed on its way to the
 * program (read, and only its non-zero 256-byte blocks written), so a fresh
 * mapping reads zero whatever was written before the range was protected;
 * memory from the allocator is taken without PA_GFP_ZERO for the same
 * reason.  One mprotect per munmap and one per reuse is the price
 * (bench/RESULTS.md); PAGEALLOC_SHIM_PROTECT=no skips both and keeps the
 * scrub.  If the kernel cannot split the mapping (vm.max_map_count), the
 * range stays accessible (counter "unprotected") and is still scrubbed.
 * A background scrubbing thread was tried and measured slower: the caller
 * then reads ranges that sit in the other CPU's cache (bench/RESULTS.md).
 *
 * MAP_FIXED / MREMAP_FIXED / mremap onto a served range with a mapping that is
 * not private anonymous: the kernel replaces arena memory, so those pages are
 * never given back to the allocator (counted as "leaked"); they stay
 * allocated and are never handed out again.
 *
 * Arena memory the shim does not serve (free pages, cached ranges, or pages
 * of another mapping) is never passed to the kernel's munmap/mprotect/
 * madvise: a double munmap or a range spanning pages already freed must not
 * punch holes in the arenas.
 *
 * Signals.  A handler that runs while its thread is inside the shim (the
 * per-thread depth is non-zero; the lock may be held) never takes the lock:
 * its mmap goes to the kernel (a fresh mapping, correct), its munmap of
 * memory outside the arenas goes to the kernel, and its munmap of served
 * memory is queued per thread (32 entries) and carried out when the
 * interrupted call leaves the shim (counter "deferred").  Until then the
 * range stays mapped, which a correct program cannot observe.
 *
 * Known limits:
 * - mremap grows a served range in place only when the pages that follow
 *   are a cached range (counter "grown_in_place"); otherwise it moves (copy,
 *   contents kept) with MREMAP_MAYMOVE and fails with ENOMEM without it
 *   (legal for the kernel too, which may have grown in place).  Growing into
 *   pages free in the allocator would need it to hand out given pages; its
 *   API (pa_alloc_pages_exact) chooses the address, and taking given pages
 *   off the buddy free lists is no public call.
 * - mremap needs the old range to have one protection, as the kernel needs
 *   it inside one VMA (EFAULT otherwise); that protection is kept.
 * - MADV_WIPEONFORK/DONTFORK on served ranges are accepted and ignored.
 * - From a signal handler that interrupted the shim: MAP_FIXED, mprotect,
 *   madvise or mremap on served memory go straight to the kernel (the table
 *   is not consulted), and more than 32 queued munmaps in one interrupted
 *   call leave the extra ranges allocated (counter "defer_lost").
 * - MAP_FIXED or MAP_FIXED_NOREPLACE onto memory the program unmapped is
 *   served again when a cached range holds it (a hole of a served range,
 *   usually); once those pages are back in the allocator (cache full or
 *   off, or released under pressure) the shim cannot choose them:
 *   MAP_FIXED_NOREPLACE then fails with EEXIST, and MAP_FIXED replaces
 *   arena memory (not detected).
 * - Requests longer than 4 MiB (the allocator's largest exact allocation at
 *   MAX_ORDER 10) go to the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pagealloc/pagealloc.h>
#include <pagealloc/gfp.h>
#include <pagealloc/reclaim.h>

/* options.c (hidden: the shim links the library's archive): the active
 * PAGEALLOC_DEBUG flags, which decide whether free pages may be protected;
 * and the shim's own variables. */
unsigned int pa_options_debug(void);
#include "../shim_options.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

#define SHIM_PAGE 4096UL
#define SHIM_MAX_SERVED PA_SHIM_MAX_SERVED     /* pa_alloc_pages_exact limit at MAX_ORDER 10 */
#define SHIM_RW (PROT_READ | PROT_WRITE)

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

/* ------------------------------------------------------------------------ */
/* Raw system calls                                                          */
/* ------------------------------------------------------------------------ */

static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}
static int sys_munmap(void *addr, size_t len)
{
    return (int)syscall(SYS_munmap, addr, len);
}
static void *sys_mremap(void *old, size_t oldlen, size_t newlen, int flags, void *new_addr)
{
    return (void *)syscall(SYS_mremap, old, oldlen, newlen, flags, new_addr);
}
static int sys_mprotect(void *addr, size_t len, int prot)
{
    return (int)syscall(SYS_mprotect, addr, len, prot);
}
static int sys_madvise(void *addr, size_t len, int advice)
{
    return (int)syscall(SYS_madvise, addr, len, advice);
}

/* ------------------------------------------------------------------------ */
/* Options and counters                                                      */
/* ------------------------------------------------------------------------ */

static size_t shim_threshold = 64 * 1024;
static int shim_print_stats;
static int shim_protect = 1;                  /* PAGEALLOC_SHIM_PROTECT */
static int shim_thp_default = 1;              /* PAGEALLOC_HUGEPAGES not given */
static atomic_int shim_ready;                 /* library initialised (or failed) */
static atomic_int shim_disabled;              /* pa_init failed: pass everything */

static atomic_ulong st_served, st_passed, st_fallback, st_leaked_pages;

/* Add one to a counter only ever changed under tab_lock: a plain load and
 * store (no locked instruction on the hot path); readers load it atomically. */
static inline void count_locked(atomic_ulong *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Recursion guard: nothing the shim calls should reach mmap through the PLT,
 * but if it ever does, the inner call goes to the kernel. */
static __thread int shim_depth __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------------------ */
/* Signal handlers that unmap while their thread is inside the shim          */
/* ------------------------------------------------------------------------ */

/* A handler that runs while its thread is inside the shim (tab_lock possibly
 * held) cannot take the lock.  Its munmap of arena memory is queued here,
 * per thread, and carried out when the interrupted call leaves the shim;
 * munmap of memory outside the arenas goes to the kernel at once.  Appends
 * happen only in handlers of this thread; the drain takes the queue with
 * signals blocked, so the two never interleave. */
#define SHIM_DEFER_MAX 32
struct deferred {
    uintptr_t s, e;
};
static __thread struct deferred defer_q[SHIM_DEFER_MAX] __attribute__((tls_model("initial-exec")));
static __thread volatile int defer_n __attribute__((tls_model("initial-exec")));
static atomic_ulong st_deferred, st_defer_lost;

static int unmap_now(uintptr_t s, uintptr_t e, int gaps);

static inline void shim_enter(void)
{
    shim_depth++;
    atomic_signal_fence(memory_order_seq_cst);
}

static void defer_drain(void)
{
    sigset_t all, old;
    struct deferred q[SHIM_DEFER_MAX];
    for (;;) {
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int n = defer_n;
        memcpy(q, defer_q, (size_t)n * sizeof(q[0]));
        defer_n = 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (n == 0)
            return;
        for (int i = 0; i < n; i++)
            unmap_now(q[i].s, q[i].e, 0);    /* gaps were unmapped at once */
    }
}

static inline void shim_leave(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    if (--shim_depth == 0 && __builtin_expect(defer_n != 0, 0))
        defer_drain();
}

/* ------------------------------------------------------------------------ */
/* Scrubbing: making a freed range read as zeros again                       */
/* ------------------------------------------------------------------------ */

/* Zero every 256-byte block of [p, p+n) that holds a non-zero byte; blocks
 * already zero are only read.  A range a program touched sparsely (a byte per
 * page, a header) comes back clean for the cost of reading it, about a third
 * of the cost of writing it all on the machines measured (bench/RESULTS.md).
 * The direction alternates from one call to the next in a thread: a range
 * larger than the L1 cache, scrubbed again soon after, then starts with the
 * lines the last pass left in L1 (20% faster on 64 KiB).  p and n are
 * multiples of 4096. */
typedef void (*scrub_fn)(char *p, size_t n, int down);

static inline int block_dirty_generic(const uint64_t *q)
{
    uint64_t o = 0;
    for (int k = 0; k < 32; k++)
        o |= q[k];
    return o != 0;
}

static void scrub_generic(char *p, size_t n, int down)
{
    for (size_t i = 0; i < n; i += 256) {
        char *c = down ? p + n - 256 - i : p + i;
        if (block_dirty_generic((const uint64_t *)(void *)c))
            memset(c, 0, 256);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static void scrub_avx2(char *p, size_t n, int down)
{
    const __m256i z = _mm256_setzero_si256();
    for (size_t i = 0; i < n; i += 256) {
        char *c = down ? p + n - 256 - i : p + i;
        __m256i o = _mm256_load_si256((void *)c);
        for (int k = 32; k < 256; k += 32)
            o = _mm256_or_si256(o, _mm256_load_si256((void *)(c + k)));
        if (__builtin_expect(!_mm256_testz_si256(o, o), 0))
            for (int k = 0; k < 256; k += 32)
                _mm256_store_si256((void *)(c + k), z);
    }
}

/* One 256-byte block, then two of them behind one test: a 512-byte step
 * with three-input ORs, and separate loops per direction, read 64 KiB about
 * 10% faster than 256-byte steps on the machine measured. */
__attribute__((target("avx512f"), always_inline)) static inline void scrub_block256(char *c, __m512i z)
{
    __m512i o = _mm512_ternarylogic_epi64(_mm512_load_si512(c), _mm512_load_si512(c + 64),
                                          _mm512_load_si512(c + 128), 0xfe);
    o = _mm512_or_si512(o, _mm512_load_si512(c + 192));
    if (_mm512_test_epi64_mask(o, o) != 0)
        for (int k = 0; k < 256; k += 64)
            _mm512_store_si512(c + k, z);
}

__attribute__((target("avx512f"), always_inline)) static inline void scrub_block512(char *c, __m512i z)
{
    __m512i a = _mm512_ternarylogic_epi64(_mm512_load_si512(c), _mm512_load_si512(c + 64),
                                          _mm512_load_si512(c + 128), 0xfe);
    __m512i b = _mm512_ternarylogic_epi64(_mm512_load_si512(c + 192), _mm512_load_si512(c + 256),
                                          _mm512_load_si512(c + 320), 0xfe);
    __m512i o = _mm512_ternarylogic_epi64(a, b, _mm512_or_si512(_mm512_load_si512(c + 384),
                                                                _mm512_load_si512(c + 448)), 0xfe);
    if (__builtin_expect(_mm512_test_epi64_mask(o, o) != 0, 0)) {
        scrub_block256(c, z);
        scrub_block256(c + 256, z);
    }
}

__attribute__((target("avx512f"))) static void scrub_avx512(char *p, size_t n, int down)
{
    const __m512i z = _mm512_setzero_si512();
    if (down)
        for (char *c = p + n; c > p;)
            scrub_block512(c -= 512, z);
    else
        for (char *c = p, *end = p + n; c < end; c += 512)
            scrub_block512(c, z);
}
#endif

static scrub_fn scrub_impl = scrub_generic;
static __thread int scrub_down __attribute__((tls_model("initial-exec")));

static void scrub(void *p, size_t n)
{
    scrub_down ^= 1;
    scrub_impl(p, n, scrub_down);
}

static void scrub_pick(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        scrub_impl = scrub_avx512;
    else if (__builtin_cpu_supports("avx2"))
        scrub_impl = scrub_avx2;
#endif
}

/* ------------------------------------------------------------------------ */
/* The cache of clean ranges                                                 */
/* ------------------------------------------------------------------------ */

/* A range the program unmapped (a whole mapping, or the piece a partial
 * munmap or an mremap shrink cut off) is made inaccessible (PROT_NONE) and
 * kept here, by length, instead of going back to the allocator.  While it
 * waits, any access to it faults, as after the kernel's munmap.  The next
 * mapping of that length takes it with no allocator call: mprotect back to
 * read-write, then scrub, so whatever was written before it was protected
 * (by any thread) is gone and the mapping reads as zeros.  Bounded in bytes
 * (PAGEALLOC_SHIM_CACHE, default 32 MiB; 0 disables it) and per length
 * (CACHE_DEPTH); what does not fit goes back to the allocator, inaccessible
 * too.  A shrinker registered with the library releases cached ranges when
 * it reclaims (kswapd, direct reclaim): they go back to the allocator with
 * their memory returned to the system (MADV_DONTNEED).  Protected by
 * tab_lock; cache_bytes is also read without it, by the shrinker's count. */
#define CACHE_DEPTH 8
#define CACHE_CLASSES (SHIM_MAX_SERVED / SHIM_PAGE + 1)
struct cache_class {
    unsigned n;
    uintptr_t r[CACHE_DEPTH];     /* r[0] the oldest */
};
static struct cache_class *cache;             /* CACHE_CLASSES entries, from the raw mmap */
static size_t cache_limit = 32UL << 20, cache_bytes;
static atomic_ulong st_cache_hits, st_grown_in_place, st_cache_released, st_cache_drained, st_unprotected;

static inline void cache_bytes_add(size_t len, int sign)
{
    __atomic_store_n(&cache_bytes, sign > 0 ? cache_bytes + len : cache_bytes - len, __ATOMIC_RELAXED);
}

static uintptr_t cache_pop(size_t len)
{
    struct cache_class *c;
    if (!cache || len > SHIM_MAX_SERVED || (c = &cache[len / SHIM_PAGE])->n == 0)
        return 0;
    cache_bytes_add(len, -1);
    return c->r[--c->n];
}

/* room for one range of len?  (lock held) */
static int cache_room(size_t len)
{
    /* entries grown in place can be longer than any class */
    return cache && len <= SHIM_MAX_SERVED && cache_bytes + len <= cache_limit &&
           cache[len / SHIM_PAGE].n < CACHE_DEPTH;
}

static void cache_push(uintptr_t s, size_t len)
{
    struct cache_class *c = &cache[len / SHIM_PAGE];
    c->r[c->n++] = s;
    cache_bytes_add(len, 1);
}

/* Remove entry j of class cls. */
static void cache_del(size_t cls, unsigned j)
{
    struct cache_class *c = &cache[cls];
    memmove(&c->r[j], &c->r[j + 1], (c->n - j - 1) * sizeof(c->r[0]));
    c->n--;
    cache_bytes_add(cls * SHIM_PAGE, -1);
}

/* The shim's own variables.  They are read before pa_init, because they
 * decide how the library is initialised, by the library's options.c (the
 * only reader of the environment), with its parser and its messages. */
static void shim_options(void)
{
    struct pa_shim_options so;

    pa_shim_options_load(&so);
    shim_threshold = so.threshold ? so.threshold : 1;
    cache_limit = so.cache;
    shim_protect = so.protect;
    shim_print_stats = so.stats;
    shim_thp_default = !so.hugepages_set;
}

/* ------------------------------------------------------------------------ */
/* The table of served ranges                                                */
/* ------------------------------------------------------------------------ */

struct srange {
    uintptr_t start, end;   /* page aligned, [start, end) */
    int prot;               /* protection the application last set */
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct srange *tab;
static size_t ntab, captab;

/* first index whose end > a */
static size_t tab_lower(uintptr_t a)
{
    size_t lo = 0, hi = ntab;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab[mid].end > a)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int tab_reserve(size_t extra)
{
    if (ntab + extra <= captab)
        return 0;
    size_t ncap = captab ? captab * 2 : 1024;
    while (ncap < ntab + extra)
        ncap *= 2;
    size_t nbytes = ncap * sizeof(struct srange), obytes = captab * sizeof(struct srange);
    void *p;
    if (tab)
        p = sys_mremap(tab, obytes, nbytes, MREMAP_MAYMOVE, NULL);
    else
        p = sys_mmap(NULL, nbytes, SHIM_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return -1;
    }
    tab = p;
    captab = ncap;
    return 0;
}

static void tab_insert_at(size_t i, uintptr_t s, uintptr_t e, int prot)
{
    memmove(&tab[i + 1], &tab[i], (ntab - i) * sizeof(*tab));
    tab[i] = (struct srange){ s, e, prot };
    ntab++;
}

static int tab_insert(uintptr_t s, uintptr_t e, int prot)
{
    if (tab_reserve(1))
        return -1;
    tab_insert_at(tab_lower(s), s, e, prot);
    return 0;
}

static void tab_remove(size_t i, size_t j)
{
    memmove(&tab[i], &tab[j], (ntab - j) * sizeof(*tab));
    ntab -= j - i;
}

static int tab_overlaps(uintptr_t s, uintptr_t e)
{
    size_t i = tab_lower(s);
    return i < ntab && tab[i].start < e;
}

/* Split entries so that no entry straddles s or e.  -1 (ENOMEM) if the table
 * cannot grow. */
static int tab_carve(uintptr_t s, uintptr_t e)
{
    if (tab_reserve(2))
        return -1;
    uintptr_t cut[2] = { s, e };
    for (int k = 0; k < 2; k++) {
        size_t i = tab_lower(cut[k]);
        if (i < ntab && tab[i].start < cut[k] && tab[i].end > cut[k]) {
            struct srange r = tab[i];
            tab[i].end = cut[k];
            tab_insert_at(i + 1, cut[k], r.end, r.prot);
        }
    }
    return 0;
}

/* Free pages go back to the allocator inaccessible, as cached ones, unless
 * the library writes free pages itself (PAGEALLOC_DEBUG=poison fills them,
 * guard pages are protected and unprotected by it): then read-write.
 * Decided once, after pa_init. */
static int protect_free = 1;

/* Give [s, e) (not served, PROT_NONE unless the mprotect failed) back to
 * the allocator. */
static void release_to_allocator(uintptr_t s, uintptr_t e)
{
    if (!protect_free)
        sys_mprotect((void *)s, e - s, SHIM_RW);
    while (s < e) {
        size_t n = e - s > SHIM_MAX_SERVED ? SHIM_MAX_SERVED : e - s;
        pa_free_pages_exact((void *)s, n);
        s += n;
    }
}

/* Make [s, e) (just taken out of the table, protection prot) fault on any
 * access, as the kernel's munmap does.  Fails only when the kernel cannot
 * split the mapping (vm.max_map_count): counted, and the range still reads
 * as zeros when handed out again (scrubbed on the way in). */
static void protect_none(uintptr_t s, uintptr_t e, int prot)
{
    if (!shim_protect) {
        /* kept accessible: read-write, as make_fresh expects */
        if (prot != SHIM_RW)
            sys_mprotect((void *)s, e - s, SHIM_RW);
        return;
    }
    if (prot != PROT_NONE && sys_mprotect((void *)s, e - s, PROT_NONE) != 0)
        atomic_fetch_add(&st_unprotected, 1);
}

/* [s, e), already inaccessible, into the cache if it has room, else back
 * to the allocator.  Lock held. */
static void retire_protected(uintptr_t s, uintptr_t e)
{
    if (cache_room(e - s))
        cache_push(s, e - s);
    else
        release_to_allocator(s, e);
}

/* The program unmapped [s, e) (fully served, one entry's protection, out of
 * the table): make it inaccessible and keep or free it.  Lock held. */
static void free_piece(uintptr_t s, uintptr_t e, int prot)
{
    protect_none(s, e, prot);
    retire_protected(s, e);
}

/* Take the cached range that contains [s, e) out of the cache, putting the
 * parts around [s, e) back (or freeing them).  0, or -1 if no cached range
 * contains [s, e).  Lock held. */
static int cache_take(uintptr_t s, uintptr_t e)
{
    if (!cache || e - s > SHIM_MAX_SERVED)
        return -1;
    for (size_t cls = (e - s) / SHIM_PAGE; cls < CACHE_CLASSES; cls++) {
        struct cache_class *c = &cache[cls];
        for (unsigned j = 0; j < c->n; j++) {
            uintptr_t cs = c->r[j], ce = cs + cls * SHIM_PAGE;
            if (cs > s || ce < e)
                continue;
            cache_del(cls, j);
            if (cs < s)
                retire_protected(cs, s);
            if (e < ce)
                retire_protected(e, ce);
            return 0;
        }
    }
    return -1;
}

/* Make a range taken from the cache or the allocator a fresh mapping:
 * read-write, reading as zeros.  0, or -1 (the kernel could not change the
 * protection; the range is unchanged). */
static int make_fresh(void *p, size_t len)
{
    if (shim_protect && sys_mprotect(p, len, SHIM_RW) != 0)
        return -1;
    scrub(p, len);
    return 0;
}

/* The shrinker: cached ranges are memory the library can have back.  count
 * is in pages; scan releases the oldest ranges, round-robin over lengths,
 * outside the lock: MADV_DONTNEED (the memory goes back to the system) and
 * back to the allocator.  A thread that holds tab_lock and reclaims (an
 * mremap allocating under it) gets PA_SHRINK_STOP: kswapd will come. */
static struct pa_shrinker *cache_shrinker;

static unsigned long cache_count(struct pa_shrinker *sh, struct pa_shrink_control *sc)
{
    (void)sh;
    (void)sc;
    size_t b = __atomic_load_n(&cache_bytes, __ATOMIC_RELAXED);
    return b ? b / SHIM_PAGE : PA_SHRINK_EMPTY;
}

/* Release up to nr pages of cached ranges, taking the lock with trylock
 * (reclaim may run in a thread that holds it); the pages released, or
 * PA_SHRINK_STOP. */
static unsigned long cache_release(unsigned long nr)
{
    static size_t cursor;   /* under tab_lock */
    struct {
        uintptr_t s;
        size_t len;
    } out[32];
    unsigned n = 0;
    unsigned long pages = 0;
    if (pthread_mutex_trylock(&tab_lock) != 0)
        return PA_SHRINK_STOP;
    for (size_t k = 0; k < CACHE_CLASSES && n < 32 && pages < nr && cache_bytes; k++) {
        size_t cls = cursor = (cursor + 1) % CACHE_CLASSES;
        if (cache[cls].n == 0)
            continue;
        out[n].s = cache[cls].r[0];
        out[n].len = cls * SHIM_PAGE;
        cache_del(cls, 0);
        pages += cls;
        n++;
    }
    pthread_mutex_unlock(&tab_lock);
    for (unsigned i = 0; i < n; i++) {
        sys_madvise((void *)out[i].s, out[i].len, MADV_DONTNEED);
        release_to_allocator(out[i].s, out[i].s + out[i].len);
    }
    return pages;
}

static unsigned long cache_scan(struct pa_shrinker *sh, struct pa_shrink_control *sc)
{
    (void)sh;
    unsigned long pages = cache_release(sc->nr_to_scan);
    if (pages != PA_SHRINK_STOP) {
        atomic_fetch_add(&st_cache_released, pages);
        sc->nr_scanned = pages;
    }
    return pages;
}

/* An mmap the allocator could not serve: before it goes to the kernel, the
 * whole cache goes back (memory is short).  Pages released (lock not held). */
static unsigned long cache_drain(void)
{
    unsigned long total = 0, n;
    while ((n = cache_release(~0UL >> 1)) != 0 && n != PA_SHRINK_STOP)
        total += n;
    atomic_fetch_add(&st_cache_drained, total);
    return total;
}

/* Zero [s, e) (fully served) in place, whatever its protection. */
static void zero_piece(uintptr_t s, uintptr_t e, int prot)
{
    if (!(prot & PROT_WRITE) || !(prot & PROT_READ))
        sys_mprotect((void *)s, e - s, SHIM_RW);
    memset((void *)s, 0, e - s);
    if (prot != SHIM_RW)
        sys_mprotect((void *)s, e - s, prot);
}

/* Forget the served entries inside [s, e) without freeing their pages: the
 * kernel is about to replace that memory.  Lock held, carve done. */
static void leak_range(uintptr_t s, uintptr_t e)
{
    size_t i = tab_lower(s), j = i;
    while (j < ntab && tab[j].start < e) {
        atomic_fetch_add(&st_leaked_pages, (tab[j].end - tab[j].start) / SHIM_PAGE);
        j++;
    }
    tab_remove(i, j);
}

/* Is the page at a arena memory (allocated or free)?  Such memory is never
 * handed to the kernel's munmap/mmap/mprotect/madvise unless the shim serves
 * it: a program's stale range (double munmap, munmap spanning pages it
 * already freed) must not punch holes in the arenas. */
static int in_arena(uintptr_t a)
{
    int saved = errno;
    int r = atomic_load_explicit(&shim_ready, memory_order_acquire) &&
            pa_virt_to_page((void *)a) != NULL;
    errno = saved;
    return r;
}

enum gap_op { GAP_MUNMAP, GAP_MPROTECT, GAP_MADVISE, GAP_MMAP };
struct gap_args {
    int prot, flags, fd, advice;
    off_t off;
};

/* Apply op to the runs of [s, e) outside the arenas; 0 or -1 with errno. */
static int kernel_gaps(uintptr_t s, uintptr_t e, enum gap_op op, const struct gap_args *g)
{
    int ret = 0, saved = errno;
    while (s < e) {
        int arena = in_arena(s);
        uintptr_t t = s + SHIM_PAGE;
        while (t < e && in_arena(t) == arena)
            t += SHIM_PAGE;
        if (!arena) {
            long r = 0;
            switch (op) {
            case GAP_MUNMAP: r = sys_munmap((void *)s, t - s); break;
            case GAP_MPROTECT: r = sys_mprotect((void *)s, t - s, g->prot); break;
            case GAP_MADVISE: r = sys_madvise((void *)s, t - s, g->advice); break;
            case GAP_MMAP:
                r = sys_mmap((void *)s, t - s, g->prot, g->flags, g->fd, g->off) == MAP_FAILED ? -1 : 0;
                break;
            }
            if (r) {
                ret = -1;
                saved = errno;
            }
        } else if (op == GAP_MPROTECT || op == GAP_MADVISE) {
            /* arena memory the shim does not serve is memory the program
             * unmapped (or never mapped): the kernel's ENOMEM */
            ret = -1;
            saved = ENOMEM;
        }
        s = t;
    }
    errno = saved;
    return ret;
}

/* munmap with the lock held: served parts go back to the allocator, the gaps
 * to the kernel. */
static int unmap_locked_gaps(uintptr_t s, uintptr_t e, int gaps)
{
    if (!tab_overlaps(s, e))
        return gaps ? kernel_gaps(s, e, GAP_MUNMAP, NULL) : 0;
    if (tab_carve(s, e))
        return -1;
    size_t i = tab_lower(s), j = i;
    uintptr_t cur = s;
    int ret = 0;
    for (; j < ntab && tab[j].start < e; j++) {
        if (gaps && tab[j].start > cur && kernel_gaps(cur, tab[j].start, GAP_MUNMAP, NULL))
            ret = -1;
        free_piece(tab[j].start, tab[j].end, tab[j].prot);
        cur = tab[j].end;
    }
    tab_remove(i, j);
    if (gaps && cur < e && kernel_gaps(cur, e, GAP_MUNMAP, NULL))
        ret = -1;
    return ret;
}

static int unmap_locked(uintptr_t s, uintptr_t e)
{
    return unmap_locked_gaps(s, e, 1);
}

/* ------------------------------------------------------------------------ */
/* Initialisation                                                            */
/* ------------------------------------------------------------------------ */

static void atfork_prepare(void) { pthread_mutex_lock(&tab_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&tab_lock); }
static void atfork_child(void) { pthread_mutex_init(&tab_lock, NULL); }


__attribute__((destructor)) static void shim_dtor(void)
{
    if (shim_print_stats) {
        char buf[320];
        int n = snprintf(buf, sizeof(buf),
                         "pagealloc-shim[%d]: served %lu passed %lu fallback %lu leaked_pages %lu "
                         "cache_hits %lu deferred %lu cache_released %lu unprotected %lu\n",
                         (int)getpid(), atomic_load(&st_served), atomic_load(&st_passed),
                         atomic_load(&st_fallback), atomic_load(&st_leaked_pages),
                         atomic_load(&st_cache_hits), atomic_load(&st_deferred),
                         atomic_load(&st_cache_released) + atomic_load(&st_cache_drained),
                         atomic_load(&st_unprotected));
        if (n > 0)
            (void)!write(2, buf, (size_t)n);
    }
}

/* Initialise the library once, from the shim's constructor (table lock
 * held).  Never lazily from an mmap: that mmap may come from inside a malloc
 * (jemalloc's initialisation), and pa_init reaches malloc through libnuma.
 * Before the constructor has run, every call passes through. */
static int shim_lib_ready(void)
{
    if (atomic_load_explicit(&shim_ready, memory_order_acquire))
        return !atomic_load(&shim_disabled);
    struct pa_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (shim_thp_default)
        cfg.hugepages = PA_HUGEPAGES_THP;
    if (pa_init(&cfg) != 0)
        atomic_store(&shim_disabled, 1);
    scrub_pick();
    if (cache_limit) {
        void *c = sys_mmap(NULL, CACHE_CLASSES * sizeof(struct cache_class), SHIM_RW,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cache = c == MAP_FAILED ? NULL : c;
    }
    /* registered after the library's handlers, so at fork the shim's lock is
     * taken first (its order in normal operation: shim lock, then the
     * allocator's) */
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    if (!atomic_load(&shim_disabled)) {
        protect_free = shim_protect && !(pa_options_debug() & (PA_DEBUG_POISON | PA_DEBUG_GUARD));
        if (cache && (cache_shrinker = pa_shrinker_alloc(0, "shim-range-cache")) != NULL) {
            cache_shrinker->count_objects = cache_count;
            cache_shrinker->scan_objects = cache_scan;
            cache_shrinker->seeks = 0;     /* free to recreate: half per pass */
            pa_shrinker_register(cache_shrinker);
        }
    }
    atomic_store_explicit(&shim_ready, 1, memory_order_release);
    return !atomic_load(&shim_disabled);
}

static int serve_ok(size_t len)
{
    return len >= shim_threshold && len <= SHIM_MAX_SERVED &&
           atomic_load_explicit(&shim_ready, memory_order_acquire) && !atomic_load(&shim_disabled);
}

static void *alloc_range(size_t len)
{
    int saved = errno;
    void *p = pa_alloc_pages_exact(len, PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN);
    errno = saved;
    return p;
}

/* A fresh mapping of len (page multiple) from the cache or the allocator,
 * recorded in the table; NULL if not possible.  Lock held throughout (for
 * mremap; the allocator's direct reclaim then cannot shrink the cache). */
static void *serve_locked(size_t len)
{
    if (!serve_ok(len) || tab_reserve(3))    /* room for this entry and a later carve */
        return NULL;
    void *p = (void *)cache_pop(len);
    int hit = p != NULL;
    if (!p)
        p = alloc_range(len);
    if (p && make_fresh(p, len) != 0) {
        retire_protected((uintptr_t)p, (uintptr_t)p + len);
        p = NULL;
    }
    if (!p) {
        atomic_fetch_add(&st_fallback, 1);
        return NULL;
    }
    tab_insert((uintptr_t)p, (uintptr_t)p + len, SHIM_RW);
    if (hit)
        count_locked(&st_cache_hits);
    count_locked(&st_served);
    return p;
}

/* The same for mmap, with the lock taken only to pop the cache and to record
 * the range: the system calls, the scrub and the allocator (which may
 * reclaim, and so call the cache's shrinker) run outside it. */
static void *serve(size_t len)
{
    if (!serve_ok(len))
        return NULL;
    pthread_mutex_lock(&tab_lock);
    void *p = (void *)cache_pop(len);
    pthread_mutex_unlock(&tab_lock);
    int hit = p != NULL;
    if (!p)
        p = alloc_range(len);
    if (!p && cache_drain() != 0)
        p = alloc_range(len);     /* the allocator is short: our cache first */
    int fresh = p && make_fresh(p, len) == 0;
    pthread_mutex_lock(&tab_lock);
    if (fresh && tab_insert((uintptr_t)p, (uintptr_t)p + len, SHIM_RW) == 0) {
        if (hit)
            count_locked(&st_cache_hits);
        count_locked(&st_served);
    } else {
        if (p)
            free_piece((uintptr_t)p, (uintptr_t)p + len, fresh ? SHIM_RW : PROT_NONE);
        p = NULL;
    }
    pthread_mutex_unlock(&tab_lock);
    if (!p)
        atomic_fetch_add(&st_fallback, 1);
    return p;
}

__attribute__((constructor)) static void shim_ctor(void)
{
    shim_options();
    shim_depth++;   /* mmaps from pa_init itself (libnuma's malloc) pass through */
    pthread_mutex_lock(&tab_lock);
    shim_lib_ready();
    pthread_mutex_unlock(&tab_lock);
    shim_depth--;
    /* defined only in libpagealloc-jemalloc-preload.so (src/jemalloc/preload.c):
     * puts jemalloc's arenas on the library once it is ready */
    extern void shim_malloc_ready(int ok, int print_stats) __attribute__((weak));
    if (shim_malloc_ready)
        shim_malloc_ready(!atomic_load(&shim_disabled), shim_print_stats);
}

static inline size_t round_page(size_t len)
{
    return (len + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1);
}

/* ------------------------------------------------------------------------ */
/* Interposed functions                                                      */
/* ------------------------------------------------------------------------ */

static int servable(size_t len, int prot, int flags)
{
    if ((flags & MAP_TYPE) != MAP_PRIVATE || !(flags & MAP_ANONYMOUS))
        return 0;
    if (prot != SHIM_RW)
        return 0;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_STACK | MAP_GROWSDOWN | MAP_HUGETLB |
                 MAP_LOCKED))
        return 0;
    return len != 0 && len <= SHIM_MAX_SERVED && round_page(len) >= shim_threshold;
}

/* MAP_FIXED over served memory.  Lock held. */
static void *fixed_over_served(uintptr_t s, uintptr_t e, int prot, int flags, int fd, off_t off)
{
    if (tab_carve(s, e))
        return MAP_FAILED;
    int anon_private = (flags & MAP_TYPE) == MAP_PRIVATE && (flags & MAP_ANONYMOUS) &&
                       !(flags & (MAP_GROWSDOWN | MAP_HUGETLB | MAP_LOCKED | MAP_STACK)) &&
                       !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC));
    if (!anon_private) {
        leak_range(s, e);
        return sys_mmap((void *)s, e - s, prot, flags, fd, off);
    }
    /* a fresh private anonymous mapping: served parts become zero pages with
     * the new protection, gaps are mapped by the kernel */
    uintptr_t cur = s;
    struct gap_args g = { .prot = prot, .flags = flags, .fd = fd, .off = off };
    for (size_t i = tab_lower(s); i < ntab && tab[i].start < e; i++) {
        if (tab[i].start > cur && kernel_gaps(cur, tab[i].start, GAP_MMAP, &g))
            return MAP_FAILED;
        if (tab[i].prot != SHIM_RW)
            sys_mprotect((void *)tab[i].start, tab[i].end - tab[i].start, SHIM_RW);
        memset((void *)tab[i].start, 0, tab[i].end - tab[i].start);
        if (prot != SHIM_RW)
            sys_mprotect((void *)tab[i].start, tab[i].end - tab[i].start, prot);
        tab[i].prot = prot;
        cur = tab[i].end;
    }
    if (cur < e && kernel_gaps(cur, e, GAP_MMAP, &g))
        return MAP_FAILED;
    return (void *)s;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (shim_depth)
        return sys_mmap(addr, len, prot, flags, fd, off);
    if (servable(len, prot, flags)) {
        shim_enter();
        void *p = serve(round_page(len));
        int saved = errno;
        shim_leave();
        errno = saved;
        if (p)
            return p;
        return sys_mmap(addr, len, prot, flags, fd, off);
    }
    atomic_fetch_add_explicit(&st_passed, 1, memory_order_relaxed);
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && !((uintptr_t)addr & (SHIM_PAGE - 1)) && len &&
        atomic_load_explicit(&shim_ready, memory_order_acquire)) {
        uintptr_t s = (uintptr_t)addr, e = s + round_page(len);
        if (e > s) {
            shim_enter();
            pthread_mutex_lock(&tab_lock);
            void *p;
            if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) && tab_overlaps(s, e)) {
                errno = EEXIST;
                p = MAP_FAILED;
            } else if (!tab_overlaps(s, e) && cache_take(s, e) == 0 &&
                       tab_insert(s, e, PROT_NONE) == 0) {
                /* into memory the program unmapped and the cache holds (a
                 * hole of a served range): the kernel would map it, so the
                 * range is served again, with this mapping's protection */
                p = fixed_over_served(s, e, prot, (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, off);
            } else if (tab_overlaps(s, e)) {
                p = fixed_over_served(s, e, prot, flags, fd, off);
            } else {
                p = sys_mmap(addr, len, prot, flags, fd, off);
            }
            int saved = errno;
            pthread_mutex_unlock(&tab_lock);
            shim_leave();
            errno = saved;
            return p;
        }
    }
    return sys_mmap(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

/* munmap of [s, e) (page aligned, not empty): takes the lock.  gaps: also
 * unmap the parts outside the arenas (not for a queued munmap, whose gaps
 * went to the kernel when it was queued). */
static int unmap_now(uintptr_t s, uintptr_t e, int gaps)
{
    shim_enter();
    pthread_mutex_lock(&tab_lock);
    size_t i = tab_lower(s);
    if (i < ntab && tab[i].start == s && tab[i].end == e) {
        /* a whole served mapping: protect it outside the lock, then keep it
         * or free it */
        int prot = tab[i].prot;
        tab_remove(i, i + 1);
        pthread_mutex_unlock(&tab_lock);
        protect_none(s, e, prot);
        pthread_mutex_lock(&tab_lock);
        retire_protected(s, e);
        pthread_mutex_unlock(&tab_lock);
        shim_leave();
        return 0;
    }
    int r = unmap_locked_gaps(s, e, gaps);
    int saved = errno;
    pthread_mutex_unlock(&tab_lock);
    shim_leave();
    errno = saved;
    return r;
}

/* munmap from a signal handler that interrupted this thread inside the shim:
 * parts outside the arenas are unmapped now; served parts are queued for
 * when the interrupted call leaves the shim (the lock may be held).  Arena
 * pages that are not served are left alone, as in unmap_locked. */
static int unmap_deferred(uintptr_t s, uintptr_t e)
{
    int r = kernel_gaps(s, e, GAP_MUNMAP, NULL);
    int has_arena = 0;
    for (uintptr_t a = s; a < e && !has_arena; a += SHIM_PAGE)
        has_arena = in_arena(a);
    if (!has_arena)
        return r;
    int n = defer_n;
    if (n == SHIM_DEFER_MAX) {
        atomic_fetch_add(&st_defer_lost, 1);   /* stays allocated; see the limits above */
        return r;
    }
    defer_q[n] = (struct deferred){ s, e };
    atomic_signal_fence(memory_order_seq_cst);
    defer_n = n + 1;
    atomic_fetch_add(&st_deferred, 1);
    return r;
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
    uintptr_t s = (uintptr_t)addr;
    if (!atomic_load_explicit(&shim_ready, memory_order_acquire) ||
        (s & (SHIM_PAGE - 1)) || len == 0 || s + round_page(len) < s)
        return sys_munmap(addr, len);
    if (shim_depth)
        return unmap_deferred(s, s + round_page(len));
    return unmap_now(s, s + round_page(len), 1);
}

SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
    uintptr_t s = (uintptr_t)addr;
    if (shim_depth || !atomic_load_explicit(&shim_ready, memory_order_acquire) ||
        (s & (SHIM_PAGE - 1)) || len == 0 || s + round_page(len) < s)
        return sys_mprotect(addr, len, prot);
    uintptr_t e = s + round_page(len);
    shim_enter();
    pthread_mutex_lock(&tab_lock);
    int r;
    if (!tab_overlaps(s, e)) {
        struct gap_args g = { .prot = prot };
        r = kernel_gaps(s, e, GAP_MPROTECT, &g);
    } else if (tab_carve(s, e)) {
        r = -1;
    } else {
        /* served pieces and the gaps outside the arenas; free arena pages
         * inside the range (not the program's) are left alone */
        struct gap_args g = { .prot = prot };
        uintptr_t cur = s;
        r = 0;
        for (size_t i = tab_lower(s); r == 0 && i < ntab && tab[i].start < e; i++) {
            if (tab[i].start > cur && kernel_gaps(cur, tab[i].start, GAP_MPROTECT, &g))
                r = -1;
            else if (sys_mprotect((void *)tab[i].start, tab[i].end - tab[i].start, prot))
                r = -1;
            else
                tab[i].prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
            cur = tab[i].end;
        }
        if (r == 0 && cur < e && kernel_gaps(cur, e, GAP_MPROTECT, &g))
            r = -1;
    }
    int saved = errno;
    pthread_mutex_unlock(&tab_lock);
    shim_leave();
    errno = saved;
    return r;
}

SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
    uintptr_t s = (uintptr_t)addr;
    if (shim_depth || !atomic_load_explicit(&shim_ready, memory_order_acquire) ||
        (s & (SHIM_PAGE - 1)) || len == 0 || s + round_page(len) < s)
        return sys_madvise(addr, len, advice);
    uintptr_t e = s + round_page(len);
    shim_enter();
    pthread_mutex_lock(&tab_lock);
    int r = 0, saved = errno;
    struct gap_args g = { .advice = advice };
    if (!tab_overlaps(s, e)) {
        r = kernel_gaps(s, e, GAP_MADVISE, &g);
        saved = errno;
    } else {
        uintptr_t cur = s;
        for (size_t i = tab_lower(s); i < ntab && tab[i].start < e; i++) {
            uintptr_t ps = tab[i].start > s ? tab[i].start : s;
            uintptr_t pe = tab[i].end < e ? tab[i].end : e;
            if (ps > cur && kernel_gaps(cur, ps, GAP_MADVISE, &g)) {
                r = -1;
                saved = errno;
            }
            switch (advice) {
            case MADV_DONTNEED:
            case MADV_DONTNEED_LOCKED:
            case MADV_REMOVE:
                zero_piece(ps, pe, tab[i].prot);
                break;
            case MADV_FREE:
                /* lazily freeable: the kernel may drop them or not */
                sys_madvise((void *)ps, pe - ps, MADV_FREE);
                break;
            default:
                /* DONTFORK, WIPEONFORK, HUGEPAGE, MERGEABLE, ...: arena memory
                 * must keep its own settings; accepted and ignored */
                break;
            }
            cur = pe;
        }
        if (cur < e && kernel_gaps(cur, e, GAP_MADVISE, &g)) {
            r = -1;
            saved = errno;
        }
    }
    pthread_mutex_unlock(&tab_lock);
    shim_leave();
    errno = saved;
    return r;
}

/* Grow the served mapping ending at end by need bytes in place, if the
 * pages that follow are a cached (unmapped, inaccessible) range: the only free
 * memory whose address the shim can choose; the allocator hands out no
 * given pages.  Lock held; the entry k ends at end.  0 on success. */
static int grow_in_place(size_t k, uintptr_t end, size_t need)
{
    if (!cache || (k + 1 < ntab && tab[k + 1].start < end + need))
        return -1;
    for (size_t cls = need / SHIM_PAGE; cls < CACHE_CLASSES; cls++) {
        struct cache_class *c = &cache[cls];
        for (unsigned j = 0; j < c->n; j++) {
            if (c->r[j] != end)
                continue;
            size_t clen = cls * SHIM_PAGE;
            if (make_fresh((void *)end, need) != 0)
                return -1;
            cache_del(cls, j);
            if (tab[k].prot != SHIM_RW)
                sys_mprotect((void *)end, need, tab[k].prot);
            tab[k].end = end + need;
            if (clen > need)
                retire_protected(end + need, end + clen);
            return 0;
        }
    }
    return -1;
}

/* mremap of a served range.  Lock held; [s, s+oldlen) fully served by
 * contiguous entries. */
static void *mremap_served(uintptr_t s, size_t oldlen, size_t newlen, int flags, void *new_addr)
{
    int prot = tab[tab_lower(s)].prot;
    if (newlen <= oldlen && !(flags & MREMAP_FIXED) && !(flags & MREMAP_DONTUNMAP)) {
        if (newlen < oldlen && unmap_locked(s + newlen, s + oldlen))
            return MAP_FAILED;
        return (void *)s;
    }
    if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))) {
        /* in place when the old range ends its mapping and a cached range
         * follows (as the kernel grows a VMA into free address space) */
        size_t k = tab_lower(s + oldlen - 1);
        if (tab[k].end == s + oldlen && newlen - oldlen <= SHIM_MAX_SERVED &&
            grow_in_place(k, s + oldlen, newlen - oldlen) == 0) {
            atomic_fetch_add_explicit(&st_grown_in_place, 1, memory_order_relaxed);
            return (void *)s;
        }
    }
    if (!(flags & MREMAP_MAYMOVE)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    void *dst;
    if (flags & MREMAP_FIXED) {
        uintptr_t d = (uintptr_t)new_addr;
        if ((d & (SHIM_PAGE - 1)) || (d < s + oldlen && s < d + newlen) || d + newlen < d) {
            errno = EINVAL;
            return MAP_FAILED;
        }
        if (unmap_locked(d, d + newlen))
            return MAP_FAILED;
        dst = sys_mmap(new_addr, newlen, SHIM_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    } else {
        dst = serve_locked(newlen);
        if (!dst)
            dst = sys_mmap(NULL, newlen, SHIM_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (dst == MAP_FAILED)
        return MAP_FAILED;
    if (tab_carve(s, s + oldlen)) {
        unmap_locked((uintptr_t)dst, (uintptr_t)dst + newlen);
        errno = ENOMEM;
        return MAP_FAILED;
    }
    size_t i = tab_lower(s);
    for (size_t k = i; k < ntab && tab[k].start < s + oldlen; k++)
        if (!(tab[k].prot & PROT_READ))
            sys_mprotect((void *)tab[k].start, tab[k].end - tab[k].start, tab[k].prot | PROT_READ);
    memcpy(dst, (void *)s, newlen < oldlen ? newlen : oldlen);
    if (flags & MREMAP_DONTUNMAP) {
        for (size_t k = i; k < ntab && tab[k].start < s + oldlen; k++)
            zero_piece(tab[k].start, tab[k].end, tab[k].prot);
    } else {
        unmap_locked(s, s + oldlen);
    }
    if (prot != SHIM_RW) {
        sys_mprotect(dst, newlen, prot);
        uintptr_t d = (uintptr_t)dst;
        for (size_t k = tab_lower(d); k < ntab && tab[k].start < d + newlen; k++)
            tab[k].prot = prot;
    }
    return dst;
}

SHIM_EXPORT void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
    void *new_addr = NULL;
    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
        __builtin_va_list ap;
        __builtin_va_start(ap, flags);
        new_addr = __builtin_va_arg(ap, void *);
        __builtin_va_end(ap);
    }
    uintptr_t s = (uintptr_t)old;
    if (shim_depth || !atomic_load_explicit(&shim_ready, memory_order_acquire) ||
        (s & (SHIM_PAGE - 1)) || s + round_page(oldlen) < s)
        return sys_mremap(old, oldlen, newlen, flags, new_addr);
    shim_enter();
    pthread_mutex_lock(&tab_lock);
    void *r;
    uintptr_t e = s + round_page(oldlen);
    if (oldlen && tab_overlaps(s, e)) {
        /* the kernel wants the old range inside one mapping: here, served
         * entries without gaps and with one protection */
        size_t i = tab_lower(s);
        uintptr_t cur = s;
        int prot = tab[i].prot, ok = tab[i].start <= s;
        for (; ok && i < ntab && tab[i].start < e; i++) {
            if (tab[i].start != cur && tab[i].start > s)
                ok = 0;
            if (tab[i].prot != prot)
                ok = 0;
            cur = tab[i].end;
        }
        if (!ok || cur < e) {
            errno = EFAULT;
            r = MAP_FAILED;
        } else if (newlen == 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) ||
                   ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))) {
            errno = EINVAL;
            r = MAP_FAILED;
        } else {
            r = mremap_served(s, e - s, round_page(newlen), flags, new_addr);
        }
    } else if (oldlen == 0 && tab_overlaps(s, s + 1)) {
        errno = EINVAL;   /* duplicating a private mapping */
        r = MAP_FAILED;
    } else if (oldlen && in_arena(s)) {
        errno = EFAULT;   /* memory the program unmapped: the kernel must not move arena pages */
        r = MAP_FAILED;
    } else {
        uintptr_t d = (uintptr_t)new_addr;
        if ((flags & MREMAP_FIXED) && !(d & (SHIM_PAGE - 1)) && newlen &&
            tab_overlaps(d, d + round_page(newlen))) {
            /* the kernel will replace served memory at the target */
            if (tab_carve(d, d + round_page(newlen)) == 0)
                leak_range(d, d + round_page(newlen));
        }
        r = sys_mremap(old, oldlen, newlen, flags, new_addr);
    }
    int saved = errno;
    pthread_mutex_unlock(&tab_lock);
    shim_leave();
    errno = saved;
    return r;
}

/* Counters for tests and tools: mappings served from the allocator, and
 * mmap calls passed to the kernel. */
SHIM_EXPORT void pa_shim_stats(unsigned long *served, unsigned long *passed)
{
    if (served)
        *served = atomic_load(&st_served);
    if (passed)
        *passed = atomic_load(&st_passed);
}

/* One counter by name ("served", "passed", "fallback", "leaked_pages",
 * "cache_hits", "deferred", "defer_lost", "grown_in_place", "cache_released"
 * (pages the shrinker gave back), "cache_drained" (pages given back by an
 * mmap the allocator could not serve), "unprotected" (unmapped ranges the kernel
 * could not make inaccessible)); ~0UL for an unknown name. */
SHIM_EXPORT unsigned long pa_shim_counter(const char *name)
{
    static const struct {
        const char *name;
        atomic_ulong *v;
    } tabc[] = {
        { "served", &st_served },         { "passed", &st_passed },
        { "fallback", &st_fallback },     { "leaked_pages", &st_leaked_pages },
        { "cache_hits", &st_cache_hits }, { "deferred", &st_deferred },
        { "defer_lost", &st_defer_lost }, { "grown_in_place", &st_grown_in_place },
        { "cache_released", &st_cache_released }, { "cache_drained", &st_cache_drained },
        { "unprotected", &st_unprotected },
    };
    for (size_t i = 0; name && i < sizeof(tabc) / sizeof(tabc[0]); i++)
        if (strcmp(name, tabc[i].name) == 0)
            return atomic_load(tabc[i].v);
    return ~0UL;
}

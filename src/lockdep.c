/* SPDX-License-Identifier: MIT */
/*
 * The lock order checker of PAGEALLOC_DEBUG=locks, after the kernel's
 * lockdep and jemalloc's witness, reduced to what a fixed order needs:
 * each thread keeps, per lock class, how many locks of the class it holds
 * (and, for the classes that nest in ascending order, which ones); a
 * blocking acquisition must
 * be of a class ranked above every class held, or of a class that nests
 * with itself in the way its table entry allows.  A violation is reported
 * before the acquisition, so the report comes instead of a deadlock: both
 * locks named, then abort().  docs/locking.md gives the order and the
 * reason for each place in it.
 */
#include "internal.h"

#include <execinfo.h>
#include <unistd.h>

bool pa_lockdep_on;

enum nest {
    NEST_NEVER,       /* a second lock of the class is a violation */
    NEST_ASCENDING,   /* several at once, taken in ascending sub order */
    NEST_REMOTE,      /* several at once in any order, only under remote_lock */
};

static const struct {
    const char *name;
    enum nest nest;
} lock_classes[NR_LOCK_CLASSES] = {
    [LOCK_NONE] = { "no lock", NEST_NEVER },
    [LOCK_INIT] = { "init_lock (pa_init)", NEST_NEVER },
    [LOCK_STATS_PUBLISH] = { "publish_lock (stats publication)", NEST_NEVER },
    [LOCK_DHUGETLB] = { "dhugetlb_mutex (dynamic hugetlb pools)", NEST_NEVER },
    [LOCK_CMA] = { "a CMA area's lock", NEST_NEVER },
    [LOCK_OOM] = { "oom_lock (the OOM killer)", NEST_NEVER },
    [LOCK_PCP_REMOTE] = { "remote_lock (pcp drains)", NEST_NEVER },
    [LOCK_THREADS] = { "threads_lock (thread registry)", NEST_NEVER },
    [LOCK_MAGAZINE] = { "a thread's magazines (held remotely)", NEST_REMOTE },
    [LOCK_PAGESET] = { "a pageset (per_cpu_pages lock)", NEST_REMOTE },
    [LOCK_GROW] = { "a node's grow_lock", NEST_ASCENDING },
    [LOCK_ZONE] = { "a zone lock", NEST_ASCENDING },
    [LOCK_DHUGETLB_POOL] = { "a dynamic hugetlb pool's lock", NEST_NEVER },
    [LOCK_KSWAPD] = { "a node's kswapd lock", NEST_NEVER },
    [LOCK_KCOMPACTD] = { "a node's kcompactd lock", NEST_NEVER },
    [LOCK_SHRINKER] = { "shrinker_lock", NEST_NEVER },
    [LOCK_LRU] = { "an LRU helper's lock", NEST_NEVER },
    [LOCK_RECLAIM_INIT] = { "reclaim_init_lock", NEST_NEVER },
    [LOCK_MEMCG] = { "memcg_lock", NEST_NEVER },
    [LOCK_OOM_REGISTRY] = { "oom_registry_lock (OOM clients)", NEST_NEVER },
    [LOCK_DEPOT] = { "depot_lock (page owner stacks)", NEST_NEVER },
    [LOCK_REPORTING] = { "the page reporting worker's start lock", NEST_NEVER },
    [LOCK_DECAY_START] = { "decay_start_lock (pcp decay worker)", NEST_NEVER },
    [LOCK_RATELIMIT] = { "warn_alloc's rate limit lock", NEST_NEVER },
};

_Static_assert(NR_LOCK_CLASSES <= 32, "the held classes are a 32-bit mask");

/* Sub-orders of the classes that nest in ascending order: zone locks
 * (nid * MAX_NR_ZONES + zid) and grow locks (nid). */
#define NR_SUBS 256
_Static_assert(MAX_NUMNODES * MAX_NR_ZONES <= NR_SUBS, "a zone's sub-order fits the held set");

/* What this thread holds: a bit per class, a count per class, and which
 * locks of the ascending classes (a bit per sub-order). */
static __thread uint32_t held_mask __attribute__((tls_model("initial-exec")));
static __thread uint32_t held_count[NR_LOCK_CLASSES] __attribute__((tls_model("initial-exec")));
static __thread uint64_t held_subs[2][NR_SUBS / 64] __attribute__((tls_model("initial-exec")));

/* The held set of an ascending class, or NULL. */
static uint64_t *subs_of(enum lock_class c)
{
    return c == LOCK_ZONE ? held_subs[0] : c == LOCK_GROW ? held_subs[1] : NULL;
}

/* The highest sub-order held of an ascending class (-1: none). */
static int highest_sub(enum lock_class c)
{
    const uint64_t *s = subs_of(c);
    for (int w = NR_SUBS / 64 - 1; s && w >= 0; w--)
        if (s[w])
            return w * 64 + 63 - __builtin_clzll(s[w]);
    return -1;
}

void lockdep_init(void)
{
    __atomic_store_n(&pa_lockdep_on, (pa_opt.debug & PA_DEBUG_LOCKS) != 0, __ATOMIC_RELAXED);
}

static PA_COLD void lockdep_violation(enum lock_class c, unsigned int sub, enum lock_class top, const char *why)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "pagealloc: lock order violation (PAGEALLOC_DEBUG=locks): taking %s [class %d, sub %u] "
                     "while holding %s [class %d, sub %d]: %s; the order is in docs/locking.md\n"
                     "pagealloc: held by this thread:",
                     lock_classes[c].name, (int)c, sub, lock_classes[top].name, (int)top,
                     PA_MAX(highest_sub(top), 0), why);
    for (int i = 1; i < NR_LOCK_CLASSES && n > 0 && (size_t)n < sizeof(buf); i++)
        if (held_mask & (1u << i))
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s x%u;", lock_classes[i].name, held_count[i]);
    if (n > 0 && (size_t)n < sizeof(buf) - 1)
        buf[n++] = '\n';
    if (n > 0)
        (void)!write(2, buf, PA_MIN((size_t)n, sizeof(buf)));
    void *frames[32];
    backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
    abort();
}

void lockdep_acquire_slow(enum lock_class c, unsigned int sub, bool trylock)
{
    if (c <= LOCK_NONE || c >= NR_LOCK_CLASSES)
        return;
    if (!trylock && held_mask) {
        enum lock_class top = (enum lock_class)(31 - __builtin_clz(held_mask));
        if (top > c)
            lockdep_violation(c, sub, top, "a lock of a later class is held");
        if (top == c) {
            switch (lock_classes[c].nest) {
            case NEST_NEVER:
                lockdep_violation(c, sub, top, "the class does not nest with itself");
                break;
            case NEST_ASCENDING:
                if ((int)sub <= highest_sub(c))
                    lockdep_violation(c, sub, top, "locks of this class nest in ascending order only");
                break;
            case NEST_REMOTE:
                if (!(held_mask & (1u << LOCK_PCP_REMOTE)))
                    lockdep_violation(c, sub, top, "locks of this class nest only under remote_lock");
                break;
            }
        }
    }
    uint64_t *subs = subs_of(c);
    if (subs && sub < NR_SUBS)
        subs[sub / 64] |= 1ULL << (sub % 64);
    held_count[c]++;
    held_mask |= 1u << c;
}

void lockdep_release_slow(enum lock_class c, unsigned int sub)
{
    if (c <= LOCK_NONE || c >= NR_LOCK_CLASSES || !held_count[c])
        return;   /* taken before the checker was on */
    uint64_t *subs = subs_of(c);
    if (subs && sub < NR_SUBS)
        subs[sub / 64] &= ~(1ULL << (sub % 64));
    if (--held_count[c] == 0)
        held_mask &= ~(1u << c);
}

void lockdep_forget_class(enum lock_class c)
{
    uint64_t *subs = subs_of(c);
    if (subs)
        memset(subs, 0, NR_SUBS / 8);
    held_count[c] = 0;
    held_mask &= ~(1u << c);
}

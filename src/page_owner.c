/* SPDX-License-Identifier: MIT */
/*
 * Page owner (PAGEALLOC_DEBUG=owner), as the kernel's mm/page_owner.c:
 * every allocation records who made it -- the call stack, GFP mask, order,
 * pid, tid and a timestamp -- in a side table indexed by pfn; freeing
 * clears the record.  pa_page_owner_dump() prints what is still allocated,
 * grouped by identical stack as tools/mm/page_owner_sort does, and the same
 * report goes to stderr at exit when anything is left (the leaks).
 *
 * Everything here comes from the OS (pa_os_alloc), never from malloc or
 * the arenas: the LD_PRELOAD shim may route malloc's mmaps back to us.
 * Stacks are stored once each in a stack depot (a hash table of immutable
 * entries, as lib/stackdepot.c), so a record is 32 bytes whatever the
 * stack.  Readers take no lock: a record is published by its handle
 * (release) and a depot entry by its bucket link (release).
 */
#include "internal.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#define PAGE_OWNER_STACK_DEPTH 16
#define PAGE_OWNER_SKIP 2            /* save_stack and set_page_owner themselves */
#define PAGE_OWNER_UNWIND 40         /* frames taken before trimming the allocator's own */
#define DEPOT_BUCKETS (1u << 14)
#define DEPOT_MAX (1u << 16)
#define HANDLE_NONE 0u               /* no record */
#define HANDLE_NOSTACK 1u            /* a record whose stack could not be saved */

struct depot_stack {
    uint32_t next;                   /* next handle in the bucket, 0 at the end */
    uint32_t hash;
    uint32_t nr;
    void *frames[PAGE_OWNER_STACK_DEPTH];
};

struct page_owner {
    uint64_t ts_nsec;
    uint32_t handle;                 /* HANDLE_NONE: the pfn holds no allocation */
    uint32_t gfp;
    int32_t pid, tid;
    uint8_t order;
};
_Static_assert(sizeof(struct page_owner) == 32, "a page_owner record is 32 bytes");

static struct page_owner *owners;    /* [max_pfn] */
static unsigned long nr_owners;
static struct depot_stack *depot;    /* [DEPOT_MAX]: handles 0 and 1 are reserved */
static uint32_t *depot_buckets;      /* first handle of each bucket */
static uint32_t depot_used = 2;
static struct mutex depot_lock = MUTEX_INITIALIZER(LOCK_DEPOT);
static __thread int in_page_owner __attribute__((tls_model("initial-exec")));

/*
 * The public allocation entry points, as address ranges: a stack is kept
 * from the outermost of them on, so that one call site gives one stack
 * whichever internal path (fast path, slow path, compaction) served it.
 * Empty when the symbols cannot be found (then stacks are kept whole).
 */
static struct {
    uintptr_t start, end;
} entry_ranges[4];
static int nr_entry_ranges;

static void entry_ranges_init(void)
{
    const uintptr_t fns[] = {
        (uintptr_t)pa_alloc_pages, (uintptr_t)pa_alloc_pages_node,
        (uintptr_t)pa_get_free_pages, (uintptr_t)pa_alloc_pages_exact,
    };
    _Static_assert(ARRAY_SIZE(fns) == ARRAY_SIZE(entry_ranges), "one range per entry point");
    nr_entry_ranges = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        if (dladdr1((const void *)fns[i], &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size &&
            info.dli_saddr) {
            entry_ranges[nr_entry_ranges].start = (uintptr_t)info.dli_saddr;
            entry_ranges[nr_entry_ranges].end = (uintptr_t)info.dli_saddr + sym->st_size;
            nr_entry_ranges++;
        }
    }
}

/* The start of the entry point the return address is in, or 0. */
static uintptr_t entry_point_of(const void *ret)
{
    uintptr_t a = (uintptr_t)ret - 1;   /* a return address: the call is just before it */
    for (int i = 0; i < nr_entry_ranges; i++)
        if (a >= entry_ranges[i].start && a < entry_ranges[i].end)
            return entry_ranges[i].start;
    return 0;
}

static void page_owner_exit_report(void);

/* fork: depot_lock is a leaf, held across fork so that no stack record is
 * half-written in the child. */
void page_owner_fork_lock(void)
{
    mutex_lock(&depot_lock);
}

void page_owner_fork_unlock(void)
{
    mutex_unlock(&depot_lock);
}

void pa_page_owner_init(void)
{
    nr_owners = pa_mm.max_pfn;
    owners = pa_os_alloc(nr_owners * sizeof(*owners));
    depot = pa_os_alloc((size_t)DEPOT_MAX * sizeof(*depot));
    depot_buckets = pa_os_alloc(DEPOT_BUCKETS * sizeof(*depot_buckets));
    if (!owners || !depot || !depot_buckets) {
        fprintf(stderr, "pagealloc: PAGEALLOC_DEBUG=owner: no memory for the page owner table; owner is off\n");
        pa_os_free(owners, nr_owners * sizeof(*owners));
        pa_os_free(depot, (size_t)DEPOT_MAX * sizeof(*depot));
        pa_os_free(depot_buckets, DEPOT_BUCKETS * sizeof(*depot_buckets));
        owners = NULL;
        pa_opt.debug &= ~PA_DEBUG_OWNER;
        return;
    }
    entry_ranges_init();
    /* the first backtrace() loads the unwinder (dlopen, malloc): now, not
     * in the middle of an allocation */
    void *warm[2];
    in_page_owner = 1;
    backtrace(warm, 2);
    in_page_owner = 0;
    atexit(page_owner_exit_report);
}

static uint32_t stack_hash(void *const *frames, int nr)
{
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a over the addresses */
    for (int i = 0; i < nr; i++) {
        h ^= (uint64_t)(uintptr_t)frames[i];
        h *= 0x100000001b3ULL;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static uint32_t depot_find(uint32_t bucket, uint32_t hash, void *const *frames, int nr)
{
    for (uint32_t hd = __atomic_load_n(&depot_buckets[bucket], __ATOMIC_ACQUIRE); hd;
         hd = depot[hd].next) {
        const struct depot_stack *d = &depot[hd];
        if (d->hash == hash && d->nr == (uint32_t)nr && !memcmp(d->frames, frames, (size_t)nr * sizeof(void *)))
            return hd;
    }
    return HANDLE_NONE;
}

/* The caller's stack in the depot: its handle, or HANDLE_NOSTACK when it
 * cannot be taken (re-entered from inside backtrace(), depot full). */
static __attribute__((noinline)) uint32_t save_stack(void)
{
    void *frames[PAGE_OWNER_UNWIND];
    if (in_page_owner)
        return HANDLE_NOSTACK;
    in_page_owner = 1;
    int n = backtrace(frames, (int)ARRAY_SIZE(frames));
    in_page_owner = 0;
    if (n <= PAGE_OWNER_SKIP)
        return HANDLE_NOSTACK;
    int first = PAGE_OWNER_SKIP;
    for (int i = n - 1; i >= PAGE_OWNER_SKIP; i--) {
        uintptr_t entry = entry_point_of(frames[i]);
        if (entry) {
            /* the entry point by its start: the fast and the slow path
             * leave it from different places */
            frames[i] = (void *)entry;
            first = i;
            break;
        }
    }
    void **f = frames + first;
    n = PA_MIN(n - first, PAGE_OWNER_STACK_DEPTH);
    uint32_t hash = stack_hash(f, n), bucket = hash & (DEPOT_BUCKETS - 1);
    uint32_t handle = depot_find(bucket, hash, f, n);
    if (handle)
        return handle;
    mutex_lock(&depot_lock);
    handle = depot_find(bucket, hash, f, n);
    if (!handle && depot_used < DEPOT_MAX) {
        handle = depot_used++;
        struct depot_stack *d = &depot[handle];
        d->hash = hash;
        d->nr = (uint32_t)n;
        memcpy(d->frames, f, (size_t)n * sizeof(void *));
        d->next = depot_buckets[bucket];
        __atomic_store_n(&depot_buckets[bucket], handle, __ATOMIC_RELEASE);
    }
    mutex_unlock(&depot_lock);
    return handle ? handle : HANDLE_NOSTACK;
}

static uint64_t now_nsec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void set_page_owner(struct pa_page *page, unsigned int order, pa_gfp_t gfp)
{
    if (unlikely(!owners))
        return;
    struct page_owner *po = &owners[page_to_pfn(page)];
    uint32_t handle = save_stack();
    struct pa_thread *t = pa_current_thread;
    __atomic_store_n(&po->handle, HANDLE_NONE, __ATOMIC_RELAXED);
    __atomic_store_n(&po->ts_nsec, now_nsec(), __ATOMIC_RELAXED);
    __atomic_store_n(&po->gfp, gfp, __ATOMIC_RELAXED);
    __atomic_store_n(&po->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&po->tid, (int32_t)(t ? t->tid : gettid()), __ATOMIC_RELAXED);
    __atomic_store_n(&po->order, (uint8_t)order, __ATOMIC_RELAXED);
    __atomic_store_n(&po->handle, handle, __ATOMIC_RELEASE);
}

void reset_page_owner(struct pa_page *page, unsigned int order)
{
    if (unlikely(!owners))
        return;
    unsigned long pfn = page_to_pfn(page);
    for (unsigned long i = 0; i < (1UL << order); i++)
        __atomic_store_n(&owners[pfn + i].handle, HANDLE_NONE, __ATOMIC_RELAXED);
}

static void copy_record(struct page_owner *dst, const struct page_owner *src, unsigned int order)
{
    uint32_t handle = __atomic_load_n(&src->handle, __ATOMIC_ACQUIRE);
    __atomic_store_n(&dst->handle, HANDLE_NONE, __ATOMIC_RELAXED);
    if (!handle)
        return;
    __atomic_store_n(&dst->ts_nsec, __atomic_load_n(&src->ts_nsec, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&dst->gfp, __atomic_load_n(&src->gfp, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&dst->pid, __atomic_load_n(&src->pid, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&dst->tid, __atomic_load_n(&src->tid, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&dst->order, (uint8_t)order, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->handle, handle, __ATOMIC_RELEASE);
}

void split_page_owner(struct pa_page *page, unsigned int order)
{
    if (unlikely(!owners))
        return;
    struct page_owner *head = &owners[page_to_pfn(page)];
    for (unsigned long i = 1; i < (1UL << order); i++)
        copy_record(head + i, head, 0);
    __atomic_store_n(&head->order, 0, __ATOMIC_RELAXED);
}

void copy_page_owner(struct pa_page *src, struct pa_page *dst)
{
    if (unlikely(!owners))
        return;
    const struct page_owner *from = &owners[page_to_pfn(src)];
    /* a migrated block keeps the order it was allocated with */
    copy_record(&owners[page_to_pfn(dst)], from, __atomic_load_n(&from->order, __ATOMIC_RELAXED));
}

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

struct owner_group {
    uint32_t handle, gfp;            /* handle HANDLE_NONE: an empty slot */
    uint8_t order;
    int32_t pid, tid;
    uint64_t ts_nsec;                /* of the oldest allocation of the group */
    unsigned long times, pages;
};

#define MAX_GROUPS (1u << 15)

struct out_buf {
    int fd;
    int err;
    size_t n;
    char buf[4096];
};

static void out_flush(struct out_buf *o)
{
    size_t done = 0;
    while (done < o->n && !o->err) {
        ssize_t w = write(o->fd, o->buf + done, o->n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            o->err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    o->n = 0;
}

static void outf(struct out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out_buf *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(o->buf) - o->n) {
        out_flush(o);
        va_start(ap, fmt);
        n = vsnprintf(o->buf, sizeof(o->buf), fmt, ap);
        va_end(ap);
        o->n = n < 0 ? 0 : PA_MIN((size_t)n, sizeof(o->buf) - 1);
        return;
    }
    o->n += (size_t)n;
}

static uint32_t group_hash(uint32_t handle, uint32_t gfp, unsigned int order)
{
    uint64_t h = ((uint64_t)handle * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)gfp << 8 | order);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (uint32_t)(h >> 32);
}

/* Before b in the report: more allocations first, then more pages. */
static bool group_before(const struct owner_group *a, const struct owner_group *b)
{
    return a->times != b->times ? a->times > b->times : a->pages > b->pages;
}

/* Group the live records; *nr_groups set, *overflow counts records that
 * did not fit the table.  NULL with ENOMEM. */
static struct owner_group *collect_groups(unsigned long *nr_groups, unsigned long *overflow)
{
    struct owner_group *g = pa_os_alloc(MAX_GROUPS * sizeof(*g));
    if (!g) {
        errno = ENOMEM;
        return NULL;
    }
    *nr_groups = *overflow = 0;
    unsigned long section_pages = 1UL << pa_mm.section_shift;
    for (unsigned long pfn = 0; pfn < nr_owners; pfn++) {
        if (!pfn_valid(pfn)) {
            pfn = ALIGN_DOWN(pfn, section_pages) + section_pages - 1;   /* the next section */
            continue;
        }
        const struct page_owner *po = &owners[pfn];
        uint32_t handle = __atomic_load_n(&po->handle, __ATOMIC_ACQUIRE);
        if (handle == HANDLE_NONE)
            continue;
        uint32_t gfp = __atomic_load_n(&po->gfp, __ATOMIC_RELAXED);
        unsigned int order = __atomic_load_n(&po->order, __ATOMIC_RELAXED);
        uint64_t ts = __atomic_load_n(&po->ts_nsec, __ATOMIC_RELAXED);
        uint32_t i = group_hash(handle, gfp, order) & (MAX_GROUPS - 1);
        unsigned long probes = 0;
        while (g[i].handle != HANDLE_NONE &&
               (g[i].handle != handle || g[i].gfp != gfp || g[i].order != order) && probes < MAX_GROUPS) {
            i = (i + 1) & (MAX_GROUPS - 1);
            probes++;
        }
        if (probes == MAX_GROUPS || (g[i].handle == HANDLE_NONE && *nr_groups >= MAX_GROUPS - 1)) {
            (*overflow)++;
            continue;
        }
        struct owner_group *e = &g[i];
        if (e->handle == HANDLE_NONE) {
            e->handle = handle;
            e->gfp = gfp;
            e->order = (uint8_t)order;
            e->ts_nsec = UINT64_MAX;
            (*nr_groups)++;
        }
        if (ts < e->ts_nsec) {
            e->ts_nsec = ts;
            e->pid = __atomic_load_n(&po->pid, __ATOMIC_RELAXED);
            e->tid = __atomic_load_n(&po->tid, __ATOMIC_RELAXED);
        }
        e->times++;
        e->pages += 1UL << order;
    }
    /* pack the used slots to the front, then sort them (shell sort: no
     * allocation, and the number of groups is small) */
    unsigned long n = 0;
    for (unsigned long i = 0; i < MAX_GROUPS; i++)
        if (g[i].handle != HANDLE_NONE)
            g[n++] = g[i];
    for (unsigned long gap = n / 2; gap > 0; gap /= 2)
        for (unsigned long i = gap; i < n; i++) {
            struct owner_group tmp = g[i];
            unsigned long j = i;
            for (; j >= gap && group_before(&tmp, &g[j - gap]); j -= gap)
                g[j] = g[j - gap];
            g[j] = tmp;
        }
    *nr_groups = n;
    return g;
}

static long page_owner_report(int fd, const char *title)
{
    struct out_buf *o = pa_os_alloc(sizeof(*o));
    unsigned long nr_groups, overflow, blocks = 0, pages = 0;
    struct owner_group *g = o ? collect_groups(&nr_groups, &overflow) : NULL;
    if (!g) {
        pa_os_free(o, sizeof(*o));
        errno = ENOMEM;
        return -1;
    }
    for (unsigned long i = 0; i < nr_groups; i++) {
        blocks += g[i].times;
        pages += g[i].pages;
    }
    o->fd = fd;
    if (title && blocks)
        outf(o, "pagealloc: %s: %lu blocks (%lu pages) still allocated, by allocation stack:\n", title,
             blocks, pages);
    for (unsigned long i = 0; i < nr_groups && !o->err; i++) {
        char gfpbuf[256];
        const struct owner_group *e = &g[i];
        outf(o, "%lu times, %lu pages:\n", e->times, e->pages);
        outf(o, "Page allocated via order %u, mask %#x(%s), pid %d, tid %d, ts %llu ns\n", e->order, e->gfp,
             pa_format_gfp(e->gfp, gfpbuf, sizeof(gfpbuf)), e->pid, e->tid, (unsigned long long)e->ts_nsec);
        out_flush(o);
        if (e->handle == HANDLE_NOSTACK)
            outf(o, " (stack not recorded)\n");
        else if (!o->err)
            backtrace_symbols_fd(depot[e->handle].frames, (int)depot[e->handle].nr, fd);
        outf(o, "\n");
    }
    if (overflow)
        outf(o, "... and %lu more blocks in groups that did not fit the report\n", overflow);
    out_flush(o);
    int err = o->err;
    pa_os_free(g, MAX_GROUPS * sizeof(*g));
    pa_os_free(o, sizeof(*o));
    if (err) {
        errno = err;
        return -1;
    }
    return (long)(blocks + overflow);
}

PA_API long pa_page_owner_dump(int fd)
{
    if (!pa_initialized() || !owners) {
        errno = ENOTSUP;
        return -1;
    }
    if (fd < 0) {
        errno = EINVAL;
        return -1;
    }
    return page_owner_report(fd, NULL);
}

static void page_owner_exit_report(void)
{
    int saved = errno;
    if (owners)
        page_owner_report(STDERR_FILENO, "page_owner at exit");
    errno = saved;
}

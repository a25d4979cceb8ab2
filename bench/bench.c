/* SPDX-License-Identifier: MIT */
/*
 * bench.c: page-granular allocation workloads, one allocator per executable.
 *
 * The backend is chosen at compile time with one of
 *
 *   BENCH_PAGEALLOC       pa_alloc_pages(PA_GFP_KERNEL, order) / pa_free_pages
 *   BENCH_PAGEALLOC_ADDR  pa_get_free_pages / pa_free_pages_addr
 *   BENCH_JEMALLOC        mallocx(size, MALLOCX_ALIGN(size)) / sdallocx(p, usize, 0)
 *   BENCH_TCMALLOC        tc_memalign(size, size) / tc_free
 *   BENCH_MIMALLOC        mi_malloc_aligned(size, size) / mi_free
 *   BENCH_GLIBC           posix_memalign(&p, size, size) / free
 *   BENCH_NUMA            numa_alloc_onnode(size, 0) / numa_free  (page aligned only)
 *   BENCH_MMAP            mmap(size) / munmap                     (page aligned only)
 *
 * because most of these replace malloc, so each needs its own process.  A
 * block of order n is 4096 << n bytes, aligned to its size (except numa and
 * mmap, which give page alignment only).
 *
 * Every backend touches its memory the same way: one byte written at the
 * start of every 4 KiB page of every block it gets, so first-touch page
 * faults are paid alike.  Every workload is warmed up once before it is
 * timed.  Output: CSV on stdout, one row per measurement,
 *
 *   allocator,workload,threads,ns_per_op,extra
 *
 * where extra is a ';'-separated list of key=value pairs.  Diagnostics go
 * to stderr.  Run with -h for the options; bench/run.sh drives it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define MAX_ORDER  10 /* largest order probed; the random workloads use 0..9 */

/* ------------------------------------------------------------------ */
/* Backends: be_init, be_alloc, be_addr, be_free, be_info              */
/* ------------------------------------------------------------------ */

/* Which gfp a block gets in the fragmentation run. */
enum kind { KIND_SHORT, KIND_LONG };
/* Extra pagealloc gfp bits (other backends ignore them). */
enum gfp_mode { GFP_PLAIN, GFP_QUIET, GFP_PROBE };

#if defined(BENCH_PAGEALLOC) || defined(BENCH_PAGEALLOC_ADDR)
#include <pagealloc/pagealloc.h>

/* Default: everything PA_GFP_KERNEL.  The fragmentation run with grouping
 * by mobility "on" makes the short-lived blocks movable. */
static pa_gfp_t gfp_short = PA_GFP_KERNEL;
static pa_gfp_t gfp_long = PA_GFP_KERNEL;
static pa_gfp_t gfp_extra; /* added to both: see be_gfp_mode() */

static bool be_aligned = true;

static int be_init(void)
{
    if (pa_init(NULL) != 0) {
        perror("bench: pa_init");
        return -1;
    }
    return 0;
}

static void be_mobility(bool grouping)
{
    gfp_short = grouping ? PA_GFP_HIGHUSER_MOVABLE : PA_GFP_KERNEL;
    gfp_long = PA_GFP_KERNEL;
}

#ifdef BENCH_PAGEALLOC
static const char be_name[] = "pagealloc";
static inline void *be_alloc_kind(unsigned int order, enum kind k)
{
    return pa_alloc_pages((k == KIND_LONG ? gfp_long : gfp_short) | gfp_extra, order);
}
static inline void *be_addr(void *h) { return pa_page_address(h); }
static inline void be_free(void *h, unsigned int order) { pa_free_pages(h, order); }
#else
static const char be_name[] = "pagealloc-addr";
static inline void *be_alloc_kind(unsigned int order, enum kind k)
{
    return pa_get_free_pages((k == KIND_LONG ? gfp_long : gfp_short) | gfp_extra, order);
}
static inline void *be_addr(void *h) { return h; }
static inline void be_free(void *h, unsigned int order) { pa_free_pages_addr(h, order); }
#endif

/* GFP_PLAIN for the timed workloads; GFP_QUIET (no allocation-failure report:
 * the fragmentation run counts failures itself); GFP_PROBE (one light try). */
static void be_gfp_mode(enum gfp_mode m)
{
    gfp_extra = m == GFP_PROBE ? (PA_GFP_NORETRY | PA_GFP_NOWARN) : m == GFP_QUIET ? PA_GFP_NOWARN : 0;
}

static void be_info(char *buf, size_t len)
{
    const char *backing = pa_node_backing(0);
    const char *ns = getenv("PAGEALLOC_NODE_SIZE");
    const char *hp = getenv("PAGEALLOC_HUGEPAGES");
    const char *pcp = getenv("PAGEALLOC_PCP");
    snprintf(buf, len, "backing=%s;node_size=%s;hugepages=%s;pcp=%s", backing ? backing : "none",
             ns ? ns : "default", hp ? hp : "default", pcp ? pcp : "default");
}

#else /* not pagealloc: a malloc-style backend with a size */

static void be_mobility(bool grouping) { (void)grouping; }
static void be_gfp_mode(enum gfp_mode m) { (void)m; }

#if defined(BENCH_JEMALLOC)
#include <jemalloc/jemalloc.h>
static const char be_name[] = "jemalloc";
static bool be_aligned = true;
/*
 * sdallocx's size must lie between the request and nallocx() of the same
 * (size, flags); with flags 0 jemalloc takes its fast path.  Alignment can
 * push a request into a larger class (8 KiB aligned to 8 KiB is a 16 KiB
 * large allocation), so free with the usable size nallocx() reports for
 * (size, MALLOCX_ALIGN(size)), looked up once per order, and flags 0:
 * valid, and the cheapest free jemalloc offers.  self_check() verifies the
 * table against sallocx().
 */
static size_t je_usize[MAX_ORDER + 1];
static int be_init(void)
{
    for (unsigned int o = 0; o <= MAX_ORDER; o++) {
        size_t size = PAGE_SIZE << o;
        je_usize[o] = nallocx(size, MALLOCX_ALIGN(size));
        if (je_usize[o] == 0) {
            fprintf(stderr, "bench[jemalloc]: nallocx(%zu) failed\n", size);
            return -1;
        }
    }
    return 0;
}
static inline void *be_alloc_size(size_t size) { return mallocx(size, MALLOCX_ALIGN(size)); }
static inline void be_free_size(void *p, size_t size)
{
    sdallocx(p, je_usize[__builtin_ctzl(size) - PAGE_SHIFT], 0);
}
static size_t be_usable(void *p) { return sallocx(p, 0); }
static void be_info(char *buf, size_t len)
{
    const char *v = NULL;
    size_t sz = sizeof(v);
    if (mallctl("version", &v, &sz, NULL, 0) != 0)
        v = "?";
    snprintf(buf, len, "version=%s", v);
}

#elif defined(BENCH_TCMALLOC)
#include <gperftools/tcmalloc.h>
static const char be_name[] = "tcmalloc";
static bool be_aligned = true;
static int be_init(void) { return 0; }
static inline void *be_alloc_size(size_t size) { return tc_memalign(size, size); }
static inline void be_free_size(void *p, size_t size) { (void)size; tc_free(p); }
static size_t be_usable(void *p) { return tc_malloc_size(p); }
static void be_info(char *buf, size_t len) { snprintf(buf, len, "version=%s", tc_version(NULL, NULL, NULL)); }

#elif defined(BENCH_MIMALLOC)
#include <mimalloc.h>
static const char be_name[] = "mimalloc";
static bool be_aligned = true;
static int be_init(void) { return 0; }
static inline void *be_alloc_size(size_t size) { return mi_malloc_aligned(size, size); }
static inline void be_free_size(void *p, size_t size) { (void)size; mi_free(p); }
static size_t be_usable(void *p) { return mi_usable_size(p); }
static void be_info(char *buf, size_t len) { snprintf(buf, len, "version=%d", mi_version()); }

#elif defined(BENCH_GLIBC)
#include <gnu/libc-version.h>
#include <malloc.h>
static const char be_name[] = "glibc";
static bool be_aligned = true;
static int be_init(void) { return 0; }
static inline void *be_alloc_size(size_t size)
{
    void *p;
    return posix_memalign(&p, size, size) == 0 ? p : NULL;
}
static inline void be_free_size(void *p, size_t size) { (void)size; free(p); }
static size_t be_usable(void *p) { return malloc_usable_size(p); }
static void be_info(char *buf, size_t len) { snprintf(buf, len, "version=%s", gnu_get_libc_version()); }

#elif defined(BENCH_NUMA)
#include <numa.h>
static const char be_name[] = "numa";
static bool be_aligned = false; /* numa_alloc_onnode: page aligned only */
static int be_init(void)
{
    if (numa_available() < 0) {
        fprintf(stderr, "bench: numa_available() < 0: no NUMA support\n");
        return -1;
    }
    return 0;
}
static inline void *be_alloc_size(size_t size) { return numa_alloc_onnode(size, 0); }
static inline void be_free_size(void *p, size_t size) { numa_free(p, size); }
static size_t be_usable(void *p) { (void)p; return 0; }
static void be_info(char *buf, size_t len) { snprintf(buf, len, "aligned=page_only;node=0"); }

#elif defined(BENCH_MMAP)
static const char be_name[] = "mmap";
static bool be_aligned = false; /* mmap: page aligned only */
static int be_init(void) { return 0; }
static inline void *be_alloc_size(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
static inline void be_free_size(void *p, size_t size) { munmap(p, size); }
static size_t be_usable(void *p) { (void)p; return 0; }
static void be_info(char *buf, size_t len) { snprintf(buf, len, "aligned=page_only"); }

#else
#error "define one BENCH_<backend> macro (see the top of bench.c)"
#endif

static inline void *be_alloc_kind(unsigned int order, enum kind k)
{
    (void)k;
    return be_alloc_size(PAGE_SIZE << order);
}
static inline void *be_addr(void *h) { return h; }
static inline void be_free(void *h, unsigned int order) { be_free_size(h, PAGE_SIZE << order); }
#endif

static inline void *be_alloc(unsigned int order) { return be_alloc_kind(order, KIND_SHORT); }

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static _Noreturn void die(const char *what, unsigned int order)
{
    fprintf(stderr, "bench[%s]: %s failed (order %u): %s\n", be_name, what, order, strerror(errno));
    exit(1);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*, fixed seeds: every backend sees the same sequence. */
static inline uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

enum touch_mode { TOUCH_PAGES, TOUCH_FIRST, TOUCH_NONE };
static enum touch_mode touch_mode = TOUCH_PAGES;

/* One byte at the start of every 4 KiB page of the block. */
static inline void touch(void *addr, unsigned int order)
{
    volatile unsigned char *c = addr;
    if (touch_mode == TOUCH_PAGES) {
        size_t n = (size_t)1 << order;
        for (size_t i = 0; i < n; i++)
            c[i << PAGE_SHIFT] = (unsigned char)(i + 1);
    } else if (touch_mode == TOUCH_FIRST) {
        c[0] = 1;
    }
}

/* Allocate, check, touch: the common step of every workload. */
static inline void *get_block(unsigned int order, enum kind k)
{
    void *h = be_alloc_kind(order, k);
    if (__builtin_expect(h == NULL, 0))
        die("allocation", order);
    touch(be_addr(h), order);
    return h;
}

/* Page faults of the whole process so far (minor + major). */
static uint64_t faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

static long vm_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Pin the calling thread to the idx-th CPU the process may run on (mod
 * their number), so that N threads start on N different CPUs instead of
 * waiting for the load balancer, which can take longer than a quick run's
 * window.  Returns false (and leaves the thread alone) if that fails. */
static cpu_set_t allowed_cpus;
static int nr_allowed_cpus;

static bool pin_to(int idx)
{
    if (nr_allowed_cpus < 1)
        return false;
    idx %= nr_allowed_cpus;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &allowed_cpus) || idx-- > 0)
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        return pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
    }
    return false;
}

static void unpin(void)
{
    if (nr_allowed_cpus > 0)
        pthread_setaffinity_np(pthread_self(), sizeof(allowed_cpus), &allowed_cpus);
}

static void emit(const char *workload, int threads, double ns, const char *extra)
{
    printf("%s,%s,%d,%.3f,%s\n", be_name, workload, threads, ns, extra ? extra : "");
    fflush(stdout);
}

/* Natural alignment is the contract for the aligned backends; check it (and,
 * where the library can say, that the usable size is the size) once for
 * every order before measuring anything. */
static void self_check(void)
{
    for (unsigned int o = 0; o <= MAX_ORDER; o++) {
        void *h = be_alloc(o);
        if (!h)
            die("self-check allocation", o);
        uintptr_t a = (uintptr_t)be_addr(h);
        size_t size = PAGE_SIZE << o;
        if (a % (be_aligned ? size : PAGE_SIZE)) {
            fprintf(stderr, "bench[%s]: order-%u block %p is not aligned to %zu\n", be_name, o,
                    (void *)a, be_aligned ? size : PAGE_SIZE);
            exit(1);
        }
#if !defined(BENCH_PAGEALLOC) && !defined(BENCH_PAGEALLOC_ADDR)
        size_t u = be_usable(h);
        if (u != 0 && u < size) {
            fprintf(stderr, "bench[%s]: order-%u usable size %zu < %zu\n", be_name, o, u, size);
            exit(1);
        }
#if defined(BENCH_JEMALLOC)
        if (u != je_usize[o]) { /* sdallocx(p, je_usize[o], 0) relies on it */
            fprintf(stderr, "bench[jemalloc]: order-%u usable size %zu != nallocx %zu\n", o, u,
                    je_usize[o]);
            exit(1);
        }
#endif
#endif
        touch(be_addr(h), o);
        be_free(h, o);
    }
}

/* ------------------------------------------------------------------ */
/* Timing: warm up, calibrate, then one timed loop                     */
/* ------------------------------------------------------------------ */

static uint64_t target_ns = 200 * 1000000ull; /* timed part of each workload */
static uint64_t last_faults;                   /* page faults in the last timed loop */

typedef void (*loop_fn)(void *ctx, uint64_t iters);

/* Warm up for a quarter of the target time (doubling the iteration count,
 * at least one iteration), take the rate of the last warm-up round, then
 * time one loop sized to the target.  Returns ns per iteration; *iters_out
 * gets the timed iteration count. */
static double measure(loop_fn fn, void *ctx, uint64_t *iters_out)
{
    uint64_t warm = target_ns / 4, spent = 0, n = 1, dt = 0;
    for (;;) {
        uint64_t t0 = now_ns();
        fn(ctx, n);
        dt = now_ns() - t0;
        spent += dt;
        if (spent >= warm)
            break;
        n *= 2;
    }
    double per = (double)(dt ? dt : 1) / (double)n;
    uint64_t iters = (uint64_t)((double)target_ns / per);
    if (iters < 1)
        iters = 1;
    uint64_t f0 = faults();
    uint64_t t0 = now_ns();
    fn(ctx, iters);
    uint64_t t = now_ns() - t0;
    last_faults = faults() - f0;
    *iters_out = iters;
    return (double)t / (double)iters;
}

/* ------------------------------------------------------------------ */
/* Workload 1: hot pair                                                */
/* ------------------------------------------------------------------ */

static void hot_pair_loop(void *ctx, uint64_t n)
{
    (void)ctx;
    for (uint64_t i = 0; i < n; i++) {
        void *h = get_block(0, KIND_SHORT);
        be_free(h, 0);
    }
}

static void wl_hot_pair(void)
{
    uint64_t iters;
    double ns = measure(hot_pair_loop, NULL, &iters);
    char extra[64];
    snprintf(extra, sizeof(extra), "iters=%" PRIu64 ";faults_per_op=%.4f", iters,
             (double)last_faults / (double)iters);
    emit("hot_pair", 1, ns, extra);
}

/* ------------------------------------------------------------------ */
/* Workload 2: 256 order-0 allocations, then their 256 frees           */
/* ------------------------------------------------------------------ */

#define BATCH 256

static void batch_loop(void *ctx, uint64_t n)
{
    void **slot = ctx;
    for (uint64_t r = 0; r < n; r++) {
        for (int i = 0; i < BATCH; i++)
            slot[i] = get_block(0, KIND_SHORT);
        for (int i = 0; i < BATCH; i++)
            be_free(slot[i], 0);
    }
}

static void wl_batch256(void)
{
    void *slot[BATCH];
    uint64_t rounds;
    double ns = measure(batch_loop, slot, &rounds) / BATCH;
    char extra[64];
    snprintf(extra, sizeof(extra), "rounds=%" PRIu64 ";faults_per_op=%.4f", rounds,
             (double)last_faults / (double)(rounds * BATCH));
    emit("batch256", 1, ns, extra);
}

/* ------------------------------------------------------------------ */
/* Workload 3: random orders 0..9 with a table of live blocks          */
/* ------------------------------------------------------------------ */

struct table {
    void **h;
    unsigned char *order;
    size_t n;
    uint64_t seed;
};

static void random_loop(void *ctx, uint64_t n)
{
    struct table *t = ctx;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = rnd(&t->seed);
        size_t s = (size_t)(r >> 8) % t->n;
        unsigned int o = (unsigned int)(r & 0xff) % 10;
        be_free(t->h[s], t->order[s]);
        t->h[s] = get_block(o, KIND_SHORT);
        t->order[s] = (unsigned char)o;
    }
}

static void wl_random_orders(size_t live)
{
    struct table t = { .n = live, .seed = 0x9E3779B97F4A7C15ULL };
    t.h = calloc(live, sizeof(*t.h));
    t.order = calloc(live, 1);
    if (!t.h || !t.order)
        die("calloc", 0);
    /* Fill (untimed, part of the warm-up): every slot gets a random order. */
    for (size_t s = 0; s < live; s++) {
        unsigned int o = (unsigned int)(rnd(&t.seed) & 0xff) % 10;
        t.h[s] = get_block(o, KIND_SHORT);
        t.order[s] = (unsigned char)o;
    }
    uint64_t steps;
    double ns = measure(random_loop, &t, &steps);
    for (size_t s = 0; s < live; s++)
        be_free(t.h[s], t.order[s]);
    free(t.h);
    free(t.order);
    char extra[128];
    snprintf(extra, sizeof(extra), "live=%zu;steps=%" PRIu64 ";faults_per_op=%.4f", live, steps,
             (double)last_faults / (double)steps);
    emit("random_orders", 1, ns, extra);
}

/* ------------------------------------------------------------------ */
/* Workload 4: producer/consumer through a bounded lock-free SPSC ring */
/* ------------------------------------------------------------------ */

#define RING_SIZE 1024 /* power of two */
#define CACHELINE 64

struct ring {
    _Alignas(CACHELINE) _Atomic size_t head; /* written by the producer */
    _Alignas(CACHELINE) _Atomic size_t tail; /* written by the consumer */
    _Alignas(CACHELINE) void *slot[RING_SIZE];
};

static inline void cpu_relax(unsigned int *spins)
{
    if (++*spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        *spins = 0;
        sched_yield(); /* a peer on the same CPU must get to run */
    }
}

static void ring_push(struct ring *r, void *p, size_t *head, size_t *tail_seen)
{
    unsigned int spins = 0;
    while (*head - *tail_seen == RING_SIZE) {
        *tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (*head - *tail_seen == RING_SIZE)
            cpu_relax(&spins);
    }
    r->slot[*head & (RING_SIZE - 1)] = p;
    ++*head;
    atomic_store_explicit(&r->head, *head, memory_order_release);
}

static void *ring_pop(struct ring *r, size_t *tail, size_t *head_seen)
{
    unsigned int spins = 0;
    while (*tail == *head_seen) {
        *head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (*tail == *head_seen)
            cpu_relax(&spins);
    }
    void *p = r->slot[*tail & (RING_SIZE - 1)];
    ++*tail;
    atomic_store_explicit(&r->tail, *tail, memory_order_release);
    return p;
}

struct pc {
    struct ring *ring;
    uint64_t duration_ns;
    uint64_t start, end; /* producer's start, consumer's end */
    uint64_t blocks;
};

static void *consumer(void *arg)
{
    struct pc *pc = arg;
    size_t tail = 0, head_seen = 0;
    pin_to(1);
    for (;;) {
        void *h = ring_pop(pc->ring, &tail, &head_seen);
        if (!h)
            break;
        be_free(h, 0);
    }
    pc->end = now_ns();
    return NULL;
}

/* Producer runs on the calling thread: allocates, touches and pushes order-0
 * blocks for duration_ns (the clock is read every 1024 blocks), then pushes
 * NULL. */
static void pc_run(struct pc *pc)
{
    pthread_t c;
    atomic_store(&pc->ring->head, 0);
    atomic_store(&pc->ring->tail, 0);
    if (pthread_create(&c, NULL, consumer, pc) != 0)
        die("pthread_create", 0);
    size_t head = 0, tail_seen = 0;
    uint64_t n = 0;
    pc->start = now_ns();
    uint64_t stop = pc->start + pc->duration_ns;
    for (;;) {
        for (int i = 0; i < 1024; i++)
            ring_push(pc->ring, get_block(0, KIND_SHORT), &head, &tail_seen);
        n += 1024;
        if (now_ns() >= stop)
            break;
    }
    ring_push(pc->ring, NULL, &head, &tail_seen);
    pthread_join(c, NULL);
    pc->blocks = n;
}

static void wl_prodcons(void)
{
    struct ring *ring = aligned_alloc(CACHELINE, sizeof(struct ring));
    if (!ring)
        die("aligned_alloc", 0);
    struct pc pc = { .ring = ring, .duration_ns = target_ns / 4 };
    pin_to(0); /* producer on the first CPU, consumer on the second */
    pc_run(&pc); /* warm-up */
    pc.duration_ns = target_ns;
    uint64_t f0 = faults();
    pc_run(&pc);
    uint64_t nf = faults() - f0;
    unpin();
    free(ring);
    double ns = (double)(pc.end - pc.start) / (double)pc.blocks;
    char extra[64];
    snprintf(extra, sizeof(extra), "blocks=%" PRIu64 ";faults_per_op=%.4f", pc.blocks,
             (double)nf / (double)pc.blocks);
    emit("prodcons", 2, ns, extra);
}

/* ------------------------------------------------------------------ */
/* Workload 5: thread scaling, hot pair and batch256 in 1..N threads   */
/* ------------------------------------------------------------------ */

enum scale_kind { SCALE_PAIR, SCALE_BATCH, SCALE_CPU };

struct scale_shared {
    _Atomic int ready;
    _Atomic int go;
    _Atomic int stop;
    enum scale_kind kind;
    bool unpinned;   /* threads run where the scheduler puts them */
};

struct scale_thread {
    pthread_t tid;
    int idx;
    struct scale_shared *sh;
    uint64_t ops, start, end;
    uint64_t sink;
};

/* The CPU baseline: BATCH rounds of the PRNG, no memory traffic.  If this
 * does not scale, the machine is not giving the benchmark its CPUs. */
static uint64_t cpu_loop(uint64_t *seed)
{
    uint64_t x = 0;
    for (int i = 0; i < BATCH; i++)
        x += rnd(seed);
    return x;
}

static void *scale_worker(void *arg)
{
    struct scale_thread *t = arg;
    struct scale_shared *sh = t->sh;
    void *slot[BATCH];
    uint64_t seed = 0x853C49E6748FEA9BULL ^ (uintptr_t)t;
    if (sh->unpinned)
        unpin();
    else
        pin_to(t->idx);
    /* Own warm-up: this thread's caches and pages; 16 rounds of the
     * workload, or a quarter of the window if that is shorter (mmap). */
    uint64_t warm_end = now_ns() + target_ns / 4;
    for (int i = 0; i < 16 && now_ns() < warm_end; i++) {
        if (sh->kind == SCALE_BATCH)
            batch_loop(slot, 1);
        else if (sh->kind == SCALE_PAIR)
            hot_pair_loop(NULL, BATCH);
    }
    atomic_fetch_add(&sh->ready, 1);
    unsigned int spins = 0;
    while (!atomic_load_explicit(&sh->go, memory_order_acquire))
        cpu_relax(&spins);
    uint64_t ops = 0;
    t->start = now_ns();
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        if (sh->kind == SCALE_BATCH)
            batch_loop(slot, 1);
        else if (sh->kind == SCALE_PAIR)
            hot_pair_loop(NULL, BATCH);
        else
            t->sink += cpu_loop(&seed);
        ops += BATCH;
    }
    t->end = now_ns();
    t->ops = ops;
    return NULL;
}

/* Returns total ops/s of nthreads threads running for target_ns. */
static double scale_run(int nthreads, enum scale_kind kind, bool unpinned)
{
    struct scale_shared sh = { .kind = kind, .unpinned = unpinned };
    struct scale_thread *t = calloc((size_t)nthreads, sizeof(*t));
    if (!t)
        die("calloc", 0);
    for (int i = 0; i < nthreads; i++) {
        t[i].sh = &sh;
        t[i].idx = i;
        if (pthread_create(&t[i].tid, NULL, scale_worker, &t[i]) != 0)
            die("pthread_create", 0);
    }
    while (atomic_load(&sh.ready) < nthreads)
        usleep(100);
    atomic_store_explicit(&sh.go, 1, memory_order_release);
    struct timespec d = { .tv_sec = (time_t)(target_ns / 1000000000u),
                          .tv_nsec = (long)(target_ns % 1000000000u) };
    nanosleep(&d, NULL);
    atomic_store(&sh.stop, 1);
    uint64_t ops = 0, start = UINT64_MAX, end = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i].tid, NULL);
        ops += t[i].ops;
        if (t[i].start < start)
            start = t[i].start;
        if (t[i].end > end)
            end = t[i].end;
    }
    free(t);
    return (double)ops * 1e9 / (double)(end - start);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define SCALE_REPS 3

/*
 * Threads as programs start them: not pinned, so the scheduler may put two
 * on one CPU and move them.  batch256 and the PRNG control alternate, each
 * thread count SCALE_REPS times, so both see the same machine; the batch
 * row's extra says how its speed-up compares with the control's.
 */
static void wl_scale_unpinned(int max_threads)
{
    double *ops = calloc((size_t)max_threads * SCALE_REPS * 2, sizeof(double));
    if (!ops)
        die("calloc", 0);
    for (int r = 0; r < SCALE_REPS; r++)
        for (int n = 1; n <= max_threads; n++)
            for (int k = 0; k < 2; k++)
                ops[((size_t)k * max_threads + (size_t)n - 1) * SCALE_REPS + (size_t)r] =
                    scale_run(n, k ? SCALE_CPU : SCALE_BATCH, true);
    double med[2][64] = {{0}};
    for (int k = 0; k < 2; k++)
        for (int n = 1; n <= max_threads && n <= 64; n++) {
            double *o = &ops[((size_t)k * max_threads + (size_t)n - 1) * SCALE_REPS];
            qsort(o, SCALE_REPS, sizeof(double), cmp_double);
            med[k][n - 1] = o[SCALE_REPS / 2];
        }
    for (int k = 0; k < 2; k++)
        for (int n = 1; n <= max_threads && n <= 64; n++) {
            double speedup = med[k][n - 1] / med[k][0], control = med[1][n - 1] / med[1][0];
            char extra[160];
            snprintf(extra, sizeof(extra), "ops_per_s=%.0f;speedup=%.3f;vs_control=%.3f;reps=%d", med[k][n - 1],
                     speedup, speedup / control, SCALE_REPS);
            emit(k ? "scale_unpinned_cpu" : "scale_unpinned_batch256", n, 1e9 / med[k][n - 1], extra);
        }
    free(ops);
}

/* Thread counts 1..N alternate, SCALE_REPS times, each for half the target
 * time; the median per thread count is reported, so a burst of outside
 * noise hits one repetition, not one thread count. */

static void wl_scale(int max_threads)
{
    static const char *const names[] = { "scale_pair", "scale_batch256", "scale_cpu" };
    uint64_t saved = target_ns;
    double *ops = calloc((size_t)max_threads * SCALE_REPS, sizeof(double));
    if (!ops)
        die("calloc", 0);
    target_ns = saved / 2 ? saved / 2 : 1;
    for (int b = SCALE_PAIR; b <= SCALE_CPU; b++) {
        for (int r = 0; r < SCALE_REPS; r++)
            for (int n = 1; n <= max_threads; n++)
                ops[(n - 1) * SCALE_REPS + r] = scale_run(n, (enum scale_kind)b, false);
        double one = 0;
        for (int n = 1; n <= max_threads; n++) {
            double *o = &ops[(n - 1) * SCALE_REPS];
            qsort(o, SCALE_REPS, sizeof(double), cmp_double);
            double med = o[SCALE_REPS / 2];
            if (n == 1)
                one = med;
            char extra[128];
            snprintf(extra, sizeof(extra), "ops_per_s=%.0f;speedup=%.3f;reps=%d", med, med / one, SCALE_REPS);
            emit(names[b], n, 1e9 / med, extra);
        }
    }
    free(ops);
    wl_scale_unpinned(max_threads);
    target_ns = saved;
}

/* ------------------------------------------------------------------ */
/* Workload 6: fragmentation                                           */
/* ------------------------------------------------------------------ */

/* 70% order 0, 20% orders 1-3, 10% orders 4-9: 18.4 pages on average. */
static inline unsigned int frag_order(uint64_t r)
{
    unsigned int p = (unsigned int)(r % 100);
    r /= 100;
    if (p < 70)
        return 0;
    if (p < 90)
        return 1 + (unsigned int)(r % 3);
    return 4 + (unsigned int)(r % 6);
}

/* Two tables of FRAG_SLOTS each, long-lived and short-lived; 1 step in 8
 * replaces a random long-lived block, 7 in 8 a random short-lived one, so a
 * long-lived block lives 7x as long.  3584 blocks x 73.7 KiB = ~258 MiB. */
#define FRAG_SLOTS 1792

static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k': case 'K': v <<= 10; break;
    case 'm': case 'M': v <<= 20; break;
    case 'g': case 'G': v <<= 30; break;
    default: break;
    }
    return (size_t)v;
}

/*
 * pagealloc, grouping on: every short-lived block, of every order, is
 * registered as movable (pa_page_set_movable) with ops that really migrate
 * it (copy the whole block, repoint the slot), so pa_compact_memory() can
 * move them and the run can show what compaction recovers.  Each block
 * holds its slot index in its first and last 8 bytes, checked at the end.  One mutex
 * per run guards the short-lived table: the churn loop takes it to free or
 * store a block, the callbacks (pa_compact_memory, kcompactd, direct
 * compaction, any thread) to isolate, repoint or put back.
 */
#ifdef BENCH_PAGEALLOC
static struct {
    bool on;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* isolated[s] went false */
    void **h;              /* the short-lived table (h[KIND_SHORT]) */
    unsigned char *ord;
    bool *isolated;
} mv = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static size_t mv_slot(struct pa_page *a, struct pa_page *b)
{
    void *o = pa_page_movable_owner(a);
    if (!o && b)
        o = pa_page_movable_owner(b);
    return o ? (size_t)(uintptr_t)o - 1 : (size_t)-1; /* owner = slot + 1 */
}

static bool mv_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)mode;
    size_t s = mv_slot(page, NULL);
    bool ok = false;
    pthread_mutex_lock(&mv.mu);
    /* false when the block is being freed or was replaced: the slot no
     * longer holds it */
    if (s < FRAG_SLOTS && mv.h[s] == page && !mv.isolated[s])
        ok = mv.isolated[s] = true;
    pthread_mutex_unlock(&mv.mu);
    return ok;
}

static int mv_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    size_t s = mv_slot(dst, src);
    int rc = -1;
    pthread_mutex_lock(&mv.mu);
    if (s < FRAG_SLOTS && mv.h[s] == src && mv.isolated[s]) {
        memcpy(pa_page_address(dst), pa_page_address(src), PAGE_SIZE << mv.ord[s]);
        mv.h[s] = dst;
        mv.isolated[s] = false;
        pthread_cond_broadcast(&mv.cv);
        rc = 0;
    }
    pthread_mutex_unlock(&mv.mu);
    return rc;
}

static void mv_putback(struct pa_page *page)
{
    /* nothing to undo but the isolation mark (a free may be waiting on it) */
    size_t s = mv_slot(page, NULL);
    pthread_mutex_lock(&mv.mu);
    if (s < FRAG_SLOTS && mv.h[s] == page) {
        mv.isolated[s] = false;
        pthread_cond_broadcast(&mv.cv);
    }
    pthread_mutex_unlock(&mv.mu);
}

static const struct pa_movable_ops mv_ops = { mv_isolate, mv_migrate, mv_putback };

static void mv_start(void **h, unsigned char *ord)
{
    mv.h = h;
    mv.ord = ord;
    mv.isolated = calloc(FRAG_SLOTS, sizeof(bool));
    if (!mv.isolated)
        die("calloc", 0);
    mv.on = true;
}

/* Take short-lived slot s's block out of the table to free it: waits while
 * compaction holds it isolated.  Returns the (possibly migrated) handle. */
static void *mv_take(size_t s)
{
    pthread_mutex_lock(&mv.mu);
    while (mv.isolated[s])
        pthread_cond_wait(&mv.cv, &mv.mu);
    void *b = mv.h[s];
    mv.h[s] = NULL;
    pthread_mutex_unlock(&mv.mu);
    return b;
}

/* The first and the last word of a block of order o. */
static inline volatile uint64_t *mv_word(void *b, unsigned int o, bool last)
{
    char *base = pa_page_address(b);
    return (volatile uint64_t *)(last ? base + (PAGE_SIZE << o) - sizeof(uint64_t) : base);
}

/* Store a new block in short-lived slot s, stamped with the slot index and
 * registered movable. */
static void mv_put(size_t s, void *b, unsigned int o)
{
    if (b) {
        *mv_word(b, o, false) = (uint64_t)s;
        *mv_word(b, o, true) = ~(uint64_t)s;
    }
    pthread_mutex_lock(&mv.mu);
    mv.h[s] = b;
    mv.ord[s] = (unsigned char)o;
    pthread_mutex_unlock(&mv.mu);
    if (b)
        pa_page_set_movable(b, &mv_ops, (void *)(uintptr_t)(s + 1));
}

/* Every live movable block still holds its slot index; returns how many
 * were checked, exits on a mismatch. */
static unsigned long mv_verify(void)
{
    unsigned long n = 0;
    pthread_mutex_lock(&mv.mu);
    for (size_t s = 0; s < FRAG_SLOTS; s++) {
        while (mv.isolated[s])
            pthread_cond_wait(&mv.cv, &mv.mu);
        if (!mv.h[s])
            continue;
        uint64_t v = *mv_word(mv.h[s], mv.ord[s], false);
        if (v != (uint64_t)s || *mv_word(mv.h[s], mv.ord[s], true) != ~(uint64_t)s ||
            pa_page_movable_owner(mv.h[s]) != (void *)(uintptr_t)(s + 1)) {
            fprintf(stderr, "bench-%s: frag: movable block of slot %zu holds %" PRIu64
                    " (owner %p) after compaction: contents lost\n", be_name, s, v,
                    pa_page_movable_owner(mv.h[s]));
            exit(3);
        }
        n++;
    }
    pthread_mutex_unlock(&mv.mu);
    return n;
}

static void mv_stop(void)
{
    mv.on = false;
    free(mv.isolated);
    mv.isolated = NULL;
}
#else
static struct { bool on; } mv;
static void mv_start(void **h, unsigned char *ord) { (void)h; (void)ord; }
static void *mv_take(size_t s) { (void)s; return NULL; }
static void mv_put(size_t s, void *b, unsigned int o) { (void)s; (void)b; (void)o; }
static void mv_stop(void) {}
#endif

#if defined(BENCH_PAGEALLOC) || defined(BENCH_PAGEALLOC_ADDR)
/* How many order-9 (2 MiB) blocks can be allocated now (with the current
 * be_gfp_mode), all freed again. */
static unsigned int count_hp(void)
{
    enum { HP_ORDER = 9, HP_MAX = 1 << 14 };
    void **hp = malloc(HP_MAX * sizeof(void *));
    unsigned int nhp = 0;
    if (!hp)
        die("malloc", 0);
    while (nhp < HP_MAX && (hp[nhp] = be_alloc_kind(HP_ORDER, KIND_SHORT)) != NULL)
        nhp++;
    for (unsigned int i = 0; i < nhp; i++)
        be_free(hp[i], HP_ORDER);
    free(hp);
    return nhp;
}
#endif

#ifdef BENCH_PAGEALLOC
/* Free blocks of 2 MiB or more, in 2 MiB blocks, as pa_show_buddyinfo
 * shows them (per zone: "Node N, zone NAME" then the count per order). */
static unsigned long count_hp_free(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f || pa_show_buddyinfo(f) != 0)
        die("pa_show_buddyinfo", errno);
    fclose(f);
    unsigned long blocks = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = strstr(line, "zone");
        if (!p)
            continue;
        p += 4;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;   /* the zone's name */
        for (unsigned int o = 0; o <= MAX_ORDER; o++) {
            char *end;
            unsigned long n = strtoul(p, &end, 10);
            if (end == p)
                break;
            if (o >= 9)
                blocks += n << (o - 9);
            p = end;
        }
    }
    free(text);
    return blocks;
}

/* How many 2 MiB blocks are allocatable now: allocated without reclaim or
 * compaction until that fails (the watermarks keep the last ones), all
 * freed again. */
static unsigned int count_hp_held(void)
{
    enum { HP_ORDER = 9, HP_MAX = 1 << 14 };
    void **hp = malloc(HP_MAX * sizeof(void *));
    unsigned int n = 0;
    if (!hp)
        die("malloc", 0);
    while (n < HP_MAX &&
           (hp[n] = pa_alloc_pages((PA_GFP_HIGHUSER_MOVABLE & ~PA_GFP_DIRECT_RECLAIM) | PA_GFP_NOWARN, HP_ORDER)))
        n++;
    for (unsigned int i = 0; i < n; i++)
        pa_free_pages(hp[i], HP_ORDER);
    free(hp);
    return n;
}
#endif

static void wl_frag(uint64_t steps, bool grouping, const char *name)
{
    be_mobility(grouping);
    void **h[2];
    unsigned char *ord[2];
    for (int k = 0; k < 2; k++) {
        h[k] = calloc(FRAG_SLOTS, sizeof(void *));
        ord[k] = calloc(FRAG_SLOTS, 1);
        if (!h[k] || !ord[k])
            die("calloc", 0);
    }
    if (grouping)
        mv_start(h[KIND_SHORT], ord[KIND_SHORT]); /* pagealloc only */
    uint64_t seed = 0xD1B54A32D192ED03ULL;
    uint64_t fails = 0;
    unsigned long long live_pages = 0;

    be_gfp_mode(GFP_QUIET);
    /* Fill both tables interleaved in random order (the warm-up). */
    size_t filled[2] = { 0, 0 };
    while (filled[0] < FRAG_SLOTS || filled[1] < FRAG_SLOTS) {
        uint64_t r = rnd(&seed);
        int k = (r & 1) ? KIND_LONG : KIND_SHORT;
        if (filled[k] == FRAG_SLOTS)
            k = !k;
        unsigned int o = frag_order(r >> 8);
        void *b = be_alloc_kind(o, (enum kind)k);
        if (b) {
            touch(be_addr(b), o);
            live_pages += 1ull << o;
        } else {
            fails++;
        }
        if (mv.on && k == KIND_SHORT) {
            mv_put(filled[k], b, o);
        } else {
            h[k][filled[k]] = b;
            ord[k][filled[k]] = (unsigned char)o;
        }
        filled[k]++;
    }

    uint64_t f0 = faults();
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < steps; i++) {
        uint64_t r = rnd(&seed);
        int k = (r & 7) == 0 ? KIND_LONG : KIND_SHORT;
        size_t s = (size_t)((r >> 3) & 0xffff) % FRAG_SLOTS;
        unsigned int o = frag_order(r >> 19);
        if (mv.on && k == KIND_SHORT) {
            void *old = mv_take(s);
            if (old) {
                be_free(old, ord[k][s]);
                live_pages -= 1ull << ord[k][s];
            }
        } else if (h[k][s]) {
            be_free(h[k][s], ord[k][s]);
            live_pages -= 1ull << ord[k][s];
        }
        void *b = be_alloc_kind(o, (enum kind)k);
        if (b) {
            touch(be_addr(b), o);
            live_pages += 1ull << o;
        } else {
            fails++;
        }
        if (mv.on && k == KIND_SHORT) {
            mv_put(s, b, o);
        } else {
            h[k][s] = b;
            ord[k][s] = (unsigned char)o;
        }
    }
    double ns = (double)(now_ns() - t0) / (double)(steps ? steps : 1);
    double fpo = (double)(faults() - f0) / (double)(steps ? steps : 1);
    long rss = vm_rss_kb();

    /* Largest order still allocatable: 10 down to 0, once each. */
    be_gfp_mode(GFP_PROBE);
    int max_order = -1;
    void *probe[MAX_ORDER + 1] = { 0 };
    for (int o = MAX_ORDER; o >= 0; o--) {
        probe[o] = be_alloc_kind((unsigned int)o, KIND_SHORT);
        if (probe[o] && max_order < 0)
            max_order = o;
    }
    for (int o = 0; o <= MAX_ORDER; o++)
        if (probe[o])
            be_free(probe[o], (unsigned int)o);

    char extra[512];
    int len = snprintf(extra, sizeof(extra), "max_order=%d;rss_mib=%.1f;live_mib=%.1f;fails=%" PRIu64
                       ";steps=%" PRIu64 ";faults_per_op=%.4f",
                       max_order, (double)rss / 1024.0, (double)(live_pages << PAGE_SHIFT) / 1048576.0,
                       fails, steps, fpo);

#ifdef BENCH_PAGEALLOC
    /* What compaction recovers, with the live set still held: free 2 MiB
     * blocks (buddyinfo) before and after pa_compact_memory(), against the
     * blocks the free memory could hold (nr_free_pages / 512, after the
     * per-CPU lists were drained: pa_compact_memory drains them first); how
     * many of them an allocation without reclaim or compaction gets (the
     * watermarks keep the last ones); the pages it migrated
     * (pgmigrate_success over the call; migrated_total: over the whole
     * run); and a check that every live movable block kept its contents. */
    if (mv.on) {
        unsigned long mig0 = 0, mig1 = 0, nr_free = 0;
        unsigned int alloc_live = count_hp_held();
        unsigned long hp_live = count_hp_free();
        pa_vmstat_get("pgmigrate_success", &mig0);
        if (pa_compact_memory() != 0)
            die("pa_compact_memory", errno);
        pa_vmstat_get("pgmigrate_success", &mig1);
        pa_vmstat_get("nr_free_pages", &nr_free);
        unsigned long hp_cpt = count_hp_free();
        unsigned int alloc_cpt = count_hp_held();
        unsigned long checked = mv_verify();
        unsigned long possible = nr_free >> 9;
        if (len > 0 && (size_t)len < sizeof(extra))
            len += snprintf(extra + len, sizeof(extra) - (size_t)len,
                            ";blocks_live=%lu;blocks_after_compact=%lu;blocks_possible=%lu;blocks_after_pct=%.1f"
                            ";blocks_alloc_live=%u;blocks_alloc_after=%u;migrated=%lu;migrated_total=%lu"
                            ";movable_checked=%lu",
                            hp_live, hp_cpt, possible, possible ? 100.0 * (double)hp_cpt / (double)possible : -1.0,
                            alloc_live, alloc_cpt, mig1 - mig0, mig1, checked);
    }
#endif

    /* Free the short-lived blocks: the "at rest" state. */
    for (size_t s = 0; s < FRAG_SLOTS; s++) {
        void *b = mv.on ? mv_take(s) : h[KIND_SHORT][s];
        if (b)
            be_free(b, ord[KIND_SHORT][s]);
    }
    if (mv.on)
        mv_stop();

#if defined(BENCH_PAGEALLOC) || defined(BENCH_PAGEALLOC_ADDR)
    /* The kernel's anchor for grouping by mobility: 2 MiB (order-9) blocks
     * allocatable at rest, as a share of the arena.  Only meaningful with a
     * bounded arena (run.sh sets PAGEALLOC_NODE_SIZE for this run). */
    {
        enum { HP_ORDER = 9 };
        unsigned int nhp = count_hp();
        const char *ns_env = getenv("PAGEALLOC_NODE_SIZE");
        size_t node = ns_env ? parse_size(ns_env) : 0;
        if (len > 0 && (size_t)len < sizeof(extra))
            snprintf(extra + len, sizeof(extra) - (size_t)len, ";hp_rest=%u;hp_rest_pct=%.1f", nhp,
                     node ? 100.0 * (double)nhp * (double)(PAGE_SIZE << HP_ORDER) / (double)node : -1.0);
    }
#else
    (void)parse_size;
    (void)len;
#endif
    be_gfp_mode(GFP_PLAIN);
    for (size_t s = 0; s < FRAG_SLOTS; s++)
        if (h[KIND_LONG][s])
            be_free(h[KIND_LONG][s], ord[KIND_LONG][s]);
    for (int k = 0; k < 2; k++) {
        free(h[k]);
        free(ord[k]);
    }
    be_mobility(false);
    emit(name, 1, ns, extra);
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench-%s [-w LIST] [-t MS] [-l LIVE] [-s STEPS] [-n THREADS] [-T pages|first|none]\n"
            "  -w LIST   comma list of: hot_pair batch256 random_orders prodcons scale frag\n"
            "            frag_nogroup (pagealloc only); 'core' = the first five (default)\n"
            "  -t MS     timed milliseconds per workload (default 200; warm-up adds a quarter)\n"
            "  -l LIVE   live blocks in random_orders (default 4096)\n"
            "  -s STEPS  fragmentation steps (default 200000)\n"
            "  -n N      thread scaling up to N threads (default: online CPUs)\n"
            "  -T MODE   touch every page (default), only the first, or none\n"
            "Prints CSV rows: allocator,workload,threads,ns_per_op,extra\n",
            be_name);
}

static bool has_word(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, w, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

int main(int argc, char **argv)
{
    const char *list = "core";
    size_t live = 4096;
    uint64_t frag_steps = 200000;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    while ((c = getopt(argc, argv, "w:t:l:s:n:T:h")) != -1) {
        switch (c) {
        case 'w': list = optarg; break;
        case 't': target_ns = strtoull(optarg, NULL, 10) * 1000000ull; break;
        case 'l': live = strtoull(optarg, NULL, 10); break;
        case 's': frag_steps = strtoull(optarg, NULL, 10); break;
        case 'n': nthreads = strtol(optarg, NULL, 10); break;
        case 'T':
            if (!strcmp(optarg, "pages"))
                touch_mode = TOUCH_PAGES;
            else if (!strcmp(optarg, "first"))
                touch_mode = TOUCH_FIRST;
            else if (!strcmp(optarg, "none"))
                touch_mode = TOUCH_NONE;
            else {
                usage(stderr);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (target_ns == 0 || live == 0 || nthreads < 1) {
        usage(stderr);
        return 2;
    }
    bool core = has_word(list, "core");
    static const char *const known[] = { "core", "hot_pair", "batch256", "random_orders", "prodcons",
                                         "scale", "frag", "frag_nogroup" };
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strlen(known[i]) == len && !strncmp(known[i], p, len);
        if (!ok) {
            fprintf(stderr, "bench-%s: unknown workload '%.*s'\n", be_name, (int)len, p);
            return 2;
        }
        if (!e)
            break;
        p = e + 1;
    }
#if !defined(BENCH_PAGEALLOC) && !defined(BENCH_PAGEALLOC_ADDR)
    if (has_word(list, "frag_nogroup")) {
        fprintf(stderr, "bench-%s: frag_nogroup is for pagealloc only\n", be_name);
        return 2;
    }
#endif

    if (sched_getaffinity(0, sizeof(allowed_cpus), &allowed_cpus) == 0)
        nr_allowed_cpus = CPU_COUNT(&allowed_cpus);
    if (be_init() != 0)
        return 1;
    self_check();

    printf("allocator,workload,threads,ns_per_op,extra\n");
    if (core || has_word(list, "hot_pair"))
        wl_hot_pair();
    if (core || has_word(list, "batch256"))
        wl_batch256();
    if (core || has_word(list, "random_orders"))
        wl_random_orders(live);
    if (core || has_word(list, "prodcons"))
        wl_prodcons();
    if (core || has_word(list, "scale"))
        wl_scale((int)nthreads);
    if (has_word(list, "frag"))
        wl_frag(frag_steps, true, "frag");
    if (has_word(list, "frag_nogroup"))
        wl_frag(frag_steps, false, "frag_nogroup");

    char info[256];
    be_info(info, sizeof(info));
    const char *tm = touch_mode == TOUCH_PAGES ? "pages" : touch_mode == TOUCH_FIRST ? "first" : "none";
    char wl[128];
    snprintf(wl, sizeof(wl), "%s", list);
    for (char *p = wl; *p; p++)
        if (*p == ',')
            *p = '+'; /* extra must stay one CSV field */
    char extra[512];
    snprintf(extra, sizeof(extra), "%s;touch=%s;workloads=%s;rss_mib=%.1f", info, tm, wl,
             (double)vm_rss_kb() / 1024.0);
    emit("info", 0, 0, extra);
    return 0;
}

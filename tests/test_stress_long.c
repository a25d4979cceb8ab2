/* SPDX-License-Identifier: MIT */
/*
 * The long stress: two threads, 10^7 random operations between them, run in
 * the normal suite and under ASan+UBSan and TSan (scripts/sanitize.sh).
 *
 * Every kind of request the library serves: orders 0..PA_MAX_ORDER through
 * pa_alloc_pages, pa_alloc_pages_node, pa_get_free_pages and
 * pa_alloc_pages_exact; GFP kinds KERNEL, HIGHUSER_MOVABLE, ATOMIC, DMA and
 * __GFP_ZERO; memory policies switched at random (local, interleave, bind,
 * preferred, preferred-many, weighted interleave) over two emulated nodes;
 * order-0 pages registered movable (an owner that takes migration
 * callbacks) while compaction runs from both threads; local and remote
 * drains; half of the frees done by the other thread.
 *
 * Every block carries a pattern (per page: a tag at the start, middle and
 * end) written after allocation and checked before it is freed, and at
 * random while live, so a block handed out twice, a migration that lost a
 * page, or a stray write is caught.  The invariant walker runs every 2^16
 * operations of each thread, and at the end, when all memory must be back.
 *
 *   PA_STRESS_OPS   total operations (default 10000000), split between the threads
 *   PA_STRESS_SEED  seed (default: fixed); printed either way, so a failure reproduces
 */
#include "pa_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"

#define DEFAULT_OPS 10000000UL
#define DEFAULT_SEED 0x5eed0f57a7e5ULL
#define NTHREADS 2
#define MAX_LIVE 512
#define LIVE_PAGE_BUDGET 6144   /* pages a thread holds at most (of 2 x 16384) */
#define MAX_QUEUED 256
#define CHECK_EVERY (1UL << 16)
#define NSLOTS (NTHREADS * MAX_LIVE + 2 * MAX_QUEUED + 64)

enum how { HOW_PAGES, HOW_NODE, HOW_ADDR, HOW_EXACT, HOW_MOVABLE };

struct item {
    struct pa_page *page;    /* HOW_PAGES, HOW_NODE; HOW_MOVABLE: see the slot */
    void *addr;              /* HOW_ADDR, HOW_EXACT */
    size_t size;             /* HOW_EXACT: bytes asked */
    unsigned int order;
    unsigned int npages;     /* pages carrying the pattern */
    enum how how;
    int slot;                /* HOW_MOVABLE */
    uint64_t tag;
};

/*
 * Movable pages: the owner is a slot.  Slots are never freed during the run
 * (the compactor may call back with a page whose registration it read
 * before the page was freed), only reused; the callbacks check under the
 * slot's lock that the slot still holds that very page.
 */
struct slot {
    pthread_mutex_t lock;
    struct pa_page *page;
    bool isolated;
    uint64_t tag;
};
static struct slot slots[NSLOTS];
static int free_slots[NSLOTS];
static int nfree_slots;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong mig_isolated, mig_moved, mig_putback, mig_violations;

static int slot_get(void)
{
    pthread_mutex_lock(&slots_lock);
    int s = nfree_slots ? free_slots[--nfree_slots] : -1;
    pthread_mutex_unlock(&slots_lock);
    return s;
}

static void slot_put(int s)
{
    pthread_mutex_lock(&slots_lock);
    free_slots[nfree_slots++] = s;
    pthread_mutex_unlock(&slots_lock);
}

static inline uint64_t page_word(uint64_t tag, unsigned long i) { return tag ^ (i * 0x9e3779b97f4a7c15ULL); }

static void write_pattern_at(char *a, unsigned long npages, uint64_t tag)
{
    for (unsigned long i = 0; i < npages; i++) {
        uint64_t v = page_word(tag, i), nv = ~v;
        memcpy(a + i * T_PAGE, &v, sizeof(v));
        memcpy(a + i * T_PAGE + T_PAGE / 2, &tag, sizeof(tag));
        memcpy(a + i * T_PAGE + T_PAGE - sizeof(nv), &nv, sizeof(nv));
    }
}

/* The page index whose pattern is broken, or -1. */
static long find_bad_page(const char *a, unsigned long npages, uint64_t tag)
{
    for (unsigned long i = 0; i < npages; i++) {
        uint64_t v, mid, end;
        memcpy(&v, a + i * T_PAGE, sizeof(v));
        memcpy(&mid, a + i * T_PAGE + T_PAGE / 2, sizeof(mid));
        memcpy(&end, a + i * T_PAGE + T_PAGE - sizeof(end), sizeof(end));
        if (v != page_word(tag, i) || mid != tag || end != ~page_word(tag, i))
            return (long)i;
    }
    return -1;
}

static bool mov_isolate(struct pa_page *page, enum pa_migrate_mode mode)
{
    (void)mode;
    struct slot *s = pa_page_movable_owner(page);
    if (!s)
        return false;
    pthread_mutex_lock(&s->lock);
    bool ok = s->page == page && !s->isolated;
    if (ok)
        s->isolated = true;
    pthread_mutex_unlock(&s->lock);
    if (ok)
        atomic_fetch_add(&mig_isolated, 1);
    return ok;
}

static int mov_migrate(struct pa_page *dst, struct pa_page *src, enum pa_migrate_mode mode)
{
    (void)mode;
    struct slot *s = pa_page_movable_owner(src);
    if (!s) {
        atomic_fetch_add(&mig_violations, 1);
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    if (s->page != src || !s->isolated || find_bad_page(pa_page_address(src), 1, s->tag) >= 0)
        atomic_fetch_add(&mig_violations, 1);
    memcpy(pa_page_address(dst), pa_page_address(src), T_PAGE);
    s->page = dst;
    s->isolated = false;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&mig_moved, 1);
    return 0;
}

static void mov_putback(struct pa_page *page)
{
    struct slot *s = pa_page_movable_owner(page);
    if (!s) {
        atomic_fetch_add(&mig_violations, 1);
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->page != page || !s->isolated)
        atomic_fetch_add(&mig_violations, 1);
    s->isolated = false;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&mig_putback, 1);
}

static const struct pa_movable_ops mov_ops = {
    .isolate_page = mov_isolate,
    .migrate_page = mov_migrate,
    .putback_page = mov_putback,
};

struct queue {
    pthread_mutex_t lock;
    struct item v[MAX_QUEUED];
    size_t n;
};

struct worker {
    int id;
    uint64_t seed;
    unsigned long ops;
    struct queue *in, *out;
    struct worker *peer;
    atomic_bool done;
    struct item live[MAX_LIVE];
    size_t nlive;
    unsigned long live_pages;
    unsigned long seq;
    /* results, read by the main thread after join */
    unsigned long allocs, fails, local_frees, remote_frees, received, checks, walks;
    unsigned long compactions, drains, policies, by_order[PA_MAX_ORDER + 1];
    unsigned long errors;
    char first_error[320];
};

static void worker_error(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void worker_error(struct worker *w, const char *fmt, ...)
{
    w->errors++;
    if (w->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
    va_end(ap);
}

static char *item_addr(const struct item *it)
{
    return it->page ? pa_page_address(it->page) : it->addr;
}

/* Check the pattern of a live block (movable ones under their slot lock,
 * so a migration cannot run meanwhile). */
static void check_item(struct worker *w, const struct item *it)
{
    long bad;
    if (it->how == HOW_MOVABLE) {
        struct slot *s = &slots[it->slot];
        pthread_mutex_lock(&s->lock);
        bad = find_bad_page(pa_page_address(s->page), 1, it->tag);
        pthread_mutex_unlock(&s->lock);
    } else {
        bad = find_bad_page(item_addr(it), it->npages, it->tag);
    }
    if (bad >= 0)
        worker_error(w, "thread %d: pattern of a block (order %u, how %d, tag %#llx) broken in page %ld",
                     w->id, it->order, (int)it->how, (unsigned long long)it->tag, bad);
}

static void free_item(struct worker *w, const struct item *it)
{
    check_item(w, it);
    switch (it->how) {
    case HOW_PAGES:
    case HOW_NODE:
        pa_free_pages(it->page, it->order);
        break;
    case HOW_ADDR:
        pa_free_pages_addr(it->addr, it->order);
        break;
    case HOW_EXACT:
        pa_free_pages_exact(it->addr, it->size);
        break;
    case HOW_MOVABLE: {
        /* the owner protocol: never free a page the compactor holds */
        struct slot *s = &slots[it->slot];
        for (;;) {
            pthread_mutex_lock(&s->lock);
            if (!s->isolated)
                break;
            pthread_mutex_unlock(&s->lock);
            sched_yield();
        }
        struct pa_page *p = s->page;
        s->page = NULL;
        pa_page_set_movable(p, NULL, NULL);
        pthread_mutex_unlock(&s->lock);
        pa_free_pages(p, 0);
        slot_put(it->slot);
        break;
    }
    }
}

static bool queue_try_push(struct queue *q, const struct item *it)
{
    pthread_mutex_lock(&q->lock);
    bool ok = q->n < MAX_QUEUED;
    if (ok)
        q->v[q->n++] = *it;
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static void drain_incoming(struct worker *w)
{
    struct item buf[32];
    for (;;) {
        pthread_mutex_lock(&w->in->lock);
        size_t n = PA_MIN(w->in->n, (size_t)32);
        w->in->n -= n;
        memcpy(buf, w->in->v + w->in->n, n * sizeof(*buf));
        pthread_mutex_unlock(&w->in->lock);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++)
            free_item(w, &buf[i]);
        w->received += n;
    }
}

/* Hand a block to the other thread; while its queue is full, free what
 * comes our way (two waiting threads cannot deadlock) and let it run. */
static void pass_on(struct worker *w, const struct item *it)
{
    while (!queue_try_push(w->out, it)) {
        if (atomic_load(&w->peer->done)) {
            free_item(w, it);
            w->local_frees++;
            return;
        }
        drain_incoming(w);
        sched_yield();
    }
    w->remote_frees++;
}

static const char *const policies[] = {
    "default", "local", "interleave=all", "bind=0", "bind=1", "preferred=1",
    "preferred-many=0,1", "weighted-interleave=0:1,1:3",
};

/* Orders: mostly small, as real users ask, but every order up to the top. */
static unsigned int pick_order(uint64_t r)
{
    unsigned int x = (unsigned int)(r % 100);
    if (x < 60)
        return 0;
    if (x < 85)
        return 1 + (unsigned int)((r >> 8) % 3);
    if (x < 95)
        return 4 + (unsigned int)((r >> 8) % 3);
    return 7 + (unsigned int)((r >> 8) % (PA_MAX_ORDER - 6));
}

static void do_alloc(struct worker *w, uint64_t r)
{
    unsigned int order = pick_order(r);
    if (w->live_pages + (1UL << order) > LIVE_PAGE_BUDGET)
        order = 0;
    static const pa_gfp_t kinds[] = {PA_GFP_KERNEL, PA_GFP_HIGHUSER_MOVABLE, PA_GFP_ATOMIC,
                                     PA_GFP_KERNEL | PA_GFP_ZERO, PA_GFP_DMA | PA_GFP_KERNEL};
    unsigned int kind = (unsigned int)((r >> 16) % 5);
    if (kind == 4 && order > 3)
        kind = 0;   /* ZONE_DMA is 16 MiB: keep it for small requests */
    pa_gfp_t gfp = kinds[kind] | PA_GFP_NOWARN;
    enum how how = (enum how)((r >> 20) % 5);
    if (how == HOW_MOVABLE && order != 0)
        how = HOW_PAGES;
    struct item it = {.order = order, .how = how, .slot = -1, .npages = 1U << order};
    errno = 0;
    switch (how) {
    case HOW_PAGES:
        it.page = pa_alloc_pages(gfp, order);
        break;
    case HOW_NODE:
        it.page = pa_alloc_pages_node((int)((r >> 24) % 3) - 1, gfp, order);   /* -1: local */
        break;
    case HOW_ADDR:
        it.addr = pa_get_free_pages(gfp, order);
        break;
    case HOW_EXACT:
        it.size = ((size_t)1 << order) * T_PAGE - (size_t)((r >> 28) % ((1UL << order) * T_PAGE));
        it.npages = (unsigned int)((it.size + T_PAGE - 1) / T_PAGE);
        it.addr = pa_alloc_pages_exact(it.size, gfp);
        break;
    case HOW_MOVABLE:
        gfp = PA_GFP_HIGHUSER_MOVABLE | PA_GFP_NOWARN;
        it.slot = slot_get();
        if (it.slot < 0) {
            worker_error(w, "thread %d: out of movable slots", w->id);
            return;
        }
        it.page = pa_alloc_pages(gfp, 0);
        break;
    }
    if (!it.page && !it.addr) {
        if (errno != ENOMEM)
            worker_error(w, "thread %d: NULL for order %u gfp %#x with errno %d, not ENOMEM", w->id, order,
                         gfp, errno);
        if (it.slot >= 0)
            slot_put(it.slot);
        w->fails++;
        drain_incoming(w);
        return;
    }
    char *a = item_addr(&it);
    if ((uintptr_t)a % (T_PAGE << (how == HOW_EXACT ? 0 : order)) != 0)
        worker_error(w, "thread %d: order %u block at %p is misaligned", w->id, order, (void *)a);
    if (gfp & PA_GFP_ZERO)
        for (unsigned int i = 0; i < it.npages; i++) {
            uint64_t head, tail;
            memcpy(&head, a + i * T_PAGE, sizeof(head));
            memcpy(&tail, a + (i + 1) * T_PAGE - sizeof(tail), sizeof(tail));
            if (head || tail) {
                worker_error(w, "thread %d: __GFP_ZERO block of order %u not zeroed (page %u)", w->id,
                             order, i);
                break;
            }
        }
    it.tag = ((uint64_t)w->id << 60) | (++w->seq << 8) | order;
    write_pattern_at(a, it.npages, it.tag);
    if (how == HOW_MOVABLE) {
        struct slot *s = &slots[it.slot];
        pthread_mutex_lock(&s->lock);
        s->page = it.page;
        s->tag = it.tag;
        s->isolated = false;
        pthread_mutex_unlock(&s->lock);
        pa_page_set_movable(it.page, &mov_ops, s);
        it.page = NULL;   /* the slot has it: compaction may move it */
    }
    w->live[w->nlive++] = it;
    w->live_pages += 1UL << order;
    w->allocs++;
    w->by_order[order]++;
}

static void do_free(struct worker *w, uint64_t r)
{
    size_t k = (size_t)((r >> 8) % w->nlive);
    struct item it = w->live[k];
    w->live[k] = w->live[--w->nlive];
    w->live_pages -= 1UL << it.order;
    if ((r >> 40) & 1) {
        free_item(w, &it);
        w->local_frees++;
    } else {
        pass_on(w, &it);
    }
}

static void walk(struct worker *w)
{
    w->walks++;
    if (pa_check_invariants() != 0)
        worker_error(w, "thread %d: invariant walker failed after %lu operations (see stderr)", w->id,
                     w->allocs + w->local_frees + w->remote_frees);
}

static pthread_barrier_t start_line;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&start_line);
    for (unsigned long op = 0; op < w->ops; op++) {
        if ((op & 15) == 0)
            drain_incoming(w);
        if (op % CHECK_EVERY == CHECK_EVERY - 1)
            walk(w);
        uint64_t r = t_rand(&w->seed);
        unsigned int sel = (unsigned int)(r >> 48) % 10000;
        if (sel < 4500) {
            if (w->nlive < MAX_LIVE)
                do_alloc(w, r);
            else
                do_free(w, r);
        } else if (sel < 9300) {
            if (w->nlive)
                do_free(w, r);
            else
                do_alloc(w, r);
        } else if (sel < 9310) {
            const char *p = policies[(r >> 8) % ARRAY_SIZE(policies)];
            if (pa_set_mempolicy_str(p) != 0)
                worker_error(w, "thread %d: pa_set_mempolicy_str(\"%s\"): %s", w->id, p, strerror(errno));
            w->policies++;
        } else if (sel < 9315) {
            int rc = (r >> 8) & 1 ? pa_compact_memory() : pa_compact_node((int)((r >> 9) & 1));
            if (rc != 0)
                worker_error(w, "thread %d: compaction returned %d (%s)", w->id, rc, strerror(errno));
            w->compactions++;
        } else if (sel < 9325) {
            if ((r >> 8) & 3)
                drain_local_pages(NULL);
            else
                drain_all_pages(NULL);
            w->drains++;
        } else if (w->nlive) {
            check_item(w, &w->live[(r >> 8) % w->nlive]);
            w->checks++;
        }
    }
    /* Half of what is left goes to the other thread, half is freed here. */
    for (size_t i = 0; i < w->nlive; i++) {
        if (i & 1) {
            pass_on(w, &w->live[i]);
        } else {
            free_item(w, &w->live[i]);
            w->local_frees++;
        }
    }
    w->nlive = 0;
    w->live_pages = 0;
    drain_incoming(w);
    atomic_store(&w->done, true);
    return NULL;
}

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    ck_assert_msg(errno == 0 && *end == '\0' && v > 0, "%s=\"%s\" is not a positive number", name, s);
    return v;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_two_threads_long)
{
    unsigned long total_ops = env_ulong("PA_STRESS_OPS", DEFAULT_OPS);
    uint64_t seed = env_ulong("PA_STRESS_SEED", DEFAULT_SEED);
    fprintf(stderr, "stress_long: %lu operations on %d threads, seed %#llx "
                    "(PA_STRESS_SEED=%#llx reproduces the run)\n",
            total_ops, NTHREADS, (unsigned long long)seed, (unsigned long long)seed);

    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    for (int i = 0; i < NSLOTS; i++) {
        pthread_mutex_init(&slots[i].lock, NULL);
        free_slots[nfree_slots++] = NSLOTS - 1 - i;
    }
    /* Warm: every zone the GFP kinds reach comes fully online. */
    t_settle(PA_GFP_HIGHUSER_MOVABLE);
    t_settle(PA_GFP_KERNEL);
    t_settle(PA_GFP_DMA);
    unsigned long warm = t_settle(PA_GFP_ATOMIC);
    ck_assert_int_eq(pa_check_invariants(), 0);

    struct queue q[NTHREADS];
    struct worker *w = calloc(NTHREADS, sizeof(*w));
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < NTHREADS; i++) {
        q[i].n = 0;
        pthread_mutex_init(&q[i].lock, NULL);
    }
    for (int i = 0; i < NTHREADS; i++) {
        w[i].id = i + 1;
        w[i].seed = seed * (uint64_t)(2 * i + 1) + 0x9e3779b97f4a7c15ULL;
        w[i].ops = total_ops / NTHREADS + (i == 0 ? total_ops % NTHREADS : 0);
        w[i].in = &q[i];
        w[i].out = &q[(i + 1) % NTHREADS];
        w[i].peer = &w[(i + 1) % NTHREADS];
    }
    double t0 = now_seconds();
    pthread_t th[NTHREADS];
    pthread_barrier_init(&start_line, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    double secs = now_seconds() - t0;

    /* Whatever one thread queued after the other finished: freed here. */
    struct worker main_w = {.id = 0};
    for (int i = 0; i < NTHREADS; i++) {
        main_w.in = &q[i];
        drain_incoming(&main_w);
    }

    unsigned long allocs = 0, frees = 0, received = main_w.received, passed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        struct worker *x = &w[i];
        fprintf(stderr,
                "thread %d: %lu ops: %lu allocs (%lu NULL), %lu local frees, %lu passed on, %lu received, "
                "%lu checks, %lu walks, %lu compactions, %lu drains, %lu policy changes\n",
                x->id, x->ops, x->allocs, x->fails, x->local_frees, x->remote_frees, x->received, x->checks,
                x->walks, x->compactions, x->drains, x->policies);
        fprintf(stderr, "  allocations by order:");
        for (int o = 0; o <= PA_MAX_ORDER; o++)
            fprintf(stderr, " %lu", x->by_order[o]);
        fprintf(stderr, "\n");
        allocs += x->allocs;
        frees += x->local_frees;
        passed += x->remote_frees;
        received += x->received;
    }
    fprintf(stderr, "movable: %lu isolated, %lu migrated, %lu put back; %.1f s (%.0f ns per operation)\n",
            atomic_load(&mig_isolated), atomic_load(&mig_moved), atomic_load(&mig_putback), secs,
            secs * 1e9 / (double)total_ops);

    ck_assert_msg(main_w.first_error[0] == '\0', "%s", main_w.first_error);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_msg(w[i].errors == 0, "%lu errors, the first: %s", w[i].errors, w[i].first_error);
    ck_assert_uint_eq(atomic_load(&mig_violations), 0);
    ck_assert_uint_eq(allocs, frees + passed);
    ck_assert_uint_eq(received, passed);
    ck_assert_int_eq(nfree_slots, NSLOTS);
    /* the run did what it claims: most requests served, every order reached */
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_uint_gt(w[i].allocs, w[i].ops / 4);
        ck_assert_uint_gt(w[i].remote_frees, w[i].ops / 16);
        ck_assert_uint_gt(w[i].walks + 1, w[i].ops / CHECK_EVERY);
    }
    if (total_ops >= 1000000)
        for (int o = 0; o <= PA_MAX_ORDER; o++)
            ck_assert_msg(w[0].by_order[o] + w[1].by_order[o] > 0, "no allocation of order %d succeeded", o);

    /* Everything is back: the walker is happy and all memory usable again. */
    ck_assert_int_eq(pa_check_invariants(), 0);
    unsigned long now = t_nr_free_settled();
    ck_assert_msg(now == warm, "nr_free_pages %lu after the run, %lu warm (%+ld)", now, warm,
                  (long)now - (long)warm);
    ck_assert_uint_eq(t_settle(PA_GFP_ATOMIC), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);
    free(w);
}
END_TEST

static Suite *stress_long_suite(void)
{
    Suite *s = suite_create("stress_long");
    /* a bound against hangs only: TSan runs this ~10x slower than normal */
    TCase *tc = t_tcase(s, "threads", 3000);
    tcase_add_test(tc, test_two_threads_long);
    return s;
}

int main(void)
{
    return t_run_suite(stress_long_suite());
}

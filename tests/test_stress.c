/* SPDX-License-Identifier: MIT */
/*
 * Two threads, 10^5 operations each: random orders 0..6 and GFP kinds,
 * half of the blocks freed by the thread that allocated them, half passed
 * to the other thread and freed there (cross-thread frees through the
 * per-CPU / per-thread lists).  Every block carries a pattern checked
 * before it is freed, which catches a block handed out twice.  At the end
 * the invariants hold and every page is back.
 */
#include "pa_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "internal.h"

#define OPS_PER_THREAD 100000
#define MAX_LIVE 384 /* blocks held per thread: near the node's size */
#define MAX_STRESS_ORDER 6

struct item {
    struct pa_page *page;
    unsigned int order;
    uint64_t tag;
};

struct queue {
    pthread_mutex_t lock;
    struct item *v;
    size_t n, cap;
};

struct worker {
    int id;
    uint64_t seed;
    struct queue *in, *out;
    struct worker *peer;
    atomic_bool loop_done;   /* its random operations are over */
    atomic_bool done;
    struct item live[MAX_LIVE];
    size_t nlive;
    unsigned long seq;
    /* results, read by the main thread after join */
    unsigned long allocs, fails, local_frees, remote_frees, received;
    unsigned long bad_errno, bad_align, bad_pattern, bad_zone;
    unsigned long fails_by[3][MAX_STRESS_ORDER + 1]; /* [gfp kind][order] */
    unsigned long free_at_first_fail, live_pages_at_first_fail, first_fail_op, queued_at_first_fail;
    char first_error[256];
};

static const pa_gfp_t stress_gfps[] = {PA_GFP_KERNEL, PA_GFP_HIGHUSER_MOVABLE, PA_GFP_ATOMIC};

/* Backpressure: a receiver that falls behind (descheduled on a small
 * machine) must not hold the whole node in its queue. */
#define MAX_QUEUED 256

static bool queue_try_push(struct queue *q, struct item it)
{
    pthread_mutex_lock(&q->lock);
    bool full = q->n >= MAX_QUEUED;
    pthread_mutex_unlock(&q->lock);
    if (full)
        return false;
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->v = realloc(q->v, q->cap * sizeof(*q->v));
        if (!q->v)
            abort();
    }
    q->v[q->n++] = it;
    pthread_mutex_unlock(&q->lock);
    return true;
}

static void queue_push(struct queue *q, struct item it)
{
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->v = realloc(q->v, q->cap * sizeof(*q->v));
        if (!q->v)
            abort();
    }
    q->v[q->n++] = it;
    pthread_mutex_unlock(&q->lock);
}

/* Take everything queued (at most cap items) into out; returns how many. */
static size_t queue_take(struct queue *q, struct item *out, size_t cap)
{
    pthread_mutex_lock(&q->lock);
    size_t n = PA_MIN(q->n, cap);
    q->n -= n;
    if (n)   /* q->v is NULL until the first push: memcpy wants a pointer */
        memcpy(out, q->v + q->n, n * sizeof(*out));
    pthread_mutex_unlock(&q->lock);
    return n;
}

static void write_pattern(const struct item *it)
{
    char *a = pa_page_address(it->page);
    for (unsigned long i = 0; i < (1UL << it->order); i++) {
        uint64_t v = it->tag ^ (i * 0x9e3779b97f4a7c15ULL);
        memcpy(a + i * T_PAGE, &v, sizeof(v));
        v = ~v;
        memcpy(a + i * T_PAGE + T_PAGE - sizeof(v), &v, sizeof(v));
        memcpy(a + i * T_PAGE + T_PAGE / 2, &it->tag, sizeof(it->tag));
    }
}

static void worker_error(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void worker_error(struct worker *w, const char *fmt, ...)
{
    if (w->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
    va_end(ap);
}

static bool check_pattern(struct worker *w, const struct item *it)
{
    const char *a = pa_page_address(it->page);
    for (unsigned long i = 0; i < (1UL << it->order); i++) {
        uint64_t want = it->tag ^ (i * 0x9e3779b97f4a7c15ULL), got, got2, mid;
        memcpy(&got, a + i * T_PAGE, sizeof(got));
        memcpy(&got2, a + i * T_PAGE + T_PAGE - sizeof(got2), sizeof(got2));
        memcpy(&mid, a + i * T_PAGE + T_PAGE / 2, sizeof(mid));
        if (got != want || got2 != ~want || mid != it->tag) {
            w->bad_pattern++;
            worker_error(w, "thread %d: pattern of pfn %lu (order %u, page %lu) overwritten: "
                            "tag %#llx, found %#llx",
                         w->id, pa_page_to_pfn(it->page), it->order, i,
                         (unsigned long long)it->tag, (unsigned long long)(got ^ (i * 0x9e3779b97f4a7c15ULL)));
            return false;
        }
    }
    return true;
}

static void free_item(struct worker *w, const struct item *it)
{
    check_pattern(w, it);
    pa_free_pages(it->page, it->order);
}

static void drain_incoming(struct worker *w)
{
    struct item buf[64];
    size_t n;
    while ((n = queue_take(w->in, buf, 64)) > 0) {
        for (size_t i = 0; i < n; i++)
            free_item(w, &buf[i]);
        w->received += n;
    }
}

/* Hand a block to the other thread; while its queue is full, free what
 * comes our way (so two waiting threads cannot deadlock) and let it run. */
static void pass_on(struct worker *w, struct item it)
{
    while (!queue_try_push(w->out, it)) {
        if (atomic_load(&w->peer->done)) {
            free_item(w, &it);
            w->local_frees++;
            return;
        }
        drain_incoming(w);
        sched_yield();
    }
    w->remote_frees++;
}

static pthread_barrier_t start_line;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&start_line);
    for (int op = 0; op < OPS_PER_THREAD; op++) {
        if ((op & 15) == 0)
            drain_incoming(w);
        uint64_t r = t_rand(&w->seed);
        bool do_alloc = w->nlive == 0 || (w->nlive < MAX_LIVE && (r & 1));
        if (do_alloc) {
            unsigned int order = (unsigned int)((r >> 8) % (MAX_STRESS_ORDER + 1));
            unsigned int kind = (unsigned int)((r >> 16) % 3);
            pa_gfp_t gfp = stress_gfps[kind] | PA_GFP_NOWARN;
            errno = 0;
            struct pa_page *p = pa_alloc_pages(gfp, order);
            if (!p) {
                drain_incoming(w);
                w->fails++;
                w->fails_by[kind][order]++;
                if (w->fails == 1) {
                    pa_vmstat_get("nr_free_pages", &w->free_at_first_fail);
                    for (size_t i = 0; i < w->nlive; i++)
                        w->live_pages_at_first_fail += 1UL << w->live[i].order;
                    w->first_fail_op = (unsigned long)op;
                    for (int qi = 0; qi < 2; qi++) {
                        struct queue *q = qi ? w->out : w->in;
                        pthread_mutex_lock(&q->lock);
                        for (size_t i = 0; i < q->n; i++)
                            w->queued_at_first_fail += 1UL << q->v[i].order;
                        pthread_mutex_unlock(&q->lock);
                    }
                }
                if (errno != ENOMEM) {
                    w->bad_errno++;
                    worker_error(w, "thread %d: NULL with errno %d", w->id, errno);
                }
                continue;
            }
            if ((uintptr_t)pa_page_address(p) % (T_PAGE << order) != 0) {
                w->bad_align++;
                worker_error(w, "thread %d: order %u at %p", w->id, order, pa_page_address(p));
            }
            enum pa_zone_type zt = pa_page_zonenum(p);
            if (zt == PA_ZONE_MOVABLE && (gfp & PA_GFP_MOVABLE) == 0) {
                w->bad_zone++;
                worker_error(w, "thread %d: gfp %#x got ZONE_MOVABLE", w->id, gfp);
            }
            struct item it = {p, order, ((uint64_t)w->id << 56) | (++w->seq << 8) | order};
            write_pattern(&it);
            w->live[w->nlive++] = it;
            w->allocs++;
        } else {
            size_t k = (size_t)((r >> 8) % w->nlive);
            struct item it = w->live[k];
            w->live[k] = w->live[--w->nlive];
            if ((r >> 20) & 1) {
                free_item(w, &it);
                w->local_frees++;
            } else {
                pass_on(w, it); /* the other thread frees it */
            }
        }
    }
    /* A thread that finishes first keeps taking what the other passes on
     * until the other finishes too: otherwise, on a machine that runs the
     * two mostly one after the other (2 CPUs, a sanitizer, another test
     * beside), the later one would find its peer gone and free its hand-offs
     * itself, and the cross-thread frees this test is about would not
     * happen. */
    atomic_store(&w->loop_done, true);
    while (!atomic_load(&w->peer->loop_done)) {
        drain_incoming(w);
        sched_yield();
    }
    /* Half of what is left goes to the other thread, half is freed here. */
    for (size_t i = 0; i < w->nlive; i++) {
        if (i & 1) {
            queue_push(w->out, w->live[i]);
            w->remote_frees++;
        } else {
            free_item(w, &w->live[i]);
            w->local_frees++;
        }
    }
    w->nlive = 0;
    drain_incoming(w);
    atomic_store(&w->done, true);
    return NULL;
}

/* The per-CPU lists in each of their modes, and once with the full
 * bad-page checks on (which abort on anything odd). */
static const struct {
    const char *pcp, *debug;
} variants[] = {
    {"cpu", NULL},
    {"thread", NULL},
    {"off", NULL},
    {"cpu", "checks"},
};

START_TEST(test_two_threads_cross_frees)
{
    t_env_reset();
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    t_setenv("PAGEALLOC_PCP", variants[_i].pcp);
    if (variants[_i].debug)
        t_setenv("PAGEALLOC_DEBUG", variants[_i].debug);
    fprintf(stderr, "variant: PAGEALLOC_PCP=%s PAGEALLOC_DEBUG=%s\n", variants[_i].pcp,
            variants[_i].debug ? variants[_i].debug : "");
    ck_assert_int_eq(pa_init(NULL), 0);
    /* Warm: every zone the three GFP kinds reach comes fully online. */
    t_settle(PA_GFP_HIGHUSER_MOVABLE);
    t_settle(PA_GFP_KERNEL);
    unsigned long warm = t_settle(PA_GFP_ATOMIC);
    ck_assert_int_eq(pa_check_invariants(), 0);
    unsigned long alloc0 = t_vmstat("pgalloc_normal") + t_vmstat("pgalloc_movable") +
                           t_vmstat("pgalloc_dma");
    unsigned long free0 = t_vmstat("pgfree");

    struct queue q[2];
    struct worker *w = calloc(2, sizeof(*w));
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 2; i++) {
        memset(&q[i], 0, sizeof(q[i]));
        pthread_mutex_init(&q[i].lock, NULL);
    }
    for (int i = 0; i < 2; i++) {
        w[i].id = i + 1;
        w[i].seed = 0x1234567ULL * (uint64_t)(i + 1) + 99;
        w[i].in = &q[i];
        w[i].out = &q[1 - i];
        w[i].peer = &w[1 - i];
    }
    pthread_t th[2];
    pthread_barrier_init(&start_line, NULL, 2);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);

    /* Whatever one thread queued after the other finished: freed here. */
    struct worker main_w = {.id = 0};
    for (int i = 0; i < 2; i++) {
        main_w.in = &q[i];
        drain_incoming(&main_w);
    }
    ck_assert_msg(main_w.first_error[0] == '\0', "%s", main_w.first_error);

    unsigned long allocs = 0, frees = 0;
    for (int i = 0; i < 2; i++) {
        struct worker *x = &w[i];
        fprintf(stderr,
                "thread %d: %lu allocs, %lu NULL, %lu local frees, %lu passed on, %lu received\n",
                x->id, x->allocs, x->fails, x->local_frees, x->remote_frees, x->received);
        if (x->fails)
            fprintf(stderr, "  first NULL at op %lu: nr_free_pages %lu, %lu pages live in this thread, "
                            "%lu queued\n",
                    x->first_fail_op, x->free_at_first_fail, x->live_pages_at_first_fail,
                    x->queued_at_first_fail);
        if (x->fails) {
            static const char *const kinds[] = {"KERNEL", "HIGHUSER_MOVABLE", "ATOMIC"};
            for (int k = 0; k < 3; k++) {
                fprintf(stderr, "  NULL for %-16s by order:", kinds[k]);
                for (int o = 0; o <= MAX_STRESS_ORDER; o++)
                    fprintf(stderr, " %lu", x->fails_by[k][o]);
                fprintf(stderr, "\n");
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        struct worker *x = &w[i];
        ck_assert_msg(x->first_error[0] == '\0', "%s", x->first_error);
        ck_assert_uint_eq(x->bad_pattern + x->bad_errno + x->bad_align + x->bad_zone, 0);
        allocs += x->allocs;
        frees += x->local_frees + x->remote_frees;
    }
    ck_assert_uint_eq(allocs, frees);
    ck_assert_uint_eq(w[0].received + w[1].received + main_w.received,
                      w[0].remote_frees + w[1].remote_frees);

    ck_assert_int_eq(pa_check_invariants(), 0);
    unsigned long now = t_nr_free_settled();
    ck_assert_msg(now == warm, "nr_free_pages %lu after the run, %lu warm (%+ld)", now, warm,
                  (long)now - (long)warm);
    /* Counters of exited threads are kept: every allocation and free counted. */
    unsigned long alloc1 = t_vmstat("pgalloc_normal") + t_vmstat("pgalloc_movable") +
                           t_vmstat("pgalloc_dma");
    ck_assert_uint_eq(alloc1 - alloc0, t_vmstat("pgfree") - free0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* Memory runs short only now and then: each thread holds at most
     * MAX_LIVE blocks of 18 pages on average (~14000 pages for both, of
     * 16384 in the node, plus what is queued), so most allocations succeed
     * while the NULL path still gets exercised under concurrency. */
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_gt(w[i].allocs, OPS_PER_THREAD / 4);
        ck_assert_uint_gt(w[i].remote_frees, OPS_PER_THREAD / 16);
        ck_assert_uint_gt(w[i].local_frees, OPS_PER_THREAD / 16);
    }
    /* And the memory is all usable again. */
    ck_assert_uint_eq(t_settle(PA_GFP_ATOMIC), warm);
    free(w);
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = t_tcase(s, "threads", 280);
    tcase_add_loop_test(tc, test_two_threads_cross_frees, 0,
                        (int)(sizeof(variants) / sizeof(variants[0])));
    return s;
}

int main(void)
{
    return t_run_suite(stress_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * The OOM killer (src/oom.c): client registration, badness and
 * oom_score_adj, the constraint of the failing request (nodemask, memory
 * cgroup), the report, one kill at a time, the bounded wait for the
 * victim's memory (the reaper), panic_on_oom and the oom_kill counter.
 * White-box: out_of_memory() is called directly, as the slow path does.
 */
#include "pa_test.h"

#include <pthread.h>
#include <time.h>

#include "internal.h"

static void setup(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* A test client: reports `rss`, gives it all back when killed         */
/* ------------------------------------------------------------------ */

enum kill_mode {
    KILL_GIVE_BACK,      /* rss drops to 0 inside kill() */
    KILL_IGNORE,         /* nothing comes back: the reaper must give up */
    KILL_SLOW,           /* sleeps `delay_ms` inside kill(), then gives back */
    KILL_UNREGISTER,     /* unregisters itself inside kill() */
    KILL_REGISTER_OTHER, /* registers another client inside kill() (registry re-entry) */
};

struct tclient {
    struct pa_oom_client c;
    _Atomic unsigned long rss;
    atomic_int kills;
    atomic_int in_kill;
    enum kill_mode mode;
    int delay_ms;
    struct tclient *other;   /* KILL_REGISTER_OTHER */
};

static unsigned long tc_rss(struct pa_oom_client *c)
{
    struct tclient *t = c->private_data;
    return atomic_load(&t->rss);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tc_kill(struct pa_oom_client *c)
{
    struct tclient *t = c->private_data;
    atomic_fetch_add(&t->kills, 1);
    atomic_store(&t->in_kill, 1);
    switch (t->mode) {
    case KILL_GIVE_BACK:
        atomic_store(&t->rss, 0);
        break;
    case KILL_IGNORE:
        break;
    case KILL_SLOW:
        sleep_ms(t->delay_ms);
        atomic_store(&t->rss, 0);
        break;
    case KILL_UNREGISTER:
        pa_oom_unregister(c);
        break;
    case KILL_REGISTER_OTHER:
        pa_oom_register(&t->other->c);
        atomic_store(&t->rss, 0);
        break;
    }
    atomic_store(&t->in_kill, 0);
}

static void tc_init(struct tclient *t, const char *name, unsigned long rss, int adj)
{
    memset(t, 0, sizeof(*t));
    t->c.name = name;
    t->c.rss_pages = tc_rss;
    t->c.kill = tc_kill;
    t->c.oom_score_adj = adj;
    t->c.private_data = t;
    atomic_store(&t->rss, rss);
    t->mode = KILL_GIVE_BACK;
}

static void tc_register(struct tclient *t)
{
    ck_assert_msg(pa_oom_register(&t->c) == 0, "register %s: errno %d", t->c.name, errno);
}

static struct oom_control oc_global(void)
{
    struct oom_control oc = {
        .zonelist = node_zonelist(0, PA_GFP_KERNEL),
        .nodemask = NULL,
        .memcg = NULL,
        .gfp_mask = PA_GFP_KERNEL,
        .order = 0,
    };
    return oc;
}

static unsigned long all_managed_pages(void)
{
    unsigned long n = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int i = 0; i < MAX_NR_ZONES; i++)
            if (populated_zone(&NODE_DATA(nid)->node_zones[i]))
                n += NODE_DATA(nid)->node_zones[i].managed_pages;
    return n;
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_register_einval)
{
    setup();
    struct tclient a;
    tc_init(&a, "a", 10, 0);

    errno = 0;
    ck_assert_int_eq(pa_oom_register(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);

    struct tclient bad = a;
    bad.c.rss_pages = NULL;
    errno = 0;
    ck_assert_int_eq(pa_oom_register(&bad.c), -1);
    ck_assert_int_eq(errno, EINVAL);

    bad = a;
    bad.c.kill = NULL;
    errno = 0;
    ck_assert_int_eq(pa_oom_register(&bad.c), -1);
    ck_assert_int_eq(errno, EINVAL);

    int bad_adj[] = {-1001, 1001, -100000, 100000};
    for (size_t i = 0; i < ARRAY_SIZE(bad_adj); i++) {
        bad = a;
        bad.c.oom_score_adj = bad_adj[i];
        errno = 0;
        ck_assert_msg(pa_oom_register(&bad.c) == -1 && errno == EINVAL, "adj %d accepted", bad_adj[i]);
    }
    /* the bounds themselves are fine */
    bad = a;
    bad.c.oom_score_adj = -1000;
    ck_assert_int_eq(pa_oom_register(&bad.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&bad.c), 0);
    bad.c.oom_score_adj = 1000;
    ck_assert_int_eq(pa_oom_register(&bad.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&bad.c), 0);

    /* twice */
    tc_register(&a);
    errno = 0;
    ck_assert_int_eq(pa_oom_register(&a.c), -1);
    ck_assert_int_eq(errno, EINVAL);

    /* unregister: unknown, NULL, twice */
    struct tclient never;
    tc_init(&never, "never", 1, 0);
    errno = 0;
    ck_assert_int_eq(pa_oom_unregister(&never.c), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_oom_unregister(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pa_oom_unregister(&a.c), 0);
    errno = 0;
    ck_assert_int_eq(pa_oom_unregister(&a.c), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* and again after unregistering */
    ck_assert_int_eq(pa_oom_register(&a.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&a.c), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Badness                                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_picks_largest)
{
    setup();
    struct tclient a, b, c;
    tc_init(&a, "small", 100, 0);
    tc_init(&b, "big", 500, 0);
    tc_init(&c, "medium", 300, 0);
    tc_register(&a);
    tc_register(&b);
    tc_register(&c);
    unsigned long kills0 = t_vmstat("oom_kill");

    struct oom_control oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &b.c);
    ck_assert_int_eq(oc.chosen_points, 500);
    ck_assert_uint_eq(oc.totalpages, all_managed_pages());
    ck_assert_int_eq(atomic_load(&b.kills), 1);
    ck_assert_int_eq(atomic_load(&a.kills), 0);
    ck_assert_int_eq(atomic_load(&c.kills), 0);
    ck_assert_uint_eq(t_vmstat("oom_kill"), kills0 + 1);

    /* the big one gave everything back: the next OOM takes the next largest */
    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &c.c);
    ck_assert_int_eq(atomic_load(&c.kills), 1);
    ck_assert_int_eq(atomic_load(&b.kills), 1);
    ck_assert_uint_eq(t_vmstat("oom_kill"), kills0 + 2);

    /* a client that grew back is eligible again */
    atomic_store(&b.rss, 1000);
    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &b.c);
    ck_assert_int_eq(atomic_load(&b.kills), 2);

    ck_assert_int_eq(pa_oom_unregister(&a.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&b.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&c.c), 0);
}
END_TEST

START_TEST(test_adj_plus_1000_preferred)
{
    setup();
    struct tclient a, b;
    tc_init(&a, "small-preferred", 100, 1000);
    tc_init(&b, "big", 500, 0);
    tc_register(&a);
    tc_register(&b);
    struct oom_control oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &a.c);
    /* rss + adj * totalpages / 1000 */
    ck_assert_int_eq(oc.chosen_points, (long)(100 + oc.totalpages));
    ck_assert_int_eq(atomic_load(&a.kills), 1);
    ck_assert_int_eq(atomic_load(&b.kills), 0);
}
END_TEST

START_TEST(test_adj_partial)
{
    setup();
    /* adj scales with totalpages: +500 is half of memory */
    unsigned long total = all_managed_pages();
    struct tclient a, b;
    tc_init(&a, "a", 100, 500);
    tc_init(&b, "b", 100 + total / 2 - 10, 0);
    tc_register(&a);
    tc_register(&b);
    struct oom_control oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &a.c);
    ck_assert_int_eq(oc.chosen_points, (long)(100 + 500 * total / 1000));
}
END_TEST

START_TEST(test_adj_minus_1000_never)
{
    setup();
    struct tclient a, b, c;
    tc_init(&a, "protected-huge", 50000, -1000);
    tc_init(&b, "small", 100, 0);
    tc_init(&c, "medium", 300, 0);
    tc_register(&a);
    tc_register(&b);
    tc_register(&c);
    for (int round = 0; round < 2; round++) {
        struct oom_control oc = oc_global();
        ck_assert(out_of_memory(&oc));
        ck_assert_ptr_eq(oc.chosen, round == 0 ? &c.c : &b.c);
    }
    /* only the protected one is left with memory */
    struct oom_control oc = oc_global();
    ck_assert(!out_of_memory(&oc));
    ck_assert_ptr_null(oc.chosen);
    ck_assert_int_eq(atomic_load(&a.kills), 0);
}
END_TEST

START_TEST(test_all_unkillable)
{
    setup();
    unsigned long kills0 = t_vmstat("oom_kill");
    /* no client at all */
    struct oom_control oc = oc_global();
    ck_assert(!out_of_memory(&oc));

    struct tclient a, b;
    tc_init(&a, "a", 1000, -1000);
    tc_init(&b, "b", 2000, -1000);
    tc_register(&a);
    tc_register(&b);
    struct t_capture cap;
    t_capture_begin(&cap);
    oc = oc_global();
    bool r = out_of_memory(&oc);
    char *text = t_capture_end(&cap);
    ck_assert(!r);
    ck_assert_ptr_null(oc.chosen);
    ck_assert_int_eq(atomic_load(&a.kills) + atomic_load(&b.kills), 0);
    ck_assert_uint_eq(t_vmstat("oom_kill"), kills0);
    ck_assert_msg(strstr(text, "no killable clients") != NULL, "%s", text);
    free(text);
}
END_TEST

START_TEST(test_negative_adj_still_killable)
{
    setup();
    /* points below 1 count as 1: an eligible client is never 0 */
    struct tclient a;
    tc_init(&a, "shy", 10, -999);
    tc_register(&a);
    struct oom_control oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &a.c);
    ck_assert_int_eq(oc.chosen_points, 1);
}
END_TEST

START_TEST(test_empty_client_not_chosen)
{
    setup();
    /* nothing to give back (the kernel's task without an mm): not a victim,
     * whatever its adj */
    struct tclient a, b;
    tc_init(&a, "empty", 0, 1000);
    tc_init(&b, "some", 5, 0);
    tc_register(&a);
    tc_register(&b);
    struct oom_control oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &b.c);
    oc = oc_global();
    ck_assert(!out_of_memory(&oc));
    ck_assert_int_eq(atomic_load(&a.kills), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

static struct tclient rep_a, rep_b, rep_c;

static void report_child(void *arg)
{
    (void)arg;
    t_env_reset();
    t_child_check(pa_init(NULL) == 0);
    tc_init(&rep_a, "cache-small", 100, 0);
    tc_init(&rep_b, "cache-big", 500, 0);
    tc_init(&rep_c, "cache-adj", 300, -200);
    t_child_check(pa_oom_register(&rep_a.c) == 0);
    t_child_check(pa_oom_register(&rep_b.c) == 0);
    t_child_check(pa_oom_register(&rep_c.c) == 0);
    struct oom_control oc = oc_global();
    oc.order = 3;
    t_child_check(out_of_memory(&oc));
    t_child_check(oc.chosen == &rep_b.c);
}

START_TEST(test_report)
{
    struct t_child ch;
    t_run_child(report_child, NULL, &ch);
    char st[64];
    ck_assert_msg(t_exited_ok(&ch), "child %s\n%s", t_describe_status(&ch, st, sizeof(st)), ch.err);
    const char *e = ch.err;
    ck_assert_msg(strstr(e, "invoked oom-killer: gfp_mask=0x") != NULL, "%s", e);
    ck_assert_msg(strstr(e, "(PA_GFP_KERNEL), order=3, oom_score_adj=") != NULL, "%s", e);
    ck_assert_msg(strstr(e, "[  pid  ]") != NULL, "%s", e);
    /* each client with its rss and adj, in the table's columns */
    char *l = t_line_with(e, "cache-small");
    ck_assert_ptr_nonnull(l);
    ck_assert_msg(strstr(l, " 100 ") && strstr(l, " 0 cache-small"), "line: %s", l);
    free(l);
    l = t_line_with(e, " cache-adj");
    ck_assert_ptr_nonnull(l);
    ck_assert_msg(strstr(l, " 300 ") && strstr(l, " -200 cache-adj"), "line: %s", l);
    free(l);
    l = t_line_with(e, " 0 cache-big");
    ck_assert_ptr_nonnull(l);
    ck_assert_msg(strstr(l, " 500 ") != NULL, "line: %s", l);
    free(l);
    ck_assert_msg(strstr(e, "oom-kill:constraint=CONSTRAINT_NONE") != NULL, "%s", e);
    l = t_line_with(e, "Out of memory: Killed client");
    ck_assert_msg(l != NULL, "%s", e);
    ck_assert_msg(strstr(l, "(cache-big)") && strstr(l, "rss:2000kB") && strstr(l, "oom_score_adj:0"),
                  "line: %s", l);
    free(l);
    free(ch.err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* panic_on_oom                                                        */
/* ------------------------------------------------------------------ */

static void panic_child(void *arg)
{
    (void)arg;
    t_env_reset();
    setenv("PAGEALLOC_PANIC_ON_OOM", "1", 1);
    t_child_check(pa_init(NULL) == 0);
    tc_init(&rep_a, "victim-to-be", 700, 0);
    t_child_check(pa_oom_register(&rep_a.c) == 0);
    struct oom_control oc = oc_global();
    out_of_memory(&oc);
    fprintf(stderr, "CHILD: survived an OOM with panic_on_oom\n");
    _exit(97);
}

START_TEST(test_panic_on_oom)
{
    struct t_child ch;
    t_run_child(panic_child, NULL, &ch);
    char st[64];
    ck_assert_msg(t_aborted(&ch), "child %s, want SIGABRT\n%s", t_describe_status(&ch, st, sizeof(st)), ch.err);
    ck_assert_msg(strstr(ch.err, "Kernel panic - not syncing: Out of memory") != NULL, "%s", ch.err);
    ck_assert_msg(strstr(ch.err, "invoked oom-killer") != NULL, "%s", ch.err);
    ck_assert_msg(strstr(ch.err, "victim-to-be") != NULL, "the report lists no clients: %s", ch.err);
    /* the panic comes instead of the kill */
    ck_assert_msg(strstr(ch.err, "Killed client") == NULL, "%s", ch.err);
    free(ch.err);
}
END_TEST

/* panic_on_oom as the sysctl's 1: a constrained OOM kills instead */
static struct pa_memcg *panic_memcg;
static void panic_memcg_child(void *arg)
{
    (void)arg;
    t_env_reset();
    setenv("PAGEALLOC_PANIC_ON_OOM", "1", 1);
    t_child_check(pa_init(NULL) == 0);
    panic_memcg = pa_memcg_create("box", 1 << 20);
    t_child_check(panic_memcg != NULL);
    t_child_check(pa_memcg_attach(panic_memcg) == 0);
    tc_init(&rep_a, "boxed", 70, 0);
    t_child_check(pa_oom_register(&rep_a.c) == 0);
    struct oom_control oc = oc_global();
    oc.memcg = panic_memcg;
    t_child_check(out_of_memory(&oc));
    t_child_check(atomic_load(&rep_a.kills) == 1);
}

START_TEST(test_panic_on_oom_spares_memcg)
{
    struct t_child ch;
    t_run_child(panic_memcg_child, NULL, &ch);
    char st[64];
    ck_assert_msg(t_exited_ok(&ch), "child %s\n%s", t_describe_status(&ch, st, sizeof(st)), ch.err);
    ck_assert_msg(strstr(ch.err, "Memory cgroup out of memory: Killed client") != NULL, "%s", ch.err);
    ck_assert_msg(strstr(ch.err, "oom_memcg=box") != NULL, "%s", ch.err);
    free(ch.err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One kill at a time                                                  */
/* ------------------------------------------------------------------ */

struct oom_thread_arg {
    bool result;
    double took;
};

static void *oom_thread(void *p)
{
    struct oom_thread_arg *a = p;
    struct oom_control oc = oc_global();
    double t0 = now_s();
    a->result = out_of_memory(&oc);
    a->took = now_s() - t0;
    return NULL;
}

START_TEST(test_one_kill_at_a_time)
{
    setup();
    struct tclient a, b;
    tc_init(&a, "slow-big", 5000, 0);
    a.mode = KILL_SLOW;
    a.delay_ms = 400;
    tc_init(&b, "other", 4000, 0);
    tc_register(&a);
    tc_register(&b);
    unsigned long kills0 = t_vmstat("oom_kill");

    pthread_t t1, t2;
    struct oom_thread_arg r1 = {0}, r2 = {0};
    ck_assert_int_eq(pthread_create(&t1, NULL, oom_thread, &r1), 0);
    /* the second caller arrives while the first kill is in progress */
    double deadline = now_s() + 10;
    while (!atomic_load(&a.in_kill) && now_s() < deadline)
        sleep_ms(1);
    ck_assert_msg(atomic_load(&a.in_kill), "the first OOM never called kill()");
    ck_assert_int_eq(pthread_create(&t2, NULL, oom_thread, &r2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);

    ck_assert(r1.result);
    ck_assert(r2.result);   /* "oom_lock held: retry the allocation" */
    ck_assert_int_eq(atomic_load(&a.kills), 1);
    ck_assert_int_eq(atomic_load(&b.kills), 0);
    ck_assert_uint_eq(t_vmstat("oom_kill"), kills0 + 1);
    /* the second waited for the first kill rather than returning at once */
    ck_assert_msg(r2.took > 0.1, "second caller returned after %.3f s", r2.took);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The reaper                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_reaper_bounded_wait)
{
    setup();
    struct tclient a, b;
    tc_init(&a, "stubborn", 5000, 0);
    a.mode = KILL_IGNORE;
    tc_init(&b, "next", 100, 0);
    tc_register(&a);
    tc_register(&b);

    struct t_capture cap;
    t_capture_begin(&cap);
    struct oom_control oc = oc_global();
    double t0 = now_s();
    bool r = out_of_memory(&oc);
    double took = now_s() - t0;
    char *text = t_capture_end(&cap);
    ck_assert(r);
    ck_assert_ptr_eq(oc.chosen, &a.c);
    /* bounded: about a second, certainly not forever */
    ck_assert_msg(took >= 0.5 && took < 5.0, "the reaper waited %.3f s", took);
    ck_assert_msg(strstr(text, "oom_reaper") != NULL, "%s", text);
    free(text);

    /* it did not give its memory back: it is not chosen again (MMF_OOM_SKIP) */
    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &b.c);
    ck_assert_int_eq(atomic_load(&a.kills), 1);
}
END_TEST

START_TEST(test_reaper_returns_when_memory_is_back)
{
    setup();
    struct tclient a;
    tc_init(&a, "quick", 5000, 0);
    tc_register(&a);
    struct oom_control oc = oc_global();
    double t0 = now_s();
    ck_assert(out_of_memory(&oc));
    double took = now_s() - t0;
    ck_assert_msg(took < 0.5, "waited %.3f s for memory that came back at once", took);
}
END_TEST

/* A client that holds real blocks and frees them from another thread a
 * little after kill(), its rss count unchanged: the reaper sees the free
 * pages rise. */
struct holder {
    struct tclient t;
    struct pa_page *blocks[8];
    int n;
    pthread_t thr;
};

static void *holder_release(void *p)
{
    struct holder *h = p;
    sleep_ms(100);
    for (int i = 0; i < h->n; i++)
        pa_free_pages(h->blocks[i], PA_MAX_ORDER);
    return NULL;
}

static void holder_kill(struct pa_oom_client *c)
{
    struct holder *h = (struct holder *)c->private_data;
    atomic_fetch_add(&h->t.kills, 1);
    pthread_create(&h->thr, NULL, holder_release, h);
}

START_TEST(test_reaper_sees_free_pages)
{
    setup();
    static struct holder h;
    tc_init(&h.t, "holder", 0, 0);
    h.t.c.kill = holder_kill;
    h.t.c.private_data = &h;
    h.n = 4;
    for (int i = 0; i < h.n; i++) {
        h.blocks[i] = pa_alloc_pages(PA_GFP_KERNEL, PA_MAX_ORDER);
        ck_assert_ptr_nonnull(h.blocks[i]);
    }
    atomic_store(&h.t.rss, (unsigned long)h.n << PA_MAX_ORDER);
    ck_assert_int_eq(pa_oom_register(&h.t.c), 0);
    /* private_data of the client is the holder, whose first member is the tclient */
    struct oom_control oc = oc_global();
    double t0 = now_s();
    ck_assert(out_of_memory(&oc));
    double took = now_s() - t0;
    pthread_join(h.thr, NULL);
    ck_assert_int_eq(atomic_load(&h.t.kills), 1);
    ck_assert_msg(took >= 0.09 && took < 0.9, "reaper returned after %.3f s", took);
}
END_TEST

START_TEST(test_kill_may_unregister_and_register)
{
    setup();
    struct tclient a, b, late;
    tc_init(&a, "leaves", 5000, 0);
    a.mode = KILL_UNREGISTER;
    tc_init(&b, "registers", 4000, 0);
    b.mode = KILL_REGISTER_OTHER;
    tc_init(&late, "late", 10, 0);
    b.other = &late;
    tc_register(&a);
    tc_register(&b);
    struct oom_control oc = oc_global();
    double t0 = now_s();
    ck_assert(out_of_memory(&oc));
    ck_assert_msg(now_s() - t0 < 0.5, "an unregistered victim is gone: no wait");
    ck_assert_int_eq(atomic_load(&a.kills), 1);
    /* it is no longer registered */
    errno = 0;
    ck_assert_int_eq(pa_oom_unregister(&a.c), -1);
    ck_assert_int_eq(errno, EINVAL);

    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &b.c);
    /* the client registered from inside kill() is there */
    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &late.c);
    ck_assert_int_eq(pa_oom_unregister(&b.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&late.c), 0);
}
END_TEST

/* Unregistering from another thread while the client is being killed does
 * not deadlock, and the reaper stops waiting for it. */
static void *unregister_later(void *p)
{
    struct tclient *t = p;
    while (!atomic_load(&t->in_kill))
        sleep_ms(1);
    pa_oom_unregister(&t->c);
    return NULL;
}

START_TEST(test_unregister_during_kill)
{
    setup();
    struct tclient a;
    tc_init(&a, "victim", 5000, 0);
    a.mode = KILL_SLOW;   /* in kill() for 100 ms, rss stays until then */
    a.delay_ms = 100;
    tc_register(&a);
    pthread_t thr;
    ck_assert_int_eq(pthread_create(&thr, NULL, unregister_later, &a), 0);
    struct oom_control oc = oc_global();
    ck_assert(out_of_memory(&oc));
    pthread_join(thr, NULL);
    ck_assert_int_eq(atomic_load(&a.kills), 1);
    errno = 0;
    ck_assert_int_eq(pa_oom_unregister(&a.c), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Constraints                                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_memcg_constraint)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("oomtest", 64 * T_PAGE);
    ck_assert_ptr_nonnull(m);
    struct tclient global, boxed;
    tc_init(&global, "global-big", 5000, 0);
    tc_register(&global);            /* not attached: a global client */
    ck_assert_int_eq(pa_memcg_attach(m), 0);
    tc_init(&boxed, "boxed-small", 40, 0);
    tc_register(&boxed);             /* registered while attached: the cgroup's */
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);

    /* a memcg OOM looks only at the cgroup's clients; totalpages is its limit */
    struct oom_control oc = oc_global();
    oc.memcg = m;
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &boxed.c);
    ck_assert_uint_eq(oc.totalpages, 64);
    ck_assert_int_eq(atomic_load(&global.kills), 0);
    /* nothing else in the cgroup */
    oc = oc_global();
    oc.memcg = m;
    ck_assert(!out_of_memory(&oc));

    /* a global OOM looks at every client */
    atomic_store(&boxed.rss, 6000);
    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &boxed.c);

    /* a destroyed cgroup's clients become global ones */
    ck_assert_int_eq(pa_oom_unregister(&global.c), 0);
    atomic_store(&boxed.rss, 10);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
    oc = oc_global();
    ck_assert(out_of_memory(&oc));
    ck_assert_ptr_eq(oc.chosen, &boxed.c);
    ck_assert_int_eq(pa_oom_unregister(&boxed.c), 0);
}
END_TEST

START_TEST(test_nodemask_constraint)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    if (pa_num_nodes() < 2)
        return;   /* emulation not possible here */
    unsigned long node0 = 0;
    for (int i = 0; i < MAX_NR_ZONES; i++)
        if (populated_zone(&NODE_DATA(0)->node_zones[i]))
            node0 += NODE_DATA(0)->node_zones[i].managed_pages;

    struct tclient a, b;
    tc_init(&a, "a", 100, 1000);
    tc_init(&b, "b", 300, 0);
    tc_register(&a);
    tc_register(&b);
    pa_nodemask_t mask = {0};
    node_set(0, &mask);
    struct oom_control oc = oc_global();
    oc.nodemask = &mask;
    ck_assert(out_of_memory(&oc));
    /* the scale is the memory of the allowed nodes only; every client is
     * still a candidate (no per-node rss: CONSTRAINT_MEMORY_POLICY) */
    ck_assert_uint_eq(oc.totalpages, node0);
    ck_assert_ptr_eq(oc.chosen, &a.c);
    ck_assert_int_eq(oc.chosen_points, (long)(100 + node0));

    /* a mask of every node is no constraint */
    node_set(1, &mask);
    atomic_store(&a.rss, 100);
    oc = oc_global();
    oc.nodemask = &mask;
    ck_assert(out_of_memory(&oc));
    ck_assert_uint_eq(oc.totalpages, all_managed_pages());
}
END_TEST

static Suite *oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = t_tcase(s, "registry", 30);
    tcase_add_test(tc, test_register_einval);
    tc = t_tcase(s, "badness", 30);
    tcase_add_test(tc, test_picks_largest);
    tcase_add_test(tc, test_adj_plus_1000_preferred);
    tcase_add_test(tc, test_adj_partial);
    tcase_add_test(tc, test_adj_minus_1000_never);
    tcase_add_test(tc, test_all_unkillable);
    tcase_add_test(tc, test_negative_adj_still_killable);
    tcase_add_test(tc, test_empty_client_not_chosen);
    tc = t_tcase(s, "report", 30);
    tcase_add_test(tc, test_report);
    tcase_add_test(tc, test_panic_on_oom);
    tcase_add_test(tc, test_panic_on_oom_spares_memcg);
    tc = t_tcase(s, "kill", 30);
    tcase_add_test(tc, test_one_kill_at_a_time);
    tcase_add_test(tc, test_reaper_bounded_wait);
    tcase_add_test(tc, test_reaper_returns_when_memory_is_back);
    tcase_add_test(tc, test_reaper_sees_free_pages);
    tcase_add_test(tc, test_kill_may_unregister_and_register);
    tcase_add_test(tc, test_unregister_during_kill);
    tc = t_tcase(s, "constraint", 30);
    tcase_add_test(tc, test_memcg_constraint);
    tcase_add_test(tc, test_nodemask_constraint);
    return s;
}

int main(void)
{
    return t_run_suite(oom_suite());
}

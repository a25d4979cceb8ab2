/* SPDX-License-Identifier: MIT */
/*
 * Memory cgroups (src/memcg.c): create, attach, usage, limit, failcnt;
 * PA_GFP_ACCOUNT charges only for attached threads; the limit holds, also
 * under concurrent charging; over the limit, the cgroup's memcg-aware
 * shrinkers are asked first, then the cgroup's OOM clients, then the
 * charge fails; NOFAIL and atomic requests are charged anyway; destroy is
 * refused while anything is charged or attached.
 *
 * White-box tests call memcg_charge_page / memcg_uncharge_page on pages
 * from pa_alloc_pages, as the allocator does after a PA_GFP_ACCOUNT
 * allocation and in the free path.  The "end_to_end" case goes through
 * pa_alloc_pages / pa_free_pages and needs the charge wired into
 * src/page_alloc.c.
 */
#include "pa_test.h"

#include <pthread.h>

#include "internal.h"

#define ACCT (PA_GFP_KERNEL | PA_GFP_ACCOUNT | PA_GFP_NOWARN)

static void setup(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* Allocate an order-`order` block and charge it (white-box). */
static struct pa_page *charged_page(unsigned int order, pa_gfp_t gfp, int *rc)
{
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
    ck_assert_ptr_nonnull(p);
    *rc = memcg_charge_page(p, gfp, order);
    if (*rc != 0) {
        ck_assert_uint_eq(p->memcg_data, 0);
        pa_free_pages(p, order);
        return NULL;
    }
    return p;
}

static void uncharge_free(struct pa_page *p, unsigned int order)
{
    memcg_uncharge_page(p, order);
    ck_assert_uint_eq(p->memcg_data, 0);
    pa_free_pages(p, order);
}

/* ------------------------------------------------------------------ */
/* The API                                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_create_destroy)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("a", 1 << 20);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(pa_memcg_limit(m), 1 << 20);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    ck_assert_uint_eq(pa_memcg_failcnt(m), 0);
    ck_assert_int_eq(pa_memcg_set_limit(m, 0), 0);
    ck_assert_uint_eq(pa_memcg_limit(m), 0);   /* unlimited */
    ck_assert_int_eq(pa_memcg_destroy(m), 0);

    /* the name is copied */
    char name[16] = "temporary";
    m = pa_memcg_create(name, 0);
    ck_assert_ptr_nonnull(m);
    memset(name, 'x', sizeof(name) - 1);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);

    errno = 0;
    ck_assert_ptr_null(pa_memcg_create(NULL, 0));
    ck_assert_int_eq(errno, EINVAL);
    char longname[300];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    errno = 0;
    ck_assert_ptr_null(pa_memcg_create(longname, 0));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_memcg_destroy(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_memcg_set_limit(NULL, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static void *attach_and_exit(void *p)
{
    pa_memcg_attach(p);
    return pa_memcg_current();
}

START_TEST(test_attach)
{
    setup();
    struct pa_memcg *a = pa_memcg_create("a", 0), *b = pa_memcg_create("b", 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(pa_memcg_current());
    ck_assert_int_eq(pa_memcg_attach(a), 0);
    ck_assert_ptr_eq(pa_memcg_current(), a);
    errno = 0;
    ck_assert_int_eq(pa_memcg_destroy(a), -1);
    ck_assert_int_eq(errno, EBUSY);
    /* moving to b releases a */
    ck_assert_int_eq(pa_memcg_attach(b), 0);
    ck_assert_ptr_eq(pa_memcg_current(), b);
    ck_assert_int_eq(pa_memcg_destroy(a), 0);
    ck_assert_int_eq(pa_memcg_attach(b), 0);   /* again: no double count */
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_ptr_null(pa_memcg_current());

    /* a thread that exits attached is detached */
    pthread_t t;
    void *seen = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, attach_and_exit, b), 0);
    pthread_join(t, &seen);
    ck_assert_ptr_eq(seen, b);
    ck_assert_int_eq(pa_memcg_destroy(b), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Charging (white-box)                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_charge_only_account_and_attached)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("m", 0);
    int rc;

    /* not attached: nothing is charged */
    struct pa_page *p = charged_page(0, ACCT, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(p->memcg_data, 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    uncharge_free(p, 0);

    ck_assert_int_eq(pa_memcg_attach(m), 0);
    /* attached, without PA_GFP_ACCOUNT: nothing */
    p = charged_page(0, PA_GFP_KERNEL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(p->memcg_data, 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    uncharge_free(p, 0);

    /* attached, PA_GFP_ACCOUNT: charged by size, given back on uncharge */
    for (unsigned int order = 0; order <= 4; order++) {
        p = charged_page(order, ACCT, &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_ne(p->memcg_data, 0);
        ck_assert_uint_eq(pa_memcg_usage(m), T_PAGE << order);
        uncharge_free(p, order);
        ck_assert_uint_eq(pa_memcg_usage(m), 0);
    }
    /* uncharging an uncharged page changes nothing */
    p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    memcg_uncharge_page(p, 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    pa_free_pages(p, 0);
    ck_assert_uint_eq(pa_memcg_failcnt(m), 0);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

START_TEST(test_limit_holds)
{
    setup();
    const unsigned long limit = 16;
    struct pa_memcg *m = pa_memcg_create("limited", limit * T_PAGE);
    ck_assert_int_eq(pa_memcg_attach(m), 0);
    struct pa_page *held[32];
    int rc, n = 0;
    for (unsigned long i = 0; i < limit; i++) {
        held[n] = charged_page(0, ACCT, &rc);
        ck_assert_msg(rc == 0, "charge %lu of %lu failed", i, limit);
        n++;
    }
    ck_assert_uint_eq(pa_memcg_usage(m), limit * T_PAGE);
    ck_assert_uint_eq(pa_memcg_failcnt(m), 0);
    /* every further charge fails, and each counts once */
    for (int i = 0; i < 3; i++) {
        errno = 0;
        ck_assert_ptr_null(charged_page(0, ACCT, &rc));
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(pa_memcg_usage(m), limit * T_PAGE);
        ck_assert_uint_eq(pa_memcg_failcnt(m), (unsigned long)i + 1);
    }
    /* a block that does not fit fails even when pages are left */
    uncharge_free(held[--n], 0);
    uncharge_free(held[--n], 0);
    ck_assert_ptr_null(charged_page(2, ACCT, &rc));
    ck_assert_int_eq(rc, -1);
    ck_assert_uint_eq(pa_memcg_usage(m), (limit - 2) * T_PAGE);
    held[n] = charged_page(1, ACCT, &rc);   /* exactly fits */
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(pa_memcg_usage(m), limit * T_PAGE);
    uncharge_free(held[n], 1);
    /* non-blocking requests fail without reclaim */
    held[n++] = charged_page(0, ACCT, &rc);
    held[n++] = charged_page(0, ACCT, &rc);
    ck_assert_ptr_null(charged_page(0, PA_GFP_NOWAIT | PA_GFP_ACCOUNT, &rc));
    ck_assert_int_eq(rc, -1);

    /* destroy is refused while pages are charged, even with no thread attached */
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    errno = 0;
    ck_assert_int_eq(pa_memcg_destroy(m), -1);
    ck_assert_int_eq(errno, EBUSY);
    while (n > 0)
        uncharge_free(held[--n], 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

START_TEST(test_shrink_limit_below_usage)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("shrink", 0);
    ck_assert_int_eq(pa_memcg_attach(m), 0);
    struct pa_page *held[10];
    int rc;
    for (int i = 0; i < 10; i++)
        held[i] = charged_page(0, ACCT, &rc);
    ck_assert_int_eq(pa_memcg_set_limit(m, 5 * T_PAGE), 0);
    ck_assert_uint_eq(pa_memcg_limit(m), 5 * T_PAGE);
    ck_assert_uint_eq(pa_memcg_usage(m), 10 * T_PAGE);   /* nothing taken away */
    ck_assert_ptr_null(charged_page(0, ACCT, &rc));
    for (int i = 9; i >= 4; i--)
        uncharge_free(held[i], 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 4 * T_PAGE);
    held[4] = charged_page(0, ACCT, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(charged_page(0, ACCT, &rc));
    for (int i = 4; i >= 0; i--)
        uncharge_free(held[i], 0);
    /* a limit below one page admits nothing */
    ck_assert_int_eq(pa_memcg_set_limit(m, 100), 0);
    ck_assert_ptr_null(charged_page(0, ACCT, &rc));
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

START_TEST(test_nofail_and_atomic_exceed)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("forced", 4 * T_PAGE);
    ck_assert_int_eq(pa_memcg_attach(m), 0);
    struct pa_page *held[8];
    int rc, n = 0;
    for (int i = 0; i < 4; i++)
        held[n++] = charged_page(0, ACCT, &rc);
    ck_assert_ptr_null(charged_page(0, ACCT, &rc));
    unsigned long f = pa_memcg_failcnt(m);
    /* NOFAIL is charged past the limit (and still counts as hitting it) */
    held[n++] = charged_page(0, ACCT | PA_GFP_NOFAIL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 5 * T_PAGE);
    ck_assert_uint_eq(pa_memcg_failcnt(m), f + 1);
    /* so is an atomic request: no reserve of its own in a cgroup */
    held[n++] = charged_page(0, PA_GFP_ATOMIC | PA_GFP_ACCOUNT, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 6 * T_PAGE);
    /* the rest still fail */
    ck_assert_ptr_null(charged_page(0, ACCT, &rc));
    while (n > 0)
        uncharge_free(held[--n], 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

/* Threads charging one cgroup at once: the usage never passes the limit,
 * and the charges that succeeded add up to exactly the limit. */
#define RACE_THREADS 4
#define RACE_LIMIT 200
struct race_arg {
    struct pa_memcg *m;
    struct pa_page *pages[RACE_LIMIT];
    int n;
    atomic_int *go;
    size_t max_seen;
};

static void *race_thread(void *p)
{
    struct race_arg *a = p;
    pa_memcg_attach(a->m);
    while (!atomic_load(a->go))
        ;
    for (int i = 0; i < RACE_LIMIT; i++) {
        struct pa_page *pg = pa_alloc_pages(PA_GFP_KERNEL, 0);
        if (!pg)
            break;
        if (memcg_charge_page(pg, PA_GFP_NOWAIT | PA_GFP_ACCOUNT, 0) != 0) {
            pa_free_pages(pg, 0);
            continue;
        }
        a->pages[a->n++] = pg;
        size_t u = pa_memcg_usage(a->m);
        if (u > a->max_seen)
            a->max_seen = u;
    }
    pa_memcg_attach(NULL);
    return NULL;
}

START_TEST(test_limit_holds_concurrently)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("race", RACE_LIMIT * T_PAGE);
    static struct race_arg args[RACE_THREADS];
    atomic_int go = 0;
    pthread_t t[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        args[i] = (struct race_arg){.m = m, .go = &go};
        ck_assert_int_eq(pthread_create(&t[i], NULL, race_thread, &args[i]), 0);
    }
    atomic_store(&go, 1);
    int total = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(t[i], NULL);
        total += args[i].n;
        ck_assert_uint_le(args[i].max_seen, RACE_LIMIT * T_PAGE);
    }
    ck_assert_int_eq(total, RACE_LIMIT);
    ck_assert_uint_eq(pa_memcg_usage(m), RACE_LIMIT * T_PAGE);
    ck_assert_uint_ge(pa_memcg_failcnt(m), 1);
    for (int i = 0; i < RACE_THREADS; i++)
        for (int j = 0; j < args[i].n; j++)
            uncharge_free(args[i].pages[j], 0);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reclaim and OOM before failing                                      */
/* ------------------------------------------------------------------ */

/* A cache of charged pages behind a memcg-aware shrinker. */
struct cache {
    struct pa_memcg *memcg;
    struct pa_page *pages[256];
    int n;
    atomic_int calls_for_memcg;   /* scan calls with sc->memcg == memcg */
    atomic_int calls_other;
    pthread_mutex_t lock;
};

static unsigned long cache_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct cache *c = s->private_data;
    if (sc->memcg != c->memcg)
        return 0;   /* all of it is charged to c->memcg */
    pthread_mutex_lock(&c->lock);
    unsigned long n = (unsigned long)c->n;
    pthread_mutex_unlock(&c->lock);
    return n ? n : PA_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct cache *c = s->private_data;
    if (sc->memcg != c->memcg) {
        atomic_fetch_add(&c->calls_other, 1);
        return PA_SHRINK_STOP;
    }
    atomic_fetch_add(&c->calls_for_memcg, 1);
    unsigned long freed = 0;
    pthread_mutex_lock(&c->lock);
    while (freed < sc->nr_to_scan && c->n > 0) {
        struct pa_page *p = c->pages[--c->n];
        memcg_uncharge_page(p, 0);
        pa_free_pages(p, 0);
        freed++;
    }
    pthread_mutex_unlock(&c->lock);
    sc->nr_scanned = freed;
    return freed;
}

START_TEST(test_reclaim_before_failing)
{
    setup();
    const int limit = 32;
    static struct cache c;
    c.memcg = pa_memcg_create("cached", (size_t)limit * T_PAGE);
    pthread_mutex_init(&c.lock, NULL);
    struct pa_shrinker *s = pa_shrinker_alloc(PA_SHRINKER_MEMCG_AWARE, "test-memcg-cache");
    ck_assert_ptr_nonnull(s);
    s->count_objects = cache_count;
    s->scan_objects = cache_scan;
    s->seeks = PA_DEFAULT_SEEKS;
    s->batch = 0;
    s->private_data = &c;
    pa_shrinker_register(s);

    ck_assert_int_eq(pa_memcg_attach(c.memcg), 0);
    int rc;
    /* fill the cgroup with cache */
    for (int i = 0; i < limit; i++) {
        c.pages[c.n] = charged_page(0, ACCT, &rc);
        ck_assert_int_eq(rc, 0);
        c.n++;
    }
    ck_assert_uint_eq(pa_memcg_usage(c.memcg), (size_t)limit * T_PAGE);
    /* the next charges succeed by shrinking the cache */
    struct pa_page *mine[8];
    for (int i = 0; i < 8; i++) {
        mine[i] = charged_page(0, ACCT, &rc);
        ck_assert_msg(rc == 0, "charge %d failed although the cache could shrink", i);
        ck_assert_uint_le(pa_memcg_usage(c.memcg), (size_t)limit * T_PAGE);
    }
    ck_assert_int_gt(atomic_load(&c.calls_for_memcg), 0);
    ck_assert_uint_ge(pa_memcg_failcnt(c.memcg), 1);   /* the limit was hit */
    ck_assert_int_lt(c.n, limit);

    /* an unattached thread's global pressure is not this cgroup's business:
     * nothing of the cache goes for memcg reasons without a charge */
    for (int i = 0; i < 8; i++)
        uncharge_free(mine[i], 0);
    pa_shrinker_free(s);
    while (c.n > 0)
        uncharge_free(c.pages[--c.n], 0);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(c.memcg), 0);
}
END_TEST

/* The cgroup's OOM: after reclaim fails, one of its own clients is killed
 * and the charge retried; a global client is left alone. */
struct boxed_client {
    struct pa_oom_client c;
    struct pa_page *pages[64];
    int n;
    atomic_int kills;
};

static unsigned long boxed_rss(struct pa_oom_client *c)
{
    struct boxed_client *b = c->private_data;
    return (unsigned long)b->n;
}

static void boxed_kill(struct pa_oom_client *c)
{
    struct boxed_client *b = c->private_data;
    atomic_fetch_add(&b->kills, 1);
    while (b->n > 0) {
        struct pa_page *p = b->pages[--b->n];
        memcg_uncharge_page(p, 0);
        pa_free_pages(p, 0);
    }
}

START_TEST(test_memcg_oom_kills_own_client)
{
    setup();
    const int limit = 24;
    struct pa_memcg *m = pa_memcg_create("oomed", (size_t)limit * T_PAGE);
    static struct boxed_client boxed, global;
    boxed.c = (struct pa_oom_client){.name = "boxed", .rss_pages = boxed_rss, .kill = boxed_kill,
                                     .private_data = &boxed};
    global.c = (struct pa_oom_client){.name = "global", .rss_pages = boxed_rss, .kill = boxed_kill,
                                      .private_data = &global};
    int rc;
    /* the global client holds more, but outside the cgroup */
    for (int i = 0; i < 40; i++)
        global.pages[global.n++] = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_int_eq(pa_oom_register(&global.c), 0);

    ck_assert_int_eq(pa_memcg_attach(m), 0);
    ck_assert_int_eq(pa_oom_register(&boxed.c), 0);
    for (int i = 0; i < limit; i++) {
        boxed.pages[boxed.n] = charged_page(0, ACCT, &rc);
        ck_assert_int_eq(rc, 0);
        boxed.n++;
    }
    unsigned long kills0 = t_vmstat("oom_kill");
    struct t_capture cap;
    t_capture_begin(&cap);
    struct pa_page *p = charged_page(0, ACCT, &rc);
    char *text = t_capture_end(&cap);
    ck_assert_msg(rc == 0, "the charge failed although the cgroup's client could be killed");
    ck_assert_int_eq(atomic_load(&boxed.kills), 1);
    ck_assert_int_eq(atomic_load(&global.kills), 0);
    ck_assert_uint_eq(t_vmstat("oom_kill"), kills0 + 1);
    ck_assert_uint_eq(pa_memcg_usage(m), T_PAGE);
    ck_assert_msg(strstr(text, "Memory cgroup out of memory: Killed client") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "memory: usage") != NULL, "%s", text);
    free(text);

    /* RETRY_MAYFAIL fails rather than kill */
    for (int i = 1; i < limit; i++) {
        boxed.pages[boxed.n] = charged_page(0, ACCT, &rc);
        boxed.n++;
    }
    ck_assert_ptr_null(charged_page(0, ACCT | PA_GFP_RETRY_MAYFAIL, &rc));
    ck_assert_int_eq(atomic_load(&boxed.kills), 1);

    uncharge_free(p, 0);
    ck_assert_int_eq(pa_oom_unregister(&boxed.c), 0);
    ck_assert_int_eq(pa_oom_unregister(&global.c), 0);
    while (boxed.n > 0)
        uncharge_free(boxed.pages[--boxed.n], 0);
    while (global.n > 0)
        pa_free_pages(global.pages[--global.n], 0);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* End to end: through pa_alloc_pages and pa_free_pages                */
/* (needs memcg_charge_page / memcg_uncharge_page wired into           */
/* src/page_alloc.c)                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_e2e_limit_enomem)
{
    setup();
    const unsigned long limit = 64;
    struct pa_memcg *m = pa_memcg_create("e2e", limit * T_PAGE);
    ck_assert_int_eq(pa_memcg_attach(m), 0);
    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL | PA_GFP_ACCOUNT, 0);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(n, limit);
    ck_assert_uint_eq(pa_memcg_usage(m), limit * T_PAGE);
    ck_assert_uint_ge(pa_memcg_failcnt(m), 1);
    /* unaccounted allocations are not limited */
    struct pa_page *free_one = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(free_one);
    pa_free_pages(free_one, 0);
    t_blocks_free_all(&l);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);

    /* larger blocks count by size */
    n = t_fill(&l, PA_GFP_KERNEL | PA_GFP_ACCOUNT, 3);
    ck_assert_uint_eq(n, limit >> 3);
    ck_assert_uint_eq(pa_memcg_usage(m), limit * T_PAGE);
    t_blocks_free_all(&l);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    t_blocks_release(&l);

    /* freed after the thread detached: uncharged all the same */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ACCOUNT, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pa_memcg_usage(m), 2 * T_PAGE);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    pa_free_pages(p, 1);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

START_TEST(test_e2e_uncharge_on_free)
{
    setup();
    struct pa_memcg *m = pa_memcg_create("free", 0);
    ck_assert_int_eq(pa_memcg_attach(m), 0);
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ACCOUNT, order);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(pa_memcg_usage(m), T_PAGE << order);
        pa_free_pages(p, order);
        ck_assert_msg(pa_memcg_usage(m) == 0, "order %u: %zu bytes still charged after the free", order,
                      pa_memcg_usage(m));
    }
    /* compound pages, through pa_put_page */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ACCOUNT | PA_GFP_COMP, 3);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pa_memcg_usage(m), 8 * T_PAGE);
    pa_put_page(p);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    /* a non-compound block freed while referenced: the rest goes at once,
     * the first page with the last reference; the whole charge comes back */
    p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ACCOUNT, 2);
    ck_assert_ptr_nonnull(p);
    pa_get_page(p);
    pa_free_pages(p, 2);
    pa_put_page(p);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    /* pa_get_free_pages / pa_free_pages_addr */
    void *addr = pa_get_free_pages(PA_GFP_KERNEL | PA_GFP_ACCOUNT, 1);
    ck_assert_ptr_nonnull(addr);
    ck_assert_uint_eq(pa_memcg_usage(m), 2 * T_PAGE);
    pa_free_pages_addr(addr, 1);
    ck_assert_uint_eq(pa_memcg_usage(m), 0);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(m), 0);
}
END_TEST

static Suite *memcg_suite(void)
{
    Suite *s = suite_create("memcg");
    TCase *tc = t_tcase(s, "api", 30);
    tcase_add_test(tc, test_create_destroy);
    tcase_add_test(tc, test_attach);
    tc = t_tcase(s, "charge", 60);
    tcase_add_test(tc, test_charge_only_account_and_attached);
    tcase_add_test(tc, test_limit_holds);
    tcase_add_test(tc, test_shrink_limit_below_usage);
    tcase_add_test(tc, test_nofail_and_atomic_exceed);
    tcase_add_test(tc, test_limit_holds_concurrently);
    tc = t_tcase(s, "reclaim", 60);
    tcase_add_test(tc, test_reclaim_before_failing);
    tcase_add_test(tc, test_memcg_oom_kills_own_client);
    tc = t_tcase(s, "end_to_end", 60);
    tcase_add_test(tc, test_e2e_limit_enomem);
    tcase_add_test(tc, test_e2e_uncharge_on_free);
    return s;
}

int main(void)
{
    return t_run_suite(memcg_suite());
}

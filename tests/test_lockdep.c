/* SPDX-License-Identifier: MIT */
/*
 * The lock order checker (src/lockdep.c, PAGEALLOC_DEBUG=locks) and the one
 * fork handler (src/fork.c).  Each case that breaks the order does so in a
 * child process, which must abort with a message naming both locks.
 */
#include "pa_test.h"

#include "internal.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static struct zone *first_zone(void)
{
    for (int zid = 0; zid < MAX_NR_ZONES; zid++)
        if (populated_zone(&NODE_DATA(0)->node_zones[zid]))
            return &NODE_DATA(0)->node_zones[zid];
    return NULL;
}

/* Two populated zones of node 0, lower index first (NULL when there is one). */
static bool two_zones(struct zone **lo, struct zone **hi)
{
    *lo = *hi = NULL;
    for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
        struct zone *z = &NODE_DATA(0)->node_zones[zid];
        if (!populated_zone(z))
            continue;
        if (!*lo)
            *lo = z;
        else if (!*hi)
            *hi = z;
    }
    return *hi != NULL;
}

static void init_child(void)
{
    t_child_check(pa_init(NULL) == 0);
    /* this thread's state before any lock: making it takes threads_lock */
    (void)pa_thread();
}

/* The zone lock, then grow_lock: grow_lock ranks before the zone lock. */
static void zone_then_grow(void *arg)
{
    (void)arg;
    init_child();
    struct zone *z = first_zone();
    t_child_check(z != NULL);
    spin_lock(&z->lock);
    mutex_lock(&NODE_DATA(0)->grow_lock);
    mutex_unlock(&NODE_DATA(0)->grow_lock);
    spin_unlock(&z->lock);
}

/* The same two in the documented order. */
static void grow_then_zone(void *arg)
{
    (void)arg;
    init_child();
    struct zone *z = first_zone();
    t_child_check(z != NULL);
    mutex_lock(&NODE_DATA(0)->grow_lock);
    spin_lock(&z->lock);
    spin_unlock(&z->lock);
    mutex_unlock(&NODE_DATA(0)->grow_lock);
}

START_TEST(test_wrong_order_aborts)
{
    struct t_child c;
    char why[64];
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "locks");
    t_run_child(zone_then_grow, NULL, &c);
    ck_assert_msg(t_aborted(&c), "the child did not abort: %s", t_describe_status(&c, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(c.err, "lock order violation"));
    ck_assert_ptr_nonnull(strstr(c.err, "taking a node's grow_lock"));
    ck_assert_ptr_nonnull(strstr(c.err, "while holding a zone lock"));
    ck_assert_ptr_nonnull(strstr(c.err, "docs/locking.md"));
    free(c.err);

    /* the right order passes, silently */
    t_run_child(grow_then_zone, NULL, &c);
    ck_assert_msg(t_exited_ok(&c), "%s", t_describe_status(&c, why, sizeof(why)));
    ck_assert_ptr_null(strstr(c.err, "lock order"));
    free(c.err);
}
END_TEST

/* Off by default: the same wrong order goes unremarked (one thread, so it
 * cannot deadlock). */
START_TEST(test_off_by_default)
{
    struct t_child c;
    char why[64];
    t_env_reset();
    if (getenv("PA_TEST_DEBUG_LOCKS"))
        unsetenv("PAGEALLOC_DEBUG");
    t_run_child(zone_then_grow, NULL, &c);
    ck_assert_msg(t_exited_ok(&c), "%s", t_describe_status(&c, why, sizeof(why)));
    ck_assert_ptr_null(strstr(c.err, "lock order"));
    free(c.err);
}
END_TEST

static void zones_descending(void *arg)
{
    (void)arg;
    init_child();
    struct zone *lo, *hi;
    t_child_check(two_zones(&lo, &hi));
    spin_lock(&hi->lock);
    spin_lock(&lo->lock);
    spin_unlock(&lo->lock);
    spin_unlock(&hi->lock);
}

static void zones_ascending(void *arg)
{
    (void)arg;
    init_child();
    struct zone *lo, *hi;
    t_child_check(two_zones(&lo, &hi));
    spin_lock(&lo->lock);
    spin_lock(&hi->lock);
    spin_unlock(&hi->lock);
    spin_lock(&hi->lock);   /* again: only the held ones count */
    spin_unlock(&hi->lock);
    spin_unlock(&lo->lock);
}

/* Zone locks nest with each other in ascending zone order only. */
START_TEST(test_zone_nesting)
{
    struct t_child c;
    char why[64];
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "locks");
    t_setenv("PAGEALLOC_DMA32_SIZE", "16M");   /* a second zone besides Normal */
    ck_assert_int_eq(pa_init(NULL), 0);
    struct zone *lo, *hi;
    ck_assert_msg(two_zones(&lo, &hi), "one populated zone: nothing to nest");
    t_run_child(zones_descending, NULL, &c);
    ck_assert_msg(t_aborted(&c), "%s", t_describe_status(&c, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(c.err, "ascending order only"));
    free(c.err);
    t_run_child(zones_ascending, NULL, &c);
    ck_assert_msg(t_exited_ok(&c), "%s", t_describe_status(&c, why, sizeof(why)));
    free(c.err);
}
END_TEST

/* A trylock cannot wait, so it may go against the order; what is taken
 * after it is checked against it. */
static void trylock_then_blocking(void *arg)
{
    bool then_block = *(bool *)arg;
    init_child();
    struct zone *z = first_zone();
    t_child_check(z != NULL);
    spin_lock(&z->lock);
    t_child_check(mutex_trylock(&NODE_DATA(0)->grow_lock));
    spin_unlock(&z->lock);
    if (then_block)
        spin_lock(&z->lock), spin_unlock(&z->lock);   /* under grow_lock: in order */
    else
        pa_drain_all_pages();  /* remote_lock under grow_lock: out of order */
    mutex_unlock(&NODE_DATA(0)->grow_lock);
}

START_TEST(test_trylock)
{
    struct t_child c;
    char why[64];
    bool in_order = true, out_of_order = false;
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "locks");
    t_run_child(trylock_then_blocking, &in_order, &c);
    ck_assert_msg(t_exited_ok(&c), "%s", t_describe_status(&c, why, sizeof(why)));
    free(c.err);
    t_run_child(trylock_then_blocking, &out_of_order, &c);
    ck_assert_msg(t_aborted(&c), "%s", t_describe_status(&c, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(c.err, "taking remote_lock"));
    ck_assert_ptr_nonnull(strstr(c.err, "while holding a node's grow_lock"));
    free(c.err);
}
END_TEST

/* fork under the checker, with other threads caching pages: the handler
 * takes every lock in order (a violation would abort the parent), the
 * child's allocator works, and what the threads cached is accounted. */
static pthread_barrier_t forked;

static void *churn(void *arg)
{
    (void)arg;
    struct pa_page *p[64];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 64; i++)
            p[i] = pa_alloc_pages(PA_GFP_KERNEL, (unsigned int)(i % 3));
        for (int i = 0; i < 64; i++)
            if (p[i])
                pa_free_pages(p[i], (unsigned int)(i % 3));
    }
    pthread_barrier_wait(&forked);
    return NULL;
}

static void child_allocates(void *arg)
{
    (void)arg;
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 2);
    t_child_check(p != NULL);
    pa_free_pages(p, 2);
    pa_drain_all_pages();
    t_child_check(pa_check_invariants() == 0);
}

START_TEST(test_fork_in_order)
{
    struct t_child c;
    char why[64];
    pthread_t th[3];
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "locks");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert(pa_lockdep_on);
    pthread_barrier_init(&forked, NULL, 4);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn, NULL), 0);
    for (int i = 0; i < 5; i++) {
        t_run_child(child_allocates, NULL, &c);
        ck_assert_msg(t_exited_ok(&c), "%s", t_describe_status(&c, why, sizeof(why)));
        ck_assert_ptr_null(strstr(c.err, "lock order"));
        free(c.err);
    }
    pthread_barrier_wait(&forked);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&forked);
}
END_TEST

static Suite *lockdep_suite(void)
{
    Suite *s = suite_create("lockdep");
    TCase *tc = t_tcase(s, "order", 60);
    tcase_add_test(tc, test_wrong_order_aborts);
    tcase_add_test(tc, test_off_by_default);
    tcase_add_test(tc, test_zone_nesting);
    tcase_add_test(tc, test_trylock);
    tc = t_tcase(s, "fork", 120);
    tcase_add_test(tc, test_fork_in_order);
    return s;
}

int main(void)
{
    return t_run_suite(lockdep_suite());
}

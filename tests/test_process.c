/* SPDX-License-Identifier: MIT */
/*
 * Process safety: the library in the life of a process rather than of one
 * allocation.
 *  - fork from a multithreaded program while other threads allocate, free
 *    and compact: the child's lists are whole, every lock is free, and its
 *    own kswapd and kcompactd start there and do their work;
 *  - thread exit: the caches of a thread (magazines, per-thread pagesets)
 *    go back, nothing stays stranded;
 *  - setuid: a secure-execution process (AT_SECURE) ignores PAGEALLOC_*,
 *    checked on a real setuid copy of this program;
 *  - overflow: sizes, counts and orders at the edge of their types get
 *    NULL/-1 and errno, never a wrapped computation.
 */
#include "pa_test.h"

#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"
#include "pcp.h"

bool kswapd_sleeping(int nid);   /* reclaim.c test hook */

/* Allocations that neither wake kswapd nor reclaim: to fill memory. */
#define GFP_FILL ((PA_GFP_KERNEL & ~PA_GFP_RECLAIM) | PA_GFP_NOWARN)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* A cache of pages behind a shrinker: what kswapd reclaims           */
/* ------------------------------------------------------------------ */

static struct {
    struct t_page_cache pc;      /* its lock guards the fields below too */
    unsigned long freed;
    pid_t scanned_by;            /* the last thread that scanned */
} cache = {.pc = T_PAGE_CACHE_INIT};

static unsigned long cache_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)s;
    pthread_mutex_lock(&cache.pc.lock);
    cache.scanned_by = (pid_t)gettid();
    unsigned long done = t_page_cache_free_locked(&cache.pc, sc->nr_to_scan);
    cache.freed += done;
    pthread_mutex_unlock(&cache.pc.lock);
    sc->nr_scanned = done;
    return done;
}

static unsigned long cache_freed(void)
{
    pthread_mutex_lock(&cache.pc.lock);
    unsigned long n = cache.freed;
    pthread_mutex_unlock(&cache.pc.lock);
    return n;
}

/* The cache's lock is the program's own: a fork while a parent thread scans
 * (kswapd, or direct reclaim in a churn thread) would leave it held in the
 * child for good.  Taken before fork like any program lock; registered after
 * pa_init, so it is taken before the library's locks, and no callback waits
 * for it while holding one of them. */
static void cache_fork_lock(void) { pthread_mutex_lock(&cache.pc.lock); }
static void cache_fork_unlock(void) { pthread_mutex_unlock(&cache.pc.lock); }
static void cache_fork_register(void) { pthread_atfork(cache_fork_lock, cache_fork_unlock, cache_fork_unlock); }

static void cache_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, cache_fork_register);
    struct pa_shrinker *s = pa_shrinker_alloc(0, "test_process cache");
    ck_assert_ptr_nonnull(s);
    s->count_objects = t_page_cache_count_objects;
    s->private_data = &cache.pc;
    s->scan_objects = cache_scan;
    pa_shrinker_register(s);
}

/* ------------------------------------------------------------------ */
/* fork with allocations in flight                                     */
/* ------------------------------------------------------------------ */

static atomic_bool churn_stop;

/* Order-0 pairs (magazines, pagesets) and random larger orders plus
 * compaction and drains: always somewhere inside the allocator. */
static void *churn_main(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
    struct pa_page *p[32];
    unsigned int ord[32];
    for (unsigned long round = 0; !atomic_load(&churn_stop); round++) {
        for (int i = 0; i < 32; i++) {
            uint64_t r = t_rand(&seed);
            ord[i] = (r & 3) ? 0 : (unsigned int)((r >> 8) % 7);
            p[i] = pa_alloc_pages(((r >> 16) & 1 ? PA_GFP_KERNEL : PA_GFP_HIGHUSER_MOVABLE) | PA_GFP_NOWARN,
                                  ord[i]);
        }
        for (int i = 0; i < 32; i++)
            if (p[i])
                pa_free_pages(p[i], ord[i]);
        if (round % 64 == 0)
            pa_compact_memory();
        if (round % 16 == 0)
            pa_drain_all_pages();
    }
    return NULL;
}

static bool node0_asleep(void) { return kswapd_sleeping(0); }

/* In the child: only the forking thread exists. */
static void fork_child(void *arg)
{
    (void)arg;
    signal(SIGALRM, SIG_DFL);   /* not Check's handler: a hang kills the child alone */
    alarm(60);
    pid_t me = (pid_t)gettid();
    /* the parent's daemons did not come along */
    t_child_check(t_threads_named("pa_kswapd") == 0);
    t_child_check(t_threads_named("pa_kcompactd") == 0);
    /* the lists the other threads were changing are whole, no lock is held */
    t_child_check(pa_check_invariants() == 0);
    pa_drain_all_pages();
    for (unsigned int o = 0; o <= PA_MAX_ORDER; o++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, o);
        if (o <= 3)
            t_child_check(p != NULL);
        if (p) {
            memset(pa_page_address(p), 0x5a, T_PAGE << o);
            pa_free_pages(p, o);
        }
    }
    t_child_check(pa_compact_memory() == 0);
    t_child_check(pa_check_invariants() == 0);

    /* memory short: kswapd must start in this process and reclaim the cache */
    unsigned long freed0 = cache_freed();
    unsigned long steal0 = t_vmstat("pgsteal_kswapd");
    for (struct pa_page *p; (p = pa_alloc_pages(GFP_FILL, 0)) != NULL;)
        t_page_cache_push(&cache.pc, p);
    struct pa_page *p = pa_alloc_pages(PA_GFP_ATOMIC | PA_GFP_NOWARN, 0);   /* wakes kswapd, no reclaim here */
    if (p)
        pa_free_pages(p, 0);
    double end = now_ms() + 30000;
    while (now_ms() < end && !(cache_freed() > freed0 && node0_asleep()))
        usleep(5000);
    t_child_check(cache_freed() > freed0);
    t_child_check(t_vmstat("pgsteal_kswapd") > steal0);
    pthread_mutex_lock(&cache.pc.lock);
    pid_t scanner = cache.scanned_by;
    pthread_mutex_unlock(&cache.pc.lock);
    t_child_check(scanner != me);          /* reclaimed by another thread: kswapd */
    t_child_check(t_threads_named("pa_kswapd") == 1);
    t_child_check(node0_asleep());

    t_page_cache_drop(&cache.pc);
    t_child_check(pa_check_invariants() == 0);
}

START_TEST(test_fork_with_allocations_in_flight)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    static const char *const pcp_modes[] = {"cpu", "thread"};
    t_setenv("PAGEALLOC_PCP", pcp_modes[_i]);
    fprintf(stderr, "PAGEALLOC_PCP=%s\n", pcp_modes[_i]);
    ck_assert_int_eq(pa_init(NULL), 0);
    cache_register();
    /* the parent has its daemons running: memory short, kswapd reclaims */
    for (struct pa_page *p; (p = pa_alloc_pages(GFP_FILL, 0)) != NULL;)
        t_page_cache_push(&cache.pc, p);
    wakeup_kswapd(&NODE_DATA(0)->node_zones[PA_ZONE_NORMAL], PA_GFP_KERNEL, 0, PA_ZONE_NORMAL);
    wakeup_kcompactd(NODE_DATA(0), 0, MAX_NR_ZONES - 1);
    double end = now_ms() + 30000;
    while (now_ms() < end && !(cache_freed() > 0 && node0_asleep()))
        usleep(5000);
    ck_assert_uint_gt(cache_freed(), 0);
    ck_assert_int_eq(t_threads_named("pa_kswapd"), 1);
    ck_assert_int_eq(t_threads_named("pa_kcompactd"), 1);

    atomic_store(&churn_stop, false);
    pthread_t th[2];
    for (uintptr_t i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn_main, (void *)(i + 1)), 0);
    usleep(20000);
    char why[64];
    for (int forks = 0; forks < 12; forks++) {
        struct t_child c;
        t_run_child(fork_child, NULL, &c);
        bool ok = t_exited_ok(&c);
        free(c.err);
        if (!ok) {
            atomic_store(&churn_stop, true);
            for (int i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
            ck_abort_msg("fork %d: the child %s (SIGALRM: hung on a lock held at fork time; exit 99: a "
                         "check failed, see its stderr)",
                         forks + 1, t_describe_status(&c, why, sizeof(why)));
        }
    }
    atomic_store(&churn_stop, true);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* thread exit                                                         */
/* ------------------------------------------------------------------ */

static void sum_pcp(struct zone *z, struct per_cpu_pages *pcp, void *arg)
{
    (void)z;
    *(unsigned long *)arg += (unsigned long)__atomic_load_n(&pcp->count, __ATOMIC_RELAXED);
}

static void sum_mags(struct pa_thread *t, void *arg)
{
    for (size_t i = 0; t->mags && i < (size_t)pa_mm.nr_nodes * MAX_NR_ZONES * MIGRATE_PCPTYPES; i++)
        *(unsigned long *)arg += t->mags[i].n;
}

/* Free pages anywhere the library keeps them: buddy, pagesets of CPUs and
 * live threads, magazines of live threads. */
static unsigned long pages_accounted(void)
{
    unsigned long n = t_nr_free(), cached = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            pa_pcp_walk(&NODE_DATA(nid)->node_zones[zid], sum_pcp, &cached);
    pa_mag_walk(sum_mags, &cached);
    return n + cached;
}

static void *exiting_main(void *arg)
{
    (void)arg;
    enum { N = 3000 };
    static struct pa_page *p[N];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++)
            p[i] = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, (unsigned int)(i % 4 == 3 ? 2 : 0));
        for (int i = 0; i < N; i++)
            if (p[i])
                pa_free_pages(p[i], (unsigned int)(i % 4 == 3 ? 2 : 0));
    }
    /* something cached here now, or the test below proves nothing */
    unsigned long *cached = calloc(1, sizeof(*cached));
    struct pa_thread *t = pa_thread();
    sum_mags(t, cached);
    for (size_t i = 0; t->pcp && i < (size_t)pa_mm.nr_nodes * MAX_NR_ZONES; i++)
        if (t->pcp[i])
            *cached += (unsigned long)t->pcp[i]->count;
    return cached;
}

START_TEST(test_thread_exit_gives_caches_back)
{
    static const char *const pcp_modes[] = {"cpu", "thread"};
    t_env_reset();
    t_setenv("PAGEALLOC_PCP", pcp_modes[_i]);
    fprintf(stderr, "PAGEALLOC_PCP=%s\n", pcp_modes[_i]);
    ck_assert_int_eq(pa_init(NULL), 0);
    unsigned long warm = t_settle(PA_GFP_KERNEL);
    ck_assert_uint_eq(pages_accounted(), warm);
    pthread_t th;
    void *ret;
    ck_assert_int_eq(pthread_create(&th, NULL, exiting_main, NULL), 0);
    ck_assert_int_eq(pthread_join(th, &ret), 0);
    unsigned long cached_at_exit = *(unsigned long *)ret;
    free(ret);
    fprintf(stderr, "%lu pages cached by the thread when it exited\n", cached_at_exit);
    /* per-thread pagesets, or magazines (off under TSan: their owner
     * protocol relies on membarrier, which TSan cannot see) */
    if (_i == 1 || pcp_magazines_on)
        ck_assert_uint_gt(cached_at_exit, 0);
    /* no drain here: what the thread cached must be back already */
    unsigned long now = pages_accounted();
    ck_assert_msg(now == warm, "%lu pages accounted after the thread exited, %lu before (%+ld stranded)", now,
                  warm, (long)warm - (long)now);
    if (_i == 1)   /* per-thread pagesets: the buddy itself has them all */
        ck_assert_uint_eq(t_nr_free(), warm);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* setuid: AT_SECURE                                                   */
/* ------------------------------------------------------------------ */

/* Both run as a re-executed copy of this program (main below). */
static int secure_child(bool expect_secure, const char *stats_path)
{
    if (pa_init(NULL) != 0)
        return 10;
    if (pa_opt.secure != expect_secure)
        return 11;
    if (expect_secure) {
        /* every PAGEALLOC_* of the environment ignored: the defaults hold */
        if (pa_opt.numa_emulate != 0 || pa_opt.node_size != 0 || pa_opt.stats[0] != '\0' ||
            pa_opt.debug != 0 || pa_num_nodes() == 3)
            return 12;
    } else {
        if (pa_opt.numa_emulate != 3 || pa_num_nodes() != 3 || strcmp(pa_opt.stats, stats_path) != 0)
            return 13;
    }
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    if (!p)
        return 14;
    pa_free_pages(p, 0);
    return 0;
}

struct exec_arg {
    const char *exe;
    bool expect_secure;
    const char *stats_path;
};

/* In a t_run_child child: become user nobody and run `exe --secure-child
 * <expect> <stats>` with a hostile environment. */
static void exec_copy(void *arg)
{
    const struct exec_arg *a = arg;
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        _exit(20);
    char *argv[] = {(char *)a->exe, "--secure-child", a->expect_secure ? "1" : "0", (char *)a->stats_path, NULL};
    char stats_env[PATH_MAX + 32];
    snprintf(stats_env, sizeof(stats_env), "PAGEALLOC_STATS=%s", a->stats_path);
    char *envp[16] = {"PAGEALLOC_NUMA_EMULATE=3", "PAGEALLOC_NODE_SIZE=lots", "PAGEALLOC_DEBUG=bogus",
                      stats_env, "PAGEALLOC_HUGEPAGES=none"};
    /* a sanitizer build's options go along (scripts/sanitize.sh sets them) */
    static const char *const keep[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"};
    char keep_env[3][512];
    for (size_t i = 0, n = 5; i < ARRAY_SIZE(keep); i++) {
        const char *v = getenv(keep[i]);
        if (v) {
            snprintf(keep_env[i], sizeof(keep_env[i]), "%s=%s", keep[i], v);
            envp[n++] = keep_env[i];
        }
    }
    execve(a->exe, argv, envp);
    _exit(21);
}

static bool copy_file(const char *from, const char *to, mode_t mode)
{
    FILE *in = fopen(from, "rb"), *outf = fopen(to, "wb");
    bool ok = in && outf;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        ok = fwrite(buf, 1, n, outf) == n;
    if (in)
        fclose(in);
    if (outf && fclose(outf) != 0)
        ok = false;
    return ok && chmod(to, mode) == 0;
}

START_TEST(test_setuid_ignores_environment)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: making a setuid copy needs root\n");
        return;
    }
    char dir[] = "/tmp/pagealloc-setuid.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0777), 0);   /* nobody may write the stats file here */
    char self[PATH_MAX], plain[PATH_MAX + 16], suid[PATH_MAX + 16], stats[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(plain, sizeof(plain), "%s/plain", dir);
    snprintf(suid, sizeof(suid), "%s/suid", dir);
    snprintf(stats, sizeof(stats), "%s/stats", dir);
    ck_assert(copy_file(self, plain, 0755));
    ck_assert(copy_file(self, suid, 04755));   /* owned by root: euid 0, ruid nobody */

    char why[64];
    struct t_child c;
    /* control: without setuid the same environment is obeyed and complained about */
    struct exec_arg plain_arg = {plain, false, stats};
    t_run_child(exec_copy, &plain_arg, &c);
    ck_assert_msg(t_exited_ok(&c), "plain copy: %s", t_describe_status(&c, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(c.err, "PAGEALLOC_NODE_SIZE"));
    free(c.err);
    ck_assert_int_eq(access(stats, F_OK), 0);   /* the exit report was written */
    unlink(stats);

    struct exec_arg suid_arg = {suid, true, stats};
    t_run_child(exec_copy, &suid_arg, &c);
    ck_assert_msg(t_exited_ok(&c), "setuid copy: %s (12: environment obeyed)",
                  t_describe_status(&c, why, sizeof(why)));
    ck_assert_msg(strstr(c.err, "pagealloc") == NULL, "setuid copy printed: %s", c.err);
    free(c.err);
    ck_assert_int_ne(access(stats, F_OK), 0);   /* no file written where the environment said */

    unlink(plain);
    unlink(suid);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* overflow at the edges of sizes, counts and orders                   */
/* ------------------------------------------------------------------ */

START_TEST(test_size_edges)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    unsigned long free0 = t_settle(PA_GFP_KERNEL);

    /* orders */
    static const unsigned int orders[] = {PA_MAX_ORDER + 1, 31, 32, 63, 64, UINT_MAX};
    for (size_t i = 0; i < ARRAY_SIZE(orders); i++) {
        errno = 0;
        ck_assert_ptr_null(pa_alloc_pages(PA_GFP_KERNEL, orders[i]));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(pa_alloc_pages_node(0, PA_GFP_KERNEL, orders[i]));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(pa_get_free_pages(PA_GFP_KERNEL, orders[i]));
        ck_assert_int_eq(errno, EINVAL);
    }
    /* node ids */
    static const int nids[] = {INT_MAX, INT_MIN, MAX_NUMNODES, -2};
    for (size_t i = 0; i < ARRAY_SIZE(nids); i++) {
        errno = 0;
        ck_assert_ptr_null(pa_alloc_pages_node(nids[i], PA_GFP_KERNEL, 0));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_int_eq(pa_compact_node(nids[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_ptr_null(pa_pfn_to_page(ULONG_MAX));
    ck_assert_ptr_null(pa_pfn_to_page(ULONG_MAX >> PAGE_SHIFT));

    /* exact sizes: one past the largest block, and sizes whose rounding
     * up to pages would wrap */
    static const size_t sizes[] = {(T_PAGE << PA_MAX_ORDER) + 1, SIZE_MAX, SIZE_MAX - T_PAGE + 2,
                                   SIZE_MAX / 2 + 1, 0};
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        errno = 0;
        ck_assert_ptr_null(pa_alloc_pages_exact(sizes[i], PA_GFP_KERNEL));
        ck_assert_int_eq(errno, EINVAL);
    }
    /* freeing with a wrapped size is refused whole (a report), not a no-op
     * that strands the pages or a free of the wrong range */
    void *a = pa_alloc_pages_exact(3 * T_PAGE, PA_GFP_KERNEL);
    ck_assert_ptr_nonnull(a);
    unsigned long bad0 = t_vmstat("pa_bad_page");
    for (size_t i = 0; i < 3; i++) {
        struct t_capture cap;
        t_capture_begin(&cap);
        pa_free_pages_exact(a, sizes[i]);
        char *out = t_capture_end(&cap);
        ck_assert_ptr_nonnull(strstr(out, "pa_free_pages_exact"));
        free(out);
    }
    ck_assert_uint_eq(t_vmstat("pa_bad_page") - bad0, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(pa_page_count(pa_virt_to_page((char *)a + i * T_PAGE)), 1);
    pa_free_pages_exact(a, 3 * T_PAGE);

    /* sizes with suffixes */
    size_t bytes;
    unsigned int pct;
    static const char *const too_big[] = {"18446744073709551616", "16777216T", "17179869184G",
                                          "18014398509481984K", "99999999999999999999999M"};
    for (size_t i = 0; i < ARRAY_SIZE(too_big); i++) {
        errno = 0;
        ck_assert_int_eq(pa_parse_size(too_big[i], &bytes, &pct), -1);
        ck_assert_int_eq(errno, ERANGE);
    }
    ck_assert_int_eq(pa_parse_size("16777215T", &bytes, NULL), 0);
    ck_assert_uint_eq(bytes, (size_t)16777215 << 40);
    errno = 0;
    ck_assert_int_eq(pa_parse_size("101%", &bytes, &pct), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_parse_size("4294967397%", &bytes, &pct), -1);   /* 2^32 + 101: no wrap to 101 */
    ck_assert_int_eq(errno, EINVAL);

    /* node lists and weights */
    pa_nodemask_t m;
    static const char *const masks[] = {"4294967296", "18446744073709551617", "0-4294967295",
                                        "2147483648-0", "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
        errno = 0;
        ck_assert_int_eq(pa_nodemask_parse(masks[i], &m), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    static const char *const policies[] = {"weighted-interleave=0:4294967297", "weighted-interleave=0:-1",
                                           "weighted-interleave=0:18446744073709551617",
                                           "preferred=4294967296", "interleave=0-18446744073709551615"};
    for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
        errno = 0;
        ck_assert_int_eq(pa_set_mempolicy_str(policies[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(pa_set_interleave_weight(0, UINT_MAX), -1);
    ck_assert_int_eq(pa_set_interleave_weight(INT_MAX, 1), -1);

    /* statistics by name */
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    unsigned long v;
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get(name, &v), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get(NULL, &v), -1);
    ck_assert_int_eq(errno, EINVAL);

    /* memcg: a limit of SIZE_MAX is "no limit", not a wrapped small one */
    struct pa_memcg *cg = pa_memcg_create("edge", SIZE_MAX);
    ck_assert_ptr_nonnull(cg);
    ck_assert_int_eq(pa_memcg_attach(cg), 0);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ACCOUNT, 4);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pa_memcg_usage(cg), T_PAGE << 4);
    pa_free_pages(p, 4);
    ck_assert_int_eq(pa_memcg_attach(NULL), 0);
    ck_assert_int_eq(pa_memcg_destroy(cg), 0);

    ck_assert_uint_eq(t_nr_free_settled(), free0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

static Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = t_tcase(s, "fork", 600);
    tcase_add_loop_test(tc, test_fork_with_allocations_in_flight, 0, 2);
    tc = t_tcase(s, "thread_exit", 120);
    tcase_add_loop_test(tc, test_thread_exit_gives_caches_back, 0, 2);
    tc = t_tcase(s, "setuid", 120);
    tcase_add_test(tc, test_setuid_ignores_environment);
    tc = t_tcase(s, "overflow", 120);
    tcase_add_test(tc, test_size_edges);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--secure-child") == 0)
        return secure_child(argv[2][0] == '1', argv[3]);
    return t_run_suite(process_suite());
}

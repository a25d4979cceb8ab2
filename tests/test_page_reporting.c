/* SPDX-License-Identifier: MIT */
/*
 * Free page reporting (src/page_reporting.c) and the memory pressure
 * listener (src/pressure.c): free memory goes back to the OS, comes back
 * correct (zero-filled, or written and read back), keeps its mark through
 * merging and splitting, survives racing with allocation and compaction,
 * and a program in a cgroup v2 with memory.high below its peak finishes
 * with its data intact.
 */
#include "pa_test.h"
#include "page_cache_shrinker.h"

#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include <pagealloc/reclaim.h>
#include <pagealloc/stats.h>

/* Internal: report now, without the delay (page_reporting.c). */
bool page_reporting_request_now(void);

#define ORDER_2M 9
#define PA_MAX_UL(a, b) ((a) > (b) ? (a) : (b))

static void setup_reporting(const char *delay, const char *order)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "256M");
    t_setenv("PAGEALLOC_RELEASE", delay);
    t_setenv("PAGEALLOC_RELEASE_ORDER", order);
    ck_assert_int_eq(pa_init(NULL), 0);
}

static unsigned long rss_kib(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return resident * (unsigned long)sysconf(_SC_PAGESIZE) / 1024;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Wait (bounded: a loaded machine is slow, never an assertion on time)
 * until at least `pages` free pages are reported. */
static unsigned long wait_reported(unsigned long pages)
{
    unsigned long v = 0;
    for (int i = 0; i < 600; i++) {
        v = t_vmstat("pa_nr_reported_pages");
        if (v >= pages)
            break;
        if (i % 50 == 0)
            page_reporting_request_now();
        sleep_ms(50);
    }
    return v;
}

/* TSan's shadow memory counts in RSS and in a cgroup's usage, and is not
 * given back when the memory it shadows is. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* Allocate n order-9 blocks and write a pattern over all of them. */
static void fill_pattern(struct t_blocks *l, size_t n, int byte)
{
    for (size_t i = 0; i < n; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, ORDER_2M);
        ck_assert_ptr_nonnull(p);
        memset(pa_page_address(p), byte, T_PAGE << ORDER_2M);
        t_blocks_push(l, p, ORDER_2M);
    }
}

/* Freed memory is given back: RSS drops, the counters say so, and what is
 * allocated from it again reads as zeros (with or without __GFP_ZERO). */
START_TEST(test_reported_blocks_zero_and_rss_drops)
{
    setup_reporting("0", "9");
    struct t_blocks l = {0};
    fill_pattern(&l, 48, 0x5a);   /* 96 MiB */
    /* before the free: with no delay the worker may report the blocks
     * before this thread gets to read the counter (seen under TSan) */
    unsigned long reported0 = t_vmstat("pa_nr_reported_pages");
    unsigned long reports0 = t_vmstat("pa_page_reports");
    unsigned long peak = rss_kib();
    t_blocks_free_all(&l);
    t_drain();
    /* the freed blocks on top of what was reported already (the rest of
     * the node alone can hold 48 blocks' worth), then a report after
     * reports0 (a batch counted just before it may be put back after) */
    unsigned long got = wait_reported(reported0 + (48UL << ORDER_2M));
    ck_assert_msg(got >= reported0 + (48UL << ORDER_2M), "only %lu pages reported, %lu before the free", got,
                  reported0);
    for (int i = 0; i < 600 && t_vmstat("pa_page_reports") <= reports0; i++)
        sleep_ms(50);
    ck_assert_uint_gt(t_vmstat("pa_page_reports"), reports0);
    ck_assert_uint_ge(t_vmstat("pa_pages_reported"), 48UL << ORDER_2M);
    ck_assert_int_eq(pa_check_invariants(), 0);
    unsigned long now = rss_kib();
    /* under TSan the shadow of the 96 MiB stays resident (66 of 96 MiB
     * dropped in one CI run): the counters above are the check there */
    if (!UNDER_TSAN)
        ck_assert_msg(now + 80 * 1024 < peak, "RSS %lu KiB after reporting, %lu KiB at the peak", now, peak);

    /* everything comes back zero-filled, the zeroing skipped or not */
    for (int i = 0; i < 48; i++) {
        pa_gfp_t gfp = i & 1 ? PA_GFP_KERNEL | PA_GFP_ZERO : PA_GFP_KERNEL;
        struct pa_page *p = pa_alloc_pages(gfp, ORDER_2M);
        ck_assert_ptr_nonnull(p);
        char *a = pa_page_address(p);
        ck_assert_int_eq(t_first_not(a, 0, T_PAGE << ORDER_2M), -1);
        memset(a, 0x33, T_PAGE << ORDER_2M);   /* repopulated, and used */
        ck_assert_int_eq(t_first_not(a, 0x33, T_PAGE << ORDER_2M), -1);
        t_blocks_push(&l, p, ORDER_2M);
    }
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

/* A block merged from a reported half and a half that was written is not
 * reported: __GFP_ZERO must clear it (a zeroing skip on the buddy's mark
 * would hand out the written half).  The delay is long so that the worker
 * does not report the merged block before it is taken again. */
START_TEST(test_merge_with_unreported_half_is_zeroed)
{
    setup_reporting("60000", "9");
    struct t_blocks l = {0};
    fill_pattern(&l, 16, 0x77);
    t_blocks_free_all(&l);
    t_drain();
    ck_assert_uint_ge(wait_reported(16UL << ORDER_2M), 16UL << ORDER_2M);

    /* the first quarter of a reported order-10 block (order 8: no per-CPU
     * list in between): zeros; write it, free it */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, ORDER_2M - 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(t_first_not(pa_page_address(p), 0, T_PAGE << (ORDER_2M - 1)), -1);
    memset(pa_page_address(p), 0x99, T_PAGE << (ORDER_2M - 1));
    pa_free_pages(p, ORDER_2M - 1);
    t_drain();
    ck_assert_int_eq(pa_check_invariants(), 0);
    /* it merged with its reported buddies: the order-10 block is not
     * reported, and __GFP_ZERO must clear it when it is handed out */
    char *mine = pa_page_address(p);
    bool found = false;
    for (int i = 0; i < 4096 && !found; i++) {
        struct pa_page *q = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ZERO | PA_GFP_NOWARN, ORDER_2M + 1);
        if (!q)
            break;
        char *a = pa_page_address(q);
        long bad = t_first_not(a, 0, T_PAGE << (ORDER_2M + 1));
        ck_assert_msg(bad == -1, "__GFP_ZERO order-10 block has data at byte %ld", bad);
        found = a <= mine && mine < a + (T_PAGE << (ORDER_2M + 1));
        t_blocks_push(&l, q, ORDER_2M + 1);
    }
    ck_assert_msg(found, "the merged block was never handed out");
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
}
END_TEST

/* Splitting a reported block leaves reported halves: the count stays
 * exact through split, merge and allocation (the walker checks it). */
START_TEST(test_reported_mark_through_split_and_merge)
{
    setup_reporting("60000", "9");
    struct t_blocks l = {0};
    fill_pattern(&l, 16, 0x11);
    t_blocks_free_all(&l);
    t_drain();
    ck_assert_uint_ge(wait_reported(16UL << ORDER_2M), 16UL << ORDER_2M);
    unsigned long before = t_vmstat("pa_nr_reported_pages");
    /* one order-0 page out of a reported block: the rest stays reported */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_ZERO, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(t_first_not(pa_page_address(p), 0, T_PAGE), -1);
    ck_assert_int_eq(pa_check_invariants(), 0);
    unsigned long after = t_vmstat("pa_nr_reported_pages");
    /* the per-CPU refill took a batch of pages, all from reported memory */
    ck_assert_msg(after + 4096 >= before && after < before, "reported %lu -> %lu after one page", before, after);
    pa_free_pages(p, 0);
    t_drain();
    ck_assert_int_eq(pa_check_invariants(), 0);
    t_blocks_release(&l);
}
END_TEST

/* Reporting with no delay at a low order, racing with allocating and
 * freeing threads and with compaction: nothing lost, nothing corrupted. */
struct race_arg {
    uint64_t seed;
    int iterations;
    int errors;
};

static void *race_thread(void *arg)
{
    struct race_arg *a = arg;
    enum { SLOTS = 64 };
    struct pa_page *slot[SLOTS] = {0};
    unsigned int order[SLOTS] = {0};
    unsigned char tag[SLOTS] = {0};
    for (int i = 0; i < a->iterations; i++) {
        int s = (int)(t_rand(&a->seed) % SLOTS);
        if (slot[s]) {
            if (t_first_not(pa_page_address(slot[s]), tag[s], T_PAGE << order[s]) != -1)
                a->errors++;
            pa_free_pages(slot[s], order[s]);
            slot[s] = NULL;
            continue;
        }
        order[s] = (unsigned int)(t_rand(&a->seed) % 6);
        pa_gfp_t gfp = (t_rand(&a->seed) & 1) ? PA_GFP_HIGHUSER_MOVABLE : PA_GFP_KERNEL | PA_GFP_ZERO;
        slot[s] = pa_alloc_pages(gfp | PA_GFP_NOWARN, order[s]);
        if (!slot[s])
            continue;
        if ((gfp & PA_GFP_ZERO) && t_first_not(pa_page_address(slot[s]), 0, T_PAGE << order[s]) != -1)
            a->errors++;
        tag[s] = (unsigned char)(1 + t_rand(&a->seed) % 250);
        memset(pa_page_address(slot[s]), tag[s], T_PAGE << order[s]);
    }
    for (int s = 0; s < SLOTS; s++)
        if (slot[s]) {
            if (t_first_not(pa_page_address(slot[s]), tag[s], T_PAGE << order[s]) != -1)
                a->errors++;
            pa_free_pages(slot[s], order[s]);
        }
    return NULL;
}

START_TEST(test_reporting_races_allocation_and_compaction)
{
    setup_reporting("0", "3");
    /* the worker reports what t_settle frees: the most seen is all of it */
    unsigned long free0 = t_settle(PA_GFP_KERNEL);
    for (int i = 0; i < 20; i++) {
        sleep_ms(20);
        free0 = PA_MAX_UL(free0, t_nr_free_settled());
    }
    struct race_arg args[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (struct race_arg){ .seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1), .iterations = 20000 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
    }
    unsigned long reports0 = t_vmstat("pa_page_reports");
    for (int i = 0; i < 20; i++) {
        page_reporting_request_now();
        pa_compact_memory();
        sleep_ms(10);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].errors, 0);
    }
    ck_assert_uint_gt(t_vmstat("pa_page_reports"), reports0);
    /* the worker may be mid-pass: wait until nothing is off the lists */
    unsigned long free1 = 0;
    for (int i = 0; i < 400 && (free1 = t_nr_free_settled()) != free0; i++)
        sleep_ms(10);
    ck_assert_uint_eq(free1, free0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* Whole free sections go offline after reporting and come back on demand,
 * round after round, with the data of the blocks written in them intact. */
#define ANY_SECTION ULONG_MAX

/* Wait (bounded) until pa_sections_offlined passes more_than and, unless
 * pfn is ANY_SECTION, pfn's section reads as offline.  The counter alone
 * is no proof that a given section went: the worker's pass of the round
 * before may still be offlining lower sections when the next round takes
 * its snapshot, and those count. */
static unsigned long wait_offlined(unsigned long more_than, unsigned long pfn)
{
    unsigned long v = 0;
    for (int i = 0; i < 600; i++) {
        v = t_vmstat("pa_sections_offlined");
        if (v > more_than && (pfn == ANY_SECTION || !pa_pfn_to_page(pfn)))
            break;
        if (i % 50 == 0)
            page_reporting_request_now();
        sleep_ms(50);
    }
    return v;
}

START_TEST(test_sections_offline_and_online_again)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "512M");
    t_setenv("PAGEALLOC_RELEASE", "0");
    t_setenv("PAGEALLOC_RELEASE_ORDER", "9");
    ck_assert_int_eq(pa_init(NULL), 0);
    for (int round = 0; round < 3; round++) {
        unsigned long onlined = t_vmstat("pa_sections_onlined"), offlined = t_vmstat("pa_sections_offlined");
        struct t_blocks l = {0};
        for (int i = 0; i < 96; i++) {   /* 384 MiB: three sections at least */
            struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, PA_MAX_ORDER);
            ck_assert_ptr_nonnull(p);
            memset(pa_page_address(p), 1 + (round * 96 + i) % 250, T_PAGE << PA_MAX_ORDER);
            t_blocks_push(&l, p, PA_MAX_ORDER);
        }
        if (round)   /* what went offline came back */
            ck_assert_uint_gt(t_vmstat("pa_sections_onlined"), onlined);
        for (size_t i = 0; i < l.n; i++)
            ck_assert_int_eq(t_first_not(pa_page_address(l.v[i].page), 1 + (round * 96 + (int)i) % 250,
                                         T_PAGE << PA_MAX_ORDER), -1);
        ck_assert_int_eq(pa_check_invariants(), 0);
        unsigned long last = (512UL << 20) / T_PAGE - 1;
        const struct pa_page *last_page = pa_pfn_to_page(last);   /* online now */
        ck_assert_ptr_nonnull(last_page);
        t_blocks_free_all(&l);
        t_blocks_release(&l);
        t_drain();
        /* the node's last section, the first to go, reads as offline */
        ck_assert_uint_gt(wait_offlined(offlined, last), offlined);
        ck_assert_ptr_null(pa_pfn_to_page(last));
        /* and a descriptor kept from before has no address any more */
        errno = 0;
        ck_assert_ptr_null(pa_page_address(last_page));
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_int_eq(pa_check_invariants(), 0);
    }
}
END_TEST

/* Offlining and onlining racing with allocating and freeing threads. */
START_TEST(test_offline_races_allocation)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "512M");
    t_setenv("PAGEALLOC_RELEASE", "0");
    t_setenv("PAGEALLOC_RELEASE_ORDER", "9");
    ck_assert_int_eq(pa_init(NULL), 0);
    unsigned long offlined = t_vmstat("pa_sections_offlined");
    for (int round = 0; round < 4; round++) {
        struct t_blocks l = {0};
        for (int i = 0; i < 96; i++) {
            struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, PA_MAX_ORDER);
            if (p)
                t_blocks_push(&l, p, PA_MAX_ORDER);
        }
        t_blocks_free_all(&l);
        t_blocks_release(&l);
        struct race_arg args[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            args[i] = (struct race_arg){ .seed = 0x2545F4914F6CDD1DULL * (uint64_t)(round * 2 + i + 1),
                                         .iterations = 5000 };
            ck_assert_int_eq(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
        }
        for (int i = 0; i < 10; i++) {
            page_reporting_request_now();
            sleep_ms(20);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            ck_assert_int_eq(args[i].errors, 0);
        }
        t_drain();
        ck_assert_int_eq(pa_check_invariants(), 0);
    }
    ck_assert_uint_gt(wait_offlined(offlined, ANY_SECTION), offlined);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* PAGEALLOC_RELEASE=off: nothing is ever reported; a bad value is named. */
START_TEST(test_release_off)
{
    t_env_reset();
    t_setenv("PAGEALLOC_RELEASE", "off");
    t_setenv("PAGEALLOC_PRESSURE", "on");
    ck_assert_int_eq(pa_init(NULL), 0);
    struct t_blocks l = {0};
    fill_pattern(&l, 8, 1);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    t_drain();
    ck_assert(!page_reporting_request_now());
    sleep_ms(300);
    ck_assert_uint_eq(t_vmstat("pa_nr_reported_pages"), 0);
    ck_assert_uint_eq(t_vmstat("pa_page_reports"), 0);
}
END_TEST

START_TEST(test_release_bad_value)
{
    t_env_reset();
    t_setenv("PAGEALLOC_RELEASE", "soon");
    struct t_capture c;
    t_capture_begin(&c);
    ck_assert_int_eq(pa_init(NULL), 0);
    char *err = t_capture_end(&c);
    ck_assert_msg(strstr(err, "PAGEALLOC_RELEASE=\"soon\"") != NULL, "stderr: %s", err);
    free(err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A cgroup v2 with memory.high below the program's peak               */
/* ------------------------------------------------------------------ */

/* Internal: the reaction to memory pressure (pressure.c). */
void pressure_react(unsigned long nr_pages);

/* The reaction itself, without a cgroup: the shrinkers give up what was
 * asked (the kswapd boost may take more), and it is reported. */
START_TEST(test_pressure_react_shrinks_and_reports)
{
    setup_reporting("60000", "9");
    struct cache c = { .lock = PTHREAD_MUTEX_INITIALIZER };
    size_t cap = (64UL << 20) / T_PAGE;
    c.pages = calloc(cap, sizeof(*c.pages));
    ck_assert_ptr_nonnull(c.pages);
    struct pa_shrinker *s = pa_shrinker_alloc(0, "test-cache");
    ck_assert_ptr_nonnull(s);
    s->count_objects = cache_count;
    s->scan_objects = cache_scan;
    s->private_data = &c;
    pa_shrinker_register(s);
    for (size_t i = 0; i < cap; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        ck_assert_ptr_nonnull(p);
        memset(pa_page_address(p), 0xcc, T_PAGE);
        pthread_mutex_lock(&c.lock);
        c.pages[c.n++] = p;
        pthread_mutex_unlock(&c.lock);
    }
    unsigned long reported0 = t_vmstat("pa_pages_reported");
    pressure_react((16UL << 20) / T_PAGE);
    ck_assert_uint_eq(t_vmstat("pa_pressure_events"), 1);
    pthread_mutex_lock(&c.lock);
    size_t left = c.n;
    pthread_mutex_unlock(&c.lock);
    ck_assert_msg(left <= cap - (16UL << 20) / T_PAGE, "the cache still holds %zu of %zu pages", left, cap);
    t_drain();
    unsigned long reported = reported0;
    for (int i = 0; i < 200 && reported == reported0; i++) {
        if (i % 50 == 0)
            page_reporting_request_now();
        sleep_ms(50);
        reported = t_vmstat("pa_pages_reported");
    }
    ck_assert_uint_gt(reported, reported0);
    ck_assert_int_eq(pa_check_invariants(), 0);
    pa_shrinker_free(s);
}
END_TEST

static char cg_dir[PATH_MAX];

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return (fclose(f) == 0) && ok;
}

/* A fresh cgroup under the cgroup2 mount with the memory controller, or
 * the reason there is none. */
static const char *make_cgroup(void)
{
    static char why[2 * PATH_MAX + 256];
    char line[4096], mnt[PATH_MAX] = "";
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f)
        return "no /proc/self/mountinfo";
    while (fgets(line, sizeof(line), f)) {
        char point[PATH_MAX];
        if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
            snprintf(mnt, sizeof(mnt), "%s", point);
            break;
        }
    }
    fclose(f);
    if (!mnt[0])
        return "no cgroup2 file system is mounted";
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
    f = fopen(path, "r");
    if (!f || !fgets(line, sizeof(line), f) || !strstr(line, "memory")) {
        if (f)
            fclose(f);
        snprintf(why, sizeof(why), "the memory controller is not enabled on the cgroup2 mount %s "
                                   "(a cgroup v1 hierarchy may hold it)", mnt);
        return why;
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mnt);
    if (!write_file(path, "+memory")) {
        snprintf(why, sizeof(why), "cannot enable memory in %s: %s", path, strerror(errno));
        return why;
    }
    snprintf(cg_dir, sizeof(cg_dir), "%s/pagealloc-test-%d", mnt, (int)getpid());
    if (mkdir(cg_dir, 0755) != 0) {
        snprintf(why, sizeof(why), "cannot create %s: %s", cg_dir, strerror(errno));
        return why;
    }
    return NULL;
}

static unsigned long long read_ull(const char *name)
{
    return cg_read_ull(cg_dir, name);
}

#define CACHE_MIB 160
#define WORK_MIB 96
#define HIGH_MIB 192

/* In the child, inside the cgroup: fill the cache, then the working set
 * (together above memory.high), check every byte of the working set. */
static void pressure_child(void *arg)
{
    const char *usage = arg;   /* memory.current, or v1's memory.usage_in_bytes */
    t_env_reset();
    setenv("PAGEALLOC_NODE_SIZE", "512M", 1);
    setenv("PAGEALLOC_RELEASE", "2000", 1);
    setenv("PAGEALLOC_PRESSURE", "on", 1);
    t_child_check(pa_init(NULL) == 0);
    struct cache c = { .lock = PTHREAD_MUTEX_INITIALIZER };
    size_t cap = (CACHE_MIB << 20) / T_PAGE;
    c.pages = calloc(cap, sizeof(*c.pages));
    t_child_check(c.pages != NULL);
    struct pa_shrinker *s = pa_shrinker_alloc(0, "test-cache");
    t_child_check(s != NULL);
    s->count_objects = cache_count;
    s->scan_objects = cache_scan;
    s->private_data = &c;
    pa_shrinker_register(s);
    for (size_t i = 0; i < cap; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        t_child_check(p != NULL);
        memset(pa_page_address(p), 0xcc, T_PAGE);
        pthread_mutex_lock(&c.lock);
        c.pages[c.n++] = p;
        pthread_mutex_unlock(&c.lock);
    }
    /* the working set, in 2 MiB blocks, each with its own pattern */
    size_t nwork = (WORK_MIB << 20) / (T_PAGE << ORDER_2M);
    struct pa_page **work = calloc(nwork, sizeof(*work));
    t_child_check(work != NULL);
    for (size_t i = 0; i < nwork; i++) {
        work[i] = pa_alloc_pages(PA_GFP_KERNEL, ORDER_2M);
        t_child_check(work[i] != NULL);
        memset(pa_page_address(work[i]), (int)(i % 250) + 1, T_PAGE << ORDER_2M);
        sleep_ms(20);   /* time for the listener to react between steps */
    }
    /* give the listener time to act; then the output must be intact */
    for (int i = 0; i < 100 && read_ull(usage) > (HIGH_MIB << 20); i++)
        sleep_ms(100);
    for (size_t i = 0; i < nwork; i++)
        t_child_check(t_first_not(pa_page_address(work[i]), (int)(i % 250) + 1, T_PAGE << ORDER_2M) == -1);
    unsigned long events = 0, reported = 0;
    pa_vmstat_get("pa_pressure_events", &events);
    pa_vmstat_get("pa_pages_reported", &reported);
    t_child_check(events > 0);
    t_child_check(reported > 0);
    t_child_check(read_ull(usage) <= (HIGH_MIB << 20));
    t_child_check(pa_check_invariants() == 0);
}

/* TSan's shadow of the child's memory is charged to the cgroup too, several
 * times the memory itself: no limit below the peak can be met, or (v1's
 * hard limit) the child is OOM-killed.  The cgroup cases skip under it. */
#if UNDER_TSAN
#define CGROUP_SKIP_SANITIZER "TSan's shadow memory is charged to the cgroup as well"
#endif

/* Fork pressure_child inside cg_dir: this process moves in around the
 * fork and back (to back_procs) after; the cgroup is removed. */
static void run_child_in_cgroup(const char *back_procs, const char *usage)
{
    char path[PATH_MAX + 64], self[32];
    snprintf(self, sizeof(self), "%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
    ck_assert_msg(write_file(path, self), "%s: %s", path, strerror(errno));
    struct t_child child;
    t_run_child(pressure_child, (void *)usage, &child);
    write_file(back_procs, self);
    rmdir(cg_dir);
    char buf[128];
    ck_assert_msg(t_exited_ok(&child), "child: %s", t_describe_status(&child, buf, sizeof(buf)));
}

START_TEST(test_cgroup_memory_high)
{
#ifdef CGROUP_SKIP_SANITIZER
    fprintf(stderr, "test_cgroup_memory_high: SKIPPED: %s\n", CGROUP_SKIP_SANITIZER);
    return;
#endif
    const char *why = make_cgroup();
    if (why) {
        fprintf(stderr, "test_cgroup_memory_high: SKIPPED: %s; the real cgroup v2 case runs in the "
                        "numa-vm guest (ctest -L numa-vm, tests/numa-vm/README.md)\n", why);
        return;
    }
    char path[PATH_MAX + 64], text[64];
    snprintf(path, sizeof(path), "%s/memory.high", cg_dir);
    snprintf(text, sizeof(text), "%lu", (unsigned long)HIGH_MIB << 20);
    ck_assert(write_file(path, text));
    /* the child is forked inside the cgroup: this process moves in around
     * the fork and back out after */
    char orig[PATH_MAX + 8] = "", line[PATH_MAX + 8];
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(orig, sizeof(orig), "%s", line + 3);
        }
    if (f)
        fclose(f);
    char back[2 * PATH_MAX];
    snprintf(back, sizeof(back), "%.*s%s/cgroup.procs", (int)(strrchr(cg_dir, '/') - cg_dir), cg_dir,
             strcmp(orig, "/") == 0 ? "" : orig);
    run_child_in_cgroup(back, "memory.current");
}
END_TEST

/* The same under a cgroup v1 memory controller (as on hosts where the v1
 * hierarchy holds it): memory.soft_limit_in_bytes below the peak stands for
 * memory.high; memory.limit_in_bytes, above the peak, only keeps the OOM
 * killer out of a run where the library does not react.  The cgroup is a
 * child of this process's own memory cgroup. */
START_TEST(test_cgroup_v1_memory_limit)
{
#ifdef CGROUP_SKIP_SANITIZER
    fprintf(stderr, "test_cgroup_v1_memory_limit: SKIPPED: %s\n", CGROUP_SKIP_SANITIZER);
    return;
#endif
    char line[PATH_MAX + 64], mnt[PATH_MAX] = "", orig[PATH_MAX] = "";
    FILE *f = fopen("/proc/self/mountinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        char root[PATH_MAX], point[PATH_MAX];
        const char *sep = strstr(line, " - cgroup ");
        if (sep && strstr(sep, ",memory") && sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) == 2 &&
            strcmp(root, "/") == 0) {
            snprintf(mnt, sizeof(mnt), "%s", point);
            break;
        }
    }
    if (f)
        fclose(f);
    f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof(line), f)) {
        char *p = strstr(line, ":memory:");
        if (p) {
            p[strcspn(p, "\n")] = 0;
            snprintf(orig, sizeof(orig), "%s", strcmp(p + 8, "/") == 0 ? "" : p + 8);
        }
    }
    if (f)
        fclose(f);
    if (!mnt[0]) {
        fprintf(stderr, "test_cgroup_v1_memory_limit: SKIPPED: no cgroup v1 memory hierarchy is mounted\n");
        return;
    }
    snprintf(cg_dir, sizeof(cg_dir), "%s%s/pagealloc-test-%d", mnt, orig, (int)getpid());
    if (mkdir(cg_dir, 0755) != 0) {
        fprintf(stderr, "test_cgroup_v1_memory_limit: SKIPPED: cannot create %s: %s\n", cg_dir, strerror(errno));
        return;
    }
    char path[PATH_MAX + 64], text[64], back[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg_dir);
    snprintf(text, sizeof(text), "%lu", (unsigned long)(CACHE_MIB + WORK_MIB + 64) << 20);
    bool ok = write_file(path, text);
    snprintf(path, sizeof(path), "%s/memory.soft_limit_in_bytes", cg_dir);
    snprintf(text, sizeof(text), "%lu", (unsigned long)HIGH_MIB << 20);
    ok = ok && write_file(path, text);
    if (!ok) {
        fprintf(stderr, "test_cgroup_v1_memory_limit: SKIPPED: cannot set the limits in %s: %s\n", cg_dir,
                strerror(errno));
        rmdir(cg_dir);
        return;
    }
    snprintf(back, sizeof(back), "%s%s/cgroup.procs", mnt, orig);
    run_child_in_cgroup(back, "memory.usage_in_bytes");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("page_reporting");
    TCase *tc = t_tcase(s, "reporting", 120);
    tcase_add_test(tc, test_reported_blocks_zero_and_rss_drops);
    tcase_add_test(tc, test_merge_with_unreported_half_is_zeroed);
    tcase_add_test(tc, test_reported_mark_through_split_and_merge);
    tcase_add_test(tc, test_reporting_races_allocation_and_compaction);
    tcase_add_test(tc, test_sections_offline_and_online_again);
    tcase_add_test(tc, test_offline_races_allocation);
    tcase_add_test(tc, test_release_off);
    tcase_add_test(tc, test_release_bad_value);
    tc = t_tcase(s, "pressure", 300);
    tcase_add_test(tc, test_pressure_react_shrinks_and_reports);
    tcase_add_test(tc, test_cgroup_memory_high);
    tcase_add_test(tc, test_cgroup_v1_memory_limit);
    return t_run_suite(s);
}

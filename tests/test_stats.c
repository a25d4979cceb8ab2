/* SPDX-License-Identifier: MIT */
/*
 * Statistics (src/stats.c): the /proc text layouts existing scripts parse,
 * pa_vmstat_get, counters that move with allocations and frees, and the
 * PAGEALLOC_STATS exit report.
 */
#include "pa_test.h"

#include <regex.h>
#include <sys/stat.h>

#include "internal.h"

static void setup(void)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    /* Some memory online, so every report has content. */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    pa_free_pages(p, 0);
}

static int (*const shows[])(FILE *) = {
    pa_show_buddyinfo, pa_show_zoneinfo, pa_show_pagetypeinfo, pa_show_vmstat, pa_show_numastat,
};

START_TEST(test_show_return_values)
{
    setup();
    for (size_t i = 0; i < sizeof(shows) / sizeof(shows[0]); i++) {
        FILE *f = tmpfile();
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(shows[i](f), 0);
        ck_assert_msg(ftell(f) > 0, "report %zu wrote nothing", i);
        fclose(f);
        errno = 0;
        ck_assert_int_eq(shows[i](NULL), -1);
        ck_assert_int_eq(errno, EINVAL);
        /* A stream that cannot be written: -1 with the stream's error. */
        FILE *ro = fopen("/dev/null", "r");
        ck_assert_ptr_nonnull(ro);
        errno = 0;
        ck_assert_msg(shows[i](ro) == -1, "report %zu: success on a read-only stream", i);
        ck_assert_int_ne(errno, 0);
        fclose(ro);
    }
}
END_TEST

/* Every line of text matches the extended regular expression. */
static int match_lines(const char *text, const char *re_src, int *nlines)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB), 0);
    int bad = 0, n = 0;
    char *copy = strdup(text);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        n++;
        if (regexec(&re, line, 0, NULL, 0) != 0) {
            fprintf(stderr, "line does not match /%s/: \"%s\"\n", re_src, line);
            bad++;
        }
    }
    free(copy);
    regfree(&re);
    *nlines = n;
    return bad;
}

START_TEST(test_buddyinfo_layout)
{
    setup();
    char *text = t_show(pa_show_buddyinfo);
    char re[128];
    snprintf(re, sizeof(re), "^Node [0-9]+, zone +[A-Za-z0-9]+( +[0-9]+){%d} *$", PA_MAX_ORDER + 1);
    int n = 0;
    ck_assert_int_eq(match_lines(text, re, &n), 0);
    ck_assert_int_ge(n, 2); /* DMA and Normal on node 0 */
    ck_assert_ptr_nonnull(strstr(text, "Node 0, zone   Normal"));
    ck_assert_ptr_nonnull(strstr(text, "Node 0, zone      DMA"));
    free(text);
}
END_TEST

/* buddyinfo's numbers are free_area[].nr_free, and they add up to nr_free_pages. */
START_TEST(test_buddyinfo_matches_free_area)
{
    setup();
    t_settle(PA_GFP_KERNEL);
    struct pa_page *keep = pa_alloc_pages(PA_GFP_KERNEL, 3); /* split something */
    ck_assert_ptr_nonnull(keep);
    t_drain();
    char *text = t_show(pa_show_buddyinfo);
    unsigned long total = 0;
    int rows = 0;
    char *copy = strdup(text);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int nid, used = 0;
        char zname[32];
        ck_assert_int_eq(sscanf(line, "Node %d, zone %31s%n", &nid, zname, &used), 2);
        struct zone *z = NULL;
        for (int zid = 0; zid < MAX_NR_ZONES; zid++)
            if (strcmp(NODE_DATA(nid)->node_zones[zid].name, zname) == 0)
                z = &NODE_DATA(nid)->node_zones[zid];
        ck_assert_msg(z != NULL, "unknown zone %s", zname);
        char *p = line + used;
        for (int o = 0; o <= PA_MAX_ORDER; o++) {
            char *end;
            unsigned long v = strtoul(p, &end, 10);
            ck_assert_ptr_ne(end, p);
            p = end;
            ck_assert_msg(v == z->free_area[o].nr_free, "%s order %d: %lu shown, %lu in free_area",
                          zname, o, v, z->free_area[o].nr_free);
            total += v << o;
        }
        rows++;
    }
    ck_assert_int_gt(rows, 0);
    ck_assert_msg(total == t_nr_free(), "buddyinfo adds up to %lu pages, nr_free_pages is %lu",
                  total, t_nr_free());
    free(copy);
    free(text);
    pa_free_pages(keep, 3);
}
END_TEST

START_TEST(test_zoneinfo_layout)
{
    setup();
    char *text = t_show(pa_show_zoneinfo);
    static const char *const needles[] = {
        "Node 0, zone   Normal", "Node 0, zone      DMA", "\n  pages free", "\n        min",
        "\n        low", "\n        high", "\n        spanned", "\n        present",
        "\n        managed", "\n        protection: (", "\n  start_pfn:",
    };
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        ck_assert_msg(strstr(text, needles[i]) != NULL, "zoneinfo lacks \"%s\"", needles[i]);
    /* The Normal zone's numbers are the zone's. */
    struct zone *z = &NODE_DATA(0)->node_zones[PA_ZONE_NORMAL];
    char *sec = strstr(text, "Node 0, zone   Normal");
    unsigned long spanned = 0, managed = 0, min = 0;
    char *s = strstr(sec, "\n        spanned");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sscanf(s, "\n        spanned %lu", &spanned), 1);
    s = strstr(sec, "\n        managed");
    ck_assert_int_eq(sscanf(s, "\n        managed %lu", &managed), 1);
    s = strstr(sec, "\n        min");
    ck_assert_int_eq(sscanf(s, "\n        min %lu", &min), 1);
    ck_assert_uint_eq(spanned, z->spanned_pages);
    ck_assert_uint_eq(managed, z->managed_pages);
    ck_assert_uint_eq(min, min_wmark_pages(z));
    ck_assert_uint_eq(spanned, 48UL << 8); /* 64M node minus the 16M DMA zone */
    free(text);
}
END_TEST

START_TEST(test_pagetypeinfo_layout)
{
    setup();
    char *text = t_show(pa_show_pagetypeinfo);
    ck_assert_msg(strncmp(text, "Page block order: 9\nPages per block:  512\n", 42) == 0,
                  "pagetypeinfo starts: %.60s", text);
    ck_assert_ptr_nonnull(strstr(text, "Free pages count per migrate type at order"));
    ck_assert_ptr_nonnull(strstr(text, "Number of blocks type"));
    static const char *const types[] = {"Unmovable", "Movable", "Reclaimable", "HighAtomic"};
    char *blocks = strstr(text, "Number of blocks type");
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(strstr(blocks, types[i]) != NULL, "no %s column", types[i]);
    /* Free-list rows: "Node    0, zone   Normal, type      Movable  n n n ..." */
    regex_t re;
    char src[160];
    snprintf(src, sizeof(src), "^Node +[0-9]+, zone +[A-Za-z0-9]+, type +[A-Za-z]+( +>?[0-9]+){%d} *$",
             PA_MAX_ORDER + 1);
    ck_assert_int_eq(regcomp(&re, src, REG_EXTENDED | REG_NOSUB), 0);
    int rows = 0;
    char *copy = strdup(text);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (strstr(line, ", type ")) {
            ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "bad row: \"%s\"", line);
            rows++;
        }
    regfree(&re);
    free(copy);
    ck_assert_int_ge(rows, 2 * 4);
    free(text);
}
END_TEST

START_TEST(test_vmstat_layout)
{
    setup();
    char *text = t_show(pa_show_vmstat);
    int n = 0;
    ck_assert_int_eq(match_lines(text, "^[a-z][a-z0-9_]* [0-9]+$", &n), 0);
    ck_assert_int_ge(n, 8);
    static const char *const names[] = {"nr_free_pages", "pgalloc_normal", "pgalloc_dma", "pgfree",
                                        "numa_hit", "numa_miss", "numa_foreign", "pa_alloc_fail",
                                        "pa_bad_page"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\n%s ", names[i]);
        bool first = strncmp(text, needle + 1, strlen(needle) - 1) == 0;
        ck_assert_msg(first || strstr(text, needle) != NULL, "vmstat lacks %s", names[i]);
        /* The text and pa_vmstat_get agree (nothing runs concurrently). */
        const char *at = first ? text : strstr(text, needle) + 1;
        unsigned long shown = strtoul(at + strlen(names[i]), NULL, 10);
        ck_assert_msg(shown == t_vmstat(names[i]), "%s: %lu shown, %lu from pa_vmstat_get",
                      names[i], shown, t_vmstat(names[i]));
    }
    free(text);
}
END_TEST

START_TEST(test_vmstat_get_errors)
{
    setup();
    unsigned long v = 12345;
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get("no_such_counter", &v), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_uint_eq(v, 12345);
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get("", &v), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get("nr_free_pages ", &v), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get(NULL, &v), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pa_vmstat_get("pgfree", NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_counters_move)
{
    setup();
    for (unsigned int order = 0; order <= PA_MAX_ORDER; order++) {
        unsigned long a0 = t_vmstat("pgalloc_normal"), f0 = t_vmstat("pgfree");
        unsigned long h0 = t_vmstat("numa_hit"), l0 = t_vmstat("numa_local");
        unsigned long d0 = t_vmstat("pgalloc_dma");
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_NORMAL);
        ck_assert_msg(t_vmstat("pgalloc_normal") == a0 + (1UL << order),
                      "order %u: pgalloc_normal +%lu, want +%lu", order,
                      t_vmstat("pgalloc_normal") - a0, 1UL << order);
        ck_assert_uint_eq(t_vmstat("pgalloc_dma"), d0);
        ck_assert_uint_eq(t_vmstat("numa_hit"), h0 + 1);
        ck_assert_uint_eq(t_vmstat("numa_local"), l0 + 1);
        ck_assert_uint_eq(t_vmstat("pgfree"), f0);
        pa_free_pages(p, order);
        ck_assert_msg(t_vmstat("pgfree") == f0 + (1UL << order), "order %u: pgfree +%lu", order,
                      t_vmstat("pgfree") - f0);
        ck_assert_uint_eq(t_vmstat("pgalloc_normal"), a0 + (1UL << order));
    }
    /* DMA allocations count in pgalloc_dma. */
    unsigned long d0 = t_vmstat("pgalloc_dma");
    struct pa_page *p = pa_alloc_pages(PA_GFP_DMA, 2);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(t_vmstat("pgalloc_dma"), d0 + 4);
    pa_free_pages(p, 2);
}
END_TEST

/* Counters of a thread that has exited are not lost. */
static void *alloc_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        if (p)
            pa_free_pages(p, 0);
    }
    return NULL;
}

START_TEST(test_counters_survive_thread_exit)
{
    setup();
    unsigned long a0 = t_vmstat("pgalloc_normal"), f0 = t_vmstat("pgfree");
    unsigned long h0 = t_vmstat("numa_hit");
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, alloc_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(t_vmstat("pgalloc_normal"), a0 + 100);
    ck_assert_uint_eq(t_vmstat("pgfree"), f0 + 100);
    ck_assert_uint_eq(t_vmstat("numa_hit"), h0 + 100);
}
END_TEST

START_TEST(test_numastat_layout)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    ck_assert_int_eq(pa_init(NULL), 0);
    for (int k = 0; k < 3; k++) {
        struct pa_page *p = pa_alloc_pages_node(1, PA_GFP_KERNEL, 0);
        ck_assert_ptr_nonnull(p);
        pa_free_pages(p, 0);
    }
    char *text = t_show(pa_show_numastat);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    char *header = strndup(text, (size_t)(nl - text));
    ck_assert_msg(strstr(header, "node0") && strstr(header, "node1"), "header: \"%s\"", header);
    free(header);
    static const char *const rows[] = {"numa_hit",       "numa_miss",  "numa_foreign",
                                       "interleave_hit", "local_node", "other_node"};
    for (size_t i = 0; i < 6; i++) {
        char *line = NULL;
        char needle[32];
        snprintf(needle, sizeof(needle), "\n%s ", rows[i]);
        char *at = strstr(text, needle);
        ck_assert_msg(at != NULL, "numastat lacks row %s", rows[i]);
        line = t_line_with(at + 1, rows[i]);
        /* name, then one number per node */
        char name[32];
        unsigned long v0, v1;
        ck_assert_msg(sscanf(line, "%31s %lu %lu", name, &v0, &v1) == 3, "row \"%s\"", line);
        ck_assert_str_eq(name, rows[i]);
        if (i == 0)
            ck_assert_uint_ge(v1, 3); /* the node-1 allocations above */
        free(line);
    }
    free(text);
}
END_TEST

/* In a child: PAGEALLOC_STATS=path, and the library in use. */
static void stats_child_start(const char *path)
{
    t_env_reset();
    setenv("PAGEALLOC_STATS", path, 1);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 2);
    t_child_check(p != NULL);
    pa_free_pages(p, 2);
}

/* PAGEALLOC_STATS=<file>: the reports are written at exit. */
static void stats_child(void *arg)
{
    stats_child_start(arg);
    exit(0); /* normal exit: atexit handlers run */
}

START_TEST(test_stats_at_exit)
{
    char path[] = "/tmp/pagealloc-stats-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct t_child c;
    t_run_child(stats_child, path, &c);
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "child %s", t_describe_status(&c, st, sizeof(st)));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    ck_assert_msg(n > 0, "PAGEALLOC_STATS file is empty");
    static const char *const needles[] = {"Node 0, zone   Normal", "pages free", "Page block order: 9",
                                          "nr_free_pages ", "pgalloc_normal ", "numa_hit"};
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        ck_assert_msg(strstr(buf, needles[i]) != NULL, "stats file lacks \"%s\"", needles[i]);
    /* The counters are the final ones: pgalloc_normal includes the 4 pages. */
    char *pg = strstr(buf, "\npgalloc_normal ");
    ck_assert_ptr_nonnull(pg);
    ck_assert_uint_ge(strtoul(pg + strlen("\npgalloc_normal "), NULL, 10), 4);
    free(c.err);
}
END_TEST

/* PAGEALLOC_STATS through a symbolic link: refused with a message naming
 * the variable; the link's target stays untouched. */
START_TEST(test_stats_symlink_refused)
{
    char dir[] = "/tmp/pagealloc-stats-dir-XXXXXX", target[64], link[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(target, sizeof(target), "%s/target", dir);
    snprintf(link, sizeof(link), "%s/link", dir);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(symlink(target, link), 0);
    struct t_child c;
    t_run_child(stats_child, link, &c);
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "child %s", t_describe_status(&c, st, sizeof(st)));
    ck_assert_msg(strstr(c.err, "PAGEALLOC_STATS") && strstr(c.err, "symbolic link"), "%s", c.err);
    struct stat sb;
    ck_assert_int_eq(stat(target, &sb), 0);
    ck_assert_int_eq(sb.st_size, 0);
    unlink(link);
    unlink(target);
    rmdir(dir);
    free(c.err);
}
END_TEST

/* PAGEALLOC_STATS=path.%p: each process of a forking program writes its
 * own report, created 0600. */
static void stats_fork_child(void *arg)
{
    stats_child_start(arg);
    pid_t kid = fork();
    t_child_check(kid >= 0);
    if (kid == 0)
        exit(0);
    int status;
    t_child_check(waitpid(kid, &status, 0) == kid && WIFEXITED(status));
    fprintf(stderr, "pids %d %d\n", (int)getpid(), (int)kid);
    exit(0);
}

START_TEST(test_stats_pid_per_process)
{
    char dir[] = "/tmp/pagealloc-stats-dir-XXXXXX", spec[96];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(spec, sizeof(spec), "%s/stats.%%p", dir);
    struct t_child c;
    t_run_child(stats_fork_child, spec, &c);
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "child %s", t_describe_status(&c, st, sizeof(st)));
    int pids[2];
    const char *at = strstr(c.err, "pids ");
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(sscanf(at, "pids %d %d", &pids[0], &pids[1]), 2);
    for (int i = 0; i < 2; i++) {
        char path[128], head[64];
        snprintf(path, sizeof(path), "%s/stats.%d", dir, pids[i]);
        struct stat sb;
        ck_assert_msg(stat(path, &sb) == 0, "no report %s", path);
        ck_assert_int_eq(sb.st_mode & 0777, 0600);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        snprintf(head, sizeof(head), "(pid %d)", pids[i]);
        ck_assert_msg(strstr(buf, head) != NULL, "%s lacks %s", path, head);
        ck_assert_msg(t_count_lines_with(buf, "---- pagealloc stats (pid") == 1,
                      "%s holds more than one process's report", path);
        unlink(path);
    }
    rmdir(dir);
    free(c.err);
}
END_TEST

/* PAGEALLOC_STATS=stderr: the same reports on stderr. */
static void stats_stderr_child(void *arg)
{
    (void)arg;
    t_env_reset();
    setenv("PAGEALLOC_STATS", "stderr", 1);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    t_child_check(p != NULL);
    pa_free_pages(p, 0);
    exit(0);
}

START_TEST(test_stats_at_exit_stderr)
{
    struct t_child c;
    t_run_child(stats_stderr_child, NULL, &c);
    char st[64];
    ck_assert_msg(t_exited_ok(&c), "child %s", t_describe_status(&c, st, sizeof(st)));
    ck_assert_msg(strstr(c.err, "Node 0, zone   Normal") && strstr(c.err, "nr_free_pages ") &&
                      strstr(c.err, "Page block order: 9") && strstr(c.err, "numa_hit"),
                  "no reports on stderr: %.200s", c.err);
    free(c.err);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = t_tcase(s, "layouts", 60);
    tcase_add_test(tc, test_show_return_values);
    tcase_add_test(tc, test_buddyinfo_layout);
    tcase_add_test(tc, test_buddyinfo_matches_free_area);
    tcase_add_test(tc, test_zoneinfo_layout);
    tcase_add_test(tc, test_pagetypeinfo_layout);
    tcase_add_test(tc, test_vmstat_layout);
    tcase_add_test(tc, test_numastat_layout);
    tc = t_tcase(s, "counters", 60);
    tcase_add_test(tc, test_vmstat_get_errors);
    tcase_add_test(tc, test_counters_move);
    tcase_add_test(tc, test_counters_survive_thread_exit);
    tcase_add_test(tc, test_stats_at_exit);
    tcase_add_test(tc, test_stats_symlink_refused);
    tcase_add_test(tc, test_stats_pid_per_process);
    tcase_add_test(tc, test_stats_at_exit_stderr);
    return s;
}

int main(void)
{
    return t_run_suite(stats_suite());
}

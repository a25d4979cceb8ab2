/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the Check suites.  Header-only (static functions) so
 * each test executable stays one source file.
 *
 * Mechanics every suite relies on: the library initialises once per
 * process and reads PAGEALLOC_* then; Check runs each test in a forked
 * child (CK_FORK), so a test sets its environment first and then calls
 * pa_init(NULL) or allocates.  Nothing in main() may touch the library.
 */
#ifndef PA_TEST_H
#define PA_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pagealloc/pagealloc.h>

#include "../src/option_list.h"   /* relative: suites linked without src/ on the path use it too */

#define T_PAGE 4096UL

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

/* Start from a known environment: every variable of the options table
 * unset (src/option_list.h, so a new option is reset too) except
 * PAGEALLOC_HUGEPAGES, which ctest sets for the _nohuge variant; then a
 * small node, no reporting worker moving free blocks under tests that
 * count them (test_page_reporting turns it on), and no reaction to the
 * machine's memory pressure. */
static inline void t_env_reset(void)
{
#define T_OPTION_ENV(id) "PAGEALLOC_" #id,
    static const char *const vars[] = {
        PA_OPTION_LIST(T_OPTION_ENV) PA_SHIM_OPTION_LIST(T_OPTION_ENV)
    };
#undef T_OPTION_ENV
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (strcmp(vars[i], "PAGEALLOC_HUGEPAGES") != 0)
            unsetenv(vars[i]);
    }
    setenv("PAGEALLOC_NODE_SIZE", "64M", 1);
    setenv("PAGEALLOC_RELEASE", "off", 1);
    setenv("PAGEALLOC_PRESSURE", "off", 1);
    /* the ctest variants *_locks run every case under the lock order checker */
    if (getenv("PA_TEST_DEBUG_LOCKS"))
        setenv("PAGEALLOC_DEBUG", "locks", 1);
}

static inline void t_setenv(const char *name, const char *value)
{
    ck_assert_int_eq(setenv(name, value, 1), 0);
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */
/* ------------------------------------------------------------------ */

static inline unsigned long t_vmstat(const char *name)
{
    unsigned long v = 0;
    int rc = pa_vmstat_get(name, &v);
    ck_assert_msg(rc == 0, "pa_vmstat_get(\"%s\") = %d (%s)", name, rc, strerror(errno));
    return v;
}

static inline unsigned long t_nr_free(void) { return t_vmstat("nr_free_pages"); }

/* ------------------------------------------------------------------ */
/* Lists of allocated blocks                                           */
/* ------------------------------------------------------------------ */

struct t_block {
    struct pa_page *page;
    unsigned int order;
};

struct t_blocks {
    struct t_block *v;
    size_t n, cap;
};

static inline void t_blocks_push(struct t_blocks *l, struct pa_page *page, unsigned int order)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        ck_assert_ptr_nonnull(l->v);
    }
    l->v[l->n].page = page;
    l->v[l->n].order = order;
    l->n++;
}

static inline void t_blocks_free_all(struct t_blocks *l)
{
    while (l->n > 0) {
        l->n--;
        pa_free_pages(l->v[l->n].page, l->v[l->n].order);
    }
}

static inline void t_blocks_release(struct t_blocks *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Allocate order-`order` blocks with gfp|NOWARN until the allocator says
 * no; append them to l.  Returns how many; errno is the failure's errno. */
static inline size_t t_fill(struct t_blocks *l, pa_gfp_t gfp, unsigned int order)
{
    size_t n = 0;
    for (;;) {
        errno = 0;
        struct pa_page *p = pa_alloc_pages(gfp | PA_GFP_NOWARN, order);
        if (!p)
            return n;
        t_blocks_push(l, p, order);
        n++;
    }
}

/*
 * Drain the per-CPU / per-thread page lists back to the buddy (the kernel's
 * drain_all_pages(NULL)), so that free_area[] and nr_free_pages describe
 * every free page.  Weak: a test binary still links if pcp.c names it
 * otherwise.
 */
struct zone;
void drain_all_pages(struct zone *zone) __attribute__((weak));

static inline void t_drain(void)
{
    if (drain_all_pages)
        drain_all_pages(NULL);
}

/* nr_free_pages with nothing parked on per-CPU lists. */
static inline unsigned long t_nr_free_settled(void)
{
    t_drain();
    return t_nr_free();
}

/*
 * Bring every zone the gfp can reach fully online (allocate until the
 * allocator says no), give everything back and drain the per-CPU lists:
 * afterwards the buddy holds all free memory, fully merged.  Returns
 * nr_free_pages then: the "warm" value later states are compared with.
 */
static inline unsigned long t_settle(pa_gfp_t gfp)
{
    struct t_blocks l = {0};
    /* Big blocks first (fast), then the rest page by page. */
    for (int o = PA_MAX_ORDER; o >= 0; o--)
        t_fill(&l, gfp, (unsigned int)o);
    ck_assert_msg(l.n > 0, "t_settle: could not allocate anything (errno %d)", errno);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    return t_nr_free_settled();
}

/* Threads of this process whose name starts with prefix; -1 if
 * /proc/self/task cannot be read. */
static inline int t_threads_named(const char *prefix)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof(comm), f) && strncmp(comm, prefix, strlen(prefix)) == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* A cache of pages behind a test's shrinker                           */
/* ------------------------------------------------------------------ */

/* Order-0 pages a test holds and its shrinker gives back: the part the
 * suites' caches share (each puts its own counters and rules around it). */
struct t_page_cache {
    pthread_mutex_t lock;
    struct pa_page **pages;
    size_t n, cap;
};
#define T_PAGE_CACHE_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

static inline void t_page_cache_init(struct t_page_cache *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

/* Pages held, read under the lock (kswapd may be scanning). */
static inline size_t t_page_cache_count(struct t_page_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* count_objects for a shrinker whose private_data is the cache. */
static inline unsigned long t_page_cache_count_objects(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)sc;
    size_t n = t_page_cache_count(s->private_data);
    return n ? n : PA_SHRINK_EMPTY;
}

static inline void t_page_cache_push(struct t_page_cache *c, struct pa_page *p)
{
    pthread_mutex_lock(&c->lock);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4096;
        c->pages = realloc(c->pages, c->cap * sizeof(*c->pages));
        if (!c->pages)
            abort();    /* may run in a shrinker, where ck_assert cannot */
    }
    c->pages[c->n++] = p;
    pthread_mutex_unlock(&c->lock);
}

/* With c->lock held: free up to nr pages, newest first; how many. */
static inline unsigned long t_page_cache_free_locked(struct t_page_cache *c, unsigned long nr)
{
    unsigned long done = 0;
    while (done < nr && c->n) {
        pa_free_pages(c->pages[--c->n], 0);
        done++;
    }
    return done;
}

/* Free every page and the array. */
static inline void t_page_cache_drop(struct t_page_cache *c)
{
    pthread_mutex_lock(&c->lock);
    t_page_cache_free_locked(c, c->n);
    free(c->pages);
    c->pages = NULL;
    c->cap = 0;
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------ */
/* CPUs                                                                */
/* ------------------------------------------------------------------ */

/* The k-th CPU this process may run on, or -1. */
static inline int t_allowed_cpu(int k)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && k-- == 0)
            return c;
    return -1;
}

/* Pin thread th to cpu alone; false if the kernel refused. */
static inline bool t_pin_thread(pthread_t th, int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return pthread_setaffinity_np(th, sizeof(one), &one) == 0;
}

/* ------------------------------------------------------------------ */
/* stderr capture (in process) and child processes                     */
/* ------------------------------------------------------------------ */

struct t_capture {
    int saved_fd;
    FILE *file;
};

static inline void t_capture_begin(struct t_capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    ck_assert_ptr_nonnull(c->file);
    c->saved_fd = dup(STDERR_FILENO);
    ck_assert_int_ge(c->saved_fd, 0);
    ck_assert_int_ge(dup2(fileno(c->file), STDERR_FILENO), 0);
}

/* Returns the captured text (malloc'd, NUL-terminated). */
static inline char *t_capture_end(struct t_capture *c)
{
    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    long len = ftell(c->file);
    if (len < 0)
        len = 0;
    char *buf = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    rewind(c->file);
    size_t got = fread(buf, 1, (size_t)len, c->file);
    buf[got] = '\0';
    fclose(c->file);
    /* Echo it, so a failing test's log shows what the library said. */
    if (got)
        fprintf(stderr, "---- captured stderr ----\n%s-------------------------\n", buf);
    return buf;
}

struct t_child {
    int status;   /* from waitpid */
    char *err;    /* the child's stderr, malloc'd */
};

/* Run fn(arg) in a forked child with its stderr going to a pipe.  The
 * child must not use ck_assert (report with t_child_fail and _exit
 * non-zero instead); it exits 0 when fn returns. */
static inline void t_run_child(void (*fn)(void *), void *arg, struct t_child *out)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[1]);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    close(pfd[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t r = read(pfd[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    out->status = status;
    out->err = buf;
    if (len)
        fprintf(stderr, "---- child stderr ----\n%s----------------------\n", buf);
}

/* In a child of t_run_child: report a failed check and exit. */
#define t_child_check(cond)                                                              \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "CHILD CHECK FAILED %s:%d: %s (errno %d)\n", __FILE__,       \
                    __LINE__, #cond, errno);                                             \
            fflush(stderr);                                                              \
            _exit(99);                                                                   \
        }                                                                                \
    } while (0)

static inline bool t_exited_ok(const struct t_child *c)
{
    return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

static inline bool t_aborted(const struct t_child *c)
{
    return WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT;
}

static inline const char *t_describe_status(const struct t_child *c, char *buf, size_t len)
{
    if (WIFEXITED(c->status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(c->status), strsignal(WTERMSIG(c->status)));
    else
        snprintf(buf, len, "status 0x%x", c->status);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                        */
/* ------------------------------------------------------------------ */

/* Run one pa_show_* into a malloc'd string (through a tmpfile: the
 * library writes to a real stream, as a user's would). */
static inline char *t_show(int (*show)(FILE *))
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    int rc = show(f);
    ck_assert_msg(rc == 0, "pa_show_* returned %d (%s)", rc, strerror(errno));
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    char *buf = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    rewind(f);
    size_t got = fread(buf, 1, (size_t)len, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static inline char *t_strcasestr(const char *hay, const char *needle)
{
    return strcasestr(hay, needle);
}

/* Number of lines of text containing needle. */
static inline int t_count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, len);
        if (strstr(copy, needle))
            n++;
        free(copy);
        if (!end)
            break;
        line = end + 1;
    }
    return n;
}

/* The first line containing needle, malloc'd, or NULL. */
static inline char *t_line_with(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    if (!hit)
        return NULL;
    const char *start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(hit, '\n');
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* Offset of the first byte of [p, p+len) that is not `byte`, or -1.
 * (One assertion per byte would be slow: Check records every one.) */
static inline long t_first_not(const void *p, int byte, size_t len)
{
    const unsigned char *a = p;
    for (size_t i = 0; i < len; i++)
        if (a[i] != (unsigned char)byte)
            return (long)i;
    return -1;
}

/* ------------------------------------------------------------------ */
/* PRNG (xorshift64*), seeded: reproducible sequences                  */
/* ------------------------------------------------------------------ */

static inline uint64_t t_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------ */
/* main()                                                              */
/* ------------------------------------------------------------------ */

static inline int t_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A test case with a timeout suited to its work (Check's default is 4 s). */
static inline TCase *t_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

#endif /* PA_TEST_H */

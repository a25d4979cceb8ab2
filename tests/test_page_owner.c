/* SPDX-License-Identifier: MIT */
/*
 * Page owner (src/page_owner.c, PAGEALLOC_DEBUG=owner): each allocation's
 * stack, order and GFP mask are recorded; pa_page_owner_dump() lists what is
 * still allocated, grouped by stack with counts; freed blocks drop out; the
 * same report goes to stderr at exit when anything is left.
 *
 * This executable is linked with -rdynamic (ENABLE_EXPORTS) so that the
 * functions below have names in backtrace_symbols_fd's output.
 */
#include "pa_test.h"

#include <pagealloc/debug.h>

/* Known allocation sites: global, not inlined, so they are stack frames
 * with exported names. */
struct pa_page *owner_test_leaky_site(unsigned int order);
struct pa_page *owner_test_other_site(void);
void owner_test_freed_site(int n);

__attribute__((noinline)) struct pa_page *owner_test_leaky_site(unsigned int order)
{
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, order);
    __asm__ volatile("" ::: "memory");   /* not a tail call: keep this frame */
    return p;
}

__attribute__((noinline)) struct pa_page *owner_test_other_site(void)
{
    struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 0);
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void owner_test_freed_site(int n)
{
    for (int i = 0; i < n; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 1);
        ck_assert_ptr_nonnull(p);
        pa_free_pages(p, 1);
    }
}

/* The dump as text, and its return value. */
static char *dump_text(long *ret)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    *ret = pa_page_owner_dump(fileno(f));
    long len = lseek(fileno(f), 0, SEEK_END);
    ck_assert_int_ge(len, 0);
    char *buf = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(fileno(f), buf, (size_t)len, 0), len);
    fclose(f);
    fprintf(stderr, "---- page owner dump ----\n%s-------------------------\n", buf);
    return buf;
}

/* The group of the report (from its "N times" line to the blank line) that
 * names fn; malloc'd, or NULL. */
static char *group_naming(const char *text, const char *fn)
{
    const char *hit = strstr(text, fn);
    if (!hit)
        return NULL;
    const char *start = NULL;
    for (const char *l = text; l && l < hit;) {
        size_t digits = strspn(l, "0123456789");
        if (digits && strncmp(l + digits, " times, ", 8) == 0)
            start = l;
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    if (!start)
        return NULL;
    const char *end = strstr(hit, "\n\n");
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

START_TEST(test_owner_dump_groups_by_stack)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "owner");
    ck_assert_int_eq(pa_init(NULL), 0);

    struct pa_page *leaked[3], *other[2];
    /* volatile counts: loops the compiler cannot peel into several call
     * sites (each call site is a stack of its own) */
    volatile int nr_leaked = 3, nr_other = 2;
    for (int i = 0; i < nr_leaked; i++)
        ck_assert_ptr_nonnull(leaked[i] = owner_test_leaky_site(2));
    for (int i = 0; i < nr_other; i++)
        ck_assert_ptr_nonnull(other[i] = owner_test_other_site());
    owner_test_freed_site(5);

    long n;
    char *text = dump_text(&n);
    ck_assert_int_eq(n, 5);   /* 3 + 2 blocks still allocated, nothing else */

    char *g = group_naming(text, "owner_test_leaky_site");
    ck_assert_msg(g != NULL, "the leaking function is not named in the dump");
    ck_assert_msg(strncmp(g, "3 times, 12 pages:\n", 19) == 0, "group header: %s", g);
    ck_assert_msg(strstr(g, "Page allocated via order 2, mask ") != NULL, "order/mask line: %s", g);
    ck_assert_msg(strstr(g, "PA_GFP_KERNEL") != NULL, "gfp not decoded: %s", g);
    ck_assert_msg(strstr(g, "(pa_alloc_pages+") != NULL, "the entry point is not the first frame: %s", g);
    char pid[32];
    snprintf(pid, sizeof(pid), "pid %d,", (int)getpid());
    ck_assert_msg(strstr(g, pid) != NULL, "no \"%s\" in %s", pid, g);
    free(g);

    g = group_naming(text, "owner_test_other_site");
    ck_assert_msg(g != NULL, "the second site is not named in the dump");
    ck_assert_msg(strncmp(g, "2 times, 2 pages:\n", 18) == 0, "group header: %s", g);
    ck_assert_msg(strstr(g, "via order 0, mask ") && strstr(g, "PA_GFP_HIGHUSER_MOVABLE"), "line: %s", g);
    free(g);
    /* the larger group comes first, as page_owner_sort orders by times */
    ck_assert(strstr(text, "owner_test_leaky_site") < strstr(text, "owner_test_other_site"));
    ck_assert_msg(strstr(text, "owner_test_freed_site") == NULL, "freed blocks are reported");
    free(text);

    /* freeing drops them from the report */
    for (int i = 0; i < 3; i++)
        pa_free_pages(leaked[i], 2);
    text = dump_text(&n);
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_null(strstr(text, "owner_test_leaky_site"));
    ck_assert_ptr_nonnull(strstr(text, "owner_test_other_site"));
    free(text);
    for (int i = 0; i < 2; i++)
        pa_free_pages(other[i], 0);
    text = dump_text(&n);
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

/* alloc_pages_exact splits the block: each page is its own record, the
 * unused tail is not reported. */
START_TEST(test_owner_exact_split)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "owner,checks");
    void *a = pa_alloc_pages_exact(3 * T_PAGE, PA_GFP_KERNEL);
    ck_assert_ptr_nonnull(a);
    long n;
    char *text = dump_text(&n);
    ck_assert_int_eq(n, 3);
    ck_assert_msg(strstr(text, "3 times, 3 pages:\nPage allocated via order 0") != NULL, "%s", text);
    free(text);
    pa_free_pages_exact(a, 3 * T_PAGE);
    text = dump_text(&n);
    ck_assert_int_eq(n, 0);
    free(text);
}
END_TEST

START_TEST(test_owner_errors)
{
    t_env_reset();
    ck_assert_int_eq(pa_init(NULL), 0);
    errno = 0;
    ck_assert_int_eq(pa_page_owner_dump(STDERR_FILENO), -1);
    ck_assert_int_eq(errno, ENOTSUP);
}
END_TEST

START_TEST(test_owner_bad_fd)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DEBUG", "owner");
    ck_assert_int_eq(pa_init(NULL), 0);
    errno = 0;
    ck_assert_int_eq(pa_page_owner_dump(-1), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The report at exit                                                  */
/* ------------------------------------------------------------------ */

static void exit_child(void *arg)
{
    bool leak = *(const bool *)arg;
    t_env_reset();
    setenv("PAGEALLOC_DEBUG", "owner", 1);
    struct pa_page *p = owner_test_leaky_site(3);
    t_child_check(p != NULL);
    if (!leak)
        pa_free_pages(p, 3);
    exit(0);   /* runs the atexit report */
}

START_TEST(test_owner_leaks_reported_at_exit)
{
    static const bool leak[] = {true, false};
    for (size_t i = 0; i < 2; i++) {
        struct t_child c;
        t_run_child(exit_child, (void *)&leak[i], &c);
        char st[64];
        ck_assert_msg(t_exited_ok(&c), "child %s\n%s", t_describe_status(&c, st, sizeof(st)), c.err);
        if (leak[i]) {
            ck_assert_msg(strstr(c.err, "page_owner at exit: 1 blocks (8 pages) still allocated") != NULL,
                          "no leak report: %s", c.err);
            ck_assert_msg(strstr(c.err, "1 times, 8 pages:\nPage allocated via order 3") != NULL, "%s", c.err);
            ck_assert_msg(strstr(c.err, "owner_test_leaky_site") != NULL, "leak without its stack: %s", c.err);
        } else {
            ck_assert_msg(strstr(c.err, "page_owner") == NULL, "report without a leak: %s", c.err);
        }
        free(c.err);
    }
}
END_TEST

static Suite *page_owner_suite(void)
{
    Suite *s = suite_create("page_owner");
    TCase *tc = t_tcase(s, "dump", 60);
    tcase_add_test(tc, test_owner_dump_groups_by_stack);
    tcase_add_test(tc, test_owner_exact_split);
    tcase_add_test(tc, test_owner_errors);
    tcase_add_test(tc, test_owner_bad_fd);
    tc = t_tcase(s, "exit", 60);
    tcase_add_test(tc, test_owner_leaks_reported_at_exit);
    return s;
}

int main(void)
{
    return t_run_suite(page_owner_suite());
}

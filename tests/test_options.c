/* SPDX-License-Identifier: MIT */
/*
 * Configuration (src/options.c): bad environment values are reported once,
 * naming the variable and the default used, and never stop the library;
 * good values take effect; pa_init(cfg) overrides the environment; pa_init
 * is idempotent.
 */
#include "pa_test.h"

#include "internal.h"

/* Allocate and free one page of each kind a caller would use. */
static void assert_allocation_works(void)
{
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_msg(p != NULL, "allocation failed after the bad value (errno %d)", errno);
    memset(pa_page_address(p), 1, T_PAGE);
    pa_free_pages(p, 0);
    p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 3);
    ck_assert_ptr_nonnull(p);
    pa_free_pages(p, 3);
    ck_assert_int_eq(pa_check_invariants(), 0);
}

/* Exactly one line names the variable, and it says the default is used. */
static void assert_one_report(const char *err, const char *var)
{
    int lines = t_count_lines_with(err, var);
    ck_assert_msg(lines == 1, "%d lines name %s (want 1): %s", lines, var, err);
    char *line = t_line_with(err, var);
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(strcasestr(line, "default") != NULL, "the report does not mention the default: %s",
                  line);
    free(line);
}

/* pa_init plus a first allocation (some options are parsed by the file
 * that uses them, on first use) with stderr captured. */
static char *init_capturing(const struct pa_config *cfg)
{
    struct t_capture c;
    t_capture_begin(&c);
    int rc = pa_init(cfg);
    int err_no = errno;
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    if (p)
        pa_free_pages(p, 0);
    char *err = t_capture_end(&c);
    ck_assert_msg(rc == 0, "pa_init = %d (errno %d)", rc, err_no);
    ck_assert_msg(p != NULL, "first allocation failed");
    return err;
}

/* ------------------------------------------------------------------ */
/* Bad values: one per test (each runs in its own process)             */
/* ------------------------------------------------------------------ */

static const struct {
    const char *var, *value;
} bad_values[] = {
    {"PAGEALLOC_NODE_SIZE", "12X"},
    {"PAGEALLOC_HUGEPAGES", "3M"},
    {"PAGEALLOC_NUMA_EMULATE", "-2"},
    {"PAGEALLOC_MOVABLECORE", "150%"},
    {"PAGEALLOC_DEBUG", "checks,bogus"},
    {"PAGEALLOC_WATERMARK_SCALE_FACTOR", "0"},
    {"PAGEALLOC_MIN_FREE_KBYTES", "abc"},
    {"PAGEALLOC_DMA_SIZE", "lots"},
    {"PAGEALLOC_NUMA_EMULATE", "two"},
    {"PAGEALLOC_NODE_SIZE", "99999999999999999999G"},
    {"PAGEALLOC_WATERMARK_SCALE_FACTOR", "3001"},
    {"PAGEALLOC_POLICY", "sideways"},
    /* trailing or empty items in a list are errors, not ignored */
    {"PAGEALLOC_FAIL", "1,2,"},
    {"PAGEALLOC_FAIL", "10,,interval=1"},
    {"PAGEALLOC_CMA", "1,2,"},
    {"PAGEALLOC_CMA", ",4M"},
    {"PAGEALLOC_CDM_NODES", "0,"},
    /* unprintable bytes */
    {"PAGEALLOC_POLICY", "interleave=all\x1b[2J"},
    {"PAGEALLOC_FAIL", "probability=1\x01"},
    {"PAGEALLOC_CDM_NODES", "\x7f"},
    {"PAGEALLOC_CMA", "4M\x01"},
};

START_TEST(test_bad_value)
{
    const char *var = bad_values[_i].var, *value = bad_values[_i].value;
    t_env_reset();
    if (strcmp(var, "PAGEALLOC_NODE_SIZE") == 0)
        unsetenv("PAGEALLOC_NODE_SIZE"); /* the default (half the node) is used */
    t_setenv(var, value);
    char *err = init_capturing(NULL);
    assert_one_report(err, var);
    free(err);
    assert_allocation_works();
}
END_TEST

/* Unprintable bytes of the list variables are echoed as \xNN, never raw. */
START_TEST(test_unprintable_echoed_as_hex)
{
    static const char *const vars[] = { "PAGEALLOC_POLICY", "PAGEALLOC_FAIL", "PAGEALLOC_CDM_NODES",
                                        "PAGEALLOC_CMA" };
    t_env_reset();
    t_setenv(vars[_i], "a\x01" "z\x1b\xff");
    char *err = init_capturing(NULL);
    assert_one_report(err, vars[_i]);
    ck_assert_msg(strstr(err, "a\\x01z\\x1b\\xff") != NULL, "not echoed as \\xNN: %s", err);
    for (const unsigned char *c = (const unsigned char *)err; *c; c++)
        ck_assert_msg(*c == '\n' || (*c >= 0x20 && *c < 0x7f), "raw byte %#x in: %s", *c, err);
    free(err);
    assert_allocation_works();
}
END_TEST

/* A node size the address space cannot hold is clamped, with one message
 * naming the variable, and the library works. */
START_TEST(test_node_size_clamped)
{
    static const char *const sizes[] = { "100T", "18446744073709551615" };
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", sizes[_i]);
    char *err = init_capturing(NULL);
    ck_assert_int_eq(t_count_lines_with(err, "PAGEALLOC_NODE_SIZE"), 1);
    ck_assert_msg(strstr(err, "address space") != NULL, "%s", err);
    ck_assert_uint_lt(pa_opt.node_size, 100ULL << 40);
    free(err);
    assert_allocation_works();
}
END_TEST

/* The default really is what a bad value leaves in force. */
START_TEST(test_bad_values_leave_defaults)
{
    t_env_reset();
    t_setenv("PAGEALLOC_MOVABLECORE", "150%");
    t_setenv("PAGEALLOC_NUMA_EMULATE", "-2");
    t_setenv("PAGEALLOC_HUGEPAGES", "3M");
    char *err = init_capturing(NULL);
    free(err);
    ck_assert_int_eq(pa_opt.movablecore, 0);
    ck_assert_int_eq(pa_opt.movablecore_percent, 0);
    ck_assert_int_eq(pa_opt.numa_emulate, 0);
    ck_assert_int_eq(pa_opt.hugepages, PA_HUGEPAGES_AUTO);
    /* No movable zone: HIGHUSER_MOVABLE lands in NORMAL. */
    struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_NORMAL);
    pa_free_pages(p, 0);
    ck_assert_int_ge(pa_num_nodes(), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Good values take effect                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_good_values_are_quiet)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "64M");
    t_setenv("PAGEALLOC_HUGEPAGES", "none");
    t_setenv("PAGEALLOC_MOVABLECORE", "8M");
    t_setenv("PAGEALLOC_DMA_SIZE", "8M");
    t_setenv("PAGEALLOC_DEBUG", "checks,poison");
    t_setenv("PAGEALLOC_MIN_FREE_KBYTES", "2048");
    t_setenv("PAGEALLOC_WATERMARK_SCALE_FACTOR", "100");
    char *err = init_capturing(NULL);
    ck_assert_msg(strstr(err, "PAGEALLOC_") == NULL, "good values reported: %s", err);
    free(err);
    ck_assert_uint_eq(pa_opt.node_size, 64UL << 20);
    ck_assert_int_eq(pa_opt.hugepages, PA_HUGEPAGES_NONE);
    ck_assert_uint_eq(pa_opt.movablecore, 8UL << 20);
    ck_assert_uint_eq(pa_opt.dma_size, 8UL << 20);
    ck_assert_uint_eq(pa_opt.debug, PA_DEBUG_CHECKS | PA_DEBUG_POISON);
    ck_assert_uint_eq(pa_opt.min_free_kbytes, 2048);
    ck_assert_uint_eq(pa_opt.watermark_scale_factor, 100);
    ck_assert_uint_eq(NODE_DATA(0)->node_zones[PA_ZONE_DMA].spanned_pages, 2048);
    ck_assert_uint_eq(NODE_DATA(0)->node_zones[PA_ZONE_MOVABLE].spanned_pages, 2048);
    assert_allocation_works();
}
END_TEST

START_TEST(test_numa_emulate_3)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "3");
    char *err = init_capturing(NULL);
    ck_assert_msg(strstr(err, "PAGEALLOC_NUMA_EMULATE") == NULL, "reported: %s", err);
    free(err);
    ck_assert_int_eq(pa_num_nodes(), 3);
    for (int n = 0; n < 3; n++) {
        struct pa_page *p = pa_alloc_pages_node(n, PA_GFP_KERNEL | PA_GFP_THISNODE, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pa_page_to_nid(p), n);
        pa_free_pages(p, 0);
    }
}
END_TEST

static size_t exhaust_count(void)
{
    struct t_blocks l = {0};
    size_t n = t_fill(&l, PA_GFP_KERNEL, 0);
    ck_assert_int_eq(errno, ENOMEM);
    t_blocks_free_all(&l);
    t_blocks_release(&l);
    return n;
}

START_TEST(test_node_size_caps_memory)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    ck_assert_int_eq(pa_init(NULL), 0);
    size_t n = exhaust_count();
    ck_assert_msg(n > 7000 && n <= 8192, "%zu pages from a 32 MiB node", n);
}
END_TEST

START_TEST(test_min_free_kbytes_takes_effect)
{
    /* 4 MiB of reserve on a 64 MiB node: KERNEL stops about 1024 pages early. */
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_MIN_FREE_KBYTES", "4096");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_uint_eq(pa_min_free_kbytes(), 4096);
    size_t n = exhaust_count();
    ck_assert_msg(n >= 16384 - 1400 && n <= 16384 - 1000,
                  "%zu pages with min_free_kbytes=4096 (want about %d)", n, 16384 - 1024);
    struct zone *z = &NODE_DATA(0)->node_zones[PA_ZONE_NORMAL];
    ck_assert_uint_eq(z->_watermark[WMARK_MIN], 1024);
}
END_TEST

START_TEST(test_watermark_scale_factor_takes_effect)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_WATERMARK_SCALE_FACTOR", "1000"); /* 10% */
    ck_assert_int_eq(pa_init(NULL), 0);
    struct zone *z = &NODE_DATA(0)->node_zones[PA_ZONE_NORMAL];
    long gap = (long)z->_watermark[WMARK_LOW] - (long)z->_watermark[WMARK_MIN];
    long gap2 = (long)z->_watermark[WMARK_HIGH] - (long)z->_watermark[WMARK_LOW];
    ck_assert_msg(gap >= 1600 && gap <= 1700, "low - min = %ld, want ~1638 (10%% of 16384)", gap);
    ck_assert_msg(gap2 >= 1600 && gap2 <= 1700, "high - low = %ld, want ~1638", gap2);
}
END_TEST

START_TEST(test_movablecore_percent)
{
    t_env_reset();
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_uint_eq(pa_opt.movablecore_percent, 25);
    struct pa_page *p = pa_alloc_pages(PA_GFP_HIGHUSER_MOVABLE, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_page_zonenum(p), PA_ZONE_MOVABLE);
    pa_free_pages(p, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pa_init(cfg)                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_config_overrides_environment)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "4");
    t_setenv("PAGEALLOC_NODE_SIZE", "64M");
    struct pa_config cfg = {0};
    cfg.numa_emulate = 2;
    cfg.node_size = 16UL << 20;
    cfg.dma_size = 4UL << 20;
    ck_assert_int_eq(pa_init(&cfg), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    ck_assert_uint_eq(pa_opt.node_size, 16UL << 20);
    ck_assert_uint_eq(pa_opt.dma_size, 4UL << 20);
}
END_TEST

START_TEST(test_config_unset_fields_keep_environment)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    t_setenv("PAGEALLOC_MOVABLECORE", "25%");
    struct pa_config cfg = {0};
    cfg.numa_emulate = 2;
    ck_assert_int_eq(pa_init(&cfg), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    ck_assert_uint_eq(pa_opt.node_size, 32UL << 20);
    ck_assert_uint_eq(pa_opt.movablecore_percent, 25);
}
END_TEST

START_TEST(test_init_idempotent)
{
    t_env_reset();
    struct pa_config cfg = {0};
    cfg.numa_emulate = 2;
    ck_assert_int_eq(pa_init(&cfg), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    /* A later call returns 0 and changes nothing. */
    struct pa_config other = {0};
    other.numa_emulate = 3;
    ck_assert_int_eq(pa_init(&other), 0);
    ck_assert_int_eq(pa_init(NULL), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    ck_assert_int_eq(pa_page_count(p), 1);
    pa_free_pages(p, 0);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_implicit_init)
{
    t_env_reset();
    t_setenv("PAGEALLOC_NUMA_EMULATE", "2");
    /* No pa_init: the first allocation initialises from the environment. */
    struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pa_num_nodes(), 2);
    struct pa_config cfg = {0};
    cfg.numa_emulate = 3;
    ck_assert_int_eq(pa_init(&cfg), 0);
    ck_assert_int_eq(pa_num_nodes(), 2);
    pa_free_pages(p, 0);
}
END_TEST

START_TEST(test_parse_size)
{
    size_t b = 0;
    unsigned int pct = 0;
    ck_assert_int_eq(pa_parse_size("64M", &b, NULL), 0);
    ck_assert_uint_eq(b, 64UL << 20);
    ck_assert_int_eq(pa_parse_size("1G", &b, NULL), 0);
    ck_assert_uint_eq(b, 1UL << 30);
    ck_assert_int_eq(pa_parse_size("4096", &b, NULL), 0);
    ck_assert_uint_eq(b, 4096);
    ck_assert_int_eq(pa_parse_size("16K", &b, NULL), 0);
    ck_assert_uint_eq(b, 16384);
    b = 0;
    ck_assert_int_eq(pa_parse_size("25%", &b, &pct), 0);
    ck_assert_uint_eq(pct, 25);
    const char *bad[] = {"12X", "", "M", "-1", "99999999999999999999G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_msg(pa_parse_size(bad[i], &b, NULL) == -1, "\"%s\" accepted", bad[i]);
        /* internal.h says EINVAL; ERANGE for an overflow is as good. */
        ck_assert_msg(errno == EINVAL || (errno == ERANGE && i == 4), "\"%s\": errno %d", bad[i],
                      errno);
    }
}
END_TEST

/* Row i of the table is entry i of src/option_list.h (which t_env_reset
 * unsets), and there are no more rows than entries. */
START_TEST(test_table_follows_option_list)
{
#define T_OPTION_ENV(id) "PAGEALLOC_" #id,
    static const char *const listed[] = { PA_OPTION_LIST(T_OPTION_ENV) };
#undef T_OPTION_ENV
    size_t n = sizeof(listed) / sizeof(listed[0]);
    for (size_t i = 0; i < n; i++) {
        const char *env = pa_option_env(i);
        ck_assert_msg(env != NULL && strcmp(env, listed[i]) == 0, "row %zu is %s, the list says %s", i,
                      env ? env : "(no row)", listed[i]);
    }
    ck_assert_ptr_null(pa_option_env(n));
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = t_tcase(s, "bad", 60);
    tcase_add_loop_test(tc, test_bad_value, 0, (int)(sizeof(bad_values) / sizeof(bad_values[0])));
    tcase_add_test(tc, test_bad_values_leave_defaults);
    tcase_add_loop_test(tc, test_unprintable_echoed_as_hex, 0, 4);
    tcase_add_loop_test(tc, test_node_size_clamped, 0, 2);
    tc = t_tcase(s, "good", 60);
    tcase_add_test(tc, test_good_values_are_quiet);
    tcase_add_test(tc, test_numa_emulate_3);
    tcase_add_test(tc, test_node_size_caps_memory);
    tcase_add_test(tc, test_min_free_kbytes_takes_effect);
    tcase_add_test(tc, test_watermark_scale_factor_takes_effect);
    tcase_add_test(tc, test_movablecore_percent);
    tcase_add_test(tc, test_parse_size);
    tcase_add_test(tc, test_table_follows_option_list);
    tc = t_tcase(s, "init", 60);
    tcase_add_test(tc, test_config_overrides_environment);
    tcase_add_test(tc, test_config_unset_fields_keep_environment);
    tcase_add_test(tc, test_init_idempotent);
    tcase_add_test(tc, test_implicit_init);
    return s;
}

int main(void)
{
    return t_run_suite(options_suite());
}

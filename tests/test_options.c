/* SPDX-License-Identifier: MIT */
/*
 * Configuration (src/options.c): bad environment values are reported once,
 * naming the variable and the default used, and never stop the library;
 * good values take effect; pa_init(cfg) overrides the environment; pa_init
 * is idempotent.
 */
#include "pa_test.h"

#include "internal.h"
#include "shim_options.h"

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

/* ------------------------------------------------------------------ */
/* pa_config_init and the options only a sized config can set          */
/* ------------------------------------------------------------------ */

/* No PAGEALLOC_* variable at all, not even t_env_reset's three. */
static void env_none(void)
{
    t_env_reset();
    unsetenv("PAGEALLOC_HUGEPAGES");
    unsetenv("PAGEALLOC_NODE_SIZE");
    unsetenv("PAGEALLOC_RELEASE");
    unsetenv("PAGEALLOC_PRESSURE");
}

/* pa_options_load(cfg) with stderr captured; returns the text. */
static char *load_capturing(const struct pa_config *cfg)
{
    struct t_capture c;
    t_capture_begin(&c);
    pa_options_load(cfg);
    return t_capture_end(&c);
}

/* The values pa_config_init writes are the built-in defaults that
 * pa_options_load(NULL) leaves with no environment, field by field. */
START_TEST(test_config_init_is_the_defaults)
{
    env_none();
    pa_options_load(NULL);
    struct pa_options env_less = pa_opt;
    struct pa_config cfg;
    memset(&cfg, 0x5a, sizeof(cfg));
    ck_assert_int_eq(pa_config_init(&cfg), 0);
    ck_assert_uint_eq(cfg.size, sizeof(cfg));
    ck_assert_uint_eq(cfg.node_size, env_less.node_size);
    ck_assert_int_eq(cfg.hugepages, env_less.hugepages);
    ck_assert_int_eq(cfg.hugepages, PA_HUGEPAGES_AUTO);
    ck_assert_int_eq(cfg.numa_emulate, env_less.numa_emulate);
    ck_assert_uint_eq(cfg.movablecore, env_less.movablecore);
    ck_assert_uint_eq(cfg.movablecore_percent, env_less.movablecore_percent);
    ck_assert_uint_eq(cfg.dma_size, env_less.dma_size);
    ck_assert_uint_eq(cfg.dma_size, 16UL << 20);
    ck_assert_uint_eq(cfg.dma32_size, env_less.dma32_size);
    ck_assert_ptr_null(cfg.policy);
    ck_assert_uint_eq(cfg.debug, env_less.debug);
    ck_assert_uint_eq(cfg.min_free_kbytes, env_less.min_free_kbytes);
    ck_assert_uint_eq(cfg.watermark_scale_factor, env_less.watermark_scale_factor);
    ck_assert_uint_eq(cfg.watermark_scale_factor, 10);
    ck_assert_ptr_null(cfg.stats);
    ck_assert_ptr_null(cfg.release);
    ck_assert_uint_eq(cfg.release_order, env_less.release_order);
    ck_assert_ptr_null(cfg.cdm_nodes);
    ck_assert_int_eq(cfg.panic_on_oom, env_less.panic_on_oom);
    ck_assert_ptr_null(cfg.fail);
    ck_assert_uint_eq(cfg.compaction_proactiveness, env_less.compaction_proactiveness);
    ck_assert_uint_eq(cfg.extfrag_threshold, env_less.extfrag_threshold);
    ck_assert_uint_eq(cfg.watermark_boost_factor, env_less.watermark_boost_factor);
    ck_assert_uint_eq(cfg.stats_interval_ms, env_less.stats_interval_ms);
    ck_assert_int_eq(cfg.prefault, env_less.prefault);
    ck_assert_uint_eq(cfg.pcp, env_less.pcp_mode);
    ck_assert_int_eq(cfg.pcp, PA_PCP_CPU);
    ck_assert_int_eq(cfg.pcp_magazine, env_less.pcp_magazine);
    ck_assert(cfg.pcp_magazine);
    ck_assert_int_eq(cfg.mobility_grouping, env_less.mobility_grouping);
    ck_assert(cfg.mobility_grouping);
    ck_assert_ptr_null(cfg.cma);
    ck_assert_uint_eq(cfg.dirty_ratio, env_less.dirty_ratio);
    ck_assert_int_eq(cfg.dynamic_hugetlb, env_less.dynamic_hugetlb);
    ck_assert_int_eq(cfg.pressure, env_less.pressure);
    ck_assert(cfg.pressure);

    /* loading it, or a zeroed config, changes nothing and says nothing */
    char *err = load_capturing(&cfg);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert_mem_eq(&pa_opt, &env_less, sizeof(pa_opt));
    struct pa_config zero = {0};
    pa_options_load(&zero);
    ck_assert_mem_eq(&pa_opt, &env_less, sizeof(pa_opt));
}
END_TEST

/* Every option through the config, each to a value other than its
 * default, against an environment that says something else again: 0,
 * false and "off" included where they are not the default (a field at its
 * default is unset). */
START_TEST(test_config_sets_every_option)
{
    env_none();
    static const char *const env[][2] = {
        {"PAGEALLOC_NODE_SIZE", "128M"}, {"PAGEALLOC_HUGEPAGES", "thp"},
        {"PAGEALLOC_NUMA_EMULATE", "4"}, {"PAGEALLOC_MOVABLECORE", "10%"},
        {"PAGEALLOC_DMA_SIZE", "8M"}, {"PAGEALLOC_DMA32_SIZE", "8M"},
        {"PAGEALLOC_POLICY", "local"}, {"PAGEALLOC_DEBUG", "checks"},
        {"PAGEALLOC_MIN_FREE_KBYTES", "1000"}, {"PAGEALLOC_WATERMARK_SCALE_FACTOR", "20"},
        {"PAGEALLOC_STATS", "stderr"}, {"PAGEALLOC_RELEASE", "100"},
        {"PAGEALLOC_RELEASE_ORDER", "5"}, {"PAGEALLOC_CDM_NODES", "3"},
        {"PAGEALLOC_PANIC_ON_OOM", "no"}, {"PAGEALLOC_FAIL", "probability=5"},
        {"PAGEALLOC_COMPACTION_PROACTIVENESS", "50"}, {"PAGEALLOC_EXTFRAG_THRESHOLD", "600"},
        {"PAGEALLOC_WATERMARK_BOOST_FACTOR", "100"}, {"PAGEALLOC_STATS_INTERVAL", "1000"},
        {"PAGEALLOC_PREFAULT", "no"}, {"PAGEALLOC_PCP", "thread"},
        {"PAGEALLOC_PCP_MAGAZINE", "yes"}, {"PAGEALLOC_MOBILITY_GROUPING", "yes"},
        {"PAGEALLOC_CMA", "4M"}, {"PAGEALLOC_DIRTY_RATIO", "50"},
        {"PAGEALLOC_DYNAMIC_HUGETLB", "no"}, {"PAGEALLOC_PRESSURE", "yes"},
    };
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
        t_setenv(env[i][0], env[i][1]);

    struct pa_config cfg;
    ck_assert_int_eq(pa_config_init(&cfg), 0);
    cfg.node_size = 32UL << 20;
    cfg.hugepages = PA_HUGEPAGES_NONE;
    cfg.numa_emulate = 2;
    cfg.movablecore = 4UL << 20;
    cfg.dma_size = 0;
    cfg.dma32_size = 4UL << 20;
    cfg.policy = "interleave=all";
    cfg.debug = PA_DEBUG_POISON;
    cfg.min_free_kbytes = 2048;
    cfg.watermark_scale_factor = 100;
    cfg.stats = "off";
    cfg.release = "off";
    cfg.release_order = 0;
    cfg.cdm_nodes = "1";
    cfg.panic_on_oom = true;
    cfg.fail = "probability=10,times=3";
    cfg.compaction_proactiveness = 0;
    cfg.extfrag_threshold = 0;
    cfg.watermark_boost_factor = 0;
    cfg.stats_interval_ms = 20;
    cfg.prefault = true;
    cfg.pcp = PA_PCP_OFF;
    cfg.pcp_magazine = false;
    cfg.mobility_grouping = false;
    cfg.cma = "8M@1";
    cfg.dirty_ratio = 0;
    cfg.dynamic_hugetlb = true;
    cfg.pressure = false;
    char *err = load_capturing(&cfg);
    ck_assert_msg(err[0] == '\0', "good config values reported: %s", err);
    free(err);

    ck_assert_uint_eq(pa_opt.node_size, 32UL << 20);
    ck_assert_int_eq(pa_opt.hugepages, PA_HUGEPAGES_NONE);
    ck_assert_int_eq(pa_opt.numa_emulate, 2);
    ck_assert_uint_eq(pa_opt.movablecore, 4UL << 20);
    ck_assert_uint_eq(pa_opt.movablecore_percent, 0);
    ck_assert_uint_eq(pa_opt.dma_size, 0);
    ck_assert_uint_eq(pa_opt.dma32_size, 4UL << 20);
    ck_assert_str_eq(pa_opt.policy, "interleave=all");
    ck_assert_uint_eq(pa_opt.debug, PA_DEBUG_POISON);
    ck_assert_uint_eq(pa_opt.min_free_kbytes, 2048);
    ck_assert_uint_eq(pa_opt.watermark_scale_factor, 100);
    ck_assert_str_eq(pa_opt.stats, "");
    ck_assert_uint_eq(pa_opt.release_ms, PA_RELEASE_OFF);
    ck_assert_uint_eq(pa_opt.release_order, 0);
    ck_assert_str_eq(pa_opt.cdm_nodes, "1");
    ck_assert(pa_opt.panic_on_oom);
    ck_assert_str_eq(pa_opt.fail, "probability=10,times=3");
    ck_assert_uint_eq(pa_opt.compaction_proactiveness, 0);
    ck_assert_uint_eq(pa_opt.extfrag_threshold, 0);
    ck_assert_uint_eq(pa_opt.watermark_boost_factor, 0);
    ck_assert_uint_eq(pa_opt.stats_interval_ms, 20);
    ck_assert(pa_opt.prefault);
    ck_assert_uint_eq(pa_opt.pcp_mode, PA_PCP_OFF);
    ck_assert(!pa_opt.pcp_magazine);
    ck_assert(!pa_opt.mobility_grouping);
    ck_assert_str_eq(pa_opt.cma, "8M@1");
    ck_assert_uint_eq(pa_opt.dirty_ratio, 0);
    ck_assert(pa_opt.dynamic_hugetlb);
    ck_assert(!pa_opt.pressure);
}
END_TEST

/* In a config from pa_config_init, a field left at its default leaves the
 * environment in force; in a zeroed one, 0 and false do. */
START_TEST(test_config_unset_fields_keep_environment_sized)
{
    env_none();
    t_setenv("PAGEALLOC_PCP_MAGAZINE", "off");
    t_setenv("PAGEALLOC_DIRTY_RATIO", "50");
    t_setenv("PAGEALLOC_COMPACTION_PROACTIVENESS", "70");
    t_setenv("PAGEALLOC_FAIL", "probability=1");
    struct pa_config cfg;
    ck_assert_int_eq(pa_config_init(&cfg), 0);
    cfg.compaction_proactiveness = 0;
    pa_options_load(&cfg);
    ck_assert(!pa_opt.pcp_magazine);
    ck_assert_uint_eq(pa_opt.dirty_ratio, 50);
    ck_assert_str_eq(pa_opt.fail, "probability=1");
    ck_assert_uint_eq(pa_opt.compaction_proactiveness, 0);

    struct pa_config zero = {0};
    zero.dirty_ratio = 30;
    pa_options_load(&zero);
    ck_assert(!pa_opt.pcp_magazine);
    ck_assert_uint_eq(pa_opt.dirty_ratio, 30);
    ck_assert_uint_eq(pa_opt.compaction_proactiveness, 70);
    /* an enum at _UNSET is unset in a sized config too */
    t_setenv("PAGEALLOC_PCP", "thread");
    cfg.pcp = PA_PCP_UNSET;
    cfg.hugepages = PA_HUGEPAGES_UNSET;
    char *err = load_capturing(&cfg);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert_uint_eq(pa_opt.pcp_mode, PA_PCP_THREAD);
    ck_assert_int_eq(pa_opt.hugepages, PA_HUGEPAGES_AUTO);
}
END_TEST

/* What follows "NAME=VALUE: " in the one line naming name: the reason and
 * the fallback, which must read the same for a variable and its field. */
static char *reason_for(const char *err, const char *name)
{
    ck_assert_msg(t_count_lines_with(err, name) == 1, "want one line naming %s: %s", name, err);
    char *line = t_line_with(err, name);
    const char *rest = strstr(line + strlen("pagealloc: "), ": ");
    ck_assert_msg(rest != NULL, "no reason in: %s", line);
    char *r = strdup(rest + 2);
    free(line);
    return r;
}

/* A bad value in a field is refused with the words the same value gets in
 * the variable (one parser and one check per option), and the default
 * stays. */
#define T_FIELD(f) #f, offsetof(struct pa_config, f), sizeof(((struct pa_config *)0)->f)
static const struct {
    const char *var, *value;
    const char *field;
    size_t off, size;
    bool str;          /* a string field: value as is; else a number */
} bad_fields[] = {
    {"PAGEALLOC_NODE_SIZE", "4194304", T_FIELD(node_size), false},
    {"PAGEALLOC_DMA32_SIZE", "4294967296", T_FIELD(dma32_size), false},
    {"PAGEALLOC_COMPACTION_PROACTIVENESS", "101", T_FIELD(compaction_proactiveness), false},
    {"PAGEALLOC_EXTFRAG_THRESHOLD", "1001", T_FIELD(extfrag_threshold), false},
    {"PAGEALLOC_WATERMARK_BOOST_FACTOR", "1000001", T_FIELD(watermark_boost_factor), false},
    {"PAGEALLOC_STATS_INTERVAL", "5", T_FIELD(stats_interval_ms), false},
    {"PAGEALLOC_DIRTY_RATIO", "101", T_FIELD(dirty_ratio), false},
    {"PAGEALLOC_WATERMARK_SCALE_FACTOR", "3001", T_FIELD(watermark_scale_factor), false},
    {"PAGEALLOC_MIN_FREE_KBYTES", "1073741825", T_FIELD(min_free_kbytes), false},
    {"PAGEALLOC_RELEASE_ORDER", "99", T_FIELD(release_order), false},
    {"PAGEALLOC_NUMA_EMULATE", "65", T_FIELD(numa_emulate), false},
    {"PAGEALLOC_FAIL", "1,2,", T_FIELD(fail), true},
    {"PAGEALLOC_CMA", "4M\x01", T_FIELD(cma), true},
    {"PAGEALLOC_CDM_NODES", ",1", T_FIELD(cdm_nodes), true},
    {"PAGEALLOC_RELEASE", "soon", T_FIELD(release), true},
    {"PAGEALLOC_POLICY", "a,,b", T_FIELD(policy), true},
};
#undef T_FIELD

START_TEST(test_config_bad_value_same_words)
{
    const char *var = bad_fields[_i].var, *value = bad_fields[_i].value;
    env_none();
    t_setenv(var, value);
    char *err = load_capturing(NULL);
    char *env_reason = reason_for(err, var);
    free(err);
    struct pa_options env_less;
    unsetenv(var);
    pa_options_load(NULL);
    env_less = pa_opt;

    struct pa_config cfg;
    ck_assert_int_eq(pa_config_init(&cfg), 0);
    char *dst = (char *)&cfg + bad_fields[_i].off;
    if (bad_fields[_i].str) {
        memcpy(dst, &value, sizeof(value));
    } else {
        unsigned long long n = strtoull(value, NULL, 10);
        if (bad_fields[_i].size == sizeof(unsigned int)) {
            unsigned int u = (unsigned int)n;
            memcpy(dst, &u, sizeof(u));
        } else {
            ck_assert_uint_eq(bad_fields[_i].size, sizeof(size_t));
            size_t z = (size_t)n;
            memcpy(dst, &z, sizeof(z));
        }
    }
    char name[64];
    snprintf(name, sizeof(name), "pa_config.%s=", bad_fields[_i].field);
    err = load_capturing(&cfg);
    char *cfg_reason = reason_for(err, name);
    free(err);
    ck_assert_str_eq(cfg_reason, env_reason);
    ck_assert_mem_eq(&pa_opt, &env_less, sizeof(pa_opt));
    free(env_reason);
    free(cfg_reason);
}
END_TEST

/* size: too small for any struct pa_config, the config is ignored; larger
 * than this library's, the known fields apply and set bytes past them are
 * reported once. */
START_TEST(test_config_size_checked)
{
    env_none();
    errno = 0;
    ck_assert_int_eq(pa_config_init(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    struct pa_config cfg;
    errno = 0;
    ck_assert_int_eq(pa_config_init_size(&cfg, sizeof(size_t)), -1);
    ck_assert_int_eq(errno, EINVAL);

    ck_assert_int_eq(pa_config_init(&cfg), 0);
    cfg.numa_emulate = 3;
    cfg.size = 16;
    char *err = load_capturing(&cfg);
    ck_assert_int_eq(t_count_lines_with(err, "pa_config.size=16: too small"), 1);
    free(err);
    ck_assert_int_eq(pa_opt.numa_emulate, 0);

    /* a program built against a newer header: its struct is longer */
    union {
        struct pa_config cfg;
        unsigned char bytes[sizeof(struct pa_config) + 64];
    } newer;
    memset(&newer, 0x77, sizeof(newer));
    ck_assert_int_eq(pa_config_init_size(&newer.cfg, sizeof(newer)), 0);
    ck_assert_uint_eq(newer.cfg.size, sizeof(newer));
    ck_assert_int_eq(t_first_not(newer.bytes + sizeof(struct pa_config), 0, 64), -1);
    newer.cfg.numa_emulate = 3;
    err = load_capturing(&newer.cfg);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert_int_eq(pa_opt.numa_emulate, 3);
    newer.bytes[sizeof(struct pa_config) + 8] = 1;
    err = load_capturing(&newer.cfg);
    ck_assert_int_eq(t_count_lines_with(err, "pa_config.size="), 1);
    ck_assert_ptr_nonnull(strstr(err, "the program's header is newer"));
    free(err);
    ck_assert_int_eq(pa_opt.numa_emulate, 3);
}
END_TEST

/* The whole way through pa_init: a config from pa_config_init turns off
 * what is on by default. */
START_TEST(test_config_init_through_pa_init)
{
    t_env_reset();
    struct pa_config cfg;
    ck_assert_int_eq(pa_config_init(&cfg), 0);
    cfg.mobility_grouping = false;
    cfg.pcp = PA_PCP_OFF;
    cfg.dma_size = 0;
    char *err = init_capturing(&cfg);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert(!pa_opt.mobility_grouping);
    ck_assert_uint_eq(pa_opt.pcp_mode, PA_PCP_OFF);
    ck_assert_uint_eq(NODE_DATA(0)->node_zones[PA_ZONE_DMA].spanned_pages, 0);
    assert_allocation_works();
}
END_TEST

/* Row i of the table is entry i of src/option_list.h (which t_env_reset
 * unsets), with a pa_config field, and there are no more rows than
 * entries. */
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
        /* every option can be set through struct pa_config */
        ck_assert_msg(pa_option_cfg_field(i) != NULL, "%s has no pa_config field", listed[i]);
    }
    ck_assert_ptr_null(pa_option_env(n));

#define T_OPTION_ENV(id) "PAGEALLOC_" #id,
    static const char *const shim_listed[] = { PA_SHIM_OPTION_LIST(T_OPTION_ENV) };
#undef T_OPTION_ENV
    n = sizeof(shim_listed) / sizeof(shim_listed[0]);
    for (size_t i = 0; i < n; i++) {
        const char *env = pa_shim_option_env(i);
        ck_assert_msg(env != NULL && strcmp(env, shim_listed[i]) == 0, "shim row %zu is %s, the list says %s",
                      i, env ? env : "(no row)", shim_listed[i]);
    }
    ck_assert_ptr_null(pa_shim_option_env(n));
}
END_TEST

/* The shim's variables go through the same parser: its size grammar, its
 * words, one message naming the variable; the default stays. */
START_TEST(test_shim_options)
{
    env_none();
    struct pa_shim_options so;
    pa_shim_options_load(&so);
    ck_assert_uint_eq(so.threshold, 65536);
    ck_assert_uint_eq(so.cache, 32UL << 20);
    ck_assert(so.protect && !so.stats && !so.hugepages_set);

    t_setenv("PAGEALLOC_SHIM_THRESHOLD", "128KiB");
    t_setenv("PAGEALLOC_SHIM_CACHE", "1g");
    t_setenv("PAGEALLOC_SHIM_PROTECT", "off");
    t_setenv("PAGEALLOC_SHIM_STATS", "TRUE");
    t_setenv("PAGEALLOC_HUGEPAGES", "none");
    pa_shim_options_load(&so);
    ck_assert_uint_eq(so.threshold, 128UL << 10);
    ck_assert_uint_eq(so.cache, 1UL << 30);
    ck_assert(!so.protect && so.stats && so.hugepages_set);

    t_setenv("PAGEALLOC_SHIM_THRESHOLD", "64 K");
    t_setenv("PAGEALLOC_SHIM_STATS", "maybe");
    struct t_capture c;
    t_capture_begin(&c);
    pa_shim_options_load(&so);
    char *err = t_capture_end(&c);
    assert_one_report(err, "PAGEALLOC_SHIM_THRESHOLD");
    ck_assert_ptr_nonnull(strstr(err, "pagealloc: PAGEALLOC_SHIM_THRESHOLD=\"64 K\": bad size (use a number with "
                                      "K, M, G or T); using the default (65536)\n"));
    assert_one_report(err, "PAGEALLOC_SHIM_STATS");
    free(err);
    ck_assert_uint_eq(so.threshold, 65536);
    ck_assert(!so.stats);
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
    tcase_add_test(tc, test_shim_options);
    tc = t_tcase(s, "init", 60);
    tcase_add_test(tc, test_config_overrides_environment);
    tcase_add_test(tc, test_config_unset_fields_keep_environment);
    tcase_add_test(tc, test_init_idempotent);
    tcase_add_test(tc, test_implicit_init);
    tc = t_tcase(s, "config", 60);
    tcase_add_test(tc, test_config_init_is_the_defaults);
    tcase_add_test(tc, test_config_sets_every_option);
    tcase_add_test(tc, test_config_unset_fields_keep_environment_sized);
    tcase_add_loop_test(tc, test_config_bad_value_same_words, 0,
                        (int)(sizeof(bad_fields) / sizeof(bad_fields[0])));
    tcase_add_test(tc, test_config_size_checked);
    tcase_add_test(tc, test_config_init_through_pa_init);
    return s;
}

int main(void)
{
    return t_run_suite(options_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * options.c: every configuration value of the library, in one table.
 *
 * Each option has one row in options[] below: its environment variable, the
 * struct pa_config member that overrides it, how its text is parsed, where
 * the value lands in pa_opt, its limits, and the words used in messages.
 * pa_options_load() walks the table once per call:
 *
 *     built-in defaults  <  environment  <  fields set in struct pa_config
 *
 * A field is set when it differs from its unset value: 0 (NULL, false) in
 * a config zeroed by hand (size 0), the default pa_config_init_size wrote
 * in one it filled.  Only the fields the caller's size covers are read, so
 * the struct can grow at its end.
 *
 * This is the only file that reads the environment (docs/environment.md
 * lists the variables).  A bad value never aborts and is never applied in
 * part: it gets one line on stderr naming the variable, the value, why it
 * is bad and what is used instead, and the previous layer stays in force.
 *
 * In a secure-execution process (setuid/setgid, file capabilities:
 * getauxval(AT_SECURE) != 0) the environment belongs to someone else, so it
 * is ignored entirely, as secure_getenv() would, and nothing is printed.
 */
#include "internal.h"
#include "option_list.h"
#include "shim_options.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* Node arenas are sized in whole 4 MiB units (rounded down, silently), and
 * at least two of them. */
#define NODE_SIZE_ALIGN (4 * MiB)
#define NODE_SIZE_MIN   (8 * MiB)

/* The highest guard:N, as the kernel's debug_guardpage_minorder limit. */
#define GUARD_MAX_ORDER 5
_Static_assert(GUARD_MAX_ORDER == MAX_ORDER / 2, "guard:N goes up to MAX_ORDER / 2");

/* ------------------------------------------------------------------ */
/* Built-in defaults                                                   */
/* ------------------------------------------------------------------ */

#define PA_OPTIONS_DEFAULTS                                                 \
    {                                                                       \
        .node_size = 0,                    /* half of each node's memory */ \
        .hugepages = PA_HUGEPAGES_AUTO,                                     \
        .numa_emulate = 0,                                                  \
        .movablecore = 0,                                                   \
        .movablecore_percent = 0,                                           \
        .dma_size = 16 * MiB,                                               \
        .dma32_size = 0,                                                    \
        .policy = "",                      /* "default" */                  \
        .debug = 0,                                                         \
        .min_free_kbytes = 0,              /* the kernel's formula */       \
        .watermark_scale_factor = 10,                                       \
        .watermark_boost_factor = 15000,                                    \
        .cdm_nodes = "",                                                    \
        .panic_on_oom = false,                                              \
        .fail = "",                                                         \
        .compaction_proactiveness = 20,                                     \
        .stats_interval_ms = 0,                                             \
        .extfrag_threshold = 500,                                           \
        .stats = "",                                                        \
        .prefault = false,                                                  \
        .pcp_mode = PA_PCP_CPU,                                             \
        .mobility_grouping = true,                                          \
        .pcp_magazine = true,                                               \
        .cma = "",                         /* no CMA areas */               \
        .dirty_ratio = 20,                 /* vm.dirty_ratio */             \
        .dynamic_hugetlb = false,                                           \
        .release_ms = 2000,                /* the kernel's PAGE_REPORTING_DELAY */ \
        .release_order = pageblock_order,  /* page_reporting_order */      \
        .pressure = true,                                                   \
        .secure = false,                                                    \
    }

struct pa_options pa_opt = PA_OPTIONS_DEFAULTS;
static const struct pa_options pa_opt_defaults = PA_OPTIONS_DEFAULTS;

/* ------------------------------------------------------------------ */
/* Small text helpers (ASCII only: option words must not depend on the */
/* locale, e.g. "I" and "i" under tr_TR)                               */
/* ------------------------------------------------------------------ */

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_isdigit(char c)
{
    return c >= '0' && c <= '9';
}

/* Case-insensitive compare of the n bytes at s with the whole of word. */
static bool word_eq(const char *s, size_t n, const char *word)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (word[i] == '\0' || ascii_lower(s[i]) != ascii_lower(word[i]))
            return false;
    }
    return word[n] == '\0';
}

/* Decimal digits only: no sign, no spaces, no base prefix.  *end is set to
 * the first byte after the digits, even on overflow, so that callers can
 * tell "12345678901234567890123" (too large) from "12x" (bad syntax).
 * -1 with EINVAL (no digits) or ERANGE. */
static int parse_digits(const char *s, unsigned long long *out, const char **end)
{
    unsigned long long v = 0;
    bool overflow = false;
    const char *p = s;

    *end = s;
    if (!ascii_isdigit(*p)) {
        errno = EINVAL;
        return -1;
    }
    for (; ascii_isdigit(*p); p++) {
        overflow |= __builtin_mul_overflow(v, 10ULL, &v);
        overflow |= __builtin_add_overflow(v, (unsigned long long)(*p - '0'), &v);
    }
    *end = p;
    if (overflow) {
        errno = ERANGE;
        return -1;
    }
    *out = v;
    return 0;
}

int pa_parse_size(const char *s, size_t *bytes, unsigned int *percent)
{
    unsigned long long v = 0;
    unsigned int shift = 0;
    bool overflow = false;
    size_t out;
    const char *p;

    if (s == NULL || bytes == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (parse_digits(s, &v, &p) != 0) {
        if (errno != ERANGE)
            return -1;
        overflow = true;        /* reported after the suffix: syntax first */
    }

    if (*p == '%') {
        if (percent == NULL || p[1] != '\0' || overflow || v < 1 || v > 100) {
            errno = EINVAL;
            return -1;
        }
        *bytes = 0;
        *percent = (unsigned int)v;
        return 0;
    }

    switch (ascii_lower(*p)) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: break;
    }
    if (shift != 0) {
        p++;
        if (ascii_lower(*p) == 'i') {           /* KiB, MiB, ...: B required */
            p++;
            if (ascii_lower(*p) != 'b') {
                errno = EINVAL;
                return -1;
            }
        }
    }
    if (ascii_lower(*p) == 'b')                 /* 4096B, 64MB, 64MiB */
        p++;
    if (*p != '\0') {
        errno = EINVAL;
        return -1;
    }

    if (overflow || v > SIZE_MAX || __builtin_mul_overflow((size_t)v, (size_t)1 << shift, &out)) {
        errno = ERANGE;
        return -1;
    }
    *bytes = out;
    if (percent != NULL)
        *percent = 0;
    return 0;
}

/* "16M", "2G", "4096": the shortest exact spelling, for messages. */
static void format_size(char *buf, size_t len, unsigned long long v)
{
    static const char units[] = "KMGT";
    int i = -1;

    while (i < 3 && v != 0 && (v & 1023) == 0) {
        v >>= 10;
        i++;
    }
    if (i < 0)
        snprintf(buf, len, "%llu", v);
    else
        snprintf(buf, len, "%llu%c", v, units[i]);
}

/* Quote s for a one-line message: printable ASCII as is, the rest as \xNN,
 * cut with "..." when long. */
static void format_quoted(char *buf, size_t len, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;
    const size_t shown = 80;

    buf[o++] = '"';
    for (i = 0; s[i] != '\0' && o + 8 < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i == shown) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define PA_STRINGIFY_(x) #x
#define PA_STRINGIFY(x)  PA_STRINGIFY_(x)

enum option_kind {
    OPT_SIZE,             /* bytes with K/M/G/T */
    OPT_SIZE_OR_PERCENT,  /* bytes, or "N%" into a second member */
    OPT_UINT,             /* decimal integer in [min, max], or a word */
    OPT_ENUM,             /* one of the words */
    OPT_STRING,           /* copied; words are aliases */
    OPT_DEBUG_LIST,       /* comma list of words, OR-ed */
    OPT_BOOL,             /* yes/no words */
};

/* C types of members in struct pa_options and struct pa_config. */
enum ctype { CT_NONE, CT_SIZE, CT_INT, CT_UINT, CT_ULONG, CT_BOOL, CT_CHARS, CT_STR };
typedef size_t ctype_CT_SIZE;
typedef int ctype_CT_INT;
typedef unsigned int ctype_CT_UINT;
typedef unsigned long ctype_CT_ULONG;
typedef bool ctype_CT_BOOL;
typedef char ctype_CT_CHARS[];
typedef const char *ctype_CT_STR;

/* Offset of a member, refusing to compile if its type is not the one named
 * (a row that wrote an int through a size_t would corrupt pa_opt). */
#define CHECKED_OFFSET(type, member, ct)                                              \
    (offsetof(type, member) +                                                         \
     0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((type *)0)->member),    \
                                                  ctype_##ct) ? 1 : -1]))

#define OPT(member, ct)                                                  \
    .opt_off = CHECKED_OFFSET(struct pa_options, member, ct),            \
    .opt_size = sizeof(((struct pa_options *)0)->member), .opt_type = ct
#define CFG(member, ct)                                                  \
    .cfg_field = #member,                                                \
    .cfg_off = CHECKED_OFFSET(struct pa_config, member, ct),             \
    .cfg_size = sizeof(((struct pa_config *)0)->member), .cfg_type = ct

struct option_word {
    const char *word;
    unsigned long long value;   /* OPT_UINT, OPT_ENUM, OPT_DEBUG_LIST, OPT_BOOL */
    const char *text;           /* OPT_STRING: what the alias stands for */
};

struct option_desc {
    const char *env;                 /* environment variable */
    enum option_kind kind;
    size_t opt_off, opt_size;        /* member of struct pa_options */
    enum ctype opt_type;
    size_t percent_off;              /* OPT_SIZE_OR_PERCENT: the percent member of pa_options */
    const char *cfg_field;           /* member of struct pa_config */
    size_t cfg_off, cfg_size;
    enum ctype cfg_type;
    const char *cfg_percent_field;   /* OPT_SIZE_OR_PERCENT: the percent member of pa_config */
    size_t cfg_percent_off;
    unsigned long long min, max;     /* inclusive; OPT_DEBUG_LIST: max is the mask */
    bool zero_is_off;                /* OPT_UINT: 0 is allowed below min, meaning off */
    unsigned long long align;        /* OPT_SIZE: round down to a multiple */
    const struct option_word *words; /* NULL-terminated */
    const char *hint;                /* what a good value looks like */
    const char *range_text;          /* what a good cfg value looks like, if not hint */
    const char *default_text;        /* the built-in default, for messages */
    bool list;                       /* OPT_STRING: a comma list of printable words */
};

static const struct option_word hugepages_words[] = {
    { "auto", PA_HUGEPAGES_AUTO, NULL },
    { "1G", PA_HUGEPAGES_1G, NULL },
    { "2M", PA_HUGEPAGES_2M, NULL },
    { "thp", PA_HUGEPAGES_THP, NULL },
    { "none", PA_HUGEPAGES_NONE, NULL },
    { NULL, 0, NULL },
};

static const struct option_word off_words[] = {
    { "off", 0, NULL },
    { NULL, 0, NULL },
};

static const struct option_word release_words[] = {
    { "off", PA_RELEASE_OFF, NULL },
    { NULL, 0, NULL },
};

static const struct option_word debug_words[] = {
    { "checks", PA_DEBUG_CHECKS, NULL },
    { "poison", PA_DEBUG_POISON, NULL },
    { "guard", PA_DEBUG_GUARD, NULL },        /* also "guard:N", parsed in option_parse */
    { "owner", PA_DEBUG_OWNER, NULL },
    { "locks", PA_DEBUG_LOCKS, NULL },
    { "all", PA_DEBUG_CHECKS | PA_DEBUG_POISON | PA_DEBUG_GUARD | PA_DEBUG_OWNER, NULL },
    { "off", 0, NULL },
    { "none", 0, NULL },
    { NULL, 0, NULL },
};

static const struct option_word bool_words[] = {
    { "1", 1, NULL }, { "yes", 1, NULL }, { "on", 1, NULL }, { "true", 1, NULL },
    { "0", 0, NULL }, { "no", 0, NULL }, { "off", 0, NULL }, { "false", 0, NULL },
    { NULL, 0, NULL },
};

static const struct option_word pcp_words[] = {
    { "cpu", PA_PCP_CPU, NULL },
    { "thread", PA_PCP_THREAD, NULL },
    { "off", PA_PCP_OFF, NULL },
    { NULL, 0, NULL },
};

static const struct option_word stats_words[] = {
    { "0", 0, "" },
    { "off", 0, "" },
    { "1", 0, "stderr" },
    { "stderr", 0, "stderr" },
    { NULL, 0, NULL },
};

/* options[OPT_<ID>] is PAGEALLOC_<ID>: one row per entry of option_list.h. */
enum option_id {
#define OPTION_ID(id) OPT_##id,
    PA_OPTION_LIST(OPTION_ID)
#undef OPTION_ID
    OPT_COUNT
};

static const struct option_desc options[OPT_COUNT] = {
    [OPT_NODE_SIZE] = {
        .env = "PAGEALLOC_NODE_SIZE", .kind = OPT_SIZE,
        OPT(node_size, CT_SIZE), CFG(node_size, CT_SIZE),
        .min = NODE_SIZE_MIN, .max = SIZE_MAX, .align = NODE_SIZE_ALIGN,
        .hint = "use a number with K, M, G or T",
        .default_text = "half of each node's memory",
    },
    [OPT_HUGEPAGES] = {
        .env = "PAGEALLOC_HUGEPAGES", .kind = OPT_ENUM,
        OPT(hugepages, CT_UINT), CFG(hugepages, CT_UINT),
        .min = PA_HUGEPAGES_AUTO, .max = PA_HUGEPAGES_NONE,
        .words = hugepages_words,
        .hint = "use auto, 1G, 2M, thp or none",
        .range_text = "use PA_HUGEPAGES_AUTO to PA_HUGEPAGES_NONE",
        .default_text = "auto",
    },
    [OPT_NUMA_EMULATE] = {
        .env = "PAGEALLOC_NUMA_EMULATE", .kind = OPT_UINT,
        OPT(numa_emulate, CT_INT), CFG(numa_emulate, CT_INT),
        .min = 1, .max = PA_MAX_NUMNODES, .zero_is_off = true, .words = off_words,
        .hint = "use a number of nodes from 1 to " PA_STRINGIFY(PA_MAX_NUMNODES) ", or off",
        .default_text = "off",
    },
    [OPT_MOVABLECORE] = {
        .env = "PAGEALLOC_MOVABLECORE", .kind = OPT_SIZE_OR_PERCENT,
        OPT(movablecore, CT_SIZE), CFG(movablecore, CT_SIZE),
        .percent_off = CHECKED_OFFSET(struct pa_options, movablecore_percent, CT_UINT),
        .cfg_percent_field = "movablecore_percent",
        .cfg_percent_off = CHECKED_OFFSET(struct pa_config, movablecore_percent, CT_UINT),
        .min = 0, .max = SIZE_MAX,
        .hint = "use a number with K, M, G or T, or a percentage from 1% to 100%",
        .default_text = "0, no Movable zone",
    },
    [OPT_DMA_SIZE] = {
        .env = "PAGEALLOC_DMA_SIZE", .kind = OPT_SIZE,
        OPT(dma_size, CT_SIZE), CFG(dma_size, CT_SIZE),
        .min = 0, .max = SIZE_MAX,
        .hint = "use a number with K, M, G or T",
        .default_text = "16M",
    },
    [OPT_DMA32_SIZE] = {
        .env = "PAGEALLOC_DMA32_SIZE", .kind = OPT_SIZE,
        OPT(dma32_size, CT_SIZE), CFG(dma32_size, CT_SIZE),
        .min = 0, .max = 2 * GiB,   /* the zone must fit below 4 GiB */
        .hint = "use a number with K, M, G or T",
        .default_text = "0, no DMA32 zone",
    },
    [OPT_POLICY] = {
        /* Only copied here: mempolicy.c parses it and reports its errors. */
        .env = "PAGEALLOC_POLICY", .kind = OPT_STRING,
        OPT(policy, CT_CHARS), CFG(policy, CT_STR),
        .hint = "numactl's words, e.g. interleave=all",
        .default_text = "default",
        .list = true,
    },
    [OPT_CDM_NODES] = {
        /* Only copied here: mempolicy.c parses the node list once nodes exist. */
        .env = "PAGEALLOC_CDM_NODES", .kind = OPT_STRING,
        OPT(cdm_nodes, CT_CHARS), CFG(cdm_nodes, CT_STR),
        .hint = "a node list, e.g. 2-3",
        .default_text = "none",
        .list = true,
    },
    [OPT_PANIC_ON_OOM] = {
        .env = "PAGEALLOC_PANIC_ON_OOM", .kind = OPT_BOOL,
        OPT(panic_on_oom, CT_BOOL), CFG(panic_on_oom, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "off",
    },
    [OPT_FAIL] = {
        /* Only copied here: page_alloc.c parses it (should_fail_alloc_page). */
        .env = "PAGEALLOC_FAIL", .kind = OPT_STRING,
        OPT(fail, CT_CHARS), CFG(fail, CT_STR),
        .hint = "e.g. probability=10,interval=1,times=-1,min-order=0,ignore-gfp-wait=0",
        .default_text = "off",
        .list = true,
    },
    [OPT_COMPACTION_PROACTIVENESS] = {
        .env = "PAGEALLOC_COMPACTION_PROACTIVENESS", .kind = OPT_UINT,
        OPT(compaction_proactiveness, CT_UINT), CFG(compaction_proactiveness, CT_UINT),
        .min = 0, .max = 100,
        .hint = "use a number from 0 (off) to 100",
        .default_text = "20",
    },
    [OPT_EXTFRAG_THRESHOLD] = {
        .env = "PAGEALLOC_EXTFRAG_THRESHOLD", .kind = OPT_UINT,
        OPT(extfrag_threshold, CT_UINT), CFG(extfrag_threshold, CT_UINT),
        .min = 0, .max = 1000,
        .hint = "use a number from 0 to 1000",
        .default_text = "500",
    },
    [OPT_WATERMARK_BOOST_FACTOR] = {
        .env = "PAGEALLOC_WATERMARK_BOOST_FACTOR", .kind = OPT_UINT,
        OPT(watermark_boost_factor, CT_UINT), CFG(watermark_boost_factor, CT_UINT),
        .min = 0, .max = 1000000,
        .hint = "use a number from 0 (off) to 1000000",
        .default_text = "15000",
    },
    [OPT_DEBUG] = {
        .env = "PAGEALLOC_DEBUG", .kind = OPT_DEBUG_LIST,
        OPT(debug, CT_UINT), CFG(debug, CT_UINT),
        .max = PA_DEBUG_CHECKS | PA_DEBUG_POISON | PA_DEBUG_GUARD | PA_DEBUG_OWNER | PA_DEBUG_LOCKS |
               PA_DEBUG_GUARD_MINORDER(0xf),
        .words = debug_words,
        .hint = "use checks, poison, guard, guard:N (N = 1 to " PA_STRINGIFY(GUARD_MAX_ORDER)
                "), owner, locks, all or off, separated by commas",
        .range_text = "use PA_DEBUG_CHECKS, PA_DEBUG_POISON, PA_DEBUG_GUARD (with "
                      "PA_DEBUG_GUARD_MINORDER(1.." PA_STRINGIFY(GUARD_MAX_ORDER) ")), PA_DEBUG_OWNER and PA_DEBUG_LOCKS",
        .default_text = "off",
    },
    [OPT_MIN_FREE_KBYTES] = {
        .env = "PAGEALLOC_MIN_FREE_KBYTES", .kind = OPT_UINT,
        OPT(min_free_kbytes, CT_ULONG), CFG(min_free_kbytes, CT_ULONG),
        .min = 1, .max = 1ULL << 30,
        .hint = "use a number of KiB from 1 to 1073741824",
        .default_text = "the kernel's formula",
    },
    [OPT_WATERMARK_SCALE_FACTOR] = {
        .env = "PAGEALLOC_WATERMARK_SCALE_FACTOR", .kind = OPT_UINT,
        OPT(watermark_scale_factor, CT_UINT), CFG(watermark_scale_factor, CT_UINT),
        .min = 1, .max = 3000,
        .hint = "use a number from 1 to 3000",
        .default_text = "10",
    },
    [OPT_STATS] = {
        .env = "PAGEALLOC_STATS", .kind = OPT_STRING,
        OPT(stats, CT_CHARS), CFG(stats, CT_STR),
        .words = stats_words,
        .hint = "use stderr, off or a file path",
        .default_text = "off",
    },
    [OPT_STATS_INTERVAL] = {
        .env = "PAGEALLOC_STATS_INTERVAL", .kind = OPT_UINT,
        OPT(stats_interval_ms, CT_UINT), CFG(stats_interval_ms, CT_UINT),
        .min = 10, .max = 3600000, .zero_is_off = true, .words = off_words,
        .hint = "use milliseconds from 10 to 3600000, or off",
        .default_text = "off",
    },
    [OPT_PREFAULT] = {
        .env = "PAGEALLOC_PREFAULT", .kind = OPT_BOOL,
        OPT(prefault, CT_BOOL), CFG(prefault, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "off",
    },
    [OPT_PCP] = {
        .env = "PAGEALLOC_PCP", .kind = OPT_ENUM,
        OPT(pcp_mode, CT_UINT), CFG(pcp, CT_UINT),
        .min = PA_PCP_CPU, .max = PA_PCP_OFF,
        .words = pcp_words,
        .hint = "use cpu, thread or off",
        .range_text = "use PA_PCP_CPU, PA_PCP_THREAD or PA_PCP_OFF",
        .default_text = "cpu",
    },
    [OPT_PCP_MAGAZINE] = {
        .env = "PAGEALLOC_PCP_MAGAZINE", .kind = OPT_BOOL,
        OPT(pcp_magazine, CT_BOOL), CFG(pcp_magazine, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "on",
    },
    [OPT_MOBILITY_GROUPING] = {
        .env = "PAGEALLOC_MOBILITY_GROUPING", .kind = OPT_BOOL,
        OPT(mobility_grouping, CT_BOOL), CFG(mobility_grouping, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "on",
    },
    [OPT_CMA] = {
        /* Only copied here: cma.c parses it once the nodes exist. */
        .env = "PAGEALLOC_CMA", .kind = OPT_STRING,
        OPT(cma, CT_CHARS), CFG(cma, CT_STR),
        .hint = "SIZE[@NODE],..., e.g. 64M@0",
        .default_text = "none",
        .list = true,
    },
    [OPT_DIRTY_RATIO] = {
        .env = "PAGEALLOC_DIRTY_RATIO", .kind = OPT_UINT,
        OPT(dirty_ratio, CT_UINT), CFG(dirty_ratio, CT_UINT),
        .min = 0, .max = 100,
        .hint = "use a percentage from 0 to 100",
        .default_text = "20",
    },
    [OPT_DYNAMIC_HUGETLB] = {
        .env = "PAGEALLOC_DYNAMIC_HUGETLB", .kind = OPT_BOOL,
        OPT(dynamic_hugetlb, CT_BOOL), CFG(dynamic_hugetlb, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "off",
    },
    [OPT_RELEASE] = {
        .env = "PAGEALLOC_RELEASE", .kind = OPT_UINT,
        OPT(release_ms, CT_UINT), CFG(release, CT_STR),
        .min = 0, .max = 3600000, .words = release_words,
        .hint = "use a delay in milliseconds from 0 to 3600000, or off",
        .default_text = "2000",
    },
    [OPT_RELEASE_ORDER] = {
        .env = "PAGEALLOC_RELEASE_ORDER", .kind = OPT_UINT,
        OPT(release_order, CT_UINT), CFG(release_order, CT_UINT),
        .min = 0, .max = MAX_ORDER,
        .hint = "use an order from 0 to " PA_STRINGIFY(PA_MAX_ORDER),
        .default_text = "9, the pageblock order",
    },
    [OPT_PRESSURE] = {
        .env = "PAGEALLOC_PRESSURE", .kind = OPT_BOOL,
        OPT(pressure, CT_BOOL), CFG(pressure, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "on",
    },
};

/* ------------------------------------------------------------------ */
/* Parsing and checking, per kind                                      */
/* ------------------------------------------------------------------ */

/* A candidate value, complete before anything is stored. */
struct option_value {
    unsigned long long u;     /* number, bytes, enum, bits, bool */
    unsigned int percent;     /* OPT_SIZE_OR_PERCENT */
    const char *s;            /* OPT_STRING */
    bool word;                /* came from a word: exempt from min..max */
    bool conflict;            /* cfg: movablecore and movablecore_percent both set */
};

static const struct option_word *find_word(const struct option_word *w, const char *s, size_t n)
{
    for (; w != NULL && w->word != NULL; w++) {
        if (word_eq(s, n, w->word))
            return w;
    }
    return NULL;
}

/* Text of the environment (or of a string cfg field) into v.  0, or -1
 * with the reason in why. */
static int option_parse(const struct option_desc *d, const char *s,
                        struct option_value *v, char *why, size_t whylen)
{
    const struct option_word *w = find_word(d->words, s, strlen(s));
    size_t bytes;
    const char *end;

    memset(v, 0, sizeof(*v));
    switch (d->kind) {
    case OPT_SIZE:
    case OPT_SIZE_OR_PERCENT:
        if (pa_parse_size(s, &bytes, d->kind == OPT_SIZE_OR_PERCENT ? &v->percent : NULL) == 0) {
            v->u = bytes;
            return 0;
        }
        if (errno == ERANGE)
            snprintf(why, whylen, "too large");
        else if (d->kind == OPT_SIZE_OR_PERCENT && s[0] != '\0' && s[strlen(s) - 1] == '%')
            snprintf(why, whylen, "bad percentage (use 1%% to 100%%)");
        else
            snprintf(why, whylen, "bad size (%s)", d->hint);
        return -1;

    case OPT_UINT:
        if (w != NULL) {
            v->u = w->value;
            v->word = true;
            return 0;
        }
        if (parse_digits(s, &v->u, &end) != 0 && errno == ERANGE)
            v->u = ULLONG_MAX;          /* let the range check say why */
        if (end == s || *end != '\0') {
            snprintf(why, whylen, "not a number (%s)", d->hint);
            return -1;
        }
        return 0;

    case OPT_ENUM:
    case OPT_BOOL:
        if (w == NULL) {
            snprintf(why, whylen, "unknown value (%s)", d->hint);
            return -1;
        }
        v->u = w->value;
        return 0;

    case OPT_STRING:
        v->s = w != NULL ? w->text : s;
        if (d->list && w == NULL) {
            /* checked here so that the file that parses the list later
             * never echoes a byte that is not printable, and an empty item
             * ("1,2,") is an error rather than ignored */
            for (const char *c = s; *c != '\0'; c++) {
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
                    snprintf(why, whylen, "unprintable byte at offset %zu (%s)", (size_t)(c - s), d->hint);
                    return -1;
                }
            }
            size_t n = strlen(s);
            if (s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,") != NULL) {
                snprintf(why, whylen, "empty item in the list (%s)", d->hint);
                return -1;
            }
        }
        return 0;

    case OPT_DEBUG_LIST:
        for (const char *p = s;; p++) {
            size_t n = strcspn(p, ",");

            w = find_word(d->words, p, n);
            if (w == NULL && n > 6 && word_eq(p, 6, "guard:")) {
                /* guard:N, the kernel's debug_guardpage_minorder=N */
                unsigned long long order;
                const char *num_end;
                if (parse_digits(p + 6, &order, &num_end) != 0 || num_end != p + n || order < 1 ||
                    order > GUARD_MAX_ORDER) {
                    snprintf(why, whylen, "bad guard order \"%.*s\" (use guard:1 to guard:%d)",
                             (int)PA_MIN(n - 6, 20), p + 6, GUARD_MAX_ORDER);
                    return -1;
                }
                v->u |= PA_DEBUG_GUARD | PA_DEBUG_GUARD_MINORDER(order);
                p += n;
                if (*p == '\0')
                    return 0;
                continue;
            }
            if (w == NULL && n == 0) {
                snprintf(why, whylen, "empty word (%s)", d->hint);
                return -1;
            }
            if (w == NULL) {
                char word[48], quoted[sizeof(word) * 4 + 8];

                snprintf(word, sizeof(word), "%.*s", (int)PA_MIN(n, 40), p);
                format_quoted(quoted, sizeof(quoted), word);
                snprintf(why, whylen, "unknown word %s (%s)", quoted, d->hint);
                return -1;
            }
            v->u |= w->value;
            p += n;
            if (*p == '\0')
                return 0;
        }
    }
    return -1;
}

/* Limits common to both sources.  May adjust v (alignment). */
static int option_check(const struct option_desc *d, struct option_value *v,
                        char *why, size_t whylen)
{
    char lim[32];

    switch (d->kind) {
    case OPT_SIZE:
        if (v->u < d->min) {
            format_size(lim, sizeof(lim), d->min);
            snprintf(why, whylen, "too small (at least %s)", lim);
            return -1;
        }
        if (v->u > d->max) {
            format_size(lim, sizeof(lim), d->max);
            snprintf(why, whylen, "too large (at most %s)", lim);
            return -1;
        }
        if (d->align != 0)
            v->u -= v->u % d->align;
        return 0;

    case OPT_SIZE_OR_PERCENT:
        if (v->percent > 100) {
            snprintf(why, whylen, "out of range (use 1 to 100)");
            return -1;
        }
        return 0;

    case OPT_UINT:
    case OPT_ENUM:
        if (v->word || (v->u == 0 && d->zero_is_off))
            return 0;
        if (v->u < d->min || v->u > d->max) {
            snprintf(why, whylen, "out of range (%s)", d->range_text ? d->range_text : d->hint);
            return -1;
        }
        return 0;

    case OPT_DEBUG_LIST:
        if (v->u & ~d->max) {
            snprintf(why, whylen, "unknown bits 0x%llx (%s)", v->u & ~d->max, d->range_text);
            return -1;
        }
        if (PA_DEBUG_GUARD_MINORDER_OF(v->u) > GUARD_MAX_ORDER ||
            (PA_DEBUG_GUARD_MINORDER_OF(v->u) && !(v->u & PA_DEBUG_GUARD))) {
            snprintf(why, whylen, "guard order %u without PA_DEBUG_GUARD or above %d (%s)",
                     PA_DEBUG_GUARD_MINORDER_OF(v->u), GUARD_MAX_ORDER, d->range_text);
            return -1;
        }
        return 0;

    case OPT_STRING:
        if (strlen(v->s) >= d->opt_size) {
            snprintf(why, whylen, "too long (at most %zu bytes)", d->opt_size - 1);
            return -1;
        }
        return 0;

    case OPT_BOOL:
        return 0;
    }
    return -1;
}

/* v into the member of d in *base (pa_opt, or the shim's options). */
static void option_store(const struct option_desc *d, const struct option_value *v, void *base)
{
    char *dst = (char *)base + d->opt_off;

    switch (d->opt_type) {
    case CT_SIZE:  *(size_t *)(void *)dst = (size_t)v->u; break;
    case CT_INT:   *(int *)(void *)dst = (int)v->u; break;
    case CT_UINT:  *(unsigned int *)(void *)dst = (unsigned int)v->u; break;
    case CT_ULONG: *(unsigned long *)(void *)dst = (unsigned long)v->u; break;
    case CT_BOOL:  *(bool *)(void *)dst = v->u != 0; break;
    case CT_CHARS: memcpy(dst, v->s, strlen(v->s) + 1); break;   /* length checked */
    case CT_NONE:
    case CT_STR:   break;
    }
    if (d->kind == OPT_SIZE_OR_PERCENT)
        *(unsigned int *)(void *)((char *)base + d->percent_off) = v->percent;
}

/* Whether the len bytes of a config member at off differ from their unset
 * value in `unset`. */
static bool cfg_member_differs(const struct pa_config *cfg, const struct pa_config *unset,
                               size_t off, size_t len)
{
    return memcmp((const char *)cfg + off, (const char *)unset + off, len) != 0;
}

/* The cfg member of d as a candidate value, with its name and its value
 * as text for messages.  false when the member is unset: equal to its
 * value in `unset` (all zero, or what pa_config_init wrote), or an enum at
 * its _UNSET value. */
static bool cfg_read(const struct option_desc *d, const struct pa_config *cfg,
                     const struct pa_config *unset, struct option_value *v,
                     char *name, size_t namelen, char *text, size_t textlen)
{
    const char *src = (const char *)cfg + d->cfg_off;
    bool set = cfg_member_differs(cfg, unset, d->cfg_off, d->cfg_size);

    memset(v, 0, sizeof(*v));
    snprintf(name, namelen, "pa_config.%s", d->cfg_field);
    switch (d->cfg_type) {
    case CT_SIZE:
        v->u = *(const size_t *)(const void *)src;
        if (d->kind == OPT_SIZE_OR_PERCENT) {
            bool percent_set = cfg_member_differs(cfg, unset, d->cfg_percent_off, sizeof(unsigned int));

            v->percent = *(const unsigned int *)(const void *)((const char *)cfg + d->cfg_percent_off);
            if (percent_set && set) {
                snprintf(text, textlen, "%llu and pa_config.%s=%u", v->u,
                         d->cfg_percent_field, v->percent);
                v->conflict = true;
                return true;
            }
            if (percent_set) {
                snprintf(name, namelen, "pa_config.%s", d->cfg_percent_field);
                snprintf(text, textlen, "%u", v->percent);
                return true;
            }
        }
        snprintf(text, textlen, "%llu", v->u);
        return set;
    case CT_INT: {
        int i = *(const int *)(const void *)src;

        snprintf(text, textlen, "%d", i);
        v->u = i < 0 ? ULLONG_MAX : (unsigned long long)i;
        return set;
    }
    case CT_UINT:
        v->u = *(const unsigned int *)(const void *)src;
        snprintf(text, textlen, d->kind == OPT_DEBUG_LIST ? "0x%llx" : "%llu", v->u);
        return set && !(d->kind == OPT_ENUM && v->u == 0);
    case CT_ULONG:
        v->u = *(const unsigned long *)(const void *)src;
        snprintf(text, textlen, "%llu", v->u);
        return set;
    case CT_BOOL:
        v->u = *(const bool *)(const void *)src;
        snprintf(text, textlen, "%s", v->u ? "true" : "false");
        return set;
    case CT_STR:
        v->s = *(const char *const *)(const void *)src;
        if (v->s == NULL)
            return false;
        format_quoted(text, textlen, v->s);
        return true;
    case CT_NONE:
    case CT_CHARS:
        break;
    }
    return false;
}

/* One line, one write(2): no stdio, no allocation, no interleaving. */
static void report(const char *name, const char *shown, const char *why,
                   const char *fallback_name, const char *fallback)
{
    char line[1024];
    int n;

    if (fallback_name != NULL)
        n = snprintf(line, sizeof(line), "pagealloc: %s=%s: %s; using %s=%s\n",
                     name, shown, why, fallback_name, fallback);
    else
        n = snprintf(line, sizeof(line), "pagealloc: %s=%s: %s; using the default (%s)\n",
                     name, shown, why, fallback);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t PA_UNUSED rc = write(STDERR_FILENO, line, (size_t)n);
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/* Defaults < environment < cfg for the option of row d, stored in *base.
 * cfg is NULL or covers `covered` bytes; `unset` holds its unset values. */
static void option_load(const struct option_desc *d, void *base, const struct pa_config *cfg,
                        size_t covered, const struct pa_config *unset, bool secure)
{
    struct option_value v;
    char why[256], shown[400], cfg_name[64];
    const char *env = NULL;
    bool env_applied = false;
    int rc = 0;

    /* Environment.  An empty value counts as unset ("VAR= prog"). */
    if (!secure)
        env = getenv(d->env);   /* the library's only getenv */
    if (env != NULL && env[0] != '\0') {
        if (option_parse(d, env, &v, why, sizeof(why)) == 0 &&
            option_check(d, &v, why, sizeof(why)) == 0) {
            option_store(d, &v, base);
            env_applied = true;
        } else {
            format_quoted(shown, sizeof(shown), env);
            report(d->env, shown, why, NULL, d->default_text);
        }
    }

    /* struct pa_config: the members that the caller's size covers and
     * that are set. */
    if (cfg == NULL || d->cfg_off + d->cfg_size > covered ||
        (d->kind == OPT_SIZE_OR_PERCENT && d->cfg_percent_off + sizeof(unsigned int) > covered) ||
        !cfg_read(d, cfg, unset, &v, cfg_name, sizeof(cfg_name), shown, sizeof(shown)))
        return;
    if (v.conflict) {
        snprintf(why, sizeof(why), "both set (set one)");
        rc = -1;
    } else if (d->cfg_type == CT_STR) {
        rc = option_parse(d, v.s, &v, why, sizeof(why));
    }
    if (rc == 0)
        rc = option_check(d, &v, why, sizeof(why));
    if (rc == 0) {
        option_store(d, &v, &pa_opt);
        return;
    }
    if (secure)
        return;
    if (env_applied) {
        char envq[400];

        format_quoted(envq, sizeof(envq), env);
        report(cfg_name, shown, why, d->env, envq);
    } else {
        report(cfg_name, shown, why, NULL, d->default_text);
    }
}

/* A node size the address space cannot hold (PAGEALLOC_NODE_SIZE=100T) is
 * clamped: every node, its page descriptors (1/64 of it) and the rest of
 * the process must fit, so a node gets at most half of what can be
 * reserved, divided among the emulated nodes.  One message names the
 * source of the value. */
static void clamp_node_size(const struct pa_config *cfg)
{
    size_t nodes = pa_opt.numa_emulate > 0 ? (size_t)pa_opt.numa_emulate : 1, want;
    if (pa_opt.node_size == 0)
        return;
    if (__builtin_mul_overflow(pa_opt.node_size + pa_opt.node_size / 64, 2 * nodes, &want))
        want = SIZE_MAX;
    size_t can = pa_os_max_reservation(want);
    if (can == want)
        return;
    size_t node = can / 2 / nodes;
    node -= node / 65;
    node -= node % NODE_SIZE_ALIGN;
    if (node < NODE_SIZE_MIN)
        node = NODE_SIZE_MIN;
    char was[32], now[32];
    format_size(was, sizeof(was), pa_opt.node_size);
    format_size(now, sizeof(now), node);
    pa_opt.node_size = node;
    if (pa_opt.secure)
        return;
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "pagealloc: %s=%s: larger than the address space allows; using %s\n",
                     cfg && cfg->node_size ? "pa_config.node_size" : "PAGEALLOC_NODE_SIZE", was, now);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The end of the last member of the first struct pa_config with a size:
 * the fields a zero-initialised config (size 0) covers, and the least a
 * caller's size can be.  Fixed as the struct grows. */
#define CONFIG_SIZE_FIRST (offsetof(struct pa_config, pressure) + sizeof(bool))
_Static_assert(CONFIG_SIZE_FIRST <= sizeof(struct pa_config), "the first layout is a prefix");

int pa_config_init_size(struct pa_config *cfg, size_t size)
{
    if (cfg == NULL || size < CONFIG_SIZE_FIRST) {
        errno = EINVAL;
        return -1;
    }
    memset(cfg, 0, size);
    cfg->size = size;
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        const struct option_desc *d = &options[i];
        const char *def = (const char *)&pa_opt_defaults + d->opt_off;
        char *dst = (char *)cfg + d->cfg_off;

        /* a member of pa_opt's type holds the default as is (the row's
         * CHECKED_OFFSETs made both that type); a string member starts
         * NULL, unset; the percent member of movablecore stays 0 */
        if (d->cfg_type == d->opt_type && d->cfg_off + d->cfg_size <= size)
            memcpy(dst, def, d->cfg_size);
    }
    return 0;
}

/* How many bytes of *cfg the library may read (0: none), after checking
 * its size.  A config larger than this library's struct is read up to its
 * end; fields past it that are set (not zero) are reported as unknown. */
static size_t config_covered(const struct pa_config *cfg, bool secure)
{
    char shown[32], why[160];

    if (cfg == NULL)
        return 0;
    if (cfg->size == 0)
        return CONFIG_SIZE_FIRST;
    snprintf(shown, sizeof(shown), "%zu", cfg->size);
    if (cfg->size < CONFIG_SIZE_FIRST) {
        snprintf(why, sizeof(why), "too small (at least %zu: fill it with pa_config_init)",
                 (size_t)CONFIG_SIZE_FIRST);
        if (!secure)
            report("pa_config.size", shown, why, NULL, "the environment and built-in values for every field");
        return 0;
    }
    if (cfg->size <= sizeof(struct pa_config))
        return cfg->size;
    for (size_t i = sizeof(struct pa_config); i < cfg->size; i++) {
        if (((const unsigned char *)cfg)[i] != 0) {
            snprintf(why, sizeof(why),
                     "byte %zu is set, past the %zu bytes of fields this libpagealloc knows "
                     "(the program's header is newer)", i, sizeof(struct pa_config));
            if (!secure)
                report("pa_config.size", shown, why, NULL, "the environment and built-in values for those fields");
            break;
        }
    }
    return sizeof(struct pa_config);
}

/* Not thread-safe: pa_init() calls it once under its lock; tests call it
 * directly, and each call starts again from the defaults. */
void pa_options_load(const struct pa_config *cfg)
{
    /* secure_getenv() semantics, decided once for the whole table. */
    bool secure = getauxval(AT_SECURE) != 0;
    size_t covered = config_covered(cfg, secure);
    /* what "unset" means: 0 in a config filled by hand, the value
     * pa_config_init gave it in one filled by it */
    struct pa_config unset;

    memset(&unset, 0, sizeof(unset));
    if (cfg != NULL && cfg->size != 0)
        pa_config_init_size(&unset, sizeof(unset));

    pa_opt = pa_opt_defaults;
    pa_opt.secure = secure;
    for (size_t i = 0; i < ARRAY_SIZE(options); i++)
        option_load(&options[i], &pa_opt, covered != 0 ? cfg : NULL, covered, &unset, secure);
    clamp_node_size(covered != 0 ? cfg : NULL);
}

/* The PAGEALLOC_DEBUG flags in force, for the LD_PRELOAD shim (which links
 * the library's archive): it may protect free pages only when the library
 * does not write them itself. */
unsigned int pa_options_debug(void)
{
    return pa_opt.debug;
}

/* The environment variable of row i of the table (NULL past the end): the
 * tests check it against option_list.h. */
const char *pa_option_env(size_t i)
{
    return i < ARRAY_SIZE(options) ? options[i].env : NULL;
}

/* The struct pa_config member of row i (NULL past the end, or for a row
 * without one): the tests check that every option has one. */
const char *pa_option_cfg_field(size_t i)
{
    return i < ARRAY_SIZE(options) ? options[i].cfg_field : NULL;
}

/* ------------------------------------------------------------------ */
/* The LD_PRELOAD shim's variables                                     */
/* ------------------------------------------------------------------ */

/* shim_options[OPT_<ID>] is PAGEALLOC_<ID> of PA_SHIM_OPTION_LIST: the same
 * rows, parser, checks and messages as the library's, stored in a struct
 * pa_shim_options.  No pa_config field: the shim is configured only by
 * its environment. */
enum shim_option_id {
#define OPTION_ID(id) OPT_##id,
    PA_SHIM_OPTION_LIST(OPTION_ID)
#undef OPTION_ID
    SHIM_OPT_COUNT
};

#define SHIM_OPT(member, ct)                                             \
    .opt_off = CHECKED_OFFSET(struct pa_shim_options, member, ct),       \
    .opt_size = sizeof(((struct pa_shim_options *)0)->member), .opt_type = ct

static const struct pa_shim_options shim_defaults = {
    .threshold = 64 * 1024,
    .cache = 32 * MiB,
    .protect = true,
    .stats = false,
};

static const struct option_desc shim_options[SHIM_OPT_COUNT] = {
    [OPT_SHIM_THRESHOLD] = {
        .env = "PAGEALLOC_SHIM_THRESHOLD", .kind = OPT_SIZE,
        SHIM_OPT(threshold, CT_SIZE),
        .min = 0, .max = PA_SHIM_MAX_SERVED,
        .hint = "use a number with K, M, G or T",
        .default_text = "65536",
    },
    [OPT_SHIM_CACHE] = {
        .env = "PAGEALLOC_SHIM_CACHE", .kind = OPT_SIZE,
        SHIM_OPT(cache, CT_SIZE),
        .min = 0, .max = 1ULL << 40,
        .hint = "use a number with K, M, G or T",
        .default_text = "32M",
    },
    [OPT_SHIM_PROTECT] = {
        .env = "PAGEALLOC_SHIM_PROTECT", .kind = OPT_BOOL,
        SHIM_OPT(protect, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "yes",
    },
    [OPT_SHIM_STATS] = {
        .env = "PAGEALLOC_SHIM_STATS", .kind = OPT_BOOL,
        SHIM_OPT(stats, CT_BOOL),
        .words = bool_words,
        .hint = "use yes or no",
        .default_text = "no",
    },
};

void pa_shim_options_load(struct pa_shim_options *so)
{
    bool secure = getauxval(AT_SECURE) != 0;
    const char *huge = secure ? NULL : getenv("PAGEALLOC_HUGEPAGES");
    struct pa_config unset;

    memset(&unset, 0, sizeof(unset));
    *so = shim_defaults;
    for (size_t i = 0; i < ARRAY_SIZE(shim_options); i++)
        option_load(&shim_options[i], so, NULL, 0, &unset, secure);
    so->hugepages_set = huge != NULL && huge[0] != '\0';
}

/* Row i of the shim's table, for the tests as pa_option_env. */
const char *pa_shim_option_env(size_t i)
{
    return i < ARRAY_SIZE(shim_options) ? shim_options[i].env : NULL;
}

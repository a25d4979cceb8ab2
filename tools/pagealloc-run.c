/* SPDX-License-Identifier: MIT */
/*
 * pagealloc-run: run a program with libpagealloc-preload.so in LD_PRELOAD
 * and the library's environment set from numactl-style options.
 *
 *   pagealloc-run [options] [--] program [args...]
 *   pagealloc-run -H
 *
 * Everything is validated before anything runs: a bad option or value is
 * one message naming the option and exit status 2.  Node lists are checked
 * against the library's own nodes (real, or logical under
 * PAGEALLOC_NUMA_EMULATE), so the launcher initialises the library once;
 * that costs a few system calls and commits no memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <numa.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <pagealloc/mempolicy.h>
#include <pagealloc/pagealloc.h>

#define PROG "pagealloc-run"
#define SHIM_NAME "libpagealloc-preload.so"
#define JE_SHIM_NAME "libpagealloc-jemalloc-preload.so"

#ifndef PAGEALLOC_RUN_LIBDIR_REL
#define PAGEALLOC_RUN_LIBDIR_REL "../lib"   /* from the binary's directory */
#endif

#ifndef PAGEALLOC_RUN_JEMALLOC_SO
#define PAGEALLOC_RUN_JEMALLOC_SO "libjemalloc.so.2"   /* the dynamic linker's search */
#endif

#define EXIT_USAGE 2
#define MiB (1ULL << 20)

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [options] [--] program [args...]\n"
"       " PROG " -H\n"
"\n"
"Run PROGRAM with " SHIM_NAME " added to LD_PRELOAD (after what\n"
"is already there) and libpagealloc's environment set from the options.\n"
"\n"
"Memory policy (at most one; sets PAGEALLOC_POLICY):\n"
"  -i, --interleave=NODES          interleave pages over NODES\n"
"  -m, --membind=NODES             allocate only from NODES\n"
"  -p, --preferred=NODE            prefer NODE, fall back to others\n"
"  -P, --preferred-many=NODES      prefer NODES, fall back to others\n"
"  -w, --weighted-interleave=NODE:W,...\n"
"                                  interleave W pages (1..255) per turn on each NODE\n"
"  -l, --localalloc                allocate on the local node\n"
"  NODES is a list like 0-2,5, or all, or !LIST (all but LIST); nodes are\n"
"  the library's (logical ones under PAGEALLOC_NUMA_EMULATE).\n"
"\n"
"Heap:\n"
"      --malloc=jemalloc|default   jemalloc: preload the system's jemalloc and\n"
"                                  " JE_SHIM_NAME " instead of the\n"
"                                  shim, so that every extent of the program's\n"
"                                  malloc heap comes from libpagealloc under the\n"
"                                  policy above (PAGEALLOC_MALLOC)\n"
"\n"
"Library settings:\n"
"      --hugepages=auto|1G|2M|thp|none   backing (PAGEALLOC_HUGEPAGES)\n"
"      --size=BYTES                arena limit per node, at least 8M\n"
"                                  (PAGEALLOC_NODE_SIZE)\n"
"      --threshold=BYTES           smallest mapping the shim serves\n"
"                                  (PAGEALLOC_SHIM_THRESHOLD)\n"
"      --stats                     print the reports and the shim's counters\n"
"                                  (served, passed, ...) to stderr at exit\n"
"                                  (PAGEALLOC_STATS=stderr,\n"
"                                  PAGEALLOC_SHIM_STATS=1)\n"
"  BYTES: a number with an optional K, M, G or T (1024-based), e.g. 64K.\n"
"\n"
"Other:\n"
"  -H, --hardware                  show the nodes, their sizes and distances\n"
"  -h, --help                      show this help\n"
"\n"
"The shim is looked up in $PAGEALLOC_PRELOAD (a path), then next to the\n"
"binary in %s/, then in the build tree's src/shim/; with --malloc=jemalloc\n"
"in $PAGEALLOC_JEMALLOC_PRELOAD, then there, then in src/jemalloc/, and\n"
"jemalloc itself in $PAGEALLOC_JEMALLOC_SO, else %s.\n"
"\n"
"Exit status: the program's; 2 for a bad option, 1 if the shim is not found,\n"
"126 if PROGRAM cannot be run, 127 if it is not found.\n",
        PAGEALLOC_RUN_LIBDIR_REL, PAGEALLOC_RUN_JEMALLOC_SO);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n" "Try '" PROG " --help' for more information.\n", stderr);
    exit(EXIT_USAGE);
}

/* ------------------------------------------------------------------ */
/* Value checks                                                        */
/* ------------------------------------------------------------------ */

/* The size syntax of docs/environment.md: digits, then optionally one of
 * KMGT (any case) followed by nothing, "B" or "iB"; or a "B" alone. */
static bool parse_size(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    const char *p = s;
    unsigned int shift = 0;

    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (__builtin_mul_overflow(v, 10ULL, &v) ||
            __builtin_add_overflow(v, (unsigned long long)(*p - '0'), &v))
            return false;
    }
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    case 't': case 'T': shift = 40; p++; break;
    default: break;
    }
    if (shift && (*p == 'i' || *p == 'I') && (p[1] == 'b' || p[1] == 'B'))
        p += 2;
    else if (*p == 'b' || *p == 'B')
        p++;
    if (*p != '\0')
        return false;
    if (shift && v > (~0ULL >> shift))
        return false;
    *out = v << shift;
    return true;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ */
/* The library (only initialised when a node number must be checked)   */
/* ------------------------------------------------------------------ */

static int nr_nodes = -1;

/* Initialise the library as the program will see it, except that the
 * launcher must publish nothing and print no exit report: it execs. */
static int library_nodes(void)
{
    if (nr_nodes >= 0)
        return nr_nodes;

    static const char *const quiet[] = { "PAGEALLOC_STATS", "PAGEALLOC_STATS_INTERVAL" };
    char *saved[2];
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(quiet[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(quiet[i]);
    }
    if (pa_init(NULL) != 0) {
        fprintf(stderr, PROG ": cannot initialise libpagealloc: %s\n", strerror(errno));
        exit(1);
    }
    nr_nodes = pa_num_nodes();
    for (int i = 0; i < 2; i++) {
        if (saved[i]) {
            setenv(quiet[i], saved[i], 1);
            free(saved[i]);
        }
    }
    if (nr_nodes < 1) {
        fprintf(stderr, PROG ": libpagealloc reports no nodes\n");
        exit(1);
    }
    return nr_nodes;
}

static void check_nodes(const char *opt, const char *nodes)
{
    pa_nodemask_t mask;

    if (*nodes == '\0')
        usage_error("%s: empty node list", opt);
    memset(&mask, 0, sizeof(mask));
    int n = library_nodes();
    if (pa_nodemask_parse(nodes, &mask) != 0)
        usage_error("%s=%s: bad node list (use nodes 0-%d, like 0-1,3, all or !0)", opt, nodes,
                    n - 1);
    bool any = false;
    for (size_t i = 0; i < sizeof(mask.bits) / sizeof(mask.bits[0]); i++)
        any |= mask.bits[i] != 0;
    if (!any)
        usage_error("%s=%s: the list names no node", opt, nodes);
}

static void check_node(const char *opt, const char *node)
{
    long v;
    int n = library_nodes();

    if (!parse_int(node, 0, n - 1, &v))
        usage_error("%s=%s: bad node (use one node number from 0 to %d)", opt, node, n - 1);
}

/* NODE:W,NODE:W,...  Each NODE is one number, W is 1..255. */
static void check_weights(const char *opt, const char *spec)
{
    int n = library_nodes();
    char *copy = strdup(spec), *save = NULL;

    if (!copy) {
        perror(PROG);
        exit(1);
    }
    if (*spec == '\0' || spec[strlen(spec) - 1] == ',' || strstr(spec, ",,"))
        usage_error("%s=%s: bad list (use NODE:WEIGHT,... like 0:3,1:1)", opt, spec);
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        long node, w;
        if (!colon)
            usage_error("%s=%s: \"%s\" has no weight (use NODE:WEIGHT,... like 0:3,1:1)", opt,
                        spec, item);
        *colon = '\0';
        if (!parse_int(item, 0, n - 1, &node))
            usage_error("%s=%s: bad node \"%s\" (use node numbers from 0 to %d)", opt, spec, item,
                        n - 1);
        if (!parse_int(colon + 1, 1, 255, &w))
            usage_error("%s=%s: bad weight \"%s\" for node %ld (use 1 to 255)", opt, spec,
                        colon + 1, node);
    }
    free(copy);
}

/* ------------------------------------------------------------------ */
/* -H                                                                  */
/* ------------------------------------------------------------------ */

static void print_cpus(int nid, bool numa_ok)
{
    printf("node %d cpus:", nid);
    if (numa_ok) {
        struct bitmask *cpus = numa_allocate_cpumask();
        if (cpus && numa_node_to_cpus(nid, cpus) == 0) {
            for (unsigned int c = 0; c < cpus->size; c++)
                if (numa_bitmask_isbitset(cpus, c))
                    printf(" %u", c);
        }
        if (cpus)
            numa_free_cpumask(cpus);
    }
    printf("\n");
}

static int hardware(void)
{
    int n = library_nodes();
    /* The library's nodes are the system's unless PAGEALLOC_NUMA_EMULATE
     * split memory into logical nodes: then sizes are shares of the whole. */
    bool numa_ok = numa_available() >= 0 && numa_num_configured_nodes() == n &&
                   numa_max_node() == n - 1;

    if (n == 1)
        printf("available: 1 nodes (0)\n");
    else
        printf("available: %d nodes (0-%d)\n", n, n - 1);

    long long total = 0, total_free = 0;
    if (!numa_ok) {
        long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
        long psz = sysconf(_SC_PAGESIZE);
        total = pages > 0 ? (long long)pages * psz : 0;
        total_free = avail > 0 ? (long long)avail * psz : 0;
    }
    for (int nid = 0; nid < n; nid++) {
        long long size, freeb = 0;
        if (numa_ok) {
            size = numa_node_size64(nid, &freeb);
        } else {
            size = total / n;
            freeb = total_free / n;
        }
        print_cpus(nid, numa_ok);
        if (size < 0) {
            printf("node %d size: unknown\n", nid);
            printf("node %d free: unknown\n", nid);
        } else {
            printf("node %d size: %lld MB\n", nid, size / (long long)MiB);
            printf("node %d free: %lld MB\n", nid, freeb / (long long)MiB);
        }
    }
    if (!numa_ok)
        printf("(logical nodes: sizes are equal shares of the system's memory)\n");

    printf("node distances:\n");
    printf("node ");
    for (int j = 0; j < n; j++)
        printf("% 3d ", j);
    printf("\n");
    for (int i = 0; i < n; i++) {
        printf("% 3d: ", i);
        for (int j = 0; j < n; j++)
            printf("% 3d ", pa_node_distance(i, j));
        printf("\n");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Finding the shim                                                    */
/* ------------------------------------------------------------------ */

static bool is_file(const char *path)
{
    return access(path, R_OK) == 0;
}

/* An absolute path to the preload library name (malloc'd): from the
 * variable env_name, next to the binary, or in the build tree's build_dir;
 * NULL after a message. */
static char *find_shim(const char *name, const char *env_name, const char *build_dir)
{
    const char *env = getenv(env_name);
    char buf[PATH_MAX + 64], exe[PATH_MAX];
    char *dir;

    if (env && *env) {
        char *abs = realpath(env, NULL);
        if (!abs || !is_file(abs)) {
            fprintf(stderr, PROG ": %s=%s: %s\n", env_name, env, strerror(errno ? errno : ENOENT));
            free(abs);
            return NULL;
        }
        return abs;
    }

    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len < 0) {
        fprintf(stderr, PROG ": cannot find my own binary (/proc/self/exe): %s\n", strerror(errno));
        return NULL;
    }
    exe[len] = '\0';
    dir = dirname(exe);

    const char *const rel[] = {
        PAGEALLOC_RUN_LIBDIR_REL,   /* installed: bin/../lib */
        build_dir,                  /* build tree: tools/../src/shim */
    };
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(buf, sizeof(buf), "%s/%s/%s", dir, rel[i], name);
        if (is_file(buf)) {
            char *abs = realpath(buf, NULL);
            if (abs)
                return abs;
        }
    }
    fprintf(stderr, PROG ": cannot find %s (looked in %s/%s and %s/%s); set %s to its path\n", name, dir,
            PAGEALLOC_RUN_LIBDIR_REL, dir, build_dir, env_name);
    return NULL;
}

/* LD_PRELOAD keeps what it had; the shim goes last, once. */
static void add_preload(const char *shim)
{
    const char *old = getenv("LD_PRELOAD");

    if (old && *old) {
        /* already there? (entries are separated by spaces or colons) */
        size_t n = strlen(shim);
        for (const char *p = old; (p = strstr(p, shim)) != NULL; p += n) {
            bool start = p == old || p[-1] == ':' || p[-1] == ' ';
            bool end = p[n] == '\0' || p[n] == ':' || p[n] == ' ';
            if (start && end)
                return;
        }
        char *v;
        if (asprintf(&v, "%s:%s", old, shim) < 0) {
            perror(PROG);
            exit(1);
        }
        setenv("LD_PRELOAD", v, 1);
        free(v);
    } else {
        setenv("LD_PRELOAD", shim, 1);
    }
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

enum {
    OPT_HUGEPAGES = 256,
    OPT_SIZE,
    OPT_THRESHOLD,
    OPT_STATS,
    OPT_MALLOC,
};

static const struct option long_opts[] = {
    { "interleave", required_argument, NULL, 'i' },
    { "membind", required_argument, NULL, 'm' },
    { "preferred", required_argument, NULL, 'p' },
    { "preferred-many", required_argument, NULL, 'P' },
    { "weighted-interleave", required_argument, NULL, 'w' },
    { "localalloc", no_argument, NULL, 'l' },
    { "hardware", no_argument, NULL, 'H' },
    { "hugepages", required_argument, NULL, OPT_HUGEPAGES },
    { "size", required_argument, NULL, OPT_SIZE },
    { "threshold", required_argument, NULL, OPT_THRESHOLD },
    { "stats", no_argument, NULL, OPT_STATS },
    { "malloc", required_argument, NULL, OPT_MALLOC },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static const char *opt_name(int c)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == c)
            return o->name;
    return "?";
}

int main(int argc, char **argv)
{
    const char *policy_opt = NULL;   /* "--interleave" etc., for messages */
    char *policy = NULL;             /* PAGEALLOC_POLICY value */
    const char *hugepages = NULL, *size = NULL, *threshold = NULL;
    bool stats = false, show_hw = false;
    const char *heap = getenv("PAGEALLOC_MALLOC"), *heap_from = "PAGEALLOC_MALLOC";
    char optbuf[64];
    int c;

    opterr = 0;
    /* '+': options end at the program's name, as numactl does. */
    while ((c = getopt_long(argc, argv, "+:i:m:p:P:w:lHh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'i': case 'm': case 'p': case 'P': case 'w': case 'l': {
            snprintf(optbuf, sizeof(optbuf), "--%s", opt_name(c));
            if (policy_opt)
                usage_error("%s and %s: give at most one memory policy option", policy_opt,
                            optbuf);
            policy_opt = strdup(optbuf);
            const char *word = c == 'i' ? "interleave" : c == 'm' ? "bind"
                             : c == 'p' ? "preferred" : c == 'P' ? "preferred-many"
                             : c == 'w' ? "weighted-interleave" : "local";
            if (c == 'l')
                policy = strdup(word);
            else if (asprintf(&policy, "%s=%s", word, optarg) < 0)
                policy = NULL;
            if (!policy_opt || !policy) {
                perror(PROG);
                return 1;
            }
            if (c == 'p')
                check_node(policy_opt, optarg);
            else if (c == 'w')
                check_weights(policy_opt, optarg);
            else if (c != 'l')
                check_nodes(policy_opt, optarg);
            break;
        }
        case 'H':
            show_hw = true;
            break;
        case OPT_HUGEPAGES: {
            static const char *const words[] = { "auto", "1G", "2M", "thp", "none" };
            bool ok = false;
            for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                ok |= strcasecmp(optarg, words[i]) == 0;
            if (!ok)
                usage_error("--hugepages=%s: unknown value (use auto, 1G, 2M, thp or none)", optarg);
            hugepages = optarg;
            break;
        }
        case OPT_SIZE: {
            unsigned long long v;
            if (!parse_size(optarg, &v))
                usage_error("--size=%s: bad size (use a number with K, M, G or T, like 512M)", optarg);
            if (v < 8 * MiB)
                usage_error("--size=%s: too small (at least 8M)", optarg);
            size = optarg;
            break;
        }
        case OPT_THRESHOLD: {
            unsigned long long v;
            if (!parse_size(optarg, &v))
                usage_error("--threshold=%s: bad size (use a number with K, M, G or T, like 64K)",
                            optarg);
            threshold = optarg;
            break;
        }
        case OPT_STATS:
            stats = true;
            break;
        case OPT_MALLOC:
            heap = optarg;
            heap_from = "--malloc";
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            usage_error("%s: missing value", argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256 && strncmp(argv[optind - 1], "--", 2) != 0)
                usage_error("-%c: unknown option", optopt);
            usage_error("%s: unknown option (or a value it does not take)", argv[optind - 1]);
        }
    }

    if (heap && *heap) {
        if (strcmp(heap, "jemalloc") != 0 && strcmp(heap, "default") != 0)
            usage_error("%s=%s: unknown heap (use jemalloc or default)", heap_from, heap);
    }
    bool jemalloc = heap && strcmp(heap, "jemalloc") == 0;

    if (show_hw) {
        if (optind < argc)
            usage_error("-H/--hardware takes no program");
        /* PAGEALLOC_NUMA_EMULATE etc. from the environment apply. */
        return hardware();
    }
    if (optind >= argc)
        usage_error("no program given");

    if (policy) {
        /* Last check by the library's own parser, the one the program uses. */
        library_nodes();
        if (pa_set_mempolicy_str(policy) != 0)
            usage_error("%s: the library rejects the policy \"%s\"", policy_opt, policy);
        setenv("PAGEALLOC_POLICY", policy, 1);
    }
    if (hugepages)
        setenv("PAGEALLOC_HUGEPAGES", hugepages, 1);
    if (size)
        setenv("PAGEALLOC_NODE_SIZE", size, 1);
    if (threshold)
        setenv("PAGEALLOC_SHIM_THRESHOLD", threshold, 1);
    if (stats) {
        setenv("PAGEALLOC_STATS", "stderr", 1);
        setenv("PAGEALLOC_SHIM_STATS", "1", 1);
    }

    char *shim = jemalloc ? find_shim(JE_SHIM_NAME, "PAGEALLOC_JEMALLOC_PRELOAD", "../src/jemalloc")
                          : find_shim(SHIM_NAME, "PAGEALLOC_PRELOAD", "../src/shim");
    if (!shim)
        return 1;
    if (jemalloc) {
        /* jemalloc first: it must be the program's malloc when the shim's
         * constructor hooks its arenas */
        const char *je = getenv("PAGEALLOC_JEMALLOC_SO");
        if (!je || !*je)
            je = PAGEALLOC_RUN_JEMALLOC_SO;
        if (strchr(je, '/') && !is_file(je)) {
            fprintf(stderr, PROG ": cannot read jemalloc at %s (install libjemalloc2, or set "
                            "PAGEALLOC_JEMALLOC_SO to its path)\n", je);
            return 1;
        }
        add_preload(je);
    }
    add_preload(shim);
    free(shim);

    const char *prog = argv[optind];
    execvp(prog, &argv[optind]);
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
        fprintf(stderr, PROG ": %s: not found\n", prog);
        return 127;
    }
    fprintf(stderr, PROG ": %s: %s\n", prog, strerror(err));
    return 126;
}

/* SPDX-License-Identifier: MIT */
/*
 * numa_vm_test: placement on real NUMA nodes, confirmed by the kernel.
 *
 *   numa_vm_test [BACKING...]      BACKING: 2M, thp or none (default: all three)
 *                                  or pressure: the cgroup v2 memory.high case
 *
 * Meant to run inside the multi-node VM that tests/numa-vm/run.sh boots, but
 * it runs anywhere: on a one-node machine the policy checks are skipped.
 * Each backing runs in its own child process (PAGEALLOC_HUGEPAGES is read
 * once, by pa_init), which checks:
 *   (a) pa_num_nodes() is the number of real nodes with memory;
 *   (b) pa_alloc_pages_node(n, KERNEL|THISNODE, order 0/3/9) gives pages
 *       with pa_page_to_nid == n that move_pages(2) finds on node n;
 *   (c) the memory policies (BIND, PREFERRED, INTERLEAVE, WEIGHTED_INTERLEAVE,
 *       PREFERRED_MANY, LOCAL, DEFAULT) place pages where the kernel agrees;
 *   (d) pa_node_backing(n) is the backing asked for, and the kernel's view of
 *       the mapping (smaps, per-node hugetlb pool) says the same.
 * The "pressure" argument runs, in its own child too, the system memory
 * pressure case instead (run_pressure below): a cgroup v2 with memory.high
 * below the child's peak, which must finish with its data intact, unkilled,
 * because the library gave memory back through its shrinkers.
 * Output is TAP ("ok N - ..." / "not ok N - ... (details)") and a closing
 * "N passed, N failed, N skipped" line; the exit status is 1 on any failure.
 *
 * Node numbers: the library numbers nodes densely in the order libnuma lists
 * the nodes that have memory; move_pages reports the kernel's numbers.  The
 * test maps one to the other (in the VM they are the same).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pagealloc/pagealloc.h>

#include "../page_cache_shrinker.h"
#ifdef NUMA_VM_JEMALLOC
#include <jemalloc/jemalloc.h>
#include <pagealloc/jemalloc.h>
#endif

#define MAX_NODES    PA_MAX_NUMNODES
#define MAX_SAMPLES  16            /* move_pages samples per large block */
#define HPAGE_SIZE   (2UL << 20)
#define SECTION_SIZE (128UL << 20) /* the library's section of 2M-backed memory */

/* ------------------------------------------------------------------ */
/* TAP reporting                                                       */
/* ------------------------------------------------------------------ */

struct counts {
    int next;      /* number of the next check */
    int passed, failed, skipped;
};

/* Shared with the per-backing children (MAP_SHARED), so a child that dies
 * mid-way still leaves its counts behind. */
static struct counts *tally;
static const char *cur_backing = "";   /* prefix of every description */

static void vreport(int result, const char *details, const char *fmt, va_list ap)
{
    char desc[512];
    vsnprintf(desc, sizeof(desc), fmt, ap);
    int n = tally->next++;
    if (result > 0) {
        tally->passed++;
        printf("ok %d - [%s] %s\n", n, cur_backing, desc);
    } else if (result == 0) {
        tally->failed++;
        printf("not ok %d - [%s] %s (%s)\n", n, cur_backing, desc, details ? details : "failed");
    } else {
        tally->skipped++;
        printf("ok %d - [%s] %s # SKIP %s\n", n, cur_backing, desc, details ? details : "");
    }
    fflush(stdout);
}

/* One check: ok if `ok`, else "not ok" with `details`. */
__attribute__((format(printf, 3, 4)))
static bool check(bool ok, const char *details, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(ok ? 1 : 0, details, fmt, ap);
    va_end(ap);
    return ok;
}

__attribute__((format(printf, 2, 3)))
static void skip(const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(-1, why, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Topology: the library's dense node ids <-> the kernel's node ids     */
/* ------------------------------------------------------------------ */

static int nr_real;                 /* nodes with memory */
static int phys_of[MAX_NODES];      /* dense -> kernel node id */
static int dense_of[MAX_NODES + 1]; /* kernel node id -> dense, -1: none */
static int nr_cpus_allowed;
static int cpus_allowed[CPU_SETSIZE];

static void discover(void)
{
    for (int i = 0; i <= MAX_NODES; i++)
        dense_of[i] = -1;
    nr_real = 0;
    if (numa_available() < 0) {
        phys_of[0] = 0;
        dense_of[0] = 0;
        nr_real = 1;
    } else {
        int maxnode = numa_max_node();
        for (int id = 0; id <= maxnode && nr_real < MAX_NODES; id++) {
            if (!numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned int)id))
                continue;
            if (numa_node_size64(id, NULL) <= 0)
                continue;
            phys_of[nr_real] = id;
            if (id <= MAX_NODES)
                dense_of[id] = nr_real;
            nr_real++;
        }
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    nr_cpus_allowed = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                cpus_allowed[nr_cpus_allowed++] = c;
    }
}

static int dense_node_of_cpu(int cpu)
{
    int id = numa_available() < 0 ? 0 : numa_node_of_cpu(cpu);
    return id >= 0 && id <= MAX_NODES ? dense_of[id] : -1;
}

static bool pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0;
}

/* First allowed CPU whose node is `nid` (dense), or -1. */
static int cpu_on_node(int nid)
{
    for (int i = 0; i < nr_cpus_allowed; i++)
        if (dense_node_of_cpu(cpus_allowed[i]) == nid)
            return cpus_allowed[i];
    return -1;
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* Free 2 MiB hugetlb pages on a node (dense id), -1 if unknown. */
static long node_free_hugepages(int nid)
{
    char path[160];
    snprintf(path, sizeof(path),
             "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/free_hugepages",
             phys_of[nid]);
    return read_long(path);
}

static void print_layout(void)
{
    printf("# %d node(s) with memory, %d CPU(s) allowed\n", nr_real, nr_cpus_allowed);
    for (int n = 0; n < nr_real; n++) {
        long long freeb = 0;
        long long size = numa_available() < 0 ? 0 : numa_node_size64(phys_of[n], &freeb);
        printf("#   node %d (kernel node %d): %lld MiB, %lld MiB free, 2M hugepages free %ld, cpus",
               n, phys_of[n], size >> 20, freeb >> 20, node_free_hugepages(n));
        for (int i = 0; i < nr_cpus_allowed; i++)
            if (dense_node_of_cpu(cpus_allowed[i]) == n)
                printf(" %d", cpus_allowed[i]);
        printf("\n");
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Where the kernel put a block                                         */
/* ------------------------------------------------------------------ */

/* Write to every page of a block so that each is faulted in. */
static void touch_block(void *addr, unsigned int order)
{
    volatile char *p = addr;
    for (size_t i = 0; i < (1UL << order); i++)
        p[i * PA_PAGE_SIZE] = (char)(i + 1);
}

/*
 * Ask move_pages (nodes == NULL: query only) which node holds each sampled
 * page of the block at addr: every page of a block of up to MAX_SAMPLES
 * pages, otherwise MAX_SAMPLES evenly spread ones including the first and
 * the last.  Stores the kernel node of the first page in *first.  Returns
 * true if all are on kernel node want (want < 0: only report *first); on
 * false, why says which page was where.
 */
static bool kernel_node_of_block(void *addr, unsigned int order, int want, int *first,
                                 char *why, size_t whylen)
{
    size_t pages = 1UL << order;
    size_t n = pages <= MAX_SAMPLES ? pages : MAX_SAMPLES;
    void *ptrs[MAX_SAMPLES];
    int status[MAX_SAMPLES];
    for (size_t i = 0; i < n; i++) {
        size_t idx = n == pages ? i : i * (pages - 1) / (n - 1);
        ptrs[i] = (char *)addr + idx * PA_PAGE_SIZE;
        status[i] = -1000;
    }
    if (first)
        *first = -1;
    if (move_pages(0, n, ptrs, NULL, status, 0) != 0) {
        snprintf(why, whylen, "move_pages: %s", strerror(errno));
        return false;
    }
    if (first)
        *first = status[0];
    for (size_t i = 0; i < n; i++) {
        if (status[i] < 0) {
            snprintf(why, whylen, "move_pages status of page %p: %s", ptrs[i], strerror(-status[i]));
            return false;
        }
        if (want >= 0 && status[i] != want) {
            snprintf(why, whylen, "page %p is on kernel node %d, want %d (%zu pages sampled)",
                     ptrs[i], status[i], want, n);
            return false;
        }
    }
    snprintf(why, whylen, "%zu sampled", n);
    return true;
}

/*
 * Check one allocated block: not NULL, pa_page_to_nid == want (dense), and
 * after writing to it, move_pages finds the samples on that node.
 */
static bool check_block(struct pa_page *page, unsigned int order, int want, const char *what)
{
    char why[256];
    if (!page)
        return check(false, strerror(errno), "%s order %u: allocated on node %d", what, order, want);
    if (want < 0 || want >= nr_real)
        return check(false, "no such real node", "%s order %u: on node %d", what, order, want);
    int nid = pa_page_to_nid(page);
    if (nid != want) {
        snprintf(why, sizeof(why), "pa_page_to_nid says %d", nid);
        return check(false, why, "%s order %u: on node %d", what, order, want);
    }
    void *addr = pa_page_address(page);
    touch_block(addr, order);
    bool ok = kernel_node_of_block(addr, order, phys_of[want], NULL, why, sizeof(why));
    return check(ok, why, "%s order %u: pa_page_to_nid and move_pages agree on node %d%s%s%s",
                 what, order, want, ok ? " (" : "", ok ? why : "", ok ? ")" : "");
}

/* Fields of the VMA (from /proc/self/smaps) that holds addr, in kB. */
struct vma_info {
    bool found;
    long kernel_page_kb, anon_huge_kb, private_hugetlb_kb, shared_hugetlb_kb;
};

static struct vma_info vma_of(const void *addr)
{
    struct vma_info v = { 0 };
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return v;
    char line[512];
    bool in = false;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof(line), f)) {
        uintptr_t lo, hi;
        /* a header, "lo-hi perms offset dev inode [path]", starts with a
         * lower-case hex digit; field names start with a capital */
        bool header = (line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f');
        if (header && sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2) {
            if (v.found)
                break;
            in = a >= lo && a < hi;
            v.found = in;
            continue;
        }
        if (!in)
            continue;
        long kb;
        if (sscanf(line, "KernelPageSize: %ld kB", &kb) == 1)
            v.kernel_page_kb = kb;
        else if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            v.anon_huge_kb = kb;
        else if (sscanf(line, "Private_Hugetlb: %ld kB", &kb) == 1)
            v.private_hugetlb_kb = kb;
        else if (sscanf(line, "Shared_Hugetlb: %ld kB", &kb) == 1)
            v.shared_hugetlb_kb = kb;
    }
    fclose(f);
    return v;
}

/* ------------------------------------------------------------------ */
/* The checks                                                           */
/* ------------------------------------------------------------------ */

static const unsigned int orders[] = { 0, 3, 9 };
#define NR_ORDERS (sizeof(orders) / sizeof(orders[0]))

/* Blocks kept until the end of a backing's run, so sections stay online. */
struct held {
    struct pa_page *page;
    unsigned int order;
};
static struct held held[MAX_NODES * NR_ORDERS];
static int nr_held;

static void free_held(void)
{
    for (int i = 0; i < nr_held; i++)
        pa_free_pages(held[i].page, held[i].order);
    nr_held = 0;
}

static void nodemask_one(pa_nodemask_t *m, int nid)
{
    memset(m, 0, sizeof(*m));
    m->bits[nid / (8 * sizeof(unsigned long))] |= 1UL << (nid % (8 * sizeof(unsigned long)));
}

static size_t node_size_env(void)
{
    const char *s = getenv("PAGEALLOC_NODE_SIZE");
    if (!s || !*s)
        return SECTION_SIZE;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k': case 'K': v <<= 10; break;
    case 'm': case 'M': v <<= 20; break;
    case 'g': case 'G': v <<= 30; break;
    default: break;
    }
    return (size_t)v;
}

/* (a) */
static void check_node_count(void)
{
    char why[96];
    int n = pa_num_nodes();
    snprintf(why, sizeof(why), "pa_num_nodes() = %d, the kernel has %d node(s) with memory", n, nr_real);
    check(n == nr_real, why, "pa_num_nodes() is the real node count %d", nr_real);
}

/* (b) and (d) */
static void check_thisnode_and_backing(const char *backing)
{
    long hp_before[MAX_NODES];
    for (int n = 0; n < nr_real; n++)
        hp_before[n] = node_free_hugepages(n);

    for (int n = 0; n < nr_real; n++) {
        char what[64];
        snprintf(what, sizeof(what), "THISNODE node %d", n);
        for (size_t i = 0; i < NR_ORDERS; i++) {
            struct pa_page *p = pa_alloc_pages_node(n, PA_GFP_KERNEL | PA_GFP_THISNODE, orders[i]);
            check_block(p, orders[i], n, what);
            if (p) {
                held[nr_held].page = p;
                held[nr_held].order = orders[i];
                nr_held++;
            }
        }
    }

    const char *want = !strcmp(backing, "2M") ? "hugetlb-2M" : !strcmp(backing, "thp") ? "thp" : "4k";
    size_t need = node_size_env() < SECTION_SIZE ? node_size_env() : SECTION_SIZE;
    for (int n = 0; n < nr_real; n++) {
        const char *got = pa_node_backing(n);
        char why[192];
        snprintf(why, sizeof(why), "pa_node_backing(%d) = %s", n, got ? got : "NULL");
        if (got && !strcmp(want, "hugetlb-2M") && strcmp(got, want) &&
            hp_before[n] >= 0 && (size_t)hp_before[n] * HPAGE_SIZE < need) {
            char skipwhy[320];
            snprintf(skipwhy, sizeof(skipwhy), "%s: node had %ld free 2M hugepages, a section needs %zu",
                     why, hp_before[n], need / HPAGE_SIZE);
            skip(skipwhy, "node %d backing is %s", n, want);
            continue;
        }
        if (!check(got && !strcmp(got, want), why, "node %d backing is %s", n, got ? got : want))
            continue;

        /* the kernel's view of the mapping that holds the node's order-9 block */
        void *addr = NULL;
        for (int i = 0; i < nr_held; i++)
            if (held[i].order == 9 && pa_page_to_nid(held[i].page) == n)
                addr = pa_page_address(held[i].page);
        if (!addr) {
            skip("no order-9 block on this node", "node %d mapping as the kernel sees it", n);
            continue;
        }
        struct vma_info v = vma_of(addr);
        snprintf(why, sizeof(why), "smaps: found %d, KernelPageSize %ld kB, AnonHugePages %ld kB, "
                 "Private_Hugetlb %ld kB", v.found, v.kernel_page_kb, v.anon_huge_kb, v.private_hugetlb_kb);
        if (!strcmp(want, "hugetlb-2M")) {
            check(v.found && v.kernel_page_kb == 2048 && v.private_hugetlb_kb + v.shared_hugetlb_kb >= 2048,
                  why, "node %d: the kernel maps it with 2M hugetlb pages", n);
            long after = node_free_hugepages(n);
            snprintf(why, sizeof(why), "node %d free 2M hugepages %ld before, %ld after", n, hp_before[n], after);
            check(after >= 0 && after < hp_before[n], why,
                  "node %d: hugetlb pages came from node %d's own pool (%ld -> %ld free)",
                  n, n, hp_before[n], after);
        } else if (!strcmp(want, "thp")) {
            check(v.found && v.anon_huge_kb >= 2048, why,
                  "node %d: the kernel backs it with transparent hugepages (AnonHugePages %ld kB)",
                  n, v.anon_huge_kb);
        } else {
            check(v.found && v.kernel_page_kb == 4 && v.anon_huge_kb == 0, why,
                  "node %d: the kernel maps it with 4 KiB pages only", n);
        }
    }
}

/* Allocate orders 0, 3, 9 under the calling thread's policy; all on node want. */
static void check_policy_orders(int want, const char *what)
{
    for (size_t i = 0; i < NR_ORDERS; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, orders[i]);
        check_block(p, orders[i], want, what);
        if (p)
            pa_free_pages(p, orders[i]);
    }
}

/*
 * Allocate count order-0 pages under the current policy and check that the
 * node sequence (by pa_page_to_nid and by move_pages) is `pattern` repeated,
 * starting at any phase.
 */
static void check_sequence(const int *pattern, int plen, int count, const char *what)
{
    struct pa_page *pages[4 * MAX_NODES + 64];
    int seq[4 * MAX_NODES + 64], kseq[4 * MAX_NODES + 64];
    char why[512], seqtext[256];
    bool ok = true;
    int got = 0;

    why[0] = 0;
    for (int i = 0; i < count; i++) {
        pages[i] = pa_alloc_pages(PA_GFP_KERNEL, 0);
        if (!pages[i]) {
            snprintf(why, sizeof(why), "allocation %d failed: %s", i, strerror(errno));
            ok = false;
            break;
        }
        got++;
        seq[i] = pa_page_to_nid(pages[i]);
        touch_block(pa_page_address(pages[i]), 0);
        char w[160];
        if (!kernel_node_of_block(pa_page_address(pages[i]), 0, -1, &kseq[i], w, sizeof(w))) {
            snprintf(why, sizeof(why), "allocation %d: %s", i, w);
            ok = false;
        } else if (seq[i] < 0 || seq[i] >= nr_real || kseq[i] != phys_of[seq[i]]) {
            snprintf(why, sizeof(why), "allocation %d: pa_page_to_nid %d but move_pages says kernel node %d",
                     i, seq[i], kseq[i]);
            ok = false;
        }
    }
    size_t off = 0;
    for (int i = 0; i < got && off + 4 < sizeof(seqtext); i++)
        off += (size_t)snprintf(seqtext + off, sizeof(seqtext) - off, "%d", seq[i]);
    seqtext[off < sizeof(seqtext) ? off : sizeof(seqtext) - 1] = 0;

    if (ok) {
        bool match = false;
        for (int phase = 0; phase < plen && !match; phase++) {
            match = true;
            for (int i = 0; i < count && match; i++)
                match = seq[i] == pattern[(phase + i) % plen];
        }
        if (!match) {
            char pat[128];
            size_t po = 0;
            for (int i = 0; i < plen && po + 4 < sizeof(pat); i++)
                po += (size_t)snprintf(pat + po, sizeof(pat) - po, "%d", pattern[i]);
            snprintf(why, sizeof(why), "node sequence %s is not %s repeated", seqtext, pat);
            ok = false;
        }
    }
    check(ok, why, "%s: %d order-0 pages, nodes %s (move_pages agrees)", what, count, seqtext);
    for (int i = 0; i < got; i++)
        pa_free_pages(pages[i], 0);
}

/* (c) */
static void check_policies(void)
{
    pa_nodemask_t mask;
    char why[256];

    if (nr_real < 2) {
        skip("one node", "memory policies on real nodes");
        return;
    }

    /* BIND to {1}, from a CPU of node 0 */
    nodemask_one(&mask, 1);
    if (check(pa_set_mempolicy(PA_MPOL_BIND, &mask) == 0, strerror(errno), "set_mempolicy BIND {1}"))
        check_policy_orders(1, "BIND {1}");

    /* PREFERRED 1 */
    if (check(pa_set_mempolicy(PA_MPOL_PREFERRED, &mask) == 0, strerror(errno), "set_mempolicy PREFERRED 1"))
        check_policy_orders(1, "PREFERRED 1");

    /* PREFERRED_MANY {1}, through numactl's words; pa_get_mempolicy reads it back */
    if (check(pa_set_mempolicy_str("preferred-many=1") == 0, strerror(errno),
              "set_mempolicy_str(\"preferred-many=1\")")) {
        int mode = -1;
        pa_nodemask_t got;
        memset(&got, 0, sizeof(got));
        int rc = pa_get_mempolicy(&mode, &got);
        snprintf(why, sizeof(why), "rc %d, mode %d, mask word 0 %#lx", rc, mode, got.bits[0]);
        check(rc == 0 && mode == PA_MPOL_PREFERRED_MANY && !memcmp(&got, &mask, sizeof(mask)), why,
              "get_mempolicy reads back PREFERRED_MANY {1}");
        check_policy_orders(1, "PREFERRED_MANY {1}");
    }

    /* INTERLEAVE over all nodes: round robin, counted in numa_interleave */
    unsigned long il_before = 0, il_after = 0;
    int have_counter = pa_vmstat_get("numa_interleave", &il_before) == 0;
    if (check(pa_nodemask_parse("all", &mask) == 0, strerror(errno), "nodemask_parse(\"all\")") &&
        check(pa_set_mempolicy(PA_MPOL_INTERLEAVE, &mask) == 0, strerror(errno),
              "set_mempolicy INTERLEAVE all")) {
        int pattern[MAX_NODES];
        for (int n = 0; n < nr_real; n++)
            pattern[n] = n;
        check_sequence(pattern, nr_real, 4 * nr_real, "INTERLEAVE all");
        int rc = pa_vmstat_get("numa_interleave", &il_after);
        snprintf(why, sizeof(why), "numa_interleave %lu -> %lu (rc %d/%d)", il_before, il_after,
                 have_counter ? 0 : -1, rc);
        check(have_counter && rc == 0 && il_after > il_before, why,
              "numa_interleave rose (%lu -> %lu)", il_before, il_after);
    }

    /* three nodes or more: a mask that leaves nodes out */
    if (nr_real >= 3) {
        int last = nr_real - 1;
        char spec[64], what[32];
        nodemask_one(&mask, last);
        snprintf(what, sizeof(what), "BIND {%d}", last);
        if (check(pa_set_mempolicy(PA_MPOL_BIND, &mask) == 0, strerror(errno), "set_mempolicy %s", what))
            check_policy_orders(last, what);
        snprintf(spec, sizeof(spec), "interleave=1-%d", last);
        if (check(pa_set_mempolicy_str(spec) == 0, strerror(errno), "set_mempolicy_str(\"%s\")", spec)) {
            int pattern[MAX_NODES];
            for (int n = 1; n <= last; n++)
                pattern[n - 1] = n;
            check_sequence(pattern, last, 4 * last, spec);
        }
    }

    /* WEIGHTED_INTERLEAVE over {0,1} with weights 3 and 1 */
    int rc0 = pa_set_interleave_weight(0, 3), rc1 = pa_set_interleave_weight(1, 1);
    snprintf(why, sizeof(why), "rc %d, %d: %s", rc0, rc1, strerror(errno));
    if (check(rc0 == 0 && rc1 == 0, why, "set_interleave_weight node0=3 node1=1")) {
        memset(&mask, 0, sizeof(mask));
        mask.bits[0] = 0x3;
        if (check(pa_set_mempolicy(PA_MPOL_WEIGHTED_INTERLEAVE, &mask) == 0, strerror(errno),
                  "set_mempolicy WEIGHTED_INTERLEAVE {0,1}")) {
            static const int pattern[] = { 0, 0, 0, 1 };
            check_sequence(pattern, 4, 24, "WEIGHTED_INTERLEAVE 0:3,1:1");
        }
        pa_set_interleave_weight(0, 1);
    }

    /* LOCAL: on every allowed CPU, the node of that CPU */
    int cpu0 = cpus_allowed[0];
    if (check(pa_set_mempolicy(PA_MPOL_LOCAL, NULL) == 0, strerror(errno), "set_mempolicy LOCAL")) {
        for (int i = 0; i < nr_cpus_allowed; i++) {
            int c = cpus_allowed[i];
            if (!pin_to_cpu(c)) {
                snprintf(why, sizeof(why), "sched_setaffinity(%d): %s", c, strerror(errno));
                check(false, why, "LOCAL on CPU %d", c);
                continue;
            }
            int cur = sched_getcpu();
            int want = dense_node_of_cpu(cur);
            char what[64];
            snprintf(what, sizeof(what), "LOCAL on CPU %d (sched_getcpu %d)", c, cur);
            for (size_t k = 0; k < 2; k++) {
                struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, orders[k]);
                check_block(p, orders[k], want, what);
                if (p)
                    pa_free_pages(p, orders[k]);
            }
        }
    }

    /* DEFAULT from a CPU of the last node: local allocation there */
    int last = nr_real - 1, c = cpu_on_node(last);
    if (check(pa_set_mempolicy(PA_MPOL_DEFAULT, NULL) == 0, strerror(errno), "set_mempolicy DEFAULT")) {
        if (c >= 0 && pin_to_cpu(c)) {
            char what[64];
            snprintf(what, sizeof(what), "DEFAULT on CPU %d", c);
            struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
            check_block(p, 0, last, what);
            if (p)
                pa_free_pages(p, 0);
        } else {
            skip("no allowed CPU on that node", "DEFAULT on a CPU of node %d", last);
        }
    }
    pin_to_cpu(cpu0);
}

/* One backing, in a child process. */
#ifdef NUMA_VM_JEMALLOC
/*
 * jemalloc arenas on libpagealloc (libpagealloc-jemalloc): a node's arena,
 * and an arena that follows the thread's policy under a bind to that node,
 * put their blocks -- a small object's slab page, 64 KiB, and 6 MiB (a run
 * beyond a buddy block) -- on that node, as move_pages sees it.  The policy
 * arena is a new one per node: the policy applies when an extent is
 * allocated, and an arena reuses the extents it already holds.
 */
static void check_jemalloc_placement(void)
{
    static const size_t sizes[] = { 200, 64UL << 10, 6UL << 20 };
    for (int n = 0; n < nr_real; n++) {
        int node_arena = pa_jemalloc_arena_create(PA_GFP_KERNEL | PA_GFP_THISNODE, n);
        if (!check(node_arena >= 0, strerror(errno), "jemalloc: an arena on node %d", n))
            continue;
        pa_nodemask_t m;
        nodemask_one(&m, n);
        pa_set_mempolicy(PA_MPOL_BIND, &m);
        int policy_arena = pa_jemalloc_arena_create(PA_GFP_KERNEL, -1);
        if (!check(policy_arena >= 0, strerror(errno), "jemalloc: an arena under the thread's policy"))
            policy_arena = node_arena;
        for (int k = 0; k < 2; k++) {
            int arena = k ? policy_arena : node_arena;
            const char *what = k ? "policy arena, bind" : "node arena";
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                char *p = mallocx(sizes[i], MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
                if (!check(p != NULL, strerror(errno), "jemalloc %s: %zu bytes on node %d", what, sizes[i], n))
                    continue;
                memset(p, 1, sizes[i]);
                char why[256] = "pa_jemalloc_node_of disagrees";
                char *page = (char *)((uintptr_t)p & ~(uintptr_t)(PA_PAGE_SIZE - 1));
                bool ok = pa_jemalloc_node_of(p) == n;
                if (ok && sizes[i] < (4UL << 20))
                    ok = kernel_node_of_block(page, sizes[i] < PA_PAGE_SIZE ? 0 : 4, phys_of[n], NULL, why,
                                              sizeof(why));
                else if (ok)   /* the first 4 MiB and the last 2 MiB */
                    ok = kernel_node_of_block(page, 10, phys_of[n], NULL, why, sizeof(why)) &&
                         kernel_node_of_block(page + (4UL << 20), 9, phys_of[n], NULL, why, sizeof(why));
                check(ok, why, "jemalloc %s: %zu bytes on node %d (move_pages agrees)", what, sizes[i], n);
                dallocx(p, MALLOCX_TCACHE_NONE);
            }
        }
        pa_set_mempolicy(PA_MPOL_DEFAULT, NULL);
    }
}
#else
static void check_jemalloc_placement(void)
{
    skip("built without libpagealloc-jemalloc", "jemalloc arenas on each node");
}
#endif

static int run_backing(const char *backing)
{
    cur_backing = backing;
    setenv("PAGEALLOC_HUGEPAGES", backing, 1);
    if (!getenv("PAGEALLOC_NODE_SIZE"))
        setenv("PAGEALLOC_NODE_SIZE", "64M", 1);
    printf("# backing %s: PAGEALLOC_HUGEPAGES=%s PAGEALLOC_NODE_SIZE=%s\n", backing, backing,
           getenv("PAGEALLOC_NODE_SIZE"));
    fflush(stdout);

    /* start on the first CPU of node 0, so PREFERRED/BIND to 1 are remote */
    int c = cpu_on_node(0);
    if (c >= 0)
        pin_to_cpu(c);

    int rc = pa_init(NULL);
    if (!check(rc == 0, strerror(errno), "pa_init"))
        return 1;
    check_node_count();
    check_thisnode_and_backing(backing);
    check_policies();
    free_held();
    check_jemalloc_placement();
    return 0;
}

/* ------------------------------------------------------------------ */
/* System memory pressure: a cgroup v2 with memory.high below the peak  */
/* ------------------------------------------------------------------ */

/* The child's peak is CACHE_MIB of cache (behind a shrinker, so it can be
 * given up) plus WORK_MIB of live data; memory.high is below the sum and
 * above the live data, so the program can finish only if the library
 * reacts to the limit and the shrinker frees enough. */
#define PRESSURE_CACHE_MIB 160UL
#define PRESSURE_WORK_MIB  96UL
#define PRESSURE_HIGH_MIB  192UL
#define PRESSURE_WAIT_S    20      /* for memory.current to come under memory.high */

static char pressure_cg[256];     /* the child cgroup's directory */

static bool write_text(const char *path, const char *text, char *why, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (!ok)
        snprintf(why, len, "write '%s' to %s: %s", text, path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A number from a file of the child cgroup (0 if unreadable). */
static unsigned long long cg_read(const char *name)
{
    return cg_read_ull(pressure_cg, name);
}

/* The cgroup2 mount point, or "" (from /proc/self/mountinfo). */
static void cgroup2_mount(char *mnt, size_t len)
{
    char line[4096], point[256];
    mnt[0] = 0;
    FILE *f = fopen("/proc/self/mountinfo", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %255s", point) == 1) {
            snprintf(mnt, len, "%s", point);
            break;
        }
    if (f)
        fclose(f);
}

/* Create the child cgroup with memory.high; false (and why) if it cannot. */
static bool make_pressure_cgroup(char *why, size_t len)
{
    char mnt[256], path[320], text[32];
    cgroup2_mount(mnt, sizeof(mnt));
    if (!mnt[0]) {
        snprintf(why, len, "no cgroup2 file system is mounted");
        return false;
    }
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mnt);
    if (!write_text(path, "+memory", why, len))
        return false;
    snprintf(pressure_cg, sizeof(pressure_cg), "%s/numa-vm-pressure", mnt);
    if (mkdir(pressure_cg, 0755) != 0 && errno != EEXIST) {
        snprintf(why, len, "mkdir %s: %s", pressure_cg, strerror(errno));
        return false;
    }
    snprintf(path, sizeof(path), "%s/memory.high", pressure_cg);
    snprintf(text, sizeof(text), "%lu", PRESSURE_HIGH_MIB << 20);
    return write_text(path, text, why, len);
}

/* The live data: each 2 MiB block filled from its own xorshift seed, so the
 * checksum at the end catches any page lost, zeroed or swapped. */
static uint64_t fill_or_sum(uint64_t *p, size_t words, uint64_t seed, bool fill)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1, sum = 0;
    for (size_t i = 0; i < words; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (fill)
            p[i] = x;
        sum = sum * 31 + (fill ? x : p[i]);
    }
    return sum;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static unsigned long vmstat(const char *name)
{
    unsigned long v = 0;
    if (pa_vmstat_get(name, &v) != 0)
        return 0;
    return v;
}

/* In the child: move into the cgroup, fill the cache, then the live data
 * (together above memory.high), and check that the library gave back enough
 * for the program to get under memory.high with every byte intact. */
static int run_pressure(void)
{
    char why[512];
    cur_backing = "pressure";
    /* hugetlb is not charged to memory.current: THP (or 4 KiB) is */
    setenv("PAGEALLOC_HUGEPAGES", "thp", 1);
    setenv("PAGEALLOC_NODE_SIZE", "512M", 1);
    /* reporting and the pressure listener are on by default; an explicit
     * setting (NUMA_VM_ENV) is kept, to see this case fail without them */
    setenv("PAGEALLOC_PRESSURE", "on", 0);
    printf("# pressure: PAGEALLOC_HUGEPAGES=thp PAGEALLOC_NODE_SIZE=512M PAGEALLOC_PRESSURE=%s "
           "PAGEALLOC_RELEASE=%s; cache %lu MiB + live data %lu MiB, memory.high %lu MiB\n",
           getenv("PAGEALLOC_PRESSURE"), getenv("PAGEALLOC_RELEASE") ? getenv("PAGEALLOC_RELEASE") : "(default)",
           PRESSURE_CACHE_MIB, PRESSURE_WORK_MIB, PRESSURE_HIGH_MIB);
    char procs[320];
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", pressure_cg);
    if (!check(write_text(procs, "0", why, sizeof(why)), why, "moved into %s", pressure_cg))
        return 1;
    if (!check(access("/proc/pressure/memory", R_OK) == 0, strerror(errno),
               "the kernel has pressure stall information (/proc/pressure/memory)"))
        return 1;
    if (!check(pa_init(NULL) == 0, strerror(errno), "pa_init"))
        return 1;

    struct cache c = { .lock = PTHREAD_MUTEX_INITIALIZER };
    size_t cap = (PRESSURE_CACHE_MIB << 20) / 4096;
    c.pages = calloc(cap, sizeof(*c.pages));
    struct pa_shrinker *s = pa_shrinker_alloc(0, "numa-vm-cache");
    if (!check(c.pages && s, "out of memory", "shrinker and cache set up"))
        return 1;
    s->count_objects = cache_count;
    s->scan_objects = cache_scan;
    s->private_data = &c;
    pa_shrinker_register(s);
    for (size_t i = 0; i < cap; i++) {
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL, 0);
        if (!p)
            return !check(false, "NULL", "cache page %zu of %zu allocated", i, cap);
        memset(pa_page_address(p), 0xcc, 4096);
        pthread_mutex_lock(&c.lock);
        c.pages[c.n++] = p;
        pthread_mutex_unlock(&c.lock);
    }
    size_t nwork = (PRESSURE_WORK_MIB << 20) / HPAGE_SIZE;
    struct pa_page *work[(PRESSURE_WORK_MIB << 20) / HPAGE_SIZE];
    uint64_t sums[(PRESSURE_WORK_MIB << 20) / HPAGE_SIZE];
    unsigned long long peak = 0;
    for (size_t i = 0; i < nwork; i++) {
        work[i] = pa_alloc_pages(PA_GFP_KERNEL, 9);
        if (!work[i])
            return !check(false, "NULL", "live block %zu of %zu allocated", i, nwork);
        sums[i] = fill_or_sum(pa_page_address(work[i]), HPAGE_SIZE / 8, i, true);
        unsigned long long now = cg_read("memory.current");
        peak = now > peak ? now : peak;
        sleep_ms(20);   /* time for the listener to act between steps */
    }
    int waited = 0;
    while (waited < PRESSURE_WAIT_S * 10 && cg_read("memory.current") > (PRESSURE_HIGH_MIB << 20)) {
        sleep_ms(100);
        waited++;
    }
    unsigned long long current = cg_read("memory.current");
    size_t bad = 0;
    for (size_t i = 0; i < nwork; i++)
        if (fill_or_sum(pa_page_address(work[i]), HPAGE_SIZE / 8, i, false) != sums[i])
            bad++;
    snprintf(why, sizeof(why), "%zu of %zu blocks differ", bad, nwork);
    check(bad == 0, why, "live data intact: checksums of %zu 2 MiB blocks", nwork);
    unsigned long events = vmstat("pa_pressure_events"), reported = vmstat("pa_pages_reported");
    pthread_mutex_lock(&c.lock);
    size_t left = c.n;
    pthread_mutex_unlock(&c.lock);
    printf("# pressure: memory.current %llu MiB at most while filling, %llu MiB after %.1f s; "
           "pa_pressure_events %lu, pa_pages_reported %lu, cache %zu of %zu pages left\n",
           peak >> 20, current >> 20, waited / 10.0, events, reported, left, cap);
    check(events > 0, "pa_pressure_events is 0", "the library saw the pressure (pa_pressure_events %lu)", events);
    check(reported > 0, "pa_pages_reported is 0", "free pages were reported (pa_pages_reported %lu)", reported);
    snprintf(why, sizeof(why), "the cache still holds all %zu pages", cap);
    check(left < cap, why, "the shrinker gave pages up (%zu of %zu left)", left, cap);
    snprintf(why, sizeof(why), "memory.current is %llu MiB after %d s", current >> 20, PRESSURE_WAIT_S);
    check(current <= (PRESSURE_HIGH_MIB << 20), why, "memory.current under memory.high (%llu <= %lu MiB)",
          current >> 20, PRESSURE_HIGH_MIB);
    check(pa_check_invariants() == 0, "pa_check_invariants failed", "allocator invariants hold");
    for (size_t i = 0; i < nwork; i++)
        pa_free_pages(work[i], 9);
    pa_shrinker_free(s);
    return 0;
}

static bool valid_backing(const char *b)
{
    return !strcmp(b, "2M") || !strcmp(b, "thp") || !strcmp(b, "none") || !strcmp(b, "pressure");
}

int main(int argc, char **argv)
{
    static const char *const all[] = { "2M", "thp", "none" };
    const char *const *backings = all;
    int nr_backings = 3;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            if (!valid_backing(argv[i])) {
                fprintf(stderr, "usage: %s [2M|thp|none|pressure]...\n", argv[0]);
                return 2;
            }
        }
        backings = (const char *const *)argv + 1;
        nr_backings = argc - 1;
    }

    discover();
    print_layout();

    tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (tally == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(tally, 0, sizeof(*tally));
    tally->next = 1;

    for (int b = 0; b < nr_backings; b++) {
        bool pressure = !strcmp(backings[b], "pressure");
        if (pressure) {
            char why[512];
            cur_backing = "pressure";
            if (!check(make_pressure_cgroup(why, sizeof(why)), why,
                       "cgroup v2 with memory.high %lu MiB", PRESSURE_HIGH_MIB))
                continue;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            int rc = pressure ? run_pressure() : run_backing(backings[b]);
            fflush(stdout);
            _exit(rc);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char why[96];
            cur_backing = backings[b];
            if (WIFSIGNALED(status))
                snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
            else
                snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
            check(false, why, "backing %s: child process ran all its checks", backings[b]);
        } else if (pressure) {
            check(true, NULL, "pressure: not killed, finished with exit status 0");
        }
    }
    printf("%d passed, %d failed, %d skipped\n", tally->passed, tally->failed, tally->skipped);
    return tally->failed ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The OS layer: os.c is the only file that calls mmap, madvise, mbind,
 * membarrier and libnuma.  The machine's limits, the topology it reports,
 * the backings a section can have, and the current CPU from rseq.
 */
#ifndef PAGEALLOC_OS_H
#define PAGEALLOC_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/rseq.h>

#include <pagealloc/pagealloc.h>

#include "compiler.h"

/* The machine as the library sees it: nodes, distances, CPUs. */
#define MAX_NUMNODES PA_MAX_NUMNODES
#define NUMA_NO_NODE (-1)
#define LOCAL_DISTANCE 10
#define REMOTE_DISTANCE 20
#define PA_MAX_CPUS 1024

/* What backs a section of the arena. */
enum pa_backing {
    PA_BACKING_NONE,
    PA_BACKING_HUGETLB_1G,
    PA_BACKING_HUGETLB_2M,
    PA_BACKING_THP,
    PA_BACKING_4K,
    PA_NR_BACKINGS
};

struct pa_os_topology {
    int nr_nodes;                       /* real nodes with memory */
    int node_id[MAX_NUMNODES];          /* libnuma ids, dense index -> id */
    size_t node_mem[MAX_NUMNODES];      /* bytes */
    uint8_t distance[MAX_NUMNODES][MAX_NUMNODES];
    int nr_cpus;
    int16_t cpu_to_node[PA_MAX_CPUS];   /* dense node index, -1 if none */
};

int pa_os_discover(struct pa_os_topology *t);
/* Reserve address space: PROT_NONE, MAP_NORESERVE, aligned; below4g uses
 * MAP_32BIT.  NULL on failure (errno). */
void *pa_os_reserve(size_t size, size_t align, bool below4g);
/* The largest reservation up to want bytes that the address space allows. */
size_t pa_os_max_reservation(size_t want);
/* Make a reservation readable: untouched pages read as zeros (the shared
 * zero page), at no memory cost. */
int pa_os_protect_read(void *addr, size_t size);
/* Guard pages: PROT_NONE (guard) or back to read-write; 0 or -1 with errno. */
int pa_os_guard(void *addr, size_t size, bool guard);
/* Commit [addr, addr+size) of a reservation as read-write memory, trying
 * backings from `first` down the hugetlb -> THP -> 4 KiB chain.  Returns the
 * backing obtained, or PA_BACKING_NONE with errno. */
enum pa_backing pa_os_commit(void *addr, size_t size, enum pa_backing first, bool prefault);
/* Bind to a real node with mbind (MPOL_BIND); 0 or -1 with errno. */
int pa_os_bind(void *addr, size_t size, int phys_node);
int pa_os_mlock(void *addr, size_t size);
/* Give a free range of a section (backed by b) back to the OS: it reads as
 * zeros afterwards.  0, or -1 with errno (EINVAL: the backing cannot). */
int pa_os_release(void *addr, size_t size, enum pa_backing b);
/* Put a committed range back to the reservation (readable: zeros, as
 * offline descriptors).  0, or -1 with errno. */
int pa_os_decommit(void *addr, size_t size, bool readable);
/* Fault the range in now (MADV_POPULATE_WRITE); best effort. */
void pa_os_prefault(void *addr, size_t size);
/* membarrier(2): register the process (0 or -1), and run a barrier on every
 * CPU running one of its threads; with rseq, also restart their critical
 * sections. */
int pa_os_membarrier_register(bool rseq);
void pa_os_membarrier(bool rseq);
/* Anonymous read-write memory for metadata (never from the arenas). */
void *pa_os_alloc(size_t size);
void pa_os_free(void *addr, size_t size);
int pa_os_getcpu_slow(void);
unsigned long long pa_os_virt_to_phys(const void *addr);
/* Free hugepages of the given size in KiB from sysfs, of one real node
 * (or of the machine with phys_node -1); 0 if unknown. */
unsigned long pa_os_free_hugepages(int phys_node, unsigned long size_kb);

/* The current CPU, from glibc's registered rseq area (under 1 ns); falls
 * back to sched_getcpu() where rseq is not registered. */
static inline int pa_cpu_id(void)
{
    if (likely(__rseq_size > 0)) {
        const struct rseq *rs =
            (const struct rseq *)(void *)((char *)__builtin_thread_pointer() + __rseq_offset);
        int cpu = (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
        if (likely(cpu >= 0))
            return cpu;
    }
    return pa_os_getcpu_slow();
}

#endif /* PAGEALLOC_OS_H */

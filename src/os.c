/* SPDX-License-Identifier: MIT */
/*
 * The OS layer: every mmap, madvise, mbind, mlock and libnuma call of the
 * library lives here, so the rest reads as pure algorithm (STYLE.md 6).
 */
#include "internal.h"

#include <fcntl.h>
#include <numa.h>
#include <linux/membarrier.h>
#include <numaif.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Raw system calls: the LD_PRELOAD shim interposes mmap and friends, and
 * the library's own mappings must never loop back into it. */
static void *sys_mmap(void *addr, size_t len, int prot, int flags)
{
#ifdef __SANITIZE_THREAD__
    /* TSan must see mappings come and go, or metadata mapped again at a
     * freed address looks shared between unrelated threads.  Sanitizer
     * builds never preload the shim. */
    return mmap(addr, len, prot, flags, -1, 0);
#endif
    long r = syscall(SYS_mmap, addr, len, prot, flags, -1, 0L);
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return MAP_FAILED;
    }
    return (void *)r;
}

static int sys_munmap(void *addr, size_t len)
{
#ifdef __SANITIZE_THREAD__
    return munmap(addr, len);
#endif
    return (int)syscall(SYS_munmap, addr, len);
}

static int sys_madvise(void *addr, size_t len, int advice)
{
    return (int)syscall(SYS_madvise, addr, len, advice);
}

/* ------------------------------------------------------------------ */
/* Topology                                                            */
/* ------------------------------------------------------------------ */

static size_t pa_os_total_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long psz = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psz <= 0)
        return (size_t)1 << 30;
    return (size_t)pages * (size_t)psz;
}

static int os_nr_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    if (n <= 0)
        n = 1;
    return (int)PA_MIN(n, PA_MAX_CPUS);
}

/* One node holding all memory and CPUs: machines without NUMA support. */
static void discover_flat(struct pa_os_topology *t)
{
    t->nr_nodes = 1;
    t->node_id[0] = 0;
    t->node_mem[0] = pa_os_total_memory();
    t->distance[0][0] = LOCAL_DISTANCE;
    t->nr_cpus = os_nr_cpus();
    for (int c = 0; c < t->nr_cpus; c++)
        t->cpu_to_node[c] = 0;
}

int pa_os_discover(struct pa_os_topology *t)
{
    memset(t, 0, sizeof(*t));
    for (int c = 0; c < PA_MAX_CPUS; c++)
        t->cpu_to_node[c] = -1;
    if (numa_available() < 0) {
        discover_flat(t);
        return 0;
    }
    int maxnode = numa_max_node();
    int dense[MAX_NUMNODES + 1];
    for (int id = 0; id <= maxnode && t->nr_nodes < MAX_NUMNODES; id++) {
        dense[PA_MIN(id, MAX_NUMNODES)] = -1;
        if (!numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned int)id))
            continue;
        long long freep = 0;
        long long size = numa_node_size64(id, &freep);
        if (size <= 0)
            continue;             /* memory-less node: CPUs only */
        dense[id] = t->nr_nodes;
        t->node_id[t->nr_nodes] = id;
        t->node_mem[t->nr_nodes] = (size_t)size;
        t->nr_nodes++;
    }
    if (t->nr_nodes == 0) {
        discover_flat(t);
        return 0;
    }
    for (int i = 0; i < t->nr_nodes; i++)
        for (int j = 0; j < t->nr_nodes; j++) {
            int d = numa_distance(t->node_id[i], t->node_id[j]);
            if (d <= 0)
                d = i == j ? LOCAL_DISTANCE : REMOTE_DISTANCE;
            t->distance[i][j] = (uint8_t)PA_MIN(d, 255);
        }
    t->nr_cpus = os_nr_cpus();
    for (int c = 0; c < t->nr_cpus; c++) {
        int id = numa_node_of_cpu(c);
        /* CPUs of a memory-less node use the nearest node with memory */
        if (id >= 0 && id <= maxnode && id < MAX_NUMNODES && dense[id] >= 0) {
            t->cpu_to_node[c] = (int16_t)dense[id];
        } else if (id >= 0) {
            int best = 0, bestd = 1 << 30;
            for (int i = 0; i < t->nr_nodes; i++) {
                int d = numa_distance(id, t->node_id[i]);
                if (d > 0 && d < bestd) {
                    bestd = d;
                    best = i;
                }
            }
            t->cpu_to_node[c] = (int16_t)best;
        } else {
            t->cpu_to_node[c] = 0;
        }
    }
    return 0;
}

int pa_os_getcpu_slow(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : cpu;
}

/* ------------------------------------------------------------------ */
/* Address space                                                       */
/* ------------------------------------------------------------------ */

void *pa_os_reserve(size_t size, size_t align, bool below4g)
{
    size_t len = size + align;
    if (len < size) {
        errno = ENOMEM;
        return NULL;
    }
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (below4g)
        flags |= MAP_32BIT;
    char *p = sys_mmap(NULL, len, PROT_NONE, flags);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)ALIGN_UP((uintptr_t)p, align);
    if (a > p)
        sys_munmap(p, (size_t)(a - p));
    size_t tail = (size_t)((p + len) - (a + size));
    if (tail)
        sys_munmap(a + size, tail);
    return a;
}

/* Can size bytes of address space be reserved now?  Reserved and given
 * back at once. */
static bool can_reserve(size_t size)
{
    void *p = sys_mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    if (p == MAP_FAILED)
        return false;
    sys_munmap(p, size);
    return true;
}

size_t pa_os_max_reservation(size_t want)
{
    if (want == 0 || can_reserve(want))
        return want;
    size_t lo = 0, hi = want;   /* lo can be reserved, hi cannot */
    while (hi - lo > (64UL << 20)) {
        size_t mid = lo + (hi - lo) / 2;
        if (can_reserve(mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int pa_os_protect_read(void *addr, size_t size)
{
    return (int)syscall(SYS_mprotect, addr, size, PROT_READ);
}

static bool thp_enabled(void)
{
    static int cached = -1;
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c >= 0)
        return c;
    char buf[128] = "";
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        close(fd);
    }
    c = buf[0] != 0 && strstr(buf, "[never]") == NULL;
    __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    return c;
}

/* Put the PROT_NONE reservation back over a range whose commit failed. */
static void rereserve(void *addr, size_t size)
{
    sys_mmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED);
}

static void *sys_mremap_fixed(void *old, size_t size, void *target)
{
#ifdef __SANITIZE_THREAD__
    return mremap(old, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
#endif
    long r = syscall(SYS_mremap, old, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return MAP_FAILED;
    }
    return (void *)r;
}

/*
 * Map [addr, addr+size) over our own reservation with prot and flags
 * (MAP_FIXED implied).  An mmap with MAP_FIXED that fails may already have
 * unmapped the old range (a hugetlb mapping fails only when the hugepages
 * are reserved, after the unmap): until the reservation is put back, the
 * hole is free address space, and another thread's mmap(NULL) can land in
 * it, only to be overwritten by our next attempt (ASan saw its fake stacks
 * vanish that way).  So the memory is mapped anywhere first and moved into
 * place with mremap, which replaces the target in one step; a shortage
 * then fails without touching the reservation.  A kernel that cannot move
 * the mapping (hugetlb before 5.16) gets the MAP_FIXED mmap in place, as
 * before; its failure is the rare case of hugepages taken by another
 * process between the two calls.
 */
static bool map_into_reservation(void *addr, size_t size, int prot, int flags)
{
    void *p = sys_mmap(NULL, size, prot, flags);
    if (p == MAP_FAILED)
        return false;                 /* the reservation is untouched */
    if (p == addr || sys_mremap_fixed(p, size, addr) == addr)
        return true;
    sys_munmap(p, size);
    if (sys_mmap(addr, size, prot, flags | MAP_FIXED) != MAP_FAILED)
        return true;
    rereserve(addr, size);
    return false;
}

static bool commit_one(void *addr, size_t size, enum pa_backing b, bool prefault)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    const int prot = PROT_READ | PROT_WRITE;

    switch (b) {
    case PA_BACKING_HUGETLB_1G:
    case PA_BACKING_HUGETLB_2M: {
        size_t hp = b == PA_BACKING_HUGETLB_1G ? (1UL << 30) : (2UL << 20);
        if (!IS_ALIGNED((uintptr_t)addr, hp) || !IS_ALIGNED(size, hp))
            return false;
        /* no MAP_NORESERVE: the kernel reserves the hugepages now, so a
         * shortage fails here instead of as SIGBUS on first touch */
        flags |= MAP_HUGETLB | (b == PA_BACKING_HUGETLB_1G ? MAP_HUGE_1GB : MAP_HUGE_2MB);
        if (prefault)
            flags |= MAP_POPULATE;
        return map_into_reservation(addr, size, prot, flags);
    }
    case PA_BACKING_THP:
        if (!thp_enabled())
            return false;
        if (!map_into_reservation(addr, size, prot, flags))
            return false;
        if (sys_madvise(addr, size, MADV_HUGEPAGE) != 0) {
            rereserve(addr, size);    /* replaces our own mapping: no hole */
            return false;
        }
        break;
    case PA_BACKING_4K:
        if (!map_into_reservation(addr, size, prot, flags))
            return false;
        sys_madvise(addr, size, MADV_NOHUGEPAGE);
        break;
    default:
        return false;
    }
    if (prefault)
        sys_madvise(addr, size, MADV_POPULATE_WRITE); /* best effort; faults later otherwise */
    return true;
}

enum pa_backing pa_os_commit(void *addr, size_t size, enum pa_backing first, bool prefault)
{
    for (int b = first; b < PA_NR_BACKINGS; b++)
        if (commit_one(addr, size, (enum pa_backing)b, prefault))
            return (enum pa_backing)b;
    errno = ENOMEM;
    return PA_BACKING_NONE;
}

int pa_os_bind(void *addr, size_t size, int phys_node)
{
    unsigned long mask[(MAX_NUMNODES + 63) / 64] = {0};
    if (phys_node < 0 || phys_node >= MAX_NUMNODES) {
        errno = EINVAL;
        return -1;
    }
    mask[phys_node / 64] = 1UL << (phys_node % 64);
    return (int)mbind(addr, size, MPOL_BIND, mask, MAX_NUMNODES + 1, 0);
}

int pa_os_membarrier_register(bool rseq)
{
    int cmd = rseq ? MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ
                   : MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
    long have = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (have < 0 || !(have & cmd))
        return -1;
    return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

void pa_os_membarrier(bool rseq)
{
    int cmd = rseq ? MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ : MEMBARRIER_CMD_PRIVATE_EXPEDITED;
    if (syscall(SYS_membarrier, cmd, 0, 0) != 0) {
        fprintf(stderr, "pagealloc: membarrier failed: %s\n", strerror(errno));
        abort();   /* registered at init: cannot fail; continuing would race */
    }
}

void pa_os_prefault(void *addr, size_t size)
{
    sys_madvise(addr, size, MADV_POPULATE_WRITE);
}

/*
 * Give [addr, addr+size) of a committed section back to the OS; it reads as
 * zeros when next touched.  MADV_DONTNEED, not MADV_FREE: the memory must be
 * zero when reused (a lazily freed page keeps its old contents until the
 * kernel needs it), and the RSS drops at once.  THP and 4 KiB mappings take
 * any page-aligned range (a partial THP is split); hugetlb takes whole
 * hugepages, and private hugetlb mappings only since Linux 5.18 (EINVAL
 * before).  0, or -1 with errno.
 */
int pa_os_release(void *addr, size_t size, enum pa_backing b)
{
    size_t align = b == PA_BACKING_HUGETLB_1G ? (1UL << 30) : b == PA_BACKING_HUGETLB_2M ? (2UL << 20) : PAGE_SIZE;
    if (b == PA_BACKING_NONE || !IS_ALIGNED((uintptr_t)addr, align) || !IS_ALIGNED(size, align)) {
        errno = EINVAL;
        return -1;
    }
    return sys_madvise(addr, size, MADV_DONTNEED);
}

/* A range of our reservation back to reserved: memory given back, the
 * address space kept (PROT_NONE; PROT_READ zeros for descriptors).  One
 * MAP_FIXED mmap replaces the mapping in one step, no hole between. */
int pa_os_decommit(void *addr, size_t size, bool readable)
{
    void *p = sys_mmap(addr, size, readable ? PROT_READ : PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED);
    return p == MAP_FAILED ? -1 : 0;
}

int pa_os_mlock(void *addr, size_t size)
{
    return mlock(addr, size);
}

void *pa_os_alloc(size_t size)
{
    size = ALIGN_UP(size, PAGE_SIZE);
    void *p = sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    return p == MAP_FAILED ? NULL : p;
}

void pa_os_free(void *addr, size_t size)
{
    if (addr)
        sys_munmap(addr, ALIGN_UP(size, PAGE_SIZE));
}

unsigned long pa_os_free_hugepages(int phys_node, unsigned long size_kb)
{
    char path[160], buf[64] = "";
    if (phys_node < 0)
        snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages", size_kb);
    else
        snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB/free_hugepages",
                 phys_node, size_kb);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return strtoul(buf, NULL, 10);
}

/* /proc/self/pagemap: bit 63 present, bits 0-54 the frame number (zero
 * without CAP_SYS_ADMIN).  The page is touched first so it is present. */
unsigned long long pa_os_virt_to_phys(const void *addr)
{
    volatile const char *v = addr;
    (void)*v;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint64_t ent = 0;
    off_t off = (off_t)((uintptr_t)addr / PAGE_SIZE * sizeof(ent));
    ssize_t n = pread(fd, &ent, sizeof(ent), off);
    close(fd);
    if (n != (ssize_t)sizeof(ent) || !(ent >> 63)) {
        errno = EIO;
        return 0;
    }
    uint64_t frame = ent & ((1ULL << 55) - 1);
    if (!frame) {
        errno = EPERM;
        return 0;
    }
    return (frame << PAGE_SHIFT) | ((uintptr_t)addr & (PAGE_SIZE - 1));
}

/* PAGEALLOC_DEBUG=guard: make [addr, addr+size) inaccessible (guard) or
 * read-write again.  0, or -1 with errno (ENOMEM: vm.max_map_count). */
int pa_os_guard(void *addr, size_t size, bool guard)
{
    return (int)syscall(SYS_mprotect, addr, size, guard ? PROT_NONE : PROT_READ | PROT_WRITE);
}

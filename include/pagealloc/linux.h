/* SPDX-License-Identifier: MIT */
/*
 * <pagealloc/linux.h>: the Linux kernel's page-allocator spellings on top of
 * the pa_ API, so kernel-style code compiles unchanged in userspace:
 *
 *     struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO, 2);
 *     if (!page)
 *         return -ENOMEM;
 *     memcpy(page_address(page), buf, len);
 *     __free_pages(page, 2);
 *
 * Opt-in: <pagealloc/pagealloc.h> does not include it, because it puts
 * un-prefixed names (alloc_pages, GFP_KERNEL, PAGE_SIZE, ...) into the
 * program.  Everything here is a macro or a static inline function over a
 * public pa_ function; nothing new is exported from the library.
 *
 * What the names mean here (see also man pagealloc(3), "KERNEL SPELLINGS"):
 *  - struct page is the library's page descriptor (struct pa_page) under the
 *    kernel's name.  Its contents are private, but its size is that of a
 *    descriptor and descriptors sit in one array by pfn, so `page + i` and
 *    `page[i]` reach the i-th page of a block, as in the kernel.
 *  - Allocation failures return NULL (or 0 for the address forms) as in the
 *    kernel; errno says why (ENOMEM, EINVAL).  Bad frees are reported on
 *    stderr and refused (see pagealloc(3)).
 *  - The mempolicy helpers keep the kernel's convention: 0 or a negative
 *    errno (-EINVAL), not -1 and errno.
 *  - There is no highmem: kmap*() return page_address().
 *  - GFP bits that only steer kernel debugging (lockdep, KASAN tags,
 *    memory-allocation profiling) are accepted and are 0 here.
 *
 * Name clashes with system headers, and how they are avoided:
 *  - PAGE_SHIFT, PAGE_SIZE and PAGE_MASK are defined exactly as in glibc's
 *    <sys/user.h>, so either header may come first.
 *  - MPOL_* are defined exactly as libnuma's <numaif.h> defines them.  The
 *    system calls set_mempolicy()/get_mempolicy() (declared by <numaif.h>)
 *    are left alone: the in-kernel names kernel_set_mempolicy() and
 *    kernel_get_mempolicy() are provided instead, with the same arguments.
 *  - nodemask_t is not defined: libnuma's <numa.h> owns that name.
 */
#ifndef PAGEALLOC_LINUX_H
#define PAGEALLOC_LINUX_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <pagealloc/pagealloc.h>

#ifdef __cplusplus
extern "C" {
#define __PA_STATIC_ASSERT static_assert
#else
#define __PA_STATIC_ASSERT _Static_assert
#endif

/* ------------------------------------------------------------------ */
/* Pages and orders                                                    */
/* ------------------------------------------------------------------ */

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE-1))
#define PAGE_ALIGN(addr)	(((unsigned long)(addr) + PAGE_SIZE - 1) & PAGE_MASK)
#define PAGE_ALIGNED(addr)	(((unsigned long)(addr) & (PAGE_SIZE - 1)) == 0)
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)
#define PFN_UP(x)		(((x) + PAGE_SIZE - 1) >> PAGE_SHIFT)
#define PFN_DOWN(x)		((x) >> PAGE_SHIFT)

__PA_STATIC_ASSERT(PAGE_SHIFT == PA_PAGE_SHIFT, "PAGE_SHIFT must match the library's page size");

/* Largest order, inclusive.  Linux 6.8+ calls it MAX_PAGE_ORDER; 6.4-6.7
 * called the same inclusive value MAX_ORDER (older kernels used MAX_ORDER
 * for the exclusive bound, NR_PAGE_ORDERS today). */
#define MAX_PAGE_ORDER		PA_MAX_ORDER
#define NR_PAGE_ORDERS		(MAX_PAGE_ORDER + 1)
#ifndef MAX_ORDER
#define MAX_ORDER		MAX_PAGE_ORDER
#endif
#define MAX_ORDER_NR_PAGES	(1UL << MAX_PAGE_ORDER)
#define PAGE_ALLOC_COSTLY_ORDER	3

/*
 * The kernel's name for the library's page descriptor.  Only pointers are
 * used; the size makes pointer arithmetic within a block work (descriptors
 * are 64 bytes, one per pfn, in one array: src/internal.h asserts the size
 * and tests/linux_h checks `virt_to_page(addr + PAGE_SIZE) == page + 1`).
 */
struct page {
	unsigned long __pa_private[8];
};

/* The kernel's zone numbers on a 64-bit machine without highmem. */
enum zone_type {
	ZONE_DMA = PA_ZONE_DMA,
	ZONE_DMA32 = PA_ZONE_DMA32,
	ZONE_NORMAL = PA_ZONE_NORMAL,
	ZONE_MOVABLE = PA_ZONE_MOVABLE,
	__MAX_NR_ZONES
};
#define MAX_NR_ZONES __MAX_NR_ZONES

/* Descriptor casts: struct page and struct pa_page are the same object. */
#define __pa_to_page(p)		((struct page *)(void *)(p))
#define __page_to_pa(p)		((struct pa_page *)(void *)(p))

/* ------------------------------------------------------------------ */
/* GFP flags: all of the kernel's gfp_types.h                         */
/* ------------------------------------------------------------------ */

typedef pa_gfp_t gfp_t;

#define __GFP_DMA		PA_GFP_DMA
#define __GFP_HIGHMEM		PA_GFP_HIGHMEM
#define __GFP_DMA32		PA_GFP_DMA32
#define __GFP_MOVABLE		PA_GFP_MOVABLE
#define __GFP_RECLAIMABLE	PA_GFP_RECLAIMABLE
#define __GFP_HIGH		PA_GFP_HIGH
#define __GFP_IO		PA_GFP_IO
#define __GFP_FS		PA_GFP_FS
#define __GFP_ZERO		PA_GFP_ZERO
#define __GFP_ATOMIC		PA_GFP_ATOMIC_BIT	/* Linux <= 6.2 */
#define __GFP_DIRECT_RECLAIM	PA_GFP_DIRECT_RECLAIM
#define __GFP_KSWAPD_RECLAIM	PA_GFP_KSWAPD_RECLAIM
#define __GFP_WRITE		PA_GFP_WRITE
#define __GFP_NOWARN		PA_GFP_NOWARN
#define __GFP_RETRY_MAYFAIL	PA_GFP_RETRY_MAYFAIL
#define __GFP_NOFAIL		PA_GFP_NOFAIL
#define __GFP_NORETRY		PA_GFP_NORETRY
#define __GFP_MEMALLOC		PA_GFP_MEMALLOC
#define __GFP_COMP		PA_GFP_COMP
#define __GFP_NOMEMALLOC	PA_GFP_NOMEMALLOC
#define __GFP_HARDWALL		PA_GFP_HARDWALL
#define __GFP_THISNODE		PA_GFP_THISNODE
#define __GFP_ACCOUNT		PA_GFP_ACCOUNT
#define __GFP_RELIABLE		PA_GFP_RELIABLE		/* openEuler's mirrored memory */
#define __GFP_RECLAIM		PA_GFP_RECLAIM
/* Kernel debugging aids with nothing to steer in userspace: accepted, 0. */
#define __GFP_NOLOCKDEP		0u
#define __GFP_NO_OBJ_EXT	0u
#define __GFP_ZEROTAGS		0u
#define __GFP_SKIP_ZERO		0u
#define __GFP_SKIP_KASAN	0u
#define __GFP_SKIP_KASAN_POISON	0u
#define __GFP_SKIP_KASAN_UNPOISON 0u

#define __GFP_BITS_MASK		PA_GFP_BITS_MASK
#define GFP_ZONEMASK		PA_GFP_ZONEMASK
#define GFP_MOVABLE_MASK	(__GFP_RECLAIMABLE | __GFP_MOVABLE)
#define GFP_MOVABLE_SHIFT	3

#define GFP_ATOMIC		PA_GFP_ATOMIC
#define GFP_KERNEL		PA_GFP_KERNEL
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT		PA_GFP_NOWAIT
#define GFP_NOIO		PA_GFP_NOIO
#define GFP_NOFS		PA_GFP_NOFS
#define GFP_USER		PA_GFP_USER
#define GFP_DMA			__GFP_DMA
#define GFP_DMA32		__GFP_DMA32
#define GFP_HIGHUSER		PA_GFP_HIGHUSER
#define GFP_HIGHUSER_MOVABLE	PA_GFP_HIGHUSER_MOVABLE
#define GFP_TRANSHUGE_LIGHT	PA_GFP_TRANSHUGE_LIGHT
#define GFP_TRANSHUGE		PA_GFP_TRANSHUGE
#define GFP_NOWAIT_RELIABLE	(GFP_NOWAIT | __GFP_RELIABLE)

/* May the allocation sleep (and so reclaim and compact)? */
static inline bool gfpflags_allow_blocking(const gfp_t gfp_flags)
{
	return (gfp_flags & __GFP_DIRECT_RECLAIM) != 0;
}

/* Both I/O and file-system reclaim allowed (neither NOIO nor NOFS). */
static inline bool gfp_has_io_fs(gfp_t gfp)
{
	return (gfp & (__GFP_IO | __GFP_FS)) == (__GFP_IO | __GFP_FS);
}

/* ------------------------------------------------------------------ */
/* Allocation and freeing                                              */
/* ------------------------------------------------------------------ */

static inline struct page *alloc_pages(gfp_t gfp_mask, unsigned int order)
{
	return __pa_to_page(pa_alloc_pages(gfp_mask, order));
}

#define alloc_page(gfp_mask) alloc_pages(gfp_mask, 0)

/* nid NUMA_NO_NODE (-1): the local node, as in the kernel. */
static inline struct page *alloc_pages_node(int nid, gfp_t gfp_mask, unsigned int order)
{
	return __pa_to_page(pa_alloc_pages_node(nid, gfp_mask, order));
}

/* The kernel's variant for a nid known to be valid. */
static inline struct page *__alloc_pages_node(int nid, gfp_t gfp_mask, unsigned int order)
{
	return alloc_pages_node(nid, gfp_mask, order);
}

/* Drop a reference; at zero the 2^order block goes back. */
static inline void __free_pages(struct page *page, unsigned int order)
{
	pa_free_pages(__page_to_pa(page), order);
}

#define __free_page(page) __free_pages((page), 0)

/* Address forms: the kernel passes addresses as unsigned long. */
static inline unsigned long __get_free_pages(gfp_t gfp_mask, unsigned int order)
{
	return (unsigned long)pa_get_free_pages(gfp_mask, order);
}

#define __get_free_page(gfp_mask) __get_free_pages((gfp_mask), 0)

static inline unsigned long get_zeroed_page(gfp_t gfp_mask)
{
	return __get_free_pages(gfp_mask | __GFP_ZERO, 0);
}

/* addr 0 is ignored, as in the kernel. */
static inline void free_pages(unsigned long addr, unsigned int order)
{
	pa_free_pages_addr((void *)addr, order);
}

#define free_page(addr) free_pages((addr), 0)

static inline void *alloc_pages_exact(size_t size, gfp_t gfp_mask)
{
	return pa_alloc_pages_exact(size, gfp_mask);
}

static inline void free_pages_exact(void *virt, size_t size)
{
	pa_free_pages_exact(virt, size);
}

/* Smallest order whose block holds size bytes (size > 0). */
static inline int get_order(unsigned long size)
{
	int order = 0;

	size = (size - 1) >> PAGE_SHIFT;
	while (size) {
		order++;
		size >>= 1;
	}
	return order;
}

/* ------------------------------------------------------------------ */
/* Descriptors, addresses, pfns                                        */
/* ------------------------------------------------------------------ */

static inline void *page_address(const struct page *page)
{
	return pa_page_address((const struct pa_page *)(const void *)page);
}

#define lowmem_page_address(page) page_address(page)
#define page_to_virt(page) page_address(page)

/* Takes a pointer or an unsigned long, as the kernel's macro does. */
#define virt_to_page(kaddr) __pa_to_page(pa_virt_to_page((const void *)(kaddr)))
#define virt_addr_valid(kaddr) (pa_virt_to_page((const void *)(kaddr)) != NULL)

static inline unsigned long page_to_pfn(const struct page *page)
{
	return pa_page_to_pfn((const struct pa_page *)(const void *)page);
}

static inline struct page *pfn_to_page(unsigned long pfn)
{
	return __pa_to_page(pa_pfn_to_page(pfn));
}

#define pfn_valid(pfn) (pa_pfn_to_page(pfn) != NULL)
#define virt_to_pfn(kaddr) page_to_pfn(virt_to_page(kaddr))
#define pfn_to_virt(pfn) page_address(pfn_to_page(pfn))
#define nth_page(page, n) ((page) + (n))

static inline int page_to_nid(const struct page *page)
{
	return pa_page_to_nid((const struct pa_page *)(const void *)page);
}

static inline enum zone_type page_zonenum(const struct page *page)
{
	return (enum zone_type)pa_page_zonenum((const struct pa_page *)(const void *)page);
}

/* Physical address for device DMA (root only; 0 with errno otherwise). */
static inline unsigned long long page_to_phys(const struct page *page)
{
	return pa_page_to_phys((const struct pa_page *)(const void *)page);
}

/* No highmem: every page is mapped, so kmap is page_address. */
#define PageHighMem(page) ((void)(page), false)
#define kmap(page) page_address(page)
#define kunmap(page) ((void)(page))
#define kmap_local_page(page) page_address(page)
#define kunmap_local(addr) ((void)(addr))
#define kmap_atomic(page) page_address(page)
#define kunmap_atomic(addr) ((void)(addr))

static inline void clear_page(void *to)
{
	memset(to, 0, PAGE_SIZE);
}

static inline void copy_page(void *to, void *from)
{
	memcpy(to, from, PAGE_SIZE);
}

static inline void clear_highpage(struct page *page)
{
	clear_page(page_address(page));
}

static inline void copy_highpage(struct page *to, struct page *from)
{
	copy_page(page_address(to), page_address(from));
}

/* ------------------------------------------------------------------ */
/* Reference counts and compound pages                                 */
/* ------------------------------------------------------------------ */

static inline void get_page(struct page *page)
{
	pa_get_page(__page_to_pa(page));
}

/* Frees the (compound) block at zero. */
static inline void put_page(struct page *page)
{
	pa_put_page(__page_to_pa(page));
}

static inline int page_count(const struct page *page)
{
	return pa_page_count((const struct pa_page *)(const void *)page);
}

#define page_ref_count(page) page_count(page)

static inline struct page *compound_head(const struct page *page)
{
	return __pa_to_page(pa_compound_head((const struct pa_page *)(const void *)page));
}

static inline unsigned int compound_order(const struct page *page)
{
	return pa_compound_order((const struct pa_page *)(const void *)page);
}

static inline unsigned long compound_nr(const struct page *page)
{
	return 1UL << compound_order(page);
}

#define page_size(page) (PAGE_SIZE << compound_order(page))
#define PageCompound(page) (compound_order(compound_head(page)) > 0)
#define PageHead(page) (compound_head(page) == (page) && compound_order(page) > 0)
#define PageTail(page) (compound_head(page) != (page))

/* ------------------------------------------------------------------ */
/* Nodes and memory policy                                             */
/* ------------------------------------------------------------------ */

#define NUMA_NO_NODE	(-1)
#define MAX_NUMNODES	PA_MAX_NUMNODES
#define LOCAL_DISTANCE	10

static inline int numa_node_id(void)
{
	return pa_numa_node_id();
}

/* Nearest node with memory: every node here has memory. */
#define numa_mem_id() numa_node_id()
#define nr_node_ids ((unsigned int)pa_num_nodes())
#define nr_online_nodes pa_num_nodes()
#define num_online_nodes() pa_num_nodes()
#define node_online(nid) ((nid) >= 0 && (nid) < pa_num_nodes())
#define node_state_online(nid) node_online(nid)
#define for_each_online_node(nid) for ((nid) = 0; (nid) < pa_num_nodes(); (nid)++)
#define for_each_node(nid) for_each_online_node(nid)
#define node_distance(a, b) pa_node_distance((a), (b))

/* The same values and spellings as libnuma's <numaif.h> (and the kernel's
 * uapi), so the two headers can be used together. */
#define MPOL_DEFAULT     0
#define MPOL_PREFERRED   1
#define MPOL_BIND        2
#define MPOL_INTERLEAVE  3
#define MPOL_LOCAL       4
#define MPOL_PREFERRED_MANY   5
#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif
#define MPOL_F_NODE    (1<<0)
#define MPOL_F_ADDR     (1<<1)
#define MPOL_F_MEMS_ALLOWED (1<<2)

__PA_STATIC_ASSERT(MPOL_WEIGHTED_INTERLEAVE == PA_MPOL_WEIGHTED_INTERLEAVE &&
		   MPOL_PREFERRED_MANY == PA_MPOL_PREFERRED_MANY && MPOL_LOCAL == PA_MPOL_LOCAL,
		   "the kernel's MPOL_* numbering");

#define __PA_BITS_PER_LONG (8 * sizeof(unsigned long))

/*
 * set_mempolicy(2) as the kernel implements it, for the calling thread:
 * nmask holds maxnode - 1 bits (the system call's historical off-by-one,
 * kept so that arguments written for set_mempolicy(2) mean the same here).
 * Mode flags (MPOL_F_STATIC_NODES, ...) are not supported.  Returns 0, or
 * -EINVAL for a bad mode, a mask naming a node that does not exist, or a
 * mask the mode does not accept.
 */
static inline long kernel_set_mempolicy(int mode, const unsigned long *nmask, unsigned long maxnode)
{
	pa_nodemask_t nodes;
	unsigned long bits = maxnode ? maxnode - 1 : 0;
	bool any = false;

	if (mode < MPOL_DEFAULT || mode > MPOL_WEIGHTED_INTERLEAVE)
		return -EINVAL;
	memset(&nodes, 0, sizeof(nodes));
	if (nmask) {
		for (unsigned long i = 0; i < bits; i++) {
			if (!(nmask[i / __PA_BITS_PER_LONG] >> (i % __PA_BITS_PER_LONG) & 1))
				continue;
			if (i >= PA_MAX_NUMNODES)
				return -EINVAL;
			nodes.bits[i / __PA_BITS_PER_LONG] |= 1UL << (i % __PA_BITS_PER_LONG);
			any = true;
		}
	}
	if (pa_set_mempolicy(mode, any ? &nodes : NULL) != 0)
		return -errno;
	return 0;
}

/*
 * get_mempolicy(2) for the calling thread: flags 0 (the policy and its
 * nodes) or MPOL_F_MEMS_ALLOWED (the allowed nodes).  addr must be 0 (no
 * per-mapping policies).  nmask, when given, must hold the existing nodes
 * in maxnode - 1 bits.  Returns 0 or -EINVAL.
 */
static inline long kernel_get_mempolicy(int *policy, unsigned long *nmask, unsigned long maxnode,
					unsigned long addr, unsigned long flags)
{
	pa_nodemask_t nodes;
	int mode = MPOL_DEFAULT;
	unsigned long bits = maxnode ? maxnode - 1 : 0;

	if (addr != 0 || (flags & ~(unsigned long)MPOL_F_MEMS_ALLOWED))
		return -EINVAL;
	if (nmask && bits < nr_node_ids)
		return -EINVAL;
	if (flags & MPOL_F_MEMS_ALLOWED) {
		if (pa_get_mems_allowed(&nodes) != 0)
			return -errno;
	} else if (pa_get_mempolicy(&mode, &nodes) != 0) {
		return -errno;
	}
	if (policy)
		*policy = (flags & MPOL_F_MEMS_ALLOWED) ? 0 : mode;
	if (nmask) {
		unsigned long longs = (bits + __PA_BITS_PER_LONG - 1) / __PA_BITS_PER_LONG;
		memset(nmask, 0, longs * sizeof(unsigned long));
		for (unsigned long i = 0; i < bits && i < PA_MAX_NUMNODES; i++)
			if (nodes.bits[i / __PA_BITS_PER_LONG] >> (i % __PA_BITS_PER_LONG) & 1)
				nmask[i / __PA_BITS_PER_LONG] |= 1UL << (i % __PA_BITS_PER_LONG);
	}
	return 0;
}

/* Scoped allocation contexts (<linux/sched/mm.h>). */
static inline unsigned int memalloc_noio_save(void) { return pa_memalloc_noio_save(); }
static inline void memalloc_noio_restore(unsigned int flags) { (void)pa_memalloc_noio_restore(flags); }
static inline unsigned int memalloc_nofs_save(void) { return pa_memalloc_nofs_save(); }
static inline void memalloc_nofs_restore(unsigned int flags) { (void)pa_memalloc_nofs_restore(flags); }
static inline unsigned int memalloc_noreclaim_save(void) { return pa_memalloc_noreclaim_save(); }
static inline void memalloc_noreclaim_restore(unsigned int flags) { (void)pa_memalloc_noreclaim_restore(flags); }
static inline gfp_t current_gfp_context(gfp_t flags) { return pa_current_gfp_context(flags); }

/* Dirty pages (set_page_dirty: true if it was clean). */
static inline bool set_page_dirty(struct page *page) { return pa_set_page_dirty(__page_to_pa(page)) == 1; }
static inline bool clear_page_dirty_for_io(struct page *page)
{
	return pa_clear_page_dirty(__page_to_pa(page)) == 1;
}
static inline bool PageDirty(const struct page *page)
{
	return pa_page_dirty((const struct pa_page *)(const void *)page) == 1;
}

#ifdef __cplusplus
}
#endif
#endif /* PAGEALLOC_LINUX_H */

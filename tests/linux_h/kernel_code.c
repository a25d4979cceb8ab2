/* SPDX-License-Identifier: MIT */
/*
 * Code written the way mm/ and drivers write it -- only the kernel's names,
 * no pa_ prefix, no libc beyond what <pagealloc/linux.h> brings (memcpy,
 * memset, errno values) -- compiled unchanged against <pagealloc/linux.h>.
 * Each kc_* function checks its own results and returns 0, or a negative
 * errno value (-EIO for a wrong result, -ENOMEM for a failed allocation)
 * and a line number through kc_fail_line for the test to report.
 */
#include "kernel_code.h"

int kc_fail_line;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			kc_fail_line = __LINE__;                                                   \
			return -EIO;                                                               \
		}                                                                                  \
	} while (0)

/* ---- a byte ring over single pages, as a driver would keep one ---- */

int pring_init(struct pring *r, struct page **slots, unsigned int nr, int nid, gfp_t gfp)
{
	unsigned int i;

	r->pages = slots;
	r->nr = nr;
	r->head = r->tail = 0;
	for (i = 0; i < nr; i++) {
		r->pages[i] = alloc_pages_node(nid, gfp, 0);
		if (!r->pages[i])
			goto out_free;
	}
	return 0;

out_free:
	while (i--)
		__free_page(r->pages[i]);
	return -ENOMEM;
}

/* The piece at byte position pos: at most want bytes, within one page. */
static char *pring_piece(struct pring *r, unsigned long pos, unsigned long *want)
{
	unsigned long cap = (unsigned long)r->nr * PAGE_SIZE;
	unsigned long off = offset_in_page(pos % cap);

	if (*want > PAGE_SIZE - off)
		*want = PAGE_SIZE - off;
	return (char *)kmap_local_page(r->pages[(pos % cap) >> PAGE_SHIFT]) + off;
}

unsigned long pring_write(struct pring *r, const void *buf, unsigned long len)
{
	const char *src = buf;
	unsigned long done = 0, cap = (unsigned long)r->nr * PAGE_SIZE;

	while (done < len && r->head - r->tail < cap) {
		unsigned long n = len - done;
		char *vaddr;

		if (n > cap - (r->head - r->tail))
			n = cap - (r->head - r->tail);
		vaddr = pring_piece(r, r->head, &n);
		memcpy(vaddr, src + done, n);
		kunmap_local(vaddr);
		r->head += n;
		done += n;
	}
	return done;
}

unsigned long pring_read(struct pring *r, void *buf, unsigned long len)
{
	char *dst = buf;
	unsigned long done = 0;

	while (done < len && r->tail < r->head) {
		unsigned long n = len - done;
		char *vaddr;

		if (n > r->head - r->tail)
			n = r->head - r->tail;
		vaddr = pring_piece(r, r->tail, &n);
		memcpy(dst + done, vaddr, n);
		kunmap_local(vaddr);
		r->tail += n;
		done += n;
	}
	return done;
}

void pring_destroy(struct pring *r)
{
	unsigned int i;

	for (i = 0; i < r->nr; i++)
		put_page(r->pages[i]);
	r->nr = 0;
}

/* ---- one block: write through page_address, walk it page by page ---- */

int kc_block_roundtrip(unsigned int order, gfp_t gfp)
{
	unsigned long i, nr = 1UL << order;
	struct page *page = alloc_pages(gfp, order);
	unsigned char *base;

	if (!page)
		return -ENOMEM;
	base = page_address(page);
	CHECK(base != NULL);
	CHECK(((unsigned long)base & ((PAGE_SIZE << order) - 1)) == 0);	/* naturally aligned */
	CHECK((page_to_pfn(page) & (nr - 1)) == 0);
	if (gfp & __GFP_ZERO)
		for (i = 0; i < (PAGE_SIZE << order); i++)
			CHECK(base[i] == 0);
	for (i = 0; i < nr; i++) {
		struct page *p = nth_page(page, i);
		unsigned char *v = page_address(p);

		CHECK(v == base + i * PAGE_SIZE);
		CHECK(virt_to_page(v) == p);
		CHECK(virt_to_page(v + PAGE_SIZE - 1) == p);
		CHECK(virt_to_page((unsigned long)v + 17) == p);	/* the unsigned long form */
		CHECK(page_to_pfn(p) == page_to_pfn(page) + i);
		CHECK(pfn_to_page(page_to_pfn(p)) == p);
		CHECK(pfn_valid(page_to_pfn(p)));
		CHECK(virt_addr_valid(v));
		CHECK(page_to_nid(p) == page_to_nid(page));
		memset(v, (int)(i & 0xff), PAGE_SIZE);
	}
	for (i = 0; i < nr; i++)
		CHECK(base[i * PAGE_SIZE + PAGE_SIZE / 2] == (unsigned char)(i & 0xff));
	CHECK(page_count(page) == 1);
	__free_pages(page, order);
	return 0;
}

/* ---- get_page / put_page on an order-0 page ---- */

int kc_refcounts(void)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (!page)
		return -ENOMEM;
	CHECK(page_count(page) == 1);
	get_page(page);
	get_page(page);
	CHECK(page_count(page) == 3);
	CHECK(page_ref_count(page) == 3);
	put_page(page);
	CHECK(page_count(page) == 2);
	__free_page(page);		/* drops a reference, as in the kernel */
	CHECK(page_count(page) == 1);
	put_page(page);			/* the last one frees it */
	return 0;
}

/* ---- compound pages: tails lead to the head, put_page frees the whole ---- */

int kc_compound(unsigned int order)
{
	unsigned long i, nr = 1UL << order;
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, order);

	if (!page)
		return -ENOMEM;
	CHECK(compound_order(page) == order);
	CHECK(compound_nr(page) == nr);
	CHECK(page_size(page) == PAGE_SIZE << order);
	CHECK(PageHead(page));
	CHECK(!PageTail(page));
	for (i = 1; i < nr; i++) {
		CHECK(compound_head(page + i) == page);
		CHECK(PageTail(page + i));
		CHECK(PageCompound(page + i));
	}
	get_page(page + nr - 1);	/* a reference through a tail pins the head */
	CHECK(page_count(page) == 2);
	CHECK(page_count(page + 1) == 2);
	put_page(page);
	CHECK(page_count(page) == 1);
	put_page(page + 1);		/* frees all 2^order pages */
	return 0;
}

/* ---- get_zeroed_page after a dirty page went back ---- */

int kc_zeroed_page(void)
{
	unsigned long addr = __get_free_page(GFP_KERNEL);
	unsigned char *p;
	unsigned long i;

	if (!addr)
		return -ENOMEM;
	memset((void *)addr, 0x5a, PAGE_SIZE);
	free_page(addr);
	addr = get_zeroed_page(GFP_KERNEL);
	if (!addr)
		return -ENOMEM;
	p = (unsigned char *)addr;
	for (i = 0; i < PAGE_SIZE; i++)
		CHECK(p[i] == 0);
	CHECK(PAGE_ALIGNED(addr));
	clear_highpage(virt_to_page(addr));
	free_pages(addr, 0);
	free_pages(0, 3);		/* 0 is ignored */
	return 0;
}

/* ---- __get_free_pages / free_pages, copy_highpage ---- */

int kc_address_forms(unsigned int order)
{
	unsigned long a = __get_free_pages(GFP_KERNEL | __GFP_ZERO, order);
	unsigned long b;
	struct page *pa, *pb;

	if (!a)
		return -ENOMEM;
	b = __get_free_pages(GFP_KERNEL, order);
	if (!b) {
		free_pages(a, order);
		return -ENOMEM;
	}
	CHECK((a & ((PAGE_SIZE << order) - 1)) == 0);
	pa = virt_to_page(a);
	pb = virt_to_page(b);
	CHECK(page_address(pa) == (void *)a);
	memset((void *)a, 0xc3, PAGE_SIZE);
	copy_highpage(pb, pa);
	CHECK(((unsigned char *)b)[PAGE_SIZE - 1] == 0xc3);
	CHECK(get_order(PAGE_SIZE << order) == (int)order);
	free_pages(a, order);
	free_pages(b, order);
	return 0;
}

/* ---- alloc_pages_exact: only PAGE_ALIGN(size) bytes stay allocated ---- */

int kc_exact(unsigned long size)
{
	unsigned long i, nr = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned char *v = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO);

	if (!v)
		return -ENOMEM;
	CHECK(v[size - 1] == 0);
	for (i = 0; i < nr; i++) {
		CHECK(page_count(virt_to_page(v + i * PAGE_SIZE)) == 1);
		v[i * PAGE_SIZE] = 1;
	}
	free_pages_exact(v, size);
	return 0;
}

/* ---- every node: __GFP_THISNODE lands there, distances are sane ---- */

int kc_nodes(void)
{
	int nid, seen = 0;

	CHECK(node_online(numa_node_id()));
	CHECK(numa_mem_id() == numa_node_id());
	for_each_online_node(nid) {
		struct page *page = alloc_pages_node(nid, GFP_KERNEL | __GFP_THISNODE, 1);

		if (!page)
			return -ENOMEM;
		CHECK(page_to_nid(page) == nid);
		CHECK(node_distance(nid, nid) == LOCAL_DISTANCE);
		__free_pages(page, 1);
		seen++;
	}
	CHECK(seen == (int)nr_node_ids);
	CHECK(num_online_nodes() == seen);
	CHECK(!node_online(seen));
	return 0;
}

/* ---- the system-call-shaped policy helpers ---- */

int kc_policy_bind(int nid)
{
	unsigned long mask[2] = { 0, 0 }, got[2] = { 0, 0 };
	int mode = -1, i;
	long err;

	mask[0] = 1UL << nid;
	err = kernel_set_mempolicy(MPOL_BIND, mask, 2 * 8 * sizeof(unsigned long) + 1);
	CHECK(err == 0);
	err = kernel_get_mempolicy(&mode, got, 2 * 8 * sizeof(unsigned long) + 1, 0, 0);
	CHECK(err == 0);
	CHECK(mode == MPOL_BIND);
	CHECK(got[0] == mask[0] && got[1] == 0);
	for (i = 0; i < 8; i++) {
		struct page *page = alloc_pages(GFP_USER, 0);

		if (!page)
			return -ENOMEM;
		CHECK(page_to_nid(page) == nid);
		__free_page(page);
	}
	/* bad arguments: the kernel's -EINVAL, the policy stays */
	CHECK(kernel_set_mempolicy(99, mask, 65) == -EINVAL);
	mask[1] = 1UL << 63;				/* node 127: beyond MAX_NUMNODES */
	CHECK(kernel_set_mempolicy(MPOL_BIND, mask, 129) == -EINVAL);
	mask[0] = 0;
	mask[1] = 0;
	CHECK(kernel_set_mempolicy(MPOL_BIND, mask, 65) == -EINVAL);	/* empty mask */
	CHECK(kernel_get_mempolicy(&mode, got, 1, 0, 0) == -EINVAL);	/* too small */
	CHECK(kernel_get_mempolicy(&mode, NULL, 0, 0x1000, 0) == -EINVAL);	/* per-address */
	CHECK(kernel_get_mempolicy(&mode, NULL, 0, 0, 0) == 0 && mode == MPOL_BIND);
	CHECK(kernel_get_mempolicy(&mode, got, 65, 0, MPOL_F_MEMS_ALLOWED) == 0);
	CHECK(mode == 0 && got[0] == (1UL << nr_node_ids) - 1);
	CHECK(kernel_set_mempolicy(MPOL_DEFAULT, NULL, 0) == 0);
	CHECK(kernel_get_mempolicy(&mode, NULL, 0, 0, 0) == 0);
	CHECK(mode != MPOL_BIND);
	return 0;
}

/* ---- GFP_DMA comes from ZONE_DMA ---- */

int kc_dma(void)
{
	struct page *page = alloc_pages(GFP_KERNEL | GFP_DMA, 2);

	if (!page)
		return -ENOMEM;
	CHECK(page_zonenum(page) == ZONE_DMA);
	CHECK(page_to_nid(page) == 0);
	__free_pages(page, 2);
	return 0;
}

/* ---- put_page on a non-compound block only drops a reference ---- */

int kc_put_page_block(void)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2), *other[8];
	char *base;
	int i;

	if (!page)
		return -ENOMEM;
	base = page_address(page);
	get_page(page);
	put_page(page);			/* not the last reference: nothing is freed */
	CHECK(page_count(page) == 1);
	memset(base, 0x77, 4 * PAGE_SIZE);
	for (i = 0; i < 8; i++) {
		other[i] = alloc_page(GFP_KERNEL);
		if (!other[i])
			return -ENOMEM;
		CHECK(page_to_pfn(other[i]) < page_to_pfn(page) ||
		      page_to_pfn(other[i]) >= page_to_pfn(page) + 4);
		memset(page_address(other[i]), 0, PAGE_SIZE);
	}
	CHECK(base[4 * PAGE_SIZE - 1] == 0x77 && base[PAGE_SIZE] == 0x77);
	for (i = 0; i < 8; i++)
		__free_page(other[i]);
	__free_pages(page, 2);
	return 0;
}

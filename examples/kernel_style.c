/* SPDX-License-Identifier: MIT */
/*
 * kernel_style: kernel code, compiled unchanged in userspace through
 * <pagealloc/linux.h>.
 *
 * The first half of this file is written as it would be in a driver: a
 * page-fragment cache in the manner of the networking stack's (carve small
 * buffers out of one compound page; each fragment holds a reference on the
 * page, so the page goes back when the cache has moved on and the last
 * fragment is freed), plus a zeroed scratch page and per-node buffers.  It
 * uses only the kernel's names: struct page, alloc_pages_node, __GFP_COMP,
 * page_address, virt_to_page, get_page, put_page, compound_head,
 * get_zeroed_page, free_page, numa_node_id, for_each_online_node.
 *
 * The second half (main) runs it and checks the results: fragments do not
 * overlap and keep their contents, every page the cache used is freed once
 * the last fragment goes, nothing leaks.  Exit status 0 and
 * "kernel_style: OK", or 1 with the reason.
 */
#include <pagealloc/linux.h>

/* ==================== kernel-style code ==================== */

#define FRAG_CACHE_ORDER 3			/* 32 KiB compound pages */
#define FRAG_CACHE_SIZE (PAGE_SIZE << FRAG_CACHE_ORDER)

struct frag_cache {
	struct page *page;			/* current page; the cache holds one reference */
	unsigned int offset;			/* next free byte */
	int nid;
	unsigned long pages_used;
};

static int frag_cache_refill(struct frag_cache *fc, gfp_t gfp)
{
	struct page *page;

	page = alloc_pages_node(fc->nid, gfp | __GFP_COMP | __GFP_NOWARN, FRAG_CACHE_ORDER);
	if (!page)
		return -ENOMEM;
	if (fc->page)
		put_page(fc->page);		/* drop the cache's reference on the old one */
	fc->page = page;
	fc->offset = 0;
	fc->pages_used++;
	return 0;
}

/* A fragment of fragsz bytes (<= FRAG_CACHE_SIZE), 64-byte aligned. */
static void *frag_alloc(struct frag_cache *fc, unsigned int fragsz, gfp_t gfp)
{
	unsigned int size = (fragsz + 63) & ~63u;

	if (size > FRAG_CACHE_SIZE)
		return NULL;
	if (!fc->page || fc->offset + size > FRAG_CACHE_SIZE) {
		if (frag_cache_refill(fc, gfp))
			return NULL;
	}
	get_page(fc->page);			/* the fragment's reference */
	fc->offset += size;
	return (char *)page_address(fc->page) + fc->offset - size;
}

static void frag_free(void *addr)
{
	put_page(virt_to_page(addr));		/* any page of the compound: the head's count */
}

static void frag_cache_drain(struct frag_cache *fc)
{
	if (fc->page)
		put_page(fc->page);
	fc->page = NULL;
}

/* One zeroed page per node, as per-node scratch buffers are kept. */
static int scratch_pages_alloc(unsigned long *scratch, int max)
{
	int nid, n = 0;

	for_each_online_node(nid) {
		struct page *page;

		if (n == max)
			break;
		page = alloc_pages_node(nid, GFP_KERNEL | __GFP_ZERO | __GFP_THISNODE, 0);
		if (!page)
			goto fail;
		scratch[n++] = (unsigned long)page_address(page);
	}
	return n;
fail:
	while (n--)
		free_page(scratch[n]);
	return -ENOMEM;
}

/* ==================== the test around it ==================== */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NFRAGS 3000

struct frag {
	unsigned char *addr;
	unsigned int size;
};

static unsigned int frag_size(unsigned int i)
{
	return 64 + (i * 2654435761u >> 20) % 3000;	/* 64 .. 3063 bytes */
}

int main(void)
{
	static struct frag frags[NFRAGS];
	static struct page *used[NFRAGS];
	struct frag_cache fc = { .nid = numa_node_id() };
	unsigned long scratch[64];
	unsigned int i, j, nused = 0;
	int failures = 0, nscratch;

	for (i = 0; i < NFRAGS; i++) {
		frags[i].size = frag_size(i);
		frags[i].addr = frag_alloc(&fc, frags[i].size, GFP_KERNEL);
		if (!frags[i].addr) {
			printf("kernel_style: frag_alloc(%u) failed\n", frags[i].size);
			return 1;
		}
		memset(frags[i].addr, (int)(i & 0xff), frags[i].size);
		if (nused == 0 || used[nused - 1] != fc.page)
			used[nused++] = fc.page;
	}
	/* every fragment holds its contents (no two overlap) */
	for (i = 0; i < NFRAGS; i++)
		for (j = 0; j < frags[i].size; j++)
			if (frags[i].addr[j] != (unsigned char)(i & 0xff)) {
				printf("kernel_style: fragment %u byte %u overwritten\n", i, j);
				failures++;
				break;
			}
	/* each page: one reference per fragment on it, plus the cache's on the last */
	for (i = 0; i < nused; i++) {
		int refs = 0;

		for (j = 0; j < NFRAGS; j++)
			if (compound_head(virt_to_page(frags[j].addr)) == used[i])
				refs++;
		if (used[i] == fc.page)
			refs++;
		if (page_count(used[i]) != refs || compound_order(used[i]) != FRAG_CACHE_ORDER ||
		    page_to_nid(used[i]) != fc.nid) {
			printf("kernel_style: page %u: count %d (want %d), order %u, node %d\n", i,
			       page_count(used[i]), refs, compound_order(used[i]), page_to_nid(used[i]));
			failures++;
		}
	}
	printf("kernel_style: %u fragments of 64..3063 bytes on node %d in %lu compound pages of "
	       "%lu KiB\n", NFRAGS, fc.nid, fc.pages_used, FRAG_CACHE_SIZE / 1024);

	/* free in an interleaved order; the pages go back with the last fragment */
	for (i = 0; i < NFRAGS; i += 2)
		frag_free(frags[i].addr);
	for (i = 1; i < NFRAGS; i += 2)
		frag_free(frags[i].addr);
	frag_cache_drain(&fc);
	for (i = 0; i < nused; i++)
		if (page_count(used[i]) != 0) {
			printf("kernel_style: page %u still has %d references\n", i, page_count(used[i]));
			failures++;
		}

	nscratch = scratch_pages_alloc(scratch, 64);
	if (nscratch != (int)nr_node_ids) {
		printf("kernel_style: %d scratch pages for %u nodes\n", nscratch, nr_node_ids);
		failures++;
	}
	for (i = 0; nscratch > 0 && i < (unsigned int)nscratch; i++) {
		unsigned char *p = (unsigned char *)scratch[i];

		if (page_to_nid(virt_to_page(p)) != (int)i || p[0] != 0 || p[PAGE_SIZE - 1] != 0) {
			printf("kernel_style: scratch page %u: node %d, not zeroed\n", i,
			       page_to_nid(virt_to_page(p)));
			failures++;
		}
		free_page(scratch[i]);
	}
	printf("kernel_style: %d zeroed scratch page(s), one per node\n", nscratch);
	if (pa_check_invariants() != 0) {
		printf("kernel_style: the allocator's invariants are broken (see stderr)\n");
		failures++;
	}
	printf("kernel_style: %s\n", failures ? "FAILED" : "OK");
	return failures ? 1 : 0;
}

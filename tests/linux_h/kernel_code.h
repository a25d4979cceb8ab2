/* SPDX-License-Identifier: MIT */
/* The kernel-style functions of kernel_code.c, for the test that runs them. */
#ifndef LINUX_H_KERNEL_CODE_H
#define LINUX_H_KERNEL_CODE_H

#include <pagealloc/linux.h>

struct pring {
	struct page **pages;	/* nr single pages, a ring of bytes */
	unsigned int nr;
	unsigned long head, tail;	/* byte positions, head - tail <= nr * PAGE_SIZE */
};

int pring_init(struct pring *r, struct page **slots, unsigned int nr, int nid, gfp_t gfp);
unsigned long pring_write(struct pring *r, const void *buf, unsigned long len);
unsigned long pring_read(struct pring *r, void *buf, unsigned long len);
void pring_destroy(struct pring *r);

int kc_block_roundtrip(unsigned int order, gfp_t gfp);
int kc_refcounts(void);
int kc_put_page_block(void);
int kc_compound(unsigned int order);
int kc_zeroed_page(void);
int kc_address_forms(unsigned int order);
int kc_exact(unsigned long size);
int kc_nodes(void);
int kc_policy_bind(int nid);
int kc_dma(void);

#endif

/* SPDX-License-Identifier: MIT */
/* Built with -Werror: <pagealloc/linux.h> after libnuma's <numaif.h> and
 * glibc's <sys/user.h> must not redefine anything differently. */
#include <numaif.h>
#include <sys/user.h>

#include <pagealloc/linux.h>

int coexist_numaif_first(void);
int coexist_numaif_first(void)
{
	return MPOL_BIND + (int)(PAGE_SIZE >> PAGE_SHIFT);
}

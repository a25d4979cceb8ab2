/* SPDX-License-Identifier: MIT */
/* Built with -Werror: the other order, linux.h before the system headers. */
#include <pagealloc/linux.h>

#include <numaif.h>
#include <stdlib.h>
#include <sys/user.h>
#include <unistd.h>

int coexist_linux_first(void);
int coexist_linux_first(void)
{
	return MPOL_INTERLEAVE + (int)(PAGE_MASK & 1);
}

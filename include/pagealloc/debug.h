/* SPDX-License-Identifier: MIT */
/* Debugging aids beyond the PAGEALLOC_DEBUG checks: the page owner report
 * (the kernel's /sys/kernel/debug/page_owner, grouped as page_owner_sort
 * does). */
#ifndef PAGEALLOC_DEBUG_H
#define PAGEALLOC_DEBUG_H

#include <pagealloc/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * With PAGEALLOC_DEBUG=owner (or PA_DEBUG_OWNER in pa_config.debug): write
 * every block still allocated to fd, grouped by identical allocation stack,
 * order and GFP mask, largest group first:
 *
 *   3 times, 12 pages:
 *   Page allocated via order 2, mask 0xcc0(PA_GFP_KERNEL), pid 41, tid 41, ts 1234567 ns
 *    ./prog(make_buffers+0x1d)[0x401a2d]
 *    ...
 *
 * Function names of the executable itself need it linked with -rdynamic
 * (backtrace_symbols_fd); library functions are named as they are.  Freed
 * blocks do not appear.  The same report goes to stderr at exit when
 * anything is still allocated.  Returns the number of blocks reported, or
 * -1 with errno ENOTSUP (owner tracking is off), EINVAL (fd < 0) or the
 * error of write(2).  Costs a walk of the pfn space; no allocation from the
 * library or from malloc.
 */
PA_API long pa_page_owner_dump(int fd);

#ifdef __cplusplus
}
#endif
#endif

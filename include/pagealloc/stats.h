/* SPDX-License-Identifier: MIT */
/* Statistics in the kernel's own /proc text layouts, so existing scripts
 * parse them.  Each pa_show_* returns 0, or -1 with errno (EINVAL for a NULL
 * stream, or the stream's error). */
#ifndef PAGEALLOC_STATS_H
#define PAGEALLOC_STATS_H

#include <stdio.h>

#include <pagealloc/export.h>

#ifdef __cplusplus
extern "C" {
#endif

PA_API int pa_show_buddyinfo(FILE *f);    /* /proc/buddyinfo */
PA_API int pa_show_zoneinfo(FILE *f);     /* /proc/zoneinfo, plus the backing of each section */
PA_API int pa_show_pagetypeinfo(FILE *f); /* /proc/pagetypeinfo */
PA_API int pa_show_vmstat(FILE *f);       /* /proc/vmstat */
PA_API int pa_show_numastat(FILE *f);     /* numastat(8)'s table */

/* One counter by the kernel's name: "nr_free_pages", "pgalloc_normal",
 * "pgfree", "numa_hit", ...  -1 with ENOENT for an unknown name, EINVAL for
 * NULL arguments. */
PA_API int pa_vmstat_get(const char *name, unsigned long *value);

#ifdef __cplusplus
}
#endif
#endif

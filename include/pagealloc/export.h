/* SPDX-License-Identifier: MIT */
#ifndef PAGEALLOC_EXPORT_H
#define PAGEALLOC_EXPORT_H
/* The one export macro: the library is built with -fvisibility=hidden and
 * only declarations marked PA_API are visible outside it. */
#if defined(PAGEALLOC_BUILDING) && defined(__GNUC__)
#define PA_API __attribute__((visibility("default")))
#else
#define PA_API
#endif
#endif

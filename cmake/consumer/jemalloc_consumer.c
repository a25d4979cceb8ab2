/* SPDX-License-Identifier: MIT */
/* An outside program on the installed libpagealloc-jemalloc: an arena on
 * node 0, an allocation on libpagealloc's pages, then the arena destroyed. */
#include <stdio.h>

#include <jemalloc/jemalloc.h>

#include <pagealloc/jemalloc.h>

int main(void)
{
    int a = pa_jemalloc_arena_create(PA_GFP_KERNEL, 0);
    if (a < 0) {
        perror("pa_jemalloc_arena_create");
        return 1;
    }
    char *p = mallocx(3000, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    if (!p || pa_jemalloc_node_of(p) != 0 || pa_jemalloc_arena_of(p) != a) {
        fprintf(stderr, "jemalloc_consumer: allocation not on libpagealloc's node 0\n");
        return 1;
    }
    p[2999] = 1;
    dallocx(p, MALLOCX_TCACHE_NONE);
    char name[64];
    snprintf(name, sizeof(name), "arena.%d.destroy", a);
    if (mallctl(name, NULL, NULL, NULL, 0) != 0) {
        fprintf(stderr, "jemalloc_consumer: %s failed\n", name);
        return 1;
    }
    printf("jemalloc_consumer: OK (arena %d)\n", a);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * A program with a known allocation pattern for the USDT tests: for each
 * "ORDER:COUNT" argument, COUNT blocks of that order are allocated (all
 * held at once) and then freed.  Nothing else allocates pages, so a tracer
 * counting mm_page_alloc / mm_page_free by order must see exactly these.
 * With --wait first, it sets the library up, then waits for a line on
 * stdin before allocating: time for a tracer to attach with -p.
 */
#include <pagealloc/pagealloc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--wait") == 0) {
        char line[16];
        first = 2;
        if (pa_init(NULL) != 0)
            return 1;
        printf("usdt_target: ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
            return 1;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: %s [--wait] ORDER:COUNT...\n", argv[0]);
        return 2;
    }
    for (int a = first; a < argc; a++) {
        char *end;
        unsigned long order = strtoul(argv[a], &end, 10), count;
        if (*end != ':' || order > PA_MAX_ORDER || (count = strtoul(end + 1, &end, 10)) == 0 || *end) {
            fprintf(stderr, "%s: bad argument \"%s\" (use ORDER:COUNT)\n", argv[0], argv[a]);
            return 2;
        }
        struct pa_page **pages = calloc(count, sizeof(*pages));
        if (!pages)
            return 1;
        for (unsigned long i = 0; i < count; i++)
            if (!(pages[i] = pa_alloc_pages(PA_GFP_KERNEL, (unsigned int)order))) {
                fprintf(stderr, "%s: order-%lu allocation %lu failed: errno %d\n", argv[0], order, i, errno);
                return 1;
            }
        for (unsigned long i = 0; i < count; i++)
            pa_free_pages(pages[i], (unsigned int)order);
        free(pages);
    }
    printf("usdt_target: done\n");
    return 0;
}

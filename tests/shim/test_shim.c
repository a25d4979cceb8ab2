/* SPDX-License-Identifier: MIT */
/*
 * Run under LD_PRELOAD=libpagealloc-preload.so (ctest does): checks the
 * shim's semantics against what the kernel guarantees.  Not linked with the
 * library; reaches the shim's counters through dlsym.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL
#define KB 1024UL
#define MB (1024UL * 1024UL)

static _Atomic int failures;
#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static void (*shim_stats)(unsigned long *, unsigned long *);

static unsigned long served(void)
{
    unsigned long s = 0, p = 0;
    shim_stats(&s, &p);
    return s;
}
static unsigned long passed(void)
{
    unsigned long s = 0, p = 0;
    shim_stats(&s, &p);
    return p;
}

static void *map_rw(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

static void fill(void *p, size_t len, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < len; i += 64)
        c[i] = (unsigned char)(seed + i / 64);
}
static int check_fill(const void *p, size_t len, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < len; i += 64)
        if (c[i] != (unsigned char)(seed + i / 64))
            return 0;
    return 1;
}
static int all_zero(const void *p, size_t len)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < len; i++)
        if (c[i])
            return 0;
    return 1;
}

/* 1 if touching addr (read or write) in a child process dies with SIGSEGV */
static int faults_in_child(volatile char *addr, int write)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (write)
            *addr = 1;
        else
            (void)*addr;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

static void test_served_and_passthrough(void)
{
    unsigned long s0 = served(), p0 = passed();
    char *p = map_rw(256 * KB);
    CHECK(served() == s0 + 1);
    CHECK(all_zero(p, 256 * KB));
    fill(p, 256 * KB, 3);
    CHECK(check_fill(p, 256 * KB, 3));
    CHECK(munmap(p, 256 * KB) == 0);

    /* exact sizing: 3 pages + 1 byte over the threshold, not a power of two */
    p = map_rw(64 * KB + 3 * PG + 1);
    CHECK(served() == s0 + 2);
    memset(p, 0x5a, 64 * KB + 3 * PG + 1);
    CHECK(munmap(p, 64 * KB + 3 * PG + 1) == 0);

    /* small mapping: passes through */
    char *q = map_rw(16 * KB);
    CHECK(served() == s0 + 2);
    CHECK(passed() >= p0 + 1);
    q[0] = 1;
    CHECK(munmap(q, 16 * KB) == 0);

    /* MAP_SHARED passes through and is shared with a child */
    volatile int *sh = mmap(NULL, 1 * MB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    CHECK(served() == s0 + 2);
    pid_t pid = fork();
    if (pid == 0) {
        sh[100] = 42;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK(sh[100] == 42);
    CHECK(munmap((void *)sh, 1 * MB) == 0);

    /* PROT_NONE + MAP_NORESERVE reservation, then commit with MAP_FIXED */
    char *r = mmap(NULL, 2 * MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(r != MAP_FAILED);
    CHECK(served() == s0 + 2);
    char *c = mmap(r + 64 * KB, 128 * KB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(c == r + 64 * KB);
    c[5] = 7;
    CHECK(faults_in_child(r, 0));
    CHECK(munmap(r, 2 * MB) == 0);

    /* MAP_STACK, file-backed, over 4 MiB: pass through */
    char *st = mmap(NULL, 256 * KB, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    CHECK(st != MAP_FAILED && served() == s0 + 2);
    munmap(st, 256 * KB);
    char *big = map_rw(8 * MB);
    CHECK(served() == s0 + 2);
    big[8 * MB - 1] = 1;
    munmap(big, 8 * MB);
    FILE *f = tmpfile();
    CHECK(f && ftruncate(fileno(f), 128 * KB) == 0);
    char *fm = mmap(NULL, 128 * KB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fileno(f), 0);
    CHECK(fm != MAP_FAILED && served() == s0 + 2);
    munmap(fm, 128 * KB);
    fclose(f);

    /* errno like the kernel's */
    errno = 0;
    CHECK(munmap((char *)p + 1, PG) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
}

static void test_partial_munmap(void)
{
    char *p = map_rw(1 * MB);
    fill(p, 1 * MB, 9);
    /* hole in the middle, then the head, then the rest */
    CHECK(munmap(p + 256 * KB, 128 * KB) == 0);
    CHECK(check_fill(p, 256 * KB, 9));
    CHECK(check_fill(p + 384 * KB, 640 * KB, 9 + 384 * KB / 64));
    CHECK(munmap(p, 64 * KB) == 0);
    CHECK(check_fill(p + 64 * KB, 192 * KB, 9 + 64 * KB / 64));
    /* the freed hole is reusable: new served mappings come back zeroed */
    char *n = map_rw(128 * KB);
    CHECK(all_zero(n, 128 * KB));
    CHECK(munmap(n, 128 * KB) == 0);
    /* munmap spanning served memory and already-unmapped holes */
    CHECK(munmap(p, 1 * MB) == 0);
    /* a second munmap of the same range (the kernel allows it) must not
     * punch holes into memory the allocator hands out later */
    CHECK(munmap(p, 1 * MB) == 0);
    CHECK(madvise(p, 1 * MB, MADV_DONTFORK) == 0 || errno == ENOMEM);
    for (int i = 0; i < 64; i++) {
        char *q = map_rw(1 * MB);
        memset(q, i, 1 * MB);
        CHECK(!faults_in_child(q + (size_t)i * 16 * KB, 1));
        munmap(q, 1 * MB);
    }
}

static void test_mremap(void)
{
    char *p = map_rw(256 * KB);
    fill(p, 256 * KB, 11);
    /* shrink in place */
    char *q = mremap(p, 256 * KB, 128 * KB, 0);
    CHECK(q == p);
    CHECK(check_fill(q, 128 * KB, 11));
    /* grow without MAYMOVE may fail (ENOMEM) like the kernel; with it, moves */
    char *g = mremap(q, 128 * KB, 1 * MB, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED);
    CHECK(check_fill(g, 128 * KB, 11));
    CHECK(all_zero(g + 128 * KB, 1 * MB - 128 * KB));
    g[1 * MB - 1] = 3;
    /* grow past 4 MiB: goes to the kernel, contents kept */
    char *h = mremap(g, 1 * MB, 6 * MB, MREMAP_MAYMOVE);
    CHECK(h != MAP_FAILED);
    CHECK(check_fill(h, 128 * KB, 11) && h[1 * MB - 1] == 3);
    CHECK(munmap(h, 6 * MB) == 0);

    /* MREMAP_FIXED onto a reserved area */
    char *a = map_rw(512 * KB);
    fill(a, 512 * KB, 13);
    char *dst = mmap(NULL, 1 * MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(dst != MAP_FAILED);
    char *m = mremap(a, 512 * KB, 768 * KB, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    CHECK(m == dst);
    CHECK(check_fill(m, 512 * KB, 13));
    m[768 * KB - 1] = 1;
    CHECK(munmap(dst, 1 * MB) == 0);

    /* MREMAP_FIXED from a served range onto another served range */
    char *x = map_rw(256 * KB), *y = map_rw(256 * KB);
    fill(x, 256 * KB, 17);
    fill(y, 256 * KB, 19);
    char *z = mremap(x, 256 * KB, 256 * KB, MREMAP_MAYMOVE | MREMAP_FIXED, y);
    CHECK(z == y && check_fill(y, 256 * KB, 17));
    CHECK(munmap(y, 256 * KB) == 0);

    /* a sub-range of a served range moves */
    char *s = map_rw(512 * KB);
    fill(s, 512 * KB, 23);
    char *t = mremap(s + 128 * KB, 128 * KB, 256 * KB, MREMAP_MAYMOVE);
    CHECK(t != MAP_FAILED && check_fill(t, 128 * KB, 23 + 128 * KB / 64));
    CHECK(check_fill(s, 128 * KB, 23) && check_fill(s + 256 * KB, 256 * KB, 23 + 256 * KB / 64));
    munmap(t, 256 * KB);
    munmap(s, 512 * KB);

    errno = 0;
    char *bad = map_rw(128 * KB);
    CHECK(mremap(bad, 128 * KB, 0, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL);
    munmap(bad, 128 * KB);
}

static void test_map_fixed_over_served(void)
{
    char *p = map_rw(512 * KB);
    fill(p, 512 * KB, 29);
    /* anonymous MAP_FIXED in the middle: fresh zero pages there, rest kept */
    char *f = mmap(p + 128 * KB, 128 * KB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(f == p + 128 * KB);
    CHECK(all_zero(f, 128 * KB));
    CHECK(check_fill(p, 128 * KB, 29));
    CHECK(check_fill(p + 256 * KB, 256 * KB, 29 + 256 * KB / 64));
    /* PROT_NONE MAP_FIXED over part of it: faults there */
    char *n = mmap(p + 384 * KB, 64 * KB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(n == p + 384 * KB);
    CHECK(faults_in_child(n, 0));
    /* file-backed MAP_FIXED over the tail */
    FILE *tf = tmpfile();
    CHECK(tf && fwrite("abcdef", 1, 6, tf) == 6 && fflush(tf) == 0);
    char *fm = mmap(p + 448 * KB, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fileno(tf), 0);
    CHECK(fm == p + 448 * KB && memcmp(fm, "abcdef", 6) == 0);
    fclose(tf);
    CHECK(munmap(p, 512 * KB) == 0);
    /* the allocator still works afterwards */
    char *again = map_rw(512 * KB);
    CHECK(all_zero(again, 512 * KB));
    munmap(again, 512 * KB);
}

static void test_madvise(void)
{
    char *p = map_rw(256 * KB);
    memset(p, 0xab, 256 * KB);
    CHECK(madvise(p + 64 * KB, 64 * KB, MADV_DONTNEED) == 0);
    CHECK(all_zero(p + 64 * KB, 64 * KB));
    CHECK(p[0] == (char)0xab && p[128 * KB] == (char)0xab);
    CHECK(madvise(p, 256 * KB, MADV_FREE) == 0);
    CHECK(madvise(p, 256 * KB, MADV_HUGEPAGE) == 0 || errno == EINVAL);
    CHECK(madvise(p, 256 * KB, MADV_DONTFORK) == 0);
    p[0] = 1;
    CHECK(p[0] == 1);
    CHECK(munmap(p, 256 * KB) == 0);
}

static void test_mprotect(void)
{
    char *p = map_rw(256 * KB);
    memset(p, 1, 256 * KB);
    CHECK(mprotect(p + 64 * KB, 64 * KB, PROT_READ) == 0);
    CHECK(p[64 * KB] == 1);
    CHECK(faults_in_child(p + 64 * KB, 1));
    CHECK(!faults_in_child(p, 1));
    CHECK(!faults_in_child(p + 128 * KB, 1));
    /* DONTNEED on a read-only served range still reads back as zeros */
    CHECK(madvise(p + 64 * KB, 4 * PG, MADV_DONTNEED) == 0);
    CHECK(all_zero(p + 64 * KB, 4 * PG));
    CHECK(mprotect(p, 256 * KB, PROT_NONE) == 0);
    CHECK(faults_in_child(p + 200 * KB, 0));
    /* freeing a protected range gives the pages back usable */
    CHECK(munmap(p, 256 * KB) == 0);
    for (int i = 0; i < 8; i++) {
        char *q = map_rw(256 * KB);
        CHECK(all_zero(q, 256 * KB));
        memset(q, 2, 256 * KB);
        munmap(q, 256 * KB);
    }
}

static void test_fork(void)
{
    char *p = map_rw(512 * KB);
    fill(p, 512 * KB, 31);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = check_fill(p, 512 * KB, 31);
        unsigned long s0 = served();
        for (int i = 0; i < 200; i++) {
            char *q = map_rw(64 * KB + (size_t)(i % 7) * PG);
            q[0] = (char)i;
            ok &= q[0] == (char)i;
            if (i % 2)
                munmap(q, 64 * KB + (size_t)(i % 7) * PG);
        }
        if (!ok)
            _exit(1);
        if (served() != s0 + 200) {
            fprintf(stderr, "child: served %lu, want %lu\n", served(), s0 + 200);
            _exit(2);
        }
        _exit(munmap(p, 512 * KB) == 0 ? 0 : 3);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "child status %#x\n", st);
    /* the parent's copy is untouched */
    CHECK(check_fill(p, 512 * KB, 31));
    munmap(p, 512 * KB);
}

/* threads map, touch, trim and unmap concurrently; one of them forks */
static void *thread_main(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg, seed = id * 7919u + 1;
    long bad = 0;
    for (int i = 0; i < 1500; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = 64 * KB + (size_t)(seed % 200) * PG;
        char *p = map_rw(len);
        fill(p, len, id + (unsigned)i);
        if (!check_fill(p, len, id + (unsigned)i))
            bad++;
        if (i % 3 == 0) {
            CHECK(munmap(p + 16 * KB, 16 * KB) == 0);
            CHECK(munmap(p, 16 * KB) == 0);
            CHECK(munmap(p + 32 * KB, len - 32 * KB) == 0);
        } else if (i % 3 == 1) {
            char *q = mremap(p, len, len + 64 * KB, MREMAP_MAYMOVE);
            CHECK(q != MAP_FAILED);
            if (!check_fill(q, len, id + (unsigned)i))
                bad++;
            CHECK(munmap(q, len + 64 * KB) == 0);
        } else {
            CHECK(munmap(p, len) == 0);
        }
        if (id == 0 && i % 300 == 0) {
            pid_t pid = fork();
            if (pid == 0) {
                char *c = map_rw(128 * KB);
                c[0] = 1;
                munmap(c, 128 * KB);
                _exit(0);
            }
            int st;
            waitpid(pid, &st, 0);
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
    }
    return (void *)bad;
}

static void test_threads(void)
{
    pthread_t t[4];
    for (unsigned i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thread_main, (void *)(uintptr_t)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
}

static unsigned long (*shim_counter)(const char *);

/* A whole served mapping unmapped and mapped again at the same length comes
 * from the shim's cache of scrubbed ranges: it must read as zeros wherever
 * the previous owner wrote, whatever the pattern. */
static void test_cache_zeroes(void)
{
    unsigned long h0 = shim_counter("cache_hits");
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        size_t len = 64 * KB + (size_t)(round % 5) * 64 * KB;
        unsigned char *p = map_rw(len);
        if (!all_zero(p, len)) {
            CHECK(!"served mapping not zero");
            break;
        }
        switch (round % 4) {
        case 0: memset(p, 0xff, len); break;                      /* everything */
        case 1: p[len - 1] = 1; break;                            /* last byte */
        case 2:
            for (int k = 0; k < 64; k++) {                        /* scattered */
                seed = seed * 1103515245u + 12345u;
                p[seed % len] = (unsigned char)(seed | 1);
            }
            break;
        default: p[0] = 1; p[len / 2 + 7] = 2; break;
        }
        CHECK(munmap(p, len) == 0);
    }
    /* PAGEALLOC_SHIM_CACHE=0 (the _nocache run) turns the cache off */
    const char *c = getenv("PAGEALLOC_SHIM_CACHE");
    if (c && strcmp(c, "0") == 0)
        CHECK(shim_counter("cache_hits") == h0);
    else
        CHECK(shim_counter("cache_hits") > h0);
}

/* mremap grows in place into a cached range that follows the mapping (the
 * kernel grows a VMA in place too); the new part reads as zeros and the old
 * contents stay.  The neighbour is made by splitting one served mapping with
 * mprotect (the shim keeps the two entries apart after the protection is set
 * back) and unmapping the upper entry whole, which caches it (the cache is
 * empty when this runs: main calls it first). */
static void test_grow_in_place(void)
{
    const char *c = getenv("PAGEALLOC_SHIM_CACHE");
    int cache_on = !(c && strcmp(c, "0") == 0);
    unsigned long g0 = shim_counter("grown_in_place"), s0 = served(), f0 = shim_counter("fallback");
    char *lo = map_rw(128 * KB), *hi = lo + 64 * KB;
    if (served() != s0 + 1) {
        /* the allocator could not serve it (the shim fell back to the
         * kernel, as it must when the arenas cannot grow): nothing to test */
        CHECK(shim_counter("fallback") == f0 + 1);
        fprintf(stderr, "test_grow_in_place: skipped, the mapping was not served\n");
        munmap(lo, 128 * KB);
        return;
    }
    fill(lo, 64 * KB, 41);
    memset(hi, 0x77, 64 * KB);
    CHECK(mprotect(hi, 64 * KB, PROT_READ) == 0);
    CHECK(mprotect(hi, 64 * KB, PROT_READ | PROT_WRITE) == 0);
    CHECK(munmap(hi, 64 * KB) == 0);
    char *g = mremap(lo, 64 * KB, 96 * KB, 0);
    if (cache_on) {
        CHECK(g == lo);
        CHECK(shim_counter("grown_in_place") == g0 + 1);
        if (g == lo) {
            CHECK(check_fill(g, 64 * KB, 41));
            CHECK(all_zero(g + 64 * KB, 32 * KB));
            g[96 * KB - 1] = 5;
            CHECK(munmap(g, 96 * KB) == 0);

        }
    } else {
        /* nothing cached: without MREMAP_MAYMOVE the kernel's ENOMEM */
        CHECK(g == MAP_FAILED && errno == ENOMEM);
        CHECK(munmap(lo, 64 * KB) == 0);
    }
    /* An entry grown past the longest cached length (4 MiB), unmapped whole,
     * must go back to the allocator, not index the cache past its classes:
     * two 4 MiB mappings next to each other (buddies, likely in a fresh
     * arena), the upper one cached, the lower one grown into it. */
    if (cache_on) {
        char *y = map_rw(4 * MB), *z = map_rw(4 * MB);
        if (y == z + 4 * MB) {   /* the lower one grows */
            char *t = y;
            y = z;
            z = t;
        }
        if (z == y + 4 * MB) {
            memset(z, 1, 4 * MB);
            CHECK(munmap(z, 4 * MB) == 0);
            char *w = mremap(y, 4 * MB, 8 * MB, 0);
            CHECK(w == y);
            if (w == y) {
                CHECK(all_zero(w + 4 * MB, 4 * MB));
                CHECK(munmap(w, 8 * MB) == 0);
            }
        } else {
            fprintf(stderr, "test_grow_in_place: two 4 MiB mappings not adjacent, 8 MiB case skipped\n");
            munmap(y, 4 * MB);
            munmap(z, 4 * MB);
        }
    }
    /* the upper 32 KiB of the cached range went back to the allocator:
     * everything handed out afterwards is usable and zero */
    for (int i = 0; i < 16; i++) {
        char *q = map_rw(32 * KB + 64 * KB);
        CHECK(all_zero(q, 96 * KB));
        memset(q, 9, 96 * KB);
        munmap(q, 96 * KB);
    }
}

/* Signal handlers that map and unmap while their thread is inside the shim:
 * no deadlock (the test would time out), no arena hole, no lost data.  The
 * handler unmaps what it mapped on its previous run (often served) and maps
 * a new one; a served range unmapped from a handler that interrupted the
 * shim is queued and freed when the interrupted call returns. */
static _Atomic int stop_hammer;
static char *volatile handler_prev;
static volatile sig_atomic_t handler_runs;

static void map_handler(int sig)
{
    (void)sig;
    int saved = errno;
    char *p = mmap(NULL, 128 * KB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        p[0] = 1;
        p[128 * KB - 1] = 2;
    }
    if (handler_prev)
        munmap(handler_prev, 128 * KB);
    handler_prev = p == MAP_FAILED ? NULL : p;
    handler_runs++;
    errno = saved;
}

static void *hammer_main(void *arg)
{
    (void)arg;
    long bad = 0;
    for (unsigned i = 0; !atomic_load(&stop_hammer); i++) {
        if (i % 2) {
            /* mostly inside the shim: a long scrub at munmap */
            size_t len = 1 * MB + (size_t)(i % 7) * PG;
            char *p = map_rw(len);
            for (size_t k = 0; k < len; k += PG)
                p[k] = (char)i;
            if (p[len - PG] != (char)i)
                bad++;
            CHECK(munmap(p, len) == 0);
            continue;
        }
        size_t len = 64 * KB + (size_t)(i % 9) * PG;
        char *p = map_rw(len);
        fill(p, len, i);
        if (!check_fill(p, len, i))
            bad++;
        if (i % 4 == 0) {
            CHECK(munmap(p + 32 * KB, 16 * KB) == 0);
            CHECK(munmap(p, 32 * KB) == 0);
            CHECK(munmap(p + 48 * KB, len - 48 * KB) == 0);
        } else {
            CHECK(munmap(p, len) == 0);
        }
    }
    return (void *)bad;
}

static void test_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = map_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    unsigned long d0 = shim_counter("deferred");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hammer_main, NULL) == 0);
    /* One signal at a time, each after a pseudo-random pause of 0-63 us, so
     * that signals land at random points of the hammer (which spends most of
     * its time inside the shim) instead of flooding it: back-to-back signals
     * are taken at the end of the previous handler, outside the shim.  Until
     * 20 handlers ran inside the shim, or 30 s have passed on a loaded
     * machine; at least one deferral is required (without one the path under
     * test never ran). */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned rng = 12345;
    for (long n = 0;; n++) {
        sig_atomic_t runs = handler_runs;
        pthread_kill(t, SIGUSR1);
        for (int spin = 0; handler_runs == runs && spin < 100000; spin++)
            if (spin % 256 == 255)
                sched_yield();
        rng = rng * 1103515245u + 12345u;
        struct timespec p0, p1;
        clock_gettime(CLOCK_MONOTONIC, &p0);
        long pause_ns = (long)((rng >> 16) % 64) * 1000;
        do
            clock_gettime(CLOCK_MONOTONIC, &p1);
        while ((p1.tv_sec - p0.tv_sec) * 1000000000L + (p1.tv_nsec - p0.tv_nsec) < pause_ns);
        if (n % 64 != 0)
            continue;
        if (shim_counter("deferred") >= d0 + 20)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= 30)
            break;
    }
    atomic_store(&stop_hammer, 1);
    void *r;
    pthread_join(t, &r);
    CHECK(r == NULL);
    CHECK(shim_counter("deferred") >= d0 + 1);
    CHECK(shim_counter("defer_lost") == 0);
    signal(SIGUSR1, SIG_IGN);
    if (handler_prev)
        CHECK(munmap(handler_prev, 128 * KB) == 0);
    fprintf(stderr, "test_signals: %ld handler runs, %lu unmaps deferred\n", (long)handler_runs,
            shim_counter("deferred") - d0);
    /* no arena hole: every range the allocator hands out is usable */
    for (int i = 0; i < 64; i++) {
        char *q = map_rw(1 * MB);
        CHECK(all_zero(q, 1 * MB));
        memset(q, i, 1 * MB);
        munmap(q, 1 * MB);
    }
}

/* ------------------------------------------------------------------ */
/* The kernel's guarantees after munmap                                */
/* ------------------------------------------------------------------ */

/* PAGEALLOC_SHIM_PROTECT=no (the _noprotect run) keeps unmapped ranges
 * accessible; every other run must fault on them. */
static int protect_on(void)
{
    const char *v = getenv("PAGEALLOC_SHIM_PROTECT");
    return !(v && (strcmp(v, "no") == 0 || strcmp(v, "0") == 0));
}

static int cache_on(void)
{
    const char *c = getenv("PAGEALLOC_SHIM_CACHE");
    return !(c && strcmp(c, "0") == 0);
}

/* Faults on reads and writes, or (without protection) at least no crash. */
static void check_unmapped(char *p, const char *what)
{
    if (!protect_on())
        return;
    if (!faults_in_child(p, 0) || !faults_in_child(p, 1))
        fprintf(stderr, "no fault on %s at %p\n", what, (void *)p);
    CHECK(faults_in_child(p, 0));
    CHECK(faults_in_child(p, 1));
}

static void test_unmap_faults(void)
{
    static const size_t lens[] = { 64 * KB, 192 * KB, 1 * MB, 4 * MB };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        unsigned long s0 = served();
        char *p = map_rw(lens[i]);
        CHECK(served() == s0 + 1);
        memset(p, 0x77, lens[i]);
        CHECK(munmap(p, lens[i]) == 0);
        check_unmapped(p, "a whole unmapped range");
        check_unmapped(p + lens[i] - 1, "the last byte of an unmapped range");
        /* the calls the kernel refuses on unmapped memory */
        errno = 0;
        CHECK(mprotect(p, lens[i], PROT_READ | PROT_WRITE) == -1 && errno == ENOMEM);
        errno = 0;
        CHECK(madvise(p, lens[i], MADV_DONTNEED) == -1 && errno == ENOMEM);
        errno = 0;
        CHECK(mremap(p, lens[i], 2 * lens[i], MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT);
        check_unmapped(p, "an unmapped range after mprotect, madvise and mremap on it");
    }
    /* a hole made by a partial munmap, and the rest still usable */
    char *p = map_rw(1 * MB);
    fill(p, 1 * MB, 41);
    CHECK(munmap(p + 256 * KB, 128 * KB) == 0);
    check_unmapped(p + 256 * KB, "a hole");
    check_unmapped(p + 384 * KB - 1, "the end of a hole");
    CHECK(!faults_in_child(p + 256 * KB - 1, 1) && !faults_in_child(p + 384 * KB, 1));
    CHECK(check_fill(p + 384 * KB, 640 * KB, 41 + 384 * KB / 64));
    /* the tail an mremap shrink cut off */
    char *q = mremap(p + 384 * KB, 640 * KB, 128 * KB, 0);
    CHECK(q == p + 384 * KB);
    check_unmapped(p + 512 * KB, "an mremap-shrunk tail");
    check_unmapped(p + 1 * MB - 1, "the end of an mremap-shrunk tail");
    CHECK(check_fill(q, 128 * KB, 41 + 384 * KB / 64));
    CHECK(munmap(p, 1 * MB) == 0);
    check_unmapped(p, "a range unmapped in pieces");
    /* a fresh mapping after all that reads zero */
    for (int k = 0; k < 8; k++) {
        char *n = map_rw(128 * KB);
        CHECK(all_zero(n, 128 * KB));
        munmap(n, 128 * KB);
    }
}

/* A thread writes through a stale pointer after another thread unmapped
 * the range: the write faults (or, without protection, lands somewhere no
 * fresh mapping shows).  Run in a child, which catches its own faults. */
static __thread sigjmp_buf stale_jmp;
static __thread volatile int stale_armed;

static void stale_segv(int sig)
{
    if (stale_armed) {
        stale_armed = 0;
        siglongjmp(stale_jmp, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

struct stale {
    char *volatile addr;
    size_t len;
    int wrote, faulted;
};

static void *stale_writer(void *arg)
{
    struct stale *w = arg;
    for (volatile size_t off = 0; off < w->len; off += 4 * KB + 64) {
        if (sigsetjmp(stale_jmp, 1) == 0) {
            stale_armed = 1;
            w->addr[off] = 0x5a;
            stale_armed = 0;
            w->wrote++;
        } else {
            w->faulted++;
        }
    }
    return NULL;
}

static int stale_child(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stale_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    int bad = 0, reused = 0;
    for (int round = 0; round < 40; round++) {
        size_t len = (round % 2 ? 64 : 128) * KB;
        char *p = map_rw(len);
        memset(p, 0x11, len);
        struct stale w = { .addr = p, .len = len };
        if (munmap(p, len) != 0)
            return 10;
        pthread_t t;
        pthread_create(&t, NULL, stale_writer, &w);
        pthread_join(t, NULL);
        if (protect_on() && w.wrote != 0) {
            fprintf(stderr, "stale writes after munmap did not fault: %d\n", w.wrote);
            bad = 1;
        }
        /* the next mappings of that length (the first takes the range back
         * when the cache is on) read zero */
        char *n[3];
        for (int k = 0; k < 3; k++) {
            n[k] = map_rw(len);
            reused += n[k] == p;
            if (!all_zero(n[k], len)) {
                fprintf(stderr, "fresh mapping not zero after a stale write\n");
                bad = 1;
            }
        }
        for (int k = 0; k < 3; k++)
            munmap(n[k], len);
    }
    if (cache_on() && reused == 0) {
        fprintf(stderr, "the unmapped range was never reused: the test proves nothing\n");
        bad = 1;
    }
    return bad;
}

static void test_stale_write_cross_thread(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(stale_child());
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* MAP_FIXED_NOREPLACE into a hole of a served range maps it, as the kernel
 * does; onto served memory it fails with EEXIST. */
static void test_fixed_noreplace_hole(void)
{
    char *p = map_rw(256 * KB);
    fill(p, 256 * KB, 43);
    errno = 0;
    CHECK(mmap(p + 64 * KB, 64 * KB, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED &&
          errno == EEXIST);
    CHECK(munmap(p + 64 * KB, 64 * KB) == 0);
    if (cache_on()) {
        /* the hole's pages wait in the cache; with the cache off they are
         * back in the allocator and the shim cannot choose them (a
         * documented limit) */
        char *h = mmap(p + 64 * KB, 64 * KB, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(h == p + 64 * KB);
        if (h == p + 64 * KB) {
            CHECK(all_zero(h, 64 * KB));
            memset(h, 5, 64 * KB);
            CHECK(check_fill(p, 64 * KB, 43) && check_fill(p + 128 * KB, 128 * KB, 43 + 128 * KB / 64));
            /* a read-only one into a second hole */
            CHECK(munmap(p + 192 * KB, 32 * KB) == 0);
            char *r = mmap(p + 192 * KB, 32 * KB, PROT_READ,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            CHECK(r == p + 192 * KB);
            if (r == p + 192 * KB) {
                CHECK(all_zero(r, 32 * KB));
                CHECK(faults_in_child(r, 1) && !faults_in_child(r, 0));
            }
        }
    }
    CHECK(munmap(p, 256 * KB) == 0);
    check_unmapped(p + 64 * KB, "a range mapped again into a hole, then unmapped");
}

/* PAGEALLOC_SHIM_TEST_SHRINK=1 (the shim_shrinker run, with a 64 MiB node):
 * fill the range cache, then map more than the free memory left.  The
 * library reclaims, its shrinker releases cached ranges, and every mapping
 * is served (none falls back to the kernel).
 *
 * The shrinker is asked by kswapd: direct reclaim at its first priority
 * scans a cache this small not at all (freeable >> 12 is below the batch,
 * as in the kernel's do_shrink_slab) and stops once the LRU gave it its
 * pages.  So the program pauses between mappings, as a program that does
 * anything besides mapping would, and kswapd gets a CPU even when the
 * machine's are busy; mapping back to back on a loaded machine, the first
 * failure would drain the whole cache from mmap before kswapd ever ran. */
static void test_shrinker(void)
{
    enum { NKEEP = 512 };
    static char *keep[NKEEP];
    unsigned long r0 = shim_counter("cache_released"), f0 = shim_counter("fallback");
    for (int k = 0; k < 8; k++) {
        size_t len = 512 * KB + (size_t)k * 64 * KB;
        char *m[8];
        for (int j = 0; j < 8; j++) {
            m[j] = map_rw(len);
            memset(m[j], 0x33, len);
        }
        for (int j = 0; j < 8; j++)
            munmap(m[j], len);
    }
    size_t total = 0;
    int n = 0;
    for (; n < NKEEP && total < 44 * MB; n++) {
        unsigned long f = shim_counter("fallback");
        keep[n] = map_rw(192 * KB);
        if (shim_counter("fallback") != f)
            fprintf(stderr, "test_shrinker: mapping %d (%zu MiB in) fell back, %lu pages released so far\n",
                    n, total / MB, shim_counter("cache_released") - r0);
        CHECK(all_zero(keep[n], 192 * KB));
        memset(keep[n], 1, 192 * KB);
        total += 192 * KB;
        usleep(500);
    }
    CHECK(shim_counter("fallback") == f0);
    CHECK(shim_counter("cache_released") > r0);
    fprintf(stderr, "test_shrinker: %zu MiB mapped, %lu pages released by the shrinker, %lu drained by mmap, %lu fallbacks\n",
            total / MB, shim_counter("cache_released") - r0, shim_counter("cache_drained"),
            shim_counter("fallback") - f0);
    for (int i = 0; i < n; i++)
        munmap(keep[i], 192 * KB);
}

int main(void)
{
    *(void **)&shim_stats = dlsym(RTLD_DEFAULT, "pa_shim_stats");
    if (!shim_stats) {
        fprintf(stderr, "pa_shim_stats not found: run with LD_PRELOAD=libpagealloc-preload.so\n");
        return 1;
    }
    *(void **)&shim_counter = dlsym(RTLD_DEFAULT, "pa_shim_counter");
    CHECK(shim_counter != NULL);
    /* first: the cache is empty, so the range it unmaps is cached for sure
     * (later tests leave the cache full) */
    if (shim_counter)
        test_grow_in_place();
    if (getenv("PAGEALLOC_SHIM_TEST_SHRINK")) {
        if (shim_counter)
            test_shrinker();
        printf("test_shim (shrinker): %d failure(s)\n", failures);
        return failures ? 1 : 0;
    }
    test_unmap_faults();
    test_stale_write_cross_thread();
    test_fixed_noreplace_hole();
    test_served_and_passthrough();
    test_partial_munmap();
    test_mremap();
    test_map_fixed_over_served();
    test_madvise();
    test_mprotect();
    test_fork();
    test_threads();
    if (shim_counter) {
        test_cache_zeroes();
        test_signals();
    }
    printf("test_shim: served %lu passed %lu, %d failure(s)\n", served(), passed(), failures);
    return failures ? 1 : 0;
}

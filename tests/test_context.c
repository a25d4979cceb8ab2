/* SPDX-License-Identifier: MIT */
/*
 * Scoped allocation contexts (src/context.c, current_gfp_context on the
 * slow path): a NOIO scope keeps shrinkers that need I/O out of reclaim
 * and they see the narrowed mask, NOFS likewise for file-system shrinkers,
 * the noreclaim scope (PF_MEMALLOC) skips reclaim and may use the
 * reserves, reclaim never recurses from inside reclaim, and unbalanced,
 * out-of-order or mismatched restores are refused.
 */
#include "pa_test.h"

#include "internal.h"

/* Allocations that neither wake kswapd nor reclaim: to fill memory. */
#define GFP_FILL ((PA_GFP_KERNEL & ~PA_GFP_RECLAIM) | PA_GFP_NOWARN)
/* Direct reclaim without kswapd (so only this thread's reclaim runs the
 * shrinkers), giving up after one round. */
#define GFP_DIRECT (PA_GFP_DIRECT_RECLAIM | PA_GFP_IO | PA_GFP_FS | PA_GFP_NORETRY | PA_GFP_NOWARN)

static void setup(void)
{
    t_env_reset();
    t_setenv("PAGEALLOC_DMA_SIZE", "0");
    t_setenv("PAGEALLOC_NODE_SIZE", "32M");
    ck_assert_int_eq(pa_init(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* A cache whose shrinker needs some gfp bits to write its pages back   */
/* ------------------------------------------------------------------ */

struct cache {
    struct t_page_cache pc;      /* its lock guards the fields below too */
    pa_gfp_t needs;              /* bits the shrinker needs to free anything */
    unsigned long direct_scans;  /* scan calls from direct reclaim */
    unsigned long refused, freed;
    pa_gfp_t last_gfp;           /* mask of the last direct scan */
    bool allocate_inside;        /* scan_objects allocates (recursion test) */
    int max_depth;               /* deepest nesting of scan calls in one thread */
    unsigned long inner_ok;
    struct pa_shrinker *s;
};

static unsigned long cache_count(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    (void)sc;
    struct cache *c = s->private_data;
    return t_page_cache_count(&c->pc);
}

static __thread int scan_depth;   /* scan calls in progress in this thread */

static unsigned long cache_scan(struct pa_shrinker *s, struct pa_shrink_control *sc)
{
    struct cache *c = s->private_data;
    bool kswapd = pa_thread()->pf_flags & PF_KSWAPD;
    if (++scan_depth > c->max_depth && !kswapd)
        c->max_depth = scan_depth;
    if (c->allocate_inside && !kswapd) {
        /* a shrinker that needs memory itself: must not re-enter reclaim */
        struct pa_page *p = pa_alloc_pages(PA_GFP_KERNEL | PA_GFP_NOWARN, 0);
        if (p) {
            c->inner_ok++;
            pa_free_pages(p, 0);
        }
    }
    pthread_mutex_lock(&c->pc.lock);
    if (!kswapd) {
        c->direct_scans++;
        c->last_gfp = sc->gfp_mask;
    }
    unsigned long done = 0;
    if ((sc->gfp_mask & c->needs) != c->needs) {
        c->refused++;
        pthread_mutex_unlock(&c->pc.lock);
        scan_depth--;
        return PA_SHRINK_STOP;
    }
    done = t_page_cache_free_locked(&c->pc, sc->nr_to_scan);
    c->freed += done;
    pthread_mutex_unlock(&c->pc.lock);
    scan_depth--;
    return done;
}

/* Fill memory with the cache's pages, then register its shrinker. */
static void cache_fill(struct cache *c, pa_gfp_t needs)
{
    memset(c, 0, sizeof(*c));
    t_page_cache_init(&c->pc);
    c->needs = needs;
    for (;;) {
        struct pa_page *p = pa_alloc_pages(GFP_FILL, 0);
        if (!p)
            break;
        t_page_cache_push(&c->pc, p);
    }
    ck_assert_uint_gt(c->pc.n, 1000);
    c->s = pa_shrinker_alloc(0, "io-cache");
    ck_assert_ptr_nonnull(c->s);
    c->s->count_objects = cache_count;
    c->s->scan_objects = cache_scan;
    c->s->private_data = c;
    pa_shrinker_register(c->s);
}

static void cache_drop(struct cache *c)
{
    pa_shrinker_free(c->s);
    t_page_cache_drop(&c->pc);
}

/* Allocate up to n pages with gfp, keeping them; returns how many. */
static size_t grab(struct t_blocks *l, pa_gfp_t gfp, size_t n)
{
    size_t got = 0;
    for (; got < n; got++) {
        struct pa_page *p = pa_alloc_pages(gfp, 0);
        if (!p)
            break;
        t_blocks_push(l, p, 0);
    }
    return got;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_masks)
{
    setup();
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL), PA_GFP_KERNEL);
    unsigned int fs = pa_memalloc_nofs_save();
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL), PA_GFP_NOFS);
    unsigned int io = pa_memalloc_noio_save();
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL), PA_GFP_NOIO);
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL | PA_GFP_ZERO), PA_GFP_NOIO | PA_GFP_ZERO);
    /* nested noio: the inner restore keeps the outer scope */
    unsigned int io2 = pa_memalloc_noio_save();
    ck_assert_int_eq(pa_memalloc_noio_restore(io2), 0);
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL), PA_GFP_NOIO);
    ck_assert_int_eq(pa_memalloc_noio_restore(io), 0);
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL), PA_GFP_NOFS);
    ck_assert_int_eq(pa_memalloc_nofs_restore(fs), 0);
    ck_assert_uint_eq(pa_current_gfp_context(PA_GFP_KERNEL), PA_GFP_KERNEL);
    ck_assert_uint_eq(pa_thread()->pf_flags & (PF_MEMALLOC_NOIO | PF_MEMALLOC_NOFS | PF_MEMALLOC), 0);
    /* per thread: the scope of one thread is not another's */
    unsigned int r = pa_memalloc_noreclaim_save();
    ck_assert(pa_thread()->pf_flags & PF_MEMALLOC);
    ck_assert_int_eq(pa_memalloc_noreclaim_restore(r), 0);
    ck_assert(!(pa_thread()->pf_flags & PF_MEMALLOC));
}
END_TEST

/* End to end: inside a NOIO scope, direct reclaim asks the shrinker
 * with a mask without IO (and FS), so the shrinker that needs I/O frees
 * nothing; outside it, the same requests reclaim from it. */
START_TEST(test_noio_keeps_io_shrinker_out)
{
    setup();
    struct cache c;
    cache_fill(&c, PA_GFP_IO);
    struct t_blocks got = {0};

    unsigned int s = pa_memalloc_noio_save();
    grab(&got, GFP_DIRECT, 64);
    ck_assert_int_eq(pa_memalloc_noio_restore(s), 0);
    ck_assert_uint_gt(c.direct_scans, 0);
    ck_assert_uint_eq(c.last_gfp & (PA_GFP_IO | PA_GFP_FS), 0);
    ck_assert_uint_eq(c.freed, 0);
    ck_assert_uint_gt(c.refused, 0);

    /* the same requests without the scope reclaim from it */
    unsigned long scans = c.direct_scans;
    size_t n = grab(&got, GFP_DIRECT, 64);
    ck_assert_uint_eq(n, 64);
    ck_assert_uint_gt(c.direct_scans, scans);
    ck_assert_uint_eq(c.last_gfp & PA_GFP_IO, PA_GFP_IO);
    ck_assert_uint_gt(c.freed, 0);

    t_blocks_free_all(&got);
    t_blocks_release(&got);
    cache_drop(&c);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

/* NOFS: a shrinker that needs the file system is kept out, one that only
 * needs I/O still reclaims. */
START_TEST(test_nofs_keeps_fs_shrinker_out)
{
    setup();
    struct cache c;
    cache_fill(&c, PA_GFP_FS);
    struct t_blocks got = {0};
    unsigned int s = pa_memalloc_nofs_save();
    grab(&got, GFP_DIRECT, 64);
    ck_assert_int_eq(pa_memalloc_nofs_restore(s), 0);
    ck_assert_uint_gt(c.direct_scans, 0);
    ck_assert_uint_eq(c.last_gfp & (PA_GFP_IO | PA_GFP_FS), PA_GFP_IO);
    ck_assert_uint_eq(c.freed, 0);
    /* the same shrinker needing only I/O frees in the NOFS scope */
    c.needs = PA_GFP_IO;
    s = pa_memalloc_nofs_save();
    size_t n = grab(&got, GFP_DIRECT, 64);
    ck_assert_int_eq(pa_memalloc_nofs_restore(s), 0);
    ck_assert_uint_eq(n, 64);
    ck_assert_uint_gt(c.freed, 0);
    t_blocks_free_all(&got);
    t_blocks_release(&got);
    cache_drop(&c);
}
END_TEST

/* noreclaim (PF_MEMALLOC): no reclaim, and the reserves below MIN. */
START_TEST(test_noreclaim_uses_reserves_without_reclaim)
{
    setup();
    struct cache c;
    cache_fill(&c, 0);
    unsigned long stall0 = t_vmstat("allocstall_normal");
    struct t_blocks got = {0};
    unsigned int s = pa_memalloc_noreclaim_save();
    size_t n = grab(&got, PA_GFP_KERNEL | PA_GFP_NOWARN, 16);
    ck_assert_int_eq(pa_memalloc_noreclaim_restore(s), 0);
    ck_assert_uint_eq(n, 16);
    ck_assert_uint_eq(c.direct_scans, 0);
    ck_assert_uint_eq(t_vmstat("allocstall_normal"), stall0);
    t_blocks_free_all(&got);
    t_blocks_release(&got);
    cache_drop(&c);
}
END_TEST

/* A shrinker that allocates while it runs: its allocation never enters
 * reclaim again (no recursion), and may use the reserves. */
START_TEST(test_no_recursion_from_reclaim)
{
    setup();
    struct cache c;
    cache_fill(&c, 0);
    c.allocate_inside = true;
    struct t_blocks got = {0};
    size_t n = grab(&got, GFP_DIRECT, 64);
    ck_assert_uint_eq(n, 64);
    ck_assert_uint_gt(c.direct_scans, 0);
    ck_assert_int_eq(c.max_depth, 1);
    ck_assert_uint_gt(c.inner_ok, 0);
    t_blocks_free_all(&got);
    t_blocks_release(&got);
    cache_drop(&c);
    ck_assert_int_eq(pa_check_invariants(), 0);
}
END_TEST

START_TEST(test_bad_restores)
{
    setup();
    struct t_capture cap;
    char *err;

    /* restore without a save */
    t_capture_begin(&cap);
    errno = 0;
    ck_assert_int_eq(pa_memalloc_noio_restore(0), -1);
    ck_assert_int_eq(errno, EINVAL);
    err = t_capture_end(&cap);
    ck_assert_ptr_nonnull(strstr(err, "pa_memalloc_noio_restore(0): unbalanced"));
    free(err);
    unsigned int tok = pa_memalloc_nofs_save();
    ck_assert_int_eq(pa_memalloc_nofs_restore(tok), 0);
    t_capture_begin(&cap);
    ck_assert_int_eq(pa_memalloc_nofs_restore(tok), -1);     /* twice: unbalanced */
    err = t_capture_end(&cap);
    ck_assert_ptr_nonnull(strstr(err, "unbalanced"));
    free(err);

    /* out of order */
    unsigned int outer = pa_memalloc_noio_save();
    unsigned int inner = pa_memalloc_noio_save();
    t_capture_begin(&cap);
    ck_assert_int_eq(pa_memalloc_noio_restore(outer), -1);
    err = t_capture_end(&cap);
    ck_assert_ptr_nonnull(strstr(err, "out of order"));
    free(err);
    ck_assert(pa_thread()->pf_flags & PF_MEMALLOC_NOIO);      /* unchanged */

    /* a token of another kind, or made up */
    unsigned int fs = pa_memalloc_nofs_save();
    t_capture_begin(&cap);
    ck_assert_int_eq(pa_memalloc_nofs_restore(inner), -1);
    ck_assert_int_eq(pa_memalloc_noreclaim_restore(fs), -1);
    ck_assert_int_eq(pa_memalloc_noio_restore(0x12345678u), -1);
    err = t_capture_end(&cap);
    ck_assert_int_eq(t_count_lines_with(err, "not returned by the matching save"), 2);
    ck_assert_int_eq(t_count_lines_with(err, "noreclaim_restore"), 1);   /* none open: unbalanced */
    free(err);

    /* the right order still works and leaves the thread clean */
    ck_assert_int_eq(pa_memalloc_nofs_restore(fs), 0);
    ck_assert_int_eq(pa_memalloc_noio_restore(inner), 0);
    ck_assert(pa_thread()->pf_flags & PF_MEMALLOC_NOIO);
    ck_assert_int_eq(pa_memalloc_noio_restore(outer), 0);
    ck_assert_uint_eq(pa_thread()->pf_flags & (PF_MEMALLOC_NOIO | PF_MEMALLOC_NOFS | PF_MEMALLOC), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("context");
    TCase *tc = t_tcase(s, "scopes", 30);
    tcase_add_test(tc, test_masks);
    tcase_add_test(tc, test_bad_restores);
    tc = t_tcase(s, "reclaim", 90);
    tcase_add_test(tc, test_noio_keeps_io_shrinker_out);
    tcase_add_test(tc, test_nofs_keeps_fs_shrinker_out);
    tcase_add_test(tc, test_noreclaim_uses_reserves_without_reclaim);
    tcase_add_test(tc, test_no_recursion_from_reclaim);
    return t_run_suite(s);
}

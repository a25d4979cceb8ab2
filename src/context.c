/* SPDX-License-Identifier: MIT */
/*
 * Scoped allocation contexts (include/linux/sched/mm.h: memalloc_noio_save,
 * memalloc_nofs_save, memalloc_noreclaim_save).  A save sets the thread's
 * PF_* flag and returns a token holding the flag's previous state; the
 * matching restore puts that state back.  current_gfp_context()
 * (thread.h) applies NOIO/NOFS on the slow path; PF_MEMALLOC keeps the
 * slow path out of reclaim and lets it use the reserves.
 *
 * The kernel's token is just the old flag bit.  Ours also carries the kind
 * of scope and the nesting depth, so that a restore without a save, in the
 * wrong order or of the wrong kind is refused with a message instead of
 * silently leaving the thread in (or out of) a scope.
 */
#include "internal.h"

enum scope_kind { SCOPE_NOIO, SCOPE_NOFS, SCOPE_NORECLAIM, NR_SCOPES };

static const struct {
    const char *name;        /* of the restore function, for messages */
    unsigned int pf;         /* the flag the scope sets */
} scopes[NR_SCOPES] = {
    [SCOPE_NOIO] = { "pa_memalloc_noio_restore", PF_MEMALLOC_NOIO },
    [SCOPE_NOFS] = { "pa_memalloc_nofs_restore", PF_MEMALLOC_NOFS },
    [SCOPE_NORECLAIM] = { "pa_memalloc_noreclaim_restore", PF_MEMALLOC },
};

/* token: bit 0 the old state of the flag, bits 1..16 the depth before the
 * save, bits 24..31 a tag naming the kind (never zero) */
#define TOKEN_TAG(kind)   ((0xa5u + (unsigned int)(kind)) << 24)
#define TOKEN_TAG_MASK    0xff000000u
#define TOKEN_DEPTH_SHIFT 1
#define TOKEN_DEPTH_MASK  0xffffu

static unsigned int scope_save(enum scope_kind kind)
{
    struct pa_thread *t = pa_thread();
    unsigned int depth = t->scope_depth[kind];
    unsigned int old = (t->pf_flags & scopes[kind].pf) ? 1u : 0u;
    if (depth < TOKEN_DEPTH_MASK)
        t->scope_depth[kind] = (uint16_t)(depth + 1);
    t->pf_flags |= scopes[kind].pf;
    return TOKEN_TAG(kind) | (depth << TOKEN_DEPTH_SHIFT) | old;
}

static int scope_restore(enum scope_kind kind, unsigned int token)
{
    struct pa_thread *t = pa_thread();
    unsigned int depth = t->scope_depth[kind];
    const char *why = NULL;

    if (depth == 0)
        why = "unbalanced restore: no scope of this kind is open in this thread";
    else if ((token & TOKEN_TAG_MASK) != TOKEN_TAG(kind))
        why = "the value was not returned by the matching save function";
    else if (((token >> TOKEN_DEPTH_SHIFT) & TOKEN_DEPTH_MASK) != depth - 1)
        why = "restore out of order: an inner scope of this kind is still open";
    if (why) {
        fprintf(stderr, "pagealloc: %s(%#x): %s; ignored\n", scopes[kind].name, token, why);
        errno = EINVAL;
        return -1;
    }
    t->scope_depth[kind] = (uint16_t)(depth - 1);
    if (token & 1u)
        t->pf_flags |= scopes[kind].pf;
    else
        t->pf_flags &= ~scopes[kind].pf;
    return 0;
}

PA_API unsigned int pa_memalloc_noio_save(void) { return scope_save(SCOPE_NOIO); }
PA_API int pa_memalloc_noio_restore(unsigned int flags) { return scope_restore(SCOPE_NOIO, flags); }
PA_API unsigned int pa_memalloc_nofs_save(void) { return scope_save(SCOPE_NOFS); }
PA_API int pa_memalloc_nofs_restore(unsigned int flags) { return scope_restore(SCOPE_NOFS, flags); }
PA_API unsigned int pa_memalloc_noreclaim_save(void) { return scope_save(SCOPE_NORECLAIM); }
PA_API int pa_memalloc_noreclaim_restore(unsigned int flags) { return scope_restore(SCOPE_NORECLAIM, flags); }

PA_API pa_gfp_t pa_current_gfp_context(pa_gfp_t gfp)
{
    return current_gfp_context(pa_thread(), gfp);
}

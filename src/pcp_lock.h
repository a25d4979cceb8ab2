/* SPDX-License-Identifier: MIT */
/*
 * The pageset lock of pcp.c, with its rseq critical section in x86-64
 * assembly.  Only the files that take the lock include it: pcp.c and
 * page_alloc.c.
 */
#ifndef PAGEALLOC_PCP_LOCK_H
#define PAGEALLOC_PCP_LOCK_H

#include <stdbool.h>
#include <sys/rseq.h>

#include "compiler.h"
#include "lockdep.h"
#include "pcp.h"

/*
 * The pageset lock.  The owner side (pcp_trylock) uses no atomic
 * instruction: in per-CPU mode it is an rseq critical section that checks
 * the CPU and both words and commits `locked = 1` (the kernel restarts it if
 * the thread is preempted or migrated, so threads on one CPU exclude each
 * other); in per-thread mode only the owning thread ever sets `locked`.
 * Remote lockers (drains, decay) set `remote`, run membarrier() so every
 * running thread either has finished its commit or will see `remote`, then
 * wait for `locked` to drop.  Without rseq or membarrier (or under TSan)
 * both sides use an atomic exchange on `locked`.
 */
enum { PCP_LOCK_ATOMIC, PCP_LOCK_RSEQ, PCP_LOCK_OWNER };
extern PA_HIDDEN int pcp_lock_kind;                                 /* pcp.c */

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define PA_HAVE_RSEQ_PCP 1
static inline bool rseq_pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    struct rseq *rs = (struct rseq *)(void *)((char *)__builtin_thread_pointer() + __rseq_offset);
    __asm__ goto(
        ".pushsection __rseq_cs, \"aw\"\n\t"
        ".balign 32\n\t"
        "3:\n\t"
        ".long 0x0, 0x0\n\t"
        ".quad 1f, (2f - 1f), 4f\n\t"
        ".popsection\n\t"
        "leaq 3b(%%rip), %%rax\n\t"
        "movq %%rax, %[rseq_cs]\n\t"
        "1:\n\t"
        "cmpl %[cpu], %[cpu_id]\n\t"
        "jnz %l[fail]\n\t"
        "cmpl $0, %[remote]\n\t"
        "jnz %l[fail]\n\t"
        "cmpl $0, %[locked]\n\t"
        "jnz %l[fail]\n\t"
        "movl $1, %[locked]\n\t"
        "2:\n\t"
        ".pushsection __rseq_failure, \"ax\"\n\t"
        ".byte 0x0f, 0xb9, 0x3d\n\t"
        ".long 0x53053053\n\t"          /* RSEQ_SIG, as glibc registered it */
        "4:\n\t"
        "jmp %l[fail]\n\t"
        ".popsection\n\t"
        :
        : [rseq_cs] "m"(rs->rseq_cs), [cpu_id] "m"(rs->cpu_id), [cpu] "r"(cpu),
          [remote] "m"(pcp->remote), [locked] "m"(pcp->locked)
        : "memory", "cc", "rax"
        : fail);
    return true;
fail:
    return false;
}
#else
#define PA_HAVE_RSEQ_PCP 0
static inline bool rseq_pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    (void)pcp;
    (void)cpu;
    return false;
}
#endif

static inline bool __pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    if (likely(pcp_lock_kind == PCP_LOCK_RSEQ))
        return rseq_pcp_trylock(pcp, cpu);
    if (pcp_lock_kind == PCP_LOCK_OWNER)
        return owner_enter(&pcp->locked, &pcp->remote);
    return __atomic_load_n(&pcp->locked, __ATOMIC_RELAXED) == 0 &&
           !__atomic_exchange_n(&pcp->locked, 1, __ATOMIC_ACQUIRE);
}
static inline bool pcp_trylock(struct per_cpu_pages *pcp, int cpu)
{
    bool ok = __pcp_trylock(pcp, cpu);
    if (ok)
        lockdep_acquired_try(LOCK_PAGESET, 0);
    return ok;
}
static inline void pcp_unlock(struct per_cpu_pages *pcp)
{
    lockdep_release(LOCK_PAGESET, 0);
    __atomic_store_n(&pcp->locked, 0, __ATOMIC_RELEASE);
}

#endif /* PAGEALLOC_PCP_LOCK_H */

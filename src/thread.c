/* SPDX-License-Identifier: MIT */
/*
 * Per-thread state.  Counters are kept per thread and summed by readers,
 * the userspace form of the kernel's per-CPU vm_event_states: an increment
 * is a plain load and store on memory no other thread writes, no atomics.
 * A thread that exits folds its counts into `exited` so nothing is lost.
 * Allocations and frees served by a thread's magazines are not counted one
 * by one: readers derive them from the magazines' own counters.
 */
#include "internal.h"

#include <unistd.h>

__thread struct pa_thread *pa_current_thread __attribute__((tls_model("initial-exec")));

static struct mutex threads_lock = MUTEX_INITIALIZER(LOCK_THREADS);
static struct pa_thread threads_head = {.next = &threads_head, .prev = &threads_head};
static unsigned long exited_events[NR_VM_EVENT_ITEMS];
static unsigned long *exited_numa;       /* [nr_nodes * MAX_NR_ZONES * NUMA items] */
static size_t numa_slots;                /* entries in each numa_events array */
static size_t zone_slots;                /* zones: nr_nodes * MAX_NR_ZONES */
static pthread_key_t thread_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/*
 * The allocations (pops) and frees (pushes) t made from its magazines of
 * zone slot zs (nid * MAX_NR_ZONES + zid), derived from the magazines'
 * counters (struct pa_magazine): exact whenever t is not in the middle of
 * one.  A pop is a numa_hit and a numa_local of the zone: magazines are
 * filled only for requests whose preferred zone is on the CPU's node.
 */
static void mag_events(const struct pa_thread *t, size_t zs, unsigned long *pops, unsigned long *pushes)
{
    const struct pa_magazine *mags = __atomic_load_n(&t->mags, __ATOMIC_ACQUIRE);
    *pops = *pushes = 0;
    if (!mags)
        return;
    for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
        const struct pa_magazine *m = &mags[zs * MIGRATE_PCPTYPES + (size_t)mt];
        unsigned long popped = pa_relaxed_load(&m->pops);
        unsigned long diff = pa_relaxed_load(&m->moved) - pa_relaxed_load(&m->n);   /* pops - pushes */
        *pops += popped;
        *pushes += popped - diff;
    }
}

/* The magazines' part of a vm event or of a zone's numa event. */
static unsigned long mag_vm_event(const struct pa_thread *t, enum vm_event_item item)
{
    unsigned long pops, pushes, sum = 0;
    if (item != PGFREE && (item < PGALLOC_DMA || item >= PGALLOC_DMA + MAX_NR_ZONES))
        return 0;
    for (size_t zs = 0; zs < zone_slots; zs++) {
        if (item != PGFREE && zs % MAX_NR_ZONES != (size_t)(item - PGALLOC_DMA))
            continue;
        mag_events(t, zs, &pops, &pushes);
        sum += item == PGFREE ? pushes : pops;
    }
    return sum;
}

/* A thread that goes: its counts join `exited`.  threads_lock held; its
 * magazines still exist (flushing them does not change what they count). */
static void fold_counts(const struct pa_thread *t)
{
    for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
        exited_events[i] += t->vm_events[i] + mag_vm_event(t, (enum vm_event_item)i);
    for (size_t i = 0; i < numa_slots; i++)
        exited_numa[i] += t->numa_events[i];
    for (size_t zs = 0; zs < zone_slots; zs++) {
        unsigned long pops, pushes;
        mag_events(t, zs, &pops, &pushes);
        exited_numa[zs * NR_VM_NUMA_EVENT_ITEMS + NUMA_HIT] += pops;
        exited_numa[zs * NR_VM_NUMA_EVENT_ITEMS + NUMA_LOCAL] += pops;
    }
}

static void thread_exit(void *arg)
{
    struct pa_thread *t = arg;

    /* unlinked first, so no drain_all_pages walks it while it goes */
    mutex_lock(&threads_lock);
    t->prev->next = t->next;
    t->next->prev = t->prev;
    fold_counts(t);
    mutex_unlock(&threads_lock);
    pcp_thread_exit(t);   /* its cached pages go back to the buddy */
    pa_current_thread = NULL;
    pa_os_free(t, t->alloc_size);
}

void pa_threads_lock(void)
{
    mutex_lock(&threads_lock);
}

void pa_threads_unlock(void)
{
    mutex_unlock(&threads_lock);
}

/* With the registry locked by the caller. */
void pa_threads_iterate(void (*fn)(struct pa_thread *, void *), void *arg)
{
    for (struct pa_thread *t = threads_head.next; t != &threads_head; t = t->next)
        fn(t, arg);
}

/* In a forked child: every thread but the caller is gone.  reap gives back
 * what each one cached; then its counts are kept and it is forgotten. */
void pa_threads_fork_child(void (*reap)(struct pa_thread *))
{
    mutex_unlock(&threads_lock);   /* taken by pcp_fork_prepare in this thread */
    struct pa_thread *self = pa_current_thread;
    for (struct pa_thread *t = threads_head.next, *next; t != &threads_head; t = next) {
        next = t->next;
        if (t == self)
            continue;
        fold_counts(t);
        reap(t);
        t->prev->next = t->next;
        t->next->prev = t->prev;
        pa_os_free(t, t->alloc_size);
    }
}

void pa_for_each_thread(void (*fn)(struct pa_thread *, void *), void *arg)
{
    mutex_lock(&threads_lock);
    for (struct pa_thread *t = threads_head.next; t != &threads_head; t = t->next)
        fn(t, arg);
    mutex_unlock(&threads_lock);
}

static void make_key(void)
{
    pthread_key_create(&thread_key, thread_exit);
}

void pa_threads_init(void)
{
    pthread_once(&key_once, make_key);
    mutex_lock(&threads_lock);
    if (!exited_numa) {
        zone_slots = (size_t)pa_mm.nr_nodes * MAX_NR_ZONES;
        numa_slots = zone_slots * NR_VM_NUMA_EVENT_ITEMS;
        exited_numa = pa_os_alloc(numa_slots * sizeof(unsigned long));
        if (!exited_numa) {
            fprintf(stderr, "pagealloc: out of memory for thread statistics\n");
            abort();
        }
    }
    mutex_unlock(&threads_lock);
}

/* First counter update of a thread: needs pa_init done (the node count). */
struct pa_thread *pa_thread_slow(void)
{
    pa_ensure_init();
    size_t size = sizeof(struct pa_thread) + numa_slots * sizeof(unsigned long);
    struct pa_thread *t = pa_os_alloc(size);
    if (!t) {
        fprintf(stderr, "pagealloc: out of memory for per-thread state\n");
        abort();
    }
    t->alloc_size = size;
    t->numa_events = (unsigned long *)(t + 1);
    t->tid = (pid_t)gettid();
    mpol_thread_init(t);
    mutex_lock(&threads_lock);
    t->next = threads_head.next;
    t->prev = &threads_head;
    threads_head.next->prev = t;
    threads_head.next = t;
    mutex_unlock(&threads_lock);
    pa_current_thread = t;
    pthread_setspecific(thread_key, t);
    return t;
}

unsigned long sum_vm_event(enum vm_event_item item)
{
    mutex_lock(&threads_lock);
    unsigned long sum = exited_events[item];
    for (struct pa_thread *t = threads_head.next; t != &threads_head; t = t->next)
        sum += pa_relaxed_load(&t->vm_events[item]) + mag_vm_event(t, item);
    mutex_unlock(&threads_lock);
    return sum;
}

unsigned long sum_zone_numa_event(int nid, int zid, enum numa_stat_item item)
{
    if (!node_valid(nid) || zid < 0 || zid >= MAX_NR_ZONES || !exited_numa)
        return 0;
    size_t zs = (size_t)nid * MAX_NR_ZONES + (size_t)zid;
    size_t i = zs * NR_VM_NUMA_EVENT_ITEMS + item;
    bool fast = item == NUMA_HIT || item == NUMA_LOCAL;
    mutex_lock(&threads_lock);
    unsigned long sum = exited_numa[i];
    for (struct pa_thread *t = threads_head.next; t != &threads_head; t = t->next) {
        sum += pa_relaxed_load(&t->numa_events[i]);
        if (fast) {
            unsigned long pops, pushes;
            mag_events(t, zs, &pops, &pushes);
            sum += pops;
        }
    }
    mutex_unlock(&threads_lock);
    return sum;
}

/* SPDX-License-Identifier: MIT */
/*
 * The OOM killer (mm/oom_kill.c): when an allocation cannot be satisfied
 * after reclaim and compaction, or a memory cgroup cannot get under its
 * limit, pick the registered OOM client with the highest badness, call its
 * kill(), and wait a bounded time for the memory to come back (the
 * oom_reaper's part).  One kill at a time: a second caller waits for the
 * first kill to finish and retries its allocation.
 *
 * Clients are subsystems of the program that can give everything back
 * (struct pa_oom_client in <pagealloc/reclaim.h>).  Their callbacks always
 * run without library locks held, so a callback may register, unregister,
 * allocate or free.
 */
#include "internal.h"
#include "trace.h"

#include <limits.h>
#include <time.h>
#include <unistd.h>

extern char *program_invocation_short_name;

#define OOM_SCORE_ADJ_MIN (-1000)
#define OOM_SCORE_ADJ_MAX 1000

/* The oom_reaper's patience: the kernel's reaper tries MAX_OOM_REAP_RETRIES
 * (10) times HZ/10 apart before it gives up on a victim (MMF_OOM_SKIP). */
#define OOM_REAP_TIMEOUT_NS (1000L * 1000 * 1000)
#define OOM_REAP_POLL_US 10000

/* dump_header is rate limited as the kernel's oom_rs: 10 reports per 5 s. */
#define OOM_REPORT_BURST 10
#define OOM_REPORT_INTERVAL_S 5

enum oom_constraint {
    CONSTRAINT_NONE,
    CONSTRAINT_MEMORY_POLICY,   /* a nodemask that leaves out a node with memory */
    CONSTRAINT_MEMCG,
};
static const char *const oom_constraint_text[] = {
    [CONSTRAINT_NONE] = "CONSTRAINT_NONE",
    [CONSTRAINT_MEMORY_POLICY] = "CONSTRAINT_MEMORY_POLICY",
    [CONSTRAINT_MEMCG] = "CONSTRAINT_MEMCG",
};

/* Where a client stands with the OOM killer (the kernel's tsk_is_oom_victim
 * and MMF_OOM_SKIP). */
enum oom_victim_state {
    OOM_NOT_VICTIM,
    OOM_VICTIM,        /* kill() called, memory not yet back: selections wait */
    OOM_SKIP,          /* the reaper gave up on it: never chosen again */
};

/* The registry's private record of one client. */
struct oom_entry {
    struct list_head list;          /* oom_clients, in registration order */
    struct pa_oom_client *client;
    struct pa_memcg *memcg;         /* the registering thread's cgroup (memcg OOM scope) */
    int index;                      /* the "pid" of the reports; increasing */
    bool dead;                      /* unregistered: never call it again */
    bool held;                      /* the OOM thread holds it: it frees a dead entry */
    bool in_call;                   /* rss_pages() running: unregister waits */
    uint8_t state;                  /* enum oom_victim_state */
    /* the last selection's view, for the report (the OOM thread's, under oom_lock) */
    unsigned long seen_seq;
    unsigned long seen_rss;
    int seen_adj;
};

static struct mutex oom_registry_lock = MUTEX_INITIALIZER(LOCK_OOM_REGISTRY);
static pthread_cond_t oom_registry_cond = PTHREAD_COND_INITIALIZER;
static struct list_head oom_clients = {&oom_clients, &oom_clients};
static int oom_next_index = 1;

/* One OOM kill at a time (the kernel's oom_lock). */
static struct mutex oom_lock = MUTEX_INITIALIZER(LOCK_OOM);
static unsigned long oom_seq;                   /* selections so far; under oom_lock */
static time_t oom_report_window;                /* rate limit; under oom_lock */
static int oom_report_count;
/* This thread holds oom_lock: its callbacks re-entering the killer or the
 * registry must neither deadlock nor wait for themselves. */
static __thread bool oom_lock_owner;

/* memcg.c: the cgroup's name for the report; oom.c: a destroyed cgroup's
 * clients become global ones.  (Shared between the two files only.) */

/* fork: the registry lock (a leaf) is held across fork, so the client list
 * is whole in the child.  oom_lock is not: it is held across the clients'
 * callbacks and the wait for a victim (seconds). */
void oom_fork_prepare(void)
{
    mutex_lock(&oom_registry_lock);
}

void oom_fork_parent(void)
{
    mutex_unlock(&oom_registry_lock);
}

/* In a forked child only the forking thread exists: a kill or an rss_pages
 * call another thread had in progress is gone, and so is its lock. */
void oom_fork_child(void)
{
    mutex_unlock(&oom_registry_lock);
    mutex_init(&oom_lock, LOCK_OOM, 0);
    pthread_cond_init(&oom_registry_cond, NULL);
    struct list_head *pos;
    list_for_each(pos, &oom_clients)
        list_entry(pos, struct oom_entry, list)->in_call = false;
}

int pa_oom_init(void)
{
    /* statically initialised; nothing to do until a client registers */
    return 0;
}

/* ------------------------------------------------------------------ */
/* The registry                                                        */
/* ------------------------------------------------------------------ */

static struct oom_entry *find_entry(const struct pa_oom_client *c)
{
    struct list_head *pos;
    list_for_each(pos, &oom_clients) {
        struct oom_entry *e = list_entry(pos, struct oom_entry, list);
        if (e->client == c)
            return e;
    }
    return NULL;
}

PA_API int pa_oom_register(struct pa_oom_client *c)
{
    if (!c || !c->rss_pages || !c->kill || c->oom_score_adj < OOM_SCORE_ADJ_MIN ||
        c->oom_score_adj > OOM_SCORE_ADJ_MAX) {
        errno = EINVAL;
        return -1;
    }
    /* metadata never comes from the arenas (and never from malloc, which the
     * shim may route back to us): one small mapping per client */
    struct oom_entry *e = pa_os_alloc(sizeof(*e));
    if (!e) {
        errno = ENOMEM;
        return -1;
    }
    /* no pa_thread(): registering must not initialise the library */
    struct pa_thread *t = pa_current_thread;
    e->client = c;
    e->memcg = t ? t->memcg : NULL;
    mutex_lock(&oom_registry_lock);
    if (find_entry(c)) {
        mutex_unlock(&oom_registry_lock);
        pa_os_free(e, sizeof(*e));
        errno = EINVAL;
        return -1;
    }
    e->index = oom_next_index++;
    list_add_tail(&e->list, &oom_clients);
    mutex_unlock(&oom_registry_lock);
    return 0;
}

/*
 * Unregistering waits for an rss_pages() call in progress, so the caller
 * may free the client afterwards; it does not wait for a kill() in
 * progress, which is the client's own teardown (it may hand its memory to a
 * thread that unregisters).  Called from a callback of the OOM thread
 * itself, it waits for nothing: that thread checks `dead` before every call.
 */
PA_API int pa_oom_unregister(struct pa_oom_client *c)
{
    struct oom_entry *to_free = NULL;

    if (!c) {
        errno = EINVAL;
        return -1;
    }
    mutex_lock(&oom_registry_lock);
    struct oom_entry *e = find_entry(c);
    if (!e) {
        mutex_unlock(&oom_registry_lock);
        errno = EINVAL;
        return -1;
    }
    list_del(&e->list);
    e->dead = true;
    while (e->in_call && !oom_lock_owner)
        mutex_cond_wait(&oom_registry_cond, &oom_registry_lock);
    if (!e->held)
        to_free = e;
    mutex_unlock(&oom_registry_lock);
    if (to_free)
        pa_os_free(to_free, sizeof(*to_free));
    return 0;
}

/* A destroyed cgroup's clients become global clients (the kernel reparents
 * an offlined memcg's tasks and charges to its parent). */
void oom_forget_memcg(struct pa_memcg *memcg)
{
    struct list_head *pos;
    mutex_lock(&oom_registry_lock);
    list_for_each(pos, &oom_clients) {
        struct oom_entry *e = list_entry(pos, struct oom_entry, list);
        if (e->memcg == memcg)
            e->memcg = NULL;
    }
    mutex_unlock(&oom_registry_lock);
}

/* The OOM thread lets go of an entry; a dead one is freed here. */
static void oom_entry_put(struct oom_entry *e)
{
    mutex_lock(&oom_registry_lock);
    e->held = false;
    bool dead = e->dead;
    mutex_unlock(&oom_registry_lock);
    if (dead)
        pa_os_free(e, sizeof(*e));
}

/*
 * The next live entry after `after` (by index) in the OOM's scope, held;
 * NULL at the end.  The list may change while callbacks run, so the walk
 * resumes by index instead of by pointer (clients are few).
 */
static struct oom_entry *oom_next_candidate(int after, const struct oom_control *oc)
{
    struct list_head *pos;
    struct oom_entry *found = NULL;
    mutex_lock(&oom_registry_lock);
    list_for_each(pos, &oom_clients) {
        struct oom_entry *e = list_entry(pos, struct oom_entry, list);
        if (e->index <= after)
            continue;
        if (oc->memcg && e->memcg != oc->memcg)
            continue;   /* a memcg OOM looks only at the cgroup's own clients */
        e->held = true;
        found = e;
        break;
    }
    mutex_unlock(&oom_registry_lock);
    return found;
}

/* Call rss_pages() with the entry marked busy, unless it is gone.  false:
 * unregistered meanwhile. */
static bool oom_call_rss(struct oom_entry *e, unsigned long *rss, int *adj)
{
    mutex_lock(&oom_registry_lock);
    if (e->dead) {
        mutex_unlock(&oom_registry_lock);
        return false;
    }
    e->in_call = true;
    struct pa_oom_client *c = e->client;
    if (adj) {
        /* the client may change its adj at any time, as /proc/pid/oom_score_adj */
        int a = c->oom_score_adj;
        *adj = a < OOM_SCORE_ADJ_MIN ? OOM_SCORE_ADJ_MIN : a > OOM_SCORE_ADJ_MAX ? OOM_SCORE_ADJ_MAX : a;
    }
    mutex_unlock(&oom_registry_lock);

    *rss = c->rss_pages(c);

    mutex_lock(&oom_registry_lock);
    e->in_call = false;
    pthread_cond_broadcast(&oom_registry_cond);
    mutex_unlock(&oom_registry_lock);
    return true;
}

/* ------------------------------------------------------------------ */
/* Badness and the constraint                                          */
/* ------------------------------------------------------------------ */

/*
 * oom_badness: the client's pages, plus its adj as thousandths of the
 * memory the failing request could use.  LONG_MIN: never chosen (adj
 * -1000, or nothing to give back: the kernel skips a task without an mm).
 * An eligible client scores at least 1.
 */
static long oom_badness(unsigned long rss, int adj, unsigned long totalpages)
{
    if (adj == OOM_SCORE_ADJ_MIN || rss == 0)
        return LONG_MIN;
    long points = (long)rss + (long)adj * (long)totalpages / 1000;
    return points > 0 ? points : 1;
}

static unsigned long node_managed_pages(int nid)
{
    unsigned long n = 0;
    pg_data_t *pgdat = NODE_DATA(nid);
    for (int i = 0; i < MAX_NR_ZONES; i++)
        if (populated_zone(&pgdat->node_zones[i]))
            n += pgdat->node_zones[i].managed_pages;
    return n;
}

static bool oom_node_allowed(const struct oom_control *oc, int nid)
{
    return !oc->nodemask || node_isset(nid, oc->nodemask);
}

/*
 * constrained_alloc: what limits the failing request, and how much memory
 * it could have used (oc->totalpages, the scale of oom_score_adj).  A memcg
 * OOM scales by the cgroup's limit; a nodemask that leaves out a node with
 * memory by the nodes in it; otherwise everything.
 */
static enum oom_constraint constrained_alloc(struct oom_control *oc)
{
    unsigned long total = 0, allowed = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        unsigned long n = node_managed_pages(nid);
        total += n;
        if (oom_node_allowed(oc, nid))
            allowed += n;
    }
    if (oc->memcg) {
        size_t limit = pa_memcg_limit(oc->memcg) >> PAGE_SHIFT;
        oc->totalpages = pa_memcg_limit(oc->memcg) && limit < total ? limit : total;
        if (!oc->totalpages)
            oc->totalpages = 1;
        return CONSTRAINT_MEMCG;
    }
    if (oc->nodemask && allowed < total) {
        oc->totalpages = allowed ? allowed : 1;
        return CONSTRAINT_MEMORY_POLICY;
    }
    oc->totalpages = total ? total : 1;
    return CONSTRAINT_NONE;
}

/* Free pages of the zones the request could use (the reaper's yardstick). */
static unsigned long oom_free_pages(const struct oom_control *oc)
{
    unsigned long n = 0;
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        if (!oom_node_allowed(oc, nid))
            continue;
        pg_data_t *pgdat = NODE_DATA(nid);
        for (int i = 0; i < MAX_NR_ZONES; i++)
            n += zone_page_state(&pgdat->node_zones[i], NR_FREE_PAGES);
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Selection                                                           */
/* ------------------------------------------------------------------ */

enum oom_select { OOM_SELECT_NONE, OOM_SELECT_CHOSEN, OOM_SELECT_ABORT };

/*
 * select_bad_process: evaluate every client in scope, keep the one with the
 * highest badness (held), remember each one's rss and adj for the report.
 * A victim whose kill is still in progress aborts the selection: its memory
 * is on the way, so the caller should wait and retry rather than kill again
 * (the kernel's oom_evaluate_task).  Ties go to the later client, as the
 * kernel's walk does.
 */
static enum oom_select select_bad_process(struct oom_control *oc, struct oom_entry **chosen,
                                          unsigned long *chosen_rss, int *nr_in_scope)
{
    int after = 0;
    *chosen = NULL;
    oc->chosen = NULL;
    oc->chosen_points = LONG_MIN;
    *nr_in_scope = 0;
    for (struct oom_entry *e; (e = oom_next_candidate(after, oc)) != NULL;) {
        unsigned long rss;
        int adj;
        after = e->index;   /* before any put: a dead entry is freed there */
        if (!oom_call_rss(e, &rss, &adj)) {
            oom_entry_put(e);
            continue;
        }
        (*nr_in_scope)++;
        e->seen_seq = oom_seq;
        e->seen_rss = rss;
        e->seen_adj = adj;
        mutex_lock(&oom_registry_lock);
        uint8_t state = e->dead ? OOM_SKIP : e->state;
        mutex_unlock(&oom_registry_lock);
        if (state == OOM_VICTIM) {
            if (*chosen)
                oom_entry_put(*chosen);
            oom_entry_put(e);
            *chosen = NULL;
            oc->chosen = NULL;
            return OOM_SELECT_ABORT;
        }
        long points = state == OOM_SKIP ? LONG_MIN : oom_badness(rss, adj, oc->totalpages);
        if (points == LONG_MIN || points < oc->chosen_points) {
            oom_entry_put(e);
            continue;
        }
        if (*chosen)
            oom_entry_put(*chosen);
        *chosen = e;
        *chosen_rss = rss;
        oc->chosen = e->client;
        oc->chosen_points = points;
    }
    return *chosen ? OOM_SELECT_CHOSEN : OOM_SELECT_NONE;
}

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

static const char *client_name(const struct pa_oom_client *c)
{
    return c->name ? c->name : "(unnamed)";
}

/* __ratelimit(&oom_rs); caller holds oom_lock. */
static bool oom_report_ratelimit(void)
{
    time_t now = time(NULL);
    if (now - oom_report_window >= OOM_REPORT_INTERVAL_S) {
        oom_report_window = now;
        oom_report_count = 0;
    }
    return oom_report_count++ < OOM_REPORT_BURST;
}

/* The memory the request could use, per zone (show_mem's lines). */
static void dump_zones(const struct oom_control *oc)
{
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++) {
        if (!oom_node_allowed(oc, nid))
            continue;
        pg_data_t *pgdat = NODE_DATA(nid);
        for (int i = 0; i < MAX_NR_ZONES; i++) {
            const struct zone *z = &pgdat->node_zones[i];
            if (!populated_zone(z))
                continue;
            fprintf(stderr, "Node %d %s free:%lukB min:%lukB low:%lukB high:%lukB managed:%lukB\n", nid,
                    z->name, zone_page_state(z, NR_FREE_PAGES) << (PAGE_SHIFT - 10),
                    min_wmark_pages(z) << (PAGE_SHIFT - 10), low_wmark_pages(z) << (PAGE_SHIFT - 10),
                    high_wmark_pages(z) << (PAGE_SHIFT - 10), z->managed_pages << (PAGE_SHIFT - 10));
        }
    }
}

/*
 * dump_header: who asked and for what, the state of the memory in scope,
 * then every client in scope with the rss and adj the selection saw
 * (dump_tasks), then the oom-kill summary line.
 */
static void dump_header(const struct oom_control *oc, enum oom_constraint constraint,
                        const struct oom_entry *victim)
{
    char gfp[512], nodes[256];
    pa_format_gfp(oc->gfp_mask, gfp, sizeof(gfp));
    format_nodemask(oc->nodemask, nodes, sizeof(nodes));
    fprintf(stderr, "%s invoked oom-killer: gfp_mask=%#x(%s), order=%d, oom_score_adj=0\n",
            program_invocation_short_name, oc->gfp_mask, gfp, oc->order);
    if (oc->memcg) {
        fprintf(stderr, "memory: usage %zukB, limit %zukB, failcnt %lu\n", pa_memcg_usage(oc->memcg) >> 10,
                pa_memcg_limit(oc->memcg) >> 10, pa_memcg_failcnt(oc->memcg));
    } else {
        dump_zones(oc);
    }
    fprintf(stderr, "Clients state (memory values in pages):\n");
    fprintf(stderr, "[  pid  ]      rss oom_score_adj name\n");
    struct list_head *pos;
    mutex_lock(&oom_registry_lock);
    list_for_each(pos, &oom_clients) {
        const struct oom_entry *e = list_entry(pos, struct oom_entry, list);
        if (e->seen_seq != oom_seq)
            continue;   /* not in this OOM's scope */
        fprintf(stderr, "[%7d] %8lu %13d %s\n", e->index, e->seen_rss, e->seen_adj, client_name(e->client));
    }
    if (victim && !victim->dead)
        fprintf(stderr, "oom-kill:constraint=%s,nodemask=%s,oom_memcg=%s,task=%s,pid=%d\n",
                oom_constraint_text[constraint], nodes, oc->memcg ? memcg_name(oc->memcg) : "/",
                client_name(victim->client), victim->index);
    mutex_unlock(&oom_registry_lock);
}

/* check_panic_on_oom: PAGEALLOC_PANIC_ON_OOM acts as the sysctl's value 1,
 * which spares constrained OOMs (a nodemask or a memory cgroup). */
static void check_panic_on_oom(const struct oom_control *oc, enum oom_constraint constraint,
                               const struct oom_entry *victim)
{
    if (!pa_opt.panic_on_oom || constraint != CONSTRAINT_NONE)
        return;
    dump_header(oc, constraint, victim);
    fprintf(stderr, "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled\n");
    fflush(stderr);
    abort();
}

/* ------------------------------------------------------------------ */
/* Killing and reaping                                                 */
/* ------------------------------------------------------------------ */

static long elapsed_ns(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/*
 * The oom_reaper's part, done by the killer itself: wait (bounded) until
 * the victim's memory is back -- its rss fell by half, or the free pages of
 * the zones in scope (the cgroup's usage for a memcg OOM) rose by as much,
 * or it unregistered.  True if so; false when the wait timed out.
 */
static bool oom_reap(const struct oom_control *oc, struct oom_entry *victim, unsigned long rss,
                     unsigned long free_before, size_t usage_before)
{
    unsigned long need = rss / 2 ? rss / 2 : 1;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        unsigned long now_rss;
        if (!oom_call_rss(victim, &now_rss, NULL))
            return true;                              /* unregistered: gone */
        if (now_rss + need <= rss)
            return true;
        if (oom_free_pages(oc) >= free_before + need)
            return true;
        if (oc->memcg && pa_memcg_usage(oc->memcg) + (need << PAGE_SHIFT) <= usage_before)
            return true;
        if (elapsed_ns(&start) >= OOM_REAP_TIMEOUT_NS)
            return false;
        usleep(OOM_REAP_POLL_US);
    }
}

/* oom_kill_process: report, count, kill without locks, reap. */
static void oom_kill_process(struct oom_control *oc, enum oom_constraint constraint, struct oom_entry *victim,
                             unsigned long rss, bool report)
{
    const char *message = oc->memcg ? "Memory cgroup out of memory" : "Out of memory";
    char name[128];
    int adj = victim->seen_adj;

    if (report)
        dump_header(oc, constraint, victim);
    mutex_lock(&oom_registry_lock);
    snprintf(name, sizeof(name), "%s", client_name(victim->client));
    struct pa_oom_client *c = victim->dead ? NULL : victim->client;
    if (c)
        victim->state = OOM_VICTIM;
    mutex_unlock(&oom_registry_lock);
    if (!c)
        return;   /* unregistered since the selection: it gave its memory back itself */

    unsigned long free_before = oom_free_pages(oc);
    size_t usage_before = oc->memcg ? pa_memcg_usage(oc->memcg) : 0;
    count_vm_event(OOM_KILL);
    trace_mark_victim(victim->index, name, rss, adj);
    c->kill(c);
    fprintf(stderr, "%s: Killed client %d (%s) rss:%lukB oom_score_adj:%d\n", message, victim->index, name,
            rss << (PAGE_SHIFT - 10), adj);

    bool reaped = oom_reap(oc, victim, rss, free_before, usage_before);
    mutex_lock(&oom_registry_lock);
    /* a client lives on after giving its memory back, and may be chosen
     * again once it has grown; one that did not give it back is skipped */
    victim->state = reaped ? OOM_NOT_VICTIM : OOM_SKIP;
    mutex_unlock(&oom_registry_lock);
    if (!reaped)
        fprintf(stderr, "oom_reaper: client %d (%s) did not give its memory back within %ld ms; "
                        "it will not be chosen again\n", victim->index, name, OOM_REAP_TIMEOUT_NS / 1000000);
}

/* ------------------------------------------------------------------ */
/* out_of_memory                                                       */
/* ------------------------------------------------------------------ */

/*
 * Not mirrored from the kernel: the OOM notifier chain, the "current task
 * is exiting" shortcut, oom_kill_allocating_task.
 *
 * As the kernel, a request without PA_GFP_FS (PA_GFP_NOFS, NOIO, or any
 * request inside pa_memalloc_nofs_save / noio_save) kills nothing outside
 * a memory cgroup's OOM: it may be holding what the victim needs to exit,
 * and the OOM killer does not make up for reclaim it was not allowed to
 * do.  It reports progress, so the allocation retries (reclaim, compaction
 * and other threads' frees or kills can still help), pausing a tick as
 * the kernel's reclaim throttling would.
 */
bool out_of_memory(struct oom_control *oc)
{
    if (oom_lock_owner)
        return false;   /* a client callback allocating: no recursion into the killer */
    if (!(oc->gfp_mask & PA_GFP_FS) && !oc->memcg) {
        usleep(1000);
        return true;
    }
    if (!mutex_trylock(&oom_lock)) {
        /* another kill is in progress: wait for it, then let the caller
         * retry its allocation (__alloc_pages_may_oom's trylock) */
        mutex_lock(&oom_lock);
        mutex_unlock(&oom_lock);
        return true;
    }
    oom_lock_owner = true;
    oom_seq++;

    enum oom_constraint constraint = constrained_alloc(oc);
    struct oom_entry *victim = NULL;
    unsigned long rss = 0;
    int nr_in_scope = 0;
    enum oom_select sel = select_bad_process(oc, &victim, &rss, &nr_in_scope);
    check_panic_on_oom(oc, constraint, victim);
    bool progress = false;
    switch (sel) {
    case OOM_SELECT_ABORT:
        progress = true;   /* a victim's memory is on the way */
        break;
    case OOM_SELECT_NONE:
        /* no client at all in scope: the caller's failure report says enough */
        if (nr_in_scope && oom_report_ratelimit()) {
            dump_header(oc, constraint, NULL);
            fprintf(stderr, "Out of memory and no killable clients...\n");
        }
        break;
    case OOM_SELECT_CHOSEN:
        oom_kill_process(oc, constraint, victim, rss, oom_report_ratelimit());
        oom_entry_put(victim);
        progress = true;
        break;
    }
    oom_lock_owner = false;
    mutex_unlock(&oom_lock);
    return progress;
}

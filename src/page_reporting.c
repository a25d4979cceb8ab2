/* SPDX-License-Identifier: MIT */
/*
 * Free page reporting: free memory goes back to the OS (mm/page_reporting.c).
 *
 * The kernel's guest hands free memory back to its hypervisor this way; here
 * the OS takes the place of the hypervisor and MADV_DONTNEED (pa_os_release)
 * the place of the balloon driver.  The steps are the kernel's:
 *
 *   - __free_one_page() makes an unreported free block of
 *     page_reporting_order or more (PAGEALLOC_RELEASE_ORDER, the pageblock
 *     order by default) and calls page_reporting_notify_free(): the state
 *     goes IDLE -> REQUESTED, and only that transition wakes the worker.
 *   - The worker waits PAGE_REPORTING_DELAY (PAGEALLOC_RELEASE, 2 s), sets
 *     ACTIVE and walks each zone's free lists of those orders.  Under the
 *     zone lock it takes up to PAGE_REPORTING_CAPACITY unreported blocks off
 *     their lists (while the zone stays above LOW: the kernel asks LOW plus
 *     a whole batch in page_reporting_process_zone), drops the lock, releases
 *     each to the OS, takes the lock again and puts them back PageReported
 *     at the tail of their lists, so unreported memory is reused first.
 *   - Back to IDLE; if a free arrived meanwhile (REQUESTED again), another
 *     pass follows after the delay.
 *
 * Where we differ: the kernel spends a budget of a sixteenth of each list
 * per pass (a report is a hypervisor round trip; an idle guest is reported
 * in about 30 s); a report here is one madvise, so a pass covers every
 * list, the lock still dropped after every batch.  Largest orders go first:
 * they give back the most per call.  The reported mark survives merging
 * (a block is reported when all of it is) and splitting (buddy.c).
 *
 * The hot paths never meet the worker: a free pays one compare of its
 * order; the wake (an eventfd write) happens once per cycle, under the zone
 * lock as the kernel's schedule_delayed_work does.  The worker also listens
 * for memory pressure (pressure.c): then it reports at once.
 *
 * Off with PAGEALLOC_RELEASE=off, and with PAGEALLOC_DEBUG=poison (a
 * released page reads as zeros, not as poison).  ZONE_DMA is mlocked for
 * devices and never reported.  Hugetlb sections are released whole
 * hugepages at a time where the kernel allows it (private hugetlb since
 * 5.18); where it does not, one message and those sections keep their
 * memory.
 *
 * Locks: the zone lock, never held across a system call; prd.lock (a mutex)
 * only to start the thread.  The thread is started by the first free that
 * takes the general path (free_the_page: high orders; the pcp decay thread
 * does it for order-0 frees into magazines), never from an allocation:
 * under the shim an allocation may come from inside pthread_create, and
 * creating a thread there deadlocks in glibc (the pcp decay thread is
 * started from a free the same way).  Without magazines the first section
 * online starts it too.  Fork: the child has no worker; its first free
 * starts one.
 */
#include "internal.h"

#include <sys/eventfd.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define PAGE_REPORTING_CAPACITY 32
/* After pressure, frees are reported at once for this long. */
#define PRESSURE_URGENT_MS 5000

enum { PAGE_REPORTING_IDLE, PAGE_REPORTING_REQUESTED, PAGE_REPORTING_ACTIVE };

unsigned int page_reporting_order = NR_PAGE_ORDERS;   /* off until pa_page_reporting_init */

static struct {
    int state;                  /* PAGE_REPORTING_*, atomic */
    int started;                /* the thread exists; atomic */
    int kick_fd;                /* eventfd the notifier writes; atomic */
    bool enabled;               /* reporting on (else the thread only listens) */
    long urgent_until;          /* monotonic ms: report without delay until then (worker only) */
    bool warned[PA_NR_BACKINGS];/* one message per backing that cannot release */
    struct mutex lock;          /* starting the thread */
} prd = { .kick_fd = -1, .lock = MUTEX_INITIALIZER(LOCK_REPORTING) };


void pa_page_reporting_init(void)
{
    prd.enabled = pa_opt.release_ms != PA_RELEASE_OFF && !(pa_opt.debug & PA_DEBUG_POISON);
    __atomic_store_n(&page_reporting_order, prd.enabled ? PA_MIN(pa_opt.release_order, MAX_ORDER) : NR_PAGE_ORDERS,
                     __ATOMIC_RELAXED);
}

static void kick(void)
{
    int fd = __atomic_load_n(&prd.kick_fd, __ATOMIC_ACQUIRE);
    uint64_t one = 1;
    if (fd >= 0)
        (void)!write(fd, &one, sizeof(one));
}

void __page_reporting_notify(void)
{
    /* already asked: nothing to do (the common case while frees go on) */
    if (__atomic_load_n(&prd.state, __ATOMIC_RELAXED) == PAGE_REPORTING_REQUESTED)
        return;
    if (__atomic_exchange_n(&prd.state, PAGE_REPORTING_REQUESTED, __ATOMIC_ACQ_REL) == PAGE_REPORTING_IDLE)
        kick();   /* ACTIVE: the worker sees REQUESTED when its pass ends */
}

bool page_reporting_request_now(void)
{
    if (!prd.enabled)
        return false;
    page_reporting_start();
    __atomic_store_n(&prd.urgent_until, -1L, __ATOMIC_RELAXED);   /* "now", read by the worker */
    __atomic_store_n(&prd.state, PAGE_REPORTING_REQUESTED, __ATOMIC_RELEASE);
    kick();
    return true;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ------------------------------------------------------------------ */
/* One pass                                                            */
/* ------------------------------------------------------------------ */

struct report_batch {
    struct pa_page *page[PAGE_REPORTING_CAPACITY];
    unsigned int n;
    unsigned int order;
    struct zone *zone;          /* set while the blocks are off the lists (zone lock) */
};

/* The worker's batch: a child forked while it was out of the lists puts it
 * back (pcp_fork_prepare holds every zone lock, so it is consistent). */
static struct report_batch inflight;

/* The section's backing can give this block back. */
static bool block_releasable(unsigned long pfn, unsigned int order)
{
    enum pa_backing b = (enum pa_backing)pfn_to_section(pfn)->backing;
    if (b == PA_BACKING_HUGETLB_1G)
        return false;   /* no block is a whole 1 GiB hugepage */
    if (b == PA_BACKING_HUGETLB_2M && order < 21 - PAGE_SHIFT)
        return false;
    return !__atomic_load_n(&prd.warned[b], __ATOMIC_RELAXED);
}

/* Outside the zone lock: give each block to the OS.  false for a block the
 * OS refused (it goes back unreported). */
static void report_batch(struct report_batch *rb, unsigned int order, bool *ok)
{
    for (unsigned int i = 0; i < rb->n; i++) {
        unsigned long pfn = page_to_pfn(rb->page[i]);
        enum pa_backing b = (enum pa_backing)pfn_to_section(pfn)->backing;
        ok[i] = pa_os_release(pfn_to_virt(pfn), PAGE_SIZE << order, b) == 0;
        if (!ok[i] && !__atomic_exchange_n(&prd.warned[b], true, __ATOMIC_RELAXED))
            fprintf(stderr, "pagealloc: cannot give free %s memory back to the OS (%s); "
                            "sections backed so keep their memory\n",
                    pa_backing_names[b], strerror(errno));
    }
}

/* page_reporting_cycle: one free list, a batch at a time.  Zone lock held
 * on entry and exit; dropped around each report. */
static void page_reporting_cycle(struct zone *z, unsigned int order, int mt)
{
    struct report_batch *rb = &inflight;
    struct list_head *list = &z->free_area[order].free_list[mt];
    /* the kernel asks for LOW plus a whole batch before it starts; a block
     * at a time suits small zones too: the zone never drops below LOW */
    unsigned long mark = low_wmark_pages(z) + (1UL << order);
    bool ok[PAGE_REPORTING_CAPACITY];

    for (;;) {
        struct list_head *pos, *next;
        rb->n = 0;
        for (pos = list->next; pos != list && rb->n < PAGE_REPORTING_CAPACITY; pos = next) {
            next = pos->next;
            struct pa_page *page = list_entry(pos, struct pa_page, lru);
            if (PageReported(page) || !block_releasable(page_to_pfn(page), order))
                continue;
            /* as __isolate_free_page: leave the zone its reserves */
            if (!zone_watermark_ok(z, 0, mark, 0, ALLOC_CMA))
                break;
            page_reporting_isolate(z, page, order, mt);
            rb->page[rb->n++] = page;
        }
        if (!rb->n)
            return;
        rb->order = order;
        rb->zone = z;
        spin_unlock(&z->lock);
        report_batch(rb, order, ok);
        unsigned long pages = 0;
        for (unsigned int i = 0; i < rb->n; i++)
            pages += ok[i] ? 1UL << order : 0;
        count_vm_event(PA_PAGE_REPORTS);
        count_vm_events(PA_PAGES_REPORTED, pages);
        spin_lock(&z->lock);
        for (unsigned int i = 0; i < rb->n; i++)
            page_reporting_putback(z, rb->page[i], order, ok[i]);
        rb->zone = NULL;
    }
}

static void page_reporting_process_zone(struct zone *z)
{
    unsigned int min_order = __atomic_load_n(&page_reporting_order, __ATOMIC_RELAXED);

    /* ZONE_DMA is mlocked for devices: MADV_DONTNEED cannot drop it */
    if (z->zid == PA_ZONE_DMA || !populated_zone(z))
        return;
    spin_lock(&z->lock);
    for (int order = MAX_ORDER; order >= (int)min_order; order--)
        for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
            if (is_migrate_isolate(mt) || list_empty(&z->free_area[order].free_list[mt]))
                continue;
            page_reporting_cycle(z, (unsigned int)order, mt);
        }
    spin_unlock(&z->lock);
}

/* A pass reports, then takes whole free sections at the top of each zone
 * offline (arena.c): reported memory that stays free goes all the way back. */
static void page_reporting_process(void)
{
    __atomic_store_n(&prd.state, PAGE_REPORTING_ACTIVE, __ATOMIC_RELEASE);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        for (int zid = 0; zid < MAX_NR_ZONES; zid++) {
            struct zone *z = &NODE_DATA(nid)->node_zones[zid];
            page_reporting_process_zone(z);
            if (populated_zone(z))
                while (arena_offline_section(z))
                    ;
        }
}

/* ------------------------------------------------------------------ */
/* The worker                                                          */
/* ------------------------------------------------------------------ */

static long report_delay(long now)
{
    long urgent = __atomic_load_n(&prd.urgent_until, __ATOMIC_RELAXED);
    if (urgent < 0 || now < urgent)
        return 0;
    return pa_opt.release_ms;
}

static void *page_reporting_main(void *arg)
{
    struct pollfd fds[1 + PRESSURE_MAX_FDS];
    int kick_fd = (int)(intptr_t)arg;
    long due = -1;   /* when the requested pass runs; -1: none */

    fds[0].fd = kick_fd;
    fds[0].events = POLLIN;
    int nfds = 1 + (pa_opt.pressure ? pressure_open(fds + 1) : 0);
    int interval = nfds > 1 ? pressure_poll_interval() : -1;

    for (;;) {
        long now = now_ms();
        if (prd.enabled && due < 0 && __atomic_load_n(&prd.state, __ATOMIC_ACQUIRE) != PAGE_REPORTING_IDLE)
            due = now + report_delay(now);
        int timeout = due < 0 ? -1 : (int)PA_MAX(0L, due - now);
        if (interval >= 0 && (timeout < 0 || timeout > interval))
            timeout = interval;
        if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR)
            fds[0].revents = 0;
        if (fds[0].revents & POLLIN) {
            uint64_t v;
            (void)!read(kick_fd, &v, sizeof(v));
            if (due >= 0 && __atomic_load_n(&prd.urgent_until, __ATOMIC_RELAXED) < 0)
                due = now_ms();   /* page_reporting_request_now */
        }
        unsigned long excess = nfds > 1 ? pressure_check(fds + 1, nfds - 1) : 0;
        if (excess) {
            pressure_react(excess);
            if (prd.enabled) {
                __atomic_store_n(&prd.urgent_until, now_ms() + PRESSURE_URGENT_MS, __ATOMIC_RELAXED);
                __atomic_store_n(&prd.state, PAGE_REPORTING_REQUESTED, __ATOMIC_RELEASE);
                due = now_ms();
            }
        }
        if (due < 0 || now_ms() < due)
            continue;
        if (__atomic_load_n(&prd.urgent_until, __ATOMIC_RELAXED) < 0)
            __atomic_store_n(&prd.urgent_until, 0L, __ATOMIC_RELAXED);
        page_reporting_process();
        due = -1;
        int active = PAGE_REPORTING_ACTIVE;
        /* REQUESTED again meanwhile: the loop sets the next pass's time */
        __atomic_compare_exchange_n(&prd.state, &active, PAGE_REPORTING_IDLE, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
    return NULL;
}

int page_reporting_settled;

void page_reporting_start(void)
{
    if (likely(__atomic_load_n(&prd.started, __ATOMIC_ACQUIRE)))
        return;
    if (!pa_initialized())
        return;
    if (!prd.enabled && !pa_opt.pressure) {
        __atomic_store_n(&page_reporting_settled, 1, __ATOMIC_RELAXED);
        return;
    }
    mutex_lock(&prd.lock);
    if (__atomic_load_n(&prd.started, __ATOMIC_RELAXED))
        goto out;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        goto out;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);   /* the worker never handles the program's signals */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, page_reporting_main, (void *)(intptr_t)fd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        close(fd);
        goto out;
    }
    pthread_setname_np(th, "pa_reportd");
    __atomic_store_n(&prd.kick_fd, fd, __ATOMIC_RELEASE);
    __atomic_store_n(&prd.started, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&page_reporting_settled, 1, __ATOMIC_RELAXED);
    kick();   /* frees before the thread existed asked already */
out:
    mutex_unlock(&prd.lock);
}

/* Only the forking thread lives on in the child: no worker, and the
 * eventfd and pressure triggers are the parent's.  A pass that was due
 * stays requested; the worker starts with the child's next section. */
void page_reporting_fork_child(void)
{
    mutex_init(&prd.lock, LOCK_REPORTING, 0);
    int fd = __atomic_exchange_n(&prd.kick_fd, -1, __ATOMIC_RELAXED);
    if (fd >= 0)
        close(fd);
    pressure_close();
    struct zone *z = inflight.zone;
    if (z) {
        /* the parent's worker had these off the lists: ours again, unreported */
        spin_lock(&z->lock);
        for (unsigned int i = 0; i < inflight.n; i++)
            page_reporting_putback(z, inflight.page[i], inflight.order, false);
        spin_unlock(&z->lock);
        inflight.zone = NULL;
    }
    if (__atomic_load_n(&prd.state, __ATOMIC_RELAXED) != PAGE_REPORTING_IDLE)
        __atomic_store_n(&prd.state, PAGE_REPORTING_REQUESTED, __ATOMIC_RELAXED);
    __atomic_store_n(&prd.started, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&page_reporting_settled, 0, __ATOMIC_RELAXED);
}

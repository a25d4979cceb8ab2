/* SPDX-License-Identifier: MIT */
/*
 * System memory pressure: react before the kernel's reclaim stalls us or
 * its OOM killer picks us (PAGEALLOC_PRESSURE, on by default).
 *
 * What is listened to, by the page reporting worker (page_reporting.c):
 *
 *   - pressure stall information: a trigger on the process's cgroup v2
 *     memory.pressure, or on /proc/pressure/memory where there is none
 *     (the kernel's Documentation/accounting/psi.rst): "some 150000 2000000",
 *     woken when tasks stalled on memory for 150 ms within 2 s (a 2 s
 *     window is what unprivileged processes may ask for);
 *   - the cgroup's memory.high and memory.max when set: once a second,
 *     memory.current above 90% of the lower one is pressure too (the
 *     kernel throttles at memory.high without any stall being counted
 *     until reclaim fails).  Where the memory controller is on a cgroup v1
 *     hierarchy, memory.usage_in_bytes against memory.soft_limit_in_bytes
 *     and memory.limit_in_bytes, the same way.
 *
 * The reaction (pressure_react): every node's kswapd is woken with its
 * watermark boost at the ceiling, so that it runs the shrinkers and the LRU
 * helper even though the node has free memory to spare, and the worker
 * reclaims the excess itself: down to 80% of the limit, or 16 MiB for a
 * stall event.  It then reports free memory at once, and keeps reporting
 * without the delay for a few seconds, while kswapd's frees come in.
 * docs/reclaim.md has the policy.
 *
 * Only the worker thread calls these, so the state needs no lock.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#define PSI_TRIGGER "some 150000 2000000"
#define LIMIT_POLL_MS 1000
#define LIMIT_PERCENT 90
#define LIMIT_TARGET 80
/* A PSI event alone: give back this much (16 MiB) besides kswapd's boost. */
#define PSI_RECLAIM_PAGES ((16UL << 20) >> PAGE_SHIFT)

static struct {
    int psi_fd;                 /* the PSI trigger, or -1 */
    int current_fd;             /* memory.current, or -1 */
    int high_fd, max_fd;        /* memory.high, memory.max, or -1 */
} ps = { -1, -1, -1, -1 };

static int open_ro(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Whether a comma-separated list names `word`; the list is cut up. */
static bool list_has(char *list, const char *word)
{
    bool found = false;
    for (char *save, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save))
        found |= strcmp(w, word) == 0;
    return found;
}

/* This process's cgroup path from /proc/self/cgroup ("N:controllers:path"):
 * the v2 line (no controllers) for controller NULL, else the v1 line whose
 * controllers name it; "" when there is none. */
static void self_cgroup(const char *controller, char *rel, size_t len)
{
    char line[4096];
    rel[0] = 0;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *ctrls = strchr(line, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = 0;
        if (controller ? list_has(ctrls + 1, controller) : ctrls[1] == 0) {
            path[strcspn(path, "\n")] = 0;
            snprintf(rel, len, "%s", path);
            break;
        }
    }
    fclose(f);
}

/* The cgroup v2 directory of this process ("" when not found): the
 * cgroup2 mount from /proc/self/mountinfo plus the "0::" path. */
static void cgroup_dir(char *dir, size_t len)
{
    char line[4096], mnt[PATH_MAX] = "", rel[PATH_MAX] = "";
    dir[0] = 0;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char point[PATH_MAX];
        const char *sep = strstr(line, " - cgroup2 ");
        if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
            snprintf(mnt, sizeof(mnt), "%s", point);
            break;
        }
    }
    fclose(f);
    self_cgroup(NULL, rel, sizeof(rel));
    if (mnt[0] && rel[0])
        snprintf(dir, len, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
}

/* The cgroup v1 memory controller's directory of this process ("" when
 * the memory controller is not on a v1 hierarchy): the mount of the
 * "cgroup" file system whose options name memory, plus the path of the
 * memory line of /proc/self/cgroup below that mount's root. */
static void cgroup_v1_memory_dir(char *dir, size_t len)
{
    char line[4096], mnt[PATH_MAX] = "", root[PATH_MAX] = "", rel[PATH_MAX] = "";
    dir[0] = 0;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char r[PATH_MAX], point[PATH_MAX], opts[1024];
        const char *sep = strstr(line, " - cgroup ");
        if (!sep || sscanf(sep, " - cgroup %*s %1023s", opts) != 1)
            continue;
        if (list_has(opts, "memory") && sscanf(line, "%*s %*s %*s %4095s %4095s", r, point) == 2) {
            snprintf(root, sizeof(root), "%s", r);
            snprintf(mnt, sizeof(mnt), "%s", point);
            break;
        }
    }
    fclose(f);
    self_cgroup("memory", rel, sizeof(rel));
    if (!mnt[0] || !rel[0])
        return;
    /* the mount shows the hierarchy from `root` down (a container's view) */
    size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (rl && (strncmp(rel, root, rl) != 0 || (rel[rl] && rel[rl] != '/')))
        return;
    const char *below = rel + rl;
    snprintf(dir, len, "%s%s", mnt, strcmp(below, "/") == 0 ? "" : below);
}

static int psi_trigger(const char *path)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write(fd, PSI_TRIGGER, strlen(PSI_TRIGGER) + 1) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int pressure_open(struct pollfd *fds)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    int n = 0;

    cgroup_dir(dir, sizeof(dir));
    if (dir[0]) {
        snprintf(path, sizeof(path), "%s/memory.pressure", dir);
        ps.psi_fd = psi_trigger(path);
        ps.current_fd = open_ro(dir, "memory.current");
        ps.high_fd = open_ro(dir, "memory.high");
        ps.max_fd = open_ro(dir, "memory.max");
    }
    if (ps.current_fd < 0) {
        /* cgroup v1: memory.soft_limit_in_bytes stands for memory.high
         * (the level reclaim pushes the group back to), and
         * memory.limit_in_bytes for memory.max; their "unlimited" is a
         * number too large to be reached */
        cgroup_v1_memory_dir(dir, sizeof(dir));
        if (dir[0]) {
            if (ps.high_fd >= 0)
                close(ps.high_fd);
            if (ps.max_fd >= 0)
                close(ps.max_fd);
            ps.current_fd = open_ro(dir, "memory.usage_in_bytes");
            ps.high_fd = open_ro(dir, "memory.soft_limit_in_bytes");
            ps.max_fd = open_ro(dir, "memory.limit_in_bytes");
        }
    }
    if (ps.psi_fd < 0)
        ps.psi_fd = psi_trigger("/proc/pressure/memory");
    if (ps.psi_fd >= 0) {
        fds[n].fd = ps.psi_fd;
        fds[n].events = POLLPRI;
        n++;
    }
    if (ps.current_fd >= 0 && (ps.high_fd >= 0 || ps.max_fd >= 0)) {
        /* read once a second, not polled: a placeholder that never fires */
        fds[n].fd = -1;
        fds[n].events = 0;
        n++;
    }
    return n;
}

void pressure_close(void)
{
    int *fds[] = { &ps.psi_fd, &ps.current_fd, &ps.high_fd, &ps.max_fd };
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

int pressure_poll_interval(void)
{
    return ps.current_fd >= 0 && (ps.high_fd >= 0 || ps.max_fd >= 0) ? LIMIT_POLL_MS : -1;
}

/* A cgroup file holding a number or "max": the number, ULLONG_MAX for "max"
 * or an unreadable file. */
static unsigned long long read_value(int fd)
{
    char buf[64];
    if (fd < 0)
        return ULLONG_MAX;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return ULLONG_MAX;
    buf[n] = 0;
    if (buf[0] < '0' || buf[0] > '9')
        return ULLONG_MAX;
    return strtoull(buf, NULL, 10);
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

unsigned long pressure_check(struct pollfd *fds, int nfds)
{
    static long next_limit_check;
    unsigned long nr_pages = 0;

    for (int i = 0; i < nfds; i++) {
        if (fds[i].fd < 0 || !fds[i].revents)
            continue;
        if (fds[i].revents & (POLLERR | POLLNVAL)) {
            fds[i].fd = -1;   /* the cgroup went away: stop listening to it */
            continue;
        }
        if (fds[i].revents & POLLPRI)
            nr_pages = PSI_RECLAIM_PAGES;
    }
    long now = mono_ms();
    if (pressure_poll_interval() >= 0 && now >= next_limit_check) {
        next_limit_check = now + LIMIT_POLL_MS;
        unsigned long long limit = PA_MIN(read_value(ps.high_fd), read_value(ps.max_fd));
        unsigned long long current = read_value(ps.current_fd);
        /* over LIMIT_PERCENT: give back down to LIMIT_TARGET percent */
        if (limit != ULLONG_MAX && current != ULLONG_MAX && current / LIMIT_PERCENT > limit / 100) {
            unsigned long long target = limit / 100 * LIMIT_TARGET;
            nr_pages = PA_MAX(nr_pages, (unsigned long)((current - target) >> PAGE_SHIFT));
        }
    }
    return nr_pages;
}

void pressure_react(unsigned long nr_pages)
{
    count_vm_event(PA_PRESSURE_EVENTS);
    for (int nid = 0; nid < pa_mm.nr_nodes; nid++)
        wakeup_kswapd_pressure(NODE_DATA(nid));
    try_to_free_pages_pressure(nr_pages);
}

/* SPDX-License-Identifier: MIT */
/*
 * pagealloc-stat: the /proc-format reports of a running process that uses
 * libpagealloc, refreshed at an interval like vmstat(8).
 *
 *   pagealloc-stat                      list the publishing processes
 *   pagealloc-stat [REPORT] [-i SECONDS] [-n COUNT] PID
 *
 * A process publishes when it runs with PAGEALLOC_STATS_INTERVAL=MS: the
 * library then rewrites /dev/shm/pagealloc.<pid> (mode 0600) every MS
 * milliseconds with all five reports, in the layout written by
 * src/stats.c:
 *
 *     pagealloc-stats 1 pid <pid> seq <n> time <s.ns>
 *     ==== buddyinfo
 *     ...
 *     ==== end
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "pagealloc-stat"
#define PUBLISH_DIR "/dev/shm"
#define PUBLISH_PREFIX "pagealloc."
#define FORMAT_TAG "pagealloc-stats 1 "
#define MAX_FILE (64u << 20)

static const char *const reports[] = { "vmstat", "zoneinfo", "buddyinfo", "pagetypeinfo",
                                       "numastat" };

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG "                      list the processes that publish\n"
"       " PROG " [REPORT] [-i SECONDS] [-n COUNT] PID\n"
"\n"
"Show the reports of process PID, which publishes them when it runs with\n"
"PAGEALLOC_STATS_INTERVAL=MS (milliseconds between snapshots) in\n"
PUBLISH_DIR "/" PUBLISH_PREFIX "<pid>, readable only by its owner.\n"
"\n"
"REPORT (one; --vmstat by default):\n"
"      --vmstat        /proc/vmstat; after the first block the event counters\n"
"                      (all but nr_*) are shown as changes over the interval\n"
"      --zoneinfo      /proc/zoneinfo\n"
"      --buddyinfo     /proc/buddyinfo\n"
"      --pagetypeinfo  /proc/pagetypeinfo\n"
"      --numastat      numastat(8)'s table\n"
"\n"
"  -i, --interval=SECONDS   print a block every SECONDS (a decimal number > 0);\n"
"                           without -n, until interrupted\n"
"  -n, --count=COUNT        print COUNT blocks (every second unless -i is given)\n"
"  -h, --help               show this help\n"
"\n"
"Without -i and -n one block is printed.  Each block starts with a line\n"
"  ---- pid PID REPORT snapshot SEQ at HH:MM:SS[ (changes over S s)]\n"
"\n"
"Exit status: 0; 1 for no such process, no published file, permission\n"
"denied or a process that stopped publishing; 2 for a bad option.\n");
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ------------------------------------------------------------------ */
/* Reading a snapshot                                                  */
/* ------------------------------------------------------------------ */

struct snapshot {
    char *text;             /* the whole file, NUL-terminated */
    unsigned long seq;
    double time;            /* CLOCK_REALTIME seconds */
};

static bool process_exists(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* Owner of the process, or -1 if it has gone. */
static long process_uid(pid_t pid)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    if (stat(path, &st) != 0)
        return -1;
    return (long)st.st_uid;
}

/* 0 and a filled snapshot, or -1 with errno (ENOENT: not published, EACCES,
 * EPERM: not the process owner's file, EINVAL: not our format). */
static int read_snapshot(pid_t pid, struct snapshot *s)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), PUBLISH_DIR "/" PUBLISH_PREFIX "%d", (int)pid);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    /* /dev/shm is writable by everyone: believe only the process owner. */
    long owner = process_uid(pid);
    if (owner >= 0 && (long)st.st_uid != owner) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    size_t cap = (size_t)st.st_size + 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            if (cap >= MAX_FILE) {
                free(buf);
                close(fd);
                errno = EINVAL;
                return -1;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return -1;
            }
            buf = nb;
        }
    }
    close(fd);
    buf[len] = '\0';

    int hpid;
    if (strncmp(buf, FORMAT_TAG, strlen(FORMAT_TAG)) != 0 ||
        sscanf(buf + strlen(FORMAT_TAG), "pid %d seq %lu time %lf", &hpid, &s->seq, &s->time) != 3 ||
        hpid != (int)pid || !strstr(buf, "\n==== end\n")) {
        free(buf);
        errno = EINVAL;
        return -1;
    }
    s->text = buf;
    return 0;
}

/* The body of one report inside the snapshot (pointer and length). */
static bool find_report(const struct snapshot *s, const char *name, const char **body, size_t *len)
{
    char tag[64];
    snprintf(tag, sizeof(tag), "\n==== %s\n", name);
    const char *p = strstr(s->text, tag);
    if (!p)
        return false;
    p += strlen(tag);
    const char *end = strstr(p, "\n==== ");
    if (!end)
        return false;
    *body = p;
    *len = (size_t)(end - p) + 1;
    return true;
}

/* ------------------------------------------------------------------ */
/* Listing                                                             */
/* ------------------------------------------------------------------ */

static int list_publishers(void)
{
    DIR *d = opendir(PUBLISH_DIR);
    if (!d)
        fail("%s: %s", PUBLISH_DIR, strerror(errno));

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double tnow = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    int count = 0;
    struct dirent *e;

    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, PUBLISH_PREFIX, strlen(PUBLISH_PREFIX)) != 0)
            continue;
        const char *num = e->d_name + strlen(PUBLISH_PREFIX);
        char *end;
        errno = 0;
        long pid = strtol(num, &end, 10);
        if (*num < '1' || *num > '9' || *end || errno || pid > INT_MAX)
            continue;
        if (count++ == 0)
            printf("%7s  %-16s  %s\n", "PID", "COMMAND", "SNAPSHOT");

        char comm[64] = "?", path[64];
        snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof(comm), f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }

        char state[128];
        struct snapshot s;
        if (!process_exists((pid_t)pid)) {
            /* left behind by a process that died abnormally: ours to remove
             * if we own it (the library removes it at a normal exit) */
            struct stat sb;
            if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
                sb.st_uid == geteuid() && unlinkat(dirfd(d), e->d_name, 0) == 0)
                snprintf(state, sizeof(state), "stale file removed: the process has exited");
            else
                snprintf(state, sizeof(state), "stale file: the process has exited");
        } else if (read_snapshot((pid_t)pid, &s) == 0) {
            snprintf(state, sizeof(state), "seq %lu, %.1f s old", s.seq, fmax(0.0, tnow - s.time));
            free(s.text);
        } else if (errno == EACCES) {
            snprintf(state, sizeof(state), "permission denied");
        } else if (errno == EPERM) {
            snprintf(state, sizeof(state), "not written by the process owner");
        } else {
            snprintf(state, sizeof(state), "unreadable: %s", strerror(errno));
        }
        printf("%7ld  %-16s  %s\n", pid, comm, state);
    }
    closedir(d);
    if (count == 0)
        printf("no process publishes pagealloc stats (run one with PAGEALLOC_STATS_INTERVAL=1000)\n");
    return 0;
}

/* ------------------------------------------------------------------ */
/* vmstat with deltas                                                  */
/* ------------------------------------------------------------------ */

struct counter {
    char name[64];
    unsigned long long value;
};

static size_t parse_vmstat(const char *body, size_t len, struct counter **out)
{
    size_t n = 0, cap = 64;
    struct counter *c = malloc(cap * sizeof(*c));
    const char *p = body, *end = body + len;

    while (c && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        char line[160];
        size_t l = (size_t)(nl - p) < sizeof(line) - 1 ? (size_t)(nl - p) : sizeof(line) - 1;
        memcpy(line, p, l);
        line[l] = '\0';
        p = nl + 1;
        if (n == cap) {
            cap *= 2;
            struct counter *nc = realloc(c, cap * sizeof(*c));
            if (!nc)
                break;
            c = nc;
        }
        if (sscanf(line, "%63s %llu", c[n].name, &c[n].value) == 2)
            n++;
    }
    *out = c;
    return c ? n : 0;
}

static bool is_gauge(const char *name)
{
    return strncmp(name, "nr_", 3) == 0;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void sleep_seconds(double s)
{
    struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9) };
    while (!interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void snapshot_error(pid_t pid, int err)
{
    char path[64];
    snprintf(path, sizeof(path), PUBLISH_DIR "/" PUBLISH_PREFIX "%d", (int)pid);
    switch (err) {
    case ENOENT:
        fail("process %d publishes no stats (no %s; run it with PAGEALLOC_STATS_INTERVAL=MS)",
             (int)pid, path);
    case EACCES: {
        struct stat st;
        if (stat(path, &st) == 0)
            fail("%s: permission denied (owned by uid %ld; only the owner may read it)", path,
                 (long)st.st_uid);
        fail("%s: permission denied", path);
    }
    case EPERM:
        fail("%s: not owned by the owner of process %d; ignored", path, (int)pid);
    case EINVAL:
        fail("%s: not a pagealloc stats file (or a truncated one)", path);
    default:
        fail("%s: %s", path, strerror(err));
    }
}

enum { OPT_REPORT = 256 };

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "vmstat", no_argument, NULL, OPT_REPORT + 0 },
        { "zoneinfo", no_argument, NULL, OPT_REPORT + 1 },
        { "buddyinfo", no_argument, NULL, OPT_REPORT + 2 },
        { "pagetypeinfo", no_argument, NULL, OPT_REPORT + 3 },
        { "numastat", no_argument, NULL, OPT_REPORT + 4 },
        { "interval", required_argument, NULL, 'i' },
        { "count", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int report = -1;
    double interval = 0;
    long count = 0;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:n:h", long_opts, NULL)) != -1) {
        if (c >= OPT_REPORT && c < OPT_REPORT + 5) {
            if (report >= 0 && report != c - OPT_REPORT)
                usage_error("--%s and --%s: choose one report", reports[report],
                            reports[c - OPT_REPORT]);
            report = c - OPT_REPORT;
            continue;
        }
        char *end;
        switch (c) {
        case 'i':
            errno = 0;
            interval = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(interval > 0) || interval > 86400 ||
                optarg[0] < '0' || optarg[0] > '9')
                usage_error("-i %s: bad interval (use seconds > 0, like 1 or 0.5)", optarg);
            break;
        case 'n':
            errno = 0;
            count = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || count < 1 || optarg[0] < '0' || optarg[0] > '9')
                usage_error("-n %s: bad count (use a whole number >= 1)", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            usage_error("%s: missing value", argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256 && strncmp(argv[optind - 1], "--", 2) != 0)
                usage_error("-%c: unknown option", optopt);
            usage_error("%s: unknown option", argv[optind - 1]);
        }
    }
    if (optind == argc) {
        if (report >= 0 || interval > 0 || count > 0)
            usage_error("a PID is needed with a report, -i or -n");
        return list_publishers();
    }
    if (optind + 1 < argc)
        usage_error("%s: one PID only", argv[optind + 1]);

    const char *arg = argv[optind];
    char *end;
    errno = 0;
    long lpid = strtol(arg, &end, 10);
    if (errno || *end || arg[0] < '1' || arg[0] > '9' || lpid > INT_MAX)
        usage_error("%s: not a process id", arg);
    pid_t pid = (pid_t)lpid;
    if (report < 0)
        report = 0;
    if (interval == 0 && count == 0)
        count = 1;
    if (interval == 0)
        interval = 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct counter *prev = NULL;
    size_t nprev = 0;
    unsigned long prev_seq = 0;
    double prev_time = 0;

    for (long block = 0; !interrupted && (count == 0 || block < count); block++) {
        if (block > 0) {
            sleep_seconds(interval);
            if (interrupted)
                break;
        }
        struct snapshot s;
        if (!process_exists(pid)) {
            if (block > 0)
                fail("process %d has exited", (int)pid);
            fail("no such process: %d", (int)pid);
        }
        if (read_snapshot(pid, &s) != 0) {
            int err = errno;
            if (block > 0 && err == ENOENT)
                fail("process %d stopped publishing (it has exited?)", (int)pid);
            snapshot_error(pid, err);
        }
        const char *body;
        size_t len;
        if (!find_report(&s, reports[report], &body, &len))
            snapshot_error(pid, EINVAL);

        time_t t = (time_t)s.time;
        struct tm tm;
        char when[16];
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%H:%M:%S", &tm);

        if (report != 0) {
            printf("---- pid %d %s snapshot %lu at %s\n", (int)pid, reports[report], s.seq, when);
            fwrite(body, 1, len, stdout);
        } else {
            struct counter *cur;
            size_t ncur = parse_vmstat(body, len, &cur);
            if (block == 0 || !prev) {
                printf("---- pid %d vmstat snapshot %lu at %s\n", (int)pid, s.seq, when);
                for (size_t i = 0; i < ncur; i++)
                    printf("%s %llu\n", cur[i].name, cur[i].value);
            } else {
                printf("---- pid %d vmstat snapshot %lu at %s (changes over %.1f s)\n", (int)pid,
                       s.seq, when, s.seq == prev_seq ? 0.0 : s.time - prev_time);
                for (size_t i = 0; i < ncur; i++) {
                    unsigned long long before = 0;
                    bool found = false;
                    size_t j = i < nprev && strcmp(prev[i].name, cur[i].name) == 0 ? i : nprev;
                    if (j < nprev) {
                        before = prev[j].value;
                        found = true;
                    } else {
                        for (j = 0; j < nprev && !found; j++)
                            if (strcmp(prev[j].name, cur[i].name) == 0) {
                                before = prev[j].value;
                                found = true;
                            }
                    }
                    if (is_gauge(cur[i].name) || !found)
                        printf("%s %llu\n", cur[i].name, cur[i].value);
                    else
                        printf("%s %llu\n", cur[i].name,
                               cur[i].value >= before ? cur[i].value - before : 0);
                }
            }
            free(prev);
            prev = cur;
            nprev = ncur;
        }
        prev_seq = s.seq;
        prev_time = s.time;
        free(s.text);
        fflush(stdout);
    }
    free(prev);
    return 0;
}

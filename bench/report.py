#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Median, ratios, targets and tables for bench/run.sh (standard library only).

    report.py RAW_CSV OUT_DIR [--meta KEY=VALUE ...]

RAW_CSV has the rows of every run: run,allocator,workload,threads,ns_per_op,extra
(extra: key=value pairs separated by ';').  Writes OUT_DIR/results.csv (one
row per allocator/workload/threads: the median over runs, min, max, the
number of runs, and the median of every numeric extra), OUT_DIR/results.md
and OUT_DIR/plot.dat (for plot.gp), and prints results.md to stdout.
"""
import csv
import statistics
import sys
from collections import defaultdict

# Column order of the tables and the plot; pagealloc (the page form) is the
# one every ratio and target is about.
ALLOCATORS = ["pagealloc", "pagealloc-addr", "tcmalloc", "jemalloc", "mimalloc", "glibc", "numa", "mmap"]
MAIN = "pagealloc"
PEERS = ["tcmalloc", "jemalloc", "mimalloc", "glibc", "numa", "mmap"]
WORKLOADS = ["hot_pair", "batch256", "random_orders", "prodcons", "scale_pair", "scale_batch256",
             "scale_unpinned_batch256", "frag", "frag_nogroup"]
# Measured alongside, shown only in the scaling table: no allocation at all,
# so its speed-up says how many CPUs the machine really gave the run.
BASELINE = "scale_cpu"
# The same for threads that are not pinned, run interleaved with
# scale_unpinned_batch256; that workload's target is relative to it.
UNPINNED_BASELINE = "scale_unpinned_cpu"
UNPINNED_LIMIT = 0.9
UNITS = {
    "hot_pair": "ns per alloc+free pair",
    "batch256": "ns per page (256 allocs, then 256 frees)",
    "random_orders": "ns per step (free a random slot, allocate order 0..9, touch)",
    "prodcons": "ns per block (allocated on A, freed on B)",
    "scale_pair": "wall ns per pair, all threads together (1e9 / total ops/s)",
    "scale_batch256": "wall ns per page, all threads together",
    "scale_unpinned_batch256": "wall ns per page, all threads together, threads not pinned",
    "frag": "ns per churn step (mobility grouping on for pagealloc)",
    "frag_nogroup": "ns per churn step (pagealloc, one migratetype for all)",
}

# The page-allocator targets: (rows, peer, limit).  "rows" are (workload, threads).
TC_TARGETS = [("hot_pair", 1), ("batch256", 1), ("random_orders", 1)]
TC_LIMIT = 0.7
JE_LIMIT = 0.5
SPEEDUP_LIMIT = 1.9
# The mmap(64 KiB) + touch + munmap cycle under the shim at most
# 1/50 of the kernel's time.
CYCLE_TARGET = 50
# Peak then idle (peak_idle.c): pagealloc's RSS 3 s after the frees at most
# this share of its peak.
PEAK_IDLE_TARGET = 0.05
PEAK_IDLE_POINTS = [("rss_peak_mib", "peak"), ("rss_0s_mib", "0 s"), ("rss_1s_mib", "1 s"),
                    ("rss_3s_mib", "3 s"), ("rss_11s_mib", "11 s")]


def peak_idle_report(rows, out_dir, allocators):
    """Markdown for the peak-then-idle rows ({allocator: extras}), and
    OUT_DIR/plot_rss.dat for plot_rss.gp: one line per time point, one
    column per allocator (RSS MiB)."""
    if not rows:
        return None
    allocs = [a for a in allocators if a in rows] + sorted(set(rows) - set(allocators))
    lines = ["| allocator | " + " | ".join(f"RSS MiB {label}" for _, label in PEAK_IDLE_POINTS) +
             " | 3 s / peak | alloc s | free s |", "|" + "---|" * (len(PEAK_IDLE_POINTS) + 4)]
    for a in allocs:
        e = rows[a]
        vals = [num(e.get(k)) for k, _ in PEAK_IDLE_POINTS]
        share = vals[3] / vals[0] if vals[0] and vals[3] is not None else None
        cells = ["–" if v is None else f"{v:,.0f}" for v in vals]
        verdict_txt = "–" if share is None else f"{share * 100:.1f}%"
        if a == MAIN and share is not None:
            verdict_txt += f" ({'met' if share <= PEAK_IDLE_TARGET else 'MISSED'} ≤{PEAK_IDLE_TARGET * 100:.0f}%)"
        lines.append(f"| {a} | " + " | ".join(cells) + f" | {verdict_txt} | {e.get('alloc_s', '–')} | "
                     f"{e.get('free_s', '–')} |")
    with open(f"{out_dir}/plot_rss.dat", "w") as f:
        f.write("point " + " ".join(allocs) + "\n")
        for k, label in PEAK_IDLE_POINTS:
            f.write(label.replace(" ", "") + " " + " ".join(
                "NaN" if num(rows[a].get(k)) is None else rows[a][k] for a in allocs) + "\n")
    return "\n".join(lines)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def parse_extra(s):
    out = {}
    for kv in (s or "").split(";"):
        if "=" in kv:
            k, v = kv.split("=", 1)
            out[k] = v
    return out


def fmt_ns(v):
    if v is None:
        return "–"
    if v >= 10000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def verdict(r, limit, upper=True):
    if r is None:
        return "n/a"
    ok = r <= limit if upper else r >= limit
    return f"{'met' if ok else 'MISSED'} ({r:.2f}×)"


def cycle_report(per_run):
    """Markdown for the mmap cycle: kernel vs shim, wall and CPU time per
    cycle.  per_run: {workload: {run: {"kernel"|"shim": (wall, cpu)}}}.  The
    ratio is taken within each run (both sides ran in the same process,
    interleaved), then the median over runs; min..max shows the spread."""
    if not per_run:
        return None
    lines = ["| cycle | kernel wall ns | shim wall ns | kernel/shim wall (min..max) | kernel CPU ns | "
             f"shim CPU ns | kernel/shim CPU (min..max) | shim ≤ 1/{CYCLE_TARGET} of kernel, wall | CPU |",
             "|---|---|---|---|---|---|---|---|---|"]
    for wl in sorted(per_run):
        runs = [r for r in per_run[wl].values() if "kernel" in r and "shim" in r]
        if not runs:
            continue
        kw = statistics.median(r["kernel"][0] for r in runs)
        sw = statistics.median(r["shim"][0] for r in runs)
        rw = [r["kernel"][0] / r["shim"][0] for r in runs if r["shim"][0]]
        cpu = [r for r in runs if r["kernel"][1] is not None and r["shim"][1]]
        kc = statistics.median(r["kernel"][1] for r in cpu) if cpu else None
        sc = statistics.median(r["shim"][1] for r in cpu) if cpu else None
        rc = [r["kernel"][1] / r["shim"][1] for r in cpu]

        def span(v):
            return "–" if not v else f"{statistics.median(v):.1f}× ({min(v):.1f}..{max(v):.1f})"

        def verdict_of(v):
            if not v:
                return "n/a"
            m = statistics.median(v)
            return f"{'met' if m >= CYCLE_TARGET else 'MISSED'} ({m:.1f}×)"
        size = wl[len("mmap_cycle_"):]
        lines.append(f"| mmap({size}) + touch + munmap | {fmt_ns(kw)} | {fmt_ns(sw)} | {span(rw)} | "
                     f"{fmt_ns(kc)} | {fmt_ns(sc)} | {span(rc)} | {verdict_of(rw)} | {verdict_of(rc)} |")
    return "\n".join(lines)


# The malloc workload (bench-malloc-heap), jemalloc on libpagealloc
# at most 1.1x plain jemalloc per malloc/free, with more of the heap on
# 2 MiB pages.
HEAP_WORKLOAD = "malloc_mixed"
HEAP_PLAIN, HEAP_PA = "jemalloc", "jemalloc-pagealloc"
HEAP_LIMIT = 1.1


def heap_report(samples, extras, out_dir):
    """Markdown for the malloc workload, and heap.dat for plot_heap.gp.
    samples: {(alloc, threads): [ns]}, extras: {(alloc, threads): {k: [v]}}."""
    if not samples:
        return ""
    med = {k: statistics.median(v) for k, v in samples.items()}
    ex = {k: {e: statistics.median(v) for e, v in d.items()} for k, d in extras.items()}
    lines = ["| allocator | threads | wall ns/op | CPU ns/op | RSS MiB (peak) | on 2 MiB pages | "
             "÷ plain jemalloc (wall, CPU) | target ≤1.1× | more on 2 MiB pages |",
             "|---|---|---|---|---|---|---|---|---|"]
    dat = ["allocator wall_ns cpu_ns rss_mib huge_pct"]
    order = [HEAP_PLAIN, HEAP_PA] + sorted({a for a, _ in med} - {HEAP_PLAIN, HEAP_PA})
    for a in order:
        for (b, t) in sorted(k for k in med if k[0] == a):
            e = ex.get((b, t), {})
            base, base_e = med.get((HEAP_PLAIN, t)), ex.get((HEAP_PLAIN, t), {})
            r = med[(b, t)] / base if base and b != HEAP_PLAIN else None
            rc = (e["cpu_ns"] / base_e["cpu_ns"]) if b != HEAP_PLAIN and base_e.get("cpu_ns") and "cpu_ns" in e else None
            ratio = f"{fmt_ratio(r)}, {fmt_ratio(rc)}" if r is not None else ""
            target = verdict(r, HEAP_LIMIT) if r is not None else ""
            more = ""
            if b != HEAP_PLAIN and "huge_pct" in e and "huge_pct" in base_e:
                more = ("met" if e["huge_pct"] > base_e["huge_pct"] else "NOT met") + \
                       f" ({e['huge_pct']:.1f}% vs {base_e['huge_pct']:.1f}%)"
            lines.append(f"| {b} | {t} | {fmt_ns(med[(b, t)])} | {fmt_ns(e.get('cpu_ns'))} | "
                         f"{e.get('rss_mib', float('nan')):.0f} ({e.get('hwm_mib', float('nan')):.0f}) | "
                         f"{e.get('huge_mib', float('nan')):.0f} MiB ({e.get('huge_pct', float('nan')):.1f}%) | "
                         f"{ratio} | {target} | {more} |")
            dat.append(f"{b} {med[(b, t)]:.3f} {e.get('cpu_ns', float('nan')):.3f} "
                       f"{e.get('rss_mib', float('nan')):.1f} {e.get('huge_pct', float('nan')):.1f}")
    with open(f"{out_dir}/heap.dat", "w") as f:
        f.write("\n".join(dat) + "\n")
    return "\n".join(lines)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    raw_path, out_dir = argv[1], argv[2]
    heap_samples = defaultdict(list)                       # malloc workload: (alloc, threads) -> [ns]
    heap_extras = defaultdict(lambda: defaultdict(list))
    meta = {}
    i = 3
    while i < len(argv):
        if argv[i] == "--meta" and i + 1 < len(argv):
            k, _, v = argv[i + 1].partition("=")
            meta[k] = v
            i += 2
        else:
            print(f"report.py: unknown argument {argv[i]}", file=sys.stderr)
            return 2

    samples = defaultdict(list)       # (alloc, workload, threads) -> [ns]
    extras = defaultdict(lambda: defaultdict(list))
    info = {}
    runs = set()
    cycle_runs = defaultdict(lambda: defaultdict(dict))   # mmap cycle: workload -> run -> side
    peak_rows = {}                                         # peak_idle: allocator -> extras
    with open(raw_path, newline="") as f:
        for row in csv.DictReader(f):
            alloc, wl = row["allocator"], row["workload"]
            runs.add(row["run"])
            if wl == "info":
                # Prefer the process that ran the timed workloads (the
                # fragmentation runs use a smaller arena).
                ex = parse_extra(row["extra"])
                if alloc not in info or (ex.get("workloads") == "core" and info[alloc].get("workloads") != "core"):
                    info[alloc] = ex
                continue
            key = (alloc, wl, int(row["threads"]))
            ns = num(row["ns_per_op"])
            if ns is None:
                continue
            if wl == "peak_idle":
                peak_rows[alloc] = parse_extra(row["extra"])
                continue
            if wl.startswith("mmap_cycle_"):
                cpu = num(parse_extra(row["extra"]).get("cpu_ns_per_op"))
                cycle_runs[wl][row["run"]][alloc] = (ns, cpu)
                continue
            if wl == HEAP_WORKLOAD:
                heap_samples[(alloc, key[2])].append(ns)
                for k, v in parse_extra(row["extra"]).items():
                    if num(v) is not None:
                        heap_extras[(alloc, key[2])][k].append(float(v))
                continue
            samples[key].append(ns)
            for k, v in parse_extra(row["extra"]).items():
                if num(v) is not None:
                    extras[key][k].append(float(v))


    # The mmap cycle rows (kernel vs shim) get their own table.
    cycle_table = cycle_report(cycle_runs)
    heap_table = heap_report(heap_samples, heap_extras, out_dir)
    if not samples:
        print("report.py: no numbers in " + raw_path, file=sys.stderr)
        return 1

    med = {k: statistics.median(v) for k, v in samples.items()}
    med_extra = {k: {e: statistics.median(v) for e, v in ex.items()} for k, ex in extras.items()}
    allocs = [a for a in ALLOCATORS if any(k[0] == a for k in med)]
    allocs += sorted({k[0] for k in med} - set(allocs))
    peers = [p for p in PEERS if p in allocs]

    # results.csv
    with open(f"{out_dir}/results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["allocator", "workload", "threads", "ns_per_op", "min", "max", "runs", "extra"])
        for key in sorted(med, key=lambda k: (WORKLOADS.index(k[1]) if k[1] in WORKLOADS else 99, k[2],
                                              allocs.index(k[0]))):
            ex = ";".join(f"{e}={v:g}" for e, v in sorted(med_extra.get(key, {}).items()))
            w.writerow([key[0], key[1], key[2], f"{med[key]:.3f}", f"{min(samples[key]):.3f}",
                        f"{max(samples[key]):.3f}", len(samples[key]), ex])

    # Rows of the main table: (workload, threads), in WORKLOADS order.
    rows = sorted({(k[1], k[2]) for k in med if k[1] not in (BASELINE, UNPINNED_BASELINE)},
                  key=lambda r: (WORKLOADS.index(r[0]) if r[0] in WORKLOADS else 99, r[1]))
    max_threads = max((t for (w, t) in rows if w.startswith("scale_")), default=1)

    def label(wl, t):
        return f"{wl} ×{t}" if wl.startswith("scale_") else wl

    def get(a, wl, t):
        return med.get((a, wl, t))

    def ratio(wl, t, peer):
        pa, p = get(MAIN, wl, t), get(peer, wl, t)
        return pa / p if pa is not None and p else None

    def speedup(a, wl, n):
        one, many = get(a, wl, 1), get(a, wl, n)
        return one / many if one and many else None

    two = 2 if max_threads >= 2 else None

    md = []
    md.append("| workload | " + " | ".join(allocs) + " | " +
              " | ".join(f"pa/{p}" for p in peers) +
              f" | ≤{TC_LIMIT}× tcmalloc | ≤{JE_LIMIT}× jemalloc | 2 thr ≥{SPEEDUP_LIMIT}× 1 thr |")
    md.append("|" + "---|" * (1 + len(allocs) + len(peers) + 3))
    for wl, t in rows:
        cells = [label(wl, t)]
        cells += [fmt_ns(get(a, wl, t)) for a in allocs]
        cells += [fmt_ratio(ratio(wl, t, p)) for p in peers]
        cells.append(verdict(ratio(wl, t, "tcmalloc"), TC_LIMIT) if (wl, t) in TC_TARGETS else "")
        je = "" if wl == "frag_nogroup" else verdict(ratio(wl, t, "jemalloc"), JE_LIMIT)
        cells.append(je)
        cells.append(verdict(speedup(MAIN, wl, 2), SPEEDUP_LIMIT, upper=False)
                     if wl.startswith("scale_") and "unpinned" not in wl and t == 2 else "")
        md.append("| " + " | ".join(cells) + " |")
    main_table = "\n".join(md)

    # Targets, one line each.
    tg = ["| target | measured | verdict |", "|---|---|---|"]
    for wl, t in TC_TARGETS:
        r = ratio(wl, t, "tcmalloc")
        tg.append(f"| {wl}: pagealloc ≤ {TC_LIMIT}× tcmalloc | {fmt_ratio(r)} | "
                  f"{verdict(r, TC_LIMIT).split(' ')[0]} |")
    je_rows = [(wl, t) for wl, t in rows if wl != "frag_nogroup"]
    je_bad = []
    for wl, t in je_rows:
        r = ratio(wl, t, "jemalloc")
        v = verdict(r, JE_LIMIT).split(" ")[0]
        if v != "met":
            je_bad.append(label(wl, t))
        tg.append(f"| {label(wl, t)}: pagealloc ≤ {JE_LIMIT}× jemalloc | {fmt_ratio(r)} | {v} |")
    for wl in ("scale_pair", "scale_batch256"):
        s = speedup(MAIN, wl, 2) if two else None
        tg.append(f"| {wl}: pagealloc 2 threads ≥ {SPEEDUP_LIMIT}× 1 thread | "
                  f"{'–' if s is None else f'{s:.2f}×'} | "
                  f"{verdict(s, SPEEDUP_LIMIT, upper=False).split(' ')[0]} |")
    # unpinned threads: speed-up against the PRNG control of the same run
    s = speedup(MAIN, "scale_unpinned_batch256", max_threads)
    c = speedup(MAIN, UNPINNED_BASELINE, max_threads)
    rel = s / c if s is not None and c else None
    tg.append(f"| scale_unpinned_batch256: pagealloc speed-up {max_threads}/1 ≥ {UNPINNED_LIMIT}× the control's "
              f"({UNPINNED_BASELINE}) | {'–' if rel is None else f'{rel:.2f}× ({s:.2f}× vs {c:.2f}×)'} | "
              f"{verdict(rel, UNPINNED_LIMIT, upper=False).split(' ')[0]} |")
    targets_table = "\n".join(tg)

    # Thread scaling: ops/s per thread count and speed-up of N over 1.
    sc = ["| allocator | workload | " + " | ".join(f"{n} thr ops/s" for n in range(1, max_threads + 1)) +
          f" | speed-up {max_threads}/1 |", "|" + "---|" * (3 + max_threads)]
    for wl in ("scale_pair", "scale_batch256", BASELINE, "scale_unpinned_batch256", UNPINNED_BASELINE):
        for a in allocs:
            vals = [get(a, wl, n) for n in range(1, max_threads + 1)]
            if all(v is None for v in vals):
                continue
            s = speedup(a, wl, max_threads)
            sc.append(f"| {a} | {wl} | " + " | ".join("–" if v is None else f"{1e9 / v / 1e6:.1f} M"
                                                      for v in vals) +
                      f" | {'–' if s is None else f'{s:.2f}×'} |")
    scale_table = "\n".join(sc)
    base = [speedup(a, BASELINE, max_threads) for a in allocs]
    base = [b for b in base if b is not None]
    if base:
        scale_table += (f"\n\n`{BASELINE}` runs no allocator code (a PRNG loop): its median speed-up "
                        f"{statistics.median(base):.2f}× is what this machine gave the run; well below "
                        f"{max_threads}× means other work was using the CPUs and the scaling numbers are not "
                        "trustworthy.")

    # Fragmentation: largest order, RSS, at-rest hugepages (pagealloc).
    fr = ["| allocator | run | ns/step | largest order after churn | VmRSS MiB | live MiB | failed allocs | "
          "2 MiB blocks at rest | % of arena | 2 MiB blocks after compaction |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for wl in ("frag", "frag_nogroup"):
        for a in allocs:
            key = (a, wl, 1)
            if key not in med:
                continue
            e = med_extra.get(key, {})

            def g(k, f="{:.0f}"):
                return f.format(e[k]) if k in e and e[k] >= 0 else "–"
            run = "grouping off" if wl == "frag_nogroup" else ("grouping on" if a.startswith("pagealloc") else "")
            # live set held: free 2 MiB blocks after pa_compact_memory, of
            # what the free memory could hold (before it; pages migrated)
            cpt = "–"
            if "blocks_after_compact" in e:
                share = (f" of {g('blocks_possible')} possible ({g('blocks_after_pct', '{:.1f}')}%)"
                         if "blocks_possible" in e else "")
                cpt = (f"{g('blocks_after_compact')}{share} (before: {g('blocks_live')}; "
                       f"{g('migrated')} pages migrated)")
            fr.append(f"| {a} | {run} | {fmt_ns(med[key])} | {g('max_order')} | {g('rss_mib', '{:.0f}')} | "
                      f"{g('live_mib', '{:.0f}')} | {g('fails')} | {g('hp_rest')} | {g('hp_rest_pct', '{:.1f}')} | "
                      f"{cpt} |")
    frag_table = "\n".join(fr)

    # Page faults per operation during the timed loops (from getrusage).
    fl = ["| workload | " + " | ".join(allocs) + " |", "|" + "---|" * (1 + len(allocs))]
    for wl, t in rows:
        vals = [med_extra.get((a, wl, t), {}).get("faults_per_op") for a in allocs]
        if all(v is None for v in vals):
            continue
        fl.append(f"| {label(wl, t)} | " + " | ".join("–" if v is None else f"{v:.2f}" for v in vals) + " |")
    faults_table = "\n".join(fl)

    info_lines = []
    for a in allocs:
        if a in info:
            kv = ", ".join(f"{k}={v}" for k, v in info[a].items() if k not in ("rss_mib", "workloads"))
            info_lines.append(f"- {a}: {kv}")

    out = []
    out.append(f"# Benchmark results{' (quick mode)' if meta.get('mode') == 'quick' else ''}\n")
    for k in ("command", "date", "machine", "library", "load", "settings"):
        if k in meta:
            out.append(f"- {k}: {meta[k]}")
    out.append(f"- runs: {len(runs)} per allocator and workload; every number is the median ns per "
               "operation (lower is better); `pa/X` = pagealloc ÷ X (below 1: pagealloc is faster)")
    out.append("")
    out.append("## All workloads (ns per operation, median)\n")
    out.append(main_table)
    out.append("")
    out.append("Units: " + "; ".join(f"`{w}` {UNITS[w]}" for w in WORKLOADS if any(r[0] == w for r in rows)) + ".")
    out.append("")
    out.append("## Targets\n")
    out.append(targets_table)
    out.append("")
    out.append("## Thread scaling (total throughput, median)\n")
    out.append(scale_table)
    out.append("")
    if cycle_table:
        out.append("## mmap cycle: kernel vs the LD_PRELOAD shim\n")
        out.append(cycle_table)
        out.append("")
        out.append("One process (`bench-mmap-cycle` under `LD_PRELOAD=libpagealloc-preload.so`) alternates "
                   "rounds: the kernel cycle calls the system calls directly, the shim cycle calls the "
                   "interposed mmap/munmap. Every 4 KiB page is written once; the shim cycle first checks "
                   "the byte reads zero. CPU = the process's CPU time per cycle, every thread included. "
                   "Ratios are taken within each run, then the median over runs (min..max).")
        out.append("")
    peak_table = peak_idle_report(peak_rows, out_dir, ALLOCATORS)
    if peak_table:
        out.append("## Peak then idle: resident memory after the frees\n")
        out.append(peak_table)
        out.append("")
        out.append("`bench-peak-idle-<allocator>` (one process each, first run only): allocate the total in "
                   "1 MiB blocks, write every 4 KiB page, free everything, then sleep without calling the "
                   "allocator; VmRSS at the peak and 0, 1, 3 and 11 s after the last free. Plot: "
                   "results_rss.png.")
        out.append("")
    out.append("## Fragmentation\n")
    out.append(frag_table)
    out.append("")
    out.append("## Page faults per operation (timed part, median)\n")
    out.append(faults_table)
    out.append("")
    out.append("Every block is touched once per 4 KiB page, so a fault here is memory the allocator gave "
               "back to the kernel (munmap, MADV_DONTNEED) and took again, or fresh memory; each costs "
               "about 2-4 µs on this machine.")
    out.append("")
    if heap_table:
        out.append("## malloc heap: jemalloc with its extents on libpagealloc\n")
        out.append(heap_table)
        out.append("")
        out.append("`bench-malloc-heap`: threads each keep 4096 live blocks and replace a random one per "
                   "operation (free + malloc, first byte, last byte and one byte per page written); sizes "
                   "16 B-4 KiB 90%, to 64 KiB 9%, to 1 MiB 1%. The same binary runs plain (jemalloc) and "
                   "under `LD_PRELOAD=libpagealloc-jemalloc-preload.so` (jemalloc-pagealloc: every extent "
                   "from libpagealloc, as `pagealloc-run --malloc=jemalloc`). RSS and the 2 MiB share come "
                   "from /proc/self/smaps at the end (AnonHugePages + hugetlb over Rss + hugetlb). "
                   "Plot: results-heap.png.")
        out.append("")
    if info_lines:
        out.append("## Allocators\n")
        out.extend(info_lines)
        out.append("")
    text = "\n".join(out)
    with open(f"{out_dir}/results.md", "w") as f:
        f.write(text)
    print(text)

    # plot.dat: one line per table row, one column per allocator, NaN if absent.
    with open(f"{out_dir}/plot.dat", "w") as f:
        f.write("workload " + " ".join(allocs) + "\n")
        for wl, t in rows:
            vals = [get(a, wl, t) for a in allocs]
            f.write(label(wl, t).replace(" ×", "_x") + " " +
                    " ".join("NaN" if v is None else f"{v:.3f}" for v in vals) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

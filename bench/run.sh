#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run the benchmark harness: every allocator, every workload, several runs,
# interleaved; median per (allocator, workload); markdown table, CSV, plot.
#
#   bench/run.sh [--quick] [--runs N] [--out DIR] [--touch pages|first|none]
#                [--node-size SIZE] [--frag-node-size SIZE] [--heap-hugepages N]
#
#   --quick            shorter runs (whole thing well under a minute on 2 cores)
#   --runs N           runs per allocator and workload (default 5, at least 1)
#   --out DIR          output directory (default bench/out)
#   --touch MODE       how blocks are touched (default pages: one byte per 4 KiB page)
#   --node-size SIZE   PAGEALLOC_NODE_SIZE for the timed workloads (default 4G)
#   --frag-node-size SIZE   ... for the fragmentation runs (default 384M)
#   --heap-hugepages N reserve N 2 MiB hugepages (vm.nr_hugepages, as root)
#                      for the malloc heap runs and put the old value back
#                      after each; their pagealloc side then uses hugetlb
#
# Also runs bench-peak-idle-<allocator> once per allocator (first run): RSS
# at the peak of 2 GiB (quick: 512 MiB) in 1 MiB blocks and 0, 1, 3, 11 s
# after freeing it all, table and DIR/results_rss.png.
#
# Also runs bench-mmap-cycle under LD_PRELOAD=libpagealloc-preload.so: the
# mmap(64 KiB) + touch + munmap cycle through the kernel and through the
# shim, alternating in one process, reported with the shim's target (shim at
# most 1/50 of the kernel's time), wall and CPU time.
#
# And bench-malloc-heap, a multi-threaded malloc workload with
# mixed sizes, twice: plain jemalloc, and jemalloc with every extent from
# libpagealloc (LD_PRELOAD=libpagealloc-jemalloc-preload.so): ns per
# malloc+free, resident memory, share on 2 MiB pages (results-heap.png).
#
# Builds first (cmake --build BUILD_DIR --target bench; configures BUILD_DIR,
# default build/, if it has no cache).  Writes DIR/raw.csv (every run),
# DIR/results.csv (medians), DIR/results.md (tables; also printed) and
# DIR/results.png (gnuplot).  Other PAGEALLOC_* variables in the environment
# (PAGEALLOC_HUGEPAGES, PAGEALLOC_PCP, ...) reach the pagealloc runs as set.
# Exit status: 0, or 1 if the build failed, a backend crashed or timed out,
# or a run printed no numbers (the tables are still written from the rest).
# A peer whose library was missing at configure time is reported, not fatal.
set -euo pipefail
caller=$(pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

quick=0
runs=5
out=
touch_mode=pages
node_size=4G
frag_node_size=384M
heap_hugepages=
cmdline="bench/run.sh${*:+ $*}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --runs) runs=${2:?--runs needs a number}; shift ;;
        --runs=*) runs=${1#*=} ;;
        --out) out=${2:?--out needs a directory}; shift ;;
        --out=*) out=${1#*=} ;;
        --touch) touch_mode=${2:?--touch needs pages, first or none}; shift ;;
        --touch=*) touch_mode=${1#*=} ;;
        --node-size) node_size=${2:?}; shift ;;
        --node-size=*) node_size=${1#*=} ;;
        --frag-node-size) frag_node_size=${2:?}; shift ;;
        --frag-node-size=*) frag_node_size=${1#*=} ;;
        --heap-hugepages) heap_hugepages=${2:?--heap-hugepages needs a number}; shift ;;
        --heap-hugepages=*) heap_hugepages=${1#*=} ;;
        -h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
# --out is relative to where run.sh was called from; the default to the tree.
if [[ -z "$out" ]]; then out="$root/bench/out"; elif [[ "$out" != /* ]]; then out="$caller/$out"; fi
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }
case "$touch_mode" in pages|first|none) ;; *) echo "run.sh: --touch must be pages, first or none" >&2; exit 2 ;; esac
if [[ -n "$heap_hugepages" ]]; then
    [[ "$heap_hugepages" =~ ^[0-9]+$ ]] || { echo "run.sh: --heap-hugepages must be a number" >&2; exit 2; }
    [[ -w /proc/sys/vm/nr_hugepages ]] || { echo "run.sh: --heap-hugepages needs root (vm.nr_hugepages)" >&2; exit 2; }
fi

nproc=$(nproc 2>/dev/null || echo 2)
if [[ $quick -eq 1 ]]; then
    time_ms=20        # timed part of each workload (warm-up adds a quarter)
    live=512          # random_orders live blocks (full: 4096): ~200 MiB instead of ~1.6 GiB to fault in
    frag_steps=10000
    proc_timeout=120
    peak_mib=512      # peak_idle total (full: 2 GiB)
else
    peak_mib=2048
    time_ms=200
    live=4096
    frag_steps=200000
    proc_timeout=900
fi

build_dir=${BUILD_DIR:-build}
start=$(date +%s.%N)

# --- build ------------------------------------------------------------------
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    echo "run.sh: configuring $build_dir" >&2
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Which library was measured: the commit, "-dirty" if src/ or include/ had edits.
lib_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ "$lib_rev" != unknown ]] && ! git diff --quiet HEAD -- src include 2>/dev/null; then
    lib_rev+="-dirty"
fi
build_log=$(mktemp "${TMPDIR:-/tmp}/bench-build.XXXXXX")
trap 'rm -f "$build_log"' EXIT
if ! cmake --build "$build_dir" --target bench --parallel "$nproc" >"$build_log" 2>&1; then
    cat "$build_log" >&2
    echo "run.sh: FAILED to build the bench targets (output above)" >&2
    exit 1
fi
bin_dir="$build_dir/bench"
if [[ ! -f "$bin_dir/backends.txt" ]]; then
    echo "run.sh: $bin_dir/backends.txt missing: is bench/ part of the build?" >&2
    exit 1
fi

backends=()
missing=()
while read -r name status why; do
    [[ -z "$name" ]] && continue
    if [[ "$status" == built && -x "$bin_dir/bench-$name" ]]; then
        backends+=("$name")
    else
        missing+=("$name (${why:-executable not built})")
    fi
done <"$bin_dir/backends.txt"
for m in "${missing[@]}"; do echo "run.sh: backend not available, skipped: $m" >&2; done
if [[ ${#backends[@]} -eq 0 ]]; then
    echo "run.sh: no backend was built" >&2
    exit 1
fi

mkdir -p "$out/log"
raw="$out/raw.csv"
echo "run,allocator,workload,threads,ns_per_op,extra" >"$raw"

# --- jobs -------------------------------------------------------------------
# One job = one process.  "core" runs workloads 1-5 in one process; each
# fragmentation run gets a fresh process so its VmRSS is its own.
jobs=()
for b in "${backends[@]}"; do
    jobs+=("$b:core")
    [[ "$b" == pagealloc-addr ]] && continue   # same allocator as pagealloc; not repeated
    jobs+=("$b:frag")
    [[ "$b" == pagealloc ]] && jobs+=("$b:frag_nogroup")
done

# Peak then idle: RSS of 2 GiB allocated, touched and freed, then idling
# (peak_idle.c).  One process per allocator, in the first run only: each
# takes about 15 s, nearly all of it asleep.
peak_jobs=()
for b in "${backends[@]}"; do
    [[ -x "$bin_dir/bench-peak-idle-$b" ]] && peak_jobs+=("$b:peak_idle")
done

# The mmap cycle: kernel vs the LD_PRELOAD shim in one process.
preload=$(cat "$bin_dir/preload.txt" 2>/dev/null || true)
if [[ -x "$bin_dir/bench-mmap-cycle" && -n "$preload" && -f "$preload" ]]; then
    jobs+=("mmap-cycle:cycle")
else
    missing+=("mmap-cycle (bench-mmap-cycle or the shim not built)")
    echo "run.sh: mmap cycle not available, skipped: bench-mmap-cycle or the shim not built" >&2
fi

# The malloc heap workload: plain jemalloc vs jemalloc on libpagealloc.
heap_preload=$(cat "$bin_dir/jemalloc-preload.txt" 2>/dev/null || true)
if [[ -x "$bin_dir/bench-malloc-heap" && -n "$heap_preload" && -f "$heap_preload" ]]; then
    jobs+=("malloc-heap:plain" "malloc-heap:pagealloc")
else
    missing+=("malloc-heap (bench-malloc-heap or libpagealloc-jemalloc-preload.so not built)")
    echo "run.sh: malloc heap workload not available, skipped: jemalloc or libpagealloc-jemalloc not built" >&2
fi

failures=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "run.sh: ${#backends[@]} allocators (${backends[*]}), $runs runs of ${#jobs[@]} jobs," \
     "$([[ $quick -eq 1 ]] && echo quick || echo full) mode, load average $load_before" >&2

run_job() {   # run_job RUN BACKEND WORKLOAD
    local r=$1 b=$2 w=$3 exe="$bin_dir/bench-$2"
    local args=(-t "$time_ms" -l "$live" -s "$frag_steps" -n "$nproc" -T "$touch_mode")
    local ns=$node_size
    local tag="run$r-$b-$w"
    if [[ "$w" == core ]]; then args+=(-w core); else args+=(-w "$w"); ns=$frag_node_size; fi
    local status=0
    if [[ "$w" == peak_idle ]]; then
        exe="$bin_dir/bench-peak-idle-$b"
        PAGEALLOC_NODE_SIZE=$node_size timeout "$proc_timeout" "$exe" -m "$peak_mib" \
            >"$out/log/$tag.csv" 2>"$out/log/$tag.err" || status=$?
    elif [[ "$w" == cycle ]]; then
        # kernel and shim alternate inside the process: 5 rounds of time_ms each
        LD_PRELOAD="$preload${LD_PRELOAD:+:$LD_PRELOAD}" PAGEALLOC_NODE_SIZE=$ns \
            timeout "$proc_timeout" "$exe" -t "$time_ms" -r 5 \
            >"$out/log/$tag.csv" 2>"$out/log/$tag.err" || status=$?
    elif [[ "$b" == malloc-heap ]]; then
        local name=jemalloc pre=()
        if [[ "$w" == pagealloc ]]; then
            name=jemalloc-pagealloc
            pre=(env LD_PRELOAD="$heap_preload${LD_PRELOAD:+:$LD_PRELOAD}")
            [[ -n "$heap_hugepages" ]] && pre+=(PAGEALLOC_HUGEPAGES=2M)
        fi
        local saved_hp=
        if [[ -n "$heap_hugepages" ]]; then
            saved_hp=$(cat /proc/sys/vm/nr_hugepages)
            echo "$heap_hugepages" >/proc/sys/vm/nr_hugepages
        fi
        PAGEALLOC_NODE_SIZE=$node_size timeout "$proc_timeout" "${pre[@]}" "$exe" -a "$name" -n "$nproc" \
            -t "$((time_ms * 5 > 1000 ? time_ms * 5 : 1000))" >"$out/log/$tag.csv" 2>"$out/log/$tag.err" || status=$?
        [[ -n "$saved_hp" ]] && echo "$saved_hp" >/proc/sys/vm/nr_hugepages
    else
        PAGEALLOC_NODE_SIZE=$ns timeout "$proc_timeout" "$exe" "${args[@]}" \
            >"$out/log/$tag.csv" 2>"$out/log/$tag.err" || status=$?
    fi
    if [[ $status -ne 0 ]]; then
        local why="exit status $status"
        [[ $status -eq 124 ]] && why="timed out after ${proc_timeout}s"
        [[ $status -gt 128 && $status -ne 124 ]] && why="killed by signal $((status - 128))"
        failures+=("$tag: $why (stderr: $out/log/$tag.err)")
        echo "run.sh: FAILED $tag: $why" >&2
        tail -n 5 "$out/log/$tag.err" >&2 || true
        return
    fi
    local rows
    rows=$(grep -c -v -e '^allocator,' -e ',info,' "$out/log/$tag.csv" || true)
    if [[ "$rows" -eq 0 ]]; then
        failures+=("$tag: no numbers (see $out/log/$tag.err)")
        echo "run.sh: FAILED $tag: printed no numbers" >&2
        return
    fi
    grep -v '^allocator,' "$out/log/$tag.csv" | sed "s/^/$r,/" >>"$raw"
}

# Interleave: each run goes through every job once, starting one job later
# than the previous run, so slow drifts and noise bursts spread over all.
for ((r = 1; r <= runs; r++)); do
    n=${#jobs[@]}
    for ((i = 0; i < n; i++)); do
        job=${jobs[$(((i + r - 1) % n))]}
        run_job "$r" "${job%%:*}" "${job#*:}"
    done
    if [[ $r -eq 1 ]]; then
        for job in "${peak_jobs[@]}"; do run_job "$r" "${job%%:*}" "${job#*:}"; done
    fi
    echo "run.sh: run $r/$runs done" >&2
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

# --- report -----------------------------------------------------------------
settings="timed ${time_ms} ms per workload (+25% warm-up), random_orders live=$live, frag steps=$frag_steps,"
settings+=" touch=$touch_mode, PAGEALLOC_NODE_SIZE=$node_size (frag: $frag_node_size), threads 1..$nproc"
[[ ${#missing[@]} -gt 0 ]] && settings+="; not built: ${missing[*]}"
report_status=0
python3 bench/report.py "$raw" "$out" \
    --meta "mode=$([[ $quick -eq 1 ]] && echo quick || echo full)" \
    --meta "command=\`$cmdline\` (${elapsed} s wall)" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
    --meta "machine=$nproc CPUs, $model, $(uname -sr)" \
    --meta "library=libpagealloc at $lib_rev (the tree built at the start of the run)" \
    --meta "load=load average $load_before before, $load_after after (other work on the machine skews numbers)" \
    --meta "settings=$settings" || report_status=$?
if [[ $report_status -ne 0 ]]; then
    echo "run.sh: FAILED to produce the report from $raw" >&2
    exit 1
fi

ncols=$(head -n 1 "$out/plot.dat" | wc -w)
if [[ -f "$out/plot_rss.dat" ]] && command -v gnuplot >/dev/null 2>&1; then
    if ! gnuplot -e "datafile='$out/plot_rss.dat'; outfile='$out/results_rss.png'" bench/plot_rss.gp \
            2>"$out/log/gnuplot_rss.err"; then
        cat "$out/log/gnuplot_rss.err" >&2
        failures+=("gnuplot (RSS plot) failed")
    fi
fi
if command -v gnuplot >/dev/null 2>&1; then
    if ! gnuplot -e "datafile='$out/plot.dat'; outfile='$out/results.png'; ncols=$ncols; subtitle='$(date -u +%Y-%m-%d) $nproc CPUs $([[ $quick -eq 1 ]] && echo quick)'" \
            bench/plot.gp 2>"$out/log/gnuplot.err"; then
        cat "$out/log/gnuplot.err" >&2
        failures+=("gnuplot failed")
    fi
else
    echo "run.sh: gnuplot not installed (Debian: gnuplot-nox); no plot" >&2
fi

if [[ -s "$out/heap.dat" ]] && command -v gnuplot >/dev/null 2>&1; then
    if ! gnuplot -e "datafile='$out/heap.dat'; outfile='$out/results-heap.png'; subtitle='$(date -u +%Y-%m-%d) $nproc CPUs $([[ $quick -eq 1 ]] && echo quick)'" \
            bench/plot_heap.gp 2>"$out/log/gnuplot-heap.err"; then
        cat "$out/log/gnuplot-heap.err" >&2
        failures+=("gnuplot (heap) failed")
    fi
fi

echo
echo "run.sh: wrote $out/{raw.csv,results.csv,results.md,results.png,results_rss.png} in ${elapsed} s"
if [[ ${#failures[@]} -gt 0 ]]; then
    echo "run.sh: ${#failures[@]} FAILURE(S):" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi

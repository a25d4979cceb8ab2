#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bpftrace attaches to the pagealloc:mm_page_alloc and mm_page_free USDT
# probes of a running program (usdt_target, which allocates a known number
# of blocks of each order) and counts them by order; the counts must match
# exactly.  Skipped (exit 77) only when bpftrace is missing or BPF itself
# is not permitted here; a failure to attach to our probes is a failure.
#
#   bpftrace_count.sh LIB TARGET [nosdt]
set -uo pipefail
lib=$(readlink -f "$1")
target=$2
if [[ ${3:-} == nosdt ]]; then
    echo "SKIP: <sys/sdt.h> was not found at configure time (install systemtap-sdt-dev): no probes to trace"
    exit 77
fi
if ! command -v bpftrace >/dev/null 2>&1; then
    echo "SKIP: bpftrace is not installed (scripts/install-deps.sh installs it)"
    exit 77
fi
ulimit -l unlimited 2>/dev/null || ulimit -l 65536 2>/dev/null || true
if ! probe=$(timeout 60 bpftrace -e 'BEGIN { printf("bpf-ok\n"); exit(); }' 2>&1) || [[ $probe != *bpf-ok* ]]; then
    echo "SKIP: bpftrace cannot run BPF programs here (not root, or no BPF permission):"
    echo "$probe"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pa-usdt.XXXXXX")
cleanup() {
    [[ -n ${tpid:-} ]] && kill "$tpid" 2>/dev/null
    [[ -n ${bpid:-} ]] && kill "$bpid" 2>/dev/null
    exec 3>&- 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
mkfifo "$tmp/go"
exec 3<>"$tmp/go"                 # held open: the target blocks on its first read

# 0:100 2:30 5:7 -> 100 order-0, 30 order-2 and 7 order-5 blocks
"$target" --wait 0:100 2:30 5:7 <&3 >"$tmp/target.out" 2>&1 &
tpid=$!
for _ in $(seq 600); do
    grep -q ready "$tmp/target.out" && break
    kill -0 "$tpid" 2>/dev/null || { echo "FAIL: usdt_target exited early:"; cat "$tmp/target.out"; exit 1; }
    sleep 0.1
done

# The README's one-liner shape: by order on a running program (-p).  BEGIN
# runs once every probe is attached.
bpftrace -p "$tpid" -e "
BEGIN { printf(\"attached\n\"); }
usdt:$lib:pagealloc:mm_page_alloc { @alloc[arg1] = count(); }
usdt:$lib:pagealloc:mm_page_free { @free[arg1] = count(); }" >"$tmp/bpf.out" 2>&1 &
bpid=$!
for _ in $(seq 600); do
    grep -q attached "$tmp/bpf.out" && break
    if ! kill -0 "$bpid" 2>/dev/null; then
        echo "FAIL: bpftrace could not attach to the pagealloc probes of $lib:"
        cat "$tmp/bpf.out"
        exit 1
    fi
    sleep 0.1
done
grep -q attached "$tmp/bpf.out" || { echo "FAIL: bpftrace did not attach within 60 s"; cat "$tmp/bpf.out"; exit 1; }

echo go >&3
wait "$tpid"; trc=$?; tpid=
# bpftrace -p exits (printing its maps) when the traced process exits
for _ in $(seq 300); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
kill -INT "$bpid" 2>/dev/null
wait "$bpid"; bpid=
cat "$tmp/bpf.out"
[[ $trc -eq 0 ]] || { echo "FAIL: usdt_target exited with $trc:"; cat "$tmp/target.out"; exit 1; }

fail=0
check() {   # map order expected
    local got
    got=$(sed -n "s/^@$1\[$2\]: \([0-9]*\)$/\1/p" "$tmp/bpf.out")
    if [[ "$got" == "$3" ]]; then
        echo "ok: @$1[$2] = $got"
    else
        echo "FAIL: @$1[$2] = ${got:-none}, expected $3"
        fail=1
    fi
}
for kind in alloc free; do
    check "$kind" 0 100
    check "$kind" 2 30
    check "$kind" 5 7
done
others=$(grep -E '^@(alloc|free)\[' "$tmp/bpf.out" | grep -v -E '^@(alloc|free)\[(0|2|5)\]:' || true)
[[ -z $others ]] || { echo "FAIL: unexpected orders traced:"; echo "$others"; fail=1; }
exit $fail

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tools.sh PART RUN STAT TARGET PRELOAD OTHER_PRELOAD
#
# PART: run_options run_help run_hardware run_env run_missing stat_publish
# stat_errors.  RUN and STAT are the two tools, TARGET a program that links
# the library and allocates, PRELOAD and OTHER_PRELOAD two empty shared
# libraries (a stand-in for the shim, and a library already preloaded).
set -u

part=$1 RUN=$2 STAT=$3 TARGET=$4 PRELOAD=$5 OTHER=$6
failures=0
tmp=$(mktemp -d)
target_pid=

cleanup() {
    if [[ -n $target_pid ]] && kill -0 "$target_pid" 2>/dev/null; then
        kill "$target_pid" 2>/dev/null
        wait "$target_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_status WANT MESSAGE_REGEX -- command...: exit status and stderr.
expect_status() {
    local want=$1 re=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [[ $got != "$want" ]]; then
        fail "$* -> exit $got, want $want (stderr: $(cat "$tmp/err"))"
    elif [[ -n $re ]] && ! grep -Eq -- "$re" "$tmp/err"; then
        fail "$* -> stderr does not match /$re/: $(cat "$tmp/err")"
    fi
}

# The stand-in shim, so nothing depends on the real one being built.
export PAGEALLOC_PRELOAD=$PRELOAD
unset LD_PRELOAD PAGEALLOC_POLICY PAGEALLOC_STATS PAGEALLOC_STATS_INTERVAL

case $part in
run_options)
    expect_status 2 'pagealloc-run: --bogus: unknown option' -- "$RUN" --bogus true
    expect_status 2 'pagealloc-run: -x: unknown option' -- "$RUN" -x true
    expect_status 2 'pagealloc-run: --interleave: missing value' -- "$RUN" --interleave
    expect_status 2 'pagealloc-run: --interleave=99: bad node list' -- "$RUN" --interleave=99 true
    expect_status 2 'pagealloc-run: --interleave=0-: bad node list' -- "$RUN" --interleave=0- true
    expect_status 2 'pagealloc-run: --membind=x: bad node list' -- "$RUN" --membind=x true
    expect_status 2 'pagealloc-run: --membind=.*bad node list' -- "$RUN" -m 1,,2 true
    expect_status 2 'pagealloc-run: --preferred=0,1: bad node' -- "$RUN" --preferred=0,1 true
    expect_status 2 'pagealloc-run: --preferred=-1: bad node' -- "$RUN" --preferred=-1 true
    expect_status 2 'pagealloc-run: --preferred-many=77: bad node list' -- "$RUN" --preferred-many=77 true
    expect_status 2 'pagealloc-run: --weighted-interleave=0: "0" has no weight' -- "$RUN" --weighted-interleave=0 true
    expect_status 2 'pagealloc-run: --weighted-interleave=0:256: bad weight' -- "$RUN" -w 0:256 true
    expect_status 2 'pagealloc-run: --weighted-interleave=9:1: bad node' -- "$RUN" -w 9:1 true
    expect_status 2 'at most one memory policy option' -- "$RUN" --interleave=0 --localalloc true
    expect_status 2 'pagealloc-run: --hugepages=big: unknown value' -- "$RUN" --hugepages=big true
    expect_status 2 'pagealloc-run: --size=12X: bad size' -- "$RUN" --size=12X true
    expect_status 2 'pagealloc-run: --size=4M: too small' -- "$RUN" --size=4M true
    expect_status 2 'pagealloc-run: --threshold=-1: bad size' -- "$RUN" --threshold=-1 true
    expect_status 2 'pagealloc-run: --stats=1: unknown option' -- "$RUN" --stats=1 true
    expect_status 2 'pagealloc-run: no program given' -- "$RUN" --interleave=0
    expect_status 2 'takes no program' -- "$RUN" -H true
    # good ones run the program
    expect_status 0 '' -- "$RUN" --interleave=all --hugepages=THP --size=64M --threshold=64K --stats true
    expect_status 0 '' -- "$RUN" -w 0:3 true
    expect_status 0 '' -- "$RUN" -p 0 -- true
    expect_status 3 '' -- "$RUN" -l sh -c 'exit 3'
    ;;

run_help)
    "$RUN" --help >"$tmp/help" 2>&1 || fail "--help exits $?"
    grep -q '^Usage: pagealloc-run' "$tmp/help" || fail "--help has no usage line"
    # every option the code accepts is documented, and nothing else
    for o in --interleave= --membind= --preferred= --preferred-many= --weighted-interleave= \
             --localalloc --hardware --hugepages=auto --size= --threshold= --stats --help \
             PAGEALLOC_POLICY PAGEALLOC_HUGEPAGES PAGEALLOC_NODE_SIZE \
             PAGEALLOC_SHIM_THRESHOLD PAGEALLOC_STATS=stderr PAGEALLOC_PRELOAD; do
        grep -q -- "$o" "$tmp/help" || fail "--help does not mention $o"
    done
    documented=$(grep -oE -- '--[a-z-]+' "$tmp/help" | sort -u | tr '\n' ' ')
    for o in $documented; do
        [[ $o == --* && $o != -- ]] || continue
        if [[ $o == --help ]]; then continue; fi
        "$RUN" "$o" >/dev/null 2>"$tmp/err"
        grep -q 'unknown option' "$tmp/err" && fail "--help documents $o, which the code rejects"
    done
    "$RUN" -h | cmp -s - "$tmp/help" || fail "-h differs from --help"
    ;;

run_hardware)
    "$RUN" -H >"$tmp/hw" 2>"$tmp/err" || fail "-H exits $? ($(cat "$tmp/err"))"
    n=$(sed -nE '1s/^available: ([0-9]+) nodes \(0(-[0-9]+)?\)$/\1/p' "$tmp/hw")
    [[ -n $n ]] || fail "-H first line: $(head -1 "$tmp/hw")"
    n=${n:-1}
    for ((i = 0; i < n; i++)); do
        grep -Eq "^node $i cpus:( [0-9]+)*\$" "$tmp/hw" || fail "-H: no 'node $i cpus:' line"
        grep -Eq "^node $i size: [0-9]+ MB\$" "$tmp/hw" || fail "-H: no 'node $i size:' line"
        grep -Eq "^node $i free: [0-9]+ MB\$" "$tmp/hw" || fail "-H: no 'node $i free:' line"
    done
    grep -q '^node distances:$' "$tmp/hw" || fail "-H: no 'node distances:' line"
    rows=$(grep -cE '^ *[0-9]+:( +[0-9]+)+ *$' "$tmp/hw")
    [[ $rows == "$n" ]] || fail "-H: $rows distance rows for $n nodes"
    # the diagonal is the local distance, 10
    awk -v n="$n" '/^ *[0-9]+:/ { i = $1 + 0; if ($(i + 2) != 10) bad = 1 } END { exit bad }' \
        "$tmp/hw" || fail "-H: diagonal distances are not 10"
    # logical nodes come from the library
    PAGEALLOC_NUMA_EMULATE=4 "$RUN" -H >"$tmp/hw4" 2>&1 || fail "-H with 4 emulated nodes exits $?"
    head -1 "$tmp/hw4" | grep -q '^available: 4 nodes (0-3)$' || fail "emulated -H: $(head -1 "$tmp/hw4")"
    [[ $(grep -cE '^ *[0-9]+:( +[0-9]+){4} *$' "$tmp/hw4") == 4 ]] || fail "emulated -H: not a 4x4 distance table"
    PAGEALLOC_NUMA_EMULATE=4 "$RUN" --interleave=0-3 true || fail "--interleave=0-3 with 4 emulated nodes"
    ;;

run_env)
    # the child's environment
    "$RUN" --interleave=all --hugepages=2M --size=64M --threshold=128K --stats env >"$tmp/env" \
        || fail "run env exits $?"
    grep -qx "LD_PRELOAD=$PRELOAD" "$tmp/env" || fail "LD_PRELOAD: $(grep LD_PRELOAD "$tmp/env")"
    grep -qx 'PAGEALLOC_POLICY=interleave=all' "$tmp/env" || fail "PAGEALLOC_POLICY: $(grep POLICY "$tmp/env")"
    grep -qx 'PAGEALLOC_HUGEPAGES=2M' "$tmp/env" || fail "PAGEALLOC_HUGEPAGES missing"
    grep -qx 'PAGEALLOC_NODE_SIZE=64M' "$tmp/env" || fail "PAGEALLOC_NODE_SIZE missing"
    grep -qx 'PAGEALLOC_SHIM_THRESHOLD=128K' "$tmp/env" || fail "PAGEALLOC_SHIM_THRESHOLD missing"
    grep -qx 'PAGEALLOC_STATS=stderr' "$tmp/env" || fail "PAGEALLOC_STATS missing"
    # each policy option, in numactl's words as docs/environment.md has them
    for pair in "--membind=0|bind=0" "-m 0|bind=0" "--preferred=0|preferred=0" \
                "--preferred-many=0|preferred-many=0" "--weighted-interleave=0:3|weighted-interleave=0:3" \
                "-i 0|interleave=0" "--localalloc|local" "-l|local"; do
        opt=${pair%%|*} want=${pair#*|}
        # shellcheck disable=SC2086
        "$RUN" $opt env >"$tmp/env" || fail "$opt: exit $?"
        grep -qx "PAGEALLOC_POLICY=$want" "$tmp/env" || fail "$opt: $(grep POLICY "$tmp/env")"
    done
    # no policy option: PAGEALLOC_POLICY is left as it was
    PAGEALLOC_POLICY=local "$RUN" env >"$tmp/env" || fail "plain run: exit $?"
    grep -qx 'PAGEALLOC_POLICY=local' "$tmp/env" || fail "PAGEALLOC_POLICY was not kept"
    # LD_PRELOAD is kept, the shim goes after it, and only once
    LD_PRELOAD=$OTHER "$RUN" env >"$tmp/env" || fail "run with LD_PRELOAD: exit $?"
    grep -qx "LD_PRELOAD=$OTHER:$PRELOAD" "$tmp/env" || fail "kept LD_PRELOAD: $(grep LD_PRELOAD "$tmp/env")"
    LD_PRELOAD=$PRELOAD "$RUN" env >"$tmp/env" || fail "run with the shim preloaded: exit $?"
    grep -qx "LD_PRELOAD=$PRELOAD" "$tmp/env" || fail "shim added twice: $(grep LD_PRELOAD "$tmp/env")"
    # arguments pass through untouched, options after the program included
    "$RUN" -l printf '%s|' a '--interleave=x' 'b c' >"$tmp/args" || fail "args: exit $?"
    [[ $(cat "$tmp/args") == 'a|--interleave=x|b c|' ]] || fail "args: $(cat "$tmp/args")"
    # without PAGEALLOC_PRELOAD the build tree's shim is found, if built yet
    built=$(dirname "$RUN")/../src/shim/libpagealloc-preload.so
    if [[ -e $built ]]; then
        PAGEALLOC_PRELOAD='' "$RUN" env >"$tmp/env" || fail "build-tree shim: exit $?"
        grep -qx "LD_PRELOAD=$(realpath "$built")" "$tmp/env" \
            || fail "build-tree shim: $(grep LD_PRELOAD "$tmp/env")"
    fi
    # a bad PAGEALLOC_PRELOAD is an error, not a silent run without the shim
    PAGEALLOC_PRELOAD=$tmp/none.so "$RUN" true 2>"$tmp/err"
    st=$?
    [[ $st == 1 ]] || fail "missing PAGEALLOC_PRELOAD file: exit $st"
    grep -q 'PAGEALLOC_PRELOAD=' "$tmp/err" || fail "missing PAGEALLOC_PRELOAD file: $(cat "$tmp/err")"
    ;;

run_missing)
    expect_status 127 '^pagealloc-run: no-such-program-xyz: not found$' -- "$RUN" no-such-program-xyz
    expect_status 127 '^pagealloc-run: /nonexistent/prog: not found$' -- "$RUN" --localalloc /nonexistent/prog
    printf 'x' >"$tmp/noexec"
    chmod 0644 "$tmp/noexec"
    if [[ $(id -u) != 0 ]]; then
        expect_status 126 'pagealloc-run: .*noexec: Permission denied' -- "$RUN" "$tmp/noexec"
    fi
    ;;

stat_publish)
    PAGEALLOC_STATS_INTERVAL=100 "$TARGET" 20 >"$tmp/target.out" &
    target_pid=$!
    file=/dev/shm/pagealloc.$target_pid
    for _ in $(seq 50); do
        [[ -e $file ]] && break
        sleep 0.1
    done
    [[ -e $file ]] || { fail "$file was not created"; exit 1; }
    # the first snapshot may predate the first allocation: wait for a later one
    for _ in $(seq 50); do
        [[ -s $tmp/target.out ]] && break
        sleep 0.1
    done
    sleep 0.3
    [[ $(stat -c %a "$file") == 600 ]] || fail "$file has mode $(stat -c %a "$file")"
    [[ $(stat -c %u "$file") == $(id -u) ]] || fail "$file is not ours"
    # one block
    "$STAT" "$target_pid" >"$tmp/one" 2>"$tmp/err" || fail "stat PID: exit $? ($(cat "$tmp/err"))"
    [[ $(grep -c '^---- pid ' "$tmp/one") == 1 ]] || fail "stat PID: not one block"
    for c in nr_free_pages numa_hit pgalloc_normal pgfree; do
        grep -Eq "^$c [0-9]+\$" "$tmp/one" || fail "stat PID: no '$c N' line"
    done
    alloc=$(sed -n 's/^pgalloc_normal //p' "$tmp/one")
    [[ ${alloc:-0} -gt 0 ]] || fail "pgalloc_normal is ${alloc:-missing}"
    # two blocks a second apart; the second shows changes
    "$STAT" -n 2 -i 1 "$target_pid" >"$tmp/two" 2>"$tmp/err" || fail "-n 2 -i 1: exit $? ($(cat "$tmp/err"))"
    [[ $(grep -c '^---- pid ' "$tmp/two") == 2 ]] || fail "-n 2 -i 1: $(grep -c '^---- pid ' "$tmp/two") blocks"
    grep -q '^---- pid .*(changes over' "$tmp/two" || fail "-n 2 -i 1: second block shows no changes"
    # the other reports
    "$STAT" --buddyinfo "$target_pid" | grep -Eq '^Node 0, zone +Normal' || fail "--buddyinfo"
    "$STAT" --zoneinfo "$target_pid" | grep -Eq '^Node 0, zone +Normal' || fail "--zoneinfo"
    "$STAT" --pagetypeinfo "$target_pid" | grep -q '^Free pages count per migrate type' || fail "--pagetypeinfo"
    "$STAT" --numastat "$target_pid" | grep -Eq '^numa_hit +[0-9]+' || fail "--numastat"
    # the list
    "$STAT" >"$tmp/list" 2>&1 || fail "list: exit $?"
    grep -Eq "^ *$target_pid +$(basename "$TARGET" | cut -c1-15)" "$tmp/list" || fail "list: $(cat "$tmp/list")"
    # others may not read it
    if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
        cp "$STAT" "$tmp/stat-copy" && chmod 0755 "$tmp" "$tmp/stat-copy"
        setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/stat-copy" "$target_pid" \
            >/dev/null 2>"$tmp/err"
        st=$?
        [[ $st == 1 ]] || fail "another user: exit $st"
        grep -q 'permission denied' "$tmp/err" || fail "another user: $(cat "$tmp/err")"
    fi
    # killed by a signal, the process leaves its file: the list says stale
    # and removes it (it is ours)
    kill -KILL "$target_pid"
    wait "$target_pid" 2>/dev/null
    [[ -e $file ]] || fail "no file left behind by SIGKILL: the cleanup below proves nothing"
    "$STAT" >"$tmp/list" 2>&1
    grep -Eq "^ *$target_pid .*stale file removed" "$tmp/list" || fail "stale list: $(cat "$tmp/list")"
    [[ -e $file ]] && fail "the stale file of $target_pid was not removed"
    expect_status 1 "no such process: $target_pid" -- "$STAT" "$target_pid"
    rm -f "$file"
    # a normal exit removes it
    PAGEALLOC_STATS_INTERVAL=100 "$TARGET" 2 >/dev/null &
    target_pid=$!
    for _ in $(seq 50); do
        [[ -e /dev/shm/pagealloc.$target_pid ]] && break
        sleep 0.1
    done
    [[ -e /dev/shm/pagealloc.$target_pid ]] || fail "short run did not publish"
    wait "$target_pid"
    [[ ! -e /dev/shm/pagealloc.$target_pid ]] || fail "file left after a normal exit"
    # without the variable nothing is published
    "$TARGET" 1 >"$tmp/quiet.out" &
    target_pid=$!
    for _ in $(seq 50); do
        [[ -s $tmp/quiet.out ]] && break    # "ready": initialised
        sleep 0.1
    done
    sleep 0.2
    [[ ! -e /dev/shm/pagealloc.$target_pid ]] || fail "published without PAGEALLOC_STATS_INTERVAL"
    wait "$target_pid"
    ;;

stat_errors)
    sh -c 'exit 0' &
    dead=$!
    wait "$dead"
    expect_status 1 "^pagealloc-stat: no such process: $dead\$" -- "$STAT" "$dead"
    expect_status 1 '^pagealloc-stat: process 1 publishes no stats' -- "$STAT" 1
    expect_status 1 "pagealloc-stat: process $$ publishes no stats" -- "$STAT" -n 2 "$$"
    expect_status 2 'pagealloc-stat: abc: not a process id' -- "$STAT" abc
    expect_status 2 'pagealloc-stat: 0: not a process id' -- "$STAT" 0
    expect_status 2 'pagealloc-stat: -i 0: bad interval' -- "$STAT" -i 0 1
    expect_status 2 'pagealloc-stat: -n x: bad count' -- "$STAT" -n x 1
    expect_status 2 'choose one report' -- "$STAT" --vmstat --numastat 1
    expect_status 2 'pagealloc-stat: --bogus: unknown option' -- "$STAT" --bogus 1
    expect_status 2 'a PID is needed' -- "$STAT" --zoneinfo
    expect_status 0 '' -- "$STAT" --help
    grep -q '^Usage: pagealloc-stat' "$tmp/out" || fail "--help has no usage line"
    ;;

*)
    echo "unknown part $part" >&2
    exit 2
    ;;
esac

if ((failures)); then
    echo "$part: $failures failure(s)" >&2
    exit 1
fi
echo "$part: ok"

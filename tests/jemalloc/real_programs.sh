#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Unmodified Debian programs (python3, sqlite3, node: whichever are
# installed) run plain and under `pagealloc-run --malloc=jemalloc --stats`:
# the output and exit status must be the same, and the exit report must show
# heap extents served and none failed.  On two emulated
# nodes, --membind and --interleave decide which nodes the heap is on.  Usage: real_programs.sh PAGEALLOC-RUN LIBPAGEALLOC-JEMALLOC-PRELOAD.SO
set -u
RUN=$1
export PAGEALLOC_JEMALLOC_PRELOAD=$2
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail=0
ran=0

# field NAME of the pagealloc-jemalloc report in file $2, summed over processes
field() {
    awk -v f="$1" '/^pagealloc-jemalloc\[/ { for (i = 1; i < NF; i++) if ($i == f) s += $(i + 1) } END { print s + 0 }' "$2"
}

# check NAME POLICY CMD...: plain run vs run with the heap on libpagealloc
check() {
    name=$1 policy=$2
    shift 2
    "$@" >"$TMP/$name.plain" 2>/dev/null
    rc1=$?
    # shellcheck disable=SC2086
    "$RUN" --malloc=jemalloc --stats $policy -- "$@" >"$TMP/$name.je" 2>"$TMP/$name.err"
    rc2=$?
    ran=$((ran + 1))
    served=$(field served "$TMP/$name.err")
    failed=$(field failed "$TMP/$name.err")
    foreign=$(field foreign "$TMP/$name.err")
    unserved=$(field unserved_bytes "$TMP/$name.err")
    if [ $rc1 -ne $rc2 ] || ! cmp -s "$TMP/$name.plain" "$TMP/$name.je"; then
        echo "FAIL $name: output differs (exit $rc1 vs $rc2)"
        diff "$TMP/$name.plain" "$TMP/$name.je" | head -20
        grep -v '^pagealloc-' "$TMP/$name.err" | head -20
        fail=1
    elif [ "$served" -lt 1 ] || [ "$failed" -ne 0 ]; then
        echo "FAIL $name: extents served $served, failed $failed"
        grep '^pagealloc-' "$TMP/$name.err"
        fail=1
    else
        # foreign: jemalloc purging the extent it had before the hooks
        # (refused, it keeps it), which depends on its decay timing
        echo "ok   $name: same output; $served extents served, none failed;" \
             "held from before the hooks: $unserved bytes ($foreign calls on it refused)"
    fi
}

# placement NAME WANT0 WANT1 POLICY CMD...: on two emulated nodes, which
# nodes the heap's pages came from (numa_hit per node in the exit report;
# WANT is "0" for none or "+" for some)
placement() {
    name=$1 want0=$2 want1=$3 policy=$4
    shift 4
    PAGEALLOC_NUMA_EMULATE=2 "$RUN" --malloc=jemalloc --stats $policy -- "$@" >/dev/null 2>"$TMP/$name.err"
    rc=$?
    ran=$((ran + 1))
    set -- $(awk '$1 == "numa_hit" && NF == 3 { print $2, $3; exit }' "$TMP/$name.err")
    h0=${1:--1} h1=${2:--1}
    served=$(field served "$TMP/$name.err")
    ok0=0 ok1=0
    { [ "$want0" = 0 ] && [ "$h0" -eq 0 ]; } || { [ "$want0" = + ] && [ "$h0" -gt 0 ]; } && ok0=1
    { [ "$want1" = 0 ] && [ "$h1" -eq 0 ]; } || { [ "$want1" = + ] && [ "$h1" -gt 0 ]; } && ok1=1
    if [ $rc -ne 0 ] || [ $ok0 -ne 1 ] || [ $ok1 -ne 1 ] || [ "$served" -lt 1 ]; then
        echo "FAIL $name: exit $rc, numa_hit node0 $h0 node1 $h1 (want $want0 $want1), extents served $served"
        fail=1
    else
        echo "ok   $name: numa_hit node0 $h0, node1 $h1; $served extents served"
    fi
}

PY=
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if [ -n "$PY" ]; then
    cat >"$TMP/heap.py" <<'PYEOF'
import hashlib, threading
h = hashlib.sha256()
rows = {str(i): [i, i * i, "v" * (i % 50)] for i in range(250000)}
h.update(repr(sorted(rows)[-20:]).encode())
big = [bytearray(n) for n in (5 << 20, 9 << 20, 3 << 20, 700000)]
for b in big:
    b[::4096] = b"\x01" * len(b[::4096])
    h.update(bytes(b[-100:]))
def work(k):
    local = [str(j) * k for j in range(40000)]
    rows[k] = len("".join(local))
ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sum(rows[k] for k in range(1, 5)), h.hexdigest())
PYEOF
    check python3 "" "$PY" "$TMP/heap.py"
    check python3-interleave "--interleave=all" "$PY" "$TMP/heap.py"
    placement python3-membind1 0 + "--membind=1" "$PY" "$TMP/heap.py"
    placement python3-membind0 + 0 "--membind=0" "$PY" "$TMP/heap.py"
    placement python3-interleave2 + + "--interleave=0-1" "$PY" "$TMP/heap.py"
else
    echo "skip python3: not installed"
fi

if command -v sqlite3 >/dev/null 2>&1; then
    {
        echo "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT);"
        echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 150000)"
        echo "  INSERT INTO kv SELECT i, hex(i * 2654435761 % 1000003) FROM n;"
        echo "CREATE INDEX kv_v ON kv(v);"
        echo "SELECT count(*), sum(k), max(v) FROM kv;"
        echo "SELECT substr(v, 1, 2) AS p, count(*) FROM kv GROUP BY p ORDER BY p LIMIT 8;"
    } >"$TMP/heap.sql"
    check sqlite3 "" sqlite3 :memory: ".read $TMP/heap.sql"
else
    echo "skip sqlite3: not installed"
fi

if command -v node >/dev/null 2>&1; then
    cat >"$TMP/heap.js" <<'JSEOF'
const crypto = require('crypto');
const h = crypto.createHash('sha256');
const bufs = [];
for (let i = 1; i < 200; i++) bufs.push(Buffer.alloc((i * 104729) % (6 << 20) + 1, i & 255));
for (const b of bufs) h.update(b.subarray(b.length - 32));
const m = new Map();
for (let i = 0; i < 200000; i++) m.set('k' + i, { i, s: String(i * 7) });
h.update(String(m.size));
console.log(bufs.length, h.digest('hex'));
JSEOF
    check node "" node "$TMP/heap.js"
else
    echo "skip node: not installed"
fi

if [ $ran -eq 0 ]; then
    echo "no program to run (install python3, sqlite3 or nodejs: scripts/install-deps.sh)"
    exit 77
fi
exit $fail

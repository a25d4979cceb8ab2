#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run unmodified Debian programs (python3, sqlite3, node; each also with
# jemalloc preloaded) with and without the shim and compare their output;
# the shim's exit report (PAGEALLOC_SHIM_STATS) must show mappings served.  Usage: real_programs.sh /path/to/libpagealloc-preload.so
set -u
SO=$1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail=0
ran=0

# served count from the shim's report in file $1 (sum over processes)
served() {
    awk '/^pagealloc-shim\[/ { for (i = 1; i < NF; i++) if ($i == "served") s += $(i + 1) } END { print s + 0 }' "$1"
}

# compare NAME MIN_SERVED CMD...: plain run vs run under the shim
compare() {
    name=$1 min=$2
    shift 2
    "$@" >"$TMP/$name.plain" 2>"$TMP/$name.plain.err"
    rc1=$?
    LD_PRELOAD="$SO${LD_PRELOAD:+:$LD_PRELOAD}" PAGEALLOC_SHIM_STATS=1 \
        "$@" >"$TMP/$name.shim" 2>"$TMP/$name.shim.err"
    rc2=$?
    n=$(served "$TMP/$name.shim.err")
    ran=$((ran + 1))
    if [ $rc1 -ne $rc2 ] || ! cmp -s "$TMP/$name.plain" "$TMP/$name.shim"; then
        echo "FAIL $name: output differs (exit $rc1 vs $rc2)"
        diff "$TMP/$name.plain" "$TMP/$name.shim" | head -20
        grep -v '^pagealloc-shim\[' "$TMP/$name.shim.err" | head -20
        fail=1
    elif [ "$n" -lt "$min" ]; then
        echo "FAIL $name: only $n mappings served (want >= $min)"
        cat "$TMP/$name.shim.err" | head -20
        fail=1
    else
        echo "ok   $name: same output, $n mappings served"
    fi
}

JE=$(ls /usr/lib/*/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 2>/dev/null | head -1)

# --- python3: large buffers and many objects --------------------------------
PY=$(command -v python3.11 || command -v python3 || true)
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if [ -n "$PY" ]; then
    cat >"$TMP/work.py" <<'PYEOF'
import hashlib, mmap
h = hashlib.sha256()
keep = []
for i in range(1, 400):
    b = bytearray((i * 7919) % (3 << 20) + 1)
    b[::4096] = bytes([i & 255]) * len(b[::4096])
    h.update(bytes(b[::997]))
    if i % 3 == 0:
        keep.append(b)
del keep[::2]
objs = [(i, str(i) * 3, [i] * 5) for i in range(300000)]
d = {o[1]: o for o in objs}
h.update(repr(sorted(d)[:1000]).encode())
del objs, d
objs = [{"k": i, "v": str(i)} for i in range(200000)]
h.update(str(sum(o["k"] for o in objs)).encode())
m = mmap.mmap(-1, 1 << 20)
m[:5] = b"hello"
h.update(m[:10])
print(len(keep), h.hexdigest())
PYEOF
    compare python3 1 "$PY" "$TMP/work.py"
    if [ -n "$JE" ]; then
        # jemalloc maps its extents with mmap (our shim sees them), trims
        # over-aligned mappings with partial munmap and purges with madvise
        LD_PRELOAD=$JE compare python3-jemalloc 1 "$PY" "$TMP/work.py"
    else
        echo "skip python3-jemalloc: libjemalloc2 not installed"
    fi
else
    echo "skip python3: not installed"
fi

# --- sqlite3: a generated workload ------------------------------------------
if ! command -v sqlite3 >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null 2>&1 || true
fi
if command -v sqlite3 >/dev/null 2>&1; then
    {
        echo "PRAGMA cache_size=-65536; PRAGMA mmap_size=0;"
        echo "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB);"
        echo "BEGIN;"
        echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200000)"
        echo "  INSERT INTO t SELECT i, printf('%08d', (i * 7919) % 200003) || 'x', zeroblob(i % 300) FROM n;"
        echo "COMMIT;"
        echo "CREATE INDEX tb ON t(b);"
        echo "SELECT count(*), sum(a), sum(length(c)) FROM t;"
        echo "SELECT b FROM t ORDER BY b DESC LIMIT 5;"
        echo "SELECT a % 97 AS k, count(*), sum(length(b)) FROM t GROUP BY k ORDER BY k LIMIT 10;"
        echo "DELETE FROM t WHERE a % 3 = 0; VACUUM;"
        echo "SELECT count(*), total(a) FROM t;"
    } >"$TMP/work.sql"
    compare sqlite3-file 0 sh -c "rm -f '$TMP/db'; sqlite3 '$TMP/db' < '$TMP/work.sql'"
    compare sqlite3-memory 0 sqlite3 :memory: ".read $TMP/work.sql"
    if [ -n "${JE:-}" ]; then
        LD_PRELOAD=$JE compare sqlite3-jemalloc 1 sqlite3 :memory: ".read $TMP/work.sql"
    fi
else
    echo "skip sqlite3: not installed"
fi

# --- node: V8 uses MAP_FIXED, mprotect and PROT_NONE reservations -----------
if command -v node >/dev/null 2>&1; then
    cat >"$TMP/work.js" <<'JSEOF'
const crypto = require('crypto');
const h = crypto.createHash('sha256');
let keep = [];
for (let i = 0; i < 300; i++) {
    const b = Buffer.alloc(((i * 7919) % (1 << 20)) + 1, i & 255);
    h.update(b.subarray(0, 64));
    if (i % 5 === 0) keep.push(b);
}
let objs = [];
for (let i = 0; i < 300000; i++) objs.push({ k: i, v: String(i) });
h.update(String(objs.reduce((s, o) => s + o.k, 0)));
const m = new Map(objs.map(o => [o.v, o.k]));
h.update(String(m.size));
console.log(keep.length, h.digest('hex'));
JSEOF
    # V8 itself maps only PROT_NONE|MAP_NORESERVE reservations (committed
    # later with mprotect inside them: they pass through, as they must) and
    # thread stacks; Buffers and large objects come from glibc's malloc,
    # whose mmap the shim never sees.  So plain node gets the same output
    # with nothing served, and node with jemalloc preloaded gets its extents
    # served (README, "glibc's malloc and the shim").
    compare node 0 node "$TMP/work.js"
    if [ -n "${JE:-}" ]; then
        LD_PRELOAD=$JE compare node-jemalloc 1 node "$TMP/work.js"
    else
        echo "skip node-jemalloc: libjemalloc2 not installed"
    fi
else
    echo "skip node: not installed"
fi

[ $ran -gt 0 ] || exit 77
exit $fail

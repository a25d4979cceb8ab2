#!/bin/sh
# SPDX-License-Identifier: MIT
#
# pagealloc-run --malloc / PAGEALLOC_MALLOC: what goes into LD_PRELOAD, and
# the messages and exit statuses for bad values and missing libraries.
# Usage: run_options.sh PAGEALLOC-RUN LIBPAGEALLOC-JEMALLOC-PRELOAD.SO
set -u
RUN=$1
PRE=$2
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

# expect NAME STATUS PATTERN CMD...: exit status and a line of stderr+stdout
expect() {
    name=$1 want=$2 pat=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, want $want: $out"
    elif ! printf '%s\n' "$out" | grep -q -- "$pat"; then
        bad "$name: output lacks '$pat': $out"
    else
        ok "$name"
    fi
}

unset LD_PRELOAD PAGEALLOC_MALLOC
export PAGEALLOC_JEMALLOC_PRELOAD="$PRE"
expect "bad --malloc" 2 "--malloc=tcmalloc: unknown heap" "$RUN" --malloc=tcmalloc -- true
expect "bad PAGEALLOC_MALLOC" 2 "PAGEALLOC_MALLOC=glibc: unknown heap" env PAGEALLOC_MALLOC=glibc "$RUN" -- true
expect "missing preload" 1 "PAGEALLOC_JEMALLOC_PRELOAD=/nonexistent" \
    env PAGEALLOC_JEMALLOC_PRELOAD=/nonexistent "$RUN" --malloc=jemalloc -- true
expect "missing jemalloc" 1 "cannot read jemalloc at /nonexistent/libjemalloc.so.2" \
    env PAGEALLOC_JEMALLOC_SO=/nonexistent/libjemalloc.so.2 "$RUN" --malloc=jemalloc -- true
# jemalloc first, then the preload library; the plain shim is not loaded
expect "jemalloc then the preload" 0 "^[^:]*libjemalloc\.so\.2:.*libpagealloc-jemalloc-preload\.so$" \
    "$RUN" --malloc=jemalloc -- sh -c 'echo "$LD_PRELOAD"'
expect "PAGEALLOC_MALLOC=jemalloc" 0 "libpagealloc-jemalloc-preload\.so$" \
    env PAGEALLOC_MALLOC=jemalloc "$RUN" -- sh -c 'echo "$LD_PRELOAD"'
expect "--malloc=default wins over the variable" 0 "libpagealloc-preload\.so$" \
    env PAGEALLOC_MALLOC=jemalloc "$RUN" --malloc=default -- sh -c 'echo "$LD_PRELOAD"'
exit $fail

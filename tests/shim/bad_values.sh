#!/bin/sh
# SPDX-License-Identifier: MIT
# Each of the shim's variables with a bad value: the program runs, and
# stderr has one line naming the variable and the value (unprintable bytes
# as \xNN).  Good values print nothing.
set -u
shim=$1
fail=0
expect() {   # VAR VALUE PATTERN
    out=$(env "$1=$2" LD_PRELOAD="$shim" /bin/true 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || ! printf '%s\n' "$out" | grep -q -- "$3"; then
        echo "FAIL: $1='$2': rc $rc, stderr: $out"
        fail=1
    fi
    n=$(printf '%s\n' "$out" | grep -c "$1")
    if [ "$n" -ne 1 ]; then
        echo "FAIL: $1='$2': $n lines name it"
        fail=1
    fi
}
quiet() {    # VAR VALUE
    out=$(env "$1=$2" LD_PRELOAD="$shim" /bin/true 2>&1)
    if [ -n "$out" ]; then
        echo "FAIL: $1='$2' is good but printed: $out"
        fail=1
    fi
}
expect PAGEALLOC_SHIM_THRESHOLD -1 'PAGEALLOC_SHIM_THRESHOLD="-1": bad size'
expect PAGEALLOC_SHIM_THRESHOLD 64q 'PAGEALLOC_SHIM_THRESHOLD="64q": bad size'
expect PAGEALLOC_SHIM_THRESHOLD 8M 'PAGEALLOC_SHIM_THRESHOLD="8M": too large'
# the library's parser and words (options.c), not a second copy of them
expect PAGEALLOC_SHIM_THRESHOLD 8M 'PAGEALLOC_SHIM_THRESHOLD="8M": too large (at most 4M); using the default (65536)$'
expect PAGEALLOC_SHIM_CACHE 2T 'PAGEALLOC_SHIM_CACHE="2T": too large (at most 1T); using the default (32M)$'
expect PAGEALLOC_SHIM_PROTECT maybe 'PAGEALLOC_SHIM_PROTECT="maybe": unknown value (use yes or no); using the default (yes)$'
expect PAGEALLOC_SHIM_THRESHOLD 99999999999999999999999 'too large'
expect PAGEALLOC_SHIM_CACHE ' 1M' 'PAGEALLOC_SHIM_CACHE=" 1M": bad size'
expect PAGEALLOC_SHIM_CACHE "$(printf '1\001')" 'PAGEALLOC_SHIM_CACHE="1\\x01"'
expect PAGEALLOC_SHIM_STATS maybe 'PAGEALLOC_SHIM_STATS="maybe": unknown value'
expect PAGEALLOC_SHIM_PROTECT sometimes 'PAGEALLOC_SHIM_PROTECT="sometimes": unknown value'
quiet PAGEALLOC_SHIM_THRESHOLD 128k
quiet PAGEALLOC_SHIM_THRESHOLD 64KiB
quiet PAGEALLOC_SHIM_THRESHOLD 65536B
quiet PAGEALLOC_SHIM_CACHE 1G
expect PAGEALLOC_SHIM_THRESHOLD 64Ki 'bad size'
expect PAGEALLOC_SHIM_THRESHOLD 0x10000 'bad size'
quiet PAGEALLOC_SHIM_CACHE 0
quiet PAGEALLOC_SHIM_PROTECT no
quiet PAGEALLOC_SHIM_STATS 0
exit $fail

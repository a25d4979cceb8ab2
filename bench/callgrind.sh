#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per operation of the order-0 fast path, under callgrind
# (independent of the machine's load, unlike bench/run.sh's times):
#
#   bench/callgrind.sh [BUILD_DIR]     (default: build; needs libpagealloc.a there)
#
# Builds bench/callgrind/{pair,pair_addr,batch256}.c against BUILD_DIR/libpagealloc.a,
# runs each for N and 2N iterations under valgrind --tool=callgrind with
# PAGEALLOC_NODE_SIZE=$NODE_SIZE (default 4G, bench/run.sh's node size; the
# records before it used 256M) and prints (Ir(2N) - Ir(N)) / N: set-up and
# warm-up cancel.  hot pair: instructions per alloc + address + touch +
# free; hot pair (addresses): the same through pa_get_free_pages and
# pa_free_pages_addr; batch256: per page.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for d in pair pair_addr batch256; do
    gcc -O2 -I"$root/include" -I"$build/include" "$root/bench/callgrind/$d.c" "$build/libpagealloc.a" \
        -lnuma -lpthread -o "$out/$d"
done
ir() {
    PAGEALLOC_NODE_SIZE=${NODE_SIZE:-4G} valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$out/$1" "$2" 2>&1 |
        awk '/Collected/ {print $4}'
}
a=$(ir pair 100000); b=$(ir pair 200000)
echo "hot pair: $(( (b - a) / 100000 )) instructions per pair"
a=$(ir pair_addr 100000); b=$(ir pair_addr 200000)
echo "hot pair (addresses): $(( (b - a) / 100000 )) instructions per pair"
a=$(ir batch256 1000); b=$(ir batch256 2000)
echo "batch256: $(( (b - a) / 256000 )) instructions per page"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The main job: install what is missing, build, run the example program
# (and, once it exists, the quick benchmark).  Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build}

scripts/install-deps.sh
scripts/build.sh

echo
echo "=== examples/zones_demo: this machine as it is ==="
"$build_dir/examples/zones_demo"

echo
echo "=== examples/zones_demo: PAGEALLOC_NUMA_EMULATE=2 PAGEALLOC_MOVABLECORE=25% ==="
PAGEALLOC_NUMA_EMULATE=2 PAGEALLOC_MOVABLECORE=25% "$build_dir/examples/zones_demo"

# --- benchmark: bench/run.sh --quick (runs once bench/run.sh exists) -------
if [[ -f bench/run.sh ]]; then
    echo
    echo "=== bench/run.sh --quick ==="
    bash bench/run.sh --quick
fi

echo
echo "main.sh: done"

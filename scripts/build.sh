#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Configure and build into ./build (RelWithDebInfo: optimised, with -g),
# using all cores.
#
#   scripts/build.sh [--werror] [-DVAR=VALUE ...]
#
# Warnings are errors with --werror or when CI=true.  Extra -D options go to
# cmake (e.g. -DPAGEALLOC_MAX_ORDER=11).  BUILD_DIR overrides ./build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake_args=()
for arg in "$@"; do
    case "$arg" in
        --werror) werror=ON ;;
        -D*) cmake_args+=("$arg") ;;
        -h|--help) sed -n '3,11p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

build_dir=${BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B "$build_dir" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPAGEALLOC_WERROR="$werror" \
    "${cmake_args[@]}"
cmake --build "$build_dir" --parallel "$jobs"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The unit and stress suites under the sanitizers: configure and build the
# asan (ASan + UBSan) and tsan (TSan) presets of CMakePresets.json into
# build-asan/ and build-tsan/, then run `ctest --preset <name>`: every test
# labelled unit or stress, including test_stress_long (10^7 operations).
# Any report aborts the test that made it (halt_on_error=1,
# -fno-sanitize-recover=all), so a report is a failure, never a warning.
# Two tests run at a time (most of their time is spent waiting for
# kswapd and friends).  Measured on 2 shared cores: asan ~1-2 min, tsan
# ~8 min (test_stress_long alone ~3 min under TSan), builds included.
# Exits non-zero if any build or test fails.
#
#   scripts/sanitize.sh [asan] [tsan]     (default: both)
#
# Left out by label, because the sanitizers cannot run them, not because
# they report anything:
#   shim, tools  LD_PRELOAD a library into other programs; ASan must be the
#                first library loaded and TSan cannot intercept what an
#                uninstrumented program (python3, sh) does before it
#   numa-vm      a static binary run in a QEMU guest; the sanitizer
#                runtimes cannot be linked statically (not even built here)
# test_guard runs with handle_segv=0: it expects the SIGSEGV of a guard page.
# TSan runs with die_after_fork=0: the library restarts kswapd, kcompactd
# and its vmstat worker in a forked child of a multithreaded program (and
# the fork tests check that it does), which TSan otherwise refuses.
# LeakSanitizer is off (detect_leaks=0): the library keeps its process-long
# state (per-node reclaim, thread registry) in mmap'd metadata that LSan
# does not scan, so it would report every pointer kept there.
#
# scripts/test.sh runs this after the normal suite unless PAGEALLOC_SANITIZE=0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

presets=("$@")
[[ ${#presets[@]} -eq 0 ]] && presets=(asan tsan)
for p in "${presets[@]}"; do
    case "$p" in
        asan|tsan) ;;
        -h|--help) sed -n '3,31p' "$0"; exit 0 ;;
        *) echo "sanitize.sh: unknown preset '$p' (asan or tsan)" >&2; exit 2 ;;
    esac
done

werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
jobs=$(nproc 2>/dev/null || echo 2)
failed=()

for p in "${presets[@]}"; do
    echo "==== sanitize.sh: $p: configure and build (build-$p) ===="
    start=$SECONDS
    if ! cmake --preset "$p" -DPAGEALLOC_WERROR="$werror" >/dev/null ||
       ! cmake --build --preset "$p" --parallel "$jobs"; then
        echo "sanitize.sh: FAILED: $p build" >&2
        failed+=("$p build")
        continue
    fi
    echo "==== sanitize.sh: $p: unit and stress suites ===="
    if ! ctest --preset "$p"; then
        echo "sanitize.sh: FAILED: $p tests (reports above)" >&2
        failed+=("$p tests")
    fi
    echo "==== sanitize.sh: $p: $((SECONDS - start)) s ===="
done

if [[ ${#failed[@]} -ne 0 ]]; then
    echo "sanitize.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "sanitize.sh: ${presets[*]}: clean"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Fuzz the allocator for a bounded time: configure a separate clang build
# (build-fuzz/: the library and tests/fuzz/fuzz_ops.c with libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer), build the harness, and
# run it from the seed corpus in tests/fuzz/corpus/.
#
#   scripts/fuzz.sh [SECONDS]
#
# SECONDS (or env FUZZ_SECONDS) bounds the run, 60 by default.  Env:
# FUZZ_BUILD_DIR (build-fuzz), FUZZ_CC (clang, else the newest clang-N),
# FUZZ_ARGS (extra libFuzzer options).  New inputs go to
# FUZZ_BUILD_DIR/corpus, never into the repository.
#
# Exit status 0 when the run ends without a finding; 1 on any crash, leak,
# sanitizer report, timeout or invariant failure: the input that caused it
# is saved under FUZZ_BUILD_DIR/artifacts/, replayed once with the
# library's messages shown, and the command to reproduce it is printed.
# 2 for bad usage or a missing tool (scripts/install-deps.sh installs clang
# and libFuzzer's runtime).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
    -h|--help) sed -n '3,22p' "$0"; exit 0 ;;
esac
seconds=${1:-${FUZZ_SECONDS:-60}}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
    echo "fuzz.sh: SECONDS must be a positive whole number (got '$seconds')" >&2
    exit 2
fi
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}

# clang, and a libFuzzer runtime it can link
cc=${FUZZ_CC:-}
if [[ -z "$cc" ]]; then
    for c in clang $(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2 -nr | uniq); do
        if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
    done
fi
if [[ -z "$cc" ]] || ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz.sh: no clang found (Debian: apt-get install clang libclang-rt-14-dev, or scripts/install-deps.sh)" >&2
    exit 2
fi
probe=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-probe.XXXXXX")
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    > "$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
    cat "$probe/err" >&2
    echo "fuzz.sh: $cc cannot link libFuzzer with ASan/UBSan (Debian: apt-get install libclang-rt-14-dev for clang-14)" >&2
    exit 2
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
jobs=$(nproc 2>/dev/null || echo 2)
echo "fuzz.sh: configuring $build_dir with $cc"
cmake -S . -B "$build_dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPAGEALLOC_FUZZ=ON -DPAGEALLOC_WERROR=OFF \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $san" \
    -DCMAKE_EXE_LINKER_FLAGS="$san" >"$build_dir.configure.log" 2>&1 ||
    { cat "$build_dir.configure.log" >&2; echo "fuzz.sh: cmake configure failed" >&2; exit 2; }
rm -f "$build_dir.configure.log"
cmake --build "$build_dir" --target fuzz_ops --parallel "$jobs" >"$build_dir/fuzz-build.log" 2>&1 ||
    { tail -40 "$build_dir/fuzz-build.log" >&2; echo "fuzz.sh: building fuzz_ops failed" >&2; exit 2; }

fuzzer="$build_dir/tests/fuzz/fuzz_ops"
mkdir -p "$build_dir/corpus" "$build_dir/artifacts"
rm -f "$build_dir"/artifacts/*
log="$build_dir/fuzz.log"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

echo "fuzz.sh: running $fuzzer for ${seconds}s (seeds: tests/fuzz/corpus, log: $log)"
# -close_fd_mask=2: the library's reports of the frees the harness makes on
# purpose would flood the log; libFuzzer and the sanitizers keep their own
# copy of stderr, and a finding is replayed below with everything shown.
status=0
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -timeout=60 -max_len=4096 -print_final_stats=1 \
    -close_fd_mask=2 -artifact_prefix="$build_dir/artifacts/" ${FUZZ_ARGS:-} \
    "$build_dir/corpus" tests/fuzz/corpus >"$log" 2>&1 || status=$?

artifacts=("$build_dir"/artifacts/*)
if (( status != 0 )) || [[ -e "${artifacts[0]}" ]]; then
    echo "fuzz.sh: FAILED (libFuzzer exit status $status); last lines of $log:" >&2
    tail -60 "$log" >&2
    for a in "${artifacts[@]}"; do
        [[ -e "$a" ]] || continue
        echo "fuzz.sh: finding saved as $a; replaying it with the library's messages:" >&2
        "$fuzzer" -runs=1 "$a" 2>&1 | grep -v '^INFO:' | tail -60 >&2 || true
        echo "fuzz.sh: reproduce with: $fuzzer $a" >&2
    done
    exit 1
fi
runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
corpus=$(find "$build_dir/corpus" -type f | wc -l)
echo "fuzz.sh: clean: $runs inputs in ${seconds}s, ${cov:-cov: ?}, $corpus new corpus files in $build_dir/corpus; no crash, leak or invariant failure"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The whole test suite: install what is missing, build, run every ctest
# (all labels), then repeat Check's per-suite summary lines ("100%: Checks:
# 12, Failures: 0, Errors: 0"), which ctest hides for passing tests, and end
# with "N passed, N failed".  Exits non-zero on any failure.
#
#   scripts/test.sh [ctest arguments, e.g. -L buddy or -R install]
#
# Then the sanitizer stage, scripts/sanitize.sh: the unit and stress
# suites again under ASan+UBSan and under TSan (build-asan/, build-tsan/).
# CI always runs it; locally PAGEALLOC_SANITIZE=0 skips it, and it is
# skipped when ctest arguments pick a subset of the suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build}

scripts/install-deps.sh || { echo "test.sh: FAILED: scripts/install-deps.sh" >&2; exit 1; }
scripts/build.sh || { echo "test.sh: FAILED: scripts/build.sh (build error above)" >&2; exit 1; }

ctest_out=$(mktemp "${TMPDIR:-/tmp}/pagealloc-ctest.XXXXXX")
trap 'rm -f "$ctest_out"' EXIT

set +e
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$ctest_out"
ctest_rc=${PIPESTATUS[0]}
set -e

# Check's summaries, from the log ctest keeps of every test's output.
log="$build_dir/Testing/Temporary/LastTest.log"
if [[ -f "$log" ]]; then
    echo
    echo "Check summaries:"
    awk '
        /^[0-9]+\/[0-9]+ Test: / { name = $3 }
        /[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
            match($0, /[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/)
            print "# " name
            print substr($0, RSTART, RLENGTH)
            found = 1
        }
        END { if (!found) print "(no Check suites in this run)" }
    ' "$log"
fi

# ctest's own counts: "95% tests passed, 1 tests failed out of 20".
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$ctest_out" | tail -n 1 || true)
if [[ -n "$summary" ]]; then
    failed=$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
    total=$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
    passed=$((total - failed))
else
    passed=0
    failed=0
    [[ $ctest_rc -ne 0 ]] && failed=1   # ctest itself failed (no tests, bad arguments)
fi
echo
echo "$passed passed, $failed failed"

if [[ $ctest_rc -ne 0 || $failed -ne 0 ]]; then
    echo "test.sh: FAILED (ctest exit $ctest_rc)" >&2
    exit 1
fi

if [[ "${CI:-}" == "true" ]] || [[ "${PAGEALLOC_SANITIZE:-1}" != "0" && $# -eq 0 ]]; then
    echo
    scripts/sanitize.sh || { echo "test.sh: FAILED: scripts/sanitize.sh (sanitizer reports above)" >&2; exit 1; }
else
    echo
    echo "test.sh: sanitizer stage skipped (PAGEALLOC_SANITIZE=0 or a subset of the suite was asked for)"
fi

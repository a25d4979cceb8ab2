#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Install the Debian packages libpagealloc needs to build, test and
# benchmark, if any are missing.  Idempotent and quiet: prints one line.
# Needs root, or sudo without a password prompt, only when something is
# missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config   # toolchain
    libnuma-dev numactl                # libnuma (the only link dependency), numactl for tests
    check                              # unit-test framework
    libjemalloc-dev libtcmalloc-minimal4 libgoogle-perftools-dev libmimalloc-dev   # libpagealloc-jemalloc's jemalloc, and benchmark peers (libgoogle-perftools-dev: gperftools/tcmalloc.h, libtcmalloc_minimal.so)
    gnuplot-nox                        # benchmark plots
    sqlite3 python3 nodejs             # real programs the shim and --malloc=jemalloc tests run
    systemtap-sdt-dev                  # <sys/sdt.h>: the USDT tracepoints (src/trace.h)
    bpftrace                           # the USDT test counts allocations by order with it
    clang libclang-rt-14-dev           # scripts/fuzz.sh: libFuzzer (its runtime package is only Recommended by clang)
    man-db                             # the man_pages test renders man/ with man(1)
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
else
    echo "install-deps: missing ${missing[*]}, and not root (no password-less sudo): install them and rerun" >&2
    exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! { "${as_root[@]}" apt-get update -q &&
       "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: FAILED to install ${missing[*]} (apt-get output above)" >&2
    exit 1
fi
echo "install-deps: installed ${missing[*]}"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot a Debian kernel under QEMU with 2 and then 4 NUMA nodes and run
# numa_vm_test inside, once per backing (hugetlb 2M, THP, 4 KiB).  Fully
# automatic and idempotent; see README.md beside this file.
#
#   tests/numa-vm/run.sh [PATH/TO/numa_vm_test]
#
# Without an argument it uses build/tests/numa-vm/numa_vm_test.
# Environment (all optional):
#   NUMA_VM_CACHE     cache for the kernel and the logs (build/numa-vm-cache)
#   NUMA_VM_NODES     node counts to boot, in order ("2 4")
#   NUMA_VM_BACKINGS  backings to test ("2M thp none")
#   NUMA_VM_TIMEOUT   seconds per boot (300)
#   NUMA_VM_ACCEL     QEMU accelerator (tcg)
#   NUMA_VM_HUGEPAGES 2 MiB hugepages reserved per node at boot (64)
#   NUMA_VM_PRESSURE  node count of the boot that also runs the cgroup v2
#                     memory.high case (the first of NUMA_VM_NODES; "" for none)
#   NUMA_VM_ENV       extra VAR=VALUE words exported to the guest's test program
#                     (e.g. PAGEALLOC_PRESSURE=off, to see the pressure case fail)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${NUMA_VM_CACHE:-$root/build/numa-vm-cache}
nodes_list=${NUMA_VM_NODES:-2 4}
backings=${NUMA_VM_BACKINGS:-2M thp none}
boot_timeout=${NUMA_VM_TIMEOUT:-300}
accel=${NUMA_VM_ACCEL:-tcg}
hugepages_per_node=${NUMA_VM_HUGEPAGES:-64}
pressure_nodes=${NUMA_VM_PRESSURE-${nodes_list%% *}}
guest_env=${NUMA_VM_ENV:-}
guest_mem_mb=2048
sentinel="NUMA-VM-RESULT:"

say() { printf 'numa-vm: %s\n' "$*"; }
die() { printf 'numa-vm: error: %s\n' "$*" >&2; exit 1; }

test_bin=${1:-$root/build/tests/numa-vm/numa_vm_test}
[[ -x $test_bin ]] || die "test program '$test_bin' not found; build it first (cmake --build build --target numa_vm_test) or pass its path"
test_bin=$(cd "$(dirname "$test_bin")" && pwd)/$(basename "$test_bin")
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# ---------------------------------------------------------------------------
# Host packages: qemu-system-x86, busybox-static, cpio
# ---------------------------------------------------------------------------
apt_updated=0
apt_update() {
    if [[ $apt_updated -eq 0 ]]; then
        say "apt-get update"
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
}

apt_install() {
    [[ $(id -u) -eq 0 ]] || die "missing packages: $*; install them as root (apt-get install $*)"
    say "installing $*"
    local opts=(-y -qq --no-install-recommends -o DPkg::Lock::Timeout=300)
    if ! DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >/dev/null; then
        apt_update || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >/dev/null ||
            die "apt-get install $* failed"
    fi
}

pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
pkg_installed busybox-static || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if [[ ${#missing[@]} -gt 0 ]]; then
    apt_install "${missing[@]}"
fi
busybox=/bin/busybox
[[ -x $busybox ]] || die "busybox-static installed but $busybox is missing"

# ---------------------------------------------------------------------------
# Kernel: Debian's linux-image-<version>-amd64, the one linux-image-amd64
# depends on; only /boot of the package is kept (everything the test needs
# is built in: NUMA, hugetlbfs, THP, migration, devtmpfs, serial console).
# ---------------------------------------------------------------------------
kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# Download the package and keep its vmlinuz and config in $cache/kernel/PKG.
fetch_kernel() {
    local pkg=$1 dir=$cache/kernel/$1 dl deb
    dl=$(mktemp -d "$cache/download.XXXXXX")
    if ! (cd "$dl" && apt-get download -qq "$pkg") >"$dl/apt.log" 2>&1; then
        grep -v '^W: Download is performed unsandboxed' "$dl/apt.log" >&2 || true
        rm -rf "$dl"
        return 1
    fi
    deb=$(find "$dl" -maxdepth 1 -name '*.deb' | head -n 1)
    [[ -n $deb ]] || { rm -rf "$dl"; return 1; }
    mkdir -p "$dl/x" "$dir"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl/x" --wildcards './boot/*'
    cp "$dl"/x/boot/config-* "$dir/config"
    cp "$dl"/x/boot/vmlinuz-* "$dir/vmlinuz.tmp"
    mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
    rm -rf "$dl"
}

kpkg=$(kernel_pkg || true)
if [[ -z $kpkg ]]; then
    apt_update || true
    kpkg=$(kernel_pkg || true)
fi
if [[ -n $kpkg && ! -s $cache/kernel/$kpkg/vmlinuz ]]; then
    say "downloading $kpkg"
    if ! fetch_kernel "$kpkg"; then
        [[ $apt_updated -eq 0 ]] || die "apt-get download $kpkg failed"
        # stale package lists can name a version the archive no longer has
        apt_update || die "apt-get update failed"
        kpkg=$(kernel_pkg || true)
        [[ -n $kpkg ]] || die "apt-cache depends linux-image-amd64 names no kernel package"
        if [[ ! -s $cache/kernel/$kpkg/vmlinuz ]]; then
            say "downloading $kpkg"
            fetch_kernel "$kpkg" || die "apt-get download $kpkg failed"
        fi
    fi
fi
if [[ -z $kpkg ]]; then
    # no package lists at all (offline): whatever kernel is cached
    kpkg=$(find "$cache/kernel" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $kpkg ]] || die "cannot find Debian's kernel package (apt-cache depends linux-image-amd64) and none is cached"
    say "using the cached $kpkg"
fi
kdir=$cache/kernel/$kpkg
[[ -s $kdir/vmlinuz && -s $kdir/config ]] || die "no kernel in $kdir"
for opt in CONFIG_NUMA CONFIG_MIGRATION CONFIG_HUGETLBFS CONFIG_TRANSPARENT_HUGEPAGE \
           CONFIG_DEVTMPFS CONFIG_SERIAL_8250_CONSOLE CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP \
           CONFIG_MEMCG CONFIG_PSI; do
    grep -q "^$opt=y" "$kdir/config" || die "$kpkg: $opt is not built in; this kernel cannot run the test"
done
# pressure stall information is off unless the command line turns it on
psi_arg=""
if grep -q '^CONFIG_PSI_DEFAULT_DISABLED=y' "$kdir/config"; then
    psi_arg=" psi=1"
fi
for w in $guest_env; do
    [[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*=[^\'\"]*$ ]] || die "bad word '$w' in NUMA_VM_ENV (VAR=VALUE expected)"
done

# ---------------------------------------------------------------------------
# Initramfs: busybox, the test program (and its shared libraries, if it has
# any), and /init.
# ---------------------------------------------------------------------------
work=$(mktemp -d "$cache/work.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$rootfs/bin/busybox"
cp "$test_bin" "$rootfs/bin/numa_vm_test"
if ldd "$test_bin" >/dev/null 2>&1; then
    # dynamically linked (no libnuma.a at build time): bring its libraries
    ldd "$test_bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
        while read -r lib; do
            mkdir -p "$rootfs$(dirname "$lib")"
            cp -L "$lib" "$rootfs$lib"
        done
fi

cat >"$rootfs/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages
echo "NUMA-VM: kernel \$(uname -r), \$(nproc) CPU(s), cmdline: \$(cat /proc/cmdline)"
echo "NUMA-VM: transparent_hugepage: \$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
for n in /sys/devices/system/node/node[0-9]*; do
    hp=\$n/hugepages/hugepages-2048kB/nr_hugepages
    # the kernel command line reserved them; top up here if it did not
    if [ "\$(cat \$hp)" -lt $hugepages_per_node ]; then
        echo "NUMA-VM: \${n##*/}: only \$(cat \$hp) hugepages from the command line, reserving $hugepages_per_node"
        echo $hugepages_per_node > \$hp
    fi
    mem=\$(awk '/MemTotal/ { printf "%d", \$4 / 1024 }' \$n/meminfo)
    echo "NUMA-VM: \${n##*/}: cpus \$(cat \$n/cpulist), \${mem} MiB, 2M hugepages \$(cat \$hp)"
done
# the memory controller is free in the guest: cgroup v2 gets it
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
args="$backings"
case " \$(cat /proc/cmdline) " in
*" numa_vm.pressure=1 "*) args="\$args pressure" ;;
esac
${guest_env:+export $guest_env}
echo "NUMA-VM: running numa_vm_test \$args${guest_env:+ with $guest_env}"
/bin/numa_vm_test \$args
rc=\$?
echo "$sentinel exit=\$rc"
sync
poweroff -f
EOF
chmod 755 "$rootfs/init"

initrd=$work/initrd.gz
(cd "$rootfs" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd"

# ---------------------------------------------------------------------------
# Boot once per node count
# ---------------------------------------------------------------------------
mkdir -p "$cache/logs"
failed=0
checks_passed=0
checks_failed=0
summary=()
total_start=$(date +%s.%N)

boot() {
    local n=$1 log=$cache/logs/guest-${1}nodes.log
    local per=$((guest_mem_mb / n)) hp="" args=()
    for ((i = 0; i < n; i++)); do
        args+=(-object "memory-backend-ram,id=m$i,size=${per}M"
               -numa "node,nodeid=$i,cpus=$i,memdev=m$i")
        hp+="${hp:+,}$i:$hugepages_per_node"
    done
    local append="console=ttyS0 quiet panic=-1 hugepagesz=2M hugepages=$hp transparent_hugepage=madvise$psi_arg"
    [[ $n != "$pressure_nodes" ]] || append+=" numa_vm.pressure=1"
    say "booting $kpkg with $n nodes ($accel, -smp $n, ${per}M per node, timeout ${boot_timeout}s)"
    local start end rc=0
    start=$(date +%s.%N)
    timeout --kill-after=10 "$boot_timeout" \
        qemu-system-x86_64 -accel "$accel" -m "${guest_mem_mb}M" -smp "$n" "${args[@]}" \
            -nographic -no-reboot -nic none \
            -kernel "$kdir/vmlinuz" -initrd "$initrd" -append "$append" \
            </dev/null >"$log" 2>&1 || rc=$?
    end=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"

    local why=""
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        why="timed out after ${boot_timeout}s"
    elif ! grep -q "^$sentinel" "$log"; then
        why="no '$sentinel' line (qemu exit $rc)"
    elif ! grep -q "^$sentinel exit=0\$" "$log"; then
        why="test program failed: $(grep "^$sentinel" "$log")"
    fi
    if grep -q '^not ok' "$log"; then
        why="${why:+$why; }$(grep -c '^not ok' "$log") check(s) not ok"
    fi
    if ! grep -q '^[0-9]* passed, [0-9]* failed' "$log"; then
        why="${why:+$why; }no closing 'N passed, N failed' line"
    fi
    local result p f
    result=$(grep '^[0-9]* passed, [0-9]* failed' "$log" | tail -n 1 || true)
    p=$(grep '^ok ' "$log" | grep -vc '# SKIP' || true)
    f=$(grep -c '^not ok ' "$log" || true)
    checks_passed=$((checks_passed + p))
    checks_failed=$((checks_failed + f))
    if [[ -n $why ]]; then
        failed=1
        printf '\n===== guest output, %d nodes (%s) =====\n' "$n" "$log"
        cat "$log"
        printf '===== end of guest output =====\n'
        say "FAIL: $n nodes: $why (${secs}s)"
        [[ $f -gt 0 ]] || checks_failed=$((checks_failed + 1))   # the boot itself failed
        summary+=("$n nodes: FAIL ($why) in ${secs}s")
    else
        grep '^NUMA-VM: node' "$log" | sed 's/^/  /'
        grep '# SKIP' "$log" | sed 's/^/  /' || true
        grep '^# pressure: memory.current' "$log" | sed 's/^# /  /' || true
        say "PASS: $n nodes: $result in ${secs}s"
        summary+=("$n nodes: $result in ${secs}s")
    fi
}

for n in $nodes_list; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "bad node count '$n' in NUMA_VM_NODES"
    boot "$n"
done

total=$(awk -v a="$total_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
say "summary ($kpkg, $accel, ${total}s in all):"
for line in "${summary[@]}"; do
    say "  $line"
done
echo "numa-vm: $checks_passed passed, $checks_failed failed"
if [[ $failed -ne 0 ]]; then
    say "FAILED"
    exit 1
fi
say "all boots passed"

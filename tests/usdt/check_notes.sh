#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built library carries a stapsdt note (provider "pagealloc") for every
# tracepoint src/trace.h defines.   check_notes.sh LIB [nosdt]
set -euo pipefail
lib=$1
if [[ ${2:-} == nosdt ]]; then
    echo "SKIP: <sys/sdt.h> was not found at configure time (install systemtap-sdt-dev): the probes are compiled out"
    exit 77
fi
probes=(mm_page_alloc mm_page_free mm_page_alloc_zone_locked mm_page_alloc_extfrag mm_page_pcpu_drain
        mm_compaction_begin mm_compaction_end mm_vmscan_wakeup_kswapd mm_vmscan_kswapd_wake
        mm_vmscan_kswapd_sleep mark_victim)
notes=$(readelf -n "$lib" | awk '/Provider:/ { p = $2 } /Name:/ && p != "" { print p ":" $2; p = "" }')
missing=0
for name in "${probes[@]}"; do
    if grep -qx "pagealloc:$name" <<<"$notes"; then
        echo "ok: pagealloc:$name"
    else
        echo "MISSING: pagealloc:$name has no stapsdt note in $lib"
        missing=1
    fi
done
# and no probe under another provider or name than the list
extra=$(grep -v -x -F -f <(printf 'pagealloc:%s\n' "${probes[@]}") <<<"$notes" || true)
if [[ -n $extra ]]; then
    echo "UNEXPECTED notes (add them to this list and to src/trace.h's table):"
    echo "$extra"
    missing=1
fi
exit $missing

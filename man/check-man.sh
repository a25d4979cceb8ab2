#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-man.sh BUILD_DIR PREFIX MANDIR HEADER_DIR [TOOL=PATH ...]
#
# Install the manual pages from BUILD_DIR into PREFIX (component "man"),
# then check that:
#  - `man -M PREFIX/MANDIR pagealloc` finds and renders pagealloc(3);
#  - every page renders at 80 columns without a groff warning;
#  - pagealloc(3) names every PA_API function declared in HEADER_DIR/*.h;
#  - the page of each TOOL names every long option its --help lists.
set -euo pipefail
build_dir=$1 prefix=$2 mandir=$3 header_dir=$4
shift 4

fail=0
problem() { echo "man_pages: $*" >&2; fail=1; }

command -v man >/dev/null 2>&1 ||
    { echo "man_pages: man(1) not found (Debian: apt-get install man-db, or scripts/install-deps.sh)" >&2; exit 1; }

rm -rf "$prefix"
cmake --install "$build_dir" --prefix "$prefix" --component man >/dev/null
man_root="$prefix/$mandir"
case "$mandir" in /*) man_root=$mandir ;; esac
for page in man3/pagealloc.3 man1/pagealloc-run.1 man1/pagealloc-stat.1; do
    [[ -f "$man_root/$page" ]] || problem "not installed: $man_root/$page"
done
(( fail == 0 )) || exit 1

render() {   # render SECTION NAME OUT: through the man path, as a user would
    local err
    err=$(MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -M "$man_root" "$1" "$2" 2>&1 >"$3" | grep -v '^$' || true)
    [[ -z "$err" ]] || problem "$2($1) renders with warnings:"$'\n'"$err"
    [[ -s "$3" ]] || problem "$2($1): man printed nothing"
    # plain text: drop any overstrike formatting
    sed -i -e 's/.\x08//g' "$3"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/man-pages.XXXXXX")
trap 'rm -rf "$work"' EXIT
render 3 pagealloc "$work/pagealloc.txt"
render 1 pagealloc-run "$work/pagealloc-run.txt"
render 1 pagealloc-stat "$work/pagealloc-stat.txt"
grep -q '^NAME' "$work/pagealloc.txt" || problem "pagealloc(3) has no NAME section"

# every public function, documented (the rendered text, so markup cannot hide a name)
mapfile -t functions < <(grep -ho 'PA_API[^;]*' "$header_dir"/*.h | grep -o '\bpa_[a-z0-9_]*[[:space:]]*(' |
                         tr -d '( \t' | sort -u)
(( ${#functions[@]} > 0 )) || problem "no PA_API functions found in $header_dir"
missing=()
for fn in "${functions[@]}"; do
    grep -q "\b$fn(" "$work/pagealloc.txt" || missing+=("$fn")
done
(( ${#missing[@]} == 0 )) ||
    problem "pagealloc(3) does not document: ${missing[*]} (add a prototype to SYNOPSIS and a .TP entry under the .SS of its header in man/pagealloc.3)"

# every option of each tool's --help, in its page
for arg in "$@"; do
    tool=${arg%%=*} path=${arg#*=}
    mapfile -t opts < <("$path" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
    (( ${#opts[@]} > 0 )) || problem "$tool --help lists no options"
    for opt in "${opts[@]}"; do
        grep -q -- "$opt" "$work/$tool.txt" || problem "$tool(1) does not mention $opt (from $tool --help)"
    done
done

(( fail == 0 )) || exit 1
echo "man_pages: ${#functions[@]} functions documented; pagealloc(3), pagealloc-run(1), pagealloc-stat(1) render cleanly"

# SPDX-License-Identifier: MIT
#
# The malloc workload (bench-malloc-heap): plain jemalloc and jemalloc with
# its extents on libpagealloc side by side: ns per malloc+free (wall and
# CPU), resident MiB and the share of the heap on 2 MiB pages.
#
#   gnuplot -e "datafile='OUT/heap.dat'; outfile='OUT/results-heap.png'; subtitle='...'" bench/plot_heap.gp
#
# heap.dat (written by report.py): "allocator wall_ns cpu_ns rss_mib huge_pct",
# then one line per allocator.

if (!exists("datafile")) datafile = 'bench/out/heap.dat'
if (!exists("outfile")) outfile = 'bench/out/results-heap.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1400,500 noenhanced font "sans,11"
set output outfile
set multiplot layout 1,3 title "malloc heap: jemalloc vs jemalloc on libpagealloc (median of runs)\n".subtitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#404040"
set boxwidth 0.9
set datafile missing "NaN"
set grid ytics lc rgb "#d0d0d0"
set key top left
set yrange [0:*]
set xtics nomirror font ",9"

set title "ns per malloc+free (lower is better)"
plot datafile using 2:xtic(1) title "wall" lc rgb "#1f77b4", \
     '' using 3 title "CPU" lc rgb "#aec7e8"
set title "resident MiB at the end"
plot datafile using 4:xtic(1) notitle lc rgb "#2ca02c"
set title "% of resident memory on 2 MiB pages"
set yrange [0:100]
plot datafile using 5:xtic(1) notitle lc rgb "#d62728"
unset multiplot

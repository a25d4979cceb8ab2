# SPDX-License-Identifier: MIT
#
# Grouped bar chart of ns per operation, one group per workload, one bar per
# allocator, log scale.  bench/run.sh calls it as
#
#   gnuplot -e "datafile='OUT/plot.dat'; outfile='OUT/results.png'; ncols=N; subtitle='...'" bench/plot.gp
#
# plot.dat (written by report.py): a header line "workload alloc1 alloc2 ...",
# then one line per workload; NaN where an allocator has no number.

if (!exists("datafile")) datafile = 'bench/out/plot.dat'
if (!exists("outfile")) outfile = 'bench/out/results.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1600,800 noenhanced font "sans,11"
set output outfile

set title "libpagealloc vs peers: ns per operation (median of runs; lower is better)\n".subtitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#404040"
set boxwidth 0.9
set datafile missing "NaN"
set logscale y 10
set yrange [1:*]
set format y "%.0f"
set ylabel "ns per operation (log scale)"
set grid ytics mytics lc rgb "#d0d0d0"
set xtics rotate by 30 right nomirror
set key outside right top vertical title "allocator"
set border 3

# Colours: pagealloc forms in strong colours, peers after.
array colours[8] = ["#d62728", "#ff9896", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f", "#bcbd22"]

plot for [i=2:ncols] datafile using i:xtic(1) title columnheader(i) lc rgb colours[((i - 2) % 8) + 1]

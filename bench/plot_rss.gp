# SPDX-License-Identifier: MIT
#
# Resident memory of the peak-then-idle workload (peak_idle.c): one line per
# allocator, RSS in MiB at the peak and 0, 1, 3 and 11 s after the frees.
# bench/run.sh calls it as
#
#   gnuplot -e "datafile='OUT/plot_rss.dat'; outfile='OUT/results_rss.png'" bench/plot_rss.gp
#
# plot_rss.dat (written by report.py): a header "point alloc1 alloc2 ...",
# then one line per time point; NaN where an allocator has no number.

if (!exists("datafile")) datafile = 'bench/out/plot_rss.dat'
if (!exists("outfile")) outfile = 'bench/out/results_rss.png'

set terminal pngcairo size 1200,700 noenhanced font "sans,11"
set output outfile
set title "Peak then idle: RSS after freeing everything (lower is better)"
set datafile missing "NaN"
set ylabel "VmRSS, MiB"
set xlabel "time point"
set yrange [0:*]
set grid ytics lc rgb "#d0d0d0"
set key outside right top vertical title "allocator"
set border 3
ncols = system("head -n 1 '".datafile."' | wc -w") + 0
array colours[8] = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f", "#bcbd22", "#ff9896"]
plot for [i=2:ncols] datafile using 0:i:xtic(1) with linespoints \
     linecolor rgb colours[((i - 2) % 8) + 1] linewidth 2 pointtype 7 title columnheader(i)

# SPDX-License-Identifier: MIT
# The bench's plot: gnuplot -e "rates='R'; targets='T'; out='O.png';
# heading='...'" plot.gp (bench.py writes R and T: quoted label, TAB,
# value[, TAB, colour]).
set terminal pngcairo size 1400,620 font "sans,10"
set output out
set datafile separator "\t"
set datafile missing "NaN"
set multiplot layout 1,2 title heading font "sans,12"
set bmargin 8

set title "Delivery rate, jobs/s (log scale)"
set style fill solid 0.8 border -1
set boxwidth 0.7
set logscale y
set yrange [1:*]
set grid ytics
set xtics rotate by -35 nomirror
unset key
plot rates using 0:2:xtic(1) with boxes lc rgb "#1f77b4", \
     rates using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font "sans,8"

set title "Targets: measured / required (≥ 1 is met; log scale)"
set yrange [0.01:100]
set xtics rotate by -45 nomirror font "sans,8"
plot targets using 0:2:3:xtic(1) with boxes lc rgb variable, \
     1 with lines lw 2 dt 2 lc rgb "black"
unset multiplot

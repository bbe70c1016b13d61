# SPDX-License-Identifier: MIT
# The herd test's plot: gnuplot -e "series='S'; compare='C'; out='O.png';
# heading='...'; label='...'; clabel='...'; cap=N" herd.gp. herd.py writes
# S (and C, an earlier run's, or ''): t (s from the recovery), seen,
# accepted, refused, seen after the recovery, delivered %, capacity.
set terminal pngcairo size 1400,560 font "sans,10"
set output out
set datafile separator "\t"
set datafile commentschars "#"
set multiplot layout 1,2 title heading font "sans,12"
set grid
set key top right opaque
set xlabel "seconds from the supervisor's recovery"
set xrange [-5:*]

set title "Job requests per second at the supervisor"
set ylabel "requests/s"
set yrange [0:*]
if (strlen(compare) > 0) {
  plot series using 1:2 with steps lw 2 lc rgb "#1f77b4" title "seen (".label.")", \
       series using 1:3 with steps lw 2 lc rgb "#2ca02c" title "accepted (".label.")", \
       compare using 1:2 with steps lw 1 dt 2 lc rgb "#d62728" title "seen (".clabel.")", \
       compare using 1:3 with steps lw 1 dt 2 lc rgb "#7f7f7f" title "accepted (".clabel.")", \
       cap with lines lw 2 dt 3 lc rgb "black" title "capacity"
} else {
  plot series using 1:2 with steps lw 2 lc rgb "#1f77b4" title "seen", \
       series using 1:3 with steps lw 2 lc rgb "#2ca02c" title "accepted", \
       series using 1:4 with steps lw 1 lc rgb "#d62728" title "refused (503)", \
       cap with lines lw 2 dt 3 lc rgb "black" title "capacity"
}

set title "Jobs delivered"
set ylabel "% of the jobs"
set yrange [0:105]
set key bottom right
if (strlen(compare) > 0) {
  plot series using 1:6 with steps lw 2 lc rgb "#2ca02c" title label, \
       compare using 1:6 with steps lw 1 dt 2 lc rgb "#7f7f7f" title clabel
} else {
  plot series using 1:6 with steps lw 2 lc rgb "#2ca02c" title label
}
unset multiplot

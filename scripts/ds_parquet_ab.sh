#!/bin/sh
# Alternating A/B of `crowdagg aggregate --method ds --timings` end to end (issue 16's 10^8
# from Parquet target: every run ≤ 8 s, peak RSS ≤ 3 GB), for a quiet re-measure.
#
#   scripts/ds_parquet_ab.sh BASE_BIN NEW_BIN [FILE] [RUNS]
#
# FILE defaults to /work/tmp/parquet/100m.parquet, RUNS (per binary) to 7. Runs alternate
# BASE, NEW, BASE, ... Each run prints its phase timings (read_s, fit_s, write_s, and their CPU
# seconds), wall seconds and peak RSS (`/usr/bin/time`); then per binary the minimum, median
# and maximum wall time, and whether the two outputs are byte-identical (`cmp`). The outputs
# (≈ 300 MB each at 10^8) go to $OUT (default /tmp/crowdagg-ab; use a disk with room) and are
# deleted at the end.
set -eu
BASE=$1
NEW=$2
FILE=${3:-/work/tmp/parquet/100m.parquet}
RUNS=${4:-7}
OUT=${OUT:-/tmp/crowdagg-ab}
mkdir -p "$OUT"
rm -f "$OUT/base.walls" "$OUT/new.walls"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); file: $FILE"
for i in $(seq "$RUNS"); do
    for side in base new; do
        if [ "$side" = base ]; then bin=$BASE; else bin=$NEW; fi
        /usr/bin/time -f "wall_s=%e peak_rss_kb=%M" "$bin" aggregate --method ds --timings \
            -o "$OUT/$side.csv" "$FILE" 2>"$OUT/$side.log" >/dev/null
        line=$(tr ' ' '\n' <"$OUT/$side.log" |
            grep -E '^(read_s|read_cpu_s|fit_s|fit_cpu_s|write_s|wall_s|peak_rss_kb)=' | tr '\n' ' ')
        echo "$side run $i (load $(cut -d' ' -f1 /proc/loadavg)): $line"
        echo "$line" | grep -o 'wall_s=[0-9.]*' | cut -d= -f2 >>"$OUT/$side.walls"
    done
done
for side in base new; do
    sort -n "$OUT/$side.walls" | awk -v side="$side" '
        { w[NR] = $1 }
        END { printf "%s: wall min %.2f median %.2f max %.2f s over %d runs\n",
                     side, w[1], w[int((NR + 1) / 2)], w[NR], NR }'
done
if cmp -s "$OUT/base.csv" "$OUT/new.csv"; then echo "outputs: identical"; else echo "outputs: DIFFER"; fi
rm -f "$OUT/base.csv" "$OUT/new.csv" "$OUT/base.log" "$OUT/new.log" "$OUT/base.walls" "$OUT/new.walls"

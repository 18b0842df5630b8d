#!/bin/sh
# Alternating A/B of whole `crowdagg aggregate` processes on a small file, where /usr/bin/time's
# 10 ms resolution is too coarse (issue 18's 10^6 cells take 30-50 ms): `perf stat -r RUNS`
# per binary and method, the binaries alternating, ROUNDS rounds.
#
#   scripts/e2e_ab.sh BASE_BIN NEW_BIN FILE [METHODS] [RUNS] [ROUNDS]
#
# METHODS defaults to "mv wawa", RUNS to 30, ROUNDS to 2. One line per cell: method, binary,
# round, mean wall ms (perf's ± of the mean), CPU ms (task-clock), page faults; then, per
# method and binary, the smallest and largest mean wall over the rounds. The outputs of the
# last runs are compared with `cmp`. Needs `perf` (perf stat works without hardware counters).
# FRESH=1 removes the output before each run (untimed, `perf stat --pre`): the time of writing
# a new file, without the freeing of the previous output's blocks that replacing it costs.
set -eu
BASE=$1
NEW=$2
FILE=$3
METHODS=${4:-mv wawa}
RUNS=${5:-30}
ROUNDS=${6:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); file: $FILE; perf stat -r $RUNS"
for round in $(seq "$ROUNDS"); do
    for method in $METHODS; do
        for side in base new; do
            if [ "$side" = base ]; then bin=$BASE; else bin=$NEW; fi
            out="$OUT/$side.$method.csv"
            pre=true
            [ "${FRESH:-0}" = 1 ] && pre="rm -f $out"
            perf stat -r "$RUNS" --pre "$pre" -e task-clock,page-faults -o "$OUT/stat" \
                "$bin" aggregate --method "$method" -o "$out" "$FILE"
            wall=$(awk '/seconds time elapsed/ { printf "%.1f ± %.1f", $1 * 1000, $3 * 1000 }' "$OUT/stat")
            cpu=$(awk '/task-clock/ { printf "%.1f", $1 }' "$OUT/stat")
            faults=$(awk '/page-faults/ { print $1 }' "$OUT/stat")
            echo "$method $side round $round: wall $wall ms, cpu $cpu ms, faults $faults (load $(cut -d' ' -f1 /proc/loadavg))"
            echo "$method $side ${wall%% *}" >>"$OUT/walls"
        done
    done
done
for method in $METHODS; do
    for side in base new; do
        awk -v m="$method" -v s="$side" '$1 == m && $2 == s { w[++n] = $3 }
            END { lo = w[1]; hi = w[1]; for (i = 2; i <= n; i++) { if (w[i] < lo) lo = w[i]; if (w[i] > hi) hi = w[i] }
                  printf "%s %s: mean wall %.1f-%.1f ms over %d rounds\n", m, s, lo, hi, n }' "$OUT/walls"
    done
    if cmp -s "$OUT/base.$method.csv" "$OUT/new.$method.csv"; then
        echo "$method outputs: identical"
    else
        echo "$method outputs: DIFFER"
    fi
done

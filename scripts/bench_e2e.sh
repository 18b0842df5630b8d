#!/bin/sh
# End to end, as a user runs it: one process that reads the CSV, fits with default parameters
# and writes the labels. crowd-kit 1.4.2 (`scripts/crowdkit_e2e.py CLASS in.csv out.csv`:
# interpreter start, imports, pandas.read_csv, fit_predict, to_csv) against
# `crowdagg aggregate -m METHOD in.csv -o out.csv`, both under /usr/bin/time (wall, user+sys
# CPU, peak RSS).
#
#   scripts/bench_e2e.sh [ANSWERS...]        # default: 100000 1000000
#
# Data: scripts/gen_crowd.py --tasks N/4 --workers N/250 --classes 2 --seed 1 (as
# bench_methods.sh; 10^5: 25,000 tasks, 400 workers), generated once into $OUT.
# Environment: METHODS (default: mv wawa ds one-coin-ds kos zbs mace glad), REPEATS (crowdagg
# runs per cell, default 3; the median is reported), BIN (default ./target/release/crowdagg),
# OLD (a second crowdagg binary, run alternately with BIN for an A/B in the same window),
# PY (python with crowd-kit; `none` skips crowd-kit), CK_SKIP ("method:N ..." cells where
# crowd-kit is not run, e.g. "mace:1000000 glad:100000": too long; extrapolate by hand from a
# smaller size and say so), PERF_RUNS (when set and `perf` is there: also the mean wall and CPU
# of that many crowdagg runs from `perf stat -r`, at a resolution /usr/bin/time's 10 ms lacks).
# One line per run on stdout.
set -eu
SIZES=${*:-100000 1000000}
OUT=${OUT:-/tmp/crowdagg-bench-e2e}
METHODS=${METHODS:-mv wawa ds one-coin-ds kos zbs mace glad}
REPEATS=${REPEATS:-3}
BIN=${BIN:-./target/release/crowdagg}
OLD=${OLD:-}
CK_SKIP=${CK_SKIP:-}
if [ -z "${PY:-}" ]; then PY=$(scripts/reference-env.sh); fi
if [ "$PY" = none ]; then GEN_PY=${GEN_PY:-python3}; else GEN_PY=${GEN_PY:-$PY}; fi
mkdir -p "$OUT"
[ "$BIN" != ./target/release/crowdagg ] || cargo build --release --bin crowdagg >/dev/null 2>&1
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cores; start $(date -u +%H:%M:%S) load $(load)"

. "$(dirname "$0")/crowdkit_class.sh"

# Runs a command under /usr/bin/time; prints "wall_s=… cpu_s=… rss_mb=…" and the
# iterations the program reported on stderr.
timed() {
  log="$OUT/time.log"
  /usr/bin/time -f "wall_s=%e cpu_s=%U+%S rss_kb=%M" "$@" 2>"$log" >/dev/null || { cat "$log" >&2; return 1; }
  it=$(grep -o 'iterations=[^ ]*' "$log" | head -1)
  tail -1 "$log" | awk -v it="$it" '{ split($2, c, "[=+]"); split($3, r, "=");
    printf "%s cpu_s=%.2f rss_mb=%.0f %s\n", $1, c[2] + c[3], r[2] / 1024, it }'
}

for n in $SIZES; do
  csv="$OUT/gen_$n.csv"
  [ -f "$csv" ] || "$GEN_PY" scripts/gen_crowd.py --tasks $((n / 4)) --workers $((n / 250)) --classes 2 --seed 1 --out "$csv" >/dev/null 2>&1
  for m in $METHODS; do
    if [ "$PY" != none ] && ! echo " $CK_SKIP " | grep -q " $m:$n "; then
      echo "crowdkit n=$n m=$m load=$(load) $(timed "$PY" scripts/crowdkit_e2e.py "$(ck_class "$m")" "$csv" "$OUT/ck.csv")"
    fi
    if [ -n "${PERF_RUNS:-}" ]; then
      perf stat -r "$PERF_RUNS" -e task-clock -o "$OUT/perf.log" "$BIN" aggregate -m "$m" "$csv" -o "$OUT/ours.csv" 2>/dev/null
      echo "perf     n=$n m=$m load=$(load) runs=$PERF_RUNS $(awk '/task-clock/ { cpu = $1 } /time elapsed/ { wall = $1 * 1000; pm = $3 * 1000 }
        END { printf "mean_wall_ms=%.1f+-%.1f mean_cpu_ms=%.1f", wall, pm, cpu }' "$OUT/perf.log")"
    fi
    for i in $(seq "$REPEATS"); do
      echo "crowdagg n=$n m=$m load=$(load) $(timed "$BIN" aggregate -m "$m" --timings "$csv" -o "$OUT/ours.csv")"
      if [ -n "$OLD" ]; then
        echo "old      n=$n m=$m load=$(load) $(timed "$OLD" aggregate -m "$m" --timings "$csv" -o "$OUT/old.csv")"
      fi
    done
  done
done
echo "end $(date -u +%H:%M:%S) load $(load)"

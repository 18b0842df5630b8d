#!/usr/bin/env bash
# Issue 15's reduce-scatter against the driver merge: per-pass time of
# `python -m crowdagg.distributed --reduce driver|scatter` on Ray and Dask (PROCESSES processes,
# SHARDS shards, DS with n_iter=N_ITER, tol=0), REPEATS interleaved repeats per input, and a byte
# check of both modes' outputs against `crowdagg aggregate --param shards=P`. One line per run:
# input, engine, mode, em_s_per_pass (init + every step, merges and M-steps included), the CPU
# seconds of those passes per pass (hosts + driver) and per process (hosts, then driver), peak RSS.
# Usage: scripts/bench_scatter.sh INPUT...
#   env: CROWDAGG=path/to/crowdagg  PYTHON=venv python with crowdagg, ray, dask
#        SHARDS (4) PROCESSES (2) N_ITER (20) REPEATS (2) ENGINES ("ray dask")
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${CROWDAGG:-$repo/target/release/crowdagg}
py=${PYTHON:-python3}
shards=${SHARDS:-4}
processes=${PROCESSES:-2}
n_iter=${N_ITER:-20}
repeats=${REPEATS:-2}
engines=${ENGINES:-"ray dask"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAY_AUTH_MODE=disabled
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for input in "$@"; do
  args=(--method ds --param "n_iter=$n_iter" --param tol=0 --format csv)
  "$bin" aggregate "${args[@]}" --param "shards=$shards" "$input" > "$work/single.csv"
  for engine in $engines; do
    for repeat in $(seq "$repeats"); do
      for mode in driver scatter; do
        "$py" -m crowdagg.distributed --engine "$engine" --processes "$processes" \
          --shards "$shards" "${args[@]}" --reduce "$mode" --timings -o "$work/out.csv" \
          "$input" 2> "$work/err"
        same=$(cmp -s "$work/single.csv" "$work/out.csv" && echo same-bytes || echo DIFFERENT)
        timings=$(grep '^timings:' "$work/err")
        pass=$(grep -o 'em_s_per_pass=[^ ]*' <<< "$timings")
        cpu=$(grep -o 'em_cpu_s_per_pass=[^ ]*' <<< "$timings")
        cpus=$(grep -o 'em_cpu_s=[^ ]*' <<< "$timings")
        rss=$(grep -o 'host_peak_rss_mb=[^ ]*' <<< "$timings")
        driver_rss=$(grep -o 'driver_peak_rss_mb=[^ ]*' <<< "$timings")
        echo "$(basename "$input") $engine $mode #$repeat $pass $cpu $cpus $driver_rss $rss $same"
      done
    done
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

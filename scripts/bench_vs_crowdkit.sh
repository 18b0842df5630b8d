#!/bin/sh
# DawidSkene wall time, crowd-kit 1.4.2 vs crowdagg, on identical generated data (gen_crowd.py),
# K=5, tol=0 and a fixed n_iter. Usage: scripts/bench_vs_crowdkit.sh [RESPONSES...] (default
# 100000 1000000). Run from the crate root; uses the reference venv (scripts/reference-env.sh).
set -eu
PY=${PY:-$(scripts/reference-env.sh)}
N_ITER=${N_ITER:-20}
OUT=${OUT:-/tmp/crowdagg-bench}
mkdir -p "$OUT"
cargo build --release --example ds_timing >/dev/null 2>&1
SIZES=${*:-100000 1000000}
for n in $SIZES; do
  tasks=$((n / 4)); workers=$((n / 250))
  csv="$OUT/gen_$n.csv"
  [ -f "$csv" ] || $PY scripts/gen_crowd.py --tasks $tasks --workers $workers --classes 5 --seed 1 --out "$csv" 2>/dev/null
  ck=$($PY - "$csv" "$N_ITER" <<'PY'
import sys, time
import pandas as pd
from crowdkit.aggregation import DawidSkene
data = pd.read_csv(sys.argv[1], dtype={"task": str, "worker": str})
model = DawidSkene(n_iter=int(sys.argv[2]), tol=0.0)
start, cpu = time.perf_counter(), time.process_time()
model.fit(data)
print(f"{time.perf_counter() - start:.3f} {time.process_time() - cpu:.3f} {len(model.loss_history_)}")
PY
)
  ours=$(./target/release/examples/ds_timing "$csv" "$N_ITER")
  set -- $ck; ck_s=$1; ck_cpu=$2; ck_iter=$3
  fit_s=$(echo "$ours" | sed 's/.*fit_s=\([0-9.]*\).*/\1/')
  cpu_s=$(echo "$ours" | sed 's/.*cpu_s=\([0-9.]*\).*/\1/')
  iters=$(echo "$ours" | sed 's/.* iterations=\([0-9]*\).*/\1/')
  echo "responses=$n crowdkit_wall_s=$ck_s crowdkit_cpu_s=$ck_cpu crowdkit_iterations=$ck_iter crowdagg_wall_s=$fit_s crowdagg_cpu_s=$cpu_s crowdagg_iterations=$iters wall_ratio=$(echo "$ck_s / $fit_s" | bc -l | cut -c1-7) cpu_ratio=$(echo "$ck_cpu / $cpu_s" | bc -l | cut -c1-7)"
  echo "  $ours"
done

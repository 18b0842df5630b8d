#!/bin/sh
# Fit time of GLAD, MACE, MMSR, Wawa, ZeroBasedSkill and OneCoinDawidSkene, crowd-kit 1.4.2 vs
# crowdagg, each with its DEFAULT parameters, on identical generated data.
#
#   scripts/bench_methods.sh [ANSWERS...]        # default: 10000 100000 1000000
#
# Data: scripts/gen_crowd.py --tasks N/4 --workers N/250 --classes 2 --seed 1 (3 or 5
# answers per task, ~N answers), generated once per size into $OUT. Times exclude reading the
# CSV on both sides: crowd-kit is timed around `fit` (pandas.read_csv before the clock starts),
# crowdagg by examples/method_timing.rs around `aggregate` (a fit under a second is repeated for
# two seconds and averaged). Wall and CPU (process) seconds are recorded on both sides, with the
# iteration counts: crowd-kit len(loss_history_) (GLAD, MMSR, OneCoinDawidSkene), the fixed
# n_iter (ZeroBasedSkill) or n_restarts x n_iter (MACE); crowdagg FitReport::iterations.
#
# Skip rule: crowd-kit is not run for a (method, size) when its run at the previous size took
# more than CK_SKIP_S (default 60) wall seconds. Its time is then extrapolated linearly in
# answers x iterations from the largest measured size: seconds per answer per iteration there,
# times this size's answers, times the iterations crowdagg ran here (same stopping rule by
# design; the fixed-work methods run the same iterations at every size). Such cells are marked
# "≈ ... (extrapolated from N)". crowd-kit's groupby/sort work grows slightly faster than
# linearly, so the extrapolation is, if anything, low.
#
# Run from the crate root. Uses the reference venv (scripts/reference-env.sh) unless PY is set.
set -eu
SIZES=${*:-10000 100000 1000000}
OUT=${OUT:-/tmp/crowdagg-bench-methods}
METHODS=${METHODS:-glad mace mmsr wawa zbs one-coin-ds}
CK_SKIP_S=${CK_SKIP_S:-60}
PY=${PY:-$(scripts/reference-env.sh)}
mkdir -p "$OUT"
cargo build --release --example method_timing >/dev/null 2>&1
TABLE="$OUT/table.md"
echo "machine: $(nproc) cores; start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

ck_class() {
  case $1 in
    glad) echo GLAD ;; mace) echo MACE ;; mmsr) echo MMSR ;; wawa) echo Wawa ;;
    zbs) echo ZeroBasedSkill ;; one-coin-ds) echo OneCoinDawidSkene ;;
    *) echo "unknown method $1" >&2; return 1 ;;
  esac
}

# Prints "wall_s cpu_s iterations_label iterations_number" of crowd-kit's fit.
crowdkit_fit() { # CLASS CSV
  "$PY" - "$@" <<'PY'
import sys, time
import pandas as pd
from crowdkit import aggregation
data = pd.read_csv(sys.argv[2], dtype={"task": str, "worker": str})
model = getattr(aggregation, sys.argv[1])()
start, cpu = time.perf_counter(), time.process_time()
model.fit(data)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
loss = getattr(model, "loss_history_", None)
if loss:
    label = number = len(loss)
elif sys.argv[1] == "MACE":
    label, number = f"{model.n_restarts}x{model.n_iter}", model.n_restarts * model.n_iter
elif hasattr(model, "n_iter"):
    label = number = model.n_iter
else:
    label, number = "-", 1
print(f"{wall:.4f} {cpu:.4f} {label} {number}")
PY
}

field() { echo "$2" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
fmt_s() { awk -v s="$1" 'BEGIN { if (s >= 3600) printf "%.1f h", s / 3600; else if (s >= 100) printf "%.0f", s; else if (s >= 1) printf "%.2f", s; else printf "%.4f", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else { r = a / b; printf (r >= 100 ? "%.0f×" : "%.1f×"), r } }'; }

echo "| method | answers | crowd-kit fit s (wall / CPU) | crowdagg fit s (wall / CPU) | iterations ck / ours | ratio wall | ratio CPU |" >"$TABLE"
echo "|---|---:|---:|---:|---:|---:|---:|" >>"$TABLE"
for n in $SIZES; do
  tasks=$((n / 4)); workers=$((n / 250))
  csv="$OUT/gen_$n.csv"
  [ -f "$csv" ] || "$PY" scripts/gen_crowd.py --tasks $tasks --workers $workers --classes 2 --seed 1 --out "$csv" >/dev/null 2>&1
  answers=$(($(wc -l <"$csv") - 1))
  for m in $METHODS; do
    key=$(echo "$m" | tr - _)
    ours=$(./target/release/examples/method_timing "$csv" "$m")
    o_wall=$(field fit_s "$ours"); o_cpu=$(field cpu_s "$ours"); o_it=$(field iterations "$ours")
    [ "$m" = mace ] && o_it_label="10x$o_it" || o_it_label=$o_it
    [ "$m" = wawa ] && { o_it_label=-; o_it_num=1; } || o_it_num=$o_it
    [ "$m" = mace ] && o_it_num=$((10 * o_it))
    eval "last_wall=\${ck_wall_$key:-0}; last_n=\${ck_n_$key:-0}"
    if awk -v s="$last_wall" -v lim="$CK_SKIP_S" 'BEGIN { exit !(s > lim) }'; then
      eval "c_wall=\$ck_wall_$key; c_cpu=\$ck_cpu_$key; c_itn=\$ck_itn_$key; c_n=\$ck_n_$key"
      est_wall=$(awk -v t="$c_wall" -v a="$c_n" -v i="$c_itn" -v n="$answers" -v j="$o_it_num" 'BEGIN { print t / (a * i) * n * j }')
      est_cpu=$(awk -v t="$c_cpu" -v a="$c_n" -v i="$c_itn" -v n="$answers" -v j="$o_it_num" 'BEGIN { print t / (a * i) * n * j }')
      ck_cell="≈ $(fmt_s "$est_wall") / $(fmt_s "$est_cpu") (extrapolated from $c_n)"
      it_cell="(≈$o_it_label) / $o_it_label"
      r_wall=$(ratio "$est_wall" "$o_wall"); r_cpu=$(ratio "$est_cpu" "$o_cpu")
      r_wall="≈ $r_wall"; r_cpu="≈ $r_cpu"
      echo "$m n=$answers crowdkit=skipped est_wall_s=$est_wall est_cpu_s=$est_cpu crowdagg: $ours" >&2
    else
      set -- $(crowdkit_fit "$(ck_class "$m")" "$csv")
      eval "ck_wall_$key=$1; ck_cpu_$key=$2; ck_itn_$key=$4; ck_n_$key=$answers"
      ck_cell="$(fmt_s "$1") / $(fmt_s "$2")"
      it_cell="$3 / $o_it_label"
      r_wall=$(ratio "$1" "$o_wall"); r_cpu=$(ratio "$2" "$o_cpu")
      echo "$m n=$answers crowdkit_wall_s=$1 crowdkit_cpu_s=$2 crowdkit_iterations=$3 crowdagg: $ours" >&2
    fi
    echo "| $m | $answers | $ck_cell | $(fmt_s "$o_wall") / $(fmt_s "$o_cpu") | $it_cell | $r_wall | $r_cpu |" >>"$TABLE"
  done
done
echo "end $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cat "$TABLE"

#!/bin/sh
# End-to-end scale benchmark: `crowdagg aggregate --method ds` from CSV at 10^5 ... 10^8
# answers, under /usr/bin/time -v, against crowd-kit 1.4.2 where feasible.
#
#   scripts/scale_bench.sh [ANSWERS...]        # default: 100000 1000000 10000000 100000000
#
# Data (generated here by `crowdagg generate`, no Python, into $OUT, deleted afterwards unless
# KEEP=1): K = 2 classes, ANSWERS/10 tasks with 10 answers each, ANSWERS/250 workers (Zipf
# activity), seed 1. Per size it prints one line per run:
#   crowdagg ds          default parameters (n_iter=100, tol=1e-5), output to a file;
#   crowdagg ds20        n_iter=20, tol=0 (fixed work, the figure compared with crowd-kit);
#   crowdkit mv / ds20   pandas.read_csv + fit, in the reference venv: MV up to CK_MV_MAX
#                        answers, DS (n_iter=20, tol=0) up to CK_DS_MAX; above CK_DS_MAX and up
#                        to CK_DS_PROBE_MAX, DS with n_iter=CK_DS_PROBE_ITER only, to
#                        extrapolate the time per sweep.
# Run from the crate root. Uses the reference venv (scripts/reference-env.sh) unless PY is set.
set -eu
SIZES=${*:-100000 1000000 10000000 100000000}
OUT=${OUT:-/tmp/crowdagg-scale}
CK_MV_MAX=${CK_MV_MAX:-10000000}
CK_DS_MAX=${CK_DS_MAX:-1000000}
CK_DS_PROBE_MAX=${CK_DS_PROBE_MAX:-10000000}
CK_DS_PROBE_ITER=${CK_DS_PROBE_ITER:-2}
BIN=./target/release/crowdagg
mkdir -p "$OUT"
cargo build --release --bin crowdagg >/dev/null 2>&1
if [ -z "${PY:-}" ]; then PY=$(scripts/reference-env.sh 2>/dev/null || true); fi
df -h "$OUT" | tail -1 | awk '{print "free space in '"$OUT"': " $4}'
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# Prints wall, user+sys CPU and peak RSS of a command run under /usr/bin/time -v.
timed() {
  log="$OUT/time.log"
  /usr/bin/time -v "$@" 2>"$log" >/dev/null || { cat "$log" >&2; return 1; }
  grep '^timings:' "$log" | sed 's/^timings: /  /' || true
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = (n == 3) ? p[1]*3600 + p[2]*60 + p[3] : p[1]*60 + p[2] }
    /User time/ { user = $2 } /System time/ { sys = $2 }
    /Maximum resident set size/ { rss = $2 }
    END { printf "  wall_s=%.2f cpu_s=%.2f peak_rss_mb=%.0f\n", wall, user + sys, rss / 1024 }' "$log"
}

crowdkit() { # METHOD N_ITER CSV
  "$PY" - "$@" <<'PY'
import resource, sys, time
import pandas as pd
from crowdkit.aggregation import DawidSkene, MajorityVote
method, n_iter, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start, cpu = time.perf_counter(), time.process_time()
data = pd.read_csv(path, dtype={"task": str, "worker": str})
read = time.perf_counter() - start
model = MajorityVote() if method == "mv" else DawidSkene(n_iter=n_iter, tol=0.0)
model.fit(data)
total = time.perf_counter() - start
sweeps = len(getattr(model, "loss_history_", [])) or "-"
print(f"  read_s={read:.2f} fit_s={total - read:.2f} total_s={total:.2f} cpu_s={time.process_time() - cpu:.2f} iterations={sweeps} peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
PY
}

for n in $SIZES; do
  tasks=$((n / 10)); workers=$((n / 250))
  csv="$OUT/scale_$n.csv"
  echo "== $n answers: $tasks tasks x 10, $workers workers, K=2"
  echo "generate"
  timed $BIN generate --tasks $tasks --workers $workers --classes 2 --overlap 10 --seed 1 --out "$csv"
  echo "  file_mb=$(($(stat -c %s "$csv") / 1000000))"
  echo "crowdagg ds (defaults)"
  timed $BIN aggregate --method ds --timings -o "$OUT/out.csv" "$csv"
  echo "crowdagg ds20 (n_iter=20 tol=0)"
  timed $BIN aggregate --method ds -p n_iter=20 -p tol=0 --timings -o "$OUT/out.csv" "$csv"
  if [ -n "$PY" ] && [ "$n" -le "$CK_MV_MAX" ]; then
    echo "crowdkit mv"; crowdkit mv 0 "$csv"
  fi
  if [ -n "$PY" ] && [ "$n" -le "$CK_DS_MAX" ]; then
    echo "crowdkit ds20"; crowdkit ds 20 "$csv"
  elif [ -n "$PY" ] && [ "$n" -le "$CK_DS_PROBE_MAX" ]; then
    echo "crowdkit ds$CK_DS_PROBE_ITER (probe: extrapolate per sweep)"; crowdkit ds "$CK_DS_PROBE_ITER" "$csv"
  fi
  [ "${KEEP:-0}" = 1 ] || rm -f "$csv"
done
rm -f "$OUT/out.csv" "$OUT/time.log"

#!/usr/bin/env bash
# Issue 15's acceptance run: for each case, `crowdagg aggregate --param shards=P` (one machine)
# against `python -m crowdagg.distributed` on Ray and on Dask (N processes, shuffled assignment),
# byte for byte; and the shards=P output against the default fit (max |Δ| of every number in the
# JSON, same labels and iterations). Prints one line per run with the engine's timings.
# Usage: scripts/distributed_acceptance.sh INPUT [GOLD]
#   env: CROWDAGG=path/to/crowdagg  PYTHON=venv python with crowdagg, ray, dask
#        SHARDS (4) PROCESSES (2) CASES ("ds:n_iter=50,tol=0 ds:- one-coin-ds:n_iter=50,tol=0 one-coin-ds:-")
#        ENGINES ("ray dask")
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
input=$1
gold=${2:-}
bin=${CROWDAGG:-$repo/target/release/crowdagg}
py=${PYTHON:-python3}
shards=${SHARDS:-4}
processes=${PROCESSES:-2}
cases=${CASES:-"ds:n_iter=50,tol=0 ds:- one-coin-ds:n_iter=50,tol=0 one-coin-ds:-"}
engines=${ENGINES:-"ray dask"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAY_AUTH_MODE=disabled
golds=("")
[[ -n $gold ]] && golds+=("$gold")
seed=0
for g in "${golds[@]}"; do
  for case in $cases; do
    method=${case%%:*}
    params=${case#*:}
    args=(--method "$method" --format json)
    [[ $params == - ]] || for p in ${params//,/ }; do args+=(--param "$p"); done
    [[ -n $g ]] && args+=(--gold "$g" --use-gold)
    label="$method ${params} gold=$([[ -n $g ]] && echo yes || echo no)"
    start=$(date +%s.%N)
    "$bin" aggregate "${args[@]}" --param "shards=$shards" --timings "$input" > "$work/single.json" 2> "$work/single.err"
    single_s=$(echo "$(date +%s.%N) - $start" | bc)
    "$bin" aggregate "${args[@]}" "$input" > "$work/default.json" 2>/dev/null
    drift=$("$py" - "$work/single.json" "$work/default.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def walk(x, y):
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        return max((walk(x[k], y[k]) for k in x), default=0.0)
    if isinstance(x, list):
        assert len(x) == len(y)
        return max((walk(u, v) for u, v in zip(x, y)), default=0.0)
    if isinstance(x, float) or isinstance(y, float):
        return abs(x - y)
    assert x == y, (x, y)
    return 0.0
print(f"{walk(a, b):.1e}")
PY
)
    fit_line=$(grep -o 'fit_s=[^ ]* .*fit_s_per_iteration=[^ ]*' "$work/single.err" || true)
    echo "$label: single shards=$shards: ${single_s}s wall, $fit_line; max |shards=$shards - default| = $drift (labels, iterations equal)"
    for engine in $engines; do
      seed=$((seed + 1))
      "$py" -m crowdagg.distributed --engine "$engine" --processes "$processes" --shards "$shards" \
        "${args[@]}" --seed "$seed" --timings -o "$work/$engine.json" "$input" 2> "$work/$engine.err"
      if cmp -s "$work/single.json" "$work/$engine.json"; then same=identical; else same=DIFFERENT; fi
      echo "$label: $engine seed=$seed: $same; $(grep '^timings' "$work/$engine.err")"
    done
  done
done

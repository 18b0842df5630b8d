#!/usr/bin/env bash
# Pairwise comparisons: crowd-kit 1.4.2 and crowdagg side by side on the same generated file
# (BENCHMARKS.md, "Texts and embeddings", session 6).
#
# Usage: scripts/bench_pairwise.sh [N]   (N comparisons, default 100000)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
target=${CARGO_TARGET_DIR:-$repo/target}
dir=${DIR:-$target/bench-pairwise}/$n
py=${PY:-$("$repo/scripts/reference-env.sh")}
[[ -f $dir/comparisons.csv ]] || "$py" "$repo/scripts/bench_pairwise.py" generate "$dir" "$n"
(cd "$repo" && cargo build -q --release --example pairwise_timing)
echo "# crowdagg (method,wall seconds,CPU seconds,rows,items,iterations)"
"$target/release/examples/pairwise_timing" "$dir/comparisons.csv"
echo "# crowd-kit 1.4.2 (method,wall seconds,CPU seconds,rows,items)"
"$py" "$repo/scripts/bench_pairwise.py" crowdkit "$dir" 2>/dev/null

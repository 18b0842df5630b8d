#!/usr/bin/env bash
# Texts and embeddings: crowd-kit 1.4.2 and crowdagg side by side on the same generated files
# (BENCHMARKS.md, "Texts and embeddings").
#
# Usage: scripts/bench_texts.sh [N]      (N rows of each kind, default 100000)
#   DIR=...   where the generated CSVs go (default target/bench-texts)
# crowd-kit runs in the reference environment (scripts/reference-env.sh); crowdagg is the
# release build of examples/texts_timing.rs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
target=${CARGO_TARGET_DIR:-$repo/target}
dir=${DIR:-$target/bench-texts}/$n
py=${PY:-$("$repo/scripts/reference-env.sh")}
[[ -f $dir/texts.csv ]] || "$py" "$repo/scripts/bench_texts.py" generate "$dir" "$n"
(cd "$repo" && cargo build -q --release --example texts_timing)
echo "# crowdagg (method,wall seconds,CPU seconds,rows,tasks)"
"$target/release/examples/texts_timing" "$dir/embeddings.csv" "$dir/texts.csv"
echo "# crowd-kit 1.4.2 (method,wall seconds,CPU seconds,rows,tasks)"
"$py" "$repo/scripts/bench_texts.py" crowdkit "$dir" 2>/dev/null

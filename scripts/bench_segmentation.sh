#!/usr/bin/env bash
# Segmentation: crowd-kit 1.4.2 and crowdagg side by side on the same generated 512x512 masks
# (BENCHMARKS.md, "Texts and embeddings").
#
# Usage: scripts/bench_segmentation.sh [TASKS]   (TASKS images x 5 masks, default 200 = 10^3 masks)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tasks=${1:-200}
target=${CARGO_TARGET_DIR:-$repo/target}
dir=${DIR:-$target/bench-segmentation}/$tasks
py=${PY:-$("$repo/scripts/reference-env.sh")}
[[ -f $dir/masks.bin ]] || "$py" "$repo/scripts/bench_segmentation.py" generate "$dir" "$tasks"
(cd "$repo" && cargo build -q --release --example segmentation_timing)
echo "# crowdagg (method,wall seconds,CPU seconds,masks,tasks)"
"$target/release/examples/segmentation_timing" "$dir/masks.csv" "$dir/masks.bin"
echo "# crowd-kit 1.4.2 (method,wall seconds,CPU seconds,masks,tasks)"
"$py" "$repo/scripts/bench_segmentation.py" crowdkit "$dir" 2>/dev/null

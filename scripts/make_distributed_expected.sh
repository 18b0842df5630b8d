#!/usr/bin/env bash
# Writes crowdagg-py/tests/expected/distributed.sha256: the SHA-256 of what the single-machine
# CLI writes for `crowdagg aggregate --param shards=4 ...` (majority vote and Wawa: without
# `shards`) on fixtures/data/web, per case. The
# distributed tests (crowdagg-py/tests/test_distributed.py) require the same bytes from Ray and
# Dask. Usage: scripts/make_distributed_expected.sh [path/to/crowdagg]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/target/release/crowdagg}
web=$repo/fixtures/data/web
out=$repo/crowdagg-py/tests/expected/distributed.sha256
: > "$out"
while read -r name method format gold params; do
  args=(aggregate --method "$method" --format "$format")
  # Votes give the same bits on any plan, and the CLI has no `shards` for them.
  [[ $method == mv || $method == wawa ]] || args+=(--param shards=4)
  [[ $params == - ]] || for p in ${params//,/ }; do args+=(--param "$p"); done
  [[ $gold == gold ]] && args+=(--gold "$web/gold.csv" --use-gold)
  sum=$("$bin" "${args[@]}" "$web/responses.csv" 2>/dev/null | sha256sum | cut -d' ' -f1)
  echo "$sum $name $method $format $gold $params" >> "$out"
done <<'CASES'
ds-default ds json - -
ds-50 ds csv - n_iter=50,tol=0
one-coin-default one-coin-ds json - -
one-coin-50 one-coin-ds json - n_iter=50,tol=0
ds-gold ds json gold -
ds-50-gold ds json gold n_iter=50,tol=0
one-coin-50-gold one-coin-ds csv gold n_iter=50,tol=0
mv mv json - -
wawa wawa json - -
wawa-csv wawa csv - -
CASES
cat "$out"

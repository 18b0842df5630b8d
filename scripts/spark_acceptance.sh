#!/usr/bin/env bash
# Opt-in acceptance run of crowdagg.spark (CI does not run it: PySpark is a 456 MB sdist and
# needs Java 17+). Installs PySpark and the package into its own environment under the target
# directory (timed, once), then runs Spark local[2] on loopback and compares, byte for byte,
# `crowdagg.spark` with `crowdagg aggregate --param shards=P` on:
#   * fixtures/data/web: DS and one-coin DS, `n_iter=50, tol=0` and defaults, with and without
#     gold (json); majority vote and Wawa (against the CLI without `shards`);
#   * the Ray-on-Spark path: Spark prepares, 2 Ray actors iterate (`crowdagg.spark.shard_sources`);
#   * a generated set (default 10⁶ answers): DS `n_iter=10, tol=0` (json and the per-pass time).
# Usage: scripts/spark_acceptance.sh            (from anywhere)
#   env: CROWDAGG_SPARK_VENV (default $CARGO_TARGET_DIR/spark-venv, or target/spark-venv)
#        SHARDS (4)  GENERATE ("--tasks 250000 --workers 2000 --classes 3 --seed 15"; "" skips)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TARGET_DIR=$target
venv=${CROWDAGG_SPARK_VENV:-$target/spark-venv}
shards=${SHARDS:-4}
generate=${GENERATE-"--tasks 250000 --workers 2000 --classes 3 --seed 15"}
command -v java > /dev/null || { echo "spark_acceptance: needs Java 17+ (java not found)" >&2; exit 2; }

[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
start=$(date +%s)
# A no-op once installed (the first time: ~3 min for PySpark's 456 MB sdist alone).
"$venv/bin/pip" install -q --disable-pip-version-check \
  -r "$repo/scripts/requirements-current.txt" -r "$repo/scripts/requirements-spark.txt" \
  -r "$repo/scripts/requirements-distributed.txt"
echo "spark_acceptance: PySpark, Ray and their environment installed (or checked) in $(( $(date +%s) - start )) s"
py=$venv/bin/python
start=$(date +%s)
(cd "$repo/crowdagg-py" && VIRTUAL_ENV=$venv "$venv/bin/maturin" develop -q --release > /dev/null)
echo "spark_acceptance: built crowdagg into $venv in $(( $(date +%s) - start )) s"
cargo build -q --release --manifest-path "$repo/Cargo.toml" --bin crowdagg
bin=$target/release/crowdagg
export PYSPARK_PYTHON=$py PYSPARK_DRIVER_PYTHON=$py SPARK_LOCAL_IP=127.0.0.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
# compare INPUT GOLD|- CASE...: the CLI's output per case, then Spark's, then cmp.
compare() {
  local input=$1 gold=$2
  shift 2
  for case in "$@"; do
    IFS=: read -r name method params g <<< "$case"
    args=(aggregate --method "$method" --format "${name##*.}")
    # Votes give the same bits on any plan, and the CLI has no `shards` for them.
    [[ $method == mv || $method == wawa ]] || args+=(--param "shards=$shards")
    [[ $params == - ]] || for p in ${params//,/ }; do args+=(--param "$p"); done
    [[ $g == gold ]] && args+=(--gold "$gold" --use-gold)
    start=$(date +%s.%N)
    "$bin" "${args[@]}" --timings "$input" > "$work/cli-$name" 2> "$work/cli-$name.err"
    echo "cli: $name: $(echo "$(date +%s.%N) - $start" | bc) s wall; $(grep -o 'fit_s_per_iteration=[^ ]*' "$work/cli-$name.err" || true)"
  done
  "$py" "$repo/scripts/spark_acceptance.py" "$input" "$gold" "$shards" "$work" "$@"
  for case in "$@"; do
    name=${case%%:*}
    if cmp -s "$work/cli-$name" "$work/$name"; then
      echo "$name: identical ($(sha256sum < "$work/$name" | cut -c1-16))"
    else
      echo "$name: DIFFERENT"; status=1
    fi
  done
}

web=$repo/fixtures/data/web
compare "$web/responses.csv" "$web/gold.csv" \
  web-ds-50.json:ds:n_iter=50,tol=0:- web-ds.json:ds:-:- \
  web-one-coin-50.json:one-coin-ds:n_iter=50,tol=0:- web-one-coin.json:one-coin-ds:-:- \
  web-ds-50-gold.json:ds:n_iter=50,tol=0:gold web-ds-gold.json:ds:-:gold \
  web-one-coin-gold.csv:one-coin-ds:-:gold web-mv.json:mv:-:- web-wawa.json:wawa:-:- \
  ray-web-ds-50-gold.json:ds:n_iter=50,tol=0:gold
if [[ -n $generate ]]; then
  # shellcheck disable=SC2086 # GENERATE is a list of flags
  "$bin" generate $generate -o "$work/generated.csv" 2> /dev/null
  echo "generated: $(( $(wc -l < "$work/generated.csv") - 1 )) answers ($generate)"
  compare "$work/generated.csv" - generated-ds-10.json:ds:n_iter=10,tol=0:-
fi
exit $status

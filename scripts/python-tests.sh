#!/usr/bin/env bash
# Builds the Python package (crowdagg-py: a PEP 517 build, maturin from the package registry) and
# tests it in two environments, each with crowd-kit 1.4.2:
#   reference  pandas 2.3.3, scikit-learn 1.6.1 (scripts/requirements-reference.txt)
#   current    pandas 3.1.1, scikit-learn 1.9.1 (scripts/requirements-current.txt), where
#              crowd-kit itself fails 24 of its own classification tests
# In each: the package's own tests (crowdagg-py/tests: parity with crowd-kit run in the same
# process, dtypes, errors; in `current` also crowdagg.distributed on Ray and Dask, on loopback,
# with scripts/requirements-distributed.txt), then crowd-kit's own suite through the swap-in plugin when it is
# beside the repository (the team's ../shared/peer-tests/crowd-kit, or CROWDKIT_TESTS=DIR);
# without it, a line says it was skipped.
# The reference environment is the one the toloka-kit test and the benchmarks use
# (scripts/reference-env.sh's default, target/reference-venv: the same pins), so a run creates
# one venv fewer (≈ 45 s and 0.8 GB).
# Usage: scripts/python-tests.sh [reference|current]...   (default: both; from anywhere)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TARGET_DIR=$target
envs=("$@")
[[ ${#envs[@]} -gt 0 ]] || envs=(reference current)

wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
build_python=$("$repo/scripts/reference-env.sh")
echo "python-tests: building the wheel" >&2
"$build_python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$wheels" "$repo/crowdagg-py"

suite=${CROWDKIT_TESTS:-$repo/../shared/peer-tests/crowd-kit}
status=0
for env in "${envs[@]}"; do
  case $env in
    reference)
      requirements=$repo/scripts/requirements-reference.txt
      venv=${CROWDAGG_REFERENCE_VENV:-$target/reference-venv}
      ;;
    current)
      requirements=$repo/scripts/requirements-current.txt
      venv=$target/python-test-current
      ;;
    *) echo "python-tests: unknown environment $env (reference or current)" >&2; exit 2 ;;
  esac
  PY=$(CROWDAGG_REQUIREMENTS=$requirements CROWDAGG_REFERENCE_VENV=$venv "$repo/scripts/reference-env.sh")
  "$PY" -m pip install -q --disable-pip-version-check pytest ruff
  # Ray and Dask for crowdagg.distributed's tests, in one environment (≈ 3 min to install cold;
  # CROWDAGG_DISTRIBUTED=0 skips them, and the tests then say they were skipped).
  if [[ $env == current && ${CROWDAGG_DISTRIBUTED:-1} != 0 ]]; then
    "$PY" -m pip install -q --disable-pip-version-check -r "$repo/scripts/requirements-distributed.txt"
  fi
  "$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/crowdagg-*.whl
  if [[ $env == reference ]]; then  # all Python of the repository is ruff-clean (lint, format)
    (cd "$repo" && "$PY" -m ruff check -q . && "$PY" -m ruff format -q --check .) || status=1
  fi
  echo "python-tests: $env environment ($("$PY" -c 'import pandas; print("pandas", pandas.__version__)'))"
  (cd "$repo" && RAY_AUTH_MODE=disabled "$PY" -m pytest -q -rs -p no:cacheprovider crowdagg-py/tests) || status=1
  if [[ ! -d $suite/tests/aggregation ]]; then
    echo "python-tests: skipped crowd-kit's own suite: $suite is not here (the team's development copy, not part of the repository)"
    continue
  fi
  files=()
  for name in binary_relevance_aggregation classification_aggregation \
    classification_aggregation_edge_cases ds_aggregation glad_aggregation kos_aggregation \
    mace_aggregation majority_vote bt_aggregation rover_aggregation text_aggregation \
    image_aggregation; do
    files+=("tests/aggregation/test_$name.py")
  done
  files+=(tests/metrics)
  (cd "$suite" && "$PY" -m pytest -q -rx -p no:cacheprovider -p crowdagg.testing.crowdkit_plugin "${files[@]}") || status=1
done
exit $status

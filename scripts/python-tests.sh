#!/usr/bin/env bash
# Builds the Python package (crowdagg-py, a PEP 517 build with maturin from the package registry),
# installs it into a venv with crowd-kit 1.4.2 and its pinned pandas/scikit-learn, and runs
#   1. the package's own tests (crowdagg-py/tests: parity with crowd-kit in the same process,
#      dtypes, errors), and
#   2. crowd-kit's own test suite through the swap-in plugin, when that suite is beside the
#      repository (the team's ../shared/peer-tests/crowd-kit; override with CROWDKIT_TESTS=DIR);
#      otherwise it says it skipped it.
# Usage: scripts/python-tests.sh          (from anywhere; the venv lives under the target dir)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TARGET_DIR=$target
venv=$target/python-test-venv
PY=$(CROWDAGG_REFERENCE_VENV=$venv "$repo/scripts/reference-env.sh")
"$PY" -m pip install -q --disable-pip-version-check pytest
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
echo "python-tests: building the wheel" >&2
"$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$wheels" "$repo/crowdagg-py"
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/crowdagg-*.whl

cd "$repo"
"$PY" -m pytest -q -p no:cacheprovider crowdagg-py/tests

suite=${CROWDKIT_TESTS:-$repo/../shared/peer-tests/crowd-kit}
if [[ ! -d $suite/tests/aggregation ]]; then
  echo "python-tests: skipped crowd-kit's own suite: $suite is not here (it is the team's development copy, not part of the repository)"
  exit 0
fi
cd "$suite"
files=()
for name in binary_relevance_aggregation classification_aggregation classification_aggregation_edge_cases \
  ds_aggregation glad_aggregation kos_aggregation mace_aggregation majority_vote; do
  files+=("tests/aggregation/test_$name.py")
done
"$PY" -m pytest -q -rx -p no:cacheprovider -p crowdagg.testing.crowdkit_plugin "${files[@]}"

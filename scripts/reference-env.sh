#!/usr/bin/env bash
# Creates (once) the Python reference environment — crowd-kit 1.4.2 and toloka-kit 1.2.3 with
# the pins of scripts/requirements-reference.txt — and prints the path of its python.
#
# Usage: PY=$(scripts/reference-env.sh)        (from anywhere)
#   CROWDAGG_REFERENCE_VENV=DIR   where the venv lives (default: $CARGO_TARGET_DIR/reference-venv,
#                                 i.e. target/reference-venv: outside the sources, removed by
#                                 `cargo clean`, shared by clones that share a target directory)
#   PYTHON=python3.X              the interpreter that creates it (default python3; needs >= 3.10
#                                 with the venv module, and access to the package registry)
#   CROWDAGG_REQUIREMENTS=FILE    another pin set (scripts/requirements-current.txt: pandas 3)
#
# The tests that run crowd-kit or toloka-kit call this. It is safe to call concurrently: a lock
# serialises the install, and a marker (a copy of the requirements) records a finished one, so a
# changed requirements file or an interrupted install starts over. About 0.8 GB on disk.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
requirements=${CROWDAGG_REQUIREMENTS:-$repo/scripts/requirements-reference.txt}
target=${CARGO_TARGET_DIR:-$repo/target}
dir=${CROWDAGG_REFERENCE_VENV:-$target/reference-venv}
python=${PYTHON:-python3}
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [[ ! -f $dir/.complete ]] || ! cmp -s "$requirements" "$dir/.complete"; then
  if ! "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "reference-env: $python is missing, older than 3.10 or has no venv module" >&2
    exit 1
  fi
  rm -rf "$dir"
  echo "reference-env: creating $dir from $(basename "$requirements") (first run only, a few minutes)" >&2
  "$python" -m venv "$dir" >&2
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$dir/.complete"
fi
echo "$(cd "$dir" && pwd)/bin/python"

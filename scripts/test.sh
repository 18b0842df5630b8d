#!/usr/bin/env bash
# Every test of the repository: the Rust crate's (cargo test --all-features: unit, integration,
# doc tests, and the toloka-kit client against the offline server) and the Python package's
# (scripts/python-tests.sh, in a pandas 2 and a pandas 3 environment).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-features
scripts/python-tests.sh

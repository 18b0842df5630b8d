#!/usr/bin/env bash
# Runs one fuzz target for a given time: scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
# Targets: responses_csv, toloka_tsv, assignments_json, server_request (fuzz/fuzz_targets/).
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain RUSTC_BOOTSTRAP=1 lets
# rustc accept the -Z flags that cargo-fuzz passes (sanitizer, coverage instrumentation).
# The growing corpus is kept in fuzz/corpus/TARGET (not committed; seeded from
# fuzz/seeds/TARGET); crashes land in fuzz/artifacts/TARGET. Minimise one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin TARGET fuzz/artifacts/TARGET/crash-…
# and commit it under fuzz/regressions/TARGET/ (tests/it/fuzz_regressions.rs replays them).
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
shift 2
cd "$(dirname "$0")/.."
mkdir -p "fuzz/corpus/$target"
# -s none: no AddressSanitizer (safe Rust; faster); debug assertions stay on.
# -max_len: inputs up to 64 KiB (long fields, many rows) without slowing every run.
RUSTC_BOOTSTRAP=1 exec cargo fuzz run --fuzz-dir fuzz -s none "$target" \
    "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$@"

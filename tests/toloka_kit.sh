#!/usr/bin/env bash
# Runs toloka-kit 1.2.3 (tests/toloka_kit_client.py) against `crowdagg serve` on 127.0.0.1.
# Usage (from anywhere): tests/toloka_kit.sh
#   PY=/path/to/python  use that interpreter (default: the pinned reference venv, created by
#                       scripts/reference-env.sh on first use)
#   CROWDAGG=/path/bin  use that binary (default: cargo build --features server)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${PY:-} ]]; then
  PY=$(scripts/reference-env.sh)
fi
if [[ -z ${CROWDAGG:-} ]]; then
  cargo build --quiet --features server --bin crowdagg
  CROWDAGG=target/debug/crowdagg
fi
log=$(mktemp)
"$CROWDAGG" serve --bind 127.0.0.1:0 \
  --pool fixtures/toloka/pool-1001 --pool fixtures/toloka/pool-1002 \
  --skills fixtures/toloka/skills-501.csv >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
url=
for _ in $(seq 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" || true)
  [[ -n $url ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "crowdagg serve did not start" >&2; cat "$log" >&2; exit 1; }
# No proxy may apply to the loopback server (httpx honours these variables).
env -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u http_proxy -u https_proxy -u all_proxy \
  "$PY" tests/toloka_kit_client.py "$url"

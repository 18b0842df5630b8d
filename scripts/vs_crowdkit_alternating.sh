#!/bin/sh
# crowd-kit and crowdagg end to end on one file, alternating, so that both sides see the same
# moments of a noisy machine: per round and method, one crowd-kit run (scripts/crowdkit_e2e.py,
# `/usr/bin/time`), then `perf stat -r RUNS` of BASE and of NEW. One line per cell with the
# ratio crowd-kit / NEW.
#
#   PY=target/reference-venv/bin/python scripts/vs_crowdkit_alternating.sh BASE NEW FILE \
#       [METHODS] [ROUNDS] [RUNS]
#
# METHODS defaults to "mv wawa" (any of scripts/bench_e2e.sh's), ROUNDS to 3, RUNS to 20.
set -eu
BASE=$1
NEW=$2
FILE=$3
METHODS=${4:-mv wawa}
ROUNDS=${5:-3}
RUNS=${6:-20}
PY=${PY:-target/reference-venv/bin/python}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
. "$(dirname "$0")/crowdkit_class.sh"
wall_ms() {
  perf stat -r "$RUNS" -o "$OUT/stat" "$1" aggregate --method "$2" -o "$OUT/$3.csv" "$FILE"
  awk '/seconds time elapsed/ { printf "%.1f", $1 * 1000 }' "$OUT/stat"
}
echo "file: $FILE; perf stat -r $RUNS; $(nproc) cores"
for round in $(seq "$ROUNDS"); do
  for method in $METHODS; do
    ck=$({ /usr/bin/time -f "%e" "$PY" scripts/crowdkit_e2e.py "$(ck_class "$method")" "$FILE" \
      "$OUT/ck.csv" >/dev/null; } 2>&1 | tail -1)
    base=$(wall_ms "$BASE" "$method" base)
    new=$(wall_ms "$NEW" "$method" new)
    ratio=$(echo "$ck $new" | awk '{ printf "%.0f", $1 * 1000 / $2 }')
    echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg) $method round $round:" \
      "crowd-kit ${ck} s, base ${base} ms, new ${new} ms, crowd-kit/new ${ratio}x"
  done
done

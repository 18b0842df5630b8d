#!/bin/sh
# Ingestion benchmark: read + intern of one response table by crowdagg, pyarrow and pandas, in
# one run on the same files, CSV and two Parquet copies.
#
#   scripts/ingest_bench.sh FILE.csv [REPEATS]     # REPEATS (default 5): the minimum is shown
#
# Files, made beside FILE.csv when missing:
#   FILE.parquet     by `crowdagg convert` (our writer: dictionary-encoded strings, snappy, row
#                    groups of 2^18 rows; the stored Arrow schema says dictionary<string>).
#   FILE.pa.parquet  by pyarrow (pq.write_table(pyarrow.csv.read_csv(FILE.csv))): a string (not
#                    dictionary) Arrow schema, as pyarrow infers it (an integer label column
#                    stays int64); the pages are still dictionary-encoded.
# What is timed, per line:
#   crowdagg            `aggregate --method mv --timings`'s read_s (open, parse, intern into one
#                       canonical id space per column, the task index; MV never builds the
#                       worker index) and read_cpu_s; the file picks CSV or Parquet.
#   pyarrow csv+encode  pyarrow.csv.read_csv (multithreaded) + dictionary_encode of the three
#                       columns (one id space per column: the hash kernel runs across chunks).
#   pyarrow pq+encode   pq.read_table + dictionary_encode of the three columns: the issue's
#                       literal anchor. On FILE.parquet it is nearly free and NOT equal work:
#                       read_table gives dictionary columns there, one dictionary per chunk
#                       (row group part), dictionary_encode leaves them as they are, so a code
#                       means a different name in each chunk.
#   pyarrow pq+unify    pq.read_table + Table.unify_dictionaries: one id space per column, the
#                       work crowdagg does (it also sorts the names into canonical order).
#                       On FILE.pa.parquet (string schema) pq+encode already does that work.
#   pandas              pandas.read_csv / read_parquet (pyarrow engine) + pd.factorize.
# Lines: tool, what, file, best seconds, answers/s, MB/s (file bytes / s), and the ratio of that
# line's time to crowdagg's on the same file (>1: crowdagg faster). Runs alternate between tools,
# so a busy machine slows all of them alike; the load average is printed.
#
# Needs: cargo (builds target/release/crowdagg with --features parquet unless BIN is set) and
# a Python with pyarrow and pandas (PY, default python3), e.g.
#   python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyarrow pandas && PY=/tmp/venv/bin/python ...
set -eu
CSV=$1
REPEATS=${2:-5}
PY=${PY:-python3}
if [ -z "${BIN:-}" ]; then
    cargo build --release --features parquet --bin crowdagg >/dev/null 2>&1
    BIN=${CARGO_TARGET_DIR:-target}/release/crowdagg
fi
PARQUET=${CSV%.*}.parquet
PA_PARQUET=${CSV%.*}.pa.parquet
[ -f "$PARQUET" ] || "$BIN" convert "$CSV" "$PARQUET"
[ -f "$PA_PARQUET" ] || "$PY" -c 'import sys, pyarrow.csv as c, pyarrow.parquet as pq; pq.write_table(c.read_csv(sys.argv[1]), sys.argv[2])' "$CSV" "$PA_PARQUET"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); bytes: $(basename "$CSV") $(wc -c <"$CSV"), $(basename "$PARQUET") $(wc -c <"$PARQUET"), $(basename "$PA_PARQUET") $(wc -c <"$PA_PARQUET")"
"$PY" - "$BIN" "$CSV" "$PARQUET" "$PA_PARQUET" "$REPEATS" <<'PYEOF'
import os, re, subprocess, sys, time
import pandas as pd
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

bin_, csv, parquet, pa_parquet, repeats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
cols = ["task", "worker", "label"]
files = {"csv": csv, "parquet": parquet, "pa.parquet": pa_parquet}

def ours(path):
    run = subprocess.run([bin_, "aggregate", "--method", "mv", "--timings", path, "-o", os.devnull],
                         capture_output=True, text=True)
    if run.returncode != 0:  # e.g. a build without the parquet feature
        return None
    out = run.stderr
    read = float(re.search(r"read_s=([0-9.]+)", out).group(1))
    cpu = float(re.search(r"read_cpu_s=([0-9.]+)", out).group(1))
    answers = int(re.search(r"responses=([0-9]+)", out).group(1))
    return read, cpu, answers

def encode(t):
    return [t.column(c).dictionary_encode() for c in cols]

def factorize(df):
    return [pd.factorize(df[c]) for c in cols]

# (tool, what, file) -> the timed function.
runs = {
    ("pyarrow", "csv+encode", "csv"): lambda: encode(pcsv.read_csv(csv)),
    ("pandas", "csv+factorize", "csv"): lambda: factorize(pd.read_csv(csv)),
}
for f in ("parquet", "pa.parquet"):
    path = files[f]
    runs[("pyarrow", "pq+encode", f)] = lambda path=path: encode(pq.read_table(path, columns=cols))
    if f == "parquet":  # plain strings in pa.parquet: nothing to unify
        runs[("pyarrow", "pq+unify", f)] = lambda: pq.read_table(parquet, columns=cols).unify_dictionaries()
    runs[("pandas", "pq+factorize", f)] = lambda path=path: factorize(pd.read_parquet(path, columns=cols))

def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start

best, cpu, answers = {}, {}, 0
for _ in range(repeats):
    for f, path in files.items():
        got = ours(path)
        if got is None:
            continue
        read, c, answers = got
        key = ("crowdagg", "read", f)
        best[key] = min(best.get(key, 1e9), read)
        cpu[f] = min(cpu.get(f, 1e9), c)
    for key, run in runs.items():
        best[key] = min(best.get(key, 1e9), timed(run))

print(f"{'tool':9} {'what':13} {'file':10} {'best_s':>7} {'answers/s':>10} {'MB/s':>7} {'vs_crowdagg':>11}")
for f in files:
    if ("crowdagg", "read", f) not in best:
        continue
    size = os.path.getsize(files[f])
    for (tool, what, g), s in sorted(best.items(), key=lambda kv: kv[0][0] != "crowdagg"):
        if g != f:
            continue
        ratio = s / best[("crowdagg", "read", f)]
        extra = f"  (read_cpu_s {cpu[f]:.2f})" if tool == "crowdagg" else ""
        print(f"{tool:9} {what:13} {f:10} {s:7.3f} {answers / s:10.3e} {size / 1e6 / s:7.0f} {ratio:11.2f}{extra}")
PYEOF

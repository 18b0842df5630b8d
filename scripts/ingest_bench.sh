#!/bin/sh
# Ingestion benchmark: read + intern of one response table by crowdagg, pyarrow and pandas, in
# one run on the same files, CSV and Parquet.
#
#   scripts/ingest_bench.sh FILE.csv [REPEATS]     # REPEATS (default 5): the minimum is shown
#
# FILE.parquet is made beside FILE.csv with `crowdagg convert` when missing (our writer:
# dictionary-encoded strings, snappy, row groups of 2^18 rows). What is timed, per tool:
#   crowdagg      `aggregate --method mv --timings`'s read_s (open, parse, intern, canonical
#                 ids, the task index; the worker index is built on first use, which MV never
#                 makes) and read_cpu_s; the file picks CSV or Parquet.
#   pyarrow       pyarrow.csv.read_csv (multithreaded) + dictionary_encode of task, worker,
#                 label; pyarrow.parquet.read_table + dictionary_encode of the three columns.
#   pandas        pandas.read_csv + pd.factorize of the three columns; pandas.read_parquet
#                 (pyarrow engine) + pd.factorize.
# Lines: tool, format, best seconds, answers/s, MB/s (file bytes / s), and the ratio of that
# tool's time to crowdagg's (>1: crowdagg faster). Runs alternate between tools, so a busy
# machine slows all of them alike; the load average is printed.
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
[ -f "$PARQUET" ] || "$BIN" convert "$CSV" "$PARQUET"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(basename "$CSV"): $(wc -c <"$CSV") bytes, $(basename "$PARQUET"): $(wc -c <"$PARQUET") bytes"
"$PY" - "$BIN" "$CSV" "$PARQUET" "$REPEATS" <<'PYEOF'
import os, re, subprocess, sys, time
import pandas as pd
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

bin_, csv, parquet, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cols = ["task", "worker", "label"]

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

def pa_csv():
    t = pcsv.read_csv(csv)
    return [t.column(c).dictionary_encode() for c in cols]

def pa_parquet():
    t = pq.read_table(parquet, columns=cols)
    return [t.column(c).dictionary_encode() for c in cols]

def pd_csv():
    df = pd.read_csv(csv)
    return [pd.factorize(df[c]) for c in cols]

def pd_parquet():
    df = pd.read_parquet(parquet, columns=cols)
    return [pd.factorize(df[c]) for c in cols]

def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start

best = {}
cpu = {}
answers = 0
for _ in range(repeats):
    for fmt, path in (("csv", csv), ("parquet", parquet)):
        got = ours(path)
        if got is None:
            continue
        read, c, answers = got
        best[("crowdagg", fmt)] = min(best.get(("crowdagg", fmt), 1e9), read)
        cpu[fmt] = min(cpu.get(fmt, 1e9), c)
    for key, f in ((("pyarrow", "csv"), pa_csv), (("pyarrow", "parquet"), pa_parquet),
                   (("pandas", "csv"), pd_csv), (("pandas", "parquet"), pd_parquet)):
        best[key] = min(best.get(key, 1e9), timed(f))

size = {"csv": os.path.getsize(csv), "parquet": os.path.getsize(parquet)}
print(f"{'tool':9} {'format':8} {'best_s':>7} {'answers/s':>10} {'MB/s':>7} {'vs_crowdagg':>11}")
for (tool, fmt), s in best.items():
    if ("crowdagg", fmt) not in best:
        continue
    ratio = s / best[("crowdagg", fmt)]
    extra = f"  (read_cpu_s {cpu[fmt]:.2f})" if tool == "crowdagg" else ""
    print(f"{tool:9} {fmt:8} {s:7.3f} {answers / s:10.3e} {size[fmt] / 1e6 / s:7.0f} {ratio:11.2f}{extra}")
PYEOF

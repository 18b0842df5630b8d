#!/usr/bin/env python3
"""Side by side, in one run: crowdagg's Python DawidSkene vs crowd-kit's on the same DataFrame
(str columns), and the crowdagg CLI's own read/fit times on the same CSV.

    PY=$(scripts/reference-env.sh); $PY -m pip install ./crowdagg-py
    $PY scripts/bench_python.py --tasks 250000 --workers 4000 --overlap 4 [--no-crowdkit]

Prints one Markdown row per measurement: pandas read, crowdagg encode (factorize) and fit, the
whole fit_predict, crowd-kit's fit_predict, the CLI's read and fit, and the ratios.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import tempfile
import time

import pandas as pd

import crowdagg
from crowdagg import _frames


def timed(f):
    """Wall seconds and value; the CPU seconds of this process go to CPU[0] (a loaded machine
    stretches wall times, CPU times much less)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = f()
    CPU[0] = time.process_time() - cpu
    return time.perf_counter() - start, value


CPU = [0.0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=4_000)
    parser.add_argument("--overlap", type=int, default=4)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--n-iter", type=int, default=20)
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--crowdagg", default="target/release/crowdagg")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = pathlib.Path(tmp) / "answers.csv"
        subprocess.run(
            [
                args.crowdagg,
                "generate",
                "--tasks",
                str(args.tasks),
                "--workers",
                str(args.workers),
                "--classes",
                str(args.classes),
                "--overlap",
                str(args.overlap),
                "--seed",
                "1",
                "--out",
                str(csv),
            ],
            check=True,
        )
        read_s, df = timed(lambda: pd.read_csv(csv, dtype=str))
        n = len(df)
        encode_s, coded = timed(lambda: _frames.responses(df))
        params = {"n_iter": args.n_iter, "tol": 0.0}
        core_s, _ = timed(lambda: _frames.fit("DawidSkene", params, coded))
        ours_s, labels = timed(
            lambda: crowdagg.DawidSkene(n_iter=args.n_iter, tol=0.0).fit_predict(df)
        )
        ours_cpu = CPU[0]
        cli = subprocess.run(
            [
                args.crowdagg,
                "aggregate",
                "--method",
                "ds",
                "--param",
                f"n_iter={args.n_iter}",
                "--param",
                "tol=0",
                "--timings",
                "--output",
                "/dev/null",
                str(csv),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(f"| answers | {n:,} |")
        print(f"| pandas read_csv (str) | {read_s:.2f} s |")
        print(f"| crowdagg encode (factorize) | {encode_s:.2f} s |")
        print(f"| crowdagg core fit ({args.n_iter} iterations) | {core_s:.3f} s |")
        print(f"| crowdagg DawidSkene().fit_predict(df) | {ours_s:.2f} s ({ours_cpu:.2f} s CPU) |")
        print(f"| CLI --timings | {cli.stderr.strip().splitlines()[-1]} |")
        if not args.no_crowdkit:
            from crowdkit.aggregation import DawidSkene

            theirs_s, expected = timed(
                lambda: DawidSkene(n_iter=args.n_iter, tol=0.0).fit_predict(df)
            )
            same = (labels.sort_index() == expected.sort_index()).mean()
            theirs_cpu = CPU[0]
            print(
                f"| crowd-kit DawidSkene().fit_predict(df) | {theirs_s:.2f} s ({theirs_cpu:.2f} s CPU) |"
            )
            print(
                f"| ratio crowd-kit / crowdagg | {theirs_s / ours_s:.0f}x wall, {theirs_cpu / ours_cpu:.0f}x CPU |"
            )
            print(f"| labels equal | {same:.6f} |")


if __name__ == "__main__":
    main()

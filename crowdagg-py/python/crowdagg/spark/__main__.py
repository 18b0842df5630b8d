"""``python -m crowdagg.spark``: a method on P shards over Spark (``local[N]`` on this
machine's loopback); the output has the bytes of
``crowdagg aggregate --method M [--param shards=P] [--param k=v]... --format F INPUT``
(``shards`` for Dawid-Skene and one-coin Dawid-Skene; majority vote and Wawa give one
machine's bytes for any P). The CSV is read with ``"`` as quote and escape, as the CLI reads
it; a quoted name with a line break in it needs Spark's ``multiLine`` (not set: it reads a
file in one task)."""

from __future__ import annotations

import argparse
import sys
import time

from crowdagg.distributed.__main__ import add_run_arguments, run_params, write_output
from crowdagg.spark import fit, local_session, prepare, read_csv, write


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crowdagg.spark", description=__doc__)
    p.add_argument("input", help="task,worker,label CSV with a header")
    p.add_argument("--cores", type=int, default=2, help="Spark local[N] (default 2)")
    add_run_arguments(p)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    params, use_gold = run_params(args)
    started = time.perf_counter()
    spark = local_session(args.cores, "crowdagg.spark")
    try:
        session_s = time.perf_counter() - started

        gold = read_csv(spark, args.gold) if use_gold else None
        begun = time.perf_counter()
        prepared = prepare(read_csv(spark, args.input), args.shards, gold=gold)
        prepared_s = time.perf_counter() - begun
        begun = time.perf_counter()
        driver, result = fit(prepared, args.method, params, use_gold=use_gold)
        fit_s = time.perf_counter() - begun
        data = write(prepared, driver, args.format)
    finally:
        spark.stop()
    write_output(args.output, data)
    if args.timings:
        passes = result["iteration_s"]
        steps = sorted(passes[1:]) or [0.0]
        print(
            f"timings: engine=spark cores={args.cores} shards={len(prepared.plan)} "
            f"partitions={prepared.partitions} session_s={session_s:.3f} "
            f"prepare_s={prepared_s:.3f} fit_s={fit_s:.3f} iterations={result['n_iter']} "
            f"init_pass_s={passes[0]:.3f} step_pass_median_s={steps[len(steps) // 2]:.3f}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

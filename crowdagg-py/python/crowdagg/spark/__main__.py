"""``python -m crowdagg.spark``: Dawid-Skene on P shards over Spark (``local[N]`` on this
machine's loopback); the output has the bytes of
``crowdagg aggregate --method M --param shards=P [--param k=v]... --format F INPUT``."""

from __future__ import annotations

import argparse
import sys
import time

from crowdagg.distributed.__main__ import add_run_arguments, write_output
from crowdagg.spark import fit, local_session, prepare, write


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crowdagg.spark", description=__doc__)
    p.add_argument("input", help="task,worker,label CSV with a header")
    p.add_argument("--cores", type=int, default=2, help="Spark local[N] (default 2)")
    add_run_arguments(p)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.use_gold and args.gold is None:
        raise SystemExit(f"{args.method} needs --gold")
    params = []
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param {item!r}: expected KEY=VALUE")
        params.append((key, value))
    started = time.perf_counter()
    spark = local_session(args.cores, "crowdagg.spark")
    try:
        session_s = time.perf_counter() - started

        def read(path):
            return spark.read.option("header", True).option("inferSchema", False).csv(path)

        gold = read(args.gold) if args.use_gold else None
        begun = time.perf_counter()
        prepared = prepare(read(args.input), args.shards, gold=gold)
        prepared_s = time.perf_counter() - begun
        begun = time.perf_counter()
        driver, result = fit(prepared, args.method, params, use_gold=args.use_gold)
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

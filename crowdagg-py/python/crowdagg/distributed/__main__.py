"""``python -m crowdagg.distributed``: Dawid-Skene on P shards over Ray or Dask, on this
machine's loopback; the output has the bytes of
``crowdagg aggregate --method M --param shards=P [--param k=v]... --format F INPUT``."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from crowdagg.distributed import (
    DaskEngine,
    RayEngine,
    Table,
    peak_rss,
    run,
    sources_from_table,
    start_local_ray,
)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options every sharded command line shares (this one and ``crowdagg.spark``'s)."""
    p.add_argument("--shards", type=int, required=True, help="P: shards of tasks")
    p.add_argument("--method", choices=["ds", "one-coin-ds", "mv", "wawa"], default="ds")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--gold", help="task,label CSV of true labels")
    p.add_argument("--use-gold", action="store_true", help="fit with --gold (as the CLI)")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--timings", action="store_true", help="timings on standard error")


def write_output(path: str | None, data: bytes) -> None:
    """The result to ``path``, or to standard output for none or ``-``."""
    if path and path != "-":
        with open(path, "wb") as out:
            out.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _at_least_one(text: str) -> int:
    """An integer ≥ 1 (argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crowdagg.distributed", description=__doc__)
    p.add_argument("input", help="task,worker,label CSV (or TSV)")
    p.add_argument("--engine", choices=["ray", "dask"], required=True)
    p.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    add_run_arguments(p)
    p.add_argument("--seed", type=int, help="shuffle the shard → process assignment")
    p.add_argument(
        "--spill-dir",
        help="write each shard's codes there; every process reads its own (the driver ships none)",
    )
    p.add_argument(
        "--reduce",
        choices=["driver", "scatter"],
        default="driver",
        help="who merges the W x K x K count tables: the driver (default) or, by worker range, "
        "the processes (a reduce-scatter; ds and one-coin-ds; the same bytes)",
    )
    p.add_argument(
        "--owners",
        type=_at_least_one,
        help="worker ranges of --reduce scatter, at least 1 (default: one per host process)",
    )
    p.add_argument("--crash-after", type=int, help=argparse.SUPPRESS)  # recovery tests
    return p


def run_params(args) -> tuple[list[tuple[str, str]], bool]:
    """``--param`` pairs (``shards`` from ``--shards``) and whether to fit with gold
    (``--use-gold``, or ``--param use_gold=true|false`` as the CLI takes it)."""
    pairs, use_gold = [], args.use_gold
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param {item!r}: expected KEY=VALUE")
        if key == "use_gold":
            if value not in ("true", "false"):
                raise SystemExit(f"--param use_gold={value}: expected true or false")
            use_gold = value == "true"
        elif key != "shards":
            pairs.append((key, value))
    pairs.append(("shards", str(args.shards)))
    if use_gold and args.gold is None:
        raise SystemExit(f"{args.method} with use_gold needs --gold")
    return pairs, use_gold


@contextlib.contextmanager
def _engine(name: str, processes: int, seed):
    if name == "ray":
        start_local_ray(processes)  # before this process imports ray: see its docs
        import ray

        engine = RayEngine(processes, seed)
        try:
            yield engine
        finally:
            engine.close()
            ray.shutdown()
    else:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=processes,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        client = Client(cluster)
        try:
            yield DaskEngine(client, processes, seed)
        finally:
            client.close()
            cluster.close()


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    params, use_gold = run_params(args)
    if args.reduce == "scatter" and args.method not in ("ds", "one-coin-ds"):
        raise SystemExit(f"--reduce scatter: {args.method} has no per-worker tables to scatter")
    started = time.perf_counter()
    table = Table(args.input, args.gold if use_gold else None)
    driver, sources = sources_from_table(table, args.method, params, use_gold, args.spill_dir)
    read = time.perf_counter()
    # The engines print notices (a lost worker, say) on standard output: send them to standard
    # error, so standard output holds the result only.
    with (
        contextlib.redirect_stdout(sys.stderr),
        _engine(args.engine, args.processes, args.seed) as engine,
    ):
        engine_started = time.perf_counter()
        crash = None if args.crash_after is None else (args.crash_after, 0)
        result = run(
            engine, sources, driver, crash_after=crash, reduce=args.reduce, owners=args.owners
        )
        fitted = time.perf_counter()
    write_output(args.output, table.write(driver, args.format))
    if args.timings:
        n = max(result["n_iter"], 1)
        print(
            f"timings: engine={args.engine} processes={args.processes} shards={len(sources)} "
            f"read_s={read - started:.3f} start_s={engine_started - read:.3f} "
            f"fit_s={fitted - engine_started:.3f} build_s={result['build_s']:.3f} "
            f"em_s={result['em_s']:.3f} iterations={result['n_iter']} "
            f"em_s_per_pass={result['em_s'] / (n + 1):.4f} reduce={args.reduce} "
            f"em_cpu_s_per_pass={sum(result['em_cpu_s']) / (n + 1):.4f} "
            f"em_cpu_s={','.join(f'{c:.2f}' for c in result['em_cpu_s'])} "
            f"recoveries={result['recoveries']} "
            f"driver_peak_rss_mb={peak_rss() / 2**20:.0f} "
            f"host_peak_rss_mb={','.join(f'{b / 2**20:.0f}' for b in result['host_peak_rss'])}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

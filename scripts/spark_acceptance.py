"""The Spark half of scripts/spark_acceptance.sh: one local Spark session, ``prepare`` once per
input (and per gold), then ``fit`` + ``write`` per case into OUTDIR/<name>.<format>, with one
timings line per case. Cases are ``name:method:params:gold`` (params ``k=v,k=v`` or ``-``;
gold ``gold`` or ``-``); a name starting with ``ray-`` runs the iterations on Ray instead (Spark
prepares, ``shard_sources`` hands the shards to 2 Ray actors: the Ray-on-Spark path). Usage: python spark_acceptance.py INPUT GOLD|- SHARDS OUTDIR CASE...
"""

from __future__ import annotations

import sys
import time

from crowdagg.spark import fit, local_session, prepare, read_csv, shard_sources, write


def _on_ray(prepared, method, pairs, use_gold):
    """The iterations on 2 local Ray actors (loopback), from Spark's prepared shards."""
    from crowdagg.distributed import RayEngine, run, start_local_ray

    start_local_ray(2)  # before this process imports ray: see its docs
    import ray

    try:
        driver, sources = shard_sources(prepared, method, pairs, use_gold=use_gold)
        engine = RayEngine(2, seed=5)
        result = run(engine, sources, driver)
        engine.close()
    finally:
        ray.shutdown()
    result["iteration_s"] = [result["em_s"] / (result["n_iter"] + 1)] * 2
    return driver, result


def main(argv: list[str]) -> int:
    source, gold_path, shards, outdir, *cases = argv
    started = time.perf_counter()
    spark = local_session(2, "crowdagg-spark-acceptance")
    print(f"spark: session {time.perf_counter() - started:.1f} s", flush=True)
    try:
        prepared = {}
        for case in cases:
            name, method, params, gold = case.split(":")
            use_gold = gold == "gold"
            if use_gold not in prepared:
                begun = time.perf_counter()
                truth = read_csv(spark, gold_path) if use_gold else None
                prepared[use_gold] = prepare(read_csv(spark, source), int(shards), gold=truth)
                p = prepared[use_gold]
                print(
                    f"spark: prepare (gold={use_gold}) {time.perf_counter() - begun:.1f} s, "
                    f"sizes {p.sizes}, {len(p.plan)} shards in {p.partitions} partitions",
                    flush=True,
                )
            pairs = [] if params == "-" else [tuple(p.split("=", 1)) for p in params.split(",")]
            begun = time.perf_counter()
            if name.startswith("ray-"):
                driver, result = _on_ray(prepared[use_gold], method, pairs, use_gold)
            else:
                driver, result = fit(prepared[use_gold], method, pairs, use_gold=use_gold)
            fit_s = time.perf_counter() - begun
            fmt = name.rsplit(".", 1)[1]
            with open(f"{outdir}/{name}", "wb") as out:
                out.write(write(prepared[use_gold], driver, fmt))
            passes = result["iteration_s"]
            steps = sorted(passes[1:]) or [0.0]
            print(
                f"spark: {name}: fit {fit_s:.1f} s, {result['n_iter']} iterations, init pass "
                f"{passes[0]:.2f} s, step pass median {steps[len(steps) // 2]:.3f} s "
                f"(min {steps[0]:.3f})",
                flush=True,
            )
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

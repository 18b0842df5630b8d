"""Sharded aggregation on Spark (Dawid-Skene, one-coin Dawid-Skene, majority vote, Wawa):
``prepare`` encodes and shards a DataFrame, ``fit`` runs the loop.

**prepare(df, shards)** gives every task, worker and label a global integer code in the
canonical order of ``crowdagg aggregate`` (the label order rule: numeric when every value of
the column is an integer, ties between spellings such as ``01`` and ``1`` by bytes; otherwise
byte order, which for Unicode strings is also ``pandas.factorize(sort=True)``'s code-point
order; an integer-typed column is ordered numerically, as pandas does). Then each answer gets
its shard, ``task code // tasks per shard`` along the plan of ``crowdagg::shard::plan``
(whole 512-task chunks, the blocks of ``--param shards=P``), and the frame is range
partitioned on the shard (``repartitionByRange``: hash partitioning can put two shards in one
partition) and cached.

**fit(prepared, method, params)** runs the loop of ``crowdagg.distributed`` in *re-scan*
mode: per EM iteration the driver broadcasts the model, one ``mapInArrow`` pass rebuilds each
partition's ``crowdagg._core.Shard`` from its Arrow batches and returns the shard's flat
statistics, and the driver merges them **in shard order** (``crowdagg._core.Driver``). Spark
keeps no Python state between stages, so a shard recomputes the posterior of the previous
model before stepping on the current one: two E-steps per iteration, plus the JVM → Arrow →
Python stream of the whole table. The result has the bits of
``crowdagg aggregate --method ds --param shards=P`` on the same answers; ``write`` gives the
CLI's bytes (it collects the task, worker and label names to the driver).

This is the right tool for preparing the data and for a few iterations; for long runs, keep
the shards resident instead: start Ray on the Spark cluster (``ray.util.spark``:
``setup_ray_cluster(max_worker_nodes=…)``, then ``ray.init()`` on the driver), and run
``crowdagg.distributed.run(RayEngine(…), sources, driver)`` on ``shard_sources(prepared, …)``
(each shard's codes from the prepared frame; at scale, write ``prepared.frame``, columns
``shard, task, worker, label, gold``, to Parquet and build each source from its own files);
``write(prepared, driver)`` then gives the same bytes.

``python -m crowdagg.spark`` runs it on a CSV on this machine (``local[N]``, loopback only).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowdagg._core import Driver, Shard

__all__ = ["Prepared", "fit", "local_session", "prepare", "read_csv", "shard_sources", "write"]

#: The integer types of Spark SQL (ordered numerically, as pandas orders integer columns).
_INTEGRAL = ("ByteType", "ShortType", "IntegerType", "LongType")
#: The integer form the label order rule recognises (``crowdagg::responses::parse_int``).
#: ``\z``, not ``$``: Java's ``$`` also matches before a final line break (``"12\n"``).
_INTEGER = r"^[+-]?[0-9]+\z"


@dataclass
class Prepared:
    """A prepared table: ``frame`` has one row per answer with int64 columns ``shard, task,
    worker, label`` (global codes) and ``gold`` (the task's true label code, or null), range
    partitioned on ``shard`` and cached; ``codes`` maps each column's names to codes."""

    frame: object
    sizes: tuple[int, int, int]
    shards: int
    plan: list[tuple[int, int]]
    codes: dict[str, object]
    partitions: int
    has_gold: bool = False

    def unpersist(self) -> None:
        """Releases the cached frame and code tables (the ``Prepared`` is unusable after)."""
        self.frame.unpersist()
        for codes in self.codes.values():
            codes.unpersist()

    def names(self, column: str) -> list[str]:
        """The names of ``column`` (task, worker or label) in code order, on the driver."""
        ordered = self.codes[column].orderBy("code").select("name")
        return ordered.toArrow().column("name").to_pylist()


def _encode(frame, column: str):
    """(code frame with ``name`` (string) and ``code`` (long), count) for ``column``, codes in
    the canonical order."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    values = frame.select(F.col(column).alias("value")).distinct()
    dtype = type(values.schema["value"].dataType).__name__
    if dtype in _INTEGRAL:
        ordered = values.orderBy("value").select(F.col("value").cast("string").alias("name"))
    elif dtype == "StringType":
        as_int = F.expr("try_cast(value AS BIGINT)")
        # A value that looks like an integer but overflows casts to null; SQL's three-valued
        # logic would then make both `is_int` and `~is_int` null and `filter` drop the row, so
        # null counts as "not an integer" (the CLI's `parse_int` refuses it too).
        is_int = F.coalesce(F.col("value").rlike(_INTEGER) & as_int.isNotNull(), F.lit(False))
        numeric = values.filter(~is_int).limit(1).count() == 0
        by_bytes = F.col("value").cast("binary")
        keys = [as_int, by_bytes] if numeric else [by_bytes]
        ordered = values.orderBy(*keys).select(F.col("value").alias("name"))
    else:
        raise TypeError(f"column {column!r} is {dtype}: expected strings or integers")
    schema = StructType([StructField("name", StringType()), StructField("code", LongType())])
    # zipWithIndex numbers the rows of the sorted frame in order, across partitions.
    codes = ordered.rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[1])).toDF(schema)
    codes = codes.cache()
    return codes, codes.count()


def prepare(
    df,
    shards: int,
    *,
    task: str = "task",
    worker: str = "worker",
    label: str = "label",
    gold=None,
    gold_task: str = "task",
    gold_label: str = "label",
) -> Prepared:
    """Encodes and shards ``df`` (one row per answer) for ``fit``; ``gold`` is an optional
    frame of true labels (``gold_task``, ``gold_label``), joined on the task name (tasks
    without answers are ignored, as by the CLI; a gold label no answer uses is an error)."""
    from pyspark.sql import functions as F

    answers = df.select(
        F.col(task).alias("task"), F.col(worker).alias("worker"), F.col(label).alias("label")
    )
    for column in ("task", "worker", "label"):
        if answers.filter(F.col(column).isNull()).limit(1).count():
            raise ValueError(f"column {column!r} has null values")
    codes, sizes = {}, []
    for column in ("task", "worker", "label"):
        codes[column], count = _encode(answers, column)
        sizes.append(count)
    if sizes[0] == 0:
        raise ValueError("no answers")
    sizes = tuple(sizes)
    plan = Driver("ds", [("shards", str(shards))], *sizes).plan()
    per_shard = plan[0][1] - plan[0][0]
    coded = answers
    for column in ("task", "worker", "label"):
        # Names as strings, the codes' type (an integer column's names are its decimals).
        names = codes[column].withColumnRenamed("code", f"{column}_code")
        coded = coded.withColumn(column, F.col(column).cast("string")).join(
            names.withColumnRenamed("name", column), on=column
        )
    coded = coded.select(
        F.col("task_code").alias("task"),
        F.col("worker_code").alias("worker"),
        F.col("label_code").alias("label"),
        F.col("task").alias("task_name"),
    )
    if gold is not None:
        truth = gold.select(
            F.col(gold_task).cast("string").alias("task_name"),
            F.col(gold_label).cast("string").alias("name"),
        ).join(codes["label"], on="name", how="left")
        repeated = truth.groupBy("task_name").count().filter("count > 1").limit(1).collect()
        if repeated:
            raise ValueError(f"gold has task {repeated[0]['task_name']!r} more than once")
        answered = codes["task"].select(F.col("name").alias("task_name"))
        if truth.join(answered, "task_name").limit(1).count() == 0:
            gold_tasks = truth.count()
            raise ValueError(
                f"none of the {gold_tasks} gold task{'' if gold_tasks == 1 else 's'} occurs in "
                "the responses (check the task column and the spelling of task ids)"
            )
        unknown = truth.join(answered, "task_name")
        unknown = unknown.filter(F.col("code").isNull()).limit(1).collect()
        if unknown:
            raise ValueError(
                f"gold label {unknown[0]['name']!r} of task {unknown[0]['task_name']!r} is no "
                "answer's label"
            )
        coded = coded.join(
            truth.select("task_name", F.col("code").alias("gold")), on="task_name", how="left"
        )
    else:
        coded = coded.withColumn("gold", F.lit(None).cast("long"))
    coded = coded.select(
        (F.col("task") / F.lit(per_shard)).cast("long").alias("shard"),
        "task",
        "worker",
        "label",
        "gold",
    )
    frame = coded.repartitionByRange(len(plan), "shard").cache()
    frame.count()
    partitions = frame.rdd.getNumPartitions()
    return Prepared(frame, sizes, shards, plan, codes, partitions, gold is not None)


def _pass(spec, models, posteriors: bool):
    """The ``mapInArrow`` function of one pass: per shard in the partition, build, ``init``,
    step on each of ``models`` (broadcast), and yield ``(shard, statistics)`` (or the
    posteriors)."""

    def run(batches):
        import pyarrow as pa

        method, params, sizes, use_gold = spec.value
        steps = models.value
        batches = list(batches)
        if not batches:
            return
        table = pa.Table.from_batches(batches)
        if table.num_rows == 0:
            return
        columns = {
            name: table.column(name).to_numpy(zero_copy_only=False)
            for name in ("shard", "task", "worker", "label")
        }
        gold = table.column("gold")
        has_gold = np.asarray(gold.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        gold = gold.to_numpy(zero_copy_only=False)
        order = np.argsort(columns["shard"], kind="stable")
        shard_ids, starts = np.unique(columns["shard"][order], return_index=True)
        ends = list(starts[1:]) + [len(order)]
        for index, start, end in zip(shard_ids, starts, ends):
            rows = order[start:end]
            codes = [np.ascontiguousarray(columns[c][rows], dtype=np.int64) for c in columns]
            truth = None
            if use_gold:
                known = has_gold[rows]
                gold_codes = gold[rows][known]
                tasks, first = np.unique(codes[1][known], return_index=True)
                truth = (tasks.astype(np.int64), gold_codes[first].astype(np.int64))
            shard = Shard(method, params, *sizes, int(index), *codes[1:], truth)
            out = shard.init()
            for model in steps:
                out = shard.step(model)
            if posteriors:
                out = shard.posteriors()
            values = pa.array(out, type=pa.float64())
            offsets = pa.array([0, len(values)], type=pa.int32())
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([int(index)], type=pa.int64()),
                    pa.ListArray.from_arrays(offsets, values),
                ],
                names=["shard", "values"],
            )

    return run


def _collect(prepared: Prepared, spec, models: Sequence[np.ndarray], posteriors=False):
    """One pass over the cached frame: every shard's buffer, in shard order."""
    spark = prepared.frame.sparkSession
    broadcast = spark.sparkContext.broadcast(list(models))
    try:
        result = prepared.frame.mapInArrow(
            _pass(spec, broadcast, posteriors), "shard long, values array<double>"
        ).toArrow()
    finally:
        broadcast.destroy()
    shard_ids = result.column("shard").to_pylist()
    if sorted(shard_ids) != list(range(len(prepared.plan))):
        raise RuntimeError(f"a pass returned shards {shard_ids}, expected each of the plan once")
    values = result.column("values")
    buffers = {}
    for row, index in enumerate(shard_ids):
        buffers[index] = values[row].values.to_numpy(zero_copy_only=False)
    return [np.require(buffers[i], np.float64, ["C", "A"]) for i in range(len(prepared.plan))]


def fit(
    prepared: Prepared,
    method: str = "ds",
    params: Sequence[tuple[str, str]] = (),
    *,
    use_gold: bool = False,
):
    """The loop on ``prepared`` (``method`` ``ds``, ``one-coin-ds``, ``mv`` or ``wawa``;
    ``params`` as ``--param`` pairs, ``shards`` set from ``prepared``): returns ``(driver, result)``, the
    finished ``crowdagg._core.Driver`` (for ``write``) and its result dict, with
    ``iteration_s`` (wall seconds of each pass, ``init`` first)."""
    _check_gold(prepared, use_gold)
    params = [(k, v) for k, v in params if k != "shards"] + [("shards", str(prepared.shards))]
    driver = Driver(method, params, *prepared.sizes)
    spark = prepared.frame.sparkSession
    spec = spark.sparkContext.broadcast((method, params, prepared.sizes, use_gold))
    times = []
    try:
        started = time.perf_counter()
        model = driver.update(_collect(prepared, spec, []))
        times.append(time.perf_counter() - started)
        while model is not None:
            before = driver.model_before()
            models = [model] if before is None else [before, model]
            started = time.perf_counter()
            model = driver.update(_collect(prepared, spec, models))
            times.append(time.perf_counter() - started)
        # A shard keeps nothing between passes: the driver says which models make the
        # result's posterior current again (for Dawid-Skene, the model before the last, twice).
        models = driver.result_models()
        result = driver.finish(_collect(prepared, spec, models, posteriors=True))
    finally:
        spec.destroy()
    result["iteration_s"] = times
    return driver, result


def _check_gold(prepared: Prepared, use_gold: bool) -> None:
    if use_gold and not prepared.has_gold:
        raise ValueError("use_gold=True, but the table was prepared without gold")


def write(prepared: Prepared, driver, format: str = "csv") -> bytes:
    """The result as ``crowdagg aggregate --format csv|json`` writes it (names collected to the
    driver; the library checks that they are in canonical order)."""
    return driver.write(
        prepared.names("task"), prepared.names("worker"), prepared.names("label"), format
    )


def shard_sources(
    prepared: Prepared,
    method: str = "ds",
    params: Sequence[tuple[str, str]] = (),
    *,
    use_gold: bool = False,
):
    """The driver and one ``crowdagg.distributed.ShardSource`` per shard of ``prepared``, for
    running the iterations on Ray (Ray on Spark: ``ray.util.spark.setup_ray_cluster``) with
    shards resident: ``crowdagg.distributed.run(RayEngine(…), sources, driver)``, then
    ``write(prepared, driver)``. Each shard's codes pass through this driver once (at scale,
    write ``prepared.frame`` to Parquet and build each source from its shard's files)."""
    from pyspark.sql import functions as F

    from crowdagg.distributed import ShardSource

    _check_gold(prepared, use_gold)
    params = [(k, v) for k, v in params if k != "shards"] + [("shards", str(prepared.shards))]
    driver = Driver(method, params, *prepared.sizes)
    sources = []
    for index in range(len(prepared.plan)):
        rows = prepared.frame.filter(F.col("shard") == index).toArrow()
        codes = [rows.column(c).to_numpy().astype(np.int64) for c in ("task", "worker", "label")]
        gold = None
        if use_gold:
            known = rows.filter(rows.column("gold").is_valid())
            tasks, first = np.unique(known.column("task").to_numpy(), return_index=True)
            gold = (tasks.astype(np.int64), known.column("gold").to_numpy()[first].astype(np.int64))
        sources.append(ShardSource(method, params, prepared.sizes, index, *codes, gold))
    return driver, sources


def read_csv(spark, path: str):
    """A CSV with a header as the CLI reads it: every column a string, ``"`` as quote and
    escape. A quoted name with a line break in it needs Spark's ``multiLine`` (not set: it
    reads a whole file in one task)."""
    return (
        spark.read.option("header", True)
        .option("inferSchema", False)
        .option("escape", '"')
        .csv(path)
    )


def local_session(cores: int = 2, app: str = "crowdagg"):
    """A Spark session on this machine only: ``local[cores]``, bound to 127.0.0.1, no UI, the
    Python workers on this interpreter (``PYSPARK_PYTHON``). Refuses to run beside another
    active session, whose master and addresses ``getOrCreate`` would hand back instead."""
    import os
    import sys

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        raise RuntimeError("a Spark session is already active: stop it first")
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, cores)))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark

"""Dawid-Skene on shards, on an engine you already run: Ray or Dask.

The tasks are cut into P shards (``crowdagg._core.Driver.plan``: contiguous ranges of the
canonical task order). Each shard lives in a worker process (a Ray actor, a Dask actor) as a
``crowdagg._core.Shard`` built from global integer codes; per EM iteration the driver sends one
model array to every process, each shard returns one statistics array, and the driver merges
them **in shard order** (``Driver.update``). The result has the bits of the single-machine fit
with ``shards=P`` (``crowdagg aggregate --method ds --param shards=P``), for any number of
processes and any assignment of shards to processes; see the Rust module ``crowdagg::shard``
for the argument.

A lost process is rebuilt from its shards' sources (``ShardSource``: the codes, kept by the
driver or its object store) and the run continues from the driver's model, with the same bits.

``run(engine, sources, driver)`` is the engine-independent loop; ``RayEngine`` and
``DaskEngine`` are the adapters; ``python -m crowdagg.distributed`` is the command line.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from crowdagg._core import Driver, Shard, Table

__all__ = [
    "DaskEngine",
    "Driver",
    "RayEngine",
    "Shard",
    "ShardSource",
    "Table",
    "assign",
    "peak_rss",
    "run",
    "sources_from_table",
    "start_local_ray",
]


def _aligned(array: np.ndarray, dtype) -> np.ndarray:
    """The array as the Rust core borrows it: C-contiguous and aligned (engines can hand over
    arrays deserialised at odd offsets of a message buffer; then this copies)."""
    return np.require(array, dtype=dtype, requirements=["C", "A"])


@dataclass
class ShardSource:
    """Everything needed to (re)build shard ``index``: the method, its ``key=value`` params
    (``shards`` included), the table's sizes and the shard's answers as global codes (arrays,
    or the paths of ``.npy`` files that the process holding the shard reads itself)."""

    method: str
    params: list[tuple[str, str]]
    sizes: tuple[int, int, int]
    index: int
    tasks: np.ndarray | str
    workers: np.ndarray | str
    labels: np.ndarray | str
    gold: tuple[np.ndarray, np.ndarray] | None = None

    def build(self) -> Shard:
        n_tasks, n_workers, n_labels = self.sizes

        def codes(array):
            return np.load(array, mmap_mode="r") if isinstance(array, str) else array

        gold = None
        if self.gold is not None:
            gold = (_aligned(self.gold[0], np.int64), _aligned(self.gold[1], np.int64))
        return Shard(
            self.method,
            self.params,
            n_tasks,
            n_workers,
            n_labels,
            self.index,
            _aligned(codes(self.tasks), np.int64),
            _aligned(codes(self.workers), np.int64),
            _aligned(codes(self.labels), np.int64),
            gold,
        )


def sources_from_table(
    table: Table,
    method: str,
    params: list[tuple[str, str]],
    use_gold: bool = False,
    spill_dir: str | None = None,
) -> tuple[Driver, list[ShardSource]]:
    """The driver and one source per shard of ``table`` (a ``crowdagg._core.Table``). With
    ``spill_dir``, each shard's codes go to ``.npy`` files there (one shard at a time) and the
    sources hold their paths: the driver then keeps no codes, and the engine ships none; each
    process reads its shards' files (a shared directory, on several machines)."""
    import os

    sizes = table.sizes
    driver = Driver(method, params, *sizes)
    if spill_dir is not None:
        # Absolute: the worker processes may run in another directory.
        spill_dir = os.path.abspath(spill_dir)
        os.makedirs(spill_dir, exist_ok=True)
    sources = []
    for index, (start, end) in enumerate(driver.plan()):
        tasks, workers, labels = table.codes(start, end)
        if spill_dir is not None:
            paths = []
            for name, array in (("tasks", tasks), ("workers", workers), ("labels", labels)):
                path = os.path.join(spill_dir, f"shard{index}.{name}.npy")
                np.save(path, array)
                paths.append(path)
            tasks, workers, labels = paths
        gold = table.gold(start, end) if use_gold else None
        sources.append(ShardSource(method, params, sizes, index, tasks, workers, labels, gold))
    return driver, sources


def assign(n_shards: int, n_processes: int, seed: int | None = None) -> list[list[int]]:
    """Shards per process: round robin, or shuffled first when ``seed`` is given."""
    order = list(range(n_shards))
    if seed is not None:
        random.Random(seed).shuffle(order)
    groups: list[list[int]] = [[] for _ in range(max(1, min(n_processes, n_shards)))]
    for i, shard in enumerate(order):
        groups[i % len(groups)].append(shard)
    return groups


class Host:
    """The shards one process holds (the body of a Ray or Dask actor)."""

    def __init__(self, sources: Sequence[ShardSource]):
        self.shards = {s.index: s.build() for s in sources}

    def init(self) -> dict[int, np.ndarray]:
        return {i: shard.init() for i, shard in self.shards.items()}

    def step(self, model: np.ndarray) -> dict[int, np.ndarray]:
        model = _aligned(model, np.float64)
        return {i: shard.step(model) for i, shard in self.shards.items()}

    def restore(self, model_before: np.ndarray | None) -> None:
        """A rebuilt host: back to the driver's iteration (its statistics discarded)."""
        for shard in self.shards.values():
            shard.init()
            if model_before is not None:
                shard.step(_aligned(model_before, np.float64))

    def posteriors(self) -> dict[int, np.ndarray]:
        return {i: shard.posteriors() for i, shard in self.shards.items()}

    def pid(self) -> int:
        import os

        return os.getpid()

    def peak_rss(self) -> int:
        """This process's peak resident set (bytes): ``VmHWM`` of ``/proc/self/status``."""
        return peak_rss()

    def crash(self) -> None:
        """Ends the process (tests of recovery)."""
        import os

        os._exit(1)


def start_local_ray(processes: int = 2) -> None:
    """``ray.init`` on this machine's loopback only: ``processes`` CPUs, no dashboard, no token
    (``RAY_AUTH_MODE=disabled`` unless set), worker logs kept out of the driver's output."""
    import os

    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(
        _node_ip_address="127.0.0.1",
        num_cpus=processes,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )


def peak_rss() -> int:
    """The calling process's peak resident set in bytes (``VmHWM``; 0 where ``/proc`` is
    absent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Stats:
    """Per-run counters: iterations, recoveries."""

    iterations: int = 0
    recoveries: list[tuple[int, int]] = field(default_factory=list)


def _in_order(parts: Sequence[dict[int, np.ndarray]], n: int) -> list[np.ndarray]:
    merged: dict[int, np.ndarray] = {}
    for part in parts:
        merged.update(part)
    return [_aligned(merged[i], np.float64) for i in range(n)]


def run(engine, sources: Sequence[ShardSource], driver: Driver, *, crash_after=None):
    """The EM loop on ``engine`` (an adapter with ``start``, ``call``, ``rebuild``, ``crash``):
    returns the driver's result dict. ``crash_after=(iteration, host)`` ends that host's process
    after that iteration (a recovery test); any lost host is rebuilt and the loop goes on."""
    n = len(sources)
    stats = Stats()
    started = time.perf_counter()
    engine.start(sources)
    built = time.perf_counter()
    model = driver.update(_in_order(engine.call("init"), n))
    while model is not None:
        if crash_after is not None and stats.iterations == crash_after[0]:
            engine.crash(crash_after[1])
            crash_after = None
        parts = engine.call("step", model, recover=(driver, stats))
        stats.iterations += 1
        model = driver.update(_in_order(parts, n))
    looped = time.perf_counter()
    result = driver.finish(_in_order(engine.call("posteriors"), n))
    # Each host process's peak resident set, in host order (bytes).
    result["host_peak_rss"] = list(engine.call("peak_rss"))
    result["recoveries"] = stats.recoveries
    # Shipping and building the shards; the EM passes (init + each step, merges, M-steps).
    result["build_s"] = built - started
    result["em_s"] = looped - built
    return result


class _Engine:
    """What Ray and Dask share: hosts, the assignment, calls with recovery."""

    #: The exceptions that mean a host's process is lost (set by each engine).
    lost: tuple[type[BaseException], ...] = ()

    def __init__(self, processes: int = 2, seed: int | None = None):
        self.processes = processes
        self.seed = seed
        self.groups: list[list[int]] = []
        self.sources: Sequence[ShardSource] = ()
        self.hosts: list = []

    def start(self, sources: Sequence[ShardSource]) -> None:
        self.sources = sources
        self.groups = assign(len(sources), self.processes, self.seed)
        self.hosts = [self._new_host(group) for group in self.groups]

    def _group_sources(self, group):
        return [self.sources[i] for i in group]

    def call(self, name: str, *args, recover=None) -> list[dict[int, np.ndarray]]:
        pending = []
        for host in self.hosts:
            try:
                pending.append(self._submit(host, name, *args))
            except self.lost as error:  # Dask refuses a call to a lost actor at once
                pending.append(error)
        results = []
        for h, handle in enumerate(pending):
            try:
                if isinstance(handle, Exception):
                    raise handle
                results.append(self._result(handle))
            except self.lost:
                if recover is None:
                    raise
                driver, stats = recover
                self.hosts[h] = self._new_host(self.groups[h])
                self._result(self._submit(self.hosts[h], "restore", driver.model_before()))
                stats.recoveries.append((stats.iterations, h))
                results.append(self._result(self._submit(self.hosts[h], name, *args)))
        return results

    def crash(self, host: int) -> None:
        with contextlib.suppress(*self.lost):  # the process ends mid-call, as intended
            self._result(self._submit(self.hosts[host], "crash"))


class RayEngine(_Engine):
    """One Ray actor per process, holding its shards (``ray.init`` must have run)."""

    def __init__(self, processes: int = 2, seed: int | None = None):
        super().__init__(processes, seed)
        import ray

        self._ray = ray
        self.lost = (ray.exceptions.RayActorError,)
        self._actor = ray.remote(num_cpus=0, max_restarts=0)(Host)

    def _new_host(self, group):
        return self._actor.remote(self._group_sources(group))

    def _submit(self, host, name, *args):
        return getattr(host, name).remote(*args)

    def _result(self, handle):
        return self._ray.get(handle)

    def close(self) -> None:
        for host in self.hosts:
            self._ray.kill(host)
        self.hosts = []


class DaskEngine(_Engine):
    """One Dask actor per worker process, holding its shards (on ``client``'s cluster)."""

    def __init__(self, client, processes: int = 2, seed: int | None = None, timeout: float = 120):
        super().__init__(processes, seed)
        from distributed.scheduler import KilledWorker

        self.client = client
        # A call to a lost actor: RuntimeError ("Worker holding Actor was lost"); a call in
        # flight: a closed connection (OSError) or a killed worker.
        self.lost = (RuntimeError, OSError, KilledWorker)
        self.timeout = timeout

    def _new_host(self, group):
        h = self.groups.index(group)
        # Pin each host to a worker, round robin, so processes share the shards.
        live = sorted(self.client.scheduler_info()["workers"])
        worker = live[h % len(live)]
        future = self.client.submit(
            Host, self._group_sources(group), actor=True, workers=[worker], pure=False
        )
        return future.result(timeout=self.timeout)

    def _submit(self, host, name, *args):
        return getattr(host, name)(*args)

    def _result(self, handle):
        return handle.result(timeout=self.timeout)

    def close(self) -> None:
        self.hosts = []

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

**Reduce-scatter** (``run(..., reduce="scatter")``, ``--reduce scatter``): the workers are cut
into R ranges (``Driver.worker_ranges``; R = the number of host processes, ``len(engine.hosts)``
= min(processes, shards), unless ``owners`` says otherwise: 1 to max(W, 65,536)), range r owned
by host ``r % len(engine.hosts)``. Each shard's statistics split into a small head (chunk
partials: priors, ELBO) for the driver and one slice per range; the slices go to their owners
process to process (Ray: the driver passes object refs from one actor call to the next, but Ray
returns objects under ~100 KiB inline to the caller, so small slices do go through the driver;
Dask: futures of tasks pinned to the workers), each owner adds its P slices in shard
order (``crowdagg._core.Owner``: the bits of the driver's merge) and runs its workers' M-step;
the driver gathers the R model slices (one model instead of P count tables) and the heads. The
output is byte-identical to the driver merge and to ``shards=P`` on one machine. It pays when
the W × K × K tables dominate an iteration (many workers, few answers per shard: see the
module docs of ``crowdagg::shard`` and BENCHMARKS.md); the default stays ``driver``.

``run(engine, sources, driver)`` is the engine-independent loop; ``RayEngine`` and
``DaskEngine`` are the adapters; ``python -m crowdagg.distributed`` is the command line.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field

import numpy as np

from crowdagg._core import Driver, Owner, Shard, Table

__all__ = [
    "DaskEngine",
    "Driver",
    "Owner",
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
        self.owners: dict[int, Owner] = {}

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

    # The reduce-scatter: the host's shards split their statistics by worker range, and the
    # host owns some ranges.

    def init_scattered(self, owners: int) -> tuple:
        """(heads, range 0's slices, …, range R-1's slices), each a dict by shard index."""
        return _by_range((i, shard.init_scattered(owners)) for i, shard in self.shards.items())

    def step_scattered(self, model: np.ndarray, owners: int) -> tuple:
        model = _aligned(model, np.float64)
        return _by_range(
            (i, shard.step_scattered(model, owners)) for i, shard in self.shards.items()
        )

    def own(self, run: tuple, owners: int, ranges, answers=None) -> None:
        """Becomes the owner of worker ranges ``ranges`` of ``owners`` in the run ``run``
        (``(method, params, sizes)``, from ``_run_of``: no codes); a rebuilt owner gets
        ``answers`` (range → ``Driver.owner_answers``)."""
        method, params, sizes = run
        self.owners = {r: Owner(method, params, *sizes, owners, r) for r in ranges}
        for r, counts in (answers or {}).items():
            self.owners[r].restore(_aligned(counts, np.float64))

    def reduce(self, r: int, *parts: dict[int, np.ndarray]) -> np.ndarray:
        """Range ``r``'s slices from every host → its model slice (slices in shard order)."""
        merged: dict[int, np.ndarray] = {}
        for part in parts:
            merged.update(part)
        return self.owners[r].reduce([_aligned(merged[i], np.float64) for i in sorted(merged)])

    def pid(self) -> int:
        import os

        return os.getpid()

    def peak_rss(self) -> int:
        """This process's peak resident set (bytes): ``VmHWM`` of ``/proc/self/status``."""
        return peak_rss()

    def cpu_seconds(self) -> float:
        """This process's CPU time so far (user + system), every thread of it."""
        return time.process_time()

    def crash(self) -> None:
        """Ends the process (tests of recovery)."""
        import os

        os._exit(1)

    def stall(self, seconds: float) -> None:
        """Blocks this host for ``seconds`` while its process stays alive (tests of timeouts)."""
        time.sleep(seconds)


def _run_of(source: ShardSource) -> tuple:
    """What an owner needs of the run: ``(method, params, sizes)``. Not the source itself: its
    code arrays (one shard's answers, hundreds of MB at 10^8) would ship to every host."""
    return source.method, list(source.params), tuple(source.sizes)


def _by_range(parts) -> tuple:
    """(shard, (head, slices)) pairs → (heads, range 0's slices, …) dicts by shard index."""
    heads: dict[int, np.ndarray] = {}
    by_range: list[dict[int, np.ndarray]] = []
    for i, (head, slices) in parts:
        heads[i] = head
        by_range += [{} for _ in range(len(slices) - len(by_range))]
        for r, piece in enumerate(slices):
            by_range[r][i] = piece
    return (heads, *by_range)


def start_local_ray(processes: int = 2) -> None:
    """``ray.init`` on this machine's loopback only: ``processes`` CPUs, no dashboard, no token
    (``RAY_AUTH_MODE=disabled`` unless set), worker logs kept out of the driver's output.

    On Linux, Ray replaces a loopback ``_node_ip_address`` by the machine's outward address
    (``resolve_ip_for_localhost``), and its GCS, raylet and workers then listen on every
    interface, unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is off when ``ray`` is first
    imported. This turns it off (unless set) before importing ``ray``, and refuses, with a
    ``RuntimeError``, a cluster that did not come up on 127.0.0.1 (``ray`` imported earlier
    with the variable unset)."""
    import os

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    ray.init(
        _node_ip_address="127.0.0.1",
        num_cpus=processes,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    address = ray.util.get_node_ip_address()
    if address != "127.0.0.1":
        ray.shutdown()
        raise RuntimeError(
            f"Ray started on {address}, not on loopback: set "
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before ray is imported"
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


def run(
    engine,
    sources: Sequence[ShardSource],
    driver: Driver,
    *,
    crash_after=None,
    reduce: str = "driver",
    owners: int | None = None,
):
    """The EM loop on ``engine`` (an adapter with ``start``, ``call``, ``rebuild``, ``crash``):
    returns the driver's result dict. ``crash_after=(iteration, host)`` ends that host's process
    after that iteration (a recovery test); any lost host is rebuilt and the loop goes on.
    ``reduce="scatter"``: the per-worker statistics go to ``owners`` owners (default: one per
    host process) instead of the driver (Dawid-Skene and one-coin DS; same bits)."""
    if reduce not in ("driver", "scatter"):
        raise ValueError(f"reduce={reduce!r}: driver or scatter")
    if reduce == "scatter" and not driver.scatters:
        # Up front: a vote's shards would refuse the split only once built, in the workers.
        method = sources[0].method if sources else "this method"
        raise ValueError(f'reduce="scatter": {method} has no per-worker tables to scatter')
    if owners is not None and reduce == "scatter":
        # The bounds of crowdagg::shard::check_owners, here so that a bad count fails before
        # any host is built.
        driver.worker_ranges(owners)
    n = len(sources)
    stats = Stats()
    started = time.perf_counter()
    engine.start(sources, reduce)
    # Waits for the hosts to be built (Ray builds them asynchronously).
    cpu_before = [*engine.call("cpu_seconds"), time.process_time()]
    built = time.perf_counter()
    if reduce == "scatter":
        engine.own(len(engine.hosts) if owners is None else owners)
        model = driver.update_scattered(*engine.scatter_pass("init_scattered", n))
    else:
        model = driver.update(_in_order(engine.call("init"), n))
    while model is not None:
        if crash_after is not None and stats.iterations == crash_after[0]:
            engine.crash(crash_after[1])
            crash_after = None
        if reduce == "scatter":
            pair = engine.scatter_pass("step_scattered", n, model, recover=(driver, stats))
            stats.iterations += 1
            model = driver.update_scattered(*pair)
            continue
        parts = engine.call("step", model, recover=(driver, stats))
        stats.iterations += 1
        model = driver.update(_in_order(parts, n))
    looped = time.perf_counter()
    cpu_after = [*engine.call("cpu_seconds"), time.process_time()]
    result = driver.finish(_in_order(engine.call("posteriors"), n))
    # Each host process's peak resident set, in host order (bytes).
    result["host_peak_rss"] = list(engine.call("peak_rss"))
    result["recoveries"] = stats.recoveries
    # Shipping and building the shards; the EM passes (init + each step, merges, M-steps).
    result["build_s"] = built - started
    result["em_s"] = looped - built
    # CPU seconds of the EM passes: each host process, then the driver (with Dask's
    # in-process scheduler); not Ray's raylet and GCS processes.
    result["em_cpu_s"] = [b - a for a, b in zip(cpu_before, cpu_after, strict=True)]
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
        # The reduce-scatter: owner count and the host of each range (None: driver merge).
        self.owners = 0
        self.owner_of: list[int] | None = None

    def start(self, sources: Sequence[ShardSource], reduce: str = "driver") -> None:
        """Builds the hosts; ``reduce`` says which loop follows (an engine may build them
        differently for a reduce-scatter)."""
        self.sources = sources
        self.owner_of = None
        self.groups = assign(len(sources), self.processes, self.seed)
        self.hosts = [self._new_host(group) for group in self.groups]

    def _group_sources(self, group):
        return [self.sources[i] for i in group]

    def call(self, name: str, *args, recover=None) -> list[dict[int, np.ndarray]]:
        args = self._share(args)
        pending = []
        for host in self.hosts:
            try:
                pending.append(self._submit(host, name, *args))
            except self.lost as error:  # Dask refuses a call to a lost host at once
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
                self._rebuild(h, recover)
                results.append(self._result(self._submit(self.hosts[h], name, *args)))
        return results

    def crash(self, host: int) -> None:
        with contextlib.suppress(*self.lost):  # the process ends mid-call, as intended
            self._result(self._submit(self.hosts[host], "crash"))

    # The reduce-scatter.

    def own(self, owners: int) -> None:
        """Range r of ``owners`` is owned by host ``r % hosts``."""
        self.owners = owners
        self.owner_of = [r % len(self.hosts) for r in range(owners)]
        for h in range(len(self.hosts)):
            self._result(self._own(h))

    def _own(self, h: int, driver: Driver | None = None):
        ranges = [r for r, o in enumerate(self.owner_of) if o == h]
        answers = None
        if driver is not None:
            answers = {r: driver.owner_answers(self.owners, r) for r in ranges}
        run = _run_of(self.sources[0])
        return self._submit(self.hosts[h], "own", run, self.owners, ranges, answers)

    def _rebuild(self, h: int, recover) -> None:
        """Host ``h`` lost: its shards rebuilt and brought back to the driver's iteration, its
        owners rebuilt with the driver's answer counts."""
        driver, stats = recover
        self.hosts[h] = self._new_host(self.groups[h])
        self._restore(h, driver)
        if self.owner_of is not None:
            self._result(self._own(h, driver))
        stats.recoveries.append((stats.iterations, h))

    def _restore(self, h: int, driver: Driver) -> None:
        """Host ``h``'s shards back to the driver's iteration: a shard's step starts from its
        previous one, so a shard that stepped in this pass must be restored to step again."""
        self._result(self._submit(self.hosts[h], "restore", driver.model_before()))

    def scatter_pass(self, name: str, n: int, *args, recover=None):
        """One pass of a reduce-scatter: every host's shards run ``name`` and split their
        statistics; the owners reduce their ranges' slices. Returns (heads in shard order,
        model slices in range order) for ``Driver.update_scattered``."""
        hosts = range(len(self.hosts))
        try:
            shared = (*self._share(args), self.owners)
        except self.lost:
            # A worker left while the arguments were shared (Dask broadcasts them to every
            # worker): no host has stepped yet; the recovery shares them again.
            if recover is None:
                raise
            return self._recover_pass(name, n, args, [None] * len(self.hosts), recover)

        def submit(h):
            try:
                return self._submit_split(h, name, shared)
            except self.lost as error:  # Dask refuses a call to a lost host at once
                return error

        outputs = [submit(h) for h in hosts]
        if not any(isinstance(o, Exception) for o in outputs):
            # Every call submitted at once (the owners' calls wait for their slices), one
            # gather: no round trip in between.
            try:
                return self._gather_pass(n, outputs)
            except self.lost:
                if recover is None:
                    raise
        elif recover is None:
            raise next(o for o in outputs if isinstance(o, Exception))
        return self._recover_pass(name, n, args, outputs, recover)

    def _gather_pass(self, n: int, outputs):
        """Every owner's reduce of ``outputs`` (each host's (head, slices)) submitted, then one
        gather → (heads in shard order, model slices in range order)."""
        reduced = [self._reduce(r, outputs) for r in range(len(self.owner_of))]
        values = self._results([head for head, _ in outputs] + reduced)
        heads = {}
        for part in values[: len(outputs)]:
            heads.update(part)
        model_slices = values[len(outputs) :]
        return _in_order([heads], n), [_aligned(m, np.float64) for m in model_slices]

    def _recover_pass(self, name: str, n: int, args, outputs, recover):
        """A pass that lost a host: the dead hosts (and only they) rebuilt and their shards
        split again; a live host whose split results are lost (``_lost_outputs``: a
        dependency or a copy went with the lost process) restored and split again; the other
        healthy hosts' slices are still where they were (Owner.reduce on step slices keeps no
        state, so every owner reduces again). The arguments (``args``, as passed to
        ``scatter_pass``) are shared again first: the copy a split would read may have gone
        with the lost process (Dask keeps a scattered model on only as many workers as its
        pending tasks need). Repeats while hosts die."""
        outputs = list(outputs)
        for _ in range(len(self.hosts) + 1):
            for h in self._dead_hosts():
                self._rebuild(h, recover)
                outputs[h] = None
            try:
                for h in self._lost_outputs(outputs):
                    self._restore(h, recover[0])
                    outputs[h] = None
                shared = (*self._share(args), self.owners)
                for h, output in enumerate(outputs):
                    if output is None or isinstance(output, Exception):
                        outputs[h] = self._submit_split(h, name, shared)
                return self._gather_pass(n, outputs)
            except self.lost:
                if not self._dead_hosts() and not self._lost_outputs(outputs):
                    raise  # no lost process, no lost result: an error of the pass itself
        raise LostHost("hosts kept dying during one pass")

    def _lost_outputs(self, outputs) -> list[int]:
        """The hosts whose split results in ``outputs`` are lost although the host may live (a
        dependency or a copy went with a lost process): their shards must split again. None
        here: a Ray actor's results are lost only with the actor (``_dead_hosts``)."""
        return []

    def _dead_hosts(self) -> list[int]:
        """The hosts whose process is gone: a call to them fails as lost."""
        dead = []
        for h, host in enumerate(self.hosts):
            try:
                self._result(self._submit(host, "pid"))
            except self.lost:
                dead.append(h)
        return dead

    def _share(self, args):
        """The arguments every host receives (the engine may store them once)."""
        return args

    def _results(self, handles) -> list:
        return [self._result(h) for h in handles]


class RayEngine(_Engine):
    """One Ray actor per process, holding its shards (``ray.init`` must have run).

    ``timeout`` (seconds) bounds every wait for a host, as on Dask: a host whose process is
    alive but stuck (a call that never returns) raises ``ray.exceptions.GetTimeoutError``
    instead of blocking the run, and the dead-host check after a failed pass cannot hang on it.
    """

    def __init__(self, processes: int = 2, seed: int | None = None, timeout: float = 120):
        super().__init__(processes, seed)
        import ray

        self._ray = ray
        self.lost = (ray.exceptions.RayActorError,)
        self.timeout = timeout
        self._actor = ray.remote(num_cpus=0, max_restarts=0)(Host)

    def _new_host(self, group):
        return self._actor.remote(self._group_sources(group))

    def _submit(self, host, name, *args):
        return getattr(host, name).remote(*args)

    def _result(self, handle):
        return self._ray.get(handle, timeout=self.timeout)

    def _results(self, handles) -> list:
        return self._ray.get(list(handles), timeout=self.timeout)

    def _share(self, args):
        # The model once in the object store; every actor reads it from there.
        return [self._ray.put(a) if isinstance(a, np.ndarray) else a for a in args]

    def _submit_split(self, h, name, args):
        """(head ref, [slice ref per range]): the slices stay in the object store until their
        owner's call reads them."""
        refs = getattr(self.hosts[h], name).options(num_returns=1 + self.owners).remote(*args)
        return refs[0], refs[1:]

    def _reduce(self, r, outputs):
        # Object refs as arguments: the owner's actor fetches the slices itself.
        owner = self.hosts[self.owner_of[r]]
        return owner.reduce.remote(r, *[slices[r] for _, slices in outputs])

    def close(self) -> None:
        for host in self.hosts:
            self._ray.kill(host)
        self.hosts = []


#: The hosts of this process, by key (in a Dask worker process: the engine's resident state).
_RESIDENT: dict[str, Host] = {}


class LostHost(RuntimeError):
    """A host's process is gone (or was replaced): it must be rebuilt."""


def _dask_build(key: str, sources: Sequence[ShardSource]) -> int:
    import os

    _RESIDENT[key] = Host(sources)
    return os.getpid()


def _dask_call(key: str, name: str, *args):
    host = _RESIDENT.get(key)
    if host is None:
        raise LostHost(f"host {key} is not in this process")
    return getattr(host, name)(*args)


def _dask_drop(key: str) -> None:
    _RESIDENT.pop(key, None)


def _pick(values: tuple, i: int):
    return values[i]


class DaskEngine(_Engine):
    """One host per worker process (on ``client``'s cluster). For the driver merge, a Dask
    actor (one direct call per pass and host). For a reduce-scatter, a resident host: built by
    a task pinned to its worker and kept there, every call a task pinned to the same worker, so
    results stay in that worker's memory as futures until the driver gathers them or another
    task (an owner's reduce) takes them as arguments, worker to worker (an actor's results
    always come back to the client)."""

    def __init__(self, client, processes: int = 2, seed: int | None = None, timeout: float = 120):
        super().__init__(processes, seed)
        from distributed.scheduler import KilledWorker

        self.client = client
        # A call to a lost actor: RuntimeError ("Worker holding Actor was lost"); a call in
        # flight: a closed connection (OSError) or a killed worker. A resident host whose worker
        # is gone, or a worker that no longer holds it: LostHost (a RuntimeError), as is a
        # future the scheduler cancelled because its data or a dependency was lost (_results).
        self.lost = (RuntimeError, OSError, KilledWorker)
        self.timeout = timeout
        self._generation = 0
        self._actors = True

    def start(self, sources: Sequence[ShardSource], reduce: str = "driver") -> None:
        self._actors = reduce == "driver"
        super().start(sources, reduce)

    def _live(self) -> list[str]:
        """The workers the scheduler has now, asked of it at each call: ``Client.scheduler_info()``
        answers from the client's cached identity, which the client's periodic refresh replaces
        with one that lists no workers (distributed 2026.8), so a read could see none at all."""
        identity = self.client.sync(self.client.scheduler.identity, n_workers=-1)
        return sorted(identity["workers"])

    def _some_live(self) -> list[str]:
        """The live workers, waiting up to the timeout while there are none (a killed worker's
        nanny takes a moment to start another); LostHost if none comes."""
        deadline = time.monotonic() + self.timeout
        while not (live := self._live()):
            if time.monotonic() > deadline:
                raise LostHost("no Dask worker is alive")
            time.sleep(0.05)
        return live

    def _new_host(self, group):
        h = self.groups.index(group)
        # Pin each host to a worker, round robin, so processes share the shards.
        live = self._some_live()
        worker = live[h % len(live)]
        if self._actors:
            future = self.client.submit(
                Host, self._group_sources(group), actor=True, workers=[worker], pure=False
            )
            return future.result(timeout=self.timeout)
        self._generation += 1
        key = f"crowdagg-host-{id(self)}-{h}-{self._generation}"
        self._task(worker, _dask_build, key, self._group_sources(group)).result(
            timeout=self.timeout
        )
        return key, worker

    def _task(self, worker, function, *args):
        return self.client.submit(
            function, *args, workers=[worker], allow_other_workers=False, pure=False
        )

    def _submit(self, host, name, *args):
        if self._actors:
            return getattr(host, name)(*args)
        key, worker = host
        if worker not in self._live():
            raise LostHost(f"worker {worker} is gone")
        return self._task(worker, _dask_call, key, name, *args)

    def _result(self, handle):
        if self._actors:
            return handle.result(timeout=self.timeout)
        return self._results([handle])[0]

    def _results(self, handles) -> list:
        """The values of ``handles``; a lost host's worker raises LostHost at once (its pinned
        tasks would wait for that worker forever: they cannot run elsewhere), and so does a
        future that the scheduler cancelled (``CancelledError``: distributed's
        ``FuturesCancelledError`` and ``FutureCancelledError``): a task submitted after one of
        its dependencies was lost with a worker is cancelled, not computed again."""
        if self._actors:
            return [h.result(timeout=self.timeout) for h in handles]
        from distributed import wait

        handles = list(handles)
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    wait(handles, timeout=0.2)
                    break
                except TimeoutError:
                    live = set(self._live())
                    gone = [w for _, w in self.hosts if w not in live]
                    if gone:
                        raise LostHost(f"worker {gone[0]} is gone") from None
                    if time.monotonic() > deadline:
                        raise
            return self.client.gather(handles)
        except CancelledError as error:
            raise LostHost(f"lost data: {error}") from error

    def _lost_outputs(self, outputs) -> list[int]:
        """The hosts with a head or slice future that is cancelled or lost (the scheduler
        cancels a task whose dependency was lost, and a result in a lost worker's memory is
        lost), or that failed with LostHost."""
        if self._actors:
            return []

        def lost(future) -> bool:
            if future.status in ("cancelled", "lost"):
                return True
            if future.status != "error":
                return False
            return isinstance(future.exception(timeout=self.timeout), LostHost)

        return [
            h
            for h, output in enumerate(outputs)
            if output is not None
            and not isinstance(output, Exception)
            and any(lost(f) for f in (output[0], *output[1]))
        ]

    def _rebuild(self, h: int, recover) -> None:
        if not self._actors:
            # The old host's state, if its worker is still there (a LostHost without a lost
            # process), goes: a rebuilt host has a new key.
            key, worker = self.hosts[h]
            if worker in self._live():
                with contextlib.suppress(Exception):
                    self._task(worker, _dask_drop, key).result(timeout=self.timeout)
        super()._rebuild(h, recover)

    def _share(self, args):
        if self._actors:  # an actor call sends its arguments to the actor's worker directly
            return args
        # The model once on every worker, not inside each task.
        return [
            self.client.scatter(a, broadcast=True, hash=False) if isinstance(a, np.ndarray) else a
            for a in args
        ]

    def _submit_split(self, h, name, args):
        """(head future, [slice future per range]): each part a future of its own, in the
        host's worker memory."""
        whole = self._submit(self.hosts[h], name, *args)
        worker = self.hosts[h][1]
        parts = [self._task(worker, _pick, whole, i) for i in range(1 + self.owners)]
        return parts[0], parts[1:]

    def _reduce(self, r, outputs):
        # Futures as arguments: Dask moves the slices to the owner's worker.
        owner = self.hosts[self.owner_of[r]]
        return self._submit(owner, "reduce", r, *[slices[r] for _, slices in outputs])

    def crash(self, host: int) -> None:
        if self._actors:
            super().crash(host)
            return
        key, worker = self.hosts[host]
        future = self._task(worker, _dask_call, key, "crash")
        deadline = time.monotonic() + self.timeout
        while worker in self._live() and time.monotonic() < deadline:
            time.sleep(0.05)
        future.cancel()

    def close(self) -> None:
        for key, worker in [] if self._actors else self.hosts:
            if worker in self._live():
                with contextlib.suppress(Exception):
                    self._task(worker, _dask_drop, key).result(timeout=self.timeout)
        self.hosts = []

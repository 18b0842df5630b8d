"""The crowd-kit side's timing line, shared by scripts/bench_{pairwise,texts,segmentation}.py."""

from __future__ import annotations

import time
from collections.abc import Callable


def time_fit(name: str, fit: Callable[[], object], rows: int, groups: int) -> None:
    """Runs ``fit`` once and prints ``name,wall_s,cpu_s,rows,groups`` (groups: tasks or items)."""
    start, cpu = time.perf_counter(), time.process_time()
    fit()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{name},{wall:.3f},{cpu:.3f},{rows},{groups}", flush=True)

"""Side-by-side data and crowd-kit timings for scripts/bench_pairwise.sh.

python bench_pairwise.py generate DIR N   writes DIR/comparisons.csv: N comparisons of N/100 items
                                          (true scores ~ N(0, 1)) by 100 workers, each right with
                                          the Bradley-Terry probability, a fifth of the workers
                                          answering at random
python bench_pairwise.py crowdkit DIR [METHODS]   fits crowd-kit 1.4.2's BradleyTerry(n_iter=100)
                                          and NoisyBradleyTerry() once each; prints
                                          method,wall seconds,CPU seconds,rows,items (load excluded)
"""

import sys
from pathlib import Path

import numpy as np
from bench_timing import time_fit


def generate(directory, n):
    rng = np.random.default_rng(11)
    directory.mkdir(parents=True, exist_ok=True)
    items = max(n // 100, 10)
    score = rng.normal(0, 1, items)
    left = rng.integers(items, size=n)
    right = (left + 1 + rng.integers(items - 1, size=n)) % items
    worker = rng.integers(100, size=n)
    p_left = 1 / (1 + np.exp(score[right] - score[left]))
    p_left = np.where(worker % 5 == 0, 0.5, p_left)
    left_wins = rng.random(n) < p_left
    with open(directory / "comparisons.csv", "w") as f:
        f.write("worker,left,right,label\n")
        f.writelines(
            f"w{w},i{a},i{b},i{a if win else b}\n"
            for w, a, b, win in zip(worker, left, right, left_wins)
        )


def crowdkit(directory):
    import pandas as pd
    from crowdkit.aggregation import BradleyTerry, NoisyBradleyTerry

    data = pd.read_csv(directory / "comparisons.csv", dtype=str)
    runs = [
        ("BradleyTerry", lambda: BradleyTerry(n_iter=100).fit(data)),
        ("NoisyBradleyTerry", lambda: NoisyBradleyTerry().fit(data)),
    ]
    only = sys.argv[3:] or [name for name, _ in runs]
    items = len(set(data.left) | set(data.right))
    for name, fit in runs:
        if name not in only:
            continue
        time_fit(name, fit, len(data), items)


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        crowdkit(Path(sys.argv[2]))

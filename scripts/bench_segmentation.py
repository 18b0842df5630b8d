"""Side-by-side data and crowd-kit timings for scripts/bench_segmentation.sh.

python bench_segmentation.py generate DIR TASKS   writes DIR/masks.csv (task,worker rows) and
                                                  DIR/masks.bin (the 512x512 masks, one byte per
                                                  pixel, 0/1, rows of masks.csv in order):
                                                  TASKS images x 5 workers, noisy shifted ellipses
python bench_segmentation.py crowdkit DIR         fits crowd-kit 1.4.2's SegmentationMajorityVote,
                                                  SegmentationRASA and SegmentationEM (defaults)
                                                  once each; prints method,wall,cpu,masks,tasks
"""

import csv
import sys
from pathlib import Path

import numpy as np
from bench_timing import time_fit

H = W = 512


def generate(directory, tasks):
    rng = np.random.default_rng(11)
    directory.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:H, 0:W]
    with (
        open(directory / "masks.csv", "w", newline="") as f,
        open(directory / "masks.bin", "wb") as b,
    ):
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["task", "worker"])
        for t in range(tasks):
            cy, cx, ry, rx = (
                rng.uniform(150, 350),
                rng.uniform(150, 350),
                rng.uniform(40, 140),
                rng.uniform(40, 140),
            )
            truth = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
            for w in rng.choice(20, size=5, replace=False):
                m = np.roll(truth, tuple(int(v) for v in rng.integers(-8, 9, 2)), axis=(0, 1))
                m ^= rng.random((H, W)) < 0.02
                out.writerow([f"img{t}", f"w{w}"])
                b.write(m.astype(np.uint8).tobytes())


def crowdkit(directory):
    import pandas as pd
    from crowdkit.aggregation import SegmentationEM, SegmentationMajorityVote, SegmentationRASA

    rows = pd.read_csv(directory / "masks.csv", dtype=str)
    masks = (
        np.fromfile(directory / "masks.bin", dtype=np.uint8).reshape(len(rows), H, W).astype(bool)
    )
    rows["segmentation"] = list(masks)
    for name, model in [
        ("SegmentationMajorityVote", SegmentationMajorityVote()),
        ("SegmentationRASA", SegmentationRASA()),
        ("SegmentationEM", SegmentationEM()),
    ]:
        time_fit(name, lambda model=model: model.fit_predict(rows), len(rows), rows.task.nunique())


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        crowdkit(Path(sys.argv[2]))

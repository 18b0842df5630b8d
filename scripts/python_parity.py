#!/usr/bin/env python3
"""Parity of crowdagg's Python classes with crowd-kit 1.4.2 on every categorical dataset of
$DATASETS_DIR (default fixtures/data; any folder of datasets in the same layout; a development aid, not a
test): per dataset and method, the share of equal labels and the largest |Δ probability|.

    $(scripts/reference-env.sh) scripts/python_parity.py [--methods DawidSkene,MajorityVote]
(with crowdagg installed in that venv: pip install ./crowdagg-py)
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

import numpy as np
import pandas as pd
from crowdkit import aggregation as ck

import crowdagg

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATASETS = pathlib.Path(os.environ.get("DATASETS_DIR", ROOT / "fixtures" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", default="MajorityVote,DawidSkene,OneCoinDawidSkene,Wawa")
    args = parser.parse_args()
    print("| dataset | method | labels equal | max abs dp | s crowd-kit | s crowdagg |")
    print("|---|---|---|---|---|---|")
    for path in sorted(p for p in DATASETS.iterdir() if (p / "responses.csv").exists()):
        if path.name in ("emotion", "multilabel"):  # not single-label classification
            continue
        df = pd.read_csv(path / "responses.csv", dtype=str)
        for method in args.methods.split(","):
            start = time.perf_counter()
            theirs = getattr(ck, method)()
            expected = theirs.fit_predict(df)
            ck_s = time.perf_counter() - start
            start = time.perf_counter()
            ours = getattr(crowdagg, method)()
            labels = ours.fit_predict(df)
            ours_s = time.perf_counter() - start
            equal = (labels.sort_index() == expected.sort_index()).mean()
            dp = float("nan")
            if getattr(theirs, "probas_", None) is not None:
                a = ours.probas_.sort_index().sort_index(axis=1).to_numpy()
                b = theirs.probas_.sort_index().sort_index(axis=1).to_numpy()
                dp = float(np.max(np.abs(a - b)))
            print(
                f"| {path.name} | {method} | {equal:.4f} | {dp:.1e} | {ck_s:.2f} | {ours_s:.3f} |"
            )


if __name__ == "__main__":
    main()

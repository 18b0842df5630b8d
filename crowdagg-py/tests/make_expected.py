"""Writes crowd-kit 1.4.2's outputs on the bundled datasets to fixtures/python/, the expected
values of test_dropin.py in every environment (crowd-kit itself no longer agrees with its own
pandas-2 results under pandas 3, so it is run once, in the pinned pandas-2 reference venv).

    $(scripts/reference-env.sh) crowdagg-py/tests/make_expected.py     (from the repository root)
"""

from __future__ import annotations

import json
import pathlib

import crowdkit
import pandas as pd
from crowdkit import aggregation as ck

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "fixtures" / "data"
OUT = ROOT / "fixtures" / "python"

# (class, constructor arguments, datasets)
RUNS = [
    ("MajorityVote", {}, ["rte", "dog", "web"]),
    ("Wawa", {}, ["rte", "dog", "web"]),
    ("ZeroBasedSkill", {}, ["rte", "dog"]),
    ("DawidSkene", {"n_iter": 100}, ["rte", "dog", "web"]),
    ("OneCoinDawidSkene", {"n_iter": 100}, ["rte", "dog"]),
    ("MMSR", {}, ["rte", "dog"]),
]


def number(x: float) -> float:
    return float(f"{x:.12g}")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, params, datasets in RUNS:
        for dataset in datasets:
            df = pd.read_csv(DATA / dataset / "responses.csv", dtype=str)
            model = getattr(ck, name)(**params)
            labels = model.fit_predict(df)
            record = {
                "crowd_kit": crowdkit.__version__ if hasattr(crowdkit, "__version__") else "1.4.2",
                "pandas": pd.__version__,
                "class": name,
                "params": params,
                "labels": {str(t): str(v) for t, v in labels.items()},
            }
            probas = getattr(model, "probas_", None)
            if probas is not None:
                record["probas"] = {
                    str(t): {str(c): number(v) for c, v in row.items()}
                    for t, row in probas.iterrows()
                }
            skills = getattr(model, "skills_", None)
            if skills is not None:
                record["skills"] = {str(w): number(v) for w, v in skills.items()}
            priors = getattr(model, "priors_", None)
            if priors is not None:
                record["priors"] = {str(c): number(v) for c, v in priors.items()}
            if name == "DawidSkene" and dataset == "dog":
                record["errors"] = [
                    [str(w), str(l), {str(c): number(v) for c, v in row.items()}]
                    for (w, l), row in model.errors_.iterrows()
                ]
                record["loss_history"] = [number(v) for v in model.loss_history_]
            path = OUT / f"{dataset}_{name}.json"
            path.write_text(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
            print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()

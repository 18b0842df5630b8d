#!/usr/bin/env python3
"""Run crowd-kit 1.4.2 DawidSkene / OneCoinDawidSkene and write the outputs as JSON.

Like scripts/crowdkit_reference.py (same JSON schema), plus `initial_error`:

    ds_reference.py METHOD responses.csv --out ref.json [--params JSON] [--gold gold.csv]
        [--initial-error errors.csv --strategy assign|addition]

errors.csv has the header worker,observed,true,value (long format; missing cells are 0).
Labels are read as integers when every label is an integer, else as strings.
"""

import argparse
import json
import time

import pandas as pd
from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene


def natural(column):
    return column.astype("int64") if column.str.fullmatch(r"[+-]?\d+").all() else column


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("method", choices=["DawidSkene", "OneCoinDawidSkene"])
    ap.add_argument("responses")
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", default="{}")
    ap.add_argument("--gold")
    ap.add_argument("--initial-error")
    ap.add_argument("--strategy", choices=["assign", "addition"])
    args = ap.parse_args()

    data = pd.read_csv(args.responses, dtype=str, keep_default_na=False)[
        ["task", "worker", "label"]
    ]
    data["label"] = natural(data["label"])
    numeric = data["label"].dtype == "int64"
    params = json.loads(args.params)
    fit_args = {}
    if args.strategy:
        params["initial_error_strategy"] = args.strategy
    if args.gold:
        gold = pd.read_csv(args.gold, dtype=str, keep_default_na=False)
        if numeric:
            gold["label"] = gold["label"].astype("int64")
        fit_args["true_labels"] = gold.set_index("task")["label"]
    if args.initial_error:
        long = pd.read_csv(args.initial_error, dtype={"worker": str, "observed": str, "true": str})
        if numeric:
            long["observed"] = long["observed"].astype("int64")
            long["true"] = long["true"].astype("int64")
        wide = long.pivot_table(
            index=["worker", "observed"],
            columns="true",
            values="value",
            aggfunc="sum",
            fill_value=0.0,
        )
        wide.index.names = ["worker", "label"]
        wide.columns.name = None
        fit_args["initial_error"] = wide
    model = (DawidSkene if args.method == "DawidSkene" else OneCoinDawidSkene)(**params)
    start = time.perf_counter()
    labels = model.fit_predict(data, **fit_args)
    seconds = time.perf_counter() - start

    errors = {}
    for (worker, observed), row in model.errors_.iterrows():
        errors.setdefault(str(worker), {})[str(observed)] = {
            str(c): float(v) for c, v in row.items()
        }
    skills = getattr(model, "skills_", None)
    out = {
        "method": args.method,
        "params": params,
        "seconds": seconds,
        "labels": {str(t): str(l) for t, l in labels.items()},
        "probas": {
            str(t): {str(c): float(v) for c, v in row.items()}
            for t, row in model.probas_.iterrows()
        },
        "skills": None if skills is None else {str(w): float(s) for w, s in skills.items()},
        "errors": errors,
        "priors": {str(c): float(v) for c, v in model.priors_.items()},
        "loss_history": [float(x) for x in model.loss_history_],
        "n_iter_run": len(model.loss_history_),
    }
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()

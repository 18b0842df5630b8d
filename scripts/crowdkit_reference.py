#!/usr/bin/env python3
"""Run one crowd-kit aggregator on a responses CSV and write its outputs as JSON.

The point is parity checking: run the same data through this project and through
crowd-kit, then compare labels, probabilities, skills and iteration counts.

Usage (with the reference environment from scripts/reference-env.sh):
    PY=$(scripts/reference-env.sh)
    $PY scripts/crowdkit_reference.py METHOD responses.csv --out ref.json \
        [--params '{"n_iter": 100}'] [--gold gold.csv] [--skills skills.csv]

responses.csv has the header task,worker,label (extra columns are ignored);
gold.csv has task,label; skills.csv has worker,skill (for majority-vote with skills).
Task and worker ids are read as strings. Labels are read as integers when every label
is an integer (so ties and label order follow numeric order, 2 < 10), otherwise as strings.

METHOD is one of: MajorityVote GoldMajorityVote Wawa ZeroBasedSkill DawidSkene
OneCoinDawidSkene GLAD MMSR MACE KOS.

Output JSON:
    {"method", "params", "seconds", "labels": {task: label},
     "probas": {task: {label: p}} | null, "skills": {worker: s} | null,
     "errors": {worker: {observed: {true: p}}} | null, "priors": {label: p} | null,
     "loss_history": [...] | null, "n_iter_run": int | null}
"""

import argparse
import json
import sys
import time

import pandas as pd
from crowdkit import aggregation as agg

METHODS = {
    "MajorityVote": agg.MajorityVote,
    "GoldMajorityVote": agg.GoldMajorityVote,
    "Wawa": agg.Wawa,
    "ZeroBasedSkill": agg.ZeroBasedSkill,
    "DawidSkene": agg.DawidSkene,
    "OneCoinDawidSkene": agg.OneCoinDawidSkene,
    "GLAD": agg.GLAD,
    "MMSR": agg.MMSR,
    "MACE": agg.MACE,
    "KOS": agg.KOS,
}


def read_csv(path, columns):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        sys.exit(f"{path}: missing columns {missing}")
    return frame[columns]


def natural_labels(column):
    """Integers when every label is an integer, else the strings as given."""
    if column.str.fullmatch(r"[+-]?\d+").all():
        return column.astype("int64")
    return column


def series_dict(series, value=float):
    return None if series is None else {str(k): value(v) for k, v in series.items()}


def frame_dict(frame):
    if frame is None:
        return None
    return {str(i): {str(c): float(v) for c, v in row.items()} for i, row in frame.iterrows()}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("responses")
    parser.add_argument("--out", required=True)
    parser.add_argument("--params", default="{}", help="constructor arguments as JSON")
    parser.add_argument(
        "--gold",
        help="gold labels CSV (task,label): GoldMajorityVote's fit target, DawidSkene's true_labels",
    )
    parser.add_argument("--skills", help="worker skills CSV (worker,skill) for MajorityVote")
    args = parser.parse_args()

    params = json.loads(args.params)
    data = read_csv(args.responses, ["task", "worker", "label"])
    data["label"] = natural_labels(data["label"])
    model = METHODS[args.method](**params)

    fit_args = {}
    if args.gold:
        gold = read_csv(args.gold, ["task", "label"])
        if data["label"].dtype == "int64":
            gold["label"] = gold["label"].astype("int64")
        gold = gold.set_index("task")["label"]
        if args.method == "GoldMajorityVote" or args.method == "DawidSkene":
            fit_args["true_labels"] = gold
    if args.skills:
        skills = (
            read_csv(args.skills, ["worker", "skill"]).set_index("worker")["skill"].astype(float)
        )
        fit_args["skills"] = skills

    start = time.perf_counter()
    if args.method == "GoldMajorityVote":
        model.fit(data, fit_args.pop("true_labels"))
        labels = model.predict(data)
    elif args.method == "MMSR":
        labels = model.fit_predict(data)
    else:
        labels = model.fit_predict(data, **fit_args)
    seconds = time.perf_counter() - start

    probas = getattr(model, "probas_", None)
    if probas is None and hasattr(model, "predict_proba") and args.method != "MMSR":
        try:
            probas = model.predict_proba(data)
        except Exception:  # noqa: BLE001 - some aggregators have no probabilities
            probas = None
    errors = getattr(model, "errors_", None)
    errors_out = None
    if isinstance(errors, pd.DataFrame) and isinstance(errors.index, pd.MultiIndex):
        errors_out = {}
        for (worker, observed), row in errors.iterrows():
            errors_out.setdefault(str(worker), {})[str(observed)] = {
                str(c): float(v) for c, v in row.items()
            }
    loss = getattr(model, "loss_history_", None)
    out = {
        "method": args.method,
        "params": params,
        "seconds": seconds,
        "labels": series_dict(labels, str),
        "probas": frame_dict(probas),
        "skills": series_dict(getattr(model, "skills_", None)),
        "errors": errors_out,
        "priors": series_dict(getattr(model, "priors_", None)),
        "loss_history": None if loss is None else [float(x) for x in loss],
        "n_iter_run": None if not loss else len(loss),
    }
    with open(args.out, "w") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main()

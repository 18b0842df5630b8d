#!/usr/bin/env python3
"""Parity table of crowdagg's DawidSkene / OneCoinDawidSkene against crowd-kit 1.4.2 on every
categorical dataset of $DATASETS_DIR (default fixtures/data; point it at a folder of more
datasets in the same layout for a wider table), default parameters. A development aid, not a test.

    $(scripts/reference-env.sh) scripts/ds_parity.py   (from the crate root)

Per dataset and method: labels equal (on tasks whose crowd-kit top-two margin > 1e-9, and the
number of tasks excluded as near-ties), max |Δp|, max |Δ loss|, iterations ours / crowd-kit.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = os.environ.get("DATASETS_DIR", os.path.join(ROOT, "fixtures", "data"))
OUT = os.environ.get("OUT", "/tmp/crowdagg-parity")


def main():
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(
        ["cargo", "build", "--release", "--example", "ds_dump"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    dump = os.path.join(ROOT, "target", "release", "examples", "ds_dump")
    names = sorted(
        d
        for d in os.listdir(DATASETS)
        if d not in ("emotion", "multilabel") and os.path.isdir(os.path.join(DATASETS, d))
    )
    print(
        "| dataset | method | labels equal | near-ties skipped | max abs dp | max abs dloss | iterations ours / crowd-kit |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in names:
        csv = os.path.join(DATASETS, name, "responses.csv")
        for method, flag in [("DawidSkene", "ds"), ("OneCoinDawidSkene", "ocds")]:
            ref_path = os.path.join(OUT, f"{name}_{flag}.json")
            if not os.path.exists(ref_path):
                subprocess.run(
                    [
                        sys.executable,
                        os.path.join(ROOT, "scripts", "ds_reference.py"),
                        method,
                        csv,
                        "--out",
                        ref_path,
                    ],
                    check=True,
                )
            with open(ref_path) as f:
                ref = json.load(f)
            ours = json.loads(
                subprocess.run([dump, csv, flag], check=True, capture_output=True, text=True).stdout
            )
            equal = total = skipped = 0
            max_dp = 0.0
            for task, probas in ref["probas"].items():
                mine = ours["probas"][task]
                for label, p in probas.items():
                    max_dp = max(max_dp, abs(mine[label] - p))
                top = sorted(probas.values(), reverse=True)
                if len(top) > 1 and top[0] - top[1] <= 1e-9:
                    skipped += 1
                    continue
                total += 1
                equal += ours["labels"][task] == ref["labels"][task]
            dloss = max(abs(a - b) for a, b in zip(ours["loss_history"], ref["loss_history"]))
            print(
                f"| {name} | {method} | {equal}/{total} | {skipped} | {max_dp:.2e} | {dloss:.2e} "
                f"| {ours['n_iter_run']} / {ref['n_iter_run']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

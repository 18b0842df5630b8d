"""One crowd-kit 1.4.2 aggregation as a user runs it, for end-to-end timing by the caller.

    python scripts/crowdkit_e2e.py CLASS INPUT.csv OUTPUT.csv

Imports, reads the CSV with pandas, fits CLASS (crowdkit.aggregation, default parameters),
writes the labels as CSV `task,label`. Prints `iterations=N` to stderr: len(loss_history_)
where the class keeps one, else `n_restarts x n_iter` (MACE) or `n_iter`, else `-`.
"""

import sys

import pandas as pd
from crowdkit import aggregation


def main() -> None:
    name, source, target = sys.argv[1:4]
    data = pd.read_csv(source, dtype={"task": str, "worker": str})
    model = getattr(aggregation, name)()
    labels = model.fit_predict(data)
    labels.rename("label").to_csv(target, index_label="task")
    loss = getattr(model, "loss_history_", None)
    if loss:
        iterations = str(len(loss))
    elif name == "MACE":
        iterations = f"{model.n_restarts}x{model.n_iter}"
    else:
        iterations = str(getattr(model, "n_iter", "-"))
    print(f"iterations={iterations}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Paired A/B of whole `crowdagg aggregate` processes, for a VM too noisy for `e2e_ab.sh`.

    python3 scripts/paired_ab.py FILE METHOD ITERATIONS BASE_BIN NEW_BIN

Each iteration runs both binaries once, alternating which goes first, so that both see the
same moment of the machine; the wall time of each process is taken around
`subprocess.run` (its start and end included). Prints each binary's quantiles, then the
median and mean of the per-iteration differences NEW - BASE: the figure to read when the
machine's speed drifts between batches by more than the change measured.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    path, method, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    binaries = sys.argv[4:6]
    walls: dict[str, list[float]] = {b: [] for b in binaries}
    with tempfile.TemporaryDirectory() as out:
        for i in range(iterations):
            for k, binary in enumerate(binaries if i % 2 == 0 else binaries[::-1]):
                target = Path(out) / f"{k}.csv"
                command = [binary, "aggregate", "-m", method, "-o", str(target), path]
                start = time.perf_counter()
                subprocess.run(command, check=True)
                walls[binary].append((time.perf_counter() - start) * 1e3)
    for binary, values in walls.items():
        values = sorted(values)
        quantile = [values[int(q * (len(values) - 1))] for q in (0, 0.25, 0.5, 0.75)]
        print(
            f"{binary}: min {quantile[0]:.1f} p25 {quantile[1]:.1f} median {quantile[2]:.1f} "
            f"p75 {quantile[3]:.1f} mean {statistics.mean(values):.1f} ms"
        )
    base, new = (walls[b] for b in binaries)
    differences = [n - b for b, n in zip(base, new)]
    print(
        f"paired NEW - BASE over {iterations} iterations: "
        f"median {statistics.median(differences):+.2f} ms, mean {statistics.mean(differences):+.2f} ms"
    )


if __name__ == "__main__":
    main()

"""Side-by-side data and crowd-kit timings for scripts/bench_texts.sh.

python bench_texts.py generate DIR N     writes DIR/embeddings.csv (N rows: N/5 tasks x 5 of 100
                                         workers, 16-dim, sentence outputs) and DIR/texts.csv
                                         (N rows: N/5 tasks x 5 texts of about 12 words)
python bench_texts.py crowdkit DIR [METHODS]  fits crowd-kit 1.4.2's ClosestToAverage (Euclidean),
                                         RASA, TextRASA (encoder: a lookup of the outputs'
                                         embeddings), HRRASA and ROVER (split(" ")) once each; prints
                                         method,seconds,rows,tasks (CSV load excluded)
"""

import csv
import json
import sys
from pathlib import Path

import numpy as np
from bench_timing import time_fit

DIM = 16
VOCAB = "a i the of to and in is it you that he was for on are as with his they at be this from have or by one had not".split()


def sentence(rng, words):
    out = [w if rng.random() > 0.2 else VOCAB[rng.integers(len(VOCAB))] for w in words]
    return " ".join(out)


def generate(directory, n):
    rng = np.random.default_rng(7)
    directory.mkdir(parents=True, exist_ok=True)
    workers = [f"w{i}" for i in range(100)]
    sigma = rng.uniform(0.05, 2.0, len(workers))
    with (
        open(directory / "embeddings.csv", "w", newline="") as f,
        open(directory / "texts.csv", "w", newline="") as g,
    ):
        e = csv.writer(f, lineterminator="\n")
        x = csv.writer(g, lineterminator="\n")
        e.writerow(["task", "worker", "output", "embedding"])
        x.writerow(["task", "worker", "text"])
        for t in range(n // 5):
            centre = rng.normal(0, 1, DIM)
            words = [VOCAB[j] for j in rng.integers(len(VOCAB), size=12)]
            for w in rng.choice(len(workers), size=5, replace=False):
                v = centre + rng.normal(0, sigma[w], DIM)
                e.writerow(
                    [
                        f"t{t}",
                        workers[w],
                        sentence(rng, words),
                        json.dumps([round(float(a), 6) for a in v]),
                    ]
                )
                x.writerow([f"t{t}", workers[w], sentence(rng, words)])


def crowdkit(directory):
    import pandas as pd
    from crowdkit.aggregation import HRRASA, RASA, ROVER, ClosestToAverage, TextRASA

    emb = pd.read_csv(directory / "embeddings.csv", dtype=str, keep_default_na=False)
    emb["embedding"] = emb["embedding"].map(lambda s: np.array(json.loads(s)))
    texts = pd.read_csv(directory / "texts.csv", dtype=str, keep_default_na=False)
    lookup = dict(zip(emb["output"], emb["embedding"]))
    runs = [
        (
            "ClosestToAverage",
            lambda: ClosestToAverage(distance=lambda a, b: float(np.linalg.norm(a - b))).fit(emb),
            emb,
        ),
        ("RASA", lambda: RASA().fit_predict(emb), emb),
        # TextRASA's encoder: a lookup of each output's embedding (the clock includes the
        # encoding, as crowd-kit's fit does it).
        (
            "TextRASA",
            lambda: TextRASA(encoder=lookup.__getitem__).fit_predict(
                emb[["task", "worker", "output"]].rename(columns={"output": "text"}), None
            ),
            emb,
        ),
        ("HRRASA", lambda: HRRASA().fit_predict(emb), emb),
        (
            "ROVER",
            lambda: ROVER(
                tokenizer=lambda s: s.split(" "), detokenizer=lambda t: " ".join(t)
            ).fit_predict(texts),
            texts,
        ),
    ]
    only = sys.argv[3:] or [name for name, _, _ in runs]
    for name, fit, data in runs:
        if name not in only:
            continue
        time_fit(name, fit, len(data), data.task.nunique())


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        crowdkit(Path(sys.argv[2]))

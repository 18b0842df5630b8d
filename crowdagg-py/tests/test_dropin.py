"""crowdagg's Python classes against crowd-kit 1.4.2 on real data and on the input dtypes users
have. Expected values are crowd-kit's own outputs on the bundled datasets, recorded in the pinned
pandas-2 environment by make_expected.py (fixtures/python/): crowd-kit under pandas 3 no longer
reproduces them (its tie order and scikit-learn checks changed), while a drop-in must, in both."""

from __future__ import annotations

import json
import math
import pathlib

import pandas as pd
import pytest

import crowdagg

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "fixtures" / "data"
EXPECTED = ROOT / "fixtures" / "python"


def responses(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name / "responses.csv", dtype=str)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


CASES = sorted(path.stem for path in EXPECTED.glob("*.json"))


@pytest.mark.parametrize("case", CASES)
def test_outputs_equal_crowdkit(case: str) -> None:
    expected = json.loads((EXPECTED / f"{case}.json").read_text())
    dataset = case.split("_")[0]
    model = getattr(crowdagg, expected["class"])(**expected["params"])
    labels = model.fit_predict(responses(dataset))
    assert {str(t): str(v) for t, v in labels.items()} == expected["labels"]
    if "probas" in expected:
        ours = {str(t): {str(c): v for c, v in row.items()} for t, row in model.probas_.iterrows()}
        assert ours.keys() == expected["probas"].keys()
        for task, row in expected["probas"].items():
            assert all(close(ours[task][c], v) for c, v in row.items()), task
    if "skills" in expected:
        ours = {str(w): v for w, v in model.skills_.items()}
        assert ours.keys() == expected["skills"].keys()
        assert all(close(ours[w], v) for w, v in expected["skills"].items())
    if "priors" in expected:
        ours = {str(c): v for c, v in model.priors_.items()}
        assert all(close(ours[c], v) for c, v in expected["priors"].items())
    if "errors" in expected:
        # The same rows (observed (worker, label) pairs only) with the same values; crowd-kit's
        # row order comes from its internal joins, so rows are matched by key.
        ours = {(str(w), str(l)): row for (w, l), row in model.errors_.iterrows()}
        assert ours.keys() == {(w, l) for w, l, _ in expected["errors"]}
        for w, l, cells in expected["errors"]:
            row = {str(c): v for c, v in ours[(w, l)].items()}
            assert all(close(row[c], v) for c, v in cells.items()), (w, l)
        assert all(
            close(a, b) for a, b in zip(model.loss_history_, expected["loss_history"], strict=True)
        )


@pytest.mark.parametrize(
    "labels",
    [
        ["yes", "no", "yes", "no", "no", "yes"],
        [1, 0, 1, 0, 0, 1],
        [True, False, True, False, False, True],
        pd.Categorical(["b", "a", "b", "a", "a", "b"]),
    ],
    ids=["str", "int", "bool", "categorical"],
)
def test_label_dtype_is_kept(labels) -> None:
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": labels})
    result = crowdagg.DawidSkene(10).fit_predict(df)
    assert result.name == "agg_label" and result.index.name == "task"
    values = pd.Series(labels)
    assert result.dtype == values.dtype
    # Majorities: task 1 -> the label of rows 0 and 2, task 2 -> the label of rows 3 and 4.
    assert list(result) == [values[0], values[3]]


def test_fit_predict_returns_the_stored_object() -> None:
    df = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["x", "y", "y"]})
    mv = crowdagg.MajorityVote()
    assert mv.fit_predict(df) is mv.labels_
    assert mv.fit_predict_proba(df) is mv.probas_


def test_missing_column_is_a_key_error() -> None:
    df = pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["x"]})
    with pytest.raises(KeyError):
        crowdagg.DawidSkene().fit(df)


def test_tie_goes_to_the_smallest_label() -> None:
    # One vote each: crowd-kit (pandas 2) breaks the tie towards the smallest label.
    df = pd.DataFrame({"task": ["t", "t"], "worker": ["a", "b"], "label": ["z", "m"]})
    assert crowdagg.MajorityVote().fit_predict(df)["t"] == "m"


def test_bad_parameter_is_a_value_error() -> None:
    df = pd.DataFrame({"task": [1], "worker": ["a"], "label": ["x"]})
    with pytest.raises(ValueError, match="tol"):
        crowdagg.DawidSkene(10, -1.0).fit(df)


def test_weighted_dynamic_overlap_on_tolokas_documented_example() -> None:
    # Toloka's guide (aggregation by skill): skills 70, 90, 80; answers OK, BAD, BAD over the
    # answer domain {OK, BAD, 404}: BAD with confidence 0.96214 (its worked example).
    df = pd.DataFrame({"task": ["t1"] * 3, "worker": list("ABC"), "label": ["OK", "BAD", "BAD"]})
    skills = pd.Series({"A": 70.0, "B": 90.0, "C": 80.0})
    wdo = crowdagg.WeightedDynamicOverlap(domain=["OK", "BAD", "404"])
    assert wdo.fit_predict(df, skills)["t1"] == "BAD"
    assert math.isclose(wdo.confidence_["t1"], 0.96214, abs_tol=1e-5)
    with pytest.raises(ValueError, match="skill_scale=100"):
        crowdagg.WeightedDynamicOverlap().fit(df, skills / 100)


def test_glad_and_mace_fitted_attributes() -> None:
    df = responses("rte")
    glad = crowdagg.GLAD(n_iter=5).fit(df)
    assert glad.alphas_.name == "alpha" and glad.betas_.name == "beta"
    assert list(glad.alphas_.index) == list(pd.unique(df["worker"]))
    assert list(glad.betas_.index) == list(pd.unique(df["task"]))
    assert glad.probas_.columns.name == "variable"
    assert math.isclose(glad.priors_.sum(), 1.0)
    mace = crowdagg.MACE(n_restarts=2, n_iter=5).fit(df)
    n_workers, n_labels = df["worker"].nunique(), df["label"].nunique()
    assert mace.thetas_.shape == (n_workers, n_labels)
    assert mace.spamming_.shape == (n_workers, 2)
    assert mace.theta_priors_.shape == (n_workers, 2)
    assert mace.smoothing_ == 0.01 / n_labels


@pytest.mark.parametrize("dataset", ["rte", "dog"])
def test_metrics_equal_crowdkit(dataset: str) -> None:
    # fixtures/metrics/<dataset>.json: crowd-kit 1.4.2's metrics with default arguments
    # (fixtures/metrics_reference.py in the pinned pandas-2 environment).
    expected = json.loads((ROOT / "fixtures" / "metrics" / f"{dataset}.json").read_text())
    df = responses(dataset)
    m = crowdagg.metrics
    assert close(m.alpha_krippendorff(df), expected["alpha_krippendorff"])
    assert close(m.consistency(df), expected["consistency"])
    assert close(m.uncertainty(df), expected["uncertainty_task"])
    assert close(m.uncertainty(df, compute_by="worker"), expected["uncertainty_worker"])
    assert close(m.accuracy_on_aggregates(df), expected["accuracy_on_aggregates"])


CLASSES = [
    "MajorityVote",
    "Wawa",
    "ZeroBasedSkill",
    "DawidSkene",
    "OneCoinDawidSkene",
    "GLAD",
    "MMSR",
    "MACE",
    "KOS",
]


@pytest.mark.parametrize("name", CLASSES)
def test_empty_input_gives_an_empty_result(name: str) -> None:
    empty = pd.DataFrame([], columns=["task", "worker", "label"])
    labels = getattr(crowdagg, name)().fit_predict(empty)
    assert len(labels) == 0 and labels.name == "agg_label"


def test_missing_values_are_an_error_not_dropped_rows() -> None:
    # crowd-kit's group-bys drop a row with a missing id silently; crowdagg refuses it.
    df = pd.DataFrame({"task": ["a", "b"], "worker": ["w", None], "label": ["x", "y"]})
    with pytest.raises(ValueError, match="column 'worker' has missing values"):
        crowdagg.DawidSkene().fit(df)


def test_errors_name_workers_not_codes() -> None:
    df = pd.DataFrame(
        {"task": ["a", "a", "b"], "worker": ["w", "v", "w"], "label": ["x", "y", "y"]}
    )
    with pytest.raises(ValueError, match="skill of worker 'v' is missing"):
        crowdagg.MajorityVote().fit(df, skills=pd.Series({"w": 0.9}))


def test_duplicate_rows_count_as_votes() -> None:
    # As crowd-kit: a repeated (task, worker, label) row is one more vote (hand count: x 2, y 1).
    df = pd.DataFrame({"task": ["t"] * 3, "worker": ["a", "a", "b"], "label": ["x", "x", "y"]})
    mv = crowdagg.MajorityVote().fit(df)
    assert mv.labels_["t"] == "x"
    assert math.isclose(mv.probas_.loc["t", "x"], 2 / 3)


def test_ctrl_c_stops_a_long_fit() -> None:
    # A fit that would take minutes (tol=0, a huge n_iter); SIGINT after 0.5 s must end it with
    # KeyboardInterrupt within about an iteration, not when the fit finishes.
    import os
    import signal
    import threading
    import time

    df = responses("web")
    # Python's own handler for the test: a process started in the background by a shell
    # without job control (`nohup cmd &`, some CI runners) inherits SIGINT ignored, and Python
    # then leaves it ignored, so the signal would never reach the fit.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        start = time.perf_counter()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            crowdagg.GLAD(n_iter=10**6, tol=0.0).fit(df)
        assert time.perf_counter() - start < 10
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)

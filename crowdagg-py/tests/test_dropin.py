"""crowdagg's Python classes against crowd-kit 1.4.2 on real data and on the input dtypes users
have. crowd-kit runs in the same process (the reference environment has it), so every expected
value comes from crowd-kit itself; without crowd-kit those tests skip and say so."""

from __future__ import annotations

import pathlib

import crowdagg
import numpy as np
import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "fixtures" / "data"

try:
    import crowdkit.aggregation as ck
except ImportError:  # pragma: no cover - depends on the environment
    ck = None

needs_crowdkit = pytest.mark.skipif(ck is None, reason="crowd-kit is not installed here")


def responses(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name / "responses.csv", dtype=str)


CLASSES = [
    ("MajorityVote", {}),
    ("Wawa", {}),
    ("ZeroBasedSkill", {}),
    ("DawidSkene", {"n_iter": 100}),
    ("OneCoinDawidSkene", {"n_iter": 100}),
    ("MMSR", {}),
]


@needs_crowdkit
@pytest.mark.parametrize("dataset", ["rte", "dog", "web"])
@pytest.mark.parametrize(("name", "params"), CLASSES, ids=[c[0] for c in CLASSES])
def test_labels_and_probabilities_equal_crowdkit(dataset: str, name: str, params: dict) -> None:
    df = responses(dataset)
    ours = getattr(crowdagg, name)(**params)
    theirs = getattr(ck, name)(**params)
    labels = ours.fit_predict(df)
    expected = theirs.fit_predict(df)
    pd.testing.assert_series_equal(labels.sort_index(), expected.sort_index())
    if hasattr(theirs, "probas_") and theirs.probas_ is not None:
        pd.testing.assert_frame_equal(
            ours.probas_.sort_index(), theirs.probas_.sort_index(), rtol=1e-6, atol=1e-9
        )
    if getattr(theirs, "skills_", None) is not None:
        pd.testing.assert_series_equal(
            ours.skills_.sort_index(), theirs.skills_.sort_index(), rtol=1e-6, atol=1e-9
        )


@needs_crowdkit
def test_dawid_skene_model_equals_crowdkit() -> None:
    df = responses("dog")
    ours, theirs = crowdagg.DawidSkene(20).fit(df), ck.DawidSkene(20).fit(df)
    pd.testing.assert_series_equal(ours.priors_, theirs.priors_, rtol=1e-9)
    pd.testing.assert_frame_equal(
        ours.errors_.sort_index(), theirs.errors_.sort_index(), rtol=1e-7, atol=1e-12
    )
    np.testing.assert_allclose(ours.loss_history_, theirs.loss_history_, rtol=1e-9)


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

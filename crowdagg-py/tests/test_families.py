"""crowdagg's text, embedding and segmentation classes against crowd-kit 1.4.2's outputs on
seeded generated data, recorded in the pinned pandas-2 environment
(fixtures/embeddings/crowdkit_reference.py, fixtures/segmentation/crowdkit_reference.py), so
that they hold in both pandas environments; plus crowd-kit's attribute shapes and errors."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

import crowdagg

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def vector(text: str) -> np.ndarray:
    text = text.strip()
    if text.startswith("["):
        return np.array(json.loads(text), dtype=float)
    return np.array([float(x) for x in text.split()])


def read(path: pathlib.Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["embedding"] = frame["embedding"].map(vector)
    return frame


def truth(path: pathlib.Path) -> pd.Series:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    index = pd.Index(frame["task"], name="task")
    return pd.Series(list(frame["embedding"].map(vector)), index=index)


EXPECTED = json.loads((FIXTURES / "embeddings" / "crowdkit.json").read_text())
EMBEDDINGS = read(FIXTURES / "embeddings" / "generated.csv")
TRUTH = truth(FIXTURES / "embeddings" / "generated_true.csv")
TEXTS = pd.read_csv(FIXTURES / "texts" / "generated.csv", dtype=str, keep_default_na=False)


def number(value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return math.inf if value == "inf" else -math.inf
    return float(value)


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def assert_fit(model, expected: dict) -> None:
    chosen = model.embeddings_and_outputs_
    assert chosen.index.name == "task" and list(chosen.columns) == ["output", "embedding"]
    assert {str(t): o for t, o in chosen["output"].items()} == expected["output"]
    for task, embedding in chosen["embedding"].items():
        assert list(embedding) == expected["embedding"][str(task)]
    scores = list(model.scores_["score"])
    assert len(scores) == len(expected["scores"])
    assert all(close(a, number(b)) for a, b in zip(scores, expected["scores"]))
    for name in ("skills", "prior_skills"):
        if name in expected:
            ours = {str(w): v for w, v in getattr(model, name + "_").items()}
            for worker, value in expected[name].items():
                if value is not None:
                    assert close(ours[worker], number(value)), (name, worker)
    if "aggregated" in expected:
        for task, values in expected["aggregated"].items():
            ours = model.aggregated_embeddings_[task]
            assert all(close(a, number(b)) for a, b in zip(ours, values)), task


@pytest.mark.parametrize(
    "case, model, with_truth",
    [
        ("rasa", crowdagg.RASA(), False),
        ("rasa_true", crowdagg.RASA(), True),
        ("rasa_n_iter_3", crowdagg.RASA(n_iter=3), True),
        ("hrrasa", crowdagg.HRRASA(output_similarity="crowd-kit"), False),
        ("hrrasa_true", crowdagg.HRRASA(output_similarity="crowd-kit"), True),
        ("cta_euclidean", crowdagg.ClosestToAverage(distance="euclidean"), False),
        ("cta_euclidean_true", crowdagg.ClosestToAverage(distance="euclidean"), True),
        ("cta_cosine", crowdagg.ClosestToAverage(distance="cosine"), False),
    ],
)
def test_embedding_methods_equal_crowdkit(case, model, with_truth) -> None:
    model.fit(EMBEDDINGS, true_embeddings=TRUTH if with_truth else None)
    assert_fit(model, EXPECTED[case])


def test_closest_to_average_takes_a_callable_distance() -> None:
    model = crowdagg.ClosestToAverage(distance=lambda a, b: float(np.linalg.norm(a - b)))
    model.fit(EMBEDDINGS)
    assert_fit(model, EXPECTED["cta_euclidean"])


@pytest.mark.parametrize("case", ["text_rasa", "text_hrrasa"])
def test_text_methods_equal_crowdkit(case) -> None:
    encoded = {t: vector(e) for t, e in zip(TEXTS["text"], TEXTS["embedding"])}
    texts = TEXTS[["task", "worker", "text"]]
    if case == "text_rasa":
        model = crowdagg.TextRASA(encoder=encoded.__getitem__)
    else:
        model = crowdagg.TextHRRASA(encoder=encoded.__getitem__, output_similarity="crowd-kit")
    result = model.fit_predict(texts, None)
    assert {str(t): x for t, x in result.items()} == EXPECTED[case]["texts"]
    assert_fit(model, EXPECTED[case])


@pytest.mark.parametrize(
    "case, tokenizer",
    [("rover_whitespace", str.split), ("rover_space", lambda s: s.split(" "))],
)
def test_rover_equals_crowdkit(case, tokenizer) -> None:
    rover = crowdagg.ROVER(tokenizer=tokenizer, detokenizer=lambda tokens: " ".join(tokens))
    result = rover.fit_predict(TEXTS[["task", "worker", "text"]])
    assert result.name == "agg_text" and result.index.name == "task"
    assert {str(t): x for t, x in result.items()} == EXPECTED[case]


def test_rover_with_character_tokens() -> None:
    # Any callables: characters in, characters joined out.
    data = pd.DataFrame(
        {"task": [1, 1, 1], "worker": ["a", "b", "c"], "text": ["cat", "cot", "cut"]}
    )
    result = crowdagg.ROVER(tokenizer=list, detokenizer="".join).fit_predict(data)
    # Middle slot: three one-vote letters, ties to the greater one (u).
    assert result.to_dict() == {1: "cut"}
    assert result.index.dtype == np.int64


def masks(path: pathlib.Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str)
    frame["segmentation"] = [
        np.array([[c == "1" for c in row] for row in text.split("/")]) for text in frame["mask"]
    ]
    return frame[["task", "worker", "segmentation"]]


def text(mask: np.ndarray) -> str:
    return "/".join("".join("1" if v else "0" for v in row) for row in mask)


@pytest.mark.parametrize(
    "case, model",
    [
        ("mv", crowdagg.SegmentationMajorityVote()),
        ("rasa", crowdagg.SegmentationRASA()),
        ("rasa_n_iter_3", crowdagg.SegmentationRASA(n_iter=3)),
        ("em", crowdagg.SegmentationEM()),
        ("em_n_iter_3", crowdagg.SegmentationEM(n_iter=3)),
    ],
)
def test_segmentation_equals_crowdkit(case, model) -> None:
    expected = json.loads((FIXTURES / "segmentation" / "crowdkit.json").read_text())[case]
    result = model.fit_predict(masks(FIXTURES / "segmentation" / "generated.csv"))
    assert result.name == "agg_segmentation" and result.index.name == "task"
    assert all(m.dtype == np.bool_ and m.shape == (12, 20) for m in result)
    assert {str(t): text(m) for t, m in result.items()} == expected


def test_segmentation_majority_vote_skills() -> None:
    # crowd-kit's test_skills_segmentation_mv: the skilled worker's mask wins.
    seg = [
        np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=bool),
        np.array([[1, 0, 1, 0, 1], [0, 0, 0, 0, 0]], dtype=bool),
        np.array([[0, 1, 1, 1, 0], [0, 0, 0, 0, 0]], dtype=bool),
    ]
    data = pd.DataFrame({"task": [1, 1, 1], "worker": [1, 2, 3], "segmentation": seg})
    skills = pd.Series([0.1, 0.2, 0.7], index=pd.Index([1, 2, 3], name="worker"))
    result = crowdagg.SegmentationMajorityVote().fit_predict(data, skills)
    assert (result[1] == seg[2]).all()
    with pytest.raises(ValueError, match="Skill value is missing in 1 assignments"):
        crowdagg.SegmentationMajorityVote().fit(data, skills.iloc[:2])
    fallback = crowdagg.SegmentationMajorityVote(default_skill=0.0, on_missing_skill="value")
    # Worker 3 gets skill 0: a pixel needs 2(0.1 a + 0.2 b) >= 0.3, i.e. worker 2's mask.
    assert (fallback.fit_predict(data, skills.iloc[:2])[1] == seg[1]).all()


def test_bad_embeddings_and_masks_are_value_errors() -> None:
    ragged = EMBEDDINGS.head(3).copy()
    ragged["embedding"] = [np.zeros(3), np.zeros(3), np.zeros(2)]
    with pytest.raises(ValueError, match="embedding of row 2 has 2 values, the first one had 3"):
        crowdagg.RASA().fit(ragged)
    data = pd.DataFrame(
        {"task": [1, 1], "worker": [1, 2], "segmentation": [np.zeros((2, 2)), np.zeros((3, 2))]}
    )
    with pytest.raises(ValueError, match="mask"):
        crowdagg.SegmentationEM().fit(data)

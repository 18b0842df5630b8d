"""crowd-kit's agreement metrics (``crowdkit.metrics``) with crowdagg's Rust core:
``consistency``, ``uncertainty``, ``alpha_krippendorff`` and ``accuracy_on_aggregates``, with
crowd-kit's signatures, defaults, result shapes and exceptions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _core, _frames
from .aggregation import MajorityVote, _skills_array, get_accuracy

__all__ = ["accuracy_on_aggregates", "alpha_krippendorff", "consistency", "uncertainty"]


def _check_answers(answers: pd.DataFrame) -> None:
    if not isinstance(answers, pd.DataFrame):
        raise TypeError("Working only with pandas DataFrame")
    for column in ("task", "worker", "label"):
        assert column in answers, f'There is no "{column}" column in answers'


def _metric(name: str, coded: _frames.Responses, aggregated=None, skills=None):
    return _frames.named_errors(
        coded, _core.metric, name, *_frames._columns(coded), aggregated, skills
    )


def _skills_of(aggregator: Any) -> pd.Series:
    skills = getattr(aggregator, "skills_", None)
    if skills is None:
        raise AssertionError("This aggregator is not supported. Please, provide workers skills.")
    return skills


def consistency(
    answers: pd.DataFrame,
    workers_skills: pd.Series | None = None,
    aggregator: Any = None,
    by_task: bool = False,
) -> float | pd.Series:
    """Posterior probability of the aggregated label given the workers' skills (crowd-kit's
    ``consistency``); the aggregator defaults to ``MajorityVote()``."""
    _check_answers(answers)
    aggregator = MajorityVote() if aggregator is None else aggregator
    aggregated = aggregator.fit_predict(answers)
    if workers_skills is None:
        workers_skills = _skills_of(aggregator)
    coded = _frames.responses(answers)
    label_codes = _frames.code_against(
        pd.Series(aggregated.reindex(coded.tasks.uniques).to_numpy()), coded.labels.uniques
    )
    if (label_codes < 0).any():
        task = coded.tasks.uniques[int(np.argmax(label_codes < 0))]
        raise ValueError(f"task {task!r} has no aggregated label among the labels of the answers")
    values = _metric("consistency", coded, label_codes, _skills_array(coded, workers_skills))
    consistencies = pd.Series(values, index=coded.tasks.uniques.copy())
    return consistencies if by_task else float(consistencies.mean())


def uncertainty(
    answers: pd.DataFrame,
    workers_skills: pd.Series | None = None,
    aggregator: Any = None,
    compute_by: str = "task",
    aggregate: bool = True,
) -> float | pd.Series:
    """Entropy of each task's (or worker's) label distribution weighted by skills (crowd-kit's
    ``uncertainty``); without skills every worker weighs 1."""
    _check_answers(answers)
    if workers_skills is None and aggregator is not None:
        aggregator.fit(answers)
        workers_skills = _skills_of(aggregator)
    if compute_by not in ("task", "worker"):
        raise KeyError(compute_by)
    coded = _frames.responses(answers)
    skills = None
    if workers_skills is not None:
        skills = _skills_array(coded, workers_skills)
        missing = coded.workers.uniques[np.isnan(skills)]
        if len(missing):
            raise AssertionError(
                f"Did not provide skills for workers: {set(missing.tolist())}."
                f"Please provide workers skills."
            )
    values = _metric(f"uncertainty_{compute_by}", coded, skills=skills)
    items = coded.tasks if compute_by == "task" else coded.workers
    uncertainties = pd.Series(values, index=items.uniques.copy())
    return float(uncertainties.mean()) if aggregate else uncertainties


def alpha_krippendorff(answers: pd.DataFrame, distance: Any = None) -> float:
    """Krippendorff's alpha with the nominal (binary) distance, as crowd-kit computes it through
    nltk; another distance function is not supported."""
    if distance is not None and getattr(distance, "__name__", "") != "binary_distance":
        raise NotImplementedError("crowdagg's alpha_krippendorff supports the binary distance only")
    answers = answers[["task", "worker", "label"]]
    return float(_metric("alpha", _frames.responses(answers)))


_DEFAULT = object()  # crowd-kit's default aggregator, MajorityVote(), made at each call


def accuracy_on_aggregates(
    answers: pd.DataFrame,
    aggregator: Any = _DEFAULT,
    aggregates: pd.Series | None = None,
    by: str | None = None,
) -> float | pd.Series:
    """The fraction of answers that match the aggregated label (crowd-kit's
    ``accuracy_on_aggregates``); per worker with ``by="worker"``."""
    if aggregator is _DEFAULT:
        aggregator = MajorityVote()
    if aggregates is None and aggregator is None:
        raise AssertionError("One of aggregator or aggregates should be not None")
    if aggregates is None:
        aggregates = aggregator.fit_predict(answers)
    return get_accuracy(answers, aggregates, by=by)

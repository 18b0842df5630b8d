"""crowd-kit's embedding aggregators with crowdagg's Rust core: ``ClosestToAverage``, ``RASA``
and ``HRRASA`` on ``task, worker, output, embedding`` frames (an embedding per row: a numpy
array or a list of numbers, all of one length).

Outputs are crowd-kit's: ``embeddings_and_outputs_`` (the chosen row of each task, indexed by
``task``, columns ``output`` and ``embedding``; the embedding objects are the input's own),
``scores_`` (per row), ``aggregated_embeddings_``, ``skills_`` and ``prior_skills_``.
HRRASA's output similarity is word-level GLEU by default; crowd-kit's (which compares words
against characters) with ``output_similarity="crowd-kit"`` or crowd-kit's own
``glue_similarity`` function. crowdagg's HRRASA also runs under pandas 3, where crowd-kit's
fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from . import _core, _frames
from ._parameters import Parameterised

__all__ = ["HRRASA", "RASA", "ClosestToAverage"]


def _matrix(column: pd.Series) -> np.ndarray:
    """The embeddings as a rows × dim float array; ragged or non-numeric ones are an error."""
    try:
        rows = [np.asarray(e, dtype=np.float64).ravel() for e in column]
    except (TypeError, ValueError) as error:
        raise ValueError(f"an embedding is not an array of numbers: {error}") from None
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        first = len(rows[0])
        row = next(i for i, r in enumerate(rows) if len(r) != first)
        raise ValueError(
            f"embedding of row {row} has {len(rows[row])} values, the first one had {first}"
        )
    if not rows:
        return np.zeros((0, 0))
    return np.ascontiguousarray(np.stack(rows))


class _EmbeddingMethod(Parameterised):
    _method = ""

    def _fit(self, data: pd.DataFrame, true_embeddings: pd.Series | None) -> None:
        data = data[["task", "worker", "output", "embedding"]]
        if true_embeddings is not None and not true_embeddings.index.is_unique:
            raise ValueError(
                "Incorrect data in true_embeddings: multiple true embeddings for a single task "
                "are not supported."
            )
        tasks = _frames.code(data["task"], "task")
        workers = _frames.code(data["worker"], "worker")
        matrix = _matrix(data["embedding"])
        true_tasks = true_matrix = None
        if true_embeddings is not None and len(true_embeddings):
            # crowd-kit updates the averages with them: tasks without responses are ignored.
            codes = _frames.code_against(pd.Series(true_embeddings.index), tasks.uniques)
            keep = codes >= 0
            true_tasks = np.ascontiguousarray(codes[keep])
            true_matrix = _matrix(true_embeddings[keep])
            if true_matrix.shape[1] != matrix.shape[1]:
                raise ValueError(
                    f"true embeddings have {true_matrix.shape[1]} values, the responses' "
                    f"{matrix.shape[1]}"
                )
        result = _core.fit_embeddings(
            self._method,
            self._rust_pairs(),
            tasks.codes,
            workers.codes,
            [str(o) for o in data["output"]],
            matrix,
            true_tasks,
            true_matrix,
        )
        task_index = tasks.uniques.copy()
        chosen = data.iloc[result["chosen"]]
        self.embeddings_and_outputs_ = chosen[["task", "output", "embedding"]].set_index("task")
        scores = data[["task", "output"]].assign(
            score=result["scores"], embedding=data["embedding"]
        )
        self.scores_ = scores.set_index("task")
        self.aggregated_embeddings_ = pd.Series(
            list(result["aggregated"]), index=task_index, dtype=object
        )
        worker_index = workers.uniques.copy()
        if result["skills"] is not None:
            skills = pd.Series(result["skills"], index=worker_index)
            self.skills_ = skills[skills.notna()]
            prior = pd.Series(result["prior_skills"], index=worker_index, name="count")
            self.prior_skills_ = prior[prior.notna()]
        self.loss_history_ = list(result["loss_history"])

    def fit(self, data: pd.DataFrame, true_embeddings: pd.Series | None = None):
        self._fit(data, true_embeddings)
        return self

    def fit_predict_scores(
        self, data: pd.DataFrame, true_embeddings: pd.Series | None = None
    ) -> pd.DataFrame:
        return self.fit(data, true_embeddings).scores_

    def fit_predict(
        self, data: pd.DataFrame, true_embeddings: pd.Series | None = None
    ) -> pd.DataFrame:
        return self.fit(data, true_embeddings).embeddings_and_outputs_


_DISTANCES = {"euclidean", "squared-euclidean", "cosine"}


class ClosestToAverage(_EmbeddingMethod):
    """The output whose embedding is nearest the task's mean; crowd-kit ``ClosestToAverage``.

    ``distance``: ``"euclidean"``, ``"squared-euclidean"`` or ``"cosine"`` (crowd-kit takes
    a callable; these are computed in Rust). A callable is called in Python per row."""

    _method = "ClosestToAverage"
    _params = ("distance",)

    def __init__(self, distance: str | Callable[[Any, Any], float] = "euclidean"):
        self.distance = distance

    def fit(self, data, aggregated_embeddings=None, true_embeddings=None):
        if aggregated_embeddings is not None or callable(self.distance):
            return self._fit_in_python(data, aggregated_embeddings, true_embeddings)
        if self.distance not in _DISTANCES:
            raise ValueError(f"distance must be one of {sorted(_DISTANCES)} or a callable")
        self._fit(data, true_embeddings)
        return self

    def _fit_in_python(self, data, aggregated_embeddings, true_embeddings):
        """crowd-kit's own procedure, for a callable distance or given aggregated
        embeddings (which the Rust core does not take)."""
        data = data[["task", "worker", "output", "embedding"]]
        distance = self.distance
        if not callable(distance):
            from scipy.spatial import distance as sp_distance

            distance = {
                "euclidean": lambda a, b: float(np.linalg.norm(np.asarray(a) - np.asarray(b))),
                "squared-euclidean": lambda a, b: float(
                    np.sum((np.asarray(a) - np.asarray(b)) ** 2)
                ),
                "cosine": sp_distance.cosine,
            }[distance]
        if aggregated_embeddings is None:
            group = data.groupby("task")
            average = group.embedding.apply(np.sum) / group.worker.count()
            if true_embeddings is not None:
                average.update(true_embeddings)
        else:
            average = aggregated_embeddings
        joined = data.join(average.rename("avg_embedding"), on="task")
        joined["score"] = [
            distance(e, a) for e, a in zip(joined["embedding"], joined["avg_embedding"])
        ]
        scores = joined[["task", "output", "score", "embedding"]]
        chosen = scores[["task", "output", "embedding"]].loc[
            scores.groupby("task")["score"].idxmin()
        ]
        self.scores_ = scores.set_index("task")
        self.embeddings_and_outputs_ = chosen.set_index("task")
        return self

    def fit_predict(self, data, aggregated_embeddings=None, true_embeddings=None):
        return self.fit(data, aggregated_embeddings, true_embeddings).embeddings_and_outputs_

    def fit_predict_scores(self, data, aggregated_embeddings=None, true_embeddings=None):
        return self.fit(data, aggregated_embeddings, true_embeddings).scores_


class RASA(_EmbeddingMethod):
    """Reliability Aware Sequence Aggregation (Li & Fukumoto 2019); crowd-kit ``RASA``."""

    _method = "RASA"
    _params = ("n_iter", "tol", "alpha")

    def __init__(self, n_iter: int = 100, tol: float = 1e-9, alpha: float = 0.05):
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha


class HRRASA(_EmbeddingMethod):
    """Hybrid Reliability and Representation Aware Sequence Aggregation (Li 2020); crowd-kit
    ``HRRASA``. ``output_similarity``: ``"gleu"`` (default: word-level sentence GLEU, what the
    paper means) or ``"crowd-kit"`` (crowd-kit's ``glue_similarity``, which compares words with
    characters; crowd-kit's function itself is recognised). ``calculate_ranks`` is not
    supported (``ranks_`` is not computed)."""

    _method = "HRRASA"
    _params = ("n_iter", "tol", "lambda_emb", "lambda_out", "alpha", "output_similarity")

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-9,
        lambda_emb: float = 0.5,
        lambda_out: float = 0.5,
        alpha: float = 0.05,
        calculate_ranks: bool = False,
        output_similarity: Any = "gleu",
    ):
        if calculate_ranks:
            raise NotImplementedError("crowdagg's HRRASA does not compute ranks_")
        if callable(output_similarity):
            if getattr(output_similarity, "__name__", "") != "glue_similarity":
                raise NotImplementedError(
                    "output_similarity must be 'gleu', 'crowd-kit' or crowd-kit's glue_similarity"
                )
            output_similarity = "crowd-kit"
        self.n_iter = n_iter
        self.tol = tol
        self.lambda_emb = lambda_emb
        self.lambda_out = lambda_out
        self.alpha = alpha
        self.calculate_ranks = calculate_ranks
        self.output_similarity = output_similarity

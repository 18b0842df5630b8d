"""crowd-kit's classification aggregators with crowdagg's Rust core behind them.

Each class keeps crowd-kit 1.4.2's name, constructor parameters (in crowd-kit's order: its tests
pass them positionally), methods and fitted attributes (names, index names, Series names,
dtypes), so ``from crowdagg import DawidSkene`` replaces ``from crowdkit.aggregation import
DawidSkene``. ``fit_predict`` returns the very object stored in ``labels_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _frames
from ._frames import Responses
from ._parameters import Parameterised

__all__ = [
    "GLAD",
    "KOS",
    "MACE",
    "MMSR",
    "BinaryRelevance",
    "DawidSkene",
    "GoldMajorityVote",
    "MajorityVote",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
]


class _Aggregator(Parameterised):
    """Shared plumbing: parameters as public attributes, ``repr``, empty results."""

    def _set_labels(self, coded: Responses, result: dict) -> None:
        self.labels_ = _frames.labels_series(coded, result["labels"])

    def _set_probas(self, coded: Responses, result: dict) -> None:
        self.probas_ = _frames.task_label_frame(coded, result["probas"])

    def _empty_labels(self, dtype: Any = "O") -> pd.Series:
        return pd.Series([], dtype=dtype, name="agg_label", index=pd.Index([], name="task"))

    def _empty_probas(self) -> pd.DataFrame:
        return pd.DataFrame(
            index=pd.Index([], name="task"), columns=pd.Index([], name="label"), dtype=float
        )


def _skills_array(coded: Responses, skills: pd.Series | None) -> np.ndarray | None:
    """Per-worker skills in code order, NaN where a worker has none."""
    if skills is None:
        return None
    return np.ascontiguousarray(
        skills.reindex(coded.workers.uniques).to_numpy(dtype=float, na_value=np.nan)
    )


class MajorityVote(_Aggregator):
    """Majority vote, optionally weighted by given worker skills (crowd-kit ``MajorityVote``)."""

    _params = ("default_skill", "on_missing_skill")

    def __init__(self, default_skill: float | None = None, on_missing_skill: str = "error"):
        self.default_skill = default_skill
        self.on_missing_skill = on_missing_skill

    def fit(self, data: pd.DataFrame, skills: pd.Series | None = None) -> MajorityVote:
        coded = _frames.responses(data)
        if coded.empty:
            self.probas_ = self._empty_probas()
            self.labels_ = self._empty_labels()
            self.skills_ = pd.Series(
                [], dtype=float, name="skill", index=pd.Index([], name="worker")
            )
            return self
        result = _frames.fit(
            "MajorityVote", self._rust_params(), coded, skills=_skills_array(coded, skills)
        )
        self._set_probas(coded, result)
        self._set_labels(coded, result)
        self.skills_ = _frames.worker_series(coded, result["skills"], "skill")
        return self

    def fit_predict(self, data: pd.DataFrame, skills: pd.Series | None = None) -> pd.Series:
        return self.fit(data, skills).labels_

    def fit_predict_proba(
        self, data: pd.DataFrame, skills: pd.Series | None = None
    ) -> pd.DataFrame:
        return self.fit(data, skills).probas_


class _SkillVote(_Aggregator):
    """Methods that learn worker skills and then vote with them (Wawa, ZeroBasedSkill,
    GoldMajorityVote): ``predict`` on new data is a majority vote weighted by ``skills_``."""

    def _apply(self, data: pd.DataFrame) -> None:
        self.labels_, self.probas_ = _vote_with_skills(self, data)

    def predict(self, data: pd.DataFrame) -> pd.Series:
        self._apply(data)
        return self.labels_

    def predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        self._apply(data)
        return self.probas_


def _vote_with_skills(aggregator: _Aggregator, data: pd.DataFrame) -> tuple:
    """Labels and vote shares of a majority vote weighted by the fitted ``skills_``."""
    if getattr(aggregator, "skills_", None) is None:
        raise _not_fitted(aggregator)
    mv = MajorityVote().fit(data, skills=aggregator.skills_)
    return mv.labels_, mv.probas_


def _not_fitted(aggregator: _Aggregator) -> Exception:
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:  # scikit-learn is not a dependency: the same message, a ValueError
        NotFittedError = ValueError
    return NotFittedError(
        f"This {type(aggregator).__name__} instance is not fitted yet. Call 'fit' with "
        "appropriate arguments before using this estimator."
    )


class Wawa(_SkillVote):
    """Worker Agreement with Aggregate: skills are agreement with the majority vote, then a
    weighted majority vote (crowd-kit ``Wawa``)."""

    def __init__(self) -> None:
        pass

    def fit(self, data: pd.DataFrame) -> Wawa:
        coded = _frames.responses(data)
        self.skills_ = _skills_only(self, "Wawa", coded)
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).predict(data)

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        return self.fit(data).predict_proba(data)


def _skills_only(aggregator: _Aggregator, method: str, coded: Responses) -> pd.Series:
    if coded.empty:
        return pd.Series([], dtype=float, name="skill", index=pd.Index([], name="worker"))
    result = _frames.fit(method, aggregator._rust_params(), coded)
    return _frames.worker_series(coded, result["skills"], "skill")


class ZeroBasedSkill(_SkillVote):
    """Skills learnt by repeated weighted voting with a decaying learning rate (crowd-kit
    ``ZeroBasedSkill``)."""

    _params = ("n_iter", "lr_init", "lr_steps_to_reduce", "lr_reduce_factor", "eps")

    def __init__(
        self,
        n_iter: int = 100,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
    ):
        self.n_iter = n_iter
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps

    def fit(self, data: pd.DataFrame) -> ZeroBasedSkill:
        coded = _frames.responses(data)
        self.skills_ = _skills_only(self, "ZeroBasedSkill", coded)
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).predict(data)

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        return self.fit(data).predict_proba(data)


class GoldMajorityVote(_SkillVote):
    """Majority vote weighted by each worker's accuracy on gold tasks (crowd-kit
    ``GoldMajorityVote``)."""

    def __init__(self) -> None:
        pass

    def fit(self, data: pd.DataFrame, true_labels: pd.Series) -> GoldMajorityVote:
        data = _frames.frame(data)
        self.skills_ = get_accuracy(data, true_labels, by="worker").rename("skill")
        return self

    def fit_predict(self, data: pd.DataFrame, true_labels: pd.Series) -> pd.Series:
        return self.fit(data, true_labels).predict(data)

    def fit_predict_proba(self, data: pd.DataFrame, true_labels: pd.Series) -> pd.DataFrame:
        return self.fit(data, true_labels).predict_proba(data)


def get_accuracy(data: pd.DataFrame, true_labels: pd.Series, by: str | None = None):
    """crowd-kit's ``get_accuracy``: each response is scored against every true label of its task
    (a task may have several; a response is right if it matches any of them), weighted by a
    ``weight`` column when the data has one; a true label that no response uses simply counts as
    wrong; the weighted mean per ``by`` group, or overall."""
    columns = ["task", "worker", "label"] + (["weight"] if "weight" in data.columns else [])
    data = data[columns]
    joined = data.join(pd.Series(true_labels, name="true_label"), on="task")
    joined = joined[joined["true_label"].notna()]
    weight = joined["weight"] if "weight" in joined.columns else 1.0
    joined = joined.assign(weight=weight)
    joined = joined.assign(score=joined["weight"] * (joined["label"] == joined["true_label"]))
    joined = joined.sort_values("score", kind="stable").drop_duplicates(
        ["task", "worker", "label"], keep="last"
    )
    if by is not None:
        group = joined.groupby(by)
        return (group["score"].sum() / group["weight"].sum()).rename(None)
    return float(joined["score"].sum() / joined["weight"].sum())


def _gold_codes(coded: Responses, true_labels: pd.Series | None):
    """Gold labels as (task codes, label codes), for the tasks that occur. A gold label that no
    response uses is a ``ValueError`` (the Rust library's rule; the model has no such class)."""
    if true_labels is None:
        return None
    tasks = _frames.code_against(pd.Series(true_labels.index), coded.tasks.uniques)
    labels = _frames.code_against(pd.Series(true_labels.to_numpy()), coded.labels.uniques)
    unknown = (tasks >= 0) & (labels < 0)
    if unknown.any():
        row = int(np.argmax(unknown))
        raise ValueError(
            f"gold label {true_labels.iloc[row]!r} of task {true_labels.index[row]!r} is not "
            "among the labels of the responses"
        )
    keep = tasks >= 0
    return np.ascontiguousarray(tasks[keep]), np.ascontiguousarray(labels[keep])


class DawidSkene(_Aggregator):
    """Dawid-Skene EM over per-worker confusion matrices (crowd-kit ``DawidSkene``)."""

    _params = ("n_iter", "tol", "initial_error_strategy")
    _method = "DawidSkene"

    def __init__(
        self, n_iter: int = 100, tol: float = 1e-5, initial_error_strategy: str | None = None
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.initial_error_strategy = initial_error_strategy

    def _fit(
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
    ) -> Responses:
        coded = _frames.responses(data)
        if coded.empty:  # crowd-kit's shapes for an empty input
            self.probas_ = pd.DataFrame()
            self.labels_ = pd.Series(dtype=float, name="agg_label")
            self.priors_ = pd.Series(dtype=float, name="prior")
            self.errors_ = pd.DataFrame()
            self.loss_history_ = []
            return coded
        params = self._rust_params()
        params.pop("initial_error_strategy", None)
        gold = _gold_codes(coded, true_labels)
        strategy = self.initial_error_strategy
        if strategy is None or initial_error is None:
            # crowd-kit ignores a strategy without matrices, and matrices without a strategy.
            result = _frames.fit(self._method, params, coded, gold=gold)
        else:
            initial = _initial_error_codes(coded, initial_error, strategy)
            result = _frames.fit_dawid_skene(params, coded, gold, strategy, initial)
        self._set_probas(coded, result)
        self._set_labels(coded, result)
        self.priors_ = _frames.label_series(coded, result["priors"], "prior")
        self.errors_ = _frames.errors_frame(coded, result["errors"])
        if strategy == "assign" and initial_error is not None and self.n_iter == 0:
            # No M-step ran: crowd-kit's errors_ is the given frame itself, rows in its order.
            full = _frames.errors_frame(coded, result["errors"], observed_only=False)
            self.errors_ = full.reindex(index=initial_error.index, columns=initial_error.columns)
        self.loss_history_ = list(result["loss_history"])
        self._result = result
        return coded

    def fit(
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
    ) -> DawidSkene:
        self._fit(data, true_labels, initial_error)
        return self

    def fit_predict(
        self, data: pd.DataFrame, true_labels: pd.Series | None = None, initial_error=None
    ):
        return self.fit(data, true_labels, initial_error).labels_

    def fit_predict_proba(
        self, data: pd.DataFrame, true_labels: pd.Series | None = None, initial_error=None
    ):
        return self.fit(data, true_labels, initial_error).probas_


def _initial_error_codes(coded: Responses, initial_error: pd.DataFrame, strategy: str):
    """crowd-kit's checks of ``initial_error`` (with its messages), then the matrices as codes:
    (worker, observed label, true label, value) for the workers and labels of the data."""
    if list(initial_error.index.names) != ["worker", "label"]:
        raise ValueError(
            "The index of initial_error must be: ['worker', 'label'],"
            f"but got: {list(initial_error.index.names)}"
        )
    if strategy == "assign":
        workers = initial_error.index.get_level_values("worker")
        missing = coded.workers.uniques.difference(workers.unique())
        if len(missing):
            raise ValueError(
                "All the workers in data should be in initial_error: "
                f"Can not find {len(missing)} workers' error matrix in initial_error"
            )
        if (initial_error <= 1.0).all().all() and not np.allclose(
            initial_error.groupby("worker", sort=False).sum(), 1.0
        ):
            raise ValueError("The sum of each worker's error matrix in initial_error should be 1.0")
    elif strategy != "addition":
        raise ValueError(
            f"Invalid initial_error_strategy: {strategy},should be 'assign' or 'addition'"
        )
    long = initial_error.stack()
    levels = [pd.Series(long.index.get_level_values(i)) for i in range(3)]
    workers = _frames.code_against(levels[0], coded.workers.uniques)
    observed = _frames.code_against(levels[1], coded.labels.uniques)
    truth = _frames.code_against(levels[2], coded.labels.uniques)
    keep = (workers >= 0) & (observed >= 0) & (truth >= 0)
    return (
        np.ascontiguousarray(workers[keep]),
        np.ascontiguousarray(observed[keep]),
        np.ascontiguousarray(truth[keep]),
        np.ascontiguousarray(long.to_numpy(dtype=float)[keep]),
    )


class OneCoinDawidSkene(DawidSkene):
    """Dawid-Skene with one accuracy per worker (crowd-kit ``OneCoinDawidSkene``)."""

    _method = "OneCoinDawidSkene"

    def fit(self, data: pd.DataFrame) -> OneCoinDawidSkene:  # type: ignore[override]
        coded = self._fit(data)
        if coded.empty:
            self.skills_ = pd.Series(
                [], dtype=float, name="skill", index=pd.Index([], name="worker")
            )
        else:
            self.skills_ = _frames.worker_series(coded, self._result["skills"], "skill")
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:  # type: ignore[override]
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:  # type: ignore[override]
        return self.fit(data).probas_


class GLAD(_Aggregator):
    """GLAD: worker ability × task difficulty (crowd-kit ``GLAD``)."""

    _params = (
        "n_iter",
        "tol",
        "silent",
        "labels_priors",
        "alphas_priors_mean",
        "betas_priors_mean",
        "m_step_max_iter",
        "m_step_tol",
    )

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        silent: bool = True,
        labels_priors: pd.Series | None = None,
        alphas_priors_mean: pd.Series | None = None,
        betas_priors_mean: pd.Series | None = None,
        m_step_max_iter: int = 25,
        m_step_tol: float = 1e-2,
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.silent = silent
        self.labels_priors = labels_priors
        self.alphas_priors_mean = alphas_priors_mean
        self.betas_priors_mean = betas_priors_mean
        self.m_step_max_iter = m_step_max_iter
        self.m_step_tol = m_step_tol

    def fit(self, data: pd.DataFrame) -> GLAD:
        data = _frames.frame(data)[["task", "worker", "label"]]
        coded = _frames.responses(data)
        params = {
            "n_iter": self.n_iter,
            "tol": self.tol,
            "m_step_max_iter": self.m_step_max_iter,
            "m_step_tol": self.m_step_tol,
            "alphas_prior_mean": _constant(self.alphas_priors_mean, "alphas_priors_mean"),
            "betas_prior_mean": _constant(self.betas_priors_mean, "betas_priors_mean"),
        }
        if self.labels_priors is not None:
            codes = _frames.code_against(pd.Series(self.labels_priors.index), coded.labels.uniques)
            params["labels_priors"] = ",".join(
                f"{c}:{p!r}"
                for c, p in zip(codes, self.labels_priors.to_numpy(dtype=float))
                if c >= 0
            )
        if coded.empty:  # crowd-kit divides by zero here; an empty result is more useful
            self.probas_ = pd.DataFrame()
            self.labels_ = pd.Series(dtype=float, name="agg_label")
            self.alphas_ = pd.Series(dtype=float, name="alpha")
            self.betas_ = pd.Series(dtype=float, name="beta")
            self.priors_ = pd.Series(dtype=float)
            self.workers_ = self.tasks_ = np.array([], dtype=object)
            self.loss_history_ = []
            return self
        result = _frames.fit_glad(params, coded)
        self.probas_ = _frames.task_label_frame(coded, result["probas"], columns_name="variable")
        self._set_labels(coded, result)
        # crowd-kit keeps workers and tasks in order of first appearance, in unnamed indexes.
        self.workers_ = pd.unique(data["worker"])
        self.tasks_ = pd.unique(data["task"])
        alphas = pd.Series(result["skills"], index=coded.workers.uniques.copy(), name="alpha")
        betas = pd.Series(result["betas"], index=coded.tasks.uniques.copy(), name="beta")
        self.alphas_ = alphas.reindex(self.workers_).rename_axis(None)
        self.betas_ = betas.reindex(self.tasks_).rename_axis(None)
        if self.labels_priors is not None:
            self.priors_ = self.labels_priors
        else:
            prior_labels = pd.unique(data["label"])
            self.priors_ = pd.Series(1.0 / len(prior_labels), index=prior_labels)
        self.loss_history_ = list(result["loss_history"])
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        return self.fit(data).probas_


def _constant(means: pd.Series | float | None, name: str) -> float | None:
    """A prior mean given as a Series must be one value for everybody (crowdagg's GLAD takes one
    mean for all workers and one for all tasks); ``None`` keeps the default 1."""
    if means is None or np.isscalar(means):
        return means
    values = pd.Series(means).unique()
    if len(values) != 1:
        raise NotImplementedError(
            f"GLAD {name} with different values per worker or task is not supported by crowdagg"
        )
    return float(values[0])


class MMSR(_Aggregator):
    """Matrix Mean-Subsequence-Reduced worker skills, then a weighted vote (crowd-kit ``MMSR``):
    ``predict`` is a majority vote weighted by ``skills_`` and ``scores_`` its normalised votes."""

    _params = ("n_iter", "tol", "random_state")

    def __init__(self, n_iter: int = 10000, tol: float = 1e-10, random_state: int | None = 0):
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, data: pd.DataFrame) -> MMSR:
        coded = _frames.responses(data)
        result = _frames.fit("MMSR", self._rust_params(), coded)
        self.skills_ = _frames.worker_series(coded, result["skills"], "skill")
        self.loss_history_ = list(result["loss_history"])
        return self

    def _rust_params(self) -> dict[str, Any]:
        params = super()._rust_params()
        if self.random_state is None:  # crowd-kit draws from numpy's global generator then
            params["random_state"] = int(np.random.randint(0, 2**31 - 1))
        return params

    def _apply(self, data: pd.DataFrame) -> None:
        self.labels_, self.scores_ = _vote_with_skills(self, data)

    def predict(self, data: pd.DataFrame) -> pd.Series:
        self._apply(data)
        return self.labels_

    def predict_score(self, data: pd.DataFrame) -> pd.DataFrame:
        self._apply(data)
        return self.scores_

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).predict(data)

    def fit_predict_score(self, data: pd.DataFrame) -> pd.DataFrame:
        return self.fit(data).predict_score(data)


class MACE(_Aggregator):
    """Multi-Annotator Competence Estimation (crowd-kit ``MACE``, with its restart and
    alignment bugs fixed)."""

    _params = (
        "n_restarts",
        "n_iter",
        "method",
        "smoothing",
        "default_noise",
        "alpha",
        "beta",
        "random_state",
        "verbose",
    )

    def __init__(
        self,
        n_restarts: int = 10,
        n_iter: int = 50,
        method: str = "vb",
        smoothing: float = 0.1,
        default_noise: float = 0.5,
        alpha: float = 0.5,
        beta: float = 0.5,
        random_state: int = 0,
        verbose: int = 0,
    ):
        self.n_restarts = n_restarts
        self.n_iter = n_iter
        self.method = method
        self.smoothing = smoothing
        self.default_noise = default_noise
        self.alpha = alpha
        self.beta = beta
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, data: pd.DataFrame) -> MACE:
        data = _frames.frame(data)[["task", "worker", "label"]]
        coded = _frames.responses(data)
        params = self._rust_params()
        params.pop("verbose")
        if coded.empty:  # crowd-kit divides by zero here; an empty result is more useful
            self.probas_ = pd.DataFrame()
            self.labels_ = pd.Series(dtype=float, name="agg_label")
            self.spamming_ = np.empty((0, 2))
            self.thetas_ = np.empty((0, 0))
            self.theta_priors_ = self.strategy_priors_ = None
            self.smoothing_ = float("nan")
            return self
        result = _frames.fit_mace(params, coded)
        self._set_probas(coded, result)
        self.probas_.columns.name = None
        self._set_labels(coded, result)
        # crowd-kit numbers workers and labels in order of first appearance (pd.factorize).
        workers = coded.workers.uniques.get_indexer(pd.unique(data["worker"]))
        labels = coded.labels.uniques.get_indexer(pd.unique(data["label"]))
        self.spamming_ = result["spamming"][workers]
        self.thetas_ = result["thetas"][np.ix_(workers, labels)]
        n_workers, n_labels = coded.workers.n, coded.labels.n
        self.smoothing_ = 0.01 / n_labels
        if self.method == "vb":
            self.theta_priors_ = np.empty((n_workers, 2))
            self.theta_priors_[:, 0] = self.alpha
            self.theta_priors_[:, 1] = self.beta
            self.strategy_priors_ = np.full((n_workers, n_labels), 10.0)
        else:
            self.theta_priors_ = None
            self.strategy_priors_ = None
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        return self.fit(data).probas_


class KOS(_Aggregator):
    """Karger-Oh-Shah message passing, binary labels only (crowd-kit ``KOS``)."""

    _params = ("n_iter", "random_state")

    def __init__(self, n_iter: int = 100, random_state: int = 0):
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, data: pd.DataFrame) -> KOS:
        coded = _frames.responses(data)
        if coded.empty:  # crowd-kit's shape for an empty input
            self.labels_ = pd.Series([], dtype="O", name="agg_label")
            return self
        result = _frames.fit("KOS", self._rust_params(), coded)
        self._set_labels(coded, result)
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).labels_


class BinaryRelevance(_Aggregator):
    """Multi-label aggregation: one binary problem per class, each aggregated by a fresh copy of
    ``base_aggregator`` (crowd-kit ``BinaryRelevance``). ``label`` holds lists of classes."""

    def __init__(self, base_aggregator: _Aggregator | None = None):
        if base_aggregator is None:
            base_aggregator = MajorityVote()
        if not isinstance(base_aggregator, _Aggregator):
            raise TypeError("Aggregator argument should be a classification aggregator")
        self.base_aggregator = base_aggregator
        self.aggregators_: dict[Any, _Aggregator] = {}

    def __repr__(self) -> str:
        return f"BinaryRelevance(base_aggregator={self.base_aggregator!r})"

    def fit(self, data: pd.DataFrame) -> BinaryRelevance:
        data = _frames.frame(data)[["task", "worker", "label"]]
        classes = sorted({label for labels in data["label"] for label in labels})
        task_to_labels: dict[Any, list] = {}
        self.aggregators_ = {}
        for label in classes:
            single = data[["task", "worker"]].copy()
            single["label"] = np.fromiter(
                (int(label in labels) for labels in data["label"]), dtype=np.int64, count=len(data)
            )
            aggregator = _clone(self.base_aggregator)
            aggregator.fit_predict(single)
            self.aggregators_[label] = aggregator
            for task, value in aggregator.labels_.items():
                chosen = task_to_labels.setdefault(task, [])
                if value:
                    chosen.append(label)
        if not task_to_labels:
            self.labels_ = pd.Series(task_to_labels, dtype=float, name="agg_label")
        else:
            self.labels_ = pd.Series(task_to_labels, name="agg_label")
        if len(self.labels_):
            self.labels_.index.name = "task"
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).labels_


def _clone(aggregator: _Aggregator) -> _Aggregator:
    """A new unfitted aggregator with the same public parameters (crowd-kit's clone_aggregator)."""
    params = {
        name: value
        for name, value in aggregator.__dict__.items()
        if not (name.startswith("_") or name.endswith("_"))
    }
    return type(aggregator)(**params)


class WeightedDynamicOverlap(_Aggregator):
    """Toloka's aggregation by skill (``WEIGHTED_DYNAMIC_OVERLAP``): each task's label is the one
    with the largest summed skill of the workers who gave it, and the confidence is Toloka's
    posterior formula. Skills are Toloka's 0–100 values (``skill_scale=100`` for fractions of 1).

    ``fit(data, skills)`` takes a Series of skills indexed by worker; ``labels_`` and
    ``confidence_`` (Series indexed by task) hold the result (the formula gives no per-label
    probabilities).
    """

    _params = ("domain", "options", "on_missing_skill", "default_skill", "skill_scale")

    def __init__(
        self,
        domain: list | None = None,
        options: int | None = None,
        on_missing_skill: str = "error",
        default_skill: float | None = None,
        skill_scale: float | None = None,
    ):
        self.domain = domain
        self.options = options
        self.on_missing_skill = on_missing_skill
        self.default_skill = default_skill
        self.skill_scale = skill_scale

    def _rust_params(self) -> dict[str, Any]:
        params = super()._rust_params()
        if self.domain is not None and self.options is not None:
            raise ValueError("give either domain or options, not both")
        if self.domain is not None:
            # The domain's values are labels; the core sees label codes, so the declared domain
            # is passed as its size (labels outside it are checked here, by value).
            extra = set(self.domain)
            params["options"] = len(extra)
            params.pop("domain")
        return params

    def fit(self, data: pd.DataFrame, skills: pd.Series) -> WeightedDynamicOverlap:
        coded = _frames.responses(data)
        if self.domain is not None:
            outside = [label for label in coded.labels.uniques if label not in set(self.domain)]
            if outside:
                raise ValueError(
                    f"answer domain has {len(set(self.domain))} values but the responses use "
                    f"label {outside[0]!r} outside it"
                )
        if coded.empty:
            self.labels_ = pd.Series(dtype=float, name="agg_label")
            self.confidence_ = pd.Series(dtype=float, name="confidence")
            return self
        result = _frames.fit(
            "WeightedDynamicOverlap",
            self._rust_params(),
            coded,
            skills=_skills_array(coded, skills),
        )
        self._set_labels(coded, result)
        self.confidence_ = pd.Series(
            result["confidence"], index=coded.tasks.uniques.copy(), name="confidence"
        )
        return self

    def fit_predict(self, data: pd.DataFrame, skills: pd.Series) -> pd.Series:
        return self.fit(data, skills).labels_

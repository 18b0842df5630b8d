"""crowd-kit's pairwise aggregators with crowdagg's Rust core: ``BradleyTerry`` and
``NoisyBradleyTerry`` on ``worker, left, right, label`` frames (label = the preferred item).

crowdagg runs the published algorithms by default: Bradley-Terry's MM iteration until the scores
stop moving (crowd-kit stops after two steps whatever ``n_iter`` says) and Noisy Bradley-Terry's
exact gradient (crowd-kit's writes worker components one slot too low, assigns instead of
accumulating and flips the regulariser). ``compat="crowd-kit"`` reproduces crowd-kit's results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _core, _frames
from ._parameters import Parameterised

__all__ = ["BradleyTerry", "NoisyBradleyTerry"]


class _Pairwise(Parameterised):
    _method = ""

    def _fit(self, data: pd.DataFrame) -> dict | None:
        data = data[["worker", "left", "right", "label"]]
        if len(data) == 0:
            return None
        left, right, label = data["left"], data["right"], data["label"]
        won_left = (label == left).to_numpy()
        won_right = (label == right).to_numpy()
        if not (won_left | won_right).all():
            row = int(np.argmin(won_left | won_right))
            raise ValueError(
                f"label {label.iloc[row]!r} of row {row} is neither its left item "
                f"{left.iloc[row]!r} nor its right item {right.iloc[row]!r}"
            )
        items = _frames.code(pd.concat([left, right], ignore_index=True), "label")
        n = len(data)
        workers = _frames.code(data["worker"], "worker")
        result = _core.fit_pairwise(
            self._method,
            _frames._pairs(self._rust_params()),
            workers.codes,
            np.ascontiguousarray(items.codes[:n]),
            np.ascontiguousarray(items.codes[n:]),
            np.ascontiguousarray(won_left),
        )
        result["item_index"] = items.uniques.take(result["items"])
        result["worker_index"] = workers.uniques.take(result["workers"])
        return result

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).scores_


class BradleyTerry(_Pairwise):
    """Bradley-Terry item scores by the MM algorithm (Hunter 2004); crowd-kit ``BradleyTerry``.
    ``n_iter`` is required, as in crowd-kit."""

    _method = "BradleyTerry"
    _params = ("n_iter", "tol", "compat")

    def __init__(self, n_iter: int, tol: float = 1e-5, compat: str = "correct"):
        self.n_iter = n_iter
        self.tol = tol
        self.compat = compat

    def fit(self, data: pd.DataFrame) -> BradleyTerry:
        result = self._fit(data)
        self.loss_history_: list[float] = []
        if result is None:
            self.scores_ = pd.Series([], dtype=np.float64, name="agg_score")
            return self
        index = pd.Index(result["item_index"]).rename(None)
        self.scores_ = pd.Series(result["scores"], index=index, name="agg_score")
        self.loss_history_ = list(result["loss_history"])
        return self


class NoisyBradleyTerry(_Pairwise):
    """Bradley-Terry with worker biases and skills (Bugakova et al. 2019); crowd-kit
    ``NoisyBradleyTerry``: ``scores_`` per item, ``biases_`` and ``skills_`` per worker."""

    _method = "NoisyBradleyTerry"
    _params = ("n_iter", "tol", "regularization_ratio", "random_state", "compat")

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        regularization_ratio: float = 1e-5,
        random_state: int = 0,
        compat: str = "correct",
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.regularization_ratio = regularization_ratio
        self.random_state = random_state
        self.compat = compat

    def fit(self, data: pd.DataFrame) -> NoisyBradleyTerry:
        result = self._fit(data)
        if result is None:
            self.scores_ = pd.Series([], dtype=np.float64, name="agg_score")
            self.biases_ = pd.Series([], dtype=np.float64, name="bias")
            self.skills_ = pd.Series([], dtype=np.float64, name="skill")
            return self
        items = pd.Index(result["item_index"], name="label")
        workers = pd.Index(result["worker_index"]).rename(None)
        self.scores_ = pd.Series(result["scores"], index=items, name="agg_score")
        self.biases_ = pd.Series(result["biases"], index=workers, name="bias")
        self.skills_ = pd.Series(result["skills"], index=workers, name="skill")
        return self

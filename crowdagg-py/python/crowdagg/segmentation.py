"""crowd-kit's image segmentation aggregators with crowdagg's Rust core:
``SegmentationMajorityVote``, ``SegmentationRASA`` and ``SegmentationEM`` on ``task, worker,
segmentation`` frames (a 2-D boolean numpy array per row; the masks of a task share a shape).
``segmentations_`` is a Series of 2-D boolean arrays indexed by ``task``, named
``agg_segmentation``, as crowd-kit's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _core, _frames
from ._parameters import Parameterised

__all__ = ["SegmentationEM", "SegmentationMajorityVote", "SegmentationRASA"]


class _Segmentation(Parameterised):
    _method = ""

    def _fit(self, data: pd.DataFrame, skills: np.ndarray | None = None) -> None:
        tasks = _frames.code(data["task"], "task")
        workers = _frames.code(data["worker"], "worker")
        masks = []
        for row, mask in enumerate(data["segmentation"]):
            array = np.asarray(mask)
            if array.ndim != 2:
                raise ValueError(f"segmentation of row {row} is not a 2-D array")
            masks.append(np.ascontiguousarray(array != 0))
        result = _core.fit_segmentation(
            self._method, self._rust_pairs(), tasks.codes, workers.codes, masks, skills
        )
        index = tasks.uniques.copy()
        index.name = "task"
        self.segmentations_ = pd.Series(
            result["masks"], index=index, name="agg_segmentation", dtype=object
        )
        self.loss_history_ = list(result["loss_history"])

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).segmentations_


class SegmentationMajorityVote(_Segmentation):
    """A pixel is in the aggregate iff the (skill-weighted) majority of masks has it; ties
    include it (Lee et al. 2018); crowd-kit ``SegmentationMajorityVote``.

    ``on_missing_skill``: ``"error"`` (default), ``"ignore"`` (drop the masks of workers
    without a skill; a task left with none is an error) or ``"value"`` (use
    ``default_skill``), as crowd-kit."""

    _method = "SegmentationMajorityVote"
    _params = ()
    # Both are handled in Python, before the core sees the skills.
    _repr_params = ("default_skill", "on_missing_skill")

    def __init__(self, default_skill: float | None = None, on_missing_skill: str = "error"):
        self.default_skill = default_skill
        self.on_missing_skill = on_missing_skill

    def fit(self, data: pd.DataFrame, skills: pd.Series | None = None) -> SegmentationMajorityVote:
        data = data[["task", "worker", "segmentation"]]
        self.skills_ = skills
        if skills is None:
            self._fit(data)
            return self
        if self.on_missing_skill != "value" and self.default_skill is not None:
            raise ValueError('default_skill is used but on_missing_skill is not "value"')
        row_skills = data["worker"].map(skills)
        missing = row_skills.isna()
        if self.on_missing_skill == "error" and missing.any():
            raise ValueError(
                f"Skill value is missing in {int(missing.sum())} assignments. Specify skills "
                "for every used worker or use different 'on_unknown_skill' value."
            )
        if self.on_missing_skill == "ignore" and missing.any():
            kept = data[~missing]
            dropped = data["task"].nunique() - kept["task"].nunique()
            if dropped > 0:
                raise ValueError(
                    f"{dropped} tasks has no workers with known skills. Provide at least one "
                    "worker with known skill for every task or use different 'on_unknown_skill' "
                    "value."
                )
            data, row_skills = kept, row_skills[~missing]
        if self.on_missing_skill == "value":
            if self.default_skill is None:
                raise ValueError('on_missing_skill is "value" but default_skill is None')
            row_skills = row_skills.fillna(self.default_skill)
        workers = _frames.code(data["worker"], "worker")
        per_worker = np.full(workers.n, np.nan)
        per_worker[workers.codes] = row_skills.to_numpy(dtype=np.float64)
        self._fit(data, np.ascontiguousarray(per_worker))
        return self

    def fit_predict(self, data: pd.DataFrame, skills: pd.Series | None = None) -> pd.Series:
        return self.fit(data, skills).segmentations_


class SegmentationRASA(_Segmentation):
    """Masks weighted by their IoU with the weighted vote, iterated (RASA adapted to
    segmentations); crowd-kit ``SegmentationRASA``."""

    _method = "SegmentationRASA"
    _params = ("n_iter", "tol")

    def __init__(self, n_iter: int = 10, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, data: pd.DataFrame) -> SegmentationRASA:
        self._fit(data[["task", "worker", "segmentation"]])
        return self


class SegmentationEM(_Segmentation):
    """EM over per-worker pixel accuracies (as crowd-kit codes it); crowd-kit
    ``SegmentationEM``."""

    _method = "SegmentationEM"
    _params = ("n_iter", "tol")

    def __init__(self, n_iter: int = 10, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, data: pd.DataFrame) -> SegmentationEM:
        self._fit(data[["task", "worker", "segmentation"]])
        return self

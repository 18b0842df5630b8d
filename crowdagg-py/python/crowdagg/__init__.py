"""crowdagg: crowdsourced label aggregation with a Rust core, a drop-in for crowd-kit's
classification aggregators (``from crowdagg import DawidSkene``)."""

from . import metrics
from ._core import version as _core_version
from .aggregation import (
    GLAD,
    KOS,
    MACE,
    MMSR,
    BinaryRelevance,
    DawidSkene,
    GoldMajorityVote,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
    WeightedDynamicOverlap,
    ZeroBasedSkill,
)
from .pairwise import BradleyTerry, NoisyBradleyTerry

__version__ = _core_version()

__all__ = [
    "GLAD",
    "KOS",
    "MACE",
    "MMSR",
    "BinaryRelevance",
    "BradleyTerry",
    "DawidSkene",
    "GoldMajorityVote",
    "MajorityVote",
    "NoisyBradleyTerry",
    "OneCoinDawidSkene",
    "Wawa",
    "WeightedDynamicOverlap",
    "ZeroBasedSkill",
    "metrics",
]

"""crowdagg: crowdsourced label aggregation with a Rust core, a drop-in for crowd-kit's
aggregators (``from crowdagg import DawidSkene``): classification, pairwise, texts, embeddings
and image segmentation."""

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
from .embeddings import HRRASA, RASA, ClosestToAverage
from .pairwise import BradleyTerry, NoisyBradleyTerry
from .segmentation import SegmentationEM, SegmentationMajorityVote, SegmentationRASA
from .texts import ROVER, TextHRRASA, TextRASA

__version__ = _core_version()

__all__ = [
    "GLAD",
    "HRRASA",
    "KOS",
    "MACE",
    "MMSR",
    "RASA",
    "ROVER",
    "BinaryRelevance",
    "BradleyTerry",
    "ClosestToAverage",
    "DawidSkene",
    "GoldMajorityVote",
    "MajorityVote",
    "NoisyBradleyTerry",
    "OneCoinDawidSkene",
    "SegmentationEM",
    "SegmentationMajorityVote",
    "SegmentationRASA",
    "TextHRRASA",
    "TextRASA",
    "Wawa",
    "WeightedDynamicOverlap",
    "ZeroBasedSkill",
    "metrics",
]

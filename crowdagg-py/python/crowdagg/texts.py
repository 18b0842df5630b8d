"""crowd-kit's text aggregators with crowdagg's Rust core: ``ROVER`` on ``task, worker, text``
frames, and ``TextRASA`` / ``TextHRRASA``, which encode the texts with an ``encoder`` callable
and pick one by its embedding (see ``crowdagg.embeddings``).

ROVER takes crowd-kit's ``tokenizer`` and ``detokenizer`` callables: the texts are tokenised in
Python with the callable, the tokens voted in Rust (word transition network, crowd-kit's costs
and tie order), and the voted tokens joined in Python with the detokenizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from . import _core, _frames
from ._parameters import Parameterised
from .embeddings import HRRASA, RASA

__all__ = ["ROVER", "TextHRRASA", "TextRASA"]


class ROVER(Parameterised):
    """Recognizer Output Voting Error Reduction (Fiscus 1997); crowd-kit ``ROVER``.

    ``tokenizer(text) -> list[str]`` and ``detokenizer(list[str]) -> str`` are required, as in
    crowd-kit; ``silent`` is accepted for compatibility (there is no progress bar)."""

    # The callables run in Python; the core takes no parameters.
    _repr_params = ("tokenizer", "detokenizer", "silent")

    def __init__(
        self,
        tokenizer: Callable[[str], list[str]],
        detokenizer: Callable[[list[str]], str],
        silent: bool = True,
    ):
        self.tokenizer = tokenizer
        self.detokenizer = detokenizer
        self.silent = silent

    def fit(self, data: pd.DataFrame) -> ROVER:
        data = data[["task", "worker", "text"]]
        tasks = _frames.code(data["task"], "task")
        tokens = [list(self.tokenizer(text)) for text in data["text"]]
        for row, row_tokens in enumerate(tokens):
            if not all(isinstance(t, str) for t in row_tokens):
                raise TypeError(f"the tokenizer gave a non-string token for row {row}")
        voted = _core.rover_vote(tasks.n, tasks.codes, tokens)
        texts = pd.Series(
            [self.detokenizer(words) for words in voted],
            index=tasks.uniques.copy(),
            name="agg_text",
        )
        texts.index.name = "task"
        self.texts_ = texts
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).texts_


class _TextWrapper:
    """crowd-kit's TextRASA/TextHRRASA: rename ``text`` to ``output``, add the encoder's
    embeddings, run the embedding method; ``texts_`` is the chosen output."""

    _inner_class: type = RASA

    def __init__(self, encoder: Callable[[str], Any], **params):
        self.encoder = encoder
        self._inner = self._inner_class(**params)
        self._inner._method = "Text" + self._inner._method

    def __getattr__(self, name: str):
        # Parameters and fitted attributes of the inner model (crowd-kit delegates so too).
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)

    def _encode(self, data: pd.DataFrame) -> pd.DataFrame:
        data = data[["task", "worker", "text"]].rename(columns={"text": "output"})
        return data.assign(embedding=data["output"].apply(self.encoder))

    def _true(self, true_objects):
        if true_objects is None:
            return None
        return true_objects.apply(self.encoder)

    def fit(self, data: pd.DataFrame, true_objects: pd.Series | None = None):
        self._inner.fit(self._encode(data), self._true(true_objects))
        return self

    def fit_predict_scores(self, data: pd.DataFrame, true_objects: pd.Series | None = None):
        return self._inner.fit_predict_scores(self._encode(data), self._true(true_objects))

    def fit_predict(self, data: pd.DataFrame, true_objects: pd.Series | None = None) -> pd.Series:
        chosen = self._inner.fit_predict(self._encode(data), self._true(true_objects))
        # The input's text dtype (object under pandas 2, str under pandas 3), as crowd-kit.
        texts = chosen["output"].rename("text")
        self.texts_ = texts
        return texts


class TextRASA(_TextWrapper):
    """RASA on texts embedded by ``encoder`` (crowd-kit ``TextRASA``; default ``tol`` 1e-5)."""

    _inner_class = RASA

    def __init__(
        self,
        encoder: Callable[[str], Any],
        n_iter: int = 100,
        tol: float = 1e-5,
        alpha: float = 0.05,
    ):
        super().__init__(encoder, n_iter=n_iter, tol=tol, alpha=alpha)


class TextHRRASA(_TextWrapper):
    """HRRASA on texts embedded by ``encoder`` (crowd-kit ``TextHRRASA``; default ``tol``
    1e-5)."""

    _inner_class = HRRASA

    def __init__(
        self,
        encoder: Callable[[str], Any],
        n_iter: int = 100,
        tol: float = 1e-5,
        lambda_emb: float = 0.5,
        lambda_out: float = 0.5,
        alpha: float = 0.05,
        calculate_ranks: bool = False,
        output_similarity: Any = "gleu",
    ):
        super().__init__(
            encoder,
            n_iter=n_iter,
            tol=tol,
            lambda_emb=lambda_emb,
            lambda_out=lambda_out,
            alpha=alpha,
            calculate_ranks=calculate_ranks,
            output_similarity=output_similarity,
        )

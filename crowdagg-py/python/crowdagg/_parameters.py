"""The plumbing every estimator class shares: its parameters as public attributes, named once
in ``_params`` (what the Rust core takes) so that ``repr`` and the core's ``key=value`` pairs
cannot drift apart."""

from __future__ import annotations

from typing import Any

from . import _frames


class Parameterised:
    """``_params``: the attributes passed to the Rust core; ``_repr_params``: those ``repr``
    shows, when they differ (a class whose parameters are all handled in Python)."""

    _params: tuple[str, ...] = ()
    _repr_params: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        names = self._params if self._repr_params is None else self._repr_params
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({args})"

    def _rust_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._params}

    def _rust_pairs(self) -> list[tuple[str, str]]:
        """The parameters as the core's ``key=value`` text pairs, None ones included (the core
        then says which parameter it could not read)."""
        return [(key, _frames._param_text(value)) for key, value in self._rust_params().items()]

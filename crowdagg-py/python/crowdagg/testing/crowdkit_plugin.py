"""A pytest plugin that runs crowd-kit's own test suite against crowdagg's classes.

``pytest -p crowdagg.testing.crowdkit_plugin <crowd-kit tests>``: before collection, crowdagg's
classes are assigned into the installed ``crowdkit.aggregation`` (and its ``classification``
module), so the unchanged test modules bind them on ``from crowdkit.aggregation import …``. At the
end the plugin reports how many instances of each class the tests built, so a silent fallback to
crowd-kit's own classes cannot pass unnoticed.
"""

from __future__ import annotations

import collections

import crowdagg

REPLACED = (
    "MajorityVote",
    "GoldMajorityVote",
    "Wawa",
    "ZeroBasedSkill",
    "DawidSkene",
    "OneCoinDawidSkene",
    "GLAD",
    "MMSR",
    "MACE",
    "KOS",
)

constructed: collections.Counter[str] = collections.Counter()


def _counting(cls: type) -> type:
    """A subclass with crowd-kit's name that counts its instances."""

    def __init__(self, *args, **kwargs):
        constructed[cls.__name__] += 1
        cls.__init__(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__})


def pytest_configure(config) -> None:
    from crowdkit import aggregation
    from crowdkit.aggregation import classification

    for name in REPLACED:
        ours = _counting(getattr(crowdagg, name))
        setattr(aggregation, name, ours)
        setattr(classification, name, ours)


def pytest_terminal_summary(terminalreporter) -> None:
    line = ", ".join(f"{name} {constructed[name]}" for name in REPLACED)
    terminalreporter.write_line(f"crowdagg classes constructed: {line}")
    missing = [name for name in REPLACED if constructed[name] == 0]
    if missing:
        terminalreporter.write_line(f"crowdagg classes never constructed: {', '.join(missing)}")

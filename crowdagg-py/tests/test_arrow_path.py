"""The Arrow C stream path (``_frames.arrow_codes``) against ``pandas.factorize(sort=True)``, the
path it replaces: the same codes and the same indexes (values, dtype, name) for every column type
it takes, the factorize path for every column it declines, and the same fit either way."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

import crowdagg
from crowdagg import _frames

pytest.importorskip("pyarrow")  # pandas exports the Arrow C stream through pyarrow

DATA = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "data"
COLUMNS = ("task", "worker", "label")


@pytest.fixture(autouse=True)
def arrow_for_small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_frames, "ARROW_MIN_ROWS", 0)


def frame(kind: str, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    t, w, lab = rng.integers(0, 500, n), rng.integers(0, 70, n), rng.integers(0, 12, n)
    if kind == "arrow strings":
        # Numeric-looking strings: pandas sorts them as text ("10" < "2").
        return pd.DataFrame(
            {"task": [str(x) for x in t], "worker": [f"w{x}" for x in w], "label": lab.astype(str)},
            dtype="string[pyarrow]",
        )
    if kind == "ArrowDtype":
        import pyarrow as pa

        names = {"task": [f"t{x}" for x in t], "worker": w, "label": lab.astype(str)}
        return pd.DataFrame(names).astype(
            {"task": pd.ArrowDtype(pa.large_string()), "label": pd.ArrowDtype(pa.string())}
        )
    if kind == "integers":
        return pd.DataFrame({"task": t, "worker": w - 35, "label": lab})
    if kind == "narrow integers":
        return pd.DataFrame(
            {
                "task": t.astype(np.int32),
                "worker": w.astype(np.int16),
                "label": lab.astype(np.uint8),
            }
        )
    if kind == "non-ascii":
        labels = np.array(["Z", "a", "é", "b", "Ω"])[lab % 5]
        workers = [f"W{x}" if x % 2 else f"é{x}" for x in w]
        return pd.DataFrame(
            {"task": [chr(0x4E00 + x) for x in t], "worker": workers, "label": labels},
            dtype="string[pyarrow]",
        )
    if kind == "object strings":
        return frame("arrow strings", n).astype(object)
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind", ["arrow strings", "ArrowDtype", "integers", "narrow integers", "non-ascii"]
)
def test_arrow_codes_equal_factorize(kind: str) -> None:
    data = frame(kind)
    fast = _frames.arrow_codes(data)
    assert fast is not None, "the Arrow path applies to this table"
    for coded, name in zip((fast.tasks, fast.workers, fast.labels), COLUMNS):
        expected = _frames.code(data[name], name)
        np.testing.assert_array_equal(coded.codes, expected.codes)
        pd.testing.assert_index_equal(coded.uniques, expected.uniques, exact=True)


def declined() -> dict[str, pd.DataFrame]:
    base = frame("integers")
    task = base["task"]
    return {
        "object strings (pyarrow would copy them)": frame("object strings"),
        "python ints in an object column": base.astype({"task": object}),
        "mixed ints and strings": base.assign(task=[x if x % 2 else str(x) for x in task]),
        "an empty string": base.assign(task=["" if x == 3 else f"t{x}" for x in task]),
        "bool labels": base.assign(label=base["label"] % 2 == 0),
        "float labels": base.assign(label=base["label"] / 2),
        "a categorical column": base.astype({"worker": "category"}),
        "uint64 workers": base.astype({"worker": np.uint64}).assign(worker=lambda d: d.worker + 40),
    }


@pytest.mark.parametrize("case", list(declined()))
def test_other_tables_take_the_factorize_path(case: str) -> None:
    data = declined()[case]
    assert _frames.arrow_codes(data) is None
    coded = _frames.responses(data)  # the factorize path codes them
    assert coded.tasks.n == data["task"].nunique()


def test_missing_values_raise_as_on_the_factorize_path() -> None:
    data = frame("arrow strings")
    data.loc[5, "worker"] = None
    assert _frames.arrow_codes(data) is None
    with pytest.raises(ValueError, match="column 'worker' has missing values"):
        _frames.responses(data)


def test_missing_column_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        crowdagg.DawidSkene().fit(frame("integers").drop(columns="label"))


def test_fit_is_the_same_through_either_path(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pd.read_csv(DATA / "web" / "responses.csv", dtype="string[pyarrow]")
    assert _frames.arrow_codes(data) is not None
    fast = crowdagg.DawidSkene(n_iter=30).fit(data)
    monkeypatch.setattr(_frames, "ARROW_MIN_ROWS", 1 << 62)
    slow = crowdagg.DawidSkene(n_iter=30).fit(data)
    pd.testing.assert_series_equal(fast.labels_, slow.labels_)
    pd.testing.assert_frame_equal(fast.probas_, slow.probas_, check_exact=True)
    pd.testing.assert_frame_equal(fast.errors_, slow.errors_, check_exact=True)


def arrow_tables(data: pd.DataFrame) -> dict[str, object]:
    import pyarrow as pa

    tables: dict[str, object] = {"pyarrow": pa.Table.from_pandas(data, preserve_index=False)}
    try:
        import polars as pl
    except ImportError:
        return tables
    tables["polars"] = pl.from_pandas(data)
    return tables


@pytest.mark.parametrize("method", ["DawidSkene", "MajorityVote", "GLAD", "MACE", "Wawa"])
def test_arrow_tables_fit_as_the_same_pandas_frame(method: str) -> None:
    data = pd.read_csv(DATA / "rte" / "responses.csv", dtype={"task": str, "worker": str})
    expected = getattr(crowdagg, method)().fit_predict_proba(data)
    for source, table in arrow_tables(data).items():
        probas = getattr(crowdagg, method)().fit_predict_proba(table)
        assert list(probas.index) == list(expected.index), source
        assert list(probas.columns) == list(expected.columns), source
        np.testing.assert_array_equal(probas.to_numpy(), expected.to_numpy(), err_msg=source)


def test_arrow_table_missing_column_is_a_key_error() -> None:
    import pyarrow as pa

    table = pa.table({"task": ["a"], "worker": ["w"]})
    with pytest.raises(KeyError, match="label"):
        crowdagg.DawidSkene().fit(table)


def factorize_cases() -> dict[str, pd.Series]:
    rng = np.random.default_rng(5)
    ints = rng.integers(-50, 400, 3000)
    words = np.array([f"w{x}" for x in ints], dtype=object)
    return {
        "object strings": pd.Series(words),
        "numeric-looking strings": pd.Series([str(x) for x in ints], dtype=object),
        "non-ascii": pd.Series([chr(0x4E00 + (x % 90)) + "é" for x in ints], dtype=object),
        "int64": pd.Series(ints),
        "python ints": pd.Series(ints, dtype=object),
        "bool": pd.Series(ints % 2 == 0),
        "python bools": pd.Series(ints % 2 == 0, dtype=object),
        "floats": pd.Series(ints / 4),
        "mixed ints and strings": pd.Series([x if x % 3 else str(x) for x in ints], dtype=object),
        "ints and floats": pd.Series([x if x % 2 else x + 0.5 for x in ints], dtype=object),
        "string dtype": pd.Series(words).astype("string"),
        "categorical": pd.Series(words).astype("category"),
        "one value": pd.Series(["a"] * 10),
        "missing": pd.Series(["a", None, "b"] * 10),
    }


@pytest.mark.parametrize("case", list(factorize_cases()))
def test_sorted_factorize_is_pandas_factorize_sorted(case: str) -> None:
    column = factorize_cases()[case]
    codes, uniques = _frames.sorted_factorize(column)
    expected_codes, expected_uniques = pd.factorize(column, sort=True)
    np.testing.assert_array_equal(codes, expected_codes)
    pd.testing.assert_index_equal(pd.Index(uniques), pd.Index(expected_uniques), exact=True)

"""pandas in and out: column selection and integer coding on the way in, crowd-kit's Series and
DataFrames (index names, Series names, dtypes) on the way out.

Codes come from ``pandas.factorize(sort=True)``: pandas' sorted order is the order crowd-kit's
group-bys use under pandas 2 (numeric for numbers, code-point order for strings, False < True),
so the Rust core, which breaks ties towards the smallest code, breaks them as crowd-kit does.
Indexes are rebuilt from the factorize uniques, so their dtype is the input column's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _core


@dataclass
class Coded:
    """One column as integer codes plus the sorted distinct values they index."""

    codes: np.ndarray
    uniques: pd.Index

    @property
    def n(self) -> int:
        return len(self.uniques)


def code(column: pd.Series, name: str) -> Coded:
    """Integer codes of ``column`` in sorted order of its values; missing values are an error.

    A categorical column is used as it is (no re-encoding): its codes, in the order of its
    categories, which is the order pandas' group-bys (and so crowd-kit) use for it."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.cat.remove_unused_categories()
        codes = column.cat.codes.to_numpy()
        if len(codes) and codes.min() < 0:
            raise ValueError(f"column {name!r} has missing values")
        index = pd.CategoricalIndex(column.cat.categories, dtype=column.dtype, name=name)
        return Coded(np.ascontiguousarray(codes, dtype=np.int64), index)
    codes, uniques = sorted_factorize(column)
    if len(codes) and codes.min() < 0:
        raise ValueError(f"column {name!r} has missing values")
    index = pd.Index(uniques, name=name)
    return Coded(np.ascontiguousarray(codes, dtype=np.int64), index)


def sorted_factorize(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(column, sort=True)``, twice as fast on many distinct values: factorize in
    order of appearance, sort the distinct values, renumber the codes through the ranks (pandas
    renumbers them with a second hash table). The order is pandas' own: for anything but mixed
    numbers and strings, pandas sorts the distinct values with ``argsort`` too; those mixed
    columns go to pandas as they are."""
    codes, uniques = pd.factorize(column, sort=False)
    if len(uniques) < 2 or (codes < 0).any():
        return pd.factorize(column, sort=True)  # nothing to sort, or missing values (-1 codes)
    if uniques.dtype == object and pd.api.types.infer_dtype(uniques, skipna=False) not in (
        "string",
        "integer",
        "boolean",
    ):
        return pd.factorize(column, sort=True)  # mixed types: pandas' safe_sort decides
    # Stable (timsort): distinct values have no ties, so any sort gives pandas' order, and
    # timsort is linear on values that come in sorted order (exports are often sorted by task).
    order = np.asarray(uniques.argsort(kind="stable"))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[codes], uniques.take(order)


def code_against(column: pd.Series, uniques: pd.Index) -> np.ndarray:
    """Codes of ``column`` in an existing vocabulary (-1 where a value is not in it)."""
    return np.ascontiguousarray(uniques.get_indexer(column), dtype=np.int64)


@dataclass
class Responses:
    """A task/worker/label table, coded."""

    tasks: Coded
    workers: Coded
    labels: Coded

    @property
    def empty(self) -> bool:
        return len(self.tasks.codes) == 0


def frame(data) -> pd.DataFrame:
    """``data`` as a pandas DataFrame: a DataFrame as it is; any other table that exports the
    Arrow C stream (polars, pyarrow, duckdb) converted through pyarrow."""
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "__arrow_c_stream__"):
        import pyarrow as pa  # the exporter (polars, pyarrow, duckdb) comes with it

        return pa.RecordBatchReader.from_stream(data).read_all().to_pandas()
    raise TypeError(f"expected a pandas DataFrame or an Arrow table, got {type(data).__name__}")


def responses(data) -> Responses:
    """Selects ``task``, ``worker``, ``label`` (a missing column raises ``KeyError``, as in
    crowd-kit) and codes each: through Arrow when :func:`arrow_codes` applies, else with
    :func:`code`. Both give the same codes and indexes.

    ``data`` may also be any table that exports the Arrow C stream (polars, pyarrow,
    duckdb): its columns are factorized in Rust without a pandas copy; string names come back
    as a pandas Index as ``to_pandas()`` would type it, integers as int64."""
    if not isinstance(data, pd.DataFrame):
        coded = stream_codes(data) if hasattr(data, "__arrow_c_stream__") else None
        return coded if coded is not None else responses(frame(data))
    data = data[["task", "worker", "label"]]
    coded = arrow_codes(data)
    if coded is not None:
        return coded
    return Responses(
        code(data["task"], "task"), code(data["worker"], "worker"), code(data["label"], "label")
    )


ARROW_MIN_ROWS = 1 << 15
"""Below this many rows ``pandas.factorize`` is as quick as exporting to Arrow."""


def arrow_codes(data: pd.DataFrame) -> Responses | None:
    """The fast path: the three columns leave pandas through the Arrow C stream interface
    (``__arrow_c_stream__``, pandas >= 2.2 with pyarrow), zero-copy for Arrow-backed string
    and integer columns, and are factorized in Rust on all threads. ``None`` where it does not
    apply (a small table, an object, categorical, bool or float column, missing values, an
    empty string, no pyarrow): :func:`code` then gives the same codes, or crowd-kit's error."""
    columns = [data[name] for name in ("task", "worker", "label")]
    if len(data) < ARROW_MIN_ROWS or not all(_arrow_eligible(c) for c in columns):
        return None
    try:
        capsule = data.__arrow_c_stream__()
    except (AttributeError, ImportError, TypeError, ValueError, NotImplementedError):
        # No exporter (pandas < 2.2), no pyarrow, or values pyarrow cannot type (mixed).
        return None
    out = _core.factorize_arrow(capsule, ["task", "worker", "label"])
    if isinstance(out, str):
        return None
    coded = []
    for column, (codes, names, is_integer) in zip(columns, out):
        if is_integer != (column.dtype.kind in "iu"):
            return None  # an Arrow type that disagrees with the pandas dtype: let pandas code it
        coded.append(Coded(codes, _index(names, column)))
    return Responses(*coded)


def stream_codes(table) -> Responses | None:
    """:func:`arrow_codes` for a table that is not a pandas DataFrame; ``None`` where it does
    not apply (then the table goes through pandas)."""
    out = _core.factorize_arrow(table.__arrow_c_stream__(), ["task", "worker", "label"])
    if isinstance(out, str):
        return None
    return Responses(
        *(
            Coded(codes, pd.Index(names, dtype=np.int64 if is_integer else None, name=name))
            for (codes, names, is_integer), name in zip(out, ("task", "worker", "label"))
        )
    )


def _arrow_eligible(column: pd.Series) -> bool:
    """Columns that leave pandas without a copy: Arrow-backed strings (pandas 3's ``str``,
    ``string[pyarrow]``, ``ArrowDtype``) and integers (not uint64, whose values may pass
    int64's range). Object columns are not: pyarrow would copy every string (measured: twice
    the peak memory of ``factorize``, for no speed-up)."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return True  # the Rust side declines types other than strings and integers
    return isinstance(dtype, np.dtype) and (
        dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8)
    )


def _index(names, column: pd.Series) -> pd.Index:
    """The index ``pd.Index(pd.factorize(column, sort=True)[1])`` would be, from sorted names
    (of a column :func:`_arrow_eligible` took)."""
    if isinstance(column.dtype, (pd.StringDtype, pd.ArrowDtype)):
        uniques = pd.array(names, dtype=column.dtype)
    else:
        uniques = np.asarray(names).astype(column.dtype)
    return pd.Index(uniques, name=column.name)


def fit(
    method: str,
    params: dict,
    coded: Responses,
    gold: tuple[np.ndarray, np.ndarray] | None = None,
    skills: np.ndarray | None = None,
) -> dict:
    """Runs the Rust core on coded responses (the GIL is released during the fit)."""
    return named_errors(coded, _core.fit, method, _pairs(params), *_columns(coded), gold, skills)


def fit_dawid_skene(params: dict, coded: Responses, gold, strategy: str, initial) -> dict:
    """Dawid-Skene with initial error matrices (codes from ``_initial_error_codes``)."""
    return named_errors(
        coded, _core.fit_dawid_skene, _pairs(params), *_columns(coded), gold, strategy, initial
    )


def fit_glad(params: dict, coded: Responses) -> dict:
    """GLAD, with ``betas`` (per task) beside the usual results."""
    return named_errors(coded, _core.fit_with_extras, "GLAD", _pairs(params), *_columns(coded))


def fit_mace(params: dict, coded: Responses) -> dict:
    """MACE, with ``spamming`` and ``thetas`` (per worker, in code order)."""
    return named_errors(coded, _core.fit_with_extras, "MACE", _pairs(params), *_columns(coded))


_CODE_IN_MESSAGE = re.compile(r'\b(task|worker|label) "(\d+)"')


def named_errors(coded: Responses, function, *args):
    """Calls ``function``; the core names tasks, workers and labels by their codes (it never
    sees the names), so a ``ValueError`` it raises gets the real names back."""
    try:
        return function(*args)
    except ValueError as error:
        columns = {"task": coded.tasks, "worker": coded.workers, "label": coded.labels}

        def name(match: re.Match) -> str:
            column, code = columns[match.group(1)], int(match.group(2))
            value = column.uniques[code] if code < column.n else code
            return f"{match.group(1)} {value!r}"

        raise ValueError(_CODE_IN_MESSAGE.sub(name, str(error))) from None


def _pairs(params: dict) -> list[tuple[str, str]]:
    return [(key, _param_text(value)) for key, value in params.items() if value is not None]


def _columns(coded: Responses) -> tuple:
    return (
        coded.tasks.n,
        coded.workers.n,
        coded.labels.n,
        coded.tasks.codes,
        coded.workers.codes,
        coded.labels.codes,
    )


def _param_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def labels_series(coded: Responses, label_codes: np.ndarray, name: str = "agg_label") -> pd.Series:
    """Aggregated labels indexed by task, with the labels' own dtype."""
    values = coded.labels.uniques.take(label_codes)
    return pd.Series(values, index=coded.tasks.uniques.copy(), name=name)


def task_label_frame(coded: Responses, matrix: np.ndarray, columns_name: str | None = "label"):
    """A tasks × labels matrix as crowd-kit's ``probas_``."""
    columns = coded.labels.uniques.copy()
    columns.name = columns_name
    return pd.DataFrame(matrix, index=coded.tasks.uniques.copy(), columns=columns)


def worker_series(coded: Responses, values: np.ndarray, name: str) -> pd.Series:
    """Per-worker values (NaN = not rated, dropped) indexed by worker."""
    series = pd.Series(values, index=coded.workers.uniques.copy(), name=name)
    return series[series.notna()]


def label_series(coded: Responses, values: np.ndarray, name: str | None) -> pd.Series:
    """Per-label values indexed by label."""
    return pd.Series(values, index=coded.labels.uniques.copy(), name=name)


def errors_frame(coded: Responses, errors: np.ndarray, observed_only: bool = True) -> pd.DataFrame:
    """workers × observed × true confusion array as crowd-kit's ``errors_``: rows
    (worker, observed label) for the pairs that occur in the data, in order of first appearance
    (every pair, in code order, with ``observed_only=False``), columns the true labels."""
    if observed_only:
        # crowd-kit's M-step groups by (worker, label) with sort=False: rows in order of first
        # appearance in the data.
        observed = pd.unique(coded.workers.codes * coded.labels.n + coded.labels.codes)
    else:
        observed = np.arange(coded.workers.n * coded.labels.n)
    worker_codes, label_codes = np.divmod(observed, coded.labels.n)
    index = pd.MultiIndex.from_arrays(
        [coded.workers.uniques.take(worker_codes), coded.labels.uniques.take(label_codes)],
        names=["worker", "label"],
    )
    columns = coded.labels.uniques.copy()
    columns.name = None
    return pd.DataFrame(errors[worker_codes, label_codes, :], index=index, columns=columns)

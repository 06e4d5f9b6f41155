"""The checks and hashes behind the text and tabular modalities
(:mod:`robustcheck.modalities`): validating texts, frames and labels, hashing rows, and
telling changed rows from unchanged ones, nullable dtypes included. A leaf: numpy, pandas
(imported when needed) and the errors only."""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .errors import InvalidArgument

__all__ = ["changed_rows", "check_column_names", "hash_rows", "is_frame", "labels_of",
           "pack_rows", "row_keys", "texts_of"]


def is_frame(x: Any) -> bool:
    return type(x).__name__ == "DataFrame" and type(x).__module__.startswith("pandas")


def _is_series(x: Any) -> bool:
    return type(x).__name__ == "Series" and type(x).__module__.startswith("pandas")


def _refuse_unordered(value: Any, name: str, fix: str) -> None:
    """A dict or a set is no data set: iterating one gives its keys, in an order that a
    set does not even keep from run to run, so samples could not be tied to labels."""
    if isinstance(value, Mapping):
        raise InvalidArgument(f"{name} is a dict; {fix}")
    if isinstance(value, (set, frozenset)):
        raise InvalidArgument(
            f"{name} is a set, which has no order (samples could not be tied to their "
            f"labels, positions or seeds); pass a list, e.g. sorted({name})")


def texts_of(inputs: Any, labels: Any) -> list[str]:
    if isinstance(inputs, (str, bytes)):
        raise InvalidArgument(
            "inputs is a single string; pass a list of strings (one per sample)")
    _refuse_unordered(inputs, "inputs", "pass a list of texts, a pandas Series, or a "
                      "DataFrame (e.g. pandas.DataFrame(inputs))")
    if isinstance(labels, str):
        raise InvalidArgument(
            f"labels={labels!r} names a column, but inputs is not a DataFrame; pass "
            "the labels themselves (a list or array)")
    try:  # a generator is read once, like a list, as scikit-learn's text vectorisers do
        data = list(inputs.tolist() if _is_series(inputs) or isinstance(inputs, np.ndarray)
                    else inputs)
    except TypeError:
        raise InvalidArgument(
            f"inputs must be a list of strings, a pandas Series or a DataFrame; got "
            f"{type(inputs).__name__}") from None
    bad = next((i for i, x in enumerate(data) if not isinstance(x, str)), None)
    if bad is not None:
        raise InvalidArgument(
            f"inputs[{bad}] is {data[bad]!r} ({type(data[bad]).__name__}); text inputs "
            "must all be strings: fill or drop missing texts first")
    return data


def check_column_names(frame: Any) -> None:
    """Two columns with one name make ``frame[name]`` a frame, not a column."""
    repeated = frame.columns[frame.columns.duplicated()].unique()
    if len(repeated):
        names = repeated.tolist()[:20]
        positions = [int(i) for i in np.flatnonzero(frame.columns.isin(repeated))][:20]
        raise InvalidArgument(
            f"inputs has duplicated column names {names!r} (at positions {positions}); "
            "rename them so that every column has its own name")


def labels_of(labels: Any, n: int, column: Any = None) -> np.ndarray:
    """One plain Python label per input, none missing."""
    _refuse_unordered(labels, "labels", "pass a list or array with one label per input, "
                      "in the order of inputs")
    if isinstance(labels, Iterator):  # a generator: read once, like the inputs
        labels = list(labels)
    truth = np.asarray(labels.tolist() if _is_series(labels) else labels, dtype=object)
    if truth.ndim != 1 or len(truth) != n:
        raise InvalidArgument(
            f"labels has {truth.size} entries for {n} inputs; pass one label "
            "per input (or labels=None)")
    _refuse_missing(truth, column)
    return _normalise_labels(truth)


def _refuse_missing(truth: np.ndarray, column: Any) -> None:
    """A missing label cannot be scored: accuracy would count every answer to it wrong."""
    import pandas as pd

    missing = np.flatnonzero(pd.isna(truth))  # None, NaN, pd.NA and NaT, in one C loop
    if missing.size == 0:
        return
    first = int(missing[0])
    where = f"labels[{first}]" if column is None else f"labels[{first}] (column {column!r})"
    count = f"{missing.size} missing label{'s' if missing.size > 1 else ''}"
    fix = ("drop those samples" if column is None
           else f"drop those rows, e.g. inputs.dropna(subset=[{column!r}]),")
    raise InvalidArgument(f"{where} is {_missing_name(truth[first])} ({count}); {fix} or "
                          "pass labels=None")


def _missing_name(value: Any) -> str:
    import pandas as pd

    if value is None:
        return "None"
    if value is pd.NA:
        return "pd.NA"
    if value is pd.NaT or isinstance(value, (np.datetime64, np.timedelta64)):
        return "NaT"
    return "NaN"


def _normalise_labels(arr: np.ndarray) -> np.ndarray:
    """Plain Python scalars (numpy.int64 -> int), so labels compare and serialise."""
    out = np.empty(len(arr), dtype=object)
    out[:] = [x.item() if isinstance(x, np.generic) else x for x in arr.tolist()]
    return out


def hash_rows(frame: Any) -> np.ndarray:
    """One 64-bit hash per row. Frames pandas hashes (all but a few) hash as they always
    have, so fingerprints stay comparable with older results."""
    import pandas as pd

    try:
        return np.asarray(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    except (TypeError, ValueError):  # a column pandas cannot hash: one column at a time
        pass
    out = np.zeros(len(frame), dtype=np.uint64)
    for j in range(frame.shape[1]):
        out *= np.uint64(0x100000001B3)  # wraps modulo 2**64: column order counts
        out ^= _hash_column(frame.iloc[:, j])
    return out


def _hash_column(column: Any) -> np.ndarray:
    """Hashes of one column's cells. Cells pandas cannot hash (tuples among numbers) are
    hashed by type and repr; a cell Python cannot hash (a list, a dict, an array) is an
    InvalidArgument naming it, since its row could be neither fingerprinted nor compared.
    A per-cell loop, but only for a column pandas refused."""
    import pandas as pd

    try:
        return np.asarray(pd.util.hash_pandas_object(column, index=False).to_numpy())
    except (TypeError, ValueError):
        pass
    values = column.to_numpy(dtype=object)
    texts = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        try:
            hash(value)
        except TypeError:
            raise InvalidArgument(
                f"inputs column {column.name!r} holds values that cannot be hashed: row {i} "
                f"is {reprlib.repr(value)} (a {type(value).__name__}); convert lists to "
                f"tuples or strings, e.g. frame[{column.name!r}] = "
                f"frame[{column.name!r}].map(tuple) or .astype(str)") from None
        texts[i] = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
    return np.asarray(pd.util.hash_array(texts))


def changed_rows(before: Any, after: Any) -> np.ndarray:
    """Rows whose values differ (missing equal to missing: NaN, None, pd.NA, NaT); every
    row when the schema changed."""
    n = len(before)
    if list(before.columns) != list(after.columns) or list(before.dtypes) != list(after.dtypes):
        return np.ones(n, dtype=bool)
    out = np.zeros(n, dtype=bool)
    for j in range(before.shape[1]):  # by position: a name may be repeated in ``after``
        out |= _column_changed(before.iloc[:, j], after.iloc[:, j])
    return out


def _column_changed(a: Any, b: Any) -> np.ndarray:
    """Cells of two columns of one dtype that differ. Values are compared only where
    both are present, since ``pd.NA == x`` is neither True nor False."""
    a_missing, b_missing = a.isna().to_numpy(), b.isna().to_numpy()
    present = ~(a_missing | b_missing)
    differ = a_missing ^ b_missing
    dtype = a.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":  # numpy compares these in C
        differ |= (a.to_numpy() != b.to_numpy()) & present
        return differ
    if present.all():
        differ |= _values_differ(a, b)
    elif present.any():
        differ[present] = _values_differ(a[present], b[present])
    return differ


def _values_differ(a: Any, b: Any) -> np.ndarray:
    """Where two columns of present values differ; NaN inside a nullable float (0/0, not
    pd.NA) equals NaN, as in a numpy column."""
    try:
        result = a.array != b.array
        found = np.asarray(result.to_numpy(dtype=bool, na_value=True)
                           if hasattr(result, "to_numpy") else result, dtype=bool)
        if found.shape == (len(a),):
            if getattr(a.dtype, "kind", "O") == "f":
                x = a.to_numpy(dtype=np.float64, na_value=np.nan)
                y = b.to_numpy(dtype=np.float64, na_value=np.nan)
                found &= ~(np.isnan(x) & np.isnan(y))
            return found
    except (TypeError, ValueError):  # cells whose == is no bool (arrays, pd.NA in tuples)
        pass
    return np.fromiter((_cells_differ(x, y) for x, y in zip(a.tolist(), b.tolist())),
                       dtype=bool, count=len(a))


def _cells_differ(x: Any, y: Any) -> bool:
    try:
        return bool(x != y)
    except (TypeError, ValueError):  # no truth value: count as changed, never as the same
        return x is not y


def row_keys(frame: Any) -> list[Any]:
    """A key per row of a perturbed frame: equal rows, equal keys (predicted once)."""
    try:
        return hash_rows(frame).tolist()
    except InvalidArgument:  # unhashable cells (lists): no deduplication, each row its own
        return list(range(len(frame)))


def pack_rows(row: Any, overrides: list[dict[Any, Any]]) -> Any:
    """Copies of a one-row frame, one per override dict ``{column: new value}``."""
    import pandas as pd

    batch = row.iloc[[0] * len(overrides)].reset_index(drop=True)
    touched: dict[Any, list[Any]] = {}
    for j, change in enumerate(overrides):
        for column, value in change.items():
            touched.setdefault(column, batch[column].tolist())[j] = value
    for column, values in touched.items():
        new = pd.Series(values, dtype=object).infer_objects()
        if isinstance(batch[column].dtype, pd.CategoricalDtype):
            new = new.astype(batch[column].dtype)  # keep the categories the model knows
        batch[column] = new
    return batch

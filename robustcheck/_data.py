"""The data set of a run: validated, copied and fingerprinted inputs and labels, the
perturbation step over them, and change detection between clean and perturbed inputs.

A leaf: it imports only the catalogue and the errors, so the runner, the assembly of
results and ``RunResult.failures`` can all use it without importing each other.
"""

from __future__ import annotations

import hashlib
import reprlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from perturbations import Perturbation

from .errors import InvalidArgument

__all__ = ["Dataset", "changed_rows", "fingerprint", "make_dataset", "perturb", "row_keys"]


@dataclass(frozen=True)
class Dataset:
    """Validated inputs: a list of strings (text) or a DataFrame (tabular)."""

    inputs: Any
    labels: np.ndarray | None
    modality: str
    fingerprint: str

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, positions: np.ndarray) -> Any:
        if self.modality == "text":
            return [self.inputs[i] for i in positions.tolist()]
        return self.inputs.iloc[positions]


def _is_frame(x: Any) -> bool:
    return type(x).__name__ == "DataFrame" and type(x).__module__.startswith("pandas")


def _is_series(x: Any) -> bool:
    return type(x).__name__ == "Series" and type(x).__module__.startswith("pandas")


def make_dataset(inputs: Any, labels: Any) -> Dataset:
    """Check and copy the user's data; nothing the user passed is modified."""
    column = None
    if _is_frame(inputs):
        _check_column_names(inputs)
        frame = inputs
        if isinstance(labels, (str, int)) and not isinstance(labels, bool):
            if labels not in frame.columns:
                raise InvalidArgument(
                    f"labels={labels!r} is not a column of inputs; columns are "
                    f"{[str(c) for c in frame.columns][:20]}"
                )
            column = labels
            labels = frame[column].to_numpy()
            frame = frame.drop(columns=[column])
        data: Any = frame.reset_index(drop=True).copy()
        modality = "tabular"
    else:
        data = _texts(inputs, labels)
        modality = "text"
    if len(data) == 0:
        raise InvalidArgument("inputs is empty; pass at least one sample")
    truth = None if labels is None else _labels(labels, len(data), column)
    return Dataset(data, truth, modality, fingerprint(data, truth, modality))


def _refuse_unordered(value: Any, name: str, fix: str) -> None:
    """A dict or a set is no data set: iterating one gives its keys, in an order that a
    set does not even keep from run to run, so samples could not be tied to labels."""
    if isinstance(value, Mapping):
        raise InvalidArgument(f"{name} is a dict; {fix}")
    if isinstance(value, (set, frozenset)):
        raise InvalidArgument(
            f"{name} is a set, which has no order (samples could not be tied to their "
            f"labels, positions or seeds); pass a list, e.g. sorted({name})")


def _texts(inputs: Any, labels: Any) -> list[str]:
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


def _check_column_names(frame: Any) -> None:
    """Two columns with one name make ``frame[name]`` a frame, not a column."""
    repeated = frame.columns[frame.columns.duplicated()].unique()
    if len(repeated):
        names = repeated.tolist()[:20]
        positions = [int(i) for i in np.flatnonzero(frame.columns.isin(repeated))][:20]
        raise InvalidArgument(
            f"inputs has duplicated column names {names!r} (at positions {positions}); "
            "rename them so that every column has its own name")


def _labels(labels: Any, n: int, column: Any = None) -> np.ndarray:
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


def fingerprint(data: Any, truth: np.ndarray | None, modality: str) -> str:
    """A hash of the inputs and labels: two results are comparable only when equal."""
    digest = hashlib.sha256(modality.encode())
    if modality == "text":
        for text in data:
            encoded = text.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "little"))
            digest.update(encoded)
    else:
        digest.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
        digest.update(_hash_rows(data).tobytes())
    if truth is not None:
        digest.update(repr(truth.tolist()).encode())
    return "sha256:" + digest.hexdigest()


def _hash_rows(frame: Any) -> np.ndarray:
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


def perturb(data: Dataset, p: Perturbation, severity: float, seed: int,
            positions: np.ndarray | None = None) -> Any:
    """The perturbed inputs (all, or those at ``positions``): the same for a position
    whether perturbed alone or with the whole data set."""
    if positions is None:
        if data.modality == "text":
            return p.apply(data.inputs, severity=severity, seed=seed)
        return p.apply(data.inputs, severity=severity, seed=seed, reference=data.inputs)
    if data.modality == "text":
        return p.apply(data.take(positions), severity=severity, seed=seed, indices=positions)
    return p.apply(data.take(positions), severity=severity, seed=seed, indices=positions,
                   reference=data.inputs)


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
        return _hash_rows(frame).tolist()
    except InvalidArgument:  # unhashable cells (lists): no deduplication, each row its own
        return list(range(len(frame)))

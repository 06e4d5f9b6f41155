"""The data set of a run: validated, copied and fingerprinted inputs and labels, the
perturbation step over them, and change detection between clean and perturbed inputs.

A leaf: it imports only the catalogue and the errors, so the runner, the assembly of
results and ``RunResult.failures`` can all use it without importing each other.
"""

from __future__ import annotations

import hashlib
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
    if _is_frame(inputs):
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
        if isinstance(inputs, (str, bytes)):
            raise InvalidArgument(
                "inputs is a single string; pass a list of strings (one per sample)")
        if isinstance(labels, str):
            raise InvalidArgument(
                f"labels={labels!r} names a column, but inputs is not a DataFrame; pass "
                "the labels themselves (a list or array)")
        try:
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
        modality = "text"
    if len(data) == 0:
        raise InvalidArgument("inputs is empty; pass at least one sample")
    truth = None
    if labels is not None:
        truth = np.asarray(labels.tolist() if _is_series(labels) else labels, dtype=object)
        if truth.ndim != 1 or len(truth) != len(data):
            raise InvalidArgument(
                f"labels has {truth.size} entries for {len(data)} inputs; pass one label "
                "per input (or labels=None)")
        truth = _normalise_labels(truth)
    return Dataset(data, truth, modality, fingerprint(data, truth, modality))


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
        import pandas as pd

        digest.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    if truth is not None:
        digest.update(repr(truth.tolist()).encode())
    return "sha256:" + digest.hexdigest()


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
    """Rows whose values differ (NaN equal to NaN); every row when the schema changed."""
    n = len(before)
    if list(before.columns) != list(after.columns) or list(before.dtypes) != list(after.dtypes):
        return np.ones(n, dtype=bool)
    out = np.zeros(n, dtype=bool)
    for column in before.columns:
        a, b = before[column], after[column]
        both_missing = a.isna().to_numpy() & b.isna().to_numpy()
        differ = (a.astype(object).to_numpy() != b.astype(object).to_numpy()) & ~both_missing
        out |= differ
    return out


def row_keys(frame: Any) -> list[Any]:
    import pandas as pd

    try:
        return pd.util.hash_pandas_object(frame, index=False).tolist()
    except TypeError:  # unhashable cells (lists): no deduplication, every row its own key
        return list(range(len(frame)))

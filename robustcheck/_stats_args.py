"""Argument checks of :mod:`robustcheck.stats`: confidence levels, counts, seeds, resample
counts and per-sample vectors, each refused with an
:class:`~robustcheck.errors.InvalidArgument` that names the argument and the fix."""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

from robustcheck._validate import check_seed
from robustcheck.errors import InvalidArgument


def _check_confidence(confidence: Any, name: str = "confidence") -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise InvalidArgument(
            f"{name} must be a number strictly between 0 and 1 (e.g. 0.95), "
            f"got {confidence!r}"
        )
    return float(confidence)


def _check_count(value: Any, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        count = operator.index(value)
    except TypeError:
        raise InvalidArgument(
            f"{name} must be a non-negative integer count, got {value!r} "
            f"({type(value).__name__})"
        ) from None
    if count < 0:
        raise InvalidArgument(f"{name} must be a non-negative integer count, got {count}")
    return count


_check_seed = check_seed


def _check_n_resamples(n_resamples: Any) -> int:
    try:
        if isinstance(n_resamples, bool):
            raise TypeError
        value = operator.index(n_resamples)
    except TypeError:
        value = 0
    if value < 1:
        raise InvalidArgument(
            f"n_resamples must be a positive integer (e.g. 2000), got {n_resamples!r}"
        )
    return value


def _as_float_vector(values: Any, name: str) -> np.ndarray:
    """A read-only view/copy of ``values`` as a 1-D float64 array of finite numbers."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"{name} must be a 1-D sequence of numbers, got {type(values).__name__} ({exc})"
        ) from None
    if arr.ndim != 1:
        raise InvalidArgument(
            f"{name} must be a 1-D sequence of numbers, got an array of shape {arr.shape}"
        )
    finite = np.isfinite(arr)
    if not finite.all():
        where = int(np.flatnonzero(~finite)[0])
        raise InvalidArgument(
            f"{name} must be finite numbers, but {name}[{where}] is {arr[where]!r} "
            f"({int((~finite).sum())} non-finite in total); drop or impute them first"
        )
    return arr


def _as_bool_vector(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D bool array; accepts bools or numbers that are all 0 or 1."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidArgument(
            f"{name} must be a 1-D sequence of booleans (one outcome per sample), "
            f"got an array of shape {arr.shape}"
        )
    if arr.dtype == np.bool_:
        return arr
    if arr.size == 0:
        return np.zeros(0, dtype=bool)
    if arr.dtype.kind in "iuf":
        ok = (arr == 0) | (arr == 1)
        if ok.all():
            return arr == 1
        where = int(np.flatnonzero(~ok)[0])
        raise InvalidArgument(
            f"{name} must hold booleans (or 0/1), but {name}[{where}] is {arr[where]!r}"
        )
    raise InvalidArgument(
        f"{name} must be a 1-D sequence of booleans (or 0/1), got dtype {arr.dtype}"
    )

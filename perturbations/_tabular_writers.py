"""Layer 2 of the tabular catalogue: writing values back into columns of any dtype.

A perturbation decides which cells change and to what; these functions put the new
values in without breaking the column: numpy and nullable (Int64, Float64, string,
boolean) columns keep their dtype when the values fit it and are widened as pandas would
widen them when not, categoricals gain the new categories, and untouched cells are
copied as they were (never round-tripped through float or str).

The dtype a column gets never depends on which cells are written, only on its dtype and
on what the perturbation can write into it (a value, the categories it can add, whether
integers stay integers). A batch of a few rows then gets the dtypes of the same rows of
the whole table, and a run in parts or shards sees the inputs of a run in one piece.

Imports only :mod:`._tabular_columns`; the perturbations import this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._tabular_columns import as_objects, floats

__all__ = [
    "ArrayLike",
    "copy_on_write",
    "fits_integers",
    "objects_with",
    "quiet",
    "set_column",
    "splice",
    "start_frame",
    "write_numbers",
    "write_text",
    "write_value",
]

ArrayLike = Any  # a numpy array or pandas ExtensionArray, set with DataFrame.isetitem


# -- the frame written into -------------------------------------------------------------


def start_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame to write into. Columns are replaced whole, never written in place, so
    under copy-on-write a shallow copy already protects the input."""
    return frame.copy(deep=not copy_on_write())


def copy_on_write() -> bool:
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


def set_column(out: pd.DataFrame, j: int, values: Any) -> None:
    """Replace column ``j``. An object array stays object: pandas >= 3 would otherwise
    infer a string dtype (and turn None into NaN) whenever the cells it holds are all
    strings, which would make the dtype depend on the rows of the batch."""
    if isinstance(values, pd.arrays.NumpyExtensionArray):  # what Series.mask(...).array gives
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype == object:
        values = pd.Series(values, index=out.index, dtype=object, copy=False)
    out.isetitem(j, values)


def quiet(func: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Overflow to inf on extreme values (1e308 x 1000) is expected, not worth a warning."""

    @functools.wraps(func)
    def silenced(*args: Any, **kwargs: Any) -> pd.DataFrame:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return func(*args, **kwargs)

    return silenced


# -- numbers ----------------------------------------------------------------------------


def fits_integers(values: np.ndarray, dtype: Any) -> bool:
    """Whether float ``values`` are whole numbers that an integer ``dtype`` holds exactly
    (False for NaN and inf)."""
    if not (values == np.floor(values)).all():  # False for NaN and inf too
        return False
    if values.size == 0:
        return True
    low, high = _integer_range(dtype)
    return bool(values.min() >= low and values.max() <= high)


def _integer_range(dtype: Any) -> tuple[float, float]:
    """The smallest and largest float an integer ``dtype`` holds exactly (2**63 - 1 is no
    float: int64's largest is the float below 2**63)."""
    info = np.iinfo(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
    low, high = float(info.min), float(info.max)
    if high > info.max:  # rounded up past the largest integer
        high = float(np.nextafter(high, 0.0))
    return low, high


def write_numbers(s: pd.Series, hit: np.ndarray, values: np.ndarray, *,
                  keep_integers: bool) -> ArrayLike:
    """``s`` with the cells under ``hit`` set to ``values`` (float64, one per hit cell),
    kept in ``s``'s dtype. An integer column either stays integer (``keep_integers``:
    values rounded and held within the dtype's range) or becomes float64 (Float64 for a
    nullable integer, so its missing cells stay pd.NA), whichever values are written: the
    caller decides from the column and its parameters, never from the rows at hand.
    Untouched cells are copied, never round-tripped through float (integers above 2**53
    stay exact)."""
    dtype = s.dtype
    if dtype.kind in "iu":
        if not keep_integers:
            out = np.array(floats(s), dtype=np.float64, copy=True)
            out[hit] = values
            if isinstance(s.array, pd.arrays.IntegerArray):  # nullable in, nullable out
                return pd.arrays.FloatingArray(out, s.isna().to_numpy())
            return out
        low, high = _integer_range(dtype)
        values = np.clip(np.round(values), low, high)
    if isinstance(dtype, np.dtype):
        if len(values) == len(s):  # every cell: no copy of the old values needed
            return values.astype(dtype)
        out = s.to_numpy(copy=True)
        out[hit] = values
        return out
    try:
        arr = s.array.copy()
        arr[hit] = values.astype(dtype.numpy_dtype) if dtype.kind in "iu" else values
        return arr
    except (TypeError, ValueError, AttributeError):  # an extension dtype that takes no floats
        out = np.array(floats(s), dtype=np.float64, copy=True)
        out[hit] = values
        return out


# -- any value --------------------------------------------------------------------------


def objects_with(s: pd.Series, hit: np.ndarray, values: Any) -> np.ndarray:
    """An object array: ``values`` under ``hit`` (a numpy str array becomes Python
    strs as it is written in), the column's own values elsewhere (converted only where
    kept: boxing a million timestamps is slow)."""
    out = np.empty(len(s), dtype=object)
    out[hit] = values
    keep = ~hit
    if not keep.any():
        return out
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
        # numpy boxes its numbers as Python's, as pandas' to_numpy(dtype=object) does,
        # straight into the object array: no Series, no intermediate object array
        out[keep] = s.to_numpy()[keep]
    else:
        out[keep] = as_objects(s[keep])
    return out


def write_text(s: pd.Series, hit: np.ndarray, texts: np.ndarray, *,
               categories: Sequence[Any] = ()) -> ArrayLike:
    """Put ``texts`` (one str per hit cell) into ``s``: string columns keep their dtype,
    other columns become object. A categorical column keeps its dtype and gains
    ``categories`` (those not already in it, in their order): every value the
    perturbation can write into it, so that its categories do not depend on the rows
    written. A text outside them is a bug of the caller, and pandas raises."""
    texts = np.asarray(texts, dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.array
        fresh = [c for c in dict.fromkeys(categories) if c not in cat.categories]
        cat = cat.add_categories(fresh) if fresh else cat.copy()
        cat[hit] = texts
        return cat
    if isinstance(s.dtype, pd.StringDtype):
        arr = s.array.copy()
        arr[hit] = texts
        return arr
    return objects_with(s, hit, texts)


def write_value(s: pd.Series, hit: np.ndarray, value: Any) -> ArrayLike:
    """Put one value into the cells under ``hit``. The column takes the dtype that holds
    it (upcast only if needed), whether or not a cell is written: a column of small
    integers given -999 becomes Int16 in a batch where no cell was blanked too."""
    if isinstance(s.dtype, pd.CategoricalDtype) and value is not None:
        return write_text(s, hit, np.full(int(hit.sum()), value, dtype=object),
                          categories=[value])
    dtype = _dtype_holding(s, value)
    if dtype == np.dtype(object):
        return objects_with(s, hit, value)
    column = s if s.dtype == dtype else s.astype(dtype)
    return column.mask(hit, value).array


def _dtype_holding(s: pd.Series, value: Any) -> Any:
    """The dtype ``s`` takes when ``value`` is written into one of its cells, as pandas'
    mask upcasts it; object when pandas cannot hold it otherwise. ``s`` has a row."""
    one = s.iloc[:1]
    try:
        return one.mask(np.ones(1, dtype=bool), value).dtype
    except OverflowError:  # -999 into a nullable UInt8: widen it, as pandas does a numpy one
        wider = _wider_nullable(s.dtype, value)
        return np.dtype(object) if wider is None else wider
    except (TypeError, ValueError):  # e.g. a number into a column of a strict string dtype
        return np.dtype(object)


def _wider_nullable(dtype: Any, value: Any) -> Any:
    """The smallest nullable numeric dtype holding both ``dtype``'s values and ``value``
    (numpy's promotion rules, e.g. UInt8 and -999 -> Int16); None if there is none."""
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    wide = np.result_type(numpy_dtype, np.min_scalar_type(value))
    if wide.kind in "iu":
        return pd.api.types.pandas_dtype(f"{'U' if wide.kind == 'u' else ''}Int{wide.itemsize * 8}")
    return pd.Float64Dtype()


def splice(s: pd.Series, hit: np.ndarray, donor: pd.Series) -> ArrayLike:
    """``s`` with the cells under ``hit`` taken from ``donor`` (one value per hit cell)."""
    if s.dtype == donor.dtype:
        try:
            arr = s.array.copy()
            arr[hit] = donor.array
            return arr
        except (TypeError, ValueError):
            pass
    return objects_with(s, hit, as_objects(donor))

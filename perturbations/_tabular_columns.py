"""Layer 1 of the tabular catalogue: which columns and cells a perturbation touches, how
their values are read, and the seeded draws that decide it.

Everything above this module (the writers, the rendering of numbers and dates, the
perturbations) imports from it; it imports nothing of the tabular catalogue itself.

Draws are counter-based (:class:`~perturbations._random.Draws`): cell ``(i, c)`` takes
its bits from row ``i``'s key and a counter derived from the column *name*, so a row's
draws do not depend on the other rows in the batch nor on the column order. Whole-frame
decisions (which columns move) use :func:`column_draw`, the same for every batch.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InvalidArgument
from ._random import Draws, stable_hash

__all__ = [
    "IS_INSTANCE",
    "Column",
    "Spread",
    "any_dtype",
    "as_objects",
    "column_draw",
    "draw_choices",
    "draw_normals",
    "dtype_kind",
    "floats",
    "freeze_reference",
    "is_bool",
    "is_categorical",
    "is_datetime",
    "is_float",
    "is_numeric",
    "is_textlike",
    "kept",
    "pick_cells",
    "pick_columns",
    "pick_movers",
    "reference_column",
    "reference_floats",
    "reference_kept",
    "reference_spread",
    "string_cells",
]

Column = tuple[int, Hashable, pd.Series]
"""A column to perturb: its position, its label and its values."""


# -- dtypes -----------------------------------------------------------------------------


def dtype_kind(s: pd.Series) -> str:
    return str(getattr(s.dtype, "kind", "O"))


def is_numeric(s: pd.Series) -> bool:
    return dtype_kind(s) in "iuf"


def is_float(s: pd.Series) -> bool:
    return dtype_kind(s) == "f"


def is_bool(s: pd.Series) -> bool:
    return dtype_kind(s) == "b"


def is_datetime(s: pd.Series) -> bool:
    return dtype_kind(s) == "M"


def is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype)


def is_textlike(s: pd.Series) -> bool:
    """Object, string and categorical columns: where categories and free text live."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return bool(s.dtype.categories.dtype.kind == "O")
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def any_dtype(s: pd.Series) -> bool:
    return True


# -- choosing columns -------------------------------------------------------------------


def pick_columns(
    frame: pd.DataFrame,
    columns: Sequence[str] | None,
    default: Callable[[pd.Series], bool],
    applies: Callable[[pd.Series], bool] | None = None,
) -> list[Column]:
    """The columns to perturb: those ``default`` picks when ``columns`` is None, else the
    named ones that the perturbation ``applies`` to (others are left unchanged)."""
    if columns is None:  # every column, through items(): 13 us a column, iloc[:, j] 32 us
        return [(j, label, s) for j, (label, s) in enumerate(frame.items()) if default(s)]
    names = list(columns) if isinstance(columns, (list, tuple, set, frozenset, pd.Index,
                                                  np.ndarray)) else [columns]
    for name in names:
        if name not in frame.columns:
            shown = ", ".join(repr(c) for c in list(frame.columns)[:30])
            more = ", ..." if frame.shape[1] > 30 else ""
            raise InvalidArgument(
                f"columns: {name!r} is not a column of the frame; available columns: "
                f"{shown}{more}. Pass names from frame.columns, or columns=None to let "
                "the perturbation pick suitable columns by dtype"
            )
    wanted = set(names)
    keep = applies or default
    found = []
    for j, label in enumerate(frame.columns):
        if label in wanted:
            s = frame.iloc[:, j]
            if keep(s):
                found.append((j, label, s))
    return found


def pick_movers(draws: Draws, labels: Sequence[Hashable], share: float,
                least: int) -> list[int]:
    """Positions of the ``max(least, ceil(share * n))`` labels with the smallest per-name
    draw: a higher share picks a superset, and the pick ignores column positions."""
    if not labels:
        return []
    keys = [column_draw(draws, 1, label) for label in labels]
    count = min(len(labels), max(least, math.ceil(share * len(labels))))
    return sorted(range(len(labels)), key=keys.__getitem__)[:count]


# -- reading values ---------------------------------------------------------------------


def reference_column(reference: pd.DataFrame | None, label: Hashable,
                     own: pd.Series) -> pd.Series:
    """``reference[label]``, or the column itself when the reference lacks it."""
    if reference is None or label not in reference.columns:
        return own
    found = reference.loc[:, label]
    return found if isinstance(found, pd.Series) else own  # duplicated label: ambiguous


def floats(s: pd.Series) -> np.ndarray:
    """A numeric column as float64 with NaN for missing (may share memory: read only)."""
    return np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan))


def reference_floats(reference: pd.DataFrame | None, label: Hashable,
                     own: pd.Series) -> np.ndarray:
    """Finite values of the reference column (an empty array if it has none; read only,
    as it may be kept with a frozen reference)."""
    return reference_kept(reference, label, own, "floats", _finite, is_numeric)


def reference_kept(reference: pd.DataFrame | None, label: Hashable, own: pd.Series,
                   what: Hashable, compute: Callable[[pd.Series], Any],
                   usable: Callable[[pd.Series], bool] = any_dtype) -> Any:
    """``compute(reference[label])``, kept under ``(what, label)`` with a frozen
    reference (see :func:`kept`); ``compute(own)``, kept nowhere, when the reference has
    no single ``usable`` column of that label and the batch's own column stands in."""
    column = reference_column(reference, label, own)
    if column is own or not usable(column):
        return compute(own)
    return kept(reference, (what, label), lambda: compute(column))


def _finite(column: pd.Series) -> np.ndarray:
    values = floats(column)
    finite = np.isfinite(values)
    values = values if finite.all() else values[finite]
    if values.flags.writeable:
        values = values.view()
        values.flags.writeable = False
    return values


@dataclass(frozen=True)
class Spread:
    """What the numeric perturbations read from a reference column: how many finite
    values it has, their mean, standard deviation (numpy's, ddof 0), least and greatest
    (NaN for the last four when it has none)."""

    size: int
    mean: float
    sd: float
    low: float
    high: float

    @property
    def largest(self) -> float:
        """The greatest absolute value (0.0 when there is none)."""
        return max(abs(self.low), abs(self.high)) if self.size else 0.0


def reference_spread(reference: pd.DataFrame | None, label: Hashable,
                     own: pd.Series) -> Spread:
    """The :class:`Spread` of the finite values of :func:`reference_floats`."""
    return reference_kept(reference, label, own, "spread",
                          lambda column: _spread(_finite(column)), is_numeric)


def _spread(seen: np.ndarray) -> Spread:
    if seen.size == 0:
        return Spread(0, math.nan, math.nan, math.nan, math.nan)
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e154 and beyond:
        # their squares overflow, the spread is inf, as the perturbations expect
        return Spread(int(seen.size), float(seen.mean()), float(seen.std()),
                      float(seen.min()), float(seen.max()))


# -- frozen references ----------------------------------------------------------------

_KEPT: dict[int, tuple[weakref.ref[pd.DataFrame], dict[Hashable, Any]]] = {}


def freeze_reference(frame: pd.DataFrame) -> None:
    """Promise that ``frame`` will not change while it lives. The tabular perturbations
    then compute what they read from it as a ``reference`` (a column's mean and spread,
    its range, which names it holds, its date format) once, not once per batch: a table
    perturbed in 100 parts against a million-row reference reads each column once
    instead of 100 times. The statistics are dropped with the frame; a frame changed in
    place after this gets stale ones. robustcheck freezes the private copy of the data
    it audits."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"frame must be a pandas DataFrame, got "
                              f"{type(frame).__name__}; pass the frame you give the "
                              "perturbations as reference=")
    key = id(frame)
    entry = _KEPT.get(key)
    if entry is not None and entry[0]() is frame:
        return

    def forget(dead: weakref.ref[pd.DataFrame], key: int = key) -> None:
        found = _KEPT.get(key)
        if found is not None and found[0] is dead:
            del _KEPT[key]

    _KEPT[key] = (weakref.ref(frame, forget), {})


def kept(reference: pd.DataFrame | None, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept under ``key`` with ``reference`` when it is frozen (see
    :func:`freeze_reference`); computed afresh otherwise. ``key`` names what is computed
    and from which column (the catalogue's are ``(what, label)``; another caller's start
    with its own name); the value must depend on the reference alone. Public as
    ``perturbations.kept_with``."""
    entry = None if reference is None else _KEPT.get(id(reference))
    if entry is None or entry[0]() is not reference:
        return compute()
    found = entry[1]
    if key not in found:
        found[key] = compute()  # two threads may both compute it: the same value
    return found[key]


def as_objects(s: pd.Series) -> np.ndarray:
    """The column's values as a new object array, as ``s.to_numpy(dtype=object)`` gives
    them. Categories and strings are boxed once per distinct value, not once per cell."""
    if isinstance(s.dtype, (pd.CategoricalDtype, pd.StringDtype)):
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes, distinct = s.cat.codes.to_numpy(), s.cat.categories
        else:
            codes, distinct = pd.factorize(s)
        missing = np.nan if isinstance(s.dtype, pd.CategoricalDtype) else s.dtype.na_value
        out = np.append(np.asarray(distinct, dtype=object), missing).take(codes)  # -1: last
        return out
    if dtype_kind(s) in "Mm" and len(s) > 1:
        # a pandas Timestamp takes microseconds to make: one per distinct value (dates
        # repeat), when there are few enough to pay for finding them
        codes, distinct = pd.factorize(s)
        if 2 * len(distinct) <= len(s):
            table = np.empty(len(distinct) + 1, dtype=object)
            table[:-1] = np.asarray(distinct, dtype=object)
            table[-1] = pd.NaT  # code -1, as to_numpy(dtype=object) writes a missing cell
            return table.take(codes)
    return np.array(s.to_numpy(dtype=object), dtype=object, copy=True)


IS_INSTANCE: Any = np.frompyfunc(isinstance, 2, 1)  # isinstance per cell, in C


def string_cells(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column as an object array and the mask of its cells that hold a str."""
    values = as_objects(s) if is_textlike(s) else s.to_numpy(dtype=object)
    kinds = s.cat.categories if is_categorical(s) else s
    if isinstance(s.dtype, pd.StringDtype) or pd.api.types.infer_dtype(kinds) == "string":
        return values, s.notna().to_numpy()
    return values, IS_INSTANCE(values, str).astype(bool)


# -- drawing ----------------------------------------------------------------------------


def _counter(label: Hashable) -> int:
    """The per-column counter: derived from the name, so draws ignore column positions."""
    return stable_hash("column", label)


_BLOCK = 1 << 15  # rows hashed at a time: the arrays stay in the CPU cache (1.5x faster)


def _bits(draws: Draws, stream: int, label: Hashable,
          rows: np.ndarray | None = None) -> Iterator[tuple[slice, np.ndarray]]:
    """``draws.bits`` for the cells of column ``label`` in every row (or in the given row
    positions), block by block: (where in the output, the bits)."""
    counter = _counter(label)
    count = len(draws) if rows is None else len(rows)
    for start in range(0, count, _BLOCK):
        part = slice(start, min(start + _BLOCK, count))
        owner = part if rows is None else rows[part]
        yield part, draws.bits(stream, owner=owner, counter=counter)


def pick_cells(draws: Draws, stream: int, label: Hashable, share: float) -> np.ndarray:
    """Which cells of a column are touched at ``share``. A cell is touched when its draw
    is below the share: a higher severity touches a superset of cells."""
    if share >= 1.0:
        return np.ones(len(draws), dtype=bool)
    threshold = np.uint64(int(share * 2.0**64))
    out = np.empty(len(draws), dtype=bool)
    for part, bits in _bits(draws, stream, label):
        np.less(bits, threshold, out=out[part])
    return out


def draw_choices(draws: Draws, stream: int, label: Hashable, k: int,
                 rows: np.ndarray | None = None) -> np.ndarray:
    """One of ``k`` options per cell (for the given row positions, default all rows)."""
    out = np.empty(len(draws) if rows is None else len(rows), dtype=np.intp)
    for part, bits in _bits(draws, stream, label, rows):
        out[part] = bits % np.uint64(k)
    return out


def draw_normals(draws: Draws, stream: int, label: Hashable) -> np.ndarray:
    """Standard normal draws, one per row: Box-Muller on the two 24-bit halves of one
    64-bit draw, in float32 (noise needs no more precision; tails reach 5.7 sigma)."""
    out = np.empty(len(draws), dtype=np.float64)
    scale = np.float32(2.0**-24)
    for part, bits in _bits(draws, stream, label):
        radius = (bits >> np.uint64(40)).astype(np.int32).astype(np.float32)
        angle = (bits.astype(np.uint32) >> np.uint32(8)).astype(np.int32).astype(np.float32)
        radius *= -scale  # -u1, u1 uniform in [0, 1)
        np.log1p(radius, out=radius)
        radius *= np.float32(-2.0)
        np.sqrt(radius, out=radius)
        angle *= np.float32(2.0 * np.pi) * scale
        np.cos(angle, out=angle)
        np.multiply(radius, angle, out=out[part])
    return out


def column_draw(draws: Draws, stream: int, label: Hashable) -> float:
    """A uniform number per column, the same for every row and batch (frame decisions)."""
    return float(draws.shared(stable_hash(stream, label)).random())

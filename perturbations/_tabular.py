"""Tabular perturbations (pandas DataFrames, rows are samples).

Every function here is a batch perturbation: ``f(frame, *, draws, severity, ...)``. Cell
``(i, c)`` draws its random numbers from row ``i``'s key and a counter derived from the
column *name* (never its position), so a row's output depends on the seed, the
perturbation, the severity, the row's index in the data set and the ``reference``
statistics only: not on the other rows present, the batch size or the column order.
Whole-frame decisions (which columns move, which are converted) come from
:meth:`Draws.shared`-style draws keyed by column name.

A cell is touched when its draw falls below a severity-dependent share, so a stronger
setting touches a superset of what a weaker one touched. Nothing here loops over rows:
values are drawn, masked and rendered as numpy arrays.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._errors import InvalidArgument
from ._random import Draws, stable_hash
from ._registry import perturbation

__all__: list[str] = []  # the catalogue is reached through perturbations.get()

_MISSING_SHARE = 0.3  # missing.*: share of cells blanked at severity 1
_UNSEEN_SHARE = 0.3  # category.unseen
_OUTLIER_SHARE = 0.1  # outlier.extreme
_ROW_SHARE = 0.5  # drift.subpopulation: share of rows replaced
_NOISE_SD = 0.2  # noise.gaussian: sigma in reference standard deviations
_EXTRA_COLUMNS = 3  # schema.extra_column at severity 1

Column = tuple[int, Hashable, pd.Series]
"""A column to perturb: its position, its label and its values."""


# -- choosing columns -----------------------------------------------------------------


def _kind(s: pd.Series) -> str:
    return str(getattr(s.dtype, "kind", "O"))


def _is_numeric(s: pd.Series) -> bool:
    return _kind(s) in "iuf"


def _is_float(s: pd.Series) -> bool:
    return _kind(s) == "f"


def _is_bool(s: pd.Series) -> bool:
    return _kind(s) == "b"


def _is_datetime(s: pd.Series) -> bool:
    return _kind(s) == "M"


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype)


def _is_textlike(s: pd.Series) -> bool:
    """Object, string and categorical columns: where categories and free text live."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return bool(s.dtype.categories.dtype.kind == "O")
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _any(s: pd.Series) -> bool:
    return True


def _targets(
    frame: pd.DataFrame,
    columns: Sequence[str] | None,
    default: Callable[[pd.Series], bool],
    applies: Callable[[pd.Series], bool] | None = None,
) -> list[Column]:
    """The columns to perturb: those ``default`` picks when ``columns`` is None, else the
    named ones that the perturbation ``applies`` to (others are left unchanged)."""
    if columns is None:
        chosen = list(range(frame.shape[1]))
        keep = default
    else:
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
        chosen = [j for j, c in enumerate(frame.columns) if c in wanted]
        keep = applies or default
    found = []
    for j in chosen:
        s = frame.iloc[:, j]
        if keep(s):
            found.append((j, frame.columns[j], s))
    return found


def _set(out: pd.DataFrame, j: int, values: Any) -> None:
    """Replace column ``j``. An object array stays object: pandas >= 3 would otherwise
    infer a string dtype (and turn None into NaN)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        values = pd.Series(values, index=out.index, dtype=object, copy=False)
    out.isetitem(j, values)


def _quiet(func: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Overflow to inf on extreme values (1e308 x 1000) is expected, not worth a warning."""

    @functools.wraps(func)
    def quiet(*args: Any, **kwargs: Any) -> pd.DataFrame:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return func(*args, **kwargs)

    return quiet


def _start(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame to write into. Columns are replaced whole, never written in place, so
    under copy-on-write a shallow copy already protects the input."""
    return frame.copy(deep=not _copy_on_write())


def _copy_on_write() -> bool:
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


def _reference_column(reference: pd.DataFrame | None, label: Hashable,
                      own: pd.Series) -> pd.Series:
    """``reference[label]``, or the column itself when the reference lacks it."""
    if reference is None or label not in reference.columns:
        return own
    found = reference.loc[:, label]
    return found if isinstance(found, pd.Series) else own  # duplicated label: ambiguous


def _numbers(s: pd.Series) -> np.ndarray:
    """A numeric column as float64 with NaN for missing (may share memory: read only)."""
    return np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan))


def _reference_numbers(reference: pd.DataFrame | None, label: Hashable,
                       own: pd.Series) -> np.ndarray:
    """Finite values of the reference column (an empty array if it has none)."""
    column = _reference_column(reference, label, own)
    if not _is_numeric(column):
        column = own
    values = _numbers(column)
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]


# -- drawing -----------------------------------------------------------------------


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


def _cells(draws: Draws, stream: int, label: Hashable, share: float) -> np.ndarray:
    """Which cells of a column are touched at ``share``. A cell is touched when its draw
    is below the share: a higher severity touches a superset of cells."""
    if share >= 1.0:
        return np.ones(len(draws), dtype=bool)
    threshold = np.uint64(int(share * 2.0**64))
    out = np.empty(len(draws), dtype=bool)
    for part, bits in _bits(draws, stream, label):
        np.less(bits, threshold, out=out[part])
    return out


def _choice(draws: Draws, stream: int, label: Hashable, k: int,
            rows: np.ndarray | None = None) -> np.ndarray:
    """One of ``k`` options per cell (for the given row positions, default all rows)."""
    out = np.empty(len(draws) if rows is None else len(rows), dtype=np.intp)
    for part, bits in _bits(draws, stream, label, rows):
        out[part] = bits % np.uint64(k)
    return out


def _normal(draws: Draws, stream: int, label: Hashable) -> np.ndarray:
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


def _column_draw(draws: Draws, stream: int, label: Hashable) -> float:
    """A uniform number per column, the same for every row and batch (frame decisions)."""
    return float(draws.shared(stable_hash(stream, label)).random())


# -- writing cells -----------------------------------------------------------------

ArrayLike = Any  # a numpy array or pandas ExtensionArray, set with DataFrame.isetitem


def _fits_integers(values: np.ndarray, dtype: Any, *, whole: bool = False) -> bool:
    """Whether float ``values`` (already ``whole`` numbers, if so told) fit an integer
    ``dtype`` exactly."""
    if not whole and not (values == np.floor(values)).all():  # False for NaN and inf too
        return False
    if values.size == 0:
        return True
    info = np.iinfo(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
    low, high = values.min(), values.max()  # NaN propagates and fails both tests
    return bool(low >= float(info.min) and high < float(info.max) + 1.0)


def _write_numbers(s: pd.Series, hit: np.ndarray, values: np.ndarray, *,
                   round_ints: bool) -> ArrayLike:
    """``s`` with the cells under ``hit`` set to ``values`` (float64, one per hit cell),
    kept in ``s``'s dtype when they fit it; float64 otherwise (Float64 for a nullable
    integer, so its missing cells stay pd.NA). Untouched cells are copied,
    never round-tripped through float (integers above 2**53 stay exact)."""
    dtype = s.dtype
    if dtype.kind in "iu":
        if round_ints:
            values = np.round(values)
        if not _fits_integers(values, dtype, whole=round_ints):
            out = np.array(_numbers(s), dtype=np.float64, copy=True)
            out[hit] = values
            if isinstance(s.array, pd.arrays.IntegerArray):  # nullable in, nullable out
                return pd.arrays.FloatingArray(out, s.isna().to_numpy())
            return out
    if isinstance(dtype, np.dtype):
        if len(values) == len(s):  # every cell: no copy of the old values needed
            return values.astype(dtype)
        out = s.to_numpy(copy=True)
        out[hit] = values
        return out
    try:
        arr = s.array.copy()
        arr[hit] = values.astype(np.int64) if dtype.kind in "iu" else values
        return arr
    except (TypeError, ValueError):  # an extension dtype that takes no floats
        out = np.array(_numbers(s), dtype=np.float64, copy=True)
        out[hit] = values
        return out


def _objects(s: pd.Series) -> np.ndarray:
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
    return np.array(s.to_numpy(dtype=object), dtype=object, copy=True)


def _object_with(s: pd.Series, hit: np.ndarray, values: Any) -> np.ndarray:
    """An object array: ``values`` under ``hit``, the column's own values elsewhere
    (converted only where kept: boxing a million timestamps is slow)."""
    out = np.empty(len(s), dtype=object)
    out[hit] = values
    keep = ~hit
    if keep.any():
        out[keep] = _objects(s[keep])
    return out


def _write_text(s: pd.Series, hit: np.ndarray, texts: np.ndarray) -> ArrayLike:
    """Put ``texts`` (one str per hit cell) into ``s``: categorical and string columns keep
    their dtype (new categories are added), other columns become object."""
    texts = np.asarray(texts, dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.array
        # new categories in a fixed order, whatever the order of the rows
        fresh = sorted(set(texts[~pd.Index(texts).isin(cat.categories)]), key=repr)
        cat = cat.add_categories(fresh) if fresh else cat.copy()
        cat[hit] = texts
        return cat
    if isinstance(s.dtype, pd.StringDtype):
        arr = s.array.copy()
        arr[hit] = texts
        return arr
    return _object_with(s, hit, texts)


def _write_value(s: pd.Series, hit: np.ndarray, value: Any) -> ArrayLike:
    """Put one value into the cells under ``hit``, upcasting the column only if needed."""
    if isinstance(s.dtype, pd.CategoricalDtype) and value is not None:
        return _write_text(s, hit, np.full(int(hit.sum()), value, dtype=object))
    try:
        return s.mask(hit, value).array
    except OverflowError:  # -999 into a nullable UInt8: widen it, as pandas does a numpy one
        wider = _wider_nullable(s.dtype, value)
        if wider is None:
            return _object_with(s, hit, value)
        return s.astype(wider).mask(hit, value).array
    except (TypeError, ValueError):  # e.g. a number into a column of a strict string dtype
        return _object_with(s, hit, value)


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


_ISINSTANCE: Any = np.frompyfunc(isinstance, 2, 1)  # isinstance per cell, in C


def _strings(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column as an object array and the mask of its cells that hold a str."""
    values = _objects(s) if _is_textlike(s) else s.to_numpy(dtype=object)
    kinds = s.cat.categories if _is_categorical(s) else s
    if isinstance(s.dtype, pd.StringDtype) or pd.api.types.infer_dtype(kinds) == "string":
        return values, s.notna().to_numpy()
    return values, _ISINSTANCE(values, str).astype(bool)


# -- rendering numbers as text ------------------------------------------------------
# Numbers are written by looking up the text of each group of digits in a table (numpy's
# own int-to-str and float-to-str are 5 to 20 times slower): 3-digit groups for the
# integer part, where thousands separators go, 4-digit chunks for the decimals.


class _Style(NamedTuple):
    """How numbers are written: ``-$1,234.50 USD`` is sign, prefix, digits with ``group``
    between thousands, ``point``, at least ``min_decimals`` decimals (floats) or
    ``int_decimals`` (integers), then ``suffix``."""

    point: str = "."
    group: str = ""
    min_decimals: int = 1
    int_decimals: int = 0
    prefix: str = ""
    suffix: str = ""


_POW10 = 10 ** np.arange(19, dtype=np.int64)
_POW10F = 10.0 ** np.arange(19)
_TEN_TO = 10.0 ** np.arange(-170, 171).astype(np.float64)  # at [170 + k]: 10.0**k
# blocks of the table of integer pieces; a piece is found at 1000 * block + group
_LEAD, _LEAD_NEGATIVE, _GROUP, _NOTHING = 0, 1, 2, 3


@functools.lru_cache(maxsize=32)
def _pieces(prefix: str, group: str) -> np.ndarray:
    """The text of every 3-digit group ``i`` of an integer, in each role it plays."""
    return np.array([f"{prefix}{i}" for i in range(1000)]  # the leading group
                    + [f"-{prefix}{i}" for i in range(1000)]  # ... of a negative number
                    + [f"{group}{i:03d}" for i in range(1000)]  # later groups
                    + [""] * 1000)


@functools.lru_cache(maxsize=32)
def _decimal_pieces(point: str, width: int, first: bool) -> np.ndarray:
    """The text of every ``width``-digit chunk ``i`` of the decimals, at
    ``10**width * shown + i``: its first ``shown`` digits, after the point if it is the
    first chunk ("" when none is shown)."""
    padded = [f"{i:0{width}d}" for i in range(10**width)]
    lead = point if first else ""
    return np.array([""] * 10**width
                    + [lead + digits[:shown] for shown in range(1, width + 1) for digits in padded])


def _join(*parts: Any) -> np.ndarray:
    return functools.reduce(np.char.add, parts)


def _int_text(n: np.ndarray, negative: np.ndarray, style: _Style) -> np.ndarray:
    """Sign, prefix and the digits of non-negative int64 values, grouped by thousands."""
    pieces = _pieces(style.prefix, style.group)
    groups = 1 + np.searchsorted(_POW10[3::3], n, side="right")  # 3-digit groups needed
    lead = np.where(negative, _LEAD_NEGATIVE, _LEAD)
    text = None
    for k in range(int(groups.max(initial=1))):  # from the last group to the first
        n, chunk = np.divmod(n, 1000)
        before = groups - 1 - k  # groups left of this one
        block = np.where(before > 0, _GROUP, np.where(before == 0, lead, _NOTHING))
        piece = pieces[1000 * block + chunk]
        text = piece if text is None else np.char.add(piece, text)
    return piece if text is None else text


def _decimals_text(fraction: np.ndarray, places: np.ndarray, point: str) -> np.ndarray:
    """The point and ``fraction`` written with exactly ``places`` digits ("" for none).

    Chunks of 4 digits are looked up and written side by side into the fields of one
    structured array, which is then read as a single string: no concatenation."""
    total = int(places.max(initial=0))
    if total == 0:
        return np.full(len(fraction), "")
    widths = [total % 4] * (total % 4 > 0) + [4] * (total // 4)  # 18 digits: 2, 4, 4, 4, 4
    fields = np.zeros(len(fraction), dtype=[(f"c{j}", f"U{w + len(point) * (j == 0)}")
                                            for j, w in enumerate(widths)])
    left = fraction * _POW10[total - places]  # the digits aligned left in `total` places
    end = total
    for j in range(len(widths) - 1, -1, -1):  # from the last chunk to the first
        width = widths[j]
        left, chunk = np.divmod(left, 10**width)
        shown = np.clip(places - (end - width), 0, width)  # how many of its digits are wanted
        fields[f"c{j}"] = _decimal_pieces(point, width, j == 0)[10**width * shown + chunk]
        end -= width
    return fields.view(f"U{total + len(point)}")


def _strip_zeros(fraction: np.ndarray, places: np.ndarray) -> None:
    """Drop trailing zero digits of ``fraction`` (``places`` digits long), in place:
    binary steps of 16, 8, 4, 2 and 1 digits, on the few values that end in a zero."""
    rows = np.flatnonzero((fraction % 10 == 0) & (places > 0))
    some, count = fraction[rows], places[rows]
    for step in (16, 8, 4, 2, 1):
        strip = (count >= step) & (some % _POW10[step] == 0)
        some[strip] //= _POW10[step]
        count[strip] -= step
    fraction[rows], places[rows] = some, count


def _positional(a: np.ndarray, negative: np.ndarray, style: _Style) -> np.ndarray:
    """Text of non-negative floats below 1e15 (``negative`` gives the sign), to 15
    significant digits: as Excel and most databases export them, reading back to the
    same value within 5e-15."""
    positive = np.where(a > 0, a, 1.0)
    places = np.clip(14 - np.floor(np.log10(positive)).astype(np.int64), 0, 18)
    scaled = np.round(a * _POW10F[places])
    # log10 can be one off near a power of ten, and rounding can carry (9.99.. -> 10.0)
    more = (scaled < 1e14) & (a > 0) & (places < 18)
    fewer = (scaled >= 1e15) & (places > 0)
    places += more
    places -= fewer
    fix = more | fewer
    scaled[fix] = np.round(a[fix] * _POW10F[places[fix]])
    whole, fraction = np.divmod(scaled.astype(np.int64), _POW10[places])
    _strip_zeros(fraction, places)
    shown = np.maximum(places, style.min_decimals)
    fraction *= _POW10[shown - places]
    return np.char.add(_int_text(whole, negative, style),
                       _decimals_text(fraction, shown, style.point))


def _float_text(x: np.ndarray, style: _Style) -> np.ndarray:
    """Text of finite floats: positional from 1e-4 to 1e15, scientific (``1.5e+20``)
    outside, as Python writes them."""
    a, negative = np.abs(x), x < 0
    plain = (a == 0) | ((a >= 1e-4) & (a < 1e15))
    if plain.all():
        return _positional(a, negative, style)
    exponent = np.floor(np.log10(a[~plain])).astype(np.int64)
    half = -exponent // 2  # 10**-exponent in two factors: 10**324 alone is inf
    scaled = a[~plain] * _TEN_TO[170 + half] * _TEN_TO[170 - exponent - half]
    mantissa = _positional(scaled, negative[~plain], style._replace(min_decimals=0))
    power = np.abs(exponent)
    power_text = np.where(power < 10, np.char.add("0", power.astype(str)), power.astype(str))
    sign = np.array(["e+", "e-"])[(exponent < 0).astype(np.intp)]
    near = _positional(a[plain], negative[plain], style)
    far = _join(mantissa, sign, power_text)
    out = np.empty(len(a), dtype=np.result_type(near, far))
    out[plain], out[~plain] = near, far
    return out


def _number_texts(s: pd.Series, hit: np.ndarray, style: _Style,
                  scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Render the non-missing cells under ``hit`` of a numeric column; returns the cells
    actually rendered (``hit`` narrowed) and their text."""
    hit = hit & s.notna().to_numpy()
    suffix = style.suffix
    if _kind(s) in "iu" and scale == 1.0:
        values = s[hit].to_numpy(dtype=np.uint64 if _kind(s) == "u" else np.int64)
        # |x| must fit int64: leave the two extreme values of 64-bit columns alone
        fits = (values <= np.iinfo(np.int64).max) & (values > np.iinfo(np.int64).min)
        if not fits.all():
            hit[np.flatnonzero(hit)[~fits]] = False
            values = values[fits]
        ints = values.astype(np.int64)
        text = _int_text(np.abs(ints), ints < 0, style)
        if style.int_decimals:
            suffix = style.point + "0" * style.int_decimals + suffix
    else:
        values = _numbers(s)[hit] * scale
        finite = np.abs(values) < 1.79769313486231e308  # may round up to inf at 15 digits
        if not finite.all():
            hit[np.flatnonzero(hit)[~finite]] = False
            values = values[finite]
        text = _float_text(values, style)
    return hit, np.char.add(text, suffix) if suffix else text


def _format_numbers(frame: pd.DataFrame, draws: Draws, severity: float,
                    columns: Sequence[str] | None, style: _Style,
                    default: Callable[[pd.Series], bool] = _is_numeric) -> pd.DataFrame:
    """Shared body of the number-formatting perturbations: a ``severity`` share of the
    non-missing cells of each numeric column is rewritten as text in ``style``."""
    out = _start(frame)
    for j, label, s in _targets(frame, columns, default, _is_numeric):
        hit, texts = _number_texts(s, _cells(draws, 1, label, severity), style)
        if hit.any():
            _set(out, j, _object_with(s, hit, texts.astype(object)))
    return out


# -- missing ------------------------------------------------------------------------

_MISSING_SEVERITY = "share of cells blanked in the chosen columns: 0.3 x severity (30% at 1.0)"


@perturbation(
    name="missing.nan", modality="tabular", expectation="invariant",
    description="Blanks cells with the column's own missing value (NaN, NaT, pd.NA), as "
                "a failed join or a sensor drop-out does. Integer columns become float, "
                "booleans object, as pandas does when it reads such data.",
    severity=_MISSING_SEVERITY,
)
def missing_nan(frame: pd.DataFrame, *, draws: Draws, severity: float,
                columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every column by default."""
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _any):
        hit = _cells(draws, 1, label, _MISSING_SHARE * severity)
        # numpy columns take the same route as pandas' mask, in one pass instead of three
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
            _set(out, j, np.where(hit, np.nan, s.to_numpy()))
        elif s.dtype == bool:
            values = s.to_numpy(dtype=object)
            values[hit] = np.nan
            _set(out, j, values)
        else:
            _set(out, j, s.mask(hit).array)
    return out


@perturbation(
    name="missing.none", modality="tabular", expectation="invariant",
    description="Puts Python None in cells, as JSON null does: the column becomes an "
                "object column holding None (text and categorical columns by default).",
    severity=_MISSING_SEVERITY,
)
def missing_none(frame: pd.DataFrame, *, draws: Draws, severity: float,
                 columns: Sequence[str] | None = None) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_textlike, _any):
        hit = _cells(draws, 1, label, _MISSING_SHARE * severity)
        _set(out, j, _object_with(s, hit, None))
    return out


@perturbation(
    name="missing.empty_string", modality="tabular", expectation="invariant",
    description='Replaces cells with "" as CSV exports and web forms leave them (text and '
                "categorical columns by default; a categorical gains the category \"\").",
    severity=_MISSING_SEVERITY,
)
def missing_empty_string(frame: pd.DataFrame, *, draws: Draws, severity: float,
                         columns: Sequence[str] | None = None) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_textlike, _any):
        hit = _cells(draws, 1, label, _MISSING_SHARE * severity)
        _set(out, j, _write_value(s, hit, ""))
    return out


@perturbation(
    name="missing.sentinel", modality="tabular", expectation="invariant",
    description="Replaces cells with a sentinel that legacy systems use for 'unknown' "
                "(-999 by default; numeric columns by default, which keep their dtype).",
    severity=_MISSING_SEVERITY,
)
@_quiet
def missing_sentinel(frame: pd.DataFrame, *, draws: Draws, severity: float,
                     columns: Sequence[str] | None = None,
                     sentinel: float | str = -999) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_numeric, _any):
        hit = _cells(draws, 1, label, _MISSING_SHARE * severity)
        _set(out, j, _write_value(s, hit, sentinel))
    return out


# -- format -------------------------------------------------------------------------

_FORMAT_SEVERITY = ("share of the non-missing cells of the chosen columns rewritten: "
                    "severity (every cell at 1.0)")


@perturbation(
    name="format.number_as_string", modality="tabular", expectation="invariant",
    description='Writes numbers as strings ("5.0", "12"), as a CSV read without type '
                "inference or a JSON API that quotes numbers delivers them; the column "
                "becomes an object column mixing numbers and strings.",
    severity=_FORMAT_SEVERITY,
)
@_quiet
def format_number_as_string(frame: pd.DataFrame, *, draws: Draws, severity: float,
                            columns: Sequence[str] | None = None) -> pd.DataFrame:
    return _format_numbers(frame, draws, severity, columns, _Style())


@perturbation(
    name="format.decimal_comma", modality="tabular", expectation="invariant",
    description='Writes floats with a decimal comma ("5,25"), as European locales do '
                "(float columns by default; named integer columns are written as digits).",
    severity=_FORMAT_SEVERITY,
)
@_quiet
def format_decimal_comma(frame: pd.DataFrame, *, draws: Draws, severity: float,
                         columns: Sequence[str] | None = None) -> pd.DataFrame:
    return _format_numbers(frame, draws, severity, columns, _Style(point=","), _is_float)


@perturbation(
    name="format.thousands_separator", modality="tabular", expectation="invariant",
    description='Writes numbers of 1,000 or more with thousands separators ("12,345.6"); '
                "smaller numbers are left alone since they would show no separator.",
    severity=_FORMAT_SEVERITY,
)
@_quiet
def format_thousands_separator(frame: pd.DataFrame, *, draws: Draws, severity: float,
                               columns: Sequence[str] | None = None) -> pd.DataFrame:
    out = _start(frame)
    style = _Style(group=",")
    for j, label, s in _targets(frame, columns, _is_numeric):
        large = np.abs(_numbers(s)) >= 1000  # NaN compares False
        hit, texts = _number_texts(s, _cells(draws, 1, label, severity) & large, style)
        if hit.any():
            _set(out, j, _object_with(s, hit, texts.astype(object)))
    return out


@perturbation(
    name="format.units", modality="tabular", expectation="invariant",
    description='Writes numbers with a unit ("5 kg"), as spreadsheets typed by hand do; '
                "the unit is a parameter.",
    severity=_FORMAT_SEVERITY,
)
@_quiet
def format_units(frame: pd.DataFrame, *, draws: Draws, severity: float,
                 columns: Sequence[str] | None = None, unit: str = "kg") -> pd.DataFrame:
    style = _Style(min_decimals=0, suffix=f" {unit}" if unit else "")
    return _format_numbers(frame, draws, severity, columns, style)


@perturbation(
    name="format.currency", modality="tabular", expectation="invariant",
    description='Writes numbers as money ("$1,234.50", "-$3.00"): symbol, thousands '
                "separators, at least two decimals (more when the value has them).",
    severity=_FORMAT_SEVERITY,
)
@_quiet
def format_currency(frame: pd.DataFrame, *, draws: Draws, severity: float,
                    columns: Sequence[str] | None = None, symbol: str = "$") -> pd.DataFrame:
    style = _Style(group=",", min_decimals=2, int_decimals=2, prefix=symbol)
    return _format_numbers(frame, draws, severity, columns, style)


@perturbation(
    name="format.percent", modality="tabular", expectation="invariant",
    description='Writes numbers as percentages: a column whose reference values all lie '
                'in [0, 1] is read as fractions (0.25 -> "25%"), any other as percent '
                'points (12.5 -> "12.5%").',
    severity=_FORMAT_SEVERITY,
)
@_quiet
def format_percent(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = _start(frame)
    style = _Style(min_decimals=0, suffix="%")
    for j, label, s in _targets(frame, columns, _is_numeric):
        seen = _reference_numbers(reference, label, s)
        fractions = seen.size > 0 and seen.min() >= 0.0 and seen.max() <= 1.0
        hit, texts = _number_texts(s, _cells(draws, 1, label, severity), style,
                                   scale=100.0 if fractions else 1.0)
        if hit.any():
            _set(out, j, _object_with(s, hit, texts.astype(object)))
    return out


_TWO = np.array([f"{i:02d}" for i in range(100)])
_MONTHS = np.array(["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                    "Nov", "Dec"])


def _date_texts(stamps: pd.DatetimeIndex, style: np.ndarray) -> np.ndarray:
    """Write each timestamp in convention ``style``: 0 day-first "13/03/2024",
    1 month-first "03/13/2024", 2 ISO with time "2024-03-13T00:00:00", 3 "13 Mar 2024".
    The time of day is added when it is not midnight (always for ISO), fractions of a
    second and the UTC offset when present, so no information is lost."""
    year = np.asarray(stamps.year, dtype=np.int64)
    if ((year >= 0) & (year < 10000)).all():
        year_text = np.char.add(_TWO[year // 100], _TWO[year % 100])
    else:
        year_text = np.char.zfill(year.astype(str), 4)
    month = np.asarray(stamps.month, dtype=np.intp)
    day = np.asarray(stamps.day, dtype=np.intp)
    hour, minute = np.asarray(stamps.hour, np.intp), np.asarray(stamps.minute, np.intp)
    second = np.asarray(stamps.second, np.intp)
    micro = np.asarray(stamps.microsecond, np.int64)
    clock = _join(_TWO[hour], ":", _TWO[minute], ":", _TWO[second])
    if (micro > 0).any():
        fraction = _join(clock, ".", np.char.zfill(micro.astype(str), 6))
        clock = np.where(micro > 0, fraction, clock)
    if stamps.tz is not None:
        local = stamps.tz_localize(None)
        utc = stamps.tz_convert("UTC").tz_localize(None)
        minutes = np.round((local - utc).total_seconds().to_numpy() / 60).astype(np.int64)
        sign = np.array(["+", "-"])[(minutes < 0).astype(np.intp)]
        size = np.abs(minutes)
        clock = _join(clock, sign, _TWO[size // 60 % 100], ":", _TWO[size % 60])
        timed = np.ones(len(stamps), dtype=bool)
    else:
        timed = (hour | minute | second | micro) != 0
    spaced = np.where(timed, np.char.add(" ", clock), "")
    layouts = (
        lambda i: _join(_TWO[day[i]], "/", _TWO[month[i]], "/", year_text[i], spaced[i]),
        lambda i: _join(_TWO[month[i]], "/", _TWO[day[i]], "/", year_text[i], spaced[i]),
        lambda i: _join(year_text[i], "-", _TWO[month[i]], "-", _TWO[day[i]], "T", clock[i]),
        lambda i: _join(day[i].astype(str), " ", _MONTHS[month[i]], " ", year_text[i],
                        spaced[i]),
    )
    out = np.empty(len(stamps), dtype=object)
    for k, layout in enumerate(layouts):
        rows = np.flatnonzero(style == k)
        if rows.size:
            out[rows] = layout(rows)
    return out


def _guess_format(text: str) -> str | None:
    try:
        from pandas.tseries.api import guess_datetime_format
    except ImportError:  # pandas < 2.2
        from pandas._libs.tslibs.parsing import guess_datetime_format
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = guess_datetime_format(text)
        except (TypeError, ValueError):
            return None
    return None if found is None else str(found)


def _date_format(column: pd.Series) -> str | None:
    """The format of a column of date strings, judged on its first non-missing values;
    None unless nearly all of them parse as dates with a day, a month and a year."""
    strings, is_str = _strings(column.iloc[: 5000])
    sample = strings[is_str][:200]
    if sample.size == 0:
        return None
    fmt = _guess_format(str(sample[0]))
    if fmt is None or "%d" not in fmt or "%Y" not in fmt or not ("%m" in fmt or "%b" in fmt):
        return None
    if fmt.startswith("%Y-%m-%d"):
        fmt = "ISO8601"  # also reads the same dates with or without a time
    parsed = _parse_dates(sample, fmt)
    return fmt if parsed is not None and parsed.notna().mean() >= 0.9 else None


def _parse_dates(strings: np.ndarray, fmt: str) -> pd.Series | None:
    """Timestamps (NaT where a string does not parse), or None if the strings mix time
    zones, which pandas refuses to put in one column."""
    try:
        return pd.to_datetime(pd.Series(strings, dtype=object), format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return None


@perturbation(
    name="format.date", modality="tabular", expectation="invariant",
    description='Rewrites dates in another convention, chosen per cell: day-first '
                '"13/03/2024", month-first "03/13/2024", ISO with time '
                '"2024-03-13T00:00:00" or "13 Mar 2024" (a date string already in the '
                "chosen convention stays as it is). Datetime columns and columns of date "
                "strings (recognised on the reference) by default.",
    severity=_FORMAT_SEVERITY,
)
def format_date(frame: pd.DataFrame, *, draws: Draws, severity: float,
                columns: Sequence[str] | None = None,
                reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = _start(frame)
    formats: dict[Hashable, str | None] = {}

    def dated(s: pd.Series) -> bool:
        if _is_datetime(s):
            return True
        if not _is_textlike(s) or _is_categorical(s):
            return False
        formats[s.name] = _date_format(_reference_column(reference, s.name, s))
        return formats[s.name] is not None

    for j, label, s in _targets(frame, columns, dated):
        hit = _cells(draws, 1, label, severity) & s.notna().to_numpy()
        if _is_datetime(s):
            stamps = pd.DatetimeIndex(s[hit])
        else:
            strings, is_str = _strings(s)
            hit &= is_str
            parsed = _parse_dates(strings[hit], str(formats[label]))
            if parsed is None:
                continue
            hit[np.flatnonzero(hit)[parsed.isna().to_numpy()]] = False
            stamps = pd.DatetimeIndex(parsed[parsed.notna()])
        if not hit.any():
            continue
        style = _choice(draws, 2, label, 4, rows=np.flatnonzero(hit))
        _set(out, j, _write_text(s, hit, _date_texts(stamps, style)))
    return out


_BOOLEAN_WORDS = np.array([["yes", "no"], ["Y", "N"], ["1", "0"], ["true", "false"],
                           ["TRUE", "FALSE"]], dtype=object)


@perturbation(
    name="format.boolean", modality="tabular", expectation="invariant",
    description='Writes booleans as the words other systems use, chosen per cell: yes/no, '
                'Y/N, "1"/"0", true/false, TRUE/FALSE (bool columns by default).',
    severity=_FORMAT_SEVERITY,
)
def format_boolean(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_bool):
        hit = _cells(draws, 1, label, severity) & s.notna().to_numpy()
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            continue
        truth = s[hit].to_numpy(dtype=bool)
        words = _BOOLEAN_WORDS[_choice(draws, 2, label, len(_BOOLEAN_WORDS), rows=rows),
                               np.where(truth, 0, 1)]
        _set(out, j, _object_with(s, hit, words))
    return out


# -- category ------------------------------------------------------------------------


def _holds_any(column: pd.Series, names: list[str]) -> bool:
    if _is_categorical(column):  # unused categories count as seen too
        return bool(pd.Index(names).isin(column.cat.categories).any())
    if isinstance(column.dtype, pd.StringDtype):
        return bool(column.isin(names).any())
    values, is_str = _strings(column)
    return bool(pd.Series(values[is_str], dtype=object).isin(names).any())


def _unseen_values(s: pd.Series, seen: pd.Series, k: int = 3) -> list[str]:
    """``k`` category names that occur neither in the column nor in the reference."""
    stem = "unseen_value_"
    while True:
        names = [f"{stem}{i}" for i in range(1, k + 1)]
        if not (_holds_any(s, names) or _holds_any(seen, names)):
            return names
        stem = "_" + stem


@perturbation(
    name="category.unseen", modality="tabular", expectation="invariant",
    description="Replaces category values by values never seen in the reference (a new "
                "product code, a new country): text and categorical columns by default.",
    severity="share of the non-missing cells replaced: 0.3 x severity (30% at 1.0)",
)
def category_unseen(frame: pd.DataFrame, *, draws: Draws, severity: float,
                    columns: Sequence[str] | None = None,
                    reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_textlike, _any):
        hit = _cells(draws, 1, label, _UNSEEN_SHARE * severity) & s.notna().to_numpy()
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            continue
        names = np.array(_unseen_values(s, _reference_column(reference, label, s)), dtype=object)
        _set(out, j, _write_text(s, hit, names[_choice(draws, 2, label, len(names), rows)]))
    return out


Variant = Callable[[np.ndarray], np.ndarray]


def _restyle(s: pd.Series, hit: np.ndarray, choice: np.ndarray,
             variants: Sequence[Variant]) -> ArrayLike | None:
    """Rewrite the str cells under ``hit`` with ``variants[choice]`` (``choice``: one
    per row). Categorical columns are rewritten through their categories, which are few;
    they gain the new spellings as categories. None when no cell holds a str."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.array
        categories = np.asarray(cat.categories, dtype=object)
        is_str = _ISINSTANCE(categories, str).astype(bool)
        texts = categories[is_str].astype(str)
        table = [categories]
        for variant in variants:
            spelled = categories.copy()
            spelled[is_str] = variant(texts).astype(object)
            table.append(spelled)
        codes, uniques = pd.factorize(np.concatenate(table))  # codes[:n] == range(n)
        n = len(categories)
        new = np.asarray(cat.codes, dtype=np.intp).copy()
        touched = hit & (new >= 0)
        touched[touched] = is_str[new[touched]]
        if not touched.any():
            return None
        new[touched] = codes[(choice[touched] + 1) * n + new[touched]]
        # keep the original categories and only the new spellings actually used
        keep = np.concatenate([np.arange(n), np.unique(new[new >= n])])
        renumber = np.full(len(uniques), -1, dtype=np.intp)
        renumber[keep] = np.arange(len(keep))
        new = np.where(new >= 0, renumber[new], -1)
        return pd.Categorical.from_codes(new, categories=uniques[keep], ordered=cat.ordered)
    values, is_str = _strings(s)
    hit = hit & is_str
    rows = np.flatnonzero(hit)
    if rows.size == 0:
        return None
    texts = values[rows].astype(str)
    picked = choice[rows]
    new = np.empty(rows.size, dtype=object)
    for k, variant in enumerate(variants):
        mine = picked == k
        if mine.any():
            new[mine] = variant(texts[mine]).astype(object)
    return _write_text(s, hit, new)


def _restyle_columns(frame: pd.DataFrame, draws: Draws, severity: float,
                     columns: Sequence[str] | None, variants: Sequence[Variant]) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_textlike):
        hit = _cells(draws, 1, label, severity)
        written = _restyle(s, hit, _choice(draws, 2, label, len(variants)), variants)
        if written is not None:
            _set(out, j, written)
    return out


_CASES: tuple[Variant, ...] = (np.char.upper, np.char.lower, np.char.title)


@perturbation(
    name="category.case", modality="tabular", expectation="invariant",
    description='Changes the case of text values, chosen per cell: upper ("PARIS"), lower '
                '("paris") or title ("Paris"); text and categorical columns by default.',
    severity="share of the text cells re-cased: severity (every cell at 1.0; a cell already "
             "in the chosen case is unchanged)",
)
def category_case(frame: pd.DataFrame, *, draws: Draws, severity: float,
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    return _restyle_columns(frame, draws, severity, columns, _CASES)


def _padded(before: str, after: str) -> Variant:
    return lambda texts: _join(before, texts, after)


_PADDINGS: tuple[Variant, ...] = (
    _padded(" ", ""), _padded("", " "), _padded(" ", " "), _padded("\t", ""),
    _padded("", "\t"), _padded("  ", "  "),
)


@perturbation(
    name="category.whitespace", modality="tabular", expectation="invariant",
    description="Surrounds text values with spaces or tabs (leading, trailing or both, "
                "chosen per cell), as hand-typed data and fixed-width exports do.",
    severity="share of the text cells padded: severity (every cell at 1.0)",
)
def category_whitespace(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        columns: Sequence[str] | None = None) -> pd.DataFrame:
    return _restyle_columns(frame, draws, severity, columns, _PADDINGS)


# -- noise, outliers, units -------------------------------------------------------------


@perturbation(
    name="noise.gaussian", modality="tabular", expectation="invariant",
    description="Adds Gaussian noise to numeric cells, scaled by each column's standard "
                "deviation in the reference; integer columns are rounded and keep their "
                "dtype.",
    severity="noise sigma in reference standard deviations: 0.2 x severity (0.2 sd at 1.0)",
)
@_quiet
def noise_gaussian(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_numeric):
        seen = _reference_numbers(reference, label, s)
        sd = float(seen.std()) if seen.size else 0.0
        x = _numbers(s)
        hit = np.isfinite(x)
        if sd == 0.0 or not hit.any():
            continue  # a constant or empty column has no scale to add noise in
        noise = _normal(draws, 1, label)
        noise *= _NOISE_SD * severity * sd
        noise += x
        _set(out, j, _write_numbers(s, hit, noise if hit.all() else noise[hit],
                                    round_ints=True))
    return out


@perturbation(
    name="outlier.extreme", modality="tabular", expectation="no-crash",
    description="Sets numeric cells far outside the reference range: the reference maximum "
                "plus `distance` standard deviations, or the minimum minus as much (the "
                "side chosen per cell).",
    severity="share of the numeric cells set to an outlier: 0.1 x severity (10% at 1.0)",
)
@_quiet
def outlier_extreme(frame: pd.DataFrame, *, draws: Draws, severity: float,
                    columns: Sequence[str] | None = None, distance: float = 10.0,
                    reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_numeric):
        seen = _reference_numbers(reference, label, s)
        hit = _cells(draws, 1, label, _OUTLIER_SHARE * severity) & s.notna().to_numpy()
        rows = np.flatnonzero(hit)
        if seen.size == 0 or rows.size == 0:
            continue
        low, high = float(seen.min()), float(seen.max())
        spread = float(seen.std()) or max(abs(high), 1.0)
        below = _choice(draws, 2, label, 2, rows=rows) == 0
        if _kind(s) == "u":  # an unsigned column cannot go below zero
            below &= low - distance * spread >= 0
        values = np.where(below, low - distance * spread, high + distance * spread)
        if _kind(s) in "iu":  # as far as a small integer type goes, rather than float64
            info = np.iinfo(np.dtype(getattr(s.dtype, "numpy_dtype", s.dtype)))
            values = np.clip(values, float(info.min), float(info.max))
        _set(out, j, _write_numbers(s, hit, values, round_ints=True))
    return out


@perturbation(
    name="scale.unit", modality="tabular", expectation="no-crash",
    description="Multiplies numeric cells by `factor` (1000 by default: kilograms written "
                "as grams, thousands as units), as when one source reports in another "
                "unit. Integer columns stay integer when the results are whole numbers.",
    severity="share of the numeric cells converted: severity (at 1.0 the whole column is "
             "in the other unit)",
)
@_quiet
def scale_unit(frame: pd.DataFrame, *, draws: Draws, severity: float,
               columns: Sequence[str] | None = None, factor: float = 1000.0) -> pd.DataFrame:
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_numeric):
        x = _numbers(s)
        hit = _cells(draws, 1, label, severity) & np.isfinite(x)
        if hit.any():
            _set(out, j, _write_numbers(s, hit, x[hit] * factor, round_ints=False))
    return out


# -- drift ----------------------------------------------------------------------------


def _drift(frame: pd.DataFrame, columns: Sequence[str] | None,
           reference: pd.DataFrame | None,
           move: Callable[[np.ndarray, float, float], np.ndarray]) -> pd.DataFrame:
    """Apply ``move(x, reference mean, reference sd)`` to every non-missing numeric cell."""
    out = _start(frame)
    for j, label, s in _targets(frame, columns, _is_numeric):
        seen = _reference_numbers(reference, label, s)
        x = _numbers(s)
        hit = np.isfinite(x)
        if seen.size == 0 or not hit.any():
            continue
        values = move(x[hit], float(seen.mean()), float(seen.std()))
        _set(out, j, _write_numbers(s, hit, values, round_ints=True))
    return out


@perturbation(
    name="drift.mean_shift", modality="tabular", expectation="no-crash",
    description="Shifts every numeric value by `shift` reference standard deviations "
                "(scaled by severity), as a recalibrated sensor or inflation does.",
    severity="shift in reference standard deviations: shift x severity (1 sd at 1.0 by "
             "default)",
)
@_quiet
def drift_mean_shift(frame: pd.DataFrame, *, draws: Draws, severity: float,
                     columns: Sequence[str] | None = None, shift: float = 1.0,
                     reference: pd.DataFrame | None = None) -> pd.DataFrame:
    return _drift(frame, columns, reference,
                  lambda x, mean, sd: x + shift * severity * sd)


@perturbation(
    name="drift.variance", modality="tabular", expectation="no-crash",
    description="Stretches every numeric value away from the reference mean, so the spread "
                "grows while the mean stays: x -> mean + (x - mean) * f.",
    severity="spread multiplier f = 1 + (factor - 1) x severity (twice the spread at 1.0 "
             "by default; a factor below 1 shrinks it)",
)
@_quiet
def drift_variance(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None, factor: float = 2.0,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    stretch = 1.0 + (factor - 1.0) * severity
    return _drift(frame, columns, reference,
                  lambda x, mean, sd: mean + (x - mean) * stretch)


def _splice(s: pd.Series, hit: np.ndarray, donor: pd.Series) -> ArrayLike:
    """``s`` with the cells under ``hit`` taken from ``donor`` (one value per hit cell)."""
    if s.dtype == donor.dtype:
        try:
            arr = s.array.copy()
            arr[hit] = donor.array
            return arr
        except (TypeError, ValueError):
            pass
    return _object_with(s, hit, _objects(donor))


@perturbation(
    name="drift.subpopulation", modality="tabular", expectation="no-crash",
    description="Replaces rows by rows drawn from a sub-population of the reference: the "
                "rows whose `by` column is at or above its `quantile` (by default a numeric "
                "column picked from the seed, and its top quartile), as when a new market "
                "or customer segment dominates the traffic.",
    severity="share of rows replaced: 0.5 x severity (half the rows at 1.0)",
)
@_quiet
def drift_subpopulation(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        by: str | None = None, quantile: float = 0.75,
                        reference: pd.DataFrame | None = None) -> pd.DataFrame:
    reference = frame if reference is None else reference
    if not 0.0 <= quantile < 1.0:
        raise InvalidArgument(f"quantile must be in [0, 1), got {quantile!r}; e.g. 0.75 "
                              "keeps the top quarter of the reference")
    numeric = [c for c in reference.columns
               if isinstance(reference.loc[:, c], pd.Series) and _is_numeric(reference[c])]
    if by is None:
        if not numeric:
            return _start(frame)
        by = min(numeric, key=lambda c: _column_draw(draws, 1, c))
    elif by not in numeric:
        raise InvalidArgument(
            f"by: {by!r} is not a numeric column of the reference; numeric columns: "
            f"{', '.join(map(repr, numeric)) or 'none'}"
        )
    key = _numbers(reference[by])
    finite = np.isfinite(key)
    if not finite.any():
        return _start(frame)
    pool = np.flatnonzero(finite & (key >= np.quantile(key[finite], quantile)))
    hit = _cells(draws, 1, "rows", _ROW_SHARE * severity)
    rows = np.flatnonzero(hit)
    if rows.size == 0:
        return _start(frame)
    donors = pool[(draws.uniform(2, owner=rows) * pool.size).astype(np.intp)]
    out = _start(frame)
    for j, label in enumerate(frame.columns):
        if label in reference.columns and isinstance(reference.loc[:, label], pd.Series):
            donor = reference[label].iloc[donors]
            _set(out, j, _splice(frame.iloc[:, j], hit, donor))
    return out


# -- schema -----------------------------------------------------------------------------


def _movers(draws: Draws, labels: Sequence[Hashable], share: float, least: int) -> list[int]:
    """Positions of the ``max(least, ceil(share * n))`` labels with the smallest per-name
    draw: a higher share picks a superset, and the pick ignores column positions."""
    if not labels:
        return []
    keys = [_column_draw(draws, 1, label) for label in labels]
    count = min(len(labels), max(least, math.ceil(share * len(labels))))
    return sorted(range(len(labels)), key=keys.__getitem__)[:count]


@perturbation(
    name="schema.column_order", modality="tabular", expectation="invariant",
    description="Permutes the columns, as a new export or a SELECT * does; every moved "
                "column lands in a new position (same permutation for every batch).",
    severity="share of the columns that move: max(2, ceil(severity x columns)) of them "
             "(all at 1.0); frames with fewer than two columns are unchanged",
)
def schema_column_order(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        columns: Sequence[str] | None = None) -> pd.DataFrame:
    candidates = [j for j, _, _ in _targets(frame, columns, _any)]
    labels = [frame.columns[j] for j in candidates]
    picked = [candidates[i] for i in _movers(draws, labels, severity, least=2)]
    if len(picked) < 2:
        return _start(frame)
    # one cycle through the movers, in an order drawn per name: each one moves
    cycle = sorted(picked, key=lambda j: _column_draw(draws, 2, frame.columns[j]))
    order = list(range(frame.shape[1]))
    for source, target in zip(cycle, cycle[1:] + cycle[:1]):
        order[target] = source
    return frame.iloc[:, order].copy(deep=not _copy_on_write())


@perturbation(
    name="schema.extra_column", modality="tabular", expectation="invariant",
    description="Appends unexpected columns a model should ignore: a float, then a text, "
                "then an integer column, named `name`, `name`_2, ... (made unique).",
    severity="number of extra columns: ceil(3 x severity) (3 at 1.0)",
)
def schema_extra_column(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        name: str = "extra") -> pd.DataFrame:
    out = _start(frame)
    words = np.array(["alpha", "beta", "gamma", "delta"], dtype=object)
    makers = (
        lambda: np.round(draws.uniform(1), 6),
        lambda: words[_choice(draws, 2, "extra", len(words))],
        lambda: (draws.bits(3) % np.uint64(100)).astype(np.int64),
    )
    taken = set(frame.columns)
    for k, make in enumerate(makers[: math.ceil(_EXTRA_COLUMNS * severity)]):
        label = name if k == 0 else f"{name}_{k + 1}"
        while label in taken:
            label = f"_{label}"
        taken.add(label)
        out.insert(out.shape[1], label, make(), allow_duplicates=False)
    return out


def _other_dtype(s: pd.Series) -> ArrayLike:
    """The same values in the dtype another reader would give them."""
    dtype = s.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return _objects(s)  # categories or strings lost: objects
    if not isinstance(dtype, np.dtype):  # nullable Int64/Float64/boolean: numpy floats
        return np.array(_numbers(s), dtype=np.float64, copy=True)
    if dtype.kind == "b":
        return s.to_numpy(dtype=np.int64)
    return s.to_numpy(dtype=np.float32 if dtype == np.float64 else np.float64)


def _convertible(s: pd.Series, seen: np.ndarray) -> bool:
    """Whether :func:`_other_dtype` keeps the values of the reference column ``seen``:
    integers up to 2**53 in a float64, floats within float32's range in a float32."""
    if _is_categorical(s) or isinstance(s.dtype, pd.StringDtype) or _kind(s) == "b":
        return True
    if _kind(s) not in "iuf":
        return False
    largest = float(np.abs(seen).max(initial=0.0))
    if _kind(s) in "iu":
        return largest <= 2.0**53
    return s.dtype != np.float64 or largest <= float(np.finfo(np.float32).max)


@perturbation(
    name="schema.dtype", modality="tabular", expectation="invariant",
    description="Changes column dtypes, as another reader or a parquet round trip does: "
                "int -> float64, float64 -> float32 (7 significant digits), float32 -> "
                "float64, bool -> int64, nullable Int64/Float64/boolean -> float64 with NaN, "
                "categorical and string -> object. A column whose reference values would not "
                "survive the change (integers above 2**53, floats beyond float32) is kept.",
    severity="share of the convertible columns converted: at least one, all at 1.0 "
             "(which ones is drawn per column name)",
)
def schema_dtype(frame: pd.DataFrame, *, draws: Draws, severity: float,
                 columns: Sequence[str] | None = None,
                 reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = _start(frame)
    targets = [(j, label, s) for j, label, s in _targets(frame, columns, _any)
               if _convertible(s, _reference_numbers(reference, label, s) if _is_numeric(s)
                               else np.empty(0))]
    for i in _movers(draws, [label for _, label, _ in targets], severity, least=1):
        j, _, s = targets[i]
        _set(out, j, _other_dtype(s))
    return out

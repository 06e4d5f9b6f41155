"""Layer 3 of the tabular catalogue: numbers and dates written as text, and date strings
read back.

The ``format.*`` perturbations rewrite cells the way other systems write them: numbers
plain, with a decimal comma, thousands separators, a currency symbol, a unit or a percent
sign (:class:`Style` says which), dates in four conventions (:func:`date_texts`). Every
function works on whole arrays: no Python loop over cells. :func:`date_format`
recognises a column of date strings so that it can be rewritten in another convention.

Imports only :mod:`._tabular_columns`; the perturbations import this module.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._tabular_columns import dtype_kind, floats, string_cells

__all__ = ["Style", "date_format", "date_texts", "join", "number_texts", "parse_dates"]


# -- rendering numbers as text ------------------------------------------------------
# Numbers are written by looking up the text of each group of digits in a table (numpy's
# own int-to-str and float-to-str are 5 to 20 times slower): 3-digit groups for the
# integer part, where thousands separators go, 4-digit chunks for the decimals.


class Style(NamedTuple):
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


def join(*parts: Any) -> np.ndarray:
    return functools.reduce(np.char.add, parts)


def _int_text(n: np.ndarray, negative: np.ndarray, style: Style) -> np.ndarray:
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


def _positional(a: np.ndarray, negative: np.ndarray, style: Style) -> np.ndarray:
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


def _float_text(x: np.ndarray, style: Style) -> np.ndarray:
    """Text of finite floats: positional from 1e-4 to 1e15, scientific (``1.5e+20``)
    outside, as Python writes them."""
    a, negative = np.abs(x), x < 0
    plain = (a == 0) | ((a >= 1e-4) & (a < 1e15))
    if plain.all():
        return _positional(a, negative, style)
    # C's printf rounds the 15 significant digits correctly; scaling by powers of ten in
    # floating point does not (two roundings can push a digit across its half)
    parts = np.char.partition(np.char.mod("%.14e", a[~plain]), "e")
    scaled, exponent = parts[:, 0].astype(np.float64), parts[:, 2].astype(np.int64)
    mantissa = _positional(scaled, negative[~plain], style._replace(min_decimals=0))
    power = np.abs(exponent)
    power_text = np.where(power < 10, np.char.add("0", power.astype(str)), power.astype(str))
    sign = np.array(["e+", "e-"])[(exponent < 0).astype(np.intp)]
    near = _positional(a[plain], negative[plain], style)
    far = join(mantissa, sign, power_text)
    out = np.empty(len(a), dtype=np.result_type(near, far))
    out[plain], out[~plain] = near, far
    return out


def number_texts(s: pd.Series, hit: np.ndarray, style: Style,
                  scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Render the non-missing cells under ``hit`` of a numeric column; returns the cells
    actually rendered (``hit`` narrowed) and their text."""
    hit = hit & s.notna().to_numpy()
    suffix = style.suffix
    if dtype_kind(s) in "iu" and scale == 1.0:
        values = s[hit].to_numpy(dtype=np.uint64 if dtype_kind(s) == "u" else np.int64)
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
        values = floats(s)[hit] * scale
        finite = np.abs(values) < 1.79769313486231e308  # may round up to inf at 15 digits
        if not finite.all():
            hit[np.flatnonzero(hit)[~finite]] = False
            values = values[finite]
        text = _float_text(values, style)
    return hit, np.char.add(text, suffix) if suffix else text


# -- dates ------------------------------------------------------------------------------

_TWO = np.array([f"{i:02d}" for i in range(100)])
_MONTHS = np.array(["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                    "Nov", "Dec"])


def date_texts(stamps: pd.DatetimeIndex, style: np.ndarray) -> np.ndarray:
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
    clock = join(_TWO[hour], ":", _TWO[minute], ":", _TWO[second])
    if (micro > 0).any():
        fraction = join(clock, ".", np.char.zfill(micro.astype(str), 6))
        clock = np.where(micro > 0, fraction, clock)
    if stamps.tz is not None:
        local = stamps.tz_localize(None)
        utc = stamps.tz_convert("UTC").tz_localize(None)
        minutes = np.round((local - utc).total_seconds().to_numpy() / 60).astype(np.int64)
        sign = np.array(["+", "-"])[(minutes < 0).astype(np.intp)]
        size = np.abs(minutes)
        clock = join(clock, sign, _TWO[size // 60 % 100], ":", _TWO[size % 60])
        timed = np.ones(len(stamps), dtype=bool)
    else:
        timed = (hour | minute | second | micro) != 0
    spaced = np.where(timed, np.char.add(" ", clock), "")
    layouts = (
        lambda i: join(_TWO[day[i]], "/", _TWO[month[i]], "/", year_text[i], spaced[i]),
        lambda i: join(_TWO[month[i]], "/", _TWO[day[i]], "/", year_text[i], spaced[i]),
        lambda i: join(year_text[i], "-", _TWO[month[i]], "-", _TWO[day[i]], "T", clock[i]),
        lambda i: join(day[i].astype(str), " ", _MONTHS[month[i]], " ", year_text[i],
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


def date_format(column: pd.Series) -> str | None:
    """The format of a column of date strings, judged on its first non-missing values;
    None unless nearly all of them parse as dates with a day, a month and a year."""
    strings, is_str = string_cells(column.iloc[: 5000])
    sample = strings[is_str][:200]
    if sample.size == 0:
        return None
    fmt = _guess_format(str(sample[0]))
    if fmt is None or "%d" not in fmt or "%Y" not in fmt or not ("%m" in fmt or "%b" in fmt):
        return None
    if fmt.startswith("%Y-%m-%d"):
        fmt = "ISO8601"  # also reads the same dates with or without a time
    parsed = parse_dates(sample, fmt)
    return fmt if parsed is not None and parsed.notna().mean() >= 0.9 else None


def parse_dates(strings: np.ndarray, fmt: str) -> pd.Series | None:
    """Timestamps (NaT where a string does not parse), or None if the strings mix time
    zones, which pandas refuses to put in one column."""
    try:
        return pd.to_datetime(pd.Series(strings, dtype=object), format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return None

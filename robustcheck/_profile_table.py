"""The table phenomena of the production profile (:func:`robustcheck.profile` on a
DataFrame): per column, missing values, numbers written as text and the number and date
formats seen; with a reference, unseen categories, numbers out of the clean range, new
date formats and the schema.

:func:`_frame_found` returns each phenomenon with the mask of the rows showing it;
:mod:`robustcheck._profile` turns them into a :class:`~robustcheck._profile.Profile`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._profile_base import NEEDS_REFERENCE, Phenomenon, _Found

# -- tables ----------------------------------------------------------------------------

_MISSING_TEXT = frozenset({"", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "-",
                           "--", "?", "missing", "#n/a", "#na", "undefined"})
_SENTINELS = (-999.0, -9999.0, -99999.0)
_STYLES = (  # (name, label, pattern on the stripped lower-case cell), first match wins
    ("plain", "plain numbers as text (\"12.5\")",
     r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"),
    ("thousands", "thousands separators (\"1,234.5\")", r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"),
    ("decimal_comma", "a decimal comma (\"1.234,5\", \"3,5\")",
     r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?|[+-]?\d+,\d+"),
    ("percent", "percentages (\"12%\")", r"[+-]?\d+(?:[.,]\d+)?\s?%"),
    ("currency", "money (\"$3\", \"3 €\")",
     r"[+-]?(?:[$€£¥]|usd|eur|gbp)\s?[+-]?\d[\d,.]*|[+-]?\d[\d,.]*\s?(?:[$€£¥]|usd|eur|gbp)"),
    ("unit", "a unit (\"5 kg\")",
     r"[+-]?\d+(?:[.,]\d+)?\s?(?!(?:st|nd|rd|th)$)[a-zµ]{1,3}"),
    ("iso_date", "ISO dates (\"2024-03-31\")",
     r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"),
    ("slash_date", "", r"\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"),
)
_STYLE_RE = re.compile("|".join(f"(?P<{name}>{p})" for name, _, p in _STYLES))
_DATE_STYLES = {"day_first_date": "day-first dates (\"31/03/2024\")",
                "month_first_date": "month-first dates (\"03/31/2024\")",
                "ambiguous_date": "dates either way (\"03/04/2024\")"}
STYLES = [s for s, _, _ in _STYLES if s != "slash_date"] + list(_DATE_STYLES)
_LABELS = {**{s: label for s, label, _ in _STYLES}, **_DATE_STYLES}
_NUMBER = np.array([s in ("plain", "thousands", "decimal_comma", "percent", "currency",
                          "unit") for s in STYLES] + [False])  # index -1: no style
_DATE = np.array([s.endswith("_date") for s in STYLES] + [False])
_MISSING_CODE = len(STYLES)  # a code past the styles: the cell says "missing"


def _classify(value: str) -> tuple[int, float]:
    """(style code, -1 for none; the number a plain cell holds, else NaN)."""
    text = value.strip().lower()
    if text in _MISSING_TEXT:
        return _MISSING_CODE, math.nan
    m = _STYLE_RE.fullmatch(text)
    if m is None:
        return -1, math.nan
    style = m.lastgroup or ""
    if style == "plain":
        number = float(text)
        return (_MISSING_CODE, math.nan) if number in _SENTINELS else (0, number)
    if style == "slash_date":
        first, second = (int(x) for x in re.split(r"[/.-]", text)[:2])
        if first > 31 or second > 31 or min(first, second) < 1 or min(first, second) > 12:
            return -1, math.nan
        style = "ambiguous_date" if max(first, second) <= 12 else \
            "day_first_date" if first > 12 else "month_first_date"
    return STYLES.index(style), math.nan


@dataclass(frozen=True)
class _Column:
    """What one column's cells are: missing, a string, in which style, which number."""

    series: Any
    missing: np.ndarray
    strings: np.ndarray
    style: np.ndarray
    numbers: np.ndarray
    numeric_dtype: bool

    @property
    def number_share(self) -> float:
        """The share of the filled cells that hold a number (or a number as text)."""
        return self._share(~np.isnan(self.numbers) | _NUMBER[self.style])

    @property
    def date_share(self) -> float:
        return self._share(_DATE[self.style])

    def _share(self, cells: np.ndarray) -> float:
        present = ~self.missing
        return float((cells & present).sum() / max(1, present.sum()))


def _real(value: Any) -> float:
    """A cell's number when it holds one (not a bool), else NaN."""
    if isinstance(value, (bool, np.bool_)) or \
            not isinstance(value, (int, float, np.integer, np.floating)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int past any float
        return math.inf if value > 0 else -math.inf


def _column(series: Any) -> _Column:
    import pandas as pd
    from pandas.api import types

    n = len(series)
    na = series.isna().to_numpy(dtype=bool)
    strings = np.zeros(n, dtype=bool)
    style = np.full(n, -1, dtype=np.int64)
    numeric = bool(types.is_numeric_dtype(series) and not types.is_bool_dtype(series))
    if numeric:
        numbers = series.to_numpy(dtype=float, na_value=np.nan, copy=True)  # ours to edit
    else:
        values = series.to_numpy(dtype=object)
        strings = np.fromiter((isinstance(v, str) for v in values), bool, count=n)
        numbers = np.fromiter((_real(v) for v in values), float, count=n)
        if strings.any():
            codes, uniques = pd.factorize(values[strings])
            classes = [_classify(u) for u in uniques]
            style[strings] = np.array([c for c, _ in classes], dtype=np.int64)[codes]
            numbers[strings] = np.array([x for _, x in classes], dtype=float)[codes]
    missing = na | (style == _MISSING_CODE) | np.isin(numbers, _SENTINELS)
    style[style == _MISSING_CODE] = -1
    numbers[missing] = np.nan
    return _Column(series, missing, strings, style, numbers, numeric)


def _categories(ref: _Column) -> Any | None:
    """The values a clean column took, when it is categorical (not numbers, not dates,
    and its values repeat: at most half as many distinct values as filled cells)."""
    from pandas.api import types

    if ref.numeric_dtype or ref.number_share >= 0.5 or ref.date_share >= 0.5 or \
            types.is_datetime64_any_dtype(ref.series):
        return None
    filled = ref.series[~ref.missing]
    try:
        values = filled.unique()
    except TypeError:  # unhashable cells (lists): no categories to speak of
        return None
    return values if len(values) <= max(1, len(filled) // 2) else None


def _frame_found(frame: Any, reference: Any | None) -> _Found:
    n = len(frame)
    found: _Found = []
    seen = {s: np.zeros(n, dtype=bool) for s in STYLES}
    seen_in: dict[str, list[str]] = {s: [] for s in STYLES}
    ref_at = {} if reference is None else {str(c): j for j, c in enumerate(reference.columns)}
    checked = {"category": 0, "range": 0}
    new_dates = np.zeros(n, dtype=bool)
    for j, col in enumerate(str(c) for c in frame.columns):
        cells = _column(frame.iloc[:, j])
        ref = None if reference is None or col not in ref_at else \
            _column(reference.iloc[:, ref_at[col]])
        found.append((Phenomenon("missing", "missing values", ("missing",),
                                 int(cells.missing.sum()), n, col), cells.missing))
        basis = ref if ref is not None else cells  # what the column is meant to hold
        holds_numbers = basis.numeric_dtype or basis.number_share >= 0.5
        if holds_numbers:
            hit = cells.strings & _NUMBER[cells.style] & ~cells.missing
            found.append((Phenomenon("number_as_string", "numbers written as text",
                                     ("format",), int(hit.sum()), n, col), hit))
        for k, s in enumerate(STYLES):
            hit = cells.style == k
            if hit.any():
                seen[s] |= hit
                seen_in[s].append(col)
        if ref is not None:
            new_dates |= _DATE[cells.style] & ~np.isin(cells.style, ref.style)
            found += _against_reference(cells, ref, col, n, holds_numbers, checked)
    for s in STYLES:
        note = "in " + ", ".join(seen_in[s][:5]) + (" ..." if len(seen_in[s]) > 5 else "") \
            if seen_in[s] else ""
        found.append((Phenomenon(f"seen.{s}", _LABELS[s], (), int(seen[s].sum()), n,
                                 note=note), seen[s]))
    found += _frame_level(frame, reference, n, checked, new_dates)
    return found


def _against_reference(cells: _Column, ref: _Column, col: str, n: int,
                       holds_numbers: bool, checked: dict[str, int]) -> _Found:
    found: _Found = []
    categories = None if holds_numbers else _categories(ref)
    if categories is not None:
        checked["category"] += 1
        hit = ~cells.missing & ~cells.series.isin(categories).to_numpy(dtype=bool)
        found.append((Phenomenon("unseen_category", "categories the clean data never had",
                                 ("category",), int(hit.sum()), n, col), hit))
    clean = ref.numbers[np.isfinite(ref.numbers)]
    if holds_numbers and clean.size:
        checked["range"] += 1
        low, high = float(clean.min()), float(clean.max())
        with np.errstate(invalid="ignore"):
            hit = (cells.numbers < low) | (cells.numbers > high)
        found.append((Phenomenon("out_of_range", "numbers outside the clean range",
                                 ("outlier", "drift"), int(hit.sum()), n, col,
                                 note=f"clean range [{low:g}, {high:g}]"), hit))
    return found


def _frame_level(frame: Any, reference: Any | None, n: int, checked: dict[str, int],
                 new_dates: np.ndarray) -> _Found:
    """The phenomena of the whole frame that rest on the reference."""
    rules = [("unseen_category", "categories the clean data never had", ("category",),
              "category", "no categorical column in the reference"),
             ("out_of_range", "numbers outside the clean range", ("outlier", "drift"),
              "range", "no numeric column in the reference")]
    found: _Found = []
    for name, label, families, key, none_found in rules:
        if reference is None:
            found.append((Phenomenon(name, label, families, None, n, note=NEEDS_REFERENCE),
                          None))
        elif not checked[key]:
            found.append((Phenomenon(name, label, families, 0, n, note=none_found),
                          np.zeros(n, dtype=bool)))
    date_label = "dates in a format the clean column does not use"
    schema_label = "columns missing, extra or reordered against the clean data"
    if reference is None:
        found.append((Phenomenon("new_date_format", date_label, ("format",), None, n,
                                 note=NEEDS_REFERENCE), None))
        found.append((Phenomenon("schema", schema_label, ("schema",), None, n,
                                 note=NEEDS_REFERENCE), None))
        return found
    found.append((Phenomenon("new_date_format", date_label, ("format",),
                             int(new_dates.sum()), n), new_dates))
    mine, clean = [str(c) for c in frame.columns], [str(c) for c in reference.columns]
    gone, extra = [c for c in clean if c not in mine], [c for c in mine if c not in clean]
    common = [c for c in mine if c in clean]
    moved = common != [c for c in clean if c in mine]
    why = "; ".join(x for x in (f"missing: {', '.join(gone[:5])}" if gone else "",
                                f"extra: {', '.join(extra[:5])}" if extra else "",
                                "columns in another order" if moved else "") if x)
    hit = np.full(n, bool(why))
    found.append((Phenomenon("schema", schema_label, ("schema",), int(hit.sum()), n,
                             note=why), hit))
    return found

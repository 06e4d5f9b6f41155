"""The ``format.*`` perturbations: numbers, dates and booleans written the way another
system, locale or hand-typed spreadsheet writes them (as strings, with a decimal comma,
thousands separators, a unit, a currency symbol or a percent sign; dates in another
convention; booleans as words).

Layer 4 of the tabular catalogue: the text itself comes from :mod:`._tabular_render`,
the write-back from :mod:`._tabular_writers`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
import pandas as pd

from ._random import Draws
from ._registry import perturbation
from ._tabular_columns import (
    draw_choices,
    floats,
    is_bool,
    is_categorical,
    is_datetime,
    is_float,
    is_numeric,
    is_textlike,
    pick_cells,
    pick_columns,
    reference_column,
    reference_kept,
    reference_spread,
    string_cells,
)
from ._tabular_render import Style, date_format, date_texts, number_texts, parse_dates
from ._tabular_writers import objects_with, quiet, set_column, start_frame, write_text

_FORMAT_SEVERITY = ("share of the non-missing cells of the chosen columns rewritten: "
                    "severity (every cell at 1.0)")


def _format_numbers(frame: pd.DataFrame, draws: Draws, severity: float,
                    columns: Sequence[str] | None, reference: pd.DataFrame | None,
                    style: Style,
                    default: Callable[[pd.Series], bool] = is_numeric) -> pd.DataFrame:
    """Shared body of the number-formatting perturbations: a ``severity`` share of the
    non-missing cells of each numeric column is rewritten as text in ``style``."""
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, default, is_numeric):
        hit, texts = number_texts(s, pick_cells(draws, 1, label, severity), style)
        if hit.any() or reference_spread(reference, label, s).size:
            set_column(out, j, objects_with(s, hit, texts))
    return out


@perturbation(
    name="format.number_as_string", modality="tabular", expectation="invariant",
    description='Writes numbers as strings ("5.0", "12"), as a CSV read without type '
                "inference or a JSON API that quotes numbers delivers them; the column "
                "becomes an object column mixing numbers and strings.",
    severity=_FORMAT_SEVERITY,
)
@quiet
def format_number_as_string(frame: pd.DataFrame, *, draws: Draws, severity: float,
                            columns: Sequence[str] | None = None,
                            reference: pd.DataFrame | None = None) -> pd.DataFrame:
    return _format_numbers(frame, draws, severity, columns, reference, Style())


@perturbation(
    name="format.decimal_comma", modality="tabular", expectation="invariant",
    description='Writes floats with a decimal comma ("5,25"), as European locales do '
                "(float columns by default; named integer columns are written as digits).",
    severity=_FORMAT_SEVERITY,
)
@quiet
def format_decimal_comma(frame: pd.DataFrame, *, draws: Draws, severity: float,
                         columns: Sequence[str] | None = None,
                         reference: pd.DataFrame | None = None) -> pd.DataFrame:
    return _format_numbers(frame, draws, severity, columns, reference, Style(point=","),
                           is_float)


@perturbation(
    name="format.thousands_separator", modality="tabular", expectation="invariant",
    description='Writes numbers of 1,000 or more with thousands separators ("12,345.6"); '
                "smaller numbers are left alone since they would show no separator.",
    severity=_FORMAT_SEVERITY,
)
@quiet
def format_thousands_separator(frame: pd.DataFrame, *, draws: Draws, severity: float,
                               columns: Sequence[str] | None = None,
                               reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    style = Style(group=",")
    for j, label, s in pick_columns(frame, columns, is_numeric):
        large = np.abs(floats(s)) >= 1000  # NaN compares False
        hit, texts = number_texts(s, pick_cells(draws, 1, label, severity) & large, style)
        # a column with a large value anywhere in the reference becomes object in every
        # batch, so a batch's dtype does not depend on its rows
        if hit.any() or reference_spread(reference, label, s).largest >= 1000:
            set_column(out, j, objects_with(s, hit, texts))
    return out


@perturbation(
    name="format.units", modality="tabular", expectation="invariant",
    description='Writes numbers with a unit ("5 kg"), as spreadsheets typed by hand do; '
                "the unit is a parameter.",
    severity=_FORMAT_SEVERITY,
)
@quiet
def format_units(frame: pd.DataFrame, *, draws: Draws, severity: float,
                 columns: Sequence[str] | None = None, unit: str = "kg",
                 reference: pd.DataFrame | None = None) -> pd.DataFrame:
    style = Style(min_decimals=0, suffix=f" {unit}" if unit else "")
    return _format_numbers(frame, draws, severity, columns, reference, style)


@perturbation(
    name="format.currency", modality="tabular", expectation="invariant",
    description='Writes numbers as money ("$1,234.50", "-$3.00"): symbol, thousands '
                "separators, at least two decimals (more when the value has them).",
    severity=_FORMAT_SEVERITY,
)
@quiet
def format_currency(frame: pd.DataFrame, *, draws: Draws, severity: float,
                    columns: Sequence[str] | None = None, symbol: str = "$",
                    reference: pd.DataFrame | None = None) -> pd.DataFrame:
    style = Style(group=",", min_decimals=2, int_decimals=2, prefix=symbol)
    return _format_numbers(frame, draws, severity, columns, reference, style)


@perturbation(
    name="format.percent", modality="tabular", expectation="invariant",
    description='Writes numbers as percentages: a column whose reference values all lie '
                'in [0, 1] is read as fractions (0.25 -> "25%"), any other as percent '
                'points (12.5 -> "12.5%").',
    severity=_FORMAT_SEVERITY,
)
@quiet
def format_percent(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    style = Style(min_decimals=0, suffix="%")
    for j, label, s in pick_columns(frame, columns, is_numeric):
        seen = reference_spread(reference, label, s)
        fractions = seen.size > 0 and seen.low >= 0.0 and seen.high <= 1.0
        hit, texts = number_texts(s, pick_cells(draws, 1, label, severity), style,
                                   scale=100.0 if fractions else 1.0)
        if hit.any() or seen.size:
            set_column(out, j, objects_with(s, hit, texts))
    return out


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
    out = start_frame(frame)
    formats: dict[Hashable, str | None] = {}

    def dated(s: pd.Series) -> bool:
        if is_datetime(s):
            return True
        if not is_textlike(s) or is_categorical(s):
            return False
        formats[s.name] = reference_kept(reference, s.name, s, "date format", date_format)
        return formats[s.name] is not None

    for j, label, s in pick_columns(frame, columns, dated):
        hit = pick_cells(draws, 1, label, severity) & s.notna().to_numpy()
        if is_datetime(s):
            if not hit.any() and reference_column(reference, label, s).notna().any():
                # a datetime column with a date in the reference becomes object in
                # every batch, written or not
                set_column(out, j, objects_with(s, hit, []))
                continue
            stamps = pd.DatetimeIndex(s[hit])
        else:
            strings, is_str = string_cells(s)
            hit &= is_str
            parsed = parse_dates(strings[hit], str(formats[label]))
            if parsed is None:
                continue
            hit[np.flatnonzero(hit)[parsed.isna().to_numpy()]] = False
            stamps = pd.DatetimeIndex(parsed[parsed.notna()])
        if not hit.any():
            continue
        style = draw_choices(draws, 2, label, 4, rows=np.flatnonzero(hit))
        set_column(out, j, write_text(s, hit, date_texts(stamps, style)))
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
                   columns: Sequence[str] | None = None,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_bool):
        hit = pick_cells(draws, 1, label, severity) & s.notna().to_numpy()
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            if reference_column(reference, label, s).notna().any():
                set_column(out, j, objects_with(s, hit, []))  # object in every batch
            continue
        truth = s[hit].to_numpy(dtype=bool)
        words = _BOOLEAN_WORDS[draw_choices(draws, 2, label, len(_BOOLEAN_WORDS), rows=rows),
                               np.where(truth, 0, 1)]
        set_column(out, j, objects_with(s, hit, words))
    return out

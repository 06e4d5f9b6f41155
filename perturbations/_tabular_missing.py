"""The ``missing.*`` perturbations: cells blanked the ways real pipelines blank them
(NaN, None, "", a sentinel such as -999).

Layer 4 of the tabular catalogue: imports the writers and the column layer below it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._random import Draws
from ._registry import perturbation
from ._tabular_columns import any_dtype, is_numeric, is_textlike, pick_cells, pick_columns
from ._tabular_writers import objects_with, quiet, set_column, start_frame, write_value

_MISSING_SHARE = 0.3  # missing.*: share of cells blanked at severity 1

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
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, any_dtype):
        hit = pick_cells(draws, 1, label, _MISSING_SHARE * severity)
        # numpy columns take the same route as pandas' mask, in one pass instead of three
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
            set_column(out, j, np.where(hit, np.nan, s.to_numpy()))
        elif s.dtype == bool:
            values = s.to_numpy(dtype=object)
            values[hit] = np.nan
            set_column(out, j, values)
        else:
            set_column(out, j, s.mask(hit).array)
    return out


@perturbation(
    name="missing.none", modality="tabular", expectation="invariant",
    description="Puts Python None in cells, as JSON null does: the column becomes an "
                "object column holding None (text and categorical columns by default).",
    severity=_MISSING_SEVERITY,
)
def missing_none(frame: pd.DataFrame, *, draws: Draws, severity: float,
                 columns: Sequence[str] | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_textlike, any_dtype):
        hit = pick_cells(draws, 1, label, _MISSING_SHARE * severity)
        set_column(out, j, objects_with(s, hit, None))
    return out


@perturbation(
    name="missing.empty_string", modality="tabular", expectation="invariant",
    description='Replaces cells with "" as CSV exports and web forms leave them (text and '
                "categorical columns by default; a categorical gains the category \"\").",
    severity=_MISSING_SEVERITY,
)
def missing_empty_string(frame: pd.DataFrame, *, draws: Draws, severity: float,
                         columns: Sequence[str] | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_textlike, any_dtype):
        hit = pick_cells(draws, 1, label, _MISSING_SHARE * severity)
        set_column(out, j, write_value(s, hit, ""))
    return out


@perturbation(
    name="missing.sentinel", modality="tabular", expectation="invariant",
    description="Replaces cells with a sentinel that legacy systems use for 'unknown' "
                "(-999 by default; numeric columns by default, which keep their dtype when "
                "it holds the sentinel and otherwise take one that does: -999 turns UInt8 "
                "into Int16).",
    severity=_MISSING_SEVERITY,
)
@quiet
def missing_sentinel(frame: pd.DataFrame, *, draws: Draws, severity: float,
                     columns: Sequence[str] | None = None,
                     sentinel: float | str = -999) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_numeric, any_dtype):
        hit = pick_cells(draws, 1, label, _MISSING_SHARE * severity)
        set_column(out, j, write_value(s, hit, sentinel))
    return out

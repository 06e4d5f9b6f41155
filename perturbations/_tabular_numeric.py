"""Numeric values moved: ``noise.gaussian``, ``outlier.extreme``, ``scale.unit`` and the
``drift.*`` perturbations (mean shift, variance, a sub-population taking over the rows).

Scales come from the ``reference`` frame (its standard deviation, range, mean), so a
batch is perturbed as the whole data set would be. Layer 4 of the tabular catalogue:
imports the writers and the column layer below it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ._errors import InvalidArgument
from ._random import Draws
from ._registry import perturbation
from ._tabular_columns import (
    column_draw,
    draw_choices,
    draw_normals,
    dtype_kind,
    floats,
    is_numeric,
    kept,
    pick_cells,
    pick_columns,
    reference_spread,
)
from ._tabular_writers import (
    fits_integers,
    quiet,
    set_column,
    splice,
    start_frame,
    write_numbers,
)

_OUTLIER_SHARE = 0.1  # outlier.extreme
_ROW_SHARE = 0.5  # drift.subpopulation: share of rows replaced
_NOISE_SD = 0.2  # noise.gaussian: sigma in reference standard deviations

@perturbation(
    name="noise.gaussian", modality="tabular", expectation="invariant",
    description="Adds Gaussian noise to numeric cells, scaled by each column's standard "
                "deviation in the reference; integer columns are rounded and keep their "
                "dtype (held within its range).",
    severity="noise sigma in reference standard deviations: 0.2 x severity (0.2 sd at 1.0)",
)
@quiet
def noise_gaussian(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_numeric):
        spread = reference_spread(reference, label, s)
        sd = spread.sd if spread.size else 0.0
        x = floats(s)
        hit = np.isfinite(x)
        if sd == 0.0 or not hit.any():
            continue  # a constant or empty column has no scale to add noise in
        noise = draw_normals(draws, 1, label)
        noise *= _NOISE_SD * severity * sd
        noise += x
        set_column(out, j, write_numbers(s, hit, noise if hit.all() else noise[hit],
                                         keep_integers=True))
    return out


@perturbation(
    name="outlier.extreme", modality="tabular", expectation="no-crash",
    description="Sets numeric cells far outside the reference range: the reference maximum "
                "plus `distance` standard deviations, or the minimum minus as much (the "
                "side chosen per cell).",
    severity="share of the numeric cells set to an outlier: 0.1 x severity (10% at 1.0)",
)
@quiet
def outlier_extreme(frame: pd.DataFrame, *, draws: Draws, severity: float,
                    columns: Sequence[str] | None = None, distance: float = 10.0,
                    reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_numeric):
        seen = reference_spread(reference, label, s)
        hit = pick_cells(draws, 1, label, _OUTLIER_SHARE * severity) & s.notna().to_numpy()
        rows = np.flatnonzero(hit)
        if seen.size == 0 or rows.size == 0:
            continue
        low, high = seen.low, seen.high
        spread = seen.sd or max(abs(high), 1.0)
        below = draw_choices(draws, 2, label, 2, rows=rows) == 0
        if dtype_kind(s) == "u":  # an unsigned column cannot go below zero
            below &= low - distance * spread >= 0
        values = np.where(below, low - distance * spread, high + distance * spread)
        # an integer column keeps its type: the outlier goes as far as the type goes
        set_column(out, j, write_numbers(s, hit, values, keep_integers=True))
    return out


@perturbation(
    name="scale.unit", modality="tabular", expectation="no-crash",
    description="Multiplies numeric cells by `factor` (1000 by default: kilograms written "
                "as grams, thousands as units), as when one source reports in another "
                "unit. An integer column stays integer when the factor is a whole number "
                "and every reference value times it fits the column's type; otherwise it "
                "becomes float.",
    severity="share of the numeric cells converted: severity (at 1.0 the whole column is "
             "in the other unit)",
)
@quiet
def scale_unit(frame: pd.DataFrame, *, draws: Draws, severity: float,
               columns: Sequence[str] | None = None, factor: float = 1000.0,
               reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_numeric):
        x = floats(s)
        hit = pick_cells(draws, 1, label, severity) & np.isfinite(x)
        integers = dtype_kind(s) in "iu"
        if integers:  # decided on the reference: a batch's rows do not change the dtype
            seen = reference_spread(reference, label, s)
            ends = np.array([seen.low, seen.high] if seen.size else [], dtype=np.float64)
            keep = float(factor).is_integer() and fits_integers(ends * factor, s.dtype)
            if not hit.any() and (keep or seen.size == 0):
                continue
        elif not hit.any():
            continue
        set_column(out, j, write_numbers(s, hit, x[hit] * factor,
                                         keep_integers=integers and keep))
    return out


# -- drift ----------------------------------------------------------------------------


def _drift(frame: pd.DataFrame, columns: Sequence[str] | None,
           reference: pd.DataFrame | None,
           move: Callable[[np.ndarray, float, float], np.ndarray]) -> pd.DataFrame:
    """Apply ``move(x, reference mean, reference sd)`` to every non-missing numeric cell."""
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_numeric):
        seen = reference_spread(reference, label, s)
        x = floats(s)
        hit = np.isfinite(x)
        if seen.size == 0 or not hit.any():
            continue
        values = move(x[hit], seen.mean, seen.sd)
        set_column(out, j, write_numbers(s, hit, values, keep_integers=True))
    return out


@perturbation(
    name="drift.mean_shift", modality="tabular", expectation="no-crash",
    description="Shifts every numeric value by `shift` reference standard deviations "
                "(scaled by severity), as a recalibrated sensor or inflation does; integer "
                "columns are rounded and keep their dtype (held within its range).",
    severity="shift in reference standard deviations: shift x severity (1 sd at 1.0 by "
             "default)",
)
@quiet
def drift_mean_shift(frame: pd.DataFrame, *, draws: Draws, severity: float,
                     columns: Sequence[str] | None = None, shift: float = 1.0,
                     reference: pd.DataFrame | None = None) -> pd.DataFrame:
    return _drift(frame, columns, reference,
                  lambda x, mean, sd: x + shift * severity * sd)


@perturbation(
    name="drift.variance", modality="tabular", expectation="no-crash",
    description="Stretches every numeric value away from the reference mean, so the spread "
                "grows while the mean stays: x -> mean + (x - mean) * f; integer columns "
                "are rounded and keep their dtype (held within its range).",
    severity="spread multiplier f = 1 + (factor - 1) x severity (twice the spread at 1.0 "
             "by default; a factor below 1 shrinks it)",
)
@quiet
def drift_variance(frame: pd.DataFrame, *, draws: Draws, severity: float,
                   columns: Sequence[str] | None = None, factor: float = 2.0,
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    stretch = 1.0 + (factor - 1.0) * severity
    return _drift(frame, columns, reference,
                  lambda x, mean, sd: mean + (x - mean) * stretch)


@perturbation(
    name="drift.subpopulation", modality="tabular", expectation="no-crash",
    description="Replaces rows by rows drawn from a sub-population of the reference: the "
                "rows whose `by` column is at or above its `quantile` (by default a numeric "
                "column picked from the seed, and its top quartile), as when a new market "
                "or customer segment dominates the traffic.",
    severity="share of rows replaced: 0.5 x severity (half the rows at 1.0)",
)
@quiet
def drift_subpopulation(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        by: str | None = None, quantile: float = 0.75,
                        reference: pd.DataFrame | None = None) -> pd.DataFrame:
    reference = frame if reference is None else reference
    if not 0.0 <= quantile < 1.0:
        raise InvalidArgument(f"quantile must be in [0, 1), got {quantile!r}; e.g. 0.75 "
                              "keeps the top quarter of the reference")
    numeric = [c for c in reference.columns
               if isinstance(reference.loc[:, c], pd.Series) and is_numeric(reference[c])]
    if by is None:
        if not numeric:
            return start_frame(frame)
        by = min(numeric, key=lambda c: column_draw(draws, 1, c))
    elif by not in numeric:
        raise InvalidArgument(
            f"by: {by!r} is not a numeric column of the reference; numeric columns: "
            f"{', '.join(map(repr, numeric)) or 'none'}"
        )
    pool = kept(reference, ("subpopulation", by, quantile),
                lambda: _subpopulation(floats(reference[by]), quantile))
    if pool.size == 0:
        return start_frame(frame)
    hit = pick_cells(draws, 1, "rows", _ROW_SHARE * severity)
    rows = np.flatnonzero(hit)
    if rows.size == 0:
        return start_frame(frame)
    donors = pool[(draws.uniform(2, owner=rows) * pool.size).astype(np.intp)]
    out = start_frame(frame)
    for j, label in enumerate(frame.columns):
        if label in reference.columns and isinstance(reference.loc[:, label], pd.Series):
            donor = reference[label].iloc[donors]
            set_column(out, j, splice(frame.iloc[:, j], hit, donor))
    return out


def _subpopulation(key: np.ndarray, quantile: float) -> np.ndarray:
    """Positions of the reference rows whose finite ``key`` is at or above its
    ``quantile`` (read only: it may be kept with a frozen reference)."""
    finite = np.isfinite(key)
    if not finite.any():
        pool = np.zeros(0, dtype=np.intp)
    else:
        pool = np.flatnonzero(finite & (key >= np.quantile(key[finite], quantile)))
    pool.flags.writeable = False
    return pool

"""The tabular attack: random directions in standard deviations, bisected to the boundary.

Public as :func:`robustcheck.attack.attack_tabular`; the method is described there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from perturbations import stable_hash

from ._attack_common import (
    AttackResult,
    _check_indices,
    _check_int,
    _check_positive,
    _empty_result,
    _flipped,
    _Oracle,
    _Outcome,
    _record,
)
from ._data import pack_rows
from ._files import jsonable
from ._files import plain as _plain
from .adapters import adapt
from .errors import InvalidArgument


def attack_tabular(model: Any, frame: Any, *, seed: int = 0, max_queries: int = 200,
                   columns: Sequence[Any] | None = None, reference: Any = None,
                   radius: float = 3.0, directions: int = 16, tolerance: float = 0.01,
                   patience: int = 3, max_categories: int = 20,
                   indices: Sequence[int] | None = None,
                   timeout: float | None = None) -> AttackResult:
    """Bounded black-box search for the smallest change of each row that flips its label.

    Numeric columns move in units of their standard deviation in ``reference`` (default:
    ``frame``), so one unit means the same on every feature. Per row, batches of
    ``directions`` random unit directions are tried at the current radius (first
    ``radius``); when some flip the label, the radius is bisected along the most flipped
    one down to the boundary (to ``tolerance``), and new directions are tried within
    the smaller radius, until ``patience`` batches in a row find nothing smaller or the
    budget is spent. Categorical (non-numeric) columns are tried first, one swap at a
    time, among the ``max_categories`` most frequent values seen in ``reference``; a
    swap counts as a distance of 1 (one standard deviation) per column.

    ``distance`` is the L2 norm of the change in standard deviations. Missing numeric
    cells are not moved. ``columns`` limits which columns may change (default: all).
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"frame must be a pandas DataFrame of rows to attack; got "
                              f"{type(frame).__name__}")
    reference = frame if reference is None else reference
    if not isinstance(reference, pd.DataFrame):
        raise InvalidArgument(f"reference must be a pandas DataFrame (the data whose spread "
                              f"sets the units) or None; got {type(reference).__name__}")
    adapter = adapt(model)
    seed = _check_int("seed", seed, 0)
    max_queries = _check_int("max_queries", max_queries, 1)
    directions = _check_int("directions", directions, 1)
    patience = _check_int("patience", patience, 1)
    max_categories = _check_int("max_categories", max_categories, 1)
    radius = _check_positive("radius", radius)
    tolerance = _check_positive("tolerance", tolerance)
    keys = _check_indices(indices, len(frame))
    chosen = list(frame.columns) if columns is None else list(columns)
    missing = [c for c in chosen if c not in frame.columns or c not in reference.columns]
    if missing:
        raise InvalidArgument(f"columns {missing} are not columns of both frame and reference; "
                              f"frame has {[str(c) for c in frame.columns][:20]}")
    numeric, stds, categorical = [], [], {}
    for c in chosen:
        series = reference[c]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            std = float(pd.to_numeric(series, errors="coerce").std())
            if math.isfinite(std) and std > 0:
                numeric.append(c)
                stds.append(std)
        else:
            counts = series.dropna().value_counts(sort=True)
            values = sorted(counts.index.tolist(), key=lambda v: (-counts[v], repr(v)))
            if len(values) > 1:
                categorical[c] = values[:max_categories]
    params = {"columns": [str(c) for c in chosen], "radius": radius, "directions": directions,
              "tolerance": tolerance, "patience": patience, "max_categories": max_categories}
    out = _empty_result("tabular", seed, max_queries, None, keys, params)
    search = _TabularSearch(numeric, np.asarray(stds), categorical, radius, directions,
                            tolerance, patience)
    for i in range(len(frame)):
        row = frame.iloc[[i]].reset_index(drop=True)
        oracle = _Oracle(adapter, max_queries, functools.partial(pack_rows, row),
                         lambda overrides: jsonable(dict(overrides)), "tabular", timeout)
        rng = np.random.default_rng(stable_hash("robustcheck.attack_tabular", seed, keys[i]))
        outcome = search.run(oracle, row, rng)
        _record(out, {str(k): _plain(v) for k, v in row.iloc[0].items()}, oracle, outcome)
    return out


@dataclass
class _TabularSearch:
    numeric: list[Any]
    stds: np.ndarray
    categorical: dict[Any, list[Any]]
    radius: float
    directions: int
    tolerance: float
    patience: int

    def run(self, oracle: _Oracle, row: Any, rng: np.random.Generator) -> _Outcome:
        (clean,) = oracle.ask([{}])
        if not isinstance(clean, tuple):
            return _Outcome("crashed")
        clean_label = clean[0]
        oracle.clean_label = clean_label
        best: tuple[float, dict[Any, Any], Any] | None = None  # (distance, overrides, label)
        # Categorical swaps, one column at a time: at most half the budget.
        swaps = [{c: v} for c, values in self.categorical.items() for v in values
                 if not _same_value(row[c].iloc[0], v)]
        swaps = swaps[: max(0, oracle.remaining // 2)]
        for change, reply in zip(swaps, oracle.ask(swaps)):
            if _flipped(reply, clean_label):
                best = (1.0, change, reply[0])
                break
        # Numeric directions, in standard deviations; missing cells stay put.
        x = row[self.numeric].to_numpy(dtype=float, na_value=np.nan)[0] if self.numeric \
            else np.zeros(0)
        movable = np.isfinite(x)
        if movable.any():
            best = self._numeric(oracle, x, movable, rng, clean_label, best)
        if best is None:
            return _Outcome("failed", clean_label)
        distance, change, label = best
        changes = []
        for column, after in change.items():
            before = _plain(row[column].iloc[0])
            entry = {"column": str(column), "before": before, "after": _plain(after)}
            if column in self.numeric:
                entry["std_units"] = (after - before) / self.stds[self.numeric.index(column)]
            changes.append(entry)
        adversarial = {str(k): _plain(v) for k, v in row.iloc[0].items()}
        adversarial.update({str(k): _plain(v) for k, v in change.items()})
        return _Outcome("success", clean_label, adversarial, label, len(change),
                        distance, changes)

    def _numeric(self, oracle: _Oracle, x: np.ndarray, movable: np.ndarray,
                 rng: np.random.Generator, clean_label: Any,
                 best: tuple[float, dict[Any, Any], Any] | None,
                 ) -> tuple[float, dict[Any, Any], Any] | None:
        def point(direction: np.ndarray, r: float) -> dict[Any, Any]:
            moved = x + r * direction * self.stds
            return {c: float(moved[k]) for k, c in enumerate(self.numeric) if direction[k]}

        hi = self.radius if best is None else min(self.radius, best[0])
        idle = 0
        while oracle.remaining > 0 and idle < self.patience:
            batch = rng.standard_normal((min(self.directions, oracle.remaining), len(x)))
            batch[:, ~movable] = 0.0
            batch /= np.linalg.norm(batch, axis=1, keepdims=True)
            replies = oracle.ask([point(d, hi) for d in batch])
            flips = [(k, r) for k, r in enumerate(replies) if _flipped(r, clean_label)]
            if not flips:
                idle += 1
                continue
            # Bisect along the direction the model is surest flipped (lowest clean score).
            k, reply = min(flips, key=lambda kr: (_nan_low(kr[1][1]), kr[0]))
            d, lo, label = batch[k], 0.0, reply[0]
            while hi - lo > self.tolerance and oracle.remaining > 0:
                mid = (lo + hi) / 2
                (answer,) = oracle.ask([point(d, mid)])
                if _flipped(answer, clean_label):
                    hi, label = mid, answer[0]
                else:
                    lo = mid  # crashed or same label: the boundary is further out
            if best is None or hi < best[0]:
                best, idle = (hi, point(d, hi), label), 0
            else:
                idle += 1
        return best


def _nan_low(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _same_value(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False

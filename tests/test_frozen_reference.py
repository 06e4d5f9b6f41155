"""A frozen reference (``perturbations.freeze_reference``): what the tabular perturbations
read from it is computed once, gives the outputs of an unfrozen one, and goes with it."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_catalogue_contract import mixed_frame

import perturbations
from perturbations import _tabular_columns

TABULAR = perturbations.catalogue(modality="tabular")
PARTS = [np.arange(k, k + 10) for k in range(0, 40, 10)]


def _in_parts(p: perturbations.Perturbation, frame: pd.DataFrame, reference: pd.DataFrame,
              severity: float) -> list[pd.DataFrame]:
    return [p.apply(frame.iloc[rows], severity=severity, seed=5, indices=rows,
                    reference=reference) for rows in PARTS]


@pytest.mark.parametrize("p", TABULAR, ids=[p.name for p in TABULAR])
def test_a_frozen_reference_gives_the_outputs_of_an_unfrozen_one(
        p: perturbations.Perturbation) -> None:
    frame = mixed_frame(40)
    frozen = frame.copy()
    perturbations.freeze_reference(frozen)
    for severity in (0.25, 1.0):
        for a, b in zip(_in_parts(p, frame, frame, severity),
                        _in_parts(p, frame, frozen, severity)):
            assert list(a.dtypes) == list(b.dtypes)
            pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_the_parts_of_a_frozen_reference_read_each_column_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[Any] = []
    finite = _tabular_columns._finite

    def counting(column: pd.Series) -> np.ndarray:
        read.append(column.name)
        return finite(column)

    monkeypatch.setattr(_tabular_columns, "_finite", counting)
    frame = mixed_frame(40)
    numeric = [c for c in frame.columns if _tabular_columns.is_numeric(frame[c])]
    noise = perturbations.get("noise.gaussian")
    _in_parts(noise, frame, frame, 1.0)
    assert len(read) == len(PARTS) * len(numeric)  # every part reads every column
    read.clear()
    perturbations.freeze_reference(frame)
    _in_parts(noise, frame, frame, 1.0)
    _in_parts(noise, frame, frame, 0.5)
    assert sorted(read) == sorted(numeric)  # once, for both severities


def test_what_is_kept_goes_with_the_frame() -> None:
    frame = mixed_frame(40)
    perturbations.freeze_reference(frame)
    perturbations.freeze_reference(frame)  # twice: the same entry
    perturbations.get("drift.mean_shift").apply(frame.iloc[:5], severity=1.0, seed=0,
                                                indices=np.arange(5), reference=frame)
    key = id(frame)
    assert _tabular_columns._KEPT[key][1]  # the spreads of its numeric columns
    del frame
    gc.collect()
    assert key not in _tabular_columns._KEPT


def test_only_a_frame_can_be_frozen() -> None:
    with pytest.raises(perturbations.InvalidArgument,
                       match="frame must be a pandas DataFrame, got list; pass the frame"):
        perturbations.freeze_reference([1, 2])  # type: ignore[arg-type]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["schema.dtype", "noise.gaussian", "drift.variance"])
def test_the_spread_of_huge_floats_warns_of_no_overflow(name: str) -> None:
    # a column's spread is read for schema.dtype too (its largest value): the square of
    # 1.6e154 overflows inside numpy's std, which must not reach the user as a warning
    # (found by test_any_small_frame_is_perturbed_without_error)
    frame = pd.DataFrame({"flag": [False] * 6, "big": [0.0] * 5 + [1.608937e154]})
    for reference in (None, frame):
        out = perturbations.get(name).apply(frame, severity=1.0, seed=0, reference=reference)
        assert len(out) == len(frame)

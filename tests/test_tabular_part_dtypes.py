"""A part of a table is perturbed exactly as the same rows of the whole table: values
*and* dtypes (categories included).

A model sees a batch with its column dtypes: a numeric column turned object, an integer
column widened to float or a categorical with other categories is a different input. So
a column's dtype after a perturbation may depend on its dtype, the perturbation's
parameters, the severity and the reference, never on which rows a batch holds. A run in
parts (``part_size``) or shards (an executor) then gives the inputs, keys and results of
a run in one piece.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_catalogue_contract import mixed_frame
from test_hostile_data import nullable_frame

import perturbations

TABULAR = perturbations.catalogue(modality="tabular")


def _frames() -> list[pd.DataFrame]:
    mixed = mixed_frame(40)
    # a value of 1,000 or more in one row only: a thousands separator has one cell to write
    mixed["price"] = mixed["price"].where(np.arange(40) != 3, 2500.0)
    mixed["tiny"] = pd.Series(np.arange(40) % 7, dtype=np.uint8)
    dates = pd.Series(pd.date_range("2024-01-01", periods=40, freq="D").strftime("%Y-%m-%d"),
                      dtype=object)
    mixed["day"] = dates.where(np.arange(40) % 6 != 0)
    return [mixed, nullable_frame()]


def _parts(n: int) -> list[np.ndarray]:
    """Contiguous parts of 8 rows, two single rows, and one scattered part."""
    return ([np.arange(k, min(k + 8, n)) for k in range(0, n, 8)]
            + [np.array([i]) for i in (3, n - 1)]
            + [np.array([n - 1, 2, 17, 5])])


def _same(part: pd.DataFrame, expected: pd.DataFrame, where: str) -> None:
    assert list(part.columns) == list(expected.columns), where
    for label, a, b in zip(part.columns, part.dtypes, expected.dtypes):
        assert a == b, f"{where}: column {label!r} is {a!r} in the part, {b!r} in the whole"
    if not part.equals(expected):  # values, missing cells equal (the quick check)
        pd.testing.assert_frame_equal(part, expected, check_exact=True, obj=where)


CASES: list[tuple[perturbations.Perturbation, dict[str, Any]]] = (
    [(p, {}) for p in TABULAR]
    + [(perturbations.get("scale.unit"), {"factor": 0.001}),
       (perturbations.get("scale.unit"), {"factor": 1e9}),
       (perturbations.get("missing.sentinel"), {"sentinel": "?"}),
       (perturbations.get("missing.sentinel"), {"sentinel": 100000}),
       (perturbations.get("noise.gaussian"), {"columns": ["tiny", "small"]})]
)


@pytest.mark.parametrize(("p", "params"), CASES,
                         ids=[f"{p.name}{params or ''}" for p, params in CASES])
def test_a_part_has_the_values_and_dtypes_of_the_same_rows_of_the_whole(
    p: perturbations.Perturbation, params: dict[str, Any],
) -> None:
    for f, frame in enumerate(_frames()):
        if "columns" in params:
            params = {**params, "columns": [c for c in params["columns"] if c in frame]}
        for severity in (0.1, 1.0):
            whole = p.apply(frame, severity=severity, seed=8, reference=frame, **params)
            for rows in _parts(len(frame)):
                part = p.apply(frame.iloc[rows], severity=severity, seed=8, indices=rows,
                               reference=frame, **params)
                _same(part, whole.iloc[rows],
                      f"frame {f}, severity {severity}, rows {rows.tolist()}")

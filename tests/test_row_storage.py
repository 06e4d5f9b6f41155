"""A result row keeps its per-sample outcomes compact (issue 17, memory): flags as bits,
class codes in the smallest integer dtype, so an audit's memory grows by about 1.4 bytes
per sample per perturbation and severity instead of 7. Reading a field gives back exactly
the array that was set, read-only."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from robustcheck._row import Row


def _row(n: int = 1000, classes: int = 3) -> tuple[Row, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    arrays = {"changed": rng.random(n) < 0.7, "crashed": rng.random(n) < 0.05,
              "failed": rng.random(n) < 0.1, "evaluated": rng.random(n) < 0.9,
              "labels": rng.integers(-1, classes, n).astype(np.int32)}
    return Row("typo.keyboard", 0.5, "invariant", {}, n, **arrays), arrays


def test_each_field_reads_back_as_set_and_read_only() -> None:
    row, arrays = _row()
    for name, array in arrays.items():
        got = getattr(row, name)
        assert got.dtype == array.dtype and np.array_equal(got, array), name
        with pytest.raises(ValueError, match="read-only"):
            got[0] = got[1]
    assert row.score_of_clean is None and row.values is None


def test_flags_are_bits_and_class_codes_one_byte() -> None:
    row, _ = _row(n=1000)
    stored = {k[len("_stored_"):]: v for k, v in vars(row).items() if k.startswith("_stored_")}
    for name in ("changed", "crashed", "failed", "evaluated"):
        assert stored[name].raw.nbytes == 125, name  # 1,000 flags in 125 bytes
    assert stored["labels"].raw.dtype == np.int8
    wide, _ = _row(n=10, classes=1000)
    assert vars(wide)["_stored_labels"].raw.dtype == np.int16
    assert wide.labels.dtype == np.int32


def test_setting_a_new_array_changes_a_field_and_none_is_refused_where_required() -> None:
    row, arrays = _row()
    flipped = ~arrays["crashed"]
    row.crashed = flipped
    assert np.array_equal(row.crashed, flipped)
    row.failed = None
    assert row.failed is None
    with pytest.raises(TypeError, match="changed"):
        row.changed = None


def test_copies_pickles_and_replacements_keep_the_arrays() -> None:
    row, arrays = _row()
    for other in (copy.deepcopy(row), pickle.loads(pickle.dumps(row)),
                  dataclasses.replace(row, severity=1.0)):
        for name, array in arrays.items():
            assert np.array_equal(getattr(other, name), array), name
    assert Row.from_dict(row.to_dict(), {}).to_dict() == row.to_dict()


def test_reading_sample_by_sample_unpacks_once() -> None:
    row, _ = _row(n=100_000)
    first = row.crashed
    assert all(row.crashed is first for _ in range(100))


def test_an_array_of_more_than_one_axis_is_refused_naming_the_field() -> None:
    # kept as bits, a 2-d array of flags came back cut to its first row's length, silently
    row, _ = _row(n=4)
    with pytest.raises(ValueError, match=r"Row\.crashed is a per-sample array.*\(2, 2\)"):
        row.crashed = np.zeros((2, 2), dtype=bool)
    assert row.crashed.shape == (4,)

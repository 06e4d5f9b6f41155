"""A tabular unit reads only what its perturbation wrote (issue 17, "Fast tables"): the
columns a perturbation left alone share their memory with the clean table
(``robustcheck._data.untouched_columns``), are not compared, and their cells' keys are
the clean table's, computed once per run (``Tabular.changes``). The results must be
those of comparing and keying every column, for every tabular perturbation."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pandas as pd
import pytest
from test_catalogue_contract import mixed_frame
from test_hostile_data import nullable_frame

import perturbations
from robustcheck import _data
from robustcheck._data import changed_rows, untouched_columns
from robustcheck.modalities import TABULAR, clean_cell_keys

CATALOGUE = perturbations.catalogue(modality="tabular")


def _frames() -> list[pd.DataFrame]:
    mixed = mixed_frame(40)
    mixed["plan"] = pd.Series(["free", "pro", "team", "free"] * 10, dtype="str")
    return [mixed, nullable_frame()]


def test_a_column_set_in_a_copy_on_write_copy_is_the_only_one_not_untouched() -> None:
    frame = mixed_frame(40)
    part = frame.iloc[8:24]
    copy = part.copy(deep=False)
    copy["ratio"] = copy["ratio"] + 1.0
    names = list(frame.columns)
    assert untouched_columns(part, copy) == [j for j, c in enumerate(names) if c != "ratio"]


def test_copied_retyped_or_moved_columns_are_not_untouched() -> None:
    frame = mixed_frame(40)
    part = frame.iloc[8:24]
    # equal cells in other memory; but pyarrow's arrays are immutable: a deep copy shares
    # them, and they are rightly found untouched
    shared = untouched_columns(part, part.copy(deep=True))
    assert all(type(part.iloc[:, j].array).__name__.startswith("Arrow") for j in shared)
    recategorised = part.copy(deep=False)
    recategorised["kind"] = part["kind"].cat.add_categories(["c"])  # same codes, new dtype
    assert frame.columns.get_loc("kind") not in untouched_columns(part, recategorised)
    moved = part[list(reversed(part.columns))]  # the same memory under other positions
    middle = len(part.columns) // 2 if len(part.columns) % 2 else None
    assert untouched_columns(part, moved) == ([] if middle is None else [middle])
    other_rows = frame.iloc[9:25]  # the same column, one row further
    assert untouched_columns(part, other_rows) == []


@pytest.mark.parametrize("frame_index", [0, 1], ids=["mixed", "nullable"])
@pytest.mark.parametrize("p", CATALOGUE, ids=[p.name for p in CATALOGUE])
def test_changes_equal_comparing_and_keying_every_column(
        p: perturbations.Perturbation, frame_index: int) -> None:
    data = _frames()[frame_index]
    perturbations.freeze_reference(data)
    clean = data.copy(deep=True)
    n = len(data)
    for positions in (None, np.arange(8, 24), np.arange(n - 5, n), np.array([3, 1, 17])):
        for severity in (0.3, 1.0):
            before = data if positions is None else TABULAR.take(data, positions)
            after = TABULAR.perturb(p, data, severity, 5, positions)
            changed, keys = TABULAR.changes(data, positions, before, after)
            expected = changed_rows(before, after)
            np.testing.assert_array_equal(changed, expected)
            np.testing.assert_array_equal(keys, TABULAR.keys(after, np.flatnonzero(expected)))
    pd.testing.assert_frame_equal(data, clean)  # nothing written into the clean table


def test_the_clean_keys_are_computed_once_per_frame_and_dropped_with_it() -> None:
    frame = mixed_frame(40)
    perturbations.freeze_reference(frame)  # as a run freezes its private copy
    first = clean_cell_keys(frame, 2)
    assert clean_cell_keys(frame, 2) is first
    other = frame.copy(deep=True)
    perturbations.freeze_reference(other)
    assert clean_cell_keys(other, 2) is not first
    np.testing.assert_array_equal(clean_cell_keys(other, 2), first)
    dead = weakref.ref(frame)
    del frame
    gc.collect()
    assert dead() is None


def test_a_column_of_unhashable_cells_is_refused_once_and_keyed_by_repr(
        monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"x": np.arange(30.0), "tags": [[i % 3] for i in range(30)]})
    perturbations.freeze_reference(frame)
    p = perturbations.get("noise.gaussian")
    whole_tags_reads: list[int] = []
    cell_keys = _data._cell_keys

    def counted(column: pd.Series, positions: np.ndarray | None) -> np.ndarray:
        if positions is None and column.name == "tags":
            whole_tags_reads.append(1)
        return cell_keys(column, positions)

    parts = []
    for positions in (np.arange(0, 10), np.arange(10, 30)):
        before = TABULAR.take(frame, positions)
        after = TABULAR.perturb(p, frame, 1.0, 5, positions)
        with monkeypatch.context() as patch:
            patch.setattr(_data, "_cell_keys", counted)
            parts.append((after, *TABULAR.changes(frame, positions, before, after)))
    assert len(whole_tags_reads) == 1  # refused once, not read again for each part
    for after, changed, keys in parts:
        np.testing.assert_array_equal(keys, TABULAR.keys(after, np.flatnonzero(changed)))
        assert keys.dtype == object  # the rows' reprs: a list cannot be hashed
    with pytest.raises(Exception, match="cannot be hashed"):
        clean_cell_keys(frame, 1)

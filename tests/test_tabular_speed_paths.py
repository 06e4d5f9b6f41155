"""Fast tables (issue 17, "Fast tables"): the fast paths of the runner's tabular keys
(``robustcheck._data.unit_keys``, what ``Tabular.keys`` computes) and of the tabular
perturbations, each against a simple per-cell reference."""

from __future__ import annotations

import decimal
import math
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tabular_fast import COLUMN_KINDS
from test_tabular_fast import frames as tabular_frames

from robustcheck._data import unit_keys
from robustcheck.modalities import TABULAR

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# -- unit keys --------------------------------------------------------------------------


def reference_cell(column: pd.Series, i: int) -> Any:
    """A cell as the unit keys must tell it apart: the column's name and dtype, the
    cell's type (a str and a numpy str are one type) and its value (-0.0 is 0.0 and NaN
    is NaN; other values by repr)."""
    value = column.iloc[i]
    head = (repr(column.name), str(column.dtype))
    if isinstance(column.dtype, pd.CategoricalDtype):
        return head + (("missing",) if column.cat.codes.iloc[i] < 0 else ("category", value))
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fc":
        return (*head, "float", "nan" if np.isnan(value) else float(value) + 0.0)
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "mM":
        return (*head, "time", int(column.to_numpy()[i:i + 1].view(np.int64)[0]))
    if value is pd.NA or value is None:
        return (*head, type(value).__name__)
    kind = "str" if type(value) in (str, np.str_) else type(value).__qualname__
    if isinstance(value, (float, np.floating)):
        return (*head, kind, "nan" if math.isnan(value) else float(value) + 0.0)
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return (*head, kind, int(value))
    if isinstance(value, str):
        return (*head, kind, str(value))
    return (*head, kind, repr(value))


def reference_rows(frame: pd.DataFrame) -> list[Any]:
    return [tuple(reference_cell(frame.iloc[:, j], i) for j in range(frame.shape[1]))
            for i in range(len(frame))]


def agree(keys: np.ndarray, reference: list[Any]) -> bool:
    """Equal keys exactly where the reference rows are equal."""
    pairs = set(zip(keys.tolist(), reference))
    return len(pairs) == len(set(keys.tolist())) == len(set(reference))


POOL: list[Any] = [0, 1, 5, "5", 5.0, -0.0, 0.0, True, False, 1.0, "a", "A", "", "é",
                   None, np.nan, pd.NA, pd.NaT, (1, 2), np.float32(2.5), np.int64(7),
                   np.int64(5), np.str_("5"), 2**70, decimal.Decimal("1.5"),
                   pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC"),
                   np.float64(5.0), np.uint8(5)]


def frames() -> st.SearchStrategy[pd.DataFrame]:
    """The frames of test_tabular_fast, with text columns of pandas' str dtype and integer
    categories too, sometimes no column at all, and column names that hide their kind."""
    return tabular_frames(kinds=(*COLUMN_KINDS, "str", "intcat"), min_columns=0, names=True,
                          pool=POOL)


@SETTINGS
@given(frames())
def test_unit_keys_are_equal_exactly_when_rows_are_equal(frame: pd.DataFrame) -> None:
    keys = unit_keys(frame, np.arange(len(frame)))
    assert keys.dtype == np.uint64
    assert agree(keys, reference_rows(frame))


@SETTINGS
@given(frames(), st.data())
def test_unit_keys_of_some_rows_are_those_of_the_whole_frame(frame: pd.DataFrame,
                                                            data: Any) -> None:
    """Keys are computed on the changed rows only: the same keys as on every row."""
    every = unit_keys(frame, np.arange(len(frame)))
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(frame) - 1, 0)),
                                             max_size=len(frame)))), dtype=np.intp)
    rows = rows[rows < len(frame)]
    assert np.array_equal(unit_keys(frame, rows), every[rows])
    # and a shard of the frame keys its rows as the whole frame does (same dtypes)
    if len(frame) > 2:
        shard = frame.iloc[1:].reset_index(drop=True)
        if list(shard.dtypes) == list(frame.dtypes):
            assert np.array_equal(unit_keys(shard, np.arange(len(shard))), every[1:])


def test_unit_keys_tell_apart_what_a_model_would_see_differently() -> None:
    cells = [5, "5", 5.0, np.int64(5), True, 1, None, np.nan, pd.NA, "", " ", (5,),
             pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC"), 2**70,
             2**70 + 1]
    frame = pd.DataFrame({"x": pd.Series(cells, dtype=object)})
    keys = unit_keys(frame, np.arange(len(cells)))
    assert len(set(keys.tolist())) == len(cells)
    # a name, a dtype and the column order are part of the row
    a = pd.DataFrame({"x": [1.0], "y": [2.0]})
    variants = [a, a.rename(columns={"x": "z"}), a.astype({"x": np.float32}),
                a[["y", "x"]].set_axis(["x", "y"], axis=1), a.astype(object)]
    assert len({int(unit_keys(v, np.arange(1))[0]) for v in variants}) == len(variants)
    # -0.0 is 0.0, NaN is NaN
    b = pd.DataFrame({"x": [0.0, -0.0, np.nan, float("-nan")]})
    keys = unit_keys(b, np.arange(4))
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]


TEXTS_AND_HOLES = ["5", "a", "A", "", "é", np.str_("5"), None, np.nan, pd.NA, np.float64("nan")]


@SETTINGS
@given(st.lists(st.sampled_from(TEXTS_AND_HOLES), max_size=30), st.data())
def test_unit_keys_of_texts_with_missing_cells(cells: list[Any], data: Any) -> None:
    """A rendered column (numbers as strings) keeps its missing cells: the keys tell each
    text and each kind of missing cell apart, and a row's key does not depend on which
    other rows are keyed with it."""
    frame = pd.DataFrame({"x": pd.Series(cells, dtype=object)})
    every = unit_keys(frame, np.arange(len(cells)))
    assert agree(every, reference_rows(frame))
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(cells) - 1, 0))))),
                    dtype=np.intp)
    rows = rows[rows < len(cells)]
    assert np.array_equal(unit_keys(frame, rows), every[rows])
    for i in range(len(cells)):  # alone, a text is a column of texts only
        assert unit_keys(frame.iloc[i:i + 1].reset_index(drop=True), np.arange(1))[0] == every[i]


def test_unit_keys_of_strings_with_lone_surrogates_and_many_types() -> None:
    texts = ["a\ud800", "a\udc00", "a"]
    frame = pd.DataFrame({"x": pd.Series(texts, dtype=object)})
    assert len(set(unit_keys(frame, np.arange(3)).tolist())) == 3

    class Thing:
        def __init__(self, v: int) -> None:
            self.v = v

        def __repr__(self) -> str:
            return f"Thing({self.v})"

        def __hash__(self) -> int:
            return self.v

    kinds = [type(f"T{i}", (Thing,), {}) for i in range(12)]  # more types than passes
    cells = [kinds[i % 12](i % 5) for i in range(60)] + [1, "1", 1.0]
    frame = pd.DataFrame({"x": pd.Series(cells, dtype=object)})
    keys = unit_keys(frame, np.arange(len(cells)))
    reference = [(type(c).__qualname__, repr(c)) for c in cells]
    assert agree(keys, reference)


def test_tabular_keys_fall_back_to_reprs_for_cells_python_cannot_hash() -> None:
    frame = pd.DataFrame({"a": [1, 2, 1], "b": [[1], [2], [1]]})
    keys = TABULAR.keys(frame, np.arange(3))
    assert keys.dtype == object and keys[0] == keys[2] != keys[1]


def test_unit_keys_are_the_same_in_another_process() -> None:
    """Shards in other processes (other hash seeds) must key a row the same way."""
    code = textwrap.dedent("""
        import numpy as np, pandas as pd
        from robustcheck._data import unit_keys
        frame = pd.DataFrame({
            "a": [1.5, np.nan], "b": pd.Series(["x", 5], dtype=object),
            "c": pd.Categorical(["u", None]), "d": pd.Series(["s", None], dtype="str"),
            "e": pd.to_datetime(["2024-01-01", None]), (1, "t"): [True, False],
            "f": pd.Series([pd.Timestamp("2024-01-01"), decimal], dtype=object)})
        print(",".join(str(k) for k in unit_keys(frame, np.arange(2)).tolist()))
    """).replace("decimal]", "__import__('decimal').Decimal('1.5')]")
    # both interpreters at once: each spends most of its time importing pandas
    started = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={"PYTHONHASHSEED": seed, "PATH": ""},
                                cwd=str(__import__("pathlib").Path(__file__).parents[1]))
               for seed in ("1", "2")]
    try:
        runs = [process.communicate(timeout=120) for process in started]
    finally:
        for process in started:
            process.kill()  # only one still running: after a timeout
            process.wait()
    assert [process.returncode for process in started] == [0, 0], runs
    assert runs[0][0] == runs[1][0] and runs[0][0].strip()


def test_unit_keys_follow_the_positions_asked_in_any_order() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": pd.Series(["a", 5, None], dtype=object)})
    every = unit_keys(frame, np.arange(3))
    assert np.array_equal(unit_keys(frame, np.array([2, 0, 1])), every[[2, 0, 1]])
    assert np.array_equal(unit_keys(frame, np.array([1, 1])), every[[1, 1]])


# -- gathered model calls -----------------------------------------------------------------


def test_gathered_calls_send_the_rows_that_were_perturbed_and_decide_the_same(monkeypatch):
    """A tabular part takes its scattered changed rows out once and sends them in slices:
    each batch holds the perturbed rows at their own index labels, and crashes (isolated
    inside the gathered rows) are reported at the right positions: the JSON is the one
    of one take per call."""
    import json

    import robustcheck
    from perturbations import get
    from robustcheck.modalities import Tabular

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=900), "b": rng.integers(0, 50, 900),
                          "c": rng.choice(["x", "y", "z"], 900)})
    seen: list[pd.DataFrame] = []

    def model(batch: pd.DataFrame) -> np.ndarray:
        seen.append(batch.copy())
        if (batch["a"].isna() & (batch["b"] % 5 == 0)).any():
            raise ValueError("a missing where b is a multiple of 5")
        return (batch["a"].to_numpy() > 0).astype(int)

    def audit() -> dict[str, Any]:
        seen.clear()
        result = robustcheck.run(model, frame, perturbations=["missing.nan"],
                                 severities=[0.5], seed=3, batch_size=64, progress=False)
        found = json.loads(result.to_json())
        found.pop("timings", None)
        return found

    gathered = audit()
    perturbed = get("missing.nan").apply(frame, severity=0.5, seed=3)
    scattered = 0
    for batch in seen:
        assert batch.equals(perturbed.loc[batch.index]) or batch.equals(frame.loc[batch.index])
        scattered += not (np.diff(batch.index.to_numpy()) == 1).all()
    assert scattered > 0  # changed rows are scattered: gathered, then sliced
    assert gathered["rows"][0]["metrics"]["crash_rate"]["value"] > 0
    monkeypatch.setattr(Tabular, "gather", False)
    assert audit() == gathered

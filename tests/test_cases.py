"""``RunResult.cases()``: every perturbed sample as a DataFrame, regenerated from the seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import perturbations
import robustcheck
from robustcheck._cases import CASE_COLUMNS
from robustcheck._metricinfo import CRASHES_PER_ROW
from robustcheck.errors import InvalidArgument

POSITIVE = ("good", "great", "love", "nice")
TEXTS = [f"{a} {b}" for a in ("good food", "great staff", "love it", "bad food", "awful staff",
                              "hate it", "nice room", "cold room")
         for b in ("today", "again", "honestly", "here")]
LABELS = [int(t.split()[0] in POSITIVE) for t in TEXTS]
SUITE = ["case.upper", "case.title", "typo.swap", "punctuation"]


def shouting_model(batch: list[str]) -> list[int]:
    """Forgets to lower-case (title case flips it) and crashes on shouted input."""
    if any(t.isupper() for t in batch):
        raise ValueError("shouting | <b>not</b> allowed")
    return [int(any(w in t for w in POSITIVE)) for t in batch]


@pytest.fixture(scope="module")
def result() -> robustcheck.RunResult:
    return robustcheck.run(shouting_model, TEXTS, LABELS, perturbations=SUITE, seed=5,
                           severities=(0.5, 1.0), progress=False, name="shouting")


@pytest.fixture(scope="module")
def cases(result: robustcheck.RunResult) -> pd.DataFrame:
    return result.cases()


def test_cases_has_the_documented_columns_in_order(cases: pd.DataFrame) -> None:
    assert list(cases.columns) == list(CASE_COLUMNS) == [
        "perturbation", "severity", "index", "input", "perturbed", "label", "clean",
        "predicted", "confidence", "failed", "crashed", "crash"]


def test_there_is_one_row_per_changed_sample_of_each_perturbation_and_severity(
    result: robustcheck.RunResult, cases: pd.DataFrame,
) -> None:
    assert len(cases) == sum(int(row.changed.sum()) for row in result.rows) > 0
    for row in result.rows:
        mine = cases[(cases.perturbation == row.perturbation) &
                     (cases.severity == row.severity)]
        assert mine["index"].tolist() == np.flatnonzero(row.changed).tolist()


def test_perturbed_inputs_are_the_catalogue_applied_with_the_result_seed(
    result: robustcheck.RunResult, cases: pd.DataFrame,
) -> None:
    for row in result.rows:
        expected = perturbations.get(row.perturbation).apply(TEXTS, severity=row.severity,
                                                              seed=result.seed)
        mine = cases[(cases.perturbation == row.perturbation) &
                     (cases.severity == row.severity)]
        for i, perturbed, original in zip(mine["index"], mine["perturbed"], mine["input"]):
            assert perturbed == expected[i] != original
            assert original == TEXTS[i]


def test_flags_follow_the_row_arrays_and_answers_the_model(
    result: robustcheck.RunResult, cases: pd.DataFrame,
) -> None:
    assert cases["failed"].dtype == bool and cases["crashed"].dtype == bool
    for row in result.rows:
        mine = cases[(cases.perturbation == row.perturbation) &
                     (cases.severity == row.severity)]
        idx = mine["index"].to_numpy()
        assert mine["failed"].tolist() == row.failed[idx].tolist()
        assert mine["crashed"].tolist() == row.crashed[idx].tolist()
    crashed = cases[cases.crashed]
    assert len(crashed) and set(crashed.perturbation) == {"case.upper"}
    assert crashed["predicted"].isna().all()
    for (name, severity), group in crashed.groupby(["perturbation", "severity"]):
        kept = {c["index"]: c for c in result.crashes
                if c["perturbation"] == name and c["severity"] == severity}
        assert len(kept) == min(len(group), CRASHES_PER_ROW)  # a result keeps the first
        for i, crash in zip(group["index"], group["crash"]):
            if i in kept:
                assert crash == f"ValueError: {kept[i]['message']}" and "shouting" in crash
            else:
                assert pd.isna(crash)  # None, or NaN in a column of strings
    answered = cases[~cases.crashed]
    for perturbed, predicted, clean, label, i in zip(
            answered.perturbed, answered.predicted, answered.clean, answered.label,
            answered["index"]):
        assert predicted == shouting_model([perturbed])[0]
        assert clean == shouting_model([TEXTS[i]])[0]
        assert label == LABELS[i]
    flipped = answered[answered.predicted != answered.clean]
    assert flipped["failed"].all() and len(flipped)


def test_cases_survive_a_csv_round_trip(cases: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    cases.to_csv(path, index=False)
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns) == list(cases.columns)
    for column in ("perturbation", "severity", "index", "input", "perturbed", "label",
                   "failed", "crashed"):
        assert back[column].tolist() == cases[column].tolist(), column


def test_a_loaded_result_needs_its_inputs_back_and_then_gives_the_same_cases(
    result: robustcheck.RunResult, cases: pd.DataFrame, tmp_path: Path,
) -> None:
    loaded = robustcheck.load(result.to_json(tmp_path / "r.json") and tmp_path / "r.json")
    with pytest.raises(InvalidArgument, match=r"cases\(\) needs the data"):
        loaded.cases()
    with pytest.raises(InvalidArgument, match="fingerprints differ"):
        loaded.cases(TEXTS[::-1], LABELS[::-1])
    pd.testing.assert_frame_equal(loaded.cases(TEXTS, LABELS), cases)


def test_a_result_that_changed_nothing_has_an_empty_frame_with_the_columns() -> None:
    digits = ["12345", "67890", "13579"]
    result = robustcheck.run(lambda batch: [0] * len(batch), digits,
                             perturbations=["case.upper"], progress=False)
    frame = result.cases()
    assert len(frame) == 0 and list(frame.columns) == list(CASE_COLUMNS)


def test_tabular_cases_hold_rows_of_cells() -> None:
    frame = pd.DataFrame({"a": np.arange(30, dtype=float), "b": np.linspace(0, 1, 30)})

    def model(x: Any) -> list[int]:
        if x.isna().any().any():
            raise ValueError("missing value")
        return (x["a"] > 10).astype(int).tolist()

    result = robustcheck.run(model, frame, perturbations=["missing.nan"], severities=(1.0,),
                             progress=False)
    cases = result.cases()
    row = result.rows[0]
    assert len(cases) == int(row.changed.sum()) > 0
    first = cases.iloc[0]
    assert set(first["input"]) == {"a", "b"}
    assert any(v is None or (isinstance(v, float) and np.isnan(v))
               for v in first["perturbed"].values())
    assert cases["crashed"].tolist() == row.crashed[cases["index"].to_numpy()].tolist()

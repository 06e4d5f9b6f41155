"""mCE and relative mCE (Hendrycks & Dietterich 2019) against a baseline result: the
arithmetic on toy models whose errors are known, the intervals, what is refused, and the
comparison of two image runs; the digits example and the demo's vision section."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import perturbations
import robustcheck
from robustcheck import report
from robustcheck._files import load_comparison_dict
from robustcheck._mce import mce
from robustcheck.comparison import SCHEMA_VERSION, compare
from robustcheck.errors import InvalidArgument

N = 40
SEVERITIES = (0.25, 0.5, 1.0)


# -- toy corruptions and models --------------------------------------------------------
#
# Image i is 4 x 4, black but for pixel (1, 1) = i (its index) and, once corrupted,
# pixel (0, 0) (blur.toy) or (0, 1) (digital.toy) = the severity. A toy model reads the
# index and the marks and errs exactly where a table says, so every error rate is known.


def _mark(x: int, y: int) -> Callable[..., Any]:
    def corrupt(img: np.ndarray, *, rng: Any, severity: float) -> np.ndarray:
        out = img.copy()
        out[x, y, :] = severity
        return out
    return corrupt


@pytest.fixture
def toy_corruptions() -> Iterator[list[str]]:
    names = ["blur.toy", "digital.toy"]
    for name, pixel in zip(names, [(0, 0), (0, 1)]):
        perturbations.perturbation(name=name, modality="image", expectation="invariant",
                                   description="a toy corruption: one pixel marked",
                                   severity="the mark's value")(_mark(*pixel))
    yield names
    for name in names:
        perturbations.unregister(name)


def images() -> tuple[np.ndarray, list[int]]:
    x = np.zeros((N, 4, 4), dtype=np.uint8)
    x[:, 1, 1] = np.arange(N)
    return x, [i % 3 for i in range(N)]


def _severity(value: int) -> float:
    return 0.0 if value == 0 else min(SEVERITIES, key=lambda s: abs(round(255 * s) - value))


def toy_model(clean_wrong: set[int], blur: dict[float, int], digital: dict[float, int],
              crash: Callable[[int, float], bool] | None = None) -> Callable[[Any], list[int]]:
    """Wrong on ``clean_wrong``, and on the images whose index is below ``blur[s]``
    (``digital[s]``) under that corruption at severity s."""

    def predict(batch: Any) -> list[int]:
        out = []
        for img in np.asarray(batch):
            i, sb, sd = int(img[1, 1]), _severity(int(img[0, 0])), _severity(int(img[0, 1]))
            if crash is not None and sd and crash(i, sd):
                raise ValueError(f"toy crash on image {i}")
            wrong = (i in clean_wrong or (sb and i < blur[sb]) or (sd and i < digital[sd]))
            out.append((i % 3 + 1) % 3 if wrong else i % 3)
        return out

    return predict


def audit(model: Callable[[Any], list[int]], name: str, *, seed: int = 0,
          suite: Any = ("blur.toy", "digital.toy"), severities: Any = SEVERITIES,
          data: tuple[np.ndarray, list[int]] | None = None) -> robustcheck.RunResult:
    x, y = images() if data is None else data
    return robustcheck.run(model, x, y, perturbations=list(suite), severities=severities,
                           seed=seed, name=name, progress=False)


BASE = {"clean_wrong": {0}, "blur": {0.25: 4, 0.5: 8, 1.0: 12},
        "digital": {0.25: 2, 0.5: 4, 1.0: 6}}
MODEL = {"clean_wrong": {0, 1}, "blur": {0.25: 2, 0.5: 4, 1.0: 6},
         "digital": {0.25: 6, 0.5: 10, 1.0: 14}}
# CE by hand: blur (2+4+6)/(4+8+12), digital (6+10+14)/(2+4+6); relative: minus the clean
# errors 2 (model) and 1 (baseline) at each of the three severities
CE = {"blur.toy": Fraction(12, 24), "digital.toy": Fraction(30, 12)}
RCE = {"blur.toy": Fraction(0 + 2 + 4, 3 + 7 + 11), "digital.toy": Fraction(4 + 8 + 12, 1 + 3 + 5)}


@pytest.fixture
def runs(toy_corruptions: list[str]) -> tuple[robustcheck.RunResult, robustcheck.RunResult]:
    return audit(toy_model(**BASE), "base"), audit(toy_model(**MODEL), "model")


# -- the arithmetic ----------------------------------------------------------------------


def test_the_toy_errors_are_what_the_tables_say(runs: Any) -> None:
    base, model = runs
    assert base.clean["accuracy"]["value"] == pytest.approx(39 / 40)
    for result, spec in ((base, BASE), (model, MODEL)):
        for row in result.rows:
            family = row.perturbation.split(".")[0]
            wrong = spec[family][row.severity]
            assert 1 - row.metrics["accuracy_perturbed"].value == pytest.approx(wrong / N)


def test_ce_mce_and_relative_mce_match_the_hand_computed_values(runs: Any) -> None:
    base, model = runs
    result = model.mce(base)
    assert {c.corruption: c.value for c in result.per_corruption} == pytest.approx(
        {k: float(v) for k, v in CE.items()})
    assert result.value == pytest.approx(float(sum(CE.values()) / 2))  # 1.5
    assert result.value > 1 and result.low > 1  # the model is the less robust
    blur = result.per_corruption[0]
    assert (blur.error, blur.baseline_error) == pytest.approx((12 / 3 / N, 24 / 3 / N))
    assert blur.severities == SEVERITIES and blur.n == N
    rel = model.mce(base, relative=True)
    assert {c.corruption: c.value for c in rel.per_corruption} == pytest.approx(
        {k: float(v) for k, v in RCE.items()})
    assert rel.value == pytest.approx(float(sum(RCE.values()) / 2))
    assert (rel.clean_error, rel.baseline_clean_error) == pytest.approx((2 / N, 1 / N))
    # the other way round: the baseline against the model, the reciprocal CEs
    back = base.mce(model)
    assert back.value == pytest.approx(float((1 / CE["blur.toy"] + 1 / CE["digital.toy"]) / 2))


def test_a_baseline_against_itself_is_exactly_one(runs: Any) -> None:
    base, _ = runs
    for relative in (False, True):
        same = base.mce(base, relative=relative)
        assert same.value == 1.0 and same.low == 1.0 and same.high == 1.0
        assert all(c.value == 1.0 for c in same.per_corruption)
        assert "no clear difference" in same.verdict()


def test_a_crash_counts_as_an_error(toy_corruptions: list[str]) -> None:
    base = audit(toy_model(**BASE), "base")
    crashing = audit(toy_model(**BASE, crash=lambda i, s: s == 1.0 and i in (20, 21)), "crashy")
    row = crashing["digital.toy"][-1]
    assert row.crashed.sum() == 2 and row.evaluated is None
    result = crashing.mce(base, corruptions="digital")
    # digital: (2 + 4 + 6 + 2 crashes) / (2 + 4 + 6)
    assert result.value == pytest.approx(14 / 12)


def test_samples_a_row_left_unasked_are_left_out_of_both_models(runs: Any) -> None:
    base, model = runs
    model = copy.deepcopy(model)
    row = model["blur.toy"][-1]
    evaluated = np.ones(N, dtype=bool)
    evaluated[:4] = False  # as a systematic crash leaves them: changed, not asked
    row.evaluated = evaluated  # a row's arrays are read-only: a new one is set
    result = model.mce(base, corruptions="blur")
    # at severity 1 only images 4..39 count, for both: model 2 of 36 wrong, baseline 8
    expected = (Fraction(2, 40) + Fraction(4, 40) + Fraction(2, 36)) / (
        Fraction(4, 40) + Fraction(8, 40) + Fraction(8, 36))
    assert result.value == pytest.approx(float(expected))
    assert result.per_corruption[0].n == 36
    rel = model.mce(base, corruptions="blur", relative=True)
    # the clean errors subtracted at severity 1 are those of the same 36 images: none
    expected_rel = (Fraction(0, 40) + Fraction(2, 40) + Fraction(2, 36)) / (
        Fraction(3, 40) + Fraction(7, 40) + Fraction(8, 36))
    assert rel.value == pytest.approx(float(expected_rel))
    # pairwise: the same when the baseline's row is the one that left them unasked
    base = copy.deepcopy(base)
    base["blur.toy"][-1].evaluated = row.evaluated.copy()
    row.evaluated = None
    assert model.mce(base, corruptions="blur").value == pytest.approx(float(expected))


# -- intervals -----------------------------------------------------------------------------


def test_intervals_hold_the_estimate_and_are_seeded(runs: Any) -> None:
    base, model = runs
    first, again = mce(model, base, seed=3), mce(model, base, seed=3)
    other = mce(model, base, seed=4)
    assert first.to_dict() == again.to_dict()
    assert (first.low, first.high) != (other.low, other.high)
    assert first.value == other.value
    for m in (first, mce(model, base, relative=True)):
        assert m.low <= m.value <= m.high and m.low < m.high
        for c in m.per_corruption:
            assert c.low <= c.value <= c.high
    assert first.resamples == 1000 and first.undefined_resamples == 0


def test_the_table_and_the_dict(runs: Any) -> None:
    base, model = runs
    result = model.mce(base)
    text = str(result)
    assert text.startswith("mCE of model against base: 1.500 [")
    assert "blur.toy" in text and "0.500" in text and "digital.toy" in text and "2.500" in text
    assert "model is less robust than base" in text
    assert "perturbed answer != true label" in text
    d = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert d["metric"] == "mce" and d["value"] == 1.5 and d["baseline"] == "base"
    assert [c["corruption"] for c in d["per_corruption"]] == ["blur.toy", "digital.toy"]
    assert model.mce(base, relative=True).to_dict()["metric"] == "relative_mce"


# -- what is refused -------------------------------------------------------------------------


def test_results_that_cannot_be_paired_are_refused_naming_what_differs(
        toy_corruptions: list[str]) -> None:
    base = audit(toy_model(**BASE), "base")
    with pytest.raises(InvalidArgument, match="model used seed 1 and the baseline base seed 0"):
        audit(toy_model(**MODEL), "model", seed=1).mce(base)
    x, y = images()
    other = audit(toy_model(**MODEL), "model", data=(x[::-1].copy(), y[::-1]))
    with pytest.raises(InvalidArgument, match="different data"):
        other.mce(base)
    fewer = audit(toy_model(**MODEL), "model", severities=(0.25, 1.0))
    with pytest.raises(InvalidArgument, match=r"only in base: blur.toy@0.5, digital.toy@0.5"):
        fewer.mce(base)
    one = audit(toy_model(**MODEL), "model", suite=["blur.toy"])
    with pytest.raises(InvalidArgument, match=r"only in base: digital.toy@0.25"):
        one.mce(base)
    assert one.mce(base, corruptions="blur").value == pytest.approx(0.5)  # chosen: fine
    unlabelled = robustcheck.run(toy_model(**MODEL), x, None, perturbations=toy_corruptions,
                                 seed=0, name="nolabels", progress=False)
    with pytest.raises(InvalidArgument, match="labels"):
        unlabelled.mce(base)
    with pytest.raises(InvalidArgument, match="RunResult"):
        base.mce("base.json")  # type: ignore[arg-type]


def test_without_corruption_rows_it_says_how_to_choose_some(runs: Any) -> None:
    x, y = images()
    runs_ = [robustcheck.run(toy_model(**BASE), x, y, perturbations=["exposure.over"],
                             seed=0, name=n, progress=False) for n in ("a", "b")]
    with pytest.raises(InvalidArgument, match=r"ImageNet-C corruption families.*"
                                              r"exposure.*corruptions="):
        runs_[1].mce(runs_[0])
    assert runs_[1].mce(runs_[0], corruptions="exposure").value == 1.0  # pipeline faults
    with pytest.raises(InvalidArgument, match="corruptions must"):
        runs_[1].mce(runs_[0], corruptions=[3])  # type: ignore[list-item]


def test_a_corruption_that_changed_nothing_is_skipped(toy_corruptions: list[str]) -> None:
    base = audit(toy_model(**BASE), "base", suite=["blur.toy", "color.grayscale"])
    model = audit(toy_model(**MODEL), "model", suite=["blur.toy", "color.grayscale"])
    result = model.mce(base, corruptions=["blur", "color.grayscale"])
    assert [c.corruption for c in result.per_corruption] == ["blur.toy"]
    assert "color.grayscale" in result.skipped and result.value == pytest.approx(0.5)


# -- in the comparison ---------------------------------------------------------------------


def test_compare_of_image_runs_carries_the_mce_of_b_against_a(runs: Any, tmp_path: Path
                                                              ) -> None:
    base, model = runs
    comparison = compare(base, model)
    assert comparison.mce is not None
    assert comparison.mce["mce"]["value"] == 1.5
    assert comparison.mce["relative_mce"]["value"] == pytest.approx(
        float(sum(RCE.values()) / 2))
    assert "mCE of B against A: 1.500 [" in comparison.table()
    path = tmp_path / "comparison.json"
    comparison.to_json(path)
    loaded = load_comparison_dict(path, schema_version=SCHEMA_VERSION)
    assert loaded["mce"]["mce"]["per_corruption"][1]["value"] == 2.5
    assert "<html" in report.render_comparison(loaded).lower()
    # a comparison written before the mCE (no such key) still loads and renders
    old = json.loads(path.read_text("utf-8"))
    del old["mce"]
    path.write_text(json.dumps(old), "utf-8")
    assert "mce" not in load_comparison_dict(path, schema_version=SCHEMA_VERSION)
    assert "<html" in report.render_comparison(old).lower()


def test_compare_of_runs_without_corruptions_has_no_mce(toy_corruptions: list[str]) -> None:
    x, y = images()
    a, b = (robustcheck.run(toy_model(**BASE), x, y, perturbations=["exposure.over"],
                            seed=0, name=n, progress=False) for n in ("a", "b"))
    comparison = compare(a, b)
    assert comparison.mce is None and "mce" not in comparison.to_dict()
    assert "mCE" not in comparison.table()
    # corruption rows but no labels: the comparison says why there is no mCE
    a, b = (robustcheck.run(toy_model(**BASE), x, None, perturbations=toy_corruptions,
                            seed=0, name=n, progress=False) for n in ("a", "b"))
    unlabelled = compare(a, b)
    assert unlabelled.mce is not None and unlabelled.mce["mce"] is None
    assert "labels" in unlabelled.mce["why"]["relative_mce"]
    assert "mCE of B against A: undefined (" in unlabelled.table()
    json.loads(unlabelled.to_json())


def test_a_loaded_result_gives_the_same_mce(runs: Any, tmp_path: Path) -> None:
    base, model = runs
    base.to_json(tmp_path / "base.json")
    model.to_json(tmp_path / "model.json")
    loaded = robustcheck.load(tmp_path / "model.json").mce(robustcheck.load(tmp_path /
                                                                            "base.json"))
    assert loaded.to_dict() == model.mce(base).to_dict()


# -- digits: the example and the demo ------------------------------------------------------


@pytest.mark.slow  # two models trained and audited under the whole image suite (~20 s)
def test_the_demo_vision_section_audits_compares_and_writes(tmp_path: Path) -> None:
    from robustcheck import demo

    said: list[str] = []
    files: dict[str, Path] = {}
    results: dict[str, Any] = {}
    vision = demo.vision_section(tmp_path, seed=0, progress=False, say=said.append,
                                 files=files, results=results)
    svc, mlp = results[demo.DIGITS_SVC], results[demo.DIGITS_MLP]
    assert svc.clean["accuracy"]["value"] > 0.95 and mlp.clean["accuracy"]["value"] > 0.9
    assert vision.mce.baseline == demo.DIGITS_SVC and not math.isnan(vision.mce.value)
    assert vision.comparison.a is svc and vision.comparison.b is mlp
    for key in ("digits comparison report", f"{demo.DIGITS_MLP} report", "digits mce json"):
        assert files[key].is_file()
    assert any(f"Auditing {demo.DIGITS_MLP}" in line for line in said)
    text = vision.summary()
    assert "more robust to corruption: " in text and vision.mce.line() in text
    assert f"{100 * mlp.clean['accuracy']['value']:.1f}%" in text


def test_the_demo_leaves_the_jpeg_perturbations_out_without_pillow(monkeypatch):
    """`pip install ".[sklearn]" && robustcheck demo` has no Pillow: the demo's image
    suite must not hold the perturbations that need it (they raise ImportError)."""
    import importlib.util

    from robustcheck import demo

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "PIL" else real(name, *a))
    suite, left_out = demo.image_suite()
    assert sorted(left_out) == sorted(demo.NEEDS_PILLOW)
    assert not set(suite) & set(demo.NEEDS_PILLOW) and "blur.defocus" in suite
    monkeypatch.setattr(importlib.util, "find_spec", real)
    suite, left_out = demo.image_suite()
    assert left_out == [] and set(demo.NEEDS_PILLOW) <= set(suite)

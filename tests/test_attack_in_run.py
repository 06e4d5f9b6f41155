"""Attacks as rows of robustcheck.run: the same suite, result, checks and report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import without_timings
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import robustcheck
from robustcheck import demo
from robustcheck.attack import attack_text

SEVERITIES = (0.2, 1.0)
# Held-out reviews (positions in demo.validation_split's audit texts): the attack breaks
# three with one edit, a fourth only with more edits, and none of the others. With
# minimal=True every break also costs a Hypothesis search of its smallest breaking change
# (about a second for a review that needs several edits), so the audit keeps few breaks.
REVIEWS = (6, 10, 12, 14, 16, 19, 22, 26, 27, 28, 31, 37, 4)


@pytest.fixture(scope="module")
def reviews() -> tuple[list[str], list[str]]:
    _, _, texts, labels = demo.validation_split()
    return [texts[i] for i in REVIEWS], [labels[i] for i in REVIEWS]


@pytest.fixture(scope="module")
def result(word_model: Any, reviews: tuple[list[str], list[str]]) -> robustcheck.RunResult:
    texts, labels = reviews
    return robustcheck.run(word_model, texts, labels, seed=0, severities=SEVERITIES,
                           perturbations=["typo.keyboard", "attack.text"], minimal=True)


def test_an_attack_row_reports_the_attack_success_rate_as_its_flip_rate(
    result: robustcheck.RunResult, word_model: Any, reviews: tuple[list[str], list[str]],
) -> None:
    texts, _ = reviews
    row = result["attack.text"][-1]
    direct = attack_text(word_model, texts, seed=0, max_edits=5)
    assert row.metrics["flip_rate"].value == pytest.approx(direct.success_rate.value)
    assert row.metrics["coverage"].value == pytest.approx(direct.attacked / len(texts))
    assert row.details["attack"]["queries_total"] == direct.total_queries
    assert row.expectation == "invariant" and result.perturbations["attack.text"]["severity"]


def test_a_stronger_severity_gives_the_attack_a_larger_budget(
    result: robustcheck.RunResult,
) -> None:
    weak, strong = result["attack.text"]
    assert weak.details["attack"]["max_edits"] == 1 and strong.details["attack"]["max_edits"] == 5
    assert strong.metrics["flip_rate"].value > weak.metrics["flip_rate"].value > 0


def test_adversarial_inputs_are_kept_and_really_flip_the_model(
    result: robustcheck.RunResult, word_model: Any, tmp_path: Any,
) -> None:
    cases = [c for c in result.failures() if c["perturbation"] == "attack.text"]
    assert cases
    for case in cases:
        assert case["perturbed"] != case["input"]
        assert word_model.predict([case["perturbed"]])[0] == case["predicted"] != case["clean"]
    loaded = robustcheck.load(result.to_json(tmp_path / "r.json") and tmp_path / "r.json")
    assert loaded["attack.text"][-1].inputs == result["attack.text"][-1].inputs
    assert loaded["attack.text"][-1].details == result["attack.text"][-1].details


def test_the_report_shows_the_smallest_breaking_change_next_to_the_worst_examples(
    result: robustcheck.RunResult, word_model: Any, tmp_path: Any,
) -> None:
    examples = result.examples["attack.text"]
    minimal = [e for e in examples if e.get("minimal")]
    assert minimal
    for e in minimal:
        assert word_model.predict([e["minimal"]["perturbed"]])[0] == e["minimal"]["label"]
        assert e["minimal"]["label"] != e["clean"]
        assert 1 <= e["minimal"]["edits"] <= 5
    html = result.to_html(tmp_path / "r.html").read_text()
    assert "smallest breaking change" in html
    assert "model queries per input" in html


def test_the_minimal_search_runs_only_when_asked_and_its_queries_are_counted(
    result: robustcheck.RunResult, word_model: Any, reviews: tuple[list[str], list[str]],
) -> None:
    texts, labels = reviews
    plain = robustcheck.run(word_model, texts, labels, seed=0, severities=SEVERITIES[:1],
                            perturbations=["attack.text"])
    assert not any(e.get("minimal") for e in plain.examples.get("attack.text", []))
    row = plain["attack.text"][0]
    asked = next(r for r in result["attack.text"] if r.severity == row.severity)
    searched = asked.details["attack"]["queries_minimal"]
    assert searched > 0
    assert "queries_minimal" not in row.details["attack"]
    assert asked.model_calls == row.model_calls + searched


def test_attack_rows_are_deterministic_and_comparable(
    result: robustcheck.RunResult, word_model: Any, reviews: tuple[list[str], list[str]],
) -> None:
    texts, labels = reviews
    again = robustcheck.run(word_model, texts, labels, seed=0, severities=SEVERITIES,
                            perturbations=["typo.keyboard", "attack.text"], minimal=True)
    assert without_timings(again) == without_timings(result)
    comparison = robustcheck.compare(result, again)
    assert all(r["verdict"] == "no significant change" for r in comparison.rows)


@pytest.fixture(scope="module")
def cancer_suite() -> tuple[Any, pd.DataFrame, robustcheck.RunResult]:
    """A scaled logistic regression fitted on 30 rows and the ten "mean" features of the
    breast cancer data, audited once on the last 15 of them (the attack's queries cost in
    rows times columns) with the tabular attack next to Gaussian noise."""
    data = load_breast_cancer(as_frame=True).frame.iloc[:30]
    x, y = data.drop(columns=["target"]).iloc[:, :10], data["target"].to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    x, y = x.iloc[15:], y[15:]
    r = robustcheck.run(model, x, y, perturbations=["attack.tabular", "noise.gaussian"],
                        severities=[1.0])
    return model, x, r


def test_the_tabular_attack_runs_in_a_tabular_suite(
    cancer_suite: tuple[Any, pd.DataFrame, robustcheck.RunResult],
) -> None:
    model, x, r = cancer_suite
    row = r["attack.tabular"][0]
    assert row.metrics["flip_rate"].value > r["noise.gaussian"][0].metrics["flip_rate"].value
    flipped = np.flatnonzero(row.failed)
    changed = pd.DataFrame([row.inputs[i] for i in flipped.tolist()])[list(x.columns)]
    assert (model.predict(changed) != model.predict(x.iloc[flipped])).all()


def test_an_unknown_attack_name_lists_close_names(word_model: Any) -> None:
    with pytest.raises(robustcheck.InvalidArgument, match=r"attack\.text"):
        robustcheck.run(word_model, ["a text"], perturbations=["attack.txt"])
    with pytest.raises(robustcheck.errors.ModalityError, match=r"attack\.tabular"):
        robustcheck.run(word_model, ["a text"], perturbations=["attack.tabular"])


def test_attack_queries_past_the_timeout_are_crashed_candidates_not_a_hung_run() -> None:
    import time

    from robustcheck.attack import ATTACKS

    texts = ["the food was great", "a great day", "not so great"]
    hang = 0.25  # seconds, twenty-five times the timeout

    def slow_on_anything_new(batch: list[str]) -> list[int]:
        if any(t not in texts for t in batch):
            time.sleep(hang)  # every edited candidate hangs
        return [int("great" in t) for t in batch]

    attack = ATTACKS["attack.text"].configure(max_queries=8)
    start = time.perf_counter()
    r = robustcheck.run(slow_on_anything_new, texts, perturbations=[attack], severities=[1.0],
                        timeout=0.01, progress=False)
    elapsed = time.perf_counter() - start
    row = r["attack.text"][0]
    assert row.metrics["flip_rate"].value == 0.0  # no candidate ever answered
    assert row.details["attack"]["queries_total"] > 3
    assert elapsed < row.details["attack"]["queries_total"] * hang / 2  # sleeps were cut short


def test_an_attack_on_an_executor_gives_the_in_process_result(
    result: robustcheck.RunResult, word_model: Any, reviews: tuple[list[str], list[str]],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts, labels = reviews
    with ThreadPoolExecutor(2) as pool:
        pooled = robustcheck.run(word_model, texts, labels, seed=0, severities=SEVERITIES,
                                 perturbations=["typo.keyboard", "attack.text"], executor=pool,
                                 minimal=True)
    assert without_timings(pooled) == without_timings(result)


def test_the_tabular_attack_reports_the_smallest_change_in_standard_deviations(
    cancer_suite: tuple[Any, pd.DataFrame, robustcheck.RunResult],
) -> None:
    _, _, r = cancer_suite
    distance = r["attack.tabular"][0].details["attack"]["median_distance"]
    assert distance is not None and 0 < distance <= 3.0

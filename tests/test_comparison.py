"""robustcheck.compare: paired tests between two model versions on the same data."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import robustcheck
from robustcheck.errors import IncompatibleResults, InvalidArgument, ResultFileError

POSITIVE = ["great", "excellent", "wonderful", "fantastic", "amazing", "lovely", "perfect",
            "friendly", "delicious", "superb"]
NEGATIVE = ["terrible", "awful", "horrible", "disappointing", "dreadful", "rude", "broken",
            "disgusting", "useless", "poor"]
NOUNS = ["food", "service", "delivery", "staff", "room", "phone", "battery", "screen",
         "coffee", "hotel"]
TEMPLATES = ["the {n} was {a}", "{a} {n} overall", "really {a} {n}, would say so",
             "our {n} felt {a} today", "what a {a} {n}"]
SUITE = ["typo.keyboard", "typo.swap", "case.upper", "case.title"]


def reviews(n: int = 600) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(0, 2))
        adjective = rng.choice(POSITIVE if y else NEGATIVE)
        texts.append(str(rng.choice(TEMPLATES)).format(a=adjective, n=rng.choice(NOUNS)))
        labels.append(y)
    return texts, labels


@pytest.fixture(scope="module")
def runs() -> tuple[robustcheck.RunResult, robustcheck.RunResult]:
    texts, labels = reviews()
    # both pipelines lower-case their input, so case changes cannot matter to either
    word = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    char = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)),
                         LogisticRegression()).fit(texts, labels)
    return (robustcheck.run(char, texts, labels, perturbations=SUITE, name="char"),
            robustcheck.run(word, texts, labels, perturbations=SUITE, name="word"))


def test_a_word_level_model_is_significantly_worse_on_typos_than_a_character_level_one(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    char, word = runs
    comparison = robustcheck.compare(char, word)
    typo_rows = [r for r in comparison.rows if r["perturbation"].startswith("typo.")]
    assert typo_rows and all(r["verdict"] == "regression" for r in typo_rows)
    for r in typo_rows:
        m = r["metrics"]["failure_rate"]
        assert m["b"]["value"] > m["a"]["value"] and m["delta"] > 0
        assert m["p_adjusted"] < 0.05 and m["test"] == "mcnemar-exact"
    case_rows = [r for r in comparison.rows if r["perturbation"].startswith("case.")]
    assert case_rows and all(r["verdict"] == "no significant change" for r in case_rows)
    assert {r["perturbation"] for r in comparison.regressions} == {"typo.keyboard",
                                                                     "typo.swap"}
    table = comparison.table()
    assert table.index("regression") < table.index("no significant change")


def test_swapping_the_runs_turns_regressions_into_improvements(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    char, word = runs
    comparison = robustcheck.compare(word, char)
    assert comparison.regressions == []
    assert {r["perturbation"] for r in comparison.improvements} == {"typo.keyboard",
                                                                      "typo.swap"}


def test_holm_adjusted_p_values_are_never_below_the_raw_ones(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    comparison = robustcheck.compare(*runs)
    for row in comparison.rows:
        for entry in row["metrics"].values():
            if entry["p_value"] is not None:
                assert entry["p_adjusted"] >= entry["p_value"]
    accuracy = comparison.rows[0]["metrics"]["accuracy_perturbed"]
    assert accuracy["test"] == "mcnemar-exact"
    confidence = comparison.rows[0]["metrics"]["confidence_drop"]
    assert confidence["test"] in {"paired-bootstrap", "paired-normal"}


def test_a_run_compared_with_itself_shows_no_change(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    char, _ = runs
    comparison = robustcheck.compare(char, char)
    assert all(r["verdict"] == "no significant change" for r in comparison.rows)
    assert all(r["metrics"]["failure_rate"]["p_value"] == 1.0 for r in comparison.rows)


def test_paths_are_accepted_and_the_comparison_serialises(
    tmp_path: Any, runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    char, word = runs
    char.to_json(tmp_path / "a.json")
    word.to_json(tmp_path / "b.json")
    comparison = robustcheck.compare(tmp_path / "a.json", str(tmp_path / "b.json"))
    d = json.loads(comparison.to_json(tmp_path / "cmp.json"))
    assert d["kind"] == "robustcheck.comparison" and d["summary"]["regressions"] == 6
    assert d["a"]["name"] == "char" and d["data"]["n"] == 600
    assert json.loads((tmp_path / "cmp.json").read_text()) == d


def test_results_of_different_data_are_refused(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    char, _ = runs
    texts, labels = reviews(100)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    other = robustcheck.run(model, texts, labels, perturbations=SUITE)
    with pytest.raises(IncompatibleResults, match="different data"):
        robustcheck.compare(char, other)


def test_results_of_different_seeds_are_refused(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    texts, labels = reviews()
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    seeded = robustcheck.run(model, texts, labels, perturbations=SUITE, seed=9)
    with pytest.raises(IncompatibleResults, match="same seed"):
        robustcheck.compare(runs[0], seeded)


def test_rows_only_one_run_has_are_listed_as_unpaired(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    char, _ = runs
    texts, labels = reviews()
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    fewer = robustcheck.run(model, texts, labels, perturbations=["typo.keyboard"])
    comparison = robustcheck.compare(char, fewer)
    assert {r["perturbation"] for r in comparison.rows} == {"typo.keyboard"}
    assert "typo.swap@1" in comparison.unpaired


def test_a_missing_or_corrupt_file_names_the_file(tmp_path: Any) -> None:
    with pytest.raises(ResultFileError, match="no such file"):
        robustcheck.compare(tmp_path / "nope.json", tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "robustcheck.run", "schema_ver')
    with pytest.raises(ResultFileError, match=r"broken\.json"):
        robustcheck.compare(broken, broken)


def test_a_bad_alpha_or_argument_is_refused(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    with pytest.raises(InvalidArgument, match="alpha must be in"):
        robustcheck.compare(*runs, alpha=2)
    with pytest.raises(InvalidArgument, match="a must be a RunResult"):
        robustcheck.compare(42, runs[1])  # type: ignore[arg-type]

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


@pytest.fixture(scope="module")
def comparison(runs: tuple[robustcheck.RunResult, robustcheck.RunResult]
               ) -> robustcheck.Comparison:
    """The character-level run against the word-level one, compared once (a paired
    bootstrap of 600 samples per row)."""
    return robustcheck.compare(*runs)


def test_a_word_level_model_is_significantly_worse_on_typos_than_a_character_level_one(
    comparison: robustcheck.Comparison,
) -> None:
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
    comparison: robustcheck.Comparison,
) -> None:
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


# -- verdicts over every metric tested ---------------------------------------------------

# Synthetic two-class models with scores: sample i of REVIEWS has the true label i % 2;
# the models answer it with a score of 0.9 for the true label on lower-case text. On
# upper-case text (case.upper changes every input) they differ as each test says.
REVIEWS = [f"review {i} says the sound is {'good' if i % 2 else 'poor'}" for i in range(120)]
TRUTH = [i % 2 for i in range(120)]


def scorer(drop: float, flips: int = 0) -> Any:
    """A model losing ``drop`` of the true label's score on upper-case inputs, and turning
    to the wrong label (score 0.1) on every ``flips``-th of them (0: none)."""
    def predict(texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:
            i = int(text.split()[1])
            score = 0.9
            if text != text.lower():
                score = 0.1 if flips and i % flips == 0 else 0.9 - drop
            out.append([score, 1 - score] if i % 2 == 0 else [1 - score, score])
        return np.array(out)

    return predict


def audit(model: Any, name: str, texts: list[str] = REVIEWS,
          labels: list[int] | None = TRUTH, suite: tuple[str, ...] = ("case.upper",)
          ) -> robustcheck.RunResult:
    return robustcheck.run(model, texts, labels, perturbations=list(suite), severities=[1],
                           name=name)


def verdicts(row: dict[str, Any]) -> dict[str, str]:
    return {name: m["verdict"] for name, m in row["metrics"].items()}


def test_a_larger_confidence_drop_alone_is_a_regression() -> None:
    comparison = robustcheck.compare(audit(scorer(0.0), "steady"), audit(scorer(0.3), "shaky"))
    (row,) = comparison.rows
    assert row["metrics"]["failure_rate"]["p_value"] == 1.0  # same labels everywhere
    assert verdicts(row) == {"failure_rate": "no significant change",
                             "accuracy_perturbed": "no significant change",
                             "confidence_drop": "regression"}
    assert row["verdict"] == "regression" and row["decided_by"] == ["confidence_drop"]
    assert comparison.regressions == [row] and comparison.mixed == []
    assert "regression  confidence_drop +0.300 (p " in comparison.table()
    d = json.loads(comparison.to_json())
    assert d["rows"][0]["decided_by"] == ["confidence_drop"] and d["tests"] == 3
    assert d["summary"] == {"regressions": 1, "improvements": 0, "mixed": 0, "unchanged": 0}


def test_fewer_flips_and_a_smaller_confidence_drop_are_an_improvement() -> None:
    comparison = robustcheck.compare(audit(scorer(0.0, flips=4), "flaky"),
                                     audit(scorer(0.0), "fixed"))
    (row,) = comparison.rows
    assert row["verdict"] == "improvement" and comparison.improvements == [row]
    assert row["decided_by"] == ["failure_rate", "accuracy_perturbed", "confidence_drop"]
    assert set(verdicts(row).values()) == {"improvement"}
    assert row["metrics"]["failure_rate"]["discordant"] == [30, 0]


def test_fewer_flips_but_a_larger_confidence_drop_are_mixed_and_not_a_regression(
    tmp_path: Any,
) -> None:
    # A flips a quarter of the inputs (its score of the true label falls by 0.8 there);
    # B flips none but loses 0.35 everywhere: on average it is less confident.
    comparison = robustcheck.compare(audit(scorer(0.0, flips=4), "flaky"),
                                     audit(scorer(0.35), "unsure"))
    (row,) = comparison.rows
    assert verdicts(row) == {"failure_rate": "improvement",
                             "accuracy_perturbed": "improvement",
                             "confidence_drop": "regression"}
    assert row["verdict"] == "mixed" and comparison.mixed == [row]
    assert row["decided_by"] == ["failure_rate", "accuracy_perturbed", "confidence_drop"]
    assert comparison.regressions == [] and comparison.improvements == []
    table = comparison.table()
    assert "failure_rate -25.0 pt (p <0.0001, better)" in table
    assert "confidence_drop +0.150 (p 0.0002, worse)" in table
    html = comparison.to_html(tmp_path / "c.html").read_text("utf-8")
    assert 'data-verdict="mixed"' in html and ">mixed</span>" in html
    assert "by failure rate, accuracy perturbed, confidence drop" in html
    assert "1 mixed row" in html


def test_a_small_difference_is_no_significant_change() -> None:
    # B turns one more input wrong: a real difference, too small to tell from chance.
    def one_more_flip(texts: list[str]) -> np.ndarray:
        out = scorer(0.0)(texts)
        for i, text in enumerate(texts):
            if text.startswith("REVIEW 0 "):
                out[i] = out[i][::-1]
        return out

    comparison = robustcheck.compare(audit(scorer(0.0), "a"), audit(one_more_flip, "b"))
    (row,) = comparison.rows
    assert row["metrics"]["failure_rate"]["discordant"] == [0, 1]
    assert row["metrics"]["confidence_drop"]["delta"] > 0
    assert row["verdict"] == "no significant change" and row["decided_by"] == []
    assert set(verdicts(row).values()) == {"no significant change"}
    assert comparison.table().splitlines()[-1].endswith("no significant change  -")


def test_holm_corrects_over_every_test_of_every_row_together() -> None:
    # Unlabelled, unscored runs: one test per row (the failure rate). B flips six more
    # upper-cased inputs than A: p = 2 / 2**6 = 0.031, significant alone.
    six = {text.upper() for text in REVIEWS[:6]}

    def a(texts: list[str]) -> list[int]:
        return [len(t) % 2 for t in texts]

    def b(texts: list[str]) -> list[int]:
        return [len(t) % 2 ^ (t in six) for t in texts]

    alone = robustcheck.compare(audit(a, "a", labels=None), audit(b, "b", labels=None))
    assert alone.tests == 1 and alone.rows[0]["verdict"] == "regression"
    assert alone.rows[0]["metrics"]["failure_rate"]["p_adjusted"] == pytest.approx(2 / 2**6)
    suite = ("case.upper", "typo.swap", "emoji.append")
    together = robustcheck.compare(audit(a, "a", labels=None, suite=suite),
                                   audit(b, "b", labels=None, suite=suite))
    upper = next(r for r in together.rows if r["perturbation"] == "case.upper")
    m = upper["metrics"]["failure_rate"]
    assert together.tests == 3 and m["p_value"] == pytest.approx(2 / 2**6)
    assert m["p_adjusted"] == pytest.approx(3 * 2 / 2**6)
    assert all(r["verdict"] == "no significant change" for r in together.rows)


def test_the_adjusted_p_values_are_holms_over_all_metrics_and_rows_at_once(
    comparison: robustcheck.Comparison,
) -> None:
    tested = [e for r in comparison.rows for e in r["metrics"].values()
              if e["p_value"] is not None]
    assert len(tested) == comparison.tests == 3 * len(comparison.rows)
    expected = robustcheck.stats.holm([e["p_value"] for e in tested])
    assert [e["p_adjusted"] for e in tested] == pytest.approx(expected, rel=1e-9)


def test_a_bootstrap_at_its_floor_is_resampled_until_the_correction_can_pass_it() -> None:
    # 10,000 resamples give p >= 2 / 10,001; times 3 tests that is above alpha = 0.0005
    comparison = robustcheck.compare(audit(scorer(0.0), "steady"),
                                     audit(scorer(0.3), "shaky"), alpha=0.0005)
    m = comparison.rows[0]["metrics"]["confidence_drop"]
    assert m["resamples"] > 10_000 and 2 / (m["resamples"] + 1) <= 0.0005 / (4 * 3)
    assert m["p_adjusted"] < 0.0005 and comparison.rows[0]["verdict"] == "regression"


def test_a_mean_of_fewer_than_20_pairs_is_not_tested() -> None:
    texts, labels = REVIEWS[:15], TRUTH[:15]
    comparison = robustcheck.compare(audit(scorer(0.0), "a", texts, labels),
                                     audit(scorer(0.3), "b", texts, labels))
    m = comparison.rows[0]["metrics"]["confidence_drop"]
    assert m["paired_n"] == 15 and m["p_value"] is None and m["p_adjusted"] is None
    assert m["test"] == "none (fewer than 20 pairs)"
    assert comparison.rows[0]["verdict"] == "no significant change"


def test_a_regression_model_is_compared_on_its_output_change_and_error() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": np.linspace(0, 1, 60), "b": np.linspace(1, 2, 60)})
    truth = frame["a"] * 3 + frame["b"]
    steady = robustcheck.run(lambda x: (x["a"] * 3 + x["b"]).to_numpy(), frame, truth,
                             perturbations=["noise.gaussian"], severities=[1], name="steady")
    touchy = robustcheck.run(lambda x: (x["a"] * 30 + x["b"] - 13.5).to_numpy(), frame,
                             truth, perturbations=["noise.gaussian"], severities=[1],
                             name="touchy")
    (row,) = robustcheck.compare(steady, touchy).rows
    assert {"mean_abs_change", "error_increase"} <= set(row["metrics"])
    assert row["metrics"]["mean_abs_change"]["test"] == "paired-bootstrap"
    assert row["verdict"] == "regression" and "mean_abs_change" in row["decided_by"]


def test_every_metric_marked_as_compared_has_per_sample_values() -> None:
    from robustcheck import comparison
    from robustcheck._metricinfo import METRIC_INFO

    assert set(comparison._PER_SAMPLE) == {m.name for m in METRIC_INFO if m.paired_test}

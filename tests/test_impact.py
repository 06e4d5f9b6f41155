"""Production impact: the arithmetic on a real small run, families on one side only,
runs without labels, the report section and the argument checks."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

import robustcheck
from robustcheck import report
from robustcheck._impact import JOINT, impact
from robustcheck._profile import profile
from robustcheck.datasets import load_reviews
from robustcheck.errors import InvalidArgument
from robustcheck.stats import wilson_interval

PERTURBATIONS = ["emoji.append", "case.upper", "case.lower", "typo.keyboard",
                 "negation.clause", "ocr.char"]


def good_means_positive(texts):
    return ["positive" if "good" in t else "negative" for t in texts]


@pytest.fixture(scope="module")
def run():
    data = load_reviews()
    return robustcheck.run(good_means_positive, data.texts[:80], data.labels[:80],
                           perturbations=PERTURBATIONS, severities=[0.5, 1.0], seed=1)


# Ten production texts: 3 with all-caps words, 2 with emoji, 1 with a URL, none typed
# in other ways the run tested.
PRODUCTION = ["the food was GOOD", "VERY good staff", "NOT good at all", "nice view 😍",
              "lovely room 👍", "see https://example.com", "the room was clean",
              "the staff were friendly", "the pool was warm", "the bed was soft"]


def lowest_failure(run, family):
    """The mean over the family's perturbations of the failure rate at the lowest
    severity that changed an input, computed from the rows directly."""
    rates = []
    for name in sorted({r.perturbation for r in run.rows if r.family == family}):
        rows = sorted((r for r in run.rows if r.perturbation == name and
                       r.metrics["coverage"].value > 0), key=lambda r: r.severity)
        rates.append(rows[0].metrics["failure_rate"])
    return rates


def test_added_error_is_frequency_times_the_lowest_severity_failure_rate(run):
    result = impact(run, profile(PRODUCTION, name="prod"))
    rows = {r.family: r for r in result.rows}
    assert set(rows) == {"case", "emoji"}
    case = lowest_failure(run, "case")
    assert len(case) == 2 and max(m.value for m in case) > 0  # "GOOD" is not "good"
    failure = sum(m.value for m in case) / 2
    assert rows["case"].frequency.value == pytest.approx(0.3)
    assert rows["case"].failure_rate.value == pytest.approx(failure)
    assert rows["case"].added_error.value == pytest.approx(0.3 * failure)
    assert rows["emoji"].added_error.value == pytest.approx(
        0.2 * lowest_failure(run, "emoji")[0].value)
    assert rows["case"].perturbations == ("case.lower@0.5", "case.upper@0.5")


def test_the_intervals_multiply_bounds_at_the_joint_level(run):
    row = next(r for r in impact(run, profile(PRODUCTION)).rows if r.family == "case")
    bounds = [wilson_interval(round(m.value * m.n), m.n, JOINT)
              for m in lowest_failure(run, "case")]
    f_low, f_high = wilson_interval(3, 10, JOINT)
    assert row.added_error.low == pytest.approx(f_low * sum(b[0] for b in bounds) / 2)
    assert row.added_error.high == pytest.approx(f_high * sum(b[1] for b in bounds) / 2)
    assert row.added_error.low <= row.added_error.value <= row.added_error.high
    assert math.isclose(JOINT ** 2, 0.95)


def test_expected_accuracy_is_clean_accuracy_minus_the_total(run):
    result = impact(run, profile(PRODUCTION))
    clean = run.clean["accuracy"]
    total = sum(r.added_error.value for r in result.rows)
    assert result.total_added_error.value == pytest.approx(total)
    assert result.clean_accuracy.value == pytest.approx(clean["value"])
    assert result.expected_accuracy.value == pytest.approx(max(0.0, clean["value"] - total))
    assert result.expected_accuracy.low == pytest.approx(
        max(0.0, clean["low"] - result.total_added_error.high))
    assert result.expected_accuracy.high == pytest.approx(
        min(1.0, clean["high"] - result.total_added_error.low))


def test_families_on_one_side_only_are_listed_not_counted_as_zero(run):
    result = impact(run, profile(PRODUCTION))
    untested = dict(result.untested)
    assert untested["chat"].value == pytest.approx(0.1)  # a URL, no chat perturbation run
    not_counted = dict(result.not_counted)
    assert "directional" in not_counted["negation"]
    assert "no phenomenon" in not_counted["ocr"]
    assert "reference=" in not_counted["typo"]  # tested, but the profile had no reference
    assert {"negation", "ocr", "typo", "chat"}.isdisjoint(r.family for r in result.rows)
    text = str(result)
    assert "in production, not tested: chat 10.0%" in text
    assert "typo (not measured in the profile" in text


def test_with_a_reference_the_typo_family_is_counted(run):
    data = load_reviews()
    result = impact(run, profile(PRODUCTION, reference=data.texts[:80]))
    assert "typo" in {r.family for r in result.rows}


def test_a_run_without_labels_has_no_expected_accuracy(run):
    data = load_reviews()
    unlabelled = robustcheck.run(good_means_positive, data.texts[:40],
                                 perturbations=["case.upper"], severities=[1.0])
    result = impact(unlabelled, profile(PRODUCTION))
    assert result.expected_accuracy is None and result.clean_accuracy is None
    assert result.rows[0].family == "case"
    assert "expected production accuracy: not measured" in str(result)
    html = report.render_run(unlabelled, impact=result)
    assert "the expected accuracy is not measured" in html
    assert "Expected accuracy in production" not in html


def test_a_profile_file_works_as_well_as_a_profile(run, tmp_path):
    p = profile(PRODUCTION, name="prod")
    p.to_json(tmp_path / "prod.json")
    assert impact(run, tmp_path / "prod.json") == impact(run, p)


def test_a_tabular_run_and_profile():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 60).astype(float),
                          "city": rng.choice(["Paris", "Rome", "Oslo"], 60)})
    labels = ["old" if a > 50 else "young" for a in frame["age"]]

    def model(batch):
        ages = pd.to_numeric(batch["age"], errors="coerce").fillna(0)
        return ["old" if a > 50 else "young" for a in ages]

    run = robustcheck.run(model, frame, labels, perturbations=["missing.nan"],
                          severities=[0.5, 1.0])
    production = frame.copy()
    production.loc[:14, "age"] = np.nan
    row = impact(run, profile(production, reference=frame)).rows[0]
    failure = lowest_failure(run, "missing")[0]
    assert failure.value > 0  # a missing age reads as 0: "young"
    assert row.family == "missing"
    assert row.added_error.value == pytest.approx(0.25 * failure.value)


def test_impact_is_plain_json(run):
    d = json.loads(json.dumps(impact(run, profile(PRODUCTION)).to_dict()))
    assert d["kind"] == "robustcheck.impact"
    assert {r["family"] for r in d["rows"]} == {"case", "emoji"}
    assert not any(isinstance(v, float) and math.isnan(v) for v in d["total_added_error"].values())


@pytest.mark.parametrize(("call", "words"), [
    (lambda run: impact("result.json", profile(PRODUCTION)), "result must be a RunResult"),
    (lambda run: impact(run, profile(pd.DataFrame({"x": [1]}))), "tabular inputs"),
    (lambda run: impact(run, 3), "path must be"),
])
def test_bad_arguments_are_refused(run, call, words):
    with pytest.raises(InvalidArgument, match=re.escape(words)):
        call(run)


# -- the report --------------------------------------------------------------------------


def test_the_report_shows_the_impact_table(run):
    html = report.render_run(run, impact=impact(run, profile(PRODUCTION, name="prod")))
    section = html[html.index('<section id="impact"'):]
    section = section[:section.index("</section>")]
    assert '<a href="#impact">Production impact</a>' in html
    assert "<caption>" in section and '<th scope="col">Family</th>' in section
    assert '<th scope="row" dir="auto">case</th>' in section
    assert "Expected accuracy in production" in section
    assert "negation</bdi> (directional" in section


def test_the_report_without_impact_is_unchanged(run):
    plain = report.render_run(run)
    assert plain == report.render_run(run, impact=None)
    assert 'id="impact"' not in plain and "Production impact" not in plain


def test_the_report_escapes_hostile_text_in_the_impact(run):
    hostile = "<script>window.__pwned=1</script>"
    d = impact(run, profile(PRODUCTION, name=hostile)).to_dict()
    d["rows"][0]["family"] = '"><img src=x onerror=alert(1)>'
    d["not_counted"].append({"family": "x", "reason": "<b>bold</b>"})
    html = report.render_run(run, impact=d)
    assert hostile not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_report_refuses_something_that_is_no_impact(run):
    with pytest.raises(InvalidArgument, match="impact must be"):
        report.render_run(run, impact={"kind": "robustcheck.run"})

"""The verdict and the ranked findings a reviewer decides from (issue 13, item 1), and
the report's top: the banner first, one row per perturbation, the full table a click
away."""

from __future__ import annotations

import contextlib
import copy
import re

import pytest

import robustcheck
from robustcheck import _findings, report
from robustcheck.errors import RobustnessError
from robustcheck.metrics import Metric

WORDS = ["good", "fine", "great", "nice", "bad", "poor", "awful", "slow"]
TEXTS = [f"the {a} room and the {b} staff" for a in WORDS for b in WORDS]


def shouty(batch: list[str]) -> list[str]:
    """Says "neg" for any upper-case letter, else by the first adjective."""
    out = []
    for text in batch:
        if text != text.lower():
            out.append("neg")
        else:
            out.append("pos" if text.split()[1] in WORDS[:4] else "neg")
    return out


SUITE = ["case.upper", "typo.keyboard", "whitespace.extra"]


@pytest.fixture(scope="module")
def result() -> robustcheck.RunResult:
    return robustcheck.run(shouty, TEXTS, shouty(TEXTS), perturbations=SUITE,
                           severities=[0.5, 1.0], seed=0, progress=False, name="shouty")


def checked(result: robustcheck.RunResult, **thresholds: float) -> robustcheck.RunResult:
    copy_ = copy.deepcopy(result)
    with contextlib.suppress(RobustnessError):
        copy_.check(**thresholds)
    return copy_


def test_without_thresholds_the_verdict_is_not_checked(result):
    verdict = _findings.verdict(result)
    assert (verdict.status, verdict.tags) == ("NOT CHECKED", ["NOT CHECKED"])


def test_a_broken_threshold_fails_and_a_kept_one_passes(result):
    assert _findings.verdict(checked(result, max_flip_rate=0.1)).status == "FAIL"
    passing = _findings.verdict(checked(result, max_flip_rate=1.0))
    assert passing.status == "PASS" and passing.reason == "6 of 6 rows are within their thresholds"


def test_incomplete_and_insufficient_qualify_the_verdict(result):
    partial = checked(result, max_flip_rate=1.0)
    partial.complete, partial.stopped = False, {"kind": "outage", "message": "down"}
    assert _findings.verdict(partial).tags == ["FAIL", "INCOMPLETE"]
    few = checked(result, max_flip_rate=1.0, min_samples=10_000)
    verdict = _findings.verdict(few)
    assert verdict.status == "FAIL" and "INSUFFICIENT DATA" in verdict.tags


def test_upper_case_is_a_certain_major_finding_with_a_plain_sentence(result):
    found = _findings.findings(checked(result, max_flip_rate=0.1))
    first = found[0]
    row = checked(result, max_flip_rate=0.1)["case.upper"][0]
    m = row.metrics["flip_rate"]
    # every input flips at both severities: the lower one is the finding (it fails as badly)
    assert (first.perturbation, first.level, first.severity) == ("case.upper", "major", 0.5)
    assert first.sentence == (f"case.upper flips {100 * m.value:.0f}% [{100 * m.low:.1f}, "
                              f"{100 * m.high:.1f}] of predictions at severity 0.5; the limit "
                              "is 10%.")
    assert [f.perturbation for f in found].count("case.upper") == 1  # one per perturbation


def with_flip(result: robustcheck.RunResult, value: float, low: float, high: float
              ) -> robustcheck.RunResult:
    changed = copy.deepcopy(result)
    for row in changed.rows:
        if row.perturbation == "typo.keyboard":
            row.metrics["flip_rate"] = Metric(value, low, high, 40)
            row.metrics["failure_rate"] = Metric(value, low, high, 40)
    return changed


@pytest.mark.parametrize(("value", "low", "high", "limit", "level"), [
    (0.30, 0.18, 0.45, 0.10, "major"),   # the whole interval above the limit
    (0.15, 0.07, 0.29, 0.10, "medium"),  # above, but the interval reaches under it
    (0.05, 0.01, 0.16, 0.10, "minor"),   # failures seen, within the limit
])
def test_the_level_says_how_sure_a_broken_threshold_is(result, value, low, high, limit, level):
    found = _findings.findings(checked(with_flip(result, value, low, high),
                                       max_flip_rate=limit, per={"case": {"max_flip_rate": 1}}))
    typo = next(f for f in found if f.perturbation == "typo.keyboard")
    assert typo.level == level and typo.broken == (level != "minor")


@pytest.mark.parametrize(("low", "level"), [(0.25, "major"), (0.08, "medium"), (0.01, "minor")])
def test_without_thresholds_the_level_comes_from_the_interval(result, low, level):
    found = _findings.findings(with_flip(result, low + 0.05, low, low + 0.1))
    assert next(f for f in found if f.perturbation == "typo.keyboard").level == level


def test_findings_are_ranked_major_first_then_by_the_lower_bound(result):
    found = _findings.findings(with_flip(result, 0.3, 0.25, 0.35))
    ranks = [(_findings.LEVELS.index(f.level), -(f.low or 0)) for f in found]
    assert ranks == sorted(ranks) and len(found) >= 2


def test_a_crash_is_a_major_finding(result):
    crashed = copy.deepcopy(result)
    row = crashed["whitespace.extra"][0]
    row.metrics["crash_rate"] = Metric(0.1, 0.05, 0.2, 40)
    found = [f for f in _findings.findings(crashed) if f.perturbation == "whitespace.extra"]
    assert found[0].level == "major" and "crash on 10%" in found[0].sentence


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    end = html.index("</section>", start)
    return html[start:end]


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def test_the_report_opens_with_the_verdict_and_its_findings(result):
    html = report.render_run(checked(result, max_flip_rate=0.1))
    assert html.index('id="verdict"') < html.index('id="score"') < html.index('id="summary"')
    banner = text(section(html, "verdict"))
    assert banner.startswith('id="verdict" class="verdict fail" aria-labelledby="verdict-title"> '
                             "FAIL 3 of 6 rows break a threshold")
    assert banner.index("case.upper flips") < banner.index("typo.keyboard")
    assert 'href="#ex-case-upper"' in section(html, "verdict")


def test_one_row_per_perturbation_worst_first_and_the_full_table_folded(result):
    html = report.render_run(checked(result, max_flip_rate=0.1))
    summary = html[html.index('id="summary"'):html.index("</table>", html.index('id="summary"'))]
    names = re.findall(r'<th scope="row">(?:<a [^>]*>)?([a-z_.]+)', summary)
    assert names[0] == "case.upper" and sorted(names) == sorted(SUITE)
    assert summary.count('<svg class="spark"') == 3
    assert '<details class="fulltable" id="full-table">' in html
    full = html[html.index('id="full-table"'):]
    assert full.index('id="results"') < full.index("</details>")


VOCAB = {"the", "room", "and", "staff", *WORDS}


def brittle(batch: list[str]) -> list[str]:
    """shouty, and any unknown word makes it "neg" too."""
    return ["neg" if set(t.split()) - VOCAB else s for t, s in zip(batch, shouty(batch))]


def test_the_session_report_leads_with_the_tests_and_the_regressions(result):
    from robustcheck.comparison import compare

    worse = robustcheck.run(brittle, TEXTS, shouty(TEXTS), perturbations=SUITE,
                            severities=[0.5, 1.0], seed=0, progress=False, name="shouty")
    comparison = compare(result, worse)
    assert comparison.regressions
    html = report.render_session(
        [("tests/test_model.py::test_robust", worse), ("tests/test_model.py::test_old", result)],
        regressions=[("tests/test_model.py::test_robust", comparison)],
        outcomes={"tests/test_model.py::test_robust": "failed",
                  "tests/test_model.py::test_old": "passed"})
    top = text(section(html, "session-verdict"))
    assert f"FAIL 1 of 2 tests failed; {len(comparison.regressions)} significant regressions " \
           "against the baseline" in top
    assert "tests/test_model.py::test_robust · shouty failed NOT CHECKED" in top
    assert "tests/test_model.py::test_old · shouty passed NOT CHECKED" in top
    regressions = text(section(html, "regressions"))
    assert "Regressions (they fail the session)" in regressions
    first = comparison.regressions[0]
    assert f"{first['perturbation']} regression {first['severity']:g} failure_rate" in regressions
    assert html.index('id="session-verdict"') < html.index('id="regressions"') < \
        html.index('id="r1-run"')


def test_a_session_without_a_baseline_has_no_regressions_section(result):
    html = report.render_session([("t", result)])
    assert 'id="regressions"' not in html and 'id="session-verdict"' in html


def test_the_failing_box_keeps_the_rows_that_fail_their_check(result):
    audited = checked(result, max_flip_rate=0.3)
    html = report.render_run(audited)
    marked = set(re.findall(r'data-key="([^"]+)" data-failing="true"', html))
    assert marked == {r.key for r in audited.rows if r.passed is False}
    # rows where the model failed on some inputs but within the limit are not "failing"
    assert any(r.passed and (r.value("failure_rate") or 0) > 0 for r in audited.rows)
    assert "only rows that fail their check" in html

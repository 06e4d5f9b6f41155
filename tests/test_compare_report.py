"""What a comparison shows a reader: the interval of each paired change, the chart of the
change in failure rate, the samples that flipped between the runs, and the Markdown and
Jupyter summaries."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest

import robustcheck
from robustcheck import report
from robustcheck._report_compare import DELTA_MARKS, _comparison_context
from robustcheck.comparison import _paired_rate_interval
from robustcheck.errors import InvalidArgument

# Sample i has the true label i % 2; the models answer it with a score of 0.9 for the
# true label on lower-case text. On upper-case text (case.upper changes every input) a
# model fails the samples its ``fails(i)`` picks: it turns to the wrong label with a
# score that varies with i, so the confidence drops differ from sample to sample.
N = 120


def reviews(n: int = N, extra: str = "") -> list[str]:
    return [f"review {i} {extra}says the sound is {'good' if i % 2 else 'poor'}"
            for i in range(n)]


def truth(n: int = N) -> list[int]:
    return [i % 2 for i in range(n)]


def model(fails: Callable[[int], bool], crash: int | None = None) -> Any:
    def predict(texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:
            i = int(text.split()[1])
            upper = text != text.lower()
            if upper and i == crash:
                raise RuntimeError(f"cannot read review {i}")
            score = 0.05 + 0.3 * ((i * 7) % 11) / 11 if upper and fails(i) else 0.9
            out.append([score, 1 - score] if i % 2 == 0 else [1 - score, score])
        return np.array(out)

    return predict


def a_fails(i: int) -> bool:
    return i % 10 == 0


def b_fails(i: int) -> bool:
    return i % 3 == 0


def audit(predict: Any, name: str, texts: list[str], suite: tuple[str, ...] = ("case.upper",)
          ) -> robustcheck.RunResult:
    return robustcheck.run(predict, texts, truth(len(texts)), perturbations=list(suite),
                           severities=[1], name=name, seed=0)


@pytest.fixture(scope="module")
def runs() -> tuple[robustcheck.RunResult, robustcheck.RunResult]:
    """B fails every third sample (and crashes on sample 57), A every tenth: B is worse
    on 36 samples and better on 8 (those divisible by 10 but not by 3)."""
    texts = reviews()
    return (audit(model(a_fails), "steady", texts),
            audit(model(b_fails, crash=57), "shaky", texts))


@pytest.fixture(scope="module")
def comparison(runs: tuple[robustcheck.RunResult, robustcheck.RunResult]
               ) -> robustcheck.comparison.Comparison:
    return robustcheck.compare(*runs)


def failure(c: robustcheck.comparison.Comparison, k: int = 0) -> dict[str, Any]:
    m: dict[str, Any] = c.rows[k]["metrics"]["failure_rate"]
    return m


# -- the interval of a paired change ----------------------------------------------------


def test_the_paired_rate_interval_matches_newcombes_square_and_add_interval() -> None:
    # Cavo et al. (2012) as in Fagerland, Lydersen & Laake, "Statistical Analysis of
    # Contingency Tables", ch. 8: both 59, only before 6, only after 16, neither 80; the
    # book's interval of before - after is -0.0621 (-0.1186 to -0.0046).
    a = np.array([True] * 65 + [False] * 96)
    b = np.array([True] * 59 + [False] * 6 + [True] * 16 + [False] * 80)
    low, high = _paired_rate_interval(a, b)
    assert b.mean() - a.mean() == pytest.approx(0.0621, abs=5e-5)
    assert (low, high) == pytest.approx((0.0046, 0.1186), abs=5e-5)


def test_every_tested_change_lies_inside_its_interval(
    comparison: robustcheck.comparison.Comparison,
) -> None:
    (row,) = comparison.rows
    assert row["verdict"] == "regression"
    for name, m in row["metrics"].items():
        assert m["delta_low"] <= m["paired_delta"] <= m["delta_high"], name
        assert m["delta_low"] < m["delta_high"], name
    m = row["metrics"]["failure_rate"]
    assert m["paired_delta"] == pytest.approx((36 - 8) / N, abs=0.01)
    assert m["interval"] == "newcombe" and m["delta_low"] > 0
    assert row["metrics"]["confidence_drop"]["interval"] == "percentile-bootstrap"
    d = json.loads(comparison.to_json())["rows"][0]["metrics"]["failure_rate"]
    assert (d["delta_low"], d["delta_high"]) == (m["delta_low"], m["delta_high"])


def test_the_interval_narrows_as_the_samples_grow() -> None:
    widths = []
    for n in (N, 4 * N):
        texts = reviews(n)
        c = robustcheck.compare(audit(model(a_fails), "a", texts),
                                audit(model(b_fails), "b", texts))
        m = failure(c)
        assert m["paired_delta"] == pytest.approx(28 / N, abs=0.01)
        widths.append(m["delta_high"] - m["delta_low"])
    assert widths[1] < 0.6 * widths[0]


def test_the_intervals_are_the_same_for_the_same_seed(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    def intervals(seed: int) -> dict[str, tuple[float, float]]:
        (row,) = robustcheck.compare(*runs, seed=seed).rows
        return {k: (m["delta_low"], m["delta_high"]) for k, m in row["metrics"].items()}

    first, again, other = intervals(3), intervals(3), intervals(4)
    assert first == again
    assert other["failure_rate"] == first["failure_rate"]  # closed form: no resampling
    assert other["confidence_drop"] != first["confidence_drop"]  # a bootstrap: the seed's


# -- the delta chart -----------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def chart(html: str) -> str:
    start = html.index('<svg class="chart" id="delta-chart"')
    return html[start:html.index("</svg>", start)]


def marks(svg: str) -> list[str]:
    """The verdict class of each mark, top to bottom."""
    return re.findall(r'<g class="bar delta-mark ([a-z]+)">', svg)


def test_the_delta_chart_draws_one_mark_per_row_regressions_first() -> None:
    texts = reviews()
    suite = ("case.upper", "typo.swap", "emoji.append")
    a = audit(model(a_fails), "a", texts, suite)
    b = audit(model(b_fails), "b", texts, suite)
    c = robustcheck.compare(b, a)  # A fails less: case.upper improves
    worse = robustcheck.compare(a, b)
    for cmp, first in ((c, "improvement"), (worse, "regression")):
        html = report.render_comparison(json.loads(cmp.to_json()))
        svg = chart(html)
        found = marks(svg)
        assert len(found) == len(cmp.rows) == 3
        assert found[0] == first and found[1:] == ["same", "same"]
        assert 'role="img"' in svg and 'aria-label="Change in failure rate' in svg
        assert "<a" not in svg  # nothing interactive inside an image
        upper = next(r for r in cmp.rows if r["perturbation"] == "case.upper")
        m = upper["metrics"]["failure_rate"]
        text = f"{100 * m['paired_delta']:+.1f} pp [{100 * m['delta_low']:+.1f}, " \
               f"{100 * m['delta_high']:+.1f}]"
        assert text in svg
    assert "font-size" not in svg  # the charts' 11px comes from the stylesheet


def test_a_regression_is_drawn_before_an_improvement_and_the_unchanged() -> None:
    rows = [_row(f"p{i}", 1.0, v, d) for i, (v, d) in enumerate(
        [("no significant change", 0.3), ("improvement", -0.2), ("regression", 0.1),
         ("mixed", 0.05), ("no significant change", -0.01)])]
    found = marks(chart(report.render_comparison(_comparison(rows))))
    assert found == ["regression", "mixed", "improvement", "same", "same"]


def test_with_many_rows_the_chart_draws_each_perturbation_once_and_stays_bounded() -> None:
    rows = [_row(f"family.p{i:02d}", s, "regression" if i == 7 and s == 0.5 else
                 "no significant change", (i - 20) / 100 + s / 10)
            for i in range(40) for s in (0.25, 0.5, 1.0)]
    view = _comparison_context(_comparison(rows))["delta"]
    labels = [m["label"] for m in view["marks"]]
    assert len(labels) == DELTA_MARKS and view["hidden"] == 40 - DELTA_MARKS
    assert len({label.split(" @ ")[0] for label in labels}) == len(labels)
    assert labels[0] == "family.p07 @ 0.5"  # its significant severity, first


def _row(name: str, severity: float, verdict: str, delta: float) -> dict[str, Any]:
    return {"perturbation": name, "severity": severity, "expectation": "invariant",
            "verdict": verdict, "decided_by": [] if verdict.startswith("no") else
            ["failure_rate"],
            "metrics": {"failure_rate": {
                "a": {"value": 0.3, "low": 0.2, "high": 0.4, "n": 100},
                "b": {"value": 0.3 + delta, "low": 0.2, "high": 0.5, "n": 100},
                "delta": delta, "paired_delta": delta, "delta_low": delta - 0.05,
                "delta_high": delta + 0.05, "p_value": 0.01, "p_adjusted": 0.02,
                "test": "mcnemar-exact", "verdict": verdict}}}


def _comparison(rows: list[dict[str, Any]]) -> dict[str, Any]:
    count = lambda v: sum(r["verdict"] == v for r in rows)  # noqa: E731
    return {"schema_version": 1, "kind": "robustcheck.comparison", "alpha": 0.05,
            "correction": "holm", "tests": len(rows), "a": {"name": "a"},
            "b": {"name": "b"}, "data": {"n": 100},
            "summary": {"regressions": count("regression"), "mixed": count("mixed"),
                        "improvements": count("improvement"),
                        "unchanged": count("no significant change")},
            "rows": rows}


# -- the samples that flipped --------------------------------------------------------------


def test_a_significant_row_lists_the_samples_that_flipped_both_ways(
    runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
    comparison: robustcheck.comparison.Comparison,
) -> None:
    (ra,), (rb,) = runs[0].rows, runs[1].rows
    failed_a, failed_b = ra.failed.astype(bool), rb.failed.astype(bool)
    flips = comparison.rows[0]["flips"]
    assert flips["worse"]["count"] == int((~failed_a & failed_b).sum()) == 36
    assert flips["better"]["count"] == int((failed_a & ~failed_b).sum()) == 8
    assert comparison.rows[0]["metrics"]["failure_rate"]["discordant"] == [8, 36]
    worse = [s["index"] for s in flips["worse"]["samples"]]
    better = [s["index"] for s in flips["better"]["samples"]]
    assert len(worse) == len(better) == 5
    assert all(not failed_a[i] and failed_b[i] for i in worse)
    assert all(failed_a[i] and not failed_b[i] for i in better)
    # worst first: B's crash, then the largest confidence drop under B
    assert worse[0] == 57 and flips["worse"]["samples"][0]["b"]["crashed"]
    assert "RuntimeError: cannot read review 57" in flips["worse"]["samples"][0]["b"]["crash"]
    drops = [0.9 - (0.05 + 0.3 * ((i * 7) % 11) / 11) for i in worse[1:]]
    assert drops == sorted(drops, reverse=True)
    texts = reviews()
    for s in flips["worse"]["samples"] + flips["better"]["samples"]:
        assert s["input"] == texts[s["index"]] and s["perturbed"] == texts[s["index"]].upper()
        assert s["label"] == s["index"] % 2
    sample = flips["better"]["samples"][0]
    assert sample["a"]["answer"] != sample["a"]["clean"] == sample["label"]
    assert sample["b"]["answer"] == sample["b"]["clean"] == sample["label"]


def test_the_report_shows_the_flipped_samples_with_the_change_marked(
    comparison: robustcheck.comparison.Comparison,
) -> None:
    html = report.render_comparison(json.loads(comparison.to_json()))
    section = html[html.index('<section id="flips">'):]
    section = section[:section.index("</section>")]
    flips = comparison.rows[0]["flips"]
    shown = [int(i) for i in re.findall(r'<div class="example flip" data-index="(\d+)">',
                                        section)]
    assert shown == [s["index"] for way in ("worse", "better") for s in flips[way]["samples"]]
    assert "Kept its expectation under A, failed under B: 36 samples" in section
    assert "Failed under A, kept its expectation under B: 8 samples" in section
    assert "<mark>REVIEW</mark>" in section and "<del>review</del>" in section
    assert 'href="#flips-case-upper-1"' in html and 'id="flips-case-upper-1"' in section
    assert 'id="flips-inputs"' not in html  # the runs knew their data


def test_loaded_results_show_indices_unless_the_inputs_are_given(
    tmp_path: Any, runs: tuple[robustcheck.RunResult, robustcheck.RunResult],
) -> None:
    for run, name in zip(runs, ("a.json", "b.json")):
        run.to_json(tmp_path / name)
    loaded = robustcheck.compare(tmp_path / "a.json", tmp_path / "b.json")
    d = json.loads(loaded.to_json())
    assert d["flips"] == {"shown": 5, "inputs": "examples"}
    samples = d["rows"][0]["flips"]["worse"]["samples"]
    kept = {e["index"] for run in runs for e in run.examples["case.upper"]}
    assert [s["index"] for s in samples] == [
        s["index"] for s in robustcheck.compare(*runs).rows[0]["flips"]["worse"]["samples"]]
    assert all((s["input"] is None) == (s["index"] not in kept) for s in samples)
    assert all(s["label"] == s["index"] % 2 and s["b"]["answer"] != s["b"]["clean"]
               for s in samples if not s["b"]["crashed"])
    html = report.render_comparison(d)
    assert 'id="flips-inputs"' in html and "Input not in the result files." in html
    given = robustcheck.compare(tmp_path / "a.json", tmp_path / "b.json", inputs=reviews(),
                                labels=truth())
    assert given.flip_inputs == "data"
    assert all(s["input"] == reviews()[s["index"]]
               for s in given.rows[0]["flips"]["worse"]["samples"])
    with pytest.raises(InvalidArgument, match="fingerprints"):
        robustcheck.compare(tmp_path / "a.json", tmp_path / "b.json", inputs=reviews()[::-1],
                            labels=truth())


def test_rows_without_a_significant_change_keep_no_flipped_samples() -> None:
    texts = reviews()
    c = robustcheck.compare(audit(model(a_fails), "a", texts),
                            audit(model(a_fails), "b", texts))
    assert c.rows[0]["verdict"] == "no significant change" and "flips" not in c.rows[0]
    assert 'id="flips"' not in report.render_comparison(json.loads(c.to_json()))


HOSTILE = "<script>alert(1)</script> \u202egpj.exe "


def test_hostile_inputs_are_escaped_in_the_flipped_samples() -> None:
    texts = reviews(extra=HOSTILE)
    c = robustcheck.compare(audit(model(a_fails), "a", texts),
                            audit(model(b_fails), "b", texts))
    sample = c.rows[0]["flips"]["worse"]["samples"][0]
    assert HOSTILE in sample["input"]  # the dict keeps the data as it is
    html = report.render_comparison(json.loads(c.to_json()))
    section = html[html.index('<section id="flips">'):]
    section = section[:section.index("</section>")]
    shown = unescape(re.sub(r"<[^>]+>", "", section))
    assert "<script>alert(1)</script>" in shown and "<SCRIPT>ALERT(1)</SCRIPT>" in shown
    assert len(re.findall("<script", html, re.I)) == 1  # the report's own
    assert "\u202e" not in html and "[U+202E]" in section
    assert {tag for tag, _ in Tags(section).tags} <= {
        "section", "h2", "h3", "p", "b", "code", "article", "span", "div", "mark", "del", "a"}


# -- Markdown and Jupyter summaries ----------------------------------------------------------


def test_the_markdown_summary_counts_verdicts_and_tables_the_significant_rows(
    comparison: robustcheck.comparison.Comparison,
) -> None:
    text = comparison.to_markdown()
    assert text.startswith("### Robustness comparison: steady (A) vs shaky (B)\n")
    assert "**1 regression**, 0 mixed, 0 improvements, 0 unchanged" in text
    m = failure(comparison)
    line = next(x for x in text.splitlines() if "failure\\_rate" in x)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:3] == ["case.upper", "1", "failure\\_rate"]
    assert cells[3:5] == [f"{100 * m['a']['value']:.1f}%", f"{100 * m['b']['value']:.1f}%"]
    assert cells[5] == (f"{100 * m['paired_delta']:+.1f} pp [{100 * m['delta_low']:+.1f}, "
                        f"{100 * m['delta_high']:+.1f}]")
    assert cells[6] == "<0.0001" and cells[7] == "regression"
    decided = comparison.rows[0]["decided_by"]
    assert sum(line.startswith("| case.upper |") for line in text.splitlines()) == len(decided)


def test_the_markdown_summary_escapes_names_from_the_data(
    comparison: robustcheck.comparison.Comparison,
) -> None:
    comparison.a.name = "v1 | `rm -rf` <img src=x> *bold* _it_ [link](x)\nnext line"
    try:
        text = comparison.to_markdown()
    finally:
        comparison.a.name = "steady"
    first = text.splitlines()[0]
    assert first == ("### Robustness comparison: v1 \\| \\`rm -rf\\` &lt;img src=x&gt; "
                     "\\*bold\\* \\_it\\_ \\[link\\]\\(x\\) next line (A) vs shaky (B)")
    assert "<img" not in text and "\nnext line" not in text


def test_the_jupyter_summary_escapes_every_value(
    comparison: robustcheck.comparison.Comparison,
) -> None:
    comparison.b.name = HOSTILE
    try:
        shown = comparison._repr_html_()
    finally:
        comparison.b.name = "shaky"
    assert "<script" not in shown and "\u202e" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "<td>case.upper</td>" in shown and "<td>regression</td>" in shown
    assert {tag for tag, _ in Tags(shown).tags} <= {
        "div", "p", "b", "table", "thead", "tbody", "tr", "th", "td", "small"}


def test_a_summary_without_significant_rows_says_so() -> None:
    texts = reviews()
    c = robustcheck.compare(audit(model(a_fails), "a", texts),
                            audit(model(a_fails), "b", texts))
    assert "No significant difference." in c.to_markdown()
    assert "0 regressions" in c.to_markdown() and "<table>" not in c._repr_html_()


@pytest.mark.parametrize(("summary", "tags", "reason"), [
    ({"regressions": 2, "mixed": 1, "improvements": 3, "unchanged": 9}, ["REGRESSION"],
     "B against A: 2 regressions, 1 mixed, 3 improvements"),
    ({"regressions": 0, "mixed": 1, "improvements": 1, "unchanged": 9}, ["MIXED"],
     "B against A: 1 mixed, 1 improvement"),
    ({"regressions": 0, "mixed": 0, "improvements": 0, "unchanged": 9},
     ["NO SIGNIFICANT CHANGE"], "B against A: no row changed significantly"),
])
def test_the_comparison_report_opens_with_its_verdict(summary, tags, reason):
    from robustcheck._report_compare import _banner

    banner = _banner(summary, {"complete": True}, {"complete": True})
    assert (banner["tags"], banner["reason"]) == (tags, reason)
    assert _banner(summary, {"complete": True}, {"complete": False})["tags"] == \
        [*tags, "INCOMPLETE"]


def test_the_verdict_banner_comes_before_everything_else_in_the_html(comparison, tmp_path):
    # the module's comparison (B worse on 36 samples, better on 8: a regression), not the
    # shipped demo reports, whose 138 rows x 263 samples take seconds of bootstrap
    html = comparison.to_html(tmp_path / "c.html").read_text("utf-8")
    assert html.index('id="verdict"') < html.index('id="summary"') < html.index('id="delta"')
    assert '<span class="verdict-word">REGRESSION</span>' in html

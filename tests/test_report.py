"""The HTML report, read as HTML text: its sections, hostile data, no network, the change
highlights, the table without JavaScript, its size, and the comparison of two runs."""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import robustcheck
from robustcheck import report
from robustcheck.errors import InvalidArgument, RobustnessError
from robustcheck.metrics import Metric
from robustcheck.results import Row, RunResult
from robustcheck.stats import holm, paired_outcome_test

POSITIVE = ["great product, works well", "I love it", "excellent quality and fast shipping",
            "really happy with this purchase", "the best headphones I have owned",
            "works perfectly, highly recommend", "amazing value for the money",
            "very good, would buy again", "fantastic sound and comfortable", "super easy to set up"]
NEGATIVE = ["terrible, broke after a day", "I hate it", "poor quality and slow shipping",
            "really unhappy with this purchase", "the worst headphones I have owned",
            "does not work, avoid", "waste of money", "very bad, would not buy again",
            "awful sound and uncomfortable", "hard to set up and confusing"]
TEXTS = [f"{t}{end}" for end in ("", " today", "!") for t in POSITIVE + NEGATIVE]
LABELS = ([1] * 10 + [0] * 10) * 3

PAYLOADS = ["<script>window.__pwned=1</script>", '"><img src=x onerror="window.__pwned=1">',
            "</textarea><svg onload=alert(1)>", "{{ 7*7 }}", "javascript:alert(1)"]
HOSTILE = " ".join(PAYLOADS)

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "nav", "main", "section",
    "footer", "article", "div", "span", "p", "b", "small", "code", "h1", "h2", "h3", "a",
    "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td",
    "button", "input", "label", "details", "summary", "mark", "del", "script", "strong",
    "svg", "g", "line", "rect", "polyline", "circle", "text",
}


# -- reading the HTML ----------------------------------------------------------------


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of each script and style."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._raw: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._raw = self.scripts if tag == "script" else self.styles
            self._raw.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw[-1] += data

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a}


def section(html: str, element_id: str) -> str:
    """The markup of the element with that id, up to the end of the enclosing section."""
    start = html.index(f'id="{element_id}"')
    end = html.find("</section>", start)
    return html[start:end if end != -1 else len(html)]


def text_of(markup: str) -> str:
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", markup))


def spans(markup: str, tag: str) -> list[str]:
    return [text_of(m) for m in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", markup, re.S)]


def assert_self_contained(html: str) -> None:
    page = Page(html)
    assert "<link" not in html.lower()
    assert not any(tag in ("img", "iframe", "object", "embed", "link", "base")
                   for tag, _ in page.tags)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "formaction", "xlink:href", "srcset", "poster"):
            if name in attrs:
                assert attrs[name].startswith("#"), (tag, name, attrs[name])
        assert "url(" not in attrs.get("style", "")
        assert not any(v.strip().lower().startswith(("http:", "https:", "//"))
                       for v in attrs.values()), (tag, attrs)
    for css in page.styles:
        assert "@import" not in css
        assert "url(" not in css
    dangling = {a["href"][1:] for _, a in page.tags if a.get("href", "").startswith("#")}
    assert dangling <= page.ids(), dangling - page.ids()


# -- audits ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_result() -> RunResult:
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)
    result = robustcheck.run(model, TEXTS, LABELS, perturbations="text", seed=0,
                             name="review sentiment")
    with contextlib.suppress(RobustnessError):
        result.check(max_flip_rate=0.2)
    return result


@pytest.fixture(scope="module")
def tabular_result() -> RunResult:
    frame = load_breast_cancer(as_frame=True).frame.sample(40, random_state=0)
    x, y = frame.drop(columns=["target"]).reset_index(drop=True), frame["target"].to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    return robustcheck.run(model, x, y, perturbations=["missing.nan", "noise.gaussian"],
                           seed=0, name="tumour classifier")


@pytest.fixture(scope="module")
def text_html(text_result: RunResult) -> str:
    """The report of ``text_result``, rendered once for the tests that only read it."""
    return report.render_run(text_result)


@pytest.fixture(scope="module")
def tabular_html(tabular_result: RunResult) -> str:
    """The report of ``tabular_result``, rendered once for the tests that only read it."""
    return report.render_run(tabular_result)


def hostile_model(texts: list[str]) -> list[str]:
    """Answers with hostile labels; crashes, with a hostile message, on non-ASCII text."""
    if any(any(ord(c) > 127 for c in t) for t in texts):
        raise ValueError(f"cannot read this: {HOSTILE}")
    return [PAYLOADS[len(t) % len(PAYLOADS)] for t in texts]


@pytest.fixture(scope="module")
def hostile_html() -> str:
    texts = [f"{p} review {i}" for i in range(6) for p in PAYLOADS]
    labels = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(texts))]
    result = robustcheck.run(hostile_model, texts, labels, seed=0, name=HOSTILE,
                             perturbations=["typo.delete", "emoji.append", "case.upper"])
    assert result.crashes and result.examples
    return report.render_run(result)


# -- synthetic results of any size ------------------------------------------------------


def metric(value: float, n: int) -> Metric:
    return Metric(value, max(value - 0.05, 0.0), min(value + 0.05, 1.0), n)


def synthetic(n: int, *, perturbations: int = 20, text_chars: int = 2000,
              message_chars: int = 1000, pairs: dict[str, tuple[str, str]] | None = None
              ) -> RunResult:
    """A result built by hand: ``perturbations`` x 3 severities, 5 examples each (texts of
    ``text_chars``), 10 crashes per row; ``pairs`` gives a perturbation's one example."""
    rng = np.random.default_rng(0)
    severities = [0.25, 0.5, 1.0]
    rows, records, examples, crashes = [], {}, {}, []
    base = ("the room was clean and the staff were friendly " * 60)[:text_chars]
    for p in range(perturbations):
        name = f"family{p % 6}.variant{p}"
        records[name] = {"name": name, "family": name.split(".")[0], "expectation": "invariant",
                         "description": "made up", "severity": "share of words"}
        for s in severities:
            changed = rng.random(n) < 0.9
            crashed = changed & (rng.random(n) < 0.02)
            k = int(changed.sum())
            rows.append(Row(
                perturbation=name, severity=s, expectation="invariant",
                metrics={"coverage": metric(k / n, n), "crash_rate": metric(0.02, k),
                         "flip_rate": metric(0.1 * s, k), "failure_rate": metric(0.12 * s, k),
                         "confidence_drop": metric(0.05 * s, k)},
                model_calls=k, changed=changed, crashed=crashed,
                labels=rng.integers(0, 2, n).astype(np.int32),
                latency={"latency_p50": 1e-4, "latency_p95": 2e-4, "latency_ratio": 1.1}))
            crashes += [{"perturbation": name, "severity": s, "index": i, "type": "ValueError",
                         "message": "m" * message_chars, "input": base} for i in range(10)]
        before = base
        after = "".join(c.upper() if i % 7 == 0 else c for i, c in enumerate(base))
        if pairs and name in pairs:
            before, after = pairs[name]
        examples[name] = [{"index": i, "severity": 0.25, "input": before, "perturbed": after,
                           "label": 1, "clean": 1, "predicted": 0, "confidence": 0.9,
                           "perturbed_confidence": 0.3, "confidence_drop": 0.6, "crash": None}
                          for i in range(1 if pairs and name in pairs else 5)]
    return RunResult(
        name="synthetic", seed=0, complete=True, model={"kind": "callable", "class": "x.f"},
        data={"fingerprint": "sha256:00", "n": n, "modality": "text", "labelled": True},
        task="classification", classes=[0, 1], severities=severities, perturbations=records,
        clean={"answered": n, "crashes": 0,
               "self_disagreement": {"value": 0.0, "low": 0.0, "high": 0.01, "n": n}},
        rows=rows, examples=examples, crashes=crashes, environment={"robustcheck": "test"},
        timings={"started": "2026-01-01T00:00:00+00:00", "seconds": 1.0})


# -- sections -------------------------------------------------------------------------


def test_a_text_audit_shows_every_section_with_the_score_first(text_result: RunResult,
                                                              text_html: str) -> None:
    html = text_html
    page = Page(html)
    for element_id in ("overview", "score", "checks", "manifest", "worst", "worst-chart",
                       "perturbations", "results", "curves", "curves-chart", "examples",
                       "crashes", "self-disagreement", "no-crashes"):
        assert element_id in page.ids(), element_id
    assert text_result.score is not None
    score = section(html, "score")
    assert f"{text_result.score:.1f}" in score
    assert "mean failure rate" in score
    assert html.index('id="score"') < html.index('id="results"')
    manifest = text_of(section(html, "manifest"))
    for expected in (text_result.data["fingerprint"], "Seed0", "robustcheck 0.1", "n = 60",
                     "text", text_result.timings["started"], "Statuscomplete",
                     "tfidfvectorizer → logisticregression",
                     f"accuracy {100 * text_result.clean['accuracy']['value']:.1f}%"):
        assert expected in manifest, expected


def test_the_checks_count_passes_and_failures_from_the_rows_and_the_clean_inputs(
    text_result: RunResult, text_html: str,
) -> None:
    checks = text_of(section(text_html, "checks"))
    clean = text_result.clean.get("passed")
    passed = sum(1 for r in text_result.rows if r.passed) + (clean is True)
    failed = sum(1 for r in text_result.rows if r.passed is False) + (clean is False)
    assert failed > 0 and passed > 0
    assert re.search(rf"\b{passed}\s*passed", checks)
    assert re.search(rf"\b{failed}\s*failed", checks)
    assert "max_flip_rate ≤ 0.2" in checks


def test_without_thresholds_the_report_says_none_were_checked(tabular_html: str) -> None:
    html = tabular_html
    assert 'id="no-thresholds"' in html
    assert "No thresholds were checked" in html


def test_a_tabular_audit_with_crashes_groups_them_and_shows_only_changed_columns(
    tabular_result: RunResult, tabular_html: str,
) -> None:
    html = tabular_html
    crashes = section(html, "crashes")
    crashed = sum(int(r.crashed.sum()) for r in tabular_result.rows
                  if r.perturbation == "missing.nan")
    assert crashed > 0
    assert re.search(rf"<td>missing\.nan</td><td class=\"num\">{crashed}</td>", crashes)
    assert "<b>ValueError</b>" in crashes and "NaN" in crashes
    assert "self-disagreement" in Page(html).ids()
    example = tabular_result.examples["missing.nan"][0]
    changed = [k for k in example["input"] if example["input"][k] != example["perturbed"][k]]
    assert 0 < len(changed) < len(example["input"])
    block = section(html, "ex-missing-nan")
    first = block[block.index('<table class="cells">'):block.index("</table>")]
    assert first.count("<tr>") == 1 + len(changed)  # the header row and one per change
    for column in changed:
        assert f"<td>{column}</td>" in first


def banner(html: str, element_id: str = "incomplete") -> str:
    """The text of the banner with that id."""
    start = html.index(f'id="{element_id}"')
    return text_of(html[html.rindex("<div", 0, start):html.index("</div>", start)])


def stopped_early(result: RunResult, kind: str, message: str, rows: int) -> RunResult:
    """A copy of ``result`` that stopped after its first ``rows`` rows."""
    partial = dataclasses.replace(copy.deepcopy(result), complete=False,
                                  rows=copy.deepcopy(result.rows[:rows]))
    partial.stopped = {"kind": kind, "message": message}
    return partial


def test_an_incomplete_run_shows_a_banner_with_the_cause_and_how_much_was_run(
    text_result: RunResult, text_html: str,
) -> None:
    assert 'id="incomplete"' not in text_html
    message = f"the model could not be reached (ConnectError: {HOSTILE})."
    partial = stopped_early(text_result, "outage", message, rows=5)
    html = report.render_run(partial)
    planned = len(text_result.perturbations) * len(text_result.severities)
    assert planned > 5
    assert banner(html).startswith(f"INCOMPLETE: stopped early (outage): {message} 5 of {planned} "
                             "perturbation × severity units were run")
    assert 'role="alert"' in html
    assert html.index('id="incomplete"') < html.index('id="overview"')
    assert "partial: stopped early (outage)" in text_of(section(html, "manifest"))
    assert re.search(r"<title>INCOMPLETE: Robustness report", html)
    page = Page(html)  # the message is hostile: it stays text
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS and len(page.scripts) == 1
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_a_run_that_stopped_before_any_row_still_renders_its_banner_and_clean_row(
    text_result: RunResult,
) -> None:
    partial = stopped_early(text_result, "outage", "HTTP 503 after 5 retries", rows=0)
    partial.clean = {"answered": 0, "crashes": 0, "passed": False,
                     "violations": ["not measured: the model answered no clean input"]}
    html = report.render_run(partial)
    assert banner(html).startswith("INCOMPLETE: stopped early (outage): HTTP 503 after 5 "
                                   "retries. 0 of ")
    row = clean_row(html)
    assert "fail" in text_of(row) and "not measured: the model answered no clean input" in row
    assert "Crash rate" not in cell_texts(html, 'id="clean-row"')  # the pass never ran
    assert_self_contained(html)


def test_a_result_without_a_recorded_stop_reads_as_interrupted(text_result: RunResult) -> None:
    html = report.render_run(dataclasses.replace(text_result, complete=False))
    assert banner(html).startswith(
        "INCOMPLETE: stopped early (interrupted): no reason was recorded.")


def test_the_session_summary_says_which_audit_stopped_early_and_why(
    text_result: RunResult,
) -> None:
    partial = stopped_early(text_result, "hung", "the model gave no answer in 30 s", rows=3)
    html = report.render_session([("test_a", text_result), ("test_b", partial)])
    summary = text_of(section(html, "session-summary"))
    assert "test_a · review sentiment\nFAIL · INSUFFICIENT DATA\n" in summary
    assert "test_b · review sentiment\nFAIL · INCOMPLETE · INSUFFICIENT DATA stopped early " \
        "(hung)\n" in summary
    assert "INCOMPLETE: stopped early (hung): the model gave no answer in 30 s." in \
        banner(html, "r2-incomplete")


# -- the clean row and what could not be measured ------------------------------------------


def results_table(html: str, prefix: str = "") -> str:
    table = html[html.index(f'<table id="{prefix}results"'):]
    return table[:table.index("</table>")]


def clean_row(html: str, prefix: str = "") -> str:
    table = results_table(html, prefix)
    row = table[table.rindex("<tr", 0, table.index(f'id="{prefix}clean-row"')):]
    return row[:row.index("</tr>")]


def cell_texts(html: str, marker: str) -> dict[str, str]:
    """Header -> the text of that cell, in the results-table row holding ``marker``."""
    table = results_table(html)
    head = table[:table.index("</tr>")]
    headers = [text_of(h) for h in re.findall(r"<th\b[^>]*>.*?</th>", head, re.S)]
    row = table[table.rindex("<tr", 0, table.index(marker)):]
    cells = re.findall(r"<td\b[^>]*>.*?</td>", row[:row.index("</tr>")], re.S)
    assert len(cells) == len(headers)
    return dict(zip(headers, (text_of(c) for c in cells)))


def with_clean(result: RunResult, **clean: Any) -> RunResult:
    changed = copy.deepcopy(result)
    changed.clean.update(clean)
    return changed


CRASHING_CLEAN = {"crash_rate": {"value": 0.875, "low": 0.719, "high": 0.95, "n": 32},
                  "passed": False, "violations": ["crash_rate 0.875 [0.719, 0.950] > 0"]}


def test_the_results_table_starts_with_a_clean_row_that_can_fail(text_result: RunResult
                                                                 ) -> None:
    html = report.render_run(with_clean(text_result, **CRASHING_CLEAN))
    table = results_table(html)
    assert table.index('id="clean-row"') < table.index("<tr data-row")
    row = clean_row(html)
    assert 'class="clean-row fail"' in row
    text = text_of(row)
    accuracy = text_result.clean["accuracy"]
    assert "clean inputs" in text
    assert f"accuracy {100 * accuracy['value']:.1f}% [{100 * accuracy['low']:.1f}, " in text
    assert "87.5% [71.9, 95.0]" in text
    assert "fail" in text and "crash_rate 0.875 [0.719, 0.950] > 0" in text
    verdict = text_of(section(html, "verdict"))
    assert "\nFAIL · INSUFFICIENT DATA the clean inputs break a threshold" in verdict
    assert "\nmajor The model crashes on 87.5% [71.9, 95.0] of the clean inputs, before any " \
        "perturbation." in verdict
    # Sorting reorders the body; the clean row is outside it, so it stays on top.
    body = table[table.index("<tbody>"):]
    assert 'id="clean-row"' not in body


@pytest.mark.parametrize(("passed", "status"), [(True, "pass"), (None, "—")])
def test_a_clean_row_that_passed_or_was_not_checked_says_so(
    passed: bool | None, status: str, text_result: RunResult,
) -> None:
    result = with_clean(text_result, passed=passed, violations=[],
                        crash_rate={"value": 0.0, "low": 0.0, "high": 0.06, "n": 60})
    row = clean_row(report.render_run(result))
    assert f'<span class="status {"pass" if passed else "unchecked"}">{status}</span>' in row
    assert "0.0% [0.0, 6.0]" in text_of(row)


def test_the_clean_row_is_in_the_session_report_and_the_report_of_a_saved_result(
    text_result: RunResult, tmp_path: Path,
) -> None:
    result = with_clean(text_result, **CRASHING_CLEAN)
    session = report.render_session([("test_a", text_result), ("test_b", result)])
    assert "87.5% [71.9, 95.0]" in text_of(clean_row(session, "r2-"))
    assert 'class="clean-row fail"' in clean_row(session, "r2-")
    result.to_json(tmp_path / "r.json")
    from robustcheck.cli import main

    assert main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "r.html")]) == 0
    saved = clean_row((tmp_path / "r.html").read_text("utf-8"))
    assert "87.5% [71.9, 95.0]" in text_of(saved) and 'class="clean-row fail"' in saved


def test_a_result_without_a_recorded_clean_crash_rate_derives_it_from_the_counts(
    text_result: RunResult,
) -> None:
    result = copy.deepcopy(text_result)
    result.clean.pop("crash_rate", None)
    result.clean.update(answered=result.n - 3, crashes=3)
    cells = cell_texts(report.render_run(result), 'id="clean-row"')
    assert cells["Crash rate"] == "5.0% [1.7, 13.7]"
    result.clean.update(answered=result.n - 5, crashes=0)  # the clean pass did not finish
    assert cell_texts(report.render_run(result), 'id="clean-row"')["Crash rate"] == "—"


def test_a_threshold_on_a_metric_that_could_not_be_measured_shows_fail_with_the_reason(
    text_result: RunResult,
) -> None:
    result = copy.deepcopy(text_result)
    for row in result.rows:  # no row measured a flip rate: the column must still show
        row.metrics.pop("flip_rate", None)
        row.violations, row.passed = [], True
    broken = result.rows[2]
    broken.violations = ["flip_rate not measured: the model crashed on all 12 changed inputs"]
    broken.passed = False
    html = report.render_run(result)
    assert cell_texts(html, f'data-key="{broken.key}"')["Flip rate"] == \
        "FAILnot measured: the model crashed on all 12 changed inputs"
    assert '<span class="status fail">FAIL</span>' in results_table(html)
    assert cell_texts(html, f'data-key="{result.rows[0].key}"')["Flip rate"] == "—"
    assert f"major {broken.perturbation}: flip rate could not be measured at severity " \
        f"{broken.severity:g} (the model crashed on all 12 changed inputs)." in \
        text_of(section(html, "verdict"))


# -- hostile data ----------------------------------------------------------------------


def test_hostile_texts_labels_names_and_crash_messages_never_become_markup(
    hostile_html: str,
) -> None:
    page = Page(hostile_html)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert not [(t, a) for t, a in page.tags for k in a if k.lower().startswith("on")]
    assert len(page.scripts) == 1 and "__pwned" not in page.scripts[0]
    assert "<script>window" not in hostile_html
    assert "<img" not in hostile_html and "<svg onload" not in hostile_html
    assert "</textarea>" not in hostile_html
    assert not re.search(r"=\s*[\"']?\s*javascript:", hostile_html)


def test_hostile_data_is_shown_escaped_and_literally(hostile_html: str) -> None:
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in hostile_html
    assert "&#34;&gt;&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;" in hostile_html
    assert "&lt;/textarea&gt;&lt;svg onload=alert(1)&gt;" in hostile_html
    assert "{{ 7*7 }}" in hostile_html  # shown as typed, never evaluated
    title = re.search(r"<title>(.*?)</title>", hostile_html, re.S)
    assert title and "&lt;script&gt;" in title.group(1)
    crashes = section(hostile_html, "crashes")
    assert "cannot read this: &lt;script&gt;" in crashes
    examples = text_of(section(hostile_html, "examples"))
    assert "javascript:alert(1)" in examples and PAYLOADS[0] in examples


def test_the_page_policy_lets_only_its_own_script_run(hostile_html: str) -> None:
    page = Page(hostile_html)
    policy = next(a["content"] for t, a in page.tags
                  if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse JavaScript")
def test_the_inline_script_is_valid_javascript(hostile_html: str, tmp_path: Path) -> None:
    script = tmp_path / "report.js"
    script.write_text(Page(hostile_html).scripts[0], "utf-8")
    subprocess.run(["node", "--check", str(script)], check=True, capture_output=True)


# -- no network -------------------------------------------------------------------------


def test_no_report_loads_anything_from_the_network(
    text_html: str, tabular_html: str, hostile_html: str,
) -> None:
    for html in (text_html, tabular_html, hostile_html):
        assert_self_contained(html)


# -- the change highlight ----------------------------------------------------------------


def test_the_highlight_marks_exactly_the_changed_characters() -> None:
    pairs = {"family0.variant0": ("the cat sat on the mat", "the bat sat on the mat!!"),
             "family1.variant1": ("a b", "a\u200bb")}
    html = report.render_run(synthetic(50, perturbations=2, pairs=pairs))
    first = section(html, "ex-family0-variant0")
    before, after = re.findall(r'<div class="text">(.*?)</div>', first, re.S)[:2]
    assert spans(before, "del") == ["c"] and spans(before, "mark") == []
    assert spans(after, "mark") == ["b", "!!"] and spans(after, "del") == []
    assert text_of(before) == "the cat sat on the mat"
    assert text_of(after) == "the bat sat on the mat!!"
    long_text = " ".join(f"word{i}" for i in range(400))  # long texts align words first
    typo = long_text.replace("word17 ", "wxrd17 ").replace("word300 ", "wOrd300 ")
    added = long_text.replace("word17 ", "word17, ").replace("word300 ", "word300 new ")
    long_pairs = {"family0.variant0": (long_text, typo), "family1.variant1": (long_text, added)}
    html_long = report.render_run(synthetic(50, perturbations=2, pairs=long_pairs))
    for anchor, dels, marks, changed in (("ex-family0-variant0", ["o", "o"], ["x", "O"], typo),
                                         ("ex-family1-variant1", [], [",", "new"], added)):
        before, after = re.findall(r'<div class="text">(.*?)</div>',
                                   section(html_long, anchor), re.S)[:2]
        assert spans(before, "del") == dels
        # An inserted word may take the space before or after it: either is exact.
        assert [m.strip() for m in spans(after, "mark")] == marks
        assert len("".join(spans(after, "mark"))) == len(changed) - len(long_text) + len(dels)
        assert text_of(before) == long_text and text_of(after) == changed
    second = section(html, "ex-family1-variant1")
    before, after = re.findall(r'<div class="text">(.*?)</div>', second, re.S)[:2]
    assert spans(before, "del") == [" "] and spans(after, "mark") == ["\u200b"]
    assert 'title="U+200B ZERO WIDTH SPACE"' in after


# -- the table without JavaScript ------------------------------------------------------


def test_the_table_is_server_rendered_with_one_row_per_perturbation_and_severity(
    text_result: RunResult, text_html: str,
) -> None:
    html = text_html
    table = html[html.index('<table id="results"'):]
    table = table[:table.index("</table>")]
    keys = re.findall(r'<tr data-row data-key="([^"]+)"', table)
    assert keys == [r.key for r in text_result.rows]
    headers = re.findall(r'<th data-sort="(numeric|text)"', table)
    assert headers.count("numeric") >= 8
    worst = max(text_result.rows, key=lambda r: r.metrics["failure_rate"].value
                if r.metrics["coverage"].value > 0 else -1)
    m = worst.metrics["failure_rate"]
    row = table[table.index(f'data-key="{worst.key}"'):]
    row = text_of(row[:row.index("</tr>")])
    assert f"{100 * m.value:.1f}% [{100 * m.low:.1f}, {100 * m.high:.1f}]" in row
    assert re.search(rf'data-value="{m.value:.6g}"', table)


# -- size ------------------------------------------------------------------------------


def test_the_report_size_is_bounded_by_rows_examples_and_crashes_not_by_samples() -> None:
    # 60 rows, 100 examples with 2,000-character texts changed every 7th character,
    # 600 crashes with 1,000-character messages and 2,000-character inputs. Budget:
    # 60 KB of page, 3 KB a row, per example twice its text plus 13 bytes of <mark>
    # per change (9 KB), per crash the clipped message and input plus markup (1 KB).
    big = synthetic(100_000)
    html = report.render_run(big)
    budget = 60_000 + 60 * 3_000 + 100 * 9_000 + 600 * 1_000
    assert len(html.encode()) < budget
    small = report.render_run(synthetic(1_000))
    # Nothing per sample is embedded: only the counts in each row grow by a few digits.
    assert abs(len(html) - len(small)) < 60 * 40
    assert html.count("m" * 501) == 0  # crash messages are clipped


# -- the comparison -----------------------------------------------------------------------


def fragile_to_case(texts: list[str]) -> list[int]:
    return [int(len(t) % 2 == 0) ^ int(t != t.lower()) for t in texts]


def fragile_to_emoji(texts: list[str]) -> list[int]:
    return [int(len(t) % 2 == 0) ^ int(any(ord(c) > 127 for c in t)) for t in texts]


def compare(a: RunResult, b: RunResult, alpha: float = 0.05) -> dict[str, Any]:
    """A comparison dict of the documented shape, from failure outcomes (McNemar, Holm)."""
    pairs = list(zip(a.rows, b.rows))
    tests = [paired_outcome_test(ra.failed, rb.failed) for ra, rb in pairs]
    adjusted = holm([t.p_value for t in tests])
    rows = []
    for (ra, rb), t, p in zip(pairs, tests, adjusted):
        verdict = ("no significant change" if p > alpha else
                   "regression" if t.delta > 0 else "improvement")
        rows.append({
            "perturbation": ra.perturbation, "severity": ra.severity,
            "expectation": ra.expectation, "verdict": verdict,
            "metrics": {"failure_rate": {
                "a": ra.metrics["failure_rate"].to_dict(),
                "b": rb.metrics["failure_rate"].to_dict(), "delta": t.delta,
                "p_value": t.p_value, "p_adjusted": p, "test": "mcnemar-exact",
                "verdict": verdict},
                "accuracy_perturbed": {
                "a": ra.metrics["accuracy_perturbed"].to_dict(),
                "b": rb.metrics["accuracy_perturbed"].to_dict(),
                "delta": rb.metrics["accuracy_perturbed"].value
                - ra.metrics["accuracy_perturbed"].value,
                "p_value": None, "p_adjusted": None, "test": "mcnemar-exact",
                "verdict": "no significant change"}}})
    side = lambda r: {"name": r.name, "score": r.score, "seed": r.seed,  # noqa: E731
                      "complete": r.complete, "model": r.model,
                      "environment": r.environment, "timings": r.timings}
    count = lambda v: sum(1 for r in rows if r["verdict"] == v)  # noqa: E731
    return {"schema_version": 1, "kind": "robustcheck.comparison", "alpha": alpha,
            "correction": "holm", "a": side(a), "b": side(b),
            "data": {k: a.data[k] for k in ("fingerprint", "n", "modality")},
            "summary": {"regressions": count("regression"),
                        "improvements": count("improvement"),
                        "unchanged": count("no significant change")},
            "rows": rows}


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    texts = [t.lower().replace("!", "") for t in TEXTS]
    suite = ["case.upper", "emoji.append", "typo.swap"]
    a = robustcheck.run(fragile_to_case, texts, LABELS, perturbations=suite, seed=0,
                        name="v1")
    b = robustcheck.run(fragile_to_emoji, texts, LABELS, perturbations=suite, seed=0,
                        name="v2")
    result = compare(a, b)
    assert result["summary"]["regressions"] and result["summary"]["improvements"]
    return json.loads(json.dumps(result))  # plain JSON data, as a saved comparison holds


def test_a_comparison_lists_regressions_first_then_improvements(
    comparison: dict[str, Any],
) -> None:
    html = report.render_comparison(comparison)
    order = re.findall(r'<tbody data-row data-verdict="([^"]+)"', html)
    assert len(order) == len(comparison["rows"])
    rank = {"regression": 0, "improvement": 1, "no significant change": 2}
    assert [rank[v] for v in order] == sorted(rank[v] for v in order)
    assert order[0] == "regression"
    first = html[html.index('data-verdict="regression"'):]
    assert "emoji.append" in first[:first.index("</tbody>")]


def test_a_comparison_shows_values_p_values_verdicts_and_both_manifests(
    comparison: dict[str, Any],
) -> None:
    html = report.render_comparison(comparison)
    summary = text_of(section(html, "summary-line"))
    s = comparison["summary"]
    plural = lambda n, word: f"{n} {word}" + ("" if n == 1 else "s")  # noqa: E731
    assert plural(s["regressions"], "regression") in summary
    assert plural(s["improvements"], "improvement") in summary and "holm" in summary
    assert plural(s["unchanged"], "row") + " with no significant change" in summary
    regression = next(r for r in comparison["rows"] if r["verdict"] == "regression")
    m = regression["metrics"]["failure_rate"]
    block = html[html.index('data-verdict="regression"'):]
    block = text_of(block[:block.index("</tbody>")])
    p = m["p_adjusted"]
    assert (f"{p:.2g}" if p < 0.001 else f"{p:.3f}") in block and "mcnemar-exact" in block
    assert f"{100 * m['delta']:+.1f} pp" in block
    assert f"{100 * m['a']['value']:.1f}%" in block and f"{100 * m['b']['value']:.1f}%" in block
    assert ">regression</span>" in html and ">improvement</span>" in html
    assert ">no significant change</span>" in html
    manifests = text_of(section(html, "manifests"))
    assert "v1" in manifests and "v2" in manifests
    assert "fragile_to_case" in manifests and "fragile_to_emoji" in manifests
    assert_self_contained(html)


def test_a_comparison_escapes_hostile_names(comparison: dict[str, Any]) -> None:
    hostile = json.loads(json.dumps(comparison))
    hostile["a"]["name"] = HOSTILE
    hostile["rows"][0]["perturbation"] = PAYLOADS[1]
    html = report.render_comparison(hostile)
    assert "<script>window" not in html and "<img" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_a_comparison_from_robustcheck_compare_renders_with_its_unpaired_rows() -> None:
    texts = [t.lower().replace("!", "") for t in TEXTS]
    a = robustcheck.run(fragile_to_case, texts, LABELS, perturbations=["case.upper"],
                        seed=0, name="v1")
    b = robustcheck.run(fragile_to_emoji, texts, LABELS, seed=0, name="v2",
                        perturbations=["case.upper", "emoji.append"])
    data = json.loads(robustcheck.compare(a, b).to_json())
    html = report.render_comparison(data)
    assert re.findall(r'data-verdict="([^"]+)"', html) == ["improvement"] * 3
    assert "emoji.append@0.25" in section(html, "unpaired")
    assert_self_contained(html)


# -- a session ---------------------------------------------------------------------------


def test_a_session_page_holds_every_audit_with_unique_ids(
    text_result: RunResult, tabular_result: RunResult,
) -> None:
    html = report.render_session([("tests/test_model.py::test_text", text_result),
                                  (f"tests/test_x.py::test[{PAYLOADS[0]}]", tabular_result)])
    page = Page(html)
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids))
    for prefix, result in (("r1-", text_result), ("r2-", tabular_result)):
        assert {f"{prefix}overview", f"{prefix}results", f"{prefix}crashes"} <= set(ids)
        table = section(html, f"{prefix}results")
        assert len(re.findall(r"<tr data-row ", table)) == len(result.rows)
    summary = text_of(section(html, "session-summary"))
    assert "tests/test_model.py::test_text" in summary and PAYLOADS[0] in summary
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert len(page.scripts) == 1
    assert_self_contained(html)
    with pytest.raises(InvalidArgument, match="pairs"):
        report.render_session([text_result])  # type: ignore[list-item]


# -- the API ---------------------------------------------------------------------------


def test_rendering_is_deterministic_and_a_loaded_result_renders_the_same(
    text_result: RunResult, tmp_path: Path,
) -> None:
    html = report.render_run(text_result, title="Release 2.1")
    assert html == report.render_run(text_result, title="Release 2.1")
    assert "<title>Release 2.1</title>" in html
    text_result.to_json(tmp_path / "r.json")
    loaded = robustcheck.load(tmp_path / "r.json")
    assert report.render_run(loaded, title="Release 2.1") == html


def test_write_puts_the_html_in_place_atomically(tmp_path: Path) -> None:
    target = report.write("<!DOCTYPE html><p>x</p>", tmp_path / "deep" / "report.html")
    assert target.read_text("utf-8") == "<!DOCTYPE html><p>x</p>"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_wrong_inputs_raise_errors_that_say_what_to_pass(text_result: RunResult) -> None:
    with pytest.raises(InvalidArgument, match=r"robustcheck\.load"):
        report.render_run(text_result.to_dict())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"robustcheck\.comparison"):
        report.render_comparison(text_result.to_dict())


def test_importing_the_report_module_loads_neither_jinja2_nor_numpy() -> None:
    code = ("import sys, robustcheck.report; "
            "print(sorted(m for m in ('jinja2', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_regression_metrics_replace_label_metrics_in_the_table() -> None:
    frame = pd.DataFrame({"a": np.linspace(0, 1, 30), "b": np.linspace(1, 2, 30)})
    result = robustcheck.run(lambda x: (x["a"] * 3 + x["b"]).to_numpy(), frame,
                             frame["a"] * 3 + frame["b"], perturbations=["noise.gaussian"],
                             seed=0, name="regressor")
    html = report.render_run(result)
    assert "Mean |change|" in html and "Error increase" in html
    assert "Flip rate" not in html and "Confidence drop" not in html
    assert_self_contained(html)

"""The crashes section of the run report: crashes grouped by exception and message
pattern, each group a closed ``<details>`` whose examples show the perturbed input that
crashed beside its clean original; counts that add up; hostile messages kept inert."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import robustcheck
from robustcheck import report
from robustcheck._report_examples import EXAMPLES_PER_GROUP, GROUPS_SHOWN, _crashes, _pattern
from robustcheck.metrics import Metric
from robustcheck.results import Row, RunResult

SUMMARY = re.compile(r'<summary>(<span class="tag">clean inputs</span> )?<b>([^<]*)</b> × (\d+)'
                     r' — <span class="mono">([^<]*)</span>')
REVIEWS = ["great product, works well", "I love it", "terrible, broke after a day",
           "waste of money", "very good, would buy again", "awful sound and uncomfortable",
           "really happy with this purchase", "hard to set up and confusing"] * 3
LABELS = [1, 1, 0, 0, 1, 0, 1, 0] * 3


# -- reading the section ----------------------------------------------------------------


def crash_section(html: str, prefix: str = "") -> str:
    start = html.index(f'id="{prefix}crashes"')
    return html[start:html.index("</section>", start)]


def text_of(markup: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", markup))


def groups(section: str) -> list[dict[str, Any]]:
    """Each group's summary (type, count, pattern, clean?) and its body's markup."""
    out = []
    for body in re.findall(r'<details id="[^"]*crash-\d+"[^>]*>(.*?)</details>', section, re.S):
        m = SUMMARY.search(body)
        assert m, body[:300]
        out.append({"clean": bool(m.group(1)), "type": unescape(m.group(2)),
                    "count": int(m.group(3)), "pattern": unescape(m.group(4)), "body": body})
    return out


def examples(body: str) -> list[str]:
    return re.findall(r'<div class="example">(.*?)\n</div>\n', body, re.S)


def sides(example: str) -> dict[str, str]:
    """``{"clean": markup, "crashed": markup, "error": markup, ...}`` of one example."""
    return dict(re.findall(r'<span class="side">([^<]*)</span><div class="text[^"]*">(.*?)</div>',
                           example, re.S))


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


# -- models that crash ------------------------------------------------------------------


def numbers_only(frame: pd.DataFrame) -> np.ndarray:
    """Like a model without a preprocessing step: any text in a cell crashes it."""
    values = frame.to_numpy(dtype=float)  # ValueError: could not convert string to float
    return (values[:, 0] > 15).astype(int)


def picky_reader(texts: list[str]) -> list[int]:
    """Crashes on a character outside ASCII (ValueError) and on shouting (TypeError)."""
    for text in texts:
        for i, ch in enumerate(text):
            if ord(ch) > 127:
                raise ValueError(f"unsupported character {ch!r} at position {i}")
        if text.isupper():
            raise TypeError(f"shouting is not supported: {text[:12]!r}")
    return [int("good" in t or "great" in t or "love" in t) for t in texts]


@pytest.fixture(scope="module")
def tabular() -> RunResult:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"radius": rng.uniform(5, 30, 24).round(2),
                          "area": rng.uniform(100, 2000, 24).round(1)})
    return robustcheck.run(numbers_only, frame, (frame["radius"] > 15).astype(int).to_numpy(),
                           perturbations=["format.percent", "format.currency"], seed=0,
                           name="strict parser")


@pytest.fixture(scope="module")
def text() -> RunResult:
    return robustcheck.run(picky_reader, REVIEWS, LABELS, seed=0, name="picky reader",
                           perturbations=["emoji.append", "case.upper", "typo.delete"])


# -- hand-built results -----------------------------------------------------------------


def hand_built(crashes: list[dict[str, Any]], n: int = 40) -> RunResult:
    """A result with these crash records; each row's crashed inputs are those recorded."""
    names = list(dict.fromkeys(c["perturbation"] for c in crashes if c["perturbation"]))
    rows = []
    for name in names:
        crashed = np.zeros(n, dtype=bool)
        crashed[[c["index"] for c in crashes if c["perturbation"] == name]] = True
        m = Metric(0.1, 0.05, 0.2, n)
        rows.append(Row(perturbation=name, severity=0.5, expectation="invariant",
                        metrics={"coverage": m, "crash_rate": m, "flip_rate": m,
                                 "failure_rate": m}, model_calls=n,
                        changed=np.ones(n, dtype=bool), crashed=crashed,
                        labels=np.zeros(n, dtype=np.int32)))
    clean = sum(c["perturbation"] is None for c in crashes)
    return RunResult(
        name="hand-built", seed=0, complete=True, model={"kind": "callable", "class": "x.f"},
        data={"fingerprint": "sha256:00", "n": n, "modality": "text", "labelled": True},
        task="classification", classes=[0, 1], severities=[0.5],
        perturbations={name: {"name": name, "expectation": "invariant"} for name in names},
        clean={"answered": n - clean, "crashes": clean}, rows=rows, examples={},
        crashes=crashes, environment={"robustcheck": "test"},
        timings={"started": "2026-01-01T00:00:00+00:00", "seconds": 1.0})


def crash(perturbation: str | None, index: int, kind: str, message: str,
          given: Any = "an input") -> dict[str, Any]:
    return {"perturbation": perturbation, "severity": None if perturbation is None else 0.5,
            "index": index, "type": kind, "message": message, "input": given}


# -- grouping ---------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("could not convert string to float: '122.8%'", "could not convert string to float: '7.1%'"),
    ("could not convert string to float: '$0.05'", 'could not convert string to float: "1,5"'),
    ("index 3 is out of bounds for axis 0 with size 2",
     "index 17 is out of bounds for axis 0 with size 50"),
    ("<Tokenizer object at 0x7f3a2b1c> failed", "<Tokenizer object at 0x55d0ff00> failed"),
    ("expected 3 features, got -12.5e-3", "expected 30 features, got 7"),
    ("Feature names unseen at fit time:\n- extra\n",
     "Feature names unseen at fit time:\n- extra\n- extra_2\n"),
    ("m" * 900, "m" * 20),
])
def test_messages_that_differ_only_in_numbers_quoted_values_or_addresses_share_a_pattern(
    a: str, b: str,
) -> None:
    assert _pattern(a) == _pattern(b)


@pytest.mark.parametrize(("a", "b"), [
    ("could not convert string to float: '1%'", "could not convert string to int: '1%'"),
    ("Feature names must be in the same order", "Feature names unseen at fit time:\n- extra"),
    ("dtype float64 is not supported", "dtype float32 is not supported"),
])
def test_messages_that_differ_in_words_keep_their_own_pattern(a: str, b: str) -> None:
    assert _pattern(a) != _pattern(b)


def test_crashes_group_by_type_and_pattern_across_perturbations_largest_first() -> None:
    result = hand_built([
        crash("format.percent", 0, "ValueError", "could not convert string to float: '122.8%'"),
        crash("format.percent", 1, "ValueError", "could not convert string to float: '7.1%'"),
        crash("format.currency", 2, "ValueError", "could not convert string to float: '$3'"),
        crash("format.currency", 3, "TypeError", "could not convert string to float: '$4'"),
        crash("schema.extra_column", 4, "ValueError", "unseen column 'extra'"),
    ])
    found = groups(crash_section(report.render_run(result)))
    assert [(g["type"], g["count"], g["pattern"]) for g in found] == [
        ("ValueError", 3, "could not convert string to float: '…'"),
        ("TypeError", 1, "could not convert string to float: '…'"),
        ("ValueError", 1, "unseen column '…'"),
    ]
    assert "(format.percent, format.currency)" in found[0]["body"]  # the larger share first


def test_crashes_on_clean_inputs_are_a_group_of_their_own_flagged_and_first() -> None:
    message = "could not convert string to float: 'n/a'"
    result = hand_built([crash("format.percent", i, "ValueError", message) for i in range(4)]
                        + [crash(None, 9, "ValueError", message, given="n/a")])
    found = groups(crash_section(report.render_run(result)))
    assert [(g["clean"], g["count"]) for g in found] == [(True, 1), (False, 4)]
    assert "clean input #9" in found[0]["body"]
    assert sides(examples(found[0]["body"])[0])["input"] == "n/a"


def test_beyond_the_shown_groups_the_rest_share_one_closed_line() -> None:
    words = [f"{a}{b}" for a in "abcdefgh" for b in "klmnopqr"][:GROUPS_SHOWN + 7]
    result = hand_built([crash(f"family.v{i % 3}", i, "KeyError", f"no reader called {w}")
                         for i, w in enumerate(words)], n=len(words))
    section = crash_section(report.render_run(result))
    assert len(groups(section)) == GROUPS_SHOWN
    start = section.index('id="crash-more"')
    rest = section[start:section.index("</details>", start)]
    assert "7 more groups, 7 recorded crashes" in rest
    assert rest.count("<tr>") == 1 + 7
    assert f'href="#crash-more">#{GROUPS_SHOWN + 1} KeyError' in section


# -- counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["tabular", "text"])
def test_the_group_counts_add_up_to_the_recorded_crashes_and_the_table_to_every_crash(
    fixture: str, request: pytest.FixtureRequest,
) -> None:
    result: RunResult = request.getfixturevalue(fixture)
    section = crash_section(report.render_run(result))
    found = groups(section)
    assert result.crashes and sum(g["count"] for g in found) == len(result.crashes)
    for g in found:  # each group's "where" table adds up to its count
        recorded = re.findall(r'<tr><td>[^<]*</td><td class="num">(\d+)</td>', g["body"])
        assert sum(int(k) for k in recorded) == g["count"]
    crashed = Counter[str]()
    for row in result.rows:
        crashed[row.perturbation] += int(row.crashed.sum())
    summary = section[section.index('id="crash-summary"'):]
    table = dict(re.findall(r'<tr><td>([^<]*)</td><td class="num">(\d+)</td>', summary))
    assert table == {name: str(k) for name, k in crashed.items() if k}
    assert f"The model crashed on {sum(crashed.values())} inputs" in section


def test_numbers_in_quoted_values_of_two_perturbations_make_one_group(tabular: RunResult) -> None:
    found = groups(crash_section(report.render_run(tabular)))
    assert [(g["type"], g["pattern"]) for g in found] == [
        ("ValueError", "could not convert string to float: '…'")]
    assert {c["perturbation"] for c in tabular.crashes} == {"format.percent", "format.currency"}


def test_different_exception_types_make_different_groups(text: RunResult) -> None:
    found = groups(crash_section(report.render_run(text)))
    assert [(g["type"], g["pattern"]) for g in found] == [
        ("ValueError", "unsupported character '…' at position N"),
        ("TypeError", "shouting is not supported: '…'"),
    ]


# -- examples ---------------------------------------------------------------------------


def test_a_tabular_example_shows_the_perturbed_cell_that_crashed_beside_the_clean_one(
    tabular: RunResult,
) -> None:
    (group,) = groups(crash_section(report.render_run(tabular)))
    shown = examples(group["body"])
    assert len(shown) == EXAMPLES_PER_GROUP
    names = [re.search(r"(format\.\w+) · severity", e).group(1) for e in shown]  # type: ignore[union-attr]
    assert set(names) == {"format.percent", "format.currency"}  # one of each in turn
    for example in shown:
        cells = [[text_of(c) for c in re.findall(r'<td class="v">(.*?)</td>', tr)] for tr in
                 re.findall(r"<tr><td>[^<]*</td>(.*?)</tr>", example)]
        assert cells, example
        for before, after in cells:
            assert float(before) == pytest.approx(float(before))  # the clean number
            assert after.startswith('"') and after != before  # the text the model got
        value = re.search(r"could not convert string to float: '([^']*)'",
                          text_of(sides(example)["error"]))
        assert value and f'"{value.group(1)}"' in [after for _, after in cells]
    percent = next(e for e, n in zip(shown, names) if n == "format.percent")
    assert re.search(r"<mark>[^<]*%[^<]*</mark>", percent)


def test_a_text_example_shows_the_inserted_character_marked_and_the_clean_text(
    text: RunResult,
) -> None:
    emoji = groups(crash_section(report.render_run(text)))[0]
    for example in examples(emoji["body"]):
        pair = sides(example)
        clean, crashed = text_of(pair["clean"]), text_of(pair["crashed"])
        assert clean in REVIEWS and crashed.startswith(clean)
        marked = "".join(text_of(m) for m in re.findall(r"<mark>(.*?)</mark>", pair["crashed"]))
        assert any(ord(ch) > 127 for ch in marked)
        culprit = re.search(r"unsupported character '(.)'", text_of(pair["error"]))
        assert culprit and culprit.group(1) in marked


def test_a_loaded_result_shows_the_perturbed_inputs_it_keeps_and_says_when_it_has_none(
    text: RunResult, tmp_path: Path,
) -> None:
    text.to_json(tmp_path / "r.json")
    loaded = robustcheck.load(tmp_path / "r.json")
    assert loaded.source is None
    emoji = groups(crash_section(report.render_run(loaded)))[0]
    assert all("crashed" in sides(e) for e in examples(emoji["body"]))  # from its examples
    loaded.examples = {}
    emoji = groups(crash_section(report.render_run(loaded)))[0]
    shown = [sides(e) for e in examples(emoji["body"])]
    assert shown and all("crashed" not in s and text_of(s["clean"]) in REVIEWS for s in shown)
    assert "does not keep the perturbed inputs" in emoji["body"]


# -- layout and hostile data --------------------------------------------------------------


def test_every_group_is_a_closed_details_element_with_a_one_line_summary(
    tabular: RunResult, text: RunResult,
) -> None:
    for result in (tabular, text):
        section = crash_section(report.render_run(result))
        details = [a for tag, a in Tags(section).tags if tag == "details"]
        assert len(details) == len(groups(section)) + 1  # and the table by perturbation
        assert all("open" not in a for a in details)
        for summary in re.findall(r"<summary>(.*?)</summary>", section, re.S):
            assert "\n" not in summary


def test_the_group_ids_carry_the_audits_prefix_so_a_session_page_keeps_them_unique(
    text: RunResult,
) -> None:
    view = _crashes(text, "r2-")
    anchors = [g["anchor"] for g in view["patterns"]]
    assert anchors == [f"r2-crash-{i}" for i in range(1, len(anchors) + 1)]
    links = {link["anchor"] for row in view["groups"] for link in row["groups"]}
    assert links == set(anchors)


Rejected = type("Rejected\u202eError<i>", (ValueError,), {})  # a hostile exception name


def hostile_model(texts: list[str]) -> list[int]:
    for text in texts:
        if "!" in text:
            raise Rejected(f"<script>alert(1)</script> rejected {text!r} \u202egpj.exe")
    return [1 for _ in texts]


def test_hostile_messages_and_inputs_are_escaped_and_bidi_controls_made_visible() -> None:
    texts = ["<script>alert(1)</script> fine", "\u202egnp.exe review", "plain text"] * 4
    result = robustcheck.run(hostile_model, texts, [1] * len(texts), seed=0, name="hostile",
                             perturbations=["punctuation.add", "punctuation.repeat"])
    assert result.crashes
    section = crash_section(report.render_run(result))
    assert groups(section)
    assert "<script>" not in section and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "\u202e" not in section
    assert "[U+202E]gpj.exe" in section and "[U+202E]gnp.exe review" in section
    assert "<b>Rejected[U+202E]Error&lt;i&gt;</b>" in section
    assert {tag for tag, _ in Tags(section).tags} <= {
        "section", "h2", "p", "code", "details", "summary", "span", "b", "table", "thead",
        "tbody", "tr", "th", "td", "div", "mark", "del", "a"}

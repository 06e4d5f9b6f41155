"""Bidirectional text in the report: a control character in a label, a model name or an
input (U+202E RIGHT-TO-LEFT OVERRIDE shows "gpj.exe" as "exe.jpg") is written out as its
code point, and every data fragment that shares a line with the report's own words is
isolated (``dir="auto"``, ``<bdi>`` or ``unicode-bidi: isolate``), so right-to-left data
cannot reorder the sentence around it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import robustcheck
from robustcheck import report
from robustcheck._highlight import _segments, _window
from robustcheck._report_format import BIDI_CONTROLS, _clip, _inert, _plain
from robustcheck.results import RunResult

RLO, LRI, PDI, RLM = "\u202e", "\u2066", "\u2069", "\u200f"
CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
HEBREW = "שלום"  # right-to-left letters: not controls, shown as they are
CSS = (Path(report.__file__).parent / "templates" / "report.css").read_text("utf-8")


# -- the display helper ----------------------------------------------------------------


def test_every_bidirectional_control_is_written_out_as_its_code_point() -> None:
    for control in CONTROLS:
        shown = _inert(f"a{control}b")
        assert shown == f"a[U+{ord(control):04X}]b"
        assert not BIDI_CONTROLS.search(shown)


def test_other_text_is_left_as_it_is() -> None:
    for text in (HEBREW, "مرحبا", "zero\u200bwidth", "emoji \u200d joiner", "plain <b>"):
        assert _inert(text) == text


def test_labels_and_values_show_their_controls() -> None:
    assert _plain(f"pos{RLO}itive") == "pos[U+202E]itive"
    assert _plain({f"k{LRI}": [f"v{PDI}", 1]}) == "k[U+2066]: v[U+2069], 1"
    assert _plain(None) == "—" and _plain(True) == "yes"


def test_clipping_counts_the_text_and_never_cuts_a_code_point_in_half() -> None:
    text = "x" * 9 + RLO + "y" * 20
    assert _clip(text, 10) == "x" * 9 + "[U+202E]…"
    assert _clip(text, 9) == "x" * 9 + "…"
    assert _clip(f"ok{RLM}", 10) == "ok[U+200F]"


def test_an_inserted_control_is_a_marked_change_written_out() -> None:
    before, after = _segments("invoice.pdf", f"invoice{RLO}.pdf")
    assert "".join(s["text"] for s in before) == "invoice.pdf"
    inserted = [s for s in after if s["op"] == "ins"]
    assert inserted == [{"op": "ins", "text": "[U+202E]",
                         "hint": "U+202E RIGHT-TO-LEFT OVERRIDE"}]
    assert "".join(s["text"] for s in after) == "invoice[U+202E].pdf"


def test_a_control_in_unchanged_text_is_written_out_too() -> None:
    before, after = _segments(f"{RLO}gpj.exe is fine", f"{RLO}gpj.exe is fiine")
    for segments in (before, after):
        assert segments[0]["op"] == "equal"
        assert segments[0]["text"].startswith("[U+202E]gpj.exe is fi")
    assert not any(BIDI_CONTROLS.search(s["text"]) for s in _window(after, 0))


# -- the rendered report ---------------------------------------------------------------


def model(texts: list[str]) -> list[str]:
    return [f"pos{RLO}itive" if "good" in t else HEBREW for t in texts]


@pytest.fixture(scope="module")
def hostile() -> RunResult:
    texts = [f"good product {RLO}gpj.exe", f"bad product {HEBREW}", "good one", "bad one",
             f"good {LRI}again{PDI}", "bad again"] * 6
    return robustcheck.run(model, texts, model(texts), seed=0, name=f"model {RLO}evil",
                           perturbations=["typo.keyboard", "case.upper", "punctuation.add"])


class Fragments(HTMLParser):
    """Each text node of the body, with the open elements around it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.texts: list[tuple[str, list[tuple[str, dict[str, str]]]]] = []
        self.feed(html[html.index("<body"):])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("meta", "input", "br", "line", "circle", "rect", "polyline"):
            self.stack.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((data, list(self.stack)))


def isolated(stack: list[tuple[str, dict[str, str]]]) -> bool:
    """An element around the text isolates it: ``dir``, ``<bdi>``, or a class the style
    sheet isolates (templates that are not edited for this: macros, crashes)."""
    classes = [set(a.get("class", "").split()) for _, a in stack]
    return any("dir" in a or t == "bdi" for t, a in stack) or \
        any({"text", "snippet", "crash", "v"} & c for c in classes) or \
        (stack[-1][0] == "b" and any("outcome" in c for c in classes))


def test_the_style_sheet_isolates_the_classes_the_check_relies_on() -> None:
    rule = re.search(r"([^{}]*)\{\s*unicode-bidi:\s*isolate;\s*\}", CSS)
    assert rule is not None
    for selector in (".outcome b", ".crash", "td.v", ".snippet", ".text"):
        assert selector in rule.group(1)


def test_labels_and_inputs_show_their_controls_in_the_report(hostile: RunResult) -> None:
    html = report.render_run(hostile)
    assert "pos[U+202E]itive" in html and "[U+202E]gpj.exe" in html
    assert "[U+2066]again[U+2069]" in html
    body = html[html.index("<body"):]
    # Left raw: the run's own name (the view-model passes it as given), isolated.
    for text, stack in Fragments(body).texts:
        if BIDI_CONTROLS.search(text):
            assert text.strip() == f"model {RLO}evil" and "dir" in stack[-1][1], text


def test_every_data_fragment_is_isolated_from_the_words_around_it(
    hostile: RunResult,
) -> None:
    fragments = Fragments(report.render_run(hostile)).texts
    data = [(text, stack) for text, stack in fragments
            if HEBREW in text or "[U+" in text or RLO in text]
    assert len(data) > 10
    loose = [(text, [t for t, _ in stack[-3:]]) for text, stack in data
             if not isolated(stack)]
    assert loose == []


def test_a_session_isolates_its_labels_and_names(hostile: RunResult) -> None:
    label = f"tests/test_x.py::test[{RLO}gpj.exe]"
    html = report.render_session([(label, hostile)])
    fragments = Fragments(html).texts
    raw = [(text, stack) for text, stack in fragments if RLO in text]
    assert raw and all(isolated(stack) for _, stack in raw)

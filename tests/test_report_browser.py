"""The HTML report in a real browser: headless Chromium opens run, comparison and session
reports and must log no error, run no hostile data, draw the page, sort and filter; fit a
390 px phone and a 1280 px desktop, print every column, and pass axe-core's accessibility
rules in the light and the dark colour scheme.

Chromium is driven by its command-line modes only (``--dump-dom``, ``--screenshot``,
``--print-to-pdf``, ``--enable-logging=stderr``), so this needs no Python dependency. To
watch the page's behaviour, a probe copy of a report gets two small scripts: one at the
top of ``<head>`` that records uncaught errors and ``console.error``/``warn``, one before
``</body>`` (so after the report's own script) that clicks headers, types into the filter
and writes what it saw into ``data-`` attributes of ``<body>``, which ``--dump-dom``
prints. The report's content security policy would block the probes: the copy drops it.

axe-core is not a Python package: ``npm ci --prefix tests/axe`` (``.ci/run`` does it)
installs the version pinned in ``tests/axe/package-lock.json`` into
``tests/axe/node_modules``, where these tests read ``axe-core/axe.min.js``; the
environment variable ``ROBUSTCHECK_AXE`` may name another ``axe.min.js``. Without it the
tests run ``npm ci`` themselves, and skip only when there is no node/npm (or no Chromium).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import unicodedata
import zlib
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import robustcheck
from robustcheck import report
from robustcheck.comparison import Comparison
from robustcheck.errors import RobustnessError
from robustcheck.results import RunResult

BROWSER = (shutil.which("chromium") or shutil.which("chromium-headless-shell")
           or shutil.which("google-chrome"))
pytestmark = [
    pytest.mark.skipif(BROWSER is None, reason="no Chromium or Chrome on PATH"),
    pytest.mark.slow,  # each test starts a real headless Chromium, some several times
]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run")
TIMEOUT = 60

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
HOSTILE = f"{SCRIPT} {IMG}"

GOOD = ["great product, works well", "I love it", "excellent quality and fast shipping",
        "really happy with this purchase", "the best headphones I have owned",
        "works perfectly, highly recommend", "amazing value for the money",
        "very good, would buy again", "fantastic sound and comfortable", "super easy to set up"]
BAD = ["terrible, broke after a day", "I hate it", "poor quality and slow shipping",
       "really unhappy with this purchase", "the worst headphones I have owned",
       "does not work, avoid", "waste of money", "very bad, would not buy again",
       "awful sound and uncomfortable", "hard to set up and confusing"]
TEXTS = [f"{t}{end}" for end in ("", " today", f" {SCRIPT}", f" {IMG}") for t in GOOD + BAD]
# One class is named by a payload, so it shows as a true label and as a prediction.
LABELS = (["positive"] * 10 + [IMG] * 10) * 4

EARLY_PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) { window.__problems.push("error: " + e.message); });
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () {
    window.__problems.push(level + ": " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
});
</script>"""

LATE_PROBE = """<script>
(function () {
  "use strict";
  var seen = {tables: {}};
  function rows(table) {
    return Array.prototype.slice.call(table.querySelectorAll("[data-row]"));
  }
  function visible(table) {
    return rows(table).filter(function (r) { return !r.hidden; }).map(function (r) {
      return r.getAttribute("data-key") || r.getAttribute("data-verdict");
    });
  }
  function column(table, th) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return [r.getAttribute("data-key"), r.cells[th.cellIndex].getAttribute("data-value")];
    });
  }
  function input(el, event) { el.dispatchEvent(new Event(event, {bubbles: true})); }
  Array.prototype.forEach.call(document.querySelectorAll(".tools[data-for]"), function (tools) {
    var table = document.getElementById(tools.getAttribute("data-for"));
    var box = tools.querySelector("input[type=search]");
    var only = tools.querySelector("input[type=checkbox]");
    var rect = table.getBoundingClientRect();
    var out = {toolsHidden: tools.hidden, rows: rows(table).length,
               width: rect.width, height: rect.height, sorts: {}};
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort=numeric]"), function (th) {
      var name = th.textContent.trim();
      var clicks = [column(table, th)];
      var states = [];
      for (var i = 0; i < 2; i += 1) {
        th.querySelector("button").click();
        clicks.push(column(table, th));
        states.push(th.getAttribute("aria-sort"));
      }
      out.sorts[name] = {orders: clicks, states: states};
    });
    box.value = "typo";
    input(box, "input");
    out.typo = visible(table);
    out.shownText = tools.querySelector(".shown").textContent;
    box.value = "regression";
    input(box, "input");
    out.regression = visible(table);
    box.value = "";
    input(box, "input");
    out.cleared = visible(table);
    if (only) {
      only.checked = true;
      input(only, "change");
      out.failing = visible(table);
      only.checked = false;
      input(only, "change");
    }
    seen.tables[table.id] = out;
  });
  window.addEventListener("load", function () {
    document.body.setAttribute("data-pwned", String(window.__pwned));
    document.body.setAttribute("data-problems", JSON.stringify(window.__problems));
    document.body.setAttribute("data-probe", JSON.stringify(seen));
  });
})();
</script>"""


# -- driving Chromium ------------------------------------------------------------------


def chromium(tmp: Path, page: Path, *mode: str, timeout: int = TIMEOUT
             ) -> tuple[str, list[str]]:
    """Run headless Chromium once on ``page``: its stdout and its console lines."""
    assert BROWSER is not None
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    command = [BROWSER, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
               "--v=0", *mode, page.resolve().as_uri()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"Chromium did not finish {page.name} in {timeout} s")
    finally:  # helpers Chromium started in its session (we made one for it) go too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err.decode("utf-8", "replace")[-2000:]
    # Chromium's own noise (dbus, GPU, sandbox) is not the page's: keep console lines only.
    console = [line for line in err.decode("utf-8", "replace").splitlines()
               if ":CONSOLE" in line]
    return out.decode("utf-8", "replace"), console


def console_problems(console: list[str]) -> list[str]:
    """This Chromium logs every console message at INFO, so read the message as well."""
    pattern = re.compile(r"uncaught|error|violates|refused|blocked|failed", re.IGNORECASE)
    return [line for line in console if ":ERROR:CONSOLE" in line or pattern.search(line)]


def dump_dom(tmp: Path, page: Path) -> tuple[str, list[str]]:
    return chromium(tmp, page, "--dump-dom")


def probe_copy(html: str, path: Path) -> Path:
    """A copy of a report with the probes in. The page's content security policy lets
    only the report's own script run (by hash), so it would block the probes: this copy
    drops the policy, which leaves escaping as the only guard against hostile data."""
    html, dropped = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert dropped == 1
    html = html.replace("</head>", EARLY_PROBE + "\n</head>", 1)
    end = html.rindex("</body>")
    path.write_text(html[:end] + LATE_PROBE + "\n" + html[end:], "utf-8")
    return path


class Dom(HTMLParser):
    """A dumped DOM: start tags with attributes, visible text, the rows of each table."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.rows: dict[str, list[dict[str, str]]] = {}
        self._tables: list[str] = []
        self._in: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "table":
            self._tables.append(attributes.get("id", ""))
        elif tag == "tr" and "data-row" in attributes and self._tables:
            self.rows.setdefault(self._tables[-1], []).append(attributes)
        elif tag in ("script", "style"):
            self._in = tag
            if tag == "script":
                self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag in ("script", "style"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in is None:
            self.text.append(data)

    def body(self) -> dict[str, str]:
        return next(a for t, a in self.tags if t == "body")

    def probe(self) -> dict[str, Any]:
        body = self.body()
        return {"pwned": body.get("data-pwned"),
                "problems": json.loads(body.get("data-problems") or "null"),
                **json.loads(body.get("data-probe") or "{}")}


def assert_inert(dom: Dom, scripts: int) -> None:
    """No element came out of the data: no image, no handler, no script but the page's
    own (and the probes'), and the payloads read as text."""
    assert "<img" not in dom.html and not any(t == "img" for t, _ in dom.tags)
    assert [(t, k) for t, a in dom.tags for k in a if k.startswith("on")] == []
    assert len(dom.scripts) == scripts
    assert not any("__pwned=1" in s for s in dom.scripts)
    text = " ".join(dom.text)
    assert SCRIPT in text and IMG in text


def assert_healthy(dom: Dom, console: list[str], *tables: str) -> None:
    """No console error, and the report's script ran under its policy: it shows the
    filter tools (hidden without JavaScript) and fills in the count of shown rows."""
    assert console_problems(console) == []
    for table in tables:
        tools = next(a for t, a in dom.tags if t == "div" and a.get("data-for") == table)
        assert "hidden" not in tools, f"the script did not run for #{table}"
    counts = re.findall(r'<span class="shown[^"]*"[^>]*>([^<]*)</span>', dom.html)
    assert len(counts) == len(tables)
    assert all(re.fullmatch(r"\d+ of \d+ shown", c) for c in counts), counts


# -- fixtures ------------------------------------------------------------------------


def audit(model: Any, name: str) -> RunResult:
    result = robustcheck.run(model, TEXTS, LABELS, perturbations="text", seed=0, name=name)
    with contextlib.suppress(RobustnessError):
        result.check(max_flip_rate=0.2)
    return result


@pytest.fixture(scope="module")
def words() -> RunResult:
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)
    return audit(model, f"sentiment {HOSTILE}")


@pytest.fixture(scope="module")
def chars() -> RunResult:
    model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)),
                          LogisticRegression()).fit(TEXTS, LABELS)
    return audit(model, "sentiment chars")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def run_page(words: RunResult, folder: Path) -> Path:
    """The run report with its Production impact section, profiled on hostile traffic."""
    traffic = robustcheck.profile([f"{t.upper()} {SCRIPT} 😍" for t in TEXTS[:20]] + TEXTS,
                                  reference=TEXTS, name=f"prod {IMG}")
    return report.write(report.render_run(words, impact=words.impact(traffic)),
                        folder / "run.html")


@pytest.fixture(scope="module")
def trend_page(words: RunResult, chars: RunResult, folder: Path) -> Path:
    """A run history's trend page: two versions, one with a hostile label."""
    from robustcheck.history import History

    history = History(folder / "history.sqlite")
    history.add(chars, model=words.name, version="1.0")
    history.add(words, version=f"1.1 {SCRIPT}")
    return history.trend_html(folder / "trend.html")


@pytest.fixture(scope="module")
def compared(words: RunResult, chars: RunResult) -> Comparison:
    # B = the word model, which the character model beats on a few rows: regressions.
    return robustcheck.compare(chars, words)


@pytest.fixture(scope="module")
def comparison_page(compared: Comparison, folder: Path) -> Path:
    data = json.loads(compared.to_json())
    return report.write(report.render_comparison(data), folder / "comparison.html")


@pytest.fixture(scope="module")
def session_page(words: RunResult, chars: RunResult, compared: Comparison, folder: Path
                 ) -> Path:
    """Two audits and, against a baseline, the comparison's regressions."""
    label = f"tests/test_model.py::test[{SCRIPT}]"
    html = report.render_session([("tests/test_model.py::test_words", words), (label, chars)],
                                 regressions=[(label, compared)])
    return report.write(html, folder / "session.html")


@pytest.fixture(scope="module")
def probed_run(run_page: Path, folder: Path) -> tuple[Dom, list[str]]:
    """The run report's probe copy, opened once for the tests that read it."""
    page = probe_copy(run_page.read_text("utf-8"), folder / "run-probe.html")
    html, console = dump_dom(folder, page)
    return Dom(html), console


# -- hostile data ----------------------------------------------------------------------


def test_a_run_report_opens_cleanly_and_hostile_data_stays_text(
    words: RunResult, run_page: Path, probed_run: tuple[Dom, list[str]], folder: Path,
) -> None:
    assert any(SCRIPT in t for t in TEXTS) and IMG in words.classes and SCRIPT in words.name
    # As shipped, with the content security policy in force.
    html, console = dump_dom(folder, run_page)
    dom = Dom(html)
    assert_healthy(dom, console, "results")
    assert_inert(dom, scripts=1)
    # The probe copy has no policy: escaping alone keeps the payloads from running.
    probed, console = probed_run
    assert console_problems(console) == []
    seen = probed.probe()
    assert seen["pwned"] == "undefined" and seen["problems"] == []
    assert_inert(probed, scripts=3)


def test_the_probe_would_see_a_payload_that_ran(run_page: Path, folder: Path) -> None:
    """The check above can fail: the same copy with one payload left unescaped is caught."""
    html = run_page.read_text("utf-8").replace("<main>", f"<main>{IMG}", 1)
    dom = Dom(dump_dom(folder, probe_copy(html, folder / "unescaped.html"))[0])
    assert dom.probe()["pwned"] == "1"


def test_a_comparison_report_opens_cleanly_and_hostile_data_stays_text(
    compared: Comparison, comparison_page: Path, folder: Path,
) -> None:
    page = comparison_page
    verdicts = sorted(r["verdict"] for r in compared.rows)
    assert 0 < verdicts.count("regression") < len(verdicts)
    html, console = dump_dom(folder, page)
    dom = Dom(html)
    assert_healthy(dom, console, "comparison")
    assert_inert(dom, scripts=1)

    probed = Dom(dump_dom(folder, probe_copy(page.read_text("utf-8"),
                                             folder / "comparison-probe.html"))[0])
    seen = probed.probe()
    assert seen["pwned"] == "undefined" and seen["problems"] == []
    assert_inert(probed, scripts=3)
    table = seen["tables"]["comparison"]
    assert table["rows"] == len(verdicts) and sorted(table["cleared"]) == verdicts
    assert table["regression"] == [v for v in verdicts if v == "regression"]


# -- drawing, sorting, filtering -------------------------------------------------------


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB(A) PNG without an imaging library: (height, width, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[str, list[bytes]] = {}
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8].decode("ascii")
        chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks["IHDR"][0])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks["IDAT"]))
    stride = width * bpp
    image = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, row = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        line = np.frombuffer(row, dtype=np.uint8)
        if kind == 0:
            out = line.copy()
        elif kind == 1:  # Sub: a running sum per channel, modulo 256
            out = np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up
            out = line + previous
        else:  # Average, Paeth: each byte needs the one decoded before it
            out, up = bytearray(row), previous.tolist()
            for i in range(stride):
                a = out[i - bpp] if i >= bpp else 0
                b, c = up[i], up[i - bpp] if i >= bpp else 0
                if kind == 3:
                    out[i] = (out[i] + (a + b) // 2) & 0xFF
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    best = a if pa <= pb and pa <= pc else b if pb <= pc else c
                    out[i] = (out[i] + best) & 0xFF
            out = np.frombuffer(bytes(out), dtype=np.uint8)
        image[y] = out
        previous = image[y]
    return image.reshape(height, width, bpp)


def test_the_page_draws_and_the_table_has_a_row_per_perturbation_and_severity(
    words: RunResult, run_page: Path, probed_run: tuple[Dom, list[str]], folder: Path,
) -> None:
    shot = folder / "run.png"
    _, console = chromium(folder, run_page, f"--screenshot={shot}", "--window-size=1280,900")
    assert console_problems(console) == []
    pixels = png_pixels(shot)
    assert pixels.shape[:2] == (900, 1280)
    rgb = pixels[..., :3]
    inked = np.asarray((rgb < 235).any(axis=2))
    assert inked.mean() > 0.03, "the screenshot is (nearly) blank"
    assert inked[:300].mean() > 0.01 and inked[300:].mean() > 0.01  # top and below it
    colours = np.unique(rgb.reshape(-1, 3).astype(np.uint32) @ [65536, 256, 1])
    assert len(colours) > 50

    dom, _ = probed_run
    rows = dom.rows["results"]
    expected = {f"{p}@{s:g}" for p in words.perturbations for s in words.severities}
    assert len(rows) == len(words.rows) == len(expected)
    assert {r["data-key"] for r in rows} == expected == {r.key for r in words.rows}
    table = dom.probe()["tables"]["results"]
    assert table["toolsHidden"] is False
    assert table["height"] > 10 * len(rows) and table["width"] > 600


def numbers(order: list[list[str]]) -> tuple[list[float], list[str]]:
    """The numeric data-values in row order, and the keys of the rows without one."""
    values = [float(v) for _, v in order if v]
    blanks = [k for k, v in order if not v]
    tail = [k for k, _ in order[len(order) - len(blanks):]]
    assert tail == blanks, "rows without a value come last"
    return values, blanks


def test_clicking_a_numeric_header_sorts_descending_then_ascending(
    words: RunResult, probed_run: tuple[Dom, list[str]],
) -> None:
    sorts = probed_run[0].probe()["tables"]["results"]["sorts"]
    assert {"Severity", "Coverage", "Failure rate", "Flip rate"} <= set(sorts)
    failure = {r.key: r.value("failure_rate") for r in words.rows}
    for header, sort in sorts.items():
        before, first, second = sort["orders"]
        assert sort["states"] == ["descending", "ascending"], header
        assert sorted(before) == sorted(first) == sorted(second)
        down, _ = numbers(first)
        up, _ = numbers(second)
        assert down == sorted(down, reverse=True), header
        assert up == sorted(up), header
    before, first, _ = sorts["Failure rate"]["orders"]
    assert [k for k, _ in first] != [k for k, _ in before], "the click must move rows"
    for key, value in first:
        assert (failure[key] is None and value == "") or \
            float(value) == pytest.approx(failure[key], rel=1e-5)


def test_the_filter_and_the_failing_box_hide_the_rows_that_do_not_match(
    words: RunResult, probed_run: tuple[Dom, list[str]],
) -> None:
    table = probed_run[0].probe()["tables"]["results"]
    everything = {r.key for r in words.rows}
    typo = {r.key for r in words.rows if "typo" in r.perturbation}
    assert 0 < len(typo) < len(everything)
    assert set(table["typo"]) == typo
    assert table["shownText"] == f"{len(typo)} of {len(everything)} shown"
    assert set(table["cleared"]) == everything
    # checked: the box keeps the rows that fail their check (issue 13: it kept passing ones)
    failing = ({r.key for r in words.rows if r.passed is False} if words.thresholds else
               {r.key for r in words.rows if (r.value("failure_rate") or 0) > 0})
    assert 0 < len(failing) < len(everything)
    assert set(table["failing"]) == failing


def test_a_session_report_opens_without_console_errors(
    words: RunResult, session_page: Path, folder: Path,
) -> None:
    page = session_page
    html = page.read_text("utf-8")
    dumped, console = dump_dom(folder, page)
    dom = Dom(dumped)
    assert_healthy(dom, console, "r1-results", "r2-results")
    assert_inert(dom, scripts=1)
    for table in ("r1-results", "r2-results"):
        assert len(dom.rows[table]) == len(words.rows)
    probed = Dom(dump_dom(folder, probe_copy(html, folder / "session-probe.html"))[0])
    seen = probed.probe()
    assert seen["pwned"] == "undefined" and seen["problems"] == []
    assert set(seen["tables"]) == {"r1-results", "r2-results"}
    assert all(t["toolsHidden"] is False for t in seen["tables"].values())


def test_a_trend_page_opens_cleanly_and_hostile_labels_stay_text(
    trend_page: Path, folder: Path,
) -> None:
    dumped, console = dump_dom(folder, trend_page)
    assert console_problems(console) == []
    dom = Dom(dumped)
    assert_inert(dom, scripts=1)
    probed = Dom(dump_dom(folder, probe_copy(trend_page.read_text("utf-8"),
                                             folder / "trend-probe.html"))[0])
    seen = probed.probe()
    assert seen["pwned"] == "undefined" and seen["problems"] == []


def test_the_run_report_shows_the_production_impact(probed_run: tuple[Dom, list[str]]
                                                    ) -> None:
    dom, _ = probed_run
    assert "Production impact" in dom.html


def test_a_trend_page_fits_a_phone_and_axe_finds_nothing_serious(
    trend_page: Path, folder: Path, axe_source: str,
) -> None:
    seen = layout(folder, trend_page, axe_source, ("phone", *PHONE, "all"),
                  ("desktop", *DESKTOP, ""))
    for name in ("phone", "desktop"):
        for state in (seen[name]["first"], seen[name]["open"]):
            assert state["scrollWidth"] <= state["width"], f"trend ({name}) scrolls sideways"
    assert serious(seen["phone"]) == []
    dark = layout(folder, trend_page, axe_source, ("phone", *PHONE, "colour"), dark=True)
    assert serious(dark["phone"]) == []


# -- a phone, a desktop, a printer, a screen reader ----------------------------------------
#
# Headless Chromium's --dump-dom keeps its window at least 500 px wide, so the layout is
# measured in frames of an exact size: a harness page holds the probe copy of a report in
# an <iframe> per viewport; the probe in each frame measures, runs axe-core and posts
# what it found to the harness, which writes it into data- attributes of its <body>.
# --virtual-time-budget makes Chromium wait for that (axe runs asynchronously).

PHONE, DESKTOP = (390, 844), (1280, 900)
PRINTED = 718  # CSS px across an A4 page inside 10 mm margins: the print layout's width
AXE_TIMEOUT = 240
# axe-core: `npm ci --prefix tests/axe` (run by .ci/run) installs the version pinned in
# tests/axe/package-lock.json here; ROBUSTCHECK_AXE may name another axe.min.js.
AXE_HOME = Path(__file__).resolve().parent / "axe"
AXE = Path(os.environ.get("ROBUSTCHECK_AXE")
           or AXE_HOME / "node_modules" / "axe-core" / "axe.min.js")
# The rules a colour scheme can change: the dark pass runs these, the light pass all.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]

LAYOUT_PROBE = """<script>
(function () {
  "use strict";
  var mode = (location.hash.match(/axe=([a-z]+)/) || [])[1] || "";
  var colourRules = COLOUR_RULES;
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function edges(el) {
    var r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width};
  }
  function smallestText() {
    // Chart text as drawn: its font size times the drawing's scale (viewBox to screen).
    var sizes = all("svg.chart text").map(function (t) {
      var m = t.getScreenCTM();
      return parseFloat(getComputedStyle(t).fontSize) * (m ? Math.sqrt(m.a * m.a + m.b * m.b) : 1);
    });
    all(".bars .what, .bars .value, .bars .ticks span, ul.legend li").forEach(function (e) {
      sizes.push(parseFloat(getComputedStyle(e).fontSize));
    });
    return sizes.length ? Math.min.apply(null, sizes) : null;
  }
  function headers(table) {
    return Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      return {text: th.textContent.trim(), right: edges(th).right, width: edges(th).width};
    });
  }
  function firstRow(selector) {  // the cells of a table's first data row, as drawn
    var row = document.querySelector(selector);
    return row ? Array.prototype.map.call(row.cells, function (td) {
      var box = edges(td);
      return {text: td.textContent.trim().slice(0, 40), right: box.right, width: box.width,
              shown: getComputedStyle(td).display !== "none" && box.width > 0};
    }) : null;
  }
  function anchors() {  // what the header's links jump to lands below the sticky header
    var header = document.querySelector("header.top");
    var out = [];
    all("header.top nav a[href^='#']").forEach(function (a) {
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (!target) { return; }
      target.scrollIntoView({block: "start"});
      out.push({id: target.id, top: edges(target).top, header: edges(header).bottom});
    });
    window.scrollTo(0, 0);
    return out;
  }
  function measure() {
    // the verdict's heading; a comparison without a verdict banner: its verdicts card
    var verdict = document.getElementById("verdict-title") ||
      document.getElementById("session-verdict-title") || document.getElementById("verdict") ||
      document.getElementById("verdicts");
    var summary = document.querySelector("table.summary");
    var big = document.querySelector("table[data-sortable]");
    var cell = big && big.tBodies[0].rows[0] && big.tBodies[0].rows[0].cells[0];
    return {
      width: innerWidth, height: innerHeight,
      dark: matchMedia("(prefers-color-scheme: dark)").matches,
      scrollWidth: document.documentElement.scrollWidth,
      verdict: verdict ? edges(verdict) : null, font: smallestText(),
      summary: summary ? headers(summary) : null,
      pinned: cell ? getComputedStyle(cell).position : null,
      bigHeight: big ? big.getBoundingClientRect().height : null,
      comparison: firstRow("#comparison tbody[data-row] tr"),
      regressions: firstRow("table.regressions tbody tr"),
      wraps: all(".tablewrap").filter(function (w) { return w.offsetParent; }).map(function (w) {
        return {scroll: w.scrollWidth, client: w.clientWidth, focusable: w.tabIndex >= 0};
      })
    };
  }
  function prune() {
    // axe-core's time grows with the page. Rows of a table past the twelfth repeat the
    // markup of those before, so they go, but for the first row of each kind (its class
    // and its status); so does a session's second audit (the same template as the first).
    all("table").forEach(function (table) {
      var seen = {}, count = 0;
      Array.prototype.slice.call(table.tBodies).forEach(function (body) {
        var units = body.hasAttribute("data-row") ? [body] : Array.prototype.slice.call(body.rows);
        units.forEach(function (unit) {
          var status = unit.querySelector(".status");
          var kind = unit.className + "|" + (status ? status.className : "");
          count += 1;
          if (count > 12 && seen[kind]) { unit.remove(); }
          seen[kind] = true;
        });
      });
    });
    all("section.run ~ section.run").forEach(function (section) { section.remove(); });
  }
  window.addEventListener("load", function () {
    var out = {frame: window.name, first: measure(), anchors: anchors()};
    all("details").forEach(function (d) { d.open = true; });
    setTimeout(function () { opened(out); }, 50);  // after the page's "toggle" handlers
  });
  function opened(out) {
    out.open = measure();
    var send = function () { parent.postMessage(JSON.stringify(out), "*"); };
    if (!mode) { send(); return; }
    var options = {resultTypes: ["violations"]};
    if (mode === "colour") { options.runOnly = colourRules; }
    prune();
    window.axe.run(document, options).then(function (result) {
      out.axe = result.violations.map(function (v) {
        return {id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
                nodes: v.nodes.slice(0, 3).map(function (n) {
                  return n.target.join(" ") + ": " + (n.failureSummary || "").slice(0, 200);
                })};
      });
      send();
    }, function (error) {
      out.axe = [{id: "axe failed", impact: "critical", help: String(error), count: 1, nodes: []}];
      send();
    });
  }
})();
</script>""".replace("COLOUR_RULES", json.dumps(COLOUR_RULES))

HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
FRAMES
<script>
window.addEventListener("message", function (e) {
  document.body.setAttribute("data-" + JSON.parse(e.data).frame, e.data);
});
</script></body></html>"""


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core's script; installed from tests/axe with npm when it is not there yet."""
    if os.environ.get("ROBUSTCHECK_AXE") and not AXE.is_file():
        pytest.fail(f"ROBUSTCHECK_AXE names {AXE}, which is not a file")
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.skip(f"axe-core is not at {AXE} and there is no node/npm to install it "
                        "(`npm ci --prefix tests/axe`)")
        # Into a scratch folder, then moved in one rename: two workers may race here.
        scratch = tmp_path_factory.mktemp("axe")
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(AXE_HOME / name, scratch / name)
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                              cwd=scratch, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"npm ci in tests/axe failed:\n{done.stderr[-2000:]}"
        with contextlib.suppress(OSError):  # the other worker's copy is as good
            os.replace(scratch / "node_modules", AXE_HOME / "node_modules")
    return AXE.read_text("utf-8")


def print_styles(html: str) -> str:
    """The page as printed: its print rules apply on screen (screen rules stay too)."""
    html, found = re.subn(r"@media print\s*\{", "@media all {", html)
    assert found == 1
    return html


def layout(folder: Path, page: Path, axe: str, *frames: tuple[str, int, int, str],
           dark: bool = False, printed: bool = False) -> dict[str, dict[str, Any]]:
    """Open ``page`` in a frame per (name, width, height, axe mode) and return what the
    probe measured in each. A mode "" runs no axe, "all" every rule, "colour" the colour
    rules."""
    html = page.read_text("utf-8")
    if printed:
        html = print_styles(html)
    html, dropped = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert dropped == 1
    end = html.rindex("</body>")
    stem = f"{page.stem}-{'dark' if dark else 'light'}{'-print' if printed else ''}"
    probe = folder / f"{stem}-layout.html"
    # A closing tag inside axe's source would end the script element early.
    script = axe.replace("</script", "<\\/script") if any(m for *_, m in frames) else ""
    probe.write_text(html[:end] + f"<script>{script}</script>" + LAYOUT_PROBE + html[end:],
                     "utf-8")
    iframes = "\n".join(
        f'<iframe name="{name}" src="{probe.name}#axe={mode}" width="{w}" height="{h}" '
        'style="border:0;display:block"></iframe>' for name, w, h, mode in frames)
    harness = folder / f"{stem}-harness.html"
    harness.write_text(HARNESS.replace("FRAMES", iframes), "utf-8")
    width = max(w for _, w, _, _ in frames) + 40
    mode = ["--dump-dom", "--virtual-time-budget=600000", "--hide-scrollbars",
            f"--window-size={width},1000", *(["--force-dark-mode"] if dark else [])]
    dumped, _ = chromium(folder, harness, *mode, timeout=AXE_TIMEOUT)
    body = Dom(dumped).body()
    found = {name: json.loads(body[f"data-{name}"]) for name, *_ in frames
             if f"data-{name}" in body}
    assert set(found) == {name for name, *_ in frames}, f"a frame did not report: {found}"
    return found


def serious(found: dict[str, Any]) -> list[str]:
    return [f"{v['impact']} {v['id']} ({v['count']}): {v['help']}; " + " | ".join(v["nodes"])
            for v in found.get("axe", []) if v["impact"] in ("serious", "critical")]


def assert_fits(seen: dict[str, Any], kind: str) -> None:
    """Nothing wider than the viewport, the verdict in the first screen, charts readable."""
    first, opened = seen["first"], seen["open"]
    width = first["width"]
    for state in (first, opened):  # every <details> closed, then every one open
        assert state["scrollWidth"] <= width, f"{kind} scrolls sideways at {width} px"
        for wrap in state["wraps"]:  # a frame that scrolls can be scrolled by keyboard
            assert wrap["scroll"] <= wrap["client"] + 1 or wrap["focusable"], wrap
    verdict = first["verdict"]
    assert verdict is not None and verdict["top"] >= 0 and verdict["bottom"] <= first["height"]
    if first["font"] is not None:
        assert first["font"] >= 11, f"chart text drawn at {first['font']:.1f} px"
    if first["summary"]:  # one row per perturbation: every column on screen
        assert all(h["width"] > 0 and h["right"] <= width for h in first["summary"]), \
            first["summary"]
    if first["pinned"] is not None:
        assert first["pinned"] == "sticky"
    for row in (opened["comparison"], opened["regressions"]):
        # A comparison's A, B, delta, p and verdict are all on screen (a row may stack).
        shown = [c for c in row or [] if c["shown"]]
        assert all(c["right"] <= width for c in shown), row
    for jump in seen["anchors"]:
        assert jump["top"] >= jump["header"] - 1, f"the header covers #{jump['id']}"


PAGES = ["run", "comparison", "session"]


@pytest.fixture(scope="module")
def pages(run_page: Path, comparison_page: Path, session_page: Path) -> dict[str, Path]:
    return {"run": run_page, "comparison": comparison_page, "session": session_page}


@pytest.mark.parametrize("kind", PAGES)
def test_a_phone_and_a_desktop_show_every_column_without_scrolling_sideways(
    kind: str, pages: dict[str, Path], folder: Path, axe_source: str,
) -> None:
    """At 390 and 1280 px: no sideways scroll, the verdict in the first screen, every
    column of the summary on screen, chart text of 11 px or more; and axe-core finds no
    serious or critical problem (every rule, every <details> open)."""
    seen = layout(folder, pages[kind], axe_source, ("phone", *PHONE, "all"),
                  ("desktop", *DESKTOP, ""))
    for name in ("phone", "desktop"):
        assert_fits(seen[name], f"{kind} ({name})")
    assert serious(seen["phone"]) == []
    if kind == "comparison":  # A, B, delta, p and the verdict of a row, all shown
        row = seen["phone"]["open"]["comparison"]
        assert row is not None and all(c["shown"] for c in row[4:8] + row[-1:]), row
    if kind == "session":
        row = seen["phone"]["open"]["regressions"]
        assert row is not None and all(c["shown"] for c in row[3:]), row


@pytest.mark.parametrize("kind", PAGES)
def test_the_dark_scheme_keeps_text_and_links_legible(
    kind: str, pages: dict[str, Path], folder: Path, axe_source: str,
) -> None:
    """--force-dark-mode switches prefers-color-scheme: the colour rules of axe-core."""
    seen = layout(folder, pages[kind], axe_source, ("phone", *PHONE, "colour"), dark=True)
    assert seen["phone"]["first"]["dark"] is True
    assert serious(seen["phone"]) == []


@pytest.mark.parametrize("kind", PAGES)
def test_screenshots_at_desktop_and_phone_width_draw_the_page(
    kind: str, pages: dict[str, Path], folder: Path,
) -> None:
    """The acceptance screenshots (ROBUSTCHECK_SCREENSHOTS=DIR keeps a copy of each)."""
    keep = os.environ.get("ROBUSTCHECK_SCREENSHOTS")
    for width, height in (DESKTOP, PHONE):
        shot = folder / f"{kind}-{width}.png"
        _, console = chromium(folder, pages[kind], f"--screenshot={shot}", "--hide-scrollbars",
                              f"--window-size={width},{height}")
        assert console_problems(console) == []
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, Path(keep) / shot.name)
        rgb = png_pixels(shot)[..., :3]
        assert rgb.shape[:2] == (height, width)
        inked = np.asarray((rgb < 235).any(axis=2))
        assert inked.mean() > 0.03, f"the {kind} screenshot at {width} px is (nearly) blank"
        # drawn across the width, not squeezed into one side (the page scales to the screen)
        columns = inked.mean(axis=0)
        assert columns[: width // 3].mean() > 0.01 and columns[width // 3:].mean() > 0.01


# -- print ----------------------------------------------------------------------------------


def pdf_text(data: bytes) -> list[str]:
    """The text of each page of a PDF Chromium printed, without a PDF library: its page
    objects, their fonts' ToUnicode maps, and the glyph strings of their content streams
    (Skia writes no object streams, and text as hex glyph ids shown with Tj or TJ)."""
    heads = list(re.finditer(rb"(?m)^(\d+) 0 obj\b", data))
    objects = {int(m.group(1)): data[m.end():end.start() if end else len(data)]
               for m, end in zip(heads, [*heads[1:], None])}

    def stream(number: int) -> bytes:
        body = objects[number]  # a dictionary, then /Length bytes of (compressed) data
        start = re.search(rb"stream\r?\n", body)
        length = re.search(rb"/Length (\d+)\b(?! 0 R)", body)
        assert start is not None and length is not None
        raw = body[start.end():start.end() + int(length.group(1))]
        return zlib.decompress(raw) if b"FlateDecode" in body[:start.start()] else raw

    def unicode_map(number: int) -> dict[int, str]:
        text, out = stream(number), {}
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for code, value in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                out[int(code, 16)] = bytes.fromhex(value.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for low, high, value in re.findall(
                    rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                for i, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    out[code] = chr(int(value, 16) + i)
        return out

    pages = []
    for body in objects.values():
        if not re.match(rb"\s*<</Type /Page\b(?!s)", body):
            continue
        fonts: dict[bytes, dict[int, str]] = {}
        listed = re.search(rb"/Font\s*<<(.*?)>>", body, re.S)
        for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", listed.group(1) if listed else b""):
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)])
            fonts[name] = unicode_map(int(to_unicode.group(1))) if to_unicode else {}
        contents = re.search(rb"/Contents (\d+) 0 R", body)
        assert contents is not None
        font: dict[int, str] = {}
        words: list[str] = []
        shows = rb"/(\w+) [\d.]+ Tf|\[(.*?)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj|(ET)"
        for show in re.finditer(shows, stream(int(contents.group(1))), re.S):
            if show.group(1):
                font = fonts.get(show.group(1), {})
            elif show.group(4):  # the end of a text object: a line, a cell
                words.append("\n")
            else:
                strings = (re.findall(rb"<([0-9a-fA-F]*)>", show.group(2))
                           if show.group(2) is not None else [show.group(3)])
                for glyphs in strings:
                    words.append("".join(font.get(int(glyphs[i:i + 4], 16), "?")
                                         for i in range(0, len(glyphs), 4)))
        pages.append(unicodedata.normalize("NFKC", "".join(words)))  # ligatures: fi, fl
    return pages


def test_a_printed_report_keeps_every_column_and_prints_closed_sections_open(
    run_page: Path, folder: Path,
) -> None:
    # The print layout on screen, as wide as an A4 page: no table wider than the page.
    printed = layout(folder, run_page, "", ("printed", PRINTED, 1000, ""), printed=True)
    first = printed["printed"]["first"]
    assert first["scrollWidth"] <= PRINTED
    assert all(w["scroll"] <= w["client"] + 1 for w in first["wraps"]), first["wraps"]
    assert first["bigHeight"] > 100, "the closed full table is not printed"
    assert first["summary"] and all(h["right"] <= PRINTED for h in first["summary"])
    # The PDF itself: both tables' headers, in order, the last column's included.
    pdf = folder / "run.pdf"
    chromium(folder, run_page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    pages = [" ".join(page.split()) for page in pdf_text(pdf.read_bytes())]
    html = run_page.read_text("utf-8")
    for table in ("summary", "results"):
        headers = " ".join(table_headers(html, table))  # a header may wrap: words, in order
        assert headers.endswith(" Check")
        with_header = [i for i, page in enumerate(pages) if headers in page]
        assert with_header, f"the {table} table's headers {headers!r} are not in the PDF"
        if table == "results":  # long enough for two pages: its header repeats on each
            assert len(with_header) >= 2, with_header


def table_headers(html: str, table_id: str) -> list[str]:
    """The text of the header cells of the first row of a table, from the report."""
    start = html.index(f'id="{table_id}"')
    head = html[start:html.index("</tr>", start)]
    cells = re.findall(r"<th\b[^>]*>(.*?)</th>", head, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]

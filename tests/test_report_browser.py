"""The HTML report in a real browser: headless Chromium opens run, comparison and session
reports and must log no error, run no hostile data, draw the page, sort and filter.

Chromium is driven by its command-line modes only (``--dump-dom``, ``--screenshot``,
``--enable-logging=stderr``), so this needs no Python dependency. To watch the page's
behaviour, a probe copy of a report gets two small scripts: one at the top of ``<head>``
that records uncaught errors and ``console.error``/``warn``, one before ``</body>`` (so
after the report's own script) that clicks headers, types into the filter and writes
what it saw into ``data-`` attributes of ``<body>``, which ``--dump-dom`` prints.
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
import zlib
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
from robustcheck.errors import RobustnessError
from robustcheck.results import RunResult

BROWSER = (shutil.which("chromium") or shutil.which("chromium-headless-shell")
           or shutil.which("google-chrome"))
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium or Chrome on PATH")

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


def chromium(tmp: Path, page: Path, *mode: str) -> tuple[str, list[str]]:
    """Run headless Chromium once on ``page``: its stdout and its console lines."""
    assert BROWSER is not None
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    command = [BROWSER, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
               "--v=0", *mode, page.resolve().as_uri()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"Chromium did not finish {page.name} in {TIMEOUT} s")
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
    return report.write(report.render_run(words), folder / "run.html")


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
    words: RunResult, chars: RunResult, folder: Path,
) -> None:
    # B = the word model, which the character model beats on a few rows: regressions.
    data = json.loads(robustcheck.compare(chars, words).to_json())
    verdicts = sorted(r["verdict"] for r in data["rows"])
    assert 0 < verdicts.count("regression") < len(verdicts)
    page = report.write(report.render_comparison(data), folder / "comparison.html")
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
    failing = {r.key for r in words.rows if (r.value("failure_rate") or 0) > 0}
    assert 0 < len(failing) < len(everything)
    assert set(table["failing"]) == failing


def test_a_session_report_opens_without_console_errors(
    words: RunResult, chars: RunResult, folder: Path,
) -> None:
    html = report.render_session([("tests/test_model.py::test_words", words),
                                  (f"tests/test_model.py::test[{SCRIPT}]", chars)])
    page = report.write(html, folder / "session.html")
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

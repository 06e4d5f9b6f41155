"""Short summaries of runs, for where the HTML report does not fit: Markdown for a pull
request comment or a GitHub Actions step summary (``RunResult.to_markdown``, ``robustcheck
run --summary``, ``pytest --robustcheck-summary``) and compact HTML for a notebook cell
(``RunResult._repr_html_``).

A summary is the verdict line (PASS / FAIL / NOT CHECKED, with the INCOMPLETE and
INSUFFICIENT DATA qualifiers, the model, n, seed and score), the findings ranked by
level, and a table with one row per perturbation at its worst severity. The verdict and
the findings come from :mod:`robustcheck._findings`; this module only lays them out.

Everything that comes from the data (model names, node ids, crash and stop messages, the
sentences that quote them) is escaped: in Markdown with backslashes and character
references, so that nothing becomes emphasis, a link, an image, a table cell or raw HTML
in a GitHub comment; in HTML with :func:`html.escape`. Stdlib only: the pytest plugin
imports it at the end of a session.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._findings import by_perturbation, findings, verdict, worst_row
from ._metricinfo import info

__all__ = ["FINDINGS_SHOWN", "append_step_summary", "md", "run_summary_html",
           "run_summary_markdown", "session_summary_markdown"]

FINDINGS_SHOWN = 15
"""Findings listed in a run's summary; the rest are counted ("and 4 more")."""
SESSION_FINDINGS_SHOWN = 10
"""Findings listed per result in a session's summary."""
TEXT_LIMIT = 300
"""Characters of a name or message shown; a summary is read, not searched."""

# Backslash escapes for what Markdown reads as markup; < > & as character references
# (a backslash does not stop GitHub from reading an HTML tag in every context).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def md(value: Any, limit: int = TEXT_LIMIT) -> str:
    """``value`` as Markdown text that renders as itself, on one line."""
    text = _one_line(str(value), limit)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return "".join(_MD_ENTITIES.get(c, c) for c in text)


def _one_line(text: str, limit: int) -> str:
    """Line breaks and other control characters as spaces, cut to ``limit``."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _h(value: Any, limit: int = TEXT_LIMIT) -> str:
    return html.escape(_one_line(str(value), limit))


# -- the view of one run ------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One perturbation at its worst severity, as the table shows it."""

    perturbation: str
    severity: float
    rate: str
    status: str


@dataclass(frozen=True)
class _Summary:
    tags: list[str]
    status: str
    model: str
    n: int
    seed: int
    score: str
    reason: str
    stopped: str | None
    findings: list[tuple[str, str]]
    """``(level, sentence)``, most severe first, the clean pass's crashes first."""
    lines: list[_Line]


def _summarise(result: Any) -> _Summary:
    v = verdict(result)
    found = [(f.level, f.sentence) for f in findings(result)]  # the clean pass's first
    stop = getattr(result, "stopped", None)
    score = result.score
    return _Summary(
        tags=v.tags, status=v.status, model=str(result.name), n=result.n,
        seed=result.seed, score="-" if score is None else f"{score:g}", reason=v.reason,
        stopped=None if stop is None else f"{stop['kind']}: {stop['message']}",
        findings=found, lines=_worst_rows(result))


def _worst_rows(result: Any) -> list[_Line]:
    out = []
    for name, rows in by_perturbation(result).items():
        worst = worst_row(rows) or rows[-1]  # n/a: no severity changed an input
        out.append(_Line(name, worst.severity, _rate(worst.metrics.get("failure_rate")),
                         _status(worst)))
    return out


def _status(row: Any) -> str:
    if row.passed is False:
        return "fail"
    if row.passed:
        return "pass"
    if row.insufficient:
        return "insufficient"
    coverage = row.metrics.get("coverage")
    if coverage is not None and not _nan(coverage.value) and coverage.value == 0:
        return "n/a"  # the perturbation changed no input: nothing to judge
    return "not checked"


def _rate(m: Any) -> str:
    if m is None or _nan(m.value):
        return "-"
    text = f"{100 * m.value:.1f}%"
    if _nan(m.low) or _nan(m.high):
        return text
    return f"{text} [{100 * m.low:.1f}, {100 * m.high:.1f}]"


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


# -- Markdown ---------------------------------------------------------------------------------


def run_summary_markdown(result: Any, *, limit: int = FINDINGS_SHOWN) -> str:
    """The Markdown summary of one run: verdict line, findings, table."""
    s = _summarise(result)
    parts = [_verdict_markdown(s), _findings_markdown(s, limit), _table_markdown(s)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _verdict_markdown(s: _Summary) -> str:
    qualifiers = s.tags[1:]
    head = f"**robustcheck: {s.status}**" + (f" ({', '.join(qualifiers)})" if qualifiers
                                             else "")
    first = f"{head} · model {md(s.model)} · n={s.n} · seed={s.seed} · score {s.score}"
    second = md(s.reason) + "."
    if s.stopped is not None:
        second += f" The run stopped early ({md(s.stopped)})."
    return f"{first}\n\n{second}"


def _findings_markdown(s: _Summary, limit: int) -> str:
    if not s.findings:
        return "No findings: no perturbation made the model fail or crash."
    counts = ", ".join(f"{sum(lv == level for lv, _ in s.findings)} {level}"
                       for level in ("major", "medium", "minor")
                       if any(lv == level for lv, _ in s.findings))
    lines = [f"**Findings** ({counts}):", ""]
    lines += [f"- **{level}** {md(sentence, 1000)}" for level, sentence in s.findings[:limit]]
    if len(s.findings) > limit:
        lines.append(f"- … and {len(s.findings) - limit} more")
    return "\n".join(lines)


def _table_markdown(s: _Summary) -> str:
    if not s.lines:
        return ""
    lines = ["| perturbation | severity | failure rate [95% CI] | status |",
             "| --- | ---: | --- | --- |"]
    lines += [f"| {md(x.perturbation)} | {x.severity:g} | {x.rate} | {x.status} |"
              for x in s.lines]
    return "\n".join(lines)


def session_summary_markdown(
    entries: Sequence[tuple[str, Any]], *,
    regressions: Iterable[tuple[str, Any]] = (), drifts: Iterable[tuple[str, Any]] = (),
    not_compared: Iterable[tuple[str, str]] = (), outcomes: Mapping[str, str] | None = None,
) -> str:
    """The Markdown summary of a pytest session: per test (node id) and result its
    verdict line and findings, then the regressions against the baseline (each
    ``(node id, Comparison)``), the confidence drifts and what was not compared."""
    outcomes = outcomes or {}
    verdicts = [verdict(result).status for _, result in entries]
    tally = ", ".join(f"{verdicts.count(v)} {v}" for v in ("FAIL", "PASS", "NOT CHECKED")
                      if v in verdicts)
    results = f"{len(entries)} result" + ("" if len(entries) == 1 else "s")
    out = ["## robustcheck", "", f"{results} ({tally})."]
    for nodeid, result in entries:
        s = _summarise(result)
        outcome = outcomes.get(nodeid)
        out += ["", f"### {md(nodeid)} \\[{md(result.name)}\\]"
                + (f" (test {md(outcome)})" if outcome else ""),
                "", _verdict_markdown(s), "", _findings_markdown(s, SESSION_FINDINGS_SHOWN)]
    for title, pairs in (("Regressions against the baseline (failing the session)",
                          regressions),
                         ("Confidence drifts against the baseline (listed, not failing)",
                          drifts)):
        lines = [line for nodeid, comparison in pairs
                 for line in _regression_lines(nodeid, comparison)]
        if lines:
            out += ["", f"### {title}", "", *lines]
    skipped = [f"- {md(nodeid)}: {md(reason)}" for nodeid, reason in not_compared]
    if skipped:
        out += ["", "### Not compared with the baseline", "", *skipped]
    return "\n".join(out) + "\n"


def _regression_lines(nodeid: str, comparison: Any) -> list[str]:
    """One line per regressed row: perturbation, severity, each deciding metric A -> B."""
    lines = []
    for row in comparison.regressions:
        decided = [_change(name, row["metrics"].get(name) or {})
                   for name in row.get("decided_by") or []]
        lines.append(f"- {md(nodeid)} \\[{md(comparison.b.name)}\\]: "
                     f"{md(row['perturbation'])} at severity {row['severity']:g}: "
                     + ("; ".join(decided) or "-"))
    return lines


def _change(metric: str, entry: Mapping[str, Any]) -> str:
    a = (entry.get("a") or {}).get("value")
    b = (entry.get("b") or {}).get("value")
    p = entry.get("p_adjusted")
    p_text = "-" if p is None else "<0.0001" if p < 1e-4 else f"{p:.4f}"
    return (f"{md(metric)} {_number(metric, a)} → {_number(metric, b)} "
            f"(p {p_text}, Holm)")


def _number(metric: str, x: Any) -> str:
    if _nan(x):
        return "-"
    try:
        percent = info(metric).percent
    except KeyError:
        percent = False
    return f"{100 * float(x):.1f}%" if percent else f"{float(x):.3f}"


# -- HTML (a notebook cell) ------------------------------------------------------------------

_COLOURS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "NOT CHECKED": "#57606a"}


def run_summary_html(result: Any, *, limit: int = FINDINGS_SHOWN) -> str:
    """A compact HTML summary of one run (verdict, findings, table): what a notebook shows
    for a result, not the whole report (``to_html`` writes that)."""
    s = _summarise(result)
    colour = _COLOURS.get(s.status, "#57606a")
    qualifiers = "".join(f" · <strong>{_h(t)}</strong>" for t in s.tags[1:])
    out = ['<div class="robustcheck-summary">',
           f'<p><strong style="color:{colour}">{_h(s.status)}</strong>{qualifiers} · model '
           f"<code>{_h(s.model)}</code> · n={s.n} · seed={s.seed} · score {_h(s.score)}</p>",
           f"<p>{_h(s.reason)}."
           + ("" if s.stopped is None else f" The run stopped early ({_h(s.stopped)}).")
           + "</p>"]
    if s.findings:
        items = [f"<li><strong>{_h(level)}</strong> {_h(sentence, 1000)}</li>"
                 for level, sentence in s.findings[:limit]]
        if len(s.findings) > limit:
            items.append(f"<li>… and {len(s.findings) - limit} more</li>")
        out += ["<ul>", *items, "</ul>"]
    else:
        out.append("<p>No findings: no perturbation made the model fail or crash.</p>")
    if s.lines:
        out += ["<table>", "<thead><tr><th>perturbation</th><th>severity</th>"
                "<th>failure rate [95% CI]</th><th>status</th></tr></thead>", "<tbody>"]
        out += [f"<tr><td>{_h(x.perturbation)}</td><td>{x.severity:g}</td>"
                f"<td>{_h(x.rate)}</td><td>{_h(x.status)}</td></tr>" for x in s.lines]
        out += ["</tbody>", "</table>"]
    out.append("</div>")
    return "\n".join(out)


# -- GitHub Actions ---------------------------------------------------------------------------


def append_step_summary(text: str) -> str | None:
    """Append ``text`` to the file GitHub Actions names in ``$GITHUB_STEP_SUMMARY`` (never
    truncating what earlier steps wrote); the path, or None outside GitHub Actions.
    Raises OSError when the file cannot be written."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    with open(path, "a", encoding="utf-8", errors="replace") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return path

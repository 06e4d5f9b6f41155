"""What a reader of a comparison sees besides its statistics: the samples that flipped
between runs A and B (picked by :func:`robustcheck.compare`, stored in its dict), and the
summaries of a comparison dict: Markdown for a pull-request comment
(``Comparison.to_markdown``) and compact HTML for Jupyter (``Comparison._repr_html_``).

Below :mod:`robustcheck.comparison`, which imports this module and is never imported
back: results and rows arrive as plain objects (typed ``Any``), a comparison as its dict.
Model names, perturbation names and inputs are user data: the Markdown escapes every
character Markdown reads as syntax, the HTML goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from perturbations import UnknownPerturbation

from ._cases import input_at, perturbed_at, source_of
from ._files import jsonable, unpack
from ._metricinfo import MESSAGE_LIMIT
from ._report_format import PERCENT, _finite, _inert
from .errors import InvalidArgument

__all__ = ["FLIPS_SHOWN", "FlipCases", "markdown", "summary_html"]

FLIPS_SHOWN = 5
"""Flipped samples kept per significant row and direction (worse, better)."""
SUMMARY_LINES = 50
"""Table lines of a summary; a PR comment should stay short (the report has the rest)."""
VERDICTS = ("regression", "mixed", "improvement", "no significant change")


# -- flipped samples ---------------------------------------------------------------------


class FlipCases:
    """The inputs and answers of flipped samples, for one pair of runs.

    The data comes from ``inputs`` given to ``compare`` or from a run made in this
    process; perturbed inputs are then regenerated from the seed (an attack's are the
    ones its result kept). Without data, only the samples a run kept among its worst
    examples show their input: the others have ``input`` None.
    """

    def __init__(self, run_a: Any, run_b: Any, inputs: Any, labels: Any) -> None:
        self.runs = (run_a, run_b)
        self.data: Any = None
        self.suite: dict[str, Any] = {}
        for run in (run_b, run_a) if inputs is None else (run_a,):
            if inputs is None and run.source is None:
                continue
            try:
                self.data, self.suite = source_of(run, inputs, labels, "compare()")
            except UnknownPerturbation:  # not registered here: show what the runs kept
                if inputs is not None:
                    raise InvalidArgument(
                        "compare(inputs=...) regenerates perturbed inputs, but a "
                        "perturbation of these runs is not registered in this process; "
                        "import the package that defines it") from None
                continue
            break
        self.origin = "examples" if self.data is None else "data"
        self.kept = [{(name, float(e.get("severity", -1)), e.get("index")): e
                      for name, examples in run.examples.items()
                      for e in examples if isinstance(e, Mapping)} for run in (run_a, run_b)]
        self.crashes = [{(c.get("perturbation"), c.get("severity"), c.get("index")): c
                         for c in run.crashes} for run in (run_a, run_b)]
        self.clean = [_clean_codes(run) for run in (run_a, run_b)]
        self.truth = unpack(run_a.clean["truth"]) if "truth" in run_a.clean else None

    def flips(self, ra: Any, rb: Any, paired: np.ndarray,
              sizes: tuple[np.ndarray | None, np.ndarray | None]) -> dict[str, Any]:
        """The ``paired`` samples whose outcome differs: kept under A and failed under B
        (``worse``), failed under A and kept under B (``better``); how many, and the
        first :data:`FLIPS_SHOWN` of each, worst first. ``sizes``: per run, how badly
        each sample failed (the confidence drop; None: unknown)."""
        failed_a, failed_b = (np.asarray(r.failed, dtype=bool) for r in (ra, rb))
        out: dict[str, Any] = {}
        for way, flipped, row, size in (
                ("worse", paired & ~failed_a & failed_b, rb, sizes[1]),
                ("better", paired & failed_a & ~failed_b, ra, sizes[0])):
            positions = np.flatnonzero(flipped)
            shown = _worst_first(positions, row, size)[:FLIPS_SHOWN]
            out[way] = {"count": len(positions),
                        "samples": self.samples(ra, rb, shown, failing_b=way == "worse")}
        return out

    def samples(self, ra: Any, rb: Any, positions: np.ndarray, *, failing_b: bool
                ) -> list[dict[str, Any]]:
        """One dict per sample: its index, input, perturbed input, true label and the
        answers of A and B (clean, perturbed, crash)."""
        run_a = self.runs[0]
        failing = rb if failing_b else ra
        after = self._perturbed(ra, rb, failing, positions)
        kept_first, kept_then = self.kept[::-1] if failing_b else self.kept
        out = []
        for i, perturbed in zip(positions.tolist(), after):
            key = (ra.perturbation, float(ra.severity), i)
            kept = kept_first.get(key) or kept_then.get(key) or {}
            given = input_at(self.data, i) if self.data is not None else kept.get("input")
            out.append({
                "index": i, "input": jsonable(given),
                "perturbed": jsonable(perturbed if perturbed is not None
                                      else kept.get("perturbed")),
                "label": self._truth(run_a, i, kept),
                "a": self._answer(0, ra, i), "b": self._answer(1, rb, i),
            })
        return out

    def _perturbed(self, ra: Any, rb: Any, failing: Any, positions: np.ndarray
                   ) -> list[Any]:
        if ra.inputs or rb.inputs or "attack" in ra.details or "attack" in rb.details:
            # an attack searched each model apart: the failing run's input broke it
            other = ra if failing is rb else rb
            return [failing.inputs.get(i, other.inputs.get(i)) for i in positions.tolist()]
        p = self.suite.get(ra.perturbation)
        if self.data is None or p is None or not len(positions):
            return [None] * len(positions)
        return perturbed_at(self.data, p, ra.severity, self.runs[0].seed, positions)

    def _truth(self, run: Any, i: int, kept: Mapping[str, Any]) -> Any:
        if self.data is not None and self.data.labels is not None:
            return jsonable(self.data.labels[i])
        codes = self.truth
        if codes is None:
            return kept.get("label")
        if "values" in run.clean:
            return jsonable(float(codes[i]))
        return None if codes[i] < 0 else jsonable(run.classes[codes[i]])

    def _answer(self, side: int, row: Any, i: int) -> dict[str, Any]:
        run = self.runs[side]
        crash = self.crashes[side].get((row.perturbation, row.severity, i))
        message = None
        if crash is not None:
            first = str(crash.get("message")).strip().split("\n")[0]
            message = f"{crash.get('type')}: {first}"[:MESSAGE_LIMIT]  # data: kept raw
        return {"clean": _decode(run, self.clean[side], i),
                "answer": None if row.crashed[i] else _decode(run, (row.labels, row.values), i),
                "crashed": bool(row.crashed[i]), "crash": message}


def _worst_first(positions: np.ndarray, row: Any, size: np.ndarray | None) -> np.ndarray:
    """Crashes first, then the largest ``size``, then the sample order."""
    sizes = (np.zeros(len(positions)) if size is None else
             np.nan_to_num(size[positions].astype(np.float64), nan=0.0))
    order = np.lexsort((positions, -sizes, ~row.crashed[positions].astype(bool)))
    return positions[order]


def _clean_codes(run: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    clean = run.clean
    return (unpack(clean["labels"]) if "labels" in clean else None,
            unpack(clean["values"]) if "values" in clean else None)


def _decode(run: Any, arrays: tuple[np.ndarray | None, np.ndarray | None], i: int) -> Any:
    """A class (from its code) or a regression value; None where the model crashed."""
    codes, values = arrays
    if codes is not None:
        return None if codes[i] < 0 else jsonable(run.classes[codes[i]])
    if values is not None and np.isfinite(values[i]):
        return float(f"{float(values[i]):.6g}")
    return None


# -- Markdown and HTML summaries ----------------------------------------------------------


_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _md(value: Any) -> str:
    """Data as inert Markdown text, one line: syntax characters backslash-escaped (a
    ``|`` would end a table cell), ``&``, ``<`` and ``>`` as entities (no HTML tag or
    autolink), line breaks as spaces, bidirectional controls as their code point."""
    text = _LINE_BREAKS.sub(" ", _inert(str(value)))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _lines(c: Mapping[str, Any]) -> list[dict[str, str]]:
    """One line per metric that decided a significant row: regressions first, then mixed
    rows and improvements, the smallest adjusted p-value first within each."""
    rank = {v: i for i, v in enumerate(VERDICTS)}
    keyed: list[tuple[tuple[int, float, str, float], dict[str, str]]] = []
    for row in c.get("rows") or []:
        verdict = str(row.get("verdict"))
        if verdict not in rank or verdict == VERDICTS[-1]:
            continue
        metrics = row.get("metrics") or {}
        for name in row.get("decided_by") or []:
            m = metrics.get(name) or {}
            p = _finite(m.get("p_adjusted"))
            way = "worse" if m.get("verdict") == "regression" else "better"
            keyed.append(((rank[verdict], 1.0 if p is None else p, str(row.get("perturbation")),
                           _finite(row.get("severity")) or 0.0), {
                "perturbation": str(row.get("perturbation")),
                "severity": _number(row.get("severity"), "g"), "metric": str(name),
                "a": _value(name, (m.get("a") or {}).get("value")),
                "b": _value(name, (m.get("b") or {}).get("value")),
                "delta": _delta(name, m), "p": _pvalue(m.get("p_adjusted")),
                "verdict": f"mixed ({way})" if verdict == "mixed" else verdict}))
    keyed.sort(key=lambda pair: pair[0])
    return [line for _, line in keyed]


def _counts(c: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The verdict counts as words, and whether each is one a reviewer must look at."""
    summary = c.get("summary") or {}
    out = []
    for key, word, alarm in (("regressions", "regression", True), ("mixed", "mixed", True),
                             ("improvements", "improvement", False),
                             ("unchanged", "unchanged", False)):
        n = int(_finite(summary.get(key)) or 0)
        plural = "s" if n != 1 and word not in ("mixed", "unchanged") else ""
        out.append((f"{n} {word}{plural}", alarm and n > 0))
    return out


def _footer(c: Mapping[str, Any]) -> str:
    """How the table was made (numbers only from the dict: no escaping needed)."""
    data = c.get("data") or {}
    return (f"Paired tests per perturbation x severity (McNemar exact for rates, paired "
            f"bootstrap for means), Holm-adjusted over {_number(c.get('tests'), '.0f')} "
            f"tests at alpha {_number(c.get('alpha'), 'g')}; n = "
            f"{_number(data.get('n'), '.0f')}. Delta is B - A on the paired samples, with "
            "its 95% interval; rates in percentage points.")


def markdown(c: Mapping[str, Any]) -> str:
    """The Markdown summary of a comparison dict (``Comparison.to_markdown``)."""
    a, b = _md((c.get("a") or {}).get("name")), _md((c.get("b") or {}).get("name"))
    counts = ", ".join(f"**{words}**" if alarm else words for words, alarm in _counts(c))
    out = [f"### Robustness comparison: {a} (A) vs {b} (B)", "", counts, ""]
    lines = _lines(c)
    if lines:
        out += ["| Perturbation | Severity | Decided by | A | B | Delta (B - A) [95% CI] "
                "| p (Holm) | Verdict |",
                "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
        for line in lines[:SUMMARY_LINES]:
            cells = [_md(line["perturbation"]), line["severity"], _md(line["metric"]),
                     *(line[k] for k in ("a", "b", "delta", "p", "verdict"))]
            out.append("| " + " | ".join(cells) + " |")
        if len(lines) > SUMMARY_LINES:
            out.append(f"\n… and {len(lines) - SUMMARY_LINES} more lines in the HTML report.")
    else:
        out.append("No significant difference.")
    out += ["", f"<sub>{_footer(c)}</sub>", ""]
    return "\n".join(out)


def summary_html(c: Mapping[str, Any]) -> str:
    """The compact HTML summary of a comparison dict (``Comparison._repr_html_``)."""
    def e(value: Any) -> str:
        return html.escape(_inert(str(value)))

    a, b = (c.get("a") or {}).get("name"), (c.get("b") or {}).get("name")
    counts = ", ".join(words for words, _ in _counts(c))
    out = [f"<div><p><b>{e(a)}</b> (A) vs <b>{e(b)}</b> (B): {e(counts)}</p>"]
    lines = _lines(c)
    if lines:
        heads = ("Perturbation", "Severity", "Decided by", "A", "B",
                 "Δ (B − A) [95% CI]", "p (Holm)", "Verdict")
        out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in heads)
                   + "</tr></thead><tbody>")
        for line in lines[:SUMMARY_LINES]:
            out.append("<tr>" + "".join(f"<td>{e(line[k])}</td>" for k in (
                "perturbation", "severity", "metric", "a", "b", "delta", "p", "verdict"))
                + "</tr>")
        out.append("</tbody></table>")
        if len(lines) > SUMMARY_LINES:
            out.append(f"<p>… and {len(lines) - SUMMARY_LINES} more lines in the HTML "
                       "report.</p>")
    out.append(f"<p><small>{e(_footer(c))}</small></p></div>")
    return "\n".join(out)


def _number(x: Any, spec: str) -> str:
    value = _finite(x)
    return "-" if value is None else format(value, spec)


def _value(metric: str, x: Any) -> str:
    value = _finite(x)
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if metric in PERCENT else f"{value:.3f}"


def _delta(metric: str, m: Mapping[str, Any]) -> str:
    """The paired delta and its interval (the row's delta in files without them)."""
    delta = _finite(m.get("paired_delta"))
    delta = _finite(m.get("delta")) if delta is None else delta
    if delta is None:
        return "-"
    low, high = _finite(m.get("delta_low")), _finite(m.get("delta_high"))
    if metric in PERCENT:
        text = f"{100 * delta:+.1f} pp"
        return text if low is None or high is None else \
            f"{text} [{100 * low:+.1f}, {100 * high:+.1f}]"
    text = f"{delta:+.3f}"
    return text if low is None or high is None else f"{text} [{low:+.3f}, {high:+.3f}]"


def _pvalue(x: Any) -> str:
    value = _finite(x)
    if value is None:
        return "-"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"

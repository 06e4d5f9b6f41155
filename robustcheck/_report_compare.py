"""The view-model of a comparison of runs A and B (a ``robustcheck.comparison`` dict,
as :class:`~robustcheck.comparison.Comparison` writes it) for ``comparison.html.j2``:
rows grouped by verdict, the metrics that decided each, the summary, and the two
manifests side by side. Files written before ``mixed`` and ``decided_by`` existed render
too (as no mixed rows, and no metric named)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._report_format import PERCENT, _cell, _duration, _finite, _model_text, _p, _plain

VERDICTS = ("regression", "mixed", "improvement", "no significant change")
"""Row verdicts in the order the report groups them (``comparison.VERDICTS``)."""


def _comparison_context(c: Mapping[str, Any]) -> dict[str, Any]:
    rows = [_comparison_row(r) for r in c.get("rows") or []]
    rank = {v: i for i, v in enumerate(VERDICTS)}
    rows.sort(key=lambda r: (rank.get(r["verdict"], len(VERDICTS)), r["p_sort"],
                             r["perturbation"], r["severity_value"]))
    verdicts = dict.fromkeys([*VERDICTS, *(r["verdict"] for r in rows)])
    groups = [{"verdict": v, "rows": [r for r in rows if r["verdict"] == v]} for v in verdicts]
    summary = c.get("summary") or {}
    a, b, data = c.get("a") or {}, c.get("b") or {}, c.get("data") or {}
    return {
        "title": f"Robustness comparison: {_plain(a.get('name'))} (A) vs "
                 f"{_plain(b.get('name'))} (B)",
        "a": _side(a), "b": _side(b), "data": {str(k): _plain(v) for k, v in data.items()},
        "alpha": _plain(c.get("alpha")), "correction": _plain(c.get("correction")),
        "tests": _count(_tests(c), "test"),
        "summary": {key: _count(int(summary.get(key, 0)), word) for key, word in
                    (("regressions", "regression"), ("improvements", "improvement"),
                     ("mixed", "mixed row"), ("unchanged", "row"))},
        "groups": [g for g in groups if g["rows"]], "manifest": _side_by_side(a, b),
        "partial": [s for s, side in (("A", a), ("B", b)) if side.get("complete") is False],
        "unpaired": [str(k) for k in c.get("unpaired") or []],
    }


def _tests(c: Mapping[str, Any]) -> int:
    """The size of the corrected family (counted from the rows in older files)."""
    tests = c.get("tests")
    if isinstance(tests, int) and not isinstance(tests, bool):
        return tests
    return sum(1 for r in c.get("rows") or [] for m in (r.get("metrics") or {}).values()
               if _finite(m.get("p_value")) is not None)


def _comparison_row(r: Mapping[str, Any]) -> dict[str, Any]:
    decided = [str(name) for name in r.get("decided_by") or []]
    metrics = []
    for name, m in (r.get("metrics") or {}).items():
        delta = _finite(m.get("delta"))
        metrics.append({
            "name": str(name).replace("_", " "),
            "a": _cell(name, m.get("a")), "b": _cell(name, m.get("b")),
            "delta": "—" if delta is None else
            (f"{100 * delta:+.1f} pp" if name in PERCENT else f"{delta:+.3f}"),
            "p": _p(m.get("p_adjusted")),
            "p_title": f"unadjusted p = {_p(m.get('p_value'))}"
                       + (f", {m['paired_n']} pairs" if m.get("paired_n") is not None else "")
                       + (f", {m['resamples']:,} resamples" if m.get("resamples") else "")
                       + (f", discordant {_plain(m['discordant'])}" if m.get("discordant")
                          else ""),
            "test": _plain(m.get("test")), "css": _css(m.get("verdict")),
            "decides": str(name) in decided,
        })
    ps = [_finite(m.get("p_adjusted")) for m in (r.get("metrics") or {}).values()]
    severity = _finite(r.get("severity"))
    return {"perturbation": str(r.get("perturbation")), "severity_value": severity or 0.0,
            "severity": "—" if severity is None else f"{severity:g}",
            "expectation": _plain(r.get("expectation")), "verdict": str(r.get("verdict")),
            "css": _css(r.get("verdict")), "metrics": metrics,
            "decided_by": ", ".join(name.replace("_", " ") for name in decided),
            "p_sort": min((p for p in ps if p is not None), default=1.0)}


def _count(n: int, word: str) -> dict[str, Any]:
    return {"n": n, "words": f"{n} {word}{'' if n == 1 else 's'}"}


def _css(verdict: Any) -> str:
    return verdict if verdict in ("regression", "improvement", "mixed") else "same"


def _side(s: Mapping[str, Any]) -> dict[str, Any]:
    score = _finite(s.get("score"))
    return {"name": _plain(s.get("name")), "score": "—" if score is None else f"{score:.1f}"}


def _side_by_side(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The two manifests as rows of (label, A, B), marking the lines that differ."""
    def flat(s: Mapping[str, Any]) -> dict[str, str]:
        timings = s.get("timings") or {}
        out = {"Model": _plain(s.get("name")), "Score": _side(s)["score"],
               "Seed": _plain(s.get("seed")),
               "Status": "partial" if s.get("complete") is False else "complete",
               "Model object": _model_text(s.get("model") or {}),
               "Started": f"{timings.get('started', '—')} "
                          f"({_duration(timings.get('seconds'))})"}
        out.update({str(k): _plain(v) for k, v in (s.get("environment") or {}).items()})
        return out

    fa, fb = flat(a), flat(b)
    return [{"label": k, "a": fa.get(k, "—"), "b": fb.get(k, "—"),
             "differs": fa.get(k) != fb.get(k)} for k in dict.fromkeys([*fa, *fb])]

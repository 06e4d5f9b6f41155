"""The top of a run report: the verdict banner with the findings ranked (see
:mod:`robustcheck._findings`), and the table of one row per perturbation, worst first,
with a severity sparkline (failure rate with its interval at each severity)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._findings import LEVELS, by_perturbation, findings, verdict, worst_row
from ._report_format import _cell, _covered, _finite, _status

if TYPE_CHECKING:
    from ._row import Row
    from .results import RunResult

FINDINGS_SHOWN = 12
SPARK_W, SPARK_H, SPARK_PAD = 96, 28, 4


def _verdict(result: RunResult, example_ids: Mapping[str, str]) -> dict[str, Any]:
    """The banner: PASS / FAIL / NOT CHECKED (+ INCOMPLETE, INSUFFICIENT DATA), why, and
    the findings, most severe first, each with a link to its examples."""
    v = verdict(result)
    found = findings(result)
    counts = {level: sum(1 for f in found if f.level == level) for level in LEVELS}
    return {
        "status": v.status, "tags": v.tags, "reason": v.reason,
        "cls": {"PASS": "pass", "FAIL": "fail"}.get(v.status, "unchecked"),
        "counts": [{"level": k, "n": n} for k, n in counts.items() if n],
        "findings": [{"level": f.level, "sentence": f.sentence,
                      "anchor": example_ids.get(f.perturbation)}
                     for f in found[:FINDINGS_SHOWN]],
        "more": max(len(found) - FINDINGS_SHOWN, 0),
    }


def _summary(result: RunResult, example_ids: Mapping[str, str]) -> dict[str, Any]:
    """One row per perturbation, worst first: its highest failure rate (with interval),
    a sparkline over its severities, and its check across them; each severity's values
    are listed in the row's expandable cell."""
    rows: list[dict[str, Any]] = []
    for name, group in by_perturbation(result).items():
        worst = worst_row(group)
        statuses = [_status(r.passed, r.violations, r.insufficient) for r in group]
        status = next((s for s in ("fail", "pass", "insufficient") if s in statuses),
                      "unchecked")
        rate = worst.value("failure_rate") if worst is not None else None
        rows.append({
            "name": name, "anchor": example_ids.get(name),
            "expectation": group[0].expectation, "status": status,
            "worst": _cell("failure_rate", _metric(worst)) if worst is not None else
            _cell("failure_rate", None),
            "worst_severity": "" if worst is None else f"{worst.severity:g}",
            "rate": rate or 0.0, "covered": worst is not None,
            "spark": _spark(group),
            "severities": [{"severity": f"{r.severity:g}", "status": s,
                            "cell": _cell("failure_rate", _metric(r)) if _covered(r) else
                            None, "violations": "; ".join(r.violations or r.insufficient)}
                           for r, s in zip(group, statuses)],
        })
    order = {"fail": 0, "insufficient": 1, "pass": 2, "unchecked": 2}
    rows.sort(key=lambda r: (order[r["status"]], not r["covered"], -r["rate"], r["name"]))
    return {"rows": rows}


def _metric(row: Row | None) -> dict[str, Any] | None:
    m = None if row is None else row.metrics.get("failure_rate")
    return None if m is None else m.to_dict()


def _spark(group: list[Row]) -> dict[str, Any] | None:
    """Points (x, y) with whiskers for the failure rate at each severity, on the row's
    own scale: 0 to its highest upper bound (at least 5%), so the shape shows whatever
    the level; None when nothing was measured."""
    pts = [(r.severity, r.metrics["failure_rate"]) for r in group
           if _covered(r) and r.metrics.get("failure_rate") is not None
           and _finite(r.metrics["failure_rate"].value) is not None]
    if not pts:
        return None
    scale = max([0.05, *((_finite(m.high) or m.value) for _, m in pts)])
    lo_s = min(s for s, _ in pts)
    hi_s = max(s for s, _ in pts)
    width = SPARK_W - 2 * SPARK_PAD

    def x(s: float) -> float:
        return SPARK_PAD + (width * (s - lo_s) / (hi_s - lo_s) if hi_s > lo_s else width / 2)

    def y(v: float) -> float:
        return SPARK_H - SPARK_PAD - (SPARK_H - 2 * SPARK_PAD) * min(max(v, 0.0) / scale, 1.0)

    dots = [{"x": f"{x(s):.1f}", "y": f"{y(m.value):.1f}",
             "low": f"{y(_finite(m.low) or 0.0):.1f}",
             "high": f"{y(_finite(m.high) or m.value):.1f}"} for s, m in pts]
    label = "; ".join(f"severity {s:g}: {100 * m.value:.1f}%" for s, m in pts)
    return {"w": SPARK_W, "h": SPARK_H, "dots": dots,
            "line": " ".join(f"{d['x']},{d['y']}" for d in dots),
            "label": f"failure rate by severity: {label} (scale 0 to {100 * scale:.0f}%)"}

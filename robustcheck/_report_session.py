"""The top of a session report (every result a pytest session recorded): the session's
verdict, each test with its pytest outcome, its verdict and its first finding, and the
regressions against the baseline that failed the session (and the drifts listed beside
them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._findings import findings, verdict
from ._report_format import _inert, _interval, _number, _p

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def _session(runs: list[dict[str, Any]], results: list[Any],
             regressions: Iterable[tuple[str, Any]], drifts: Iterable[tuple[str, Any]],
             outcomes: Mapping[str, str] | None) -> dict[str, Any]:
    """``runs`` are the per-result view-models (label, p, run), ``results`` the
    RunResults in the same order; comparisons are ``(label, Comparison)`` pairs."""
    outcomes = dict(outcomes or {})
    tests = []
    for item, result in zip(runs, results):
        v = verdict(result)
        found = findings(result)
        outcome = outcomes.get(item["label"])
        tests.append({
            "label": item["label"], "p": item["p"], "name": _inert(str(result.name)),
            "outcome": outcome if outcome in OUTCOMES else None,
            "tags": v.tags, "cls": {"PASS": "pass", "FAIL": "fail"}.get(v.status, "unchecked"),
            "first": found[0].sentence if found else "",
            "first_level": found[0].level if found else "",
            "findings": len(found),
            "stopped": _stopped(result),
        })
    regressed = [_comparison(label, c) for label, c in regressions]
    drifted = [_comparison(label, c) for label, c in drifts]
    failed = (any(t["outcome"] in ("failed", "error") for t in tests) or bool(regressed)
              or (not outcomes and any(t["cls"] == "fail" for t in tests)))
    reasons = []
    bad = sum(1 for t in tests if t["outcome"] in ("failed", "error"))
    if bad:
        reasons.append(f"{bad} of {len(tests)} tests failed")
    if regressed:
        rows = sum(len(r["rows"]) for r in regressed)
        reasons.append(f"{rows} significant regressions against the baseline")
    if not reasons:
        reasons.append(f"{len(tests)} robustness tests" + (" passed" if outcomes else ""))
    return {"status": "FAIL" if failed else "PASS", "cls": "fail" if failed else "pass",
            "reason": "; ".join(reasons), "tests": tests, "regressions": regressed,
            "drifts": drifted, "outcomes": bool(outcomes)}


def _stopped(result: Any) -> str:
    """"stopped early (hung)" for a partial result, "" for a complete one."""
    stopped = getattr(result, "stopped", None)
    if stopped is None and result.complete:
        return ""
    kind = stopped.get("kind") if isinstance(stopped, Mapping) else None
    return f"stopped early ({kind or 'interrupted'})"


def _comparison(label: str, comparison: Any) -> dict[str, Any]:
    """The rows of a comparison with the baseline that changed significantly, each with
    the metrics that decided it: A (baseline) -> B (this run), the paired delta, p."""
    rows = []
    for row in comparison.rows:
        if row.get("verdict") not in ("regression", "mixed"):
            continue
        decided = list(row.get("decided_by") or [])
        metrics = []
        for name in decided:
            m = row["metrics"].get(name) or {}
            a, b = m.get("a") or {}, m.get("b") or {}
            metrics.append({
                "name": name,
                "a": _value(name, a), "b": _value(name, b),
                "delta": "" if m.get("delta") is None else
                (f"{100 * m['delta']:+.1f} pp" if _number(name, 1.0).endswith("%")
                 else f"{m['delta']:+.3f}"),
                "p": _p(m.get("p_adjusted"))})
        rows.append({"perturbation": row["perturbation"], "severity": f"{row['severity']:g}",
                     "verdict": row["verdict"], "decided_by": ", ".join(decided),
                     "metrics": metrics})
    return {"label": _inert(label), "a": _inert(str(comparison.a.name)),
            "b": _inert(str(comparison.b.name)), "rows": rows}


def _value(metric: str, m: Mapping[str, Any]) -> str:
    if m.get("value") is None:
        return "—"
    ci = _interval(metric, m.get("low"), m.get("high"))
    return f"{_number(metric, m['value'])}" + (f" {ci}" if ci else "")

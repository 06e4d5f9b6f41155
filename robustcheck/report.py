"""The HTML report (DESIGN §9): one self-contained file a reviewer opens in a browser.

The flow is one way: a :class:`~robustcheck.results.RunResult` (or a comparison dict)
-> ``_context()``, a plain view-model of strings and numbers with every value formatted
here -> the Jinja2 templates in ``robustcheck/templates`` -> one HTML string.

Inputs, labels, model names and crash messages are hostile data. The templates render
with autoescape on and ``StrictUndefined``, and nothing is ever marked safe: the change
highlights and the SVG charts are drawn by the templates from plain strings (diff
segments) and numbers (coordinates), so every data fragment passes through the escaper.
On top of that the page's content security policy lets only its own script run and
loads nothing. CSS, SVG and the small script (sorting, filtering) are inline, and
everything reads without the script.

The report's size depends on the number of rows, examples and crashes a result keeps
(all capped by the runner), never on the number of samples: no per-sample array is read
but to count.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._highlight import Segments, _lead, _segments, _window
from ._metricinfo import CRASHES_PER_ROW, MESSAGE_LIMIT, METRIC_INFO

if TYPE_CHECKING:
    import os

    from jinja2 import Environment

    from .results import Row, RunResult

__all__ = ["render_comparison", "render_run", "render_session", "write"]

SCORE_DEFINITION = ("100 × (1 − clean crash rate) × (1 − mean failure rate over the rows "
                    "whose perturbation changed at least one input); 100 means the model "
                    "answered every clean input and no perturbation made it fail.")
CRASHES_SHOWN_PER_ROW = CRASHES_PER_ROW  # every crash the result kept
INPUT_LIMIT = 200
CELLS_SHOWN = 12
WORST_BARS = 10
GLANCE = 5

PERCENT = {m.name for m in METRIC_INFO if m.percent}
COLUMNS = tuple(  # (metric, header, what it measures), in table order
    (m.name, m.header, m.definition)
    for m in sorted(METRIC_INFO, key=lambda m: m.column or 0) if m.column is not None)
EXPECTED = {"invariant": "the same label", "directional": "a different label",
            "no-crash": "any answer"}
VERDICTS = ("regression", "improvement", "no significant change")
PALETTE = ("#2f6690", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#66a182", "#8d6a9f",
           "#e07a5f", "#3d405b", "#81b29a")
DASHES = ("", "6 3", "2 3")


# -- public API ----------------------------------------------------------------------


def render_run(result: RunResult, *, title: str | None = None) -> str:
    """The HTML report of one audit, as a string."""
    from .results import RunResult

    if not isinstance(result, RunResult):
        from .errors import InvalidArgument

        raise InvalidArgument(
            f"render_run needs a RunResult, got {type(result).__name__}; read a saved "
            "result with robustcheck.load(path) first")
    mark = "" if result.complete else "INCOMPLETE: "  # visible in the browser's tab too
    return _render("run.html.j2", {"title": title or f"{mark}Robustness report: {result.name}",
                                   "run": _context(result), "p": ""})


def render_session(entries: Iterable[tuple[str, RunResult]], *, title: str | None = None
                   ) -> str:
    """One HTML page for several audits, e.g. every result a pytest session recorded:
    ``entries`` are ``(label, result)`` pairs, the label being the test's node id."""
    from .errors import InvalidArgument
    from .results import RunResult

    runs = []
    for i, entry in enumerate(entries, 1):
        if not (isinstance(entry, tuple) and len(entry) == 2
                and isinstance(entry[1], RunResult)):
            raise InvalidArgument(
                f"render_session needs (label, RunResult) pairs; entry {i} is "
                f"{type(entry).__name__}")
        runs.append({"label": str(entry[0]), "p": f"r{i}-",
                     "run": _context(entry[1], prefix=f"r{i}-")})
    return _render("session.html.j2", {"title": title or "Robustness report: test session",
                                       "runs": runs, "p": ""})


def render_comparison(comparison: Mapping[str, Any]) -> str:
    """The HTML report of a comparison of runs A and B (a ``robustcheck.comparison`` dict)."""
    if not isinstance(comparison, Mapping) or comparison.get("kind") != "robustcheck.comparison":
        from .errors import InvalidArgument

        raise InvalidArgument(
            "render_comparison needs a comparison dict with kind 'robustcheck.comparison' "
            f"(from robustcheck.compare(a, b)); got {type(comparison).__name__}")
    return _render("comparison.html.j2", _comparison_context(comparison))


def write(html: str, path: str | os.PathLike[str]) -> Path:
    """Write ``html`` to ``path`` atomically (a reader never sees half a report)."""
    from .results import write_atomic

    return write_atomic(path, html)


@functools.lru_cache(maxsize=1)
def _environment() -> tuple[Environment, str]:
    """The template environment and the CSP hash of the page's one script."""
    import base64
    import hashlib

    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("robustcheck", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    script = env.get_template("report.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return env, f"sha256-{digest}"


def _render(template: str, context: dict[str, Any]) -> str:
    env, script_hash = _environment()
    return env.get_template(template).render({**context, "script_hash": script_hash})


# -- formatting ----------------------------------------------------------------------


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _number(metric: str, x: float) -> str:
    if metric in PERCENT:
        return f"{100 * x:.1f}%"
    return f"{x:.3f}" if metric == "confidence_drop" else f"{x:.4g}"


def _interval(metric: str, low: Any, high: Any) -> str:
    lo, hi = _finite(low), _finite(high)
    if lo is None or hi is None:
        return ""
    if metric in PERCENT:
        return f"[{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"[{_number(metric, lo)}, {_number(metric, hi)}]"


def _cell(metric: str, m: Mapping[str, Any] | None) -> dict[str, Any]:
    """A table cell: the value, its interval, a sort key and what it rests on."""
    value = None if m is None else _finite(m.get("value"))
    if m is None or value is None:
        return _blank("not measured")
    cell: dict[str, Any] = {
        "value": f"{value:.6g}", "text": _number(metric, value),
        "ci": _interval(metric, m.get("low"), m.get("high")),
        "title": f"95% interval, n = {m.get('n')}", "bar": None, "unmeasured": ""}
    if metric == "failure_rate":
        low, high = _finite(m.get("low")) or 0.0, _finite(m.get("high")) or value
        cell["bar"] = {"width": f"{100 * value:.1f}", "low": f"{100 * low:.1f}",
                       "span": f"{100 * max(high - low, 0.0):.1f}"}
    return cell


def _blank(title: str, unmeasured: str = "") -> dict[str, Any]:
    """A cell without a value. ``unmeasured`` is the reason a threshold on this metric
    failed because it could not be measured: shown as a failure, never as a dash."""
    return {"value": "", "text": "—", "ci": "", "title": title, "bar": None,
            "unmeasured": unmeasured}


def _metric(row: Row, name: str) -> dict[str, Any] | None:
    m = row.metrics.get(name)
    return None if m is None else m.to_dict()


def _plain(value: Any) -> str:
    """Any JSON-like value as short text (labels, descriptions, cell values)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _model_text(model: Mapping[str, Any]) -> str:
    """``sklearn.pipeline.Pipeline (sklearn 1.9.1, predict_proba): a → b``, then the rest."""
    made_by = " ".join(str(model[k]) for k in ("library", "version") if model.get(k))
    inside = ", ".join(x for x in (made_by, str(model.get("method") or "")) if x)
    text = str(model.get("class") or model.get("kind") or "?") + (f" ({inside})" if inside else "")
    steps = model.get("steps")
    if isinstance(steps, list) and steps:
        text += ": " + " → ".join(str(s[0]) if isinstance(s, (list, tuple)) and s else str(s)
                                  for s in steps)
    shown = {"kind", "class", "library", "version", "method", "steps", "task"}
    return text + "".join(f"; {k}: {_plain(v)}" for k, v in model.items()
                          if k not in shown and v is not None)


def _cell_value(value: Any) -> str:
    """A data-frame cell: strings quoted, so that 1.0 and "1.0" read differently."""
    if value is None:
        return "missing"
    return f'"{value}"' if isinstance(value, str) else _plain(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _p(p: Any) -> str:
    value = _finite(p)
    if value is None:
        return "—"
    if value == 0:
        return "< 1e-300"  # below the smallest float: the test's tail underflowed
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _duration(seconds: Any) -> str:
    s = _finite(seconds)
    if s is None:
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _anchors(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """Unique element ids for data names (which may hold any character)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = f"{prefix}-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "x")
        anchor, k = base, 2
        while anchor in used:
            anchor, k = f"{base}-{k}", k + 1
        used.add(anchor)
        out[name] = anchor
    return out


# -- one audit -----------------------------------------------------------------------


def _context(result: RunResult, prefix: str = "") -> dict[str, Any]:
    """The view-model of one audit: plain dicts, lists, strings and numbers. ``prefix``
    goes before every element id, so that several audits can share a page."""
    worst = _worst_rows(result)
    order = sorted(worst, key=lambda name: -_failure(worst[name]))
    order += [name for name in result.examples if name not in worst]
    example_ids = _anchors(f"{prefix}ex", [n for n in order if result.examples.get(n)])
    examples = [_examples_of(result, name, example_ids[name], worst.get(name))
                for name in example_ids]
    return {
        "name": result.name,
        "complete": result.complete,
        "incomplete": _incomplete(result),
        "score": {"text": "—" if result.score is None else f"{result.score:.1f}",
                  "value": result.score, "definition": SCORE_DEFINITION},
        "checks": _checks(result),
        "manifest": _manifest(result),
        "table": _table(result, example_ids),
        "worst": _worst_chart(worst, example_ids),
        "glance": [{"name": e["name"], "anchor": e["anchor"], **e["entries"][0]}
                   for e in examples[:GLANCE]],
        "curves": _curves(result),
        "examples": examples,
        "quiet": sorted(set(worst) - set(example_ids)),
        "crashes": _crashes(result, prefix),
        "clean": _clean(result),
    }


def _failure(row: Row) -> float:
    return row.value("failure_rate") or 0.0


def _covered(row: Row) -> bool:
    return (row.value("coverage") or 0.0) > 0


def _worst_rows(result: RunResult) -> dict[str, Row]:
    """Per perturbation, its row at the highest severity that changed any input."""
    out: dict[str, Row] = {}
    for row in result.rows:
        best = out.get(row.perturbation)
        if _covered(row) and (best is None or row.severity >= best.severity):
            out[row.perturbation] = row
    return out


def _incomplete(result: RunResult) -> dict[str, Any] | None:
    """Why and where the run stopped early, for the banner; None for a complete run."""
    stopped = getattr(result, "stopped", None)  # absent from results of older versions
    if stopped is None and result.complete:
        return None
    stopped = stopped if isinstance(stopped, Mapping) else {}
    message = str(stopped.get("message") or "no reason was recorded").strip().rstrip(".")
    return {"kind": str(stopped.get("kind") or "interrupted"),
            "message": _clip(message, MESSAGE_LIMIT), "run": len(result.rows),
            "planned": len(result.perturbations) * len(result.severities)}


def _status(passed: bool | None, violations: list[str]) -> str:
    if passed is False or violations:  # a violation is a failure, whatever else is set
        return "fail"
    return "unchecked" if passed is None else "pass"


def _checks(result: RunResult) -> dict[str, Any]:
    th = result.thresholds or {}
    limits = [f"{k} ≤ {v:g}" for k, v in (th.get("global") or {}).items()]
    limits += [f"{k} ≤ {v:g} for {name}" for name, values in (th.get("per") or {}).items()
               for k, v in values.items()]
    # The clean inputs are checked like a row (their crash rate), and listed first.
    clean = _status(result.clean.get("passed"), _clean_violations(result))
    units = [("clean inputs", clean, _clean_violations(result))] if clean != "unchecked" else []
    units += [(f"{r.perturbation} @ {r.severity:g}", _status(r.passed, r.violations),
               r.violations) for r in result.rows]
    checked = [u for u in units if u[1] != "unchecked"]
    failed = [u for u in checked if u[1] == "fail"]
    return {"checked": bool(checked), "limits": limits, "passed": len(checked) - len(failed),
            "failed": len(failed), "unchecked": len(units) - len(checked),
            "failures": [{"key": key, "violations": "; ".join(v)} for key, _, v in failed[:5]],
            "more": max(len(failed) - 5, 0), "rows": len(result.rows),
            "covered": sum(1 for r in result.rows if _covered(r)),
            "failing": sum(1 for r in result.rows if _failure(r) > 0),
            "crashing": sum(1 for r in result.rows if (r.value("crash_rate") or 0) > 0)}


def _manifest(result: RunResult) -> list[dict[str, Any]]:
    env = dict(result.environment)
    versions = [f"robustcheck {env.pop('robustcheck', '?')}"]
    if "python" in env:
        versions.append(f"Python {env.pop('python')} ({env.pop('platform', '?')})")
    versions += [f"{k} {v}" for k, v in env.items()]
    data, timings = result.data, result.timings
    clean_p50 = _finite(timings.get("clean_latency_p50"))
    classes = f"; classes: {_clip(_plain(result.classes), 200)}" if result.classes else ""
    items = [
        ("Model", result.name, False),
        ("Model object", _model_text(result.model), False),
        ("Task", f"{result.task}{classes}", False),
        ("Data", f"n = {data.get('n')}, {data.get('modality')}, "
                 f"{'labelled' if data.get('labelled') else 'unlabelled'}", False),
        ("Fingerprint", str(data.get("fingerprint")), True),
        ("Seed", str(result.seed), True),
        ("Suite", f"{len(result.perturbations)} perturbations in "
                  f"{len({r.family for r in result.rows})} families at severities "
                  f"{', '.join(f'{s:g}' for s in result.severities)}", False),
        ("Started", f"{timings.get('started', '—')} ({_duration(timings.get('seconds'))})",
         False),
        ("Clean latency", "—" if clean_p50 is None else
         f"{1000 * clean_p50:.3g} ms per input (median)", False),
        ("Versions", " · ".join(versions), False),
    ]
    return [{"label": k, "value": v, "mono": mono} for k, v, mono in items]


def _table(result: RunResult, example_ids: Mapping[str, str]) -> dict[str, Any]:
    unmeasured = {r.key: _unmeasured(r.violations) for r in result.rows}
    clean_rate = _clean_crash_rate(result)
    metrics = [c for c in COLUMNS
               if any(r.value(c[0]) is not None or c[0] in unmeasured[r.key]
                      for r in result.rows)
               or (c[0] == "crash_rate" and clean_rate is not None)]
    rows = []
    for r in result.rows:
        coverage = r.value("coverage")
        ratio = r.value("latency_ratio")
        p50, p95 = _finite(r.latency.get("latency_p50")), _finite(r.latency.get("latency_p95"))
        cells = [_cell(m, _metric(r, m)) if m not in unmeasured[r.key] else
                 _blank(f"{m} not measured", unmeasured[r.key][m]) for m, _, _ in metrics]
        rows.append({
            "key": r.key, "perturbation": r.perturbation, "severity": f"{r.severity:g}",
            "expectation": r.expectation, "anchor": example_ids.get(r.perturbation),
            "description": str(result.perturbations.get(r.perturbation, {})
                               .get("description", "")),
            "status": _status(r.passed, r.violations),
            "violations": "; ".join(r.violations), "failing": _failure(r) > 0,
            "coverage": {"value": "" if coverage is None else f"{coverage:.6g}",
                         "text": "—" if coverage is None else _number("coverage", coverage),
                         "detail": f"{int(r.changed.sum())} of {len(r.changed)}"},
            "cells": cells,
            "latency": {"value": "" if ratio is None else f"{ratio:.6g}",
                        "text": "—" if ratio is None else f"{ratio:.2f}×",
                        "title": "" if p50 is None or p95 is None else
                        f"per input: p50 {1000 * p50:.3g} ms, p95 {1000 * p95:.3g} ms"},
            "calls": r.model_calls, "saved": len(r.changed) - r.model_calls,
        })
    return {"metrics": [{"name": m, "header": h, "help": d} for m, h, d in metrics],
            "latency": any(r.value("latency_ratio") is not None for r in result.rows),
            "clean": _clean_row(result, [m for m, _, _ in metrics], clean_rate),
            "rows": rows}


def _unmeasured(violations: Iterable[str]) -> dict[str, str]:
    """metric -> why, from violations such as "flip_rate not measured: the model crashed
    on all 12 changed inputs" (the wording of RunResult.check)."""
    out = {}
    for v in violations:
        metric, sep, why = str(v).partition(" not measured: ")
        if sep and metric:
            out[metric.strip()] = why
    return out


def _clean_violations(result: RunResult) -> list[str]:
    return [str(v) for v in result.clean.get("violations") or []]


def _clean_crash_rate(result: RunResult) -> dict[str, Any] | None:
    """The clean pass's crash rate {value, low, high, n}; derived from the counts for
    results written before it was recorded."""
    recorded = result.clean.get("crash_rate")
    if isinstance(recorded, Mapping):
        return dict(recorded)
    n, answered = result.data.get("n"), result.clean.get("answered")
    crashes = result.clean.get("crashes")
    if not (isinstance(n, int) and isinstance(answered, int) and isinstance(crashes, int)
            and n > 0 and answered >= 0 and crashes >= 0 and answered + crashes == n):
        return None  # the clean pass did not finish: there is no rate to show
    from .stats import wilson_interval

    low, high = wilson_interval(crashes, n)
    return {"value": crashes / n, "low": low, "high": high, "n": n}


def _clean_row(result: RunResult, metrics: list[str], crash_rate: dict[str, Any] | None
               ) -> dict[str, Any]:
    """The first row of the results table: the model on the unchanged inputs. Its crash
    rate is a finding like any row's, and it can fail ``max_crash_rate``."""
    violations = _clean_violations(result)
    here = "does not apply to the clean inputs"
    return {
        "quality": _clean(result)["quality"],
        "cells": [_cell(m, crash_rate) if m == "crash_rate" else _blank(here)
                  for m in metrics],
        "status": _status(result.clean.get("passed"), violations),
        "violations": "; ".join(violations),
    }


def _worst_chart(worst: Mapping[str, Row], example_ids: Mapping[str, str]) -> dict[str, Any]:
    """Horizontal bars: failure rate at each perturbation's highest severity, top ten."""
    chosen = sorted((r for r in worst.values() if _failure(r) > 0),
                    key=lambda r: (-_failure(r), r.perturbation))[:WORST_BARS]
    left, right, top, step = 190.0, 500.0, 24.0, 26.0
    x = lambda v: f"{left + (right - left) * v:.1f}"  # noqa: E731
    bars = []
    for i, r in enumerate(chosen):
        cell = _cell("failure_rate", _metric(r, "failure_rate"))
        m = r.metrics["failure_rate"]
        low = _finite(m.low) or 0.0
        high = _finite(m.high) or m.value
        bars.append({
            "y": f"{top + i * step:.1f}", "mid": top + i * step + 9,
            "label": _clip(r.perturbation, 28), "severity": f"{r.severity:g}",
            "width": f"{(right - left) * m.value:.1f}", "low": x(low), "high": x(high),
            "text": f"{cell['text']} {cell['ci']}", "fail": r.passed is False,
            "href": example_ids.get(r.perturbation),
            "title": f"{r.perturbation} at severity {r.severity:g}: failure rate "
                     f"{cell['text']}, 95% interval {cell['ci']}, n = {m.n}",
        })
    height = top + max(len(bars), 1) * step + 8
    return {"bars": bars, "left": left, "right": right, "top": top - 8,
            "bottom": height - 8, "height": f"{height:.0f}",
            "ticks": [{"x": x(t), "label": f"{100 * t:.0f}%"} for t in (0, .25, .5, .75, 1)]}


def _curves(result: RunResult) -> dict[str, Any]:
    """Failure rate against severity, one line per family (mean over its perturbations)."""
    by_family: dict[str, dict[float, list[float]]] = {}
    for r in result.rows:
        rate = r.value("failure_rate")
        if rate is not None and _covered(r):
            by_family.setdefault(r.family, {}).setdefault(r.severity, []).append(rate)
    means = {f: {s: sum(v) / len(v) for s, v in sorted(points.items())}
             for f, points in by_family.items()}
    order = sorted(means, key=lambda f: (-max(means[f].values()), f))
    peak = max((v for pts in means.values() for v in pts.values()), default=0.0)
    y_max, step = next((t, d) for t, d in ((0.05, 0.01), (0.1, 0.02), (0.2, 0.05), (0.4, 0.1),
                                            (0.6, 0.1), (0.8, 0.2), (1.0, 0.2))
                       if peak <= t + 1e-12)
    x0, x1, y0 = 56.0, 440.0, 24.0
    y1 = max(240.0, y0 + 18 * len(order))
    sx = lambda s: f"{x0 + (x1 - x0) * s:.1f}"  # noqa: E731
    sy = lambda v: f"{y1 - (y1 - y0) * min(v / y_max, 1.0):.1f}"  # noqa: E731
    series = []
    for i, family in enumerate(order):
        pts = means[family]
        series.append({
            "color": PALETTE[i % len(PALETTE)], "dash": DASHES[(i // len(PALETTE)) % 3],
            "points": " ".join(f"{sx(s)},{sy(v)}" for s, v in pts.items()),
            "dots": [{"x": sx(s), "y": sy(v),
                      "title": f"{family} at severity {s:g}: {100 * v:.1f}%"}
                     for s, v in pts.items()],
            "legend_y": f"{y0 + 6 + 18 * i:.1f}",
            "legend": f"{family} ({100 * max(pts.values()):.1f}% at most)",
        })
    return {
        "series": series, "x0": x0, "x1": x1, "y0": y0, "y1": y1,
        "height": f"{y1 + 44:.0f}", "legend_x": x1 + 64,
        "xticks": [{"x": sx(s), "label": f"{s:g}"}
                   for s in sorted({0.0, *result.severities}) if 0 <= s <= 1],
        "yticks": [{"y": sy(step * k), "label": f"{100 * step * k:.0f}%"}
                   for k in range(round(y_max / step) + 1)],
    }


def _examples_of(result: RunResult, name: str, anchor: str, worst: Row | None
                 ) -> dict[str, Any]:
    record = result.perturbations.get(name, {})
    headline = ""
    if worst is not None:
        cell = _cell("failure_rate", _metric(worst, "failure_rate"))
        headline = f"failure rate {cell['text']} {cell['ci']} at severity {worst.severity:g}"
        attack = worst.details.get("attack") if worst.details else None
        if attack:
            edits = attack.get("median_edits")
            headline += (f" · median {edits:g} edits per success" if edits is not None else "")
            headline += f" · {attack.get('queries_mean') or 0:.0f} model queries per input"
    expected = EXPECTED.get(str(record.get("expectation")), "")
    return {"name": name, "anchor": anchor, "expectation": str(record.get("expectation", "")),
            "description": str(record.get("description", "")),
            "severity_doc": str(record.get("severity", "")), "headline": headline,
            "entries": [{**_example(e), "expected": expected}
                        for e in result.examples[name]]}


def _minimal(e: Mapping[str, Any]) -> dict[str, Any] | None:
    """The smallest breaking change found for this input (text attacks), as segments."""
    found = e.get("minimal")
    if not isinstance(found, Mapping) or not isinstance(found.get("perturbed"), str):
        return None
    return {"after": _segments(str(e.get("input")), found["perturbed"])[1],
            "edits": int(found.get("edits") or 0), "label": _plain(found.get("label"))}


def _example(e: Mapping[str, Any]) -> dict[str, Any]:
    before: Segments = []
    after: Segments = []
    changes: list[dict[str, Any]] = []
    more, note = 0, ""
    # a record (a row of cells) shows as its changed cells, anything else as text
    tabular = isinstance(e.get("input"), Mapping) and isinstance(e.get("perturbed"), Mapping)
    if tabular:
        changes, more, note = _changed_cells(e["input"], e["perturbed"])
    else:
        before, after = _segments(str(e.get("input")), str(e.get("perturbed")))
    leads = [x for x in (_lead(before), _lead(after)) if x is not None]
    lead = min(leads) if leads else 0
    crash = e.get("crash")
    conf, conf_after = _finite(e.get("confidence")), _finite(e.get("perturbed_confidence"))
    first_line = str((crash or {}).get("message")).strip().split("\n")[0]
    return {
        "severity": f"{float(e.get('severity', 0)):g}", "index": e.get("index"),
        "tabular": tabular, "before": before, "after": after,
        "glance_before": _window(before, lead), "glance_after": _window(after, lead),
        "changes": changes, "more": more, "note": note,
        "minimal": _minimal(e),
        "label": None if e.get("label") is None else _plain(e["label"]),
        "clean": _plain(e.get("clean")), "predicted": _plain(e.get("predicted")),
        "crash": f"{crash.get('type')}: {_clip(first_line, 160)}" if crash else None,
        "confidence": None if conf is None else
        f"{conf:.3f} → {'—' if conf_after is None else f'{conf_after:.3f}'}",
    }


def _changed_cells(before: Mapping[str, Any], after: Mapping[str, Any]
                   ) -> tuple[list[dict[str, Any]], int, str]:
    """Only the columns whose value changed (added and removed columns included)."""
    changed = []
    for column in dict.fromkeys([*before, *after]):
        old, new = before.get(column, ...), after.get(column, ...)
        if old == new and type(old) is type(new):
            continue
        a = "absent" if old is ... else _clip(_cell_value(old), INPUT_LIMIT)
        b = "absent" if new is ... else _clip(_cell_value(new), INPUT_LIMIT)
        segs = _segments(a, b)
        changed.append({"column": str(column), "before": segs[0], "after": segs[1]})
    note = "" if changed else ("no cell value changed: the change is in the table's "
                               "structure (column order or types)")
    return changed[:CELLS_SHOWN], max(len(changed) - CELLS_SHOWN, 0), note


def _crashes(result: RunResult, prefix: str) -> dict[str, Any]:
    """Recorded crashes grouped by perturbation, with totals from the per-sample arrays."""
    clean = "(clean inputs)"
    totals: dict[str, dict[str, int]] = {}
    if result.clean.get("crashes"):
        totals[clean] = {"": int(result.clean["crashes"])}
    for r in result.rows:
        crashed = int(r.crashed.sum())
        if crashed:
            totals.setdefault(r.perturbation, {})[f"{r.severity:g}"] = crashed
    recorded: dict[str, list[Mapping[str, Any]]] = {}
    for c in result.crashes:
        recorded.setdefault(c.get("perturbation") or clean, []).append(c)
    names = sorted({*totals, *recorded}, key=lambda n: (-sum(totals.get(n, {}).values()), n))
    anchors = _anchors(f"{prefix}crash", names)
    groups = []
    for name in names:
        crashes = recorded.get(name, [])
        shown: Counter[Any] = Counter()
        entries = []
        for crash in crashes:
            shown[crash.get("severity")] += 1
            if shown[crash.get("severity")] <= CRASHES_SHOWN_PER_ROW:
                entries.append(_crash_entry(crash))
        types = Counter(str(crash.get("type")) for crash in crashes)
        by_severity = totals.get(name, {})
        groups.append({
            "name": name, "anchor": anchors[name], "entries": entries,
            "total": sum(by_severity.values()) or len(crashes), "recorded": len(crashes),
            "types": ", ".join(f"{t} × {k}" for t, k in types.most_common()) or "—",
            "severities": ", ".join(f"{k} at {s}" for s, k in by_severity.items() if s)
            or "—"})
    return {"groups": groups, "per_row": CRASHES_SHOWN_PER_ROW}


def _crash_entry(c: Mapping[str, Any]) -> dict[str, Any]:
    given = c.get("input")
    text = _plain(given) if isinstance(given, Mapping) else str(given)
    return {"severity": "—" if c.get("severity") is None else f"{c['severity']:g}",
            "index": c.get("index"), "type": str(c.get("type")),
            "message": _clip(str(c.get("message")), MESSAGE_LIMIT),
            "input": _clip(text, INPUT_LIMIT)}


def _clean(result: RunResult) -> dict[str, Any]:
    sd = result.clean.get("self_disagreement") or {}
    value = _finite(sd.get("value"))
    kind = next((k for k in ("accuracy", "mae") if result.clean.get(k)), "")
    quality: Mapping[str, Any] = result.clean.get(kind) or {}
    metric = "accuracy_clean" if kind == "accuracy" else "mae"
    quality_value = _finite(quality.get("value"))
    return {
        "self": None if value is None else {
            "text": _number("flip_rate", value),
            "ci": _interval("flip_rate", sd.get("low"), sd.get("high")),
            "n": sd.get("n"), "zero": value == 0},
        "crashes": int(result.clean.get("crashes", 0)),
        "quality": None if quality_value is None else
        f"{'accuracy' if kind == 'accuracy' else 'MAE'} {_number(metric, quality_value)} "
        f"{_interval(metric, quality.get('low'), quality.get('high'))}",
    }


# -- a comparison ----------------------------------------------------------------------


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
        "summary": {key: _count(int(summary.get(key, 0)), word) for key, word in
                    (("regressions", "regression"), ("improvements", "improvement"),
                     ("unchanged", "row"))},
        "groups": [g for g in groups if g["rows"]], "manifest": _side_by_side(a, b),
        "partial": [s for s, side in (("A", a), ("B", b)) if side.get("complete") is False],
        "unpaired": [str(k) for k in c.get("unpaired") or []],
    }


def _comparison_row(r: Mapping[str, Any]) -> dict[str, Any]:
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
                       + (f", discordant {_plain(m['discordant'])}" if m.get("discordant")
                          else ""),
            "test": _plain(m.get("test")), "css": _css(m.get("verdict")),
        })
    ps = [_finite(m.get("p_adjusted")) for m in (r.get("metrics") or {}).values()]
    severity = _finite(r.get("severity"))
    return {"perturbation": str(r.get("perturbation")), "severity_value": severity or 0.0,
            "severity": "—" if severity is None else f"{severity:g}",
            "expectation": _plain(r.get("expectation")), "verdict": str(r.get("verdict")),
            "css": _css(r.get("verdict")), "metrics": metrics,
            "p_sort": min((p for p in ps if p is not None), default=1.0)}


def _count(n: int, word: str) -> dict[str, Any]:
    return {"n": n, "words": f"{n} {word}{'' if n == 1 else 's'}"}


def _css(verdict: Any) -> str:
    return verdict if verdict in ("regression", "improvement") else "same"


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

"""Every value the HTML report shows, as text: numbers and their intervals, table cells,
p-values, durations, data values and element ids; and the table's metric columns.

Plain functions of plain values (and of a result's rows), with no template or HTML
anywhere: the templates escape what these return.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._metricinfo import METRIC_INFO

if TYPE_CHECKING:
    from .results import Row

PERCENT = {m.name for m in METRIC_INFO if m.percent}
COLUMNS = tuple(  # (metric, header, what it measures), in table order
    (m.name, m.header, m.definition)
    for m in sorted(METRIC_INFO, key=lambda m: m.column or 0) if m.column is not None)


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


# Bidirectional controls reorder the text around them: U+202E (RIGHT-TO-LEFT OVERRIDE)
# in a label shows "gpj.exe" as "exe.jpg" and can turn the sentence the label sits in
# around. The templates isolate every data fragment (dir="auto"), and the text itself
# shows each control as its code point, so a reader sees it is there.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _inert(text: str) -> str:
    """``text`` with every bidirectional control written out: ``[U+202E]gpj.exe``."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def _plain(value: Any) -> str:
    """Any JSON-like value as short text (labels, descriptions, cell values), its
    bidirectional controls shown (:func:`_inert`)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{_inert(str(k))}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return _inert(str(value))


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
    """The first ``limit`` characters of ``text`` (then "…"), its bidirectional controls
    shown: clipped first, so a control's code point is never cut in half."""
    return _inert(text if len(text) <= limit else text[:limit] + "…")


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


# -- rows ------------------------------------------------------------------------------


def _metric(row: Row, name: str) -> dict[str, Any] | None:
    m = row.metrics.get(name)
    return None if m is None else m.to_dict()


def _failure(row: Row) -> float:
    return row.value("failure_rate") or 0.0


def _covered(row: Row) -> bool:
    return (row.value("coverage") or 0.0) > 0


def _status(passed: bool | None, violations: list[str],
            insufficient: list[str] | None = None) -> str:
    if passed is False or violations:  # a violation is a failure, whatever else is set
        return "fail"
    if passed is None and insufficient:  # too few samples: neither a pass nor a fail
        return "insufficient"
    return "unchecked" if passed is None else "pass"

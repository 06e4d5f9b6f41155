"""The trend page of a run history (``History.trend_html``, ``robustcheck history
--report``): line charts over runs, in the reports' style, with a table of the same
numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._report_format import _clip, _inert
from .report import _render

MAX_X_LABELS = 12


def render_trends(trends: Mapping[str, Any]) -> str:
    """The page of :meth:`History.trend`'s trends (``history.Trend`` objects, not
    imported here: history imports this module): per model, the score and each family's
    failure rate across runs, as charts and as a table of the same numbers."""
    names = list(trends)
    heading = names[0] if len(names) == 1 else f"{len(names)} models"
    return _render("trend.html.j2", {
        "title": f"Run history: {_inert(heading)}", "heading": _inert(heading),
        "models": [_trend_context(t, f"m{i}") for i, t in enumerate(trends.values(), 1)]})


def _trend_context(trend: Any, anchor: str) -> dict[str, Any]:
    labels = [_clip(r.label, 40) for r in trend.runs]
    scored = [s for s in trend.scores if s is not None]
    score_ticks = _ticks(min([*scored, 90.0]), 100.0)
    rate_ticks = _ticks(0.0, min(1.0, max([0.05, *(v for vs in trend.families.values()
                                                   for v in vs if v is not None)])))
    rows = [{"id": r.id, "label": labels[i], "created": r.created[:19].replace("T", " "),
             "commit": (r.commit or "")[:10], "score": _number(r.score, _score_text),
             "complete": "yes" if r.complete else "no (stopped early)",
             "rates": [_number(v[i], _rate_text) for v in trend.families.values()]}
            for i, r in enumerate(trend.runs)]
    first, last = trend.runs[0], trend.runs[-1]
    summary = f"{len(trend.runs)} run{'s' if len(trend.runs) > 1 else ''}"
    if len(trend.runs) > 1 and first.score is not None and last.score is not None:
        summary += (f"; score {first.score:.1f} ({labels[0]}) to {last.score:.1f} "
                    f"({labels[-1]}), {last.score - first.score:+.1f}")
    return {
        "id": anchor, "model": _clip(trend.model, 200), "summary": _inert(summary),
        "families": [_clip(f, 60) for f in trend.families], "rows": rows,
        "score": _line_chart(labels, [("score", trend.scores)], score_ticks, _score_text),
        "rates": _line_chart(labels, [(_clip(f, 60), v) for f, v in trend.families.items()],
                             rate_ticks, _rate_text),
    }


def _line_chart(labels: list[str], series: Sequence[tuple[str, Sequence[float | None]]],
                ticks: list[float], text: Any) -> dict[str, Any]:
    """Coordinates of a line chart over runs (x: run, evenly spaced), one series per
    name; a run without a value breaks its line."""
    from ._report_charts import DASHES, PALETTE

    x0, x1, y0, y1 = 72.0, 560.0, 24.0, 220.0
    low, high = ticks[0], ticks[-1]
    k = len(labels)
    sx = lambda i: f"{x0 + (x1 - x0) * (i / (k - 1) if k > 1 else 0.5):.1f}"  # noqa: E731
    sy = lambda v: f"{y1 - (y1 - y0) * (min(max(v, low), high) - low) / (high - low):.1f}"  # noqa: E731
    drawn = []
    for i, (name, values) in enumerate(series):
        lines: list[list[str]] = [[]]
        dots = []
        for j, v in enumerate(values):
            if v is None:
                lines.append([])
                continue
            lines[-1].append(f"{sx(j)},{sy(v)}")
            dots.append({"x": sx(j), "y": sy(v), "title": f"{name}, {labels[j]}: {text(v)}"})
        drawn.append({"color": PALETTE[i % len(PALETTE)], "legend": name,
                      "dash": DASHES[(i // len(PALETTE)) % len(DASHES)],
                      "lines": [" ".join(points) for points in lines if len(points) > 1],
                      "dots": dots})
    every = max(1, math.ceil(k / MAX_X_LABELS))
    return {"x0": x0, "x1": x1, "y0": y0, "y1": y1, "height": f"{y1 + 84:.0f}",
            "series": drawn,
            "xticks": [{"x": sx(j), "label": labels[j]} for j in range(0, k, every)],
            "yticks": [{"y": sy(t), "label": text(t, tick=True)} for t in ticks]}


def _ticks(low: float, high: float) -> list[float]:
    """At most six round values from below ``low`` to ``high``."""
    span = max(high - low, 1e-9)
    step = next(s for s in (m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5))
                if span / s <= 5)
    start = math.floor(low / step + 1e-9) * step
    count = math.ceil((high - start) / step - 1e-9)
    return [round(start + step * i, 9) for i in range(count + 1)]


def _score_text(v: float, *, tick: bool = False) -> str:
    return f"{v:g}" if tick else f"{v:.1f}"


def _rate_text(v: float, *, tick: bool = False) -> str:
    return f"{round(100 * v, 6):g}%" if tick else f"{100 * v:.1f}%"


def _number(v: float | None, text: Any) -> dict[str, str]:
    return {"text": "—", "value": ""} if v is None else {"text": text(v), "value": f"{v:.6g}"}



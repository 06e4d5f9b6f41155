"""The report's charts as plain coordinates and labels, drawn by the templates: failure
rate at each perturbation's highest severity (bars), failure rate against severity per
family (curves) and, for image corruptions, per ImageNet-C group (curves)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._report_format import _cell, _clip, _covered, _failure, _finite, _metric

if TYPE_CHECKING:
    from .results import Row, RunResult

WORST_BARS = 10
PALETTE = ("#2f6690", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#66a182", "#8d6a9f",
           "#e07a5f", "#3d405b", "#81b29a")
DASHES = ("", "6 3", "2 3")


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
    return _draw(_family_means(result), result.severities, {})


IMAGE_GROUPS = {"image_noise": "noise", "blur": "blur", "weather": "weather",
                "digital": "digital"}
"""The ImageNet-C groups of image corruptions: family -> group."""


def _group_curves(result: RunResult) -> dict[str, Any] | None:
    """The curves of the image corruption groups alone (noise, blur, weather, digital),
    named by group; None unless the run holds a measured row of one of those families
    (family names are unique across modalities: these four are the image corruptions')."""
    means = {f: pts for f, pts in _family_means(result).items() if f in IMAGE_GROUPS}
    if not means:
        return None
    return _draw(means, result.severities, IMAGE_GROUPS, fixed=list(IMAGE_GROUPS))


def _family_means(result: RunResult) -> dict[str, dict[float, float]]:
    """Per family, per severity: the mean failure rate of its rows that changed an input."""
    by_family: dict[str, dict[float, list[float]]] = {}
    for r in result.rows:
        rate = r.value("failure_rate")
        if rate is not None and _covered(r):
            by_family.setdefault(r.family, {}).setdefault(r.severity, []).append(rate)
    return {f: {s: sum(v) / len(v) for s, v in sorted(points.items())}
            for f, points in by_family.items()}


def _draw(means: Mapping[str, Mapping[float, float]], severities: list[float],
          names: Mapping[str, str], fixed: list[str] | None = None) -> dict[str, Any]:
    """The coordinates of a severity chart, one line per key of ``means`` (shown as
    ``names`` gives it, else as is), coloured by rank, or by place in ``fixed`` (the
    same group keeps its colour from run to run)."""
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
        name = names.get(family, family)
        c = fixed.index(family) if fixed and family in fixed else i
        series.append({
            "color": PALETTE[c % len(PALETTE)], "dash": DASHES[(c // len(PALETTE)) % 3],
            "points": " ".join(f"{sx(s)},{sy(v)}" for s, v in pts.items()),
            "dots": [{"x": sx(s), "y": sy(v),
                      "title": f"{name} at severity {s:g}: {100 * v:.1f}%"}
                     for s, v in pts.items()],
            "legend_y": f"{y0 + 6 + 18 * i:.1f}",
            "legend": f"{name} ({100 * max(pts.values()):.1f}% at most)",
        })
    return {
        "series": series, "x0": x0, "x1": x1, "y0": y0, "y1": y1,
        "height": f"{y1 + 44:.0f}", "legend_x": x1 + 64,
        "xticks": [{"x": sx(s), "label": f"{s:g}"}
                   for s in sorted({0.0, *severities}) if 0 <= s <= 1],
        "yticks": [{"y": sy(step * k), "label": f"{100 * step * k:.0f}%"}
                   for k in range(round(y_max / step) + 1)],
    }

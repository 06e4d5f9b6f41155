"""The view-model of a comparison of runs A and B (a ``robustcheck.comparison`` dict,
as :class:`~robustcheck.comparison.Comparison` writes it) for ``comparison.html.j2``:
rows grouped by verdict, the metrics that decided each, the summary, the chart of the
paired change in failure rate, the samples that flipped, and the two manifests side by
side. Files written before ``mixed``, ``decided_by``, the delta intervals and the
flipped samples existed render too (as no mixed rows, no metric named, bars without
whiskers and no samples)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._report_examples import _example
from ._report_format import (
    PERCENT,
    _anchors,
    _cell,
    _clip,
    _duration,
    _finite,
    _inert,
    _model_text,
    _p,
    _plain,
)

VERDICTS = ("regression", "mixed", "improvement", "no significant change")
"""Row verdicts in the order the report groups them (``comparison.VERDICTS``)."""
DELTA_MARKS = 30
"""Marks the delta chart draws at most: one per row while the rows fit, else one per
perturbation (its most significant row); significant ones first."""
FLIPS_LIMIT = 10
"""Flipped samples drawn per direction, whatever a (hand-edited) file holds."""
INPUT_LIMIT = 2000
"""Characters of an input shown when its perturbed form is unknown (a stored text's
length, ``_cases.TEXT_LIMIT``)."""
FLIP_WAYS = (("worse", "Kept its expectation under A, failed under B"),
             ("better", "Failed under A, kept its expectation under B"))


def _comparison_context(c: Mapping[str, Any]) -> dict[str, Any]:
    rows = [_comparison_row(r) for r in c.get("rows") or []]
    rank = {v: i for i, v in enumerate(VERDICTS)}
    rows.sort(key=lambda r: (rank.get(r["verdict"], len(VERDICTS)), r["p_sort"],
                             r["perturbation"], r["severity_value"]))
    verdicts = dict.fromkeys([*VERDICTS, *(r["verdict"] for r in rows)])
    groups = [{"verdict": v, "rows": [r for r in rows if r["verdict"] == v]} for v in verdicts]
    anchors = _anchors("flips", [f"{r['perturbation']}-{r['severity']}" for r in rows])
    for r in rows:
        flipped = any(part["count"] for part in r["flips"])
        r["anchor"] = anchors[f"{r['perturbation']}-{r['severity']}"] if flipped else ""
    flips_from = (c.get("flips") or {}).get("inputs")
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
        "delta": _delta_chart(rows), "flipped": [r for r in rows if r["anchor"]],
        "unflipped": [f"{r['perturbation']}@{r['severity']}" for r in rows
                      if r["flips"] and not r["anchor"]],
        "flips_shown": int(_finite((c.get("flips") or {}).get("shown")) or 5),
        "flips_from_examples": flips_from == "examples",
        "partial": [s for s, side in (("A", a), ("B", b)) if side.get("complete") is False],
        "verdict": _banner(summary, a, b),
        "unpaired": [str(k) for k in c.get("unpaired") or []],
        "mce": _mce_lines(c.get("mce")),
    }


def _mce_lines(block: Any) -> list[str]:
    """The mCE of B against A (image runs with corruption rows) in words; every value
    read from the file is checked before it is written."""
    if not isinstance(block, Mapping):
        return []
    lines = []
    why: Mapping[str, Any] = block["why"] if isinstance(block.get("why"), Mapping) else {}
    for key, name in (("mce", "mCE"), ("relative_mce", "relative mCE")):
        m = block.get(key)
        m = m if isinstance(m, Mapping) else {}
        value = _finite(m.get("value"))
        if value is None:
            if key in block:
                reason = _clip(_plain(why.get(key) or "not defined"), 200)
                lines.append(f"{name} of B against A: undefined ({reason})")
            continue
        low, high = (_finite(m.get(k)) for k in ("low", "high"))
        bounds = "[" + ", ".join("-" if x is None else f"{x:.3f}" for x in (low, high)) + "]"
        count = len(m["per_corruption"]) if isinstance(m.get("per_corruption"), list) else 0
        lines.append(f"{name} of B against A: {value:.3f} {bounds} over {count} corruptions "
                     "(below 1: B is more robust; 95% paired bootstrap)")
    return [_inert(line) for line in lines]


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
            "ci": _delta_interval(name, m),
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
    row = {"perturbation": str(r.get("perturbation")), "severity_value": severity or 0.0,
           "severity": "—" if severity is None else f"{severity:g}",
           "expectation": _plain(r.get("expectation")), "verdict": str(r.get("verdict")),
           "css": _css(r.get("verdict")), "metrics": metrics,
           "decided_by": ", ".join(name.replace("_", " ") for name in decided),
           "p_sort": min((p for p in ps if p is not None), default=1.0),
           "failure": _failure_delta((r.get("metrics") or {}).get("failure_rate"))}
    row["flips"] = _flips(r["flips"]) if isinstance(r.get("flips"), Mapping) else []
    return row


def _delta_interval(name: str, m: Mapping[str, Any]) -> str:
    """The 95% interval of the paired difference ("" in files written without it)."""
    low, high = _finite(m.get("delta_low")), _finite(m.get("delta_high"))
    if low is None or high is None:
        return ""
    if name in PERCENT:
        return f"[{100 * low:+.1f}, {100 * high:+.1f}]"
    return f"[{low:+.3f}, {high:+.3f}]"


def _failure_delta(m: Any) -> dict[str, Any] | None:
    """The paired change in failure rate and its interval (None: not compared)."""
    if not isinstance(m, Mapping):
        return None
    delta = _finite(m.get("paired_delta"))
    delta = _finite(m.get("delta")) if delta is None else delta
    if delta is None:
        return None
    low, high = _finite(m.get("delta_low")), _finite(m.get("delta_high"))
    if low is None or high is None or not low <= delta <= high:
        low = high = None
    a, b = (_finite((m.get(side) or {}).get("value")) for side in ("a", "b"))
    text = f"{100 * delta:+.1f} pp"
    if low is not None and high is not None:
        text += f" [{100 * low:+.1f}, {100 * high:+.1f}]"
    return {"delta": delta, "low": low, "high": high, "text": text,
            "rates": f"{'—' if a is None else f'{100 * a:.1f}%'} → "
                     f"{'—' if b is None else f'{100 * b:.1f}%'}",
            "p": _p(m.get("p_adjusted"))}


# -- the delta chart ---------------------------------------------------------------------


def _delta_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars from zero to the paired change in failure rate (B − A) with its 95%
    interval, grouped by verdict in the table's order (largest change first within a
    group). Coordinates and labels only: the template draws them."""
    drawn = [r for r in rows if r["failure"] is not None]
    per_perturbation = len(drawn) > DELTA_MARKS
    if per_perturbation:  # rows come in table order: a perturbation's first is its most
        first: dict[str, dict[str, Any]] = {}  # significant one
        for r in drawn:
            first.setdefault(r["perturbation"], r)
        drawn = list(first.values())
    rank = {v: i for i, v in enumerate(VERDICTS)}
    drawn.sort(key=lambda r: (rank.get(r["verdict"], len(VERDICTS)),
                              -abs(r["failure"]["delta"]), r["perturbation"],
                              r["severity_value"]))
    hidden = max(len(drawn) - DELTA_MARKS, 0)
    drawn = drawn[:DELTA_MARKS]
    # The scale fits every change and the intervals of the significant rows; a wide
    # interval of a row without a significant change (few changed samples) is cut at the
    # edge rather than squeezing every other bar.
    reach = max([0.0, *(abs(r["failure"]["delta"]) for r in drawn),
                 *(abs(r["failure"][k]) for r in drawn for k in ("low", "high")
                   if r["failure"][k] is not None and r["verdict"] != VERDICTS[-1])])
    extent = next(t for t in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0) if reach <= t + 1e-12)
    left, right, step = 250.0, 700.0, 24.0
    x = lambda v: left + (right - left) * (min(max(v, -extent), extent) + extent) / (  # noqa: E731
        2 * extent)
    marks: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    y = 30.0
    for r in drawn:
        f = r["failure"]
        if not heads or heads[-1]["verdict"] != r["verdict"]:
            heads.append({"verdict": r["verdict"], "y": f"{y + 12:.1f}",
                          "label": r["verdict"].capitalize(), "count": 0})
            y += 20
        heads[-1]["count"] += 1
        start, end = sorted((x(0.0), x(f["delta"])))
        marks.append({
            "css": r["css"], "y": f"{y:.1f}", "mid": f"{y + 8:.1f}",
            "label": _inert(f"{_clip(r['perturbation'], 32)} @ {r['severity']}"),
            "bar_x": f"{start:.1f}", "bar_width": f"{max(end - start, 0.0):.1f}",
            "dot": f"{x(f['delta']):.1f}",
            "low": None if f["low"] is None else f"{x(f['low']):.1f}",
            "high": None if f["high"] is None else f"{x(f['high']):.1f}",
            "low_cap": f["low"] is not None and f["low"] >= -extent,
            "high_cap": f["high"] is not None and f["high"] <= extent,
            "text": f["text"],
            "title": f"{_inert(r['perturbation'])} at severity {r['severity']}: failure rate "
                     f"{f['rates']}, change {f['text']}"
                     f"{'' if f['low'] is None else ' (95% interval)'}, adjusted p "
                     f"{f['p']}; {r['verdict']}",
        })
        y += step
    for h in heads:
        h["label"] = f"{h['label']} ({h['count']})"
    ticks = [{"x": f"{x(t * extent):.1f}", "label": f"{100 * t * extent:+g} pp"
              if t else "0"} for t in (-1, -0.5, 0, 0.5, 1)]
    counts = {v: sum(r["verdict"] == v for r in drawn) for v in VERDICTS}
    return {"marks": marks, "heads": heads, "ticks": ticks, "left": left, "right": right,
            "zero": f"{x(0.0):.1f}", "top": 22.0, "bottom": f"{y:.1f}",
            "height": f"{y + 22:.0f}", "hidden": hidden, "per_perturbation": per_perturbation,
            "label": "Change in failure rate, B minus A, with 95% intervals: "
                     + ", ".join(f"{n} {v}" for v, n in counts.items() if n),
            "axis_y": f"{y + 14:.1f}"}


# -- flipped samples ---------------------------------------------------------------------


def _flips(flips: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Both directions of a significant row's flipped samples, as the run report shows
    its examples: the change highlighted, each run's answers before and after."""
    out = []
    for way, heading in FLIP_WAYS:
        part = flips.get(way) or {}
        samples = [s for s in part.get("samples") or [] if isinstance(s, Mapping)]
        out.append({"way": way, "heading": heading,
                    "count": int(_finite(part.get("count")) or 0),
                    "samples": [_flip_sample(s) for s in samples[:FLIPS_LIMIT]]})
    return out


def _flip_sample(s: Mapping[str, Any]) -> dict[str, Any]:
    """``shown``: "pair" (input and perturbed input, the change marked), "input" (the
    perturbed input is unknown) or "" (neither is known: the index only)."""
    given, perturbed = s.get("input"), s.get("perturbed")
    shown = "" if given is None else "input" if perturbed is None else "pair"
    e = _example({"input": given, "perturbed": perturbed, "severity": 0,
                  "index": s.get("index")}) if shown == "pair" else {}
    changes = [{"column": _inert(c["column"]), "before": _inert_segments(c["before"]),
                "after": _inert_segments(c["after"])} for c in e.get("changes", [])]
    return {"index": _inert(_plain(s.get("index"))), "shown": shown,
            "image": e.get("image", False), "pictures": e.get("pictures"),
            "tabular": e.get("tabular", False), "before": _inert_segments(e.get("before", [])),
            "after": _inert_segments(e.get("after", [])), "changes": changes,
            "more": e.get("more", 0), "note": e.get("note", ""),
            "input": _inert(_clip(_plain(given), INPUT_LIMIT)),
            "label": None if s.get("label") is None else _inert(_plain(s.get("label"))),
            "a": _answer(s.get("a")), "b": _answer(s.get("b"))}


def _inert_segments(segments: list[dict[str, str]]) -> list[dict[str, str]]:
    """Bidirectional controls in a text would reorder what surrounds it on the page:
    shown as their code point (the highlight still marks them as changed)."""
    return [{**seg, "text": _inert(seg["text"])} for seg in segments]


def _answer(side: Any) -> str:
    """A run's answers to one sample: clean → perturbed (or the crash)."""
    side = side if isinstance(side, Mapping) else {}
    after = (f"crash ({_clip(str(side['crash']), 160)})" if side.get("crash") else "crash") \
        if side.get("crashed") else _plain(side.get("answer"))
    return _inert(f"{_plain(side.get('clean'))} → {after}")


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


def _banner(summary: Mapping[str, Any], a: Mapping[str, Any], b: Mapping[str, Any]
            ) -> dict[str, Any]:
    """The comparison's verdict first: REGRESSION when any row is one (what makes
    ``robustcheck compare`` exit 1), else MIXED, IMPROVEMENT or NO SIGNIFICANT CHANGE;
    INCOMPLETE when a run stopped early."""
    counts = {k: int(_finite(summary.get(k)) or 0)
              for k in ("regressions", "mixed", "improvements", "unchanged")}
    status, cls = next(((word, c) for key, word, c in (
        ("regressions", "REGRESSION", "fail"), ("mixed", "MIXED", "unchecked"),
        ("improvements", "IMPROVEMENT", "pass")) if counts[key]),
        ("NO SIGNIFICANT CHANGE", "pass"))
    tags = [status] + (["INCOMPLETE"] if any(side.get("complete") is False
                                             for side in (a, b)) else [])
    reason = ", ".join(f"{n} {key if n != 1 else key.rstrip('s')}"
                       for key, n in counts.items() if n and key != "unchanged")
    return {"tags": tags, "cls": cls,
            "reason": f"B against A: {reason or 'no row changed significantly'}"}

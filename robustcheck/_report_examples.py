"""What went wrong, input by input: the worst examples per perturbation (the change
highlighted, the answers before and after) and the recorded crashes, grouped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._highlight import Segments, _lead, _segments, _window
from ._metricinfo import CRASHES_PER_ROW, MESSAGE_LIMIT
from ._report_format import _anchors, _cell, _cell_value, _clip, _finite, _metric, _plain

if TYPE_CHECKING:
    from .results import Row, RunResult

CRASHES_SHOWN_PER_ROW = CRASHES_PER_ROW  # every crash the result kept
INPUT_LIMIT = 200
CELLS_SHOWN = 12
EXPECTED = {"invariant": "the same label", "directional": "a different label",
            "no-crash": "any answer"}


# -- examples ------------------------------------------------------------------------


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
            "validity": _validity(record),
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


# -- crashes -------------------------------------------------------------------------


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


def _validity(record: Mapping[str, Any]) -> str:
    """The perturbation's validity study in words ("" without a study)."""
    from perturbations import validity_phrase  # the report module loads without numpy

    study = validity_phrase(record, long=True)
    return f"Validity study: {study}." if study else ""

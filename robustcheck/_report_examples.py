"""What went wrong, input by input: the worst examples per perturbation (the change
highlighted, the answers before and after) and the recorded crashes, grouped."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ._crashpattern import pattern as _pattern
from ._highlight import Segments, _lead, _segments, _window
from ._metricinfo import CRASHES_PER_ROW, MESSAGE_LIMIT
from ._report_format import _cell, _cell_value, _clip, _finite, _inert, _metric, _plain
from ._thumbnails import is_thumbnail, thumbnail_size

if TYPE_CHECKING:
    from ._task_base import Task
    from .results import Row, RunResult

CRASHES_SHOWN_PER_ROW = CRASHES_PER_ROW  # every crash the result kept
INPUT_LIMIT = 200
OUTPUT_LIMIT = 600
"""Characters of a generated output an example shows (clean and perturbed each)."""
CELLS_SHOWN = 12


# -- examples ------------------------------------------------------------------------


def _task(result: RunResult) -> Task:
    """The result's task (a plug-in's task that is not installed here reads as labels)."""
    from . import tasks
    from .errors import InvalidArgument

    try:
        return tasks.get(result.task)
    except InvalidArgument:
        return tasks.CLASSIFICATION


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
    expected = _task(result).expected_phrase(str(record.get("expectation")))
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
    image = tabular and _is_image(e["input"]) and _is_image(e["perturbed"])
    pictures: dict[str, Any] | None = None
    if image:
        pictures = {"before": _picture(e["input"], "clean"),
                    "after": _picture(e["perturbed"], "perturbed")}
        changes, more, note = _changed_fields(e["input"], e["perturbed"])
    elif tabular:
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
        # an image is also "tabular" (its fields as cells) where pictures are not drawn
        "tabular": tabular, "image": image, "pictures": pictures,
        "before": before, "after": after,
        "glance_before": _window(before, lead), "glance_after": _window(after, lead),
        "changes": changes, "more": more, "note": note,
        "minimal": _minimal(e),
        "label": None if e.get("label") is None else _plain(e["label"]),
        "clean": _plain(e.get("clean")), "predicted": _plain(e.get("predicted")),
        "crash": f"{crash.get('type')}: {_clip(first_line, 160)}" if crash else None,
        "confidence": None if conf is None else
        f"{conf:.3f} → {'—' if conf_after is None else f'{conf_after:.3f}'}",
        "similarity": None if _finite(e.get("similarity")) is None else
        f"{float(e['similarity']):.3f}",
        "outputs": _outputs(e),
    }


def _outputs(e: Mapping[str, Any]) -> dict[str, Any] | None:
    """A generated answer's clean and perturbed text as a character diff (the report
    marks what the model wrote differently); None for labels and numbers."""
    if "similarity" not in e or not isinstance(e.get("clean"), str) or \
            not isinstance(e.get("predicted"), str):
        return None
    before, after = _segments(_clip(e["clean"], OUTPUT_LIMIT), _clip(e["predicted"], OUTPUT_LIMIT))
    return {"before": before, "after": after}


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


# -- images --------------------------------------------------------------------------

IMAGE_FIELDS = ("image", "mean", "min", "max", "digest")
"""The summary an image modality stores for an image (``Image.show``), with "thumbnail"."""
PIXELATED_BELOW = 48
"""Thumbnails smaller than this many pixels a side are drawn larger, pixel by pixel."""
SHOWN_SIDE = 96
IMAGES_PER_PAGE = 120
"""At most this many thumbnails on one audit's page (the glance counts again)."""
IMAGE_BYTES_PER_PAGE = 1_500_000
"""...and at most this many characters of them."""
_SHAPE = re.compile(r"(\d+)×(\d+)(?:×(\d+))?")
_CHANNEL_WORDS = {"1": "grayscale", "3": "colour", "4": "colour with alpha"}


def _is_image(value: Mapping[str, Any]) -> bool:
    """Whether a stored input is an image's summary (a hostile file may say so too: it
    only decides how the fields are laid out, never what goes into an ``src``)."""
    return "thumbnail" in value or set(IMAGE_FIELDS) <= set(value)


def _picture(value: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    """An ``<img>`` of a stored image: its thumbnail if it passes ``is_thumbnail``, its
    alternative text, and the size to draw it (small images scaled up, pixelated)."""
    uri = value.get("thumbnail")
    size = thumbnail_size(uri)
    if size is None or not isinstance(uri, str):
        return None
    width, height = size
    described = _described(value.get("image"), width, height)
    scale = max(1, SHOWN_SIDE // max(width, height)) if max(width, height) < \
        PIXELATED_BELOW else 1
    return {"src": uri, "alt": f"{role} input, {described}", "width": width * scale,
            "height": height * scale, "pixelated": scale > 1, "chars": len(uri)}


def _described(image: Any, width: int, height: int) -> str:
    """ "28x28 grayscale" from the stored shape "28×28 uint8" (the thumbnail's own size
    when the shape is missing or unreadable)."""
    found = _SHAPE.match(str(image)) if isinstance(image, str) else None
    if found is None:
        return f"{width}x{height}"
    rows, cols, channels = found.groups()
    if "PIL" in str(image):
        mode = str(image).rsplit("PIL", 1)[1].strip()
        kind = {"L": "grayscale", "RGB": "colour", "RGBA": "colour with alpha"}.get(
            mode, _clip(mode, 12))
    else:
        kind = _CHANNEL_WORDS.get(channels or "1", "")
    return _clip(f"{cols}x{rows} {kind}".strip(), 60)


def _changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]
                    ) -> tuple[list[dict[str, Any]], int, str]:
    """The summary fields that changed, as plain before/after text, never a character
    diff (the pictures show the change; a digest's characters mean nothing); not a valid
    thumbnail: one that fails the check is shown as (clipped) text, like any value."""
    rows = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field, ...), after.get(field, ...)
        if old == new and type(old) is type(new):
            continue
        if field == "thumbnail" and (old is ... or is_thumbnail(old)) and \
                (new is ... or is_thumbnail(new)):
            continue
        a = "absent" if old is ... else _clip(_cell_value(old), INPUT_LIMIT)
        b = "absent" if new is ... else _clip(_cell_value(new), INPUT_LIMIT)
        rows.append({"column": _inert(str(field)), "before": [{"op": "equal", "text": a}],
                     "after": [{"op": "equal", "text": b}]})
    note = "" if any(r["column"] != "digest" for r in rows) else \
        "the summary statistics are the same: only pixels moved"
    return rows[:CELLS_SHOWN], max(len(rows) - CELLS_SHOWN, 0), note


def _without_pixels(value: Any) -> Any:
    """A stored image without its thumbnail and digest, for text (crash records)."""
    if isinstance(value, Mapping) and _is_image(value):
        return {k: v for k, v in value.items() if k not in ("thumbnail", "digest")}
    return value


def _bound_pictures(examples: list[dict[str, Any]], glance: int) -> int:
    """Drop the thumbnails past the page's budget (worst examples keep theirs); the
    first entry of the first ``glance`` examples shows twice and counts twice. Returns
    how many examples lost their pictures."""
    count = chars = dropped = 0
    for k, ex in enumerate(examples):
        for j, entry in enumerate(ex["entries"]):
            pictures = entry.get("pictures")
            if not pictures:
                continue
            shown = [p for p in pictures.values() if p is not None]
            times = 2 if k < glance and j == 0 else 1
            cost = times * sum(p["chars"] for p in shown)
            if count + times * len(shown) > IMAGES_PER_PAGE or \
                    chars + cost > IMAGE_BYTES_PER_PAGE:
                entry["pictures"] = None
                dropped += 1
                continue
            count += times * len(shown)
            chars += cost
    return dropped


# -- crashes -------------------------------------------------------------------------

EXAMPLES_PER_GROUP = 3
GROUPS_SHOWN = 40  # the rest of the groups share one line: the section's height is bounded
CLEAN = "clean inputs"
_NOT_KEPT: Any = object()

def _crashes(result: RunResult, prefix: str) -> dict[str, Any]:
    """The recorded crashes grouped by exception type and message pattern across
    perturbations, the clean pass's apart and first, then the largest group: where each
    happened and a few examples, the perturbed input that crashed beside its clean
    original. Its size follows the recorded crashes (at most CRASHES_PER_ROW a row)."""
    totals = _crash_totals(result)
    stored = _stored_inputs(result)
    patterns = _by_pattern(result.crashes)
    regenerates = result.source is not None
    picked = [_pick(crashes, stored, regenerates) for crashes in patterns[:GROUPS_SHOWN]]
    wanted = [c for examples in picked for c in examples if _key(c) not in stored]
    after = {**_regenerated(result, wanted), **stored}
    anchors = [f"{prefix}crash-{i}" if i <= GROUPS_SHOWN else f"{prefix}crash-more"
               for i in range(1, len(patterns) + 1)]
    shown = [_group(crashes, examples, after, totals, anchor)
             for crashes, examples, anchor in zip(patterns, picked, anchors)]
    rest = [_group(crashes, [], after, totals, anchors[-1])
            for crashes in patterns[GROUPS_SHOWN:]]
    # "groups" are the crashes by perturbation, as before (the session page sums their
    # totals); "patterns" are the groups by exception and message.
    by_perturbation = _by_perturbation(totals, patterns, anchors)
    return {"patterns": shown, "groups": by_perturbation,
            "rest": {"anchor": anchors[-1], "patterns": rest,
                     "recorded": sum(g["count"] for g in rest)} if rest else None,
            "per_row": CRASHES_SHOWN_PER_ROW, "per_group": EXAMPLES_PER_GROUP,
            "recorded": len(result.crashes),
            "crashed": sum(g["total"] for g in by_perturbation)}


def _key(c: Mapping[str, Any]) -> tuple[str | None, float | None, Any]:
    """(perturbation, severity, sample index) of a crash; None, None for the clean pass."""
    severity = c.get("severity")
    return c.get("perturbation"), None if severity is None else float(severity), c.get("index")


def _crash_totals(result: RunResult) -> dict[str | None, dict[float | None, int]]:
    """Crashed inputs per perturbation and severity (None: the clean pass), all of them,
    from the per-sample arrays, not only the recorded ones."""
    totals: dict[str | None, dict[float | None, int]] = {}
    if result.clean.get("crashes"):
        totals[None] = {None: int(result.clean["crashes"])}
    for r in result.rows:
        crashed = int(r.crashed.sum())
        if crashed:
            totals.setdefault(r.perturbation, {})[r.severity] = crashed
    return totals


def _by_pattern(crashes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The crashes by (clean pass?, exception type, message pattern), largest first."""
    groups: dict[tuple[bool, str, str], list[dict[str, Any]]] = {}
    for c in crashes:
        key = (c.get("perturbation") is not None, str(c.get("type")),
               _pattern(str(c.get("message"))))
        groups.setdefault(key, []).append(c)
    order = sorted(groups, key=lambda k: (k[0], -len(groups[k]), k[1], k[2]))
    return [groups[k] for k in order]


def _stored_inputs(result: RunResult) -> dict[tuple[str | None, float | None, Any], Any]:
    """The perturbed inputs the result keeps: its examples' and its attacks'."""
    out: dict[tuple[str | None, float | None, Any], Any] = {}
    for name, entries in result.examples.items():
        for e in entries:
            if "perturbed" in e:
                out[(name, float(e.get("severity", 0)), e.get("index"))] = e["perturbed"]
    for row in result.rows:
        for i, x in row.inputs.items():
            out[(row.perturbation, row.severity, i)] = x
    return out


def _pick(crashes: list[dict[str, Any]], stored: Mapping[Any, Any], regenerates: bool
          ) -> list[dict[str, Any]]:
    """A few examples, one from each perturbation in turn and, within one, from each
    severity in turn. A result that cannot regenerate perturbed inputs (loaded from a
    file) shows first those it keeps."""
    by_name: dict[str | None, list[dict[str, Any]]] = {}
    for c in crashes:
        by_name.setdefault(c.get("perturbation"), []).append(c)
    queues = []
    for _, q in sorted(by_name.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        rank: Counter[float | None] = Counter()
        keyed: list[tuple[bool, int, float, int, dict[str, Any]]] = []
        for c in q:
            severity = _key(c)[1]
            keyed.append((not regenerates and _key(c) not in stored, rank[severity],
                          severity or 0.0, len(keyed), c))
            rank[severity] += 1
        queues.append([k[-1] for k in sorted(keyed, key=lambda k: k[:4])])
    picks = [q[depth] for depth in range(EXAMPLES_PER_GROUP) for q in queues if depth < len(q)]
    return picks[:EXAMPLES_PER_GROUP]


def _regenerated(result: RunResult, wanted: list[dict[str, Any]]
                 ) -> dict[tuple[str | None, float | None, Any], Any]:
    """The perturbed inputs of ``wanted`` crashes, regenerated from the seed; none when
    the result does not hold its data (it was loaded from a file)."""
    if result.source is None or not wanted:
        return {}
    from perturbations import PerturbationError

    from ._cases import perturbed_by_unit, source_of  # only here: loads numpy
    from .errors import InvalidArgument

    try:
        data, suite = source_of(result, None, None, "the report")
    except (InvalidArgument, PerturbationError):
        return {}
    attacks = {r.perturbation for r in result.rows if "attack" in r.details}
    keys = [_key(c) for c in wanted]
    # the clean pass and an attack's inputs: nothing to regenerate
    units = [(name, severity, index) for name, severity, index in keys
             if name is not None and name in suite and name not in attacks
             and severity is not None and isinstance(index, int)]
    # the keys here may hold None and dict keys are invariant: a cast, not a copy
    return cast("dict[tuple[str | None, float | None, Any], Any]",
                perturbed_by_unit(data, suite, result.seed, units))


def _group(crashes: list[dict[str, Any]], examples: list[dict[str, Any]],
           after: Mapping[Any, Any], totals: Mapping[str | None, Mapping[float | None, int]],
           anchor: str) -> dict[str, Any]:
    first = crashes[0]
    per_name = Counter(c.get("perturbation") for c in crashes)
    per_unit = Counter(_key(c)[:2] for c in crashes)
    names = sorted(per_name, key=lambda n: (-per_name[n], str(n)))
    parts: dict[str | None, list[str]] = {}
    for (name, severity), k in sorted(per_unit.items(), key=lambda u: u[0][1] or 0.0):
        of = totals.get(name, {}).get(severity)  # every crashed input of that row
        parts.setdefault(name, []).append(("" if severity is None else f"{severity:g}: ")
                                          + f"{k}" + (f" of {of}" if of else ""))
    where = [{"name": _inert(name or CLEAN), "recorded": per_name[name],
              "severities": " · ".join(parts[name])} for name in names]
    shown = [_inert(name or CLEAN) for name in names[:3]]
    entries = [_crash_example(c, after.get(_key(c), _NOT_KEPT)) for c in examples]
    return {"anchor": anchor, "clean": first.get("perturbation") is None,
            "type": _inert(str(first.get("type"))),
            "pattern": _inert(_pattern(str(first.get("message")))), "count": len(crashes),
            "names": ", ".join(shown) + (f" and {len(names) - 3} more" if len(names) > 3
                                         else ""),
            "where": where, "examples": entries,
            "missing": any(e["kind"] == "missing" for e in entries)}


def _crash_example(c: Mapping[str, Any], after: Any) -> dict[str, Any]:
    """The perturbed input that crashed beside its clean original (changed cells for a
    row of a table), or the input alone for the clean pass or when the result does not
    keep the perturbed one."""
    name, severity, index = _key(c)
    given = _without_pixels(c.get("input"))
    after = _without_pixels(after)
    entry: dict[str, Any] = {
        "where": (f"{_inert(name)} · severity {severity:g} · input #{index}"
                  if name is not None and severity is not None else f"clean input #{index}"),
        "message": _inert(_clip(str(c.get("message")), MESSAGE_LIMIT)),
        "kind": "input", "before": [], "after": [], "changes": [], "more": 0, "note": "",
        "input": ""}
    if name is not None and after is not _NOT_KEPT:
        if isinstance(given, Mapping) and isinstance(after, Mapping):
            changes, more, note = _changed_cells(_inert_cells(given), _inert_cells(after))
            entry.update(kind="cells", changes=changes, more=more, note=note)
        else:
            before, later = _segments(_inert(str(given)), _inert(str(after)))
            lead = min((x for x in (_lead(before), _lead(later)) if x is not None), default=0)
            entry.update(kind="pair", before=_window(before, lead, INPUT_LIMIT),
                         after=_window(later, lead, INPUT_LIMIT))
        return entry
    text = _plain(given) if isinstance(given, Mapping) else str(given)
    entry.update(kind="input" if name is None else "missing",
                 input=_inert(_clip(text, INPUT_LIMIT)))
    return entry


def _inert_cells(cells: Mapping[str, Any]) -> dict[str, Any]:
    return {_inert(str(k)): _inert(v) if isinstance(v, str) else v for k, v in cells.items()}


def _by_perturbation(totals: Mapping[str | None, Mapping[float | None, int]],
                     patterns: list[list[dict[str, Any]]], anchors: list[str]
                     ) -> list[dict[str, Any]]:
    """One line per perturbation that crashed: every crashed input, and its groups."""
    links: dict[str | None, list[dict[str, str]]] = {}
    recorded: Counter[str | None] = Counter()
    for i, (crashes, anchor) in enumerate(zip(patterns, anchors), 1):
        for name, k in Counter(c.get("perturbation") for c in crashes).items():
            recorded[name] += k
            if all(link["anchor"] != anchor for link in links.get(name, [])):  # one "more"
                links.setdefault(name, []).append(
                    {"anchor": anchor, "label": f"#{i} {_inert(str(crashes[0].get('type')))}"})
    names = sorted({*totals, *links}, key=lambda n: (n is not None,
                                                     -sum(totals.get(n, {}).values()), str(n)))
    return [{"name": _inert(name or CLEAN),
             "total": sum(totals.get(name, {}).values()) or recorded[name],
             "severities": ", ".join(f"{k} at {s:g}" for s, k in totals.get(name, {}).items()
                                     if s is not None) or "—",
             "recorded": recorded[name], "groups": links.get(name, [])} for name in names]


def _validity(record: Mapping[str, Any]) -> str:
    """The perturbation's validity study in words ("" without a study)."""
    from perturbations import validity_phrase  # the report module loads without numpy

    study = validity_phrase(record, long=True)
    return f"Validity study: {study}." if study else ""

"""The view-model of one audit: plain dicts, lists, strings and numbers for
``run.html.j2`` (and for each audit of a session page).

The summary (score, checks, why a run stopped), the manifest, the results table with its
clean row, and the clean pass are built here; the charts, the examples and the crashes
in the modules this one calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._metricinfo import MESSAGE_LIMIT
from ._report_charts import _curves, _group_curves, _worst_chart
from ._report_examples import (
    IMAGE_BYTES_PER_PAGE,
    IMAGES_PER_PAGE,
    _bound_pictures,
    _crashes,
    _examples_of,
)
from ._report_format import (
    COLUMNS,
    _anchors,
    _blank,
    _cell,
    _clip,
    _covered,
    _duration,
    _failure,
    _finite,
    _inert,
    _interval,
    _metric,
    _model_text,
    _number,
    _plain,
    _status,
)
from ._report_verdict import _summary, _verdict

if TYPE_CHECKING:
    from .results import Row, RunResult

SCORE_DEFINITION = ("100 × (1 − clean crash rate) × (1 − mean failure rate over the rows "
                    "whose perturbation changed at least one input); 100 means the model "
                    "answered every clean input and no perturbation made it fail.")
GLANCE = 5


def _context(result: RunResult, prefix: str = "") -> dict[str, Any]:
    """The view-model of one audit: plain dicts, lists, strings and numbers. ``prefix``
    goes before every element id, so that several audits can share a page."""
    worst = _worst_rows(result)
    order = sorted(worst, key=lambda name: -_failure(worst[name]))
    order += [name for name in result.examples if name not in worst]
    example_ids = _anchors(f"{prefix}ex", [n for n in order if result.examples.get(n)])
    examples = [_examples_of(result, name, example_ids[name], worst.get(name))
                for name in example_ids]
    pictures_left_out = _bound_pictures(examples, GLANCE)
    return {
        "name": _inert(str(result.name)),
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
        "group_curves": _group_curves(result),
        "pictures_left_out": pictures_left_out,
        "picture_budget": f"{IMAGES_PER_PAGE} thumbnails and "
                          f"{IMAGE_BYTES_PER_PAGE / 1e6:g} MB",
        "verdict": _verdict(result, example_ids),
        "summary": _summary(result, example_ids),
        "examples": examples,
        "fairness": _fairness(result, example_ids),
        "quiet": sorted(set(worst) - set(example_ids)),
        "crashes": _crashes(result, prefix),
        "clean": _clean(result),
    }


def _fairness(result: RunResult, example_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """Counterfactual rows (``counterfactual.gender``, ``entity.person``): per group
    swapped, the inputs moved into it and the row's rates measured on them alone."""
    out = []
    for row in result.rows:
        groups = row.details.get("groups") if row.details else None
        if not isinstance(groups, Mapping) or not groups:
            continue
        out.append({"name": row.perturbation, "severity": f"{row.severity:g}",
                    "anchor": example_ids.get(row.perturbation), "groups": [
                        {"group": _plain(group), "changed": m.get("changed"),
                         "flip": _cell("flip_rate", m.get("flip_rate")),
                         "failure": _cell("failure_rate", m.get("failure_rate"))}
                        for group, m in groups.items() if isinstance(m, Mapping)]})
    return out


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


# -- checks and manifest ---------------------------------------------------------------


def _checks(result: RunResult) -> dict[str, Any]:
    th = result.thresholds or {}
    limits = [f"{k} ≤ {v:g}" for k, v in (th.get("global") or {}).items()]
    limits += [f"{k} ≤ {v:g} for {name}" for name, values in (th.get("per") or {}).items()
               for k, v in values.items()]
    # The clean inputs are checked like a row (their crash rate), and listed first.
    clean = _status(result.clean.get("passed"), _clean_violations(result))
    units = [("clean inputs", clean, _clean_violations(result))] if clean != "unchecked" else []
    units += [(f"{r.perturbation} @ {r.severity:g}",
               _status(r.passed, r.violations, r.insufficient), r.violations)
              for r in result.rows]
    checked = [u for u in units if u[1] in ("pass", "fail")]
    failed = [u for u in checked if u[1] == "fail"]
    return {"checked": bool(checked), "limits": limits, "passed": len(checked) - len(failed),
            "failed": len(failed), "unchecked": sum(1 for u in units if u[1] == "unchecked"),
            "insufficient": sum(1 for u in units if u[1] == "insufficient"),
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


# -- the results table -----------------------------------------------------------------


def _table(result: RunResult, example_ids: Mapping[str, str]) -> dict[str, Any]:
    unmeasured = {r.key: _unmeasured(r.violations) for r in result.rows}
    checked = bool(result.thresholds)
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
        _mark_noise(result, r, [m for m, _, _ in metrics], cells)
        rows.append({
            "key": r.key, "perturbation": r.perturbation, "severity": f"{r.severity:g}",
            "expectation": r.expectation, "anchor": example_ids.get(r.perturbation),
            "description": str(result.perturbations.get(r.perturbation, {})
                               .get("description", "")),
            "status": _status(r.passed, r.violations, r.insufficient),
            "violations": "; ".join(r.violations or r.insufficient),
            # with thresholds, a row fails its check; without, the model failed on it
            "failing": (_status(r.passed, r.violations, r.insufficient) == "fail"
                        if checked else _failure(r) > 0),
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


def _mark_noise(result: RunResult, row: Any, metrics: list[str],
                cells: list[dict[str, Any]]) -> None:
    """A generation row's change rate, next to the noise floor: marked "within noise"
    (not a finding) when it lies inside the floor's interval."""
    if "change_rate" not in metrics:
        return
    within = result.within_noise(row)
    floor = result.clean.get("self_change_rate") or {}
    if within is None or _finite(floor.get("high")) is None:
        return
    cell = cells[metrics.index("change_rate")]
    bound = _number("change_rate", floor["high"])
    cell["title"] = (f"{cell.get('title', '')}; noise floor up to {bound} (the model's own "
                     "answers, asked twice)")
    if within:
        cell["text"] = f"{cell['text']} ≈ noise"


def _clean(result: RunResult) -> dict[str, Any]:
    sd = result.clean.get("self_disagreement") or {}
    value = _finite(sd.get("value"))
    kind = next((k for k in ("accuracy", "mae", "correctness") if result.clean.get(k)), "")
    quality: Mapping[str, Any] = result.clean.get(kind) or {}
    metric = {"accuracy": "accuracy_clean", "correctness": "correctness_clean"}.get(kind, "mae")
    quality_value = _finite(quality.get("value"))
    noise = result.clean.get("self_change_rate") or {}
    similar = result.clean.get("self_similarity") or {}
    return {
        "noise": None if _finite(noise.get("value")) is None else {
            "text": _number("change_rate", noise["value"]),
            "ci": _interval("change_rate", noise.get("low"), noise.get("high")),
            "n": noise.get("n"),
            "similarity": _number("similarity", _finite(similar.get("value")) or 0.0)},
        "self": None if value is None else {
            "text": _number("flip_rate", value),
            "ci": _interval("flip_rate", sd.get("low"), sd.get("high")),
            "n": sd.get("n"), "zero": value == 0},
        "crashes": int(result.clean.get("crashes", 0)),
        "quality": None if quality_value is None else
        f"{kind if kind != 'mae' else 'MAE'} {_number(metric, quality_value)} "
        f"{_interval(metric, quality.get('low'), quality.get('high'))}",
    }


# -- production impact -----------------------------------------------------------------


def _impact(impact: Any) -> dict[str, Any]:
    """The "Production impact" section: an ``Impact`` (or its ``to_dict()``) as text."""
    d = impact.to_dict() if hasattr(impact, "to_dict") else impact
    if not isinstance(d, Mapping) or d.get("kind") != "robustcheck.impact":
        from .errors import InvalidArgument

        raise InvalidArgument(f"impact must be an Impact from result.impact(profile) or its "
                              f"to_dict(), got {type(impact).__name__}")

    def share(m: Any) -> dict[str, str]:
        if not isinstance(m, Mapping) or _finite(m.get("value")) is None:
            return {"text": "—", "ci": ""}
        return {"text": _number("failure_rate", float(m["value"])),
                "ci": _interval("failure_rate", m.get("low"), m.get("high"))}

    def measured(m: Any) -> dict[str, str] | None:
        return None if not isinstance(m, Mapping) or _finite(m.get("value")) is None \
            else share(m)

    return {
        "profile": _inert(str(d.get("profile") or "unnamed")), "profile_n": d.get("profile_n"),
        "complete": bool(d.get("complete", True)), "rule": str(d.get("rule", "")),
        "rows": [{"family": _inert(str(r["family"])), "frequency": share(r["frequency"]),
                  "failure": share(r["failure_rate"]), "added": share(r["added_error"]),
                  "perturbations": _clip(", ".join(map(str, r["perturbations"])), 200)}
                 for r in d.get("rows", [])],
        "total": share(d.get("total_added_error")),
        "clean": measured(d.get("clean_accuracy")),
        "expected": measured(d.get("expected_accuracy")),
        "untested": [{"family": _inert(str(u["family"])), "frequency": share(u["frequency"])}
                     for u in d.get("untested", [])],
        "not_counted": [{"family": _inert(str(u["family"])), "reason": str(u["reason"])}
                        for u in d.get("not_counted", [])],
    }

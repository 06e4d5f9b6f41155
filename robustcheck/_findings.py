"""What a reviewer decides from: the verdict of a run and its findings, ranked.

A **finding** is one perturbation the model failed on, in one plain sentence ("case.upper
flips 12.4% [9.1, 16.6] of predictions at severity 1; the limit is 10%."), with a level:

- **major**: a threshold is broken and the whole 95% interval lies beyond it (the
  failure is certain, not noise), or the model crashed; without thresholds, a failure
  rate whose interval lies wholly above 20%;
- **medium**: a threshold is broken but the interval reaches back under it (likely, not
  certain); without thresholds, an interval wholly above 5%;
- **minor**: failures were seen, within the thresholds (or below 5% without them).

Each perturbation gives at most one finding, from its worst severity. The HTML report,
the Markdown summary and the pytest plugin's summaries all read them from here. Plain
Python over a result's rows: no numpy, no Jinja2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._metricinfo import info, threshold_metric

if TYPE_CHECKING:
    from ._row import Row

RunResult = Any  # robustcheck.results.RunResult (not imported: results imports this module)

__all__ = ["LEVELS", "Finding", "Verdict", "by_perturbation", "findings", "verdict",
           "worst_row"]

LEVELS = ("major", "medium", "minor")
UNCHECKED_MAJOR, UNCHECKED_MEDIUM = 0.20, 0.05
"""Without thresholds: a failure rate surely above these is major / medium."""


@dataclass(frozen=True)
class Finding:
    """One perturbation the model failed on, at its worst severity."""

    level: str
    perturbation: str
    severity: float
    metric: str
    value: float
    low: float | None
    high: float | None
    n: int
    limit: float | None
    broken: bool
    """Whether a threshold is broken (the row failed its check)."""
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Verdict:
    """``status`` is ``PASS``, ``FAIL`` or ``NOT CHECKED`` (no thresholds were applied);
    ``incomplete`` and ``insufficient`` (rows measured on too few samples) qualify it."""

    status: str
    incomplete: bool
    insufficient: int
    reason: str

    @property
    def tags(self) -> list[str]:
        """The words of the banner: ``["FAIL", "INCOMPLETE"]``."""
        tags = [self.status]
        if self.incomplete:
            tags.append("INCOMPLETE")
        if self.insufficient:
            tags.append("INSUFFICIENT DATA")
        return tags


def verdict(result: RunResult) -> Verdict:
    """The run's verdict from the checks last applied to it (``result.check`` or the
    pytest marker)."""
    incomplete = not result.complete or getattr(result, "stopped", None) is not None
    insufficient = sum(1 for r in result.rows if r.passed is None and r.insufficient)
    failed = [r for r in result.rows if r.passed is False]
    clean_failed = bool(result.clean.get("violations"))
    checked = bool(result.thresholds) and bool(
        result.thresholds.get("global") or result.thresholds.get("per"))
    rows = len(result.rows)
    if failed or clean_failed:
        parts = [f"{len(failed)} of {rows} rows break a threshold"] if failed else []
        if clean_failed:
            parts.insert(0, "the clean inputs break a threshold")
        return Verdict("FAIL", incomplete, insufficient, "; ".join(parts))
    if checked and incomplete:
        return Verdict("FAIL", incomplete, insufficient,
                       "the run is incomplete, and a partial result cannot pass")
    if not checked:
        return Verdict("NOT CHECKED", incomplete, insufficient,
                       "no thresholds were applied, so no row passes or fails")
    passed = sum(1 for r in result.rows if r.passed)
    if not passed and insufficient:
        return Verdict("FAIL", incomplete, insufficient,
                       "every checked row was measured on too few samples")
    return Verdict("PASS", incomplete, insufficient,
                   f"{passed} of {rows} rows are within their thresholds")


def findings(result: RunResult) -> list[Finding]:
    """One finding per perturbation the model failed on, most severe first."""
    best: dict[str, tuple[tuple[float, ...], Finding]] = {}
    for row in result.rows:
        found = _finding(row, result.limits(row), result)
        if found is None:
            continue
        rank = (LEVELS.index(found.level), -(found.low or 0.0), -found.value, found.severity)
        if row.perturbation not in best or rank < best[row.perturbation][0]:
            best[row.perturbation] = (rank, found)
    ranked = [f for _, f in sorted(best.values(), key=lambda x: (x[0], x[1].perturbation))]
    clean = _clean_finding(result)
    return ranked if clean is None else [clean, *ranked]


def _clean_finding(result: RunResult) -> Finding | None:
    """The clean inputs' own finding, first: crashes on the inputs as given (major when
    they break ``max_crash_rate``, or when nothing bounds them)."""
    m = result.clean.get("crash_rate")
    violations = [str(v) for v in result.clean.get("violations") or []]
    value = None if not isinstance(m, Mapping) else m.get("value")
    if violations and (value is None or _nan(value)):
        return Finding(level="major", perturbation="clean", severity=0.0, metric="crash_rate",
                       value=math.nan, low=None, high=None, n=0, limit=None, broken=True,
                       sentence=f"The clean inputs: {violations[0]}.")
    if value is None or _nan(value) or value <= 0:
        return None
    limit = ((result.thresholds or {}).get("global") or {}).get("max_crash_rate")
    low, high = m.get("low"), m.get("high")
    point = _Point(float(value), low, high, int(m.get("n") or 0))
    level = "minor" if limit is not None and not violations else "major"
    limit_text = "" if limit is None else f"; the limit is {_number('crash_rate', limit)}"
    return Finding(level=level, perturbation="clean", severity=0.0, metric="crash_rate",
                   value=float(value), low=low, high=high, n=point.n, limit=limit,
                   broken=bool(violations),
                   sentence=f"The model crashes on {_amount('crash_rate', point)} of the clean "
                            f"inputs, before any perturbation{limit_text}.")


def _finding(row: Row, limits: Mapping[str, float], result: RunResult) -> Finding | None:
    if row.insufficient and row.passed is None:
        return None
    failure = row.metrics.get("failure_rate")
    crash = row.metrics.get("crash_rate")
    if row.passed is False:
        for key, limit in limits.items():
            metric = threshold_metric(key, row.expectation)
            if metric is None:
                continue
            m = _measured(row, metric)
            if m is None:
                if any(v.startswith(f"{metric} not measured") for v in row.violations):
                    return _make(row, "major", metric, None, limit, True, result)
                continue
            if m.value > limit:
                certain = m.low is not None and not _nan(m.low) and m.low > limit
                level = "major" if certain or metric == "crash_rate" else "medium"
                return _make(row, level, metric, m, limit, True, result)
    if crash is not None and not _nan(crash.value) and crash.value > 0:
        crash_limit = limits.get("max_crash_rate")
        level = "minor" if crash_limit is not None and crash.value <= crash_limit else "major"
        return _make(row, level, "crash_rate", crash, crash_limit, False, result)
    if failure is None or _nan(failure.value) or failure.value <= 0:
        return None
    if _within_noise(row, result):
        return None
    if row.passed is None:
        low = failure.low if failure.low is not None and not _nan(failure.low) else 0.0
        level = ("major" if low > UNCHECKED_MAJOR else
                 "medium" if low > UNCHECKED_MEDIUM else "minor")
        return _make(row, level, "failure_rate", failure, None, False, result)
    return _make(row, "minor", "failure_rate", failure, None, False, result)


def _within_noise(row: Row, result: RunResult) -> bool:
    """A generation row whose only failures are changes of meaning no more frequent than
    the model's own (its noise floor): not a finding. A broken output contract is one."""
    if row.expectation != "invariant" or not result.within_noise(row):
        return False
    broken = row.metrics.get("format_failure_rate")
    return broken is None or _nan(broken.value) or broken.value == 0


def _measured(row: Row, metric: str) -> Any:
    """The row's Metric for ``metric`` (the latency ratio, kept with the timings, as one
    without an interval); None when it was not measured."""
    m = row.metrics.get(metric)
    if m is None and metric == "latency_ratio" and row.value(metric) is not None:
        return _Point(float(row.value(metric) or 0.0))
    return None if m is None or _nan(m.value) else m


@dataclass(frozen=True)
class _Point:
    value: float
    low: float | None = None
    high: float | None = None
    n: int = 0


def _make(row: Row, level: str, metric: str, m: Any, limit: float | None, broken: bool,
          result: RunResult) -> Finding:
    value = math.nan if m is None else float(m.value)
    low = None if m is None or _nan(m.low) else float(m.low)
    high = None if m is None or _nan(m.high) else float(m.high)
    n = 0 if m is None else int(m.n)
    return Finding(level=level, perturbation=row.perturbation, severity=row.severity,
                   metric=metric, value=value, low=low, high=high, n=n, limit=limit,
                   broken=broken, sentence=_sentence(row, metric, m, limit, result))


def _sentence(row: Row, metric: str, m: Any, limit: float | None, result: RunResult) -> str:
    at = f" at severity {row.severity:g}"
    if m is None:
        why = next((v.split(": ", 1)[-1] for v in row.violations
                    if v.startswith(f"{metric} not measured")), "")
        return f"{row.perturbation}: {metric.replace('_', ' ')} could not be measured{at}" + \
            (f" ({why})." if why else ".")
    amount = _amount(metric, m)
    what = {
        "flip_rate": f"flips {amount} of predictions",
        "failure_rate": ("does not change the prediction as expected on " if
                         row.expectation == "directional" else "makes the model fail on ")
        + f"{amount} of the changed inputs",
        "crash_rate": f"makes the model crash on {amount} of the changed inputs",
        "accuracy_drop": f"costs {amount} of accuracy",
        "confidence_drop": f"lowers the clean label's score by {amount} on average",
        "latency_ratio": f"makes calls {amount} as slow",
    }.get(metric, f"has {metric.replace('_', ' ')} {amount}")
    limit_text = "" if limit is None else f"; the limit is {_number(metric, limit)}"
    systematic = row.details.get("systematic") if row.details else None
    if isinstance(systematic, Mapping):
        limit_text += (f" (a systematic crash: measured on {systematic.get('probes')} probes "
                       f"of {systematic.get('inputs')} distinct inputs, the rest not asked)")
    return f"{row.perturbation} {what}{at}{limit_text}."


def _amount(metric: str, m: Any) -> str:
    text = _number(metric, float(m.value))
    if m.low is None or _nan(m.low) or m.high is None or _nan(m.high):
        return text
    if metric == "latency_ratio":
        return text
    scale = 100 if info(metric).percent else 1
    digits = 1 if scale == 100 else 3
    return f"{text} [{scale * m.low:.{digits}f}, {scale * m.high:.{digits}f}]"


def _number(metric: str, value: float) -> str:
    if metric == "latency_ratio":
        return f"{value:.1f}×"
    if info(metric).percent:
        text = f"{100 * value:.1f}"
        return (text[:-2] if text.endswith(".0") else text) + "%"
    return f"{value:.3f}"


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def by_perturbation(result: RunResult) -> dict[str, list[Row]]:
    """The rows of each perturbation, by severity, in the order the result lists them."""
    out: dict[str, list[Row]] = {}
    for row in result.rows:
        out.setdefault(row.perturbation, []).append(row)
    return {name: sorted(rows, key=lambda r: r.severity) for name, rows in out.items()}


def worst_row(rows: list[Row]) -> Row | None:
    """The row a perturbation is summarised by, in the report and the Markdown summary:
    among those that changed an input, a failed check first, then the highest failure
    rate, crash rate, severity; None when none changed an input."""
    covered = [r for r in rows if (r.value("coverage") or 0.0) > 0]
    return max(covered, key=lambda r: (r.passed is False, r.value("failure_rate") or 0.0,
                                       r.value("crash_rate") or 0.0, r.severity),
               default=None)

"""``RunResult``: the plain data of one audit, its JSON form, checks and exports.

The JSON holds a ``schema_version``, the manifest (robustcheck version, seed, model,
data fingerprint, each perturbation's record), metrics with intervals, per-sample
outcomes in compact form (zlib-compressed, base64-encoded arrays), the worst examples
per perturbation, crashes and an environment block. Everything that depends on the
clock sits under ``timings``; the rest is byte-identical between two runs with the same
seed, model and data.

A :class:`Row` (one perturbation at one severity) and its JSON form live in
:mod:`robustcheck._row`.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import tasks
from ._cases import CASE_COLUMNS, all_cases, failing_cases, source_of
from ._files import check_run, dumps, read_json, write_atomic
from ._files import pack as pack  # pack and unpack: imported from here by callers
from ._files import unpack as unpack
from ._metricinfo import THRESHOLDS as _THRESHOLDS
from ._metricinfo import threshold_metric
from ._row import Row
from ._validate import DEFAULT_MIN_SAMPLES, check_gate, check_min_samples, check_thresholds
from .errors import ResultFileError, RobustnessError
from .metrics import Metric, robustness_score

__all__ = ["THRESHOLDS", "Failures", "Row", "RunResult", "load"]

SCHEMA_VERSION = 1

THRESHOLDS = _THRESHOLDS
"""Threshold keyword -> the metric it bounds. ``max_flip_rate`` bounds the failure rate
of directional rows (where a flip is the expected outcome) and is not applied to
no-crash rows; ``max_accuracy_drop`` is not applied to directional rows."""


# -- the result ------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    data: Any
    suite: Mapping[str, Any]


class Failures(list[dict[str, Any]]):
    """Every failing case of a run (crash, or expectation broken), one dict each:
    the feedback loop into retraining. ``to_frame()``, ``to_jsonl(path)``."""

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self))

    def to_jsonl(self, path: str | os.PathLike[str]) -> Path:
        lines = "".join(dumps(r, default=str) + "\n" for r in self)
        return write_atomic(path, lines)


@dataclass
class RunResult:
    """The outcome of :func:`robustcheck.run` (or :func:`robustcheck.load`).

    ``result["typo.keyboard"]`` is that perturbation's rows (one per severity);
    ``result.table()`` a plain-text table; ``result.check(max_flip_rate=0.05)`` raises
    :class:`~robustcheck.errors.RobustnessError` listing what failed.
    """

    name: str
    seed: int
    complete: bool
    model: dict[str, Any]
    data: dict[str, Any]
    task: str
    classes: list[Any]
    severities: list[float]
    perturbations: dict[str, dict[str, Any]]
    clean: dict[str, Any]
    rows: list[Row]
    examples: dict[str, list[dict[str, Any]]]
    crashes: list[dict[str, Any]]
    environment: dict[str, Any]
    timings: dict[str, Any]
    thresholds: dict[str, Any] = field(default_factory=dict)
    stopped: dict[str, str] | None = None
    """Why the run stopped early ({"kind", "message"}; kinds: interrupted, outage, hung,
    worker, budget), None when it ran to the end; ``complete`` is False exactly when it is set."""
    source: Source | None = field(default=None, repr=False, compare=False)
    """The data and perturbations this result was made from (in memory, never saved),
    so :meth:`failures` can regenerate perturbed inputs."""

    # -- access --------------------------------------------------------------------

    def __getitem__(self, name: str) -> list[Row]:
        found = [r for r in self.rows if r.perturbation == name]
        if not found:
            names = sorted({r.perturbation for r in self.rows})
            close = difflib.get_close_matches(name, names, n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise KeyError(f"no rows for perturbation {name!r} in this result.{hint}")
        return found

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def score(self) -> float | None:
        """The robustness score (see :mod:`robustcheck.metrics`)."""
        return robustness_score([r.metrics["failure_rate"].value for r in self.rows
                                 if r.metrics["coverage"].value > 0],
                                clean_crash_rate=self.clean_crash_rate)

    @property
    def clean_crash_rate(self) -> float | None:
        """Share of the samples the model crashed on in the clean pass (None: not asked)."""
        m = self.clean.get("crash_rate")
        if m is not None:
            return None if m.get("value") is None else float(m["value"])
        answered = self.clean.get("answered")  # results written before the clean row
        return None if answered is None or not self.n else 1.0 - int(answered) / self.n

    @property
    def n(self) -> int:
        return int(self.data["n"])

    # -- checks ------------------------------------------------------------------

    def check(self, per: Mapping[str, Mapping[str, float]] | None = None, *,
              gate: str = "point", min_samples: int = DEFAULT_MIN_SAMPLES,
              **thresholds: float) -> RunResult:
        """Apply thresholds and raise :class:`RobustnessError` if any row exceeds one.

        ``thresholds`` apply to every row; ``per`` maps a perturbation name or a family
        to thresholds that replace the global ones for its rows, e.g.
        ``check(max_flip_rate=0.05, per={"typo": {"max_flip_rate": 0.2}})``. A row
        fails when a measured value is above its threshold (the interval is shown so a
        reader sees how sure that is). A verdict never rests on what was not measured:

        * ``max_crash_rate`` also bounds the clean pass (the ``clean`` row);
        * a model that answered no clean input fails every threshold given;
        * a metric that could not be measured (the model crashed on every changed
          input, gave no scores, no labels were given) fails with "not measured: why";
        * a row whose perturbation changed no input is not applicable (neither pass nor
          fail), but a check where no row measured anything fails;
        * an incomplete run (stopped early) fails any check.

        Gates that are not coin tosses: a rate threshold of a row measured on fewer than
        ``min_samples`` changed, answered samples is *insufficient data*, neither a pass
        nor a fail (an observed crash still fails ``max_crash_rate=0``); with
        ``gate="interval"`` a row fails a ``max_*`` threshold only when its whole 95%
        interval lies above it (``"point"``, the default, compares the measured value).

        Returns the result when everything passes.
        """
        validate_thresholds(thresholds, "check")
        for key, values in (per or {}).items():
            validate_thresholds(values, f"per[{key!r}]")
        gate, min_samples = check_gate(gate), check_min_samples(min_samples)
        self.thresholds = {"global": dict(thresholds),
                           "per": {k: dict(v) for k, v in (per or {}).items()},
                           "gate": gate, "min_samples": min_samples}
        self.clean["violations"] = self._clean_violations(thresholds, gate)
        self.clean["passed"] = not self.clean["violations"] if thresholds else None
        failing, measured, decided = [], False, False
        for row in self.rows:
            limits = self.limits(row)
            row.violations, row.insufficient, row.passed = [], [], None
            if not limits or not _covered(row):
                continue
            measured = True
            for key, limit in limits.items():
                verdict, why = self._judge(row, key, limit, gate, min_samples)
                if verdict == "fail":
                    row.violations.append(why)
                elif verdict == "insufficient":
                    row.insufficient.append(why)
                decided = decided or verdict in ("fail", "pass")
            if row.violations:
                row.passed = False
                failing.append(row)
            elif len(row.insufficient) < len(limits):
                row.passed = True
        problems = []
        if self.stopped is not None or not self.complete:
            stop = self.stopped or {"kind": "interrupted", "message": "interrupted"}
            problems.append(f"the run is incomplete ({stop['kind']}: {stop['message']}); a "
                            "partial result cannot pass a check")
        problems += [f"clean  {v}" for v in self.clean["violations"]]
        if self.rows and not measured and (thresholds or per) and self.clean.get("answered"):
            problems.append("nothing was measured: no perturbation changed any input")
        elif measured and not decided and not failing:
            problems.append(f"insufficient data: every row was measured on fewer than "
                            f"min_samples={min_samples} changed, answered samples")
        if failing or problems:
            raise RobustnessError(self._failure_table(failing, problems))
        return self

    def limits(self, row: Row) -> dict[str, float]:
        """The thresholds the last check held ``row`` to: the global ones, replaced by
        those given for its family, then for its perturbation."""
        th = self.thresholds or {}
        per = th.get("per") or {}
        return {**(th.get("global") or {}), **per.get(row.family, {}),
                **per.get(row.perturbation, {})}

    def _clean_violations(self, thresholds: Mapping[str, float], gate: str) -> list[str]:
        if not thresholds:
            return []
        if not self.clean.get("answered"):
            return [f"not measured: the model answered no clean input ({self._clean_why()})"]
        limit = thresholds.get("max_crash_rate")
        rate = self.clean_crash_rate
        if limit is None or rate is None or rate <= limit:
            return []
        m = self.clean.get("crash_rate") or {}
        if gate == "interval" and m.get("low") is not None and m["low"] <= limit:
            return []
        ci = (f" [{m['low']:.3f}, {m['high']:.3f}]" if m.get("low") is not None else "")
        return [f"crash_rate {rate:.3f}{ci} > {limit:g}"]

    def _clean_why(self) -> str:
        clean_crashes = [c for c in self.crashes if c.get("perturbation") is None]
        if not clean_crashes:
            return "the run stopped during the clean pass"
        first = clean_crashes[0]
        return (f"{self.clean.get('crashes', len(clean_crashes))} crashes, the first "
                f"{first['type']}: {str(first['message'])[:160]}")

    def _judge(self, row: Row, key: str, limit: float, gate: str,
               min_samples: int) -> tuple[str, str]:
        """``(verdict, why)`` of one threshold on one row; verdict is ``"pass"``,
        ``"fail"``, ``"insufficient"`` or ``"n/a"`` (the threshold does not apply)."""
        metric = threshold_metric(key, row.expectation)
        if metric is None:
            return "n/a", ""
        value = row.value(metric)
        if value is None:
            return "fail", f"{metric} not measured: {self._not_measured(row, metric)}"
        m = row.metrics.get(metric)
        ci = "" if m is None else f" [{m.low:.3f}, {m.high:.3f}]"
        observed_crash = key == "max_crash_rate" and limit == 0 and value > 0
        if m is not None and 0 < m.n < min_samples and not observed_crash:
            return "insufficient", (f"{metric} {value:.3f}{ci} on {m.n} samples, fewer than "
                                    f"min_samples={min_samples}")
        above = m.low > limit if gate == "interval" and m is not None else value > limit
        if not above:
            return "pass", ""
        if metric == "change_rate" and self.within_noise(row):
            return "pass", ""  # the model changes its own answers as often: not a finding
        if gate == "interval" and m is not None:
            return "fail", f"{metric} {value:.3f}{ci}: whole interval > {limit:g}"
        return "fail", f"{metric} {value:.3f}{ci} > {limit:g}"

    def within_noise(self, row: Row) -> bool | None:
        """For a generation run: whether ``row``'s change rate lies within the noise floor
        (the interval of the clean pass's change rate against itself, the model's own
        sampling noise), so that it is not a finding; None for other runs."""
        floor = (self.clean.get("self_change_rate") or {}).get("high")
        m = row.metrics.get("change_rate")
        if floor is None or m is None or math.isnan(m.value):
            return None
        return bool(m.value <= floor)

    def _not_measured(self, row: Row, metric: str) -> str:
        """Why a row has no value for ``metric``, in words a reader can act on."""
        if metric == "failure_rate" and "expect_error" in row.details:
            return str(row.details["expect_error"])
        m = row.metrics.get(metric)
        if m is None and metric != "latency_ratio":
            why = tasks.get(self.task).not_measured(metric)
            if why is not None:
                return why
            if metric == "accuracy_drop":
                return ("no labels were given" if not self.data.get("labelled")
                        else "accuracy is not scored for directional perturbations")
            if metric == "confidence_drop":
                return "the model reports no scores to compare"
            return f"this row has no {metric}"
        changed, crashed = int(row.changed.sum()), int(row.crashed.sum())
        if changed and crashed >= changed:
            return f"the model crashed on all {changed} changed inputs"
        if m is not None and m.n == 0:
            return ("no changed input has a clean answer (the model crashed on them in the "
                    "clean pass)")
        return "no perturbed input was answered"

    def _failure_table(self, failing: list[Row], problems: list[str]) -> str:
        count = len(failing) + len(self.clean.get("violations") or [])
        lines = [f"robustness check failed: {count} of {len(self.rows) + 1} rows fail their "
                 f"thresholds (model {self.name}, seed {self.seed})"]
        lines += [f"  {p}" for p in problems]
        if failing:
            width = max(len(r.key) for r in failing)
            for row in failing:
                lines.append(f"  {row.key.ljust(width)}  " + "; ".join(row.violations))
        return "\n".join(lines)

    # -- text ----------------------------------------------------------------------

    def table(self) -> str:
        """One line per perturbation x severity, rates with their 95% intervals."""
        header = ["perturbation", "sev", "coverage", "flip rate", "failure", "acc drop",
                  "conf drop", "crash", "latency x", "pass"]
        body = [self._clean_line()]
        for r in self.rows:
            m = r.metrics
            ratio = r.latency.get("latency_ratio")
            body.append([
                r.perturbation, f"{r.severity:g}", _pct(m.get("coverage")),
                _interval(m.get("flip_rate")), _interval(m.get("failure_rate")),
                _interval(m.get("accuracy_drop")), _interval(m.get("confidence_drop"), False),
                _interval(m.get("crash_rate")), "-" if ratio is None else f"{ratio:.2f}",
                {True: "ok", False: "FAIL", None: "few" if r.insufficient else ""}[r.passed],
            ])
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
        stop = self.stopped
        out = [f"{self.name}: score {self.score}, n={self.n}, seed={self.seed}"
               + (f" (INCOMPLETE, {stop['kind']}: {stop['message']})" if stop else "")]
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in body]
        return "\n".join(out)

    def _clean_line(self) -> list[str]:
        """The clean pass as a row of the table: its crash rate and verdict."""
        m = self.clean.get("crash_rate")
        crash = "-" if m is None else _interval(Metric.from_dict(m))
        passed = self.clean.get("passed")
        return ["clean", "-", "-", "-", "-", "-", "-", crash, "-",
                {True: "ok", False: "FAIL", None: ""}[passed]]

    def __str__(self) -> str:
        return self.table()

    # -- failures ----------------------------------------------------------------

    def failures(self, inputs: Any = None, labels: Any = None) -> Failures:
        """Every failing case: original and perturbed input, label, clean and perturbed
        prediction (or the crash). Perturbed inputs are regenerated from the seed, so a
        loaded result needs the original ``inputs`` (and ``labels``) again."""
        data, suite = source_of(self, inputs, labels, "failures()")
        return Failures(failing_cases(self, data, suite))

    def cases(self, inputs: Any = None, labels: Any = None) -> Any:
        """Every perturbed sample as a pandas DataFrame, one row per sample that a
        perturbation x severity changed (samples it left unchanged are not repeated: the
        model answered their clean input again). Columns: ``perturbation``,
        ``severity``, ``index`` (the sample's position in the data), ``input``,
        ``perturbed``, ``label`` (None without labels), ``clean`` and ``predicted`` (the
        model's answers; None where it crashed), ``confidence`` (the clean score of the
        clean label, None without scores), ``failed`` (the expectation was broken; None
        where it could not be judged), ``crashed`` and ``crash`` (the message, kept for
        the first crashes of each row; None otherwise). pandas may show a missing value
        in a column of strings as NaN.

        Perturbed inputs are regenerated from the seed, so a loaded result needs the
        original ``inputs`` (and ``labels``) again; an attack's inputs are those the
        result kept (None where the attack found nothing). Texts are cut to
        :data:`~robustcheck._cases.TEXT_LIMIT` characters as in the report; a tabular
        input is a dict of its cells. ``result.cases().to_csv(path)`` exports it
        (``to_parquet`` needs pyarrow, the ``parquet`` extra)."""
        import pandas as pd

        data, suite = source_of(self, inputs, labels, "cases()")
        return pd.DataFrame(all_cases(self, data, suite), columns=list(CASE_COLUMNS))

    # -- summaries -------------------------------------------------------------------

    def to_markdown(self) -> str:
        """A Markdown summary that fits a pull request comment or a GitHub Actions step
        summary: the verdict line, the findings ranked by level, and one table row per
        perturbation at its worst severity. Names and messages from the data are
        escaped, so nothing in them becomes markup."""
        from ._markdown import run_summary_markdown

        return run_summary_markdown(self)

    def _repr_html_(self) -> str:
        """What a notebook shows: the verdict, the findings and the table (the whole
        report is :meth:`to_html`)."""
        from ._markdown import run_summary_html

        return run_summary_html(self)

    # -- files ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "robustcheck.run",
            "robustcheck_version": self.environment.get("robustcheck"),
            "name": self.name,
            "seed": self.seed,
            "complete": self.complete,
            "stopped": self.stopped,
            "score": self.score,
            "model": self.model,
            "data": self.data,
            "task": self.task,
            "classes": self.classes,
            "severities": self.severities,
            "perturbations": self.perturbations,
            "clean": self.clean,
            "thresholds": self.thresholds,
            "rows": [r.to_dict() for r in self.rows],
            "examples": self.examples,
            "crashes": self.crashes,
            "environment": self.environment,
            "timings": {**self.timings, "rows": [{"perturbation": r.perturbation,
                                                  "severity": r.severity, **r.latency}
                                                 for r in self.rows]},
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 1
                ) -> str:
        """The result as JSON; written atomically to ``path`` when given."""
        text = dumps(self.to_dict(), indent=indent, allow_nan=False,
                     default=_json_default) + "\n"
        if path is not None:
            write_atomic(path, text)
        return text

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunResult:
        latencies = d.get("timings", {}).get("rows", [])
        rows = []
        for i, r in enumerate(d["rows"]):
            lat = latencies[i] if i < len(latencies) else {}
            rows.append(Row.from_dict(r, {k: v for k, v in lat.items()
                                          if k.startswith("latency")}))
        timings = {k: v for k, v in d.get("timings", {}).items() if k != "rows"}
        return cls(
            name=d["name"], seed=int(d["seed"]), complete=bool(d["complete"]),
            model=dict(d["model"]), data=dict(d["data"]), task=d["task"],
            classes=list(d["classes"]), severities=[float(s) for s in d["severities"]],
            perturbations=dict(d["perturbations"]), clean=dict(d["clean"]), rows=rows,
            examples=dict(d["examples"]), crashes=list(d["crashes"]),
            environment=dict(d["environment"]), timings=timings,
            thresholds=dict(d.get("thresholds") or {}),
            stopped=_stopped(d),
        )

    def to_html(self, path: str | os.PathLike[str], *, impact: Any = None) -> Path:
        """The self-contained HTML report, written atomically to ``path``; with
        ``impact`` (from :meth:`impact`), its "Production impact" section."""
        from . import report

        return report.write(report.render_run(self, impact=impact), path)

    def impact(self, profile: Any) -> Any:
        """The error each tested family adds in the traffic ``profile`` describes (a
        :class:`~robustcheck.Profile` or its JSON file): its frequency there x its
        failure rate here, with intervals, and the production accuracy to expect."""
        from ._impact import impact

        return impact(self, profile)

    def mce(self, baseline: RunResult, *, relative: bool = False,
            corruptions: Any = None) -> Any:
        """This model's mean corruption error against ``baseline`` (Hendrycks &
        Dietterich 2019): per corruption, its summed top-1 error over the severities
        divided by the baseline's (``relative=True``: the error each adds to its clean
        error), averaged over the corruptions, with paired-bootstrap 95% intervals.
        Both results must come from the same labelled data and seed under the same
        corruptions; ``corruptions`` names the perturbations or families that count
        (default: the ImageNet-C families). See :mod:`robustcheck._mce`."""
        from ._mce import mce

        return mce(self, baseline, relative=relative, corruptions=corruptions)

    def log_mlflow(self, *, run_id: str | None = None, experiment: str | None = None,
                   tracking_uri: str | None = None, prefix: str = "robustcheck",
                   artifacts: bool = True) -> str:
        """Log this result to MLflow (extra ``robustcheck[mlflow]``): params, every
        metric with its interval, and the JSON, report and summary as files; into
        ``run_id``, else the active run, else a new one. Returns the run's id; see
        :func:`robustcheck._mlflow.log_mlflow`."""
        from ._mlflow import log_mlflow

        return log_mlflow(self, run_id=run_id, experiment=experiment,
                          tracking_uri=tracking_uri, prefix=prefix, artifacts=artifacts)


def load(path: str | os.PathLike[str]) -> RunResult:
    """Read a result written by :meth:`RunResult.to_json`.

    The file is read with bounded memory and validated field by field before anything
    is built from it: a missing, truncated, damaged or hostile file raises
    :class:`~robustcheck.errors.ResultFileError` naming the file and what is wrong.
    """
    d = read_json(path)
    check_run(d, str(path), SCHEMA_VERSION)
    try:
        return RunResult.from_dict(d)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:  # a gap in check_run
        raise ResultFileError(f"{path}: the result is damaged ({type(exc).__name__}: {exc})"
                              ) from None


def validate_thresholds(thresholds: Mapping[str, Any], where: str) -> None:
    check_thresholds(thresholds, where)


def _covered(row: Row) -> bool:
    """Whether the row's perturbation changed at least one input."""
    m = row.metrics.get("coverage")
    return m is not None and not math.isnan(m.value) and m.value > 0


def _stopped(d: Mapping[str, Any]) -> dict[str, str] | None:
    stopped = d.get("stopped")
    if stopped is None and not d["complete"]:  # written before the reason was recorded
        return {"kind": "interrupted", "message": "interrupted"}
    return None if stopped is None else {"kind": str(stopped["kind"]),
                                         "message": str(stopped["message"])}


def _pct(m: Metric | None) -> str:
    return "-" if m is None or math.isnan(m.value) else f"{100 * m.value:.0f}%"


def _interval(m: Metric | None, percent: bool = True) -> str:
    if m is None or math.isnan(m.value):
        return "-"
    if percent:
        return f"{100 * m.value:.1f}% [{100 * m.low:.1f}, {100 * m.high:.1f}]"
    return f"{m.value:.3f} [{m.low:.3f}, {m.high:.3f}]"


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)

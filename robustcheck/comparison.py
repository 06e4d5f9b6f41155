"""``robustcheck.compare``: two runs on the same data, row by row, with paired tests.

Both runs must come from the same data (fingerprint) and the same seed, so that sample
i saw the same perturbed input under A and under B; then every difference is paired:

* rates (``failure_rate``, ``accuracy_perturbed``): exact McNemar test on the
  per-sample outcomes of the samples both runs could score;
* means (``confidence_drop``): a paired bootstrap of the per-sample differences (10,000
  seeded resamples) up to 1,000 pairs, a paired normal test above that (the bootstrap
  distribution of a mean of that many pairs is normal; resampling would only add
  Monte-Carlo noise and time);
* Holm's correction across the rows, separately for each metric;
* the row's verdict follows its failure rate: ``regression`` when B fails significantly
  more often (adjusted p < alpha), ``improvement`` when less, else
  ``no significant change``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import dumps
from ._metricinfo import METRIC_INFO
from .errors import IncompatibleResults, InvalidArgument
from .results import Row, RunResult, load, unpack, write_atomic
from .stats import holm, paired_bootstrap, paired_outcome_test

__all__ = ["Comparison", "compare"]

SCHEMA_VERSION = 1
BOOTSTRAP_MAX_PAIRS = 1000
BOOTSTRAP_RESAMPLES = 10_000
REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "no significant change"
# For each compared metric: does a larger value mean B is worse?
HIGHER_IS_WORSE = {m.name: bool(m.higher_is_worse) for m in METRIC_INFO if m.paired_test}


@dataclass
class Comparison:
    """Result of :func:`compare`: one entry per perturbation x severity of both runs."""

    a: RunResult
    b: RunResult
    alpha: float
    rows: list[dict[str, Any]]
    unpaired: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["verdict"] == REGRESSION]

    @property
    def improvements(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["verdict"] == IMPROVEMENT]

    def to_dict(self) -> dict[str, Any]:
        def side(r: RunResult) -> dict[str, Any]:
            return {"name": r.name, "score": r.score, "seed": r.seed, "complete": r.complete,
                    "model": r.model, "environment": r.environment, "timings": r.timings}

        return {
            "schema_version": SCHEMA_VERSION, "kind": "robustcheck.comparison",
            "alpha": self.alpha, "correction": "holm",
            "a": side(self.a), "b": side(self.b),
            "data": {k: self.a.data[k] for k in ("fingerprint", "n", "modality")},
            "summary": {"regressions": len(self.regressions),
                        "improvements": len(self.improvements),
                        "unchanged": len(self.rows) - len(self.regressions)
                        - len(self.improvements)},
            "unpaired": self.unpaired,
            "rows": self.rows,
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        if path is not None:
            write_atomic(path, text)
        return text

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        from . import report

        return report.write(report.render_comparison(self.to_dict()), path)

    def table(self) -> str:
        """Regressions first: failure rate of A and B, delta, adjusted p, verdict."""
        order = {REGRESSION: 0, IMPROVEMENT: 1, UNCHANGED: 2}
        rows = sorted(self.rows, key=lambda r: (order[r["verdict"]], r["perturbation"],
                                                r["severity"]))
        header = ["perturbation", "sev", "A failure", "B failure", "delta", "p (Holm)",
                  "verdict"]
        body = []
        for r in rows:
            m = r["metrics"]["failure_rate"]
            body.append([r["perturbation"], f"{r['severity']:g}", _pct(m["a"]["value"]),
                         _pct(m["b"]["value"]), _signed(m["delta"]), _p(m["p_adjusted"]),
                         r["verdict"]])
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
        lines = [f"{self.a.name} (A) vs {self.b.name} (B): {len(self.regressions)} "
                 f"regressions, {len(self.improvements)} improvements, alpha {self.alpha}"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in body]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def compare(a: RunResult | str | os.PathLike[str], b: RunResult | str | os.PathLike[str], *,
            alpha: float = 0.05, seed: int = 0) -> Comparison:
    """Compare run ``b`` against run ``a`` (the baseline), row by row.

    ``a`` and ``b`` are results or paths to result JSON files.
    """
    run_a, run_b = _as_result(a, "a"), _as_result(b, "b")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must be in (0, 1), got {alpha!r}; e.g. alpha=0.05")
    _check_pairable(run_a, run_b, a, b)
    rows_b = {(r.perturbation, r.severity): r for r in run_b.rows}
    pairs = [(ra, rows_b[(ra.perturbation, ra.severity)]) for ra in run_a.rows
             if (ra.perturbation, ra.severity) in rows_b]
    paired = {(ra.perturbation, ra.severity) for ra, _ in pairs}
    unpaired = sorted({r.key for r in run_a.rows + run_b.rows
                       if (r.perturbation, r.severity) not in paired})
    sides = (_Side(run_a), _Side(run_b))
    rows: list[dict[str, Any]] = [{"perturbation": ra.perturbation, "severity": ra.severity,
             "expectation": ra.expectation,
             "metrics": _compare_row(ra, rb, sides, seed)} for ra, rb in pairs]
    for metric in HIGHER_IS_WORSE:
        entries = [r["metrics"][metric] for r in rows if metric in r["metrics"]]
        raw = [math.nan if e["p_value"] is None else e["p_value"] for e in entries]
        for entry, adjusted in zip(entries, holm(raw)):
            entry["p_adjusted"] = None if math.isnan(adjusted) else adjusted
            entry["verdict"] = _verdict(entry, adjusted, alpha, HIGHER_IS_WORSE[metric])
    for r in rows:
        r["verdict"] = r["metrics"]["failure_rate"]["verdict"]
    return Comparison(run_a, run_b, float(alpha), rows, unpaired)


def _as_result(x: Any, name: str) -> RunResult:
    if isinstance(x, RunResult):
        return x
    if isinstance(x, (str, os.PathLike)):
        return load(x)
    raise InvalidArgument(f"{name} must be a RunResult or the path of a result JSON file, "
                          f"got {type(x).__name__}")


def _check_pairable(a: RunResult, b: RunResult, src_a: Any, src_b: Any) -> None:
    label_a = src_a if not isinstance(src_a, RunResult) else f"A ({a.name})"
    label_b = src_b if not isinstance(src_b, RunResult) else f"B ({b.name})"
    if a.data["fingerprint"] != b.data["fingerprint"]:
        raise IncompatibleResults(
            f"{label_a} and {label_b} were made on different data (fingerprints "
            f"{a.data['fingerprint'][:19]}… and {b.data['fingerprint'][:19]}…, n "
            f"{a.data['n']} and {b.data['n']}); compare runs of the same inputs and labels")
    if a.seed != b.seed:
        raise IncompatibleResults(
            f"{label_a} used seed {a.seed} and {label_b} seed {b.seed}: the perturbed inputs "
            "differ, so samples cannot be paired; run both with the same seed")


class _Side:
    """Per-sample clean arrays of one run, decoded once."""

    def __init__(self, run: RunResult) -> None:
        clean = run.clean
        self.ok = unpack(clean["ok"])
        self.classes = np.array([*run.classes, None], dtype=object)
        self.labels = unpack(clean["labels"]) if "labels" in clean else None
        self.truth = unpack(clean["truth"]) if "truth" in clean else None
        self.confidence = unpack(clean["confidence"]) if "confidence" in clean else None

    def correct(self, row: Row) -> np.ndarray | None:
        """Per sample: the (possibly perturbed) prediction equals the true label."""
        if self.truth is None or row.labels is None:
            return None
        return (self.classes[row.labels] == self.classes[self.truth]) & (row.labels >= 0)

    def drop(self, row: Row) -> np.ndarray | None:
        if self.confidence is None or row.score_of_clean is None:
            return None
        return self.confidence.astype(np.float64) - row.score_of_clean.astype(np.float64)


def _compare_row(ra: Row, rb: Row, sides: tuple[_Side, _Side], seed: int
                 ) -> dict[str, dict[str, Any]]:
    side_a, side_b = sides
    both = side_a.ok & side_b.ok
    out: dict[str, dict[str, Any]] = {}
    usable = ra.changed & rb.changed & both
    if ra.failed is not None and rb.failed is not None:
        out["failure_rate"] = _rate_entry(ra, rb, "failure_rate",
                                          ra.failed[usable], rb.failed[usable], worse=True)
    correct_a, correct_b = side_a.correct(ra), side_b.correct(rb)
    if correct_a is not None and correct_b is not None and "accuracy_perturbed" in ra.metrics:
        out["accuracy_perturbed"] = _rate_entry(ra, rb, "accuracy_perturbed",
                                                correct_a[both], correct_b[both], worse=False)
    drop_a, drop_b = side_a.drop(ra), side_b.drop(rb)
    if drop_a is not None and drop_b is not None and "confidence_drop" in ra.metrics \
            and "confidence_drop" in rb.metrics:
        answered = usable & ~ra.crashed & ~rb.crashed & ~np.isnan(drop_a) & ~np.isnan(drop_b)
        out["confidence_drop"] = _mean_entry(ra, rb, drop_a[answered], drop_b[answered], seed)
    return out


def _side_metric(row: Row, metric: str) -> dict[str, Any] | None:
    m = row.metrics.get(metric)
    return None if m is None else m.to_dict()


def _rate_entry(ra: Row, rb: Row, metric: str, a: np.ndarray, b: np.ndarray, worse: bool
                ) -> dict[str, Any]:
    test = paired_outcome_test(a, b)
    return {"a": _side_metric(ra, metric), "b": _side_metric(rb, metric),
            "delta": _num(_value(rb, metric) - _value(ra, metric)),
            "paired_n": test.n, "discordant": [test.b, test.c],
            "p_value": _num(test.p_value) if test.n else None, "test": "mcnemar-exact"}


def _mean_entry(ra: Row, rb: Row, a: np.ndarray, b: np.ndarray, seed: int) -> dict[str, Any]:
    n = len(a)
    entry: dict[str, Any] = {"a": _side_metric(ra, "confidence_drop"),
                             "b": _side_metric(rb, "confidence_drop"),
                             "delta": _num(_value(rb, "confidence_drop")
                                           - _value(ra, "confidence_drop")),
                             "paired_n": n}
    if n < 2:
        return {**entry, "p_value": None, "test": "none (fewer than 2 pairs)"}
    if n <= BOOTSTRAP_MAX_PAIRS:
        boot = paired_bootstrap(a, b, seed=seed, n_resamples=BOOTSTRAP_RESAMPLES)
        return {**entry, "p_value": _num(boot.p_value), "test": "paired-bootstrap"}
    d = b - a
    sd = float(d.std(ddof=1))
    if sd == 0:
        p = 1.0 if float(d.mean()) == 0 else 0.0
    else:
        z = abs(float(d.mean())) / (sd / math.sqrt(n))
        p = math.erfc(z / math.sqrt(2))
    return {**entry, "p_value": _num(p), "test": "paired-normal"}


def _value(row: Row, metric: str) -> float:
    m = row.metrics.get(metric)
    return math.nan if m is None else m.value


def _num(x: float) -> float | None:
    """12 significant digits (a p-value of 1e-24 must not round to 0)."""
    return None if x is None or math.isnan(x) else float(f"{float(x):.12g}")


def _verdict(entry: Mapping[str, Any], adjusted: float, alpha: float, higher_is_worse: bool
             ) -> str:
    delta = entry.get("delta")
    if math.isnan(adjusted) or adjusted >= alpha or not delta:
        return UNCHANGED
    b_worse = (delta > 0) == higher_is_worse
    return REGRESSION if b_worse else IMPROVEMENT


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f} pt"


def _p(x: float | None) -> str:
    if x is None:
        return "-"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"

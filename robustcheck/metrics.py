"""Degradation metrics of one perturbation x severity, each with a 95% interval.

Input: the per-sample outcome of a row (which inputs the perturbation changed, which
calls crashed, what the model answered) next to the clean answers and, when given, the
true labels. Output: plain numbers, ready for JSON.

Definitions (DESIGN §6). "Changed" samples are those whose input the perturbation
altered; samples whose *clean* prediction crashed are left out of every rate but
accuracy (where they count as wrong): they are a finding of their own, the clean crash
rate, which ``max_crash_rate`` bounds and the robustness score counts.

======================  ========================================================
``coverage``            share of the n samples whose input was changed
``crash_rate``          among changed: share where the model raised or timed out
``flip_rate``           among changed, not crashed: predicted label differs from the
                        clean prediction
``failure_rate``        among changed: crashed, or the answer broke the expectation
                        (invariant: the label flipped; directional: it did not move
                        as stated; no-crash: only crashes fail)
``accuracy_clean``      with labels: clean accuracy over all n
``accuracy_perturbed``  with labels: accuracy over all n, unchanged samples keeping
                        their clean prediction and crashes counting as wrong
``accuracy_drop``       ``accuracy_clean - accuracy_perturbed`` (paired)
``confidence_drop``     with scores: mean over changed, not crashed of
                        ``p_clean[c] - p_perturbed[c]``, c the clean label
``mean_abs_change``     regression: mean of ``|y_perturbed - y_clean|`` over changed
``error_increase``      regression with labels: ``MAE_perturbed - MAE_clean``
======================  ========================================================

Intervals: Wilson score intervals for proportions. For means (accuracy drop, confidence
drop, regression changes) a percentile bootstrap of 1,000 seeded resamples: exact and
cheap through multinomial counts when the values take at most 16 distinct values (the
accuracy drop takes three), by resampling up to 500 values otherwise; above that the
bootstrap distribution of a mean is normal to within its own Monte-Carlo error, and the
normal interval ``mean ± z·s/√n`` is used instead: the same interval at no resampling
cost (a 10,000-sample, 120-row audit would otherwise spend longer bootstrapping than
predicting).

The **robustness score** is ``100 x (1 - clean crash rate) x (1 - mean failure_rate)``,
the mean over the rows whose perturbation changed at least one input: 100 means the
model answered every clean input and no perturbation made it fail its expectation or
crash on any input it changed; a model that answers no clean input scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._metricinfo import METRIC_INFO
from .stats import bootstrap_mean_interval, wilson_interval, z_value

__all__ = ["BOOTSTRAP_MAX_N", "METRICS", "Metric", "failed_samples", "robustness_score",
           "row_metrics"]

BOOTSTRAP_MAX_N = 500
BOOTSTRAP_RESAMPLES = 1000
DISCRETE_MAX = 16
_PEEK = 4 * DISCRETE_MAX

METRICS = tuple(m.name for m in METRIC_INFO if m.stored)
"""Every metric a row may carry, in the order it stores them (latency lives in the
timings); what each means is in :mod:`robustcheck._metricinfo`."""

Expectation = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metric:
    """A measured value, its 95% interval and how many samples it rests on."""

    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {"value": _num(self.value), "low": _num(self.low), "high": _num(self.high),
                "n": self.n}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Metric:
        return cls(_float(d["value"]), _float(d["low"]), _float(d["high"]), int(d["n"]))


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 12)


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)


def proportion(hits: np.ndarray) -> Metric:
    n = int(hits.size)
    k = int(np.count_nonzero(hits))
    low, high = wilson_interval(k, n) if n else (math.nan, math.nan)
    return Metric(k / n if n else math.nan, low, high, n)


def mean(values: np.ndarray, seed: int) -> Metric:
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    n = int(values.size)
    if n == 0:
        return Metric(math.nan, math.nan, math.nan, 0)
    centre = float(values.mean())
    if n > 1 and len(np.unique(values[:_PEEK])) > DISCRETE_MAX:
        # more distinct values among the first few than the discrete cases take: counting
        # every distinct value would sort them all (80 us for 7,800 scores) for nothing
        distinct = counts = values[:0]
    else:
        distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) == 1 and n > 1:
        # every resample is n copies of the one value: its mean is (n * v) / n, which is
        # what the multinomial below gives too, without drawing 1,000 resamples
        low = high = float(np.float64(n) * distinct[0] / n)
    elif 1 < len(distinct) <= DISCRETE_MAX and n > 1:
        # resampling n values with replacement = multinomial counts over the distinct
        # values: the same bootstrap distribution at a cost that does not grow with n
        rng = np.random.default_rng(seed)
        if len(distinct) == 2:
            # numpy draws a two-way multinomial as one binomial of the first count per
            # resample, from the same stream: the same counts at 40 us instead of 100 us
            draws = np.empty((BOOTSTRAP_RESAMPLES, 2), dtype=np.int64)
            draws[:, 0] = rng.binomial(n, counts[0] / n, size=BOOTSTRAP_RESAMPLES)
            draws[:, 1] = n - draws[:, 0]
        else:
            draws = rng.multinomial(n, counts / n, size=BOOTSTRAP_RESAMPLES)
        means = draws @ distinct / n
        low, high = (float(q) for q in np.quantile(means, [0.025, 0.975]))
    elif n <= BOOTSTRAP_MAX_N:
        low, high = bootstrap_mean_interval(values, seed=seed, n_resamples=BOOTSTRAP_RESAMPLES)
    else:
        half = z_value(0.95) * float(values.std(ddof=1)) / math.sqrt(n)
        low, high = centre - half, centre + half
    return Metric(centre, low, high, n)


def expectation_check(kind: str | Expectation) -> Expectation:
    """``(clean labels, perturbed labels) -> bool array`` (True = as expected)."""
    if callable(kind):
        return kind
    if kind == "invariant":
        return lambda clean, pert: clean == pert
    if kind in ("directional", "changes"):
        return lambda clean, pert: clean != pert
    return lambda clean, pert: np.ones(len(clean), dtype=bool)  # "no-crash"


def failed_samples(*, changed: np.ndarray, crashed: np.ndarray, clean_ok: np.ndarray,
                   clean: np.ndarray, perturbed: np.ndarray,
                   expectation: str | Expectation) -> np.ndarray:
    """Per sample: its input changed, its clean prediction stood, and the model crashed
    or broke the expectation on the perturbed input (what ``failure_rate`` counts)."""
    expected = np.asarray(expectation_check(expectation)(clean, perturbed), dtype=bool)
    return changed & clean_ok & (crashed | ~expected)


def row_metrics(
    *,
    changed: np.ndarray,
    crashed: np.ndarray,
    clean_ok: np.ndarray,
    clean_labels: np.ndarray,
    labels: np.ndarray,
    truth: np.ndarray | None,
    clean_confidence: np.ndarray | None,
    score_of_clean: np.ndarray | None,
    clean_values: np.ndarray | None,
    values: np.ndarray | None,
    expectation: str | Expectation,
    expectation_kind: str,
    seed: int,
    evaluated: np.ndarray | None = None,
) -> dict[str, Metric]:
    """The metrics of one row from its per-sample arrays (all of length n).

    ``labels`` holds the perturbed prediction where the input changed and did not
    crash, the clean prediction elsewhere. ``expectation_kind`` is the record's
    ``invariant`` / ``directional`` / ``no-crash``: accuracy is not scored under a
    directional perturbation, which changes the true label on purpose. ``evaluated``
    (None: all) is False for changed inputs a systematic crash left unasked: they are in
    the coverage and in no other metric.
    """
    n = len(changed)
    scope = np.ones(n, dtype=bool) if evaluated is None else (~changed | evaluated)
    usable = changed & clean_ok & scope
    answered = usable & ~crashed
    out: dict[str, Metric] = {
        "coverage": proportion(changed),
        "crash_rate": proportion(crashed[usable]),
    }
    if values is None:
        flipped = labels != clean_labels
        out["flip_rate"] = proportion(flipped[answered])
        before, after = clean_labels, labels
    else:
        if clean_values is None:
            raise ValueError("regression values need the clean values too")
        change = np.abs(values - clean_values)
        out["mean_abs_change"] = mean(change[answered], seed)
        before, after = clean_values, values
    failed = failed_samples(changed=changed, crashed=crashed, clean_ok=clean_ok,
                            clean=before, perturbed=after, expectation=expectation)
    out["failure_rate"] = proportion(failed[usable])
    if truth is not None and expectation_kind != "directional" and values is None:
        right_clean = (clean_labels == truth) & clean_ok
        right_pert = (labels == truth) & clean_ok & ~crashed
        out["accuracy_clean"] = proportion(right_clean[scope])
        out["accuracy_perturbed"] = proportion(right_pert[scope])
        out["accuracy_drop"] = mean(np.where(scope, right_clean.astype(float) -
                                             right_pert.astype(float), np.nan), seed)
    if truth is not None and values is not None and clean_values is not None:
        ok = clean_ok & ~crashed & scope
        err = np.abs(values - truth) - np.abs(clean_values - truth)
        out["error_increase"] = mean(np.where(ok, err, np.nan), seed)
    if clean_confidence is not None and score_of_clean is not None and values is None:
        drop = np.where(answered, clean_confidence - score_of_clean, np.nan)
        if not np.isnan(drop).all():
            out["confidence_drop"] = mean(drop, seed)
    del n
    return out


def robustness_score(failure_rates: list[float], clean_crash_rate: float | None = 0.0
                     ) -> float | None:
    """``100 x (1 - clean crash rate) x (1 - mean failure rate)`` over covered rows: the
    share of inputs the model both answers and handles as expected. None when nothing was
    covered; 0 when the model answered no clean input."""
    crash = 0.0 if clean_crash_rate is None or math.isnan(clean_crash_rate) else clean_crash_rate
    if crash >= 1.0:
        return 0.0
    rates = [r for r in failure_rates if r is not None and not math.isnan(r)]
    if not rates:
        return None
    return round(100.0 * (1.0 - crash) * (1.0 - sum(rates) / len(rates)), 2)

"""What robustcheck knows about each metric, written once (DESIGN §6).

One :class:`MetricInfo` record per metric: its name, the report's header and one-line
definition, whether it reads as a percentage, which way is worse, the threshold keyword
that bounds it and the paired test a comparison runs on it. Every module that used to
keep its own list derives it from :data:`METRIC_INFO`:

=================================  ==============================================
``metrics.METRICS``                the metrics a row stores, in storage order
``report.COLUMNS``, ``PERCENT``    the table's metric columns; percent formatting
``comparison.COMPARED``            the metrics a comparison tests (and direction)
``_options.THRESHOLD_NAMES``       the threshold keywords, in the order listed
``results.THRESHOLDS``             threshold keyword -> the metric it bounds
=================================  ==============================================

so adding a metric is adding one record here (and the code that measures it).

The caps on what a result keeps live here too, for the same reason: the runner stores at
most :data:`CRASHES_PER_ROW` crashes per perturbation x severity and the report shows
them all; crash messages are cut to :data:`MESSAGE_LIMIT` characters wherever they are
recorded or shown.

Stdlib only and importing nothing: the pytest plugin reads the threshold names at
start-up, where numpy must not be loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CRASHES_PER_ROW", "MESSAGE_LIMIT", "METRIC_INFO", "THRESHOLDS", "MetricInfo",
           "info", "threshold_metric"]

CRASHES_PER_ROW = 10
"""Crashes a result keeps (and the report shows) per perturbation x severity."""
MESSAGE_LIMIT = 500
"""Characters of a crash or stop message kept in a result and shown in the report."""


@dataclass(frozen=True)
class MetricInfo:
    """The facts about one metric that more than one module needs."""

    name: str
    header: str
    """Its column header in the report."""
    definition: str
    """What it measures, in one line (the header's tooltip)."""
    percent: bool
    """Shown as a percentage (a proportion, or a difference of two) rather than a number."""
    higher_is_worse: bool | None
    """True when a larger value means a less robust model, False when a better one, None
    when it says nothing about the model (coverage is the perturbation's)."""
    threshold: str | None = None
    """The keyword that bounds it in ``check()``, the marker and ``--threshold``."""
    threshold_rank: int | None = None
    """Where that keyword is listed (help texts, "known: ..." in error messages)."""
    paired_test: str | None = None
    """The paired test ``compare()`` runs on it, as the comparison JSON names it
    (``mcnemar-exact`` on per-sample outcomes, ``paired-bootstrap`` on per-sample values:
    a paired normal test above 1,000 pairs); None when comparisons do not test it. Every
    metric tested counts in a row's verdict."""
    column: int | None = None
    """Its place among the metric columns of the report's table; None: not a column."""
    stored: bool = True
    """Kept in a row's ``metrics``; False for the latency ratio, kept in the timings
    (the only part of a result that depends on the clock)."""


METRIC_INFO: tuple[MetricInfo, ...] = (  # in the order a row stores them
    MetricInfo("coverage", "Coverage", "share of the inputs the perturbation changed",
               percent=True, higher_is_worse=None),
    MetricInfo("crash_rate", "Crash rate",
               "changed inputs where the model raised or timed out",
               percent=True, higher_is_worse=True, threshold="max_crash_rate",
               threshold_rank=4, column=3),
    MetricInfo("flip_rate", "Flip rate",
               "changed, answered inputs whose label differs from the clean one",
               percent=True, higher_is_worse=True, threshold="max_flip_rate",
               threshold_rank=1, column=2),
    MetricInfo("failure_rate", "Failure rate",
               "changed inputs where the model crashed or broke the expectation",
               percent=True, higher_is_worse=True, threshold="max_failure_rate",
               threshold_rank=2, paired_test="mcnemar-exact", column=1),
    MetricInfo("accuracy_clean", "Clean accuracy", "accuracy on the clean inputs, over all n",
               percent=True, higher_is_worse=False),
    MetricInfo("accuracy_perturbed", "Perturbed accuracy",
               "accuracy with the perturbation applied, over all n (crashes count wrong)",
               percent=True, higher_is_worse=False, paired_test="mcnemar-exact"),
    MetricInfo("accuracy_drop", "Accuracy drop",
               "clean accuracy minus perturbed accuracy, over all n",
               percent=True, higher_is_worse=True, threshold="max_accuracy_drop",
               threshold_rank=3, column=4),
    MetricInfo("confidence_drop", "Confidence drop", "mean fall of the clean label's score",
               percent=False, higher_is_worse=True, threshold="max_confidence_drop",
               threshold_rank=5, paired_test="paired-bootstrap", column=5),
    MetricInfo("mean_abs_change", "Mean |change|", "mean absolute change of the output",
               percent=False, higher_is_worse=True, paired_test="paired-bootstrap", column=6),
    MetricInfo("error_increase", "Error increase", "perturbed MAE minus clean MAE",
               percent=False, higher_is_worse=True, paired_test="paired-bootstrap", column=7),
    MetricInfo("change_rate", "Change rate",
               "changed, answered prompts whose output changed in meaning (similarity "
               "below the threshold)", percent=True, higher_is_worse=True,
               threshold="max_change_rate", threshold_rank=7, paired_test="mcnemar-exact",
               column=8),
    MetricInfo("similarity", "Similarity",
               "mean similarity of the clean and the perturbed output (1: the same)",
               percent=False, higher_is_worse=False, paired_test="paired-bootstrap",
               column=9),
    MetricInfo("format_failure_rate", "Format failures",
               "changed, answered prompts whose output no longer meets the output contract",
               percent=True, higher_is_worse=True, threshold="max_format_failure_rate",
               threshold_rank=8, column=10),
    MetricInfo("correctness_clean", "Clean correctness",
               "mean similarity of the clean output to the reference, over all n",
               percent=False, higher_is_worse=False),
    MetricInfo("correctness_perturbed", "Perturbed correctness",
               "mean similarity of the perturbed output to the reference, over all n "
               "(crashes score 0)", percent=False, higher_is_worse=False),
    MetricInfo("correctness_drop", "Correctness drop",
               "clean correctness minus perturbed correctness, over all n",
               percent=False, higher_is_worse=True, threshold="max_correctness_drop",
               threshold_rank=9, column=11),
    MetricInfo("tokens_ratio", "Tokens",
               "prompt and completion tokens of the perturbed calls over those of the same "
               "prompts' clean calls", percent=False, higher_is_worse=True, column=12),
    MetricInfo("cost_ratio", "Cost",
               "cost of the perturbed calls over that of the same prompts' clean calls",
               percent=False, higher_is_worse=True, column=13),
    MetricInfo("latency_ratio", "Latency",
               "time of the perturbed calls over the time the same calls take on clean "
               "inputs", percent=False, higher_is_worse=True, threshold="max_latency_ratio",
               threshold_rank=6, stored=False),
)

_BY_NAME = {m.name: m for m in METRIC_INFO}

THRESHOLDS: dict[str, str] = {
    m.threshold: m.name
    for m in sorted(METRIC_INFO, key=lambda m: m.threshold_rank or 0) if m.threshold
}
"""Threshold keyword -> the metric it bounds, in the order the keywords are listed."""


def threshold_metric(key: str, expectation: str) -> str | None:
    """The metric a threshold keyword bounds on a row of this expectation (None: the
    threshold does not apply): ``max_flip_rate`` bounds the failure rate of a directional
    or custom expectation, and neither it nor ``max_accuracy_drop`` applies everywhere."""
    metric = THRESHOLDS[key]
    if key == "max_flip_rate":
        if expectation == "no-crash":
            return None
        if expectation != "invariant":
            return "failure_rate"
    if key == "max_accuracy_drop" and expectation == "directional":
        return None
    return metric


def info(metric: str) -> MetricInfo:
    """The record of ``metric``; KeyError for a name that is not a metric."""
    return _BY_NAME[metric]

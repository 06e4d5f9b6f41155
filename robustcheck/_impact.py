"""What a production profile means for an audited model: the error each perturbation
family adds in that traffic, and the accuracy to expect there.

The rule, per family both tested by the run and measured in the profile:

* The family's **failure rate**: for each of its perturbations, the row at the lowest
  severity of the run that changed at least one input and measured a failure rate; the
  mean over the family's perturbations. The lowest severity, because a production input
  shows a phenomenon when it holds it once, and the lowest severity comes closest to
  that (most perturbations change at least one thing at any severity; higher severities
  rewrite a text throughout). Directional perturbations (negation) are left out: a flip
  is what they expect, not an error.
* **Added error** = frequency x failure rate: the share of production inputs showing the
  family's phenomena times the share of such inputs the model fails on.
* **Expected production accuracy** = clean accuracy - the sum of the added errors,
  clamped to [0, 1]; None when the run had no labels (or is a regression). Pessimistic
  on purpose: the sum counts an input showing two phenomena twice (a union bound), and a
  failure counts every changed answer as an error (a changed wrong answer may be right).

Intervals (95%). The frequency comes from the production sample and the failure rates
from the audit: independent samples. Each factor's Wilson interval is taken at
sqrt(0.95) (97.47%), so both hold together with probability 95%, and the product's
interval is ``[low x low, high x high]``. A family's interval is the mean of its
perturbations' bounds, and a total adds the bounds: both at least as wide as an interval
of the mean or the sum whatever the correlation between the terms (the standard deviation
of a sum is at most the sum of the standard deviations). Conservative, never too narrow.

Families measured in the profile that the run did not test, and families tested that the
profile does not measure, are listed as such: never counted as 0.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._profile import Profile, load_profile
from .errors import InvalidArgument
from .metrics import Metric
from .stats import wilson_interval

__all__ = ["RULE", "Impact", "ImpactRow", "impact"]

JOINT = math.sqrt(0.95)
"""The level of each factor's interval, so that the two hold together at 95%."""

RULE = ("added error = share of production inputs showing the family's phenomena x the "
        "family's failure rate (the mean over its perturbations of the failure rate at the "
        "run's lowest severity that changed an input); expected accuracy = clean accuracy - "
        "the sum of the added errors. 95% intervals, conservative (union bound; factors at "
        "97.5% each; bounds added).")


@dataclass(frozen=True)
class ImpactRow:
    """One family: how often production shows it, how often the model fails on it (both
    with 95% intervals) and the error it adds (interval joint over both factors)."""

    family: str
    frequency: Metric
    failure_rate: Metric
    added_error: Metric
    perturbations: tuple[str, ...]
    """The rows the failure rate is the mean of, as ``name@severity``."""

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "frequency": self.frequency.to_dict(),
                "failure_rate": self.failure_rate.to_dict(),
                "added_error": self.added_error.to_dict(),
                "perturbations": list(self.perturbations)}


@dataclass(frozen=True)
class Impact:
    """The error each family adds in production traffic and the accuracy to expect.

    ``rows`` (one per family in both), ``total_added_error``, ``clean_accuracy`` and
    ``expected_accuracy`` (None without labels), ``untested`` (families production shows
    that the run did not test, with their frequency), ``not_counted`` (families tested but
    left out, with why). ``str(impact)`` is a plain table.
    """

    profile_name: str | None
    run_name: str
    profile_n: int
    run_n: int
    rows: tuple[ImpactRow, ...]
    total_added_error: Metric
    clean_accuracy: Metric | None
    expected_accuracy: Metric | None
    untested: tuple[tuple[str, Metric], ...]
    not_counted: tuple[tuple[str, str], ...]
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "robustcheck.impact", "rule": RULE, "profile": self.profile_name,
            "run": self.run_name, "profile_n": self.profile_n, "run_n": self.run_n,
            "complete": self.complete, "rows": [r.to_dict() for r in self.rows],
            "total_added_error": self.total_added_error.to_dict(),
            "clean_accuracy": None if self.clean_accuracy is None else
            self.clean_accuracy.to_dict(),
            "expected_accuracy": None if self.expected_accuracy is None else
            self.expected_accuracy.to_dict(),
            "untested": [{"family": f, "frequency": m.to_dict()} for f, m in self.untested],
            "not_counted": [{"family": f, "reason": why} for f, why in self.not_counted],
        }

    def __str__(self) -> str:
        lines = [f"Production impact of profile {self.profile_name or '(unnamed)'!r} "
                 f"({self.profile_n} inputs) on run {self.run_name!r} ({self.run_n} inputs)"]
        if not self.complete:
            lines.append("  the run stopped early: only the rows it ran are counted")
        cells = [["family", "in production", "failure rate", "added error"]]
        cells += [[r.family, _text(r.frequency), _text(r.failure_rate), _text(r.added_error)]
                  for r in self.rows]
        widths = [max(len(c[k]) for c in cells) for k in range(4)]
        lines += ["  " + "  ".join(c[k].ljust(widths[k]) for k in range(4)).rstrip()
                  for c in cells]
        lines.append(f"  total added error: {_text(self.total_added_error)}")
        if self.expected_accuracy is None or self.clean_accuracy is None:
            lines.append("  expected production accuracy: not measured (the run has no clean "
                         "accuracy: no labels, or not a classification)")
        else:
            lines.append(f"  expected production accuracy: {_text(self.expected_accuracy)} "
                         f"(clean accuracy {_text(self.clean_accuracy)})")
        seen = [f"{f} {_text(m)}" for f, m in self.untested if m.value > 0]
        unseen = [f for f, m in self.untested if m.value == 0]
        notes = [("in production, not tested: ", "; ".join(seen)),
                 ("measured at 0% in production, not tested: ", ", ".join(unseen)),
                 ("tested, not counted: ", "; ".join(f"{f} ({why})"
                                                     for f, why in self.not_counted)),
                 ("rule: ", RULE)]
        for head, body in notes:
            if body:
                lines += textwrap.wrap(head + body, 100, initial_indent="  ",
                                       subsequent_indent="    ")
        return "\n".join(lines)


def _text(m: Metric) -> str:
    return f"{100 * m.value:.1f}% [{100 * m.low:.1f}, {100 * m.high:.1f}]"


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _family_rates(result: Any) -> tuple[dict[str, tuple[Metric, Metric, tuple[str, ...]]],
                                        dict[str, str]]:
    """Per family: (failure rate at 95%, at the joint level, the rows used); and the
    families tested but not usable, with why."""
    lowest: dict[str, Any] = {}
    directional: set[str] = set()
    families: set[str] = set()
    for row in result.rows:
        families.add(row.family)
        if row.expectation == "directional":
            directional.add(row.perturbation)
            continue
        m = row.metrics.get("failure_rate")
        if m is None or m.n == 0 or math.isnan(m.value) or not row.value("coverage"):
            continue
        best = lowest.get(row.perturbation)
        if best is None or row.severity < best.severity:
            lowest[row.perturbation] = row
    rates: dict[str, tuple[Metric, Metric, tuple[str, ...]]] = {}
    for family in sorted(families):
        used = [r for name, r in sorted(lowest.items()) if r.family == family]
        if used:
            rates[family] = (_mean([r.metrics["failure_rate"] for r in used], 0.95),
                             _mean([r.metrics["failure_rate"] for r in used], JOINT),
                             tuple(r.key for r in used))
    skipped = {}
    for family in sorted(families - set(rates)):
        names = {r.perturbation for r in result.rows if r.family == family}
        skipped[family] = ("directional: a flip is the expected outcome"
                           if names <= directional else
                           "no failure rate measured: no row changed an input the model "
                           "answered")
    return rates, skipped


def _mean(metrics: list[Metric], level: float) -> Metric:
    """The mean failure rate, with the mean of the bounds at ``level`` (Wilson, from
    each row's count)."""
    bounds = [wilson_interval(round(m.value * m.n), m.n, level) for m in metrics]
    k = len(metrics)
    return Metric(sum(m.value for m in metrics) / k, sum(b[0] for b in bounds) / k,
                  sum(b[1] for b in bounds) / k, min(m.n for m in metrics))


def impact(result: Any, profile: Profile | str | os.PathLike[str]) -> Impact:
    """The error each family adds in the traffic ``profile`` describes, for the model
    audited in ``result`` (a :class:`~robustcheck.results.RunResult`), and the accuracy
    to expect there. ``profile`` is a :class:`~robustcheck._profile.Profile` or the path
    of its JSON. The rule and its intervals are in this module's docstring."""
    if not all(hasattr(result, a) for a in ("rows", "clean", "data", "name")):
        raise InvalidArgument(f"result must be a RunResult (from robustcheck.run or "
                              f"robustcheck.load), got {type(result).__name__}")
    prof = load_profile(profile)
    run_modality = result.data.get("modality")
    if prof.modality != run_modality:
        raise InvalidArgument(f"the profile describes {prof.modality} inputs but the run "
                              f"audited {run_modality} inputs; profile the production "
                              "inputs of this model")
    rates, skipped = _family_rates(result)
    rows, untested = [], []
    for fam in prof.families:
        share = fam.share
        if fam.count is None or share is None:
            continue
        if fam.family not in rates:
            if fam.family not in skipped:
                untested.append((fam.family, share))
            continue
        rate, rate_joint, used = rates[fam.family]
        f_low, f_high = wilson_interval(fam.count, fam.n, JOINT)
        added = Metric(share.value * rate.value, f_low * rate_joint.low,
                       f_high * rate_joint.high, fam.n)
        rows.append(ImpactRow(fam.family, share, rate, added, used))
    untested.sort(key=lambda u: (-u[1].value, u[0]))
    measured = {f.family for f in prof.families if f.count is not None}
    not_counted = [(f, why) for f, why in skipped.items()]
    not_counted += [(f, "not measured in the profile: pass reference= to profile()"
                     if any(x.family == f for x in prof.families) else
                     "the profile has no phenomenon for this family")
                    for f in sorted(set(rates) - measured)]
    total = Metric(sum(r.added_error.value for r in rows),
                   _clamp(sum(r.added_error.low for r in rows)),
                   _clamp(sum(r.added_error.high for r in rows)), prof.n)
    clean = _clean_accuracy(result.clean)
    expected = None if clean is None else Metric(
        _clamp(clean.value - total.value), _clamp(clean.low - total.high),
        _clamp(clean.high - total.low), clean.n)
    return Impact(prof.name, str(result.name), prof.n, int(result.data.get("n", 0)),
                  tuple(rows), total, clean, expected, tuple(untested),
                  tuple(sorted(not_counted)), bool(getattr(result, "complete", True)))


def _clean_accuracy(clean: Mapping[str, Any]) -> Metric | None:
    acc = clean.get("accuracy")
    if not isinstance(acc, Mapping) or acc.get("value") is None:
        return None
    return Metric.from_dict(acc)

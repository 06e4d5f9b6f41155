"""``robustcheck.compare``: two runs on the same data, row by row, with paired tests.

Both runs must come from the same data (fingerprint) and the same seed, so that sample
i saw the same perturbed input under A and under B; then every difference is paired.
Every metric whose record (``_metricinfo``) names a paired test is tested in each row
where both runs measured it:

* rates (``failure_rate``, ``accuracy_perturbed``): exact McNemar test on the
  per-sample outcomes of the samples both runs could score;
* means (``confidence_drop``; ``mean_abs_change`` and ``error_increase`` for
  regression models): a paired bootstrap of the per-sample differences from 20 up to
  1,000 pairs, a paired normal test above that (the bootstrap distribution of a mean of
  that many pairs is normal; resampling would only add Monte-Carlo noise and time);
* Holm's correction over every test of every row at once: one family, so that testing
  more metrics does not make a chance finding more likely;
* a metric's verdict is ``regression`` when its adjusted p < alpha and B is the worse,
  ``improvement`` when B is the better; the row's verdict reads all of them:
  ``regression`` when some metric is worse and none better, ``improvement`` the
  reverse, ``mixed`` when both, else ``no significant change``. ``decided_by`` names
  the metrics that decided it.

Every tested metric also carries the 95% interval of its paired difference B - A
(``delta_low``, ``delta_high``): Newcombe's hybrid score interval for the rates (closed
form, from the 2 x 2 table of paired outcomes), the percentile interval of the same
bootstrap for means (the normal one above 1,000 pairs). Each significant row lists the
samples whose outcome flipped between the runs (``flips``, see ``_compare_summary``).

A bootstrap p-value is never below 2 / (resamples + 1), and Holm multiplies the smallest
p-value by the number of tests m: with 10,000 resamples no mean could pass alpha = 0.05
in a family of more than 250 tests. So the tests near that floor are resampled further
(the same seeded resamples, extended) until the floor is at most alpha / (4 m).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._compare_summary import FLIPS_SHOWN, FlipCases, markdown, summary_html
from ._files import dumps
from ._generation import MEANING_BIT
from ._metricinfo import METRIC_INFO, info
from .errors import IncompatibleResults, InvalidArgument
from .results import Row, RunResult, load, unpack, write_atomic
from .stats import holm, paired_bootstrap, paired_outcome_test, wilson_interval, z_value

__all__ = ["Comparison", "compare"]

SCHEMA_VERSION = 1
MIN_MEAN_PAIRS = 20
"""Means of fewer pairs are not tested: the bootstrap of 5 differences of one sign gives
the smallest p-value it can, where an exact sign-flip test gives 0.0625 (the same number
as the gates' ``min_samples`` default)."""
BOOTSTRAP_MAX_PAIRS = 1000
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_MAX_RESAMPLES = 1_000_000
FLOOR_SHARE = 4
"""Refined bootstraps resample until their smallest p-value is at most alpha / (4 m)."""
REFINE_COUNT = 10
"""A bootstrap is refined when at most this many of its first resample means fall on the
far side of zero (beyond that its p-value is well above its floor)."""
REGRESSION, IMPROVEMENT, MIXED = "regression", "improvement", "mixed"
UNCHANGED = "no significant change"
VERDICTS = (REGRESSION, MIXED, IMPROVEMENT, UNCHANGED)
"""Every row verdict, in the order tables list them."""
COMPARED = tuple(m for m in METRIC_INFO if m.paired_test)
"""The metrics a comparison tests, in the order a row lists them."""
# For each compared metric: does a larger value mean B is worse?
HIGHER_IS_WORSE = {m.name: bool(m.higher_is_worse) for m in COMPARED}


@dataclass
class Comparison:
    """Result of :func:`compare`: one entry per perturbation x severity of both runs."""

    a: RunResult
    b: RunResult
    alpha: float
    rows: list[dict[str, Any]]
    unpaired: list[str] = field(default_factory=list)
    flip_inputs: str = "examples"
    """Where the flipped samples' inputs come from: ``"data"`` (the data of the runs,
    perturbed inputs regenerated from the seed) or ``"examples"`` (only the samples
    the runs kept as worst examples show their text; the others show their index)."""
    mce: dict[str, Any] | None = None
    """Image runs with corruption rows: the mCE and relative mCE of B against A as the
    baseline (``{"mce": ..., "relative_mce": ...}``, each ``MCE.to_dict()`` or None
    when undefined); None otherwise. See :mod:`robustcheck._mce`."""

    @property
    def regressions(self) -> list[dict[str, Any]]:
        """Rows where some metric is significantly worse in B and none better."""
        return [r for r in self.rows if r["verdict"] == REGRESSION]

    @property
    def improvements(self) -> list[dict[str, Any]]:
        """Rows where some metric is significantly better in B and none worse."""
        return [r for r in self.rows if r["verdict"] == IMPROVEMENT]

    @property
    def mixed(self) -> list[dict[str, Any]]:
        """Rows where one metric is significantly worse in B and another better."""
        return [r for r in self.rows if r["verdict"] == MIXED]

    @property
    def tests(self) -> int:
        """How many paired tests the Holm correction adjusted together."""
        return sum(e["p_value"] is not None for r in self.rows for e in r["metrics"].values())

    def to_dict(self) -> dict[str, Any]:
        def side(r: RunResult) -> dict[str, Any]:
            return {"name": r.name, "score": r.score, "seed": r.seed, "complete": r.complete,
                    "model": r.model, "environment": r.environment, "timings": r.timings}

        counts = {v: sum(r["verdict"] == v for r in self.rows) for v in VERDICTS}
        return {
            "schema_version": SCHEMA_VERSION, "kind": "robustcheck.comparison",
            "alpha": self.alpha, "correction": "holm", "tests": self.tests,
            "a": side(self.a), "b": side(self.b),
            "data": {k: self.a.data[k] for k in ("fingerprint", "n", "modality")},
            "summary": {"regressions": counts[REGRESSION], "improvements": counts[IMPROVEMENT],
                        "mixed": counts[MIXED], "unchanged": counts[UNCHANGED]},
            "unpaired": self.unpaired,
            "flips": {"shown": FLIPS_SHOWN, "inputs": self.flip_inputs},
            "rows": self.rows,
            **({"mce": self.mce} if self.mce is not None else {}),
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        if path is not None:
            write_atomic(path, text)
        return text

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        from . import report

        return report.write(report.render_comparison(self.to_dict()), path)

    def to_markdown(self) -> str:
        """A summary for a pull-request comment: the verdict counts, then one table line
        per metric that decided a significant row (A, B, the paired delta with its 95%
        interval, the adjusted p-value). Names from the data are escaped."""
        return markdown(self.to_dict())

    def _repr_html_(self) -> str:
        """The same summary as compact HTML for Jupyter (every value escaped)."""
        return summary_html(self.to_dict())

    def table(self) -> str:
        """Regressions first, then mixed rows and improvements: failure rate of A and B,
        its delta and adjusted p, the verdict and the metrics that decided it."""
        order = {v: i for i, v in enumerate(VERDICTS)}
        rows = sorted(self.rows, key=lambda r: (order[r["verdict"]], r["perturbation"],
                                                r["severity"]))
        header = ["perturbation", "sev", "A failure", "B failure", "delta", "p (Holm)",
                  "verdict", "decided by"]
        body = []
        for r in rows:
            m = r["metrics"].get("failure_rate") or {}
            body.append([r["perturbation"], f"{r['severity']:g}",
                         _pct((m.get("a") or {}).get("value")),
                         _pct((m.get("b") or {}).get("value")), _signed(m.get("delta")),
                         _p(m.get("p_adjusted")), r["verdict"], _decided(r)])
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
        lines = [f"{self.a.name} (A) vs {self.b.name} (B): {len(self.regressions)} "
                 f"regressions, {len(self.improvements)} improvements, {len(self.mixed)} "
                 f"mixed; Holm over {self.tests} tests, alpha {self.alpha}"]
        lines += _mce_lines(self.mce)
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in body]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def compare(a: RunResult | str | os.PathLike[str], b: RunResult | str | os.PathLike[str], *,
            alpha: float = 0.05, seed: int = 0, inputs: Any = None, labels: Any = None
            ) -> Comparison:
    """Compare run ``b`` against run ``a`` (the baseline), row by row.

    ``a`` and ``b`` are results or paths to result JSON files. ``inputs`` (and
    ``labels``), the data both runs were made from, let a comparison of loaded results
    show the inputs of the samples that flipped between them (a result made in this
    process knows its data); without them only the samples the runs kept as examples
    show their text, the others their index.
    """
    run_a, run_b = _as_result(a, "a"), _as_result(b, "b")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must be in (0, 1), got {alpha!r}; e.g. alpha=0.05")
    _check_pairable(run_a, run_b, a, b)
    cases = FlipCases(run_a, run_b, inputs, labels)
    rows_b = {(r.perturbation, r.severity): r for r in run_b.rows}
    pairs = [(ra, rows_b[(ra.perturbation, ra.severity)]) for ra in run_a.rows
             if (ra.perturbation, ra.severity) in rows_b]
    paired = {(ra.perturbation, ra.severity) for ra, _ in pairs}
    unpaired = sorted({r.key for r in run_a.rows + run_b.rows
                       if (r.perturbation, r.severity) not in paired})
    sides = (_Side(run_a), _Side(run_b))
    tested = [(ra, rb, _compare_row(ra, rb, sides, seed)) for ra, rb in pairs]
    _correct(tested, sides, seed, alpha)
    rows = []
    for ra, rb, metrics in tested:
        row = {"perturbation": ra.perturbation, "severity": ra.severity,
               "expectation": ra.expectation, "metrics": metrics, **_row_verdict(metrics)}
        if row["verdict"] != UNCHANGED and ra.failed is not None and rb.failed is not None:
            row["flips"] = _flips(ra, rb, sides, cases)
        rows.append(row)
    return Comparison(run_a, run_b, float(alpha), rows, unpaired, cases.origin,
                      _mce_of(run_a, run_b, seed))


def _mce_of(a: RunResult, b: RunResult, seed: int) -> dict[str, Any] | None:
    """The mCE and relative mCE of B against A (the baseline), when both are image runs
    with ImageNet-C corruption rows (image perturbations: their families say the
    modality); None otherwise."""
    from ._mce import has_corruptions, mce

    if not all(has_corruptions(r) for r in (a, b)):
        return None
    out: dict[str, Any] = {}
    for key, relative in (("mce", False), ("relative_mce", True)):
        try:
            out[key] = mce(b, a, relative=relative, seed=seed).to_dict()
        except InvalidArgument as exc:  # unlabelled, other corruptions, undefined
            out[key] = None
            out.setdefault("why", {})[key] = str(exc)
    return out


def _mce_lines(block: Mapping[str, Any] | None) -> list[str]:
    if not block:
        return []
    lines = []
    for key, name in (("mce", "mCE"), ("relative_mce", "relative mCE")):
        m = block.get(key)
        if m is None:
            why = (block.get("why") or {}).get(key, "-")
            lines.append(f"{name} of B against A: undefined ({why})")
            continue
        lines.append(f"{name} of B against A: {_ratio(m.get('value'))} [{_ratio(m.get('low'))}, "
                     f"{_ratio(m.get('high'))}] over {len(m.get('per_corruption') or [])} "
                     "corruptions (below 1: B is more robust; 95% paired bootstrap)")
    return lines


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _correct(tested: list[tuple[Row, Row, dict[str, dict[str, Any]]]],
             sides: tuple[_Side, _Side], seed: int, alpha: float) -> None:
    """Holm over every test of every row at once (after resampling further the bootstraps
    whose floor alone would stop them passing): each metric's adjusted p and verdict."""
    family = [(name, e) for *_, metrics in tested for name, e in metrics.items()
              if e["p_value"] is not None]
    resamples = _family_resamples(len(family), alpha)
    for ra, rb, metrics in tested:
        for name, entry in metrics.items():
            pair = _pair(name, ra, rb, sides) if _near_floor(entry, resamples) else None
            if pair is not None:
                entry.update(_mean_test(*pair, seed, resamples))
    for (name, entry), adjusted in zip(family, holm([e["p_value"] for _, e in family])):
        entry["p_adjusted"] = _num(adjusted)
        entry["verdict"] = _metric_verdict(name, entry, alpha)


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
    scored_a, scored_b = a.clean.get("generation"), b.clean.get("generation")
    if scored_a is not None and scored_b is not None:
        keys = ("similarity", "threshold", "output")
        differ = [k for k in keys if scored_a.get(k) != scored_b.get(k)]
        if differ:
            raise IncompatibleResults(
                f"{label_a} and {label_b} judged generated outputs differently ("
                + "; ".join(f"{k}: {scored_a.get(k)!r} vs {scored_b.get(k)!r}" for k in differ)
                + "), so their change rates and similarities do not compare; run both with "
                "the same Generation settings")


class _Side:
    """Per-sample clean arrays of one run, decoded once, and the per-sample values of
    each compared metric in one of its rows (None when the run has no such values)."""

    def __init__(self, run: RunResult) -> None:
        clean = run.clean
        self.ok = unpack(clean["ok"])
        self.classes = np.array([*run.classes, None], dtype=object)
        self.truth = unpack(clean["truth"]) if "truth" in clean else None
        self.confidence = unpack(clean["confidence"]) if "confidence" in clean else None
        self.values = unpack(clean["values"]) if "values" in clean else None

    def failed(self, row: Row) -> np.ndarray | None:
        return row.failed

    def correct(self, row: Row) -> np.ndarray | None:
        """Per sample: the (possibly perturbed) prediction equals the true label."""
        if self.truth is None or row.labels is None:
            return None
        return (self.classes[row.labels] == self.classes[self.truth]) & (row.labels >= 0)

    def drop(self, row: Row) -> np.ndarray | None:
        if self.confidence is None or row.score_of_clean is None:
            return None
        return self.confidence.astype(np.float64) - row.score_of_clean.astype(np.float64)

    def change(self, row: Row) -> np.ndarray | None:
        if self.values is None or row.values is None:
            return None
        return np.abs(row.values.astype(np.float64) - self.values.astype(np.float64))

    def meaning_changed(self, row: Row) -> np.ndarray | None:
        """Per sample: a generated output changed in meaning (see ``_generation``)."""
        state, sim = row.extra.get("state"), row.extra.get("similarity")
        if state is None or sim is None:
            return None
        # NaN where no two outputs were compared (a crash): left out, as in the row
        return np.where(np.isnan(sim), np.nan, ((state & MEANING_BIT) != 0).astype(float))

    def similarity(self, row: Row) -> np.ndarray | None:
        sim = row.extra.get("similarity")
        return None if sim is None else sim.astype(np.float64)

    def error_increase(self, row: Row) -> np.ndarray | None:
        if self.values is None or row.values is None or self.truth is None:
            return None
        truth = self.truth.astype(np.float64)
        return (np.abs(row.values.astype(np.float64) - truth)
                - np.abs(self.values.astype(np.float64) - truth))


# Per compared metric: its per-sample values in a row, and whether only the inputs the
# perturbation changed count (as in ``metrics.row_metrics``). Crashes stay in the rates
# (a crash is a failure, and wrong) and are NaN, so left out, in the means.
_PER_SAMPLE: dict[str, tuple[Callable[[_Side, Row], np.ndarray | None], bool]] = {
    "failure_rate": (_Side.failed, True),
    "accuracy_perturbed": (_Side.correct, False),
    "confidence_drop": (_Side.drop, True),
    "mean_abs_change": (_Side.change, True),
    "error_increase": (_Side.error_increase, False),
    "change_rate": (_Side.meaning_changed, True),
    "similarity": (_Side.similarity, True),
}


def _pair(metric: str, ra: Row, rb: Row, sides: tuple[_Side, _Side]
          ) -> tuple[np.ndarray, np.ndarray] | None:
    """The metric's per-sample values under A and B, on the samples both runs scored."""
    values, changed_only = _PER_SAMPLE[metric]
    side_a, side_b = sides
    a, b = values(side_a, ra), values(side_b, rb)
    if a is None or b is None:
        return None
    keep = side_a.ok & side_b.ok
    if changed_only:
        keep &= ra.changed & rb.changed
    for row in (ra, rb):  # a systematic crash's unasked inputs pair with nothing
        if row.evaluated is not None:
            keep &= ~row.changed | row.evaluated
    if a.dtype.kind == "f":
        keep &= np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def _compare_row(ra: Row, rb: Row, sides: tuple[_Side, _Side], seed: int
                 ) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for record in COMPARED:
        name = record.name
        pair = _pair(name, ra, rb, sides) if name in ra.metrics and name in rb.metrics \
            else None
        if pair is None:
            continue
        a, b = pair
        test = (_mcnemar(a, b) if record.paired_test == "mcnemar-exact"
                else _mean_test(a, b, seed, BOOTSTRAP_RESAMPLES))
        out[name] = {"a": _side_metric(ra, name), "b": _side_metric(rb, name),
                     "delta": _num(_value(rb, name) - _value(ra, name)), "paired_n": len(a),
                     **test, "p_adjusted": None, "verdict": UNCHANGED}
    return out


def _flips(ra: Row, rb: Row, sides: tuple[_Side, _Side], cases: FlipCases
           ) -> dict[str, Any]:
    """The samples whose failure outcome differs, among those McNemar pairs (so the
    counts are its discordant pairs), ordered by how badly the failing run failed."""
    side_a, side_b = sides
    paired = side_a.ok & side_b.ok & ra.changed & rb.changed
    for row in (ra, rb):
        if row.evaluated is not None:
            paired &= row.evaluated
    return cases.flips(ra, rb, paired, (_size(side_a, ra), _size(side_b, rb)))


def _size(side: _Side, row: Row) -> np.ndarray | None:
    """How badly each sample failed: its confidence drop, or a regression's change."""
    drop = side.drop(row)
    return side.change(row) if drop is None else drop


def _side_metric(row: Row, metric: str) -> dict[str, Any] | None:
    m = row.metrics.get(metric)
    return None if m is None else m.to_dict()


def _mcnemar(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    test = paired_outcome_test(a, b)
    low, high = _paired_rate_interval(a.astype(bool), b.astype(bool))
    return {"discordant": [test.b, test.c], "paired_delta": _num(test.delta),
            "delta_low": _num(low), "delta_high": _num(high), "interval": "newcombe",
            "p_value": _num(test.p_value) if test.n else None, "test": "mcnemar-exact"}


def _paired_rate_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95% interval of rate(b) - rate(a) on paired outcomes: Newcombe's square-and-add
    interval (Newcombe 1998, method 10). The Wilson intervals of both rates, combined
    with the correlation of the pairs (continuity-corrected as there): it holds the
    observed difference, stays within [-1, 1] and, unlike the Wald interval, does not
    shrink to a point when no pair or every pair is discordant. Closed form, so
    deterministic and cheap."""
    n = len(a)
    if n == 0:
        return math.nan, math.nan
    both = int(np.count_nonzero(a & b))
    only_a, only_b = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    k_a, k_b = both + only_a, both + only_b
    p_a, p_b = k_a / n, k_b / n
    low_a, high_a = wilson_interval(k_a, n)
    low_b, high_b = wilson_interval(k_b, n)
    spread = k_a * (n - k_a) * k_b * (n - k_b)
    neither = n - both - only_a - only_b
    ad_bc = both * neither - only_a * only_b
    corrected = ad_bc - n / 2 if ad_bc > n / 2 else min(ad_bc, 0)
    phi = 0.0 if spread == 0 else corrected / math.sqrt(spread)

    def reach(x: float, y: float) -> float:
        return math.sqrt(max(0.0, x * x - 2 * phi * x * y + y * y))

    delta = p_b - p_a
    return (max(-1.0, delta - reach(p_b - low_b, high_a - p_a)),
            min(1.0, delta + reach(high_b - p_b, p_a - low_a)))


def _mean_test(a: np.ndarray, b: np.ndarray, seed: int, resamples: int) -> dict[str, Any]:
    n = len(a)
    if n < MIN_MEAN_PAIRS:
        return {"p_value": None, "test": f"none (fewer than {MIN_MEAN_PAIRS} pairs)"}
    if n <= BOOTSTRAP_MAX_PAIRS:
        boot = paired_bootstrap(a, b, seed=seed, n_resamples=resamples)
        return {"paired_delta": _num(boot.delta), "delta_low": _num(boot.low),
                "delta_high": _num(boot.high), "interval": "percentile-bootstrap",
                "p_value": _num(boot.p_value), "test": "paired-bootstrap",
                "resamples": resamples}
    d = b - a
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        p = 1.0 if mean == 0 else 0.0
    else:
        p = math.erfc(abs(mean) / (sd / math.sqrt(n)) / math.sqrt(2))
    half = z_value(0.95) * sd / math.sqrt(n)
    return {"paired_delta": _num(mean), "delta_low": _num(mean - half),
            "delta_high": _num(mean + half), "interval": "normal", "p_value": _num(p),
            "test": "paired-normal"}


def _family_resamples(tests: int, alpha: float) -> int:
    """Resamples whose smallest p-value, 2 / (B + 1), is at most alpha / (4 m)."""
    wanted = math.ceil(2 * FLOOR_SHARE * tests / alpha / 1000) * 1000
    return min(BOOTSTRAP_MAX_RESAMPLES, max(BOOTSTRAP_RESAMPLES, wanted))


def _near_floor(entry: Mapping[str, Any], resamples: int) -> bool:
    """A bootstrap of the first pass whose p-value is within a few resamples of its floor:
    only more resamples can tell whether it survives the correction."""
    first = entry.get("resamples")
    if first is None or first >= resamples or entry["p_value"] is None:
        return False
    beyond = entry["p_value"] * (first + 1) / 2 - 1  # resample means past zero
    return bool(beyond <= REFINE_COUNT + 0.5)


def _metric_verdict(metric: str, entry: Mapping[str, Any], alpha: float) -> str:
    """The direction is the tested one: B minus A on the paired samples."""
    adjusted, delta = entry["p_adjusted"], entry.get("paired_delta")
    if adjusted is None or adjusted >= alpha or not delta:
        return UNCHANGED
    return REGRESSION if (delta > 0) == HIGHER_IS_WORSE[metric] else IMPROVEMENT


def _row_verdict(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    decided = [name for name, e in metrics.items() if e["verdict"] != UNCHANGED]
    worse = any(metrics[name]["verdict"] == REGRESSION for name in decided)
    better = any(metrics[name]["verdict"] == IMPROVEMENT for name in decided)
    verdict = (MIXED if worse and better else REGRESSION if worse else
               IMPROVEMENT if better else UNCHANGED)
    return {"verdict": verdict, "decided_by": decided}


def _value(row: Row, metric: str) -> float:
    m = row.metrics.get(metric)
    return math.nan if m is None else m.value


def _num(x: float | None) -> float | None:
    """12 significant digits (a p-value of 1e-24 must not round to 0)."""
    return None if x is None or math.isnan(x) else float(f"{float(x):.12g}")


def _decided(row: Mapping[str, Any]) -> str:
    """The metrics that decided a row, with their delta and adjusted p-value."""
    parts = []
    for name in row.get("decided_by") or []:
        m = row["metrics"][name]
        delta = m.get("delta")
        shown = (_signed(delta) if info(name).percent else
                 "-" if delta is None else f"{delta:+.3f}")
        way = ("" if row["verdict"] != MIXED else
               ", worse" if m["verdict"] == REGRESSION else ", better")
        parts.append(f"{name} {shown} (p {_p(m.get('p_adjusted'))}{way})")
    return "; ".join(parts) or "-"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f} pt"


def _p(x: float | None) -> str:
    if x is None:
        return "-"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"

"""Corruption error (CE), mean corruption error (mCE) and their relative forms, against a
baseline result, as Hendrycks & Dietterich (2019, "Benchmarking neural network
robustness to common corruptions and perturbations") define them.

For a model f and a corruption c (a perturbation: every severity s of it in the run):

* ``E[s, c]`` is f's top-1 error under c at severity s: the share of samples whose
  perturbed answer is not the true label. A crash counts as an error; a sample the
  corruption left unchanged keeps its clean answer (so ``E = 1 - accuracy_perturbed``
  of the row);
* ``CE[c] = sum_s E_f[s, c] / sum_s E_base[s, c]``;
* ``relative CE[c] = sum_s (E_f[s, c] - E_f[clean]) / sum_s (E_base[s, c] -
  E_base[clean])``: how much *more* error the corruption adds, against the baseline;
* ``mCE`` (``relative mCE``) is the mean over the corruptions of CE (relative CE).

Below 1 the model is more robust than the baseline, above 1 less. Both results must come
from the same data (fingerprint) and seed and hold the same corruption rows; the errors
are then paired sample by sample. The samples a systematic crash left unasked (a row's
``evaluated`` is False) are left out of that row for both models, and the clean error a
relative CE subtracts is measured on the same samples (with every sample evaluated,
exactly the definition above).

Which rows count: the ImageNet-C corruption families (:data:`CORRUPTION_FAMILIES`) by
default; ``corruptions=`` names other perturbations or families (e.g. the pipeline
faults ``"resize"``, ``"exposure.over"``). A corruption whose rows changed no input (a
colour fault on grayscale images) is not applicable and is left out, listed in
``skipped``; a CE whose baseline denominator is not positive (the baseline made no error,
or the corruption did not add any) is undefined, listed there too, and the mean is
taken over the others.

Intervals (95%, percentile): a paired bootstrap over samples, the same resampled sample
indices for both models and every row at once (seeded, :data:`RESAMPLES` resamples,
vectorised through per-resample sample counts). A resample in which a ratio's
denominator is not positive has no value for it; the interval is taken over the others
and ``to_dict()`` says how many there were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._files import unpack
from ._row import Row
from .errors import InvalidArgument

RunResult = Any
"""A :class:`~robustcheck.results.RunResult` (not imported: ``results`` imports this
module lazily, and the import graph stays acyclic)."""

__all__ = ["CORRUPTION_FAMILIES", "MCE", "RESAMPLES", "CorruptionError", "mce"]

CORRUPTION_FAMILIES = ("image_noise", "blur", "weather", "digital")
"""The ImageNet-C corruption families of the catalogue: the rows an mCE counts by default."""
RESAMPLES = 1000
CONFIDENCE = 0.95
_TOLERANCE = 1e-12
"""A summed baseline error at most this is zero (float sums of exact fractions)."""
_CHUNK_ELEMENTS = 1 << 22
"""Resample counts held at once (resamples x samples), about 32 MiB of float64."""


@dataclass(frozen=True)
class CorruptionError:
    """CE (or relative CE) of one corruption: value, 95% interval, and what it rests on."""

    corruption: str
    value: float
    low: float
    high: float
    error: float
    """The model's error under the corruption, averaged over its severities."""
    baseline_error: float
    severities: tuple[float, ...]
    n: int
    """Samples paired in its rows (the fewest of any of its rows)."""

    def to_dict(self) -> dict[str, Any]:
        return {"corruption": self.corruption, "value": _num(self.value),
                "low": _num(self.low), "high": _num(self.high), "error": _num(self.error),
                "baseline_error": _num(self.baseline_error),
                "severities": list(self.severities), "n": self.n}


@dataclass(frozen=True)
class MCE:
    """The mCE of ``model`` against ``baseline`` (``relative``: the relative mCE).

    ``value``, ``low``, ``high``: the mean over ``per_corruption`` and its paired
    bootstrap interval; ``per_corruption``: one :class:`CorruptionError` per corruption.
    """

    model: str
    baseline: str
    relative: bool
    value: float
    low: float
    high: float
    per_corruption: list[CorruptionError]
    skipped: dict[str, str] = field(default_factory=dict)
    """Corruptions left out, and why (not applicable, or the CE is undefined)."""
    n: int = 0
    resamples: int = RESAMPLES
    seed: int = 0
    undefined_resamples: int = 0
    """Resamples that gave the mean no value (a denominator not positive in them)."""
    clean_error: float = math.nan
    baseline_clean_error: float = math.nan

    @property
    def name(self) -> str:
        return "relative mCE" if self.relative else "mCE"

    def verdict(self) -> str:
        """Which model is the more robust, read off the interval (not the point)."""
        if math.isnan(self.value):
            return "undefined"
        if self.high < 1:
            return f"{self.model} is more robust than {self.baseline} (the whole interval < 1)"
        if self.low > 1:
            return f"{self.model} is less robust than {self.baseline} (the whole interval > 1)"
        return (f"no clear difference between {self.model} and {self.baseline} (the "
                "interval holds 1)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": "relative_mce" if self.relative else "mce",
            "model": self.model, "baseline": self.baseline,
            "value": _num(self.value), "low": _num(self.low), "high": _num(self.high),
            "confidence": CONFIDENCE, "interval": "paired-percentile-bootstrap",
            "resamples": self.resamples, "seed": self.seed,
            "undefined_resamples": self.undefined_resamples, "n": self.n,
            "clean_error": _num(self.clean_error),
            "baseline_clean_error": _num(self.baseline_clean_error),
            "error": "perturbed answer != true label; a crash is an error",
            "per_corruption": [c.to_dict() for c in self.per_corruption],
            "skipped": dict(self.skipped),
        }

    def line(self) -> str:
        """One line: the value, its interval and over how many corruptions."""
        return (f"{self.name} of {self.model} against {self.baseline}: {_fmt(self.value)} "
                f"[{_fmt(self.low)}, {_fmt(self.high)}] over {len(self.per_corruption)} "
                f"corruptions (95% paired bootstrap, {self.resamples} resamples)")

    def __str__(self) -> str:
        ce = "rCE" if self.relative else "CE"
        header = ["corruption", ce, "95% interval", "error", "baseline error", "n"]
        body = [[c.corruption, _fmt(c.value), f"[{_fmt(c.low)}, {_fmt(c.high)}]",
                 _pct(c.error), _pct(c.baseline_error), str(c.n)]
                for c in self.per_corruption]
        body.append([self.name, _fmt(self.value), f"[{_fmt(self.low)}, {_fmt(self.high)}]",
                     "", "", str(self.n)])
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
        lines = [self.line(), f"  clean error {_pct(self.clean_error)} ({self.model}), "
                              f"{_pct(self.baseline_clean_error)} ({self.baseline}); error: "
                              "perturbed answer != true label, a crash is an error"]
        lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                  for row in body]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped.items()]
        lines.append(f"  {self.verdict()}")
        return "\n".join(lines)


def mce(result: RunResult, baseline: RunResult, *, relative: bool = False,
        corruptions: str | Iterable[str] | None = None, seed: int = 0,
        resamples: int = RESAMPLES) -> MCE:
    """The (relative) mCE of ``result`` against ``baseline``; see the module docstring."""
    if not isinstance(relative, bool):
        raise InvalidArgument(f"relative must be True or False, got {relative!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 10:
        raise InvalidArgument(f"resamples must be an integer of at least 10, got {resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed must be a non-negative integer, got {seed!r}")
    wanted = _wanted(corruptions)
    _check_pairable(result, baseline)
    names = _corruption_rows(result, baseline, wanted, corruptions)
    if not np.array_equal(_truth(result, "result"), _truth(baseline, "baseline")):
        raise InvalidArgument("result and baseline have different true labels; an mCE "
                              "compares two models on the same labelled data")
    truth = _codes(result), _codes(baseline)
    clean_err = _clean_errors(result), _clean_errors(baseline)
    rows_a = {(r.perturbation, r.severity): r for r in result.rows}
    rows_b = {(r.perturbation, r.severity): r for r in baseline.rows}
    skipped: dict[str, str] = {}
    columns: list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray]] = []
    for name, levels in names.items():
        pairs = [(rows_a[(name, s)], rows_b[(name, s)]) for s in levels]
        if not any(ra.changed.any() or rb.changed.any() for ra, rb in pairs):
            skipped[name] = "not applicable: it changed no input at any severity"
            continue
        for (ra, rb), s in zip(pairs, levels):
            keep = _evaluated(ra) & _evaluated(rb)
            columns.append((name, s, keep, _errors(ra, truth[0]), _errors(rb, truth[1])))
    if not columns:
        raise InvalidArgument(
            "no corruption changed any input, so there is no error to compare; choose "
            "corruptions that act on these images with corruptions=[...]")
    keep = np.stack([c[2] for c in columns], axis=1).astype(np.float64)
    raw_a = err_a = np.stack([c[3] for c in columns], axis=1) * keep
    raw_b = err_b = np.stack([c[4] for c in columns], axis=1) * keep
    if relative:  # the error each corruption adds, per sample: -1, 0 or 1
        err_a = err_a - clean_err[0][:, None] * keep
        err_b = err_b - clean_err[1][:, None] * keep
    which = [c[0] for c in columns]
    order = list(dict.fromkeys(which))
    groups = np.array([order.index(w) for w in which])

    def statistic(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per corruption, for each weighting of the samples (rows of ``weights``): the
        ratio, and the mean error of each model over its severities."""
        counted = weights @ keep
        with np.errstate(divide="ignore", invalid="ignore"):
            # counts of integers: exact, so a zero difference stays exactly zero
            ea, eb = (weights @ err_a) / counted, (weights @ err_b) / counted
        sums_a = _group_sum(ea, groups, len(order))
        sums_b = _group_sum(eb, groups, len(order))
        positive = sums_b > _TOLERANCE
        ratio = np.full(sums_b.shape, np.nan)
        np.divide(sums_a, sums_b, out=ratio, where=positive)
        return ratio, sums_a, sums_b

    n = len(truth[0])
    point, _, sum_b = statistic(np.ones((1, n)))
    defined = []
    for j, name in enumerate(order):
        if math.isfinite(point[0, j]):
            defined.append(j)
        else:
            what = "degradation" if relative else "error"
            skipped[name] = (f"undefined: the baseline's summed {what} under it is "
                             f"{_fmt(sum_b[0, j])}, not positive")
    if not defined:
        raise InvalidArgument(
            "every corruption's CE is undefined (the baseline made no "
            f"{'added ' if relative else ''}error under any of them): " + "; ".join(
                f"{k}: {v}" for k, v in skipped.items()))
    boot = _bootstrap(statistic, n, seed, resamples)
    per: list[CorruptionError] = []
    levels_of = {name: tuple(s for w, s, *_ in columns if w == name) for name in order}
    counted = keep.sum(axis=0)
    for j in defined:
        name = order[j]
        low, high = _interval(boot[:, j])
        per.append(CorruptionError(
            name, float(point[0, j]), low, high, _mean_error(raw_a, keep, groups == j),
            _mean_error(raw_b, keep, groups == j), levels_of[name],
            int(counted[groups == j].min())))
    means = boot[:, defined].mean(axis=1)
    value = float(point[0, defined].mean())
    low, high = _interval(means)
    return MCE(
        model=result.name, baseline=baseline.name, relative=relative, value=value,
        low=low, high=high, per_corruption=per, skipped=skipped,
        n=int(keep.any(axis=1).sum()), resamples=resamples, seed=seed,
        undefined_resamples=int(np.count_nonzero(~np.isfinite(means))),
        clean_error=float(clean_err[0].mean()), baseline_clean_error=float(clean_err[1].mean()))


def has_corruptions(result: RunResult, corruptions: str | Iterable[str] | None = None
                    ) -> bool:
    """Whether ``result`` holds rows an mCE would count."""
    wanted = _wanted(corruptions)
    return any(_counts(r, wanted) for r in result.rows)


# -- rows and samples ----------------------------------------------------------------


def _wanted(corruptions: str | Iterable[str] | None) -> set[str]:
    if corruptions is None:
        return set(CORRUPTION_FAMILIES)
    items = [corruptions] if isinstance(corruptions, str) else corruptions
    try:
        wanted = set(items)
    except TypeError:
        raise InvalidArgument(f"corruptions must be a perturbation or family name, or a "
                              f"list of them; got {corruptions!r}") from None
    if not wanted or not all(isinstance(x, str) and x for x in wanted):
        raise InvalidArgument(f"corruptions must name perturbations or families, e.g. "
                              f"corruptions=['blur', 'exposure.over']; got {corruptions!r}")
    return wanted


def _counts(row: Row, wanted: set[str]) -> bool:
    return row.perturbation in wanted or row.family in wanted


def _check_pairable(a: RunResult, b: RunResult) -> None:
    for what, x in (("result", a), ("baseline", b)):
        if not all(hasattr(x, k) for k in ("rows", "clean", "data", "name", "seed")):
            raise InvalidArgument(f"{what} must be a RunResult (robustcheck.run or "
                                  f"robustcheck.load), got {type(x).__name__}")
    if a.data.get("fingerprint") != b.data.get("fingerprint"):
        raise InvalidArgument(
            f"{a.name} and the baseline {b.name} were made on different data (fingerprints "
            f"{str(a.data.get('fingerprint'))[:19]}… and {str(b.data.get('fingerprint'))[:19]}…, "
            f"n {a.data.get('n')} and {b.data.get('n')}); an mCE pairs the errors of both "
            "models on the same images and labels")
    if a.seed != b.seed:
        raise InvalidArgument(
            f"{a.name} used seed {a.seed} and the baseline {b.name} seed {b.seed}: the "
            "corrupted images differ; run both with the same seed")
    for what, x in (("result", a), ("baseline", b)):
        if not x.data.get("labelled") or "truth" not in x.clean:
            raise InvalidArgument(
                f"the {what} {x.name} is not labelled; an mCE needs a classification run "
                "with the true labels (robustcheck.run(model, images, labels, ...))")


def _corruption_rows(a: RunResult, b: RunResult, wanted: set[str],
                     spec: Any) -> dict[str, list[float]]:
    """Corruption name -> its severities, the same in both results (else refused)."""
    keys_a = {(r.perturbation, r.severity) for r in a.rows if _counts(r, wanted)}
    keys_b = {(r.perturbation, r.severity) for r in b.rows if _counts(r, wanted)}
    if not keys_a and not keys_b:
        families = sorted({r.family for r in a.rows})
        what = ("the ImageNet-C corruption families " + ", ".join(CORRUPTION_FAMILIES)
                if spec is None else f"corruptions={spec!r}")
        raise InvalidArgument(
            f"{a.name} and {b.name} hold no rows of {what}; their families: "
            f"{', '.join(families) or 'none'}. Choose some with corruptions=[...]")
    if keys_a != keys_b:
        only_a = sorted(f"{p}@{s:g}" for p, s in keys_a - keys_b)
        only_b = sorted(f"{p}@{s:g}" for p, s in keys_b - keys_a)
        raise InvalidArgument(
            f"{a.name} and the baseline {b.name} were not run under the same corruptions "
            f"and severities: only in {a.name}: {', '.join(only_a[:8]) or '-'}; only in "
            f"{b.name}: {', '.join(only_b[:8]) or '-'}. Run both with the same "
            "perturbations and severities")
    names: dict[str, list[float]] = {}
    for p, s in sorted(keys_a):
        names.setdefault(p, []).append(s)
    differ = [p for p in names
              if _record(a.perturbations.get(p)) != _record(b.perturbations.get(p))]
    if differ:
        raise InvalidArgument(
            f"the corruptions {', '.join(differ[:5])} were configured differently in "
            f"{a.name} and the baseline {b.name} (their recorded parameters differ); run "
            "both with the same perturbations")
    return names


def _record(record: Any) -> Any:
    return None if not isinstance(record, dict) else (record.get("parameters"),
                                                       record.get("expectation"))


def _truth(result: RunResult, what: str) -> np.ndarray:
    clean = result.clean
    if "truth" not in clean:
        raise InvalidArgument(f"the {what} {result.name} has no true labels; an mCE "
                              "needs labels: robustcheck.run(model, images, labels, ...)")
    classes = np.array([*result.classes, None], dtype=object)
    truth = np.asarray(unpack(clean["truth"]))
    return np.asarray(classes[truth], dtype=object)


def _codes(result: RunResult) -> np.ndarray:
    return np.asarray(unpack(result.clean["truth"]))


def _clean_errors(result: RunResult) -> np.ndarray:
    """Per sample: the clean answer is not the truth (a clean crash is an error)."""
    truth = _codes(result)
    if "labels" in result.clean:
        labels = np.asarray(unpack(result.clean["labels"]))
        wrong = (labels != truth) | (labels < 0)
    else:
        wrong = np.ones(len(truth), dtype=bool)
    if "ok" in result.clean:
        wrong |= ~np.asarray(unpack(result.clean["ok"]), dtype=bool)
    return wrong.astype(np.float64)


def _errors(row: Row, truth: np.ndarray) -> np.ndarray:
    """Per sample: the answer under the corruption (the clean one where it changed
    nothing; -1 where the model crashed) is not the true label (class codes of one
    result)."""
    if row.labels is None:
        raise InvalidArgument(f"row {row.key} holds no answers; an mCE needs a "
                              "classification run")
    codes = np.asarray(row.labels)
    return ((codes != truth) | (codes < 0)).astype(np.float64)


def _evaluated(row: Row) -> np.ndarray:
    """Samples the row asked the model about (a systematic crash leaves some unasked)."""
    if row.evaluated is None:
        return np.ones(len(row.changed), dtype=bool)
    return ~np.asarray(row.changed, dtype=bool) | np.asarray(row.evaluated, dtype=bool)


# -- arithmetic ------------------------------------------------------------------------


def _group_sum(values: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    out = np.zeros((values.shape[0], count))
    for j in range(count):
        out[:, j] = values[:, groups == j].sum(axis=1)
    return out


def _mean_error(err: np.ndarray, keep: np.ndarray, columns: np.ndarray) -> float:
    return float(np.mean(err[:, columns].sum(axis=0) / keep[:, columns].sum(axis=0)))


def _bootstrap(statistic: Any, n: int, seed: int, resamples: int) -> np.ndarray:
    """The statistic's ratios under ``resamples`` resamples of the n samples (with
    replacement; the same indices for both models and every row): per resample, how
    often each sample was drawn, in chunks that bound memory."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // max(n, 1))
    parts = []
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, n, size=(size, n))
        offsets = (np.arange(size) * n)[:, None]
        weights = np.bincount((drawn + offsets).ravel(), minlength=size * n)
        parts.append(statistic(weights.reshape(size, n).astype(np.float64))[0])
    return np.concatenate(parts, axis=0)


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    alpha = 1 - CONFIDENCE
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 12)


def _fmt(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _pct(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"



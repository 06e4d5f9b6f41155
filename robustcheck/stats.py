"""Small, exact statistics for robustness metrics and run-to-run comparison.

Everything here depends on numpy only (no scipy at run time) and returns plain Python
``float``/``int`` values, so results go straight into JSON.

Intervals (DESIGN §6)
    * :func:`wilson_interval` -- Wilson score interval for a proportion.
    * :func:`bootstrap_mean_interval` -- percentile bootstrap interval for a mean.

Paired comparison of two runs on the same samples (DESIGN §8)
    * :func:`mcnemar_exact` / :func:`paired_outcome_test` -- exact McNemar test on
      per-sample boolean outcomes (e.g. "the label flipped").
    * :func:`paired_bootstrap` -- paired bootstrap for a difference of means (e.g. the
      per-sample confidence drop), with interval and p-value.
    * :func:`holm` -- Holm-Bonferroni adjustment of a family of p-values.

Helpers: :func:`normal_ppf` (inverse standard normal CDF) and :func:`z_value` (the
two-sided critical value for a confidence level).

The argument checks live in :mod:`robustcheck._stats_args`, the McNemar test and Holm's
adjustment in :mod:`robustcheck._mcnemar`; every name is importable from here.

Randomness: the bootstrap functions take an explicit integer ``seed`` and draw from
their own ``numpy.random.default_rng(seed)``; global random state is never read or
changed. The same ``(values, seed, n_resamples, confidence)`` always gives the same
answer on the same numpy version.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from robustcheck._mcnemar import PairedTest, holm, mcnemar_exact, paired_outcome_test
from robustcheck._stats_args import (
    _as_float_vector,
    _check_confidence,
    _check_count,
    _check_n_resamples,
    _check_seed,
)
from robustcheck.errors import InvalidArgument

__all__ = [
    "PairedBootstrap",
    "PairedTest",
    "bootstrap_mean_interval",
    "holm",
    "mcnemar_exact",
    "normal_ppf",
    "paired_bootstrap",
    "paired_outcome_test",
    "wilson_interval",
    "z_value",
]

# Upper bound on the number of float64 elements materialised at once by the bootstrap
# (indices + gathered values: about 2 * 8 bytes each, so ~32 MiB per chunk).
_BOOTSTRAP_CHUNK_ELEMENTS = 1 << 21

_SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PairedBootstrap:
    """Paired bootstrap comparison of the means of run A and run B.

    ``delta = mean_b - mean_a`` (the mean of the per-sample differences ``b - a``),
    ``[low, high]`` its percentile-bootstrap interval at ``confidence`` and
    ``p_value`` the two-sided bootstrap p-value described in :func:`paired_bootstrap`.
    ``n == 0`` gives NaN everywhere; ``n == 1`` gives ``low == high == delta`` and a NaN
    ``p_value`` (one pair carries no information about variability).
    """

    n: int
    mean_a: float
    mean_b: float
    delta: float
    low: float
    high: float
    confidence: float
    p_value: float
    n_resamples: int
    seed: int
    method: str = "paired_bootstrap"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (plain ``int``/``float``/``str``)."""
        return asdict(self)


# ----------------------------------------------------------------- normal quantiles

# Coefficients of P. J. Acklam's rational approximation of the inverse normal CDF
# (relative error below 1.15e-9 before refinement).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)
_P_LOW = 0.02425


def _ppf_lower(p: float) -> float:
    """Inverse normal CDF for 0 < p <= 0.5 (so the result is <= 0)."""
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    else:
        q = p - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / (
            ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0
        )
    # One Halley step on f(x) = Phi(x) - p. For x <= 0, Phi(x) = erfc(-x / sqrt 2) / 2 has
    # no cancellation, so the step brings the result to (close to) machine precision.
    exponent = 0.5 * x * x
    if exponent < 700.0:  # exp would overflow for p below ~1e-304: keep the approximation
        e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
        u = e * _SQRT_2PI * math.exp(exponent)
        x = x - u / (1.0 + 0.5 * x * u)
    return x


def normal_ppf(p: float) -> float:
    """Inverse CDF (quantile function) of the standard normal distribution.

    Acklam's rational approximation refined by one Halley step that uses
    ``math.erfc``; the lower tail is evaluated directly and the upper one by the exact
    symmetry ``ppf(p) = -ppf(1 - p)`` (``1 - p`` is exact in floating point for
    ``p >= 0.5``). Agrees with ``scipy.stats.norm.ppf`` to about 1e-15 relative for
    ``1e-300 < p < 1``. ``p`` must lie strictly between 0 and 1.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < float(p) < 1.0:
        raise InvalidArgument(f"p must be a probability strictly between 0 and 1, got {p!r}")
    p = float(p)
    if p > 0.5:
        return -_ppf_lower(1.0 - p)
    if p == 0.5:
        return 0.0
    return _ppf_lower(p)


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal critical value: ``normal_ppf(0.5 + confidence / 2)``.

    For example ``z_value(0.95) == 1.959963984540054``.
    """
    confidence = _check_confidence(confidence)
    return normal_ppf(0.5 + 0.5 * confidence)


# ------------------------------------------------------------------------ proportions


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    With ``p = successes / n`` and ``z = z_value(confidence)``::

        centre     = (p + z^2 / (2n)) / (1 + z^2 / n)
        half_width = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))

    The interval is ``centre -/+ half_width`` clipped to [0, 1]; it is exactly 0 at the
    lower end when ``successes == 0`` and exactly 1 at the upper end when
    ``successes == n``. It assumes ``n`` independent trials with a common success
    probability and, unlike the Wald interval, behaves well for small ``n`` and for
    proportions near 0 or 1. ``n == 0`` returns ``(nan, nan)``.
    """
    k = _check_count(successes, "successes")
    n = _check_count(n, "n")
    confidence = _check_confidence(confidence)
    if k > n:
        raise InvalidArgument(
            f"successes must be at most n, got successes={k} with n={n}"
        )
    if n == 0:
        return (math.nan, math.nan)
    z = z_value(confidence)
    p = k / n
    z2n = z * z / n
    denom = 1.0 + z2n
    centre = (p + 0.5 * z2n) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + 0.25 * z2n / n)
    low = 0.0 if k == 0 else min(1.0, max(0.0, centre - half))
    high = 1.0 if k == n else min(1.0, max(0.0, centre + half))
    return (low, high)


# ------------------------------------------------------------------------- bootstrap


def _bootstrap_means(values: np.ndarray, seed: int, n_resamples: int) -> np.ndarray:
    """``n_resamples`` means of resamples (with replacement, size n) of ``values``.

    Vectorised in chunks of at most ``_BOOTSTRAP_CHUNK_ELEMENTS`` drawn indices, from a
    dedicated ``default_rng(seed)``.
    """
    n = values.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    rows = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def _percentile_interval(
    means: np.ndarray, confidence: float, lower_bound: float, upper_bound: float
) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [0.5 * alpha, 1.0 - 0.5 * alpha])
    # A resample mean lies in [min, max] of the data; clipping removes rounding noise
    # (and makes constant data give an exactly zero-width interval).
    low = min(max(float(low), lower_bound), upper_bound)
    high = min(max(float(high), lower_bound), upper_bound)
    return (low, high)


def bootstrap_mean_interval(
    values: Any,
    *,
    seed: int,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``values``.

    Draws ``n_resamples`` resamples of size n with replacement, takes their means and
    returns the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (numpy's
    default linear interpolation), clipped to ``[min(values), max(values)]``. Assumes the
    values are independent draws from one distribution; like every percentile bootstrap
    it under-covers a little for small n or heavily skewed data.

    Empty ``values`` -> ``(nan, nan)``; a single value ``v`` -> ``(v, v)``. NaN or
    infinite values raise :class:`~robustcheck.errors.InvalidArgument`. The work is
    vectorised (no Python loop over resamples) and chunked to bound memory; the cost
    is about ``n * n_resamples`` random draws.
    """
    arr = _as_float_vector(values, "values")
    seed = _check_seed(seed)
    n_resamples = _check_n_resamples(n_resamples)
    confidence = _check_confidence(confidence)
    if arr.size == 0:
        return (math.nan, math.nan)
    if arr.size == 1:
        v = float(arr[0])
        return (v, v)
    means = _bootstrap_means(arr, seed, n_resamples)
    return _percentile_interval(means, confidence, float(arr.min()), float(arr.max()))


def paired_bootstrap(
    a: Any,
    b: Any,
    *,
    seed: int,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> PairedBootstrap:
    """Paired bootstrap comparison of per-sample values of run A and run B.

    ``a[i]`` and ``b[i]`` are measured on the same sample ``i`` (e.g. its confidence
    drop under each model). Pairs are resampled together, which is the same as
    bootstrapping the differences ``d = b - a``; ``delta = mean(d)``.

    * Interval: percentile bootstrap of ``mean(d)`` at ``confidence``, as in
      :func:`bootstrap_mean_interval`.
    * p-value (two-sided, by inverting the percentile interval): with ``B`` resample
      means ``d*``, ``p = min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (B + 1))``.
      It is the smallest ``1 - confidence`` at which the percentile interval would
      exclude 0, so a small p and an interval away from 0 agree (up to quantile
      interpolation). The ``+1`` terms (Davison & Hinkley, 1997) keep p away from 0:
      the smallest attainable p is ``2 / (B + 1)``, so when many p-values are adjusted
      together (:func:`holm`), use ``n_resamples`` well above ``2 * m / alpha``.

    Assumes the pairs are independent and identically distributed. Identical ``a`` and
    ``b`` give ``delta == 0`` and ``p_value == 1``. Lengths must match; NaN or infinite
    values are rejected.
    """
    arr_a = _as_float_vector(a, "a")
    arr_b = _as_float_vector(b, "b")
    if arr_a.size != arr_b.size:
        raise InvalidArgument(
            f"a and b must have one value per sample each, got len(a)={arr_a.size} and "
            f"len(b)={arr_b.size}; pass values for the same samples in the same order"
        )
    seed = _check_seed(seed)
    n_resamples = _check_n_resamples(n_resamples)
    confidence = _check_confidence(confidence)
    n = int(arr_a.size)
    if n == 0:
        nan = math.nan
        return PairedBootstrap(0, nan, nan, nan, nan, nan, confidence, nan, n_resamples, seed)
    diff = arr_b - arr_a
    delta = float(diff.mean())
    mean_a = float(arr_a.mean())
    mean_b = float(arr_b.mean())
    if n == 1:
        return PairedBootstrap(
            1, mean_a, mean_b, delta, delta, delta, confidence, math.nan, n_resamples, seed
        )
    means = _bootstrap_means(diff, seed, n_resamples)
    low, high = _percentile_interval(means, confidence, float(diff.min()), float(diff.max()))
    at_most = int(np.count_nonzero(means <= 0.0))
    at_least = int(np.count_nonzero(means >= 0.0))
    p_value = min(1.0, 2.0 * (1 + min(at_most, at_least)) / (n_resamples + 1))
    return PairedBootstrap(
        n, mean_a, mean_b, delta, low, high, confidence, p_value, n_resamples, seed
    )

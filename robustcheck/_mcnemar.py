"""The exact McNemar test of paired boolean outcomes, and Holm's adjustment of a family
of p-values (DESIGN §8); re-exported by :mod:`robustcheck.stats`, which documents them.

Plain Python ``float``/``int`` results, exact integers for small counts and log space
(Loader's saddle-point binomial pmf) for large ones; no scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from robustcheck._stats_args import _as_bool_vector, _check_count
from robustcheck.errors import InvalidArgument

# Below this number of trials the binomial tail is summed with exact integers.
_EXACT_BINOMIAL_MAX_N = 1000

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class PairedTest:
    """Exact McNemar test of per-sample boolean outcomes of run A and run B.

    ``b`` counts samples where the outcome is true under A and false under B, ``c``
    those false under A and true under B (the discordant pairs). ``rate_a``/``rate_b``
    are the shares of true outcomes, ``delta = rate_b - rate_a = (c - b) / n`` and
    ``p_value`` is the two-sided exact McNemar p-value (:func:`mcnemar_exact`). With
    ``n == 0`` the rates and ``delta`` are NaN and ``p_value`` is 1.
    """

    n: int
    b: int
    c: int
    rate_a: float
    rate_b: float
    delta: float
    p_value: float
    method: str = "mcnemar_exact"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (plain ``int``/``float``/``str``)."""
        return asdict(self)


def _stirling_error(m: int) -> float:
    """``log(m!) - [(m + 1/2) log m - m + log sqrt(2 pi)]`` for an integer ``m >= 1``."""
    if m <= 15:
        return math.log(math.factorial(m)) - (m + 0.5) * math.log(m) + m - _LOG_SQRT_2PI
    # Asymptotic series 1/(12m) - 1/(360m^3) + 1/(1260m^5) - 1/(1680m^7) + 1/(1188m^9);
    # the first omitted term is below 1e-16 for m >= 16.
    inv = 1.0 / m
    inv2 = inv * inv
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - inv2 / 1188) * inv2) * inv2)
            * inv2) * inv


def _deviance_term(x: float, mean: float) -> float:
    """``x log(x / mean) + mean - x`` without cancellation when ``x`` is near ``mean``."""
    if abs(x - mean) < 0.1 * (x + mean):
        # With v = (x - mean) / (x + mean): x log(x / mean) = 2x (v + v^3/3 + v^5/5 + ...)
        # and mean - x = -v (x + mean), so the sum is (x - mean) v + 2x (v^3/3 + ...).
        v = (x - mean) / (x + mean)
        v2 = v * v
        total = (x - mean) * v
        term = 2.0 * x * v
        j = 1
        while True:
            term *= v2
            nxt = total + term / (2 * j + 1)
            if nxt == total:
                return total
            total = nxt
            j += 1
    return x * math.log(x / mean) + mean - x


def _log_binom_pmf_half(k: int, n: int) -> float:
    """``log P(X = k)`` for ``X ~ Binomial(n, 1/2)`` and ``0 < k < n``.

    Loader's saddle-point form, accurate to a few ulp even for very large ``n``::

        log C(n, k) 2^-n = s(n) - s(k) - s(n-k) - D(k, n/2) - D(n-k, n/2)
                           + 1/2 log(n / (2 pi k (n-k)))

    with ``s`` the Stirling-series error and ``D(x, M) = x log(x/M) + M - x``.
    """
    half = 0.5 * n
    return (
        _stirling_error(n) - _stirling_error(k) - _stirling_error(n - k)
        - _deviance_term(float(k), half) - _deviance_term(float(n - k), half)
        + 0.5 * math.log(n / (2.0 * math.pi * k * (n - k)))
    )


def _binom_half_lower_tail(k: int, n: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, with ``0 <= k < n / 2``."""
    if k == 0:
        return math.ldexp(1.0, -n)  # exactly 2^-n (0.0 once it underflows)
    if n <= _EXACT_BINOMIAL_MAX_N:
        comb = total = 1
        for i in range(1, k + 1):  # C(n, i) = C(n, i - 1) * (n - i + 1) / i, exactly
            comb = comb * (n - i + 1) // i
            total += comb
        return total / (1 << n)  # int / int is correctly rounded
    # Sum the pmf downwards from k relative to P(X = k): the ratio of consecutive terms
    # is P(X = i-1) / P(X = i) = i / (n - i + 1) < 1 and keeps shrinking, so the terms
    # decrease and the loop stops once they no longer change the sum.
    scale = 1.0
    term = 1.0
    for i in range(k, 0, -1):
        term *= i / (n - i + 1)
        scale += term
        if term < 1e-17 * scale:
            break
    return math.exp(_log_binom_pmf_half(k, n) + math.log(scale))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    Under the null hypothesis (no difference between the paired runs) each of the
    ``b + c`` discordant pairs is equally likely to go either way, so
    ``min(b, c) ~ Binomial(b + c, 1/2)`` and::

        p = min(1, 2 * P(X <= min(b, c))),   X ~ Binomial(b + c, 1/2)

    ``b + c == 0`` gives 1.0. The tail is computed with exact integers for
    ``b + c <= 1000`` and otherwise in log space (Loader's saddle-point pmf and a
    downward ratio sum), to about 1e-13 relative even for millions of trials, in
    ``O(sqrt(b + c))`` time at worst. Tiny p-values underflow to 0.0 below ~1e-308.
    """
    b = _check_count(b, "b")
    c = _check_count(c, "c")
    n = b + c
    k = min(b, c)
    if 2 * k >= n:  # b == c (including 0 == 0): the tail is at least 1/2
        return 1.0
    return min(1.0, 2.0 * _binom_half_lower_tail(k, n))


def paired_outcome_test(a: Any, b: Any) -> PairedTest:
    """Exact McNemar test on per-sample boolean outcomes under run A and run B.

    ``a[i]`` and ``b[i]`` are outcomes of the same sample ``i`` (e.g. "the label
    flipped") under model/run A and B; bools or 0/1 numbers. Counts the discordant
    pairs ``b`` (A true, B false) and ``c`` (A false, B true) and returns them with
    ``rate_a``, ``rate_b``, ``delta = rate_b - rate_a`` and ``p_value =
    mcnemar_exact(b, c)``. Assumes the samples are independent; concordant pairs carry
    no information about the difference. Lengths must match.
    """
    arr_a = _as_bool_vector(a, "a")
    arr_b = _as_bool_vector(b, "b")
    if arr_a.size != arr_b.size:
        raise InvalidArgument(
            f"a and b must have one outcome per sample each, got len(a)={arr_a.size} and "
            f"len(b)={arr_b.size}; pass outcomes for the same samples in the same order"
        )
    n = int(arr_a.size)
    only_a = int(np.count_nonzero(arr_a & ~arr_b))
    only_b = int(np.count_nonzero(~arr_a & arr_b))
    if n == 0:
        return PairedTest(0, 0, 0, math.nan, math.nan, math.nan, 1.0)
    true_a = int(np.count_nonzero(arr_a))
    true_b = int(np.count_nonzero(arr_b))
    return PairedTest(
        n=n,
        b=only_a,
        c=only_b,
        rate_a=true_a / n,
        rate_b=true_b / n,
        delta=(only_b - only_a) / n,
        p_value=mcnemar_exact(only_a, only_b),
    )


# ------------------------------------------------------------------------------ Holm


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order.

    With the ``m`` non-NaN p-values sorted ascending, ``p(1) <= ... <= p(m)``::

        adjusted(i) = min(1, max_{j <= i} (m - j + 1) * p(j))

    so adjusted values are at least the raw ones, never exceed 1, and keep the order
    of the raw values. Rejecting where ``adjusted <= alpha`` controls the family-wise
    error rate at ``alpha`` under any dependence between the tests. NaN entries (e.g.
    a comparison that could not be made) are returned as NaN and do not count in ``m``.
    Values outside [0, 1] raise :class:`~robustcheck.errors.InvalidArgument`.
    """
    raw: list[float] = []
    for i, p in enumerate(p_values):
        try:
            if isinstance(p, bool):
                raise TypeError
            value = float(p)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"p_values must be numbers in [0, 1] (or NaN), but p_values[{i}] is {p!r}"
            ) from None
        if not (math.isnan(value) or 0.0 <= value <= 1.0):
            raise InvalidArgument(
                f"p_values must be numbers in [0, 1] (or NaN), but p_values[{i}] is {p!r}"
            )
        raw.append(value)
    adjusted = list(raw)
    order = sorted((i for i, p in enumerate(raw) if not math.isnan(p)), key=raw.__getitem__)
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * raw[i]))
        adjusted[i] = running
    return adjusted

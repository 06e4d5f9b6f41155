"""Tests of robustcheck.stats: intervals, paired tests and the Holm correction."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robustcheck.errors import InvalidArgument
from robustcheck.stats import (
    PairedBootstrap,
    PairedTest,
    bootstrap_mean_interval,
    holm,
    mcnemar_exact,
    normal_ppf,
    paired_bootstrap,
    paired_outcome_test,
    wilson_interval,
    z_value,
)

scipy_stats = pytest.importorskip("scipy.stats")


# ------------------------------------------------------------------ normal quantile


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.999999])
def test_z_value_matches_scipy_norm_ppf_for_common_confidence_levels(confidence):
    expected = scipy_stats.norm.ppf(0.5 + confidence / 2)
    assert z_value(confidence) == pytest.approx(expected, rel=1e-14, abs=0)


@pytest.mark.parametrize(
    "p", [1e-300, 1e-100, 1e-20, 1e-6, 0.001, 0.02, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.975,
          0.97575, 0.999, 1 - 1e-12]
)
def test_normal_ppf_matches_scipy_across_the_whole_range(p):
    expected = scipy_stats.norm.ppf(p)
    assert normal_ppf(p) == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_normal_ppf_is_antisymmetric_and_zero_at_one_half():
    assert normal_ppf(0.5) == 0.0
    for p in (1e-9, 0.01, 0.2, 0.4):
        assert normal_ppf(1 - p) == pytest.approx(-normal_ppf(p), rel=1e-9)


# ------------------------------------------------------------------------- Wilson

WILSON_CASES = [
    (0, 1), (1, 1), (0, 5), (5, 5), (1, 2), (3, 7), (1, 10), (9, 10), (0, 20), (20, 20),
    (17, 100), (50, 100), (1, 1000), (999, 1000), (12_345, 100_000), (3, 1_000_000),
    (500_000, 1_000_000),
]


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
@pytest.mark.parametrize(("k", "n"), WILSON_CASES)
def test_wilson_interval_matches_scipy_binomtest_wilson(k, n, confidence):
    expected = scipy_stats.binomtest(k, n).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    low, high = wilson_interval(k, n, confidence)
    assert low == pytest.approx(expected.low, rel=1e-12, abs=1e-14)
    assert high == pytest.approx(expected.high, rel=1e-12, abs=1e-14)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_interval_is_exact_at_the_bounds_and_nan_without_trials():
    assert wilson_interval(0, 30)[0] == 0.0
    assert wilson_interval(30, 30)[1] == 1.0
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)


def test_wilson_interval_returns_plain_floats():
    low, high = wilson_interval(np.int64(3), np.int64(10))
    assert type(low) is float and type(high) is float


# ------------------------------------------------------------------------ McNemar


def _exact_mcnemar(b: int, c: int) -> float:
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    term = total = 1
    for i in range(1, k + 1):  # C(n, i) = C(n, i - 1) * (n - i + 1) / i, exactly
        term = term * (n - i + 1) // i
        total += term
    tail = Fraction(total, 2**n)
    return float(min(Fraction(1), 2 * tail))


MCNEMAR_CASES = [
    (0, 0), (0, 1), (1, 0), (0, 5), (7, 0), (0, 40), (1, 1), (5, 5), (3, 9), (10, 25),
    (60, 40), (480, 520), (400, 600), (0, 1500), (1, 1500), (17, 1200), (2_000, 2_300),
    (49_000, 51_000), (49_700, 50_300), (49_990, 50_010), (50_000, 50_000), (10, 99_990),
    (45_000, 55_000), (300_000, 301_000),
]


@pytest.mark.parametrize(("b", "c"), MCNEMAR_CASES)
def test_mcnemar_exact_matches_scipy_binomtest(b, c):
    n = b + c
    expected = 1.0 if n == 0 else scipy_stats.binomtest(min(b, c), n, 0.5).pvalue
    p = mcnemar_exact(b, c)
    assert type(p) is float
    assert p == pytest.approx(expected, rel=1e-11, abs=1e-300)


@pytest.mark.parametrize(
    ("b", "c"),
    [(3, 9), (0, 1020), (1, 1030), (15, 1000), (16, 1000), (40, 1200), (150, 1100),
     (700, 1300), (1900, 2100), (9_800, 10_200)],
)
def test_mcnemar_exact_agrees_with_exact_rational_arithmetic(b, c):
    expected = _exact_mcnemar(b, c)
    assert expected > 0.0  # the float path, not underflow, is under test
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=2e-12, abs=0)


def test_mcnemar_exact_is_symmetric_and_one_for_equal_counts():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(123, 123) == 1.0
    assert mcnemar_exact(12, 30) == mcnemar_exact(30, 12)
    assert mcnemar_exact(0, 1) == 1.0  # 2 * 0.5
    assert mcnemar_exact(0, 10) == 2.0**-9


# --------------------------------------------------------------------------- Holm


def test_holm_matches_a_hand_worked_example():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> max(0.06, 0.04)=0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []
    assert holm([0.2]) == [0.2]


def test_holm_passes_nan_through_and_does_not_count_it():
    result = holm([0.01, math.nan, 0.04])
    assert math.isnan(result[1])
    assert result[0] == pytest.approx(0.02) and result[2] == pytest.approx(0.04)


p_lists = st.lists(
    st.one_of(st.floats(0.0, 1.0), st.just(math.nan)), min_size=0, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(p_lists)
def test_holm_adjusted_values_are_bounded_monotone_and_keep_nan(ps):
    adjusted = holm(ps)
    assert len(adjusted) == len(ps)
    finite = [i for i, p in enumerate(ps) if not math.isnan(p)]
    for p, q in zip(ps, adjusted, strict=True):
        if math.isnan(p):
            assert math.isnan(q)
        else:
            assert p <= q <= 1.0
            assert q <= min(1.0, len(finite) * p)  # never worse than Bonferroni
    for i in finite:
        for j in finite:
            if ps[i] < ps[j]:
                assert adjusted[i] <= adjusted[j]


# ---------------------------------------------------------------------- bootstrap


def test_bootstrap_mean_interval_is_reproducible_for_a_seed_and_changes_with_it():
    values = np.random.default_rng(7).exponential(size=300)
    first = bootstrap_mean_interval(values, seed=11)
    assert bootstrap_mean_interval(values, seed=11) == first
    assert bootstrap_mean_interval(values.tolist(), seed=11) == first
    assert bootstrap_mean_interval(values, seed=12) != first
    assert all(type(v) is float for v in first)


def test_bootstrap_mean_interval_does_not_touch_global_random_state():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    bootstrap_mean_interval([1.0, 2.0, 5.0], seed=3)
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(10, 2, size=50),
        np.random.default_rng(2).exponential(size=40),
        np.r_[np.zeros(99), 1000.0],
        [0.0, 1.0],
        [3.0, -1.0, 2.5],
    ],
)
def test_bootstrap_mean_interval_contains_the_sample_mean(values):
    low, high = bootstrap_mean_interval(values, seed=0)
    assert low <= float(np.mean(values)) <= high
    assert low < high


def test_bootstrap_mean_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    hits = 0
    trials = 200
    for seed in range(trials):
        sample = rng.normal(5.0, 3.0, size=40)
        low, high = bootstrap_mean_interval(sample, seed=seed, n_resamples=1000)
        hits += low <= 5.0 <= high
    assert 0.88 <= hits / trials <= 0.99


def test_bootstrap_mean_interval_width_shrinks_with_confidence():
    values = np.random.default_rng(5).normal(size=200)
    l90, h90 = bootstrap_mean_interval(values, seed=1, confidence=0.9)
    l99, h99 = bootstrap_mean_interval(values, seed=1, confidence=0.99)
    assert l99 < l90 < h90 < h99


def test_bootstrap_mean_interval_degenerate_inputs():
    assert bootstrap_mean_interval([0.1] * 37, seed=0) == (0.1, 0.1)
    assert bootstrap_mean_interval([2.5], seed=0) == (2.5, 2.5)
    low, high = bootstrap_mean_interval([], seed=0)
    assert math.isnan(low) and math.isnan(high)


def test_bootstrap_mean_interval_gives_the_same_answer_when_computed_in_chunks(monkeypatch):
    import robustcheck.stats as stats_module

    values = np.random.default_rng(3).normal(size=500)
    whole = bootstrap_mean_interval(values, seed=4, n_resamples=300)
    monkeypatch.setattr(stats_module, "_BOOTSTRAP_CHUNK_ELEMENTS", 100)
    chunked = bootstrap_mean_interval(values, seed=4, n_resamples=300)
    assert chunked == whole  # chunking changes memory use, not the random stream


# ------------------------------------------------------------------- paired tests


def test_paired_outcome_test_of_identical_outcomes_has_p_one_and_no_delta():
    outcomes = np.random.default_rng(0).random(500) < 0.3
    result = paired_outcome_test(outcomes, outcomes.copy())
    assert isinstance(result, PairedTest)
    assert (result.b, result.c, result.delta, result.p_value) == (0, 0, 0.0, 1.0)
    assert result.rate_a == result.rate_b == pytest.approx(outcomes.mean())


def test_paired_outcome_test_counts_discordant_pairs_and_flags_a_clear_regression():
    rng = np.random.default_rng(1)
    a = rng.random(1000) < 0.05
    b = a | (rng.random(1000) < 0.2)  # B flips everything A flips, and more
    result = paired_outcome_test(a.tolist(), b.astype(int))
    assert result.b == 0
    assert result.c == int(np.sum(b & ~a)) > 100
    assert result.delta == pytest.approx(b.mean() - a.mean())
    assert result.p_value < 1e-30
    assert result.p_value == mcnemar_exact(result.b, result.c)


def test_paired_outcome_test_result_is_json_ready():
    result = paired_outcome_test([True, False, True, True], [False, False, True, False])
    data = result.to_dict()
    assert data == json.loads(json.dumps(data))
    assert data["b"] == 2 and data["c"] == 0 and data["method"] == "mcnemar_exact"
    assert data["rate_a"] == 0.75 and data["rate_b"] == 0.25 and data["delta"] == -0.5


def test_paired_bootstrap_of_identical_values_has_p_one_and_no_delta():
    values = np.random.default_rng(0).normal(size=200)
    result = paired_bootstrap(values, values.copy(), seed=0)
    assert isinstance(result, PairedBootstrap)
    assert (result.delta, result.low, result.high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_flags_a_clearly_worse_model_with_a_tiny_p_value():
    rng = np.random.default_rng(9)
    a = rng.normal(0.10, 0.05, size=400)
    b = a + rng.normal(0.05, 0.05, size=400)  # B drops confidence more, pair by pair
    result = paired_bootstrap(a, b, seed=1, n_resamples=2000)
    assert result.p_value == pytest.approx(2 / 2001)  # the smallest attainable
    assert 0.04 < result.low < result.delta < result.high < 0.06
    assert result.delta == pytest.approx(b.mean() - a.mean())


def test_paired_bootstrap_of_noise_is_not_significant_and_reproducible():
    rng = np.random.default_rng(4)
    a = rng.normal(size=300)
    b = a + rng.normal(0.0, 1.0, size=300)
    first = paired_bootstrap(a, b, seed=5)
    assert first == paired_bootstrap(a, b, seed=5)
    assert first.low < 0.0 < first.high
    assert first.p_value > 0.05
    data = first.to_dict()
    assert data == json.loads(json.dumps(data))
    assert data["method"] == "paired_bootstrap" and data["n"] == 300


def test_paired_bootstrap_with_fewer_than_two_pairs_cannot_test():
    one = paired_bootstrap([0.2], [0.5], seed=0)
    assert (one.low, one.delta, one.high) == pytest.approx((0.3, 0.3, 0.3))
    assert math.isnan(one.p_value)
    empty = paired_bootstrap([], [], seed=0)
    assert math.isnan(empty.delta) and math.isnan(empty.p_value)


# --------------------------------------------------------------- invalid arguments


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: wilson_interval(3, 10, confidence=1.0), "confidence"),
        (lambda: wilson_interval(3, 10, confidence=0.0), "confidence"),
        (lambda: wilson_interval(3, 10, confidence=95), "confidence"),
        (lambda: wilson_interval(3, 10, confidence=math.nan), "confidence"),
        (lambda: wilson_interval(-1, 10), "successes"),
        (lambda: wilson_interval(11, 10), "successes"),
        (lambda: wilson_interval(1, -10), "n"),
        (lambda: wilson_interval(1.5, 10), "successes"),
        (lambda: z_value(-0.5), "confidence"),
        (lambda: normal_ppf(1.0), "p"),
        (lambda: mcnemar_exact(-1, 3), "b"),
        (lambda: mcnemar_exact(2, -3), "c"),
        (lambda: mcnemar_exact(2, 3.0), "c"),
        (lambda: bootstrap_mean_interval([1.0, math.nan], seed=0), "values"),
        (lambda: bootstrap_mean_interval([1.0, math.inf], seed=0), "values"),
        (lambda: bootstrap_mean_interval([[1.0, 2.0]], seed=0), "values"),
        (lambda: bootstrap_mean_interval(["a"], seed=0), "values"),
        (lambda: bootstrap_mean_interval([1.0], seed=0, confidence=1.5), "confidence"),
        (lambda: bootstrap_mean_interval([1.0], seed=-1), "seed"),
        (lambda: bootstrap_mean_interval([1.0], seed=0, n_resamples=0), "n_resamples"),
        (lambda: paired_outcome_test([True, False], [True]), "a and b"),
        (lambda: paired_outcome_test([True, False], [0, 2]), "b"),
        (lambda: paired_outcome_test([0.5, 1.0], [0, 1]), "a"),
        (lambda: paired_bootstrap([1.0, 2.0], [1.0], seed=0), "a and b"),
        (lambda: paired_bootstrap([1.0, math.nan], [1.0, 2.0], seed=0), "a"),
        (lambda: paired_bootstrap([1.0], [1.0], seed=0, confidence=-0.1), "confidence"),
        (lambda: holm([0.1, 1.5]), "p_values"),
        (lambda: holm([0.1, -0.1]), "p_values"),
        (lambda: holm(["x"]), "p_values"),
    ],
)
def test_invalid_arguments_raise_invalid_argument_naming_the_argument(call, name):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert str(info.value).startswith(name)

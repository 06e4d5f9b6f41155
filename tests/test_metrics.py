"""The intervals of a row's means, and the latency percentiles of a row."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robustcheck import metrics
from robustcheck._assemble import _percentiles


def multinomial_bootstrap(values, seed):
    """The interval as metrics.py defines it for at most 16 distinct values: 1,000
    multinomial resamples of the counts, their 2.5% and 97.5% quantiles."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    distinct, counts = np.unique(values, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(values.size, counts / values.size, size=1000)
    means = draws @ distinct / values.size
    return tuple(float(q) for q in np.quantile(means, [0.025, 0.975]))


# a row's means take few distinct values: an accuracy drop -1, 0 or 1, a confidence
# drop of 0 where nothing moved; mostly one value, with a few others sprinkled in
POOLS = st.lists(st.one_of(st.sampled_from([-1.0, 0.0, 1.0]),
                           st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)),
                 min_size=1, max_size=5, unique=True)


@settings(max_examples=200)
@given(POOLS, st.integers(2, 300), st.floats(0, 1), st.integers(0, 2**32 - 1),
       st.integers(0, 2**32 - 1))
def test_few_distinct_values_give_exactly_the_multinomial_bootstrap(pool, n, share, seed,
                                                                    draw):
    rng = np.random.default_rng(draw)
    values = np.where(rng.random(n) < share, pool[0], rng.choice(pool, size=n))
    values[rng.random(n) < 0.1] = np.nan  # left out, as metrics.mean leaves them
    if np.isnan(values).sum() > n - 2:
        values[:2] = pool[0]
    got = metrics.mean(values, seed)
    assert (got.low, got.high) == multinomial_bootstrap(values, seed)
    assert np.isclose(got.value, np.nanmean(values), rtol=1e-12, atol=1e-12)


def test_one_value_repeated_is_an_interval_of_that_mean():
    for value, n in ((0.0, 20), (0.1, 3), (1.0 / 3.0, 7), (-2.5, 400)):
        got = metrics.mean(np.full(n, value), seed=5)
        assert got.low == got.high == multinomial_bootstrap(np.full(n, value), 5)[0]
        assert abs(got.low - value) <= 1e-15 * abs(value)


@settings(max_examples=200)
@given(st.lists(st.floats(0, 10, allow_subnormal=False), min_size=1, max_size=60),
       st.lists(st.floats(0, 1), min_size=1, max_size=3))
def test_latency_percentiles_are_numpys_linear_percentiles(seconds, qs):
    values = np.array(seconds)
    before = values.copy()
    got = _percentiles(values, tuple(qs))
    want = np.quantile(values, qs)
    assert np.allclose(got, want, rtol=1e-12, atol=0)
    assert np.array_equal(values, before)  # the row's seconds keep their order


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-1, 1), st.sampled_from([0.0, 1.0, -1.0, float("nan")])),
                max_size=700), st.integers(0, 2**32 - 1))
def test_a_mean_is_the_same_whether_its_first_values_decide_it_is_continuous(
        values: list[float], seed: int) -> None:
    """mean() skips counting every distinct value when its first few hold more distinct
    values than the discrete cases take: the same Metric as counting them all."""
    array = np.array(values, dtype=float)
    peeked = metrics.mean(array, seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "_PEEK", 0)  # never decided from the first values
        counted = metrics.mean(array, seed)
    assert repr(peeked) == repr(counted)

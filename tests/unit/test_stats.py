"""Streaming statistics merge to the statistics of the whole."""

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seisfuse import stats


def test_blockwise_merge_equals_whole_array():
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 2.0, 100_000).astype(np.float32)
    total = stats.BlockStats()
    for block in np.array_split(data, 7):
        total = total.merge(stats.block_stats(block))
    assert total.count == data.size
    np.testing.assert_allclose(total.mean, data.astype(np.float64).mean(), rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(total.m2 / total.count), data.astype(np.float64).std(), rtol=1e-10)
    assert total.minimum == data.min() and total.maximum == data.max()


def test_nonfinite_values_are_counted_not_used():
    s = stats.block_stats(np.array([1.0, np.nan, 3.0, np.inf], np.float32))
    assert (s.count, s.mean, s.n_nonfinite) == (2, 2.0, 2)


def test_round_trip_through_array_and_empty_blocks():
    s = stats.block_stats(np.arange(5.0))
    assert stats.BlockStats.from_array(s.to_array()) == s
    assert stats.BlockStats().merge(s) == s and s.merge(stats.BlockStats()) == s


def test_summary_percentiles_from_subsample():
    values = np.arange(1_000_000, dtype=np.float32)
    summary = stats.summarize(stats.block_stats(values), stats.subsample(values, 10_000))
    assert abs(summary["percentiles"]["50"] - 500_000) < 1_000
    assert abs(summary["percentiles"]["99"] - 990_000) < 1_000


@settings(max_examples=200, deadline=None)
@given(values=hnp.arrays(np.float32, st.integers(0, 300),
                         elements=st.one_of(st.floats(width=32, allow_nan=False, allow_infinity=False),
                                            st.sampled_from([np.nan, np.inf, -np.inf]))),
       piece=st.integers(1, 64))
def test_block_stats_equal_the_finite_values_statistics_at_any_piece_size(values, piece):
    # pieces wholly non-finite, partly non-finite and finite, in any order, merge to the whole
    s = stats.block_stats(values, piece=piece)
    finite = values[np.isfinite(values)].astype(np.float64)
    assert (s.count, s.n_nonfinite) == (finite.size, values.size - finite.size)
    if finite.size:
        assert (s.minimum, s.maximum) == (finite.min(), finite.max())
        np.testing.assert_allclose(s.mean, finite.mean(), rtol=1e-9, atol=1e-9 * np.abs(finite).max())
        np.testing.assert_allclose(s.m2, ((finite - finite.mean()) ** 2).sum(), rtol=1e-7,
                                   atol=1e-9 * (np.abs(finite).max() ** 2) * finite.size)
    else:
        assert (s.minimum, s.maximum) == (np.inf, -np.inf)


def test_the_mean_of_float64_values_whose_sum_overflows_is_still_finite():
    values = np.array([1e308, 1e308, -1e308, 5e307], np.float64)  # their float64 sum overflows
    s = stats.block_stats(values)
    assert (s.count, s.n_nonfinite, s.minimum, s.maximum) == (4, 0, -1e308, 1e308)
    np.testing.assert_allclose(s.mean, (values / 4).sum(), rtol=1e-12)

"""Trailing percentile, z-score and rolling helpers against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.signals import history as h


def test_trailing_percentile_by_hand():
    x = np.array([1.0, 3.0, 2.0, np.nan, 5.0, 0.0])
    p = h.trailing_percentile(x, window=3, min_periods=2)
    # t1: {1,3} -> 3 is the max -> 1; t2: {1,3,2} -> 2 is the middle -> 0.5
    # t4: {2, nan, 5} -> 1; t5: {nan, 5, 0} -> 0
    np.testing.assert_allclose(p, [np.nan, 1.0, 0.5, np.nan, 1.0, 0.0])


def test_trailing_percentile_ties_count_at_or_below():
    p = h.trailing_percentile(np.array([2.0, 2.0, 2.0]), window=10, min_periods=2)
    np.testing.assert_allclose(p, [np.nan, 1.0, 1.0])


def test_trailing_percentile_long_series_chunks_match_naive():
    rng = np.random.default_rng(1)
    x = rng.normal(size=3000)
    x[rng.random(3000) < 0.1] = np.nan
    p = h.trailing_percentile(x, window=1500, min_periods=10)
    for t in (20, 1499, 1500, 2999):
        win = x[max(0, t - 1499): t + 1]
        win = win[np.isfinite(win)]
        if np.isfinite(x[t]):
            assert p[t] == pytest.approx(((win <= x[t]).sum() - 1) / (len(win) - 1))


def test_trailing_zscore_by_hand():
    x = np.array([1.0, 3.0, 2.0, np.nan, 5.0])
    z = h.trailing_zscore(x, window=3, min_periods=2)
    # t1: mean 2, sd sqrt(2) -> (3-2)/sqrt(2); t2: {1,3,2}: mean 2, sd 1 -> 0
    # t4: {2, nan, 5}: mean 3.5, sd sqrt(4.5) -> 1.5/sqrt(4.5)
    np.testing.assert_allclose(z, [np.nan, 1 / np.sqrt(2), 0.0, np.nan, 1.5 / np.sqrt(4.5)])


def test_trailing_zscore_of_a_flat_window_is_nan_not_rounding():
    # after the 0.3s leave the window only zeros remain: sums of -0.3 (centred on the first
    # value) leave a rounding-sized variance that must not become a z-score
    x = np.concatenate([np.full(7, 0.3), 0.1 * np.arange(3), np.zeros(40)])
    z = h.trailing_zscore(x, window=20, min_periods=5)
    assert np.isfinite(z[10:12]).all()
    assert np.isnan(z[-20:]).all()


def test_rolling_sum_and_mean():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    np.testing.assert_allclose(h.rolling_sum(x, 2), [np.nan, 3, np.nan, np.nan, 9])
    np.testing.assert_allclose(h.rolling_sum(x, 2, min_periods=1), [1, 3, 2, 4, 9])
    np.testing.assert_allclose(h.rolling_mean(x, 2, min_periods=1), [1, 1.5, 2, 4, 4.5])
    panel = np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(h.rolling_sum(panel, 3)[2:], [[6, 9], [12, 15]])


def test_window_return_compounds():
    r = np.array([np.nan, 0.1, 0.1, -0.5])
    np.testing.assert_allclose(h.window_return(r, 2), [np.nan, np.nan, 0.21, -0.45])


def test_change_and_trend_label():
    np.testing.assert_allclose(h.change(np.array([1.0, 2.0, 4.0]), 1), [np.nan, 1.0, 2.0])
    assert h.trend_label(0.02, 63).startswith("rising (+0.02 over 63d")
    assert h.trend_label(-0.5, 5).startswith("falling")
    assert h.trend_label(0.0, 5).startswith("flat")
    assert h.trend_label(float("nan"), 5).startswith("n/a")


# -- issue #17: the (T, N) paths against pandas, and empty input ---------------------------------
@pytest.mark.parametrize("min_periods", [None, 0, 2])
def test_rolling_sum_and_mean_of_a_panel_match_pandas(min_periods):
    import pandas as pd

    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    x[rng.random(x.shape) < 0.2] = np.nan
    df = pd.DataFrame(x)
    mp = 4 if min_periods is None else min_periods
    want_sum = df.rolling(4, min_periods=max(mp, 1)).sum().to_numpy()
    want_mean = df.rolling(4, min_periods=max(mp, 1)).mean().to_numpy()
    if mp == 0:  # no minimum: an all-NaN window sums to 0 (and has no mean)
        want_sum = np.where(np.isnan(want_sum), 0.0, want_sum)
    np.testing.assert_allclose(h.rolling_sum(x, 4, min_periods=min_periods), want_sum, equal_nan=True)
    np.testing.assert_allclose(h.rolling_mean(x, 4, min_periods=min_periods), want_mean, equal_nan=True)


def test_trailing_percentile_of_nothing_is_nothing():
    assert h.trailing_percentile(np.array([]), 5).shape == (0,)

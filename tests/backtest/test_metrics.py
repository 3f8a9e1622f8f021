"""Metrics: hand computations, agreement with empyrical, identical with or without a benchmark."""

from __future__ import annotations

import warnings

import empyrical
import numpy as np
import pandas as pd
import pytest

from broadening.backtest import metrics as M


@pytest.fixture
def series():
    rng = np.random.default_rng(11)
    idx = pd.bdate_range("2015-01-01", periods=800)
    b = pd.Series(rng.normal(0.0004, 0.011, 800), index=idx)
    r = pd.Series(0.9 * b.to_numpy() + rng.normal(0.0001, 0.006, 800), index=idx)
    return r, b


def test_hand_computed_small_case():
    r = np.array([0.10, -0.20, 0.05])
    assert M.cagr(r) == pytest.approx((1.1 * 0.8 * 1.05) ** (252 / 3) - 1)
    assert M.max_drawdown(r) == pytest.approx(0.88 / 1.1 - 1)  # peak 1.1, trough 0.88
    assert M.max_drawdown(np.array([-0.1, 0.05])) == pytest.approx(-0.1)  # the start counts as a peak
    assert M.volatility(r) == pytest.approx(np.std(r, ddof=1) * np.sqrt(252))
    down = np.sqrt(np.mean(np.array([0.0, -0.2, 0.0]) ** 2)) * np.sqrt(252)
    assert M.sortino(r) == pytest.approx(np.mean(r) * 252 / down)
    b = np.array([0.05, -0.10, 0.0])
    assert M.beta(r, b) == pytest.approx(np.cov(r, b)[0, 1] / np.var(b, ddof=1))
    a = r - b
    assert M.tracking_error(r, b) == pytest.approx(np.std(a, ddof=1) * np.sqrt(252))
    assert M.information_ratio(r, b) == pytest.approx(np.mean(a) * 252 / (np.std(a, ddof=1) * np.sqrt(252)))
    assert M.active_share(np.array([0.5, 0.5, 0.0]), np.array([0.2, 0.3, 0.5])) == pytest.approx(0.5)


def test_against_empyrical(series):
    r, b = series
    assert M.cagr(r) == pytest.approx(empyrical.cagr(r), rel=1e-12)
    assert M.volatility(r) == pytest.approx(empyrical.annual_volatility(r), rel=1e-12)
    assert M.sharpe(r) == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-12)
    assert M.sortino(r) == pytest.approx(empyrical.sortino_ratio(r), rel=1e-12)
    assert M.max_drawdown(r) == pytest.approx(empyrical.max_drawdown(r), rel=1e-12)
    assert M.calmar(r) == pytest.approx(empyrical.calmar_ratio(r), rel=1e-12)
    assert M.beta(r, b) == pytest.approx(empyrical.beta(r, b), rel=1e-12)
    # documented difference: our information ratio is annualised, empyrical's excess_sharpe is not
    assert M.information_ratio(r, b) == pytest.approx(empyrical.excess_sharpe(r, b) * np.sqrt(252), rel=1e-12)


def test_risk_free_rate_against_empyrical(series):
    r, b = series
    rf = 0.03
    rf_d = (1 + rf) ** (1 / 252) - 1
    assert M.sharpe(r, rf) == pytest.approx(empyrical.sharpe_ratio(r, risk_free=rf_d), rel=1e-12)
    assert M.sortino(r, rf) == pytest.approx(empyrical.sortino_ratio(r, required_return=rf_d), rel=1e-12)
    assert M.beta(r, b) == pytest.approx(empyrical.beta(r, b, risk_free=rf_d), rel=1e-12)


def test_hit_rate_against_batting_average_on_months(series):
    r, b = series
    key = r.index.to_period("M")
    mr = (1 + r).groupby(key).prod() - 1
    mb = (1 + b).groupby(key).prod() - 1
    assert M.hit_rate(r, b) == pytest.approx(empyrical.batting_average(mr, mb)["batting average"])
    assert M.hit_rate(r) == pytest.approx(float((mr > 0).mean()))
    assert np.isnan(M.hit_rate(r, r))  # every month ties
    flat = pd.Series(0.0, index=r.index)
    flat.iloc[:30] = 0.01  # one or two positive months, the rest exactly flat
    assert M.hit_rate(flat) == 1.0


def test_summary_identical_with_or_without_benchmark(series):
    r, b = series
    without = M.summary(r, rf=0.02)
    with_b = M.summary(r, b, rf=0.02)
    for k in ("cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar"):
        assert without[k] == with_b[k]
    assert np.isnan(without["beta"]) and np.isfinite(with_b["beta"])
    assert set(with_b) == set(M.METRIC_KEYS)


def test_benchmark_must_cover_dates(series):
    r, b = series
    with pytest.raises(ValueError, match="missing"):
        M.beta(r, b.iloc[10:])


def test_rolling_matches_full_sample_on_last_window(series):
    r, b = series
    roll = M.rolling(r, b, window=252)
    last_r, last_b = r.iloc[-252:], b.iloc[-252:]
    row = roll.iloc[-1]
    assert row["return"] == pytest.approx(np.prod(1 + last_r) - 1, rel=1e-10)
    assert row["volatility"] == pytest.approx(M.volatility(last_r), rel=1e-10)
    assert row["sharpe"] == pytest.approx(M.sharpe(last_r), rel=1e-10)
    assert row["tracking_error"] == pytest.approx(M.tracking_error(last_r, last_b), rel=1e-10)
    assert row["beta"] == pytest.approx(M.beta(last_r, last_b), rel=1e-8)
    assert roll["return"].iloc[:251].isna().all()


def test_annual_turnover_excludes_initial_investment():
    t = pd.Series([0.5, 0.1, 0.2])
    assert M.annual_turnover(t, 504) == pytest.approx(0.15)


# --- edge cases and the behaviours a mutation run found unpinned (issue 17) ---------------------

def _quiet(fn, *args, **kw):
    """Call a metric with numpy warnings as errors: an edge case must be handled, not divided by 0."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


@pytest.mark.parametrize("fn", [M.cagr, M.volatility, M.sharpe, M.sortino, M.max_drawdown, M.calmar])
def test_empty_input_is_nan(fn):
    assert np.isnan(_quiet(fn, np.array([])))


def test_one_day():
    r = np.array([0.01])
    assert _quiet(M.cagr, r) == pytest.approx(1.01**252 - 1)
    assert np.isnan(_quiet(M.volatility, r))  # a sample deviation needs two days
    assert np.isnan(_quiet(M.sharpe, r))
    # one down day: mean -0.01 * 252 over a downside deviation of 0.01 * sqrt(252)
    assert _quiet(M.sortino, np.array([-0.01])) == pytest.approx(-np.sqrt(252))
    assert _quiet(M.max_drawdown, np.array([-0.01])) == pytest.approx(-0.01)
    assert np.isnan(_quiet(M.tracking_error, r, np.array([0.0])))


def test_two_days_by_hand():
    r = np.array([0.02, -0.01])
    sd = np.sqrt(((0.015) ** 2 + (0.015) ** 2) / 1)  # deviations from the mean 0.005, ddof = 1
    assert _quiet(M.volatility, r) == pytest.approx(sd * np.sqrt(252))
    assert _quiet(M.sharpe, r) == pytest.approx(0.005 / sd * np.sqrt(252))
    b = np.array([0.01, 0.01])
    assert _quiet(M.tracking_error, r, b) == pytest.approx(sd * np.sqrt(252))  # a = r - 0.01
    assert _quiet(M.information_ratio, r, b) == pytest.approx(-0.005 * 252 / (sd * np.sqrt(252)))


def test_flat_and_one_sided_series_are_nan_not_inf():
    up = np.array([0.01, 0.02, 0.03])
    assert np.isnan(_quiet(M.sortino, up))  # no downside
    assert np.isnan(_quiet(M.calmar, up))  # no drawdown
    assert _quiet(M.max_drawdown, up) == 0.0
    assert np.isnan(_quiet(M.sharpe, np.full(5, 0.001)))  # no dispersion
    assert np.isnan(_quiet(M.beta, up, np.full(3, 0.01)))  # a flat benchmark
    # a constant active return (exact binary fractions: rounding would leave a tiny tracking error)
    assert np.isnan(_quiet(M.information_ratio, np.array([0.5, 0.25, 0.125]), np.array([0.25, 0.0, -0.125])))


def test_sortino_with_downside_by_hand():
    r = np.array([0.03, -0.01, 0.02, -0.02])
    x = r - 0.0001
    down = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2)) * np.sqrt(252)
    rf = (1.0001) ** 252 - 1  # an annual rate whose daily rate is 1 bp
    assert M.sortino(r, rf) == pytest.approx(np.mean(x) * 252 / down, rel=1e-9)


def test_calmar_by_hand():
    r = np.array([0.10, -0.20, 0.05])
    assert M.calmar(r) == pytest.approx(((1.1 * 0.8 * 1.05) ** 84 - 1) / (1 - 0.88 / 1.1))


def test_drawdown_path_is_float_for_object_input():
    # e.g. a column read from JSON: Python floats in an object array
    r = pd.Series([0.1, -0.2, 0.05], dtype=object)
    dd = M.drawdown(r)
    assert dd.dtype == np.float64
    np.testing.assert_allclose(dd, [0.0, 0.88 / 1.1 - 1, 0.924 / 1.1 - 1])


def test_daily_rf_conversions():
    idx = pd.bdate_range("2024-01-01", periods=5)
    assert M.daily_rf(None) == 0.0
    assert M.daily_rf(0.05) == pytest.approx(1.05 ** (1 / 252) - 1, rel=1e-15)
    rf = pd.Series([0.0002, 0.0004], index=idx[[1, 3]])
    # aligned to the returns' dates: 0 before the first quote, carried forward between quotes
    np.testing.assert_array_equal(M.daily_rf(rf, idx), [0.0, 0.0002, 0.0002, 0.0004, 0.0004])
    out = M.daily_rf(pd.Series([1, 2], dtype="int64"))  # without dates, taken as it is
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0]


def test_daily_risk_free_series_is_aligned_by_date(series):
    r, _ = series
    rf = pd.Series(0.0001, index=r.index[::5])  # quoted weekly, carried forward
    x = r - 0.0001
    assert M.sharpe(r, rf) == pytest.approx(M.sharpe(x), rel=1e-12)
    assert M.sortino(r, rf) == pytest.approx(M.sortino(x), rel=1e-12)
    # an array of returns takes a daily Series as it is, position by position
    rf_arr = pd.Series(np.linspace(0.0, 0.0002, len(r)))
    assert M.sharpe(r.to_numpy(), rf_arr) == pytest.approx(M.sharpe(r.to_numpy() - rf_arr.to_numpy()), rel=1e-12)
    # returns on a sub-range: the Series is aligned by date, not by position
    late = r.iloc[400:]
    long_rf = pd.Series(np.arange(len(r)) * 1e-7, index=r.index)
    assert M.sharpe(late, long_rf) == pytest.approx(M.sharpe(late - long_rf.iloc[400:]), rel=1e-12)


def test_beta_is_numerically_stable_under_an_offset(series):
    r, b = series
    # beta is centred before multiplying: adding a constant to both series leaves it unchanged
    assert M.beta(r + 1e3, b + 1e3) == pytest.approx(M.beta(r, b), rel=1e-9)


def test_benchmark_alignment_and_shape_errors(series):
    r, b = series
    # an array of returns with a Series benchmark: matched by position
    assert M.beta(r.to_numpy(), b) == pytest.approx(M.beta(r, b), rel=1e-14)
    with pytest.raises(ValueError, match=r"^benchmark: missing returns on some of the strategy's dates$"):
        M.tracking_error(r, b.iloc[:-1])
    with pytest.raises(ValueError, match=r"^benchmark: expected shape \(3,\), got \(2,\)$"):
        M.beta(np.zeros(3), np.zeros(2))


def test_hit_rate_edge_cases(series):
    r, b = series
    with pytest.raises(TypeError, match=r"^hit_rate needs a Series with a DatetimeIndex$"):
        M.hit_rate(r.reset_index(drop=True))
    with pytest.raises(TypeError, match="DatetimeIndex"):
        M.hit_rate(r.to_numpy())
    assert np.isnan(M.hit_rate(r.iloc[:0]))
    assert M.hit_rate(r.iloc[:1] * 0 + 0.01) == 1.0  # one day, one positive month
    assert M.hit_rate(r.iloc[:1] * 0 - 0.01) == 0.0
    # an array benchmark is matched by position
    assert M.hit_rate(r, b.to_numpy()) == M.hit_rate(r, b)
    flat = pd.Series(0.0, index=r.index)
    assert np.isnan(_quiet(M.hit_rate, flat))  # every month ties: NaN without 0 / 0


def test_annual_turnover_edges():
    t = pd.Series([1.0, 0.2, 0.3])
    assert M.annual_turnover(t, 1) == pytest.approx(0.5 * 252)
    assert np.isnan(_quiet(M.annual_turnover, t, 0))


def test_active_share_over_several_dates_by_hand():
    w = np.array([[0.6, 0.4, 0.0], [0.5, 0.25, 0.25]])
    wb = np.array([[0.5, 0.3, 0.2], [0.5, 0.25, 0.25]])
    # date 1: 0.5 * (0.1 + 0.1 + 0.2) = 0.2; date 2: identical -> 0; mean 0.1
    assert M.active_share(w, wb) == pytest.approx(0.1)
    assert M.active_share(w[0], wb[0]) == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"^active_share: shapes differ \(2, 3\) vs \(1, 3\)$"):
        M.active_share(w, wb[0])


def test_summary_passes_every_input_through(series):
    r, b = series
    turnover = pd.Series([1.0, 0.1, 0.2, 0.3])
    w = np.array([[0.6, 0.4, 0.0], [0.5, 0.25, 0.25]])
    wb = np.array([[0.5, 0.3, 0.2], [0.5, 0.25, 0.25]])
    s = M.summary(r, b, rf=0.03, turnover=turnover, weights=w, benchmark_weights=wb)
    assert s["sharpe"] == M.sharpe(r, 0.03) and s["sharpe"] != M.sharpe(r)
    assert s["sortino"] == M.sortino(r, 0.03) and s["sortino"] != M.sortino(r)
    assert s["tracking_error"] == M.tracking_error(r, b)
    assert s["information_ratio"] == M.information_ratio(r, b)
    assert s["beta"] == M.beta(r, b)
    assert s["hit_rate"] == M.hit_rate(r, b) and s["hit_rate"] != M.hit_rate(r)
    assert s["turnover"] == pytest.approx(0.6 / (800 / 252))
    assert s["active_share"] == pytest.approx(0.1)
    bare = M.summary(r)
    for k in ("beta", "tracking_error", "information_ratio", "turnover", "active_share"):
        assert isinstance(bare[k], float) and np.isnan(bare[k])
    # active share needs both weightings
    assert np.isnan(M.summary(r, weights=w)["active_share"])
    assert np.isnan(M.summary(r, benchmark_weights=wb)["active_share"])


def test_rolling_with_a_risk_free_rate_and_a_benchmark(series):
    r, b = series
    roll = M.rolling(r, b, window=60, rf=0.04)
    last_r, last_b = r.iloc[-60:], b.iloc[-60:]
    row = roll.iloc[-1]
    assert row["sharpe"] == pytest.approx(M.sharpe(last_r, 0.04), rel=1e-9)
    assert row["sharpe"] != pytest.approx(M.sharpe(last_r), rel=1e-3)
    assert row["excess_return"] == pytest.approx(np.prod(1 + last_r) - np.prod(1 + last_b), rel=1e-9)
    assert list(roll.columns) == ["return", "volatility", "sharpe", "excess_return", "tracking_error", "beta"]
    assert roll.index.equals(r.index)
    # a daily risk-free Series on other dates is aligned by date
    rf = pd.Series(np.arange(len(r) + 10) * 1e-7, index=pd.bdate_range(r.index[0] - pd.offsets.BDay(10), periods=len(r) + 10))
    row = M.rolling(r, window=60, rf=rf).iloc[-1]
    assert row["sharpe"] == pytest.approx(M.sharpe(last_r - rf.reindex(last_r.index)), rel=1e-9)
    assert list(M.rolling(r, window=60).columns) == ["return", "volatility", "sharpe"]


def test_rolling_accepts_object_returns(series):
    r, _ = series
    roll = M.rolling(r.astype(object), window=20)
    assert roll["volatility"].dtype == np.float64
    assert roll["volatility"].iloc[-1] == pytest.approx(M.volatility(r.iloc[-20:]), rel=1e-9)


def test_table_rows_and_columns():
    t = M.table({"a": {"cagr": 0.1, "sharpe": 1.0}, "b": {"cagr": 0.2}})
    assert list(t.index) == ["a", "b"] and list(t.columns) == list(M.METRIC_KEYS)
    assert t.loc["a", "cagr"] == 0.1 and t.loc["b", "cagr"] == 0.2 and t.loc["a", "sharpe"] == 1.0
    assert np.isnan(t.loc["b", "sharpe"])


def test_object_series_are_read_as_floats(series):
    # e.g. a rate or benchmark column parsed from JSON: Python floats in an object Series
    r, b = series
    rf = pd.Series(0.0001, index=r.index).astype(object)
    assert M.sharpe(r, rf) == pytest.approx(M.sharpe(r - 0.0001), rel=1e-12)
    assert M.beta(r, b.astype(object)) == pytest.approx(M.beta(r, b), rel=1e-14)
    assert M.tracking_error(r, b.astype(object)) == pytest.approx(M.tracking_error(r, b), rel=1e-14)


def test_ratios_of_a_constant_return_made_uneven_by_rounding_are_nan():
    """A book that beats its benchmark by exactly 1 bp a day has no tracking error: the
    difference of the two float series is uneven only in its last bits, and dividing by that
    noise gave an information ratio of ~1e16."""
    rng = np.random.default_rng(3)
    bench = rng.normal(0.0004, 0.01, 500)
    book = bench + 0.0001
    assert np.std(book - bench, ddof=1) > 0  # the rounding noise is there
    assert np.isnan(M.information_ratio(book, bench))
    assert np.isnan(M.sharpe(book - bench))  # the same flat series as excess returns
    # a genuine small deviation is not rounding: the ratio is the plain formula
    noisy = book + rng.normal(0, 1e-6, 500)
    a = noisy - bench
    assert M.information_ratio(noisy, bench) == pytest.approx(np.mean(a) * 252 / (np.std(a, ddof=1) * np.sqrt(252)), rel=1e-12)

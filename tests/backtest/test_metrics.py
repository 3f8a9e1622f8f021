"""Metrics: hand computations, agreement with empyrical, identical with or without a benchmark."""

from __future__ import annotations

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

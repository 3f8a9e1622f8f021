"""The engine on hand-computed two- and three-asset cases, with and without costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import CostModel, PriceData, attribute, backtest, rebalance_positions

TWO = pd.DataFrame(
    {"a": [100.0, 110.0, 121.0, 108.9], "b": [100.0, 100.0, 90.0, 99.0]},
    index=pd.bdate_range("2024-01-01", periods=4),
)


def test_two_assets_no_costs_by_hand():
    res = backtest(TWO, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 2]), costs=False)
    # day 1: a +10%, b flat; day 2: a +10%, b -10% on drifted weights; day 3 rebalanced 50/50: -10% / +10%
    expected = [0.0, 0.05, 1.055 / 1.05 - 1.0, 0.0]
    np.testing.assert_allclose(res.returns.to_numpy(), expected, atol=1e-15)
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 1.05, 1.055, 1.055], atol=1e-15)
    # drifted weights before the second rebalance are (0.605, 0.45) / 1.055; one-way turnover moves half the gap
    assert res.turnover.iloc[0] == pytest.approx(0.5)
    assert res.turnover.iloc[1] == pytest.approx(0.5 * 0.155 / 1.055)
    assert res.total_costs == 0.0
    np.testing.assert_allclose(res.weights, [[0.5, 0.5], [0.5, 0.5]])


def test_two_assets_with_costs_by_hand():
    res = backtest(TWO, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 2]), costs=10.0)
    c = 0.001
    v0 = 1.0 / (1.0 + c)  # buying 100% from cash: V' = 1 - c V'
    v1 = 1.05 * v0
    v2_pre = 1.055 * v0
    # holdings straddle the 50/50 target, so traded value = 0.155 v0 whatever V' is
    v2 = v2_pre - c * 0.155 * v0
    expected_values = [v0, v1, v2, v2]
    np.testing.assert_allclose(res.value.to_numpy(), expected_values, rtol=1e-14)
    np.testing.assert_allclose(res.returns.to_numpy(), np.array(expected_values) / np.array([1.0, v0, v1, v2]) - 1.0, atol=1e-15)
    np.testing.assert_allclose(res.costs.to_numpy(), [1.0 - v0, c * 0.155 * v0 / v2_pre], rtol=1e-12)
    # after paying costs the portfolio holds exactly the target weights
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, atol=1e-15)


def test_three_assets_cash_and_delisting_by_hand():
    prices = np.array(
        [[10.0, 20.0, 5.0], [11.0, 18.0, 5.0], [12.1, 18.0, 5.5], [12.1, np.nan, 6.05]]
    )
    res = backtest(
        PriceData.from_prices(prices, ids=["a", "b", "c"], delisting_return=np.array([0.0, -0.5, 0.0])),
        np.array([[0.4, 0.4, 0.0]]), np.array([0]), costs=False, record=[1, 2, 3],
    )
    # day 1: .44 + .36 + .2 cash; day 2: .484 + .36 + .2; day 3: b delists at -50% -> .18 cash
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 1.0, 1.044, 0.864], rtol=1e-14)
    np.testing.assert_allclose(res.cash.to_numpy(), [0.2, 0.2, 0.2 / 1.044, 0.38 / 0.864], rtol=1e-14)
    assert res.recorded.loc[res.dates[3], "b"] == 0.0
    assert res.recorded.loc[res.dates[2], "b"] == pytest.approx(0.36 / 1.044)


def test_three_assets_size_dependent_spread_by_hand():
    prices = np.array([[10.0, 20.0, 5.0], [11.0, 20.0, 5.0]])
    caps = np.array([[1e10, 1e8, np.nan], [1e10, 1e8, np.nan]])
    model = CostModel(bps=10.0, spread_bps=10.0, spread_ref_cap=1e10, max_spread_bps=50.0)
    res = backtest(PriceData.from_prices(prices, market_cap=caps), np.array([[0.5, 0.3, 0.2]]), np.array([0]), costs=model)
    # rates: a 10 + 10 bps; b 10 + min(10 * sqrt(100), 50) bps; c unknown cap -> 10 + 50 bps
    rate = 0.5 * 0.0020 + 0.3 * 0.0060 + 0.2 * 0.0060
    v0 = 1.0 / (1.0 + rate)
    assert res.value.iloc[0] == pytest.approx(v0, rel=1e-14)
    assert res.returns.iloc[1] == pytest.approx(0.5 * 0.1, rel=1e-12)


def test_costs_false_equals_zero_bps_and_costs_lower_returns():
    rng = np.random.default_rng(3)
    p = 100 * np.cumprod(1 + rng.normal(0, 0.02, (80, 4)), axis=0)
    W = rng.dirichlet(np.ones(4), size=4)
    pos = np.array([0, 20, 40, 60])
    off = backtest(p, W, pos, costs=False)
    zero = backtest(p, W, pos, costs=CostModel(bps=0.0))
    on = backtest(p, W, pos, costs=25.0)
    pd.testing.assert_series_equal(off.returns, zero.returns)
    assert on.value.iloc[-1] < off.value.iloc[-1]
    assert (on.costs > 0).all()


def test_cash_rate_compounds_on_uninvested_weight():
    p = np.full((253, 1), 100.0)
    res = backtest(p, np.array([[0.0]]), np.array([0]), costs=False, cash_rate=0.05)
    assert res.value.iloc[-1] == pytest.approx(1.05, rel=1e-12)


def test_delisted_name_cannot_be_bought_again():
    prices = np.array([[10.0, 20.0], [11.0, np.nan], [12.0, np.nan]])
    with pytest.raises(ValueError, match="without a price"):
        backtest(prices, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 2]), costs=False)


def test_proceeds_of_a_delisting_are_swept_without_costs():
    prices = np.array([[10.0, 20.0], [10.0, 20.0], [10.0, np.nan], [10.0, np.nan], [10.0, np.nan]])
    res = backtest(prices, np.array([[0.5, 0.5], [0.5, 0.0]]), np.array([0, 3]), costs=10.0)
    # at the second rebalance only cash is traded into a: no selling of the dead name
    v_pre = res.value.iloc[2]
    assert res.costs.iloc[1] * v_pre == pytest.approx(0.0, abs=1e-15)
    assert res.cash.iloc[-1] == pytest.approx(0.5, rel=1e-12)


def test_bad_weights_rejected():
    p = np.ones((3, 2))
    with pytest.raises(ValueError, match="no leverage"):
        backtest(p, np.array([[0.7, 0.7]]), np.array([0]))
    with pytest.raises(ValueError, match="negative"):
        backtest(p, np.array([[1.2, -0.2]]), np.array([0]))
    with pytest.raises(ValueError, match="increasing"):
        backtest(p, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([1, 1]))


def test_dataframe_weights_and_market_input(make_market):
    m = make_market({"A": [10, 11, 12, 13, 14], "B": [5, 5, 6, 6, 7]})
    wdf = pd.DataFrame({"A": [0.5, 1.0]}, index=pd.DatetimeIndex(m.dates[[0, 2]].astype("datetime64[ns]")))
    res = backtest(m, wdf, costs=False)
    assert res.returns.iloc[1] == pytest.approx(0.5 * 0.1)
    assert res.returns.iloc[3] == pytest.approx(13 / 12 - 1)
    assert list(res.ids) == ["A", "B"]


def test_schedules():
    dates = pd.bdate_range("2024-01-01", "2024-12-20")
    m = rebalance_positions(dates, "monthly")
    got = pd.DatetimeIndex(dates[m])
    assert got[0] == pd.Timestamp("2024-01-31") and len(got) == 11  # December is unfinished
    q = pd.DatetimeIndex(dates[rebalance_positions(dates, "quarterly")])
    assert list(q.month) == [3, 6, 9]
    lst = rebalance_positions(dates, ["2024-03-02", "2024-06-28"])  # a Saturday trades on the Friday
    assert list(pd.DatetimeIndex(dates[lst]).strftime("%Y-%m-%d")) == ["2024-03-01", "2024-06-28"]
    with pytest.raises(ValueError, match="schedule"):
        rebalance_positions(dates, "fortnightly")
    w = pd.DatetimeIndex(dates[rebalance_positions(dates, "weekly")])
    assert (w.dayofweek == 4).all() and len(w) == 50  # Fridays; the last week is unfinished
    years = pd.bdate_range("2020-01-01", "2023-06-30")
    a = pd.DatetimeIndex(years[rebalance_positions(years, "annual")])
    assert list(a.strftime("%Y-%m-%d")) == ["2020-12-31", "2021-12-31", "2022-12-30"]
    s = rebalance_positions(dates, "monthly", start="2024-03-15", end="2024-06-30")
    assert list(pd.DatetimeIndex(dates[s]).month) == [3, 4, 5, 6]


def test_attribution_sums_to_returns():
    rng = np.random.default_rng(5)
    p = 100 * np.cumprod(1 + rng.normal(0, 0.02, (60, 3)), axis=0)
    pos = np.array([0, 21, 42])
    s1 = np.array([[0.3, 0.0, 0.1]] * 3)
    s2 = np.array([[0.0, 0.4, 0.1]] * 3)
    data = PriceData.from_prices(p)
    res = backtest(data, s1 + s2, pos, costs=10.0, cash_rate=0.02)
    att = attribute(res, data, {"one": s1, "two": s2})
    np.testing.assert_allclose(att.daily.sum(axis=1).to_numpy(), res.returns.to_numpy(), atol=1e-15)
    off = np.setdiff1d(np.arange(len(res.dates)), pos)
    np.testing.assert_allclose(att.daily["costs"].to_numpy()[off], 0.0, atol=1e-14)
    # day 1: each sleeve earns its weights times the names' returns
    r1 = p[1] / p[0] - 1
    assert att.daily["one"].iloc[1] == pytest.approx(float(s1[0] @ r1), rel=1e-9)

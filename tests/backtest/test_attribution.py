"""Attribution by sleeve: hand-computed cases and a plain-loop reference (costs, cash rate, delisting)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import PriceData, attribute, backtest

# a: +10%, -10%, flat, +10%; b: flat, +10%, flat, flat
HAND = np.array([[100.0, 50.0], [110.0, 50.0], [99.0, 55.0], [99.0, 55.0], [108.9, 55.0]])
ONE = np.array([[0.3, 0.0], [0.3, 0.0]])
TWO = np.array([[0.2, 0.4], [0.2, 0.4]])  # 10% cash


def test_sleeves_by_hand():
    data = PriceData.from_prices(HAND, ids=["a", "b"])
    res = backtest(data, ONE + TWO, np.array([0, 3]), costs=False)
    att = attribute(res, data, {"one": ONE, "two": TWO})
    assert list(att.daily.columns) == ["one", "two", "cash", "costs"]
    assert att.daily.index.equals(res.dates)
    # day 1 on weights of day 0; day 2 on the drifted book (value 1.05); day 4 after rebalancing
    expected = np.array([
        [0.0, 0.0, 0.0, 0.0],
        [0.3 * 0.1, 0.2 * 0.1, 0.0, 0.0],
        [0.3 * -0.11 / 1.05, (0.2 * -0.11 + 0.4 * 0.1) / 1.05, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.3 * 0.1, 0.2 * 0.1, 0.0, 0.0],
    ])
    np.testing.assert_allclose(att.daily.to_numpy(), expected, atol=1e-15)
    np.testing.assert_allclose(att.total.to_numpy(), expected.sum(axis=0), atol=1e-15)
    assert list(att.total.index) == ["one", "two", "cash", "costs"]


def _reference(prices, dl, cash_daily, pos, sleeves, weights, value):
    """Day-by-day loops: each sleeve owns a fixed fraction of every position it shares."""
    T, N = prices.shape
    last = np.array([max(np.flatnonzero(np.isfinite(prices[:, i]))) for i in range(N)])
    s0 = pos[0]
    out = np.zeros((T - s0, len(sleeves) + 1))
    for r, t0 in enumerate(pos):
        t1 = pos[r + 1] if r + 1 < len(pos) else T - 1
        g_prev, c_prev = np.ones(N), 1.0
        for t in range(t0 + 1, t1 + 1):
            step = np.ones(N)
            for i in range(N):
                if t <= last[i]:
                    step[i] = prices[t, i] / prices[t - 1, i]
                elif t == last[i] + 1:
                    step[i] = 1.0 + dl[i]
                else:
                    step[i] = 1.0 + cash_daily[t]
            g = g_prev * step
            c = c_prev * (1.0 + cash_daily[t])
            vrel = value[t - 1 - s0] / value[t0 - s0]
            for k, S in enumerate(sleeves):
                out[t - s0, k] = sum(S[r, i] * (g[i] - g_prev[i]) for i in range(N)) / vrel
            out[t - s0, -1] = (1.0 - weights[r].sum()) * (c - c_prev) / vrel
            g_prev, c_prev = g, c
    return out


def test_costs_cash_rate_and_delisting_against_loops():
    rng = np.random.default_rng(17)
    p = 100 * np.cumprod(1 + rng.normal(0.0005, 0.02, (40, 4)), axis=0)
    p[23:, 2] = np.nan  # c's last price is on day 22: day 23 earns its delisting return, then cash
    dl = np.array([0.0, 0.0, -0.4, 0.0])
    pos = np.array([2, 12, 30])
    s1 = np.array([[0.3, 0.0, 0.1, 0.1], [0.2, 0.1, 0.2, 0.1], [0.2, 0.1, 0.0, 0.3]])
    s2 = np.array([[0.1, 0.2, 0.1, 0.0], [0.1, 0.1, 0.1, 0.0], [0.0, 0.2, 0.0, 0.1]])
    data = PriceData.from_prices(p, delisting_return=dl)
    res = backtest(data, s1 + s2, pos, costs=25.0, cash_rate=0.05)
    att = attribute(res, data, {"s1": s1, "s2": s2})
    ref = _reference(p, dl, res.cash_daily, pos, [s1, s2], res.weights, res.value.to_numpy())
    np.testing.assert_allclose(att.daily[["s1", "s2", "cash"]].to_numpy(), ref, rtol=1e-12, atol=1e-16)
    # the columns add up to the portfolio's return every day
    np.testing.assert_allclose(att.daily.sum(axis=1).to_numpy(), res.returns.to_numpy(), atol=1e-15)
    # costs: the first day's return is -cost; later rebalances cost paid x pre-trade / previous value
    v = res.value.to_numpy()
    costs = att.daily["costs"].to_numpy()
    assert costs[0] == pytest.approx(-res.costs.iloc[0], rel=1e-12)
    for r, t in enumerate(pos[1:], start=1):
        k = t - pos[0]
        v_pre = v[k] / (1 - res.costs.iloc[r])
        assert costs[k] == pytest.approx(-res.costs.iloc[r] * v_pre / v[k - 1], rel=1e-9)
    off = np.setdiff1d(np.arange(len(costs)), pos - pos[0])
    np.testing.assert_allclose(costs[off], 0.0, atol=1e-15)
    assert (res.costs > 0).all() and (att.daily["cash"].iloc[1:] > 0).all()
    np.testing.assert_allclose(att.total.to_numpy(), att.daily.sum().to_numpy(), rtol=1e-15)


def test_a_market_is_read_like_its_prices(make_market):
    m = make_market({"A": [10.0, 11.0, 12.1, 11.0], "B": [20.0, 20.0, 22.0, 24.2]})
    s1 = np.array([[0.5, 0.0], [0.2, 0.3]])
    s2 = np.array([[0.0, 0.4], [0.3, 0.1]])
    res = backtest(m, s1 + s2, np.array([0, 2]), costs=10.0, cash_rate=0.02)
    got = attribute(res, m, {"s1": s1, "s2": s2})
    want = attribute(res, PriceData.from_market(m), {"s1": s1, "s2": s2})
    pd.testing.assert_frame_equal(got.daily, want.daily)
    # contributions are fractions of the value at the rebalance: A's 10% on a 50% weight
    assert got.daily["s1"].iloc[1] == pytest.approx(0.5 * 0.1, rel=1e-12)


def test_no_sleeves_leaves_cash_and_costs():
    data = PriceData.from_prices(HAND)
    res = backtest(data, np.zeros((2, 2)), np.array([0, 3]), costs=False, cash_rate=0.03)
    att = attribute(res, data, {})
    assert list(att.daily.columns) == ["cash", "costs"]
    rc = 1.03 ** (1 / 252) - 1
    np.testing.assert_allclose(att.daily["cash"].iloc[1:], rc, rtol=1e-12)
    np.testing.assert_allclose(att.daily["costs"], 0.0, atol=1e-16)


def test_a_result_without_a_cash_path_earns_nothing_on_cash():
    data = PriceData.from_prices(HAND)
    res = backtest(data, ONE + TWO, np.array([0, 3]), costs=False)
    bare = dataclasses.replace(res, cash_daily=None)
    pd.testing.assert_frame_equal(attribute(bare, data, {"one": ONE, "two": TWO}).daily,
                                  attribute(res, data, {"one": ONE, "two": TWO}).daily)


def test_a_rebalance_on_the_last_day_has_no_period():
    data = PriceData.from_prices(HAND)
    res = backtest(data, ONE + TWO, np.array([0, 4]), costs=10.0)
    att = attribute(res, data, {"one": ONE, "two": TWO})
    np.testing.assert_allclose(att.daily.sum(axis=1), res.returns, atol=1e-15)
    # day 4 still belongs to the first period: a's growth 0.99 -> 1.089 on a book worth 1.035x its start
    assert att.daily["one"].iloc[4] == pytest.approx(0.3 * 0.099 / 1.035, rel=1e-12)


def test_sleeves_must_match_the_backtest():
    data = PriceData.from_prices(HAND)
    res = backtest(data, ONE + TWO, np.array([0, 3]), costs=False)
    with pytest.raises(ValueError, match=r"^sleeves: expected arrays of shape \(2, 2\), got \(1, 2\)$"):
        attribute(res, data, {"one": ONE[:1], "two": TWO[:1]})
    with pytest.raises(ValueError, match=r"^sleeves: their sum differs from the backtest's weights$"):
        attribute(res, data, {"one": ONE, "two": TWO + 1e-8})  # absolute: 1e-8 of a 0.6 weight is too much
    # rounding far below a basis point of a basis point is accepted
    att = attribute(res, data, {"one": ONE, "two": TWO + 1e-12})
    assert att.daily["two"].iloc[1] == pytest.approx(0.02, rel=1e-9)

"""The engine against a day-by-day reference, and the cases a mutation run found unpinned.

The reference below is a plain loop over days and names written from the conventions in the
engine's docstring (trade at the close, costs solved exactly, cash earning its rate, a
delisted name's proceeds earning cash until the next rebalance sweeps them). It is slow and
obvious on purpose; the engine must agree with it to rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import CostModel, PriceData, backtest
from broadening.backtest.engine import Simulation


def reference(P, W, pos, *, bps=0.0, cash_daily=None, dl=None, end=None, rates=None):
    """Day-by-day simulation. ``rates(t)`` gives per-name cost rates (default ``bps / 1e4``)."""
    T = P.shape[0] if end is None else end
    N = P.shape[1]
    cash_daily = np.zeros(P.shape[0]) if cash_daily is None else cash_daily
    dl = np.zeros(N) if dl is None else dl
    last = np.array([np.flatnonzero(np.isfinite(P[:, i])).max() for i in range(N)])
    h, cash = np.zeros(N), 1.0
    s = pos[0]
    value, cashw, turnover, costs, after, eod = [], [], [], [], [], []
    for t in range(s, T):
        if t > s:
            for i in range(N):
                if h[i] == 0:
                    continue
                if t <= last[i]:
                    # a missing raw price: no return on that day and on the next
                    g = 1.0 if np.isnan(P[t, i]) or np.isnan(P[t - 1, i]) else P[t, i] / P[t - 1, i]
                elif t == last[i] + 1:
                    g = 1.0 + dl[i]
                else:
                    g = 1.0 + cash_daily[t]
                h[i] *= g
            cash *= 1.0 + cash_daily[t]
        if t in pos:
            r = list(pos).index(t)
            dead = (h != 0) & np.isnan(P[t])
            cash += h[dead].sum()
            h[dead] = 0.0
            V = h.sum() + cash
            w = W[r]
            c = rates(t) if rates is not None else np.full(N, bps / 1e4)
            x = V
            for _ in range(200):
                x = V - np.sum(c * np.abs(w * x - h))
            turnover.append(0.5 * np.abs(w * x - h).sum() / V)
            costs.append((V - x) / V)
            h = w * x
            cash = x - h.sum()
            if abs(cash) <= 1e-12 * x:
                cash = 0.0
            after.append(h / x)
        v = h.sum() + cash
        value.append(v)
        eod.append(np.where(t <= last, h, 0.0) / v)
        dead_val = sum(h[i] for i in range(N) if t > last[i])
        cashw.append((cash + dead_val) / v)
    value = np.array(value)
    rets = value / np.concatenate([[1.0], value[:-1]]) - 1.0
    return dict(value=value, returns=rets, cash=np.array(cashw), turnover=np.array(turnover),
                costs=np.array(costs), weights=np.array(after), eod=np.array(eod))


def _agree(res, ref, rtol=1e-11):
    np.testing.assert_allclose(res.value.to_numpy(), ref["value"], rtol=rtol)
    np.testing.assert_allclose(res.returns.to_numpy(), ref["returns"], rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(res.cash.to_numpy(), ref["cash"], rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(res.turnover.to_numpy(), ref["turnover"], rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(res.costs.to_numpy(), ref["costs"], rtol=1e-9, atol=1e-16)
    np.testing.assert_allclose(res.weights, ref["weights"], rtol=rtol, atol=1e-15)


def _market(seed, T=60, N=5):
    rng = np.random.default_rng(seed)
    P = 100 * np.cumprod(1 + rng.normal(0.0003, 0.02, (T, N)), axis=0)
    return rng, P


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_books_with_cash_costs_and_delistings_against_reference(seed):
    rng, P = _market(seed)
    P[:8, 4] = np.nan  # e lists on day 8
    P[33:, 1] = np.nan  # b's last price is on day 32 (inside the second period)
    P[21:, 3] = np.nan  # d's last price is day 20, a rebalance date: bought there, delists next day
    dl = np.array([0.0, -0.3, 0.0, 0.25, 0.0])
    pos = np.array([3, 20, 40, 52])
    W = rng.dirichlet(np.ones(5), size=4) * np.array([[0.9], [0.8], [1.0], [0.7]])
    W[0, 4] = 0.0  # not listed yet
    W[2:, [1, 3]] = 0.0  # gone
    cash_rate = 0.04
    cash_daily = np.full(len(P), 1.04 ** (1 / 252) - 1)
    res = backtest(P, W, pos, costs=15.0, cash_rate=cash_rate, delisting_return=dl)
    _agree(res, reference(P, W, pos, bps=15.0, cash_daily=cash_daily, dl=dl))
    assert res.dates[0] == pd.bdate_range("2000-01-03", periods=len(P))[3]


def test_size_dependent_spread_against_reference():
    rng, P = _market(7, T=30, N=4)
    caps = np.abs(rng.normal(1e10, 5e9, (30, 4))) * np.array([1.0, 0.01, 0.5, 1.0])
    caps[:, 3] = np.nan  # unknown cap: pays the maximum spread
    model = CostModel(bps=5.0, spread_bps=8.0, spread_ref_cap=1e10, max_spread_bps=40.0)
    pos = np.array([0, 10, 20])
    W = rng.dirichlet(np.ones(4), size=3)

    def rates(t):
        spread = np.minimum(8.0 * np.sqrt(1e10 / caps[t]), 40.0)
        return (5.0 + np.where(np.isfinite(spread), spread, 40.0)) / 1e4

    res = backtest(P, W, pos, costs=model, market_cap=caps)
    _agree(res, reference(P, W, pos, rates=rates))
    # without caps the spread cannot apply: only the fixed 5 bps
    _agree(backtest(P, W, pos, costs=model), reference(P, W, pos, bps=5.0))


def test_cash_earns_its_rate_across_several_rebalances():
    P = np.full((7, 1), 100.0)
    rc = 0.001
    res = backtest(P, np.array([[0.0], [0.5], [0.0]]), np.array([0, 2, 4]), costs=False, cash_rate=np.full(7, rc))
    # all cash for two days, half cash for two, all cash again: the cash compounds over every period
    v = [1.0, 1 + rc, (1 + rc) ** 2]
    v += [v[-1] * (0.5 + 0.5 * (1 + rc)), v[-1] * (0.5 + 0.5 * (1 + rc) ** 2)]
    v += [v[-1] * (1 + rc), v[-1] * (1 + rc) ** 2]
    np.testing.assert_allclose(res.value.to_numpy(), v, rtol=1e-14)
    np.testing.assert_allclose(res.returns.to_numpy()[1:], np.array(v[1:]) / np.array(v[:-1]) - 1, rtol=1e-12)
    np.testing.assert_allclose(res.cash.to_numpy(), [1, 1, 0.5, 0.5 * (1 + rc) / (0.5 + 0.5 * (1 + rc)), 1, 1, 1], rtol=1e-14)


def test_cash_weight_on_a_rebalance_date_when_value_is_not_one():
    P = np.array([[10.0], [20.0], [20.0], [30.0]])
    res = backtest(P, np.array([[1.0], [0.6]]), np.array([0, 2]), costs=False)
    # the book doubles to 2 before the second rebalance: 40% cash of 2 is a weight of 0.4
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 2.0, 2.0, 1.2 * 1.5 + 0.8], rtol=1e-15)
    np.testing.assert_allclose(res.cash.to_numpy(), [0.0, 0.0, 0.4, 0.8 / 2.6], rtol=1e-15)
    np.testing.assert_allclose(res.weights, [[1.0], [0.6]], rtol=1e-15)


def test_turnover_and_costs_when_holdings_sit_on_one_side_of_the_target():
    P = np.array([[10.0, 10.0], [20.0, 10.0], [20.0, 10.0]])
    # after day 1 the book is a 2/3 + b 1/3 of 1.5; the target (0.9, 0.1) only buys a and sells b
    # no costs: traded = |0.9 x 1.5 - 1| + |0.15 - 0.5| = 0.35 + 0.35 out of 1.5
    free = backtest(P, np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([0, 1]), costs=False)
    assert free.turnover.iloc[1] == pytest.approx(0.5 * 0.7 / 1.5, rel=1e-14)
    # all in a from 60/40: only buying a and selling b, both at 20 bps
    res = backtest(P, np.array([[0.6, 0.4], [1.0, 0.0]]), np.array([0, 1]), costs=20.0)
    c = 0.002
    v0 = 1.0 / (1.0 + c)  # the first trade buys the whole book from cash
    h = np.array([0.6 * v0 * 2, 0.4 * v0])  # a doubled by day 1
    V = h.sum()
    vp = (V + c * (h[0] - h[1])) / (1 + c)  # x = V - c (x - h_a) - c h_b, with x > h_a
    assert res.value.iloc[1] == pytest.approx(vp, rel=1e-14)
    assert res.turnover.iloc[1] == pytest.approx(0.5 * ((vp - h[0]) + h[1]) / V, rel=1e-12)
    assert res.costs.iloc[1] == pytest.approx((V - vp) / V, rel=1e-12)
    assert res.turnover.iloc[0] == pytest.approx(0.5 * v0, rel=1e-14)  # buys v0 out of 1 in cash


def test_buying_a_name_on_its_last_trading_day():
    # b's last price is day 2, the rebalance date: bought there, it earns -60% on day 3, then cash
    P = np.array([[10.0, 20.0], [10.0, 20.0], [10.0, 20.0], [11.0, np.nan], [11.0, np.nan], [12.1, np.nan]])
    rc = 0.002
    res = backtest(P, np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.0]]), np.array([0, 2, 4]), costs=False,
                   delisting_return=np.array([0.0, -0.6]), cash_rate=np.full(6, rc))
    v3 = 0.5 * 1.1 + 0.5 * 0.4
    v4 = 0.5 * 1.1 + 0.5 * 0.4 * (1 + rc)
    np.testing.assert_allclose(res.value.to_numpy()[:5], [1, 1, 1, v3, v4], rtol=1e-15)
    # b's proceeds (0.2) count as cash from day 3; day 4 sweeps them in and trades to 50% a
    np.testing.assert_allclose(res.cash.to_numpy()[:5], [0, 0, 0, 0.2 / v3, 0.5], rtol=1e-14)
    assert res.value.iloc[5] == pytest.approx(v4 * (0.5 * 1.1 + 0.5 * (1 + rc)), rel=1e-14)
    # day 3 earned a's 10% on half and b's -60% on the other half
    assert res.returns.iloc[3] == pytest.approx(v3 - 1, rel=1e-14)


def test_dataframe_inputs_with_their_own_names():
    idx = pd.bdate_range("2023-03-01", periods=5)
    prices = pd.DataFrame({101: [10.0, 11.0, 12.1, 12.1, 13.31], 202: [5.0, 5.0, 4.5, 4.5, 4.5]}, index=idx)
    weights = pd.DataFrame({"202": [0.4], 101: [0.5]}, index=idx[[1]])  # ids as ints or strings, any order
    res = backtest(prices, weights, costs=False)
    assert list(res.ids) == ["101", "202"] and res.dates[0] == idx[1]
    np.testing.assert_allclose(res.returns.to_numpy(), [0.0, 0.5 * 0.1 + 0.4 * -0.1, 0.0, 0.5 * 1.1 * 0.1 / 1.01], rtol=1e-13)
    np.testing.assert_allclose(res.weights_frame().loc[idx[1]].to_numpy(), [0.5, 0.4])
    assert list(res.weights_frame().columns) == ["101", "202"] and res.weights_frame().columns.name == "security_id"
    # a PriceData with its own dates and ids, weights by column name
    data = PriceData.from_prices(prices.to_numpy(), dates=idx, ids=["x", "y"])
    res2 = backtest(data, pd.DataFrame({"y": [0.4], "x": [0.5]}, index=idx[[1]]), costs=False)
    pd.testing.assert_series_equal(res2.returns, res.returns)
    with pytest.raises(ValueError, match=r"columns not in the price data: \['z'\]"):
        backtest(data, pd.DataFrame({"z": [0.5]}, index=idx[[1]]))
    with pytest.raises(ValueError, match="every index date must be a trading date"):
        backtest(data, pd.DataFrame({"x": [0.5]}, index=[pd.Timestamp("2023-03-04")]))  # a Saturday
    with pytest.raises(ValueError, match="every index date must be a trading date"):
        backtest(data, pd.DataFrame({"x": [0.5]}, index=[pd.Timestamp("2024-01-02")]))  # after the data


def test_rebalance_given_as_dates_a_schedule_or_one_row_of_weights():
    idx = pd.bdate_range("2024-01-01", "2024-03-29")
    rng, P = _market(11, T=len(idx), N=3)
    data = PriceData.from_prices(P, dates=idx)
    w = np.array([0.2, 0.3, 0.4])
    by_name = backtest(data, w, "monthly", costs=10.0)
    pos = np.array([22, 43])  # the last trading days of January and February (March is the data's end)
    assert list(by_name.positions) == list(pos)
    by_dates = backtest(data, np.tile(w, (2, 1)), list(idx[pos]), costs=10.0)
    _agree(by_dates, reference(P, np.tile(w, (2, 1)), pos, bps=10.0))
    pd.testing.assert_series_equal(by_name.value, by_dates.value)


def test_record_by_dates_and_positions():
    P = np.array([[10.0, 10.0], [11.0, 9.0], [12.1, 9.0], [12.1, 9.9]])
    dates = pd.bdate_range("2024-01-01", periods=4)  # Mon .. Thu
    data = PriceData.from_prices(P, dates=dates)
    res = backtest(data, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 2]), costs=False,
                   record=[pd.Timestamp("2023-12-29"), dates[1], dates[2], pd.Timestamp("2024-01-04 18:00")])
    # a date before the data is dropped; an evening maps to that trading day
    assert list(res.recorded.index) == list(dates[1:])
    np.testing.assert_allclose(res.recorded.iloc[0], [0.55 / 1.0, 0.45 / 1.0], rtol=1e-14)
    np.testing.assert_allclose(res.recorded.iloc[1], [0.5, 0.5], rtol=1e-14)  # post-trade on a rebalance date
    v3 = 0.5 * 1.0 + 0.5 * 1.1
    np.testing.assert_allclose(res.recorded.iloc[2], [0.5 / v3, 0.55 / v3], rtol=1e-14)
    by_pos = backtest(data, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 2]), costs=False, record=np.array([3, 1, 1]))
    pd.testing.assert_frame_equal(by_pos.recorded, res.recorded.iloc[[0, 2]])
    assert backtest(data, np.array([[0.5, 0.5]]), np.array([0]), costs=False).recorded.empty


def test_a_window_of_rebalance_rows_up_to_an_end_date():
    rng, P = _market(5, T=50, N=3)
    pos = np.array([0, 10, 20, 30, 40])
    W = rng.dirichlet(np.ones(3), size=5) * 0.9
    sim = Simulation(PriceData.from_prices(P), pos, costs=10.0, cash_rate=0.03)
    res = sim.run(W[1:3], rows=(1, 3), end=35)
    cash_daily = np.full(50, 1.03 ** (1 / 252) - 1)
    _agree(res, reference(P, W[1:3], pos[1:3], bps=10.0, cash_daily=cash_daily, end=35))
    assert len(res.dates) == 25 and list(res.positions) == [10, 20]
    with pytest.raises(ValueError, match=r"^weights: expected shape \(2, 3\), got \(3, 3\)$"):
        sim.run(W[1:4], rows=(1, 3))
    with pytest.raises(ValueError, match="no rebalance dates"):
        sim.run(np.zeros((0, 3)), rows=(2, 2))
    with pytest.raises(ValueError, match="rebalance positions outside the marked dates"):
        sim.run(W[3:5], rows=(3, 5), end=40)


def test_costs_shorthands():
    P = np.array([[10.0, 10.0], [11.0, 10.0]])
    W = np.array([[0.5, 0.5]])
    assert backtest(P, W, [0]).value.iloc[0] == pytest.approx(1 / 1.001, rel=1e-14)  # default 10 bps
    assert backtest(P, W, [0], costs=True).value.iloc[0] == pytest.approx(1 / 1.001, rel=1e-14)
    assert backtest(P, W, [0], costs=30).value.iloc[0] == pytest.approx(1 / 1.003, rel=1e-14)
    assert backtest(P, W, [0], costs=None).value.iloc[0] == 1.0
    # a spread needs market caps: without them only the (zero) fixed rate is paid
    assert backtest(P, W, [0], costs=CostModel(bps=0.0, spread_bps=5.0)).value.iloc[0] == 1.0
    caps = np.full((2, 2), 1e10)
    spread = backtest(P, W, [0], costs=CostModel(bps=0.0, spread_bps=5.0), market_cap=caps)
    assert spread.value.iloc[0] == pytest.approx(1 / 1.0005, rel=1e-14)


def test_error_messages_name_the_problem():
    P = np.array([[10.0, np.nan], [11.0, 20.0], [12.0, 21.0]])
    with pytest.raises(ValueError, match=r"^weights: 1 target weight\(s\) on securities without a price on their rebalance date, e.g. s1 on 2000-01-03$"):
        backtest(P, np.array([[0.5, 0.5]]), [0])
    with pytest.raises(ValueError, match="rebalance positions are required"):
        backtest(P, np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"^weights: expected shape \(2, 2\), got \(1, 2\)$"):
        backtest(P, np.array([[0.5, 0.5]]), [1, 2])
    with pytest.raises(ValueError, match="outside the price data"):
        backtest(P, np.array([[0.5, 0.5]]), [3])
    with pytest.raises(ValueError, match="outside the price data"):
        backtest(P, np.array([[0.5, 0.5]]), [-1])
    with pytest.raises(ValueError, match=r"^weights: sum to 1\.200000 > 1 on 2000-01-05 \(no leverage\)$"):
        backtest(P, np.array([[0.5, 0.5], [0.6, 0.6]]), [1, 2])
    with pytest.raises(ValueError, match="no rebalance dates"):
        backtest(P, np.zeros((0, 2)), np.array([], dtype=int))
    # rounding below 1e-12 is not a short position, and a sum within 1e-9 of one is not leverage
    ok = backtest(P, np.array([[1.0 + 5e-10 - 1e-13, -1e-13]]), [1], costs=False)
    assert ok.weights[0, 1] == 0.0 and ok.weights[0, 0] == pytest.approx(1.0)


def test_weight_inputs_are_read_leniently_where_documented():
    P = np.array([[10.0, 10.0], [11.0, 9.0], [12.1, 9.0]])
    base = backtest(P, np.array([[0.5, 0.0], [0.5, 0.0]]), np.array([0, 1]), costs=False)
    # a NaN weight is no weight; unsigned positions are positions, not dates
    nan_w = backtest(P, np.array([[0.5, np.nan], [0.5, np.nan]]), np.array([0, 1], dtype=np.uint8), costs=False)
    pd.testing.assert_series_equal(nan_w.value, base.value)
    frame = pd.DataFrame({"s0": [0.5, 0.5], "s1": [np.nan, np.nan]}, index=pd.bdate_range("2000-01-03", periods=2))
    pd.testing.assert_series_equal(backtest(P, frame, costs=False).value, base.value)
    by_index = backtest(P, np.array([[0.5, 0.0], [0.5, 0.0]]), pd.bdate_range("2000-01-03", periods=2), costs=False)
    pd.testing.assert_series_equal(by_index.value, base.value)
    with pytest.raises(ValueError, match="long-only engine, found a negative weight"):
        backtest(P, np.array([[0.5, -1e-11]]), [0])


def test_weights_that_sum_to_one_leave_no_cash_residue():
    rng, P = _market(3, T=10, N=10)
    w = np.full(10, 0.1)  # sums to 0.9999999999999999 in floating point
    res = backtest(P, np.tile(w, (2, 1)), np.array([0, 5]), costs=False)
    assert (res.cash.to_numpy() == 0.0).all()
    small = backtest(P, np.tile(w * (1 - 1e-9), (2, 1)), np.array([0, 5]), costs=False)
    assert small.cash.iloc[0] == pytest.approx(1e-9, rel=1e-6)  # a real (if small) cash weight stays


def test_recorded_weights_of_a_delisted_name_are_cash():
    P = np.array([[10.0, 20.0], [11.0, 20.0], [11.0, np.nan], [12.1, np.nan]])
    res = backtest(P, np.array([[0.5, 0.5]]), np.array([0]), costs=False, delisting_return=np.array([0.0, -0.5]),
                   record=[1, 2, 3])
    v2 = 0.55 + 0.25
    np.testing.assert_allclose(res.recorded.to_numpy(), [[0.55 / 1.05, 0.5 / 1.05], [0.55 / v2, 0.0], [0.605 / 0.855, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(res.cash.to_numpy(), [0.0, 0.0, 0.25 / v2, 0.25 / 0.855], rtol=1e-14)
    assert res.total_costs == 0.0
    assert backtest(P, np.array([[0.5, 0.5]]), np.array([0]), costs=10.0).total_costs == pytest.approx(
        0.001 / 1.001, rel=1e-12)


def test_simulation_defaults_and_a_rebalance_on_the_last_day():
    P = np.array([[10.0, 10.0], [11.0, 9.0], [12.1, 9.0]])
    sim = Simulation(PriceData.from_prices(P), np.array([0, 2]))  # 10 bps, cash earning nothing
    res = sim.run(np.array([[0.5, 0.0], [0.5, 0.5]]))
    v0 = 1 / (1 + 0.0005)  # 50% bought at 10 bps, 50% left in cash
    np.testing.assert_allclose(res.value.iloc[:2], [v0, v0 * 0.5 * 1.1 + v0 * 0.5], rtol=1e-14)
    # the last rebalance is on the last date: it trades and is marked, with no period after it
    v_pre = v0 * (0.5 * 1.21 + 0.5)
    assert res.value.iloc[2] == pytest.approx(v_pre - 0.001 * abs(0.5 * res.value.iloc[2] - v0 * 0.5 * 1.21) - 0.001 * 0.5 * res.value.iloc[2], rel=1e-12)
    np.testing.assert_allclose(res.weights[1], [0.5, 0.5], rtol=1e-14)
    assert res.cash.iloc[2] == pytest.approx(0.0, abs=1e-15)


def test_a_spread_below_one_basis_point_still_applies():
    P = np.array([[10.0, 10.0], [11.0, 10.0]])
    caps = np.full((2, 2), 1e10)
    res = backtest(P, np.array([[0.5, 0.5]]), [0], costs=CostModel(bps=0.0, spread_bps=0.5), market_cap=caps)
    assert res.value.iloc[0] == pytest.approx(1 / 1.00005, rel=1e-14)


def test_raw_prices_with_gaps_against_reference():
    rng, P = _market(21, T=40, N=4)
    P[[5, 6, 17], 0] = np.nan  # a gap of two days and one of one day inside a's life
    P[25, 2] = np.nan
    P[31:, 2] = np.nan  # c has a gap, then delists inside the last period
    dl = np.array([0.0, 0.0, -0.2, 0.0])
    pos = np.array([0, 10, 20, 30])
    W = rng.dirichlet(np.ones(4), size=4) * 0.95
    cash_daily = np.full(40, 1.02 ** (1 / 252) - 1)
    days = [6, 7, 18, 26, 31, 33]
    res = backtest(P, W, pos, costs=10.0, cash_rate=0.02, delisting_return=dl, record=days)
    ref = reference(P, W, pos, bps=10.0, cash_daily=cash_daily, dl=dl)
    _agree(res, ref)
    np.testing.assert_allclose(res.recorded.to_numpy(), ref["eod"][days], rtol=1e-11, atol=1e-15)
    assert res.recorded.iloc[5, 2] == 0.0  # c is cash by day 33


def test_names_with_and_without_gaps_delisting_in_one_period():
    rng, P = _market(23, T=30, N=4)
    P[14, 2] = np.nan  # c has a gap, then its last price is day 17
    P[18:, 2] = np.nan
    P[16:, 1] = np.nan  # b (no gap) has its last price on day 15, in the same period
    dl = np.array([0.0, -0.5, 0.3, 0.0])
    pos = np.array([0, 10, 20])
    W = rng.dirichlet(np.ones(4), size=3)
    W[2, 1:3] = 0.0
    W[2] /= W[2].sum()
    days = [12, 14, 15, 16, 17, 18, 19]  # c's gap, b's last day and the day after, c's last day
    res = backtest(P, W, pos, costs=20.0, delisting_return=dl, record=days)
    # both proceeds are cash at day 20: only a and d are traded, with costs on those trades only
    ref = reference(P, W, pos, bps=20.0, dl=dl)
    _agree(res, ref)
    np.testing.assert_allclose(res.recorded.to_numpy(), ref["eod"][days], rtol=1e-11, atol=1e-15)
    assert res.recorded.iloc[4, 2] > 0 and res.recorded.iloc[5, 2] == 0.0


def test_a_simulation_pickles_without_its_caches():
    import pickle

    rng, P = _market(4, T=30, N=3)
    caps = np.full((30, 3), 1e9)
    sim = Simulation(PriceData.from_prices(P, market_cap=caps), np.array([0, 10, 20]),
                     costs=CostModel(bps=5.0, spread_bps=10.0), cash_rate=0.01)
    W = rng.dirichlet(np.ones(3), size=3)
    first = sim.run(W)
    state = sim.__getstate__()
    assert state["_rates"] is None and state["_rows"] is None and sim.__dict__["_rows"] is not None
    again = pickle.loads(pickle.dumps(sim)).run(W)
    pd.testing.assert_series_equal(again.value, first.value)
    pd.testing.assert_series_equal(again.costs, first.costs)


def test_a_sum_of_weights_off_one_by_rounding_leaves_no_cash():
    rng = np.random.default_rng(0)
    for _ in range(100):  # weights whose float sum misses 1 by an ulp or two
        w = rng.dirichlet(np.ones(7))
        w = w / w.sum()
        if w.sum() != 1.0:
            break
    assert w.sum() != 1.0 and abs(1.0 - w.sum()) < 1e-15
    _, P = _market(9, T=12, N=7)
    res = backtest(P, np.tile(w, (2, 1)), np.array([0, 6]), costs=False)
    assert (res.cash.to_numpy() == 0.0).all()


def test_more_input_checks():
    idx = pd.bdate_range("2024-01-01", periods=4)
    prices = pd.DataFrame(np.full((4, 2), 10.0), index=idx, columns=["x", "y"])
    # weights dated on the last trading date are fine
    last = backtest(prices, pd.DataFrame({"x": [1.0]}, index=idx[[3]]), costs=False)
    assert list(last.positions) == [3] and last.value.iloc[0] == 1.0
    unknown = pd.DataFrame({c: [0.1] for c in "abcdefg"}, index=idx[[0]])
    with pytest.raises(ValueError, match=r"^weights: columns not in the price data: \['a', 'b', 'c', 'd', 'e'\]$"):
        backtest(prices, unknown)
    with pytest.raises(ValueError, match=r"^weights: every index date must be a trading date of the price data$"):
        backtest(prices, pd.DataFrame({"x": [0.5]}, index=[pd.Timestamp("2024-01-06")]))
    P = prices.to_numpy()
    with pytest.raises(ValueError, match=r"^rebalance positions are required with an array of weights$"):
        backtest(P, np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"^rebalance positions must be strictly increasing$"):
        backtest(P, np.array([[0.5, 0.5], [0.5, 0.5]]), [2, 1])
    with pytest.raises(ValueError, match=r"^rebalance positions outside the price data$"):
        backtest(P, np.array([[0.5, 0.5]]), [4])
    with pytest.raises(ValueError, match=r"^weights: long-only engine, found a negative weight$"):
        backtest(P, np.array([[0.5, -0.1]]), [0])
    with pytest.raises(ValueError, match=r"^no rebalance dates$"):
        backtest(P, np.zeros((0, 2)), np.array([], dtype=int))
    sim = Simulation(PriceData.from_prices(P), np.array([0, 2]))
    with pytest.raises(ValueError, match=r"^no rebalance dates$"):
        sim.run(np.zeros((0, 2)), rows=(1, 1))
    with pytest.raises(ValueError, match=r"^rebalance positions outside the marked dates$"):
        sim.run(np.full((2, 2), 0.5), end=2)


def test_record_on_the_first_date_and_before_a_later_rebalance():
    P = np.array([[10.0, 10.0], [11.0, 9.0], [12.1, 9.0], [12.1, 9.9]])
    dates = pd.bdate_range("2024-01-01", periods=4)
    res = backtest(PriceData.from_prices(P, dates=dates), np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 2]),
                   costs=False, record=[dates[0], dates[1]])
    assert list(res.recorded.index) == list(dates[:2])
    np.testing.assert_allclose(res.recorded.to_numpy(), [[0.5, 0.5], [0.55, 0.45]], rtol=1e-14)


def test_result_series_are_named_and_indexed_by_date():
    P = np.array([[10.0, 10.0], [11.0, 9.0], [12.1, 9.0], [12.1, 9.9]])
    dates = pd.bdate_range("2024-01-01", periods=4)
    res = backtest(PriceData.from_prices(P, dates=dates, ids=["a", "b"]), np.array([[0.5, 0.5], [0.5, 0.5]]),
                   np.array([1, 2]), costs=False, record=[3])
    for s, name in ((res.returns, "return"), (res.value, "value"), (res.cash, "cash")):
        assert s.name == name and s.index.name == "date" and s.index.equals(pd.DatetimeIndex(dates[1:], name="date"))
    for s, name in ((res.turnover, "turnover"), (res.costs, "costs")):
        assert s.name == name and s.index.name == "date" and list(s.index) == list(dates[1:3])
    assert res.recorded.index.name == "date" and res.recorded.columns.name == "security_id"
    assert list(res.recorded.columns) == ["a", "b"] and list(res.recorded.index) == [dates[3]]


def test_prices_below_one_are_prices():
    P = np.array([[0.5, 0.2], [0.55, 0.2], [0.605, 0.1]])
    res = backtest(P, np.array([[0.5, 0.5]]), [0], costs=False)
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 1.05, 0.605 + 0.25], rtol=1e-14)


def test_costs_when_the_first_guess_of_a_trade_sign_is_wrong():
    # after buying 50/30 from cash (100 bps), the second target puts b's break-even point
    # (h_b / w_b) between the first guess of the post-cost value and the solution: b looks
    # like a sale at the guess but is a purchase at the solution (found by a scan of w_b)
    P = np.full((3, 3), 100.0)
    W = np.array([[0.5, 0.3, 0.0], [0.3, 0.301779, 0.39]])
    pos = np.array([0, 1])
    res = backtest(P, W, pos, costs=100.0)
    ref = reference(P, W, pos, bps=100.0)
    _agree(res, ref)
    h = W[0] * ref["value"][0]
    V = ref["value"][1] / (1.0 - ref["costs"][1])  # pre-trade value of the second rebalance
    x = ref["value"][1]
    guess = V - 0.01 * np.abs(W[1] * V - h).sum()
    assert np.sign(W[1, 1] * guess - h[1]) == -1.0 and np.sign(W[1, 1] * x - h[1]) == 1.0


def test_size_dependent_spread_with_a_name_never_traded():
    # a name with no weight and no holding has no trade (sign 0): it costs nothing at any rate
    rng, P = _market(8, T=30, N=3)
    caps = np.full((30, 3), 1e9)
    model = CostModel(bps=5.0, spread_bps=8.0, spread_ref_cap=1e10, max_spread_bps=40.0)
    pos = np.array([0, 10, 20])
    W = np.array([[0.6, 0.4, 0.0], [0.3, 0.7, 0.0], [0.5, 0.5, 0.0]])
    rate = (5.0 + min(8.0 * np.sqrt(10.0), 40.0)) / 1e4
    res = backtest(P, W, pos, costs=model, market_cap=caps)
    _agree(res, reference(P, W, pos, rates=lambda t: np.full(3, rate)))
    assert np.isfinite(res.value.to_numpy()).all()


def test_weights_by_date_after_the_data_and_integer_inputs():
    P = np.array([[10.0, 20.0], [11.0, 20.0], [12.0, 22.0]])
    dates = pd.bdate_range("2024-01-01", periods=3)
    data = PriceData.from_prices(P, dates=dates, ids=["a", "b"])
    late = pd.DataFrame({"a": [1.0]}, index=pd.DatetimeIndex(["2024-01-04"]))  # the day after the last
    with pytest.raises(ValueError, match="every index date must be a trading date"):
        backtest(data, late, costs=False)
    # integer weights and unsigned positions read as numbers and positions
    res = backtest(data, np.array([[1, 0]]), np.array([0], dtype=np.uint32), costs=False,
                   record=np.array([1, 2], dtype=np.uint8))
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 1.1, 1.2], rtol=1e-15)
    assert res.weights.dtype == np.float64
    assert list(res.recorded.index) == list(dates[1:])
    frame = pd.DataFrame({"b": [1]}, index=dates[:1])  # an integer frame; 'a' missing weighs 0
    res = backtest(data, frame, costs=False)
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 1.0, 1.1], rtol=1e-15)
    np.testing.assert_array_equal(res.weights, [[0.0, 1.0]])


def test_a_window_ending_between_two_delistings():
    # b's last price is on row 7, c's on row 8; the window's last period runs from row 4 to
    # row 8: b's delisting return lands on row 8, c is still priced there (its exit is after)
    rng, P = _market(9, T=12, N=3)
    P[8:, 1] = np.nan
    P[9:, 2] = np.nan
    dl = np.array([0.0, -0.4, -0.6])
    W = np.array([[0.3, 0.3, 0.3], [0.2, 0.4, 0.3], [0.5, 0.0, 0.0]])
    sim = Simulation(PriceData.from_prices(P, delisting_return=dl), np.array([0, 4, 10]), costs=10.0)
    res = sim.run(W[:2], rows=(0, 2), end=9)
    _agree(res, reference(P, W[:2], np.array([0, 4]), bps=10.0, dl=dl, end=9))
    assert res.dates[-1] == PriceData.from_prices(P).dates[8]


def test_a_simulation_stores_int64_positions_and_reads_integer_weights_as_float():
    P = np.array([[10.0, 20.0], [11.0, 20.0], [12.0, 22.0]])
    sim = Simulation(PriceData.from_prices(P), np.array([0, 1], dtype=np.int32), costs=False)
    assert sim.positions.dtype == np.int64
    res = sim.run(np.array([[1, 0], [0, 1]]))
    assert res.weights.dtype == np.float64
    np.testing.assert_allclose(res.value.to_numpy(), [1.0, 1.1, 1.21], rtol=1e-15)


def test_a_zero_price_is_no_price_for_a_target():
    P = np.array([[10.0, 0.0], [11.0, 20.0], [12.0, 22.0]])
    with pytest.raises(ValueError, match="without a price on their rebalance date"):
        backtest(P, np.array([[0.5, 0.5]]), np.array([0]))


def test_a_name_not_held_that_delists_inside_a_period_changes_nothing():
    # c (weight 0) stops on row 5; a and b are held from row 0 to row 10
    rng, P = _market(12, T=14, N=3)
    P[6:, 2] = np.nan
    dl = np.array([0.0, 0.0, -0.9])
    W = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    pos = np.array([0, 10])
    res = backtest(P, W, pos, costs=10.0, cash_rate=0.02, delisting_return=dl)
    _agree(res, reference(P, W, pos, bps=10.0, cash_daily=res.cash_daily, dl=dl))
    alone = backtest(P[:, :2], W[:, :2], pos, costs=10.0, cash_rate=0.02)
    np.testing.assert_allclose(res.value.to_numpy(), alone.value.to_numpy(), rtol=1e-14)

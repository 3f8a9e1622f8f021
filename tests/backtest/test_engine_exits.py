"""Exits as events: one column holding several lives one after another (a lane), each life
that ends before the last row closed at its own exit, by hand and against a day-by-day
reference that knows nothing but the events."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.backtest import PriceData, backtest
from broadening.backtest.engine import Simulation
from broadening.backtest.prices import Exits

NAN = np.nan


def two_lives() -> tuple[np.ndarray, Exits]:
    """Column 0: life A on rows 0-4 (exits at row 4, -50% on delisting), empty rows 5-9,
    life B from row 10 on. Column 1: one life, 100 + t on row t."""
    a = [10.0, 11.0, 12.0, 12.0, 13.0, NAN, NAN, NAN, NAN, NAN, 20.0, 21.0, 22.0, 23.0, 24.0]
    c = [100.0 + t for t in range(15)]
    P = np.column_stack([a, c])
    exits = Exits(row=[4], col=[0], ret=[-0.5])
    return P, exits


def _data(P, exits):
    base = PriceData.from_prices(P)
    return PriceData(dates=base.dates, ids=base.ids, prices=P, exits=exits)


def test_a_lane_by_hand_first_life_delisted_second_bought_later():
    P, exits = two_lives()
    res = backtest(_data(P, exits), np.array([[0.5, 0.5], [0.0, 1.0], [0.5, 0.5]]), np.array([0, 7, 12]), costs=False)
    a = [0.5, 0.55, 0.6, 0.6, 0.65]  # life A grows to row 4
    c = [0.5 * (100 + t) / 100 for t in range(8)]
    v = [a[t] + c[t] for t in range(5)] + [0.325 + c[5], 0.325 + c[6], 0.325 + c[7]]
    # row 7: the delisting proceeds (0.65 x 0.5) are swept into cash, everything into column 1
    v += [0.86 * (100 + t) / 107 for t in range(8, 13)]
    v12 = v[-1]
    v += [v12 / 2 * 23 / 22 + v12 / 2 * 113 / 112, v12 / 2 * 24 / 22 + v12 / 2 * 114 / 112]
    np.testing.assert_allclose(res.value.to_numpy(), v, rtol=1e-14)
    cash = np.zeros(15)
    cash[5:7] = [0.325 / v[5], 0.325 / v[6]]
    np.testing.assert_allclose(res.cash.to_numpy(), cash, atol=1e-15)
    # buying life B at row 12 needs a price there; at row 7 the column has none
    with pytest.raises(ValueError, match="without a price"):
        backtest(_data(P, exits), np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), np.array([0, 7, 12]))


def events_reference(P, W, pos, exits, *, bps, cash_daily):
    """Day by day, from the events only: a held position grows with its price ratio (1 over a
    missing price and the day after) until its life's exit, the exit's return the next day,
    then cash until the next rebalance sweeps it; costs by fixed-point iteration."""
    T, N = P.shape
    ends = {(int(r), int(c)): float(x) for r, c, x in zip(exits.row, exits.col, exits.ret, strict=True)}
    h, cash, closed = np.zeros(N), 1.0, np.zeros(N, dtype=bool)
    values, cashw = [], []
    for t in range(pos[0], T):
        if t > pos[0]:
            for i in range(N):
                if h[i] == 0:
                    continue
                if closed[i]:
                    h[i] *= 1.0 + cash_daily[t]
                elif (t - 1, i) in ends:
                    h[i] *= 1.0 + ends[(t - 1, i)]
                    closed[i] = True
                else:
                    g = P[t, i] / P[t - 1, i]
                    h[i] *= 1.0 if np.isnan(g) else g
            cash *= 1.0 + cash_daily[t]
        if t in pos:
            w = W[list(pos).index(t)]
            cash += h[closed].sum()
            h[closed] = 0.0
            closed[:] = False
            V = h.sum() + cash
            x = V
            for _ in range(200):
                x = V - bps / 1e4 * np.abs(w * x - h).sum()
            h = w * x
            cash = x - h.sum()
        v = h.sum() + cash
        values.append(v)
        cashw.append((cash + h[closed].sum()) / v)
    return np.array(values), np.array(cashw)


@pytest.mark.parametrize("bps, rate", [(0.0, 0.0), (10.0, 0.05), (50.0, 0.02)])
def test_lanes_with_costs_and_cash_against_the_events_reference(bps, rate):
    rng = np.random.default_rng(11)
    T, N = 80, 4
    P = 50 * np.cumprod(1 + rng.normal(0.0005, 0.02, (T, N)), axis=0)
    # column 0: lives [0, 20], [35, 60]; column 2: [10, 50] then [65, end]; column 3 has a raw gap
    P[21:35, 0] = NAN
    P[61:, 0] = NAN
    P[:10, 2] = NAN
    P[51:65, 2] = NAN
    P[44, 3] = NAN
    exits = Exits(row=[20, 60, 50], col=[0, 0, 2], ret=[-0.4, 0.2, -0.9])
    data = _data(P, exits)
    pos = np.array([5, 15, 20, 30, 40, 55, 58, 70])
    raw = rng.uniform(0.1, 1.0, (len(pos), N))
    raw[np.isnan(P[pos])] = 0.0
    W = raw / raw.sum(axis=1, keepdims=True) * 0.9
    res = Simulation(data, pos, costs=bps, cash_rate=rate).run(W)
    ref_v, ref_c = events_reference(P, W, pos, exits, bps=bps, cash_daily=res.cash_daily)
    np.testing.assert_allclose(res.value.to_numpy(), ref_v, rtol=1e-11)
    np.testing.assert_allclose(res.cash.to_numpy(), ref_c, rtol=1e-11, atol=1e-15)


def test_a_lane_rebought_on_the_last_rebalance_after_an_exit_in_the_period_before():
    # column 0: life A exits on row 6 (inside the period from row 5), life B is bought on row
    # 12, the last rebalance: A's exit must not touch B's position
    P, exits = two_lives()
    P = P.copy()
    P[4, 0], P[5, 0], P[6, 0] = 13.0, 13.5, 14.0
    exits = Exits(row=[6], col=[0], ret=[-0.5])
    P[7:10, 0] = NAN
    data = _data(P, exits)
    W = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    pos = np.array([0, 5, 12])
    res = Simulation(data, pos, costs=10.0, cash_rate=0.03).run(W)
    ref_v, ref_c = events_reference(P, W, pos, exits, bps=10.0, cash_daily=res.cash_daily)
    np.testing.assert_allclose(res.value.to_numpy(), ref_v, rtol=1e-12)
    np.testing.assert_allclose(res.cash.to_numpy(), ref_c, rtol=1e-12, atol=1e-15)
    # after row 12 the book holds B and column 1 only: no cash
    assert res.cash.iloc[-1] == 0.0


def test_two_lives_of_a_column_ending_in_one_period_close_the_position_once():
    # column 0: life A exits on row 3 (-50%), life B lists on row 6 and exits on row 8 (+100%),
    # both inside the period from row 0 to row 12; only A was held, so only A's exit counts
    a = [10.0, 11.0, 12.0, 12.5, NAN, NAN, 30.0, 31.0, 32.0, NAN, NAN, NAN, NAN, NAN]
    c = [100.0 + t for t in range(14)]
    P = np.column_stack([a, c])
    exits = Exits(row=[3, 8], col=[0, 0], ret=[-0.5, 1.0])
    data = _data(P, exits)
    W = np.array([[0.6, 0.4], [0.0, 1.0]])
    pos = np.array([0, 12])
    res = Simulation(data, pos, costs=20.0, cash_rate=0.02).run(W)
    ref_v, ref_c = events_reference(P, W, pos, exits, bps=20.0, cash_daily=res.cash_daily)
    np.testing.assert_allclose(res.value.to_numpy(), ref_v, rtol=1e-12)
    np.testing.assert_allclose(res.cash.to_numpy(), ref_c, rtol=1e-12, atol=1e-15)
    # row 12: A's proceeds (cash by now) are swept, not sold: the only trade is buying column
    # 1 up to the post-cost value x, so the cost is 20 bps of (x - its holding before)
    v11, cash11 = ref_v[11], ref_c[11] * ref_v[11]
    held_c = (v11 - cash11) * 112.0 / 111.0
    pre = cash11 * (1.0 + res.cash_daily[12]) + held_c
    x = res.value.iloc[12]
    assert res.costs.iloc[1] * pre == pytest.approx(0.002 * (x - held_c), rel=1e-9)


def test_back_to_back_lives_in_one_column_close_the_first_only():
    # column 0: life A on rows 0-3 (exits, -50%), life B from row 4 with no empty row between
    # (the engine does not need the lanes' gap); A is held from row 0 to row 9, B never
    a = [10.0, 11.0, 12.0, 12.5, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0]
    c = [100.0 + t for t in range(11)]
    P = np.column_stack([a, c])
    exits = Exits(row=[3, 7], col=[0, 0], ret=[-0.5, 0.3])
    data = _data(P, exits)
    W = np.array([[0.6, 0.4], [0.5, 0.5]])
    pos = np.array([0, 9])
    res = Simulation(data, pos, costs=10.0, cash_rate=0.02).run(W)
    ref_v, ref_c = events_reference(P, W, pos, exits, bps=10.0, cash_daily=res.cash_daily)
    np.testing.assert_allclose(res.value.to_numpy(), ref_v, rtol=1e-12)
    np.testing.assert_allclose(res.cash.to_numpy(), ref_c, rtol=1e-12, atol=1e-15)


def test_one_exit_per_column_and_period_is_kept_across_three_events():
    # three exits: column 0 in the first period (row 2), then two lives of column 1 ending in
    # the second period (X on row 7, held; Y on row 12, never held). Only X's exit may close
    # column 1's position: Y's +100% must not touch it.
    a = [10.0, 11.0, 12.0] + [NAN] * 17
    x = [20.0 + t for t in range(8)] + [NAN, NAN] + [30.0, 31.0, 32.0] + [NAN] * 7
    c = [100.0 + t for t in range(20)]
    P = np.column_stack([a, x, c])
    exits = Exits(row=[2, 7, 12], col=[0, 1, 1], ret=[-0.5, -0.2, 1.0])
    data = _data(P, exits)
    W = np.array([[0.3, 0.3, 0.4], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    pos = np.array([0, 5, 19])
    res = Simulation(data, pos, costs=10.0, cash_rate=0.01).run(W)
    ref_v, ref_c = events_reference(P, W, pos, exits, bps=10.0, cash_daily=res.cash_daily)
    np.testing.assert_allclose(res.value.to_numpy(), ref_v, rtol=1e-12)
    np.testing.assert_allclose(res.cash.to_numpy(), ref_c, rtol=1e-12, atol=1e-15)
    # by hand, without costs or cash rate: X held from row 5 (value v5 / 2) grows to 27/25 by
    # row 7 and loses 20% on delisting; the rest follows column 2
    free = Simulation(data, pos, costs=0.0).run(W).value.to_numpy()
    v5 = 0.3 * 12.0 / 10.0 * 0.5 + 0.3 * 25.0 / 20.0 + 0.4 * 105.0 / 100.0
    assert free[5] == pytest.approx(v5, rel=1e-14)
    x_cash = v5 / 2 * 27.0 / 25.0 * 0.8
    assert free[18] == pytest.approx(x_cash + v5 / 2 * 118.0 / 105.0, rel=1e-14)

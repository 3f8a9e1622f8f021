"""The engine on lane-packed prices: a column's next occupant never counts for the last one's book.

Hand-built: A lists on day 0 and delists on day 6 (delisting return -50%), B takes its
lane after the gap and rises; a book holding A from day 0 and never rebalancing must end
with A's last value times 0.5 in cash, whatever B does (dense reference: the same market
with one column per security), and Brinson's period returns must agree too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import PriceData
from broadening.backtest.brinson import held_period_returns
from broadening.backtest.engine import Simulation
from broadening.backtest.prices import growth_block
from broadening.market import Market


def tables():
    dates = pd.bdate_range("2024-01-01", periods=20)
    rows = []
    for t in range(20):
        rows.append(("C", dates[t], 10.0 + t, 10.0 + t, 1.0))  # alive throughout
    for t in range(7):
        rows.append(("A", dates[t], 100.0 + t, 100.0 + t, 1.0))
    for t in range(11, 20):
        rows.append(("B", dates[t], 5.0 * (t - 9), 5.0 * (t - 9), 1.0))
    sec = pd.DataFrame({"security_id": ["A", "B", "C"], "ticker": ["A", "B", "C"],
                        "last_date": [dates[6], pd.NaT, pd.NaT], "delisting_return": [-0.5, np.nan, np.nan]})
    return {
        "securities": sec,
        "prices": pd.DataFrame(rows, columns=["security_id", "date", "close", "total_return_index", "volume"]),
        "shares": pd.DataFrame({"security_id": ["A", "B", "C"], "date": dates[0], "shares_outstanding": 1.0}),
    }


@pytest.mark.parametrize("positions", [[0], [0, 3], [0, 15]])
def test_next_occupant_is_not_held(positions):
    dense = Market.from_tables(tables(), layout="dense")
    lanes = Market.from_tables(tables(), layout="lanes", gap=3)
    assert lanes.shape[1] == 2 and lanes.lane[0] == lanes.lane[1]  # A then B share a lane
    pos = np.array(positions)
    Wd = np.zeros((len(pos), 3))
    Wd[:, 0], Wd[:, 2] = 0.6, 0.4
    if len(pos) > 1 and pos[1] > 6:
        Wd[1] = [0.0, 0.5, 0.5]  # after A is gone: B and C
    Wl = np.zeros((len(pos), 2))
    for r, p in enumerate(pos):
        occ = lanes.occupant[p]
        for c in range(2):
            if occ[c] >= 0:
                Wl[r, c] = Wd[r, occ[c]]
    rd = Simulation(PriceData.from_market(dense), pos, costs=10.0).run(Wd, record=np.arange(20))
    rl = Simulation(PriceData.from_market(lanes), pos, costs=10.0).run(Wl, record=np.arange(20))
    np.testing.assert_allclose(rl.value.to_numpy(), rd.value.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(rl.cash.to_numpy(), rd.cash.to_numpy(), rtol=1e-12, atol=1e-15)
    # recorded weights, per security: after day 6 A's lane holds nothing of this book
    for day in rd.recorded.index:
        t = int(np.searchsorted(dense.dates, np.datetime64(day.date())))
        occ = lanes.occupant[t]
        got = {int(occ[c]): rl.recorded.loc[day].iloc[c] for c in range(2) if occ[c] >= 0}
        for s, w in got.items():
            assert w == pytest.approx(rd.recorded.loc[day].iloc[s], abs=1e-12)
    if positions == [0]:
        # by hand: A's 0.6 bought at 100 is worth 0.6 * 106/100 on day 6, then halves into cash
        v6 = 0.6 * 1.06 + 0.4 * 16 / 10
        assert rd.value.iloc[-1] == pytest.approx((0.6 * 1.06 * 0.5 + 0.4 * 29 / 10) * rd.value.iloc[0] / 1.0, rel=1e-12)
        assert rd.value.iloc[6] == pytest.approx(v6 * rd.value.iloc[0], rel=1e-12)
        pd_, pl = PriceData.from_market(dense), PriceData.from_market(lanes)
        gd = growth_block(pd_, np.zeros(20), 0, 19, np.array([0]))
        gl = growth_block(pl, np.zeros(20), 0, 19, np.array([int(lanes.lane[0])]))
        np.testing.assert_allclose(gl, gd, rtol=1e-14)
        hd = held_period_returns(rd, rd, pd_)
        hl = held_period_returns(rl, rl, pl)
        assert hl[0][0][int(lanes.lane[0])] == pytest.approx(hd[0][0][0], rel=1e-14)
        assert hd[0][0][0] == pytest.approx(1.06 * 0.5 - 1.0, rel=1e-12)


def test_exits_of_a_packed_market():
    lanes = Market.from_tables(tables(), layout="lanes", gap=3)
    a = int(lanes.lane[0])
    p = PriceData.from_market(lanes)
    # one exit: A's last price on day 6 with its -50%; B and C run to the end (no exit)
    assert p.exits.row.tolist() == [6] and p.exits.col.tolist() == [a] and p.exits.ret.tolist() == [-0.5]
    assert p.closing(0, 10)[0].tolist() == [a]
    assert p.closing(7, 19)[0].tolist() == []
    # a cut to C's column only has no exit; to A's lane, the same one renumbered
    assert len(PriceData.from_market(lanes, cols=np.array([1 - a])).exits.row) == 0
    sub = PriceData.from_market(lanes, cols=np.array([a]))
    assert sub.exits.col.tolist() == [0] and sub.exits.row.tolist() == [6]

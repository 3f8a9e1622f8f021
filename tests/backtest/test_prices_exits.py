"""Exit events of PriceData: one column may hold several lives one after another (a lane);
each life that ends before the last row is one event (by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.backtest.prices import Exits, PriceData, growth_block

NAN = np.nan


def two_lives() -> tuple[np.ndarray, Exits]:
    """Column 0: life A on rows 0-4 (exits at row 4, -50% on delisting), empty rows 5-9,
    life B from row 10 on. Column 1: one life, 100 + t on row t."""
    a = [10.0, 11.0, 12.0, 12.0, 13.0, NAN, NAN, NAN, NAN, NAN, 20.0, 21.0, 22.0, 23.0, 24.0]
    c = [100.0 + t for t in range(15)]
    return np.column_stack([a, c]), Exits(row=[4], col=[0], ret=[-0.5])


def _data(P, exits):
    base = PriceData.from_prices(P)
    return PriceData(dates=base.dates, ids=base.ids, prices=P, exits=exits)


def test_exits_sort_and_summarise_per_column():
    ex = Exits(row=[9, 4, 4], col=[1, 2, 0], ret=[0.1, NAN, -0.5])
    assert ex.row.tolist() == [4, 4, 9] and ex.col.tolist() == [0, 2, 1]
    assert ex.ret.tolist() == [-0.5, 0.0, 0.1]  # an unknown delisting return counts as 0
    with pytest.raises(ValueError, match="differ in length"):
        Exits(row=[1, 2], col=[0], ret=[0.0])
    # one life per column: an event for each column whose last price is before the last row
    one = Exits.from_last_index(np.array([9, 3, -1, 5]), np.array([0.0, -0.2, 0.3, 0.4]), 10)
    assert (one.row.tolist(), one.col.tolist(), one.ret.tolist()) == ([3, 5], [1, 3], [-0.2, 0.4])
    # the first exit per column in [a, b)
    lane = Exits(row=[2, 6, 8, 3], col=[0, 0, 0, 1], ret=[-0.1, -0.2, -0.3, 0.5])
    cols, rows, rets = lane.first_between(3, 9)
    assert (cols.tolist(), rows.tolist(), rets.tolist()) == ([0, 1], [6, 3], [-0.2, 0.5])
    assert [len(x) for x in lane.first_between(9, 20)] == [0, 0, 0]
    # the events of a column subset, renumbered (column 1 first, then column 0)
    sub = lane.take(np.array([1, 0]), 3)
    assert (sub.row.tolist(), sub.col.tolist(), sub.ret.tolist()) == ([2, 3, 6, 8], [1, 0, 1, 1], [-0.1, 0.5, -0.2, -0.3])


def test_price_data_keeps_the_one_life_constructor_and_derives_summaries_from_events():
    P, exits = two_lives()
    data = _data(P, exits)
    # last price of the column (life B runs to the end); its delisting return is its last exit's
    assert data.last_index.tolist() == [14, 14]
    assert data.delisting_return.tolist() == [-0.5, 0.0]
    # the per-column form builds the events it implies
    old = PriceData.from_prices(np.array([[1.0, 2.0], [1.1, NAN], [1.2, NAN]]), delisting_return=np.array([0.0, -0.3]))
    assert (old.exits.row.tolist(), old.exits.col.tolist(), old.exits.ret.tolist()) == ([0], [1], [-0.3])
    # closing() maps exits to the columns asked for
    where, rows, rets = data.closing(0, 7, np.array([1, 0]))
    assert (where.tolist(), rows.tolist(), rets.tolist()) == ([1], [4], [-0.5])
    assert len(data.closing(5, 14)[0]) == 0  # life B never exits


def test_growth_of_a_lane_stops_at_the_exit_and_ignores_the_next_life():
    P, exits = two_lives()
    data = _data(P, exits)
    cash = np.full(15, 0.01)
    g = growth_block(data, cash, 2, 12, np.array([0]))[:, 0]
    # rows 3, 4: 12/12, 13/12; row 5: x 0.5; then cash, also over life B's rows 10-12
    expect = [1.0, 13 / 12, 13 / 24] + [13 / 24 * 1.01 ** k for k in range(1, 8)]
    np.testing.assert_allclose(g, expect, rtol=1e-14)

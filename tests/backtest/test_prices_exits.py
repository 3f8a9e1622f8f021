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


def test_exits_take_any_array_like_and_store_int_rows_and_float_returns():
    # scalars and float rows (as read from a table) become one event with integer positions
    ex = Exits(row=4.0, col=1.0, ret=2)
    assert ex.row.dtype == np.int64 and ex.col.dtype == np.int64 and ex.ret.dtype == np.float64
    assert (ex.row.tolist(), ex.col.tolist(), ex.ret.tolist()) == ([4], [1], [2.0])
    one = Exits.from_last_index(np.array([8.0, 9.0]), np.array([1, 0]), 10)
    # a life ending on the second-to-last row is an exit; one ending on the last row is not
    assert (one.row.tolist(), one.col.tolist(), one.ret.tolist()) == ([8], [0], [1.0])
    assert one.row.dtype == np.int64 and one.ret.dtype == np.float64


def test_exits_take_drops_columns_not_asked_for():
    lane = Exits(row=[2, 3, 6], col=[0, 1, 2], ret=[-0.1, 0.5, -0.2])
    sub = lane.take(np.array([2, 0]), 3)  # column 1 is not asked for
    assert (sub.row.tolist(), sub.col.tolist(), sub.ret.tolist()) == ([2, 6], [1, 0], [-0.1, -0.2])


def test_closing_maps_several_exits_to_the_order_of_the_columns_asked_for():
    P = np.full((10, 3), 1.0)
    base = PriceData.from_prices(P)
    data = PriceData(dates=base.dates, ids=base.ids, prices=P,
                     exits=Exits(row=[5, 3, 7], col=[0, 2, 1], ret=[-0.1, -0.3, -0.2]))
    where, rows, rets = data.closing(2, 9, np.array([2, 1, 0]))
    # column 2 is first in cols, then 1, then 0
    assert (where.tolist(), rows.tolist(), rets.tolist()) == ([0, 1, 2], [3, 7, 5], [-0.3, -0.2, -0.1])
    where, rows, _ = data.closing(4, 9, np.array([0, 2]))  # column 2's exit (row 3) is before t0
    assert (where.tolist(), rows.tolist()) == ([0], [5])


def test_per_column_form_without_delisting_returns_builds_exits_of_zero_return():
    P = np.array([[1.0, 2.0, 3.0], [1.1, NAN, 3.0], [1.2, NAN, NAN]])
    base = PriceData.from_prices(P)
    data = PriceData(dates=base.dates, ids=base.ids, prices=P, last_index=np.array([2, 0, 1]))
    assert (data.exits.row.tolist(), data.exits.col.tolist(), data.exits.ret.tolist()) == ([0, 1], [1, 2], [0.0, 0.0])
    assert data.delisting_return.tolist() == [0.0, 0.0, 0.0]
    # neither given: the last prices are read from the panel
    bare = PriceData(dates=base.dates, ids=base.ids, prices=P)
    assert bare.last_index.tolist() == [2, 0, 1] and bare.exits.row.tolist() == [0, 1]


def test_growth_block_of_columns_in_another_order():
    prices = np.array([[10.0, 5.0, 1.0], [12.0, 5.5, 1.0], [NAN, 6.05, 2.0], [NAN, 6.05, 2.0]])
    data = PriceData.from_prices(prices, delisting_return=np.array([-0.5, 0.0, 0.0]))
    cash = np.zeros(4)
    g = growth_block(data, cash, 0, 3, np.array([1, 0]))
    # column 1 first: 1.1, 1.21, 1.21; column 0: 1.2, then x 0.5 the day after its last price, then cash
    np.testing.assert_allclose(g, [[1.1, 1.2], [1.21, 0.6], [1.21, 0.6]], rtol=1e-14)

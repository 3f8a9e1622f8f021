"""Price panels for the engine: listing/delisting bookkeeping, daily growth, delisting growth, cash returns
(every expected value computed by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.backtest.prices import PriceData, cash_returns, daily_growth, growth_block

NAN = np.nan


def test_from_prices_frame_keeps_dates_ids_and_finds_last_prices():
    idx = pd.bdate_range("2024-01-01", periods=4)
    df = pd.DataFrame({"A": [1.0, 2.0, 3.0, 4.0], "B": [10.0, 11.0, NAN, NAN], "C": [NAN, NAN, NAN, NAN]}, index=idx)
    p = PriceData.from_prices(df, delisting_return=np.array([0.0, -0.5, NAN]))
    assert list(p.ids) == ["A", "B", "C"]
    assert p.dates[0] == np.datetime64("2024-01-01") and p.dates[-1] == np.datetime64("2024-01-04")
    # A trades to the end (row 3), B last priced on row 1, C never priced (-1)
    assert p.last_index.tolist() == [3, 1, -1]
    # a missing delisting return counts as 0
    assert p.delisting_return.tolist() == [0.0, -0.5, 0.0]


def test_from_prices_array_defaults_dates_and_ids():
    p = PriceData.from_prices(np.array([[1.0, 2.0], [1.5, 2.5], [1.5, 3.0]]))
    assert list(p.ids) == ["s0", "s1"]
    # business days from Monday 2000-01-03
    assert p.dates.tolist() == [np.datetime64("2000-01-03"), np.datetime64("2000-01-04"), np.datetime64("2000-01-05")]
    assert p.last_index.tolist() == [2, 2]
    assert p.delisting_return.tolist() == [0.0, 0.0]


PRICES = np.array([[10.0, NAN], [11.0, 20.0], [NAN, 22.0], [12.1, 11.0]])


def test_daily_growth_from_the_first_row_starts_at_one_and_fills_unknowns():
    g = daily_growth(PRICES, 0, 4)
    # row 0 has no prior price; a NaN on either side is a growth of 1
    assert g == pytest.approx(np.array([[1.0, 1.0], [1.1, 1.0], [1.0, 1.1], [1.0, 0.5]]))


def test_daily_growth_of_a_later_window_and_selected_columns():
    assert daily_growth(PRICES, 2, 4, cols=np.array([1])) == pytest.approx(np.array([[1.1], [0.5]]))
    assert daily_growth(PRICES, 1, 2).shape == (1, 2)
    assert daily_growth(PRICES, 1, 2) == pytest.approx(np.array([[1.1, 1.0]]))


def test_growth_block_applies_the_delisting_return_then_the_cash_rate():
    # A last priced on row 1 (delisted, -20% on delisting), B trades throughout
    prices = np.array([[10.0, 5.0], [12.0, 5.5], [NAN, 6.05], [NAN, 6.05], [NAN, 5.445]])
    data = PriceData.from_prices(prices, delisting_return=np.array([-0.2, 0.0]))
    cash = np.full(5, 0.01)
    g = growth_block(data, cash, 0, 4)
    # A: 1.2, then 1.2 * 0.8 = 0.96, then 0.96 * 1.01 twice; B: 1.1, 1.21, 1.21, 1.089
    expect = np.array([[1.2, 1.1], [0.96, 1.21], [0.96 * 1.01, 1.21], [0.96 * 1.01 ** 2, 1.089]])
    assert g == pytest.approx(expect)
    # the same on the column subset, and a window after the delisting ignores it (already cash)
    assert growth_block(data, cash, 0, 4, cols=np.array([0]))[:, 0] == pytest.approx(expect[:, 0])
    assert growth_block(data, cash, 2, 4)[:, 0] == pytest.approx([1.0, 1.0])


def test_cash_returns_scalar_compounds_over_252_days():
    d = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    r = cash_returns(0.05, d)
    assert r.shape == (2,)
    assert (1 + r[0]) ** 252 == pytest.approx(1.05)


def test_cash_returns_series_is_read_as_of_each_date():
    d = np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    s = pd.Series([0.001, 0.002], index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"]))
    # nothing known on 2024-01-01 -> 0
    assert cash_returns(s, d).tolist() == [0.0, 0.001, 0.002]
    s2 = pd.Series([0.003], index=pd.DatetimeIndex(["2023-12-29"]))
    assert cash_returns(s2, d).tolist() == [0.003, 0.003, 0.003]


def test_cash_returns_daily_array_is_taken_as_is_or_refused_with_the_shape():
    d = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    assert cash_returns(np.array([0.001, 0.002]), d).tolist() == [0.001, 0.002]
    with pytest.raises(ValueError, match=r"shape \(2,\), got \(3,\)"):
        cash_returns(np.zeros(3), d)


def test_last_price_rows_over_several_row_blocks():
    from broadening.backtest.prices import last_price_rows

    # 4,096 columns without a last price: the scan reads blocks of 16 rows from the end (49 rows:
    # blocks 33-48, 17-32, 1-16, then row 0 alone), dropping each column once found
    T, N = 49, 4096
    P = np.full((T, N), NAN)
    last = np.arange(N) % (T - 1)  # every row but the last, each many times
    P[last, np.arange(N)] = 1.0
    P[0, :7] = 2.0  # a price on row 0 and a later one: the later counts
    P[:, 7] = NAN  # never priced
    expect = last.copy()
    expect[7] = -1
    got = last_price_rows(P)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expect)
    only_first = np.full((T, 2), NAN)
    only_first[0, 0] = 1.0
    only_first[:, 1] = 1.0
    assert last_price_rows(only_first).tolist() == [0, T - 1]
    # a column that stops on the row before the last
    assert last_price_rows(np.array([[1.0, 1.0], [1.0, 1.0], [1.0, NAN]])).tolist() == [2, 1]


def test_from_prices_frame_with_given_dates_ids_and_integer_inputs():
    idx = pd.bdate_range("2024-01-01", periods=3)
    df = pd.DataFrame({"A": [1, 2, 3], "B": [4, 5, 6]}, index=idx)
    dates = pd.bdate_range("2025-06-02", periods=3)
    caps = np.ones((3, 2))
    p = PriceData.from_prices(df, dates=dates, ids=["x", "y"], delisting_return=np.array([0, 1]), market_cap=caps)
    # what is given wins over the frame's own labels
    assert list(p.ids) == ["x", "y"] and p.dates[0] == np.datetime64("2025-06-02")
    assert p.prices.dtype == np.float64 and p.delisting_return.dtype == np.float64
    assert p.market_cap is caps
    assert p.last_index.tolist() == [2, 2] and len(p.exits.row) == 0


def test_daily_growth_of_an_empty_and_a_one_row_window():
    assert daily_growth(PRICES, 0, 0).shape == (0, 2)
    assert daily_growth(PRICES, 0, 1).tolist() == [[1.0, 1.0]]


def test_cash_returns_keep_float_from_integer_inputs():
    d = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    s = pd.Series([0, 0], index=pd.DatetimeIndex(d))
    assert cash_returns(s, d).dtype == np.float64
    assert cash_returns(np.array([0, 1]), d).dtype == np.float64


def test_from_market_reads_prices_lives_delisting_returns_and_caps(make_market):
    # B stops after two days with a -30% delisting return; C never has one recorded
    m = make_market({"A": [10, 11, 12, 13], "B": [5, 6, None, None], "C": [2, 2, 3, 3]},
                    shares={"A": 2.0, "B": 1.0, "C": 3.0}, securities={"B": {"delisting_return": -0.3}})
    p = PriceData.from_market(m)
    assert list(p.ids) == ["A", "B", "C"]
    assert p.last_index.tolist() == [3, 1, 3]
    assert p.delisting_return.tolist() == [0.0, -0.3, 0.0]
    assert (p.exits.row.tolist(), p.exits.col.tolist(), p.exits.ret.tolist()) == ([1], [1], [-0.3])
    np.testing.assert_array_equal(p.prices, m.total_return_index)
    np.testing.assert_array_equal(p.market_cap, m.market_cap)
    assert p.market_cap[0].tolist() == [20.0, 5.0, 6.0]
    # a column subset, in the order asked for, rows kept contiguous
    sub = PriceData.from_market(m, cols=np.array([2, 1]))
    assert list(sub.ids) == ["C", "B"]
    assert sub.last_index.tolist() == [3, 1] and sub.delisting_return.tolist() == [0.0, -0.3]
    assert (sub.exits.row.tolist(), sub.exits.col.tolist()) == ([1], [1])
    np.testing.assert_array_equal(sub.prices, m.total_return_index[:, [2, 1]])
    np.testing.assert_array_equal(sub.market_cap, m.market_cap[:, [2, 1]])
    assert sub.prices.flags.c_contiguous and sub.market_cap.flags.c_contiguous
    assert (sub.dates == m.dates).all()


def test_from_market_without_a_delisting_return_column(make_market):
    m = make_market({"A": [10, 11, 12], "B": [5, None, None]})
    m.securities = m.securities.drop(columns=["delisting_return"], errors="ignore")
    p = PriceData.from_market(m)
    assert p.delisting_return.tolist() == [0.0, 0.0] and p.exits.row.tolist() == [0]


def _lane_tables():
    """A (days 0-6, -50% on delisting) then B (days 11-18, +10%) share a lane; C lives throughout."""
    from broadening.market import Market

    dates = pd.bdate_range("2024-01-01", periods=20)
    rows = [("C", dates[t], 10.0 + t, 10.0 + t, 1.0) for t in range(20)]
    rows += [("A", dates[t], 100.0 + t, 100.0 + t, 1.0) for t in range(7)]
    rows += [("B", dates[t], 5.0 * (t - 9), 5.0 * (t - 9), 1.0) for t in range(11, 19)]  # B stops on row 18
    sec = pd.DataFrame({"security_id": ["A", "B", "C"], "ticker": ["A", "B", "C"],
                        "last_date": [dates[6], dates[18], pd.NaT], "delisting_return": [-0.5, 0.1, np.nan]})
    tables = {
        "securities": sec,
        "prices": pd.DataFrame(rows, columns=["security_id", "date", "close", "total_return_index", "volume"]),
        "shares": pd.DataFrame({"security_id": ["A", "B", "C"], "date": dates[0], "shares_outstanding": 2.0}),
    }
    return Market.from_tables(tables, layout="lanes", gap=3)


def test_from_market_of_a_lane_packed_market_gives_one_exit_per_life():
    m = _lane_tables()
    assert m.packed and m.shape[1] == 2
    lane_a = int(m.lane[0])
    p = PriceData.from_market(m)
    # A's life ends on row 6 in its lane, B's (the same lane, later) on the second-to-last row;
    # C runs to the end
    assert (p.exits.row.tolist(), p.exits.col.tolist(), p.exits.ret.tolist()) == ([6, 18], [lane_a, lane_a], [-0.5, 0.1])
    np.testing.assert_array_equal(p.prices, m.total_return_index)
    np.testing.assert_array_equal(p.market_cap, m.market_cap)
    assert list(p.ids) == list(m.ids) and (p.dates == m.dates).all()
    # one lane asked for: the other's lives are dropped, this one renumbered to 0
    other = 1 - lane_a
    sub = PriceData.from_market(m, cols=np.array([other]))
    assert len(sub.exits.row) == 0 and list(sub.ids) == [m.ids[other]]
    np.testing.assert_array_equal(sub.prices[:, 0], m.total_return_index[:, other])
    np.testing.assert_array_equal(sub.market_cap[:, 0], m.market_cap[:, other])
    both = PriceData.from_market(m, cols=np.array([other, lane_a]))
    assert (both.exits.row.tolist(), both.exits.col.tolist()) == ([6, 18], [1, 1])

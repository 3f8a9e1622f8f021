"""Market panels: alignment, market cap, point-in-time fundamentals and membership."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadening.errors import EmptyWarehouseError
from broadening.market import Market, load_market
from broadening.warehouse import Warehouse


def test_panels_are_aligned_and_cap_is_close_times_shares(make_market):
    m = make_market({"B": [20, 21, 22], "A": [10, 11, 12]}, shares={"A": 100, "B": 7})
    assert list(m.ids) == ["A", "B"]
    assert m.shape == (3, 2)
    np.testing.assert_allclose(m.market_cap[:, 0], [1000, 1100, 1200])
    np.testing.assert_allclose(m.market_cap[:, 1], [140, 147, 154])
    np.testing.assert_allclose(m.returns[1:, 0], [0.1, 1 / 11])
    assert np.isnan(m.returns[0]).all()


def test_shares_change_takes_effect_on_its_date(make_tables):
    t = make_tables({"A": [10, 10, 10, 10]}, shares={"A": 100})
    t["shares"] = pd.concat([t["shares"], pd.DataFrame({"security_id": ["A"], "date": ["2024-01-03"], "shares_outstanding": [300]})])
    m = Market.from_tables(t)
    np.testing.assert_allclose(m.market_cap[:, 0], [1000, 1000, 3000, 3000])


def test_split_keeps_cap_continuous(make_tables):
    # a 2:1 split on day 3: close halves, shares double, total return index is continuous
    t = make_tables({"A": [100, 102, 51, 52]}, tri={"A": [100, 102, 102, 104]}, shares={"A": 10})
    t["shares"] = pd.concat([t["shares"], pd.DataFrame({"security_id": ["A"], "date": ["2024-01-03"], "shares_outstanding": [20]})])
    m = Market.from_tables(t)
    np.testing.assert_allclose(m.market_cap[:, 0], [1000, 1020, 1020, 1040])
    np.testing.assert_allclose(m.returns[2, 0], 0.0)


def test_fundamental_invisible_before_available_date(make_market):
    m = make_market(
        {"A": [10] * 6},
        fundamentals=[
            {"security_id": "A", "period_end": "2023-12-29", "available_date": "2024-01-03", "eps": 1.0},
            {"security_id": "A", "period_end": "2024-01-02", "available_date": "2024-01-06", "eps": 2.0},
        ],
    )
    eps = m.fundamental("eps")[:, 0]
    # 2024-01-01 Mon .. 2024-01-08 Mon; the second row's available_date is a Saturday
    np.testing.assert_array_equal(eps, [np.nan, np.nan, 1.0, 1.0, 1.0, 2.0])


def test_late_filing_of_an_older_quarter_never_overwrites_a_newer_one(make_market):
    m = make_market(
        {"A": [10] * 5},
        fundamentals=[
            {"security_id": "A", "period_end": "2023-12-31", "available_date": "2024-01-02", "eps": 2.0},
            {"security_id": "A", "period_end": "2023-09-30", "available_date": "2024-01-04", "eps": 1.0},
        ],
    )
    np.testing.assert_array_equal(m.fundamental("eps")[:, 0], [np.nan, 2.0, 2.0, 2.0, 2.0])


def test_ttm_sums_four_consecutive_quarters(make_market):
    q = ["2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31"]
    rows = [
        {"security_id": "A", "period_end": pe, "available_date": av, "net_income": v, "book_equity": 50.0 + v}
        for pe, av, v in zip(q, ["2023-05-01", "2023-08-01", "2023-11-01", "2024-01-03"], [1.0, 2.0, 3.0, 4.0], strict=True)
    ]
    m = make_market({"A": [10] * 4}, fundamentals=rows)
    ttm = m.fundamental("net_income", ttm=True)[:, 0]
    np.testing.assert_array_equal(ttm, [np.nan, np.nan, 10.0, 10.0])
    np.testing.assert_array_equal(m.fundamental("net_income")[:, 0], [3.0, 3.0, 4.0, 4.0])
    # balance-sheet stocks are never summed
    np.testing.assert_array_equal(m.fundamental("book_equity", ttm=True)[:, 0], [53.0, 53.0, 54.0, 54.0])


def test_ttm_needs_consecutive_quarters(make_market):
    q = ["2022-03-31", "2023-06-30", "2023-09-30", "2023-12-31"]
    rows = [{"security_id": "A", "period_end": pe, "available_date": "2023-12-31", "eps": 1.0} for pe in q]
    m = make_market({"A": [10] * 2}, fundamentals=rows)
    assert np.isnan(m.fundamental("eps", ttm=True)).all()


def test_membership_mask_end_exclusive(make_market):
    m = make_market(
        {"A": [1, 1, 1, 1], "B": [1, 1, 1, 1]},
        membership=[
            {"index_id": "sp500", "security_id": "A", "start": "2024-01-02", "end": "2024-01-04"},
            {"index_id": "sp500", "security_id": "B", "start": "2023-01-01", "end": None},
            {"index_id": "smallmid", "security_id": "A", "start": "2024-01-04", "end": None},
        ],
    )
    np.testing.assert_array_equal(m.members("sp500")[:, 0], [False, True, True, False])
    np.testing.assert_array_equal(m.members("sp500")[:, 1], [True] * 4)
    np.testing.assert_array_equal(m.members("smallmid")[:, 0], [False, False, False, True])
    with pytest.raises(EmptyWarehouseError, match="no membership stored for index 'nope'"):
        m.members("nope")


def test_delisted_security_stays_with_its_history(make_market):
    m = make_market({"A": [1, 2, 3, 4], "D": [5, 4, None, None]}, securities={"D": {"last_date": "2024-01-02", "delisting_return": -0.3}})
    assert list(m.delisted) == [False, True]
    assert m.last_index.tolist() == [3, 1]
    assert not m.alive[2:, 1].any()
    assert m.securities.loc["D", "delisting_return"] == -0.3
    # as of the day before it is known, the delisting is hidden
    early = m.until("2024-01-01")
    assert pd.isna(early.securities.loc["D", "delisting_return"])


def test_gaps_are_carried_and_counted(make_market):
    m = make_market({"A": [10, None, 12], "B": [1, 1, 1]})
    assert m.close[1, 0] == 10 and m.returns[1, 0] == 0.0
    assert m.drops["price_gaps_carried"] == 1


@pytest.mark.parametrize("layout", ["dense", "lanes"])
def test_volume_is_loaded_only_when_asked(make_tables, layout):
    # no computation reads volume: by default it is not loaded (a float panel less, #16)
    tables = make_tables({"A": [10, None, 12, None, None, None], "B": [None] * 5 + [3], "C": [1] * 6})
    tables["prices"]["volume"] = np.arange(len(tables["prices"]), dtype=float) * 100.0  # A: 0, 100; B: 200
    plain = Market.from_tables(tables, layout=layout, gap=1)
    assert plain.volume is None and plain.until("2024-01-03").volume is None
    m = Market.from_tables(tables, layout=layout, gap=1, volume=True)
    assert m.shape == (6, 2 if layout == "lanes" else 3)
    col_a, col_b = m.columns[0], m.columns[1]
    assert (col_a == col_b) == (layout == "lanes")  # B listed after A's delisting takes A's lane
    np.testing.assert_array_equal(m.volume[:3, col_a], [0.0, np.nan, 100.0])  # the carried day traded nothing
    np.testing.assert_array_equal(m.volume[5, [col_a, col_b]], [np.nan if layout == "dense" else 200.0, 200.0])
    np.testing.assert_array_equal(m.volume[:, m.columns[2]], np.arange(3, 9) * 100.0)
    cut = m.until("2024-01-03")
    np.testing.assert_array_equal(cut.volume[:, cut.columns[0]], [0.0, np.nan, 100.0])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(m)).volume, m.volume)
    np.testing.assert_array_equal(plain.close, m.close)


def test_asof_load_from_warehouse_hides_later_data(make_tables):
    wh = Warehouse(":memory:")
    wh.ingest(
        make_tables(
            {"A": [10, 11, 12, 13, 14]},
            fundamentals=[{"security_id": "A", "period_end": "2023-12-31", "available_date": "2024-01-04", "eps": 1.0}],
            series=[{"series_id": "S", "date": d, "value": v} for d, v in [("2024-01-02", 1.0), ("2024-01-05", 2.0)]],
        ),
        source="t",
    )
    m = load_market(wh, asof="2024-01-03")
    assert m.shape == (3, 1) and m.asof == pd.Timestamp("2024-01-03")
    assert np.isnan(m.fundamental("eps")).all()
    assert m.series("S").tolist() == [1.0]
    assert m.drops["prices_after_asof_ignored"] == 2 and m.drops["fundamentals_after_asof_ignored"] == 1
    with pytest.raises(EmptyWarehouseError, match="before the first price"):
        load_market(wh, asof="2020-01-01")


@pytest.mark.parametrize("asof", ["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06", "2024-01-09"])
def test_loading_as_of_a_date_equals_cutting_the_full_view_there(make_tables, asof):
    """load_market(asof=d) and load_market().until(d) go through the same cut: identical views."""
    tables = make_tables(
        {"A": [10, 11, 12, 13, 14, 15, 16], "B": [5, 6, None, 7, 8, None, None], "L": [None, None, None, 3, 4, 5, 6],
         "G": [1, None, None, 2, None, 3, 4]},
        securities={"B": {"last_date": "2024-01-05", "delisting_return": -0.4}},
        fundamentals=[
            {"security_id": "A", "period_end": "2023-12-31", "available_date": "2024-01-03", "eps": 1.0},
            {"security_id": "B", "period_end": "2023-12-31", "available_date": "2024-01-08", "eps": 2.0},
        ],
        membership=[
            {"index_id": "sp500", "security_id": "A", "start": "2024-01-01", "end": "2024-01-05"},
            {"index_id": "sp500", "security_id": "L", "start": "2024-01-04", "end": None},
        ],
        series=[{"series_id": "S", "date": d, "value": v} for d, v in [("2024-01-02", 1.0), ("2024-01-08", 2.0)]],
    )
    with Warehouse(":memory:") as wh:
        wh.ingest(tables, source="t")
        loaded, cut = load_market(wh, asof=asof, volume=True), load_market(wh, volume=True).until(asof)
    np.testing.assert_array_equal(loaded.dates, cut.dates)
    np.testing.assert_array_equal(loaded.ids, cut.ids)
    for name in ("close", "total_return_index", "volume", "shares"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(cut, name), err_msg=name)
    np.testing.assert_array_equal(loaded.carried, cut.carried)
    np.testing.assert_array_equal(loaded.fundamental("eps"), cut.fundamental("eps"))
    np.testing.assert_array_equal(loaded.members("sp500"), cut.members("sp500"))
    pd.testing.assert_frame_equal(loaded.securities, cut.securities)
    for name in ("fundamentals", "membership", "series_table"):
        pd.testing.assert_frame_equal(getattr(loaded, name).reset_index(drop=True), getattr(cut, name).reset_index(drop=True))


@settings(max_examples=25, deadline=None)
@given(
    closes=st.lists(st.lists(st.floats(1, 100), min_size=8, max_size=8), min_size=2, max_size=4),
    cut=st.integers(2, 6),
    bump=st.floats(1.5, 3.0),
)
def test_no_lookahead_in_panels(closes, cut, bump):
    """Changing prices/fundamentals after date t never changes any panel value at or before t."""
    base = Market.from_tables(_tables(closes, 2.0))
    changed = [c[:cut + 1] + [v * bump for v in c[cut + 1:]] for c in closes]
    other = Market.from_tables(_tables(changed, 7.0))
    for name in ("close", "total_return_index", "returns", "market_cap"):
        np.testing.assert_array_equal(getattr(base, name)[: cut + 1], getattr(other, name)[: cut + 1])
    upto = min(cut, 5)
    np.testing.assert_array_equal(base.fundamental("eps")[: upto + 1], other.fundamental("eps")[: upto + 1])


def _tables(closes, eps_later):
    ids = [f"S{i}" for i in range(len(closes))]
    dates = pd.bdate_range("2024-01-01", periods=len(closes[0]))
    prices = pd.DataFrame(
        [(sid, d, c) for sid, col in zip(ids, closes, strict=True) for d, c in zip(dates, col, strict=True)],
        columns=["security_id", "date", "close"],
    )
    fund = pd.DataFrame(
        [{"security_id": sid, "period_end": dates[0] - pd.Timedelta(days=1), "available_date": dates[1], "eps": 1.0} for sid in ids]
        + [{"security_id": sid, "period_end": dates[5], "available_date": dates[6], "eps": eps_later} for sid in ids]
    )
    sec = pd.DataFrame({"security_id": ids, "ticker": ids})
    sh = pd.DataFrame({"security_id": ids, "date": dates[0], "shares_outstanding": 10.0})
    return {"securities": sec, "prices": prices, "shares": sh, "fundamentals": fund}


def test_memo_builds_each_key_once_across_threads(make_market):
    import pickle
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    m = make_market({"A": [10, 11, 12]})
    calls = []
    gate = threading.Barrier(4)

    def build():
        calls.append(1)
        time.sleep(0.05)  # long enough for the other threads to pile up on the key
        return np.arange(3)

    def use(_):
        gate.wait()
        return m.memo(("test", "slow"), build)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(use, range(4)))
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    # a market still pickles (the locks are left behind and made afresh)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.memo(("test", "slow"), build), [0, 1, 2])
    assert m2.memo(("other",), lambda: 7) == 7


def test_plain_and_ttm_fields_of_two_securities_never_mix(make_market):
    """Both tables share one event timeline: a security's fields come from its own filings only."""
    q = ["2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31"]
    rows = [
        {"security_id": "A", "period_end": pe, "available_date": av, "net_income": v, "book_equity": 100.0 + v}
        for pe, av, v in zip(q, ["2023-05-01", "2023-08-01", "2023-11-01", "2024-01-03"], [1.0, 2.0, 3.0, 4.0], strict=True)
    ]
    # B files only its last quarter, late: no TTM (three quarters missing) and nothing before 01-04
    rows.append({"security_id": "B", "period_end": q[-1], "available_date": "2024-01-04", "net_income": 9.0, "book_equity": 50.0})
    m = make_market({"A": [10] * 4, "B": [10] * 4}, fundamentals=rows)  # 2024-01-01 .. 01-04
    a, b = 0, 1
    np.testing.assert_array_equal(m.fundamental("net_income", ttm=True)[:, a], [np.nan, np.nan, 10.0, 10.0])
    np.testing.assert_array_equal(m.fundamental("net_income", ttm=True)[:, b], [np.nan] * 4)
    np.testing.assert_array_equal(m.fundamental("net_income")[:, b], [np.nan, np.nan, np.nan, 9.0])
    np.testing.assert_array_equal(m.fundamental("book_equity")[:, a], [103.0, 103.0, 104.0, 104.0])
    np.testing.assert_array_equal(m.fundamental("book_equity")[:, b], [np.nan, np.nan, np.nan, 50.0])

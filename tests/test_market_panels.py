"""Tests of broadening.market_panels: shares in force by hand, and read_panels against the rows."""

from __future__ import annotations

import numpy as np

from broadening.lanes import pack
from broadening.market_panels import f64, read_panels, shares_in_force
from broadening.warehouse import Warehouse

DATES = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"], dtype="datetime64[D]")


def _rows(i, dates, values):
    return {"i": np.array(i), "date": np.array(dates, dtype="datetime64[D]"), "shares_outstanding": np.array(values, float)}


def test_dense_counts_take_effect_on_their_date_and_before_the_window_from_the_first_row():
    sh = _rows([0, 0, 1], ["2023-12-01", "2024-01-04", "2024-01-05"], [10.0, 20.0, 7.0])
    out = shares_in_force(sh, DATES, (5, 2), None)
    np.testing.assert_array_equal(out[:, 0], [10, 10, 20, 20, 20])
    np.testing.assert_array_equal(out[:, 1], [np.nan, np.nan, np.nan, 7, 7])
    # a count dated after the last row is outside the panel
    assert np.isnan(shares_in_force(_rows([0], ["2024-02-01"], [5.0]), DATES, (5, 1), None)).all()


def test_lane_counts_restart_at_each_occupant():
    # security 0 lives rows 0-1, security 1 rows 3-4: one lane with a gap of 1 row
    lanes = pack(np.array([0, 1, 3, 4]), np.array([0, 0, 1, 1]), 2, 5, "lanes", 1, 0.2)
    assert lanes.width == 1
    # 0's count is dated before its listing (applies from row 0); 1 has a count dated
    # before its listing and one after 0's delisting that must not leak into 0's rows
    sh = _rows([0, 1], ["2023-06-01", "2023-06-01"], [5.0, 9.0])
    np.testing.assert_array_equal(shares_in_force(sh, DATES, (5, 1), lanes)[:, 0], [5, 5, 5, 9, 9])
    # a count of 0 dated after its last row never applies; 1 without a count stays NaN
    sh = _rows([0, 0], ["2024-01-02", "2024-01-05"], [5.0, 6.0])
    np.testing.assert_array_equal(shares_in_force(sh, DATES, (5, 1), lanes)[:, 0], [5, 5, 5, np.nan, np.nan])


def test_read_panels_scatters_carries_and_counts(make_tables):
    tables = make_tables({"A": [10, None, 12, 13, 14], "B": [1, 2, 3, 4, 5]})
    tables["prices"]["volume"] = np.arange(len(tables["prices"]), dtype=float)
    with Warehouse(":memory:") as wh:
        wh.ingest(tables, source="t")
        dates = np.asarray(sorted(tables["prices"]["date"].unique()), dtype="datetime64[D]")
        p = read_panels(wh.con, dates, np.array(["A", "B"]), layout="dense", gap=1, saving=0.2, volume=True)
        q = read_panels(wh.con, dates, np.array(["A", "B"]), layout="dense", gap=1, saving=0.2)
    assert p.lanes is None and q.volume is None
    np.testing.assert_array_equal(p.close, [[10, 1], [10, 2], [12, 3], [13, 4], [14, 5]])
    np.testing.assert_array_equal(p.close, q.close)
    np.testing.assert_array_equal(p.volume[:, 0], [0, np.nan, 1, 2, 3])
    np.testing.assert_array_equal(p.carried, [2])  # row 1, column 0 of a 2-wide panel
    np.testing.assert_array_equal(p.shares, np.ones((5, 2)))
    assert p.missing_shares == 0


def test_f64_turns_nulls_into_nan():
    np.testing.assert_array_equal(f64(np.ma.masked_array([1.0, 2.0], mask=[False, True])), [1.0, np.nan])
    assert f64(np.array([1, 2])).dtype == np.float64

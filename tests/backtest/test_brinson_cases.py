"""Brinson-Fachler by hand: labels and alignment, the error messages, one-sided groups, and
three-name backtests small enough to attribute on paper (#17: each case kills mutants the
published examples in test_brinson.py let through)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import PriceData, backtest
from broadening.backtest.brinson import (
    active_attribution,
    backtest_brinson,
    brinson_fachler,
    brinson_frame,
    held_period_returns,
    sector_exposure,
    sleeve_exposure,
)
from broadening.backtest.prices import Exits
from broadening.market import Market

# Bacon (2008), Exhibit 8.1: four quarters of a three-market portfolio (as in test_brinson.py)
GROUPS = ["UK equities", "Japanese equities", "US equities"]
Q_WP = [[0.4, 0.3, 0.3], [0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.5, 0.2]]
Q_WB = [[0.4, 0.2, 0.4], [0.4, 0.3, 0.3], [0.5, 0.4, 0.1], [0.4, 0.4, 0.2]]
Q_RP = [[0.2, -0.05, 0.06], [-0.05, 0.03, -0.05], [-0.2, 0.08, -0.15], [0.1, -0.07, 0.25]]
Q_RB = [[0.1, -0.04, 0.08], [-0.07, 0.04, -0.1], [-0.25, 0.05, -0.2], [0.05, -0.05, 0.1]]
# quarterly returns, by hand: Rp = 8.3%, -3.4%, -5.0%, 4.5%; Rb = 6.4%, -4.6%, -12.5%, 2.0%
RP_Q = [0.083, -0.034, -0.05, 0.045]
RB_Q = [0.064, -0.046, -0.125, 0.02]
QUARTERS = pd.Index(["Q1", "Q2", "Q3", "Q4"], name="quarter")


def _quarters(linking: str = "carino"):
    frames = [pd.DataFrame(x, index=QUARTERS, columns=GROUPS) for x in (Q_WP, Q_WB, Q_RP, Q_RB)]
    return brinson_fachler(*frames, linking=linking)


def test_sum_linking_totals_add_the_period_returns():
    tot = _quarters("sum").totals()
    # 8.3 - 3.4 - 5.0 + 4.5 = 4.4%; 6.4 - 4.6 - 12.5 + 2.0 = -8.7%
    assert tot["portfolio_return"] == pytest.approx(0.044, abs=1e-15)
    assert tot["benchmark_return"] == pytest.approx(-0.087, abs=1e-15)
    assert tot["active_return"] == pytest.approx(0.131, abs=1e-15)
    # compounded instead (Carino): 1.083 * 0.966 * 0.95 * 1.045 - 1 = 3.85932095%, benchmark
    # 1.064 * 0.954 * 0.875 * 1.02 - 1 = -9.406252% (Bacon's 3.86% and -9.41%)
    tot = _quarters("carino").totals()
    assert tot["portfolio_return"] == pytest.approx(0.0385932095, abs=1e-15)
    assert tot["benchmark_return"] == pytest.approx(-0.09406252, abs=1e-15)


def test_results_keep_the_callers_labels():
    att = _quarters()
    for frame in (att.allocation, att.selection, att.interaction, att.portfolio_weight, att.benchmark_weight):
        assert frame.index.equals(QUARTERS) and list(frame.columns) == GROUPS
    for s, name, want in ((att.portfolio_return, "portfolio", RP_Q), (att.benchmark_return, "benchmark", RB_Q),
                          (att.costs, "costs", [0.0] * 4)):
        assert s.name == name and s.index.equals(QUARTERS)
        np.testing.assert_allclose(s.to_numpy(), want, atol=1e-15)
    np.testing.assert_allclose(att.benchmark_weight.to_numpy(), Q_WB, atol=0)
    np.testing.assert_allclose(att.portfolio_weight.to_numpy(), Q_WP, atol=0)
    g = att.by_group()
    assert list(g.columns) == ["allocation", "selection", "interaction", "total", "portfolio_weight", "benchmark_weight"]
    assert g.index.name == "group" and list(g.index) == GROUPS
    # average weights: UK (0.4 + 0.7 + 0.3 + 0.3) / 4 = 0.425, Japan 1.5 / 4, US 0.8 / 4
    np.testing.assert_allclose(g["portfolio_weight"], [0.425, 0.375, 0.2], atol=1e-15)
    np.testing.assert_allclose(g["benchmark_weight"], [0.425, 0.325, 0.25], atol=1e-15)
    js = att.to_json()
    assert js["totals"] == att.totals()
    assert js["groups"]["US equities"]["benchmark_weight"] == pytest.approx(0.25, abs=1e-15)


def test_array_inputs_are_labelled_period_and_g0_g1():
    att = brinson_fachler(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]]),
                          np.array([[0.1, 0.0]]), np.array([[0.1, 0.0]]))
    assert list(att.allocation.index) == [0] and att.allocation.index.name == "period"
    assert list(att.allocation.columns) == ["g0", "g1"] and att.allocation.columns.name == "group"
    # Rb = 0.025; allocation g0 = 0.25 * (0.1 - 0.025), g1 = -0.25 * (0 - 0.025)
    np.testing.assert_allclose(att.allocation.iloc[0], [0.01875, 0.00625], atol=1e-16)


def test_frames_are_aligned_to_the_portfolio_weights():
    # the benchmark and return frames come with their rows and columns in another order
    wp = pd.DataFrame([[0.6, 0.4], [0.5, 0.5]], index=["p1", "p2"], columns=["a", "b"])
    wb = pd.DataFrame([[0.5, 0.5], [0.75, 0.25]], index=["p2", "p1"], columns=["b", "a"])  # p1: a 0.25, b 0.75
    rp = pd.DataFrame([[0.02, 0.10], [0.04, 0.00]], index=["p1", "p2"], columns=["a", "b"])
    rb = pd.DataFrame([[0.0, 0.0], [0.02, 0.08]], index=["p2", "p1"], columns=["b", "a"])  # p1: a 0.08, b 0.02
    att = brinson_fachler(wp, wb, rp, rb)
    assert list(att.allocation.index) == ["p1", "p2"] and list(att.allocation.columns) == ["a", "b"]
    # p1: Rb = 0.25 * 0.08 + 0.75 * 0.02 = 0.035; allocation a = 0.35 * (0.08 - 0.035),
    # b = -0.35 * (0.02 - 0.035); selection a = 0.25 * (0.02 - 0.08), b = 0.75 * (0.10 - 0.02)
    np.testing.assert_allclose(att.allocation.loc["p1"], [0.01575, 0.00525], atol=1e-15)
    np.testing.assert_allclose(att.selection.loc["p1"], [-0.015, 0.06], atol=1e-15)
    np.testing.assert_allclose(att.interaction.loc["p1"], [0.35 * -0.06, -0.35 * 0.08], atol=1e-15)
    np.testing.assert_allclose(att.benchmark_weight.loc["p1"], [0.25, 0.75], atol=0)
    # p2: both 50/50, benchmark returns 0: allocation 0, selection = 0.5 * (0.04, 0.00)
    np.testing.assert_allclose(att.selection.loc["p2"], [0.02, 0.0], atol=1e-15)
    assert att.portfolio_return.loc["p1"] == pytest.approx(0.6 * 0.02 + 0.4 * 0.10, abs=1e-15)
    assert att.benchmark_return.loc["p1"] == pytest.approx(0.035, abs=1e-15)


def test_missing_returns_may_come_as_none():
    # a frame built from records with None where a side holds nothing (an object column),
    # and plain lists the same way: None is read as a missing return
    wp = pd.DataFrame({"a": [1.0], "b": [0.0]})
    rp = pd.DataFrame({"a": [0.05], "b": [None]})
    rb = pd.DataFrame({"a": [0.01], "b": [0.03]})
    wb = pd.DataFrame({"a": [0.5], "b": [0.5]})
    att = brinson_fachler(wp, wb, rp, rb)
    # Rb = 0.02; allocation a = 0.5 * (0.01 - 0.02), b = -0.5 * (0.03 - 0.02); selection a = 0.5 * 0.04
    np.testing.assert_allclose(att.allocation.iloc[0], [-0.005, -0.005], atol=1e-15)
    np.testing.assert_allclose(att.selection.iloc[0], [0.02, 0.0], atol=1e-15)
    listed = brinson_fachler([[1.0, 0.0]], [[0.5, 0.5]], [[0.05, None]], [[0.01, 0.03]])
    np.testing.assert_allclose(listed.allocation.to_numpy(), att.allocation.to_numpy(), atol=0)
    np.testing.assert_allclose(listed.selection.to_numpy(), att.selection.to_numpy(), atol=0)


def test_a_whole_book_in_a_group_the_other_side_skips():
    # the portfolio is all in b, the benchmark all in a: nothing to compare inside a group, so
    # the whole active return (5% - 2%) is allocation in b; selection is zero everywhere
    att = brinson_fachler(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]),
                          np.array([[np.nan, 0.05]]), np.array([[0.02, np.nan]]))
    np.testing.assert_allclose(att.allocation.iloc[0], [0.0, 0.03], atol=1e-16)
    np.testing.assert_allclose(att.selection.iloc[0], [0.0, 0.0], atol=0)
    np.testing.assert_allclose(att.interaction.iloc[0], [0.0, 0.0], atol=0)


def test_error_messages_name_the_culprit():
    ones = np.array([[0.5, 0.5], [0.5, 0.5]])
    z = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"expected one of carino, sum, got 'grap'"):
        brinson_fachler(ones, ones, z, z, linking="grap")
    with pytest.raises(ValueError, match=r"shapes differ \(2, 2\), \(1, 2\)"):
        brinson_fachler(ones, ones[:1], z, z)
    # the worst row is named: |0.5 - 1| beats |1.0 - 1| (a sum-based pick would name period 0)
    with pytest.raises(ValueError, match=r"wb sums to 0\.500000000000 in period 1, expected 1 "
                                         r"\(give cash a group of its own\)"):
        brinson_fachler(ones, np.array([[0.5, 0.5], [0.25, 0.25]]), z, z)
    with pytest.raises(ValueError, match=r"wp sums to 1\.500000000000 in period 1"):
        brinson_fachler(np.array([[0.5, 0.5], [1.0, 0.5]]), ones, z, z)
    with pytest.raises(ValueError, match=r"wp sums to 0\.900000000000 in period 0"):
        brinson_fachler(np.array([[0.45, 0.45], [0.5, 0.5]]), ones, z, z)
    with pytest.raises(ValueError, match="rb is missing where the weight is not zero"):
        brinson_fachler(ones, ones, z, np.array([[0.0, np.nan], [0.0, 0.0]]))


def test_brinson_frame_rows_and_totals():
    att = _quarters("sum")
    frame = brinson_frame({"markets": att})
    assert list(frame.columns) == ["by", "group", "allocation", "selection", "interaction", "costs", "total",
                                   "portfolio_weight", "benchmark_weight"]
    assert list(frame.index) == [0, 1, 2, 3]
    assert list(frame["group"]) == [*GROUPS, "total"]
    groups, total = frame.iloc[:3], frame.iloc[3]
    np.testing.assert_allclose(groups["costs"], 0.0, atol=0)
    np.testing.assert_allclose(groups["portfolio_weight"], [0.425, 0.375, 0.2], atol=1e-15)
    assert (total["portfolio_weight"], total["benchmark_weight"]) == (1.0, 1.0)
    assert total["total"] == pytest.approx(0.131, abs=1e-15) and total["costs"] == 0.0
    empty = brinson_frame({})
    assert empty.empty and list(empty.columns) == list(frame.columns)


# -- from backtests: three names, five days, hand-computed ----------------------------------------
#        day 0   1     2     3     4
# A      100    110   121   121   133.1   sector X
# B       50    gap    55    55    66     sector Y (no price on day 1: the engine books no
# C       20     18    18   19.8  19.8    sector Y  return for day 1 nor day 2)
# rebalances on days 0, 2 and 4 (the last period is empty)
PRICES = np.array([[100, 50, 20], [110, np.nan, 18], [121, 55, 18], [121, 55, 19.8], [133.1, 66, 19.8]])
POS = np.array([0, 2, 4])
W_P = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.2, 0.2]])
W_B = np.array([[0.0, 0.5, 0.5], [0.0, 0.5, 0.5], [0.4, 0.3, 0.3]])


def _hand_backtests(**kw):
    data = PriceData.from_prices(PRICES, ids=["A", "B", "C"])
    return data, backtest(data, W_P, POS, costs=False, **kw), backtest(data, W_B, POS, costs=False, **kw)


def test_held_period_returns_by_hand():
    data, res_p, res_b = _hand_backtests(cash_rate=0.05)
    got = held_period_returns(res_p, res_b, data)
    cash2 = (1.05 ** (1 / 252)) ** 2 - 1  # two days of a 5% annual rate
    # period 0: A 121/100 - 1; B nothing (day 1 is the gap, day 2 follows it); C 18/20 - 1
    # period 1: A 133.1/121 - 1; B 66/55 - 1; C 19.8/18 - 1
    want = [([0.21, 0.0, -0.1], cash2), ([0.1, 0.2, 0.1], cash2), ([0.0, 0.0, 0.0], 0.0)]
    assert len(got) == 3
    for (x, c), (wx, wc) in zip(got, want, strict=True):
        np.testing.assert_allclose(x, wx, atol=1e-15)
        assert c == pytest.approx(wc, abs=1e-16)
    # a stored result without its cash path: cash earned nothing
    bare = held_period_returns(dataclasses.replace(res_p, cash_daily=None), res_b, data)
    assert [c for _, c in bare] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(bare[0][0], want[0][0], atol=1e-15)


def test_held_period_returns_cover_names_only_one_book_holds():
    data, res_p, res_b = _hand_backtests()
    # period 0: the portfolio holds only A, the benchmark only B and C
    x, _ = held_period_returns(res_p, res_b, data)[0]
    np.testing.assert_allclose(x, [0.21, 0.0, -0.1], atol=1e-15)
    x, _ = held_period_returns(res_b, res_p, data)[0]
    np.testing.assert_allclose(x, [0.21, 0.0, -0.1], atol=1e-15)


def test_held_period_returns_see_an_exit_without_a_gap():
    # column L holds two lives: the first ends on day 1 (price 11, delisting return -50%),
    # the next starts on day 2 with no missing price between them. Held from day 0:
    # 11/10 on day 1, then the -50% on day 2, then cash (0%): 1.1 * 0.5 - 1 = -45%, not the
    # 55/10 a price ratio across the two lives would give. A is held by neither book.
    data = PriceData(dates=np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]"),
                     ids=np.array(["A", "L"]), prices=np.array([[100, 10.0], [101, 11.0], [102, 50.0], [103, 55.0]]),
                     exits=Exits(row=[1], col=[1], ret=[-0.5]))
    res_p = backtest(data, np.array([[0.0, 1.0]]), np.array([0]), costs=False)
    res_b = backtest(data, np.array([[0.0, 0.5]]), np.array([0]), costs=False)
    (x, cash), = held_period_returns(res_p, res_b, data)
    np.testing.assert_allclose(x, [0.0, -0.45], atol=1e-15)
    assert cash == 0.0
    assert res_p.value.iloc[-1] == pytest.approx(1 + x[1], abs=1e-15)  # what the engine booked


def test_backtest_brinson_by_hand():
    data, res_p, res_b = _hand_backtests()
    groups, exposure = sector_exposure(["X", "Y", "Y"])
    att = backtest_brinson(res_p, res_b, data, groups, exposure, linking="sum")
    assert att.linking == "sum"
    assert att.allocation.index.equals(pd.DatetimeIndex(res_p.rebalance_dates))
    assert att.allocation.index.name == "date" and att.allocation.columns.name == "group"
    # the periods are named "date" whatever the stored result called its rebalance dates
    unnamed = [dataclasses.replace(r, rebalance_dates=r.rebalance_dates.rename(None)) for r in (res_p, res_b)]
    assert backtest_brinson(*unnamed, data, groups, exposure).allocation.index.name == "date"
    assert list(att.allocation.columns) == ["X", "Y", "cash"]
    # period 0: the portfolio is all A (X, exactly 100%), the benchmark half B half C (Y):
    # Rp = 21%, Rb = 0.5 * 0 + 0.5 * -10% = -5%; all allocation: X 1.0 * (21% + 5%)
    # period 1: portfolio A/B 50/50: Rp = 0.5 * 10% + 0.5 * 20% = 15%; benchmark B/C: Rb = 15%;
    #   allocation X 0.5 * (10% - 15%) (X's return is the portfolio's own: the benchmark has none)
    #   selection Y 1.0 * (20% - 15%), interaction Y -0.5 * (20% - 15%)
    # period 2: empty (no day after the last rebalance)
    np.testing.assert_allclose(att.allocation.to_numpy(), [[0.26, 0, 0], [-0.025, 0, 0], [0, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(att.selection.to_numpy(), [[0, 0, 0], [0, 0.05, 0], [0, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(att.interaction.to_numpy(), [[0, 0, 0], [0, -0.025, 0], [0, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(att.portfolio_weight.to_numpy(), [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.4, 0.4]], atol=1e-15)
    np.testing.assert_allclose(att.benchmark_weight.to_numpy(), [[0, 1, 0], [0, 1, 0], [0.4, 0.6, 0]], atol=1e-15)
    np.testing.assert_allclose(att.portfolio_return.to_numpy(), [0.21, 0.15, 0.0], atol=1e-15)
    np.testing.assert_allclose(att.benchmark_return.to_numpy(), [-0.05, 0.15, 0.0], atol=1e-15)
    tot = att.totals()
    assert tot["allocation"] == pytest.approx(0.235, abs=1e-15)
    assert tot["selection"] == pytest.approx(0.05, abs=1e-15)
    assert tot["interaction"] == pytest.approx(-0.025, abs=1e-15)
    # Carino: k_t = ln(1.21 / 0.95) / 0.26, 1 / 1.15, 1 and k = ln(1.3915 / 1.0925) / 0.299 on
    # the compounded returns (1.21 * 1.15 - 1 = 39.15% against 0.95 * 1.15 - 1 = 9.25%)
    car = backtest_brinson(res_p, res_b, data, groups, exposure)
    k = np.log(1.21 / 0.95) / 0.299
    np.testing.assert_allclose(car.factors(), [1.15, 1 / 1.15 / k, 1 / k], rtol=1e-12)
    assert car.totals()["active_return"] == pytest.approx(0.299, abs=1e-15)


def test_backtest_brinson_uses_the_period_returns_it_is_given():
    data, res_p, res_b = _hand_backtests()
    groups, exposure = sector_exposure(["X", "Y", "Y"])
    # made-up period returns: every name +10%, cash +1%, in each period
    given = [(np.array([0.1, 0.1, 0.1]), 0.01)] * 3
    att = backtest_brinson(res_p, res_b, data, groups, exposure, linking="sum", period_returns=given)
    # period 2: portfolio 60% in names, 40% cash: 0.6 * 10% + 0.4 * 1% = 6.4%; benchmark 10%
    np.testing.assert_allclose(att.portfolio_return.to_numpy(), [0.1, 0.1, 0.064], atol=1e-15)
    np.testing.assert_allclose(att.benchmark_return.to_numpy(), [0.1, 0.1, 0.1], atol=1e-15)
    # only cash differs: its allocation 0.4 * (1% - 10%)
    np.testing.assert_allclose(att.allocation.iloc[2], [0.0, 0.0, -0.036], atol=1e-15)


def test_backtest_brinson_needs_the_same_rebalance_dates():
    data, res_p, _ = _hand_backtests()
    other = backtest(data, W_B[:2], POS[:2], costs=False)
    with pytest.raises(ValueError, match="^backtest_brinson: the two backtests rebalance on different dates$"):
        backtest_brinson(res_p, other, data, *sector_exposure(["X", "Y", "Y"]))


def test_sector_exposure_one_hot_with_a_missing_sector():
    groups, exposure = sector_exposure(["Tech", None, "Energy", "Tech"])
    # labels sorted as text; the unknown sector is a group of its own (not a TypeError from
    # sorting None among strings)
    assert groups == ["Energy", "None", "Tech"]
    np.testing.assert_array_equal(exposure(0), [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_sector_exposure_per_rebalance_row():
    # a lane-packed column changes security, hence sector, between rebalances: C is X on the
    # second row and A moves to Y
    rows = [["X", "Y", "Y"], ["Y", "Y", "X"], ["X", "Y", "Y"]]
    groups, exposure = sector_exposure(np.array(rows))
    assert groups == ["X", "Y"]
    np.testing.assert_array_equal(exposure(0), [[1, 0], [0, 1], [0, 1]])
    np.testing.assert_array_equal(exposure(1), [[0, 1], [0, 1], [1, 0]])
    data, res_p, res_b = _hand_backtests()
    att = backtest_brinson(res_p, res_b, data, groups, exposure, linking="sum")
    # period 1: the portfolio (A, B 50/50) is all Y: 0.5 * 10% + 0.5 * 20% = 15%; the
    # benchmark is half C (X, 10%) half B (Y, 20%): Rb = 15%. Allocation X -0.5 * (10% - 15%),
    # Y 0.5 * (20% - 15%); selection Y 0.5 * (15% - 20%); interaction Y 0.5 * (15% - 20%)
    np.testing.assert_allclose(att.allocation.iloc[1], [0.025, 0.025, 0.0], atol=1e-15)
    np.testing.assert_allclose(att.selection.iloc[1], [0.0, -0.025, 0.0], atol=1e-15)
    np.testing.assert_allclose(att.interaction.iloc[1], [0.0, -0.025, 0.0], atol=1e-15)
    np.testing.assert_allclose(att.portfolio_weight.iloc[1], [0.0, 1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(att.benchmark_weight.iloc[1], [0.5, 0.5, 0.0], atol=1e-15)
    # period 0 reads row 0: as in test_backtest_brinson_by_hand
    np.testing.assert_allclose(att.allocation.iloc[0], [0.26, 0.0, 0.0], atol=1e-15)


def test_sleeve_exposure_by_hand():
    weights = np.array([[0.6, 0.0, 0.2]])
    sleeves = {"core": np.array([[0.45, 0.0, 0.2]]), "tilt": np.array([[0.15, 0.0, 0.0]])}
    groups, exposure = sleeve_exposure(sleeves, weights)
    assert groups == ["core", "tilt", "not_held"]
    # name 0: 0.45 / 0.6 core, 0.15 / 0.6 tilt; name 1 is not held; name 2 all core
    np.testing.assert_allclose(exposure(0), [[0.75, 0.25, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], atol=1e-15)


# the same three names without the gap, as a Market with sectors
CLEAN = {"A": [100, 110, 121, 121, 133.1], "B": [50, 55, 50, 60, 60], "C": [20, 18, 18, 19.8, 19.8]}


def test_active_attribution_from_a_market_by_hand(make_market):
    market: Market = make_market(CLEAN, sectors={"A": "Tech", "B": "Energy", "C": "Energy"})
    res_p, res_b = (backtest(market, w, POS, costs=False) for w in (W_P, W_B))
    sleeves = {"core": np.array([[0.6, 0, 0], [0.5, 0, 0], [0.2, 0.2, 0.2]]),
               "tilt": np.array([[0.4, 0, 0], [0, 0.5, 0], [0, 0, 0]])}
    out = active_attribution(res_p, res_b, market, ["Tech", "Energy", "Energy"], sleeves, linking="sum")
    assert list(out) == ["sector", "sleeve"]
    sec, sle = out["sector"], out["sleeve"]
    assert sec.linking == sle.linking == "sum"
    # period 0: A +21%, B 0, C -10%: Rp = 21%, Rb = -5%; period 1: A +10%, B +20%, C +10%:
    # Rp = 15% = Rb; period 2 empty
    for att in (sec, sle):
        np.testing.assert_allclose(att.portfolio_return.to_numpy(), [0.21, 0.15, 0.0], atol=1e-15)
        np.testing.assert_allclose(att.benchmark_return.to_numpy(), [-0.05, 0.15, 0.0], atol=1e-15)
        assert att.allocation.index.equals(pd.DatetimeIndex(res_p.rebalance_dates))
    # by sector (Energy, Tech, cash): period 0 allocation Tech 1.0 * (21% + 5%); period 1
    # allocation Tech 0.5 * (10% - 15%), selection Energy 1.0 * (20% - 15%), interaction
    # Energy -0.5 * (20% - 15%)
    assert list(sec.allocation.columns) == ["Energy", "Tech", "cash"]
    np.testing.assert_allclose(sec.allocation.to_numpy()[:2], [[0, 0.26, 0], [0, -0.025, 0]], atol=1e-15)
    np.testing.assert_allclose(sec.selection.to_numpy()[:2], [[0, 0, 0], [0.05, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(sec.interaction.to_numpy()[:2], [[0, 0, 0], [-0.025, 0, 0]], atol=1e-15)
    # by sleeve (core, tilt, not_held, cash): period 0 A is 60% core, 40% tilt, B and C are
    # the benchmark's not_held: allocation core 0.6 * 26%, tilt 0.4 * 26%;
    # period 1 core = A, tilt = B, not_held = C (benchmark 50% B in tilt, 50% C):
    # allocation core 0.5 * (10% - 15%), not_held -0.5 * (10% - 15%); no selection
    assert list(sle.allocation.columns) == ["core", "tilt", "not_held", "cash"]
    np.testing.assert_allclose(sle.allocation.to_numpy()[:2], [[0.156, 0.104, 0, 0], [-0.025, 0, 0.025, 0]],
                               atol=1e-15)
    np.testing.assert_allclose(sle.selection.to_numpy(), 0.0, atol=1e-15)
    np.testing.assert_allclose(sle.benchmark_weight.to_numpy()[:2], [[0, 0, 1, 0], [0, 0.5, 0.5, 0]], atol=1e-15)
    np.testing.assert_allclose(sle.portfolio_weight.to_numpy()[:2], [[0.6, 0.4, 0, 0], [0.5, 0.5, 0, 0]], atol=1e-15)
    # a Market and its PriceData give the same attribution
    direct = backtest_brinson(res_p, res_b, market, *sector_exposure(["Tech", "Energy", "Energy"]), linking="sum")
    np.testing.assert_allclose(direct.allocation.to_numpy(), sec.allocation.to_numpy(), atol=0)
    from_prices = active_attribution(res_p, res_b, PriceData.from_market(market), ["Tech", "Energy", "Energy"],
                                     sleeves, linking="sum")
    np.testing.assert_allclose(from_prices["sleeve"].allocation.to_numpy(), sle.allocation.to_numpy(), atol=0)
    carino = active_attribution(res_p, res_b, market, ["Tech", "Energy", "Energy"], sleeves)
    assert carino["sector"].linking == carino["sleeve"].linking == "carino"
    assert carino["sleeve"].totals()["active_return"] == pytest.approx(1.21 * 1.15 - 0.95 * 1.15, abs=1e-14)

"""Brinson-Fachler attribution: Bacon's published examples, the additivity identities, and backtests.

Reference numbers: Carl R. Bacon, *Practical Portfolio Performance Measurement and
Attribution*, 2nd ed., Wiley 2008 -- Exhibit 5.1 (one period: UK, Japanese and US equities),
its Brinson-Fachler effects (Exhibit 5.3), and the four-quarter example of chapter 8
(Exhibit 8.1) with Carino-linked totals (Exhibit 8.2). The figures are as transcribed in the
tests of the R package PortfolioAttribution (github.com/anandkkumar/PortfolioAttribution,
tests/testthat/test_BHB_BF.R and test_linking.R), published to four decimals; Bacon's
chapter 8 reports selection including interaction ("top-down": ``wp (rp - rb)``), which is
our selection + interaction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from broadening.backtest import CostModel, PriceData, backtest
from broadening.backtest.brinson import (
    backtest_brinson,
    brinson_fachler,
    brinson_frame,
    carino_factors,
    sector_exposure,
    sleeve_exposure,
)

GROUPS = ["UK equities", "Japanese equities", "US equities"]


def test_bacon_single_period_brinson_fachler():
    # Exhibit 5.1: portfolio 8.3%, benchmark 6.4%
    wp = pd.DataFrame([[0.40, 0.30, 0.30]], columns=GROUPS)
    wb = pd.DataFrame([[0.40, 0.20, 0.40]], columns=GROUPS)
    rp = pd.DataFrame([[0.20, -0.05, 0.06]], columns=GROUPS)
    rb = pd.DataFrame([[0.10, -0.04, 0.08]], columns=GROUPS)
    att = brinson_fachler(wp, wb, rp, rb)
    np.testing.assert_allclose(att.allocation.iloc[0], [0.0, -0.0104, -0.0016], atol=1e-15)
    np.testing.assert_allclose(att.selection.iloc[0], [0.04, -0.002, -0.008], atol=1e-15)
    np.testing.assert_allclose(att.interaction.iloc[0], [0.0, -0.001, 0.002], atol=1e-15)
    tot = att.totals()
    assert tot["allocation"] == pytest.approx(-0.012, abs=1e-15)
    assert tot["selection"] == pytest.approx(0.030, abs=1e-15)
    assert tot["interaction"] == pytest.approx(0.001, abs=1e-15)
    assert tot["portfolio_return"] == pytest.approx(0.083, abs=1e-15)
    assert tot["benchmark_return"] == pytest.approx(0.064, abs=1e-15)
    assert tot["active_return"] == pytest.approx(0.019, abs=1e-15)


# Exhibit 8.1: four quarters (weights at the start of each quarter, returns over it)
Q_WP = [[0.4, 0.3, 0.3], [0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.5, 0.2]]
Q_WB = [[0.4, 0.2, 0.4], [0.4, 0.3, 0.3], [0.5, 0.4, 0.1], [0.4, 0.4, 0.2]]
Q_RP = [[0.2, -0.05, 0.06], [-0.05, 0.03, -0.05], [-0.2, 0.08, -0.15], [0.1, -0.07, 0.25]]
Q_RB = [[0.1, -0.04, 0.08], [-0.07, 0.04, -0.1], [-0.25, 0.05, -0.2], [0.05, -0.05, 0.1]]


def _quarters(linking):
    idx = pd.Index(["Q1", "Q2", "Q3", "Q4"], name="period")
    frames = [pd.DataFrame(x, index=idx, columns=GROUPS) for x in (Q_WP, Q_WB, Q_RP, Q_RB)]
    return brinson_fachler(*frames, linking=linking)


def test_bacon_four_quarters_per_period():
    att = _quarters("carino")
    alloc = [[0, -0.0104, -0.0016], [-0.0072, -0.0086, 0.0108], [0.025, 0.0175, -0.0075], [-0.003, -0.007, 0]]
    sel_top_down = [[0.04, -0.003, -0.006], [0.014, -0.002, 0.005], [0.015, 0.015, 0.01], [0.015, -0.01, 0.03]]
    np.testing.assert_allclose(att.allocation.to_numpy(), alloc, atol=1e-12)
    np.testing.assert_allclose((att.selection + att.interaction).to_numpy(), sel_top_down, atol=1e-12)


def test_bacon_four_quarters_carino_linked():
    att = _quarters("carino")
    # Exhibit 8.2, published to four decimals (so within one unit of the last digit: Bacon's
    # Japan total, -0.60%, is the rounded sum of his rounded quarters, -0.61%)
    f = att.factors()[:, None]
    adj_alloc = [[0, -0.0094, -0.0014], [-0.0073, -0.0087, 0.0109], [0.0266, 0.0186, -0.008], [-0.0028, -0.0066, 0]]
    adj_sel = [[0.0362, -0.0027, -0.0054], [0.0142, -0.002, 0.0051], [0.016, 0.016, 0.0106], [0.0141, -0.0094, 0.0282]]
    np.testing.assert_allclose(att.allocation.to_numpy() * f, adj_alloc, atol=1e-4)
    np.testing.assert_allclose((att.selection + att.interaction).to_numpy() * f, adj_sel, atol=1e-4)
    g = att.by_group()
    # allocation UK 1.65%, Japan -0.60%, US 0.15%, total 1.20%;
    # selection (incl. interaction) UK 8.04%, Japan 0.18%, US 3.85%, total 12.07%
    np.testing.assert_allclose(g.loc[GROUPS, "allocation"], [0.0165, -0.0060, 0.0015], atol=1e-4)
    np.testing.assert_allclose((g["selection"] + g["interaction"]).loc[GROUPS], [0.0804, 0.0018, 0.0385], atol=1e-4)
    tot = att.totals()
    assert tot["allocation"] == pytest.approx(0.0120, abs=1e-4)
    assert tot["selection"] + tot["interaction"] == pytest.approx(0.1207, abs=1e-4)
    # linked effects add up exactly to the compounded active return
    rp = np.prod([1 + np.dot(w, r) for w, r in zip(Q_WP, Q_RP, strict=True)]) - 1
    rb = np.prod([1 + np.dot(w, r) for w, r in zip(Q_WB, Q_RB, strict=True)]) - 1
    assert tot["allocation"] + tot["selection"] + tot["interaction"] == pytest.approx(rp - rb, abs=1e-15)
    assert tot["active_return"] == pytest.approx(rp - rb, abs=1e-15)


def test_sum_linking_adds_period_active_returns():
    att = _quarters("sum")
    tot = att.totals()
    active = sum(np.dot(wp, r1) - np.dot(wb, r2) for wp, wb, r1, r2 in zip(Q_WP, Q_WB, Q_RP, Q_RB, strict=True))
    assert tot["allocation"] + tot["selection"] + tot["interaction"] == pytest.approx(active, abs=1e-15)
    assert att.by_group()["total"].sum() == pytest.approx(active, abs=1e-15)


def test_carino_factor_when_returns_are_equal():
    # k_t = 1 / (1 + r) in the limit; a period with no active return still links
    f = carino_factors(np.array([0.1, 0.05]), np.array([0.1, 0.02]))
    k1 = 1 / 1.1
    k2 = (np.log(1.05) - np.log(1.02)) / 0.03
    k = (np.log(1.1 * 1.05) - np.log(1.1 * 1.02)) / (1.1 * 1.05 - 1.1 * 1.02)
    np.testing.assert_allclose(f, [k1 / k, k2 / k], rtol=1e-12)


def test_groups_held_by_one_side_are_all_allocation():
    # the portfolio holds a group the benchmark does not (and vice versa): no return to compare
    wp = np.array([[0.5, 0.5, 0.0]])
    wb = np.array([[0.6, 0.0, 0.4]])
    rp = np.array([[0.10, 0.20, np.nan]])
    rb = np.array([[0.05, np.nan, -0.10]])
    att = brinson_fachler(wp, wb, rp, rb)
    Rb = 0.6 * 0.05 + 0.4 * -0.10
    np.testing.assert_allclose(att.allocation.iloc[0], [-0.1 * (0.05 - Rb), 0.5 * (0.20 - Rb), -0.4 * (-0.10 - Rb)])
    np.testing.assert_allclose(att.selection.iloc[0], [0.6 * 0.05, 0.0, 0.0])
    np.testing.assert_allclose(att.interaction.iloc[0], [-0.1 * 0.05, 0.0, 0.0])
    assert att.totals()["active_return"] == pytest.approx((0.05 + 0.10) - Rb)


def test_bad_inputs():
    with pytest.raises(ValueError, match="wp sums to"):
        brinson_fachler(np.array([[0.5, 0.4]]), np.array([[0.5, 0.5]]), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="rp is missing"):
        brinson_fachler(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]]), np.array([[0.1, np.nan]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="linking"):
        brinson_fachler(np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1)), np.zeros((1, 1)), linking="grap")


def _simplex(draw_w):
    w = np.abs(draw_w) + 1e-3
    return w / w.sum(axis=1, keepdims=True)


@settings(max_examples=100, deadline=None)
@given(
    data=st.integers(1, 6).flatmap(lambda p: st.integers(1, 5).flatmap(lambda g: st.tuples(
        hnp.arrays(np.float64, (p, g), elements=st.floats(0, 1)),
        hnp.arrays(np.float64, (p, g), elements=st.floats(0, 1)),
        hnp.arrays(np.float64, (p, g), elements=st.floats(-0.5, 0.5)),
        hnp.arrays(np.float64, (p, g), elements=st.floats(-0.5, 0.5)),
    ))),
    linking=st.sampled_from(["carino", "sum"]),
)
def test_effects_add_up_to_the_active_return(data, linking):
    wp, wb, rp, rb = data
    wp, wb = _simplex(wp), _simplex(wb)
    att = brinson_fachler(wp, wb, rp, rb, linking=linking)
    per_period = (att.allocation + att.selection + att.interaction).sum(axis=1).to_numpy()
    np.testing.assert_allclose(per_period, (wp * rp).sum(axis=1) - (wb * rb).sum(axis=1), atol=1e-14)
    tot = att.totals()
    assert tot["allocation"] + tot["selection"] + tot["interaction"] + tot["costs"] == pytest.approx(
        tot["active_return"], abs=1e-12)
    assert att.by_group()["total"].sum() == pytest.approx(tot["active_return"], abs=1e-12)


# -- from backtests ---------------------------------------------------------------------------------
def _two_backtests(costs):
    """Four names in two sectors, one delisting, one with a price gap; a tilted book against cap weights."""
    rng = np.random.default_rng(3)
    T, N = 80, 4
    prices = 100 * np.cumprod(1 + rng.normal(0.0005, 0.02, (T, N)), axis=0)
    prices[50:, 3] = np.nan  # D delists after day 49 with a -30% delisting return
    prices[30:32, 1] = np.nan  # a gap in B's raw prices: no return on those days nor the next
    caps = prices * np.array([4.0, 3.0, 2.0, 1.0])
    pdata = PriceData.from_prices(prices, ids=["A", "B", "C", "D"], delisting_return=np.array([0, 0, 0, -0.3]),
                                  market_cap=caps)
    pos = np.array([5, 25, 45, 65])
    alive = ~np.isnan(prices[pos])
    wb = np.where(alive, caps[pos], 0.0)
    wb = wb / wb.sum(axis=1, keepdims=True)
    core = np.where(alive, 1.0, 0.0) / alive.sum(axis=1, keepdims=True)
    sleeves = {"cap": 0.6 * wb, "core": 0.35 * core}  # 5% cash
    wp = sleeves["cap"] + sleeves["core"]
    model = CostModel(bps=10, spread_bps=5, spread_ref_cap=300.0) if costs else CostModel(bps=0.0)
    res_p = backtest(pdata, wp, pos, costs=model, cash_rate=0.02)
    res_b = backtest(pdata, wb, pos, costs=model, cash_rate=0.02)
    return pdata, res_p, res_b, sleeves, wp


@pytest.mark.parametrize("costs", [False, True])
def test_backtest_attribution_explains_the_backtests(costs):
    pdata, res_p, res_b, sleeves, wp = _two_backtests(costs)
    cum_p = float(np.prod(1 + res_p.returns.to_numpy()) - 1)
    cum_b = float(np.prod(1 + res_b.returns.to_numpy()) - 1)
    groups, exposure = sector_exposure(["Tech", "Tech", "Energy", "Energy"])
    att = backtest_brinson(res_p, res_b, pdata, groups, exposure)
    tot = att.totals()
    # holdings-based period returns rebuild the engine's compounded daily returns
    assert tot["portfolio_return"] == pytest.approx(cum_p, abs=1e-12)
    assert tot["benchmark_return"] == pytest.approx(cum_b, abs=1e-12)
    assert sum(tot[k] for k in ("allocation", "selection", "interaction", "costs")) == pytest.approx(cum_p - cum_b, abs=1e-12)
    assert (tot["costs"] < 0) if costs else (tot["costs"] == pytest.approx(0.0, abs=1e-15))
    assert list(att.allocation.columns) == ["Energy", "Tech", "cash"]
    # the portfolio's period-1 sector weights are its target weights summed by sector
    np.testing.assert_allclose(att.portfolio_weight.iloc[0].to_numpy(),
                               [wp[0, 2:].sum(), wp[0, :2].sum(), 1 - wp[0].sum()], atol=1e-12)
    by_sleeve = backtest_brinson(res_p, res_b, pdata, *sleeve_exposure(sleeves, wp))
    st_ = by_sleeve.totals()
    assert list(by_sleeve.allocation.columns) == ["cap", "core", "not_held", "cash"]
    assert st_["active_return"] == pytest.approx(cum_p - cum_b, abs=1e-12)
    np.testing.assert_allclose(by_sleeve.portfolio_weight[["cap", "core"]].to_numpy(),
                               np.c_[sleeves["cap"].sum(axis=1), sleeves["core"].sum(axis=1)], atol=1e-12)
    frame = brinson_frame({"sector": att, "sleeve": by_sleeve})
    assert set(frame["by"]) == {"sector", "sleeve"}
    total_row = frame[(frame["by"] == "sector") & (frame["group"] == "total")].iloc[0]
    assert total_row["total"] == pytest.approx(cum_p - cum_b, abs=1e-12)
    js = att.to_json()
    assert js["linking"] == "carino" and js["periods"] == 4 and set(js["groups"]) == {"Energy", "Tech", "cash"}


def test_backtest_attribution_against_a_loop_reference():
    # an independent per-name loop: the first period's sector effects by hand
    pdata, res_p, res_b, _, wp = _two_backtests(False)
    groups, exposure = sector_exposure(["Tech", "Tech", "Energy", "Energy"])
    att = backtest_brinson(res_p, res_b, pdata, groups, exposure, linking="sum")
    t0, t1 = 5, 25
    x = pdata.prices[t1] / pdata.prices[t0] - 1
    cash = (1.02 ** (1 / 252)) ** (t1 - t0) - 1
    sector = {"Tech": [0, 1], "Energy": [2, 3]}
    wpw, wbw = res_p.weights[0], res_b.weights[0]
    Rb = sum(wbw[i] * x[i] for i in range(4))
    for s, names in sector.items():
        p_w = sum(wpw[i] for i in names)
        b_w = sum(wbw[i] for i in names)
        p_r = sum(wpw[i] * x[i] for i in names) / p_w
        b_r = sum(wbw[i] * x[i] for i in names) / b_w
        assert att.allocation.iloc[0][s] == pytest.approx((p_w - b_w) * (b_r - Rb), abs=1e-14)
        assert att.selection.iloc[0][s] == pytest.approx(b_w * (p_r - b_r), abs=1e-14)
        assert att.interaction.iloc[0][s] == pytest.approx((p_w - b_w) * (p_r - b_r), abs=1e-14)
    assert att.allocation.iloc[0]["cash"] == pytest.approx((1 - wpw.sum()) * (cash - Rb), abs=1e-14)

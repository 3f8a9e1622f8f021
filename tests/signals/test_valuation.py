"""C2 valuation gap and snap, C3 earnings breadth, C9 small-cap quality valuation, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.signals.valuation import (
    aggregate_pe,
    earnings,
    earnings_growth,
    row_median,
    small_cap_valuation,
    valuation,
)


def test_aggregate_pe_is_sum_caps_over_sum_earnings(make_market, small_cfg, quarters):
    funds = quarters("A", net_income=10) + quarters("B", net_income=2.5) + quarters("C", net_income=-4)
    m = make_market({"A": [100.0, 100.0], "B": [50.0, 50.0], "C": [40.0, 40.0]}, fundamentals=funds)
    v = valuation(m, small_cfg).iloc[0]
    assert v["cw_pe"] == pytest.approx(190 / 8.5)
    assert v["ew_median_pe"] == pytest.approx(15.0)  # median of 10 and 20; the loss-maker has no P/E
    assert v["ew_harmonic_pe"] == pytest.approx(1 / ((0.1 + 0.05 - 0.1) / 3))
    assert v["pe_gap"] == pytest.approx(190 / 8.5 / 15.0)


def test_aggregate_pe_not_positive_is_nan():
    cap = np.array([[10.0, 10.0]])
    assert np.isnan(aggregate_pe(cap, np.array([[-1.0, 0.5]]), np.ones((1, 2), bool))[0])
    assert aggregate_pe(cap, np.array([[np.nan, 0.5]]), np.ones((1, 2), bool))[0] == pytest.approx(20.0)


def test_row_median():
    x = np.array([[3.0, 1.0, np.nan, 2.0], [4.0, 1.0, np.nan, np.nan], [np.nan] * 4])
    np.testing.assert_allclose(row_median(x), [2.0, 2.5, np.nan])


def test_snap_equal_minus_cap_weight_exact(make_market, small_cfg):
    m = make_market({"A": [100.0, 110.0, 110.0], "B": [50.0, 50.0, 55.0], "C": [50.0, 55.0, 55.0]})
    v = valuation(m, small_cfg)
    ew1, cw1 = (0.1 + 0 + 0.1) / 3, (100 * 0.1 + 50 * 0.1) / 200
    ew2, cw2 = 0.1 / 3, 50 * 0.1 / 215
    assert v["ew_cw_1d"].iloc[1] == pytest.approx(ew1 - cw1)
    assert v["ew_cw_2d"].iloc[2] == pytest.approx((1 + ew1) * (1 + ew2) - (1 + cw1) * (1 + cw2))
    assert np.isnan(v["cw_pe"]).all()  # no fundamentals: no P/E, not a made-up one


def _growth_market(make_market, quarters):
    # 2023 quarters E/4 each; a 2024-Q1 quarter of E/4 + d arrives on day 2 -> TTM E -> E + d
    funds = []
    for sid, e, d in (("A", 10.0, 1.0), ("B", 2.5, 2.5), ("C", -4.0, 2.0)):
        funds += quarters(sid, net_income=e)
        funds.append({"security_id": sid, "period_end": "2024-03-31", "available_date": "2024-04-03",
                      "net_income": e / 4 + d, "eps": e / 4 + d, "book_equity": 100.0, "total_debt": 0.0,
                      "operating_income": e / 4 + d, "revenue": 10.0})
    return make_market({"A": [100.0] * 4, "B": [50.0] * 4, "C": [40.0] * 4}, start="2024-04-01", fundamentals=funds)


def test_earnings_growth_outside_vs_inside_topk(make_market, small_cfg, quarters):
    e = earnings(_growth_market(make_market, quarters), small_cfg)  # k = 1: A is inside
    day2 = e.iloc[2]
    # growth: A 1/10 = 10%, B 2.5/2.5 = 100%, C 2/|-4| = 50%
    assert day2["growth_inside"] == pytest.approx(0.10)
    assert day2["growth_outside"] == pytest.approx(0.75)
    assert day2["growth_gap"] == pytest.approx(0.65)
    assert day2["acceleration"] == pytest.approx(0.75)  # from 0 the day before
    assert day2["share_rising"] == pytest.approx(1.0)
    assert day2["share_positive"] == pytest.approx(2 / 3)  # C still loses money
    assert e["share_rising"].iloc[3] == pytest.approx(0.0)  # 1-day lag: no change on day 3
    assert np.isnan(e["growth_gap"].iloc[0])  # no lagged earnings on day 0


def test_earnings_growth_panel_by_hand(make_market, quarters):
    m = _growth_market(make_market, quarters)
    g = earnings_growth(m, 1)
    cols = list(m.ids)
    # the same growth the C3 medians read on day 2: A 10%, B 100%, C 50%; none on day 0
    np.testing.assert_allclose(g[2, [cols.index(s) for s in "ABC"]], [0.10, 1.0, 0.5])
    assert np.isnan(g[0]).all()
    sub = earnings_growth(m, 1, cols=np.array([cols.index("C"), cols.index("A")]))
    np.testing.assert_array_equal(sub, g[:, [cols.index("C"), cols.index("A")]])


def test_small_cap_quality_relative_pe(make_market, small_cfg, quarters):
    funds = quarters("L", net_income=5) + quarters("S1", net_income=1) + quarters("S2", net_income=2)
    funds += quarters("S3", net_income=-1)  # a loss-maker is never small-cap quality
    m = make_market(
        {"L": [100.0] * 3, "S1": [10.0] * 3, "S2": [30.0] * 3, "S3": [5.0] * 3},
        fundamentals=funds,
        membership=[{"index_id": "sp500", "security_id": "L", "start": "2024-01-01", "end": None}]
        + [{"index_id": "smallmid", "security_id": s, "start": "2024-01-01", "end": None} for s in ("S1", "S2", "S3")],
    )
    cfg = small_cfg.with_overrides({"small_cap_quality": {"top_fraction": 1.0, "require_positive_growth": False}})
    v = small_cap_valuation(m, cfg)
    assert np.isnan(v["relative_pe"].iloc[0])  # no lagged EPS on day 0 -> no eligible names
    assert v["scq_pe"].iloc[1] == pytest.approx(40 / 3)
    assert v["large_pe"].iloc[1] == pytest.approx(20.0)
    assert v["relative_pe"].iloc[1] == pytest.approx(40 / 3 / 20)


def test_row_median_of_no_columns_is_nan():
    assert np.isnan(row_median(np.empty((3, 0)))).all() and row_median(np.empty((3, 0))).shape == (3,)

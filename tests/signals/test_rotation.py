"""C5 domestic-cyclical rotation, C7 liquidity source, C8 AI stack, on a hand-built market."""

from __future__ import annotations

import numpy as np
import pytest

from broadening import baskets as bk
from broadening.signals.rotation import (
    aggregate_margin,
    ai_rotation,
    cap_share,
    liquidity_source,
    rotation,
)


@pytest.fixture
def market(make_market, quarters):
    funds = (
        quarters("M", net_income=30, operating_income=30, revenue=100)
        + quarters("D1", net_income=20, operating_income=2, revenue=10)  # quality (ROE 20%)
        + quarters("D2", net_income=-5)  # junk (a loss)
        + quarters("X", net_income=1, operating_income=1, revenue=20)
    )
    return make_market(
        {"M": [100.0, 100.0, 90.0], "D1": [10.0, 11.0, 11.0], "D2": [20.0, 20.0, 21.0], "X": [30.0, 30.0, 30.0]},
        sectors={"M": "Information Technology", "D1": "Industrials", "D2": "Materials", "X": "Health Care"},
        securities={
            "M": {"domestic_revenue_share": 0.4, "ai_layer": "infrastructure"},
            "D1": {"domestic_revenue_share": 0.9, "ai_layer": "adopter"},
            "D2": {"domestic_revenue_share": 0.8, "ai_layer": "none"},
            "X": {"domestic_revenue_share": 0.9, "ai_layer": "adopter"},
        },
        fundamentals=funds,
    )


def test_rotation_by_hand(market, small_cfg):
    assert dict(zip(market.ids, bk.domestic_cyclicals(market, small_cfg)[0], strict=True)) == {"D1": True, "D2": True, "M": False, "X": False}
    r = rotation(market, small_cfg).iloc[2]  # 2-day windows ending day 2
    dc1, dc2 = 10 * 0.1 / 30, 20 * 0.05 / 31  # cap-weighted D1 + D2 with yesterday's caps
    dc = (1 + dc1) * (1 + dc2) - 1
    assert r["dc_minus_megatech"] == pytest.approx(dc - (-0.1))
    assert r["dc_relative_line"] == pytest.approx((1 + dc1) * (1 + dc2) / 0.9)
    assert r["quality_minus_junk"] == pytest.approx(0.1 - 0.05)  # D1 +10% vs D2 +5%
    assert r["dc_cap_share"] == pytest.approx(32 / 152)
    assert r["dc_flow"] == pytest.approx(32 / 152 - 30 / 160)
    assert r["megatech_cap_share"] == pytest.approx(90 / 152)


def test_cap_share_counts_only_the_universe(market, small_cfg):
    dc = bk.domestic_cyclicals(market, small_cfg)
    everyone = market.alive
    # domestic cyclicals D1 + D2 over all caps: 30/160, 31/161, then D1 11 + D2 21 of 152
    np.testing.assert_allclose(cap_share(market, dc, everyone), [30 / 160, 31 / 161, 32 / 152])
    only_d1 = np.zeros(market.shape, dtype=bool)
    only_d1[:, list(market.ids).index("D1")] = True
    # D2 sits outside this universe, so only D1's cap counts, over D1's own cap
    np.testing.assert_allclose(cap_share(market, dc, only_d1), [1.0, 1.0, 1.0])


def test_liquidity_source(market, small_cfg):
    liq = liquidity_source(market, small_cfg)
    np.testing.assert_allclose(liq["topk_weight"], [100 / 160, 100 / 161, 90 / 152])
    assert liq["topk_weight_change"].iloc[2] == pytest.approx(90 / 152 - 100 / 160)
    np.testing.assert_allclose(liq["megatech_weight"], liq["topk_weight"])


def test_liquidity_source_megatech_sectors(market, small_cfg):
    cfg = small_cfg.with_overrides({"megacap_tech": {"sectors": ["Health Care"]}})
    # the top-1 name is in IT, so no mega-cap "tech" under this definition
    assert (liquidity_source(market, cfg)["megatech_weight"] == 0).all()


def test_ai_rotation_by_hand(market, small_cfg):
    a = ai_rotation(market, small_cfg)
    # adopters D1 + X: day 1 (10 * .1 + 0) / 40, day 2 0; infrastructure M: 0 then -10%
    assert a["adopters_minus_infra"].iloc[2] == pytest.approx(0.025 - (-0.1))
    np.testing.assert_allclose(a["adopter_margin"], (2 + 1) / (10 + 20))
    np.testing.assert_allclose(a["infra_margin"], 0.3)
    assert np.isnan(a["margin_gap"].iloc[0])
    assert a["margin_gap"].iloc[2] == pytest.approx(0.0)


def test_aggregate_margin_needs_revenue(market, small_cfg):
    empty = np.zeros(market.shape, dtype=bool)
    assert np.isnan(aggregate_margin(market, empty)).all()


def test_cap_share_with_the_universe_total_given(market, small_cfg):
    dc = bk.domestic_cyclicals(market, small_cfg)
    total = market.frame(market.market_cap).sum(axis=1).to_numpy().copy()
    np.testing.assert_allclose(cap_share(market, dc, market.alive, total=total), [30 / 160, 31 / 161, 32 / 152])
    total[1] = 0.0  # no cap known that day: no share rather than a division by zero
    assert np.isnan(cap_share(market, dc, market.alive, total=total)[1])


def test_rotation_in_a_small_cap_basket_universe_counts_megatech_too(market, small_cfg):
    # every name here is in the large index, so the small universe is empty: mega-cap tech
    # (M, added to that universe for the comparison) holds all of it, the cyclicals none
    cfg = small_cfg.with_overrides({"universe": {"basket_universe": "small"}})
    r = rotation(market, cfg).iloc[2]
    assert r["megatech_cap_share"] == 1.0 and r["dc_cap_share"] == 0.0

"""C1 concentration and C10 crowding on three hand-built stocks."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.signals.concentration import (
    concentration,
    crowding,
    index_returns,
    index_weights,
    topk_share,
)


def test_top_share_hhi_effective_n_exact(make_market, small_cfg):
    # caps 50, 30, 20 (one share each): total 100
    m = make_market({"A": [50.0, 50.0], "B": [30.0, 30.0], "C": [20.0, 20.0]})
    c = concentration(m, small_cfg)
    assert c["top1_share"].iloc[0] == pytest.approx(0.5)
    assert c["top2_share"].iloc[0] == pytest.approx(0.8)
    assert c["hhi"].iloc[0] == pytest.approx(0.5**2 + 0.3**2 + 0.2**2)
    assert c["effective_n"].iloc[0] == pytest.approx(1 / 0.38)
    assert list(c.index) == list(m.index)


def test_concentration_uses_shares_and_membership(make_market, small_cfg):
    # C has 10 shares at 5 = cap 50; B leaves the index on day 2
    m = make_market(
        {"A": [30.0, 30.0, 30.0], "B": [20.0, 20.0, 20.0], "C": [5.0, 5.0, 5.0]},
        shares={"C": 10.0},
        membership=[
            {"index_id": "sp500", "security_id": "A", "start": "2024-01-01", "end": None},
            {"index_id": "sp500", "security_id": "B", "start": "2024-01-01", "end": "2024-01-03"},
            {"index_id": "sp500", "security_id": "C", "start": "2024-01-01", "end": None},
        ],
    )
    c = concentration(m, small_cfg)
    np.testing.assert_allclose(c["top1_share"], [0.5, 0.5, 50 / 80])
    np.testing.assert_allclose(index_weights(m, small_cfg)[2], [30 / 80, 0.0, 50 / 80])
    assert topk_share(m, small_cfg, k=5)[0] == pytest.approx(1.0)


def test_index_return_is_cap_weighted_with_yesterdays_weights(make_market, small_cfg):
    m = make_market({"A": [60.0, 66.0], "B": [40.0, 40.0]})
    assert index_returns(m, small_cfg)[1] == pytest.approx(0.6 * 0.1)


def test_crowding_by_hand(make_market, small_cfg):
    # A (top-1) +10% then -10%; B flat then +10%
    m = make_market({"A": [60.0, 66.0, 59.4], "B": [40.0, 40.0, 44.0]})
    cr = crowding(m, small_cfg)
    c1, r1 = 0.6 * 0.1, 0.6 * 0.1
    c2 = 66 / 106 * -0.1
    r2 = c2 + 40 / 106 * 0.1
    row = cr.iloc[2]
    assert row["topk_down_share"] == pytest.approx(c2 / r2)  # A made 254% of the loss
    assert row["topk_up_share"] == pytest.approx(c1 / r1)
    assert row["down_minus_up"] == pytest.approx(c2 / r2 - 1.0)
    assert row["topk_variance_share"] == pytest.approx((c1 - c2) / (r1 - r2))
    assert row["topk_weight"] == pytest.approx(66 / 106)
    assert cr.iloc[:2]["down_minus_up"].isna().all()  # no full window yet

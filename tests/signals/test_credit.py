"""C6 credit handoff: series alignment, growth, BDC proxy and missing data."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.signals.credit import aligned_series, credit, credit_status

SERIES = [
    {"series_id": "BUSLOANS", "date": "2022-12-31", "value": 100.0},
    {"series_id": "BUSLOANS", "date": "2023-01-02", "value": 101.0},
    {"series_id": "BUSLOANS", "date": "2024-01-01", "value": 103.0},
    {"series_id": "PRIVATE_CREDIT_AUM", "date": "2022-12-31", "value": 1000.0},
    {"series_id": "PRIVATE_CREDIT_AUM", "date": "2023-12-31", "value": 1200.0},
    {"series_id": "BAMLH0A0HYM2", "date": "2024-01-01", "value": 4.0},
    {"series_id": "BAMLH0A0HYM2", "date": "2024-01-02", "value": 3.5},
    {"series_id": "BAMLH0A0HYM2", "date": "2024-01-03", "value": 3.0},
]
CLOSES = {"A": [50.0, 50.0, 50.0], "BDC": [10.0, 11.0, 12.0]}


def test_credit_by_hand(make_market, small_cfg):
    m = make_market(CLOSES, series=SERIES, securities={"A": {"is_bdc": False}, "BDC": {"is_bdc": True}})
    c = credit(m, small_cfg)
    # 2024-01-01 looks back to 2023-01-01 (value of 2022-12-31); 2024-01-02 to 2023-01-02
    np.testing.assert_allclose(c["bank_loan_growth"], [0.03, 103 / 101 - 1, 103 / 101 - 1])
    np.testing.assert_allclose(c["private_credit_growth"], 0.2)
    np.testing.assert_allclose(c["handoff"], 0.2 - c["bank_loan_growth"])
    np.testing.assert_allclose(c["hy_spread"], [4.0, 3.5, 3.0])
    assert c["hy_spread_change"].iloc[2] == pytest.approx(-1.0)
    np.testing.assert_allclose(c["bdc_cap"], [10.0, 11.0, 12.0])
    assert c["bdc_cap_growth"].iloc[2] == pytest.approx(0.2)
    assert c["bdc_return"].iloc[2] == pytest.approx(0.2)
    assert all(v is None for v in credit_status(m).values())


def test_series_value_is_the_last_one_on_or_before_each_date(make_market):
    m = make_market(CLOSES, series=SERIES)
    np.testing.assert_allclose(aligned_series(m, "BUSLOANS"), [103.0, 103.0, 103.0])
    np.testing.assert_allclose(aligned_series(m, "BUSLOANS", shift_days=366), [100.0, 100.0, 101.0])
    assert np.isnan(aligned_series(m, "NOPE")).all()


def test_bdc_cap_is_the_private_credit_proxy_without_aum(make_market, small_cfg):
    series = [s for s in SERIES if s["series_id"] != "PRIVATE_CREDIT_AUM"]
    m = make_market(CLOSES, series=series, securities={"A": {"is_bdc": False}, "BDC": {"is_bdc": True}})
    c = credit(m, small_cfg)
    assert c["private_credit_growth"].iloc[2] == pytest.approx(0.2)
    assert "BDC market cap used" in credit_status(m)["PRIVATE_CREDIT_AUM"]


def test_missing_series_give_nan_and_a_reason(make_market, small_cfg):
    m = make_market(CLOSES)
    c = credit(m, small_cfg)
    assert c[["bank_loan_growth", "hy_spread", "handoff", "bdc_cap"]].isna().all().all()
    status = credit_status(m)
    assert "BUSLOANS" in status["BUSLOANS"] and "BAMLH0A0HYM2" in status["BAMLH0A0HYM2"]
    assert status["bdcs"] == "no securities flagged is_bdc"


def test_long_history_spread_is_used_when_stored(make_market, small_cfg):
    from broadening.signals.credit import spread_series

    m = make_market(CLOSES, series=SERIES)
    c = credit(m, small_cfg)
    assert spread_series(m) == "BAMLH0A0HYM2"  # no BAA10Y: the HY OAS
    np.testing.assert_allclose(c["credit_spread"], c["hy_spread"])
    assert c["baa_spread"].isna().all()
    baa = [{"series_id": "BAA10Y", "date": d, "value": v}
           for d, v in (("1986-01-02", 2.34), ("2024-01-01", 1.70), ("2024-01-03", 1.90))]
    m = make_market(CLOSES, series=SERIES + baa)
    c = credit(m, small_cfg)
    assert spread_series(m) == "BAA10Y"
    np.testing.assert_allclose(c["credit_spread"], [1.70, 1.70, 1.90])
    assert c["credit_spread_change"].iloc[2] == pytest.approx(0.20)
    np.testing.assert_allclose(c["hy_spread"], [4.0, 3.5, 3.0])  # unchanged


def test_c6_is_judged_on_the_long_history_spread_when_stored(make_market, small_cfg):
    """The HY OAS tightens (-1.00) while BAA-10y widens (+0.20): without BAA10Y the claim is
    supported, with it the spread condition fails and the verdict is mixed, naming the series."""
    from broadening.signals.scorecard import scorecard

    securities = {"A": {"is_bdc": False}, "BDC": {"is_bdc": True}}
    baa = [{"series_id": "BAA10Y", "date": d, "value": v}
           for d, v in (("1986-01-02", 2.34), ("2024-01-01", 1.70), ("2024-01-03", 1.90))]
    hy_only = scorecard(make_market(CLOSES, series=SERIES, securities=securities), small_cfg)
    row = hy_only.table.set_index("id").loc["C6"]
    assert row["verdict"] == "supported"
    assert row["reason"] == "private credit +20.0% vs banks +2.0% y/y; HY spread 3.00% (-1.00 over 2d)"
    with_baa = scorecard(make_market(CLOSES, series=SERIES + baa, securities=securities), small_cfg)
    row = with_baa.table.set_index("id").loc["C6"]
    assert row["verdict"] == "mixed"
    assert row["reason"] == "private credit +20.0% vs banks +2.0% y/y; BAA-10y spread 1.90% (+0.20 over 2d)"

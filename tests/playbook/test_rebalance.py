"""The trade list: a hand-computed three-name book, round lots, costs as the engine charges, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadening.backtest import backtest
from broadening.errors import BroadeningError, DataValidationError
from broadening.market import Market
from broadening.playbook.config import (
    ConstraintsSection,
    CostsSection,
    PlaybookConfig,
    SleevesSection,
    TrimSection,
)
from broadening.playbook.rebalance import check_holdings, read_holdings, rebalance

T = 30
ONLY_CORE = SleevesSection(equal_weight_core=1.0, quality_domestic_cyclicals=0.0, ai_adopters=0.0,
                           small_cap_quality=0.0, bdcs=0.0)


def three_name_config(**constraints) -> PlaybookConfig:
    """Trim the largest name to 40%, hand the rest to an equal-weight core; 10 bps, no spread."""
    return PlaybookConfig(
        trim=TrimSection(top_k=1, mode="cap", cap=0.4, regime_scaling=False),
        sleeves=ONLY_CORE,
        constraints=ConstraintsSection(max_weight=1.0, **constraints),
        costs=CostsSection(bps=10.0, spread_bps=0.0),
    )


def three_name_tables(build_tables) -> dict[str, pd.DataFrame]:
    """A at 100 (6 shares out), B at 50 (6), C at 20 (5): caps 600/300/100, cap weights 60/30/10%.

    D traded only for the first ten days (delisted); every price is flat, so returns are zero.
    """
    closes = {"A": [100.0] * T, "B": [50.0] * T, "C": [20.0] * T, "D": [10.0] * 10 + [None] * (T - 10)}
    return build_tables(closes, shares={"A": 6.0, "B": 6.0, "C": 5.0, "D": 1.0},
                        sectors={"A": "Information Technology", "B": "Industrials", "C": "Industrials", "D": "Energy"})


@pytest.fixture
def market(make_tables) -> Market:
    return Market.from_tables(three_name_tables(make_tables))


def book(**shares: float) -> pd.DataFrame:
    return pd.DataFrame({"ticker": list(shares), "shares": list(shares.values())})


def test_three_name_book_trade_list_by_hand(market):
    # playbook target: A trimmed 60% -> 40%, the freed 20% split over B and C: A 40%, B 40%, C 20%
    # book: 10 A ($1,000) + 50 C ($1,000), no cash: V = 2,000, weights A 50%, C 50%
    # costs 10 bps: V' = V - 0.001 (|0.4V' - 1000| + |0.4V'| + |0.2V' - 1000|) = 2000 - 0.001 (2000 - 0.2 V')
    #   => V' = 1998 / 0.9998
    tl = rebalance(market, book(A=10, C=50), three_name_config(), baskets={})
    vp = 1998 / 0.9998
    tr = tl.trades.set_index("ticker")
    assert list(tr.index) == ["A", "B", "C"]  # sorted by target weight (A and B tie at 40%; A held now)
    np.testing.assert_allclose(tr["target_weight"], [0.4, 0.4, 0.2], atol=1e-15)
    np.testing.assert_allclose(tr["current_weight"], [0.5, 0.0, 0.5], atol=1e-15)
    np.testing.assert_allclose(tr["trade_value"], [0.4 * vp - 1000, 0.4 * vp, 0.2 * vp - 1000], rtol=1e-12)
    np.testing.assert_allclose(tr["trade_shares"], [(0.4 * vp - 1000) / 100, 0.4 * vp / 50, (0.2 * vp - 1000) / 20],
                               rtol=1e-12)
    np.testing.assert_allclose(tr["est_cost"], 0.001 * np.abs([0.4 * vp - 1000, 0.4 * vp, 0.2 * vp - 1000]), rtol=1e-12)
    np.testing.assert_allclose(tr["benchmark_weight"], [0.6, 0.3, 0.1], atol=1e-15)
    # the sleeve holding most of a name: B 30% cap + 10% core; C 10% + 10% (a tie goes to the first sleeve)
    assert list(tr["sleeve"]) == ["cap_weight", "cap_weight", "cap_weight"]
    tot = tl.totals
    assert tot["nav"] == 2000.0 and tot["nav_after"] == pytest.approx(vp, rel=1e-13)
    assert tot["est_cost"] == pytest.approx(2000 - vp, rel=1e-10)
    assert tot["cash_after"] == 0.0
    # one-way turnover: 0.5 (|0.4V'-1000| + 0.4V' + |0.2V'-1000|) / 2000
    assert tot["turnover"] == pytest.approx(0.5 * (2000 - 0.2 * vp) / 2000, rel=1e-12)
    assert tot["active_share_before"] == pytest.approx(0.5 * (0.1 + 0.3 + 0.4))
    assert tot["active_share_after"] == pytest.approx(0.5 * (0.2 + 0.1 + 0.1))
    assert tot["sector_weights_before"] == pytest.approx({"Information Technology": 0.5, "Industrials": 0.5})
    assert tot["sector_weights_after"] == pytest.approx({"Information Technology": 0.4, "Industrials": 0.6})
    assert tot["sector_weights_benchmark"] == pytest.approx({"Information Technology": 0.6, "Industrials": 0.4})
    assert tot["tracking_error_before"] == 0.0 and tot["tracking_error_after"] == 0.0  # flat prices: no risk
    assert (tot["names_before"], tot["names_after"], tot["buys"], tot["sells"]) == (2, 3, 1, 2)


def test_round_lots_by_hand(market):
    # exact trades: A -2.006, B +15.99, C -30.02 shares; lots of 5: buys round down, sells round up
    tl = rebalance(market, book(A=10, C=50), three_name_config(), round_lot=5, baskets={})
    tr = tl.trades.set_index("ticker")
    assert list(tr.loc[["A", "B", "C"], "trade_shares"]) == [-5.0, 15.0, -35.0]
    assert list(tr.loc[["A", "B", "C"], "final_shares"]) == [5.0, 15.0, 15.0]
    # cash: +500 - 750 + 700 - 0.001 x 1950
    assert tl.totals["cash_after"] == pytest.approx(448.05, abs=1e-9)
    assert tl.totals["est_cost"] == pytest.approx(1.95, abs=1e-12)
    assert tl.totals["nav_after"] == pytest.approx(2000 - 1.95, abs=1e-9)
    np.testing.assert_allclose(tr.loc[["A", "B", "C"], "final_weight"], np.array([500, 750, 300]) / 1998.05)
    # lots larger than the trades: B's 16-share target is not bought; A's and C's sells round up to a
    # lot, capped at the position, so they sell out (each still within a lot of its target); the
    # notes say why the book holds cash
    big = rebalance(market, book(A=10, C=50), three_name_config(), round_lot=1000, baskets={})
    tb = big.trades.set_index("ticker")
    assert list(tb.loc[["A", "B", "C"], "final_shares"]) == [0.0, 0.0, 0.0]
    assert big.totals["cash_after"] == pytest.approx(2000 * 0.999)
    assert any("3 target(s) smaller than one lot" in n for n in big.notes)


def test_cash_only_book_costs_match_the_engine(market):
    # building the book from cash is the engine's first rebalance: same cost to the cent
    cfg = PlaybookConfig(trim=TrimSection(top_k=1, cap=0.4, regime_scaling=False), sleeves=ONLY_CORE,
                         constraints=ConstraintsSection(max_weight=1.0),
                         costs=CostsSection(bps=7.0, spread_bps=20.0, spread_ref_cap=500.0, max_spread_bps=40.0))
    tl = rebalance(market, book(), cfg, cash=1_000_000.0, baskets={})
    tr = tl.trades.set_index("security_id")
    t = len(market.dates) - 1
    w = np.zeros(len(market.ids))
    w[np.searchsorted(market.ids, tr.index.to_numpy())] = tr["target_weight"].to_numpy()
    res = backtest(market, w[None, :], np.array([t]), costs=cfg.cost_model())
    assert tl.totals["est_cost"] == pytest.approx(float(res.costs.iloc[0]) * 1_000_000.0, abs=1e-6)
    assert tl.totals["nav_after"] == pytest.approx(float(res.value.iloc[-1]) * 1_000_000.0, abs=1e-6)


def test_turnover_budget_is_measured_from_the_book(market):
    cfg = three_name_config(turnover_budget=0.1)
    tl = rebalance(market, book(A=10, C=50), cfg, baskets={})
    tr = tl.trades.set_index("ticker")
    # a full move turns over 40% of weight; a = 0.1 / 0.4: w = 0.75 current + 0.25 target
    np.testing.assert_allclose(tr.loc[["A", "B", "C"], "target_weight"],
                               [0.75 * 0.5 + 0.25 * 0.4, 0.25 * 0.4, 0.75 * 0.5 + 0.25 * 0.2], atol=1e-15)
    assert tl.totals["turnover"] <= 0.1 + tl.totals["est_cost"] / tl.totals["nav"]
    assert any("turnover budget" in n for n in tl.notes)


def test_tracking_error_uses_the_playbook_covariance(make_market):
    # three names with random returns: with 3 factors for 3 names the factor model is the sample
    # covariance C, so S = (1 - s) C + s diag(C) exactly; TE = sqrt(252 d' S d)
    rng = np.random.default_rng(5)
    n_days = 60
    closes = {k: list(100 * np.cumprod(1 + rng.normal(0, 0.01 * (i + 1), n_days))) for i, k in enumerate("ABC")}
    m = make_market(closes, shares={"A": 6.0, "B": 3.0, "C": 1.0})
    cfg = three_name_config(te_lookback=40, te_shrinkage=0.3)
    tl = rebalance(m, book(A=1, B=2, C=3), cfg, baskets={})
    t = n_days - 1
    X = m.returns[t - 39: t + 1]
    C = np.cov(X, rowvar=False, ddof=1)
    S = 0.7 * C + 0.3 * np.diag(np.diag(C))
    wb = m.market_cap[t] / m.market_cap[t].sum()
    tr = tl.trades.set_index("ticker").loc[["A", "B", "C"]]
    for when, w in (("before", tr["current_weight"].to_numpy()), ("after", tr["final_weight"].to_numpy())):
        d = w - wb
        assert tl.totals[f"tracking_error_{when}"] == pytest.approx(np.sqrt(252 * d @ S @ d), rel=1e-8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    a=st.floats(0, 1e5), b=st.floats(0, 1e5), c=st.floats(0, 1e5), cash=st.floats(0, 1e7),
    lot=st.sampled_from([None, 1, 7, 100]),
)
def test_trades_turn_the_book_into_the_targets(market, a, b, c, cash, lot):
    if a * 100 + b * 50 + c * 20 + cash < 1.0:
        return
    tl = rebalance(market, book(A=a, B=b, C=c), three_name_config(), cash=cash, round_lot=lot, baskets={})
    tr = tl.trades
    after = tr["current_shares"] + tr["trade_shares"]
    values = after * tr["price"]
    nav = float(values.sum()) + tl.totals["cash_after"]
    # the book after the trade is worth what it was, less the costs paid
    assert nav == pytest.approx(tl.totals["nav"] - tl.totals["est_cost"], rel=1e-12)
    assert tl.totals["cash_after"] >= 0
    if lot is None:
        np.testing.assert_allclose(values / nav, tr["target_weight"], atol=1e-12)
    else:
        assert np.all(np.abs(after - tr["target_shares"]) <= lot * (1 + 1e-9))
        whole_lots = np.abs(tr["trade_shares"] / lot - np.round(tr["trade_shares"] / lot)) < 1e-9
        sold_out = tr["trade_shares"] == -tr["current_shares"]  # a whole position may be an odd lot
        assert np.all(whole_lots | sold_out)
        np.testing.assert_allclose(values / nav, tr["final_weight"], atol=1e-12)


# -- errors ---------------------------------------------------------------------------------------
def test_unknown_ticker_names_it_and_its_row(market):
    with pytest.raises(DataValidationError, match=r"row 2, column 'ticker': expected a ticker the warehouse knows.*'ZZZ'"):
        rebalance(market, book(A=1, ZZZ=3), three_name_config(), baskets={})


def test_holding_without_a_price_on_the_date(market):
    with pytest.raises(DataValidationError, match=r"row 1, column 'ticker': expected a holding with a price on .*'D'"):
        rebalance(market, book(D=4, A=1), three_name_config(), baskets={})
    # the same book as of a date when D still traded is fine
    tl = rebalance(market, book(D=4, A=1), three_name_config(), asof=str(market.dates[5]), baskets={})
    assert tl.totals["asof"] == str(market.dates[5])


@pytest.mark.parametrize("frame, match", [
    (pd.DataFrame({"ticker": ["A", "a"], "shares": [1, 2]}), r"rows 1, 2, column 'ticker': expected each ticker once"),
    (pd.DataFrame({"ticker": ["A", "B"], "shares": [1, -2]}), r"row 2, column 'shares': expected a number of shares >= 0"),
    (pd.DataFrame({"ticker": ["A", "B"], "shares": [1, np.nan]}), r"row 2, column 'shares'"),
    (pd.DataFrame({"ticker": ["A", ""], "shares": [1, 2]}), r"row 2, column 'ticker': expected a ticker on every row"),
    (pd.DataFrame({"name": ["A"], "shares": [1]}), r"expected columns 'ticker,shares'"),
])
def test_bad_holdings_frames(frame, match):
    with pytest.raises(DataValidationError, match=match):
        check_holdings(frame)


def test_security_ids_and_files(market, tmp_path):
    csv = tmp_path / "book.csv"
    csv.write_text("security_id, shares\nA, 10\nC, 50\n")
    tl = rebalance(market, csv, three_name_config(), baskets={})
    assert tl.totals["nav"] == 2000.0
    pq = tmp_path / "book.parquet"
    pd.DataFrame({"Ticker": ["A", "C"], "Shares": [10.0, 50.0]}).to_parquet(pq)
    assert rebalance(market, pq, three_name_config(), baskets={}).totals["nav"] == 2000.0
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,shares\nA,ten\n")
    with pytest.raises(DataValidationError, match=r"bad.csv, row 2, column 'shares'.*'ten'"):
        read_holdings(bad)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(DataValidationError, match=r"junk.parquet: expected a readable Parquet file"):
        read_holdings(junk)
    with pytest.raises(DataValidationError, match="no such file"):
        read_holdings(tmp_path / "missing.csv")


def test_bad_cash_lots_and_an_empty_book(market):
    with pytest.raises(BroadeningError, match="cash"):
        rebalance(market, book(A=1), three_name_config(), cash=-1.0, baskets={})
    with pytest.raises(BroadeningError, match="round lot"):
        rebalance(market, book(A=1), three_name_config(), round_lot=0, baskets={})
    with pytest.raises(BroadeningError, match="worth nothing"):
        rebalance(market, book(A=0), three_name_config(), baskets={})

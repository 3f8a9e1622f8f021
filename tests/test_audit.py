"""broadening.audit: nothing found on clean data (a hand-built market and the tiny synthetic
one), and each planted defect flagged by its own check."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from broadening.audit import CHECKS, Finding, audit, cap_jumps, data_notes
from broadening.market import Market

N_DAYS = 400


def clean_tables(make_tables):
    """Three securities over 400 business days from 2023-01-02, quarterly filings, C6 series."""
    rng = np.random.default_rng(3)
    closes = {s: list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, N_DAYS)))) for s in ("A", "B", "C")}
    dates = pd.bdate_range("2023-01-02", periods=N_DAYS)
    fund = [{"security_id": s, "period_end": pe, "available_date": pe + pd.Timedelta(days=30), "net_income": 1.0,
             "book_equity": 10.0, "total_debt": 1.0}
            for s in closes for pe in pd.date_range("2022-12-31", dates[-1], freq="QE")]
    series = [{"series_id": "BUSLOANS", "date": d, "value": 100.0 + i} for i, d in enumerate(pd.date_range("2022-12-01", dates[-1], freq="MS"))]
    series += [{"series_id": "BAMLH0A0HYM2", "date": d, "value": 4.0} for d in dates]
    return make_tables(closes, start="2023-01-02", shares={"A": 1e9, "B": 2e9, "C": 3e9}, fundamentals=fund, series=series)


def market_of(tables) -> Market:
    return Market.from_tables(tables)


def test_clean_market_has_no_findings(make_tables):
    rep = audit(market_of(clean_tables(make_tables)))
    assert rep.ok and rep.counts() == dict.fromkeys(CHECKS, 0), rep.findings
    assert "no findings" in rep.summary()


def test_the_tiny_synthetic_market_has_no_findings(tiny_market):
    rep = audit(tiny_market)
    assert rep.ok, rep.findings[:5]


def test_split_missed_in_the_share_count_is_a_cap_jump(make_tables):
    t = clean_tables(make_tables)
    p = t["prices"]
    day = pd.bdate_range("2023-01-02", periods=N_DAYS)[200]
    # a 10:1 split in the raw close, total return continuous, shares never re-based
    m = (p["security_id"] == "B") & (p["date"] >= day)
    p.loc[m, "close"] = p.loc[m, "close"] / 10
    rep = audit(market_of(t))
    assert [f.check for f in rep.findings] == ["cap_jump"]
    f = rep.findings[0]
    assert f.item == "B" and f.date == str(day.date()) and f.value == pytest.approx(10, rel=0.05)
    # re-basing the count on the split day clears it
    t["shares"] = pd.concat([t["shares"], pd.DataFrame({"security_id": ["B"], "date": [day], "shares_outstanding": [2e10]})])
    assert audit(market_of(t)).ok


def _cap_jumps_by_the_whole_panel(market, jump: float) -> list[Finding]:
    """The check as first written: logs over every cell (the reference for the screened one)."""
    cap, tri = market.market_cap, market.total_return_index
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(np.log(cap[1:] / cap[:-1]) - np.log(tri[1:] / tri[:-1]))
    bad = np.isfinite(gap) & (gap > np.log1p(jump))
    out = []
    for j in np.flatnonzero(bad.any(axis=0)):
        days = np.flatnonzero(bad[:, j])
        worst = days[np.argmax(gap[days, j])]
        day = str(pd.Timestamp(market.dates[worst + 1]).date())
        ratio = float(np.exp(gap[worst, j]))
        out.append(Finding("cap_jump", str(market.ids[j]), day,
                           f"{len(days)} day(s) with a market-cap move the price does not show; worst "
                           f"x{ratio:.2f} on {day} (a split missed in the share count?)", ratio))
    return out


@pytest.mark.parametrize("jump", [0.4, 0.1, 0.01, 0.0])
def test_cap_jumps_screen_finds_what_the_whole_panel_finds(jump):
    # moves planted a hair either side of the threshold, zeros, gaps and listings: the ratio
    # screen must never drop a cell the exact log test keeps (nor change a number)
    rng = np.random.default_rng(11)
    T, N = 300, 40
    tri = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, (T, N)), axis=0))
    cap = tri * rng.uniform(1e8, 1e9, N)
    cap[:30, 3] = tri[:30, 3] = np.nan  # listed late
    cap[250:, 4] = tri[250:, 4] = np.nan  # delisted
    cap[100, 5] = 0.0
    cap[120, 6] = np.inf
    for j, k in enumerate(range(8, N)):
        f = 1.4 * (1 + (-1) ** j * 10.0 ** -(8 + j % 7)) if j % 3 else (1.1, 1.01, 1.001, 0.5)[j % 4]
        cap[150 + j :, k] *= f
    ids = np.array([f"S{i}" for i in range(N)])
    m = SimpleNamespace(market_cap=cap, total_return_index=tri, ids=ids, security_ids=ids, packed=False,
                        occupants_at=lambda rows: np.broadcast_to(np.arange(N), (len(rows), N)),
                        dates=pd.bdate_range("2020-01-01", periods=T))
    got, want = cap_jumps(m, jump), _cap_jumps_by_the_whole_panel(m, jump)
    assert got == want
    if jump == 0.4:
        assert 5 <= len(want) < N // 2  # the planted ones just over 1.4 (the screened path)


def test_stale_fundamentals_of_a_live_company(make_tables):
    t = clean_tables(make_tables)
    f = t["fundamentals"]
    t["fundamentals"] = f[~((f["security_id"] == "C") & (f["period_end"] > "2023-06-30"))]
    rep = audit(market_of(t))
    assert [(x.check, x.item) for x in rep.findings] == [("stale_fundamentals", "C")]
    assert rep.findings[0].date == "2023-07-30"


def test_short_claim_series(make_tables):
    t = clean_tables(make_tables)
    s = t["series"]
    t["series"] = s[~((s["series_id"] == "BAMLH0A0HYM2") & (s["date"] < "2024-03-01"))]
    rep = audit(market_of(t))
    assert [(x.check, x.item) for x in rep.findings] == [("short_series", "BAMLH0A0HYM2")]
    # with the long-history spread stored, C6 is judged on it: the short HY series no longer matters
    baa = pd.DataFrame({"series_id": "BAA10Y", "date": pd.bdate_range("1990-01-02", "2024-07-31", freq="W-FRI"), "value": 2.0})
    t["series"] = pd.concat([t["series"], baa], ignore_index=True)
    assert audit(market_of(t)).ok


def test_members_without_prices(make_tables):
    t = clean_tables(make_tables)
    # D is a member from the start but never priced; A stays a member after its last price
    t["securities"] = pd.concat([t["securities"], pd.DataFrame({"security_id": ["D"], "ticker": ["D"], "name": ["D"]})])
    t["membership"] = pd.concat([t["membership"], pd.DataFrame(
        {"index_id": ["sp500"], "security_id": ["D"], "start": [pd.Timestamp("2023-01-02")], "end": [pd.NaT]})])
    p = t["prices"]
    t["prices"] = p[~((p["security_id"] == "A") & (p["date"] > pd.bdate_range("2023-01-02", periods=N_DAYS)[389]))]
    rep = audit(market_of(t))
    found = {(x.check, x.item): x for x in rep.findings}
    assert set(found) == {("member_without_price", "A (sp500)"), ("member_without_price", "D (sp500)")}
    assert found[("member_without_price", "A (sp500)")].value == 10
    assert "never priced" in found[("member_without_price", "D (sp500)")].detail


def test_share_counts_disagreeing_between_sources(make_tables):
    m = market_of(clean_tables(make_tables))
    counts = pd.DataFrame({
        "security_id": ["A", "A", "A", "B"], "source": ["sec", "yahoo", "yahoo", "yahoo"],
        "date": pd.to_datetime(["2023-02-01", "2023-03-01", "2023-06-01", "2023-03-01"]),
        "as_of": pd.to_datetime(["2023-01-25", "2023-03-01", "2023-06-01", "2023-03-01"]),
        "shares_outstanding": [1e9, 1.02e9, 1.2e9, 5e9],
    })
    rep = audit(m, share_counts=counts)
    assert [(x.check, x.item) for x in rep.findings] == [("shares_disagree", "A")]
    assert rep.findings[0].value == pytest.approx(0.2) and rep.findings[0].date == "2023-06-01"
    # a 2:1 split between the two counts is not a disagreement once both are re-based
    splits = pd.DataFrame({"security_id": ["A"], "date": [pd.Timestamp("2023-05-01")], "ratio": [2.0]})
    counts.loc[2, "shares_outstanding"] = 2.02e9
    assert audit(m, share_counts=counts, splits=splits).ok


def test_data_notes_for_the_report(make_tables):
    t = clean_tables(make_tables)
    p = t["prices"]
    m = (p["security_id"] == "B") & (p["date"] >= "2023-06-01")
    p.loc[m, "close"] = p.loc[m, "close"] / 4
    lines = data_notes(market_of(t))
    assert lines[0].startswith("Data audit (broadening check): cap_jump 1")
    assert lines[1].startswith("cap_jump: B:")


def test_universe_note_states_survivorship_and_the_domestic_share_source(make_tables):
    from broadening.audit import universe_note
    from broadening.warehouse import Warehouse

    t = clean_tables(make_tables)
    with Warehouse(":memory:") as wh:
        wh.ingest({"securities": t["securities"], "prices": t["prices"], "shares": t["shares"]}, source="yahoo")
        wh.ingest({"membership": t["membership"]}, source="index-constitution 1.0.1")
        from broadening.market import load_market

        note = universe_note(load_market(wh))
    assert "index-constitution 1.0.1" in note and "survivorship bias" in note and "sector proxy" in note
    assert universe_note(market_of(t)) is None  # not a live pull: nothing to say


def test_pull_gap_notes_by_hand():
    from broadening.audit import pull_gap_notes

    pull = {"gaps": {"sec": {"no_cik": 3, "late_field_values": 12}, "yahoo": {}, "fred": {"short_history": 1}}}
    assert pull_gap_notes(pull) == ["gaps (sec): no cik 3, late field values 12", "gaps (fred): short history 1"]
    assert pull_gap_notes(None) == [] and pull_gap_notes({"universe": "sp500"}) == []


# -- issue #17 ------------------------------------------------------------------------------------
def test_a_claim_series_that_stopped_updating(make_tables):
    t = clean_tables(make_tables)
    s = t["series"]
    # the HY spread stops 2023-09-29 (the prices run to 2024-07-12); no bank-loan series at all
    t["series"] = s[(s["series_id"] == "BAMLH0A0HYM2") & (s["date"] <= "2023-09-29")]
    rep = audit(market_of(t))
    assert [(x.check, x.item, x.date) for x in rep.findings] == [("short_series", "BAMLH0A0HYM2", "2023-09-29")]
    end = pd.bdate_range("2023-01-02", periods=N_DAYS)[-1]
    days = (end - pd.Timestamp("2023-09-29")).days
    assert rep.findings[0].detail == f"C6 series ends 2023-09-29, {days} days before the prices"
    assert rep.findings[0].value == days


def test_no_membership_stored_is_not_a_finding(make_tables):
    t = clean_tables(make_tables)
    del t["membership"]
    rep = audit(market_of(t))
    assert rep.ok and rep.checked["member_without_price"] == "0 membership intervals, more than 5 days unpriced"


def test_counts_of_two_sources_without_the_sec_are_compared_to_the_first(make_tables):
    m = market_of(clean_tables(make_tables))
    counts = pd.DataFrame({
        "security_id": ["A", "A"], "source": ["yahoo", "files"],
        "date": pd.to_datetime(["2023-03-01", "2023-03-01"]), "as_of": pd.to_datetime(["2023-03-01", "2023-03-01"]),
        "shares_outstanding": [1e9, 1.3e9],
    })
    rep = audit(m, share_counts=counts)
    assert [(x.check, x.item, x.date) for x in rep.findings] == [("shares_disagree", "A", "2023-03-01")]
    assert rep.findings[0].value == pytest.approx(0.3)
    # the message names the source compared against (it said "the SEC's" when there was no SEC count)
    assert rep.findings[0].detail == ("1 count(s) differ from yahoo's by more than 5%; worst +30.0% on 2023-03-01 "
                                      "(1,300,000,000 vs 1,000,000,000)")


def test_audit_warehouse_reads_the_raw_counts_a_pull_kept(make_tables):
    from broadening import live_store
    from broadening.audit import audit_warehouse
    from broadening.warehouse import Warehouse

    t = clean_tables(make_tables)
    with Warehouse(":memory:") as wh:
        wh.ingest(t, source="yahoo")
        assert audit_warehouse(wh).checked["shares_disagree"] == "no second source of share counts"
        live_store.ensure_side_tables(wh)
        day = pd.DataFrame({"date": [pd.Timestamp("2023-03-01")], "as_of": [pd.Timestamp("2023-03-01")]})
        live_store.store_raw_counts(wh, "sec", ["A"], {"A": day.assign(shares_outstanding=1e9)})
        live_store.store_raw_counts(wh, "yahoo", ["A"], {"A": day.assign(shares_outstanding=1.5e9)})
        live_store.store_splits(wh, ["A"], pd.DataFrame(columns=["security_id", "date", "ratio"]))
        rep = audit_warehouse(wh)
    assert [(x.check, x.item) for x in rep.findings] == [("shares_disagree", "A")]
    assert rep.findings[0].detail.startswith("1 count(s) differ from the SEC's by more than 5%; worst +50.0%")
    assert rep.checked["shares_disagree"] == "1 securities, tolerance 5%"


def test_universe_note_of_a_ticker_list(make_tables):
    from broadening.audit import universe_note
    from broadening.market import load_market
    from broadening.warehouse import Warehouse

    t = clean_tables(make_tables)
    with Warehouse(":memory:") as wh:
        wh.ingest({"securities": t["securities"], "prices": t["prices"], "shares": t["shares"]}, source="yahoo")
        wh.ingest({"securities": t["securities"]}, source="csv:/mine/securities.csv")
        note = universe_note(load_market(wh))
    assert note == ("Universe: a fixed list of tickers chosen today, so it holds only names that exist now "
                    "(survivorship bias) and index membership is not point-in-time. Domestic-revenue share: a sector "
                    "proxy (S&P DJI global-sales shares by sector) where no value was supplied; values from "
                    "csv:/mine/securities.csv kept.")


def test_data_notes_list_ten_findings_and_count_the_rest(make_tables):
    t = clean_tables(make_tables)
    ids = [f"D{i:02d}" for i in range(12)]  # twelve members never priced: twelve findings
    t["securities"] = pd.concat([t["securities"], pd.DataFrame({"security_id": ids, "ticker": ids, "name": ids})])
    t["membership"] = pd.concat([t["membership"], pd.DataFrame(
        {"index_id": "sp500", "security_id": ids, "start": pd.Timestamp("2023-01-02"), "end": pd.NaT})])
    lines = data_notes(market_of(t))
    assert lines[0].startswith("Data audit (broadening check): member_without_price 12")
    assert [ln.split(":")[1].strip() for ln in lines[1:11]] == [f"{i} (sp500)" for i in ids[:10]]
    assert lines[11:] == ["... and 2 more (run broadening check)"]

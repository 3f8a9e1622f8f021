"""SEC company facts: ticker map, quarter rows (direct, YTD-differenced, FY minus 3 quarters),
first-reported values with filing dates, debt assembly, shares, User-Agent, rate limit, errors."""

from __future__ import annotations

import copy
import json
import time

import pandas as pd
import pytest
from localserver import Reply, payload

from broadening.errors import BroadeningError
from broadening.providers.http import MalformedResponseError, NotFoundError
from broadening.providers.sec import (
    SecProvider,
    fetch_many,
    parse_company_tickers,
    quarterly_fundamentals,
    sec_user_agent,
    shares_outstanding,
)
from broadening.schema import validate_table

M = 1e6
FACTS = "/api/xbrl/companyfacts/CIK0001234567.json"


def sec_routes(server):
    server.routes["/files/company_tickers.json"] = Reply(200, payload("sec_company_tickers.json"), {"Content-Type": "application/json"})
    server.routes[FACTS] = Reply(200, payload("sec_companyfacts_CIK0001234567.json"), {"Content-Type": "application/json"})
    server.routes["/api/xbrl/companyfacts/CIK0007654321.json"] = Reply(200, b'{"cik": 7654321, "entityName": "Beta", "facts": {"us-gaap": {')
    # GONE is in the map but has no facts: 404, as EDGAR answers


@pytest.fixture
def sec(server, make_client):
    sec_routes(server)
    return SecProvider(make_client(), base_url=server.url, user_agent="Test Co test@example.com")


@pytest.fixture
def facts():
    return json.loads(payload("sec_companyfacts_CIK0001234567.json"))


def test_quarter_rows_hand_computed(facts):
    f = quarterly_fundamentals(facts, "ACME")
    validate_table("fundamentals", f)
    f = f.set_index("period_end")
    q = {d: f.loc[pd.Timestamp(d)] for d in ("2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31")}
    # revenue: reported quarters, Q4 = 12-month YTD - 9-month YTD
    assert [q[d]["revenue"] / M for d in q] == pytest.approx([100, 110, 120, 130, 125])
    # first-reported: the Q1 2023 value restated to 101 in 2024 keeps 100
    # net income: only quarters and the annual value: Q4 = 50 - (10 + 11 + 12)
    assert q["2023-12-31"]["net_income"] / M == pytest.approx(17)
    # capex reported only year-to-date: 5, 12, 20, 30 -> 5, 7, 8, 10
    assert [q[d]["capex"] / M for d in q] == pytest.approx([5, 7, 8, 10, 6])
    assert [q[d]["eps"] for d in q] == pytest.approx([1.0, 1.1, 1.2, 1.3, 1.25])
    assert [q[d]["operating_income"] / M for d in q] == pytest.approx([20, 22, 24, 26, 27])
    assert [q[d]["book_equity"] / M for d in q] == pytest.approx([510, 520, 530, 540, 550])
    # debt: non-current + current (220); in 2024 only LongTermDebt + ShortTermBorrowings (235)
    assert [q[d]["total_debt"] / M for d in q] == pytest.approx([220, 220, 220, 220, 235])
    # availability: the filing date of the period's report (Q4 from the 10-K)
    assert [str(q[d]["available_date"].date()) for d in q] == [
        "2023-05-01", "2023-08-01", "2023-11-01", "2024-02-15", "2024-05-02",
    ]
    # a prior-year comparative quarter: available when first filed
    assert f.loc[pd.Timestamp("2022-03-31"), "revenue"] / M == pytest.approx(90)
    assert f.loc[pd.Timestamp("2022-03-31"), "available_date"] == pd.Timestamp("2023-05-01")
    assert pd.Timestamp("2022-12-31") not in f.index  # no quarter row from a comparative balance alone
    assert (f["available_date"] >= f.index).all()


def test_restatement_does_not_leak_back(facts):
    # a later filing that restates Q1 2023 with an earlier 'filed' date cannot exist; a later one is ignored
    f = quarterly_fundamentals(facts, "ACME").set_index("period_end")
    assert f.loc[pd.Timestamp("2023-03-31"), "revenue"] == 100 * M


def test_concept_fallback_picks_first_filed(facts):
    d = copy.deepcopy(facts)
    gaap = d["facts"]["us-gaap"]
    # an older concept reporting the same Q2 later, and a value only under the fallback concept
    gaap["SalesRevenueNet"] = {"label": "Sales", "units": {"USD": [
        {"start": "2023-04-01", "end": "2023-06-30", "val": 999 * M, "accn": "x-1", "fy": 2024, "fp": "Q2", "form": "10-Q", "filed": "2024-08-01"},
        {"start": "2021-01-01", "end": "2021-03-31", "val": 80 * M, "accn": "x-2", "fy": 2021, "fp": "Q1", "form": "10-Q", "filed": "2021-05-01"},
    ]}}
    f = quarterly_fundamentals(d, "ACME").set_index("period_end")
    assert f.loc[pd.Timestamp("2023-06-30"), "revenue"] == 110 * M
    assert f.loc[pd.Timestamp("2021-03-31"), "revenue"] == 80 * M


def test_non_periodic_forms_are_ignored(facts):
    d = copy.deepcopy(facts)
    d["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"].append(
        {"start": "2024-04-01", "end": "2024-06-30", "val": 1.0, "accn": "s", "fy": 2024, "fp": "Q2", "form": "8-K", "filed": "2024-07-20"}
    )
    f = quarterly_fundamentals(d, "ACME")
    assert pd.Timestamp("2024-06-30") not in set(f["period_end"])


def test_shares_dated_by_filing_and_classes_summed(facts):
    s = shares_outstanding(facts, "ACME")
    validate_table("shares", s)
    assert [str(x.date()) for x in s["date"]] == ["2023-05-01", "2023-08-01", "2023-11-01", "2024-02-15", "2024-05-02"]
    assert (s["shares_outstanding"] / M).tolist() == pytest.approx([1000, 1010, 1020, 1030, 1040])  # 900 + 130 classes; S-8 ignored


def test_company_via_server(sec, server):
    c = sec.company("acme")
    assert c.cik == 1234567 and c.name == "ACME Corp" and c.ticker == "ACME"
    assert len(c.fundamentals) == 6 and len(c.shares) == 5
    assert server.seen[0].headers["User-Agent"] == "Test Co test@example.com"
    paths = [s.path for s in server.seen]
    assert paths == ["/files/company_tickers.json", FACTS]
    # cached: a second provider on the same cache makes no request
    sec2 = SecProvider(sec.client, base_url=server.url, user_agent="Test Co test@example.com")
    sec2.company("ACME", start="2023-06-01")
    assert server.count() == 2


def test_missing_and_malformed_tickers_reported_rest_continue(sec):
    ok, failed = fetch_many(sec, ["ACME", "ZZZZ", "GONE", "BETA"])
    assert list(ok) == ["ACME"]
    assert "ZZZZ" in failed["ZZZZ"] and "ticker map" in failed["ZZZZ"]
    assert "GONE" in failed["GONE"] and "404" in failed["GONE"]
    assert "BETA" in failed["BETA"] and "expected JSON" in failed["BETA"]
    with pytest.raises(NotFoundError, match="ZZZZ"):
        sec.cik("ZZZZ")


def test_brk_dot_b_maps(sec):
    assert sec.cik("BRK.B") == 1067983 == sec.cik("brk-b")


def test_user_agent_required_for_real_pull(monkeypatch):
    monkeypatch.delenv("BROADENING_SEC_USER_AGENT", raising=False)
    with pytest.raises(BroadeningError, match="BROADENING_SEC_USER_AGENT"):
        SecProvider()
    monkeypatch.setenv("BROADENING_SEC_USER_AGENT", "Jane Doe jane@example.com")
    p = SecProvider()
    assert p.client.user_agent == "Jane Doe jane@example.com"
    assert p.data_url == "https://data.sec.gov" and p.www_url == "https://www.sec.gov"
    assert p.client.rate_limits["sec"] == 10
    assert sec_user_agent("x y@z") == "x y@z"


def test_rate_limit_at_most_10_per_second(server, make_client):
    sec_routes(server)
    p = SecProvider(make_client(cache_dir=False), base_url=server.url, user_agent="T t@t", rate=50)
    assert p.client.rate_limits["sec"] == 10  # capped
    for _ in range(4):
        p.client.get(f"{server.url}{FACTS}", rate_key="sec")
    t0 = time.monotonic()
    for _ in range(4):
        p.client.get(f"{server.url}{FACTS}", rate_key="sec")
    assert time.monotonic() - t0 >= 3 * 0.1 - 0.005  # client side: 10/s at most
    times = [s.time for s in server.seen]
    # server side, over all 8 requests: without the limit they take milliseconds; the slack is
    # for a loaded machine, where the first request can reach the server late (0.669 s was seen)
    assert times[-1] - times[0] >= 7 * 0.1 - 0.1


def test_retry_on_429_then_ok(server, make_client):
    sec_routes(server)
    server.routes[FACTS] = [Reply(429, b"", {"Retry-After": "1"}), Reply(200, payload("sec_companyfacts_CIK0001234567.json"))]
    c = make_client()
    p = SecProvider(c, base_url=server.url, user_agent="T t@t")
    assert len(p.company("ACME").fundamentals) == 6
    assert c.sleeps == [1.0]


def test_malformed_ticker_map():
    with pytest.raises(MalformedResponseError, match="cik_str"):
        parse_company_tickers({"0": {"ticker": "A"}})
    with pytest.raises(MalformedResponseError, match="empty"):
        parse_company_tickers({})


def test_facts_without_facts_object(server, make_client):
    sec_routes(server)
    server.routes[FACTS] = Reply(200, b'{"cik": 1234567, "entityName": "ACME Corp"}')
    p = SecProvider(make_client(), base_url=server.url, user_agent="T t@t")
    with pytest.raises(MalformedResponseError, match="ACME.*'facts'"):
        p.company("ACME")


def test_company_with_no_usable_facts(facts):
    empty = {"cik": 1, "entityName": "Shell", "facts": {"dei": {}, "us-gaap": {}}}
    assert quarterly_fundamentals(empty, "S").empty
    assert shares_outstanding(empty, "S").empty


@pytest.mark.live
def test_live_sec_company_facts(tmp_path):  # pragma: no cover - needs the network
    import os

    if not os.environ.get("LIVE_SEC_USER_AGENT"):
        pytest.skip("set LIVE_SEC_USER_AGENT='Name email' to run")
    from broadening.providers.http import HttpClient

    p = SecProvider(HttpClient(cache_dir=tmp_path), user_agent=os.environ["LIVE_SEC_USER_AGENT"])
    c = p.company("AAPL")
    assert c.cik == 320193 and len(c.fundamentals) > 40 and c.fundamentals["revenue"].notna().sum() > 40

"""live.pull: all sources composed, per-source summary, partial failure, cache, resume, provenance."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "providers"))  # the loopback server and recorded payloads

from localserver import Reply, payload, recorded_yahoo  # noqa: E402
from localserver import live_fixtures as _live_fixtures  # noqa: E402

from broadening.errors import BroadeningError  # noqa: E402
from broadening.live import pull  # noqa: E402
from broadening.market import load_market  # noqa: E402
from broadening.warehouse import Warehouse  # noqa: E402

server, make_client, _no_live_env = _live_fixtures()

MEMBERS = "ticker,start,end,name\nACME,2015-01-02,,ACME Corp\nJPM,1975-06-30,,JPMorgan Chase\nNVDA,2001-11-30,,Nvidia\nOLDCO,2001-01-02,2024-03-18,Old Co\nGONE,1990-01-02,2009-06-01,Gone Inc\n"
FF = ("F-F_Research_Data_Factors_daily", "F-F_Research_Data_Factors")


def serve_all(server):
    server.routes["/files/company_tickers.json"] = Reply(200, payload("sec_company_tickers.json"))
    server.routes["/api/xbrl/companyfacts/CIK0001234567.json"] = Reply(200, payload("sec_companyfacts_CIK0001234567.json"))

    def fredgraph(q):
        sid = q["id"][0]
        try:
            return Reply(200, payload(f"fred_{sid}.csv"))
        except FileNotFoundError:
            return Reply(404, b"not found")

    server.routes["/graph/fredgraph.csv"] = fredgraph
    for f in FF:
        server.routes[f"/{f}_CSV.zip"] = Reply(200, payload(f"{f}_CSV.zip"))


@pytest.fixture
def env(server, make_client, monkeypatch, tmp_path):
    serve_all(server)
    monkeypatch.setenv("BROADENING_SEC_BASE_URL", server.url)
    monkeypatch.setenv("BROADENING_FRED_BASE_URL", server.url)
    monkeypatch.setenv("BROADENING_FRENCH_BASE_URL", server.url)
    mfile = tmp_path / "members.csv"
    mfile.write_text(MEMBERS)
    clients = {}

    def http(source):
        clients[source] = make_client()
        return clients[source]

    calls: list[str] = []

    def fetcher(t, start, end):
        calls.append(t)
        return recorded_yahoo(t, start, end)

    kw = dict(
        start="2023-01-01", membership_file=str(mfile), fred_series=["BUSLOANS", "BAMLH0A0HYM2"],
        french_datasets=["FF_DAILY", "FF_MONTHLY"], include_bdcs=False, batch_size=2, http=http,
        yahoo_fetcher=fetcher,
    )
    return {"server": server, "kw": kw, "calls": calls, "clients": clients, "path": tmp_path / "wh.duckdb"}


def test_full_pull_summary_market_and_provenance(env):
    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **env["kw"])
        # universe: members since the start (GONE left in 2009)
        assert rep.tickers == ["ACME", "JPM", "NVDA", "OLDCO"]
        y, s = rep.sources["yahoo"], rep.sources["sec"]
        assert y.ok == ["ACME", "JPM", "NVDA"] and list(y.failed) == ["OLDCO"]
        assert "no prices" in y.failed["OLDCO"]
        # a ticker the SEC does not map is a counted gap, not a failure of the source
        assert s.ok == ["ACME"] and not s.failed and set(s.gaps["no_cik"]) == {"JPM", "NVDA", "OLDCO"}
        assert "ticker map" in s.gaps["no_cik"]["NVDA"]
        assert rep.sources["fred"].ok == ["BUSLOANS", "BAMLH0A0HYM2"]
        assert rep.sources["french"].rows["series"] > 0
        assert not rep.nothing_pulled
        info = wh.info()
        prov = {t: {x["source"] for x in d["sources"]} for t, d in info["tables"].items()}
        assert prov["prices"] == {"yahoo"}
        assert prov["fundamentals"] == {"sec"}
        assert prov["shares"] == {"sec", "yahoo"}
        assert prov["series"] == {"fred", "french"}
        assert any(p.startswith("file:") for p in prov["membership"])
        assert "BUSLOANS" in info["series"] and "FF_DAILY:Mkt-RF" in info["series"]
        assert info["synthetic"] is False and info["meta"]["pull"]["tickers"] == 4
        for d in info["tables"].values():
            for x in d["sources"]:
                assert x["ingested_at"]

        secs = wh.table("securities").set_index("security_id")
        assert secs.loc["NVDA", "sector"] == "Information Technology"
        assert secs.loc["ACME", "sector"] == "Industrials" and secs.loc["ACME", "name"] == "ACME Corp"
        assert secs.loc["OLDCO", "name"] == "Old Co"  # kept, though Yahoo has no prices for it
        # ACME's shares are SEC's (dated by filing), NVDA's Yahoo's
        sh = wh.table("shares")
        assert sh[sh["security_id"] == "ACME"]["date"].min() == pd.Timestamp("2023-05-01")
        # Yahoo's pre-split count carried onto the split day on the new basis (x10)
        nv = sh[sh["security_id"] == "NVDA"].set_index("date")["shares_outstanding"]
        assert list(nv.index) == [pd.Timestamp(d) for d in ("2024-05-29", "2024-06-10", "2024-06-11")]
        assert nv["2024-06-10"] == 10 * nv["2024-05-29"]
        f = wh.table("fundamentals")
        assert f["period_end"].min() >= pd.Timestamp("2021-01-01")  # start minus two years

        m = load_market(wh)
        assert set(m.ids) == {"ACME", "JPM", "NVDA"}
        mcap = m.frame(m.market_cap)["NVDA"]
        # the 10:1 split does not move market cap: raw close x shares in force
        # (this line used to expect a 10x jump on 2024-06-11: the pre-split count was in force
        # on the split day)
        assert mcap.loc["2024-06-10"] / mcap.loc["2024-06-07"] == pytest.approx(121.79 / 120.888, rel=1e-6)
        assert mcap.loc["2024-06-11"] / mcap.loc["2024-06-10"] == pytest.approx(120.91 / 121.79 * 24599999488 / 24600000000, rel=1e-6)
        assert m.frame(m.close)["NVDA"].loc["2024-06-07"] == pytest.approx(1208.88)
        assert m.members("sp500")[:, list(m.ids).index("ACME")].all()
        assert not m.synthetic


def test_second_pull_is_served_from_cache(env):
    with Warehouse(env["path"]) as wh:
        first = pull(wh, **env["kw"])
        n_requests = env["server"].count()
        n_calls = len(env["calls"])
        second = pull(wh, **env["kw"])
    assert env["server"].count() == n_requests  # no HTTP request at all
    # no yfinance download for what was stored; the ticker that failed is tried again
    assert env["calls"][n_calls:] == ["OLDCO"]
    for src in ("sec", "fred", "french"):
        assert second.sources[src].requests == 0
        assert second.sources[src].cache_hits == first.sources[src].requests
    assert second.sources["yahoo"].requests == 1 and second.sources["yahoo"].cache_hits == 3
    assert not second.resumed  # the first run finished: an identical pull starts over, from cache


def test_interrupted_pull_resumes_without_redoing_stored_batches(env):
    kw = dict(env["kw"])
    calls = []

    def dies_on_nvda(t, start, end):
        calls.append(t)
        if t == "NVDA":
            raise KeyboardInterrupt
        return recorded_yahoo(t, start, end)

    kw["yahoo_fetcher"] = dies_on_nvda
    with Warehouse(env["path"]) as wh:
        with pytest.raises(KeyboardInterrupt):
            pull(wh, **kw)
        # the first batch (ACME, JPM) is stored
        assert set(wh.table("prices")["security_id"]) == {"ACME", "JPM"}
        assert len(wh.table("fundamentals")) > 0
        facts_requests = env["server"].count("/api/xbrl/companyfacts/CIK0001234567.json")

        resumed_calls = []

        def ok(t, start, end):
            resumed_calls.append(t)
            return recorded_yahoo(t, start, end)

        kw["yahoo_fetcher"] = ok
        rep = pull(wh, **kw)
        assert rep.resumed
        assert resumed_calls == ["NVDA", "OLDCO"]  # batch 1 not fetched again
        assert rep.sources["yahoo"].resumed == ["ACME", "JPM"]
        assert rep.sources["sec"].resumed == ["ACME", "JPM"]  # JPM has no SEC CIK: a gap, not retried
        assert env["server"].count("/api/xbrl/companyfacts/CIK0001234567.json") == facts_requests
        assert set(wh.table("prices")["security_id"]) == {"ACME", "JPM", "NVDA"}
        assert rep.sources["membership"].resumed == ["sp500"]
        # and the next identical pull is a fresh run again
        assert not pull(wh, **kw).resumed


def test_fresh_pull_ignores_interrupted_state(env):
    kw = dict(env["kw"])

    def dies(t, start, end):
        raise KeyboardInterrupt

    with Warehouse(env["path"]) as wh:
        with pytest.raises(KeyboardInterrupt):
            pull(wh, **{**kw, "yahoo_fetcher": dies})
        rep = pull(wh, **kw, resume=False)
        assert not rep.resumed and rep.sources["yahoo"].ok == ["ACME", "JPM", "NVDA"]


def test_nothing_pulled_and_failing_series(env):
    kw = dict(env["kw"])
    kw.update(fred_series=["NOPE"], french_datasets=["NOPE"], tickers=["OLDCO", "ZZZZ"])
    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **kw)
    assert rep.nothing_pulled
    assert "NOPE" in rep.sources["fred"].failed["NOPE"]
    assert set(rep.sources["yahoo"].failed) == {"OLDCO", "ZZZZ"}
    assert any("ZZZZ" in n for n in rep.notes)  # not a member: said so


def test_retries_inside_a_pull(env):
    server = env["server"]
    server.routes["/api/xbrl/companyfacts/CIK0001234567.json"] = [
        Reply(503), Reply(429, b"", {"Retry-After": "0"}), Reply(200, payload("sec_companyfacts_CIK0001234567.json")),
    ]
    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **{**env["kw"], "sources": ["sec"]})
    assert rep.sources["sec"].ok == ["ACME"] and rep.sources["sec"].retries == 2


def test_refuses_synthetic_warehouse_and_needs_sec_agent(env, make_tables, monkeypatch):
    with Warehouse(env["path"]) as wh:
        wh.ingest(make_tables({"S1": [1.0, 2.0]}), source="synthetic", synthetic=True)
        with pytest.raises(BroadeningError, match="SYNTHETIC"):
            pull(wh, **env["kw"])
        rep = pull(wh, **env["kw"], replace=True)
        assert not wh.synthetic and "S1" not in set(wh.table("securities")["security_id"])
        assert rep.sources["yahoo"].ok
    monkeypatch.delenv("BROADENING_SEC_BASE_URL")
    with Warehouse(":memory:") as wh, pytest.raises(BroadeningError, match="BROADENING_SEC_USER_AGENT"):
        pull(wh, **env["kw"])


def test_bad_arguments(env):
    with Warehouse(":memory:") as wh:
        with pytest.raises(BroadeningError, match="unknown source 'bloomberg'"):
            pull(wh, sources=["bloomberg"])
        with pytest.raises(BroadeningError, match="--tickers"):
            pull(wh, universe="tickers")


def test_ticker_universe_without_membership(env):
    kw = dict(env["kw"])
    kw.pop("membership_file")
    with Warehouse(env["path"]) as wh:
        rep = pull(wh, universe="tickers", tickers=["nvda"], **{**kw, "sources": ["yahoo"]})
        assert rep.sources["yahoo"].ok == ["NVDA"] and wh.counts()["membership"] == 0
        assert np.isfinite(load_market(wh).close).any()


# -- issue #17 ------------------------------------------------------------------------------------
def test_an_unknown_universe_is_refused_naming_the_choices():
    with Warehouse(":memory:") as wh, pytest.raises(BroadeningError) as err:
        pull(wh, universe="nasdaq100")
    assert str(err.value) == "--universe: expected sp500, smallcap, tickers, got 'nasdaq100'"


def test_members_asked_by_ticker_need_no_note(env):
    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **{**env["kw"], "tickers": ["nvda", "ACME"], "sources": ["yahoo"]})
    assert rep.tickers == ["ACME", "NVDA"] and rep.sources["yahoo"].ok == ["ACME", "NVDA"]
    assert not any("not S&P 500 members" in n for n in rep.notes)


def test_yahoo_gaps_and_counts_disagreeing_with_the_sec_are_reported(env):
    from broadening.providers.yahoo import YahooRaw

    def fetcher(t, start, end):
        raw = recorded_yahoo(t, start, end)
        if t == "ACME":  # no info this time, and a share count 50% above the SEC's 10-Q cover (1.04 bn)
            shares = pd.Series([1.56e9], index=pd.DatetimeIndex(["2024-06-04"], tz="America/New_York"))
            return YahooRaw(raw.history, shares, {}, {"info": "HTTPError: 401 Unauthorized"})
        return raw

    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **{**env["kw"], "tickers": ["ACME"], "sources": ["yahoo", "sec"], "yahoo_fetcher": fetcher})
    assert rep.sources["yahoo"].gaps == {"info": {"ACME": "HTTPError: 401 Unauthorized"}}
    assert rep.sources["sec"].gaps["shares_disagree_with_yahoo"] == {
        "ACME": "1 Yahoo count(s) differ from the SEC's by more than 5% (largest 50%)"}
    assert rep.gap_counts()["sec"]["shares_disagree_with_yahoo"] == 1


def test_series_stored_before_an_interruption_are_not_fetched_again(env, monkeypatch):
    from broadening.providers import french as french_mod

    real = french_mod.FrenchProvider.dataset

    def interrupted(self, name, *a, **k):
        raise KeyboardInterrupt

    kw = {**env["kw"], "sources": ["fred", "french"]}
    with Warehouse(env["path"]) as wh:
        monkeypatch.setattr(french_mod.FrenchProvider, "dataset", interrupted)
        with pytest.raises(KeyboardInterrupt):
            pull(wh, **kw)
        monkeypatch.setattr(french_mod.FrenchProvider, "dataset", real)
        rep = pull(wh, **kw)
    assert rep.resumed and rep.sources["fred"].resumed == ["BUSLOANS", "BAMLH0A0HYM2"]
    assert rep.sources["fred"].ok == [] and rep.sources["french"].ok == ["FF_DAILY", "FF_MONTHLY"]


def test_a_series_with_every_value_missing_stores_nothing(env):
    env["server"].routes["/graph/fredgraph.csv"] = Reply(200, b"observation_date,BUSLOANS\n2024-01-01,.\n2024-02-01,.\n")
    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **{**env["kw"], "sources": ["fred"], "fred_series": ["BUSLOANS"]})
        assert rep.sources["fred"].ok == ["BUSLOANS"] and rep.sources["fred"].rows == {}
        assert wh.counts()["series"] == 0


def test_the_index_pull_adds_the_listed_bdcs_unless_told_not_to(env):
    from broadening.providers.yahoo import KNOWN_BDCS

    with Warehouse(env["path"]) as wh:
        rep = pull(wh, **{**env["kw"], "sources": ["yahoo"], "include_bdcs": True})
    assert set(rep.tickers) == {"ACME", "JPM", "NVDA", "OLDCO"} | set(KNOWN_BDCS)  # GONE left before the start
    assert rep.tickers == sorted(rep.tickers)
    # no recorded prices for the BDCs: each is a listed failure, the members are pulled
    assert rep.sources["yahoo"].ok == ["ACME", "JPM", "NVDA"] and set(KNOWN_BDCS) <= set(rep.sources["yahoo"].failed)

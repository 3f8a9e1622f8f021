"""live.pull on real recorded responses served on loopback (payloads/README.md): market caps
continuous across splits, the C1 top-k share free of jumps the prices do not show, and a
source that cannot be reached failing fast."""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "providers"))  # the loopback server and recorded payloads

from localserver import PAYLOADS, Reply, payload  # noqa: E402
from localserver import live_fixtures as _live_fixtures  # noqa: E402

from broadening.live import pull  # noqa: E402
from broadening.market import load_market  # noqa: E402
from broadening.providers.yahoo import YahooRaw, history_from_chart  # noqa: E402
from broadening.warehouse import Warehouse  # noqa: E402

server, make_client, _no_live_env = _live_fixtures()

#: MSFT has no recorded SEC facts: its count is given as a Yahoo share history, 7.52 bn
#: (its 10-Q covers of 2021 state 7.5 bn; the one hand-entered number of this fixture).
MSFT_SHARES = 7.52e9


def recorded_chart(ticker, start, end):
    """A yfinance stand-in built from Yahoo chart responses recorded by yahoo-finance2
    (gadicc/node-yahoo-finance2 tests/fixtures/http, commit 7b467d7a1a5e071a5effd59d7d1c941e7a1e54de)."""
    name = {"NVDA": "NVDA_2021", "MSFT": "MSFT_2021"}.get(ticker)
    if name is None:
        return YahooRaw(pd.DataFrame(columns=["Close"]), gaps={"info": "not recorded"})
    with gzip.open(PAYLOADS / f"yahoo_chart_{name}.json.gz") as fh:
        hist = history_from_chart(json.load(fh), ticker)
    if ticker == "NVDA":
        # recorded in 2025: prices are also divided by the 10:1 split of 2024-06-10, which the
        # window's events do not list; undo it to get the prices traded in 2021
        for c in ("Open", "High", "Low", "Close", "Adj Close"):
            hist[c] = hist[c] * 10
        hist["Volume"] = hist["Volume"] / 10
        return YahooRaw(hist, None, {"sector": "Technology", "industry": "Semiconductors"})
    shares = pd.Series([MSFT_SHARES], index=pd.DatetimeIndex([hist.index[0]]))
    return YahooRaw(hist, shares, {"sector": "Technology", "industry": "Software - Infrastructure"})


@pytest.fixture
def recorded(server, make_client, monkeypatch, tmp_path):
    server.routes["/files/company_tickers.json"] = Reply(200, payload("sec_company_tickers_real.json"))
    server.routes["/api/xbrl/companyfacts/CIK0001045810.json"] = Reply(200, gzip.decompress(payload("sec_companyfacts_NVDA.json.gz")))
    monkeypatch.setenv("BROADENING_SEC_BASE_URL", server.url)
    return dict(universe="tickers", tickers=["NVDA", "MSFT"], start="2021-02-01", sources=("yahoo", "sec"),
                yahoo_fetcher=recorded_chart, http=lambda source: make_client(), batch_size=1)


def unexplained_share_moves(cap: np.ndarray, tri: np.ndarray, k: int = 1) -> np.ndarray:
    """Day-on-day change of the top-k cap share minus the change the prices alone imply
    (yesterday's caps grown by each stock's total return)."""
    share = np.sort(cap, axis=1)[:, ::-1][:, :k].sum(axis=1) / cap.sum(axis=1)
    implied_caps = cap[:-1] * tri[1:] / tri[:-1]
    implied = np.sort(implied_caps, axis=1)[:, ::-1][:, :k].sum(axis=1) / implied_caps.sum(axis=1)
    return share[1:] - implied


def test_recorded_pull_keeps_caps_continuous_and_c1_free_of_split_jumps(recorded, tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        rep = pull(wh, **recorded)
        assert rep.sources["yahoo"].ok == ["MSFT", "NVDA"]
        assert rep.sources["sec"].ok == ["NVDA"] and "MSFT" in rep.sources["sec"].failed  # no recorded facts
        m = load_market(wh)
        cap = m.frame(m.market_cap)
        # NVDA's 4:1 split (2021-07-20): the close falls 4x, the count in force rises 4x
        nv = cap["NVDA"]
        close = m.frame(m.close)["NVDA"]
        # (recorded closes, split-adjusted: 187.7975 on 07-19, 186.12 on 07-20)
        assert close["2021-07-19"] == pytest.approx(4 * 187.7975, rel=1e-6)
        assert close["2021-07-20"] == pytest.approx(186.12, rel=1e-6)
        assert nv["2021-07-20"] / nv["2021-07-19"] == pytest.approx(186.12 / 187.7975, rel=1e-6)
        assert nv["2021-07-19"] / 1e9 == pytest.approx(751.19 * 0.623, abs=0.5)  # 468 bn: 623 M pre-split shares
        # C1 guard: no one-day move of the top-k share that the prices do not show
        moves = unexplained_share_moves(m.market_cap, m.total_return_index)
        assert np.nanmax(np.abs(moves)) < 0.02
        # ... which the unadjusted cover counts break (the guard can fail)
        counts = wh.con.execute("SELECT date, shares_outstanding FROM _share_counts WHERE security_id = 'NVDA' "
                                "AND source = 'sec' ORDER BY date").df()
    raw = pd.Series(counts["shares_outstanding"].to_numpy(), index=pd.DatetimeIndex(counts["date"]))
    raw_nv = raw.reindex(cap.index.union(raw.index)).ffill().reindex(cap.index).to_numpy()
    bad = m.market_cap.copy()
    bad[:, list(m.ids).index("NVDA")] = close.to_numpy() * raw_nv
    assert np.nanmax(np.abs(unexplained_share_moves(bad, m.total_return_index))) > 0.1  # 13 points on 2021-07-20


def test_unreachable_sec_fails_fast_once_the_ticker_map_fails(recorded, tmp_path, monkeypatch, make_client):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: every connection is refused
    monkeypatch.setenv("BROADENING_SEC_BASE_URL", f"http://127.0.0.1:{port}")
    clients = []

    def http(source):
        clients.append(make_client(retries=2))
        return clients[-1]

    tickers = [f"T{i}" for i in range(40)]
    t0 = time.perf_counter()
    with Warehouse(tmp_path / "w.duckdb") as wh:
        rep = pull(wh, **{**recorded, "tickers": tickers, "sources": ("sec",), "http": http})
    elapsed = time.perf_counter() - t0
    sec = rep.sources["sec"]
    assert set(sec.failed) == set(tickers) and all("ticker map unavailable" in r for r in sec.failed.values())
    assert clients[0].stats.requests == 3  # the map, tried 1 + 2 times; no per-ticker requests
    assert any("SEC ticker map unavailable" in n for n in rep.notes)
    assert rep.nothing_pulled and elapsed < 10


def test_smallcap_universe_ranked_from_the_sec_listing(recorded, server, tmp_path):
    # the SEC's company_tickers_exchange.json (real, trimmed: payloads/README.md)
    server.routes["/files/company_tickers_exchange.json"] = Reply(200, gzip.decompress(payload("sec_company_tickers_exchange.json.gz")))
    kw = {**recorded, "universe": "smallcap", "tickers": None, "small_ranks": (2, 2), "batch_size": 50}
    with Warehouse(tmp_path / "w.duckdb") as wh:
        rep = pull(wh, **kw)
        # every listed common stock is a candidate; only NVDA and MSFT have recorded prices
        assert {"NVDA", "MSFT", "BRK-B"} <= set(rep.tickers) and "SPY" not in rep.tickers and "CTA-PA" not in rep.tickers
        assert rep.sources["yahoo"].ok == ["MSFT", "NVDA"]
        assert any(n.startswith("small-cap candidates:") and "fund or trust" in n for n in rep.notes)
        assert "survivorship bias" in rep.as_dict()["survivorship"]
        m = wh.table("membership")
        # ranked on 2021-05-28 (last trading day of May): MSFT 1st, NVDA 2nd -> member from July
        assert m[["index_id", "security_id"]].values.tolist() == [["smallmid", "NVDA"]]
        assert m["start"].iloc[0] == pd.Timestamp("2021-07-01") and pd.isna(m["end"].iloc[0])
        secs = wh.table("securities").set_index("security_id")
        assert secs.loc["NVDA", "domestic_revenue_share"] == pytest.approx(0.42)  # the sector proxy
        assert "sector proxy" in rep.as_dict()["domestic_revenue_share"]


def test_smallcap_of_chosen_tickers_without_sec_facts_before_any_rank_day(recorded, server, tmp_path):
    # the listing still comes from the SEC; no facts are asked for, and prices from June 2021
    # hold no end of May to rank on: said so, and no membership is stored
    server.routes["/files/company_tickers_exchange.json"] = Reply(200, gzip.decompress(payload("sec_company_tickers_exchange.json.gz")))
    kw = {**recorded, "universe": "smallcap", "tickers": ["MSFT", "NOTLISTED"], "sources": ("yahoo",),
          "start": "2021-06-01", "batch_size": 50}
    with Warehouse(tmp_path / "w.duckdb") as wh:
        rep = pull(wh, **kw)
        assert rep.tickers == ["MSFT"] and rep.sources["yahoo"].ok == ["MSFT"]
        assert "sec" not in rep.sources
        assert "small-cap ranks: no rank day (end of May) with prices and share counts yet" in rep.notes
        assert wh.counts()["membership"] == 0

"""Yahoo: recorded yfinance-shaped frames -> canonical tables; splits un-adjusted, sectors
mapped, per-ticker failures reported, downloads cached."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest
from localserver import recorded_yahoo

from broadening.errors import BroadeningError
from broadening.providers.http import ProviderError
from broadening.providers.yahoo import (
    SECTOR_MAP,
    YahooProvider,
    YahooRaw,
    convert_history,
    security_id,
)
from broadening.schema import validate_table


@pytest.fixture
def yahoo(tmp_path):
    calls = []

    def fetch(t, start, end):
        calls.append(t)
        return recorded_yahoo(t, start, end)

    p = YahooProvider(fetch, cache_dir=tmp_path / "yahoo")
    p.calls = calls  # type: ignore[attr-defined]
    return p


def test_split_is_unadjusted_and_total_return_kept(yahoo):
    row, prices, shares = yahoo.ticker("NVDA")
    validate_table("prices", prices)
    p = prices.set_index("date")
    # before the 10:1 split on 2024-06-10 the raw close is 10x Yahoo's split-adjusted one
    assert p.loc["2024-06-07", "close"] == pytest.approx(1208.88)
    assert p.loc["2024-06-10", "close"] == pytest.approx(121.79)
    assert p.loc["2024-06-07", "volume"] == pytest.approx(41238600)
    # the total-return index is Yahoo's adjusted close: no jump at the split
    tri = p["total_return_index"]
    assert tri.loc["2024-06-10"] / tri.loc["2024-06-07"] - 1 == pytest.approx(121.76 / 120.86 - 1)
    assert p.index.tz is None and p.index[0] == pd.Timestamp("2024-06-04")
    # market cap is continuous across the split with point-in-time shares
    assert row == {
        "security_id": "NVDA", "ticker": "NVDA", "name": "NVIDIA Corporation",
        "sector": "Information Technology", "industry": "Semiconductors", "is_bdc": False,
    }
    validate_table("shares", shares)
    assert shares["date"].tolist() == [pd.Timestamp("2024-05-29"), pd.Timestamp("2024-06-11")]
    assert shares["shares_outstanding"].iloc[-1] == 24599999488  # last count of the day


def test_fetch_many_with_missing_and_failing_tickers(tmp_path):
    def fetch(t, start, end):
        if t == "BOOM":
            raise ConnectionError("Yahoo rate limited: Too Many Requests")
        return recorded_yahoo(t, start, end)

    seen = []
    res = YahooProvider(fetch, cache_dir=False, retries=1, sleep=lambda s: None).fetch(["NVDA", "DELISTED", "BOOM", "JPM"], progress=lambda s, d, t: seen.append(d))
    assert res.ok == ["NVDA", "JPM"]
    assert "DELISTED" in res.failed["DELISTED"] and "no prices" in res.failed["DELISTED"]
    assert "BOOM" in res.failed["BOOM"] and "Too Many Requests" in res.failed["BOOM"]
    assert seen == [1, 2, 3, 4]
    t = res.tables()
    validate_table("securities", t["securities"])
    validate_table("prices", t["prices"])
    jpm = t["securities"].set_index("security_id").loc["JPM"]
    assert jpm["sector"] == "Financials" and jpm["industry"] == "Banks - Diversified"
    assert len(t["prices"]) == 14 and len(t["shares"]) == 2  # JPM has no shares history


def test_cache_second_pull_makes_no_request(yahoo):
    yahoo.fetch(["NVDA", "JPM"], start="2024-06-05")
    assert yahoo.calls == ["NVDA", "JPM"] and yahoo.requests == 2
    res = yahoo.fetch(["NVDA", "JPM"], start="2024-06-05")
    assert yahoo.calls == ["NVDA", "JPM"] and yahoo.cache_hits == 2
    assert res.prices["date"].min() == pd.Timestamp("2024-06-05")
    # a different range is a different request
    yahoo.fetch(["NVDA"], start="2024-06-06")
    assert yahoo.calls[-1] == "NVDA" and yahoo.requests == 3


def test_auto_adjusted_shape_and_garbage():
    hist = recorded_yahoo("JPM").history.drop(columns=["Adj Close", "Stock Splits"])
    p = convert_history(hist, "JPM")
    assert (p["close"] == p["total_return_index"]).all()
    bad = hist.copy()
    bad["Close"] = np.nan
    with pytest.raises(ProviderError, match="JPM: Yahoo returned no usable prices"):
        convert_history(bad, "JPM")
    with pytest.raises(ProviderError, match="no 'Close' column"):
        convert_history(hist.drop(columns=["Close"]), "JPM")


def test_sector_map_covers_yahoo_sectors():
    canonical = {"Information Technology", "Health Care", "Financials", "Consumer Discretionary", "Consumer Staples",
                 "Materials", "Communication Services", "Industrials", "Energy", "Utilities", "Real Estate"}
    assert set(SECTOR_MAP.values()) == canonical
    assert security_id("brk.b") == "BRK-B"


def test_missing_live_extra_is_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *a, **kw):
        if name == "yfinance":
            raise ImportError("No module named 'yfinance'")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(BroadeningError, match=r"live.*extra"):
        YahooProvider(cache_dir=False).ticker("NVDA")


@pytest.mark.live
def test_live_yahoo_download(tmp_path):  # pragma: no cover - needs the network
    row, prices, shares = YahooProvider(cache_dir=tmp_path).ticker("AAPL", start="2024-01-01")
    assert len(prices) > 100 and row["sector"] == "Information Technology"


def test_throttling_is_retried_with_backoff():
    attempts, sleeps = [], []

    class YFRateLimitError(Exception):
        pass

    def fetch(t, start, end):
        attempts.append(t)
        if len(attempts) < 3:
            raise YFRateLimitError("Too Many Requests. Rate limited. Try after a while.")
        return recorded_yahoo(t, start, end)

    p = YahooProvider(fetch, cache_dir=False, retries=3, backoff=0.5, sleep=sleeps.append)
    _, prices, _ = p.ticker("JPM")
    assert len(prices) == 7 and attempts == ["JPM"] * 3 and sleeps == [0.5, 1.0]


def test_a_failed_info_is_a_counted_gap_and_never_cached(tmp_path):
    """yfinance's info call failing used to become an empty dict cached for a day."""
    calls = []

    def fetch(t, start, end):
        calls.append(t)
        raw = recorded_yahoo(t, start, end)
        if len(calls) == 1:
            return YahooRaw(raw.history, raw.shares, {}, {"info": "HTTPError: 401 Unauthorized (crumb)"})
        return raw

    p = YahooProvider(fetch, cache_dir=tmp_path / "y")
    res = p.fetch(["NVDA"])
    assert res.ok == ["NVDA"] and res.gaps == {"info": {"NVDA": "HTTPError: 401 Unauthorized (crumb)"}}
    assert res.securities.set_index("security_id").loc["NVDA", "sector"] is None
    res = p.fetch(["NVDA"])  # not served from the cache: asked again, and complete this time
    assert calls == ["NVDA", "NVDA"] and not res.gaps
    assert res.securities.set_index("security_id").loc["NVDA", "sector"] == "Information Technology"
    p.fetch(["NVDA"])
    assert calls == ["NVDA", "NVDA"] and p.cache_hits == 1  # the complete download is cached
    assert res.splits.to_dict("list") == {"security_id": ["NVDA"], "date": [pd.Timestamp("2024-06-10")], "ratio": [10.0]}


def test_yahoo_down_stops_after_consecutive_failures():
    calls = []

    def fetch(t, start, end):
        calls.append(t)
        raise ConnectionError("Failed to establish a new connection")

    tickers = [f"T{i}" for i in range(20)]
    res = YahooProvider(fetch, cache_dir=False, retries=0).fetch(tickers)
    assert len(calls) == 5 and not res.ok and set(res.failed) == set(tickers)
    assert "not tried: Yahoo failed 5 times in a row" in res.failed["T19"]


# -- issue #17 ------------------------------------------------------------------------------------
class _FakeTicker:
    """The three yfinance calls yfinance_fetch makes, answering from a recorded download."""

    def __init__(self, ticker, asked, shares_error=None, info=None):
        self.raw, self.asked, self.shares_error, self._info = recorded_yahoo(ticker, None, None), asked, shares_error, info

    def history(self, **kw):
        self.asked["history"] = kw
        return self.raw.history

    def get_shares_full(self, start, end):
        self.asked["shares"] = (start, end)
        if self.shares_error:
            raise self.shares_error
        return self.raw.shares

    @property
    def info(self):
        return self._info if self._info is not None else self.raw.info


def _fake_yfinance(monkeypatch, **kw):
    from types import SimpleNamespace

    from broadening.providers import yahoo as ymod

    asked: dict = {}
    monkeypatch.setattr(ymod, "_yfinance", lambda: SimpleNamespace(Ticker=lambda t: _FakeTicker(t, asked, **kw)))
    return ymod.yfinance_fetch, asked


def test_yfinance_fetch_asks_for_the_window_unadjusted_with_actions(monkeypatch):
    fetch, asked = _fake_yfinance(monkeypatch)
    raw = fetch("NVDA", pd.Timestamp("2024-01-02"), pd.Timestamp("2024-06-28"))
    assert asked["history"] == {"auto_adjust": False, "actions": True, "start": "2024-01-02", "end": "2024-06-28",
                                "raise_errors": True}
    assert asked["shares"] == ("2024-01-02", "2024-06-28")
    assert raw.gaps == {} and raw.info["sector"] == "Technology"
    # no start: the whole history, share counts from 1990
    fetch("NVDA", None, None)
    assert asked["history"] == {"auto_adjust": False, "actions": True, "period": "max", "raise_errors": True}
    assert asked["shares"] == ("1990-01-01", None)


def test_yfinance_fetch_reports_missing_shares_and_info_as_gaps(monkeypatch):
    fetch, _ = _fake_yfinance(monkeypatch, shares_error=KeyError("shares"), info={})
    raw = fetch("JPM", None, None)
    assert raw.shares is None and len(raw.history) == 7
    assert raw.gaps == {"shares": "KeyError: 'shares'", "info": "Yahoo returned no info"}


def test_retries_from_the_environment(monkeypatch):
    monkeypatch.setenv("BROADENING_HTTP_RETRIES", "many")
    with pytest.raises(BroadeningError, match=r"^\$BROADENING_HTTP_RETRIES: expected a number, got 'many'$"):
        YahooProvider(cache_dir=False)
    # a negative count means no retry (it used to end in an UnboundLocalError)
    monkeypatch.setenv("BROADENING_HTTP_RETRIES", "-1")
    calls = []

    def throttled(t, start, end):
        calls.append(t)
        raise RuntimeError("429 Too Many Requests")

    with pytest.raises(ProviderError, match="JPM: Yahoo download failed: RuntimeError: 429 Too Many Requests"):
        YahooProvider(throttled, cache_dir=False, sleep=lambda s: None).ticker("JPM")
    assert calls == ["JPM"]


def test_cache_ttl_from_the_environment(monkeypatch, tmp_path):
    calls = []

    def fetch(t, start, end):
        calls.append(t)
        return recorded_yahoo(t, start, end)

    monkeypatch.setenv("BROADENING_CACHE_TTL", "0")  # every download is stale at once
    p = YahooProvider(fetch, cache_dir=tmp_path / "y")
    p.ticker("JPM")
    p.ticker("JPM")
    assert p.cache_ttl == 0.0 and calls == ["JPM", "JPM"] and p.cache_hits == 0

"""Yahoo Finance (through yfinance): daily prices, total returns, shares, sector and industry.

The network part is one thin function, :func:`yfinance_fetch`, that takes a ticker and
returns yfinance-shaped pandas objects (:class:`YahooRaw`): the ``Ticker.history``
frame with ``auto_adjust=False, actions=True`` (columns ``Open High Low Close
Adj Close Volume Dividends Stock Splits``, a tz-aware ``DatetimeIndex``), the
``get_shares_full`` series and the ``info`` dict. Everything else is pure conversion, so
tests (and users with their own downloads) inject a fetcher that returns recorded frames.

Conversion
----------
- ``close`` is the **raw** traded close. Yahoo's ``Close`` is split-adjusted, so it is
  multiplied back by every split after that day (``Stock Splits``); volume is divided by the
  same factor. Market cap = raw close x shares in force, as the schema expects.
- ``total_return_index`` is ``Adj Close`` (split- and dividend-adjusted); without it,
  ``Close``.
- ``shares`` come from ``get_shares_full`` (last count per day); Yahoo only has a few
  years of it. ``info['sharesOutstanding']`` is not used (it is today's count, which
  would leak into the past).
- split events (``Stock Splits``, from the chart's ``events.splits``) are returned as
  ``splits`` rows (``security_id, date, ratio``): the share-count policy
  (:mod:`broadening.providers.shares`) puts every count on the split basis of its day.
- a part of a download that failed (``info``, the share history) is a **gap**, recorded
  per ticker in ``YahooResult.gaps`` (never an empty dict passed off as data), and such an
  incomplete download is not cached.
- sector and industry come from ``info`` and are mapped to the canonical GICS-like names
  (:data:`SECTOR_MAP`, :data:`INDUSTRY_MAP`; names not listed are kept).
- ``security_id`` is the upper-case ticker in Yahoo's spelling (``BRK-B``).

yfinance is imported only when a real fetch happens (the ``live`` extra). A download
that fails because Yahoo throttles (``YFRateLimitError``, "Too Many Requests") is retried
with exponential backoff (``$BROADENING_HTTP_RETRIES``, ``$BROADENING_HTTP_BACKOFF``). Raw downloads
are cached on disk (pickles under ``$BROADENING_CACHE_DIR/yahoo``, same freshness rule as
the HTTP cache), so a second pull of the same range makes no request.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from broadening.errors import BroadeningError
from broadening.providers.http import (
    BACKOFF_ENV,
    CACHE_TTL_ENV,
    RETRIES_ENV,
    ProviderError,
    default_cache_dir,
    env_float,
)
from broadening.providers.shares import empty_splits, splits_from_history
from broadening.schema import empty_table

#: Yahoo sector -> canonical (GICS-like) sector.
SECTOR_MAP: dict[str, str] = {
    "Technology": "Information Technology",
    "Healthcare": "Health Care",
    "Financial Services": "Financials",
    "Financial": "Financials",
    "Consumer Cyclical": "Consumer Discretionary",
    "Consumer Defensive": "Consumer Staples",
    "Basic Materials": "Materials",
    "Communication Services": "Communication Services",
    "Industrials": "Industrials",
    "Energy": "Energy",
    "Utilities": "Utilities",
    "Real Estate": "Real Estate",
}
CANONICAL_SECTORS: tuple[str, ...] = tuple(dict.fromkeys(SECTOR_MAP.values()))

#: Yahoo industry -> the industry names the classification config uses (others kept as is).
INDUSTRY_MAP: dict[str, str] = {
    "Semiconductor Equipment & Materials": "Semiconductor Equipment",
    "Computer Hardware": "Technology Hardware",
    "Consumer Electronics": "Technology Hardware",
    "Software - Application": "Application Software",
    "Software - Infrastructure": "Software",
    "Internet Content & Information": "Interactive Media & Services",
    "Integrated Freight & Logistics": "Air Freight & Logistics",
    "Utilities - Regulated Electric": "Electric Utilities",
    "Information Technology Services": "IT Services",
}

#: Listed business development companies (the private-credit proxy basket; ``is_bdc``).
KNOWN_BDCS: tuple[str, ...] = ("ARCC", "OBDC", "BXSL", "FSK", "MAIN", "GBDC", "HTGC", "PSEC", "OCSL", "TSLX")


@dataclass
class YahooRaw:
    """What yfinance returns for one ticker; ``gaps`` names the parts that failed, with why."""

    history: pd.DataFrame
    shares: pd.Series | None = None
    info: dict = field(default_factory=dict)
    gaps: dict[str, str] = field(default_factory=dict)


def history_from_chart(data: dict, ticker: str = "?") -> pd.DataFrame:
    """A yfinance-shaped ``history`` frame from Yahoo's chart JSON (``/v8/finance/chart``).

    Uses yfinance's own parsers (``parse_quotes``, ``parse_actions``), so a recorded chart
    response goes through exactly the conversion a live download does; dates are in the
    exchange's time zone as yfinance gives them. For users with their own chart downloads
    (a ``$BROADENING_YAHOO_FETCHER``) and for tests on recorded responses.
    """
    from yfinance import utils as yfu

    try:
        res = data["chart"]["result"][0]
        tz = res["meta"].get("exchangeTimezoneName") or "America/New_York"
        with warnings.catch_warnings():  # yfinance's pandas idioms warn under pandas 3
            warnings.simplefilter("ignore")
            quotes = yfu.parse_quotes(res)
            dividends, splits, _ = yfu.parse_actions(res)
    except (KeyError, IndexError, TypeError) as exc:
        raise ProviderError(f"{ticker}: not a Yahoo chart response ({type(exc).__name__}: {exc})", label=ticker) from None
    quotes.index = quotes.index.tz_localize("UTC").tz_convert(tz).normalize()
    quotes["Dividends"] = 0.0
    quotes["Stock Splits"] = 0.0
    for frame, col in ((dividends, "Dividends"), (splits, "Stock Splits")):
        if len(frame):
            idx = frame.index.tz_localize("UTC").tz_convert(tz).normalize()
            quotes.loc[quotes.index.isin(idx), col] = pd.Series(frame[col].to_numpy(dtype=float), index=idx).reindex(
                quotes.index[quotes.index.isin(idx)]).to_numpy()
    quotes.index.name = "Date"
    return quotes


Fetcher = Callable[[str, "pd.Timestamp | None", "pd.Timestamp | None"], YahooRaw]


def _yfinance():
    try:
        import yfinance
    except ImportError as exc:
        raise BroadeningError(
            "the yahoo source needs the optional 'live' extra: pip install 'broadening[live]' (yfinance is missing)"
        ) from exc
    return yfinance


def yfinance_fetch(ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> YahooRaw:
    """Download one ticker with yfinance (the only function here that touches the network)."""
    yf = _yfinance()
    t = yf.Ticker(ticker)
    kw = {"auto_adjust": False, "actions": True}
    if start is not None:
        kw["start"] = pd.Timestamp(start).strftime("%Y-%m-%d")
    else:
        kw["period"] = "max"
    if end is not None:
        kw["end"] = pd.Timestamp(end).strftime("%Y-%m-%d")
    try:
        hist = t.history(raise_errors=True, **kw)
    except Exception as exc:  # yfinance raises many types; report them per ticker
        raise ProviderError(f"{ticker}: Yahoo history failed: {exc}", label=ticker) from None
    shares, gaps = None, {}
    try:
        shares = t.get_shares_full(start=kw.get("start", "1990-01-01"), end=kw.get("end"))
    except Exception as exc:  # many tickers have none: a gap, reported
        gaps["shares"] = f"{type(exc).__name__}: {exc}"[:200]
    try:
        info = dict(t.info or {})
    except Exception as exc:
        info = {}
        gaps["info"] = f"{type(exc).__name__}: {exc}"[:200]
    if not info and "info" not in gaps:
        gaps["info"] = "Yahoo returned no info"
    return YahooRaw(hist, shares, info, gaps)


def _rate_limited(exc: BaseException) -> bool:
    """Whether a fetch failure is Yahoo throttling (worth a retry with backoff)."""
    text = f"{type(exc).__name__} {exc}".lower()
    return "ratelimit" in text or "too many requests" in text or "429" in text


def security_id(ticker: str) -> str:
    """The canonical id of a ticker: upper case, Yahoo's ``-`` for share classes."""
    return ticker.strip().upper().replace(".", "-").replace("/", "-")


def _naive_dates(index) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(index))
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.normalize()


def convert_history(hist: pd.DataFrame, sid: str, ticker: str | None = None) -> pd.DataFrame:
    """Canonical ``prices`` rows from a yfinance ``history`` frame (see the module notes)."""
    ticker = ticker or sid
    if hist is None or len(hist) == 0:
        raise ProviderError(f"{ticker}: Yahoo returned no prices (delisted or unknown ticker?)", label=ticker)
    if "Close" not in hist.columns:
        raise ProviderError(f"{ticker}: Yahoo history has no 'Close' column (got {list(hist.columns)})", label=ticker)
    h = hist.copy()
    h.index = _naive_dates(h.index)
    h = h[~h.index.duplicated(keep="last")].sort_index()
    close = pd.to_numeric(h["Close"], errors="coerce").to_numpy(dtype=float)
    adj = pd.to_numeric(h["Adj Close"], errors="coerce").to_numpy(dtype=float) if "Adj Close" in h else close.copy()
    vol = pd.to_numeric(h["Volume"], errors="coerce").to_numpy(dtype=float) if "Volume" in h else np.full(len(h), np.nan)
    if "Stock Splits" in h:
        split = pd.to_numeric(h["Stock Splits"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        ratio = np.where(split > 0, split, 1.0)
        # factor[t] = product of the splits strictly after day t
        after = np.cumprod(ratio[::-1])[::-1]
        factor = np.append(after[1:], 1.0)
    else:
        factor = np.ones(len(h))
    raw_close = close * factor
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_vol = vol / factor
    ok = np.isfinite(raw_close) & (raw_close > 0) & np.isfinite(adj) & (adj > 0)
    out = pd.DataFrame(
        {
            "security_id": sid,
            "date": h.index[ok],
            "close": raw_close[ok],
            "total_return_index": adj[ok],
            "volume": np.where(np.isfinite(raw_vol[ok]) & (raw_vol[ok] >= 0), raw_vol[ok], np.nan),
        }
    )
    if out.empty:
        raise ProviderError(f"{ticker}: Yahoo returned no usable prices", label=ticker)
    return out.reset_index(drop=True)


def convert_shares(shares: pd.Series | None, sid: str) -> pd.DataFrame:
    """Canonical ``shares`` rows from ``get_shares_full`` (last count per day)."""
    if shares is None or len(shares) == 0:
        return empty_table("shares")
    s = pd.Series(pd.to_numeric(pd.Series(shares).to_numpy(), errors="coerce"), index=_naive_dates(shares.index))
    s = s[np.isfinite(s.to_numpy()) & (s.to_numpy() > 0)]
    s = s[~s.index.duplicated(keep="last")].sort_index()
    return pd.DataFrame({"security_id": sid, "date": s.index, "shares_outstanding": s.to_numpy(dtype=float)})


def convert_info(info: dict, sid: str, ticker: str, prices: pd.DataFrame | None = None) -> dict:
    """One canonical ``securities`` row (as a dict) from yfinance ``info``."""
    sector = info.get("sector") or None
    industry = info.get("industry") or None
    row = {
        "security_id": sid,
        "ticker": ticker.strip().upper(),
        "name": info.get("longName") or info.get("shortName") or None,
        "sector": SECTOR_MAP.get(sector, sector) if sector else None,
        "industry": INDUSTRY_MAP.get(industry, industry) if industry else None,
        "is_bdc": security_id(ticker) in KNOWN_BDCS,
    }
    # no first_date: the first price of a pull window is not the security's first trading day
    return row


@dataclass
class YahooResult:
    """Canonical tables for the tickers that worked, and a reason per ticker that failed."""

    securities: pd.DataFrame
    prices: pd.DataFrame
    shares: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    ok: list[str] = field(default_factory=list)
    splits: pd.DataFrame = field(default_factory=empty_splits)
    gaps: dict[str, dict[str, str]] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"securities": self.securities, "prices": self.prices, "shares": self.shares}


class YahooProvider:
    """Prices, shares and classification for tickers, one ticker at a time.

    Parameters
    ----------
    fetcher : callable, optional
        ``fetcher(ticker, start, end) -> YahooRaw``; default :func:`yfinance_fetch`.
    cache_dir : path or False, optional
        Where raw downloads are kept (default ``<HTTP cache dir>/yahoo``, i.e.
        ``$BROADENING_CACHE_DIR/yahoo``); ``False`` disables it.
    cache_ttl : float, optional
        Seconds a cached download stays fresh (default ``$BROADENING_CACHE_TTL`` or 86400).
    """

    def __init__(
        self,
        fetcher: Fetcher | None = None,
        *,
        cache_dir: str | Path | bool | None = None,
        cache_ttl: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        self.fetcher = fetcher or yfinance_fetch
        self.retries = int(retries if retries is not None else env_float(RETRIES_ENV, 4))
        self.backoff = backoff if backoff is not None else env_float(BACKOFF_ENV, 1.0)
        self._sleep = sleep or time.sleep
        if cache_dir is False:
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir) if cache_dir not in (None, True) else default_cache_dir() / "yahoo"
        self.cache_ttl = cache_ttl if cache_ttl is not None else env_float(CACHE_TTL_ENV, 86400.0)
        self.requests = 0
        self.last_splits = empty_splits()
        self.last_gaps: dict[str, str] = {}
        self.cache_hits = 0

    def _key(self, ticker: str, start, end) -> Path | None:
        if self.cache_dir is None:
            return None
        k = hashlib.sha256(f"{ticker}|{start}|{end}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{security_id(ticker)}-{k}.pkl"

    def raw(self, ticker: str, start=None, end=None, *, refresh: bool = False) -> YahooRaw:
        """The yfinance-shaped download of one ticker (cached)."""
        start = pd.Timestamp(start) if start is not None else None
        end = pd.Timestamp(end) if end is not None else None
        path = self._key(ticker, start, end)
        if path is not None and not refresh and path.exists() and time.time() - path.stat().st_mtime <= self.cache_ttl:
            try:
                with path.open("rb") as fh:
                    raw = pickle.load(fh)
                self.cache_hits += 1
                return raw
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                pass
        attempt = 0  # a loop that only ends by a result or a raise: retries < 0 means none
        while True:
            self.requests += 1
            try:
                raw = self.fetcher(ticker, start, end)
                break
            except Exception as exc:
                if attempt >= self.retries or not _rate_limited(exc):
                    raise
                self._sleep(min(self.backoff * 2 ** attempt, 60.0))
                attempt += 1
        if path is not None and raw.history is not None and len(raw.history) and not getattr(raw, "gaps", None):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(raw, fh)
            os.replace(tmp, path)
        return raw

    def ticker(self, ticker: str, start=None, end=None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
        """(securities row, prices, shares) of one ticker; :class:`ProviderError` if unusable.

        The split events and gaps of the download are kept in ``self.last_splits`` and
        ``self.last_gaps``."""
        sid = security_id(ticker)
        try:
            raw = self.raw(ticker, start, end)
        except ProviderError:
            raise
        except BroadeningError:
            raise
        except Exception as exc:  # a fetcher's own failure, reported per ticker
            raise ProviderError(f"{ticker}: Yahoo download failed: {type(exc).__name__}: {exc}", label=ticker) from None
        prices = convert_history(raw.history, sid, ticker)
        self.last_splits = splits_from_history(raw.history, sid)
        self.last_gaps = dict(getattr(raw, "gaps", None) or {})
        if start is not None:
            prices = prices[prices["date"] >= pd.Timestamp(start)].reset_index(drop=True)
        shares = convert_shares(raw.shares, sid)
        return convert_info(raw.info or {}, sid, ticker, prices), prices, shares

    def fetch(
        self,
        tickers: Iterable[str],
        start=None,
        end=None,
        *,
        progress: Callable[[str, int, int], None] | None = None,
        max_consecutive_failures: int = 5,
    ) -> YahooResult:
        """Tables for many tickers; a ticker that fails is recorded, the rest continue.

        After ``max_consecutive_failures`` downloads in a row fail for a reason other than
        an unknown ticker (no network, Yahoo down or blocking), the remaining tickers are
        not tried: each is failed with that reason at once (``0`` disables this)."""
        tickers = list(tickers)
        secs, prices, shares, splits, failed, ok = [], [], [], [], {}, []
        gaps: dict[str, dict[str, str]] = {}
        run = 0  # consecutive failures other than "no such ticker"
        for i, t in enumerate(tickers):
            if max_consecutive_failures and run >= max_consecutive_failures:
                failed[t] = f"{t}: not tried: Yahoo failed {run} times in a row (source treated as down)"
                if progress:
                    progress(f"yahoo {t} (skipped)", i + 1, len(tickers))
                continue
            try:
                row, p, s = self.ticker(t, start, end)
            except ProviderError as exc:
                failed[t] = str(exc)
                run = 0 if "returned no" in str(exc) else run + 1
            else:
                run = 0
                secs.append(row)
                prices.append(p)
                shares.append(s)
                splits.append(self.last_splits)
                for kind, why in self.last_gaps.items():
                    gaps.setdefault(kind, {})[t] = why
                ok.append(t)
            if progress:
                progress(f"yahoo {t}", i + 1, len(tickers))
        sec_df = pd.DataFrame(secs) if secs else empty_table("securities")
        return YahooResult(
            securities=sec_df,
            prices=pd.concat(prices, ignore_index=True) if prices else empty_table("prices"),
            shares=pd.concat(shares, ignore_index=True) if shares else empty_table("shares"),
            failed=failed,
            ok=ok,
            splits=pd.concat(splits, ignore_index=True) if splits else empty_splits(),
            gaps=gaps,
        )

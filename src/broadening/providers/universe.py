"""A rank-based small/mid-cap universe from public data, and the domestic-revenue proxy.

Candidates
----------
The SEC's ``company_tickers_exchange.json`` (``{"fields": ["cik", "name", "ticker",
"exchange"], "data": [[...], ...]}``) lists every ticker of an SEC registrant with its
exchange. :func:`common_stock_candidates` keeps the exchange-listed ones (NYSE, Nasdaq,
Cboe) that look like common stock, dropping, by documented rules (each drop counted):

- OTC and exchange-less tickers;
- preferred shares, warrants, units and rights: a share-class suffix ``-P*``, ``-WS``,
  ``-WT``, ``-U``, ``-UN``, ``-R``, ``-RT``, or a five-letter Nasdaq symbol ending in
  ``W``, ``U`` or ``R``;
- exchange-traded funds and grantor trusts (names with ``ETF``, ``SPDR``, ``ISHARES``,
  ``INVESCO QQQ``, ``GOLD TRUST``).

Foreign companies listed in the US (ADRs of 20-F filers) are not told apart by this file;
they stay in, and having no 10-K/10-Q facts they show as SEC gaps in the pull summary.

Ranks (Russell-style, point-in-time)
------------------------------------
:func:`rank_membership`: once a year, on the last trading day of May (the rank day), every
candidate priced that day with a share count in force is ranked by market cap (close x
shares, both that day). Ranks ``lo..hi`` (1,001-3,000 by default, as the Russell 2000 is
ranks 1,001-3,000 of the Russell 3000E) are members from the first trading day of July to
the first trading day of the next July. Nothing after the rank day is used.

**Survivorship bias**: the SEC file lists today's registrants. A company that was
delisted, acquired or went bankrupt before the file was read is not a candidate, so the
universe of past years holds only survivors: its past returns are biased upwards. ``info``
and the report say so.

Domestic-revenue share
----------------------
When the user does not supply ``securities.domestic_revenue_share``, :func:`domestic_share_proxy`
fills it from the security's sector (:data:`SECTOR_DOMESTIC_SHARE`): approximate US shares
of S&P 500 sales by sector as reported in S&P Dow Jones Indices' annual "S&P 500 Global
Sales" studies (roughly 60% overall; information technology about 40%, utilities and
telecoms nearly all domestic). It is a proxy: every member of a sector gets the same
value. The report says which was used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from broadening.providers.http import MalformedResponseError

EXCHANGES = frozenset({"NYSE", "Nasdaq", "CBOE", "NYSE American", "NYSE Arca", "NYSE MKT"})
SMALL_INDEX = "smallmid"
RANK_RANGE = (1001, 3000)

_SUFFIX = re.compile(r"-(?:P[A-Z]*|WS|WT|U|UN|R|RT)$")
_FUND = re.compile(r"\bETF\b|\bSPDR\b|\bISHARES\b|INVESCO QQQ|GOLD TRUST", re.IGNORECASE)

#: Approximate domestic (US) share of sales by sector (S&P DJI "S&P 500 Global Sales").
SECTOR_DOMESTIC_SHARE: dict[str, float] = {
    "Information Technology": 0.42,
    "Materials": 0.55,
    "Energy": 0.62,
    "Consumer Staples": 0.66,
    "Health Care": 0.66,
    "Industrials": 0.70,
    "Consumer Discretionary": 0.72,
    "Communication Services": 0.75,
    "Financials": 0.78,
    "Real Estate": 0.95,
    "Utilities": 0.98,
}


def parse_company_tickers_exchange(data, source: str = "company_tickers_exchange.json") -> pd.DataFrame:
    """``company_tickers_exchange.json`` as a frame ``cik, name, ticker, exchange``.

    Raises
    ------
    MalformedResponseError
        If it is not ``{"fields": [...], "data": [[...], ...]}`` with those four fields.
    """
    try:
        fields = list(data["fields"])
        df = pd.DataFrame(data["data"], columns=fields)
        df = df[["cik", "name", "ticker", "exchange"]]
    except (KeyError, TypeError, ValueError):
        raise MalformedResponseError(
            f"{source}: expected {{'fields': ['cik', 'name', 'ticker', 'exchange'], 'data': [[...], ...]}}", url=source
        ) from None
    df = df[df["ticker"].notna()].copy()
    df["ticker"] = df["ticker"].astype(str).str.strip().str.upper().str.replace(".", "-", regex=False)
    return df.reset_index(drop=True)


def common_stock_candidates(listing: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The exchange-listed common stocks of a parsed listing, and how many each rule dropped."""
    exch = listing["exchange"].fillna("")
    off = ~exch.isin(EXCHANGES)
    t = listing["ticker"]
    share_class = t.str.contains(_SUFFIX) | ((exch == "Nasdaq") & (t.str.len() == 5) & t.str[-1].isin(["W", "U", "R"]))
    fund = listing["name"].fillna("").str.contains(_FUND)
    drops = {
        "not exchange-listed (OTC or none)": int(off.sum()),
        "preferred, warrant, unit or right": int((~off & share_class).sum()),
        "fund or trust": int((~off & ~share_class & fund).sum()),
    }
    keep = ~off & ~share_class & ~fund
    out = listing[keep].drop_duplicates("ticker").reset_index(drop=True)
    drops["duplicate ticker"] = int(keep.sum()) - len(out)
    return out, drops


def rank_days(dates: np.ndarray, month: int = 5) -> np.ndarray:
    """Positions of the last trading day of ``month`` in each year of ``dates``."""
    d = pd.DatetimeIndex(np.asarray(dates).astype("datetime64[ns]"))
    pos = np.flatnonzero(d.month == month)
    if pos.size == 0:
        return pos
    years = d.year[pos]
    last = np.r_[years[1:] != years[:-1], True]
    return pos[last]


def rank_membership(
    dates: np.ndarray,
    ids: np.ndarray,
    cap: np.ndarray,
    *,
    ranks: tuple[int, int] = RANK_RANGE,
    index_id: str = SMALL_INDEX,
    month: int = 5,
) -> pd.DataFrame:
    """Yearly rank-based membership intervals (see the module notes).

    Parameters
    ----------
    dates : ndarray of datetime64, shape (T,)
    ids : ndarray of str, shape (N,)
    cap : ndarray, shape (T, N)
        Market cap each day (NaN where unknown: not ranked that year).
    ranks : (int, int)
        First and last rank (1 = largest) that are members.

    Returns
    -------
    DataFrame
        ``index_id, security_id, start, end`` (``end`` exclusive; null for the current year).
    """
    d = pd.DatetimeIndex(np.asarray(dates).astype("datetime64[ns]"))
    lo, hi = ranks
    rows = []
    for r in rank_days(dates, month):
        c = cap[r]
        ok = np.flatnonzero(np.isfinite(c) & (c > 0))
        order = ok[np.argsort(-c[ok], kind="mergesort")]
        members = order[lo - 1:hi]
        year = d[r].year
        start = np.searchsorted(d, pd.Timestamp(year=year, month=7, day=1).to_datetime64(), side="left")
        if start >= len(d):
            continue
        nxt = np.searchsorted(d, pd.Timestamp(year=year + 1, month=7, day=1).to_datetime64(), side="left")
        end = d[nxt] if nxt < len(d) else pd.NaT
        rows += [(index_id, str(ids[j]), d[start], end) for j in members]
    out = pd.DataFrame(rows, columns=["index_id", "security_id", "start", "end"])
    return merge_intervals(out)


def merge_intervals(m: pd.DataFrame) -> pd.DataFrame:
    """Join back-to-back yearly intervals of the same security into one."""
    if m.empty:
        return m
    m = m.sort_values(["index_id", "security_id", "start"], kind="mergesort").reset_index(drop=True)
    prev_end = m.groupby(["index_id", "security_id"])["end"].shift()
    new = prev_end.isna() | (prev_end != m["start"])
    block = new.cumsum()
    # the last interval's end, NaT (still a member) included
    agg = m.groupby(block).agg(index_id=("index_id", "first"), security_id=("security_id", "first"),
                               start=("start", "first"), end=("end", lambda x: x.iloc[-1]))
    return agg.reset_index(drop=True)


def domestic_share_proxy(sectors: pd.Series, table: Mapping[str, float] = SECTOR_DOMESTIC_SHARE) -> pd.Series:
    """The sector proxy of the domestic-revenue share (NaN for an unknown sector)."""
    return sectors.map(lambda s: table.get(s, np.nan) if isinstance(s, str) else np.nan).astype(float)

"""SEC EDGAR company facts (XBRL): quarterly fundamentals and shares outstanding.

Endpoints (``$BROADENING_SEC_BASE_URL`` replaces both hosts, e.g. a local mirror):

- ``https://www.sec.gov/files/company_tickers.json``: the ticker -> CIK map,
  ``{"0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."}, ...}``;
- ``https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json``: every
  non-dimensional fact a company filed, ``facts[taxonomy][concept]["units"][unit]`` a list
  of ``{"start"?, "end", "val", "accn", "fy", "fp", "form", "filed", "frame"?}``.

The SEC asks for a User-Agent naming the caller with a contact address
(``$BROADENING_SEC_USER_AGENT``, e.g. ``"Jane Doe jane@example.com"``; required for a real
pull) and at most 10 requests per second, shared by both hosts; both are enforced here.

Point-in-time rules
-------------------
- Only facts from 10-K / 10-Q filings (and their amendments and transition reports).
- Each value is taken **as first reported**: among the filings that report a period, the
  one filed first wins (later restatements are ignored), and its ``filed`` date is the
  value's availability. A fundamentals row's ``available_date`` is the latest of its
  fields' availabilities, so no field is visible before it was published.
- For a field with several concepts (e.g. revenue), the value first filed wins; ties go to
  the earlier concept in :data:`CONCEPTS`.

Quarter rows (one per fiscal quarter, flows are the quarter's own values)
-------------------------------------------------------------------------
1. Duration facts of about three months (80-100 days) are quarters as reported.
2. Year-to-date facts are differenced: a 6-, 9- or 12-month value minus the value of the
   same fiscal year-to-date ending one quarter earlier (same ``start``) gives the last
   quarter (cash-flow items such as capex are reported this way).
3. A fiscal quarter still missing (typically Q4, only in the 10-K) is the annual value
   minus the three quarters inside that year, when all three are known.
EPS is differenced the same way (an approximation: share counts move within a year).
Balance-sheet items (equity, debt) are the instants at each quarter end.

Field mapping (us-gaap unless noted)
------------------------------------
- revenue: Revenues, RevenueFromContractWithCustomerExcludingAssessedTax,
  RevenueFromContractWithCustomerIncludingAssessedTax, SalesRevenueNet, SalesRevenueGoodsNet
- net_income: NetIncomeLoss, ProfitLoss
- eps: EarningsPerShareDiluted, EarningsPerShareBasicAndDiluted, EarningsPerShareBasic
- book_equity: StockholdersEquity,
  StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest
- operating_income: OperatingIncomeLoss
- capex: PaymentsToAcquirePropertyPlantAndEquipment, PaymentsToAcquireProductiveAssets
  (a positive number: cash paid)
- total_debt: non-current long-term debt (LongTermDebtNoncurrent, else
  LongTermDebtAndCapitalLeaseObligations) plus current debt (DebtCurrent, else
  LongTermDebtCurrent + ShortTermBorrowings + CommercialPaper); when no non-current
  concept is reported, LongTermDebt (which includes its current maturities) plus
  ShortTermBorrowings + CommercialPaper.
- shares (``shares`` table): dei:EntityCommonStockSharesOutstanding, the cover-page count
  (summed over share classes reported in one filing), dated by the **filing date** (the
  cover reports the count as of a date a few days earlier, ``end``; dating it by the
  filing keeps market caps point-in-time). Falls back to
  us-gaap:CommonStockSharesOutstanding, also dated by its filing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from broadening.errors import BroadeningError
from broadening.providers.http import (
    HttpClient,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
)
from broadening.schema import FUNDAMENTAL_FIELDS, empty_table

USER_AGENT_ENV = "BROADENING_SEC_USER_AGENT"
BASE_URL_ENV = "BROADENING_SEC_BASE_URL"
DATA_URL = "https://data.sec.gov"
WWW_URL = "https://www.sec.gov"
RATE_KEY = "sec"
MAX_RATE = 10.0  # SEC fair-access policy: at most 10 requests per second

FORMS = frozenset({"10-K", "10-Q", "10-K/A", "10-Q/A", "10-KT", "10-QT", "10-KT/A", "10-QT/A"})

#: field -> (unit, concepts in priority order); debt is assembled separately.
CONCEPTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "revenue": ("USD", (
        "Revenues",
        "RevenueFromContractWithCustomerExcludingAssessedTax",
        "RevenueFromContractWithCustomerIncludingAssessedTax",
        "SalesRevenueNet",
        "SalesRevenueGoodsNet",
    )),
    "net_income": ("USD", ("NetIncomeLoss", "ProfitLoss")),
    "eps": ("USD/shares", ("EarningsPerShareDiluted", "EarningsPerShareBasicAndDiluted", "EarningsPerShareBasic")),
    "operating_income": ("USD", ("OperatingIncomeLoss",)),
    "capex": ("USD", ("PaymentsToAcquirePropertyPlantAndEquipment", "PaymentsToAcquireProductiveAssets")),
    "book_equity": ("USD", (
        "StockholdersEquity",
        "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
    )),
}
FLOWS = ("revenue", "net_income", "eps", "operating_income", "capex")
STOCKS = ("book_equity",)
DEBT_NONCURRENT = ("LongTermDebtNoncurrent", "LongTermDebtAndCapitalLeaseObligations")
DEBT_CURRENT = "DebtCurrent"
DEBT_CURRENT_PARTS = ("LongTermDebtCurrent", "ShortTermBorrowings", "CommercialPaper")
DEBT_TOTAL_LT = "LongTermDebt"
DEBT_SHORT_PARTS = ("ShortTermBorrowings", "CommercialPaper")

_Q = (80, 100)  # days in a reported quarter
_STEP = (75, 105)  # days between consecutive year-to-date ends


def _norm_ticker(t: str) -> str:
    return t.strip().upper().replace(".", "-").replace("/", "-")


def sec_user_agent(explicit: str | None = None, *, required: bool = True) -> str | None:
    """The SEC User-Agent: ``explicit``, else ``$BROADENING_SEC_USER_AGENT``.

    Raises
    ------
    BroadeningError
        If ``required`` and none is set (the SEC blocks anonymous clients).
    """
    ua = explicit or os.environ.get(USER_AGENT_ENV)
    if ua and ua.strip():
        return ua.strip()
    if required:
        raise BroadeningError(
            f"SEC EDGAR needs a User-Agent naming you with a contact e-mail: set ${USER_AGENT_ENV}, "
            f"e.g. export {USER_AGENT_ENV}='Jane Doe jane@example.com'"
        )
    return None


@dataclass
class CompanyData:
    """What one company's facts give: fundamentals and shares rows, and its name."""

    ticker: str
    cik: int
    name: str | None
    fundamentals: pd.DataFrame
    shares: pd.DataFrame
    notes: list[str] = field(default_factory=list)


class SecProvider:
    """EDGAR company facts for tickers.

    Parameters
    ----------
    client : HttpClient, optional
        Its User-Agent is replaced by the SEC one; a 10/s limit is set on key ``"sec"``.
    user_agent : str, optional
        Else ``$BROADENING_SEC_USER_AGENT``; required unless a base URL override points
        the provider at a local mirror (tests).
    base_url : str, optional
        Replaces both ``https://www.sec.gov`` and ``https://data.sec.gov`` (else
        ``$BROADENING_SEC_BASE_URL``).
    rate : float, default 10
        Requests per second (capped at 10).
    """

    def __init__(
        self,
        client: HttpClient | None = None,
        *,
        user_agent: str | None = None,
        base_url: str | None = None,
        rate: float = MAX_RATE,
    ) -> None:
        base = base_url or os.environ.get(BASE_URL_ENV)
        self.data_url = (base or DATA_URL).rstrip("/")
        self.www_url = (base or WWW_URL).rstrip("/")
        ua = sec_user_agent(user_agent, required=base is None)
        self.client = client or HttpClient()
        if ua:
            self.client.user_agent = ua
        self.client.set_rate_limit(RATE_KEY, min(float(rate), MAX_RATE))
        self._tickers: dict[str, tuple[int, str]] | None = None

    # -- ticker map --------------------------------------------------------------------
    def ticker_map(self) -> dict[str, tuple[int, str]]:
        """Ticker (Yahoo style, ``BRK-B``) -> (CIK, company title)."""
        if self._tickers is None:
            url = f"{self.www_url}/files/company_tickers.json"
            data = self.client.get_json(url, label="SEC ticker map", rate_key=RATE_KEY)
            self._tickers = parse_company_tickers(data, url)
        return self._tickers

    def cik(self, ticker: str) -> int:
        """The CIK of ``ticker`` (:class:`NotFoundError` naming the ticker if unknown)."""
        t = _norm_ticker(ticker)
        m = self.ticker_map()
        if t not in m:
            raise NotFoundError(f"{ticker}: not in the SEC ticker map (company_tickers.json)", label=ticker)
        return m[t][0]

    # -- company facts -----------------------------------------------------------------
    def facts_url(self, cik: int) -> str:
        return f"{self.data_url}/api/xbrl/companyfacts/CIK{int(cik):010d}.json"

    def company_facts(self, ticker: str) -> dict:
        """The raw company-facts JSON of ``ticker``."""
        cik = self.cik(ticker)
        url = self.facts_url(cik)
        data = self.client.get_json(url, label=ticker, rate_key=RATE_KEY)
        if not isinstance(data, dict) or not isinstance(data.get("facts"), dict):
            self.client.forget(url)
            raise MalformedResponseError(f"{ticker} ({url}): expected company facts JSON with a 'facts' object", url=url, label=ticker)
        return data

    def company(self, ticker: str, security_id: str | None = None, start=None) -> CompanyData:
        """Fundamentals (quarter rows) and shares outstanding of one ticker."""
        data = self.company_facts(ticker)
        sid = security_id or _norm_ticker(ticker)
        fund = quarterly_fundamentals(data, sid)
        shares = shares_outstanding(data, sid)
        if start is not None:
            fund = fund[fund["period_end"] >= pd.Timestamp(start)].reset_index(drop=True)
            shares = shares[shares["date"] >= pd.Timestamp(start)].reset_index(drop=True)
        return CompanyData(_norm_ticker(ticker), int(data.get("cik") or self.cik(ticker)), data.get("entityName"), fund, shares)


def parse_company_tickers(data, source: str = "company_tickers.json") -> dict[str, tuple[int, str]]:
    """Parse ``company_tickers.json`` into ticker -> (CIK, title)."""
    rows = data.values() if isinstance(data, Mapping) else data if isinstance(data, list) else None
    out: dict[str, tuple[int, str]] = {}
    try:
        for r in rows:  # type: ignore[union-attr]
            out.setdefault(_norm_ticker(str(r["ticker"])), (int(r["cik_str"]), str(r.get("title", ""))))
    except (TypeError, KeyError, ValueError):
        raise MalformedResponseError(
            f"{source}: expected {{'0': {{'cik_str': ..., 'ticker': ..., 'title': ...}}, ...}}", url=source
        ) from None
    if not out:
        raise MalformedResponseError(f"{source}: the ticker map is empty", url=source)
    return out


# -- facts -> tables -----------------------------------------------------------------------
def _facts(data: dict, concept: str, unit: str, taxonomy: str = "us-gaap") -> pd.DataFrame:
    """The facts of one concept/unit from 10-K/10-Q filings as a frame."""
    node = data.get("facts", {}).get(taxonomy, {}).get(concept, {})
    items = node.get("units", {}).get(unit, []) if isinstance(node, dict) else []
    if not items:
        return pd.DataFrame(columns=["start", "end", "val", "filed", "accn", "form"])
    df = pd.DataFrame(items)
    for c in ("start", "frame", "form", "accn"):
        if c not in df:
            df[c] = None
    df = df[df["form"].isin(FORMS)]
    out = pd.DataFrame(
        {
            "start": pd.to_datetime(df["start"], errors="coerce"),
            "end": pd.to_datetime(df["end"], errors="coerce"),
            "val": pd.to_numeric(df["val"], errors="coerce"),
            "filed": pd.to_datetime(df["filed"], errors="coerce"),
            "accn": df["accn"],
            "form": df["form"],
        }
    )
    return out[out["end"].notna() & out["val"].notna() & out["filed"].notna()].reset_index(drop=True)


def _first_reported(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per period, the value of the earliest filing."""
    return df.sort_values(["filed", "accn"], kind="mergesort").drop_duplicates(keys, keep="first")


def _flow_quarters(df: pd.DataFrame) -> dict[pd.Timestamp, tuple[float, pd.Timestamp]]:
    """Quarter end -> (quarter value, available date) from duration facts of one concept."""
    df = df[df["start"].notna()]
    if df.empty:
        return {}
    df = _first_reported(df, ["start", "end"])
    days = (df["end"] - df["start"]).dt.days
    q: dict[pd.Timestamp, tuple[float, pd.Timestamp, pd.Timestamp]] = {}  # end -> (val, filed, start)
    for r in df[(days >= _Q[0]) & (days <= _Q[1])].itertuples():
        q[r.end] = (float(r.val), r.filed, r.start)
    # year-to-date differencing: same start, ends one quarter apart
    ytd = {(r.start, r.end): (float(r.val), r.filed) for r in df.itertuples()}
    by_start: dict[pd.Timestamp, list[pd.Timestamp]] = {}
    for s, e in ytd:
        by_start.setdefault(s, []).append(e)
    for s, ends in by_start.items():
        ends = sorted(ends)
        for prev, cur in zip(ends[:-1], ends[1:], strict=False):
            step = (cur - prev).days
            if cur in q or not (_STEP[0] <= step <= _STEP[1]):
                continue
            v1, f1 = ytd[(s, cur)]
            v0, f0 = ytd[(s, prev)]
            q[cur] = (v1 - v0, max(f0, f1), prev + pd.Timedelta(days=1))
    # annual minus three known quarters
    annual = df[(days >= 350) & (days <= 380)]
    for r in annual.itertuples():
        if r.end in q:
            continue
        inside = [
            (e, v) for e, v in q.items()
            if v[2] is not None and v[2] >= r.start - pd.Timedelta(days=7) and r.start < e < r.end - pd.Timedelta(days=60)
        ]
        if len(inside) == 3:
            q[r.end] = (float(r.val) - sum(v[0] for _, v in inside), max([r.filed] + [v[1] for _, v in inside]), None)
    return {e: (v[0], v[1]) for e, v in q.items()}


def _instants(df: pd.DataFrame) -> dict[pd.Timestamp, tuple[float, pd.Timestamp]]:
    df = df[df["start"].isna()] if "start" in df else df
    if df.empty:
        return {}
    df = _first_reported(df, ["end"])
    return {r.end: (float(r.val), r.filed) for r in df.itertuples()}


def _pick(candidates: list[dict[pd.Timestamp, tuple[float, pd.Timestamp]]]) -> dict[pd.Timestamp, tuple[float, pd.Timestamp]]:
    """Per period, the value first filed across concepts (ties: the earlier concept)."""
    out: dict[pd.Timestamp, tuple[float, pd.Timestamp]] = {}
    for cand in candidates:
        for e, (v, f) in cand.items():
            if e not in out or f < out[e][1]:
                out[e] = (v, f)
    return out


def _sum_parts(parts: list[dict]) -> dict[pd.Timestamp, tuple[float, pd.Timestamp]]:
    out: dict[pd.Timestamp, tuple[float, pd.Timestamp]] = {}
    for p in parts:
        for e, (v, f) in p.items():
            if e in out:
                out[e] = (out[e][0] + v, max(out[e][1], f))
            else:
                out[e] = (v, f)
    return out


def _debt(data: dict) -> dict[pd.Timestamp, tuple[float, pd.Timestamp]]:
    inst = {c: _instants(_facts(data, c, "USD")) for c in (*DEBT_NONCURRENT, DEBT_CURRENT, *DEBT_CURRENT_PARTS, DEBT_TOTAL_LT, "CommercialPaper")}
    noncurrent = _pick([inst[c] for c in DEBT_NONCURRENT])
    current_parts = _sum_parts([inst[c] for c in DEBT_CURRENT_PARTS])
    short_parts = _sum_parts([inst[c] for c in DEBT_SHORT_PARTS])
    out: dict[pd.Timestamp, tuple[float, pd.Timestamp]] = {}
    for e, (v, f) in noncurrent.items():
        cur = inst[DEBT_CURRENT].get(e) or current_parts.get(e)
        out[e] = (v + cur[0], max(f, cur[1])) if cur else (v, f)
    for e, (v, f) in inst[DEBT_TOTAL_LT].items():
        if e in out:
            continue
        sp = short_parts.get(e)
        out[e] = (v + sp[0], max(f, sp[1])) if sp else (v, f)
    return out


def _period_ends(data: dict) -> set[pd.Timestamp]:
    """Each 10-K/10-Q filing's own period end (the latest ``end`` among its mapped facts)."""
    ends: dict[str, pd.Timestamp] = {}
    concepts = {c for _, cs in CONCEPTS.values() for c in cs}
    concepts |= {*DEBT_NONCURRENT, DEBT_CURRENT, *DEBT_CURRENT_PARTS, DEBT_TOTAL_LT}
    gaap = data.get("facts", {}).get("us-gaap", {})
    for concept in concepts:
        node = gaap.get(concept)
        if isinstance(node, dict):
            for items in (node.get("units", {}) or {}).values():
                for it in items:
                    if it.get("form") in FORMS and it.get("accn") and it.get("end"):
                        e = pd.Timestamp(it["end"])
                        a = it["accn"]
                        if a not in ends or e > ends[a]:
                            ends[a] = e
    return set(ends.values())


def quarterly_fundamentals(data: dict, security_id: str) -> pd.DataFrame:
    """Canonical ``fundamentals`` rows (one per fiscal quarter) from company facts."""
    fields: dict[str, dict[pd.Timestamp, tuple[float, pd.Timestamp]]] = {}
    for f in FLOWS:
        unit, concepts = CONCEPTS[f]
        fields[f] = _pick([_flow_quarters(_facts(data, c, unit)) for c in concepts])
    for f in STOCKS:
        unit, concepts = CONCEPTS[f]
        fields[f] = _pick([_instants(_facts(data, c, unit)) for c in concepts])
    fields["total_debt"] = _debt(data)
    quarter_ends = set().union(*(fields[f].keys() for f in FLOWS)) | _period_ends(data)
    rows = []
    for e in sorted(quarter_ends):
        vals = {f: fields[f].get(e) for f in FUNDAMENTAL_FIELDS}
        present = [v for v in vals.values() if v is not None]
        if not present:
            continue
        avail = max(v[1] for v in present)
        rows.append({"security_id": security_id, "period_end": e, "available_date": max(avail, e),
                     **{f: (v[0] if v is not None else np.nan) for f, v in vals.items()}})
    if not rows:
        return empty_table("fundamentals")
    return pd.DataFrame(rows, columns=["security_id", "period_end", "available_date", *FUNDAMENTAL_FIELDS])


def shares_outstanding(data: dict, security_id: str) -> pd.DataFrame:
    """Canonical ``shares`` rows: cover-page shares outstanding dated by filing date."""
    df = _facts(data, "EntityCommonStockSharesOutstanding", "shares", taxonomy="dei")
    if df.empty:
        df = _facts(data, "CommonStockSharesOutstanding", "shares")
        df = df[df["start"].isna()]
    if df.empty:
        return empty_table("shares")
    # one filing may report several share classes (same accn and as-of date): add them up
    per_filing = (
        df.drop_duplicates(["accn", "end", "val"])
        .groupby(["accn", "end"], as_index=False)
        .agg(val=("val", "sum"), filed=("filed", "min"))
    )
    # the latest as-of date in each filing is the cover count (older ends are comparatives)
    per_filing = per_filing.sort_values("end").drop_duplicates("accn", keep="last")
    per_date = per_filing.sort_values(["filed", "end"]).drop_duplicates("filed", keep="last")
    per_date = per_date[per_date["val"] >= 0]
    return pd.DataFrame(
        {"security_id": security_id, "date": per_date["filed"].to_numpy(), "shares_outstanding": per_date["val"].to_numpy(dtype=float)}
    ).reset_index(drop=True)


def fetch_many(
    provider: SecProvider, tickers: Iterable[str], start=None
) -> tuple[dict[str, CompanyData], dict[str, str]]:
    """Company data for many tickers; failures are collected per ticker, not raised."""
    ok: dict[str, CompanyData] = {}
    failed: dict[str, str] = {}
    for t in tickers:
        try:
            ok[t] = provider.company(t, start=start)
        except ProviderError as exc:
            failed[t] = str(exc)
    return ok, failed

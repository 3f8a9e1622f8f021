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

Conversion of the facts into quarter rows and share counts (per-field availability,
concept families, debt assembled within each filing) is in
:mod:`broadening.providers.sec_facts`; its rules are documented there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from broadening.errors import BroadeningError
from broadening.providers.http import (
    HttpClient,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
)
from broadening.providers.sec_facts import (  # noqa: F401  (re-exported: the public conversion API)
    CONCEPTS,
    FORMS,
    quarterly_fundamentals,
    shares_outstanding,
)

USER_AGENT_ENV = "BROADENING_SEC_USER_AGENT"
BASE_URL_ENV = "BROADENING_SEC_BASE_URL"
DATA_URL = "https://data.sec.gov"
WWW_URL = "https://www.sec.gov"
RATE_KEY = "sec"
MAX_RATE = 10.0  # SEC fair-access policy: at most 10 requests per second

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
    late: int = 0


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

    def exchange_listing(self) -> pd.DataFrame:
        """``company_tickers_exchange.json``: every SEC registrant's ticker with its exchange."""
        from broadening.providers.universe import parse_company_tickers_exchange

        url = f"{self.www_url}/files/company_tickers_exchange.json"
        data = self.client.get_json(url, label="SEC exchange listing", rate_key=RATE_KEY)
        try:
            return parse_company_tickers_exchange(data, url)
        except MalformedResponseError:
            self.client.forget(url)
            raise

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
        late: list = []
        fund = quarterly_fundamentals(data, sid, late=late)
        shares = shares_outstanding(data, sid)
        if start is not None:
            fund = fund[fund["period_end"] >= pd.Timestamp(start)].reset_index(drop=True)
            shares = shares[shares["date"] >= pd.Timestamp(start)].reset_index(drop=True)
        notes = []
        if late:
            notes.append(f"{len(late)} field value(s) first reported after their quarter's filing left blank")
        return CompanyData(_norm_ticker(ticker), int(data.get("cik") or self.cik(ticker)), data.get("entityName"),
                           fund, shares, notes, late=len(late))


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

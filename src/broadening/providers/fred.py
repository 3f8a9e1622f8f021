"""FRED (Federal Reserve Economic Data): any series by id into the ``series`` table.

Two endpoints:

- the **fredgraph CSV** download, ``{base}/graph/fredgraph.csv?id=SERIES`` (no API key):
  a header ``observation_date,SERIES`` (older files: ``DATE,SERIES``) then one
  ``YYYY-MM-DD,value`` line per observation, ``.`` (or blank) for a missing value;
- the **API** ``{api_base}/fred/series/observations?series_id=SERIES&file_type=json``,
  used when ``$FRED_API_KEY`` is set (or ``api_key=`` is passed): JSON
  ``{"observations": [{"date": "YYYY-MM-DD", "value": "..."}, ...]}``, ``"."`` missing.

Missing values are dropped (``series.value`` is never null). Stored ``series_id`` is
the FRED id itself (``BUSLOANS``, ``BAMLH0A0HYM2``), the same ids the synthetic market
uses, so signals read real and synthetic data alike.

Dated by publication, never by observation
------------------------------------------
A monthly value dated the 1st is published weeks later; using it from its observation
date is look-ahead. Every stored row's ``date`` is therefore the day the value became
public:

- **with an API key**, from ALFRED's real-time periods (``realtime_start=1776-07-04``,
  ``output_type=4``: each observation's initial release): the value as first released,
  dated by its ``realtime_start``. Observations older than ALFRED's first vintage of the
  series (they all carry that vintage's date) are dated by the release lag below instead.
  Two observations first published the same day keep the later one (the newest period).
- **without a key** (fredgraph CSV: latest values only), by the observation date plus a
  per-series release lag (:data:`RELEASE_LAG_DAYS`; a series not listed gets one from its
  spacing: daily 1 day, weekly 7, monthly 45, quarterly 120, annual 120). Values are then
  the latest revision (the CSV has no vintages), which :attr:`FredProvider.dating` says.

A series whose history starts more than a year after the requested start (the ICE BofA
spreads keep about three years on FRED) gets a note in :attr:`FredProvider.notes`; the
pull shows it. ``BAA10Y`` (Moody's Baa corporate yield minus the 10-year Treasury, daily
since 1986) is pulled by default as the long-history credit spread. Base URLs come from
``$BROADENING_FRED_BASE_URL`` (default ``https://fred.stlouisfed.org``) and
``$BROADENING_FRED_API_BASE_URL`` (default ``https://api.stlouisfed.org``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable

import pandas as pd

from broadening.providers.http import HttpClient, MalformedResponseError
from broadening.schema import empty_table

BASE_URL_ENV = "BROADENING_FRED_BASE_URL"
API_BASE_URL_ENV = "BROADENING_FRED_API_BASE_URL"
API_KEY_ENV = "FRED_API_KEY"
DEFAULT_BASE_URL = "https://fred.stlouisfed.org"
DEFAULT_API_BASE_URL = "https://api.stlouisfed.org"

#: Default credit series: bank C&I loans ($bn, monthly), the US high-yield OAS (%, daily; about
#: three years of history on FRED) and the Baa-Treasury spread (%, daily since 1986).
DEFAULT_SERIES: tuple[str, ...] = ("BUSLOANS", "BAMLH0A0HYM2", "BAA10Y")

#: Calendar days from observation date to publication, for the keyless CSV (and for the
#: observations before ALFRED's first vintage). BUSLOANS: H.8 monthly averages are out in
#: the second week of the next month; the daily spreads the next business day.
RELEASE_LAG_DAYS: dict[str, int] = {
    "BUSLOANS": 45, "TOTCI": 10, "BAMLH0A0HYM2": 1, "BAMLC0A0CM": 1, "BAA10Y": 1, "AAA10Y": 1,
    "DGS10": 1, "BAA": 1, "UNRATE": 35, "CPIAUCSL": 45, "INDPRO": 45, "GDP": 120,
}
ALFRED_START = "1776-07-04"
ALFRED_END = "9999-12-31"
SHORT_HISTORY_DAYS = 365


def default_lag(series_id: str, dates: pd.Series) -> int:
    """The release lag of a series: :data:`RELEASE_LAG_DAYS`, else from its spacing."""
    if series_id in RELEASE_LAG_DAYS:
        return RELEASE_LAG_DAYS[series_id]
    d = pd.to_datetime(dates).sort_values().diff().dt.days.dropna()
    step = float(d.median()) if len(d) else 1.0
    return 1 if step <= 3 else 7 if step <= 10 else 45 if step <= 40 else 120


class FredProvider:
    """Fetch FRED series as canonical ``series`` rows.

    Parameters
    ----------
    client : HttpClient, optional
    base_url, api_base_url : str, optional
        Override the endpoints (else the environment, else FRED's).
    api_key : str, optional
        Use the JSON API with this key (else ``$FRED_API_KEY``; without one, the CSV).
    """

    def __init__(
        self,
        client: HttpClient | None = None,
        *,
        base_url: str | None = None,
        api_base_url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self.client = client or HttpClient()
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self.api_base_url = (api_base_url or os.environ.get(API_BASE_URL_ENV) or DEFAULT_API_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        #: series id -> how its rows are dated ("ALFRED first release" or "observation + N days")
        self.dating: dict[str, str] = {}
        #: series id -> a warning about it (e.g. a history shorter than asked for)
        self.notes: dict[str, str] = {}

    def series(self, series_id: str, start: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """One series as canonical rows ``series_id, date, value``, dated by publication
        (see the module notes), from ``start`` on."""
        sid = series_id.strip().upper()
        if self.api_key:
            df = self._from_api(sid, start)
        else:
            obs = self._from_csv(sid, start)
            lag = default_lag(sid, obs["date"])
            self.dating[sid] = f"observation date + {lag} days (keyless CSV: latest revision)"
            df = obs.assign(date=obs["date"] + pd.Timedelta(days=lag))
            first = obs["date"].min() if len(obs) else None
            self._check_history(sid, first, start)
        if start is not None:
            df = df[df["date"] >= pd.Timestamp(start)]
        return df.reset_index(drop=True)

    def _check_history(self, sid: str, first, start) -> None:
        if first is None or start is None:
            return
        gap = (pd.Timestamp(first) - pd.Timestamp(start)).days
        if gap > SHORT_HISTORY_DAYS:
            self.notes[sid] = (f"{sid}: FRED has it only from {pd.Timestamp(first).date()} "
                               f"({gap / 365.25:.1f} years after the start asked for)")

    def fetch(self, series_ids: Iterable[str] = DEFAULT_SERIES, start=None) -> pd.DataFrame:
        """Several series stacked (raises on the first failure; see :meth:`series`)."""
        frames = [self.series(s, start) for s in series_ids]
        return pd.concat(frames, ignore_index=True) if frames else empty_table("series")

    # -- endpoints ---------------------------------------------------------------------
    def _from_csv(self, sid: str, start) -> pd.DataFrame:
        url = f"{self.base_url}/graph/fredgraph.csv"
        params = {"id": sid}
        if start is not None:
            # observations a release lag before the start can be published after it
            params["cosd"] = (pd.Timestamp(start) - pd.Timedelta(days=130)).strftime("%Y-%m-%d")
        resp = self.client.get(url, params, label=f"FRED series {sid}")
        try:
            return parse_fredgraph_csv(resp.text, sid, source=url)
        except MalformedResponseError:
            self.client.forget(url, params)
            raise

    def _from_api(self, sid: str, start) -> pd.DataFrame:
        url = f"{self.api_base_url}/fred/series/observations"
        params = {"series_id": sid, "file_type": "json", "realtime_start": ALFRED_START,
                  "realtime_end": ALFRED_END, "output_type": 4}
        if start is not None:
            # observations a lag before the start can be published after it
            params["observation_start"] = (pd.Timestamp(start) - pd.Timedelta(days=130)).strftime("%Y-%m-%d")
        data = self.client.get_json(url, params, secret_params={"api_key": self.api_key}, label=f"FRED series {sid}")
        obs = data.get("observations") if isinstance(data, dict) else None
        if not isinstance(obs, list):
            self.client.forget(url, params)
            raise MalformedResponseError(
                f"FRED series {sid} ({url}): expected a JSON object with an 'observations' list", url=url, label=sid
            )
        try:
            df = parse_alfred(data, sid, source=url)
        except MalformedResponseError:
            self.client.forget(url, params)
            raise
        self.dating[sid] = "ALFRED first release (realtime_start)"
        obs_dates = pd.to_datetime(pd.Series([o.get("date") for o in obs]), errors="coerce")
        self._check_history(sid, obs_dates.min() if len(obs_dates) else None, start)
        return df


def parse_alfred(data: dict, series_id: str, lag: int | None = None, source: str = "ALFRED") -> pd.DataFrame:
    """Canonical ``series`` rows dated by first publication from an ALFRED observations
    response (any ``output_type``; rows need ``date``, ``value``, ``realtime_start``).

    Raises
    ------
    MalformedResponseError
        If an observation lacks those fields or a date/value is not readable.
    """
    obs = data.get("observations") if isinstance(data, dict) else None
    if not isinstance(obs, list):
        raise MalformedResponseError(f"FRED series {series_id} ({source}): expected an 'observations' list",
                                     url=source, label=series_id)
    try:
        raw = pd.DataFrame([(o["date"], o["value"], o["realtime_start"]) for o in obs], columns=["date", "value", "rt"])
    except (KeyError, TypeError):
        raise MalformedResponseError(
            f"FRED series {series_id} ({source}): each observation needs 'date', 'value' and 'realtime_start'",
            url=source, label=series_id,
        ) from None
    clean = _clean(raw[["date", "value"]], series_id, source)
    rt = pd.to_datetime(raw["rt"], errors="coerce", format="%Y-%m-%d")
    kept = ~raw["value"].astype(str).str.strip().isin([".", "", "NA", "nan"])
    df = pd.DataFrame({"date": clean["date"].to_numpy(), "value": clean["value"].to_numpy(), "rt": rt[kept].to_numpy()})
    if df["rt"].isna().any():
        raise MalformedResponseError(f"FRED series {series_id} ({source}): unreadable realtime_start", url=source, label=series_id)
    if df.empty:
        return empty_table("series")
    # the first release of each observation
    first = df.sort_values(["date", "rt"], kind="mergesort").drop_duplicates("date", keep="first")
    lag = default_lag(series_id, first["date"]) if lag is None else lag
    earliest = first["rt"].min()
    lagged = first["date"] + pd.Timedelta(days=lag)
    back = (first["rt"] == earliest) & (lagged < earliest)  # published before ALFRED's first vintage
    pub = first["rt"].where(~back, lagged)
    pub = pub.where(pub >= first["date"], first["date"])
    out = pd.DataFrame({"series_id": series_id, "date": pub.to_numpy(), "value": first["value"].to_numpy(),
                        "obs": first["date"].to_numpy()})
    out = out.sort_values(["date", "obs"], kind="mergesort").drop_duplicates("date", keep="last")
    return out.drop(columns="obs").reset_index(drop=True)


def parse_fredgraph_csv(text: str, series_id: str, source: str = "fredgraph.csv") -> pd.DataFrame:
    """Parse a fredgraph CSV download into canonical ``series`` rows.

    Raises
    ------
    MalformedResponseError
        If the text is not a two-column date,value CSV (e.g. an HTML error page).
    """
    head = text.lstrip()[:200].lower()
    if head.startswith("<") or "," not in head.split("\n", 1)[0]:
        raise MalformedResponseError(
            f"FRED series {series_id} ({source}): expected a CSV 'observation_date,{series_id}', got {text[:60]!r}",
            url=source, label=series_id,
        )
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise MalformedResponseError(f"FRED series {series_id} ({source}): unreadable CSV ({exc})", url=source, label=series_id) from None
    cols = list(raw.columns)  # two or more: the header line holds a comma
    value_col = series_id if series_id in cols else cols[1]
    raw = raw.rename(columns={cols[0]: "date", value_col: "value"})[["date", "value"]]
    return _clean(raw, series_id, source)


def _clean(raw: pd.DataFrame, sid: str, source: str) -> pd.DataFrame:
    dates = pd.to_datetime(raw["date"].astype(str).str.strip(), errors="coerce", format="%Y-%m-%d")
    text = raw["value"].astype(str).str.strip()
    missing = text.isin([".", "", "NA", "nan"])
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = dates.isna() | (values.isna() & ~missing)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise MalformedResponseError(
            f"FRED series {sid} ({source}): row {i + 2}: expected 'YYYY-MM-DD,number', got "
            f"{raw['date'].iloc[i]!r},{raw['value'].iloc[i]!r}",
            url=source, label=sid,
        )
    keep = ~missing
    return pd.DataFrame({"series_id": sid, "date": dates[keep].to_numpy(), "value": values[keep].to_numpy(dtype=float)})

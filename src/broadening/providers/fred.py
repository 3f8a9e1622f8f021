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
uses, so signals read real and synthetic data alike. Base URLs come from
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

#: Default credit series: bank C&I loans ($bn, monthly) and the US high-yield OAS (%, daily).
DEFAULT_SERIES: tuple[str, ...] = ("BUSLOANS", "BAMLH0A0HYM2")


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

    def series(self, series_id: str, start: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """One series as canonical rows ``series_id, date, value`` (from ``start`` on)."""
        sid = series_id.strip().upper()
        if self.api_key:
            df = self._from_api(sid, start)
        else:
            df = self._from_csv(sid, start)
        if start is not None:
            df = df[df["date"] >= pd.Timestamp(start)]
        return df.reset_index(drop=True)

    def fetch(self, series_ids: Iterable[str] = DEFAULT_SERIES, start=None) -> pd.DataFrame:
        """Several series stacked (raises on the first failure; see :meth:`series`)."""
        frames = [self.series(s, start) for s in series_ids]
        return pd.concat(frames, ignore_index=True) if frames else empty_table("series")

    # -- endpoints ---------------------------------------------------------------------
    def _from_csv(self, sid: str, start) -> pd.DataFrame:
        url = f"{self.base_url}/graph/fredgraph.csv"
        params = {"id": sid}
        if start is not None:
            params["cosd"] = pd.Timestamp(start).strftime("%Y-%m-%d")
        resp = self.client.get(url, params, label=f"FRED series {sid}")
        try:
            return parse_fredgraph_csv(resp.text, sid, source=url)
        except MalformedResponseError:
            self.client.forget(url, params)
            raise

    def _from_api(self, sid: str, start) -> pd.DataFrame:
        url = f"{self.api_base_url}/fred/series/observations"
        params = {"series_id": sid, "file_type": "json"}
        if start is not None:
            params["observation_start"] = pd.Timestamp(start).strftime("%Y-%m-%d")
        data = self.client.get_json(url, params, secret_params={"api_key": self.api_key}, label=f"FRED series {sid}")
        obs = data.get("observations") if isinstance(data, dict) else None
        if not isinstance(obs, list):
            self.client.forget(url, params)
            raise MalformedResponseError(
                f"FRED series {sid} ({url}): expected a JSON object with an 'observations' list", url=url, label=sid
            )
        try:
            raw = pd.DataFrame([(o["date"], o["value"]) for o in obs], columns=["date", "value"])
        except (KeyError, TypeError):
            self.client.forget(url, params)
            raise MalformedResponseError(
                f"FRED series {sid} ({url}): each observation needs 'date' and 'value'", url=url, label=sid
            ) from None
        return _clean(raw, sid, url)


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
    if raw.shape[1] < 2:
        raise MalformedResponseError(f"FRED series {series_id} ({source}): expected 2 columns, got {list(raw.columns)}", url=source, label=series_id)
    cols = list(raw.columns)
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

"""The Ken French data library: factor, size and industry portfolio files into ``series``.

Each dataset is a zip (``{base}/{NAME}_CSV.zip``) holding one CSV in the library's own
multi-table layout: a few lines of free text, then one or more tables, each an optional
title line directly above a header row whose first cell is empty
(``,Mkt-RF,SMB,HML,RF``), then data rows keyed by a date (``YYYYMMDD`` daily,
``YYYYMM`` monthly, ``YYYY`` annual), tables separated by blank lines, a copyright line
at the end. ``-99.99`` and ``-999`` mean missing.

Series id scheme
----------------
``{ALIAS}:{column}`` for a file's untitled first table, ``{ALIAS}.{TAG}:{column}`` for a
titled table, where ``ALIAS`` is the dataset's short name (:data:`DATASETS`, or the file
name itself for a dataset not listed) and ``TAG`` names the table:

====================================================  ==============
table title (case-insensitive)                         TAG
====================================================  ==============
``Annual Factors: January-December``                   ``ANNUAL``
``... Value Weight(ed) Returns -- Monthly`` / daily     ``VW``
``... Equal Weight(ed) Returns -- Monthly`` / daily     ``EW``
``... Value Weight(ed) Returns -- Annual ...``          ``VW_ANNUAL``
``... Equal Weight(ed) Returns -- Annual ...``          ``EW_ANNUAL``
``Number of Firms in Portfolios``                      ``NFIRMS``
``Average Firm Size``                                  ``SIZE``
anything else                                          upper-case slug
====================================================  ==============

Examples: ``FF_DAILY:Mkt-RF``, ``FF_MONTHLY:SMB``, ``FF_MONTHLY.ANNUAL:HML``,
``ME.VW:Lo 10``, ``IND12.EW:HiTec``.

Units and dates
---------------
Returns and factors are published in percent; they are stored as **decimal fractions**
(``1.25`` becomes ``0.0125``) so they compound like every other return in the program.
Tables that are not returns (number of firms, average size, ratios) keep their units.
A monthly value is dated the last calendar day of its month, an annual value 31 December,
a daily value its day (the date the return is known).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from broadening.providers.http import HttpClient, MalformedResponseError
from broadening.schema import empty_table

BASE_URL_ENV = "BROADENING_FRENCH_BASE_URL"
DEFAULT_BASE_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp"

#: Short alias -> file name in the library (the zip is ``{name}_CSV.zip``).
DATASETS: dict[str, str] = {
    "FF_DAILY": "F-F_Research_Data_Factors_daily",
    "FF_MONTHLY": "F-F_Research_Data_Factors",
    "FF5_DAILY": "F-F_Research_Data_5_Factors_2x3_daily",
    "FF5_MONTHLY": "F-F_Research_Data_5_Factors_2x3",
    "MOM_DAILY": "F-F_Momentum_Factor_daily",
    "MOM_MONTHLY": "F-F_Momentum_Factor",
    "ME": "Portfolios_Formed_on_ME",
    "ME_DAILY": "Portfolios_Formed_on_ME_Daily",
    "IND12": "12_Industry_Portfolios",
    "IND12_DAILY": "12_Industry_Portfolios_Daily",
    "IND49": "49_Industry_Portfolios",
}
#: What ``broadening pull`` fetches by default: factors (daily, monthly), size deciles, 12 industries.
DEFAULT_DATASETS: tuple[str, ...] = ("FF_DAILY", "FF_MONTHLY", "ME", "IND12")

_MISSING = (-99.99, -999.0)
_DATE_RE = re.compile(r"^\d{4}(\d{2}){0,2}$")


@dataclass
class FrenchTable:
    """One table of a library file: its title, tag, columns and rows."""

    title: str
    tag: str
    columns: list[str]
    dates: list[str]
    values: np.ndarray  # shape (rows, columns), raw units

    @property
    def is_return(self) -> bool:
        t = self.title.lower()
        return t == "" or "return" in t or "factor" in t


def _tag(title: str) -> str:
    t = title.lower()
    if not t:
        return ""
    annual = "annual" in t
    if "annual factors" in t:
        return "ANNUAL"
    if "value weight" in t:
        return "VW_ANNUAL" if annual else "VW"
    if "equal weight" in t:
        return "EW_ANNUAL" if annual else "EW"
    if "number of firms" in t:
        return "NFIRMS"
    if "average firm size" in t:
        return "SIZE"
    slug = re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").upper()
    return slug[:40] or "TABLE"


def read_text(content: bytes, source: str = "file") -> str:
    """The CSV text of a library download (unzipping it if it is a zip)."""
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith((".csv", ".txt"))]
                if not names:
                    raise MalformedResponseError(f"{source}: the zip holds no CSV file ({zf.namelist()})", url=source)
                content = zf.read(names[0])
        except zipfile.BadZipFile as exc:
            raise MalformedResponseError(f"{source}: not a valid zip file ({exc})", url=source) from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def parse_french_csv(text: str, source: str = "file") -> list[FrenchTable]:
    """Split a library CSV into its tables.

    Raises
    ------
    MalformedResponseError
        If no table (header row plus dated rows) is found, or a row has the wrong width.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tables: list[FrenchTable] = []
    tags: set[str] = set()
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i].strip()
        if not line.startswith(","):
            i += 1
            continue
        # a header row: first cell empty
        columns = [c.strip() for c in line.split(",")[1:]]
        prev = lines[i - 1].strip() if i > 0 else ""
        title = prev if prev and not _DATE_RE.match(prev.split(",")[0].strip()) else ""
        i += 1
        dates: list[str] = []
        rows: list[list[float]] = []
        while i < n:
            cells = [c.strip() for c in lines[i].split(",")]
            if not cells[0] or not _DATE_RE.match(cells[0]):
                break
            if len(cells) - 1 != len(columns):
                raise MalformedResponseError(
                    f"{source}: line {i + 1}: expected {len(columns)} values after the date, got {len(cells) - 1}",
                    url=source,
                )
            try:
                rows.append([float(c) if c else np.nan for c in cells[1:]])
            except ValueError:
                raise MalformedResponseError(f"{source}: line {i + 1}: expected numbers, got {lines[i][:80]!r}", url=source) from None
            dates.append(cells[0])
            i += 1
        if not dates:
            continue
        tag = _tag(title)
        base, k = tag, 2
        while tag in tags:
            tag = f"{base}_{k}"
            k += 1
        tags.add(tag)
        tables.append(FrenchTable(title, tag, columns, dates, np.array(rows, dtype=float)))
    if not tables:
        raise MalformedResponseError(
            f"{source}: expected the Ken French layout (a ',col1,col2' header row followed by dated rows); found no table",
            url=source,
        )
    return tables


def _dates(raw: Sequence[str]) -> pd.DatetimeIndex:
    s = pd.Series(list(raw))
    width = s.str.len()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    d8 = width == 8
    out[d8] = pd.to_datetime(s[d8], format="%Y%m%d", errors="coerce")
    d6 = width == 6
    out[d6] = pd.to_datetime(s[d6], format="%Y%m", errors="coerce") + pd.offsets.MonthEnd(0)
    d4 = width == 4
    out[d4] = pd.to_datetime(s[d4] + "1231", format="%Y%m%d", errors="coerce")
    return pd.DatetimeIndex(out)


def tables_to_series(
    tables: Iterable[FrenchTable],
    alias: str,
    *,
    tags: Iterable[str] | None = None,
    as_decimal: bool = True,
    source: str = "file",
) -> pd.DataFrame:
    """Canonical ``series`` rows from parsed tables (see the module's id scheme).

    Parameters
    ----------
    tags : iterable of str, optional
        Keep only these table tags (``""`` is the untitled first table); default all.
    as_decimal : bool, default True
        Divide return/factor tables by 100.
    """
    keep = None if tags is None else set(tags)
    frames = []
    for t in tables:
        if keep is not None and t.tag not in keep:
            continue
        dates = _dates(t.dates)
        if dates.isna().any():
            bad = t.dates[int(np.flatnonzero(dates.isna())[0])]
            raise MalformedResponseError(f"{source}: table {t.title or '(first)'!r}: bad date {bad!r}", url=source)
        vals = t.values.copy()
        vals[np.isin(vals, _MISSING)] = np.nan
        if as_decimal and t.is_return:
            vals = vals / 100.0
        prefix = f"{alias}.{t.tag}" if t.tag else alias
        ids = np.array([f"{prefix}:{c}" for c in t.columns], dtype=object)
        T, C = vals.shape
        df = pd.DataFrame(
            {
                "series_id": np.tile(ids, T),
                "date": np.repeat(dates.to_numpy(), C),
                "value": vals.reshape(-1),
            }
        )
        frames.append(df[df["value"].notna()])
    if not frames:
        return empty_table("series")
    out = pd.concat(frames, ignore_index=True)
    # a file can repeat a (series, date) only through a malformed layout: keep the first
    return out.drop_duplicates(["series_id", "date"], keep="first").reset_index(drop=True)


class FrenchProvider:
    """Download Ken French library datasets (zip) and turn them into ``series`` rows.

    Parameters
    ----------
    client : HttpClient, optional
    base_url : str, optional
        Directory of the ``*_CSV.zip`` files (else ``$BROADENING_FRENCH_BASE_URL``, else
        the library's ``ftp`` directory).
    """

    def __init__(self, client: HttpClient | None = None, *, base_url: str | None = None) -> None:
        self.client = client or HttpClient()
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")

    def url(self, dataset: str) -> str:
        name = DATASETS.get(dataset.upper(), dataset)
        return f"{self.base_url}/{name}_CSV.zip"

    def dataset(
        self, dataset: str, start: str | pd.Timestamp | None = None, *, tags: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """One dataset (an alias of :data:`DATASETS` or a library file name) as ``series`` rows."""
        alias = dataset.upper() if dataset.upper() in DATASETS else dataset
        url = self.url(dataset)
        resp = self.client.get(url, label=f"Ken French dataset {alias}")
        try:
            out = tables_to_series(parse_french_csv(read_text(resp.content, url), url), alias, tags=tags, source=url)
        except MalformedResponseError:
            self.client.forget(url)
            raise
        if start is not None:
            out = out[out["date"] >= pd.Timestamp(start)].reset_index(drop=True)
        return out

    def fetch(self, datasets: Iterable[str] = DEFAULT_DATASETS, start=None) -> pd.DataFrame:
        frames = [self.dataset(d, start) for d in datasets]
        return pd.concat(frames, ignore_index=True) if frames else empty_table("series")

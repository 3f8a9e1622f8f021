"""Point-in-time S&P 500 membership: the ``membership`` table (``end`` exclusive).

Two sources:

- :func:`from_index_constitution`: the history shipped by the PyPI package
  ``index-constitution`` (optional; compiled from Wikipedia's list of S&P 500 changes).
  Its rows are ``symbol, name, opt-in, opt-out`` with an empty ``opt-out`` for current
  members and ``opt-out`` the first day out (exclusive), the same convention as ours.
  Caveats measured on version 1.0.1: about 500 members a day from 2010 on, but only
  ~490 in 2010, ~450 in 2005, ~415 in 2000 and ~370 in 1995 (companies removed long ago
  are missing, so early years carry survivorship bias); 308 rows start on stand-in
  dates (1957-03-04, 1976-07-01); tickers are today's (``FB`` is listed as ``META`` for its
  whole membership), which matches Yahoo's current tickers. A symbol reused by two
  companies with overlapping spans (e.g. ``T``: AT&T Corp. and SBC/AT&T Inc.) is merged
  into one interval per security id (reported in ``notes``).
- :func:`read_membership_file`: the user's own file (CSV, or Parquet), one of:

  * **intervals**: columns ``ticker`` (or ``symbol``), ``start`` (or ``opt-in``/``added``)
    and optional ``end`` (or ``opt-out``/``removed``; blank = still a member; exclusive);
  * **snapshots**: columns ``date`` and ``tickers`` (one row per date, the members
    separated by commas, as in the widely shared "S&P 500 Historical Components" file);
  * **long snapshots**: columns ``date`` and ``ticker`` (one row per member per date).

  Snapshots become intervals: a security enters on the first snapshot that lists it and
  leaves (``end``) on the first later snapshot that does not.

Tickers are normalised to security ids as the Yahoo provider spells them (``BRK.B`` ->
``BRK-B``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from broadening.errors import BroadeningError, DataValidationError
from broadening.providers.yahoo import security_id

INDEX_ID = "sp500"


@dataclass
class MembershipData:
    """Canonical membership intervals, the securities they name, and what was adjusted."""

    membership: pd.DataFrame
    securities: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def tickers(self) -> list[str]:
        return sorted(self.securities["ticker"].unique())

    def members_at(self, date) -> list[str]:
        """Security ids that are members on ``date``."""
        d = pd.Timestamp(date)
        m = self.membership
        mask = (m["start"] <= d) & (m["end"].isna() | (m["end"] > d))
        return sorted(m.loc[mask, "security_id"].unique())

    def since(self, start) -> MembershipData:
        """Only intervals still open on or after ``start`` (the universe of a pull from ``start``)."""
        if start is None:
            return self
        d = pd.Timestamp(start)
        m = self.membership[self.membership["end"].isna() | (self.membership["end"] > d)].reset_index(drop=True)
        s = self.securities[self.securities["security_id"].isin(m["security_id"])].reset_index(drop=True)
        return MembershipData(m, s, self.source, list(self.notes))


def _merge_overlaps(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Merge overlapping or touching intervals of one (index, security)."""
    far = pd.Timestamp("2262-01-01")
    rows = []
    merged = 0
    for (idx, sid), g in df.sort_values(["index_id", "security_id", "start"]).groupby(["index_id", "security_id"], sort=False):
        cur_s, cur_e = None, None
        for s, e in zip(g["start"], g["end"].fillna(far), strict=False):
            if cur_s is None:
                cur_s, cur_e = s, e
            elif s <= cur_e:
                cur_e = max(cur_e, e)
                merged += 1
            else:
                rows.append((idx, sid, cur_s, cur_e))
                cur_s, cur_e = s, e
        rows.append((idx, sid, cur_s, cur_e))
    out = pd.DataFrame(rows, columns=["index_id", "security_id", "start", "end"])
    out["end"] = out["end"].where(out["end"] < far)
    return out, merged


def _finish(intervals: pd.DataFrame, names: dict[str, str], index_id: str, source: str, notes: list[str]) -> MembershipData:
    intervals = intervals.copy()
    intervals["index_id"] = index_id
    bad = intervals["end"].notna() & (intervals["end"] <= intervals["start"])
    if bad.any():
        notes.append(f"dropped {int(bad.sum())} interval(s) ending on or before their start")
        intervals = intervals[~bad]
    out, merged = _merge_overlaps(intervals[["index_id", "security_id", "start", "end"]])
    if merged:
        notes.append(f"merged {merged} overlapping interval(s) of a reused ticker into one per security")
    out["start"] = pd.to_datetime(out["start"]).astype("datetime64[ns]")
    out["end"] = pd.to_datetime(out["end"]).astype("datetime64[ns]")
    sids = sorted(out["security_id"].unique())
    secs = pd.DataFrame({"security_id": sids, "ticker": sids, "name": [names.get(s) for s in sids]})
    return MembershipData(out.reset_index(drop=True), secs, source, notes)


def from_index_constitution(index: str = "sp500", index_id: str = INDEX_ID) -> MembershipData:
    """Membership history from the ``index-constitution`` package (see the module caveats)."""
    try:
        import index_constitution as ic
    except ImportError as exc:
        raise BroadeningError(
            "no membership source: install the 'index-constitution' package (pip install index-constitution) "
            "or pass --membership-file FILE (CSV of ticker,start,end intervals or date,tickers snapshots)"
        ) from exc
    hist = ic.history(index)
    df = pd.DataFrame(
        {
            "security_id": [security_id(str(s)) for s in hist["symbol"]],
            "start": pd.to_datetime(hist["opt-in"]),
            "end": pd.to_datetime(hist["opt-out"]),
        }
    )
    names: dict[str, str] = {}
    for sid, name, end in zip(df["security_id"], hist["name"], df["end"], strict=False):
        if sid not in names or pd.isna(end):  # a current holder's name wins
            names[sid] = str(name)
    version = getattr(ic, "__version__", "?")
    return _finish(df, names, index_id, f"index-constitution:{index}", [f"index-constitution {version}"])


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(str(path), None, f"a readable CSV or Parquet file ({exc})") from None


def _dates(col: pd.Series, path: Path, name: str, nullable: bool) -> pd.Series:
    raw = col.astype(str).str.strip()
    blank = col.isna() | raw.isin(["", "nan", "NaT", "None"])
    out = pd.to_datetime(raw.where(~blank), errors="coerce", format="mixed")
    bad = out.isna() & ~blank
    if bad.any() or (not nullable and blank.any()):
        mask = bad | (blank if not nullable else False)
        rows = [int(i) + 2 for i in mask.to_numpy().nonzero()[0]]
        raise DataValidationError(str(path), name, "a date (YYYY-MM-DD)" + ("" if nullable else ", no blanks"), rows, list(col[mask])[:5])
    return out.dt.normalize()


def read_membership_file(path: str | Path, index_id: str = INDEX_ID) -> MembershipData:
    """Membership intervals from a user file (intervals or snapshots; see the module docs)."""
    path = Path(path)
    if not path.exists():
        raise BroadeningError(f"{path}: membership file not found")
    raw = _read(path)
    cols = {str(c).strip().lower(): c for c in raw.columns}
    notes: list[str] = []

    def pick(*names):
        for n in names:
            if n in cols:
                return cols[n]
        return None

    tick = pick("ticker", "symbol", "security_id")
    start = pick("start", "opt-in", "added", "start_date")
    date = pick("date", "asof")
    many = pick("tickers", "symbols", "constituents")
    names: dict[str, str] = {}
    if tick is not None and start is not None:
        end = pick("end", "opt-out", "removed", "end_date")
        t = raw[tick].astype(str).str.strip()
        if (t == "").any():
            rows = [int(i) + 2 for i in (t == "").to_numpy().nonzero()[0]]
            raise DataValidationError(str(path), str(tick), "a ticker (no blanks)", rows)
        df = pd.DataFrame(
            {
                "security_id": [security_id(x) for x in t],
                "start": _dates(raw[start], path, str(start), nullable=False),
                "end": _dates(raw[end], path, str(end), nullable=True) if end is not None else pd.NaT,
            }
        )
        name_col = pick("name", "company")
        if name_col is not None:
            names = dict(zip(df["security_id"], raw[name_col].astype(str), strict=False))
        return _finish(df, names, index_id, f"file:{path.resolve()}", notes)
    if date is not None and (many is not None or tick is not None):
        dates = _dates(raw[date], path, str(date), nullable=False)
        if many is not None:
            members = [
                {security_id(x) for x in str(v).replace(";", ",").split(",") if x.strip()} for v in raw[many]
            ]
            snap: dict[pd.Timestamp, set[str]] = {}
            for d, m in zip(dates, members, strict=False):
                snap.setdefault(d, set()).update(m)
        else:
            snap = {}
            for d, x in zip(dates, raw[tick].astype(str), strict=False):
                if x.strip():
                    snap.setdefault(d, set()).add(security_id(x))
        return _finish(snapshots_to_intervals(snap), names, index_id, f"file:{path.resolve()}", notes)
    raise DataValidationError(
        str(path), None,
        "columns 'ticker,start,end' (intervals), 'date,tickers' (snapshots) or 'date,ticker' (long snapshots)",
        got=[list(raw.columns)],
    )


def snapshots_to_intervals(snapshots: dict[pd.Timestamp, set[str]]) -> pd.DataFrame:
    """Intervals from dated member sets: in from the first snapshot listing a name, out on the first one not."""
    open_: dict[str, pd.Timestamp] = {}
    rows = []
    prev: set[str] = set()
    for d in sorted(snapshots):
        cur = snapshots[d]
        for s in cur - prev:
            open_[s] = d
        for s in prev - cur:
            rows.append((s, open_.pop(s), d))
        prev = cur
    for s, st in open_.items():
        rows.append((s, st, pd.NaT))
    return pd.DataFrame(rows, columns=["security_id", "start", "end"])


def load_membership(file: str | Path | None = None, index_id: str = INDEX_ID) -> MembershipData:
    """The user's file when given, else the ``index-constitution`` history."""
    if file is not None:
        return read_membership_file(file, index_id)
    return from_index_constitution("sp500", index_id)

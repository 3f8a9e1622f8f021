"""Share counts from several sources on one split basis: the share-count policy.

Market cap is ``close x shares in force``, and ``prices.close`` is the raw traded close,
so a share count must be on the split basis of each day it is in force. Counts arrive
dated by when they became known (SEC: the filing date; Yahoo: its own date) and stated
on the basis of the day they describe (SEC's cover page: its ``as_of`` date, a few days
before filing). Split events (Yahoo chart ``events.splits``: date and ratio) fix both sides:

- **after a count** (a split while it is in force): a row is added on the split date with
  the count times the ratio, so the count in force never straddles a split;
- **before a count** (a split between the as-of date and the filing date): the filer may
  state the count before or after the split. The basis closer to the previous count (or,
  for the first count, the next one) brought to the same basis is taken; without a
  neighbour, the as-of basis (the literal cover statement).

Which source wins (:func:`reconcile`): SEC cover-page counts for every date from a
security's first SEC count on (point-in-time, dated by filing); Yahoo's counts before that
and for securities the SEC has none for. Where both have a count in force on a day they
are compared (:func:`compare_counts`); a difference above ``tolerance`` (5% by default) is
a disagreement: counted in the pull summary and flagged by ``broadening check``, and the
SEC count is kept.

All functions work on frames of several securities; splits are ``security_id, date, ratio``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.schema import empty_table

DEFAULT_TOLERANCE = 0.05
SPLIT_COLUMNS = ["security_id", "date", "ratio"]


def empty_splits() -> pd.DataFrame:
    return pd.DataFrame({"security_id": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
                         "ratio": pd.Series(dtype=float)})


def splits_from_history(hist: pd.DataFrame, security_id: str) -> pd.DataFrame:
    """Split events of a yfinance-shaped history frame (its ``Stock Splits`` column)."""
    if hist is None or "Stock Splits" not in getattr(hist, "columns", []) or len(hist) == 0:
        return empty_splits()
    r = pd.to_numeric(hist["Stock Splits"], errors="coerce").to_numpy(dtype=float)
    idx = pd.DatetimeIndex(pd.to_datetime(hist.index))
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    ok = np.isfinite(r) & (r > 0) & (r != 1.0)
    return pd.DataFrame({"security_id": security_id, "date": idx.normalize()[ok], "ratio": r[ok]})


def _cumulative(split_dates: np.ndarray, ratios: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Product of the ratios of the splits dated on or before each date (at least one split)."""
    cum = np.cumprod(ratios)
    k = np.searchsorted(split_dates, dates, side="right")
    return np.where(k > 0, cum[np.maximum(k - 1, 0)], 1.0)


def _one(counts: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    c = counts.sort_values("date", kind="mergesort")
    d = c["date"].to_numpy(dtype="datetime64[ns]")
    a = c["as_of"].to_numpy(dtype="datetime64[ns]") if "as_of" in c else d
    a = np.where(np.isnat(a), d, a)
    v = c["shares_outstanding"].to_numpy(dtype=float)
    s = splits.sort_values("date", kind="mergesort")
    sd = s["date"].to_numpy(dtype="datetime64[ns]")
    sr = s["ratio"].to_numpy(dtype=float)
    # units of the earliest basis: a count stated on the basis of day x is v / C(x)
    c_asof = _cumulative(sd, sr, a)
    c_filed = _cumulative(sd, sr, d)
    u_asof = v / c_asof
    u_filed = v / c_filed
    ambiguous = c_asof != c_filed
    u = u_asof.copy()
    for i in np.flatnonzero(ambiguous):
        ref = None
        prev = [j for j in range(i - 1, -1, -1) if not ambiguous[j]]
        nxt = [j for j in range(i + 1, len(u)) if not ambiguous[j]]
        if prev:
            ref = u[prev[0]]
        elif nxt:
            ref = u[nxt[0]]
        if ref is not None and ref > 0 and u_filed[i] > 0 and u_asof[i] > 0:
            if abs(np.log(u_filed[i] / ref)) < abs(np.log(u_asof[i] / ref)):
                u[i] = u_filed[i]
    # rows on split dates carry the count in force times the ratio
    k = np.searchsorted(d, sd, side="right") - 1  # count in force just before/at each split
    add = (k >= 0) & ~np.isin(sd, d)
    dates = np.concatenate([d, sd[add]])
    units = np.concatenate([u, u[k[add]]])
    order = np.argsort(dates, kind="mergesort")
    dates, units = dates[order], units[order]
    return pd.DataFrame({"date": dates, "shares_outstanding": units * _cumulative(sd, sr, dates)})


def adjust_for_splits(counts: pd.DataFrame, splits: pd.DataFrame | None) -> pd.DataFrame:
    """Counts on the split basis of each day they are in force (see the module notes).

    Parameters
    ----------
    counts : DataFrame
        ``security_id, date, shares_outstanding`` and optionally ``as_of`` (the day the
        count describes; default ``date``).
    splits : DataFrame, optional
        ``security_id, date, ratio`` (``ratio`` new shares per old share: 10 for 10-for-1).

    Returns
    -------
    DataFrame
        Canonical ``shares`` rows, with a row added on each split date a count straddles.
    """
    if counts is None or counts.empty:
        return empty_table("shares")
    if splits is None or splits.empty:
        return counts[["security_id", "date", "shares_outstanding"]].reset_index(drop=True)
    by_sec = dict(tuple(splits.groupby("security_id", sort=False)))
    out = []
    for sid, g in counts.groupby("security_id", sort=False):
        s = by_sec.get(sid)
        if s is None or s.empty:
            out.append(g[["security_id", "date", "shares_outstanding"]])
        else:
            out.append(_one(g, s).assign(security_id=sid)[["security_id", "date", "shares_outstanding"]])
    res = pd.concat(out, ignore_index=True)
    res["date"] = pd.to_datetime(res["date"])
    return res


def in_force(counts: pd.DataFrame, at: pd.DataFrame) -> np.ndarray:
    """The count of ``counts`` in force at each ``(security_id, date)`` row of ``at`` (NaN if none)."""
    out = np.full(len(at), np.nan)
    by_sec = {k: g.sort_values("date") for k, g in counts.groupby("security_id", sort=False)}
    for sid, idx in at.groupby("security_id", sort=False).groups.items():
        g = by_sec.get(sid)
        if g is None:
            continue
        d = g["date"].to_numpy(dtype="datetime64[ns]")
        q = at.loc[idx, "date"].to_numpy(dtype="datetime64[ns]")
        k = np.searchsorted(d, q, side="right") - 1
        pos = at.index.get_indexer(idx)
        out[pos] = np.where(k >= 0, g["shares_outstanding"].to_numpy(dtype=float)[np.maximum(k, 0)], np.nan)
    return out


def compare_counts(primary: pd.DataFrame, other: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Each ``other`` count against the ``primary`` count in force that day (both split-adjusted).

    Returns
    -------
    DataFrame
        ``security_id, date, primary, other, difference`` (``other / primary - 1``) for the
        counts that differ by more than ``tolerance``.
    """
    cols = ["security_id", "date", "primary", "other", "difference"]
    if primary.empty or other.empty:
        return pd.DataFrame(columns=cols)
    o = other.reset_index(drop=True)
    # only where the primary source has started: before its first count nothing is in force
    p = in_force(primary, o)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = o["shares_outstanding"].to_numpy(dtype=float) / p - 1.0
    bad = np.isfinite(diff) & (np.abs(diff) > tolerance)
    return pd.DataFrame({"security_id": o["security_id"][bad].to_numpy(), "date": o["date"][bad].to_numpy(),
                         "primary": p[bad], "other": o["shares_outstanding"][bad].to_numpy(dtype=float),
                         "difference": diff[bad]}, columns=cols)


def reconcile(
    sec: pd.DataFrame | None,
    yahoo: pd.DataFrame | None,
    splits: pd.DataFrame | None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Apply the share-count policy (module notes) to raw counts of several securities.

    Returns
    -------
    sec_rows, yahoo_rows : DataFrame
        Canonical ``shares`` rows to store, by the source they come from.
    disagreements : DataFrame
        :func:`compare_counts` of Yahoo against SEC.
    """
    yahoo = yahoo if yahoo is not None else empty_table("shares")
    sec_adj = adjust_for_splits(sec if sec is not None else empty_table("shares"), splits)
    y_adj = adjust_for_splits(yahoo, splits)
    # only counts Yahoo reported are compared (not the rows carried onto split days)
    reported = y_adj.merge(yahoo[["security_id", "date"]].drop_duplicates(), on=["security_id", "date"])
    disagreements = compare_counts(sec_adj, reported, tolerance)
    if sec_adj.empty:
        return sec_adj, y_adj, disagreements
    first = sec_adj.groupby("security_id")["date"].min()
    start = y_adj["security_id"].map(first)
    keep = start.isna() | (y_adj["date"] < start)
    return sec_adj, y_adj[keep].reset_index(drop=True), disagreements

"""Rebalance schedules: which trading dates a strategy trades on.

A schedule is resolved against the trading dates of the data into sorted, unique
integer positions. Only information available on a date decides whether it is a
rebalance date: the last trading day of a month is known once the next trading date
is in a new month, so the final date of the data (whose month may not be over) is never
a "last trading day of month".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")


def _as_days(dates: np.ndarray | pd.DatetimeIndex | Sequence) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(dates).values.astype("datetime64[D]"))


def rebalance_positions(
    dates: np.ndarray | pd.DatetimeIndex | Sequence,
    schedule: str | Sequence,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> np.ndarray:
    """Positions (into ``dates``) of the rebalance dates.

    Parameters
    ----------
    dates : array-like of dates, shape (T,)
        Ascending trading dates.
    schedule : {"daily", "weekly", "monthly", "quarterly", "annual"} or sequence of dates
        ``monthly``: last trading day of each month; ``quarterly``: of March, June,
        September and December; ``weekly``: last trading day of each ISO week;
        ``annual``: of December. A sequence of dates rebalances on the last trading date
        on or before each given date (a holiday trades at the previous close).
    start, end : date, optional
        Keep only rebalance dates within ``[start, end]``.

    Returns
    -------
    ndarray of int64, shape (R,)
        Sorted unique positions.

    Raises
    ------
    ValueError
        For an unknown frequency or when no rebalance date falls in the data.
    """
    d = _as_days(dates)
    T = len(d)
    if T == 0:
        raise ValueError("no trading dates")
    if isinstance(schedule, str):
        if schedule not in FREQUENCIES:
            raise ValueError(f"schedule: expected one of {', '.join(FREQUENCIES)} or a list of dates, got {schedule!r}")
        if schedule == "daily":
            pos = np.arange(T)
        else:
            idx = pd.DatetimeIndex(d)
            if schedule == "weekly":
                iso = idx.isocalendar()
                key = (iso["year"].to_numpy() * 100 + iso["week"].to_numpy()).astype(np.int64)
            else:
                key = (idx.year * 100 + idx.month).to_numpy().astype(np.int64)
            # a date closes its period when the next trading date starts a new one
            last = np.flatnonzero(key[:-1] != key[1:])
            if schedule == "quarterly":
                last = last[np.isin(idx.month.to_numpy()[last], (3, 6, 9, 12))]
            elif schedule == "annual":
                last = last[idx.month.to_numpy()[last] == 12]
            pos = last
    else:
        wanted = _as_days(list(schedule))
        pos = np.searchsorted(d, wanted, side="right") - 1
        pos = np.unique(pos[pos >= 0])
    pos = np.asarray(pos, dtype=np.int64)
    if start is not None:
        pos = pos[d[pos] >= np.datetime64(pd.Timestamp(start).date(), "D")]
    if end is not None:
        pos = pos[d[pos] <= np.datetime64(pd.Timestamp(end).date(), "D")]
    if len(pos) == 0:
        raise ValueError(f"no rebalance date for schedule {schedule!r} between {d[0]} and {d[-1]}")
    return pos

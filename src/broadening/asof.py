"""The as-of cut: the one place that decides what was known on a date.

Loading a market from the warehouse (:func:`broadening.market.load_market`) and cutting a
loaded one (:meth:`broadening.market.Market.until`) both apply these two functions, so a
view loaded as of a date and a longer view cut at that date are the same view:

- :func:`rows_through` cuts the ``(T, N)`` panels: the trading dates on or before the date;
- :func:`point_in_time` cuts the long tables (securities, fundamentals, membership, series).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class KnownTables:
    """The long tables as they were known on one date (see :func:`point_in_time`)."""

    securities: pd.DataFrame
    fundamentals: pd.DataFrame
    membership: pd.DataFrame
    series: pd.DataFrame


def rows_through(dates: np.ndarray, asof: str | pd.Timestamp) -> int:
    """How many of the ascending trading ``dates`` fall on or before ``asof``.

    The panels' half of the as-of cut: a view as of ``asof`` holds the rows ``[:rows_through]``.
    """
    return int(np.searchsorted(dates, np.datetime64(pd.Timestamp(asof).date(), "D"), side="right"))


def point_in_time(
    securities: pd.DataFrame,
    fundamentals: pd.DataFrame,
    membership: pd.DataFrame,
    series: pd.DataFrame,
    asof: str | pd.Timestamp,
) -> KnownTables:
    """The as-of cut of the long tables: only what was known on ``asof``.

    The one place these rules live (loading from the warehouse and :meth:`Market.until`
    both apply it):

    - a fundamental is known once its ``available_date`` is on or before ``asof``;
    - a membership interval is known once it started; an ``end`` after ``asof`` is not yet
      known (the name is still a member as of then);
    - a series value is known on its date;
    - a security's ``last_date`` and ``delisting_return`` after ``asof`` are hidden.

    Inputs are never modified.
    """
    asof = pd.Timestamp(asof)
    sec = securities.copy()
    future = sec["last_date"] > asof
    sec.loc[future, "last_date"] = pd.NaT
    sec.loc[future, "delisting_return"] = np.nan
    memb = membership[membership["start"] <= asof].copy()
    memb.loc[memb["end"] > asof, "end"] = pd.NaT
    return KnownTables(
        securities=sec,
        fundamentals=fundamentals[fundamentals["available_date"] <= asof],
        membership=memb,
        series=series[series["date"] <= asof],
    )


__all__ = ["KnownTables", "point_in_time", "rows_through"]

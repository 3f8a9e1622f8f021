"""Fundamentals in force: which filing each cell of a ``(T, N)`` panel reads, point-in-time.

A quarter becomes visible on the first trading date on or after its ``available_date``
and stays until a later quarter is available (a late-filed older quarter never overwrites
a newer one). Both tables (plain quarters and trailing-twelve-month sums) share one
timeline of events, so the ``(T, N)`` index is built once for every field.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.panel import in_force
from broadening.quarters import ttm_sums

__all__ = ["date_positions", "usable_quarters", "filing_events"]


def date_positions(dates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """First trading-date position on or after each value (len(dates) if after the end)."""
    v = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
    return np.searchsorted(dates, v, side="left")


def usable_quarters(fundamentals: pd.DataFrame, ttm: bool) -> pd.DataFrame:
    """The quarters usable as of each date, in availability order within each security.

    With ``ttm`` the flows are trailing four-quarter sums (NaN unless the four quarters
    are consecutive, spanning about 273 days) known once their latest quarter is.
    """
    f = fundamentals.sort_values(["security_id", "period_end"], kind="mergesort").reset_index(drop=True)
    if ttm and not f.empty:
        f = ttm_sums(f)
    # a quarter is used only if no later quarter was already available (late filings)
    f = f.sort_values(["security_id", "available_date", "period_end"], kind="mergesort")
    latest = f.groupby("security_id", sort=False)["period_end"].cummax()
    return f[f["period_end"] == latest].reset_index(drop=True)


def filing_events(
    tables: dict[bool, tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    columns: np.ndarray,
    alive: np.ndarray,
    lives: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[bool, np.ndarray]]:
    """One timeline of filing events for both tables (plain and TTM).

    Parameters
    ----------
    tables : dict
        Per table (``ttm`` False/True): the security (row of the market's securities) of
        each usable quarter, whether that security is known, the row it becomes visible
        on, and the number of quarters.
    columns : ndarray of int, shape (S,)
        The column of each security.
    alive : ndarray of bool, shape (T, N)
    lives : ndarray of int, shape (S, 2), optional
        Lane-packed: each security's first and last row. A filing known before the
        listing is then in force from the first row, one after the last row never (the
        lane is someone else's by then), and each occupant starts with nothing in force.

    Returns
    -------
    in_force : ndarray of int32, shape (T, N)
        The combined event in force each day (-1: none yet, or not alive).
    rows : dict
        For each table, the quarter in force at each combined event (-1 while that table
        has none).
    """
    T = alive.shape[0]
    secs, rows, own = [], [], {}
    for ttm, (srow, ok, row, n) in tables.items():
        if lives is not None:
            row = np.maximum(row, lives[srow, 0])
            ok = ok & (row <= lives[srow, 1])
        k = np.flatnonzero(ok & (row < T))
        secs.append(srow[k])
        rows.append(row[k])
        own[ttm] = (k, n)
    sec, row = np.concatenate(secs), np.concatenate(rows)
    n_events = sec.shape[0]
    kind = np.ones(n_events, dtype=np.int8)
    if lives is not None:
        # a reset on each occupant's first row: nothing of the previous one stays in force
        live = np.flatnonzero(lives[:, 0] < T)
        sec, row = np.concatenate([sec, live]), np.concatenate([row, lives[live, 0]])
        kind = np.concatenate([kind, np.zeros(live.shape[0], dtype=np.int8)])
    col = columns[sec]
    order = np.lexsort((kind, row, col))  # by column, then day; stable for same-day filings
    col, row, sec = col[order], row[order], sec[order]
    # a group per occupant, numbered in event order (dense: one per column)
    group = np.zeros(order.shape[0], dtype=np.int64)
    if order.shape[0]:
        np.cumsum(sec[1:] != sec[:-1], out=group[1:])
    n_first = secs[0].shape[0]
    table_rows = {}
    for i, (ttm, (k, n)) in enumerate(own.items()):
        # each table's latest row so far, carried along its occupant's events: a running
        # maximum of (group, row) keys, cut where it came from another group
        mine = np.full(order.shape[0], -1, dtype=np.int64)
        pos = np.flatnonzero((order < n_events) & ((order >= n_first) == bool(i)))
        mine[pos] = k[order[pos] - (n_first if i else 0)]
        span = np.int64(max(n, 1) + 1)
        key = np.where(mine >= 0, group * span + mine + 1, -1)
        np.maximum.accumulate(key, out=key)
        carried = key % span - 1
        same = (key >= 0) & (key // span == group)
        table_rows[ttm] = np.where(same, carried, -1)
    # combined events are in day order within each column, so a higher number supersedes a lower one
    return in_force(row, col, alive), table_rows

"""Prices prepared for the engine: total-return prices, lives, delisting returns, growth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.panel import ColumnTake

if TYPE_CHECKING:
    from broadening.market import Market

TRADING_DAYS = 252


@dataclass
class Exits:
    """Every life that ends before the panel's last row, as events (one per life).

    A column may hold several lives one after another (a lane of securities that never trade
    at the same time); each life that stops before the last row is one event: the row of its
    last price, its column and the return realised on the next day (the delisting return).
    Events are kept sorted by row, then column.

    Attributes
    ----------
    row : ndarray of int, shape (E,)
        Position of the life's last price.
    col : ndarray of int, shape (E,)
        Column that held the life.
    ret : ndarray, shape (E,)
        Return realised the day after ``row`` (0 if unknown).
    """

    row: np.ndarray
    col: np.ndarray
    ret: np.ndarray

    def __post_init__(self) -> None:
        row = np.asarray(self.row, dtype=np.int64).ravel()
        col = np.asarray(self.col, dtype=np.int64).ravel()
        ret = np.nan_to_num(np.asarray(self.ret, dtype="float64").ravel())
        if not (len(row) == len(col) == len(ret)):
            raise ValueError(f"exits: row, col and ret differ in length ({len(row)}, {len(col)}, {len(ret)})")
        order = np.lexsort((col, row))
        self.row, self.col, self.ret = row[order], col[order], ret[order]

    @classmethod
    def from_last_index(cls, last_index: np.ndarray, delisting_return: np.ndarray, n_rows: int) -> Exits:
        """One life per column: an event for each column whose last price is before row ``n_rows - 1``."""
        last = np.asarray(last_index)
        ended = np.flatnonzero((last >= 0) & (last < n_rows - 1))
        return cls(row=last[ended], col=ended, ret=np.asarray(delisting_return)[ended])  # Exits casts the types

    def take(self, cols: np.ndarray, n_cols: int) -> Exits:
        """The events of columns ``cols`` (of ``n_cols``), renumbered to their place in ``cols``."""
        new = column_places(cols, n_cols)[self.col]
        keep = new >= 0
        return Exits(row=self.row[keep], col=new[keep], ret=self.ret[keep])

    def first_between(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first exit of each column with ``a <= row < b``: (columns ascending, rows, returns)."""
        lo, hi = np.searchsorted(self.row, [a, b])
        col = self.col[lo:hi]
        cols, first = np.unique(col, return_index=True)
        return cols, self.row[lo:hi][first], self.ret[lo:hi][first]


@dataclass
class PriceData:
    """The arrays the engine needs, taken from a Market or given directly.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
    ids : ndarray of str, shape (N,)
    prices : ndarray, shape (T, N)
        Total-return prices, NaN where the column has no price.
    last_index : ndarray of int, shape (N,), optional
        Position of each column's last price (-1 if it never traded); found from ``prices``
        when not given.
    delisting_return : ndarray, shape (N,), optional
        Return realised the day after the last price of a delisted security (0 if unknown);
        when not given, the return of each column's last exit (0 without one).
    market_cap : ndarray, shape (T, N), optional
    exits : Exits, optional
        Every life that ends before the last row. Default: one life per column, ending at
        ``last_index`` with ``delisting_return``. Give it when a column holds several lives
        (the engine reads only this; ``last_index`` and ``delisting_return`` are then per
        column summaries for callers of the one-life form).
    """

    dates: np.ndarray
    ids: np.ndarray
    prices: np.ndarray
    last_index: np.ndarray | None = None
    delisting_return: np.ndarray | None = None
    market_cap: np.ndarray | None = None
    exits: Exits | None = None

    def __post_init__(self) -> None:
        T, N = self.prices.shape
        if self.last_index is None:
            self.last_index = last_price_rows(self.prices)
        if self.exits is None:
            dl = np.zeros(N) if self.delisting_return is None else self.delisting_return
            self.exits = Exits.from_last_index(self.last_index, dl, T)
        if self.delisting_return is None:
            dl = np.zeros(N)
            dl[self.exits.col] = self.exits.ret  # rows ascending: the last exit of a column wins
            self.delisting_return = dl

    def closing(self, t0: int, t1: int, cols: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The positions held from the close of ``t0`` that exit before ``t1``: the first exit of
        each column (or of each of ``cols``) with ``t0 <= row < t1``.

        Returns
        -------
        where : ndarray of int
            Column numbers (into ``cols`` when given), ascending.
        row : ndarray of int
            Row of each one's last price.
        ret : ndarray
            Its delisting return.
        """
        col, row, ret = self.exits.first_between(t0, t1)
        if cols is None or len(col) == 0:
            return col, row, ret
        where = column_places(cols, len(self.ids))[col]
        keep = where >= 0
        order = np.argsort(where[keep])
        return where[keep][order], row[keep][order], ret[keep][order]

    @classmethod
    def from_market(cls, market: Market, cols: np.ndarray | None = None) -> PriceData:
        """From a market (``cols``: keep only these columns).

        A lane-packed market gives one exit per life that ends before the last row (its
        lane, last row and delisting return), so a column may hold several lives."""
        sec = market.securities
        dl = sec["delisting_return"].to_numpy(dtype="float64") if "delisting_return" in sec else np.zeros(len(sec))  # pragma: no mutate (a float column already; the cast guards an all-null one)
        if market.packed:
            tri, cap, ids = market.total_return_index, market.market_cap, market.ids
            lane, last = market.columns, market.last_index
            if cols is not None:
                # the engine reads caps on rebalance rows only: no copy of the column subset
                tri, cap, ids = np.take(tri, cols, axis=1), ColumnTake(cap, cols), ids[cols]
                lane = column_places(cols, market.shape[1])[lane]
            ended = np.flatnonzero((lane >= 0) & (last < market.shape[0] - 1))
            return cls(dates=market.dates, ids=ids, prices=tri, market_cap=cap,
                       exits=Exits(row=last[ended], col=lane[ended], ret=dl[ended]))
        tri, cap, last, ids = market.total_return_index, market.market_cap, market.last_index, market.ids
        if cols is not None:
            # take() keeps rows contiguous (the engine reads row blocks) in one copy, where
            # fancy indexing leaves a Fortran-ordered panel to copy again
            tri, cap = np.take(tri, cols, axis=1), np.take(cap, cols, axis=1)
            last, ids, dl = last[cols], ids[cols], dl[cols]
        return cls(dates=market.dates, ids=ids, prices=tri, last_index=last,  # pragma: no mutate (else found from the prices: the same rows, one scan more)
                   delisting_return=np.nan_to_num(dl), market_cap=cap)

    @classmethod
    def from_prices(
        cls,
        prices: np.ndarray | pd.DataFrame,
        *,
        dates: Sequence | None = None,
        ids: Sequence | None = None,
        delisting_return: np.ndarray | None = None,
        market_cap: np.ndarray | None = None,
    ) -> PriceData:
        """From total-return prices ``(T, N)`` (NaN before listing and after delisting)."""
        if isinstance(prices, pd.DataFrame):
            dates = prices.index if dates is None else dates
            ids = prices.columns if ids is None else ids
            prices = prices.to_numpy()
        p = np.asarray(prices, dtype="float64")
        T, N = p.shape
        if dates is None:
            dates = pd.bdate_range("2000-01-03", periods=T)
        d = np.asarray(pd.DatetimeIndex(dates).values.astype("datetime64[D]"))
        ident = np.asarray([str(i) for i in ids]) if ids is not None else np.asarray([f"s{i}" for i in range(N)])
        dl = np.zeros(N) if delisting_return is None else np.nan_to_num(np.asarray(delisting_return, dtype="float64"))
        return cls(dates=d, ids=ident, prices=p, delisting_return=dl, market_cap=market_cap)


def column_places(cols: np.ndarray, n_cols: int) -> np.ndarray:
    """Place of each of ``n_cols`` columns in ``cols``, -1 for a column not in it, shape (n_cols,)."""
    at = np.full(n_cols, -1)  # pragma: no mutate (any negative marks a column not asked for)
    at[cols] = np.arange(len(cols))
    return at


def last_price_rows(prices: np.ndarray) -> np.ndarray:
    """Position of each column's last price, shape (N,) (-1 for a column without any)."""
    T, N = prices.shape
    last = np.full(N, T - 1)
    # only columns without a price on the last row can have stopped early; scan row blocks
    # from the end, dropping each column once its last price is found (no full pass)
    todo = np.flatnonzero(np.isnan(prices[-1]))
    step = max(16, 2**16 // max(len(todo), 1))  # pragma: no mutate (block size only: any size finds the same rows)
    b = T
    while len(todo) and b > 0:
        a = max(b - step, 0)
        alive = ~np.isnan(prices[a:b].take(todo, axis=1))
        found = alive.any(axis=0)
        last[todo[found]] = b - 1 - np.argmax(alive[::-1, found], axis=0)
        todo = todo[~found]
        b = a
    last[todo] = -1
    return last


def daily_growth(prices: np.ndarray, t0: int, t1: int, cols: np.ndarray | None = None) -> np.ndarray:
    """``P[t] / P[t - 1]`` for ``t`` in ``[t0, t1)``, 1 where either price is unknown; shape (t1 - t0, n)."""
    a = max(t0, 1)
    p = prices[a - 1 : t1] if cols is None else prices[a - 1 : t1, cols]
    g = np.ones((t1 - t0, p.shape[1]))  # the first row of the data has no prior price
    with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (silences warnings only)
        np.divide(p[1:], p[:-1], out=g[a - t0 :])
    np.copyto(g, 1.0, where=np.isnan(g))
    return g


def growth_block(data: PriceData, cash_daily: np.ndarray, t0: int, t1: int, cols: np.ndarray | None = None) -> np.ndarray:
    """Cumulative growth of every security (or of ``cols``) over ``(t0, t1]``, shape (t1 - t0, n).

    Row ``k`` is the value on date ``t0 + 1 + k`` of one unit held at the close of
    ``t0``. Unknown returns are 0 (before listing, gaps); the day after the last price of a
    life that ends in ``[t0, t1)`` (an exit event) carries its delisting return, later days
    the cash rate (the proceeds are cash until the next rebalance), whatever the column
    holds later.
    """
    sub = daily_growth(data.prices, t0 + 1, t1 + 1, cols)
    dying, last, dl = data.closing(t0, t1, cols)
    if len(dying):
        # delisting return the day after the last price, then the cash rate
        rows = np.arange(t0 + 1, t1 + 1)[:, None]
        first_dead = last[None, :] + 1
        d = sub[:, dying]
        d = np.where(rows == first_dead, 1.0 + dl[None, :], d)
        d = np.where(rows > first_dead, 1.0 + cash_daily[t0 + 1 : t1 + 1][:, None], d)
        sub[:, dying] = d
    return np.cumprod(sub, axis=0)


def cash_returns(cash_rate: float | np.ndarray | pd.Series, dates: np.ndarray) -> np.ndarray:
    """Daily cash return per date, shape (T,): an annual rate compounds over 252 days; a
    Series is read as of each date; an array is taken as the daily returns."""
    T = len(dates)
    if isinstance(cash_rate, pd.Series):
        idx = pd.DatetimeIndex(dates.astype("datetime64[ns]"))
        s = cash_rate.reindex(idx, method="ffill")  # pragma: no mutate (pandas reads "FFILL" as "ffill"; no fill is tested)
        return np.nan_to_num(s.to_numpy(dtype="float64"))
    arr = np.asarray(cash_rate, dtype="float64")
    if arr.ndim == 0:
        return np.full(T, (1.0 + float(arr)) ** (1.0 / TRADING_DAYS) - 1.0)
    if arr.shape != (T,):
        raise ValueError(f"cash_rate: expected a scalar annual rate or a daily array of shape ({T},), got {arr.shape}")
    return arr

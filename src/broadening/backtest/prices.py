"""Prices prepared for the engine: total-return prices, lives, delisting returns, growth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from broadening.market import Market

TRADING_DAYS = 252


@dataclass
class PriceData:
    """The arrays the engine needs, taken from a Market or given directly.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
    ids : ndarray of str, shape (N,)
    prices : ndarray, shape (T, N)
        Total-return prices, NaN where the security has no price.
    last_index : ndarray of int, shape (N,)
        Position of each security's last price (-1 if it never traded).
    delisting_return : ndarray, shape (N,)
        Return realised the day after the last price of a delisted security (0 if unknown).
    market_cap : ndarray, shape (T, N), optional
    """

    dates: np.ndarray
    ids: np.ndarray
    prices: np.ndarray
    last_index: np.ndarray
    delisting_return: np.ndarray
    market_cap: np.ndarray | None = None

    @property
    def filled(self) -> np.ndarray:
        """``prices`` with 0 where there is no price, shape (T, N) (what the engine multiplies)."""
        return self._scan()[0]

    @property
    def gappy(self) -> np.ndarray:
        """Bool (N,): the security has a missing price inside its life (raw arrays only; a
        Market carries prices forward). Such names take the engine's cumulative-product path."""
        return self._scan()[1]

    def _scan(self) -> tuple[np.ndarray, np.ndarray]:
        """One blocked pass over the prices: the NaN-free copy and the names with gaps (cached)."""
        got = self.__dict__.get("_scanned")
        if got is None:
            T, N = self.prices.shape
            filled = np.empty((T, N))
            missing = np.zeros(N, dtype=np.int64)
            first = np.full(N, -1, dtype=np.int64)
            step = max(1, 2**18 // max(N, 1))
            for a in range(0, T, step):
                blk = self.prices[a : a + step]
                nan = np.isnan(blk)
                np.copyto(filled[a : a + step], blk)
                filled[a : a + step][nan] = 0.0
                missing += nan.sum(axis=0)
                new = (first < 0) & ~nan.all(axis=0)
                if new.any():
                    first[new] = a + np.argmin(nan[:, new], axis=0)
            life = np.where((self.last_index >= 0) & (first >= 0), self.last_index - first + 1, 0)
            got = (filled, missing > T - life)
            self.__dict__["_scanned"] = got
        return got

    def __getstate__(self) -> dict:
        # derived panels are rebuilt where they are used, never shipped
        return {k: v for k, v in self.__dict__.items() if k != "_scanned"}

    @classmethod
    def from_market(cls, market: Market, cols: np.ndarray | None = None) -> PriceData:
        """From a market (``cols``: keep only these security positions)."""
        sec = market.securities
        dl = sec["delisting_return"].to_numpy(dtype="float64") if "delisting_return" in sec else np.zeros(len(market.ids))
        tri, cap, last, ids = market.total_return_index, market.market_cap, market.last_index, market.ids
        if cols is not None:
            # take() keeps rows contiguous (the engine reads row blocks) in one copy, where
            # fancy indexing leaves a Fortran-ordered panel to copy again
            tri, cap = np.take(tri, cols, axis=1), np.take(cap, cols, axis=1)
            last, ids, dl = last[cols], ids[cols], dl[cols]
        return cls(dates=market.dates, ids=ids, prices=tri, last_index=last,
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
            prices = prices.to_numpy(dtype="float64")
        p = np.asarray(prices, dtype="float64")
        T, N = p.shape
        if dates is None:
            dates = pd.bdate_range("2000-01-03", periods=T)
        d = np.asarray(pd.DatetimeIndex(dates).values.astype("datetime64[D]"))
        ident = np.asarray([str(i) for i in ids]) if ids is not None else np.asarray([f"s{i}" for i in range(N)])
        # only names without a price on the last date can have stopped early
        last = np.full(N, T - 1, dtype=np.int64)
        ended = np.flatnonzero(np.isnan(p[-1]))
        if len(ended):
            alive = ~np.isnan(p[:, ended])
            last[ended] = np.where(alive.any(axis=0), T - 1 - np.argmax(alive[::-1], axis=0), -1)
        dl = np.zeros(N) if delisting_return is None else np.nan_to_num(np.asarray(delisting_return, dtype="float64"))
        return cls(dates=d, ids=ident, prices=p, last_index=last, delisting_return=dl, market_cap=market_cap)


def daily_growth(prices: np.ndarray, t0: int, t1: int, cols: np.ndarray | None = None) -> np.ndarray:
    """``P[t] / P[t - 1]`` for ``t`` in ``[t0, t1)``, 1 where either price is unknown; shape (t1 - t0, n)."""
    a = max(t0, 1)
    p = prices[a - 1 : t1] if cols is None else prices[a - 1 : t1, cols]
    g = np.empty((t1 - t0, p.shape[1]))
    if t0 == 0 and t1 > 0:
        g[0] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(p[1:], p[:-1], out=g[a - t0 :])
    np.copyto(g, 1.0, where=np.isnan(g))
    return g


def growth_block(data: PriceData, cash_daily: np.ndarray, t0: int, t1: int, cols: np.ndarray | None = None) -> np.ndarray:
    """Cumulative growth of every security (or of ``cols``) over ``(t0, t1]``, shape (t1 - t0, n).

    Row ``k`` is the value on date ``t0 + 1 + k`` of one unit held at the close of
    ``t0``. Unknown returns are 0 (before listing, gaps); the day after a delisted
    security's last price carries its delisting return, later days the cash rate (the
    proceeds are cash until the next rebalance).
    """
    sub = daily_growth(data.prices, t0 + 1, t1 + 1, cols)
    last = data.last_index if cols is None else data.last_index[cols]
    dl = data.delisting_return if cols is None else data.delisting_return[cols]
    dying = np.flatnonzero((last >= t0) & (last < t1))
    if len(dying):
        # delisting return the day after the last price, then the cash rate
        rows = np.arange(t0 + 1, t1 + 1)[:, None]
        first_dead = last[dying][None, :] + 1
        d = sub[:, dying]
        d = np.where(rows == first_dead, 1.0 + dl[dying][None, :], d)
        d = np.where(rows > first_dead, 1.0 + cash_daily[t0 + 1 : t1 + 1][:, None], d)
        sub[:, dying] = d
    return np.cumprod(sub, axis=0)


def cash_returns(cash_rate: float | np.ndarray | pd.Series, dates: np.ndarray) -> np.ndarray:
    """Daily cash return per date, shape (T,): an annual rate compounds over 252 days; a
    Series is read as of each date; an array is taken as the daily returns."""
    T = len(dates)
    if isinstance(cash_rate, pd.Series):
        s = cash_rate.reindex(pd.DatetimeIndex(dates.astype("datetime64[ns]")), method="ffill")
        return np.nan_to_num(s.to_numpy(dtype="float64"))
    arr = np.asarray(cash_rate, dtype="float64")
    if arr.ndim == 0:
        return np.full(T, (1.0 + float(arr)) ** (1.0 / TRADING_DAYS) - 1.0)
    if arr.shape != (T,):
        raise ValueError(f"cash_rate: expected a scalar annual rate or a daily array of shape ({T},), got {arr.shape}")
    return arr

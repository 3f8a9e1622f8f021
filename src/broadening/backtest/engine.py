"""The vectorised backtest engine: target weights on rebalance dates -> daily returns.

The engine knows nothing of the thesis. It takes total-return prices (or a
:class:`~broadening.market.Market`), target weights on rebalance dates and a cost model,
and marks the portfolio daily.

Conventions
-----------
- **Trade timing.** Target weights for rebalance date ``t`` are set at the close of ``t``
  (traded at that close) and earn from the next trading day ``t + 1``. Between rebalances
  every position drifts with its own total return; cash earns ``cash_rate``.
- **Returns.** ``returns`` start on the first rebalance date. The return on a rebalance
  date includes the costs paid at its close (so the first day's return is ``-cost``).
- **Costs.** Paid at the close of the rebalance date, out of the portfolio, on the value
  traded per name: ``cost = sum_i c_i * |traded_i|`` with
  ``c_i = bps / 1e4 + spread_i / 1e4`` (see :class:`CostModel`). Costs are solved
  exactly: after paying them the portfolio holds exactly the target weights of its
  post-cost value ``V'`` (``V' = V - sum_i c_i |w_i V' - h_i|``, a contraction solved by
  fixed-point iteration to machine precision).
- **Cash.** Target weights may sum to less than one (never more, never negative); the
  rest is cash. Cash earns ``cash_rate`` from the next day on.
- **Delistings.** A held security whose prices stop before the end of the data is
  closed at its last price; on the next trading day it earns its delisting return
  (``securities.delisting_return``, 0 when unknown) and from then on its proceeds are
  cash (earning ``cash_rate``) until the next rebalance, where they are swept into cash
  without costs. A target weight on a security without a price on the rebalance date
  (not yet listed, or delisted) is an error, so a delisted name never comes back.
- **Splits and dividends** are in the total-return prices. Inside a security's life a
  price should not be NaN (a :class:`~broadening.market.Market` carries gaps forward);
  given raw arrays, a NaN price means no return on that day and on the next.
- **Turnover** of a rebalance is one-way: ``0.5 * sum_i |traded_i| / V`` (pre-trade
  value ``V``); the initial investment from cash counts 0.5.

Performance: a Python loop over rebalance periods only; inside a period the drift of
every security is one cumulative product over the ``(L, N)`` block and the portfolio
value one matrix-vector product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.backtest.schedule import rebalance_positions

if TYPE_CHECKING:
    from broadening.market import Market

TRADING_DAYS = 252


@dataclass(frozen=True)
class CostModel:
    """Transaction costs charged on traded value at each rebalance.

    The rate paid on name ``i`` is ``bps + spread_i`` (both in basis points of traded
    value), with the size-dependent half-spread

        ``spread_i = min(spread_bps * sqrt(spread_ref_cap / cap_i), max_spread_bps)``

    where ``cap_i`` is the market cap on the rebalance date: a company of
    ``spread_ref_cap`` pays ``spread_bps``, one a hundred times smaller ten times more,
    capped at ``max_spread_bps``; a name without a known cap pays ``max_spread_bps``.
    The spread applies only when market caps are available (a Market, or
    ``market_cap=`` for arrays).

    Parameters
    ----------
    bps : float, default 10
        Fixed cost in basis points of traded value.
    spread_bps : float, default 0
        Half-spread in bps for a company of ``spread_ref_cap`` (0 disables the spread).
    spread_ref_cap : float, default 1e10
        Reference market cap (in price currency) for ``spread_bps``.
    max_spread_bps : float, default 50
        Upper bound of the size-dependent spread.
    """

    bps: float = 10.0
    spread_bps: float = 0.0
    spread_ref_cap: float = 1e10
    max_spread_bps: float = 50.0

    def __post_init__(self) -> None:
        for name in ("bps", "spread_bps", "max_spread_bps"):
            if getattr(self, name) < 0:
                raise ValueError(f"CostModel.{name} must be >= 0, got {getattr(self, name)}")
        if self.spread_ref_cap <= 0:
            raise ValueError(f"CostModel.spread_ref_cap must be > 0, got {self.spread_ref_cap}")

    @property
    def is_zero(self) -> bool:
        return self.bps == 0 and self.spread_bps == 0

    def rates(self, cap: np.ndarray | None) -> np.ndarray | float:
        """Cost rate per unit traded, shape (N,) (or a scalar without a spread)."""
        fixed = self.bps / 1e4
        if self.spread_bps == 0 or cap is None:
            return fixed
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = self.spread_bps * np.sqrt(self.spread_ref_cap / cap)
        spread = np.where(np.isfinite(spread) & (cap > 0), spread, self.max_spread_bps)
        return fixed + np.minimum(spread, self.max_spread_bps) / 1e4


NO_COSTS = CostModel(bps=0.0)


@dataclass
class BacktestResult:
    """What one backtest produced.

    Attributes
    ----------
    dates : DatetimeIndex, shape (T',)
        Dates from the first rebalance date to the end of the data.
    returns : Series, shape (T',)
        Daily portfolio returns (net of costs), indexed by ``dates``.
    value : Series, shape (T',)
        Portfolio value at each close (post-trade on rebalance dates), 1 before the first trade.
    cash : Series, shape (T',)
        End-of-day weight in cash (including proceeds of delisted positions).
    rebalance_dates : DatetimeIndex, shape (R,)
    positions : ndarray of int, shape (R,)
        Rebalance positions in the full date axis of the data.
    weights : ndarray, shape (R, N)
        Post-trade weights after each rebalance.
    turnover : Series, shape (R,)
        One-way turnover of each rebalance (fraction of pre-trade value).
    costs : Series, shape (R,)
        Costs paid at each rebalance (fraction of pre-trade value).
    ids : ndarray of str, shape (N,)
    recorded : DataFrame
        End-of-day weights at the dates asked for with ``record=`` (rows: dates,
        columns: ids); empty if none.
    cash_daily : ndarray, shape (T,)
        Daily cash return applied on each date of the data.
    """

    dates: pd.DatetimeIndex
    returns: pd.Series
    value: pd.Series
    cash: pd.Series
    rebalance_dates: pd.DatetimeIndex
    positions: np.ndarray
    weights: np.ndarray
    turnover: pd.Series
    costs: pd.Series
    ids: np.ndarray
    recorded: pd.DataFrame = field(default_factory=pd.DataFrame)
    cash_daily: np.ndarray | None = field(default=None, repr=False)

    def weights_frame(self) -> pd.DataFrame:
        """Post-trade weights per rebalance as a DataFrame (dates x ids)."""
        return pd.DataFrame(self.weights, index=self.rebalance_dates, columns=pd.Index(self.ids, name="security_id"))

    @property
    def total_costs(self) -> float:
        """Sum of costs paid, as fractions of pre-trade value."""
        return float(self.costs.sum())


@dataclass
class PriceData:
    """The arrays the engine needs, taken from a Market or given directly.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
    ids : ndarray of str, shape (N,)
    prices : ndarray, shape (T, N)
        Total-return prices, NaN where the security has no price.
    growth : ndarray, shape (T, N)
        Daily gross total return ``1 + r``, 1 where unknown (before listing, gaps,
        after delisting: the delisting return is applied by :func:`growth_block`).
    last_index : ndarray of int, shape (N,)
        Position of each security's last price (-1 if it never traded).
    delisting_return : ndarray, shape (N,)
        Return realised the day after the last price of a delisted security (0 if unknown).
    market_cap : ndarray, shape (T, N), optional
    """

    dates: np.ndarray
    ids: np.ndarray
    prices: np.ndarray
    growth: np.ndarray
    last_index: np.ndarray
    delisting_return: np.ndarray
    market_cap: np.ndarray | None = None

    @classmethod
    def from_market(cls, market: Market) -> PriceData:
        sec = market.securities
        dl = sec["delisting_return"].to_numpy(dtype="float64") if "delisting_return" in sec else np.zeros(len(market.ids))
        g = market.returns + 1.0
        np.copyto(g, 1.0, where=np.isnan(g))
        return cls(
            dates=market.dates, ids=market.ids, prices=market.total_return_index, growth=g,
            last_index=market.last_index, delisting_return=np.nan_to_num(dl), market_cap=market.market_cap,
        )

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
        g = np.empty((T, N))
        g[0] = 1.0
        np.divide(p[1:], p[:-1], out=g[1:])
        np.copyto(g, 1.0, where=np.isnan(g))
        # only names without a price on the last date can have stopped early
        last = np.full(N, T - 1, dtype=np.int64)
        ended = np.flatnonzero(np.isnan(p[-1]))
        if len(ended):
            alive = ~np.isnan(p[:, ended])
            last[ended] = np.where(alive.any(axis=0), T - 1 - np.argmax(alive[::-1], axis=0), -1)
        dl = np.zeros(N) if delisting_return is None else np.nan_to_num(np.asarray(delisting_return, dtype="float64"))
        return cls(dates=d, ids=ident, prices=p, growth=g, last_index=last, delisting_return=dl, market_cap=market_cap)


def growth_block(data: PriceData, cash_daily: np.ndarray, t0: int, t1: int) -> np.ndarray:
    """Cumulative growth of every security over ``(t0, t1]``, shape (t1 - t0, N).

    Row ``k`` is the value on date ``t0 + 1 + k`` of one unit held at the close of
    ``t0``. Unknown returns are 0 (before listing, gaps); the day after a delisted
    security's last price carries its delisting return, later days the cash rate (the
    proceeds are cash until the next rebalance).
    """
    g = np.cumprod(data.growth[t0 + 1 : t1 + 1], axis=0)
    last = data.last_index
    dying = np.flatnonzero((last >= t0) & (last < t1))
    if len(dying):
        # delisting return the day after the last price, then the cash rate
        rows = np.arange(t0 + 1, t1 + 1)[:, None]
        first_dead = last[dying][None, :] + 1
        sub = data.growth[t0 + 1 : t1 + 1][:, dying]
        sub = np.where(rows == first_dead, 1.0 + data.delisting_return[dying][None, :], sub)
        sub = np.where(rows > first_dead, 1.0 + cash_daily[t0 + 1 : t1 + 1][:, None], sub)
        g[:, dying] = np.cumprod(sub, axis=0)
    return g


def _cash_daily(cash_rate: float | np.ndarray | pd.Series, dates: np.ndarray) -> np.ndarray:
    """Daily cash return per date, shape (T,): an annual rate compounds over 252 days."""
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


def _targets(
    weights: np.ndarray | pd.DataFrame,
    rebalance: np.ndarray | Sequence | str | None,
    data: PriceData,
) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(weights, pd.DataFrame):
        frame = weights
        if not set(map(str, frame.columns)) <= set(data.ids):
            unknown = sorted(set(map(str, frame.columns)) - set(data.ids))[:5]
            raise ValueError(f"weights: columns not in the price data: {unknown}")
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.reindex(columns=list(data.ids), fill_value=0.0)
        d = np.asarray(pd.DatetimeIndex(frame.index).values.astype("datetime64[D]"))
        pos = np.searchsorted(data.dates, d)
        if np.any(pos >= len(data.dates)) or np.any(data.dates[np.minimum(pos, len(data.dates) - 1)] != d):
            raise ValueError("weights: every index date must be a trading date of the price data")
        W = np.nan_to_num(frame.to_numpy(dtype="float64"))
    else:
        W = np.asarray(weights, dtype="float64")
        if rebalance is None:
            raise ValueError("rebalance positions are required with an array of weights")
        if isinstance(rebalance, str):
            pos = rebalance_positions(data.dates, rebalance)
        else:
            pos = np.asarray(rebalance)
            if pos.dtype.kind in "iu":
                pos = pos.astype(np.int64)
            else:
                pos = np.searchsorted(data.dates, np.asarray(pd.DatetimeIndex(pos).values.astype("datetime64[D]")))
        if W.ndim == 1:
            W = np.broadcast_to(W, (len(pos), len(W)))
        W = np.nan_to_num(W)
    if W.shape != (len(pos), len(data.ids)):
        raise ValueError(f"weights: expected shape ({len(pos)}, {len(data.ids)}), got {W.shape}")
    if len(pos) == 0:
        raise ValueError("no rebalance dates")
    if np.any(np.diff(pos) <= 0):
        raise ValueError("rebalance positions must be strictly increasing")
    if pos[0] < 0 or pos[-1] >= len(data.dates):
        raise ValueError("rebalance positions outside the price data")
    if np.any(W < -1e-12):
        raise ValueError("weights: long-only engine, found a negative weight")
    sums = W.sum(axis=1)
    if np.any(sums > 1.0 + 1e-9):
        r = int(np.argmax(sums))
        raise ValueError(f"weights: sum to {sums[r]:.6f} > 1 on {data.dates[pos[r]]} (no leverage)")
    return np.clip(W, 0.0, None), pos


def _post_cost_value(V: float, w: np.ndarray, h: np.ndarray, c: np.ndarray | float) -> float:
    """Solve ``x = V - sum_i c_i |w_i x - h_i|`` (a contraction since sum c_i w_i < 1)."""
    x = V
    for _ in range(100):
        nxt = V - float(np.sum(c * np.abs(w * x - h)))
        if abs(nxt - x) <= 1e-16 * V:
            return nxt
        x = nxt
    return x


def backtest(
    data: Market | PriceData | np.ndarray | pd.DataFrame,
    weights: np.ndarray | pd.DataFrame,
    rebalance: np.ndarray | Sequence | str | None = None,
    *,
    costs: CostModel | bool | float = True,
    cash_rate: float | np.ndarray | pd.Series = 0.0,
    record: Sequence | np.ndarray | None = None,
    delisting_return: np.ndarray | None = None,
    market_cap: np.ndarray | None = None,
) -> BacktestResult:
    """Run one backtest.

    Parameters
    ----------
    data : Market, PriceData, ndarray (T, N) or DataFrame
        A market, or total-return prices (NaN outside a security's life).
    weights : ndarray (R, N) or DataFrame
        Target weights per rebalance (rows sum to at most 1; the rest is cash). A
        DataFrame is indexed by rebalance dates, with security ids as columns (missing
        ids weigh 0); then ``rebalance`` is ignored.
    rebalance : ndarray of int (R,), sequence of dates, or schedule name
        Rebalance positions into the dates of ``data`` (or dates, or e.g. ``"monthly"``).
    costs : CostModel, bool or float, default True
        ``True``: 10 bps (plus the spread of a CostModel if given one); ``False``: no
        costs at all; a float: fixed bps.
    cash_rate : float, ndarray (T,) or Series, default 0
        Annual rate (compounded over 252 days) or the daily cash return per date.
    record : sequence of dates or int positions, optional
        Dates at which to keep end-of-day weights (``result.recorded``).
    delisting_return : ndarray (N,), optional
        For array data only (a Market brings its own).
    market_cap : ndarray (T, N), optional
        For array data only; needed by a size-dependent spread.

    Returns
    -------
    BacktestResult
    """
    if isinstance(data, PriceData):
        pdata = data
    elif isinstance(data, np.ndarray | pd.DataFrame):
        pdata = PriceData.from_prices(data, delisting_return=delisting_return, market_cap=market_cap)
    else:
        pdata = PriceData.from_market(data)
    model = _cost_model(costs)
    W, pos = _targets(weights, rebalance, pdata)
    T, N = pdata.growth.shape
    cash_daily = _cash_daily(cash_rate, pdata.dates)
    cash_growth = 1.0 + cash_daily

    alive_at = ~np.isnan(pdata.prices[pos])
    bad = (W > 0) & ~alive_at
    if bad.any():
        r, i = np.argwhere(bad)[0]
        raise ValueError(
            f"weights: {int(bad.sum())} target weight(s) on securities without a price on their "
            f"rebalance date, e.g. {pdata.ids[i]} on {pdata.dates[pos[r]]}"
        )
    rec_pos = _record_positions(record, pdata.dates)
    rec_rows: dict[int, np.ndarray] = {}

    s = int(pos[0])
    L = T - s
    value = np.empty(L)
    cashw = np.empty(L)
    R = len(pos)
    turnover = np.empty(R)
    paid = np.empty(R)
    wafter = np.empty((R, N))
    h = np.zeros(N)
    cash = 1.0
    last = pdata.last_index
    is_reb = np.zeros(T, dtype=bool)
    is_reb[pos] = True
    for r in range(R):
        t0 = int(pos[r])
        if r:
            # proceeds of delisted names are already cash-like; sweep them without costs
            dead = (h != 0) & ~alive_at[r]
            if dead.any():
                cash += float(h[dead].sum())
                h[dead] = 0.0
        V = float(h.sum()) + cash
        w = W[r]
        if model.is_zero:
            Vp = V
        else:
            cap = pdata.market_cap[t0] if (pdata.market_cap is not None and model.spread_bps) else None
            c = model.rates(cap)
            live = np.flatnonzero((w != 0) | (h != 0))
            cc = c[live] if isinstance(c, np.ndarray) else c
            Vp = _post_cost_value(V, w[live], h[live], cc)
        traded = np.abs(w * Vp - h).sum()
        turnover[r] = 0.5 * traded / V
        paid[r] = (V - Vp) / V
        h = w * Vp
        cash = Vp - float(h.sum())
        if abs(cash) <= 1e-12 * Vp:
            # rounding residue of sum(w) == 1, not cash: left in, it is a fixed amount that
            # distorts returns once the invested part has shrunk many-fold
            cash = 0.0
        value[t0 - s] = Vp
        cashw[t0 - s] = cash / Vp
        wafter[r] = h / Vp
        if rec_pos is not None and _contains(rec_pos, t0):
            rec_rows[t0] = wafter[r].copy()
        t1 = int(pos[r + 1]) if r + 1 < R else T - 1
        if t1 <= t0:
            continue
        block = growth_block(pdata, cash_daily, t0, t1)
        cpath = cash * np.cumprod(cash_growth[t0 + 1 : t1 + 1])
        hv = block @ h
        vpath = hv + cpath
        value[t0 + 1 - s : t1 + 1 - s] = vpath
        # cash weight: cash plus positions already delisted inside the period
        dying = np.flatnonzero((h != 0) & (last < t1))
        dead_val = np.zeros(t1 - t0)
        if len(dying):
            rows = np.arange(t0 + 1, t1 + 1)[:, None]
            dead_val = (np.where(rows > last[dying][None, :], block[:, dying], 0.0) @ h[dying])
        cashw[t0 + 1 - s : t1 + 1 - s] = (cpath + dead_val) / vpath
        if rec_pos is not None:
            for k in rec_pos[(rec_pos > t0) & (rec_pos <= t1)]:
                if not is_reb[k]:
                    wk = h * block[k - t0 - 1] / vpath[k - t0 - 1]
                    wk[last < k] = 0.0  # a delisted position is cash by now
                    rec_rows[int(k)] = wk
        h = h * block[-1]
        cash = float(cpath[-1])

    idx = pd.DatetimeIndex(pdata.dates[s:].astype("datetime64[ns]"), name="date")
    prev = np.empty(L)
    prev[0] = 1.0
    prev[1:] = value[:-1]
    rets = value / prev - 1.0
    rdates = pd.DatetimeIndex(pdata.dates[pos].astype("datetime64[ns]"), name="date")
    recorded = pd.DataFrame()
    if rec_rows:
        keys = sorted(rec_rows)
        recorded = pd.DataFrame(
            np.vstack([rec_rows[k] for k in keys]),
            index=pd.DatetimeIndex(pdata.dates[keys].astype("datetime64[ns]"), name="date"),
            columns=pd.Index(pdata.ids, name="security_id"),
        )
    return BacktestResult(
        dates=idx,
        returns=pd.Series(rets, index=idx, name="return"),
        value=pd.Series(value, index=idx, name="value"),
        cash=pd.Series(cashw, index=idx, name="cash"),
        rebalance_dates=rdates,
        positions=pos,
        weights=wafter,
        turnover=pd.Series(turnover, index=rdates, name="turnover"),
        costs=pd.Series(paid, index=rdates, name="costs"),
        ids=pdata.ids,
        recorded=recorded,
        cash_daily=cash_daily,
    )


def _contains(rec_pos: np.ndarray, t: int) -> bool:
    i = np.searchsorted(rec_pos, t)
    return bool(i < len(rec_pos) and rec_pos[i] == t)


def _record_positions(record: Sequence | np.ndarray | None, dates: np.ndarray) -> np.ndarray | None:
    if record is None:
        return None
    arr = np.asarray(record)
    if arr.dtype.kind in "iu":
        return np.unique(arr.astype(np.int64))
    d = np.asarray(pd.DatetimeIndex(arr).values.astype("datetime64[D]"))
    p = np.searchsorted(dates, d, side="right") - 1
    return np.unique(p[p >= 0])


def _cost_model(costs: CostModel | bool | float) -> CostModel:
    if isinstance(costs, CostModel):
        return costs
    if costs is True:
        return CostModel()
    if costs is False or costs is None:
        return NO_COSTS
    return CostModel(bps=float(costs))

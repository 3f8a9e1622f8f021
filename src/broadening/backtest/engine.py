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
- **Delistings (exit events).** Every life that ends before the end of the data is an exit
  event of :class:`PriceData` (row of its last price, column, delisting return;
  ``securities.delisting_return``, 0 when unknown). A column may hold several lives one after
  another. A position held at an exit is closed at that last price; on the next trading day
  it earns the delisting return and from then on its proceeds are cash (earning
  ``cash_rate``) until the next rebalance, where they are swept into cash without costs,
  whatever the column holds later. A target weight on a column without a price on the
  rebalance date (not yet listed, or between or after its lives) is an error, so a delisted
  life never comes back.
- **Splits and dividends** are in the total-return prices. Inside a security's life a
  price should not be NaN (a :class:`~broadening.market.Market` carries gaps forward);
  given raw arrays, a NaN price means no return on that day and on the next.
- **Turnover** of a rebalance is one-way: ``0.5 * sum_i |traded_i| / V`` (pre-trade
  value ``V``); the initial investment from cash counts 0.5.

One engine
----------
:class:`Simulation` is the single simulation entry point: prepared prices (:class:`PriceData`),
rebalance positions, a cost model and a cash rate; :meth:`Simulation.run` marks target
weights on those rows (optionally a window of them, on the data up to an end position).
:func:`backtest` validates user input and runs one simulation. The playbook suite, the
benchmarks and the parameter sweep all run through :meth:`Simulation.run`.

Performance: a Python loop over rebalance periods only, reading the prices in place (no
copy of the panel). Inside a period a position's value is its price relative to the
rebalance close, so the portfolio value over the period is one gather of the held columns of
the period's ``(L, N)`` row block and one matrix-vector product (about one pass over the
panel in all); a position that exits inside the period adds its delisting value from the
events, and only names whose raw prices have gaps in the period take the cumulative-product
path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.backtest.costs import NO_COSTS, CostModel, cost_model, post_cost_value
from broadening.backtest.prices import (
    TRADING_DAYS,
    PriceData,
    cash_returns,
    daily_growth,
    growth_block,
)
from broadening.backtest.schedule import rebalance_positions

__all__ = [
    "BacktestResult", "CostModel", "NO_COSTS", "PriceData", "Simulation", "TRADING_DAYS", "backtest",
    "cash_returns", "cost_model", "daily_growth", "growth_block", "post_cost_value",
]

if TYPE_CHECKING:
    from broadening.market import Market



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


class Simulation:
    """The engine: prepared prices, rebalance positions, costs and cash; run any targets on them.

    Parameters
    ----------
    data : PriceData
    positions : ndarray of int, shape (R,)
        Strictly increasing rebalance positions into ``data.dates``.
    costs : CostModel, bool or float, default True
        As for :func:`backtest`.
    cash_rate : float, ndarray (T,) or Series, default 0
        As for :func:`backtest`.

    Notes
    -----
    Build one per (data, schedule) and call :meth:`run` for every set of targets: the
    cost model, the cash path, the positions and the market caps on the rebalance rows
    (``cap``, for the spread) are resolved once; ``data.market_cap`` is not read again.
    """

    def __init__(self, data: PriceData, positions: np.ndarray, *, costs: CostModel | bool | float = True,
                 cash_rate: float | np.ndarray | pd.Series = 0.0) -> None:
        self.data = data
        self.positions = np.asarray(positions, dtype=np.int64)
        self.model = cost_model(costs)
        self.cash_daily = cash_returns(cash_rate, data.dates)
        self._cash_growth = 1.0 + self.cash_daily
        # the size-dependent spread reads market caps on the rebalance rows only
        spread = data.market_cap is not None and self.model.spread_bps > 0
        self.cap = np.ascontiguousarray(data.market_cap[self.positions]) if spread else None
        self._rates: np.ndarray | None = None
        self._rows: tuple[np.ndarray, list[np.ndarray]] | None = None

    def run(
        self,
        weights: np.ndarray,
        *,
        rows: tuple[int, int] | None = None,
        end: int | None = None,
        record: np.ndarray | None = None,
    ) -> BacktestResult:
        """Mark target ``weights`` rebalanced on ``positions[lo:hi]``.

        Parameters
        ----------
        weights : ndarray, shape (hi - lo, N)
            Target weights per rebalance row (each row >= 0, summing to at most 1; the rest is
            cash). A positive weight needs a price on its rebalance date (checked).
        rows : (lo, hi), optional
            The window of rebalance rows (default: all).
        end : int, optional
            Position one past the last date marked (default: the end of the data); the last
            period runs to ``end - 1``.
        record : ndarray of int, optional
            Sorted date positions at which to keep end-of-day weights (``result.recorded``).

        Returns
        -------
        BacktestResult
        """
        d = self.data
        lo, hi = rows if rows is not None else (0, len(self.positions))
        pos = self.positions[lo:hi]
        T = len(d.dates) if end is None else int(end)
        W = np.asarray(weights, dtype="float64")
        R, N = len(pos), len(d.ids)
        if W.shape != (R, N):
            raise ValueError(f"weights: expected shape ({R}, {N}), got {W.shape}")
        if R == 0:
            raise ValueError("no rebalance dates")
        if pos[-1] >= T:
            raise ValueError("rebalance positions outside the marked dates")
        inv_all, closing_all = self.rows()
        inv = inv_all[lo:hi]
        bad = (W > 0) & (inv == 0)
        if bad.any():
            r, i = np.argwhere(bad)[0]
            raise ValueError(
                f"weights: {int(bad.sum())} target weight(s) on securities without a price on their "
                f"rebalance date, e.g. {d.ids[i]} on {d.dates[pos[r]]}"
            )
        model = self.model
        rates = None if self.cap is None else self.rates()[lo:hi]
        fixed = model.bps / 1e4
        cg = self._cash_growth
        P = d.prices
        s = int(pos[0])
        L = T - s
        value = np.empty(L)
        cashv = np.empty(L)  # value in cash (and in closed positions) at each close
        turnover = np.empty(R)
        paid = np.empty(R)
        wafter = W.copy()  # after paying costs the book holds exactly the targets
        rec: dict[int, np.ndarray] = {}
        h = np.zeros(N)
        wsum = W.sum(axis=1)
        V = 1.0  # value before trading at the rebalance close
        dn = None  # positions closed inside the last period: their value is cash by now
        # the held columns of every row at once (ascending per row), and units bought per unit of value
        nzr, nzc = np.nonzero(W)
        nzb = np.searchsorted(nzr, np.arange(R + 1))  # pragma: no mutate (bounds past R + 1 are never read)
        nzu = W[nzr, nzc] * inv[nzr, nzc]
        ex_per, ex_col, ex_row, ex_ret, exb = self._closing_window(W, lo, T)
        for r in range(R):
            t0 = int(pos[r])
            w = W[r]
            if dn is not None:
                # proceeds of closed positions are in V already, as cash: no longer holdings,
                # so they are swept into the new book without costs
                h[dn] = 0.0
            if model.is_zero:
                Vp, traded = V, float(np.abs(w * V - h).sum())
            else:
                Vp, traded = _post_cost(V, w, h, rates[r] if rates is not None else fixed)
            turnover[r] = 0.5 * traded / V
            paid[r] = (V - Vp) / V
            cash = Vp * (1.0 - wsum[r])
            if abs(1.0 - wsum[r]) <= 1e-12:  # pragma: no mutate (< and <= differ only at exactly 1e-12)
                # rounding residue of sum(w) == 1, not cash: left in, it is a fixed amount that
                # distorts returns once the invested part has shrunk many-fold
                cash = 0.0
            value[t0 - s] = Vp
            cashv[t0 - s] = cash
            if record is not None:
                k = np.searchsorted(record, t0)
                if k < len(record) and record[k] == t0:
                    rec[t0] = w.copy()
            t1 = int(pos[r + 1]) if r + 1 < R else T - 1
            dn = None
            if t1 <= t0:
                break  # only the last row can start an empty period
            # a position is worth (its value at t0) x P[t] / P[t0] while it has prices: one
            # gather of the held columns of the period's row block (read in place from the
            # panel) and one product. A position that exits inside the period is worth its
            # last value times the delisting return, then grows at the cash rate; a name whose
            # raw prices have a gap in the period takes the cumulative-product path of growth_block
            cc = np.cumprod(cg[t0 + 1 : t1 + 1])
            held = nzc[nzb[r] : nzb[r + 1]]  # ascending
            units = nzu[nzb[r] : nzb[r + 1]] * Vp
            G = P[t0 + 1 : t1 + 1].take(held, axis=1)
            e0, e1 = exb[r], exb[r + 1]
            if e1 > e0:  # pragma: no mutate (an empty selection adds nothing)
                # held positions that exit in [t0, t1)
                ecol, erow, eret = ex_col[e0:e1], ex_row[e0:e1], ex_ret[e0:e1]
                ki = np.searchsorted(held, ecol)  # held is ascending
                after = np.arange(t0 + 1, t1 + 1)[:, None] > erow[None, :]
                G[:, ki] = np.where(after, 0.0, G[:, ki])  # pragma: no mutate (a column spoilt here turns NaN: the gap path, same result)
                dn = ecol
            vpath = G @ units
            sp = None
            if np.isnan(vpath.sum()):
                sp = np.flatnonzero(np.isnan(G).any(axis=0))
                units[sp] = 0.0
                G[:, sp] = 0.0  # pragma: no mutate (any finite value: their units are 0)
                vpath = G @ units
            h = np.zeros(N)
            h[held] = units * G[-1]
            cpath = cash * cc
            dead_val = None  # value of the positions closed in the period, per day
            if e1 > e0:
                # last value x (1 + delisting return) the day after the last price, then cash
                first_dead = units[ki] * P[erow, ecol] * (1.0 + eret)
                dead = np.where(after, cc[:, None] / cc[erow - t0][None, :], 0.0) * first_dead[None, :]
                dead_val = dead.sum(axis=1)
                vpath += dead_val
            if sp is not None:
                cols = held[sp]
                new = w[cols] * Vp
                g = growth_block(d, self.cash_daily, t0, t1, cols)
                vpath += g @ new
                h[cols] = new * g[-1]
                gone, glast, _ = d.closing(t0, t1, cols)
                stop = np.full(len(cols), T)  # row of each one's last price in the period (T: none)
                stop[gone] = glast
                if len(gone):
                    # these exits are among the period's (dn, dead_val set above); with a gap
                    # before the exit their value comes from here
                    dead_val = dead_val + np.where(np.arange(t0 + 1, t1 + 1)[:, None] > stop[None, :], g, 0.0) @ new
            vpath += cpath
            value[t0 + 1 - s : t1 + 1 - s] = vpath
            cashv[t0 + 1 - s : t1 + 1 - s] = cpath if dead_val is None else cpath + dead_val
            if record is not None:
                for k in record[(record > t0) & (record <= t1)]:
                    wk = np.zeros(N)
                    wk[held] = units * G[k - t0 - 1]
                    if sp is not None:
                        # a closed position is cash by now
                        wk[cols] = np.where(stop >= k, new * g[k - t0 - 1], 0.0)
                    rec[int(k)] = wk / vpath[k - t0 - 1]
            V = float(vpath[-1])

        idx = pd.DatetimeIndex(d.dates[s:T].astype("datetime64[ns]"), name="date")
        prev = np.empty(L)
        prev[0] = 1.0
        prev[1:] = value[:-1]
        rdates = pd.DatetimeIndex(d.dates[pos].astype("datetime64[ns]"), name="date")
        recorded = pd.DataFrame()
        if rec:
            keys = sorted(rec)
            recorded = pd.DataFrame(
                np.vstack([rec[k] for k in keys]),
                index=pd.DatetimeIndex(d.dates[keys].astype("datetime64[ns]"), name="date"),
                columns=pd.Index(d.ids, name="security_id"),
            )
        return BacktestResult(
            dates=idx,
            returns=pd.Series(value / prev - 1.0, index=idx, name="return"),
            value=pd.Series(value, index=idx, name="value"),
            cash=pd.Series(cashv / value, index=idx, name="cash"),
            rebalance_dates=rdates,
            positions=pos,
            weights=wafter,
            turnover=pd.Series(turnover, index=rdates, name="turnover"),
            costs=pd.Series(paid, index=rdates, name="costs"),
            ids=d.ids,
            recorded=recorded,
            cash_daily=self.cash_daily,
        )

    def _closing_window(self, W: np.ndarray, lo: int, T: int) -> tuple[np.ndarray, ...]:
        """The exits of held positions in each period of a window, flattened: period, column,
        row, return, and per-period bounds ``(R + 1,)`` (columns ascending within a period).
        A period runs to the next rebalance row; the window's last one to ``T - 1``."""
        R = len(W)
        _, closing = self.rows()
        parts = list(closing[lo : lo + R - 1])
        t0 = int(self.positions[lo + R - 1])
        parts.append(self.data.closing(t0, T - 1))  # pragma: no mutate (missing an exit: the NaN scan of run() still finds it)
        n = np.array([len(c) for c, _, _ in parts])
        per = np.repeat(np.arange(R), n)
        col = np.concatenate([c for c, _, _ in parts])
        row = np.concatenate([x for _, x, _ in parts])
        ret = np.concatenate([x for _, _, x in parts])
        keep = W[per, col] > 0
        per, col, row, ret = per[keep], col[keep], row[keep], ret[keep]
        return per, col, row, ret, np.searchsorted(per, np.arange(R + 1))  # pragma: no mutate (bounds past R + 1 are never read)

    def rates(self) -> np.ndarray:
        """Cost rate per unit traded on every rebalance row, shape (R, N) (with a spread; built once)."""
        if self._rates is None:
            self._rates = np.asarray(self.model.rates(self.cap))
        return self._rates

    def rows(self) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """Per rebalance row: ``1 / price`` (R, N), 0 without a price; and for every row but the
        last, the first exit of each column inside the period to the next row, as
        :meth:`PriceData.closing` gives it (columns, rows, returns)."""
        if self._rows is None:
            d = self.data
            p = d.prices[self.positions]
            inv = np.divide(1.0, p, out=np.zeros_like(p), where=p > 0)
            self._rows = (inv, _closing_per_period(d, self.positions))
        return self._rows

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_rates"] = None  # rebuilt where they are used; never shipped
        state["_rows"] = None
        return state


def _closing_per_period(d: PriceData, positions: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each rebalance row but the last, the first exit of each column in
    ``[positions[r], positions[r + 1])``: columns ascending, rows, returns; one pass over the
    events (a window's last period is read for its own end by :meth:`Simulation.run`)."""
    ex = d.exits
    per = np.searchsorted(positions, ex.row, side="right") - 1
    keep = (per >= 0) & (per < len(positions) - 1)
    per, col, row, ret = per[keep], ex.col[keep], ex.row[keep], ex.ret[keep]
    order = np.lexsort((row, col, per))
    per, col, row, ret = per[order], col[order], row[order], ret[order]
    first = np.ones(len(per), dtype=bool)
    first[1:] = (per[1:] != per[:-1]) | (col[1:] != col[:-1])
    per, col, row, ret = per[first], col[first], row[first], ret[first]
    cut = np.searchsorted(per, np.arange(1, len(positions) - 1))  # pragma: no mutate (a split past the last row is never read)
    return list(zip(np.split(col, cut), np.split(row, cut), np.split(ret, cut), strict=True))  # pragma: no mutate (one length by construction)


def _post_cost(V: float, w: np.ndarray, h: np.ndarray, c: np.ndarray | float) -> tuple[float, float]:
    """:func:`~broadening.backtest.costs.post_cost_value` on dense (N,) arrays (names not traded
    cost nothing), and the value traded ``sum_i |w_i x - h_i|`` at the solution ``x``.

    The signs of the trades are read one fixed-point step from ``V`` (within ``c (V - x)`` of
    the solution, so they are nearly always the solution's): one Newton step then settles.
    """
    # a starting point only (pragmas): from any start Newton settles on the same signs and value
    trade = np.abs(w * V - h)  # pragma: no mutate (the starting point)
    x = V - (float(c @ trade) if isinstance(c, np.ndarray) else c * float(trade.sum()))  # pragma: no mutate (the start)
    sign = np.sign(w * x - h)  # pragma: no mutate (the starting point)
    for _ in range(8):  # pragma: no mutate (a cap: Newton on this convex piecewise-linear equation settles in a few steps)
        if isinstance(c, np.ndarray):
            cs = c * sign
            x = (V + float(cs @ h)) / (1.0 + float(cs @ w))
        else:
            x = (V + c * float(sign @ h)) / (1.0 + c * float(sign @ w))
        trade = w * x - h
        nxt = np.sign(trade)
        if (nxt == sign).all():  # pragma: no mutate (never settling ends in the exact fixed point below)
            return x, float(trade @ nxt)
        sign = nxt
    x = post_cost_value(V, w, h, c)  # pragma: no mutate (defensive, not reached: Newton settles first)
    return x, float(np.abs(w * x - h).sum())  # pragma: no mutate (defensive, as above)


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
    """Run one backtest (validates the inputs, then one :class:`Simulation`).

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
    W, pos = _targets(weights, rebalance, pdata)
    sim = Simulation(pdata, pos, costs=costs, cash_rate=cash_rate)
    return sim.run(W, record=_record_positions(record, pdata.dates))


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
        frame = frame.reindex(columns=list(data.ids))  # missing ids: NaN, weighing 0 below
        d = np.asarray(pd.DatetimeIndex(frame.index).values.astype("datetime64[D]"))
        pos = np.searchsorted(data.dates, d)
        if np.any(data.dates[np.minimum(pos, len(data.dates) - 1)] != d):  # past the end: the last date differs
            raise ValueError("weights: every index date must be a trading date of the price data")
        W = np.nan_to_num(frame.to_numpy())  # Simulation.run reads it as float64
    else:
        W = np.asarray(weights)
        if rebalance is None:
            raise ValueError("rebalance positions are required with an array of weights")
        if isinstance(rebalance, str):
            pos = rebalance_positions(data.dates, rebalance)
        else:
            pos = np.asarray(rebalance)
            if np.issubdtype(pos.dtype, np.integer):
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
    if np.any(W < -1e-12):  # pragma: no mutate (< and <= differ only at exactly the tolerance)
        raise ValueError("weights: long-only engine, found a negative weight")
    sums = W.sum(axis=1)
    if np.any(sums > 1.0 + 1e-9):  # pragma: no mutate (> and >= differ only at exactly the tolerance)
        r = int(np.argmax(sums))
        raise ValueError(f"weights: sum to {sums[r]:.6f} > 1 on {data.dates[pos[r]]} (no leverage)")
    return np.clip(W, 0.0, None), pos


def _record_positions(record: Sequence | np.ndarray | None, dates: np.ndarray) -> np.ndarray | None:
    if record is None:
        return None
    arr = np.asarray(record)
    if np.issubdtype(arr.dtype, np.integer):
        return np.unique(arr.astype(np.int64))
    d = np.asarray(pd.DatetimeIndex(arr).values.astype("datetime64[D]"))
    p = np.searchsorted(dates, d, side="right") - 1
    return np.unique(p[p >= 0])

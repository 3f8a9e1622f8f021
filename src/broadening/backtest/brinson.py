"""Active attribution: Brinson-Fachler allocation, selection and interaction effects.

Single period, groups ``j`` (sectors, sleeves...) with portfolio and benchmark weights
``wp_j, wb_j`` (each summing to one) and returns ``rp_j, rb_j``; ``Rb = sum_j wb_j rb_j``:

=============  ===========================================
allocation     ``(wp_j - wb_j) (rb_j - Rb)``
selection      ``wb_j (rp_j - rb_j)``
interaction    ``(wp_j - wb_j) (rp_j - rb_j)``
=============  ===========================================

and ``sum_j (allocation + selection + interaction) = Rp - Rb`` exactly (Brinson and
Fachler 1985; Bacon, *Practical Portfolio Performance Measurement and Attribution*, 2nd
ed. 2008, ch. 5). A group only one side holds has no return on the other side; its
missing return is set to the side's own (``rp_j = rb_j`` when ``wp_j = 0``, and
``rb_j = rp_j`` when ``wb_j = 0``), so holding or skipping a whole group is all
allocation, and selection and interaction are zero there.

Linking periods
---------------
Arithmetic effects of successive periods do not add up to the compounded active return.
``linking="carino"`` (the default; Carino 1999, Bacon ch. 8) scales period ``t``'s effects by
``k_t / k`` with ``k_t = ln((1 + Rp_t) / (1 + Rb_t)) / (Rp_t - Rb_t)`` (``1 / (1 + Rp_t)``
when equal) and ``k`` the same for the whole span; the linked effects then sum exactly to
``prod(1 + Rp_t) - prod(1 + Rb_t)``. ``linking="sum"`` adds the period effects: they sum to
the sum of the periods' active returns.

From backtests
--------------
:func:`backtest_brinson` attributes a strategy against a benchmark run on the same
rebalance dates. A period runs from one rebalance close to the next; within it both books
are buy-and-hold, so the holdings-based period return ``sum_j wp_j rp_j`` (cash a group of
its own, delisting returns as the engine applies them) is exactly the book's gross return.
The net period return also pays the rebalance's costs, ``(1 - cost) (1 + R) - 1``; the
difference between the net and the gross active return is a ``costs`` effect, so
allocation + selection + interaction + costs of all periods, linked on net returns, sum
to the active return of the backtests' daily returns compounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.backtest.engine import BacktestResult
from broadening.backtest.prices import PriceData, growth_block

if TYPE_CHECKING:
    from broadening.market import Market

EFFECTS = ("allocation", "selection", "interaction")
LINKINGS = ("carino", "sum")
CASH = "cash"
NOT_HELD = "not_held"


@dataclass
class BrinsonAttribution:
    """Brinson-Fachler effects by period and group, and their linked totals.

    Attributes
    ----------
    allocation, selection, interaction : DataFrame, shape (P, G)
        Arithmetic effects per period (rows) and group (columns).
    portfolio_weight, benchmark_weight : DataFrame, shape (P, G)
    portfolio_return, benchmark_return : Series, shape (P,)
        Period returns used for linking (net of costs when costs were given).
    costs : Series, shape (P,)
        Net minus gross active return per period (zero without costs).
    linking : str
        ``"carino"`` or ``"sum"``.
    """

    allocation: pd.DataFrame
    selection: pd.DataFrame
    interaction: pd.DataFrame
    portfolio_weight: pd.DataFrame
    benchmark_weight: pd.DataFrame
    portfolio_return: pd.Series
    benchmark_return: pd.Series
    costs: pd.Series
    linking: str = "carino"

    def factors(self) -> np.ndarray:
        """Per-period linking factors, shape (P,) (``k_t / k`` for Carino, ones for sum)."""
        if self.linking == "sum":
            return np.ones(len(self.portfolio_return))
        return carino_factors(self.portfolio_return.to_numpy(), self.benchmark_return.to_numpy())

    @property
    def active_return(self) -> float:
        """What the linked effects add up to (compounded for Carino, summed for sum)."""
        rp, rb = self.portfolio_return.to_numpy(), self.benchmark_return.to_numpy()
        if self.linking == "sum":
            return float((rp - rb).sum())
        return float(np.prod(1.0 + rp) - np.prod(1.0 + rb))

    def by_group(self) -> pd.DataFrame:
        """Linked effects per group: columns ``allocation, selection, interaction, total,
        portfolio_weight, benchmark_weight`` (average weights over the periods)."""
        f = self.factors()[:, None]
        out = pd.DataFrame({e: (getattr(self, e).to_numpy() * f).sum(axis=0) for e in EFFECTS},
                           index=self.allocation.columns)
        out["total"] = out[list(EFFECTS)].sum(axis=1)
        out["portfolio_weight"] = self.portfolio_weight.mean(axis=0).to_numpy()
        out["benchmark_weight"] = self.benchmark_weight.mean(axis=0).to_numpy()
        out.index.name = "group"
        return out

    def totals(self) -> dict[str, float]:
        """Linked totals: the three effects, ``costs``, and the returns they explain."""
        f = self.factors()
        out = {e: float((getattr(self, e).to_numpy().sum(axis=1) * f).sum()) for e in EFFECTS}
        out["costs"] = float((self.costs.to_numpy() * f).sum())
        rp, rb = self.portfolio_return.to_numpy(), self.benchmark_return.to_numpy()
        compound = self.linking != "sum"
        out["portfolio_return"] = float(np.prod(1.0 + rp) - 1.0) if compound else float(rp.sum())
        out["benchmark_return"] = float(np.prod(1.0 + rb) - 1.0) if compound else float(rb.sum())
        out["active_return"] = self.active_return
        return out

    def to_json(self) -> dict[str, object]:
        """``{"linking", "periods", "totals": {...}, "groups": {group: {effect: value, ...}}}``."""
        g = self.by_group()
        return {
            "linking": self.linking,
            "periods": len(self.portfolio_return),
            "totals": self.totals(),
            "groups": {str(k): {c: float(v) for c, v in row.items()} for k, row in g.iterrows()},
        }


def carino_factors(rp: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Carino's ``k_t / k`` for period returns ``rp, rb`` (shape (P,)).

    ``k_t = ln((1 + rp_t) / (1 + rb_t)) / (rp_t - rb_t)``, or ``1 / (1 + rp_t)`` when they are
    equal; ``k`` the same on the compounded returns.
    """
    rp = np.asarray(rp, dtype="float64")  # pragma: no mutate (equivalent: 1.0 + rp below promotes to float anyway)
    rb = np.asarray(rb, dtype="float64")  # pragma: no mutate (equivalent: 1.0 + rb below promotes to float anyway)

    def k(p, b):
        d = p - b
        same = np.abs(d) < 1e-14  # pragma: no mutate (equivalent: at |d| = 1e-14 both branches agree to 1e-15)
        with np.errstate(divide="ignore", invalid="ignore"):  # pragma: no mutate (warnings only, for returns <= -1)
            return np.where(same, 1.0 / (1.0 + p), (np.log1p(p) - np.log1p(b)) / np.where(same, 1.0, d))  # pragma: no mutate (equivalent: the divisor 1.0 is masked out by the outer where)

    total = k(np.array([np.prod(1.0 + rp) - 1.0]), np.array([np.prod(1.0 + rb) - 1.0]))[0]
    return k(rp, rb) / total


def _frame(x, index, columns) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        return x.reindex(index=index, columns=columns).to_numpy(dtype="float64")
    return np.atleast_2d(np.asarray(x, dtype="float64"))


def brinson_fachler(
    wp: pd.DataFrame | np.ndarray,
    wb: pd.DataFrame | np.ndarray,
    rp: pd.DataFrame | np.ndarray,
    rb: pd.DataFrame | np.ndarray,
    *,
    linking: str = "carino",
    portfolio_net: Sequence[float] | np.ndarray | None = None,
    benchmark_net: Sequence[float] | np.ndarray | None = None,
) -> BrinsonAttribution:
    """Brinson-Fachler effects per period and group (see the module docstring).

    Parameters
    ----------
    wp, wb : DataFrame or ndarray, shape (P, G)
        Portfolio and benchmark weights per period (rows) and group (columns); each row
        sums to one (put cash in a group of its own). A DataFrame's index and columns label
        the result (the others are aligned to ``wp``); a 1-D array is one period.
    rp, rb : DataFrame or ndarray, shape (P, G)
        Group returns over each period; NaN is allowed where the side holds no weight.
    linking : {"carino", "sum"}
    portfolio_net, benchmark_net : array, shape (P,), optional
        Net period returns (after costs). Given, they are what the effects are linked to,
        and the net-minus-gross active return of each period is the ``costs`` effect.

    Returns
    -------
    BrinsonAttribution

    Raises
    ------
    ValueError
        Shapes differ, a weight row does not sum to one, a return is missing where the
        side holds weight, or an unknown linking.
    """
    if linking not in LINKINGS:
        raise ValueError(f"linking: expected one of {', '.join(LINKINGS)}, got {linking!r}")
    if isinstance(wp, pd.DataFrame):
        index, columns = wp.index, wp.columns
    else:
        shape = np.atleast_2d(np.asarray(wp)).shape
        index, columns = pd.RangeIndex(shape[0], name="period"), pd.Index([f"g{j}" for j in range(shape[1])], name="group")
    WP, WB, RP, RB = (_frame(x, index, columns) for x in (wp, wb, rp, rb))
    if not (WP.shape == WB.shape == RP.shape == RB.shape):
        raise ValueError(f"brinson_fachler: shapes differ {WP.shape}, {WB.shape}, {RP.shape}, {RB.shape}")
    WP, WB = np.nan_to_num(WP), np.nan_to_num(WB)
    for name, W in (("wp", WP), ("wb", WB)):
        sums = W.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > 1e-9):  # pragma: no mutate (equivalent >=: |sum - 1| is never exactly 1e-9)
            r = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(f"brinson_fachler: {name} sums to {sums[r]:.12f} in period {index[r]}, expected 1 "
                             "(give cash a group of its own)")
    for name, W, R in (("rp", WP, RP), ("rb", WB, RB)):
        if np.any((W != 0) & ~np.isfinite(R)):
            raise ValueError(f"brinson_fachler: {name} is missing where the weight is not zero")
    RP = np.where(WP != 0, RP, np.where(WB != 0, RB, 0.0))  # pragma: no mutate (equivalent: the 0.0 fill only meets zero weights)
    RB = np.where(WB != 0, RB, RP)
    Rb = (WB * RB).sum(axis=1, keepdims=True)
    active_w = WP - WB
    alloc = active_w * (RB - Rb)
    sel = WB * (RP - RB)
    inter = active_w * (RP - RB)
    gross_p = (WP * RP).sum(axis=1)
    gross_b = Rb[:, 0]
    net_p = gross_p if portfolio_net is None else np.asarray(portfolio_net, dtype="float64")  # pragma: no mutate (equivalent: only float arithmetic follows)
    net_b = gross_b if benchmark_net is None else np.asarray(benchmark_net, dtype="float64")  # pragma: no mutate (equivalent: only float arithmetic follows)
    costs = (net_p - net_b) - (gross_p - gross_b)

    def df(a):
        return pd.DataFrame(a, index=index, columns=columns)

    return BrinsonAttribution(
        allocation=df(alloc), selection=df(sel), interaction=df(inter),
        portfolio_weight=df(WP), benchmark_weight=df(WB),
        portfolio_return=pd.Series(net_p, index=index, name="portfolio"),
        benchmark_return=pd.Series(net_b, index=index, name="benchmark"),
        costs=pd.Series(costs, index=index, name="costs"), linking=linking,
    )


# -- from backtests -------------------------------------------------------------------------------
Exposure = Callable[[int], np.ndarray]


def backtest_brinson(
    portfolio: BacktestResult,
    benchmark: BacktestResult,
    data: Market | PriceData,
    groups: Sequence[str],
    exposure: Exposure,
    *,
    linking: str = "carino",
    period_returns: Sequence[tuple[np.ndarray, float]] | None = None,
) -> BrinsonAttribution:
    """Brinson-Fachler attribution of ``portfolio`` against ``benchmark`` over rebalance periods.

    Parameters
    ----------
    portfolio, benchmark : BacktestResult
        Backtests on the same data and the same rebalance positions.
    data : Market or PriceData
        The data both ran on.
    groups : sequence of str
        Group labels (``cash`` is added).
    exposure : callable
        ``exposure(r) -> ndarray (N, G)``: the share of each security in each group at
        rebalance ``r`` (rows summing to one: a partition, possibly fractional).
    period_returns : list of (ndarray (N,), float), optional
        :func:`held_period_returns` of the two backtests, when already computed.

    Returns
    -------
    BrinsonAttribution
        Periods indexed by rebalance date; groups ``[*groups, "cash"]``.
    """
    if not np.array_equal(portfolio.positions, benchmark.positions):
        raise ValueError("backtest_brinson: the two backtests rebalance on different dates")
    pdata = data if isinstance(data, PriceData) else PriceData.from_market(data)
    periods = period_returns if period_returns is not None else held_period_returns(portfolio, benchmark, pdata)
    pos = portfolio.positions
    R, G = len(pos), len(groups) + 1
    WP, WB, RP, RB = (np.zeros((R, G)) for _ in range(4))
    net = np.zeros((R, 2))  # pragma: no mutate (equivalent: a wider array leaves columns unread)
    paid = [portfolio.costs.to_numpy(dtype="float64"), benchmark.costs.to_numpy(dtype="float64")]  # pragma: no mutate (equivalent: the engine stores float costs)
    for r in range(R):
        x, x_cash = periods[r]
        E = np.asarray(exposure(r), dtype="float64")  # pragma: no mutate (equivalent: w @ E is float for any numeric E)
        for k, res in enumerate((portfolio, benchmark)):
            w = res.weights[r]
            gw = w @ E
            contrib = (w * x) @ E
            cash_w = 1.0 - float(w.sum())
            W, Rt = (WP, RP) if k == 0 else (WB, RB)
            W[r, :-1], W[r, -1] = gw, cash_w
            with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (warnings only: 0 / 0 is masked)
                Rt[r, :-1] = np.where(gw != 0, contrib / gw, np.nan)  # pragma: no mutate (equivalent None: a float array stores None as NaN)
            Rt[r, -1] = x_cash
            gross = float(contrib.sum()) + cash_w * x_cash
            net[r, k] = (1.0 - paid[k][r]) * (1.0 + gross) - 1.0
    index = pd.DatetimeIndex(portfolio.rebalance_dates, name="date")
    columns = pd.Index([*groups, CASH], name="group")
    return brinson_fachler(
        pd.DataFrame(WP, index=index, columns=columns), pd.DataFrame(WB, index=index, columns=columns),
        pd.DataFrame(RP, index=index, columns=columns), pd.DataFrame(RB, index=index, columns=columns),
        linking=linking, portfolio_net=net[:, 0], benchmark_net=net[:, 1],
    )


def held_period_returns(
    portfolio: BacktestResult, benchmark: BacktestResult, data: PriceData
) -> list[tuple[np.ndarray, float]]:
    """Per rebalance period, the return of every security either book holds (0 for the others)
    and of cash, from the rebalance close to the next (to the last date for the last period).

    As the engine grows positions: ``P[t1] / P[t0]`` for a name alive through the period,
    the cumulative daily growth (delisting return, then cash) for one that exits inside it
    or whose raw prices have gaps.
    """
    pos = portfolio.positions
    T = len(data.dates)
    cash_daily = portfolio.cash_daily if portfolio.cash_daily is not None else np.zeros(T)
    P = data.prices
    out = []
    for r in range(len(pos)):
        t0 = int(pos[r])
        t1 = int(pos[r + 1]) if r + 1 < len(pos) else T - 1
        x = np.zeros(len(data.ids))
        if t1 <= t0:  # pragma: no mutate (equivalent <: t1 == t0 only for a last rebalance on the last date)
            out.append((x, 0.0))
            continue  # pragma: no mutate (equivalent break: only the last period can be empty)
        cols = np.flatnonzero((portfolio.weights[r] != 0) | (benchmark.weights[r] != 0))
        special = np.isnan(np.take(P[t0 : t1 + 1], cols, axis=1)).any(axis=0)  # pragma: no mutate (widening the mask is equivalent: growth_block is exact for every name)
        special[data.closing(t0, t1, cols)[0]] = True  # exits inside the period
        clean = cols[~special]
        x[clean] = P[t1, clean] / P[t0, clean] - 1.0
        if special.any():
            x[cols[special]] = growth_block(data, cash_daily, t0, t1, cols[special])[-1] - 1.0
        out.append((x, float(np.prod(1.0 + cash_daily[t0 + 1 : t1 + 1]) - 1.0)))
    return out


def sector_exposure(sectors: Sequence[str] | np.ndarray) -> tuple[list[str], Exposure]:
    """Groups and exposure for a sector per security (one-hot).

    ``sectors`` is ``(N,)`` (fixed), or ``(R, N)``: the sector of each column on each
    rebalance row (a lane-packed column changes security, hence sector, over time).
    """
    s = np.asarray(sectors, dtype=str)
    labels, codes = np.unique(s, return_inverse=True)
    codes = codes.reshape(s.shape)  # pragma: no mutate (equivalent on numpy 2, whose inverse has the input shape; numpy 1.26 returns it flat)
    if s.ndim == 1:
        E = np.zeros((len(codes), len(labels)))
        E[np.arange(len(codes)), codes] = 1.0
        return [str(x) for x in labels], lambda r: E

    def exposure(r: int) -> np.ndarray:
        E = np.zeros((codes.shape[1], len(labels)))
        E[np.arange(codes.shape[1]), codes[r]] = 1.0
        return E

    return [str(x) for x in labels], exposure


def sleeve_exposure(sleeves: Mapping[str, np.ndarray], weights: np.ndarray) -> tuple[list[str], Exposure]:
    """Groups and exposure from a strategy's split of its weights by sleeve.

    A held name belongs to each sleeve in proportion to the sleeve's share of its weight at
    that rebalance (``sleeves[s][r, i] / weights[r, i]``); a name the strategy does not
    hold belongs to ``not_held`` (so the benchmark's weight outside the strategy shows as
    one group).

    Parameters
    ----------
    sleeves : mapping of str to ndarray, shape (R, N)
    weights : ndarray, shape (R, N)
        The strategy's weights (the sum of the sleeves).
    """
    names = list(sleeves)

    def exposure(r: int) -> np.ndarray:
        w = weights[r]
        E = np.zeros((len(w), len(names) + 1))
        held = w > 0
        for j, s in enumerate(names):
            E[held, j] = sleeves[s][r][held] / w[held]
        E[~held, -1] = 1.0
        return E

    return [*names, NOT_HELD], exposure


def brinson_frame(attributions: Mapping[str, BrinsonAttribution]) -> pd.DataFrame:
    """One long table of linked effects: ``by, group, allocation, selection, interaction, total,
    portfolio_weight, benchmark_weight``, plus a ``total`` row per grouping (with ``costs``)."""
    rows = []
    for by, att in attributions.items():
        g = att.by_group().reset_index()
        g.insert(0, "by", by)  # pragma: no mutate (equivalent: the columns are reordered below)
        g["costs"] = 0.0
        rows.append(g)
        tot = att.totals()
        rows.append(pd.DataFrame([{
            "by": by, "group": "total", **{e: tot[e] for e in EFFECTS},
            "total": tot["active_return"], "portfolio_weight": 1.0, "benchmark_weight": 1.0, "costs": tot["costs"],
        }]))
    cols = ["by", "group", *EFFECTS, "costs", "total", "portfolio_weight", "benchmark_weight"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


def active_attribution(
    portfolio: BacktestResult,
    benchmark: BacktestResult,
    data: Market | PriceData,
    sectors: Sequence[str] | np.ndarray,
    sleeves: Mapping[str, np.ndarray],
    *,
    linking: str = "carino",
) -> dict[str, BrinsonAttribution]:
    """Brinson-Fachler attribution of a strategy against its benchmark, by sector and by sleeve.

    Parameters
    ----------
    portfolio, benchmark : BacktestResult
        Run on the same data and rebalance dates (e.g. the playbook and cap weight).
    data : Market or PriceData
    sectors : sequence of str, shape (N,) or (R, N)
        Sector of each security (on each rebalance row).
    sleeves : mapping of str to ndarray, shape (R, N)
        The portfolio's weights split by sleeve (see :func:`sleeve_exposure`).

    Returns
    -------
    dict
        ``{"sector": BrinsonAttribution, "sleeve": BrinsonAttribution}``.
    """
    pdata = data if isinstance(data, PriceData) else PriceData.from_market(data)
    periods = held_period_returns(portfolio, benchmark, pdata)  # pragma: no mutate (equivalent: shared to save work; None recomputes the same)
    return {
        "sector": backtest_brinson(portfolio, benchmark, pdata, *sector_exposure(sectors), linking=linking,
                                   period_returns=periods),  # pragma: no mutate (equivalent: None recomputes the same)
        "sleeve": backtest_brinson(portfolio, benchmark, pdata, *sleeve_exposure(sleeves, portfolio.weights),
                                   linking=linking, period_returns=periods),  # pragma: no mutate (equivalent: None recomputes the same)
    }

"""Benchmark variants backtested block by block: the sweep path for panels that do not fit.

A variant here is the index without its ``k`` largest names, cap- or equally weighted and
rebalanced on a schedule: :func:`broadening.playbook.strategies.ex_top_k` run through the
one engine (:class:`~broadening.backtest.engine.Simulation`). On a block export it runs in
two passes over the blocks, three with costs (:func:`broadening.market_blocks.map_blocks`),
each task reading one block and returning per-rebalance or per-day vectors:

1. **Thresholds, reduced first.** Each block returns the ``kmax`` largest member caps on
   every rebalance date; merged, they give each date's k-th largest cap of the whole
   index, for every ``k`` of the grid (a name is top-k when its cap reaches it, ties
   included, as :func:`~broadening.baskets.topk_mask` picks them).
2. **P&L contributions, summed.** With the thresholds, each block knows which of its names
   each variant holds and their raw weight (cap, or 1), and returns per rebalance period
   the raw weights' sum and the path ``sum_i raw_i * growth_i(t)`` of their value
   (:func:`~broadening.backtest.prices.growth_block`: total return, the delisting return
   the day after a last price, then cash). A portfolio's value over a period is the sum
   of its names' values, so the whole book's path is the blocks' paths summed over the
   summed raw weights, chained from one rebalance to the next.
3. **Costs** (only when asked), a third pass. The engine solves each rebalance's post-cost
   value over every name at once (``backtest.costs.post_cost_value``); the inputs of that
   equation do not depend on the costs, so once pass 2 is reduced each block can return,
   per rebalance, four sums over its names whose trade direction is sure and the few
   others one by one (:func:`block_costs`), and the reduce solves the same equation exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from broadening.backtest.costs import CostModel, cost_model, post_cost_value
from broadening.backtest.prices import PriceData, cash_returns, growth_block
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError
from broadening.market_blocks import BlockMarket, block_window, load_block, map_blocks, read_blocks

__all__ = ["ExTopK", "block_costs", "block_paths", "block_top_caps", "blockwise_ex_top_k"]

WEIGHTINGS = ("cap", "equal")


@dataclass(frozen=True)
class ExTopK:
    """One variant: the index ex its ``k`` largest names, ``weighting`` ``"cap"`` or ``"equal"``."""

    k: int
    weighting: str = "cap"

    @property
    def name(self) -> str:
        return f"{self.weighting}_weight_ex_top{self.k}"


def _on_rebalances(bm: BlockMarket, index_id: str, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rebalance dates inside the block, its members (with a price) and caps on them."""
    local = positions - bm.offset
    inside = local >= 0  # earlier dates hold none of the block's names
    rows = local[inside]
    m = bm.market
    return inside, bm.members(index_id)[rows] & m.alive[rows], m.market_cap[rows]


def block_top_caps(directory: str, block: int, index_id: str, positions: np.ndarray, kmax: int,
                   asof: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1 of one block: its ``kmax`` largest member caps on each rebalance date.

    Returns
    -------
    top : ndarray, shape (R, kmax)
        Descending, ``-inf`` padded.
    count : ndarray, shape (R,)
        Members with a finite cap.
    """
    R = len(positions)
    top, count = np.full((R, kmax), -np.inf), np.zeros(R)
    bm = load_block(directory, block, asof)
    if bm is None:
        return top, count
    inside, mem, cap = _on_rebalances(bm, index_id, positions)
    ok = mem & np.isfinite(cap)
    v = np.where(ok, cap, -np.inf)
    B = v.shape[1]
    got = -np.sort(-(np.partition(v, B - kmax, axis=1)[:, B - kmax:] if kmax < B else v), axis=1)
    top[inside, : got.shape[1]] = got
    count[inside] = ok.sum(axis=1)
    return top, count


def _thresholds(parts: Sequence[tuple[np.ndarray, np.ndarray]], ks: Sequence[int]) -> np.ndarray:
    """Each rebalance date's k-th largest member cap of the whole index, ``(R, len(ks))``
    (``-inf`` where fewer than k members have a cap: they are all top-k)."""
    kmax = max(ks)
    top = np.concatenate([p[0] for p in parts], axis=1)
    n = top.shape[1]
    top = -np.sort(-np.partition(top, n - kmax, axis=1)[:, n - kmax:], axis=1) if kmax < n else -np.sort(-top, axis=1)
    count = np.sum([p[1] for p in parts], axis=0)
    return np.stack([np.where(count >= k, top[:, k - 1], -np.inf) for k in ks], axis=1)


def _raw(mem: np.ndarray, cap: np.ndarray, fin: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Raw weights of one rebalance date's members, ``(2K, B)``: per ``k`` the cap, then 1,
    on the members DropTopK keeps (cap weights only where a cap is known, as WeighByCap)."""
    raw = np.empty((2 * len(thresholds), mem.shape[0]))
    for j, thr in enumerate(thresholds):
        keep = mem & ~(fin & (cap >= thr))
        raw[2 * j] = np.where(keep & fin & (cap > 0), cap, 0.0)
        raw[2 * j + 1] = keep
    return raw


def block_paths(directory: str, block: int, index_id: str, positions: np.ndarray, thresholds: np.ndarray,
                cash_rate: float, asof: str | None, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 of one block: raw weight sums and value paths of every variant's names here.

    Parameters
    ----------
    thresholds : ndarray, shape (R, K)
        From pass 1, one column per ``k``.
    T : int
        Rows of the whole market's panels.

    Returns
    -------
    sums : ndarray, shape (2K, R)
        Per ``k`` (rows ``2j``, ``2j + 1``): the held names' caps summed, and their count.
    paths : ndarray, shape (2K, T - positions[0])
        Per ``k``: ``sum_i raw_i * growth_i(t)`` with ``raw`` the cap, and with ``raw = 1``,
        at each date ``t`` of each period ``(t0, t1]`` (growth from the close of ``t0``).
    """
    R, K = thresholds.shape
    s = int(positions[0])
    sums, paths = np.zeros((2 * K, R)), np.zeros((2 * K, T - s))
    bm = load_block(directory, block, asof)
    if bm is None:
        return sums, paths
    inside, mem, cap = _on_rebalances(bm, index_id, positions)
    data = PriceData.from_market(bm.market)
    cash_daily = cash_returns(cash_rate, bm.market.dates)
    fin = np.isfinite(cap)
    for i, r in enumerate(np.flatnonzero(inside)):
        t0 = int(positions[r])
        t1 = int(positions[r + 1]) if r + 1 < R else T - 1
        raw = _raw(mem[i], cap[i], fin[i], thresholds[r])
        sums[:, r] = raw.sum(axis=1)
        held = np.flatnonzero(raw.any(axis=0))
        if t1 > t0 and held.size:
            g = growth_block(data, cash_daily, t0 - bm.offset, t1 - bm.offset, held)
            paths[:, t0 + 1 - s : t1 + 1 - s] = raw[:, held] @ g.T
    return sums, paths


def block_costs(directory: str, block: int, index_id: str, positions: np.ndarray, thresholds: np.ndarray,
                cash_rate: float, asof: str | None, T: int, model: CostModel, pick: np.ndarray, total: np.ndarray,
                end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 3 of one block: what the post-cost value of every rebalance needs from its names.

    The engine solves ``x = 1 - sum_i c_i |a_i x - b_i|`` per rebalance (``x``: post-cost over
    pre-trade value; ``a_i``: target weight; ``b_i``: the name's drifted value over the
    pre-trade value, 0 once it delisted, its proceeds being swept into cash without cost).
    ``x`` lies in ``[1 - 2 max c, 1]``, so a name whose break point ``b_i / a_i`` is outside
    that interval trades with a known sign and enters only through four sums; the others
    are returned one by one.

    Parameters
    ----------
    model : CostModel
    pick : ndarray of int, shape (V, R)
        Per variant and rebalance, the row of :func:`_raw`'s output it holds (cap, or the
        equal-weight fallback).
    total, end : ndarray, shape (V, R)
        The held raw weights' sum over the whole market, and the summed value path at the
        period's end (pass 2, reduced).

    Returns
    -------
    sums : ndarray, shape (V, R, 4)
        ``sum c a`` and ``sum c b`` over names bought for sure, then over names sold for sure.
    which : ndarray of int, shape (M, 2)
        (variant, rebalance) of each name returned one by one.
    abc : ndarray, shape (M, 3)
        Its ``a``, ``b`` and ``c``.
    """
    V, R = pick.shape
    sums = np.zeros((V, R, 4))
    # x >= 1 - 2 max c over the whole market (sum c|a x - b| <= max c (x sum a + sum b)): the
    # model's largest rate, not this block's, bounds it
    cmax = (model.bps + (model.max_spread_bps if model.spread_bps > 0 else 0.0)) / 1e4
    lo, hi = 1.0 - 2.0 * cmax - 1e-9, 1.0 + 1e-9
    which, abc = [np.empty((0, 2), dtype=np.int64)], [np.empty((0, 3))]
    bm = load_block(directory, block, asof)
    if bm is None:
        return sums, which[0], abc[0]
    inside, mem, cap = _on_rebalances(bm, index_id, positions)
    data = PriceData.from_market(bm.market)
    cash_daily = cash_returns(cash_rate, bm.market.dates)
    fin = np.isfinite(cap)
    B = mem.shape[1]
    prev = None  # the previous period's held values at its end, per variant (V, B)
    for i, r in enumerate(np.flatnonzero(inside)):
        t0 = int(positions[r])
        t1 = int(positions[r + 1]) if r + 1 < R else T - 1
        raw = _raw(mem[i], cap[i], fin[i], thresholds[r])
        chosen = raw[pick[:, r]]  # (V, B)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(total[:, r, None] > 0, chosen / np.where(total[:, r, None] > 0, total[:, r, None], 1.0), 0.0)
        b = np.zeros((V, B)) if prev is None or r == 0 or not inside[r - 1] else prev
        c = np.broadcast_to(np.asarray(model.rates(cap[i] if model.spread_bps > 0 else None), dtype="float64"), (B,))
        with np.errstate(invalid="ignore", divide="ignore"):
            brk = np.where(a > 0, b / np.where(a > 0, a, 1.0), np.inf)
        live = (a > 0) | (b > 0)
        buy, sell = live & (brk < lo), live & (brk > hi)
        sums[:, r, 0], sums[:, r, 1] = (np.where(buy, c * a, 0.0).sum(axis=1), np.where(buy, c * b, 0.0).sum(axis=1))
        sums[:, r, 2], sums[:, r, 3] = (np.where(sell, c * a, 0.0).sum(axis=1), np.where(sell, c * b, 0.0).sum(axis=1))
        v_at, n_at = np.nonzero(live & ~buy & ~sell)
        which.append(np.column_stack([v_at, np.full(len(v_at), r)]))
        abc.append(np.column_stack([a[v_at, n_at], b[v_at, n_at], c[n_at]]))
        # the drifted values at the next rebalance, over the book's value there
        prev = np.zeros((V, B))
        held = np.flatnonzero(chosen.any(axis=0))
        if t1 > t0 and held.size:
            g_end = growth_block(data, cash_daily, t0 - bm.offset, t1 - bm.offset, held)[-1].copy()
            g_end[data.closing(t0 - bm.offset, t1 - bm.offset, held)[0]] = 0.0  # closed: swept into cash
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = np.where((total[:, r] > 0) & (end[:, r] > 0), 1.0 / np.where(end[:, r] > 0, end[:, r], 1.0), 0.0)
            prev[:, held] = chosen[:, held] * g_end[None, :] * scale[:, None]
    return sums, np.concatenate(which), np.concatenate(abc)


def _post_cost_ratios(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], V: int, R: int) -> np.ndarray:
    """Each variant's post-cost over pre-trade value per rebalance, ``(V, R)``, solved exactly
    on the blocks' summaries (the sure-sign names as two names of rate 1)."""
    sums = np.sum([p[0] for p in parts], axis=0)
    which = np.concatenate([p[1] for p in parts])
    abc = np.concatenate([p[2] for p in parts])
    x = np.ones((V, R))
    order = np.lexsort((which[:, 1], which[:, 0])) if len(which) else np.empty(0, dtype=np.int64)
    which, abc = which[order], abc[order]
    key = which[:, 0] * R + which[:, 1] if len(which) else np.empty(0, dtype=np.int64)
    for v in range(V):
        for r in range(R):
            lo, hi = np.searchsorted(key, v * R + r), np.searchsorted(key, v * R + r, side="right")
            e = abc[lo:hi]
            s = sums[v, r]
            w = np.concatenate([e[:, 0], [s[0], s[2]]])
            h = np.concatenate([e[:, 1], [s[1], s[3]]])
            c = np.concatenate([e[:, 2], [1.0, 1.0]])
            x[v, r] = post_cost_value(1.0, w, h, c)
    return x


def _chain(positions: np.ndarray, T: int, total: np.ndarray, path: np.ndarray, cash_daily: np.ndarray,
           after_costs: np.ndarray | None = None) -> np.ndarray:
    """The book's value from the first rebalance on: each period's path over its raw weight
    total, times the value at its start (all cash, earning ``cash_daily``, when nothing is held),
    that value first scaled by ``after_costs`` (post-cost over pre-trade value) when given."""
    s = int(positions[0])
    value = np.empty(T - s)
    V = 1.0
    R = len(positions)
    for r in range(R):
        t0 = int(positions[r])
        t1 = int(positions[r + 1]) if r + 1 < R else T - 1
        if after_costs is not None:
            V *= float(after_costs[r])
        value[t0 - s] = V
        if t1 <= t0:
            continue
        seg = slice(t0 + 1 - s, t1 + 1 - s)
        if total[r] > 0:
            value[seg] = V * (path[seg] / total[r])
        else:
            value[seg] = V * np.cumprod(1.0 + cash_daily[t0 + 1 : t1 + 1])
        V = float(value[t1 - s])
    return value


def blockwise_ex_top_k(
    directory,
    variants: Sequence[ExTopK],
    *,
    index_id: str = "sp500",
    schedule: str = "monthly",
    start: str | pd.Timestamp | None = None,
    cash_rate: float = 0.0,
    costs: CostModel | bool | float = False,
    asof: str | pd.Timestamp | None = None,
    client=None,
) -> pd.DataFrame:
    """Daily returns of ex-top-k benchmark variants, computed block by block (see module docstring).

    Parameters
    ----------
    directory : str or Path
        A block export (``broadening export DIR --blocks``).
    variants : sequence of ExTopK
    index_id : str, default "sp500"
    schedule : str, default "monthly"
        As for :func:`~broadening.backtest.schedule.rebalance_positions`.
    start : date, optional
        First rebalance on or after it.
    cash_rate : float, default 0
        Annual rate earned by cash (a delisted name's proceeds, an empty book).
    costs : CostModel, bool or float, default False
        As for the engine (True: 10 bps; a float: bps; a :class:`CostModel`, with its
        size-dependent spread). With costs, a third pass over the blocks (:func:`block_costs`).
    asof : date, optional
    client : distributed.Client, optional
        Run one task per block and pass on its workers.

    Returns
    -------
    DataFrame
        Indexed by date from the first rebalance, one column per variant (``name``): what
        the engine gives for ``ex_top_k(index_id, k, weighting)`` with the same costs.
    """
    variants = list(variants)
    if not variants:
        raise BroadeningError("blockwise_ex_top_k: no variants")
    for v in variants:
        if v.weighting not in WEIGHTINGS or int(v.k) < 1:
            raise BroadeningError(f"variant {v}: expected k >= 1 and weighting 'cap' or 'equal'")
    export = read_blocks(directory)
    calendar, T = block_window(export, asof)
    dates = calendar[:T]
    try:
        positions = rebalance_positions(dates, schedule, start=start)
    except ValueError as exc:
        raise BroadeningError(f"blockwise_ex_top_k: {exc}") from None
    asof_s = str(dates[-1])
    ks = sorted({int(v.k) for v in variants})
    tops = map_blocks(block_top_caps, directory, index_id, positions, max(ks), asof_s, client=client)
    thresholds = _thresholds(tops, ks)
    parts = map_blocks(block_paths, directory, index_id, positions, thresholds, cash_rate, asof_s, T, client=client)
    sums = np.sum([p[0] for p in parts], axis=0)
    paths = np.sum([p[1] for p in parts], axis=0)
    cash_daily = cash_returns(cash_rate, dates)
    s = int(positions[0])
    R = len(positions)
    picks, totals, book = [], [], []
    for v in variants:
        j = ks.index(int(v.k))
        pick = np.full(R, 2 * j + 1)
        if v.weighting == "cap":
            # no cap on a date with members: equal weight, as WeighByCap does
            pick = np.where((sums[2 * j] <= 0) & (sums[2 * j + 1] > 0), 2 * j + 1, 2 * j)
        picks.append(pick)
        totals.append(sums[pick, np.arange(R)])
        book.append(_per_period(positions, T, pick == 2 * j + 1, paths[2 * j + 1], paths[2 * j]))
    ratios = [None] * len(variants)
    model = cost_model(costs)
    if not model.is_zero:
        ends = np.array([[p[int(positions[r + 1]) - s] if r + 1 < R else p[T - 1 - s] for r in range(R)] for p in book])
        pick, total = np.array(picks), np.array(totals)
        got = map_blocks(block_costs, directory, index_id, positions, thresholds, cash_rate, asof_s, T, model, pick,
                         total, ends, client=client)
        ratios = list(_post_cost_ratios(got, len(variants), R))
    index = pd.DatetimeIndex(dates[s:].astype("datetime64[ns]"), name="date")
    out = {}
    for v, total, path, after in zip(variants, totals, book, ratios, strict=True):
        value = _chain(positions, T, total, path, cash_daily, after)
        prev = np.concatenate([[1.0], value[:-1]])
        out[v.name] = value / prev - 1.0
    return pd.DataFrame(out, index=index)


def _per_period(positions: np.ndarray, T: int, pick: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Path ``a`` over the periods where ``pick``, else ``b``."""
    s = int(positions[0])
    out = b.copy()
    for r in np.flatnonzero(pick):
        t1 = int(positions[r + 1]) if r + 1 < len(positions) else T - 1
        out[int(positions[r]) + 1 - s : t1 + 1 - s] = a[int(positions[r]) + 1 - s : t1 + 1 - s]
    return out

"""Benchmark variants backtested block by block: the sweep path for panels that do not fit.

A variant here is the index without its ``k`` largest names, cap- or equally weighted and
rebalanced on a schedule: :func:`broadening.playbook.strategies.ex_top_k` run through the
one engine (:class:`~broadening.backtest.engine.Simulation`) without costs. On a block
export it runs in two passes over the blocks (:func:`broadening.market_blocks.map_blocks`),
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

Costs are not block-wise yet: the engine solves the post-cost value of each rebalance over
every name at once (``docs/scale.md`` says how it would be split); these variants run
without costs, and the test checks them against the engine run the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from broadening.backtest.prices import PriceData, cash_returns, growth_block
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError
from broadening.market_blocks import BlockMarket, block_window, load_block, map_blocks, read_blocks

__all__ = ["ExTopK", "block_paths", "block_top_caps", "blockwise_ex_top_k"]

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
        raw = np.empty((2 * K, mem.shape[1]))
        for j in range(K):
            # ex top-k: the members DropTopK keeps; cap weights only where a cap is known (WeighByCap)
            keep = mem[i] & ~(fin[i] & (cap[i] >= thresholds[r, j]))
            raw[2 * j] = np.where(keep & fin[i] & (cap[i] > 0), cap[i], 0.0)
            raw[2 * j + 1] = keep
        sums[:, r] = raw.sum(axis=1)
        held = np.flatnonzero(raw.any(axis=0))
        if t1 > t0 and held.size:
            g = growth_block(data, cash_daily, t0 - bm.offset, t1 - bm.offset, held)
            paths[:, t0 + 1 - s : t1 + 1 - s] = raw[:, held] @ g.T
    return sums, paths


def _chain(positions: np.ndarray, T: int, total: np.ndarray, path: np.ndarray, cash_daily: np.ndarray) -> np.ndarray:
    """The book's value from the first rebalance on: each period's path over its raw weight
    total, times the value at its start (all cash, earning ``cash_daily``, when nothing is held)."""
    s = int(positions[0])
    value = np.empty(T - s)
    V = 1.0
    R = len(positions)
    for r in range(R):
        t0 = int(positions[r])
        t1 = int(positions[r + 1]) if r + 1 < R else T - 1
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
    asof : date, optional
    client : distributed.Client, optional
        Run one task per block and pass on its workers.

    Returns
    -------
    DataFrame
        Indexed by date from the first rebalance, one column per variant (``name``): what
        the engine gives for ``ex_top_k(index_id, k, weighting)`` without costs.
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
    index = pd.DatetimeIndex(dates[s:].astype("datetime64[ns]"), name="date")
    out = {}
    for v in variants:
        j = ks.index(int(v.k))
        total, path = sums[2 * j + 1], paths[2 * j + 1]
        if v.weighting == "cap":
            # no cap on a date with members: equal weight, as WeighByCap does
            eq = (sums[2 * j] <= 0) & (sums[2 * j + 1] > 0)
            total = np.where(eq, total, sums[2 * j])
            path = _per_period(positions, T, eq, paths[2 * j + 1], paths[2 * j])
        value = _chain(positions, T, total, path, cash_daily)
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

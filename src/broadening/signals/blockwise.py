"""The index signals computed block by block: a pass that never holds the whole panel.

For a market whose panels do not fit one worker, each task builds one security block's
panels from a block export (:func:`broadening.market_blocks.load_block`), reduces them to
small per-day partial sums, and returns those; :func:`reduce_partials` adds the partials
of every block and takes the ratios. Each partial is a sum over securities, so the result
is exact (the order of additions differs from the in-memory pass, by rounding only):

================================  ========================================================
C1 top-k share, HHI               per day: the block's ``kmax`` largest member caps, the sum
                                  of member caps and of their squares; merged top-k caps
                                  over the total cap (:func:`~broadening.signals.concentration.concentration`)
cap-weighted index return         sums of ``cap[t-1] * r[t]`` and ``cap[t-1]`` over members
                                  of ``t - 1`` with both known (:func:`~broadening.signals.concentration.index_returns`)
equal-weighted index return       sums of ``r[t]`` and counts over the same members
                                  (:func:`~broadening.baskets.basket_returns`, ``"equal"``)
above-MA breadth, advancers,      counts of members above their moving average (and of
decliners                         members with one), up and down on the day
                                  (:func:`~broadening.signals.breadth.breadth`)
================================  ========================================================

The per-block sums use the same building blocks as the in-memory signals
(:func:`~broadening.baskets.masked_row_sums`, :func:`~broadening.baskets.lagged`,
:func:`~broadening.panel.window_sum_blocks`, the market's own panels); ``tests/signals``
checks every column against them. The signals that need a whole cross-section at once (the
fewest names making half the index's return, the crowding statistics built on per-name
contributions) are not block-wise; ``docs/scale.md`` says how they would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from broadening.baskets import config_or_default, lagged, masked_row_sums
from broadening.config import Config
from broadening.market_blocks import block_window, load_block, map_blocks, read_blocks
from broadening.panel import window_sum_blocks
from broadening.signals.history import window_return

__all__ = ["BlockPartials", "block_beats", "block_partials", "blockwise_signals", "reduce_partials"]

#: The additive per-day sums of one block, in the order of :attr:`BlockPartials.sums`' columns.
SUMS = ("cap_total", "cap_sq", "cap_num", "cap_den", "eq_num", "eq_count", "above", "above_base",
        "advancers", "decliners", "members")


@dataclass
class BlockPartials:
    """What one block's task returns: per-day sums over its securities (small: no ``(T, N)`` panel).

    Attributes
    ----------
    block : int
    offset : int
        Row of the whole calendar where ``sums`` and ``top`` start.
    sums : ndarray, shape (T_block, len(SUMS))
        The additive sums named by :data:`SUMS`.
    top : ndarray, shape (T_block, kmax)
        The block's largest member caps per day, descending (0 padded).
    """

    block: int
    offset: int
    sums: np.ndarray
    top: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.sums.nbytes + self.top.nbytes)


def _members_of_block(directory: str, block: int, cfg: Config, asof):
    """One block's market and its large-index membership mask (None: no price by ``asof``)."""
    bm = load_block(directory, block, asof)
    if bm is None:
        return None
    return bm, bm.members(cfg.universe.large_index)


def _kmax(cfg: Config) -> int:
    return max(max(cfg.universe.k_report), cfg.universe.k)


def block_partials(directory: str, block: int, cfg: Config | None = None,
                   asof: str | pd.Timestamp | None = None) -> BlockPartials | None:
    """The per-day partial sums of one block (one task of :func:`blockwise_signals`).

    Parameters
    ----------
    directory : str
        A block export.
    block : int
    cfg : Config, optional
        Classification config (large index, k, moving average).
    asof : date, optional

    Returns
    -------
    BlockPartials, or None when the block has no price on or before ``asof``.
    """
    cfg = config_or_default(cfg)
    loaded = _members_of_block(directory, block, cfg, asof)
    if loaded is None:
        return None
    bm, mem = loaded
    m = bm.market
    T, B = m.shape
    kmax = _kmax(cfg)
    sums = np.zeros((T, len(SUMS)))
    col = {n: i for i, n in enumerate(SUMS)}
    # C1: member caps (a member without a finite cap weighs nothing, as in index_weights)
    cap = m.market_cap
    caps = np.where(mem & np.isfinite(cap), cap, 0.0)
    sums[:, col["cap_total"]] = caps.sum(axis=1)
    sums[:, col["cap_sq"]] = np.einsum("ij,ij->i", caps, caps)
    top = np.zeros((T, kmax))
    got = -np.sort(-(np.partition(caps, B - kmax, axis=1)[:, B - kmax:] if kmax < B else caps), axis=1)
    top[:, : got.shape[1]] = got
    # index returns: day t earns with the members and caps of t - 1 (as basket_returns)
    held, ret = lagged(mem, 1), m.returns
    cap_prev, close_prev = lagged(cap, 1), lagged(m.close, 1)
    with np.errstate(invalid="ignore"):
        num, den, _ = masked_row_sums(held & (cap_prev > 0), cap_prev * ret, cap_prev)
        eq_num, _, eq_n = masked_row_sums(held & (close_prev > 0), ret, close_prev)
    sums[:, col["cap_num"]], sums[:, col["cap_den"]] = num, den
    sums[:, col["eq_num"]], sums[:, col["eq_count"]] = eq_num, eq_n
    # breadth: members above their moving average (a full window of prices), up, down
    ma_len = int(cfg.signals.moving_average)
    cols = np.flatnonzero(mem.any(axis=0))
    for rows, ma, ma_n in window_sum_blocks(m.total_return_index, ma_len, cols):
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(ma, ma_n, out=ma)
        ma[ma_n < ma_len - 0.5] = np.nan
        ok = mem[rows, cols] & np.isfinite(ma)
        with np.errstate(invalid="ignore"):
            sums[rows, col["above"]] = (ok & (m.total_return_index[rows, cols] > ma)).sum(axis=1)
        sums[rows, col["above_base"]] = ok.sum(axis=1)
    with np.errstate(invalid="ignore"):
        sums[:, col["advancers"]] = (mem & (ret > 0)).sum(axis=1)
        sums[:, col["decliners"]] = (mem & (ret < 0)).sum(axis=1)
    sums[:, col["members"]] = mem.sum(axis=1)
    return BlockPartials(block=block, offset=bm.offset, sums=sums, top=top)


def reduce_partials(partials: list[BlockPartials | None], dates: np.ndarray, cfg: Config | None = None) -> pd.DataFrame:
    """Add the blocks' partial sums and take the ratios: the signals of the whole market.

    Parameters
    ----------
    partials : list of BlockPartials or None
        One per block (None for a block with no price in the window).
    dates : ndarray of datetime64[D], shape (T,)
        The whole market's calendar up to the as-of date.
    cfg : Config, optional

    Returns
    -------
    DataFrame indexed by date
        ``top{k}_share`` (each reported k and the configured k), ``hhi``, ``effective_n``
        (as :func:`~broadening.signals.concentration.concentration`), ``index_return``
        (:func:`~broadening.signals.concentration.index_returns`), ``equal_weight_return``,
        ``above_ma_share``, ``advancers``, ``decliners`` (as
        :func:`~broadening.signals.breadth.breadth`) and ``members``.
    """
    cfg = config_or_default(cfg)
    T, kmax = len(dates), _kmax(cfg)
    sums = np.zeros((T, len(SUMS)))
    top = np.zeros((T, kmax))
    for p in partials:
        if p is None:
            continue
        rows = slice(p.offset, p.offset + p.sums.shape[0])
        sums[rows] += p.sums
        both = np.concatenate([top[rows], p.top], axis=1)
        top[rows] = -np.sort(-np.partition(both, both.shape[1] - kmax, axis=1)[:, -kmax:], axis=1)
    s = {n: sums[:, i] for i, n in enumerate(SUMS)}
    total = s["cap_total"]
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in sorted(set(cfg.universe.k_report) | {cfg.universe.k}):
            out[f"top{k}_share"] = np.where(total > 0, top[:, :k].sum(axis=1) / total, np.nan)
        hhi = np.where(total > 0, s["cap_sq"] / (total * total), np.nan)
        out["hhi"] = np.where(hhi > 0, hhi, np.nan)
        out["effective_n"] = 1.0 / out["hhi"]
        out["index_return"] = np.where(s["cap_den"] > 0, s["cap_num"] / s["cap_den"], np.nan)
        out["equal_weight_return"] = np.where(s["eq_count"] > 0, s["eq_num"] / s["eq_count"], np.nan)
        out["above_ma_share"] = np.where(s["above_base"] > 0, s["above"] / s["above_base"], np.nan)
    out["advancers"], out["decliners"], out["members"] = s["advancers"], s["decliners"], s["members"]
    index = pd.DatetimeIndex(dates.astype("datetime64[ns]"), name="date")
    return pd.DataFrame(out, index=index)


def block_beats(directory: str, block: int, cfg: Config | None, asof: str | pd.Timestamp | None,
                index_window_return: np.ndarray) -> tuple[int, np.ndarray] | None:
    """Pass 2 of one block: members beating the index over the breadth window, per day.

    Parameters
    ----------
    index_window_return : ndarray, shape (T,)
        The whole index's trailing-window return (from pass 1), on the whole calendar.

    Returns
    -------
    (offset, counts) with counts ``(T_block, 2)``: members whose window return beats the
    index's, and members with a window return; None for a block with no price.
    """
    cfg = config_or_default(cfg)
    loaded = _members_of_block(directory, block, cfg, asof)
    if loaded is None:
        return None
    bm, mem = loaded
    m = bm.market
    window = int(cfg.signals.breadth_window)
    T = m.shape[0]
    counts = np.zeros((T, 2))
    if T > window:  # rows with a price ``window`` days earlier in the block (none before it)
        tri = m.total_return_index
        with np.errstate(invalid="ignore", divide="ignore"):
            stock = tri[window:] / tri[:-window] - 1.0
            base = mem[window:] & np.isfinite(stock)
            idx = index_window_return[bm.offset + window: bm.offset + T, None]
            counts[window:, 0] = (base & (stock > idx)).sum(axis=1)
        counts[window:, 1] = base.sum(axis=1)
    return bm.offset, counts


def blockwise_signals(directory: str | Path, cfg: Config | None = None, *,
                      asof: str | pd.Timestamp | None = None, beat_share: bool = False,
                      client=None) -> pd.DataFrame:
    """The block-wise index signals of a block export (see module docstring).

    Parameters
    ----------
    directory : str or Path
        Written by ``broadening export DIR --blocks``.
    cfg : Config, optional
    asof : date, optional
        Default: the last date of the export.
    beat_share : bool, default False
        Also the share of members beating the index over the breadth window (as
        :func:`~broadening.signals.breadth.breadth`): a second pass over the blocks, with the
        index's window return from the first as its one shared vector.
    client : distributed.Client, optional
        Run one task per block on this client's workers (default: serially, in this process).

    Returns
    -------
    DataFrame
        See :func:`reduce_partials`; with ``beat_share`` also ``beat_share``.

    Raises
    ------
    BlockError
        Naming the block (and file) that failed.
    ConfigError
        The configured large index is not among the stored ones.
    """
    cfg = config_or_default(cfg)
    export = read_blocks(directory)
    cfg.check_large_index(export.indexes)
    calendar, rows = block_window(export, asof)
    partials = map_blocks(block_partials, directory, cfg, asof, client=client)
    out = reduce_partials(partials, calendar[:rows], cfg)
    if beat_share:
        idx = window_return(out["index_return"].to_numpy(), int(cfg.signals.breadth_window))
        counts = np.zeros((rows, 2))
        for got in map_blocks(block_beats, directory, cfg, asof, idx, client=client):
            if got is not None:
                counts[got[0]: got[0] + got[1].shape[0]] += got[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            beat = np.where(counts[:, 1] > 0, counts[:, 0] / counts[:, 1], np.nan)
        out["beat_share"] = np.where(np.isfinite(idx), beat, np.nan)
    return out

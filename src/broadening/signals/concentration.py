"""C1 concentration and C10 crowding of the cap-weighted large-cap index.

C1: top-k weight share (k = 5, 10, 20), Herfindahl index (HHI) and effective number of
stocks (1 / HHI) of the large index each day.

C10: how much of the index's return the top-k explain, and how that share moves when the
index falls. Day ``t``'s index return is decomposed exactly into the contribution of the
names that were top-k at ``t - 1`` and of the rest (weights of ``t - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from broadening.baskets import cached_panel, config_or_default, index_members, megacaps
from broadening.config import Config
from broadening.market import Market
from broadening.panel import row_blocks
from broadening.signals.history import rolling_sum

__all__ = ["index_columns", "index_weights", "index_contributions", "index_returns", "index_total_cap", "topk_share", "concentration", "crowding"]


def index_columns(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Column positions of the securities ever in the large index, ``(n,)`` int.

    Index computations run on these columns only (the rest never carry index weight).
    """
    cfg = config_or_default(cfg)
    return cached_panel(market, ("sig", "index_cols", cfg.fingerprint),  # pragma: no mutate (equivalent: any distinct cache key caches the same panel)
                   lambda: np.flatnonzero(index_members(market, cfg).any(axis=0)))


def _full(market: Market, cols: np.ndarray, sub: np.ndarray, fill: float) -> np.ndarray:
    out = np.full(market.shape, fill)
    out[:, cols] = sub
    return out


@dataclass(frozen=True)
class _IndexPass:
    """What one blocked pass over the index's columns yields (see :func:`_index_pass`)."""

    top: np.ndarray  # (T, kmax) largest weights per day, descending
    hhi: np.ndarray  # (T,) sum of squared weights
    total: np.ndarray  # (T,) members' total market cap
    contrib: np.ndarray  # (T, n) contribution of each name to day t's return (weights of t - 1)
    ret: np.ndarray  # (T,) index return
    topk_weight: np.ndarray  # (T,) weight at t of the names top-k at t
    topk_contrib: np.ndarray  # (T,) contribution to day t of the names top-k at t - 1


def _weights_block(mem: np.ndarray, cap: np.ndarray, rows: slice, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index weights on a block and the members' total cap per row."""
    w = cap[rows, cols]  # a block copy, normalised in place
    w[~(mem[rows, cols] & np.isfinite(w))] = 0.0
    tot = w.sum(axis=1, keepdims=True)
    np.divide(w, tot, out=w, where=tot > 0)
    return w, tot[:, 0]


def _index_pass(market: Market, cfg: Config) -> _IndexPass:
    """One blocked pass over the index (cached): weights are made block by block and used
    at once (for the top-k, the HHI, the contributions of the next day), never stored."""
    kmax = max(max(cfg.universe.k_report), cfg.universe.k)

    def build() -> _IndexPass:
        cols = index_columns(market, cfg)
        mem, cap, ret_all = index_members(market, cfg), market.market_cap, market.returns
        top_k = megacaps(market, cfg)
        T, n = market.shape[0], cols.shape[0]
        top = np.zeros((T, min(kmax, n)))
        hhi, total, ret = np.empty(T), np.empty(T), np.full(T, np.nan)
        topk_weight, topk_contrib = np.empty(T), np.zeros(T)
        contrib = np.empty((T, n))
        contrib[0] = np.nan
        w_prev = top_prev = None  # the last row of the previous block
        for rows in row_blocks(0, T, n):
            w, total[rows] = _weights_block(mem, cap, rows, cols)
            big = np.partition(w, n - kmax, axis=1)[:, n - kmax:] if kmax < n else w
            top[rows] = -np.sort(-big, axis=1)  # one partition serves every k
            hhi[rows] = np.einsum("ij,ij->i", w, w)
            is_top = top_k[rows, cols]
            topk_weight[rows] = np.where(is_top, w, 0.0).sum(axis=1)
            # day t earns with the weights of t - 1: this block's rows shifted down one
            lo = rows.start
            wp = w[:-1] if w_prev is None else np.concatenate([w_prev, w[:-1]])
            tp = is_top[:-1] if top_prev is None else np.concatenate([top_prev, is_top[:-1]])
            days = slice(max(lo, 1), rows.stop)
            num = ret_all[days, cols]  # a block copy, turned into contributions in place
            has = (wp > 0) & np.isfinite(num)
            num[~has] = 0.0
            num *= wp
            tot = np.sum(wp, axis=1, where=has, keepdims=True)
            np.divide(num, tot, out=num, where=tot > 0)
            num[(tot <= 0)[:, 0]] = np.nan
            contrib[days] = num
            ret[days] = num.sum(axis=1)
            topk_contrib[days] = np.where(tp & np.isfinite(num), num, 0.0).sum(axis=1)
            w_prev, top_prev = w[-1:], is_top[-1:]
        out = _IndexPass(top, hhi, total, contrib, ret, topk_weight, topk_contrib)
        for a in (top, hhi, total, contrib, ret, topk_weight, topk_contrib):
            a.setflags(write=False)
        return out

    return cached_panel(market, ("sig", "index_pass", kmax, cfg.fingerprint), build)  # pragma: no mutate (equivalent: any distinct cache key caches the same panel)


def index_weights(market: Market, cfg: Config | None = None, *, sub: bool = False) -> np.ndarray:
    """Cap weights of the large index each day; rows sum to 1 (0 if empty).

    Parameters
    ----------
    sub : bool, default False
        Return only the :func:`index_columns`, shape ``(T, n)``, instead of ``(T, N)``.
    """
    cfg = config_or_default(cfg)
    cols = index_columns(market, cfg)

    def build() -> np.ndarray:
        mem, cap = index_members(market, cfg), market.market_cap
        out = np.empty((market.shape[0], cols.shape[0]))
        for rows in row_blocks(0, market.shape[0], cols.shape[0]):
            out[rows] = _weights_block(mem, cap, rows, cols)[0]
        return out

    w = cached_panel(market, ("sig", "index_weights", cfg.fingerprint), build)  # pragma: no mutate (equivalent: any distinct cache key caches the same panel)
    return w if sub else _full(market, cols, w, 0.0)


def index_total_cap(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Total market cap of the large index's members each day, ``(T,)`` (0 when empty)."""
    return _index_pass(market, config_or_default(cfg)).total


def index_contributions(market: Market, cfg: Config | None = None, *, sub: bool = False) -> np.ndarray:
    """Each name's contribution to the index return of day ``t``.

    ``c[t, i] = w[t-1, i] * r[t, i] / sum_j w[t-1, j]`` over names with a return at ``t``
    (a name delisted at ``t`` drops out and the rest are re-weighted). Rows sum to the
    index return; row 0 is NaN. Shape ``(T, N)``, or ``(T, n)`` with ``sub=True``.
    """
    cfg = config_or_default(cfg)
    c = _index_pass(market, cfg).contrib
    return c if sub else _full(market, index_columns(market, cfg), c, np.nan)


def index_returns(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Daily return of the cap-weighted large index, ``(T,)`` (weights of ``t - 1``)."""
    return _index_pass(market, config_or_default(cfg)).ret


def _top_weights(market: Market, cfg: Config) -> np.ndarray:
    """The largest index weights per day in descending order, ``(T, kmax)`` (cached)."""
    return _index_pass(market, cfg).top


def topk_share(market: Market, cfg: Config | None = None, k: int = 10) -> np.ndarray:
    """Weight of the ``k`` largest names in the cap-weighted large index, ``(T,)``."""
    cfg = config_or_default(cfg)
    top = _top_weights(market, cfg)
    if k > top.shape[1]:
        w = index_weights(market, cfg, sub=True)
        s = -np.partition(-w, k - 1, axis=1)[:, :k].sum(axis=1) if k < w.shape[1] else w.sum(axis=1)
    else:
        s = top[:, :k].sum(axis=1)
    return np.where(top.sum(axis=1) > 0, s, np.nan)


def concentration(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """C1: concentration of the large index per date.

    Returns
    -------
    DataFrame indexed by date with columns ``top{k}_share`` for each reported k (and the
    configured k), ``hhi`` (sum of squared weights) and ``effective_n`` (1 / HHI).
    """
    cfg = config_or_default(cfg)
    out = {}
    for k in sorted(set(cfg.universe.k_report) | {cfg.universe.k}):
        out[f"top{k}_share"] = topk_share(market, cfg, k)
    hhi = _index_pass(market, cfg).hhi
    hhi = np.where(hhi > 0, hhi, np.nan)
    out["hhi"] = hhi
    out["effective_n"] = 1.0 / hhi
    return pd.DataFrame(out, index=market.index)


def crowding(market: Market, cfg: Config | None = None, window: int | None = None) -> pd.DataFrame:
    """C10: how much of the index's return the top-k explain, overall and when it falls.

    With ``c_t`` the top-k contribution (names top-k at ``t - 1``) and ``r_t`` the index
    return, over a trailing ``window``:

    - ``topk_variance_share = cov(c, r) / var(r)``: the top-k's share of the index's
      return variance (the rest explain the remainder exactly);
    - ``topk_down_share = sum(c | r < 0) / sum(r | r < 0)``: their share of the index's
      losses on down days; ``topk_up_share`` the same on up days;
    - ``down_minus_up``: positive when the top-k drag the index more when it falls than
      they lift it when it rises (the passive shield working in reverse);
    - ``topk_weight``: their index weight at the start of each day (for comparison).

    Returns
    -------
    DataFrame indexed by date.
    """
    cfg = config_or_default(cfg)
    window = int(window or cfg.signals.crowding_window)
    ip = _index_pass(market, cfg)
    r = ip.ret
    c = np.where(np.isfinite(r), ip.topk_contrib, np.nan)
    tw = np.full(market.shape[0], np.nan)
    tw[1:] = ip.topk_weight[:-1]  # the top-k's weight at the start of each day

    n = rolling_sum(np.isfinite(r).astype(float), window, min_periods=0)
    sr, sc = rolling_sum(r, window, 2), rolling_sum(c, window, 2)
    src, srr = rolling_sum(r * c, window, 2), rolling_sum(r * r, window, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = src - sr * sc / n
        var = srr - sr * sr / n
        var_share = np.where(var > 1e-18, cov / var, np.nan)
        down = r < 0
        up = r > 0
        d_c = rolling_sum(np.where(down, c, 0.0), window, 1)
        d_r = rolling_sum(np.where(down, r, 0.0), window, 1)
        u_c = rolling_sum(np.where(up, c, 0.0), window, 1)
        u_r = rolling_sum(np.where(up, r, 0.0), window, 1)
        down_share = np.where(d_r < 0, d_c / d_r, np.nan)
        up_share = np.where(u_r > 0, u_c / u_r, np.nan)
    full = np.arange(market.shape[0]) >= window  # a whole window of returns exists
    return pd.DataFrame({
        "topk_variance_share": np.where(full, var_share, np.nan),
        "topk_down_share": np.where(full, down_share, np.nan),
        "topk_up_share": np.where(full, up_share, np.nan),
        "down_minus_up": np.where(full, down_share - up_share, np.nan),
        "topk_weight": tw,
    }, index=market.index)

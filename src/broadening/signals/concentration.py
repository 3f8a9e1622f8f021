"""C1 concentration and C10 crowding of the cap-weighted large-cap index.

C1: top-k weight share (k = 5, 10, 20), Herfindahl index (HHI) and effective number of
stocks (1 / HHI) of the large index each day.

C10: how much of the index's return the top-k explain, and how that share moves when the
index falls. Day ``t``'s index return is decomposed exactly into the contribution of the
names that were top-k at ``t - 1`` and of the rest (weights of ``t - 1``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.baskets import _cached, _cfg, index_members, megacaps
from broadening.config import Config
from broadening.market import Market
from broadening.panel import row_blocks
from broadening.signals.history import rolling_sum

__all__ = ["index_columns", "index_weights", "index_contributions", "index_returns", "index_total_cap", "topk_share", "concentration", "crowding"]


def index_columns(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Column positions of the securities ever in the large index, ``(n,)`` int.

    Index computations run on these columns only (the rest never carry index weight).
    """
    cfg = _cfg(cfg)
    return _cached(market, ("sig", "index_cols", cfg.fingerprint),
                   lambda: np.flatnonzero(index_members(market, cfg).any(axis=0)))


def _full(market: Market, cols: np.ndarray, sub: np.ndarray, fill: float) -> np.ndarray:
    out = np.full(market.shape, fill)
    out[:, cols] = sub
    return out


def _index_weight_stats(market: Market, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One blocked pass over the index (cached): weights ``(T, n)`` on :func:`index_columns`,
    the largest ``kmax`` of them per day in descending order ``(T, kmax)``, the HHI ``(T,)``
    and the index's total market cap ``(T,)``."""
    kmax = max(max(cfg.universe.k_report), cfg.universe.k)

    def build():
        cols = index_columns(market, cfg)
        mem, cap = index_members(market, cfg), market.market_cap
        T, n = market.shape[0], cols.shape[0]
        w_all = np.empty((T, n))
        top = np.zeros((T, min(kmax, n)))
        hhi, total = np.empty(T), np.empty(T)
        for rows in row_blocks(0, T, n):
            w = cap[rows, cols]  # a block copy, normalised in place
            w[~(mem[rows, cols] & np.isfinite(w))] = 0.0
            tot = w.sum(axis=1, keepdims=True)
            total[rows] = tot[:, 0]
            np.divide(w, tot, out=w, where=tot > 0)
            w_all[rows] = w
            big = np.partition(w, n - kmax, axis=1)[:, n - kmax:] if kmax < n else w
            top[rows] = -np.sort(-big, axis=1)  # one partition serves every k
            hhi[rows] = np.einsum("ij,ij->i", w, w)
        for a in (w_all, top, hhi, total):
            a.setflags(write=False)
        return w_all, top, hhi, total

    return _cached(market, ("sig", "index_weight_stats", kmax, cfg.fingerprint), build)


def index_weights(market: Market, cfg: Config | None = None, *, sub: bool = False) -> np.ndarray:
    """Cap weights of the large index each day; rows sum to 1 (0 if empty).

    Parameters
    ----------
    sub : bool, default False
        Return only the :func:`index_columns`, shape ``(T, n)``, instead of ``(T, N)``.
    """
    cfg = _cfg(cfg)
    w = _index_weight_stats(market, cfg)[0]
    return w if sub else _full(market, index_columns(market, cfg), w, 0.0)


def index_total_cap(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Total market cap of the large index's members each day, ``(T,)`` (0 when empty)."""
    return _index_weight_stats(market, _cfg(cfg))[3]


def index_contributions(market: Market, cfg: Config | None = None, *, sub: bool = False) -> np.ndarray:
    """Each name's contribution to the index return of day ``t``.

    ``c[t, i] = w[t-1, i] * r[t, i] / sum_j w[t-1, j]`` over names with a return at ``t``
    (a name delisted at ``t`` drops out and the rest are re-weighted). Rows sum to the
    index return; row 0 is NaN. Shape ``(T, N)``, or ``(T, n)`` with ``sub=True``.
    """
    cfg = _cfg(cfg)
    cols = index_columns(market, cfg)

    def build() -> np.ndarray:
        w = index_weights(market, cfg, sub=True)
        ret = market.returns
        T, n = w.shape
        out = np.empty((T, n))
        out[0] = np.nan
        for rows in row_blocks(1, T, n):
            num = ret[rows, cols]  # a block copy, turned into contributions in place
            wp = w[rows.start - 1: rows.stop - 1]
            has = (wp > 0) & np.isfinite(num)
            num[~has] = 0.0
            num *= wp
            tot = np.sum(wp, axis=1, where=has, keepdims=True)
            np.divide(num, tot, out=num, where=tot > 0)
            num[(tot <= 0)[:, 0]] = np.nan
            out[rows] = num
        return out

    c = _cached(market, ("sig", "index_contrib", cfg.fingerprint), build)
    return c if sub else _full(market, cols, c, np.nan)


def index_returns(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Daily return of the cap-weighted large index, ``(T,)`` (weights of ``t - 1``)."""
    cfg = _cfg(cfg)
    return _cached(market, ("sig", "index_ret", cfg.fingerprint),
                   lambda: index_contributions(market, cfg, sub=True).sum(axis=1))


def _top_weights(market: Market, cfg: Config) -> np.ndarray:
    """The largest index weights per day in descending order, ``(T, kmax)`` (cached)."""
    return _index_weight_stats(market, cfg)[1]


def topk_share(market: Market, cfg: Config | None = None, k: int = 10) -> np.ndarray:
    """Weight of the ``k`` largest names in the cap-weighted large index, ``(T,)``."""
    cfg = _cfg(cfg)
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
    cfg = _cfg(cfg)
    out = {}
    for k in sorted(set(cfg.universe.k_report) | {cfg.universe.k}):
        out[f"top{k}_share"] = topk_share(market, cfg, k)
    hhi = _index_weight_stats(market, cfg)[2]
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
    cfg = _cfg(cfg)
    window = int(window or cfg.signals.crowding_window)
    cols = index_columns(market, cfg)
    contrib = index_contributions(market, cfg, sub=True)
    w = index_weights(market, cfg, sub=True)
    top = megacaps(market, cfg)
    r = index_returns(market, cfg)
    T = market.shape[0]
    c, tw = np.zeros(T), np.full(T, np.nan)
    for rows in row_blocks(1, T, cols.shape[0]):
        prev = slice(rows.start - 1, rows.stop - 1)
        top_prev = top[prev, cols]  # the names that were top-k at t - 1
        cb = contrib[rows]
        c[rows] = np.where(top_prev & np.isfinite(cb), cb, 0.0).sum(axis=1)
        tw[rows] = np.where(top_prev, w[prev], 0.0).sum(axis=1)
    c = np.where(np.isfinite(r), c, np.nan)

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

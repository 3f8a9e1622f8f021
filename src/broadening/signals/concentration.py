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
from broadening.signals.history import rolling_sum

__all__ = ["index_columns", "index_weights", "index_contributions", "index_returns", "topk_share", "concentration", "crowding"]


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


def index_weights(market: Market, cfg: Config | None = None, *, sub: bool = False) -> np.ndarray:
    """Cap weights of the large index each day; rows sum to 1 (0 if empty).

    Parameters
    ----------
    sub : bool, default False
        Return only the :func:`index_columns`, shape ``(T, n)``, instead of ``(T, N)``.
    """
    cfg = _cfg(cfg)
    cols = index_columns(market, cfg)

    def build() -> np.ndarray:
        w = market.market_cap[:, cols]  # a copy: normalised in place below
        w[~(index_members(market, cfg)[:, cols] & np.isfinite(w))] = 0.0
        tot = w.sum(axis=1, keepdims=True)
        np.divide(w, tot, out=w, where=tot > 0)
        return w

    w = _cached(market, ("sig", "index_weights", cfg.fingerprint), build)
    return w if sub else _full(market, cols, w, 0.0)


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
        out = np.full(w.shape, np.nan)
        if w.shape[0] > 1:
            num = market.returns[1:][:, cols]  # a copy, turned into contributions in place
            wp = w[:-1]
            has = (wp > 0) & np.isfinite(num)
            num[~has] = 0.0
            num *= wp
            tot = np.sum(wp, axis=1, where=has, keepdims=True)
            np.divide(num, tot, out=num, where=tot > 0)
            num[(tot <= 0)[:, 0]] = np.nan
            out[1:] = num
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
    kmax = max(max(cfg.universe.k_report), cfg.universe.k)

    def build() -> np.ndarray:
        w = index_weights(market, cfg, sub=True)
        if kmax < w.shape[1]:
            w = -np.partition(-w, kmax - 1, axis=1)[:, :kmax]  # one partition serves every k
        return -np.sort(-w, axis=1)

    return _cached(market, ("sig", "top_weights", kmax, cfg.fingerprint), build)


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
    w = index_weights(market, cfg, sub=True)
    out = {}
    for k in sorted(set(cfg.universe.k_report) | {cfg.universe.k}):
        out[f"top{k}_share"] = topk_share(market, cfg, k)
    hhi = np.einsum("ij,ij->i", w, w)
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
    r = contrib.sum(axis=1)
    top_prev = np.zeros(contrib.shape, dtype=bool)
    top_prev[1:] = megacaps(market, cfg)[:-1, cols]
    c = np.where(top_prev & np.isfinite(contrib), contrib, 0.0).sum(axis=1)
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
    w = index_weights(market, cfg, sub=True)
    tw = np.full(market.shape[0], np.nan)
    tw[1:] = np.where(top_prev[1:], w[:-1], 0.0).sum(axis=1)
    return pd.DataFrame({
        "topk_variance_share": np.where(full, var_share, np.nan),
        "topk_down_share": np.where(full, down_share, np.nan),
        "topk_up_share": np.where(full, up_share, np.nan),
        "down_minus_up": np.where(full, down_share - up_share, np.nan),
        "topk_weight": tw,
    }, index=market.index)

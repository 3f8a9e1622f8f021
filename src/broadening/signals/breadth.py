"""C4 breadth: is participation in the large index widening?

All shares are taken over the large index's members on each date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.baskets import _cfg, index_members
from broadening.config import Config
from broadening.market import Market
from broadening.signals.concentration import index_columns, index_contributions, index_returns
from broadening.signals.history import rolling_mean, rolling_sum, window_return

__all__ = ["breadth", "half_return_count"]


def _share(hit: np.ndarray, base: np.ndarray) -> np.ndarray:
    n = base.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (hit & base).sum(axis=1) / np.where(n > 0, n, 1), np.nan)


def half_return_count(contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fewest names whose contributions make up half of the total, per row.

    Parameters
    ----------
    contrib : ndarray, shape (T, N)
        Contributions to a return (NaN = not held).

    Returns
    -------
    count : ndarray, shape (T,)
        Number of largest contributors whose sum first reaches half the row total
        (NaN when the total is not positive).
    holders : ndarray, shape (T,)
        Number of names with a contribution in the row.
    """
    held = np.isfinite(contrib)
    c = np.where(held, contrib, 0.0)
    total = c.sum(axis=1)
    s = -np.sort(-c, axis=1)
    reached = np.cumsum(s, axis=1) >= 0.5 * total[:, None] - 1e-15
    count = np.argmax(reached, axis=1) + 1.0
    return np.where(total > 0, count, np.nan), held.sum(axis=1).astype(float)


def breadth(market: Market, cfg: Config | None = None, window: int | None = None) -> pd.DataFrame:
    """C4: breadth of the large index per date.

    Columns
    -------
    beat_share
        Share of members whose total return over the trailing ``window`` beats the
        cap-weighted index's (members on ``t`` with a price ``window`` days earlier).
    above_ma_share
        Share of members whose total-return index is above its ``moving_average``-day mean.
    advancers, decliners, ad_line
        Members up / down on the day, and the cumulative advance-decline line.
    dispersion
        Cross-sectional standard deviation (ddof=0) of members' daily returns.
    half_return_count, half_return_share
        Fewest members whose contributions over ``window`` make half of the index's
        return (NaN when that return is not positive), and that number over the number of
        members that day.
    """
    cfg = _cfg(cfg)
    window = int(window or cfg.signals.breadth_window)
    cols = index_columns(market, cfg)  # names never in the index never count
    mem = index_members(market, cfg)[:, cols]
    tri = market.total_return_index[:, cols]
    T, N = mem.shape

    stock_ret = np.full((T, N), np.nan)
    if T > window:
        with np.errstate(invalid="ignore", divide="ignore"):
            stock_ret[window:] = tri[window:] / tri[:-window] - 1.0
    idx_ret = window_return(index_returns(market, cfg), window)
    known = mem & np.isfinite(stock_ret)
    with np.errstate(invalid="ignore"):
        beat = _share(stock_ret > idx_ret[:, None], known)
    beat = np.where(np.isfinite(idx_ret), beat, np.nan)
    del stock_ret

    ma_len = cfg.signals.moving_average
    ma = rolling_mean(tri, ma_len, min_periods=ma_len)
    with np.errstate(invalid="ignore"):
        above = _share(tri > ma, mem & np.isfinite(ma))
    del ma

    r = market.returns[:, cols]
    with np.errstate(invalid="ignore"):
        adv = (mem & (r > 0)).sum(axis=1).astype(float)
        dec = (mem & (r < 0)).sum(axis=1).astype(float)
    rm = np.where(mem & np.isfinite(r), r, np.nan)
    n = np.isfinite(rm).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(rm, axis=1) / n
        disp = np.sqrt(np.nansum((rm - mean[:, None]) ** 2, axis=1) / n)
    disp = np.where(n > 1, disp, np.nan)
    del rm

    contrib = index_contributions(market, cfg, sub=True)
    # names not held contribute 0, which never changes the count of the largest contributors
    roll = rolling_sum(np.where(np.isnan(contrib), 0.0, contrib), window, min_periods=0)
    roll[:window] = np.nan  # a whole window of returns (rows 1..window)
    count, _ = half_return_count(roll)
    members = mem.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        half_share = np.where(members > 0, count / members, np.nan)

    return pd.DataFrame({
        "beat_share": beat,
        "above_ma_share": above,
        "advancers": adv,
        "decliners": dec,
        "ad_line": np.cumsum(adv - dec),
        "dispersion": disp,
        "half_return_count": count,
        "half_return_share": half_share,
    }, index=market.index)

"""C4 breadth: is participation in the large index widening?

All shares are taken over the large index's members on each date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.baskets import config_or_default, index_members
from broadening.config import Config
from broadening.market import Market
from broadening.panel import window_sum_blocks
from broadening.signals.concentration import index_columns, index_contributions, index_returns
from broadening.signals.history import window_return

__all__ = ["breadth", "half_return_count"]


def _share(hit: np.ndarray, base: np.ndarray) -> np.ndarray:
    n = base.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (equivalent: n is replaced by 1 where it is 0, so nothing divides by zero)
        return np.where(n > 0, (hit & base).sum(axis=1) / np.where(n > 0, n, 1), np.nan)


def half_return_count(contrib: np.ndarray, *, top: int = 64) -> tuple[np.ndarray, np.ndarray]:  # pragma: no mutate (equivalent: top only sets how many are tried before a full sort)
    """Fewest names whose contributions make up half of the total, per row.

    Parameters
    ----------
    contrib : ndarray, shape (T, N)
        Contributions to a return (NaN = not held).
    top : int, default 64
        Rows are first tried with only their ``top`` largest contributions (a partition,
        not a sort of the whole row); the rows that need more are sorted in full. Only
        the speed depends on it.

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
    half = 0.5 * total[:, None] - 1e-15
    n = c.shape[1]

    def first_reaching(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        x = c[rows]
        if k < n:
            x = np.partition(x, n - k, axis=1)[:, n - k:]
        reached = np.cumsum(-np.sort(-x, axis=1), axis=1) >= half[rows]
        return np.argmax(reached, axis=1) + 1.0, reached.any(axis=1)

    everyone = np.arange(c.shape[0])
    count, found = first_reaching(everyone, max(1, min(int(top), n)))
    rest = everyone[~found]
    if rest.size:
        count[rest] = first_reaching(rest, n)[0]
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
    cfg = config_or_default(cfg)
    window = int(window or cfg.signals.breadth_window)
    ma_len = int(cfg.signals.moving_average)
    market.require_lookback(max(window, ma_len), "breadth (signals.breadth_window, signals.moving_average)")
    cols = index_columns(market, cfg)  # names never in the index never count
    mem_all = index_members(market, cfg)
    tri_all, ret_all = market.total_return_index, market.returns
    contrib = index_contributions(market, cfg, sub=True)
    idx_ret = window_return(index_returns(market, cfg), window)
    T = market.shape[0]
    beat, above, adv, dec, disp, count = (np.full(T, np.nan) for _ in range(6))
    members = np.zeros(T)
    # one pass over cache-sized row blocks; the two trailing windows run alongside
    blocks = zip(window_sum_blocks(tri_all, ma_len, cols), window_sum_blocks(contrib, window, counts=False), strict=True)
    for (rows, ma, ma_n), (_, roll, _) in blocks:
        lo, hi = rows.start, rows.stop
        mem = mem_all[rows, cols]
        tri = tri_all[rows, cols]
        members[rows] = mem.sum(axis=1)

        s0 = max(lo, window)  # rows with a price ``window`` days earlier in the panel
        if s0 < hi:  # pragma: no mutate (equivalent: s0 == hi selects no rows)
            with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (equivalent: total-return prices are positive (schema rule), no zero denominators)
                stock_ret = tri[s0 - lo:] / tri_all[s0 - window: hi - window, cols] - 1.0
                beat[s0:hi] = _share(stock_ret > idx_ret[s0:hi, None], mem[s0 - lo:] & np.isfinite(stock_ret))

        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(ma, ma_n, out=ma)
        ma[ma_n < ma_len - 0.5] = np.nan
        with np.errstate(invalid="ignore"):  # pragma: no mutate (equivalent: comparisons with NaN raise no floating-point error)
            above[rows] = _share(tri > ma, mem & np.isfinite(ma))

        r = ret_all[rows, cols]
        with np.errstate(invalid="ignore"):  # pragma: no mutate (equivalent: comparisons with NaN raise no floating-point error)
            adv[rows] = (mem & (r > 0)).sum(axis=1)
            dec[rows] = (mem & (r < 0)).sum(axis=1)
        r[~(mem & np.isfinite(r))] = np.nan
        n = np.isfinite(r).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(r, axis=1) / n
            r -= mean[:, None]
            disp[rows] = np.where(n > 1, np.sqrt(np.nansum(r * r, axis=1) / n), np.nan)

        # names not held contribute 0, which never changes the count of the largest contributors
        if lo < window:  # pragma: no mutate (equivalent: lo == window blanks no rows)
            roll[: window - lo] = np.nan  # a whole window of returns (rows 1..window)
        count[rows] = half_return_count(roll)[0]
    beat = np.where(np.isfinite(idx_ret), beat, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (equivalent: members == 0 only where count is NaN, and NaN / 0 raises nothing)
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

"""C2 valuation gap and the "snap", C3 earnings breadth, C9 small-cap quality valuation.

Earnings are trailing-twelve-month (TTM) net income, point-in-time (usable from each
quarter's availability date). Growth uses TTM net income rather than reported EPS so that
share splits (EPS is per as-reported share) cannot fake a collapse in earnings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.baskets import (
    basket_returns,
    cached_panel,
    config_or_default,
    index_members,
    masked_row_sums,
    megacaps,
    small_cap_quality,
)
from broadening.config import Config
from broadening.market import Market
from broadening.panel import StepPanel, row_blocks
from broadening.signals.concentration import index_columns, index_returns
from broadening.signals.history import change, window_return

__all__ = ["row_median", "aggregate_pe", "index_pe", "valuation", "earnings", "small_cap_valuation", "earnings_growth"]


def row_median(x: np.ndarray) -> np.ndarray:
    """Median of the finite values of each row of ``x`` ``(T, N)`` -> ``(T,)`` (NaN if none)."""
    s = np.sort(np.where(np.isfinite(x), x, np.inf), axis=1)
    n = np.isfinite(x).sum(axis=1)
    lo = np.clip((n - 1) // 2, 0, max(x.shape[1] - 1, 0))
    hi = np.clip(n // 2, 0, max(x.shape[1] - 1, 0))
    rows = np.arange(x.shape[0])
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    with np.errstate(invalid="ignore"):
        med = 0.5 * (s[rows, lo] + s[rows, hi])
    return np.where(n > 0, med, np.nan)


def aggregate_pe(cap: np.ndarray, earnings: np.ndarray | StepPanel, mask: np.ndarray) -> np.ndarray:
    """Aggregate P/E of a basket: sum of caps / sum of TTM earnings, ``(T,)``.

    Over the basket's names with both a cap and earnings (losses included); NaN when the
    earnings sum is not positive.
    """
    c, e, _ = masked_row_sums(mask, cap, earnings)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(e > 0, c / np.where(e > 0, e, 1.0), np.nan)


def _growth_block(e_steps, rows: slice, cols: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """TTM earnings and their growth over ``lag`` rows on a block: ``(E, (E - E_lag) / |E_lag|)``."""
    e = e_steps[rows, cols]
    prev = np.full(e.shape, np.nan)
    s0 = max(rows.start, lag)
    if s0 < rows.stop:
        prev[s0 - rows.start:] = e_steps[s0 - lag: rows.stop - lag, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (e - prev) / np.abs(prev)
        g[~(np.isfinite(g) & (np.abs(prev) > 0))] = np.nan
    return e, g


def earnings_growth(market: Market, lag: int, cols: np.ndarray | None = None) -> np.ndarray:
    """TTM net-income growth over ``lag`` trading days: ``(E_t - E_{t-lag}) / |E_{t-lag}|``.

    Returns
    -------
    ndarray, shape (T, N), or (T, len(cols)) for the given columns only
    """
    market.require_lookback(lag, "earnings growth")
    steps = market.fundamental_steps("net_income", ttm=True)
    T, N = steps.shape
    cols = np.arange(N) if cols is None else np.asarray(cols)
    out = np.empty((T, cols.shape[0]))
    for rows in row_blocks(0, T, cols.shape[0]):
        out[rows] = _growth_block(steps, rows, cols, int(lag))[1]
    return out


def index_pe(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Aggregate P/E of the large index (sum of caps / sum of TTM earnings), ``(T,)`` (cached)."""
    cfg = config_or_default(cfg)
    return cached_panel(market, ("sig", "index_pe", cfg.fingerprint), lambda: aggregate_pe(
        market.market_cap, market.fundamental_steps("net_income", ttm=True), index_members(market, cfg)))


def valuation(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """C2: cap-weighted vs equal-weighted valuation of the large index, and the snap.

    Columns
    -------
    cw_pe
        Sum of members' caps / sum of their TTM earnings.
    ew_median_pe
        Median P/E of members with positive earnings.
    ew_harmonic_pe
        Harmonic-mean P/E of members: ``1 / mean(E / P)`` (losses included; NaN if the
        mean earnings yield is not positive).
    pe_gap
        ``cw_pe / ew_median_pe`` (above 1: the cap-weighted index is dearer).
    ew_cw_{w}d
        Equal-weight minus cap-weight compounded return over each of
        ``signals.snap_windows`` trading days (21, 63, 126, 252 ~ 1, 3, 6, 12 months).
    """
    cfg = config_or_default(cfg)
    cols = index_columns(market, cfg)
    full_mem = index_members(market, cfg)
    cap_all, e_all = market.market_cap, market.fundamental_steps("net_income", ttm=True)
    cw_pe = index_pe(market, cfg)
    T = market.shape[0]
    med, harm = np.full(T, np.nan), np.full(T, np.nan)
    for rows in row_blocks(0, T, cols.shape[0]):
        cap, e = cap_all[rows, cols], e_all[rows, cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = full_mem[rows, cols] & np.isfinite(cap) & np.isfinite(e) & (cap > 0)
            med[rows] = row_median(np.where(ok & (e > 0), cap / e, np.nan))
            ey = np.where(ok, e / cap, 0.0)
            n = ok.sum(axis=1)
            mean_ey = ey.sum(axis=1) / n
            harm[rows] = np.where((n > 0) & (mean_ey > 0), 1.0 / mean_ey, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = cw_pe / med
    out = {"cw_pe": cw_pe, "ew_median_pe": med, "ew_harmonic_pe": harm, "pe_gap": gap}
    cw = index_returns(market, cfg)
    ew = cached_panel(market, ("sig", "ew_ret", cfg.fingerprint), lambda: basket_returns(market, full_mem, "equal"))
    for w in cfg.signals.snap_windows:
        out[f"ew_cw_{w}d"] = window_return(ew, w) - window_return(cw, w)
    return pd.DataFrame(out, index=market.index)


def earnings(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """C3: is the median company healthy and accelerating?

    Columns
    -------
    growth_outside, growth_inside
        Median TTM earnings growth over ``signals.growth_lag_days`` of large-index members
        outside / inside the top-k that day.
    growth_gap
        ``growth_outside - growth_inside``.
    acceleration
        Change of ``growth_outside`` over ``signals.acceleration_lag_days``.
    share_positive
        Share of members (with earnings data) whose TTM earnings are positive.
    share_rising
        Share of members (with growth data) whose TTM earnings grew.
    """
    cfg = config_or_default(cfg)
    market.require_lookback(cfg.signals.growth_lag_days, "earnings growth (signals.growth_lag_days)")
    cols = index_columns(market, cfg)
    mem_all, top_all = index_members(market, cfg), megacaps(market, cfg)
    e_all = market.fundamental_steps("net_income", ttm=True)
    T = market.shape[0]
    out_med, in_med, pos, rising = (np.full(T, np.nan) for _ in range(4))
    for rows in row_blocks(0, T, cols.shape[0]):
        mem, top = mem_all[rows, cols], top_all[rows, cols]
        e, g = _growth_block(e_all, rows, cols, cfg.signals.growth_lag_days)
        out_med[rows] = row_median(np.where(mem & ~top, g, np.nan))
        in_med[rows] = row_median(np.where(mem & top, g, np.nan))
        has_e = mem & np.isfinite(e)
        has_g = mem & np.isfinite(g)
        n_e, n_g = has_e.sum(axis=1), has_g.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pos[rows] = np.where(n_e > 0, (has_e & (e > 0)).sum(axis=1) / n_e, np.nan)
            rising[rows] = np.where(n_g > 0, (has_g & (g > 0)).sum(axis=1) / n_g, np.nan)
    return pd.DataFrame({
        "growth_outside": out_med,
        "growth_inside": in_med,
        "growth_gap": out_med - in_med,
        "acceleration": change(out_med, cfg.signals.acceleration_lag_days),
        "share_positive": pos,
        "share_rising": rising,
    }, index=market.index)


def small_cap_valuation(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """C9: small-cap quality P/E relative to the large index.

    Columns
    -------
    scq_pe
        Aggregate P/E (sum caps / sum TTM earnings) of the small-cap quality basket.
    large_pe
        Aggregate P/E of the large index.
    relative_pe
        ``scq_pe / large_pe``.
    relative_pe_change
        Change of ``relative_pe`` over ``signals.trend_window`` (a re-rating if positive).
    """
    cfg = config_or_default(cfg)
    scq = aggregate_pe(market.market_cap, market.fundamental_steps("net_income", ttm=True),
                       small_cap_quality(market, cfg))
    large = index_pe(market, cfg)
    rel = scq / large
    return pd.DataFrame({
        "scq_pe": scq,
        "large_pe": large,
        "relative_pe": rel,
        "relative_pe_change": change(rel, cfg.signals.trend_window),
    }, index=market.index)

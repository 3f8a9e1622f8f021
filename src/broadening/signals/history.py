"""A metric against its own past: trailing percentile, z-score, trend and rolling helpers.

All functions are point-in-time: the value at ``t`` uses only observations at or before
``t``. NaNs are skipped (they neither count as history nor get a percentile).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from broadening.panel import window_sum_blocks

__all__ = [
    "trailing_percentile",
    "trailing_zscore",
    "change",
    "rolling_sum",
    "rolling_mean",
    "window_return",
    "trend_label",
    "percentile_frame",
    "zscore_frame",
]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def trailing_percentile(x, window: int, min_periods: int = 2) -> np.ndarray:
    """Percentile of each value within its own trailing window, in [0, 1].

    ``p_t = (#{s in (t-window, t]: x_s <= x_t} - 1) / (n_t - 1)`` over the ``n_t`` finite
    values of the window (ties, up to a relative 1e-12, count as at-or-below), so the
    window's minimum scores 0 and its maximum 1.

    Parameters
    ----------
    x : array-like, shape (T,)
    window : int
        Trailing window length (observations, including ``t``).
    min_periods : int, default 2
        Fewer finite values in the window give NaN.

    Returns
    -------
    ndarray, shape (T,)
    """
    x = _arr(x)
    T = x.shape[0]
    out = np.full(T, np.nan)
    if T == 0:
        return out
    w = max(1, min(int(window), T))
    fin = np.isfinite(x)
    cn = np.concatenate([[0], np.cumsum(fin)])
    n = cn[1:] - cn[np.maximum(np.arange(1, T + 1) - w, 0)]  # finite values in each window
    padded = np.concatenate([np.full(w - 1, np.nan), x])
    # chunk rows so the (rows, window) comparison never gets large
    step = max(1, 4_000_000 // w)
    for lo in range(0, T, step):
        hi = min(T, lo + step)
        win = sliding_window_view(padded[lo: hi + w - 1], w)
        cur = x[lo:hi, None]
        # values equal up to float rounding count as ties (sums taken in another order differ
        # in the last bits, which must not move a percentile); NaN compares False
        tol = 1e-12 * np.maximum(1.0, np.abs(cur))
        le = np.count_nonzero(win <= cur + tol, axis=1)
        nn = n[lo:hi]
        with np.errstate(invalid="ignore", divide="ignore"):
            p = (le - 1) / (nn - 1)
        ok = fin[lo:hi] & (nn >= max(min_periods, 2))
        out[lo:hi] = np.where(ok, p, np.nan)
    return out


def _rolling_sums(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fin = np.isfinite(x)
    v = np.where(fin, x, 0.0)
    c1 = np.concatenate([[0.0], np.cumsum(v)])
    c2 = np.concatenate([[0.0], np.cumsum(v * v)])
    cn = np.concatenate([[0], np.cumsum(fin)])
    T = x.shape[0]
    hi = np.arange(1, T + 1)
    lo = np.maximum(0, hi - window)
    return c1[hi] - c1[lo], c2[hi] - c2[lo], (cn[hi] - cn[lo]).astype("float64")


def trailing_zscore(x, window: int, min_periods: int = 2) -> np.ndarray:
    """Z-score of each value against the mean and std (ddof=1) of its trailing window.

    Parameters
    ----------
    x : array-like, shape (T,)
    window : int
    min_periods : int, default 2

    Returns
    -------
    ndarray, shape (T,)
    """
    x = _arr(x)
    # centre first so the cumulative sums keep precision
    fin = np.isfinite(x)
    centre = x[np.argmax(fin)] if fin.any() else 0.0  # first value: point-in-time
    xc = x - centre
    s1, s2, n = _rolling_sums(xc, int(window))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = (s2 - n * mean * mean) / (n - 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        z = (xc - mean) / sd
        # a flat window leaves only rounding in the variance (about sqrt(eps) of the
        # window's root mean square); call it flat rather than divide by rounding
        flat = ~(sd > 1e-6 * np.sqrt(np.maximum(s2, 0.0) / n))
    ok = fin & (n >= max(min_periods, 2)) & ~flat
    return np.where(ok, z, np.nan)


def _cumsum0(x: np.ndarray) -> np.ndarray:
    """Cumulative sum with a leading zero, shape (T + 1,) for a 1-D ``x``."""
    out = np.empty(x.shape[0] + 1)
    out[0] = 0.0
    np.cumsum(x, out=out[1:])
    return out


def _rolling_sum_2d(x: np.ndarray, window: int, need: int) -> np.ndarray:
    out = np.empty(x.shape)
    for rows, sums, counts in window_sum_blocks(x, window):
        if need > 0:
            sums[counts < need - 0.5] = np.nan
        out[rows] = sums
    return out


def rolling_sum(x, window: int, min_periods: int | None = None) -> np.ndarray:
    """Trailing sum over ``window`` observations (NaN skipped), shape (T,) or (T, N).

    NaN where fewer than ``min_periods`` (default ``window``) finite values.
    """
    x = _arr(x)
    window = int(window)
    need = window if min_periods is None else min_periods
    if x.ndim == 2:
        return _rolling_sum_2d(x, window, need)
    fin = np.isfinite(x)
    c = _cumsum0(np.where(fin, x, 0.0))
    T = x.shape[0]
    w = min(window, T)
    # trailing difference of cumulative sums, by slicing (no gathers)
    s = np.empty_like(x)
    s[:w] = c[1: w + 1]
    s[w:] = c[w + 1:] - c[1: T - w + 1]
    if need <= 0:
        return s
    cn = _cumsum0(fin.astype("float64"))
    n = np.empty_like(x)
    n[:w] = cn[1: w + 1]
    n[w:] = cn[w + 1:] - cn[1: T - w + 1]
    return np.where(n >= need, s, np.nan)


def rolling_mean(x, window: int, min_periods: int | None = None) -> np.ndarray:
    """Trailing mean over ``window`` observations (NaN skipped), shape (T,) or (T, N)."""
    x = _arr(x)
    if x.ndim == 2:
        need = int(window) if min_periods is None else min_periods
        out = np.empty(x.shape)
        for rows, s, n in window_sum_blocks(x, window):
            with np.errstate(invalid="ignore", divide="ignore"):
                np.divide(s, n, out=s)
            s[n < need - 0.5] = np.nan
            out[rows] = s
        return out
    s = rolling_sum(x, window, min_periods=min_periods)
    n = rolling_sum(np.isfinite(x).astype("float64"), window, min_periods=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(s, n, out=s)
    return s


def window_return(daily: np.ndarray, window: int) -> np.ndarray:
    """Compounded return over the trailing ``window`` days of a daily return series.

    ``prod(1 + r_s for s in (t - window, t]) - 1``; NaN unless all ``window`` returns are
    known. Shape (T,) or (T, N).
    """
    with np.errstate(invalid="ignore"):
        lr = np.log1p(_arr(daily))
    return np.expm1(rolling_sum(lr, window))


def change(x, window: int) -> np.ndarray:
    """``x_t - x_{t-window}``, shape (T,) (NaN for the first ``window`` values)."""
    x = _arr(x)
    out = np.full_like(x, np.nan)
    if x.shape[0] > window:
        out[window:] = x[window:] - x[:-window]
    return out


def trend_label(delta: float, window: int, *, tol: float = 0.0) -> str:
    """Words for a change over a window, e.g. ``"rising (+0.021 over 63d)"``."""
    if delta is None or not np.isfinite(delta):
        return f"n/a (no {window}d history)"
    word = "rising" if delta > tol else "falling" if delta < -tol else "flat"
    return f"{word} ({delta:+.3g} over {window}d)"


def percentile_frame(df: pd.DataFrame, window: int, min_periods: int = 2) -> pd.DataFrame:
    """:func:`trailing_percentile` applied to every column of a date-indexed frame."""
    return pd.DataFrame({c: trailing_percentile(df[c].to_numpy(), window, min_periods) for c in df.columns}, index=df.index)


def zscore_frame(df: pd.DataFrame, window: int, min_periods: int = 2) -> pd.DataFrame:
    """:func:`trailing_zscore` applied to every column of a date-indexed frame."""
    return pd.DataFrame({c: trailing_zscore(df[c].to_numpy(), window, min_periods) for c in df.columns}, index=df.index)

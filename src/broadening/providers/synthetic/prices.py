"""From log-price and log-share panels to the ``prices`` and ``shares`` tables.

Raw (split-affected) closes, share counts multiplied on split days, a total return index
with dividends, and volumes. Every function works on any block of securities over any
window of days (a panel's row ``t`` is a day, column ``j`` a security), so the whole-market
generator can run them one block at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.providers.synthetic.calibration import TRADING_DAYS

MAX_TURNOVER = 1.0
"""Most of its shares outstanding a security trades in a day (volume / shares): real days
past 100% are rare extremes (meme-stock squeezes), so a generated day stops there."""


def split_params(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log listing price, split threshold (``inf`` for a quarter: never splits) and split ratio."""
    p0 = np.exp(rng.normal(np.log(35.0), 0.5, n))
    thr = rng.uniform(150.0, 600.0, n)
    thr[rng.random(n) < 0.25] = np.inf
    ratio = rng.choice([2.0, 3.0, 4.0], size=n, p=[0.7, 0.2, 0.1])
    return np.log(p0), thr, ratio


def raw_prices(lp: np.ndarray, ls: np.ndarray, alive: np.ndarray, first: np.ndarray, div_yield: np.ndarray,
               lp0: np.ndarray, thr: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw closes, raw share counts and the total return index, reusing ``lp`` and ``ls``.

    ``lp`` is the log price (split-adjusted, ex-dividend, 0 on the listing row ``first``),
    ``ls`` the log market cap minus ``lp``. Split ``j`` happens when the running-max unsplit
    price first crosses ``thr * ratio**j``, and the share count is multiplied the same day,
    so market cap is continuous. Returns ``close`` (in ``lp``'s buffer), ``shares`` (in
    ``ls``'s buffer, rounded) and ``tri`` (the alive cells, row-major, base 100).
    """
    T = lp.shape[0]
    sp = np.flatnonzero(lp.max(axis=0) + lp0 >= np.log(thr))
    lsplit = np.zeros((T, 0))
    if len(sp):
        lu = np.where(alive[:, sp], lp[:, sp], 0.0) + lp0[sp][None, :]
        lsplit = np.maximum.accumulate(lu, axis=0)
        del lu
        lsplit -= np.log(thr[sp])[None, :]
        lsplit /= np.log(ratio[sp])[None, :]
        np.floor(lsplit, out=lsplit)
        lsplit += 1.0
        np.maximum(lsplit, 0.0, out=lsplit)
        lsplit *= np.log(ratio[sp])[None, :]
    # Total return index before lp becomes the raw close.
    # Row by row: no (dates x securities) temporaries.
    dy = div_yield / TRADING_DAYS
    c0 = dy * first
    for t in range(T):
        lp[t] += dy * t - c0
    tri = lp[alive]
    np.exp(tri, out=tri)
    tri *= 100.0
    for t in range(T):
        lp[t] -= dy * t - c0
    # log close = lp + lp0 - lsplit; log raw shares = ls - lp0 + lsplit
    close = lp
    close += lp0[None, :]
    close[:, sp] -= lsplit
    np.exp(close, out=close)
    ls -= lp0[None, :]
    ls[:, sp] += lsplit
    del lsplit
    shares = np.exp(ls, out=ls)
    np.round(shares, out=shares)
    return close, shares, tri


def prices_frame(close: np.ndarray, shares: np.ndarray, tri: np.ndarray, abs_ret: np.ndarray, alive: np.ndarray,
                 turn: np.ndarray, rng: np.random.Generator, dates: np.ndarray, codes: np.ndarray,
                 categories: pd.Index) -> pd.DataFrame:
    """The ``prices`` rows of the alive cells, date-major.

    ``abs_ret`` and ``tri`` hold the alive cells in row-major order; volume is shares
    traded at a turnover ``turn`` per security, higher on big moves, and at most
    :data:`MAX_TURNOVER` of the shares outstanding on the day (``abs_ret`` is consumed). ``codes`` maps a column to its code in ``categories`` (all security ids).
    """
    c = close[alive]
    sh = shares[alive]
    t_i, sec_i = np.nonzero(alive)
    vol = rng.standard_normal(len(sec_i))
    vol *= 0.35
    abs_ret *= 25.0
    vol += abs_ret
    np.exp(vol, out=vol)
    vol *= sh
    vol *= turn[sec_i]
    # A big move multiplies the day's turnover by exp(25 |r|): without a bound a tiny name's
    # crash day traded 1,000x its shares (1.7e14, past the schema's plausibility bound).
    sh *= MAX_TURNOVER
    np.minimum(vol, sh, out=vol)
    del sh
    np.round(vol, out=vol)
    return pd.DataFrame({
        "security_id": pd.Categorical.from_codes(codes[sec_i], categories=categories),
        "date": dates[t_i],
        "close": c,
        "total_return_index": tri,
        "volume": vol,
    }, copy=False)


def shares_frame(shares: np.ndarray, alive: np.ndarray, first: np.ndarray, dates: np.ndarray, codes: np.ndarray,
                 categories: pd.Index) -> pd.DataFrame:
    """The ``shares`` rows: one where the raw count changes, and one on the listing day."""
    chg = np.zeros_like(alive)
    np.not_equal(shares[1:], shares[:-1], out=chg[1:])
    chg[first, np.arange(shares.shape[1])] = True
    chg &= alive
    s_sec, s_t = np.nonzero(chg.T)
    return pd.DataFrame({
        "security_id": pd.Categorical.from_codes(codes[s_sec], categories=categories),
        "date": dates[s_t],
        "shares_outstanding": shares[s_t, s_sec],
    })

"""Aggregating a basket: a ``(T, N)`` mask turned into weights, masked row sums and returns.

The masks themselves are built in :mod:`broadening.baskets` (which re-exports these
functions); this module only weighs and sums them, over cache-sized row blocks, either
scanning whole blocks or gathering single cells, whichever the fill of the touched columns
makes cheaper. A return of day ``t`` is always weighted with the mask (and market caps) of
day ``t - 1``, so no basket return looks ahead.
"""

from __future__ import annotations

import numpy as np

from broadening.market import Market
from broadening.panel import (
    StepPanel,
    block_columns,
    block_copies,
    block_copy,
    block_width,
    flat_takes,
    row_blocks,
)

__all__ = ["basket_weights", "masked_row_sums", "basket_returns"]


def _weights(market: Market, mask: np.ndarray, weighting: str, cols: np.ndarray) -> np.ndarray:
    m = mask[:, cols]
    if weighting == "cap":
        raw = np.where(m, market.market_cap[:, cols], 0.0)
    elif weighting == "equal":
        raw = np.where(m & market.alive[:, cols], 1.0, 0.0)
    else:
        raise ValueError(f"weighting: expected 'cap' or 'equal', got {weighting!r}")
    raw = np.where(np.isfinite(raw), raw, 0.0)
    total = raw.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, raw / np.where(total > 0, total, 1.0), 0.0)


def basket_weights(market: Market, mask: np.ndarray, weighting: str = "cap") -> np.ndarray:
    """Weights of a basket on each date, ``(T, N)``, rows summing to 1 (0 where empty).

    Parameters
    ----------
    mask : ndarray of bool, shape (T, N)
    weighting : {"cap", "equal"}
        Market-cap or equal weights among the mask's names with a known cap/price.
    """
    cols = np.flatnonzero(mask.any(axis=0))
    out = np.zeros(market.shape)
    out[:, cols] = _weights(market, mask, weighting, cols)
    return out


#: Below this fill of the columns a mask touches, gather its cells instead of scanning
#: those columns block by block (measured on the demo market: cells win at 11% fill,
#: the scan wins from about 25%).
_SPARSE = 0.2


def _layout(mask: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether to gather a mask's cells (sparse), and the columns it touches ``(N,)`` bool."""
    touched = mask.any(axis=0)
    return np.count_nonzero(mask) < _SPARSE * mask.shape[0] * max(1, np.count_nonzero(touched)), touched



def masked_row_sums(mask: np.ndarray, *panels: np.ndarray | StepPanel) -> tuple[np.ndarray, ...]:
    """Per-row sums of each panel over the mask's cells where every panel is finite.

    Masks that fill little of the columns they touch are summed over their cells only;
    the others over those columns, in row blocks.

    Parameters
    ----------
    mask : ndarray of bool, shape (T, N)
    *panels : ndarray or StepPanel, shape (T, N)

    Returns
    -------
    tuple of ndarray, each shape (T,)
        One sum per panel (0 for rows with no such cell), then the count of cells used.
    """
    T, N = mask.shape
    sparse, touched = _layout(mask)
    if sparse:
        flat = np.flatnonzero(mask)
        vals = flat_takes(panels, flat)
        ok = np.ones(flat.shape[0], dtype=bool)
        for v in vals:
            ok &= np.isfinite(v)
        r = flat[ok] // N
        sums = tuple(np.bincount(r, weights=v[ok], minlength=T) for v in vals)
        return (*sums, np.bincount(r, minlength=T).astype("float64"))
    cols = block_columns(touched)
    sums = tuple(np.zeros(T) for _ in panels)
    count = np.zeros(T)
    for rows in row_blocks(0, T, block_width(cols, N)):
        ok = np.array(mask[rows, cols])  # a copy: narrowed in place below
        vals = block_copies(panels, rows, cols)  # zeroed in place below
        for v in vals:
            ok &= np.isfinite(v)
        bad = ~ok
        for s, v in zip(sums, vals, strict=True):
            np.copyto(v, 0.0, where=bad)
            s[rows] = v.sum(axis=1)
        count[rows] = ok.sum(axis=1)
    return (*sums, count)


def basket_returns(market: Market, mask: np.ndarray, weighting: str = "cap", *, start: int = 0) -> np.ndarray:
    """Daily returns of a basket, ``(T,)``: day ``t`` earns with the weights of day ``t - 1``.

    Names held at ``t - 1`` without a return at ``t`` (delisted) are dropped and the rest
    re-weighted. Day 0, and days when the basket was empty the day before, are NaN.

    Parameters
    ----------
    mask : ndarray of bool, shape (T, N)
    weighting : {"cap", "equal"}
    start : int, default 0
        Compute only the returns of days after ``start`` (earlier days are NaN); a caller
        that needs the last year only skips the rest of the history.

    Returns
    -------
    ndarray, shape (T,)
    """
    if weighting not in ("cap", "equal"):
        raise ValueError(f"weighting: expected 'cap' or 'equal', got {weighting!r}")
    T, N = market.shape
    out = np.full(T, np.nan)
    start = max(0, int(start))
    if T - start < 2:
        return out
    held = mask[start:-1]
    source = (market.market_cap if weighting == "cap" else market.close)[start:]  # equal: any known price
    ret = market.returns[start + 1:]
    # weight at t - 1 times return at t, summed over names held at t - 1 with both known
    sparse, touched = _layout(held)
    if sparse:
        flat = np.flatnonzero(held)
        wv = np.take(source[:-1].reshape(-1), flat)
        rv = np.take(ret.reshape(-1), flat)
        ok = np.isfinite(wv) & (wv > 0) & np.isfinite(rv)
        if weighting == "equal":
            wv = np.ones_like(wv)
        r = flat[ok] // N
        wsum = np.bincount(r, weights=wv[ok], minlength=len(held))
        num = np.bincount(r, weights=wv[ok] * rv[ok], minlength=len(held))
    else:
        cols = block_columns(touched)
        wsum = np.zeros(len(held))
        num = np.zeros(len(held))
        for rows in row_blocks(0, len(held), block_width(cols, N)):
            wv, rv = block_copy(source, rows, cols), block_copy(ret, rows, cols)  # zeroed in place
            with np.errstate(invalid="ignore"):
                bad = ~(held[rows, cols] & np.isfinite(rv) & (wv > 0))
            if weighting == "equal":
                wv.fill(1.0)
            np.copyto(wv, 0.0, where=bad)
            np.copyto(rv, 0.0, where=bad)
            wsum[rows] = wv.sum(axis=1)
            rv *= wv
            num[rows] = rv.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[start + 1:] = np.where(wsum > 0, num / np.where(wsum > 0, wsum, 1.0), np.nan)
    return out

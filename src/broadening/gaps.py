"""Price gaps inside a security's life: carried forward on loading, re-cut at an as-of date.

Within a life (first to last price) a missing close is carried forward, and its total-return
index too (a zero return that day). The carried cells are kept (flat, row-major), so every
fill is counted and can be undone: a view cut at an earlier date ends a life at its last
*observed* price, not at a carry that only a later price justified.
"""

from __future__ import annotations

import numpy as np

from broadening.panel import ffill

__all__ = ["carry_gaps", "recarry", "recarry_lanes"]


def carry_gaps(
    close: np.ndarray, tri: np.ndarray, life: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Carry prices across gaps inside each security's life (its first to its last price).

    ``life`` (bool ``(T, N)``) is given for a lane-packed panel (a column's lives, whose
    first rows are prices, so a carry never crosses from one occupant to the next); a dense
    column's life runs from its first to its last price.

    Returns the carried ``close`` and ``tri``, the bool ``life`` panel and the carried
    cells as flat (row-major) indices.
    """
    T = close.shape[0]
    has = ~np.isnan(close)
    if life is None:
        first = np.argmax(has, axis=0)
        last = T - 1 - np.argmax(has[::-1], axis=0)
        rows = np.arange(T)[:, None]
        life = (rows >= first[None, :]) & (rows <= last[None, :])
    carried = np.flatnonzero(life & ~has)
    if len(carried):
        close = np.where(life, ffill(close), np.nan)
        tri = np.where(life, ffill(tri), np.nan)
    return close, tri, life, carried


def recarry(
    close: np.ndarray, tri: np.ndarray, shares: np.ndarray, carried: np.ndarray, keep: np.ndarray, t: int
) -> np.ndarray:
    """Redo the gap carries of a dense view cut to its first ``t`` rows and the columns ``keep``, in place.

    A gap that only a price after the cut closes is, as of the cut, the end of the life:
    those carries are undone and each touched column is carried again exactly as loading
    would (:func:`carry_gaps`); columns without a carried cell are already right. Returns
    the carried cells of the cut view (flat, row-major).
    """
    n_old = keep.shape[0]
    inside = carried[carried < t * n_old]
    r, c = np.divmod(inside, n_old)
    r, c = r[keep[c]], (np.cumsum(keep) - 1)[c[keep[c]]]
    if not len(r):
        return np.empty(0, dtype=np.int64)
    cols = np.unique(c)
    sub_close, sub_tri = close[:, cols], tri[:, cols]
    at = (r, np.searchsorted(cols, c))
    sub_close[at] = np.nan
    sub_tri[at] = np.nan
    sub_close, sub_tri, life, sub_carried = carry_gaps(sub_close, sub_tri)
    sub_shares = shares[:, cols]
    sub_shares[~life] = np.nan
    close[:, cols], tri[:, cols], shares[:, cols] = sub_close, sub_tri, sub_shares
    rows, j = np.divmod(sub_carried, len(cols))
    return np.sort(rows * close.shape[1] + cols[j])


def recarry_lanes(
    panels: list[np.ndarray], occupant: np.ndarray, lives: np.ndarray, lane: np.ndarray, carried: np.ndarray, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same for a lane-packed view cut to its first ``t`` rows (every column kept), in place.

    Only a life running past the cut can change: it now ends at its last price on or
    before the cut, so the carries after that price are undone in ``panels`` (cut float
    panels) and ``occupant``.

    Returns
    -------
    lives : ndarray, shape (S, 2)
        The lives as of the cut (a life starting after it is left as it was).
    carried : ndarray of int64
        The carried cells of the cut view.
    """
    N = occupant.shape[1]
    inside = carried[carried < t * N]
    lives = lives.copy()
    straddle = np.flatnonzero((lives[:, 0] < t) & (lives[:, 1] >= t))
    lives[straddle, 1] = t - 1
    if not len(inside) or not len(straddle):
        return lives, inside
    cset = set(inside.tolist())
    undone = []
    for s in straddle.tolist():
        c, r = int(lane[s]), t - 1
        while r > lives[s, 0] and r * N + c in cset:
            undone.append(r * N + c)
            r -= 1
        if r < t - 1:
            for p in panels:
                p[r + 1: t, c] = np.nan
            occupant[r + 1: t, c] = -1
            lives[s, 1] = r
    return lives, np.setdiff1d(inside, np.asarray(undone, dtype=np.int64), assume_unique=True)

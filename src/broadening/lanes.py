"""Lane packing: several securities, one after the other, in one column of a ``(T, N)`` panel.

Why: a dense panel has a column per security ever seen, so over 36 years of the whole US
market (25,000 securities, ~5,000 alive a day) four cells in five are empty. A *lane* is
a column that holds one security's life (first to last price), then, after at least
``gap`` empty rows, the next one's, so a panel is about as wide as the peak number of
securities alive at once and every ``(T, N)`` computation stays as vectorised as before.

The ``gap`` of all-NaN rows between two occupants keeps them apart for every trailing
window of at most ``gap`` rows (moving averages, momentum, growth over a lag, covariance
windows): such a window reaching back from one occupant's row finds only its own rows and
empty ones, exactly as in a dense column before the listing. Operations that run over the
whole column (forward fills, values in force, running sums) restart at each occupant's
first row instead (:mod:`broadening.market` does that).

Assignment is greedy interval partitioning: securities in order of their first row, each
into the lane that became free earliest (a heap), or a new lane when none is free yet. It
uses the fewest lanes possible for the given gap (the peak number of lives, each extended
by ``gap`` rows, that overlap).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

__all__ = ["LANE_GAP", "Packing", "assign_lanes", "lane_cells", "lane_labels", "occupant_panel", "pack"]

#: Empty rows at least between two occupants of a lane: above the longest per-security
#: look-back of the shipped configurations (momentum over 252 days, earnings growth over 252,
#: the 252-day tracking-error window, the 200-day moving average), with a month to spare.
#: ``tests/test_lanes.py`` fails if a shipped look-back exceeds it; a workspace loads with
#: the longest look-back of its own configurations when that is longer.
LANE_GAP = 273


def assign_lanes(first: np.ndarray, last: np.ndarray, gap: int = LANE_GAP) -> np.ndarray:
    """The lane of each security, given its first and last row.

    Parameters
    ----------
    first, last : ndarray of int, shape (S,)
        First and last row of each security's life (``first <= last``).
    gap : int
        Empty rows at least between one occupant's last row and the next one's first row
        (``next_first - prev_last - 1 >= gap``).

    Returns
    -------
    ndarray of int64, shape (S,)
        Lane numbers ``0 .. L - 1``, with ``L`` the fewest lanes that hold every life.
        Ties (same first row) go in the order of the input.
    """
    first = np.asarray(first, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64)
    if np.any(last < first):
        raise ValueError("assign_lanes: a life ends before it starts")
    if gap < 0:
        raise ValueError(f"assign_lanes: gap must be >= 0, got {gap}")
    lane = np.empty(first.shape[0], dtype=np.int64)
    free: list[tuple[int, int]] = []  # (first row a new occupant may start on, lane)
    n = 0
    for s in np.argsort(first, kind="stable").tolist():
        f = int(first[s])
        if free and free[0][0] <= f:
            _, k = heapq.heappop(free)
        else:
            k, n = n, n + 1
        lane[s] = k
        heapq.heappush(free, (int(last[s]) + gap + 1, k))
    return lane


def lane_cells(first: np.ndarray, last: np.ndarray, T: int, gap: int = LANE_GAP) -> int:
    """Cells (``T x lanes``) of a lane-packed panel of these lives (the dense one has ``T x S``)."""
    if len(first) == 0:
        return 0
    return T * (int(assign_lanes(first, last, gap).max()) + 1)


def occupant_panel(first: np.ndarray, last: np.ndarray, lane: np.ndarray, T: int, N: int) -> np.ndarray:
    """Int ``(T, N)``: the security (position in ``first``) occupying each cell, -1 where none
    (int16 for fewer than 32,767 securities, else int32).

    One pass down the rows applying each row's starts and ends (no strided column writes).
    """
    first = np.asarray(first, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64)
    lane = np.asarray(lane, dtype=np.int64)
    # int16 while the securities fit (the whole US market since 1990: ~25,000): half the bytes
    kind = np.int16 if first.shape[0] < np.iinfo(np.int16).max else np.int32
    occ = np.empty((T, N), dtype=kind)
    acc = np.full(N, -1, dtype=kind)
    who = np.arange(first.shape[0], dtype=kind)
    # lives end (the lane empties the row after a last row) before others start on a row
    ends = np.argsort(last, kind="stable")
    starts = np.argsort(first, kind="stable")
    e_ptr = np.searchsorted(last[ends] + 1, np.arange(T + 1), side="left")
    s_ptr = np.searchsorted(first[starts], np.arange(T + 1), side="left")
    for t in range(T):
        a, b = e_ptr[t], e_ptr[t + 1]
        if b > a:
            acc[lane[ends[a:b]]] = -1
        a, b = s_ptr[t], s_ptr[t + 1]
        if b > a:
            acc[lane[starts[a:b]]] = who[starts[a:b]]
        occ[t] = acc
    return occ


@dataclass
class Packing:
    """A lane packing of ``S`` securities over ``T`` rows.

    Attributes
    ----------
    lane : ndarray of int64, shape (S,)
        The column of each security.
    lives : ndarray of int64, shape (S, 2)
        Each security's first and last row.
    occupant : ndarray of int32, shape (T, N)
        The security in each cell, -1 where none.
    """

    lane: np.ndarray
    lives: np.ndarray
    occupant: np.ndarray

    @property
    def width(self) -> int:
        """Columns (lanes) of the packed panel."""
        return self.occupant.shape[1]


def pack(rows: np.ndarray, secs: np.ndarray, S: int, T: int, layout: str, gap: int,
         saving: float = 0.2) -> Packing | None:
    """The lane packing of ``S`` securities priced in cells ``(rows, secs)``, or None for dense.

    Parameters
    ----------
    rows, secs : ndarray of int, shape (P,)
        Row and security of every price.
    layout : {"auto", "dense", "lanes"}
        ``auto`` packs only when it saves at least ``saving`` of the dense cells.
    gap : int
        See :func:`assign_lanes`.
    """
    if int(gap) < 1:
        raise ValueError(f"gap: at least 1 row between occupants (a daily return looks back one), got {gap}")
    if layout == "dense" or S == 0:
        return None
    first = np.full(S, T, dtype=np.int64)
    last = np.full(S, -1, dtype=np.int64)
    np.minimum.at(first, secs, rows)
    np.maximum.at(last, secs, rows)
    lane = assign_lanes(first, last, int(gap))
    N = int(lane.max()) + 1
    if layout == "auto" and N > (1.0 - saving) * S:
        return None
    return Packing(lane=lane, lives=np.stack([first, last], axis=1), occupant=occupant_panel(first, last, lane, T, N))


def lane_labels(n: int) -> np.ndarray:
    """Column labels of ``n`` lanes: ``lane0 .. lane<n-1>``."""
    return np.array([f"lane{k}" for k in range(n)], dtype=str) if n else np.empty(0, dtype=str)

"""Primitives over ``(T, N)`` date x security panels: cache-sized row blocks and running scans.

Why this module exists: on a panel of 18 million cells (the demo market) the cost of a
signal is set by memory traffic, not arithmetic. Two habits keep it low:

- **Row blocks.** A reduction ``(T, N) -> (T,)`` that needs temporaries (a masked copy, a
  comparison) works through :func:`row_blocks` of a few hundred kilobytes each, so the
  temporaries stay in cache and are reused, instead of allocating (and page-faulting)
  whole-panel arrays that are read once.
- **Row scans.** Running sums and maxima down the date axis loop over rows with one
  vectorised operation per row; ``np.cumsum(..., axis=0)`` and ``ufunc.accumulate`` down
  axis 0 of a C-ordered panel stride across memory and were measured ~8x slower here.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["row_blocks", "ffill", "running_max", "running_sum_positive", "window_sums"]

#: Cells per row block: ~1 MB of float64, about a core's L2 cache.
BLOCK_CELLS = 1 << 17


def row_blocks(start: int, stop: int, width: int, *, cells: int = BLOCK_CELLS) -> Iterator[slice]:
    """Row slices covering ``start:stop`` whose ``rows x width`` blocks hold about ``cells`` cells.

    Parameters
    ----------
    start, stop : int
        The rows to cover.
    width : int
        Columns each block will touch (sets how many rows fit).
    cells : int, optional
        Target cells per block.

    Yields
    ------
    slice
    """
    step = max(1, cells // max(1, int(width)))
    for lo in range(start, stop, step):
        yield slice(lo, min(stop, lo + step))


def ffill(panel: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs down the date axis (axis 0) of a ``(T, N)`` panel (a float64 copy)."""
    out = np.array(panel, dtype="float64", copy=True)
    # one vectorised row copy per date: measured ~7x faster than a 2-D fancy-index gather
    # on a (5,000 x 3,000) panel; leading NaNs stay NaN
    for t in range(1, out.shape[0]):
        row = out[t]
        np.copyto(row, out[t - 1], where=np.isnan(row))
    return out


def running_max(events: np.ndarray, keep: np.ndarray, fill: int = -1) -> np.ndarray:
    """Running maximum down the rows of an integer panel (in place), ``fill`` where not ``keep``.

    The maximum runs on regardless of ``keep``; ``keep`` only masks the output.

    Parameters
    ----------
    events : ndarray of int, shape (T, N)
        Overwritten with the result.
    keep : ndarray of bool, shape (T, N)
    fill : int, default -1

    Returns
    -------
    ndarray, the ``events`` array.
    """
    acc = np.full(events.shape[1], fill, dtype=events.dtype)
    drop = np.empty(events.shape[1], dtype=bool)
    for t in range(events.shape[0]):
        row = events[t]
        np.maximum(acc, row, out=acc)
        np.copyto(row, acc)
        np.logical_not(keep[t], out=drop)
        np.copyto(row, fill, where=drop)
    return events


def running_sum_positive(delta: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Bool ``(T, N)``: the running sum of ``delta`` down the rows is positive, and ``keep``."""
    out = np.empty(delta.shape, dtype=bool)
    acc = np.zeros(delta.shape[1], dtype=np.int32)
    for t in range(delta.shape[0]):
        acc += delta[t]
        np.greater(acc, 0, out=out[t])
        out[t] &= keep[t]
    return out


def window_sums(values: np.ndarray, finite: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing ``window``-row sums of the finite cells of a panel, and how many there were.

    One pass with a running accumulator row (no whole-panel temporaries).

    Parameters
    ----------
    values : ndarray, shape (T, N)
    finite : ndarray of bool, shape (T, N)
        Cells to include (the others count as absent).
    window : int

    Returns
    -------
    sums, counts : ndarray, shape (T, N)
    """
    T, N = values.shape
    sums = np.empty((T, N))
    counts = np.empty((T, N))
    acc = np.zeros(N)
    n = np.zeros(N)
    v = np.empty(N)
    for t in range(T):
        np.copyto(v, values[t])
        np.copyto(v, 0.0, where=~finite[t])
        acc += v
        n += finite[t]
        if t >= window:
            np.copyto(v, values[t - window])
            np.copyto(v, 0.0, where=~finite[t - window])
            acc -= v
            n -= finite[t - window]
        sums[t] = acc
        counts[t] = n
    return sums, counts

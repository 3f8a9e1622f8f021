"""The price and share panels of a warehouse: long rows scattered into ``(T, N)`` arrays.

:func:`read_panels` reads the ``prices`` and ``shares`` rows of given securities on given
trading dates and builds the panels :class:`broadening.market.Market` holds: close and total
return index carried across gaps inside a life (:mod:`broadening.gaps`), optionally volume,
and the shares outstanding in force each day. The columns are one per security or, when
lane packing pays (:mod:`broadening.lanes`), lanes that hold securities one after another;
every value in force (a carry, a share count) restarts at each occupant's first row.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from broadening.gaps import carry_gaps
from broadening.lanes import Packing, pack
from broadening.panel import ffill


@dataclass
class Panels:
    """What :func:`read_panels` returns.

    Attributes
    ----------
    close, total_return_index : ndarray, shape (T, N)
        NaN outside a life, carried forward across gaps inside it.
    volume : ndarray, shape (T, N), or None
        As stored (not carried); None unless asked for.
    shares : ndarray, shape (T, N)
        Shares outstanding in force each day of a life (NaN before the first known count).
    carried : ndarray of int64
        Flat (row-major) cells of ``close`` carried across a gap.
    missing_shares : int
        Days of a life without a known share count.
    lanes : Packing or None
        The packing (None: a column per security).
    """

    close: np.ndarray
    total_return_index: np.ndarray
    volume: np.ndarray | None
    shares: np.ndarray
    carried: np.ndarray
    missing_shares: int
    lanes: Packing | None


def read_panels(con: duckdb.DuckDBPyConnection, dates: np.ndarray, ids: np.ndarray, *, layout: str, gap: int,
                saving: float, volume: bool = False) -> Panels:
    """The panels of securities ``ids`` (sorted) over trading ``dates`` (the as-of cut).

    Parameters
    ----------
    con : DuckDB connection
        A warehouse's connection (``prices`` and ``shares`` tables).
    dates : ndarray of datetime64[D], shape (T,)
    ids : ndarray of str, shape (S,)
    layout, gap, saving
        As :func:`broadening.lanes.pack`: ``"auto"`` packs when that saves ``saving`` of
        the cells, with ``gap`` empty rows at least between two occupants.
    volume : bool, default False
        Also read the ``volume`` panel.

    Returns
    -------
    Panels
    """
    T, S = len(dates), len(ids)
    con.register("_ids", pd.DataFrame({"security_id": ids, "i": np.arange(S, dtype=np.int32)}))
    con.register("_dates", pd.DataFrame({"date": dates.astype("datetime64[ns]"), "j": np.arange(T, dtype=np.int32)}))
    try:
        arr = con.execute(
            f"SELECT d.j, s.i, p.close, p.total_return_index{', p.volume' if volume else ''} FROM prices p "
            "JOIN _ids s USING (security_id) JOIN _dates d ON p.date = CAST(d.date AS DATE)"
        ).fetchnumpy()
        # counts dated after the last row fall outside the panel below (the as-of cut)
        sh = con.execute(
            "SELECT s.i, sh.date, sh.shares_outstanding FROM shares sh JOIN _ids s USING (security_id) "
            "ORDER BY s.i, sh.date"
        ).fetchnumpy()
    finally:
        con.unregister("_ids")
        con.unregister("_dates")
    j, i = np.asarray(arr["j"], dtype=np.int64), np.asarray(arr["i"], dtype=np.int64)
    lanes = pack(j, i, S, T, layout, gap, saving)
    N = S if lanes is None else lanes.width
    col = i if lanes is None else lanes.lane[i]
    # one flat cell index for the scatters (2-D fancy indexing would rebuild it each time)
    flat = j * N + col
    del j, i, col
    close = np.full((T, N), np.nan)
    tri = np.full((T, N), np.nan)
    close.ravel()[flat] = f64(arr["close"])
    tri.ravel()[flat] = f64(arr["total_return_index"])
    vol = None
    if volume:
        vol = np.full((T, N), np.nan)
        vol.ravel()[flat] = f64(arr["volume"])
    del arr, flat  # the long rows are in the panels now

    close, tri, life, carried = carry_gaps(close, tri, None if lanes is None else lanes.occupant >= 0)
    shares = shares_in_force(sh, dates, (T, N), lanes)
    shares = np.where(life, shares, np.nan)
    missing = int(np.count_nonzero(life & np.isnan(shares)))
    return Panels(close, tri, vol, shares, carried, missing, lanes)


def shares_in_force(sh: dict, dates: np.ndarray, shape: tuple[int, int], lanes: Packing | None) -> np.ndarray:
    """Shares outstanding in force each day ``(T, N)`` from the change rows ``sh`` (``i``, ``date``,
    ``shares_outstanding``, sorted by security and date); NaN before a security's first count.

    A count effective before the window starts applies from the first date; in a lane, a
    count before the listing applies from the occupant's first row, one after its last row
    never (the column is someone else's by then).
    """
    T, _ = shape
    shares = np.full(shape, np.nan)
    if not len(sh["i"]):
        return shares
    si = np.asarray(sh["i"], dtype=np.int64)
    sd = np.searchsorted(dates, np.asarray(sh["date"]).astype("datetime64[D]"), side="left")
    ok = sd < T
    restart = None
    if lanes is not None:
        sd = np.maximum(sd, lanes.lives[si, 0])
        ok &= sd <= lanes.lives[si, 1]
        si = lanes.lane[si]
        restart = (lanes.lives[:, 0], lanes.lane)
    shares[sd[ok], si[ok]] = f64(sh["shares_outstanding"])[ok]
    return ffill(shares, restart=restart)


def f64(a) -> np.ndarray:
    """A fetched DuckDB column as float64, NULL as NaN."""
    if isinstance(a, np.ma.MaskedArray):
        return a.filled(np.nan).astype("float64")
    return np.asarray(a, dtype="float64")


__all__ = ["Panels", "read_panels", "shares_in_force"]

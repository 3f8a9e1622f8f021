"""The market layer: an as-of view of the warehouse as aligned dates x securities panels.

Everything downstream (signals, playbook, backtest) works on :class:`Market`: numpy
arrays of shape ``(T, N)`` over the trading dates ``market.dates`` (``T``) and the
securities ``market.ids`` (``N``), so whole-panel array math replaces per-security loops.

Point-in-time rules
-------------------
- Only prices dated on or before ``asof`` are loaded.
- A fundamental becomes visible on the first trading date on or after its
  ``available_date`` (never its ``period_end``), and stays until a later quarter is
  available (a late-filed older quarter never overwrites a newer one).
- Membership is a mask per index: ``start <= date < end``.
- Security metadata that reveals the future (a ``last_date``/``delisting_return`` after
  ``asof``) is hidden.

Gaps: within a security's life (first to last price) a missing close is carried forward
and its total-return index too (a zero return that day); every such fill is counted in
``market.drops`` so nothing is dropped silently.

Layouts: a *dense* market has one column per security (``ids``). A *lane-packed* market
(:mod:`broadening.lanes`, for long histories where most securities are dead most of the
time) lets a column hold several securities one after the other: ``occupant`` says which
row of ``securities`` fills each cell, :meth:`Market.cell` spreads a per-security vector
over the cells, and every expanding operation (carries, values in force, membership)
restarts at each occupant's first row. Per-security answers (``first_index``,
``last_index``, ``delisted``, ``securities``) are one row per security in both layouts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np
import pandas as pd

from broadening.asof import point_in_time, rows_through
from broadening.errors import BroadeningError, EmptyWarehouseError
from broadening.filings import date_positions, filing_events, usable_quarters
from broadening.gaps import recarry, recarry_lanes
from broadening.lanes import LANE_GAP, lane_labels
from broadening.market_panels import read_panels
from broadening.panel import StepPanel, running_sum_positive
from broadening.schema import FLOW_FIELDS, FUNDAMENTAL_FIELDS, TABLE_ORDER
from broadening.warehouse import Warehouse

T_ = TypeVar("T_")


@dataclass
class Market:
    """An as-of, point-in-time view of the market as aligned panels.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
        Trading dates (every date with at least one price), ascending.
    ids : ndarray of str, shape (N,)
        Column labels: the security ids, ascending (dense), or ``lane<k>`` (lane-packed).
    securities : DataFrame
        Security metadata indexed by ``security_id``, ascending, one row per security
        (in the order of ``ids`` when dense).
    close : ndarray, shape (T, N)
        Raw close; NaN outside a security's life, carried forward across gaps inside it.
    total_return_index : ndarray, shape (T, N)
        Total-return index, same conventions as ``close``.
    shares : ndarray, shape (T, N)
        Shares outstanding in force each day (NaN before the first known count).
    fundamentals : DataFrame
        The long fundamentals table as of ``asof`` (rows with ``available_date <= asof``).
    membership : DataFrame
        Membership intervals started on or before ``asof``.
    series_table : DataFrame
        Long ``series`` table up to ``asof``.
    synthetic : bool
        Whether the data is synthetic.
    provenance : DataFrame
        Source and time of ingest per table.
    drops : dict
        Counts of everything filled or filtered while building the panels.
    volume : ndarray, shape (T, N), or None
        Shares traded (NaN on a carried day); None unless loaded with ``volume=True``: no
        computation of the chain reads it, and it is a whole float panel (533 MiB on us-all).
    carried : ndarray of int64
        The cells of ``close`` (flat, row-major) carried across a gap rather than observed.
    occupant, lane, lives : ndarray or None
        Lane-packed only (None when dense): the row of ``securities`` in each cell (int16/32
        ``(T, N)``, -1: none), the column of each security and its first and last row.
    lane_gap : int
        Lane-packed: the empty rows at least between two occupants of a column, so the
        longest trailing window a computation may use over a column (0 when dense).
    """

    dates: np.ndarray
    ids: np.ndarray
    securities: pd.DataFrame
    close: np.ndarray
    total_return_index: np.ndarray
    shares: np.ndarray
    fundamentals: pd.DataFrame
    membership: pd.DataFrame
    series_table: pd.DataFrame
    synthetic: bool = False
    provenance: pd.DataFrame = field(default_factory=pd.DataFrame)
    drops: dict[str, int] = field(default_factory=dict)
    volume: np.ndarray | None = field(default=None, repr=False)
    carried: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), repr=False)
    occupant: np.ndarray | None = field(default=None, repr=False)
    lane: np.ndarray | None = field(default=None, repr=False)
    lives: np.ndarray | None = field(default=None, repr=False)
    lane_gap: int = 0
    _cache: dict = field(default_factory=dict, repr=False)
    _locks: dict = field(default_factory=dict, repr=False)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_tables(
        cls,
        tables: dict[str, pd.DataFrame],
        *,
        asof: str | pd.Timestamp | None = None,
        synthetic: bool = False,
        **load,
    ) -> Market:
        """Build a market from in-memory canonical tables (validated on the way in).

        Handy in notebooks and tests: the same validation and loading path as the
        warehouse, in an in-memory DuckDB (``load``: :func:`load_market`'s layout options).
        """
        with Warehouse(":memory:") as wh:
            wh.ingest(tables, source="memory", synthetic=synthetic)
            return load_market(wh, asof=asof, **load)

    # -- memoisation ------------------------------------------------------------------
    def memo(self, key: tuple, build: Callable[[], T_]) -> T_:
        """The value cached under ``key``, built once by ``build()`` on first use.

        Thread-safe: each key has its own lock, so signal families computed on several
        threads build every shared panel once, while different panels build in parallel
        (their dependencies form a DAG, so per-key locks cannot deadlock).
        """
        try:
            return self._cache[key]
        except KeyError:
            pass
        with self._locks_guard:
            lock = self._locks.setdefault(key, threading.RLock())  # re-entry fails loudly, never hangs
        with lock:
            if key not in self._cache:
                self._cache[key] = build()
        return self._cache[key]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_locks_guard", None)  # locks do not pickle; a copy gets fresh ones
        state["_locks"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._locks_guard = threading.Lock()

    # -- shape and labels --------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape

    @property
    def asof(self) -> pd.Timestamp:
        return pd.Timestamp(self.dates[-1])

    @cached_property
    def index(self) -> pd.DatetimeIndex:
        """The dates as a pandas DatetimeIndex (for returning pandas objects)."""
        return pd.DatetimeIndex(self.dates.astype("datetime64[ns]"), name="date")

    def frame(self, panel: np.ndarray) -> pd.DataFrame:
        """Wrap a ``(T, N)`` panel as a DataFrame indexed by date with security columns."""
        return pd.DataFrame(panel, index=self.index, columns=pd.Index(self.ids, name="security_id"))

    def series_of(self, values: np.ndarray, name: str | None = None) -> pd.Series:
        """Wrap a length-``T`` vector as a Series indexed by date."""
        return pd.Series(values, index=self.index, name=name)

    def date_position(self, date: str | pd.Timestamp, side: str = "right") -> int:
        """Position of the last trading date on or before ``date`` (``side='right'``)."""
        d = np.datetime64(pd.Timestamp(date).date(), "D")
        return int(np.searchsorted(self.dates, d, side=side)) - (1 if side == "right" else 0)

    # -- derived panels ----------------------------------------------------------------
    @cached_property
    def alive(self) -> np.ndarray:
        """Bool ``(T, N)``: the security has a (possibly carried) price that day."""
        return ~np.isnan(self.close)

    @cached_property
    def returns(self) -> np.ndarray:
        """Daily total returns ``(T, N)``; NaN on a security's first day and outside its life."""
        tri = self.total_return_index
        out = np.empty_like(tri, dtype="float64")
        out[0] = np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(tri[1:], tri[:-1], out=out[1:])
        out[1:] -= 1.0
        return out

    @cached_property
    def market_cap(self) -> np.ndarray:
        """Market cap ``(T, N)`` = close x shares outstanding in force that day."""
        return self.close * self.shares

    @property
    def packed(self) -> bool:
        """Whether a column may hold several securities (lane-packed layout)."""
        return self.occupant is not None

    @cached_property
    def security_ids(self) -> np.ndarray:
        """The security ids, one per row of ``securities`` (ascending), shape (S,)."""
        return self.securities.index.to_numpy().astype(str)

    @cached_property
    def first_index(self) -> np.ndarray:
        """Row of each security's first price, shape (S,) (rows of ``securities``)."""
        return self.lives[:, 0] if self.packed else np.argmax(self.alive, axis=0)

    @cached_property
    def last_index(self) -> np.ndarray:
        """Row of each security's last price, shape (S,) (rows of ``securities``)."""
        if self.packed:
            return self.lives[:, 1]
        T = self.close.shape[0]
        return T - 1 - np.argmax(self.alive[::-1], axis=0)

    @cached_property
    def delisted(self) -> np.ndarray:
        """Bool (S,): the security stopped trading before the last date (as of ``asof``)."""
        return self.last_index < self.close.shape[0] - 1

    @cached_property
    def columns(self) -> np.ndarray:
        """The column of each security, shape (S,) (``arange(N)`` when dense)."""
        return self.lane if self.packed else np.arange(self.shape[1])

    def cell(self, values: np.ndarray, fill=None) -> np.ndarray:
        """A per-security vector ``(S,)`` over the cells: ``(1, N)`` when dense (a view),
        else ``(T, N)`` with each occupant's value, ``fill`` (default NaN, False or '') elsewhere."""
        values = np.asarray(values)
        if not self.packed:
            return values[None, :]
        if fill is None:
            fill = False if values.dtype == bool else "" if values.dtype.kind in "OUS" else np.nan
        ext = np.append(values, np.asarray([fill], dtype=values.dtype))
        occ = self.occupant
        out = np.empty(occ.shape, dtype=ext.dtype)
        # by row blocks: a whole-panel take would first widen the int16 occupants to a
        # (T, N) intp temporary (557 MiB and ~1 s of fresh pages on us-all)
        step = max(1, (1 << 20) // max(occ.shape[1], 1))
        for lo in range(0, occ.shape[0], step):
            np.take(ext, occ[lo:lo + step], out=out[lo:lo + step])
        return out

    def occupants_at(self, rows) -> np.ndarray:
        """The row of ``securities`` in each column on ``rows``, -1 for none; shape of ``rows`` x N."""
        if self.packed:
            return self.occupant[rows]
        ar = np.arange(self.shape[1])
        return np.broadcast_to(ar, np.shape(np.arange(self.shape[0])[rows]) + ar.shape)

    def ids_at(self, row: int) -> np.ndarray:
        """Security id of each column on ``row`` (``''`` where a lane is empty), shape (N,)."""
        occ = self.occupants_at(row)
        return np.where(occ >= 0, self.security_ids[np.maximum(occ, 0)], "")

    def security_rows(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """Rows in ``securities`` of ``ids`` and whether each is known, shape (len(ids),) each."""
        ids = np.asarray(ids).astype(str)
        S = self.security_ids.shape[0]
        pos = np.searchsorted(self.security_ids, ids)
        ok = (pos < S) & (self.security_ids[np.minimum(pos, max(S - 1, 0))] == ids) if S else np.zeros(len(ids), bool)
        return np.minimum(pos, max(S - 1, 0)), ok

    def require_lookback(self, rows: int, what: str) -> None:
        """Refuse a trailing window over a column longer than the lanes' gap (it would mix occupants).

        Raises
        ------
        BroadeningError
            On a lane-packed market whose ``lane_gap`` is below ``rows``.
        """
        if self.packed and int(rows) > self.lane_gap:
            raise BroadeningError(
                f"{what}: a look-back of {int(rows)} rows exceeds this lane-packed market's gap of "
                f"{self.lane_gap}; load it with load_market(..., gap={int(rows)}) or layout='dense'")

    def members(self, index_id: str) -> np.ndarray:
        """Bool ``(T, N)`` membership mask of ``index_id``: ``start <= date < end``, and alive.

        Raises
        ------
        EmptyWarehouseError
            If no membership is stored for ``index_id``.
        """
        def build() -> np.ndarray:
            m = self.membership[self.membership["index_id"] == index_id]
            if m.empty:
                known = ", ".join(sorted(self.membership["index_id"].unique())) or "none"
                raise EmptyWarehouseError(f"no membership stored for index '{index_id}' (indexes: {known})")
            T, N = self.shape
            srow, ok = self.security_rows(m["security_id"].to_numpy())
            col = self.columns[srow]
            start = date_positions(self.dates, m["start"].to_numpy())
            end = date_positions(self.dates, m["end"].fillna(pd.Timestamp("2262-01-01")).to_numpy())
            if self.packed:
                # an interval counts only inside its occupant's life (an open end must not run
                # into the lane's next occupant)
                start = np.maximum(start, self.first_index[srow])
                end = np.minimum(end, self.last_index[srow] + 1)
                ok &= start < end
            # +1 at start, -1 at end; a running sum > 0 is inside an interval (they never overlap)
            delta = np.zeros((T + 1, N), dtype=np.int8)
            np.add.at(delta, (start[ok], col[ok]), 1)
            np.add.at(delta, (end[ok], col[ok]), -1)
            return running_sum_positive(delta[:-1], self.alive)

        return self.memo(("members", index_id), build)

    def has_index(self, index_id: str) -> bool:
        return bool((self.membership["index_id"] == index_id).any())

    def fundamental(self, field_name: str, ttm: bool = False) -> np.ndarray:
        """Point-in-time fundamental panel ``(T, N)``, forward-filled from availability.

        Parameters
        ----------
        field_name : str
            One of the fundamentals columns (revenue, net_income, eps, book_equity,
            total_debt, operating_income, capex).
        ttm : bool, default False
            For flows, the trailing-twelve-month sum of the last four consecutive quarters
            (NaN unless four quarters spanning about a year are available). Ignored for
            balance-sheet stocks.

        Returns
        -------
        ndarray, shape (T, N)
            The latest value available on each date; NaN before the first one.
        """
        steps = self.fundamental_steps(field_name, ttm=ttm)
        return self.memo(("fund", field_name, ttm and field_name in FLOW_FIELDS), lambda: np.asarray(steps))

    def fundamental_steps(self, field_name: str, ttm: bool = False) -> StepPanel:
        """The same point-in-time panel as :meth:`fundamental`, as a lazily gathered :class:`StepPanel`.

        Index it by blocks (``steps[rows, cols]``) to work without building the whole
        ``(T, N)`` float panel; the event-in-force index behind it is shared by every field,
        plain and TTM (see :meth:`_fundamental_events`).
        """
        if field_name not in FUNDAMENTAL_FIELDS:
            raise KeyError(f"unknown fundamental '{field_name}' (known: {', '.join(FUNDAMENTAL_FIELDS)})")
        ttm = ttm and field_name in FLOW_FIELDS
        def build() -> StepPanel:
            long = self._fundamentals_long(ttm)
            # a blank field in a filing carries the previous value, as if the row were absent
            vals = long[field_name].groupby(long["security_id"], sort=False).ffill().to_numpy(dtype="float64")
            index, table_rows = self._fundamental_events()
            at = table_rows[ttm]
            return StepPanel(index, np.where(at >= 0, np.append(vals, np.nan)[at], np.nan))

        return self.memo(("fund_steps", field_name, ttm), build)

    def _fundamentals_long(self, ttm: bool) -> pd.DataFrame:
        """The quarters usable as of each date, in availability order within each security.

        With ``ttm`` the flows are trailing four-quarter sums (NaN unless the four quarters
        are consecutive, spanning about 273 days) known once their latest quarter is.
        """
        return self.memo(("fund_long", ttm), lambda: usable_quarters(self.fundamentals, ttm))

    def _fundamental_events(self) -> tuple[np.ndarray, dict[bool, np.ndarray]]:
        """One timeline of filing events for both fundamentals tables (plain and TTM).

        Returns
        -------
        in_force : ndarray of int32, shape (T, N)
            The combined event in force each day (-1: none yet, or not alive).
        rows : dict
            For each table (``ttm`` False/True), the row of :meth:`_fundamentals_long` in
            force at each combined event (-1 while that table has none).

        Every field of either table is then one gather through the same index, so the
        ``(T, N)`` index is built once, and blocks of several fields share one gather.
        """
        def build():
            tables = {}
            for ttm in (False, True):
                long = self._fundamentals_long(ttm)
                srow, ok = self.security_rows(long["security_id"].to_numpy())
                tables[ttm] = (srow, ok, date_positions(self.dates, long["available_date"].to_numpy()), len(long))
            return filing_events(tables, self.columns, self.alive, self.lives if self.packed else None)

        return self.memo(("fund_events",), build)

    # -- series ------------------------------------------------------------------------
    @property
    def series_ids(self) -> list[str]:
        return sorted(self.series_table["series_id"].unique())

    def series(self, series_id: str) -> pd.Series:
        """One macro/credit series as a Series indexed by date (up to ``asof``)."""
        s = self.series_table[self.series_table["series_id"] == series_id]
        if s.empty:
            raise KeyError(f"no series '{series_id}' (stored: {', '.join(self.series_ids) or 'none'})")
        return pd.Series(s["value"].to_numpy(), index=pd.DatetimeIndex(s["date"], name="date"), name=series_id).sort_index()

    # -- as-of slicing -----------------------------------------------------------------
    def until(self, date: str | pd.Timestamp) -> Market:
        """The view as it was on ``date``: panels cut there, later information removed."""
        asof = pd.Timestamp(date)
        t = rows_through(self.dates, asof)
        if t <= 0:
            raise EmptyWarehouseError(f"no prices on or before {asof.date()}")
        if self.packed:
            return self._until_packed(asof, t)
        keep = ~np.all(np.isnan(self.close[:t]), axis=0)
        close, tri, shares = self.close[:t, keep], self.total_return_index[:t, keep], self.shares[:t, keep]
        carried = recarry(close, tri, shares, self.carried, keep, t)
        known = point_in_time(
            self.securities[keep], self.fundamentals, self.membership, self.series_table, asof
        )
        return Market(
            dates=self.dates[:t], ids=self.ids[keep], securities=known.securities,
            close=close, total_return_index=tri, shares=shares,
            volume=None if self.volume is None else self.volume[:t, keep],
            fundamentals=known.fundamentals, membership=known.membership, series_table=known.series,
            synthetic=self.synthetic, provenance=self.provenance, drops=dict(self.drops), carried=carried,
        )

    def _until_packed(self, asof: pd.Timestamp, t: int) -> Market:
        """:meth:`until` of a lane-packed market: every lane kept, the securities listed by then."""
        close, tri, shares = self.close[:t].copy(), self.total_return_index[:t].copy(), self.shares[:t].copy()
        occupant = self.occupant[:t].copy()
        lives, carried = recarry_lanes([close, tri, shares], occupant, self.lives, self.lane, self.carried, t)
        keep = lives[:, 0] < t
        renumber = np.append(np.cumsum(keep) - 1, -1).astype(occupant.dtype)  # occupant -1 stays -1
        known = point_in_time(
            self.securities[keep], self.fundamentals, self.membership, self.series_table, asof
        )
        return Market(
            dates=self.dates[:t], ids=self.ids, securities=known.securities,
            close=close, total_return_index=tri, shares=shares,
            volume=None if self.volume is None else self.volume[:t].copy(),
            fundamentals=known.fundamentals, membership=known.membership, series_table=known.series,
            synthetic=self.synthetic, provenance=self.provenance, drops=dict(self.drops), carried=carried,
            occupant=np.take(renumber, occupant), lane=self.lane[keep], lives=lives[keep], lane_gap=self.lane_gap,
        )

    def summary(self) -> dict[str, object]:
        T, N = self.shape
        return {
            "dates": T, "securities": len(self.securities), "columns": N,
            "start": str(self.dates[0]), "asof": str(self.dates[-1]),
            "synthetic": self.synthetic, "drops": dict(self.drops),
        }


#: ``layout="auto"`` packs lanes when that saves at least this share of the dense cells.
PACK_SAVING = 0.2


def load_market(
    wh: Warehouse,
    asof: str | pd.Timestamp | None = None,
    start: str | pd.Timestamp | None = None,
    calendar: np.ndarray | None = None,
    *,
    layout: str = "auto",
    gap: int = LANE_GAP,
    volume: bool = False,
) -> Market:
    """Load an as-of :class:`Market` from a warehouse (see module docstring).

    Parameters
    ----------
    wh : Warehouse
    asof : date, optional
        The view as of this date (default: the last price date stored).
    start : date, optional
        First date of the panels (default: the first price date stored).
    calendar : ndarray of datetime64[D], optional
        The trading dates (default: every date with a price in ``wh``); a warehouse holding
        one block of a larger market gets the whole market's dates, so its panels align.
    layout : {"auto", "dense", "lanes"}
        A column per security, or lane-packed (:mod:`broadening.lanes`; ``auto``: when that
        saves :data:`PACK_SAVING` of the cells), ``gap`` empty rows at least between occupants.
    volume : bool, default False
        Also load the ``volume`` panel (no computation of the chain reads it).

    Raises
    ------
    EmptyWarehouseError
        When the warehouse holds no prices, or ``asof`` is before the first one or before ``start``.
    """
    if layout not in ("auto", "dense", "lanes"):
        raise ValueError(f"layout: expected auto, dense or lanes, got {layout!r}")
    wh.require_data()
    lo, hi = wh.date_range()
    asof_ts = pd.Timestamp(asof) if asof is not None else hi
    start_ts = pd.Timestamp(start) if start is not None else lo
    if asof_ts < lo:
        raise EmptyWarehouseError(f"--asof {asof_ts.date()} is before the first price ({lo.date()})")
    if start_ts > asof_ts:
        raise EmptyWarehouseError(f"start {start_ts.date()} is after as-of {asof_ts.date()}")
    con = wh.con
    per_day = con.execute(
        "SELECT date, count(*) AS n FROM prices WHERE date >= ? GROUP BY date ORDER BY date", [start_ts.date()]
    ).fetchnumpy()
    priced = np.asarray(per_day["date"]).astype("datetime64[D]")
    all_dates = priced
    if calendar is not None:
        all_dates = np.asarray(calendar).astype("datetime64[D]")
        all_dates = all_dates[all_dates >= np.datetime64(start_ts.date(), "D")]
    t = rows_through(all_dates, asof_ts)  # the as-of cut of the panels
    dates = all_dates[:t]
    prices_after_asof = int(np.asarray(per_day["n"])[rows_through(priced, asof_ts):].sum())
    ids = np.array(
        [s for (s,) in con.execute(
            "SELECT DISTINCT security_id FROM prices WHERE date BETWEEN ? AND ? ORDER BY 1",
            [dates[0].item(), dates[-1].item()],
        ).fetchall()] if t else [],
        dtype=object,
    ).astype(str)
    p = read_panels(con, dates, ids, layout=layout, gap=gap, saving=PACK_SAVING, volume=volume)
    lanes = p.lanes
    sec = wh.table("securities").set_index("security_id").reindex(ids)
    sec.index.name = "security_id"
    sec["is_bdc"] = sec["is_bdc"].fillna(False).astype(bool)
    fund = wh.table("fundamentals")
    known = point_in_time(sec, fund, wh.table("membership"), wh.table("series"), asof_ts)
    packing = {} if lanes is None else {
        "occupant": lanes.occupant, "lane": lanes.lane, "lives": lanes.lives, "lane_gap": int(gap)}
    return Market(
        dates=dates, ids=ids if lanes is None else lane_labels(lanes.width), securities=known.securities, **packing,
        close=p.close, total_return_index=p.total_return_index, volume=p.volume,
        shares=p.shares, fundamentals=known.fundamentals, membership=known.membership, series_table=known.series,
        synthetic=wh.synthetic, provenance=wh.provenance(), carried=p.carried,
        drops={
            "price_gaps_carried": len(p.carried),
            "days_without_shares": p.missing_shares,
            "prices_after_asof_ignored": prices_after_asof,
            "fundamentals_after_asof_ignored": len(fund) - len(known.fundamentals),
        },
    )


__all__ = ["Market", "load_market", "TABLE_ORDER"]

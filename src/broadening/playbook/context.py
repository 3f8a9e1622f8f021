"""What the algos work on: every rebalance date at once.

The playbook is a stack of tiny algos in the manner of bt, but vectorised like zipline's
Pipeline: one pass of a :class:`Context` through the algos computes the targets of **all**
rebalance dates, each quantity an ``(R, N)`` block (rebalance rows x securities).

:class:`RebalanceData` holds what the algos read from the market, cut to the rebalance
rows and to the securities any strategy could hold (index members and sleeve-eligible
names on some rebalance date). It is built once per (market, schedule) and shared: by the
four strategies of a backtest suite and by every variant of a sweep (scattered once to the
Dask workers). Anything derived and reusable (cap weights and their rank order, basket
masks, risk models) is memoised on it.

Point-in-time: row ``r`` holds the market as of ``positions[r]`` only (basket masks are
point-in-time by their own contract); history an algo needs (momentum, covariances) is
read from rows up to and including that date.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from broadening.errors import BroadeningError

if TYPE_CHECKING:
    from broadening.market import Market

CAP_SLEEVE = "cap_weight"
CORE_SLEEVE = "equal_weight_core"
#: Sleeve of the weight still held from a given initial book (a turnover budget keeps part of it).
HELD_SLEEVE = "current_book"
#: The one sleeve of a context that does not split weights by sleeve.
TOTAL = "total"

BasketFn = Callable[["Market"], np.ndarray]


@dataclass
class RebalanceData:
    """The market on the rebalance rows, for the securities any strategy could hold.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
        Every date of the market.
    positions : ndarray of int, shape (R,)
        Rebalance positions into ``dates``.
    ids : ndarray of str, shape (N,)
    cols : ndarray of int, shape (N,)
        Positions of ``ids`` among the market's securities.
    index_id : str
    has_index : bool
        Whether membership is stored for ``index_id`` (else every listed security is a member).
    members : ndarray of bool, shape (R, N)
        Index members with a price on the date.
    alive : ndarray of bool, shape (R, N)
        A price on the date.
    cap : ndarray, shape (R, N)
        Market cap on the date.
    tri : ndarray, shape (R, N)
        Total-return index on the date.
    sectors : ndarray of str, shape (N,), or (R, N) on a lane-packed market
        Sector of each security (of each column on each row: see :meth:`sectors_at`).
    baskets : dict of str to ndarray of bool (R, N) or None
        Sleeve eligibility (with a price on the date); None when the basket cannot be
        computed on this data (``why`` says why).
    why : dict of str to str
    regime : ndarray, shape (R,)
        Diffusion score on each date (last value on or before it), NaN if unknown.
    returns : ndarray, shape (T, N), optional
        Daily total returns (0 where unknown), for risk models; None unless asked for.
    market : Market, optional
        The source, for inputs not prepared up front (never pickled).
    """

    dates: np.ndarray
    positions: np.ndarray
    ids: np.ndarray
    cols: np.ndarray
    index_id: str
    has_index: bool
    members: np.ndarray
    alive: np.ndarray
    cap: np.ndarray
    tri: np.ndarray
    sectors: np.ndarray
    baskets: dict[str, np.ndarray | None]
    why: dict[str, str]
    regime: np.ndarray
    returns: np.ndarray | None = None
    market: Market | None = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.RLock, repr=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["market"] = None
        state["_memo"] = {}  # rebuilt where it is used; never shipped
        state["_lock"] = None  # pragma: no mutate (a new lock is made on unpickling)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    @classmethod
    def build(
        cls,
        market: Market,
        positions: np.ndarray,
        index_id: str,
        *,
        baskets: Mapping[str, BasketFn] | None = None,
        regime_score: pd.Series | None = None,
        returns: bool = False,
        keep: np.ndarray | None = None,
    ) -> RebalanceData:
        """Cut ``market`` to the rebalance rows and the holdable securities.

        Parameters
        ----------
        market : Market
        positions : ndarray of int, shape (R,)
        index_id : str
        baskets : mapping of sleeve name to ``fn(market) -> bool (T, N)``, optional
            Evaluated once; a basket that cannot be computed on this data (thin data) is
            kept as None with the reason.
        regime_score : Series, optional
        returns : bool, default False
            Keep the daily returns of the holdable securities (0 where unknown) for a
            tracking-error budget run without the market (a sweep's workers); with the
            market, :meth:`returns_block` reads them window by window instead.
        keep : ndarray of bool, shape (N_market,), optional
            Securities to keep in any case (e.g. holdable on another schedule).
        """
        pos = np.asarray(positions, dtype=np.int64)
        has_index = market.has_index(index_id)
        alive_full = market.alive
        member_full = market.members(index_id) if has_index else alive_full
        masks: dict[str, np.ndarray | None] = {}
        why: dict[str, str] = {}
        for name, fn in (baskets or {}).items():
            try:
                masks[name] = np.asarray(fn(market), dtype=bool)
            except (BroadeningError, KeyError, ValueError) as exc:
                # thin data (no fundamentals, no flags): the sleeve is empty, not an error
                masks[name], why[name] = None, str(exc)
        al = alive_full[pos]
        cells = member_full[pos] & al
        for m in masks.values():
            if m is not None:
                cells |= m[pos] & al
        holdable = cells.any(axis=0)
        if keep is not None:
            holdable |= keep
        cols = np.flatnonzero(holdable)
        C = np.ascontiguousarray  # fancy indexing leaves Fortran-ordered blocks; rows are read per date
        alive = C(al[:, cols])
        sec_names = market.securities["sector"].fillna("Unknown").astype(str).to_numpy()
        if market.packed:
            sectors = C(_lane_sectors(market, pos, cols, cells, keep, sec_names))
        else:
            sectors = sec_names[cols]
        return cls(
            dates=market.dates, positions=pos, ids=market.ids[cols], cols=cols, index_id=index_id,
            has_index=has_index, members=C(member_full[pos][:, cols] & alive), alive=alive,
            cap=C(market.market_cap[pos][:, cols]), tri=C(market.total_return_index[pos][:, cols]),
            sectors=sectors,
            baskets={n: (None if m is None else C(m[pos][:, cols] & alive)) for n, m in masks.items()},
            why=why, regime=regime_at(regime_score, market.dates, pos),
            returns=(np.nan_to_num(np.take(market.returns, cols, axis=1), copy=False) if returns else None), market=market,
        )

    @property
    def shape(self) -> tuple[int, int]:
        return self.alive.shape

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` once per key (thread-safe); the value is kept for later callers."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def window(self, lo: int, hi: int) -> RebalanceData:
        """The same data on rebalance rows ``lo:hi`` (memoised, so its own memo persists)."""
        if (lo, hi) == (0, len(self.positions)):
            return self

        def cut() -> RebalanceData:
            return RebalanceData(
                dates=self.dates, positions=self.positions[lo:hi], ids=self.ids, cols=self.cols,
                index_id=self.index_id, has_index=self.has_index, members=self.members[lo:hi],
                alive=self.alive[lo:hi], cap=self.cap[lo:hi], tri=self.tri[lo:hi],
                sectors=self.sectors if self.sectors.ndim == 1 else self.sectors[lo:hi],
                baskets={k: (None if v is None else v[lo:hi]) for k, v in self.baskets.items()}, why=self.why,
                regime=self.regime[lo:hi], returns=self.returns, market=self.market,
            )

        return self.memo(("window", lo, hi),  # pragma: no mutate (a memo key: its spelling changes nothing)
                         cut)

    def with_regime(self, regime_score: pd.Series | None) -> RebalanceData:
        """A copy reading another regime score (the memo is shared: nothing else changes)."""
        out = RebalanceData(**{k: v for k, v in self.__dict__.items() if k not in ("regime", "_lock")},
                            regime=regime_at(regime_score, self.dates, self.positions))
        return out

    def basket(self, name: str, fn: BasketFn | None) -> tuple[np.ndarray | None, str]:
        """Eligibility of sleeve ``name`` on the rows (R, N), or None and why not."""
        if name in self.baskets:
            return self.baskets[name], self.why.get(name, "")
        if fn is None:
            return None, "no basket defined"
        if self.market is None:
            raise BroadeningError(f"basket '{name}' was not prepared with the data")

        def build() -> tuple[np.ndarray | None, str]:
            try:
                m = np.asarray(fn(self.market), dtype=bool)
            except (BroadeningError, KeyError, ValueError) as exc:
                return None, str(exc)
            return np.ascontiguousarray(m[self.positions][:, self.cols] & self.alive), ""

        return self.memo(("basket", name),  # pragma: no mutate (a memo key: its spelling changes nothing)
                         build)

    def sectors_at(self, r: int) -> np.ndarray:
        """Sector of each column on rebalance row ``r``, shape (N,)."""
        return self.sectors if self.sectors.ndim == 1 else self.sectors[r]

    def lagged_tri(self, lag: int) -> np.ndarray:
        """Total-return index ``lag`` trading days before each rebalance date (R, N); NaN before the data."""
        def build() -> np.ndarray:
            if self.market is None:
                raise BroadeningError("lagged prices were not prepared with the data")
            self.market.require_lookback(lag, "lagged prices (momentum.lookback)")
            p = self.positions - lag
            out = np.full(self.shape, np.nan)
            ok = p >= 0
            out[ok] = self.market.total_return_index[p[ok]][:, self.cols]
            return out

        return self.memo(("lagged_tri", lag),  # pragma: no mutate (a memo key: its spelling changes nothing)
                         build)

    def returns_block(self, lo: int, hi: int, cols: np.ndarray) -> np.ndarray:
        """Daily total returns of rows ``lo:hi`` and columns ``cols`` (of this data), 0 where unknown.

        From :attr:`returns` when prepared (a sweep ships them to its workers), else read
        from the market's returns block by block: a risk model needs a window of a few
        hundred rows of a few hundred names, never the zero-filled copy of the whole panel.
        """
        if self.returns is not None:
            return self.returns[lo:hi][:, cols]
        if self.market is None:
            raise BroadeningError("daily returns were not prepared with the data")
        # indexed like a slice of the whole copy was, so LAPACK sees the same memory layout
        # (a factor model's last bits depend on it) and results stay bit-identical
        return np.nan_to_num(self.market.returns[lo:hi][:, self.cols[cols]], copy=False)

    def cap_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Cap weights of the members on each row (R, N) and the rows with no cap (equal weight used)."""
        def build() -> tuple[np.ndarray, np.ndarray]:
            sel = self.members
            w = np.where(sel & np.isfinite(self.cap) & (self.cap > 0), self.cap, 0.0)
            tot = w.sum(axis=1)
            out = np.divide(w, tot[:, None], out=np.zeros_like(w), where=tot[:, None] > 0)
            eq = (tot <= 0) & sel.any(axis=1)
            if eq.any():
                out[eq] = sel[eq] / sel[eq].sum(axis=1)[:, None]
            return out, eq

        return self.memo("cap_weights", build)

    def cap_order(self) -> np.ndarray:
        """Per row, security positions by decreasing cap weight (stable), shape (R, N)."""
        return self.memo("cap_order",  # pragma: no mutate (a memo key: its spelling changes nothing)
                         lambda: np.argsort(-self.cap_weights()[0], axis=1, kind="stable"))


def _lane_sectors(market: Market, pos: np.ndarray, cols: np.ndarray, cells: np.ndarray,
                  keep: np.ndarray | None, names: np.ndarray) -> np.ndarray:
    """Sector of each lane on each rebalance row, ``(R, len(cols))``.

    As on a dense market, the sectors present are those of the holdable securities (a
    holdable cell on some row, or a kept column); a cell of any other security, or an
    empty one, never holds weight and reads as the first of those sectors, so it adds no
    group to a by-sector attribution.
    """
    occ = market.occupants_at(pos)
    ok = np.zeros(len(names) + 1, dtype=bool)  # index -1: an empty cell
    ok[occ[cells]] = True
    if keep is not None:
        ok[occ[:, keep].ravel()] = True
    ok[-1] = False
    occ = occ[:, cols]
    fill = names[np.argmax(ok[:-1])] if ok[:-1].any() else "Unknown"
    return np.where(ok[occ], np.append(names, fill)[occ], fill)


def regime_at(score: pd.Series | None, dates: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The score's last value on or before each position's date, shape (R,); NaN without a score."""
    if score is None or len(score) == 0:
        return np.full(len(positions), np.nan)
    s = score.sort_index()
    d = pd.DatetimeIndex(dates[positions].astype("datetime64[ns]"))
    return s.reindex(s.index.union(d)).ffill().reindex(d).to_numpy(dtype="float64")


@dataclass
class Context:
    """State of one pass through the algos, for every rebalance row at once.

    Attributes
    ----------
    data : RebalanceData
    selected : ndarray of bool, shape (R, N)
        Current selection (set by selection algos).
    sleeves : dict of str to ndarray, shape (R, N)
        Target weight per sleeve; their sum is the target. Without ``split`` a single
        sleeve :data:`TOTAL` holds the sum (cheaper: sweeps need no attribution).
    split : bool
        Keep weights by sleeve.
    initial : ndarray, shape (N,), optional
        The book held just before the first row (weights of its value); None = cash.
    freed : ndarray, shape (R,)
        Weight released by trimming, waiting to be redeployed.
    trimmed : ndarray of bool, shape (R, N)
        The names trimmed by :class:`~broadening.playbook.trim.TrimTopK`.
    empty : dict of str to ndarray of bool, shape (R,)
        Rows on which a sleeve had no eligible member.
    notes : list of str
        Anything an algo had to fall back on (shown to the user).
    cap_ranked : bool
        The cap sleeve is exactly ``data.cap_weights()`` (so its memoised rank order applies).
    """

    data: RebalanceData
    selected: np.ndarray
    sleeves: dict[str, np.ndarray] = field(default_factory=dict)
    split: bool = True
    initial: np.ndarray | None = None
    freed: np.ndarray | None = None
    trimmed: np.ndarray | None = None
    empty: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cap_ranked: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    @property
    def regime(self) -> np.ndarray:
        return self.data.regime

    @property
    def weights(self) -> np.ndarray:
        """Total target weights, shape (R, N)."""
        parts = list(self.sleeves.values())
        if len(parts) == 1:
            return parts[0]
        out = np.zeros(self.shape)
        for v in parts:
            out += v
        return out

    def key(self, sleeve: str) -> str:
        return sleeve if self.split else TOTAL

    def add(self, sleeve: str, w: np.ndarray) -> None:
        """Add ``w`` (R, N) to a sleeve."""
        k = self.key(sleeve)
        self.sleeves[k] = self.sleeves[k] + w if k in self.sleeves else w

    def set_total(self, new: np.ndarray, default_sleeve: str = CAP_SLEEVE) -> None:
        """Replace the total weights, keeping each name's split across sleeves."""
        self.cap_ranked = False
        if not self.split:
            self.sleeves = {TOTAL: new}
            return
        old = self.weights
        with np.errstate(divide="ignore", invalid="ignore"):  # pragma: no mutate (silences warnings only)
            scale = np.where(old > 0, new / old, 0.0)
        for k in self.sleeves:
            self.sleeves[k] = self.sleeves[k] * scale
        extra = np.where(old > 0, 0.0, new)
        if np.any(extra > 0):
            self.add(default_sleeve, extra)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class Algo(abc.ABC):
    """One step of the rebalances: reads what it needs from the context, sets what it produces.

    Each algo documents what it reads and sets. It works on all rebalance rows at once;
    only a step that depends on the previous row's result (the turnover budget) loops.
    """

    @abc.abstractmethod
    def __call__(self, ctx: Context) -> None:
        """Read what the step needs from ``ctx`` and set what it produces."""


@dataclass
class TargetWeights:
    """Targets produced by a strategy for the engine.

    Attributes
    ----------
    positions : ndarray of int, shape (R,)
        Rebalance positions in ``market.dates``.
    ids : ndarray of str, shape (N,)
        The securities of the columns (those any strategy could hold).
    weights : ndarray, shape (R, N)
        Target weights (rows sum to at most one).
    sleeves : dict of str to ndarray, shape (R, N)
        The weights split by sleeve (summing to ``weights``).
    empty_sleeves : DataFrame
        Columns ``date``, ``sleeve``: sleeves without eligible names on each date.
    notes : list of str
        Fallbacks used on at least one date.
    """

    positions: np.ndarray
    ids: np.ndarray
    weights: np.ndarray
    sleeves: dict[str, np.ndarray]
    empty_sleeves: pd.DataFrame
    notes: list[str]


class AlgoStack:
    """A strategy: a list of algos run over every rebalance row at once.

    Parameters
    ----------
    algos : sequence of Algo
    name : str
    baskets : mapping of sleeve name to basket function, optional
        The sleeve eligibility the stack needs prepared with its data.
    index_id : str
        Index whose members the stack selects.
    """

    def __init__(self, algos: Sequence[Algo], name: str = "strategy", *, baskets: Mapping[str, BasketFn] | None = None,
                 index_id: str = "sp500") -> None:
        self.algos = list(algos)
        self.name = name
        self.baskets = dict(baskets or {})
        self.index_id = index_id

    def data(self, market: Market, positions: np.ndarray, regime_score: pd.Series | None = None) -> RebalanceData:
        """Prepare the :class:`RebalanceData` this stack reads."""
        return RebalanceData.build(market, positions, self.index_id, baskets=self.baskets,
                                   regime_score=regime_score)

    def run(self, market: Market, positions: np.ndarray, regime_score: pd.Series | None = None,
            initial: np.ndarray | None = None) -> TargetWeights:
        """Target weights on each rebalance position of ``market`` (prepares the data, then :meth:`run_on`).

        ``initial`` (N_market,) is the book held before the first rebalance (see :meth:`run_on`).
        The weights and sleeves cover every security of the market (``ids`` = ``market.ids``).
        """
        data = self.data(market, positions, regime_score)
        init = None if initial is None else np.asarray(initial, dtype="float64")[data.cols]
        tw = self.run_on(data, initial=init)
        if len(data.cols) == len(market.ids):
            return tw

        def full(a: np.ndarray) -> np.ndarray:
            out = np.zeros((len(data.positions), len(market.ids)))
            out[:, data.cols] = a
            return out

        return TargetWeights(positions=tw.positions, ids=market.ids, weights=full(tw.weights),
                             sleeves={k: full(v) for k, v in tw.sleeves.items()},
                             empty_sleeves=tw.empty_sleeves, notes=tw.notes)

    def run_on(self, data: RebalanceData, *, initial: np.ndarray | None = None, split: bool = True) -> TargetWeights:
        """Target weights on every row of prepared ``data``.

        Parameters
        ----------
        data : RebalanceData
        initial : ndarray, shape (N,), optional
            The book held just before the first row (weights of its value, the rest cash);
            a turnover budget then applies to the move from it (its weight still held is the
            sleeve :data:`HELD_SLEEVE`). None: the first row is built from cash.
        split : bool, default True
            Keep the weights by sleeve (for attribution); False keeps only their sum.
        """
        R, N = data.shape
        ctx = Context(data=data, selected=np.zeros((R, N), dtype=bool), split=split, initial=initial,
                      freed=np.zeros(R), trimmed=np.zeros((R, N), dtype=bool))
        for a in self.algos:
            a(ctx)
        sleeves = {k: np.where(data.alive, v, 0.0) for k, v in ctx.sleeves.items()}
        W = sum(sleeves.values(), np.zeros((R, N))) if len(sleeves) != 1 else next(iter(sleeves.values()))
        rows = [(pd.Timestamp(data.dates[data.positions[r]]), s)
                for s, mask in ctx.empty.items() for r in np.flatnonzero(mask)]
        rows.sort(key=lambda x: x[0])
        empty = pd.DataFrame({
            "date": pd.DatetimeIndex([d for d, _ in rows], dtype="datetime64[ns]"),
            "sleeve": pd.Series([s for _, s in rows], dtype=object),
        })
        return TargetWeights(positions=data.positions, ids=data.ids, weights=W, sleeves=sleeves,
                             empty_sleeves=empty, notes=list(ctx.notes))

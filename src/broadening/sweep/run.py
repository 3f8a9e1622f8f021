"""Evaluate sweep variants cheaply, serially or on Dask distributed.

Why a variant is cheap
----------------------
Everything that does not depend on a variant's parameters is computed once, in
:func:`prepare`: the index membership, market caps, cap weights and their rank order,
every sleeve's eligibility, the regime score at each rebalance date, the schedules, the
cap-weighted benchmark's backtest per schedule and split, and (lazily, once per process)
each schedule's per-period growth blocks for the engine. All of it is kept only on the
rebalance rows and on the securities any variant could hold, in one :class:`SweepData`
object that is sent to every worker **once** (``client.scatter(..., broadcast=True)``).

A variant then evaluates only the playbook: the trim / redeploy / max-weight steps of
:func:`broadening.playbook.strategies.playbook`, vectorised over all rebalance dates at
once (they are stateless per date; the turnover budget, which is not, runs date by date),
and the engine's period loop over the precomputed growth blocks (same conventions and
the same arithmetic as :func:`broadening.backtest.engine.backtest`). Both are checked
against the reference implementations in ``tests/sweep/test_run.py``. Not supported in
sweeps: a tracking-error budget (a cvxpy solve per rebalance); sector bounds run date by
date (slower, same result).

Walk-forward
------------
A variant with a split ``[train_start, train_end] -> (train_end, test_end]`` is one backtest
starting at the first rebalance on or after ``train_start`` on the data up to ``test_end``
(the same as ``run_backtests(market, cfg, start=train_start, end=test_end)``); its
in-sample metrics are those of the train window and its out-of-sample metrics those of the
test window. Without a split a variant covers the whole history with the same default start
as ``broadening backtest`` (once the momentum lookback has a full history).

Determinism and failures
------------------------
Tasks are pure functions of (data, variants) and return results keyed by variant id; the
collector keeps the first result per id, so a task re-run after a lost worker neither loses
nor duplicates anything. Results are ordered by variant id. Numpy/BLAS runs single-threaded
inside a task (when threadpoolctl is available), so a result does not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from broadening.backtest import metrics as M
from broadening.backtest.engine import (
    NO_COSTS,
    PriceData,
    _cash_daily,
    _post_cost_value,
    growth_block,
)
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError, ConfigError
from broadening.playbook.algos import cap_weights, sector_fit
from broadening.playbook.config import PlaybookConfig, investable_count
from broadening.sweep.grid import AXES, Split, SweepGrid, Variant, resolve_splits

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

CORE = "equal_weight_core"
#: Metrics where a lower value ranks a variant higher.
LOWER_IS_BETTER = frozenset({"volatility", "tracking_error", "turnover"})
Progress = Callable[[str, int, int], None]


_CONTROLLER: list = []


@contextlib.contextmanager
def _one_thread():
    """BLAS single-threaded inside (a result must not depend on where it ran)."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            _CONTROLLER.append(None)
        else:
            # building a controller scans the loaded libraries (~3 ms): once per process
            _CONTROLLER.append(ThreadpoolController())
    if _CONTROLLER[0] is None:  # pragma: no cover
        yield
        return
    with _CONTROLLER[0].limit(limits=1):
        yield


# -- shared data -----------------------------------------------------------------------------
@dataclass
class ScheduleData:
    """One schedule's rebalance rows, restricted to the sweep's securities.

    Arrays are ``(R, N')`` over the rebalance positions ``positions`` (into the full dates).
    """

    positions: np.ndarray
    selected: np.ndarray
    capw: np.ndarray
    order: np.ndarray
    alive: np.ndarray
    cap: np.ndarray
    tri: np.ndarray
    eligible: dict[str, np.ndarray | None]
    regime: np.ndarray
    rates: np.ndarray | None = None


@dataclass
class BenchmarkRun:
    """The cap-weighted benchmark over one (schedule, split) window."""

    returns: pd.Series
    turnover: np.ndarray
    weights: np.ndarray


@dataclass
class SweepData:
    """Everything a variant needs, computed once and scattered to the workers once.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
    ids : ndarray of str, shape (N')
        The securities any variant could hold (index members or sleeve-eligible on some
        rebalance date).
    growth : ndarray, shape (T, N')
        Daily gross total returns ``1 + r``, 1 where unknown (the engine's input).
    last_index, delisting_return : ndarray, shape (N')
    sectors : ndarray of str, shape (N')
    cash_daily : ndarray, shape (T,)
    schedules : dict of str to ScheduleData
    benchmarks : dict of (schedule, split name) to BenchmarkRun
    windows : dict of (schedule, split name) to (lo, hi, t_end)
        Rebalance rows ``lo:hi`` and the last date position ``t_end`` of each window.
    splits : dict of str to Split
    costs : bool
    notes : list of str
    """

    dates: np.ndarray
    ids: np.ndarray
    growth: np.ndarray
    last_index: np.ndarray
    delisting_return: np.ndarray
    sectors: np.ndarray
    cash_daily: np.ndarray
    schedules: dict[str, ScheduleData]
    benchmarks: dict[tuple[str, str], BenchmarkRun]
    windows: dict[tuple[str, str], tuple[int, int, int]]
    splits: dict[str, Split]
    costs: bool = True
    notes: list[str] = field(default_factory=list)
    _blocks: dict = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_blocks"] = {}  # rebuilt lazily where it is used; never shipped
        return state

    @property
    def nbytes(self) -> int:
        n = self.growth.nbytes
        for s in self.schedules.values():
            n += sum(a.nbytes for a in (s.selected, s.capw, s.order, s.alive, s.cap, s.tri))
            n += sum(e.nbytes for e in s.eligible.values() if e is not None)
        return n

    def price_data(self) -> PriceData:
        return PriceData(dates=self.dates, ids=self.ids, prices=np.empty((0, 0)), growth=self.growth,
                         last_index=self.last_index, delisting_return=self.delisting_return)

    def blocks(self, schedule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Growth blocks of every period of ``schedule`` stacked: ``G`` (T - s, N'), cash growth (T - s,), offsets (R + 1,).

        Rows ``offsets[r] .. offsets[r + 1]`` of ``G`` are :func:`~broadening.backtest.engine.growth_block`
        over ``(pos[r], pos[r + 1]]`` (the last period runs to the end of the data).
        """
        if schedule not in self._blocks:
            pos = self.schedules[schedule].positions
            T = len(self.dates)
            s = int(pos[0])
            G = np.empty((T - 1 - s, len(self.ids)))
            cg = np.empty(T - 1 - s)
            off = np.empty(len(pos) + 1, dtype=np.int64)
            pdata = self.price_data()
            growth = 1.0 + self.cash_daily
            for r, t0 in enumerate(pos):
                t0 = int(t0)
                t1 = int(pos[r + 1]) if r + 1 < len(pos) else T - 1
                off[r] = t0 - s
                if t1 > t0:
                    G[t0 - s : t1 - s] = growth_block(pdata, self.cash_daily, t0, t1)
                    cg[t0 - s : t1 - s] = np.cumprod(growth[t0 + 1 : t1 + 1])
            off[-1] = T - 1 - s
            self._blocks[schedule] = (G, cg, off)
        return self._blocks[schedule]


def _window(dates: np.ndarray, pos: np.ndarray, split: Split, default_start: pd.Timestamp | None) -> tuple[int, int, int]:
    """Rebalance rows ``lo:hi`` and end position of a split (point-in-time like ``run_backtests(start, end)``)."""
    T = len(dates)
    if split.is_full:
        t_end = T
        start = default_start
    else:
        t_end = int(np.searchsorted(dates, np.datetime64(pd.Timestamp(split.test_end).date(), "D"), side="right"))
        start = split.train_start
    lo = 0 if start is None else int(np.searchsorted(pos, np.searchsorted(dates, np.datetime64(pd.Timestamp(start).date(), "D"))))
    # the last date of the data is never a rebalance date (its period is not known to be over)
    hi = int(np.searchsorted(pos, t_end - 1))
    return lo, hi, t_end


def prepare(
    market: Market,
    grid: SweepGrid,
    *,
    regime_score: pd.Series | None = None,
    basket_config: Config | None = None,
    baskets: Mapping[str, Callable] | None = None,
) -> tuple[SweepData, SweepGrid]:
    """Precompute what every variant shares (see module docstring).

    Returns the data and the grid with its walk-forward splits resolved on the market's dates.

    Raises
    ------
    ConfigError
        For a base config the sweep cannot run (tracking-error budget), an impossible
        max weight, or walk-forward splits that do not fit in the data.
    """
    from broadening.playbook.strategies import default_baskets

    base = grid.base
    if base.constraints.tracking_error_budget > 0:
        raise ConfigError(
            f"{grid.source}: key 'sweep.playbook': constraints.tracking_error_budget is not supported in sweeps "
            "(a solver run per rebalance); set it to 0 in the base playbook"
        )
    dates = market.dates
    lookback = base.momentum.lookback
    default_start = pd.Timestamp(dates[lookback]) if len(dates) > lookback + 1 else None
    resolve_splits(grid, market.index, default_start or pd.Timestamp(dates[0]))
    bfns = dict(baskets) if baskets is not None else default_baskets(basket_config)
    index = base.portfolio.index
    has_index = market.has_index(index)
    members = market.members(index) if has_index else market.alive
    notes = [] if has_index else [f"no membership stored for index '{index}': all listed securities used"]
    wanted = sorted({s for shares in grid.sleeve_sets.values() for s, v in shares.items() if v > 0 and s != CORE})
    masks: dict[str, np.ndarray | None] = {}
    for name in wanted:
        fn = bfns.get(name)
        try:
            masks[name] = None if fn is None else np.asarray(fn(market), dtype=bool)
        except (BroadeningError, KeyError, ValueError) as exc:
            masks[name] = None
            notes.append(f"sleeve '{name}' unavailable ({exc}); its share goes to the core")
        if masks[name] is None and fn is None:
            notes.append(f"sleeve '{name}' has no basket; its share goes to the core")

    positions: dict[str, np.ndarray] = {}
    for sched in grid.axes["schedule"]:
        try:
            positions[sched] = rebalance_positions(dates, sched)
        except ValueError as exc:
            raise BroadeningError(f"sweep: {exc}") from None
    # the securities any variant could hold
    keep = np.zeros(market.shape[1], dtype=bool)
    alive = market.alive
    for pos in positions.values():
        keep |= (members[pos] & alive[pos]).any(axis=0)
        for m in masks.values():
            if m is not None:
                keep |= (m[pos] & alive[pos]).any(axis=0)
    cols = np.flatnonzero(keep)
    # max weight x investable names (the check run_backtests makes), on each schedule
    for pos in positions.values():
        mk = [members] + [m & alive for m in masks.values() if m is not None]
        base.check_market(market, investable_count(market, mk, pos))

    cap_full = market.market_cap
    tri_full = market.total_return_index
    score_at = _regime_reader(regime_score, dates)
    schedules = {}
    for sched, pos in positions.items():
        sel = members[pos][:, cols] & alive[pos][:, cols] if has_index else alive[pos][:, cols]
        cap = cap_full[pos][:, cols]
        w = np.where(sel & np.isfinite(cap) & (cap > 0), cap, 0.0)
        tot = w.sum(axis=1)
        capw = np.divide(w, tot[:, None], out=np.zeros_like(w), where=tot[:, None] > 0)
        eq = (tot <= 0) & sel.any(axis=1)
        if eq.any():
            capw[eq] = sel[eq] / sel[eq].sum(axis=1)[:, None]
            notes.append("no market caps on some rebalance dates: equal weight used instead")
        kmax = min(max(grid.axes["top_k"]), len(cols))
        order = np.argsort(-capw, axis=1, kind="stable")[:, :kmax]
        al = alive[pos][:, cols]
        capw = np.where(al, capw, 0.0)
        C = np.ascontiguousarray  # fancy indexing left these Fortran-ordered: rows are read per date
        schedules[sched] = ScheduleData(
            positions=pos, selected=C(sel), capw=C(capw), order=C(order), alive=C(al),
            cap=C(cap), tri=C(tri_full[pos][:, cols]),
            eligible={n: (None if m is None else C(m[pos][:, cols] & al)) for n, m in masks.items()},
            regime=score_at(pos),
        )
        model = _model(base, grid.costs)
        if model.spread_bps:
            # the cost rate per name and date is the same for every variant
            schedules[sched].rates = np.vstack([model.rates(cap[r]) for r in range(len(pos))]) if len(pos) else None
    sec = market.securities
    dl = sec["delisting_return"].to_numpy(dtype="float64") if "delisting_return" in sec else np.zeros(market.shape[1])
    growth = np.ascontiguousarray(market.returns[:, cols]) + 1.0
    np.copyto(growth, 1.0, where=np.isnan(growth))
    data = SweepData(
        dates=dates, ids=market.ids[cols], growth=growth,
        last_index=market.last_index[cols], delisting_return=np.nan_to_num(dl[cols]),
        sectors=sec["sector"].fillna("Unknown").astype(str).to_numpy()[cols],
        cash_daily=_cash_daily(base.costs.cash_rate, dates),
        schedules=schedules, benchmarks={}, windows={}, splits={s.name: s for s in grid.splits},
        costs=grid.costs, notes=notes,
    )
    for sched, pos in positions.items():
        for split in grid.splits:
            lo, hi, t_end = _window(dates, pos, split, default_start)
            if hi - lo < 1:
                raise ConfigError(f"{grid.source}: key 'walk_forward': split {split.name} holds no rebalance date "
                                  f"on the {sched} schedule")
            data.windows[(sched, split.name)] = (lo, hi, t_end)
            S = schedules[sched]
            with _one_thread():
                rets, turnover, wafter = _engine(data, sched, S.capw[lo:hi], lo, hi, t_end, _model(base, grid.costs))
            data.benchmarks[(sched, split.name)] = BenchmarkRun(rets, turnover, wafter)
    return data, grid


def _regime_reader(score: pd.Series | None, dates: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def at(pos: np.ndarray) -> np.ndarray:
        if score is None or len(score) == 0:
            return np.full(len(pos), np.nan)
        s = score.sort_index()
        d = pd.DatetimeIndex(dates[pos].astype("datetime64[ns]"))
        return s.reindex(s.index.union(d)).ffill().reindex(d).to_numpy(dtype="float64")

    return at


def _model(cfg: PlaybookConfig, costs: bool):
    return cfg.cost_model() if costs else NO_COSTS


# -- the playbook, vectorised over rebalance dates ------------------------------------------
def playbook_weights(S: ScheduleData, cfg: PlaybookConfig, lo: int, hi: int, sectors: np.ndarray | None = None) -> np.ndarray:
    """Target weights of the playbook on rebalance rows ``lo:hi``, shape (hi - lo, N').

    The same steps and arithmetic as :func:`broadening.playbook.strategies.playbook` (select,
    cap-weight, trim the top-k with regime scaling, redeploy with the empty-sleeve rule, max
    weight and sector bounds, turnover budget), on all dates at once.
    """
    t, k = cfg.trim, cfg.constraints
    w = S.capw[lo:hi]
    R, N = w.shape
    rows = np.arange(R)[:, None]
    top = S.order[lo:hi, : min(t.top_k, S.order.shape[1])]
    wt = w[rows, top]
    held = wt > 0
    if t.regime_scaling:
        reg = S.regime[lo:hi]
        s = np.where(np.isfinite(reg), t.regime_floor + (1.0 - t.regime_floor) * np.clip(np.nan_to_num(reg), 0.0, 1.0), 1.0)
    else:
        s = np.ones(R)
    rem = (np.maximum(wt - t.cap, 0.0) if t.mode == "cap" else wt * t.cut) * s[:, None]
    rem = np.where(held, rem, 0.0)
    removed = np.zeros((R, N))
    removed[rows, top] = rem
    wcap = w - removed
    freed = 0.0 + removed.sum(axis=1)
    excluded = np.zeros((R, N), dtype=bool)
    excluded[rows, top] = held

    shares = cfg.sleeves.shares()
    core_share = np.full(R, shares.get(CORE, 0.0))
    total = wcap.copy()
    for name, share in shares.items():
        if name == CORE or share == 0:
            continue
        el = S.eligible.get(name)
        if el is None:
            core_share = core_share + share
            continue
        e = el[lo:hi] & ~excluded
        n = e.sum(axis=1)
        core_share = core_share + np.where(n == 0, share, 0.0)
        total += e * (freed * share / np.maximum(n, 1))[:, None]
    sel = S.selected[lo:hi]
    core = sel & ~excluded
    none = ~core.any(axis=1)
    if none.any():
        core[none] = sel[none]
    nc = core.sum(axis=1)
    give = (core_share > 0) & (nc > 0)
    total += core * np.where(give, freed * core_share / np.maximum(nc, 1), 0.0)[:, None]
    back = (core_share > 0) & (nc == 0)
    if back.any():
        cs = wcap[back].sum(axis=1)
        add = np.where(cs[:, None] > 0, wcap[back] / np.where(cs > 0, cs, 1.0)[:, None] * (freed[back] * core_share[back])[:, None], 0.0)
        total[back] += add

    if k.sector_bounds:
        total = _constrain_rows(total, sel, k.max_weight, k.sector_bounds, sectors)
    else:
        total = _cap_rows(total, k.max_weight)
    total = np.where(S.alive[lo:hi], total, 0.0)
    if k.turnover_budget > 0:
        total = _turnover_budget(total, S.tri[lo:hi], S.alive[lo:hi], k.turnover_budget)
    return total


def _cap_rows(w: np.ndarray, limit: float, max_iter: int = 200) -> np.ndarray:
    """:func:`~broadening.playbook.algos.cap_weights` on every row at once."""
    w = w.copy()
    for _ in range(max_iter):
        over = w > limit * (1 + 1e-12)
        act = np.flatnonzero(over.any(axis=1))
        if len(act) == 0:
            break
        sub = w[act]
        o = over[act]
        excess = np.where(o, sub - limit, 0.0).sum(axis=1)
        sub[o] = limit
        room = (sub > 0) & (sub < limit)
        rs = np.where(room, sub, 0.0).sum(axis=1)
        ok = rs > 0
        safe = np.where(ok, rs, 1.0)
        sub = np.where(room & ok[:, None], sub + excess[:, None] * sub / safe[:, None], sub)
        w[act] = sub
    return np.minimum(w, limit)


def _constrain_rows(w: np.ndarray, sel: np.ndarray, max_weight: float, bounds: Mapping, sectors: np.ndarray) -> np.ndarray:
    """The :class:`~broadening.playbook.algos.Constrain` step date by date (sector bounds)."""
    out = np.empty_like(w)
    b = {s: (float(v[0]), float(v[1])) for s, v in bounds.items()}
    for r in range(len(w)):
        x = w[r]
        for _ in range(20):
            x = sector_fit(x, sectors, b, candidates=sel[r])
            x = cap_weights(x, max_weight)
            if np.all(x <= max_weight * (1 + 1e-9)) and all(
                    not (x[sectors == s].sum() > hi + 1e-9 or (lo > x[sectors == s].sum() + 1e-9 and x[sectors == s].sum() > 0))
                    for s, (lo, hi) in b.items()):
                break
        out[r] = x
    return out


def _turnover_budget(W: np.ndarray, tri: np.ndarray, alive: np.ndarray, budget: float) -> np.ndarray:
    """:class:`~broadening.playbook.algos.TurnoverBudget` date by date (it depends on the previous target)."""
    W = W.copy()
    for r in range(1, len(W)):
        with np.errstate(invalid="ignore", divide="ignore"):
            g = tri[r] / tri[r - 1]
        g = np.where(np.isfinite(g), g, 0.0)
        prev_w = W[r - 1]
        grown = prev_w * g
        cash = 1.0 - prev_w.sum() + float((prev_w * (g == 0)).sum())
        prev = grown / (grown.sum() + cash)
        to = 0.5 * float(np.abs(W[r] - prev).sum())
        if to > budget and to != 0:
            a = budget / to
            W[r] = np.where(alive[r], a * W[r] + (1 - a) * prev, 0.0)
    return W


# -- the engine over precomputed growth blocks -----------------------------------------------
def _engine(data: SweepData, schedule: str, W: np.ndarray, lo: int, hi: int, t_end: int, model) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """:func:`broadening.backtest.engine.backtest` of targets ``W`` on rebalance rows ``lo:hi``,
    on the data up to position ``t_end`` (exclusive); same conventions and arithmetic.

    Returns daily returns, one-way turnover per rebalance and post-trade weights.
    """
    G, cg, off = data.blocks(schedule)
    S = data.schedules[schedule]
    pos = S.positions
    s0 = int(pos[0])
    s = int(pos[lo])
    L = t_end - s
    value = np.empty(L)
    R = hi - lo
    turnover = np.empty(R)
    wafter = np.empty((R, W.shape[1]))
    h = np.zeros(W.shape[1])
    cash = 1.0
    for j in range(R):
        r = lo + j
        t0 = int(pos[r])
        if j:
            dead = (h != 0) & ~S.alive[r]
            if dead.any():
                cash += float(h[dead].sum())
                h[dead] = 0.0
        V = float(h.sum()) + cash
        w = W[j]
        if model.is_zero:
            Vp = V
        else:
            c = S.rates[r] if (model.spread_bps and S.rates is not None) else model.rates(S.cap[r] if model.spread_bps else None)
            live = np.flatnonzero((w != 0) | (h != 0))
            cc = c[live] if isinstance(c, np.ndarray) else c
            Vp = _post_cost_value(V, w[live], h[live], cc)
        traded = np.abs(w * Vp - h).sum()
        turnover[j] = 0.5 * traded / V
        h = w * Vp
        cash = Vp - float(h.sum())
        value[t0 - s] = Vp
        wafter[j] = h / Vp
        t1 = int(pos[r + 1]) if (j + 1 < R) else t_end - 1
        if t1 <= t0:
            continue
        a = int(off[r])
        b = a + (t1 - t0)
        block = G[a:b]
        cpath = cash * cg[a:b]
        vpath = block @ h + cpath
        value[t0 + 1 - s : t1 + 1 - s] = vpath
        h = h * block[-1]
        cash = float(cpath[-1])
    _ = s0
    prev = np.empty(L)
    prev[0] = 1.0
    prev[1:] = value[:-1]
    idx = pd.DatetimeIndex(data.dates[s:t_end].astype("datetime64[ns]"), name="date")
    return pd.Series(value / prev - 1.0, index=idx, name="return"), turnover, wafter


# -- one variant -------------------------------------------------------------------------------
def _metrics(rets: pd.Series, bench: BenchmarkRun, turnover: np.ndarray, wafter: np.ndarray, rdates: pd.DatetimeIndex,
             rf: float, a: pd.Timestamp | None, b: pd.Timestamp | None, first: bool) -> dict[str, float]:
    """Metrics of the returns in ``[a, b]`` (rebalances in the window for turnover and active share)."""
    m = np.ones(len(rets), dtype=bool)
    rm = np.ones(len(rdates), dtype=bool)
    if a is not None:
        m &= rets.index >= a
        rm &= rdates >= a
    if b is not None:
        m &= rets.index <= b
        rm &= rdates <= b
    r = rets[m]
    br = bench.returns.reindex(r.index)
    to = turnover[rm]
    if not first:
        to = np.concatenate([[0.0], to])  # no initial investment inside a later window
    tos = pd.Series(to)
    if not rm.any():
        return {k: float("nan") for k in M.METRIC_KEYS}
    return M.summary(r, br, rf=rf, turnover=tos, weights=wafter[rm], benchmark_weights=bench.weights[rm])


def backtest_variant(data: SweepData, variant: Variant) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """The playbook backtest of one variant: daily returns, turnover per rebalance, post-trade weights (N' columns)."""
    cfg = variant.config
    sched = cfg.portfolio.schedule
    lo, hi, t_end = data.windows[(sched, variant.split.name)]
    W = playbook_weights(data.schedules[sched], cfg, lo, hi, data.sectors)
    return _engine(data, sched, W, lo, hi, t_end, _model(cfg, data.costs))


def evaluate(data: SweepData, variant: Variant) -> dict[str, Any]:
    """Evaluate one variant: a pure function of the shared data and the variant.

    Returns
    -------
    dict
        ``id``, ``params``, ``split`` (its dates), ``metrics`` (the test window, or the whole
        history without walk-forward) and ``in_sample`` (the train window, or None).
    """
    cfg = variant.config
    sched = cfg.portfolio.schedule
    split = variant.split
    lo, hi, t_end = data.windows[(sched, split.name)]
    S = data.schedules[sched]
    with _one_thread():
        rets, turnover, wafter = backtest_variant(data, variant)
        bench = data.benchmarks[(sched, split.name)]
        rdates = pd.DatetimeIndex(data.dates[S.positions[lo:hi]].astype("datetime64[ns]"))
        rf = cfg.metrics.risk_free
        if split.is_full:
            metrics = _metrics(rets, bench, turnover, wafter, rdates, rf, None, None, True)
            ins = None
        else:
            ins = _metrics(rets, bench, turnover, wafter, rdates, rf, None, split.train_end, True)
            metrics = _metrics(rets, bench, turnover, wafter, rdates, rf, split.train_end + pd.Timedelta(days=1),
                               None, False)
    return {
        "id": variant.id,
        "params": dict(variant.params),
        "split": split.as_dict(),
        "metrics": {k: float(v) for k, v in metrics.items()},
        "in_sample": None if ins is None else {k: float(v) for k, v in ins.items()},
        "start": str(rets.index[0].date()),
        "end": str(rets.index[-1].date()),
    }


def evaluate_many(data: SweepData, variants: Sequence[Variant]) -> list[dict[str, Any]]:
    """Evaluate a chunk of variants (one Dask task); results keyed by variant id."""
    with _one_thread():
        return [evaluate(data, v) for v in variants]


# -- results -----------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """What a sweep produced, ordered by variant id.

    Attributes
    ----------
    variants : list of dict
        One per variant (see :func:`evaluate`).
    grid : SweepGrid
    seconds : dict
        ``prepare``, ``evaluate`` and ``total`` wall times.
    workers : int
        0 for a serial run.
    notes : list of str
    """

    variants: list[dict[str, Any]]
    grid: SweepGrid
    seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 0
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    def frame(self) -> pd.DataFrame:
        """One row per variant: ``id``, the axes, the split dates, the metrics, then ``is_<metric>`` (in-sample)."""
        rows = []
        for v in self.variants:
            row: dict[str, Any] = {"id": v["id"], **v["params"], **v["split"]}
            row.update(v["metrics"])
            ins = v["in_sample"] or {}
            row.update({f"is_{k}": ins.get(k, np.nan) for k in M.METRIC_KEYS})
            rows.append(row)
        cols = ["id", *AXES, "split", "train_start", "train_end", "test_end", *M.METRIC_KEYS,
                *(f"is_{k}" for k in M.METRIC_KEYS)]
        df = pd.DataFrame(rows, columns=cols)
        df["regime_scaling"] = df["regime_scaling"].astype(bool)
        return df

    def best(self, metric: str = "sharpe") -> dict[str, Any] | None:
        """The best variant by ``metric`` (its out-of-sample value under walk-forward).

        Higher is better, except for :data:`LOWER_IS_BETTER` (volatility, tracking error,
        turnover); ``max_drawdown`` is <= 0, so higher (shallower) is better. Ties go to the
        lowest id.
        """
        _check_metric(metric)
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        vals = [(v["metrics"].get(metric), v["id"]) for v in self.variants]
        vals = [(sign * x, i) for x, i in vals if x is not None and np.isfinite(x)]
        if not vals:
            return None
        best_id = max(vals, key=lambda p: (p[0], -p[1]))[1]
        return next(v for v in self.variants if v["id"] == best_id)

    def walk_forward(self, metric: str = "sharpe") -> list[dict[str, Any]]:
        """Per split: the variant best in-sample by ``metric`` and its out-of-sample metrics."""
        _check_metric(metric)
        out = []
        for split in self.grid.splits:
            if split.is_full:
                continue
            vs = [v for v in self.variants if v["split"]["split"] == split.name]
            ok = [v for v in vs if v["in_sample"] and np.isfinite(v["in_sample"].get(metric, np.nan))]
            if not ok:
                continue
            sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
            b = max(ok, key=lambda v: (sign * v["in_sample"][metric], -v["id"]))
            out.append({**split.as_dict(), "best_in_sample": b["id"], "params": b["params"],
                        "in_sample": b["in_sample"], "out_of_sample": b["metrics"]})
        return out

    def meta(self, metric: str = "sharpe") -> dict[str, Any]:
        return {
            "grid": self.grid.source, "metric": metric, "axes": {k: list(v) for k, v in self.grid.axes.items()},
            "varied": self.grid.varied, "sleeve_sets": self.grid.sleeve_sets, "costs": self.grid.costs,
            "splits": [s.as_dict() for s in self.grid.splits], "workers": self.workers,
            "seconds": self.seconds, "notes": self.notes, "synthetic": self.synthetic,
            "best": (self.best(metric) or {}).get("id"), "walk_forward": self.walk_forward(metric),
        }

    def to_json(self, metric: str = "sharpe") -> dict[str, Any]:
        """``{"variants": [...], "best": {...}, "walk_forward": [...], ...}`` (parameters flattened next to metrics)."""
        def flat(v):
            return {"id": v["id"], **v["params"], **v["split"], "metrics": v["metrics"], "in_sample": v["in_sample"]}

        best = self.best(metric)
        return {
            "variants": [flat(v) for v in self.variants],
            "best": None if best is None else {**flat(best), "metric": metric, "value": best["metrics"][metric]},
            "walk_forward": self.walk_forward(metric),
            "metric": metric,
            "grid": self.grid.source,
            "synthetic": self.synthetic,
            "seconds": self.seconds,
            "workers": self.workers,
            "notes": self.notes,
        }


def _check_metric(metric: str) -> None:
    if metric not in M.METRIC_KEYS:
        raise BroadeningError(f"--metric: expected one of {', '.join(M.METRIC_KEYS)}, got {metric!r}")


# -- running -----------------------------------------------------------------------------------
def _chunks(variants: Sequence[Variant], size: int) -> list[list[Variant]]:
    return [list(variants[i : i + size]) for i in range(0, len(variants), size)]


def run_variants(
    data: SweepData,
    variants: Sequence[Variant],
    *,
    client=None,
    chunk: int | None = None,
    progress: Progress | None = None,
    on_result: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate ``variants`` serially (``client=None``) or on a Dask client; ordered by id.

    On Dask the data is scattered once (broadcast to every worker) and each task evaluates a
    chunk of variants; results are kept by variant id (first one wins), so tasks re-run after
    a worker is lost never duplicate or drop a result.
    """
    n = len(variants)
    results: dict[int, dict[str, Any]] = {}
    if client is None:
        for v in variants:
            results[v.id] = evaluate(data, v)
            if progress:
                progress("variants", len(results), n)
            if on_result:
                on_result(len(results))
    else:
        from distributed import as_completed

        nworkers = max(1, len(client.scheduler_info().get("workers", {})))
        size = chunk or max(1, min(16, n // (8 * nworkers) or 1))
        data_f = client.scatter(data, broadcast=True, hash=False)
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(evaluate_many, data_f, ch, key=f"sweep-{token}-{i:05d}", pure=False, retries=3)
            for i, ch in enumerate(_chunks(variants, size))
        ]
        try:
            for fut in as_completed(futures):
                for res in fut.result():
                    results.setdefault(res["id"], res)
                if progress:
                    progress("variants", len(results), n)
                if on_result:
                    on_result(len(results))
        finally:
            client.cancel([*futures, data_f])
    missing = [v.id for v in variants if v.id not in results]
    if missing:
        raise BroadeningError(f"sweep: no result for {len(missing)} variant(s), e.g. {missing[:5]}")
    return [results[v.id] for v in sorted(variants, key=lambda v: v.id)]


#: glibc malloc settings for the local workers. Distributed's default (``MALLOC_TRIM_THRESHOLD_=65536``)
#: switches off glibc's adaptive mmap threshold, so every multi-MB numpy temporary becomes a
#: fresh mmap with page faults: measured 1.5x slower per variant than the same code in the
#: client process. Explicit thresholds keep arrays up to 64 MiB on the heap (reused), and
#: still give memory back above 128 MiB of free heap. Workers you start yourself for
#: ``--scheduler`` benefit from the same environment variables.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**26}


def local_cluster(workers: int = 2, **kwargs):
    """A LocalCluster of ``workers`` processes with one thread each and :data:`WORKER_MALLOC`."""
    import logging

    import dask
    from distributed import LocalCluster

    env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}
    with dask.config.set(env):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=kwargs.pop("dashboard_address", None),
                            silence_logs=kwargs.pop("silence_logs", logging.ERROR), **kwargs)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2):
    """A Dask client: on ``scheduler`` when given, else on a new LocalCluster of ``workers``
    processes with one thread each (closed on exit)."""
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise BroadeningError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = local_cluster(workers)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_sweep(
    market: Market,
    grid: SweepGrid,
    *,
    regime_score: pd.Series | None = None,
    basket_config: Config | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    client=None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run every variant of ``grid`` on ``market``.

    Parameters
    ----------
    market : Market
    grid : SweepGrid
        From :func:`~broadening.sweep.grid.load_grid`.
    regime_score : Series, optional
        Diffusion score by date (read at each rebalance date for variants with regime scaling).
    basket_config : broadening.config.Config, optional
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``).
    workers : int, default 2
        Workers of the LocalCluster started when no scheduler or client is given; 0 runs
        serially in this process.
    client : distributed.Client, optional
        An existing client (wins over ``scheduler`` and ``workers``).
    progress : callable, optional
        ``progress(step, done, total)``.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    data, grid = prepare(market, grid, regime_score=regime_score, basket_config=basket_config)
    notes = list(data.notes)
    if any(v.config.trim.regime_scaling for v in grid.variants) and regime_score is None:
        notes.append("no regime score given: variants with regime scaling trimmed fully")
    t1 = time.perf_counter()
    if client is not None:
        out = run_variants(data, grid.variants, client=client, progress=progress)
        nw = len(client.scheduler_info().get("workers", {}))
    elif scheduler is None and workers <= 0:
        out = run_variants(data, grid.variants, progress=progress)
        nw = 0
    else:
        with dask_client(scheduler, workers) as c:
            out = run_variants(data, grid.variants, client=c, progress=progress)
            nw = len(c.scheduler_info().get("workers", {}))
    t2 = time.perf_counter()
    return SweepResult(variants=out, grid=grid, workers=nw, notes=notes, synthetic=bool(market.synthetic),
                       seconds={"prepare": t1 - t0, "evaluate": t2 - t1, "total": t2 - t0})

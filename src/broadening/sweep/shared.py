"""What every sweep variant shares, and the evaluation of one variant.

Why a variant is cheap
----------------------
Everything that does not depend on a variant's parameters is prepared once, in
:func:`prepare`: per schedule, the playbook's :class:`~broadening.playbook.context.RebalanceData`
(index membership, caps, cap weights and their rank order, every sleeve's eligibility,
the regime score on the rebalance rows; risk models when a tracking-error budget is on)
and the engine's :class:`~broadening.backtest.engine.Simulation` (prices, costs, cash);
the cap-weighted benchmark's backtest per schedule and split. All of it is kept only on the
securities any variant could hold, in one :class:`SweepData` sent to every worker **once**.

A variant then runs the playbook's own algo stack
(:func:`broadening.playbook.strategies.playbook`) over all its rebalance rows at once and
the engine's :meth:`~broadening.backtest.engine.Simulation.run` on them: the same code as
:func:`broadening.playbook.suite.run_backtests`, so every variant equals the reference
backtest (``tests/sweep/test_run.py`` checks each one). Memoised inputs (rank orders, risk
models, windows) are built once per worker process and reused by every variant.

Walk-forward
------------
A variant with a split ``[train_start, train_end] -> (train_end, test_end]`` is one backtest
starting at the first rebalance on or after ``train_start`` on the data up to ``test_end``
(the same as ``run_backtests(market, cfg, start=train_start, end=test_end)``); its
in-sample metrics are those of the train window and its out-of-sample metrics those of the
test window. Without a split a variant covers the whole history with the same default start
as ``broadening backtest`` (once the momentum lookback has a full history).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from broadening.backtest import metrics as M
from broadening.backtest.costs import NO_COSTS
from broadening.backtest.engine import BacktestResult, Simulation
from broadening.backtest.prices import PriceData
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError, ConfigError
from broadening.playbook.context import RebalanceData
from broadening.playbook.risk import one_blas_thread
from broadening.playbook.strategies import cap_weight, default_baskets, playbook
from broadening.playbook.suite import check_feasible
from broadening.sweep.grid import Split, SweepGrid, Variant, resolve_splits

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

CORE = "equal_weight_core"

@dataclass
class BenchmarkRun:
    """The cap-weighted benchmark over one (schedule, split) window."""

    returns: pd.Series
    turnover: np.ndarray
    weights: np.ndarray


@dataclass
class SweepData:
    """Everything a variant needs, prepared once and scattered to the workers once.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape (T,)
    ids : ndarray of str, shape (N')
        The securities any variant could hold (on any schedule).
    rebalances : dict of str to RebalanceData
        Per schedule, the playbook's view of the market on its rebalance rows.
    simulations : dict of str to Simulation
        Per schedule, the engine prepared on the same securities.
    baskets : dict of str to basket function
        The sleeve eligibility functions (already evaluated into ``rebalances``).
    benchmarks : dict of (schedule, split name) to BenchmarkRun
    windows : dict of (schedule, split name) to (lo, hi, t_end)
        Rebalance rows ``lo:hi`` and the end position ``t_end`` (exclusive) of each window.
    splits : dict of str to Split
    costs : bool
    notes : list of str
    """

    dates: np.ndarray
    ids: np.ndarray
    rebalances: dict[str, RebalanceData]
    simulations: dict[str, Simulation]
    baskets: dict[str, Callable]
    benchmarks: dict[tuple[str, str], BenchmarkRun] = field(default_factory=dict)
    windows: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    splits: dict[str, Split] = field(default_factory=dict)
    costs: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays shipped to each worker."""
        seen: set[int] = set()
        n = 0

        def add(a: np.ndarray | None) -> None:
            nonlocal n
            if a is not None and id(a) not in seen:
                seen.add(id(a))
                n += a.nbytes

        for sim in self.simulations.values():
            add(sim.data.prices)
            add(sim.cap)
        for d in self.rebalances.values():
            for a in (d.members, d.alive, d.cap, d.tri, d.returns, *d.baskets.values()):
                add(a)
        return n


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
        For an impossible max weight, or walk-forward splits that do not fit in the data.
    """
    base = grid.base
    dates = market.dates
    lookback = base.momentum.lookback
    default_start = pd.Timestamp(dates[lookback]) if len(dates) > lookback + 1 else None
    resolve_splits(grid, market.index, default_start or pd.Timestamp(dates[0]))
    bfns = dict(baskets) if baskets is not None else default_baskets(basket_config)
    wanted = sorted({s for shares in grid.sleeve_sets.values() for s, v in shares.items() if v > 0 and s != CORE})
    bfns = {n: f for n, f in bfns.items() if n in wanted}
    index = base.portfolio.index
    te = base.constraints.tracking_error_budget > 0

    positions: dict[str, np.ndarray] = {}
    for sched in grid.axes["schedule"]:
        try:
            positions[sched] = rebalance_positions(dates, sched)
        except ValueError as exc:
            raise BroadeningError(f"sweep: {exc}") from None
    # one set of securities for every schedule: the union of what each could hold
    first = {s: RebalanceData.build(market, p, index, baskets=bfns, regime_score=regime_score, returns=te)
             for s, p in positions.items()}
    keep = np.zeros(market.shape[1], dtype=bool)
    for d in first.values():
        keep[d.cols] = True
    rebalances = {s: (d if len(d.cols) == keep.sum() else
                      RebalanceData.build(market, positions[s], index, baskets=bfns, regime_score=regime_score,
                                          returns=te, keep=keep))
                  for s, d in first.items()}
    notes: list[str] = []
    cols = np.flatnonzero(keep)
    pdata = PriceData.from_market(market, cols=cols)
    model = base.cost_model() if grid.costs else NO_COSTS
    shared_returns = None
    for d in rebalances.values():
        # max weight x investable names (the check run_backtests makes), on each schedule
        check_feasible(base, d)
        if te:
            # one returns panel for every schedule
            shared_returns = d.returns if shared_returns is None else shared_returns
            d.returns = shared_returns
        d.market = None  # the workers get the prepared arrays, never the market
    if not next(iter(rebalances.values())).has_index:
        notes.append(f"no membership stored for index '{index}': all listed securities used")
    for d in rebalances.values():
        for name, why in d.why.items():
            notes.append(f"sleeve '{name}' unavailable ({why}); its share goes to the core")
        break
    for name in wanted:
        if name not in bfns:
            notes.append(f"sleeve '{name}' has no basket; its share goes to the core")
    sims = {s: Simulation(pdata, p, costs=model, cash_rate=base.costs.cash_rate) for s, p in positions.items()}
    pdata.market_cap = None  # the costs read caps on the rebalance rows only (held by each Simulation)
    data = SweepData(dates=dates, ids=pdata.ids, rebalances=rebalances, simulations=sims, baskets=bfns,
                     splits={s.name: s for s in grid.splits}, costs=grid.costs, notes=notes)
    for sched, pos in positions.items():
        for split in grid.splits:
            lo, hi, t_end = _window(dates, pos, split, default_start)
            if hi - lo < 1:
                raise ConfigError(f"{grid.source}: key 'walk_forward': split {split.name} holds no rebalance date "
                                  f"on the {sched} schedule")
            data.windows[(sched, split.name)] = (lo, hi, t_end)
            with one_blas_thread():
                tw = cap_weight(index).run_on(rebalances[sched].window(lo, hi), split=False)
                res = sims[sched].run(tw.weights, rows=(lo, hi), end=t_end)
            if any("no market caps" in n for n in tw.notes):
                notes.append("no market caps on some rebalance dates: equal weight used instead")
            data.benchmarks[(sched, split.name)] = BenchmarkRun(res.returns, res.turnover.to_numpy(), res.weights)
    data.notes = list(dict.fromkeys(notes))
    return data, grid


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


def backtest_variant(data: SweepData, variant: Variant) -> BacktestResult:
    """The playbook backtest of one variant (the playbook's algo stack, then the engine), on the N' securities."""
    cfg = variant.config
    sched = cfg.portfolio.schedule
    lo, hi, t_end = data.windows[(sched, variant.split.name)]
    tw = playbook(cfg, data.baskets).run_on(data.rebalances[sched].window(lo, hi), split=False)
    return data.simulations[sched].run(tw.weights, rows=(lo, hi), end=t_end)


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
    with one_blas_thread():
        res = backtest_variant(data, variant)
        rets, turnover, wafter = res.returns, res.turnover.to_numpy(), res.weights
        bench = data.benchmarks[(sched, split.name)]
        rdates = res.rebalance_dates
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


def evaluate_many(data: SweepData, variants: list[Variant]) -> list[dict[str, Any]]:
    """Evaluate a chunk of variants (one Dask task); results keyed by variant id."""
    with one_blas_thread():
        return [evaluate(data, v) for v in variants]

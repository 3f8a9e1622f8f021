"""Run the playbook and its three benchmarks on one market: :func:`run_backtests`.

This is the Python API behind ``broadening backtest`` and what the report reads. All four
strategies share one schedule, one cost model and the same engine; metrics are measured
against the cap-weighted benchmark.

Results are stored and read back by :mod:`broadening.results`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.backtest import metrics as M
from broadening.backtest.attribution import attribute
from broadening.backtest.brinson import BrinsonAttribution, active_attribution
from broadening.backtest.costs import NO_COSTS
from broadening.backtest.engine import BacktestResult, Simulation
from broadening.backtest.prices import PriceData
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError
from broadening.playbook.config import PlaybookConfig, load_playbook_config
from broadening.playbook.context import AlgoStack, BasketFn, RebalanceData, TargetWeights
from broadening.playbook.strategies import (
    cap_weight,
    equal_weight,
    momentum,
    playbook,
)

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

STRATEGIES = ("playbook", "cap_weight", "equal_weight", "momentum")
BENCHMARK = "cap_weight"
HOLDINGS_TOP = 25


@dataclass
class BacktestSuite:
    """The playbook and its benchmarks, run on one market.

    Attributes
    ----------
    returns : DataFrame, shape (T', 4)
        Daily net returns, index ``date``, columns ``playbook, cap_weight, equal_weight, momentum``.
    metrics : DataFrame, shape (4, 12)
        Index ``strategy``, columns :data:`~broadening.backtest.metrics.METRIC_KEYS`
        (benchmark-relative metrics against ``cap_weight``).
    attribution : DataFrame, shape (T', S + 2)
        The playbook's daily contribution per sleeve, ``cash`` and ``costs``.
    attribution_total : Series
        Sum of the daily contributions per column.
    holdings : DataFrame
        Latest rebalance: top names by playbook or cap weight, with ``security_id, ticker,
        sector, playbook, cap_weight, active, sleeve`` (the sleeve holding most of the name).
    rolling : DataFrame
        Index ``date``; per strategy other than cap weight, its rolling 1-year return minus
        cap weight's (NaN for the first year).
    empty_sleeves : DataFrame
        ``date, sleeve``: playbook sleeves without eligible names (their share went to the core).
    results : dict of str to BacktestResult
    targets : dict of str to TargetWeights
    notes : list of str
        Fallbacks used (thin data, solver, history).
    synthetic : bool
    costs : bool
    config : PlaybookConfig
    brinson : dict of str to BrinsonAttribution
        The playbook against cap weight, Brinson-Fachler effects ``"sector"`` and ``"sleeve"``
        (Carino-linked; see :mod:`broadening.backtest.brinson`).
    """

    returns: pd.DataFrame
    metrics: pd.DataFrame
    attribution: pd.DataFrame
    attribution_total: pd.Series
    holdings: pd.DataFrame
    rolling: pd.DataFrame
    empty_sleeves: pd.DataFrame
    results: dict[str, BacktestResult]
    targets: dict[str, TargetWeights]
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False
    costs: bool = True
    config: PlaybookConfig = field(default_factory=PlaybookConfig)
    brinson: dict[str, BrinsonAttribution] = field(default_factory=dict)

    def meta(self) -> dict[str, object]:
        res = self.results[BENCHMARK]
        return {
            "synthetic": self.synthetic,
            "costs": self.costs,
            "config": self.config.source,
            "start": str(self.returns.index[0].date()),
            "end": str(self.returns.index[-1].date()),
            "schedule": self.config.portfolio.schedule,
            "last_rebalance": str(res.rebalance_dates[-1].date()),
            "notes": list(self.notes),
            "attribution_total": {k: float(v) for k, v in self.attribution_total.items()},
        }

    def metrics_json(self) -> dict[str, object]:
        """``{"strategies": {name: {metric: value}}, "empty_sleeves": [...], ...}``."""
        strategies = {s: {k: _num(v) for k, v in self.metrics.loc[s].items()} for s in self.metrics.index}
        empty = [{"date": str(pd.Timestamp(r.date).date()), "sleeve": r.sleeve} for r in self.empty_sleeves.itertuples()]
        return {
            "strategies": strategies,
            "empty_sleeves": empty,
            "benchmark": BENCHMARK,
            "start": str(self.returns.index[0].date()),
            "end": str(self.returns.index[-1].date()),
            "costs": self.costs,
            "synthetic": self.synthetic,
            "notes": list(self.notes),
        }


def _num(v) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else v


Progress = Callable[[str, int, int], None]


def run_backtests(
    market: Market,
    config: PlaybookConfig | str | Path | None = None,
    *,
    regime_score: pd.Series | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    costs: bool = True,
    baskets: Mapping[str, BasketFn] | None = None,
    basket_config: Config | None = None,
    progress: Progress | None = None,
) -> BacktestSuite:
    """Backtest the playbook, cap weight, equal weight and momentum on ``market``.

    Parameters
    ----------
    market : Market
    config : PlaybookConfig, path or None
        The playbook configuration (a TOML path is loaded and validated; None = defaults).
    regime_score : Series, optional
        Diffusion score in [0, 1] by date (e.g. ``signals.regime.diffusion_score``); read
        as of each rebalance date to scale the trim when ``trim.regime_scaling`` is on.
    start, end : date, optional
        First rebalance on or after ``start``; data cut at ``end`` (history before
        ``start`` is still used for momentum and covariances). Without ``start`` the
        backtests begin once the momentum lookback has a full history, so all four
        strategies are compared on the same sample.
    costs : bool, default True
        False turns every cost off.
    baskets : mapping, optional
        Sleeve eligibility functions (default: :func:`~broadening.playbook.strategies.default_baskets`).
    basket_config : broadening.config.Config, optional
        Classification config passed to the default baskets.
    progress : callable, optional
        ``progress(step, done, total)``.

    Returns
    -------
    BacktestSuite

    Raises
    ------
    ConfigError
        Before any backtest work, for an invalid or impossible configuration.
    """
    cfg = config if isinstance(config, PlaybookConfig) else load_playbook_config(config)
    if end is not None:
        market = market.until(end)
    if start is None and len(market.dates) > cfg.momentum.lookback + 1:
        start = pd.Timestamp(market.dates[cfg.momentum.lookback])
    try:
        positions = rebalance_positions(market.dates, cfg.portfolio.schedule, start=start)
    except ValueError as exc:
        raise BroadeningError(f"backtest: {exc}") from None
    stacks: dict[str, AlgoStack] = {
        "playbook": playbook(cfg, baskets, basket_config),
        "cap_weight": cap_weight(cfg.portfolio.index),
        "equal_weight": equal_weight(cfg.portfolio.index),
        "momentum": momentum(cfg.portfolio.index, cfg.momentum.lookback, cfg.momentum.skip, cfg.momentum.quantile),
    }
    # one view of the market on the rebalance rows serves all four strategies
    data = stacks["playbook"].data(market, positions, regime_score)
    check_feasible(cfg, data)

    steps = len(STRATEGIES) * 2 + 2
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(label, done, steps)

    model = cfg.cost_model() if costs else NO_COSTS
    pdata = PriceData.from_market(market, cols=data.cols)
    sim = Simulation(pdata, positions, costs=model, cash_rate=cfg.costs.cash_rate)
    targets: dict[str, TargetWeights] = {}
    results: dict[str, BacktestResult] = {}
    for name, stack in stacks.items():
        targets[name] = stack.run_on(data)
        tick(f"weights {name}")
        results[name] = sim.run(targets[name].weights)
        tick(f"backtest {name}")

    returns = pd.DataFrame({n: results[n].returns for n in STRATEGIES})
    returns.index.name = "date"
    bench = returns[BENCHMARK]
    rf = cfg.metrics.risk_free
    summaries = {
        n: M.summary(returns[n], bench, rf=rf, turnover=results[n].turnover,
                     weights=results[n].weights, benchmark_weights=results[BENCHMARK].weights)
        for n in STRATEGIES
    }
    metrics = M.table(summaries)
    metrics.index.name = "strategy"
    att = attribute(results["playbook"], pdata, targets["playbook"].sleeves)
    brinson = active_attribution(results["playbook"], results[BENCHMARK], pdata, data.sectors, targets["playbook"].sleeves)
    tick("attribution")
    rolling = pd.DataFrame(
        {n: M.rolling(returns[n], bench)["excess_return"] for n in STRATEGIES if n != BENCHMARK}, index=returns.index
    )
    holdings = _holdings(market, data.cols, results, targets)
    tick("holdings")
    notes = []
    for n in STRATEGIES:
        notes += [f"{n}: {x}" for x in targets[n].notes]
    if cfg.trim.regime_scaling and regime_score is None:
        notes.append("playbook: no regime score given, the trim was not scaled by regime")
    near = near_benchmark_note(cfg, metrics.loc["playbook", "active_share"], targets["playbook"], data)
    if near:
        notes.append(near)
    return BacktestSuite(
        returns=returns, metrics=metrics, attribution=att.daily, attribution_total=att.total,
        holdings=holdings, rolling=rolling, empty_sleeves=targets["playbook"].empty_sleeves,
        results=results, targets=targets, notes=notes, synthetic=bool(market.synthetic),
        costs=bool(costs), config=cfg, brinson=brinson,
    )


def check_feasible(cfg: PlaybookConfig, data: RebalanceData) -> None:
    """The configuration checks that need the data (see :meth:`PlaybookConfig.check_market`),
    with the fewest names the playbook could hold on a rebalance date (index members and
    the eligible names of sleeves with a share)."""
    shares = cfg.sleeves.shares()
    union = data.members.copy()
    for name, m in data.baskets.items():
        if m is not None and shares.get(name, 0.0) > 0:
            union |= m
    counts = union.sum(axis=1)
    counts = counts[counts > 0]
    cfg.check_market(data.market, int(counts.min()) if len(counts) else 0)


#: Active share (vs cap weight) under which a playbook is said to track its benchmark.
NEAR_BENCHMARK = 0.05


def near_benchmark_note(cfg: PlaybookConfig, active_share: float, targets: TargetWeights, data: RebalanceData) -> str | None:
    """A note when the playbook's average active share is within :data:`NEAR_BENCHMARK` of cap
    weight, saying why (how much the trim freed, the cap against the top names' weights, the
    regime scaling, binding budgets), or None."""
    if not np.isfinite(active_share) or active_share >= NEAR_BENCHMARK:
        return None
    t = cfg.trim
    wb = data.cap_weights()[0]
    top = np.take_along_axis(wb, data.cap_order()[:, : t.top_k], axis=1)
    share = float(top.sum(axis=1).mean())
    why = []
    if t.mode == "cap":
        biggest = float(top[:, 0].mean()) if top.shape[1] else 0.0
        if biggest <= t.cap:
            why.append(f"trim.cap {t.cap:.1%} is above the largest name's average weight ({biggest:.1%}), "
                       "so the trim rarely removes anything")
        else:
            why.append(f"trim.cap {t.cap:.1%} removes only the part of the top-{t.top_k} names above it")
    else:
        why.append(f"trim.cut {t.cut:.0%} of a top-{t.top_k} holding {share:.1%} of the index on average frees little")
    if t.regime_scaling:
        why.append(f"regime scaling trims only {t.regime_floor:.0%} in scarcity")
    k = cfg.constraints
    if 0 < k.tracking_error_budget:
        why.append(f"a tracking-error budget of {k.tracking_error_budget:.1%} pulls toward cap weight")
    if 0 < k.turnover_budget:
        why.append(f"a turnover budget of {k.turnover_budget:.0%} slows every move")
    return (f"playbook: average active share vs cap weight is {active_share:.1%} (< {NEAR_BENCHMARK:.0%}): it is "
            f"close to the benchmark, so its results are mostly cap weight's; why: {'; '.join(why)}. "
            "Raise trim.cut (or lower trim.cap) or top_k to express the thesis")


def _holdings(market: Market, cols: np.ndarray, results: Mapping[str, BacktestResult],
              targets: Mapping[str, TargetWeights]) -> pd.DataFrame:
    pb, cw = results["playbook"].weights[-1], results[BENCHMARK].weights[-1]
    top = np.argsort(-np.maximum(pb, cw), kind="stable")[:HOLDINGS_TOP]
    top = top[np.maximum(pb, cw)[top] > 0]
    sleeves = targets["playbook"].sleeves
    names = list(sleeves)
    split = np.stack([sleeves[k][-1] for k in names]) if names else np.zeros((0, len(pb)))
    dominant = [names[int(np.argmax(split[:, i]))] if names and split[:, i].sum() > 0 else "" for i in top]
    sec = market.securities
    # the securities in those columns on the last rebalance date (a lane holds several over time)
    at = market.occupants_at(int(results["playbook"].positions[-1]))[cols[top]]
    ids = market.security_ids[at]
    return pd.DataFrame({
        "security_id": ids,
        "ticker": sec["ticker"].to_numpy()[at].astype(str) if "ticker" in sec else ids,
        "sector": sec["sector"].fillna("Unknown").astype(str).to_numpy()[at],
        "playbook": pb[top],
        "cap_weight": cw[top],
        "active": pb[top] - cw[top],
        "sleeve": dominant,
    })

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
from broadening.backtest.engine import NO_COSTS, BacktestResult, PriceData, backtest
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError
from broadening.playbook.algos import AlgoStack, BasketFn, TargetWeights
from broadening.playbook.config import PlaybookConfig, investable_count, load_playbook_config
from broadening.playbook.strategies import (
    cap_weight,
    default_baskets,
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
    baskets = dict(baskets) if baskets is not None else default_baskets(basket_config)
    _check_feasible(cfg, market, positions, baskets)

    steps = len(STRATEGIES) * 2 + 2
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(label, done, steps)

    stacks: dict[str, AlgoStack] = {
        "playbook": playbook(cfg, baskets),
        "cap_weight": cap_weight(cfg.portfolio.index),
        "equal_weight": equal_weight(cfg.portfolio.index),
        "momentum": momentum(cfg.portfolio.index, cfg.momentum.lookback, cfg.momentum.skip, cfg.momentum.quantile),
    }
    model = cfg.cost_model() if costs else NO_COSTS
    data = PriceData.from_market(market)
    targets: dict[str, TargetWeights] = {}
    results: dict[str, BacktestResult] = {}
    for name, stack in stacks.items():
        targets[name] = stack.run(market, positions, regime_score if name == "playbook" else None)
        tick(f"weights {name}")
        results[name] = backtest(data, targets[name].weights, positions, costs=model, cash_rate=cfg.costs.cash_rate)
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
    att = attribute(results["playbook"], data, targets["playbook"].sleeves)
    tick("attribution")
    rolling = pd.DataFrame(
        {n: M.rolling(returns[n], bench)["excess_return"] for n in STRATEGIES if n != BENCHMARK}, index=returns.index
    )
    holdings = _holdings(market, results, targets)
    tick("holdings")
    notes = []
    for n in STRATEGIES:
        notes += [f"{n}: {x}" for x in targets[n].notes]
    if cfg.trim.regime_scaling and regime_score is None:
        notes.append("playbook: no regime score given, the trim was not scaled by regime")
    return BacktestSuite(
        returns=returns, metrics=metrics, attribution=att.daily, attribution_total=att.total,
        holdings=holdings, rolling=rolling, empty_sleeves=targets["playbook"].empty_sleeves,
        results=results, targets=targets, notes=notes, synthetic=bool(market.synthetic),
        costs=bool(costs), config=cfg,
    )


def _check_feasible(cfg: PlaybookConfig, market: Market, positions: np.ndarray, baskets: Mapping[str, BasketFn]) -> None:
    index = cfg.portfolio.index
    masks = [market.members(index) if market.has_index(index) else market.alive]
    for name, fn in baskets.items():
        if cfg.sleeves.shares().get(name, 0.0) <= 0:
            continue
        try:
            masks.append(np.asarray(fn(market), dtype=bool) & market.alive)
        except (BroadeningError, KeyError, ValueError):
            continue  # an unavailable sleeve is empty (Redeploy notes it)
    cfg.check_market(market, investable_count(market, masks, positions))


def _holdings(market: Market, results: Mapping[str, BacktestResult], targets: Mapping[str, TargetWeights]) -> pd.DataFrame:
    pb, cw = results["playbook"].weights[-1], results[BENCHMARK].weights[-1]
    top = np.argsort(-np.maximum(pb, cw), kind="stable")[:HOLDINGS_TOP]
    top = top[np.maximum(pb, cw)[top] > 0]
    sleeves = targets["playbook"].sleeves
    names = list(sleeves)
    split = np.stack([sleeves[k][-1] for k in names]) if names else np.zeros((0, len(pb)))
    dominant = [names[int(np.argmax(split[:, i]))] if names and split[:, i].sum() > 0 else "" for i in top]
    sec = market.securities
    return pd.DataFrame({
        "security_id": market.ids[top].astype(str),
        "ticker": sec["ticker"].to_numpy()[top].astype(str) if "ticker" in sec else market.ids[top].astype(str),
        "sector": sec["sector"].fillna("Unknown").astype(str).to_numpy()[top],
        "playbook": pb[top],
        "cap_weight": cw[top],
        "active": pb[top] - cw[top],
        "sleeve": dominant,
    })

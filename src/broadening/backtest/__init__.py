"""Backtest engine, schedules, metrics and attribution (the engine knows nothing of the thesis)."""

from broadening.backtest.attribution import Attribution, attribute
from broadening.backtest.costs import NO_COSTS, CostModel
from broadening.backtest.engine import BacktestResult, Simulation, backtest
from broadening.backtest.prices import PriceData
from broadening.backtest.schedule import rebalance_positions

__all__ = [
    "Attribution", "attribute", "BacktestResult", "CostModel", "NO_COSTS", "PriceData",
    "Simulation", "backtest", "rebalance_positions",
]

"""Backtest engine, schedules, metrics and attribution (the engine knows nothing of the thesis)."""

from broadening.backtest.attribution import Attribution, attribute
from broadening.backtest.engine import NO_COSTS, BacktestResult, CostModel, PriceData, backtest
from broadening.backtest.schedule import rebalance_positions

__all__ = [
    "Attribution", "attribute", "BacktestResult", "CostModel", "NO_COSTS", "PriceData",
    "backtest", "rebalance_positions",
]

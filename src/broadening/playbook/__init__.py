"""The playbook: target-weight construction as stacks of tiny algos, and the backtest suite."""

from broadening.playbook.algos import AlgoStack, Context, TargetWeights
from broadening.playbook.config import PlaybookConfig, load_playbook_config
from broadening.playbook.strategies import cap_weight, equal_weight, momentum, playbook
from broadening.playbook.suite import STRATEGIES, BacktestSuite, run_backtests
from broadening.playbook.targets import playbook_targets

__all__ = [
    "AlgoStack", "Context", "TargetWeights", "PlaybookConfig", "load_playbook_config",
    "cap_weight", "equal_weight", "momentum", "playbook", "STRATEGIES", "BacktestSuite", "run_backtests",
    "playbook_targets",
]

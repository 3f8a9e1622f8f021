"""broadening: measure, explain and trade the shift from mega-cap concentration to broad participation.

The public API, one import away::

    import broadening as br

    ws = br.Workspace("broadening.duckdb")           # warehouse + configurations + stored results
    card = ws.scorecard(asof="2024-06-28")            # the thesis scorecard, point-in-time
    suite = ws.backtest()                             # the playbook against its benchmarks
    ws.report("report.html", suite=suite, card=card)  # the HTML report

or the functions underneath (``br.compute_signals(market)``, ``br.run_backtests(market)``,
...). Names are imported on first use, so ``import broadening`` stays instant; the layers
behind them are described in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib

# `typing` alone would double the cost of `import broadening`; type checkers read this name as True
TYPE_CHECKING = False

#: public name -> module defining it
_API: dict[str, str] = {
    # the front door
    "Workspace": "broadening.workspace",
    "ReportRun": "broadening.workspace",
    # data
    "Warehouse": "broadening.warehouse",
    "Market": "broadening.market",
    "load_market": "broadening.market",
    # configuration
    "Config": "broadening.config",
    "load_config": "broadening.config",
    "PlaybookConfig": "broadening.playbook.config",
    "load_playbook_config": "broadening.playbook.config",
    # the thesis
    "compute_signals": "broadening.signals",
    "scorecard": "broadening.signals",
    "Scorecard": "broadening.signals",
    "regime": "broadening.signals",
    "diffusion_score": "broadening.signals",
    # the playbook
    "run_backtests": "broadening.playbook.suite",
    "BacktestSuite": "broadening.playbook.suite",
    "load_grid": "broadening.sweep.grid",
    "run_sweep": "broadening.sweep.run",
    # results and the report
    "StoredBacktest": "broadening.results",
    "build_report": "broadening.report",
    # errors
    "BroadeningError": "broadening.errors",
    "ConfigError": "broadening.errors",
    "DataValidationError": "broadening.errors",
    "EmptyWarehouseError": "broadening.errors",
}

__all__ = [
    "BacktestSuite",
    "BroadeningError",
    "Config",
    "ConfigError",
    "DataValidationError",
    "EmptyWarehouseError",
    "Market",
    "PlaybookConfig",
    "ReportRun",
    "Scorecard",
    "StoredBacktest",
    "Warehouse",
    "Workspace",
    "build_report",
    "compute_signals",
    "diffusion_score",
    "load_config",
    "load_grid",
    "load_market",
    "load_playbook_config",
    "regime",
    "run_backtests",
    "run_sweep",
    "scorecard",
]

if TYPE_CHECKING:  # what static tools see; at run time __getattr__ imports on first use
    from broadening.config import Config, load_config
    from broadening.errors import (
        BroadeningError,
        ConfigError,
        DataValidationError,
        EmptyWarehouseError,
    )
    from broadening.market import Market, load_market
    from broadening.playbook.config import PlaybookConfig, load_playbook_config
    from broadening.playbook.suite import BacktestSuite, run_backtests
    from broadening.report import build_report
    from broadening.results import StoredBacktest
    from broadening.signals import Scorecard, compute_signals, diffusion_score, regime, scorecard
    from broadening.sweep.grid import load_grid
    from broadening.sweep.run import run_sweep
    from broadening.warehouse import Warehouse
    from broadening.workspace import ReportRun, Workspace


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import version

        return version("broadening")
    module = _API.get(name)
    if module is None:
        # plain AttributeError: `from broadening import baskets` then imports the submodule
        raise AttributeError(f"module 'broadening' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))

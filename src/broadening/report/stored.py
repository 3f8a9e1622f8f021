"""Backtest results as stored in the warehouse, read back for the report.

``broadening backtest`` stores its results (see :mod:`broadening.playbook.suite`);
:func:`load_stored_suite` reads them back into an object with the fields the report
uses, so ``broadening report`` shows exactly the backtest the user ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from broadening.warehouse import Warehouse


@dataclass
class StoredSuite:
    """The report's view of a stored backtest (same field names as ``BacktestSuite``)."""

    returns: pd.DataFrame
    metrics: pd.DataFrame
    attribution_total: pd.Series
    holdings: pd.DataFrame
    empty_sleeves: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    costs: bool = True
    stored_meta: dict = field(default_factory=dict)

    def meta(self) -> dict:
        return self.stored_meta


def load_stored_suite(wh: Warehouse) -> StoredSuite | None:
    """The stored backtest, or None when no complete one is stored."""
    parts = {}
    meta: dict = {}
    for name in ("backtest_returns", "backtest_metrics", "backtest_holdings", "backtest_empty_sleeves"):
        got = wh.load_result(name)
        if got is None:
            return None
        parts[name], meta = got
    rets = parts["backtest_returns"]
    rets = rets.set_index(pd.DatetimeIndex(pd.to_datetime(rets.pop("date")), name="date"))
    metrics = parts["backtest_metrics"].set_index("strategy")
    empty = parts["backtest_empty_sleeves"]
    attribution = pd.Series(meta.get("attribution_total", {}), dtype=float)
    return StoredSuite(
        returns=rets, metrics=metrics, attribution_total=attribution, holdings=parts["backtest_holdings"],
        empty_sleeves=empty, notes=list(meta.get("notes", [])), costs=bool(meta.get("costs", True)), stored_meta=meta,
    )

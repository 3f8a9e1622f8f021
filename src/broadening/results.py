"""Stored results: the one place backtests and sweeps are written to the warehouse and read back.

``broadening backtest`` and ``broadening sweep`` store what they computed so that
``broadening report`` shows exactly the run the user made. What a stored result is made of
lives here and nowhere else; the warehouse only keeps named frames with their meta
(:meth:`broadening.warehouse.Warehouse.save_results`), written in one transaction.

Backtest (:func:`save_backtest`, read back by :func:`load_backtest`):

=========================  ==================================================================
``backtest_returns``       ``date``, then one column of daily returns per strategy
``backtest_metrics``       ``strategy``, then one column per metric (``METRIC_KEYS``)
``backtest_attribution``   ``date``, then the playbook's daily contribution per sleeve, ``cash``, ``costs``
``backtest_holdings``      latest rebalance: ``security_id, ticker, sector, playbook, cap_weight,
                           active, sleeve`` (top names by either weight)
``backtest_rolling``       ``date``, then per strategy its rolling 1-year return minus cap weight's
``backtest_empty_sleeves`` ``date, sleeve``: sleeves without eligible names on a rebalance date
``backtest_brinson``       the playbook against cap weight, Brinson-Fachler effects Carino-linked:
                           ``by, group, allocation, selection, interaction, costs, total,
                           portfolio_weight, benchmark_weight``
                           (:func:`broadening.backtest.brinson.brinson_frame`)
=========================  ==================================================================

``backtest_brinson`` is optional on reading (:data:`BACKTEST_OPTIONAL`): a warehouse written
before it existed still loads, with ``StoredBacktest.brinson_frame`` None; so does one whose
``backtest_brinson`` was left by an earlier save than the other frames (its meta differs).

Each holds the suite's meta (``synthetic``, ``costs``, ``config``, ``start``, ``end``,
``schedule``, ``last_rebalance``, ``notes``, ``attribution_total``) plus the fingerprints of
the playbook and classification configurations it ran with, so a reader can tell whether
it matches the configuration at hand (:meth:`StoredBacktest.made_with`).

Sweep (:func:`save_sweep`, :func:`load_sweep`): ``sweep_variants``, one row per variant
(:meth:`broadening.sweep.run.SweepResult.frame`) with the sweep's meta.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from broadening.backtest.brinson import brinson_frame
from broadening.warehouse import Warehouse

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.playbook.config import PlaybookConfig
    from broadening.playbook.suite import BacktestSuite
    from broadening.sweep.run import SweepResult

BACKTEST_RESULTS = (
    "backtest_returns",
    "backtest_metrics",
    "backtest_attribution",
    "backtest_holdings",
    "backtest_rolling",
    "backtest_empty_sleeves",
    "backtest_brinson",
)
#: Results a stored backtest may lack (written by an older version) and still load.
BACKTEST_OPTIONAL = frozenset({"backtest_brinson"})
BRINSON_COLUMNS = ("by", "group", "allocation", "selection", "interaction", "costs", "total",
                   "portfolio_weight", "benchmark_weight")
SWEEP_RESULT = "sweep_variants"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def playbook_fingerprint(config: PlaybookConfig) -> str:
    """A short stable id of a playbook configuration's settings (its file name left out)."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "source"}
    return _digest(json.dumps(settings, sort_keys=True, default=str))


def classification_fingerprint(config: Config) -> str:
    """A short stable id of a classification configuration's settings."""
    return _digest(config.fingerprint)


@dataclass
class StoredBacktest:
    """A backtest read back from the warehouse (the fields of a ``BacktestSuite`` the report reads).

    Attributes
    ----------
    returns : DataFrame
        Daily net returns indexed by ``date``, one column per strategy.
    metrics : DataFrame
        Indexed by ``strategy``, one column per metric.
    attribution : DataFrame
        The playbook's daily contribution per sleeve, ``cash`` and ``costs``, indexed by ``date``.
    attribution_total : Series
        Sum of the daily contributions per column.
    holdings : DataFrame
    rolling : DataFrame
        Indexed by ``date``.
    empty_sleeves : DataFrame
        ``date, sleeve``.
    brinson_frame : DataFrame or None
        Active attribution against cap weight, the long table of
        :func:`broadening.backtest.brinson.brinson_frame` (columns :data:`BRINSON_COLUMNS`);
        None for a backtest stored before it was kept.
    notes : list of str
    costs : bool
    synthetic : bool
    stored_meta : dict
        Everything stored with the result.
    """

    returns: pd.DataFrame
    metrics: pd.DataFrame
    attribution: pd.DataFrame
    attribution_total: pd.Series
    holdings: pd.DataFrame
    rolling: pd.DataFrame
    empty_sleeves: pd.DataFrame
    brinson_frame: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    costs: bool = True
    synthetic: bool = False
    stored_meta: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """The meta stored with the backtest (same shape as ``BacktestSuite.meta()``)."""
        return self.stored_meta

    def made_with(self, playbook: PlaybookConfig, classification: Config) -> bool:
        """Whether this backtest ran with these playbook and classification settings."""
        return (self.stored_meta.get("playbook_fingerprint") == playbook_fingerprint(playbook)
                and self.stored_meta.get("classification_fingerprint") == classification_fingerprint(classification))


def save_backtest(wh: Warehouse, suite: BacktestSuite, classification: Config) -> list[str]:
    """Store a backtest suite (replacing the stored one) in one transaction; returns the result names.

    Parameters
    ----------
    wh : Warehouse
        Opened for writing.
    suite : BacktestSuite
        From :func:`broadening.playbook.suite.run_backtests`.
    classification : Config
        The classification configuration the suite ran with (its baskets and regime score).
    """
    meta = dict(suite.meta())
    meta["playbook_fingerprint"] = playbook_fingerprint(suite.config)
    meta["classification"] = classification.source
    meta["classification_fingerprint"] = classification_fingerprint(classification)
    frames = {
        "backtest_returns": suite.returns.rename_axis("date").reset_index(),
        "backtest_metrics": suite.metrics.rename_axis("strategy").reset_index(),
        "backtest_attribution": suite.attribution.rename_axis("date").reset_index(),
        "backtest_holdings": suite.holdings,
        "backtest_rolling": suite.rolling.rename_axis("date").reset_index(),
        "backtest_empty_sleeves": suite.empty_sleeves,
        "backtest_brinson": _brinson_frame(suite),
    }
    wh.save_results(frames, meta)
    return list(frames)


def _brinson_frame(suite: BacktestSuite) -> pd.DataFrame:
    """The suite's Brinson-Fachler attribution as one long table (typed, so an empty one stores too)."""
    frame = brinson_frame(suite.brinson)[list(BRINSON_COLUMNS)]
    return frame.astype({c: "float64" for c in BRINSON_COLUMNS[2:]} | {"by": str, "group": str})


def _dated(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    return df.set_index(pd.DatetimeIndex(pd.to_datetime(df.pop("date")), name="date"))


def load_backtest(wh: Warehouse) -> StoredBacktest | None:
    """The stored backtest, or None when no complete one is stored."""
    parts: dict[str, pd.DataFrame] = {}
    meta: dict[str, Any] = {}
    for name in BACKTEST_RESULTS:
        if name in BACKTEST_OPTIONAL:
            continue
        got = wh.load_result(name)
        if got is None:
            return None
        parts[name], meta = got
    brinson = wh.load_result("backtest_brinson")
    # every frame of one save carries the same meta: a different one was left by an earlier save
    stored_brinson = brinson[0] if brinson is not None and brinson[1] == meta else None
    return StoredBacktest(
        returns=_dated(parts["backtest_returns"]),
        metrics=parts["backtest_metrics"].set_index("strategy"),
        attribution=_dated(parts["backtest_attribution"]),
        attribution_total=pd.Series(meta.get("attribution_total", {}), dtype=float),
        holdings=parts["backtest_holdings"],
        rolling=_dated(parts["backtest_rolling"]),
        empty_sleeves=parts["backtest_empty_sleeves"],
        brinson_frame=stored_brinson,
        notes=list(meta.get("notes", [])),
        costs=bool(meta.get("costs", True)),
        synthetic=bool(meta.get("synthetic", False)),
        stored_meta=meta,
    )


def save_sweep(wh: Warehouse, result: SweepResult, metric: str = "sharpe") -> str:
    """Store a sweep's variants table (meta: axes, splits, best by ``metric``, walk-forward); returns its name."""
    wh.save_results({SWEEP_RESULT: result.frame()}, result.meta(metric))
    return SWEEP_RESULT


def load_sweep(wh: Warehouse) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The stored sweep's variants table and meta, or None when no sweep was stored."""
    return wh.load_result(SWEEP_RESULT)


__all__ = [
    "BACKTEST_OPTIONAL",
    "BACKTEST_RESULTS",
    "BRINSON_COLUMNS",
    "SWEEP_RESULT",
    "StoredBacktest",
    "classification_fingerprint",
    "load_backtest",
    "load_sweep",
    "playbook_fingerprint",
    "save_backtest",
    "save_sweep",
]

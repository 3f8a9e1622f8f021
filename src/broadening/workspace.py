"""The front door: one object wiring the warehouse, the configurations, the regime and the stored results.

A :class:`Workspace` is what the CLI and a notebook talk to. It holds

- the warehouse (a DuckDB file, opened for each operation: read-only to read, so other
  processes can read it too, and briefly for writing to store);
- the classification configuration (baskets, signals, scorecard, regime) and the playbook
  configuration, loaded and checked once, up front;
- the regime wiring: the diffusion score that scales the playbook's trim is computed
  :meth:`one way <Workspace.regime_score>`, with the classification the workspace was given,
  for the backtest, the sweep and the report alike;
- the stored results (:mod:`broadening.results`), and the rule for when the report may
  reuse a stored backtest (same as-of date, same playbook, same classification).

Examples
--------
>>> from broadening import Workspace
>>> ws = Workspace("broadening.duckdb", classification="my_classification.toml")  # doctest: +SKIP
>>> card = ws.scorecard(asof="2024-06-28")                                        # doctest: +SKIP
>>> suite = ws.backtest()                                                         # doctest: +SKIP
>>> ws.save_backtest(suite)                                                       # doctest: +SKIP
>>> ws.report("report.html")                                                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from broadening import results
from broadening.audit import pull_gap_notes
from broadening.config import Config, load_config
from broadening.errors import BroadeningError, ConfigError
from broadening.export_blocks import DEFAULT_BLOCK_SIZE, BlockExport, export_blocks
from broadening.lanes import LANE_GAP
from broadening.market import Market, load_market
from broadening.playbook.config import PlaybookConfig, load_playbook_config
from broadening.playbook.rebalance import TradeList, rebalance
from broadening.playbook.strategies import default_baskets
from broadening.playbook.suite import BacktestSuite, run_backtests
from broadening.providers.files import read_table_dir
from broadening.providers.synthetic import PRESETS, generate, stream
from broadening.report.build import ReportResult, build_report
from broadening.report.sweep_section import sweep_section
from broadening.signals import compute_signals, diffusion_score, scorecard
from broadening.signals import regime as regime_frame
from broadening.signals.scorecard import Scorecard
from broadening.warehouse import IngestReport, Progress, Warehouse, default_path

if TYPE_CHECKING:
    from broadening.sweep.grid import SweepGrid
    from broadening.sweep.run import SweepResult

REGIMES = ("broadening", "concentrating")


def check_synthetic(preset: str, regime: str = "broadening", scale: float = 1.0) -> None:
    """Check the options of the synthetic market before any work.

    Raises
    ------
    BroadeningError
        Naming the option, for an unknown preset or regime, or a scale given to a
        fixed-size preset (only ``us-all`` takes one) or outside (0, 1].
    """
    if preset not in PRESETS:
        raise BroadeningError(f"--preset: expected one of {', '.join(PRESETS)}, got {preset!r}")
    if regime not in REGIMES:
        raise BroadeningError(f"--regime: expected {' or '.join(REGIMES)}, got {regime!r}")
    if scale != 1.0 and not (PRESETS[preset].listings == "us-history" and 0.0 < scale <= 1.0):
        raise BroadeningError(f"--scale: expected a number in (0, 1] with --preset us-all, got {scale!r} with {preset!r}")


@dataclass
class ReportRun:
    """What :meth:`Workspace.report` did.

    Attributes
    ----------
    result : ReportResult
        Where the report went, its size and time.
    backtest : {"stored", "ran", "given", "none"}
        Where the playbook section's backtest came from: the stored one (it matched the
        as-of date and both configurations), a fresh run, the caller's, or none.
    no_backtest_reason : str or None
        Why there is no backtest (a history too short to backtest, ...).
    stored_span : tuple of Timestamp, optional
        First and last date of the stored backtest, when it was used.
    """

    result: ReportResult
    backtest: Literal["stored", "ran", "given", "none"]
    no_backtest_reason: str | None = None
    stored_span: tuple[pd.Timestamp, pd.Timestamp] | None = None


class Workspace:
    """A warehouse with its classification and playbook configurations: the project's front door.

    Parameters
    ----------
    path : str, Path or Warehouse, optional
        The DuckDB warehouse file (default: ``$BROADENING_WAREHOUSE`` or
        ``./broadening.duckdb``); ``":memory:"`` for a throwaway in-memory one; or an open
        :class:`~broadening.warehouse.Warehouse`, used as it is and never closed here.
    classification : Config, str or Path, optional
        Classification/scorecard configuration, or a TOML file merged over the shipped
        defaults (see ``broadening/config/classification.toml``). Defaults when omitted.
    playbook : PlaybookConfig, str or Path, optional
        Playbook configuration or TOML file (see ``examples/playbook.toml``). Defaults when omitted.

    Raises
    ------
    ConfigError
        For a missing or invalid configuration file (before any other work).

    Notes
    -----
    The last market loaded is kept (with every signal it memoised), so the scorecard, the
    backtest and the report of one as-of date share one load and one computation of the
    signals; ingesting or importing through this workspace drops it (storing results does not).
    """

    def __init__(
        self,
        path: str | Path | Warehouse | None = None,
        *,
        classification: Config | str | Path | None = None,
        playbook: PlaybookConfig | str | Path | None = None,
    ) -> None:
        self.classification: Config = (
            classification if isinstance(classification, Config) else load_config(classification)
        )
        self.playbook: PlaybookConfig = (
            playbook if isinstance(playbook, PlaybookConfig) else load_playbook_config(playbook)
        )
        self._held: Warehouse | None = None
        self._owns_held = False
        if isinstance(path, Warehouse):
            self._held, self.path = path, path.path
        else:
            self.path = str(path) if path is not None else default_path()
            if self.path == ":memory:":
                self._held, self._owns_held = Warehouse(":memory:"), True
        self._market_key: tuple | None = None
        self._market: Market | None = None

    def __repr__(self) -> str:
        return (f"Workspace({self.path!r}, classification={self.classification.source!r}, "
                f"playbook={self.playbook.source!r})")

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Drop the cached market and close an in-memory warehouse this workspace created."""
        self._forget_market()
        if self._held is not None and self._owns_held:
            self._held.close()
            self._held = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def warehouse(self, *, write: bool = False) -> Iterator[Warehouse]:
        """The warehouse, open for one ``with`` block (read-only unless ``write``).

        Raises
        ------
        EmptyWarehouseError
            Reading a file that does not exist.
        """
        if self._held is not None:
            yield self._held
            return
        wh = Warehouse(self.path, read_only=not write)
        try:
            yield wh
        finally:
            wh.close()

    def _forget_market(self) -> None:
        self._market_key, self._market = None, None

    # -- data in and out -------------------------------------------------------------------
    def info(self) -> dict[str, object]:
        """What the warehouse holds (see :meth:`broadening.warehouse.Warehouse.info`)."""
        with self.warehouse() as wh:
            return wh.info()

    def ingest(self, tables: Mapping[str, pd.DataFrame], *, source: str, **options: object) -> IngestReport:
        """Validate and store canonical tables (see :meth:`broadening.warehouse.Warehouse.ingest`)."""
        self._forget_market()  # the stored market changes (results stored meanwhile do not)
        with self.warehouse(write=True) as wh:
            return wh.ingest(tables, source=source, **options)

    def ingest_synthetic(
        self, *, seed: int = 7, preset: str = "demo", regime: str = "broadening", scale: float = 1.0,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Generate the embedded synthetic market and store it, replacing the warehouse's contents.

        ``us-all`` (the whole US market since 1990) is generated and stored one block of
        securities at a time, in one transaction (:meth:`Warehouse.ingest_chunks`), so
        memory holds a block, not the market.

        Parameters
        ----------
        seed : int, default 7
        preset : {"tiny", "demo", "research", "us-all"}
        regime : {"broadening", "concentrating"}
            The final phase of the generated market.
        scale : float, default 1.0
            ``us-all`` only: size relative to the whole market.
        progress : callable, optional
            ``progress(step, done, total)``.

        Raises
        ------
        BroadeningError
            For an unknown preset or regime, or a bad scale (before any work).
        """
        check_synthetic(preset, regime, scale)
        if PRESETS[preset].listings == "us-history":
            ms = stream(seed=seed, preset=preset, regime=regime, scale=scale)
            total = ms.n_blocks + 2  # securities, the blocks, then fundamentals/membership/series
            if progress:
                progress(f"generating and storing the '{preset}' market (seed {seed}) in {ms.n_blocks} blocks", 0, total)
            with self.warehouse(write=True) as wh:
                return wh.ingest_chunks(ms, source="synthetic", synthetic=True, replace=True, meta=lambda: ms.meta,
                                        progress=progress, total=total)
        total = 1 + 2 * 6  # generating, then validating and storing each of the six tables
        if progress:
            progress(f"generating the '{preset}' market (seed {seed})", 0, total)
        mkt = generate(seed=seed, preset=preset, regime=regime)
        if progress:
            progress("generated", 1, total)
        step = (lambda s, d, t: progress(s, 1 + d, 1 + t)) if progress else None
        return self.ingest(mkt.tables, source="synthetic", synthetic=True, replace=True, meta=mkt.meta, progress=step)

    def ingest_files(
        self, directory: str | Path, *, replace: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        """Ingest the user's canonical tables from a directory of CSV/Parquet files (upsert by key)."""
        tables, sources = read_table_dir(directory)
        return self.ingest(
            tables, source=f"csv:{Path(directory).resolve()}", sources=sources, replace=replace, progress=progress
        )

    def export_parquet(self, directory: str | Path) -> dict[str, Path]:
        """Write one Parquet file per canonical table into ``directory``."""
        with self.warehouse() as wh:
            wh.require_data()
            return wh.export_parquet(directory)

    def export_blocks(self, directory: str | Path, block_size: int = DEFAULT_BLOCK_SIZE) -> BlockExport:
        """Write the per-security tables as Parquet partitioned by security block (see
        :mod:`broadening.export_blocks`), for passes that read one block per worker."""
        with self.warehouse() as wh:
            return export_blocks(wh, directory, block_size)

    def import_parquet(
        self, directory: str | Path, *, replace: bool = True, progress: Progress | None = None,
        allow_empty: bool = False,
    ) -> IngestReport:
        """Import an export (as written by :meth:`export_parquet`), validated.

        With ``replace`` the export must be complete and may empty a stored table only
        with ``allow_empty`` (see :meth:`broadening.warehouse.Warehouse.import_parquet`).
        """
        self._forget_market()
        with self.warehouse(write=True) as wh:
            return wh.import_parquet(directory, replace=replace, progress=progress, allow_empty=allow_empty)

    # -- the market and the thesis ---------------------------------------------------------
    def market(self, asof: str | pd.Timestamp | None = None, *, start: str | pd.Timestamp | None = None) -> Market:
        """The point-in-time market as of ``asof`` (default: the last date stored).

        Raises
        ------
        EmptyWarehouseError
            When there is no warehouse, no prices, or ``asof`` is before the first price.
        """
        key = (None if asof is None else pd.Timestamp(asof), None if start is None else pd.Timestamp(start))
        if self._market is None or self._market_key != key:
            self._forget_market()  # never hold two markets at once
            with self.warehouse() as wh:
                self._market = load_market(wh, asof=asof, start=start, gap=self.lane_gap())
            self._market_key = key
        return self._market

    def lane_gap(self) -> int:
        """Empty rows between two securities sharing a column of a lane-packed market: the
        longest trailing window this workspace's configurations read over one security."""
        s, p = self.classification.signals, self.playbook
        return max(LANE_GAP, p.momentum.lookback, p.constraints.te_lookback, s.growth_lag_days,
                   self.classification.small_cap_quality.growth_lag_days, s.moving_average, s.breadth_window)

    def signals(self, asof: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Every metric of the claims C1-C10 per date (:func:`broadening.signals.compute_signals`)."""
        return compute_signals(self.market(asof), self.classification)

    def scorecard(self, asof: str | pd.Timestamp | None = None) -> Scorecard:
        """The thesis scorecard as of ``asof``, with this workspace's classification."""
        return scorecard(self.market(asof), self.classification)

    def regime(self, asof: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Regime components, diffusion score and label per date (:func:`broadening.signals.regime`)."""
        return regime_frame(self.market(asof), self.classification)

    def regime_score(self, market: Market) -> tuple[pd.Series | None, str | None]:
        """The diffusion score that scales the playbook's trim, and why it is missing if it is.

        The one place the playbook, the sweep and the report get their regime from: always
        with this workspace's classification, so the baskets, the scorecard and the trim
        agree.

        Returns
        -------
        score : Series or None
            Diffusion score in [0, 1] by date; None when it cannot be computed on ``market``.
        note : str or None
            Why there is no score (the trim is then not scaled by the regime).
        """
        try:
            return diffusion_score(market, self.classification), None
        except ConfigError:
            raise  # a bad setting is the user's to fix, not a reason to run the trim unscaled
        except (BroadeningError, KeyError, ValueError) as exc:
            return None, f"no regime score on this data ({exc}); trim not scaled by regime"

    # -- the playbook ----------------------------------------------------------------------
    def backtest(
        self,
        *,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        costs: bool = True,
        progress: Progress | None = None,
    ) -> BacktestSuite:
        """Backtest the playbook against cap weight, equal weight and momentum.

        Parameters
        ----------
        start : date, optional
            First rebalance on or after this date (default: once momentum has its history).
        end : date, optional
            The market is taken as of this date (default: the last date stored).
        costs : bool, default True
            False turns every transaction cost off.
        progress : callable, optional

        Returns
        -------
        BacktestSuite
            Not stored: pass it to :meth:`save_backtest` to keep it for the report.
        """
        market = self.market(end)
        score, note = self.regime_score(market) if self.playbook.trim.regime_scaling else (None, None)
        suite = run_backtests(
            market, self.playbook, regime_score=score, start=start, costs=costs,
            basket_config=self.classification, progress=progress,
        )
        if note:
            suite.notes.append(note)
        return suite

    def rebalance(
        self,
        holdings: pd.DataFrame | str | Path,
        *,
        asof: str | pd.Timestamp | None = None,
        cash: float = 0.0,
        round_lot: int | None = None,
    ) -> TradeList:
        """The trades that move ``holdings`` (plus ``cash``) to the playbook at the close of ``asof``.

        See :func:`broadening.playbook.rebalance.rebalance`; the baskets and the regime score
        come from this workspace's classification, as in :meth:`backtest`.
        """
        market = self.market(asof)
        score, note = self.regime_score(market) if self.playbook.trim.regime_scaling else (None, None)
        trades = rebalance(
            market, holdings, self.playbook, cash=cash, round_lot=round_lot, regime_score=score,
            baskets=default_baskets(self.classification),
        )
        if note:
            trades.notes.append(note)
        return trades

    def save_backtest(self, suite: BacktestSuite) -> list[str]:
        """Store ``suite`` for the report (replacing the stored backtest); returns the result names."""
        with self.warehouse(write=True) as wh:
            return results.save_backtest(wh, suite, self.classification)

    def stored_backtest(self) -> results.StoredBacktest | None:
        """The stored backtest, or None."""
        with self.warehouse() as wh:
            return results.load_backtest(wh)

    def sweep(
        self,
        grid: SweepGrid | str | Path,
        *,
        scheduler: str | None = None,
        workers: int = 2,
        progress: Progress | None = None,
    ) -> SweepResult:
        """Run the playbook variants of a sweep grid (its own base playbook) on the latest market.

        The regime score for variants with regime scaling and the baskets come from this
        workspace's classification.
        """
        # imported here: Dask-backed sweeps are the one heavy, optional part of the workspace
        from broadening.sweep.grid import SweepGrid, load_grid
        from broadening.sweep.run import run_sweep

        g = grid if isinstance(grid, SweepGrid) else load_grid(grid)
        market = self.market()
        score, note = self.regime_score(market) if any(g.axes["regime_scaling"]) else (None, None)
        result = run_sweep(
            market, g, regime_score=score, basket_config=self.classification,
            scheduler=scheduler, workers=workers, progress=progress,
        )
        if note:
            result.notes.append(note)
        return result

    def save_sweep(self, result: SweepResult, metric: str = "sharpe") -> str:
        """Store a sweep (ranked by ``metric``) for the report; returns the result name."""
        with self.warehouse(write=True) as wh:
            return results.save_sweep(wh, result, metric)

    def stored_sweep(self) -> tuple[pd.DataFrame, dict[str, object]] | None:
        """The stored sweep's variants table and meta, or None."""
        with self.warehouse() as wh:
            return results.load_sweep(wh)

    # -- the report ------------------------------------------------------------------------
    def report(
        self,
        out: str | Path,
        *,
        asof: str | pd.Timestamp | None = None,
        suite: BacktestSuite | results.StoredBacktest | None = None,
        card: Scorecard | None = None,
        progress: Progress | None = None,
    ) -> ReportRun:
        """Write the self-contained HTML report as of ``asof`` to ``out``.

        The playbook section shows ``suite`` when given; else the stored backtest when it
        ends on the report's as-of date and ran with this workspace's playbook and
        classification; else a fresh backtest (a history too short to backtest still gets
        its scorecard and charts). A stored sweep adds its section.
        """
        total = 6
        market = self.market(asof)
        with self.warehouse() as wh:
            stored = results.load_backtest(wh) if suite is None else None
            sweep = results.load_sweep(wh)
            gap_notes = pull_gap_notes(wh.meta().get("pull"))
        how: Literal["stored", "ran", "given", "none"] = "given"
        span = None
        why = None
        if suite is None:
            if (stored is not None and stored.returns.index[-1] == market.asof
                    and stored.made_with(self.playbook, self.classification)):
                suite, how = stored, "stored"
                span = (stored.returns.index[0], stored.returns.index[-1])
            else:
                if progress:
                    progress("running the playbook backtest", 0, total)
                try:
                    suite, how = self.backtest(end=asof), "ran"
                except BroadeningError as exc:
                    how, why = "none", f"the playbook backtest could not run on this data: {exc}"
        if progress:
            progress("backtest ready", 1, total)
        extra = [sec for sec in [sweep_section(*sweep)] if sec is not None] if sweep is not None else []
        step = (lambda s, d, t: progress(f"report: {s}", 1 + d, total)) if progress else None
        res = build_report(
            market, out, cfg=self.classification, suite=suite, card=card,
            no_backtest_reason=why, extra_sections=extra, notes=gap_notes, progress=step,
        )
        return ReportRun(result=res, backtest=how, no_backtest_reason=why, stored_span=span)


__all__ = ["REGIMES", "ReportRun", "Workspace", "check_synthetic"]

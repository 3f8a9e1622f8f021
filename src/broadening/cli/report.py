"""``broadening report`` and ``broadening demo``: the product's face."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from broadening.cli._ui import check_date, console, err_console, open_warehouse, progress_bar, state
from broadening.errors import BroadeningError

ORDER = 60


def _report_progress(update, offset: int, total: int):
    return lambda s, d, t: update(f"report: {s}", offset + d, total)


def report(
    out: Path = typer.Option(Path("broadening-report.html"), "--out", "-o", help="Output HTML file."),
    asof: str = typer.Option(None, "--asof", help="Report as of this date (YYYY-MM-DD); default the last date stored."),
    config: Path = typer.Option(None, "--config", help="Classification/scorecard TOML merged over the defaults."),
    playbook: Path = typer.Option(None, "--playbook", help="Playbook TOML, used when the report has to run the backtest itself."),
) -> None:
    """Write the HTML report on whatever the warehouse holds (demo, your CSVs, live pulls)."""
    from broadening.config import load_config
    from broadening.playbook.config import load_playbook_config
    from broadening.report import build_report
    from broadening.report.stored import load_stored_suite

    cfg = load_config(config)
    pcfg = load_playbook_config(playbook)
    check_date("--asof", asof)
    from broadening.report.sweep_section import sweep_section

    with open_warehouse(read_only=True) as wh:
        market = wh.market(asof=asof)
        stored = load_stored_suite(wh)
        sweep = wh.load_result("sweep_variants")
    extra = [sec for sec in [sweep_section(*sweep)] if sec is not None] if sweep is not None else []
    suite = None
    if stored is not None and playbook is None and stored.returns.index[-1] == market.asof:
        suite = stored
        err_console.print(f"using the stored backtest ({stored.returns.index[0].date()} .. {stored.returns.index[-1].date()})")
    with progress_bar("report", total=6) as update:
        why = None
        if suite is None:
            update("running the playbook backtest", 0, 6)
            try:
                suite = _run_suite(market, pcfg, cfg)
            except BroadeningError as exc:
                # a history too short to backtest still gets its scorecard and charts
                why = f"the playbook backtest could not run on this data: {exc}"
                err_console.print(f"[yellow]note:[/] {why}")
        update("backtest ready", 1, 6)
        res = build_report(market, out, cfg=cfg, suite=suite, no_backtest_reason=why, extra_sections=extra, progress=_report_progress(update, 1, 6))
    err_console.print(f"[green]report[/] {res.path} ({res.size_bytes / 1e6:.1f} MB, {res.charts} charts, {res.seconds:.1f}s)")
    print(res.path)


def _run_suite(market, pcfg, cfg, progress=None):
    from broadening.playbook.suite import run_backtests
    from broadening.signals.regime import diffusion_score

    score = diffusion_score(market, cfg) if pcfg.trim.regime_scaling else None
    return run_backtests(market, pcfg, regime_score=score, basket_config=cfg, progress=progress)


def demo(
    out: Path = typer.Option(Path("out"), "--out", help="Directory for the report (and the warehouse unless --warehouse is given)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic market."),
    preset: str = typer.Option("demo", "--preset", help="tiny | demo | research"),
) -> None:
    """The whole chain on the synthetic demo market: ingest, scorecard, backtests, report."""
    from broadening.cli.backtest import _print_table
    from broadening.cli.monitor import print_scorecard
    from broadening.config import load_config
    from broadening.playbook.config import load_playbook_config
    from broadening.providers.synthetic import PRESETS, generate
    from broadening.report import build_report
    from broadening.signals import scorecard
    from broadening.warehouse import Warehouse

    if preset not in PRESETS:
        raise BroadeningError(f"--preset: expected one of {', '.join(PRESETS)}, got {preset!r}")
    out.mkdir(parents=True, exist_ok=True)
    wh_path = state.warehouse if state.warehouse_given else str(out / "demo.duckdb")
    cfg, pcfg = load_config(None), load_playbook_config(None)
    t0 = time.perf_counter()
    total = 8
    with progress_bar("demo", total=total) as update:
        update(f"generating the '{preset}' market (seed {seed})", 0, total)
        mkt = generate(seed=seed, preset=preset)
        update("storing it in the warehouse", 1, total)
        with Warehouse(wh_path) as wh:
            wh.ingest(mkt.tables, source="synthetic", synthetic=True, replace=True, meta=mkt.meta)
            del mkt
            update("loading point-in-time panels", 2, total)
            market = wh.market()
            update("signals and the thesis scorecard", 3, total)
            card = scorecard(market, cfg)
            update("backtesting the playbook and benchmarks", 4, total)
            suite = _run_suite(market, pcfg, cfg)
            suite.save(wh)
        update("writing the report", 5, total)
        res = build_report(market, out / "report.html", cfg=cfg, suite=suite, card=card)
        update("done", total, total)
    print_scorecard(card)
    _print_table(suite)
    console.print(f"\n[bold]report:[/] {res.path.resolve()}  ({res.size_bytes / 1e6:.1f} MB; open it in a browser)")
    console.print(f"[dim]warehouse: {wh_path}; whole chain {time.perf_counter() - t0:.1f}s[/]")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("demo")(demo)

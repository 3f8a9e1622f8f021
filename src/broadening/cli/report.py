"""``broadening report`` and ``broadening demo``: the product's face."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from broadening.cli._ui import (
    check_date,
    console,
    err_console,
    open_workspace,
    progress_bar,
    renamed_option,
    state,
)
from broadening.errors import BroadeningError

ORDER = 60


def report(
    out: Path = typer.Option(Path("broadening-report.html"), "--out", "-o", help="Output HTML file."),
    asof: str = typer.Option(None, "--asof", help="Report as of this date (YYYY-MM-DD); default the last date stored."),
    classification: Path = typer.Option(None, "--classification", help="Classification/scorecard TOML merged over the defaults."),
    playbook: Path = typer.Option(None, "--playbook", help="Playbook TOML, used when the report has to run the backtest itself."),
    config: Path = typer.Option(None, "--config", hidden=True, help="Deprecated name of --classification."),
) -> None:
    """Write the HTML report on whatever the warehouse holds (demo, your CSVs, live pulls)."""
    from broadening.report.html import check_out_path

    check_out_path(out)
    classification = renamed_option("--classification", classification, "--config", config)
    ws = open_workspace(classification=classification, playbook=playbook)
    asof = check_date("--asof", asof)
    with progress_bar("report", total=6) as update:
        run = ws.report(out, asof=asof, progress=update)
    if run.stored_span is not None:
        first, last = run.stored_span
        err_console.print(f"using the stored backtest ({first.date()} .. {last.date()})")
    if run.no_backtest_reason:
        err_console.print(f"[yellow]note:[/] {escape(run.no_backtest_reason)}")
    res = run.result
    err_console.print(f"[green]report[/] {escape(str(res.path))} ({res.size_bytes / 1e6:.1f} MB, {res.charts} charts, {res.seconds:.1f}s)")
    print(res.path)


def demo(
    out: Path = typer.Option(Path("out"), "--out", help="Directory for the report (and the warehouse unless --warehouse is given)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic market."),
    preset: str = typer.Option("demo", "--preset", help="tiny | demo | research (us-all: use 'ingest synthetic')"),
) -> None:
    """The whole chain on the synthetic demo market: ingest, scorecard, backtests, report."""
    from broadening.cli.backtest import print_backtest
    from broadening.cli.monitor import print_scorecard
    from broadening.workspace import Workspace, check_synthetic

    check_synthetic(preset)
    if preset == "us-all":
        # the chain fits (lane-packed panels: 7.7 GiB peak), but not on top of the ingest's
        # DuckDB buffers in one process
        raise BroadeningError(
            "--preset us-all: demo would generate, store and run the whole US market in one process; "
            "store it with 'broadening ingest synthetic --preset us-all' and run monitor, backtest and "
            "report on that warehouse (lane-packed panels keep the chain within 8 GiB)"
        )
    out.mkdir(parents=True, exist_ok=True)
    wh_path = state.warehouse if state.warehouse_given else str(out / "demo.duckdb")
    ws = Workspace(wh_path)
    t0 = time.perf_counter()
    total = 8
    with progress_bar("demo", total=total) as update:
        update(f"generating the '{preset}' market (seed {seed}) and storing it", 0, total)
        ws.ingest_synthetic(seed=seed, preset=preset)
        update("loading point-in-time panels", 2, total)
        ws.market()
        update("signals and the thesis scorecard", 3, total)
        card = ws.scorecard()
        update("backtesting the playbook and benchmarks", 4, total)
        suite = ws.backtest()
        ws.save_backtest(suite)
        update("writing the report", 5, total)
        run = ws.report(out / "report.html", suite=suite, card=card)
        update("done", total, total)
    print_scorecard(card)
    print_backtest(suite)
    res = run.result
    console.print(f"\n[bold]report:[/] {escape(str(res.path.resolve()))}  ({res.size_bytes / 1e6:.1f} MB; open it in a browser)")
    console.print(f"[dim]warehouse: {escape(str(wh_path))}; whole chain {time.perf_counter() - t0:.1f}s[/]")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("demo")(demo)

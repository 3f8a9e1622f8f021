"""``broadening backtest``: the playbook against cap weight, equal weight and momentum."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from broadening.cli._ui import (
    check_date,
    check_out_file,
    console,
    err_console,
    open_workspace,
    print_json,
    progress_bar,
    renamed_option,
)

ORDER = 40

_PCT = {"cagr", "volatility", "max_drawdown", "tracking_error", "turnover", "active_share", "hit_rate"}
_COLUMNS = ("cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta",
            "tracking_error", "information_ratio", "turnover", "active_share", "hit_rate")


def _fmt(key: str, v: float) -> str:
    if v is None or pd.isna(v):
        return "-"
    return f"{v:.1%}" if key in _PCT else f"{v:.2f}"


def backtest_cmd(
    playbook: Path = typer.Option(None, "--playbook", "-p", help="Playbook TOML (see examples/playbook.toml); defaults if omitted."),
    classification: Path = typer.Option(None, "--classification", help="Classification/scorecard TOML merged over the defaults "
                                                                       "(baskets and the regime score)."),
    start: str = typer.Option(None, "--start", help="First rebalance on or after this date (YYYY-MM-DD)."),
    end: str = typer.Option(None, "--end", help="Last date of the backtest (YYYY-MM-DD)."),
    no_costs: bool = typer.Option(False, "--no-costs", help="Turn every transaction cost off."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    returns_out: Path = typer.Option(None, "--returns-out", help="Write daily returns per strategy (.csv or .parquet)."),
    config: Path = typer.Option(None, "--config", "-c", hidden=True, help="Deprecated name of --playbook."),
) -> None:
    """Backtest the playbook and its benchmarks; results are stored for the report."""
    # everything a user can get wrong is checked before any work
    playbook = renamed_option("--playbook", playbook, "--config", config)
    ws = open_workspace(classification=classification, playbook=playbook)
    check_out_file("--returns-out", returns_out)
    start = check_date("--start", start)
    end = check_date("--end", end)

    with progress_bar("backtest", total=10) as update:
        suite = ws.backtest(start=start, end=end, costs=not no_costs, progress=update)
    stored = ws.save_backtest(suite)

    if returns_out is not None:
        returns_out.parent.mkdir(parents=True, exist_ok=True)
        frame = suite.returns.reset_index()
        if returns_out.suffix.lower() == ".csv":
            frame.to_csv(returns_out, index=False, date_format="%Y-%m-%d")
        else:
            frame.to_parquet(returns_out, index=False)
        err_console.print(f"[green]wrote[/] daily returns of {len(suite.returns.columns)} strategies to {escape(str(returns_out))}")

    if json_out:
        data = suite.metrics_json()
        data["brinson"] = {by: att.to_json() for by, att in suite.brinson.items()}  # vs cap weight, by sector and sleeve
        print_json(data)
        return
    print_backtest(suite)
    err_console.print(f"stored results: {escape(', '.join(stored))}")


def print_backtest(suite) -> None:
    """Print a backtest suite as rich tables: metrics per strategy, empty sleeves, the active attribution
    vs cap weight (Brinson-Fachler), then the raw sleeve contributions, notes."""
    r = suite.returns
    title = f"[bold]backtest[/] {r.index[0].date()} .. {r.index[-1].date()}  ({'costs on' if suite.costs else 'no costs'}; vs cap_weight)"
    if suite.synthetic:
        title += "  [bold white on red] SYNTHETIC [/]"
    t = Table(title=title, title_justify="left")
    t.add_column("metric")
    names = list(suite.metrics.index)
    for name in names:
        t.add_column(name, justify="right")
    for c in _COLUMNS:
        t.add_row(c.replace("_", " "), *(_fmt(c, suite.metrics.loc[n, c]) for n in names))
    console.print(t)
    if len(suite.empty_sleeves):
        counts = suite.empty_sleeves.groupby("sleeve")["date"].agg(["count", "min", "max"])
        rebs = len(suite.results["playbook"].rebalance_dates)
        parts = [f"{s} ({int(c['count'])}/{rebs} rebalances, {pd.Timestamp(c['min']).date()}..{pd.Timestamp(c['max']).date()})"
                 for s, c in counts.iterrows()]
        console.print("[yellow]empty sleeves (share moved to the equal-weight core):[/] " + escape("; ".join(parts)))
    _print_brinson(suite)  # the headline attribution; the raw contributions are not active returns
    top = suite.attribution_total.drop(labels=["costs", "cash"], errors="ignore")
    console.print("raw sleeve contributions to the playbook's own return (sum of daily weight x return, not vs cap_weight): "
                  + escape(", ".join(f"{k} {v:+.1%}" for k, v in top.items()))
                  + f", costs {suite.attribution_total.get('costs', 0.0):+.1%}")
    for n in suite.notes:
        console.print(f"[dim]note: {escape(str(n))}[/]")


def _print_brinson(suite) -> None:
    """Active return vs cap weight by sector and by sleeve: Brinson-Fachler effects, Carino-linked."""
    for by, att in getattr(suite, "brinson", {}).items():  # a stored backtest read back has none
        tot = att.totals()
        t = Table(title=f"[bold]active return vs cap_weight by {escape(by)}[/] (Brinson-Fachler, Carino-linked)", title_justify="left")
        for col in (by, "playbook", "cap wt", "alloc.", "select.", "interact.", "total"):
            t.add_column(col, justify="left" if col == by else "right")
        g = att.by_group()
        for name, r in g.iterrows():
            if max(abs(r["portfolio_weight"]), abs(r["benchmark_weight"])) <= 1e-9:  # float dust, e.g. cash at 1e-17
                continue
            t.add_row(escape(str(name)), f"{r['portfolio_weight']:.1%}", f"{r['benchmark_weight']:.1%}", f"{r['allocation']:+.2%}",
                      f"{r['selection']:+.2%}", f"{r['interaction']:+.2%}", f"{r['total']:+.2%}")
        t.add_row("costs", "", "", "", "", "", f"{tot['costs']:+.2%}")
        t.add_row("[bold]active return[/]", "", "", f"{tot['allocation']:+.2%}", f"{tot['selection']:+.2%}",
                  f"{tot['interaction']:+.2%}", f"[bold]{tot['active_return']:+.2%}[/]")
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest_cmd)

"""``broadening sweep``: playbook variants and walk-forward splits on Dask distributed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from broadening.cli._ui import console, err_console, open_workspace, print_json, progress_bar
from broadening.errors import BroadeningError

ORDER = 45

_PCT = {"cagr", "volatility", "max_drawdown", "tracking_error", "turnover", "active_share", "hit_rate"}
_SHOWN = ("cagr", "volatility", "sharpe", "max_drawdown", "tracking_error", "information_ratio", "turnover")


def _fmt(key: str, v) -> str:
    if v is None or pd.isna(v):
        return "-"
    return f"{v:.1%}" if key in _PCT else f"{v:.2f}"


def sweep_cmd(
    grid: Path = typer.Option(..., "--grid", "-g", help="Sweep grid TOML (see examples/sweep.toml)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (tcp://host:8786); "
                                                            "default: a local cluster."),
    workers: int = typer.Option(2, "--workers", "-n", help="Workers of the local cluster (one process, one thread "
                                                           "each); 0 runs serially in this process."),
    metric: str = typer.Option("sharpe", "--metric", "-m", help="Metric that ranks variants (higher is better; "
                                                               "lower for volatility, tracking_error, turnover)."),
    classification: Path = typer.Option(None, "--classification", help="Classification/scorecard TOML merged over the "
                                                                       "defaults (baskets and the regime score)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: {\"variants\": [...], \"best\": {...}, ...}."),
    rows: int = typer.Option(30, "--rows", help="Variants shown in the table (best first)."),
    max_variants: int = typer.Option(10_000, "--max-variants", help="Refuse a grid of more variants than this "
                                                                   "(parameter sets x splits)."),
) -> None:
    """Run playbook variants (top-k, cap, sleeve shares, schedule, regime scaling) and walk-forward splits."""
    from broadening.backtest.metrics import METRIC_KEYS
    from broadening.sweep.grid import estimate_seconds, load_grid, variant_count

    # everything a user can get wrong is checked before any work
    if metric not in METRIC_KEYS:
        raise BroadeningError(f"--metric: expected one of {', '.join(METRIC_KEYS)}, got {metric!r}")
    if workers < 0:
        raise BroadeningError(f"--workers: expected 0 (serial) or more, got {workers}")
    if max_variants < 1:
        raise BroadeningError(f"--max-variants: expected 1 or more, got {max_variants}")
    ws = open_workspace(classification=classification)
    g = load_grid(grid, max_variants=max_variants)
    shape = ws.market().shape
    n = variant_count(g)
    secs = estimate_seconds(n, shape[0], shape[1], workers or 1)
    err_console.print(f"{n:,} variant(s){'' if g.splits else ' per walk-forward split'} on {shape[0]:,} days x "
                      f"{shape[1]:,} securities: roughly {_duration(secs)} (an estimate)", highlight=False)
    where = scheduler or ("serial" if workers == 0 else f"local cluster, {workers} workers")
    with progress_bar(f"sweep ({where})", total=max(1, len(g.variants))) as update:
        result = ws.sweep(g, scheduler=scheduler, workers=workers, progress=update)
    stored = ws.save_sweep(result, metric)

    if json_out:
        print_json(result.to_json(metric))
        return
    _print(result, metric, rows)
    err_console.print(f"stored results: {escape(str(stored))}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _print(result, metric: str, rows: int) -> None:
    df = result.frame()
    varied = [a for a in result.grid.varied if a != "split"]
    wf = "split" in result.grid.varied
    from broadening.sweep.run import LOWER_IS_BETTER

    order = df.sort_values([metric, "id"], ascending=[metric in LOWER_IS_BETTER, True], na_position="last")
    shown = order.head(rows)
    title = (f"[bold]sweep[/] {len(df)} variants, ranked by {metric}"
             f"{' (out of sample)' if wf else ''}; {result.seconds.get('total', 0):.1f}s on "
             f"{'1 process' if result.workers == 0 else f'{result.workers} workers'}")
    if result.synthetic:
        title += "  [bold white on red] SYNTHETIC [/]"
    t = Table(title=title, title_justify="left")
    t.add_column("id", justify="right")
    for a in varied or ["schedule"]:
        t.add_column(a.replace("_", " "))
    if wf:
        t.add_column("split")
        t.add_column(f"in-sample {metric}", justify="right")
    for c in _SHOWN:
        t.add_column(c.replace("_", " "), justify="right", style="bold" if c == metric else None)
    best = result.best(metric)
    for r in shown.itertuples(index=False):
        rd = r._asdict()
        cells = [str(rd["id"])] + [_axis(rd[a]) for a in (varied or ["schedule"])]
        if wf:
            cells += [str(rd["split"]), _fmt(metric, rd[f"is_{metric}"])]
        cells += [_fmt(c, rd[c]) for c in _SHOWN]
        t.add_row(*cells, style="green" if best is not None and rd["id"] == best["id"] else None)
    console.print(t)
    if len(df) > rows:
        console.print(f"[dim]{len(df) - rows} more variants not shown (--rows, or --json for all)[/]")
    if best is not None:
        params = ", ".join(f"{k}={_axis(v)}" for k, v in best["params"].items())
        console.print(f"[bold green]best by {metric}:[/] variant {best['id']} ({params}"
                      f"{', split ' + best['split']['split'] if wf else ''}): {metric} {_fmt(metric, best['metrics'][metric])}")
    for w in result.walk_forward(metric):
        console.print(f"walk-forward {w['split']} (train {w['train_start']}..{w['train_end']}, test to {w['test_end']}): "
                      f"best in-sample variant {w['best_in_sample']} ({metric} {_fmt(metric, w['in_sample'][metric])}) "
                      f"-> out of sample {_fmt(metric, w['out_of_sample'][metric])}")
    for n in result.notes:
        console.print(f"[dim]note: {escape(str(n))}[/]")


def _axis(v) -> str:
    """A grid value as printed (markup-escaped: a sleeve set may be named "[/x]")."""
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    return escape(str(v))


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_cmd)

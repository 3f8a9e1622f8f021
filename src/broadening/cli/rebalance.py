"""``broadening rebalance``: the playbook applied to your own book, as a trade list."""

from __future__ import annotations

import math
import os
import tempfile
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
    renamed_option,
)
from broadening.errors import BroadeningError

ORDER = 45
TABLE_ROWS = 40  # the terminal shows the largest targets; --out and --json carry every name


def _write(frame: pd.DataFrame, out: Path) -> None:
    """Write atomically: a temporary file in the same folder, renamed over ``out`` when complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rebalance_cmd(
    holdings: Path = typer.Option(..., "--holdings", help="Your book: CSV or Parquet with ticker,shares (or security_id,shares)."),
    asof: str = typer.Option(None, "--asof", help="Trade at the close of this date (YYYY-MM-DD; default: the last date)."),
    playbook: Path = typer.Option(None, "--playbook", "-p", help="Playbook TOML (see examples/playbook.toml); defaults if omitted."),
    classification: Path = typer.Option(None, "--classification", help="Classification/scorecard TOML merged over the defaults "
                                                                       "(baskets and the regime score)."),
    cash: float = typer.Option(0.0, "--cash", help="Cash in the book, in the price currency."),
    out: Path = typer.Option(None, "--out", help="Write the trade list (.csv or .parquet)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    round_lots: int = typer.Option(None, "--round-lots", help="Trade in whole multiples of this many shares."),
    config: Path = typer.Option(None, "--config", "-c", hidden=True, help="Deprecated name of --playbook."),
) -> None:
    """The trades that move your holdings to the playbook: targets, costs, risk before and after."""
    from broadening.playbook.rebalance import read_holdings

    # everything a user can get wrong is checked before any work, and nothing is written on error
    playbook = renamed_option("--playbook", playbook, "--config", config)
    ws = open_workspace(classification=classification, playbook=playbook)
    asof = check_date("--asof", asof)
    check_out_file("--out", out)
    if not math.isfinite(cash) or cash < 0:
        raise BroadeningError(f"--cash: expected an amount >= 0, got {cash}")
    if round_lots is not None and round_lots < 1:
        raise BroadeningError(f"--round-lots: expected a whole number of shares >= 1, got {round_lots}")
    book = read_holdings(holdings)

    tl = ws.rebalance(book, asof=asof, cash=cash, round_lot=round_lots)

    if out is not None:
        _write(tl.trades, out)
        err_console.print(f"[green]wrote[/] {len(tl.trades)} trades to {escape(str(out))}")
    if json_out:
        print_json(tl.to_json())
        return
    _print(tl)


def _print(tl) -> None:
    tot = tl.totals
    title = f"[bold]rebalance[/] to the playbook at the close of {tot['asof']}"
    if tot.get("synthetic"):
        title += "  [bold white on red] SYNTHETIC [/]"
    t = Table(title=title, title_justify="left")
    for col, justify in (("ticker", "left"), ("sleeve", "left"), ("now", "right"), ("target", "right"),
                         ("trade shares", "right"), ("trade value", "right"), ("est. cost", "right")):
        t.add_column(col, justify=justify, overflow="fold")
    for r in tl.trades.head(TABLE_ROWS).itertuples(index=False):
        t.add_row(escape(str(r.ticker)), escape(str(r.sleeve)), f"{r.current_weight:.2%}", f"{r.target_weight:.2%}",
                  _shares(r.trade_shares), f"{r.trade_value:+,.2f}", f"{r.est_cost:,.2f}")
    console.print(t)
    if len(tl.trades) > TABLE_ROWS:
        console.print(f"[dim]... and {len(tl.trades) - TABLE_ROWS} more names (--out or --json lists every trade)[/]")
    console.print(
        f"NAV {tot['nav']:,.2f} -> {tot['nav_after']:,.2f} (cash {tot['cash_before']:,.2f} -> {tot['cash_after']:,.2f}); "
        f"turnover {tot['turnover']:.1%}; estimated cost {tot['est_cost']:,.2f} ({tot['est_cost_bps']:.1f} bps); "
        f"{tot['buys']} buys, {tot['sells']} sells"
    )
    console.print(
        f"vs cap weight: ex-ante tracking error {_pct(tot['tracking_error_before'])} -> {_pct(tot['tracking_error_after'])}, "
        f"active share {_pct(tot['active_share_before'])} -> {_pct(tot['active_share_after'])}"
    )
    before, after, bench = tot["sector_weights_before"], tot["sector_weights_after"], tot["sector_weights_benchmark"]
    s = Table(title="sector weights", title_justify="left")
    for col in ("sector", "before", "after", "cap weight"):
        s.add_column(col, justify="left" if col == "sector" else "right")
    for name in sorted(set(before) | set(after) | set(bench)):
        s.add_row(escape(str(name)), _pct(before.get(name, 0.0)), _pct(after.get(name, 0.0)), _pct(bench.get(name, 0.0)))
    console.print(s)
    for n in tl.notes:
        console.print(f"[dim]note: {escape(str(n))}[/]")


def _shares(x: float) -> str:
    return f"{x:+,.0f}" if float(x).is_integer() else f"{x:+,.2f}"


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"


def register(app: typer.Typer) -> None:
    app.command("rebalance")(rebalance_cmd)

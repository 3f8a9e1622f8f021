"""``broadening check``: audit the warehouse's data before trusting a chart (see :mod:`broadening.audit`)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from broadening.cli._ui import console, err_console, open_workspace, print_json

ORDER = 16


def check_cmd(
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when anything is found."),
    json_out: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    jump: float = typer.Option(0.4, min=0.01, help="Flag a one-day market-cap move this much beyond the total return."),
    stale_days: int = typer.Option(200, min=1, help="Flag a live company whose latest filing is older than this."),
    tolerance: float = typer.Option(0.05, min=0.0, help="Flag share counts of two sources differing by more than this."),
) -> None:
    """Audit the warehouse: cap jumps the prices do not show, stale filings, short series, unpriced members.

    Also share counts that disagree between sources (after a live pull). Exit status 0
    (1 with --strict when anything is found).
    """
    from broadening.audit import audit, side_tables

    ws = open_workspace()
    market = ws.market()
    with ws.warehouse() as wh:
        counts, splits = side_tables(wh)
    rep = audit(market, share_counts=counts, splits=splits, jump=jump, stale_days=stale_days, tolerance=tolerance)
    if json_out:
        print_json(rep.as_dict())
    else:
        t = Table(title=f"check: {escape(str(ws.path))}  (as of {market.asof.date()})", title_justify="left")
        t.add_column("check")
        t.add_column("findings", justify="right")
        t.add_column("looked at")
        counts_by = rep.counts()
        for name, what in rep.checked.items():
            n = counts_by.get(name, 0)
            t.add_row(name, f"[red]{n}[/]" if n else "0", what)
        console.print(t)
        for f in rep.findings[:50]:
            console.print(f"  [yellow]{escape(str(f.check))}[/] {escape(f'{f.item}: {f.detail}')}", highlight=False, soft_wrap=True)
        if len(rep.findings) > 50:
            console.print(f"  ... and {len(rep.findings) - 50} more (--json lists all)")
        console.print(escape(rep.summary()))
    if strict and not rep.ok:
        err_console.print(f"[bold red]check failed:[/] {len(rep.findings)} finding(s)")
        raise SystemExit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check_cmd)

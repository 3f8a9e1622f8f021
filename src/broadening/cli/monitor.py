"""``broadening monitor``: the thesis scorecard and the regime, as a table or JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from broadening.cli._ui import check_date, console, open_workspace, print_json

ORDER = 30

_COLOURS = {"supported": "bold green", "not supported": "bold red", "mixed": "bold yellow", "n/a": "dim"}
_REGIME_COLOURS = {"diffusion": "bold green", "transition": "bold yellow", "scarcity": "bold red"}


def _num(v: float, pct: bool = False) -> str:
    if v is None or v != v:
        return "-"
    return f"{v:.0%}" if pct else f"{v:.3g}"


def monitor(
    asof: str = typer.Option(None, "--asof", help="Describe this date (YYYY-MM-DD); default the last date stored."),
    config: Path = typer.Option(None, "--config", help="Classification/scorecard TOML merged over the defaults."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The thesis scorecard (claims C1-C10 with verdicts) and the market regime."""
    check_date("--asof", asof)
    card = open_workspace(classification=config).scorecard(asof)
    if json_out:
        print_json(card.to_dict())
        return
    print_scorecard(card)


def print_scorecard(card) -> None:
    """Print a :class:`~broadening.signals.scorecard.Scorecard` as a rich table with the regime."""
    if card.synthetic:
        console.print(Text(" SYNTHETIC DATA: generated demo market, not real prices ", style="bold white on red"))
    title = f"[bold]Thesis scorecard[/] as of {card.asof.date()}"
    t = Table(title=title, title_justify="left", show_lines=False)
    t.add_column("id", style="bold", no_wrap=True)
    t.add_column("claim / metric", ratio=3, min_width=18)
    t.add_column("value", justify="right", no_wrap=True)
    t.add_column("pctl", justify="right", no_wrap=True)
    t.add_column("trend", ratio=1, min_width=9)
    t.add_column("verdict", no_wrap=True, min_width=13)
    for r in card.table.itertuples(index=False):
        t.add_row(r.id, Text.assemble(r.claim, "\n", (r.metric, "dim")), _num(r.value), _num(r.percentile, True),
                  r.trend, Text(r.verdict, style=_COLOURS.get(r.verdict, "")))
    console.print(t)
    for r in card.table.itertuples(index=False):
        console.print(Text.assemble((f"{r.id:>4} ", "bold"), (r.verdict, _COLOURS.get(r.verdict, "")), ": ", r.reason))
    score = _num(card.diffusion_score)
    console.print(
        Text.assemble("regime: ", (card.regime, _REGIME_COLOURS.get(card.regime, "dim")),
                      f"   diffusion score {score} (0 = scarcity, 1 = diffusion)")
    )
    if card.synthetic:
        console.print(Text(" SYNTHETIC ", style="bold white on red"), "every number above comes from generated data")


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)

"""``broadening monitor``: the thesis scorecard and the regime, as a table or JSON."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.table import Table
from rich.text import Text

from broadening.cli._ui import check_date, console, open_workspace, print_json, renamed_option

ORDER = 30

_COLOURS = {"supported": "bold green", "not supported": "bold red", "mixed": "bold yellow", "n/a": "dim"}
_REGIME_COLOURS = {"diffusion": "bold green", "transition": "bold yellow", "scarcity": "bold red"}


def _num(v: float, pct: bool = False) -> str:
    if v is None or v != v:
        return "-"
    return f"{v:.0%}" if pct else f"{v:.3g}"


def monitor(
    asof: str = typer.Option(None, "--asof", help="Describe this date (YYYY-MM-DD); default the last date stored."),
    since: str = typer.Option(None, "--since", help="Also show what changed since this earlier date (YYYY-MM-DD): verdicts, big percentile moves, the regime."),
    fail_on_change: bool = typer.Option(False, "--fail-on-change", help="With --since: exit with status 3 when a verdict or the regime changed (for a scheduled job)."),
    big_move: float = typer.Option(0.25, "--move", help="With --since: a percentile move at least this large (0-1) is listed even when the verdict holds."),
    classification: Path = typer.Option(None, "--classification", help="Classification/scorecard TOML merged over the defaults."),
    config: Path = typer.Option(None, "--config", hidden=True, help="Deprecated name of --classification."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The thesis scorecard (claims C1-C10 with verdicts) and the market regime; with --since, what changed."""
    from broadening.errors import BroadeningError
    from broadening.signals import scorecard
    from broadening.signals.changes import what_changed
    from broadening.signals.scorecard import scorecard_at

    asof = check_date("--asof", asof)
    since = check_date("--since", since)
    if fail_on_change and since is None:
        raise BroadeningError("--fail-on-change needs --since DATE (what to compare with)")
    if not 0 <= big_move <= 1:
        raise BroadeningError(f"--move: expected a percentile move between 0 and 1, got {big_move}")
    classification = renamed_option("--classification", classification, "--config", config)
    ws = open_workspace(classification=classification)
    market = ws.market(asof)
    card = scorecard(market, ws.classification)
    changes = None
    if since is not None:
        if pd.Timestamp(since) > card.asof:
            raise BroadeningError(f"--since {since} is after the as-of date {card.asof.date()}")
        if market.date_position(since) < 0:
            raise BroadeningError(f"--since {since} is before the first date stored ({market.index[0].date()})")
        # the earlier scorecard is read off the same point-in-time signals: no second computation
        changes = what_changed(scorecard_at(market, ws.classification, since), card, big_move=big_move)
    if json_out:
        print_json(card.to_dict() if changes is None else {**card.to_dict(), **changes.to_dict()})
    else:
        print_scorecard(card)
        if changes is not None:
            print_changes(changes)
    if fail_on_change and changes is not None and changes.any:
        raise typer.Exit(3)


def _pct_move(c: dict) -> str:
    if c["percentile_from"] is None or c["percentile_to"] is None:
        return f"{_num(c['percentile_from'], True)} -> {_num(c['percentile_to'], True)}"
    return f"{c['percentile_from']:.0%} -> {c['percentile_to']:.0%} ({c['percentile_change'] * 100:+.0f} pts)"


def print_changes(ch) -> None:
    """Print a :class:`~broadening.signals.changes.Changes` as a table and a regime line."""
    title = f"[bold]What changed[/] from {ch.since.date()} to {ch.asof.date()}"
    if not ch.claims:
        console.print(f"{title}: no verdict changed and no percentile moved {ch.big_move:.0%} or more")
    else:
        t = Table(title=title, title_justify="left")
        t.add_column("id", style="bold", no_wrap=True)
        t.add_column("verdict then", no_wrap=True)
        t.add_column("verdict now", no_wrap=True)
        t.add_column("percentile", no_wrap=True)
        for c in ch.claims:
            now = Text(c["to"], style=_COLOURS.get(c["to"], "") if c["verdict_changed"] else "dim")
            t.add_row(c["claim"], Text(c["from"], style="dim"), now, _pct_move(c))
        console.print(t)
    scores = f"diffusion score {_num(ch.score_from)} -> {_num(ch.score_to)}"
    if ch.regime_change is None:
        console.print(f"regime unchanged   {scores}")
    else:
        rc = ch.regime_change
        console.print(Text.assemble("regime changed: ", (rc["from"], _REGIME_COLOURS.get(rc["from"], "dim")), " -> ",
                                    (rc["to"], _REGIME_COLOURS.get(rc["to"], "dim")), f"   {scores}"))


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

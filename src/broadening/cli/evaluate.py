"""``broadening evaluate``: does the thesis pay? Rank ICs, hit rates and out-of-sample ICs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from broadening.cli._ui import check_date, console, open_workspace, print_json

ORDER = 35


def parse_horizons(text: str) -> tuple[int, ...]:
    """``"63,126,252"`` -> ``(63, 126, 252)``; anything else is a :class:`BroadeningError` naming the option."""
    from broadening.errors import BroadeningError

    try:
        hs = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        hs = ()
    if not hs or min(hs) < 1:
        raise BroadeningError(f"--horizons: expected trading days separated by commas like 63,126,252, got {text!r}")
    return hs


def _f(v: float, fmt: str) -> str:
    return "-" if v is None or v != v else format(v, fmt)


def evaluate(
    horizons: str = typer.Option("63,126,252", "--horizons", help="Forward horizons in trading days, comma-separated."),
    asof: str = typer.Option(None, "--asof", help="Evaluate on the data up to this date (YYYY-MM-DD); default all of it."),
    classification: Path = typer.Option(None, "--classification", help="Classification/scorecard TOML merged over the defaults."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Does the thesis pay? Each claim's headline and the diffusion score against the forward equal-minus-cap-weight return."""
    from broadening.signals.evaluate import evaluate as run_evaluation

    hs = parse_horizons(horizons)
    check_date("--asof", asof)
    ws = open_workspace(classification=classification)
    stored = ws.stored_backtest()  # cheap when there: the playbook's own forward active return
    ev = run_evaluation(ws.market(asof), ws.classification, hs,
                        strategy_returns=stored.returns if stored is not None else None)
    if json_out:
        print_json(ev.to_dict())
        return
    print_evaluation(ev)


def print_evaluation(ev) -> None:
    """Print an :class:`~broadening.signals.evaluate.Evaluation` as one table per horizon."""
    if ev.synthetic:
        console.print(Text(" SYNTHETIC DATA: generated demo market, not real prices ", style="bold white on red"))
    for h in ev.horizons:
        rows = ev.table[ev.table["horizon"] == h]
        t = Table(title=f"[bold]Does the thesis pay?[/] {h}-day forward equal minus cap weight, "
                        f"{ev.start.date()} to {ev.end.date()}", title_justify="left")
        playbook = bool(rows["playbook_n"].gt(0).any())
        cols = [("signal", "left"), ("IC", "right"), ("t", "right"), ("indep. windows", "right"),
                ("verdict hit rate", "right"), ("OOS IC", "right"), ("OOS t", "right")]
        for name, justify in cols + ([("playbook IC (t)", "right")] if playbook else []):
            t.add_column(name, justify=justify, no_wrap=True)
        for r in rows.itertuples(index=False):
            strong = r.t_stat == r.t_stat and abs(r.t_stat) >= 2 and r.n_independent >= 10
            cells = [Text(r.signal, style="bold"), Text(_f(r.ic, "+.2f"), style="bold" if strong else ""),
                     _f(r.t_stat, "+.1f"), _f(r.n_independent, ".0f"),
                     f"{_f(r.hit_rate, '.0%')} of {r.calls}", _f(r.oos_ic, "+.2f"), _f(r.oos_t_stat, "+.1f")]
            if playbook:
                cells.append(f"{_f(r.playbook_ic, '+.2f')} ({_f(r.playbook_t_stat, '+.1f')})")
            t.add_row(*cells)
        console.print(t)
    for note in ev.notes:
        console.print(Text(note, style="dim"))


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)

"""``broadening pull``: real data from Yahoo, SEC EDGAR, FRED and the Ken French library."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from collections.abc import Callable

import typer
from rich.markup import escape
from rich.table import Table

from broadening.cli._ui import (
    check_date,
    console,
    err_console,
    open_warehouse,
    print_json,
    progress_bar,
)
from broadening.errors import BroadeningError

ORDER = 15

#: ``module:function`` of a fetcher replacing yfinance (own downloads, offline tests).
YAHOO_FETCHER_ENV = "BROADENING_YAHOO_FETCHER"


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _load_fetcher():
    spec = os.environ.get(YAHOO_FETCHER_ENV)
    if not spec:
        return None
    mod, _, fn = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), fn or "fetch")
    except (ImportError, AttributeError) as exc:
        raise BroadeningError(f"${YAHOO_FETCHER_ENV}={spec!r}: expected 'module:function' ({exc})") from None


def line_progress(stream=None, every: float = 2.0) -> Callable[[str, int, int], None]:
    """A progress callback printing plain lines (for a pipe or a log file, where no bar is drawn):
    at most one line per ``every`` seconds, plus the first and the last step."""
    stream = stream or sys.stderr
    t0 = time.monotonic()
    last = [-1e9]

    def update(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done in (1, total) or now - last[0] >= every:
            last[0] = now
            print(f"pull {done}/{total} ({now - t0:.0f}s): {step}", file=stream, flush=True)

    return update


def pull_cmd(
    universe: str = typer.Option("sp500", help="sp500 (point-in-time members) | smallcap (SEC-listed common stocks ranked 1,001-3,000 by cap each May) | tickers (only --tickers)."),
    start: str = typer.Option("2010-01-01", help="First price date (YYYY-MM-DD); 'all' for everything."),
    sources: str = typer.Option("yahoo,sec,fred,french", help="Comma-separated: yahoo, sec, fred, french."),
    tickers: str = typer.Option(None, help="Only these tickers (comma-separated)."),
    membership_file: str = typer.Option(None, help="Membership CSV/Parquet (ticker,start,end intervals or date,tickers snapshots) instead of index-constitution."),
    fred_series: str = typer.Option(None, help="FRED series ids (default BUSLOANS,BAMLH0A0HYM2,BAA10Y)."),
    french: str = typer.Option(None, help="Ken French datasets (default FF_DAILY,FF_MONTHLY,ME,IND12)."),
    batch_size: int = typer.Option(25, min=1, help="Tickers stored per transaction."),
    fresh: bool = typer.Option(False, "--fresh", help="Start over instead of resuming an interrupted identical pull."),
    replace: bool = typer.Option(False, "--replace", help="Allow discarding a synthetic market stored in the warehouse."),
    no_bdcs: bool = typer.Option(False, "--no-bdcs", help="Do not add the listed BDCs (private-credit basket)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Pull real data (prices, fundamentals, membership, credit and factor series) into the warehouse.

    Resumable: rerun the same command after an interruption and it continues where it
    stopped. Exit status 0 when anything was stored (failed tickers are listed), 1 when
    nothing could be pulled, 2 on a usage or configuration error.
    """
    from broadening.live import pull

    src = [s.lower() for s in _split(sources)]
    if not src:
        raise BroadeningError("--sources: give at least one of yahoo, sec, fred, french")
    start_arg = None if start.strip().lower() in ("all", "none", "") else check_date("--start", start)
    fetcher = _load_fetcher()
    try:
        bar = progress_bar("pull", total=1) if err_console.is_terminal else contextlib.nullcontext()
        with bar as update, open_warehouse() as wh:
            if not err_console.is_terminal:  # a pipe or a log file still shows where the pull is
                update = line_progress()
            report = pull(
                wh, universe=universe, start=start_arg, sources=src, tickers=_split(tickers) or None,
                membership_file=membership_file, fred_series=_split(fred_series) or None,
                french_datasets=_split(french) or None, include_bdcs=not no_bdcs, batch_size=batch_size,
                resume=not fresh, replace=replace, progress=update, yahoo_fetcher=fetcher,
            )
    except KeyboardInterrupt:
        err_console.print("[yellow]pull interrupted:[/] every batch stored so far is kept; "
                          "run the same command again to resume where it stopped")
        raise SystemExit(130) from None  # click would turn the interrupt into a silent exit 0
    if json_out:
        print_json(report.as_dict())
    else:
        _print_summary(report)
    if report.nothing_pulled:
        err_console.print("[bold red]error:[/] nothing could be pulled (see the failures above)")
        raise SystemExit(1)  # click would swallow typer.Exit in non-standalone mode


def _print_summary(report) -> None:
    title = f"pull: {report.universe}, {len(report.tickers)} tickers from {report.start or 'the beginning'}"
    if report.resumed:
        title += " (resumed)"
    t = Table(title=title, title_justify="left")
    for col, just in (("source", "left"), ("rows", "right"), ("ok", "right"), ("failed", "right"),
                      ("resumed", "right"), ("requests", "right"), ("cache hits", "right"), ("seconds", "right")):
        t.add_column(col, justify=just)
    for name, s in report.sources.items():
        rows = ", ".join(f"{k} {v:,}" for k, v in s.rows.items()) or "0"
        t.add_row(name, rows, str(len(s.ok)), str(len(s.failed)), str(len(s.resumed)),
                  str(s.requests), str(s.cache_hits), f"{s.seconds:.1f}")
    console.print(t)
    if report.membership_source:
        console.print(f"membership: {escape(str(report.membership_source))}")
    for note in report.notes:
        console.print(f"[dim]note:[/] {escape(str(note))}", highlight=False, soft_wrap=True)
    for source, kinds in report.gap_counts().items():  # never hidden: what each source could not give
        console.print(f"[yellow]gaps ({escape(str(source))}):[/] "
                      + escape(", ".join(f"{k.replace('_', ' ')} {n}" for k, n in kinds.items())), highlight=False)
    console.print(f"[dim]survivorship:[/] {escape(str(report.as_dict()['survivorship']))}", highlight=False, soft_wrap=True)
    for source, failed in report.failures().items():
        console.print(f"[yellow]{escape(str(source))}: {len(failed)} failed[/]")
        for item, reason in list(failed.items())[:20]:
            line = reason if reason.startswith(item) else f"{item}: {reason}"
            console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
        if len(failed) > 20:
            console.print(f"  ... and {len(failed) - 20} more (--json lists all)")


def register(app: typer.Typer) -> None:
    app.command("pull")(pull_cmd)

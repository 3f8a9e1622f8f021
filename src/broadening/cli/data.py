"""Data commands: ``ingest synthetic``, ``ingest csv``, ``info``, ``export``, ``import``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from broadening.cli._ui import console, err_console, open_workspace, print_json, progress_bar

ORDER = 10

ingest_app = typer.Typer(help="Bring data into the warehouse (validated, transactional, idempotent).", no_args_is_help=True)


@ingest_app.command("synthetic")
def ingest_synthetic(
    seed: int = typer.Option(7, help="Random seed (same seed, same market)."),
    preset: str = typer.Option("demo", help="tiny | demo | research | us-all (the whole US market since 1990, streamed)"),
    regime: str = typer.Option("broadening", help="Final phase of the market: broadening | concentrating"),
    scale: float = typer.Option(1.0, help="us-all only: size relative to the whole market (e.g. 0.1)."),
) -> None:
    """Generate the embedded demo market and store it (replaces the warehouse contents)."""
    from broadening.workspace import check_synthetic

    check_synthetic(preset, regime, scale)
    ws = open_workspace()
    with progress_bar("synthetic", total=13) as update:
        report = ws.ingest_synthetic(seed=seed, preset=preset, regime=regime, scale=scale, progress=update)
    err_console.print(
        f"[green]stored[/] {report.total():,} rows of a SYNTHETIC market (preset {preset}, seed {seed}) "
        f"in {escape(ws.path)} in {report.seconds:.1f}s"
    )


@ingest_app.command("csv")
def ingest_csv(
    directory: Path = typer.Argument(..., help="Directory with securities/prices/shares/fundamentals/membership/series .csv or .parquet files."),
    replace: bool = typer.Option(False, help="Empty the warehouse first instead of upserting by key."),
) -> None:
    """Ingest the user's own canonical tables (CSV or Parquet, any subset)."""
    ws = open_workspace()
    with progress_bar("csv", total=1) as update, _no_new_file_on_error(ws.path):
        report = ws.ingest_files(directory, replace=replace, progress=update)
    rows = ", ".join(f"{n} {r:,}" for n, r in report.rows.items())
    err_console.print(f"[green]stored[/] {rows} from {escape(str(directory))} in {escape(ws.path)}")
    _note_unused(directory, ("csv", "parquet"))


@contextlib.contextmanager
def _no_new_file_on_error(path: str) -> Iterator[None]:
    """Remove the warehouse file this command created if the command fails: "as it was" is no file at all."""
    existed = path == ":memory:" or Path(path).exists()
    try:
        yield
    except BaseException:
        if not existed:
            for p in (Path(path), Path(f"{path}.wal")):
                with contextlib.suppress(OSError):
                    p.unlink()
        raise


def _note_unused(directory: Path, kinds: tuple[str, ...]) -> None:
    from broadening.providers.files import unused_files

    unused = unused_files(directory, kinds)
    if unused:
        err_console.print(
            f"[yellow]note:[/] not used (not a table name): {escape(', '.join(unused))}; table files are named "
            "securities, prices, shares, fundamentals, membership, series (.csv, .csv.gz, .parquet)",
            highlight=False, soft_wrap=True,
        )


def info(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """What the warehouse holds: tables, row counts, date range, sources, synthetic flag."""
    data = open_workspace().info()
    if json_out:
        print_json(data)
        return
    title = f"[bold]{escape(str(data['path']))}[/]  {data['start'] or '-'} .. {data['end'] or '-'}"
    if data["synthetic"]:
        title += "  [bold white on red] SYNTHETIC [/]"
    t = Table(title=title, title_justify="left")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("source")
    t.add_column("ingested (UTC)")
    for name, d in data["tables"].items():
        srcs = d["sources"] or [{"source": "-", "ingested_at": "-", "rows": 0}]
        for k, s in enumerate(srcs):
            t.add_row(name if k == 0 else "", f"{d['rows']:,}" if k == 0 else "", escape(str(s["source"])), s["ingested_at"][:19])
    console.print(t)
    if data["indexes"]:
        console.print(f"indexes: {escape(', '.join(data['indexes']))}", highlight=False)
    if data["series"]:
        console.print(f"series: {escape(', '.join(data['series']))}", highlight=False)
    if data["results"]:
        console.print(f"stored results: {escape(', '.join(data['results']))}", highlight=False)
    pull = (data.get("meta") or {}).get("pull") or {}
    from broadening.audit import pull_gap_notes

    for line in pull_gap_notes(pull):  # never hidden: what each source could not give
        console.print(escape(line))
    if pull.get("survivorship"):
        console.print(escape(f"survivorship: {pull['survivorship']}"), soft_wrap=True)


def export(
    directory: Path = typer.Argument(..., help="Output directory (one Parquet file per table, or per block with --blocks)."),
    blocks: bool = typer.Option(False, "--blocks", help="Partition the per-security tables by security block "
                                                        "(DIR/<table>/block=K/), for workers that read one block each."),
    block_size: int = typer.Option(500, "--block-size", help="With --blocks: securities per block, grouped by listing date."),
) -> None:
    """Export every canonical table to Parquet for other engines (or, with --blocks, for block-wise passes)."""
    if blocks:
        done = open_workspace().export_blocks(directory, block_size)
        err_console.print(f"[green]wrote[/] {len(done.blocks)} blocks of up to {done.block_size} securities "
                          f"({sum(len(b.ids) for b in done.blocks):,} in all) to {escape(str(directory))}")
        return
    written = open_workspace().export_parquet(directory)
    err_console.print(f"[green]wrote[/] {len(written)} Parquet files to {escape(str(directory))}")


def import_(
    directory: Path = typer.Argument(..., help="Directory of canonical Parquet files (as written by export)."),
    merge: bool = typer.Option(False, help="Upsert the tables the directory holds into the current contents "
                                           "instead of replacing everything (a partial directory is then allowed)."),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="Allow an empty table in the export to replace "
                                                                  "a stored table that has rows."),
) -> None:
    """Import a complete export (validated, one transaction; replaces the contents unless --merge)."""
    ws = open_workspace()
    with progress_bar("import", total=12) as update, _no_new_file_on_error(ws.path):
        report = ws.import_parquet(directory, replace=not merge, progress=update, allow_empty=allow_empty)
    err_console.print(f"[green]imported[/] {report.total():,} rows from {escape(str(directory))}")
    if merge:
        _note_unused(directory, ("parquet",))


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.command("info")(info)
    app.command("export")(export)
    app.command("import")(import_)

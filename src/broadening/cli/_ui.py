"""Shared terminal pieces: consoles, progress bars, JSON output, global state."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    warehouse: str = "broadening.duckdb"
    warehouse_given: bool = False  # --warehouse or $BROADENING_WAREHOUSE was set


state = _State()


def open_warehouse(read_only: bool = False):
    """Open the warehouse chosen by ``--warehouse`` / ``$BROADENING_WAREHOUSE``."""
    from broadening.warehouse import Warehouse

    return Warehouse(state.warehouse, read_only=read_only)


def open_workspace(classification: Path | None = None, playbook: Path | None = None):
    """The :class:`~broadening.workspace.Workspace` on the chosen warehouse, with these configurations.

    Both configurations are loaded here, so a bad file fails before any work.
    """
    from broadening.workspace import Workspace

    return Workspace(state.warehouse, classification=classification, playbook=playbook)


def renamed_option(new: str, value: Path | None, old: str, old_value: Path | None) -> Path | None:
    """The value of option ``new``, also accepted under its deprecated name ``old`` (with a warning).

    Raises
    ------
    BroadeningError
        When both names are given.
    """
    from broadening.errors import BroadeningError

    if old_value is None:
        return value
    if value is not None:
        raise BroadeningError(f"{old} is the old name of {new}: give only {new}")
    err_console.print(f"[yellow]warning:[/] {old} is deprecated here; use {new} (same meaning)", highlight=False)
    return old_value


@contextlib.contextmanager
def progress_bar(description: str, total: int = 1) -> Iterator:
    """A rich progress bar on stderr; yields ``update(step, done, total)``.

    The callback matches :data:`broadening.warehouse.Progress`, so library functions can
    report progress without importing rich.
    """
    prog = Progress(
        TextColumn("[bold blue]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=err_console, transient=False,
        disable=not err_console.is_terminal and False,
    )
    with prog:
        task = prog.add_task(description, total=total)

        def update(step: str, done: int, tot: int) -> None:
            prog.update(task, description=f"{description}: {step}", completed=done, total=tot)

        yield update


def check_date(label: str, value: str | None) -> str | None:
    """Validate a date option (``--asof``, ``--start``...) before any work; returns it as YYYY-MM-DD.

    Refused with one line naming the option: a blank, a number such as ``-1``, an
    impossible day (``2024-02-30``), a time zone, a date before 1900 or after today.
    """
    from broadening.errors import BroadeningError, shorten
    from broadening.schema import check_day_range, parse_day

    if value is not None:
        day = parse_day(value)
        if day is None:
            raise BroadeningError(f"{label}: expected a date like 2024-12-31 (no time zone), got {shorten(value)}")
        wrong = check_day_range(day)
        if wrong:
            raise BroadeningError(f"{label}: expected {wrong}, got {shorten(value)}")
        return day.date().isoformat()
    return value


def check_out_file(label: str, path: Path | None) -> None:
    """Refuse, before any work, a table output (``--out``...) that is not a .csv/.parquet file name.

    Raises
    ------
    BroadeningError
        Another extension, or an existing directory of that name (found only after the
        work, it was reported under the temporary file's name).
    """
    from broadening.errors import BroadeningError

    if path is None:
        return
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise BroadeningError(f"{label} {path}: expected a .csv or .parquet file name")
    if path.is_dir():
        raise BroadeningError(f"{label} {path}: is a directory; give the file's name")


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat() if v == v.normalize() else v.isoformat()
    return v


def print_json(obj) -> None:
    """Print ``obj`` as JSON on stdout (NaN becomes null, numpy scalars plain numbers)."""
    print(json.dumps(_jsonable(obj), indent=2, default=str))

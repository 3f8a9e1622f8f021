"""The ``broadening`` command line: a thin shell over the Python API.

Each command family lives in its own module of this package and exposes
``register(app)``; modules are discovered here, so adding a command never edits a
shared file. Errors derived from :class:`~broadening.errors.BroadeningError` are
printed as one red line and exit with status 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import duckdb
import typer
from rich.markup import escape

from broadening.cli._ui import err_console, state
from broadening.errors import BroadeningError
from broadening.warehouse import ENV_VAR, default_path

app = typer.Typer(
    name="broadening",
    help="Measure, explain and trade the shift from mega-cap concentration to broad participation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _global(
    warehouse: str = typer.Option(
        None, "--warehouse", "-w", envvar=ENV_VAR,
        help="DuckDB warehouse file (default: ./broadening.duckdb).",
    ),
) -> None:
    """Global options."""
    state.warehouse = warehouse or default_path()
    state.warehouse_given = warehouse is not None


def _register_all() -> None:
    # every public module of this package is a command module with a register(app)
    mods = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)
            if not info.name.startswith("_")]
    for mod in sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        mod.register(app)


_register_all()


#: Command-line usage errors (an unknown option, a missing argument...). Older typer raises
#: click's, newer typer its own copy of click's classes (and no longer installs click): the
#: base class is found from typer's public BadParameter either way.
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _print_error(message: str) -> None:
    # user text (a CSV value "[/x]", a directory "d[/x]") must print as itself, not as rich markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _storage_error(exc: Exception) -> BroadeningError | None:
    """A full disk or a busy/corrupt warehouse met outside the warehouse's own checks, as one line."""
    from broadening.warehouse_file import storage_error

    if isinstance(exc, OSError | duckdb.Error):
        known = storage_error(exc, getattr(exc, "filename", None) or state.warehouse)
        if known is None and isinstance(exc, OSError) and exc.strerror and exc.filename:
            # a path the user gave that cannot be written or read (a directory, no permission...)
            known = BroadeningError(f"{exc.filename}: {exc.strerror}")
        return known
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    try:
        # in non-standalone mode click returns the exit code of typer.Exit instead of exiting
        rv = app(args=argv, standalone_mode=False)
    except BroadeningError as exc:
        _print_error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
    except _USAGE_ERROR as exc:  # in non-standalone mode click leaves usage errors to the caller
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        known = _storage_error(exc)
        if known is not None:
            _print_error(str(known))
            sys.exit(known.exit_code)
        raise
    if isinstance(rv, int) and rv != 0:
        sys.exit(rv)

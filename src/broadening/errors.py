"""Exceptions with messages a user can act on.

Every error raised for bad input names where the problem is (file, row, column or
config key) and what was expected, so the CLI can print it as one line and exit 2.
"""

from __future__ import annotations

from collections.abc import Sequence


class BroadeningError(Exception):
    """Base class for errors the CLI reports as a clear message (exit status 2)."""

    exit_code: int = 2


class DataValidationError(BroadeningError):
    """A table violates the canonical data model.

    Parameters
    ----------
    source : str
        Where the data came from (a file path, or ``"<table> (in memory)"``).
    column : str or None
        The offending column, if one column is at fault.
    expected : str
        What the data should have been.
    rows : sequence of int, optional
        1-based row numbers as a user sees them (for a CSV file, the line number).
    got : sequence of object, optional
        The offending values, aligned with ``rows``.
    """

    def __init__(
        self,
        source: str,
        column: str | None,
        expected: str,
        rows: Sequence[int] = (),
        got: Sequence[object] = (),
    ) -> None:
        self.source = source
        self.column = None if column is None else str(column)[:200]
        self.expected = expected
        self.rows = list(rows)
        self.got = list(got)
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.source
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" and {len(self.rows) - 5} more" if len(self.rows) > 5 else ""
            noun = "row" if len(self.rows) == 1 else "rows"
            where += f", {noun} {shown}{more}"
        if self.column:
            where += f", column '{self.column}'"
        msg = f"{where}: expected {self.expected}"
        if self.got:
            vals = ", ".join(shorten(v) for v in self.got[:5])
            msg += f"; got {vals}"
        return msg


class ConfigError(BroadeningError):
    """A configuration file or option is invalid (names the file and key)."""


class EmptyWarehouseError(BroadeningError):
    """The warehouse holds no data for what was asked."""


class WarehouseError(BroadeningError):
    """The warehouse file cannot be used: not a warehouse, corrupt, busy, or the disk is full."""


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse (DuckDB allows one writer, or many readers)."""


class LimitError(BroadeningError):
    """An input exceeds a documented limit (file size, sweep variants); the message says how to raise it."""


def shorten(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters, for quoting user data in a message.

    A 100 MB CSV field must not be echoed in full; the cut says how long the value was.

    Examples
    --------
    >>> shorten("x" * 1000, 20)
    "'xxxxxxxxxxxxxxxxxx... (1,002 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 1]}... ({len(text):,} characters)"

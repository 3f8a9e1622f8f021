"""The warehouse file on disk: refuse what is not a warehouse, and say plainly why a file cannot be used.

DuckDB opens a path that holds a CSV, Parquet or JSON file as an *in-memory* database
(it treats such a path as a file to scan), so an ``ingest`` pointed at one stores
nothing and says nothing. :func:`connect` therefore checks the path first (it is absent,
empty, or starts with DuckDB's file header) and checks after opening that the database
really lives in that file. DuckDB's own errors are translated into one-line
:class:`~broadening.errors.WarehouseError` messages: busy (another process holds the
file, named when DuckDB says who), corrupt or truncated, no space left on device.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import duckdb

from broadening.errors import BroadeningError, WarehouseBusyError, WarehouseError

#: DuckDB's file header: 8 bytes of checksum, then this magic.
MAGIC = b"DUCK"
MAGIC_OFFSET = 8
#: Seconds to wait for another process to release the warehouse before giving up.
LOCK_TIMEOUT_ENV = "BROADENING_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 5.0
#: Names that say "data file", never a warehouse: refused even when the file does not exist yet.
DATA_SUFFIXES = (".csv", ".gz", ".parquet", ".pq", ".json", ".toml", ".html", ".zip", ".xlsx")

_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<who>.+?) \(PID (?P<pid>\d+)\)")


def check_warehouse_path(path: str | Path) -> None:
    """Raise :class:`WarehouseError` unless ``path`` is a DuckDB warehouse file or free for one.

    Accepted: a path that does not exist yet (with a name that is not a data file's),
    an empty file, or a file that starts with DuckDB's header. Refused: a directory,
    anything else (a CSV, Parquet, JSON file...).
    """
    p = Path(path)
    if not p.exists():
        if p.name.lower().endswith(DATA_SUFFIXES):
            raise WarehouseError(
                f"{p}: a warehouse cannot be named like a data file ({p.suffix}); "
                "give --warehouse a .duckdb path (data files go to 'broadening ingest csv DIR')"
            )
        if not p.parent.is_dir():
            raise WarehouseError(f"{p}: the directory {p.parent} does not exist")
        return
    if p.is_dir():
        raise WarehouseError(f"{p}: is a directory, expected a DuckDB warehouse file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(MAGIC_OFFSET + len(MAGIC))
    except OSError as exc:
        raise WarehouseError(f"{p}: cannot read the warehouse ({exc.strerror or exc})") from None
    if not head:
        return
    if head[MAGIC_OFFSET:] != MAGIC:
        raise WarehouseError(
            f"{p}: not a DuckDB warehouse (it is some other file, e.g. CSV, Parquet or JSON); "
            "nothing was changed. Give --warehouse a .duckdb file, or a new path to create one"
        )


def lock_timeout() -> float:
    """Seconds to wait for a busy warehouse (``$BROADENING_LOCK_TIMEOUT``, default 5)."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        raise BroadeningError(f"${LOCK_TIMEOUT_ENV}: expected a number of seconds, got {raw!r}") from None
    return max(0.0, min(value, 3600.0))


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, waiting up to :func:`lock_timeout` seconds while it is busy.

    Raises
    ------
    WarehouseError
        The path is not a warehouse, the file is corrupt or truncated, or the disk is full.
    WarehouseBusyError
        Another process still holds the file after the wait.
    """
    path = str(path)
    check_warehouse_path(path)
    deadline = time.monotonic() + lock_timeout()
    pause = 0.05
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            break
        except duckdb.Error as exc:
            err = storage_error(exc, path)
            if isinstance(err, WarehouseBusyError) and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
                continue
            if err is None:
                err = WarehouseError(f"{path}: cannot open the warehouse ({_first_line(exc)})")
            raise err from None
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    if row is None or row[0] is None:
        con.close()
        raise WarehouseError(f"{path}: DuckDB would open this path as a throwaway in-memory database; "
                             "give --warehouse a .duckdb file")
    return con


def storage_error(exc: BaseException, path: str) -> BroadeningError | None:
    """The one-line error a user should see for a DuckDB or OS error on the warehouse, else None."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename or path}"
    if "No space left on device" in text or "Disk quota exceeded" in text:
        return WarehouseError(f"No space left on device: {path} could not be written; "
                              "the warehouse keeps its previous contents (free some space and run the command again)")
    m = _LOCK_RE.search(text)
    if m or "Could not set lock on file" in text:
        who = f" ({Path(m['who']).name}, PID {m['pid']})" if m else ""
        return WarehouseBusyError(
            f"{path}: the warehouse is busy: another process{who} has it open "
            f"(one writer or several readers at a time); waited {lock_timeout():g}s "
            f"(${LOCK_TIMEOUT_ENV}); try again when it has finished"
        )
    if isinstance(exc, duckdb.Error) and (
        "Corrupt database file" in text or "Could not read enough bytes" in text or "not a valid DuckDB database" in text
        or "Serialization Error" in text
    ):
        return WarehouseError(f"{path}: the warehouse file is corrupt or truncated ({_first_line(exc, 120)}); "
                              "restore it from a copy or 'broadening export', or start a new one")
    return None


def _first_line(exc: BaseException, limit: int = 200) -> str:
    line = (str(exc).splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."

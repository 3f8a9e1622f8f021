"""The user's own files: canonical tables as CSV or Parquet in one directory.

A directory may hold any subset of ``securities``, ``prices``, ``shares``,
``fundamentals``, ``membership`` and ``series``, each as ``<table>.csv`` or
``<table>.parquet`` (also ``.csv.gz``). Columns follow DESIGN §4; extra columns are
ignored, optional ones may be left out. This is how a user brings their own data.

Reading is defensive: a file is UTF-8 text (a byte-order mark is allowed) or Parquet;
its header names each column once; a truncated or corrupt file is one clear error; and
no file may expand past :func:`max_table_bytes` (``$BROADENING_MAX_TABLE_MB``, default
4096 MB), which is checked while a ``.csv.gz`` is decompressed, so a small file that
inflates to gigabytes stops at the limit instead of filling memory.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from pathlib import Path

import pandas as pd

from broadening.errors import BroadeningError, DataValidationError, LimitError, shorten
from broadening.schema import TABLE_ORDER

_SUFFIXES = {"csv": (".csv", ".csv.gz"), "parquet": (".parquet", ".pq")}
_DATA_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet", ".pq", ".tsv", ".txt", ".json", ".xlsx")
MAX_TABLE_ENV = "BROADENING_MAX_TABLE_MB"
DEFAULT_MAX_TABLE_MB = 4096


def max_table_bytes() -> int:
    """Largest (uncompressed) size of one table file: ``$BROADENING_MAX_TABLE_MB`` MB, default 4096."""
    raw = os.environ.get(MAX_TABLE_ENV, "")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_TABLE_MB
    except ValueError:
        raise BroadeningError(f"${MAX_TABLE_ENV}: expected a number of megabytes, got {shorten(raw)}") from None
    if not mb > 0:
        raise BroadeningError(f"${MAX_TABLE_ENV}: expected a positive number of megabytes, got {shorten(raw)}")
    return int(mb * 1024 * 1024)


class _Limited(io.RawIOBase):
    """A read-only stream that raises :class:`LimitError` once more than ``limit`` bytes came through."""

    def __init__(self, inner, limit: int, label: str) -> None:
        self._inner, self._limit, self._label, self._seen = inner, limit, label, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = self._inner.read(len(buf))
        self._seen += len(data)
        if self._seen > self._limit:
            raise LimitError(
                f"{self._label}: expands to more than {self._limit / 2**20:,.0f} MB "
                f"(${MAX_TABLE_ENV} raises the limit); nothing was stored"
            )
        buf[: len(data)] = data
        return len(data)


def _open_text(path: Path, limit: int):
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    stream = io.BufferedReader(_Limited(raw, limit, str(path)), buffer_size=1 << 20)
    return raw, io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _header(path: Path, limit: int) -> list[str]:
    raw, text = _open_text(path, limit)
    try:
        return next(csv.reader(text), [])
    finally:
        raw.close()


def read_table_file(path: str | Path) -> pd.DataFrame:
    """Read one CSV or Parquet file as raw strings/values (validation happens on ingest).

    Raises
    ------
    DataValidationError
        The file is unreadable, truncated, corrupt, not UTF-8, or names a column twice.
    LimitError
        The file (decompressed) is larger than :func:`max_table_bytes`.
    """
    path = Path(path)
    name = path.name.lower()
    limit = max_table_bytes()
    try:
        if name.endswith((".parquet", ".pq")):
            return _read_parquet(path, limit)
        if not name.endswith(".gz") and path.stat().st_size > limit:
            raise LimitError(f"{path}: {megabytes(path.stat().st_size)} MB is more than the "
                             f"{megabytes(limit)} MB limit for one table file (${MAX_TABLE_ENV} raises it)")
        header = [h.strip() for h in _header(path, limit)]
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise DataValidationError(str(path), dup[0], "each column named once in the header",
                                      rows=[1], got=[f"{header.count(dup[0])} columns named {dup[0]!r}"])
        # dtype=str keeps the raw text so validation can report exactly what was there
        options = dict(dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
        if not name.endswith(".gz"):  # its size was checked above: pandas reads the path at full speed
            return pd.read_csv(path, encoding="utf-8-sig", **options)
        raw, text = _open_text(path, limit)  # decompressed through the size limit
        try:
            return pd.read_csv(text, **options)
        finally:
            raw.close()
    except BroadeningError:
        raise
    except UnicodeDecodeError as exc:
        raise DataValidationError(str(path), None, "UTF-8 text",
                                  got=[f"byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}"]) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(str(path), None, "a header line naming the columns", got=["an empty file"]) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataValidationError(str(path), None, "a complete gzip file (it is truncated or corrupt)",
                                  got=[shorten(str(exc) or type(exc).__name__)]) from None
    except (pd.errors.ParserError, OSError, ValueError, TypeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataValidationError(str(path), None, "a readable CSV or Parquet file", got=[shorten(first, 160)]) from None


def megabytes(n: int) -> str:
    """``n`` bytes in MB for a message: whole MB from 10 MB, two significant digits below
    (a 512 kB limit reads "0.5 MB", not "0 MB")."""
    mb = n / 2**20
    return f"{mb:,.0f}" if mb >= 10 else f"{mb:.2g}"


def _read_parquet(path: Path, limit: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    size = sum(pf.metadata.row_group(i).total_byte_size for i in range(pf.metadata.num_row_groups))
    if size > limit:
        raise LimitError(f"{path}: {megabytes(size)} MB uncompressed is more than the {megabytes(limit)} MB limit "
                         f"for one table file (${MAX_TABLE_ENV} raises it)")
    names = [str(n) for n in pf.schema_arrow.names]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataValidationError(str(path), dup[0], "each column named once", got=[f"{names.count(dup[0])} columns"])
    return pf.read().to_pandas()


def unused_files(directory: str | Path, kinds: tuple[str, ...] = ("csv", "parquet")) -> list[str]:
    """Data-looking files in ``directory`` that are not a canonical table file (e.g. ``price.csv``)."""
    d = Path(directory)
    used = {f"{n}{suf}" for n in TABLE_ORDER for k in kinds for suf in _SUFFIXES[k]}
    try:
        return sorted(p.name for p in d.iterdir()
                      if p.is_file() and p.name.lower().endswith(_DATA_SUFFIXES) and p.name not in used)
    except OSError:  # an unreadable directory: the note is a courtesy, never an error of its own
        return []


def read_table_dir(
    directory: str | Path, kinds: tuple[str, ...] = ("csv", "parquet")
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read every canonical table file found in ``directory``.

    Returns
    -------
    tables : dict of str to DataFrame
        Raw frames keyed by table name.
    sources : dict of str to str
        The file path each table came from (for error messages).

    Raises
    ------
    DataValidationError
        If the directory does not exist, holds no table file, or holds one table twice.
    """
    d = Path(directory)
    if not d.is_dir():
        raise DataValidationError(str(d), None, "a directory of table files")
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for n in TABLE_ORDER:
        found = [d / f"{n}{suf}" for k in kinds for suf in _SUFFIXES[k] if (d / f"{n}{suf}").is_file()]
        if len(found) > 1:
            raise DataValidationError(str(d), None, f"one file for table '{n}'", got=[p.name for p in found])
        if found:
            tables[n] = read_table_file(found[0])
            sources[n] = str(found[0])
    if not tables:
        want = ", ".join(f"{n}.csv" for n in TABLE_ORDER)
        other = unused_files(d, kinds)
        raise DataValidationError(str(d), None, f"at least one table file ({want}, or .parquet)",
                                  got=[f"only {', '.join(other[:5])}"] if other else [])
    return tables, sources

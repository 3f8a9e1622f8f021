"""The user's own files: canonical tables as CSV or Parquet in one directory.

A directory may hold any subset of ``securities``, ``prices``, ``shares``,
``fundamentals``, ``membership`` and ``series``, each as ``<table>.csv`` or
``<table>.parquet`` (also ``.csv.gz``). Columns follow DESIGN §4; extra columns are
ignored, optional ones may be left out. This is how a user brings their own data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from broadening.errors import DataValidationError
from broadening.schema import TABLE_ORDER

_SUFFIXES = {"csv": (".csv", ".csv.gz"), "parquet": (".parquet", ".pq")}


def read_table_file(path: str | Path) -> pd.DataFrame:
    """Read one CSV or Parquet file as raw strings/values (validation happens on ingest)."""
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        # dtype=str keeps the raw text so validation can report exactly what was there
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise DataValidationError(str(path), None, "a readable CSV or Parquet file", got=[str(exc).splitlines()[0]]) from None


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
        found = [d / f"{n}{suf}" for k in kinds for suf in _SUFFIXES[k] if (d / f"{n}{suf}").exists()]
        if len(found) > 1:
            raise DataValidationError(str(d), None, f"one file for table '{n}'", got=[p.name for p in found])
        if found:
            tables[n] = read_table_file(found[0])
            sources[n] = str(found[0])
    if not tables:
        want = ", ".join(f"{n}.csv" for n in TABLE_ORDER)
        raise DataValidationError(str(d), None, f"at least one table file ({want}, or .parquet)")
    return tables, sources

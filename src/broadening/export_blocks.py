"""Block exports: the warehouse's per-security tables as Parquet partitioned by security block.

For a universe whose panels do not fit one machine, workers read the market one block of
securities at a time: a block holds ``block_size`` securities grouped by listing date (their
first price), so its rows are dense in time (a block of 2015 listings has no rows before
2015). The layout is hive-style, one directory per table::

    DIR/_blocks.json                      manifest (format, blocks, ids, date ranges, rows)
    DIR/dates.parquet                     the trading calendar: every date with a price
    DIR/series.parquet                    macro series (not per security)
    DIR/<table>/block=K/data_0.parquet    securities, prices, shares, fundamentals, membership

Like :mod:`broadening.export_dir`, the export is written into a hidden sibling directory
and renamed into place once complete (:func:`~broadening.export_dir.replace_dir`), so a
reader sees a whole export or none. A reader of one block (:func:`open_block`) checks the
row counts recorded in the manifest, and any error names the block and the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from broadening.errors import BroadeningError, shorten
from broadening.export_dir import replace_dir
from broadening.schema import TABLES
from broadening.warehouse import Warehouse

__all__ = ["BLOCK_TABLES", "MANIFEST", "Block", "BlockError", "BlockExport", "export_blocks", "open_block",
           "read_blocks"]

#: The tables partitioned by security block (the others are small and shared by every block).
BLOCK_TABLES = ("securities", "prices", "shares", "fundamentals", "membership")
MANIFEST = "_blocks.json"
FORMAT = "broadening-blocks"
VERSION = 1
DEFAULT_BLOCK_SIZE = 500


class BlockError(BroadeningError):
    """A block export cannot be written where asked, or one of its blocks cannot be read."""


@dataclass(frozen=True)
class Block:
    """One block of securities: its number, ids, price date range and rows per table."""

    number: int
    ids: tuple[str, ...]
    first: str | None
    last: str | None
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class BlockExport:
    """A block export as described by its manifest (see :func:`read_blocks`).

    Attributes
    ----------
    directory : Path
    block_size : int
    blocks : list of Block
        In block order: block ``k`` holds the ``k``-th group of ``block_size`` securities by
        listing date (then id).
    first, last : str or None
        First and last trading date of the whole warehouse.
    dates : int
        Number of trading dates.
    indexes : list of str
        Every index with stored membership (a block may hold none of an index's members).
    tables : dict of str to int
        Rows per table over all blocks.
    meta : dict
        The warehouse's recorded facts.
    """

    directory: Path
    block_size: int
    blocks: list[Block]
    first: str | None
    last: str | None
    dates: int
    indexes: list[str]
    tables: dict[str, int]
    meta: dict[str, object]

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    def files(self, table: str, block: int) -> list[Path]:
        """The Parquet files of ``table`` in ``block`` (none when the block has no such rows)."""
        return sorted((self.directory / table / f"block={block}").glob("*.parquet"))

    def calendar(self) -> np.ndarray:
        """The trading dates of the whole warehouse, ``(T,)`` datetime64[D]."""
        path = self.directory / "dates.parquet"
        try:
            got = duckdb.sql(f"SELECT date FROM read_parquet('{_sql_str(path)}') ORDER BY 1").fetchnumpy()
        except duckdb.Error as exc:
            raise BlockError(f"{path}: cannot read the trading calendar ({_first_line(exc)})") from None
        return np.asarray(got["date"]).astype("datetime64[D]")


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BlockError(f"{out}: exists and is a file; a block export writes a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise BlockError(f"{out}: the directory holds other files and no {MANIFEST}; export into a new or empty "
                         "directory (a previous block export there is replaced whole)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BlockError(f"{out}: cannot create the parent directory ({exc.strerror or exc})") from None


def export_blocks(wh: Warehouse, directory: str | Path, block_size: int = DEFAULT_BLOCK_SIZE) -> BlockExport:
    """Write the warehouse as Parquet partitioned by security block (see module docstring).

    Parameters
    ----------
    wh : Warehouse
    directory : str or Path
        Created, or replaced whole if it holds a previous block export.
    block_size : int, default 500
        Securities per block.

    Returns
    -------
    BlockExport
        What was written (as :func:`read_blocks` reads it back).

    Raises
    ------
    BlockError
        A bad block size, or a target that is a file or holds other files.
    """
    if int(block_size) < 1:
        raise BlockError(f"--block-size: expected a positive number of securities per block, got {block_size}")
    block_size = int(block_size)
    wh.require_data()
    out = Path(directory)
    _prepare(out)
    con = wh.con
    # listing order: a block's securities start together, so its panels are dense in time
    assign = con.execute(
        "SELECT s.security_id, f.first, f.last FROM securities s LEFT JOIN "
        "(SELECT security_id, min(date) AS first, max(date) AS last FROM prices GROUP BY 1) f USING (security_id) "
        "ORDER BY f.first NULLS LAST, s.security_id"
    ).df()
    assign["block"] = np.arange(len(assign), dtype=np.int64) // block_size
    con.register("_block_of", assign[["security_id", "block"]])
    try:
        rows = {t: _rows_per_block(con, t) for t in BLOCK_TABLES}

        def fill(tmp: Path) -> None:
            for t in BLOCK_TABLES:
                cols = ", ".join(f't."{c}"' for c in TABLES[t].column_names)
                # no ORDER BY: a reader scatters rows into panels, and sorting 12M price rows
                # made the demo's export 5x slower (27 s against 5 s)
                con.execute(
                    f"COPY (SELECT {cols}, b.block FROM {t} t JOIN _block_of b USING (security_id)) "
                    f"TO '{_sql_str(tmp / t)}' (FORMAT PARQUET, PARTITION_BY (block))"
                )
            con.execute(f"COPY (SELECT DISTINCT date FROM prices ORDER BY 1) TO '{_sql_str(tmp / 'dates.parquet')}' "
                        "(FORMAT PARQUET)")
            con.execute(f"COPY (SELECT * FROM series ORDER BY series_id, date) TO "
                        f"'{_sql_str(tmp / 'series.parquet')}' (FORMAT PARQUET)")
            (tmp / MANIFEST).write_text(json.dumps(_manifest(wh, assign, rows, block_size), indent=1, default=str),
                                        encoding="utf-8")

        replace_dir(out, fill)
    except (OSError, duckdb.Error) as exc:
        raise BlockError(f"{out}: cannot write the block export ({_first_line(exc)})") from None
    finally:
        con.unregister("_block_of")
    return read_blocks(out)


def _rows_per_block(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, int]:
    got = con.execute(f"SELECT b.block, count(*) FROM {table} JOIN _block_of b USING (security_id) GROUP BY 1").fetchall()
    return {int(b): int(n) for b, n in got}


def _manifest(wh: Warehouse, assign: pd.DataFrame, rows: dict[str, dict[int, int]], block_size: int) -> dict:
    lo, hi = wh.date_range()
    n_dates = wh.con.execute("SELECT count(DISTINCT date) FROM prices").fetchone()[0]
    indexes = [r[0] for r in wh.con.execute("SELECT DISTINCT index_id FROM membership ORDER BY 1").fetchall()]
    blocks = []
    for k, grp in assign.groupby("block", sort=True):
        first, last = grp["first"].min(), grp["last"].max()
        blocks.append({
            "block": int(k), "ids": grp["security_id"].astype(str).tolist(),
            "first": None if pd.isna(first) else str(pd.Timestamp(first).date()),
            "last": None if pd.isna(last) else str(pd.Timestamp(last).date()),
            "rows": {t: rows[t].get(int(k), 0) for t in BLOCK_TABLES},
        })
    return {
        "format": FORMAT, "version": VERSION, "block_size": block_size,
        "first": str(lo.date()), "last": str(hi.date()), "dates": int(n_dates), "indexes": indexes,
        "tables": {**{t: sum(r.values()) for t, r in rows.items()}, "series": wh.counts()["series"]},
        "meta": wh.meta(), "blocks": blocks,
    }


def read_blocks(directory: str | Path) -> BlockExport:
    """Read a block export's manifest.

    Raises
    ------
    BlockError
        Not a directory, no manifest (an export cut short), or a manifest of another format.
    """
    d = Path(directory)
    path = d / MANIFEST
    if not path.is_file():
        raise BlockError(f"{d}: not a block export (no {MANIFEST}); write one with 'broadening export DIR --blocks'")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BlockError(f"{path}: cannot read the manifest ({shorten(str(exc), 100)})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BlockError(f"{path}: expected a manifest written by 'broadening export --blocks' (format {FORMAT!r})")
    blocks = [Block(int(b["block"]), tuple(b["ids"]), b["first"], b["last"], dict(b["rows"])) for b in doc["blocks"]]
    return BlockExport(directory=d, block_size=int(doc["block_size"]), blocks=blocks, first=doc["first"],
                       last=doc["last"], dates=int(doc["dates"]), indexes=list(doc["indexes"]),
                       tables=dict(doc["tables"]), meta=dict(doc.get("meta") or {}))


def open_block(export: BlockExport, block: int) -> Warehouse:
    """An in-memory warehouse holding one block's securities (and every series).

    The rows are read straight from the block's Parquet files (they were validated when
    they entered the warehouse that wrote the export) and checked against the row counts
    of the manifest.

    Raises
    ------
    BlockError
        Naming the block and the file, when a file cannot be read or holds another number
        of rows than the manifest records (a truncated or replaced file).
    """
    info = export.blocks[block]
    wh = Warehouse(":memory:")
    try:
        wanted = {**{t: (export.files(t, block), info.rows.get(t, 0)) for t in BLOCK_TABLES},
                  "series": ([export.directory / "series.parquet"], export.tables.get("series", 0))}
        for t, (files, n) in wanted.items():
            if not files:
                if n:
                    raise BlockError(f"{export.directory / t / f'block={block}'}: block {block} has no {t} file, "
                                     f"the manifest records {n:,} rows (an export cut short?)")
                continue
            cols = ", ".join(f'"{c}"' for c in TABLES[t].column_names)
            listed = ", ".join(f"'{_sql_str(f)}'" for f in files)
            try:
                wh.con.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM read_parquet([{listed}], "
                               "hive_partitioning = false)")
            except duckdb.Error as exc:
                raise BlockError(f"{files[0]}: block {block}, table {t}: cannot read it ({_first_line(exc)})") from None
            got = wh.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            if got != n:
                raise BlockError(f"{files[0]}: block {block}, table {t}: {got:,} rows, the manifest records {n:,} "
                                 "(a truncated or replaced file?)")
    except BaseException:
        wh.close()
        raise
    return wh


def _first_line(exc: BaseException) -> str:
    return shorten(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, 200)


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")

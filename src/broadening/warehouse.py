"""The warehouse: one DuckDB file holding the canonical tables.

Ingestion is validated, idempotent and transactional:

- every incoming table is coerced and checked by :func:`broadening.schema.validate_table`,
  and cross-table rules (known security ids, non-overlapping membership against what is
  already stored) are checked *before* anything is written;
- rows replace stored rows with the same key (upsert), so ingesting the same data twice
  leaves the tables unchanged;
- all tables of one ingest are written in a single DuckDB transaction, so a failure or a
  process killed mid-ingest leaves the previous contents intact and readable.

Provenance (source, time of ingest, row count, synthetic flag) is kept per table in
``_provenance``; free-form facts (e.g. the synthetic seed) in ``_meta``.

The warehouse knows tables, not what they mean: the point-in-time view is built one layer
up (:func:`broadening.market.load_market`), and what a stored backtest or sweep is made of
is :mod:`broadening.results`'s business.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from broadening.errors import DataValidationError, EmptyWarehouseError
from broadening.schema import (
    DUCKDB_TYPES,
    TABLE_ORDER,
    TABLES,
    check_membership_overlap,
    validate_table,
)
from broadening.warehouse_file import connect, storage_error

DEFAULT_PATH = "broadening.duckdb"
ENV_VAR = "BROADENING_WAREHOUSE"
_PAUSE_ENV = "BROADENING_PAUSE_IN_INGEST"  # fault injection for the crash test

Progress = Callable[[str, int, int], None]
"""Callback ``progress(step, done, total)`` used to drive progress bars."""


def default_path() -> str:
    """The warehouse path from ``$BROADENING_WAREHOUSE``, else ``broadening.duckdb``."""
    return os.environ.get(ENV_VAR) or DEFAULT_PATH


@dataclass
class IngestReport:
    """What one ingest changed: rows written per table, and the source."""

    source: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def total(self) -> int:
        return sum(self.rows.values())


def _create_sql(name: str) -> str:
    spec = TABLES[name]
    cols = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.kind]}' for c in spec.columns)
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


class Warehouse:
    """A DuckDB-backed store of the canonical tables.

    Parameters
    ----------
    path : str or Path, default ":memory:"
        DuckDB database file; ``":memory:"`` for a throwaway in-memory warehouse.
    read_only : bool, default False
        Open without write access (several readers may share a file).

    Examples
    --------
    >>> wh = Warehouse(":memory:")
    >>> wh.ingest({"securities": securities_df, "prices": prices_df}, source="my.csv")  # doctest: +SKIP
    >>> from broadening.market import load_market
    >>> market = load_market(wh, asof="2024-12-31")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path = ":memory:", read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        if self.path != ":memory:" and read_only and not Path(self.path).exists():
            raise EmptyWarehouseError(
                f"{self.path}: no warehouse here; create one with 'broadening ingest synthetic' "
                "or 'broadening ingest csv DIR'"
            )
        # a path must be a warehouse file (or new); busy, corrupt and full-disk are one-line errors
        self.con = duckdb.connect(self.path) if self.path == ":memory:" else connect(self.path, read_only)
        # our own progress bars report long steps; DuckDB's would write over them on stdout
        self._run("SET enable_progress_bar = false")
        if not read_only:
            self._ensure_schema()

    # -- lifecycle -------------------------------------------------------------------------
    def _run(self, sql: str, params: list | None = None) -> list:
        """Execute a statement and consume its result (DuckDB keeps the connection busy until then)."""
        return self.con.execute(sql, params or []).fetchall()

    def _one(self, sql: str, params: list | None = None) -> tuple | None:
        """First row of a query, with the result fully consumed."""
        rows = self._run(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_schema(self) -> None:
        for name in TABLE_ORDER:
            self._run(_create_sql(name))
        self._run(
            "CREATE TABLE IF NOT EXISTS _provenance (table_name VARCHAR, source VARCHAR, "
            "ingested_at TIMESTAMP, rows BIGINT, synthetic BOOLEAN)"
        )
        self._run("CREATE TABLE IF NOT EXISTS _meta (key VARCHAR, value VARCHAR)")

    # -- ingest ----------------------------------------------------------------------------
    def ingest(
        self,
        tables: Mapping[str, pd.DataFrame],
        *,
        source: str,
        sources: Mapping[str, str] | None = None,
        synthetic: bool = False,
        replace: bool = False,
        meta: Mapping[str, object] | None = None,
        progress: Progress | None = None,
        validated: bool = False,
    ) -> IngestReport:
        """Validate and store canonical tables in one transaction.

        Parameters
        ----------
        tables : mapping of str to DataFrame
            Any subset of the canonical tables.
        source : str
            Provenance label (``"synthetic"``, ``"csv:/path"``, ``"yahoo"``...).
        sources : mapping of str to str, optional
            Per-table label used in error messages (typically the file path).
        synthetic : bool, default False
            Whether this data is synthetic (shown in every output made from it).
        replace : bool, default False
            Empty *all* canonical tables first (a fresh market, e.g. a new synthetic seed),
            and drop the stored results. Otherwise rows are upserted by key.
        meta : mapping, optional
            Facts to record in ``_meta`` (JSON-encoded values).
        progress : callable, optional
            ``progress(step, done, total)`` called as tables are validated and written.
        validated : bool, default False
            Skip per-table validation because the caller already ran
            :func:`~broadening.schema.validate_table` on exactly these frames.

        Returns
        -------
        IngestReport

        Raises
        ------
        DataValidationError
            Before anything is written, if any table breaks a rule.
        """
        t0 = time.perf_counter()
        unknown = [n for n in tables if n not in TABLES]
        if unknown:
            raise DataValidationError(
                (sources or {}).get(unknown[0], unknown[0]),
                None,
                f"a canonical table name ({', '.join(TABLE_ORDER)})",
                got=[unknown[0]],
            )
        labels = {n: (sources or {}).get(n, f"{n} (from {source})") for n in tables}
        names = [n for n in TABLE_ORDER if n in tables]
        total = 2 * len(names)
        step = 0
        # a file's rows are numbered as lines (header is line 1); an in-memory frame's from 1
        offsets = {n: 2 if n in (sources or {}) else 1 for n in names}
        clean: dict[str, pd.DataFrame] = {}
        for n in names:
            clean[n] = tables[n] if validated else validate_table(n, tables[n], source=labels[n], row_offset=offsets[n])
            step += 1
            if progress:
                progress(f"validated {n}", step, total)
        self._check_references(clean, labels, offsets, replace)

        report = IngestReport(source=source)
        self._run("BEGIN TRANSACTION")
        try:
            if replace:
                self._clear()
            for n in names:
                df = clean[n]
                self._upsert(n, df)
                report.rows[n] = len(df)
                self._run(
                    "INSERT INTO _provenance VALUES (?, ?, ?, ?, ?)",
                    [n, source, datetime.now(UTC).replace(tzinfo=None), len(df), synthetic],
                )
                if os.environ.get(_PAUSE_ENV):
                    print(f"PAUSED in ingest after {n}", file=sys.stderr, flush=True)
                    time.sleep(float(os.environ[_PAUSE_ENV]))
                step += 1
                if progress:
                    progress(f"stored {n}", step, total)
            self._write_meta(meta, synthetic, replace)
            self._run("COMMIT")
        except BaseException as exc:
            self._abort(exc)
            raise
        return self._checkpointed(report, t0)

    def ingest_chunks(
        self,
        chunks: Iterable[Mapping[str, pd.DataFrame]],
        *,
        source: str,
        synthetic: bool = False,
        replace: bool = False,
        meta: Mapping[str, object] | Callable[[], Mapping[str, object]] | None = None,
        progress: Progress | None = None,
        total: int | None = None,
    ) -> IngestReport:
        """Validate and store canonical tables that arrive in chunks, all in one transaction.

        For a market too large to hold in memory at once (e.g. from
        :func:`broadening.providers.synthetic.stream`). Each chunk is validated and checked
        against what this transaction has stored so far before it is written; the run
        commits once at the end, so an error or a crash in any chunk leaves the previous
        contents intact, as with :meth:`ingest`. One chunk is in memory at a time.

        Parameters
        ----------
        chunks : iterable of mappings of str to DataFrame
            Subsets of the canonical tables, ``securities`` before rows that refer to them.
            Rows of securities new to this run are appended, others upserted by key.
        source, synthetic, replace, progress
            As in :meth:`ingest`; ``progress`` is called once per chunk.
        meta : mapping or callable, optional
            Facts for ``_meta``; a callable is called after the last chunk.
        total : int, optional
            Number of chunks, for ``progress``.

        Returns
        -------
        IngestReport
            Rows written per table over all chunks.

        Raises
        ------
        DataValidationError
            If any chunk breaks a rule; nothing of the run is kept.
        """
        t0 = time.perf_counter()
        report = IngestReport(source=source)
        fresh = {n: replace or not self._one(f"SELECT count(*) FROM (SELECT 1 FROM {n} LIMIT 1)")[0] for n in TABLE_ORDER}
        written: dict[str, set[str]] = {n: set() for n in TABLE_ORDER}
        self._run("BEGIN TRANSACTION")
        try:
            if replace:
                self._clear()
            for k, chunk in enumerate(chunks, start=1):
                unknown = [n for n in chunk if n not in TABLES]
                if unknown:
                    raise DataValidationError(
                        f"chunk {k} from {source}", None, f"a canonical table name ({', '.join(TABLE_ORDER)})",
                        got=[unknown[0]],
                    )
                names = [n for n in TABLE_ORDER if n in chunk]
                labels = {n: f"{n} (chunk {k} from {source})" for n in names}
                offsets = dict.fromkeys(names, 1)
                clean = {n: validate_table(n, chunk[n], source=labels[n], row_offset=1) for n in names}
                self._check_references(clean, labels, offsets, replace=False)
                for n in names:
                    df = clean[n]
                    ids = set(pd.unique(df["security_id"].astype(str))) if "security_id" in df else None
                    new_rows = fresh[n] and (n not in report.rows or (ids is not None and written[n].isdisjoint(ids)))
                    self._upsert(n, df, append=new_rows)
                    if ids is not None:
                        written[n] |= ids
                    report.rows[n] = report.rows.get(n, 0) + len(df)
                del clean, chunk
                if progress:
                    progress(f"stored chunk {k}", k, total or k)
            now = datetime.now(UTC).replace(tzinfo=None)
            for n, rows in report.rows.items():
                self._run("INSERT INTO _provenance VALUES (?, ?, ?, ?, ?)", [n, source, now, rows, synthetic])
            self._write_meta(meta() if callable(meta) else meta, synthetic, replace)
            self._run("COMMIT")
        except BaseException as exc:
            self._abort(exc)
            raise
        return self._checkpointed(report, t0)

    def _checkpointed(self, report: IngestReport, t0: float) -> IngestReport:
        """Checkpoint a committed write (a failure there is reported as the write's) and time it."""
        try:
            self._run("CHECKPOINT")
        except duckdb.Error as exc:
            self._abort(exc, rollback=False)
            raise
        report.seconds = time.perf_counter() - t0
        return report

    def _abort(self, exc: BaseException, rollback: bool = True) -> None:
        """Roll back after ``exc`` and raise the error a user should see (or return to re-raise ``exc``).

        A failed ROLLBACK (DuckDB invalidates a database whose write hit a full disk) must
        not hide the first error: "No space left on device" is the message, not what follows.
        """
        if rollback:
            with contextlib.suppress(duckdb.Error):
                self._run("ROLLBACK")
        err = storage_error(exc, self.path)
        if err is not None:
            raise err from None

    def _clear(self) -> None:
        """Empty every canonical table, provenance and meta (inside the caller's transaction)."""
        for n in TABLE_ORDER:
            self._run(f"DELETE FROM {n}")
        # results computed on the market being replaced would pass for the new one's
        for name in self.result_names():
            self._run(f"DROP TABLE result_{_safe(name)}")
        self._run("DELETE FROM _provenance")
        self._run("DELETE FROM _meta")

    def _write_meta(self, meta: Mapping[str, object] | None, synthetic: bool, replace: bool) -> None:
        """Record ``meta`` and the synthetic flag (sticky across upserts) in ``_meta``."""
        all_meta = dict(meta or {})
        all_meta["synthetic"] = bool(synthetic) if replace else (self._meta_value("synthetic", False) or synthetic)
        for k, v in all_meta.items():
            self._run("DELETE FROM _meta WHERE key = ?", [k])
            self._run("INSERT INTO _meta VALUES (?, ?)", [k, json.dumps(v, default=str)])

    def _upsert(self, name: str, df: pd.DataFrame, append: bool = False) -> None:
        spec = TABLES[name]
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        self.con.register("_incoming", df)
        try:
            # append: the caller knows no stored row shares a key with these
            if not append and self._one(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT 1)")[0]:
                cond = " AND ".join(f't."{k}" = i."{k}"' for k in spec.key)
                self._run(f"DELETE FROM {name} t USING _incoming i WHERE {cond}")
            self._run(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _incoming")
        finally:
            with contextlib.suppress(duckdb.Error):  # after a failed write; the write's error is the one to report
                self.con.unregister("_incoming")

    def _check_references(
        self, clean: dict[str, pd.DataFrame], labels: Mapping[str, str], offsets: Mapping[str, int], replace: bool
    ) -> None:
        known = set()
        if "securities" in clean:
            known.update(clean["securities"]["security_id"].astype(str))
        if not replace:
            known.update(r[0] for r in self.con.execute("SELECT security_id FROM securities").fetchall())
        for n in ("prices", "shares", "fundamentals", "membership"):
            if n not in clean:
                continue
            ids = clean[n]["security_id"]
            uniq = pd.unique(ids.astype(str))
            missing = [u for u in uniq if u not in known]
            if missing:
                bad = ids.astype(str).isin(missing).to_numpy()
                offset = offsets[n]
                raise DataValidationError(
                    labels[n],
                    "security_id",
                    "a security_id listed in the securities table",
                    [int(i) + offset for i in np.flatnonzero(bad)],
                    missing[:5],
                )
        if "membership" in clean and not replace:
            stored = self.con.execute("SELECT * FROM membership").df()
            if not stored.empty:
                inc = clean["membership"]
                key = ["index_id", "security_id", "start"]
                stored = stored.merge(inc[key], on=key, how="left", indicator=True)
                stored = stored[stored["_merge"] == "left_only"].drop(columns="_merge")
                for c in ("start", "end"):
                    stored[c] = pd.to_datetime(stored[c])
                combined = pd.concat([inc, stored.set_index(pd.RangeIndex(len(inc), len(inc) + len(stored)))])
                try:
                    check_membership_overlap(combined, labels["membership"], offsets["membership"])
                except DataValidationError as err:
                    rows = [r for r in err.rows if r - offsets["membership"] < len(inc)]
                    raise DataValidationError(
                        labels["membership"], "start",
                        "membership intervals that do not overlap those already stored",
                        rows, err.got,
                    ) from None

    # -- reading ---------------------------------------------------------------------------
    def table(self, name: str, where: str | None = None, params: list | None = None) -> pd.DataFrame:
        """Read one canonical table (optionally filtered by a SQL ``where`` clause)."""
        if name not in TABLES:
            raise KeyError(name)
        sql = f"SELECT * FROM {name}" + (f" WHERE {where}" if where else "")
        df = self.con.execute(sql, params or []).df()
        for c in TABLES[name].columns:
            if c.kind == "date":
                df[c.name] = pd.to_datetime(df[c.name])
        return df

    def counts(self) -> dict[str, int]:
        """Row count per canonical table."""
        return {n: int(self._one(f"SELECT count(*) FROM {n}")[0]) for n in TABLE_ORDER}

    def _meta_value(self, key: str, default: object = None) -> object:
        row = self._one("SELECT value FROM _meta WHERE key = ?", [key])
        return default if row is None else json.loads(row[0])

    def meta(self) -> dict[str, object]:
        """All recorded facts (``_meta``) as a dict."""
        return {k: json.loads(v) for k, v in self.con.execute("SELECT key, value FROM _meta").fetchall()}

    @property
    def synthetic(self) -> bool:
        """Whether the stored market is synthetic."""
        return bool(self._meta_value("synthetic", False))

    def provenance(self) -> pd.DataFrame:
        """Latest ingest per (table, source): source, time, rows, synthetic flag."""
        return self.con.execute(
            "SELECT table_name, source, max(ingested_at) AS ingested_at, "
            "arg_max(rows, ingested_at) AS rows, bool_or(synthetic) AS synthetic "
            "FROM _provenance GROUP BY table_name, source ORDER BY table_name, source"
        ).df()

    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last price date, or None when there are no prices."""
        lo, hi = self._one("SELECT min(date), max(date) FROM prices")
        return None if lo is None else (pd.Timestamp(lo), pd.Timestamp(hi))

    def info(self) -> dict[str, object]:
        """A JSON-ready summary: path, tables and row counts, date range, sources, synthetic flag."""
        rng = self.date_range()
        prov = self.provenance()
        sources = sorted(set(prov["source"])) if not prov.empty else []
        per_table = {}
        for n, rows in self.counts().items():
            p = prov[prov["table_name"] == n]
            per_table[n] = {
                "rows": rows,
                "sources": [
                    {"source": r.source, "ingested_at": pd.Timestamp(r.ingested_at).isoformat(), "rows": int(r.rows)}
                    for r in p.itertuples()
                ],
            }
        indexes = [r[0] for r in self.con.execute("SELECT DISTINCT index_id FROM membership ORDER BY 1").fetchall()]
        series = [r[0] for r in self.con.execute("SELECT DISTINCT series_id FROM series ORDER BY 1").fetchall()]
        meta = self.meta()
        return {
            "path": self.path,
            "synthetic": bool(meta.get("synthetic", False)),
            "start": rng[0].date().isoformat() if rng else None,
            "end": rng[1].date().isoformat() if rng else None,
            "tables": per_table,
            "sources": sources,
            "indexes": indexes,
            "series": series,
            "meta": {k: v for k, v in meta.items() if k != "synthetic"},
            "results": self.result_names(),
        }

    def require_data(self) -> None:
        """Raise a clear error if the warehouse holds no prices."""
        if self.date_range() is None:
            raise EmptyWarehouseError(
                f"{self.path}: the warehouse holds no prices; run 'broadening ingest synthetic' "
                "or 'broadening ingest csv DIR' first"
            )

    # -- named result frames (what they hold is broadening.results' business) ------------
    def save_results(self, frames: Mapping[str, pd.DataFrame], meta: Mapping[str, object] | None = None) -> None:
        """Store result frames by name, replacing earlier ones, all in one transaction.

        Every frame is stored with the same ``meta`` (JSON-encoded in ``_meta``). Either all
        of them are written or, on any failure, none (the previous results stay whole).
        """
        names = {name: f"result_{_safe(name)}" for name in frames}
        encoded = json.dumps(dict(meta or {}), default=str)
        with self.transaction():
            for name, table in names.items():
                self.con.register("_result", frames[name])
                try:
                    self._run(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _result")
                finally:
                    with contextlib.suppress(duckdb.Error):  # after a failed write; its error is the one to report
                        self.con.unregister("_result")
                self._run("DELETE FROM _meta WHERE key = ?", [f"result:{name}"])
                self._run("INSERT INTO _meta VALUES (?, ?)", [f"result:{name}", encoded])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back on any error, which is
        then raised as a user should see it (a full disk says so; see ``_abort``)."""
        self._run("BEGIN TRANSACTION")
        try:
            yield
            self._run("COMMIT")
        except BaseException as exc:
            self._abort(exc)
            raise

    def load_result(self, name: str) -> tuple[pd.DataFrame, dict[str, object]] | None:
        """A stored result frame and its meta, or None."""
        table = f"result_{_safe(name)}"
        exists = self._one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        )[0]
        if not exists:
            return None
        return self.con.execute(f"SELECT * FROM {table}").df(), dict(self._meta_value(f"result:{name}", {}) or {})

    def result_names(self) -> list[str]:
        """Names of the stored result frames, sorted."""
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'result_%' ORDER BY 1"
        ).fetchall()
        return [r[0][len("result_"):] for r in rows]

    # -- parquet ---------------------------------------------------------------------------
    def export_parquet(self, directory: str | Path) -> dict[str, Path]:
        """Write one Parquet file per canonical table into ``directory``, all or nothing.

        The files and a ``_meta.json`` manifest (row counts, recorded facts) are written to
        a hidden sibling directory and renamed into place at the end (see
        :mod:`broadening.export_dir`); a previous export there is replaced whole.
        """
        from broadening.export_dir import prepare_target, write_export

        out = prepare_target(directory)
        try:
            return write_export(
                out, lambda n, path: self._run(f"COPY {n} TO '{_sql_str(path)}' (FORMAT PARQUET)"),
                self.meta(), self.counts(),
            )
        except (OSError, duckdb.Error) as exc:
            err = storage_error(exc, str(out))
            if err is None and isinstance(exc, OSError):
                err = DataValidationError(str(out), None, "a directory export can write", got=[exc.strerror or str(exc)])
            if err is None:
                raise
            raise err from None

    def import_parquet(
        self, directory: str | Path, *, replace: bool = True, progress: Progress | None = None, allow_empty: bool = False
    ) -> IngestReport:
        """Read an export from ``directory`` and ingest it (validated, one transaction).

        With ``replace`` (the default) the export must be complete (see
        :func:`broadening.export_dir.read_export`) and may not empty a stored table unless
        ``allow_empty``; otherwise the tables it holds are upserted.
        """
        from broadening.export_dir import read_export, refuse_emptying

        got = read_export(directory, complete=replace)
        if replace:
            refuse_emptying(got, self.counts(), allow_empty)
        return self.ingest(
            got.tables, source=f"parquet:{Path(directory).resolve()}", sources=got.sources,
            synthetic=got.synthetic, replace=replace, meta=got.meta, progress=progress,
        )


def _safe(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"result name must be alphanumeric/underscore, got {name!r}")
    return name


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")
